/* svc: lifetime, the connection pool, shared helpers, limit counters, the disk reserve
 * (full-disk handling: see docs/reliability.md), the model cache, predictions and
 * metrics. Datasets are in svc_data.c, jobs in svc_jobs.c, workers in svc_worker.c. */
#include "svc_internal.h"

#include "dc_size.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/statvfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ----------------------------------------------------------------------- */

int svc_errno_nospace(int err)
{
#ifdef EDQUOT
    if (err == EDQUOT) return 1;
#endif
    return err == ENOSPC;
}

int svc_nospace(dc_err *e, const char *what, const char *detail)
{
    return dc_err_set(e, DC_ENOSPC, "disk full: %s (%s); free space by deleting datasets, "
                      "jobs or models", what, detail);
}

int svc__sql_err(db_conn *db, const char *what, dc_err *e)
{
    if (store_errcode(db) == DC_ENOSPC) return svc_nospace(e, what, db_errmsg(db));
    return dc_err_set(e, DC_EIO, "%s: %s", what, db_errmsg(db));
}

int svc__row_by_id(db_conn *db, const char *sql, const char *id, const char *kind,
                   const char *what, db_stmt **st, dc_err *e)
{
    *st = NULL;
    if (db_prepare(db, sql, st) != DB_OK) return svc__sql_err(db, what, e);
    db_bind_text(*st, 1, id);
    int rc = db_step(*st);
    if (rc == DB_ROW) return 0;
    return rc == DB_DONE ? dc_err_set(e, DC_ENOTFOUND, "no %s %s", kind, id)
                         : svc__sql_err(db, what, e);
}

void svc__wake_workers(svc *s, db_conn *h)
{
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->mu);
    if (s->pg && db_exec(h, "NOTIFY dc_jobs") < 0)
        fprintf(stderr, "deepclust: NOTIFY dc_jobs: %s\n", db_errmsg(h));
}

void svc__new_id(char *buf, size_t cap, const char *prefix)
{
    static atomic_ullong counter;
    unsigned char b[8] = {0};
    unsigned long long v = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, b, sizeof b) != (ssize_t)sizeof b) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = (unsigned long long)ts.tv_nsec * 6364136223846793005ULL ^
            (unsigned long long)ts.tv_sec ^ (atomic_fetch_add(&counter, 1) << 40);
    } else {
        for (int i = 0; i < 8; i++) v = v << 8 | b[i];
    }
    if (fd >= 0) close(fd);
    snprintf(buf, cap, "%s%016llx", prefix, v);
}

void svc__col_text(db_stmt *st, int i, char *buf, size_t cap)
{
    const char *t = db_column_text(st, i);
    snprintf(buf, cap, "%s", t ? (const char *)t : "");
}

void svc__chunk_free(svc__chunk *c)
{
    if (c) free(c->data), memset(c, 0, sizeof *c);
}

