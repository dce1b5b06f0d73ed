/* db: one SQL connection, SQLite or PostgreSQL, behind one small interface shaped like
 * SQLite's own (prepare, bind, step, column, finalize). The service layer writes its
 * queries once, in the SQL both backends accept, and never includes <sqlite3.h> or
 * <libpq-fe.h>: only db_sqlite.c and db_pg.c do.
 *
 * The dialect the queries keep to:
 *   - parameters are `?` or `?N` (1-based); the PostgreSQL backend rewrites them to $N;
 *   - the time now is dc_now() (UTC ISO-8601 text with milliseconds, the format every
 *     *_at column holds), dc_later(s) the same s seconds later (leases; the database
 *     server's clock), and dc_epoch(text) turns such a text into seconds (REAL): all
 *     are defined per backend (C functions on SQLite, SQL functions on PostgreSQL);
 *   - upserts are INSERT ... ON CONFLICT (...) DO UPDATE, never INSERT OR REPLACE;
 *   - tie-breaks may use `rowid`: PostgreSQL tables that need one have a column of that
 *     name (an identity), see migrations/postgresql/;
 *   - comparisons are not selected as values (PostgreSQL gives booleans): use CASE.
 *
 * A connection belongs to one thread at a time. Errors: functions return 0 (or DB_ROW /
 * DB_DONE from db_step) and DB_ERROR (-1) on failure, with the backend's message in
 * db_errmsg() and its kind in db_errcode().
 *
 *   db_stmt *st = NULL;
 *   if (db_prepare(h, "SELECT name FROM datasets WHERE id = ?", &st) == 0) {
 *       db_bind_text(st, 1, id);
 *       while (db_step(st) == DB_ROW) puts(db_column_text(st, 0));
 *   }
 *   db_finalize(st);
 */
#ifndef DC_DB_H
#define DC_DB_H

#include <stdint.h>

#include "dc_err.h"

typedef struct db_conn db_conn;
typedef struct db_stmt db_stmt;

enum { DB_OK = 0, DB_ERROR = -1, DB_ROW = 100, DB_DONE = 101 };
typedef enum { DB_SQLITE, DB_PG } db_kind;

/* Opens a connection. target: a file path or "sqlite:PATH" (SQLite; the file is created
 * 0600 when missing), or a "postgresql://" / "postgres://" URL. DC_EINVAL for a URL of
 * another scheme, DC_EIO (DC_ENOSPC) when the backend refuses; e says why. */
int db_open(db_conn **out, const char *target, dc_err *e);
void db_close(db_conn *h); /* NULL is a no-op; finalize statements first */

/* 1 when target names PostgreSQL (a postgresql:// or postgres:// URL). */
int db_target_is_pg(const char *target);
db_kind db_kind_of(const db_conn *h);
/* The SQLite path ("" for PostgreSQL): what the disk-space and vacuum code works on. */
const char *db_file(const db_conn *h);
/* The raw backend handle (sqlite3 * or PGconn *) for the backend-specific code in
 * store.c; nobody else. */
void *db_raw(db_conn *h);

int db_prepare(db_conn *h, const char *sql, db_stmt **out);
void db_finalize(db_stmt *st); /* NULL is a no-op */
/* Back to before the first step; bindings are kept. */
void db_reset(db_stmt *st);

/* Parameters are 1-based. Text is copied; a NULL s binds NULL. A blob is NOT copied:
 * it must stay alive until the statement is stepped to its end or reset. */
int db_bind_text(db_stmt *st, int i, const char *s);
int db_bind_int(db_stmt *st, int i, int v);
int db_bind_int64(db_stmt *st, int i, int64_t v);
int db_bind_double(db_stmt *st, int i, double v);
int db_bind_blob(db_stmt *st, int i, const void *p, int64_t n);
int db_bind_null(db_stmt *st, int i);

/* DB_ROW (a row is ready), DB_DONE, or DB_ERROR. */
int db_step(db_stmt *st);

/* Columns of the current row, 0-based. Text: NULL for SQL NULL; the pointer lives until
 * the next step, reset or finalize. Numbers: 0 for NULL. */
int db_column_count(db_stmt *st);
int db_column_is_null(db_stmt *st, int i);
int db_column_int(db_stmt *st, int i);
int64_t db_column_int64(db_stmt *st, int i);
double db_column_double(db_stmt *st, int i);
const char *db_column_text(db_stmt *st, int i);
const void *db_column_blob(db_stmt *st, int i);
int64_t db_column_bytes(db_stmt *st, int i);
const char *db_column_name(db_stmt *st, int i);

/* Reads bytes [off, off + len) of the BLOB column col of the row of table whose TEXT
 * column key equals val, into buf, without loading the whole value (SQLite: incremental
 * blob I/O; PostgreSQL: substr of an uncompressed value). table, col and key are the
 * caller's constants, never input. 0, DC_ENOTFOUND (no row, NULL, or the range is past
 * the end), DC_EIO. */
int db_read_part(db_conn *h, const char *table, const char *col, const char *key,
                 const char *val, int64_t off, void *buf, int64_t len, dc_err *e);

/* Runs sql (one or more statements, no parameters, rows ignored). */
int db_exec(db_conn *h, const char *sql);
/* Rows changed by the last INSERT, UPDATE or DELETE on h. */
int64_t db_changes(db_conn *h);
/* 1 inside an explicit transaction. */
int db_in_tx(db_conn *h);

/* Waits up to timeout_s for a notification on a channel h LISTENs to (run "LISTEN name"
 * with db_exec first): 1 one came (all pending are consumed), 0 none, DB_ERROR. SQLite
 * has none (nor h NULL): it sleeps timeout_s and returns 0. */
int db_wait_notify(db_conn *h, double timeout_s);

const char *db_errmsg(db_conn *h);
/* What the last failure was: DC_ENOSPC (disk or quota full), DC_ECONFLICT (a unique or
 * foreign-key constraint, a serialization failure), DC_EIO otherwise. */
int db_errcode(db_conn *h);
/* 1 when the last failure was a foreign-key violation. */
int db_err_is_fk(db_conn *h);

#endif
