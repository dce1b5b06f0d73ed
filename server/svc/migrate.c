/* migrate: see migrate.h. */
#include "migrate.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>

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

int migrate_current(sqlite3 *db, int *version, dc_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        rc = dc_err_set(e, DC_EIO, "reading schema version: %s", sqlite3_errmsg(db));
        goto out;
    }
    *version = sqlite3_column_int(st, 0);
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

/* Runs one migration (version v) in its own write transaction. */
static int apply_one(sqlite3 *db, const struct migration *m, int v, dc_err *e)
{
    char *errmsg = NULL, pragma[64];
    int cur = 0, began = 0, rc;

    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &errmsg) != SQLITE_OK) {
        rc = dc_err_set(e, DC_EIO, "migration %s: cannot begin: %s", m->name,
                        errmsg ? errmsg : sqlite3_errmsg(db));
        goto out;
    }
    began = 1;
    rc = migrate_current(db, &cur, e); /* another process may have got here first */
    if (rc < 0) goto out;
    if (cur < v) {
        if (cur != v - 1) {
            rc = dc_err_set(e, DC_EFORMAT, "migration %s: database is at version %d, "
                            "expected %d", m->name, cur, v - 1);
            goto out;
        }
        if (sqlite3_exec(db, m->sql, NULL, NULL, &errmsg) != SQLITE_OK) {
            rc = dc_err_set(e, DC_EFORMAT, "migration %s failed: %s", m->name,
                            errmsg ? errmsg : sqlite3_errmsg(db));
            goto out;
        }
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v);
        if (sqlite3_exec(db, pragma, NULL, NULL, &errmsg) != SQLITE_OK) {
            rc = dc_err_set(e, DC_EIO, "migration %s: setting user_version: %s", m->name,
                            errmsg ? errmsg : sqlite3_errmsg(db));
            goto out;
        }
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, &errmsg) != SQLITE_OK) {
        rc = dc_err_set(e, DC_EIO, "migration %s: commit failed: %s", m->name,
                        errmsg ? errmsg : sqlite3_errmsg(db));
        goto out;
    }
    began = 0;
    rc = 0;
out:
    sqlite3_free(errmsg);
    if (began) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int migrate_apply(sqlite3 *db, const struct migration *list, int *version, dc_err *e)
{
    int latest, cur = 0, rc;

    latest = migrate_latest(list, e);
    if (latest < 0) return latest;
    rc = migrate_current(db, &cur, e);
    if (rc < 0) return rc;
    if (cur > latest)
        return dc_err_set(e, DC_EFORMAT, "database schema version %d is newer than this "
                          "binary knows (version %d): upgrade deepclust", cur, latest);
    for (int v = cur + 1; v <= latest; v++) {
        rc = apply_one(db, &list[v - 1], v, e);
        if (rc < 0) return rc;
    }
    rc = migrate_current(db, &cur, e);
    if (rc < 0) return rc;
    if (version) *version = cur;
    return 0;
}
