/* test_server_store: the SQLite store and its migrations (server/svc/store.h, migrate.h):
 * a fresh file is migrated to the newest schema with WAL and foreign keys on, a second
 * open changes nothing, a newer database is refused with both versions named, a failing
 * migration is rolled back whole, badly numbered migration lists are rejected, and the
 * result passes PRAGMA integrity_check; a new database and its -wal / -shm files are
 * created 0600 even under umask 022. (SQLite only: the PostgreSQL store is tested by
 * test_db and the HTTP suites run against it.) */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "migrate.h"
#include "store.h"

static char dir[256];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

static void rm_db(const char *path)
{
    char p[600];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path), unlink(p);
    snprintf(p, sizeof p, "%s-shm", path), unlink(p);
}

/* First column of the first row of sql as an int (-999 when no row / error). */
static int query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int v = -999;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int table_exists(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) == SQLITE_OK)
        found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

static int set_user_version(const char *path, int v)
{
    sqlite3 *db = NULL;
    char sql[64];
    int rc = sqlite3_open(path, &db);
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static int raw_user_version(const char *path)
{
    sqlite3 *db = NULL;
    int v = -999;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
        v = query_int(db, "PRAGMA user_version");
    sqlite3_close(db);
    return v;
}

static void test_names(void)
{
    CHECK_EQ_INT(migrate_version_of("0001_init.sql"), 1);
    CHECK_EQ_INT(migrate_version_of("0012_jobs.sql"), 12);
    CHECK_EQ_INT(migrate_version_of("7.sql"), 7);
    CHECK_EQ_INT(migrate_version_of("init.sql"), -1);
    CHECK_EQ_INT(migrate_version_of("0000_zero.sql"), -1);
    CHECK_EQ_INT(migrate_version_of("0001init.sql"), -1);

    const struct migration gap[] = {{"0001_a.sql", "SELECT 1;"}, {"0003_c.sql", "SELECT 1;"},
                                    {NULL, NULL}};
    const struct migration bad[] = {{"a.sql", "SELECT 1;"}, {NULL, NULL}};
    const struct migration empty[] = {{NULL, NULL}};
    dc_err e = {0};
    CHECK_EQ_INT(migrate_latest(gap, &e), DC_EINVAL);
    CHECK_MSG(strstr(e.msg, "0003_c.sql") != NULL, "message: %s", e.msg);
    CHECK_EQ_INT(migrate_latest(bad, NULL), DC_EINVAL);
    CHECK_EQ_INT(migrate_latest(empty, NULL), 0);
    /* The embedded list itself is well numbered and not empty. */
    int n = 0;
    while (migrations_sqlite[n].name) n++;
    CHECK(n >= 1);
    CHECK_EQ_INT(migrate_latest(migrations_sqlite, NULL), n);
    CHECK_EQ_INT(store_latest_version(), n);
}

static void test_fresh_and_reopen(void)
{
    const char *path = tmp_path("fresh.db");
    store *s = NULL;
    dc_err e = {0};
    int latest = store_latest_version();

    rm_db(path);
    CHECK_EQ_INT(store_open(&s, path, &e), 0);
    if (!s) {
        fprintf(stderr, "store_open: %s\n", e.msg);
        return;
    }
    sqlite3 *db = (sqlite3 *)db_raw(store_db(s));
    CHECK_EQ_INT(store_schema_version(s), latest);
    CHECK_EQ_INT(query_int(db, "PRAGMA user_version"), latest);
    CHECK_EQ_INT(query_int(db, "PRAGMA foreign_keys"), 1);
    CHECK(strcmp(store_path(s), path) == 0);
    {
        sqlite3_stmt *st = NULL;
        char mode[16] = "";
        if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        CHECK_MSG(strcmp(mode, "wal") == 0, "journal_mode: expected wal, got %s", mode);
    }
    const char *tables[] = {"datasets", "dataset_chunks", "jobs", "iterations", "models",
                            "checkpoints"};
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++)
        CHECK_MSG(table_exists(db, tables[i]), "table %s missing", tables[i]);
    CHECK(!table_exists(db, "no_such_table"));

    /* Foreign keys are enforced: a job on a missing dataset is refused. */
    int rc = sqlite3_exec(db, "INSERT INTO jobs (id, dataset_id, method, n_clusters, spec) "
                          "VALUES ('job_x', 'ds_missing', 'kmeans', 3, '{}')", NULL, NULL, NULL);
    CHECK_EQ_INT(rc, SQLITE_CONSTRAINT_FOREIGNKEY);

    /* A row written now must survive the second open (no migration re-runs). */
    CHECK_EQ_INT(store_begin(s, &e), 0);
    CHECK_EQ_INT(sqlite3_exec(db, "INSERT INTO datasets (id, name, format, n, d, shape) "
                              "VALUES ('ds_1', 'blobs', 'f32', 10, 2, '[2]')", NULL, NULL, NULL),
                 SQLITE_OK);
    CHECK_EQ_INT(store_commit(s, &e), 0);
    /* A rolled-back write leaves nothing. */
    CHECK_EQ_INT(store_begin(s, &e), 0);
    sqlite3_exec(db, "INSERT INTO datasets (id, name, format, n, d, shape) "
                     "VALUES ('ds_2', 'gone', 'f32', 1, 1, '[1]')", NULL, NULL, NULL);
    store_rollback(s);
    CHECK_EQ_INT(query_int(db, "SELECT count(*) FROM datasets"), 1);
    CHECK_EQ_INT(store_integrity_check(s, &e), 0);
    store_close(s);
    s = NULL;

    /* Second open: a no-op. */
    CHECK_EQ_INT(store_open(&s, path, &e), 0);
    if (!s) return;
    CHECK_EQ_INT(store_schema_version(s), latest);
    CHECK_EQ_INT(query_int((sqlite3 *)db_raw(store_db(s)), "SELECT count(*) FROM datasets WHERE id='ds_1'"), 1);
    /* A second connection to the same file at the same time (one per thread). */
    store *s2 = NULL;
    CHECK_EQ_INT(store_open(&s2, path, &e), 0);
    if (s2) CHECK_EQ_INT(query_int((sqlite3 *)db_raw(store_db(s2)), "SELECT count(*) FROM datasets"), 1);
    store_close(s2);
    CHECK_EQ_INT(store_integrity_check(s, &e), 0);
    store_close(s);
    rm_db(path);
}

