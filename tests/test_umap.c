/* umap: GEMM kNN against the naive double path (duplicates, threads, block sizes, query
 * sets), the sigma search hitting log2(k), the fuzzy union against a dense reference,
 * a/b against umap-learn's values, PCA init, the layout separating generated blobs
 * (k-means ACC on the embedding, margin), reproducibility for a seed, transform of the
 * training points and of fresh points, cancel from the callback at every stage, a
 * layout stopped and resumed from its state to the same bits, and refused options. Properties, not BLAS bits: CI machines run different sgemm kernels. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dc_time.h"
#include "kmeans.h"
#include "metrics.h"
#include "rng.h"
#include "pca.h"
#include "umap.h"
#include "umap_internal.h"


/* n points around k centres drawn in [-spread, spread]^d with unit-variance noise, labels
 * i % k. Returns X (n, d), caller frees. */
static float *blobs(size_t n, int d, int k, double spread, uint64_t seed, int *truth)
{
    rng g;
    rng_seed(&g, seed);
    float *X = malloc(n * d * sizeof *X);
    double *cent = malloc((size_t)k * d * sizeof *cent);
    for (int i = 0; i < k * d; i++) cent[i] = (rng_uniform(&g) * 2 - 1) * spread;
    rng_seed(&g, seed + 1000); /* the same centres for any n */
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % (size_t)k);
        if (truth) truth[i] = c;
        for (int j = 0; j < d; j++) X[i * d + j] = (float)(cent[c * d + j] + rng_normal(&g));
    }
    free(cent);
    return X;
}

static float *randu(size_t n, int d, uint64_t seed)
{
    rng g;
    rng_seed(&g, seed);
    float *X = malloc(n * d * sizeof *X);
    for (size_t i = 0; i < n * d; i++) X[i] = (float)(rng_uniform(&g) * 4 - 2);
    return X;
}

/* Compares a kNN with the naive reference: index lists equal, distances within 1e-6
 * relative. Returns the rows that differ (each printed, at most 5). */
static size_t knn_diff(const char *what, const int *ia, const float *da, const int *ib,
                       const float *db, size_t nq, int k)
{
    size_t bad = 0;
    for (size_t i = 0; i < nq; i++) {
        int ok = memcmp(ia + i * k, ib + i * k, (size_t)k * sizeof *ia) == 0;
        for (int t = 0; t < k && ok; t++)
            ok = fabsf(da[i * k + t] - db[i * k + t]) <= 1e-6f * (1 + db[i * k + t]);
        if (!ok && bad++ < 5)
            fprintf(stderr, "%s: row %zu: expected first neighbour %d at %.7g, got %d at %.7g\n", what, i,
                    ib[i * k], db[i * k], ia[i * k], da[i * k]);
    }
    return bad;
}

static void test_knn(void)
{
    size_t n = 700, nq = 150;
    int d = 7, k = 12;
    float *X = randu(n, d, 11), *Q = randu(nq, d, 12);
    /* duplicates: rows 100..104 copy row 3, rows 200, 201 copy row 50; a query copies row 7 */
    for (int r = 100; r < 105; r++) memcpy(X + r * d, X + 3 * d, d * sizeof *X);
    for (int r = 200; r < 202; r++) memcpy(X + r * d, X + 50 * d, d * sizeof *X);
    memcpy(Q + 5 * d, X + 7 * d, d * sizeof *X);
    int *ia = malloc(n * k * sizeof *ia), *ib = malloc(n * k * sizeof *ib);
    float *da = malloc(n * k * sizeof *da), *db = malloc(n * k * sizeof *db);
    dc_err e = {0};

    CHECK_EQ_INT(umap_knn_naive(X, n, d, NULL, 0, k, ib, db, &e), 0);
    struct { int threads, block; } cfg[] = {{1, 512}, {1, 37}, {2, 64}, {3, 1000}};
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        CHECK_EQ_INT(umap_knn(X, n, d, NULL, 0, k, cfg[c].threads, cfg[c].block, NULL, NULL, ia, da, &e), 0);
        size_t bad = knn_diff("knn self", ia, da, ib, db, n, k);
        CHECK_MSG(bad == 0, "kNN (threads %d, block_rows %d): %zu of %zu rows differ from the naive reference",
                  cfg[c].threads, cfg[c].block, bad, n);
    }
    /* self is excluded, the duplicates are found at exactly 0, ascending order */
    int self = 0, unsorted = 0;
    for (size_t i = 0; i < n; i++)
        for (int t = 0; t < k; t++) {
            self += ia[i * k + t] == (int)i;
            if (t && da[i * k + t] < da[i * k + t - 1]) unsorted++;
        }
    CHECK_EQ_INT(self, 0);
    CHECK_EQ_INT(unsorted, 0);
    /* row 3's 5 copies (100..104) come first, at distance 0, in index order */
    int dup_ok = 1;
    for (int t = 0; t < 5; t++) dup_ok &= ia[3 * k + t] == 100 + t && da[3 * k + t] == 0.0f;
    CHECK_MSG(dup_ok, "row 3: expected neighbours 100..104 at 0, got %d..%d at %g..%g", ia[3 * k],
              ia[3 * k + 4], da[3 * k], da[3 * k + 4]);
    /* row 100's nearest: 3 then 101..104 (ties by lower index) */
    CHECK_MSG(ia[100 * k] == 3 && ia[100 * k + 1] == 101 && da[100 * k + 4] == 0.0f,
              "row 100: expected 3, 101 first at 0, got %d, %d", ia[100 * k], ia[100 * k + 1]);
    CHECK_MSG(ia[200 * k] == 50 && ia[200 * k + 1] == 201 && da[200 * k + 1] == 0.0f,
              "row 200: expected 50, 201 at 0, got %d, %d", ia[200 * k], ia[200 * k + 1]);

    /* separate queries into X (transform's case): the copy of row 7 finds it at 0 */
    CHECK_EQ_INT(umap_knn_naive(X, n, d, Q, nq, k, ib, db, &e), 0);
    CHECK_EQ_INT(umap_knn(X, n, d, Q, nq, k, 2, 40, NULL, NULL, ia, da, &e), 0);
    size_t bad = knn_diff("knn query", ia, da, ib, db, nq, k);
    CHECK_MSG(bad == 0, "kNN of queries: %zu of %zu rows differ from the naive reference", bad, nq);
    CHECK_MSG(ia[5 * k] == 7 && da[5 * k] == 0.0f, "query 5: expected row 7 at 0, got %d at %g", ia[5 * k],
              da[5 * k]);

    /* k = n - 1 (every other point) and data with a large offset (cancellation) */
    size_t n2 = 40;
    float *Y = randu(n2, 3, 13);
    for (size_t i = 0; i < n2 * 3; i++) Y[i] += 1000.0f;
    CHECK_EQ_INT(umap_knn_naive(Y, n2, 3, NULL, 0, (int)n2 - 1, ib, db, &e), 0);
    CHECK_EQ_INT(umap_knn(Y, n2, 3, NULL, 0, (int)n2 - 1, 1, 7, NULL, NULL, ia, da, &e), 0);
    bad = knn_diff("knn k = n-1", ia, da, ib, db, n2, (int)n2 - 1);
    CHECK_MSG(bad == 0, "kNN with k = n - 1, offset 1000: %zu rows differ", bad);
    CHECK_EQ_INT(umap_knn(Y, n2, 3, NULL, 0, (int)n2, 1, 7, NULL, NULL, ia, da, &e), DC_EINVAL);
    printf("knn: GEMM path equals the naive reference on %zu + %zu + %zu rows\n", n, nq, n2);
    free(Y);
    free(X);
    free(Q);
    free(ia);
    free(ib);
    free(da);
    free(db);
}

