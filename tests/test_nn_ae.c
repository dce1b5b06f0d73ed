/* nn_ae: the autoencoders learn generated data, stop on request, and are reproducible.
 *
 * Data: 400 points of a 2-D manifold (t, s) embedded smoothly in 50-D:
 *   x = A [sin t, cos t, s, s sin t, s^2 - 1/2, cos 2t] + 0.01 noise, A (50,6) random.
 * The fully-connected AE 50-64-32-2 (ReLU) must cut the reconstruction MSE by >= 5x
 * (measured before and after training on the whole set). The conv AE (DCEC layout,
 * small filters) on 28x28 images of shifted bright squares must come back to 28x28 and
 * cut its MSE by >= 3x in a few epochs.
 * Denoising (nn_train_cfg.noise): reproducible, not the plain run, resumable at an epoch
 * boundary with the same parameters bit for bit, and it still learns the clean data (MSE
 * on the clean points cut by >= 3x); a negative or NaN noise is refused.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_ae.h"

static float *manifold(int n, int d, uint64_t seed)
{
    rng r;
    rng_seed(&r, seed);
    float A[50 * 6];
    for (int i = 0; i < d * 6; i++) A[i] = (float)(rng_normal(&r) / sqrt(6.0));
    float *x = malloc((size_t)n * d * sizeof *x);
    for (int i = 0; i < n; i++) {
        double t = 6.283185307179586 * rng_uniform(&r), s = 2 * rng_uniform(&r) - 1;
        double f[6] = {sin(t), cos(t), s, s * sin(t), s * s - 0.5, cos(2 * t)};
        for (int j = 0; j < d; j++) {
            double v = 0;
            for (int k = 0; k < 6; k++) v += A[j * 6 + k] * f[k];
            x[(size_t)i * d + j] = (float)(v + 0.01 * rng_normal(&r));
        }
    }
    return x;
}

typedef struct cbctx {
    int calls, stop_at, last_epoch;
    double first, last;
} cbctx;

static int on_epoch(void *p, int epoch, double loss, double elapsed)
{
    cbctx *c = p;
    c->calls++;
    c->last_epoch = epoch;
    if (epoch == 1) c->first = loss;
    c->last = loss;
    return c->stop_at && epoch >= c->stop_at;
}

static void test_fc(void)
{
    enum { N = 400, D = 50 };
    float *x = manifold(N, D, 17);
    dc_err e = {0};
    int dims[] = {D, 64, 32, 2};
    nn_ae *ae = NULL, *ae2 = NULL;
    CHECK(nn_ae_new_fc(&ae, dims, 4, NN_RELU, 0, NN_INIT_GLOROT_UNIFORM, 1, 32, &e) == 0);
    CHECK_EQ_INT(ae->emb_dim, 2);
    CHECK_EQ_INT(ae->enc_nparams, 50 * 64 + 64 + 64 * 32 + 32 + 32 * 2 + 2);
    CHECK_EQ_INT(ae->nparams - ae->enc_nparams, 2 * 32 + 32 + 32 * 64 + 64 + 64 * 50 + 50);
    double before = nn_ae_recon_mse(ae, x, N, &e);
    nn_train_cfg tc = nn_train_default();
    tc.epochs = 150;
    tc.batch = 32;
    tc.seed = 5;
    tc.cb = on_epoch;
    cbctx c = {0};
    tc.ctx = &c;
    double fl = 0;
    int rc = nn_ae_train(ae, x, N, &tc, &fl, &e);
    CHECK_MSG(rc == 0, "train: %s", e.msg);
    double after = nn_ae_recon_mse(ae, x, N, &e);
    printf("fc AE: mse before %.5f after %.5f (factor %.1f), epoch losses %.5f -> %.5f\n", before,
           after, before / after, c.first, c.last);
    CHECK_MIN(before / after, 5, "fc AE MSE fall factor");
    CHECK_EQ_INT(c.calls, 150);
    CHECK_NEAR(fl, c.last, 0);

    /* embeddings: finite, not collapsed */
    float *z = malloc((size_t)N * 2 * sizeof *z);
    CHECK(nn_ae_encode(ae, x, N, z, &e) == 0);
    double var = 0, m = 0;
    for (int i = 0; i < N; i++) m += z[2 * i];
    m /= N;
    for (int i = 0; i < N; i++) var += (z[2 * i] - m) * (z[2 * i] - m);
    CHECK(isfinite(var) && var / N > 1e-4);

    /* reproducible: same seeds -> identical parameters, bit for bit */
    CHECK(nn_ae_new_fc(&ae2, dims, 4, NN_RELU, 0, NN_INIT_GLOROT_UNIFORM, 1, 32, &e) == 0);
    tc.cb = NULL;
    CHECK(nn_ae_train(ae2, x, N, &tc, NULL, &e) == 0);
    CHECK_MSG(memcmp(ae->params, ae2->params, ae->nparams * sizeof(float)) == 0,
              "same seed gave different parameters");
    nn_ae_free(ae2);
    /* a different shuffling seed gives different parameters */
    CHECK(nn_ae_new_fc(&ae2, dims, 4, NN_RELU, 0, NN_INIT_GLOROT_UNIFORM, 1, 32, &e) == 0);
    tc.seed = 6;
    tc.epochs = 2;
    CHECK(nn_ae_train(ae2, x, N, &tc, NULL, &e) == 0);
    CHECK(memcmp(ae->params, ae2->params, ae->nparams * sizeof(float)) != 0);
    nn_ae_free(ae2);

    /* rebind into a bigger caller buffer (AE + 7 extra floats, as DEC's centroids):
       same encodings, training then updates the caller's buffer only there */
    {
        float *big = malloc((ae->nparams + 7) * sizeof *big), *bg = calloc(ae->nparams + 7, sizeof *bg);
        float *z2 = malloc((size_t)N * 2 * sizeof *z2);
        for (int i = 0; i < 7; i++) big[ae->nparams + i] = 42.0f;
        CHECK(nn_ae_rebind(ae, big, bg, &e) == 0);
        CHECK(ae->params == big && nn_net_params(ae->dec) == big + ae->enc_nparams);
        CHECK(nn_ae_encode(ae, x, N, z2, &e) == 0);
        CHECK(memcmp(z, z2, (size_t)N * 2 * sizeof *z) == 0);
        float before0 = big[0];
        nn_train_cfg t1 = nn_train_default();
        t1.epochs = 1;
        t1.batch = 32;
        CHECK(nn_ae_train(ae, x, N, &t1, NULL, &e) == 0);
        CHECK(big[0] != before0);
        CHECK(big[ae->nparams] == 42.0f && big[ae->nparams + 6] == 42.0f);
        /* move it back into a buffer of its own kind: a fresh AE owns nothing of big */
        float *p2 = malloc(ae->nparams * sizeof *p2), *g2 = malloc(ae->nparams * sizeof *g2);
        CHECK(nn_ae_rebind(ae, p2, g2, &e) == 0);
        free(big);
        free(bg);
        CHECK(nn_ae_encode(ae, x, N, z2, &e) == 0); /* still works on p2 */
        /* hand p2/g2 back to the AE as its own so that nn_ae_free releases them */
        ae->owns = 1;
        free(z2);
    }

    /* cancel from the callback after 3 epochs; SGD+momentum path */
    tc.cb = on_epoch;
    tc.epochs = 50;
    tc.opt = nn_optim_default(NN_OPT_SGD);
    cbctx c2 = {0};
    c2.stop_at = 3;
    tc.ctx = &c2;
    rc = nn_ae_train(ae, x, N, &tc, NULL, &e);
    CHECK_EQ_INT(rc, DC_ECANCEL);
    CHECK_EQ_INT(c2.calls, 3);
    /* bad batch */
    tc.batch = 33;
    CHECK_EQ_INT(nn_ae_train(ae, x, N, &tc, NULL, &e), DC_EINVAL);
    free(z);
    free(x);
    nn_ae_free(ae);
}

