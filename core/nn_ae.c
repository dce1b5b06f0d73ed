#include "nn_ae.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc_time.h"
#include "rng.h"

/* Allocates the shared buffer and binds enc then dec to it. Takes ownership of enc/dec. */
static int ae_make(nn_ae **out, nn_net *enc, nn_net *dec, int max_batch, dc_err *e)
{
    int rc = 0;
    nn_ae *ae = calloc(1, sizeof *ae);
    if (!ae) {
        nn_net_free(enc);
        nn_net_free(dec);
        return dc_err_set(e, DC_ENOMEM, "nn_ae: out of memory");
    }
    ae->enc = enc;
    ae->dec = dec;
    ae->enc_nparams = nn_net_nparams(enc);
    ae->nparams = ae->enc_nparams + nn_net_nparams(dec);
    ae->in_dim = nn_net_in_size(enc);
    ae->emb_dim = (int)nn_net_out_size(enc);
    ae->max_batch = max_batch;
    if (nn_net_in_size(dec) != (size_t)ae->emb_dim || nn_net_out_size(dec) != ae->in_dim) {
        rc = dc_err_set(e, DC_EINVAL, "nn_ae: decoder shape %zu -> %zu does not mirror %zu -> %d",
                        nn_net_in_size(dec), nn_net_out_size(dec), ae->in_dim, ae->emb_dim);
        goto out;
    }
    ae->params = calloc(ae->nparams, sizeof(float));
    ae->grads = calloc(ae->nparams, sizeof(float));
    if (!ae->params || !ae->grads) {
        rc = dc_err_set(e, DC_ENOMEM, "nn_ae: out of memory (%zu params)", ae->nparams);
        goto out;
    }
    ae->owns = 1;
    if ((rc = nn_net_bind(enc, ae->params, ae->grads, e))) goto out;
    if ((rc = nn_net_bind(dec, ae->params + ae->enc_nparams, ae->grads + ae->enc_nparams, e)))
        goto out;
out:
    if (rc) {
        nn_ae_free(ae);
        ae = NULL;
    }
    *out = ae;
    return rc;
}

static void ae_init(nn_ae *ae, nn_init init, uint64_t seed)
{
    rng r;
    rng_seed(&r, seed);
    nn_net_init(ae->enc, init, &r);
    nn_net_init(ae->dec, init, &r);
}

int nn_ae_new_fc(nn_ae **out, const int *dims, int ndims, nn_act act, float slope,
                 nn_init init, uint64_t seed, int max_batch, dc_err *e)
{
    int rc = 0;
    nn_net *enc = NULL, *dec = NULL;
    *out = NULL;
    if (ndims < 2) return dc_err_set(e, DC_EINVAL, "nn_ae_new_fc: need at least 2 dims");
    for (int i = 0; i < ndims; i++)
        if (dims[i] <= 0) return dc_err_set(e, DC_EINVAL, "nn_ae_new_fc: dims[%d] = %d", i, dims[i]);
    if (!(enc = nn_net_new(1, 1, dims[0], max_batch, e)) ||
        !(dec = nn_net_new(1, 1, dims[ndims - 1], max_batch, e))) {
        rc = e ? e->code : DC_EINVAL;
        goto out;
    }
    for (int i = 1; i < ndims; i++) {
        if ((rc = nn_net_add_dense(enc, dims[i], e))) goto out;
        if (i < ndims - 1 && (rc = nn_net_add_act(enc, act, slope, e))) goto out;
    }
    for (int i = ndims - 2; i >= 0; i--) {
        if ((rc = nn_net_add_dense(dec, dims[i], e))) goto out;
        if (i > 0 && (rc = nn_net_add_act(dec, act, slope, e))) goto out;
    }
    rc = ae_make(out, enc, dec, max_batch, e);
    enc = dec = NULL;
    if (!rc) ae_init(*out, init, seed);
out:
    nn_net_free(enc);
    nn_net_free(dec);
    return rc;
}

