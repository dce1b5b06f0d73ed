/* fake_req: see fake_req.h. */
#include "fake_req.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dc_err.h"
#include "fuzz_util.h"
#include "jobspec.h"
#include "svc.h"

static struct {
    const char *k, *v;
    int header;
} kv[FAKE_MAX_KV];
static int n_kv, queued;
static unsigned status;
static char fake_conn_obj; /* the "connection": its address only */

void fake_reset(void)
{
    n_kv = 0;
    queued = 0;
    status = 0;
}

static void add(const char *k, const char *v, int header)
{
    if (n_kv < FAKE_MAX_KV) kv[n_kv].k = k, kv[n_kv].v = v, kv[n_kv++].header = header;
}

void fake_header(const char *name, const char *value) { add(name, value, 1); }
void fake_arg(const char *name, const char *value) { add(name, value, 0); }
unsigned fake_status(void) { return status; }
int fake_queued(void) { return queued; }

void fake_req_init(api_req *r, api_ctx *ctx)
{
    memset(r, 0, sizeof *r);
    memset(ctx, 0, sizeof *ctx);
    ctx->server = &fake_conn_obj;
    ctx->max_upload = 1 << 20;
    r->ctx = ctx;
    r->conn = (struct MHD_Connection *)&fake_conn_obj;
    r->route_index = -1;
}

/* ---- libmicrohttpd --------------------------------------------------------------- */

const char *__wrap_MHD_lookup_connection_value(struct MHD_Connection *c, enum MHD_ValueKind kind,
                                               const char *key);
const char *__wrap_MHD_lookup_connection_value(struct MHD_Connection *c, enum MHD_ValueKind kind,
                                               const char *key)
{
    FUZZ_CHECK(c == (struct MHD_Connection *)&fake_conn_obj, "unknown connection");
    for (int i = 0; i < n_kv; i++) {
        if (kind == MHD_HEADER_KIND && kv[i].header && strcasecmp(kv[i].k, key) == 0)
            return kv[i].v;
        if (kind == MHD_GET_ARGUMENT_KIND && !kv[i].header && strcmp(kv[i].k, key) == 0)
            return kv[i].v;
    }
    return NULL;
}

enum MHD_Result __wrap_MHD_queue_response(struct MHD_Connection *c, unsigned int st,
                                          struct MHD_Response *resp);
enum MHD_Result __wrap_MHD_queue_response(struct MHD_Connection *c, unsigned int st,
                                          struct MHD_Response *resp)
{
    FUZZ_CHECK(c == (struct MHD_Connection *)&fake_conn_obj && resp, "bad queue call");
    FUZZ_CHECK(queued == 0, "a second reply (%u after %u)", st, status);
    queued++;
    status = st;
    return MHD_YES;
}

/* ---- the service: nothing is there, except predict ---------------------------------- */

static int not_found(dc_err *e) { return dc_err_set(e, DC_ENOTFOUND, "not found (fuzzing)"); }

int __wrap_svc_model_predict(svc *s, const char *id, const float *x, int64_t n, int d,
                             int want_z, svc_prediction *out, dc_err *e);
int __wrap_svc_model_predict(svc *s, const char *id, const float *x, int64_t n, int d,
                             int want_z, svc_prediction *out, dc_err *e)
{
    FUZZ_CHECK(x && n >= 1 && d >= 1 && id, "predict with n %lld d %d", (long long)n, d);
    uint32_t h = 0, bits;
    for (int64_t i = 0; i < n * (int64_t)d; i++) { /* ASan: all n*d are there */
        memcpy(&bits, &x[i], 4);
        h ^= bits;
    }
    /* one cluster, one embedding column: the row's xor, so the reply depends on all of x */
    memset(out, 0, sizeof *out);
    out->n = n, out->k = 1, out->embed = 1;
    out->labels = calloc((size_t)n, sizeof *out->labels);
    out->q = malloc((size_t)n * sizeof *out->q);
    out->z = want_z ? malloc((size_t)n * sizeof *out->z) : NULL;
    if (!out->labels || !out->q || (want_z && !out->z)) {
        svc_prediction_free(out);
        return dc_err_set(e, DC_ENOMEM, "out of memory");
    }
    for (int64_t i = 0; i < n; i++) {
        out->q[i] = 1.0f;
        if (out->z) out->z[i] = (float)(h & 0xffff);
    }
    return 0;
}

