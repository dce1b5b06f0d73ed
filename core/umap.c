/* umap: options, umap_fit and umap_transform; the stages live in umap_knn.c,
 * umap_graph.c and umap_layout.c (see umap.h). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc_time.h"
#include "umap_internal.h"

#define UMAP_SPECTRAL_MAX_ITER 300

void umap_opts_default(umap_opts *o)
{
    memset(o, 0, sizeof *o);
    o->n_components = 10;
    o->n_neighbors = 20;
    o->min_dist = 0.0;
    o->spread = 1.0;
    o->metric = UMAP_METRIC_EUCLIDEAN;
    o->n_epochs = 0;
    o->learning_rate = 1.0;
    o->negative_sample_rate = 5;
    o->repulsion_strength = 1.0;
    o->a = 0;
    o->b = 0;
    o->init = UMAP_INIT_PCA;
    o->seed = 0;
    o->n_threads = 1;
    o->block_rows = 512;
    o->transform_epochs = 0;
    o->transform_batch = 8192;
}

void umap_model_free(umap_model *m)
{
    if (!m) return;
    free(m->embedding);
    free(m->data);
    memset(m, 0, sizeof *m);
}

/* a * b * size fits in size_t. */
static int size_ok(size_t a, size_t b, size_t size)
{
    return b == 0 || a <= SIZE_MAX / size / b;
}

/* The options that umap_transform takes from its caller. */
static int check_runtime(const umap_opts *o, dc_err *e)
{
    if (o->n_threads < 1 || o->n_threads > 256)
        return dc_err_set(e, DC_EINVAL, "umap: n_threads must be in 1..256 (got %d)", o->n_threads);
    if (o->block_rows < 1 || o->block_rows > 65536)
        return dc_err_set(e, DC_EINVAL, "umap: block_rows must be in 1..65536 (got %d)", o->block_rows);
    if (o->transform_epochs < 0 || o->transform_epochs > 100000)
        return dc_err_set(e, DC_EINVAL, "umap: transform_epochs must be 0 (auto) or in 1..100000 (got %d)",
                          o->transform_epochs);
    if (o->transform_batch < 1)
        return dc_err_set(e, DC_EINVAL, "umap: transform_batch must be >= 1 (got %d)", o->transform_batch);
    return 0;
}

