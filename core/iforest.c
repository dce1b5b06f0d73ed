/* iforest: isolation forest; see iforest.h. */
#include "iforest.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

enum { NODE_LEAF = -1, NODE_UNUSED = -2 };

struct iforest {
    int n_trees, psi, d, limit;
    size_t nodes; /* per tree: 2^(limit+1) - 1 */
    int *feat;    /* (n_trees, nodes): feature, NODE_LEAF or NODE_UNUSED */
    float *cut;   /* (n_trees, nodes): cut value, or a leaf's size */
    double *c;    /* (psi + 1): c(m) for a leaf of m points, so scoring takes no log */
};

void iforest_opts_default(iforest_opts *o)
{
    o->n_trees = 100;
    o->subsample = 256;
    o->seed = 0;
}

double iforest_c(double m)
{
    if (m <= 1) return 0;
    if (m <= 2) return 1;
    return 2.0 * (log(m - 1.0) + 0.5772156649015329) - 2.0 * (m - 1.0) / m;
}

static int height_limit(int psi)
{
    int l = 0;
    while ((1 << l) < psi) l++; /* ceil(log2 psi) */
    return l;
}

static iforest *alloc_forest(int n_trees, int psi, int d)
{
    iforest *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->n_trees = n_trees;
    f->psi = psi;
    f->d = d;
    f->limit = height_limit(psi);
    f->nodes = ((size_t)1 << (f->limit + 1)) - 1;
    f->feat = malloc((size_t)n_trees * f->nodes * sizeof *f->feat);
    f->cut = malloc((size_t)n_trees * f->nodes * sizeof *f->cut);
    f->c = malloc(((size_t)psi + 1) * sizeof *f->c);
    if (!f->feat || !f->cut || !f->c) {
        iforest_free(f);
        return NULL;
    }
    for (size_t i = 0; i < (size_t)n_trees * f->nodes; i++) {
        f->feat[i] = NODE_UNUSED;
        f->cut[i] = 0;
    }
    for (int m = 0; m <= psi; m++) f->c[m] = iforest_c(m);
    return f;
}

void iforest_free(iforest *f)
{
    if (!f) return;
    free(f->feat);
    free(f->cut);
    free(f->c);
    free(f);
}

int iforest_dim(const iforest *f) { return f ? f->d : 0; }

/* Grows node `at` of one tree over the points idx[0..m) at depth `depth`. order is a
 * scratch permutation of the d features. */
