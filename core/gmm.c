#include "gmm.h"

#include <cblas.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kmeans.h"
#include "rng.h"

#define LN_2PI 1.8378770664093454836

void gmm_opts_default(gmm_opts *o)
{
    memset(o, 0, sizeof *o);
    o->n_init = 5;
    o->max_iter = 100;
    o->tol = 1e-3;
    o->reg_covar = 1e-6;
    o->seed = 0;
    o->n_threads = 1;
    o->block_rows = 1024;
}

/* *r = a * b; 0 if it overflows size_t. */
static int mul_ok(size_t a, size_t b, size_t *r)
{
    if (a && b > SIZE_MAX / a) return 0;
    *r = a * b;
    return 1;
}

/* Doubles in a model (k, d): k (1 + d + 2 d^2); 0 on overflow. */
static size_t model_len(int k, int d)
{
    size_t dd, per, tot;
    if (k < 1 || d < 1) return 0;
    if (!mul_ok((size_t)d, (size_t)d, &dd) || !mul_ok(dd, 2, &per)) return 0;
    if (per > SIZE_MAX - 1 - (size_t)d) return 0;
    per += 1 + (size_t)d;
    if (!mul_ok(per, (size_t)k, &tot) || !mul_ok(tot, sizeof(double), &dd)) return 0;
    return tot;
}

int gmm_model_alloc(gmm_model *m, int k, int d, dc_err *e)
{
    memset(m, 0, sizeof *m);
    size_t len = model_len(k, d);
    if (!len) return dc_err_set(e, DC_EINVAL, "gmm: model of k = %d, d = %d is out of range", k, d);
    m->buf = calloc(len, sizeof *m->buf);
    if (!m->buf) return dc_err_set(e, DC_ENOMEM, "gmm: out of memory for a model (k = %d, d = %d)", k, d);
    size_t kd = (size_t)k * d, kdd = kd * d;
    m->k = k;
    m->d = d;
    m->weights = m->buf;
    m->means = m->weights + k;
    m->covs = m->means + kd;
    m->chol = m->covs + kdd;
    return 0;
}

void gmm_model_free(gmm_model *m)
{
    if (!m) return;
    free(m->buf);
    memset(m, 0, sizeof *m);
}

int gmm_model_copy(gmm_model *dst, const gmm_model *src, dc_err *e)
{
    int rc = gmm_model_alloc(dst, src->k, src->d, e);
    if (rc) return rc;
    memcpy(dst->buf, src->buf, model_len(src->k, src->d) * sizeof *dst->buf);
    return 0;
}

void gmm_result_free(gmm_result *res)
{
    if (!res) return;
    gmm_model_free(&res->model);
    free(res->resp);
    free(res->labels);
    memset(res, 0, sizeof *res);
}

/* Cholesky A = L L^T of the symmetric A (d, d) (lower triangle read) into L (d, d), upper
 * part zeroed. -1 if A is not positive definite in double (or not finite). */
static int cholesky(const double *A, double *L, int d)
{
    for (int i = 0; i < d; i++) {
        for (int j = 0; j <= i; j++) {
            double s = A[(size_t)i * d + j];
            for (int t = 0; t < j; t++) s -= L[(size_t)i * d + t] * L[(size_t)j * d + t];
            if (i == j) {
                if (!(s > 0) || !isfinite(s)) return -1;
                L[(size_t)i * d + i] = sqrt(s);
            } else {
                L[(size_t)i * d + j] = s / L[(size_t)j * d + j];
            }
        }
        for (int j = i + 1; j < d; j++) L[(size_t)i * d + j] = 0;
    }
    return 0;
}

int gmm_model_factor(gmm_model *m, dc_err *e)
{
    size_t dd = (size_t)m->d * m->d;
    for (int j = 0; j < m->k; j++)
        if (cholesky(m->covs + j * dd, m->chol + j * dd, m->d))
            return dc_err_set(e, DC_ENUMERIC, "gmm: covariance %d is not positive definite", j);
    return 0;
}

/* Factors covariance j of the fit. If it is not positive definite in double (reg_covar
 * 0, or below rounding at the data's scale), adds jitter 1e-10 * trace/d to its diagonal,
 * x100 up to 6 times, then gives up. */
static int factor_fit(gmm_model *m, int j, dc_err *e)
{
    int d = m->d;
    size_t dd = (size_t)d * d;
    double *C = m->covs + j * dd, *L = m->chol + j * dd;
    if (cholesky(C, L, d) == 0) return 0;
    double tr = 0;
    for (int t = 0; t < d; t++) tr += C[(size_t)t * d + t];
    double jit = isfinite(tr) && tr > 0 ? 1e-10 * tr / d : 1e-10;
    for (int a = 0; a < 6; a++, jit *= 100) {
        for (int t = 0; t < d; t++) C[(size_t)t * d + t] += jit;
        if (cholesky(C, L, d) == 0) return 0;
    }
    return dc_err_set(e, DC_ENUMERIC, "gmm: covariance of component %d stays singular or non-finite", j);
}

