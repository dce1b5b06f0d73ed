/* store: the database that holds the whole state of a deepclust service (datasets,
 * jobs, per-iteration rows, models, checkpoints; see migrations/): a SQLite file (the
 * default) or a PostgreSQL database shared by many processes.
 *
 * store_open() gives one connection: on SQLite it opens (or creates) the file, sets WAL
 * mode, a busy timeout and foreign keys; on both it applies pending migrations. A
 * connection belongs to one thread at a time: each worker thread opens its own, the
 * HTTP daemon its own. Queries go through db.h on store_db(); writes go inside
 * store_begin() ... store_commit(), which serialises writers on both backends (SQLite:
 * BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock), so that a
 * read-then-write inside one transaction sees no other writer. The few statements that
 * must not wait for that lock (claiming a job, renewing a lease) are single statements
 * outside it, safe by their own WHERE clauses.
 *
 *   store *s = NULL; dc_err e = {0};
 *   if (store_open(&s, "deepclust.db", &e) < 0) { fprintf(stderr, "%s\n", e.msg); ... }
 *   printf("schema %d\n", store_schema_version(s));
 *   store_close(s);
 *
 * Errors: DC_EIO for database failures (the message carries the backend's), DC_EFORMAT
 * for a database that is not deepclust's or whose schema is newer than this binary. */
#ifndef DC_STORE_H
#define DC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "dc_err.h"
#include "migrate.h"

typedef struct store store;

enum { STORE_BUSY_TIMEOUT_MS = 5000, STORE_PG_WRITE_LOCK = 0x64637772 /* "dcwr" */ };

/* DC_ENOSPC when the last error on h was for space (SQLITE_FULL, an I/O error with
 * errno ENOSPC or EDQUOT, PostgreSQL's disk_full), DC_EIO otherwise. */
int store_errcode(db_conn *h);

/* Opens target (db_open's: a path, sqlite:PATH or a postgresql:// URL; a SQLite file is
 * created if missing, mode 0600: the -wal and -shm files SQLite adds get the same mode)
 * and migrates it with its backend's embedded migrations. *out is NULL on failure;
 * DC_ENOSPC when the disk is too full even to open it (a WAL database needs its -shm
 * file). */
int store_open(store **out, const char *target, dc_err *e);

/* The same with another migration list (NULL-terminated; tests use this). */
int store_open_with(store **out, const char *target, const struct migration *list, dc_err *e);

/* Closes the connection (finalizing nothing for you: finalize your statements first).
 * store_close(NULL) is a no-op. */
void store_close(store *s);

/* The connection, owned by s: prepare statements on it, do not close it. */
db_conn *store_db(store *s);
db_kind store_kind(const store *s);

/* The schema version after migrating. */
int store_schema_version(const store *s);

/* The target the store was opened with (owned by s): a path, or a URL. */
const char *store_path(const store *s);

/* target as it may be shown (logs, errors): a URL's password replaced by "***". */
void store_redact(const char *target, char *buf, size_t cap);

/* The newest schema version this binary knows (the number of embedded migrations). */
int store_latest_version(void);

/* Write transactions: BEGIN IMMEDIATE / COMMIT / ROLLBACK (DC_EIO, or DC_ENOSPC on
 * a full disk). store_rollback never fails
 * (it is meant for cleanup paths) and is harmless outside a transaction. */
int store_begin(store *s, dc_err *e);
int store_commit(store *s, dc_err *e);
/* store_begin without waiting on PostgreSQL: 1 begun, 0 another writer holds the lock
 * (no transaction open), < 0 error. On SQLite the same as store_begin (1 or < 0). */
int store_try_begin(store *s, dc_err *e);
void store_rollback(store *s);

/* The three below are SQLite file maintenance: on PostgreSQL they do nothing and
 * return 0 (the server manages its own files). */

/* Bytes in the file's free pages (PRAGMA freelist_count x page_size), which new data
 * reuses before the file grows. */
int64_t store_free_bytes(store *s);

/* Gives the database's free pages back to the filesystem, step_bytes at a time
 * (PRAGMA incremental_vacuum, then a TRUNCATE checkpoint, so that each step needs only
 * about step_bytes of free space), until about max_bytes are freed or none are left.
 * Live pages at the end of the file are moved, so this costs writes: about 50 ms per
 * MB measured. Works on databases created with auto_vacuum = INCREMENTAL (every
 * database store_open creates); a no-op on older ones. Returns the pages freed (4 KiB
 * pages assumed for the bound). Best effort: stops at the first error. */
int store_vacuum(store *s, int64_t step_bytes, int64_t max_bytes);

/* PRAGMA wal_checkpoint(TRUNCATE) without waiting for other connections (busy
 * timeout 0 for the call): copies the WAL into the database and empties the WAL file
 * when no reader holds an older snapshot. 0, or DC_EIO / DC_ENOSPC when it could not
 * finish (SQLITE_BUSY included). */
int store_checkpoint_truncate(store *s);

/* Runs PRAGMA integrity_check; 0 when SQLite answers "ok", else DC_EFORMAT with the
 * first problem it reports. */
int store_integrity_check(store *s, dc_err *e);

#endif
