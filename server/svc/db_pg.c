/* db_pg: the PostgreSQL backend of db.h, on libpq. A statement is its SQL with `?` /
 * `?N` rewritten to $N plus its parameters; the first db_step runs it (PQexecParams,
 * results as text) and the following steps walk the rows it returned. Column values
 * are parsed from their text form; bytea columns are decoded from hex on demand.
 * Parameters go as text with type 0 (the server infers it) except blobs: binary bytea,
 * not copied. dc_now() and dc_epoch() are SQL functions made by
 * migrations/postgresql/0001_init.sql.
 *
 * Unlike SQLite: a syntax error shows at the first db_step, not at db_prepare;
 * db_column_count is 0 before the first step; a statement's whole result is in memory
 * from its first step (read big tables in ranges); the server infers each parameter's
 * type from its use, so an untyped `? + ?` needs a CAST, and a double bound where an
 * integer is expected must be integral. */
#include "db_impl.h"

#include <libpq-fe.h>
#include <errno.h>
#include <poll.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_PARAMS = 32766, BYTEA_OID = 17 };

typedef struct {
    struct db_conn base;
    PGconn *c;
    char *err;        /* the last failure, for a person */
    char state[6];    /* its SQLSTATE, "" when it had none */
    int64_t changes;  /* rows changed by the last INSERT, UPDATE, DELETE, MERGE */
} pg_db;

typedef struct {
    struct db_stmt base;
    char *sql;          /* rewritten to $N */
    int np;             /* parameters: the highest N */
    char **own;         /* [np] what we copied (text, numbers), freed on rebind */
    const char **val;   /* [np] what is sent; NULL: SQL NULL */
    int *len, *fmt;     /* [np] length and format (1 binary) of each */
    Oid *type;          /* [np] 0 (inferred) or BYTEA_OID */
    PGresult *res;      /* of the last run; NULL before the first step */
    int row, nrows;     /* current row (-1 before the first), rows in res */
    int done;           /* stepped past the end: the next step runs again */
    char **dec;         /* [columns] decoded bytea of the current row, or NULL */
    int64_t *declen;
} pg_stmt;

static pg_db *D(db_conn *h) { return (pg_db *)h; }
static pg_stmt *P(db_stmt *st) { return (pg_stmt *)st; }

/* Records a failure: msg (trailing newlines trimmed) and its SQLSTATE (NULL: none). */
static void set_err(pg_db *d, const char *msg, const char *state)
{
    size_t n = strlen(msg ? msg : "");
    char *m = malloc(n + 1);
    if (m) {
        memcpy(m, msg ? msg : "", n + 1);
        while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' ')) m[--n] = '\0';
    }
    free(d->err);
    d->err = m;
    snprintf(d->state, sizeof d->state, "%s", state ? state : "");
}

/* A failed result (or none: then the connection says why). */
static void set_err_res(pg_db *d, const PGresult *r)
{
    const char *prim = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *det = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    char buf[1024];
    if (!prim) {
        const char *m = r ? PQresultErrorMessage(r) : "";
        set_err(d, *m ? m : PQerrorMessage(d->c), state);
        return;
    }
    if (det) snprintf(buf, sizeof buf, "%s (%s)", prim, det);
    else snprintf(buf, sizeof buf, "%s", prim);
    set_err(d, buf, state);
}

/* After a command ran: db_changes follows INSERT/UPDATE/DELETE/MERGE, like SQLite's. */
static void note_changes(pg_db *d, const PGresult *r)
{
    const char *cs = PQcmdStatus((PGresult *)r), *n = PQcmdTuples((PGresult *)r);
    if (!cs || !*n) return;
    if (strncmp(cs, "INSERT", 6) == 0 || strncmp(cs, "UPDATE", 6) == 0 ||
        strncmp(cs, "DELETE", 6) == 0 || strncmp(cs, "MERGE", 5) == 0)
        d->changes = strtoll(n, NULL, 10);
}

/* ---- SQL rewrite: ? and ?N to $N ------------------------------------------------- */

/* Copies sql to a new string with ?N -> $N and ? -> $(highest so far + 1), skipping
 * '...' literals, "..." identifiers, -- and C-style comments. *np: highest N. NULL when out
 * of memory or past MAX_PARAMS. */
