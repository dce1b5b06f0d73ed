/* routes_svc: handlers of the clustering routes (see handlers.h). Each parses the
 * request, calls one svc_* function and replies; errors are problem+json, with a
 * `field` member naming the offending JSON path or query parameter where there is one. */
#include "handlers.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "data.h"
#include "dc_size.h"
#include "sha256.h"
#include "svc.h"

/* ---- small helpers --------------------------------------------------------------------- */

static svc *service(api_req *r) { return r->ctx->server; }

/* A refusal that a parsing helper found: the helpers fill one and return DC_EINVAL without
 * replying; the handler replies it with reply_bad. */
typedef struct bad_req {
    int status;      /* 400, 413, 415, 422, 429, 500, 503, 507 */
    int has_field;   /* 1: the problem has a `field` member (possibly "") */
    char field[128]; /* the JSON path, query parameter or header at fault */
    char msg[1024];
} bad_req;

/* Fills b (field NULL = none); returns DC_EINVAL. */
static int bad(bad_req *b, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(bad_req *b, int status, const char *field, const char *fmt, ...)
{
    va_list ap;
    b->status = status;
    b->has_field = field != NULL;
    snprintf(b->field, sizeof b->field, "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(b->msg, sizeof b->msg, fmt, ap);
    va_end(ap);
    return DC_EINVAL;
}

static int reply_bad(api_req *r, const bad_req *b)
{
    return b->has_field ? api_problem_field(r, b->status, b->field, b->msg)
                        : api_problem(r, b->status, "%s", b->msg);
}

/* ---- replies: the JSON of the service's structs ----------------------------------------- */

/* A dataset's or model's preprocessing: {"scale", "mode", "shift", "factor",
 * "range": {"min", "max"}}, or null when it was not recorded. New reference. */
static json_t *preprocess_json(const svc_preprocess *p)
{
    if (!p->known) return json_null();
    return json_pack("{s:s, s:s, s:f, s:f, s:{s:f, s:f}}", "scale", p->scale, "mode", p->mode,
                     "shift", p->shift, "factor", p->mult, "range", "min", p->min, "max", p->max);
}

/* A dataset as the API shows it: the datasets row's columns in order, shape parsed,
 * unknown values null. New reference; NULL when out of memory. */
static json_t *dataset_json(const svc_dataset *d)
{
    json_t *shape = json_loads(d->shape, 0, NULL), *o;
    if (!shape) shape = json_string(d->shape);
    o = json_pack("{s:s, s:s, s:s, s:s?, s:I, s:i, s:o, s:b, s:o, s:I, s:s?, s:s}", "id", d->id,
                     "name", d->name, "format", d->format, "dtype", d->dtype[0] ? d->dtype : NULL,
                     "n", (json_int_t)d->n, "d", d->d, "shape", shape, "has_labels",
                     d->has_labels, "n_classes",
                     d->n_classes >= 0 ? json_integer(d->n_classes) : json_null(), "size_bytes",
                     (json_int_t)d->size_bytes, "sha256", d->sha256[0] ? d->sha256 : NULL,
                     "created_at", d->created_at);
    /* issue 13: the scaling applied at upload and the range of the stored values */
    if (o && d->pre.known) {
        json_object_set_new(o, "scale", json_string(d->pre.scale));
        json_object_set_new(o, "range", json_pack("{s:f, s:f}", "min", d->pre.min, "max",
                                                  d->pre.max));
        json_object_set_new(o, "preprocess", preprocess_json(&d->pre));
    } else if (o) {
        json_object_set_new(o, "scale", json_null());
        json_object_set_new(o, "range", json_null());
        json_object_set_new(o, "preprocess", json_null());
    }
    return o;
}

/* A number, or null when it is not finite (unknown). New reference. */
static json_t *real_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* A string, or null when empty (not set). New reference. */
static json_t *str_or_null(const char *v) { return v && v[0] ? json_string(v) : json_null(); }

/* A JSON document kept as text (spec, metrics): parsed, or the text itself when it does
 * not parse, null when there is none. New reference. */
static json_t *doc_or_null(const char *text)
{
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    return v ? v : text ? json_string(text) : json_null();
}

/* A job as the API shows it: the jobs row's columns in order, with the model, the spec
 * (when with_spec) and the timings last. New reference; NULL when out of memory. */
static json_t *job_json(const svc_job *j, int with_spec)
{
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "id", json_string(j->id));
    json_object_set_new(o, "dataset", str_or_null(j->dataset));
    json_object_set_new(o, "method", json_string(j->method));
    json_object_set_new(o, "n_clusters", json_integer(j->n_clusters));
    json_object_set_new(o, "seed", json_integer(j->seed));
    json_object_set_new(o, "status", json_string(j->status));
    json_object_set_new(o, "phase", str_or_null(j->phase));
    json_object_set_new(o, "progress", real_or_null(j->progress));
    json_object_set_new(o, "eta_s", real_or_null(j->eta_s));
    json_object_set_new(o, "samples_per_s", real_or_null(j->samples_per_s));
    json_object_set_new(o, "cancel_requested", json_boolean(j->cancel_requested));
    json_object_set_new(o, "error", j->error ? json_string(j->error) : json_null());
    json_object_set_new(o, "metrics", doc_or_null(j->metrics));
    json_object_set_new(o, "attempts", json_integer(j->attempts));
    json_object_set_new(o, "resume", json_boolean(j->resume));
    json_object_set_new(o, "created_at", str_or_null(j->created_at));
    json_object_set_new(o, "started_at", str_or_null(j->started_at));
    json_object_set_new(o, "finished_at", str_or_null(j->finished_at));
    json_object_set_new(o, "updated_at", str_or_null(j->updated_at));
    json_object_set_new(o, "model", str_or_null(j->model));
    if (with_spec) json_object_set_new(o, "spec", doc_or_null(j->spec));
    json_object_set_new(o, "timings", json_pack("{s:o, s:o}", "queued_s",
                                                real_or_null(j->queued_s), "running_s",
                                                real_or_null(j->running_s)));
    return o;
}

/* a (n, cols) row-major as an array of rows; non-finite values null. New reference;
 * NULL when out of memory. */
static json_t *matrix_json(const float *a, int64_t n, int cols)
{
    json_t *rows = json_array();
    for (int64_t i = 0; rows && i < n; i++) {
        json_t *r = json_array();
        for (int j = 0; r && j < cols; j++) {
            double v = a[i * cols + j];
            json_array_append_new(r, isfinite(v) ? json_real(v) : json_null());
        }
        if (!r || json_array_append_new(rows, r) < 0) {
            json_decref(rows);
            return NULL;
        }
    }
    return rows;
}

/* n labels as an array. New reference; NULL when out of memory. */
static json_t *labels_json(const int32_t *lab, int64_t n)
{
    json_t *a = json_array();
    for (int64_t i = 0; a && i < n; i++) json_array_append_new(a, json_integer(lab[i]));
    return a;
}

/* Replies j (stolen) with an extra Location header. */
static int reply_json_loc(api_req *r, int status, json_t *j, const char *location)
{
    char *text =
            j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9)) : NULL;
    struct MHD_Response *resp;
    json_decref(j);
    if (!text) return DC_ENOMEM;
    size_t len = strlen(text);
    text[len++] = '\n';
    resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return DC_ENOMEM;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Location", location);
    r->bytes = len;
    return api_reply(r, status, resp);
}

