/* handlers: the handlers of the clustering routes (datasets, jobs, models, dashboard),
 * defined in routes_svc.c and routes_pictures.c (pictures, outliers) and listed in the
 * route table of routes.c. Each one parses the request, calls one svc_* function
 * (server/svc/svc.h) and replies. */
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

/* ---- exports and preprocessing (routes_export.c) ---- */
int api_h_job_assignments_any(api_req *r); /* csv/npy streams; JSON: api_h_job_assignments */
int api_h_model_download(api_req *r);

/* What a body's first bytes say it is (uploads and predict without a usable
 * Content-Type: curl --data-binary sends application/x-www-form-urlencoded). */
enum { API_SNIFF_NONE = 0, API_SNIFF_GZIP, API_SNIFF_NPY, API_SNIFF_DCF32, API_SNIFF_IDX,
       API_SNIFF_JSON, API_SNIFF_TEXT };
int api_sniff(const void *buf, size_t len);
/* An NPY body (float32/64 or integer dtypes, C order, shape (n, d), (n, h, w[, c]) or one
 * sample (d,)) -> x (n, d) float32, malloc'd; *integer = 1 for an integer dtype. 0, -1
 * with msg (a 400 for the client), -2 out of memory. */
int api_npy_rows(const char *body, size_t len, float **x, int64_t *n, int *d, int *integer,
                 char *msg, size_t cap);

/* routes_pictures.c: pictures and outliers of a finished job */
int api_h_job_confusion(api_req *r);
int api_h_job_samples(api_req *r);
int api_h_job_reconstructions(api_req *r);
int api_h_job_embedding(api_req *r);
int api_h_job_outliers(api_req *r);
int api_h_model_generate(api_req *r);
/* {"iforest", "confidence", "reconstruction"} of one sample (null: not finite). New
 * reference. */
json_t *api_outlier_scores_json(float iforest, float confidence, float recon);

#endif
