/* http: the libmicrohttpd daemon that serves api_routes (api/api.h). It owns the
 * connection threads (an internal thread pool), checks every request against the route
 * table before any handler runs (404, 405 + Allow, 401, 413), accumulates small bodies,
 * keeps per-request state in MHD's *req_cls (freed in the completion callback), writes
 * one access-log line per request to stderr and counts requests for /metrics.
 *
 * Against slow and greedy clients it caps connections (in total and per client IP) and
 * gives each request a deadline for its headers and one for its body, on top of the
 * idle timeout: a small reaper thread closes a connection past its deadline (with a 408
 * problem+json when that cannot be mistaken for the answer to a later request). Without
 * a token it answers only requests whose Host is a loopback name or an allowed one (a
 * DNS-rebinding guard, 403).
 *
 *   http_config cfg = {.host = "127.0.0.1", .port = 0, .threads = 4};
 *   http_server *h = NULL;
 *   if (http_start(&h, &cfg, &ctx, &e) < 0) ...;
 *   printf("port %d\n", http_port(h));      // the real port when cfg.port was 0
 *   ...
 *   http_stop(h);                            // waits for the threads
 *
 * ctx (api_ctx) must outlive the server. */
#ifndef DC_HTTP_H
#define DC_HTTP_H

#include "api.h"
#include "dc_err.h"

typedef struct http_config {
    const char *host;     /* numeric address or name to bind; NULL = 127.0.0.1 */
    int port;             /* 0 = any free port (see http_port) */
    int threads;          /* connection threads; <= 0 = 4 */
    int timeout_s;        /* idle connection timeout; <= 0 = 60 */
    int access_log;       /* 1 = one line per request on stderr */
    int header_timeout_s; /* request line + headers must arrive within this; <= 0 = 10 */
    int body_timeout_s;   /* the body within this once the headers are in; <= 0 = 600 */
    int max_conns;        /* open connections in all; <= 0 = 1000 */
    int max_conns_per_ip; /* open connections of one client address; <= 0 = 64 */
    const char *const *allow_hosts; /* Host names accepted without a token besides
                                       loopback ones; "*" = any (guard off) */
    int n_allow_hosts;
} http_config;

/* Defaults of the limits above (also shown by `deepclust serve --help`). */
enum {
    HTTP_HEADER_TIMEOUT_S = 10,
    HTTP_BODY_TIMEOUT_S = 600,
    HTTP_MAX_CONNS = 1000,
    HTTP_MAX_CONNS_PER_IP = 64,
};

typedef struct http_server http_server;

int http_start(http_server **out, const http_config *cfg, api_ctx *ctx, dc_err *e);

/* The port the daemon listens on. */
int http_port(const http_server *h);

/* The bound address as text ("127.0.0.1", "::1"). */
const char *http_host(const http_server *h);

/* 1 when a request with this Host header value (len bytes; NULL = none) may be
 * answered without a token: localhost, *.localhost, 127.x.x.x, [::1] (any port), or a
 * name of allow (case-insensitive, without port; "*" allows any). */
int http_host_allowed(const char *host, size_t len, const char *const *allow, int n_allow);

/* Stops accepting, waits for the connection threads, frees h. NULL is a no-op. */
void http_stop(http_server *h);

#endif
