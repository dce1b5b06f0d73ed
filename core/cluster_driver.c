/* cluster_driver: see cluster_driver.h. */
#include "cluster_driver.h"

#include <math.h>
#include <stdlib.h>

#include "data.h"

double cluster_drive_eta(cluster_drive *d, double p, double e)
{
    if (!d->resumed) return p > 0 ? e * (1 - p) / p : NAN;
    if (!d->have_eta_ref) { /* this attempt's first event: where its pace starts */
        d->have_eta_ref = 1;
        d->eta_p0 = p;
        d->eta_e0 = e;
        return NAN;
    }
    return p > d->eta_p0 ? (e - d->eta_e0) * (1 - p) / (p - d->eta_p0) : NAN;
}

/* cluster_fit_opts.cb: the event, its clamped progress and the ETA to the caller. */
static int on_event(void *ctx, const cluster_event *ev)
{
    cluster_drive *d = ctx;
    double p = ev->progress;
    if (!(p >= 0)) p = 0;
    if (p > 1) p = 1;
    d->last = *ev;
    d->have_last = 1;
    double eta = cluster_drive_eta(d, p, ev->elapsed_s);
    return d->progress ? d->progress(d->ctx, ev, p, eta) : 0;
}

/* The model's labels (with keep_qz q and z too, from the same predict) and scores on
 * its training set. */
static int score(cluster_drive *d, const cluster_model *m, dc_err *err)
{
    const dataset *ds = d->ds;
    size_t n = (size_t)(ds->n > 0 ? ds->n : 1), k = (size_t)cluster_model_k(m);
    int want_z = d->keep_qz && cluster_model_spec(m)->method != CM_KMEANS;
    d->train = (metrics_scores){NAN, NAN, NAN};
    d->labels = malloc(sizeof *d->labels * n);
    if (d->keep_qz) d->q = malloc(sizeof *d->q * n * k);
    if (want_z) d->z = malloc(sizeof *d->z * n * (size_t)cluster_model_embed(m));
    if (!d->labels || (d->keep_qz && !d->q) || (want_z && !d->z))
        return dc_err_set(err, DC_ENOMEM, "out of memory");
    int rc = cluster_predict(m, ds->x, ds->n, d->q, d->labels, d->z, err);
    if (rc == 0 && ds->labels)
        metrics_all((const int *)d->labels, (const int *)ds->labels, (size_t)ds->n, &d->train,
                    NULL);
    return rc;
}

int cluster_drive_run(cluster_drive *d, cluster_model **out, dc_err *err)
{
    void *ck = NULL;
    size_t cklen = 0;
    int rc = 0;
    *out = NULL;
    if (d->store && d->store->load && (rc = d->store->load(d->store->ctx, &ck, &cklen, err)) < 0)
        return rc;
    d->resumed = rc == 1 && ck;
    cluster_fit_opts o = {.cb = on_event, .ctx = d, .ae_buf = d->ae_buf, .ae_len = d->ae_len,
                          .stop = d->stop, .pretrained = d->pretrained,
                          .pretrained_ctx = d->pretrained_ctx};
    if (d->store) {
        o.ckpt = d->store->save;
        o.ckpt_ctx = d->store->ctx;
        o.ckpt_every_s = d->ckpt_every_s;
        o.resume = d->resumed ? ck : NULL;
        o.resume_len = d->resumed ? cklen : 0;
    }
    rc = cluster_fit_ex(out, d->spec, d->ds, &o, err);
    free(ck);
    if (rc == 0 && (rc = score(d, *out, err)) < 0) {
        cluster_model_free(*out);
        *out = NULL;
    }
    return rc;
}

void cluster_drive_free(cluster_drive *d)
{
    free(d->labels);
    free(d->q);
    free(d->z);
    d->labels = NULL;
    d->q = d->z = NULL;
}