int svc__blob_read_via(db_conn *h, svc__chunk *c, const char *id, const char *part,
                       int64_t off, void *buf, int64_t len, dc_err *e)
{
    /* without a cache: the chunks overlapping [off, off + len), each cut down to its
       part of the range by the database; with one: whole chunks, the last one kept */
    static const char cut[] =
        "SELECT CASE WHEN ?3 > off THEN ?3 ELSE off END, "
        " substr(data, CAST(CASE WHEN ?3 > off THEN ?3 - off + 1 ELSE 1 END AS INTEGER), "
        "        CAST(?4 - CASE WHEN ?3 > off THEN ?3 ELSE off END AS INTEGER)) "
        "FROM dataset_chunks WHERE dataset_id = ?1 AND part = ?2 AND off < ?4 AND off >= "
        " COALESCE((SELECT MAX(off) FROM dataset_chunks WHERE dataset_id = ?1 AND part = ?2 "
        "           AND off <= ?3), 0) ORDER BY off";
    static const char whole[] =
        "SELECT off, data FROM dataset_chunks WHERE dataset_id = ?1 AND part = ?2 AND "
        "off < ?4 AND off >= COALESCE((SELECT MAX(off) FROM dataset_chunks WHERE "
        "dataset_id = ?1 AND part = ?2 AND off <= ?3), 0) ORDER BY off";
    db_stmt *st = NULL;
    int64_t next = off;
    int rc;

    if (off < 0 || len < 0)
        return dc_err_set(e, DC_EINVAL, "read of %lld bytes at %lld", (long long)len,
                          (long long)off);
    if (len == 0) return 0;
    if (c && c->data && strcmp(c->id, id) == 0 && strcmp(c->part, part) == 0 &&
        off >= c->off && off + len <= c->off + c->len) {
        memcpy(buf, c->data + (off - c->off), (size_t)len);
        return 0;
    }
    if (db_prepare(h, c ? whole : cut, &st) != DB_OK) {
        rc = svc__sql_err(h, "dataset data", e);
        goto out;
    }
    db_bind_text(st, 1, id);
    db_bind_text(st, 2, part);
    db_bind_int64(st, 3, off);
    db_bind_int64(st, 4, off + len);
    while ((rc = db_step(st)) == DB_ROW) {
        int64_t at = db_column_int64(st, 0), n = db_column_bytes(st, 1);
        const unsigned char *p = db_column_blob(st, 1);
        if (c) { /* a whole chunk: keep it, copy the part in range */
            unsigned char *keep = n > 0 ? realloc(c->data, (size_t)n) : NULL;
            if (!keep) {
                rc = dc_err_set(e, DC_ENOMEM, "out of memory");
                goto out;
            }
            memcpy(keep, p, (size_t)n);
            c->data = keep, c->off = at, c->len = n;
            snprintf(c->id, sizeof c->id, "%s", id);
            snprintf(c->part, sizeof c->part, "%s", part);
            int64_t from = at > off ? at : off, to = at + n < off + len ? at + n : off + len;
            if (from != next || to <= from) break; /* a hole */
            memcpy((char *)buf + (from - off), p + (from - at), (size_t)(to - from));
            next = to;
            continue;
        }
        if (at != next || n <= 0 || at + n > off + len) break; /* a hole or an overlap */
        memcpy((char *)buf + (at - off), p, (size_t)n);
        next = at + n;
    }
    if (rc != DB_ROW && rc != DB_DONE) {
        rc = svc__sql_err(h, "read dataset data", e);
        goto out;
    }
    rc = next == off + len ? 0
                           : dc_err_set(e, next == off ? DC_ENOTFOUND : DC_EFORMAT,
                                        "dataset %s part %s: %lld bytes at %lld are not stored "
                                        "(read stopped at %lld)", id, part, (long long)len,
                                        (long long)off, (long long)next);
out:
    db_finalize(st);
    return rc;
}

int svc__blob_read(db_conn *h, const char *id, const char *part, int64_t off, void *buf,
                   int64_t len, dc_err *e)
{
    return svc__blob_read_via(h, NULL, id, part, off, buf, len, e);
}

/* ---- limits ------------------------------------------------------------------------ */

const char *svc_limit_name(svc_limit l)
{
    static const char *const names[SVC_LIMIT_COUNT] = {
        "model_params", "train_memory", "dataset_size", "queued_jobs", "uploads",
        "request_body"};
    return l >= 0 && l < SVC_LIMIT_COUNT ? names[l] : "unknown";
}

void svc_limit_count(svc *s, svc_limit l)
{
    if (s && l >= 0 && l < SVC_LIMIT_COUNT) atomic_fetch_add(&s->limit_hits[l], 1);
}

int svc_upload_begin(svc *s, dc_err *e)
{
    int max = s->cfg.max_uploads, rc;
    if ((rc = svc__space_ok(s, "cannot store the upload", e)) < 0) return rc;
    if (atomic_fetch_add(&s->uploads, 1) >= max && max > 0) {
        atomic_fetch_sub(&s->uploads, 1);
        svc_limit_count(s, SVC_LIMIT_UPLOADS);
        return dc_err_set(e, DC_EBUSY, "%d uploads are in progress, the limit "
                          "(--max-uploads); retry when one has finished", max);
    }
    return 0;
}

void svc_upload_end(svc *s)
{
    if (s) atomic_fetch_sub(&s->uploads, 1);
}

/* ---- the disk reserve ------------------------------------------------------------- */


