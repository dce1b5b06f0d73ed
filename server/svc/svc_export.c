/* svc_export: what leaves the service whole, and the scaling that makes predict honest.
 *
 *   - preprocessing: the scaling an upload applies (svc_upload.scale) and the range of the
 *     stored values, kept on the dataset row, copied to the model at the job's end, and
 *     applied to predict's input (svc_model_prepare_input) with a check of its range;
 *   - the model file (svc_model_file, _read): the weights blob, cluster_model_save's
 *     format, read a piece at a time;
 *   - the whole assignment of a job (svc_export_*): chunks of rows computed through the
 *     model, so that an export of any size holds one chunk in memory;
 *   - a dataset named by its name (svc__dataset_resolve) where exactly one has it. */
#include "svc_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "dc_size.h"

/* ---- preprocessing ------------------------------------------------------------------- */

static const char *mode_name(int scale)
{
    switch (scale) {
    case DATA_SCALE_NONE: return "none";
    case DATA_SCALE_255: return "div255";
    case SVC_SCALE_UNIT: return "unit";
    default: return "auto";
    }
}

int svc__preprocess_plan(const svc_upload *u, int dtype, double lo, double hi,
                         svc_preprocess *pre, dc_err *e)
{
    memset(pre, 0, sizeof *pre);
    pre->known = 1;
    pre->shift = 0, pre->mult = 1;
    snprintf(pre->mode, sizeof pre->mode, "%s", mode_name(u->scale));
    snprintf(pre->scale, sizeof pre->scale, "none");
    if (u->scale == DATA_SCALE_255 || (u->scale == DATA_SCALE_AUTO && dtype == DATA_U8)) {
        snprintf(pre->scale, sizeof pre->scale, "div255");
        pre->mult = 1.0 / 255.0;
    } else if (u->scale == SVC_SCALE_UNIT) {
        if (!isfinite(lo) || !isfinite(hi))
            return dc_err_set(e, DC_EINVAL, "scale unit: no values to take the range of");
        snprintf(pre->scale, sizeof pre->scale, "unit");
        pre->shift = lo;
        pre->mult = hi > lo ? 1.0 / (hi - lo) : 1.0; /* a constant column maps to 0 */
    }
    return 0;
}

void svc__preprocess_block(svc_preprocess *pre, float *x, int64_t m, int first)
{
    if (first) pre->min = INFINITY, pre->max = -INFINITY;
    for (int64_t i = 0; i < m; i++) {
        if (strcmp(pre->scale, "unit") == 0) {
            double v = ((double)x[i] - pre->shift) * pre->mult;
            x[i] = (float)(v < 0 ? 0 : v > 1 ? 1 : v); /* rounding must not leave [0, 1] */
        }
        if (x[i] < pre->min) pre->min = x[i];
        if (x[i] > pre->max) pre->max = x[i];
    }
}

void svc__preprocess_row(db_stmt *st, int col, svc_preprocess *pre)
{
    memset(pre, 0, sizeof *pre);
    pre->known = !db_column_is_null(st, col + 1) &&
                 !db_column_is_null(st, col + 4);
    if (!pre->known) return;
    svc__col_text(st, col, pre->mode, sizeof pre->mode);
    svc__col_text(st, col + 1, pre->scale, sizeof pre->scale);
    pre->shift = db_column_double(st, col + 2);
    pre->mult = db_column_double(st, col + 3);
    pre->min = db_column_double(st, col + 4);
    pre->max = db_column_double(st, col + 5);
}

void svc__preprocess_bind(db_stmt *st, int first, const svc_preprocess *pre)
{
    db_bind_text(st, first, pre->mode);
    db_bind_text(st, first + 1, pre->scale);
    db_bind_double(st, first + 2, pre->shift);
    db_bind_double(st, first + 3, pre->mult);
    db_bind_double(st, first + 4, pre->min);
    db_bind_double(st, first + 5, pre->max);
}

int svc__model_preprocess_record(db_conn *h, const char *model, const char *dataset, dc_err *e)
{
    db_stmt *st = NULL;
    int rc = 0;
    if (db_prepare(h, "UPDATE models SET (scale_mode, scale, scale_shift, scale_mult, "
                           "range_min, range_max) = (SELECT scale_mode, scale, scale_shift, "
                           "scale_mult, range_min, range_max FROM datasets WHERE id = ?2) "
                           "WHERE id = ?1", &st) != DB_OK) {
        rc = svc__sql_err(h, "record the model's preprocessing", e);
        goto out;
    }
    db_bind_text(st, 1, model);
    db_bind_text(st, 2, dataset);
    if (db_step(st) != DB_DONE) rc = svc__sql_err(h, "record the model's preprocessing", e);
out:
    db_finalize(st);
    return rc;
}

