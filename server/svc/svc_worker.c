/* svc_worker: the training worker pool. Each thread owns one store connection, claims
 * the oldest queued job (queue.h: a lease it must keep renewing), loads its dataset, runs
 * it through core's run driver (cluster_driver.h: resume, progress and ETA, checkpoints,
 * final scores) and writes what happens back in short transactions: one iterations
 * row plus the job's phase/progress/ETA per progress event, the checkpoint (replaced in
 * place) whenever core hands one over, and at the end the model and final metrics.
 *
 * Every write for the job first checks that the claim still holds (queue_fence, in the
 * same transaction): a worker that lost its lease writes nothing more.
 *
 * The keeper thread (one per process with workers) renews the leases of the running
 * jobs every lease_s / 4 (at most 0.5 s), which also brings cancel requests made on any
 * process; reaps expired leases of any process every second; and on PostgreSQL listens
 * for NOTIFY dc_jobs so that idle workers wake as soon as a job is queued anywhere.
 *
 * Stopping: the progress callback (and the checkpoint hook) return nonzero when the
 * slot's stop flag is set: a cancel (POST /v1/jobs/{id}/cancel here, or seen by the
 * keeper), a lost lease, or shutdown; core then returns DC_ECANCEL and the job ends
 * 'cancelled', or, on shutdown, goes back to 'queued' to resume from its checkpoint, or,
 * with the lease lost, is left to whoever holds it now. */
#include "svc_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster_driver.h"
#include "queue.h"
#include "data.h"
#include "dc_time.h"
#include "metrics.h"

void openblas_set_num_threads(int num_threads); /* OpenBLAS; process-wide */

enum { STOP_NONE = 0, STOP_CANCEL = 1, STOP_SHUTDOWN = 2, STOP_LOST = 3 };

typedef struct job_run {
    svc *s;
    svc_slot *slot;
    store *db;
    char id[JOBSPEC_ID_MAX];
    char dataset[JOBSPEC_ID_MAX];
    char lease[QUEUE_LEASE_MAX]; /* the claim's token: every write checks it */
    int resume;            /* started from a checkpoint */
    cluster_spec spec;
    dataset ds;
    int64_t seq;           /* next iterations.seq */
    double t0, last_ev_t;
    int stop;              /* STOP_* once decided */
    cluster_drive drive;   /* the run: its last event, ETA, final scores */
    double pretrain_s, kmeans_s;
    char study[JOBSPEC_ID_MAX];  /* "" for a plain job */
    char ae_job[JOBSPEC_ID_MAX]; /* the job whose autoencoder it starts from, or "" */
    void *ae;                    /* that autoencoder (svc__study_ae_get) */
    size_t ae_len;
} job_run;

static void bind_num(db_stmt *st, int i, double v)
{
    if (isfinite(v)) db_bind_double(st, i, v);
    else db_bind_null(st, i);
}

/* Runs one prepared-and-bound statement to completion. */
static int step_done(db_conn *db, db_stmt *st, const char *what, dc_err *e)
{
    int rc = db_step(st) == DB_DONE ? 0 : svc__sql_err(db, what, e);
    db_finalize(st);
    return rc;
}

static int should_stop(job_run *r);

/* Inside a write transaction: the claim still holds, or the run stops (STOP_LOST). */
static int fence(job_run *r, dc_err *e)
{
    int rc = queue_fence(r->db, r->id, r->lease, e);
    if (rc == DC_ECONFLICT) atomic_store(&r->slot->lost, 1), atomic_store(&r->slot->stop, 1);
    return rc;
}

static int prep(db_conn *db, const char *sql, db_stmt **st, dc_err *e)
{
    if (db_prepare(db, sql, st) != DB_OK)
        return svc__sql_err(db, sql, e);
    return 0;
}

/* STOP_* the job should obey now. */
static int should_stop(job_run *r)
{
    if (r->stop) return r->stop;
    if (atomic_load(&r->slot->lost)) return r->stop = STOP_LOST;
    if (atomic_load(&r->slot->cancel)) return r->stop = STOP_CANCEL;
    pthread_mutex_lock(&r->s->mu);
    int stopping = r->s->stopping;
    pthread_mutex_unlock(&r->s->mu);
    if (stopping) return r->stop = STOP_SHUTDOWN;
    return r->stop;
}