int nn_ae_new_conv(nn_ae **out, int h, int w, int c, const int *filters, int emb, nn_init init,
                   uint64_t seed, int max_batch, dc_err *e)
{
    static const int def[3] = {32, 64, 128};
    const int *f = filters ? filters : def;
    int rc = 0, hs[4], ws[4];
    nn_net *enc = NULL, *dec = NULL;
    *out = NULL;
    if (emb <= 0) return dc_err_set(e, DC_EINVAL, "nn_ae_new_conv: embedding size %d", emb);
    int K[3] = {5, 5, 3}, P[3] = {2, 2, h % 8 == 0 ? 1 : 0};
    if (!(enc = nn_net_new(h, w, c, max_batch, e))) {
        rc = e ? e->code : DC_EINVAL;
        goto out;
    }
    hs[0] = h;
    ws[0] = w;
    for (int i = 0; i < 3; i++) {
        if ((rc = nn_net_add_conv(enc, f[i], K[i], 2, P[i], e))) goto out;
        if ((rc = nn_net_add_act(enc, NN_RELU, 0, e))) goto out;
        int cc;
        nn_net_out_shape(enc, &hs[i + 1], &ws[i + 1], &cc);
    }
    if ((rc = nn_net_add_flatten(enc, e)) || (rc = nn_net_add_dense(enc, emb, e))) goto out;
    if (!(dec = nn_net_new(1, 1, emb, max_batch, e))) {
        rc = e ? e->code : DC_EINVAL;
        goto out;
    }
    if ((rc = nn_net_add_dense(dec, f[2] * hs[3] * ws[3], e)) ||
        (rc = nn_net_add_act(dec, NN_RELU, 0, e)) ||
        (rc = nn_net_add_reshape(dec, hs[3], ws[3], f[2], e)))
        goto out;
    for (int i = 2; i >= 0; i--) {
        int oc = i > 0 ? f[i - 1] : c;
        int oph = hs[i] - nn_convt_out(hs[i + 1], K[i], 2, P[i], 0);
        int opw = ws[i] - nn_convt_out(ws[i + 1], K[i], 2, P[i], 0);
        if (oph != opw || oph < 0 || oph >= 2) {
            rc = dc_err_set(e, DC_EINVAL,
                            "nn_ae_new_conv: %dx%d images cannot be mirrored exactly (output "
                            "padding %d/%d at stage %d)",
                            h, w, oph, opw, i);
            goto out;
        }
        if ((rc = nn_net_add_convt(dec, oc, K[i], 2, P[i], oph, e))) goto out;
        if (i > 0 && (rc = nn_net_add_act(dec, NN_RELU, 0, e))) goto out;
    }
    rc = ae_make(out, enc, dec, max_batch, e);
    enc = dec = NULL;
    if (!rc) ae_init(*out, init, seed);
out:
    nn_net_free(enc);
    nn_net_free(dec);
    return rc;
}

void nn_ae_free(nn_ae *ae)
{
    if (!ae) return;
    nn_net_free(ae->enc);
    nn_net_free(ae->dec);
    if (ae->owns) {
        free(ae->params);
        free(ae->grads);
    }
    free(ae);
}

int nn_ae_rebind(nn_ae *ae, float *params, float *grads, dc_err *e)
{
    int rc;
    if (!params || !grads) return dc_err_set(e, DC_EINVAL, "nn_ae_rebind: NULL buffer");
    if (params == ae->params) return 0;
    memmove(params, ae->params, ae->nparams * sizeof *params);
    memset(grads, 0, ae->nparams * sizeof *grads);
    if ((rc = nn_net_bind(ae->enc, params, grads, e)) ||
        (rc = nn_net_bind(ae->dec, params + ae->enc_nparams, grads + ae->enc_nparams, e)))
        return rc; /* cannot happen once bound: the workspace exists */
    if (ae->owns) {
        free(ae->params);
        free(ae->grads);
    }
    ae->params = params;
    ae->grads = grads;
    ae->owns = 0;
    return 0;
}

nn_train_cfg nn_train_default(void)
{
    nn_train_cfg c;
    memset(&c, 0, sizeof c);
    c.epochs = 200;
    c.batch = 256;
    c.opt = nn_optim_default(NN_OPT_ADAM);
    c.seed = 1;
    return c;
}

/* A denoising batch: out = clip(in + noise * N(0, 1)), drawn from (seed, epoch, batch). */
static const float *corrupt(float *out, const float *in, size_t len, const nn_train_cfg *cfg,
                            int ep, size_t batch)
{
    rng r;
    rng_seed(&r, (cfg->seed ^ 0xd1b54a32d192ed03ULL) + 0x9e3779b97f4a7c15ULL * (uint64_t)ep +
                     0xbf58476d1ce4e5b9ULL * (uint64_t)(batch + 1));
    int clip = cfg->clip_lo < cfg->clip_hi;
    for (size_t i = 0; i < len; i++) {
        float v = in[i] + cfg->noise * (float)rng_normal(&r);
        out[i] = clip ? (v < cfg->clip_lo ? cfg->clip_lo : v > cfg->clip_hi ? cfg->clip_hi : v) : v;
    }
    return out;
}

