/* api: route matching, replies, problem+json, metrics. See api.h. */
#include "api.h"
#include "svc.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- route matching ---------------------------------------------------------- */

/* Matches path against pattern segment by segment; fills params when r != NULL. */
static int path_matches(const char *pattern, const char *path, api_req *r)
{
    const char *p = pattern, *s = path;
    int np = 0;

    while (*p && *s) {
        if (*p != '/' || *s != '/') return 0;
        p++, s++;
        size_t pl = strcspn(p, "/"), sl = strcspn(s, "/");
        if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
            if (sl == 0 || sl >= API_PARAM_MAX || np >= API_MAX_PARAMS || pl - 2 >= 32)
                return 0;
            if (r) {
                memcpy(r->param_name[np], p + 1, pl - 2);
                r->param_name[np][pl - 2] = 0;
                memcpy(r->param[np], s, sl);
                r->param[np][sl] = 0;
            }
            np++;
        } else if (pl != sl || memcmp(p, s, pl) != 0) {
            return 0;
        }
        p += pl, s += sl;
    }
    if (*p || *s) return 0;
    if (r) r->n_params = np;
    return 1;
}

static int method_matches(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

/* Appends m to the comma-separated list unless it is there already. */
static void allow_add(char *allow, size_t cap, const char *m)
{
    size_t ml = strlen(m), len = strlen(allow);
    for (const char *a = allow; *a;) {
        size_t l = strcspn(a, ",");
        if (l == ml && memcmp(a, m, ml) == 0) return;
        a += l;
        while (*a == ',' || *a == ' ') a++;
    }
    if (len + ml + 3 > cap) return;
    snprintf(allow + len, cap - len, "%s%s", len ? ", " : "", m);
}

int api_route_find(const api_route *routes, const char *method, const char *path,
                   api_req *r, char *allow, size_t cap)
{
    int path_seen = 0;

    if (allow && cap) allow[0] = 0;
    for (int i = 0; routes[i].method; i++) {
        if (!path_matches(routes[i].pattern, path, NULL)) continue;
        path_seen = 1;
        if (method_matches(routes[i].method, method)) {
            if (r) {
                path_matches(routes[i].pattern, path, r);
                r->route = &routes[i];
                r->route_index = i;
            }
            return API_MATCH_OK;
        }
        if (allow && cap) {
            allow_add(allow, cap, routes[i].method);
            if (strcmp(routes[i].method, "GET") == 0) allow_add(allow, cap, "HEAD");
        }
    }
    return path_seen ? API_MATCH_NO_METHOD : API_MATCH_NO_PATH;
}

size_t api_route_limit(const api_req *r)
{
    if (!r->route) return 0;
    if (r->route->flags & API_ROUTE_UPLOAD) return r->ctx->max_upload;
    if (r->ctx->max_body && r->ctx->max_body < r->route->max_body) return r->ctx->max_body;
    return r->route->max_body;
}

/* ---- query parameters ------------------------------------------------------- */

/* Whether the comma-separated list has the entry name (len bytes). */
static int list_has(const char *list, const char *name, size_t len)
{
    for (const char *p = list; p && *p;) {
        size_t l = strcspn(p, ",");
        if (l == len && memcmp(p, name, len) == 0) return 1;
        p += l;
        if (*p == ',') p++;
    }
    return 0;
}

int api_query_allowed(const api_route *rt, const char *name)
{
    return rt && rt->query && list_has(rt->query, name, strlen(name));
}

/* Edit distance of a and b (short names only; larger than 3 reads as 3). */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int row[33];
    if (la > 32 || lb > 32) return 3;
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb] > 3 ? 3 : row[lb];
}

/* The declared name closest to name (at most 2 edits away) into buf, or "". */
static void closest(const char *list, const char *name, char *buf, size_t cap)
{
    int best = 3;
    buf[0] = 0;
    for (const char *p = list; p && *p;) {
        size_t l = strcspn(p, ",");
        char cand[64];
        snprintf(cand, sizeof cand, "%.*s", (int)l, p);
        int dist = edit_distance(name, cand);
        if (dist < best) best = dist, snprintf(buf, cap, "%s", cand);
        p += l;
        if (*p == ',') p++;
    }
}

