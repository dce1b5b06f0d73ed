/* kselect: criteria against scikit-learn, stability, the suggestion rule on hand-made
 * rows, the suggested k on generated data with known k (the floor of issue 14), the
 * consensus of noisy labellings.
 *
 * DC_KSELECT_VERBOSE=1 prints every generated case's criteria per k (what the rule was
 * designed from); DC_KSELECT_SEEDBASE=<n> draws other cases (the rule was tuned on
 * bases 1000, 5000, 9000, 13000 and checked on 17000 and 21000); DC_KSELECT_GMM=1 fits
 * the mixture too, for its BIC (slow). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kselect.h"
#include "metrics.h"
#include "rng.h"

/* ------------------------------------------------------------ scikit-learn fixture */

/* Made by tests/fixtures/gen_kselect.py with scikit-learn 1.2.1 (silhouette_score,
 * silhouette_samples, calinski_harabasz_score, davies_bouldin_score,
 * adjusted_rand_score), on these float32 values converted to double. Tolerance 1e-9:
 * both sides compute in double. */
static const float FX[20 * 3] = {
    0.70f, -0.98f, -1.57f, -2.92f, -0.35f, 1.25f,  0.03f, 0.51f, 1.02f,  -0.88f, 2.65f, -0.88f,
    0.37f, 2.74f,  -0.11f, 0.11f,  -0.51f, 0.33f,  0.87f, 0.35f, 1.69f,  3.21f,  0.76f, 0.37f,
    3.41f, 1.15f,  0.58f,  1.34f,  1.59f,  -0.67f, 3.79f, 0.98f, -1.00f, 2.93f,  -0.01f, 1.01f,
    -0.03f, 4.85f, -0.12f, 1.62f,  3.70f,  2.37f,  0.85f, 2.90f, 1.32f,  -0.54f, 4.41f, 2.43f,
    0.69f, 5.07f,  -0.17f, 0.20f,  4.36f,  2.09f,  -0.62f, 4.57f, 1.43f, 3.48f,  3.96f, 5.44f,
};
static const int FA[20] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3};
static const int FB[20] = {0, 0, 4, 0, 0, 0, 1, 1, 1, 4, 1, 1, 2, 2, 2, 2, 2, 2, 2, 4};
static const double FA_SIL = 0.307453594301, FA_CH = 11.708713543517, FA_DB = 0.863303857183;
static const double FB_SIL = 0.240229063344, FB_CH = 6.216538558789, FB_DB = 1.781953569106;
static const double FA_ARI_FB = 0.817873469990;
static const double FA_SAMPLES[20] = {
    -0.003213107322, 0.315914172761, 0.112425486086, 0.006498594408, -0.221148629388,
    0.143955007098,  -0.015115738381, 0.609060790819, 0.595024090363, 0.092883232801,
    0.486659654320,  0.515871800644, 0.507366198174, 0.342086441907, 0.323050924765,
    0.582198403635,  0.513063279884, 0.641037455665, 0.601453827770, 0.000000000000};