static void test_newer_refused(void)
{
    const char *path = tmp_path("newer.db");
    store *s = NULL;
    dc_err e = {0};
    int latest = store_latest_version(), newer = latest + 5;
    char want1[32], want2[32];

    rm_db(path);
    CHECK_EQ_INT(store_open(&s, path, &e), 0);
    store_close(s);
    s = NULL;
    CHECK_EQ_INT(set_user_version(path, newer), SQLITE_OK);

    int rc = store_open(&s, path, &e);
    CHECK_EQ_INT(rc, DC_EFORMAT);
    CHECK(s == NULL);
    snprintf(want1, sizeof want1, "version %d", newer);
    snprintf(want2, sizeof want2, "version %d", latest);
    CHECK_MSG(strstr(e.msg, want1) && strstr(e.msg, want2) && strstr(e.msg, "newer"),
              "expected a message naming '%s' and '%s', got: %s", want1, want2, e.msg);
    CHECK_MSG(strstr(e.msg, path) != NULL, "message should name the file: %s", e.msg);
    CHECK_EQ_INT(raw_user_version(path), newer); /* left untouched */
    store_close(s);
    rm_db(path);
}

static void test_failing_migration(void)
{
    const char *path = tmp_path("fail.db");
    const struct migration good[] = {{"0001_a.sql", "CREATE TABLE a (x INTEGER);"},
                                     {NULL, NULL}};
    const struct migration bad[] = {
        {"0001_a.sql", "CREATE TABLE a (x INTEGER);"},
        {"0002_b.sql", "CREATE TABLE b (y INTEGER); INSERT INTO no_such_table VALUES (1);"},
        {NULL, NULL}};
    const struct migration fixed[] = {
        {"0001_a.sql", "CREATE TABLE a (x INTEGER);"},
        {"0002_b.sql", "CREATE TABLE b (y INTEGER);"},
        {NULL, NULL}};
    store *s = NULL;
    dc_err e = {0};

    rm_db(path);
    CHECK_EQ_INT(store_open_with(&s, path, good, &e), 0);
    if (s) CHECK_EQ_INT(store_schema_version(s), 1);
    store_close(s);
    s = NULL;

    CHECK_EQ_INT(store_open_with(&s, path, bad, &e), DC_EFORMAT);
    CHECK(s == NULL);
    CHECK_MSG(strstr(e.msg, "0002_b.sql") && strstr(e.msg, "no_such_table"),
              "expected the migration and SQLite's reason, got: %s", e.msg);
    CHECK_EQ_INT(raw_user_version(path), 1);
    {
        sqlite3 *db = NULL;
        sqlite3_open(path, &db);
        CHECK_MSG(!table_exists(db, "b"), "table b of the failed migration must be rolled back");
        CHECK(table_exists(db, "a"));
        sqlite3_close(db);
    }
    /* Fixed, it applies on the next open. */
    CHECK_EQ_INT(store_open_with(&s, path, fixed, &e), 0);
    if (s) {
        CHECK_EQ_INT(store_schema_version(s), 2);
        CHECK(table_exists((sqlite3 *)db_raw(store_db(s)), "b"));
    }
    store_close(s);
    rm_db(path);
}

