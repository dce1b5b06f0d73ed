/* vae_init: a vae started from a pretrained dense autoencoder and k-means on its codes
 * (VaDE's initialisation, adapted to this model's unit-variance prior). See vae.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kmeans.h"
#include "nn_ae.h"
#include "vae_internal.h"

/* Copies tensors [from, from + count) of src into tensors [to, ...) of dst; shapes must
 * agree. */
static int copy_tensors(nn_net *dst, int to, const nn_net *src, int from, int count,
                        dc_err *e)
{
    const float *sp = nn_net_params((nn_net *)src);
    float *dp = nn_net_params(dst);
    for (int i = 0; i < count; i++) {
        nn_tensor a = nn_net_tensor(src, from + i), b = nn_net_tensor(dst, to + i);
        if (a.size != b.size || a.rows != b.rows || a.cols != b.cols || a.is_bias != b.is_bias)
            return dc_err_set(e, DC_EINVAL,
                              "vae: the autoencoder's tensor %d is %dx%d, the vae's %dx%d",
                              from + i, a.rows, a.cols, b.rows, b.cols);
        memcpy(dp + b.offset, sp + a.offset, a.size * sizeof *dp);
    }
    return 0;
}

/* Multiplies tensor i of net (weight or bias) by f and adds add. */
static void scale_tensor(nn_net *net, int i, float f, float add)
{
    nn_tensor t = nn_net_tensor(net, i);
    float *p = nn_net_params(net) + t.offset;
    for (size_t j = 0; j < t.size; j++) p[j] = p[j] * f + add;
}

/* Fits one net alone (its own slice of the buffer) with Adam at VAE_AE_FIT_LR: inputs
 * in (n, in), loss gradient from fn, shuffled batches of v->mb drawn from v->r, for
 * `epochs` epochs or min_steps steps, whichever is more. */
typedef void (*fit_grad_fn)(vae *v, const float *out, int B, const int *rows, float *dout,
                            void *ctx);