static char *rewrite(const char *sql, int *np)
{
    size_t n = strlen(sql), q = 0, o = 0;
    const char *s;
    char *out;
    int hi = 0;
    for (s = sql; *s; s++) q += *s == '?';
    if (!(out = malloc(n + 5 * q + 1))) return NULL;
    for (s = sql; *s;) {
        char c = *s;
        if (c == '\'' || c == '"') { /* '' and "" inside are two quotes in a row: fine */
            const char *e = strchr(s + 1, c);
            size_t k = e ? (size_t)(e - s) + 1 : strlen(s);
            memcpy(out + o, s, k), o += k, s += k;
        } else if (c == '-' && s[1] == '-') {
            const char *e = strchr(s, '\n');
            size_t k = e ? (size_t)(e - s) : strlen(s);
            memcpy(out + o, s, k), o += k, s += k;
        } else if (c == '/' && s[1] == '*') {
            const char *e = strstr(s + 2, "*/");
            size_t k = e ? (size_t)(e - s) + 2 : strlen(s);
            memcpy(out + o, s, k), o += k, s += k;
        } else if (c == '?') {
            long v;
            s++;
            if (*s >= '0' && *s <= '9') {
                char *end;
                v = strtol(s, &end, 10);
                s = end;
            } else {
                v = hi + 1;
            }
            if (v < 1 || v > MAX_PARAMS) {
                free(out);
                return NULL;
            }
            if (v > hi) hi = (int)v;
            o += (size_t)sprintf(out + o, "$%ld", v);
        } else {
            out[o++] = c, s++;
        }
    }
    out[o] = '\0';
    *np = hi;
    return out;
}

/* ---- connection -------------------------------------------------------------------- */

static void pg_close(db_conn *h)
{
    pg_db *d = D(h);
    if (d->c) PQfinish(d->c);
    free(d->err);
    free(h->file);
    free(d);
}

static void *pg_raw(db_conn *h) { return D(h)->c; }

static int pg_exec(db_conn *h, const char *sql)
{
    pg_db *d = D(h);
    PGresult *r = PQexec(d->c, sql);
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    int rc = 0;
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY) {
        note_changes(d, r);
    } else {
        set_err_res(d, r);
        rc = DB_ERROR;
    }
    PQclear(r);
    return rc;
}

static int64_t pg_changes(db_conn *h) { return D(h)->changes; }
static int pg_in_tx(db_conn *h) { return PQtransactionStatus(D(h)->c) != PQTRANS_IDLE; }
static const char *pg_errmsg(db_conn *h) { return D(h)->err ? D(h)->err : "not an error"; }

static int pg_errcode(db_conn *h)
{
    const char *s = D(h)->state;
    if (strncmp(s, "53", 2) == 0) return DC_ENOSPC; /* 53100 disk_full, insufficient resources */
    if (strncmp(s, "23", 2) == 0 || strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0)
        return DC_ECONFLICT;
    return DC_EIO;
}

static int pg_err_is_fk(db_conn *h) { return strcmp(D(h)->state, "23503") == 0; }

/* ---- statements -------------------------------------------------------------------- */

static void free_decoded(pg_stmt *s)
{
    int i, n = s->res ? PQnfields(s->res) : 0;
    if (!s->dec) return;
    for (i = 0; i < n; i++) free(s->dec[i]), s->dec[i] = NULL;
}

static void clear_result(pg_stmt *s)
{
    free_decoded(s);
    free(s->dec), s->dec = NULL;
    free(s->declen), s->declen = NULL;
    PQclear(s->res), s->res = NULL;
    s->row = -1, s->nrows = 0, s->done = 0;
}

static void pg_finalize(db_stmt *st);

static int pg_prepare(db_conn *h, const char *sql, db_stmt **out)
{
    pg_stmt *s = calloc(1, sizeof *s);
    int n;
    if (!s || !(s->sql = rewrite(sql, &s->np))) {
        set_err(D(h), s ? "parameter number out of 1..32766, or out of memory" : "out of memory", NULL);
        free(s);
        return DB_ERROR;
    }
    n = s->np ? s->np : 1;
    s->own = calloc((size_t)n, sizeof *s->own);
    s->val = calloc((size_t)n, sizeof *s->val);
    s->len = calloc((size_t)n, sizeof *s->len);
    s->fmt = calloc((size_t)n, sizeof *s->fmt);
    s->type = calloc((size_t)n, sizeof *s->type);
    s->base.h = h;
    s->row = -1;
    if (!s->own || !s->val || !s->len || !s->fmt || !s->type) {
        set_err(D(h), "out of memory", NULL);
        pg_finalize(&s->base);
        return DB_ERROR;
    }
    *out = &s->base;
    return 0;
}

static void pg_finalize(db_stmt *st)
{
    pg_stmt *s = P(st);
    int i;
    clear_result(s);
    for (i = 0; s->own && i < s->np; i++) free(s->own[i]);
    free(s->own), free(s->val), free(s->len), free(s->fmt), free(s->type);
    free(s->sql);
    free(s);
}

