/* gmm: our EM against scikit-learn's GaussianMixture on a stored 3-component 4-D mixture
 * (tests/fixtures/gmm_cases.txt, made by tests/fixtures/gen_gmm.py), log-likelihood never
 * decreasing, responsibilities summing to 1, the Cholesky E-step against the naive
 * explicit-inverse reference, predict reproducing the fit, 5 separated blobs in 10-D,
 * threads, degenerate inputs (duplicates, rank deficiency, a dead component, k = n),
 * cancel, bad options and save/load. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "blobs_testutil.h"
#include "check.h"
#include "gmm.h"
#include "metrics.h"
#include "rng.h"

/* ---- fixture ---- */

typedef struct sk_fit {
    double *weights, *means, *covs; /* (k), (k, d), (k, d, d) */
    double score, lower_bound, bic;
    int n_iter, converged;
    int *labels; /* (n) */
} sk_fit;

typedef struct fixture {
    size_t n;
    int d, k;
    float *X;   /* (n, d) */
    int *truth; /* (n) */
    sk_fit fit[2]; /* default, tight */
} fixture;

static int tag(FILE *f, const char *want)
{
    char w[32];
    return fscanf(f, "%31s", w) == 1 && strcmp(w, want) == 0;
}

static int read_doubles(FILE *f, const char *t, double *v, size_t m)
{
    if (!tag(f, t)) return 0;
    for (size_t i = 0; i < m; i++)
        if (fscanf(f, "%lf", &v[i]) != 1) return 0;
    return 1;
}

static int read_ints(FILE *f, const char *t, int *v, size_t m)
{
    if (!tag(f, t)) return 0;
    for (size_t i = 0; i < m; i++)
        if (fscanf(f, "%d", &v[i]) != 1) return 0;
    return 1;
}

static void fixture_free(fixture *fx)
{
    free(fx->X);
    free(fx->truth);
    for (int i = 0; i < 2; i++) {
        free(fx->fit[i].weights);
        free(fx->fit[i].means);
        free(fx->fit[i].covs);
        free(fx->fit[i].labels);
    }
    memset(fx, 0, sizeof *fx);
}

static int fixture_load(fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    const char *src = getenv("DC_SRC");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/gmm_cases.txt", src ? src : "..");
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s (set DC_SRC to the source dir)", path);
    if (!f) return 0;
    int version = 0, ok = tag(f, "gmm_fixture") && fscanf(f, "%d", &version) == 1 && version == 1 &&
                          tag(f, "n") && fscanf(f, "%zu", &fx->n) == 1 && tag(f, "d") &&
                          fscanf(f, "%d", &fx->d) == 1 && tag(f, "k") && fscanf(f, "%d", &fx->k) == 1 &&
                          fx->n > 0 && fx->n < 100000 && fx->d > 0 && fx->d < 64 && fx->k > 0 && fx->k < 64;
    if (ok) {
        size_t n = fx->n, d = (size_t)fx->d, k = (size_t)fx->k;
        fx->X = malloc(n * d * sizeof *fx->X);
        fx->truth = malloc(n * sizeof *fx->truth);
        ok = fx->X && fx->truth && tag(f, "X");
        for (size_t i = 0; ok && i < n * d; i++) ok = fscanf(f, "%f", &fx->X[i]) == 1;
        ok = ok && read_ints(f, "truth", fx->truth, n);
        const char *names[2] = {"default", "tight"};
        for (int i = 0; ok && i < 2; i++) {
            sk_fit *s = &fx->fit[i];
            s->weights = malloc(k * sizeof *s->weights);
            s->means = malloc(k * d * sizeof *s->means);
            s->covs = malloc(k * d * d * sizeof *s->covs);
            s->labels = malloc(n * sizeof *s->labels);
            ok = s->weights && s->means && s->covs && s->labels && tag(f, "fit") && tag(f, names[i]) &&
                 read_doubles(f, "weights", s->weights, k) && read_doubles(f, "means", s->means, k * d) &&
                 read_doubles(f, "covs", s->covs, k * d * d) && tag(f, "score") &&
                 fscanf(f, "%lf", &s->score) == 1 && tag(f, "lower_bound") &&
                 fscanf(f, "%lf", &s->lower_bound) == 1 && tag(f, "n_iter") &&
                 fscanf(f, "%d", &s->n_iter) == 1 && tag(f, "converged") &&
                 fscanf(f, "%d", &s->converged) == 1 && tag(f, "bic") && fscanf(f, "%lf", &s->bic) == 1 &&
                 read_ints(f, "labels", s->labels, n);
        }
    }
    fclose(f);
    CHECK_MSG(ok, "malformed fixture %s", path);
    if (!ok) fixture_free(fx);
    return ok;
}

/* ---- helpers ---- */

/* Records the mean log-likelihood of every iteration of every run; stops when asked. */
typedef struct recorder {
    double ll[16][512];
    int iters[16];
    int calls;
    int stop_init, stop_iter; /* stop at this (init, iter); -1: never */
} recorder;

static int record(void *user, int init, int iter, double ll)
{
    recorder *r = user;
    r->calls++;
    if (init >= 0 && init < 16 && iter >= 1 && iter <= 512) {
        r->ll[init][iter - 1] = ll;
        if (iter > r->iters[init]) r->iters[init] = iter;
    }
    return init == r->stop_init && iter == r->stop_iter;
}

/* Checks that every run's recorded log-likelihood never decreases (-1e-9 relative for
 * rounding). Returns the number of steps checked. */
static int check_monotone(const recorder *r, int runs, const char *what)
{
    int steps = 0, bad = 0;
    double worst = 0;
    for (int i = 0; i < runs && i < 16; i++)
        for (int t = 1; t < r->iters[i]; t++) {
            double a = r->ll[i][t - 1], b = r->ll[i][t], drop = a - b;
            steps++;
            if (drop > worst) worst = drop;
            if (drop > 1e-9 * fabs(a)) {
                if (bad++ < 5)
                    fprintf(stderr, "%s: run %d iteration %d -> %d: log-likelihood %.15g -> %.15g\n", what,
                            i, t, t + 1, a, b);
            }
        }
    CHECK_MSG(bad == 0, "%s: log-likelihood decreased in %d of %d steps", what, bad, steps);
    printf("%s: %d EM steps checked, largest decrease %.3g (allowed 1e-9 relative)\n", what, steps, worst);
    return steps;
}