/* Under reserve_mu: allocates the reserve file to its full size if it is not. */
static void reserve_take_locked(svc *s)
{
    int64_t want = s->cfg.disk_reserve_bytes;
    int fd, err;
    if (want <= 0 || s->reserve_held >= want || !s->reserve_path) return;
    fd = open(s->reserve_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    err = posix_fallocate(fd, 0, (off_t)want);
    if (err == 0) {
        s->reserve_held = want;
    } else { /* a partial allocation would only hide the space: give it back */
        if (ftruncate(fd, 0) != 0) { /* nothing better to do */ }
        s->reserve_held = 0;
    }
    close(fd);
}

int svc__make_room(svc *s, store *db)
{
    int had = svc__reserve_release(s);
    /* Move the WAL into the database file (which may grow into the reserve's space) and
       truncate it: what a full WAL held is free again for the retried write. */
    int ck = store_checkpoint_truncate(db);
    return had || ck == 0;
}

int svc__reserve_release(svc *s)
{
    int had;
    pthread_mutex_lock(&s->reserve_mu);
    had = s->reserve_held > 0;
    if (had) {
        /* truncate, not unlink: the file keeps its name for the next take */
        if (truncate(s->reserve_path, 0) != 0) unlink(s->reserve_path);
        fprintf(stderr, "deepclust: disk full: released the %lld-byte reserve (%s) to let a "
                "write that frees space through\n", (long long)s->reserve_held,
                s->reserve_path);
        s->reserve_held = 0;
    }
    pthread_mutex_unlock(&s->reserve_mu);
    return had;
}

int svc__space_ok(svc *s, const char *what, dc_err *e)
{
    int64_t want = s->cfg.disk_reserve_bytes, held;
    pthread_mutex_lock(&s->reserve_mu);
    reserve_take_locked(s);
    held = s->reserve_held;
    pthread_mutex_unlock(&s->reserve_mu);
    int64_t free_b = svc__disk_free(s);
    if (held >= want && (free_b < 0 || free_b >= SVC_DISK_MIN_FREE)) return 0;
    char detail[160];
    if (held < want)
        snprintf(detail, sizeof detail, "the %lld-byte reserve kept for deletes cannot be "
                 "allocated", (long long)want);
    else
        snprintf(detail, sizeof detail, "%lld bytes free, under the %d kept free",
                 (long long)free_b, SVC_DISK_MIN_FREE);
    return svc_nospace(e, what, detail);
}

static int recover_or_defer(svc *s, store *st, dc_err *e);

void svc__space_back(svc *s, store *db)
{
    if (db && atomic_load(&s->recovery_pending) && atomic_load(&s->uploads) == 0) {
        dc_err e = {0}; /* a recovery the disk stopped: now there may be room */
        recover_or_defer(s, db, &e);
    }
    if (db) {
        /* Free pages stay in the file (SQLite reuses them) unless the disk runs short:
           then up to SVC_DISK_LOW bytes go back to the filesystem. Bounded, because
           it moves live pages and the DELETE waits for it (62 MB: 2.9 s measured). */
        int64_t step = s->cfg.disk_reserve_bytes / 2, free_b = svc__disk_free(s);
        if (free_b >= 0 && free_b < SVC_DISK_LOW)
            store_vacuum(db, step > (1 << 20) ? step : (1 << 20), SVC_DISK_LOW - free_b);
        store_checkpoint_truncate(db);
    }
    pthread_mutex_lock(&s->reserve_mu);
    reserve_take_locked(s);
    pthread_mutex_unlock(&s->reserve_mu);
}

int64_t svc__disk_free(const svc *s)
{
    char dir[4096];
    const char *slash = strrchr(s->file_base, '/');
    struct statvfs v;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - s->file_base) : 1,
             slash ? (slash == s->file_base ? "/" : s->file_base) : ".");
    if (statvfs(dir, &v) != 0) return -1;
    return (int64_t)v.f_bavail * (int64_t)v.f_frsize;
}

/* Runs the start-up recovery; on a full disk gives up the reserve and tries once more,
 * and if that is not enough leaves it pending (the service comes up all the same). */
static int recover_or_defer(svc *s, store *st, dc_err *e)
{
    int rc = svc__recover(s, st, e);
    if (rc == DC_ENOSPC && svc__make_room(s, st)) rc = svc__recover(s, st, e);
    if (rc == DC_ENOSPC) {
        fprintf(stderr, "deepclust: recovery postponed: %s\n", e ? e->msg : "disk full");
        atomic_store(&s->recovery_pending, 1);
        return 0;
    }
    if (rc == 0) atomic_store(&s->recovery_pending, 0);
    return rc;
}

