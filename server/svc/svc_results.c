/* svc_results: a succeeded job's results, what its pictures and outlier lists are drawn
 * from (svc.h, "results"): computed once from the model's predictions on its training set
 * and stored in job_results (migrations/0002) with the model, by the worker that ran it.
 *
 * Per sample: the cluster, max q, an isolation-forest score on the embedding (the codes;
 * raw features for kmeans, manifold coordinates for n2d; core/iforest.h, 100 trees of
 * subsample 256, seeded by the job's seed) and the reconstruction MSE; the forest itself
 * (to score new samples); the dataset's labels and value range; a 2-D map of up to
 * SVC_MAP_MAX samples taken in turn from each cluster, PCA of their embedding with the
 * centroids projected the same way; the confusion matrix with the Hungarian matching. A
 * job that succeeded before migration 0002 has no row: svc__results_get computes it on
 * the first request (one at a time), from the stored model and dataset. */
#include "svc_internal.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "dc_size.h"
#include "dc_time.h"
#include "iforest.h"
#include "metrics.h"
#include "pca.h"
#include "rng.h"

enum {
    MAX_CLASSES = 1000,  /* no confusion matrix past this many label values */
    PCA_JACOBI_MAX = 64, /* pca_fit up to this width, pca_fit_top above */
    PCA_MAX_D = 4096,    /* wider embeddings are randomly projected to PROJ_D first */
    PROJ_D = 256,
    RECON_ROWS = 1024,
};

void svc__results_free(svc__results *r)
{
    if (!r) return;
    free(r->labels), free(r->qmax), free(r->iforest), free(r->recon), free(r->forest);
    free(r->truth), free(r->map_index), free(r->map_xy), free(r->centroid_xy);
    free(r->classes), free(r->confusion), free(r->mapping);
    memset(r, 0, sizeof *r);
}

/* ---- computing ------------------------------------------------------------------------ */

static int nomem(dc_err *e) { return dc_err_set(e, DC_ENOMEM, "out of memory for the results"); }

/* out (m, PROJ_D) = X (m, d) R and cout (k, PROJ_D) = C (k, d) R, R (d, PROJ_D) Gaussian
 * from seed: a width PCA can take, distances kept about (Johnson-Lindenstrauss). */
static int project(const float *X, int m, const float *C, int k, int d, uint64_t seed,
                   float *out, float *cout, dc_err *e)
{
    float *R = malloc(sizeof *R * (size_t)d * PROJ_D);
    rng r;
    if (!R) return nomem(e);
    rng_seed(&r, seed);
    for (size_t i = 0; i < (size_t)d * PROJ_D; i++) R[i] = (float)(rng_normal(&r) / sqrt(PROJ_D));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, PROJ_D, d, 1.0f, X, d, R, PROJ_D,
                0.0f, out, PROJ_D);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, k, PROJ_D, d, 1.0f, C, d, R, PROJ_D,
                0.0f, cout, PROJ_D);
    free(R);
    return 0;
}

/* The 2-D map: up to SVC_MAP_MAX samples, each cluster's members shuffled and taken in
 * turn (so that every prefix is spread evenly), PCA of their embedding E (n, emb); the
 * centroids cen (k, emb) through the same projection. */
