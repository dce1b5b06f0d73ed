/* fuzz_route: request lines against the route table (api_route_find in api/api.c) and,
 * for a matched /v1/ route without an upload hook, its handler with the query arguments
 * and body of the input on a fake request (fake_req.h), so that every query parameter
 * check (limit, offset, since, status, format, ...) sees arbitrary values.
 *
 * Input: method '\n' target '\n' body, where target is path[?query]; the query is split
 * on '&' and '=' and %-decoded as libmicrohttpd does. Invariants: the matcher answers
 * 200/404/405 the same with or without a request to fill; captures are non-empty
 * segments without '/'; a 405 names allowed methods; a handler queues one reply. */
#include <stdlib.h>
#include <string.h>

#include "fake_req.h"
#include "fuzz_util.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* In-place %XX and '+' decoding. */
static void unescape(char *s)
{
    char *w = s;
    for (; *s; s++) {
        if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            char c = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 2;
            *w++ = c ? c : '?'; /* a decoded NUL would cut the string: keep it visible */
        } else {
            *w++ = *s == '+' ? ' ' : *s;
        }
    }
    *w = 0;
}

static void parse_query(char *q)
{
    while (q && *q) {
        char *amp = strchr(q, '&');
        if (amp) *amp = 0;
        char *eq = strchr(q, '=');
        if (eq) *eq = 0;
        unescape(q);
        if (eq) unescape(eq + 1);
        if (*q) fake_arg(q, eq ? eq + 1 : "");
        q = amp ? amp + 1 : NULL;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1), allow[128];
    FUZZ_CHECK(copy != NULL, "out of memory");
    memcpy(copy, data, size);
    copy[size] = 0;
    api_ctx ctx;
    api_req r;
    fake_reset();
    fake_req_init(&r, &ctx);
    char *method = copy, *target = strchr(copy, '\n'), *body = NULL;
    if (!target || memchr(data, 0, size)) goto out; /* strings only, as MHD hands them */
    *target++ = 0;
    if ((body = strchr(target, '\n'))) *body++ = 0;
    char *q = strchr(target, '?');
    if (q) *q++ = 0;
    parse_query(q);

    int m0 = api_route_find(api_routes, method, target, NULL, NULL, 0);
    int m = api_route_find(api_routes, method, target, &r, allow, sizeof allow);
    FUZZ_CHECK(m == m0, "match %d with a request, %d without", m, m0);
    FUZZ_CHECK(m == API_MATCH_OK || m == API_MATCH_NO_PATH || m == API_MATCH_NO_METHOD,
               "match %d", m);
    if (m == API_MATCH_NO_METHOD) FUZZ_CHECK(allow[0] != 0, "405 without Allow");
    if (m != API_MATCH_OK) goto out;
    FUZZ_CHECK(r.route && r.route_index >= 0 && r.route == &api_routes[r.route_index],
               "route %d", r.route_index);
    FUZZ_CHECK(r.n_params >= 0 && r.n_params <= API_MAX_PARAMS, "%d params", r.n_params);
    for (int i = 0; i < r.n_params; i++) {
        FUZZ_CHECK(memchr(r.param[i], 0, API_PARAM_MAX) && r.param[i][0] &&
                           !strchr(r.param[i], '/'),
                   "capture %d '%.40s'", i, r.param[i]);
        FUZZ_CHECK(api_param(&r, r.param_name[i]) != NULL, "capture %s", r.param_name[i]);
    }
    if (strncmp(r.route->pattern, "/v1/", 4) != 0 || r.route->on_body) goto out;
    r.method = method;
    r.path = target;
    if (body && *body) {
        r.body_len = strlen(body);
        r.body = body;
        r.body_cap = r.body_len + 1;
    }
    int rc = r.route->handler(&r);
    FUZZ_CHECK(rc < 0 ? fake_queued() == 0 : fake_queued() == 1, "rc %d, %d replies queued", rc,
               fake_queued());
out:
    free(copy);
    return 0;
}
