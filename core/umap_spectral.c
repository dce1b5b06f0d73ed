/* umap_spectral: the spectral initialisation of UMAP (umap-learn's spectral_layout: the
 * eigenvectors 1..c of the normalised Laplacian L = I - D^-1/2 W D^-1/2 with the smallest
 * eigenvalues, the trivial one D^1/2 1 left out), by a sparse method of our own:
 * block subspace iteration on A = (I + D^-1/2 W D^-1/2) / 2, whose largest eigenvalues
 * (in [0, 1]) are L's smallest (lambda_L = 2 (1 - lambda_A)). The block holds c + 4
 * vectors, kept orthogonal to D^1/2 1 and to each other (Cholesky QR twice through
 * BLAS, Gram-Schmidt if the block is near rank deficient);
 * every 10 steps a Rayleigh-Ritz step rotates it onto Ritz vectors and the iteration
 * stops when the top c Ritz values moved less than 1e-6, or after max_iter steps. Unlike
 * umap-learn (ARPACK eigsh, then a separate layout per connected component) this is one
 * block for the whole graph: components show up as eigenvalue-0 eigenvectors that are
 * constant on each component. Cost per step: the graph's edges x block size, plus
 * n x block^2 for the orthogonalisation.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pca.h"
#include "umap_internal.h"

#define SPEC_OVERSAMPLE 4
#define SPEC_RR_EVERY 10
#define SPEC_TOL 1e-6

/* y (n, p) = A x, x and y (n, p) row-major; tmp (n, p) scratch. */
static void apply_A(const umap_graph *g, const double *dinv, const double *x, double *y, int p,
                    double *tmp)
{
    size_t n = g->n;
    for (size_t i = 0; i < n; i++)
        for (int t = 0; t < p; t++) tmp[i * p + t] = dinv[i] * x[i * p + t];
    for (size_t i = 0; i < n; i++) {
        double *yi = y + i * p;
        for (int t = 0; t < p; t++) yi[t] = 0;
        for (size_t e = g->rowptr[i]; e < g->rowptr[i + 1]; e++) {
            const double *tj = tmp + (size_t)g->col[e] * p;
            double w = g->w[e];
            for (int t = 0; t < p; t++) yi[t] += w * tj[t];
        }
        for (int t = 0; t < p; t++) yi[t] = 0.5 * (x[i * p + t] + dinv[i] * yi[t]);
    }
}

/* Modified Gram-Schmidt, twice: columns of Q (n, p) orthonormal and orthogonal to u0
 * (n, unit). A column that vanishes is replaced by a random one. The fallback of
 * orthonormalise (strided, slow for large n). */
static void mgs(double *Q, size_t n, int p, const double *u0, rng *r)
{
    for (int pass = 0; pass < 2; pass++)
        for (int j = 0; j < p; j++) {
            for (int attempt = 0; attempt < 3; attempt++) {
                double s = 0;
                for (size_t k = 0; k < n; k++) s += u0[k] * Q[k * p + j];
                for (size_t k = 0; k < n; k++) Q[k * p + j] -= s * u0[k];
                for (int i = 0; i < j; i++) {
                    s = 0;
                    for (size_t k = 0; k < n; k++) s += Q[k * p + i] * Q[k * p + j];
                    for (size_t k = 0; k < n; k++) Q[k * p + j] -= s * Q[k * p + i];
                }
                double nn = 0;
                for (size_t k = 0; k < n; k++) nn += Q[k * p + j] * Q[k * p + j];
                if (nn > 1e-24) {
                    double inv = 1 / sqrt(nn);
                    for (size_t k = 0; k < n; k++) Q[k * p + j] *= inv;
                    break;
                }
                for (size_t k = 0; k < n; k++) Q[k * p + j] = rng_normal(r);
            }
        }
}

/* One Cholesky QR step: Q <- Q R^-1 with R^T R = Q^T Q (BLAS dsyrk + dtrsm). Returns -1,
 * leaving Q unchanged, when Q^T Q is not safely positive definite. G (p, p) scratch. */
static int cholqr(double *Q, size_t n, int p, double *G)
{
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, p, (int)n, 1.0, Q, p, 0.0, G, p);
    double big = 0;
    for (int j = 0; j < p; j++) big = fmax(big, G[j * p + j]);
    for (int j = 0; j < p; j++) { /* in place: G's upper triangle becomes R */
        double s = G[j * p + j];
        for (int k = 0; k < j; k++) s -= G[k * p + j] * G[k * p + j];
        if (!(s > 1e-12 * big)) return -1;
        double rjj = sqrt(s);
        G[j * p + j] = rjj;
        for (int i = j + 1; i < p; i++) {
            double t = G[j * p + i];
            for (int k = 0; k < j; k++) t -= G[k * p + j] * G[k * p + i];
            G[j * p + i] = t / rjj;
        }
    }
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, (int)n, p, 1.0, G, p, Q,
                p);
    return 0;
}

/* Columns of Q (n, p) orthonormal and orthogonal to u0 (n, unit): u0 projected out, then
 * Cholesky QR twice (CholQR2), falling back to Gram-Schmidt if the block is near rank
 * deficient. cv (p), G (p, p) scratch. */
static void orthonormalise(double *Q, size_t n, int p, const double *u0, rng *r, double *cv, double *G)
{
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, p, 1.0, Q, p, u0, 1, 0.0, cv, 1);
    cblas_dger(CblasRowMajor, (int)n, p, -1.0, u0, 1, cv, 1, Q, p);
    if (cholqr(Q, n, p, G) == 0 && cholqr(Q, n, p, G) == 0) {
        /* u0 once more: rounding in the QR steps can bring back a trace of it */
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, p, 1.0, Q, p, u0, 1, 0.0, cv, 1);
        cblas_dger(CblasRowMajor, (int)n, p, -1.0, u0, 1, cv, 1, Q, p);
        return;
    }
    mgs(Q, n, p, u0, r);
}

