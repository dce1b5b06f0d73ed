/* store: see store.h. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct store {
    sqlite3 *db;
    char *path;
    int schema_version;
};

/* Runs a statement that returns at most one row and copies its first column as text
 * into buf (empty when no row). */
static int pragma_text(sqlite3 *db, const char *sql, char *buf, size_t cap, dc_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    buf[0] = 0;
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        if (t) snprintf(buf, cap, "%s", (const char *)t);
    } else if (rc != SQLITE_DONE) {
        rc = dc_err_set(e, DC_EIO, "%s: %s", sql, sqlite3_errmsg(db));
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

/* Creates the database file 0600 when it does not exist yet, so that SQLite (which
 * gives the -wal and -shm files the main file's mode) never makes a readable copy of
 * the data. An existing file keeps its mode. ":memory:" and "file:" URIs are left to
 * SQLite. */
static int create_private(const char *path, dc_err *e)
{
    int fd;

    if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0) return 0;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) return close(fd), 0;
    if (errno == EEXIST) return 0;
    return dc_err_set(e, DC_EIO, "%s: cannot create database: %s", path, strerror(errno));
}

int store_open_with(store **out, const char *path, const struct migration *list, dc_err *e)
{
    store *s = NULL;
    dc_err me = {0};
    char mode[32];
    int rc, cur = 0, latest;

    *out = NULL;
    if (!path || !*path) return dc_err_set(e, DC_EINVAL, "store: empty database path");
    latest = migrate_latest(list, e);
    if (latest < 0) return latest;

    s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        rc = dc_err_set(e, DC_ENOMEM, "store: out of memory");
        goto out;
    }
    if ((rc = create_private(path, e)) < 0) goto out;
    /* NOMUTEX: a connection is used by one thread at a time (see store.h). */
    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                         NULL);
    if (rc != SQLITE_OK) {
        rc = dc_err_set(e, DC_EIO, "%s: cannot open database: %s", path,
                        s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);

    /* Refuse a newer database before changing anything in it. */
    if (migrate_current(s->db, &cur, NULL) < 0) {
        /* opening a WAL database creates its -shm file: that can fail for space */
        rc = store_errcode(s->db) == DC_ENOSPC
                     ? dc_err_set(e, DC_ENOSPC, "%s: disk full: cannot open the database "
                                  "(%s)", path, sqlite3_errmsg(s->db))
                     : dc_err_set(e, DC_EFORMAT, "%s: not a usable database: %s", path,
                                  sqlite3_errmsg(s->db));
        goto out;
    }
    if (cur > latest) {
        rc = dc_err_set(e, DC_EFORMAT, "%s: database schema version %d is newer than this "
                        "binary knows (version %d); use a newer deepclust", path, cur, latest);
        goto out;
    }
    /* A new database gives freed pages back to the filesystem on request (store_vacuum):
       auto_vacuum can only be chosen before the first table exists. */
    if (cur == 0 && sqlite3_exec(s->db, "PRAGMA auto_vacuum = INCREMENTAL", NULL, NULL, NULL) !=
                            SQLITE_OK) {
        rc = dc_err_set(e, store_errcode(s->db), "%s: %s", path, sqlite3_errmsg(s->db));
        goto out;
    }
    rc = pragma_text(s->db, "PRAGMA journal_mode = WAL", mode, sizeof mode, e);
    if (rc < 0) {
        if (store_errcode(s->db) == DC_ENOSPC) rc = e ? (e->code = DC_ENOSPC) : DC_ENOSPC;
        goto out;
    }
    /* "memory" for ":memory:" databases, which cannot use WAL; anything else is odd. */
    if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0) {
        rc = dc_err_set(e, DC_EIO, "%s: cannot switch to WAL mode (journal_mode is %s)",
                        path, mode);
        goto out;
    }
    /* NORMAL in WAL mode survives a killed process; journal_size_limit truncates the WAL
       after a checkpoint so one large upload does not leave a 200 MB file behind. */
    if (sqlite3_exec(s->db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; "
                            "PRAGMA journal_size_limit = 67108864;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        rc = dc_err_set(e, DC_EIO, "%s: %s", path, sqlite3_errmsg(s->db));
        goto out;
    }
    rc = migrate_apply(s->db, list, &s->schema_version, &me);
    if (rc < 0) {
        dc_err_set(e, rc, "%s: %s", path, me.msg);
        goto out;
    }
    *out = s;
    s = NULL;
    rc = 0;
out:
    store_close(s);
    return rc;
}

