/* test_queue: the job queue (server/svc/queue.h) at the store level, on SQLite (a temp
 * file, always) and on PostgreSQL (when DC_TEST_PG_URL is a superuser URL of a running
 * cluster: the test creates a database of its own and drops it at the end; start one
 * with tests/tools/pg_cluster.sh). Jobs are inserted with SQL, as the API would queue
 * them. Checks: the oldest queued job is claimed first, a study job waits for its
 * autoencoder; 8 threads on 8 connections claim 200 jobs, each exactly once; renew with
 * the claim's token (and the cancel flag) or with a wrong one; an expired lease is
 * reaped back to 'queued' (resume when a checkpoint exists), the old token then fails
 * renew and fence, the next claim is attempt 2 with a new token; after SVC_MAX_ATTEMPTS
 * lost claims the job fails with the reason, an expired job with a cancel request ends
 * 'cancelled'; job_attempts holds one row per claim with its outcome. Without
 * DC_TEST_PG_URL the PostgreSQL half is skipped (said on stdout). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "db.h"
#include "queue.h"
#include "store.h"
#include "svc.h"

enum { NJOBS = 200, NTHREADS = 8 };

/* 1 when needle occurs in hay, ignoring ASCII case. */
static int has_word(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && (hay[i] | 0x20) == (needle[i] | 0x20)) i++;
        if (i == n) return 1;
    }
    return 0;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {}
}

/* Runs sql, expecting success; prints the backend's message when it fails. */
static int exec_ok(db_conn *h, const char *sql)
{
    int rc = db_exec(h, sql);
    if (rc != 0) fprintf(stderr, "exec failed: %s\n  sql: %.200s\n", db_errmsg(h), sql);
    return rc == 0;
}

/* The first column of the first row of sql (one text parameter, or none) as text into
 * out ("" for NULL, "<none>" without a row, "<error>" on failure). */
static const char *q_text(db_conn *h, const char *sql, const char *arg, char *out, size_t cap)
{
    db_stmt *st = NULL;
    int rc;
    snprintf(out, cap, "<error>");
    if (db_prepare(h, sql, &st) != 0) {
        fprintf(stderr, "prepare failed: %s\n  sql: %s\n", db_errmsg(h), sql);
        return out;
    }
    if (arg) db_bind_text(st, 1, arg);
    rc = db_step(st);
    if (rc == DB_ROW) {
        const char *t = db_column_text(st, 0);
        snprintf(out, cap, "%s", t ? t : "");
    } else if (rc == DB_DONE) {
        snprintf(out, cap, "<none>");
    } else {
        fprintf(stderr, "query failed: %s\n  sql: %s\n", db_errmsg(h), sql);
    }
    db_finalize(st);
    return out;
}

/* The same as a number (-999 on error or without a row). */
static long q_int(db_conn *h, const char *sql, const char *arg)
{
    char buf[64], *end;
    long v;
    q_text(h, sql, arg, buf, sizeof buf);
    v = strtol(buf, &end, 10);
    return end != buf && *end == '\0' ? v : -999;
}

/* A queued kmeans job; created_at T0 + ms milliseconds, so that order is ours. */
static int insert_job(db_conn *h, const char *id, int ms, const char *ae_job)
{
    char at[40];
    db_stmt *st = NULL;
    int ok;
    snprintf(at, sizeof at, "2026-01-01T%02d:%02d:%02d.%03dZ", ms / 3600000, ms / 60000 % 60,
             ms / 1000 % 60, ms % 1000);
    if (db_prepare(h, "INSERT INTO jobs (id, method, n_clusters, spec, ae_job, created_at, "
                      "updated_at) VALUES (?1, 'kmeans', 2, ?2, ?3, ?4, ?4)", &st) != 0) {
        fprintf(stderr, "insert job: %s\n", db_errmsg(h));
        return 0;
    }
    db_bind_text(st, 1, id);
    db_bind_text(st, 2, "{\"method\":\"kmeans\",\"n_clusters\":2}");
    db_bind_text(st, 3, ae_job);
    db_bind_text(st, 4, at);
    ok = db_step(st) == DB_DONE;
    if (!ok) fprintf(stderr, "insert job %s: %s\n", id, db_errmsg(h));
    db_finalize(st);
    return ok;
}

