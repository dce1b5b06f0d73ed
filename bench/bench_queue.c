/* bench_queue: claim and lease-renew latency of the job queue (server/svc/queue.h) with
 * N queued jobs (default 10,000), from 1 and from 4 threads, each on its own store
 * connection, as worker threads of one or more processes would.
 *
 *   bench_queue [TARGET [N]]
 *
 * TARGET: a postgresql:// URL of an empty database (created by hand or with
 * tests/tools/pg_cluster.sh createdb), or a SQLite path; default a temp SQLite file,
 * removed at the end. A database that already holds jobs is refused (the benchmark
 * deletes every job between rounds). For each thread count: fill N queued jobs (one
 * transaction, then ANALYZE), claim them all (every thread claims until none is left),
 * then renew each claim's lease once. Prints p50 / p90 / p99 / max latency in ms and
 * operations per second of each, and the claim latency of the first 10 % of claims
 * (queue still >= 0.9 N deep) apart. Links dcsvc (the only benchmark that does). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dc_time.h"
#include "queue.h"
#include "store.h"

typedef struct {
    char id[JOBSPEC_ID_MAX];
    char lease[QUEUE_LEASE_MAX];
} held;

typedef struct {
    const char *target;
    int slot, n_jobs;
    pthread_barrier_t *go;
    atomic_int *done;   /* claims made so far, all threads */
    double *claim_ms;   /* per claim of this thread */
    double *early_ms;   /* claims begun while fewer than n_jobs / 10 were done */
    double *renew_ms;
    held *h;
    int n, n_early, errors;
    double t_claim0, t_claim1, t_renew0, t_renew1;
    char err[600];
} worker;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *ms, int n, double seconds)
{
    if (n == 0) {
        printf("  %-28s none\n", what);
        return;
    }
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
#define PCT(p) ms[(size_t)((p) * (n - 1) + 0.5)]
    printf("  %-28s n %5d  p50 %7.3f  p90 %7.3f  p99 %7.3f  max %8.3f ms", what, n, PCT(0.50),
           PCT(0.90), PCT(0.99), ms[n - 1]);
#undef PCT
    if (seconds > 0) printf("  %8.0f /s", n / seconds);
    printf("\n");
}

static void *run(void *arg)
{
    worker *w = arg;
    store *s = NULL;
    dc_err e = {0};
    char name[128];
    int rc = store_open(&s, w->target, &e);
    queue_worker_name(name, sizeof name, w->slot);
    if (rc < 0) snprintf(w->err, sizeof w->err, "store_open: %s", e.msg), w->errors++;
    pthread_barrier_wait(w->go);
    w->t_claim0 = dc_now_s();
    while (s) {
        queue_claim c;
        int before = atomic_load(w->done);
        double t0 = dc_now_s();
        memset(&c, 0, sizeof c);
        rc = queue_claim_next(s, name, 60, &c, &e);
        double ms = 1e3 * (dc_now_s() - t0);
        if (rc == 0) break;
        if (rc < 0) {
            if (!w->errors++) snprintf(w->err, sizeof w->err, "claim: %s", e.msg);
            if (w->errors > 100) break;
            continue;
        }
        atomic_fetch_add(w->done, 1);
        if (w->n < w->n_jobs) {
            w->claim_ms[w->n] = ms;
            if (before < w->n_jobs / 10) w->early_ms[w->n_early++] = ms;
            snprintf(w->h[w->n].id, sizeof w->h[w->n].id, "%s", c.id);
            snprintf(w->h[w->n].lease, sizeof w->h[w->n].lease, "%s", c.lease);
            w->n++;
        }
        queue_claim_free(&c);
    }
    w->t_claim1 = dc_now_s();
    pthread_barrier_wait(w->go);
    w->t_renew0 = dc_now_s();
    for (int i = 0; s && i < w->n; i++) {
        int cancel = 0;
        double t0 = dc_now_s();
        rc = queue_renew(s, w->h[i].id, w->h[i].lease, 60, &cancel, &e);
        w->renew_ms[i] = 1e3 * (dc_now_s() - t0);
        if (rc < 0 && !w->errors++) snprintf(w->err, sizeof w->err, "renew: %s", e.msg);
    }
    w->t_renew1 = dc_now_s();
    store_close(s);
    return NULL;
}

static int exec_or_say(db_conn *h, const char *sql)
{
    if (db_exec(h, sql) == 0) return 0;
    fprintf(stderr, "bench_queue: %s\n  sql: %.200s\n", db_errmsg(h), sql);
    return -1;
}

/* Deletes every job, then queues n (created_at one ms apart) in one transaction. */
static int fill(store *s, int n)
{
    db_conn *h = store_db(s);
    db_stmt *st = NULL;
    dc_err e = {0};
    char id[32], at[40];
    int rc = exec_or_say(h, "DELETE FROM job_attempts; DELETE FROM checkpoints; DELETE FROM jobs");
    if (rc == 0) rc = store_begin(s, &e);
    if (rc == 0 && db_prepare(h, "INSERT INTO jobs (id, method, n_clusters, spec, created_at, "
                                 "updated_at) VALUES (?1, 'kmeans', 2, ?2, ?3, ?3)", &st) != 0)
        rc = -1;
    for (int i = 0; rc == 0 && i < n; i++) {
        snprintf(id, sizeof id, "job_b%06d", i);
        snprintf(at, sizeof at, "2026-01-01T%02d:%02d:%02d.%03dZ", i / 3600000, i / 60000 % 60,
                 i / 1000 % 60, i % 1000);
        db_reset(st);
        db_bind_text(st, 1, id);
        db_bind_text(st, 2, "{\"method\":\"kmeans\",\"n_clusters\":2}");
        db_bind_text(st, 3, at);
        if (db_step(st) != DB_DONE) rc = -1;
    }
    if (rc != 0) fprintf(stderr, "bench_queue: fill: %s %s\n", db_errmsg(h), e.msg);
    db_finalize(st);
    if (rc == 0) rc = store_commit(s, &e);
    else store_rollback(s);
    if (rc == 0) rc = exec_or_say(h, "ANALYZE");
    return rc;
}

