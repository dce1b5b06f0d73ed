/* vae: the one-step VAE clustering model learns generated clusters, generates samples
 * that it assigns back to their cluster, trains reproducibly, and serialises safely.
 *
 * Data: 4 well-separated Gaussian blobs in 20-D (centres uniform in [0.1, 0.9]^20,
 * noise sd 0.05, clipped to [0, 1]), 100 points each, labels known. A small dense model
 * (20-64 encoder, latent 8, classifier 32, rec_weight 50, 600 epochs of 16 batches, under
 * a second) must reach Hungarian ACC >= 0.95; then
 * >= 80% of 200 samples generated from each cluster j must be assigned to j; a save/load
 * round trip must give the same assignments bit for bit; damaged buffers are refused.
 * The conv architecture is checked on tiny shifted-shape images (12x12): shapes, loss
 * decreasing, generation in [0, 1].
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metrics.h"
#include "vae.h"

enum { NB = 4, PER = 100, N = NB * PER, D = 20 };

#include "vae_testutil.h"

typedef struct cbc {
    int calls, stop_at, bad_sum, nan_acc;
    double first_total, last_total, last_acc;
} cbc;

static int on_epoch(void *ctx, const vae_epoch_info *ev)
{
    cbc *c = ctx;
    c->calls++;
    if (ev->epoch == 1) c->first_total = ev->total;
    c->last_total = ev->total;
    if (fabs(ev->total - (ev->rec + ev->kl_z + ev->kl_y)) > 1e-6 * (1 + fabs(ev->total)))
        c->bad_sum++;
    if (isnan(ev->acc)) c->nan_acc++;
    else c->last_acc = ev->acc;
    return c->stop_at && ev->epoch >= c->stop_at;
}

static vae_cfg blob_cfg(uint64_t seed)
{
    vae_cfg c;
    vae_cfg_default(&c, D, NB);
    c.n_hidden = 1;
    c.hidden[0] = 64;
    c.latent = 8;
    c.cls_hidden = 32;
    c.batch = 25;
    c.epochs = 600; /* ~10k Adam steps (sized for the reference: mu_y move <= lr per step) */
    c.eval_every = 100;
    c.rec_weight = 50; /* 20 features: a heavier reconstruction keeps the code informative */
    c.seed = seed;
    return c;
}

