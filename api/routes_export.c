/* routes_export: handlers that hand results over whole (issue 13): a job's assignment as
 * CSV or NPY streamed in bounded chunks, a model's file, and the body sniffing and NPY
 * parsing the upload and predict handlers (routes_svc.c) share. */
#include "handlers.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "svc.h"

/* ---- bodies: what the bytes are --------------------------------------------------------- */

int api_sniff(const void *buf, size_t len)
{
    const unsigned char *b = buf;
    size_t i = 0;
    if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b) return API_SNIFF_GZIP;
    if (len >= 6 && memcmp(b, "\x93NUMPY", 6) == 0) return API_SNIFF_NPY;
    if (len >= 6 && memcmp(b, "DCF32\0", 6) == 0) return API_SNIFF_DCF32;
    if (len >= 4 && b[0] == 0 && b[1] == 0 &&
        (b[2] == 0x08 || b[2] == 0x09 || (b[2] >= 0x0B && b[2] <= 0x0E)) && b[3] >= 1 &&
        b[3] <= 4)
        return API_SNIFF_IDX;
    while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) i++;
    if (i < len && (b[i] == '{' || b[i] == '[')) return API_SNIFF_JSON;
    for (i = 0; i < len; i++) /* text a CSV reader can try: printable ASCII or UTF-8 */
        if (b[i] < 0x20 && b[i] != '\t' && b[i] != '\r' && b[i] != '\n') return API_SNIFF_NONE;
    return len ? API_SNIFF_TEXT : API_SNIFF_NONE;
}

/* The value of 'key': ... in an NPY header dict (text from hdr), or NULL. */
static const char *npy_field(const char *hdr, const char *key)
{
    const char *p = strstr(hdr, key);
    if (!p) return NULL;
    p += strlen(key);
    while (*p == ' ' || *p == ':') p++;
    return p;
}

