/* vae_internal: the vae struct, shared by vae.c (model, training, I/O) and vae_init.c
 * (starting from a pretrained autoencoder). Nobody else should use it. */
#ifndef DC_VAE_INTERNAL_H
#define DC_VAE_INTERNAL_H

#include "nn.h"
#include "vae.h"

struct vae {
    vae_cfg cfg;
    nn_net *enc, *hmu, *hlv, *cls, *dec; /* owned; bound into params/grads */
    float *params, *grads;               /* owned, np floats each */
    size_t np, off_muy;                  /* mu_y at params + off_muy, (K, L) */
    int F;                               /* encoder output floats */
    int mb;                              /* max batch */
    rng r;
    nn_optim opt;     /* everything but mu_y (its slice of m, v stays 0) */
    nn_optim opt_muy; /* mu_y only, lr * muy_lr_mult */
    int have_opt;
    int ep_done;      /* epochs trained over all vae_train calls */
    int resume_ep;    /* set by vae_state_load: the next vae_train starts after it */
    int muy_init;     /* 1 once VAE_INIT_KMEANS has run */
    vae_stop_fn stop; /* asked before each batch (vae_set_stop), or NULL */
    void *stop_ctx;
    /* an epoch stopped between batches: batches of epoch ep_done + 1 done (0: none), the
       rng at that epoch's start and its loss sums so far */
    int bd;
    rng ep_r;
    double part[4];
    double klw;       /* weight of kl_z + kl_y in the gradients (1 outside the warm-up) */
    /* scratch for one batch */
    float *xb;           /* (mb, d) gathered batch */
    float *dxl;          /* (mb, d) gradient w.r.t. decoder logits */
    float *zf, *fz, *fmu, *flv; /* (mb, L) */
    float *dh1, *dh2;    /* (mb, F) */
    float *flog;         /* (mb, K) */
    double *mu, *lv, *eps, *z, *dmu, *dlv, *dz; /* (mb, L) */
    double *logit, *p, *dp, *dlogit;            /* (mb, K) */
    double *muy, *dmuy;                         /* (K, L) */
};

/* Both Adam optimizers (lr, and lr * muy_lr_mult for mu_y), once: 0 or DC_ENOMEM. */
int vae__optim_init(vae *v, dc_err *e);

#endif
