/* test_db: the db.h interface behaves the same on SQLite (a temp file, always) and on
 * PostgreSQL (when DC_TEST_PG_URL names a database: the test works in a schema of its
 * own, dropped at the end). Checks ?/?N parameters, round trips of every type, NULLs,
 * db_changes, reset and rebind, errors and their kinds, transactions, dc_now/dc_epoch,
 * bytewise text order, and that migrations/<backend>/0001..0005 load through db_exec and
 * give the same tables and columns on both. Without DC_TEST_PG_URL the PostgreSQL half
 * is skipped (said on stdout) and only SQLite's counts. Start a server with
 * tests/tools/pg_cluster.sh. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "db.h"

static const char *const MIGRATIONS[] = {"0001_init.sql", "0002_job_results.sql",
                                         "0003_preprocess.sql", "0004_studies.sql",
                                         "0005_scale_out.sql"};
static const char *const TABLES[] = {"datasets", "jobs", "iterations", "models",
                                     "checkpoints", "job_results", "studies", "study_ae",
                                     "dataset_chunks", "job_attempts"};
enum { NTABLES = sizeof TABLES / sizeof *TABLES };
static char sqlite_cols[NTABLES][1024]; /* column lists seen on SQLite, for PostgreSQL */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (b = malloc((size_t)n + 1)) && fread(b, 1, (size_t)n, f) == (size_t)n)
        b[n] = '\0';
    else free(b), b = NULL;
    fclose(f);
    return b;
}

static const char *src_dir(void)
{
    static char buf[1024];
    const char *s = getenv("DC_SRC");
    char *p;
    if (s && *s) return s;
    snprintf(buf, sizeof buf, "%s", __FILE__); /* .../tests/test_db.c */
    if ((p = strstr(buf, "/tests/test_db.c"))) *p = '\0';
    else snprintf(buf, sizeof buf, ".");
    return buf;
}

/* Runs sql, expecting success; prints the backend's message when it fails. */
static int exec_ok(db_conn *h, const char *sql)
{
    int rc = db_exec(h, sql);
    if (rc != 0) fprintf(stderr, "exec failed: %s\n  sql: %.200s\n", db_errmsg(h), sql);
    return rc == 0;
}

/* One row, one text column: copies it into out (empty for NULL). */
static int query_text(db_conn *h, const char *sql, char *out, size_t cap)
{
    db_stmt *st = NULL;
    int rc = -1;
    out[0] = '\0';
    if (db_prepare(h, sql, &st) == 0 && db_step(st) == DB_ROW) {
        const char *t = db_column_text(st, 0);
        snprintf(out, cap, "%s", t ? t : "");
        rc = 0;
    } else {
        fprintf(stderr, "query failed: %s\n  sql: %s\n", db_errmsg(h), sql);
    }
    db_finalize(st);
    return rc;
}

static double query_double(db_conn *h, const char *sql)
{
    db_stmt *st = NULL;
    double v = NAN;
    if (db_prepare(h, sql, &st) == 0 && db_step(st) == DB_ROW) v = db_column_double(st, 0);
    else fprintf(stderr, "query failed: %s\n  sql: %s\n", db_errmsg(h), sql);
    db_finalize(st);
    return v;
}

/* strcmp(a, b) == 0 that takes NULL */
static int streq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

/* "dddd-dd-ddTdd:dd:dd.dddZ" */
static int is_now_shape(const char *t)
{
    const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    size_t i;
    if (strlen(t) != strlen(shape)) return 0;
    for (i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != shape[i]) return 0;
    return 1;
}

/* Inserts one row of t (id, i, r, b, s); a NULL blob pointer with bn < 0 binds NULL. */
static int insert_row(db_conn *h, const char *t, const char *id, int64_t i, double r,
                      const void *b, int64_t bn, const char *s)
{
    char sql[256];
    db_stmt *st = NULL;
    int rc;
    snprintf(sql, sizeof sql, "INSERT INTO %s (id, i, r, b, s) VALUES (?, ?, ?, ?, ?)", t);
    if (db_prepare(h, sql, &st) != 0) return fprintf(stderr, "%s\n", db_errmsg(h)), DB_ERROR;
    db_bind_text(st, 1, id);
    db_bind_int64(st, 2, i);
    db_bind_double(st, 3, r);
    if (bn < 0) db_bind_null(st, 4);
    else db_bind_blob(st, 4, b, bn);
    db_bind_text(st, 5, s);
    rc = db_step(st);
    db_finalize(st);
    return rc;
}

