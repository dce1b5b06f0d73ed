/* cluster: method dispatch, model, prediction and serialisation (see cluster.h). */
#include "cluster.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_cost.h"
#include "cluster_internal.h"
#include "cluster_opts.h"
#include "data.h"
#include "dc_blas.h"
#include "dc_size.h"
#include "dc_time.h"
#include "dec_math.h"
#include "kmeans.h"
#include "metrics.h"
#include "nn.h"

_Static_assert((int)INIT_GLOROT == (int)NN_INIT_GLOROT_UNIFORM &&
                   (int)INIT_VARSCALE == (int)NN_INIT_VARSCALE,
               "cluster.h's INIT_* mirror nn.h's");

const char *cluster_method_name(cluster_method m)
{
    return m >= 0 && m < CM_COUNT ? cluster_method_names[m] : "unknown";
}

int cluster_method_parse(const char *name)
{
    for (int i = 0; i < CM_COUNT; i++)
        if (name && strcmp(name, cluster_method_names[i]) == 0) return i;
    return -1;
}

const char *cluster_phase_name(cluster_phase p)
{
    static const char *const names[CP_COUNT] = {
#define CLUSTER_PHASE_NAME_(id, name) name,
        CLUSTER_PHASES(CLUSTER_PHASE_NAME_)
#undef CLUSTER_PHASE_NAME_
    };
    return p >= 0 && p < CP_COUNT ? names[p] : "unknown";
}

/* The rows of cluster_opts.def: each option's default, or its method's own. */
void cluster_spec_default(cluster_spec *s, cluster_method m, int k)
{
    memset(s, 0, sizeof *s);
    s->method = m;
    s->k = k;
    cluster_opts_set_defaults(s, (int)m);
}

/* Smallest and largest value of ds->x. */
static void value_range(const dataset *ds, float *lo, float *hi)
{
    float a = ds->n * ds->d > 0 ? ds->x[0] : 0, b = a;
    for (int64_t i = 0; i < ds->n * ds->d; i++)
        a = ds->x[i] < a ? ds->x[i] : a, b = ds->x[i] > b ? ds->x[i] : b;
    *lo = a, *hi = b;
}

/* Resolves OPT_AUTO, lr 0 and INIT_AUTO of the pretraining recipe (cluster.h). */
static void resolve_pretrain(cluster_spec *s, const dataset *ds)
{
    if (s->pretrain_opt == OPT_AUTO) {
        float lo = -1, hi = -1;
        double steps = ceil((double)ds->n / s->batch) * s->pretrain_epochs;
        if (s->method != CM_DCEC && s->method != CM_KMEANS && steps >= CLUSTER_SGD_MIN_STEPS)
            value_range(ds, &lo, &hi);
        s->pretrain_opt = lo >= 0 && hi <= 1 ? OPT_SGD : OPT_ADAM;
    }
    if (s->pretrain_lr <= 0) s->pretrain_lr = s->pretrain_opt == OPT_SGD ? 1.0 : 1e-3;
    if (s->pretrain_init == INIT_AUTO)
        s->pretrain_init = s->pretrain_opt == OPT_SGD ? INIT_VARSCALE : INIT_GLOROT;
}

/* Records the option to blame in *opt and sets err: the value of a failed check. */
#define FAIL(id, ...) (*opt = (id), dc_err_set(err, DC_EINVAL, __VA_ARGS__))

/* Checks against the dataset: what fits it, and what the methods need of it. */
static int check_data(const cluster_spec *s, const dataset *ds, int *opt, dc_err *err)
{
    if (ds->n < s->k)
        return FAIL(COPT_K, "k must be at most the number of samples (%lld), got %d",
                    (long long)ds->n, s->k);
    if (s->method == CM_DCEC && (ds->h < 8 || ds->w < 8))
        return FAIL(COPT_METHOD,
                    "dcec needs image data (h, w >= 8); this dataset has no image shape");
    if (s->method == CM_VAE && s->vae_conv && (ds->h < 4 || ds->w < 4))
        return FAIL(COPT_VAE_CONV, "a convolutional vae needs image data");
    if (s->method == CM_VAE && ds->x) { /* its decoder ends in a sigmoid */
        float lo, hi;
        value_range(ds, &lo, &hi);
        if (lo < 0 || hi > 1)
            return FAIL(-1, "the vae method models values in [0, 1]; this dataset spans "
                        "[%g, %g]: rescale it or choose another method", lo, hi);
    }
    return 0;
}