/* What the E-step needs from a model, recomputed at the start of every pass. */
typedef struct gm_pre {
    double *cst; /* (k) log w_j - 0.5 d ln 2pi - sum_t ln L_j[t][t], the constant of ln w_j N_j */
    double *c;   /* (d) centre subtracted from every row first: sum_j w_j mu_j */
    double *W;   /* (d, k d) row-major; columns j d .. j d + d - 1 hold U_j = L_j^-T (upper) */
    double *b;   /* (k d) b_j = (mu_j - c) U_j */
    double *V;   /* (d, d) scratch */
    const double *means; /* (k, d) the model's, borrowed */
    int centred; /* 1: centre rows on each mu_j and multiply by U_j alone (b unused), see
                    pre_compute */
} gm_pre;

static void pre_free(gm_pre *p)
{
    free(p->cst);
    free(p->c);
    free(p->W);
    free(p->b);
    free(p->V);
}

static int pre_alloc(gm_pre *p, int k, int d)
{
    size_t kd = (size_t)k * d;
    p->cst = malloc((size_t)k * sizeof *p->cst);
    p->c = malloc((size_t)d * sizeof *p->c);
    p->W = malloc(kd * d * sizeof *p->W);
    p->b = malloc(kd * sizeof *p->b);
    p->V = malloc((size_t)d * d * sizeof *p->V);
    return p->cst && p->c && p->W && p->b && p->V ? 0 : -1;
}

/* Fills p from model m: V = L_j^-1 by forward substitution (double), U_j = V^T. */
static void pre_compute(gm_pre *p, const gmm_model *m)
{
    int d = m->d, k = m->k;
    size_t dd = (size_t)d * d, kd = (size_t)k * d;
    p->centred = 0;
    p->means = m->means;
    for (int t = 0; t < d; t++) p->c[t] = 0;
    for (int j = 0; j < k; j++)
        for (int t = 0; t < d; t++) p->c[t] += m->weights[j] * m->means[(size_t)j * d + t];
    for (int j = 0; j < k; j++) {
        const double *L = m->chol + j * dd, *mu = m->means + (size_t)j * d;
        double *V = p->V, ld = 0;
        for (int t = 0; t < d; t++) ld += log(L[(size_t)t * d + t]);
        p->cst[j] = log(m->weights[j]) - 0.5 * d * LN_2PI - ld;
        /* column s of V solves L v = e_s; V is lower triangular */
        for (int s = 0; s < d; s++)
            for (int a = 0; a < d; a++) {
                double v = a == s ? 1 : 0;
                if (a < s) {
                    V[(size_t)a * d + s] = 0;
                    continue;
                }
                for (int t = s; t < a; t++) v -= L[(size_t)a * d + t] * V[(size_t)t * d + s];
                V[(size_t)a * d + s] = v / L[(size_t)a * d + a];
            }
        /* W[t][j d + s] = U_j[t][s] = V[s][t] */
        for (int t = 0; t < d; t++)
            for (int s = 0; s < d; s++) p->W[(size_t)t * kd + (size_t)j * d + s] = V[(size_t)s * d + t];
        double dist = 0, un = 0;
        for (int s = 0; s < d; s++) {
            double v = 0;
            for (int t = 0; t <= s; t++) {
                v += (mu[t] - p->c[t]) * V[(size_t)s * d + t];
                un += V[(size_t)s * d + t] * V[(size_t)s * d + t];
            }
            p->b[(size_t)j * d + s] = v;
            dist += (mu[s] - p->c[s]) * (mu[s] - p->c[s]);
        }
        /* (x - c) U_j - b_j loses about DBL_EPSILON |mu_j - c| ||U_j|| to cancellation
         * for the points near mu_j (whose y is O(1)); beyond 1e-9, use the centred path */
        if (DBL_EPSILON * sqrt(dist * un) > 1e-9) p->centred = 1;
    }
}

/* E-step kernel. lp (m, k) out: lp[i][j] = ln w_j + ln N(x_i | mu_j, Sigma_j) for the rows
 * Xb (m, d). One GEMM for all components: Y = (X - c) [U_1 .. U_k] (m, k d), then
 * y_ij = Y_ij - b_j = (x_i - mu_j) L_j^-T and ||y_ij||^2 = (x_i - mu_j)^T Sigma_j^-1
 * (x_i - mu_j). xd (m, d) and Y (m, k d) scratch. Centring on c first keeps the
 * subtraction of b free of cancellation when the data sit far from the origin; when a
 * component is far from c relative to its spread (p->centred), each component gets its
 * own centring and GEMM instead (k GEMMs of (m, d) x (d, d)). */
