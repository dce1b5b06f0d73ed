/* vae: the model, its training loop, prediction, generation and serialisation.
 * The formulas are in vae.h; the loss kernels in vae_loss.c. */
#include "vae.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc_time.h"
#include "kmeans.h"
#include "metrics.h"
#include "nn.h"
#include "vae_internal.h"

enum { VAE_VERSION = 2 };
static const char VAE_MAGIC[8] = {'D', 'C', 'V', 'A', 'E', 0, 0, 0};

void vae_cfg_default(vae_cfg *c, int d, int k)
{
    memset(c, 0, sizeof *c);
    c->d = d;
    c->k = k;
    c->latent = 20;
    c->conv = 0;
    c->n_hidden = 2;
    c->hidden[0] = 500;
    c->hidden[1] = 500;
    c->filters[0] = 32;
    c->filters[1] = 64;
    c->cls_hidden = 256;
    c->act = NN_RELU;
    c->bce = 0;
    c->rec_weight = 2.5f;
    c->kl_mode = VAE_KL_SAMPLED;
    c->batch = 100;
    c->epochs = 50;
    c->lr = 1e-3f;
    c->eval_every = 1;
    c->seed = 1;
    /* the recipe measured in docs/vae.md (the reference: 0, 1, ZERO, 1, 0) */
    c->warmup_epochs = 2;
    c->warmup_kl = 0.1f;
    c->init_muy = VAE_INIT_ZERO;
    c->muy_lr_mult = 10.0f;
    c->kl_ramp_epochs = 2;
}

static int half_up(int x) { return (x + 1) / 2; } /* conv 3x3 s2 pad 1: ceil(x/2) */

int vae_cfg_check(const vae_cfg *c, dc_err *e)
{
#define BAD(...) return dc_err_set(e, DC_EINVAL, __VA_ARGS__)
    if (c->d < 1 || c->d > (1 << 24)) BAD("vae: d %d out of range [1, 2^24]", c->d);
    if (c->k < 2 || c->k > 4096) BAD("vae: k %d out of range [2, 4096]", c->k);
    if (c->latent < 1 || c->latent > 4096) BAD("vae: latent %d out of range [1, 4096]", c->latent);
    if (c->conv != 0 && c->conv != 1) BAD("vae: conv must be 0 or 1");
    if (c->conv) {
        if (c->h < 1 || c->w < 1 || c->c < 1 || (long long)c->h * c->w > c->d ||
            (long long)c->h * c->w * c->c != c->d) /* h*w <= d first: no overflow */
            BAD("vae: conv needs an image shape with h*w*c == d (%dx%dx%d, d %d)", c->h, c->w,
                c->c, c->d);
        for (int i = 0; i < 2; i++)
            if (c->filters[i] < 1 || c->filters[i] > 4096)
                BAD("vae: filters[%d] %d out of range [1, 4096]", i, c->filters[i]);
        int h1 = half_up(c->h), w1 = half_up(c->w), h2 = half_up(h1), w2 = half_up(w1);
        if (h1 - 2 * h2 != w1 - 2 * w2 || c->h - 2 * h1 != c->w - 2 * w1)
            BAD("vae: conv needs h and w of the same parity at each scale (%dx%d)", c->h, c->w);
    } else {
        if (c->n_hidden < 1 || c->n_hidden > VAE_MAX_HIDDEN)
            BAD("vae: n_hidden %d out of range [1, %d]", c->n_hidden, VAE_MAX_HIDDEN);
        for (int i = 0; i < c->n_hidden; i++)
            if (c->hidden[i] < 1 || c->hidden[i] > (1 << 16))
                BAD("vae: hidden[%d] %d out of range [1, 65536]", i, c->hidden[i]);
    }
    if (c->cls_hidden < 0 || c->cls_hidden > (1 << 16))
        BAD("vae: cls_hidden %d out of range [0, 65536]", c->cls_hidden);
    if (c->act != NN_RELU && c->act != NN_LEAKY_RELU && c->act != NN_SIGMOID)
        BAD("vae: act must be relu, leaky relu or sigmoid");
    if (c->bce != 0 && c->bce != 1) BAD("vae: bce must be 0 or 1");
    if (!(c->rec_weight > 0) || !isfinite(c->rec_weight) || c->rec_weight > 1e6)
        BAD("vae: rec_weight must be in (0, 1e6]");
    if (c->kl_mode != VAE_KL_SAMPLED && c->kl_mode != VAE_KL_ANALYTIC)
        BAD("vae: kl_mode must be 0 (sampled) or 1 (analytic)");
    if (c->batch < 1 || c->batch > 65536) BAD("vae: batch %d out of range [1, 65536]", c->batch);
    if (c->epochs < 0 || c->epochs > 1000000) BAD("vae: epochs %d out of range", c->epochs);
    if (!(c->lr > 0) || !isfinite(c->lr) || c->lr > 10) BAD("vae: lr must be in (0, 10]");
    if (c->eval_every < 0) BAD("vae: eval_every must be >= 0");
    if (c->warmup_epochs < 0 || c->warmup_epochs > 1000000)
        BAD("vae: warmup_epochs %d out of range", c->warmup_epochs);
    if (!(c->warmup_kl >= 0 && c->warmup_kl <= 1)) BAD("vae: warmup_kl must be in [0, 1]");
    if (c->init_muy != VAE_INIT_ZERO && c->init_muy != VAE_INIT_KMEANS)
        BAD("vae: init_muy must be 0 (zero) or 1 (k-means)");
    if (!(c->muy_lr_mult > 0) || !isfinite(c->muy_lr_mult) || c->muy_lr_mult > 1e4)
        BAD("vae: muy_lr_mult must be in (0, 1e4]");
    if (c->kl_ramp_epochs < 0 || c->kl_ramp_epochs > 1000000)
        BAD("vae: kl_ramp_epochs %d out of range", c->kl_ramp_epochs);
#undef BAD
    return 0;
}

