/* db_sqlite: the SQLite backend of db.h. Opens the file (created 0600 when missing,
 * so the -wal and -shm files SQLite adds get the same mode), with extended result codes,
 * a busy timeout, and the two functions of the shared dialect: dc_now(), dc_epoch(). */
#define _GNU_SOURCE /* timegm */
#include "db_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { BUSY_TIMEOUT_MS = 5000 };

typedef struct {
    struct db_conn base;
    sqlite3 *h;
} sq_db;

typedef struct {
    struct db_stmt base;
    sqlite3_stmt *st;
} sq_stmt;

static sqlite3 *H(db_conn *h) { return ((sq_db *)h)->h; }
static sqlite3_stmt *S(db_stmt *st) { return ((sq_stmt *)st)->st; }

/* dc_now(): UTC now as "YYYY-MM-DDTHH:MM:SS.mmmZ"; dc_later(s): s seconds later. */
static void fn_now(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    struct timespec ts;
    struct tm tm;
    char buf[96];
    clock_gettime(CLOCK_REALTIME, &ts);
    if (argc == 1) {
        double add = sqlite3_value_double(argv[0]);
        int64_t ns = (int64_t)ts.tv_nsec + (int64_t)(add * 1e9);
        ts.tv_sec += (time_t)(ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        if (ts.tv_nsec < 0) ts.tv_nsec += 1000000000, ts.tv_sec--;
    }
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ts.tv_nsec / 1000000));
    sqlite3_result_text(cx, buf, -1, SQLITE_TRANSIENT);
}

/* dc_epoch(t): seconds since 1970 of an ISO-8601 UTC text; NULL for NULL or junk. */
static void fn_epoch(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    const char *t = (const char *)sqlite3_value_text(argv[0]);
    struct tm tm = {0};
    double frac = 0;
    int n = 0;
    (void)argc;
    if (!t || sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6) {
        sqlite3_result_null(cx);
        return;
    }
    if (t[n] == '.') frac = strtod(t + n, NULL);
    tm.tm_year -= 1900, tm.tm_mon -= 1;
    sqlite3_result_double(cx, (double)timegm(&tm) + frac);
}

static void sq_close(db_conn *h)
{
    sq_db *d = (sq_db *)h;
    if (d->h) sqlite3_close_v2(d->h);
    free(h->file);
    free(d);
}

static void *sq_raw(db_conn *h) { return H(h); }

static int sq_prepare(db_conn *h, const char *sql, db_stmt **out)
{
    sq_stmt *s = calloc(1, sizeof *s);
    if (!s) return DB_ERROR;
    if (sqlite3_prepare_v2(H(h), sql, -1, &s->st, NULL) != SQLITE_OK) {
        sqlite3_finalize(s->st);
        free(s);
        return DB_ERROR;
    }
    s->base.h = h;
    *out = &s->base;
    return 0;
}

static void sq_finalize(db_stmt *st)
{
    sqlite3_finalize(S(st));
    free(st);
}

static void sq_reset(db_stmt *st) { sqlite3_reset(S(st)); }
static int ok(int rc) { return rc == SQLITE_OK ? 0 : DB_ERROR; }
static int sq_bind_text(db_stmt *st, int i, const char *s)
{
    return ok(sqlite3_bind_text(S(st), i, s, -1, SQLITE_TRANSIENT));
}
static int sq_bind_int64(db_stmt *st, int i, int64_t v)
{
    return ok(sqlite3_bind_int64(S(st), i, v));
}
static int sq_bind_double(db_stmt *st, int i, double v)
{
    return ok(sqlite3_bind_double(S(st), i, v));
}
static int sq_bind_blob(db_stmt *st, int i, const void *p, int64_t n)
{
    return ok(sqlite3_bind_blob64(S(st), i, p ? p : "", (sqlite3_uint64)n, SQLITE_STATIC));
}
static int sq_bind_null(db_stmt *st, int i) { return ok(sqlite3_bind_null(S(st), i)); }

static int sq_step(db_stmt *st)
{
    int rc = sqlite3_step(S(st));
    return rc == SQLITE_ROW ? DB_ROW : rc == SQLITE_DONE ? DB_DONE : DB_ERROR;
}

static int sq_column_count(db_stmt *st) { return sqlite3_column_count(S(st)); }
static int sq_column_is_null(db_stmt *st, int i)
{
    return sqlite3_column_type(S(st), i) == SQLITE_NULL;
}
static int64_t sq_column_int64(db_stmt *st, int i) { return sqlite3_column_int64(S(st), i); }
static double sq_column_double(db_stmt *st, int i) { return sqlite3_column_double(S(st), i); }
static const char *sq_column_text(db_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(S(st), i);
}
static const void *sq_column_blob(db_stmt *st, int i) { return sqlite3_column_blob(S(st), i); }
static int64_t sq_column_bytes(db_stmt *st, int i) { return sqlite3_column_bytes(S(st), i); }
static const char *sq_column_name(db_stmt *st, int i) { return sqlite3_column_name(S(st), i); }
static int sq_exec(db_conn *h, const char *sql)
{
    return ok(sqlite3_exec(H(h), sql, NULL, NULL, NULL));
}
static int64_t sq_changes(db_conn *h) { return sqlite3_changes(H(h)); }
static int sq_in_tx(db_conn *h) { return !sqlite3_get_autocommit(H(h)); }
static const char *sq_errmsg(db_conn *h) { return sqlite3_errmsg(H(h)); }