/* kNN in umap's layout (n, K): the point itself first at distance 0. */
static void knn_with_self(const float *X, size_t n, int d, int K, int *idx, float *dist)
{
    int *ti = malloc(n * (K - 1) * sizeof *ti);
    float *td = malloc(n * (K - 1) * sizeof *td);
    dc_err e = {0};
    CHECK_EQ_INT(umap_knn(X, n, d, NULL, 0, K - 1, 1, 512, NULL, NULL, ti, td, &e), 0);
    for (size_t i = 0; i < n; i++) {
        idx[i * K] = (int)i;
        dist[i * K] = 0;
        memcpy(idx + i * K + 1, ti + i * (K - 1), (K - 1) * sizeof *ti);
        memcpy(dist + i * K + 1, td + i * (K - 1), (K - 1) * sizeof *td);
    }
    free(ti);
    free(td);
}

static void test_smooth_knn_dist(void)
{
    size_t n = 500;
    int d = 5, K = 15;
    float *X = randu(n, d, 21);
    memcpy(X + 9 * d, X + 8 * d, d * sizeof *X); /* a duplicate pair: rho skips the 0 */
    int *idx = malloc(n * K * sizeof *idx);
    float *dist = malloc(n * K * sizeof *dist);
    double *sigma = malloc(n * sizeof *sigma), *rho = malloc(n * sizeof *rho), *psum = malloc(n * sizeof *psum);
    knn_with_self(X, n, d, K, idx, dist);
    umap_smooth_knn_dist(dist, n, K, K, 1.0, sigma, rho, psum);
    double target = log2((double)K), worst = 0;
    size_t worst_i = 0, rho_bad = 0;
    for (size_t i = 0; i < n; i++) {
        double dev = fabs(psum[i] - target);
        if (dev > worst) {
            worst = dev;
            worst_i = i;
        }
        float first_nz = 0;
        for (int j = 0; j < K && first_nz == 0; j++) first_nz = dist[i * K + j];
        rho_bad += rho[i] != first_nz || !(sigma[i] > 0);
    }
    CHECK_MSG(worst < 1e-5, "sigma search: expected |sum - log2(%d)| < 1e-5 for every point, worst %.3g at %zu",
              K, worst, worst_i);
    CHECK_EQ_INT(rho_bad, 0);
    CHECK_MSG(rho[8] > 0 && dist[8 * K + 1] == 0.0f, "duplicate: rho %g must skip the 0 distance", rho[8]);
    printf("smooth_knn_dist: max |sum - log2(k)| = %.3g over %zu points (tolerance 1e-5)\n", worst, n);

    /* the minimum-sigma rule: all neighbours at one distance -> the sum cannot reach the
     * target, sigma is raised to 1e-3 x the row's mean distance */
    float row[6] = {0, 2, 2, 2, 2, 2};
    double s1, r1, p1;
    umap_smooth_knn_dist(row, 1, 6, 6, 1.0, &s1, &r1, &p1);
    CHECK_NEAR(r1, 2.0, 0);
    CHECK_NEAR(s1, 1e-3 * 10.0 / 6.0, 1e-15);
    /* every neighbour at distance 0 (more duplicates than neighbours): rho 0, and with
     * local connectivity 0 no read past the row */
    float *zeros = calloc(6, sizeof *zeros);
    umap_smooth_knn_dist(zeros, 1, 6, 6, 0.0, &s1, &r1, &p1);
    CHECK_MSG(r1 == 0 && s1 == ldexp(1.0, -64), "all-zero row: expected rho 0, sigma 2^-64 (64 halvings), got %g, %g",
              r1, s1);
    umap_smooth_knn_dist(zeros, 1, 6, 6, 1.0, &s1, &r1, &p1);
    CHECK(r1 == 0 && s1 == ldexp(1.0, -64));
    free(zeros);
    /* local connectivity 0 (transform): rho = 0 */
    umap_smooth_knn_dist(dist, 3, K, K, 0.0, sigma, rho, psum);
    CHECK(rho[0] == 0 && rho[1] == 0 && fabs(psum[0] - target) < 1e-5);
    free(X);
    free(idx);
    free(dist);
    free(sigma);
    free(rho);
    free(psum);
}