/* n2d's manifold against the data; *done when the rest does not apply (no autoencoder). */
static int check_n2d(const cluster_spec *s, const dataset *ds, int *done, int *opt, dc_err *err)
{
    int cd = s->n_hidden > 0 ? s->hidden[s->n_hidden - 1] : ds ? ds->d : 0;
    *done = 0;
    if (ds && ds->n > 0 && s->manifold_neighbors > ds->n)
        return FAIL(COPT_MANIFOLD_NEIGHBORS, "manifold_neighbors must be at most the number "
                    "of samples (%lld), got %d", (long long)ds->n, s->manifold_neighbors);
    if (s->manifold_init == MANIFOLD_INIT_PCA && cd > 0 && s->manifold_components > cd)
        return FAIL(COPT_MANIFOLD_COMPONENTS, "manifold_components must be at most the code "
                    "size (%d) with the pca init, got %d", cd, s->manifold_components);
    if (s->manifold_init == MANIFOLD_INIT_SPECTRAL && ds && ds->n > 0 &&
        s->manifold_components > ds->n - 2)
        return FAIL(COPT_MANIFOLD_COMPONENTS, "manifold_components must be at most samples - 2 "
                    "(%lld) with the spectral init, got %d", (long long)ds->n - 2,
                    s->manifold_components);
    if (ds && ds->n > INT32_MAX) return FAIL(-1, "n2d takes at most %d samples", INT32_MAX);
    *done = s->n_hidden == 0;
    return 0;
}

/* The sizes the run would allocate on ds: the dense autoencoder's parameters and the
 * n x k soft assignments. */
static int check_sizes(const cluster_spec *s, const dataset *ds, int *opt, dc_err *err)
{
    if (ds->d > 0 && s->n_hidden > 0 &&
        !(s->method == CM_DCEC || (s->method == CM_VAE && s->vae_conv))) {
        /* dense layers d -> hidden[0] -> ... -> hidden[last], and the decoder back */
        size_t params = 0, w;
        int64_t in = ds->d;
        int ok = 1;
        for (int i = 0; ok && i < s->n_hidden; i++) {
            ok = dc_mul_size(in, s->hidden[i], &w) == 0 && dc_add_size(w, (size_t)s->hidden[i], &w) == 0 &&
                 dc_mul_size((int64_t)w, 2, &w) == 0 && dc_add_size(params, w, &params) == 0;
            in = s->hidden[i];
        }
        if (!ok || params > CLUSTER_MAX_PARAMS)
            return FAIL(COPT_HIDDEN, "hidden widths like these on %d features make an "
                        "autoencoder of more than %d parameters; use narrower layers", ds->d,
                        CLUSTER_MAX_PARAMS);
    }
    size_t t;
    if (ds->n > 0 && (dc_mul_size(ds->n, s->k, &t) < 0 || t > CLUSTER_MAX_TARGETS))
        return FAIL(COPT_K, "k x samples: %d clusters x %lld samples is over the limit of %d "
                    "soft assignments", s->k, (long long)ds->n, CLUSTER_MAX_TARGETS);
    return 0;
}

int cluster_spec_check_ex(const cluster_spec *s, const dataset *ds, int *opt, dc_err *err)
{
    int rc, done, unused;
    if (!opt) opt = &unused;
    *opt = -1;
    for (int i = 0; i < COPT_COUNT; i++) /* every row's range (derived ones below) */
        if (!(cluster_opts[i].flags & COPT_F_DERIVED) &&
            (rc = cluster_opt_check(s, (cluster_opt_id)i, err)) < 0)
            return *opt = i, rc;
    if (ds && (rc = check_data(s, ds, opt, err)) < 0) return rc;
    if (s->method == CM_KMEANS) return 0;
    if (s->method == CM_N2D && ((rc = check_n2d(s, ds, &done, opt, err)) < 0 || done))
        return rc < 0 || !ds ? rc : check_sizes(s, ds, opt, err);
    if ((rc = cluster_opt_check(s, COPT_EMBED_DIM, err)) < 0) return *opt = COPT_EMBED_DIM, rc;
    if (ds && (rc = check_sizes(s, ds, opt, err)) < 0) return rc;
    if (s->method == CM_VAE && s->vae_conv && s->pretrain_epochs > 0)
        return FAIL(COPT_VAE_CONV,
                    "a convolutional vae starts from scratch: pretrain_epochs must be 0 (a "
                    "pretrained start is for the dense vae), got %d", s->pretrain_epochs);
    return 0;
}
#undef FAIL

