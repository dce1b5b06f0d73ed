/* cluster: one entry point for every clustering method of deepclust.
 *
 * A cluster_spec says what to run (method, k, seed, autoencoder, pretraining and
 * clustering options; cluster_spec_default fills DESIGN.md's defaults). cluster_fit
 * trains on a dataset and gives a cluster_model; progress reaches the caller through a
 * callback that can also stop the run. A model predicts soft assignments q (n,k), hard
 * labels and embeddings for new samples, and serialises to one versioned byte buffer.
 *
 *   cluster_spec s; cluster_spec_default(&s, CM_DEC, 10);
 *   cluster_model *m = NULL;
 *   if (cluster_fit(&m, &s, &ds, on_event, ctx, &err) < 0) ...;
 *   cluster_predict(m, x, n, q, labels, NULL, &err);
 *   cluster_model_free(m);
 */
#ifndef DC_CLUSTER_H
#define DC_CLUSTER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "dc_err.h"

struct dataset;

typedef enum cluster_method {
    CM_KMEANS = 0, /* Lloyd on the raw data */
    CM_AE_KMEANS,  /* autoencoder, then k-means on the embedding */
    CM_DEC,        /* DEC: AE pretraining, k-means init, KL self-training (encoder only) */
    CM_IDEC,       /* IDEC: DEC that keeps the decoder, L = L_rec + gamma * KL */
    CM_DCEC,       /* IDEC loss on a convolutional autoencoder (image data) */
    CM_VAE,        /* VAE with a discrete class (one-step VAE clustering) */
    CM_N2D,        /* N2D: autoencoder, UMAP of the codes, Gaussian mixture (docs/n2d.md) */
    CM_COUNT
} cluster_method;

const char *cluster_method_name(cluster_method m);
/* Returns the method for a name ("dec"), or -1. */
int cluster_method_parse(const char *name);

enum { CLUSTER_MAX_DIMS = 8 };
/* Size bounds cluster_spec_check enforces against a dataset: the dense autoencoder's
 * weights and biases (encoder and decoder), and the n x k soft assignments of the
 * self-training phase, in floats. */
enum { CLUSTER_MAX_PARAMS = 1 << 28, CLUSTER_MAX_TARGETS = 1 << 30 };
enum { OPT_ADAM = 0, OPT_SGD = 1, OPT_AUTO = 2 }; /* OPT_AUTO: pretraining only */
enum { CLUSTER_SGD_MIN_STEPS = 10000 };
enum { INIT_GLOROT = 0, INIT_VARSCALE = 1, INIT_AUTO = 2 }; /* = NN_INIT_*, or auto */
enum { MANIFOLD_INIT_PCA = 0, MANIFOLD_INIT_SPECTRAL = 1 }; /* n2d's manifold_init */

typedef struct cluster_spec {
    int method;       /* cluster_method */
    int k;            /* clusters */
    uint64_t seed;
    /* autoencoder */
    int n_hidden;     /* dense: hidden widths then embedding, e.g. {500,500,2000,10} */
    int hidden[CLUSTER_MAX_DIMS];
    int embed_dim;    /* the last of hidden[] for dense; dense embedding for conv */
    /* pretraining */
    int pretrain_epochs;
    int batch;
    /* The pretraining recipe. OPT_AUTO (default) resolves when the data is seen: SGD
     * (DEC-keras' recipe for images) for a dense autoencoder on data within [0, 1] given
     * at least CLUSTER_SGD_MIN_STEPS mini-batches of pretraining (it converges slower
     * than Adam), else Adam (always for dcec). lr 0: the optimizer's default, SGD 1 (with the MSE
     * averaged over features, as Keras) or Adam 1e-3. INIT_AUTO: variance scaling with
     * SGD, glorot-uniform with Adam. A fitted model's spec holds the resolved values. */
    int pretrain_opt; /* OPT_ADAM, OPT_SGD or OPT_AUTO */
    double pretrain_lr;
    double pretrain_momentum;
    double pretrain_noise; /* denoising pretraining: input noise std (0: none) */
    int pretrain_init;   /* INIT_GLOROT (Keras' default), INIT_VARSCALE (DEC-keras), INIT_AUTO */
    /* k-means (also the init of DEC/IDEC/DCEC centroids) */
    int n_init;
    int kmeans_max_iter;
    double kmeans_tol;
    /* self-training (DEC/IDEC/DCEC) */
    double alpha;
    int update_interval; /* batches between P updates */
    double tol;          /* stop when fewer than tol of labels change */
    int maxiter;         /* batches */
    double gamma;        /* IDEC/DCEC weight of the KL term */
    int cluster_opt;
    double cluster_lr;
    double cluster_momentum;
    /* vae */
    int latent;          /* latent dimension */
    int vae_epochs;
    int vae_conv;        /* 1: convolutional encoder/decoder (image data) */
    int vae_bce;         /* 1: Bernoulli (BCE) reconstruction, 0: Gaussian (MSE) */
    double vae_rec_weight;
    double vae_lr;       /* Adam learning rate of the vae training */
    /* n2d: the autoencoder above (n_hidden 0: none, the manifold is learnt on the raw
     * features), UMAP of its codes (core/umap.h), then a full-covariance Gaussian mixture
     * on the manifold (core/gmm.h); q = the mixture's responsibilities */
    int manifold_components; /* UMAP output dimension (10) */
    int manifold_neighbors;  /* UMAP n_neighbors, counting the point itself (20) */
    double manifold_min_dist; /* UMAP min_dist (0) */
    int manifold_epochs;     /* UMAP layout epochs, 0 = auto: 500 up to 10,000 samples, else 200 */
    int manifold_init;       /* MANIFOLD_INIT_SPECTRAL (default, umap-learn's) or _PCA */
    int gmm_n_init;          /* mixture restarts, best log-likelihood kept (100) */
} cluster_spec;