static void test_conv(void)
{
    enum { N = 96, H = 28 };
    rng r;
    rng_seed(&r, 8);
    float *x = calloc((size_t)N * H * H, sizeof *x);
    for (int i = 0; i < N; i++) {
        int y0 = (int)rng_below(&r, 18), x0 = (int)rng_below(&r, 18), s = 6 + (int)rng_below(&r, 5);
        for (int yy = y0; yy < y0 + s && yy < H; yy++)
            for (int xx = x0; xx < x0 + s && xx < H; xx++) x[(size_t)i * H * H + yy * H + xx] = 1.0f;
    }
    dc_err e = {0};
    nn_ae *ae = NULL;
    int f[3] = {8, 16, 32};
    int rc = nn_ae_new_conv(&ae, H, H, 1, f, 10, NN_INIT_GLOROT_UNIFORM, 3, 32, &e);
    CHECK_MSG(rc == 0, "conv ae: %s", e.msg);
    if (rc) {
        free(x);
        return;
    }
    int h, w, c;
    nn_net_out_shape(ae->dec, &h, &w, &c);
    CHECK_EQ_INT(h, 28);
    CHECK_EQ_INT(w, 28);
    CHECK_EQ_INT(c, 1);
    CHECK_EQ_INT(ae->emb_dim, 10);
    double before = nn_ae_recon_mse(ae, x, N, &e);
    nn_train_cfg tc = nn_train_default();
    tc.epochs = 40;
    tc.batch = 32;
    rc = nn_ae_train(ae, x, N, &tc, NULL, &e);
    CHECK_MSG(rc == 0, "train: %s", e.msg);
    double after = nn_ae_recon_mse(ae, x, N, &e);
    printf("conv AE: mse before %.5f after %.5f (factor %.1f)\n", before, after, before / after);
    CHECK_MIN(before / after, 3, "conv AE MSE fall factor");
    /* other sizes mirror exactly too (h % 8 == 0 uses pad 1 on the 3x3 conv) */
    nn_ae *a2 = NULL;
    CHECK(nn_ae_new_conv(&a2, 32, 32, 3, NULL, 10, NN_INIT_VARSCALE, 1, 2, &e) == 0);
    if (a2) {
        nn_net_out_shape(a2->dec, &h, &w, &c);
        CHECK(h == 32 && w == 32 && c == 3);
    }
    nn_ae_free(a2);
    nn_ae_free(ae);
    free(x);
}

