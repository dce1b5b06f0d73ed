/* cluster_n2d: the n2d method (McAlpine et al. 2019) after its autoencoder: UMAP of the
 * codes (core/umap.h), then a full-covariance Gaussian mixture on the manifold
 * (core/gmm.h); q = the mixture's responsibilities, labels = their argmax. Prediction
 * places new codes with umap_transform and takes the mixture's responsibilities there. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_internal.h"
#include "dc_size.h"
#include "dc_time.h"

/* Events of the manifold and mixture phases: at most one per EMIT_S seconds, plus the
 * first and the last of each umap stage (a 500-epoch layout would otherwise be 500 rows
 * in the service). */
#define EMIT_S 0.2

typedef struct n2d_ctx {
    cluster_run *run;
    cluster_model *m;
    int gmm_n_init, gmm_max_iter;
    int stage;        /* the last umap stage reported */
    long last_done;   /* its done count */
    double last_emit;
    int ckpt_rc;      /* a layout checkpoint's own error (or DC_ECANCEL from the sink) */
    dc_err ckpt_err;
} n2d_ctx;

/* Share of the manifold phase each umap stage ends at (kNN, graph, init, layout). */
static const double stage_end[] = {0, 0.3, 0.35, 1.0, 0, 0.4};

/* One event of a umap stage (done of total); nonzero: the callback asks to stop. */
static int umap_event(n2d_ctx *c, int stage, long done, long total)
{
    cluster_run *run = c->run;
    cluster_phase phase;
    double f;
    double t = total > 0 ? (double)done / total : 1;
    switch (stage) {
    case UMAP_STAGE_KNN: phase = CP_KNN, f = stage_end[UMAP_STAGE_KNN] * t; break;
    case UMAP_STAGE_GRAPH: phase = CP_GRAPH, f = stage_end[UMAP_STAGE_GRAPH]; break;
    case UMAP_STAGE_INIT:
        phase = CP_MANIFOLD_INIT;
        f = stage_end[UMAP_STAGE_GRAPH] + (stage_end[UMAP_STAGE_INIT] - stage_end[UMAP_STAGE_GRAPH]) * t;
        break;
    case UMAP_STAGE_LAYOUT:
        phase = CP_MANIFOLD;
        f = stage_end[UMAP_STAGE_INIT] + (1 - stage_end[UMAP_STAGE_INIT]) * t;
        break;
    default: return 0;
    }
    c->stage = stage;
    c->last_done = done;
    c->last_emit = dc_now_s();
    cluster_event ev;
    cluster__event_init(&ev, phase, (int)(done < 0 ? 0 : done > INT32_MAX ? INT32_MAX : done),
                        (int)(total > INT32_MAX ? INT32_MAX : total));
    ev.progress = run->w_pretrain + run->w_cluster * f;
    return cluster__emit(run, &ev);
}

static int umap_cb(void *user, int stage, long done, long total)
{
    n2d_ctx *c = user;
    if (cluster__stopped(c->run)) return 1;
    if (done < total && stage == c->stage && dc_now_s() - c->last_emit < EMIT_S) return 0;
    return umap_event(c, stage, done, total) || cluster__stopped(c->run); /* a flag raised by
                                                                             the callback */
}

/* After every layout epoch: a phase-4 checkpoint when one is due, at a stop (final) and
 * at the layout's end. Its epoch gets a "manifold" event first if it had none, so that
 * the last event before a checkpoint names the epoch it holds. */
static int layout_cb(void *user, const umap_layout_state *st, int final)
{
    n2d_ctx *c = user;
    cluster_run *run = c->run;
    int force = final || st->epoch == st->n_epochs;
    if (!cluster__ckpt_due(run, force)) return 0;
    int stop = 0;
    if (c->stage != UMAP_STAGE_LAYOUT || c->last_done != st->epoch)
        stop = umap_event(c, UMAP_STAGE_LAYOUT, st->epoch, st->n_epochs);
    cluster_ckpt ck = {.phase = 4, .iter = st->epoch, .layout = st};
    c->ckpt_rc = cluster__ckpt_maybe(run, c->m, &ck, 1, &c->ckpt_err);
    return stop || c->ckpt_rc != 0 || cluster__stopped(run);
}

static int gmm_cb(void *user, int init, int iter, double mean_loglik)
{
    n2d_ctx *c = user;
    cluster_run *run = c->run;
    double now = dc_now_s();
    if (cluster__stopped(run)) return 1;
    if (now - c->last_emit < EMIT_S) return 0;
    c->last_emit = now;
    cluster_event ev;
    cluster__event_init(&ev, CP_MIXTURE, iter, c->gmm_max_iter);
    ev.loss = -mean_loglik;
    double f = (init + fmin(1.0, (double)iter / c->gmm_max_iter)) / c->gmm_n_init;
    ev.progress = run->w_pretrain + run->w_cluster +
                  (1 - run->w_pretrain - run->w_cluster) * fmin(1.0, f);
    return cluster__emit(run, &ev) || cluster__stopped(run);
}