static int model_preprocess(db_conn *h, const char *id, svc_preprocess *pre, dc_err *e)
{
    db_stmt *st = NULL;
    int rc;
    rc = svc__row_by_id(h, "SELECT scale_mode, scale, scale_shift, scale_mult, range_min, "
                           "range_max FROM models WHERE id = ?", id, "model", "model", &st, e);
    if (rc == 0) svc__preprocess_row(st, 0, pre);
    db_finalize(st);
    return rc;
}

int svc_model_prepare_input(svc *s, const char *id, float *x, int64_t n, int d,
                            int integer_input, svc_input_check *out, dc_err *e)
{
    svc_preprocess pre;
    store *db = svc__db_get(s, e);
    int64_t m = n * d, at = -1;
    int rc;

    memset(out, 0, sizeof *out);
    out->lo = INFINITY, out->hi = -INFINITY;
    if (!db) return e ? e->code : DC_EIO;
    rc = model_preprocess(store_db(db), id, &pre, e);
    svc__db_put(s, db);
    if (rc < 0 || !pre.known) return rc;
    /* as the upload did: auto divides uint8 data only, so float input is taken as scaled */
    int div = strcmp(pre.scale, "div255") == 0 &&
              (strcmp(pre.mode, "auto") != 0 || integer_input);
    int unit = strcmp(pre.scale, "unit") == 0;
    double span = pre.max - pre.min > 1e-6 ? pre.max - pre.min : 1e-6;
    double lo_ok = pre.min - 0.5 * span, hi_ok = pre.max + 0.5 * span;
    for (int64_t i = 0; i < m; i++) {
        if (div) x[i] = x[i] / 255.0f;
        else if (unit) x[i] = (float)(((double)x[i] - pre.shift) * pre.mult);
        if (x[i] < out->lo) out->lo = x[i];
        if (x[i] > out->hi) out->hi = x[i];
        if (at < 0 && (x[i] < lo_ok || x[i] > hi_ok)) at = i;
    }
    if (at >= 0) {
        out->far = 1;
        snprintf(out->msg, sizeof out->msg,
                 "input values span [%g, %g]%s, far outside the range the model was trained "
                 "on, [%g, %g] (scale %s; first at samples[%lld][%d]): send values scaled "
                 "as the training data was%s", out->lo, out->hi,
                 div || unit ? " after the model's scaling" : "", pre.min, pre.max, pre.scale,
                 (long long)(at / d), (int)(at % d),
                 strcmp(pre.scale, "div255") == 0 && !div ? " (divide by 255)" : "");
    }
    return 0;
}

/* ---- the model file ------------------------------------------------------------------ */

int svc_model_file(svc *s, const char *id, int64_t *size, dc_err *e)
{
    db_stmt *st = NULL;
    store *db = svc__db_get(s, e);
    int rc;

    *size = 0;
    if (!db) return e ? e->code : DC_EIO;
    rc = svc__row_by_id(store_db(db), "SELECT length(weights) FROM models WHERE id = ?", id,
                        "model", "model file", &st, e);
    if (rc == 0) *size = db_column_int64(st, 0);
    db_finalize(st);
    svc__db_put(s, db);
    return rc;
}

int svc_model_file_read(svc *s, const char *id, int64_t off, void *buf, int64_t len,
                        dc_err *e)
{
    store *db = svc__db_get(s, e);
    if (!db) return e ? e->code : DC_EIO;
    int rc = db_read_part(store_db(db), "models", "weights", "id", id, off, buf, len, e);
    svc__db_put(s, db);
    return rc;
}

/* ---- the whole assignment ------------------------------------------------------------ */

struct svc_export {
    svc *s;
    svc_model *m;
    svc_export_info info;
    int d;
    float *x, *q, *z;       /* (CHUNK, d), (CHUNK, k), (CHUNK, embed) */
    int32_t *lab, *truth;   /* (CHUNK) */
    int64_t results_row;    /* 1: the job's results row holds its outlier scores */
    char job[JOBSPEC_ID_MAX];
    svc__chunk xc, yc;      /* the dataset chunks being read (x, labels) */
    float *outlier;         /* (CHUNK) its isolation-forest scores, read a chunk at a time */
};