/* The declared list for a message: "limit, offset" or "none". */
static void list_text(const char *list, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = 0;
    for (const char *p = list; p && *p && o + 1 < cap;) {
        size_t l = strcspn(p, ",");
        int w = snprintf(buf + o, cap - o, "%s%.*s", o ? ", " : "", (int)l, p);
        if (w < 0) break;
        o += (size_t)w;
        p += l;
        if (*p == ',') p++;
    }
    if (!buf[0]) snprintf(buf, cap, "none");
}

int api_query_validate(const api_route *rt, const char *const *names,
                       const char *const *values, int n, char *msg, size_t cap,
                       const char **field)
{
    char allowed[256], near[64];
    *field = NULL;
    list_text(rt->query, allowed, sizeof allowed);
    for (int i = 0; i < n; i++) {
        const char *name = names[i];
        if (!api_query_allowed(rt, name)) {
            closest(rt->query, name, near, sizeof near);
            snprintf(msg, cap, "unknown query parameter '%.60s' for %s %s%s%s%s (it takes: %s)",
                     name, rt->method, rt->pattern, near[0] ? "; did you mean '" : "", near,
                     near[0] ? "'?" : "", allowed);
            *field = name;
            return 400;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(names[j], name) == 0) {
                snprintf(msg, cap, "query parameter '%.60s' is given more than once", name);
                *field = name;
                return 400;
            }
        if (!values[i]) {
            snprintf(msg, cap, "query parameter '%.60s' has no value (write %.60s=...)", name,
                     name);
            *field = name;
            return 400;
        }
    }
    return 0;
}

enum { QUERY_MAX = 32 }; /* more parameters than any route takes: the rest is not read */

typedef struct query_list {
    const char *names[QUERY_MAX + 1], *values[QUERY_MAX + 1];
    int n;
    const char *nul; /* the first parameter whose name or value holds a NUL byte (%00) */
} query_list;

static enum MHD_Result query_collect(void *cls, enum MHD_ValueKind kind, const char *key,
                                     size_t key_size, const char *value, size_t value_size)
{
    query_list *q = cls;
    (void)kind;
    if (q->n > QUERY_MAX) return MHD_NO;
    q->names[q->n] = key ? key : "";
    q->values[q->n] = value;
    if (!q->nul && ((key && strlen(key) != key_size) || (value && strlen(value) != value_size)))
        q->nul = q->names[q->n];
    q->n++;
    return MHD_YES;
}

int api_query_check(api_req *r)
{
    query_list q = {.n = 0};
    char msg[512];
    const char *field;
    int status;

    if (!r->route) return 0;
    MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, query_collect, &q);
    if (q.n > QUERY_MAX) {
        snprintf(msg, sizeof msg, "more than %d query parameters", QUERY_MAX);
        return api_problem(r, 400, "%s", msg) < 0 ? DC_EIO : 400;
    }
    status = api_query_validate(r->route, q.names, q.values, q.n, msg, sizeof msg, &field);
    if (!status && q.nul) { /* "limit=5%00x" must not read as "5" */
        snprintf(msg, sizeof msg, "query parameter '%.60s' holds a NUL byte (%%00)", q.nul);
        field = q.nul, status = 400;
    }
    if (!status) return 0;
    if (api_problem_ex(r, status, NULL, NULL, json_pack("{s:s}", "field", field), NULL, NULL,
                       "%s", msg) < 0)
        return DC_EIO;
    return status;
}

const char *api_param(const api_req *r, const char *name)
{
    for (int i = 0; i < r->n_params; i++)
        if (strcmp(r->param_name[i], name) == 0) return r->param[i];
    return NULL;
}

/* ---- replies ----------------------------------------------------------------- */