static int insert_checkpoint(db_conn *h, const char *job)
{
    static const unsigned char state[16] = {1, 2, 3};
    db_stmt *st = NULL;
    int ok;
    if (db_prepare(h, "INSERT INTO checkpoints (job_id, phase, step, state) VALUES (?, "
                      "'pretrain', 7, ?)", &st) != 0)
        return 0;
    db_bind_text(st, 1, job);
    db_bind_blob(st, 2, state, sizeof state);
    ok = db_step(st) == DB_DONE;
    if (!ok) fprintf(stderr, "insert checkpoint: %s\n", db_errmsg(h));
    db_finalize(st);
    return ok;
}

static void clear_jobs(db_conn *h)
{
    CHECK(exec_ok(h, "DELETE FROM job_attempts; DELETE FROM checkpoints; DELETE FROM study_ae; "
                     "DELETE FROM jobs"));
}

/* Claims one job; returns queue_claim_next's code, fills c. */
static int claim(store *s, const char *worker, double lease_s, queue_claim *c)
{
    dc_err e = {0};
    int rc;
    memset(c, 0, sizeof *c);
    rc = queue_claim_next(s, worker, lease_s, c, &e);
    if (rc < 0) fprintf(stderr, "claim failed (%d): %s\n", rc, e.msg);
    return rc;
}

/* queue_fence inside a transaction of ours (rolled back). */
static int fence(store *s, const char *job, const char *lease)
{
    dc_err e = {0};
    int rc = store_begin(s, &e);
    if (rc == 0) rc = queue_fence(s, job, lease, &e);
    store_rollback(s);
    return rc;
}

/* ---- ordering: oldest first (created_at, then insertion); a study job waits */
static void check_order(store *s)
{
    db_conn *h = store_db(s);
    queue_claim c;
    char buf[64];
    clear_jobs(h);
    /* inserted newest first; job_o2a and job_o2b share a created_at */
    CHECK(insert_job(h, "job_o3", 3000, NULL));
    CHECK(insert_job(h, "job_o2a", 2000, NULL));
    CHECK(insert_job(h, "job_o2b", 2000, NULL));
    CHECK(insert_job(h, "job_o1", 1000, NULL));
    /* the oldest of all, but it starts from job_o1's autoencoder, not kept yet */
    CHECK(insert_job(h, "job_dep", 500, "job_o1"));
    const char *want[] = {"job_o1", "job_o2a", "job_o2b"};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(claim(s, "t:1/0", 30, &c), 1);
        CHECK_MSG(strcmp(c.id, want[i]) == 0, "claim %d: expected %s, got %s", i, want[i], c.id);
        CHECK_EQ_INT(c.attempt, 1);
        CHECK_EQ_INT(c.resume, 0);
        CHECK(c.spec && strstr(c.spec, "kmeans"));
        CHECK_MSG(strcmp(q_text(h, "SELECT lease_owner FROM jobs WHERE id = ?", c.id, buf,
                                sizeof buf), c.lease) == 0,
                  "lease_owner %s, claim's token %s", buf, c.lease);
        queue_claim_free(&c);
    }
    /* the autoencoder kept: job_dep is the oldest claimable one */
    {
        static const unsigned char ae[4] = {0};
        db_stmt *st = NULL;
        CHECK(db_prepare(h, "INSERT INTO study_ae (job_id, ae) VALUES ('job_o1', ?)", &st) == 0);
        db_bind_blob(st, 1, ae, sizeof ae);
        CHECK(db_step(st) == DB_DONE);
        db_finalize(st);
    }
    CHECK_EQ_INT(claim(s, "t:1/0", 30, &c), 1);
    CHECK_MSG(strcmp(c.id, "job_dep") == 0, "expected job_dep, got %s", c.id);
    CHECK(strcmp(c.ae_job, "job_o1") == 0);
    queue_claim_free(&c);
    CHECK_EQ_INT(claim(s, "t:1/0", 30, &c), 1);
    CHECK_MSG(strcmp(c.id, "job_o3") == 0, "expected job_o3, got %s", c.id);
    queue_claim_free(&c);
    CHECK_EQ_INT(claim(s, "t:1/0", 30, &c), 0);
    CHECK_EQ_INT(q_int(h, "SELECT COUNT(*) FROM jobs WHERE status = 'running'", NULL), 5);
}

