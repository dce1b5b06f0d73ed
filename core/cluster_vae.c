/* cluster_vae: the `vae` method behind cluster.h: spec -> vae_cfg, epochs -> events.
 * With a pretrained autoencoder in m->ae (the dense recipe) the vae starts from it and
 * k-means on its codes (vae_init_from_ae), then the autoencoder is dropped. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_internal.h"

typedef struct vae_ctx {
    cluster_run *run;
    cluster_model *m;
    dc_err *err;
    int ckpt_rc;
    int mid; /* stopped by the stop flag, before a batch */
} vae_ctx;

static int stop_now(void *ctx)
{
    vae_ctx *vc = ctx;
    return vc->mid = cluster__stopped(vc->run);
}

static int on_epoch(void *ctx, const vae_epoch_info *vi)
{
    vae_ctx *vc = ctx;
    cluster_run *run = vc->run;
    cluster_event ev;
    cluster__event_init(&ev, CP_VAE, vi->epoch, vi->epochs);
    ev.loss = vi->total;
    ev.loss_rec = vi->rec;
    ev.loss_kl = vi->kl_z + vi->kl_y;
    ev.acc = vi->acc, ev.nmi = vi->nmi, ev.ari = vi->ari;
    ev.progress = run->w_pretrain + run->w_cluster * vi->epoch / (vi->epochs > 0 ? vi->epochs : 1);
    if (cluster__emit(run, &ev)) return 1;
    /* an epoch boundary: the state to continue from (a stop is seen before the next
       batch, by stop_now) */
    cluster_ckpt ck = {.phase = 3, .iter = vae_epochs_done(vc->m->vae)};
    vc->ckpt_rc = cluster__ckpt_maybe(run, vc->m, &ck, 0, vc->err);
    return vc->ckpt_rc != 0;
}

int cluster__fit_vae(cluster_model *m, const float *x, int64_t n, cluster_run *run,
                     int pretrained, const void *resume, size_t resume_len, dc_err *err)
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
    if (pretrained) { /* a pretrained start needs no warm-up */
        c.warmup_epochs = 0;
        c.kl_ramp_epochs = 0;
    }
    int rc = vae_new(&m->vae, &c, err);
    if (rc == 0 && resume) {
        rc = cluster__ckpt_restore(m, n, resume, resume_len, NULL, NULL, NULL, NULL, err);
    } else if (rc == 0 && pretrained) {
        if (!m->ae) return dc_err_set(err, DC_EINVAL, "vae: no pretrained autoencoder");
        if (!(lab = malloc((size_t)n * sizeof *lab))) rc = dc_err_set(err, DC_ENOMEM, "out of memory");
        if (rc == 0) rc = vae_init_from_ae(m->vae, m->ae, x, (size_t)n, s->n_init, s->seed, lab,
                                           &inertia, err);
        if (rc == 0) {
            cluster_event ev;
            cluster__event_init(&ev, CP_KMEANS, s->n_init, s->n_init);
            ev.loss = inertia;
            ev.progress = run->w_pretrain;
            cluster__score(run, lab, &ev);
            if (cluster__emit(run, &ev) || cluster__stopped(run))
                rc = dc_err_set(err, DC_ECANCEL, "stopped after k-means");
        }
    }
    free(lab);
    nn_ae_free(m->ae); /* not needed once the vae has started */
    m->ae = NULL;
    vae_ctx vc = {run, m, err, 0, 0};
    if (rc == 0) {
        vae_set_stop(m->vae, stop_now, &vc);
        rc = vae_train(m->vae, x, (size_t)n, run->labels, on_epoch, &vc, err);
        vae_set_stop(m->vae, NULL, NULL);
    }
    if (rc == DC_ECANCEL && vc.mid) { /* the state to continue from, maybe mid-epoch */
        cluster_ckpt ck = {.phase = 3, .iter = vae_epochs_done(m->vae)};
        dc_err ce = {0};
        vc.ckpt_rc = cluster__ckpt_maybe(run, m, &ck, 1, &ce);
        if (vc.ckpt_rc < 0 && vc.ckpt_rc != DC_ECANCEL && err) *err = ce;
    }
    if (rc == DC_ECANCEL && vc.ckpt_rc < 0) rc = vc.ckpt_rc; /* the checkpoint's own error */
    if (rc == 0) {
        size_t bytes = (size_t)m->k * m->e * sizeof *m->mu;
        memcpy(m->mu, vae_class_means(m->vae), bytes);
    }
    return rc;
}
