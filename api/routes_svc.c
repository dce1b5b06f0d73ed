/* routes_svc: handlers of the clustering routes (see handlers.h). Each parses the
 * request, calls one svc_* function and replies; errors are problem+json, with a
 * `field` member naming the offending JSON path or query parameter where there is one. */
#include "handlers.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
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

static int no_service(api_req *r)
{
    return api_problem(r, 503, "the clustering service is not running");
}

static int reply_err(api_req *r, int rc, const dc_err *e)
{
    return api_problem(r, svc_http_status(rc), "%s", e->msg[0] ? e->msg : dc_err_name(rc));
}

static int problem_field(api_req *r, int status, const char *field, const char *msg)
{
    return api_problem_ex(r, status, NULL, NULL, json_pack("{s:s}", "field", field), NULL, NULL,
                          "%s", msg);
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

/* Integer query parameter in [lo, hi] (dflt when absent). 0, or 1 after replying 400. */
static int query_int(api_req *r, const char *name, long long dflt, long long lo, long long hi,
                     long long *out)
{
    const char *v = query(r, name);
    char *end, msg[256];
    *out = dflt;
    if (!v) return 0;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    /* whole decimal: strtoll alone would also take " 5" and "+5" */
    if (!((*v >= '0' && *v <= '9') || *v == '-') || *end || errno || x < lo || x > hi) {
        snprintf(msg, sizeof msg,
                 "query parameter %s must be an integer in [%lld, %lld], got '%.60s'", name, lo, hi,
                 v);
        problem_field(r, 400, name, msg);
        return 1;
    }
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

static int bad_type(api_req *r, const char *got, const char *want)
{
    return api_problem(r, 415, "Content-Type %s is not accepted here; send %s",
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
    dc_err refused; /* why the upload was refused (slots, space) */
} upload;

/* The file and the upload slot go as soon as the handler is done with them, before the
 * reply reaches the client (the completion callback comes after). */
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
        if (!is_one_of(ct, upload_types)) return DC_EINVAL; /* the handler answers 415 */
        if (!(u = calloc(1, sizeof *u))) return DC_ENOMEM;
        u->fd = -1;
        r->user = u;
        r->user_free = upload_free;
        int brc = svc_upload_begin(service(r), &u->refused);
        if (brc < 0) return brc; /* SVC_EBUSY 429, SVC_ENOSPC 507 */
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
            return SVC_ENOSPC;
        }
        sha256_init(&u->sha);
    }
    if (u->fd < 0) return DC_EIO;
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
            return SVC_ENOSPC;
        }
        off += (size_t)w;
    }
    u->bytes += (int64_t)len;
    return 0;
}

/* Common checks of an upload handler: 0 when the file is ready to read (fd closed). */
static int upload_ready(api_req *r, upload **out)
{
    char ct[64];
    upload *u = r->user;

    *out = NULL;
    content_type(r, ct, sizeof ct);
    if (!is_one_of(ct, upload_types)) {
        bad_type(r, ct, "the file as application/octet-stream (or text/csv, application/x-npy, "
                        "application/gzip)");
        return 1;
    }
    if (r->body_error == SVC_EBUSY && u) {
        api_problem(r, 429, "%s", u->refused.msg);
        return 1;
    }
    if (r->body_error == SVC_ENOSPC && u) { /* the same 507 as a full database */
        api_problem(r, 507, "%s", u->refused.msg);
        return 1;
    }
    if (r->body_error == DC_EIO) {
        api_problem(r, 500, "cannot store the upload: %s",
                    u && u->err ? strerror(u->err) : "cannot create a temporary file");
        return 1;
    }
    if (r->body_error) {
        api_problem(r, 503, "cannot store the upload (%s)", dc_err_name(r->body_error));
        return 1;
    }
    if (!u || u->bytes == 0) {
        api_problem(r, 400, "empty body: send the file as the request body");
        return 1;
    }
    close(u->fd);
    u->fd = -1;
    *out = u;
    return 0;
}

static int enum_query(api_req *r, const char *name, const char *const *names, int *out)
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
    problem_field(r, 400, name, msg);
    return 1;
}