/* ---- building -------------------------------------------------------------------- */

static float act_slope(int act) { return act == NN_LEAKY_RELU ? 0.2f : 0.0f; }

static int build_nets(vae *v, dc_err *e)
{
    const vae_cfg *c = &v->cfg;
    int rc = 0, mb = v->mb, L = c->latent;
    float sl = act_slope(c->act);
    if (c->conv) {
        int f0 = c->filters[0], f1 = c->filters[1];
        int h1 = half_up(c->h), w1 = half_up(c->w), h2 = half_up(h1), w2 = half_up(w1);
        int op1 = h1 - 2 * h2 + 1, op0 = c->h - 2 * h1 + 1; /* convT output paddings */
        if (!(v->enc = nn_net_new(c->h, c->w, c->c, mb, e))) return e ? e->code : DC_ENOMEM;
        if ((rc = nn_net_add_conv(v->enc, f0, 3, 2, 1, e)) ||
            (rc = nn_net_add_act(v->enc, NN_LEAKY_RELU, 0.2f, e)) ||
            (rc = nn_net_add_conv(v->enc, f0, 3, 1, 1, e)) ||
            (rc = nn_net_add_act(v->enc, NN_LEAKY_RELU, 0.2f, e)) ||
            (rc = nn_net_add_conv(v->enc, f1, 3, 2, 1, e)) ||
            (rc = nn_net_add_act(v->enc, NN_LEAKY_RELU, 0.2f, e)) ||
            (rc = nn_net_add_conv(v->enc, f1, 3, 1, 1, e)) ||
            (rc = nn_net_add_act(v->enc, NN_LEAKY_RELU, 0.2f, e)) ||
            (rc = nn_net_add_flatten(v->enc, e)))
            return rc;
        v->F = h2 * w2 * f1;
        if (!(v->dec = nn_net_new(1, 1, L, mb, e))) return e ? e->code : DC_ENOMEM;
        if ((rc = nn_net_add_dense(v->dec, v->F, e)) ||
            (rc = nn_net_add_reshape(v->dec, h2, w2, f1, e)) ||
            (rc = nn_net_add_convt(v->dec, f1, 3, 1, 1, 0, e)) ||
            (rc = nn_net_add_act(v->dec, NN_LEAKY_RELU, 0.2f, e)) ||
            (rc = nn_net_add_convt(v->dec, f1, 3, 2, 1, op1, e)) ||
            (rc = nn_net_add_act(v->dec, NN_LEAKY_RELU, 0.2f, e)) ||
            (rc = nn_net_add_convt(v->dec, f0, 3, 1, 1, 0, e)) ||
            (rc = nn_net_add_act(v->dec, NN_LEAKY_RELU, 0.2f, e)) ||
            (rc = nn_net_add_convt(v->dec, f0, 3, 2, 1, op0, e)) ||
            (rc = nn_net_add_act(v->dec, NN_LEAKY_RELU, 0.2f, e)) ||
            (rc = nn_net_add_convt(v->dec, c->c, 3, 1, 1, 0, e)))
            return rc;
    } else {
        if (!(v->enc = nn_net_new(1, 1, c->d, mb, e))) return e ? e->code : DC_ENOMEM;
        for (int i = 0; i < c->n_hidden; i++)
            if ((rc = nn_net_add_dense(v->enc, c->hidden[i], e)) ||
                (rc = nn_net_add_act(v->enc, c->act, sl, e)))
                return rc;
        v->F = c->hidden[c->n_hidden - 1];
        if (!(v->dec = nn_net_new(1, 1, L, mb, e))) return e ? e->code : DC_ENOMEM;
        for (int i = c->n_hidden - 1; i >= 0; i--)
            if ((rc = nn_net_add_dense(v->dec, c->hidden[i], e)) ||
                (rc = nn_net_add_act(v->dec, c->act, sl, e)))
                return rc;
        if ((rc = nn_net_add_dense(v->dec, c->d, e))) return rc;
    }
    if (nn_net_out_size(v->dec) != (size_t)c->d)
        return dc_err_set(e, DC_EINVAL, "vae: decoder gives %zu floats, want %d",
                          nn_net_out_size(v->dec), c->d);
    if (!(v->hmu = nn_net_new(1, 1, v->F, mb, e)) || !(v->hlv = nn_net_new(1, 1, v->F, mb, e)) ||
        !(v->cls = nn_net_new(1, 1, L, mb, e)))
        return e ? e->code : DC_ENOMEM;
    if ((rc = nn_net_add_dense(v->hmu, L, e)) || (rc = nn_net_add_dense(v->hlv, L, e)))
        return rc;
    if (c->cls_hidden > 0 && ((rc = nn_net_add_dense(v->cls, c->cls_hidden, e)) ||
                              (rc = nn_net_add_act(v->cls, c->act, sl, e))))
        return rc;
    return nn_net_add_dense(v->cls, c->k, e);
}