int cluster_spec_check(const cluster_spec *s, const dataset *ds, dc_err *err)
{
    return cluster_spec_check_ex(s, ds, NULL, err);
}

void cluster__event_init(cluster_event *ev, cluster_phase phase, int iter, int total)
{
    memset(ev, 0, sizeof *ev);
    ev->phase = phase;
    ev->iter = iter;
    ev->total = total;
    ev->loss = ev->loss_rec = ev->loss_kl = ev->label_change = NAN;
    ev->acc = ev->nmi = ev->ari = NAN;
}

int cluster__emit(cluster_run *run, cluster_event *ev)
{
    ev->elapsed_s = dc_now_s() - run->t0;
    return run->cb ? run->cb(run->ctx, ev) : 0;
}

void cluster__score(cluster_run *run, const int32_t *pred, cluster_event *ev)
{
    metrics_scores sc;
    if (run->labels && metrics_all((const int *)pred, (const int *)run->labels, (size_t)run->n,
                                   &sc, NULL) == 0) {
        ev->acc = sc.acc;
        ev->nmi = sc.nmi;
        ev->ari = sc.ari;
    }
}

/* Lloyd iterations: a "kmeans" event at most once a second (progress, cancellation). */
static int kmeans_cb(void *user, int init, int iter, double inertia)
{
    cluster_run *run = user;
    double now = dc_now_s();
    if (cluster__stopped(run)) return 1;
    if (now - run->last_emit < 1.0) return 0;
    run->last_emit = now;
    cluster_event ev;
    cluster__event_init(&ev, CP_KMEANS, init + 1, run->n_init);
    ev.loss = inertia;
    /* raw k-means is the whole run; after pretraining it is a short step */
    ev.progress = run->kmeans_only ? (double)init / run->n_init : run->w_pretrain;
    (void)iter;
    return cluster__emit(run, &ev);
}

int cluster__ckpt_due(const cluster_run *run, int force)
{
    return run->ckpt && (force || (run->ckpt_every_s > 0 &&
                                   dc_now_s() - run->last_ckpt >= run->ckpt_every_s));
}

int cluster__ckpt_maybe(cluster_run *run, cluster_model *m, const cluster_ckpt *ck, int force,
                        dc_err *err)
{
    if (!cluster__ckpt_due(run, force)) return 0;
    void *buf = NULL;
    size_t len = 0;
    int rc = cluster__ckpt_save(m, run->n, ck, &buf, &len, err);
    if (rc == 0 && run->ckpt(run->ckpt_ctx, buf, len))
        rc = dc_err_set(err, DC_ECANCEL, "stopped at a checkpoint");
    free(buf);
    run->last_ckpt = dc_now_s();
    return rc;
}

typedef struct pre_ctx {
    cluster_run *run;
    cluster_model *m;
    nn_optim *opt;
    int total;
    dc_err *err;
    int ckpt_rc;
} pre_ctx;

static int pretrain_cb(void *ctx, int epoch, double loss, double elapsed)
{
    pre_ctx *pc = ctx;
    cluster_event ev;
    cluster__event_init(&ev, CP_PRETRAIN, epoch, pc->total);
    ev.loss = ev.loss_rec = loss;
    ev.progress = pc->run->w_pretrain * epoch / (pc->total > 0 ? pc->total : 1);
    if (cluster__emit(pc->run, &ev)) return 1;
    cluster_ckpt ck = {.phase = 1, .iter = epoch, .opt = pc->opt};
    pc->ckpt_rc = cluster__ckpt_maybe(pc->run, pc->m, &ck, epoch == pc->total, pc->err);
    return pc->ckpt_rc != 0;
}

