/* umap_knn: exact k nearest neighbours for UMAP (see umap.h).
 *
 * Screening: the data are centred on X's column means (smaller norms, less cancellation);
 * then for a block of query rows and a chunk of KNN_COLS data rows one cblas_sgemm gives
 * -2 q.x, to which ||x||^2 + ||q||^2 is added (clamped at 0). Each query keeps a sorted
 * list of its K = k + KNN_PAD best candidates by (float distance, index). Refinement:
 * the candidates' squared distances are recomputed from the raw (uncentred) rows in
 * double, sorted by (distance, index) and the first k kept, so the output matches the
 * naive reference unless the float screening misorders points across a gap of KNN_PAD
 * ranks. Memory per thread: block_rows x (KNN_COLS + 2 K) values.
 */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "umap_internal.h"

#define KNN_COLS 2048
#define KNN_PAD 8

/* One thread's share: the query rows [q0, q0 + m) against all of X. */
typedef struct knn_part {
    struct knn_ws *w;
    size_t q0, m;
    float *D;  /* (block_rows, KNN_COLS) GEMM output */
    float *cd; /* (block_rows, K) candidate squared distances, ascending */
    int *ci;   /* (block_rows, K) candidate indices */
} knn_part;

typedef struct knn_ws {
    const float *X, *Q;   /* raw rows (n, d) and (nq, d), borrowed (Q == X for self) */
    const float *Xc, *Qc; /* centred rows */
    const float *xsq, *qsq; /* squared norms of the centred rows */
    size_t n;
    int d, k, K, self;
    int *idx;   /* (nq, k) out */
    float *dist; /* (nq, k) out */
} knn_ws;

static void sqnorms(const float *A, size_t m, int d, float *out)
{
    for (size_t i = 0; i < m; i++) {
        const float *a = A + i * d;
        double s = 0;
        for (int j = 0; j < d; j++) s += (double)a[j] * a[j];
        out[i] = (float)s;
    }
}

/* Squared Euclidean distance from differences, in double (the exact path). */
static double exact_d2(const float *a, const float *b, int d)
{
    double s = 0;
    for (int j = 0; j < d; j++) {
        double t = (double)a[j] - b[j];
        s += t * t;
    }
    return s;
}

/* Inserts (v, j) into the ascending list (cd, ci) of length K, dropping the last. Equal
 * distances keep the earlier entry first (the caller scans j upwards). */
static void insert_f(float *cd, int *ci, int K, float v, int j)
{
    int p = K - 1;
    while (p > 0 && cd[p - 1] > v) {
        cd[p] = cd[p - 1];
        ci[p] = ci[p - 1];
        p--;
    }
    cd[p] = v;
    ci[p] = j;
}

/* The same in double with explicit (distance, index) order, for unsorted input. */
static void insert_d(double *bd, int *bi, int len, int K, double v, int j)
{
    if (len >= K && !(v < bd[K - 1] || (v == bd[K - 1] && j < bi[K - 1]))) return;
    int p = len < K ? len : K - 1;
    while (p > 0 && (bd[p - 1] > v || (bd[p - 1] == v && bi[p - 1] > j))) {
        bd[p] = bd[p - 1];
        bi[p] = bi[p - 1];
        p--;
    }
    bd[p] = v;
    bi[p] = j;
}

