/* umap_graph: from a kNN to UMAP's fuzzy graph, and the a/b curve fit (see umap.h).
 *
 * smooth_knn_dist, compute_membership_strengths and the fuzzy union follow umap-learn's
 * umap_.py; find_ab_params' scipy curve_fit is replaced by a small Levenberg-Marquardt
 * with the analytic Jacobian, in double.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "umap_internal.h"

#define SMOOTH_K_TOLERANCE 1e-5
#define MIN_K_DIST_SCALE 1e-3
#define SMOOTH_N_ITER 64

void umap_smooth_knn_dist(const float *dist, size_t n, int K, double target_k,
                          double local_connectivity, double *sigma, double *rho, double *psum_out)
{
    double target = log2(target_k);
    double mean_all = 0;
    for (size_t i = 0; i < n * (size_t)K; i++) mean_all += dist[i];
    mean_all /= (double)n * K;
    int index = (int)floor(local_connectivity);
    double interp = local_connectivity - index;
    for (size_t i = 0; i < n; i++) {
        const float *di = dist + i * K;
        /* rho: umap's interpolation into the non-zero distances (ascending). */
        int nz0 = 0, nnz = 0;
        while (nz0 < K && !(di[nz0] > 0)) nz0++;
        for (int j = 0; j < K; j++) nnz += di[j] > 0;
        double r = 0;
        if (nnz >= local_connectivity) {
            if (index > 0) {
                r = di[nz0 + index - 1];
                if (interp > SMOOTH_K_TOLERANCE && nz0 + index < K)
                    r += interp * ((double)di[nz0 + index] - di[nz0 + index - 1]);
            } else if (nz0 < K) { /* local_connectivity < 1 */
                r = interp * di[nz0];
            }
        } else if (nnz > 0) {
            r = di[K - 1]; /* the largest non-zero distance */
        }
        double lo = 0, hi = INFINITY, mid = 1, psum = 0;
        for (int it = 0; it < SMOOTH_N_ITER; it++) {
            psum = 0;
            for (int j = 1; j < K; j++) {
                double dd = di[j] - r;
                psum += dd > 0 ? exp(-(dd / mid)) : 1.0;
            }
            if (fabs(psum - target) < SMOOTH_K_TOLERANCE) break;
            if (psum > target) {
                hi = mid;
                mid = (lo + hi) / 2;
            } else {
                lo = mid;
                if (isinf(hi)) mid *= 2;
                else mid = (lo + hi) / 2;
            }
        }
        if (psum_out) { /* the sum at the returned mid (the loop may end after moving it) */
            psum = 0;
            for (int j = 1; j < K; j++) {
                double dd = di[j] - r;
                psum += dd > 0 ? exp(-(dd / mid)) : 1.0;
            }
            psum_out[i] = psum;
        }
        if (r > 0) {
            double mean_i = 0;
            for (int j = 0; j < K; j++) mean_i += di[j];
            mean_i /= K;
            if (mid < MIN_K_DIST_SCALE * mean_i) mid = MIN_K_DIST_SCALE * mean_i;
        } else if (mid < MIN_K_DIST_SCALE * mean_all) {
            mid = MIN_K_DIST_SCALE * mean_all;
        }
        sigma[i] = mid;
        rho[i] = r;
    }
}

void umap__membership(const int *idx, const float *dist, size_t n, int K, const double *sigma,
                      const double *rho, int bipartite, float *w)
{
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < K; j++) {
            size_t t = i * K + j;
            double dd = dist[t] - rho[i];
            if (!bipartite && (size_t)idx[t] == i) w[t] = 0;
            else if (dd <= 0 || sigma[i] == 0) w[t] = 1;
            else w[t] = (float)exp(-(dd / sigma[i]));
        }
}

void umap_graph_free(umap_graph *g)
{
    if (!g) return;
    free(g->rowptr);
    free(g->col);
    free(g->w);
    memset(g, 0, sizeof *g);
}