/* k-means on z (n, e) -> m->mu, labels into lab. Emits one "kmeans" event. */
static int fit_centroids(cluster_model *m, const float *z, int64_t n, cluster_run *run,
                         int32_t *lab, dc_err *err)
{
    kmeans_opts ko;
    kmeans_result kr = {0};
    kmeans_opts_default(&ko);
    ko.n_init = m->spec.n_init;
    ko.max_iter = m->spec.kmeans_max_iter;
    ko.tol = m->spec.kmeans_tol;
    ko.seed = m->spec.seed;
    ko.progress = kmeans_cb;
    ko.progress_user = run;
    run->n_init = m->spec.n_init;
    run->last_emit = dc_now_s();
    /* k-means is fastest as row threads each running single-threaded sgemm (k is small,
       so the GEMMs are narrow): as many row threads as BLAS threads, whose GEMMs then
       stay on their own thread (kmeans.h); OpenBLAS' process-wide setting, which other
       workers train with, is read, never changed. */
    int bt = dc_blas_threads();
    ko.n_threads = bt > 1 ? bt : 1;
    int rc = kmeans_fit(z, (size_t)n, m->e, m->k, &ko, &kr, err);
    if (rc < 0) return rc;
    memcpy(m->mu, kr.centroids, (size_t)m->k * m->e * sizeof *m->mu);
    for (int64_t i = 0; i < n; i++) lab[i] = kr.labels[i];
    cluster_event ev;
    cluster__event_init(&ev, CP_KMEANS, m->spec.n_init, m->spec.n_init);
    ev.loss = kr.inertia;
    ev.progress = run->w_pretrain;
    cluster__score(run, lab, &ev);
    kmeans_result_free(&kr);
    if (cluster__emit(run, &ev)) return dc_err_set(err, DC_ECANCEL, "stopped after k-means");
    return 0;
}

static int build_ae(cluster_model *m, dc_err *err)
{
    const cluster_spec *s = &m->spec;
    int B = s->batch;
    if (s->method == CM_DCEC)
        return nn_ae_new_conv(&m->ae, m->h, m->w, m->c, NULL, s->embed_dim,
                              (nn_init)s->pretrain_init, s->seed, B, err);
    int dims[CLUSTER_MAX_DIMS + 2], nd = 1;
    dims[0] = m->d;
    for (int i = 0; i < s->n_hidden; i++) dims[nd++] = s->hidden[i];
    if (s->method == CM_VAE) dims[nd++] = s->latent; /* hidden[] are the vae's hidden layers */
    return nn_ae_new_fc(&m->ae, dims, nd, NN_RELU, 0, (nn_init)s->pretrain_init, s->seed, B,
                        err);
}

static int alloc_mu(cluster_model *m, dc_err *err)
{
    if (!(m->mu = malloc((size_t)m->k * m->e * sizeof *m->mu)))
        return dc_err_set(err, DC_ENOMEM, "out of memory");
    return 0;
}

/* kmeans: Lloyd on the raw data, the whole run. */
static int fit_kmeans(cluster_model *m, const dataset *ds, cluster_run *run, int32_t *lab,
                      dc_err *err)
{
    int rc;
    m->e = m->d;
    if ((rc = alloc_mu(m, err)) < 0) return rc;
    run->w_pretrain = 1.0;
    run->kmeans_only = 1;
    return fit_centroids(m, ds->x, ds->n, run, lab, err);
}

/* n2d with no autoencoder: the manifold on the raw features. */
static int fit_raw_n2d(cluster_model *m, const dataset *ds, cluster_run *run,
                       const cluster_fit_opts *o, const cluster_ckpt *rk, dc_err *err)
{
    if ((o->resume && rk->phase != 4) || o->ae_buf)
        return dc_err_set(err, DC_EINVAL, "a raw n2d (no autoencoder) takes neither a "
                          "pretrained autoencoder nor a checkpoint other than its layout's "
                          "(phase %d)", rk->phase);
    m->spec.embed_dim = m->d;
    run->w_pretrain = 0.0;
    run->w_cluster = 0.85;
    return cluster__fit_n2d(m, ds->x, ds->n, m->d, run, o->resume, o->resume_len, err);
}

/* The vae in one step from scratch (no pretraining). */
static int fit_vae_scratch(cluster_model *m, const dataset *ds, cluster_run *run,
                           const cluster_fit_opts *o, const cluster_ckpt *rk, dc_err *err)
{
    int rc;
    m->e = m->spec.latent;
    m->spec.embed_dim = m->e;
    run->w_pretrain = 0.0;
    run->w_cluster = 1.0;
    if ((rc = alloc_mu(m, err)) < 0) return rc;
    if (o->resume && rk->phase != 3)
        return dc_err_set(err, DC_EINVAL, "checkpoint is not from vae training (phase %d)",
                          rk->phase);
    return cluster__fit_vae(m, ds->x, ds->n, run, 0, o->resume, o->resume_len, err);
}

/* The shares of the whole run's progress of pretraining and what follows it, in
 * proportion to their estimated costs (cluster_cost.h), so that the ETA counts the stages
 * still to come. k-means on the codes is counted with pretraining (its events sit at the
 * end of it). */