static void block_logprob(const gm_pre *p, int k, int d, const float *Xb, int m, double *xd,
                          double *Y, double *lp)
{
    size_t kd = (size_t)k * d;
    if (!p->centred) {
        for (int i = 0; i < m; i++)
            for (int t = 0; t < d; t++) xd[(size_t)i * d + t] = (double)Xb[(size_t)i * d + t] - p->c[t];
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, (int)kd, d, 1.0, xd, d, p->W, (int)kd,
                    0.0, Y, (int)kd);
    } else {
        /* components far apart relative to their spread: Y_j = (X - mu_j) U_j */
        for (int j = 0; j < k; j++) {
            const double *mu = p->means + (size_t)j * d;
            for (int i = 0; i < m; i++)
                for (int t = 0; t < d; t++) xd[(size_t)i * d + t] = (double)Xb[(size_t)i * d + t] - mu[t];
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, d, d, 1.0, xd, d, p->W + (size_t)j * d,
                        (int)kd, 0.0, Y + (size_t)j * d, (int)kd);
        }
    }
    for (int i = 0; i < m; i++) {
        const double *y = Y + (size_t)i * kd;
        for (int j = 0; j < k; j++) {
            const double *yj = y + (size_t)j * d, *bj = p->b + (size_t)j * d;
            double s = 0;
            if (p->centred)
                for (int t = 0; t < d; t++) s += yj[t] * yj[t];
            else
                for (int t = 0; t < d; t++) {
                    double v = yj[t] - bj[t];
                    s += v * v;
                }
            lp[(size_t)i * k + j] = p->cst[j] - 0.5 * s;
        }
    }
}

/* exp(t) for t below this is under 1e-304 relative to the row's largest term: taken as 0
 * (libm's underflow path to denormals costs more than the rest of the E-step). */
#define EXP_CUT (-700.0)

/* Turns lp (m, k) into responsibilities in place by log-sum-exp; labels (m) out,
 * optional: argmax (ties: lowest j). Returns the sum over rows of log p(x_i). */
static double block_normalize(double *lp, int m, int k, int *labels)
{
    double tot = 0;
    for (int i = 0; i < m; i++) {
        double *r = lp + (size_t)i * k;
        double mx = r[0];
        int am = 0;
        for (int j = 1; j < k; j++)
            if (r[j] > mx) {
                mx = r[j];
                am = j;
            }
        double s = 0;
        for (int j = 0; j < k; j++) {
            double t = r[j] - mx;
            r[j] = t > EXP_CUT ? exp(t) : 0;
            s += r[j];
        }
        double lse = mx + log(s), inv = 1 / s;
        for (int j = 0; j < k; j++) r[j] *= inv;
        if (labels) labels[i] = am;
        tot += lse;
    }
    return tot;
}

enum { OP_STATS, OP_SCORE, OP_OUTPUT };

/* Per-thread scratch and partial sums of one pass over rows [r0, r1). */
typedef struct gm_part {
    struct gm_ws *w;
    size_t r0, r1;
    double *xc; /* (B, d) centred rows (E-step), then packed weighted rows (stats) */
    double *Y;  /* (B, k d) E-step GEMM output */
    double *lp; /* (B, k) log joint densities, then responsibilities */
    double *nk; /* (k) sum_i q_ij */
    double *s1; /* (k, d) sum_i q_ij (x_i - mu_j) */
    double *s2; /* (k, d, d) upper triangle of sum_i q_ij (x_i - mu_j)(x_i - mu_j)^T */
    double ll;  /* sum of log p(x_i) */
} gm_part;

/* Workspace of one fit or predict call; all owned except X, model, resp and labels. */
typedef struct gm_ws {
    const float *X; /* (n, d) */
    size_t n;
    int d, k, B, T;
    gm_part *parts;       /* (T) */
    const gmm_model *m;   /* model of the current pass */
    gm_pre pre;           /* E-step constants of m */
    double *vec;          /* (d) M-step scratch */
    int op;
    double *resp;         /* OP_OUTPUT: (n, k) out, optional */
    int *labels;          /* OP_OUTPUT: (n) out, optional */
} gm_ws;

static void ws_free(gm_ws *w)
{
    if (w->parts)
        for (int t = 0; t < w->T; t++) {
            free(w->parts[t].xc);
            free(w->parts[t].Y);
            free(w->parts[t].lp);
            free(w->parts[t].nk);
            free(w->parts[t].s1);
            free(w->parts[t].s2);
        }
    free(w->parts);
    pre_free(&w->pre);
    free(w->vec);
}

/* Rows per block: B, at most n, and lowered so that a block's (rows, k d) GEMM output
 * stays within 2 MB (at least 16 rows). */
static int block_rows_eff(int B, size_t n, int k, int d)
{
    size_t cap = ((size_t)1 << 18) / ((size_t)k * d);
    if (cap < 16) cap = 16;
    size_t b = (size_t)B;
    if (b > cap) b = cap;
    if (b > n) b = n;
    return (int)b;
}

