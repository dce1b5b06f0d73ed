/* kmeans: recovers separated Gaussian blobs, reproducible for a seed, k = 1, k = n,
 * duplicate points, empty-cluster repair, GEMM distances vs the naive double path,
 * progress callback and cancel, invalid arguments. */
#include <stdlib.h>
#include <string.h>

#include "blobs_testutil.h"
#include "check.h"
#include "kmeans.h"
#include "metrics.h"
#include "rng.h"


static void test_blobs_and_reproducible(void)
{
    size_t n = 3000;
    int d = 8, k = 6, *truth = malloc(n * sizeof *truth);
    float *X = blobs(n, d, k, 10, 1, truth);
    kmeans_opts o;
    kmeans_opts_default(&o);
    o.n_init = 4;
    o.seed = 123;
    kmeans_result a, b;
    dc_err e = {0};
    CHECK_EQ_INT(kmeans_fit(X, n, d, k, &o, &a, &e), 0);
    double acc = 0;
    CHECK_EQ_INT(metrics_acc(a.labels, truth, n, &acc, NULL), 0);
    CHECK_MIN(acc, 0.99, "k-means blobs ACC");
    /* unit noise: inertia about n*d */
    CHECK_MSG(a.inertia > 0.9 * n * d && a.inertia < 1.1 * n * d, "inertia %g, expected about %g",
              a.inertia, (double)n * d);
    CHECK(a.n_iter >= 1 && a.n_iter <= o.max_iter);
    CHECK(a.best_init >= 0 && a.best_init < o.n_init);

    CHECK_EQ_INT(kmeans_fit(X, n, d, k, &o, &b, &e), 0);
    CHECK(memcmp(a.labels, b.labels, n * sizeof *a.labels) == 0);
    CHECK(memcmp(a.centroids, b.centroids, (size_t)k * d * sizeof *a.centroids) == 0);
    CHECK(a.inertia == b.inertia);
    kmeans_result_free(&b);

    /* a different GEMM block size gives the same clustering */
    o.block_rows = 37;
    CHECK_EQ_INT(kmeans_fit(X, n, d, k, &o, &b, &e), 0);
    int same = memcmp(a.labels, b.labels, n * sizeof *a.labels) == 0;
    CHECK_MSG(same, "block_rows 37 changed the labels");
    CHECK_NEAR(b.inertia, a.inertia, 1e-6 * a.inertia);
    kmeans_result_free(&b);

    /* threads split the rows: same clustering, and bit-reproducible for a thread count */
    o.block_rows = 500;
    o.n_threads = 3;
    kmeans_result c;
    CHECK_EQ_INT(kmeans_fit(X, n, d, k, &o, &b, &e), 0);
    CHECK_EQ_INT(kmeans_fit(X, n, d, k, &o, &c, &e), 0);
    CHECK_MSG(memcmp(a.labels, b.labels, n * sizeof *a.labels) == 0, "n_threads 3 changed the labels");
    CHECK_NEAR(b.inertia, a.inertia, 1e-6 * a.inertia);
    CHECK(memcmp(b.centroids, c.centroids, (size_t)k * d * sizeof *b.centroids) == 0);
    CHECK(b.inertia == c.inertia);
    kmeans_result_free(&b);
    kmeans_result_free(&c);
    o.n_threads = 1;
    o.block_rows = 4096;

    /* predict on the training data reproduces the labels of a converged fit */
    int *lab = malloc(n * sizeof *lab);
    double inert = 0;
    CHECK_EQ_INT(kmeans_predict(a.centroids, k, d, X, n, lab, NULL, &inert, &e), 0);
    CHECK(memcmp(lab, a.labels, n * sizeof *lab) == 0);
    CHECK_NEAR(inert, a.inertia, 1e-4 * a.inertia);
    free(lab);

    /* the centroid of each cluster is the mean of its members */
    double *mean = calloc((size_t)k * d, sizeof *mean);
    long cnt[6] = {0};
    for (size_t i = 0; i < n; i++) {
        cnt[a.labels[i]]++;
        for (int j = 0; j < d; j++) mean[a.labels[i] * d + j] += X[i * d + j];
    }
    double worst = 0;
    for (int c = 0; c < k; c++)
        for (int j = 0; j < d; j++) {
            double diff = fabs(mean[c * d + j] / cnt[c] - a.centroids[c * d + j]);
            if (diff > worst) worst = diff;
        }
    CHECK_MSG(worst < 1e-4, "centroid vs member mean: worst diff %g", worst);
    free(mean);
    kmeans_result_free(&a);
    free(X);
    free(truth);
}