/* ---- contention: NTHREADS connections claim NJOBS jobs */
typedef struct {
    const char *target;
    int slot;
    pthread_barrier_t *go;
    atomic_int *claims; /* per job */
    int n, errors;
    char first_err[600];
} claimer;

static void *claimer_run(void *arg)
{
    claimer *t = arg;
    store *s = NULL;
    dc_err e = {0};
    char name[128];
    int rc = store_open(&s, t->target, &e);
    queue_worker_name(name, sizeof name, t->slot);
    pthread_barrier_wait(t->go);
    if (rc < 0) {
        t->errors++;
        snprintf(t->first_err, sizeof t->first_err, "store_open: %s", e.msg);
        return NULL;
    }
    for (;;) {
        queue_claim c;
        memset(&c, 0, sizeof c);
        rc = queue_claim_next(s, name, 60, &c, &e);
        if (rc == 0) break;
        if (rc < 0) {
            if (!t->errors++) snprintf(t->first_err, sizeof t->first_err, "%s", e.msg);
            if (t->errors > 50) break;
            continue;
        }
        int i = atoi(c.id + strlen("job_c"));
        if (i >= 0 && i < NJOBS) atomic_fetch_add(&t->claims[i], 1);
        t->n++;
        queue_claim_free(&c);
    }
    store_close(s);
    return NULL;
}

static void check_contention(store *s, const char *target)
{
    db_conn *h = store_db(s);
    atomic_int claims[NJOBS];
    claimer t[NTHREADS];
    pthread_t tid[NTHREADS];
    pthread_barrier_t go;
    char id[32], name[128], pid[32];
    int total = 0, once = 0, errors = 0;

    clear_jobs(h);
    CHECK(exec_ok(h, db_kind_of(h) == DB_PG ? "BEGIN" : "BEGIN IMMEDIATE"));
    for (int i = 0; i < NJOBS; i++) {
        snprintf(id, sizeof id, "job_c%03d", i);
        CHECK(insert_job(h, id, i, NULL));
        atomic_init(&claims[i], 0);
    }
    CHECK(exec_ok(h, "COMMIT"));

    pthread_barrier_init(&go, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++) {
        t[i] = (claimer){.target = target, .slot = i, .go = &go, .claims = claims};
        CHECK(pthread_create(&tid[i], NULL, claimer_run, &t[i]) == 0);
    }
    for (int i = 0; i < NTHREADS; i++) pthread_join(tid[i], NULL);
    pthread_barrier_destroy(&go);

    printf("  contention: claims per thread:");
    for (int i = 0; i < NTHREADS; i++) {
        printf(" %d", t[i].n);
        total += t[i].n;
        errors += t[i].errors;
        if (t[i].errors) fprintf(stderr, "  thread %d: %d errors, first: %s\n", i, t[i].errors,
                                 t[i].first_err);
    }
    printf("\n");
    for (int i = 0; i < NJOBS; i++) {
        int n = atomic_load(&claims[i]);
        once += n == 1;
        if (n != 1) fprintf(stderr, "  job_c%03d claimed %d times\n", i, n);
    }
    CHECK_EQ_INT(errors, 0);
    CHECK_EQ_INT(total, NJOBS);
    CHECK_EQ_INT(once, NJOBS);
    /* the rows agree: every job running, attempt 1, one job_attempts row, tokens unique */
    CHECK_EQ_INT(q_int(h, "SELECT COUNT(*) FROM jobs WHERE status = 'running' AND attempts = 1 "
                          "AND lease_owner IS NOT NULL", NULL), NJOBS);
    CHECK_EQ_INT(q_int(h, "SELECT COUNT(*) FROM job_attempts", NULL), NJOBS);
    CHECK_EQ_INT(q_int(h, "SELECT COUNT(DISTINCT lease) FROM job_attempts", NULL), NJOBS);
    CHECK_EQ_INT(q_int(h, "SELECT COUNT(*) FROM job_attempts a JOIN jobs j ON j.id = a.job_id "
                          "AND j.lease_owner = a.lease AND a.attempt = 1 AND a.ended_at IS NULL",
                       NULL), NJOBS);
    /* the workers are named as queue_worker_name says: host:pid/slot */
    queue_worker_name(name, sizeof name, 3);
    snprintf(pid, sizeof pid, ":%ld/3", (long)getpid());
    CHECK_MSG(strstr(name, pid) != NULL && name[0] != ':', "worker name %s", name);
    CHECK_EQ_INT(q_int(h, "SELECT COUNT(*) FROM job_attempts WHERE worker = ?", name), t[3].n);
}