static void set_weights(cluster_run *run, const cluster_spec *s, const dataset *ds,
                        const void *ae_buf)
{
    cluster_cost c;
    cluster_cost_estimate(s, ds->n, ds->d, ae_buf != NULL, &c);
    double pre = c.pretrain_s + c.init_s, rest = c.total_s - pre;
    run->w_pretrain = c.total_s > 0 ? pre / c.total_s : 1.0;
    run->w_cluster = c.total_s > 0 ? rest / c.total_s : 0.0;
    if (s->method == CM_N2D) /* the manifold's share; the mixture has the rest */
        run->w_cluster = c.total_s > 0 ? c.manifold_s / c.total_s : 0.0;
}

/* The autoencoder: the pretrained one given (its shape must fit), or a new one; and the
 * centroids. */
static int setup_ae(cluster_model *m, const cluster_fit_opts *o, dc_err *err)
{
    int rc;
    if (o->ae_buf) {
        if ((rc = nn_ae_load(&m->ae, o->ae_buf, o->ae_len, m->spec.batch, err)) < 0) return rc;
        if (m->ae->in_dim != (size_t)m->d || m->ae->emb_dim != m->e)
            return dc_err_set(err, DC_EINVAL,
                              "pretrained autoencoder is %zu -> %d, the spec needs %d -> %d",
                              m->ae->in_dim, m->ae->emb_dim, m->d, m->e);
    } else if ((rc = build_ae(m, err)) < 0) {
        return rc;
    }
    return alloc_mu(m, err);
}

/* The error of a pretraining that returned rc (not 0): a divergence explained, the
 * checkpoint's own error, or a stop mid-epoch saved as a checkpoint. */
static int pretrain_failed(int rc, cluster_model *m, cluster_run *run, const pre_ctx *pc,
                           struct nn_train_pos at, dc_err *err)
{
    const cluster_spec *s = &m->spec;
    if (rc == DC_ENUMERIC) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err ? err->msg : "");
        dc_err_set(err, rc, "%s: pretraining with %s lr %g diverged; lower the "
                   "pretraining learning rate or choose another optimizer", why,
                   s->pretrain_opt == OPT_SGD ? "sgd" : "adam", s->pretrain_lr);
    } else if (pc->ckpt_rc < 0) {
        rc = pc->ckpt_rc; /* the checkpoint's own error, already in err */
    } else if (rc == DC_ECANCEL && at.epoch > 0) { /* stopped mid-epoch: save it */
        cluster_ckpt ck = {.phase = 1, .iter = at.epoch - 1, .pos = at.batch, .opt = pc->opt};
        int crc = cluster__ckpt_maybe(run, m, &ck, 1, err);
        rc = crc < 0 && crc != DC_ECANCEL ? crc : DC_ECANCEL;
        if (rc == DC_ECANCEL) dc_err_set(err, DC_ECANCEL, "stopped during pretraining epoch %d", at.epoch);
    }
    return rc;
}

/* Autoencoder pretraining on ds, from a phase-1 checkpoint when resuming. */
static int pretrain(cluster_model *m, const dataset *ds, cluster_run *run,
                    const cluster_fit_opts *o, const cluster_ckpt *rk, dc_err *err)
{
    const cluster_spec *s = &m->spec;
    nn_optim opt = {0};
    nn_train_cfg tc = nn_train_default();
    pre_ctx pc = {run, m, &opt, s->pretrain_epochs, err, 0};
    struct nn_train_pos at = {0, 0};
    int rc;
    tc.epochs = s->pretrain_epochs;
    tc.batch = s->batch;
    tc.opt = nn_optim_default(s->pretrain_opt == OPT_SGD ? NN_OPT_SGD : NN_OPT_ADAM);
    tc.opt.lr = (float)s->pretrain_lr;
    tc.opt.momentum = (float)s->pretrain_momentum;
    tc.seed = s->seed;
    tc.cb = pretrain_cb;
    tc.ctx = &pc;
    tc.state = &opt;
    tc.stop = o->stop;
    tc.stopped_at = &at;
    if (s->pretrain_noise > 0) { /* denoising: corrupted inputs stay in the data's range */
        size_t len = (size_t)ds->n * (size_t)ds->d;
        tc.noise = (float)s->pretrain_noise;
        tc.clip_lo = tc.clip_hi = len ? ds->x[0] : 0;
        for (size_t i = 1; i < len; i++) {
            if (ds->x[i] < tc.clip_lo) tc.clip_lo = ds->x[i];
            if (ds->x[i] > tc.clip_hi) tc.clip_hi = ds->x[i];
        }
    }
    if ((rc = nn_optim_init(&opt, &tc.opt, m->ae->nparams, err)) < 0) goto out;
    if (o->resume) {
        if ((rc = cluster__ckpt_restore(m, ds->n, o->resume, o->resume_len, &opt, NULL, NULL,
                                        NULL, err)) < 0)
            goto out;
        tc.start_epoch = rk->iter;
        tc.start_batch = (int)rk->pos;
    }
    if (tc.epochs > tc.start_epoch &&
        (rc = nn_ae_train(m->ae, ds->x, (size_t)ds->n, &tc, NULL, err)) < 0)
        rc = pretrain_failed(rc, m, run, &pc, at, err);
out:
    nn_optim_free(&opt);
    return rc;
}