int api_reply(api_req *r, int status, struct MHD_Response *resp)
{
    int rc = 0;
    if (!resp) return DC_ENOMEM;
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (MHD_queue_response(r->conn, (unsigned)status, resp) != MHD_YES) rc = DC_EIO;
    else r->status = status;
    MHD_destroy_response(resp);
    return rc;
}

static int reply_mem(api_req *r, int status, const char *ctype, const void *buf, size_t len,
                     enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)buf, mode);
    if (!resp) return DC_ENOMEM;
    if (ctype) MHD_add_response_header(resp, "Content-Type", ctype);
    r->bytes = len;
    return api_reply(r, status, resp);
}

int api_reply_buf(api_req *r, int status, const char *ctype, const void *buf, size_t len)
{
    return reply_mem(r, status, ctype, buf, len, MHD_RESPMEM_MUST_COPY);
}

int api_reply_static(api_req *r, int status, const char *ctype, const void *buf, size_t len)
{
    return reply_mem(r, status, ctype, buf, len, MHD_RESPMEM_PERSISTENT);
}

/* Serialises j (stolen) and queues it with ctype plus an optional header. */
static int reply_json_ex(api_req *r, int status, const char *ctype, json_t *j,
                         const char *hname, const char *hvalue)
{
    struct MHD_Response *resp;
    char *text = NULL;
    size_t len;
    int rc;

    if (!j || !(text = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9)))) {
        rc = DC_ENOMEM;
        goto out;
    }
    len = strlen(text);
    text[len++] = '\n'; /* json_dumps' NUL becomes a newline: nicer for curl */
    resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        rc = DC_ENOMEM;
        goto out;
    }
    text = NULL; /* owned by resp now */
    MHD_add_response_header(resp, "Content-Type", ctype);
    if (hname) MHD_add_response_header(resp, hname, hvalue);
    r->bytes = len;
    rc = api_reply(r, status, resp);
out:
    free(text);
    json_decref(j);
    return rc;
}

int api_reply_json(api_req *r, int status, json_t *j)
{
    return reply_json_ex(r, status, "application/json", j, NULL, NULL);
}

void api_scrub_paths(char *msg, size_t cap, const char *db_path)
{
    static const char up[] = ".upload-";
    size_t pl = db_path ? strlen(db_path) : 0, n = strlen(msg);
    char *p = msg;

    if (!pl || !cap) return;
    while ((p = strstr(p, db_path))) {
        size_t cut = pl;
        const char *with = "the database";
        if (strncmp(p + pl, up, sizeof up - 1) == 0) { /* mkstemp's "XXXXXX" suffix */
            cut += sizeof up - 1;
            for (int k = 0; k < 6 && p[cut]; k++) cut++;
            with = "the upload";
        }
        size_t off = (size_t)(p - msg), avail = cap - 1 - off; /* off < n < cap */
        size_t wl = strlen(with), tail = n - off - cut;
        if (wl > avail) wl = avail, tail = 0; /* cut to cap, still terminated */
        else if (wl + tail > avail) tail = avail - wl;
        memmove(p + wl, p + cut, tail);
        memcpy(p, with, wl);
        p[wl + tail] = 0;
        n = strlen(msg);
        p += wl;
    }
}

/* On PostgreSQL the service's local files (upload temp files "<base>.upload-XXXXXX") are
 * named after <spool>/deepclust-<pid>, not after db_path (a URL): scrub that base too. */
static void scrub_local_files(char *msg, size_t cap, const api_ctx *ctx)
{
    static const char suffix[] = ".upload-XXXXXX";
    char base[4200];
    size_t n;

    if (!ctx->server || svc_upload_template(ctx->server, base, sizeof base) < 0) return;
    n = strlen(base);
    if (n <= sizeof suffix - 1) return;
    base[n - (sizeof suffix - 1)] = 0;
    if (!ctx->db_path || strcmp(base, ctx->db_path) != 0) api_scrub_paths(msg, cap, base);
}