/* Sorts row segments of (col, w) by column: insertion sort, rows are short. */
static void sort_rows(const size_t *rowptr, size_t n, int *col, float *w)
{
    for (size_t i = 0; i < n; i++)
        for (size_t p = rowptr[i] + 1; p < rowptr[i + 1]; p++) {
            int c = col[p];
            float v = w[p];
            size_t q = p;
            while (q > rowptr[i] && col[q - 1] > c) {
                col[q] = col[q - 1];
                w[q] = w[q - 1];
                q--;
            }
            col[q] = c;
            w[q] = v;
        }
}

int umap_fuzzy_graph(const int *idx, const float *dist, size_t n, int K, umap_graph *g, dc_err *e)
{
    int rc = 0;
    size_t nk = n * (size_t)K;
    memset(g, 0, sizeof *g);
    double *sigma = malloc(n * sizeof *sigma), *rho = malloc(n * sizeof *rho);
    float *wk = malloc(nk * sizeof *wk);
    /* A (CSR, rows sorted) and its transpose. */
    size_t *ap = calloc(n + 1, sizeof *ap), *tp = calloc(n + 1, sizeof *tp), *fill = NULL;
    int *ac = malloc(nk * sizeof *ac), *tc = malloc(nk * sizeof *tc);
    float *aw = malloc(nk * sizeof *aw), *tw = malloc(nk * sizeof *tw);
    fill = malloc(n * sizeof *fill);
    if (!sigma || !rho || !wk || !ap || !tp || !ac || !tc || !aw || !tw || !fill) {
        rc = dc_err_set(e, DC_ENOMEM, "umap: out of memory for the graph (n = %zu, K = %d)", n, K);
        goto out;
    }
    umap_smooth_knn_dist(dist, n, K, (double)K, 1.0, sigma, rho, NULL);
    umap__membership(idx, dist, n, K, sigma, rho, 0, wk);
    for (size_t i = 0; i < n; i++) {
        ap[i + 1] = ap[i];
        for (int j = 0; j < K; j++) {
            size_t t = i * K + j;
            if (wk[t] == 0) continue; /* eliminate_zeros */
            ac[ap[i + 1]] = idx[t];
            aw[ap[i + 1]] = wk[t];
            ap[i + 1]++;
            tp[idx[t] + 1]++;
        }
    }
    sort_rows(ap, n, ac, aw);
    for (size_t i = 0; i < n; i++) tp[i + 1] += tp[i];
    memcpy(fill, tp, n * sizeof *fill);
    for (size_t i = 0; i < n; i++) /* rows in order: the transpose's rows come out sorted */
        for (size_t p = ap[i]; p < ap[i + 1]; p++) {
            size_t q = fill[ac[p]]++;
            tc[q] = (int)i;
            tw[q] = aw[p];
        }
    /* Union row by row: merge the sorted rows of A and A^T. */
    size_t cap = ap[n] + tp[n];
    g->n = n;
    g->rowptr = malloc((n + 1) * sizeof *g->rowptr);
    g->col = malloc((cap ? cap : 1) * sizeof *g->col);
    g->w = malloc((cap ? cap : 1) * sizeof *g->w);
    if (!g->rowptr || !g->col || !g->w) {
        rc = dc_err_set(e, DC_ENOMEM, "umap: out of memory for the graph (%zu edges)", cap);
        goto out;
    }
    size_t o = 0;
    g->rowptr[0] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t p = ap[i], q = tp[i];
        while (p < ap[i + 1] || q < tp[i + 1]) {
            int c;
            double a = 0, t = 0;
            if (q >= tp[i + 1] || (p < ap[i + 1] && ac[p] < tc[q])) {
                c = ac[p];
                a = aw[p++];
            } else if (p >= ap[i + 1] || tc[q] < ac[p]) {
                c = tc[q];
                t = tw[q++];
            } else {
                c = ac[p];
                a = aw[p++];
                t = tw[q++];
            }
            float v = (float)(a + t - a * t);
            if (v == 0) continue;
            g->col[o] = c;
            g->w[o] = v;
            o++;
        }
        g->rowptr[i + 1] = o;
    }
    g->nnz = o;
out:
    free(sigma);
    free(rho);
    free(wk);
    free(ap);
    free(tp);
    free(ac);
    free(tc);
    free(aw);
    free(tw);
    free(fill);
    if (rc) umap_graph_free(g);
    return rc;
}