void svc_disk_status(svc *s, svc_disk *out)
{
    pthread_mutex_lock(&s->reserve_mu);
    reserve_take_locked(s);
    out->reserve_bytes = s->reserve_held;
    pthread_mutex_unlock(&s->reserve_mu);
    if (atomic_load(&s->recovery_pending) && atomic_load(&s->uploads) == 0) {
        dc_err e = {0};
        store *st = svc__db_get(s, &e);
        if (st) recover_or_defer(s, st, &e);
        svc__db_put(s, st);
    }
    out->free_bytes = svc__disk_free(s);
    /* full: what writes see (svc__space_ok refuses new data while the reserve is out) */
    out->full = (out->free_bytes >= 0 && out->free_bytes < SVC_DISK_MIN_FREE) ||
                out->reserve_bytes < s->cfg.disk_reserve_bytes;
    out->recovery_pending = atomic_load(&s->recovery_pending);
}

int svc_store_open(store **out, const char *db_path, dc_err *e)
{
    int rc = store_open(out, db_path, e);
    if (rc == DC_ENOSPC && strstr(db_path, "://") == NULL) {
        char path[4200];
        snprintf(path, sizeof path, "%s.reserve",
                 strncmp(db_path, "sqlite:", 7) == 0 ? db_path + 7 : db_path);
        if (truncate(path, 0) == 0) {
            fprintf(stderr, "deepclust: disk full: released the reserve %s to open the "
                    "database\n", path);
            rc = store_open(out, db_path, e);
        }
    }
    return rc;
}

/* ---- connection pool ---------------------------------------------------------------- */

