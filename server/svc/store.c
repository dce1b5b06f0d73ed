/* store: see store.h. The SQLite file settings (WAL, vacuum, checkpoints, integrity)
 * are here, through db_raw(); everything else goes through db.h. */
#include "store.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store {
    db_conn *h;
    char *path;
    int schema_version;
};

static sqlite3 *SQ(store *s) { return db_raw(s->h); }

/* Runs a statement that returns at most one row and copies its first column as text
 * into buf (empty when no row). */
static int pragma_text(db_conn *h, const char *sql, char *buf, size_t cap, dc_err *e)
{
    db_stmt *st = NULL;
    int rc = db_prepare(h, sql, &st);
    buf[0] = 0;
    if (rc == 0) rc = db_step(st);
    if (rc == DB_ROW) {
        const char *t = db_column_text(st, 0);
        if (t) snprintf(buf, cap, "%s", t);
    } else if (rc != DB_DONE) {
        rc = dc_err_set(e, DC_EIO, "%s: %s", sql, db_errmsg(h));
        goto out;
    }
    rc = 0;
out:
    db_finalize(st);
    return rc;
}

/* SQLite only: WAL, foreign keys, and (new file) incremental auto-vacuum. */
static int sqlite_setup(store *s, int cur, dc_err *e)
{
    char mode[32];
    int rc;
    /* A new database gives freed pages back to the filesystem on request (store_vacuum):
       auto_vacuum can only be chosen before the first table exists. */
    if (cur == 0 && db_exec(s->h, "PRAGMA auto_vacuum = INCREMENTAL") < 0)
        return dc_err_set(e, store_errcode(s->h), "%s: %s", s->path, db_errmsg(s->h));
    rc = pragma_text(s->h, "PRAGMA journal_mode = WAL", mode, sizeof mode, e);
    if (rc < 0) {
        if (store_errcode(s->h) == DC_ENOSPC) rc = e ? (e->code = DC_ENOSPC) : DC_ENOSPC;
        return rc;
    }
    /* "memory" for ":memory:" databases, which cannot use WAL; anything else is odd. */
    if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0)
        return dc_err_set(e, DC_EIO, "%s: cannot switch to WAL mode (journal_mode is %s)",
                          s->path, mode);
    /* NORMAL in WAL mode survives a killed process; journal_size_limit truncates the WAL
       after a checkpoint so one large upload does not leave a 200 MB file behind. */
    if (db_exec(s->h, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; "
                      "PRAGMA journal_size_limit = 67108864;") < 0)
        return dc_err_set(e, DC_EIO, "%s: %s", s->path, db_errmsg(s->h));
    return 0;
}

int store_open_with(store **out, const char *target, const struct migration *list, dc_err *e)
{
    store *s = NULL;
    dc_err me = {0};
    int rc, cur = 0, latest;
    char shown[1024]; /* target without its password: messages end up in logs */

    *out = NULL;
    if (!target || !*target) return dc_err_set(e, DC_EINVAL, "store: empty database path");
    store_redact(target, shown, sizeof shown);
    latest = migrate_latest(list, e);
    if (latest < 0) return latest;

    s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(target))) {
        rc = dc_err_set(e, DC_ENOMEM, "store: out of memory");
        goto out;
    }
    if ((rc = db_open(&s->h, target, e)) < 0) goto out;
    /* Refuse a newer database before changing anything in it. */
    if (migrate_current(s->h, &cur, NULL) < 0) {
        /* opening a WAL database creates its -shm file: that can fail for space */
        rc = store_errcode(s->h) == DC_ENOSPC
                     ? dc_err_set(e, DC_ENOSPC, "%s: disk full: cannot open the database "
                                  "(%s)", shown, db_errmsg(s->h))
                     : dc_err_set(e, DC_EFORMAT, "%s: not a usable database: %s", shown,
                                  db_errmsg(s->h));
        goto out;
    }
    if (cur > latest) {
        rc = dc_err_set(e, DC_EFORMAT, "%s: database schema version %d is newer than this "
                        "binary knows (version %d); use a newer deepclust", shown, cur, latest);
        goto out;
    }
    if (db_kind_of(s->h) == DB_SQLITE && (rc = sqlite_setup(s, cur, e)) < 0) goto out;
    rc = migrate_apply(s->h, list, &s->schema_version, &me);
    if (rc < 0) {
        dc_err_set(e, rc, "%s: %s", shown, me.msg);
        goto out;
    }
    *out = s;
    s = NULL;
    rc = 0;
out:
    store_close(s);
    return rc;
}

int store_open(store **out, const char *target, dc_err *e)
{
    return store_open_with(out, target,
                           migrations_for(db_target_is_pg(target) ? DB_PG : DB_SQLITE), e);
}

void store_close(store *s)
{
    if (!s) return;
    db_close(s->h);
    free(s->path);
    free(s);
}

db_conn *store_db(store *s) { return s->h; }
db_kind store_kind(const store *s) { return db_kind_of(s->h); }
int store_schema_version(const store *s) { return s->schema_version; }
const char *store_path(const store *s) { return s->path; }

