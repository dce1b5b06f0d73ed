/* bench_ae: one DEC autoencoder (784-500-500-2000-10, batch 256, Adam) training epoch on
 * all 70,000 MNIST images, against the GEMM floor of that epoch.
 *
 *   OPENBLAS_NUM_THREADS=2 ./bench_ae [mnist_dir] [epochs=3] [batch=256] [n_images]
 *
 * (n_images < 70000 trains on the first n only: for quick profiling.)
 * BENCH_AE_FLOOR_EACH_EPOCH=1 also runs one epoch's GEMMs alone (per-layer buffers, the
 * training's order) before the first epoch and after every epoch, and compares each epoch
 * with the faster of the two runs beside it: on a host whose speed drifts, a floor measured
 * minutes away says little about one epoch.
 * BENCH_AE_FLOOR_EACH_STEP=1 goes further: each training step's GEMMs run alone right
 * after the step, and each epoch is compared with the sum of its steps' floors.
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
#include "nn_ops.h"
#include "rng.h"

#include "bench_train.h"

typedef struct fc_dims {
    const int *dims;
    int nd;
} fc_dims;

/* (in, out) of the autoencoder's layers, encoder then mirrored decoder; returns their count. */
static int layer_io(const int *dims, int nd, int io[16][2])
{
    int L = nd - 1;
    for (int i = 0; i < L; i++) io[i][0] = dims[i], io[i][1] = dims[i + 1];
    for (int i = 0; i < L; i++) io[L + i][0] = dims[L - i], io[L + i][1] = dims[L - i - 1];
    return 2 * L;
}

/* The GEMMs of one training step at batch b, in the order the training runs them. */
static int step_gemms(gemm *g, const void *ctx, int b, int with_first_dx)
{
    const fc_dims *d = ctx;
    int n = 0, io[16][2], nl = layer_io(d->dims, d->nd, io);
    for (int l = 0; l < nl; l++) {
        int IN = io[l][0], OUT = io[l][1];
        g[n++] = (gemm){0, 0, b, OUT, IN};   /* forward: in @ w */
        g[n++] = (gemm){1, 0, IN, OUT, b};   /* dW: in^T @ dout */
        if (l > 0 || with_first_dx) g[n++] = (gemm){0, 1, b, IN, OUT}; /* dX: dout @ w^T */
    }
    return n;
}

/* The floor measured alongside each epoch: one epoch's GEMMs run alone, on buffers laid
 * out as the training's (per layer: weights, their gradient, the layer's input and output
 * and their gradients), in the training's order (forward through the layers, then per
 * layer from the last: dW, dX), same betas. Returns the seconds of the executed GEMMs (no
 * dX of the first layer, which training skips); *dx0 the first layer's dX, timed apart. */
typedef struct mlp_bufs {
    int L, io[16][2], B;
    float *w[16], *dw[16], *act[17], *dact[17];
} mlp_bufs;

static float *filled(size_t n)
{
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "out of memory for the floor's buffers\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) p[i] = 1e-3f * (float)((int)(i % 7) - 3);
    return p;
}

static void mlp_bufs_init(mlp_bufs *m, const int *dims, int nd, int B)
{
    m->L = layer_io(dims, nd, m->io);
    m->B = B;
    for (int l = 0; l < m->L; l++) {
        size_t wn = (size_t)m->io[l][0] * m->io[l][1];
        m->w[l] = filled(wn);
        m->dw[l] = filled(wn);
        m->act[l] = filled((size_t)B * m->io[l][0]);
        m->dact[l] = filled((size_t)B * m->io[l][0]);
    }
    m->act[m->L] = filled((size_t)B * m->io[m->L - 1][1]);
    m->dact[m->L] = filled((size_t)B * m->io[m->L - 1][1]);
}

static void mlp_bufs_free(mlp_bufs *m)
{
    for (int l = 0; l <= m->L; l++) {
        if (l < m->L) free(m->w[l]), free(m->dw[l]);
        free(m->act[l]);
        free(m->dact[l]);
    }
}

