/* vae: one-step VAE clustering with a discrete class (Su Jianlin, kexue.fm/archives/5887;
 * reference code bojone/vae `vae_keras_cluster.py`). Encoding, clustering and
 * conditional generation come out of one model trained in one step.
 *
 * Model (B = batch, L = latent, K = clusters, d = h*w*c input floats):
 *   encoder   x -> h(x): dense  d - hidden[0] - ... - hidden[n-1] (act on each);
 *                        conv   2 x [conv 3x3 s2 + LeakyReLU 0.2, conv 3x3 s1 + LeakyReLU 0.2]
 *                               with filters[0] then filters[1] (32, 64), pad 1, flatten
 *   heads     mu(x) = dense(h), logvar(x) = dense(h)            (two separate dense layers)
 *   sampling  z = mu + exp(logvar/2) * eps,  eps ~ N(0, I)       (training only)
 *   classifier p(y|z) = softmax(dense_K(act(dense_cls_hidden(z))))   (cls_hidden 256)
 *   priors    q(z|y) = N(mu_y, I), mu_y (K, L) learnable, zero-initialised; q(y) uniform
 *   decoder   dense: L - hidden[n-1] - ... - hidden[0] - d;  conv: dense (linear) ->
 *             reshape -> 2 x [convT 3x3 s1 + LReLU, convT 3x3 s2 + LReLU] with filters[1]
 *             then filters[0] -> convT c@3x3 s1; its output are LOGITS, x^ = sigmoid.
 *
 * Loss per batch (all terms are means over the batch of per-sample sums):
 *   rec  = rec_weight * (1/B) sum_b sum_i r(x_bi, logit_bi)
 *          Gaussian (bce 0):  r = 0.5 (x - sigmoid(logit))^2      (the reference: lamb 2.5)
 *          Bernoulli (bce 1): r = BCE-with-logits(logit, x)
 *   kl_z = (1/B) sum_b sum_y p(y|z_b) KL_by, KL_by summed over the L latent dims:
 *          VAE_KL_SAMPLED (default, the reference):  sum_l -0.5 logvar_l + 0.5 (z_l - mu_yl)^2
 *            (single-sample estimate at the drawn z; in expectation the analytic KL + L/2)
 *          VAE_KL_ANALYTIC: sum_l 0.5 (-1 - logvar_l + (mu_l - mu_yl)^2 + exp(logvar_l))
 *   kl_y = (1/B) sum_b sum_y p log p + log K  = KL(p(y|z) || uniform)  (the reference's
 *          cat_loss plus the constant log K; exact log-softmax, no epsilon)
 *   total = rec + kl_z + kl_y.  The classifier sees the SAMPLED z during training.
 *
 * Warm-up (options, off in the reference, ON in vae_cfg_default: see docs/vae.md for the
 * measurements): training epoch g (counted over all vae_train calls) minimises
 *   rec + w_g (kl_z + kl_y),  w_g = warmup_kl for g <= warmup_epochs, then rising linearly
 *   to 1 over kl_ramp_epochs epochs (w = 1 at once when kl_ramp_epochs is 0).
 * With init_muy = VAE_INIT_KMEANS, mu_y are set by k-means on mu(x) when the warm-up ends
 * (at the first epoch when warmup_epochs is 0). mu_y have their own Adam, lr * muy_lr_mult.
 * After the warm-up and ramp the loss is exactly the article's.
 *
 * All parameters live in ONE float buffer, [encoder | mu head | logvar head | classifier |
 * mu_y | decoder], with one gradient buffer of the same layout; one Adam updates it all
 * but mu_y, which have their own Adam (lr * muy_lr_mult).
 * Weights: glorot-uniform, biases 0, mu_y 0 (as Keras). All randomness (init, shuffling,
 * eps) comes from an rng seeded with cfg.seed: same seed, data and OpenBLAS thread count
 * -> the same model bit for bit.
 *
 * Assignments: hard label = argmax_y p(y|z) at z = mu(x); soft = p(y|mu(x)).
 *
 *   vae_cfg c; vae_cfg_default(&c, 784, 10);
 *   c.conv = 1; c.h = 28; c.w = 28; c.c = 1;
 *   vae *v; if (vae_new(&v, &c, &e) < 0) ...;
 *   vae_train(v, x, n, labels_or_NULL, on_epoch, ctx, &e);
 *   vae_predict(v, x, n, q, labels, NULL, &e);       // q (n,K), labels (n)
 *   vae_generate(v, 3, 16, &r, out, &e);             // out (16, d) in [0,1]
 *   vae_save(v, &buf, &len, &e); ... vae_free(v);
 *
 * Not thread-safe: one vae per thread (its nets own workspaces).
 */