static void test_criteria_sklearn(void)
{
    double v;
    dc_err e = {0};
    /* A: 4 clusters, one a singleton (silhouette 0 there) */
    CHECK_EQ_INT(kselect_silhouette(FX, 20, 3, FA, 4, 0, 1, &v, &e), 0);
    CHECK_NEAR(v, FA_SIL, 1e-9);
    CHECK_EQ_INT(kselect_silhouette(FX, 20, 3, FA, 4, 50, 1, &v, &e), 0); /* m > n: all */
    CHECK_NEAR(v, FA_SIL, 1e-9);
    CHECK_EQ_INT(kselect_calinski_harabasz(FX, 20, 3, FA, 4, &v, &e), 0);
    CHECK_NEAR(v, FA_CH, 1e-9 * FA_CH);
    CHECK_EQ_INT(kselect_davies_bouldin(FX, 20, 3, FA, 4, &v, &e), 0);
    CHECK_NEAR(v, FA_DB, 1e-9);
    /* B: k = 5 with id 3 empty (ignored, as scikit-learn never sees it) */
    CHECK_EQ_INT(kselect_silhouette(FX, 20, 3, FB, 5, 0, 1, &v, &e), 0);
    CHECK_NEAR(v, FB_SIL, 1e-9);
    CHECK_EQ_INT(kselect_calinski_harabasz(FX, 20, 3, FB, 5, &v, &e), 0);
    CHECK_NEAR(v, FB_CH, 1e-9 * FB_CH);
    CHECK_EQ_INT(kselect_davies_bouldin(FX, 20, 3, FB, 5, &v, &e), 0);
    CHECK_NEAR(v, FB_DB, 1e-9);

    /* a sample of 8: the mean of scikit-learn's per-point silhouettes over the points
       drawn (partial Fisher-Yates with rng seeded 3, as kselect.c draws them) */
    size_t idx[20];
    for (size_t i = 0; i < 20; i++) idx[i] = i;
    rng g;
    rng_seed(&g, 3);
    double want = 0;
    for (size_t i = 0; i < 8; i++) {
        size_t j = i + (size_t)rng_below(&g, 20 - i), t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        want += FA_SAMPLES[idx[i]] / 8;
    }
    CHECK_EQ_INT(kselect_silhouette(FX, 20, 3, FA, 4, 8, 3, &v, &e), 0);
    CHECK_NEAR(v, want, 1e-9);
    CHECK_MSG(fabs(v - FA_SIL) > 1e-6, "a sample of 8 gave the full score %g", v);

    /* stability: mean pairwise ARI; renaming ids changes nothing */
    int perm[20];
    for (int i = 0; i < 20; i++) perm[i] = (FA[i] + 2) % 4;
    const int *two[2] = {FA, FB}, *three[3] = {FA, perm, FB};
    CHECK_EQ_INT(kselect_stability(two, 2, 20, &v, &e), 0);
    CHECK_NEAR(v, FA_ARI_FB, 1e-9);
    CHECK_EQ_INT(kselect_stability(three, 3, 20, &v, &e), 0);
    CHECK_NEAR(v, (1 + 2 * FA_ARI_FB) / 3, 1e-9);

    /* errors */
    int bad[20], one[20] = {0};
    memcpy(bad, FA, sizeof bad);
    bad[7] = 4;
    CHECK_EQ_INT(kselect_silhouette(FX, 20, 3, bad, 4, 0, 1, &v, &e), DC_EINVAL);
    CHECK_MSG(strstr(e.msg, "point 7") != NULL, "message: %s", e.msg);
    CHECK_EQ_INT(kselect_calinski_harabasz(FX, 20, 3, one, 3, &v, &e), DC_EINVAL);
    CHECK_EQ_INT(kselect_davies_bouldin(FX, 20, 3, FA, 1, &v, &e), DC_EINVAL);
    CHECK_EQ_INT(kselect_stability(two, 1, 20, &v, &e), DC_EINVAL);
}

/* ------------------------------------------------------------ the rule on hand rows */

static kselect_row row(int k, double sil, double ch)
{
    kselect_row r = {.k = k, .n_seeds = 1, .sil = sil, .ch = ch, .db = NAN, .sil_best = sil,
                     .ch_best = ch, .bic = NAN, .stability = NAN};
    return r;
}

