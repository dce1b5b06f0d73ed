/* http: the libmicrohttpd daemon; see http.h. The order of checks for a request is
 * the one api.h documents: route (404/405), token (401), query parameters (400),
 * Content-Length (413), body, handler. */
#include "http.h"
#include "svc.h"

#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

struct http_server {
    struct MHD_Daemon *d;
    api_ctx *ctx;
    int access_log;
    int port;
    char host[64];
    struct sockaddr_storage addr;
    atomic_int starting;   /* 1 while MHD_start_daemon runs */
    char start_error[256]; /* last message MHD logged while starting: why it failed */
};

/* MHD's error log: to stderr with a prefix; also remembered for http_start's error. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    http_server *h = cls;
    char msg[256];
    size_t n;

    vsnprintf(msg, sizeof msg, fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = 0;
    fprintf(stderr, "deepclust: http: %s\n", msg);
    if (atomic_load(&h->starting)) snprintf(h->start_error, sizeof h->start_error, "%s", msg);
}

/* Copies s into dst, replacing bytes a log line should not hold. */
static char *copy_printable(char *dst, const char *s)
{
    char *p = dst;
    for (; *s; s++) *p++ = (*s < 0x20 || *s == 0x7f) ? '?' : *s;
    *p = 0;
    return dst;
}

/* Compares the Authorization header with "Bearer <token>" in time independent of where
 * they differ. */
static int token_ok(const char *header, const char *token)
{
    size_t hl, tl;
    unsigned char diff = 0;

    if (!header || strncasecmp(header, "Bearer ", 7) != 0) return 0;
    header += 7;
    while (*header == ' ') header++;
    hl = strlen(header), tl = strlen(token);
    for (size_t i = 0; i < tl; i++) diff |= (unsigned char)(header[i < hl ? i : 0] ^ token[i]);
    return diff == 0 && hl == tl;
}

static enum MHD_Result mhd_result(int rc) { return rc == 0 ? MHD_YES : MHD_NO; }

/* The first call for a request: route, token and size checks; queues the error if any. */
static enum MHD_Result first_call(http_server *h, api_req *r)
{
    char allow[64];
    const char *cl;
    int m;

    m = api_route_find(api_routes, r->method, r->path, r, allow, sizeof allow);
    if (m == API_MATCH_NO_PATH)
        return mhd_result(api_problem(r, 404, "no route for %s", r->path));
    if (m == API_MATCH_NO_METHOD)
        return mhd_result(api_problem_ex(r, 405, NULL, NULL, NULL, "Allow", allow,
                                         "%s is not allowed on %s (allowed: %s)", r->method,
                                         r->path, allow));
    if (h->ctx->token && *h->ctx->token && !(r->route->flags & API_ROUTE_PUBLIC)) {
        const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                       MHD_HTTP_HEADER_AUTHORIZATION);
        if (!token_ok(auth, h->ctx->token))
            return mhd_result(api_problem_ex(r, 401, NULL, NULL, NULL, "WWW-Authenticate",
                                             "Bearer realm=\"deepclust\"",
                                             auth ? "invalid bearer token"
                                                  : "missing Authorization: Bearer <token>"));
    }
    if (api_query_check(r)) return r->status ? MHD_YES : MHD_NO; /* 400 queued */
    cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (end == cl || *end)
            return mhd_result(api_problem(r, 400, "bad Content-Length: %s", cl));
        if (n > api_route_limit(r)) {
            svc_limit_count(r->ctx->server, SVC_LIMIT_BODY);
            return mhd_result(api_problem(r, 413, "body of %llu bytes exceeds the limit of "
                                          "%zu bytes for %s %s", n, api_route_limit(r),
                                          r->route->method, r->route->pattern));
        }
    }
    return MHD_YES;
}

