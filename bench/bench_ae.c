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
#include <time.h>
#include <zlib.h>

#include "dc_blas.h"
#include "nn_ae.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Appends the images of one gzipped IDX3 file to x (scaled to [0,1]); returns the count or
 * -1. cap: room left, in images of 784 floats. */
static long read_idx_gz(const char *path, float *x, long cap)
{
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return -1;
    }
    unsigned char h[16], buf[65536];
    long n = -1;
    if (gzread(f, h, 16) != 16 || h[2] != 8 || h[3] != 3) {
        fprintf(stderr, "%s: not an IDX3 ubyte file\n", path);
        goto out;
    }
    long cnt = ((long)h[4] << 24) | (h[5] << 16) | (h[6] << 8) | h[7];
    long rows = ((long)h[8] << 24) | (h[9] << 16) | (h[10] << 8) | h[11];
    long cols = ((long)h[12] << 24) | (h[13] << 16) | (h[14] << 8) | h[15];
    if (rows * cols != 784 || cnt > cap) {
        fprintf(stderr, "%s: %ld images of %ldx%ld (want 28x28, at most %ld)\n", path, cnt, rows,
                cols, cap);
        goto out;
    }
    size_t total = (size_t)cnt * 784, done = 0;
    while (done < total) {
        size_t want = total - done < sizeof buf ? total - done : sizeof buf;
        int got = gzread(f, buf, (unsigned)want);
        if (got <= 0) {
            fprintf(stderr, "%s: truncated at image byte %zu\n", path, done);
            goto out;
        }
        for (int i = 0; i < got; i++) x[done + (size_t)i] = buf[i] * (1.0f / 255.0f);
        done += (size_t)got;
    }
    n = cnt;
out:
    gzclose(f);
    return n;
}

typedef struct gemm {
    int ta, tb, M, N, K;
} gemm;

/* The GEMMs of one training step at batch b, in the order the training runs them. */
static int step_gemms(gemm *g, const int *dims, int nd, int b, int with_first_dx)
{
    int n = 0, L = nd - 1;
    int io[16][2];
    for (int i = 0; i < L; i++) io[i][0] = dims[i], io[i][1] = dims[i + 1];
    for (int i = 0; i < L; i++) io[L + i][0] = dims[L - i], io[L + i][1] = dims[L - i - 1];
    for (int l = 0; l < 2 * L; l++) {
        int IN = io[l][0], OUT = io[l][1];
        g[n++] = (gemm){0, 0, b, OUT, IN};   /* forward: in @ w */
        g[n++] = (gemm){1, 0, IN, OUT, b};   /* dW: in^T @ dout */
        if (l > 0 || with_first_dx) g[n++] = (gemm){0, 1, b, IN, OUT}; /* dX: dout @ w^T */
    }
    return n;
}

static double flops(const gemm *g, int n)
{
    double f = 0;
    for (int i = 0; i < n; i++) f += 2.0 * g[i].M * g[i].N * g[i].K;
    return f;
}

/* Seconds for the list, best of reps after one warm-up. */
static double time_gemms(const gemm *g, int n, float *A, float *B, float *C, int reps)
{
    double best = 1e30;
    for (int r = 0; r <= reps; r++) {
        double t0 = now_s();
        for (int i = 0; i < n; i++) {
            const gemm *q = &g[i];
            int lda = q->ta ? q->M : q->K, ldb = q->tb ? q->K : q->N;
            cblas_sgemm(CblasRowMajor, q->ta ? CblasTrans : CblasNoTrans,
                        q->tb ? CblasTrans : CblasNoTrans, q->M, q->N, q->K, 1.0f, A, lda, B, ldb,
                        q->ta ? 1.0f : 0.0f, C, q->N);
        }
        double t = now_s() - t0;
        if (r > 0 && t < best) best = t;
    }
    return best;
}