static void test_fuzzy_graph(void)
{
    size_t n = 300;
    int d = 4, K = 10;
    float *X = blobs(n, d, 3, 6, 31, NULL);
    memcpy(X + 20 * d, X + 10 * d, d * sizeof *X);
    int *idx = malloc(n * K * sizeof *idx);
    float *dist = malloc(n * K * sizeof *dist);
    knn_with_self(X, n, d, K, idx, dist);
    umap_graph g;
    dc_err e = {0};
    CHECK_EQ_INT(umap_fuzzy_graph(idx, dist, n, K, &g, &e), 0);
    /* dense reference: A from the same sigma/rho and membership rule, W = A + A^T - A.*A^T */
    double *sigma = malloc(n * sizeof *sigma), *rho = malloc(n * sizeof *rho);
    float *w = malloc(n * K * sizeof *w);
    double *A = calloc(n * n, sizeof *A);
    umap_smooth_knn_dist(dist, n, K, K, 1.0, sigma, rho, NULL);
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < K; j++) {
            int c = idx[i * K + j];
            double dd = dist[i * K + j] - rho[i];
            A[i * n + c] = c == (int)i ? 0 : dd <= 0 ? 1 : (float)exp(-dd / sigma[i]);
        }
    size_t nnz_ref = 0, mism = 0, asym = 0, range = 0, unsorted = 0, loops = 0;
    double maxdiff = 0;
    float *W = calloc(n * n, sizeof *W);
    for (size_t i = 0; i < n; i++)
        for (size_t p = g.rowptr[i]; p < g.rowptr[i + 1]; p++) {
            W[i * n + g.col[p]] = g.w[p];
            range += !(g.w[p] > 0 && g.w[p] <= 1);
            loops += g.col[p] == (int)i;
            if (p > g.rowptr[i]) unsorted += g.col[p] <= g.col[p - 1];
        }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double a = A[i * n + j], t = A[j * n + i], ref = a + t - a * t;
            nnz_ref += ref > 0;
            double diff = fabs(ref - W[i * n + j]);
            if (diff > maxdiff) maxdiff = diff;
            mism += diff > 1e-6;
            asym += W[i * n + j] != W[j * n + i];
        }
    CHECK_MSG(g.nnz == nnz_ref, "union: expected %zu edges, got %zu", nnz_ref, g.nnz);
    CHECK_MSG(mism == 0, "union: %zu weights differ from the dense reference (max diff %.3g)", mism, maxdiff);
    CHECK_MSG(asym == 0, "union: %zu entries with w_ij != w_ji", asym);
    CHECK_MSG(range == 0, "union: %zu weights outside (0, 1]", range);
    CHECK_EQ_INT(loops, 0);
    CHECK_EQ_INT(unsorted, 0);
    printf("fuzzy union: %zu edges, symmetric, in (0, 1], max |W - dense reference| = %.3g\n", g.nnz, maxdiff);

    /* pruning below max / epochs keeps exactly the edges at or above the threshold */
    float mx = 0;
    size_t keep = 0;
    for (size_t p = 0; p < g.nnz; p++) mx = g.w[p] > mx ? g.w[p] : mx;
    for (size_t p = 0; p < g.nnz; p++) keep += g.w[p] >= mx / 5.0f;
    umap__graph_prune(&g, 5.0);
    CHECK_MSG(g.nnz == keep && keep > 0, "prune: expected %zu edges, got %zu", keep, g.nnz);
    CHECK_EQ_INT(g.rowptr[n], g.nnz);
    umap_graph_free(&g);
    umap_graph_free(&g); /* twice is fine */
    free(X);
    free(idx);
    free(dist);
    free(sigma);
    free(rho);
    free(w);
    free(A);
    free(W);
}

static void test_find_ab(void)
{
    /* References: scipy 1.10 curve_fit run exactly as umap-learn's find_ab_params
     * (spread 1). NB the often-quoted "min_dist 0: a 1.929, b 0.7915" is umap's fit for
     * min_dist 0.001; min_dist 0 itself gives a 1.93281, b 0.79049. */
    static const struct { double min_dist, a, b; } ref[] = {
        {0.0, 1.9328084, 0.79049497},
        {0.001, 1.9290734, 0.79150453},
        {0.1, 1.57694346, 0.89506088},
        {0.5, 0.58303002, 1.33416699},
    };
    dc_err e = {0};
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
        double a = 0, b = 0;
        CHECK_EQ_INT(umap_find_ab(1.0, ref[i].min_dist, &a, &b, &e), 0);
        CHECK_NEAR(a, ref[i].a, 1e-4);
        CHECK_NEAR(b, ref[i].b, 1e-4);
        printf("find_ab(spread 1, min_dist %g): a = %.6f (scipy %.6f), b = %.6f (scipy %.6f)\n", ref[i].min_dist, a,
               ref[i].a, b, ref[i].b);
    }
    double a, b;
    CHECK_EQ_INT(umap_find_ab(0.0, 0.1, &a, &b, &e), DC_EINVAL);
}

