/* nn_ae: autoencoders for deep clustering, built on nn.h.
 *
 *  - nn_ae_new_fc: the DEC autoencoder d-500-500-2000-10 (dims configurable): hidden
 *    layers with an activation (ReLU by default), linear embedding, mirrored decoder with
 *    a linear output; trained with MSE.
 *  - nn_ae_new_conv: the DCEC convolutional autoencoder for h x w x c images (NHWC):
 *    conv f0@5x5 s2 -> f1@5x5 s2 -> f2@3x3 s2 (ReLU) -> flatten -> dense emb (linear);
 *    decoder dense (ReLU) -> reshape -> convT f1@3x3 s2 -> f0@5x5 s2 (ReLU) -> c@5x5 s2
 *    (linear). Padding: the 5x5 convs use symmetric pad 2 ('same'-like: 28 -> 14 -> 7;
 *    Keras 'same' pads 1 before and 2 after, so features are shifted by one pixel
 *    relative to Keras); the 3x3 conv uses pad 1 if h % 8 == 0 else 0 ('valid': 7 -> 3),
 *    as DCEC does. Each convT takes the same K,S,P as the conv it mirrors and an output
 *    padding (0..S-1) chosen so that the shapes come back exactly (3 -> 7 -> 14 -> 28).
 *
 * The encoder and decoder are separate nets (DEC/IDEC run the encoder alone, then the
 * decoder) bound to ONE contiguous parameter buffer: ae->params = [encoder | decoder],
 * likewise ae->grads; ae->enc / ae->dec can be used with nn_net_forward/backward directly.
 *
 *   nn_ae *ae; int dims[] = {784, 500, 500, 2000, 10};
 *   nn_ae_new_fc(&ae, dims, 5, NN_RELU, 0, NN_INIT_GLOROT_UNIFORM, seed, 256, &e);
 *   nn_train_cfg tc = nn_train_default(); tc.epochs = 50; tc.seed = seed;
 *   nn_ae_train(ae, x, n, &tc, &loss, &e);      // x (n, d) row-major
 *   nn_ae_encode(ae, x, n, z, &e);              // z (n, emb)
 *   nn_ae_free(ae);
 */
#ifndef DC_NN_AE_H
#define DC_NN_AE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "dc_err.h"
#include "nn.h"

typedef struct nn_ae {
    nn_net *enc, *dec;    /* owned */
    float *params, *grads; /* owned; nparams floats each: encoder slice then decoder */
    size_t nparams, enc_nparams;
    size_t in_dim;        /* floats per sample (h*w*c) */
    int emb_dim;
    int max_batch;
    int owns;             /* params/grads allocated here (else nn_ae_rebind's caller owns) */
} nn_ae;

/* dims[0] = d (input), dims[1..ndims-2] hidden, dims[ndims-1] = embedding; ndims >= 2.
 * act (with slope for leaky ReLU) on the hidden layers of encoder and decoder.
 * Weights from init with rng seeded by seed; max_batch bounds every later batch. */
int nn_ae_new_fc(nn_ae **out, const int *dims, int ndims, nn_act act, float slope,
                 nn_init init, uint64_t seed, int max_batch, dc_err *e);
/* filters: the three conv widths (NULL: 32, 64, 128); emb: embedding size (10). */
int nn_ae_new_conv(nn_ae **out, int h, int w, int c, const int *filters, int emb, nn_init init,
                   uint64_t seed, int max_batch, dc_err *e);
void nn_ae_free(nn_ae *ae); /* NULL-safe */

/* Moves the AE into caller-owned buffers of ae->nparams floats each (e.g. the front of a
 * DEC model's buffer [encoder | decoder | centroids]): copies the params there, zeroes
 * grads, rebinds both nets and frees the AE's own buffers. The caller keeps ownership
 * and must keep them alive until nn_ae_free. Training then updates these buffers. */
int nn_ae_rebind(nn_ae *ae, float *params, float *grads, dc_err *e);

/* Per-epoch progress: epoch counts from 1; loss = mean training MSE over the epoch's
 * batches (before each update, as Keras reports); elapsed_s since the start of training.
 * Return nonzero to stop: training then returns DC_ECANCEL. */
typedef int (*nn_epoch_cb)(void *ctx, int epoch, double loss, double elapsed_s);

typedef struct nn_train_cfg {
    int epochs;       /* default 200 */
    int batch;        /* default 256; must be <= the ae's max_batch */
    nn_optim_cfg opt; /* default Adam lr 1e-3 */
    uint64_t seed;    /* shuffling: epoch e's order depends only on (seed, e) */
    nn_epoch_cb cb;   /* may be NULL */
    void *ctx;
    /* Resuming: epochs already done (training runs start_epoch+1 .. epochs), and an
     * optimizer whose state carries over (caller-owned, initialised for ae->nparams;
     * NULL: a fresh one from opt). Together they continue an interrupted run exactly. */
    int start_epoch;
    int start_batch;  /* batches of epoch start_epoch+1 already done (a mid-epoch stop) */
    nn_optim *state;
    /* Stopping between mini-batches: when *stop becomes nonzero, training returns
     * DC_ECANCEL before the next batch and, if stopped_at is set, writes there where it
     * stopped: {epoch in progress (1-based), batches of it done}. Resuming with
     * start_epoch = epoch - 1, start_batch = batches continues exactly. */
    const atomic_int *stop;
    struct nn_train_pos { int epoch, batch; } *stopped_at;
    /* Denoising: each input value gets noise * N(0, 1) added, then is clipped to
     * [clip_lo, clip_hi] (no clipping unless clip_lo < clip_hi); the target stays the
     * clean input. The draws depend only on (seed, epoch, batch), so a resumed run
     * corrupts the same way. 0: a plain autoencoder. */
    float noise, clip_lo, clip_hi;
} nn_train_cfg;
nn_train_cfg nn_train_default(void);

/* Trains to reconstruct x (n, in_dim) with MSE. Same seed, data, init and thread count
 * -> bit-for-bit the same parameters. *final_loss (may be NULL) = last epoch's loss.
 * DC_ECANCEL if cb stopped it, DC_ENUMERIC if the loss became NaN/Inf. */
int nn_ae_train(nn_ae *ae, const float *x, size_t n, const nn_train_cfg *cfg,
                double *final_loss, dc_err *e);

/* z (n, emb_dim) = encoder(x), in batches of max_batch. */
int nn_ae_encode(nn_ae *ae, const float *x, size_t n, float *z, dc_err *e);
/* xhat (n, in_dim) = decoder(z). */
int nn_ae_decode(nn_ae *ae, const float *z, size_t n, float *xhat, dc_err *e);
/* Mean squared reconstruction error over x (n, in_dim); < 0 (a DC_E* code) on error. */
double nn_ae_recon_mse(nn_ae *ae, const float *x, size_t n, dc_err *e);

/* Serialisation: "DCAE" magic, u32 version 1, then the encoder and decoder nets in the
 * nn_net_save format. *buf is malloc'd (caller frees). */
int nn_ae_save(const nn_ae *ae, void **buf, size_t *len, dc_err *e);
int nn_ae_load(nn_ae **out, const void *buf, size_t len, int max_batch, dc_err *e);

#endif
