/* http: the libmicrohttpd daemon; see http.h. The order of checks for a request is
 * the one api.h documents, after the Host guard: Host (403, only without a token),
 * route (404/405), token (401), query parameters (400), Content-Length (413), body,
 * handler.
 *
 * Deadlines: MHD 0.9.75 only has an idle timeout, which every byte resets. So each
 * connection is tracked (MHD_OPTION_NOTIFY_CONNECTION) with the phase it is in and
 * since when: HEAD (waiting for a request line and headers), BODY (headers in, body
 * coming), DRAIN (answered early, MHD still reads the rest of the body) or BUSY
 * (handler running or reply being sent: no deadline). A reaper thread sweeps the list
 * every REAP_EVERY_S and shuts down the socket of a connection past its deadline
 * (shutdown(2), not close: MHD then reads EOF and closes and frees the connection
 * itself). The list lock is held across the shutdown and across the CLOSED
 * notification, which MHD sends before it closes the fd, so the fd is never reused
 * under the reaper. */
#include "http.h"
#include "svc.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

enum { PH_HEAD, PH_BODY, PH_DRAIN, PH_BUSY };

#define REAP_EVERY_S 0.1

/* One open connection, as the reaper sees it; MHD's socket_context. */
typedef struct conn_track {
    struct conn_track *prev, *next;
    int fd;
    int phase;    /* PH_* */
    double since; /* dc_now_s() when the phase began */
    int requests; /* completed on this connection */
    int reaped;   /* the reaper shut it down: the handler must not answer */
} conn_track;

struct http_server {
    struct MHD_Daemon *d;
    api_ctx *ctx;
    int access_log;
    int port;
    char host[64];
    struct sockaddr_storage addr;
    atomic_int starting;   /* 1 while MHD_start_daemon runs */
    char start_error[256]; /* last message MHD logged while starting: why it failed */
    double header_s, body_s; /* deadlines */
    char **allow;          /* copies of cfg->allow_hosts */
    int n_allow;
    pthread_mutex_t lock;  /* conns, stop */
    pthread_cond_t wake;   /* the reaper's sleep; signalled to stop it */
    conn_track *conns;
    int stop, reaper_running;
    pthread_t reaper;
    pthread_mutex_t log_lock; /* repeated-message suppression in mhd_log */
    char log_last[256];
    double log_at;
    long log_repeats;
};

/* MHD's error log: to stderr with a prefix; also remembered for http_start's error. The
 * same message again within a second is counted, not printed (a client opening
 * thousands of connections over the limit would otherwise flood the log). */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    http_server *h = cls;
    char msg[256];
    size_t n;
    double now = dc_now_s();

    vsnprintf(msg, sizeof msg, fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = 0;
    if (atomic_load(&h->starting)) snprintf(h->start_error, sizeof h->start_error, "%s", msg);
    pthread_mutex_lock(&h->log_lock);
    if (strcmp(msg, h->log_last) == 0 && now - h->log_at < 1.0) {
        h->log_repeats++;
    } else {
        if (h->log_repeats)
            fprintf(stderr, "deepclust: http: (last message repeated %ld more times)\n",
                    h->log_repeats);
        fprintf(stderr, "deepclust: http: %s\n", msg);
        snprintf(h->log_last, sizeof h->log_last, "%s", msg);
        h->log_at = now, h->log_repeats = 0;
    }
    pthread_mutex_unlock(&h->log_lock);
}

/* Copies s into dst, replacing bytes a log line should not hold. */
static char *copy_printable(char *dst, const char *s)
{
    char *p = dst;
    for (; *s; s++) *p++ = (*s < 0x20 || *s == 0x7f) ? '?' : *s;
    *p = 0;
    return dst;
}

/* Compares the Authorization value (len bytes) with "Bearer <token>": the credentials
 * must be exactly the token, compared in time that depends only on the token's
 * length, never on where they differ. */
