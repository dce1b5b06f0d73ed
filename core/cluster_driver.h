/* cluster_driver: one training run the way the CLI (`deepclust train`) and the service's
 * workers both do it: resume from a stored checkpoint if there is one, cluster_fit_ex with
 * progress and one ETA formula, checkpoints into the same store, and the model's scores
 * on its training set at the end.
 *
 * Checkpoint storage is behind cluster_ckpt_store: a file for the CLI (cli_ckpt.c), the
 * jobs' checkpoints table for the service (svc_worker.c).
 *
 * ETA: seconds left at this attempt's pace, (elapsed - e0) (1 - p) / (p - p0), where
 * (e0, p0) is (0, 0) for a fresh run and the first event's elapsed_s and progress for a
 * resumed one (whose progress starts where the checkpoint left it while elapsed_s counts
 * from this attempt's start); NAN until progress has moved. Progress moves through the
 * stages in proportion to their estimated costs (cluster_cost.h), so the ETA counts the
 * stages still to come.
 *
 *   cluster_drive d = {.spec = &s, .ds = &ds, .store = &st, .ckpt_every_s = 60,
 *                      .progress = on_progress, .ctx = me};
 *   rc = cluster_drive_run(&d, &model, &err);  // d.train: ACC/NMI/ARI on ds (NAN w/o labels)
 *                                              // d.labels (and d.q, d.z with keep_qz)
 *   cluster_drive_free(&d);
 */
#ifndef DC_CLUSTER_DRIVER_H
#define DC_CLUSTER_DRIVER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "dc_err.h"
#include "metrics.h"

struct dataset;

typedef struct cluster_ckpt_store {
    void *ctx;
    /* The stored state: 1 found (*buf malloc'd, the driver frees it), 0 none, < 0 error
     * (err set). May be NULL: start fresh. */
    int (*load)(void *ctx, void **buf, size_t *len, dc_err *err);
    /* Replaces the stored state (cluster_ckpt_fn); nonzero stops the run. */
    int (*save)(void *ctx, const void *state, size_t len);
} cluster_ckpt_store;

/* One event with the driver's view of it: progress clamped to [0, 1], eta_s (NAN when
 * unknown). Nonzero stops the run (DC_ECANCEL). */
typedef int (*cluster_progress_fn)(void *ctx, const cluster_event *ev, double progress,
                                   double eta_s);

typedef struct cluster_drive {
    /* in */
    const cluster_spec *spec;
    const struct dataset *ds;
    const void *ae_buf;               /* pretrained autoencoder or NULL (cluster_fit_opts) */
    size_t ae_len;
    const cluster_ckpt_store *store;  /* NULL: no checkpoints */
    double ckpt_every_s;              /* as cluster_fit_opts */
    const atomic_int *stop;           /* as cluster_fit_opts; may be NULL */
    int (*pretrained)(void *ctx, const void *ae, size_t len); /* as cluster_fit_opts; */
    void *pretrained_ctx;                                     /* may be NULL */
    cluster_progress_fn progress;     /* may be NULL */
    void *ctx;
    int keep_qz;                      /* 1: also keep q and z of the training set below */
    /* out */
    int resumed;                      /* started from the store's checkpoint */
    cluster_event last;               /* the last event (have_last) */
    int have_last;
    metrics_scores train;             /* on ds after the fit; NAN without labels */
    int32_t *labels;                  /* ds->n predicted labels (cluster_drive_free) */
    float *q;                         /* keep_qz: (ds->n, k) soft assignments, else NULL */
    float *z;                         /* keep_qz: (ds->n, embed) embeddings; NULL for
                                         kmeans, whose embedding is ds->x itself */
    /* ETA reference (see above) */
    int have_eta_ref;
    double eta_p0, eta_e0;
} cluster_drive;

/* Runs d (inputs set, outputs zero): *out the model (cluster_model_free it). */
int cluster_drive_run(cluster_drive *d, cluster_model **out, dc_err *err);
void cluster_drive_free(cluster_drive *d);

/* The ETA formula above, for one event of progress p at elapsed_s e. */
double cluster_drive_eta(cluster_drive *d, double p, double e);

#endif
