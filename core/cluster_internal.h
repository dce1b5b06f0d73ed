/* cluster_internal: what cluster*.c share and nobody else should use. */
#ifndef DC_CLUSTER_INTERNAL_H
#define DC_CLUSTER_INTERNAL_H

#include "cluster.h"
#include "gmm.h"
#include "nn_ae.h"
#include "umap.h"
#include "vae.h"

struct cluster_model {
    cluster_spec spec;
    int d, e, k;      /* input features, embedding size, clusters */
    int h, w, c;      /* image shape of the training data, or 0 */
    nn_ae *ae;        /* NULL for kmeans and vae */
    vae *vae;         /* the vae method's model, else NULL */
    float *mu;        /* (k, e) centroids (vae: a copy of its class means; n2d: of the
                         mixture's means) */
    /* n2d: e = manifold_components; spec.embed_dim = the code size (d when raw) */
    umap_model *umap; /* the manifold of the training codes, else NULL */
    gmm_model *gmm;   /* the mixture on the manifold, else NULL */
};

/* Emits one event; returns nonzero if the callback asks to stop. */
typedef struct cluster_run {
    cluster_cb cb;
    void *ctx;
    double t0;
    const int32_t *labels; /* training labels or NULL */
    int64_t n;
    double w_pretrain, w_cluster; /* share of total progress of each phase (n2d: w_cluster
                                     is the manifold's, the mixture has the rest) */
    double last_emit;             /* time of the last rate-limited event */
    int n_init;
    int kmeans_only;              /* the run is k-means on raw data */
    const atomic_int *stop;       /* stop flag, or NULL */
    cluster_ckpt_fn ckpt;         /* checkpoint sink, or NULL */
    void *ckpt_ctx;
    double ckpt_every_s, last_ckpt;
} cluster_run;

int cluster__emit(cluster_run *run, cluster_event *ev);
void cluster__event_init(cluster_event *ev, cluster_phase phase, int iter, int total);
/* Sets ev->acc/nmi/ari from pred vs run->labels (NAN when no labels). */
void cluster__score(cluster_run *run, const int32_t *pred, cluster_event *ev);

/* Where a run stands, for checkpoints. phase 1: pretraining, iter = epochs done, pos =
 * batches of the next epoch done, opt the AE optimizer; phase 2: self-training, iter =
 * batches done, updates = target updates done, pos = position in the batch order,
 * opt/opt_mu the optimizers, p the current target distribution (n,k) and lab the labels
 * at the last update (n); phase 3: vae training, iter = vae epochs done (the vae's own
 * state goes with m->vae); phase 4: n2d's UMAP layout, iter = layout epochs done, layout
 * its state (the autoencoder's params go too, as in every phase). */
typedef struct cluster_ckpt {
    int phase, iter, updates;
    int64_t pos;
    nn_optim *opt, *opt_mu; /* borrowed */
    float *p;               /* borrowed; phase 2 */
    int32_t *lab;           /* borrowed; phase 2 */
    const umap_layout_state *layout; /* borrowed; phase 4 */
} cluster_ckpt;

static inline int cluster__stopped(const cluster_run *run)
{
    return run->stop && atomic_load(run->stop);
}

/* Serialises the model's current parameters and ck into a malloc'd blob. */
int cluster__ckpt_save(cluster_model *m, int64_t n, const cluster_ckpt *ck, void **buf,
                       size_t *len, dc_err *err);
/* Reads the header only (phase, iter, updates, pos); checks magic and checksum. */
int cluster__ckpt_peek(const void *buf, size_t len, cluster_ckpt *ck, dc_err *err);
/* Copies parameters (and centroids in phase 2) into m, optimizer state into opt /
 * opt_mu, which must be initialised with the right sizes (or NULL where the blob has
 * none), and in phase 2 the targets into p (n,k) and labels into lab (n). DC_EINVAL
 * when the blob belongs to another spec or dataset. */
int cluster__ckpt_restore(cluster_model *m, int64_t n, const void *buf, size_t len,
                          nn_optim *opt, nn_optim *opt_mu, float *p, int32_t *lab,
                          dc_err *err);

/* Phase 4: the layout state of the blob into st (st->embedding malloc'd: the caller
 * frees it; NULL on failure). DC_EINVAL when the blob is of another phase, spec or
 * dataset, DC_EFORMAT when its layout slot is inconsistent. */
int cluster__ckpt_layout(cluster_model *m, int64_t n, const void *buf, size_t len,
                         umap_layout_state *st, dc_err *err);

/* Whether cluster__ckpt_maybe(run, ..., force) would hand a checkpoint over now. */
int cluster__ckpt_due(const cluster_run *run, int force);
/* Hands a checkpoint to the caller when due (force: phase boundary). Nonzero: stop. */
int cluster__ckpt_maybe(cluster_run *run, cluster_model *m, const cluster_ckpt *ck, int force,
                        dc_err *err);

/* The vae method: trains m->vae on x (n, d). pretrained: the vae starts from the
 * autoencoder in m->ae (no warm-up); resume: a phase-3 checkpoint blob to continue from
 * (then m->ae is not needed), or NULL. A checkpoint is offered after every vae epoch. */
int cluster__fit_vae(cluster_model *m, const float *x, int64_t n, cluster_run *run,
                     int pretrained, const void *resume, size_t resume_len, dc_err *err);

/* DEC/IDEC/DCEC self-training of m->ae and m->mu on x (n, d); resume: a phase-2
 * checkpoint blob to continue from, or NULL. */
int cluster__self_train(cluster_model *m, const float *x, int64_t n, cluster_run *run,
                        const void *resume, size_t resume_len, dc_err *err);

/* The n2d method after its autoencoder: UMAP of codes (n, cd), then the mixture, into
 * m->umap, m->gmm and m->mu; sets m->e to manifold_components. Events "knn", "graph",
 * "manifold_init", "manifold", "mixture"; progress from run->w_pretrain to 1. Phase-4
 * checkpoints during the layout (when due, at a stop, and once at its end); resume: a
 * phase-4 blob whose layout to continue (m->ae already restored from it), or NULL. */
int cluster__fit_n2d(cluster_model *m, const float *codes, int64_t n, int cd, cluster_run *run,
                     const void *resume, size_t resume_len, dc_err *err);
/* cluster_predict of an n2d model (x already checked finite). */
int cluster__predict_n2d(cluster_model *m, const float *x, int64_t n, float *q, int32_t *labels,
                         float *z, dc_err *err);

#endif
