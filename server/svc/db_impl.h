/* db_impl: what a db backend (db_sqlite.c, db_pg.c) provides to db.c. Private to the
 * db files. A backend's connection and statement structs start with struct db_conn and
 * struct db_stmt, so db.c can dispatch through ops. */
#ifndef DC_DB_IMPL_H
#define DC_DB_IMPL_H

#include "db.h"

struct db_ops {
    void (*close)(db_conn *h);
    void *(*raw)(db_conn *h);
    int (*prepare)(db_conn *h, const char *sql, db_stmt **out);
    void (*finalize)(db_stmt *st);
    void (*reset)(db_stmt *st);
    int (*bind_text)(db_stmt *st, int i, const char *s);
    int (*bind_int64)(db_stmt *st, int i, int64_t v);
    int (*bind_double)(db_stmt *st, int i, double v);
    int (*bind_blob)(db_stmt *st, int i, const void *p, int64_t n);
    int (*bind_null)(db_stmt *st, int i);
    int (*step)(db_stmt *st);
    int (*column_count)(db_stmt *st);
    int (*column_is_null)(db_stmt *st, int i);
    int64_t (*column_int64)(db_stmt *st, int i);
    double (*column_double)(db_stmt *st, int i);
    const char *(*column_text)(db_stmt *st, int i);
    const void *(*column_blob)(db_stmt *st, int i);
    int64_t (*column_bytes)(db_stmt *st, int i);
    const char *(*column_name)(db_stmt *st, int i);
    int (*exec)(db_conn *h, const char *sql);
    int64_t (*changes)(db_conn *h);
    int (*in_tx)(db_conn *h);
    const char *(*errmsg)(db_conn *h);
    int (*errcode)(db_conn *h);
    int (*err_is_fk)(db_conn *h);
};

struct db_conn {
    const struct db_ops *ops;
    db_kind kind;
    char *file; /* SQLite path, "" for PostgreSQL; malloc'd by the backend */
};

struct db_stmt {
    db_conn *h;
};

int db_sqlite_open(db_conn **out, const char *path, dc_err *e);
int db_pg_open(db_conn **out, const char *url, dc_err *e);
int db_pg_wait(db_conn *h, double timeout_s);
int db_sqlite_read_part(db_conn *h, const char *table, const char *col, const char *key,
                        const char *val, int64_t off, void *buf, int64_t len, dc_err *e);

#endif