static void test_pca(void)
{
    /* anisotropic Gaussian: standard deviations 5, 3, 1, 0.5 along a rotated basis */
    size_t n = 4000;
    int d = 4, c = 3;
    double sd[4] = {5, 3, 1, 0.5}, R[16];
    double th = 0.6, cs = cos(th), sn = sin(th);
    double R0[16] = {cs, -sn, 0, 0, sn, cs, 0, 0, 0, 0, cs, -sn, 0, 0, sn, cs};
    memcpy(R, R0, sizeof R);
    rng g;
    rng_seed(&g, 41);
    float *X = malloc(n * d * sizeof *X), *Y = malloc(n * c * sizeof *Y);
    for (size_t i = 0; i < n; i++) {
        double z[4];
        for (int j = 0; j < d; j++) z[j] = sd[j] * rng_normal(&g);
        for (int j = 0; j < d; j++) {
            double s = 3.0; /* offset: PCA centres */
            for (int t = 0; t < d; t++) s += R[j * d + t] * z[t];
            X[i * d + j] = (float)s;
        }
    }
    dc_err e = {0};
    CHECK_EQ_INT(umap__pca(X, n, d, c, Y, &e), 0);
    double var[3] = {0}, cov01 = 0, mean[3] = {0};
    for (size_t i = 0; i < n; i++)
        for (int t = 0; t < c; t++) mean[t] += Y[i * c + t] / (double)n;
    for (size_t i = 0; i < n; i++) {
        for (int t = 0; t < c; t++) var[t] += pow(Y[i * c + t] - mean[t], 2) / (double)(n - 1);
        cov01 += (Y[i * c] - mean[0]) * (Y[i * c + 1] - mean[1]) / (double)(n - 1);
    }
    CHECK_MSG(fabs(mean[0]) < 1e-3 && fabs(mean[1]) < 1e-3, "PCA scores not centred: %g %g", mean[0], mean[1]);
    CHECK_MSG(var[0] > var[1] && var[1] > var[2], "PCA variances not descending: %g %g %g", var[0], var[1], var[2]);
    CHECK_NEAR(sqrt(var[0]), 5.0, 0.25);
    CHECK_NEAR(sqrt(var[1]), 3.0, 0.15);
    CHECK_NEAR(sqrt(var[2]), 1.0, 0.05);
    CHECK_NEAR(cov01 / sqrt(var[0] * var[1]), 0.0, 1e-4);
    printf("pca: component sd %.3f %.3f %.3f (generated 5, 3, 1), corr(1,2) %.2g\n", sqrt(var[0]), sqrt(var[1]),
           sqrt(var[2]), cov01 / sqrt(var[0] * var[1]));
    free(X);
    free(Y);
}

/* Spectral init against a dense reference: all eigenvalues of the normalised Laplacian
 * of a small connected graph by Jacobi, the smallest after 0 compared with the subspace
 * iteration's, and the residual |L v - lambda v| of its vectors. */
static void test_spectral(void)
{
    size_t n = 250;
    int d = 3, K = 12, c = 3;
    float *X = randu(n, d, 91);
    int *idx = malloc(n * K * sizeof *idx);
    float *dist = malloc(n * K * sizeof *dist), *Y = malloc(n * c * sizeof *Y);
    knn_with_self(X, n, d, K, idx, dist);
    umap_graph g;
    dc_err e = {0};
    CHECK_EQ_INT(umap_fuzzy_graph(idx, dist, n, K, &g, &e), 0);
    double *L = calloc(n * n, sizeof *L), *V = malloc(n * n * sizeof *V), *deg = calloc(n, sizeof *deg);
    for (size_t i = 0; i < n; i++)
        for (size_t p = g.rowptr[i]; p < g.rowptr[i + 1]; p++) deg[i] += g.w[p];
    for (size_t i = 0; i < n; i++) {
        L[i * n + i] = 1;
        for (size_t p = g.rowptr[i]; p < g.rowptr[i + 1]; p++) L[i * n + g.col[p]] -= g.w[p] / sqrt(deg[i] * deg[g.col[p]]);
    }
    double *Lc = malloc(n * n * sizeof *Lc);
    memcpy(Lc, L, n * n * sizeof *L);
    pca_eig_sym(Lc, (int)n, V);
    double ev[250];
    for (size_t i = 0; i < n; i++) ev[i] = Lc[i * n + i];
    for (size_t i = 1; i < n; i++) /* ascending */
        for (size_t j = i; j > 0 && ev[j - 1] > ev[j]; j--) {
            double t = ev[j];
            ev[j] = ev[j - 1];
            ev[j - 1] = t;
        }
    rng r;
    rng_seed(&r, 5);
    double lam[3];
    int iters = 0;
    CHECK_EQ_INT(umap__spectral(&g, c, 3000, &r, NULL, NULL, Y, lam, &iters, &e), 0);
    CHECK_NEAR(ev[0], 0.0, 1e-9);
    double worst_res = 0;
    for (int j = 0; j < c; j++) {
        CHECK_NEAR(lam[j], ev[j + 1], 1e-4);
        double res = 0, nv = 0;
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (size_t k = 0; k < n; k++) s += L[i * n + k] * Y[k * c + j];
            res += pow(s - lam[j] * Y[i * c + j], 2);
            nv += (double)Y[i * c + j] * Y[i * c + j];
        }
        worst_res = fmax(worst_res, sqrt(res / nv));
    }
    CHECK_MSG(worst_res < 1e-2, "spectral: |L v - lambda v| / |v| = %.3g, expected < 1e-2", worst_res);
    printf("spectral init: lambda %.6f %.6f %.6f (dense Jacobi %.6f %.6f %.6f) after %d steps, residual %.2g\n", lam[0],
           lam[1], lam[2], ev[1], ev[2], ev[3], iters, worst_res);
    umap_graph_free(&g);
    free(X);
    free(idx);
    free(dist);
    free(Y);
    free(L);
    free(Lc);
    free(V);
    free(deg);
}

/* Progress recorder; stops when stage == stop_stage and done >= stop_at. */
typedef struct prog {
    long calls[8], last_done[8], last_total[8];
    int stop_stage;
    long stop_at;
} prog;

