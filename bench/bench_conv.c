/* bench_conv: one DCEC convolutional autoencoder training epoch (28x28x1, conv 32-64-128,
 * embedding 10, batch 256, Adam: what `--method dcec` pretrains) on MNIST, against the
 * GEMM floor of that epoch.
 *
 *   OPENBLAS_NUM_THREADS=1 ./bench_conv [mnist_dir] [epochs=2] [batch=256] [n_images]
 *   OPENBLAS_NUM_THREADS=2 ./bench_conv --shapes [batch=256]
 *
 * --shapes: each GEMM of one training step alone, at 1 thread and at the process's
 * thread count, to see which shapes use more than one core.
 * (n_images < 70000 trains on the first n only; time per image is what matters.)
 * The floor: the epoch's sgemm FLOPs (per conv/convT/dense layer and batch: forward, dW
 * and dX GEMMs at the im2col shapes core/nn_ops.c uses) divided by the cblas_sgemm rate
 * measured in this process on the same shapes and transposes. Training skips the dX GEMM
 * of the first conv (no gradient w.r.t. the pixels): "executed" leaves it out. Also
 * printed: the sgemm rate on a 2048^3 square, i.e. what this core can do at best, so the
 * gap between the shapes' rate and that is the price of the small conv shapes.
 */
#include <stdlib.h>
#include <string.h>

#include "dc_blas.h"
#include "nn_ae.h"
#include "nn_ops.h"

#include "bench_train.h"

static int add_conv(gemm *g, int n, int b, int *h, int C, int OC, int K, int S, int P,
                    int with_dx)
{
    int oh = nn_conv_out(*h, K, S, P), M = b * oh * oh, KK = K * K * C;
    g[n++] = (gemm){0, 0, M, OC, KK};              /* forward: col @ w */
    g[n++] = (gemm){1, 0, KK, OC, M};              /* dW: col^T @ dout */
    if (with_dx) g[n++] = (gemm){0, 1, M, KK, OC}; /* dcol: dout @ w^T */
    *h = oh;
    return n;
}

static int add_convt(gemm *g, int n, int b, int *h, int C, int OC, int K, int S, int P, int OP)
{
    int M = b * *h * *h, KK = K * K * OC;
    g[n++] = (gemm){0, 0, M, KK, C}; /* forward: in @ w -> col */
    g[n++] = (gemm){1, 0, C, KK, M}; /* dW: in^T @ dcol */
    g[n++] = (gemm){0, 1, M, C, KK}; /* dX: dcol @ w^T */
    *h = nn_convt_out(*h, K, S, P, OP);
    return n;
}

static int add_dense(gemm *g, int n, int b, int IN, int OUT)
{
    g[n++] = (gemm){0, 0, b, OUT, IN};
    g[n++] = (gemm){1, 0, IN, OUT, b};
    g[n++] = (gemm){0, 1, b, IN, OUT};
    return n;
}

/* The GEMMs of one training step at batch b on 28x28x1 (nn_ae_new_conv's geometry). */
static int step_gemms(gemm *g, const void *ctx, int b, int with_first_dx)
{
    (void)ctx;
    int n = 0, h = 28, p3 = h % 8 == 0 ? 1 : 0;
    n = add_conv(g, n, b, &h, 1, 32, 5, 2, 2, with_first_dx); /* 28 -> 14 */
    n = add_conv(g, n, b, &h, 32, 64, 5, 2, 2, 1);            /* 14 -> 7 */
    n = add_conv(g, n, b, &h, 64, 128, 3, 2, p3, 1);          /* 7 -> 3 */
    int flat = h * h * 128;
    n = add_dense(g, n, b, flat, 10);
    n = add_dense(g, n, b, 10, flat);
    n = add_convt(g, n, b, &h, 128, 64, 3, 2, p3, 7 - nn_convt_out(h, 3, 2, p3, 0));
    n = add_convt(g, n, b, &h, 64, 32, 5, 2, 2, 14 - nn_convt_out(h, 5, 2, 2, 0));
    n = add_convt(g, n, b, &h, 32, 1, 5, 2, 2, 28 - nn_convt_out(h, 5, 2, 2, 0));
    return n;
}

/* sgemm GFLOP/s on one 2048^3 NN product, best of 3. */
static double square_rate(void)
{
    gemm g = {0, 0, 2048, 2048, 2048};
    return flops(&g, 1) / time_list(&g, 1, 3) / 1e9;
}

