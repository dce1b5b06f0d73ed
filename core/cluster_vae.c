/* cluster_vae: the `vae` method behind cluster.h: spec -> vae_cfg, epochs -> events.
 * With a pretrained autoencoder in m->ae (the dense recipe) the vae starts from it and
 * k-means on its codes (vae_init_from_ae), then the autoencoder is dropped. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_internal.h"

static int on_epoch(void *ctx, const vae_epoch_info *vi)
{
    cluster_run *run = ctx;
    cluster_event ev;
    cluster__event_init(&ev, "vae", vi->epoch, vi->epochs);
    ev.loss = vi->total;
    ev.loss_rec = vi->rec;
    ev.loss_kl = vi->kl_z + vi->kl_y;
    ev.acc = vi->acc, ev.nmi = vi->nmi, ev.ari = vi->ari;
    ev.progress = run->w_pretrain + run->w_cluster * vi->epoch / (vi->epochs > 0 ? vi->epochs : 1);
    return cluster__emit(run, &ev) || cluster__stopped(run);
}

int cluster__fit_vae(cluster_model *m, const float *x, int64_t n, cluster_run *run,
                     dc_err *err)
{
    const cluster_spec *s = &m->spec;
    vae_cfg c;
    vae_cfg_default(&c, m->d, m->k);
    c.latent = s->latent;
    c.epochs = s->vae_epochs;
    c.bce = s->vae_bce;
    c.rec_weight = (float)s->vae_rec_weight;
    c.batch = s->batch;
    c.lr = (float)s->vae_lr;
    c.seed = s->seed;
    c.conv = s->vae_conv;
    if (c.conv) {
        c.h = m->h, c.w = m->w, c.c = m->c;
    } else {
        c.n_hidden = s->n_hidden < VAE_MAX_HIDDEN ? s->n_hidden : VAE_MAX_HIDDEN;
        memcpy(c.hidden, s->hidden, sizeof(int) * (size_t)c.n_hidden);
    }
    int32_t *lab = NULL;
    double inertia = NAN;
    if (m->ae) { /* a pretrained start needs no warm-up */
        c.warmup_epochs = 0;
        c.kl_ramp_epochs = 0;
    }
    int rc = vae_new(&m->vae, &c, err);
    if (rc == 0 && m->ae) {
        if (!(lab = malloc((size_t)n * sizeof *lab))) rc = dc_err_set(err, DC_ENOMEM, "out of memory");
        if (rc == 0) rc = vae_init_from_ae(m->vae, m->ae, x, (size_t)n, s->n_init, s->seed, lab,
                                           &inertia, err);
        if (rc == 0) {
            cluster_event ev;
            cluster__event_init(&ev, "kmeans", s->n_init, s->n_init);
            ev.loss = inertia;
            ev.progress = run->w_pretrain;
            cluster__score(run, lab, &ev);
            if (cluster__emit(run, &ev) || cluster__stopped(run))
                rc = dc_err_set(err, DC_ECANCEL, "stopped after k-means");
        }
        nn_ae_free(m->ae);
        m->ae = NULL;
    }
    free(lab);
    if (rc == 0) rc = vae_train(m->vae, x, (size_t)n, run->labels, on_epoch, run, err);
    if (rc == 0) {
        size_t bytes = (size_t)m->k * m->e * sizeof *m->mu;
        memcpy(m->mu, vae_class_means(m->vae), bytes);
    }
    return rc;
}