/* Allocates the workspace for T parts over n rows in blocks of B (stats: with the sums). */
static int ws_init(gm_ws *w, const float *X, size_t n, int d, int k, int B, int T, int stats)
{
    memset(w, 0, sizeof *w);
    w->X = X;
    w->n = n;
    w->d = d;
    w->k = k;
    w->B = block_rows_eff(B, n, k, d);
    w->T = (size_t)T < n ? T : (int)n;
    w->parts = calloc((size_t)w->T, sizeof *w->parts);
    w->vec = malloc((size_t)d * sizeof *w->vec);
    if (!w->parts || !w->vec || pre_alloc(&w->pre, k, d)) return -1;
    size_t kd = (size_t)k * d, kdd = kd * d;
    for (int t = 0; t < w->T; t++) {
        gm_part *pt = &w->parts[t];
        pt->w = w;
        pt->r0 = n * t / w->T;
        pt->r1 = n * (t + 1) / w->T;
        pt->xc = malloc((size_t)w->B * d * sizeof *pt->xc);
        pt->Y = malloc((size_t)w->B * kd * sizeof *pt->Y);
        pt->lp = malloc((size_t)w->B * k * sizeof *pt->lp);
        if (!pt->xc || !pt->Y || !pt->lp) return -1;
        if (!stats) continue;
        pt->nk = malloc((size_t)k * sizeof *pt->nk);
        pt->s1 = malloc(kd * sizeof *pt->s1);
        pt->s2 = malloc(kdd * sizeof *pt->s2);
        if (!pt->nk || !pt->s1 || !pt->s2) return -1;
    }
    return 0;
}

/* Adds block rows Xb (m, d) with responsibilities q (m, k) to the part's sums, centred
 * on the current means (the shift keeps the covariance free of cancellation). Rows with
 * q_ij = 0 are skipped, so separated clusters cost one syrk row per point, not k. */
static void block_stats(gm_part *pt, const float *Xb, int m, const double *q)
{
    const gmm_model *md = pt->w->m;
    int d = md->d, k = md->k;
    size_t dd = (size_t)d * d;
    for (int j = 0; j < k; j++) {
        const double *mu = md->means + (size_t)j * d;
        double *s1 = pt->s1 + (size_t)j * d, nk = 0;
        int mj = 0; /* rows with q_ij > 0, packed into xc */
        for (int i = 0; i < m; i++) {
            double qi = q[(size_t)i * k + j];
            if (!(qi > 0)) continue;
            double sq = sqrt(qi), *z = pt->xc + (size_t)mj++ * d;
            nk += qi;
            for (int t = 0; t < d; t++) {
                double c = (double)Xb[(size_t)i * d + t] - mu[t];
                s1[t] += qi * c;
                z[t] = sq * c;
            }
        }
        pt->nk[j] += nk;
        /* S += Z^T Z, Z = sqrt(q) (x - mu): upper triangle */
        if (mj)
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, mj, 1.0, pt->xc, d, 1.0,
                        pt->s2 + j * dd, d);
    }
}

/* One part's share of the current pass (w->op). */
static void *part_run(void *arg)
{
    gm_part *pt = arg;
    gm_ws *w = pt->w;
    int d = w->d, k = w->k;
    pt->ll = 0;
    if (w->op == OP_STATS) {
        memset(pt->nk, 0, (size_t)k * sizeof *pt->nk);
        memset(pt->s1, 0, (size_t)k * d * sizeof *pt->s1);
        memset(pt->s2, 0, (size_t)k * d * d * sizeof *pt->s2);
    }
    for (size_t r0 = pt->r0; r0 < pt->r1; r0 += (size_t)w->B) {
        int m = pt->r1 - r0 < (size_t)w->B ? (int)(pt->r1 - r0) : w->B;
        const float *Xb = w->X + r0 * d;
        double *lp = pt->lp;
        if (w->op == OP_OUTPUT && w->resp) lp = w->resp + r0 * k;
        block_logprob(&w->pre, k, d, Xb, m, pt->xc, pt->Y, lp);
        pt->ll += block_normalize(lp, m, k, w->op == OP_OUTPUT && w->labels ? w->labels + r0 : NULL);
        if (w->op == OP_STATS) block_stats(pt, Xb, m, lp);
    }
    return NULL;
}

/* Runs pass op of model m over all rows, one part per thread (part 0 on the caller; a
 * thread that cannot start has its part run on the caller). Reduces the parts into
 * part 0 in part order. Returns the mean log-likelihood per sample. */
static double run_pass(gm_ws *w, const gmm_model *m, int op)
{
    pthread_t th[256];
    int started[256] = {0};
    w->m = m;
    w->op = op;
    pre_compute(&w->pre, m);
    for (int t = 1; t < w->T; t++)
        started[t] = pthread_create(&th[t], NULL, part_run, &w->parts[t]) == 0;
    part_run(&w->parts[0]);
    for (int t = 1; t < w->T; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        else part_run(&w->parts[t]);
    }
    gm_part *p0 = &w->parts[0];
    double ll = p0->ll;
    size_t kd = (size_t)w->k * w->d, kdd = kd * w->d;
    for (int t = 1; t < w->T; t++) {
        gm_part *pt = &w->parts[t];
        ll += pt->ll;
        if (op != OP_STATS) continue;
        for (int j = 0; j < w->k; j++) p0->nk[j] += pt->nk[j];
        for (size_t i = 0; i < kd; i++) p0->s1[i] += pt->s1[i];
        for (size_t i = 0; i < kdd; i++) p0->s2[i] += pt->s2[i];
    }
    return ll / (double)w->n;
}