static const char *query(api_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* Integer query parameter in [lo, hi] (dflt when absent). 0, or DC_EINVAL with b a 400. */
static int query_int(api_req *r, const char *name, long long dflt, long long lo, long long hi,
                     long long *out, bad_req *b)
{
    const char *v = query(r, name);
    char *end;
    *out = dflt;
    if (!v) return 0;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    /* whole decimal: strtoll alone would also take " 5" and "+5" */
    if (!((*v >= '0' && *v <= '9') || *v == '-') || *end || errno || x < lo || x > hi)
        return bad(b, 400, name, "query parameter %s must be an integer in [%lld, %lld], "
                   "got '%.60s'", name, lo, hi, v);
    *out = x;
    return 0;
}

/* The media type of the request without parameters, lowercased ("" when absent). */
static void content_type(api_req *r, char *buf, size_t cap)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t n = 0;
    buf[0] = 0;
    if (!ct) return;
    while (*ct == ' ') ct++;
    for (; ct[n] && ct[n] != ';' && ct[n] != ' ' && n + 1 < cap; n++)
        buf[n] = (char)(ct[n] >= 'A' && ct[n] <= 'Z' ? ct[n] + 32 : ct[n]);
    buf[n] = 0;
}

static int is_one_of(const char *s, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0) return 1;
    return 0;
}

static const char *const upload_types[] = {
    "application/octet-stream", "application/gzip", "application/x-gzip", "text/csv",
    "text/plain", "application/x-npy", "application/x-idx", NULL};

/* No Content-Type, or curl's default for --data-binary: the bytes say what they are. */
static int sniffed_type(const char *ct)
{
    return !ct[0] || strcmp(ct, "application/x-www-form-urlencoded") == 0;
}

static int bad_type(bad_req *b, const char *got, const char *want)
{
    return bad(b, 415, NULL, "Content-Type %s is not accepted here; send %s",
               got[0] ? got : "(none)", want);
}

/* ---- uploads: the body goes to a temporary file beside the database ------------------ */

typedef struct upload {
    int fd;
    char path[PATH_MAX];
    sha256_ctx sha;
    int64_t bytes;
    svc *slot;    /* holds one of svc's upload slots (svc_upload_begin) until freed */
    int err;      /* errno of a failed temporary-file write */
    unsigned char head[512]; /* the first bytes, to sniff a body sent without a type */
    size_t head_len;
    dc_err refused; /* why the upload was refused (slots, space) */
} upload;

/* The file and the upload slot go as soon as the handler is done with them; http.c frees
 * the rest (upload_free) right after the handler replies, before the reply is sent. */
static void upload_done(upload *u)
{
    if (u->fd >= 0) close(u->fd);
    u->fd = -1;
    if (u->path[0]) unlink(u->path);
    u->path[0] = 0;
    svc_upload_end(u->slot);
    u->slot = NULL;
}

static void upload_free(void *p)
{
    upload *u = p;
    if (!u) return;
    upload_done(u);
    free(u);
}

