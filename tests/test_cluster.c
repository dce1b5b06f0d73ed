/* cluster: every method recovers well-separated generated clusters, a model survives a
 * save/load round trip with identical predictions, bad specs and buffers are refused,
 * and a callback can stop a run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cluster.h"
#include "data.h"
#include "metrics.h"
#include "rng.h"

/* k blobs in d dims, centres on a scaled simplex-ish random set, n_per samples each. */
static void blobs(dataset *ds, int k, int n_per, int d, double spread, uint64_t seed)
{
    rng r;
    rng_seed(&r, seed);
    dataset_alloc(ds, (int64_t)k * n_per, d, 1, NULL);
    double *ctr = malloc(sizeof(double) * k * d);
    for (int i = 0; i < k * d; i++) ctr[i] = rng_uniform(&r) * 4.0 - 2.0;
    for (int64_t i = 0; i < ds->n; i++) {
        int c = (int)(i % k);
        ds->labels[i] = c;
        for (int j = 0; j < d; j++) ds->x[i * d + j] = (float)(ctr[c * d + j] + spread * rng_normal(&r));
    }
    free(ctr);
}

static int events, stop_after;
static int on_event(void *ctx, const cluster_event *ev)
{
    (void)ctx;
    events++;
    CHECK(ev->progress >= 0 && ev->progress <= 1.0 + 1e-9);
    if (ev->phase == CP_KMEANS) /* every k-means event carries an inertia */
        CHECK_MSG(isfinite(ev->loss) && ev->loss >= 0, "k-means event loss %g", ev->loss);
    return stop_after && events >= stop_after;
}

static double acc_of(cluster_model *m, const dataset *ds)
{
    int32_t *lab = malloc(sizeof(int32_t) * ds->n);
    double acc = -1;
    if (cluster_predict(m, ds->x, ds->n, NULL, lab, NULL, NULL) == 0)
        metrics_acc((const int *)lab, (const int *)ds->labels, (size_t)ds->n, &acc, NULL);
    free(lab);
    return acc;
}

static void roundtrip(cluster_model *m, const dataset *ds)
{
    void *buf = NULL;
    size_t len = 0;
    dc_err e = {0};
    CHECK_EQ_INT(cluster_model_save(m, &buf, &len, &e), 0);
    cluster_model *m2 = NULL;
    CHECK_EQ_INT(cluster_model_load(&m2, buf, len, &e), 0);
    if (!m2) return;
    int k = cluster_model_k(m);
    float *q1 = malloc(sizeof(float) * ds->n * k), *q2 = malloc(sizeof(float) * ds->n * k);
    cluster_predict(m, ds->x, ds->n, q1, NULL, NULL, NULL);
    cluster_predict(m2, ds->x, ds->n, q2, NULL, NULL, NULL);
    CHECK_MSG(memcmp(q1, q2, sizeof(float) * ds->n * k) == 0, "q differs after load");
    double s = 0;
    for (int j = 0; j < k; j++) s += q1[j];
    CHECK_NEAR(s, 1.0, 1e-5);
    ((unsigned char *)buf)[len / 2] ^= 0x40; /* corrupt one byte */
    cluster_model *m3 = NULL;
    CHECK_EQ_INT(cluster_model_load(&m3, buf, len, &e), DC_EFORMAT);
    CHECK(strstr(e.msg, "checksum") != NULL);
    CHECK_EQ_INT(cluster_model_load(&m3, buf, 10, &e), DC_EFORMAT);
    free(buf), free(q1), free(q2);
    cluster_model_free(m2);
}

static int vae_pretrain = 40; /* the vae's pretraining epochs (0: one step from scratch) */

static void run_method(cluster_method meth, const dataset *ds, double min_acc)
{
    cluster_spec s;
    cluster_spec_default(&s, meth, 4);
    s.seed = 3;
    s.n_hidden = 3;
    s.hidden[0] = 64, s.hidden[1] = 32, s.hidden[2] = 4;
    s.pretrain_epochs = 40;
    s.batch = 64;
    s.n_init = 5;
    s.update_interval = 20;
    s.maxiter = 400;
    if (meth == CM_VAE) { /* dense VAE: hidden layers, latent and epochs of its own */
        s.n_hidden = 1, s.hidden[0] = 64;
        s.latent = 8, s.vae_epochs = 400, s.vae_rec_weight = 50, s.batch = 25;
        s.pretrain_epochs = vae_pretrain;
        if (vae_pretrain) s.vae_epochs = 30;
    }
    cluster_model *m = NULL;
    dc_err e = {0};
    events = 0;
    int rc = cluster_fit(&m, &s, ds, on_event, NULL, &e);
    CHECK_MSG(rc == 0, "%s: %s", cluster_method_name(meth), e.msg);
    if (!m) return;
    if (meth == CM_VAE && vae_pretrain) /* pretrain epochs, k-means, vae epochs */
        CHECK_MSG(events == vae_pretrain + 1 + 30, "vae events: %d", events);
    double acc = acc_of(m, ds);
    char what[64];
    snprintf(what, sizeof what, "%s ACC on 4 blobs", cluster_method_name(meth));
    CHECK_MIN(acc, min_acc, what);
    CHECK(events > 0);
    roundtrip(m, ds);
    cluster_model_free(m);
}