/* Weights from masses nk (k): (nk + 10 eps) normalised, as scikit-learn. */
static void set_weights(gmm_model *m, const double *nk)
{
    double s = 0;
    for (int j = 0; j < m->k; j++) s += nk[j] + 10 * DBL_EPSILON;
    for (int j = 0; j < m->k; j++) m->weights[j] = (nk[j] + 10 * DBL_EPSILON) / s;
}

/* M-step into m (which holds the model the E-step used) from the sums in part 0. */
static int m_step(gm_ws *w, gmm_model *m, double reg, dc_err *e)
{
    gm_part *p0 = &w->parts[0];
    int d = m->d;
    size_t dd = (size_t)d * d;
    for (int j = 0; j < m->k; j++) {
        double N = p0->nk[j];
        if (N < GMM_DEAD_MASS) continue; /* dead: keeps mean and covariance */
        double *mu = m->means + (size_t)j * d, *C = m->covs + j * dd;
        const double *s1 = p0->s1 + (size_t)j * d, *S = p0->s2 + j * dd;
        double *delta = w->vec;
        for (int t = 0; t < d; t++) {
            delta[t] = s1[t] / N;
            mu[t] += delta[t];
        }
        for (int a = 0; a < d; a++)
            for (int b = a; b < d; b++) {
                double v = S[(size_t)a * d + b] / N - delta[a] * delta[b];
                C[(size_t)a * d + b] = v;
                C[(size_t)b * d + a] = v;
            }
        for (int t = 0; t < d; t++) C[(size_t)t * d + t] += reg;
        int rc = factor_fit(m, j, e);
        if (rc) return rc;
    }
    set_weights(m, p0->nk);
    return 0;
}

/* First M-step from hard labels lab (n) (scikit-learn's init_params='kmeans'), in
 * double with two passes (means, then centred products). cnt (k), c (d) scratch. */
static int init_from_labels(const float *X, size_t n, int d, int k, const int *lab, double reg,
                            gmm_model *m, double *cnt, double *c, dc_err *e)
{
    size_t dd = (size_t)d * d;
    memset(cnt, 0, (size_t)k * sizeof *cnt);
    memset(m->means, 0, (size_t)k * d * sizeof *m->means);
    memset(m->covs, 0, (size_t)k * dd * sizeof *m->covs);
    for (size_t i = 0; i < n; i++) {
        double *mu = m->means + (size_t)lab[i] * d;
        cnt[lab[i]] += 1;
        for (int t = 0; t < d; t++) mu[t] += X[i * d + t];
    }
    for (int j = 0; j < k; j++)
        for (int t = 0; t < d; t++)
            if (cnt[j] > 0) m->means[(size_t)j * d + t] /= cnt[j];
    for (size_t i = 0; i < n; i++) {
        const double *mu = m->means + (size_t)lab[i] * d;
        double *C = m->covs + lab[i] * dd;
        for (int t = 0; t < d; t++) c[t] = (double)X[i * d + t] - mu[t];
        for (int a = 0; a < d; a++)
            for (int b = a; b < d; b++) C[(size_t)a * d + b] += c[a] * c[b];
    }
    for (int j = 0; j < k; j++) {
        double *C = m->covs + j * dd, N = cnt[j] > 0 ? cnt[j] : 1;
        for (int a = 0; a < d; a++) {
            for (int b = a; b < d; b++) {
                C[(size_t)a * d + b] /= N;
                C[(size_t)b * d + a] = C[(size_t)a * d + b];
            }
            C[(size_t)a * d + a] += reg;
        }
        int rc = factor_fit(m, j, e);
        if (rc) return rc;
    }
    set_weights(m, cnt);
    return 0;
}

static int check_finite(const float *X, size_t n, int d, const char *who, dc_err *e)
{
    for (size_t i = 0; i < n * (size_t)d; i++)
        if (!isfinite(X[i]))
            return dc_err_set(e, DC_ENUMERIC, "%s: X[%zu][%zu] is not finite", who, i / (size_t)d,
                              i % (size_t)d);
    return 0;
}