static void grow(const iforest *f, int *feat, float *cut, size_t at, int depth, int *idx,
                 int m, const float *x, int *order, rng *r)
{
    int d = f->d;
    if (m <= 1 || depth >= f->limit) {
        feat[at] = NODE_LEAF;
        cut[at] = (float)m;
        return;
    }
    /* a random feature among those not constant here: draw without replacement */
    for (int j = 0; j < d; j++) order[j] = j;
    for (int left = d; left > 0; left--) {
        int pick = (int)rng_below(r, (uint64_t)left), q = order[pick];
        order[pick] = order[left - 1];
        float lo = x[(size_t)idx[0] * d + q], hi = lo;
        for (int i = 1; i < m; i++) {
            float v = x[(size_t)idx[i] * d + q];
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        if (!(hi > lo)) continue;
        float c = lo + (float)rng_uniform(r) * (hi - lo);
        if (!(c > lo) || c > hi) c = lo + 0.5f * (hi - lo); /* rounding: keep both sides */
        if (!(c > lo)) c = hi;
        int nl = 0; /* partition: x < c to the front */
        for (int i = 0; i < m; i++)
            if (x[(size_t)idx[i] * d + q] < c) {
                int t = idx[nl];
                idx[nl++] = idx[i];
                idx[i] = t;
            }
        feat[at] = q;
        cut[at] = c;
        grow(f, feat, cut, 2 * at + 1, depth + 1, idx, nl, x, order, r);
        grow(f, feat, cut, 2 * at + 2, depth + 1, idx + nl, m - nl, x, order, r);
        return;
    }
    feat[at] = NODE_LEAF; /* every feature constant: the points cannot be told apart */
    cut[at] = (float)m;
}

int iforest_fit(iforest **out, const float *x, size_t n, int d, const iforest_opts *o,
                dc_err *e)
{
    int rc = 0;
    int *perm = NULL, *order = NULL;
    iforest *f = NULL;
    *out = NULL;
    if (!x || n == 0 || n > (size_t)1 << 31 || d <= 0 || d > 1 << 20 || !o ||
        o->n_trees <= 0 || o->n_trees > 10000 || o->subsample < 2 || o->subsample > 1 << 20)
        return dc_err_set(e, DC_EINVAL,
                          "iforest_fit: bad n %zu, d %d, n_trees %d or subsample %d", n, d,
                          o ? o->n_trees : 0, o ? o->subsample : 0);
    for (size_t i = 0; i < n * (size_t)d; i++)
        if (!isfinite(x[i]))
            return dc_err_set(e, DC_EINVAL, "iforest_fit: non-finite value at row %zu",
                              i / (size_t)d);
    int psi = n < (size_t)o->subsample ? (int)n : o->subsample;
    f = alloc_forest(o->n_trees, psi, d);
    perm = malloc(n * sizeof *perm);
    order = malloc((size_t)d * sizeof *order);
    if (!f || !perm || !order) {
        rc = dc_err_set(e, DC_ENOMEM, "iforest_fit: out of memory (%d trees)", o->n_trees);
        goto out;
    }
    for (size_t i = 0; i < n; i++) perm[i] = (int)i;
    rng r;
    rng_seed(&r, o->seed ^ 0x1f0e57ULL);
    for (int t = 0; t < f->n_trees; t++) {
        /* psi points without replacement: a partial Fisher-Yates over perm */
        for (int i = 0; i < psi; i++) {
            size_t j = (size_t)i + (size_t)rng_below(&r, (uint64_t)(n - (size_t)i));
            int tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        grow(f, f->feat + (size_t)t * f->nodes, f->cut + (size_t)t * f->nodes, 0, 0, perm,
             psi, x, order, &r);
    }
    *out = f;
    f = NULL;
out:
    iforest_free(f);
    free(perm);
    free(order);
    return rc;
}

int iforest_score(const iforest *f, const float *x, size_t n, double *score, dc_err *e)
{
    if (!f || (!x && n) || (!score && n))
        return dc_err_set(e, DC_EINVAL, "iforest_score: no forest or no buffers");
    double norm = iforest_c((double)f->psi);
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * (size_t)f->d;
        double sum = 0;
        for (int t = 0; t < f->n_trees; t++) {
            const int *feat = f->feat + (size_t)t * f->nodes;
            const float *cut = f->cut + (size_t)t * f->nodes;
            size_t at = 0;
            int depth = 0;
            while (feat[at] >= 0) {
                at = xi[feat[at]] < cut[at] ? 2 * at + 1 : 2 * at + 2;
                depth++;
            }
            sum += depth + f->c[(int)cut[at]]; /* a leaf's size: 0..psi (fit, load) */
        }
        score[i] = pow(2.0, -(sum / f->n_trees) / norm);
    }
    return 0;
}

size_t iforest_saved_len(const iforest *f)
{
    return f ? 6 + 2 * (size_t)f->n_trees * f->nodes : 0;
}

int iforest_save(const iforest *f, double *buf, size_t cap, dc_err *e)
{
    size_t len = iforest_saved_len(f);
    if (!f || !buf || cap < len)
        return dc_err_set(e, DC_EINVAL, "iforest_save: buffer of %zu doubles, need %zu", cap,
                          len);
    buf[0] = IFOREST_MAGIC;
    buf[1] = IFOREST_VERSION;
    buf[2] = f->n_trees;
    buf[3] = f->psi;
    buf[4] = f->d;
    buf[5] = (double)f->nodes;
    for (size_t i = 0; i < (size_t)f->n_trees * f->nodes; i++) {
        buf[6 + 2 * i] = f->feat[i];
        buf[7 + 2 * i] = f->cut[i];
    }
    return 0;
}

/* v is a whole number in [lo, hi]? */
static int whole(double v, double lo, double hi) { return v >= lo && v <= hi && v == floor(v); }

int iforest_load(iforest **out, const double *buf, size_t len, dc_err *e)
{
    *out = NULL;
    if (!buf || len < 6 || buf[0] != IFOREST_MAGIC)
        return dc_err_set(e, DC_EFORMAT, "iforest_load: not an isolation forest");
    if (buf[1] != IFOREST_VERSION)
        return dc_err_set(e, DC_EFORMAT, "iforest_load: version %g, this build reads %d",
                          buf[1], IFOREST_VERSION);
    if (!whole(buf[2], 1, 10000) || !whole(buf[3], 2, 1 << 20) || !whole(buf[4], 1, 1 << 20))
        return dc_err_set(e, DC_EFORMAT, "iforest_load: bad header (%g trees, psi %g, d %g)",
                          buf[2], buf[3], buf[4]);
    /* the size the header implies, checked before anything is allocated for it */
    size_t nodes = ((size_t)1 << (height_limit((int)buf[3]) + 1)) - 1,
           want = 6 + 2 * (size_t)buf[2] * nodes;
    if (buf[5] != (double)nodes || len != want)
        return dc_err_set(e, DC_EFORMAT, "iforest_load: %zu doubles, expected %zu", len, want);
    iforest *f = alloc_forest((int)buf[2], (int)buf[3], (int)buf[4]);
    if (!f) return dc_err_set(e, DC_ENOMEM, "iforest_load: out of memory");
    for (size_t t = 0; t < (size_t)f->n_trees; t++)
        for (size_t a = 0; a < f->nodes; a++) {
            size_t i = t * f->nodes + a;
            double q = buf[6 + 2 * i], c = buf[7 + 2 * i];
            /* an internal node names a feature and has room for its children; a leaf
             * holds 0..psi points */
            int ok = q == NODE_UNUSED ? c == 0
                     : q == NODE_LEAF ? whole(c, 0, f->psi)
                                      : whole(q, 0, f->d - 1) && fabs(c) <= FLT_MAX &&
                                            2 * a + 2 < f->nodes; /* a float cut */
            if (!ok) {
                iforest_free(f);
                return dc_err_set(e, DC_EFORMAT, "iforest_load: tree %zu node %zu is invalid",
                                  t, a);
            }
            f->feat[i] = (int)q;
            f->cut[i] = (float)c;
        }
    /* every internal node's children exist (so a walk always ends on a leaf) */
    for (size_t t = 0; t < (size_t)f->n_trees; t++) {
        const int *feat = f->feat + t * f->nodes;
        if (feat[0] == NODE_UNUSED) goto bad;
        for (size_t a = 0; a < f->nodes; a++)
            if (feat[a] >= 0 && (feat[2 * a + 1] == NODE_UNUSED || feat[2 * a + 2] == NODE_UNUSED))
                goto bad;
        continue;
    bad:
        iforest_free(f);
        return dc_err_set(e, DC_EFORMAT, "iforest_load: tree %zu has a missing node", t);
    }
    *out = f;
    return 0;
}