#ifndef DC_VAE_H
#define DC_VAE_H

#include <stddef.h>
#include <stdint.h>

#include "dc_err.h"
#include "nn_ops.h"
#include "rng.h"

enum { VAE_MAX_HIDDEN = 8 };

typedef enum vae_kl_mode {
    VAE_KL_SAMPLED = 0,  /* the reference: -0.5 logvar + 0.5 (z - mu_y)^2 at the drawn z */
    VAE_KL_ANALYTIC = 1, /* closed-form KL(N(mu, sigma^2) || N(mu_y, I)) */
} vae_kl_mode;

typedef enum vae_init_muy {
    VAE_INIT_ZERO = 0,   /* mu_y = 0 (the reference) */
    VAE_INIT_KMEANS = 1, /* after the warm-up: k-means (10 inits) on mu(x) of the training
                            set, mu_y = its centroids; mu_y's Adam state is reset */
} vae_init_muy;

typedef struct vae_cfg {
    int d;          /* floats per sample; for conv d == h*w*c */
    int h, w, c;    /* image shape (NHWC) for conv; ignored for dense */
    int k;          /* clusters (>= 2) */
    int latent;     /* L, default 20 */
    int conv;       /* 1: the reference's convolutional encoder/decoder */
    int n_hidden;   /* dense: hidden widths of the encoder (decoder mirrors), >= 1 */
    int hidden[VAE_MAX_HIDDEN]; /* default {500, 500} */
    int filters[2]; /* conv: default {32, 64} */
    int cls_hidden; /* classifier hidden width, default 256 (0: linear classifier) */
    int act;        /* nn_act of dense hidden layers and the classifier hidden layer:
                       NN_RELU (default) or NN_LEAKY_RELU (slope 0.2) or NN_SIGMOID */
    int bce;        /* 1: Bernoulli reconstruction (BCE on logits), 0: Gaussian (MSE) */
    float rec_weight; /* default 2.5 (the reference's lamb, Gaussian case) */
    int kl_mode;    /* vae_kl_mode, default VAE_KL_SAMPLED */
    int batch;      /* default 100; also the largest batch of every later call */
    int epochs;     /* default 50 */
    float lr;       /* Adam (Keras defaults otherwise), default 1e-3 */
    int eval_every; /* with labels: metrics every this many epochs (and the last); default 1 */
    uint64_t seed;
    /* Warm-up and initialisation of mu_y: explicit options on top of the method (see
     * "Warm-up" above; the reference has none: 0, 1, VAE_INIT_ZERO, 1, 0). Training only. */
    int warmup_epochs;  /* the first warmup_epochs epochs weight kl_z and kl_y by warmup_kl */
    float warmup_kl;    /* in [0, 1] */
    int init_muy;       /* vae_init_muy: how mu_y start (after the warm-up for KMEANS) */
    float muy_lr_mult;  /* mu_y get their own Adam with lr * muy_lr_mult (> 0) */
    int kl_ramp_epochs; /* after the warm-up, the KL weight rises linearly to 1 over this many */
} vae_cfg;

/* The reference's model and loss settings for d inputs and k clusters, dense
 * architecture, with the warm-up recipe (warmup_epochs 2, warmup_kl 0.1, kl_ramp_epochs 2,
 * muy_lr_mult 10, init_muy VAE_INIT_ZERO). Set conv = 1 and h, w, c for images. */
void vae_cfg_default(vae_cfg *c, int d, int k);
/* Range checks; DC_EINVAL naming the field. */
int vae_cfg_check(const vae_cfg *c, dc_err *e);

typedef struct vae vae;

/* Builds and initialises a model from cfg (copied). *out owned by the caller. */
int vae_new(vae **out, const vae_cfg *cfg, dc_err *e);
void vae_free(vae *v); /* NULL-safe */