/* Progress (p clamped, eta from the driver): one iterations row and the job's progress,
 * in one short transaction. */
static int on_event(void *ctx, const cluster_event *ev, double p, double eta)
{
    job_run *r = ctx;
    db_conn *h = store_db(r->db);
    db_stmt *st = NULL;
    dc_err e = {0};
    double t = dc_now_s(), samples = 0;
    int is_epoch = ev->phase == CP_PRETRAIN || ev->phase == CP_VAE;
    /* n2d's UMAP layout epochs go in the epoch column too, but its events are
       rate-limited (not one per epoch): they count no training samples */
    int epoch_col = is_epoch || ev->phase == CP_MANIFOLD;

    if (ev->phase == CP_PRETRAIN) r->pretrain_s = ev->elapsed_s;
    if (ev->phase == CP_KMEANS) r->kmeans_s = ev->elapsed_s;
    if (is_epoch) samples = (double)r->ds.n;
    else if (ev->phase == CP_CLUSTER)
        samples = (double)r->spec.update_interval * r->spec.batch;
    if (samples > 0) {
        double rate = t > r->last_ev_t ? samples / (t - r->last_ev_t) : 0;
        atomic_fetch_add(&r->s->samples_total, (long long)samples);
        pthread_mutex_lock(&r->s->mu);
        r->slot->samples_per_s = rate;
        pthread_mutex_unlock(&r->s->mu);
    }
    r->last_ev_t = t;

    if (store_begin(r->db, &e) < 0 || fence(r, &e) < 0) goto out;
    if (prep(h, "INSERT INTO iterations (job_id, seq, phase, epoch, step, loss, acc, nmi, ari, "
             "label_change, elapsed_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st, &e) < 0)
        goto out;
    db_bind_text(st, 1, r->id);
    db_bind_int64(st, 2, r->seq);
    db_bind_text(st, 3, cluster_phase_name(ev->phase));
    if (epoch_col) db_bind_int(st, 4, ev->iter);
    else db_bind_int(st, 5, ev->iter);
    bind_num(st, 6, ev->loss);
    bind_num(st, 7, ev->acc);
    bind_num(st, 8, ev->nmi);
    bind_num(st, 9, ev->ari);
    bind_num(st, 10, ev->label_change);
    bind_num(st, 11, ev->elapsed_s);
    if (step_done(h, st, "insert iteration", &e) < 0) goto out;
    if (prep(h, "UPDATE jobs SET phase = ?, progress = ?, eta_s = ?, samples_per_s = ?, "
             "updated_at = dc_now() WHERE id = ?", &st, &e) < 0)
        goto out;
    db_bind_text(st, 1, cluster_phase_name(ev->phase));
    db_bind_double(st, 2, p);
    bind_num(st, 3, eta);
    bind_num(st, 4, r->slot->samples_per_s);
    db_bind_text(st, 5, r->id);
    if (step_done(h, st, "update job", &e) < 0) goto out;
    if (store_commit(r->db, &e) < 0) goto out;
    r->seq++;
out:
    if (e.code) {
        store_rollback(r->db);
        fprintf(stderr, "deepclust: job %s: progress not recorded: %s\n", r->id, e.msg);
    }
    return should_stop(r) != STOP_NONE;
}

/* Checkpoint hook: the state replaces the job's previous one. */
static int on_ckpt(void *ctx, const void *state, size_t len)
{
    job_run *r = ctx;
    db_conn *h = store_db(r->db);
    db_stmt *st = NULL;
    dc_err e = {0};

    /* a checkpoint may wait: on a full disk the space is for deletes */
    if (svc__space_ok(r->s, "checkpoint not stored", &e) < 0) goto out;
    if (store_begin(r->db, &e) < 0 || fence(r, &e) < 0) goto out;
    if (prep(h,
             "INSERT INTO checkpoints (job_id, phase, step, state) VALUES (?, ?, ?, ?) "
             "ON CONFLICT (job_id) DO UPDATE SET phase = excluded.phase, "
             "step = excluded.step, state = excluded.state, created_at = dc_now()",
             &st, &e) < 0)
        goto out;
    db_bind_text(st, 1, r->id);
    db_bind_text(st, 2, r->drive.have_last ? cluster_phase_name(r->drive.last.phase)
                                                : "start");
    db_bind_int(st, 3, r->drive.have_last ? r->drive.last.iter : 0);
    db_bind_blob(st, 4, state, (uint64_t)len);
    if (step_done(h, st, "store checkpoint", &e) < 0) goto out;
    store_commit(r->db, &e);
out:
    if (e.code) {
        store_rollback(r->db);
        fprintf(stderr, "deepclust: job %s: checkpoint not stored: %s\n", r->id, e.msg);
    }
    return should_stop(r) != STOP_NONE;
}

/* A study job's pretraining ended: its autoencoder is kept for the seed's other k. */
static int on_pretrained(void *ctx, const void *ae, size_t len)
{
    job_run *r = ctx;
    dc_err e = {0};
    if (svc__study_ae_put(r->db, r->id, r->lease, ae, len, &e) < 0)
        fprintf(stderr, "deepclust: job %s: autoencoder not kept: %s\n", r->id, e.msg);
    pthread_mutex_lock(&r->s->mu);
    pthread_cond_broadcast(&r->s->wake); /* its dependants may be claimed now */
    pthread_mutex_unlock(&r->s->mu);
    return should_stop(r) != STOP_NONE;
}

/* Claims the oldest queued job that can start: 1 claimed (r filled), 0 none, < 0 error.
 * Study jobs whose shared autoencoder failed are settled first. */
static int claim(store *db, svc_slot *slot, job_run *r, char **spec_text, dc_err *e)
{
    queue_claim c;
    char worker[80];
    int rc;

    if ((rc = store_begin(db, e)) < 0) return rc;
    if ((rc = svc__studies_settle(store_db(db), e)) < 0 || (rc = store_commit(db, e)) < 0) {
        store_rollback(db);
        return rc;
    }
    queue_worker_name(worker, sizeof worker, (int)(slot - slot->s->slots));
    if ((rc = queue_claim_next(db, worker, slot->s->cfg.lease_s, &c, e)) <= 0) return rc;
    snprintf(r->id, sizeof r->id, "%s", c.id);
    snprintf(r->dataset, sizeof r->dataset, "%s", c.dataset);
    snprintf(r->study, sizeof r->study, "%s", c.study);
    snprintf(r->ae_job, sizeof r->ae_job, "%s", c.ae_job);
    snprintf(r->lease, sizeof r->lease, "%s", c.lease);
    r->resume = c.resume;
    *spec_text = c.spec; /* ownership passes */
    c.spec = NULL;
    pthread_mutex_lock(&slot->s->mu);
    snprintf(slot->job_id, sizeof slot->job_id, "%s", r->id);
    snprintf(slot->lease, sizeof slot->lease, "%s", r->lease);
    atomic_store(&slot->cancel, 0);
    atomic_store(&slot->lost, 0);
    atomic_store(&slot->stop, slot->s->stopping); /* a shutdown may have begun */
    slot->samples_per_s = 0;
    pthread_mutex_unlock(&slot->s->mu);
    fprintf(stderr, "deepclust: job %s: claimed by %s (attempt %d)\n", r->id, worker,
            c.attempt);
    return 1;
}

/* Loads the dataset's samples (and labels) into r->ds. */
static int load_dataset(job_run *r, dc_err *e)
{
    if (!r->dataset[0]) return dc_err_set(e, DC_EINVAL, "its dataset was deleted");
    return svc__dataset_load(store_db(r->db), r->dataset, DC_EINVAL, &r->ds, e);
}

static int load_checkpoint(job_run *r, void **buf, size_t *len, dc_err *e)
{
    db_stmt *st = NULL;
    int rc;
    *buf = NULL;
    *len = 0;
    if ((rc = prep(store_db(r->db), "SELECT state FROM checkpoints WHERE job_id = ?", &st, e)) < 0)
        return rc;
    db_bind_text(st, 1, r->id);
    if (db_step(st) == DB_ROW && db_column_bytes(st, 0) > 0) {
        *len = (size_t)db_column_bytes(st, 0);
        if ((*buf = malloc(*len))) memcpy(*buf, db_column_blob(st, 0), *len);
        else rc = dc_err_set(e, DC_ENOMEM, "out of memory");
    }
    db_finalize(st);
    return rc;
}

/* The final metrics (new reference): the driver's scores on the training set (when it
 * has labels) and cluster sizes. */
static json_t *final_metrics(job_run *r, cluster_model *m, dc_err *e)
{
    int k = cluster_model_k(m);
    const int32_t *pred = r->drive.labels;
    int64_t *sizes = calloc((size_t)k, sizeof *sizes);
    metrics_scores sc = r->drive.train;
    const cluster_event *last = &r->drive.last;
    json_t *o = NULL, *sz = json_array();

    if (!pred || !sizes || !sz) goto out;
    for (int64_t i = 0; i < r->ds.n; i++)
        if (pred[i] >= 0 && pred[i] < k) sizes[pred[i]]++;
    for (int j = 0; j < k; j++) json_array_append_new(sz, json_integer(sizes[j]));
#define NUM(v) (isfinite(v) ? json_real(v) : json_null())
    o = json_pack("{s:I, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:O}",
                  "n", (json_int_t)r->ds.n, "k", k, "acc", NUM(sc.acc), "nmi", NUM(sc.nmi),
                  "ari", NUM(sc.ari), "seconds", NUM(last->elapsed_s),
                  "pretrain_seconds", NUM(r->pretrain_s), "last_loss", NUM(last->loss),
                  "last_label_change", NUM(last->label_change),
                  "iterations", json_integer(r->seq), "resumed", r->resume, "cluster_sizes", sz);
#undef NUM
    if (o && r->study[0]) /* a study's criteria without labels */
        json_object_set_new(o, "criteria", svc__criteria_json(m, &r->ds, &r->drive.last));
out:
    if (!o && e && !e->code) dc_err_set(e, DC_ENOMEM, "out of memory");
    json_decref(sz);
    free(sizes);
    return o;
}

static json_t *arch_json(const cluster_model *m)
{
    const cluster_spec *s = cluster_model_spec(m);
    json_t *hidden = json_array();
    for (int i = 0; hidden && s->method != CM_KMEANS && i < s->n_hidden; i++)
        json_array_append_new(hidden, json_integer(s->hidden[i]));
    return json_pack("{s:s, s:i, s:i, s:i, s:o}", "method",
                     cluster_method_name((cluster_method)s->method), "k", cluster_model_k(m),
                     "d", cluster_model_dim(m), "embed", cluster_model_embed(m), "hidden", hidden);
}

/* The job succeeded: model, metrics, status and its results (when computed) in one
 * transaction. */
static int finish_ok(job_run *r, cluster_model *m, const svc__results *res, dc_err *e)
{
    db_conn *h = store_db(r->db);
    db_stmt *st = NULL;
    void *buf = NULL;
    size_t len = 0;
    char mid[JOBSPEC_ID_MAX], *arch = NULL, *mtext = NULL;
    json_t *mj = final_metrics(r, m, e), *aj = arch_json(m);
    int rc;

    if (!mj || !aj || !(mtext = json_dumps(mj, JSON_COMPACT)) ||
        !(arch = json_dumps(aj, JSON_COMPACT))) {
        rc = e && e->code ? e->code : dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = cluster_model_save(m, &buf, &len, e)) < 0) goto out;
    svc__new_id(mid, sizeof mid, "mdl_");
    if ((rc = store_begin(r->db, e)) < 0 || (rc = fence(r, e)) < 0) goto out;
    if ((rc = prep(h, "INSERT INTO models (id, job_id, method, n_clusters, d, arch, size_bytes, "
                   "weights) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", &st, e)) < 0)
        goto out;
    db_bind_text(st, 1, mid);
    db_bind_text(st, 2, r->id);
    db_bind_text(st, 3, cluster_method_name((cluster_method)r->spec.method));
    db_bind_int(st, 4, cluster_model_k(m));
    db_bind_int(st, 5, cluster_model_dim(m));
    db_bind_text(st, 6, arch);
    db_bind_int64(st, 7, (int64_t)len);
    db_bind_blob(st, 8, buf, (uint64_t)len);
    if ((rc = step_done(h, st, "store model", e)) < 0) goto out;
    if ((rc = svc__model_preprocess_record(h, mid, r->dataset, e)) < 0) goto out;
    if ((rc = prep(h, "UPDATE jobs SET status = 'succeeded', phase = 'done', progress = 1, "
                   "eta_s = 0, resume = 0, metrics = ?, "
                   "finished_at = dc_now(), "
                   "updated_at = dc_now() WHERE id = ?", &st, e)) < 0)
        goto out;
    db_bind_text(st, 1, mtext);
    db_bind_text(st, 2, r->id);
    if ((rc = step_done(h, st, "finish job", e)) < 0) goto out;
    if (res && (rc = svc__results_insert(h, r->id, res, e)) < 0) goto out;
    if ((rc = prep(h, "DELETE FROM checkpoints WHERE job_id = ?", &st, e)) < 0) goto out;
    db_bind_text(st, 1, r->id);
    if ((rc = step_done(h, st, "finish job", e)) < 0) goto out;
    if ((rc = queue_end(r->db, r->id, r->lease, "succeeded", e)) < 0) goto out;
    rc = store_commit(r->db, e);
out:
    if (rc < 0) store_rollback(r->db);
    json_decref(mj), json_decref(aj);
    free(mtext), free(arch), free(buf);
    return rc;
}

/* Any other end: status (failed, cancelled, queued again) and the reason. */
static int finish_other(job_run *r, const char *status, const char *error, dc_err *e)
{
    db_conn *h = store_db(r->db);
    db_stmt *st = NULL;
    int requeue = strcmp(status, "queued") == 0, rc;

    if ((rc = store_begin(r->db, e)) < 0) return rc;
    if ((rc = fence(r, e)) < 0) goto out;
    if (requeue) {
        /* a clean stop is not a failed attempt; resume when there is a checkpoint */
        rc = prep(h, "UPDATE jobs SET status = 'queued', phase = NULL, eta_s = NULL, "
                  "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, "
                  "resume = CASE WHEN EXISTS (SELECT 1 FROM checkpoints WHERE job_id = ?1) THEN 1 ELSE 0 END, "
                  "progress = CASE WHEN EXISTS (SELECT 1 FROM checkpoints WHERE job_id = ?1) "
                  "THEN progress ELSE 0 END, "
                  "updated_at = dc_now() WHERE id = ?1", &st, e);
    } else {
        rc = prep(h, "UPDATE jobs SET status = ?2, error = ?3, eta_s = NULL, resume = 0, "
                  "finished_at = dc_now(), "
                  "updated_at = dc_now() WHERE id = ?1", &st, e);
        if (rc == 0) {
            db_bind_text(st, 2, status);
            db_bind_text(st, 3, error);
        }
    }
    if (rc < 0) goto out;
    db_bind_text(st, 1, r->id);
    if ((rc = step_done(h, st, "finish job", e)) < 0) goto out;
    if (!requeue) {
        if ((rc = prep(h, "DELETE FROM checkpoints WHERE job_id = ?", &st, e)) < 0) goto out;
        db_bind_text(st, 1, r->id);
        if ((rc = step_done(h, st, "finish job", e)) < 0) goto out;
    }
    if ((rc = queue_end(r->db, r->id, r->lease, requeue ? "requeued" : status, e)) < 0)
        goto out;
    rc = store_commit(r->db, e);
out:
    if (rc < 0) store_rollback(r->db);
    return rc;
}

/* The phase a run starts in, until its first progress event names one. */
static cluster_phase first_phase(const cluster_spec *s)
{
    if (s->method == CM_KMEANS) return CP_KMEANS;
    if (s->method == CM_N2D && s->n_hidden == 0) return CP_KNN; /* raw: the manifold first */
    return s->method == CM_VAE && s->pretrain_epochs == 0 ? CP_VAE : CP_PRETRAIN;
}

static void set_phase(job_run *r, const char *phase);

/* cluster_ckpt_store.load: the job's checkpoint when it is to resume (1), else none (0);
 * then the phase the run starts in. */
static int ckpt_load(void *ctx, void **buf, size_t *len, dc_err *e)
{
    job_run *r = ctx;
    int rc = r->resume ? load_checkpoint(r, buf, len, e) : 0;
    if (rc < 0) return rc;
    if (r->resume && !*buf) r->resume = 0; /* nothing to resume from: start over */
    cluster_phase p0 = first_phase(&r->spec);
    if (r->ae && p0 == CP_PRETRAIN) /* from a study's autoencoder: no pretraining */
        p0 = r->spec.method == CM_N2D ? CP_KNN : r->spec.method == CM_VAE ? CP_VAE : CP_KMEANS;
    set_phase(r, r->resume ? "resuming" : cluster_phase_name(p0));
    return r->resume;
}

/* Records the phase (best effort: progress events will say it again). */
static void set_phase(job_run *r, const char *phase)
{
    db_stmt *st = NULL;
    dc_err e = {0};
    if (prep(store_db(r->db), "UPDATE jobs SET phase = ?, "
             "updated_at = dc_now() WHERE id = ? AND lease_owner = ?", &st, &e) < 0)
        return;
    db_bind_text(st, 1, phase);
    db_bind_text(st, 2, r->id);
    db_bind_text(st, 3, r->lease);
    step_done(store_db(r->db), st, "set phase", &e);
}

/* The job's results (svc_results.c) from the driver's final predictions: 1 computed, 0
 * not (logged; the first request for them computes them then). */
static int compute_results(job_run *r, cluster_model *m, svc__results *res)
{
    dc_err e = {0};
    set_phase(r, "results");
    if (svc__results_compute(m, &r->ds, r->drive.labels, r->drive.q, r->drive.z, r->spec.seed,
                             res, &e) < 0) {
        fprintf(stderr, "deepclust: job %s: results not computed: %s\n", r->id, e.msg);
        return 0;
    }
    fprintf(stderr, "deepclust: job %s: results of %lld samples in %.2f s\n", r->id,
            (long long)r->ds.n, res->seconds);
    return 1;
}

static void run_job(svc *s, svc_slot *slot, store *db, job_run *r, const char *spec_text)
{
    cluster_model *m = NULL;
    char ds_id[JOBSPEC_ID_MAX], reason[700];
    jobspec_error je;
    dc_err e = {0};
    int rc;

    r->s = s, r->slot = slot, r->db = db;
    r->t0 = r->last_ev_t = dc_now_s();
    json_t *spec = json_loads(spec_text, 0, NULL);
    rc = spec ? jobspec_parse(spec, &r->spec, ds_id, NULL, &je) : DC_EINVAL;
    json_decref(spec);
    if (rc < 0) {
        dc_err_set(&e, DC_EINVAL, "stored spec is not valid: %s", spec ? je.msg : "not JSON");
        goto done;
    }
    { /* iterations continue after the rows of earlier attempts */
        db_stmt *st = NULL;
        if (prep(store_db(db), "SELECT COALESCE(MAX(seq) + 1, 0) FROM iterations WHERE job_id = ?",
                 &st, &e) == 0) {
            db_bind_text(st, 1, r->id);
            if (db_step(st) == DB_ROW) r->seq = db_column_int64(st, 0);
            db_finalize(st);
        }
    }
    if ((rc = load_dataset(r, &e)) < 0) goto done;
    if (r->ae_job[0] && (rc = svc__study_ae_get(store_db(db), r->ae_job, &r->ae, &r->ae_len, &e)) < 0)
        goto done;
    cluster_ckpt_store store = {.ctx = r, .load = ckpt_load, .save = on_ckpt};
    r->drive = (cluster_drive){.spec = &r->spec, .ds = &r->ds, .store = &store,
                               .ckpt_every_s = s->cfg.ckpt_every_s, .stop = &r->slot->stop,
                               .progress = on_event, .ctx = r, .keep_qz = 1,
                               .ae_buf = r->ae, .ae_len = r->ae_len,
                               .pretrained = r->study[0] ? on_pretrained : NULL,
                               .pretrained_ctx = r};
    rc = cluster_drive_run(&r->drive, &m, &e);
    if (rc == 0) {
        svc__results res;
        int have = compute_results(r, m, &res);
        rc = finish_ok(r, m, have ? &res : NULL, &e);
        if (rc < 0 && have) { /* the job does not fail for its pictures */
            fprintf(stderr, "deepclust: job %s: stored without its results: %s\n", r->id, e.msg);
            e = (dc_err){0};
            rc = finish_ok(r, m, NULL, &e);
        }
        if (have) svc__results_free(&res);
    }
done:
    if (rc == 0) {
        fprintf(stderr, "deepclust: job %s succeeded\n", r->id);
    } else if (r->stop == STOP_LOST || rc == DC_ECONFLICT || atomic_load(&slot->lost)) {
        /* another worker holds it now (or will): nothing more is ours to write */
        fprintf(stderr, "deepclust: job %s: this worker lost its lease; left to the next "
                "claim (%s)\n", r->id, e.msg[0] ? e.msg : "stopped");
    } else {
        const char *status = "failed";
        if (rc == DC_ECANCEL && r->stop == STOP_SHUTDOWN) status = "queued";
        else if (rc == DC_ECANCEL) status = "cancelled";
        if (r->resume && (rc == DC_EINVAL || rc == DC_EFORMAT))
            snprintf(reason, sizeof reason, "cannot resume from the checkpoint: %s", e.msg);
        else if (rc == DC_ECANCEL)
            snprintf(reason, sizeof reason, "%s", r->stop == STOP_SHUTDOWN ? "stopped by shutdown"
                                                                             : "cancelled");
        else
            snprintf(reason, sizeof reason, "%s", e.msg[0] ? e.msg : dc_err_name(rc));
        dc_err fe = {0};
        if (finish_other(r, status, reason, &fe) < 0)
            fprintf(stderr, "deepclust: job %s: cannot record the end (%s): %s\n", r->id, status,
                    fe.msg);
        fprintf(stderr, "deepclust: job %s %s: %s\n", r->id, status, reason);
    }
    cluster_model_free(m);
    cluster_drive_free(&r->drive);
    dataset_free(&r->ds);
    free(r->ae);
}

static void *worker_main(void *arg)
{
    svc_slot *slot = arg;
    svc *s = slot->s;
    store *db = NULL;
    dc_err e = {0};

    if (svc_store_open(&db, s->db_path, &e) < 0) {
        fprintf(stderr, "deepclust: worker: %s\n", e.msg);
        return NULL;
    }
    for (;;) {
        job_run *r = NULL;
        char *spec_text = NULL;
        int rc;

        pthread_mutex_lock(&s->mu);
        int stopping = s->stopping;
        pthread_mutex_unlock(&s->mu);
        if (stopping) break;
        if (!(r = calloc(1, sizeof *r))) {
            sleep(1);
            continue;
        }
        rc = claim(db, slot, r, &spec_text, &e);
        if (rc > 0) run_job(s, slot, db, r, spec_text);
        else if (rc < 0) fprintf(stderr, "deepclust: worker: %s\n", e.msg);
        pthread_mutex_lock(&s->mu);
        slot->job_id[0] = 0;
        slot->lease[0] = 0;
        slot->samples_per_s = 0;
        if (rc <= 0 && !s->stopping) { /* idle: wait for a job (or poll once a second) */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&s->wake, &s->mu, &ts);
        }
        pthread_mutex_unlock(&s->mu);
        free(spec_text);
        free(r);
    }
    store_close(db);
    return NULL;
}