/* After pretraining: encode ds, then n2d's manifold and mixture, or k-means on the codes
 * and (DEC/IDEC/DCEC) self-training. */
static int fit_codes(cluster_model *m, const dataset *ds, cluster_run *run,
                     const cluster_fit_opts *o, int n2d_layout, int self, int32_t *lab,
                     dc_err *err)
{
    float *z = malloc((size_t)ds->n * m->e * sizeof *z);
    int rc = z ? nn_ae_encode(m->ae, ds->x, (size_t)ds->n, z, err)
               : dc_err_set(err, DC_ENOMEM, "out of memory");
    if (rc == 0 && m->spec.method == CM_N2D)
        rc = cluster__fit_n2d(m, z, ds->n, m->e, run, n2d_layout ? o->resume : NULL,
                              n2d_layout ? o->resume_len : 0, err);
    else if (rc == 0 && (rc = fit_centroids(m, z, ds->n, run, lab, err)) == 0 && self)
        rc = cluster__self_train(m, ds->x, ds->n, run, NULL, 0, err);
    free(z);
    return rc;
}

/* The pretrained autoencoder to o->pretrained. */
static int hand_ae(const cluster_model *m, const cluster_fit_opts *o, dc_err *err)
{
    void *buf = NULL;
    size_t len = 0;
    int rc = cluster_model_save_ae(m, &buf, &len, err);
    if (rc == 0 && o->pretrained(o->pretrained_ctx, buf, len))
        rc = dc_err_set(err, DC_ECANCEL, "stopped after pretraining");
    free(buf);
    return rc;
}

/* The methods with an autoencoder (or a pretrained vae): from where the checkpoint rk
 * stands (phase 1 pretraining, 2 self-training, 3 vae, 4 n2d layout) or the start. */
static int fit_deep(cluster_model *m, const dataset *ds, cluster_run *run,
                    const cluster_fit_opts *o, const cluster_ckpt *rk, int32_t *lab,
                    dc_err *err)
{
    const cluster_spec *s = &m->spec;
    int vae_pre = s->method == CM_VAE && (s->pretrain_epochs > 0 || o->ae_buf);
    int self = s->method == CM_DEC || s->method == CM_IDEC || s->method == CM_DCEC;
    int phase = o->resume ? rk->phase : 0, rc;
    m->e = s->method == CM_DCEC ? s->embed_dim
           : s->method == CM_VAE ? s->latent : s->hidden[s->n_hidden - 1];
    m->spec.embed_dim = m->e;
    set_weights(run, s, ds, o->ae_buf);
    if (phase == 3 && !vae_pre)
        return dc_err_set(err, DC_EINVAL, "checkpoint phase %d does not belong to method %s",
                          phase, cluster_method_name(s->method));
    if (phase == 3) /* pretraining and k-means are done */
        return (rc = alloc_mu(m, err)) < 0
                   ? rc : cluster__fit_vae(m, ds->x, ds->n, run, 1, o->resume, o->resume_len, err);
    if ((rc = setup_ae(m, o, err)) < 0) return rc;
    if (phase == 2) { /* pretraining and k-means are done */
        if (!self || vae_pre)
            return dc_err_set(err, DC_EINVAL, "checkpoint is from self-training, method %s "
                              "has none", cluster_method_name(s->method));
        return cluster__self_train(m, ds->x, ds->n, run, o->resume, o->resume_len, err);
    }
    int n2d_layout = s->method == CM_N2D && phase == 4;
    if (n2d_layout && (rc = cluster__ckpt_restore(m, ds->n, o->resume, o->resume_len, NULL, NULL,
                                                  NULL, NULL, err)) < 0)
        return rc; /* the autoencoder as the layout's checkpoint holds it: no pretraining */
    if (!o->ae_buf && !n2d_layout && (rc = pretrain(m, ds, run, o, rk, err)) < 0) return rc;
    if (!o->ae_buf && !n2d_layout && o->pretrained && (rc = hand_ae(m, o, err)) < 0) return rc;
    if (vae_pre) return cluster__fit_vae(m, ds->x, ds->n, run, 1, NULL, 0, err);
    return fit_codes(m, ds, run, o, n2d_layout, self, lab, err);
}