static int problem_v(api_req *r, int status, const char *type, const char *title,
                     json_t *extra, const char *hname, const char *hvalue, const char *fmt,
                     va_list ap)
{
    char detail[1024];
    json_t *j;

    vsnprintf(detail, sizeof detail, fmt, ap);
    if (r->ctx) {
        api_scrub_paths(detail, sizeof detail, r->ctx->db_path);
        scrub_local_files(detail, sizeof detail, r->ctx);
    }
    j = json_object();
    if (extra && j) json_object_update(j, extra);
    json_decref(extra);
    if (!j) return DC_ENOMEM;
    json_object_set_new(j, "type", json_string(type ? type : "about:blank"));
    json_object_set_new(j, "title", json_string(title ? title : api_status_text(status)));
    json_object_set_new(j, "status", json_integer(status));
    json_object_set_new(j, "detail", json_string(detail));
    if (r->path) json_object_set_new(j, "instance", json_string(r->path));
    return reply_json_ex(r, status, "application/problem+json", j, hname, hvalue);
}

int api_problem(api_req *r, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = problem_v(r, status, NULL, NULL, NULL, NULL, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

int api_problem_ex(api_req *r, int status, const char *type, const char *title,
                   json_t *extra, const char *hname, const char *hvalue, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = problem_v(r, status, type, title, extra, hname, hvalue, fmt, ap);
    va_end(ap);
    return rc;
}

/* The one map from error codes (core/dc_err.h) to HTTP statuses; nothing below api/
 * knows about statuses. A code not listed is 500. */
static const struct {
    int code, status;
} err_status[] = {
    {DC_EFORMAT, 400},   /* a body or file that does not parse */
    {DC_EINVAL, 422},    /* well-formed, but a value is wrong */
    {DC_ENUMERIC, 422},  /* NaN/Inf in the input */
    {DC_ENOTFOUND, 404},
    {DC_ECONFLICT, 409}, /* busy, or in the wrong state */
    {DC_ETOOLARGE, 413},
    {DC_EBUSY, 429},     /* over a count limit: retry later */
    {DC_ENOSPC, 507},    /* disk full */
    {DC_ENOMEM, 503},
};

int api_err_status(int code)
{
    for (size_t i = 0; i < sizeof err_status / sizeof *err_status; i++)
        if (err_status[i].code == code) return err_status[i].status;
    return 500;
}

int api_reply_err(api_req *r, int rc, const dc_err *e)
{
    return api_problem(r, api_err_status(rc), "%s", e->msg[0] ? e->msg : dc_err_name(rc));
}

int api_problem_field(api_req *r, int status, const char *field, const char *msg)
{
    return api_problem_ex(r, status, NULL, NULL, json_pack("{s:s}", "field", field), NULL, NULL,
                          "%s", msg);
}

int api_no_service(api_req *r)
{
    return api_problem(r, 503, "the clustering service is not running");
}

const char *api_status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

/* ---- metrics ----------------------------------------------------------------- */

enum { STATUS_MIN = 100, STATUS_N = 500 }; /* counts statuses 100..599 */

/* Latency histogram bucket bounds (seconds); the last bucket is +Inf. */
static const double lat_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                    0.1,    0.25,  0.5,    1,     2.5,  5,     10};
enum { LAT_N = sizeof lat_bounds / sizeof lat_bounds[0] + 1 };

struct api_metrics {
    pthread_mutex_t mu;
    int n_routes;                /* slots: n_routes + 1 (the last: no route matched) */
    unsigned long long *counts;  /* (n_routes + 1) x STATUS_N */
    unsigned long long *lat;     /* (n_routes + 1) x LAT_N, not cumulative */
    double *lat_sum;             /* (n_routes + 1) seconds */
};

api_metrics *api_metrics_new(int n_routes)
{
    api_metrics *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n_routes = n_routes;
    m->counts = calloc((size_t)(n_routes + 1) * STATUS_N, sizeof *m->counts);
    m->lat = calloc((size_t)(n_routes + 1) * LAT_N, sizeof *m->lat);
    m->lat_sum = calloc((size_t)(n_routes + 1), sizeof *m->lat_sum);
    if (!m->counts || !m->lat || !m->lat_sum || pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m->counts);
        free(m->lat);
        free(m->lat_sum);
        free(m);
        return NULL;
    }
    return m;
}