/* The keeper: renews the leases of this process's running jobs (and hears their
 * cancel requests), reaps expired leases of any process, and wakes idle workers on
 * NOTIFY dc_jobs (PostgreSQL). */
static void *keeper_main(void *arg)
{
    svc *s = arg;
    store *db = NULL;
    dc_err e = {0};
    double every = s->cfg.lease_s / 4 < 0.5 ? s->cfg.lease_s / 4 : 0.5, last_reap = 0;
    int listening = 0;

    for (;;) {
        pthread_mutex_lock(&s->mu);
        int stopping = s->stopping;
        pthread_mutex_unlock(&s->mu);
        if (stopping) break;
        if (!db) { /* (again) after a failure: the database may have restarted */
            if (svc_store_open(&db, s->db_path, &e) < 0) {
                fprintf(stderr, "deepclust: keeper: %s\n", e.msg);
                db_wait_notify(NULL, 1.0);
                continue;
            }
            listening = s->pg && db_exec(store_db(db), "LISTEN dc_jobs") == 0;
        }
        /* renew: one statement per running job */
        for (int i = 0; i < s->nslots; i++) {
            char job[JOBSPEC_ID_MAX], lease[96];
            int cancel = 0, rc;
            pthread_mutex_lock(&s->mu);
            snprintf(job, sizeof job, "%s", s->slots[i].job_id);
            snprintf(lease, sizeof lease, "%s", s->slots[i].lease);
            pthread_mutex_unlock(&s->mu);
            if (!job[0] || !lease[0]) continue;
            rc = queue_renew(db, job, lease, s->cfg.lease_s, &cancel, &e);
            pthread_mutex_lock(&s->mu);
            if (strcmp(s->slots[i].lease, lease) == 0) { /* still that claim */
                if (rc == DC_ECONFLICT) {
                    atomic_store(&s->slots[i].lost, 1);
                    atomic_store(&s->slots[i].stop, 1);
                } else if (rc == 0 && cancel) {
                    atomic_store(&s->slots[i].cancel, 1);
                    atomic_store(&s->slots[i].stop, 1);
                }
            }
            pthread_mutex_unlock(&s->mu);
            if (rc == DC_ECONFLICT)
                fprintf(stderr, "deepclust: keeper: job %s: %s\n", job, e.msg);
            else if (rc < 0)
                fprintf(stderr, "deepclust: keeper: renewing job %s: %s\n", job, e.msg);
        }
        double t = dc_now_s();
        if (t - last_reap >= 1.0) {
            int n = queue_reap(db, &e);
            last_reap = t;
            if (n > 0) {
                fprintf(stderr, "deepclust: %d job(s) whose worker was lost put back\n", n);
                pthread_mutex_lock(&s->mu);
                pthread_cond_broadcast(&s->wake);
                pthread_mutex_unlock(&s->mu);
            } else if (n < 0) {
                fprintf(stderr, "deepclust: keeper: reaping: %s\n", e.msg);
            }
        }
        int heard = db_wait_notify(listening ? store_db(db) : NULL, every);
        if (heard > 0) {
            pthread_mutex_lock(&s->mu);
            pthread_cond_broadcast(&s->wake);
            pthread_mutex_unlock(&s->mu);
        } else if (heard < 0) { /* the connection broke: open another */
            store_close(db);
            db = NULL;
        }
    }
    store_close(db);
    return NULL;
}