const vae_cfg *vae_config(const vae *v);
int vae_latent(const vae *v);
int vae_k(const vae *v);
size_t vae_nparams(const vae *v);  /* floats in the one parameter buffer */
float *vae_params(vae *v);         /* the buffer itself (nparams floats) */
const float *vae_class_means(const vae *v); /* mu_y (K, L), inside the buffer */

/* One report per epoch. Loss terms are means over the epoch's batches (each batch's
 * value before its update). acc/nmi/ari: Hungarian ACC, NMI, ARI of argmax p(y|mu(x))
 * against the labels over all n samples, NAN without labels or off eval_every. */
typedef struct vae_epoch_info {
    int epoch, epochs; /* epoch counts from 1 */
    double rec, kl_z, kl_y, total;
    double acc, nmi, ari;
    double elapsed_s;  /* since vae_train began */
    double kl_weight;  /* w_g of this epoch (1 after the warm-up); total is unweighted */
} vae_epoch_info;
/* Return nonzero to stop: vae_train then returns DC_ECANCEL. */
typedef int (*vae_epoch_cb)(void *ctx, const vae_epoch_info *ev);

/* Trains cfg.epochs epochs on x (n, d) in [0,1] (shuffled batches of cfg.batch, the last
 * one smaller). labels (n) or NULL: used only for the metrics. Can be called again to
 * continue (the Adam state is kept). DC_ENUMERIC if the loss becomes NaN/Inf,
 * DC_ECANCEL if cb or the stop function (vae_set_stop) asked to stop. */
int vae_train(vae *v, const float *x, size_t n, const int32_t *labels, vae_epoch_cb cb,
              void *ctx, dc_err *e);

/* Asked before each training batch: when fn returns nonzero, vae_train returns
 * DC_ECANCEL at once, in the middle of an epoch, and the state (below) keeps the epoch's
 * position. fn NULL: never. */
typedef int (*vae_stop_fn)(void *ctx);
void vae_set_stop(vae *v, vae_stop_fn fn, void *ctx);
int vae_epochs_done(const vae *v); /* over all vae_train calls */

/* Training state, for checkpoints: parameters, both optimizers, the rng, the epochs done
 * and the position in an epoch stopped between batches, in vae_state_size(v) bytes
 * (native byte order). Saved from an epoch callback or after a stop and loaded into a
 * fresh vae of the same cfg, the next vae_train continues exactly as the saving run would
 * have (from the stopped batch, or with epoch ep_done + 1 of cfg.epochs). DC_EINVAL for a
 * state of another shape. The older state without an epoch position still loads. */
size_t vae_state_size(const vae *v);
void vae_state_save(const vae *v, void *buf);
int vae_state_load(vae *v, const void *buf, size_t len, dc_err *e);

/* For x (n, d): q (n, K) = p(y | mu(x)), labels (n) = argmax, z_mu (n, L) = mu(x); each
 * output may be NULL. Deterministic (no sampling). */
int vae_predict(vae *v, const float *x, size_t n, float *q, int32_t *labels, float *z_mu,
                dc_err *e);

/* n samples of cluster j: z ~ N(mu_j, I) from r, out (n, d) = sigmoid(decoder(z)). */
int vae_generate(vae *v, int j, int n, rng *r, float *out, dc_err *e);

/* out (n, d) = sigmoid(decoder(mu(x))) for x (n, d) (the mean code, no sampling). */
int vae_reconstruct(vae *v, const float *x, size_t n, float *out, dc_err *e);

/* Serialisation, all little-endian: "DCVAE\0\0\0" magic, u32 version (2), u32 config
 * bytes, the config fields, u64 nparams, the float32 params, u64 FNV-1a checksum of all
 * that precedes it. *buf malloc'd (caller frees). The optimizer state is not saved.
 * Version 1 (116 config bytes, no warm-up fields) still loads, warm-up fields 0/off. */
int vae_save(const vae *v, void **buf, size_t *len, dc_err *e);
/* DC_EFORMAT (with a message) on a bad magic, version, config, size or checksum. */
int vae_load(vae **out, const void *buf, size_t len, dc_err *e);

