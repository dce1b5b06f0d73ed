/* cluster_cost: what each stage of a training run will cost, in estimated seconds on the
 * reference machine (docs/eta.md: a 2-core AMD EPYC, OpenBLAS Haswell kernels), from the
 * spec and the data's size alone. The run uses the ratios as each stage's share of its
 * progress, so that the ETA (cluster_driver.h: elapsed at this pace times what is left)
 * counts the stages still to come: a 3-epoch pretraining is a few percent of a DEC run
 * whose self-training may take 20,000 batches, not 60% of it.
 *
 *   cluster_cost c;
 *   cluster_cost_estimate(&s, ds.n, ds.d, 0, &c);   // c.total_s, c.pretrain_s, ...
 *
 * Self-training is counted to maxiter (it stops earlier once fewer than tol of the labels
 * change), so in that stage the ETA is an upper bound. Absolute seconds are rough (the
 * machine's speed varies); the shares are what matters. */
#ifndef DC_CLUSTER_COST_H
#define DC_CLUSTER_COST_H

#include <stdint.h>

#include "cluster.h"

typedef struct cluster_cost {
    double pretrain_s; /* autoencoder (or vae's autoencoder) epochs; 0 with a pretrained one */
    double init_s;     /* encoding the data and k-means on the codes */
    double cluster_s;  /* self-training (DEC/IDEC/DCEC) or the vae's epochs */
    double manifold_s; /* n2d: kNN, graph, initialisation and layout */
    double mixture_s;  /* n2d: the Gaussian mixture's EM */
    double total_s;
} cluster_cost;

/* Estimates for spec s on n samples of d features; pretrained: the autoencoder is given
 * (no pretraining stage). Never fails: unknown or degenerate sizes give zeros. */
void cluster_cost_estimate(const cluster_spec *s, int64_t n, int d, int pretrained,
                           cluster_cost *out);

#endif