int nn_ae_train(nn_ae *ae, const float *x, size_t n, const nn_train_cfg *cfg,
                double *final_loss, dc_err *e)
{
    int rc = 0, *idx = NULL;
    float *xb = NULL, *dxh = NULL, *dz = NULL, *xn = NULL;
    nn_optim own = {0}, *opt = cfg->state ? cfg->state : &own;
    size_t d = ae->in_dim;
    int B = cfg->batch;
    if (n == 0 || n > (size_t)1 << 30 || B <= 0 || B > ae->max_batch || cfg->epochs < 0 ||
        cfg->start_epoch < 0 || cfg->start_batch < 0 ||
        (B > 0 && (size_t)cfg->start_batch * (size_t)B >= n) ||
        (cfg->state && cfg->state->n != ae->nparams) || !(cfg->noise >= 0) ||
        !isfinite(cfg->noise)) {
        rc = dc_err_set(e, DC_EINVAL, "nn_ae_train: bad n %zu, batch %d (max %d), epochs %d "
                        "or noise %g", n, B, ae->max_batch, cfg->epochs, cfg->noise);
        goto out;
    }
    if (!cfg->state && (rc = nn_optim_init(&own, &cfg->opt, ae->nparams, e))) goto out;
    idx = malloc(n * sizeof *idx);
    xb = malloc((size_t)B * d * sizeof *xb);
    dxh = malloc((size_t)B * d * sizeof *dxh);
    dz = malloc((size_t)B * ae->emb_dim * sizeof *dz);
    if (cfg->noise > 0) xn = malloc((size_t)B * d * sizeof *xn);
    if (!idx || !xb || !dxh || !dz || (cfg->noise > 0 && !xn)) {
        rc = dc_err_set(e, DC_ENOMEM, "nn_ae_train: out of memory");
        goto out;
    }
    memset(ae->grads, 0, ae->nparams * sizeof(float));
    double t0 = dc_now_s();
    for (int ep = cfg->start_epoch + 1; ep <= cfg->epochs; ep++) {
        rng r;
        rng_seed(&r, (cfg->seed ^ 0x9e3779b97f4a7c15ULL) + 0x632be59bd9b4e019ULL * (uint64_t)ep);
        for (size_t i = 0; i < n; i++) idx[i] = (int)i;
        rng_shuffle(&r, idx, n);
        double sum = 0;
        size_t first = ep == cfg->start_epoch + 1 ? (size_t)cfg->start_batch * (size_t)B : 0;
        for (size_t s = first; s < n; s += (size_t)B) {
            if (cfg->stop && atomic_load(cfg->stop)) {
                if (cfg->stopped_at) {
                    cfg->stopped_at->epoch = ep;
                    cfg->stopped_at->batch = (int)(s / (size_t)B);
                }
                rc = dc_err_set(e, DC_ECANCEL, "nn_ae_train: stopped in epoch %d", ep);
                goto out;
            }
            int b = (int)(n - s < (size_t)B ? n - s : (size_t)B);
            for (int i = 0; i < b; i++)
                memcpy(xb + (size_t)i * d, x + (size_t)idx[s + i] * d, d * sizeof *xb);
            const float *z = nn_net_forward(ae->enc, xn ? corrupt(xn, xb, (size_t)b * d, cfg,
                                                                  ep, s / (size_t)B) : xb, b);
            const float *xh = nn_net_forward(ae->dec, z, b);
            sum += nn_mse_loss(dxh, xh, xb, (size_t)b * d, 1.0f) * b;
            nn_net_backward(ae->dec, dxh, dz, b);
            nn_net_backward(ae->enc, dz, NULL, b);
            nn_optim_step(opt, ae->params, ae->grads);
        }
        double loss = sum / (double)(n - first);
        if (final_loss) *final_loss = loss;
        if (!isfinite(loss)) {
            rc = dc_err_set(e, DC_ENUMERIC, "nn_ae_train: loss became %g at epoch %d", loss, ep);
            goto out;
        }
        if (cfg->cb && cfg->cb(cfg->ctx, ep, loss, dc_now_s() - t0)) {
            rc = dc_err_set(e, DC_ECANCEL, "nn_ae_train: stopped by the callback at epoch %d", ep);
            goto out;
        }
    }
out:
    nn_optim_free(&own);
    free(idx);
    free(xb);
    free(dxh);
    free(dz);
    free(xn);
    return rc;
}

