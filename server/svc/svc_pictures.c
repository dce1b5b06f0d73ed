/* svc_pictures: the picture and outlier queries of svc.h ("results") over a job's stored
 * results (svc_results.c): per-cluster samples, reconstructions, vae generation, the
 * embedding map, outliers, the confusion matrix, and outlier scores of new samples. Each
 * reads the job's results row (about 20 bytes per training sample) and, for images, only
 * the rows of the samples shown, so that it answers in milliseconds for 70,000 samples. */
#include "svc_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "iforest.h"
#include "rng.h"

/* ---- shared helpers ---------------------------------------------------------------------- */

/* A connection and the job's results (svc__results_get). */
static int open_results(svc *s, const char *job, int with_forest, store **db, svc__job_ref *ref,
                        svc__results *r, dc_err *e)
{
    memset(r, 0, sizeof *r);
    if (!(*db = svc__db_get(s, e))) return e && e->code ? e->code : DC_EIO;
    return svc__results_get(s, *db, job, with_forest, ref, r, e);
}

/* The shape to draw d-feature samples in: want when given (h*w*c = d, c 1 or 3), else the
 * stored one: dataset shape JSON text (json) or the model's (h, w, c). */
static int shape_resolve(svc_shape want, const char *json, svc_shape stored, int d,
                         svc_shape *out, dc_err *e)
{
    if (want.h > 0 || want.w > 0 || want.c > 0) {
        if (want.c == 0) want.c = 1;
        if (want.h < 1 || want.w < 1 || (want.c != 1 && want.c != 3))
            return dc_err_set(e, DC_EINVAL, "shape %d,%d,%d: h and w must be positive and c "
                              "1 (grey) or 3 (RGB)", want.h, want.w, want.c);
        if ((int64_t)want.h * want.w * want.c != d)
            return dc_err_set(e, DC_EINVAL, "shape %d,%d,%d has %lld values; the samples have "
                              "%d features", want.h, want.w, want.c,
                              (long long)want.h * want.w * want.c, d);
        *out = want;
        return 0;
    }
    if (json) {
        json_t *a = json_loads(json, 0, NULL);
        size_t dims = json_array_size(a);
        stored = (svc_shape){0, 0, 0};
        if (dims == 2 || dims == 3) {
            stored.h = (int)json_integer_value(json_array_get(a, 0));
            stored.w = (int)json_integer_value(json_array_get(a, 1));
            stored.c = dims == 3 ? (int)json_integer_value(json_array_get(a, 2)) : 1;
        }
        json_decref(a);
    }
    if (stored.h < 1 || stored.w < 1)
        return dc_err_set(e, DC_EINVAL, "the samples are flat vectors of %d features (%s): give "
                          "their image shape as ?shape=H,W or ?shape=H,W,C (H*W*C = %d)", d,
                          json && json[0] ? json : "no image shape", d);
    if (stored.c != 1 && stored.c != 3)
        return dc_err_set(e, DC_EINVAL, "the samples have %d channels (shape %s); images need "
                          "1 or 3: give ?shape=H,W,C", stored.c, json ? json : "");
    if ((int64_t)stored.h * stored.w * stored.c != d)
        return dc_err_set(e, DC_EINVAL, "the stored shape %dx%dx%d does not make %d features",
                          stored.h, stored.w, stored.c, d);
    *out = stored;
    return 0;
}

/* Allocates im for count images of shape sh, within SVC_PICTURE_MAX_PIXELS. */
static int images_alloc(svc_images *im, int count, svc_shape sh, dc_err *e)
{
    int64_t px = (int64_t)count * sh.h * sh.w;
    if (px > SVC_PICTURE_MAX_PIXELS)
        return dc_err_set(e, DC_EINVAL, "%d images of %dx%d pixels are over the %d pixels one "
                          "picture may have: ask for fewer", count, sh.h, sh.w,
                          SVC_PICTURE_MAX_PIXELS);
    im->count = count, im->h = sh.h, im->w = sh.w, im->c = sh.c;
    im->px = calloc((size_t)px * sh.c + 1, sizeof *im->px);
    return im->px ? 0 : dc_err_set(e, DC_ENOMEM, "out of memory for %d images", count);
}

