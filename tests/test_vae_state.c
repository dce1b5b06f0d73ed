/* vae training state: a run stopped between batches (vae_set_stop) at any point, saved
 * with vae_state_save and loaded into a fresh vae, ends with exactly the parameters and
 * epoch losses of the uninterrupted run; so does the stopped vae itself when trained
 * again. The older state format (no epoch position) still loads; a state that does not
 * fit (size, epochs, a position beyond the data) is refused.
 *
 * Data: 4 Gaussian blobs in 20-D, 100 points each; batch 30, so an epoch is 14 batches,
 * the last of 10; latent 3, so batches draw odd numbers of normals (Box-Muller's spare
 * crosses batches); mu_y starts by k-means at epoch 2 (after 1 warm-up epoch), which
 * draws from the same rng. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "vae.h"

enum { NB = 4, PER = 100, N = NB * PER, D = 20, EPOCHS = 4, BPE = 14 };

#include "vae_testutil.h"

static vae_cfg small_cfg(void)
{
    vae_cfg c;
    vae_cfg_default(&c, D, NB);
    c.n_hidden = 1;
    c.hidden[0] = 32;
    c.latent = 3;
    c.cls_hidden = 16;
    c.batch = 30;
    c.epochs = EPOCHS;
    c.eval_every = 0;
    c.warmup_epochs = 1;
    c.init_muy = VAE_INIT_KMEANS;
    c.seed = 3;
    return c;
}

typedef struct losses {
    double total[EPOCHS + 1];
    int last;
} losses;

static int on_epoch(void *ctx, const vae_epoch_info *ev)
{
    losses *l = ctx;
    if (ev->epoch >= 1 && ev->epoch <= EPOCHS) l->total[ev->epoch] = ev->total;
    l->last = ev->epoch;
    return 0;
}

static int calls, stop_at;
static int stop_fn(void *ctx)
{
    (void)ctx;
    return ++calls == stop_at;
}

static vae *fresh(void)
{
    vae_cfg c = small_cfg();
    vae *v = NULL;
    dc_err e = {0};
    CHECK_MSG(vae_new(&v, &c, &e) == 0, "%s", e.msg);
    return v;
}

static int same_params(vae *a, vae *b)
{
    return memcmp(vae_params(a), vae_params(b), vae_nparams(a) * sizeof(float)) == 0;
}

/* Stops a run at its s-th batch (counting from 1), then continues it twice: from its
 * saved state in a fresh vae, and in place. Both must end as ref did. */
static void stop_and_resume(const float *x, vae *ref, const losses *lref, int s)
{
    dc_err e = {0};
    vae *a = fresh(), *b = fresh();
    if (!a || !b) goto out;
    calls = 0, stop_at = s;
    vae_set_stop(a, stop_fn, NULL);
    losses la = {0};
    CHECK_EQ_INT(vae_train(a, x, N, NULL, on_epoch, &la, &e), DC_ECANCEL);
    CHECK_MSG(vae_epochs_done(a) == (s - 1) / BPE, "stop at batch %d: %d epochs done", s,
              vae_epochs_done(a));
    vae_set_stop(a, NULL, NULL);
    void *st = malloc(vae_state_size(a));
    vae_state_save(a, st);
    CHECK_MSG(vae_state_load(b, st, vae_state_size(a), &e) == 0, "%s", e.msg);
    free(st);

    losses lb = {0};
    CHECK_MSG(vae_train(b, x, N, NULL, on_epoch, &lb, &e) == 0, "%s", e.msg);
    CHECK_MSG(same_params(b, ref), "stopped at batch %d, loaded and resumed: params differ", s);
    CHECK_EQ_INT(vae_epochs_done(b), EPOCHS);
    CHECK_EQ_INT(lb.last, EPOCHS);
    for (int ep = (s - 1) / BPE + 1; ep <= EPOCHS; ep++)
        CHECK_MSG(lb.total[ep] == lref->total[ep], "stop at batch %d: epoch %d loss %.9g, want %.9g",
                  s, ep, lb.total[ep], lref->total[ep]);

    CHECK_MSG(vae_train(a, x, N, NULL, NULL, NULL, &e) == 0, "%s", e.msg);
    CHECK_MSG(same_params(a, ref), "stopped at batch %d and trained again: params differ", s);
out:
    vae_free(a);
    vae_free(b);
}

/* The state before this change ("VST1": no epoch position) of a run stopped at an epoch
 * boundary: the same bytes without the 80 of the position. */