static int validate(const float *X, size_t n, int d, int k, const gmm_opts *o, dc_err *e)
{
    size_t nk, kdd;
    if (!X || !o) return dc_err_set(e, DC_EINVAL, "gmm: X and options must not be NULL");
    if (n < 1 || d < 1)
        return dc_err_set(e, DC_EINVAL, "gmm: need n >= 1 and d >= 1 (got n = %zu, d = %d)", n, d);
    if (n > (size_t)INT_MAX) return dc_err_set(e, DC_EINVAL, "gmm: n = %zu is above %d", n, INT_MAX);
    if (k < 1 || (size_t)k > n)
        return dc_err_set(e, DC_EINVAL, "gmm: n_components must be in 1..n = %zu (got %d)", n, k);
    if (!mul_ok(n, (size_t)k, &nk) || !mul_ok(nk, sizeof(double), &nk) || !mul_ok((size_t)k, (size_t)d, &kdd) ||
        !mul_ok(kdd, (size_t)d, &kdd) || !model_len(k, d))
        return dc_err_set(e, DC_EINVAL, "gmm: sizes overflow (n = %zu, d = %d, k = %d)", n, d, k);
    if (o->init && (o->init->k != k || o->init->d != d || !o->init->buf))
        return dc_err_set(e, DC_EINVAL, "gmm: init model must have k = %d and d = %d", k, d);
    if (!o->init && o->n_init < 1)
        return dc_err_set(e, DC_EINVAL, "gmm: n_init must be >= 1 (got %d)", o->n_init);
    if (o->max_iter < 1) return dc_err_set(e, DC_EINVAL, "gmm: max_iter must be >= 1 (got %d)", o->max_iter);
    if (!(o->tol >= 0) || !isfinite(o->tol))
        return dc_err_set(e, DC_EINVAL, "gmm: tol must be finite and >= 0 (got %g)", o->tol);
    if (!(o->reg_covar >= 0) || !isfinite(o->reg_covar))
        return dc_err_set(e, DC_EINVAL, "gmm: reg_covar must be finite and >= 0 (got %g)", o->reg_covar);
    if (o->n_threads < 1 || o->n_threads > 256)
        return dc_err_set(e, DC_EINVAL, "gmm: n_threads must be in 1..256 (got %d)", o->n_threads);
    if (o->block_rows < 1)
        return dc_err_set(e, DC_EINVAL, "gmm: block_rows must be >= 1 (got %d)", o->block_rows);
    return 0;
}

int gmm_fit(const float *X, size_t n, int d, int k, const gmm_opts *o, gmm_result *res, dc_err *e)
{
    int rc = 0;
    gm_ws w = {0};
    gmm_model cur = {0};
    kmeans_result km = {0};
    double *cnt = NULL;
    if (!res) return dc_err_set(e, DC_EINVAL, "gmm: result must not be NULL");
    memset(res, 0, sizeof *res);
    rc = validate(X, n, d, k, o, e);
    if (rc) goto out;
    rc = check_finite(X, n, d, "gmm", e);
    if (rc) goto out;
    if ((rc = gmm_model_alloc(&cur, k, d, e)) || (rc = gmm_model_alloc(&res->model, k, d, e))) goto out;
    cnt = malloc((size_t)k * sizeof *cnt);
    res->resp = malloc(n * (size_t)k * sizeof *res->resp);
    res->labels = malloc(n * sizeof *res->labels);
    if (!cnt || !res->resp || !res->labels || ws_init(&w, X, n, d, k, o->block_rows, o->n_threads, 1)) {
        rc = dc_err_set(e, DC_ENOMEM, "gmm: out of memory (n = %zu, d = %d, k = %d)", n, d, k);
        goto out;
    }

    rng g;
    rng_seed(&g, o->seed);
    int runs = o->init ? 1 : o->n_init;
    double best = -INFINITY;
    for (int run = 0; run < runs; run++) {
        if (o->init) {
            memcpy(cur.buf, o->init->buf, model_len(k, d) * sizeof *cur.buf);
            for (int j = 0; j < k && !rc; j++)
                if (!(cur.weights[j] > 0) || !isfinite(cur.weights[j]))
                    rc = dc_err_set(e, DC_EINVAL, "gmm: init model: weight %d is not positive and finite", j);
            if (!rc && gmm_model_factor(&cur, NULL))
                rc = dc_err_set(e, DC_EINVAL, "gmm: init model: a covariance is not positive definite");
            if (rc) goto out;
        } else {
            kmeans_opts ko;
            kmeans_opts_default(&ko);
            ko.n_init = 1;
            ko.seed = rng_u64(&g);
            ko.n_threads = o->n_threads;
            rc = kmeans_fit(X, n, d, k, &ko, &km, e);
            if (rc) goto out;
            rc = init_from_labels(X, n, d, k, km.labels, o->reg_covar, &cur, cnt, w.vec, e);
            kmeans_result_free(&km);
            if (rc) goto out;
        }
        double prev = -INFINITY, ll = -INFINITY;
        int it, conv = 0;
        for (it = 1; it <= o->max_iter; it++) {
            ll = run_pass(&w, &cur, OP_STATS);
            if (!isfinite(ll)) {
                rc = dc_err_set(e, DC_ENUMERIC, "gmm: log-likelihood is not finite at run %d, iteration %d", run, it);
                goto out;
            }
            if ((rc = m_step(&w, &cur, o->reg_covar, e))) goto out;
            if (o->progress && o->progress(o->progress_user, run, it, ll)) {
                rc = dc_err_set(e, DC_ECANCEL, "gmm: cancelled at run %d, iteration %d", run, it);
                goto out;
            }
            if (fabs(ll - prev) < o->tol) {
                conv = 1;
                break;
            }
            prev = ll;
        }
        if (it > o->max_iter) it = o->max_iter;
        double fin = run_pass(&w, &cur, OP_SCORE);
        if (!isfinite(fin)) {
            rc = dc_err_set(e, DC_ENUMERIC, "gmm: final log-likelihood is not finite at run %d", run);
            goto out;
        }
        if (fin > best || run == 0) {
            best = fin;
            memcpy(res->model.buf, cur.buf, model_len(k, d) * sizeof *cur.buf);
            res->lower_bound = ll;
            res->n_iter = it;
            res->converged = conv;
            res->best_init = run;
        }
    }
    w.resp = res->resp;
    w.labels = res->labels;
    res->loglik = run_pass(&w, &res->model, OP_OUTPUT);
    res->n = n;
    double p = (k - 1) + (double)k * d + (double)k * d * (d + 1) / 2;
    res->bic = -2 * res->loglik * (double)n + p * log((double)n);
out:
    ws_free(&w);
    gmm_model_free(&cur);
    kmeans_result_free(&km);
    free(cnt);
    if (rc) gmm_result_free(res);
    return rc;
}