static int sq_errcode(db_conn *h)
{
    int code = sqlite3_extended_errcode(H(h)), err = sqlite3_system_errno(H(h));
    if ((code & 0xff) == SQLITE_FULL) return DC_ENOSPC;
#ifdef EDQUOT
    if (err == EDQUOT) err = ENOSPC;
#endif
    if ((code & 0xff) == SQLITE_IOERR && err == ENOSPC) return DC_ENOSPC;
    if ((code & 0xff) == SQLITE_CONSTRAINT || (code & 0xff) == SQLITE_BUSY) return DC_ECONFLICT;
    return DC_EIO;
}

static int sq_err_is_fk(db_conn *h)
{
    return sqlite3_extended_errcode(H(h)) == SQLITE_CONSTRAINT_FOREIGNKEY;
}

int db_sqlite_read_part(db_conn *h, const char *table, const char *col, const char *key,
                        const char *val, int64_t off, void *buf, int64_t len, dc_err *e)
{
    char sql[256];
    sqlite3_stmt *st = NULL;
    sqlite3_blob *b = NULL;
    int64_t rowid = 0;
    int rc = 0, found = 0;

    snprintf(sql, sizeof sql, "SELECT rowid FROM %s WHERE %s = ?", table, key);
    if (sqlite3_prepare_v2(H(h), sql, -1, &st, NULL) != SQLITE_OK)
        return dc_err_set(e, DC_EIO, "%s: %s", table, sqlite3_errmsg(H(h)));
    sqlite3_bind_text(st, 1, val, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) rowid = sqlite3_column_int64(st, 0), found = 1;
    sqlite3_finalize(st);
    if (!found) return dc_err_set(e, DC_ENOTFOUND, "%s: no row %s", table, val);
    /* SQLITE_ERROR for a NULL value: as good as not found */
    if (sqlite3_blob_open(H(h), "main", table, col, rowid, 0, &b) != SQLITE_OK)
        return dc_err_set(e, DC_ENOTFOUND, "%s.%s of %s: %s", table, col, val,
                          sqlite3_errmsg(H(h)));
    if (off + len > sqlite3_blob_bytes(b)) {
        rc = dc_err_set(e, DC_ENOTFOUND, "%s.%s of %s: no bytes %lld..%lld", table, col, val,
                        (long long)off, (long long)(off + len));
    } else {
        for (int64_t done = 0; done < len && rc == 0;) { /* int sizes: 256 MiB at a time */
            int piece = (int)(len - done < (1 << 28) ? len - done : (1 << 28));
            if (sqlite3_blob_read(b, (char *)buf + done, piece, (int)(off + done)) != SQLITE_OK)
                rc = dc_err_set(e, DC_EIO, "%s.%s: %s", table, col, sqlite3_errmsg(H(h)));
            done += piece;
        }
    }
    sqlite3_blob_close(b);
    return rc;
}

static const struct db_ops sq_ops = {
    sq_close,        sq_raw,           sq_prepare,       sq_finalize,     sq_reset,
    sq_bind_text,    sq_bind_int64,    sq_bind_double,   sq_bind_blob,    sq_bind_null,
    sq_step,         sq_column_count,  sq_column_is_null, sq_column_int64, sq_column_double,
    sq_column_text,  sq_column_blob,   sq_column_bytes,  sq_column_name,  sq_exec,
    sq_changes,      sq_in_tx,         sq_errmsg,        sq_errcode,      sq_err_is_fk,
};

/* Creates path 0600 when it does not exist yet. ":memory:" and "file:" URIs are left
 * to SQLite. */
static int create_private(const char *path, dc_err *e)
{
    int fd;
    if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0) return 0;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) return close(fd), 0;
    if (errno == EEXIST) return 0;
    return dc_err_set(e, DC_EIO, "%s: cannot create database: %s", path, strerror(errno));
}

int db_sqlite_open(db_conn **out, const char *path, dc_err *e)
{
    sq_db *d = calloc(1, sizeof *d);
    int rc;

    if (!d || !(d->base.file = strdup(path))) {
        free(d);
        return dc_err_set(e, DC_ENOMEM, "store: out of memory");
    }
    d->base.ops = &sq_ops;
    d->base.kind = DB_SQLITE;
    if ((rc = create_private(path, e)) < 0) goto fail;
    /* NOMUTEX: a connection is used by one thread at a time (see db.h). */
    rc = sqlite3_open_v2(path, &d->h,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = dc_err_set(e, DC_EIO, "%s: cannot open database: %s", path,
                        d->h ? sqlite3_errmsg(d->h) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(d->h, 1);
    sqlite3_busy_timeout(d->h, BUSY_TIMEOUT_MS);
    if (sqlite3_create_function(d->h, "dc_now", 0, SQLITE_UTF8, NULL, fn_now, NULL, NULL) !=
                SQLITE_OK ||
        sqlite3_create_function(d->h, "dc_later", 1, SQLITE_UTF8, NULL, fn_now, NULL, NULL) !=
                SQLITE_OK ||
        sqlite3_create_function(d->h, "dc_epoch", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                fn_epoch, NULL, NULL) != SQLITE_OK) {
        rc = dc_err_set(e, DC_EIO, "%s: %s", path, sqlite3_errmsg(d->h));
        goto fail;
    }
    *out = &d->base;
    return 0;
fail:
    sq_close(&d->base);
    return rc;
}