static void test_k1_and_kn(void)
{
    size_t n = 50;
    int d = 3, *truth = malloc(n * sizeof *truth);
    float *X = blobs(n, d, 5, 3, 2, truth);
    kmeans_opts o;
    kmeans_opts_default(&o);
    o.n_init = 2;
    kmeans_result r;
    CHECK_EQ_INT(kmeans_fit(X, n, d, 1, &o, &r, NULL), 0);
    double want = 0;
    for (int j = 0; j < d; j++) {
        double m = 0;
        for (size_t i = 0; i < n; i++) m += X[i * d + j];
        m /= n;
        CHECK_NEAR(r.centroids[j], m, 1e-5);
        for (size_t i = 0; i < n; i++) want += (X[i * d + j] - m) * (X[i * d + j] - m);
    }
    CHECK_NEAR(r.inertia, want, 1e-9 * want);
    int all0 = 1;
    for (size_t i = 0; i < n; i++) all0 &= r.labels[i] == 0;
    CHECK(all0);
    kmeans_result_free(&r);

    /* k = n: every point its own cluster, inertia 0 (and 4 threads on 50 rows) */
    o.n_threads = 4;
    CHECK_EQ_INT(kmeans_fit(X, n, d, (int)n, &o, &r, NULL), 0);
    CHECK_NEAR(r.inertia, 0.0, 1e-9);
    int seen[50] = {0}, distinct = 1;
    for (size_t i = 0; i < n; i++) {
        if (seen[r.labels[i]]) distinct = 0;
        seen[r.labels[i]] = 1;
    }
    CHECK_MSG(distinct, "k = n: labels are not a permutation");
    kmeans_result_free(&r);
    free(X);
    free(truth);
}

static void test_duplicates(void)
{
    /* 40 points on 3 distinct locations */
    size_t n = 40;
    int d = 2;
    float X[80];
    const float loc[3][2] = {{0, 0}, {5, 5}, {-3, 7}};
    for (size_t i = 0; i < n; i++) {
        X[i * 2] = loc[i % 3][0];
        X[i * 2 + 1] = loc[i % 3][1];
    }
    kmeans_opts o;
    kmeans_opts_default(&o);
    o.n_init = 3;
    kmeans_result r;
    CHECK_EQ_INT(kmeans_fit(X, n, d, 3, &o, &r, NULL), 0);
    CHECK_NEAR(r.inertia, 0.0, 1e-12);
    kmeans_result_free(&r);
    /* more clusters than distinct points: must not fail, inertia still 0, labels in range */
    CHECK_EQ_INT(kmeans_fit(X, n, d, 5, &o, &r, NULL), 0);
    CHECK_NEAR(r.inertia, 0.0, 1e-12);
    int inrange = 1;
    for (size_t i = 0; i < n; i++) inrange &= r.labels[i] >= 0 && r.labels[i] < 5;
    CHECK(inrange);
    kmeans_result_free(&r);
    /* all points identical */
    for (size_t i = 0; i < n * d; i++) X[i] = 1.5f;
    CHECK_EQ_INT(kmeans_fit(X, n, d, 4, &o, &r, NULL), 0);
    CHECK_NEAR(r.inertia, 0.0, 1e-12);
    CHECK_NEAR(r.centroids[0], 1.5, 1e-7);
    kmeans_result_free(&r);
}

typedef struct cb_state {
    int calls, last_iter, cancel_at, nonincreasing;
    double last;
} cb_state;

static int progress(void *user, int init, int iter, double inertia)
{
    cb_state *s = user;
    s->calls++;
    if (iter > 1 && inertia > s->last * (1 + 1e-6) + 1e-9) s->nonincreasing = 0;
    s->last = inertia;
    s->last_iter = iter;
    return s->cancel_at && iter >= s->cancel_at;
}

static void test_empty_cluster_and_callback(void)
{
    size_t n = 600;
    int d = 4, k = 3, *truth = malloc(n * sizeof *truth);
    float *X = blobs(n, d, k, 10, 3, truth);
    /* start with one centroid far from everything: it is empty after the first assignment */
    float init[12];
    memcpy(init, X, 4 * sizeof *init);                /* point 0 */
    memcpy(init + 4, X + 4 * 1, 4 * sizeof *init);    /* point 1 */
    for (int j = 0; j < 4; j++) init[8 + j] = 1000.0f; /* far away */
    kmeans_opts o;
    kmeans_opts_default(&o);
    o.init = init;
    cb_state s = {0, 0, 0, 1, 0};
    o.progress = progress;
    o.progress_user = &s;
    kmeans_result r;
    dc_err e = {0};
    CHECK_EQ_INT(kmeans_fit(X, n, d, k, &o, &r, &e), 0);
    long cnt[3] = {0};
    for (size_t i = 0; i < n; i++) cnt[r.labels[i]]++;
    CHECK_MSG(cnt[0] > 0 && cnt[1] > 0 && cnt[2] > 0, "cluster sizes %ld %ld %ld", cnt[0], cnt[1], cnt[2]);
    double acc = 0;
    metrics_acc(r.labels, truth, n, &acc, NULL);
    CHECK_MIN(acc, 0.99, "k-means ACC after empty-cluster repair");
    CHECK(r.centroids[8] < 100); /* the far centroid moved onto the data */
    CHECK_EQ_INT(s.calls, r.n_iter);
    CHECK(s.nonincreasing);
    kmeans_result_free(&r);

    /* cancel at iteration 2 */
    o.init = NULL;
    o.n_init = 3;
    cb_state c = {0, 0, 2, 1, 0};
    o.progress_user = &c;
    e.msg[0] = 0;
    CHECK_EQ_INT(kmeans_fit(X, n, d, k, &o, &r, &e), DC_ECANCEL);
    CHECK_EQ_INT(c.calls, 2);
    CHECK(r.labels == NULL && r.centroids == NULL);
    CHECK(strlen(e.msg) > 0);
    free(X);
    free(truth);
}