void api_metrics_free(api_metrics *m)
{
    if (!m) return;
    pthread_mutex_destroy(&m->mu);
    free(m->counts);
    free(m->lat);
    free(m->lat_sum);
    free(m);
}

void api_metrics_observe(api_metrics *m, int route_index, double seconds)
{
    int b = 0;
    if (!m) return;
    if (route_index < 0 || route_index >= m->n_routes) route_index = m->n_routes;
    while (b < LAT_N - 1 && seconds > lat_bounds[b]) b++;
    pthread_mutex_lock(&m->mu);
    m->lat[(size_t)route_index * LAT_N + (size_t)b]++;
    m->lat_sum[route_index] += seconds;
    pthread_mutex_unlock(&m->mu);
}

void api_metrics_count(api_metrics *m, int route_index, int status)
{
    if (!m || status < STATUS_MIN || status >= STATUS_MIN + STATUS_N) return;
    if (route_index < 0 || route_index >= m->n_routes) route_index = m->n_routes;
    pthread_mutex_lock(&m->mu);
    m->counts[(size_t)route_index * STATUS_N + (size_t)(status - STATUS_MIN)]++;
    pthread_mutex_unlock(&m->mu);
}

char *api_metrics_text(api_metrics *m, const api_route *routes)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    fputs("# HELP deepclust_http_requests_total HTTP requests answered, by route and status.\n"
          "# TYPE deepclust_http_requests_total counter\n", f);
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i <= m->n_routes; i++)
        for (int s = 0; s < STATUS_N; s++) {
            unsigned long long c = m->counts[(size_t)i * STATUS_N + (size_t)s];
            if (!c) continue;
            if (i < m->n_routes)
                fprintf(f, "deepclust_http_requests_total{method=\"%s\",route=\"%s\","
                        "status=\"%d\"} %llu\n", routes[i].method, routes[i].pattern,
                        s + STATUS_MIN, c);
            else
                fprintf(f, "deepclust_http_requests_total{method=\"\",route=\"unmatched\","
                        "status=\"%d\"} %llu\n", s + STATUS_MIN, c);
        }
    fputs("# HELP deepclust_http_request_duration_seconds Time from a request's arrival to "
          "its completion, by route.\n"
          "# TYPE deepclust_http_request_duration_seconds histogram\n", f);
    for (int i = 0; i <= m->n_routes; i++) {
        unsigned long long cum = 0;
        const unsigned long long *h = m->lat + (size_t)i * LAT_N;
        char lbl[300];
        for (int b = 0; b < LAT_N; b++) cum += h[b];
        if (!cum) continue;
        if (i < m->n_routes)
            snprintf(lbl, sizeof lbl, "method=\"%s\",route=\"%s\"", routes[i].method,
                     routes[i].pattern);
        else
            snprintf(lbl, sizeof lbl, "method=\"\",route=\"unmatched\"");
        cum = 0;
        for (int b = 0; b < LAT_N; b++) {
            cum += h[b];
            if (b < LAT_N - 1)
                fprintf(f, "deepclust_http_request_duration_seconds_bucket{%s,le=\"%g\"} %llu\n",
                        lbl, lat_bounds[b], cum);
            else
                fprintf(f, "deepclust_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n",
                        lbl, cum);
        }
        fprintf(f, "deepclust_http_request_duration_seconds_sum{%s} %.6f\n", lbl, m->lat_sum[i]);
        fprintf(f, "deepclust_http_request_duration_seconds_count{%s} %llu\n", lbl, cum);
    }
    pthread_mutex_unlock(&m->mu);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
