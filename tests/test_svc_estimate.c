/* test_svc_estimate: jobspec_estimate, which the service uses to refuse a job that cannot
 * fit (--max-model-params, --max-train-mb), counts the parameters that core really
 * allocates: each architecture is built with core's own constructors (nn_ae_new_fc,
 * nn_ae_new_conv, vae_new) and its parameter count compared with the estimate's. Also:
 * the estimate does not overflow for the widest spec the API accepts, and grows with n. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cluster.h"
#include "jobspec.h"
#include "nn_ae.h"
#include "vae.h"

/* A spec as the API makes it: defaults for method and k, then the hidden widths. */
static cluster_spec spec(int method, int k, const int *hidden, int nh)
{
    cluster_spec s;
    cluster_spec_default(&s, (cluster_method)method, k);
    if (nh > 0) {
        s.n_hidden = nh;
        memcpy(s.hidden, hidden, sizeof(int) * (size_t)nh);
        s.embed_dim = hidden[nh - 1];
    }
    s.batch = 16;
    return s;
}

static int64_t est_params(const cluster_spec *s, int64_t n, int d, int h, int w, int c)
{
    jobspec_cost cost;
    jobspec_estimate(s, n, d, h, w, c, &cost);
    return cost.params;
}

/* nn_ae_new_fc over d, hidden[] (and extra when > 0). */
static int64_t fc_params(int d, const cluster_spec *s, int extra)
{
    int dims[CLUSTER_MAX_DIMS + 2], nd = 0;
    nn_ae *ae = NULL;
    dc_err e = {0};
    dims[nd++] = d;
    for (int i = 0; i < s->n_hidden; i++) dims[nd++] = s->hidden[i];
    if (extra > 0) dims[nd++] = extra;
    int rc = nn_ae_new_fc(&ae, dims, nd, NN_RELU, 0, NN_INIT_GLOROT_UNIFORM, 1, 4, &e);
    CHECK_MSG(rc == 0, "nn_ae_new_fc: %s", e.msg);
    int64_t p = rc == 0 ? (int64_t)ae->nparams : -1;
    nn_ae_free(ae);
    return p;
}

/* vae_new as cluster__fit_vae configures it. */
static int64_t vae_count(const cluster_spec *s, int d, int h, int w, int c)
{
    vae_cfg cfg;
    vae *v = NULL;
    dc_err e = {0};
    vae_cfg_default(&cfg, d, s->k);
    cfg.latent = s->latent;
    cfg.batch = 4;
    cfg.conv = s->vae_conv;
    if (cfg.conv) {
        cfg.h = h, cfg.w = w, cfg.c = c;
    } else {
        cfg.n_hidden = s->n_hidden;
        memcpy(cfg.hidden, s->hidden, sizeof(int) * (size_t)s->n_hidden);
    }
    int rc = vae_new(&v, &cfg, &e);
    CHECK_MSG(rc == 0, "vae_new: %s", e.msg);
    int64_t p = rc == 0 ? (int64_t)vae_nparams(v) : -1;
    vae_free(v);
    return p;
}

static void test_dense(void)
{
    const int h1[] = {500, 500, 2000, 10}, h2[] = {64, 7}, h3[] = {3};
    const int *hs[] = {h1, h2, h3};
    const int nh[] = {4, 2, 1};
    const int ds[] = {784, 13, 2};
    for (int i = 0; i < 3; i++)
        for (int m = CM_AE_KMEANS; m <= CM_IDEC; m++) {
            cluster_spec s = spec(m, 5, hs[i], nh[i]);
            /* + k centroids in the embedding (every method keeps them in its model) */
            int64_t want = fc_params(ds[i], &s, 0) + 5LL * s.embed_dim;
            int64_t got = est_params(&s, 1000, ds[i], 0, 0, 0);
            CHECK_MSG(got == want, "%s d=%d hidden[%d]: expected %lld params, got %lld",
                      cluster_method_name((cluster_method)m), ds[i], nh[i], (long long)want,
                      (long long)got);
        }
    cluster_spec s = spec(CM_KMEANS, 7, NULL, 0);
    CHECK_EQ_INT(est_params(&s, 100, 30, 0, 0, 0), 7 * 30);
}

