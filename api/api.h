/* api: the HTTP surface of deepclust: the route table, per-request state, reply helpers
 * and problem+json errors. api/http.c runs the libmicrohttpd daemon and drives
 * every request through this module:
 *
 *   0. without a token, the Host header must name a loopback address or an allowed name
 *      (http.h, the DNS-rebinding guard) -> 403;
 *   1. api_route_find() matches method + path against api_routes[]: no pattern fits ->
 *      404, a pattern fits but not the method -> 405 with an Allow header;
 *   2. the bearer token is checked (unless the route is API_ROUTE_PUBLIC) -> 401;
 *   3. the query parameters are checked against the route's `query` list
 *      (api_query_check): an unknown, repeated or value-less one -> 400 naming it;
 *   4. Content-Length over the route's max_body -> 413, before any byte is read;
 *   5. the body is accumulated into req->body (or fed to the route's on_body hook);
 *   6. the route's handler runs once, with the whole body, and queues one reply.
 *
 * Adding a route: write a handler and add one row to api_routes[] in routes.c:
 *
 *   static int h_job_get(api_req *r)
 *   {
 *       const char *id = api_param(r, "id");          // from "/v1/jobs/{id}"
 *       json_t *j = ...;                               // look it up
 *       if (!j) return api_problem(r, 404, "no job %s", id);
 *       return api_reply_json(r, 200, j);              // steals j
 *   }
 *   { "GET", "/v1/jobs/{id}", h_job_get, 0, NULL, 0, NULL },
 *
 * A route that takes query parameters lists them in its row's last member
 * ("limit,offset,status"); any other parameter is refused before the handler runs, so a
 * handler reads only the names it declared (their values are still its to check).
 *
 * Handlers return 0 once they have queued a reply, or a negative DC_E* code; a handler
 * that fails without replying gets a generic 500 problem. Everything a handler needs
 * lives in api_req (valid until the request completes); the service-wide state is
 * req->ctx. Handlers must not block on training or long SQLite work. */
#ifndef DC_API_H
#define DC_API_H

#include <jansson.h>
#include <microhttpd.h>
#include <stddef.h>

#include "dc_err.h"
#include "dc_time.h"

typedef struct api_req api_req;

/* Replies once the body is complete. Returns 0 or a negative DC_E* code. */
typedef int (*api_handler)(api_req *r);

/* Streaming body hook (for uploads that must not sit in memory): called with each
 * chunk as it arrives, instead of accumulating into r->body; keep state in r->user.
 * A negative DC_E* return stops the upload: the handler still runs and should reply
 * with an error (r->body_error holds the code; a hook does not return DC_ETOOLARGE,
 * which means the body went over the route's limit). */
typedef int (*api_body_fn)(api_req *r, const char *data, size_t len);

enum {
    API_ROUTE_PUBLIC = 1u << 0, /* no bearer token needed (health checks) */
    API_ROUTE_UPLOAD = 1u << 1, /* body limit is ctx->max_upload (--max-upload-mb), not
                                   max_body */
};

typedef struct api_route {
    const char *method;  /* "GET", "POST", "DELETE", ...; a GET route also serves HEAD */
    const char *pattern; /* "/v1/jobs/{id}/cancel": "{name}" matches one non-empty segment */
    api_handler handler;
    size_t max_body;     /* bytes; 0 = no body allowed; checked against Content-Length
                            and again while reading (chunked uploads) */
    api_body_fn on_body; /* NULL: accumulate into r->body (keep max_body small then) */
    unsigned flags;      /* API_ROUTE_* */
    const char *query;   /* the query parameters it takes, comma-separated
                            ("limit,offset"); NULL = none. Checked by api_query_check;
                            api/openapi.yaml documents exactly these (test_svc_openapi) */
} api_route;

/* The route table, terminated by a row with method == NULL (routes.c). */
extern const api_route api_routes[];
int api_route_count(void);

/* Request counters for GET /metrics: by route (index into api_routes, or the last slot
 * for requests that matched none) and status code. Thread-safe. */
typedef struct api_metrics api_metrics;
api_metrics *api_metrics_new(int n_routes);
void api_metrics_free(api_metrics *m);
void api_metrics_count(api_metrics *m, int route_index, int status); /* -1: no route */
/* Records the latency of one answered request (seconds) in the route's histogram. */
void api_metrics_observe(api_metrics *m, int route_index, double seconds);
/* Appends the Prometheus text of the counters and latency histograms to a malloc'd
 * string; NULL on ENOMEM. */
char *api_metrics_text(api_metrics *m, const api_route *routes);

/* Service-wide state shared by every request; read-only once the daemon runs (except
 * metrics, which locks). Owned by the server. */
typedef struct api_ctx {
    const char *version;     /* DC_VERSION */
    const char *db_path;
    int schema_version;      /* of the database at start-up */
    const char *token;       /* bearer token; NULL or "" = no authentication */
    int workers;             /* training worker threads (configured) */
    double started;          /* dc_now_s() at start-up */
    api_metrics *metrics;
    void *server;            /* the clustering service (server/svc/svc.h's svc *); NULL
                                when the routes run without one (unit tests) */
    size_t max_upload;       /* body limit of API_ROUTE_UPLOAD routes, bytes */
    size_t max_body;         /* caps the max_body of the other routes (--max-body-mb);
                                0 = the table's own */
} api_ctx;

enum { API_MAX_PARAMS = 4, API_PARAM_MAX = 128 };

