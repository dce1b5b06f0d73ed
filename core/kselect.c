#include "kselect.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gmm.h"
#include "kmeans.h"
#include "metrics.h"
#include "rng.h"

/* Labels in 0..k-1, cluster sizes into cnt (k); returns the number of non-empty
 * clusters, or a negative code. */
static int count_labels(const int *labels, size_t n, int k, size_t *cnt, dc_err *e)
{
    memset(cnt, 0, (size_t)k * sizeof *cnt);
    for (size_t i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= k)
            return dc_err_set(e, DC_EINVAL, "kselect: label %d of point %zu is not in 0..%d",
                              labels[i], i, k - 1);
        cnt[labels[i]]++;
    }
    int ne = 0;
    for (int c = 0; c < k; c++) ne += cnt[c] > 0;
    if (ne < 2) return dc_err_set(e, DC_EINVAL, "kselect: need at least 2 non-empty clusters");
    return ne;
}

static int check_args(const float *X, size_t n, int d, const int *labels, int k, dc_err *e)
{
    if (!X || !labels || n < 2 || d < 1 || k < 2)
        return dc_err_set(e, DC_EINVAL, "kselect: need X, labels, n >= 2, d >= 1, k >= 2 "
                          "(n %zu, d %d, k %d)", n, d, k);
    return 0;
}

/* Sample of m indices out of n, drawn with seed (all n in order when m == 0 or m >= n).
 * *idx owned by the caller. */