static void test_suggest_rule(void)
{
    kselect_suggestion s;
    dc_err e = {0};
    /* best silhouette at 3; 4 is within 20% with a higher CH -> 4; 5 has the highest CH
       but is below 0.8 x 0.60; 2 has a high CH but is below k_sil */
    kselect_row r[5] = {row(2, 0.50, 900), row(3, 0.60, 300), row(4, 0.50, 400),
                        row(5, 0.47, 800), row(6, NAN, 5000)};
    CHECK_EQ_INT(kselect_suggest(r, 5, &s, &e), 0);
    CHECK_EQ_INT(s.k, 4);
    CHECK_EQ_INT(s.k_sil, 3);
    CHECK_EQ_INT(s.k_ch, 6); /* CH's own vote sees every row with a finite CH */
    CHECK_EQ_INT(s.k_bic, 0);
    CHECK_EQ_INT(s.k_stab, 0);
    CHECK_MSG(strstr(s.reason, "k = 4") && strstr(s.reason, "0.600 at k = 3"), "reason: %s", s.reason);
    printf("reason: %s\n", s.reason);
    /* no larger k with a higher CH: silhouette's k, said so */
    r[2].ch_best = 250;
    CHECK_EQ_INT(kselect_suggest(r, 5, &s, &e), 0);
    CHECK_EQ_INT(s.k, 3);
    CHECK_MSG(strstr(s.reason, "best silhouette") != NULL, "reason: %s", s.reason);
    /* votes of BIC, DB and stability are reported, not used */
    r[0].bic = 10, r[1].bic = 5, r[2].bic = 1;
    r[0].stability = 1, r[1].stability = 0.995, r[2].stability = 0.9;
    r[1].db = 0.4, r[3].db = 0.3;
    CHECK_EQ_INT(kselect_suggest(r, 5, &s, &e), 0);
    CHECK_EQ_INT(s.k, 3);
    CHECK_EQ_INT(s.k_bic, 4);
    CHECK_EQ_INT(s.k_db, 5);
    CHECK_EQ_INT(s.k_stab, 3);
    CHECK_MSG(strstr(s.reason, "BIC 4") && strstr(s.reason, "stability up to 3"), "reason: %s", s.reason);
    /* order of rows does not matter; ties go to the smaller k */
    kselect_row t[3] = {row(5, 0.5, 100), row(4, 0.5, 100), row(6, 0.2, 50)};
    CHECK_EQ_INT(kselect_suggest(t, 3, &s, &e), 0);
    CHECK_EQ_INT(s.k, 4);
    kselect_row none[1] = {row(3, NAN, 1)};
    CHECK_EQ_INT(kselect_suggest(none, 1, &s, &e), DC_EINVAL);

    /* rows from fits: means, population std, the best seed, the lowest BIC */
    kselect_fit f[3] = {{0.5, 100, 1.0, NAN}, {0.7, 50, 2.0, 30}, {0.6, 90, 3.0, 20}};
    int l0[4] = {0, 0, 1, 1}, l1[4] = {1, 1, 0, 0}, l2[4] = {0, 1, 1, 1};
    const int *ls[3] = {l0, l1, l2};
    kselect_row w;
    CHECK_EQ_INT(kselect_row_from_fits(2, f, 3, ls, 4, &w, &e), 0);
    CHECK_NEAR(w.sil, 0.6, 1e-12);
    CHECK_NEAR(w.sil_std, sqrt(0.02 / 3), 1e-12);
    CHECK_NEAR(w.ch, 80, 1e-12);
    CHECK_NEAR(w.db, 2, 1e-12);
    CHECK_NEAR(w.sil_best, 0.7, 0);
    CHECK_NEAR(w.ch_best, 50, 0);
    CHECK_NEAR(w.bic, 20, 0);
    double a02;
    metrics_ari(l0, l2, 4, &a02, NULL);
    CHECK_NEAR(w.stability, (1 + 2 * a02) / 3, 1e-12);
    CHECK_EQ_INT(kselect_row_from_fits(2, f, 1, NULL, 4, &w, &e), 0);
    CHECK(isnan(w.stability) && isnan(w.bic));
}

/* ------------------------------------------------------------ generated cases */

typedef struct gen_case {
    int k, d;
    double sep;  /* smallest distance between two centres, in units of the noise's std */
    int unequal; /* cluster sizes cycle 1, 2, 4 x base (else all base) */
    int base;    /* points per unit of size */
    uint64_t seed;
} gen_case;

/* Centres uniform in a cube, rescaled so that the closest pair is exactly sep apart;
 * cluster c has isotropic noise of std s_c in [0.75, 1.25] (the separation is in units
 * of the larger one). Returns X (n, d), truth (n); caller frees both. */