static void pg_reset(db_stmt *st) { clear_result(P(st)); }

/* Sets parameter i (1-based): copy (owned, may be NULL) or, when copy is NULL, p. */
static int bind(db_stmt *st, int i, char *copy, const void *p, int64_t n, int fmt, Oid type)
{
    pg_stmt *s = P(st);
    if (i < 1 || i > s->np) {
        char m[80];
        free(copy);
        snprintf(m, sizeof m, "bind: parameter %d out of range (1..%d)", i, s->np);
        set_err(D(st->h), m, NULL);
        return DB_ERROR;
    }
    if (n > INT_MAX) {
        free(copy);
        set_err(D(st->h), "bind: value over 2 GB", "54000");
        return DB_ERROR;
    }
    i--;
    free(s->own[i]);
    s->own[i] = copy;
    s->val[i] = copy ? copy : p;
    s->len[i] = (int)n;
    s->fmt[i] = fmt;
    s->type[i] = type;
    return 0;
}

static int pg_bind_text(db_stmt *st, int i, const char *v)
{
    char *c = strdup(v);
    if (!c) return set_err(D(st->h), "out of memory", NULL), DB_ERROR;
    return bind(st, i, c, NULL, 0, 0, 0);
}

static int pg_bind_int64(db_stmt *st, int i, int64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%lld", (long long)v);
    return pg_bind_text(st, i, b);
}

static int pg_bind_double(db_stmt *st, int i, double v)
{
    char b[32];
    if (isnan(v)) snprintf(b, sizeof b, "NaN");
    else if (isinf(v)) snprintf(b, sizeof b, "%s", v > 0 ? "Infinity" : "-Infinity");
    else snprintf(b, sizeof b, "%.17g", v);
    return pg_bind_text(st, i, b);
}

static int pg_bind_blob(db_stmt *st, int i, const void *p, int64_t n)
{
    return bind(st, i, NULL, p ? p : "", n, 1, BYTEA_OID);
}

static int pg_bind_null(db_stmt *st, int i) { return bind(st, i, NULL, NULL, 0, 0, 0); }

static int run(pg_stmt *s)
{
    pg_db *d = D(s->base.h);
    ExecStatusType rs;
    clear_result(s);
    s->res = PQexecParams(d->c, s->sql, s->np, s->type, s->val, s->len, s->fmt, 0);
    rs = s->res ? PQresultStatus(s->res) : PGRES_FATAL_ERROR;
    if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK && rs != PGRES_EMPTY_QUERY) {
        set_err_res(d, s->res);
        clear_result(s);
        return DB_ERROR;
    }
    note_changes(d, s->res);
    s->nrows = PQntuples(s->res);
    if (PQnfields(s->res) > 0) {
        s->dec = calloc((size_t)PQnfields(s->res), sizeof *s->dec);
        s->declen = calloc((size_t)PQnfields(s->res), sizeof *s->declen);
        if (!s->dec || !s->declen) {
            set_err(d, "out of memory", NULL);
            clear_result(s);
            return DB_ERROR;
        }
    }
    return 0;
}

static int pg_step(db_stmt *st)
{
    pg_stmt *s = P(st);
    if ((!s->res || s->done) && run(s) < 0) return DB_ERROR;
    free_decoded(s);
    if (s->row < s->nrows) s->row++;
    if (s->row < s->nrows) return DB_ROW;
    s->done = 1;
    return DB_DONE;
}

static int pg_column_count(db_stmt *st) { return P(st)->res ? PQnfields(P(st)->res) : 0; }

/* The text of column i of the current row; NULL for SQL NULL or no such column. */
static const char *val(pg_stmt *s, int i)
{
    if (!s->res || s->row < 0 || s->row >= s->nrows || i < 0 || i >= PQnfields(s->res) ||
        PQgetisnull(s->res, s->row, i))
        return NULL;
    return PQgetvalue(s->res, s->row, i);
}

static int pg_column_is_null(db_stmt *st, int i) { return val(P(st), i) == NULL; }

static int64_t pg_column_int64(db_stmt *st, int i)
{
    const char *v = val(P(st), i);
    char *end;
    long long x;
    if (!v) return 0;
    if (PQftype(P(st)->res, i) == 16) return v[0] == 't'; /* bool */
    x = strtoll(v, &end, 10);
    if (*end == '.' || *end == 'e' || *end == 'E') return (int64_t)strtod(v, NULL);
    return x;
}