static void mlp_step(mlp_bufs *m, int b, double *dx0)
{
    for (int l = 0; l < m->L; l++) {
        int IN = m->io[l][0], OUT = m->io[l][1];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, OUT, IN, 1.0f, m->act[l], IN,
                    m->w[l], OUT, 0.0f, m->act[l + 1], OUT);
    }
    for (int l = m->L - 1; l >= 0; l--) {
        int IN = m->io[l][0], OUT = m->io[l][1];
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, IN, OUT, b, 1.0f, m->act[l], IN,
                    m->dact[l + 1], OUT, 1.0f, m->dw[l], OUT);
        double t0 = l == 0 ? dc_now_s() : 0;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, IN, OUT, 1.0f, m->dact[l + 1],
                    OUT, m->w[l], OUT, 0.0f, m->dact[l], IN);
        if (l == 0) *dx0 += dc_now_s() - t0;
    }
}

static double epoch_gemms_alone(mlp_bufs *m, long N, double *dx0)
{
    *dx0 = 0;
    double t0 = dc_now_s();
    for (long s = 0; s < N; s += m->B) mlp_step(m, (int)(N - s < m->B ? N - s : m->B), dx0);
    return dc_now_s() - t0 - *dx0;
}

typedef struct alone_ctx {
    mlp_bufs m;
    long N;
    double t_end, ep[256], alone[257], dx0[257];
    int n;
} alone_ctx;

/* After each epoch: its own wall time (the floor's runs excluded), then the floor again. */
static int on_epoch_alone(void *p, int epoch, double loss, double elapsed)
{
    (void)elapsed;
    alone_ctx *c = p;
    double t = dc_now_s() - c->t_end;
    c->ep[c->n] = t; /* room for every epoch: alone_run allows at most 256 */
    c->alone[c->n + 1] = epoch_gemms_alone(&c->m, c->N, &c->dx0[c->n + 1]);
    printf("epoch %d: loss %.6f, %.2f s; GEMMs alone after it %.2f s\n", epoch, loss, t,
           c->alone[c->n + 1]);
    fflush(stdout);
    c->n++;
    c->t_end = dc_now_s();
    return 0;
}

/* Trains as train_timed does, with the floor measured before and after every epoch. */
static int alone_run(nn_ae *ae, const float *x, long N, int epochs, int batch, const int *dims,
                     int nd)
{
    alone_ctx *c = epochs <= 256 ? calloc(1, sizeof *c) : NULL;
    if (!c) return -1;
    mlp_bufs_init(&c->m, dims, nd, batch);
    c->N = N;
    c->alone[0] = epoch_gemms_alone(&c->m, N, &c->dx0[0]);
    printf("GEMMs alone before epoch 1: %.2f s (executed) + %.2f s (first layer's dX)\n",
           c->alone[0], c->dx0[0]);
    c->t_end = dc_now_s();
    int rc = train_with(ae, x, N, epochs, batch, on_epoch_alone, c);
    double worst = 0, worst_all = 0;
    for (int i = 0; !rc && i < c->n; i++) {
        int j = c->alone[i] < c->alone[i + 1] ? i : i + 1; /* the faster neighbour */
        double r = c->ep[i] / c->alone[j], ra = c->ep[i] / (c->alone[j] + c->dx0[j]);
        if (r > worst) worst = r;
        if (ra > worst_all) worst_all = ra;
        printf("  epoch %d: %.2f s = %.2f x its floor (executed GEMMs alone, %.2f s), %.2f x "
               "(all, %.2f s)\n", i + 1, c->ep[i], r, c->alone[j], ra, c->alone[j] + c->dx0[j]);
    }
    if (!rc)
        printf("slowest epoch against the floor measured beside it: %.2f x (executed), %.2f x "
               "(all)  [target <= 1.15]\n", worst, worst_all);
    mlp_bufs_free(&c->m);
    free(c);
    return rc ? -1 : 0;
}