static int draw_sample(size_t n, size_t m, uint64_t seed, size_t **idx, size_t *m_out)
{
    if (m == 0 || m > n) m = n;
    size_t *all = malloc(n * sizeof *all);
    if (!all) return DC_ENOMEM;
    for (size_t i = 0; i < n; i++) all[i] = i;
    if (m < n) {
        rng g;
        rng_seed(&g, seed);
        for (size_t i = 0; i < m; i++) { /* partial Fisher-Yates */
            size_t j = i + (size_t)rng_below(&g, n - i), t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
    }
    *idx = all;
    *m_out = m;
    return 0;
}

/* Silhouettes of L labellings (labs[l] (n) with ks[l] clusters and sizes cnts[l]) over
 * the sample idx (m): out[l]. Distances from each sample point to all n points are
 * computed once, in double. */
static int silhouette_multi(const float *X, size_t n, int d, const int *const *labs,
                            const int *ks, size_t *const *cnts, int L, const size_t *idx,
                            size_t m, double *out)
{
    int kmax = 0;
    for (int l = 0; l < L; l++)
        if (ks[l] > kmax) kmax = ks[l];
    double *dist = malloc(n * sizeof *dist), *sum = malloc((size_t)kmax * sizeof *sum);
    if (!dist || !sum) {
        free(dist);
        free(sum);
        return DC_ENOMEM;
    }
    for (int l = 0; l < L; l++) out[l] = 0;
    for (size_t s = 0; s < m; s++) {
        const float *xi = X + idx[s] * (size_t)d;
        for (size_t j = 0; j < n; j++) {
            const float *xj = X + j * (size_t)d;
            double acc = 0;
            for (int t = 0; t < d; t++) {
                double df = (double)xi[t] - (double)xj[t];
                acc += df * df;
            }
            dist[j] = sqrt(acc);
        }
        for (int l = 0; l < L; l++) {
            const int *lab = labs[l];
            const size_t *cnt = cnts[l];
            int k = ks[l], own = lab[idx[s]];
            memset(sum, 0, (size_t)k * sizeof *sum);
            for (size_t j = 0; j < n; j++) sum[lab[j]] += dist[j];
            if (cnt[own] <= 1) continue; /* a singleton's silhouette is 0 */
            double a = sum[own] / (double)(cnt[own] - 1), b = INFINITY;
            for (int c = 0; c < k; c++)
                if (c != own && cnt[c] > 0 && sum[c] / (double)cnt[c] < b) b = sum[c] / (double)cnt[c];
            double mx = a > b ? a : b;
            if (mx > 0) out[l] += (b - a) / mx;
        }
    }
    for (int l = 0; l < L; l++) out[l] /= (double)m;
    free(dist);
    free(sum);
    return 0;
}

int kselect_silhouette(const float *X, size_t n, int d, const int *labels, int k, size_t m,
                       uint64_t seed, double *out, dc_err *e)
{
    size_t *cnt = NULL, *idx = NULL, ms = 0;
    int rc = check_args(X, n, d, labels, k, e);
    if (rc) goto out;
    cnt = malloc((size_t)k * sizeof *cnt);
    if (!cnt) {
        rc = dc_err_set(e, DC_ENOMEM, "kselect: out of memory");
        goto out;
    }
    rc = count_labels(labels, n, k, cnt, e);
    if (rc < 0) goto out;
    rc = draw_sample(n, m, seed, &idx, &ms);
    if (rc == 0) rc = silhouette_multi(X, n, d, &labels, &k, &cnt, 1, idx, ms, out);
    if (rc) dc_err_set(e, rc, "kselect: out of memory");
out:
    free(cnt);
    free(idx);
    return rc < 0 ? rc : 0;
}

/* Centroids (k, d) in double and sizes (k) of a labelling. */
static int centroids(const float *X, size_t n, int d, const int *labels, int k, double **cen,
                     size_t **cnt, dc_err *e)
{
    *cen = calloc((size_t)k * d, sizeof **cen);
    *cnt = malloc((size_t)k * sizeof **cnt);
    if (!*cen || !*cnt) return dc_err_set(e, DC_ENOMEM, "kselect: out of memory");
    int rc = count_labels(labels, n, k, *cnt, e);
    if (rc < 0) return rc;
    for (size_t i = 0; i < n; i++)
        for (int t = 0; t < d; t++) (*cen)[(size_t)labels[i] * d + t] += X[i * (size_t)d + t];
    for (int c = 0; c < k; c++)
        if ((*cnt)[c])
            for (int t = 0; t < d; t++) (*cen)[(size_t)c * d + t] /= (double)(*cnt)[c];
    return rc;
}

int kselect_calinski_harabasz(const float *X, size_t n, int d, const int *labels, int k,
                              double *out, dc_err *e)
{
    double *cen = NULL, *mean = NULL;
    size_t *cnt = NULL;
    int rc = check_args(X, n, d, labels, k, e), ne;
    if (rc) goto out;
    ne = rc = centroids(X, n, d, labels, k, &cen, &cnt, e);
    if (rc < 0) goto out;
    rc = 0;
    mean = calloc((size_t)d, sizeof *mean);
    if (!mean) {
        rc = dc_err_set(e, DC_ENOMEM, "kselect: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        for (int t = 0; t < d; t++) mean[t] += X[i * (size_t)d + t];
    for (int t = 0; t < d; t++) mean[t] /= (double)n;
    double between = 0, within = 0;
    for (int c = 0; c < k; c++)
        for (int t = 0; t < d; t++) {
            double df = cen[(size_t)c * d + t] - mean[t];
            between += (double)cnt[c] * df * df;
        }
    for (size_t i = 0; i < n; i++)
        for (int t = 0; t < d; t++) {
            double df = X[i * (size_t)d + t] - cen[(size_t)labels[i] * d + t];
            within += df * df;
        }
    if ((size_t)ne >= n) *out = 1; /* n - k = 0: as scikit-learn's within == 0 case */
    else *out = within == 0 ? 1.0 : between * (double)(n - ne) / (within * (double)(ne - 1));
out:
    free(cen);
    free(cnt);
    free(mean);
    return rc;
}

int kselect_davies_bouldin(const float *X, size_t n, int d, const int *labels, int k,
                           double *out, dc_err *e)
{
    double *cen = NULL, *scat = NULL;
    size_t *cnt = NULL;
    int rc = check_args(X, n, d, labels, k, e), ne;
    if (rc) goto out;
    ne = rc = centroids(X, n, d, labels, k, &cen, &cnt, e);
    if (rc < 0) goto out;
    rc = 0;
    scat = calloc((size_t)k, sizeof *scat);
    if (!scat) {
        rc = dc_err_set(e, DC_ENOMEM, "kselect: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        double acc = 0;
        for (int t = 0; t < d; t++) {
            double df = X[i * (size_t)d + t] - cen[(size_t)labels[i] * d + t];
            acc += df * df;
        }
        scat[labels[i]] += sqrt(acc);
    }
    int any_scat = 0, any_sep = 0;
    for (int c = 0; c < k; c++)
        if (cnt[c]) {
            scat[c] /= (double)cnt[c];
            any_scat |= scat[c] != 0;
        }
    double total = 0;
    for (int a = 0; a < k; a++) {
        if (!cnt[a]) continue;
        double worst = 0;
        for (int b = 0; b < k; b++) {
            if (b == a || !cnt[b]) continue;
            double acc = 0;
            for (int t = 0; t < d; t++) {
                double df = cen[(size_t)a * d + t] - cen[(size_t)b * d + t];
                acc += df * df;
            }
            if (acc == 0) continue; /* coinciding centroids: scikit-learn's inf distance */
            any_sep = 1;
            double r = (scat[a] + scat[b]) / sqrt(acc);
            if (r > worst) worst = r;
        }
        total += worst;
    }
    *out = (!any_scat || !any_sep) ? 0.0 : total / ne;
out:
    free(cen);
    free(cnt);
    free(scat);
    return rc;
}

int kselect_stability(const int *const *labels, int L, size_t n, double *out, dc_err *e)
{
    if (!labels || L < 2 || n == 0)
        return dc_err_set(e, DC_EINVAL, "kselect: stability needs >= 2 labellings of n > 0 "
                          "points (got %d, n %zu)", L, n);
    double sum = 0;
    long pairs = 0;
    for (int a = 0; a < L; a++)
        for (int b = a + 1; b < L; b++) {
            double ari;
            int rc = metrics_ari(labels[a], labels[b], n, &ari, e);
            if (rc) return rc;
            sum += ari;
            pairs++;
        }
    *out = sum / (double)pairs;
    return 0;
}

/* ------------------------------------------------------------------ suggestion */

void kselect_opts_default(kselect_opts *o)
{
    memset(o, 0, sizeof *o);
    o->k_min = 2;
    o->k_max = 10;
    o->n_seeds = 3;
    o->kmeans_n_init = 10;
    o->sample = 1000;
    o->n_threads = 1;
}

/* Index of the best finite value of field f (sign +1: highest, -1: lowest); ties to
 * the smaller k; -1 if none. */
static int best_row(const kselect_row *rows, int n_rows, size_t off, int sign)
{
    int b = -1;
    double bv = 0;
    for (int r = 0; r < n_rows; r++) {
        double v = *(const double *)((const char *)&rows[r] + off) * sign;
        if (!isfinite(v)) continue;
        if (b < 0 || v > bv || (v == bv && rows[r].k < rows[b].k)) {
            b = r;
            bv = v;
        }
    }
    return b;
}

int kselect_suggest(const kselect_row *rows, int n_rows, kselect_suggestion *out, dc_err *e)
{
    memset(out, 0, sizeof *out);
    if (!rows || n_rows < 1) return dc_err_set(e, DC_EINVAL, "kselect: no rows to suggest from");
    int bs = -1;
    for (int r = 0; r < n_rows; r++) {
        const kselect_row *w = &rows[r];
        if (!isfinite(w->sil_best) || !isfinite(w->ch_best)) continue;
        if (bs < 0 || w->sil_best > rows[bs].sil_best ||
            (w->sil_best == rows[bs].sil_best && w->k < rows[bs].k))
            bs = r;
    }
    if (bs < 0) return dc_err_set(e, DC_EINVAL, "kselect: no row has a finite silhouette and CH");
    double top = rows[bs].sil_best, lo = top - fabs(top) * KSELECT_SIL_SLACK;
    int pick = bs;
    for (int r = 0; r < n_rows; r++) {
        const kselect_row *w = &rows[r];
        if (!isfinite(w->sil_best) || !isfinite(w->ch_best) || w->k < rows[bs].k ||
            w->sil_best < lo)
            continue;
        if (w->ch_best > rows[pick].ch_best || (w->ch_best == rows[pick].ch_best && w->k < rows[pick].k))
            pick = r;
    }
    int bc = best_row(rows, n_rows, offsetof(kselect_row, ch_best), 1);
    int bd = best_row(rows, n_rows, offsetof(kselect_row, db), -1);
    int bb = best_row(rows, n_rows, offsetof(kselect_row, bic), -1);
    int bst = best_row(rows, n_rows, offsetof(kselect_row, stability), 1);
    out->k = rows[pick].k;
    out->k_sil = rows[bs].k;
    out->k_ch = bc >= 0 ? rows[bc].k : 0;
    out->k_db = bd >= 0 ? rows[bd].k : 0;
    out->k_bic = bb >= 0 ? rows[bb].k : 0;
    if (bst >= 0) { /* largest k whose stability is within 0.01 of the best */
        out->k_stab = rows[bst].k;
        for (int r = 0; r < n_rows; r++)
            if (isfinite(rows[r].stability) && rows[r].stability >= rows[bst].stability - 0.01 &&
                rows[r].k > out->k_stab)
                out->k_stab = rows[r].k;
    }
    int n;
    if (pick == bs)
        n = snprintf(out->reason, sizeof out->reason,
                     "k = %d: best silhouette (%.3f), and no larger k with a silhouette within "
                     "%.0f%% of it has a higher Calinski-Harabasz",
                     rows[bs].k, top, 100 * KSELECT_SIL_SLACK);
    else
        n = snprintf(out->reason, sizeof out->reason,
                     "k = %d: silhouette %.3f, within %.0f%% of the best (%.3f at k = %d), and "
                     "the highest Calinski-Harabasz (%.4g) among such k >= %d",
                     rows[pick].k, rows[pick].sil_best, 100 * KSELECT_SIL_SLACK, top, rows[bs].k,
                     rows[pick].ch_best, rows[bs].k);
    if (n > 0 && (size_t)n < sizeof out->reason) {
        char votes[160];
        int v = snprintf(votes, sizeof votes, ". Votes: silhouette %d, Calinski-Harabasz %d",
                         out->k_sil, out->k_ch);
        if (out->k_db) v += snprintf(votes + v, sizeof votes - v, ", Davies-Bouldin %d", out->k_db);
        if (out->k_bic) v += snprintf(votes + v, sizeof votes - v, ", BIC %d", out->k_bic);
        if (out->k_stab) snprintf(votes + v, sizeof votes - v, ", stability up to %d", out->k_stab);
        snprintf(out->reason + n, sizeof out->reason - n, "%s.", votes);
    }
    return 0;
}

static void mean_std(const double *v, int m, double *mean, double *sd)
{
    double s = 0, q = 0;
    for (int i = 0; i < m; i++) s += v[i];
    s /= m;
    for (int i = 0; i < m; i++) q += (v[i] - s) * (v[i] - s);
    *mean = s;
    *sd = sqrt(q / m);
}

int kselect_row_from_fits(int k, const kselect_fit *fits, int n_fits, const int *const *labels,
                          size_t n, kselect_row *row, dc_err *e)
{
    if (!fits || !row || n_fits < 1 || n_fits > 64)
        return dc_err_set(e, DC_EINVAL, "kselect: a row needs 1..64 fits (k %d, got %d)", k, n_fits);
    double v[3][64];
    int m = n_fits;
    memset(row, 0, sizeof *row);
    row->k = k;
    row->n_seeds = n_fits;
    row->bic = NAN;
    int bs = 0;
    for (int s = 0; s < m; s++) {
        v[0][s] = fits[s].sil;
        v[1][s] = fits[s].ch;
        v[2][s] = fits[s].db;
        if (fits[s].sil > fits[bs].sil) bs = s;
        if (isfinite(fits[s].bic) && !(fits[s].bic >= row->bic)) row->bic = fits[s].bic;
    }
    mean_std(v[0], m, &row->sil, &row->sil_std);
    mean_std(v[1], m, &row->ch, &row->ch_std);
    mean_std(v[2], m, &row->db, &row->db_std);
    row->sil_best = fits[bs].sil;
    row->ch_best = fits[bs].ch;
    row->stability = NAN;
    if (labels && n_fits >= 2) return kselect_stability(labels, n_fits, n, &row->stability, e);
    return 0;
}

int kselect_run(const float *X, size_t n, int d, const kselect_opts *o, kselect_row *rows,
                kselect_suggestion *out, dc_err *e)
{
    int rc = 0, nk = 0, S = 0;
    int **labs = NULL, *ks = NULL;
    size_t **cnts = NULL, *idx = NULL, ms = 0;
    double *sil = NULL, *ch = NULL, *db = NULL;
    if (!X || !o || !rows || d < 1 || o->k_min < 2 || o->k_max < o->k_min ||
        (size_t)o->k_max >= n || o->n_seeds < 1 || o->n_seeds > 64 || o->kmeans_n_init < 1 || o->n_threads < 1) {
        rc = dc_err_set(e, DC_EINVAL, "kselect: need 2 <= k_min <= k_max < n, 1 <= n_seeds <= 64, "
                        "kmeans_n_init >= 1, n_threads >= 1 (k %d..%d, n %zu, seeds %d)",
                        o ? o->k_min : 0, o ? o->k_max : 0, n, o ? o->n_seeds : 0);
        goto out;
    }
    nk = o->k_max - o->k_min + 1;
    S = o->n_seeds;
    int L = nk * S;
    labs = calloc((size_t)L, sizeof *labs);
    cnts = calloc((size_t)L, sizeof *cnts);
    ks = malloc((size_t)L * sizeof *ks);
    sil = malloc((size_t)L * sizeof *sil);
    ch = malloc((size_t)L * sizeof *ch);
    db = malloc((size_t)L * sizeof *db);
    if (!labs || !cnts || !ks || !sil || !ch || !db) {
        rc = dc_err_set(e, DC_ENOMEM, "kselect: out of memory");
        goto out;
    }
    for (int ki = 0; ki < nk; ki++) {
        int k = o->k_min + ki;
        for (int s = 0; s < S; s++) {
            int l = ki * S + s;
            kmeans_opts ko;
            kmeans_opts_default(&ko);
            ko.n_init = o->kmeans_n_init;
            ko.seed = o->seed + (uint64_t)s;
            ko.n_threads = o->n_threads;
            kmeans_result kr;
            rc = kmeans_fit(X, n, d, k, &ko, &kr, e);
            if (rc) goto out;
            labs[l] = kr.labels; /* take ownership of the labels only */
            kr.labels = NULL;
            kmeans_result_free(&kr);
            ks[l] = k;
            cnts[l] = malloc((size_t)k * sizeof **cnts);
            if (!cnts[l]) {
                rc = dc_err_set(e, DC_ENOMEM, "kselect: out of memory");
                goto out;
            }
            count_labels(labs[l], n, k, cnts[l], NULL); /* < 2 non-empty: CH/DB report it */
            if ((rc = kselect_calinski_harabasz(X, n, d, labs[l], k, &ch[l], e)) ||
                (rc = kselect_davies_bouldin(X, n, d, labs[l], k, &db[l], e)))
                goto out;
        }
    }
    rc = draw_sample(n, o->sample, o->seed, &idx, &ms);
    if (!rc) rc = silhouette_multi(X, n, d, (const int *const *)labs, ks, cnts, L, idx, ms, sil);
    if (rc) {
        dc_err_set(e, rc, "kselect: out of memory");
        goto out;
    }
    for (int ki = 0; ki < nk; ki++) {
        kselect_fit fits[64];
        for (int s = 0; s < S; s++) {
            int l = ki * S + s;
            fits[s] = (kselect_fit){sil[l], ch[l], db[l], NAN};
        }
        if (o->use_gmm) { /* one mixture per k, its BIC on the first seed's row */
            gmm_opts go;
            gmm_opts_default(&go);
            go.seed = o->seed;
            go.n_threads = o->n_threads;
            gmm_result gr;
            rc = gmm_fit(X, n, d, o->k_min + ki, &go, &gr, e);
            if (rc) goto out;
            fits[0].bic = gr.bic;
            gmm_result_free(&gr);
        }
        rc = kselect_row_from_fits(o->k_min + ki, fits, S, (const int *const *)labs + ki * S, n,
                                   &rows[ki], e);
        if (rc) goto out;
    }
    if (out) rc = kselect_suggest(rows, nk, out, e);
out:
    for (int l = 0; labs && l < nk * S; l++) {
        free(labs[l]);
        if (cnts) free(cnts[l]);
    }
    free(labs);
    free(cnts);
    free(ks);
    free(idx);
    free(sil);
    free(ch);
    free(db);
    return rc;
}

/* ------------------------------------------------------------------ consensus */

/* map (k): id of lab -> id of ref, maximising the overlap. */
static int align(const int *lab, const int *ref, size_t n, int k, long *cnt, double *cost,
                 int *map, dc_err *e)
{
    memset(cnt, 0, (size_t)k * k * sizeof *cnt);
    for (size_t i = 0; i < n; i++) cnt[(size_t)lab[i] * k + ref[i]]++;
    for (size_t i = 0; i < (size_t)k * k; i++) cost[i] = -(double)cnt[i];
    return metrics_hungarian(cost, k, k, map, e);
}

int kselect_consensus(const int *const *labels, int L, size_t n, int k, int *consensus,
                      double *agreement, dc_err *e)
{
    int rc = 0;
    long *cnt = NULL;
    double *cost = NULL, *ari = NULL;
    int *map = NULL, *votes = NULL, *prev = NULL;
    if (!labels || !consensus || L < 1 || n == 0 || k < 1) {
        rc = dc_err_set(e, DC_EINVAL, "kselect: consensus needs L >= 1 labellings of n > 0 "
                        "points and k >= 1 (L %d, n %zu, k %d)", L, n, k);
        goto out;
    }
    for (int l = 0; l < L; l++) {
        if (!labels[l]) {
            rc = dc_err_set(e, DC_EINVAL, "kselect: labelling %d is NULL", l);
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            if (labels[l][i] < 0 || labels[l][i] >= k) {
                rc = dc_err_set(e, DC_EINVAL, "kselect: labelling %d: label %d of point %zu is "
                                "not in 0..%d", l, labels[l][i], i, k - 1);
                goto out;
            }
    }
    cnt = malloc((size_t)k * k * sizeof *cnt);
    cost = malloc((size_t)k * k * sizeof *cost);
    map = malloc((size_t)L * k * sizeof *map);
    votes = malloc((size_t)k * sizeof *votes);
    prev = malloc(n * sizeof *prev);
    ari = calloc((size_t)L * L, sizeof *ari);
    if (!cnt || !cost || !map || !votes || !prev || !ari) {
        rc = dc_err_set(e, DC_ENOMEM, "kselect: out of memory");
        goto out;
    }
    /* medoid: highest summed ARI to the others */
    int ref = 0;
    double best = -INFINITY;
    for (int a = 0; a < L; a++) {
        for (int b = a + 1; b < L; b++) {
            if ((rc = metrics_ari(labels[a], labels[b], n, &ari[a * L + b], e))) goto out;
            ari[b * L + a] = ari[a * L + b];
        }
    }
    for (int a = 0; a < L; a++) {
        double s = 0;
        for (int b = 0; b < L; b++) s += b == a ? 0 : ari[a * L + b];
        if (s > best) {
            best = s;
            ref = a;
        }
    }
    memcpy(prev, labels[ref], n * sizeof *prev);
    for (int round = 0; round < 10; round++) {
        for (int l = 0; l < L; l++)
            if ((rc = align(labels[l], prev, n, k, cnt, cost, map + (size_t)l * k, e))) goto out;
        size_t changed = 0;
        for (size_t i = 0; i < n; i++) {
            memset(votes, 0, (size_t)k * sizeof *votes);
            for (int l = 0; l < L; l++) votes[map[(size_t)l * k + labels[l][i]]]++;
            /* prev[i] stays if it has the most votes; otherwise the first (smallest) id
               with the most votes: every id before it has fewer, so it replaces win */
            int win = prev[i];
            for (int c = 0; c < k; c++)
                if (votes[c] > votes[win]) win = c;
            consensus[i] = win;
            changed += win != prev[i];
        }
        memcpy(prev, consensus, n * sizeof *prev);
        if (changed == 0) break; /* the alignment would not change either */
    }
    if (agreement)
        for (int l = 0; l < L; l++)
            if ((rc = metrics_ari(labels[l], consensus, n, &agreement[l], e))) goto out;
out:
    free(cnt);
    free(cost);
    free(map);
    free(votes);
    free(prev);
    free(ari);
    return rc;
}