/* Rows of resp (n, k) sum to 1 and labels are their argmax. */
static void check_resp(const double *resp, const int *labels, size_t n, int k, const char *what)
{
    double worst = 0;
    size_t badlab = 0;
    for (size_t i = 0; i < n; i++) {
        double s = 0, mx = -1;
        int am = 0;
        for (int j = 0; j < k; j++) {
            s += resp[i * k + j];
            if (resp[i * k + j] > mx) {
                mx = resp[i * k + j];
                am = j;
            }
        }
        if (fabs(s - 1) > worst) worst = fabs(s - 1);
        badlab += am != labels[i];
    }
    CHECK_MSG(worst <= 1e-12, "%s: a row of responsibilities sums to 1 +- %g (tol 1e-12)", what, worst);
    CHECK_MSG(badlab == 0, "%s: %zu labels are not the argmax of their row", what, badlab);
}

static int all_finite(const double *v, size_t m)
{
    for (size_t i = 0; i < m; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}


/* Matches each reference component r to our nearest mean; perm (k) out. Returns 1 if
 * the matching is one-to-one. */
static int match_means(const double *ref, const double *ours, int k, int d, int *perm)
{
    int used[64] = {0}, ok = 1;
    for (int r = 0; r < k; r++) {
        double best = INFINITY;
        perm[r] = 0;
        for (int j = 0; j < k; j++) {
            double s = 0;
            for (int t = 0; t < d; t++) {
                double df = ref[r * d + t] - ours[j * d + t];
                s += df * df;
            }
            if (s < best) {
                best = s;
                perm[r] = j;
            }
        }
        if (used[perm[r]]++) ok = 0;
    }
    return ok;
}

/* Compares our model with a scikit-learn fit, prints both, checks within the tolerances. */
static void compare_sk(const fixture *fx, const gmm_result *r, const sk_fit *s, const char *name,
                       double tol_w, double tol_mu, double tol_cov, double tol_ll)
{
    int k = fx->k, d = fx->d, perm[64];
    const gmm_model *m = &r->model;
    int one2one = match_means(s->means, m->means, k, d, perm);
    CHECK_MSG(one2one, "%s: nearest-mean matching is not one-to-one", name);
    if (!one2one) return;
    double dw = 0, dmu = 0, dcov = 0;
    printf("%s: component  weight sk / ours        mean[0] sk / ours        cov[0][0] sk / ours\n", name);
    for (int c = 0; c < k; c++) {
        int j = perm[c];
        dw = fmax(dw, fabs(s->weights[c] - m->weights[j]));
        for (int t = 0; t < d; t++) dmu = fmax(dmu, fabs(s->means[c * d + t] - m->means[j * d + t]));
        for (int t = 0; t < d * d; t++)
            dcov = fmax(dcov, fabs(s->covs[(size_t)c * d * d + t] - m->covs[(size_t)j * d * d + t]));
        printf("%s:   %d -> %d   %.6f / %.6f   %+.6f / %+.6f   %.6f / %.6f\n", name, c, j, s->weights[c],
               m->weights[j], s->means[c * d], m->means[j * d], s->covs[(size_t)c * d * d],
               m->covs[(size_t)j * d * d]);
    }
    printf("%s: mean loglik sk %.10f ours %.10f | bic sk %.4f ours %.4f | iters sk %d ours %d | "
           "max |dw| %.2e |dmu| %.2e |dcov| %.2e\n",
           name, s->score, r->loglik, s->bic, r->bic, s->n_iter, r->n_iter, dw, dmu, dcov);
    CHECK_MSG(dw <= tol_w, "%s weights: expected within %g of scikit-learn, max diff %g", name, tol_w, dw);
    CHECK_MSG(dmu <= tol_mu, "%s means: expected within %g of scikit-learn, max diff %g", name, tol_mu, dmu);
    CHECK_MSG(dcov <= tol_cov, "%s covariances: expected within %g of scikit-learn, max diff %g", name, tol_cov, dcov);
    CHECK_MSG(fabs(r->loglik - s->score) <= tol_ll, "%s mean loglik: expected %.12f, got %.12f (tol %g)", name,
              s->score, r->loglik, tol_ll);
    CHECK_MSG(fabs(r->bic - s->bic) <= 2 * fx->n * tol_ll + 1e-9 * fabs(s->bic),
              "%s bic: expected %.6f, got %.6f", name, s->bic, r->bic);
    /* same partition as scikit-learn's */
    double acc = 0;
    CHECK_EQ_INT(metrics_acc(r->labels, s->labels, fx->n, &acc, NULL), 0);
    printf("%s: label agreement with scikit-learn (ACC) %.6f\n", name, acc);
    CHECK_MSG(acc >= 0.998, "%s: labels agree with scikit-learn's on %.4f of points, expected >= 0.998", name, acc);
}

/* gmm_predict (the fit's E-step) against gmm_predict_naive on model m and X (n, d):
 * responsibilities within tol_q, mean log-likelihood within tol_ll relative, same labels. */
static void check_naive(const gmm_model *m, const float *X, size_t n, double tol_q, double tol_ll,
                        const char *what)
{
    int k = m->k;
    double *q1 = malloc(n * k * sizeof *q1), *q2 = malloc(n * k * sizeof *q2), ll1 = 0, ll2 = 0;
    int *l1 = malloc(n * sizeof *l1), *l2 = malloc(n * sizeof *l2);
    dc_err e = {0};
    int rc1 = gmm_predict(m, X, n, q1, l1, &ll1, &e), rc2 = gmm_predict_naive(m, X, n, q2, l2, &ll2, &e);
    CHECK_MSG(rc1 == 0 && rc2 == 0, "%s: predict rc %d, naive rc %d (%s)", what, rc1, rc2, e.msg);
    if (rc1 == 0 && rc2 == 0) {
        double dq = 0;
        size_t dl = 0;
        for (size_t i = 0; i < n * k; i++) dq = fmax(dq, fabs(q1[i] - q2[i]));
        for (size_t i = 0; i < n; i++) dl += l1[i] != l2[i];
        printf("%s: fast vs naive E-step max |dq| %.3g, loglik %.15g vs %.15g\n", what, dq, ll1, ll2);
        CHECK_MSG(dq <= tol_q, "%s: fast vs naive responsibilities differ by %g (tol %g)", what, dq, tol_q);
        CHECK_MSG(fabs(ll1 - ll2) <= tol_ll * fabs(ll2), "%s: fast loglik %.15g, naive %.15g (tol %g relative)",
                  what, ll1, ll2, tol_ll);
        CHECK_MSG(dl == 0, "%s: %zu labels differ between fast and naive", what, dl);
    }
    free(q1);
    free(q2);
    free(l1);
    free(l2);
}

/* ---- tests ---- */

static void test_sklearn_fixture(const fixture *fx)
{
    gmm_opts o;
    gmm_opts_default(&o);
    recorder *rec = calloc(1, sizeof *rec);
    rec->stop_init = rec->stop_iter = -1;
    o.progress = record;
    o.progress_user = rec;
    gmm_result r;
    dc_err e = {0};

    /* scikit-learn's defaults (tol 1e-3): the same optimum up to what tol leaves */
    int rc = gmm_fit(fx->X, fx->n, fx->d, fx->k, &o, &r, &e);
    CHECK_MSG(rc == 0, "fit: rc %d (%s)", rc, e.msg);
    if (rc == 0) {
        compare_sk(fx, &r, &fx->fit[0], "default", 2e-3, 5e-3, 1e-2, 1e-4);
        CHECK(r.converged == 1);
        CHECK(r.n_iter >= 1 && r.n_iter <= o.max_iter);
        CHECK(r.best_init >= 0 && r.best_init < o.n_init);
        check_monotone(rec, o.n_init, "fixture default");
        /* the stop rule: the winning run stopped at the first change below tol */
        const double *ll = rec->ll[r.best_init];
        int it = rec->iters[r.best_init];
        CHECK_EQ_INT(it, r.n_iter);
        CHECK_MSG(it >= 2 && fabs(ll[it - 1] - ll[it - 2]) < o.tol, "last change %g, tol %g",
                  it >= 2 ? ll[it - 1] - ll[it - 2] : NAN, o.tol);
        for (int t = 1; t + 1 < it; t++)
            CHECK_MSG(fabs(ll[t] - ll[t - 1]) >= o.tol, "run went on after a change of %g < tol", ll[t] - ll[t - 1]);
        CHECK(ll[it - 1] == r.lower_bound);
        CHECK_EQ_INT(rec->calls, rec->iters[0] + rec->iters[1] + rec->iters[2] + rec->iters[3] + rec->iters[4]);
        check_resp(r.resp, r.labels, fx->n, fx->k, "fixture fit");
        double ws = 0;
        for (int j = 0; j < fx->k; j++) ws += r.model.weights[j];
        CHECK_NEAR(ws, 1.0, 1e-12);
        /* the bound is the previous model's likelihood: below the final one (EM) and by < tol */
        CHECK_MSG(r.loglik >= r.lower_bound - 1e-12 && r.loglik - r.lower_bound < o.tol,
                  "loglik %.12f, lower bound %.12f", r.loglik, r.lower_bound);
        /* BIC from its definition */
        int k = fx->k, d = fx->d;
        double p = k - 1 + k * d + k * d * (d + 1) / 2.0;
        CHECK_NEAR(r.bic, -2 * r.loglik * fx->n + p * log((double)fx->n), 1e-9 * fabs(r.bic));
        /* the k-means start and the fit against the generating components: most points
         * go back to their own component */
        double acc = 0;
        metrics_acc(r.labels, fx->truth, fx->n, &acc, NULL);
        printf("default: ACC against the generating components %.4f\n", acc);
        CHECK_MSG(acc >= 0.97, "ACC vs generating components %.4f, expected >= 0.97", acc);
        gmm_result_free(&r);
    }

    /* run to the optimum: tight agreement with scikit-learn's converged fit */
    o.tol = 1e-10;
    o.max_iter = 5000;
    o.progress = NULL;
    rc = gmm_fit(fx->X, fx->n, fx->d, fx->k, &o, &r, &e);
    CHECK_MSG(rc == 0, "tight fit: rc %d (%s)", rc, e.msg);
    if (rc == 0) {
        compare_sk(fx, &r, &fx->fit[1], "tight", 1e-6, 1e-5, 1e-5, 1e-9);
        gmm_result_free(&r);
    }
    free(rec);
}

/* Longer runs (over-specified k, tol 0): the likelihood never decreases; threads. */
static void test_monotone_and_threads(const fixture *fx)
{
    gmm_opts o;
    gmm_opts_default(&o);
    o.n_init = 3;
    o.tol = 0;
    o.max_iter = 80;
    o.seed = 5;
    o.block_rows = 100;
    recorder *rec = calloc(1, sizeof *rec);
    rec->stop_init = rec->stop_iter = -1;
    o.progress = record;
    o.progress_user = rec;
    gmm_result a, b, c;
    dc_err e = {0};
    int rc = gmm_fit(fx->X, fx->n, fx->d, 6, &o, &a, &e);
    CHECK_MSG(rc == 0, "k = 6: rc %d (%s)", rc, e.msg);
    if (rc) goto out_rec;
    CHECK(check_monotone(rec, o.n_init, "k = 6, tol 0") >= 3 * 60);
    CHECK_EQ_INT(a.converged, 0);
    CHECK_EQ_INT(a.n_iter, 80);
    check_resp(a.resp, a.labels, fx->n, 6, "k = 6");

    /* best of n_init: run 0 of this fit is the single run of n_init 1 with the same seed
     * (the first seed drawn), so keeping the best can only do as well or better */
    printf("k = 6: last E-step loglik of each run:");
    for (int i = 0; i < o.n_init; i++) printf(" %.6f", rec->ll[i][rec->iters[i] - 1]);
    printf("; kept run %d, final loglik %.6f\n", a.best_init, a.loglik);
    for (int i = 0; i < o.n_init; i++)
        CHECK_MSG(a.loglik >= rec->ll[i][rec->iters[i] - 1], "kept loglik %.9f below run %d's %.9f", a.loglik, i,
                  rec->ll[i][rec->iters[i] - 1]);
    o.n_init = 1;
    o.progress = NULL;
    CHECK_EQ_INT(gmm_fit(fx->X, fx->n, fx->d, 6, &o, &b, &e), 0);
    CHECK_MSG(b.loglik <= a.loglik && (a.best_init != 0 || b.loglik == a.loglik),
              "n_init 1: loglik %.12f; n_init 3: %.12f (run %d kept)", b.loglik, a.loglik, a.best_init);
    CHECK_NEAR(b.lower_bound, rec->ll[0][rec->iters[0] - 1], 0);
    gmm_result_free(&b);
    o.n_init = 3;

    /* two threads: bit-reproducible, and the same fit as one thread up to rounding */
    o.n_threads = 2;
    o.progress = NULL;
    CHECK_EQ_INT(gmm_fit(fx->X, fx->n, fx->d, 6, &o, &b, &e), 0);
    CHECK_EQ_INT(gmm_fit(fx->X, fx->n, fx->d, 6, &o, &c, &e), 0);
    if (b.resp && c.resp) {
        CHECK(memcmp(b.resp, c.resp, fx->n * 6 * sizeof *b.resp) == 0);
        CHECK(memcmp(b.model.buf, c.model.buf, gmm_model_saved_len(6, fx->d) * sizeof(double)) == 0);
        CHECK(b.loglik == c.loglik);
        CHECK_NEAR(b.loglik, a.loglik, 1e-9 * fabs(a.loglik));
        size_t diff = 0;
        for (size_t i = 0; i < fx->n; i++) diff += a.labels[i] != b.labels[i];
        CHECK_MSG(diff == 0, "n_threads 2 changed %zu labels", diff);
        printf("threads: 1 thread loglik %.12f, 2 threads %.12f\n", a.loglik, b.loglik);
    }
    gmm_result_free(&b);
    gmm_result_free(&c);
    gmm_result_free(&a);
out_rec:
    free(rec);
}

/* The blocked Cholesky E-step against the naive explicit-inverse reference; predict on
 * the training points reproduces the fit. */
static void test_estep_and_predict(const fixture *fx)
{
    gmm_opts o;
    gmm_opts_default(&o);
    o.n_init = 2;
    gmm_result r;
    dc_err e = {0};
    int rc = gmm_fit(fx->X, fx->n, fx->d, fx->k, &o, &r, &e);
    CHECK_MSG(rc == 0, "fit: rc %d (%s)", rc, e.msg);
    if (rc) return;
    size_t n = fx->n;
    int k = fx->k;
    double *q1 = malloc(n * k * sizeof *q1), *q2 = malloc(n * k * sizeof *q2), ll1 = 0, ll2 = 0;
    int *l1 = malloc(n * sizeof *l1), *l2 = malloc(n * sizeof *l2);
    CHECK_EQ_INT(gmm_predict(&r.model, fx->X, n, q1, l1, &ll1, &e), 0);
    CHECK_EQ_INT(gmm_predict_naive(&r.model, fx->X, n, q2, l2, &ll2, &e), 0);
    double dq = 0, dfit = 0;
    for (size_t i = 0; i < n * k; i++) {
        dq = fmax(dq, fabs(q1[i] - q2[i]));
        dfit = fmax(dfit, fabs(q1[i] - r.resp[i]));
    }
    printf("E-step: Cholesky vs naive max |dq| %.3g, loglik %.15f vs %.15f\n", dq, ll1, ll2);
    CHECK_MSG(dq <= 1e-10, "fast vs naive responsibilities: max diff %g (tol 1e-10)", dq);
    CHECK_NEAR(ll1, ll2, 1e-11 * fabs(ll2));
    CHECK(memcmp(l1, l2, n * sizeof *l1) == 0);
    /* predict on the training points = the fit's final E-step */
    CHECK(memcmp(l1, r.labels, n * sizeof *l1) == 0);
    CHECK_MSG(dfit <= 1e-12, "predict vs fit responsibilities: max diff %g", dfit);
    CHECK_NEAR(ll1, r.loglik, 1e-12 * fabs(r.loglik));
    check_resp(q1, l1, n, k, "predict");
    /* optional outputs */
    double ll3 = 0;
    CHECK_EQ_INT(gmm_predict(&r.model, fx->X, n, NULL, NULL, &ll3, &e), 0);
    CHECK(ll3 == ll1);
    CHECK_EQ_INT(gmm_predict(&r.model, fx->X, 7, NULL, l2, NULL, &e), 0);
    CHECK(memcmp(l1, l2, 7 * sizeof *l1) == 0);

    /* an ill-conditioned model (eigenvalues 1e-4 .. 1e2) at random points far and near */
    gmm_model m;
    int d = 6, km = 3;
    CHECK_EQ_INT(gmm_model_alloc(&m, km, d, &e), 0);
    rng g;
    rng_seed(&g, 9);
    for (int j = 0; j < km; j++) {
        m.weights[j] = (j + 1) / 6.0;
        double *C = m.covs + (size_t)j * d * d, A[36];
        for (int t = 0; t < d; t++) m.means[j * d + t] = rng_normal(&g) * 3;
        for (int t = 0; t < d * d; t++) A[t] = rng_normal(&g);
        /* C = A diag(s) A^T / d with s from 1e-4 to 1e2 */
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++) {
                double s = 0;
                for (int t = 0; t < d; t++) s += A[a * d + t] * pow(10, -4 + t * 6.0 / (d - 1)) * A[b * d + t];
                C[a * d + b] = s / d;
            }
    }
    CHECK_EQ_INT(gmm_model_factor(&m, &e), 0);
    size_t np = 500;
    float *P = malloc(np * d * sizeof *P);
    for (size_t i = 0; i < np * d; i++) P[i] = (float)(rng_normal(&g) * (i % 3 ? 2 : 6));
    double *p1 = malloc(np * km * sizeof *p1), *p2 = malloc(np * km * sizeof *p2);
    CHECK_EQ_INT(gmm_predict(&m, P, np, p1, NULL, &ll1, &e), 0);
    CHECK_EQ_INT(gmm_predict_naive(&m, P, np, p2, NULL, &ll2, &e), 0);
    dq = 0;
    for (size_t i = 0; i < np * km; i++) dq = fmax(dq, fabs(p1[i] - p2[i]));
    printf("E-step, ill-conditioned: max |dq| %.3g, loglik %.12f vs %.12f\n", dq, ll1, ll2);
    CHECK_MSG(dq <= 1e-8, "ill-conditioned fast vs naive: max diff %g (tol 1e-8)", dq);
    CHECK_NEAR(ll1, ll2, 1e-9 * fabs(ll2));
    free(P);
    free(p1);
    free(p2);
    gmm_model_free(&m);
    free(q1);
    free(q2);
    free(l1);
    free(l2);
    gmm_result_free(&r);
}