int api_h_dataset_create(api_req *r)
{
    static const char *const formats[] = {"auto", "idx", "npy", "csv", "dcf32", NULL};
    static const char *const scales[] = {"auto", "none", "255", NULL};
    static const char *const headers[] = {"auto", "yes", "no", NULL};
    svc_upload su = {0};
    upload *u;
    json_t *out = NULL;
    dc_err e = {0};
    char ct[64], loc[128];
    long long col;
    int rc;

    if (!service(r)) return no_service(r);
    if (upload_ready(r, &u)) return 0;
    content_type(r, ct, sizeof ct);
    if (strcmp(ct, "text/csv") == 0) su.format = DATA_FMT_CSV;
    else if (strcmp(ct, "application/x-npy") == 0) su.format = DATA_FMT_NPY;
    else if (strcmp(ct, "application/x-idx") == 0) su.format = DATA_FMT_IDX;
    if (enum_query(r, "format", formats, &su.format) || enum_query(r, "scale", scales, &su.scale) ||
        enum_query(r, "header", headers, &su.csv_header) ||
        query_int(r, "label_column", INT_MIN, -100000, 100000, &col))
        return 0;
    if (col != INT_MIN) su.csv_has_label = 1, su.csv_label_col = (int)col;
    su.name = query(r, "name");
    if (su.name && strlen(su.name) > 200)
        return problem_field(r, 400, "name", "name is longer than 200 bytes");
    sha256_final_hex(&u->sha, su.sha256);
    su.upload_bytes = u->bytes;
    rc = svc_dataset_import(service(r), u->path, &su, &out, &e);
    upload_done(u);
    if (rc < 0) return reply_err(r, rc, &e);
    json_object_set_new(out, "upload_bytes", json_integer(u->bytes));
    snprintf(loc, sizeof loc, "/v1/datasets/%s", json_string_value(json_object_get(out, "id")));
    return reply_json_loc(r, 201, out, loc);
}

int api_h_dataset_labels(api_req *r)
{
    upload *u;
    json_t *out = NULL;
    dc_err e = {0};
    int rc;

    if (!service(r)) return no_service(r);
    if (upload_ready(r, &u)) return 0;
    rc = svc_dataset_set_labels(service(r), api_param(r, "id"), u->path, &out, &e);
    upload_done(u);
    return rc < 0 ? reply_err(r, rc, &e) : api_reply_json(r, 200, out);
}

int api_h_dataset_list(api_req *r)
{
    long long limit, offset;
    json_t *out = NULL;
    dc_err e = {0};
    if (!service(r)) return no_service(r);
    if (query_int(r, "limit", 100, 1, SVC_PAGE_MAX, &limit) ||
        query_int(r, "offset", 0, 0, SVC_OFFSET_MAX, &offset))
        return 0;
    int rc = svc_dataset_list(service(r), (int)limit, offset, &out, &e);
    return rc < 0 ? reply_err(r, rc, &e) : api_reply_json(r, 200, out);
}

int api_h_dataset_get(api_req *r)
{
    json_t *out = NULL;
    dc_err e = {0};
    if (!service(r)) return no_service(r);
    int rc = svc_dataset_get(service(r), api_param(r, "id"), &out, &e);
    return rc < 0 ? reply_err(r, rc, &e) : api_reply_json(r, 200, out);
}

int api_h_dataset_delete(api_req *r)
{
    dc_err e = {0};
    if (!service(r)) return no_service(r);
    int rc = svc_dataset_delete(service(r), api_param(r, "id"), &e);
    return rc < 0 ? reply_err(r, rc, &e) : api_reply_buf(r, 204, NULL, "", 0);
}

/* ---- jobs -------------------------------------------------------------------------------- */

/* Parses the JSON body; 0, or 1 after replying 415/400. */
static int json_body(api_req *r, json_t **out)
{
    char ct[64];
    json_error_t je;
    *out = NULL;
    content_type(r, ct, sizeof ct);
    if (ct[0] && strcmp(ct, "application/json") != 0) {
        bad_type(r, ct, "application/json");
        return 1;
    }
    if (!r->body || !r->body_len) {
        api_problem(r, 400, "empty body: send a JSON object");
        return 1;
    }
    *out = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!*out) {
        api_problem(r, 400, "malformed JSON at line %d, column %d: %s", je.line, je.column,
                    je.text);
        return 1;
    }
    return 0;
}