/* Rayleigh-Ritz: Q <- Q S with S the eigenvectors of Q^T A Q sorted by eigenvalue,
 * descending; ritz (p) gets the eigenvalues. AQ, tmp (n, p), H, V (p, p) scratch. */
static void rayleigh_ritz(const umap_graph *g, const double *dinv, double *Q, int p, double *AQ,
                          double *tmp, double *H, double *V, double *ritz, int *order)
{
    size_t n = g->n;
    apply_A(g, dinv, Q, AQ, p, tmp);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p, p, (int)n, 1.0, Q, p, AQ, p, 0.0, H, p);
    for (int i = 0; i < p; i++) /* symmetrise */
        for (int j = 0; j < i; j++) H[i * p + j] = H[j * p + i] = 0.5 * (H[i * p + j] + H[j * p + i]);
    pca_eig_sym(H, p, V);
    for (int i = 0; i < p; i++) order[i] = i;
    for (int i = 1; i < p; i++) {
        int o = order[i], q = i;
        while (q > 0 && H[order[q - 1] * (p + 1)] < H[o * (p + 1)]) {
            order[q] = order[q - 1];
            q--;
        }
        order[q] = o;
    }
    for (int i = 0; i < p; i++) ritz[i] = H[order[i] * (p + 1)];
    for (int i = 0; i < p; i++) /* H <- V with its columns in order */
        for (int j = 0; j < p; j++) H[i * p + j] = V[i * p + order[j]];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, p, p, 1.0, Q, p, H, p, 0.0, tmp, p);
    memcpy(Q, tmp, n * p * sizeof *Q);
}

int umap__spectral(const umap_graph *g, int c, int max_iter, rng *r, umap_progress_fn progress,
                   void *user, float *out, double *lambda, int *iters_out, dc_err *e)
{
    int rc = 0;
    size_t n = g->n;
    int p = c + SPEC_OVERSAMPLE;
    if ((size_t)p > n - 1) p = (int)(n - 1);
    if (c < 1 || (size_t)c + 1 >= n || p < c)
        return dc_err_set(e, DC_EINVAL, "umap: spectral init needs n_components <= n - 2 (got %d, n = %zu)", c, n);
    double *dinv = malloc(n * sizeof *dinv), *u0 = malloc(n * sizeof *u0);
    double *Q = malloc(n * p * sizeof *Q), *Z = malloc(n * p * sizeof *Z), *tmp = malloc(n * p * sizeof *tmp);
    double *H = malloc((size_t)p * p * sizeof *H), *V = malloc((size_t)p * p * sizeof *V);
    double *ritz = malloc((size_t)p * sizeof *ritz), *prev = malloc((size_t)p * sizeof *prev);
    double *cv = malloc((size_t)p * sizeof *cv), *G = malloc((size_t)p * p * sizeof *G);
    int *order = malloc((size_t)p * sizeof *order);
    if (!cv || !G || !dinv || !u0 || !Q || !Z || !tmp || !H || !V || !ritz || !prev || !order) {
        rc = dc_err_set(e, DC_ENOMEM, "umap: out of memory for the spectral init (n = %zu)", n);
        goto out;
    }
    double un = 0;
    for (size_t i = 0; i < n; i++) {
        double deg = 0;
        for (size_t k = g->rowptr[i]; k < g->rowptr[i + 1]; k++) deg += g->w[k];
        dinv[i] = deg > 0 ? 1 / sqrt(deg) : 0;
        u0[i] = sqrt(deg);
        un += deg;
    }
    for (size_t i = 0; i < n; i++) u0[i] /= sqrt(un);
    for (size_t i = 0; i < n * p; i++) Q[i] = rng_normal(r);
    orthonormalise(Q, n, p, u0, r, cv, G);
    for (int j = 0; j < p; j++) prev[j] = INFINITY;
    int it = 0;
    while (it < max_iter) {
        apply_A(g, dinv, Q, Z, p, tmp);
        double *t = Q;
        Q = Z;
        Z = t;
        orthonormalise(Q, n, p, u0, r, cv, G);
        it++;
        if (progress && progress(user, UMAP_STAGE_INIT, it, max_iter)) {
            rc = dc_err_set(e, DC_ECANCEL, "umap: cancelled at step %d of the spectral init", it);
            goto out;
        }
        if (it % SPEC_RR_EVERY == 0 || it == max_iter) {
            rayleigh_ritz(g, dinv, Q, p, Z, tmp, H, V, ritz, order);
            double moved = 0;
            for (int j = 0; j < c; j++) moved = fmax(moved, fabs(ritz[j] - prev[j]));
            memcpy(prev, ritz, (size_t)p * sizeof *prev);
            if (moved < SPEC_TOL) break;
        }
    }
    if (it == 0) rayleigh_ritz(g, dinv, Q, p, Z, tmp, H, V, ritz, order);
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < c; j++) out[i * c + j] = (float)Q[i * p + j];
    if (lambda)
        for (int j = 0; j < c; j++) lambda[j] = 2 * (1 - ritz[j]);
    if (iters_out) *iters_out = it;
out:
    free(dinv);
    free(u0);
    free(Q);
    free(Z);
    free(tmp);
    free(H);
    free(V);
    free(ritz);
    free(prev);
    free(order);
    free(cv);
    free(G);
    return rc;
}
