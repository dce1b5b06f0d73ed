/* test_server_routes: route matching (api_route_find) on a table shaped like the v1
 * API: exact paths, {id} captures, 404 vs 405 with the Allow list, HEAD served by GET
 * routes, over-long segments; the real table's invariants; the query parameter check
 * (api_query_validate: unknown, misspelled, repeated, value-less); the metrics text; the
 * map from error codes to statuses (api_err_status) and the error list it reads. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "check.h"

static int h_dummy(api_req *r) { return 0; }

static const api_route table[] = {
    {"GET", "/healthz", h_dummy, 0, NULL, API_ROUTE_PUBLIC, NULL},
    {"GET", "/v1/jobs", h_dummy, 0, NULL, 0, "status,limit,offset"},
    {"POST", "/v1/jobs", h_dummy, 65536, NULL, 0, NULL},
    {"GET", "/v1/jobs/{id}", h_dummy, 0, NULL, 0, NULL},
    {"DELETE", "/v1/jobs/{id}", h_dummy, 0, NULL, 0, NULL},
    {"POST", "/v1/jobs/{id}/cancel", h_dummy, 0, NULL, 0, NULL},
    {"GET", "/v1/models/{model}/clusters/{k}", h_dummy, 0, NULL, 0, NULL},
    {NULL, NULL, NULL, 0, NULL, 0, NULL},
};

static int find(const char *method, const char *path, api_req *r, char *allow)
{
    memset(r, 0, sizeof *r);
    r->route_index = -1;
    return api_route_find(table, method, path, r, allow, 64);
}

/* Every code of the one list has a distinct value, a message, and the status the API
 * has always given it. */
static void test_err_status(void)
{
    static const struct { int code, status; } want[] = {
        {DC_EFORMAT, 400},   {DC_EINVAL, 422},    {DC_ENUMERIC, 422}, {DC_ENOTFOUND, 404},
        {DC_ECONFLICT, 409}, {DC_ETOOLARGE, 413}, {DC_EBUSY, 429},    {DC_ENOSPC, 507},
        {DC_ENOMEM, 503},    {DC_EIO, 500},       {DC_ECANCEL, 500},  {-99, 500},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        CHECK_MSG(api_err_status(want[i].code) == want[i].status,
                  "api_err_status(%d): expected %d, got %d", want[i].code, want[i].status,
                  api_err_status(want[i].code));
    /* values persisted nowhere, but quoted in logs: they stay */
    CHECK_EQ_INT(DC_ENOTFOUND, -20);
    CHECK_EQ_INT(DC_ENOSPC, -23);
    CHECK_EQ_INT(DC_EBUSY, -24);
    static const int codes[] = {
#define XX(name, value, msg) DC_##name,
        DC_ERR_MAP(XX)
#undef XX
    };
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        CHECK_MSG(strcmp(dc_err_name(codes[i]), "error") != 0, "code %d has no message",
                  codes[i]);
        for (size_t j = 0; j < i; j++)
            CHECK_MSG(codes[i] != codes[j], "codes %zu and %zu share value %d", i, j, codes[i]);
    }
    CHECK(strcmp(dc_err_name(DC_EINVAL), "invalid argument") == 0);
    CHECK(strcmp(dc_err_name(-99), "error") == 0);
}