int api_npy_rows(const char *body, size_t len, float **x, int64_t *n, int *d, int *integer,
                 char *msg, size_t cap)
{
    static const struct { const char *descr; int size, kind; } types[] = {
        /* kind: 0 float, 1 signed, 2 unsigned */
        {"<f4", 4, 0}, {"<f8", 8, 0}, {"|u1", 1, 2}, {"<u1", 1, 2}, {"|i1", 1, 1},
        {"<i1", 1, 1}, {"<i2", 2, 1}, {"<u2", 2, 2}, {"<i4", 4, 1}, {"<i8", 8, 1},
    };
    const unsigned char *b = (const unsigned char *)body;
    char hdr[4096];
    size_t hl, off;
    int t = -1;
    long long dims[8];
    int nd = 0;

    *x = NULL;
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0) goto bad_magic;
    if (b[6] == 1) hl = (size_t)b[8] | (size_t)b[9] << 8, off = 10;
    else if ((b[6] == 2 || b[6] == 3) && len >= 12)
        hl = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24, off = 12;
    else goto bad_magic;
    if (hl >= sizeof hdr || off + hl > len) {
        snprintf(msg, cap, "NPY body: header of %zu bytes does not fit the body", hl);
        return -1;
    }
    memcpy(hdr, body + off, hl);
    hdr[hl] = 0;
    off += hl;
    const char *v = npy_field(hdr, "'descr'");
    for (int i = 0; v && i < (int)(sizeof types / sizeof *types); i++)
        if (v[0] == '\'' && strncmp(v + 1, types[i].descr, 3) == 0 && v[4] == '\'') t = i;
    if (t < 0) {
        snprintf(msg, cap, "NPY body: dtype not supported (send little-endian float32, "
                 "float64, or an integer type)");
        return -1;
    }
    v = npy_field(hdr, "'fortran_order'");
    if (!v || strncmp(v, "False", 5) != 0) {
        snprintf(msg, cap, "NPY body: only C order (fortran_order False) is supported");
        return -1;
    }
    v = npy_field(hdr, "'shape'");
    if (!v || *v != '(') {
        snprintf(msg, cap, "NPY body: no shape in the header");
        return -1;
    }
    for (v++; *v && *v != ')';) {
        char *end;
        while (*v == ' ' || *v == ',') v++;
        if (*v == ')') break;
        long long k = strtoll(v, &end, 10);
        if (end == v || k < 1 || k > (1LL << 40) || nd == 8) {
            snprintf(msg, cap, "NPY body: shape must be positive integers (n, d) or "
                     "(n, h, w[, c])");
            return -1;
        }
        dims[nd++] = k;
        v = end;
    }
    if (nd < 1) {
        snprintf(msg, cap, "NPY body: shape () holds no samples");
        return -1;
    }
    long long rows = nd == 1 ? 1 : dims[0], cols = 1;
    for (int i = nd == 1 ? 0 : 1; i < nd; i++) {
        cols *= dims[i];
        if (cols > (1LL << 31) - 1) {
            snprintf(msg, cap, "NPY body: a sample has more than 2^31 values");
            return -1;
        }
    }
    if (rows > (long long)(len / (size_t)types[t].size) ||
        (size_t)(rows * cols) * (size_t)types[t].size != len - off) {
        snprintf(msg, cap, "NPY body: shape %lld x %lld of %s is not the %zu data bytes sent",
                 rows, cols, types[t].descr, len - off);
        return -1;
    }
    if (!(*x = malloc(sizeof(float) * (size_t)(rows * cols)))) {
        snprintf(msg, cap, "out of memory");
        return -2;
    }
    const unsigned char *p = b + off;
    for (long long i = 0; i < rows * cols; i++, p += types[t].size) {
        double val;
        switch (types[t].size * 4 + types[t].kind) {
        case 16: { float f; memcpy(&f, p, 4); val = f; break; }
        case 32: { double f; memcpy(&f, p, 8); val = f; break; }
        case 6: val = p[0]; break;
        case 5: val = (signed char)p[0]; break;
        case 9: { int16_t k; memcpy(&k, p, 2); val = k; break; }
        case 10: { uint16_t k; memcpy(&k, p, 2); val = k; break; }
        case 17: { int32_t k; memcpy(&k, p, 4); val = k; break; }
        default: { int64_t k; memcpy(&k, p, 8); val = (double)k; break; }
        }
        (*x)[i] = (float)val;
        if (!isfinite((*x)[i])) {
            snprintf(msg, cap, "samples[%lld][%lld] must be a finite number (float32)",
                     i / cols, i % cols);
            free(*x);
            *x = NULL;
            return -1;
        }
    }
    *n = rows, *d = (int)cols, *integer = types[t].kind != 0;
    return 0;
bad_magic:
    snprintf(msg, cap, "NPY body: not an NPY file (magic \\x93NUMPY, version 1, 2 or 3)");
    return -1;
}

/* ---- small helpers ----------------------------------------------------------------------- */