static void test_gemm_vs_naive(void)
{
    rng g;
    rng_seed(&g, 9);
    size_t n = 5000;
    int d = 37, k = 9;
    float *X = malloc(n * d * sizeof *X), C[9 * 37];
    for (size_t i = 0; i < n * d; i++) X[i] = (float)(rng_normal(&g) + 3.0);
    for (int i = 0; i < k * d; i++) C[i] = (float)(rng_normal(&g) + 3.0);
    int *la = malloc(n * sizeof *la), *lb = malloc(n * sizeof *lb);
    float *ma = malloc(n * sizeof *ma), *mb = malloc(n * sizeof *mb);
    double ia, ib;
    CHECK_EQ_INT(kmeans_predict(C, k, d, X, n, la, ma, &ia, NULL), 0);
    CHECK_EQ_INT(kmeans_predict_naive(C, k, d, X, n, lb, mb, &ib, NULL), 0);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        /* GEMM error is relative to ||x||^2 + ||c||^2 (~ 2 * 37 * 10 here) */
        double scale = 1e-5 * 800;
        if (fabs(ma[i] - mb[i]) > scale) bad++;
        else if (la[i] != lb[i]) {
            /* a different label is fine only on a near tie */
            double s = 0;
            for (int t = 0; t < d; t++) {
                double df = (double)X[i * d + t] - C[la[i] * d + t];
                s += df * df;
            }
            if (fabs(s - mb[i]) > scale) bad++;
        }
    }
    CHECK_MSG(bad == 0, "%d of %zu rows differ between GEMM and naive distances", bad, n);
    CHECK_NEAR(ia, ib, 1e-5 * ib);
    free(X);
    free(la);
    free(lb);
    free(ma);
    free(mb);
}

static void test_invalid(void)
{
    float X[20] = {0};
    X[19] = 1;
    kmeans_opts o;
    kmeans_opts_default(&o);
    kmeans_result r;
    dc_err e = {0};
    CHECK_EQ_INT(kmeans_fit(X, 10, 2, 11, &o, &r, &e), DC_EINVAL); /* k > n */
    CHECK(strstr(e.msg, "n_clusters") != NULL);
    e.msg[0] = 0;
    CHECK_EQ_INT(kmeans_fit(X, 10, 2, 0, &o, &r, &e), DC_EINVAL); /* k < 1 */
    CHECK(strlen(e.msg) > 0);
    o.n_init = 0;
    e.msg[0] = 0;
    CHECK_EQ_INT(kmeans_fit(X, 10, 2, 2, &o, &r, &e), DC_EINVAL);
    CHECK(strstr(e.msg, "n_init") != NULL);
    kmeans_opts_default(&o);
    o.max_iter = 0;
    CHECK_EQ_INT(kmeans_fit(X, 10, 2, 2, &o, &r, &e), DC_EINVAL);
    kmeans_opts_default(&o);
    o.tol = -1;
    CHECK_EQ_INT(kmeans_fit(X, 10, 2, 2, &o, &r, &e), DC_EINVAL);
    kmeans_opts_default(&o);
    o.n_threads = 0;
    CHECK_EQ_INT(kmeans_fit(X, 10, 2, 2, &o, &r, &e), DC_EINVAL);
    kmeans_opts_default(&o);
    CHECK_EQ_INT(kmeans_fit(NULL, 10, 2, 2, &o, &r, NULL), DC_EINVAL);
    X[3] = NAN;
    CHECK_EQ_INT(kmeans_fit(X, 10, 2, 2, &o, &r, &e), DC_ENUMERIC);
    CHECK(r.labels == NULL);
    int lab[10];
    CHECK_EQ_INT(kmeans_predict(X, 0, 2, X, 10, lab, NULL, NULL, &e), DC_EINVAL);
}

int main(void)
{
    test_blobs_and_reproducible();
    test_k1_and_kn();
    test_duplicates();
    test_empty_cluster_and_callback();
    test_gemm_vs_naive();
    test_invalid();
    return CHECK_DONE();
}