static void check_params(db_conn *h)
{
    db_stmt *st = NULL;
    /* ?2 and ?1 by number, then a plain ? = highest + 1 = 3; the ? in the literal, the
     * identifier and the comment are not parameters */
    const char *sql = "SELECT ?2 || '?' || ?1 AS \"q?\", ? -- what?\n, 'it''s ?'";
    CHECK(db_prepare(h, sql, &st) == 0);
    if (!st) return;
    CHECK(db_bind_text(st, 1, "x") == 0);
    CHECK(db_bind_text(st, 2, "y") == 0);
    CHECK(db_bind_int(st, 3, 7) == 0);
    CHECK(db_bind_int(st, 4, 8) != 0); /* out of range */
    CHECK_EQ_INT(db_step(st), DB_ROW);
    CHECK_EQ_INT(db_column_count(st), 3);
    CHECK(streq(db_column_text(st, 0), "y?x"));
    CHECK(streq(db_column_name(st, 0), "q?"));
    CHECK_EQ_INT(db_column_int64(st, 1), 7);
    CHECK(streq(db_column_text(st, 2), "it's ?"));
    CHECK_EQ_INT(db_step(st), DB_DONE);
    db_finalize(st);

    /* the same parameter twice (PostgreSQL cannot add two untyped parameters: CAST one) */
    CHECK(db_prepare(h, "SELECT CAST(?1 AS BIGINT) + ?1 + ?2", &st) == 0);
    if (!st) return;
    db_bind_int64(st, 1, 20);
    db_bind_int64(st, 2, 2);
    CHECK_EQ_INT(db_step(st), DB_ROW);
    CHECK_EQ_INT(db_column_int64(st, 0), 42);
    db_finalize(st);
}