static void test_denoise(void)
{
    enum { N = 400, D = 50 };
    float *x = manifold(N, D, 17), lo = x[0], hi = x[0];
    for (int i = 1; i < N * D; i++) lo = x[i] < lo ? x[i] : lo, hi = x[i] > hi ? x[i] : hi;
    dc_err e = {0};
    int dims[] = {D, 64, 32, 2};
    nn_ae *a = NULL, *b = NULL, *c = NULL;
    CHECK(nn_ae_new_fc(&a, dims, 4, NN_RELU, 0, NN_INIT_GLOROT_UNIFORM, 1, 32, &e) == 0);
    CHECK(nn_ae_new_fc(&b, dims, 4, NN_RELU, 0, NN_INIT_GLOROT_UNIFORM, 1, 32, &e) == 0);
    CHECK(nn_ae_new_fc(&c, dims, 4, NN_RELU, 0, NN_INIT_GLOROT_UNIFORM, 1, 32, &e) == 0);
    double before = nn_ae_recon_mse(a, x, N, &e);
    nn_train_cfg tc = nn_train_default();
    tc.epochs = 100;
    tc.batch = 32;
    tc.seed = 5;
    tc.noise = 0.3f;
    tc.clip_lo = lo, tc.clip_hi = hi;
    CHECK(nn_ae_train(a, x, N, &tc, NULL, &e) == 0);
    double after = nn_ae_recon_mse(a, x, N, &e);
    printf("denoising fc AE: clean mse before %.5f after %.5f (factor %.1f)\n", before, after,
           before / after);
    CHECK_MIN(before / after, 3, "denoising AE: MSE fall factor on the clean points");
    /* the same run in two pieces (1 epoch, then 2..100 with the optimizer's state) */
    nn_optim st;
    CHECK(nn_optim_init(&st, &tc.opt, b->nparams, &e) == 0);
    nn_train_cfg t1 = tc;
    t1.state = &st;
    t1.epochs = 1;
    CHECK(nn_ae_train(b, x, N, &t1, NULL, &e) == 0);
    t1.start_epoch = 1;
    t1.epochs = 100;
    CHECK(nn_ae_train(b, x, N, &t1, NULL, &e) == 0);
    CHECK_MSG(memcmp(a->params, b->params, a->nparams * sizeof(float)) == 0,
              "a denoising run resumed at an epoch boundary differs");
    nn_optim_free(&st);
    /* without the noise: other parameters */
    tc.noise = 0;
    CHECK(nn_ae_train(c, x, N, &tc, NULL, &e) == 0);
    CHECK(memcmp(a->params, c->params, a->nparams * sizeof(float)) != 0);
    tc.noise = -0.1f;
    CHECK_EQ_INT(nn_ae_train(c, x, N, &tc, NULL, &e), DC_EINVAL);
    tc.noise = NAN;
    CHECK_EQ_INT(nn_ae_train(c, x, N, &tc, NULL, &e), DC_EINVAL);
    nn_ae_free(a), nn_ae_free(b), nn_ae_free(c);
    free(x);
}

int main(void)
{
    test_denoise();
    test_fc();
    test_conv();
    return CHECK_DONE();
}