struct api_req {
    struct MHD_Connection *conn;
    api_ctx *ctx;
    const api_route *route;  /* NULL when none matched */
    int route_index;         /* into api_routes, -1 when none matched */
    const char *method;      /* borrowed from MHD, valid for the request */
    const char *path;        /* likewise */
    int n_params;            /* {name} captures of the pattern, in order */
    char param_name[API_MAX_PARAMS][32];
    char param[API_MAX_PARAMS][API_PARAM_MAX];
    char *body;              /* accumulated body, NUL-terminated; NULL when empty */
    size_t body_len;
    size_t body_cap;
    int body_error;          /* 0, or the DC_E* code that stopped reading the body:
                                DC_ETOOLARGE over the route's limit (413 then, before
                                the handler runs), DC_ENOMEM, or the on_body hook's */
    double t0;               /* dc_now_s() when the request arrived */
    int status;              /* of the reply queued (0 before) */
    size_t bytes;            /* body bytes of the reply queued */
    void *user;              /* handler / on_body state, freed by user_free */
    void (*user_free)(void *);
};

/* Outcome of matching a method and a path against a table. */
enum { API_MATCH_OK = 0, API_MATCH_NO_PATH = 404, API_MATCH_NO_METHOD = 405 };

/* Finds the route for method + path in routes (terminated by method == NULL). On
 * API_MATCH_OK, fills r->route, r->route_index and the {name} params. On
 * API_MATCH_NO_METHOD, writes the allowed methods ("GET, HEAD, POST") to allow
 * (cap bytes). r may be NULL to only test. */
int api_route_find(const api_route *routes, const char *method, const char *path,
                   api_req *r, char *allow, size_t cap);

/* The body limit that applies to r's route (max_body capped by ctx->max_body, or
 * ctx->max_upload for API_ROUTE_UPLOAD routes). */
size_t api_route_limit(const api_req *r);

/* Whether name is one of the query parameters rt declares. */
int api_query_allowed(const api_route *rt, const char *name);

/* Checks n query parameters (names[i], values[i]; a value NULL when the URL had no '=')
 * against rt's declared list: 0 when all are known, once each and with a value; else
 * 400 with a message for a person in msg (cap bytes) and *field = the offending name
 * (borrowed from names). Pure: the unit tests call it directly. */
int api_query_validate(const api_route *rt, const char *const *names,
                       const char *const *values, int n, char *msg, size_t cap,
                       const char **field);

/* api_query_validate over the request's query string; on an error, queues the 400
 * problem (member `field` = the parameter) and returns 400; 0 when all is well, or a
 * negative DC_E* code when replying failed. */
int api_query_check(api_req *r);

/* Value of a {name} capture, or NULL. */
const char *api_param(const api_req *r, const char *name);

/* Queues resp with status and records both for the access log and metrics. Takes
 * ownership of resp (destroyed here). Returns 0, or DC_EIO when MHD refuses. */
int api_reply(api_req *r, int status, struct MHD_Response *resp);

/* Replies with buf (copied) and a Content-Type. */
int api_reply_buf(api_req *r, int status, const char *content_type, const void *buf,
                  size_t len);

/* Replies with buf, which must outlive the response (static data). */
int api_reply_static(api_req *r, int status, const char *content_type, const void *buf,
                     size_t len);

/* Replies with j as application/json; steals the reference to j (j NULL -> 500). */
int api_reply_json(api_req *r, int status, json_t *j);

/* Replies application/problem+json {type, title, status, detail, instance}; type is
 * "about:blank" and title the status' reason phrase. Server paths in the detail are
 * replaced (api_scrub_paths). Returns 0 or DC_EIO. */
int api_problem(api_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The general form: type (NULL = "about:blank"), title (NULL = reason phrase), extra
 * members merged into the object (stolen; may be NULL; e.g. {"field": "cluster.tol"}),
 * and one extra header (name NULL = none; e.g. "Allow"). */
int api_problem_ex(api_req *r, int status, const char *type, const char *title,
                   json_t *extra, const char *hdr_name, const char *hdr_value,
                   const char *fmt, ...) __attribute__((format(printf, 8, 9)));

/* Replaces, in the NUL-terminated msg (cap bytes), every upload temp file name
 * ("<db_path>.upload-XXXXXX") with "the upload" and every other db_path with "the
 * database": error details never show where the server keeps its files. api_problem
 * applies it with ctx->db_path to every detail. */
void api_scrub_paths(char *msg, size_t cap, const char *db_path);

/* The HTTP status of a negative DC_E* code (core/dc_err.h): the one table of the
 * mapping (400 format, 422 invalid or numeric, 404 not found, 409 conflict, 413 too
 * large, 429 busy, 507 no space, 503 out of memory, 500 otherwise). */
int api_err_status(int code);

/* The reply of a failed svc_* call: its code's status (api_err_status) and message. */
int api_reply_err(api_req *r, int rc, const dc_err *e);
/* A problem naming the request field at fault ({"field": field}). */
int api_problem_field(api_req *r, int status, const char *field, const char *msg);
/* 503: the server runs without the clustering service. */
int api_no_service(api_req *r);

/* Reason phrase of an HTTP status ("Not Found"). */
const char *api_status_text(int status);

/* The embedded api/openapi.yaml (cmake/embed_file.cmake). */
extern const char openapi_yaml[];
extern const size_t openapi_yaml_len;

#endif