static void test_blobs_10d(void)
{
    size_t n = 2500;
    int d = 10, k = 5, *truth = malloc(n * sizeof *truth);
    float *X = blobs(n, d, k, 8, 3, truth);
    gmm_opts o;
    gmm_opts_default(&o);
    o.seed = 11;
    gmm_result r;
    dc_err e = {0};
    int rc = gmm_fit(X, n, d, k, &o, &r, &e);
    CHECK_MSG(rc == 0, "blobs: rc %d (%s)", rc, e.msg);
    if (rc == 0) {
        double acc = 0;
        CHECK_EQ_INT(metrics_acc(r.labels, truth, n, &acc, NULL), 0);
        printf("blobs 10-D k = 5: ACC %.4f, loglik %.4f, %d iterations, run %d won\n", acc, r.loglik, r.n_iter,
               r.best_init);
        CHECK_MSG(acc == 1.0, "blobs ACC: expected 1.0, got %.6f", acc);
        /* unit-variance blobs: each covariance close to I */
        double worst = 0;
        for (int j = 0; j < k; j++)
            for (int a = 0; a < d; a++)
                for (int b = 0; b < d; b++)
                    worst = fmax(worst, fabs(r.model.covs[(size_t)j * d * d + a * d + b] - (a == b)));
        CHECK_MSG(worst < 0.2, "blob covariance vs identity: worst entry diff %g", worst);
        CHECK_NEAR(r.model.weights[0], 0.2, 1e-9);
        gmm_result_free(&r);
    }
    free(X);
    free(truth);
}

