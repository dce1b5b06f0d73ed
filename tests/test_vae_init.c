/* vae_init: the warm-up options of the vae method (vae.h "Warm-up"): the KL weight
 * schedule reported per epoch, k-means initialisation of mu_y, a separate mu_y learning
 * rate, and the version-2 model format (and loading a version-1 buffer).
 *
 * Data: 4 separated Gaussian blobs in 20-D (as test_vae), 100 points each.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kmeans.h"
#include "metrics.h"
#include "vae.h"

enum { NB = 4, PER = 100, N = NB * PER, D = 20 };

#include "vae_testutil.h"

static vae_cfg small_cfg(void)
{
    vae_cfg c;
    vae_cfg_default(&c, D, NB);
    c.n_hidden = 1;
    c.hidden[0] = 64;
    c.latent = 8;
    c.cls_hidden = 32;
    c.batch = 25;
    c.rec_weight = 50;
    c.eval_every = 0;
    c.seed = 3;
    return c;
}

typedef struct rec {
    int n;
    double w[64], acc[64];
} rec;

static int on_epoch(void *ctx, const vae_epoch_info *ev)
{
    rec *r = ctx;
    if (r->n < 64) {
        r->w[r->n] = ev->kl_weight;
        r->acc[r->n] = ev->acc;
        r->n++;
    }
    return 0;
}

/* The schedule: warmup_kl for the warm-up epochs, a linear ramp, then 1; counted over
 * successive vae_train calls. */
static void test_schedule(const float *x)
{
    vae_cfg c = small_cfg();
    c.warmup_epochs = 3;
    c.warmup_kl = 0.2f;
    c.kl_ramp_epochs = 4;
    c.epochs = 5;
    dc_err e = {0};
    vae *v = NULL;
    CHECK_MSG(vae_new(&v, &c, &e) == 0, "%s", e.msg);
    if (!v) return;
    rec r = {0};
    CHECK_MSG(vae_train(v, x, N, NULL, on_epoch, &r, &e) == 0, "%s", e.msg);
    CHECK_MSG(vae_train(v, x, N, NULL, on_epoch, &r, &e) == 0, "%s", e.msg); /* epochs 6-10 */
    double want[10] = {0.2, 0.2, 0.2, 0.4, 0.6, 0.8, 1, 1, 1, 1};
    CHECK_EQ_INT(r.n, 10);
    for (int i = 0; i < 10 && i < r.n; i++) {
        CHECK_NEAR(r.w[i], want[i], 1e-6);
    }
    vae_free(v);
}

/* Codes of the blobs' class means at the end of the warm-up, taken by the callback. */
typedef struct snap {
    vae *v;
    const float *x;
    const int32_t *y;
    int at;
    double cm[NB][64], spread;
} snap;

static int on_epoch_snap(void *ctx, const vae_epoch_info *ev)
{
    snap *s = ctx;
    if (ev->epoch != s->at) return 0;
    int L = vae_latent(s->v);
    float *z = malloc((size_t)N * L * sizeof *z);
    if (!z || vae_predict(s->v, s->x, N, NULL, NULL, z, NULL) != 0) {
        free(z);
        return 1;
    }
    memset(s->cm, 0, sizeof s->cm);
    for (int i = 0; i < N; i++)
        for (int l = 0; l < L; l++) s->cm[s->y[i]][l] += z[i * L + l] / PER;
    s->spread = 0;
    for (int i = 0; i < N; i++)
        for (int l = 0; l < L; l++) s->spread += pow(z[i * L + l] - s->cm[s->y[i]][l], 2) / N;
    free(z);
    return 0;
}

/* k-means init: when the warm-up ends, mu_y become the k-means centroids of mu(x); on
 * separated blobs these are the blobs' mean codes (taken by the callback after the last
 * warm-up epoch, before any later update). A tiny mu_y learning rate keeps them there
 * through the next epoch. Then the whole recipe separates the blobs in a tenth of the
 * steps test_vae needs from mu_y = 0. */