static int on_progress(void *user, int stage, long done, long total)
{
    prog *p = user;
    if (stage >= 0 && stage < 8) {
        p->calls[stage]++;
        p->last_done[stage] = done;
        p->last_total[stage] = total;
    }
    return p->stop_stage == stage && done >= p->stop_at;
}

/* Centroids of labels (k) in Y (n, c): between / within ratio = smallest distance between
 * two centroids over the largest RMS radius of a cluster. */
static double margin(const float *Y, size_t n, int c, const int *lab, int k)
{
    double *cent = calloc((size_t)k * c, sizeof *cent), *rad = calloc((size_t)k, sizeof *rad);
    long *cnt = calloc((size_t)k, sizeof *cnt);
    for (size_t i = 0; i < n; i++) {
        cnt[lab[i]]++;
        for (int t = 0; t < c; t++) cent[lab[i] * c + t] += Y[i * c + t];
    }
    for (int j = 0; j < k; j++)
        for (int t = 0; t < c; t++) cent[j * c + t] /= cnt[j] ? cnt[j] : 1;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (int t = 0; t < c; t++) s += pow(Y[i * c + t] - cent[lab[i] * c + t], 2);
        rad[lab[i]] += s;
    }
    double within = 0, between = INFINITY;
    for (int j = 0; j < k; j++) {
        double r = sqrt(rad[j] / (cnt[j] ? cnt[j] : 1));
        if (r > within) within = r;
        for (int l = j + 1; l < k; l++) {
            double s = 0;
            for (int t = 0; t < c; t++) s += pow(cent[j * c + t] - cent[l * c + t], 2);
            if (sqrt(s) < between) between = sqrt(s);
        }
    }
    free(cent);
    free(rad);
    free(cnt);
    return between / within;
}

/* Label of each row of P (m, c): the label of its nearest row in Y (n, c). */
static void nn_labels(const float *P, size_t m, const float *Y, size_t n, int c, const int *lab, int *out)
{
    for (size_t i = 0; i < m; i++) {
        double best = INFINITY;
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (int t = 0; t < c; t++) s += pow(P[i * c + t] - Y[j * c + t], 2);
            if (s < best) {
                best = s;
                out[i] = lab[j];
            }
        }
    }
}

