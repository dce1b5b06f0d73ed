/* DEC / IDEC / DCEC self-training: the loop of DEC-keras' DEC.fit, with IDEC's
 * reconstruction term when gamma applies (L = L_rec + gamma * KL). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_internal.h"
#include "dec_math.h"
#include "rng.h"

/* Full pass: z = encoder(x), q = soft assignment, labels = argmax q. */
static int full_assign(cluster_model *m, const float *x, int64_t n, float *z, float *q,
                       int32_t *lab, dc_err *err)
{
    int rc = nn_ae_encode(m->ae, x, (size_t)n, z, err);
    if (rc < 0) return rc;
    dec_soft_assign(q, z, m->mu, n, m->e, m->k, m->spec.alpha);
    dec_argmax(lab, q, n, m->k);
    return 0;
}

int cluster__self_train(cluster_model *m, const float *x, int64_t n, cluster_run *run,
                        const void *resume, size_t resume_len, dc_err *err)
{
    const cluster_spec *s = &m->spec;
    int e = m->e, k = m->k, d = m->d, B = s->batch < n ? s->batch : (int)n;
    int use_rec = s->method == CM_IDEC || s->method == CM_DCEC;
    double gamma = use_rec ? s->gamma : 1.0;
    size_t nopt = use_rec ? m->ae->nparams : m->ae->enc_nparams;
    int rc = 0, updates = 0, total = s->maxiter / s->update_interval + 1;
    nn_optim opt = {0}, opt_mu = {0};
    float *z = malloc((size_t)n * e * sizeof *z), *q = malloc((size_t)n * k * sizeof *q);
    float *p = malloc((size_t)n * k * sizeof *p), *xb = malloc((size_t)B * d * sizeof *xb);
    float *pb = malloc((size_t)B * k * sizeof *pb), *qb = malloc((size_t)B * k * sizeof *qb);
    float *dz = malloc((size_t)B * e * sizeof *dz), *dzr = malloc((size_t)B * e * sizeof *dzr);
    float *dx = malloc((size_t)B * d * sizeof *dx), *dmu = calloc((size_t)k * e, sizeof *dmu);
    int32_t *lab = malloc((size_t)n * sizeof *lab), *lab_last = malloc((size_t)n * sizeof *lab);
    int *perm = malloc((size_t)n * sizeof *perm);
    if (!z || !q || !p || !xb || !pb || !qb || !dz || !dzr || !dx || !dmu || !lab || !lab_last ||
        !perm) {
        rc = dc_err_set(err, DC_ENOMEM, "self-training: out of memory for n=%lld",
                        (long long)n);
        goto out;
    }
    nn_optim_cfg oc = nn_optim_default(s->cluster_opt == OPT_SGD ? NN_OPT_SGD : NN_OPT_ADAM);
    oc.lr = (float)s->cluster_lr;
    oc.momentum = (float)s->cluster_momentum;
    if ((rc = nn_optim_init(&opt, &oc, nopt, err)) < 0 ||
        (rc = nn_optim_init(&opt_mu, &oc, (size_t)k * e, err)) < 0)
        goto out;
    /* Visit the data in one seeded random order, batch after batch, wrapping around. */
    rng r;
    rng_seed(&r, s->seed ^ 0x5eed5eedULL);
    for (int64_t i = 0; i < n; i++) perm[i] = (int)i;
    rng_shuffle(&r, perm, (size_t)n);
    int64_t pos = 0;
    double loss_kl = 0, loss_rec = 0;
    int nb = 0, ite0 = 0;
    if (resume) { /* continue exactly where the checkpoint was taken */
        cluster_ckpt ck;
        if ((rc = cluster__ckpt_peek(resume, resume_len, &ck, err)) < 0 ||
            (rc = cluster__ckpt_restore(m, n, resume, resume_len, &opt, &opt_mu, p, lab_last,
                                        err)) < 0)
            goto out;
        if (ck.pos >= n || ck.iter > s->maxiter) {
            rc = dc_err_set(err, DC_EINVAL, "checkpoint position is outside this run");
            goto out;
        }
        ite0 = ck.iter;
        updates = ck.updates;
        pos = ck.pos;
    }
    for (int ite = ite0; ite <= s->maxiter; ite++) {
        /* A checkpoint taken at an update boundary holds that update's P already. */
        int boundary = ite % s->update_interval == 0 || ite == s->maxiter;
        if (boundary && !(resume && ite == ite0 && ite % s->update_interval == 0)) {
            if ((rc = full_assign(m, x, n, z, q, lab, err)) < 0) goto out;
            dec_target_distribution(p, q, n, k);
            int64_t changed = 0;
            for (int64_t i = 0; i < n; i++) changed += ite > 0 && lab[i] != lab_last[i];
            double delta = ite > 0 ? (double)changed / n : NAN;
            memcpy(lab_last, lab, (size_t)n * sizeof *lab);
            cluster_event ev;
            cluster__event_init(&ev, CP_CLUSTER, updates, total);
            ev.loss_kl = nb ? loss_kl / nb : NAN;
            ev.loss_rec = use_rec && nb ? loss_rec / nb : NAN;
            ev.loss = nb ? (use_rec ? ev.loss_rec + gamma * ev.loss_kl : ev.loss_kl)
                         : dec_kl(p, q, n, k, 1.0 / n);
            ev.label_change = delta;
            ev.progress = run->w_pretrain +
                          run->w_cluster * fmin(1.0, (double)ite / (s->maxiter > 0 ? s->maxiter : 1));
            cluster__score(run, lab, &ev);
            loss_kl = loss_rec = 0;
            nb = 0;
            updates++;
            if (cluster__emit(run, &ev)) {
                rc = dc_err_set(err, DC_ECANCEL, "stopped during clustering");
                goto out;
            }
            if ((ite > 0 && delta < s->tol) || ite == s->maxiter) break;
            cluster_ckpt ck = {.phase = 2, .iter = ite, .updates = updates, .pos = pos,
                               .opt = &opt, .opt_mu = &opt_mu, .p = p, .lab = lab_last};
            if ((rc = cluster__ckpt_maybe(run, m, &ck, ite == 0, err)) < 0) goto out;
        }
        if (cluster__stopped(run)) { /* save where we are, then stop */
            cluster_ckpt ck = {.phase = 2, .iter = ite, .updates = updates, .pos = pos,
                               .opt = &opt, .opt_mu = &opt_mu, .p = p, .lab = lab_last};
            rc = cluster__ckpt_maybe(run, m, &ck, 1, err);
            if (rc == 0 || rc == DC_ECANCEL)
                rc = dc_err_set(err, DC_ECANCEL, "stopped during clustering at batch %d", ite);
            goto out;
        }
        for (int b = 0; b < B; b++) {
            int64_t i = perm[pos];
            memcpy(xb + (size_t)b * d, x + (size_t)i * d, (size_t)d * sizeof *xb);
            memcpy(pb + (size_t)b * k, p + (size_t)i * k, (size_t)k * sizeof *pb);
            pos = pos + 1 < n ? pos + 1 : 0;
        }
        const float *zb = nn_net_forward(m->ae->enc, xb, B);
        if (!zb) {
            rc = dc_err_set(err, DC_EINVAL, "self-training: encoder forward failed");
            goto out;
        }
        dec_soft_assign(qb, zb, m->mu, B, e, k, s->alpha);
        loss_kl += dec_kl(pb, qb, B, k, 1.0 / B);
        memset(dz, 0, (size_t)B * e * sizeof *dz);
        dec_kl_backward(dz, dmu, pb, qb, zb, m->mu, B, e, k, s->alpha, gamma / B);
        if (use_rec) {
            const float *xh = nn_net_forward(m->ae->dec, zb, B);
            loss_rec += nn_mse_loss(dx, xh, xb, (size_t)B * d, 1.0f);
            nn_net_backward(m->ae->dec, dx, dzr, B);
            for (int i = 0; i < B * e; i++) dz[i] += dzr[i];
        }
        nn_net_backward(m->ae->enc, dz, NULL, B);
        if (!isfinite(loss_kl) || !isfinite(loss_rec)) {
            rc = dc_err_set(err, DC_ENUMERIC, "self-training diverged at batch %d (loss not finite)", ite);
            goto out;
        }
        nn_optim_step(&opt, m->ae->params, m->ae->grads);
        nn_optim_step(&opt_mu, m->mu, dmu);
        nb++;
    }
out:
    nn_optim_free(&opt);
    nn_optim_free(&opt_mu);
    free(z), free(q), free(p), free(xb), free(pb), free(qb), free(dz), free(dzr), free(dx);
    free(dmu), free(lab), free(lab_last), free(perm);
    return rc;
}