static void test_degenerate(void)
{
    gmm_opts o;
    gmm_opts_default(&o);
    o.n_init = 2;
    gmm_result r;
    dc_err e = {0};
    int d = 5;
    size_t n = 300;
    float *X = malloc(n * d * sizeof *X);
    int *truth = malloc(n * sizeof *truth);

    /* 300 points on 3 distinct locations: zero empirical covariance, reg_covar keeps it */
    for (size_t i = 0; i < n; i++) {
        truth[i] = (int)(i % 3);
        for (int t = 0; t < d; t++) X[i * d + t] = (float)(truth[i] * 3 + t);
    }
    int rc = gmm_fit(X, n, d, 3, &o, &r, &e);
    CHECK_MSG(rc == 0, "duplicates: rc %d (%s)", rc, e.msg);
    if (rc == 0) {
        double acc = 0;
        metrics_acc(r.labels, truth, n, &acc, NULL);
        CHECK_NEAR(acc, 1.0, 0);
        CHECK(all_finite(r.model.buf, gmm_model_saved_len(3, d) - 4) && isfinite(r.loglik) && isfinite(r.bic));
        /* covariance = reg_covar I: log-likelihood -0.5 d (ln 2pi + ln 1e-6) + ln(1/3) */
        double want = -0.5 * d * (1.8378770664093453 + log(1e-6)) + log(1.0 / 3);
        printf("duplicates: cov[0][0] %.3g, loglik %.6f (expected %.6f)\n", r.model.covs[0], r.loglik, want);
        CHECK_NEAR(r.model.covs[0], 1e-6, 1e-12);
        CHECK_NEAR(r.loglik, want, 1e-6);
        check_naive(&r.model, X, n, 1e-9, 1e-9, "duplicates");
        gmm_result_free(&r);
    }
    /* k = 4 on the same 3 locations: two components share one; still finite */
    rc = gmm_fit(X, n, d, 4, &o, &r, &e);
    CHECK_MSG(rc == 0, "duplicates k = 4: rc %d (%s)", rc, e.msg);
    if (rc == 0) {
        CHECK(all_finite(r.model.buf, gmm_model_saved_len(4, d) - 4) && isfinite(r.loglik));
        check_resp(r.resp, r.labels, n, 4, "duplicates k = 4");
        gmm_result_free(&r);
    }

    /* rank 1: points on a line in 5-D, plus half of them duplicated */
    rng g;
    rng_seed(&g, 4);
    for (size_t i = 0; i < n; i++) {
        double s = i < n / 2 ? rng_normal(&g) + (double)(i % 2) * 6 : (double)((int)(i % 4) - 2);
        for (int t = 0; t < d; t++) X[i * d + t] = (float)(s * (t + 1) - t);
    }
    rc = gmm_fit(X, n, d, 3, &o, &r, &e);
    CHECK_MSG(rc == 0, "rank 1: rc %d (%s)", rc, e.msg);
    if (rc == 0) {
        CHECK_MSG(all_finite(r.model.buf, gmm_model_saved_len(3, d) - 4) && isfinite(r.loglik) &&
                      all_finite(r.resp, n * 3),
                  "rank 1: non-finite output");
        check_resp(r.resp, r.labels, n, 3, "rank 1");
        printf("rank 1: loglik %.4f, %d iterations\n", r.loglik, r.n_iter);
        check_naive(&r.model, X, n, 1e-7, 1e-9, "rank 1"); /* cond ~1e9: both lose ~cond eps */
        gmm_result_free(&r);
    }

    /* k = n = 5 distinct points: every component one point */
    rc = gmm_fit(X, 5, d, 5, &o, &r, &e);
    CHECK_MSG(rc == 0, "k = n: rc %d (%s)", rc, e.msg);
    if (rc == 0) {
        int seen[5] = {0}, distinct = 1;
        for (int i = 0; i < 5; i++) {
            distinct &= !seen[r.labels[i]];
            seen[r.labels[i]] = 1;
        }
        CHECK_MSG(distinct, "k = n: labels are not a permutation");
        CHECK(isfinite(r.loglik));
        gmm_result_free(&r);
    }

    /* a dead component: start with one component far from all the data. It gets no
     * responsibility, keeps its mean and covariance, and its weight goes to ~0. */
    for (size_t i = 0; i < n; i++) {
        truth[i] = (int)(i % 2);
        for (int t = 0; t < d; t++) X[i * d + t] = (float)(truth[i] * 5 + rng_normal(&g));
    }
    gmm_model init;
    CHECK_EQ_INT(gmm_model_alloc(&init, 3, d, &e), 0);
    for (int j = 0; j < 3; j++) {
        init.weights[j] = 1.0 / 3;
        for (int t = 0; t < d; t++) {
            init.means[j * d + t] = j == 2 ? 1e4 : j * 5 + 0.5;
            init.covs[(size_t)j * d * d + t * d + t] = 1;
        }
    }
    o.init = &init;
    recorder *rec = calloc(1, sizeof *rec);
    rec->stop_init = rec->stop_iter = -1;
    o.progress = record;
    o.progress_user = rec;
    rc = gmm_fit(X, n, d, 3, &o, &r, &e);
    CHECK_MSG(rc == 0, "dead component: rc %d (%s)", rc, e.msg);
    if (rc == 0) {
        int on2 = 0;
        for (size_t i = 0; i < n; i++) on2 += r.labels[i] == 2;
        printf("dead component: weight %.3g, mean[0] %g, %d points, %d iterations\n", r.model.weights[2],
               r.model.means[2 * d], on2, r.n_iter);
        CHECK_EQ_INT(on2, 0);
        CHECK(r.model.weights[2] < 1e-12);
        CHECK(r.model.means[2 * d] == 1e4);
        CHECK(r.model.covs[2 * d * d] == 1);
        CHECK(all_finite(r.model.buf, gmm_model_saved_len(3, d) - 4) && isfinite(r.loglik));
        double acc = 0;
        metrics_acc(r.labels, truth, n, &acc, NULL);
        CHECK_NEAR(acc, 1.0, 0);
        CHECK_EQ_INT(r.best_init, 0);
        check_monotone(rec, 1, "dead component");
        check_naive(&r.model, X, n, 1e-10, 1e-10, "dead component");
        gmm_result_free(&r);
    }
    free(rec);
    gmm_model_free(&init);
    free(X);
    free(truth);
}