int umap_opts_check(const umap_opts *o, size_t n, int d, dc_err *e)
{
    if (!o) return dc_err_set(e, DC_EINVAL, "umap: options must not be NULL");
    if (n < 2 || n > (size_t)INT_MAX)
        return dc_err_set(e, DC_EINVAL, "umap: need 2 <= n <= %d samples (got %zu)", INT_MAX, n);
    if (d < 1) return dc_err_set(e, DC_EINVAL, "umap: need d >= 1 (got %d)", d);
    if (o->n_components < 1 || o->n_components > 1024)
        return dc_err_set(e, DC_EINVAL, "umap: n_components must be in 1..1024 (got %d)", o->n_components);
    int nn_max = n < 1000 ? (int)n : 1000;
    if (o->n_neighbors < 2 || o->n_neighbors > nn_max)
        return dc_err_set(e, DC_EINVAL, "umap: n_neighbors must be in 2..%d (min(n, 1000); got %d)", nn_max,
                          o->n_neighbors);
    if (!(o->spread > 0) || !(o->spread <= 100))
        return dc_err_set(e, DC_EINVAL, "umap: spread must be in (0, 100] (got %g)", o->spread);
    if (!(o->min_dist >= 0) || !(o->min_dist <= o->spread))
        return dc_err_set(e, DC_EINVAL, "umap: min_dist must be in [0, spread = %g] (got %g)", o->spread,
                          o->min_dist);
    if (o->metric != UMAP_METRIC_EUCLIDEAN)
        return dc_err_set(e, DC_EINVAL, "umap: metric must be UMAP_METRIC_EUCLIDEAN (got %d)", o->metric);
    if (o->n_epochs < 0 || o->n_epochs > 100000)
        return dc_err_set(e, DC_EINVAL, "umap: n_epochs must be 0 (auto) or in 1..100000 (got %d)", o->n_epochs);
    if (!(o->learning_rate > 0) || !(o->learning_rate <= 1000))
        return dc_err_set(e, DC_EINVAL, "umap: learning_rate must be in (0, 1000] (got %g)", o->learning_rate);
    if (o->negative_sample_rate < 0 || o->negative_sample_rate > 100)
        return dc_err_set(e, DC_EINVAL, "umap: negative_sample_rate must be in 0..100 (got %d)",
                          o->negative_sample_rate);
    if (!(o->repulsion_strength >= 0) || !(o->repulsion_strength <= 100))
        return dc_err_set(e, DC_EINVAL, "umap: repulsion_strength must be in [0, 100] (got %g)",
                          o->repulsion_strength);
    int ab_fit = o->a == 0 && o->b == 0;
    if (!ab_fit && (!(o->a > 0) || !(o->b > 0) || !isfinite(o->a) || !isfinite(o->b)))
        return dc_err_set(e, DC_EINVAL, "umap: a and b must both be 0 (fit from min_dist) or both finite and > 0 (got %g, %g)",
                          o->a, o->b);
    if (o->init != UMAP_INIT_PCA && o->init != UMAP_INIT_RANDOM && o->init != UMAP_INIT_SPECTRAL)
        return dc_err_set(e, DC_EINVAL, "umap: init must be UMAP_INIT_PCA, UMAP_INIT_RANDOM or UMAP_INIT_SPECTRAL (got %d)",
                          o->init);
    if (o->init == UMAP_INIT_SPECTRAL && (size_t)o->n_components + 2 > n)
        return dc_err_set(e, DC_EINVAL, "umap: init spectral needs n_components <= n - 2 = %zu (got %d)", n - 2,
                          o->n_components);
    if (o->init == UMAP_INIT_PCA && o->n_components > d)
        return dc_err_set(e, DC_EINVAL, "umap: init PCA needs n_components <= d = %d (got %d); use UMAP_INIT_RANDOM",
                          d, o->n_components);
    int rc = check_runtime(o, e);
    if (rc) return rc;
    /* Sizes: data copies (n d), kNN (n n_neighbors), graph and layout state (2 n n_neighbors
     * edges of up to 40 bytes), embedding (n n_components). */
    if (!size_ok(n, (size_t)d, 2 * sizeof(float)) || !size_ok(n, (size_t)o->n_neighbors, 2 * 40) ||
        !size_ok(n, (size_t)o->n_components, sizeof(float)))
        return dc_err_set(e, DC_EINVAL, "umap: sizes overflow (n = %zu, d = %d, n_neighbors = %d, n_components = %d)",
                          n, d, o->n_neighbors, o->n_components);
    return 0;
}

static int check_finite(const float *X, size_t n, int d, const char *what, dc_err *e)
{
    for (size_t i = 0; i < n * (size_t)d; i++)
        if (!isfinite(X[i]))
            return dc_err_set(e, DC_ENUMERIC, "umap: %s[%zu][%zu] is not finite", what, i / d, i % d);
    return 0;
}

/* FNV-1a of the layout's edge list: what a resumed layout must find again. */
static uint64_t edges_hash(const int *head, const int *tail, const double *eps, size_t E)
{
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *p[3] = {(const void *)head, (const void *)tail, (const void *)eps};
    size_t len[3] = {E * sizeof *head, E * sizeof *tail, E * sizeof *eps};
    for (int a = 0; a < 3; a++)
        for (size_t i = 0; i < len[a]; i++) h = (h ^ p[a][i]) * 1099511628211ULL;
    return h;
}

/* Edges of a CSR graph as (head, tail, epochs per sample = max w / w). */
static void edges_from_graph(const umap_graph *g, int *head, int *tail, double *eps)
{
    float mx = 0;
    for (size_t p = 0; p < g->nnz; p++)
        if (g->w[p] > mx) mx = g->w[p];
    for (size_t i = 0; i < g->n; i++)
        for (size_t p = g->rowptr[i]; p < g->rowptr[i + 1]; p++) {
            head[p] = (int)i;
            tail[p] = g->col[p];
            eps[p] = (double)mx / g->w[p];
        }
}