static int predict_check(const gmm_model *m, const float *X, size_t n, const char *who, dc_err *e)
{
    if (!m || !m->buf || !X) return dc_err_set(e, DC_EINVAL, "%s: NULL model or X", who);
    if (!model_len(m->k, m->d)) return dc_err_set(e, DC_EINVAL, "%s: bad model k = %d, d = %d", who, m->k, m->d);
    size_t nk;
    if (n < 1 || n > (size_t)INT_MAX || !mul_ok(n, (size_t)m->k, &nk))
        return dc_err_set(e, DC_EINVAL, "%s: n must be in 1..%d (got %zu)", who, INT_MAX, n);
    return check_finite(X, n, m->d, who, e);
}

int gmm_predict(const gmm_model *m, const float *X, size_t n, double *resp, int *labels,
                double *loglik, dc_err *e)
{
    gm_ws w = {0};
    int rc = predict_check(m, X, n, "gmm_predict", e);
    if (rc) goto out;
    if (ws_init(&w, X, n, m->d, m->k, 1024, 1, 0)) {
        rc = dc_err_set(e, DC_ENOMEM, "gmm_predict: out of memory");
        goto out;
    }
    w.resp = resp;
    w.labels = labels;
    double ll = run_pass(&w, m, OP_OUTPUT);
    if (loglik) *loglik = ll;
out:
    ws_free(&w);
    return rc;
}

/* Inverse of A (d, d) into Ainv by Gauss-Jordan with partial pivoting, in double;
 * *logdet = ln |det A|. M (d, 2d) scratch. -1 if singular. */
static int gauss_jordan(const double *A, int d, double *Ainv, double *logdet, double *M)
{
    int w2 = 2 * d;
    for (int i = 0; i < d; i++)
        for (int j = 0; j < w2; j++) M[i * w2 + j] = j < d ? A[i * d + j] : (j - d == i);
    double ld = 0;
    for (int c = 0; c < d; c++) {
        int p = c;
        for (int r = c + 1; r < d; r++)
            if (fabs(M[r * w2 + c]) > fabs(M[p * w2 + c])) p = r;
        if (M[p * w2 + c] == 0) return -1;
        if (p != c)
            for (int j = 0; j < w2; j++) {
                double t = M[c * w2 + j];
                M[c * w2 + j] = M[p * w2 + j];
                M[p * w2 + j] = t;
            }
        double piv = M[c * w2 + c];
        ld += log(fabs(piv));
        for (int j = 0; j < w2; j++) M[c * w2 + j] /= piv;
        for (int r = 0; r < d; r++) {
            if (r == c) continue;
            double f = M[r * w2 + c];
            for (int j = 0; j < w2; j++) M[r * w2 + j] -= f * M[c * w2 + j];
        }
    }
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) Ainv[i * d + j] = M[i * w2 + d + j];
    *logdet = ld;
    return 0;
}

int gmm_predict_naive(const gmm_model *m, const float *X, size_t n, double *resp, int *labels,
                      double *loglik, dc_err *e)
{
    int rc = predict_check(m, X, n, "gmm_predict_naive", e);
    if (rc) return rc;
    int k = m->k, d = m->d;
    size_t dd = (size_t)d * d;
    double *inv = malloc((size_t)k * dd * sizeof *inv), *ldet = malloc((size_t)k * sizeof *ldet);
    double *M = malloc(2 * dd * sizeof *M), *lp = malloc((size_t)k * sizeof *lp);
    double *diff = malloc((size_t)d * sizeof *diff);
    if (!inv || !ldet || !M || !lp || !diff) {
        rc = dc_err_set(e, DC_ENOMEM, "gmm_predict_naive: out of memory");
        goto out;
    }
    for (int j = 0; j < k; j++)
        if (gauss_jordan(m->covs + j * dd, d, inv + j * dd, &ldet[j], M)) {
            rc = dc_err_set(e, DC_ENUMERIC, "gmm_predict_naive: covariance %d is singular", j);
            goto out;
        }
    double tot = 0;
    for (size_t i = 0; i < n; i++) {
        double mx = -INFINITY;
        int am = 0;
        for (int j = 0; j < k; j++) {
            for (int t = 0; t < d; t++) diff[t] = (double)X[i * d + t] - m->means[(size_t)j * d + t];
            double quad = 0;
            for (int a = 0; a < d; a++)
                for (int b = 0; b < d; b++) quad += diff[a] * inv[j * dd + (size_t)a * d + b] * diff[b];
            lp[j] = log(m->weights[j]) - 0.5 * (d * LN_2PI + ldet[j] + quad);
            if (lp[j] > mx) {
                mx = lp[j];
                am = j;
            }
        }
        double s = 0;
        for (int j = 0; j < k; j++) s += exp(lp[j] - mx);
        double lse = mx + log(s);
        tot += lse;
        if (resp)
            for (int j = 0; j < k; j++) resp[i * k + j] = exp(lp[j] - lse);
        if (labels) labels[i] = am;
    }
    if (loglik) *loglik = tot / (double)n;
out:
    free(inv);
    free(ldet);
    free(M);
    free(lp);
    free(diff);
    return rc;
}

