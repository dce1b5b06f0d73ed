/* routes: the route table of the deepclust API and its handlers. One row per route;
 * see api.h for how a request reaches a handler and how to add one. */
#include "api.h"
#include "handlers.h"
#include "svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GET /healthz: liveness, version and schema; never needs a token. 200 even on a full
 * disk (the service answers): "disk" says so, and "status" is then "disk_full". */
static int h_healthz(api_req *r)
{
    json_t *j = json_pack("{s:s, s:s, s:i, s:I}", "status", "ok", "version", r->ctx->version,
                          "schema_version", r->ctx->schema_version, "uptime_s",
                          (json_int_t)(dc_now_s() - r->ctx->started));
    if (j && r->ctx->server) {
        svc_disk d;
        svc_disk_status(r->ctx->server, &d);
        json_object_set_new(j, "disk", json_pack("{s:b, s:I, s:I, s:b}", "full", d.full,
                                                 "free_bytes", (json_int_t)d.free_bytes,
                                                 "reserve_bytes", (json_int_t)d.reserve_bytes,
                                                 "recovery_pending", d.recovery_pending));
        if (d.full) json_object_set_new(j, "status", json_string("disk_full"));
    }
    return api_reply_json(r, 200, j);
}

/* GET /openapi.yaml: the embedded API description. */
static int h_openapi(api_req *r)
{
    return api_reply_static(r, 200, "text/yaml; charset=utf-8", openapi_yaml,
                            openapi_yaml_len);
}

/* GET /metrics: Prometheus text exposition. */
static int h_metrics(api_req *r)
{
    char *counters = NULL, *text = NULL;
    size_t len = 0;
    FILE *f = NULL;
    int rc;

    counters = api_metrics_text(r->ctx->metrics, api_routes);
    f = open_memstream(&text, &len);
    if (!counters || !f) {
        rc = DC_ENOMEM;
        goto out;
    }
    fputs(counters, f);
    if (r->ctx->server) svc_metrics_text(r->ctx->server, f);
    fprintf(f, "# HELP deepclust_uptime_seconds Seconds since the service started.\n"
               "# TYPE deepclust_uptime_seconds gauge\n"
               "deepclust_uptime_seconds %.3f\n"
               "# HELP deepclust_build_info Version of the running binary.\n"
               "# TYPE deepclust_build_info gauge\n"
               "deepclust_build_info{version=\"%s\"} 1\n"
               "# HELP deepclust_schema_version Database schema version at start-up.\n"
               "# TYPE deepclust_schema_version gauge\n"
               "deepclust_schema_version %d\n"
               "# HELP deepclust_workers Training worker threads configured.\n"
               "# TYPE deepclust_workers gauge\n"
               "deepclust_workers %d\n",
            dc_now_s() - r->ctx->started, r->ctx->version, r->ctx->schema_version,
            r->ctx->workers);
    if (fclose(f) != 0) {
        f = NULL;
        rc = DC_ENOMEM;
        goto out;
    }
    f = NULL;
    rc = api_reply_buf(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
out:
    if (f) fclose(f);
    free(text);
    free(counters);
    return rc;
}

/* method, pattern, handler, max_body (bytes), on_body, flags, query parameters (api.h) */
const api_route api_routes[] = {
    {"GET", "/healthz", h_healthz, 0, NULL, API_ROUTE_PUBLIC, NULL},
    {"GET", "/openapi.yaml", h_openapi, 0, NULL, 0, NULL},
    {"GET", "/metrics", h_metrics, 0, NULL, 0, NULL},
    {"GET", "/", api_h_dashboard, 0, NULL, API_ROUTE_PUBLIC, NULL}, /* static page; its API calls carry the token */
    {"POST", "/v1/datasets", api_h_dataset_create, 0, api_h_dataset_upload_body, API_ROUTE_UPLOAD,
     "name,format,scale,header,label_column,shape"},
    {"GET", "/v1/datasets", api_h_dataset_list, 0, NULL, 0, "limit,offset"},
    {"GET", "/v1/datasets/{id}", api_h_dataset_get, 0, NULL, 0, NULL},
    {"DELETE", "/v1/datasets/{id}", api_h_dataset_delete, 0, NULL, 0, NULL},
    {"PUT", "/v1/datasets/{id}/labels", api_h_dataset_labels, 0, api_h_dataset_upload_body,
     API_ROUTE_UPLOAD, NULL},
    {"POST", "/v1/jobs", api_h_job_create, API_JSON_MAX, NULL, 0, NULL},
    {"GET", "/v1/jobs", api_h_job_list, 0, NULL, 0, "status,limit,offset"},
    {"GET", "/v1/jobs/{id}", api_h_job_get, 0, NULL, 0, NULL},
    {"GET", "/v1/jobs/{id}/iterations", api_h_job_iterations, 0, NULL, 0, "since,limit"},
    {"POST", "/v1/jobs/{id}/cancel", api_h_job_cancel, 1024, NULL, 0, NULL},
    {"GET", "/v1/jobs/{id}/assignments", api_h_job_assignments_any, 0, NULL, 0,
     "offset,limit,format,embedding"},
    {"DELETE", "/v1/jobs/{id}", api_h_job_delete, 0, NULL, 0, NULL},
    {"GET", "/v1/jobs/{id}/confusion", api_h_job_confusion, 0, NULL, 0, "format"},
    {"GET", "/v1/jobs/{id}/samples", api_h_job_samples, 0, NULL, 0,
     "cluster,n,order,seed,shape,format"},
    {"GET", "/v1/jobs/{id}/reconstructions", api_h_job_reconstructions, 0, NULL, 0,
     "n,seed,shape,format"},
    {"GET", "/v1/jobs/{id}/embedding", api_h_job_embedding, 0, NULL, 0, "n,format"},
    {"GET", "/v1/jobs/{id}/outliers", api_h_job_outliers, 0, NULL, 0, "n,by,shape,format"},
    {"GET", "/v1/models/{id}/generate", api_h_model_generate, 0, NULL, 0,
     "cluster,n,seed,shape,format"},
    {"GET", "/v1/models/{id}", api_h_model_get, 0, NULL, 0, NULL},
    {"POST", "/v1/models/{id}/predict", api_h_model_predict, API_PREDICT_MAX, NULL, 0,
     "n,d,embeddings,strict,outliers"},
    {"GET", "/v1/models/{id}/download", api_h_model_download, 0, NULL, 0, NULL},
    {"DELETE", "/v1/models/{id}", api_h_model_delete, 0, NULL, 0, NULL},
    {"POST", "/v1/studies", api_h_study_create, API_JSON_MAX, NULL, 0, NULL},
    {"GET", "/v1/studies", api_h_study_list, 0, NULL, 0, "limit,offset"},
    {"GET", "/v1/studies/{id}", api_h_study_get, 0, NULL, 0, NULL},
    {"POST", "/v1/studies/{id}/cancel", api_h_study_cancel, 1024, NULL, 0, NULL},
    {"DELETE", "/v1/studies/{id}", api_h_study_delete, 0, NULL, 0, NULL},
    {NULL, NULL, NULL, 0, NULL, 0, NULL},
};

int api_route_count(void)
{
    int n = 0;
    while (api_routes[n].method) n++;
    return n;
}