/* Pixel values: data within [0, 1] as they are, otherwise min-max of [lo, hi]; clamped. */
static void to_unit(float *v, size_t n, double lo, double hi)
{
    int as_is = lo >= 0 && hi <= 1;
    double span = hi > lo ? hi - lo : 1;
    for (size_t i = 0; i < n; i++) {
        double t = as_is ? v[i] : (v[i] - lo) / span;
        v[i] = (float)(t > 0 ? (t < 1 ? t : 1) : 0); /* NaN -> 0 */
    }
}

/* Samples idx[0..m) (rows of d floats) of dataset ds into out (m, d), a read each. */
static int rows_read(db_conn *h, const char *ds, const int64_t *idx, int m, int d, float *out,
                     dc_err *e)
{
    int64_t row = (int64_t)d * 4;
    for (int i = 0; i < m; i++) {
        dc_err re = {0};
        int rc = idx[i] < 0 ? DC_ENOTFOUND
                            : svc__blob_read(h, ds, "x", idx[i] * row, out + (size_t)i * d,
                                             row, &re);
        if (rc == DC_ENOTFOUND || rc == DC_EFORMAT)
            return dc_err_set(e, DC_ECONFLICT, "sample %lld is not in dataset %s (is it "
                              "gone?)", (long long)idx[i], ds);
        if (rc < 0) return dc_err_set(e, rc, "%s", re.msg);
    }
    return 0;
}

/* The images of samples idx[0..m) into im at image `at` (im already allocated). */
static int images_of(db_conn *db, const svc__job_ref *ref, const svc__results *r,
                     const int64_t *idx, int m, svc_images *im, int at, dc_err *e)
{
    size_t d = (size_t)im->h * im->w * im->c;
    if (m == 0) return 0;
    int rc = rows_read(db, ref->dataset, idx, m, (int)d, im->px + (size_t)at * d, e);
    if (rc == 0) to_unit(im->px + (size_t)at * d, (size_t)m * d, r->x_min, r->x_max);
    return rc;
}

/* Resolves the shape for images of the job's samples and allocates count of them. */
static int job_images(const svc__job_ref *ref, const char *job, svc_shape want, int count,
                      svc_images *im, dc_err *e)
{
    svc_shape sh;
    int rc;
    if (!ref->dataset[0])
        return dc_err_set(e, DC_ECONFLICT, "the dataset of job %s was deleted: its samples "
                          "cannot be drawn", job);
    if ((rc = shape_resolve(want, ref->shape, (svc_shape){0, 0, 0}, ref->d, &sh, e)) < 0)
        return rc;
    return images_alloc(im, count, sh, e);
}

static int check_n(int n, int lo, int hi, const char *what, dc_err *e)
{
    if (n < lo || n > hi)
        return dc_err_set(e, DC_EINVAL, "%s must be in [%d, %d], got %d", what, lo, hi, n);
    return 0;
}

static uint64_t cluster_seed(uint64_t seed, int c) { return seed + 0x9e3779b97f4a7c15u * (uint64_t)(c + 1); }

/* n distinct indices of [0, total) drawn with seed (all of them, shuffled, when n >= total). */
static int draw(int64_t total, int n, uint64_t seed, int64_t *out)
{
    rng r;
    int got = 0;
    rng_seed(&r, seed);
    if (n > total) n = (int)total;
    while (got < n) {
        int64_t v = (int64_t)rng_below(&r, (uint64_t)total), dup = 0;
        for (int i = 0; i < got && !dup; i++) dup = out[i] == v;
        if (!dup) out[got++] = v;
    }
    return got;
}

/* ---- confusion --------------------------------------------------------------------------- */

void svc_confusion_free(svc_confusion *c)
{
    if (!c) return;
    free(c->classes), free(c->counts), free(c->mapping);
    memset(c, 0, sizeof *c);
}