void svc_export_close(svc_export *x)
{
    if (!x) return;
    svc__model_release(x->s, x->m);
    free(x->x), free(x->q), free(x->z), free(x->lab), free(x->truth);
    free(x->outlier);
    svc__chunk_free(&x->xc), svc__chunk_free(&x->yc);
    free(x);
}

/* 1 when job has a job_results row whose iforest column holds n scores, else 0. */
static int64_t results_have(db_conn *h, const char *job, int64_t n)
{
    db_stmt *st = NULL;
    int64_t row = 0;
    if (db_prepare(h, "SELECT length(iforest) FROM job_results WHERE job_id = ?", &st) != DB_OK)
        return 0;
    db_bind_text(st, 1, job);
    if (db_step(st) == DB_ROW && db_column_int64(st, 0) == 4 * n) row = 1;
    db_finalize(st);
    return row;
}

/* Scores [offset, offset + count) of job's stored isolation-forest column into out;
 * 1 when all were there. */
static int outlier_read(db_conn *h, const char *job, int64_t offset, int64_t count, float *out)
{
    return db_read_part(h, "job_results", "iforest", "job_id", job, offset * 4, out,
                        count * 4, NULL) == 0;
}

int svc_export_open(svc *s, const char *job_id, int with_z, svc_export **out,
                    svc_export_info *info, dc_err *e)
{
    db_stmt *st = NULL;
    store *db = svc__db_get(s, e);
    svc_export *x = NULL;
    int rc, found = 0;

    *out = NULL;
    memset(info, 0, sizeof *info);
    if (!db) return e ? e->code : DC_EIO;
    db_conn *h = store_db(db);
    if (!(x = calloc(1, sizeof *x))) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    x->s = s;
    snprintf(x->job, sizeof x->job, "%s", job_id);
    if (db_prepare(h, "SELECT m.id, j.dataset_id, d.n, d.d, d.has_labels FROM jobs j "
                           "LEFT JOIN models m ON m.job_id = j.id "
                           "LEFT JOIN datasets d ON d.id = j.dataset_id WHERE j.id = ?", &st) != DB_OK) {
        rc = svc__sql_err(h, "export", e);
        goto out;
    }
    db_bind_text(st, 1, job_id);
    if ((rc = db_step(st)) == DB_ROW) {
        found = 1;
        svc__col_text(st, 0, x->info.model, sizeof x->info.model);
        svc__col_text(st, 1, x->info.dataset, sizeof x->info.dataset);
        x->info.n = db_column_int64(st, 2);
        x->d = db_column_int(st, 3);
        x->info.has_labels = db_column_int(st, 4) != 0;
    } else if (rc != DB_DONE) {
        rc = svc__sql_err(h, "export", e);
        goto out;
    }
    if (!found) rc = dc_err_set(e, DC_ENOTFOUND, "no job %s", job_id);
    else if (!x->info.model[0])
        rc = dc_err_set(e, DC_ECONFLICT, "job %s has no model (it has not succeeded)", job_id);
    else if (!x->info.dataset[0])
        rc = dc_err_set(e, DC_ECONFLICT, "the dataset of job %s was deleted", job_id);
    else if ((rc = svc__model_acquire(s, h, x->info.model, &x->m, e)) == 0 &&
             cluster_model_dim(x->m->m) != x->d)
        rc = dc_err_set(e, DC_ECONFLICT, "model %s does not fit dataset %s", x->info.model,
                        x->info.dataset);
    if (rc < 0) goto out;
    x->info.k = cluster_model_k(x->m->m);
    x->info.embed = with_z ? cluster_model_embed(x->m->m) : 0;
    x->x = malloc(sizeof(float) * SVC_EXPORT_CHUNK * (size_t)x->d);
    x->q = malloc(sizeof(float) * SVC_EXPORT_CHUNK * (size_t)x->info.k);
    x->z = with_z ? malloc(sizeof(float) * SVC_EXPORT_CHUNK * (size_t)x->info.embed) : NULL;
    x->lab = malloc(sizeof(int32_t) * SVC_EXPORT_CHUNK);
    x->truth = x->info.has_labels ? malloc(sizeof(int32_t) * SVC_EXPORT_CHUNK) : NULL;
    if (!x->x || !x->q || (with_z && !x->z) || !x->lab || (x->info.has_labels && !x->truth)) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    /* the outlier column: the job's stored isolation-forest scores, read a chunk at a
       time; a job that ended before results were kept gets them computed now; without
       them the column stays empty (NaN) */
    if (!(x->results_row = results_have(h, job_id, x->info.n))) {
        svc__results res;
        svc__job_ref ref;
        dc_err re = {0};
        if (svc__results_get(s, db, job_id, 0, &ref, &res, &re) == 0)
            x->results_row = results_have(h, job_id, x->info.n);
        svc__results_free(&res);
    }
    if (x->results_row && !(x->outlier = malloc(sizeof(float) * SVC_EXPORT_CHUNK))) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    *info = x->info;
    *out = x;
    x = NULL;
    rc = 0;
out:
    db_finalize(st);
    svc__db_put(s, db);
    svc_export_close(x);
    return rc;
}

