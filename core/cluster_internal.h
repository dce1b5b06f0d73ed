/* cluster_internal: what cluster*.c share and nobody else should use. */
#ifndef DC_CLUSTER_INTERNAL_H
#define DC_CLUSTER_INTERNAL_H

#include "cluster.h"
#include "nn_ae.h"

struct cluster_model {
    cluster_spec spec;
    int d, e, k;      /* input features, embedding size, clusters */
    int h, w, c;      /* image shape of the training data, or 0 */
    nn_ae *ae;        /* NULL for kmeans */
    float *mu;        /* (k, e) centroids */
};

/* Emits one event; returns nonzero if the callback asks to stop. */
typedef struct cluster_run {
    cluster_cb cb;
    void *ctx;
    double t0;
    const int32_t *labels; /* training labels or NULL */
    int64_t n;
    double w_pretrain, w_cluster; /* share of total progress of each phase */
    double last_emit;             /* time of the last rate-limited event */
    int n_init;
    int kmeans_only;              /* the run is k-means on raw data */
} cluster_run;

double cluster__now(void);
int cluster__emit(cluster_run *run, cluster_event *ev);
void cluster__event_init(cluster_event *ev, const char *phase, int iter, int total);
/* Sets ev->acc/nmi/ari from pred vs run->labels (NAN when no labels). */
void cluster__score(cluster_run *run, const int32_t *pred, cluster_event *ev);

/* DEC/IDEC/DCEC self-training of m->ae and m->mu on x (n, d). */
int cluster__self_train(cluster_model *m, const float *x, int64_t n, cluster_run *run,
                        dc_err *err);

#endif
