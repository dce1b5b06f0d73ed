/* test_store_pg: the store (server/svc/store.h, migrate.h) on PostgreSQL, when
 * DC_TEST_PG_URL is a superuser URL of a running cluster (tests/tools/pg_cluster.sh);
 * skipped (exit 77, said on stdout) without it: test_server_store covers SQLite.
 * Checks: 6 processes' worth of threads opening one fresh database at once all succeed
 * and leave it migrated once, at the newest version (the advisory lock); a second open
 * changes nothing; both backends' migration lists end at the same version; a database
 * newer than the binary is refused with DC_EFORMAT naming both versions, and nothing
 * is changed in it; store_begin serialises writers (a second store_try_begin finds the
 * lock taken); a password in a URL is never shown (store_redact). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "db.h"
#include "migrate.h"
#include "store.h"

enum { NOPEN = 6 };

static char dburl[1024];

static int q_int(db_conn *h, const char *sql)
{
    db_stmt *st = NULL;
    int v = -999;
    if (db_prepare(h, sql, &st) == 0 && db_step(st) == DB_ROW) v = db_column_int(st, 0);
    db_finalize(st);
    return v;
}

static void *opener(void *arg)
{
    int *rc = arg;
    store *s = NULL;
    dc_err e = {0};
    *rc = store_open(&s, dburl, &e);
    if (*rc < 0) fprintf(stderr, "concurrent open: %s\n", e.msg);
    store_close(s);
    return NULL;
}

/* url with its database name replaced by name. */
static void with_db(const char *url, const char *name, char *out, size_t cap)
{
    const char *p = strstr(url, "://"), *path = p ? strchr(p + 3, '/') : NULL;
    size_t n = path ? (size_t)(path - url) : strlen(url);
    snprintf(out, cap, "%.*s/%s", (int)n, url, name);
}

int main(void)
{
    const char *url = getenv("DC_TEST_PG_URL");
    int latest = migrate_latest(migrations_postgresql, NULL), rcs[NOPEN];
    char name[64], sql[160], shown[256];
    pthread_t t[NOPEN];
    db_conn *admin = NULL;
    store *s = NULL, *s2 = NULL;
    dc_err e = {0};

    store_redact("postgresql://dc:s3cret@host:5432/db", shown, sizeof shown);
    CHECK_MSG(strcmp(shown, "postgresql://dc:***@host:5432/db") == 0, "redacted: %s", shown);
    store_redact("postgresql://dc@host/db", shown, sizeof shown);
    CHECK(strcmp(shown, "postgresql://dc@host/db") == 0);
    CHECK_EQ_INT(latest, migrate_latest(migrations_sqlite, NULL));
    CHECK(latest >= 5);
    if (!url || !*url) {
        printf("postgresql: SKIPPED (set DC_TEST_PG_URL to a superuser URL, e.g. from "
               "tests/tools/pg_cluster.sh start)\n");
        return check_fail_ ? CHECK_DONE() : 77;
    }
    CHECK_EQ_INT(db_open(&admin, url, &e), 0);
    if (!admin) return fprintf(stderr, "%s\n", e.msg), 1;
    snprintf(name, sizeof name, "dc_test_store_%ld_%ld", (long)getpid(), (long)time(NULL));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    CHECK_EQ_INT(db_exec(admin, sql), 0);
    with_db(url, name, dburl, sizeof dburl);

    /* many openers at once on an empty database: each migration step runs once */
    for (int i = 0; i < NOPEN; i++) pthread_create(&t[i], NULL, opener, &rcs[i]);
    for (int i = 0; i < NOPEN; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < NOPEN; i++) CHECK_EQ_INT(rcs[i], 0);
    CHECK_EQ_INT(store_open(&s, dburl, &e), 0);
    if (s) {
        db_conn *h = store_db(s);
        CHECK_EQ_INT(store_kind(s), DB_PG);
        CHECK_EQ_INT(store_schema_version(s), latest);
        CHECK_EQ_INT(q_int(h, "SELECT count(*) FROM dc_schema"), 1);
        CHECK_EQ_INT(q_int(h, "SELECT version FROM dc_schema"), latest);
        CHECK_EQ_INT(q_int(h, "SELECT count(*) FROM pg_tables WHERE tablename = 'jobs' AND "
                              "schemaname = current_schema()"), 1);
        /* writers are serialised: while one holds store_begin, try_begin gets 0 */
        CHECK_EQ_INT(store_open(&s2, dburl, &e), 0);
        CHECK_EQ_INT(store_begin(s, &e), 0);
        if (s2) CHECK_EQ_INT(store_try_begin(s2, &e), 0);
        store_rollback(s);
        if (s2) {
            CHECK_EQ_INT(store_try_begin(s2, &e), 1);
            store_rollback(s2);
        }
        store_close(s2);
        /* a database newer than the binary: refused, both versions named, not changed */
        snprintf(sql, sizeof sql, "UPDATE dc_schema SET version = %d", latest + 3);
        CHECK_EQ_INT(db_exec(h, sql), 0);
        store_close(s);
        s = NULL;
        e = (dc_err){0};
        CHECK_EQ_INT(store_open(&s, dburl, &e), DC_EFORMAT);
        CHECK(s == NULL);
        snprintf(sql, sizeof sql, "version %d", latest + 3);
        CHECK_MSG(strstr(e.msg, sql) != NULL, "message: %s", e.msg);
        snprintf(sql, sizeof sql, "version %d", latest);
        CHECK_MSG(strstr(e.msg, sql) != NULL, "message: %s", e.msg);
        CHECK_MSG(strstr(e.msg, "newer") != NULL, "message: %s", e.msg);
    }
    store_close(s);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    CHECK_EQ_INT(db_exec(admin, sql), 0);
    db_close(admin);
    printf("postgresql: %s\n", check_fail_ ? "FAILED" : "ok");
    return CHECK_DONE();
}