/* ---- starting from a pretrained autoencoder (VaDE's initialisation) ---------------
 * For a dense ReLU vae whose hidden widths and latent match a dense autoencoder (nn_ae_new_fc:
 * d - hidden[0..n-1] - latent, linear code and output):
 *  1. the encoder becomes enc + the mu head, the decoder becomes dec (its linear output,
 *     which approximates x, is mapped to logits 8 (out - 1/2));
 *  2. k-means (n_init runs from seed) on the codes mu(x) of x (n, d);
 *  3. the code is divided by s, the rms distance of a code to its centroid per latent
 *     dimension, so that clusters have the unit variance of the prior N(mu_y, I) (the
 *     decoder's first layer is multiplied by s: same reconstructions); mu_y = centroids / s;
 *  4. the log-variance head starts constant (weights 0, bias VAE_AE_LOGVAR0);
 *  5. the decoder is fitted to the model's reconstruction loss for one epoch (at least
 *     VAE_AE_FIT_STEPS / 2 steps) on the fixed codes, then the classifier to the mixture
 *     posterior p(y|z) ∝ exp(-|z - mu_y|^2 / 2) for VAE_AE_CLS_EPOCHS epochs (at least
 *     VAE_AE_FIT_STEPS steps; cross-entropy), both with Adam at VAE_AE_FIT_LR;
 *  6. both optimizers are reset; init_muy does not run again.
 * labels (n) receives the k-means labels and *inertia the k-means inertia of the
 * autoencoder's codes (before the 1/s scaling), each if not NULL. Then train with vae_train (a warm-up
 * is not needed: set warmup_epochs 0). DC_EINVAL if the shapes do not match. */
enum { VAE_AE_CLS_EPOCHS = 5, VAE_AE_FIT_STEPS = 1000 };
#define VAE_AE_FIT_LR 1e-3f
#define VAE_AE_LOGVAR0 (-2.0f)
struct nn_ae;
int vae_init_from_ae(vae *v, const struct nn_ae *ae, const float *x, size_t n, int n_init,
                     uint64_t seed, int32_t *labels, double *inertia, dc_err *e);

/* ---- loss kernels (used by vae_train; exposed for the gradient tests) -------------
 * Shapes: mu, lv, z, eps (B, L); p, logit (B, K); muy (K, L). Gradients are ADDED into
 * the d* arrays, any of which may be NULL. Values are means over the batch B. */

/* Reconstruction over logit, x (B, d): returns weight * (1/B) sum r (see above) and
 * WRITES dlogit (=, may be NULL). Sums in double. */
double vae_loss_rec(float *dlogit, const float *logit, const float *x, int B, size_t d,
                    int bce, double weight);
/* The Gaussian-mixture KL term kl_z (mode: vae_kl_mode). z is used only by
 * VAE_KL_SAMPLED (dz), mu only by VAE_KL_ANALYTIC (dmu). kl (B, K) receives KL_by if
 * not NULL. */
double vae_loss_kl_z(double *dmu, double *dlv, double *dz, double *dp, double *dmuy,
                     double *kl, const double *mu, const double *lv, const double *z,
                     const double *p, const double *muy, int B, int L, int K, int mode);
/* The categorical term kl_y from the classifier's logits; adds into dlogit. */
double vae_loss_kl_y(double *dlogit, const double *logit, int B, int K);
/* p = softmax(logit) row-wise; dlogit += p * (dp - sum_y p dp). */
void vae_softmax(double *p, const double *logit, int B, int K);
void vae_softmax_backward(double *dlogit, const double *dp, const double *p, int B, int K);
/* z = mu + exp(lv/2) * eps over n values; backward: dmu += dz, dlv += dz * eps * exp(lv/2)/2. */
void vae_reparam(double *z, const double *mu, const double *lv, const double *eps, size_t n);
void vae_reparam_backward(double *dmu, double *dlv, const double *dz, const double *lv,
                          const double *eps, size_t n);

/* Internal-but-shared (tests): the total loss of one batch x (B, d) with the given eps
 * (B, L) (NULL: eps = 0), its terms in terms[4] = {rec, kl_z, kl_y, total} (may be NULL);
 * when grads is nonzero the parameter gradients are ADDED into the model's gradient
 * buffer (vae__grads). No update. Returns 0 or a DC_E* code. */
int vae__batch_loss(vae *v, const float *x, int B, const double *eps, int grads,
                    double terms[4], dc_err *e);
float *vae__grads(vae *v);

#endif
