/* bench_ae: one DEC autoencoder (784-500-500-2000-10, batch 256, Adam) training epoch on
 * all 70,000 MNIST images, against the GEMM floor of that epoch.
 *
 *   OPENBLAS_NUM_THREADS=2 ./bench_ae [mnist_dir] [epochs=3] [batch=256] [n_images]
 *
 * (n_images < 70000 trains on the first n only: for quick profiling.)
 * mnist_dir holds train-images-idx3-ubyte.gz and t10k-images-idx3-ubyte.gz (read here
 * with zlib, scaled to [0,1]). The floor: the epoch's sgemm FLOPs (per dense layer and
 * batch: forward, dW and dX GEMMs) divided by the cblas_sgemm rate measured in this
 * process on the same shapes and transposes. The training skips the dX GEMM of the first
 * encoder layer (nobody needs the gradient w.r.t. the pixels), so two floors are
 * printed: "all" (3 GEMMs per layer, as specified) and "executed" (what actually runs).
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "dc_blas.h"
#include "nn_ae.h"

#include "bench_train.h"

typedef struct fc_dims {
    const int *dims;
    int nd;
} fc_dims;

/* The GEMMs of one training step at batch b, in the order the training runs them. */
static int step_gemms(gemm *g, const void *ctx, int b, int with_first_dx)
{
    const fc_dims *d = ctx;
    int n = 0, L = d->nd - 1;
    int io[16][2];
    for (int i = 0; i < L; i++) io[i][0] = d->dims[i], io[i][1] = d->dims[i + 1];
    for (int i = 0; i < L; i++) io[L + i][0] = d->dims[L - i], io[L + i][1] = d->dims[L - i - 1];
    for (int l = 0; l < 2 * L; l++) {
        int IN = io[l][0], OUT = io[l][1];
        g[n++] = (gemm){0, 0, b, OUT, IN};   /* forward: in @ w */
        g[n++] = (gemm){1, 0, IN, OUT, b};   /* dW: in^T @ dout */
        if (l > 0 || with_first_dx) g[n++] = (gemm){0, 1, b, IN, OUT}; /* dX: dout @ w^T */
    }
    return n;
}

int main(int argc, char **argv)
{
    dc_blas_fix_coretype(argv); /* as the deepclust binary does */
    dc_blas_init_threads();
    int epochs = argc > 2 ? atoi(argv[2]) : 3, batch = argc > 3 ? atoi(argv[3]) : 256;
    int dims[] = {784, 500, 500, 2000, 10}, nd = 5;
    fc_dims fd = {dims, nd};
    int rc = 1;
    long N = 0;
    float *x = NULL;
    nn_ae *ae = NULL;
    dc_err e = {0};
    if (epochs <= 0 || batch <= 0 || !(x = bench_images(argc, argv, &N))) goto out;
    printf("MNIST: %ld images x 784 (%.1f MiB float32); OpenBLAS threads %d, core %s\n", N,
           N * 784 * 4.0 / 1048576, openblas_get_num_threads(), openblas_get_corename());
    if (strcmp(openblas_get_corename(), "Prescott") == 0)
        printf("warning: OpenBLAS picked its SSE3 'Prescott' kernels (CPU not recognised); "
               "set OPENBLAS_CORETYPE=SkylakeX (or Haswell) for AVX kernels\n");

    /* GEMM rate on this epoch's shapes, measured before and after training; the faster
       (stricter) floor is used: the machine is shared and noisy. */
    double ep_t_all, ep_t_ex, ep_f_all, ep_f_ex, t2a, t2e;
    epoch_floor(step_gemms, &fd, N, batch, 5, 3, &ep_t_all, &ep_t_ex, &ep_f_all, &ep_f_ex);
    printf("epoch sgemm work: %.1f GFLOP (all 3 GEMMs/layer), %.1f GFLOP (executed)\n",
           ep_f_all / 1e9, ep_f_ex / 1e9);
    printf("before training: sgemm %.1f GFLOP/s on these shapes -> floor %.2f s/epoch (all), "
           "%.2f s (executed)\n", ep_f_all / ep_t_all / 1e9, ep_t_all, ep_t_ex);
    fflush(stdout);

    if (nn_ae_new_fc(&ae, dims, nd, NN_RELU, 0, NN_INIT_GLOROT_UNIFORM, 1, batch, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        goto out;
    }
    ectx c = {0};
    if (train_timed(ae, x, N, epochs, batch, &c) < 0) goto out;
    double best = 1e30, worst = 0, sum = 0;
    for (int i = 0; i < c.n; i++) {
        sum += c.times[i];
        if (c.times[i] < best) best = c.times[i];
        if (c.times[i] > worst) worst = c.times[i];
    }
    epoch_floor(step_gemms, &fd, N, batch, 5, 3, &t2a, &t2e, &ep_f_all, &ep_f_ex);
    printf("after training:  sgemm %.1f GFLOP/s on these shapes -> floor %.2f s/epoch (all), "
           "%.2f s (executed)\n", ep_f_all / t2a / 1e9, t2a, t2e);
    if (t2a < ep_t_all) ep_t_all = t2a;
    if (t2e < ep_t_ex) ep_t_ex = t2e;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double data_mib = N * 784 * 4.0 / 1048576, rss = ru.ru_maxrss / 1024.0;
    printf("seconds/epoch: mean %.2f, best %.2f over %d epochs\n", sum / c.n, best, c.n);
    printf("ratio to GEMM floor (best epoch / faster floor): %.2f x (all), %.2f x (executed)  "
           "[target <= 1.5]\n", best / ep_t_all, best / ep_t_ex);
    /* flush-to-zero keeps late epochs as fast as early ones (issue 18: every epoch) */
    printf("ratio to GEMM floor (slowest epoch / faster floor): %.2f x (all), %.2f x "
           "(executed)  [target <= 1.15]\n", worst / ep_t_all, worst / ep_t_ex);
    for (int i = 0; i < c.n; i++)
        printf("  epoch %d: %.2f s = %.2f x floor (all)\n", i + 1, c.times[i], c.times[i] / ep_t_all);
    printf("peak RSS %.1f MiB; limit 1.5 x %.1f + 300 = %.1f MiB\n", rss, data_mib,
           1.5 * data_mib + 300);
    rc = 0;
out:
    nn_ae_free(ae);
    free(x);
    return rc;
}