int svc_job_confusion(svc *s, const char *job, svc_confusion *out, dc_err *e)
{
    store *db = NULL;
    svc__job_ref ref;
    svc__results r;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = open_results(s, job, 0, &db, &ref, &r, e)) < 0) goto out;
    if (!r.truth) {
        rc = dc_err_set(e, DC_EINVAL, "job %s: its dataset had no labels, so there is no "
                        "confusion matrix (PUT /v1/datasets/{id}/labels, then run the job again)",
                        job);
        goto out;
    }
    if (!r.c) {
        rc = dc_err_set(e, DC_EINVAL, "job %s: the labels have more than 1000 distinct values; "
                        "no confusion matrix", job);
        goto out;
    }
    out->k = r.k, out->c = r.c, out->n = r.n, out->acc = r.acc;
    out->classes = r.classes, out->counts = r.confusion, out->mapping = r.mapping; /* moved */
    r.classes = NULL, r.confusion = NULL, r.mapping = NULL;
out:
    svc__results_free(&r);
    svc__db_put(s, db);
    return rc;
}

/* ---- per-cluster samples ------------------------------------------------------------------- */

void svc_samples_free(svc_samples *p)
{
    if (!p) return;
    free(p->cluster), free(p->size), free(p->count), free(p->index), free(p->q);
    free(p->images.px);
    memset(p, 0, sizeof *p);
}

typedef struct ranked { float score; int32_t index; } ranked;

/* Higher score first, then lower index. */
static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

int svc_job_samples(svc *s, const char *job, const svc_sample_req *rq, svc_samples *out,
                    dc_err *e)
{
    store *db = NULL;
    svc__job_ref ref;
    svc__results r;
    ranked *members = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = check_n(rq->n, 1, SVC_PICS_MAX, "n", e)) < 0) return rc;
    if ((rc = open_results(s, job, 0, &db, &ref, &r, e)) < 0) goto out;
    if (rq->cluster >= r.k || rq->cluster < -1) {
        rc = dc_err_set(e, DC_EINVAL, "cluster %d is out of range: job %s has %d clusters "
                        "(0..%d)", rq->cluster, job, r.k, r.k - 1);
        goto out;
    }
    int rows = rq->cluster < 0 ? r.k : 1, n = rq->n;
    out->k = r.k, out->rows = rows, out->n = n;
    out->cluster = malloc(sizeof *out->cluster * (size_t)rows);
    out->size = calloc((size_t)rows, sizeof *out->size);
    out->count = calloc((size_t)rows, sizeof *out->count);
    out->index = calloc((size_t)rows * n, sizeof *out->index);
    out->q = calloc((size_t)rows * n, sizeof *out->q);
    members = malloc(sizeof *members * (size_t)r.n);
    if (!out->cluster || !out->size || !out->count || !out->index || !out->q || !members) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    if (rq->images && (rc = job_images(&ref, job, rq->shape, rows * n, &out->images, e)) < 0)
        goto out;
    for (int row = 0; row < rows; row++) {
        int c = rq->cluster < 0 ? row : rq->cluster;
        int64_t size = 0, *idx = out->index + (size_t)row * n;
        for (int64_t i = 0; i < r.n; i++)
            if (r.labels[i] == c) members[size++] = (ranked){r.qmax[i], (int32_t)i};
        int got = (int)(size < n ? size : n);
        if (rq->order == SVC_ORDER_RANDOM) { /* the first `got` of a seeded shuffle */
            rng g;
            rng_seed(&g, cluster_seed(rq->seed, c));
            for (int i = 0; i < got; i++) {
                int64_t j = i + (int64_t)rng_below(&g, (uint64_t)(size - i));
                ranked t = members[i];
                members[i] = members[j], members[j] = t;
            }
        } else { /* highest q first */
            qsort(members, (size_t)size, sizeof *members, cmp_ranked);
        }
        out->cluster[row] = c, out->size[row] = size, out->count[row] = got;
        for (int i = 0; i < got; i++) {
            idx[i] = members[i].index;
            out->q[(size_t)row * n + i] = members[i].score;
        }
        if (rq->images && (rc = images_of(store_db(db), &ref, &r, idx, got, &out->images,
                                          row * n, e)) < 0)
            goto out;
    }