/* Allocates the one parameter/gradient buffer and binds every net to its slice. */
static int bind_all(vae *v, dc_err *e)
{
    const vae_cfg *c = &v->cfg;
    nn_net *before[4] = {v->enc, v->hmu, v->hlv, v->cls};
    size_t np = 0;
    for (int i = 0; i < 4; i++) np += nn_net_nparams(before[i]);
    v->off_muy = np;
    np += (size_t)c->k * c->latent;
    size_t off_dec = np;
    np += nn_net_nparams(v->dec);
    v->np = np;
    v->params = calloc(np, sizeof *v->params);
    v->grads = calloc(np, sizeof *v->grads);
    if (!v->params || !v->grads) return dc_err_set(e, DC_ENOMEM, "vae: out of memory");
    size_t off = 0;
    int rc;
    for (int i = 0; i < 4; i++) {
        if ((rc = nn_net_bind(before[i], v->params + off, v->grads + off, e))) return rc;
        off += nn_net_nparams(before[i]);
    }
    return nn_net_bind(v->dec, v->params + off_dec, v->grads + off_dec, e);
}

static int alloc_scratch(vae *v, dc_err *e)
{
    size_t mb = (size_t)v->mb, d = (size_t)v->cfg.d, L = (size_t)v->cfg.latent,
           K = (size_t)v->cfg.k, F = (size_t)v->F;
    v->xb = malloc(mb * d * sizeof(float));
    v->dxl = malloc(mb * d * sizeof(float));
    v->zf = malloc(mb * L * sizeof(float));
    v->fz = malloc(mb * L * sizeof(float));
    v->fmu = malloc(mb * L * sizeof(float));
    v->flv = malloc(mb * L * sizeof(float));
    v->dh1 = malloc(mb * F * sizeof(float));
    v->dh2 = malloc(mb * F * sizeof(float));
    v->flog = malloc(mb * K * sizeof(float));
    double **bl[] = {&v->mu, &v->lv, &v->eps, &v->z, &v->dmu, &v->dlv, &v->dz};
    for (size_t i = 0; i < sizeof bl / sizeof *bl; i++) *bl[i] = malloc(mb * L * sizeof(double));
    double **bk[] = {&v->logit, &v->p, &v->dp, &v->dlogit};
    for (size_t i = 0; i < sizeof bk / sizeof *bk; i++) *bk[i] = malloc(mb * K * sizeof(double));
    v->muy = malloc(K * L * sizeof(double));
    v->dmuy = malloc(K * L * sizeof(double));
    if (!v->xb || !v->dxl || !v->zf || !v->fz || !v->fmu || !v->flv || !v->dh1 || !v->dh2 ||
        !v->flog || !v->mu || !v->lv || !v->eps || !v->z || !v->dmu || !v->dlv || !v->dz ||
        !v->logit || !v->p || !v->dp || !v->dlogit || !v->muy || !v->dmuy)
        return dc_err_set(e, DC_ENOMEM, "vae: out of memory");
    return 0;
}

void vae_free(vae *v)
{
    if (!v) return;
    nn_net_free(v->enc);
    nn_net_free(v->hmu);
    nn_net_free(v->hlv);
    nn_net_free(v->cls);
    nn_net_free(v->dec);
    free(v->params);
    free(v->grads);
    nn_optim_free(&v->opt);
    nn_optim_free(&v->opt_muy);
    void *s[] = {v->xb, v->dxl, v->zf, v->fz, v->fmu, v->flv, v->dh1, v->dh2, v->flog,
                 v->mu, v->lv, v->eps, v->z, v->dmu, v->dlv, v->dz, v->logit, v->p, v->dp,
                 v->dlogit, v->muy, v->dmuy};
    for (size_t i = 0; i < sizeof s / sizeof *s; i++) free(s[i]);
    free(v);
}