static void test_blobs(void)
{
    float *x = malloc(N * D * sizeof *x);
    int32_t y[N], pred[N], pred2[N];
    blobs(x, y, 5);
    dc_err e = {0};
    vae_cfg c = blob_cfg(1);
    vae *v = NULL, *w = NULL, *u = NULL;
    CHECK_MSG(vae_new(&v, &c, &e) == 0, "%s", e.msg);
    cbc cb = {0};
    int rc = vae_train(v, x, N, y, on_epoch, &cb, &e);
    CHECK_MSG(rc == 0, "train: %s", e.msg);
    CHECK_EQ_INT(cb.calls, c.epochs);
    CHECK_EQ_INT(cb.bad_sum, 0);
    CHECK_EQ_INT(cb.nan_acc, c.epochs - c.epochs / c.eval_every);
    CHECK_MSG(cb.last_total < cb.first_total, "loss should fall: %g -> %g", cb.first_total,
              cb.last_total);

    float *q = malloc(N * NB * sizeof *q), *q2 = malloc(N * NB * sizeof *q2);
    CHECK(vae_predict(v, x, N, q, pred, NULL, &e) == 0);
    double acc = 0;
    metrics_acc(pred, y, N, &acc, &e);
    printf("blobs: ACC %.4f (callback %.4f), loss %.4f -> %.4f\n", acc, cb.last_acc,
           cb.first_total, cb.last_total);
    CHECK_MIN(acc, 0.95, "vae ACC on 4 separated blobs");
    CHECK_NEAR(acc, cb.last_acc, 1e-12);
    int rows_ok = 1;
    for (int i = 0; i < N && rows_ok; i++) {
        double s = 0;
        for (int j = 0; j < NB; j++) s += q[i * NB + j];
        if (fabs(s - 1) > 1e-5) rows_ok = 0;
    }
    CHECK_MSG(rows_ok, "soft assignments must sum to 1 per row");

    /* generated samples of cluster j come back to j */
    enum { G = 200 };
    float *gx = malloc(G * D * sizeof *gx);
    int32_t gl[G];
    rng r;
    rng_seed(&r, 99);
    for (int j = 0; j < NB; j++) {
        CHECK(vae_generate(v, j, G, &r, gx, &e) == 0);
        int inr = 1;
        for (int i = 0; i < G * D; i++)
            if (!(gx[i] >= 0 && gx[i] <= 1)) inr = 0;
        CHECK_MSG(inr, "generated values must lie in [0, 1]");
        CHECK(vae_predict(v, gx, G, NULL, gl, NULL, &e) == 0);
        int back = 0;
        for (int i = 0; i < G; i++) back += gl[i] == j;
        char what[64];
        snprintf(what, sizeof what, "vae cluster %d generated, share assigned back", j);
        CHECK_MIN((double)back / G, 0.8, what);
    }
    CHECK(vae_generate(v, NB, 1, &r, gx, &e) == DC_EINVAL);

    /* reconstruction is close to the input (blob noise is 0.05) */
    float *rx = malloc(N * D * sizeof *rx);
    CHECK(vae_reconstruct(v, x, N, rx, &e) == 0);
    double se = 0;
    for (int i = 0; i < N * D; i++) se += (rx[i] - x[i]) * (rx[i] - x[i]);
    CHECK_MAX(sqrt(se / (N * D)), 0.15, "vae reconstruction RMSE");

    /* save / load round trip */
    void *buf = NULL;
    size_t len = 0;
    CHECK(vae_save(v, &buf, &len, &e) == 0);
    CHECK_MSG(vae_load(&w, buf, len, &e) == 0, "load: %s", e.msg);
    if (w) {
        CHECK(vae_predict(w, x, N, q2, pred2, NULL, &e) == 0);
        CHECK(memcmp(pred, pred2, sizeof pred) == 0);
        CHECK(memcmp(q, q2, N * NB * sizeof *q) == 0);
        CHECK(memcmp(vae_params(v), vae_params(w), vae_nparams(v) * sizeof(float)) == 0);
        CHECK_EQ_INT(vae_config(w)->latent, 8);
    }
    /* bad buffers */
    unsigned char *bad = malloc(len);
    vae *z = NULL;
    CHECK_EQ_INT(vae_load(&z, buf, len - 1, &e), DC_EFORMAT);
    CHECK_EQ_INT(vae_load(&z, buf, 10, &e), DC_EFORMAT);
    CHECK_EQ_INT(vae_load(&z, NULL, 0, &e), DC_EFORMAT);
    memcpy(bad, buf, len);
    bad[0] = 'X';
    CHECK_EQ_INT(vae_load(&z, bad, len, &e), DC_EFORMAT);
    memcpy(bad, buf, len);
    bad[8] = 9; /* version */
    CHECK_EQ_INT(vae_load(&z, bad, len, &e), DC_EFORMAT);
    memcpy(bad, buf, len);
    bad[len / 2] ^= 0x40; /* a weight: checksum */
    CHECK_EQ_INT(vae_load(&z, bad, len, &e), DC_EFORMAT);
    CHECK_MSG(strstr(e.msg, "checksum") != NULL, "expected a checksum message, got '%s'", e.msg);
    CHECK(z == NULL);
    free(bad);
    free(buf);

    /* reproducible: same seed -> same parameters; another seed -> different ones */
    c.epochs = 3;
    c.eval_every = 0;
    vae *a = NULL, *b = NULL;
    CHECK(vae_new(&a, &c, &e) == 0 && vae_new(&b, &c, &e) == 0);
    CHECK(vae_train(a, x, N, NULL, NULL, NULL, &e) == 0);
    CHECK(vae_train(b, x, N, NULL, NULL, NULL, &e) == 0);
    CHECK(memcmp(vae_params(a), vae_params(b), vae_nparams(a) * sizeof(float)) == 0);
    c.seed = 2;
    CHECK(vae_new(&u, &c, &e) == 0);
    CHECK(vae_train(u, x, N, NULL, NULL, NULL, &e) == 0);
    CHECK(memcmp(vae_params(a), vae_params(u), vae_nparams(a) * sizeof(float)) != 0);
    /* cancel from the callback */
    cbc stop = {.stop_at = 2};
    CHECK_EQ_INT(vae_train(a, x, N, NULL, on_epoch, &stop, &e), DC_ECANCEL);
    CHECK_EQ_INT(stop.calls, 2);
    vae_free(a);
    vae_free(b);

    free(x);
    free(q);
    free(q2);
    free(gx);
    free(rx);
    vae_free(v);
    vae_free(w);
    vae_free(u);
}

