#include "kmeans.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dc_blas.h"
#include "rng.h"

void kmeans_opts_default(kmeans_opts *o)
{
    memset(o, 0, sizeof *o);
    o->n_init = 20;
    o->max_iter = 300;
    o->tol = 1e-4;
    o->seed = 0;
    o->block_rows = 4096;
    o->n_threads = 1;
}

void kmeans_result_free(kmeans_result *res)
{
    if (!res) return;
    free(res->centroids);
    free(res->labels);
    memset(res, 0, sizeof *res);
}

/* Per-thread scratch and partial results of one pass over rows [r0, r1). */
typedef struct km_part {
    struct km_ws *w;
    size_t r0, r1;
    float *D;       /* (max(k, L), B) GEMM output, D[j*m + i] = -2 x_i . c_j */
    int *idx;       /* (B) argmin scratch */
    double *sums;   /* (k, d) sums of the rows assigned to each cluster */
    float *fsum;    /* (k, d) float sums of the current run of ACC_ROWS rows, else 0 */
    char *touched;  /* (k) clusters with non-zero fsum */
    long *counts;   /* (k) */
    double acc;     /* partial inertia */
    size_t changed; /* partial count of changed labels */
} km_part;

enum { OP_ASSIGN, OP_ASSIGN_UPDATE, OP_DIST, OP_INERTIA };

/* Workspace of one kmeans_fit call. Sizes in comments; all owned except X. */
typedef struct km_ws {
    const float *X; /* (n, d) borrowed */
    size_t n;
    int d, k, B, L; /* B rows per block, L k-means++ candidates */
    int T;          /* threads / parts */
    int split;      /* row threads while OpenBLAS has several: slice the GEMMs (dist_gemm) */
    km_part *parts; /* (T) */
    float *xsq;     /* (n) ||x_i||^2 */
    float *C;       /* (k, d) current centroids */
    float *Cn;      /* (max(k, L), d) next centroids; k-means++ candidates */
    float *csq;     /* (k) ||c_j||^2 */
    int *labels;    /* (n) current labels */
    float *mind;    /* (n) squared distance to the assigned centroid */
    double *closest; /* (n) k-means++: squared distance to the nearest chosen centre */
    double *cum;    /* (n) k-means++: running sum of closest */
    float *cand;    /* (L, n) k-means++: squared distances to the candidates */
    /* the job of the current pass */
    int op;
    const float *P, *psq; /* OP_DIST: p points (p, d) and their norms (p) */
    int p;
    float *out;           /* OP_DIST: (p, n) */
} km_ws;

static void ws_free(km_ws *w)
{
    if (w->parts)
        for (int t = 0; t < w->T; t++) {
            free(w->parts[t].D);
            free(w->parts[t].idx);
            free(w->parts[t].sums);
            free(w->parts[t].fsum);
            free(w->parts[t].touched);
            free(w->parts[t].counts);
        }
    free(w->parts);
    free(w->xsq);
    free(w->C);
    free(w->Cn);
    free(w->csq);
    free(w->labels);
    free(w->mind);
    free(w->closest);
    free(w->cum);
    free(w->cand);
}

/* Squared norms of the m rows of A (m, d), summed in double. */
static void row_sqnorms(const float *A, size_t m, int d, float *out)
{
    for (size_t i = 0; i < m; i++) {
        const float *a = A + i * d;
        double s = 0;
        for (int j = 0; j < d; j++) s += (double)a[j] * a[j];
        out[i] = (float)s;
    }
}

/* OpenBLAS runs a GEMM on the calling thread, without its pool, when m x n x k is at most
 * this (SMP_THRESHOLD_MIN x GEMM_MULTITHREAD_THRESHOLD: 65536 x 4 in its default build). */
enum { KM_GEMM_1T_MAX = 65536 * 4 };

/* D (p, m) = -2 P Xb^T for P (p, d) and the m rows Xb (m, d): the long dimension m is the
 * GEMM's vector dimension. With split (the row threads of a threaded fit), as GEMMs over
 * slices of the rows, each small enough for OpenBLAS to run on the calling thread: the
 * threads then never queue on OpenBLAS' process-wide pool, nobody has to change its
 * thread count, and each element comes out as from one single-threaded GEMM over the
 * block (columns of D do not depend on each other). A p x d over the limit (huge k x d)
 * cannot be split so: its GEMMs use OpenBLAS' threads. */
