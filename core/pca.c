/* pca: principal components; see pca.h. */
#include "pca.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void pca_eig_sym(double *A, int d, double *V)
{
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) V[i * d + j] = i == j;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, tot = 0;
        for (int p = 0; p < d; p++)
            for (int q = 0; q < d; q++) {
                double v = A[p * d + q] * A[p * d + q];
                tot += v;
                if (p != q) off += v;
            }
        if (off <= 1e-30 * tot || off == 0) break;
        for (int p = 0; p < d - 1; p++)
            for (int q = p + 1; q < d; q++) {
                double apq = A[p * d + q];
                if (apq == 0) continue;
                double theta = (A[q * d + q] - A[p * d + p]) / (2 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < d; k++) { /* A J: columns p, q */
                    double akp = A[k * d + p], akq = A[k * d + q];
                    A[k * d + p] = c * akp - s * akq;
                    A[k * d + q] = s * akp + c * akq;
                }
                for (int k = 0; k < d; k++) { /* J^T (A J): rows p, q */
                    double apk = A[p * d + k], aqk = A[q * d + k];
                    A[p * d + k] = c * apk - s * aqk;
                    A[q * d + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < d; k++) {
                    double vkp = V[k * d + p], vkq = V[k * d + q];
                    V[k * d + p] = c * vkp - s * vkq;
                    V[k * d + q] = s * vkp + c * vkq;
                }
            }
    }
}

void pca_free(pca *p)
{
    if (!p) return;
    free(p->mean);
    free(p->W);
    free(p->var);
    p->mean = NULL;
    p->W = NULL;
    p->var = NULL;
}

/* Allocates p's arrays for (d, c) and fills p->mean and the covariance sum C (d, d),
 * sum (x - mean)(x - mean)^T, both triangles, by blocks of rows in double. */
static int covariance(pca *p, const float *X, size_t n, int d, int c, double *C, dc_err *e)
{
    enum { ROWS = 1024 };
    double *buf = malloc((size_t)ROWS * d * sizeof *buf);
    p->d = d;
    p->c = c;
    p->mean = calloc((size_t)d, sizeof *p->mean);
    p->W = malloc((size_t)d * c * sizeof *p->W);
    p->var = malloc((size_t)c * sizeof *p->var);
    if (!buf || !p->mean || !p->W || !p->var) {
        free(buf);
        return dc_err_set(e, DC_ENOMEM, "pca_fit: out of memory (d = %d)", d);
    }
    double *mean = p->mean;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mean[j] += X[i * d + j];
    for (int j = 0; j < d; j++) mean[j] /= (double)n;
    for (size_t r0 = 0; r0 < n; r0 += ROWS) {
        size_t m = n - r0 < ROWS ? n - r0 : ROWS;
        for (size_t i = 0; i < m; i++)
            for (int j = 0; j < d; j++) buf[i * d + j] = X[(r0 + i) * d + j] - mean[j];
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, (int)m, 1.0, buf, d, 1.0, C, d);
    }
    for (int i = 0; i < d; i++)
        for (int j = 0; j < i; j++) C[i * d + j] = C[j * d + i];
    free(buf);
    return 0;
}

/* p->W's column t = column col of V (d, ld), its largest |entry| made positive. */
static void set_component(pca *p, const double *V, int ld, int col, int t)
{
    int d = p->d, c = p->c, big = 0;
    for (int i = 1; i < d; i++)
        if (fabs(V[i * ld + col]) > fabs(V[big * ld + col])) big = i;
    double sg = V[big * ld + col] < 0 ? -1 : 1;
    for (int i = 0; i < d; i++) p->W[i * c + t] = (float)(sg * V[i * ld + col]);
}

/* order (m) = indices of the m values diag[i * stride], descending, stable. */
static void order_desc(int *order, const double *diag, int m, int stride)
{
    for (int i = 0; i < m; i++) order[i] = i;
    for (int i = 1; i < m; i++) {
        int o = order[i], q = i;
        while (q > 0 && diag[order[q - 1] * stride] < diag[o * stride]) {
            order[q] = order[q - 1];
            q--;
        }
        order[q] = o;
    }
}

int pca_fit(pca *p, const float *X, size_t n, int d, int c, dc_err *e)
{
    int rc = 0;
    memset(p, 0, sizeof *p);
    if (!X || n == 0 || d < 1 || d > 4096 || c < 1 || c > d)
        return dc_err_set(e, DC_EINVAL, "pca_fit: bad n %zu, d %d or c %d", n, d, c);
    double *C = calloc((size_t)d * d, sizeof *C), *V = malloc((size_t)d * d * sizeof *V);
    int *order = malloc((size_t)d * sizeof *order);
    if (!C || !V || !order) {
        rc = dc_err_set(e, DC_ENOMEM, "pca_fit: out of memory (d = %d)", d);
        goto out;
    }
    if ((rc = covariance(p, X, n, d, c, C, e)) < 0) goto out;
    pca_eig_sym(C, d, V);
    order_desc(order, C, d, d + 1);
    for (int t = 0; t < c; t++) {
        set_component(p, V, d, order[t], t);
        p->var[t] = C[order[t] * (d + 1)] / (double)n;
    }
out:
    if (rc) pca_free(p);
    free(C);
    free(V);
    free(order);
    return rc;
}