/* Which way the method goes, after the spec is checked and resolved. */
static int fit_method(cluster_model *m, const dataset *ds, cluster_run *run,
                      const cluster_fit_opts *o, const cluster_ckpt *rk, int32_t *lab,
                      dc_err *err)
{
    const cluster_spec *s = &m->spec;
    if (s->method == CM_KMEANS) return fit_kmeans(m, ds, run, lab, err);
    if (o->resume && rk->phase == 4 && s->method != CM_N2D)
        return dc_err_set(err, DC_EINVAL, "checkpoint is from an n2d layout, method %s has none",
                          cluster_method_name(s->method));
    if (s->method == CM_N2D && s->n_hidden == 0) return fit_raw_n2d(m, ds, run, o, rk, err);
    if (s->method == CM_VAE && !(s->pretrain_epochs > 0 || o->ae_buf))
        return fit_vae_scratch(m, ds, run, o, rk, err);
    return fit_deep(m, ds, run, o, rk, lab, err);
}

int cluster_fit_ex(cluster_model **out, const cluster_spec *spec, const dataset *ds,
                   const cluster_fit_opts *opts, dc_err *err)
{
    static const cluster_fit_opts none = {0};
    const cluster_fit_opts *o = opts ? opts : &none;
    cluster_spec rs = *spec;
    cluster_ckpt rk = {0};
    *out = NULL;
    int rc = o->resume ? cluster__ckpt_peek(o->resume, o->resume_len, &rk, err) : 0;
    if (rc < 0 || (rc = cluster_spec_check(&rs, ds, err)) < 0) return rc;
    resolve_pretrain(&rs, ds);
    cluster_model *m = calloc(1, sizeof *m);
    int32_t *lab = malloc((size_t)ds->n * sizeof *lab);
    cluster_run run = {.cb = o->cb, .ctx = o->ctx, .t0 = dc_now_s(), .labels = ds->labels,
                       .n = ds->n, .ckpt = o->ckpt, .ckpt_ctx = o->ckpt_ctx,
                       .ckpt_every_s = o->ckpt_every_s, .stop = o->stop};
    run.last_ckpt = run.t0;
    if (!m || !lab) {
        rc = dc_err_set(err, DC_ENOMEM, "out of memory");
    } else {
        m->spec = rs;
        m->d = ds->d;
        m->k = rs.k;
        m->h = ds->h, m->w = ds->w, m->c = ds->c;
        rc = fit_method(m, ds, &run, o, &rk, lab, err);
    }
    free(lab);
    if (rc < 0) cluster_model_free(m);
    else *out = m;
    return rc;
}

int cluster_fit_pretrained(cluster_model **out, const cluster_spec *s, const dataset *ds,
                           const void *ae_buf, size_t ae_len, cluster_cb cb, void *ctx,
                           dc_err *err)
{
    cluster_fit_opts o = {.cb = cb, .ctx = ctx, .ae_buf = ae_buf, .ae_len = ae_len};
    return cluster_fit_ex(out, s, ds, &o, err);
}

int cluster_fit(cluster_model **out, const cluster_spec *s, const dataset *ds, cluster_cb cb,
                void *ctx, dc_err *err)
{
    return cluster_fit_pretrained(out, s, ds, NULL, 0, cb, ctx, err);
}

int cluster_model_k(const cluster_model *m) { return m->k; }

void cluster_model_image_shape(const cluster_model *m, int *h, int *w, int *c)
{
    *h = m->h, *w = m->w, *c = m->c;
}