static int token_ok(const char *v, size_t len, const char *token)
{
    size_t tl = strlen(token), i = 7;
    unsigned char diff;

    if (!v || len < 7 || strncasecmp(v, "Bearer ", 7) != 0) return 0;
    while (i < len && v[i] == ' ') i++;
    while (len > i && (v[len - 1] == ' ' || v[len - 1] == '\t')) len--; /* trailing OWS */
    v += i, len -= i;
    diff = len != tl;
    for (i = 0; i < tl; i++) diff |= (unsigned char)((i < len ? v[i] : 0) ^ token[i]);
    return diff == 0;
}

/* Lowest address of a header name that lies after *cls (see value_whole). */
struct next_key { uintptr_t after, found; };
static enum MHD_Result next_key_it(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    struct next_key *k = cls;
    (void)kind, (void)key_size, (void)value, (void)value_size;
    if ((uintptr_t)key > k->after && (!k->found || (uintptr_t)key < k->found))
        k->found = (uintptr_t)key;
    return MHD_YES;
}

/* 0 when the header value v (len bytes as MHD reports them) was cut at a NUL the
 * client sent: "Bearer <token>\0junk" must not pass as "Bearer <token>". MHD up to
 * 0.9.77 keeps values as C strings (the length it reports is strlen), so the bytes
 * after a NUL are invisible through its API; but the values point into its copy of the
 * raw header block, where each line's CR LF (or bare LF) became NULs. A whole value is
 * therefore followed, 1 or 2 bytes later, by the next header's name, or, for the last
 * header, 2 to 4 bytes before the end of the block (its line end and the empty line).
 * A NUL plus anything makes the gap longer. (A NUL right before a bare-LF line end
 * looks like CR LF and passes; real clients send CR LF.) 1.0 gives real lengths, so
 * there a NUL inside the value is enough to refuse. */
static int value_whole(struct MHD_Connection *c, const char *method, const char *v,
                       size_t len)
{
    if (memchr(v, 0, len)) return 0;
#if MHD_VERSION < 0x01000000
    struct next_key k = {(uintptr_t)(v + len), 0};
    MHD_get_connection_values_n(c, MHD_HEADER_KIND, next_key_it, &k);
    if (k.found) return k.found - k.after >= 1 && k.found - k.after <= 2;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    if (!ci) return 0;
    uintptr_t end = (uintptr_t)method + ci->header_size;
    return end >= k.after + 2 && end <= k.after + 4;
#else
    (void)c, (void)method;
    return 1;
#endif
}

static enum MHD_Result mhd_result(int rc) { return rc == 0 ? MHD_YES : MHD_NO; }

/* ---- Host guard ------------------------------------------------------------------ */

