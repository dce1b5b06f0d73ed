#include "metrics.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Sorted distinct values of v (n) into *ids (owned), count in *m. */
static int unique_ids(const int *v, size_t n, int **ids, int *m)
{
    int *u = malloc(n * sizeof *u);
    if (!u) return DC_ENOMEM;
    memcpy(u, v, n * sizeof *u);
    qsort(u, n, sizeof *u, cmp_int);
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || u[i] != u[w - 1]) u[w++] = u[i];
    int *s = realloc(u, w * sizeof *s);
    *ids = s ? s : u;
    *m = (int)w;
    return 0;
}

static int find_id(const int *ids, int m, int v)
{
    int lo = 0, hi = m - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (ids[mid] == v) return mid;
        if (ids[mid] < v) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

void metrics_confusion_free(metrics_confusion *cm)
{
    if (!cm) return;
    free(cm->counts);
    free(cm->pred_ids);
    free(cm->true_ids);
    memset(cm, 0, sizeof *cm);
}

int metrics_confusion_build(const int *pred, const int *truth, size_t n, metrics_confusion *cm,
                            dc_err *e)
{
    int rc = 0;
    memset(cm, 0, sizeof *cm);
    if (!pred || !truth || n == 0) {
        rc = dc_err_set(e, DC_EINVAL, "metrics: need n > 0 labels (got n = %zu)", n);
        goto out;
    }
    if (n > (size_t)INT32_MAX) {
        rc = dc_err_set(e, DC_EINVAL, "metrics: n = %zu is too large", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (pred[i] < 0 || truth[i] < 0) {
            rc = dc_err_set(e, DC_EINVAL, "metrics: label ids must be >= 0 (sample %zu: pred %d, true %d)",
                            i, pred[i], truth[i]);
            goto out;
        }
    }
    if (unique_ids(pred, n, &cm->pred_ids, &cm->k) || unique_ids(truth, n, &cm->true_ids, &cm->c)) {
        rc = dc_err_set(e, DC_ENOMEM, "metrics: out of memory");
        goto out;
    }
    cm->counts = calloc((size_t)cm->k * (size_t)cm->c, sizeof *cm->counts);
    if (!cm->counts) {
        rc = dc_err_set(e, DC_ENOMEM, "metrics: out of memory for a %d x %d confusion matrix", cm->k,
                        cm->c);
        goto out;
    }
    cm->n = n;
    for (size_t i = 0; i < n; i++) {
        int r = find_id(cm->pred_ids, cm->k, pred[i]), c = find_id(cm->true_ids, cm->c, truth[i]);
        cm->counts[(size_t)r * cm->c + c]++;
    }
out:
    if (rc) metrics_confusion_free(cm);
    return rc;
}

/* Shortest augmenting path (Jonker-Volgenant style potentials), rows <= cols.
 * a (rows, cols); rowcol (rows) gets the column of each row. O(rows^2 * cols). */
static int hungarian_wide(const double *a, int rows, int cols, int *rowcol)
{
    int rc = DC_ENOMEM;
    double *u = calloc((size_t)rows + 1, sizeof *u), *v = calloc((size_t)cols + 1, sizeof *v);
    double *minv = malloc(((size_t)cols + 1) * sizeof *minv);
    int *p = calloc((size_t)cols + 1, sizeof *p), *way = calloc((size_t)cols + 1, sizeof *way);
    char *used = malloc((size_t)cols + 1);
    if (!u || !v || !minv || !p || !way || !used) goto out;
    /* 1-based: p[j] = row matched to column j (0 = none); column 0 is the virtual start. */
    for (int i = 1; i <= rows; i++) {
        p[0] = i;
        int j0 = 0;
        for (int j = 0; j <= cols; j++) {
            minv[j] = INFINITY;
            used[j] = 0;
        }
        do {
            used[j0] = 1;
            int i0 = p[j0], j1 = 0;
            double delta = INFINITY;
            for (int j = 1; j <= cols; j++) {
                if (used[j]) continue;
                double cur = a[(size_t)(i0 - 1) * cols + (j - 1)] - u[i0] - v[j];
                if (cur < minv[j]) {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if (minv[j] < delta) {
                    delta = minv[j];
                    j1 = j;
                }
            }
            for (int j = 0; j <= cols; j++) {
                if (used[j]) {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
        } while (p[j0] != 0);
        do {
            int j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0);
    }
    for (int i = 0; i < rows; i++) rowcol[i] = -1;
    for (int j = 1; j <= cols; j++)
        if (p[j]) rowcol[p[j] - 1] = j - 1;
    rc = 0;
out:
    free(u);
    free(v);
    free(minv);
    free(p);
    free(way);
    free(used);
    return rc;
}

int metrics_hungarian(const double *cost, int rows, int cols, int *assign, dc_err *e)
{
    int rc = 0;
    double *t = NULL;
    int *colrow = NULL;
    if (!cost || !assign || rows < 1 || cols < 1) {
        rc = dc_err_set(e, DC_EINVAL, "hungarian: need a cost matrix of at least 1 x 1 (got %d x %d)",
                        rows, cols);
        goto out;
    }
    for (size_t i = 0; i < (size_t)rows * cols; i++) {
        if (!isfinite(cost[i])) {
            rc = dc_err_set(e, DC_EINVAL, "hungarian: cost[%zu] is not finite", i);
            goto out;
        }
    }
    if (rows <= cols) {
        if (hungarian_wide(cost, rows, cols, assign)) rc = DC_ENOMEM;
        goto out;
    }
    /* Tall: solve the transpose (cols rows, rows columns), then invert the matching. */
    t = malloc((size_t)rows * cols * sizeof *t);
    colrow = malloc((size_t)cols * sizeof *colrow);
    if (!t || !colrow) {
        rc = DC_ENOMEM;
        goto out;
    }
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) t[(size_t)c * rows + r] = cost[(size_t)r * cols + c];
    if (hungarian_wide(t, cols, rows, colrow)) {
        rc = DC_ENOMEM;
        goto out;
    }
    for (int r = 0; r < rows; r++) assign[r] = -1;
    for (int c = 0; c < cols; c++) assign[colrow[c]] = c;
out:
    if (rc == DC_ENOMEM) dc_err_set(e, rc, "hungarian: out of memory (%d x %d)", rows, cols);
    free(t);
    free(colrow);
    return rc;
}

int metrics_acc_cm(const metrics_confusion *cm, double *acc, int *assign, dc_err *e)
{
    int rc = 0, k = cm->k, c = cm->c;
    double *cost = malloc((size_t)k * c * sizeof *cost);
    int *as = assign ? assign : malloc((size_t)k * sizeof *as);
    if (!cost || !as) {
        rc = dc_err_set(e, DC_ENOMEM, "metrics: out of memory");
        goto out;
    }
    for (size_t i = 0; i < (size_t)k * c; i++) cost[i] = -(double)cm->counts[i];
    rc = metrics_hungarian(cost, k, c, as, e);
    if (rc) goto out;
    long hit = 0;
    for (int i = 0; i < k; i++)
        if (as[i] >= 0) hit += cm->counts[(size_t)i * c + as[i]];
    *acc = (double)hit / (double)cm->n;
out:
    free(cost);
    if (as != assign) free(as);
    return rc;
}

/* Entropy (nats) of a distribution given by integer counts summing to n. */
static double entropy_counts(const long *cnt, int m, double n)
{
    double h = 0;
    for (int i = 0; i < m; i++)
        if (cnt[i] > 0) h -= (cnt[i] / n) * (log((double)cnt[i]) - log(n));
    return h;
}

/* Row sums a (k) and column sums b (c) of the confusion matrix; caller frees *a, *b. */
static int marginals(const metrics_confusion *cm, long **a, long **b)
{
    *a = calloc((size_t)cm->k, sizeof **a);
    *b = calloc((size_t)cm->c, sizeof **b);
    if (!*a || !*b) {
        free(*a);
        free(*b);
        *a = *b = NULL;
        return DC_ENOMEM;
    }
    for (int i = 0; i < cm->k; i++)
        for (int j = 0; j < cm->c; j++) {
            long v = cm->counts[(size_t)i * cm->c + j];
            (*a)[i] += v;
            (*b)[j] += v;
        }
    return 0;
}

double metrics_nmi_cm(const metrics_confusion *cm)
{
    if (cm->k == 1 && cm->c == 1) return 1.0; /* neither labeling splits the data */
    long *a = NULL, *b = NULL;
    if (marginals(cm, &a, &b)) return NAN;
    double n = (double)cm->n, mi = 0, nmi;
    for (int i = 0; i < cm->k; i++)
        for (int j = 0; j < cm->c; j++) {
            long v = cm->counts[(size_t)i * cm->c + j];
            if (!v) continue;
            /* (n_ij/n) * log(n * n_ij / (a_i b_j)), as scikit-learn's mutual_info_score */
            double t = (v / n) * (log((double)v) - log(n)) +
                       (v / n) * (-log((double)a[i] * (double)b[j]) + 2.0 * log(n));
            if (fabs(t) < DBL_EPSILON) t = 0;
            mi += t;
        }
    if (mi < 0) mi = 0;
    if (mi == 0) {
        nmi = 0.0;
    } else {
        double hp = entropy_counts(a, cm->k, n), ht = entropy_counts(b, cm->c, n);
        nmi = mi / ((hp + ht) / 2.0);
    }
    free(a);
    free(b);
    return nmi;
}

double metrics_ari_cm(const metrics_confusion *cm)
{
    long *a = NULL, *b = NULL;
    if (marginals(cm, &a, &b)) return NAN;
    /* Pair confusion matrix as scikit-learn's pair_confusion_matrix (ordered pairs). */
    int64_t n = (int64_t)cm->n, sq = 0, sa = 0, sb = 0;
    for (size_t i = 0; i < (size_t)cm->k * cm->c; i++) sq += (int64_t)cm->counts[i] * cm->counts[i];
    for (int i = 0; i < cm->k; i++) sa += (int64_t)a[i] * a[i];
    for (int j = 0; j < cm->c; j++) sb += (int64_t)b[j] * b[j];
    free(a);
    free(b);
    int64_t tp = sq - n, fp = sa - sq, fn = sb - sq, tn = n * n - fp - fn - sq;
    if (fn == 0 && fp == 0) return 1.0;
    /* Products reach n^4: evaluate in long double to keep them exact enough. */
    long double num = (long double)tp * tn - (long double)fn * fp;
    long double den = (long double)(tp + fn) * (fn + tn) + (long double)(tp + fp) * (fp + tn);
    return (double)(2.0L * num / den);
}

int metrics_acc(const int *pred, const int *truth, size_t n, double *out, dc_err *e)
{
    metrics_confusion cm;
    int rc = metrics_confusion_build(pred, truth, n, &cm, e);
    if (rc) goto out;
    rc = metrics_acc_cm(&cm, out, NULL, e);
out:
    metrics_confusion_free(&cm);
    return rc;
}

int metrics_nmi(const int *pred, const int *truth, size_t n, double *out, dc_err *e)
{
    metrics_confusion cm;
    int rc = metrics_confusion_build(pred, truth, n, &cm, e);
    if (rc) goto out;
    *out = metrics_nmi_cm(&cm);
    if (isnan(*out)) rc = dc_err_set(e, DC_ENOMEM, "metrics: out of memory");
out:
    metrics_confusion_free(&cm);
    return rc;
}

int metrics_ari(const int *pred, const int *truth, size_t n, double *out, dc_err *e)
{
    metrics_confusion cm;
    int rc = metrics_confusion_build(pred, truth, n, &cm, e);
    if (rc) goto out;
    *out = metrics_ari_cm(&cm);
    if (isnan(*out)) rc = dc_err_set(e, DC_ENOMEM, "metrics: out of memory");
out:
    metrics_confusion_free(&cm);
    return rc;
}

int metrics_all(const int *pred, const int *truth, size_t n, metrics_scores *out, dc_err *e)
{
    metrics_confusion cm;
    int rc = metrics_confusion_build(pred, truth, n, &cm, e);
    if (rc) goto out;
    rc = metrics_acc_cm(&cm, &out->acc, NULL, e);
    if (rc) goto out;
    out->nmi = metrics_nmi_cm(&cm);
    out->ari = metrics_ari_cm(&cm);
    if (isnan(out->nmi) || isnan(out->ari)) rc = dc_err_set(e, DC_ENOMEM, "metrics: out of memory");
out:
    metrics_confusion_free(&cm);
    return rc;
}