/* Reads every value (ASan), changes none; input with a value over 1e6 counts as far
 * outside the training range, so that the warning and strict=1 paths run too. */
int __wrap_svc_model_prepare_input(svc *s, const char *id, float *x, int64_t n, int d,
                                   int integer_input, svc_input_check *out, dc_err *e);
int __wrap_svc_model_prepare_input(svc *s, const char *id, float *x, int64_t n, int d,
                                   int integer_input, svc_input_check *out, dc_err *e)
{
    (void)s, (void)integer_input, (void)e;
    FUZZ_CHECK(x && n >= 1 && d >= 1 && id, "prepare_input with n %lld d %d", (long long)n, d);
    memset(out, 0, sizeof *out);
    for (int64_t i = 0; i < n * (int64_t)d; i++)
        if (x[i] > 1e6f) out->far = 1;
    if (out->far) snprintf(out->msg, sizeof out->msg, "far outside (fuzzing)");
    return 0;
}

#define NOT_FOUND(name, ...)                                  \
    int __wrap_##name(__VA_ARGS__, dc_err *e);                \
    int __wrap_##name(__VA_ARGS__, dc_err *e) { return not_found(e); }

NOT_FOUND(svc_dataset_import, svc *s, const char *path, const svc_upload *u, svc_dataset *out)
NOT_FOUND(svc_dataset_set_labels, svc *s, const char *id, const char *path, svc_dataset *out)
NOT_FOUND(svc_dataset_get, svc *s, const char *id, svc_dataset *out)
NOT_FOUND(svc_dataset_list, svc *s, int limit, int64_t offset, svc_dataset **items, int *n,
          int64_t *total)
NOT_FOUND(svc_dataset_delete, svc *s, const char *id)
NOT_FOUND(svc_job_create, svc *s, const json_t *spec, svc_job *out, jobspec_error *je)
NOT_FOUND(svc_job_get, svc *s, const char *id, svc_job *out)
NOT_FOUND(svc_job_list, svc *s, const char *st, int limit, int64_t offset, svc_job **items,
          int *n, int64_t *total)
NOT_FOUND(svc_job_iterations, svc *s, const char *id, int64_t since, int limit,
          svc_iteration **items, int *n)
NOT_FOUND(svc_job_cancel, svc *s, const char *id, svc_job *out)
NOT_FOUND(svc_job_assignments, svc *s, const char *id, int64_t offset, int limit,
          svc_assignments *out)
NOT_FOUND(svc_model_get, svc *s, const char *id, svc_model_info *out)
NOT_FOUND(svc_job_delete, svc *s, const char *id)
NOT_FOUND(svc_model_delete, svc *s, const char *id)
NOT_FOUND(svc_model_file, svc *s, const char *id, int64_t *size)
NOT_FOUND(svc_model_file_read, svc *s, const char *id, int64_t off, void *buf, int64_t len)
NOT_FOUND(svc_export_open, svc *s, const char *job_id, int with_z, svc_export **out,
          svc_export_info *info)
NOT_FOUND(svc_job_confusion, svc *s, const char *job, svc_confusion *out)
NOT_FOUND(svc_job_samples, svc *s, const char *job, const svc_sample_req *rq, svc_samples *out)
NOT_FOUND(svc_job_reconstructions, svc *s, const char *job, int n, uint64_t seed, int images,
          svc_shape shape, svc_recons *out)
NOT_FOUND(svc_model_generate, svc *s, const char *model, int cluster, int n, uint64_t seed,
          int images, svc_shape shape, svc_generated *out)
NOT_FOUND(svc_job_embedding, svc *s, const char *job, int n, svc_embedding *out)
NOT_FOUND(svc_job_outliers, svc *s, const char *job, int n, int by, int images,
          svc_shape shape, svc_outliers *out)
NOT_FOUND(svc_model_outliers, svc *s, const char *model, const float *x, int64_t n, int d,
          svc_outlier_scores *out)
/* studies: svc_study_parse (no database) runs for real, the rest is faked */
NOT_FOUND(svc_study_create, svc *s, const svc_study_req *req, svc_study *out, jobspec_error *je)
NOT_FOUND(svc_study_get, svc *s, const char *id, svc_study *out)
NOT_FOUND(svc_study_list, svc *s, int limit, int64_t offset, svc_study **items, int *n,
          int64_t *total)
NOT_FOUND(svc_study_cancel, svc *s, const char *id, svc_study *out)
NOT_FOUND(svc_study_delete, svc *s, const char *id)