/* BENCH_AE_FLOOR_EACH_STEP: nn_ae_train's loop written out (same calls in the same order,
 * same shuffle; check_steps proves it gives the same parameters bit for bit), with each
 * step's GEMMs run alone on the floor's buffers right after the step. An epoch's ratio is
 * the sum of its steps over the sum of their floors: a host whose speed drifts over
 * seconds slows both alike. */
typedef struct step_loop {
    nn_ae *ae;
    nn_optim opt;
    int *idx, batch;
    float *xb, *dxh, *dz;
} step_loop;

static int step_loop_init(step_loop *L, nn_ae *ae, long N, int batch)
{
    dc_err e = {0};
    nn_train_cfg tc = nn_train_default();
    memset(L, 0, sizeof *L);
    L->ae = ae, L->batch = batch;
    if (nn_optim_init(&L->opt, &tc.opt, ae->nparams, &e)) return -1;
    L->idx = malloc((size_t)N * sizeof *L->idx);
    L->xb = malloc((size_t)batch * ae->in_dim * sizeof *L->xb);
    L->dxh = malloc((size_t)batch * ae->in_dim * sizeof *L->dxh);
    L->dz = malloc((size_t)batch * (size_t)ae->emb_dim * sizeof *L->dz);
    memset(ae->grads, 0, ae->nparams * sizeof(float));
    return L->idx && L->xb && L->dxh && L->dz ? 0 : -1;
}

static void step_loop_free(step_loop *L)
{
    nn_optim_free(&L->opt);
    free(L->idx), free(L->xb), free(L->dxh), free(L->dz);
}

/* One epoch; after every step, floor(step's batch) if given. Returns the loss; *train the
 * seconds of the steps (and the shuffle), *alone those of the floor calls. */
static double step_epoch(step_loop *L, const float *x, long N, int ep, mlp_bufs *m,
                         double *train, double *alone, double *dx0)
{
    size_t d = L->ae->in_dim, n = (size_t)N, B = (size_t)L->batch;
    double t = dc_now_s(), sum = 0;
    rng r;
    rng_seed(&r, (nn_train_default().seed ^ 0x9e3779b97f4a7c15ULL) +
                     0x632be59bd9b4e019ULL * (uint64_t)ep);
    for (size_t i = 0; i < n; i++) L->idx[i] = (int)i;
    rng_shuffle(&r, L->idx, n);
    *train = dc_now_s() - t, *alone = 0, *dx0 = 0;
    for (size_t s = 0; s < n; s += B) {
        int b = (int)(n - s < B ? n - s : B);
        double a = dc_now_s();
        for (int i = 0; i < b; i++)
            memcpy(L->xb + (size_t)i * d, x + (size_t)L->idx[s + i] * d, d * sizeof *L->xb);
        const float *z = nn_net_forward(L->ae->enc, L->xb, b);
        const float *xh = nn_net_forward(L->ae->dec, z, b);
        sum += nn_mse_loss(L->dxh, xh, L->xb, (size_t)b * d, 1.0f) * b;
        nn_net_backward(L->ae->dec, L->dxh, L->dz, b);
        nn_net_backward(L->ae->enc, L->dz, NULL, b);
        nn_optim_step(&L->opt, L->ae->params, L->ae->grads);
        double c = dc_now_s();
        *train += c - a;
        if (m) {
            mlp_step(m, b, dx0);
            *alone += dc_now_s() - c;
        }
    }
    return sum / (double)n;
}

/* The written-out loop against nn_ae_train: 2 epochs on the first 2,048 images from the
 * same initial weights must give the same parameters bit for bit. */