/* Floor of one epoch (seconds), for all 3 GEMMs per layer and for the executed ones. */
static void epoch_floor(const int *dims, int nd, long N, int batch, double *t_all, double *t_ex,
                        double *f_all, double *f_ex)
{
    gemm g[64];
    size_t big = 2000 * 2000 > (size_t)batch * 2000 ? 2000 * 2000 : (size_t)batch * 2000;
    float *A = malloc(big * sizeof *A), *B = malloc(big * sizeof *B), *C = malloc(big * sizeof *C);
    for (size_t i = 0; i < big; i++) A[i] = B[i] = C[i] = 0.001f * (float)(i % 97);
    long nfull = N / batch, rest = N % batch;
    int ng = step_gemms(g, dims, nd, batch, 1);
    *t_all = nfull * time_gemms(g, ng, A, B, C, 5);
    *f_all = nfull * flops(g, ng);
    ng = step_gemms(g, dims, nd, batch, 0);
    *t_ex = nfull * time_gemms(g, ng, A, B, C, 5);
    *f_ex = nfull * flops(g, ng);
    if (rest) {
        ng = step_gemms(g, dims, nd, (int)rest, 1);
        *f_all += flops(g, ng);
        *t_all += time_gemms(g, ng, A, B, C, 3);
        ng = step_gemms(g, dims, nd, (int)rest, 0);
        *f_ex += flops(g, ng);
        *t_ex += time_gemms(g, ng, A, B, C, 3);
    }
    free(A);
    free(B);
    free(C);
}

typedef struct ectx {
    double last;
    double times[1000];
    int n;
} ectx;

static int on_epoch(void *p, int epoch, double loss, double elapsed)
{
    ectx *c = p;
    double t = elapsed - c->last;
    c->last = elapsed;
    if (c->n < 1000) c->times[c->n++] = t;
    printf("epoch %d: loss %.6f, %.2f s\n", epoch, loss, t);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    dc_blas_fix_coretype(argv); /* as the deepclust binary does */
    const char *dir = argc > 1 ? argv[1] : "/work/shared/data/mnist";
    int epochs = argc > 2 ? atoi(argv[2]) : 3, batch = argc > 3 ? atoi(argv[3]) : 256;
    int dims[] = {784, 500, 500, 2000, 10}, nd = 5;
    int rc = 1;
    long N = 70000;
    float *x = malloc((size_t)N * 784 * sizeof *x);
    nn_ae *ae = NULL;
    dc_err e = {0};
    char path[4096];
    if (!x || epochs <= 0 || batch <= 0) goto out;
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    long a = read_idx_gz(path, x, N);
    if (a < 0) goto out;
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
    long b = read_idx_gz(path, x + (size_t)a * 784, N - a);
    if (b < 0) goto out;
    N = a + b;
    if (argc > 4 && atol(argv[4]) > 0 && atol(argv[4]) < N) N = atol(argv[4]);
    printf("MNIST: %ld images x 784 (%.1f MiB float32); OpenBLAS threads %d, core %s\n", N,
           N * 784 * 4.0 / 1048576, openblas_get_num_threads(), openblas_get_corename());
    if (strcmp(openblas_get_corename(), "Prescott") == 0)
        printf("warning: OpenBLAS picked its SSE3 'Prescott' kernels (CPU not recognised); "
               "set OPENBLAS_CORETYPE=SkylakeX (or Haswell) for AVX kernels\n");

    /* GEMM rate on this epoch's shapes, measured before and after training; the faster
       (stricter) floor is used: the machine is shared and noisy. */
    double ep_t_all, ep_t_ex, ep_f_all, ep_f_ex, t2a, t2e;
    epoch_floor(dims, nd, N, batch, &ep_t_all, &ep_t_ex, &ep_f_all, &ep_f_ex);
    printf("epoch sgemm work: %.1f GFLOP (all 3 GEMMs/layer), %.1f GFLOP (executed)\n",
           ep_f_all / 1e9, ep_f_ex / 1e9);
    printf("before training: sgemm %.1f GFLOP/s on these shapes -> floor %.2f s/epoch (all), "
           "%.2f s (executed)\n", ep_f_all / ep_t_all / 1e9, ep_t_all, ep_t_ex);
    fflush(stdout);

    if (nn_ae_new_fc(&ae, dims, nd, NN_RELU, 0, NN_INIT_GLOROT_UNIFORM, 1, batch, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        goto out;
    }
    nn_train_cfg tc = nn_train_default();
    tc.epochs = epochs;
    tc.batch = batch;
    ectx c = {0};
    tc.cb = on_epoch;
    tc.ctx = &c;
    if (nn_ae_train(ae, x, (size_t)N, &tc, NULL, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        goto out;
    }
    double best = 1e30, sum = 0;
    for (int i = 0; i < c.n; i++) {
        sum += c.times[i];
        if (c.times[i] < best) best = c.times[i];
    }
    epoch_floor(dims, nd, N, batch, &t2a, &t2e, &ep_f_all, &ep_f_ex);
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
    printf("peak RSS %.1f MiB; limit 1.5 x %.1f + 300 = %.1f MiB\n", rss, data_mib,
           1.5 * data_mib + 300);
    rc = 0;
out:
    nn_ae_free(ae);
    free(x);
    return rc;
}
