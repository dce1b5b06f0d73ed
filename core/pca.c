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

int pca_fit(pca *p, const float *X, size_t n, int d, int c, dc_err *e)
{
    int rc = 0;
    enum { ROWS = 1024 };
    memset(p, 0, sizeof *p);
    if (!X || n == 0 || d < 1 || d > 4096 || c < 1 || c > d)
        return dc_err_set(e, DC_EINVAL, "pca_fit: bad n %zu, d %d or c %d", n, d, c);
    double *C = calloc((size_t)d * d, sizeof *C), *V = malloc((size_t)d * d * sizeof *V),
           *buf = malloc((size_t)ROWS * d * sizeof *buf);
    int *order = malloc((size_t)d * sizeof *order);
    p->d = d;
    p->c = c;
    p->mean = calloc((size_t)d, sizeof *p->mean);
    p->W = malloc((size_t)d * c * sizeof *p->W);
    p->var = malloc((size_t)c * sizeof *p->var);
    if (!C || !V || !buf || !order || !p->mean || !p->W || !p->var) {
        rc = dc_err_set(e, DC_ENOMEM, "pca_fit: out of memory (d = %d)", d);
        goto out;
    }
    double *mean = p->mean;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mean[j] += X[i * d + j];
    for (int j = 0; j < d; j++) mean[j] /= (double)n;
    /* C = sum (x - mean)(x - mean)^T, upper triangle, by blocks of rows in double. */
    for (size_t r0 = 0; r0 < n; r0 += ROWS) {
        size_t m = n - r0 < ROWS ? n - r0 : ROWS;
        for (size_t i = 0; i < m; i++)
            for (int j = 0; j < d; j++) buf[i * d + j] = X[(r0 + i) * d + j] - mean[j];
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, (int)m, 1.0, buf, d, 1.0, C, d);
    }
    for (int i = 0; i < d; i++)
        for (int j = 0; j < i; j++) C[i * d + j] = C[j * d + i];
    pca_eig_sym(C, d, V);
    for (int i = 0; i < d; i++) order[i] = i;
    for (int i = 1; i < d; i++) { /* eigenvalues descending, stable */
        int o = order[i], q = i;
        while (q > 0 && C[order[q - 1] * (d + 1)] < C[o * (d + 1)]) {
            order[q] = order[q - 1];
            q--;
        }
        order[q] = o;
    }
    for (int t = 0; t < c; t++) {
        int col = order[t], big = 0;
        for (int i = 1; i < d; i++)
            if (fabs(V[i * d + col]) > fabs(V[big * d + col])) big = i;
        double sg = V[big * d + col] < 0 ? -1 : 1;
        for (int i = 0; i < d; i++) p->W[i * c + t] = (float)(sg * V[i * d + col]);
        p->var[t] = C[col * (d + 1)] / (double)n;
    }
out:
    if (rc) pca_free(p);
    free(C);
    free(V);
    free(buf);
    free(order);
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