/* on_body of the upload routes: bounded memory (one chunk at a time). */
int api_h_dataset_upload_body(api_req *r, const char *data, size_t len)
{
    upload *u = r->user;
    char ct[64];

    if (!u) {
        if (!service(r)) return DC_EINVAL; /* the handler answers 503 */
        content_type(r, ct, sizeof ct);
        if (!is_one_of(ct, upload_types) && !sniffed_type(ct))
            return DC_EINVAL; /* the handler answers 415 */
        if (!(u = calloc(1, sizeof *u))) return DC_ENOMEM;
        u->fd = -1;
        r->user = u;
        r->user_free = upload_free;
        int brc = svc_upload_begin(service(r), &u->refused);
        if (brc < 0) return brc; /* DC_EBUSY 429, DC_ENOSPC 507 */
        u->slot = service(r);
        if (svc_upload_template(service(r), u->path, sizeof u->path) < 0) {
            u->path[0] = 0;
            return DC_EIO;
        }
        u->fd = mkstemp(u->path);
        if (u->fd < 0) {
            u->err = errno;
            u->path[0] = 0;
            if (!svc_errno_nospace(u->err)) return DC_EIO;
            svc_nospace(&u->refused, "cannot store the upload", strerror(u->err));
            return DC_ENOSPC;
        }
        sha256_init(&u->sha);
    }
    if (u->fd < 0) return DC_EIO;
    for (size_t i = 0; i < len && u->head_len < sizeof u->head; i++)
        u->head[u->head_len++] = (unsigned char)data[i];
    sha256_update(&u->sha, data, len);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(u->fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            u->err = w < 0 ? errno : ENOSPC; /* a short write of 0 bytes: no space */
            /* give the space back at once: the rest of the body is discarded */
            if (ftruncate(u->fd, 0) != 0) { /* the unlink at the end frees it anyway */ }
            if (!svc_errno_nospace(u->err)) return DC_EIO;
            svc_nospace(&u->refused, "cannot store the upload", strerror(u->err));
            return DC_ENOSPC;
        }
        off += (size_t)w;
    }
    u->bytes += (int64_t)len;
    return 0;
}

/* Common checks of an upload handler: 0 when the file is ready to read (fd closed), or
 * DC_EINVAL with b the refusal (why the body was not stored, or an empty one). */
static int upload_ready(api_req *r, upload **out, bad_req *b)
{
    char ct[64];
    upload *u = r->user;

    *out = NULL;
    content_type(r, ct, sizeof ct);
    if (!is_one_of(ct, upload_types) && !sniffed_type(ct))
        return bad_type(b, ct, "the file as application/octet-stream (or text/csv, "
                               "application/x-npy, application/gzip)");
    if ((r->body_error == DC_EBUSY || r->body_error == DC_ENOSPC) && u)
        /* refused by svc_upload_begin, or a full disk: the same 507 as a full database */
        return bad(b, api_err_status(r->body_error), NULL, "%s", u->refused.msg);
    if (r->body_error == DC_EIO)
        return bad(b, 500, NULL, "cannot store the upload: %s",
                   u && u->err ? strerror(u->err) : "cannot create a temporary file");
    if (r->body_error)
        return bad(b, 503, NULL, "cannot store the upload (%s)", dc_err_name(r->body_error));
    if (!u || u->bytes == 0)
        return bad(b, 400, NULL, "empty body: send the file as the request body");
    if (sniffed_type(ct)) {
        int k = api_sniff(u->head, u->head_len);
        if (k == API_SNIFF_NONE || k == API_SNIFF_JSON)
            return bad_type(b, ct, "the file as application/octet-stream (or text/csv, "
                            "application/x-npy, application/gzip): these bytes are not IDX, "
                            "NPY, gzip, DCF32 or CSV text");
    }
    close(u->fd);
    u->fd = -1;
    *out = u;
    return 0;
}

/* Query parameter name, one of names (case-insensitive): *out = its index; untouched when
 * absent. 0, or DC_EINVAL with b a 400 listing the allowed values. */
static int enum_query(api_req *r, const char *name, const char *const *names, int *out,
                      bad_req *b)
{
    const char *v = query(r, name);
    char msg[256];
    if (!v) return 0;
    for (int i = 0; names[i]; i++)
        if (strcasecmp(v, names[i]) == 0) {
            *out = i;
            return 0;
        }
    size_t o = (size_t)snprintf(msg, sizeof msg, "query parameter %s: unknown value '%.60s' "
                                "(allowed: ", name, v);
    for (int i = 0; names[i] && o < sizeof msg; i++)
        o += (size_t)snprintf(msg + o, sizeof msg - o, "%s%s", i ? ", " : "", names[i]);
    if (o < sizeof msg) snprintf(msg + o, sizeof msg - o, ")");
    return bad(b, 400, name, "%s", msg);
}

/* ?shape=H,W[,C] into u (c 0 when not given); -1 when it is not that. */
static int parse_image_shape(const char *v, svc_upload *u)
{
    long long a[3] = {0, 0, 0};
    int k = 0;
    for (const char *p = v; k < 3;) {
        char *end;
        if (*p < '0' || *p > '9') return -1;
        errno = 0;
        a[k++] = strtoll(p, &end, 10);
        if (errno || a[k - 1] < 1 || a[k - 1] > 1000000) return -1;
        p = end;
        if (!*p) break;
        if (*p++ != ',') return -1;
        if (k == 3) return -1;
    }
    if (k < 2) return -1;
    u->shape_h = (int)a[0], u->shape_w = (int)a[1], u->shape_c = (int)a[2];
    return 0;
}