static void check_round_trips(db_conn *h, const char *t, int pg)
{
    enum { BIG = 5 << 20 };
    unsigned char bytes[256], *big = malloc(BIG);
    const int64_t large = INT64_C(9007199254740993), neg = -INT64_MAX;
    char sql[256];
    db_stmt *st = NULL;
    int k, rows = 0;
    uint32_t x = 12345;

    for (k = 0; k < 256; k++) bytes[k] = (unsigned char)k; /* zeros at 0 */
    for (k = 0; big && k < BIG; k++) x = x * 1664525u + 1013904223u, big[k] = (unsigned char)(x >> 24);
    CHECK(big != NULL);
    CHECK_EQ_INT(insert_row(h, t, "a", large, 0.1, bytes, 256, "h\xc3\xa9llo"), DB_DONE);
    CHECK_EQ_INT(insert_row(h, t, "neg", neg, -1e300, bytes, 1, "x"), DB_DONE);
    CHECK_EQ_INT(insert_row(h, t, "z", 0, 0, NULL, 0, ""), DB_DONE); /* empty blob, text */
    CHECK_EQ_INT(insert_row(h, t, "inf", 1, INFINITY, bytes, 3, "i"), DB_DONE);
    CHECK_EQ_INT(insert_row(h, t, "minf", 2, -INFINITY, bytes, 3, "m"), DB_DONE);
    CHECK_EQ_INT(insert_row(h, t, "nan", 3, NAN, bytes, 3, "n"), DB_DONE);
    CHECK_EQ_INT(insert_row(h, t, "big", 4, 4, big, BIG, "b"), DB_DONE);
    /* all NULL but the id */
    snprintf(sql, sizeof sql, "INSERT INTO %s (id, i, r, b, s) VALUES (?, ?, ?, ?, ?)", t);
    CHECK(db_prepare(h, sql, &st) == 0);
    if (st) {
        db_bind_text(st, 1, "null");
        db_bind_null(st, 2), db_bind_null(st, 3), db_bind_null(st, 4);
        db_bind_text(st, 5, NULL);
        CHECK_EQ_INT(db_step(st), DB_DONE);
        CHECK_EQ_INT(db_changes(h), 1);
    }
    db_finalize(st);

    snprintf(sql, sizeof sql, "SELECT id, i, r, b, s FROM %s ORDER BY id", t);
    CHECK(db_prepare(h, sql, &st) == 0);
    while (st && db_step(st) == DB_ROW) {
        const char *id = db_column_text(st, 0) ? db_column_text(st, 0) : "";
        const char *b = db_column_blob(st, 3);
        int64_t bn = db_column_bytes(st, 3);
        double r = db_column_double(st, 2);
        rows++;
        if (strcmp(id, "a") == 0) {
            CHECK_EQ_INT(db_column_int64(st, 1), large);
            CHECK(r == 0.1);
            CHECK_EQ_INT(bn, 256);
            CHECK(b && memcmp(b, bytes, 256) == 0);
            CHECK(streq(db_column_text(st, 4), "h\xc3\xa9llo"));
            CHECK_EQ_INT(db_column_bytes(st, 4), 6);
        } else if (strcmp(id, "neg") == 0) {
            CHECK_EQ_INT(db_column_int64(st, 1), neg);
            CHECK(r == -1e300);
            CHECK_EQ_INT(bn, 1);
            CHECK(b && b[0] == 0);
        } else if (strcmp(id, "z") == 0) {
            CHECK(!db_column_is_null(st, 3));
            CHECK_EQ_INT(bn, 0);
            CHECK(!db_column_is_null(st, 4));
            CHECK(db_column_text(st, 4) && db_column_text(st, 4)[0] == '\0');
        } else if (strcmp(id, "inf") == 0) {
            CHECK(isinf(r) && r > 0);
        } else if (strcmp(id, "minf") == 0) {
            CHECK(isinf(r) && r < 0);
        } else if (strcmp(id, "nan") == 0) {
            /* SQLite stores a NaN REAL as NULL; PostgreSQL keeps it */
            if (pg) CHECK(!db_column_is_null(st, 2) && isnan(r));
            else CHECK(db_column_is_null(st, 2) && r == 0);
        } else if (strcmp(id, "big") == 0) {
            CHECK_EQ_INT(bn, BIG);
            CHECK(b && big && memcmp(b, big, BIG) == 0);
        } else if (strcmp(id, "null") == 0) {
            for (k = 1; k <= 4; k++) CHECK(db_column_is_null(st, k));
            CHECK(db_column_text(st, 4) == NULL);
            CHECK(db_column_blob(st, 3) == NULL);
            CHECK_EQ_INT(db_column_int64(st, 1), 0);
            CHECK(db_column_double(st, 2) == 0);
            CHECK_EQ_INT(db_column_bytes(st, 3), 0);
        }
    }
    CHECK_EQ_INT(rows, 8);
    db_finalize(st);
    free(big);

    /* changes after UPDATE; a SELECT leaves them */
    snprintf(sql, sizeof sql, "UPDATE %s SET i = i + 1 WHERE id IN ('a', 'z', 'nope')", t);
    CHECK(exec_ok(h, sql));
    CHECK_EQ_INT(db_changes(h), 2);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", t);
    CHECK_EQ_INT((int64_t)query_double(h, sql), 8);
    CHECK_EQ_INT(db_changes(h), 2);
    snprintf(sql, sizeof sql, "UPDATE %s SET s = ? WHERE i > ?", t);
    CHECK(db_prepare(h, sql, &st) == 0);
    if (st) {
        db_bind_text(st, 1, "many");
        db_bind_int64(st, 2, 0);
        CHECK_EQ_INT(db_step(st), DB_DONE);
        CHECK_EQ_INT(db_changes(h), 6); /* a, neg no, z (1), inf, minf, nan, big */
    }
    db_finalize(st);
}

static void check_reset(db_conn *h, const char *t)
{
    char sql[256];
    db_stmt *st = NULL;
    snprintf(sql, sizeof sql, "SELECT i FROM %s WHERE id = ?", t);
    CHECK(db_prepare(h, sql, &st) == 0);
    if (!st) return;
    db_bind_text(st, 1, "inf");
    CHECK_EQ_INT(db_step(st), DB_ROW);
    CHECK_EQ_INT(db_column_int64(st, 0), 1);
    db_reset(st); /* bindings kept */
    CHECK_EQ_INT(db_step(st), DB_ROW);
    CHECK_EQ_INT(db_column_int64(st, 0), 1);
    db_reset(st);
    db_bind_text(st, 1, "minf");
    CHECK_EQ_INT(db_step(st), DB_ROW);
    CHECK_EQ_INT(db_column_int64(st, 0), 2);
    CHECK_EQ_INT(db_step(st), DB_DONE);
    CHECK_EQ_INT(db_step(st), DB_ROW); /* after DONE the next step runs it again */
    CHECK_EQ_INT(db_column_int64(st, 0), 2);
    db_reset(st);
    db_bind_text(st, 1, "nope");
    CHECK_EQ_INT(db_step(st), DB_DONE);
    db_finalize(st);
}