int main(void)
{
    test_err_status();
    api_req r;
    char allow[64];

    CHECK_EQ_INT(find("GET", "/healthz", &r, allow), API_MATCH_OK);
    CHECK_EQ_INT(r.route_index, 0);
    CHECK_EQ_INT(r.n_params, 0);

    CHECK_EQ_INT(find("POST", "/v1/jobs", &r, allow), API_MATCH_OK);
    CHECK_EQ_INT(r.route_index, 2);
    CHECK(r.route == &table[2]);

    CHECK_EQ_INT(find("GET", "/v1/jobs/job_42", &r, allow), API_MATCH_OK);
    CHECK_EQ_INT(r.route_index, 3);
    CHECK_EQ_INT(r.n_params, 1);
    CHECK_MSG(api_param(&r, "id") && strcmp(api_param(&r, "id"), "job_42") == 0,
              "id: expected job_42, got %s", api_param(&r, "id") ? api_param(&r, "id") : "NULL");
    CHECK(api_param(&r, "nope") == NULL);

    CHECK_EQ_INT(find("POST", "/v1/jobs/abc/cancel", &r, allow), API_MATCH_OK);
    CHECK_EQ_INT(r.route_index, 5);
    CHECK(strcmp(api_param(&r, "id"), "abc") == 0);

    CHECK_EQ_INT(find("GET", "/v1/models/m1/clusters/7", &r, allow), API_MATCH_OK);
    CHECK_EQ_INT(r.n_params, 2);
    CHECK(strcmp(api_param(&r, "model"), "m1") == 0);
    CHECK(strcmp(api_param(&r, "k"), "7") == 0);

    /* HEAD is served by GET routes. */
    CHECK_EQ_INT(find("HEAD", "/v1/jobs/x", &r, allow), API_MATCH_OK);
    CHECK_EQ_INT(r.route_index, 3);

    /* Unknown paths: 404 (empty segment, trailing slash, extra or missing segments). */
    CHECK_EQ_INT(find("GET", "/v1/jobs/", &r, allow), API_MATCH_NO_PATH);
    CHECK_EQ_INT(find("GET", "/healthz/", &r, allow), API_MATCH_NO_PATH);
    CHECK_EQ_INT(find("GET", "/v1/jobs/a/b", &r, allow), API_MATCH_NO_PATH);
    CHECK_EQ_INT(find("GET", "/v1", &r, allow), API_MATCH_NO_PATH);
    CHECK_EQ_INT(find("GET", "/", &r, allow), API_MATCH_NO_PATH);
    CHECK_EQ_INT(find("GET", "", &r, allow), API_MATCH_NO_PATH);
    CHECK_EQ_INT(find("GET", "/healthzz", &r, allow), API_MATCH_NO_PATH);
    CHECK_EQ_INT(r.route_index, -1);
    {
        char longp[400] = "/v1/jobs/";
        memset(longp + 9, 'x', 300);
        longp[309] = 0;
        CHECK_EQ_INT(find("GET", longp, &r, allow), API_MATCH_NO_PATH);
    }

    /* Known path, wrong method: 405 and the methods that would do. */
    CHECK_EQ_INT(find("PUT", "/v1/jobs", &r, allow), API_MATCH_NO_METHOD);
    CHECK_MSG(strcmp(allow, "GET, HEAD, POST") == 0, "Allow: expected 'GET, HEAD, POST', got '%s'",
              allow);
    CHECK_EQ_INT(find("POST", "/v1/jobs/j1", &r, allow), API_MATCH_NO_METHOD);
    CHECK_MSG(strcmp(allow, "GET, HEAD, DELETE") == 0,
              "Allow: expected 'GET, HEAD, DELETE', got '%s'", allow);
    CHECK_EQ_INT(find("GET", "/v1/jobs/j1/cancel", &r, allow), API_MATCH_NO_METHOD);
    CHECK_MSG(strcmp(allow, "POST") == 0, "Allow: expected 'POST', got '%s'", allow);
    CHECK(r.route == NULL);
    CHECK_EQ_INT(api_route_find(table, "DELETE", "/healthz", NULL, NULL, 0),
                 API_MATCH_NO_METHOD);

    /* The real table: health is public, the others need the token, GETs take no body. */
    int n = api_route_count(), saw_health = 0;
    CHECK(n >= 3);
    for (int i = 0; i < n; i++) {
        const api_route *rt = &api_routes[i];
        CHECK_MSG(rt->handler != NULL, "route %s %s has no handler", rt->method, rt->pattern);
        CHECK_MSG(rt->pattern[0] == '/', "pattern %s must start with /", rt->pattern);
        if (strcmp(rt->pattern, "/healthz") == 0) {
            saw_health = 1;
            CHECK(rt->flags & API_ROUTE_PUBLIC);
        } else if (strcmp(rt->pattern, "/") == 0) { /* the dashboard: a static page */
            CHECK(rt->flags & API_ROUTE_PUBLIC);
        } else {
            CHECK_MSG(!(rt->flags & API_ROUTE_PUBLIC), "%s should need the token", rt->pattern);
        }
        if (strcmp(rt->method, "GET") == 0) CHECK_EQ_INT(rt->max_body, 0);
    }
    CHECK(saw_health);
    CHECK_EQ_INT(api_route_find(api_routes, "GET", "/openapi.yaml", NULL, NULL, 0), API_MATCH_OK);
    CHECK_EQ_INT(api_route_find(api_routes, "GET", "/metrics", NULL, NULL, 0), API_MATCH_OK);
    CHECK(openapi_yaml_len > 0 && strncmp(openapi_yaml, "openapi: 3.1", 12) == 0);

    /* Query parameters: only the declared ones, once each, with a value. */
    {
        const api_route *jobs = &table[1], *health = &table[0];
        const char *names[4], *values[4], *field = NULL;
        char msg[512];
        CHECK(api_query_allowed(jobs, "status") && api_query_allowed(jobs, "offset"));
        CHECK(!api_query_allowed(jobs, "stat") && !api_query_allowed(jobs, "statuses") &&
              !api_query_allowed(jobs, "") && !api_query_allowed(jobs, "status,limit"));
        CHECK(!api_query_allowed(health, "status")); /* NULL list: none */
        CHECK_EQ_INT(api_query_validate(jobs, names, values, 0, msg, sizeof msg, &field), 0);
        names[0] = "limit", values[0] = "5", names[1] = "status", values[1] = "running";
        CHECK_EQ_INT(api_query_validate(jobs, names, values, 2, msg, sizeof msg, &field), 0);
        CHECK(field == NULL);
        /* the misspelling of the issue: 400 naming it, and the name it resembles */
        names[2] = "stauts", values[2] = "running";
        CHECK_EQ_INT(api_query_validate(jobs, names, values, 3, msg, sizeof msg, &field), 400);
        CHECK_MSG(field && strcmp(field, "stauts") == 0, "field: expected stauts, got %s",
                  field ? field : "(null)");
        CHECK_MSG(strstr(msg, "'stauts'") && strstr(msg, "did you mean 'status'") &&
                  strstr(msg, "status, limit, offset"), "message: %s", msg);
        /* far from every name: no suggestion */
        names[0] = "dataset", values[0] = "ds_1";
        CHECK_EQ_INT(api_query_validate(jobs, names, values, 1, msg, sizeof msg, &field), 400);
        CHECK_MSG(field && strcmp(field, "dataset") == 0 && !strstr(msg, "did you mean"),
                  "dataset: field %s, message %s", field ? field : "(null)", msg);
        /* a route that takes none */
        names[0] = "x", values[0] = "1";
        CHECK_EQ_INT(api_query_validate(health, names, values, 1, msg, sizeof msg, &field), 400);
        CHECK_MSG(strstr(msg, "(it takes: none)") != NULL, "message: %s", msg);
        /* twice, and without a value */
        names[0] = "limit", values[0] = "1", names[1] = "limit", values[1] = "2";
        CHECK_EQ_INT(api_query_validate(jobs, names, values, 2, msg, sizeof msg, &field), 400);
        CHECK_MSG(field && strcmp(field, "limit") == 0 && strstr(msg, "more than once"),
                  "repeated: %s", msg);
        names[0] = "offset", values[0] = NULL;
        CHECK_EQ_INT(api_query_validate(jobs, names, values, 1, msg, sizeof msg, &field), 400);
        CHECK_MSG(field && strcmp(field, "offset") == 0 && strstr(msg, "no value"),
                  "value-less: %s", msg);
        names[0] = "offset", values[0] = ""; /* an empty value is the handler's to judge */
        CHECK_EQ_INT(api_query_validate(jobs, names, values, 1, msg, sizeof msg, &field), 0);
    }
    /* The real table: every declared name is a plain identifier, listed once; the routes
     * that page declare limit and offset (or since). */
    for (int i = 0; i < n; i++) {
        const char *q = api_routes[i].query;
        for (const char *p = q; p && *p;) {
            size_t l = strcspn(p, ",");
            CHECK_MSG(l > 0 && l < 32, "%s: empty or long name in '%s'", api_routes[i].pattern, q);
            for (size_t j = 0; j < l; j++)
                CHECK_MSG((p[j] >= 'a' && p[j] <= 'z') || p[j] == '_',
                          "%s: bad character in '%s'", api_routes[i].pattern, q);
            int seen = 0;
            for (const char *t = q; *t;) {
                size_t tl = strcspn(t, ",");
                seen += tl == l && memcmp(t, p, l) == 0;
                t += tl;
                if (*t == ',') t++;
            }
            CHECK_MSG(seen == 1, "%s: '%.*s' listed %d times", api_routes[i].pattern, (int)l, p,
                      seen);
            p += l;
            if (*p == ',') p++;
        }
        if (strcmp(api_routes[i].method, "GET") == 0 &&
            (strcmp(api_routes[i].pattern, "/v1/jobs") == 0 ||
             strcmp(api_routes[i].pattern, "/v1/datasets") == 0 ||
             strstr(api_routes[i].pattern, "/assignments")))
            CHECK_MSG(api_query_allowed(&api_routes[i], "limit") &&
                          api_query_allowed(&api_routes[i], "offset"),
                      "%s pages: it needs limit and offset", api_routes[i].pattern);
    }

    /* Metrics: counters by route and status, unmatched in their own series. */
    api_metrics *m = api_metrics_new(2);
    CHECK(m != NULL);
    if (m) {
        api_metrics_count(m, 0, 200);
        api_metrics_count(m, 0, 200);
        api_metrics_count(m, 1, 404);
        api_metrics_count(m, -1, 404);
        api_metrics_count(m, 0, 999); /* out of range: ignored */
        char *t = api_metrics_text(m, table);
        CHECK(t != NULL);
        if (t) {
            CHECK_MSG(strstr(t, "deepclust_http_requests_total{method=\"GET\",route=\"/healthz\","
                                "status=\"200\"} 2\n") != NULL, "got:\n%s", t);
            CHECK_MSG(strstr(t, "route=\"/v1/jobs\",status=\"404\"} 1\n") != NULL, "got:\n%s", t);
            CHECK_MSG(strstr(t, "route=\"unmatched\",status=\"404\"} 1\n") != NULL, "got:\n%s", t);
            CHECK(strstr(t, "999") == NULL);
            free(t);
        }
        api_metrics_free(m);
    }
    return CHECK_DONE();
}
