/* test_iforest: the isolation forest (core/iforest.h). c(m) against scikit-learn's
 * _average_path_length (values printed by /usr/bin/python3: sklearn.ensemble._iforest.
 * _average_path_length([256, 3, 100, 2, 1])); planted outliers in generated blobs rank at
 * the top (issue 13: recall >= 0.9 among the top 1%, every case and seed); the score's
 * range; the same seed gives the same forest; save/load round trip and refusal of
 * damaged buffers; bad input refused. No BLAS: the same bits on every machine. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blobs_testutil.h"
#include "check.h"
#include "iforest.h"

static void test_c(void)
{
    CHECK_NEAR(iforest_c(256), 10.244770920, 1e-8);
    CHECK_NEAR(iforest_c(3), 1.207392358, 1e-8);
    CHECK_NEAR(iforest_c(100), 8.364671030, 1e-8);
    CHECK(iforest_c(2) == 1.0 && iforest_c(1) == 0.0 && iforest_c(0) == 0.0);
}

/* n inliers (k blobs, unit noise, centres in [-spread, spread]^d) followed by m outliers
 * drawn uniformly in [-2 spread, 2 spread]^d at least `gap` from every centre. */
static float *planted(size_t n, size_t m, int d, int k, double spread, double gap,
                      uint64_t seed)
{
    int *truth = malloc(n * sizeof *truth);
    float *in = blobs(n, d, k, spread, seed, truth);
    float *x = malloc((n + m) * (size_t)d * sizeof *x);
    memcpy(x, in, n * (size_t)d * sizeof *x);
    /* the centres: the mean of each blob */
    double *cent = calloc((size_t)k * d, sizeof *cent);
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) cent[(size_t)truth[i] * d + j] += in[i * d + j] / (double)(n / k);
    rng r;
    rng_seed(&r, seed + 99);
    for (size_t o = 0; o < m;) {
        float *p = x + (n + o) * (size_t)d;
        double best = INFINITY;
        for (int j = 0; j < d; j++) p[j] = (float)((rng_uniform(&r) * 2 - 1) * 2 * spread);
        for (int c = 0; c < k; c++) {
            double s = 0;
            for (int j = 0; j < d; j++) s += (p[j] - cent[c * d + j]) * (p[j] - cent[c * d + j]);
            if (s < best) best = s;
        }
        if (sqrt(best) >= gap) o++;
    }
    free(cent);
    free(in);
    free(truth);
    return x;
}

static const double *sort_scores;
static int cmp_idx(const void *a, const void *b)
{
    double x = sort_scores[*(const int *)a], y = sort_scores[*(const int *)b];
    return x < y ? 1 : x > y ? -1 : *(const int *)a - *(const int *)b;
}

/* recall of the m planted points (the last m) among the top m scores */
static double top_recall(const double *score, size_t n, size_t m)
{
    int *idx = malloc((n + m) * sizeof *idx);
    for (size_t i = 0; i < n + m; i++) idx[i] = (int)i;
    sort_scores = score;
    qsort(idx, n + m, sizeof *idx, cmp_idx);
    size_t hit = 0;
    for (size_t i = 0; i < m; i++) hit += (size_t)idx[i] >= n;
    free(idx);
    return (double)hit / (double)m;
}

static void test_planted(void)
{
    /* d, k, spread, gap (in noise sigmas): a 10-D case like n2d's embedding, a 5-D one and
     * a 2-D one. Outliers only 5-6 sigma from the blobs (and between them) are harder:
     * in 2-D scikit-learn's IsolationForest found 0.89-0.98 of them in its top 1% (seeds
     * 1-3), this one 0.87-0.92, and in 5-D at 6-7 sigma this one 0.90-0.93; the gaps
     * below leave a margin (worst case measured 0.94). */
    const struct { int d, k; double spread, gap; } cases[] = {
        {10, 10, 8, 6}, {5, 8, 8, 9}, {2, 5, 10, 8}};
    double worst = 1;
    for (int c = 0; c < 3; c++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            size_t n = 9900, m = 100; /* m = 1% of the points */
            float *x = planted(n, m, cases[c].d, cases[c].k, cases[c].spread, cases[c].gap, seed);
            iforest_opts o;
            iforest_opts_default(&o);
            o.seed = seed;
            iforest *f = NULL;
            dc_err e = {0};
            double *s = malloc((n + m) * sizeof *s);
            CHECK(iforest_fit(&f, x, n + m, cases[c].d, &o, &e) == 0);
            CHECK(iforest_score(f, x, n + m, s, &e) == 0);
            double lo = 1, hi = 0, in_mean = 0, out_mean = 0;
            for (size_t i = 0; i < n + m; i++) {
                lo = s[i] < lo ? s[i] : lo;
                hi = s[i] > hi ? s[i] : hi;
                if (i < n) in_mean += s[i] / (double)n;
                else out_mean += s[i] / (double)m;
            }
            double rec = top_recall(s, n, m);
            printf("d %d seed %llu: recall in the top 1%% %.2f, mean score inliers %.3f, "
                   "outliers %.3f, range [%.3f, %.3f]\n",
                   cases[c].d, (unsigned long long)seed, rec, in_mean, out_mean, lo, hi);
            CHECK(lo > 0 && hi <= 1);
            CHECK(in_mean < 0.5 && out_mean > in_mean + 0.1);
            worst = rec < worst ? rec : worst;
            iforest_free(f);
            free(s);
            free(x);
        }
    CHECK_MIN(worst, 0.9, "iforest: planted outliers' recall in the top 1% (worst case)");
}