/* ---- lease: renew, cancel flag, wrong token, reaping, fencing, attempts */
static void check_lease(store *s)
{
    db_conn *h = store_db(s);
    dc_err e = {0};
    queue_claim c, c2;
    char buf[512], until0[64], until1[64];
    int cancel = -1;

    clear_jobs(h);
    CHECK(insert_job(h, "job_l", 0, NULL));
    CHECK_EQ_INT(claim(s, "t:1/0", 5, &c), 1);
    CHECK(strcmp(c.id, "job_l") == 0);
    q_text(h, "SELECT lease_until FROM jobs WHERE id = ?", "job_l", until0, sizeof until0);
    /* renew with the token: works, no cancel; the lease moves forward */
    CHECK_EQ_INT(queue_renew(s, "job_l", c.lease, 60, &cancel, &e), 0);
    CHECK_EQ_INT(cancel, 0);
    q_text(h, "SELECT lease_until FROM jobs WHERE id = ?", "job_l", until1, sizeof until1);
    CHECK_MSG(strcmp(until1, until0) > 0, "lease_until %s after renew, %s before", until1, until0);
    /* a cancel request is reported by the next renew */
    CHECK(exec_ok(h, "UPDATE jobs SET cancel_requested = 1 WHERE id = 'job_l'"));
    cancel = -1;
    CHECK_EQ_INT(queue_renew(s, "job_l", c.lease, 60, &cancel, &e), 0);
    CHECK_EQ_INT(cancel, 1);
    CHECK(exec_ok(h, "UPDATE jobs SET cancel_requested = 0 WHERE id = 'job_l'"));
    /* a wrong token: refused, the job's lease untouched */
    CHECK_EQ_INT(queue_renew(s, "job_l", "not-the-token", 60, &cancel, &e), DC_ECONFLICT);
    CHECK_EQ_INT(fence(s, "job_l", "not-the-token"), DC_ECONFLICT);
    CHECK_EQ_INT(fence(s, "job_l", c.lease), 0);
    CHECK(strcmp(q_text(h, "SELECT lease_owner FROM jobs WHERE id = ?", "job_l", buf, sizeof buf),
                 c.lease) == 0);
    /* a lease that has not expired is not reaped */
    CHECK_EQ_INT(queue_reap(s, &e), 0);
    CHECK(strcmp(q_text(h, "SELECT status FROM jobs WHERE id = ?", "job_l", buf, sizeof buf),
                 "running") == 0);

    /* expiry: a 0.5 s lease, 1 s later reaped; a checkpoint means resume */
    CHECK_EQ_INT(queue_renew(s, "job_l", c.lease, 0.5, &cancel, &e), 0);
    CHECK(insert_checkpoint(h, "job_l"));
    sleep_s(1.0);
    CHECK_EQ_INT(queue_reap(s, &e), 1);
    CHECK(strcmp(q_text(h, "SELECT status FROM jobs WHERE id = ?", "job_l", buf, sizeof buf),
                 "queued") == 0);
    CHECK_EQ_INT(q_int(h, "SELECT resume FROM jobs WHERE id = ?", "job_l"), 1);
    CHECK(strcmp(q_text(h, "SELECT lease_owner FROM jobs WHERE id = ?", "job_l", buf, sizeof buf),
                 "") == 0);
    CHECK_EQ_INT(queue_reap(s, &e), 0); /* once */
    /* the old token is dead */
    CHECK_EQ_INT(queue_renew(s, "job_l", c.lease, 60, &cancel, &e), DC_ECONFLICT);
    CHECK_EQ_INT(fence(s, "job_l", c.lease), DC_ECONFLICT);
    /* the next claim: attempt 2, another token, resumes */
    CHECK_EQ_INT(claim(s, "t:1/1", 30, &c2), 1);
    CHECK(strcmp(c2.id, "job_l") == 0);
    CHECK_EQ_INT(c2.attempt, 2);
    CHECK_EQ_INT(c2.resume, 1);
    CHECK_MSG(strcmp(c2.lease, c.lease) != 0, "the second claim reused the token %s", c.lease);
    CHECK_EQ_INT(queue_renew(s, "job_l", c.lease, 60, &cancel, &e), DC_ECONFLICT);
    CHECK_EQ_INT(fence(s, "job_l", c.lease), DC_ECONFLICT);
    CHECK_EQ_INT(queue_renew(s, "job_l", c2.lease, 60, &cancel, &e), 0);
    CHECK_EQ_INT(fence(s, "job_l", c2.lease), 0);

    /* job_attempts: attempt 1 closed (lost), attempt 2 open */
    CHECK_EQ_INT(q_int(h, "SELECT COUNT(*) FROM job_attempts WHERE job_id = ?", "job_l"), 2);
    snprintf(buf, sizeof buf, "SELECT outcome FROM job_attempts WHERE job_id = ? AND attempt = 1");
    {
        char out[64];
        q_text(h, buf, "job_l", out, sizeof out);
        CHECK_MSG(strcmp(out, "lost") == 0, "attempt 1 outcome: expected lost, got %s", out);
    }
    CHECK_EQ_INT(q_int(h, "SELECT COUNT(*) FROM job_attempts WHERE job_id = ? AND attempt = 1 "
                          "AND ended_at IS NOT NULL AND worker = 't:1/0'", "job_l"), 1);
    CHECK_EQ_INT(q_int(h, "SELECT COUNT(*) FROM job_attempts WHERE job_id = ? AND attempt = 2 "
                          "AND ended_at IS NULL AND outcome IS NULL AND worker = 't:1/1'",
                       "job_l"), 1);

    /* the worker ends it in its final transaction: the row closes, the lease clears */
    CHECK_EQ_INT(store_begin(s, &e), 0);
    CHECK_EQ_INT(queue_fence(s, "job_l", c2.lease, &e), 0);
    CHECK(exec_ok(h, "UPDATE jobs SET status = 'succeeded', finished_at = dc_now() "
                     "WHERE id = 'job_l'"));
    CHECK_EQ_INT(queue_end(s, "job_l", c2.lease, "succeeded", &e), 0);
    CHECK_EQ_INT(store_commit(s, &e), 0);
    CHECK(strcmp(q_text(h, "SELECT outcome FROM job_attempts WHERE job_id = ? AND attempt = 2",
                        "job_l", buf, sizeof buf), "succeeded") == 0);
    CHECK_EQ_INT(q_int(h, "SELECT COUNT(*) FROM job_attempts WHERE job_id = ? AND attempt = 2 "
                          "AND ended_at IS NOT NULL", "job_l"), 1);
    CHECK(strcmp(q_text(h, "SELECT COALESCE(lease_owner, '') FROM jobs WHERE id = ?", "job_l",
                        buf, sizeof buf), "") == 0);
    CHECK_EQ_INT(queue_renew(s, "job_l", c2.lease, 60, &cancel, &e), DC_ECONFLICT);
    CHECK_EQ_INT(queue_reap(s, &e), 0);
    queue_claim_free(&c2);
    CHECK_EQ_INT(claim(s, "t:1/0", 30, &c2), 0); /* nothing left */
    queue_claim_free(&c);
    queue_claim_free(&c2);

    /* a clean stop: the worker requeues its own job (outcome requeued) */
    CHECK(insert_job(h, "job_r", 10, NULL));
    CHECK_EQ_INT(claim(s, "t:1/0", 30, &c), 1);
    CHECK(strcmp(c.id, "job_r") == 0);
    CHECK_EQ_INT(store_begin(s, &e), 0);
    CHECK_EQ_INT(queue_fence(s, "job_r", c.lease, &e), 0);
    CHECK(exec_ok(h, "UPDATE jobs SET status = 'queued' WHERE id = 'job_r'"));
    CHECK_EQ_INT(queue_end(s, "job_r", c.lease, "requeued", &e), 0);
    CHECK_EQ_INT(store_commit(s, &e), 0);
    CHECK(strcmp(q_text(h, "SELECT outcome FROM job_attempts WHERE job_id = ? AND attempt = 1",
                        "job_r", buf, sizeof buf), "requeued") == 0);
    CHECK_EQ_INT(queue_renew(s, "job_r", c.lease, 60, &cancel, &e), DC_ECONFLICT);
    queue_claim_free(&c);
}