int svc__workers_start(svc *s, dc_err *e)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int n = s->cfg.workers > 0 ? s->cfg.workers : 0;

    if (cores < 1) cores = 1;
    s->blas_threads = s->cfg.blas_threads > 0
                              ? s->cfg.blas_threads
                              : (int)(cores / (n > 0 ? n : 1) > 0 ? cores / (n > 0 ? n : 1) : 1);
    if (n == 0) return 0;
    openblas_set_num_threads(s->blas_threads); /* process-wide: workers x this = cores */
    if (!(s->slots = calloc((size_t)n, sizeof *s->slots)))
        return dc_err_set(e, DC_ENOMEM, "out of memory");
    s->nslots = n;
    for (int i = 0; i < n; i++) {
        s->slots[i].s = s;
        if (pthread_create(&s->slots[i].thread, NULL, worker_main, &s->slots[i]) != 0)
            return dc_err_set(e, DC_EIO, "cannot start worker thread %d", i);
        s->slots[i].started = 1;
    }
    if (pthread_create(&s->keeper, NULL, keeper_main, s) != 0)
        return dc_err_set(e, DC_EIO, "cannot start the lease keeper thread");
    s->keeper_started = 1;
    return 0;
}

void svc__workers_stop(svc *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    for (int i = 0; i < s->nslots; i++) atomic_store(&s->slots[i].stop, 1);
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nslots; i++)
        if (s->slots[i].started) {
            pthread_join(s->slots[i].thread, NULL);
            s->slots[i].started = 0;
        }
    if (s->keeper_started) {
        pthread_join(s->keeper, NULL);
        s->keeper_started = 0;
    }
}

int svc__cancel_running(svc *s, const char *id)
{
    int found = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nslots; i++)
        if (strcmp(s->slots[i].job_id, id) == 0) {
            atomic_store(&s->slots[i].cancel, 1);
            atomic_store(&s->slots[i].stop, 1);
            found = 1;
        }
    pthread_mutex_unlock(&s->mu);
    return found;
}
