/* metrics: golden ACC/NMI/ARI from scikit-learn + scipy (tests/fixtures/metrics_cases.txt,
 * made by tests/fixtures/gen_metrics.py), Hungarian vs brute force over all matchings on
 * many small random matrices, confusion matrix remapping, invalid arguments. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metrics.h"
#include "rng.h"

#define FIX_TOL 1e-12

/* Best total over injective matchings of the smaller side into the larger, brute force. */
static double brute_best(const double *cost, int rows, int cols, int r, int *used, double acc,
                         double best)
{
    int small = rows <= cols ? rows : cols, large = rows <= cols ? cols : rows;
    if (r == small) return acc < best ? acc : best;
    for (int j = 0; j < large; j++) {
        if (used[j]) continue;
        used[j] = 1;
        double c = rows <= cols ? cost[r * cols + j] : cost[j * cols + r];
        best = brute_best(cost, rows, cols, r + 1, used, acc + c, best);
        used[j] = 0;
    }
    return best;
}

static void test_hungarian_brute(void)
{
    rng g;
    rng_seed(&g, 7);
    int bad = 0, cases = 0;
    for (int t = 0; t < 600; t++) {
        int rows = 1 + (int)rng_below(&g, 6), cols = 1 + (int)rng_below(&g, 6);
        double cost[36];
        int assign[6], used[6] = {0};
        for (int i = 0; i < rows * cols; i++)
            /* integer costs with many ties half of the time, reals otherwise */
            cost[i] = (t & 1) ? (double)rng_below(&g, 4) : rng_uniform(&g) * 10 - 5;
        int rc = metrics_hungarian(cost, rows, cols, assign, NULL);
        double got = 0;
        int pairs = 0, colseen[6] = {0}, valid = rc == 0;
        for (int r = 0; r < rows && valid; r++) {
            if (assign[r] < 0) continue;
            if (assign[r] >= cols || colseen[assign[r]]) valid = 0;
            else {
                colseen[assign[r]] = 1;
                got += cost[r * cols + assign[r]];
                pairs++;
            }
        }
        int want_pairs = rows < cols ? rows : cols;
        double want = brute_best(cost, rows, cols, 0, used, 0, INFINITY);
        cases++;
        if (!valid || pairs != want_pairs || fabs(got - want) > 1e-9) {
            if (bad++ < 5)
                fprintf(stderr, "hungarian %dx%d case %d: expected cost %g with %d pairs, got %g with %d (rc %d)\n",
                        rows, cols, t, want, want_pairs, got, pairs, rc);
        }
    }
    CHECK_MSG(bad == 0, "%d of %d random matrices wrong", bad, cases);
}

/* ACC by brute force over all matchings of the confusion matrix. */
static void test_acc_brute(void)
{
    rng g;
    rng_seed(&g, 11);
    int bad = 0;
    for (int t = 0; t < 300; t++) {
        int k = 1 + (int)rng_below(&g, 6), c = 1 + (int)rng_below(&g, 6), n = 5 + (int)rng_below(&g, 60);
        int pred[64], truth[64];
        for (int i = 0; i < n; i++) {
            truth[i] = (int)rng_below(&g, (uint64_t)c) * 3; /* sparse ids: 0, 3, 6, ... */
            pred[i] = rng_uniform(&g) < 0.5 ? truth[i] / 3 % k : (int)rng_below(&g, (uint64_t)k);
        }
        metrics_confusion cm;
        double acc = -1;
        if (metrics_confusion_build(pred, truth, (size_t)n, &cm, NULL) ||
            metrics_acc_cm(&cm, &acc, NULL, NULL)) {
            bad++;
            continue;
        }
        double cost[36];
        int used[6] = {0};
        for (int i = 0; i < cm.k * cm.c; i++) cost[i] = -(double)cm.counts[i];
        double want = -brute_best(cost, cm.k, cm.c, 0, used, 0, INFINITY) / n;
        if (fabs(acc - want) > 1e-12 && bad++ < 5)
            fprintf(stderr, "acc case %d (k %d c %d n %d): expected %.6f, got %.6f\n", t, cm.k, cm.c, n,
                    want, acc);
        metrics_confusion_free(&cm);
    }
    CHECK_EQ_INT(bad, 0);
}