static void test_layout_blobs_and_transform(void)
{
    size_t n = 1000;
    int d = 20, k = 5, *truth = malloc(n * sizeof *truth);
    float *X = blobs(n, d, k, 4, 51, truth);
    umap_opts o;
    umap_opts_default(&o);
    o.seed = 7;
    o.n_epochs = 200;
    prog p = {0};
    o.progress = on_progress;
    o.progress_user = &p;
    umap_model m, m2;
    dc_err e = {0};
    double t0 = dc_now_s();
    CHECK_EQ_INT(umap_fit(X, n, d, &o, &m, &e), 0);
    double t_fit = dc_now_s() - t0;
    CHECK_EQ_INT(m.n_components, 10);
    CHECK_EQ_INT(m.n_epochs, 200);
    CHECK_EQ_INT(p.calls[UMAP_STAGE_KNN], 2); /* 1000 rows in blocks of 512 */
    CHECK_EQ_INT(p.calls[UMAP_STAGE_GRAPH], 1);
    CHECK_EQ_INT(p.calls[UMAP_STAGE_LAYOUT], 200);
    CHECK_EQ_INT(p.last_done[UMAP_STAGE_LAYOUT], 200);
    CHECK(m.n_edges > n * 19 && m.n_edges <= 2 * n * 19);

    /* k-means on the embedding recovers the blobs */
    kmeans_opts ko;
    kmeans_opts_default(&ko);
    ko.n_init = 4;
    ko.seed = 1;
    kmeans_result kr;
    CHECK_EQ_INT(kmeans_fit(m.embedding, n, m.n_components, k, &ko, &kr, &e), 0);
    double acc = 0;
    CHECK_EQ_INT(metrics_acc(kr.labels, truth, n, &acc, &e), 0);
    CHECK_MSG(acc == 1.0, "blobs: k-means on the embedding: expected ACC 1.0, got %.4f", acc);
    double mg_in = margin(X, n, d, truth, k), mg = margin(m.embedding, n, m.n_components, truth, k);
    CHECK_MIN(mg, 3.0, "umap blobs margin, PCA init");
    printf("layout: 5 blobs 1000 x 20 -> 10-D, %zu edges, fit %.2f s (kNN %.3f, graph %.3f, init %.3f, layout %.2f);"
           " k-means ACC %.4f; min between-centroid / max within radius: input %.2f, embedding %.2f\n",
           m.n_edges, t_fit, m.sec_knn, m.sec_graph, m.sec_init, m.sec_layout, acc, mg_in, mg);
    kmeans_result_free(&kr);

    /* same seed -> same bits; two kNN threads too */
    o.progress = NULL;
    o.n_threads = 2;
    CHECK_EQ_INT(umap_fit(X, n, d, &o, &m2, &e), 0);
    CHECK_MSG(memcmp(m.embedding, m2.embedding, n * m.n_components * sizeof(float)) == 0,
              "same seed, n_threads 2: embedding differs");
    umap_model_free(&m2);
    o.n_threads = 1;
    /* another seed -> another layout (init noise and negative samples), as good */
    o.seed = 8;
    CHECK_EQ_INT(umap_fit(X, n, d, &o, &m2, &e), 0);
    size_t ndiff = 0;
    for (size_t i = 0; i < n * (size_t)m.n_components; i++) ndiff += m.embedding[i] != m2.embedding[i];
    CHECK_MSG(ndiff > n, "seed 8 vs 7: only %zu coordinates differ", ndiff);
    CHECK_EQ_INT(kmeans_fit(m2.embedding, n, m2.n_components, k, &ko, &kr, &e), 0);
    CHECK_EQ_INT(metrics_acc(kr.labels, truth, n, &acc, &e), 0);
    CHECK_MSG(acc == 1.0, "blobs, seed 8: expected ACC 1.0, got %.4f", acc);
    kmeans_result_free(&kr);
    umap_model_free(&m2);
    o.seed = 7;

    /* spectral init (umap-learn's default) also separates them */
    o.init = UMAP_INIT_SPECTRAL;
    CHECK_EQ_INT(umap_fit(X, n, d, &o, &m2, &e), 0);
    CHECK_EQ_INT(kmeans_fit(m2.embedding, n, m2.n_components, k, &ko, &kr, &e), 0);
    CHECK_EQ_INT(metrics_acc(kr.labels, truth, n, &acc, &e), 0);
    CHECK_MSG(acc == 1.0, "blobs, spectral init: expected ACC 1.0, got %.4f", acc);
    mg = margin(m2.embedding, n, m2.n_components, truth, k);
    CHECK_MIN(mg, 3.0, "umap blobs margin, spectral init");
    printf("layout with spectral init: %d subspace steps, init %.3f s, ACC %.4f, margin %.2f\n", m2.init_iters,
           m2.sec_init, acc, mg);
    kmeans_result_free(&kr);
    umap_model_free(&m2);
    o.init = UMAP_INIT_PCA;

    /* transform of the training points lands next to their training coordinates */
    float *T = malloc(n * m.n_components * sizeof *T);
    int *lab = malloc(n * sizeof *lab);
    t0 = dc_now_s();
    CHECK_EQ_INT(umap_transform(&m, X, n, NULL, T, &e), 0);
    double t_tr = dc_now_s() - t0;
    nn_labels(T, n, m.embedding, n, m.n_components, truth, lab);
    size_t same = 0;
    double moved = 0;
    for (size_t i = 0; i < n; i++) {
        same += lab[i] == truth[i];
        double s = 0;
        for (int t = 0; t < m.n_components; t++) s += pow(T[i * m.n_components + t] - m.embedding[i * m.n_components + t], 2);
        moved += sqrt(s) / n;
    }
    double frac = (double)same / n;
    CHECK_MIN(frac, 0.97, "umap transform of training points, labels kept");
    printf("transform of the training points: %.2f s, nearest-neighbour label kept %.4f, mean shift %.3f\n", t_tr,
           frac, moved);

    /* fresh points from the same blobs, in batches of 70 */
    size_t nf = 300;
    int *tf = malloc(nf * sizeof *tf);
    float *F = blobs(nf + n, d, k, 4, 51, NULL), *TF = malloc(nf * m.n_components * sizeof *TF);
    float *Fn = F + n * d; /* beyond the training draw: new noise, same centres */
    for (size_t i = 0; i < nf; i++) tf[i] = (int)((n + i) % (size_t)k);
    umap_opts to = m.opts;
    to.transform_batch = 70;
    prog tp = {0};
    to.progress = on_progress;
    to.progress_user = &tp;
    CHECK_EQ_INT(umap_transform(&m, Fn, nf, &to, TF, &e), 0);
    CHECK_EQ_INT(tp.last_done[UMAP_STAGE_TRANSFORM], nf);
    nn_labels(TF, nf, m.embedding, n, m.n_components, truth, lab);
    same = 0;
    for (size_t i = 0; i < nf; i++) same += lab[i] == tf[i];
    frac = (double)same / nf;
    CHECK_MIN(frac, 0.97, "umap transform of fresh points, labels right");
    printf("transform of %zu fresh points (batches of 70): nearest-neighbour label right %.4f\n", nf, frac);
    /* deterministic */
    float *TF2 = malloc(nf * m.n_components * sizeof *TF2);
    CHECK_EQ_INT(umap_transform(&m, Fn, nf, &to, TF2, &e), 0);
    CHECK(memcmp(TF, TF2, nf * m.n_components * sizeof *TF) == 0);

    /* cancel during the transform */
    tp = (prog){0};
    tp.stop_stage = UMAP_STAGE_TRANSFORM;
    tp.stop_at = 140;
    CHECK_EQ_INT(umap_transform(&m, Fn, nf, &to, TF2, &e), DC_ECANCEL);
    CHECK_EQ_INT(e.code, DC_ECANCEL);

    free(TF2);
    free(F);
    free(TF);
    free(tf);
    free(T);
    free(lab);
    umap_model_free(&m);
    umap_model_free(&m);
    free(X);
    free(truth);
}

static void test_cancel(void)
{
    size_t n = 600;
    int d = 6;
    float *X = blobs(n, d, 3, 5, 61, NULL);
    umap_opts o;
    umap_opts_default(&o);
    o.n_components = 2;
    o.n_neighbors = 10;
    o.n_epochs = 30;
    o.block_rows = 100;
    o.n_threads = 2;
    o.progress = on_progress;
    struct { int stage; long at; } stops[] = {
        {UMAP_STAGE_KNN, 2}, {UMAP_STAGE_GRAPH, 1}, {UMAP_STAGE_INIT, 4}, {UMAP_STAGE_LAYOUT, 3}};
    for (size_t s = 0; s < 4; s++) {
        o.init = stops[s].stage == UMAP_STAGE_INIT ? UMAP_INIT_SPECTRAL : UMAP_INIT_PCA;
        prog p = {0};
        p.stop_stage = stops[s].stage;
        p.stop_at = stops[s].at;
        o.progress_user = &p;
        umap_model m;
        dc_err e = {0};
        int rc = umap_fit(X, n, d, &o, &m, &e);
        CHECK_MSG(rc == DC_ECANCEL, "stop at stage %d: expected DC_ECANCEL, got %d (%s)", stops[s].stage, rc, e.msg);
        CHECK(m.embedding == NULL && m.data == NULL && m.n == 0);
        CHECK_EQ_INT(p.calls[stops[s].stage], stops[s].stage == UMAP_STAGE_KNN ? 1 : stops[s].at);
        CHECK(strstr(e.msg, "cancel") != NULL);
    }
    free(X);
}