out:
    if (rc < 0) svc_samples_free(out);
    free(members);
    svc__results_free(&r);
    svc__db_put(s, db);
    return rc;
}

/* ---- reconstructions ----------------------------------------------------------------------- */

void svc_recons_free(svc_recons *p)
{
    if (!p) return;
    free(p->index), free(p->error), free(p->images.px);
    memset(p, 0, sizeof *p);
}

int svc_job_reconstructions(svc *s, const char *job, int n, uint64_t seed, int images,
                            svc_shape shape, svc_recons *out, dc_err *e)
{
    store *db = NULL;
    svc__job_ref ref;
    svc__results r;
    svc_model *m = NULL;
    float *x = NULL, *y = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = check_n(n, 1, SVC_PICS_MAX, "n", e)) < 0) return rc;
    if ((rc = open_results(s, job, 0, &db, &ref, &r, e)) < 0) goto out;
    if (!r.recon) {
        rc = dc_err_set(e, DC_EINVAL, "job %s: its model has no decoder (kmeans, or n2d "
                        "without an autoencoder): nothing to reconstruct", job);
        goto out;
    }
    if (!ref.model[0] || !ref.dataset[0]) {
        rc = dc_err_set(e, DC_ECONFLICT, "job %s: its %s was deleted", job,
                        ref.model[0] ? "dataset" : "model");
        goto out;
    }
    int d = ref.d;
    out->index = malloc(sizeof *out->index * (size_t)n);
    out->error = malloc(sizeof *out->error * (size_t)n);
    x = malloc(sizeof *x * (size_t)n * d);
    y = malloc(sizeof *y * (size_t)n * d);
    if (!out->index || !out->error || !x || !y) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    int cnt = out->count = draw(r.n, n, seed, out->index);
    if ((rc = rows_read(store_db(db), ref.dataset, out->index, cnt, d, x, e)) < 0) goto out;
    if ((rc = svc__model_acquire(s, store_db(db), ref.model, &m, e)) < 0) goto out;
    if (cluster_model_dim(m->m) != d) {
        rc = dc_err_set(e, DC_ECONFLICT, "model %s does not fit dataset %s", ref.model,
                        ref.dataset);
        goto out;
    }
    pthread_mutex_lock(&m->mu);
    rc = cluster_reconstruct(m->m, x, cnt, y, e);
    pthread_mutex_unlock(&m->mu);
    if (rc < 0) goto out;
    for (int i = 0; i < cnt; i++) {
        double acc = 0;
        for (int j = 0; j < d; j++) {
            double t = (double)x[(size_t)i * d + j] - y[(size_t)i * d + j];
            acc += t * t;
        }
        out->error[i] = (float)(acc / d);
    }
    if (images) {
        if ((rc = job_images(&ref, job, shape, 2 * cnt, &out->images, e)) < 0) goto out;
        memcpy(out->images.px, x, sizeof *x * (size_t)cnt * d);
        memcpy(out->images.px + (size_t)cnt * d, y, sizeof *y * (size_t)cnt * d);
        to_unit(out->images.px, (size_t)2 * cnt * d, r.x_min, r.x_max);
    }
out:
    if (rc < 0) svc_recons_free(out);
    svc__model_release(s, m);
    free(x), free(y);
    svc__results_free(&r);
    svc__db_put(s, db);
    return rc;
}

/* ---- vae generation ------------------------------------------------------------------------ */

void svc_generated_free(svc_generated *p)
{
    if (!p) return;
    free(p->cluster), free(p->x);
    memset(p, 0, sizeof *p);
}