/* DESIGN.md defaults for method m and k clusters: the rows of cluster_opts.def. */
void cluster_spec_default(cluster_spec *s, cluster_method m, int k);
/* Checks ranges (cluster_opts.def's); DC_EINVAL with the field's name in the message.
 * ds may be NULL, or a header without samples (x NULL): then what needs the values is
 * checked by cluster_fit. With ds, also the sizes the run would allocate
 * (CLUSTER_MAX_PARAMS, _TARGETS), with overflow-checked arithmetic. */
int cluster_spec_check(const cluster_spec *s, const struct dataset *ds, dc_err *err);
/* The same; *opt (may be NULL) receives the option to blame, a cluster_opt_id
 * (cluster_opts.h), or -1 when no one option is (the data itself, or a dataset too big). */
int cluster_spec_check_ex(const cluster_spec *s, const struct dataset *ds, int *opt,
                          dc_err *err);

/* The phases of a run, X(id, name): the name is what progress lines, the store and the
 * API show. DEC/IDEC/DCEC: pretrain, kmeans, cluster; vae: (pretrain, kmeans,) vae; n2d:
 * pretrain, knn, graph, manifold_init, manifold, mixture. */
#define CLUSTER_PHASES(X)                                                              \
    X(PRETRAIN, "pretrain")           /* autoencoder epochs */                         \
    X(KMEANS, "kmeans")               /* k-means restarts */                           \
    X(CLUSTER, "cluster")             /* self-training, target updates */              \
    X(VAE, "vae")                     /* vae epochs */                                 \
    X(KNN, "knn")                     /* n2d: exact kNN, row blocks */                 \
    X(GRAPH, "graph")                 /* n2d: fuzzy graph */                           \
    X(MANIFOLD_INIT, "manifold_init") /* n2d: spectral steps */                        \
    X(MANIFOLD, "manifold")           /* n2d: layout epochs */                         \
    X(MIXTURE, "mixture")             /* n2d: EM iterations */

typedef enum cluster_phase {
#define CLUSTER_PHASE_ENUM_(id, name) CP_##id,
    CLUSTER_PHASES(CLUSTER_PHASE_ENUM_)
#undef CLUSTER_PHASE_ENUM_
    CP_COUNT
} cluster_phase;

/* "pretrain" for CP_PRETRAIN ...; "unknown" outside the enum. */
const char *cluster_phase_name(cluster_phase p);

/* One progress report. Metrics are NAN where unknown (no labels, or not this phase). */
typedef struct cluster_event {
    cluster_phase phase; /* CLUSTER_PHASES above */
    int iter;            /* epoch (pretrain, vae, manifold), P update (cluster), init
                            (kmeans), kNN row block (knn), spectral step (manifold_init),
                            EM iteration of the current restart (mixture) */
    int total;           /* planned iterations of this phase (upper bound) */
    double loss;         /* phase loss (reconstruction, KL, total, inertia; mixture: minus
                            the mean log-likelihood per sample) */
    double loss_rec;     /* reconstruction part where it applies, else NAN */
    double loss_kl;      /* KL part where it applies, else NAN */
    double label_change; /* fraction of labels changed since last update, else NAN */
    double acc, nmi, ari;
    double elapsed_s;    /* since cluster_fit started */
    double progress;     /* 0..1, whole run */
} cluster_event;

/* Return nonzero to stop: cluster_fit then returns DC_ECANCEL. */
typedef int (*cluster_cb)(void *ctx, const cluster_event *ev);

typedef struct cluster_model cluster_model;

/* Trains on ds (labels optional: used only to report metrics). *out owned by caller. */
int cluster_fit(cluster_model **out, const cluster_spec *s, const struct dataset *ds,
                cluster_cb cb, void *ctx, dc_err *err);