static float *gen_points(const gen_case *g, size_t *n_out, int **truth_out)
{
    rng r;
    rng_seed(&r, g->seed);
    int k = g->k, d = g->d;
    double *cen = malloc((size_t)k * d * sizeof *cen), scale[64];
    for (int i = 0; i < k * d; i++) cen[i] = rng_uniform(&r) * 2 - 1;
    double dmin = INFINITY;
    for (int a = 0; a < k; a++)
        for (int b = a + 1; b < k; b++) {
            double s = 0;
            for (int t = 0; t < d; t++) {
                double df = cen[a * d + t] - cen[b * d + t];
                s += df * df;
            }
            if (sqrt(s) < dmin) dmin = sqrt(s);
        }
    for (int c = 0; c < k; c++) scale[c] = 0.75 + 0.5 * rng_uniform(&r);
    for (int i = 0; i < k * d; i++) cen[i] *= g->sep * 1.25 / dmin;
    size_t n = 0, sizes[64];
    static const int w[3] = {1, 2, 4};
    for (int c = 0; c < k; c++) n += sizes[c] = (size_t)g->base * (g->unequal ? w[c % 3] : 2);
    float *X = malloc(n * d * sizeof *X);
    int *truth = malloc(n * sizeof *truth);
    size_t i = 0;
    for (int c = 0; c < k; c++)
        for (size_t j = 0; j < sizes[c]; j++, i++) {
            truth[i] = c;
            for (int t = 0; t < d; t++)
                X[i * d + t] = (float)(cen[c * d + t] + scale[c] * rng_normal(&r));
        }
    free(cen);
    *n_out = n;
    *truth_out = truth;
    return X;
}

/* The largest relative change delta (from a ladder 0.1 ... 1e-6) such that changing any
 * one silhouette or CH value of rows by a factor 1 +- delta leaves the suggestion as it
 * is: how far a rounding difference in the fits would have to move a criterion to flip
 * the answer. 0 if even 1e-6 flips it. */
static double rule_margin(const kselect_row *rows, int n_rows, int k)
{
    static const double ladder[] = {1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 1e-5, 1e-6};
    kselect_row t[32];
    kselect_suggestion s;
    for (size_t li = 0; li < sizeof ladder / sizeof *ladder; li++) {
        int flips = 0;
        for (int r = 0; r < n_rows && !flips; r++)
            for (int f = 0; f < 4 && !flips; f++) {
                memcpy(t, rows, (size_t)n_rows * sizeof *t);
                double *v = f < 2 ? &t[r].sil_best : &t[r].ch_best;
                *v *= f % 2 ? 1 - ladder[li] : 1 + ladder[li];
                flips = kselect_suggest(t, n_rows, &s, NULL) != 0 || s.k != k;
            }
        if (!flips) return ladder[li];
    }
    return 0;
}