/* Clusters far apart relative to their spread (a duplicate point at 1e12, unit blobs at
 * 0 and 20): the E-step must not lose the near points to cancellation. */
static void test_far_apart(void)
{
    size_t n = 300;
    int d = 3, *truth = malloc(n * sizeof *truth);
    float *X = malloc(n * d * sizeof *X);
    rng g;
    rng_seed(&g, 21);
    for (size_t i = 0; i < n; i++) {
        truth[i] = (int)(i % 3);
        for (int t = 0; t < d; t++)
            X[i * d + t] = truth[i] == 2 ? 1e12f : (float)(truth[i] * 20 + rng_normal(&g));
    }
    gmm_opts o;
    gmm_opts_default(&o);
    o.n_init = 2;
    gmm_result r;
    dc_err e = {0};
    int rc = gmm_fit(X, n, d, 3, &o, &r, &e);
    CHECK_MSG(rc == 0, "far apart: rc %d (%s)", rc, e.msg);
    if (rc == 0) {
        double acc = 0;
        metrics_acc(r.labels, truth, n, &acc, NULL);
        printf("far apart: ACC %.4f, loglik %.6f, %d iterations\n", acc, r.loglik, r.n_iter);
        CHECK_NEAR(acc, 1.0, 0);
        CHECK(all_finite(r.model.buf, gmm_model_saved_len(3, d) - 4) && isfinite(r.loglik));
        check_naive(&r.model, X, n, 1e-9, 1e-9, "far apart");
        gmm_result_free(&r);
    }
    free(X);
    free(truth);
}

