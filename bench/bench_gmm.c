/* bench_gmm: seconds per EM iteration of gmm_fit on 70,000 x 10 float data, k = 10
 * (the shape of n2d's last stage: UMAP codes of all MNIST images). The data are 10
 * Gaussian blobs with random correlated covariances, generated here (no files).
 *
 *   OPENBLAS_NUM_THREADS=1 ./bench_gmm [n_threads=1] [iters=20] [n=70000] [d=10] [k=10]
 *
 * One run (n_init 1), tol 0 so that all iters iterations run; the time per iteration is
 * taken between the first and the last progress callback (so without the k-means
 * initialisation), and the E-step kernel alone is timed through gmm_predict. Process
 * CPU time is printed beside the wall time: on a shared machine it is the steadier figure
 * (with n_threads 1 and one OpenBLAS thread they should agree on an idle one). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dc_blas.h"
#include "dc_time.h"
#include "gmm.h"
#include "rng.h"

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct clockrec {
    double t_first, t_last, c_first, c_last;
    int calls;
    double ll;
} clockrec;

static int tick(void *user, int init, int iter, double ll)
{
    clockrec *c = user;
    double t = dc_now_s(), cpu = cpu_s();
    if (c->calls++ == 0) {
        c->t_first = t;
        c->c_first = cpu;
    }
    c->t_last = t;
    c->c_last = cpu;
    c->ll = ll;
    return 0;
}

int main(int argc, char **argv)
{
    dc_blas_fix_coretype(argv);
    dc_blas_init_threads();
    int T = argc > 1 ? atoi(argv[1]) : 1, iters = argc > 2 ? atoi(argv[2]) : 20;
    size_t n = argc > 3 ? (size_t)atol(argv[3]) : 70000;
    int d = argc > 4 ? atoi(argv[4]) : 10, k = argc > 5 ? atoi(argv[5]) : 10;
    if (T < 1 || iters < 2 || n < 100 || d < 1 || k < 1) {
        fprintf(stderr, "usage: bench_gmm [n_threads] [iters >= 2] [n >= 100] [d] [k]\n");
        return 2;
    }
    float *X = malloc(n * d * sizeof *X);
    double *A = malloc((size_t)k * d * d * sizeof *A), *mu = malloc((size_t)k * d * sizeof *mu);
    if (!X || !A || !mu) return 1;
    rng g;
    rng_seed(&g, 42);
    for (size_t i = 0; i < (size_t)k * d * d; i++) A[i] = rng_normal(&g) * 0.5;
    for (size_t i = 0; i < (size_t)k * d; i++) mu[i] = rng_uniform(&g) * 20 - 10;
    double z[256];
    for (size_t i = 0; i < n; i++) {
        int c = (int)rng_below(&g, (uint64_t)k);
        for (int t = 0; t < d && t < 256; t++) z[t] = rng_normal(&g);
        for (int a = 0; a < d; a++) {
            double s = mu[c * d + a];
            for (int t = 0; t < d && t < 256; t++) s += A[((size_t)c * d + a) * d + t] * z[t];
            X[i * d + a] = (float)s;
        }
    }

    gmm_opts o;
    gmm_opts_default(&o);
    o.n_init = 1;
    o.tol = 0;
    o.max_iter = iters;
    o.n_threads = T;
    clockrec c = {0};
    o.progress = tick;
    o.progress_user = &c;
    gmm_result r;
    dc_err e = {0};
    double t0 = dc_now_s();
    int rc = gmm_fit(X, n, d, k, &o, &r, &e);
    double t1 = dc_now_s();
    if (rc) {
        fprintf(stderr, "gmm_fit: %s\n", e.msg);
        return 1;
    }
    double per = (c.t_last - c.t_first) / (c.calls - 1), cper = (c.c_last - c.c_first) / (c.calls - 1);
    printf("%s\n", dc_blas_config());
    printf("gmm_fit n %zu d %d k %d n_threads %d: %d iterations, %.4f s per EM iteration "
           "(process CPU %.4f s), total %.3f s (k-means init and final passes included), "
           "mean loglik %.6f\n",
           n, d, k, T, r.n_iter, per, cper, t1 - t0, r.loglik);
    double *q = malloc(n * (size_t)k * sizeof *q), ll;
    t0 = dc_now_s();
    double c0 = cpu_s();
    for (int i = 0; i < 3; i++) gmm_predict(&r.model, X, n, q, NULL, &ll, &e);
    t1 = dc_now_s();
    printf("gmm_predict (E-step alone, 1 thread): %.4f s per pass (process CPU %.4f s)\n", (t1 - t0) / 3,
           (cpu_s() - c0) / 3);
    free(q);
    gmm_result_free(&r);
    free(X);
    free(A);
    free(mu);
    return 0;
}