static int make_map(svc__results *o, const float *E, int emb, const float *cen, uint64_t seed,
                    dc_err *e)
{
    int64_t n = o->n;
    int k = o->k, mn = (int)(n < SVC_MAP_MAX ? n : SVC_MAP_MAX), w = emb, rc = 0;
    int64_t *start = calloc((size_t)k + 1, sizeof *start), *pos = calloc((size_t)k, sizeof *pos);
    int *members = malloc(sizeof *members * (size_t)n);
    float *X = malloc(sizeof *X * (size_t)mn * emb), *C = NULL, *Y = NULL, *Yc = NULL;
    pca p = {0};
    rng r;

    o->map_n = mn;
    o->map_index = malloc(sizeof *o->map_index * (size_t)mn);
    o->map_xy = calloc((size_t)mn * 2, sizeof *o->map_xy);
    o->centroid_xy = calloc((size_t)k * 2, sizeof *o->centroid_xy);
    if (!start || !pos || !members || !X || !o->map_index || !o->map_xy || !o->centroid_xy) {
        rc = nomem(e);
        goto out;
    }
    for (int64_t i = 0; i < n; i++) start[o->labels[i] + 1]++;
    for (int c = 0; c < k; c++) start[c + 1] += start[c];
    for (int64_t i = 0; i < n; i++) members[start[o->labels[i]] + pos[o->labels[i]]++] = (int)i;
    rng_seed(&r, seed ^ 0x6d6170u); /* "map" */
    for (int c = 0; c < k; c++) {
        rng_shuffle(&r, members + start[c], (size_t)(start[c + 1] - start[c]));
        pos[c] = start[c];
    }
    for (int got = 0; got < mn;)
        for (int c = 0; c < k && got < mn; c++)
            if (pos[c] < start[c + 1]) o->map_index[got++] = members[pos[c]++];
    for (int i = 0; i < mn; i++)
        memcpy(X + (size_t)i * emb, E + (size_t)o->map_index[i] * emb, sizeof *X * emb);
    if (emb > PCA_MAX_D) {
        float *Xp = malloc(sizeof *Xp * (size_t)mn * PROJ_D);
        C = malloc(sizeof *C * (size_t)k * PROJ_D);
        if (!Xp || !C) {
            free(Xp);
            rc = nomem(e);
            goto out;
        }
        rc = project(X, mn, cen, k, emb, seed, Xp, C, e);
        free(X);
        X = Xp;
        cen = C;
        w = PROJ_D;
        if (rc < 0) goto out;
    }
    int dims = w >= 2 ? 2 : 1;
    Y = malloc(sizeof *Y * (size_t)mn * dims);
    Yc = malloc(sizeof *Yc * (size_t)k * dims);
    if (!Y || !Yc) {
        rc = nomem(e);
        goto out;
    }
    rc = w <= PCA_JACOBI_MAX ? pca_fit(&p, X, (size_t)mn, w, dims, e)
                             : pca_fit_top(&p, X, (size_t)mn, w, dims, e);
    if (rc == 0) rc = pca_transform(&p, X, (size_t)mn, Y, e);
    if (rc == 0) rc = pca_transform(&p, cen, (size_t)k, Yc, e);
    if (rc < 0) goto out;
    for (int i = 0; i < mn; i++)
        for (int t = 0; t < dims; t++) o->map_xy[i * 2 + t] = Y[i * dims + t];
    for (int c = 0; c < k; c++)
        for (int t = 0; t < dims; t++) o->centroid_xy[c * 2 + t] = Yc[c * dims + t];
out:
    pca_free(&p);
    free(start), free(pos), free(members), free(X), free(C), free(Y), free(Yc);
    return rc;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The confusion matrix of clusters (every one of 0..k-1, empty ones too) against the
 * classes, and the Hungarian matching behind ACC. No matrix past MAX_CLASSES classes. */
static int make_confusion(svc__results *o, dc_err *e)
{
    int64_t n = o->n;
    int k = o->k, c = 0, rc = 0;
    int32_t *vals = malloc(sizeof *vals * (size_t)n);
    long *counts = NULL;
    int *assign = NULL, *ids = NULL;

    if (!vals) return nomem(e);
    memcpy(vals, o->truth, sizeof *vals * (size_t)n);
    qsort(vals, (size_t)n, sizeof *vals, cmp_i32);
    for (int64_t i = 0; i < n && c <= MAX_CLASSES; i++)
        if (i == 0 || vals[i] != vals[i - 1]) vals[c++] = vals[i];
    if (c > MAX_CLASSES) goto out; /* no matrix: c stays 0 */
    o->classes = malloc(sizeof *o->classes * (size_t)c);
    o->confusion = calloc((size_t)k * c, sizeof *o->confusion);
    o->mapping = malloc(sizeof *o->mapping * (size_t)k);
    counts = calloc((size_t)k * c, sizeof *counts);
    assign = malloc(sizeof *assign * (size_t)k);
    ids = malloc(sizeof *ids * (size_t)(k > c ? k : c) * 2);
    if (!o->classes || !o->confusion || !o->mapping || !counts || !assign || !ids) {
        rc = nomem(e);
        goto out;
    }
    memcpy(o->classes, vals, sizeof *vals * (size_t)c);
    for (int64_t i = 0; i < n; i++) {
        const int32_t *at = bsearch(&o->truth[i], o->classes, (size_t)c, sizeof *at, cmp_i32);
        counts[(size_t)o->labels[i] * c + (size_t)(at - o->classes)]++;
    }
    for (int i = 0; i < k; i++) ids[i] = i;
    for (int j = 0; j < c; j++) ids[k + j] = o->classes[j];
    metrics_confusion cm = {.k = k, .c = c, .counts = counts, .pred_ids = ids,
                            .true_ids = ids + k, .n = (size_t)n};
    if ((rc = metrics_acc_cm(&cm, &o->acc, assign, e)) < 0) goto out;
    for (size_t i = 0; i < (size_t)k * c; i++) o->confusion[i] = counts[i];
    for (int i = 0; i < k; i++) o->mapping[i] = assign[i];
    o->c = c;
out:
    if (rc < 0 || !o->c) {
        free(o->classes), free(o->confusion), free(o->mapping);
        o->classes = NULL, o->mapping = NULL, o->confusion = NULL, o->c = 0;
    }
    free(vals), free(counts), free(assign), free(ids);
    return rc;
}

/* Reconstruction MSE of each sample, by blocks of rows; recon stays NULL for a model
 * without a decoder. */
static int make_recon(svc__results *o, const cluster_model *m, const dataset *ds, dc_err *e)
{
    int d = ds->d, rc = 0;
    float *buf;
    const cluster_spec *sp = cluster_model_spec(m);
    if (sp->method == CM_KMEANS || (sp->method == CM_N2D && sp->n_hidden == 0)) return 0;
    buf = malloc(sizeof *buf * (size_t)RECON_ROWS * d);
    o->recon = malloc(sizeof *o->recon * (size_t)o->n);
    if (!buf || !o->recon) {
        free(buf);
        return nomem(e);
    }
    for (int64_t s = 0; rc == 0 && s < o->n; s += RECON_ROWS) {
        int64_t b = o->n - s < RECON_ROWS ? o->n - s : RECON_ROWS;
        const float *x = ds->x + (size_t)s * d;
        if ((rc = cluster_reconstruct(m, x, b, buf, e)) < 0) break;
        for (int64_t i = 0; i < b; i++) {
            double acc = 0;
            for (int j = 0; j < d; j++) {
                double t = (double)x[i * d + j] - buf[i * d + j];
                acc += t * t;
            }
            o->recon[s + i] = (float)(acc / d);
        }
    }
    free(buf);
    if (rc == DC_EINVAL) { /* no decoder after all */
        free(o->recon);
        o->recon = NULL;
        rc = 0;
    }
    return rc;
}

int svc__results_compute(const cluster_model *m, const dataset *ds, const int32_t *labels,
                         const float *q, const float *z, uint64_t seed, svc__results *out,
                         dc_err *e)
{
    double t0 = dc_now_s();
    int64_t n = ds->n;
    int k = cluster_model_k(m), d = ds->d, rc = 0;
    int kmeans = cluster_model_spec(m)->method == CM_KMEANS;
    int emb = kmeans ? d : cluster_model_embed(m);
    int32_t *lab_own = NULL;
    float *q_own = NULL, *z_own = NULL;
    double *sc = NULL;
    iforest *f = NULL;
    size_t nk, ne;

    memset(out, 0, sizeof *out);
    if (n < 1 || n > INT32_MAX || d != cluster_model_dim(m) ||
        dc_mul_size(n, k, &nk) < 0 || dc_mul_size(n, emb, &ne) < 0)
        return dc_err_set(e, DC_EINVAL, "results: %lld samples of %d features do not fit the "
                          "model", (long long)n, d);
    if (!labels || !q || (!kmeans && !z)) { /* predict here */
        lab_own = malloc(sizeof *lab_own * (size_t)n);
        q_own = malloc(sizeof *q_own * nk);
        z_own = kmeans ? NULL : malloc(sizeof *z_own * ne);
        if (!lab_own || !q_own || (!kmeans && !z_own)) {
            rc = nomem(e);
            goto out;
        }
        if ((rc = cluster_predict(m, ds->x, n, q_own, lab_own, z_own, e)) < 0) goto out;
        labels = lab_own, q = q_own, z = z_own;
    }
    const float *E = kmeans ? ds->x : z;
    out->n = n, out->k = k, out->embed = emb;
    snprintf(out->map_source, sizeof out->map_source, "%s",
             cluster_model_spec(m)->method == CM_N2D ? "manifold" : "pca");
    out->labels = malloc(sizeof *out->labels * (size_t)n);
    out->qmax = malloc(sizeof *out->qmax * (size_t)n);
    out->iforest = malloc(sizeof *out->iforest * (size_t)n);
    sc = malloc(sizeof *sc * (size_t)n);
    if (!out->labels || !out->qmax || !out->iforest || !sc) {
        rc = nomem(e);
        goto out;
    }
    for (int64_t i = 0; i < n; i++) {
        float best = q[i * k];
        for (int j = 1; j < k; j++) best = q[i * k + j] > best ? q[i * k + j] : best;
        out->qmax[i] = best;
        out->labels[i] = labels[i] >= 0 && labels[i] < k ? labels[i] : 0;
    }
    out->x_min = INFINITY, out->x_max = -INFINITY;
    for (size_t i = 0; i < (size_t)n * d; i++) {
        if (ds->x[i] < out->x_min) out->x_min = ds->x[i];
        if (ds->x[i] > out->x_max) out->x_max = ds->x[i];
    }
    /* the isolation forest on the embedding, kept to score new samples */
    iforest_opts fo;
    iforest_opts_default(&fo);
    fo.seed = seed;
    if ((rc = iforest_fit(&f, E, (size_t)n, emb, &fo, e)) < 0 ||
        (rc = iforest_score(f, E, (size_t)n, sc, e)) < 0)
        goto out;
    for (int64_t i = 0; i < n; i++) out->iforest[i] = (float)sc[i];
    out->forest_len = iforest_saved_len(f);
    if (!(out->forest = malloc(sizeof *out->forest * out->forest_len))) {
        rc = nomem(e);
        goto out;
    }
    if ((rc = iforest_save(f, out->forest, out->forest_len, e)) < 0) goto out;
    if ((rc = make_recon(out, m, ds, e)) < 0) goto out;
    if (ds->labels) {
        if (!(out->truth = malloc(sizeof *out->truth * (size_t)n))) {
            rc = nomem(e);
            goto out;
        }
        memcpy(out->truth, ds->labels, sizeof *out->truth * (size_t)n);
        if ((rc = make_confusion(out, e)) < 0) goto out;
    }
    rc = make_map(out, E, emb, cluster_model_centroids(m), seed, e);
out:
    iforest_free(f);
    free(sc), free(lab_own), free(q_own), free(z_own);
    if (rc < 0) svc__results_free(out);
    else out->seconds = dc_now_s() - t0;
    return rc;
}

/* ---- storing and loading --------------------------------------------------------------- */

static void bind_blob(db_stmt *st, int i, const void *p, size_t bytes)
{
    if (p) db_bind_blob(st, i, p, (uint64_t)bytes);
    else db_bind_null(st, i);
}

int svc__results_insert(db_conn *db, const char *job, const svc__results *r, dc_err *e)
{
    db_stmt *st = NULL;
    size_t n = (size_t)r->n, kc = (size_t)r->k * r->c;
    int rc = 0;
    if (db_prepare(db,
                           "INSERT INTO job_results (job_id, n, k, embed, x_min, x_max, "
                           "labels, qmax, iforest, recon, forest, truth, map_source, map_index, "
                           "map_xy, centroid_xy, classes, confusion, mapping, acc, seconds) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                           "ON CONFLICT (job_id) DO UPDATE SET n = excluded.n, k = excluded.k, "
                           "embed = excluded.embed, x_min = excluded.x_min, x_max = excluded.x_max, "
                           "labels = excluded.labels, qmax = excluded.qmax, "
                           "iforest = excluded.iforest, recon = excluded.recon, "
                           "forest = excluded.forest, truth = excluded.truth, "
                           "map_source = excluded.map_source, map_index = excluded.map_index, "
                           "map_xy = excluded.map_xy, centroid_xy = excluded.centroid_xy, "
                           "classes = excluded.classes, confusion = excluded.confusion, "
                           "mapping = excluded.mapping, acc = excluded.acc, "
                           "seconds = excluded.seconds, created_at = dc_now()", &st) != DB_OK)
        return svc__sql_err(db, "store results", e);
    db_bind_text(st, 1, job);
    db_bind_int64(st, 2, r->n);
    db_bind_int(st, 3, r->k);
    db_bind_int(st, 4, r->embed);
    db_bind_double(st, 5, r->x_min);
    db_bind_double(st, 6, r->x_max);
    bind_blob(st, 7, r->labels, n * 4);
    bind_blob(st, 8, r->qmax, n * 4);
    bind_blob(st, 9, r->iforest, n * 4);
    bind_blob(st, 10, r->recon, n * 4);
    bind_blob(st, 11, r->forest, r->forest_len * 8);
    bind_blob(st, 12, r->truth, n * 4);
    db_bind_text(st, 13, r->map_source);
    bind_blob(st, 14, r->map_index, (size_t)r->map_n * 4);
    bind_blob(st, 15, r->map_xy, (size_t)r->map_n * 8);
    bind_blob(st, 16, r->centroid_xy, (size_t)r->k * 8);
    bind_blob(st, 17, r->c ? r->classes : NULL, (size_t)r->c * 4);
    bind_blob(st, 18, r->c ? r->confusion : NULL, kc * 8);
    bind_blob(st, 19, r->c ? r->mapping : NULL, (size_t)r->k * 4);
    if (r->c) db_bind_double(st, 20, r->acc);
    else db_bind_null(st, 20);
    db_bind_double(st, 21, r->seconds);
    if (db_step(st) != DB_DONE) rc = svc__sql_err(db, "store results", e);
    db_finalize(st);
    return rc;
}

/* Column i, a BLOB of exactly `count` values of `size` bytes, into a malloc'd *out; NULL
 * (and 0) for a NULL column. DC_EFORMAT when its length is another. */
static int col_blob(db_stmt *st, int i, size_t count, size_t size, void *out, dc_err *e)
{
    void **p = out;
    size_t len = (size_t)db_column_bytes(st, i);
    const void *b = db_column_blob(st, i);
    *p = NULL;
    if (db_column_is_null(st, i)) return 0;
    if (len != count * size)
        return dc_err_set(e, DC_EFORMAT, "stored results: column %s has %zu bytes, not %zu",
                          db_column_name(st, i), len, count * size);
    if (!(*p = malloc(len ? len : 1))) return nomem(e);
    if (len) memcpy(*p, b, len);
    return 0;
}

/* The stored row of job into *out: 1, or 0 when it has none. */
static int results_load(db_conn *db, const char *job, int with_forest, svc__results *out,
                        dc_err *e)
{
    db_stmt *st = NULL;
    int rc;
    memset(out, 0, sizeof *out);
    if (db_prepare(db, with_forest
                           ? "SELECT n, k, embed, x_min, x_max, labels, qmax, iforest, recon, "
                             "truth, map_source, map_index, map_xy, centroid_xy, classes, "
                             "confusion, mapping, acc, seconds, forest "
                             "FROM job_results WHERE job_id = ?"
                           : "SELECT n, k, embed, x_min, x_max, labels, qmax, iforest, recon, "
                             "truth, map_source, map_index, map_xy, centroid_xy, classes, "
                             "confusion, mapping, acc, seconds FROM job_results WHERE job_id = ?", &st) != DB_OK)
        return svc__sql_err(db, "load results", e);
    db_bind_text(st, 1, job);
    rc = db_step(st);
    if (rc != DB_ROW) {
        rc = rc == DB_DONE ? 0 : svc__sql_err(db, "load results", e);
        goto out;
    }
    out->n = db_column_int64(st, 0);
    out->k = db_column_int(st, 1);
    out->embed = db_column_int(st, 2);
    out->x_min = db_column_double(st, 3);
    out->x_max = db_column_double(st, 4);
    size_t n = (size_t)out->n, k = (size_t)out->k;
    out->map_n = db_column_bytes(st, 11) / 4;
    out->c = db_column_bytes(st, 14) / 4;
    svc__col_text(st, 10, out->map_source, sizeof out->map_source);
    if ((rc = col_blob(st, 5, n, 4, &out->labels, e)) < 0 ||
        (rc = col_blob(st, 6, n, 4, &out->qmax, e)) < 0 ||
        (rc = col_blob(st, 7, n, 4, &out->iforest, e)) < 0 ||
        (rc = col_blob(st, 8, n, 4, &out->recon, e)) < 0 ||
        (rc = col_blob(st, 9, n, 4, &out->truth, e)) < 0 ||
        (rc = col_blob(st, 11, (size_t)out->map_n, 4, &out->map_index, e)) < 0 ||
        (rc = col_blob(st, 12, (size_t)out->map_n, 8, &out->map_xy, e)) < 0 ||
        (rc = col_blob(st, 13, k, 8, &out->centroid_xy, e)) < 0 ||
        (rc = col_blob(st, 14, (size_t)out->c, 4, &out->classes, e)) < 0 ||
        (rc = col_blob(st, 15, k * out->c, 8, &out->confusion, e)) < 0 ||
        (rc = col_blob(st, 16, out->c ? k : 0, 4, &out->mapping, e)) < 0)
        goto out;
    out->acc = db_column_is_null(st, 17) ? NAN : db_column_double(st, 17);
    out->seconds = db_column_double(st, 18);
    if (with_forest) {
        out->forest_len = (size_t)db_column_bytes(st, 19) / 8;
        if ((rc = col_blob(st, 19, out->forest_len, 8, &out->forest, e)) < 0) goto out;
    }
    if (!out->labels || !out->qmax || !out->iforest || !out->map_index || !out->map_xy ||
        !out->centroid_xy || (out->c && (!out->confusion || !out->mapping))) {
        rc = dc_err_set(e, DC_EFORMAT, "stored results of job %s are incomplete", job);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (out->labels[i] < 0 || out->labels[i] >= out->k) {
            rc = dc_err_set(e, DC_EFORMAT, "stored results of job %s: bad cluster", job);
            goto out;
        }
    for (int i = 0; i < out->map_n; i++)
        if (out->map_index[i] < 0 || out->map_index[i] >= out->n) {
            rc = dc_err_set(e, DC_EFORMAT, "stored results of job %s: bad map index", job);
            goto out;
        }
    rc = 1;
out:
    db_finalize(st);
    if (rc < 0) svc__results_free(out);
    return rc;
}

/* The job's row, its model and dataset: 0, DC_ENOTFOUND, or DC_ECONFLICT unless it
 * succeeded. */
static int job_ref(db_conn *db, const char *job, svc__job_ref *ref, dc_err *e)
{
    db_stmt *st = NULL;
    int rc;
    memset(ref, 0, sizeof *ref);
    if ((rc = svc__row_by_id(db, "SELECT j.status, j.seed, m.id, d.id, d.d, d.shape FROM jobs j "
                                 "LEFT JOIN models m ON m.job_id = j.id "
                                 "LEFT JOIN datasets d ON d.id = j.dataset_id WHERE j.id = ?",
                             job, "job", "job", &st, e)) < 0)
        goto out;
    const char *status = (const char *)db_column_text(st, 0);
    if (!status || strcmp(status, "succeeded") != 0) {
        rc = dc_err_set(e, DC_ECONFLICT, "job %s is %s: its results are there once it has "
                        "succeeded", job, status ? status : "unknown");
        goto out;
    }
    ref->seed = (uint64_t)db_column_int64(st, 1);
    svc__col_text(st, 2, ref->model, sizeof ref->model);
    svc__col_text(st, 3, ref->dataset, sizeof ref->dataset);
    ref->d = db_column_int(st, 4);
    svc__col_text(st, 5, ref->shape, sizeof ref->shape);
    rc = 0;
out:
    db_finalize(st);
    return rc;
}

/* One computation on request at a time (each holds a dataset in memory). */
static pthread_mutex_t compute_mu = PTHREAD_MUTEX_INITIALIZER;

/* The results of a job that has none stored: computed from its model and dataset, stored
 * (best effort: a write that fails is logged, the results still answer). */
static int results_compute_now(svc *s, store *db, const char *job, const svc__job_ref *ref,
                               int with_forest, svc__results *out, dc_err *e)
{
    db_conn *h = store_db(db);
    svc_model *m = NULL;
    dataset ds = {0};
    int rc;

    pthread_mutex_lock(&compute_mu);
    if ((rc = results_load(h, job, with_forest, out, e)) != 0) goto out; /* meanwhile */
    if (!ref->model[0] || !ref->dataset[0]) {
        rc = dc_err_set(e, DC_ECONFLICT, "job %s has no stored results (it finished before "
                        "they were kept) and its %s was deleted: they cannot be computed", job,
                        ref->model[0] ? "dataset" : "model");
        goto out;
    }
    if ((rc = svc__model_acquire(s, h, ref->model, &m, e)) < 0) goto out;
    if ((rc = svc__dataset_load(h, ref->dataset, DC_ECONFLICT, &ds, e)) < 0) goto out;
    if (ds.d != cluster_model_dim(m->m)) {
        rc = dc_err_set(e, DC_ECONFLICT, "model %s does not fit dataset %s", ref->model,
                        ref->dataset);
        goto out;
    }
    pthread_mutex_lock(&m->mu);
    rc = svc__results_compute(m->m, &ds, NULL, NULL, NULL, ref->seed, out, e);
    pthread_mutex_unlock(&m->mu);
    if (rc < 0) goto out;
    dc_err we = {0};
    if (store_begin(db, &we) < 0 || svc__results_insert(h, job, out, &we) < 0 ||
        store_commit(db, &we) < 0) {
        store_rollback(db);
        fprintf(stderr, "deepclust: job %s: results not stored: %s\n", job, we.msg);
    } else {
        fprintf(stderr, "deepclust: job %s: results computed on request in %.2f s\n", job,
                out->seconds);
    }
    if (!with_forest) { /* as a load without it would give */
        free(out->forest);
        out->forest = NULL;
        out->forest_len = 0;
    }
    rc = 1;
out:
    pthread_mutex_unlock(&compute_mu);
    svc__model_release(s, m);
    dataset_free(&ds);
    return rc < 0 ? rc : 0;
}

int svc__results_get(svc *s, store *db, const char *job, int with_forest, svc__job_ref *ref,
                     svc__results *out, dc_err *e)
{
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = job_ref(store_db(db), job, ref, e)) < 0) return rc;
    if ((rc = results_load(store_db(db), job, with_forest, out, e)) != 0) return rc < 0 ? rc : 0;
    return results_compute_now(s, db, job, ref, with_forest, out, e);
}