int svc_model_generate(svc *s, const char *model, int cluster, int n, uint64_t seed,
                       int images, svc_shape shape, svc_generated *out, dc_err *e)
{
    store *db = NULL;
    svc_model *m = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = check_n(n, 1, SVC_PICS_MAX, "n", e)) < 0) return rc;
    if (!(db = svc__db_get(s, e))) return e && e->code ? e->code : DC_EIO;
    if ((rc = svc__model_acquire(s, store_db(db), model, &m, e)) < 0) goto out;
    const cluster_spec *sp = cluster_model_spec(m->m);
    int k = cluster_model_k(m->m), d = cluster_model_dim(m->m);
    if (sp->method != CM_VAE) {
        rc = dc_err_set(e, DC_EINVAL, "model %s is %s: only vae models generate samples", model,
                        cluster_method_name((cluster_method)sp->method));
        goto out;
    }
    if (cluster >= k || cluster < -1) {
        rc = dc_err_set(e, DC_EINVAL, "cluster %d is out of range: model %s has %d clusters "
                        "(0..%d)", cluster, model, k, k - 1);
        goto out;
    }
    if (images) {
        svc_shape ms;
        cluster_model_image_shape(m->m, &ms.h, &ms.w, &ms.c);
        if ((rc = shape_resolve(shape, NULL, ms, d, &out->shape, e)) < 0) goto out;
        if ((int64_t)(cluster < 0 ? k : 1) * n * out->shape.h * out->shape.w >
            SVC_PICTURE_MAX_PIXELS) {
            rc = dc_err_set(e, DC_EINVAL, "the picture would have over %d pixels: ask for "
                            "fewer", SVC_PICTURE_MAX_PIXELS);
            goto out;
        }
    }
    int rows = cluster < 0 ? k : 1;
    out->k = k, out->d = d, out->rows = rows, out->n = n;
    out->cluster = malloc(sizeof *out->cluster * (size_t)rows);
    out->x = malloc(sizeof *out->x * (size_t)rows * n * d);
    if (!out->cluster || !out->x) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    pthread_mutex_lock(&m->mu);
    for (int row = 0; row < rows && rc == 0; row++) {
        int c = cluster < 0 ? row : cluster;
        out->cluster[row] = c;
        rc = cluster_generate(m->m, c, n, seed + (uint64_t)c, out->x + (size_t)row * n * d, e);
    }
    pthread_mutex_unlock(&m->mu);
out:
    if (rc < 0) svc_generated_free(out);
    svc__model_release(s, m);
    svc__db_put(s, db);
    return rc;
}

/* ---- embedding map ------------------------------------------------------------------------- */

void svc_embedding_free(svc_embedding *p)
{
    if (!p) return;
    free(p->index), free(p->xy), free(p->cluster), free(p->label), free(p->centroid_xy);
    memset(p, 0, sizeof *p);
}

int svc_job_embedding(svc *s, const char *job, int n, svc_embedding *out, dc_err *e)
{
    store *db = NULL;
    svc__job_ref ref;
    svc__results r;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = check_n(n, SVC_MAP_MIN, SVC_MAP_MAX, "n", e)) < 0) return rc;
    if ((rc = open_results(s, job, 0, &db, &ref, &r, e)) < 0) goto out;
    int cnt = n < r.map_n ? n : r.map_n;
    snprintf(out->source, sizeof out->source, "%s", r.map_source);
    out->k = r.k, out->count = cnt;
    out->index = malloc(sizeof *out->index * (size_t)cnt + 1);
    out->cluster = malloc(sizeof *out->cluster * (size_t)cnt + 1);
    out->label = r.truth ? malloc(sizeof *out->label * (size_t)cnt + 1) : NULL;
    out->xy = r.map_xy, out->centroid_xy = r.centroid_xy; /* moved: the first cnt rows */
    r.map_xy = NULL, r.centroid_xy = NULL;
    if (!out->index || !out->cluster || (r.truth && !out->label)) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < cnt; i++) {
        int32_t at = r.map_index[i];
        out->index[i] = at;
        out->cluster[i] = r.labels[at];
        if (out->label) out->label[i] = r.truth[at];
    }