/* Checkpoints: cluster_fit_ex hands the caller an opaque state blob at phase boundaries
 * and at most every ckpt_every_s seconds; giving that blob back as opts.resume continues
 * the run from there (same spec and data required: a mismatch is DC_EINVAL).
 * n2d: checkpoints cover the pretraining and the UMAP layout (every ckpt_every_s between
 * layout epochs, at a stop, and once when the layout ends); a layout checkpoint holds the
 * autoencoder, the embedding so far and the layout's rng. Resumed from one, the run skips
 * the pretraining and the init, recomputes the exact kNN and graph from the codes and
 * continues the layout at the epoch after it: the model is bit for bit the uninterrupted
 * run's. A stop in the kNN, graph or init gives no new checkpoint (the last one is the
 * pretraining's), nor does one in the mixture (the one from the layout's end resumes into
 * it). A raw n2d (n_hidden 0) and one from a pretrained autoencoder (ae_buf, to be given
 * again on resume) checkpoint their layout the same way. */
typedef int (*cluster_ckpt_fn)(void *ctx, const void *state, size_t len);

typedef struct cluster_fit_opts {
    cluster_cb cb;            /* progress; may be NULL */
    void *ctx;
    const void *ae_buf;       /* pretrained autoencoder (cluster_model_save_ae), or NULL */
    size_t ae_len;
    cluster_ckpt_fn ckpt;     /* may be NULL; nonzero return stops the run (DC_ECANCEL) */
    void *ckpt_ctx;
    double ckpt_every_s;      /* <= 0: phase boundaries only */
    const void *resume;       /* a state from ckpt, or NULL */
    size_t resume_len;
    /* Polled between mini-batches (and k-means iterations; n2d: kNN rounds, layout
     * epochs, EM iterations): once nonzero, the run hands a final checkpoint to ckpt
     * (when it is past k-means; n2d: during pretraining and layout) and returns DC_ECANCEL. */
    const atomic_int *stop;
    /* Called once when this run's autoencoder pretraining ends (not with ae_buf, nor on
     * a resume past pretraining), with the autoencoder as cluster_model_save_ae gives
     * it, before k-means or self-training change it: a study keeps it to run its other
     * k from (ae_buf). Nonzero stops the run (DC_ECANCEL). May be NULL. */
    int (*pretrained)(void *ctx, const void *ae, size_t len);
    void *pretrained_ctx;
} cluster_fit_opts;

/* opts NULL: all defaults (as cluster_fit with no callback). */
int cluster_fit_ex(cluster_model **out, const cluster_spec *s, const struct dataset *ds,
                   const cluster_fit_opts *opts, dc_err *err);

/* The same, starting from a pretrained autoencoder (cluster_model_save_ae's bytes):
 * no pretraining; its shape must match the spec and the data. */
int cluster_fit_pretrained(cluster_model **out, const cluster_spec *s,
                           const struct dataset *ds, const void *ae_buf, size_t ae_len,
                           cluster_cb cb, void *ctx, dc_err *err);

int cluster_model_k(const cluster_model *m);
/* Image shape of the training data (h, w, c), or zeros for flat vectors. */
void cluster_model_image_shape(const cluster_model *m, int *h, int *w, int *c);
int cluster_model_dim(const cluster_model *m);    /* input features d */
int cluster_model_embed(const cluster_model *m);  /* embedding size (d for kmeans) */
/* The centroids (k, embed) in the space of cluster_predict's z (vae: the class means;
 * n2d: the mixture's means on the manifold); borrowed, valid while m lives. */
const float *cluster_model_centroids(const cluster_model *m);
const cluster_spec *cluster_model_spec(const cluster_model *m);

/* x (n,d) -> q (n,k) soft assignments, labels (n), z (n,embed); any output may be NULL.
 * n2d: codes -> umap_transform -> the mixture's responsibilities; z holds the manifold
 * coordinates (embed = manifold_components). The n samples are placed in one transform
 * call, so a result depends on n (umap_transform's batches), and training samples come
 * back near, not exactly at, their place in the fitted embedding. */
int cluster_predict(const cluster_model *m, const float *x, int64_t n, float *q,
                    int32_t *labels, float *z, dc_err *err);

/* vae models: n samples of one cluster, out (n, d) in [0, 1]; DC_EINVAL otherwise. */
int cluster_generate(const cluster_model *m, int cluster, int n, uint64_t seed, float *out,
                     dc_err *err);
/* Autoencoder (or vae) reconstruction of x (n, d) into out (n, d); DC_EINVAL for kmeans. */
int cluster_reconstruct(const cluster_model *m, const float *x, int64_t n, float *out,
                        dc_err *err);

/* Serialise to one malloc'd buffer (magic, version, spec, weights); free() it. */
int cluster_model_save(const cluster_model *m, void **buf, size_t *len, dc_err *err);
int cluster_model_load(cluster_model **out, const void *buf, size_t len, dc_err *err);
/* The autoencoder alone, to reuse with cluster_fit_pretrained. DC_EINVAL for kmeans. */
int cluster_model_save_ae(const cluster_model *m, void **buf, size_t *len, dc_err *err);
void cluster_model_free(cluster_model *m);

#endif