int vae_new(vae **out, const vae_cfg *cfg, dc_err *e)
{
    *out = NULL;
    int rc = vae_cfg_check(cfg, e);
    if (rc) return rc;
    vae *v = calloc(1, sizeof *v);
    if (!v) return dc_err_set(e, DC_ENOMEM, "vae: out of memory");
    v->cfg = *cfg;
    v->mb = cfg->batch;
    v->klw = 1.0;
    rng_seed(&v->r, cfg->seed);
    if ((rc = build_nets(v, e)) || (rc = bind_all(v, e)) || (rc = alloc_scratch(v, e)))
        goto out;
    /* Keras defaults: glorot-uniform kernels, zero biases, zero class means. */
    nn_net_init(v->enc, NN_INIT_GLOROT_UNIFORM, &v->r);
    nn_net_init(v->hmu, NN_INIT_GLOROT_UNIFORM, &v->r);
    nn_net_init(v->hlv, NN_INIT_GLOROT_UNIFORM, &v->r);
    nn_net_init(v->cls, NN_INIT_GLOROT_UNIFORM, &v->r);
    nn_net_init(v->dec, NN_INIT_GLOROT_UNIFORM, &v->r);
    memset(v->params + v->off_muy, 0, (size_t)cfg->k * cfg->latent * sizeof(float));
    *out = v;
    v = NULL;
out:
    vae_free(v);
    return rc;
}

const vae_cfg *vae_config(const vae *v) { return &v->cfg; }
int vae_latent(const vae *v) { return v->cfg.latent; }
int vae_k(const vae *v) { return v->cfg.k; }
size_t vae_nparams(const vae *v) { return v->np; }
float *vae_params(vae *v) { return v->params; }
float *vae__grads(vae *v) { return v->grads; }
const float *vae_class_means(const vae *v) { return v->params + v->off_muy; }

/* ---- one batch ------------------------------------------------------------------- */

static float sigmoidf_(float x)
{
    return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x));
}

/* Loss (and, if grads, gradients added into v->grads) of batch x (B, d) with v->eps. */
static int batch_loss(vae *v, const float *x, int B, int grads, double t[4], dc_err *e)
{
    const vae_cfg *c = &v->cfg;
    int L = c->latent, K = c->k;
    size_t BL = (size_t)B * L, BK = (size_t)B * K;
    const float *h = nn_net_forward(v->enc, x, B);
    const float *m = h ? nn_net_forward(v->hmu, h, B) : NULL;
    if (!m) return dc_err_set(e, DC_EINVAL, "vae: forward failed (batch %d)", B);
    for (size_t i = 0; i < BL; i++) v->mu[i] = m[i];
    const float *s = nn_net_forward(v->hlv, h, B);
    for (size_t i = 0; i < BL; i++) v->lv[i] = s[i];
    vae_reparam(v->z, v->mu, v->lv, v->eps, BL);
    for (size_t i = 0; i < BL; i++) v->zf[i] = (float)v->z[i];
    const float *lg = nn_net_forward(v->cls, v->zf, B);
    for (size_t i = 0; i < BK; i++) v->logit[i] = lg[i];
    const float *xl = nn_net_forward(v->dec, v->zf, B);
    const float *muyf = v->params + v->off_muy;
    for (size_t i = 0; i < (size_t)K * L; i++) v->muy[i] = muyf[i];
    vae_softmax(v->p, v->logit, B, K);
    if (grads) {
        memset(v->dmu, 0, BL * sizeof(double));
        memset(v->dlv, 0, BL * sizeof(double));
        memset(v->dz, 0, BL * sizeof(double));
        memset(v->dp, 0, BK * sizeof(double));
        memset(v->dlogit, 0, BK * sizeof(double));
        memset(v->dmuy, 0, (size_t)K * L * sizeof(double));
    }
    double rec = vae_loss_rec(grads ? v->dxl : NULL, xl, x, B, (size_t)c->d, c->bce,
                              c->rec_weight);
    double klz = vae_loss_kl_z(grads ? v->dmu : NULL, grads ? v->dlv : NULL,
                               grads ? v->dz : NULL, grads ? v->dp : NULL,
                               grads ? v->dmuy : NULL, NULL, v->mu, v->lv, v->z, v->p, v->muy,
                               B, L, K, c->kl_mode);
    double kly = vae_loss_kl_y(grads ? v->dlogit : NULL, v->logit, B, K);
    if (grads && v->klw != 1.0) { /* warm-up: only the KL terms' gradients so far */
        double w = v->klw;
        for (size_t i = 0; i < BL; i++) v->dmu[i] *= w, v->dlv[i] *= w, v->dz[i] *= w;
        for (size_t i = 0; i < BK; i++) v->dp[i] *= w, v->dlogit[i] *= w;
        for (size_t i = 0; i < (size_t)K * L; i++) v->dmuy[i] *= w;
    }
    if (t) {
        t[0] = rec;
        t[1] = klz;
        t[2] = kly;
        t[3] = rec + klz + kly;
    }
    if (!isfinite(rec + klz + kly))
        return dc_err_set(e, DC_ENUMERIC, "vae: loss is not finite (rec %g, kl_z %g, kl_y %g)",
                          rec, klz, kly);
    if (!grads) return 0;
    vae_softmax_backward(v->dlogit, v->dp, v->p, B, K);
    for (size_t i = 0; i < BK; i++) v->flog[i] = (float)v->dlogit[i];
    nn_net_backward(v->cls, v->flog, v->fz, B);
    for (size_t i = 0; i < BL; i++) v->dz[i] += v->fz[i];
    nn_net_backward(v->dec, v->dxl, v->fz, B);
    for (size_t i = 0; i < BL; i++) v->dz[i] += v->fz[i];
    vae_reparam_backward(v->dmu, v->dlv, v->dz, v->lv, v->eps, BL);
    float *gmuy = v->grads + v->off_muy;
    for (size_t i = 0; i < (size_t)K * L; i++) gmuy[i] += (float)v->dmuy[i];
    for (size_t i = 0; i < BL; i++) {
        v->fmu[i] = (float)v->dmu[i];
        v->flv[i] = (float)v->dlv[i];
    }
    nn_net_backward(v->hmu, v->fmu, v->dh1, B);
    nn_net_backward(v->hlv, v->flv, v->dh2, B);
    size_t BF = (size_t)B * v->F;
    for (size_t i = 0; i < BF; i++) v->dh1[i] += v->dh2[i];
    nn_net_backward(v->enc, v->dh1, NULL, B);
    return 0;
}