void umap__graph_prune(umap_graph *g, double epochs)
{
    float mx = 0;
    for (size_t p = 0; p < g->nnz; p++)
        if (g->w[p] > mx) mx = g->w[p];
    float thr = (float)(mx / epochs);
    size_t o = 0, start = 0;
    for (size_t i = 0; i < g->n; i++) {
        size_t end = g->rowptr[i + 1];
        for (size_t p = start; p < end; p++) {
            if (g->w[p] < thr) continue;
            g->col[o] = g->col[p];
            g->w[o] = g->w[p];
            o++;
        }
        start = end;
        g->rowptr[i + 1] = o;
    }
    g->nnz = o;
}

/* ---- a, b -------------------------------------------------------------------------- */

#define AB_POINTS 300

/* Sum of squared residuals of 1 / (1 + a x^(2b)) against y; with J, also J^T J (3 values:
 * aa, ab, bb) and J^T r (2). */
static double ab_cost(const double *x, const double *y, double a, double b, double *JtJ,
                      double *Jtr)
{
    double c = 0;
    if (JtJ) JtJ[0] = JtJ[1] = JtJ[2] = Jtr[0] = Jtr[1] = 0;
    for (int i = 0; i < AB_POINTS; i++) {
        double u = x[i] > 0 ? pow(x[i], 2 * b) : 0;
        double f = 1 / (1 + a * u), r = f - y[i];
        c += r * r;
        if (!JtJ) continue;
        double ja = -u * f * f;
        double jb = x[i] > 0 ? -a * f * f * u * 2 * log(x[i]) : 0;
        JtJ[0] += ja * ja;
        JtJ[1] += ja * jb;
        JtJ[2] += jb * jb;
        Jtr[0] += ja * r;
        Jtr[1] += jb * r;
    }
    return c;
}

int umap_find_ab(double spread, double min_dist, double *a_out, double *b_out, dc_err *e)
{
    if (!(spread > 0) || !isfinite(spread) || !(min_dist >= 0) || !isfinite(min_dist))
        return dc_err_set(e, DC_EINVAL, "umap_find_ab: need spread > 0 and min_dist >= 0 (got %g, %g)",
                          spread, min_dist);
    double x[AB_POINTS], y[AB_POINTS];
    for (int i = 0; i < AB_POINTS; i++) {
        x[i] = 3 * spread * i / (AB_POINTS - 1); /* np.linspace(0, 3 spread, 300) */
        y[i] = x[i] < min_dist ? 1.0 : exp(-(x[i] - min_dist) / spread);
    }
    double a = 1, b = 1, lambda = 1e-3, JtJ[3], Jtr[2];
    double cost = ab_cost(x, y, a, b, JtJ, Jtr);
    for (int it = 0; it < 500 && lambda < 1e12; it++) {
        /* (J^T J + lambda diag(J^T J)) step = -J^T r */
        double m00 = JtJ[0] * (1 + lambda), m11 = JtJ[2] * (1 + lambda), m01 = JtJ[1];
        double det = m00 * m11 - m01 * m01;
        if (!(det > 0)) {
            lambda *= 10;
            continue;
        }
        double da = -(m11 * Jtr[0] - m01 * Jtr[1]) / det;
        double db = -(m00 * Jtr[1] - m01 * Jtr[0]) / det;
        double na = a + da, nb = b + db;
        double nc = na > 0 && nb > 0 ? ab_cost(x, y, na, nb, NULL, NULL) : INFINITY;
        if (nc < cost) {
            int small = fabs(da) <= 1e-12 * (fabs(a) + 1e-12) && fabs(db) <= 1e-12 * (fabs(b) + 1e-12);
            double rel = (cost - nc) / (cost > 0 ? cost : 1);
            a = na;
            b = nb;
            cost = ab_cost(x, y, a, b, JtJ, Jtr);
            lambda = lambda / 10 > 1e-12 ? lambda / 10 : 1e-12;
            if (small || rel < 1e-15) break;
        } else {
            lambda *= 10;
        }
    }
    if (!isfinite(a) || !isfinite(b) || !(a > 0) || !(b > 0))
        return dc_err_set(e, DC_ENUMERIC, "umap_find_ab: fit failed (spread %g, min_dist %g)", spread,
                          min_dist);
    *a_out = a;
    *b_out = b;
    return 0;
}