int api_h_job_create(api_req *r)
{
    json_t *spec = NULL, *out = NULL;
    jobspec_error je = {0};
    dc_err e = {0};
    char loc[128];
    int rc;

    if (!service(r)) return no_service(r);
    if (json_body(r, &spec)) return 0;
    rc = svc_job_create(service(r), spec, &out, &je, &e);
    json_decref(spec);
    if (rc == DC_EINVAL && (je.code || je.status))
        return problem_field(r, je.code == DC_EFORMAT ? 400 : je.code == DC_EINVAL ? 422
                                : je.code ? 500 : je.status, je.field, je.msg);
    if (rc < 0) return reply_err(r, rc, &e);
    snprintf(loc, sizeof loc, "/v1/jobs/%s", json_string_value(json_object_get(out, "id")));
    return reply_json_loc(r, 202, out, loc);
}

int api_h_job_list(api_req *r)
{
    static const char *const statuses[] = {"queued", "running", "succeeded", "failed",
                                           "cancelled", NULL};
    long long limit, offset;
    json_t *out = NULL;
    dc_err e = {0};
    int st = -1;

    if (!service(r)) return no_service(r);
    if (query_int(r, "limit", 50, 1, SVC_PAGE_MAX, &limit) ||
        query_int(r, "offset", 0, 0, SVC_OFFSET_MAX, &offset) ||
        enum_query(r, "status", statuses, &st))
        return 0;
    int rc = svc_job_list(service(r), st >= 0 ? statuses[st] : NULL, (int)limit, offset, &out, &e);
    return rc < 0 ? reply_err(r, rc, &e) : api_reply_json(r, 200, out);
}

int api_h_job_get(api_req *r)
{
    json_t *out = NULL;
    dc_err e = {0};
    if (!service(r)) return no_service(r);
    int rc = svc_job_get(service(r), api_param(r, "id"), &out, &e);
    return rc < 0 ? reply_err(r, rc, &e) : api_reply_json(r, 200, out);
}

int api_h_job_iterations(api_req *r)
{
    long long since, limit;
    json_t *out = NULL;
    dc_err e = {0};
    if (!service(r)) return no_service(r);
    if (query_int(r, "since", -1, -1, LLONG_MAX, &since) ||
        query_int(r, "limit", 500, 1, SVC_PAGE_MAX, &limit))
        return 0;
    int rc = svc_job_iterations(service(r), api_param(r, "id"), since, (int)limit, &out, &e);
    return rc < 0 ? reply_err(r, rc, &e) : api_reply_json(r, 200, out);
}

int api_h_job_cancel(api_req *r)
{
    json_t *out = NULL;
    dc_err e = {0};
    if (!service(r)) return no_service(r);
    int rc = svc_job_cancel(service(r), api_param(r, "id"), &out, &e);
    return rc < 0 ? reply_err(r, rc, &e) : api_reply_json(r, 202, out);
}

int api_h_job_assignments(api_req *r)
{
    long long offset, limit;
    json_t *out = NULL;
    dc_err e = {0};
    if (!service(r)) return no_service(r);
    if (query_int(r, "offset", 0, 0, SVC_OFFSET_MAX, &offset) ||
        query_int(r, "limit", 1000, 1, SVC_ASSIGN_PAGE_MAX, &limit))
        return 0;
    int rc = svc_job_assignments(service(r), api_param(r, "id"), offset, (int)limit, &out, &e);
    return rc < 0 ? reply_err(r, rc, &e) : api_reply_json(r, 200, out);
}

/* ---- models ------------------------------------------------------------------------------ */

/* DELETE /v1/jobs/{id}: a finished job, its iterations, checkpoint and model.
 * 204; 404 no such job; 409 queued or running (cancel first). Works on a full disk. */