int umap_fit(const float *X, size_t n, int d, const umap_opts *o, umap_model *m, dc_err *e)
{
    int rc = 0;
    int *kidx = NULL, *fidx = NULL, *head = NULL, *tail = NULL;
    float *kdist = NULL, *fdist = NULL;
    double *eps = NULL;
    umap_graph g = {0};
    if (m) memset(m, 0, sizeof *m);
    if (!X || !m) return dc_err_set(e, DC_EINVAL, "umap_fit: X and model must not be NULL");
    rc = umap_opts_check(o, n, d, e);
    if (rc) return rc;
    rc = check_finite(X, n, d, "X", e);
    if (rc) return rc;

    int nn = o->n_neighbors, k = nn - 1, c = o->n_components;
    int default_epochs = n <= 10000 ? 500 : 200;
    int n_epochs = o->n_epochs ? o->n_epochs : default_epochs;
    const umap_layout_state *rs = o->resume;
    if (rs && (rs->n != n || rs->n_components != c || rs->n_epochs != n_epochs ||
               rs->epoch < 0 || rs->epoch > n_epochs || !rs->embedding ||
               rs->next_neg >= n))
        return dc_err_set(e, DC_EINVAL, "umap: the layout to resume (%zu x %d, epoch %d of %d) "
                          "does not belong to this fit (%zu x %d, %d epochs)", rs->n,
                          rs->n_components, rs->epoch, rs->n_epochs, n, c, n_epochs);
    if (rs) {
        rc = check_finite(rs->embedding, n, c, "resumed embedding", e);
        if (rc) return rc;
    }
    kidx = malloc(n * k * sizeof *kidx);
    kdist = malloc(n * k * sizeof *kdist);
    fidx = malloc(n * nn * sizeof *fidx);
    fdist = malloc(n * nn * sizeof *fdist);
    m->embedding = malloc(n * c * sizeof *m->embedding);
    m->data = malloc(n * d * sizeof *m->data);
    if (!kidx || !kdist || !fidx || !fdist || !m->embedding || !m->data) {
        rc = dc_err_set(e, DC_ENOMEM, "umap: out of memory (n = %zu, d = %d, n_neighbors = %d)", n, d, nn);
        goto out;
    }
    memcpy(m->data, X, n * d * sizeof *X);

    /* 1. kNN, then umap's layout of it: the point itself first at distance 0. */
    double t0 = dc_now_s();
    rc = umap__knn(X, n, d, NULL, 0, k, o->n_threads, o->block_rows, o->progress, o->progress_user,
                   UMAP_STAGE_KNN, 0, -1, kidx, kdist, e);
    if (rc) goto out;
    for (size_t i = 0; i < n; i++) {
        fidx[i * nn] = (int)i;
        fdist[i * nn] = 0;
        memcpy(fidx + i * nn + 1, kidx + i * k, (size_t)k * sizeof *kidx);
        memcpy(fdist + i * nn + 1, kdist + i * k, (size_t)k * sizeof *kdist);
    }
    free(kidx);
    free(kdist);
    kidx = NULL;
    kdist = NULL;
    double t1 = dc_now_s();
    m->sec_knn = t1 - t0;

    /* 2. fuzzy graph, pruned as umap prunes before its layout. */
    rc = umap_fuzzy_graph(fidx, fdist, n, nn, &g, e);
    if (rc) goto out;
    umap__graph_prune(&g, n_epochs > 10 ? n_epochs : default_epochs);
    head = malloc((g.nnz ? g.nnz : 1) * sizeof *head);
    tail = malloc((g.nnz ? g.nnz : 1) * sizeof *tail);
    eps = malloc((g.nnz ? g.nnz : 1) * sizeof *eps);
    if (!head || !tail || !eps) {
        rc = dc_err_set(e, DC_ENOMEM, "umap: out of memory for %zu edges", g.nnz);
        goto out;
    }
    edges_from_graph(&g, head, tail, eps);
    m->n_edges = g.nnz;
    uint64_t ghash = edges_hash(head, tail, eps, g.nnz);
    if (rs && (rs->n_edges != g.nnz || rs->graph_hash != ghash)) {
        /* taken on another graph (the kNN on another OpenBLAS kernel can differ in the
           last bits): continuing it would mix two graphs, so the layout starts afresh */
        rs = NULL;
        m->resume_dropped = 1;
    }
    if (o->init != UMAP_INIT_SPECTRAL) umap_graph_free(&g);
    free(fidx);
    free(fdist);
    fidx = NULL;
    fdist = NULL;
    double t2 = dc_now_s();
    m->sec_graph = t2 - t1;
    if (o->progress && o->progress(o->progress_user, UMAP_STAGE_GRAPH, 1, 1)) {
        rc = dc_err_set(e, DC_ECANCEL, "umap: cancelled after the graph");
        goto out;
    }

    /* 3. a, b. */
    if (o->a > 0) {
        m->a = o->a;
        m->b = o->b;
    } else {
        rc = umap_find_ab(o->spread, o->min_dist, &m->a, &m->b, e);
        if (rc) goto out;
    }

    /* 4. init (resume: the layout's embedding and rng as they stood). */
    rng gen;
    rng_seed(&gen, o->seed);
    if (rs) {
        memcpy(m->embedding, rs->embedding, n * c * sizeof *m->embedding);
        memcpy(gen.s, rs->rng, sizeof gen.s);
        gen.has_spare = rs->rng_has_spare;
        gen.spare = rs->rng_spare;
        m->init_iters = rs->init_iters;
        umap_graph_free(&g);
    } else if (o->init == UMAP_INIT_PCA) {
        rc = umap__pca(X, n, d, c, m->embedding, e);
        if (rc) goto out;
        umap__scale_box(m->embedding, n, c, &gen, 1);
    } else if (o->init == UMAP_INIT_SPECTRAL) {
        rc = umap__spectral(&g, c, UMAP_SPECTRAL_MAX_ITER, &gen, o->progress, o->progress_user, m->embedding,
                            NULL, &m->init_iters, e);
        if (rc) goto out;
        umap_graph_free(&g);
        umap__scale_box(m->embedding, n, c, &gen, 1);
    } else {
        for (size_t i = 0; i < n * (size_t)c; i++) m->embedding[i] = (float)(rng_uniform(&gen) * 20 - 10);
        umap__scale_box(m->embedding, n, c, &gen, 0);
    }
    double t3 = dc_now_s();
    m->sec_init = t3 - t2;

    /* 5. layout. */
    umap__sgd s = {
        .head_emb = m->embedding, .tail_emb = m->embedding, .n_tail = n, .dim = c,
        .head = head, .tail = tail, .eps = eps, .n_edges = m->n_edges, .n_epochs = n_epochs,
        .a = m->a, .b = m->b, .gamma = o->repulsion_strength, .alpha0 = o->learning_rate,
        .neg_rate = o->negative_sample_rate, .move_other = 1, .g = &gen,
        .progress = o->progress, .user = o->progress_user, .stage = UMAP_STAGE_LAYOUT,
        .done0 = 0, .total = -1, .epoch0 = rs ? rs->epoch : 0,
        .next_neg = rs ? (size_t)rs->next_neg : 0, .state_cb = o->layout_state,
    };
    umap_layout_state st = {
        .n_epochs = n_epochs, .init_iters = m->init_iters, .n_components = c, .n = n,
        .n_edges = m->n_edges, .graph_hash = ghash, .embedding = m->embedding,
    };
    s.state = &st;
    rc = umap__layout(&s, e);
    if (rc) goto out;
    rc = check_finite(m->embedding, n, c, "embedding", e);
    if (rc) goto out;
    m->sec_layout = dc_now_s() - t3;
    m->n = n;
    m->d = d;
    m->n_components = c;
    m->n_epochs = n_epochs;
    m->opts = *o;
    m->opts.progress = NULL;
    m->opts.progress_user = NULL;
    m->opts.layout_state = NULL;
    m->opts.resume = NULL;
out:
    free(kidx);
    free(kdist);
    free(fidx);
    free(fdist);
    free(head);
    free(tail);
    free(eps);
    umap_graph_free(&g);
    if (rc) umap_model_free(m);
    return rc;
}