static void check_errors(db_conn *h, const char *t, const char *parent, const char *child)
{
    char sql[256];
    db_stmt *st = NULL;
    int rc = db_prepare(h, "SELEC 1", &st);
    if (rc == 0) rc = db_step(st); /* PostgreSQL finds it at the first step */
    CHECK_EQ_INT(rc, DB_ERROR);
    CHECK(strstr(db_errmsg(h), "syntax") != NULL);
    printf("  syntax error: %s\n", db_errmsg(h));
    db_finalize(st);
    CHECK_EQ_INT(db_exec(h, "SELECT * FROM no_such_table_here"), DB_ERROR);
    CHECK_EQ_INT(db_errcode(h), DC_EIO);
    CHECK(!db_err_is_fk(h));

    CHECK_EQ_INT(insert_row(h, t, "a", 0, 0, "", 0, "dup"), DB_ERROR);
    CHECK_EQ_INT(db_errcode(h), DC_ECONFLICT);
    CHECK(!db_err_is_fk(h));
    printf("  unique: %s\n", db_errmsg(h));

    snprintf(sql, sizeof sql, "INSERT INTO %s (id) VALUES ('p1')", parent);
    CHECK(exec_ok(h, sql));
    snprintf(sql, sizeof sql, "INSERT INTO %s (id, parent) VALUES (?, ?)", child);
    CHECK(db_prepare(h, sql, &st) == 0);
    if (st) {
        db_bind_text(st, 1, "c1");
        db_bind_text(st, 2, "p1");
        CHECK_EQ_INT(db_step(st), DB_DONE);
        db_reset(st);
        db_bind_text(st, 1, "c2");
        db_bind_text(st, 2, "missing");
        CHECK_EQ_INT(db_step(st), DB_ERROR);
        CHECK_EQ_INT(db_errcode(h), DC_ECONFLICT);
        CHECK(db_err_is_fk(h));
        printf("  foreign key: %s\n", db_errmsg(h));
    }
    db_finalize(st);
}