int svc_export_read(svc_export *x, int64_t offset, int64_t count, svc_export_rows *out,
                    dc_err *e)
{
    store *db;
    int rc = 0;

    memset(out, 0, sizeof *out);
    if (offset < 0 || offset > x->info.n) offset = x->info.n;
    if (count > SVC_EXPORT_CHUNK) count = SVC_EXPORT_CHUNK;
    if (count > x->info.n - offset) count = x->info.n - offset;
    out->offset = offset;
    if (count <= 0) return 0;
    if (!(db = svc__db_get(x->s, e))) return e ? e->code : DC_EIO;
    rc = svc__blob_read_via(store_db(db), &x->xc, x->info.dataset, "x", offset * x->d * 4,
                            x->x, count * x->d * 4, e);
    if (rc == 0 && x->truth)
        rc = svc__blob_read_via(store_db(db), &x->yc, x->info.dataset, "y", offset * 4,
                                x->truth, count * 4, e);
    int have_outlier = 0; /* the stored isolation-forest scores of these rows */
    if (rc == 0 && x->outlier && x->results_row)
        have_outlier = outlier_read(store_db(db), x->job, offset, count, x->outlier);
    svc__db_put(x->s, db);
    if (rc == DC_ENOTFOUND || rc == DC_EINVAL) /* deleted (or replaced) meanwhile */
        return dc_err_set(e, DC_ECONFLICT, "the dataset %s changed during the export",
                          x->info.dataset);
    if (rc < 0) return rc;
    pthread_mutex_lock(&x->m->mu);
    rc = cluster_predict(x->m->m, x->x, count, x->q, x->lab, x->z, e);
    pthread_mutex_unlock(&x->m->mu);
    if (rc < 0) return rc;
    out->count = count;
    out->labels = x->lab, out->q = x->q, out->z = x->z, out->truth = x->truth;
    /* the isolation-forest score stored at the job's end (svc_results.c) */
    out->outlier = have_outlier ? x->outlier : NULL;
    return 0;
}

/* ---- datasets by name ---------------------------------------------------------------- */

int svc__dataset_resolve(db_conn *h, char *ds, size_t cap, dc_err *e)
{
    db_stmt *st = NULL;
    char ids[512] = "", first[JOBSPEC_ID_MAX] = "";
    int rc, found = 0;
    size_t o = 0;

    if (db_prepare(h, "SELECT id FROM datasets WHERE status = 'ready' AND "
                           "(id = ?1 OR (name = ?1 AND NOT EXISTS (SELECT 1 FROM datasets "
                           "WHERE id = ?1 AND status = 'ready'))) ORDER BY created_at, rowid", &st) != DB_OK)
        return svc__sql_err(h, "find dataset", e);
    db_bind_text(st, 1, ds);
    while ((rc = db_step(st)) == DB_ROW) {
        const char *id = (const char *)db_column_text(st, 0);
        if (!found) snprintf(first, sizeof first, "%s", id);
        if (o < sizeof ids - 1)
            o += (size_t)snprintf(ids + o, sizeof ids - o, "%s%s", found ? ", " : "", id);
        found++;
    }
    if (rc != DB_DONE) rc = svc__sql_err(h, "find dataset", e);
    else if (found == 0) rc = dc_err_set(e, DC_ENOTFOUND, "no dataset %s", ds);
    else if (found > 1)
        rc = dc_err_set(e, DC_EINVAL, "%d datasets are named %s: name one by its id (%s)",
                        found, ds, ids);
    else {
        snprintf(ds, cap, "%s", first);
        rc = 0;
    }
    db_finalize(st);
    return rc;
}
