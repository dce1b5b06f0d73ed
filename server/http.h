/* http: the libmicrohttpd daemon that serves api_routes (api/api.h). It owns the
 * connection threads (an internal thread pool), checks every request against the route
 * table before any handler runs (404, 405 + Allow, 401, 413), accumulates small bodies,
 * keeps per-request state in MHD's *req_cls (freed in the completion callback), writes
 * one access-log line per request to stderr and counts requests for /metrics.
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
} http_config;

typedef struct http_server http_server;

int http_start(http_server **out, const http_config *cfg, api_ctx *ctx, dc_err *e);

/* The port the daemon listens on. */
int http_port(const http_server *h);

/* The bound address as text ("127.0.0.1", "::1"). */
const char *http_host(const http_server *h);

/* Stops accepting, waits for the connection threads, frees h. NULL is a no-op. */
void http_stop(http_server *h);

#endif