int vae__batch_loss(vae *v, const float *x, int B, const double *eps, int grads,
                    double terms[4], dc_err *e)
{
    if (B < 1 || B > v->mb) return dc_err_set(e, DC_EINVAL, "vae: batch %d not in [1, %d]", B, v->mb);
    size_t BL = (size_t)B * v->cfg.latent;
    for (size_t i = 0; i < BL; i++) v->eps[i] = eps ? eps[i] : 0.0;
    return batch_loss(v, x, B, grads, terms, e);
}

/* ---- training -------------------------------------------------------------------- */

/* KL weight of overall epoch g (1-based): warmup_kl during the warm-up, then a linear
 * ramp to 1 over kl_ramp_epochs epochs. */
static double kl_weight(const vae_cfg *c, int g)
{
    if (g <= c->warmup_epochs) return c->warmup_kl;
    if (c->kl_ramp_epochs <= 0 || g - c->warmup_epochs >= c->kl_ramp_epochs) return 1.0;
    double f = (double)(g - c->warmup_epochs) / c->kl_ramp_epochs;
    return c->warmup_kl + (1.0 - c->warmup_kl) * f;
}

/* VAE_INIT_KMEANS: mu_y = k-means centroids of mu(x) over the training set. */
static int init_muy_kmeans(vae *v, const float *x, size_t n, dc_err *e)
{
    const vae_cfg *c = &v->cfg;
    int rc = 0, L = c->latent;
    kmeans_result kr = {0};
    float *zm = malloc(n * (size_t)L * sizeof *zm);
    if (!zm) return dc_err_set(e, DC_ENOMEM, "vae: out of memory");
    if ((rc = vae_predict(v, x, n, NULL, NULL, zm, e))) goto out;
    kmeans_opts ko;
    kmeans_opts_default(&ko);
    ko.n_init = 10;
    ko.seed = rng_u64(&v->r);
    if ((size_t)c->k > n) {
        rc = dc_err_set(e, DC_EINVAL, "vae: k-means init needs n >= k (%zu < %d)", n, c->k);
        goto out;
    }
    if ((rc = kmeans_fit(zm, n, L, c->k, &ko, &kr, e))) goto out;
    memcpy(v->params + v->off_muy, kr.centroids, (size_t)c->k * L * sizeof(float));
    nn_optim_reset(&v->opt_muy);
    v->muy_init = 1;
out:
    kmeans_result_free(&kr);
    free(zm);
    return rc;
}

int vae__optim_init(vae *v, dc_err *e)
{
    if (v->have_opt) return 0;
    const vae_cfg *c = &v->cfg;
    nn_optim_cfg oc = nn_optim_default(NN_OPT_ADAM);
    oc.lr = c->lr;
    int rc = nn_optim_init(&v->opt, &oc, v->np, e);
    oc.lr = c->lr * c->muy_lr_mult;
    if (rc == 0) rc = nn_optim_init(&v->opt_muy, &oc, (size_t)c->k * c->latent, e);
    if (rc == 0) v->have_opt = 1;
    return rc;
}

void vae_set_stop(vae *v, vae_stop_fn fn, void *ctx)
{
    v->stop = fn;
    v->stop_ctx = ctx;
}

int vae_epochs_done(const vae *v) { return v->ep_done; }

/* Keeps where epoch ep stands after nb batches (vae_state_save writes it) and returns
 * DC_ECANCEL; with nb 0 the epoch has not begun and starts afresh. */
static int stop_between_batches(vae *v, int ep, long nb, const double sum[4], dc_err *e)
{
    if (nb == 0) v->r = v->ep_r; /* undo the shuffle's draws */
    v->bd = (int)nb;
    memcpy(v->part, sum, sizeof v->part);
    v->resume_ep = ep - 1;
    return dc_err_set(e, DC_ECANCEL, "vae: stopped in epoch %d after %ld batches", ep, nb);
}