store *svc__db_get(svc *s, dc_err *e)
{
    store *st = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->npool) st = s->pool[--s->npool];
    pthread_mutex_unlock(&s->mu);
    if (st) return st;
    if (svc_store_open(&st, s->db_path, e) < 0) return NULL;
    pthread_mutex_lock(&s->mu);
    if (s->nall == s->capall) {
        int cap = s->capall ? 2 * s->capall : 8;
        store **a = realloc(s->all, sizeof *a * (size_t)cap);
        store **p = a ? realloc(s->pool, sizeof *p * (size_t)cap) : NULL;
        if (a) s->all = a;
        if (p) s->pool = p;
        if (a && p) s->capall = s->cappool = cap;
    }
    if (s->nall < s->capall) s->all[s->nall++] = st;
    else {
        pthread_mutex_unlock(&s->mu);
        store_close(st);
        dc_err_set(e, DC_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_unlock(&s->mu);
    return st;
}

void svc__db_put(svc *s, store *st)
{
    if (!st) return;
    store_rollback(st); /* a handler that failed mid-transaction leaves none open */
    pthread_mutex_lock(&s->mu);
    s->pool[s->npool++] = st; /* capacity == every connection ever opened */
    pthread_mutex_unlock(&s->mu);
}

/* ---- lifetime ------------------------------------------------------------------------ */

int svc_open(svc **out, const svc_config *cfg, dc_err *e)
{
    svc *s = calloc(1, sizeof *s);
    store *st = NULL;
    int rc;

    *out = NULL;
    if (!s || !(s->db_path = strdup(cfg->db_path ? cfg->db_path : ""))) {
        free(s);
        return dc_err_set(e, DC_ENOMEM, "out of memory");
    }
    s->cfg = *cfg;
    s->cfg.db_path = s->db_path;
    s->pg = db_target_is_pg(s->db_path);
    if (s->pg) { /* no reserve: the server minds its own disk */
        const char *dir = cfg->spool_dir && *cfg->spool_dir ? cfg->spool_dir
                          : getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        size_t n = strlen(dir) + 48;
        if ((s->file_base = malloc(n))) snprintf(s->file_base, n, "%s/deepclust-%ld", dir,
                                                 (long)getpid());
        s->cfg.disk_reserve_bytes = 0;
    } else {
        s->file_base = strdup(strncmp(s->db_path, "sqlite:", 7) == 0 ? s->db_path + 7
                                                                      : s->db_path);
    }
    if (s->cfg.lease_s <= 0) s->cfg.lease_s = 15;
    if (!s->file_base) {
        pthread_mutex_init(&s->mu, NULL), pthread_cond_init(&s->wake, NULL);
        pthread_mutex_init(&s->cache_mu, NULL), pthread_mutex_init(&s->reserve_mu, NULL);
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    if (s->cfg.model_cache <= 0) s->cfg.model_cache = 8;
    if (s->cfg.ckpt_every_s <= 0) s->cfg.ckpt_every_s = 30;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->wake, NULL);
    pthread_mutex_init(&s->cache_mu, NULL);
    pthread_mutex_init(&s->reserve_mu, NULL);
    size_t plen = strlen(s->file_base) + sizeof ".reserve";
    if (!(s->reserve_path = malloc(plen))) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(s->reserve_path, plen, "%s.reserve", s->file_base);
    if (s->cfg.disk_reserve_bytes <= 0) unlink(s->reserve_path); /* one left by a run with */
    if (!s->cfg.no_http) svc__clean_uploads(s); /* first: it frees space */
    if (!(st = svc__db_get(s, e))) {
        rc = e ? e->code : DC_EIO;
        goto out;
    }
    if ((rc = recover_or_defer(s, st, e)) < 0) goto out;
    svc__space_back(s, st);
    svc__db_put(s, st);
    st = NULL;
    {
        svc_disk d;
        svc_disk_status(s, &d);
        if (d.full)
            fprintf(stderr, "deepclust: disk full: %lld bytes free beside %s; writes are refused "
                    "until space is freed (DELETE datasets, jobs or models)\n",
                    (long long)d.free_bytes, s->db_path);
    }
    if ((rc = svc__workers_start(s, e)) < 0) goto out;
    *out = s;
    s = NULL;
    rc = 0;
out:
    if (st) svc__db_put(s, st);
    svc_free(s);
    return rc;
}

void svc_shutdown(svc *s)
{
    if (s) svc__workers_stop(s);
}

void svc_free(svc *s)
{
    if (!s) return;
    svc_shutdown(s);
    for (int i = 0; i < s->ncache; i++) {
        cluster_model_free(s->cache[i]->m);
        pthread_mutex_destroy(&s->cache[i]->mu);
        free(s->cache[i]);
    }
    free(s->cache);
    for (int i = 0; i < s->nall; i++) store_close(s->all[i]);
    free(s->all);
    free(s->pool);
    free(s->slots);
    pthread_mutex_destroy(&s->cache_mu);
    pthread_mutex_destroy(&s->reserve_mu);
    free(s->reserve_path);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    free(s->db_path);
    free(s->file_base);
    free(s);
}

/* ---- model cache --------------------------------------------------------------------- */

static void model_destroy(svc_model *m)
{
    cluster_model_free(m->m);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* Under cache_mu: the cached entry for id, referenced, or NULL. */
static svc_model *cache_find(svc *s, const char *id)
{
    for (int i = 0; i < s->ncache; i++)
        if (strcmp(s->cache[i]->id, id) == 0) {
            s->cache[i]->refs++;
            s->cache[i]->used = ++s->clock;
            return s->cache[i];
        }
    return NULL;
}

static int model_load(db_conn *db, const char *id, cluster_model **out, dc_err *e)
{
    db_stmt *st = NULL;
    int rc;
    if (db_prepare(db, "SELECT weights FROM models WHERE id = ?", &st) !=
        DB_OK)
        return svc__sql_err(db, "load model", e);
    db_bind_text(st, 1, id);
    rc = db_step(st);
    if (rc == DB_ROW)
        rc = cluster_model_load(out, db_column_blob(st, 0),
                                (size_t)db_column_bytes(st, 0), e);
    else if (rc == DB_DONE)
        rc = dc_err_set(e, DC_ENOTFOUND, "no model %s", id);
    else
        rc = svc__sql_err(db, "load model", e);
    db_finalize(st);
    return rc;
}

int svc__model_acquire(svc *s, db_conn *db, const char *id, svc_model **out, dc_err *e)
{
    svc_model *m;
    cluster_model *cm = NULL;
    int rc;

    *out = NULL;
    pthread_mutex_lock(&s->cache_mu);
    m = cache_find(s, id);
    pthread_mutex_unlock(&s->cache_mu);
    if (m && s->pg) { /* another node may have deleted it: one indexed lookup */
        db_stmt *st = NULL;
        int gone = 0;
        if (db_prepare(db, "SELECT 1 FROM models WHERE id = ?", &st) == DB_OK) {
            db_bind_text(st, 1, id);
            gone = db_step(st) == DB_DONE;
        }
        db_finalize(st);
        if (gone) {
            svc__model_release(s, m);
            svc__model_evict(s, id);
            return dc_err_set(e, DC_ENOTFOUND, "no model %s", id);
        }
    }
    if (m) {
        *out = m;
        return 0;
    }
    if ((rc = model_load(db, id, &cm, e)) < 0) return rc;
    if (!(m = calloc(1, sizeof *m))) {
        cluster_model_free(cm);
        return dc_err_set(e, DC_ENOMEM, "out of memory");
    }
    snprintf(m->id, sizeof m->id, "%s", id);
    m->m = cm;
    pthread_mutex_init(&m->mu, NULL);
    m->refs = 1;
    pthread_mutex_lock(&s->cache_mu);
    svc_model *other = cache_find(s, id); /* loaded meanwhile by another thread */
    if (other) {
        pthread_mutex_unlock(&s->cache_mu);
        model_destroy(m);
        *out = other;
        return 0;
    }
    m->used = ++s->clock;
    if (s->ncache == s->cfg.model_cache) { /* evict the least recently used idle one */
        int victim = -1;
        for (int i = 0; i < s->ncache; i++)
            if (victim < 0 || s->cache[i]->used < s->cache[victim]->used) victim = i;
        if (victim >= 0) {
            svc_model *v = s->cache[victim];
            s->cache[victim] = s->cache[--s->ncache];
            v->cached = 0;
            if (v->refs == 0) model_destroy(v); /* else the last release frees it */
        }
    }
    if (s->ncache == s->capcache) {
        int cap = s->capcache ? 2 * s->capcache : 8;
        svc_model **c = realloc(s->cache, sizeof *c * (size_t)cap);
        if (c) s->cache = c, s->capcache = cap;
    }
    if (s->ncache < s->capcache) {
        m->cached = 1;
        s->cache[s->ncache++] = m;
    }
    pthread_mutex_unlock(&s->cache_mu);
    *out = m;
    return 0;
}

void svc__model_release(svc *s, svc_model *m)
{
    if (!m) return;
    pthread_mutex_lock(&s->cache_mu);
    int dead = --m->refs == 0 && !m->cached;
    pthread_mutex_unlock(&s->cache_mu);
    if (dead) model_destroy(m);
}

void svc__model_evict(svc *s, const char *id)
{
    svc_model *dead = NULL;
    pthread_mutex_lock(&s->cache_mu);
    for (int i = 0; i < s->ncache; i++)
        if (strcmp(s->cache[i]->id, id) == 0) {
            svc_model *v = s->cache[i];
            s->cache[i] = s->cache[--s->ncache];
            v->cached = 0;
            if (v->refs == 0) dead = v; /* else the last release frees it */
            break;
        }
    pthread_mutex_unlock(&s->cache_mu);
    if (dead) model_destroy(dead);
}

/* ---- models ------------------------------------------------------------------------- */

/* DELETE of one model row, in its own transaction. */
static int model_delete_txn(store *db, const char *id, dc_err *e)
{
    db_conn *h = store_db(db);
    db_stmt *st = NULL;
    int rc;
    if ((rc = store_begin(db, e)) < 0) return rc;
    if (db_prepare(h, "DELETE FROM models WHERE id = ?", &st) != DB_OK ||
        (db_bind_text(st, 1, id), db_step(st) != DB_DONE)) {
        rc = svc__sql_err(h, "delete model", e);
        goto out;
    }
    if (db_changes(h) == 0) {
        rc = dc_err_set(e, DC_ENOTFOUND, "no model %s", id);
        goto out;
    }
    rc = store_commit(db, e);
out:
    db_finalize(st);
    if (rc < 0) store_rollback(db);
    return rc;
}

int svc_model_delete(svc *s, const char *id, dc_err *e)
{
    store *db = svc__db_get(s, e);
    int rc;
    if (!db) return e ? e->code : DC_EIO;
    rc = model_delete_txn(db, id, e);
    if (rc == DC_ENOSPC && svc__make_room(s, db)) rc = model_delete_txn(db, id, e);
    if (rc == 0) {
        svc__model_evict(s, id);
        svc__space_back(s, db);
    }
    svc__db_put(s, db);
    return rc;
}

int svc_model_get(svc *s, const char *id, svc_model_info *out, dc_err *e)
{
    db_stmt *st = NULL;
    store *db = svc__db_get(s, e);
    int rc;

    memset(out, 0, sizeof *out);
    if (!db) return e ? e->code : DC_EIO;
    rc = svc__row_by_id(store_db(db),
                        "SELECT id, job_id, method, n_clusters, d, arch, size_bytes, "
                        "created_at, scale_mode, scale, scale_shift, scale_mult, range_min, "
                        "range_max FROM models WHERE id = ?", id, "model", "get model", &st, e);
    if (rc == 0) {
        svc__col_text(st, 0, out->id, sizeof out->id);
        svc__col_text(st, 1, out->job, sizeof out->job);
        svc__col_text(st, 2, out->method, sizeof out->method);
        out->n_clusters = db_column_int(st, 3);
        out->d = db_column_int(st, 4);
        out->arch = strdup(db_column_text(st, 5) ? (const char *)db_column_text(st, 5)
                                                       : "");
        out->size_bytes = db_column_int64(st, 6);
        svc__col_text(st, 7, out->created_at, sizeof out->created_at);
        svc__preprocess_row(st, 8, &out->pre);
        rc = out->arch ? 0 : dc_err_set(e, DC_ENOMEM, "out of memory");
    }
    db_finalize(st);
    svc__db_put(s, db);
    return rc;
}

void svc_prediction_free(svc_prediction *p)
{
    if (!p) return;
    free(p->labels);
    free(p->q);
    free(p->z);
    memset(p, 0, sizeof *p);
}

/* The model's labels, q (and z) of x (n rows) into *out. */
static int predict_rows(svc_model *m, const float *x, int64_t n, int want_z,
                        svc_prediction *out, dc_err *e)
{
    int k = cluster_model_k(m->m), emb = cluster_model_embed(m->m), rc;
    size_t qb, lb, zb;

    out->n = n, out->k = k, out->embed = emb;
    if (dc_mul3_size(n, k, sizeof(float), &qb) < 0 || dc_mul_size(n, sizeof(int32_t), &lb) < 0 ||
        dc_mul3_size(n, emb, sizeof(float), &zb) < 0)
        return dc_err_set(e, DC_ETOOLARGE, "%lld samples x %d clusters do not fit in memory",
                          (long long)n, k);
    out->q = malloc(qb);
    out->labels = malloc(lb);
    out->z = want_z ? malloc(zb) : NULL;
    if (!out->q || !out->labels || (want_z && !out->z))
        return dc_err_set(e, DC_ENOMEM, "out of memory for %lld samples", (long long)n);
    pthread_mutex_lock(&m->mu);
    rc = cluster_predict(m->m, x, n, out->q, out->labels, out->z, e);
    pthread_mutex_unlock(&m->mu);
    if (rc == DC_EFORMAT) rc = DC_EINVAL; /* non-finite input: a bad value, not a bad format */
    return rc;
}

int svc_model_predict(svc *s, const char *id, const float *x, int64_t n, int d, int want_z,
                      svc_prediction *out, dc_err *e)
{
    svc_model *m = NULL;
    store *db = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    /* A cached model needs no connection. */
    pthread_mutex_lock(&s->cache_mu);
    m = cache_find(s, id);
    pthread_mutex_unlock(&s->cache_mu);
    if (!m) {
        if (!(db = svc__db_get(s, e))) return e ? e->code : DC_EIO;
        rc = svc__model_acquire(s, store_db(db), id, &m, e);
        svc__db_put(s, db);
        if (rc < 0) return rc;
    }
    if (d != cluster_model_dim(m->m)) {
        rc = dc_err_set(e, DC_EINVAL, "model %s takes %d features per sample, got %d", id,
                        cluster_model_dim(m->m), d);
        goto out;
    }
    if (n < 1) {
        rc = dc_err_set(e, DC_EINVAL, "no samples");
        goto out;
    }
    rc = predict_rows(m, x, n, want_z, out, e);
out:
    if (rc < 0) svc_prediction_free(out);
    svc__model_release(s, m);
    return rc;
}

/* ---- metrics ------------------------------------------------------------------------- */

int svc_metrics_text(svc *s, FILE *f)
{
    static const char *const statuses[] = {"queued", "running", "succeeded", "failed",
                                           "cancelled"};
    long long count[5] = {0};
    db_stmt *st = NULL;
    dc_err e = {0};
    store *db = svc__db_get(s, &e);
    double rate = 0;
    int busy = 0, ncache;

    if (db && db_prepare(store_db(db), "SELECT status, count(*) FROM jobs GROUP BY status", &st) == DB_OK) {
        while (db_step(st) == DB_ROW)
            for (int i = 0; i < 5; i++)
                if (strcmp((const char *)db_column_text(st, 0), statuses[i]) == 0)
                    count[i] = db_column_int64(st, 1);
    }
    db_finalize(st);
    svc__db_put(s, db);
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nslots; i++)
        if (s->slots[i].job_id[0]) busy++, rate += s->slots[i].samples_per_s;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&s->cache_mu);
    ncache = s->ncache;
    pthread_mutex_unlock(&s->cache_mu);
    fputs("# HELP deepclust_jobs Jobs in the database, by status.\n"
          "# TYPE deepclust_jobs gauge\n", f);
    for (int i = 0; i < 5; i++)
        fprintf(f, "deepclust_jobs{status=\"%s\"} %lld\n", statuses[i], count[i]);
    fprintf(f, "# HELP deepclust_queue_depth Jobs waiting for a worker.\n"
               "# TYPE deepclust_queue_depth gauge\n"
               "deepclust_queue_depth %lld\n"
               "# HELP deepclust_workers_busy Workers training a job now.\n"
               "# TYPE deepclust_workers_busy gauge\n"
               "deepclust_workers_busy %d\n"
               "# HELP deepclust_blas_threads OpenBLAS threads per worker.\n"
               "# TYPE deepclust_blas_threads gauge\n"
               "deepclust_blas_threads %d\n"
               "# HELP deepclust_training_samples_per_second Training throughput of the "
               "running jobs (samples through the network per second, summed).\n"
               "# TYPE deepclust_training_samples_per_second gauge\n"
               "deepclust_training_samples_per_second %.1f\n"
               "# HELP deepclust_training_samples_total Training samples processed since "
               "start-up.\n"
               "# TYPE deepclust_training_samples_total counter\n"
               "deepclust_training_samples_total %lld\n"
               "# HELP deepclust_models_cached Models loaded in the predict cache.\n"
               "# TYPE deepclust_models_cached gauge\n"
               "deepclust_models_cached %d\n",
            count[0], busy, s->blas_threads, rate, (long long)atomic_load(&s->samples_total),
            ncache);
    fputs("# HELP deepclust_limit_refusals_total Requests refused by an operator limit "
          "(deepclust serve --max-*), by limit.\n"
          "# TYPE deepclust_limit_refusals_total counter\n", f);
    for (int i = 0; i < SVC_LIMIT_COUNT; i++)
        fprintf(f, "deepclust_limit_refusals_total{limit=\"%s\"} %lld\n",
                svc_limit_name((svc_limit)i), (long long)atomic_load(&s->limit_hits[i]));
    svc_disk disk;
    svc_disk_status(s, &disk);
    fprintf(f, "# HELP deepclust_disk_free_bytes Free bytes on the database's filesystem.\n"
               "# TYPE deepclust_disk_free_bytes gauge\n"
               "deepclust_disk_free_bytes %lld\n"
               "# HELP deepclust_disk_full 1 when under 1 MiB is free (new data is refused).\n"
               "# TYPE deepclust_disk_full gauge\n"
               "deepclust_disk_full %d\n"
               "# HELP deepclust_disk_reserve_bytes Bytes held in the reserve file for "
               "deletes on a full disk.\n"
               "# TYPE deepclust_disk_reserve_bytes gauge\n"
               "deepclust_disk_reserve_bytes %lld\n",
            (long long)disk.free_bytes, disk.full, (long long)disk.reserve_bytes);
    return 0;
}