static void *part_run(void *arg)
{
    knn_part *pt = arg;
    knn_ws *w = pt->w;
    int d = w->d, K = w->K;
    size_t m = pt->m, q0 = pt->q0;
    for (size_t i = 0; i < m * (size_t)K; i++) {
        pt->cd[i] = INFINITY;
        pt->ci[i] = INT_MAX;
    }
    for (size_t c0 = 0; c0 < w->n; c0 += KNN_COLS) {
        size_t nc = w->n - c0 < KNN_COLS ? w->n - c0 : KNN_COLS;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)nc, d, -2.0f,
                    w->Qc + q0 * d, d, w->Xc + c0 * d, d, 0.0f, pt->D, (int)nc);
        const float *xs = w->xsq + c0;
        for (size_t r = 0; r < m; r++) {
            float *Dr = pt->D + r * nc, *cd = pt->cd + r * K;
            int *ci = pt->ci + r * K;
            size_t qi = q0 + r;
            if (w->self && qi >= c0 && qi < c0 + nc) Dr[qi - c0] = INFINITY;
            float qs = w->qsq[qi], worst = cd[K - 1];
            for (size_t c = 0; c < nc; c++) {
                float v = Dr[c] + xs[c] + qs;
                if (v < worst) {
                    insert_f(cd, ci, K, v > 0 ? v : 0, (int)(c0 + c));
                    worst = cd[K - 1];
                }
            }
        }
    }
    /* Refine: exact distances of the candidates, keep the k best by (distance, index). */
    double bd[1024 + KNN_PAD];
    int bi[1024 + KNN_PAD];
    for (size_t r = 0; r < m; r++) {
        size_t qi = q0 + r;
        const float *q = w->Q + qi * d;
        const int *ci = pt->ci + r * K;
        int len = 0;
        for (int t = 0; t < K && ci[t] != INT_MAX; t++) {
            insert_d(bd, bi, len, K, exact_d2(q, w->X + (size_t)ci[t] * d, d), ci[t]);
            if (len < K) len++;
        }
        int *oi = w->idx + qi * w->k;
        float *od = w->dist + qi * w->k;
        for (int t = 0; t < w->k; t++) {
            oi[t] = bi[t];
            od[t] = (float)sqrt(bd[t]);
        }
    }
    return NULL;
}

static int knn_check(const float *X, size_t n, int d, const float *Q, size_t nq, int k,
                     const int *idx, const float *dist, dc_err *e)
{
    if (!X || !idx || !dist) return dc_err_set(e, DC_EINVAL, "umap_knn: NULL argument");
    if (n < 1 || d < 1 || n > (size_t)INT_MAX)
        return dc_err_set(e, DC_EINVAL, "umap_knn: need 1 <= n <= %d and d >= 1 (got n = %zu, d = %d)",
                          INT_MAX, n, d);
    if (Q && nq > (size_t)INT_MAX)
        return dc_err_set(e, DC_EINVAL, "umap_knn: nq = %zu is too large", nq);
    size_t avail = Q ? n : n - 1;
    if (k < 1 || k > 1024 || (size_t)k > avail)
        return dc_err_set(e, DC_EINVAL, "umap_knn: k must be in 1..%zu (got %d)",
                          avail < 1024 ? avail : 1024, k);
    size_t rows = Q ? nq : n;
    if ((size_t)d > SIZE_MAX / sizeof(float) / n || (rows && (size_t)k > SIZE_MAX / sizeof(float) / rows))
        return dc_err_set(e, DC_EINVAL, "umap_knn: n x d or nq x k overflows");
    return 0;
}

