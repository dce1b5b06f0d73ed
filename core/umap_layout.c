/* umap_layout: the starting embedding (PCA or random, scaled to umap's box) and the SGD
 * that optimises it (umap-learn's optimize_layout_euclidean, layouts.py). See umap.h.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pca.h"
#include "umap_internal.h"

/* ---- PCA (core/pca.c) -------------------------------------------------------------- */

int umap__pca(const float *X, size_t n, int d, int c, float *out, dc_err *e)
{
    pca p = {0};
    int rc = pca_fit(&p, X, n, d, c, e);
    if (rc == 0) rc = pca_transform(&p, X, n, out, e);
    pca_free(&p);
    if (rc == DC_ENOMEM) dc_err_set(e, rc, "umap: out of memory for the PCA init (d = %d)", d);
    return rc;
}

void umap__scale_box(float *Y, size_t n, int c, rng *g, int add_noise)
{
    size_t nc = n * (size_t)c;
    if (add_noise) { /* noisy_scale_coords(max_coord 10, noise 1e-4) */
        float mx = 0;
        for (size_t i = 0; i < nc; i++)
            if (fabsf(Y[i]) > mx) mx = fabsf(Y[i]);
        float expansion = mx > 0 ? 10.0f / mx : 1.0f;
        for (size_t i = 0; i < nc; i++) Y[i] = Y[i] * expansion + (float)(1e-4 * rng_normal(g));
    }
    for (int j = 0; j < c; j++) { /* 10 (y - min) / (max - min) per column */
        float lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            float v = Y[i * c + j];
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        float range = hi - lo;
        for (size_t i = 0; i < n; i++) Y[i * c + j] = range > 0 ? 10.0f * (Y[i * c + j] - lo) / range : 0.0f;
    }
}

/* ---- SGD ------------------------------------------------------------------------- */

static inline float clip4(float v) { return v > 4.0f ? 4.0f : v < -4.0f ? -4.0f : v; }

/* Squared distance, summed in 8 lanes so that -O2 vectorises it (the order of the sum
 * is fixed: reproducible, but not umap's left-to-right float sum). */