static void dist_gemm(const float *P, int p, const float *Xb, size_t m, int d, float *D,
                      int split)
{
    size_t step = m;
    if (split) {
        step = KM_GEMM_1T_MAX / ((size_t)p * (size_t)d);
        if (step < 1) step = 1;
    }
    for (size_t i = 0; i < m; i += step) {
        size_t mm = m - i < step ? m - i : step;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p, (int)mm, d, -2.0f, P, d,
                    Xb + i * (size_t)d, d, 0.0f, D + i, (int)m);
    }
}

/* Nearest of the k centroids C (k, d), norms csq (k), for the m rows Xb (m, d) with
 * norms xsqb (m). D (k, m) and idx (m) are scratch. Writes lab (m) and mind (m);
 * returns the sum of mind. If changed is not NULL, adds to it the rows whose label
 * differs from the one already in lab. Ties go to the lowest index. */
static double assign_block(const float *Xb, const float *xsqb, size_t m, int d, const float *C,
                           const float *csq, int k, float *D, int *idx, int *lab, float *mind,
                           size_t *changed, int split)
{
    dist_gemm(C, k, Xb, m, d, D, split); /* D = -2 C X^T */
    for (size_t i = 0; i < m; i++) {
        mind[i] = D[i] + csq[0];
        idx[i] = 0;
    }
    for (int j = 1; j < k; j++) {
        const float *row = D + (size_t)j * m;
        float cj = csq[j];
        for (size_t i = 0; i < m; i++) {
            float v = row[i] + cj;
            if (v < mind[i]) {
                mind[i] = v;
                idx[i] = j;
            }
        }
    }
    double tot = 0;
    size_t ch = 0;
    for (size_t i = 0; i < m; i++) {
        float dist = mind[i] + xsqb[i];
        if (!(dist > 0)) dist = 0; /* float cancellation can dip below 0 */
        mind[i] = dist;
        tot += dist;
        if (changed) ch += lab[i] != idx[i];
        lab[i] = idx[i];
    }
    if (changed) *changed += ch;
    return tot;
}

/* Rows summed in float before a flush into the double sums: short enough that float
 * rounding stays ~1e-6 relative, long enough that the flush costs little. */
#define ACC_ROWS 256

/* s (d) += x (d). Written in fixed runs of 8 so that -O2 vectorises it. */
static void add_row(float *restrict s, const float *restrict x, int d)
{
    int j = 0;
    for (; j + 8 <= d; j += 8)
        for (int u = 0; u < 8; u++) s[j + u] += x[j + u];
    for (; j < d; j++) s[j] += x[j];
}

/* One part's share of the current pass (w->op). */
static void *part_run(void *arg)
{
    km_part *pt = arg;
    km_ws *w = pt->w;
    int d = w->d, k = w->k;
    pt->acc = 0;
    pt->changed = 0;
    if (w->op == OP_ASSIGN_UPDATE) {
        memset(pt->sums, 0, (size_t)k * d * sizeof *pt->sums);
        memset(pt->counts, 0, (size_t)k * sizeof *pt->counts);
    }
    for (size_t r0 = pt->r0; r0 < pt->r1; r0 += (size_t)w->B) {
        size_t m = pt->r1 - r0 < (size_t)w->B ? pt->r1 - r0 : (size_t)w->B;
        const float *Xb = w->X + r0 * d;
        if (w->op == OP_ASSIGN || w->op == OP_ASSIGN_UPDATE) {
            pt->acc += assign_block(Xb, w->xsq + r0, m, d, w->C, w->csq, k, pt->D, pt->idx,
                                    w->labels + r0, w->mind + r0, &pt->changed, w->split);
            if (w->op != OP_ASSIGN_UPDATE) continue;
            /* Sums: float within runs of ACC_ROWS rows (vectorises), then into double. */
            for (size_t s0 = 0; s0 < m; s0 += ACC_ROWS) {
                size_t s1 = m - s0 < ACC_ROWS ? m : s0 + ACC_ROWS;
                for (size_t i = s0; i < s1; i++) {
                    int l = w->labels[r0 + i];
                    add_row(pt->fsum + (size_t)l * d, Xb + i * d, d);
                    pt->touched[l] = 1;
                    pt->counts[l]++;
                }
                for (int l = 0; l < k; l++) {
                    if (!pt->touched[l]) continue;
                    float *f = pt->fsum + (size_t)l * d;
                    double *ds = pt->sums + (size_t)l * d;
                    for (int j = 0; j < d; j++) ds[j] += f[j];
                    memset(f, 0, (size_t)d * sizeof *f);
                    pt->touched[l] = 0;
                }
            }
        } else if (w->op == OP_DIST) {
            int p = w->p;
            dist_gemm(w->P, p, Xb, m, d, pt->D, w->split);
            for (int t = 0; t < p; t++) {
                const float *row = pt->D + (size_t)t * m;
                float *o = w->out + (size_t)t * w->n + r0;
                float pq = w->psq[t];
                for (size_t i = 0; i < m; i++) {
                    float v = row[i] + pq + w->xsq[r0 + i];
                    o[i] = v > 0 ? v : 0;
                }
            }
        } else { /* OP_INERTIA: exact, from differences, in double */
            for (size_t i = 0; i < m; i++) {
                const float *x = Xb + i * d, *c = w->C + (size_t)w->labels[r0 + i] * d;
                double s = 0;
                for (int j = 0; j < d; j++) {
                    double t = (double)x[j] - c[j];
                    s += t * t;
                }
                pt->acc += s;
            }
        }
    }
    return NULL;
}