/* Orthonormalises the b columns of V (d, b) in place (modified Gram-Schmidt); a column
 * that vanishes becomes the unit vector e_j of the first coordinate j it is not yet
 * spanning enough (a rank-deficient covariance). */
static void orthonormalise(double *V, int d, int b)
{
    for (int t = 0; t < b; t++) {
        for (int pass = 0; pass < 2; pass++) {
            for (int s = 0; s < t; s++) {
                double dot = 0;
                for (int i = 0; i < d; i++) dot += V[i * b + s] * V[i * b + t];
                for (int i = 0; i < d; i++) V[i * b + t] -= dot * V[i * b + s];
            }
            double nrm = 0;
            for (int i = 0; i < d; i++) nrm += V[i * b + t] * V[i * b + t];
            nrm = sqrt(nrm);
            if (nrm > 1e-150) {
                for (int i = 0; i < d; i++) V[i * b + t] /= nrm;
                break;
            }
            for (int i = 0; i < d; i++) V[i * b + t] = i == (t + pass) % d; /* restart */
        }
    }
}

int pca_fit_top(pca *p, const float *X, size_t n, int d, int c, dc_err *e)
{
    enum { EXTRA = 4, MAX_ITERS = 1000 };
    int rc = 0, b = c + EXTRA < d ? c + EXTRA : d;
    memset(p, 0, sizeof *p);
    if (!X || n == 0 || d < 1 || d > 4096 || c < 1 || c > d)
        return dc_err_set(e, DC_EINVAL, "pca_fit: bad n %zu, d %d or c %d", n, d, c);
    double *C = calloc((size_t)d * d, sizeof *C), *V = malloc((size_t)d * b * sizeof *V),
           *W = malloc((size_t)d * b * sizeof *W), *H = malloc((size_t)b * b * sizeof *H),
           *U = malloc((size_t)b * b * sizeof *U), *prev = calloc((size_t)b, sizeof *prev);
    int *order = malloc((size_t)b * sizeof *order);
    if (!C || !V || !W || !H || !U || !prev || !order) {
        rc = dc_err_set(e, DC_ENOMEM, "pca_fit: out of memory (d = %d)", d);
        goto out;
    }
    if ((rc = covariance(p, X, n, d, c, C, e)) < 0) goto out;
    /* start: the coordinate axes of the b largest variances, plus a small fixed spread
     * so that no start column is orthogonal to a leading component by accident */
    for (int t = 0; t < b; t++) {
        int best = -1;
        for (int i = 0; i < d; i++) {
            int used = 0;
            for (int s = 0; s < t; s++) used |= order[s] == i;
            if (!used && (best < 0 || C[i * (d + 1)] > C[best * (d + 1)])) best = i;
        }
        order[t] = best;
        for (int i = 0; i < d; i++) V[i * b + t] = (i == best) + 1e-3 * cos(0.7 * (i + 1) * (t + 1));
    }
    orthonormalise(V, d, b);
    /* subspace iteration V <- orth(C V) until the Ritz values settle */
    for (int it = 0; it < MAX_ITERS; it++) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, b, d, 1.0, C, d, V, b, 0.0, W,
                    b);
        double change = 0, scale = 0;
        for (int t = 0; t < b; t++) { /* Rayleigh quotients v_t^T C v_t */
            double r = 0;
            for (int i = 0; i < d; i++) r += V[i * b + t] * W[i * b + t];
            change = fmax(change, fabs(r - prev[t]));
            scale = fmax(scale, fabs(r));
            prev[t] = r;
        }
        memcpy(V, W, (size_t)d * b * sizeof *V);
        orthonormalise(V, d, b);
        if (it > 2 && change <= 1e-12 * scale) break;
    }
    /* Rayleigh-Ritz: H = V^T C V (b, b), its eigenvectors U rotate V */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, b, d, 1.0, C, d, V, b, 0.0, W, b);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, b, b, d, 1.0, V, b, W, b, 0.0, H, b);
    for (int i = 0; i < b; i++)
        for (int j = 0; j < i; j++) H[i * b + j] = H[j * b + i] = (H[i * b + j] + H[j * b + i]) / 2;
    pca_eig_sym(H, b, U);
    order_desc(order, H, b, b + 1);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, b, b, 1.0, V, b, U, b, 0.0, W, b);
    for (int t = 0; t < c; t++) {
        set_component(p, W, b, order[t], t);
        p->var[t] = H[order[t] * (b + 1)] / (double)n;
    }
out:
    if (rc) pca_free(p);
    free(C), free(V), free(W), free(H), free(U), free(prev), free(order);
    return rc;
}

int pca_transform(const pca *p, const float *X, size_t n, float *Y, dc_err *e)
{
    enum { ROWS = 1024 };
    int d = p->d, c = p->c;
    float *Xc = malloc((size_t)ROWS * d * sizeof *Xc);
    if (!Xc) return dc_err_set(e, DC_ENOMEM, "pca_transform: out of memory (d = %d)", d);
    /* Y = (X - mean) W, by blocks. */
    for (size_t r0 = 0; r0 < n; r0 += ROWS) {
        size_t m = n - r0 < ROWS ? n - r0 : ROWS;
        for (size_t i = 0; i < m; i++)
            for (int j = 0; j < d; j++) Xc[i * d + j] = (float)(X[(r0 + i) * d + j] - p->mean[j]);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, c, d, 1.0f, Xc, d, p->W,
                    c, 0.0f, Y + r0 * c, c);
    }
    free(Xc);
    return 0;
}