static inline float rdist(const float *restrict x, const float *restrict y, int dim)
{
    float acc[8] = {0};
    int t = 0;
    for (; t + 8 <= dim; t += 8)
        for (int u = 0; u < 8; u++) {
            float v = x[t + u] - y[t + u];
            acc[u] += v * v;
        }
    float s = 0;
    for (; t < dim; t++) {
        float v = x[t] - y[t];
        s += v * v;
    }
    return s + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* cur += alpha clip(gc (cur - oth)); oth -= the same when move_other. In runs of 8 so
 * that -O2 vectorises them (the clip becomes min/max); per coordinate the arithmetic is
 * the same as the plain loop. */
static inline void step(float *restrict cur, float *restrict oth, int dim, float gc, float alpha, int move_other)
{
    int t = 0;
    float gd[8];
    for (; t + 8 <= dim; t += 8) {
        for (int u = 0; u < 8; u++) gd[u] = clip4(gc * (cur[t + u] - oth[t + u])) * alpha;
        for (int u = 0; u < 8; u++) cur[t + u] += gd[u];
        if (move_other)
            for (int u = 0; u < 8; u++) oth[t + u] -= gd[u];
    }
    for (; t < dim; t++) {
        float g = clip4(gc * (cur[t] - oth[t])) * alpha;
        cur[t] += g;
        if (move_other) oth[t] -= g;
    }
}

static inline void push(float *restrict cur, const float *restrict oth, int dim, float gc, float alpha)
{
    int t = 0;
    for (; t + 8 <= dim; t += 8)
        for (int u = 0; u < 8; u++) cur[t + u] += clip4(gc * (cur[t + u] - oth[t + u])) * alpha;
    for (; t < dim; t++) cur[t] += clip4(gc * (cur[t] - oth[t])) * alpha;
}

int umap__layout(const umap__sgd *s, dc_err *e)
{
    int rc = 0, dim = s->dim;
    size_t E = s->n_edges;
    double *next = malloc((E ? E : 1) * sizeof *next);     /* epoch_of_next_sample */
    double *negper = malloc((E ? E : 1) * sizeof *negper); /* epochs_per_negative_sample */
    double *nextneg = malloc((E ? E : 1) * sizeof *nextneg); /* epoch_of_next_negative_sample */
    if (!next || !negper || !nextneg) {
        rc = dc_err_set(e, DC_ENOMEM, "umap: out of memory for the layout (%zu edges)", E);
        goto out;
    }
    for (size_t i = 0; i < E; i++) {
        next[i] = s->eps[i];
        negper[i] = s->neg_rate > 0 ? s->eps[i] / s->neg_rate : INFINITY;
        nextneg[i] = negper[i];
        /* resume: the bookkeeping of the epochs before epoch0, as the loop below does it;
         * the edge is sampled in epoch ep iff next <= ep, i.e. ceil(next) <= ep */
        for (int ep = 0; ep < s->epoch0;) {
            double c = ceil(next[i]);
            if (c > ep) {
                if (c >= s->epoch0) break;
                ep = (int)c;
            }
            next[i] += s->eps[i];
            int n_neg = s->neg_rate > 0 ? (int)((ep - nextneg[i]) / negper[i]) : 0;
            nextneg[i] += n_neg * negper[i];
            ep++;
        }
    }
    double a = s->a, b = s->b, alpha = s->alpha0, gamma = s->gamma;
    float fa_ = (float)a, fb = (float)b, bm1 = (float)(b - 1.0);
    float two_ab = (float)(2.0 * a * b), rep = (float)(2.0 * gamma * b);
    float *H = s->head_emb, *T = s->tail_emb;
    /* Negative samples are drawn one ahead (the same rng sequence) so that the row can be
     * prefetched; the edges' other ends are prefetched a few edges ahead. */
    size_t knext = s->epoch0 > 0 ? s->next_neg : (size_t)rng_below(s->g, s->n_tail);
    if (s->epoch0 > 0) alpha = s->alpha0 * (1.0 - (double)(s->epoch0 - 1) / (double)s->n_epochs);
    for (int ep = s->epoch0; ep < s->n_epochs; ep++) {
        float fa = (float)alpha;
        for (size_t i = 0; i < E; i++) {
            if (i + 8 < E) __builtin_prefetch(T + (size_t)s->tail[i + 8] * dim);
            if (next[i] > ep) continue;
            int j = s->head[i];
            float *cur = H + (size_t)j * dim, *oth = T + (size_t)s->tail[i] * dim;
            float d2 = rdist(cur, oth, dim), gc = 0;
            if (d2 > 0) {
                float pb1 = powf(d2, bm1); /* d^(2(b-1)); d^(2b) = d2 * pb1 */
                gc = -two_ab * pb1 / (fa_ * pb1 * d2 + 1.0f);
            }
            step(cur, oth, dim, gc, fa, s->move_other); /* no self loops: cur != oth */
            next[i] += s->eps[i];
            int n_neg = s->neg_rate > 0 ? (int)((ep - nextneg[i]) / negper[i]) : 0;
            for (int p = 0; p < n_neg; p++) {
                const float *neg = T + knext * dim;
                knext = (size_t)rng_below(s->g, s->n_tail);
                __builtin_prefetch(T + knext * dim);
                d2 = rdist(cur, neg, dim);
                if (!(d2 > 0)) continue; /* same point or coincident: no push (umap: grad 0) */
                gc = rep / ((0.001f + d2) * (fa_ * powf(d2, fb) + 1.0f));
                if (!(gc > 0)) continue;
                push(cur, neg, dim, gc, fa);
            }
            nextneg[i] += n_neg * negper[i];
        }
        alpha = s->alpha0 * (1.0 - (double)ep / (double)s->n_epochs);
        long done = s->total < 0 ? ep + 1 : s->done0, tot = s->total < 0 ? s->n_epochs : s->total;
        int stop = s->progress && s->progress(s->user, s->stage, done, tot);
        if (s->state_cb) {
            umap_layout_state *st = s->state;
            st->epoch = ep + 1;
            memcpy(st->rng, s->g->s, sizeof st->rng);
            st->rng_has_spare = s->g->has_spare;
            st->rng_spare = s->g->spare;
            st->next_neg = knext;
            stop |= s->state_cb(s->user, st, stop) != 0;
        }
        if (stop) {
            rc = dc_err_set(e, DC_ECANCEL, "umap: cancelled after layout epoch %d of %d", ep + 1,
                            s->n_epochs);
            goto out;
        }
    }
out:
    free(next);
    free(negper);
    free(nextneg);
    return rc;
}