/* ---- the end of the road: too many lost claims; a lost job that was being cancelled */
static void check_max_attempts(store *s)
{
    db_conn *h = store_db(s);
    dc_err e = {0};
    queue_claim c, k;
    char buf[512];

    clear_jobs(h);
    CHECK(insert_job(h, "job_m", 0, NULL));
    CHECK(insert_job(h, "job_k", 1, NULL));
    for (int a = 1; a <= SVC_MAX_ATTEMPTS; a++) {
        int want = a == 1 ? 2 : 1; /* job_k is reaped in the first round */
        CHECK_EQ_INT(claim(s, "t:1/0", 0.5, &c), 1);
        CHECK(strcmp(c.id, "job_m") == 0);
        CHECK_EQ_INT(c.attempt, a);
        if (a == 1) {
            CHECK_EQ_INT(claim(s, "t:1/1", 0.5, &k), 1);
            CHECK(strcmp(k.id, "job_k") == 0);
            CHECK(exec_ok(h, "UPDATE jobs SET cancel_requested = 1 WHERE id = 'job_k'"));
        }
        sleep_s(1.0);
        CHECK_EQ_INT(queue_reap(s, &e), want);
        q_text(h, "SELECT status FROM jobs WHERE id = ?", "job_m", buf, sizeof buf);
        CHECK_MSG(strcmp(buf, a < SVC_MAX_ATTEMPTS ? "queued" : "failed") == 0,
                  "after lost attempt %d: status %s", a, buf);
        queue_claim_free(&c);
    }
    q_text(h, "SELECT error FROM jobs WHERE id = ?", "job_m", buf, sizeof buf);
    printf("  failed after %d lost claims: %s\n", SVC_MAX_ATTEMPTS, buf);
    CHECK_MSG(has_word(buf, "lost") && has_word(buf, "3 times"),
              "the error does not say why: '%s'", buf);
    CHECK_EQ_INT(q_int(h, "SELECT COUNT(*) FROM jobs WHERE id = ? AND finished_at IS NOT NULL "
                          "AND lease_owner IS NULL", "job_m"), 1);
    CHECK_EQ_INT(q_int(h, "SELECT COUNT(*) FROM job_attempts WHERE job_id = ? AND outcome = 'lost' "
                          "AND ended_at IS NOT NULL", "job_m"), SVC_MAX_ATTEMPTS);

    q_text(h, "SELECT status FROM jobs WHERE id = ?", "job_k", buf, sizeof buf);
    CHECK_MSG(strcmp(buf, "cancelled") == 0, "lost job with a cancel request: status %s", buf);
    CHECK_EQ_INT(q_int(h, "SELECT COUNT(*) FROM job_attempts WHERE job_id = ? AND ended_at IS NOT "
                          "NULL", "job_k"), 1);
    queue_claim_free(&k);
    CHECK_EQ_INT(claim(s, "t:1/0", 30, &c), 0); /* neither comes back */
}