int cluster_generate(const cluster_model *mc, int cluster, int n, uint64_t seed, float *out,
                     dc_err *err)
{
    cluster_model *m = (cluster_model *)mc; /* the decoder uses its workspace */
    if (!m->vae)
        return dc_err_set(err, DC_EINVAL, "only vae models generate samples (this is %s)",
                          cluster_method_name(m->spec.method));
    if (cluster < 0 || cluster >= m->k || n < 1)
        return dc_err_set(err, DC_EINVAL, "cluster must be in [0, %d) and n >= 1 (got %d, %d)",
                          m->k, cluster, n);
    rng r;
    rng_seed(&r, seed);
    return vae_generate(m->vae, cluster, n, &r, out, err);
}

int cluster_reconstruct(const cluster_model *mc, const float *x, int64_t n, float *out,
                        dc_err *err)
{
    cluster_model *m = (cluster_model *)mc;
    if (m->vae) return vae_reconstruct(m->vae, x, (size_t)n, out, err);
    if (!m->ae)
        return dc_err_set(err, DC_EINVAL, "%s models without an autoencoder do not reconstruct",
                          cluster_method_name(m->spec.method));
    const int64_t chunk = 4096;
    /* the autoencoder's code (n2d's e is the manifold's width) */
    float *z = malloc((size_t)chunk * m->ae->emb_dim * sizeof *z);
    int rc = z ? 0 : dc_err_set(err, DC_ENOMEM, "out of memory");
    for (int64_t s = 0; rc == 0 && s < n; s += chunk) {
        int64_t b = n - s < chunk ? n - s : chunk;
        rc = nn_ae_encode(m->ae, x + s * m->d, (size_t)b, z, err);
        if (rc == 0) rc = nn_ae_decode(m->ae, z, (size_t)b, out + s * m->d, err);
    }
    free(z);
    return rc;
}
int cluster_model_dim(const cluster_model *m) { return m->d; }
int cluster_model_embed(const cluster_model *m) { return m->e; }
const float *cluster_model_centroids(const cluster_model *m) { return m->mu; }
const cluster_spec *cluster_model_spec(const cluster_model *m) { return &m->spec; }

void cluster_model_free(cluster_model *m)
{
    if (!m) return;
    nn_ae_free(m->ae);
    vae_free(m->vae);
    umap_model_free(m->umap);
    free(m->umap);
    gmm_model_free(m->gmm);
    free(m->gmm);
    free(m->mu);
    free(m);
}

int cluster_predict(const cluster_model *mc, const float *x, int64_t n, float *q,
                    int32_t *labels, float *z, dc_err *err)
{
    cluster_model *m = (cluster_model *)mc; /* nets use their workspace */
    int rc = 0;
    const int64_t chunk = 4096;
    float *zb = NULL, *qb = NULL;
    for (int64_t i = 0; i < n * m->d; i++)
        if (!isfinite(x[i]))
            return dc_err_set(err, DC_EFORMAT, "sample %lld feature %lld is not a finite number",
                              (long long)(i / m->d), (long long)(i % m->d));
    if (m->vae) return vae_predict(m->vae, x, (size_t)n, q, labels, z, err);
    if (m->umap) return cluster__predict_n2d(m, x, n, q, labels, z, err);
    if (m->ae && !(zb = malloc((size_t)chunk * m->e * sizeof *zb))) goto nomem;
    if (!(qb = malloc((size_t)chunk * m->k * sizeof *qb))) goto nomem;
    for (int64_t s = 0; s < n; s += chunk) {
        int64_t b = n - s < chunk ? n - s : chunk;
        const float *xs = x + s * m->d, *zs = xs;
        if (m->ae) {
            if ((rc = nn_ae_encode(m->ae, xs, (size_t)b, zb, err)) < 0) goto out;
            zs = zb;
        }
        if (m->spec.method == CM_KMEANS) {
            /* Raw-space k-means: Student's t kernel on squared distances, alpha 1. */
            dec_soft_assign(qb, zs, m->mu, b, m->e, m->k, 1.0);
        } else {
            dec_soft_assign(qb, zs, m->mu, b, m->e, m->k, m->spec.alpha);
        }
        if (q) memcpy(q + s * m->k, qb, (size_t)b * m->k * sizeof *q);
        if (labels) dec_argmax(labels + s, qb, b, m->k);
        if (z) memcpy(z + s * m->e, zs, (size_t)b * m->e * sizeof *z);
    }
    goto out;
nomem:
    rc = dc_err_set(err, DC_ENOMEM, "out of memory");
out:
    free(zb);
    free(qb);
    return rc;
}