int api_h_job_delete(api_req *r)
{
    dc_err e = {0};
    if (!service(r)) return no_service(r);
    int rc = svc_job_delete(service(r), api_param(r, "id"), &e);
    return rc < 0 ? reply_err(r, rc, &e) : api_reply_buf(r, 204, NULL, "", 0);
}

/* DELETE /v1/models/{id}: the model (its job stays, model null). 204; 404. Works on a
 * full disk. */
int api_h_model_delete(api_req *r)
{
    dc_err e = {0};
    if (!service(r)) return no_service(r);
    int rc = svc_model_delete(service(r), api_param(r, "id"), &e);
    return rc < 0 ? reply_err(r, rc, &e) : api_reply_buf(r, 204, NULL, "", 0);
}

int api_h_model_get(api_req *r)
{
    json_t *out = NULL;
    dc_err e = {0};
    if (!service(r)) return no_service(r);
    int rc = svc_model_get(service(r), api_param(r, "id"), &out, &e);
    return rc < 0 ? reply_err(r, rc, &e) : api_reply_json(r, 200, out);
}

/* {"samples": [[...], ...], "embeddings": bool} -> x (n, d), malloc'd. 0, or 1 after
 * replying. */
static int predict_json_rows(api_req *r, const json_t *j, float **x, int64_t *n, int *d, int *z)
{
    const char *key;
    json_t *v, *samples = NULL;
    char path[96], msg[256];

    if (!json_is_object(j)) return problem_field(r, 400, "", "the body must be a JSON object"), 1;
    json_object_foreach((json_t *)j, key, v) {
        if (strcmp(key, "samples") == 0) samples = v;
        else if (strcmp(key, "embeddings") == 0) {
            if (!json_is_boolean(v))
                return problem_field(r, 400, "embeddings", "embeddings must be a boolean"), 1;
            *z = json_is_true(v);
        } else {
            snprintf(msg, sizeof msg, "unknown field %.60s", key);
            return problem_field(r, 400, key, msg), 1;
        }
    }
    if (!samples) return problem_field(r, 400, "samples", "samples is required"), 1;
    if (!json_is_array(samples) || json_array_size(samples) == 0)
        return problem_field(r, 400, "samples", "samples must be a non-empty array of rows"), 1;
    *n = (int64_t)json_array_size(samples);
    json_t *row0 = json_array_get(samples, 0);
    if (!json_is_array(row0) || json_array_size(row0) == 0)
        return problem_field(r, 400, "samples[0]",
                             "samples[0] must be a non-empty array of numbers"),
               1;
    size_t bytes;
    if (json_array_size(row0) > INT_MAX ||
        dc_mul3_size(*n, (int64_t)json_array_size(row0), sizeof(float), &bytes) < 0)
        return problem_field(r, 413, "samples", "samples is too large"), 1;
    *d = (int)json_array_size(row0);
    if (!(*x = malloc(bytes))) return api_problem(r, 503, "out of memory"), 1;
    for (int64_t i = 0; i < *n; i++) {
        json_t *row = json_array_get(samples, (size_t)i);
        if (!json_is_array(row) || (int)json_array_size(row) != *d) {
            snprintf(path, sizeof path, "samples[%lld]", (long long)i);
            snprintf(msg, sizeof msg,
                     "%s must be an array of %d numbers (the length of samples[0])", path, *d);
            return problem_field(r, 422, path, msg), 1;
        }
        for (int k = 0; k < *d; k++) {
            json_t *c = json_array_get(row, (size_t)k);
            double val = json_is_number(c) ? json_number_value(c) : NAN;
            if (!json_is_number(c) || !isfinite((float)val)) {
                snprintf(path, sizeof path, "samples[%lld][%d]", (long long)i, k);
                snprintf(msg, sizeof msg, "%s must be a finite number (float32)", path);
                return problem_field(r, json_is_number(c) ? 422 : 400, path, msg), 1;
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
static int predict_binary_rows(api_req *r, float **x, int64_t *n, int *d)
{
    const char *shape = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Shape");
    long long nn = -1, dd = -1;
    const char *field = shape ? "X-Shape" : "n";
    size_t bytes;
    int too_big = 0;
    char msg[256];

    if (shape && (query(r, "n") || query(r, "d")))
        return problem_field(r, 400, query(r, "n") ? "n" : "d",
                             "the shape is given twice: send X-Shape or ?n=&d=, not both"),
               1;
    if (shape) {
        if (parse_shape(shape, &nn, &dd, &too_big) < 0 || (!too_big && (nn < 1 || dd < 1)))
            return problem_field(r, 400, "X-Shape",
                                 "X-Shape must be 'n,d' (two positive integers)"),
                   1;
    } else {
        if (query_int(r, "n", -1, 1, INT64_MAX, &nn) || query_int(r, "d", -1, 1, INT_MAX, &dd))
            return 1;
        if (nn < 0 || dd < 0)
            return problem_field(r, 400, "X-Shape", "a binary body needs its shape: header "
                                 "X-Shape: n,d or query ?n=&d="), 1;
    }
    if (too_big || dd > INT_MAX || dc_mul3_size(nn, dd, sizeof(float), &bytes) < 0 ||
        bytes > API_PREDICT_MAX) {
        if (too_big)
            snprintf(msg, sizeof msg, "%s: a value is beyond %lld", shape ? "X-Shape" : "n/d",
                     (long long)INT64_MAX);
        else
            snprintf(msg, sizeof msg, "%s %lld x %lld float32 is over the predict body limit "
                     "of %d bytes%s", shape ? "X-Shape" : "shape", nn, dd, API_PREDICT_MAX,
                     dd > INT_MAX ? " (and d is over 2147483647)" : "");
        return problem_field(r, 413, field, msg), 1;
    }
    if (bytes != r->body_len) {
        snprintf(msg, sizeof msg, "shape %lld x %lld float32 is %zu bytes, the body has %zu",
                 nn, dd, bytes, r->body_len);
        return problem_field(r, 400, field, msg), 1;
    }
    if (!(*x = malloc(bytes))) return api_problem(r, 503, "out of memory"), 1;
    memcpy(*x, r->body, bytes); /* little-endian hosts only, as the format says */
    *n = nn;
    *d = (int)dd;
    return 0;
}

/* POST /v1/models/{id}/predict[?embeddings=true|false][&n=N&d=D]
 *   application/json {"samples": [[...], ...], "embeddings": bool} (the body's embeddings
 *   wins over the query's), or application/octet-stream float32 rows with X-Shape: n,d
 *   or ?n=&d=. 200 {model, n, k, labels, q[, embeddings]}; 400 bad shape or parameter,
 *   404 no model, 413 a shape over the body limit, 415, 422 wrong d or a NaN. */
int api_h_model_predict(api_req *r)
{
    static const char *const bools[] = {"false", "true", "0", "1", NULL};
    float *x = NULL;
    int64_t n = 0;
    int d = 0, z = 0, rc = 0;
    json_t *out = NULL, *j = NULL;
    dc_err e = {0};
    char ct[64];

    if (!service(r)) return no_service(r);
    if (enum_query(r, "embeddings", bools, &z)) goto out;
    z &= 1; /* "false" 0, "true" 1, "0" 2, "1" 3 */
    content_type(r, ct, sizeof ct);
    if (strcmp(ct, "application/octet-stream") == 0) {
        if (predict_binary_rows(r, &x, &n, &d)) goto out;
    } else if (!ct[0] || strcmp(ct, "application/json") == 0) {
        if (query(r, "n") || query(r, "d")) {
            problem_field(r, 400, query(r, "n") ? "n" : "d",
                          "?n= and ?d= give the shape of a float32 body "
                          "(application/octet-stream); a JSON body has its own");
            goto out;
        }
        if (json_body(r, &j) || predict_json_rows(r, j, &x, &n, &d, &z)) goto out;
    } else {
        bad_type(r, ct, "application/json or application/octet-stream (float32)");
        goto out;
    }
    rc = svc_model_predict(service(r), api_param(r, "id"), x, n, d, z, &out, &e);
    rc = rc < 0 ? reply_err(r, rc, &e) : api_reply_json(r, 200, out);
out:
    json_decref(j);
    free(x);
    return rc;
}