int umap__knn(const float *X, size_t n, int d, const float *Q, size_t nq, int k, int n_threads,
              int block_rows, umap_progress_fn progress, void *user, int stage, long done0,
              long total, int *idx, float *dist, dc_err *e)
{
    int rc = knn_check(X, n, d, Q, nq, k, idx, dist, e);
    if (rc) return rc;
    if (n_threads < 1 || n_threads > 256)
        return dc_err_set(e, DC_EINVAL, "umap_knn: n_threads must be in 1..256 (got %d)", n_threads);
    if (block_rows < 1 || block_rows > 65536)
        return dc_err_set(e, DC_EINVAL, "umap_knn: block_rows must be in 1..65536 (got %d)", block_rows);
    knn_ws w = {0};
    knn_part parts[256];
    memset(parts, 0, sizeof parts);
    int self = Q == NULL;
    if (self) nq = n;
    if (nq == 0) return 0;
    size_t B = (size_t)block_rows < nq ? (size_t)block_rows : nq;
    size_t nblocks = (nq + B - 1) / B;
    int T = (size_t)n_threads < nblocks ? n_threads : (int)nblocks;
    size_t avail = self ? n - 1 : n;
    int K = (size_t)(k + KNN_PAD) < avail ? k + KNN_PAD : (int)avail;
    double *mean = calloc((size_t)d, sizeof *mean);
    float *Xc = malloc(n * d * sizeof *Xc), *xsq = malloc(n * sizeof *xsq);
    float *Qc = self ? Xc : malloc(nq * d * sizeof *Qc), *qsq = self ? xsq : malloc(nq * sizeof *qsq);
    int oom = !mean || !Xc || !xsq || !Qc || !qsq;
    for (int t = 0; t < T && !oom; t++) {
        parts[t].w = &w;
        parts[t].D = malloc(B * KNN_COLS * sizeof(float));
        parts[t].cd = malloc(B * K * sizeof(float));
        parts[t].ci = malloc(B * K * sizeof(int));
        oom |= !parts[t].D || !parts[t].cd || !parts[t].ci;
    }
    if (oom) {
        rc = dc_err_set(e, DC_ENOMEM, "umap_knn: out of memory (n = %zu, d = %d, block_rows = %zu)", n, d, B);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mean[j] += X[i * d + j];
    for (int j = 0; j < d; j++) mean[j] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) Xc[i * d + j] = (float)(X[i * d + j] - mean[j]);
    sqnorms(Xc, n, d, xsq);
    if (!self) {
        for (size_t i = 0; i < nq; i++)
            for (int j = 0; j < d; j++) Qc[i * d + j] = (float)(Q[i * d + j] - mean[j]);
        sqnorms(Qc, nq, d, qsq);
    }
    w.X = X;
    w.Q = self ? X : Q;
    w.Xc = Xc;
    w.Qc = Qc;
    w.xsq = xsq;
    w.qsq = qsq;
    w.n = n;
    w.d = d;
    w.k = k;
    w.K = K;
    w.self = self;
    w.idx = idx;
    w.dist = dist;
    for (size_t b0 = 0; b0 < nblocks; b0 += (size_t)T) {
        pthread_t th[256];
        int started[256] = {0}, used = 0;
        for (int t = 0; t < T && b0 + t < nblocks; t++, used++) {
            parts[t].q0 = (b0 + t) * B;
            parts[t].m = nq - parts[t].q0 < B ? nq - parts[t].q0 : B;
        }
        for (int t = 1; t < used; t++) started[t] = pthread_create(&th[t], NULL, part_run, &parts[t]) == 0;
        part_run(&parts[0]);
        for (int t = 1; t < used; t++) {
            if (started[t]) pthread_join(th[t], NULL);
            else part_run(&parts[t]);
        }
        long done = total < 0 ? (long)(b0 + used) : done0, tot = total < 0 ? (long)nblocks : total;
        if (progress && progress(user, stage, done, tot)) {
            rc = dc_err_set(e, DC_ECANCEL, "umap: cancelled during the kNN (block %ld of %ld)",
                            (long)(b0 + used), (long)nblocks);
            goto out;
        }
    }
out:
    for (int t = 0; t < T; t++) {
        free(parts[t].D);
        free(parts[t].cd);
        free(parts[t].ci);
    }
    free(mean);
    if (Qc != Xc) free(Qc);
    if (qsq != xsq) free(qsq);
    free(Xc);
    free(xsq);
    return rc;
}

int umap_knn(const float *X, size_t n, int d, const float *Q, size_t nq, int k, int n_threads,
             int block_rows, umap_progress_fn progress, void *user, int *idx, float *dist,
             dc_err *e)
{
    return umap__knn(X, n, d, Q, nq, k, n_threads, block_rows, progress, user, UMAP_STAGE_KNN, 0,
                     -1, idx, dist, e);
}

int umap_knn_naive(const float *X, size_t n, int d, const float *Q, size_t nq, int k, int *idx,
                   float *dist, dc_err *e)
{
    int rc = knn_check(X, n, d, Q, nq, k, idx, dist, e);
    if (rc) return rc;
    int self = Q == NULL;
    if (self) {
        Q = X;
        nq = n;
    }
    double *bd = malloc((size_t)k * sizeof *bd);
    int *bi = malloc((size_t)k * sizeof *bi);
    if (!bd || !bi) {
        rc = dc_err_set(e, DC_ENOMEM, "umap_knn_naive: out of memory");
        goto out;
    }
    for (size_t i = 0; i < nq; i++) {
        int len = 0;
        for (size_t j = 0; j < n; j++) {
            if (self && j == i) continue;
            insert_d(bd, bi, len, k, exact_d2(Q + i * d, X + j * d, d), (int)j);
            if (len < k) len++;
        }
        for (int t = 0; t < k; t++) {
            idx[i * k + t] = bi[t];
            dist[i * k + t] = (float)sqrt(bd[t]);
        }
    }
out:
    free(bd);
    free(bi);
    return rc;
}