int cluster__fit_n2d(cluster_model *m, const float *codes, int64_t n, int cd, cluster_run *run,
                     const void *resume, size_t resume_len, dc_err *err)
{
    const cluster_spec *s = &m->spec;
    n2d_ctx c = {.run = run, .m = m, .last_emit = dc_now_s(), .last_done = -1};
    umap_layout_state rs = {0};
    umap_opts uo;
    gmm_opts go;
    gmm_result gr = {0};
    int32_t *lab = NULL;
    int rc = 0;
    size_t mu_n;

    umap_opts_default(&uo);
    uo.n_components = s->manifold_components;
    uo.n_neighbors = s->manifold_neighbors;
    uo.min_dist = s->manifold_min_dist;
    uo.n_epochs = s->manifold_epochs;
    uo.init = s->manifold_init == MANIFOLD_INIT_SPECTRAL ? UMAP_INIT_SPECTRAL : UMAP_INIT_PCA;
    uo.seed = s->seed;
    uo.progress = umap_cb;
    uo.progress_user = &c;
    uo.layout_state = run->ckpt ? layout_cb : NULL;
    if (resume) {
        if ((rc = cluster__ckpt_layout(m, n, resume, resume_len, &rs, err)) < 0) goto out;
        uo.resume = &rs;
    }
    if (!(m->umap = calloc(1, sizeof *m->umap)) || !(m->gmm = calloc(1, sizeof *m->gmm)) ||
        !(lab = malloc((size_t)n * sizeof *lab))) {
        rc = dc_err_set(err, DC_ENOMEM, "out of memory");
        goto out;
    }
    rc = umap_fit(codes, (size_t)n, cd, &uo, m->umap, err);
    if (rc == DC_ECANCEL && c.ckpt_rc < 0 && c.ckpt_rc != DC_ECANCEL) {
        rc = c.ckpt_rc; /* the checkpoint's own error */
        if (err) *err = c.ckpt_err;
    } else if (rc == DC_ECANCEL) {
        rc = dc_err_set(err, DC_ECANCEL, "stopped during the manifold (UMAP)");
    }
    if (rc < 0) goto out;
    m->e = uo.n_components;

    gmm_opts_default(&go);
    go.n_init = s->gmm_n_init;
    go.seed = s->seed;
    go.progress = gmm_cb;
    go.progress_user = &c;
    c.gmm_n_init = go.n_init;
    c.gmm_max_iter = go.max_iter;
    rc = gmm_fit(m->umap->embedding, (size_t)n, m->e, m->k, &go, &gr, err);
    if (rc == DC_ECANCEL) rc = dc_err_set(err, DC_ECANCEL, "stopped during the mixture (EM)");
    if (rc < 0) goto out;
    *m->gmm = gr.model; /* taken over */
    memset(&gr.model, 0, sizeof gr.model);
    free(m->mu);
    if (dc_mul_size(m->k, m->e, &mu_n) < 0 || !(m->mu = malloc(mu_n * sizeof *m->mu))) {
        rc = dc_err_set(err, DC_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < mu_n; i++) m->mu[i] = (float)m->gmm->means[i];
    for (int64_t i = 0; i < n; i++) lab[i] = gr.labels[i];

    cluster_event ev;
    cluster__event_init(&ev, CP_MIXTURE, gr.n_iter, go.max_iter);
    ev.loss = -gr.loglik;
    ev.progress = 1.0;
    cluster__score(run, lab, &ev);
    if (cluster__emit(run, &ev)) rc = dc_err_set(err, DC_ECANCEL, "stopped after the mixture");
out:
    gmm_result_free(&gr);
    free(lab);
    free(rs.embedding);
    return rc;
}

int cluster__predict_n2d(cluster_model *m, const float *x, int64_t n, float *q, int32_t *labels,
                         float *z, dc_err *err)
{
    const umap_model *um = m->umap;
    float *codes = NULL, *emb = NULL;
    double *resp = NULL;
    int *lab = NULL;
    size_t nc, ne, nk;
    int rc = 0;
    if (n <= 0) return 0;
    if (dc_mul3_size(n, um->d, sizeof *codes, &nc) < 0 ||
        dc_mul3_size(n, m->e, sizeof *emb, &ne) < 0 ||
        dc_mul3_size(n, m->k, sizeof *resp, &nk) < 0)
        return dc_err_set(err, DC_EINVAL, "%lld samples are too many to predict at once",
                          (long long)n);
    if ((m->ae && !(codes = malloc(nc))) || !(emb = malloc(ne)) || !(resp = malloc(nk)) ||
        !(lab = malloc((size_t)n * sizeof *lab))) {
        rc = dc_err_set(err, DC_ENOMEM, "out of memory predicting %lld samples", (long long)n);
        goto out;
    }
    /* all at once, as the fit encoded its training data */
    if (m->ae && (rc = nn_ae_encode(m->ae, x, (size_t)n, codes, err)) < 0) goto out;
    if ((rc = umap_transform(um, m->ae ? codes : x, (size_t)n, NULL, emb, err)) < 0) goto out;
    if ((rc = gmm_predict(m->gmm, emb, (size_t)n, resp, lab, NULL, err)) < 0) goto out;
    for (int64_t i = 0; q && i < n * m->k; i++) q[i] = (float)resp[i];
    for (int64_t i = 0; labels && i < n; i++) labels[i] = lab[i];
    if (z) memcpy(z, emb, ne);
out:
    free(codes);
    free(emb);
    free(resp);
    free(lab);
    return rc;
}