static void test_bad_cfg(void)
{
    vae_cfg c;
    dc_err e = {0};
    vae *v = NULL;
    vae_cfg_default(&c, 10, 1);
    CHECK_EQ_INT(vae_new(&v, &c, &e), DC_EINVAL);
    vae_cfg_default(&c, 10, 3);
    c.conv = 1;
    c.h = 3;
    c.w = 3;
    c.c = 1; /* 9 != 10 */
    CHECK_EQ_INT(vae_new(&v, &c, &e), DC_EINVAL);
    vae_cfg_default(&c, 10, 3);
    c.rec_weight = 0;
    CHECK_EQ_INT(vae_new(&v, &c, &e), DC_EINVAL);
    /* h*w*c beyond long long (found by fuzz/fuzz_model through vae_load: signed overflow,
       which the sanitizer build reports) */
    vae_cfg_default(&c, 16, 3);
    c.conv = 1;
    c.h = c.w = c.c = 1 << 30;
    CHECK_EQ_INT(vae_new(&v, &c, &e), DC_EINVAL);
    CHECK(v == NULL);
}

/* Conv architecture: 12x12 images of a bright 3x3 square or a 1x5 bar at random places. */
static void test_conv(void)
{
    enum { H = 12, CN = 200 };
    float *x = calloc(CN * H * H, sizeof *x);
    rng r;
    rng_seed(&r, 3);
    for (int i = 0; i < CN; i++) {
        float *im = x + i * H * H;
        int oy = (int)rng_below(&r, 7), ox = (int)rng_below(&r, 7);
        for (int a = 0; a < 5; a++)
            for (int b = 0; b < 5; b++)
                if (i % 2 ? (a == 2) : (a >= 1 && a <= 3 && b >= 1 && b <= 3))
                    im[(oy + a) * H + ox + b] = 1;
    }
    vae_cfg c;
    vae_cfg_default(&c, H * H, 2);
    c.conv = 1;
    c.h = c.w = H;
    c.c = 1;
    c.filters[0] = 4;
    c.filters[1] = 8;
    c.latent = 4;
    c.cls_hidden = 16;
    c.batch = 20;
    c.epochs = 15;
    dc_err e = {0};
    vae *v = NULL;
    CHECK_MSG(vae_new(&v, &c, &e) == 0, "%s", e.msg);
    if (!v) return;
    /* 12 -> 6 -> 3: encoder 3*3*8 -> heads; decoder back to 12x12x1 */
    size_t want = (9 * 4 + 4) + (9 * 4 * 4 + 4) + (9 * 4 * 8 + 8) + (9 * 8 * 8 + 8) /* enc */
                  + 2 * (72 * 4 + 4) + (4 * 16 + 16 + 16 * 2 + 2) + 2 * 4      /* heads, cls, mu_y */
                  + (4 * 72 + 72) + 2 * (8 * 9 * 8 + 8) + (8 * 9 * 4 + 4) + (4 * 9 * 4 + 4) +
                  (4 * 9 * 1 + 1); /* decoder */
    CHECK_EQ_INT(vae_nparams(v), want);
    cbc cb = {0};
    CHECK_MSG(vae_train(v, x, CN, NULL, on_epoch, &cb, &e) == 0, "%s", e.msg);
    printf("conv: loss %.4f -> %.4f\n", cb.first_total, cb.last_total);
    CHECK_MSG(cb.last_total < 0.8 * cb.first_total, "conv loss should fall by 20%%: %g -> %g",
              cb.first_total, cb.last_total);
    float g[4 * H * H];
    CHECK(vae_generate(v, 1, 4, &r, g, &e) == 0);
    int inr = 1;
    for (int i = 0; i < 4 * H * H; i++)
        if (!(g[i] >= 0 && g[i] <= 1)) inr = 0;
    CHECK(inr);
    void *buf;
    size_t len;
    vae *w = NULL;
    CHECK(vae_save(v, &buf, &len, &e) == 0);
    CHECK(vae_load(&w, buf, len, &e) == 0);
    float r1[H * H * 4], r2[H * H * 4];
    CHECK(vae_reconstruct(v, x, 4, r1, &e) == 0);
    if (w) CHECK(vae_reconstruct(w, x, 4, r2, &e) == 0 && memcmp(r1, r2, sizeof r1) == 0);
    free(buf);
    vae_free(w);
    vae_free(v);
    free(x);
}

int main(void)
{
    test_bad_cfg();
    test_blobs();
    test_conv();
    return CHECK_DONE();
}