int umap_transform(const umap_model *m, const float *Q, size_t nq, const umap_opts *o, float *out,
                   dc_err *e)
{
    int rc = 0;
    if (!m || !m->embedding || !m->data || !Q || !out)
        return dc_err_set(e, DC_EINVAL, "umap_transform: NULL model, points or output");
    if (!o) o = &m->opts;
    rc = check_runtime(o, e);
    if (rc) return rc;
    int nn = m->opts.n_neighbors, c = m->n_components, d = m->d;
    if (nq > (size_t)INT_MAX || !size_ok(nq, (size_t)(d > nn ? d : nn), sizeof(float)) ||
        !size_ok(nq, (size_t)c, sizeof(float)))
        return dc_err_set(e, DC_EINVAL, "umap_transform: nq = %zu is too large", nq);
    rc = check_finite(Q, nq, d, "Q", e);
    if (rc) return rc;
    if (nq == 0) return 0;
    int epochs = o->transform_epochs;
    if (!epochs) epochs = m->opts.n_epochs ? m->opts.n_epochs / 3 : (nq <= 10000 ? 100 : 30);
    if (epochs < 1) epochs = 1;
    size_t B = (size_t)o->transform_batch < nq ? (size_t)o->transform_batch : nq;
    int *idx = malloc(B * nn * sizeof *idx), *head = malloc(B * nn * sizeof *head);
    int *tail = malloc(B * nn * sizeof *tail);
    float *dist = malloc(B * nn * sizeof *dist), *w = malloc(B * nn * sizeof *w);
    double *sigma = malloc(B * sizeof *sigma), *rho = malloc(B * sizeof *rho);
    double *eps = malloc(B * nn * sizeof *eps), *acc = malloc((size_t)c * sizeof *acc);
    if (!idx || !head || !tail || !dist || !w || !sigma || !rho || !eps || !acc) {
        rc = dc_err_set(e, DC_ENOMEM, "umap_transform: out of memory (batch %zu)", B);
        goto out;
    }
    for (size_t s0 = 0; s0 < nq; s0 += B) {
        size_t mb = nq - s0 < B ? nq - s0 : B;
        rc = umap__knn(m->data, m->n, d, Q + s0 * d, mb, nn, o->n_threads, o->block_rows, o->progress,
                       o->progress_user, UMAP_STAGE_TRANSFORM, (long)s0, (long)nq, idx, dist, e);
        if (rc) goto out;
        umap_smooth_knn_dist(dist, mb, nn, (double)nn, 0.0, sigma, rho, NULL);
        umap__membership(idx, dist, mb, nn, sigma, rho, 1, w);
        /* Start: a neighbour at weight 1 (distance 0), else the weighted mean. */
        float *Y = out + s0 * c;
        float wmax = 0;
        for (size_t r = 0; r < mb; r++) {
            const int *ir = idx + r * nn;
            const float *wr = w + r * nn;
            int one = -1;
            double sw = 0;
            for (int j = 0; j < nn; j++)
                if (wr[j] > wmax) wmax = wr[j];
            for (int j = 0; j < nn && one < 0; j++) {
                if (wr[j] == 1) one = j;
                sw += wr[j];
            }
            if (one < 0 && !(sw > 0)) one = 0;
            if (one >= 0) {
                memcpy(Y + r * c, m->embedding + (size_t)ir[one] * c, (size_t)c * sizeof *Y);
                continue;
            }
            memset(acc, 0, (size_t)c * sizeof *acc);
            for (int j = 0; j < nn; j++) {
                const float *yj = m->embedding + (size_t)ir[j] * c;
                for (int t = 0; t < c; t++) acc[t] += wr[j] / sw * yj[t];
            }
            for (int t = 0; t < c; t++) Y[r * c + t] = (float)acc[t];
        }
        /* Edges: prune below max / epochs, epochs per sample = max / w. */
        size_t ne = 0;
        float thr = (float)(wmax / epochs);
        for (size_t r = 0; r < mb; r++)
            for (int j = 0; j < nn; j++) {
                float v = w[r * nn + j];
                if (!(v > 0) || v < thr) continue;
                head[ne] = (int)r;
                tail[ne] = idx[r * nn + j];
                eps[ne] = (double)wmax / v;
                ne++;
            }
        rng gen;
        rng_seed(&gen, o->seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(s0 + 1)));
        umap__sgd s = {
            /* move_other 0: the training embedding is only read (const cast is safe). */
            .head_emb = Y, .tail_emb = (float *)m->embedding, .n_tail = m->n, .dim = c,
            .head = head, .tail = tail, .eps = eps, .n_edges = ne, .n_epochs = epochs,
            .a = m->a, .b = m->b, .gamma = m->opts.repulsion_strength,
            .alpha0 = m->opts.learning_rate / 4.0, .neg_rate = m->opts.negative_sample_rate,
            .move_other = 0, .g = &gen, .progress = o->progress, .user = o->progress_user,
            .stage = UMAP_STAGE_TRANSFORM, .done0 = (long)s0, .total = (long)nq,
        };
        rc = umap__layout(&s, e);
        if (rc) goto out;
        rc = check_finite(Y, mb, c, "transformed embedding", e);
        if (rc) goto out;
        if (o->progress && o->progress(o->progress_user, UMAP_STAGE_TRANSFORM, (long)(s0 + mb), (long)nq)) {
            rc = dc_err_set(e, DC_ECANCEL, "umap_transform: cancelled after %zu of %zu points", s0 + mb, nq);
            goto out;
        }
    }
out:
    free(idx);
    free(head);
    free(tail);
    free(dist);
    free(w);
    free(sigma);
    free(rho);
    free(eps);
    free(acc);
    return rc;
}