int vae_train(vae *v, const float *x, size_t n, const int32_t *labels, vae_epoch_cb cb,
              void *ctx, dc_err *e)
{
    const vae_cfg *c = &v->cfg;
    int rc = 0;
    int *idx = NULL;
    int32_t *pred = NULL;
    if (n < 1 || n > (size_t)2147483647) return dc_err_set(e, DC_EINVAL, "vae: n %zu out of range", n);
    if ((size_t)v->bd * (size_t)v->mb >= n)
        return dc_err_set(e, DC_EINVAL, "vae: the state's epoch stopped after %d batches, "
                          "beyond the %zu samples given", v->bd, n);
    idx = malloc(n * sizeof *idx);
    if (labels) pred = malloc(n * sizeof *pred);
    if (!idx || (labels && !pred)) {
        rc = dc_err_set(e, DC_ENOMEM, "vae: out of memory");
        goto out;
    }
    if ((rc = vae__optim_init(v, e))) goto out;
    double t0 = dc_now_s();
    size_t d = (size_t)c->d;
    int ep0 = v->resume_ep;
    v->resume_ep = 0;
    for (int ep = ep0 + 1; ep <= c->epochs; ep++) {
        int g = v->ep_done + 1;
        if (c->init_muy == VAE_INIT_KMEANS && !v->muy_init && g > c->warmup_epochs &&
            (rc = init_muy_kmeans(v, x, n, e)))
            goto out;
        v->klw = kl_weight(c, g);
        /* each epoch's order depends on the rng alone, so a resumed run has the same; an
           epoch stopped between batches starts again from its rng and replays the draws of
           the batches it had done */
        long skip = v->bd;
        double sum[4] = {0, 0, 0, 0};
        if (skip) {
            v->r = v->ep_r;
            memcpy(sum, v->part, sizeof sum);
            v->bd = 0;
        } else {
            v->ep_r = v->r;
        }
        for (size_t i = 0; i < n; i++) idx[i] = (int)i;
        rng_shuffle(&v->r, idx, n);
        long nb = 0;
        for (size_t i = 0; i < n; i += (size_t)v->mb, nb++) {
            int B = (int)(n - i < (size_t)v->mb ? n - i : (size_t)v->mb);
            size_t BL = (size_t)B * c->latent;
            if (nb < skip) {
                for (size_t j = 0; j < BL; j++) (void)rng_normal(&v->r);
                continue;
            }
            if (v->stop && v->stop(v->stop_ctx)) {
                rc = stop_between_batches(v, ep, nb, sum, e);
                goto out;
            }
            for (int b = 0; b < B; b++)
                memcpy(v->xb + (size_t)b * d, x + (size_t)idx[i + b] * d, d * sizeof(float));
            for (size_t j = 0; j < BL; j++) v->eps[j] = rng_normal(&v->r);
            double t[4];
            if ((rc = batch_loss(v, v->xb, B, 1, t, e))) {
                memset(v->grads, 0, v->np * sizeof(float));
                goto out;
            }
            /* mu_y first (zeroes its gradient slice, so the main Adam leaves it alone) */
            nn_optim_step(&v->opt_muy, v->params + v->off_muy, v->grads + v->off_muy);
            nn_optim_step(&v->opt, v->params, v->grads);
            for (int j = 0; j < 4; j++) sum[j] += t[j];
        }
        v->ep_done++;
        vae_epoch_info ev = {.epoch = ep, .epochs = c->epochs, .rec = sum[0] / nb,
                             .kl_z = sum[1] / nb, .kl_y = sum[2] / nb, .total = sum[3] / nb,
                             .acc = NAN, .nmi = NAN, .ari = NAN, .kl_weight = v->klw};
        if (labels && (ep == c->epochs || (c->eval_every > 0 && ep % c->eval_every == 0))) {
            metrics_scores ms;
            if ((rc = vae_predict(v, x, n, NULL, pred, NULL, e)) ||
                (rc = metrics_all(pred, labels, n, &ms, e)))
                goto out;
            ev.acc = ms.acc;
            ev.nmi = ms.nmi;
            ev.ari = ms.ari;
        }
        ev.elapsed_s = dc_now_s() - t0;
        if (cb && cb(ctx, &ev)) {
            v->resume_ep = ep; /* a next call continues after it */
            rc = dc_err_set(e, DC_ECANCEL, "vae: stopped by the callback at epoch %d", ep);
            goto out;
        }
    }
out:
    v->klw = 1.0;
    free(idx);
    free(pred);
    return rc;
}

/* ---- inference ------------------------------------------------------------------- */