static void test_suggest_floor(void)
{
    static const int dims[4] = {2, 5, 10, 20};
    static const double seps[3] = {5, 7, 10};
    static const uint64_t bases[2] = {1000, 17000};
    int verbose = getenv("DC_KSELECT_VERBOSE") != NULL, right = 0, total = 0, nb = 2;
    uint64_t one = getenv("DC_KSELECT_SEEDBASE") ? strtoull(getenv("DC_KSELECT_SEEDBASE"), NULL, 10) : 0;
    double worst_margin = INFINITY;
    if (one) nb = 1;
    for (int bi = 0; bi < nb; bi++)
        for (int di = 0; di < 4; di++)
            for (int k = 3; k <= 12; k++) {
                gen_case g = {k, dims[di], seps[(k + di) % 3], (k + di) % 2, 50,
                              (one ? one : bases[bi]) + (uint64_t)(di * 100 + k)};
                size_t n;
                int *truth;
                float *X = gen_points(&g, &n, &truth);
                kselect_opts o;
                kselect_opts_default(&o);
                o.k_min = 2;
                o.k_max = 15;
                o.sample = 500;
                o.seed = 7;
                o.use_gmm = getenv("DC_KSELECT_GMM") != NULL;
                kselect_row rows[14];
                kselect_suggestion s;
                dc_err e = {0};
                int rc = kselect_run(X, n, g.d, &o, rows, &s, &e);
                CHECK_MSG(rc == 0, "kselect_run: %s", e.msg);
                total++;
                double margin = rc == 0 ? rule_margin(rows, 14, s.k) : 0;
                if (rc == 0 && s.k == k) {
                    right++;
                    worst_margin = fmin(worst_margin, margin);
                }
                printf("case d %2d k %2d sep %4.1f %s n %5zu: suggested %2d (sil %d ch %d db %d bic %d "
                       "stab %d) margin %.2g%s\n",
                       g.d, k, g.sep, g.unequal ? "unequal" : "equal  ", n, s.k, s.k_sil, s.k_ch,
                       s.k_db, s.k_bic, s.k_stab, margin, s.k == k ? "" : "  WRONG");
                if (verbose)
                    for (int r = 0; r < 14; r++)
                        printf("   k %2d sil %.4f±%.4f ch %10.1f db %.3f bic %12.1f stab %.4f silb %.4f chb %.1f\n",
                               rows[r].k, rows[r].sil, rows[r].sil_std, rows[r].ch, rows[r].db,
                               rows[r].bic, rows[r].stability, rows[r].sil_best, rows[r].ch_best);
                free(X);
                free(truth);
            }
    /* the criteria are double loops without BLAS; only the k-means labels go through
       GEMM. Every right answer must survive a 1e-4 relative change of any one criterion
       value, far above what another kernel's rounding does to a sum over points (when
       it does not move a point, which the fits' stability across seeds measures) */
    printf("smallest margin of a right answer: %.3g\n", worst_margin);
    CHECK_MSG(worst_margin >= 1e-4, "a right answer flips under a relative change of %g", worst_margin);
    CHECK_MIN((double)right / total, 0.90, "kselect suggested k right (rate over generated cases)");
}

/* kselect_run with the mixture, once, small: BIC is filled and votes; same call, same rows */
static void test_run_gmm_and_repeat(void)
{
    gen_case g = {4, 2, 8, 1, 40, 77};
    size_t n;
    int *truth;
    float *X = gen_points(&g, &n, &truth);
    kselect_opts o;
    kselect_opts_default(&o);
    o.k_min = 2;
    o.k_max = 6;
    o.use_gmm = 1;
    kselect_row a[5], b[5];
    kselect_suggestion s, t;
    dc_err e = {0};
    CHECK_EQ_INT(kselect_run(X, n, 2, &o, a, &s, &e), 0);
    CHECK_EQ_INT(s.k, 4);
    CHECK_EQ_INT(s.k_bic, 4);
    for (int r = 0; r < 5; r++) CHECK(a[r].k == 2 + r && isfinite(a[r].bic) && isfinite(a[r].stability));
    printf("reason: %s\n", s.reason);
    CHECK_EQ_INT(kselect_run(X, n, 2, &o, b, &t, &e), 0);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(strcmp(s.reason, t.reason) == 0);
    o.k_max = (int)n;
    CHECK_EQ_INT(kselect_run(X, n, 2, &o, a, &s, &e), DC_EINVAL);
    free(X);
    free(truth);
}

/* ------------------------------------------------------------ consensus */