out:
    if (rc < 0) svc_embedding_free(out);
    svc__results_free(&r);
    svc__db_put(s, db);
    return rc;
}

/* ---- outliers ------------------------------------------------------------------------------ */

void svc_outliers_free(svc_outliers *p)
{
    if (!p) return;
    free(p->index), free(p->iforest), free(p->confidence), free(p->recon), free(p->cluster);
    free(p->label), free(p->images.px);
    memset(p, 0, sizeof *p);
}

int svc_job_outliers(svc *s, const char *job, int n, int by, int images, svc_shape shape,
                     svc_outliers *out, dc_err *e)
{
    store *db = NULL;
    svc__job_ref ref;
    svc__results r;
    ranked *rk = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = check_n(n, 1, SVC_OUTLIERS_MAX, "n", e)) < 0) return rc;
    if (by < SVC_BY_IFOREST || by > SVC_BY_RECONSTRUCTION)
        return dc_err_set(e, DC_EINVAL, "unknown outlier score %d", by);
    if ((rc = open_results(s, job, 0, &db, &ref, &r, e)) < 0) goto out;
    if (by == SVC_BY_RECONSTRUCTION && !r.recon) {
        rc = dc_err_set(e, DC_EINVAL, "job %s: its model has no decoder (kmeans, or n2d "
                        "without an autoencoder): rank by iforest or confidence", job);
        goto out;
    }
    int cnt = (int)(n < r.n ? n : r.n);
    if (!(rk = malloc(sizeof *rk * (size_t)r.n))) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    for (int64_t i = 0; i < r.n; i++) {
        float v = by == SVC_BY_IFOREST ? r.iforest[i]
                  : by == SVC_BY_CONFIDENCE ? 1 - r.qmax[i] : r.recon[i];
        rk[i] = (ranked){isnan(v) ? -INFINITY : v, (int32_t)i};
    }
    qsort(rk, (size_t)r.n, sizeof *rk, cmp_ranked);
    out->count = cnt;
    out->index = malloc(sizeof *out->index * (size_t)cnt);
    out->iforest = malloc(sizeof *out->iforest * (size_t)cnt);
    out->confidence = malloc(sizeof *out->confidence * (size_t)cnt);
    out->recon = malloc(sizeof *out->recon * (size_t)cnt);
    out->cluster = malloc(sizeof *out->cluster * (size_t)cnt);
    out->label = r.truth ? malloc(sizeof *out->label * (size_t)cnt) : NULL;
    if (!out->index || !out->iforest || !out->confidence || !out->recon || !out->cluster ||
        (r.truth && !out->label)) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < cnt; i++) {
        int32_t at = rk[i].index;
        out->index[i] = at;
        out->iforest[i] = r.iforest[at];
        out->confidence[i] = 1 - r.qmax[at];
        out->recon[i] = r.recon ? r.recon[at] : NAN;
        out->cluster[i] = r.labels[at];
        if (out->label) out->label[i] = r.truth[at];
    }
    if (images && ((rc = job_images(&ref, job, shape, cnt, &out->images, e)) < 0 ||
                   (rc = images_of(store_db(db), &ref, &r, out->index, cnt, &out->images, 0,
                                   e)) < 0))
        goto out;
out:
    if (rc < 0) svc_outliers_free(out);
    free(rk);
    svc__results_free(&r);
    svc__db_put(s, db);
    return rc;
}

/* ---- outlier scores of new samples ---------------------------------------------------------- */

void svc_outlier_scores_free(svc_outlier_scores *p)
{
    if (!p) return;
    free(p->iforest), free(p->confidence), free(p->recon);
    memset(p, 0, sizeof *p);
}

/* The job a model came from ("" when it was deleted). */
static int model_job(db_conn *db, const char *model, char *job, size_t cap, dc_err *e)
{
    db_stmt *st = NULL;
    int rc;
    rc = svc__row_by_id(db, "SELECT job_id FROM models WHERE id = ?", model, "model", "model",
                        &st, e);
    if (rc == 0) svc__col_text(st, 0, job, cap);
    db_finalize(st);
    return rc;
}