static void test_determinism_and_io(void)
{
    size_t n = 2000, m = 20;
    float *x = planted(n, m, 5, 4, 6, 5, 7);
    iforest_opts o;
    iforest_opts_default(&o);
    o.seed = 3;
    iforest *a = NULL, *b = NULL, *c = NULL;
    dc_err e = {0};
    CHECK(iforest_fit(&a, x, n + m, 5, &o, &e) == 0);
    CHECK(iforest_fit(&b, x, n + m, 5, &o, &e) == 0);
    double *sa = malloc((n + m) * sizeof *sa), *sb = malloc((n + m) * sizeof *sb);
    iforest_score(a, x, n + m, sa, NULL);
    iforest_score(b, x, n + m, sb, NULL);
    CHECK(memcmp(sa, sb, (n + m) * sizeof *sa) == 0);
    o.seed = 4; /* another seed: another forest, similar ranking */
    iforest_free(b);
    CHECK(iforest_fit(&b, x, n + m, 5, &o, &e) == 0);
    iforest_score(b, x, n + m, sb, NULL);
    CHECK(memcmp(sa, sb, (n + m) * sizeof *sa) != 0);

    size_t len = iforest_saved_len(a);
    double *buf = malloc(len * sizeof *buf);
    CHECK(iforest_save(a, buf, len - 1, &e) == DC_EINVAL);
    CHECK(iforest_save(a, buf, len, &e) == 0);
    CHECK(iforest_load(&c, buf, len, &e) == 0);
    iforest_score(c, x, n + m, sb, NULL);
    CHECK(memcmp(sa, sb, (n + m) * sizeof *sa) == 0);
    CHECK(iforest_dim(c) == 5);
    iforest_free(c);
    c = NULL;
    /* damaged buffers: each refused with DC_EFORMAT, never a crash */
    CHECK(iforest_load(&c, buf, len - 1, &e) == DC_EFORMAT && !c);
    /* a short buffer whose header claims the largest forest: refused before any allocation
     * for it (found by fuzz_iforest: it used to allocate 10,000 x 2^21 nodes first) */
    double huge[6] = {IFOREST_MAGIC, IFOREST_VERSION, 10000, 1 << 20, 5, (double)((1 << 21) - 1)};
    CHECK(iforest_load(&c, huge, 6, &e) == DC_EFORMAT && !c);
    double keep = buf[0];
    buf[0] = 1;
    CHECK(iforest_load(&c, buf, len, &e) == DC_EFORMAT && !c);
    buf[0] = keep;
    keep = buf[6];
    buf[6] = 5; /* root's feature out of range (d = 5) */
    CHECK(iforest_load(&c, buf, len, &e) == DC_EFORMAT && !c);
    buf[6] = 0; /* root's cut beyond float range (found by fuzz/fuzz_iforest.c) */
    double keep_cut = buf[7];
    buf[7] = 1e300;
    CHECK(iforest_load(&c, buf, len, &e) == DC_EFORMAT && !c);
    buf[7] = keep_cut;
    buf[6] = -2; /* root unused */
    CHECK(iforest_load(&c, buf, len, &e) == DC_EFORMAT && !c);
    buf[6] = keep;
    /* an internal node whose child is marked unused */
    size_t nodes = (size_t)buf[5];
    for (size_t a2 = 0; 2 * a2 + 2 < nodes; a2++)
        if (buf[6 + 2 * a2] >= 0) {
            double k2 = buf[6 + 2 * (2 * a2 + 1)], k3 = buf[7 + 2 * (2 * a2 + 1)];
            buf[6 + 2 * (2 * a2 + 1)] = -2;
            buf[7 + 2 * (2 * a2 + 1)] = 0;
            CHECK(iforest_load(&c, buf, len, &e) == DC_EFORMAT && !c);
            buf[6 + 2 * (2 * a2 + 1)] = k2;
            buf[7 + 2 * (2 * a2 + 1)] = k3;
            break;
        }
    CHECK(iforest_load(&c, buf, len, &e) == 0);
    iforest_free(c);
    free(buf);

    /* bad input */
    iforest *z = NULL;
    CHECK(iforest_fit(&z, x, 0, 5, &o, &e) == DC_EINVAL && !z);
    CHECK(iforest_fit(&z, x, n, 0, &o, &e) == DC_EINVAL && !z);
    o.subsample = 1;
    CHECK(iforest_fit(&z, x, n, 5, &o, &e) == DC_EINVAL && !z);
    iforest_opts_default(&o);
    x[17] = NAN;
    CHECK(iforest_fit(&z, x, n, 5, &o, &e) == DC_EINVAL && !z);
    x[17] = 0;
    /* fewer points than the subsample: psi = n, still a forest; constant data: leaves */
    float flat[8 * 3] = {0};
    CHECK(iforest_fit(&z, flat, 8, 3, &o, &e) == 0);
    double s8[8];
    CHECK(iforest_score(z, flat, 8, s8, &e) == 0);
    CHECK(s8[0] == s8[7] && s8[0] > 0 && s8[0] <= 1);
    iforest_free(z);
    iforest_free(a);
    iforest_free(b);
    free(sa), free(sb), free(x);
}

int main(void)
{
    test_c();
    test_planted();
    test_determinism_and_io();
    return CHECK_DONE();
}