int vae_predict(vae *v, const float *x, size_t n, float *q, int32_t *labels, float *z_mu,
                dc_err *e)
{
    int L = v->cfg.latent, K = v->cfg.k;
    for (size_t i = 0; i < n; i += (size_t)v->mb) {
        int B = (int)(n - i < (size_t)v->mb ? n - i : (size_t)v->mb);
        const float *xb = x + i * v->cfg.d;
        const float *h = nn_net_forward(v->enc, xb, B);
        const float *m = h ? nn_net_forward(v->hmu, h, B) : NULL;
        const float *lg = m ? nn_net_forward(v->cls, m, B) : NULL;
        if (!lg) return dc_err_set(e, DC_EINVAL, "vae: forward failed");
        if (z_mu) memcpy(z_mu + i * L, m, (size_t)B * L * sizeof(float));
        for (size_t j = 0; j < (size_t)B * K; j++) v->logit[j] = lg[j];
        vae_softmax(v->p, v->logit, B, K);
        for (int b = 0; b < B; b++) {
            const double *pb = v->p + (size_t)b * K;
            int best = 0;
            for (int y = 1; y < K; y++)
                if (pb[y] > pb[best]) best = y;
            if (labels) labels[i + b] = best;
            if (q)
                for (int y = 0; y < K; y++) q[(i + b) * K + y] = (float)pb[y];
        }
    }
    return 0;
}

int vae_generate(vae *v, int j, int n, rng *r, float *out, dc_err *e)
{
    int L = v->cfg.latent;
    size_t d = (size_t)v->cfg.d;
    if (j < 0 || j >= v->cfg.k) return dc_err_set(e, DC_EINVAL, "vae: cluster %d not in [0, %d)", j, v->cfg.k);
    if (n < 0) return dc_err_set(e, DC_EINVAL, "vae: n %d < 0", n);
    const float *m = vae_class_means(v) + (size_t)j * L;
    for (int i = 0; i < n; i += v->mb) {
        int B = n - i < v->mb ? n - i : v->mb;
        for (int b = 0; b < B; b++)
            for (int l = 0; l < L; l++)
                v->zf[(size_t)b * L + l] = m[l] + (float)rng_normal(r);
        const float *xl = nn_net_forward(v->dec, v->zf, B);
        if (!xl) return dc_err_set(e, DC_EINVAL, "vae: forward failed");
        for (size_t t = 0; t < (size_t)B * d; t++) out[(size_t)i * d + t] = sigmoidf_(xl[t]);
    }
    return 0;
}

int vae_reconstruct(vae *v, const float *x, size_t n, float *out, dc_err *e)
{
    size_t d = (size_t)v->cfg.d;
    for (size_t i = 0; i < n; i += (size_t)v->mb) {
        int B = (int)(n - i < (size_t)v->mb ? n - i : (size_t)v->mb);
        const float *h = nn_net_forward(v->enc, x + i * d, B);
        const float *m = h ? nn_net_forward(v->hmu, h, B) : NULL;
        const float *xl = m ? nn_net_forward(v->dec, m, B) : NULL;
        if (!xl) return dc_err_set(e, DC_EINVAL, "vae: forward failed");
        for (size_t t = 0; t < (size_t)B * d; t++) out[i * d + t] = sigmoidf_(xl[t]);
    }
    return 0;
}

/* ---- serialisation --------------------------------------------------------------- */

typedef struct wbuf {
    unsigned char *p;
    size_t n;
} wbuf;