static void test_not_a_database(void)
{
    const char *path = tmp_path("garbage.db");
    FILE *f = fopen(path, "wb");
    store *s = NULL;
    dc_err e = {0};

    CHECK(f != NULL);
    if (!f) return;
    for (int i = 0; i < 4096; i++) fputc("not sqlite "[i % 11], f);
    fclose(f);
    CHECK_EQ_INT(store_open(&s, path, &e), DC_EFORMAT);
    CHECK(s == NULL);
    CHECK_MSG(strstr(e.msg, path) != NULL, "message should name the file: %s", e.msg);
    CHECK_EQ_INT(store_open(&s, "", &e), DC_EINVAL);
    rm_db(path);
}

/* Permission bits of path, or -1 when it does not exist. */
static int file_mode(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int)(sb.st_mode & 0777) : -1;
}

/* Every file of a new database is private, whatever the umask leaves open. */
static void test_private_files(void)
{
    const char *path = tmp_path("private.db");
    char wal[600], shm[600];
    store *s = NULL;
    dc_err e = {0};
    mode_t old = umask(022);

    rm_db(path);
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    CHECK_EQ_INT(store_open(&s, path, &e), 0);
    if (s) { /* a write, so that the WAL and the shared-memory file exist */
        CHECK_EQ_INT(sqlite3_exec((sqlite3 *)db_raw(store_db(s)), "CREATE TABLE t (x); INSERT INTO t VALUES (1)",
                                  NULL, NULL, NULL), SQLITE_OK);
        CHECK_MSG(file_mode(path) == 0600, "%s: expected mode 600, got %o", path, file_mode(path));
        CHECK_MSG(file_mode(wal) == 0600, "%s: expected mode 600, got %o", wal, file_mode(wal));
        CHECK_MSG(file_mode(shm) == 0600, "%s: expected mode 600, got %o", shm, file_mode(shm));
    } else {
        fprintf(stderr, "store_open: %s\n", e.msg);
    }
    store_close(s);
    umask(old);
    rm_db(path);
}

int main(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/dc_store_XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_names();
    test_fresh_and_reopen();
    test_newer_refused();
    test_failing_migration();
    test_not_a_database();
    test_private_files();
    rmdir(dir);
    return CHECK_DONE();
}