static int check_steps(const float *x, const int *dims, int nd, int batch)
{
    nn_ae *a = NULL, *b = NULL;
    step_loop L;
    dc_err e = {0};
    long n = 2048;
    int same = 0;
    double tr, al, dx;
    if (!nn_ae_new_fc(&a, dims, nd, NN_RELU, 0, NN_INIT_GLOROT_UNIFORM, 1, batch, &e) &&
        !nn_ae_new_fc(&b, dims, nd, NN_RELU, 0, NN_INIT_GLOROT_UNIFORM, 1, batch, &e) &&
        !train_with(a, x, n, 2, batch, NULL, NULL) && !step_loop_init(&L, b, n, batch)) {
        for (int ep = 1; ep <= 2; ep++) step_epoch(&L, x, n, ep, NULL, &tr, &al, &dx);
        same = memcmp(a->params, b->params, a->nparams * sizeof(float)) == 0;
        step_loop_free(&L);
    }
    nn_ae_free(a), nn_ae_free(b);
    printf("the step loop written out here gives nn_ae_train's parameters bit for bit "
           "(2 epochs, 2,048 images): %s\n", same ? "yes" : "NO");
    return same ? 0 : -1;
}

/* The paired floor's max/min over a run's epochs: the trusted runs moved <= 9% (11-12 s),
 * the one a neighbour slowed 35% (11 -> 14.9 s; docs/bench-ae.md). */
#define QUIET_SPREAD 1.10

static int step_run(nn_ae *ae, const float *x, long N, int epochs, int batch, const int *dims,
                    int nd)
{
    if (check_steps(x, dims, nd, batch) < 0) return -1;
    step_loop L;
    mlp_bufs m;
    if (step_loop_init(&L, ae, N, batch) < 0) {
        step_loop_free(&L);
        return -1;
    }
    mlp_bufs_init(&m, dims, nd, batch);
    double worst = 0, worst_all = 0, sum_t = 0, sum_a = 0, sum_x = 0, fmin = 0, fmax = 0;
    for (int ep = 1; ep <= epochs; ep++) {
        double tr, al, dx, loss = step_epoch(&L, x, N, ep, &m, &tr, &al, &dx);
        double r = tr / (al - dx), ra = tr / al;
        if (ep == 1 || al - dx < fmin) fmin = al - dx;
        if (ep == 1 || al - dx > fmax) fmax = al - dx;
        if (r > worst) worst = r;
        if (ra > worst_all) worst_all = ra;
        sum_t += tr, sum_a += al, sum_x += dx;
        printf("epoch %d: loss %.6f, steps %.2f s; their GEMMs alone %.2f s (executed) + %.2f s "
               "(first layer's dX) -> %.3f x (executed), %.3f x (all)\n", ep, loss, tr, al - dx,
               dx, r, ra);
        fflush(stdout);
    }
    printf("all %d epochs: %.3f x (executed), %.3f x (all); slowest epoch %.3f x (executed), "
           "%.3f x (all)  [target <= 1.15]\n", epochs, sum_t / (sum_a - sum_x), sum_t / sum_a,
           worst, worst_all);
    /* The same GEMMs each epoch: a floor that moves means the host's load changed during
     * the run, and a neighbour's memory traffic slows the rest of an epoch more than its
     * GEMMs, which pairing does not cancel. A steady load (even a busy one) is paired out. */
    double spread = fmin > 0 ? fmax / fmin : 0;
    printf("host: the floor moved %.1f%% across epochs (%.2f-%.2f s) -> %s\n",
           100 * (spread - 1), fmin, fmax,
           spread <= QUIET_SPREAD ? "steady: the ratios above can be trusted"
                                  : "NOT steady (the host's load changed): rerun before trusting "
                                    "the ratios above");
    mlp_bufs_free(&m);
    step_loop_free(&L);
    return 0;
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
    if (getenv("BENCH_AE_FLOOR_EACH_STEP")) { /* the floor beside every step */
        rc = step_run(ae, x, N, epochs, batch, dims, nd) ? 1 : 0;
        goto out;
    }
    if (getenv("BENCH_AE_FLOOR_EACH_EPOCH")) { /* the floor beside every epoch */
        rc = alone_run(ae, x, N, epochs, batch, dims, nd) ? 1 : 0;
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