/* One EM iteration from a given model (init, max_iter 1) against a naive M-step written
 * here: responsibilities from gmm_predict_naive, then weights, means and covariances by
 * their two-pass formulas in double. Checks the fit's sufficient statistics (shifted
 * sums, syrk, rows with q = 0 skipped, reduction over threads and blocks). */
static void test_mstep_naive(const fixture *fx)
{
    int k = fx->k, d = fx->d;
    size_t n = fx->n, dd = (size_t)d * d;
    gmm_model init;
    dc_err e = {0};
    CHECK_EQ_INT(gmm_model_alloc(&init, k, d, &e), 0);
    const sk_fit *s = &fx->fit[0];
    for (int j = 0; j < k; j++) {
        init.weights[j] = 1.0 / k;
        for (int t = 0; t < d; t++) init.means[j * d + t] = s->means[j * d + t] + 0.4 * (t % 2 ? 1 : -1);
        for (size_t t = 0; t < dd; t++) init.covs[j * dd + t] = 1.7 * s->covs[j * dd + t];
    }
    double *q = malloc(n * k * sizeof *q), *mu = calloc((size_t)k * d, sizeof *mu);
    double *cov = calloc((size_t)k * dd, sizeof *cov), nk[64] = {0}, reg = 1e-6;
    CHECK_EQ_INT(gmm_predict_naive(&init, fx->X, n, q, NULL, NULL, &e), 0);
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            nk[j] += q[i * k + j];
            for (int t = 0; t < d; t++) mu[j * d + t] += q[i * k + j] * fx->X[i * d + t];
        }
    for (int j = 0; j < k; j++)
        for (int t = 0; t < d; t++) mu[j * d + t] /= nk[j];
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++)
            for (int a = 0; a < d; a++)
                for (int b = 0; b < d; b++)
                    cov[j * dd + a * d + b] += q[i * k + j] * (fx->X[i * d + a] - mu[j * d + a]) *
                                               (fx->X[i * d + b] - mu[j * d + b]);
    for (int j = 0; j < k; j++)
        for (int a = 0; a < d; a++) {
            for (int b = 0; b < d; b++) cov[j * dd + a * d + b] /= nk[j];
            cov[j * dd + a * d + a] += reg;
        }
    int threads[2] = {1, 2}, blocks[2] = {1024, 37};
    for (int v = 0; v < 2; v++) {
        gmm_opts o;
        gmm_opts_default(&o);
        o.init = &init;
        o.max_iter = 1;
        o.reg_covar = reg;
        o.n_threads = threads[v];
        o.block_rows = blocks[v];
        gmm_result r;
        int rc = gmm_fit(fx->X, n, d, k, &o, &r, &e);
        CHECK_MSG(rc == 0, "one step: rc %d (%s)", rc, e.msg);
        if (rc) continue;
        double dw = 0, dm = 0, dc = 0;
        for (int j = 0; j < k; j++) {
            dw = fmax(dw, fabs(r.model.weights[j] - nk[j] / n));
            for (int t = 0; t < d; t++) dm = fmax(dm, fabs(r.model.means[j * d + t] - mu[j * d + t]));
            for (size_t t = 0; t < dd; t++) dc = fmax(dc, fabs(r.model.covs[j * dd + t] - cov[j * dd + t]));
        }
        printf("M-step vs naive (%d threads, blocks of %d): max |dw| %.2e |dmu| %.2e |dcov| %.2e\n",
               threads[v], blocks[v], dw, dm, dc);
        CHECK_MSG(dw <= 1e-12 && dm <= 1e-11 && dc <= 1e-11, "M-step vs naive: dw %g, dmu %g, dcov %g (tol 1e-12, 1e-11, 1e-11)",
                  dw, dm, dc);
        CHECK_EQ_INT(r.n_iter, 1);
        gmm_result_free(&r);
    }
    /* an init model that cannot be used */
    gmm_opts o;
    gmm_opts_default(&o);
    o.init = &init;
    gmm_result r;
    init.weights[1] = 0;
    CHECK_EQ_INT(gmm_fit(fx->X, n, d, k, &o, &r, &e), DC_EINVAL);
    CHECK_MSG(strstr(e.msg, "weight 1") != NULL, "init weight: '%s'", e.msg);
    init.weights[1] = 0.3;
    init.covs[0] = -1;
    CHECK_EQ_INT(gmm_fit(fx->X, n, d, k, &o, &r, &e), DC_EINVAL);
    CHECK_MSG(strstr(e.msg, "positive definite") != NULL, "init cov: '%s'", e.msg);
    free(q);
    free(mu);
    free(cov);
    gmm_model_free(&init);
}