static int is_loopback_name(const char *name)
{
    size_t n = strlen(name);
    struct in_addr a4;
    struct in6_addr a6;

    if (strcasecmp(name, "localhost") == 0) return 1;
    if (n > 10 && strcasecmp(name + n - 10, ".localhost") == 0) return 1; /* RFC 6761 */
    if (inet_pton(AF_INET, name, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, name, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

int http_host_allowed(const char *host, size_t len, const char *const *allow, int n_allow)
{
    char name[256];
    size_t n = 0, i = 0;

    for (int k = 0; k < n_allow; k++)
        if (strcmp(allow[k], "*") == 0) return 1;
    if (!host || !len || len >= sizeof name || memchr(host, 0, len)) return 0;
    if (host[0] == '[') { /* [v6]:port */
        const char *close = memchr(host, ']', len);
        if (!close) return 0;
        n = (size_t)(close - host - 1);
        memcpy(name, host + 1, n);
        i = (size_t)(close - host) + 1;
    } else {
        while (n < len && host[n] != ':') n++;
        memcpy(name, host, n);
        i = n;
    }
    name[n] = 0;
    if (i < len) { /* ":port", digits only */
        if (host[i] != ':' || i + 1 == len) return 0;
        for (i++; i < len; i++)
            if (host[i] < '0' || host[i] > '9') return 0;
    }
    if (n && name[n - 1] == '.') name[--n] = 0; /* "localhost." is localhost */
    if (!n) return 0;
    if (is_loopback_name(name)) return 1;
    for (int k = 0; k < n_allow; k++) {
        const char *a = allow[k];
        size_t al = strlen(a);
        if (al > 2 && a[0] == '[' && a[al - 1] == ']') a++, al -= 2; /* "[fd00::1]" */
        if (al == n && strncasecmp(a, name, n) == 0) return 1;
    }
    return 0;
}

/* ---- connection tracking and deadlines ------------------------------------------- */

static void track_unlink(http_server *h, conn_track *t)
{
    if (t->prev) t->prev->next = t->next;
    else h->conns = t->next;
    if (t->next) t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    http_server *h = cls;
    conn_track *t = *socket_ctx;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci || !(t = calloc(1, sizeof *t))) return; /* untracked: idle timeout only */
        t->fd = ci->connect_fd;
        t->phase = PH_HEAD;
        t->since = dc_now_s();
        pthread_mutex_lock(&h->lock);
        t->next = h->conns;
        if (h->conns) h->conns->prev = t;
        h->conns = t;
        pthread_mutex_unlock(&h->lock);
        *socket_ctx = t;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && t) {
        pthread_mutex_lock(&h->lock); /* MHD closes the fd after this returns */
        track_unlink(h, t);
        pthread_mutex_unlock(&h->lock);
        free(t);
        *socket_ctx = NULL;
    }
}

/* Moves the connection of r to phase; 0 when the reaper has shut it down already
 * (then nothing may be queued on it). */
static int track_phase(struct MHD_Connection *c, http_server *h, int phase)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    conn_track *t = ci ? ci->socket_context : NULL;
    int alive = 1;

    if (!t) return 1;
    pthread_mutex_lock(&h->lock);
    if (t->reaped) alive = 0;
    else if (t->phase != phase) t->phase = phase, t->since = dc_now_s();
    pthread_mutex_unlock(&h->lock);
    return alive;
}

/* Writes a 408 problem straight to the socket. Only called while MHD is reading a
 * request, when it writes nothing itself; best effort (non-blocking). */