static double pg_column_double(db_stmt *st, int i)
{
    const char *v = val(P(st), i);
    if (!v) return 0;
    if (PQftype(P(st)->res, i) == 16) return v[0] == 't';
    return strtod(v, NULL);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes bytea column i of the current row into s->dec[i] (NUL-terminated). */
static const char *decoded(pg_stmt *s, int i)
{
    const char *v = val(s, i);
    if (!v || PQftype(s->res, i) != BYTEA_OID) return v;
    if (!s->dec[i]) {
        size_t n = (size_t)PQgetlength(s->res, s->row, i), k;
        char *b;
        if (n >= 2 && v[0] == '\\' && v[1] == 'x') {
            if (!(b = malloc((n - 2) / 2 + 1))) return NULL;
            for (k = 0; k < (n - 2) / 2; k++) {
                int hi = hexval(v[2 + 2 * k]), lo = hexval(v[3 + 2 * k]);
                if (hi < 0 || lo < 0) break;
                b[k] = (char)(hi << 4 | lo);
            }
        } else { /* bytea_output = escape */
            unsigned char *u = PQunescapeBytea((const unsigned char *)v, &k);
            if (!u || !(b = malloc(k + 1))) return PQfreemem(u), NULL;
            memcpy(b, u, k);
            PQfreemem(u);
        }
        b[k] = '\0';
        s->dec[i] = b;
        s->declen[i] = (int64_t)k;
    }
    return s->dec[i];
}

static const char *pg_column_text(db_stmt *st, int i) { return decoded(P(st), i); }
static const void *pg_column_blob(db_stmt *st, int i) { return decoded(P(st), i); }

static int64_t pg_column_bytes(db_stmt *st, int i)
{
    pg_stmt *s = P(st);
    if (!decoded(s, i)) return 0;
    if (PQftype(s->res, i) == BYTEA_OID) return s->declen[i];
    return PQgetlength(s->res, s->row, i);
}

static const char *pg_column_name(db_stmt *st, int i)
{
    pg_stmt *s = P(st);
    return s->res && i >= 0 && i < PQnfields(s->res) ? PQfname(s->res, i) : NULL;
}

static const struct db_ops pg_ops = {
    pg_close,        pg_raw,           pg_prepare,       pg_finalize,     pg_reset,
    pg_bind_text,    pg_bind_int64,    pg_bind_double,   pg_bind_blob,    pg_bind_null,
    pg_step,         pg_column_count,  pg_column_is_null, pg_column_int64, pg_column_double,
    pg_column_text,  pg_column_blob,   pg_column_bytes,  pg_column_name,  pg_exec,
    pg_changes,      pg_in_tx,         pg_errmsg,        pg_errcode,      pg_err_is_fk,
};

static void drop_notice(void *arg, const char *msg) { (void)arg, (void)msg; }

int db_pg_open(db_conn **out, const char *url, dc_err *e)
{
    pg_db *d = calloc(1, sizeof *d);
    int rc;
    if (!d || !(d->base.file = strdup(""))) {
        free(d);
        return dc_err_set(e, DC_ENOMEM, "store: out of memory");
    }
    d->base.ops = &pg_ops;
    d->base.kind = DB_PG;
    d->c = PQconnectdb(url); /* the message below never holds the URL (its password) */
    if (!d->c || PQstatus(d->c) != CONNECTION_OK) {
        char m[512];
        snprintf(m, sizeof m, "%s", d->c ? PQerrorMessage(d->c) : "out of memory");
        m[strcspn(m, "\n")] = '\0';
        rc = dc_err_set(e, DC_EIO, "store: cannot connect to PostgreSQL: %s", m);
        goto fail;
    }
    PQsetNoticeProcessor(d->c, drop_notice, NULL);
    if (pg_exec(&d->base, "SET client_min_messages = warning; SET bytea_output = hex") < 0) {
        rc = dc_err_set(e, DC_EIO, "store: PostgreSQL: %s", pg_errmsg(&d->base));
        goto fail;
    }
    *out = &d->base;
    return 0;
fail:
    pg_close(&d->base);
    return rc;
}

int db_pg_wait(db_conn *h, double timeout_s)
{
    PGconn *c = D(h)->c;
    PGnotify *n;
    int got = 0;
    struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
    if (p.fd < 0) return DB_ERROR;
    if (poll(&p, 1, (int)(timeout_s * 1000)) < 0 && errno != EINTR) return DB_ERROR;
    if (!PQconsumeInput(c)) {
        set_err(D(h), PQerrorMessage(c), "");
        return DB_ERROR;
    }
    while ((n = PQnotifies(c))) {
        got = 1;
        PQfreemem(n);
    }
    return got;
}
