/* db: see db.h. Chooses the backend from the target and dispatches to it. */
#include "db_impl.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int db_target_is_pg(const char *target)
{
    return target && (strncmp(target, "postgresql://", 13) == 0 ||
                      strncmp(target, "postgres://", 11) == 0);
}

int db_open(db_conn **out, const char *target, dc_err *e)
{
    *out = NULL;
    if (!target || !*target) return dc_err_set(e, DC_EINVAL, "store: empty database path");
    if (db_target_is_pg(target)) return db_pg_open(out, target, e);
    if (strncmp(target, "sqlite:", 7) == 0) target += 7;
    else if (strstr(target, "://"))
        return dc_err_set(e, DC_EINVAL, "store: %s: unknown scheme (use a file path, "
                          "sqlite:PATH or postgresql://...)", target);
    if (!*target) return dc_err_set(e, DC_EINVAL, "store: empty database path");
    return db_sqlite_open(out, target, e);
}

void db_close(db_conn *h)
{
    if (h) h->ops->close(h);
}

db_kind db_kind_of(const db_conn *h) { return h->kind; }
const char *db_file(const db_conn *h) { return h->file ? h->file : ""; }
void *db_raw(db_conn *h) { return h->ops->raw(h); }

int db_prepare(db_conn *h, const char *sql, db_stmt **out)
{
    *out = NULL;
    return h->ops->prepare(h, sql, out);
}

void db_finalize(db_stmt *st)
{
    if (st) st->h->ops->finalize(st);
}

void db_reset(db_stmt *st) { st->h->ops->reset(st); }
int db_bind_text(db_stmt *st, int i, const char *s)
{
    return s ? st->h->ops->bind_text(st, i, s) : st->h->ops->bind_null(st, i);
}
int db_bind_int(db_stmt *st, int i, int v) { return st->h->ops->bind_int64(st, i, v); }
int db_bind_int64(db_stmt *st, int i, int64_t v) { return st->h->ops->bind_int64(st, i, v); }
int db_bind_double(db_stmt *st, int i, double v) { return st->h->ops->bind_double(st, i, v); }
int db_bind_blob(db_stmt *st, int i, const void *p, int64_t n)
{
    return st->h->ops->bind_blob(st, i, p, n);
}
int db_bind_null(db_stmt *st, int i) { return st->h->ops->bind_null(st, i); }
int db_step(db_stmt *st) { return st->h->ops->step(st); }
int db_column_count(db_stmt *st) { return st->h->ops->column_count(st); }
int db_column_is_null(db_stmt *st, int i) { return st->h->ops->column_is_null(st, i); }
int db_column_int(db_stmt *st, int i) { return (int)st->h->ops->column_int64(st, i); }
int64_t db_column_int64(db_stmt *st, int i) { return st->h->ops->column_int64(st, i); }
double db_column_double(db_stmt *st, int i) { return st->h->ops->column_double(st, i); }
const char *db_column_text(db_stmt *st, int i) { return st->h->ops->column_text(st, i); }
const void *db_column_blob(db_stmt *st, int i) { return st->h->ops->column_blob(st, i); }
int64_t db_column_bytes(db_stmt *st, int i) { return st->h->ops->column_bytes(st, i); }
const char *db_column_name(db_stmt *st, int i) { return st->h->ops->column_name(st, i); }
int db_exec(db_conn *h, const char *sql) { return h->ops->exec(h, sql); }
int64_t db_changes(db_conn *h) { return h->ops->changes(h); }
int db_in_tx(db_conn *h) { return h->ops->in_tx(h); }
const char *db_errmsg(db_conn *h) { return h->ops->errmsg(h); }
int db_errcode(db_conn *h) { return h->ops->errcode(h); }
int db_err_is_fk(db_conn *h) { return h->ops->err_is_fk(h); }

int db_wait_notify(db_conn *h, double timeout_s)
{
    if (h && h->kind == DB_PG) return db_pg_wait(h, timeout_s);
    struct timespec ts = {(time_t)timeout_s, (long)((timeout_s - (time_t)timeout_s) * 1e9)};
    nanosleep(&ts, NULL);
    return 0;
}

int db_read_part(db_conn *h, const char *table, const char *col, const char *key,
                 const char *val, int64_t off, void *buf, int64_t len, dc_err *e)
{
    char sql[256];
    db_stmt *st = NULL;
    int rc;
    if (off < 0 || len < 0) return dc_err_set(e, DC_EINVAL, "read of %lld bytes at %lld",
                                              (long long)len, (long long)off);
    if (h->kind == DB_SQLITE)
        return db_sqlite_read_part(h, table, col, key, val, off, buf, len, e);
    snprintf(sql, sizeof sql, "SELECT substr(%s, CAST(? AS INTEGER), CAST(? AS INTEGER)) "
             "FROM %s WHERE %s = ?", col, table, key);
    if (db_prepare(h, sql, &st) != 0)
        return dc_err_set(e, DC_EIO, "%s.%s: %s", table, col, db_errmsg(h));
    db_bind_int64(st, 1, off + 1);
    db_bind_int64(st, 2, len);
    db_bind_text(st, 3, val);
    rc = db_step(st);
    if (rc == DB_ROW && db_column_bytes(st, 0) == len) {
        if (len) memcpy(buf, db_column_blob(st, 0), (size_t)len);
        rc = 0;
    } else if (rc == DB_ROW || rc == DB_DONE) {
        rc = dc_err_set(e, DC_ENOTFOUND, "%s.%s of %s: no bytes %lld..%lld", table, col, val,
                        (long long)off, (long long)(off + len));
    } else {
        rc = dc_err_set(e, DC_EIO, "%s.%s: %s", table, col, db_errmsg(h));
    }
    db_finalize(st);
    return rc;
}