static void put_u32(wbuf *b, uint32_t x)
{
    for (int i = 0; i < 4; i++) b->p[b->n++] = (unsigned char)(x >> (8 * i));
}
static void put_u64(wbuf *b, uint64_t x)
{
    for (int i = 0; i < 8; i++) b->p[b->n++] = (unsigned char)(x >> (8 * i));
}
static void put_f32(wbuf *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put_u32(b, u);
}
static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}
static float get_f32(const unsigned char *p)
{
    uint32_t u = get_u32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
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

/* Config record: 27 i32/f32 fields, the u64 seed, then (version 2) the 5 warm-up fields. */
enum { CFG_BYTES_V1 = 27 * 4 + 8, CFG_BYTES = CFG_BYTES_V1 + 5 * 4 };

static void put_cfg(wbuf *b, const vae_cfg *c)
{
    int32_t iv[] = {c->d, c->h, c->w, c->c, c->k, c->latent, c->conv, c->n_hidden};
    for (size_t i = 0; i < sizeof iv / sizeof *iv; i++) put_u32(b, (uint32_t)iv[i]);
    for (int i = 0; i < VAE_MAX_HIDDEN; i++) put_u32(b, (uint32_t)c->hidden[i]);
    put_u32(b, (uint32_t)c->filters[0]);
    put_u32(b, (uint32_t)c->filters[1]);
    put_u32(b, (uint32_t)c->cls_hidden);
    put_u32(b, (uint32_t)c->act);
    put_u32(b, (uint32_t)c->bce);
    put_f32(b, c->rec_weight);
    put_u32(b, (uint32_t)c->kl_mode);
    put_u32(b, (uint32_t)c->batch);
    put_u32(b, (uint32_t)c->epochs);
    put_f32(b, c->lr);
    put_u32(b, (uint32_t)c->eval_every);
    put_u64(b, c->seed);
    put_u32(b, (uint32_t)c->warmup_epochs);
    put_f32(b, c->warmup_kl);
    put_u32(b, (uint32_t)c->init_muy);
    put_f32(b, c->muy_lr_mult);
    put_u32(b, (uint32_t)c->kl_ramp_epochs);
}

static void get_cfg(const unsigned char *p, vae_cfg *c, int version)
{
    int o = 0;
#define I32() ((int)(int32_t)get_u32(p + (o += 4) - 4))
    memset(c, 0, sizeof *c);
    c->d = I32(); c->h = I32(); c->w = I32(); c->c = I32();
    c->k = I32(); c->latent = I32(); c->conv = I32(); c->n_hidden = I32();
    for (int i = 0; i < VAE_MAX_HIDDEN; i++) c->hidden[i] = I32();
    c->filters[0] = I32(); c->filters[1] = I32();
    c->cls_hidden = I32(); c->act = I32(); c->bce = I32();
    c->rec_weight = get_f32(p + o); o += 4;
    c->kl_mode = I32(); c->batch = I32(); c->epochs = I32();
    c->lr = get_f32(p + o); o += 4;
    c->eval_every = I32();
    c->seed = get_u64(p + o);
    o += 8;
    if (version >= 2) {
        c->warmup_epochs = I32();
        c->warmup_kl = get_f32(p + o); o += 4;
        c->init_muy = I32();
        c->muy_lr_mult = get_f32(p + o); o += 4;
        c->kl_ramp_epochs = I32();
    } else { /* version 1 predates the warm-up: the reference's training */
        c->warmup_epochs = 0;
        c->warmup_kl = 1.0f;
        c->init_muy = VAE_INIT_ZERO;
        c->muy_lr_mult = 1.0f;
        c->kl_ramp_epochs = 0;
    }
#undef I32
}

int vae_save(const vae *v, void **buf, size_t *len, dc_err *e)
{
    *buf = NULL;
    *len = 0;
    size_t total = 8 + 4 + 4 + CFG_BYTES + 8 + v->np * 4 + 8;
    wbuf b = {malloc(total), 0};
    if (!b.p) return dc_err_set(e, DC_ENOMEM, "vae: out of memory");
    memcpy(b.p, VAE_MAGIC, 8);
    b.n = 8;
    put_u32(&b, VAE_VERSION);
    put_u32(&b, CFG_BYTES);
    put_cfg(&b, &v->cfg);
    put_u64(&b, (uint64_t)v->np);
    for (size_t i = 0; i < v->np; i++) put_f32(&b, v->params[i]);
    put_u64(&b, fnv1a(b.p, b.n));
    *buf = b.p;
    *len = b.n;
    return 0;
}

int vae_load(vae **out, const void *buf, size_t len, dc_err *e)
{
    const unsigned char *p = buf;
    vae *v = NULL;
    vae_cfg c;
    int rc = 0;
    dc_err sub = {0};
    *out = NULL;
    size_t head = 8 + 4 + 4;
    if (!buf || len < head + CFG_BYTES_V1 + 8 + 8)
        return dc_err_set(e, DC_EFORMAT, "vae model: %zu bytes is too short", len);
    if (memcmp(p, VAE_MAGIC, 8) != 0)
        return dc_err_set(e, DC_EFORMAT, "vae model: bad magic");
    uint32_t ver = get_u32(p + 8);
    if (ver != 1 && ver != VAE_VERSION)
        return dc_err_set(e, DC_EFORMAT, "vae model: unsupported version %u", ver);
    size_t cb = ver == 1 ? CFG_BYTES_V1 : CFG_BYTES;
    if (get_u32(p + 12) != cb)
        return dc_err_set(e, DC_EFORMAT, "vae model: config record of %u bytes, want %zu",
                          get_u32(p + 12), cb);
    if (len < head + cb + 8 + 8)
        return dc_err_set(e, DC_EFORMAT, "vae model: %zu bytes is too short", len);
    get_cfg(p + head, &c, (int)ver);
    if (vae_cfg_check(&c, &sub))
        return dc_err_set(e, DC_EFORMAT, "vae model: bad config: %s", sub.msg);
    uint64_t np = get_u64(p + head + cb);
    size_t pos = head + cb + 8;
    if (np > (len - pos) / 4 || len - pos - np * 4 != 8)
        return dc_err_set(e, DC_EFORMAT, "vae model: %zu bytes do not hold %llu params + checksum",
                          len, (unsigned long long)np);
    if (get_u64(p + len - 8) != fnv1a(p, len - 8))
        return dc_err_set(e, DC_EFORMAT, "vae model: checksum mismatch");
    if ((rc = vae_new(&v, &c, &sub))) {
        rc = dc_err_set(e, rc == DC_ENOMEM ? DC_ENOMEM : DC_EFORMAT, "vae model: %s", sub.msg);
        goto out;
    }
    if (v->np != np) {
        rc = dc_err_set(e, DC_EFORMAT, "vae model: %llu params stored, the config needs %zu",
                        (unsigned long long)np, v->np);
        goto out;
    }
    for (size_t i = 0; i < v->np; i++) v->params[i] = get_f32(p + pos + 4 * i);
    *out = v;
    v = NULL;
out:
    vae_free(v);
    return rc;
}