int store_open(store **out, const char *path, dc_err *e)
{
    return store_open_with(out, path, migrations_embedded, e);
}

void store_close(store *s)
{
    if (!s) return;
    if (s->db) sqlite3_close_v2(s->db);
    free(s->path);
    free(s);
}

sqlite3 *store_db(store *s) { return s->db; }
int store_schema_version(const store *s) { return s->schema_version; }
const char *store_path(const store *s) { return s->path; }

int store_latest_version(void)
{
    int n = migrate_latest(migrations_embedded, NULL);
    return n < 0 ? 0 : n;
}

int store_errcode(sqlite3 *db)
{
    int code = sqlite3_extended_errcode(db), err = sqlite3_system_errno(db);
    if ((code & 0xff) == SQLITE_FULL) return DC_ENOSPC;
#ifdef EDQUOT
    if (err == EDQUOT) err = ENOSPC;
#endif
    if ((code & 0xff) == SQLITE_IOERR && err == ENOSPC) return DC_ENOSPC;
    return DC_EIO;
}

static int exec_simple(store *s, const char *sql, dc_err *e)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        int rc = store_errcode(s->db);
        if (rc == DC_ENOSPC)
            return dc_err_set(e, rc, "disk full: %s (%s); free space by deleting datasets, "
                              "jobs or models", sql, sqlite3_errmsg(s->db));
        return dc_err_set(e, rc, "%s: %s", sql, sqlite3_errmsg(s->db));
    }
    return 0;
}

int store_begin(store *s, dc_err *e) { return exec_simple(s, "BEGIN IMMEDIATE", e); }
int store_commit(store *s, dc_err *e) { return exec_simple(s, "COMMIT", e); }

void store_rollback(store *s)
{
    if (s && !sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int store_integrity_check(store *s, dc_err *e)
{
    char res[256];
    int rc = pragma_text(s->db, "PRAGMA integrity_check", res, sizeof res, e);
    if (rc < 0) return rc;
    if (strcmp(res, "ok") != 0)
        return dc_err_set(e, DC_EFORMAT, "%s: integrity check failed: %s", s->path, res);
    return 0;
}

int store_vacuum(store *s, int64_t step_bytes, int64_t max_bytes)
{
    int64_t pages = step_bytes / 4096, freed = 0;
    if (pages < 16) pages = 16;
    for (int i = 0; i < 100000 && freed * 4096 < max_bytes; i++) {
        sqlite3_stmt *st = NULL;
        char sql[64];
        int64_t before = -1, after = -1;
        if (sqlite3_prepare_v2(s->db, "PRAGMA freelist_count", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            before = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        if (before <= 0) break;
        snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%lld)", (long long)pages);
        if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) break;
        /* the moved pages sit in the WAL until a checkpoint truncates the file */
        store_checkpoint_truncate(s);
        st = NULL;
        if (sqlite3_prepare_v2(s->db, "PRAGMA freelist_count", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            after = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        if (after < 0 || after >= before) break; /* auto_vacuum off (older database): no-op */
        freed += before - after;
    }
    return freed > INT32_MAX ? INT32_MAX : (int)freed;
}

int store_checkpoint_truncate(store *s)
{
    /* no busy wait: a reader holding an old snapshot must not stall the caller for
       STORE_BUSY_TIMEOUT_MS; what cannot be done now is done by a later checkpoint */
    sqlite3_busy_timeout(s->db, 0);
    int rc = sqlite3_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
    return rc == SQLITE_OK ? 0 : store_errcode(s->db);
}
