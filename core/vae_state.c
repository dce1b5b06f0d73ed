/* vae_state: the vae's training state for checkpoints (vae.h: vae_state_*), including an
 * epoch stopped between batches.
 *
 * u32 magic, epochs done, muy_init, rng spare flag | u64 rng s[4] | f64 rng spare |
 * u64 opt t, opt_muy t, np, K*L | "VST2" only: u32 batches of the next epoch done, its
 * start rng's spare flag | u64 that rng's s[4] | f64 its spare | f64 its loss sums [4] |
 * floats: params, opt m, v (np each), opt_muy m, v (K*L). "VST1" (no epoch position)
 * still loads. */
#include <stdint.h>
#include <string.h>

#include "vae_internal.h"

enum {
    VST1_MAGIC = 0x31545356u, /* "VST1" */
    VST2_MAGIC = 0x32545356u, /* "VST2" */
    VST1_HEAD = 4 * 4 + 4 * 8 + 8 + 4 * 8,
    VST2_HEAD = VST1_HEAD + 2 * 4 + 4 * 8 + 8 + 4 * 8,
};

static size_t body_size(const vae *v)
{
    size_t KL = (size_t)v->cfg.k * v->cfg.latent;
    return (3 * v->np + 2 * KL) * sizeof(float);
}

size_t vae_state_size(const vae *v) { return VST2_HEAD + body_size(v); }

void vae_state_save(const vae *v, void *buf)
{
    size_t KL = (size_t)v->cfg.k * v->cfg.latent;
    unsigned char *w = buf;
    uint32_t u[4] = {VST2_MAGIC, (uint32_t)v->ep_done, (uint32_t)v->muy_init,
                     (uint32_t)v->r.has_spare};
    uint64_t t[4] = {v->have_opt ? (uint64_t)v->opt.t : 0,
                     v->have_opt ? (uint64_t)v->opt_muy.t : 0, v->np, KL};
    uint32_t pos[2] = {(uint32_t)v->bd, (uint32_t)v->ep_r.has_spare};
    memcpy(w, u, 16), w += 16;
    memcpy(w, v->r.s, 32), w += 32;
    memcpy(w, &v->r.spare, 8), w += 8;
    memcpy(w, t, 32), w += 32;
    memcpy(w, pos, 8), w += 8;
    memcpy(w, v->ep_r.s, 32), w += 32;
    memcpy(w, &v->ep_r.spare, 8), w += 8;
    memcpy(w, v->part, 32), w += 32;
    memcpy(w, v->params, v->np * sizeof(float)), w += v->np * sizeof(float);
    const float *st[4] = {v->have_opt ? v->opt.m : NULL, v->have_opt ? v->opt.v : NULL,
                          v->have_opt ? v->opt_muy.m : NULL, v->have_opt ? v->opt_muy.v : NULL};
    size_t cnt[4] = {v->np, v->np, KL, KL};
    for (int i = 0; i < 4; i++) {
        if (st[i]) memcpy(w, st[i], cnt[i] * sizeof(float));
        else memset(w, 0, cnt[i] * sizeof(float));
        w += cnt[i] * sizeof(float);
    }
}

/* 1 if the 32 bytes of an rng's s[4] at p are all zero */
static int zero_rng(const unsigned char *p)
{
    for (int i = 0; i < 32; i++)
        if (p[i]) return 0;
    return 1;
}

int vae_state_load(vae *v, const void *buf, size_t len, dc_err *e)
{
    const vae_cfg *c = &v->cfg;
    size_t KL = (size_t)c->k * c->latent;
    const unsigned char *r = buf;
    uint32_t u[4], pos[2] = {0, 0};
    uint64_t t[4];
    if (len >= 4) memcpy(u, r, 4);
    int v2 = len >= 4 && u[0] == VST2_MAGIC;
    size_t want = (v2 ? VST2_HEAD : VST1_HEAD) + body_size(v);
    if (len != want)
        return dc_err_set(e, DC_EINVAL, "vae state: %zu bytes, expected %zu", len, want);
    memcpy(u, r, 16);
    memcpy(t, r + 48 + 8, 32);
    if ((u[0] != VST1_MAGIC && !v2) || t[2] != v->np || t[3] != KL || u[1] > (uint32_t)c->epochs)
        return dc_err_set(e, DC_EINVAL, "vae state does not fit this vae");
    if (v2) memcpy(pos, r + VST1_HEAD, 8);
    if (pos[0] > INT32_MAX || (pos[0] && u[1] >= (uint32_t)c->epochs))
        return dc_err_set(e, DC_EINVAL, "vae state: epoch position out of range");
    /* xoshiro256 stays at zero from an all-zero state, and rng_normal then never returns:
       the rng, and the epoch-start rng that a position inside an epoch replays from */
    if (zero_rng(r + 16) || (pos[0] && zero_rng(r + VST1_HEAD + 8)))
        return dc_err_set(e, DC_EINVAL, "vae state: random generator state is all zero");
    int rc = vae__optim_init(v, e);
    if (rc) return rc;
    v->ep_done = v->resume_ep = (int)u[1];
    v->muy_init = (int)u[2];
    v->r.has_spare = (int)u[3];
    memcpy(v->r.s, r + 16, 32);
    memcpy(&v->r.spare, r + 48, 8);
    v->opt.t = (long)t[0];
    v->opt_muy.t = (long)t[1];
    v->bd = (int)pos[0];
    memset(&v->ep_r, 0, sizeof v->ep_r);
    memset(v->part, 0, sizeof v->part);
    if (v2) {
        v->ep_r.has_spare = (int)pos[1];
        memcpy(v->ep_r.s, r + VST1_HEAD + 8, 32);
        memcpy(&v->ep_r.spare, r + VST1_HEAD + 40, 8);
        memcpy(v->part, r + VST1_HEAD + 48, 32);
    }
    r += v2 ? VST2_HEAD : VST1_HEAD;
    memcpy(v->params, r, v->np * sizeof(float)), r += v->np * sizeof(float);
    float *st[4] = {v->opt.m, v->opt.v, v->opt_muy.m, v->opt_muy.v};
    size_t cnt[4] = {v->np, v->np, KL, KL};
    for (int i = 0; i < 4; i++) memcpy(st[i], r, cnt[i] * sizeof(float)), r += cnt[i] * sizeof(float);
    memset(v->grads, 0, v->np * sizeof(float));
    return 0;
}