int api_h_dataset_create(api_req *r)
{
    static const char *const formats[] = {"auto", "idx", "npy", "csv", "dcf32", NULL};
    /* "255" is the older name of div255 */
    static const char *const scales[] = {"auto", "none", "255", "div255", "unit", NULL};
    static const char *const headers[] = {"auto", "yes", "no", NULL};
    svc_upload su = {0};
    svc_dataset ds;
    upload *u;
    json_t *out;
    dc_err e = {0};
    bad_req b;
    char ct[64], loc[128];
    long long col;
    int rc;

    if (!service(r)) return api_no_service(r);
    if (upload_ready(r, &u, &b) < 0) return reply_bad(r, &b);
    content_type(r, ct, sizeof ct);
    if (strcmp(ct, "text/csv") == 0) su.format = DATA_FMT_CSV;
    else if (strcmp(ct, "application/x-npy") == 0) su.format = DATA_FMT_NPY;
    else if (strcmp(ct, "application/x-idx") == 0) su.format = DATA_FMT_IDX;
    if (enum_query(r, "format", formats, &su.format, &b) < 0 ||
        enum_query(r, "scale", scales, &su.scale, &b) < 0 ||
        enum_query(r, "header", headers, &su.csv_header, &b) < 0 ||
        query_int(r, "label_column", INT_MIN, -100000, 100000, &col, &b) < 0)
        return reply_bad(r, &b);
    if (col != INT_MIN) su.csv_has_label = 1, su.csv_label_col = (int)col;
    if (su.scale == 3) su.scale = DATA_SCALE_255;
    else if (su.scale == 4) su.scale = SVC_SCALE_UNIT;
    if (query(r, "shape") && parse_image_shape(query(r, "shape"), &su) < 0)
        return api_problem_field(r, 400, "shape", "query parameter shape must be H,W or H,W,C "
                             "(positive integers, e.g. 28,28)");
    su.name = query(r, "name");
    if (su.name && strlen(su.name) > 200)
        return api_problem_field(r, 400, "name", "name is longer than 200 bytes");
    sha256_final_hex(&u->sha, su.sha256);
    su.upload_bytes = u->bytes;
    rc = svc_dataset_import(service(r), u->path, &su, &ds, &e);
    upload_done(u);
    if (rc == DC_EINVAL && su.shape_h && strncmp(e.msg, "shape ", 6) == 0)
        return api_problem_field(r, 422, "shape", e.msg);
    if (rc < 0) return api_reply_err(r, rc, &e);
    out = dataset_json(&ds);
    json_object_set_new(out, "upload_bytes", json_integer(u->bytes));
    snprintf(loc, sizeof loc, "/v1/datasets/%s", ds.id);
    return reply_json_loc(r, 201, out, loc);
}

int api_h_dataset_labels(api_req *r)
{
    svc_dataset ds;
    upload *u;
    dc_err e = {0};
    bad_req b;
    int rc;

    if (!service(r)) return api_no_service(r);
    if (upload_ready(r, &u, &b) < 0) return reply_bad(r, &b);
    rc = svc_dataset_set_labels(service(r), api_param(r, "id"), u->path, &ds, &e);
    upload_done(u);
    return rc < 0 ? api_reply_err(r, rc, &e) : api_reply_json(r, 200, dataset_json(&ds));
}

int api_h_dataset_list(api_req *r)
{
    long long limit, offset;
    svc_dataset *ds = NULL;
    int64_t total;
    json_t *items;
    dc_err e = {0};
    bad_req b;
    int n, rc;

    if (!service(r)) return api_no_service(r);
    if (query_int(r, "limit", 100, 1, SVC_PAGE_MAX, &limit, &b) < 0 ||
        query_int(r, "offset", 0, 0, SVC_OFFSET_MAX, &offset, &b) < 0)
        return reply_bad(r, &b);
    if ((rc = svc_dataset_list(service(r), (int)limit, offset, &ds, &n, &total, &e)) < 0)
        return api_reply_err(r, rc, &e);
    items = json_array();
    for (int i = 0; items && i < n; i++) json_array_append_new(items, dataset_json(&ds[i]));
    free(ds);
    return api_reply_json(r, 200, json_pack("{s:o, s:I, s:i, s:I}", "items", items, "total",
                                            (json_int_t)total, "limit", (int)limit, "offset",
                                            (json_int_t)offset));
}

int api_h_dataset_get(api_req *r)
{
    svc_dataset ds;
    dc_err e = {0};
    if (!service(r)) return api_no_service(r);
    int rc = svc_dataset_get(service(r), api_param(r, "id"), &ds, &e);
    return rc < 0 ? api_reply_err(r, rc, &e) : api_reply_json(r, 200, dataset_json(&ds));
}

int api_h_dataset_delete(api_req *r)
{
    dc_err e = {0};
    if (!service(r)) return api_no_service(r);
    int rc = svc_dataset_delete(service(r), api_param(r, "id"), &e);
    return rc < 0 ? api_reply_err(r, rc, &e) : api_reply_buf(r, 204, NULL, "", 0);
}