static int run_net(nn_net *net, const float *x, size_t n, float *y, int max_batch, dc_err *e)
{
    size_t din = nn_net_in_size(net), dout = nn_net_out_size(net);
    for (size_t s = 0; s < n; s += (size_t)max_batch) {
        int b = (int)(n - s < (size_t)max_batch ? n - s : (size_t)max_batch);
        const float *o = nn_net_forward(net, x + s * din, b);
        if (!o) return dc_err_set(e, DC_EINVAL, "nn_ae: forward failed");
        memcpy(y + s * dout, o, (size_t)b * dout * sizeof *y);
    }
    return 0;
}

int nn_ae_encode(nn_ae *ae, const float *x, size_t n, float *z, dc_err *e)
{
    return run_net(ae->enc, x, n, z, ae->max_batch, e);
}

int nn_ae_decode(nn_ae *ae, const float *z, size_t n, float *xhat, dc_err *e)
{
    return run_net(ae->dec, z, n, xhat, ae->max_batch, e);
}

double nn_ae_recon_mse(nn_ae *ae, const float *x, size_t n, dc_err *e)
{
    double sum = 0;
    size_t d = ae->in_dim;
    for (size_t s = 0; s < n; s += (size_t)ae->max_batch) {
        int b = (int)(n - s < (size_t)ae->max_batch ? n - s : (size_t)ae->max_batch);
        const float *z = nn_net_forward(ae->enc, x + s * d, b);
        const float *xh = z ? nn_net_forward(ae->dec, z, b) : NULL;
        if (!xh) return dc_err_set(e, DC_EINVAL, "nn_ae_recon_mse: forward failed");
        sum += nn_mse_loss(NULL, xh, x + s * d, (size_t)b * d, 1.0f) * b;
    }
    return n ? sum / (double)n : 0.0;
}

int nn_ae_save(const nn_ae *ae, void **buf, size_t *len, dc_err *e)
{
    size_t a = nn_net_serial_size(ae->enc), b = nn_net_serial_size(ae->dec), ua, ub;
    unsigned char *p = malloc(8 + a + b);
    int rc;
    *buf = NULL;
    if (!p) return dc_err_set(e, DC_ENOMEM, "nn_ae_save: out of memory");
    memcpy(p, "DCAE", 4);
    p[4] = 1;
    p[5] = p[6] = p[7] = 0;
    if ((rc = nn_net_save(ae->enc, p + 8, a, &ua, e)) ||
        (rc = nn_net_save(ae->dec, p + 8 + ua, b, &ub, e))) {
        free(p);
        return rc;
    }
    *buf = p;
    *len = 8 + ua + ub;
    return 0;
}

int nn_ae_load(nn_ae **out, const void *buf, size_t len, int max_batch, dc_err *e)
{
    const unsigned char *p = buf;
    nn_net *enc = NULL, *dec = NULL;
    size_t ua = 0, ub = 0;
    int rc;
    *out = NULL;
    if (len < 8 || memcmp(p, "DCAE", 4) != 0)
        return dc_err_set(e, DC_EFORMAT, "nn_ae_load: not a deepclust autoencoder (bad magic)");
    if (p[4] != 1 || p[5] || p[6] || p[7])
        return dc_err_set(e, DC_EFORMAT, "nn_ae_load: unsupported version %u", p[4]);
    if ((rc = nn_net_load(&enc, p + 8, len - 8, &ua, max_batch, e))) goto out;
    if ((rc = nn_net_load(&dec, p + 8 + ua, len - 8 - ua, &ub, max_batch, e))) goto out;
    if (8 + ua + ub != len) {
        rc = dc_err_set(e, DC_EFORMAT, "nn_ae_load: %zu trailing bytes", len - 8 - ua - ub);
        goto out;
    }
    /* copy the owned params into the shared buffer */
    size_t na = nn_net_nparams(enc), nb = nn_net_nparams(dec);
    float *tmp = malloc((na + nb ? na + nb : 1) * sizeof *tmp);
    if (!tmp) {
        rc = dc_err_set(e, DC_ENOMEM, "nn_ae_load: out of memory");
        goto out;
    }
    memcpy(tmp, nn_net_params(enc), na * sizeof *tmp);
    memcpy(tmp + na, nn_net_params(dec), nb * sizeof *tmp);
    rc = ae_make(out, enc, dec, max_batch, e);
    enc = dec = NULL;
    if (!rc) memcpy((*out)->params, tmp, (na + nb) * sizeof *tmp);
    free(tmp);
out:
    nn_net_free(enc);
    nn_net_free(dec);
    return rc;
}