static void test_confusion(void)
{
    int pred[] = {9, 9, 4, 4, 4, 100}, truth[] = {1, 2, 1, 1, 0, 2};
    metrics_confusion cm;
    CHECK_EQ_INT(metrics_confusion_build(pred, truth, 6, &cm, NULL), 0);
    CHECK_EQ_INT(cm.k, 3);
    CHECK_EQ_INT(cm.c, 3);
    CHECK_EQ_INT(cm.pred_ids[0], 4);
    CHECK_EQ_INT(cm.pred_ids[2], 100);
    /* rows 4, 9, 100; columns 0, 1, 2 */
    long want[9] = {1, 2, 0, 0, 1, 1, 0, 0, 1};
    int same = 1;
    for (int i = 0; i < 9; i++) same &= cm.counts[i] == want[i];
    CHECK(same);
    double acc;
    int assign[3];
    CHECK_EQ_INT(metrics_acc_cm(&cm, &acc, assign, NULL), 0);
    CHECK_NEAR(acc, 3.0 / 6, 1e-15); /* 4->1 (2) + 100->2 (1) */
    CHECK_EQ_INT(assign[0], 1); /* cluster 4 -> class 1 */
    metrics_confusion_free(&cm);
    metrics_confusion_free(&cm); /* zeroed: safe again */
}

static void test_invalid(void)
{
    int a[] = {0, 1, 2}, neg[] = {0, -1, 2};
    dc_err e = {0};
    double v;
    CHECK_EQ_INT(metrics_acc(a, a, 0, &v, &e), DC_EINVAL);
    CHECK(strlen(e.msg) > 0);
    e.msg[0] = 0;
    CHECK_EQ_INT(metrics_nmi(a, neg, 3, &v, &e), DC_EINVAL);
    CHECK(strstr(e.msg, ">= 0") != NULL);
    CHECK_EQ_INT(metrics_ari(NULL, a, 3, &v, NULL), DC_EINVAL);
    int as[2];
    double c[1] = {INFINITY};
    CHECK_EQ_INT(metrics_hungarian(c, 1, 1, as, NULL), DC_EINVAL);
    CHECK_EQ_INT(metrics_hungarian(c, 0, 1, as, NULL), DC_EINVAL);
}

static int read_ints(FILE *f, const char *tag, int *v, int n)
{
    char word[16];
    if (fscanf(f, "%15s", word) != 1 || strcmp(word, tag)) return -1;
    for (int i = 0; i < n; i++)
        if (fscanf(f, "%d", &v[i]) != 1) return -1;
    return 0;
}

static void test_fixtures(void)
{
    const char *src = getenv("DC_SRC");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/metrics_cases.txt", src ? src : "..");
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s (set DC_SRC to the source dir)", path);
    if (!f) return;
    char name[128];
    int n, cases = 0;
    while (fscanf(f, " case %127s %d", name, &n) == 2) {
        int *pred = malloc(n * sizeof *pred), *truth = malloc(n * sizeof *truth);
        double acc, nmi, ari;
        int ok = pred && truth && !read_ints(f, "pred", pred, n) && !read_ints(f, "true", truth, n) &&
                 fscanf(f, " expect %lf %lf %lf", &acc, &nmi, &ari) == 3;
        CHECK_MSG(ok, "malformed fixture case %s", name);
        if (ok) {
            metrics_scores s;
            dc_err e = {0};
            int rc = metrics_all(pred, truth, (size_t)n, &s, &e);
            CHECK_MSG(rc == 0, "%s: rc %d (%s)", name, rc, e.msg);
            CHECK_MSG(fabs(s.acc - acc) <= FIX_TOL, "%s ACC: expected %.15g, got %.15g", name, acc, s.acc);
            CHECK_MSG(fabs(s.nmi - nmi) <= FIX_TOL, "%s NMI: expected %.15g, got %.15g", name, nmi, s.nmi);
            CHECK_MSG(fabs(s.ari - ari) <= FIX_TOL, "%s ARI: expected %.15g, got %.15g", name, ari, s.ari);
            /* the single-metric entry points agree with metrics_all */
            double v;
            CHECK(metrics_nmi(pred, truth, (size_t)n, &v, NULL) == 0 && v == s.nmi);
            CHECK(metrics_ari(pred, truth, (size_t)n, &v, NULL) == 0 && v == s.ari);
            CHECK(metrics_acc(pred, truth, (size_t)n, &v, NULL) == 0 && v == s.acc);
            cases++;
        }
        free(pred);
        free(truth);
    }
    fclose(f);
    CHECK_MSG(cases >= 17, "expected at least 17 fixture cases, read %d", cases);
}

int main(void)
{
    test_confusion();
    test_hungarian_brute();
    test_acc_brute();
    test_invalid();
    test_fixtures();
    return CHECK_DONE();
}