static const char *query(api_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

enum { FMT_JSON = 0, FMT_CSV, FMT_NPY };

/* ?format= (wins), else the Accept header; -1 on an unknown ?format=. */
static int export_format(api_req *r)
{
    const char *f = query(r, "format"), *acc;
    if (f) return strcasecmp(f, "json") == 0 ? FMT_JSON : strcasecmp(f, "csv") == 0 ? FMT_CSV
                : strcasecmp(f, "npy") == 0 ? FMT_NPY : -1;
    char low[256];
    size_t i = 0;
    acc = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    for (; acc && acc[i] && i + 1 < sizeof low; i++)
        low[i] = (char)(acc[i] >= 'A' && acc[i] <= 'Z' ? acc[i] + 32 : acc[i]);
    low[i] = 0;
    if (strstr(low, "text/csv")) return FMT_CSV;
    if (strstr(low, "application/x-npy")) return FMT_NPY;
    return FMT_JSON;
}

/* ---- the stream ---------------------------------------------------------------------------- */

typedef struct export_stream {
    svc_export *x;
    svc_export_info info;
    int fmt;
    int cols;          /* index, label, q (k), z (embed), true_label, outlier */
    int64_t rows_per;  /* rows encoded at a time: the memory bound */
    int64_t next;      /* next row to encode */
    char *buf;
    size_t len, pos, cap;
    int failed;
} export_stream;

static void stream_free(void *cls)
{
    export_stream *s = cls;
    if (!s) return;
    svc_export_close(s->x);
    free(s->buf);
    free(s);
}

/* Appends printf text to s->buf (grown as needed); -1 when out of memory. */
static int put(export_stream *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int put(export_stream *s, const char *fmt, ...)
{
    va_list ap;
    if (!s->buf) { /* vsnprintf below never sees a null pointer */
        if (!(s->buf = malloc(4096))) return -1;
        s->cap = 4096, s->len = 0;
    }
    for (;;) {
        va_start(ap, fmt);
        int w = vsnprintf(s->buf + s->len, s->cap - s->len, fmt, ap);
        va_end(ap);
        if (w < 0) return -1;
        if ((size_t)w < s->cap - s->len) {
            s->len += (size_t)w;
            return 0;
        }
        size_t cap = s->cap * 2 + (size_t)w + 64;
        char *b = realloc(s->buf, cap);
        if (!b) return -1;
        s->buf = b, s->cap = cap;
    }
}

/* "index,label,q0..q9,z0..z9,true_label,outlier" or the full list (CSV header). */
static int put_columns(export_stream *s, int full)
{
    int rc = put(s, "index,label");
    if (full) {
        for (int j = 0; j < s->info.k; j++) rc |= put(s, ",q%d", j);
        for (int j = 0; j < s->info.embed; j++) rc |= put(s, ",z%d", j);
    } else {
        rc |= put(s, ",q0..q%d", s->info.k - 1);
        if (s->info.embed) rc |= put(s, ",z0..z%d", s->info.embed - 1);
    }
    return rc | put(s, ",true_label,outlier");
}

/* Encodes the next rows into s->buf (emptied first); 0, or -1 on failure (logged). */
static int encode_next(export_stream *s)
{
    svc_export_rows rows;
    dc_err e = {0};
    s->len = s->pos = 0;
    if (svc_export_read(s->x, s->next, s->rows_per, &rows, &e) < 0 || rows.count <= 0) {
        fprintf(stderr, "deepclust: export of %s stopped at row %lld: %s\n", s->info.model,
                (long long)s->next, e.msg[0] ? e.msg : "no rows");
        return -1;
    }
    for (int64_t i = 0; i < rows.count; i++) {
        int64_t idx = rows.offset + i;
        const float *q = rows.q + i * s->info.k, *z = rows.z ? rows.z + i * s->info.embed : NULL;
        if (s->fmt == FMT_CSV) {
            int rc = put(s, "%lld,%d", (long long)idx, rows.labels[i]);
            for (int j = 0; j < s->info.k; j++) rc |= put(s, ",%.9g", q[j]);
            for (int j = 0; z && j < s->info.embed; j++) rc |= put(s, ",%.9g", z[j]);
            if (rows.truth) rc |= put(s, ",%d", rows.truth[i]);
            else rc |= put(s, ",");
            if (rows.outlier) rc |= put(s, ",%.9g\n", rows.outlier[i]);
            else rc |= put(s, ",\n");
            if (rc) return -1;
        } else {
            size_t need = s->len + sizeof(float) * (size_t)s->cols;
            if (need > s->cap) {
                char *b = realloc(s->buf, need * 2);
                if (!b) return -1;
                s->buf = b, s->cap = need * 2;
            }
            float *o = (float *)(void *)(s->buf + s->len);
            int c = 0;
            o[c++] = (float)idx;
            o[c++] = (float)rows.labels[i];
            for (int j = 0; j < s->info.k; j++) o[c++] = q[j];
            for (int j = 0; z && j < s->info.embed; j++) o[c++] = z[j];
            o[c++] = rows.truth ? (float)rows.truth[i] : NAN;
            o[c++] = rows.outlier ? rows.outlier[i] : NAN;
            s->len += sizeof(float) * (size_t)c;
        }
    }
    s->next = rows.offset + rows.count;
    return 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    export_stream *s = cls;
    (void)pos;
    while (s->pos == s->len) {
        if (s->failed) return MHD_CONTENT_READER_END_WITH_ERROR;
        if (s->next >= s->info.n) return MHD_CONTENT_READER_END_OF_STREAM;
        if (encode_next(s) < 0) {
            s->failed = 1;
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
    size_t m = s->len - s->pos < max ? s->len - s->pos : max;
    memcpy(out, s->buf + s->pos, m);
    s->pos += m;
    return (ssize_t)m;
}

/* The NPY 1.0 header of a float32 (n, cols) array into s->buf; its length. */
static int npy_header(export_stream *s)
{
    char dict[160];
    int dl = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, "
                      "'shape': (%lld, %d), }", (long long)s->info.n, s->cols);
    int pad = 63 - (dl + 10) % 64; /* data at a multiple of 64, header ends in '\n' */
    size_t hl = (size_t)dl + (size_t)pad + 1;
    if (put(s, "\x93NUMPY\x01%c%c%c%s%*s\n", 0, 0, 0, dict, pad, "")) return -1;
    s->buf[8] = (char)(hl & 0xff); /* the two length bytes, written as placeholders above */
    s->buf[9] = (char)(hl >> 8);
    return 0;
}

/* Query parameter name as an integer in [lo, hi] (dflt when absent); -1 with a 400
 * queued when it is not one. */
static int page_param(api_req *r, const char *name, long long dflt, long long lo,
                      long long hi, long long *out)
{
    const char *v = query(r, name);
    char *end;
    *out = dflt;
    if (!v) return 0;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!(*v >= '0' && *v <= '9') || *end || errno || x < lo || x > hi) {
        char msg[160];
        snprintf(msg, sizeof msg, "query parameter %s must be an integer in [%lld, %lld]",
                 name, lo, hi);
        api_problem_field(r, 400, name, msg);
        return -1;
    }
    *out = x;
    return 0;
}

/* The JSON page of api_h_job_assignments with "embeddings" (rows of the embedding), read
 * through the export a chunk at a time. */
static int json_page_z(api_req *r)
{
    long long offset, limit;
    svc_export *x = NULL;
    svc_export_info info;
    svc_export_rows rows;
    json_t *labels = json_array(), *q = json_array(), *z = json_array(), *o = NULL;
    dc_err e = {0};
    int rc = 0;

    if (page_param(r, "offset", 0, 0, SVC_OFFSET_MAX, &offset) < 0 ||
        page_param(r, "limit", 1000, 1, SVC_ASSIGN_PAGE_MAX, &limit) < 0)
        goto out;
    if (!r->ctx->server) {
        rc = api_problem(r, 503, "the clustering service is not running");
        goto out;
    }
    if ((rc = svc_export_open(r->ctx->server, api_param(r, "id"), 1, &x, &info, &e)) < 0) {
        rc = api_reply_err(r, rc, &e);
        goto out;
    }
    if (offset > info.n) offset = info.n;
    int64_t end = offset + limit < info.n ? offset + limit : info.n, at = offset;
    while (at < end && labels && q && z) {
        if ((rc = svc_export_read(x, at, end - at, &rows, &e)) < 0 || rows.count <= 0) {
            rc = rc < 0 ? api_reply_err(r, rc, &e) : api_problem(r, 500, "export stopped");
            goto out;
        }
        for (int64_t i = 0; i < rows.count; i++) {
            json_t *qi = json_array(), *zi = json_array();
            for (int j = 0; qi && j < info.k; j++)
                json_array_append_new(qi, json_real(rows.q[i * info.k + j]));
            for (int j = 0; zi && j < info.embed; j++) {
                double v = rows.z[i * info.embed + j];
                json_array_append_new(zi, isfinite(v) ? json_real(v) : json_null());
            }
            json_array_append_new(labels, json_integer(rows.labels[i]));
            json_array_append_new(q, qi);
            json_array_append_new(z, zi);
        }
        at += rows.count;
    }
    o = json_pack("{s:s, s:s, s:s, s:I, s:i, s:I, s:i, s:O, s:O, s:O}", "job",
                  api_param(r, "id"), "model", info.model, "dataset", info.dataset, "n",
                  (json_int_t)info.n, "k", info.k, "offset", (json_int_t)offset, "limit",
                  (int)limit, "labels", labels, "q", q, "embeddings", z);
    if (o && end < info.n) json_object_set_new(o, "next_offset", json_integer(end));
    rc = api_reply_json(r, 200, o);
out:
    json_decref(labels), json_decref(q), json_decref(z);
    svc_export_close(x);
    return rc;
}

/* GET /v1/jobs/{id}/assignments?format=json|csv|npy[&embedding=1][&offset=&limit=]
 *   (or Accept: text/csv, application/x-npy; format wins). csv/npy: every row, streamed
 *   a chunk at a time (index, label, q.., z.. with embedding=1, true_label, outlier);
 *   json: the page of api_h_job_assignments (with "embeddings" when embedding=1).
 *   200; 400 a bad format, embedding, offset or limit value, offset/limit with csv/npy;
 *   404 no job; 409 no model or its dataset deleted. */
int api_h_job_assignments_any(api_req *r)
{
    const char *emb = query(r, "embedding");
    int fmt = export_format(r), with_z = 0, rc;
    export_stream *s = NULL;
    struct MHD_Response *resp;
    dc_err e = {0};
    char disp[160], cols[200], nrows[32];

    if (fmt < 0)
        return api_problem_field(r, 400, "format", "query parameter format: unknown value "
                             "(allowed: json, csv, npy)");
    if (emb && strcmp(emb, "0") != 0 && strcmp(emb, "1") != 0 && strcasecmp(emb, "true") != 0 &&
        strcasecmp(emb, "false") != 0)
        return api_problem_field(r, 400, "embedding", "query parameter embedding must be 0, 1, "
                             "true or false");
    with_z = emb && (strcmp(emb, "1") == 0 || strcasecmp(emb, "true") == 0);
    if (fmt == FMT_JSON) return with_z ? json_page_z(r) : api_h_job_assignments(r);
    if (query(r, "offset") || query(r, "limit"))
        return api_problem_field(r, 400, query(r, "offset") ? "offset" : "limit",
                             "offset and limit page the JSON form; csv and npy give every row");
    if (!r->ctx->server) return api_problem(r, 503, "the clustering service is not running");
    if (!(s = calloc(1, sizeof *s))) return DC_ENOMEM;
    s->fmt = fmt;
    if ((rc = svc_export_open(r->ctx->server, api_param(r, "id"), with_z, &s->x, &s->info, &e)) <
        0) {
        stream_free(s);
        return api_reply_err(r, rc, &e);
    }
    s->cols = 2 + s->info.k + s->info.embed + 2;
    s->rows_per = (1 << 18) / s->cols; /* about 1 MiB of floats per chunk */
    if (s->rows_per < 1) s->rows_per = 1;
    if (s->rows_per > SVC_EXPORT_CHUNK) s->rows_per = SVC_EXPORT_CHUNK;
    if ((fmt == FMT_CSV ? put_columns(s, 1) | put(s, "\n") : npy_header(s)) != 0) {
        stream_free(s);
        return DC_ENOMEM;
    }
    size_t hdr = s->len;
    snprintf(cols, sizeof cols, "%s", "");
    {   /* the compact column list for the header, built in a scratch stream */
        export_stream c = {.info = s->info};
        if (put_columns(&c, 0) == 0) snprintf(cols, sizeof cols, "%s", c.buf);
        free(c.buf);
    }
    uint64_t total = fmt == FMT_NPY ? (uint64_t)hdr + (uint64_t)s->info.n * (uint64_t)s->cols * 4
                                    : MHD_SIZE_UNKNOWN;
    resp = MHD_create_response_from_callback(total, 64 << 10, stream_read, s, stream_free);
    if (!resp) {
        stream_free(s);
        return DC_ENOMEM;
    }
    snprintf(disp, sizeof disp, "attachment; filename=\"%s-assignments.%s\"",
             api_param(r, "id"), fmt == FMT_CSV ? "csv" : "npy");
    MHD_add_response_header(resp, "Content-Type",
                            fmt == FMT_CSV ? "text/csv; charset=utf-8" : "application/x-npy");
    MHD_add_response_header(resp, "Content-Disposition", disp);
    MHD_add_response_header(resp, "Deepclust-Columns", cols);
    snprintf(nrows, sizeof nrows, "%lld", (long long)s->info.n);
    MHD_add_response_header(resp, "Deepclust-Rows", nrows);
    r->bytes = total == MHD_SIZE_UNKNOWN ? 0 : (size_t)total;
    return api_reply(r, 200, resp);
}

/* A model file being sent, a piece at a time (svc_model_file_read). */
typedef struct model_stream {
    svc *s;
    char id[JOBSPEC_ID_MAX];
    int64_t size;
} model_stream;

static ssize_t model_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    model_stream *m = cls;
    dc_err e = {0};
    int64_t n = m->size - (int64_t)pos;
    if (n <= 0) return MHD_CONTENT_READER_END_OF_STREAM;
    if (n > (int64_t)max) n = (int64_t)max;
    if (svc_model_file_read(m->s, m->id, (int64_t)pos, buf, n, &e) < 0) {
        /* deleted meanwhile: the client sees a cut connection, not a short file */
        fprintf(stderr, "deepclust: model %s download stopped: %s\n", m->id, e.msg);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    return (ssize_t)n;
}

/* GET /v1/models/{id}/download: the model file (cluster_model_save's format), which
 * `deepclust predict --model F` and `deepclust generate --model F` read, with the
 * Deepclust-Preprocess header (how its training data was scaled), streamed 256 KiB at
 * a time. 200; 404. */
int api_h_model_download(api_req *r)
{
    model_stream *ms;
    dc_err e = {0};
    char disp[160], pre[200];
    svc_model_info m;
    struct MHD_Response *resp;
    int64_t size = 0;
    int rc;

    if (!r->ctx->server) return api_problem(r, 503, "the clustering service is not running");
    if ((rc = svc_model_file(r->ctx->server, api_param(r, "id"), &size, &e)) < 0)
        return api_reply_err(r, rc, &e);
    if (!(ms = calloc(1, sizeof *ms))) return DC_ENOMEM;
    ms->s = r->ctx->server, ms->size = size;
    snprintf(ms->id, sizeof ms->id, "%s", api_param(r, "id"));
    resp = MHD_create_response_from_callback((uint64_t)size, 256 << 10, model_read, ms, free);
    if (!resp) {
        free(ms);
        return DC_ENOMEM;
    }
    snprintf(disp, sizeof disp, "attachment; filename=\"%s.bin\"", api_param(r, "id"));
    MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
    MHD_add_response_header(resp, "Content-Disposition", disp);
    /* the file holds the weights only: say how its input was scaled (GET /v1/models/{id}
     * has the same), since `deepclust predict` reads the data as it is told */
    if (svc_model_get(r->ctx->server, api_param(r, "id"), &m, &e) == 0) {
        if (m.pre.known) {
            snprintf(pre, sizeof pre, "scale=%s; shift=%.9g; factor=%.9g; min=%.9g; max=%.9g",
                     m.pre.scale, m.pre.shift, m.pre.mult, m.pre.min, m.pre.max);
            MHD_add_response_header(resp, "Deepclust-Preprocess", pre);
        }
        free(m.arch);
    }
    r->bytes = (size_t)size;
    return api_reply(r, 200, resp);
}