void store_redact(const char *target, char *buf, size_t cap)
{
    const char *scheme = strstr(target, "://"), *at, *colon;
    snprintf(buf, cap, "%s", target);
    if (!scheme) return;
    at = strchr(scheme + 3, '@');
    colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
    if (colon) snprintf(buf, cap, "%.*s:***%s", (int)(colon - target), target, at);
}

int store_latest_version(void)
{
    int n = migrate_latest(migrations_sqlite, NULL);
    return n < 0 ? 0 : n;
}

int store_errcode(db_conn *h)
{
    int c = db_errcode(h);
    return c == DC_ENOSPC ? DC_ENOSPC : DC_EIO;
}

static int exec_simple(store *s, const char *sql, dc_err *e)
{
    if (db_exec(s->h, sql) < 0) {
        int rc = store_errcode(s->h);
        if (rc == DC_ENOSPC)
            return dc_err_set(e, rc, "disk full: %s (%s); free space by deleting datasets, "
                              "jobs or models", sql, db_errmsg(s->h));
        return dc_err_set(e, rc, "%s: %s", sql, db_errmsg(s->h));
    }
    return 0;
}

int store_begin(store *s, dc_err *e)
{
    char sql[80];
    if (db_kind_of(s->h) != DB_PG) return exec_simple(s, "BEGIN IMMEDIATE", e);
    snprintf(sql, sizeof sql, "BEGIN; SELECT pg_advisory_xact_lock(%d)", STORE_PG_WRITE_LOCK);
    int rc = exec_simple(s, sql, e);
    if (rc < 0) store_rollback(s);
    return rc;
}

int store_try_begin(store *s, dc_err *e)
{
    char sql[96];
    db_stmt *st = NULL;
    int got = 0, rc;
    if (db_kind_of(s->h) != DB_PG) return store_begin(s, e) < 0 ? (e ? e->code : DC_EIO) : 1;
    if ((rc = exec_simple(s, "BEGIN", e)) < 0) return rc;
    snprintf(sql, sizeof sql, "SELECT pg_try_advisory_xact_lock(%d)", STORE_PG_WRITE_LOCK);
    if (db_prepare(s->h, sql, &st) == 0 && db_step(st) == DB_ROW) got = db_column_int(st, 0);
    else rc = dc_err_set(e, DC_EIO, "%s: %s", sql, db_errmsg(s->h));
    db_finalize(st);
    if (rc < 0 || !got) store_rollback(s);
    return rc < 0 ? rc : got;
}

int store_commit(store *s, dc_err *e) { return exec_simple(s, "COMMIT", e); }

void store_rollback(store *s)
{
    if (s && db_in_tx(s->h)) db_exec(s->h, "ROLLBACK");
}

int store_integrity_check(store *s, dc_err *e)
{
    char res[256];
    if (db_kind_of(s->h) != DB_SQLITE) return 0;
    int rc = pragma_text(s->h, "PRAGMA integrity_check", res, sizeof res, e);
    if (rc < 0) return rc;
    if (strcmp(res, "ok") != 0)
        return dc_err_set(e, DC_EFORMAT, "%s: integrity check failed: %s", s->path, res);
    return 0;
}

static int64_t freelist(store *s)
{
    db_stmt *st = NULL;
    int64_t n = -1;
    if (db_prepare(s->h, "PRAGMA freelist_count", &st) == 0 && db_step(st) == DB_ROW)
        n = db_column_int64(st, 0);
    db_finalize(st);
    return n;
}

int64_t store_free_bytes(store *s)
{
    db_stmt *st = NULL;
    int64_t size = 0;
    if (db_kind_of(s->h) != DB_SQLITE) return 0;
    if (db_prepare(s->h, "PRAGMA page_size", &st) == 0 && db_step(st) == DB_ROW)
        size = db_column_int64(st, 0);
    db_finalize(st);
    int64_t pages = freelist(s);
    return pages > 0 ? pages * size : 0;
}

int store_vacuum(store *s, int64_t step_bytes, int64_t max_bytes)
{
    int64_t pages = step_bytes / 4096, freed = 0;
    if (db_kind_of(s->h) != DB_SQLITE) return 0;
    if (pages < 16) pages = 16;
    for (int i = 0; i < 100000 && freed * 4096 < max_bytes; i++) {
        char sql[64];
        int64_t before = freelist(s), after;
        if (before <= 0) break;
        snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%lld)", (long long)pages);
        if (db_exec(s->h, sql) < 0) break;
        /* the moved pages sit in the WAL until a checkpoint truncates the file */
        store_checkpoint_truncate(s);
        after = freelist(s);
        if (after < 0 || after >= before) break; /* auto_vacuum off (older database): no-op */
        freed += before - after;
    }
    return freed > INT32_MAX ? INT32_MAX : (int)freed;
}

int store_checkpoint_truncate(store *s)
{
    if (db_kind_of(s->h) != DB_SQLITE) return 0;
    /* no busy wait: a reader holding an old snapshot must not stall the caller for
       STORE_BUSY_TIMEOUT_MS; what cannot be done now is done by a later checkpoint */
    sqlite3_busy_timeout(SQ(s), 0);
    int rc = db_exec(s->h, "PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_busy_timeout(SQ(s), STORE_BUSY_TIMEOUT_MS);
    return rc == 0 ? 0 : store_errcode(s->h);
}