/* Runs pass op over all rows, one part per thread (part 0 on the caller). A thread that
 * cannot be started has its part run on the caller instead. */
static void run_parts(km_ws *w, int op)
{
    pthread_t th[256];
    int started[256] = {0};
    w->op = op;
    for (int t = 1; t < w->T; t++)
        started[t] = pthread_create(&th[t], NULL, part_run, &w->parts[t]) == 0;
    part_run(&w->parts[0]);
    for (int t = 1; t < w->T; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        else part_run(&w->parts[t]);
    }
}

/* One pass over X against w->C: labels, mind, and (if update) sums and counts, reduced
 * into part 0 in part order. Returns the inertia of the assignment; *changed = labels
 * that changed. */
static double lloyd_pass(km_ws *w, int update, size_t *changed)
{
    row_sqnorms(w->C, (size_t)w->k, w->d, w->csq);
    run_parts(w, update ? OP_ASSIGN_UPDATE : OP_ASSIGN);
    double tot = 0;
    *changed = 0;
    km_part *p0 = &w->parts[0];
    size_t kd = (size_t)w->k * w->d;
    for (int t = 0; t < w->T; t++) {
        km_part *pt = &w->parts[t];
        tot += pt->acc;
        *changed += pt->changed;
        if (!update || t == 0) continue;
        for (size_t i = 0; i < kd; i++) p0->sums[i] += pt->sums[i];
        for (int j = 0; j < w->k; j++) p0->counts[j] += pt->counts[j];
    }
    return tot;
}

/* Next centroids into w->Cn from the sums and counts of part 0. An empty cluster takes
 * the point farthest from its centroid (among points whose cluster keeps at least one
 * other member), and that point leaves its old cluster's sum. Returns the summed squared
 * centroid shift. */
static double update_centroids(km_ws *w)
{
    int d = w->d, k = w->k;
    double *sums = w->parts[0].sums;
    long *counts = w->parts[0].counts;
    for (int j = 0; j < k; j++) {
        if (counts[j] > 0) continue;
        size_t far = 0;
        float fd = -1;
        for (size_t i = 0; i < w->n; i++)
            if (w->mind[i] > fd && counts[w->labels[i]] > 1) {
                fd = w->mind[i];
                far = i;
            }
        /* Always found: the non-empty clusters hold n >= k points, so one has a spare. */
        const float *x = w->X + far * d;
        int old = w->labels[far];
        double *so = sums + (size_t)old * d, *sj = sums + (size_t)j * d;
        for (int t = 0; t < d; t++) {
            so[t] -= x[t];
            sj[t] = x[t];
        }
        counts[old]--;
        counts[j] = 1;
        w->mind[far] = -1; /* taken */
    }
    double shift = 0;
    for (int j = 0; j < k; j++) {
        double inv = 1.0 / (double)counts[j];
        const double *s = sums + (size_t)j * d;
        float *cn = w->Cn + (size_t)j * d;
        const float *c = w->C + (size_t)j * d;
        for (int t = 0; t < d; t++) {
            cn[t] = (float)(s[t] * inv);
            double diff = (double)cn[t] - c[t];
            shift += diff * diff;
        }
    }
    return shift;
}

