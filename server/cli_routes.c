/* cli_routes: `deepclust routes --json`, a hidden command (not in `deepclust help`) that
 * prints the HTTP route table api_routes[] as JSON, so that tests compare the API
 * description (api/openapi.yaml) with the table the server really runs:
 *
 *   [{"method": "GET", "pattern": "/v1/jobs", "query": ["status", "limit", "offset"],
 *     "public": false, "max_body": 0, "upload": false}, ...] */
#include "cli.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api.h"

/* "a,b,c" -> ["a", "b", "c"] (new reference); NULL -> []. */
static json_t *names_json(const char *list)
{
    json_t *a = json_array();
    for (const char *p = list; a && p && *p;) {
        size_t l = strcspn(p, ",");
        json_array_append_new(a, json_stringn(p, l));
        p += l;
        if (*p == ',') p++;
    }
    return a;
}

int cli_routes(int argc, char **argv)
{
    json_t *out = json_array();
    int rc = CLI_FAIL;

    if (argc != 2 || strcmp(argv[1], "--json") != 0) {
        fprintf(stderr, "usage: deepclust routes --json   (the HTTP route table, for tests)\n");
        json_decref(out);
        return CLI_USAGE;
    }
    for (int i = 0; out && api_routes[i].method; i++) {
        const api_route *r = &api_routes[i];
        json_t *row = json_pack("{s:s, s:s, s:o, s:b, s:I, s:b}", "method", r->method,
                                "pattern", r->pattern, "query", names_json(r->query), "public",
                                !!(r->flags & API_ROUTE_PUBLIC), "max_body",
                                (json_int_t)r->max_body, "upload",
                                !!(r->flags & API_ROUTE_UPLOAD));
        if (!row || json_array_append_new(out, row) < 0) goto out;
    }
    if (out && json_dumpf(out, stdout, JSON_INDENT(1)) == 0 && putchar('\n') != EOF) rc = CLI_OK;
out:
    json_decref(out);
    return rc;
}