/* --shapes: per GEMM of one step, GFLOP/s at 1 thread and at T; then the whole step. */
static int shapes(int batch)
{
    int T = openblas_get_num_threads();
    gemm g[64];
    int ng = step_gemms(g, NULL, batch, 0);
    double s1 = 0, sT = 0;
    printf("batch %d, executed GEMMs of one step; OpenBLAS core %s, threads 1 vs %d\n", batch,
           openblas_get_corename(), T);
    printf("%-4s %2s %2s %7s %6s %7s %9s %9s %7s\n", "gemm", "tA", "tB", "M", "N", "K",
           "GF/s 1", "GF/s T", "speedup");
    for (int i = 0; i < ng; i++) {
        openblas_set_num_threads(1);
        double t1 = time_list(&g[i], 1, 5);
        openblas_set_num_threads(T);
        double tT = time_list(&g[i], 1, 5);
        double f = flops(&g[i], 1) / 1e9;
        s1 += t1;
        sT += tT;
        printf("%-4s %2d %2d %7d %6d %7d %9.1f %9.1f %6.2fx\n", g[i].ta ? "dW" : g[i].tb ? "dX" : "fwd", g[i].ta,
               g[i].tb, g[i].M, g[i].N, g[i].K, f / t1, f / tT, t1 / tT);
    }
    printf("step: %.2f ms at 1 thread, %.2f ms at %d: %.2fx\n", s1 * 1e3, sT * 1e3, T, s1 / sT);
    return 0;
}

int main(int argc, char **argv)
{
    dc_blas_fix_coretype(argv); /* as the deepclust binary does */
    dc_blas_init_threads();
    if (argc > 1 && !strcmp(argv[1], "--shapes")) return shapes(argc > 2 ? atoi(argv[2]) : 256);
    int epochs = argc > 2 ? atoi(argv[2]) : 2, batch = argc > 3 ? atoi(argv[3]) : 256;
    int rc = 1;
    long N = 0;
    float *x = NULL;
    nn_ae *ae = NULL;
    dc_err e = {0};
    if (epochs <= 0 || batch <= 0 || !(x = bench_images(argc, argv, &N))) goto out;
    printf("MNIST: %ld images 28x28x1; OpenBLAS threads %d, core %s\n", N,
           openblas_get_num_threads(), openblas_get_corename());
    double sq = square_rate();
    printf("sgemm on a 2048^3 square: %.1f GFLOP/s\n", sq);

    double t_all, t_ex, f_all, f_ex, t2a, t2e;
    epoch_floor(step_gemms, NULL, N, batch, 3, 2, &t_all, &t_ex, &f_all, &f_ex);
    printf("epoch sgemm work: %.1f GFLOP (all), %.1f GFLOP (executed)\n", f_all / 1e9,
           f_ex / 1e9);
    printf("before training: sgemm %.1f GFLOP/s on these shapes -> floor %.2f s/epoch (all), "
           "%.2f s (executed)\n", f_all / t_all / 1e9, t_all, t_ex);
    fflush(stdout);

    if (nn_ae_new_conv(&ae, 28, 28, 1, NULL, 10, NN_INIT_GLOROT_UNIFORM, 1, batch, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        goto out;
    }
    ectx c = {0};
    if (train_timed(ae, x, N, epochs, batch, &c) < 0) goto out;
    double best = 1e30;
    for (int i = 0; i < c.n; i++)
        if (c.times[i] < best) best = c.times[i];
    epoch_floor(step_gemms, NULL, N, batch, 3, 2, &t2a, &t2e, &f_all, &f_ex);
    printf("after training:  sgemm %.1f GFLOP/s on these shapes -> floor %.2f s/epoch (all), "
           "%.2f s (executed)\n", f_all / t2a / 1e9, t2a, t2e);
    if (t2a < t_all) t_all = t2a;
    if (t2e < t_ex) t_ex = t2e;
    printf("best epoch %.2f s = %.1f GFLOP/s executed; ratio to GEMM floor %.2f x (executed); "
           "floor at the square's rate %.2f s\n", best, f_ex / best / 1e9, best / t_ex,
           f_ex / (sq * 1e9));
    printf("per 70,000 images: epoch %.1f s, floor %.1f s\n", best * 70000.0 / N,
           t_ex * 70000.0 / N);
    rc = 0;
out:
    nn_ae_free(ae);
    free(x);
    return rc;
}