/* Squared distances from every row of X to the p points P (p, d) with norms psq (p),
 * into out (p, n) (row t: distances to P[t]), clamped at 0. */
static void dist_to_points(km_ws *w, const float *P, const float *psq, int p, float *out)
{
    w->P = P;
    w->psq = psq;
    w->p = p;
    w->out = out;
    run_parts(w, OP_DIST);
}

/* Greedy k-means++ (scikit-learn's _kmeans_plusplus) into w->C. */
static void kmeanspp(km_ws *w, rng *g)
{
    size_t n = w->n;
    int d = w->d, k = w->k, L = w->L;
    float psq[64]; /* L <= 2 + ln(INT_MAX) < 24 */
    size_t ids[64];
    size_t c0 = (size_t)rng_below(g, n);
    memcpy(w->C, w->X + c0 * d, (size_t)d * sizeof *w->C);
    psq[0] = w->xsq[c0];
    dist_to_points(w, w->C, psq, 1, w->cand);
    w->cand[c0] = 0;
    double pot = 0;
    for (size_t i = 0; i < n; i++) {
        w->closest[i] = w->cand[i];
        pot += w->closest[i];
    }
    float *cand_pts = w->Cn; /* (L, d) candidate rows; Cn has max(k, L) rows */
    for (int c = 1; c < k; c++) {
        double s = 0;
        for (size_t i = 0; i < n; i++) {
            s += w->closest[i];
            w->cum[i] = s;
        }
        for (int t = 0; t < L; t++) {
            double rv = rng_uniform(g) * pot;
            /* first i with cum[i] >= rv (numpy searchsorted, side left), clipped */
            size_t lo = 0, hi = n;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (w->cum[mid] < rv) lo = mid + 1;
                else hi = mid;
            }
            ids[t] = lo < n ? lo : n - 1;
            memcpy(cand_pts + (size_t)t * d, w->X + ids[t] * d, (size_t)d * sizeof *cand_pts);
            psq[t] = w->xsq[ids[t]];
        }
        dist_to_points(w, cand_pts, psq, L, w->cand);
        int best = 0;
        double best_pot = INFINITY;
        for (int t = 0; t < L; t++) {
            float *ct = w->cand + (size_t)t * n;
            ct[ids[t]] = 0;
            double pt = 0;
            for (size_t i = 0; i < n; i++) pt += ct[i] < w->closest[i] ? ct[i] : w->closest[i];
            if (pt < best_pot) {
                best_pot = pt;
                best = t;
            }
        }
        const float *cb = w->cand + (size_t)best * n;
        for (size_t i = 0; i < n; i++)
            if (cb[i] < w->closest[i]) w->closest[i] = cb[i];
        pot = best_pot;
        memcpy(w->C + (size_t)c * d, w->X + ids[best] * d, (size_t)d * sizeof *w->C);
    }
}

static int validate(const float *X, size_t n, int d, int k, const kmeans_opts *o, dc_err *e)
{
    if (!X || !o) return dc_err_set(e, DC_EINVAL, "kmeans: X and options must not be NULL");
    if (n < 1 || d < 1) return dc_err_set(e, DC_EINVAL, "kmeans: need n >= 1 and d >= 1 (got n = %zu, d = %d)", n, d);
    if (n > (size_t)0x7fffffff) return dc_err_set(e, DC_EINVAL, "kmeans: n = %zu is too large", n);
    if (k < 1 || (size_t)k > n)
        return dc_err_set(e, DC_EINVAL, "kmeans: n_clusters must be in 1..n = %zu (got %d)", n, k);
    if (!o->init && o->n_init < 1) return dc_err_set(e, DC_EINVAL, "kmeans: n_init must be >= 1 (got %d)", o->n_init);
    if (o->max_iter < 1) return dc_err_set(e, DC_EINVAL, "kmeans: max_iter must be >= 1 (got %d)", o->max_iter);
    if (!(o->tol >= 0) || !isfinite(o->tol)) return dc_err_set(e, DC_EINVAL, "kmeans: tol must be finite and >= 0 (got %g)", o->tol);
    if (o->block_rows < 1) return dc_err_set(e, DC_EINVAL, "kmeans: block_rows must be >= 1 (got %d)", o->block_rows);
    if (o->n_threads < 1 || o->n_threads > 256)
        return dc_err_set(e, DC_EINVAL, "kmeans: n_threads must be in 1..256 (got %d)", o->n_threads);
    return 0;
}