/* ---- jobs -------------------------------------------------------------------------------- */

/* Parses the JSON body (new reference in *out); 0, or DC_EINVAL with b a 415/400. */
static int json_body(api_req *r, json_t **out, bad_req *b)
{
    char ct[64];
    json_error_t je;
    *out = NULL;
    content_type(r, ct, sizeof ct);
    if (!r->body || !r->body_len) return bad(b, 400, NULL, "empty body: send a JSON object");
    if (ct[0] && strcmp(ct, "application/json") != 0 &&
        !(sniffed_type(ct) && api_sniff(r->body, r->body_len) == API_SNIFF_JSON))
        return bad_type(b, ct, "application/json");
    *out = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!*out)
        return bad(b, 400, NULL, "malformed JSON at line %d, column %d: %s", je.line, je.column,
                   je.text);
    return 0;
}

int api_h_job_create(api_req *r)
{
    json_t *spec = NULL;
    svc_job job;
    jobspec_error je = {0};
    dc_err e = {0};
    bad_req b;
    char loc[128];
    int rc;

    if (!service(r)) return api_no_service(r);
    if (json_body(r, &spec, &b) < 0) return reply_bad(r, &b);
    rc = svc_job_create(service(r), spec, &job, &je, &e);
    json_decref(spec);
    if (rc == DC_EINVAL && je.code) /* a field to blame: DC_EFORMAT 400, DC_EINVAL 422 */
        return api_problem_field(r, api_err_status(je.code), je.field, je.msg);
    if (rc < 0) return api_reply_err(r, rc, &e);
    snprintf(loc, sizeof loc, "/v1/jobs/%s", job.id);
    rc = reply_json_loc(r, 202, job_json(&job, 1), loc);
    svc_job_clear(&job);
    return rc;
}

int api_h_job_list(api_req *r)
{
    static const char *const statuses[] = {"queued", "running", "succeeded", "failed",
                                           "cancelled", NULL};
    long long limit, offset;
    svc_job *jobs = NULL;
    int64_t total, next;
    json_t *items, *out;
    dc_err e = {0};
    bad_req b;
    int st = -1, n, rc;

    if (!service(r)) return api_no_service(r);
    if (query_int(r, "limit", 50, 1, SVC_PAGE_MAX, &limit, &b) < 0 ||
        query_int(r, "offset", 0, 0, SVC_OFFSET_MAX, &offset, &b) < 0 ||
        enum_query(r, "status", statuses, &st, &b) < 0)
        return reply_bad(r, &b);
    rc = svc_job_list(service(r), st >= 0 ? statuses[st] : NULL, (int)limit, offset, &jobs, &n,
                      &total, &e);
    if (rc < 0) return api_reply_err(r, rc, &e);
    items = json_array();
    for (int i = 0; items && i < n; i++) json_array_append_new(items, job_json(&jobs[i], 0));
    svc_job_free_list(jobs, n);
    out = json_pack("{s:o, s:I, s:i, s:I}", "items", items, "total", (json_int_t)total, "limit",
                    (int)limit, "offset", (json_int_t)offset);
    /* next_offset (offset + limit, in 64 bits) while rows remain */
    if (out && dc_add_i64(offset, limit, &next) == 0 && next < total)
        json_object_set_new(out, "next_offset", json_integer(next));
    return api_reply_json(r, 200, out);
}

int api_h_job_get(api_req *r)
{
    svc_job job;
    dc_err e = {0};
    if (!service(r)) return api_no_service(r);
    int rc = svc_job_get(service(r), api_param(r, "id"), &job, &e);
    if (rc < 0) return api_reply_err(r, rc, &e);
    rc = api_reply_json(r, 200, job_json(&job, 1));
    svc_job_clear(&job);
    return rc;
}

/* One iterations row as the API shows it (unknown values null). New reference. */
static json_t *iteration_json(const svc_iteration *it)
{
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "seq", json_integer(it->seq));
    json_object_set_new(o, "phase", json_string(it->phase));
    json_object_set_new(o, "epoch", it->epoch != INT64_MIN ? json_integer(it->epoch) : json_null());
    json_object_set_new(o, "step", it->step != INT64_MIN ? json_integer(it->step) : json_null());
    json_object_set_new(o, "loss", real_or_null(it->loss));
    json_object_set_new(o, "acc", real_or_null(it->acc));
    json_object_set_new(o, "nmi", real_or_null(it->nmi));
    json_object_set_new(o, "ari", real_or_null(it->ari));
    json_object_set_new(o, "label_change", real_or_null(it->label_change));
    json_object_set_new(o, "elapsed_s", real_or_null(it->elapsed_s));
    json_object_set_new(o, "created_at", json_string(it->created_at));
    return o;
}