static void suite(const char *target, const char *name)
{
    store *s = NULL;
    dc_err e = {0};
    int fail0 = check_fail_;
    CHECK_EQ_INT(store_open(&s, target, &e), 0);
    if (!s) {
        fprintf(stderr, "%s: store_open: %s\n", name, e.msg);
        return;
    }
    check_order(s);
    check_contention(s, target);
    check_lease(s);
    check_max_attempts(s);
    store_close(s);
    printf("%s: %s\n", name, check_fail_ == fail0 ? "ok" : "FAILED");
}

static void run_sqlite(const char *sfx)
{
    char path[512], aux[600];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/test_queue_%s.db", tmp && *tmp ? tmp : "/tmp", sfx);
    suite(path, "sqlite");
    unlink(path);
    snprintf(aux, sizeof aux, "%s-wal", path), unlink(aux);
    snprintf(aux, sizeof aux, "%s-shm", path), unlink(aux);
}

/* url with its database name replaced by name, into out. */
static int url_with_db(const char *url, const char *name, char *out, size_t cap)
{
    const char *p = strstr(url, "://"), *path, *q;
    if (!p) return -1;
    path = strchr(p + 3, '/');
    q = strchr(p + 3, '?');
    if (!path || (q && q < path)) { /* no path: add one before the query */
        size_t n = q ? (size_t)(q - url) : strlen(url);
        return snprintf(out, cap, "%.*s/%s%s", (int)n, url, name, q ? q : "") < (int)cap ? 0 : -1;
    }
    return snprintf(out, cap, "%.*s/%s%s", (int)(path - url), url, name, q ? q : "") < (int)cap
               ? 0 : -1;
}

static void run_pg(const char *sfx)
{
    const char *url = getenv("DC_TEST_PG_URL");
    db_conn *h = NULL;
    dc_err e = {0};
    char sql[256], dburl[1024], name[96];
    if (!url || !*url) {
        printf("postgresql: SKIPPED (set DC_TEST_PG_URL to a superuser URL, e.g. from "
               "tests/tools/pg_cluster.sh start)\n");
        return;
    }
    CHECK_EQ_INT(db_open(&h, url, &e), 0);
    if (!h) {
        fprintf(stderr, "postgresql: %s\n", e.msg);
        return;
    }
    snprintf(name, sizeof name, "dc_test_queue_%s", sfx);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    CHECK(exec_ok(h, sql));
    CHECK_EQ_INT(url_with_db(url, name, dburl, sizeof dburl), 0);
    suite(dburl, "postgresql");
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    CHECK(exec_ok(h, sql));
    db_close(h);
}

int main(void)
{
    char sfx[64];
    snprintf(sfx, sizeof sfx, "%ld_%ld", (long)getpid(), (long)time(NULL));
    run_sqlite(sfx);
    run_pg(sfx);
    return CHECK_DONE();
}