/* Mean over features of the population variance of X's columns (scikit-learn's
 * np.mean(np.var(X, axis=0))), in double. */
static double mean_variance(const float *X, size_t n, int d, double *colmean)
{
    memset(colmean, 0, (size_t)d * sizeof *colmean);
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) colmean[j] += X[i * d + j];
    for (int j = 0; j < d; j++) colmean[j] /= (double)n;
    double v = 0;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            double t = X[i * d + j] - colmean[j];
            v += t * t;
        }
    return v / ((double)n * d);
}

int kmeans_fit(const float *X, size_t n, int d, int k, const kmeans_opts *o, kmeans_result *res,
               dc_err *e)
{
    int rc = 0;
    km_ws w = {0};
    memset(res, 0, sizeof *res);
    rc = validate(X, n, d, k, o, e);
    if (rc) goto out;

    w.X = X;
    w.n = n;
    w.d = d;
    w.k = k;
    w.B = (size_t)o->block_rows < n ? o->block_rows : (int)n;
    w.L = 2 + (int)log((double)k);
    w.T = (size_t)o->n_threads < n ? o->n_threads : (int)n;
    w.split = w.T > 1 && dc_blas_threads() > 1; /* one BLAS thread: whole blocks, as always */
    int kl = k > w.L ? k : w.L, need_pp = o->init == NULL, oom = 0;
    double *colmean = malloc((size_t)d * sizeof *colmean);
    w.parts = calloc((size_t)w.T, sizeof *w.parts);
    oom |= !colmean || !w.parts;
    for (int t = 0; t < w.T && !oom; t++) {
        km_part *pt = &w.parts[t];
        pt->w = &w;
        pt->r0 = n * t / w.T;
        pt->r1 = n * (t + 1) / w.T;
        pt->D = malloc((size_t)w.B * kl * sizeof *pt->D);
        pt->idx = malloc((size_t)w.B * sizeof *pt->idx);
        pt->sums = malloc((size_t)k * d * sizeof *pt->sums);
        pt->counts = malloc((size_t)k * sizeof *pt->counts);
        pt->fsum = calloc((size_t)k * d, sizeof *pt->fsum);
        pt->touched = calloc((size_t)k, 1);
        oom |= !pt->D || !pt->idx || !pt->sums || !pt->counts || !pt->fsum || !pt->touched;
    }
    w.xsq = malloc(n * sizeof *w.xsq);
    w.C = malloc((size_t)k * d * sizeof *w.C);
    w.Cn = malloc((size_t)kl * d * sizeof *w.Cn);
    w.csq = malloc((size_t)k * sizeof *w.csq);
    w.labels = malloc(n * sizeof *w.labels);
    w.mind = malloc(n * sizeof *w.mind);
    if (need_pp) {
        w.closest = malloc(n * sizeof *w.closest);
        w.cum = malloc(n * sizeof *w.cum);
        w.cand = malloc((size_t)w.L * n * sizeof *w.cand);
        oom |= !w.closest || !w.cum || !w.cand;
    }
    res->centroids = malloc((size_t)k * d * sizeof *res->centroids);
    res->labels = malloc(n * sizeof *res->labels);
    oom |= !w.xsq || !w.C || !w.Cn || !w.csq || !w.labels || !w.mind || !res->centroids || !res->labels;
    if (oom) {
        free(colmean);
        rc = dc_err_set(e, DC_ENOMEM, "kmeans: out of memory (n = %zu, d = %d, k = %d)", n, d, k);
        goto out;
    }
    for (size_t i = 0; i < n * (size_t)d; i++) {
        if (!isfinite(X[i])) {
            free(colmean);
            rc = dc_err_set(e, DC_ENUMERIC, "kmeans: X[%zu][%zu] is not finite", i / d, i % d);
            goto out;
        }
    }
    double tol = o->tol * mean_variance(X, n, d, colmean);
    free(colmean);
    row_sqnorms(X, n, d, w.xsq);

    rng g;
    rng_seed(&g, o->seed);
    int runs = o->init ? 1 : o->n_init;
    res->inertia = INFINITY;
    for (int run = 0; run < runs; run++) {
        if (o->init) memcpy(w.C, o->init, (size_t)k * d * sizeof *w.C);
        else kmeanspp(&w, &g);
        for (size_t i = 0; i < n; i++) w.labels[i] = -1;
        int it, strict = 0;
        size_t changed;
        for (it = 0; it < o->max_iter; it++) {
            double inert = lloyd_pass(&w, 1, &changed);
            double shift = update_centroids(&w);
            float *t = w.C;
            w.C = w.Cn;
            w.Cn = t;
            if (o->progress && o->progress(o->progress_user, run, it + 1, inert)) {
                rc = dc_err_set(e, DC_ECANCEL, "kmeans: cancelled at run %d, iteration %d", run, it + 1);
                goto out;
            }
            if (changed == 0) {
                strict = 1;
                it++;
                break;
            }
            if (shift <= tol) {
                it++;
                break;
            }
        }
        /* Labels must match the final centroids (they already do after a strict stop). */
        if (!strict) lloyd_pass(&w, 0, &changed);
        run_parts(&w, OP_INERTIA);
        double inertia = 0;
        for (int t = 0; t < w.T; t++) inertia += w.parts[t].acc;
        if (inertia < res->inertia) {
            res->inertia = inertia;
            res->n_iter = it;
            res->best_init = run;
            memcpy(res->centroids, w.C, (size_t)k * d * sizeof *w.C);
            memcpy(res->labels, w.labels, n * sizeof *w.labels);
        }
    }
    res->k = k;
    res->d = d;
    res->n = n;
out:
    ws_free(&w);
    if (rc) kmeans_result_free(res);
    return rc;
}