/* Captures the layout's state at epoch `at` (embedding copied) and stops the fit there. */
typedef struct cap {
    int at, calls, finals;
    umap_layout_state st;
} cap;

static int capture(void *user, const umap_layout_state *st, int final)
{
    cap *c = user;
    c->calls++;
    c->finals += final;
    if (st->epoch != c->at) return 0;
    float *emb = malloc(st->n * st->n_components * sizeof *emb);
    memcpy(emb, st->embedding, st->n * st->n_components * sizeof *emb);
    c->st = *st;
    c->st.embedding = emb;
    return 1;
}

/* A layout stopped at epoch 31 of 80 (kNN on 2 threads) and continued from its state
 * (kNN on 1 thread) ends with the uninterrupted fit's bits; a state of another fit is
 * refused. */
static void test_layout_resume(void)
{
    size_t n = 600;
    int d = 8;
    float *X = blobs(n, d, 4, 5, 71, NULL);
    umap_opts o;
    umap_opts_default(&o);
    o.init = UMAP_INIT_SPECTRAL;
    o.n_epochs = 80;
    o.seed = 3;
    umap_model ref, m;
    dc_err e = {0};
    CHECK_EQ_INT(umap_fit(X, n, d, &o, &ref, &e), 0);
    cap c = {.at = 31};
    o.layout_state = capture;
    o.progress_user = &c;
    o.n_threads = 2;
    int rc = umap_fit(X, n, d, &o, &m, &e);
    CHECK_MSG(rc == DC_ECANCEL && strstr(e.msg, "epoch 31 of 80"), "stop at 31: rc %d (%s)", rc, e.msg);
    CHECK_EQ_INT(c.calls, 31);
    CHECK_EQ_INT(c.finals, 0);
    CHECK(c.st.embedding && c.st.n == n && c.st.n_epochs == 80 && c.st.n_edges == ref.n_edges &&
          c.st.init_iters == ref.init_iters);
    o.layout_state = NULL;
    o.n_threads = 1;
    o.resume = &c.st;
    prog p = {0};
    o.progress = on_progress;
    o.progress_user = &p;
    CHECK_EQ_INT(umap_fit(X, n, d, &o, &m, &e), 0);
    CHECK_EQ_INT(p.calls[UMAP_STAGE_INIT], 0);
    CHECK_EQ_INT(p.calls[UMAP_STAGE_LAYOUT], 80 - 31);
    CHECK_MSG(memcmp(m.embedding, ref.embedding, n * ref.n_components * sizeof(float)) == 0,
              "resumed at epoch 31: the embedding differs from the uninterrupted fit's");
    CHECK(m.opts.resume == NULL && m.init_iters == ref.init_iters);
    umap_model_free(&m);
    o.progress = NULL;
    o.n_epochs = 81; /* another schedule */
    CHECK_EQ_INT(umap_fit(X, n, d, &o, &m, &e), DC_EINVAL);
    o.n_epochs = 80;
    c.st.graph_hash ^= 1; /* another graph: the saved layout is dropped, a fresh one runs */
    CHECK_EQ_INT(umap_fit(X, n, d, &o, &m, &e), 0);
    CHECK_EQ_INT(m.resume_dropped, 1);
    CHECK_MSG(m.embedding && memcmp(m.embedding, ref.embedding,
                                    n * ref.n_components * sizeof(float)) == 0,
              "resume on another graph: the fresh layout differs from the uninterrupted fit's");
    umap_model_free(&m);
    free(c.st.embedding);
    umap_model_free(&ref);
    free(X);
}

/* More copies of one point than n_neighbors: their kNN rows are all at distance 0. The
 * fit and transform still work, and the copies stay together. */
static void test_many_duplicates(void)
{
    size_t n = 300;
    int d = 5, c = 2, *truth = malloc(n * sizeof *truth);
    float *X = blobs(n, d, 3, 5, 81, truth);
    for (size_t i = 3; i < 90; i += 3) memcpy(X + i * d, X, d * sizeof *X); /* 30 copies of row 0 (label 0) */
    umap_opts o;
    umap_opts_default(&o);
    o.n_components = c;
    o.n_epochs = 100;
    umap_model m;
    dc_err e = {0};
    CHECK_EQ_INT(umap_fit(X, n, d, &o, &m, &e), 0);
    double spread_copies = 0, spread_all = 0;
    for (size_t i = 3; i < 90; i += 3)
        for (int t = 0; t < c; t++) spread_copies = fmax(spread_copies, fabs(m.embedding[i * c + t] - m.embedding[t]));
    for (size_t i = 0; i < n; i++)
        for (int t = 0; t < c; t++) spread_all = fmax(spread_all, fabs(m.embedding[i * c + t] - m.embedding[t]));
    CHECK_MSG(spread_copies < 0.1 * spread_all, "copies spread %g, expected < 0.1 x %g", spread_copies, spread_all);
    float out[2];
    CHECK_EQ_INT(umap_transform(&m, X, 1, NULL, out, &e), 0);
    CHECK(isfinite(out[0]) && isfinite(out[1]));
    printf("30 copies of a point (n_neighbors 20): fit ok, copies within %.3g of each other (embedding extent %.3g)\n",
           spread_copies, spread_all);
    umap_model_free(&m);
    free(X);
    free(truth);
}

