/* store: the SQLite database that holds the whole state of a deepclust service
 * (datasets, jobs, per-iteration rows, models, checkpoints; see migrations/).
 *
 * store_open() gives one connection: it opens (or creates) the file, sets WAL mode, a
 * busy timeout and foreign keys, and applies pending migrations. A connection belongs
 * to one thread at a time: each worker thread opens its own, the HTTP daemon its own.
 * Queries go through prepared statements on store_db(); writes go inside
 * store_begin() ... store_commit() (BEGIN IMMEDIATE, so a writer waits for the lock up
 * front instead of failing half-way).
 *
 *   store *s = NULL; dc_err e = {0};
 *   if (store_open(&s, "deepclust.db", &e) < 0) { fprintf(stderr, "%s\n", e.msg); ... }
 *   printf("schema %d\n", store_schema_version(s));
 *   store_close(s);
 *
 * Errors: DC_EIO for SQLite failures (the message carries SQLite's), DC_EFORMAT for a
 * file that is not a deepclust database or whose schema is newer than this binary. */
#ifndef DC_STORE_H
#define DC_STORE_H

#include <sqlite3.h>
#include <stdint.h>

#include "dc_err.h"
#include "migrate.h"

typedef struct store store;

enum { STORE_BUSY_TIMEOUT_MS = 5000 };

/* DC_ENOSPC when SQLite's last error on db was for space (SQLITE_FULL, or an I/O error
 * with errno ENOSPC or EDQUOT), DC_EIO otherwise. */
int store_errcode(sqlite3 *db);

/* Opens path (created if missing, mode 0600: the -wal and -shm files SQLite adds get
 * the same mode) and migrates it with migrations_embedded. *out is NULL on failure;
 * DC_ENOSPC when the disk is too full even to open it (a WAL database needs its -shm
 * file). */
int store_open(store **out, const char *path, dc_err *e);

/* The same with another migration list (NULL-terminated; tests use this). */
int store_open_with(store **out, const char *path, const struct migration *list, dc_err *e);

/* Closes the connection (finalizing nothing for you: finalize your statements first).
 * store_close(NULL) is a no-op. */
void store_close(store *s);

/* The raw connection, owned by s: prepare statements on it, do not close it. */
sqlite3 *store_db(store *s);

/* The schema version (PRAGMA user_version) after migrating. */
int store_schema_version(const store *s);

/* The path the store was opened with (owned by s). */
const char *store_path(const store *s);

/* The newest schema version this binary knows (the number of embedded migrations). */
int store_latest_version(void);

/* Write transactions: BEGIN IMMEDIATE / COMMIT / ROLLBACK (DC_EIO, or DC_ENOSPC on
 * a full disk). store_rollback never fails
 * (it is meant for cleanup paths) and is harmless outside a transaction. */
int store_begin(store *s, dc_err *e);
int store_commit(store *s, dc_err *e);
void store_rollback(store *s);

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