static void test_conv(void)
{
    const int shapes[][3] = {{28, 28, 1}, {32, 32, 3}, {20, 12, 2}};
    for (int i = 0; i < 3; i++) {
        int h = shapes[i][0], w = shapes[i][1], c = shapes[i][2];
        cluster_spec s = spec(CM_DCEC, 10, NULL, 0);
        nn_ae *ae = NULL;
        dc_err e = {0};
        int rc = nn_ae_new_conv(&ae, h, w, c, NULL, s.embed_dim, NN_INIT_GLOROT_UNIFORM, 1, 4, &e);
        CHECK_MSG(rc == 0, "nn_ae_new_conv %dx%dx%d: %s", h, w, c, e.msg);
        if (rc == 0) {
            int64_t want = (int64_t)ae->nparams + 10LL * s.embed_dim;
            int64_t got = est_params(&s, 100, h * w * c, h, w, c);
            CHECK_MSG(got == want, "dcec %dx%dx%d: expected %lld params, got %lld", h, w, c,
                      (long long)want, (long long)got);
        }
        nn_ae_free(ae);
    }
}

static void test_vae(void)
{
    const int hid[] = {40, 30};
    /* dense, from scratch and with a pretrained autoencoder */
    for (int pre = 0; pre < 2; pre++) {
        cluster_spec s = spec(CM_VAE, 4, hid, 2);
        s.latent = 6;
        s.pretrain_epochs = pre ? 3 : 0;
        int64_t want = vae_count(&s, 17, 0, 0, 0) + (pre ? fc_params(17, &s, s.latent) : 0);
        int64_t got = est_params(&s, 100, 17, 0, 0, 0);
        CHECK_MSG(got == want, "vae dense pretrain=%d: expected %lld params, got %lld", pre,
                  (long long)want, (long long)got);
    }
    const int shapes[][3] = {{28, 28, 1}, {14, 10, 3}};
    for (int i = 0; i < 2; i++) {
        int h = shapes[i][0], w = shapes[i][1], c = shapes[i][2];
        cluster_spec s = spec(CM_VAE, 10, NULL, 0);
        s.vae_conv = 1;
        s.pretrain_epochs = 0;
        int64_t want = vae_count(&s, h * w * c, h, w, c);
        int64_t got = est_params(&s, 100, h * w * c, h, w, c);
        CHECK_MSG(got == want, "vae conv %dx%dx%d: expected %lld params, got %lld", h, w, c,
                  (long long)want, (long long)got);
    }
}

static void test_memory(void)
{
    /* the spec of the report: hidden widths 100000 x 3 on 784 features */
    const int wide[] = {100000, 100000, 100000, 10};
    cluster_spec s = spec(CM_DEC, 10, wide, 4);
    jobspec_cost big, small, more;
    jobspec_estimate(&s, 70000, 784, 28, 28, 1, &big);
    /* core's nn_ae_new_fc reported "out of memory (40159400794 params)" for this
       autoencoder when the job started (issue 17); + 10 centroids of 10 */
    CHECK_MSG(big.params == 40159400794LL + 100,
              "hidden 100000 x 3: expected %lld params, got %lld", 40159400794LL + 100,
              (long long)big.params);
    CHECK_MSG(big.train_bytes > 32 * big.params, "train bytes %lld should exceed 32 x params",
              (long long)big.train_bytes);
    /* no overflow at the widest the API accepts: 8 layers of 100000, conv shapes large */
    int widest[CLUSTER_MAX_DIMS];
    for (int i = 0; i < CLUSTER_MAX_DIMS; i++) widest[i] = 100000;
    cluster_spec w8 = spec(CM_IDEC, 1000, widest, CLUSTER_MAX_DIMS);
    w8.batch = 65536;
    jobspec_cost wc;
    jobspec_estimate(&w8, INT32_MAX, 100000, 0, 0, 0, &wc);
    CHECK_MSG(wc.params > 0 && wc.train_bytes > 0, "widest spec: params %lld, bytes %lld must "
              "stay positive", (long long)wc.params, (long long)wc.train_bytes);
    /* more samples, more memory; the dataset alone is n d 4 bytes */
    cluster_spec d = spec(CM_DEC, 10, NULL, 0);
    jobspec_estimate(&d, 1000, 784, 0, 0, 0, &small);
    jobspec_estimate(&d, 70000, 784, 0, 0, 0, &more);
    CHECK_MSG(more.train_bytes - small.train_bytes >= 69000LL * 784 * 4,
              "70000 vs 1000 samples: expected at least %lld more bytes, got %lld",
              69000LL * 784 * 4, (long long)(more.train_bytes - small.train_bytes));
    CHECK_EQ_INT(more.params, small.params);
}

int main(void)
{
    test_dense();
    test_conv();
    test_vae();
    test_memory();
    return CHECK_DONE();
}