int api_h_job_iterations(api_req *r)
{
    long long since, limit;
    svc_iteration *its = NULL;
    json_t *items;
    int n;
    dc_err e = {0};
    bad_req b;
    if (!service(r)) return api_no_service(r);
    if (query_int(r, "since", -1, -1, LLONG_MAX, &since, &b) < 0 ||
        query_int(r, "limit", 500, 1, SVC_PAGE_MAX, &limit, &b) < 0)
        return reply_bad(r, &b);
    int rc = svc_job_iterations(service(r), api_param(r, "id"), since, (int)limit, &its, &n, &e);
    if (rc < 0) return api_reply_err(r, rc, &e);
    items = json_array();
    for (int i = 0; items && i < n; i++) json_array_append_new(items, iteration_json(&its[i]));
    /* next_since: the last seq here, or since when there is none */
    json_int_t next = n > 0 ? (json_int_t)its[n - 1].seq : (json_int_t)since;
    free(its);
    return api_reply_json(r, 200, json_pack("{s:s, s:o, s:I}", "job", api_param(r, "id"),
                                            "items", items, "next_since", next));
}

int api_h_job_cancel(api_req *r)
{
    svc_job job;
    dc_err e = {0};
    if (!service(r)) return api_no_service(r);
    int rc = svc_job_cancel(service(r), api_param(r, "id"), &job, &e);
    if (rc < 0) return api_reply_err(r, rc, &e);
    rc = api_reply_json(r, 202, job_json(&job, 1));
    svc_job_clear(&job);
    return rc;
}

int api_h_job_assignments(api_req *r)
{
    long long offset, limit;
    svc_assignments a;
    json_t *o;
    dc_err e = {0};
    bad_req b;
    if (!service(r)) return api_no_service(r);
    if (query_int(r, "offset", 0, 0, SVC_OFFSET_MAX, &offset, &b) < 0 ||
        query_int(r, "limit", 1000, 1, SVC_ASSIGN_PAGE_MAX, &limit, &b) < 0)
        return reply_bad(r, &b);
    int rc = svc_job_assignments(service(r), api_param(r, "id"), offset, (int)limit, &a, &e);
    if (rc < 0) return api_reply_err(r, rc, &e);
    o = json_pack("{s:s, s:s, s:s, s:I, s:i, s:I, s:i, s:o, s:o}", "job", api_param(r, "id"),
                  "model", a.model, "dataset", a.dataset, "n", (json_int_t)a.n, "k", a.k,
                  "offset", (json_int_t)a.offset, "limit", (int)limit, "labels",
                  labels_json(a.labels, a.count), "q", matrix_json(a.q, a.count, a.k));
    if (o && a.offset + a.count < a.n) /* both within [0, n] */
        json_object_set_new(o, "next_offset", json_integer(a.offset + a.count));
    svc_assignments_free(&a);
    return api_reply_json(r, 200, o);
}

/* ---- models ------------------------------------------------------------------------------ */

/* DELETE /v1/jobs/{id}: a finished job, its iterations, checkpoint and model.
 * 204; 404 no such job; 409 queued or running (cancel first). Works on a full disk. */
int api_h_job_delete(api_req *r)
{
    dc_err e = {0};
    if (!service(r)) return api_no_service(r);
    int rc = svc_job_delete(service(r), api_param(r, "id"), &e);
    return rc < 0 ? api_reply_err(r, rc, &e) : api_reply_buf(r, 204, NULL, "", 0);
}

/* DELETE /v1/models/{id}: the model (its job stays, model null). 204; 404. Works on a
 * full disk. */
int api_h_model_delete(api_req *r)
{
    dc_err e = {0};
    if (!service(r)) return api_no_service(r);
    int rc = svc_model_delete(service(r), api_param(r, "id"), &e);
    return rc < 0 ? api_reply_err(r, rc, &e) : api_reply_buf(r, 204, NULL, "", 0);
}

int api_h_model_get(api_req *r)
{
    svc_model_info m;
    dc_err e = {0};
    if (!service(r)) return api_no_service(r);
    int rc = svc_model_get(service(r), api_param(r, "id"), &m, &e);
    if (rc < 0) return api_reply_err(r, rc, &e);
    json_t *o = json_pack("{s:s, s:o, s:s, s:i, s:i, s:o, s:I, s:s}", "id", m.id, "job_id",
                          str_or_null(m.job), "method", m.method, "n_clusters", m.n_clusters,
                          "d", m.d, "arch", doc_or_null(m.arch), "size_bytes",
                          (json_int_t)m.size_bytes, "created_at", m.created_at);
    if (o) json_object_set_new(o, "preprocess", preprocess_json(&m.pre));
    free(m.arch);
    return api_reply_json(r, 200, o);
}

/* {"samples": [[...], ...], "embeddings": bool} -> x (n, d), malloc'd. 0, or DC_EINVAL
 * with b the refusal (field = the JSON path at fault). */
