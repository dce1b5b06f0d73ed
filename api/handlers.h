/* handlers: the handlers of the clustering routes (datasets, jobs, models, dashboard),
 * defined in routes_svc.c and listed in the route table of routes.c. Each one parses
 * the request, calls one svc_* function (server/svc/svc.h) and replies. */
#ifndef DC_HANDLERS_H
#define DC_HANDLERS_H

#include "api.h"

enum {
    API_JSON_MAX = 64 << 10,     /* job specs */
    API_PREDICT_MAX = 64 << 20,  /* predict bodies (JSON rows or float32) */
};

int api_h_dataset_create(api_req *r);
int api_h_dataset_upload_body(api_req *r, const char *data, size_t len);
int api_h_dataset_list(api_req *r);
int api_h_dataset_get(api_req *r);
int api_h_dataset_delete(api_req *r);
int api_h_dataset_labels(api_req *r);
int api_h_job_create(api_req *r);
int api_h_job_list(api_req *r);
int api_h_job_get(api_req *r);
int api_h_job_iterations(api_req *r);
int api_h_job_cancel(api_req *r);
int api_h_job_assignments(api_req *r);
int api_h_job_delete(api_req *r);
int api_h_model_get(api_req *r);
int api_h_model_predict(api_req *r);
int api_h_model_delete(api_req *r);
int api_h_dashboard(api_req *r);
/* routes_studies.c */
int api_h_study_create(api_req *r);
int api_h_study_list(api_req *r);
int api_h_study_get(api_req *r);
int api_h_study_cancel(api_req *r);
int api_h_study_delete(api_req *r);

#endif
