/* migrate: see migrate.h. */
#include "migrate.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>

const struct migration *migrations_for(db_kind kind)
{
    return kind == DB_PG ? migrations_postgresql : migrations_sqlite;
}

int migrate_version_of(const char *name)
{
    long v = 0;
    const char *p = name;
    if (!name || !isdigit((unsigned char)*p)) return -1;
    for (; isdigit((unsigned char)*p); p++) {
        v = v * 10 + (*p - '0');
        if (v > INT_MAX) return -1;
    }
    if ((*p != '_' && *p != '.') || v <= 0) return -1;
    return (int)v;
}

int migrate_latest(const struct migration *list, dc_err *e)
{
    int n = 0;
    for (; list && list[n].name; n++) {
        int v = migrate_version_of(list[n].name);
        if (v < 0)
            return dc_err_set(e, DC_EINVAL, "migration %s: name must start with its number "
                              "(e.g. 0001_init.sql)", list[n].name);
        if (v != n + 1)
            return dc_err_set(e, DC_EINVAL, "migration %s: expected version %d (versions must "
                              "run 1, 2, 3, ... without gaps)", list[n].name, n + 1);
        if (!list[n].sql)
            return dc_err_set(e, DC_EINVAL, "migration %s: no SQL", list[n].name);
    }
    return n;
}

/* One integer from sql (no parameters); *out = 0 when there is no row. */
static int query_int(db_conn *h, const char *sql, int *out)
{
    db_stmt *st = NULL;
    int rc = db_prepare(h, sql, &st);
    *out = 0;
    if (rc == 0) rc = db_step(st);
    if (rc == DB_ROW) *out = db_column_int(st, 0);
    db_finalize(st);
    return rc == DB_ROW || rc == DB_DONE ? 0 : DB_ERROR;
}

int migrate_current(db_conn *h, int *version, dc_err *e)
{
    int rc;
    if (db_kind_of(h) == DB_PG) {
        int exists = 0;
        rc = query_int(h, "SELECT count(*) FROM pg_tables WHERE tablename = 'dc_schema' "
                          "AND schemaname = current_schema()", &exists);
        if (rc == 0 && exists) rc = query_int(h, "SELECT version FROM dc_schema", version);
        else if (rc == 0) *version = 0;
    } else {
        rc = query_int(h, "PRAGMA user_version", version);
    }
    if (rc < 0) return dc_err_set(e, DC_EIO, "reading schema version: %s", db_errmsg(h));
    return 0;
}

/* Runs one migration (version v) in its own write transaction. */
static int apply_one(db_conn *h, const struct migration *m, int v, dc_err *e)
{
    char sql[192];
    int cur = 0, began = 0, pg = db_kind_of(h) == DB_PG, rc;

    if (db_exec(h, pg ? "BEGIN" : "BEGIN IMMEDIATE") < 0) {
        rc = dc_err_set(e, DC_EIO, "migration %s: cannot begin: %s", m->name, db_errmsg(h));
        goto out;
    }
    began = 1;
    rc = migrate_current(h, &cur, e); /* another process may have got here first */
    if (rc < 0) goto out;
    if (cur < v) {
        if (cur != v - 1) {
            rc = dc_err_set(e, DC_EFORMAT, "migration %s: database is at version %d, "
                            "expected %d", m->name, cur, v - 1);
            goto out;
        }
        if (db_exec(h, m->sql) < 0) {
            rc = dc_err_set(e, DC_EFORMAT, "migration %s failed: %s", m->name, db_errmsg(h));
            goto out;
        }
        if (pg)
            snprintf(sql, sizeof sql, "%sUPDATE dc_schema SET version = %d",
                     v == 1 ? "CREATE TABLE dc_schema (version INTEGER NOT NULL); "
                              "INSERT INTO dc_schema VALUES (0); " : "", v);
        else
            snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
        if (db_exec(h, sql) < 0) {
            rc = dc_err_set(e, DC_EIO, "migration %s: setting the version: %s", m->name,
                            db_errmsg(h));
            goto out;
        }
    }
    if (db_exec(h, "COMMIT") < 0) {
        rc = dc_err_set(e, DC_EIO, "migration %s: commit failed: %s", m->name, db_errmsg(h));
        goto out;
    }
    began = 0;
    rc = 0;
out:
    if (began) db_exec(h, "ROLLBACK");
    return rc;
}

static int apply_all(db_conn *h, const struct migration *list, int *version, dc_err *e)
{
    int latest, cur = 0, rc;

    latest = migrate_latest(list, e);
    if (latest < 0) return latest;
    rc = migrate_current(h, &cur, e);
    if (rc < 0) return rc;
    if (cur > latest)
        return dc_err_set(e, DC_EFORMAT, "database schema version %d is newer than this "
                          "binary knows (version %d): upgrade deepclust", cur, latest);
    for (int v = cur + 1; v <= latest; v++) {
        rc = apply_one(h, &list[v - 1], v, e);
        if (rc < 0) return rc;
    }
    rc = migrate_current(h, &cur, e);
    if (rc < 0) return rc;
    if (version) *version = cur;
    return 0;
}

int migrate_apply(db_conn *h, const struct migration *list, int *version, dc_err *e)
{
    char sql[80];
    int rc;
    if (db_kind_of(h) != DB_PG) return apply_all(h, list, version, e);
    snprintf(sql, sizeof sql, "SELECT pg_advisory_lock(%d)", MIGRATE_PG_LOCK);
    if (db_exec(h, sql) < 0)
        return dc_err_set(e, DC_EIO, "migrations: cannot take the lock: %s", db_errmsg(h));
    rc = apply_all(h, list, version, e);
    snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%d)", MIGRATE_PG_LOCK);
    db_exec(h, sql);
    return rc;
}