int main(void)
{
    dataset ds = {0};
    cluster_spec s;
    cluster_model *m = NULL;
    dc_err e = {0};
    blobs(&ds, 4, 150, 30, 0.3, 11);
    run_method(CM_KMEANS, &ds, 0.99);
    run_method(CM_AE_KMEANS, &ds, 0.99);
    run_method(CM_DEC, &ds, 0.99);
    run_method(CM_IDEC, &ds, 0.99);
    /* the vae models intensities in [0, 1]: the same blobs, min-max scaled */
    dataset unit = {0};
    dataset_alloc(&unit, ds.n, ds.d, 1, NULL);
    float lo = ds.x[0], hi = ds.x[0];
    for (int64_t i = 0; i < ds.n * ds.d; i++) lo = fminf(lo, ds.x[i]), hi = fmaxf(hi, ds.x[i]);
    for (int64_t i = 0; i < ds.n * ds.d; i++) unit.x[i] = (ds.x[i] - lo) / (hi - lo);
    memcpy(unit.labels, ds.labels, sizeof(int32_t) * ds.n);
    run_method(CM_VAE, &unit, 0.95); /* from a pretrained autoencoder */
    vae_pretrain = 0;
    run_method(CM_VAE, &unit, 0.95); /* one step from scratch */
    cluster_spec_default(&s, CM_VAE, 4);
    s.vae_conv = 1;
    s.pretrain_epochs = 5;
    CHECK_EQ_INT(cluster_spec_check(&s, NULL, &e), DC_EINVAL);
    CHECK_MSG(strstr(e.msg, "pretrain_epochs must be 0") != NULL, "message: %s", e.msg);
    /* an ae_kmeans autoencoder of the right shape starts a vae */
    cluster_spec_default(&s, CM_AE_KMEANS, 4);
    s.n_hidden = 2, s.hidden[0] = 32, s.hidden[1] = 6;
    s.pretrain_epochs = 30;
    s.batch = 25;
    s.n_init = 3;
    s.seed = 2;
    CHECK_EQ_INT(cluster_fit(&m, &s, &unit, NULL, NULL, &e), 0);
    void *vae_ae = NULL;
    size_t vae_ae_len = 0;
    CHECK_EQ_INT(cluster_model_save_ae(m, &vae_ae, &vae_ae_len, &e), 0);
    cluster_model_free(m);
    m = NULL;
    s.method = CM_VAE;
    s.n_hidden = 1; /* the vae's hidden layers; the code is its latent */
    s.latent = 6;
    s.vae_epochs = 20;
    s.vae_rec_weight = 50;
    events = 0;
    CHECK_MSG(cluster_fit_pretrained(&m, &s, &unit, vae_ae, vae_ae_len, on_event, NULL, &e) == 0,
              "%s", e.msg);
    CHECK_MSG(events == 1 + 20, "events %d (k-means and vae epochs only)", events);
    if (m) CHECK_MIN(acc_of(m, &unit), 0.95, "vae from an ae_kmeans autoencoder ACC");
    cluster_model_free(m);
    m = NULL;
    s.latent = 7; /* the autoencoder's code is 6 */
    CHECK_EQ_INT(cluster_fit_pretrained(&m, &s, &unit, vae_ae, vae_ae_len, NULL, NULL, &e), DC_EINVAL);
    free(vae_ae);

    /* the auto pretraining recipe, as the fitted model's spec records it */
    struct { const dataset *d; int method, epochs, batch; double lr; int opt, init; double want_lr; } rc_[] = {
        {&unit, CM_AE_KMEANS, 140, 8, 0, OPT_SGD, INIT_VARSCALE, 1.0},  /* [0,1], 10,500 steps */
        {&unit, CM_AE_KMEANS, 130, 8, 0, OPT_ADAM, INIT_GLOROT, 1e-3},  /* 9,750 steps: too few */
        {&ds, CM_AE_KMEANS, 140, 8, 0, OPT_ADAM, INIT_GLOROT, 1e-3},    /* values outside [0,1] */
        {&unit, CM_AE_KMEANS, 140, 8, 0.5, OPT_SGD, INIT_VARSCALE, 0.5}, /* a given lr is kept */
    };
    for (size_t i = 0; i < sizeof rc_ / sizeof rc_[0]; i++) {
        cluster_spec_default(&s, rc_[i].method, 4);
        s.n_hidden = 2, s.hidden[0] = 8, s.hidden[1] = 3;
        s.pretrain_epochs = rc_[i].epochs;
        s.batch = rc_[i].batch;
        s.pretrain_lr = rc_[i].lr;
        s.n_init = 1;
        int frc = cluster_fit(&m, &s, rc_[i].d, NULL, NULL, &e);
        CHECK_MSG(frc == 0, "auto recipe case %zu: %s", i, e.msg);
        if (!m) continue;
        const cluster_spec *r = cluster_model_spec(m);
        CHECK_MSG(r->pretrain_opt == rc_[i].opt && r->pretrain_init == rc_[i].init &&
                      r->pretrain_lr == rc_[i].want_lr,
                  "auto recipe case %zu: resolved to opt %d init %d lr %g", i, r->pretrain_opt,
                  r->pretrain_init, r->pretrain_lr);
        cluster_model_free(m);
        m = NULL;
    }
    /* SGD at lr 1 on data far outside [0, 1] diverges: a clear error, no model */
    cluster_spec_default(&s, CM_AE_KMEANS, 4);
    s.pretrain_opt = OPT_SGD;
    s.pretrain_epochs = 20;
    s.batch = 8;
    dataset big = {0};
    dataset_alloc(&big, ds.n, ds.d, 1, NULL);
    for (int64_t i = 0; i < ds.n * ds.d; i++) big.x[i] = 100 * ds.x[i];
    memcpy(big.labels, ds.labels, sizeof(int32_t) * ds.n);
    CHECK_EQ_INT(cluster_fit(&m, &s, &big, NULL, NULL, &e), DC_ENUMERIC);
    CHECK_MSG(strstr(e.msg, "diverged") && strstr(e.msg, "learning rate"), "message: %s", e.msg);
    CHECK(m == NULL);
    dataset_free(&big);
    cluster_spec_default(&s, CM_VAE, 4);
    CHECK_EQ_INT(cluster_fit(&m, &s, &ds, NULL, NULL, &e), DC_EINVAL); /* values outside [0,1] */
    CHECK(strstr(e.msg, "[0, 1]") != NULL);
    dataset_free(&unit);

    /* bad specs */
    cluster_spec_default(&s, CM_DEC, 4);
    s.k = 0;
    CHECK_EQ_INT(cluster_fit(&m, &s, &ds, NULL, NULL, &e), DC_EINVAL);
    CHECK(strstr(e.msg, "k must be") != NULL);
    cluster_spec_default(&s, CM_DCEC, 4);
    CHECK_EQ_INT(cluster_fit(&m, &s, &ds, NULL, NULL, &e), DC_EINVAL);
    CHECK(strstr(e.msg, "image") != NULL);
    cluster_spec_default(&s, CM_KMEANS, 1000);
    CHECK_EQ_INT(cluster_fit(&m, &s, &ds, NULL, NULL, &e), DC_EINVAL);
    CHECK_EQ_INT(cluster_method_parse("idec"), CM_IDEC);
    CHECK_EQ_INT(cluster_method_parse("nope"), -1);

    /* a callback stops the run */
    cluster_spec_default(&s, CM_DEC, 4);
    s.hidden[3] = 4;
    s.pretrain_epochs = 50;
    s.batch = 64;
    events = 0;
    stop_after = 3;
    CHECK_EQ_INT(cluster_fit(&m, &s, &ds, on_event, NULL, &e), DC_ECANCEL);
    CHECK(m == NULL);
    CHECK_EQ_INT(events, 3);
    stop_after = 0;

    /* reuse of a pretrained autoencoder: no pretraining events, same shape enforced */
    cluster_spec_default(&s, CM_AE_KMEANS, 4);
    s.n_hidden = 2, s.hidden[0] = 16, s.hidden[1] = 3;
    s.pretrain_epochs = 5;
    s.batch = 64;
    s.n_init = 2;
    CHECK_EQ_INT(cluster_fit(&m, &s, &ds, NULL, NULL, &e), 0);
    void *ae = NULL;
    size_t ae_len = 0;
    CHECK_EQ_INT(cluster_model_save_ae(m, &ae, &ae_len, &e), 0);
    cluster_model_free(m);
    m = NULL;
    s.method = CM_DEC;
    s.maxiter = 50;
    events = 0;
    CHECK_EQ_INT(cluster_fit_pretrained(&m, &s, &ds, ae, ae_len, on_event, NULL, &e), 0);
    CHECK(events >= 2 && events < 10); /* kmeans + cluster updates, no pretrain epochs */
    cluster_model_free(m);
    m = NULL;
    s.hidden[1] = 5;
    CHECK_EQ_INT(cluster_fit_pretrained(&m, &s, &ds, ae, ae_len, NULL, NULL, &e), DC_EINVAL);
    free(ae);
    dataset_free(&ds);
    return CHECK_DONE();
}