static void test_cancel(const fixture *fx)
{
    gmm_opts o;
    gmm_opts_default(&o);
    o.tol = 0;
    o.n_threads = 2;
    recorder *rec = calloc(1, sizeof *rec);
    rec->stop_init = 1;
    rec->stop_iter = 2;
    o.progress = record;
    o.progress_user = rec;
    gmm_result r;
    dc_err e = {0};
    int rc = gmm_fit(fx->X, fx->n, fx->d, fx->k, &o, &r, &e);
    CHECK_EQ_INT(rc, DC_ECANCEL);
    CHECK_MSG(strstr(e.msg, "cancelled") != NULL, "message: %s", e.msg);
    CHECK(r.resp == NULL && r.labels == NULL && r.model.buf == NULL);
    CHECK_EQ_INT(rec->calls, o.max_iter + 2); /* run 0 all its iterations, run 1 two */
    gmm_result_free(&r);
    free(rec);
}

static void test_invalid(const fixture *fx)
{
    gmm_opts o;
    gmm_result r;
    dc_err e = {0};
    const float *X = fx->X;
    size_t n = fx->n;
    int d = fx->d;
    struct {
        const char *field, *needle;
        int code;
    } cases[] = {
        {"n_init", "n_init", DC_EINVAL},     {"max_iter", "max_iter", DC_EINVAL},
        {"tol", "tol", DC_EINVAL},           {"tol_nan", "tol", DC_EINVAL},
        {"reg", "reg_covar", DC_EINVAL},     {"reg_inf", "reg_covar", DC_EINVAL},
        {"threads0", "n_threads", DC_EINVAL}, {"threads", "n_threads", DC_EINVAL},
        {"block", "block_rows", DC_EINVAL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        gmm_opts_default(&o);
        const char *f = cases[c].field;
        if (!strcmp(f, "n_init")) o.n_init = 0;
        if (!strcmp(f, "max_iter")) o.max_iter = 0;
        if (!strcmp(f, "tol")) o.tol = -1;
        if (!strcmp(f, "tol_nan")) o.tol = NAN;
        if (!strcmp(f, "reg")) o.reg_covar = -1e-6;
        if (!strcmp(f, "reg_inf")) o.reg_covar = INFINITY;
        if (!strcmp(f, "threads0")) o.n_threads = 0;
        if (!strcmp(f, "threads")) o.n_threads = 257;
        if (!strcmp(f, "block")) o.block_rows = 0;
        e.msg[0] = 0;
        int rc = gmm_fit(X, n, d, 3, &o, &r, &e);
        CHECK_MSG(rc == cases[c].code && strstr(e.msg, cases[c].needle), "%s: rc %d, message '%s'", f, rc, e.msg);
        CHECK(r.resp == NULL);
    }
    gmm_opts_default(&o);
    CHECK_EQ_INT(gmm_fit(X, n, d, 0, &o, &r, &e), DC_EINVAL);
    CHECK_MSG(strstr(e.msg, "n_components") != NULL, "k = 0: '%s'", e.msg);
    CHECK_EQ_INT(gmm_fit(X, 5, d, 6, &o, &r, &e), DC_EINVAL);
    CHECK_EQ_INT(gmm_fit(X, n, 0, 3, &o, &r, &e), DC_EINVAL);
    CHECK_EQ_INT(gmm_fit(NULL, n, d, 3, &o, &r, &e), DC_EINVAL);
    CHECK_EQ_INT(gmm_fit(X, n, d, 3, NULL, &r, &e), DC_EINVAL);
    CHECK_EQ_INT(gmm_fit(X, 0, d, 1, &o, &r, &e), DC_EINVAL);
    /* sizes that overflow are refused before X is read */
    CHECK_EQ_INT(gmm_fit(X, (size_t)INT_MAX, INT_MAX, INT_MAX, &o, &r, &e), DC_EINVAL);
    CHECK_MSG(strstr(e.msg, "overflow") != NULL, "overflow: '%s'", e.msg);
    CHECK_EQ_INT(gmm_fit(X, (size_t)INT_MAX + 1, d, 3, &o, &r, &e), DC_EINVAL);
    /* an init model of the wrong shape */
    gmm_model m;
    CHECK_EQ_INT(gmm_model_alloc(&m, 2, d, &e), 0);
    o.init = &m;
    CHECK_EQ_INT(gmm_fit(X, n, d, 3, &o, &r, &e), DC_EINVAL);
    CHECK_MSG(strstr(e.msg, "init") != NULL, "init: '%s'", e.msg);
    gmm_model_free(&m);
    o.init = NULL;

    /* NaN / Inf in X */
    float *Y = malloc(n * d * sizeof *Y);
    memcpy(Y, X, n * d * sizeof *Y);
    Y[17 * d + 1] = NAN;
    CHECK_EQ_INT(gmm_fit(Y, n, d, 3, &o, &r, &e), DC_ENUMERIC);
    CHECK_MSG(strstr(e.msg, "X[17][1]") != NULL, "NaN: '%s'", e.msg);
    Y[17 * d + 1] = INFINITY;
    CHECK_EQ_INT(gmm_fit(Y, n, d, 3, &o, &r, &e), DC_ENUMERIC);
    gmm_model good;
    CHECK_EQ_INT(gmm_model_alloc(&good, 1, d, &e), 0);
    good.weights[0] = 1;
    for (int t = 0; t < d; t++) good.covs[t * d + t] = 1;
    CHECK_EQ_INT(gmm_model_factor(&good, &e), 0);
    int lab[20];
    CHECK_EQ_INT(gmm_predict(&good, Y, 20, NULL, lab, NULL, &e), DC_ENUMERIC);
    CHECK_EQ_INT(gmm_predict(&good, Y, 0, NULL, lab, NULL, &e), DC_EINVAL);
    CHECK_EQ_INT(gmm_predict(NULL, Y, 3, NULL, lab, NULL, &e), DC_EINVAL);
    good.covs[0] = -1;
    CHECK_EQ_INT(gmm_model_factor(&good, &e), DC_ENUMERIC);
    gmm_model_free(&good);
    gmm_model_free(&good); /* zeroed: safe again */
    gmm_result_free(NULL);
    free(Y);
}

static void test_save_load(const fixture *fx)
{
    gmm_opts o;
    gmm_opts_default(&o);
    o.n_init = 1;
    gmm_result r;
    dc_err e = {0};
    int rc = gmm_fit(fx->X, fx->n, fx->d, fx->k, &o, &r, &e);
    CHECK_MSG(rc == 0, "fit: rc %d (%s)", rc, e.msg);
    if (rc) return;
    int k = fx->k, d = fx->d;
    size_t len = gmm_model_saved_len(k, d), n = fx->n;
    CHECK_EQ_INT(len, 4 + k * (1 + d + d * d));
    CHECK_EQ_INT(gmm_model_saved_len(0, d), 0);
    CHECK_EQ_INT(gmm_model_saved_len(INT_MAX, INT_MAX), 0);
    double *buf = malloc(len * sizeof *buf), *bad = malloc(len * sizeof *bad);
    CHECK_EQ_INT(gmm_model_save(&r.model, buf, len - 1, &e), DC_EINVAL);
    CHECK_EQ_INT(gmm_model_save(&r.model, buf, len, &e), 0);
    gmm_model m;
    CHECK_EQ_INT(gmm_model_load(&m, buf, len, &e), 0);
    double *q1 = malloc(n * k * sizeof *q1), *q2 = malloc(n * k * sizeof *q2), ll1, ll2;
    int *l1 = malloc(n * sizeof *l1), *l2 = malloc(n * sizeof *l2);
    CHECK_EQ_INT(gmm_predict(&r.model, fx->X, n, q1, l1, &ll1, &e), 0);
    CHECK_EQ_INT(gmm_predict(&m, fx->X, n, q2, l2, &ll2, &e), 0);
    CHECK_MSG(memcmp(q1, q2, n * k * sizeof *q1) == 0 && memcmp(l1, l2, n * sizeof *l1) == 0 && ll1 == ll2,
              "loaded model predicts differently (loglik %.17g vs %.17g)", ll1, ll2);
    CHECK(memcmp(m.chol, r.model.chol, (size_t)k * d * d * sizeof *m.chol) == 0);
    gmm_model_free(&m);

    /* corrupt buffers are refused with DC_EFORMAT and leave *m zeroed */
    struct {
        const char *what;
        size_t at;
        double v;
    } cases[] = {
        {"magic", 0, 1.0},
        {"version", 1, 2.0},
        {"k", 2, (double)k + 1},
        {"d", 3, 0.5},
        {"weight", 4, -0.1},
        {"nan", 4 + k + 1, NAN},
        {"asymmetric", 4 + k + (size_t)k * d + 1, 123.0},
        {"not PD", 4 + k + (size_t)k * d, -5.0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memcpy(bad, buf, len * sizeof *bad);
        bad[cases[c].at] = cases[c].v;
        if (!strcmp(cases[c].what, "weight")) bad[5] += 0.1; /* keep the sum at 1 */
        int rc2 = gmm_model_load(&m, bad, len, &e);
        CHECK_MSG(rc2 == DC_EFORMAT && m.buf == NULL, "corrupt %s: rc %d (%s)", cases[c].what, rc2, e.msg);
    }
    CHECK_EQ_INT(gmm_model_load(&m, buf, len - 1, &e), DC_EFORMAT);
    CHECK_EQ_INT(gmm_model_load(&m, buf, 2, &e), DC_EFORMAT);

    /* a deep copy holds the same parameters */
    gmm_model cp;
    CHECK_EQ_INT(gmm_model_copy(&cp, &r.model, &e), 0);
    CHECK(memcmp(cp.buf, r.model.buf, len * sizeof(double) - 4 * sizeof(double)) == 0);
    gmm_model_free(&cp);
    free(buf);
    free(bad);
    free(q1);
    free(q2);
    free(l1);
    free(l2);
    gmm_result_free(&r);
}

int main(void)
{
    fixture fx;
    if (fixture_load(&fx)) {
        test_sklearn_fixture(&fx);
        test_monotone_and_threads(&fx);
        test_estep_and_predict(&fx);
        test_mstep_naive(&fx);
        test_cancel(&fx);
        test_invalid(&fx);
        test_save_load(&fx);
        fixture_free(&fx);
    }
    test_blobs_10d();
    test_degenerate();
    test_far_apart();
    return CHECK_DONE();
}