/* One chunk of the body: counted against the route's limit, then accumulated or streamed. */
static void body_chunk(api_req *r, const char *data, size_t n)
{
    const api_route *rt = r->route;
    size_t limit = api_route_limit(r);

    if (r->body_error) return; /* discard the rest */
    if (n > limit - r->body_len) {
        r->body_error = 413;
        return;
    }
    if (rt->on_body) {
        int rc = rt->on_body(r, data, n);
        r->body_len += n;
        if (rc < 0) r->body_error = rc;
        return;
    }
    if (r->body_len + n + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 1024;
        while (cap < r->body_len + n + 1) cap *= 2;
        if (cap > limit + 1) cap = limit + 1;
        char *b = realloc(r->body, cap);
        if (!b) {
            r->body_error = DC_ENOMEM;
            return;
        }
        r->body = b, r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = 0;
}

/* The last call: the body is complete; run the handler. */
static enum MHD_Result final_call(api_req *r)
{
    int rc;

    if (r->body_error == 413) svc_limit_count(r->ctx->server, SVC_LIMIT_BODY);
    if (r->body_error == 413)
        return mhd_result(api_problem(r, 413, "body exceeds the limit of %zu bytes for %s %s",
                                      api_route_limit(r), r->route->method,
                                      r->route->pattern));
    if (r->body_error == DC_ENOMEM)
        return mhd_result(api_problem(r, 503, "out of memory reading the body"));
    rc = r->route->handler(r);
    if (!r->status)
        rc = api_problem(r, 500, "%s %s failed: %s", r->route->method, r->route->pattern,
                         rc < 0 ? dc_err_name(rc) : "no reply");
    return r->status ? MHD_YES : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    http_server *h = cls;
    api_req *r = *req_cls;

    if (!r) {
        /* method and path are copied: the log line is written after MHD may reuse its
         * buffers. */
        size_t ml = strlen(method), ul = strlen(url);
        r = calloc(1, sizeof *r + ml + ul + 2);
        if (!r) return MHD_NO;
        r->method = copy_printable((char *)(r + 1), method);
        r->path = copy_printable((char *)(r + 1) + ml + 1, url);
        r->conn = conn;
        r->ctx = h->ctx;
        r->route_index = -1;
        r->t0 = api_now();
        *req_cls = r;
        return first_call(h, r);
    }
    if (r->status) { /* already answered (an error before the body): drop the body */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        body_chunk(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return final_call(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_server *h = cls;
    api_req *r = *req_cls;

    if (!r) return;
    if (h->access_log) {
        char when[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf(stderr, "%s %s %s %d %zu %.1fms%s\n", when, r->method, r->path, r->status,
                r->bytes, (api_now() - r->t0) * 1e3,
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
    }
    if (r->status) {
        api_metrics_count(h->ctx->metrics, r->route_index, r->status);
        api_metrics_observe(h->ctx->metrics, r->route_index, api_now() - r->t0);
    }
    if (r->user_free) r->user_free(r->user);
    free(r->body);
    free(r);
    *req_cls = NULL;
}

int http_start(http_server **out, const http_config *cfg, api_ctx *ctx, dc_err *e)
{
    struct addrinfo hints = {0}, *ai = NULL;
    http_server *h = NULL;
    const char *host = cfg->host && *cfg->host ? cfg->host : "127.0.0.1";
    unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    int rc, gai;

    *out = NULL;
    if (cfg->port < 0 || cfg->port > 65535)
        return dc_err_set(e, DC_EINVAL, "port %d out of range 0..65535", cfg->port);
    h = calloc(1, sizeof *h);
    if (!h) return dc_err_set(e, DC_ENOMEM, "http: out of memory");
    h->ctx = ctx;
    h->access_log = cfg->access_log;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    gai = getaddrinfo(host, NULL, &hints, &ai);
    if (gai != 0 || !ai || ai->ai_addrlen > sizeof h->addr) {
        rc = dc_err_set(e, DC_EINVAL, "cannot resolve host %s: %s", host,
                        gai ? gai_strerror(gai) : "no address");
        goto out;
    }
    memcpy(&h->addr, ai->ai_addr, ai->ai_addrlen);
    if (ai->ai_family == AF_INET6) {
        ((struct sockaddr_in6 *)&h->addr)->sin6_port = htons((uint16_t)cfg->port);
        flags |= MHD_USE_IPv6;
    } else {
        ((struct sockaddr_in *)&h->addr)->sin_port = htons((uint16_t)cfg->port);
    }
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, h->host, sizeof h->host, NULL, 0,
                    NI_NUMERICHOST) != 0)
        snprintf(h->host, sizeof h->host, "%s", host);

    atomic_store(&h->starting, 1);
    h->d = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, h,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, /* first, to catch every message */
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads > 0 ? cfg->threads : 4),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(cfg->timeout_s > 0 ? cfg->timeout_s : 60),
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&h->addr,
        MHD_OPTION_END);
    atomic_store(&h->starting, 0);
    if (!h->d) {
        rc = dc_err_set(e, DC_EIO, "cannot listen on %s port %d: %s", h->host, cfg->port,
                        h->start_error[0] ? h->start_error : "libmicrohttpd failed to start");
        goto out;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info && info->port ? info->port : cfg->port;
    *out = h;
    h = NULL;
    rc = 0;
out:
    if (ai) freeaddrinfo(ai);
    http_stop(h);
    return rc;
}

int http_port(const http_server *h) { return h->port; }
const char *http_host(const http_server *h) { return h->host; }

void http_stop(http_server *h)
{
    if (!h) return;
    if (h->d) MHD_stop_daemon(h->d);
    free(h);
}