static int predict_json_rows(const json_t *j, float **x, int64_t *n, int *d, int *z,
                             bad_req *b)
{
    const char *key;
    json_t *v, *samples = NULL;
    char path[96];

    if (!json_is_object(j)) return bad(b, 400, "", "the body must be a JSON object");
    json_object_foreach((json_t *)j, key, v) {
        if (strcmp(key, "samples") == 0) samples = v;
        else if (strcmp(key, "embeddings") == 0) {
            if (!json_is_boolean(v))
                return bad(b, 400, "embeddings", "embeddings must be a boolean");
            *z = json_is_true(v);
        } else {
            return bad(b, 400, key, "unknown field %.60s", key);
        }
    }
    if (!samples) return bad(b, 400, "samples", "samples is required");
    if (!json_is_array(samples) || json_array_size(samples) == 0)
        return bad(b, 400, "samples", "samples must be a non-empty array of rows");
    *n = (int64_t)json_array_size(samples);
    json_t *row0 = json_array_get(samples, 0);
    if (!json_is_array(row0) || json_array_size(row0) == 0)
        return bad(b, 400, "samples[0]", "samples[0] must be a non-empty array of numbers");
    size_t bytes;
    if (json_array_size(row0) > INT_MAX ||
        dc_mul3_size(*n, (int64_t)json_array_size(row0), sizeof(float), &bytes) < 0)
        return bad(b, 413, "samples", "samples is too large");
    *d = (int)json_array_size(row0);
    if (!(*x = malloc(bytes))) return bad(b, 503, NULL, "out of memory");
    for (int64_t i = 0; i < *n; i++) {
        json_t *row = json_array_get(samples, (size_t)i);
        if (!json_is_array(row) || (int)json_array_size(row) != *d) {
            snprintf(path, sizeof path, "samples[%lld]", (long long)i);
            return bad(b, 422, path, "%s must be an array of %d numbers (the length of "
                       "samples[0])", path, *d);
        }
        for (int k = 0; k < *d; k++) {
            json_t *c = json_array_get(row, (size_t)k);
            double val = json_is_number(c) ? json_number_value(c) : NAN;
            if (!json_is_number(c) || !isfinite((float)val)) {
                snprintf(path, sizeof path, "samples[%lld][%d]", (long long)i, k);
                return bad(b, json_is_number(c) ? 422 : 400, path,
                           "%s must be a finite number (float32)", path);
            }
            (*x)[i * *d + k] = (float)val;
        }
    }
    return 0;
}

/* X-Shape "n,d": two decimal integers (spaces around them allowed). 0, or -1 when the
 * text is not that shape; the values are checked by the caller (they may be <= 0 or
 * beyond INT64_MAX: then *too_big). */
static int parse_shape(const char *s, long long *n, long long *d, int *too_big)
{
    long long v[2];
    const char *p = s;
    *too_big = 0;
    for (int i = 0; i < 2; i++) {
        char *end;
        while (*p == ' ') p++;
        if (!((*p >= '0' && *p <= '9') || *p == '-')) return -1;
        errno = 0;
        v[i] = strtoll(p, &end, 10);
        if (end == p) return -1;
        if (errno == ERANGE) *too_big = 1;
        p = end;
        while (*p == ' ') p++;
        if (i == 0 && *p++ != ',') return -1;
    }
    if (*p) return -1;
    *n = v[0], *d = v[1];
    return 0;
}

/* Binary body: float32 little-endian, shape from X-Shape "n,d" or ?n=&d=. n x d x 4 must
 * equal the body's length; it is computed with overflow checks (a product that wraps
 * could otherwise match a small body). */
static int predict_binary_rows(api_req *r, float **x, int64_t *n, int *d, bad_req *b)
{
    const char *shape = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Shape");
    long long nn = -1, dd = -1;
    const char *field = shape ? "X-Shape" : "n";
    size_t bytes;
    int too_big = 0;

    if (shape && (query(r, "n") || query(r, "d")))
        return bad(b, 400, query(r, "n") ? "n" : "d",
                   "the shape is given twice: send X-Shape or ?n=&d=, not both");
    if (shape) {
        if (parse_shape(shape, &nn, &dd, &too_big) < 0 || (!too_big && (nn < 1 || dd < 1)))
            return bad(b, 400, "X-Shape", "X-Shape must be 'n,d' (two positive integers)");
    } else {
        if (query_int(r, "n", -1, 1, INT64_MAX, &nn, b) < 0 ||
            query_int(r, "d", -1, 1, INT_MAX, &dd, b) < 0)
            return DC_EINVAL;
        if (nn < 0 || dd < 0)
            return bad(b, 400, "X-Shape", "a binary body needs its shape: header "
                       "X-Shape: n,d or query ?n=&d=");
    }
    if (too_big || dd > INT_MAX || dc_mul3_size(nn, dd, sizeof(float), &bytes) < 0 ||
        bytes > API_PREDICT_MAX) {
        if (too_big)
            return bad(b, 413, field, "%s: a value is beyond %lld", shape ? "X-Shape" : "n/d",
                       (long long)INT64_MAX);
        return bad(b, 413, field, "%s %lld x %lld float32 is over the predict body limit "
                   "of %d bytes%s", shape ? "X-Shape" : "shape", nn, dd, API_PREDICT_MAX,
                   dd > INT_MAX ? " (and d is over 2147483647)" : "");
    }
    if (bytes != r->body_len)
        return bad(b, 400, field, "shape %lld x %lld float32 is %zu bytes, the body has %zu",
                   nn, dd, bytes, r->body_len);
    if (!(*x = malloc(bytes))) return bad(b, 503, NULL, "out of memory");
    memcpy(*x, r->body, bytes); /* little-endian hosts only, as the format says */
    *n = nn;
    *d = (int)dd;
    return 0;
}