static void test_bad_options(void)
{
    size_t n = 50;
    int d = 4;
    float *X = randu(n, d, 71);
    umap_opts o;
    umap_model m;
    dc_err e = {0};
    /* one setter per option, each must be refused with the option's name in the message */
#define BAD(field, value, code)                                                              \
    do {                                                                                     \
        umap_opts_default(&o);                                                               \
        o.n_components = 2;                                                                  \
        o.field = value;                                                                     \
        memset(&e, 0, sizeof e);                                                             \
        int rc_ = umap_fit(X, n, d, &o, &m, &e);                                             \
        CHECK_MSG(rc_ == (code) && strstr(e.msg, #field) != NULL,                           \
                  "%s = %s: expected %d naming it, got %d \"%s\"", #field, #value, code, rc_, \
                  e.msg);                                                                    \
    } while (0)
    BAD(n_components, 0, DC_EINVAL);
    BAD(n_components, 5, DC_EINVAL); /* PCA init needs n_components <= d */
    BAD(n_neighbors, 1, DC_EINVAL);
    BAD(n_neighbors, 51, DC_EINVAL);
    BAD(min_dist, -0.1, DC_EINVAL);
    BAD(min_dist, 2.0, DC_EINVAL);
    BAD(min_dist, NAN, DC_EINVAL);
    BAD(spread, 0.0, DC_EINVAL);
    BAD(metric, 1, DC_EINVAL);
    BAD(n_epochs, -1, DC_EINVAL);
    BAD(learning_rate, 0.0, DC_EINVAL);
    BAD(learning_rate, INFINITY, DC_EINVAL);
    BAD(negative_sample_rate, -1, DC_EINVAL);
    BAD(repulsion_strength, -1.0, DC_EINVAL);
    BAD(a, 1.5, DC_EINVAL); /* b left 0 */
    BAD(init, 7, DC_EINVAL);
    BAD(n_threads, 0, DC_EINVAL);
    BAD(block_rows, 0, DC_EINVAL);
    BAD(transform_epochs, -2, DC_EINVAL);
    BAD(transform_batch, 0, DC_EINVAL);
    printf("last refusal: %s\n", e.msg);

    umap_opts_default(&o);
    o.n_components = 2;
    CHECK_EQ_INT(umap_fit(NULL, n, d, &o, &m, &e), DC_EINVAL);
    CHECK_EQ_INT(umap_fit(X, 1, d, &o, &m, &e), DC_EINVAL);
    CHECK_EQ_INT(umap_fit(X, n, 0, &o, &m, &e), DC_EINVAL);
    CHECK_EQ_INT(umap_fit(X, n, d, NULL, &m, &e), DC_EINVAL);
    /* sizes whose products overflow size_t */
    o.n_components = 1;
    CHECK_EQ_INT(umap_opts_check(&o, (size_t)2000000000, 2000000000, &e), DC_EINVAL);
    CHECK_MSG(strstr(e.msg, "overflow") != NULL, "expected an overflow message, got \"%s\"", e.msg);
    CHECK_EQ_INT(umap_opts_check(&o, (size_t)INT_MAX + 1, 4, &e), DC_EINVAL);
    /* non-finite input */
    X[17 * d + 2] = NAN;
    o.n_components = 2;
    CHECK_EQ_INT(umap_fit(X, n, d, &o, &m, &e), DC_ENUMERIC);
    CHECK(strstr(e.msg, "X[17][2]") != NULL);
    X[17 * d + 2] = INFINITY;
    CHECK_EQ_INT(umap_fit(X, n, d, &o, &m, &e), DC_ENUMERIC);
    CHECK(m.embedding == NULL);
    /* transform refuses NaN points and a NULL model */
    X[17 * d + 2] = 0.5f;
    o.n_epochs = 20;
    CHECK_EQ_INT(umap_fit(X, n, d, &o, &m, &e), 0);
    float q[4] = {0, NAN, 0, 0}, out[2];
    CHECK_EQ_INT(umap_transform(&m, q, 1, NULL, out, &e), DC_ENUMERIC);
    CHECK_EQ_INT(umap_transform(NULL, q, 1, NULL, out, &e), DC_EINVAL);
    umap_model_free(&m);
    /* spectral init needs n_components <= n - 2 */
    umap_opts_default(&o);
    o.n_neighbors = 2;
    o.n_components = 2;
    o.init = UMAP_INIT_SPECTRAL;
    CHECK_EQ_INT(umap_fit(X, 3, d, &o, &m, &e), DC_EINVAL);
    CHECK_MSG(strstr(e.msg, "n_components") && strstr(e.msg, "spectral"), "got \"%s\"", e.msg);
    CHECK_EQ_INT(umap_fit(X, 4, d, &o, &m, &e), 0);
    umap_model_free(&m);
    /* the smallest fit (n = 2, n_neighbors 2) and random init with n_components > d */
    umap_opts_default(&o);
    o.n_neighbors = 2;
    o.n_components = 1;
    CHECK_EQ_INT(umap_fit(X, 2, d, &o, &m, &e), 0);
    CHECK(m.n == 2 && m.n_edges == 2);
    umap_model_free(&m);
    umap_opts_default(&o);
    o.n_components = 6;
    o.init = UMAP_INIT_RANDOM;
    o.n_epochs = 20;
    CHECK_EQ_INT(umap_fit(X, n, d, &o, &m, &e), 0);
    CHECK_EQ_INT(m.n_components, 6);
    umap_model_free(&m);
    free(X);
}

int main(void)
{
    double t0 = dc_now_s();
    test_knn();
    test_smooth_knn_dist();
    test_fuzzy_graph();
    test_find_ab();
    test_pca();
    test_spectral();
    test_layout_blobs_and_transform();
    test_cancel();
    test_layout_resume();
    test_many_duplicates();
    test_bad_options();
    printf("test_umap: %.2f s\n", dc_now_s() - t0);
    return CHECK_DONE();
}
