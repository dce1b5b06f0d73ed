/* fuzz_specs.h: the tiny dataset, cluster specs and vae configuration that the
 * checkpoint and vae-state targets load into, and that gen_seeds.c trains to write their
 * seeds. Both sides must agree (a checkpoint only fits its own spec and data), so they
 * live here once. Header-only (static). */
#ifndef DC_FUZZ_SPECS_H
#define DC_FUZZ_SPECS_H

#include <stdlib.h>

#include "cluster.h"
#include "data.h"
#include "rng.h"
#include "vae.h"

enum { FZ_N = 24, FZ_D = 6, FZ_K = 3 };

/* The methods a checkpoint target byte selects: phases 1-2 (dec, idec), 3 (vae). */
static const cluster_method fz_methods[] = {CM_DEC, CM_IDEC, CM_VAE};
enum { FZ_N_METHODS = 3 };

/* FZ_N x FZ_D values in [0, 1], three blobs; the same every time. */
static inline void fz_dataset(dataset *ds)
{
    rng r;
    rng_seed(&r, 7);
    if (dataset_alloc(ds, FZ_N, FZ_D, 0, NULL) < 0) abort();
    for (int i = 0; i < FZ_N; i++)
        for (int j = 0; j < FZ_D; j++)
            ds->x[i * FZ_D + j] = (float)(0.3 * (i % 3 == j % 3) + 0.5 * rng_uniform(&r));
}

static inline void fz_spec(cluster_spec *s, cluster_method m)
{
    cluster_spec_default(s, m, FZ_K);
    s->seed = 1;
    s->n_hidden = 2;
    s->hidden[0] = 5;
    s->hidden[1] = 2;
    s->embed_dim = 2;
    s->pretrain_epochs = 2;
    s->batch = 8;
    s->n_init = 1;
    s->kmeans_max_iter = 10;
    s->update_interval = 3;
    s->maxiter = 6;
    s->tol = 0;
    s->latent = 2;
    s->vae_epochs = 3;
    if (m == CM_VAE) s->pretrain_epochs = 0; /* one step from scratch: no autoencoder to
                                                fit to on every resume (that is 30x slower) */
}

/* A small dense vae for the vae-state target: 3 epochs, batch 8. */
static inline void fz_vae_cfg(vae_cfg *c)
{
    vae_cfg_default(c, FZ_D, FZ_K);
    c->latent = 2;
    c->n_hidden = 1;
    c->hidden[0] = 4;
    c->cls_hidden = 4;
    c->batch = 8;
    c->epochs = 3;
    c->seed = 1;
}

#endif