size_t gmm_model_saved_len(int k, int d)
{
    size_t len = model_len(k, d);
    if (!len) return 0;
    size_t chol = (size_t)k * d * d; /* not saved */
    return 4 + len - chol;
}

int gmm_model_save(const gmm_model *m, double *buf, size_t len, dc_err *e)
{
    if (!m || !m->buf || !buf) return dc_err_set(e, DC_EINVAL, "gmm_model_save: NULL model or buffer");
    size_t want = gmm_model_saved_len(m->k, m->d);
    if (!want || len != want)
        return dc_err_set(e, DC_EINVAL, "gmm_model_save: buffer of %zu doubles, need %zu", len, want);
    buf[0] = GMM_SAVE_MAGIC;
    buf[1] = GMM_SAVE_VERSION;
    buf[2] = m->k;
    buf[3] = m->d;
    /* weights, means and covs are contiguous at the start of the model's buffer */
    memcpy(buf + 4, m->buf, (len - 4) * sizeof *buf);
    return 0;
}

int gmm_model_load(gmm_model *m, const double *buf, size_t len, dc_err *e)
{
    int rc = 0;
    if (!m) return dc_err_set(e, DC_EINVAL, "gmm_model_load: NULL model");
    memset(m, 0, sizeof *m);
    if (!buf || len < 4) return dc_err_set(e, DC_EFORMAT, "gmm_model_load: buffer of %zu doubles is too short", len);
    if (buf[0] != GMM_SAVE_MAGIC) return dc_err_set(e, DC_EFORMAT, "gmm_model_load: bad magic %g", buf[0]);
    if (buf[1] != GMM_SAVE_VERSION) return dc_err_set(e, DC_EFORMAT, "gmm_model_load: unknown version %g", buf[1]);
    if (!(buf[2] >= 1 && buf[2] <= INT_MAX && buf[2] == floor(buf[2])) ||
        !(buf[3] >= 1 && buf[3] <= INT_MAX && buf[3] == floor(buf[3])))
        return dc_err_set(e, DC_EFORMAT, "gmm_model_load: bad sizes k = %g, d = %g", buf[2], buf[3]);
    int k = (int)buf[2], d = (int)buf[3];
    size_t want = gmm_model_saved_len(k, d);
    if (!want || len != want)
        return dc_err_set(e, DC_EFORMAT, "gmm_model_load: %zu doubles for k = %d, d = %d, expected %zu", len, k, d, want);
    for (size_t i = 4; i < len; i++)
        if (!isfinite(buf[i])) return dc_err_set(e, DC_EFORMAT, "gmm_model_load: value %zu is not finite", i);
    double ws = 0;
    for (int j = 0; j < k; j++) {
        if (!(buf[4 + j] > 0)) return dc_err_set(e, DC_EFORMAT, "gmm_model_load: weight %d is not positive", j);
        ws += buf[4 + j];
    }
    if (fabs(ws - 1) > 1e-9) return dc_err_set(e, DC_EFORMAT, "gmm_model_load: weights sum to %.12g, not 1", ws);
    if ((rc = gmm_model_alloc(m, k, d, e))) return rc;
    memcpy(m->buf, buf + 4, (len - 4) * sizeof *buf);
    size_t dd = (size_t)d * d;
    for (int j = 0; j < k && !rc; j++) {
        const double *C = m->covs + j * dd;
        for (int a = 0; a < d && !rc; a++)
            for (int b = a + 1; b < d && !rc; b++)
                if (C[(size_t)a * d + b] != C[(size_t)b * d + a])
                    rc = dc_err_set(e, DC_EFORMAT, "gmm_model_load: covariance %d is not symmetric", j);
    }
    if (!rc && gmm_model_factor(m, NULL))
        rc = dc_err_set(e, DC_EFORMAT, "gmm_model_load: a covariance is not positive definite");
    if (rc) gmm_model_free(m);
    return rc;
}