static void test_consensus_tiny(void)
{
    /* 3 labellings of 6 points: the second is the first renamed, the third moves point 2.
       ARIs to each other: 1, 0.324324324324 (scikit-learn), so the medoid is the first;
       the vote gives the first back. */
    int l0[6] = {0, 0, 0, 1, 1, 1}, l1[6] = {1, 1, 1, 0, 0, 0}, l2[6] = {0, 0, 1, 1, 1, 1};
    const int *ls[3] = {l0, l1, l2};
    int c[6];
    double agree[3];
    dc_err e = {0};
    CHECK_EQ_INT(kselect_consensus(ls, 3, 6, 2, c, agree, &e), 0);
    CHECK(memcmp(c, l0, sizeof c) == 0);
    CHECK_NEAR(agree[0], 1, 1e-12);
    CHECK_NEAR(agree[1], 1, 1e-12);
    CHECK_NEAR(agree[2], 0.324324324324, 1e-9);
    /* two labellings that disagree on one point: a 1-1 tie, which goes to the
       reference (the first, lowest index among equal medoids) */
    int m0[4] = {0, 0, 1, 1}, m1[4] = {1, 0, 0, 0};
    const int *ms[2] = {m0, m1};
    CHECK_EQ_INT(kselect_consensus(ms, 2, 4, 2, c, NULL, &e), 0);
    CHECK(memcmp(c, m0, 4 * sizeof *c) == 0);
    /* one labelling: itself */
    CHECK_EQ_INT(kselect_consensus(ms + 1, 1, 4, 2, c, agree, &e), 0);
    CHECK(memcmp(c, m1, 4 * sizeof *c) == 0);
    CHECK_NEAR(agree[0], 1, 0);
    /* errors */
    m1[3] = 2;
    CHECK_EQ_INT(kselect_consensus(ms, 2, 4, 2, c, NULL, &e), DC_EINVAL);
    CHECK_MSG(strstr(e.msg, "labelling 1") != NULL, "message: %s", e.msg);
    CHECK_EQ_INT(kselect_consensus(ms, 0, 4, 2, c, NULL, &e), DC_EINVAL);
}

/* 5 noisy copies of a known partition: ids permuted, 10%, 12.5%, ... 20% of the points
 * moved to another cluster at random. The consensus recovers the partition better than
 * any copy, and the copy with the least noise agrees most with it. */
static void test_consensus_noisy(void)
{
    size_t n = 1200;
    int k = 6, L = 5, *truth = malloc(n * sizeof *truth), *lab[5], *cons = malloc(n * sizeof *cons);
    rng g;
    rng_seed(&g, 2024);
    for (size_t i = 0; i < n; i++) truth[i] = (int)rng_below(&g, (uint64_t)k);
    double best_single = -1, agree[5], ari;
    for (int l = 0; l < L; l++) {
        int perm[6] = {0, 1, 2, 3, 4, 5};
        rng_shuffle(&g, perm, 6);
        lab[l] = malloc(n * sizeof *lab[l]);
        double flip = 0.10 + 0.025 * l;
        for (size_t i = 0; i < n; i++) {
            int c = truth[i];
            if (rng_uniform(&g) < flip) c = (c + 1 + (int)rng_below(&g, (uint64_t)k - 1)) % k;
            lab[l][i] = perm[c];
        }
        metrics_ari(lab[l], truth, n, &ari, NULL);
        if (ari > best_single) best_single = ari;
    }
    dc_err e = {0};
    CHECK_EQ_INT(kselect_consensus((const int *const *)lab, L, n, k, cons, agree, &e), 0);
    double acc;
    metrics_ari(cons, truth, n, &ari, NULL);
    metrics_acc(cons, truth, n, &acc, NULL);
    printf("consensus ARI %.4f ACC %.4f, best single ARI %.4f; agreement %.3f %.3f %.3f %.3f %.3f\n",
           ari, acc, best_single, agree[0], agree[1], agree[2], agree[3], agree[4]);
    CHECK_MSG(ari > best_single + 0.1, "consensus ARI %.4f, best single %.4f", ari, best_single);
    CHECK_MSG(acc > 0.98, "consensus ACC %.4f", acc);
    for (int l = 1; l < L; l++)
        CHECK_MSG(agree[0] > agree[l], "agreement of the least noisy %.4f, of copy %d %.4f",
                  agree[0], l, agree[l]);
    for (int l = 0; l < L; l++) free(lab[l]);
    free(truth);
    free(cons);
}

int main(void)
{
    test_criteria_sklearn();
    test_suggest_rule();
    test_consensus_tiny();
    test_consensus_noisy();
    test_run_gmm_and_repeat();
    test_suggest_floor();
    return CHECK_DONE();
}