static int round_of(const char *target, store *s, int threads, int n)
{
    worker w[16];
    pthread_t tid[16];
    pthread_barrier_t go;
    atomic_int done;
    double *claim = malloc(sizeof(double) * (size_t)n * 3), *early, *renew;
    int nc = 0, ne = 0, nr = 0, errors = 0;
    double c0 = 1e300, c1 = 0, r0 = 1e300, r1 = 0, t0 = dc_now_s();

    if (!claim || fill(s, n) < 0) return free(claim), -1;
    printf("%d thread%s, %d queued jobs (filled in %.2f s)\n", threads, threads > 1 ? "s" : "",
           n, dc_now_s() - t0);
    early = claim + n, renew = claim + 2 * n;
    atomic_init(&done, 0);
    pthread_barrier_init(&go, NULL, (unsigned)threads);
    for (int i = 0; i < threads; i++) {
        w[i] = (worker){.target = target, .slot = i, .n_jobs = n, .go = &go, .done = &done};
        w[i].claim_ms = malloc(sizeof(double) * (size_t)n * 3);
        w[i].early_ms = w[i].claim_ms + n, w[i].renew_ms = w[i].claim_ms + 2 * n;
        w[i].h = malloc(sizeof(held) * (size_t)n);
        if (!w[i].claim_ms || !w[i].h) return fprintf(stderr, "out of memory\n"), -1;
        pthread_create(&tid[i], NULL, run, &w[i]);
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        memcpy(claim + nc, w[i].claim_ms, sizeof(double) * (size_t)w[i].n);
        memcpy(early + ne, w[i].early_ms, sizeof(double) * (size_t)w[i].n_early);
        memcpy(renew + nr, w[i].renew_ms, sizeof(double) * (size_t)w[i].n);
        nc += w[i].n, ne += w[i].n_early, nr += w[i].n;
        errors += w[i].errors;
        if (w[i].errors) fprintf(stderr, "  thread %d: %d errors, first: %s\n", i, w[i].errors,
                                 w[i].err);
        if (w[i].t_claim0 < c0) c0 = w[i].t_claim0;
        if (w[i].t_claim1 > c1) c1 = w[i].t_claim1;
        if (w[i].t_renew0 < r0) r0 = w[i].t_renew0;
        if (w[i].t_renew1 > r1) r1 = w[i].t_renew1;
        free(w[i].claim_ms), free(w[i].h);
    }
    pthread_barrier_destroy(&go);
    report("claim (all)", claim, nc, c1 - c0);
    report("claim (first 10 %)", early, ne, 0);
    report("renew", renew, nr, r1 - r0);
    if (nc != n) printf("  claimed %d of %d jobs\n", nc, n);
    if (errors) printf("  %d errors\n", errors);
    free(claim);
    return nc == n && errors == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    char tmp[512] = "", aux[600];
    const char *target = argc > 1 ? argv[1] : NULL;
    int n = argc > 2 ? atoi(argv[2]) : 10000, rc = 0;
    store *s = NULL;
    dc_err e = {0};
    db_stmt *st = NULL;

    if (n <= 0 || n > 1000000) return fprintf(stderr, "usage: bench_queue [TARGET [N]]\n"), 2;
    if (!target) {
        const char *t = getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%s/bench_queue_%ld.db", t && *t ? t : "/tmp", (long)getpid());
        target = tmp;
    }
    if (store_open(&s, target, &e) < 0) return fprintf(stderr, "bench_queue: %s\n", e.msg), 1;
    if (db_prepare(store_db(s), "SELECT COUNT(*) FROM jobs", &st) != 0 || db_step(st) != DB_ROW ||
        db_column_int(st, 0) != 0) {
        fprintf(stderr, "bench_queue: %s holds jobs (or cannot be read): give an empty database\n",
                target);
        db_finalize(st);
        store_close(s);
        return 1;
    }
    db_finalize(st);
    printf("bench_queue: %s store%s%s%s\n", store_kind(s) == DB_PG ? "postgresql" : "sqlite",
           tmp[0] ? " (temp file " : "", tmp, tmp[0] ? ")" : "");
    if (round_of(target, s, 1, n) < 0) rc = 1;
    if (round_of(target, s, 4, n) < 0) rc = 1;
    db_exec(store_db(s), "DELETE FROM job_attempts; DELETE FROM jobs");
    store_close(s);
    if (tmp[0]) {
        unlink(tmp);
        snprintf(aux, sizeof aux, "%s-wal", tmp), unlink(aux);
        snprintf(aux, sizeof aux, "%s-shm", tmp), unlink(aux);
    }
    return rc;
}