static void test_kmeans_init(const float *x, const int32_t *y)
{
    vae_cfg c = small_cfg();
    c.warmup_epochs = 10;
    c.warmup_kl = 0.1f;
    c.init_muy = VAE_INIT_KMEANS;
    c.epochs = 11;
    c.muy_lr_mult = 1e-4f; /* mu_y move <= 1e-7 per step */
    dc_err e = {0};
    vae *v = NULL;
    CHECK_MSG(vae_new(&v, &c, &e) == 0, "%s", e.msg);
    if (!v) return;
    const float *muy = vae_class_means(v);
    double n0 = 0;
    for (int i = 0; i < NB * c.latent; i++) n0 += fabs(muy[i]);
    CHECK_NEAR(n0, 0.0, 0.0); /* zero before training */
    snap s = {.v = v, .x = x, .y = y, .at = 10};
    CHECK_MSG(vae_train(v, x, N, NULL, on_epoch_snap, &s, &e) == 0, "%s", e.msg);
    int L = c.latent;
    double worst = 0;
    for (int j = 0; j < NB; j++) {
        double best = 1e30;
        for (int b = 0; b < NB; b++) {
            double d2 = 0;
            for (int l = 0; l < L; l++) d2 += pow(muy[j * L + l] - s.cm[b][l], 2);
            if (d2 < best) best = d2;
        }
        if (best > worst) worst = best;
    }
    printf("k-means init: worst squared distance of a mu_y to its blob's mean code %.3g "
           "(within-blob spread %.3g)\n", worst, s.spread);
    CHECK_MSG(s.spread > 0 && worst < 1e-6 * (1 + s.spread),
              "mu_y should be the blobs' mean codes: squared distance %g", worst);
    vae_free(v);

    /* the whole recipe: 60 epochs (1,000 steps) reach the blobs */
    c = small_cfg();
    c.warmup_epochs = 10;
    c.warmup_kl = 0.1f;
    c.init_muy = VAE_INIT_KMEANS;
    c.kl_ramp_epochs = 10;
    c.muy_lr_mult = 10;
    c.epochs = 60;
    c.eval_every = 60;
    CHECK_MSG(vae_new(&v, &c, &e) == 0, "%s", e.msg);
    if (!v) return;
    rec r = {0};
    CHECK_MSG(vae_train(v, x, N, y, on_epoch, &r, &e) == 0, "%s", e.msg);
    double acc = r.n == 60 ? r.acc[59] : 0;
    printf("warm-up + k-means init, 60 epochs: ACC %.4f\n", acc);
    CHECK_MIN(acc, 0.95, "vae ACC on 4 blobs with k-means init");
    vae_free(v);
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Version 2 keeps the warm-up fields; a version-1 buffer (116-byte config, no warm-up
 * fields) loads with the reference's training settings and the same parameters. */
static void test_format(const float *x)
{
    vae_cfg c = small_cfg();
    c.warmup_epochs = 7;
    c.warmup_kl = 0.25f;
    c.init_muy = VAE_INIT_KMEANS;
    c.muy_lr_mult = 3;
    c.kl_ramp_epochs = 5;
    c.epochs = 1;
    dc_err e = {0};
    vae *v = NULL, *w = NULL, *u = NULL;
    CHECK_MSG(vae_new(&v, &c, &e) == 0, "%s", e.msg);
    if (!v) return;
    CHECK(vae_train(v, x, N, NULL, NULL, NULL, &e) == 0);
    void *buf = NULL;
    size_t len = 0;
    CHECK(vae_save(v, &buf, &len, &e) == 0);
    unsigned char *b = buf;
    CHECK_EQ_INT(b[8], 2);
    CHECK_EQ_INT(b[12] | b[13] << 8, 136);
    CHECK_MSG(vae_load(&w, buf, len, &e) == 0, "%s", e.msg);
    if (w) {
        const vae_cfg *wc = vae_config(w);
        CHECK_EQ_INT(wc->warmup_epochs, 7);
        CHECK_NEAR(wc->warmup_kl, 0.25, 0);
        CHECK_EQ_INT(wc->init_muy, VAE_INIT_KMEANS);
        CHECK_NEAR(wc->muy_lr_mult, 3, 0);
        CHECK_EQ_INT(wc->kl_ramp_epochs, 5);
    }
    /* hand-made version 1: drop the 20 warm-up bytes after the seed (config at 16..152) */
    size_t l1 = len - 20;
    unsigned char *b1 = malloc(l1);
    size_t cfg_end_v1 = 16 + 116;
    memcpy(b1, b, cfg_end_v1);
    memcpy(b1 + cfg_end_v1, b + cfg_end_v1 + 20, len - cfg_end_v1 - 20 - 8);
    b1[8] = 1;
    b1[12] = 116;
    b1[13] = 0;
    uint64_t h = fnv1a(b1, l1 - 8);
    for (int i = 0; i < 8; i++) b1[l1 - 8 + i] = (unsigned char)(h >> (8 * i));
    CHECK_MSG(vae_load(&u, b1, l1, &e) == 0, "version 1: %s", e.msg);
    if (u) {
        const vae_cfg *uc = vae_config(u);
        CHECK_EQ_INT(uc->warmup_epochs, 0);
        CHECK_EQ_INT(uc->init_muy, VAE_INIT_ZERO);
        CHECK_NEAR(uc->muy_lr_mult, 1, 0);
        CHECK_EQ_INT(uc->latent, 8);
        CHECK(memcmp(vae_params(u), vae_params(v), vae_nparams(v) * sizeof(float)) == 0);
    }
    /* version 1 with a version-2 config size is refused */
    b1[12] = 136;
    h = fnv1a(b1, l1 - 8);
    for (int i = 0; i < 8; i++) b1[l1 - 8 + i] = (unsigned char)(h >> (8 * i));
    vae *z = NULL;
    CHECK_EQ_INT(vae_load(&z, b1, l1, &e), DC_EFORMAT);
    CHECK(z == NULL);
    /* bad option values */
    vae_cfg bad = small_cfg();
    bad.warmup_kl = 1.5f;
    CHECK_EQ_INT(vae_new(&z, &bad, &e), DC_EINVAL);
    bad = small_cfg();
    bad.muy_lr_mult = 0;
    CHECK_EQ_INT(vae_new(&z, &bad, &e), DC_EINVAL);
    bad = small_cfg();
    bad.init_muy = 2;
    CHECK_EQ_INT(vae_new(&z, &bad, &e), DC_EINVAL);
    free(b1);
    free(buf);
    vae_free(v);
    vae_free(w);
    vae_free(u);
}

int main(void)
{
    float *x = malloc(N * D * sizeof *x);
    int32_t y[N];
    blobs(x, y, 5);
    test_schedule(x);
    test_kmeans_init(x, y);
    test_format(x);
    free(x);
    return CHECK_DONE();
}
