/* kselect: criteria against scikit-learn, stability, the suggested k on generated data
 * with known k (the floor of issue 14), consensus of noisy labellings.
 *
 * DC_KSELECT_VERBOSE=1 prints every case's criteria per k (what the rule was designed
 * from). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kselect.h"
#include "metrics.h"
#include "rng.h"

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

static void test_suggest_floor(void)
{
    static const int dims[4] = {2, 5, 10, 20};
    static const double seps[3] = {5, 7, 10};
    int verbose = getenv("DC_KSELECT_VERBOSE") != NULL, right = 0, total = 0;
    uint64_t base = getenv("DC_KSELECT_SEEDBASE") ? strtoull(getenv("DC_KSELECT_SEEDBASE"), NULL, 10) : 1000;
    for (int di = 0; di < 4; di++)
        for (int k = 3; k <= 12; k++) {
            gen_case g = {k, dims[di], seps[(k + di) % 3], (k + di) % 2, 50,
                          base + (uint64_t)(di * 100 + k)};
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
            right += rc == 0 && s.k == k;
            printf("case d %2d k %2d sep %4.1f %s n %5zu: suggested %2d (sil %d ch %d bic %d stab %d)%s\n",
                   g.d, k, g.sep, g.unequal ? "unequal" : "equal  ", n, s.k, s.k_sil, s.k_ch,
                   s.k_bic, s.k_stab, s.k == k ? "" : "  WRONG");
            if (verbose)
                for (int r = 0; r < 14; r++)
                    printf("   k %2d sil %.4f±%.4f ch %10.1f db %.3f bic %12.1f stab %.4f silb %.4f chb %.1f\n",
                           rows[r].k, rows[r].sil, rows[r].sil_std, rows[r].ch, rows[r].db,
                           rows[r].bic, rows[r].stability, rows[r].sil_best, rows[r].ch_best);
            free(X);
            free(truth);
        }
    CHECK_MIN((double)right / total, 0.90, "kselect suggested k right (rate over generated cases)");
}

int main(void)
{
    test_suggest_floor();
    return CHECK_DONE();
}
