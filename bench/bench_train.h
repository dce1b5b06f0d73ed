/* Helpers shared by the training benchmarks (bench_ae, bench_conv): MNIST IDX reading,
 * per-epoch timing, and the GEMM list timing behind the "GEMM floor". */
#ifndef DC_BENCH_TRAIN_H
#define DC_BENCH_TRAIN_H

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#include "dc_time.h"
#include "nn_ae.h"

/* Appends the images of one gzipped IDX3 file to x (scaled to [0,1]); returns the count or
 * -1. cap: room left, in images of 784 floats. */
static inline long read_idx_gz(const char *path, float *x, long cap)
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

/* All 70,000 MNIST images (train then t10k, from dir) into x (room for cap images);
 * returns the count, or -1 with a message on stderr. */
static inline long read_mnist(const char *dir, float *x, long cap)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    long a = read_idx_gz(path, x, cap);
    if (a < 0) return -1;
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
    long b = read_idx_gz(path, x + (size_t)a * 784, cap - a);
    return b < 0 ? -1 : a + b;
}

/* The benchmarks' images: argv[1] the MNIST folder (default ../shared's), argv[4] an
 * optional n < 70,000 to train on the first n only. NULL on failure (message printed). */
static inline float *bench_images(int argc, char **argv, long *N)
{
    const char *dir = argc > 1 ? argv[1] : "/work/shared/data/mnist";
    float *x = malloc((size_t)70000 * 784 * sizeof *x);
    long n = x ? read_mnist(dir, x, 70000) : -1;
    if (n < 0) {
        free(x);
        return NULL;
    }
    if (argc > 4 && atol(argv[4]) > 0 && atol(argv[4]) < n) n = atol(argv[4]);
    *N = n;
    return x;
}

typedef struct gemm {
    int ta, tb, M, N, K;
} gemm;


/* Floats each of A, B and C must hold for every GEMM of the list. */
static inline size_t gemm_buf_floats(const gemm *g, int n)
{
    size_t big = 1;
    for (int i = 0; i < n; i++) {
        size_t mk = (size_t)g[i].M * g[i].K, kn = (size_t)g[i].K * g[i].N, mn = (size_t)g[i].M * g[i].N;
        if (mk > big) big = mk;
        if (kn > big) big = kn;
        if (mn > big) big = mn;
    }
    return big;
}

static inline double flops(const gemm *g, int n)
{
    double f = 0;
    for (int i = 0; i < n; i++) f += 2.0 * g[i].M * g[i].N * g[i].K;
    return f;
}

/* Seconds for the list, best of reps after one warm-up, on operands of this size filled
 * with small values. */
static inline double time_list(const gemm *g, int n, int reps)
{
    size_t big = gemm_buf_floats(g, n);
    float *A = malloc(3 * big * sizeof *A), *B = A + big, *C = B + big;
    if (!A) {
        fprintf(stderr, "out of memory for the GEMM operands\n");
        exit(1);
    }
    for (size_t i = 0; i < 3 * big; i++) A[i] = 0.001f * (float)(i % 97);
    double best = 1e30;
    for (int r = 0; r <= reps; r++) {
        double t0 = dc_now_s();
        for (int i = 0; i < n; i++) {
            const gemm *q = &g[i];
            int lda = q->ta ? q->M : q->K, ldb = q->tb ? q->K : q->N;
            cblas_sgemm(CblasRowMajor, q->ta ? CblasTrans : CblasNoTrans,
                        q->tb ? CblasTrans : CblasNoTrans, q->M, q->N, q->K, 1.0f, A, lda, B, ldb,
                        q->ta ? 1.0f : 0.0f, C, q->N);
        }
        double t = dc_now_s() - t0;
        if (r > 0 && t < best) best = t;
    }
    free(A);
    return best;
}

/* Fills g with the GEMMs of one training step at batch b (without the first layer's dX
 * unless with_first_dx); returns their count. */
typedef int (*step_fn)(gemm *g, const void *ctx, int b, int with_first_dx);

/* Floor of one epoch of N samples (seconds) for all GEMMs and for the executed ones
 * (without the first layer's dX), and their FLOPs; reps for the full batches, reps_rest
 * for the last partial one. */
static inline void epoch_floor(step_fn step, const void *ctx, long N, int batch, int reps,
                               int reps_rest, double *t_all, double *t_ex, double *f_all,
                               double *f_ex)
{
    gemm g[64];
    long nfull = N / batch, rest = N % batch;
    int ng = step(g, ctx, batch, 1);
    *t_all = nfull * time_list(g, ng, reps);
    *f_all = nfull * flops(g, ng);
    ng = step(g, ctx, batch, 0);
    *t_ex = nfull * time_list(g, ng, reps);
    *f_ex = nfull * flops(g, ng);
    if (rest) {
        ng = step(g, ctx, (int)rest, 1);
        *f_all += flops(g, ng);
        *t_all += time_list(g, ng, reps_rest);
        ng = step(g, ctx, (int)rest, 0);
        *f_ex += flops(g, ng);
        *t_ex += time_list(g, ng, reps_rest);
    }
}

typedef struct ectx {
    double last;
    double times[1000];
    int n;
} ectx;

static inline int on_epoch(void *p, int epoch, double loss, double elapsed)
{
    ectx *c = p;
    double t = elapsed - c->last;
    c->last = elapsed;
    if (c->n < 1000) c->times[c->n++] = t;
    printf("epoch %d: loss %.6f, %.2f s\n", epoch, loss, t);
    fflush(stdout);
    return 0;
}

/* Trains ae for epochs (Adam defaults, batch) on x, calling cb after each epoch (train_timed:
 * timing each epoch into c); returns 0 or -1 with the message on stderr. */
static inline int train_with(nn_ae *ae, const float *x, long N, int epochs, int batch,
                             int (*cb)(void *, int, double, double), void *ctx)
{
    dc_err e = {0};
    nn_train_cfg tc = nn_train_default();
    tc.epochs = epochs;
    tc.batch = batch;
    tc.cb = cb;
    tc.ctx = ctx;
    if (nn_ae_train(ae, x, (size_t)N, &tc, NULL, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    return 0;
}

static inline int train_timed(nn_ae *ae, const float *x, long N, int epochs, int batch,
                              ectx *c)
{
    return train_with(ae, x, N, epochs, batch, on_epoch, c);
}

#endif