/* POST /v1/models/{id}/predict[?embeddings=true|false][&outliers=true|false][&n=N&d=D]
 *   [&strict=1]
 *   application/json {"samples": [[...], ...], "embeddings": bool} (the body's embeddings
 *   wins over the query's), application/octet-stream float32 rows with X-Shape: n,d
 *   or ?n=&d=, or application/x-npy (JSON and NPY also recognised without a type).
 *   The model's preprocessing is applied first (svc_model_prepare_input).
 *   200 {model, n, k, labels, q[, embeddings][, outliers: [{iforest, confidence,
 *   reconstruction}]], warnings}; 400 bad shape or parameter, 404 no model, 409 outliers
 *   of a model whose job was deleted, 413 a shape over the body limit, 415, 422 wrong d
 *   or a NaN, or with strict=1 input far outside the training range. */
int api_h_model_predict(api_req *r)
{
    static const char *const bools[] = {"false", "true", "0", "1", NULL};
    float *x = NULL;
    int64_t n = 0;
    int d = 0, z = 0, strict = 0, integer = 0, rc = 0;
    json_t *o, *j = NULL;
    svc_prediction p;
    svc_input_check chk;
    dc_err e = {0};
    bad_req b;
    char ct[64], msg[512];

    if (!service(r)) return api_no_service(r);
    if ((rc = enum_query(r, "embeddings", bools, &z, &b)) < 0 ||
        (rc = enum_query(r, "strict", bools, &strict, &b)) < 0)
        goto refuse;
    z &= 1; /* "false" 0, "true" 1, "0" 2, "1" 3 */
    strict &= 1;
    int outl = 0; /* ?outliers=1: the scores of svc_model_outliers too */
    if ((rc = enum_query(r, "outliers", bools, &outl, &b)) < 0) goto refuse;
    outl &= 1;
    content_type(r, ct, sizeof ct);
    int sniff = sniffed_type(ct) && r->body ? api_sniff(r->body, r->body_len) : API_SNIFF_NONE;
    if (strcmp(ct, "application/x-npy") == 0 || sniff == API_SNIFF_NPY) {
        if (query(r, "n") || query(r, "d"))
            rc = bad(&b, 400, query(r, "n") ? "n" : "d", "an NPY body has its own shape");
        else if (!r->body || !r->body_len)
            rc = bad(&b, 400, NULL, "empty body: send an NPY array (n, d)");
        else if ((rc = api_npy_rows(r->body, r->body_len, &x, &n, &d, &integer, msg,
                                    sizeof msg)) < 0)
            rc = bad(&b, rc == -2 ? 503 : 400, rc == -2 ? NULL : "body", "%s", msg);
    } else if (strcmp(ct, "application/octet-stream") == 0)
        rc = predict_binary_rows(r, &x, &n, &d, &b);
    else if (ct[0] && strcmp(ct, "application/json") != 0 && sniff != API_SNIFF_JSON)
        rc = bad_type(&b, ct, "application/json, application/x-npy or application/octet-stream "
                      "(float32)");
    else if (query(r, "n") || query(r, "d"))
        rc = bad(&b, 400, query(r, "n") ? "n" : "d", "?n= and ?d= give the shape of a float32 "
                 "body (application/octet-stream); a JSON body has its own");
    else if ((rc = json_body(r, &j, &b)) == 0)
        rc = predict_json_rows(j, &x, &n, &d, &z, &b);
    if (rc < 0) goto refuse;
    /* the model's scaling, and input far outside its training range: a warning, or with
     * strict=1 a refusal (issue 13: never a confident wrong answer in silence) */
    rc = svc_model_prepare_input(service(r), api_param(r, "id"), x, n, d, integer, &chk, &e);
    if (rc < 0) {
        rc = api_reply_err(r, rc, &e);
        goto out;
    }
    if (chk.far && strict) {
        rc = api_problem_field(r, 422, "samples", chk.msg);
        goto out;
    }
    rc = svc_model_predict(service(r), api_param(r, "id"), x, n, d, z, &p, &e);
    if (rc < 0) {
        rc = api_reply_err(r, rc, &e);
        goto out;
    }
    o = json_pack("{s:I, s:i, s:o, s:o}", "n", (json_int_t)p.n, "k", p.k, "labels",
                  labels_json(p.labels, p.n), "q", matrix_json(p.q, p.n, p.k));
    if (o && p.z) json_object_set_new(o, "embeddings", matrix_json(p.z, p.n, p.embed));
    if (o) json_object_set_new(o, "model", json_string(api_param(r, "id")));
    if (o) json_object_set_new(o, "warnings", chk.far ? json_pack("[s]", chk.msg) : json_array());
    svc_prediction_free(&p);
    if (outl) {
        svc_outlier_scores os;
        if ((rc = svc_model_outliers(service(r), api_param(r, "id"), x, n, d, &os, &e)) < 0) {
            json_decref(o);
            rc = api_reply_err(r, rc, &e);
            goto out;
        }
        json_t *a = json_array();
        for (int64_t i = 0; a && i < os.n; i++)
            json_array_append_new(a, api_outlier_scores_json(os.iforest[i], os.confidence[i],
                                                             os.recon[i]));
        if (o) json_object_set_new(o, "outliers", a);
        else json_decref(a);
        svc_outlier_scores_free(&os);
    }
    rc = api_reply_json(r, 200, o);
    goto out;
refuse:
    rc = reply_bad(r, &b);
out:
    json_decref(j);
    free(x);
    return rc;
}