int svc_model_outliers(svc *s, const char *model, const float *x, int64_t n, int d,
                       svc_outlier_scores *out, dc_err *e)
{
    store *db = NULL;
    svc__job_ref ref;
    svc__results r = {0};
    svc_model *m = NULL;
    iforest *f = NULL;
    float *q = NULL, *z = NULL, *y = NULL;
    double *sc = NULL;
    char job[JOBSPEC_ID_MAX];
    int rc;

    memset(out, 0, sizeof *out);
    if (!(db = svc__db_get(s, e))) return e && e->code ? e->code : DC_EIO;
    if ((rc = model_job(store_db(db), model, job, sizeof job, e)) < 0) goto out;
    if (!job[0]) {
        rc = dc_err_set(e, DC_ECONFLICT, "the job of model %s was deleted, and its isolation "
                        "forest with it: no outlier scores", model);
        goto out;
    }
    if ((rc = svc__results_get(s, db, job, 1, &ref, &r, e)) < 0) goto out;
    if ((rc = iforest_load(&f, r.forest, r.forest_len, e)) < 0) goto out;
    if ((rc = svc__model_acquire(s, store_db(db), model, &m, e)) < 0) goto out;
    int k = cluster_model_k(m->m), kmeans = cluster_model_spec(m->m)->method == CM_KMEANS;
    int emb = kmeans ? d : cluster_model_embed(m->m);
    if (d != cluster_model_dim(m->m) || n < 1) {
        rc = dc_err_set(e, DC_EINVAL, "model %s takes %d features per sample, got %d", model,
                        cluster_model_dim(m->m), d);
        goto out;
    }
    if (iforest_dim(f) != emb) {
        rc = dc_err_set(e, DC_ECONFLICT, "the stored forest of job %s does not fit model %s",
                        job, model);
        goto out;
    }
    q = malloc(sizeof *q * (size_t)n * k);
    z = kmeans ? NULL : malloc(sizeof *z * (size_t)n * emb);
    y = r.recon ? malloc(sizeof *y * (size_t)n * d) : NULL;
    sc = malloc(sizeof *sc * (size_t)n);
    out->n = n;
    out->iforest = malloc(sizeof *out->iforest * (size_t)n);
    out->confidence = malloc(sizeof *out->confidence * (size_t)n);
    out->recon = malloc(sizeof *out->recon * (size_t)n);
    if (!q || (!kmeans && !z) || (r.recon && !y) || !sc || !out->iforest || !out->confidence ||
        !out->recon) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory for %lld samples", (long long)n);
        goto out;
    }
    pthread_mutex_lock(&m->mu);
    rc = cluster_predict(m->m, x, n, q, NULL, z, e);
    if (rc == 0 && y) rc = cluster_reconstruct(m->m, x, n, y, e);
    pthread_mutex_unlock(&m->mu);
    if (rc == DC_EFORMAT) rc = DC_EINVAL; /* a non-finite value */
    if (rc < 0 || (rc = iforest_score(f, kmeans ? x : z, (size_t)n, sc, e)) < 0) goto out;
    for (int64_t i = 0; i < n; i++) {
        float best = q[i * k];
        for (int j = 1; j < k; j++) best = q[i * k + j] > best ? q[i * k + j] : best;
        out->iforest[i] = (float)sc[i];
        out->confidence[i] = 1 - best;
        double acc = 0;
        for (int j = 0; y && j < d; j++) {
            double t = (double)x[i * d + j] - y[i * d + j];
            acc += t * t;
        }
        out->recon[i] = y ? (float)(acc / d) : NAN;
    }
out:
    if (rc < 0) svc_outlier_scores_free(out);
    iforest_free(f);
    free(q), free(z), free(y), free(sc);
    svc__model_release(s, m);
    svc__results_free(&r);
    svc__db_put(s, db);
    return rc;
}