static void check_tx(db_conn *h, const char *t)
{
    char sql[256];
    CHECK_EQ_INT(db_in_tx(h), 0);
    CHECK(exec_ok(h, "BEGIN"));
    CHECK_EQ_INT(db_in_tx(h), 1);
    CHECK_EQ_INT(insert_row(h, t, "tx1", 0, 0, "", 0, "t"), DB_DONE);
    CHECK(exec_ok(h, "COMMIT"));
    CHECK_EQ_INT(db_in_tx(h), 0);
    CHECK(exec_ok(h, "BEGIN"));
    CHECK_EQ_INT(insert_row(h, t, "tx2", 0, 0, "", 0, "t"), DB_DONE);
    CHECK(exec_ok(h, "ROLLBACK"));
    CHECK_EQ_INT(db_in_tx(h), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE id IN ('tx1', 'tx2')", t);
    CHECK_EQ_INT((int64_t)query_double(h, sql), 1);
}

static void check_time_and_order(db_conn *h, const char *t)
{
    char now[64], sql[256], got[64] = "";
    double ep;
    db_stmt *st = NULL;
    const char *ids[] = {"a", "_", "Z", "B"};
    size_t k;

    CHECK(query_text(h, "SELECT dc_now()", now, sizeof now) == 0);
    CHECK(is_now_shape(now));
    printf("  dc_now() = %s\n", now);
    ep = query_double(h, "SELECT dc_epoch(dc_now())");
    CHECK(fabs(ep - (double)time(NULL)) <= 5);
    CHECK_NEAR(query_double(h, "SELECT dc_epoch('2026-01-02T03:04:05.678Z')"),
               1767323045.678, 1e-6);
    CHECK(db_prepare(h, "SELECT dc_epoch(NULL), dc_epoch('junk')", &st) == 0);
    if (st && db_step(st) == DB_ROW) {
        CHECK(db_column_is_null(st, 0));
        CHECK(db_column_is_null(st, 1));
    } else {
        CHECK(0 && "dc_epoch(NULL)");
    }
    db_finalize(st);

    /* bytewise order: 'B' < 'Z' < '_' < 'a' */
    snprintf(sql, sizeof sql, "INSERT INTO %s (id) VALUES (?)", t);
    CHECK(db_prepare(h, sql, &st) == 0);
    for (k = 0; st && k < sizeof ids / sizeof *ids; k++) {
        db_reset(st);
        db_bind_text(st, 1, ids[k]);
        CHECK_EQ_INT(db_step(st), DB_DONE);
    }
    db_finalize(st);
    snprintf(sql, sizeof sql, "SELECT id FROM %s ORDER BY id", t);
    CHECK(db_prepare(h, sql, &st) == 0);
    while (st && db_step(st) == DB_ROW && db_column_text(st, 0)) strncat(got, db_column_text(st, 0), 8);
    db_finalize(st);
    CHECK(strcmp(got, "BZ_a") == 0);
    if (strcmp(got, "BZ_a") != 0) fprintf(stderr, "  order: expected BZ_a, got %s\n", got);

    /* a comparison read as a number (PostgreSQL sends a boolean) */
    CHECK(db_prepare(h, "SELECT 1 = 1, 1 = 2", &st) == 0);
    if (st && db_step(st) == DB_ROW) {
        CHECK_EQ_INT(db_column_int64(st, 0), 1);
        CHECK_EQ_INT(db_column_int64(st, 1), 0);
    }
    db_finalize(st);
}

/* Loads migrations/<dir>/0001..0005 with db_exec; compares the tables' columns with
 * SQLite's (pg: without the rowid identity, which SQLite has implicitly). */
static void check_migrations(db_conn *h, int pg)
{
    char path[1200], sql[128];
    size_t m;
    int k;
    for (m = 0; m < sizeof MIGRATIONS / sizeof *MIGRATIONS; m++) {
        char *text;
        snprintf(path, sizeof path, "%s/migrations/%s/%s", src_dir(), pg ? "postgresql" : "sqlite",
                 MIGRATIONS[m]);
        text = slurp(path);
        CHECK(text != NULL);
        if (!text) {
            fprintf(stderr, "  cannot read %s\n", path);
            return;
        }
        if (!exec_ok(h, text)) CHECK(0 && "migration loads");
        else check_pass_++;
        free(text);
    }
    for (k = 0; k < NTABLES; k++) {
        db_stmt *st = NULL;
        char cols[1024] = "";
        int c, has_rowid = 0;
        snprintf(sql, sizeof sql, "SELECT * FROM %s LIMIT 0", TABLES[k]);
        CHECK(db_prepare(h, sql, &st) == 0);
        CHECK(st && db_step(st) == DB_DONE);
        for (c = 0; st && c < db_column_count(st); c++) {
            const char *name = db_column_name(st, c) ? db_column_name(st, c) : "?";
            if (strcmp(name, "rowid") == 0) {
                has_rowid = 1;
                continue;
            }
            strncat(cols, name, sizeof cols - strlen(cols) - 2);
            strcat(cols, ",");
        }
        db_finalize(st);
        if (!pg) {
            snprintf(sqlite_cols[k], sizeof sqlite_cols[k], "%s", cols);
            continue;
        }
        CHECK(strcmp(cols, sqlite_cols[k]) == 0);
        if (strcmp(cols, sqlite_cols[k]) != 0)
            fprintf(stderr, "  %s: sqlite has %s, postgresql %s\n", TABLES[k], sqlite_cols[k], cols);
        CHECK_EQ_INT(has_rowid, strcmp(TABLES[k], "datasets") == 0 || strcmp(TABLES[k], "jobs") == 0 ||
                                    strcmp(TABLES[k], "studies") == 0 ||
                                    strcmp(TABLES[k], "job_results") == 0);
    }
    /* 0005 dropped dataset_data */
    {
        db_stmt *st = NULL;
        int rc = db_prepare(h, "SELECT * FROM dataset_data", &st);
        if (rc == 0) rc = db_step(st);
        CHECK_EQ_INT(rc, DB_ERROR);
        db_finalize(st);
    }
}

/* Everything on one connection; sfx makes the table names unique. */
static void suite(db_conn *h, int pg, const char *sfx)
{
    const char *text = pg ? "TEXT COLLATE \"C\"" : "TEXT", *blob = pg ? "BYTEA" : "BLOB";
    char t[64], ord[64], parent[64], child[64], sql[1024];
    int fail0 = check_fail_;

    snprintf(t, sizeof t, "dct_%s", sfx);
    snprintf(ord, sizeof ord, "dct_ord_%s", sfx);
    snprintf(parent, sizeof parent, "dct_p_%s", sfx);
    snprintf(child, sizeof child, "dct_c_%s", sfx);
    if (!pg) CHECK(exec_ok(h, "PRAGMA foreign_keys = ON"));
    snprintf(sql, sizeof sql,
             "CREATE TABLE %s (id %s PRIMARY KEY, i BIGINT, r DOUBLE PRECISION, b %s, s %s);"
             "CREATE TABLE %s (id %s);"
             "CREATE TABLE %s (id %s PRIMARY KEY);"
             "CREATE TABLE %s (id %s PRIMARY KEY, parent %s REFERENCES %s(id));",
             t, text, blob, text, ord, text, parent, text, child, text, text, parent);
    CHECK(exec_ok(h, sql));
    CHECK_EQ_INT(db_kind_of(h), pg ? DB_PG : DB_SQLITE);

    check_params(h);
    check_round_trips(h, t, pg);
    check_reset(h, t);
    check_errors(h, t, parent, child);
    check_tx(h, t);
    check_migrations(h, pg); /* before dc_now: PostgreSQL gets it from 0001 */
    check_time_and_order(h, ord);

    snprintf(sql, sizeof sql, "DROP TABLE %s; DROP TABLE %s; DROP TABLE %s; DROP TABLE %s", child,
             parent, ord, t);
    CHECK(exec_ok(h, sql));
    printf("%s: %s\n", pg ? "postgresql" : "sqlite", check_fail_ == fail0 ? "ok" : "FAILED");
}

static void run_sqlite(const char *sfx)
{
    char path[512], aux[600];
    const char *tmp = getenv("TMPDIR");
    db_conn *h = NULL;
    dc_err e = {0};
    snprintf(path, sizeof path, "%s/test_db_%s.sqlite", tmp && *tmp ? tmp : "/tmp", sfx);
    CHECK(db_open(&h, path, &e) == 0);
    if (!h) {
        fprintf(stderr, "sqlite: %s\n", e.msg);
        return;
    }
    CHECK(strcmp(db_file(h), path) == 0);
    suite(h, 0, sfx);
    db_close(h);
    unlink(path);
    snprintf(aux, sizeof aux, "%s-wal", path), unlink(aux);
    snprintf(aux, sizeof aux, "%s-shm", path), unlink(aux);
}

/* 1 when it ran, 0 when skipped. */
static int run_pg(const char *sfx)
{
    const char *url = getenv("DC_TEST_PG_URL");
    db_conn *h = NULL;
    dc_err e = {0};
    char sql[256];
    if (!url || !*url) {
        printf("postgresql: SKIPPED (set DC_TEST_PG_URL to a database URL, e.g. from "
               "tests/tools/pg_cluster.sh)\n");
        return 0;
    }
    CHECK(db_open(&h, url, &e) == 0);
    if (!h) {
        fprintf(stderr, "postgresql: %s\n", e.msg);
        return 1;
    }
    CHECK(strcmp(db_file(h), "") == 0);
    CHECK(db_raw(h) != NULL);
    /* a schema of our own: the test's tables and the migrations' go there */
    snprintf(sql, sizeof sql, "CREATE SCHEMA dct_%s; SET search_path = dct_%s", sfx, sfx);
    CHECK(exec_ok(h, sql));
    suite(h, 1, sfx);
    snprintf(sql, sizeof sql, "DROP SCHEMA dct_%s CASCADE", sfx);
    CHECK(exec_ok(h, sql));
    db_close(h);

    /* a refused connection: DC_EIO and a message without the password */
    CHECK(db_open(&h, "postgresql://dc:s3cret@127.0.0.1:1/none?connect_timeout=2", &e) == DC_EIO);
    CHECK(h == NULL);
    CHECK(strstr(e.msg, "s3cret") == NULL);
    printf("  refused: %s\n", e.msg);
    return 1;
}

int main(void)
{
    char sfx[64];
    snprintf(sfx, sizeof sfx, "%ld_%ld", (long)getpid(), (long)time(NULL));
    run_sqlite(sfx);
    run_pg(sfx);
    return CHECK_DONE();
}