static int fit_net(vae *v, nn_net *net, const float *in, size_t n, int epochs, long min_steps,
                   fit_grad_fn fn, void *ctx, float *dout, dc_err *e)
{
    nn_optim o = {0};
    nn_optim_cfg oc = nn_optim_default(NN_OPT_ADAM);
    oc.lr = VAE_AE_FIT_LR;
    long per_epoch = (long)((n + (size_t)v->mb - 1) / (size_t)v->mb);
    if ((long)epochs * per_epoch < min_steps) epochs = (int)((min_steps + per_epoch - 1) / per_epoch);
    size_t din = nn_net_in_size(net);
    int *idx = malloc(n * sizeof *idx);
    float *xb = malloc((size_t)v->mb * din * sizeof *xb);
    int rc = idx && xb ? nn_optim_init(&o, &oc, nn_net_nparams(net), e)
                       : dc_err_set(e, DC_ENOMEM, "vae: out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) idx[i] = (int)i;
    for (int ep = 0; rc == 0 && ep < epochs; ep++) {
        rng_shuffle(&v->r, idx, n);
        for (size_t s = 0; s < n; s += (size_t)v->mb) {
            int B = (int)(n - s < (size_t)v->mb ? n - s : (size_t)v->mb);
            for (int b = 0; b < B; b++)
                memcpy(xb + (size_t)b * din, in + (size_t)idx[s + b] * din, din * sizeof *xb);
            const float *out = nn_net_forward(net, xb, B);
            if (!out) {
                rc = dc_err_set(e, DC_EINVAL, "vae: forward failed");
                break;
            }
            fn(v, out, B, idx + s, dout, ctx);
            nn_net_backward(net, dout, NULL, B);
            nn_optim_step(&o, nn_net_params(net), nn_net_grads(net));
        }
    }
    nn_optim_free(&o);
    free(idx);
    free(xb);
    return rc;
}

/* Decoder: the model's own reconstruction loss against the rows' inputs. */
static void dec_grad(vae *v, const float *out, int B, const int *rows, float *dout, void *ctx)
{
    const float *x = ctx;
    size_t d = (size_t)v->cfg.d;
    for (int b = 0; b < B; b++) memcpy(v->xb + (size_t)b * d, x + (size_t)rows[b] * d, d * sizeof(float));
    vae_loss_rec(dout, out, v->xb, B, d, v->cfg.bce, v->cfg.rec_weight);
}

/* Classifier: cross-entropy to the mixture posterior t ∝ exp(-|z - mu_y|^2 / 2). */
static void cls_grad(vae *v, const float *out, int B, const int *rows, float *dout, void *ctx)
{
    const float *z = ctx;
    int L = v->cfg.latent, K = v->cfg.k;
    const float *muy = v->params + v->off_muy;
    for (int b = 0; b < B; b++) {
        const float *zb = z + (size_t)rows[b] * L;
        double *t = v->logit + (size_t)b * K, *p = v->p + (size_t)b * K;
        for (int y = 0; y < K; y++) {
            double d2 = 0;
            for (int l = 0; l < L; l++) {
                double u = zb[l] - muy[(size_t)y * L + l];
                d2 += u * u;
            }
            t[y] = -0.5 * d2;
        }
        vae_softmax(t, t, 1, K);
        for (int y = 0; y < K; y++) p[y] = out[(size_t)b * K + y];
        vae_softmax(p, p, 1, K);
        for (int y = 0; y < K; y++) dout[(size_t)b * K + y] = (float)((p[y] - t[y]) / B);
    }
}

int vae_init_from_ae(vae *v, const nn_ae *ae, const float *x, size_t n, int n_init,
                     uint64_t seed, int32_t *labels, double *inertia, dc_err *e)
{
    const vae_cfg *c = &v->cfg;
    int L = c->latent, K = c->k, H = c->n_hidden, rc = 0;
    float *z = NULL, *dout = NULL;
    kmeans_result kr = {0};
    if (c->conv || c->act != NN_RELU || (int)ae->in_dim != c->d || ae->emb_dim != L ||
        nn_net_ntensors(ae->enc) != 2 * (H + 1) || nn_net_ntensors(ae->dec) != 2 * (H + 1))
        return dc_err_set(e, DC_EINVAL,
                          "vae: a pretrained start needs a dense ReLU vae with the "
                          "autoencoder's widths (%zu -> %d in %d layers; the vae is %d -> %d "
                          "with %d hidden)",
                          ae->in_dim, ae->emb_dim, nn_net_ntensors(ae->enc) / 2, c->d, L, H);
    if (n < (size_t)K) return dc_err_set(e, DC_EINVAL, "vae: need n >= k (%zu < %d)", n, K);
    if ((rc = copy_tensors(v->enc, 0, ae->enc, 0, 2 * H, e)) ||
        (rc = copy_tensors(v->hmu, 0, ae->enc, 2 * H, 2, e)) ||
        (rc = copy_tensors(v->dec, 0, ae->dec, 0, 2 * (H + 1), e)))
        return rc;
    /* The autoencoder's linear output approximates x in [0, 1]; as logits 8 (out - 1/2)
       it gives sigmoid values of 0.02..0.98 there, a start for the decoder fit below. */
    scale_tensor(v->dec, 2 * H, 8.0f, 0.0f);
    scale_tensor(v->dec, 2 * H + 1, 8.0f, -4.0f);

    z = malloc(n * (size_t)L * sizeof *z);
    dout = malloc((size_t)v->mb * (c->d > K ? c->d : K) * sizeof *dout);
    if (!z || !dout) {
        rc = dc_err_set(e, DC_ENOMEM, "vae: out of memory");
        goto out;
    }
    if ((rc = vae_predict(v, x, n, NULL, NULL, z, e))) goto out;
    kmeans_opts ko;
    kmeans_opts_default(&ko);
    ko.n_init = n_init;
    ko.seed = seed;
    if ((rc = kmeans_fit(z, n, L, K, &ko, &kr, e))) goto out;
    /* s: rms distance to the own centroid per dimension; codes / s have unit spread */
    double s = sqrt(kr.inertia / ((double)n * L));
    if (!(s > 0) || !isfinite(s)) {
        rc = dc_err_set(e, DC_ENUMERIC, "vae: the autoencoder's codes do not spread (%g)", s);
        goto out;
    }
    float inv = (float)(1.0 / s);
    scale_tensor(v->hmu, 0, inv, 0.0f);
    scale_tensor(v->hmu, 1, inv, 0.0f);
    scale_tensor(v->dec, 0, (float)s, 0.0f); /* dec(z) unchanged for z = code / s */
    for (size_t i = 0; i < n * (size_t)L; i++) z[i] *= inv;
    float *muy = v->params + v->off_muy;
    for (size_t i = 0; i < (size_t)K * L; i++) muy[i] = kr.centroids[i] * inv;
    if (labels)
        for (size_t i = 0; i < n; i++) labels[i] = kr.labels[i];
    if (inertia) *inertia = kr.inertia;
    /* log-variance head: a constant small variance to start from */
    scale_tensor(v->hlv, 0, 0.0f, 0.0f);
    scale_tensor(v->hlv, 1, 0.0f, VAE_AE_LOGVAR0);
    if ((rc = fit_net(v, v->dec, z, n, 1, VAE_AE_FIT_STEPS / 2, dec_grad, (void *)x, dout, e)) ||
        (rc = fit_net(v, v->cls, z, n, VAE_AE_CLS_EPOCHS, VAE_AE_FIT_STEPS, cls_grad, z, dout, e)))
        goto out;
    memset(v->grads, 0, v->np * sizeof *v->grads);
    nn_optim_reset(&v->opt);
    nn_optim_reset(&v->opt_muy);
    v->muy_init = 1;
out:
    kmeans_result_free(&kr);
    free(z);
    free(dout);
    return rc;
}