static void old_format(const float *x, vae *ref)
{
    dc_err e = {0};
    vae *a = fresh(), *b = fresh();
    if (!a || !b) goto out;
    calls = 0, stop_at = 2 * BPE + 1; /* before epoch 3's first batch */
    vae_set_stop(a, stop_fn, NULL);
    CHECK_EQ_INT(vae_train(a, x, N, NULL, NULL, NULL, &e), DC_ECANCEL);
    size_t len = vae_state_size(a), head = 88, extra = 80;
    unsigned char *st = malloc(len), *old = malloc(len - extra);
    vae_state_save(a, st);
    memcpy(old, st, head);
    memcpy(old + head, st + head + extra, len - head - extra);
    old[0] = 'V', old[1] = 'S', old[2] = 'T', old[3] = '1';
    CHECK_MSG(vae_state_load(b, old, len - extra, &e) == 0, "old state: %s", e.msg);
    CHECK_MSG(vae_train(b, x, N, NULL, NULL, NULL, &e) == 0, "%s", e.msg);
    CHECK_MSG(same_params(b, ref), "old-format state resumed: params differ");
    /* an old header with the new length, or the other way round, is refused */
    CHECK_EQ_INT(vae_state_load(b, old, len, &e), DC_EINVAL);
    st[0] = 'V', st[1] = 'S', st[2] = 'T', st[3] = '1';
    CHECK_EQ_INT(vae_state_load(b, st, len, &e), DC_EINVAL);
    free(st);
    free(old);
out:
    vae_free(a);
    vae_free(b);
}

/* A mid-epoch state refused where it cannot continue. */
static void bad_states(const float *x)
{
    dc_err e = {0};
    vae *a = fresh(), *b = fresh();
    if (!a || !b) goto out;
    calls = 0, stop_at = BPE + 9; /* epoch 2, after 8 batches (240 samples) */
    vae_set_stop(a, stop_fn, NULL);
    CHECK_EQ_INT(vae_train(a, x, N, NULL, NULL, NULL, &e), DC_ECANCEL);
    size_t len = vae_state_size(a);
    unsigned char *st = malloc(len);
    vae_state_save(a, st);
    CHECK_EQ_INT(vae_state_load(b, st, len - 4, &e), DC_EINVAL);
    CHECK_MSG(vae_state_load(b, st, len, &e) == 0, "%s", e.msg);
    /* 200 samples: the 8 batches done do not fit */
    CHECK_EQ_INT(vae_train(b, x, 200, NULL, NULL, NULL, &e), DC_EINVAL);
    CHECK_MSG(strstr(e.msg, "8 batches") != NULL, "message: %s", e.msg);
    /* an all-zero rng state (found by fuzz/fuzz_vae_state: vae_train then looped forever
       in rng_normal), in the rng or, with a position inside an epoch, the epoch's rng */
    for (int off = 16; off <= 96; off += 80) {
        unsigned char *z = malloc(len);
        memcpy(z, st, len);
        memset(z + off, 0, 32);
        CHECK_EQ_INT(vae_state_load(b, z, len, &e), DC_EINVAL);
        CHECK_MSG(strstr(e.msg, "all zero") != NULL, "rng at %d: %s", off, e.msg);
        free(z);
    }
    /* a position inside an epoch past the last */
    uint32_t done = EPOCHS;
    memcpy(st + 4, &done, 4);
    CHECK_EQ_INT(vae_state_load(b, st, len, &e), DC_EINVAL);
    free(st);
out:
    vae_free(a);
    vae_free(b);
}

int main(void)
{
    float *x = malloc(N * D * sizeof *x);
    int32_t y[N];
    blobs(x, y, 7);
    dc_err e = {0};
    vae *ref = fresh();
    losses lref = {0};
    CHECK_MSG(ref && vae_train(ref, x, N, NULL, on_epoch, &lref, &e) == 0, "%s", e.msg);
    if (ref) {
        /* epoch 1 before its first batch and after 2; epoch 2 (after the k-means start)
           before its first batch and after 4; epoch 3 after 13 (its last batch left) */
        int at[] = {1, 3, BPE + 1, BPE + 5, 3 * BPE};
        for (size_t i = 0; i < sizeof at / sizeof *at; i++) stop_and_resume(x, ref, &lref, at[i]);
        old_format(x, ref);
        bad_states(x);
    }
    vae_free(ref);
    free(x);
    return CHECK_DONE();
}