static int predict_check(const float *C, int k, int d, const float *X, size_t n, int *labels, dc_err *e)
{
    if (!C || !X || !labels) return dc_err_set(e, DC_EINVAL, "kmeans_predict: NULL argument");
    if (k < 1 || d < 1) return dc_err_set(e, DC_EINVAL, "kmeans_predict: need k >= 1 and d >= 1 (got %d, %d)", k, d);
    if (n > (size_t)0x7fffffff) return dc_err_set(e, DC_EINVAL, "kmeans_predict: n = %zu is too large", n);
    return 0;
}

int kmeans_predict(const float *C, int k, int d, const float *X, size_t n, int *labels, float *mind,
                   double *inertia, dc_err *e)
{
    int rc = predict_check(C, k, d, X, n, labels, e);
    if (rc) return rc;
    size_t B = n < 4096 ? n : 4096;
    float *csq = malloc((size_t)k * sizeof *csq), *xsq = malloc((B ? B : 1) * sizeof *xsq);
    float *D = malloc((B ? B : 1) * (size_t)k * sizeof *D); /* (k, B) */
    int *idx = malloc((B ? B : 1) * sizeof *idx);
    float *md = mind ? mind : malloc((n ? n : 1) * sizeof *md);
    if (!csq || !xsq || !D || !idx || !md) {
        rc = dc_err_set(e, DC_ENOMEM, "kmeans_predict: out of memory");
        goto out;
    }
    row_sqnorms(C, (size_t)k, d, csq);
    double tot = 0;
    for (size_t r0 = 0; r0 < n; r0 += B) {
        size_t m = n - r0 < B ? n - r0 : B;
        row_sqnorms(X + r0 * d, m, d, xsq);
        tot += assign_block(X + r0 * d, xsq, m, d, C, csq, k, D, idx, labels + r0, md + r0, NULL, 0);
    }
    if (inertia) *inertia = tot;
out:
    free(csq);
    free(xsq);
    free(D);
    free(idx);
    if (md != mind) free(md);
    return rc;
}

int kmeans_predict_naive(const float *C, int k, int d, const float *X, size_t n, int *labels,
                         float *mind, double *inertia, dc_err *e)
{
    int rc = predict_check(C, k, d, X, n, labels, e);
    if (rc) return rc;
    double tot = 0;
    for (size_t i = 0; i < n; i++) {
        double best = INFINITY;
        int bj = 0;
        for (int j = 0; j < k; j++) {
            double s = 0;
            for (int t = 0; t < d; t++) {
                double diff = (double)X[i * d + t] - C[(size_t)j * d + t];
                s += diff * diff;
            }
            if (s < best) {
                best = s;
                bj = j;
            }
        }
        labels[i] = bj;
        if (mind) mind[i] = (float)best;
        tot += best;
    }
    if (inertia) *inertia = tot;
    return 0;
}