static void send_408(int fd, const char *what, double limit_s)
{
    char body[256], msg[512];
    int bl = snprintf(body, sizeof body,
                      "{\"type\":\"about:blank\",\"title\":\"Request Timeout\",\"status\":408,"
                      "\"detail\":\"the request %s did not arrive within %g s\"}\n",
                      what, limit_s);
    int ml = snprintf(msg, sizeof msg,
                      "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/problem+json\r\n"
                      "Content-Length: %d\r\nConnection: close\r\n\r\n%s", bl, body);
    if (send(fd, msg, (size_t)ml, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) { /* closing anyway */ }
}

/* Shuts down every connection past its deadline. The 408 goes only to a first request
 * (or a body in progress): on a kept-alive connection waiting for its next request we
 * cannot tell an idle client from a slow one, and an unasked-for 408 there would be
 * read as the answer to the client's next request, so it is closed silently. */
static int reap_sweep(http_server *h, double now)
{
    int n = 0;
    for (conn_track *t = h->conns; t; t = t->next) {
        if (t->reaped || t->phase == PH_BUSY) continue;
        double limit = t->phase == PH_HEAD ? h->header_s : h->body_s;
        if (now - t->since < limit) continue;
        t->reaped = 1;
        if (t->phase == PH_BODY || (t->phase == PH_HEAD && t->requests == 0))
            send_408(t->fd, t->phase == PH_HEAD ? "headers" : "body", limit);
        shutdown(t->fd, SHUT_RDWR);
        n++;
    }
    return n;
}

static void *reaper_main(void *arg)
{
    http_server *h = arg;

    pthread_mutex_lock(&h->lock);
    while (!h->stop) {
        struct timespec ts;
        int n = reap_sweep(h, dc_now_s());
        if (n) { /* not under the lock: stderr may block */
            pthread_mutex_unlock(&h->lock);
            for (int k = 0; k < n; k++) api_metrics_count(h->ctx->metrics, -1, 408);
            fprintf(stderr, "deepclust: http: closed %d connection%s past the %g s header or "
                    "%g s body deadline\n", n, n == 1 ? "" : "s", h->header_s, h->body_s);
            pthread_mutex_lock(&h->lock);
            if (h->stop) break;
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(REAP_EVERY_S * 1e9);
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&h->wake, &h->lock, &ts);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

/* The first call for a request: Host, route, token and size checks; queues the error
 * if any. */
static enum MHD_Result first_call(http_server *h, api_req *r, const char *method)
{
    char allow[64];
    const char *cl;
    int m;

    if (!h->ctx->token || !*h->ctx->token) {
        const char *host = NULL;
        size_t hl = 0;
        char shown[128];
        if (MHD_lookup_connection_value_n(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST, 4,
                                          &host, &hl) != MHD_YES)
            host = NULL, hl = 0;
        if (!http_host_allowed(host, hl, (const char *const *)h->allow, h->n_allow)) {
            snprintf(shown, sizeof shown, "%.*s", (int)(hl < 100 ? hl : 100), host ? host : "");
            copy_printable(shown, shown);
            return mhd_result(api_problem(
                r, 403, "%s%s%s: without a token this server answers only requests for a "
                "loopback name (localhost, 127.0.0.1, [::1]); start it with --allow-host NAME "
                "or a --token to serve other names", host ? "Host '" : "no Host header",
                host ? shown : "", host ? "' is not allowed" : ""));
        }
    }
    m = api_route_find(api_routes, r->method, r->path, r, allow, sizeof allow);
    if (m == API_MATCH_NO_PATH)
        return mhd_result(api_problem(r, 404, "no route for %s", r->path));
    if (m == API_MATCH_NO_METHOD)
        return mhd_result(api_problem_ex(r, 405, NULL, NULL, NULL, "Allow", allow,
                                         "%s is not allowed on %s (allowed: %s)", r->method,
                                         r->path, allow));
    if (h->ctx->token && *h->ctx->token && !(r->route->flags & API_ROUTE_PUBLIC)) {
        const char *auth = NULL;
        size_t al = 0;
        if (MHD_lookup_connection_value_n(r->conn, MHD_HEADER_KIND,
                                          MHD_HTTP_HEADER_AUTHORIZATION, 13, &auth,
                                          &al) != MHD_YES)
            auth = NULL, al = 0;
        if (!auth || !value_whole(r->conn, method, auth, al) ||
            !token_ok(auth, al, h->ctx->token))
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
        r->body_error = DC_ETOOLARGE;
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

/* The handler's state (an upload's temporary file, its slot) goes as soon as the request
 * has its reply, before MHD sends it: a client that reads the answer finds it released. */
static void release_user(api_req *r)
{
    if (r->user_free) r->user_free(r->user);
    r->user = NULL, r->user_free = NULL;
}

/* The last call: the body is complete; run the handler. */
static enum MHD_Result reply_call(http_server *h, api_req *r)
{
    int rc;

    if (r->body_error == DC_ETOOLARGE) svc_limit_count(r->ctx->server, SVC_LIMIT_BODY);
    if (!track_phase(r->conn, h, PH_BUSY)) return MHD_NO; /* past its deadline */
    if (r->body_error == DC_ETOOLARGE)
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

static enum MHD_Result final_call(http_server *h, api_req *r)
{
    enum MHD_Result res = reply_call(h, r);
    release_user(r);
    return res;
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
        r->t0 = dc_now_s();
        *req_cls = r;
        (void)version;
        /* Headers complete: the body deadline starts, unless the reaper closed the
           connection first (it may have sent a 408: nothing else may be queued). */
        if (!track_phase(conn, h, PH_BODY)) return MHD_NO;
        enum MHD_Result res = first_call(h, r, method);
        if (r->status) track_phase(conn, h, PH_DRAIN); /* answered: the rest is dropped */
        return res;
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
    return final_call(h, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_server *h = cls;
    api_req *r = *req_cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    conn_track *t = ci ? ci->socket_context : NULL;

    if (t) { /* the next request on this connection has its header deadline from now */
        pthread_mutex_lock(&h->lock);
        t->phase = PH_HEAD;
        t->since = dc_now_s();
        t->requests++;
        pthread_mutex_unlock(&h->lock);
    }
    if (!r) return;
    if (h->access_log) {
        char when[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf(stderr, "%s %s %s %d %zu %.1fms%s\n", when, r->method, r->path, r->status,
                r->bytes, (dc_now_s() - r->t0) * 1e3,
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
    }
    if (r->status) {
        api_metrics_count(h->ctx->metrics, r->route_index, r->status);
        api_metrics_observe(h->ctx->metrics, r->route_index, dc_now_s() - r->t0);
    }
    release_user(r); /* a request that never reached its last call */
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
    unsigned max_conns = (unsigned)(cfg->max_conns > 0 ? cfg->max_conns : HTTP_MAX_CONNS);
    unsigned per_ip = (unsigned)(cfg->max_conns_per_ip > 0 ? cfg->max_conns_per_ip
                                                            : HTTP_MAX_CONNS_PER_IP);
    struct rlimit rl;
    int rc, gai;

    *out = NULL;
    if (cfg->port < 0 || cfg->port > 65535)
        return dc_err_set(e, DC_EINVAL, "port %d out of range 0..65535", cfg->port);
    /* Each connection is a descriptor; keep 64 for the database, uploads and logs. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)max_conns + 64) {
        rlim_t want = (rlim_t)max_conns + 64;
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        if (rl.rlim_cur < want || setrlimit(RLIMIT_NOFILE, &rl) != 0)
            return dc_err_set(e, DC_EINVAL, "%u connections need %llu file descriptors, but "
                              "the limit is %llu (ulimit -n): lower --max-conns or raise the limit", max_conns,
                              (unsigned long long)want, (unsigned long long)rl.rlim_cur);
    }
    h = calloc(1, sizeof *h);
    if (!h) return dc_err_set(e, DC_ENOMEM, "http: out of memory");
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->log_lock, NULL);
    pthread_cond_init(&h->wake, NULL);
    h->ctx = ctx;
    h->access_log = cfg->access_log;
    h->header_s = cfg->header_timeout_s > 0 ? cfg->header_timeout_s : HTTP_HEADER_TIMEOUT_S;
    h->body_s = cfg->body_timeout_s > 0 ? cfg->body_timeout_s : HTTP_BODY_TIMEOUT_S;
    if (cfg->n_allow_hosts > 0 &&
        !(h->allow = calloc((size_t)cfg->n_allow_hosts, sizeof *h->allow))) {
        rc = dc_err_set(e, DC_ENOMEM, "http: out of memory");
        goto out;
    }
    for (; h->n_allow < cfg->n_allow_hosts; h->n_allow++)
        if (!(h->allow[h->n_allow] = strdup(cfg->allow_hosts[h->n_allow]))) {
            rc = dc_err_set(e, DC_ENOMEM, "http: out of memory");
            goto out;
        }

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
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
        MHD_OPTION_CONNECTION_LIMIT, max_conns,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
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
    if (pthread_create(&h->reaper, NULL, reaper_main, h) != 0) {
        rc = dc_err_set(e, DC_EIO, "http: cannot start the deadline thread");
        goto out;
    }
    h->reaper_running = 1;
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
    if (h->d) MHD_stop_daemon(h->d); /* closes every connection (CLOSED notifications) */
    if (h->reaper_running) {
        pthread_mutex_lock(&h->lock);
        h->stop = 1;
        pthread_cond_signal(&h->wake);
        pthread_mutex_unlock(&h->lock);
        pthread_join(h->reaper, NULL);
    }
    while (h->conns) { /* none left after MHD_stop_daemon; in case */
        conn_track *t = h->conns;
        track_unlink(h, t);
        free(t);
    }
    for (int k = 0; k < h->n_allow; k++) free(h->allow[k]);
    free(h->allow);
    if (h->log_repeats)
        fprintf(stderr, "deepclust: http: (last message repeated %ld more times)\n",
                h->log_repeats);
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->log_lock);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
