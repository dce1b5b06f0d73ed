/* svc_jobs: creating, listing, reading and cancelling jobs; their iterations and
 * assignments; start-up recovery. The worker side is svc_worker.c. */
#include "svc_internal.h"

#include "queue.h"

#include "dc_size.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>
#include <signal.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char job_cols[] =
    "SELECT j.id, j.dataset_id AS dataset, j.method, j.n_clusters, j.seed, j.status, j.phase, "
    "100.0 * j.progress AS progress, j.eta_s, j.samples_per_s, j.cancel_requested, j.error, "
    "j.metrics, j.attempts, j.resume, j.created_at, j.started_at, j.finished_at, j.updated_at, "
    "dc_epoch(j.started_at) - dc_epoch(j.created_at) AS queued_s, "
    "dc_epoch(COALESCE(j.finished_at, dc_now())) - dc_epoch(j.started_at) AS running_s, "
    "(SELECT m.id FROM models m WHERE m.job_id = j.id) AS model, j.spec "
    "FROM jobs j";

void svc_job_clear(svc_job *j)
{
    if (!j) return;
    free(j->error);
    free(j->metrics);
    free(j->spec);
    memset(j, 0, sizeof *j);
}

void svc_job_free_list(svc_job *items, int n)
{
    for (int i = 0; items && i < n; i++) svc_job_clear(&items[i]);
    free(items);
}

/* Column i: a malloc'd copy, NULL when NULL. 0, or DC_ENOMEM. */
static int col_dup(db_stmt *st, int i, char **out)
{
    const char *t = db_column_text(st, i);
    *out = NULL;
    if (!t) return 0;
    return (*out = strdup((const char *)t)) ? 0 : DC_ENOMEM;
}

/* Column i as a double; NAN when NULL. */
static double col_real(db_stmt *st, int i)
{
    return db_column_is_null(st, i) ? NAN : db_column_double(st, i);
}

/* A row of job_cols into *o (spec only when with_spec). 0, or DC_ENOMEM (o cleared). */
static int job_row(db_stmt *st, svc_job *o, int with_spec, dc_err *e)
{
    memset(o, 0, sizeof *o);
    svc__col_text(st, 0, o->id, sizeof o->id);
    svc__col_text(st, 1, o->dataset, sizeof o->dataset);
    svc__col_text(st, 2, o->method, sizeof o->method);
    o->n_clusters = db_column_int(st, 3);
    o->seed = db_column_int64(st, 4);
    svc__col_text(st, 5, o->status, sizeof o->status);
    svc__col_text(st, 6, o->phase, sizeof o->phase);
    o->progress = db_column_double(st, 7);
    o->eta_s = col_real(st, 8);
    o->samples_per_s = col_real(st, 9);
    o->cancel_requested = db_column_int(st, 10) != 0;
    o->attempts = db_column_int(st, 13);
    o->resume = db_column_int(st, 14) != 0;
    svc__col_text(st, 15, o->created_at, sizeof o->created_at);
    svc__col_text(st, 16, o->started_at, sizeof o->started_at);
    svc__col_text(st, 17, o->finished_at, sizeof o->finished_at);
    svc__col_text(st, 18, o->updated_at, sizeof o->updated_at);
    o->queued_s = col_real(st, 19);
    o->running_s = col_real(st, 20);
    svc__col_text(st, 21, o->model, sizeof o->model);
    if (col_dup(st, 11, &o->error) < 0 || col_dup(st, 12, &o->metrics) < 0 ||
        (with_spec && col_dup(st, 22, &o->spec) < 0)) {
        svc_job_clear(o);
        return dc_err_set(e, DC_ENOMEM, "out of memory");
    }
    return 0;
}

static int job_fetch(db_conn *db, const char *id, svc_job *out, dc_err *e)
{
    db_stmt *st = NULL;
    char sql[1024];
    int rc;

    snprintf(sql, sizeof sql, "%s WHERE j.id = ?", job_cols);
    if ((rc = svc__row_by_id(db, sql, id, "job", "job", &st, e)) == 0)
        rc = job_row(st, out, 1, e);
    db_finalize(st);
    return rc;
}

/* The operator limits a new job must fit: its model's parameters and estimated training
 * memory (DC_EINVAL with je naming the spec field), the queue's length (DC_EBUSY). */
int svc__job_check_limits(svc *s, db_conn *h, const cluster_spec *cs, int64_t n, int d,
                          int hh, int ww, int cc, jobspec_error *je, dc_err *e)
{
    const svc_config *c = &s->cfg;
    jobspec_cost cost;
    db_stmt *st = NULL;
    long long queued = 0;
    int rc = 0;

    jobspec_estimate(cs, n, d, hh, ww, cc, &cost);
    if (c->max_model_params > 0 && cost.params > c->max_model_params) {
        svc_limit_count(s, SVC_LIMIT_MODEL_PARAMS);
        je->code = DC_EINVAL;
        snprintf(je->field, sizeof je->field, "autoencoder.hidden");
        snprintf(je->msg, sizeof je->msg, "the model would have %lld parameters, over the "
                 "limit of %lld (--max-model-params); use smaller layers",
                 (long long)cost.params, (long long)c->max_model_params);
        return dc_err_set(e, DC_EINVAL, "%s", je->msg);
    }
    if (c->max_train_bytes > 0 && cost.train_bytes > c->max_train_bytes) {
        svc_limit_count(s, SVC_LIMIT_TRAIN_MEMORY);
        je->code = DC_EINVAL;
        snprintf(je->field, sizeof je->field, "%s", "");
        snprintf(je->msg, sizeof je->msg, "training would need about %lld MiB (%lld samples x "
                 "%d features, %lld parameters, batch %d), over the limit of %lld MiB "
                 "(--max-train-mb)", (long long)(cost.train_bytes >> 20), (long long)n, d,
                 (long long)cost.params, cs->batch, (long long)(c->max_train_bytes >> 20));
        return dc_err_set(e, DC_EINVAL, "%s", je->msg);
    }
    if (c->max_queued_jobs > 0) {
        if (db_prepare(h, "SELECT count(*) FROM jobs WHERE status = 'queued'", &st) != DB_OK || db_step(st) != DB_ROW) {
            rc = svc__sql_err(h, "count queued jobs", e);
            goto out;
        }
        queued = db_column_int64(st, 0);
        if (queued >= c->max_queued_jobs) {
            svc_limit_count(s, SVC_LIMIT_QUEUED_JOBS);
            snprintf(je->msg, sizeof je->msg, "%lld jobs are queued, the limit "
                     "(--max-queued-jobs %d); retry when some have started", queued,
                     c->max_queued_jobs);
            rc = dc_err_set(e, DC_EBUSY, "%s", je->msg);
        }
    }
out:
    db_finalize(st);
    return rc;
}

int svc_job_create(svc *s, const json_t *spec, svc_job *out, jobspec_error *je, dc_err *e)
{
    cluster_spec cs;
    char ds[JOBSPEC_ID_MAX], id[JOBSPEC_ID_MAX];
    json_t *norm = NULL;
    char *text = NULL;
    db_stmt *st = NULL;
    store *db = NULL;
    db_conn *h;
    int rc;

    memset(out, 0, sizeof *out);
    if (jobspec_parse(spec, &cs, ds, &norm, je) < 0)
        return dc_err_set(e, DC_EINVAL, "%s", je->msg);
    if ((rc = svc__space_ok(s, "cannot queue the job", e)) < 0) goto out;
    if (!(db = svc__db_get(s, e))) {
        rc = e ? e->code : DC_EIO;
        goto out;
    }
    h = store_db(db);
    if ((rc = store_begin(db, e)) < 0) goto out;
    /* "dataset" may name the one ready dataset of that name: the stored spec has its id */
    if ((rc = svc__dataset_resolve(h, ds, sizeof ds, e)) == DC_EINVAL) {
        je->code = DC_EINVAL;
        snprintf(je->field, sizeof je->field, "dataset");
        snprintf(je->msg, sizeof je->msg, "dataset: %.370s", e->msg);
        goto out;
    } else if (rc == 0) {
        json_object_set_new(norm, "dataset", json_string(ds));
    } else if (rc != DC_ENOTFOUND) {
        goto out;
    }
    if (db_prepare(h, "SELECT n, d, shape, range_min, range_max FROM datasets "
                           "WHERE id = ? AND status = 'ready'", &st) != DB_OK) {
        rc = svc__sql_err(h, "create job", e);
        goto out;
    }
    db_bind_text(st, 1, ds);
    if (db_step(st) != DB_ROW) {
        /* An unknown dataset is a bad value in the body, not a missing resource. */
        je->code = DC_EINVAL;
        snprintf(je->field, sizeof je->field, "dataset");
        snprintf(je->msg, sizeof je->msg, "dataset: no dataset %s", ds);
        rc = dc_err_set(e, DC_EINVAL, "%s", je->msg);
        goto out;
    }
    int64_t n = db_column_int64(st, 0);
    int d = db_column_int(st, 1), hh = 0, ww = 0, cc = 0;
    json_t *shape = json_loads((const char *)db_column_text(st, 2), 0, NULL);
    if (json_array_size(shape) >= 2) {
        hh = (int)json_integer_value(json_array_get(shape, 0));
        ww = (int)json_integer_value(json_array_get(shape, 1));
        cc = json_array_size(shape) >= 3 ? (int)json_integer_value(json_array_get(shape, 2)) : 1;
    }
    json_decref(shape);
    /* a vae decodes through a sigmoid (mse and bce alike): it cannot model values outside
     * [0, 1], so refuse now rather than fail or mislead after training */
    if (cs.method == CM_VAE && !db_column_is_null(st, 3) &&
        (db_column_double(st, 3) < -1e-6 || db_column_double(st, 4) > 1 + 1e-6)) {
        je->code = DC_EINVAL;
        snprintf(je->field, sizeof je->field, "method");
        snprintf(je->msg, sizeof je->msg, "method: vae models values in [0, 1] (its decoder "
                 "ends in a sigmoid), but dataset %s holds values in [%g, %g]; upload it "
                 "with ?scale=unit (or div255 for 0..255 data)", ds,
                 db_column_double(st, 3), db_column_double(st, 4));
        rc = dc_err_set(e, DC_EINVAL, "%s", je->msg);
        goto out;
    }
    db_finalize(st);
    st = NULL;
    /* the operator's limits first: they name the size and the flag, where core's own
     * bounds (CLUSTER_MAX_PARAMS) only say that it is too big */
    if ((rc = svc__job_check_limits(s, h, &cs, n, d, hh, ww, cc, je, e)) < 0) goto out;
    if (jobspec_check_data(&cs, n, d, hh, ww, cc, je) < 0) {
        rc = dc_err_set(e, DC_EINVAL, "%s", je->msg);
        goto out;
    }
    if (!(text = json_dumps(norm, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(12)))) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    svc__new_id(id, sizeof id, "job_");
    if (db_prepare(h, "INSERT INTO jobs (id, dataset_id, method, n_clusters, seed, spec) "
                           "VALUES (?, ?, ?, ?, ?, ?)", &st) != DB_OK) {
        rc = svc__sql_err(h, "create job", e);
        goto out;
    }
    db_bind_text(st, 1, id);
    db_bind_text(st, 2, ds);
    db_bind_text(st, 3, cluster_method_name((cluster_method)cs.method));
    db_bind_int(st, 4, cs.k);
    db_bind_int64(st, 5, (int64_t)cs.seed);
    db_bind_text(st, 6, text);
    if (db_step(st) != DB_DONE) {
        rc = svc__sql_err(h, "create job", e);
        goto out;
    }
    if ((rc = store_commit(db, e)) < 0) goto out;
    /* Answer with the job as created (queued), then wake a worker. */
    rc = job_fetch(h, id, out, e);
    svc__wake_workers(s, h);
out:
    db_finalize(st);
    svc__db_put(s, db);
    json_decref(norm);
    free(text);
    return rc;
}

int svc_job_get(svc *s, const char *id, svc_job *out, dc_err *e)
{
    store *db = svc__db_get(s, e);
    memset(out, 0, sizeof *out);
    if (!db) return e ? e->code : DC_EIO;
    int rc = job_fetch(store_db(db), id, out, e);
    svc__db_put(s, db);
    return rc;
}

int svc_job_list(svc *s, const char *status, int limit, int64_t offset, svc_job **items,
                 int *n, int64_t *total, dc_err *e)
{
    db_stmt *st = NULL;
    store *db = svc__db_get(s, e);
    svc_job *it = NULL;
    char sql[1400];
    int rc, k = 0, all = !status || !*status;

    *items = NULL;
    *n = 0;
    *total = 0;
    if (!db) return e ? e->code : DC_EIO;
    if (limit < 1 || !(it = calloc((size_t)limit, sizeof *it))) {
        rc = limit < 1 ? dc_err_set(e, DC_EINVAL, "limit %d < 1", limit)
                       : dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(sql, sizeof sql, "%s WHERE (CAST(?1 AS TEXT) IS NULL OR j.status = ?1) "
             "ORDER BY j.created_at DESC, j.rowid DESC LIMIT ?2 OFFSET ?3", job_cols);
    if (db_prepare(store_db(db), sql, &st) != DB_OK) {
        rc = svc__sql_err(store_db(db), "list jobs", e);
        goto out;
    }
    if (!all) db_bind_text(st, 1, status);
    db_bind_int(st, 2, limit);
    db_bind_int64(st, 3, offset);
    /* listings stay small: no spec (GET /v1/jobs/{id} has it) */
    while (k < limit && (rc = db_step(st)) == DB_ROW) {
        if ((rc = job_row(st, &it[k], 0, e)) < 0) goto out;
        k++;
    }
    if (k < limit && rc != DB_DONE) {
        rc = svc__sql_err(store_db(db), "list jobs", e);
        goto out;
    }
    db_finalize(st);
    st = NULL;
    if (db_prepare(store_db(db),
                           "SELECT count(*) FROM jobs WHERE CAST(?1 AS TEXT) IS NULL OR status = ?1", &st) == DB_OK) {
        if (!all) db_bind_text(st, 1, status);
        if (db_step(st) == DB_ROW) *total = db_column_int64(st, 0);
    }
    rc = 0;
out:
    db_finalize(st);
    svc__db_put(s, db);
    if (rc < 0 || k == 0) {
        svc_job_free_list(it, k);
        it = NULL;
        k = 0;
    }
    *items = it;
    *n = k;
    return rc;
}

static int job_exists(db_conn *db, const char *id, dc_err *e)
{
    db_stmt *st = NULL;
    int rc;
    rc = svc__row_by_id(db, "SELECT 1 FROM jobs WHERE id = ?", id, "job", "get job", &st, e);
    db_finalize(st);
    return rc;
}

/* Integer column i; INT64_MIN when NULL. */
static int64_t col_int_or(db_stmt *st, int i)
{
    return db_column_is_null(st, i) ? INT64_MIN : db_column_int64(st, i);
}

int svc_job_iterations(svc *s, const char *id, int64_t since, int limit, svc_iteration **items,
                       int *n, dc_err *e)
{
    db_stmt *st = NULL;
    store *db = svc__db_get(s, e);
    svc_iteration *it = NULL;
    int rc, k = 0;

    *items = NULL;
    *n = 0;
    if (!db) return e ? e->code : DC_EIO;
    if ((rc = job_exists(store_db(db), id, e)) < 0) goto out;
    if (limit < 1 || !(it = malloc(sizeof *it * (size_t)limit))) {
        rc = limit < 1 ? dc_err_set(e, DC_EINVAL, "limit %d < 1", limit)
                       : dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    if (db_prepare(store_db(db),
                           "SELECT seq, phase, epoch, step, loss, acc, nmi, ari, label_change, "
                           "elapsed_s, created_at FROM iterations WHERE job_id = ? AND seq > ? "
                           "ORDER BY seq LIMIT ?", &st) != DB_OK) {
        rc = svc__sql_err(store_db(db), "iterations", e);
        goto out;
    }
    db_bind_text(st, 1, id);
    db_bind_int64(st, 2, since);
    db_bind_int(st, 3, limit);
    while (k < limit && (rc = db_step(st)) == DB_ROW) {
        svc_iteration *o = &it[k++];
        o->seq = db_column_int64(st, 0);
        svc__col_text(st, 1, o->phase, sizeof o->phase);
        o->epoch = col_int_or(st, 2);
        o->step = col_int_or(st, 3);
        o->loss = col_real(st, 4);
        o->acc = col_real(st, 5);
        o->nmi = col_real(st, 6);
        o->ari = col_real(st, 7);
        o->label_change = col_real(st, 8);
        o->elapsed_s = col_real(st, 9);
        svc__col_text(st, 10, o->created_at, sizeof o->created_at);
    }
    if (k < limit && rc != DB_DONE) {
        rc = svc__sql_err(store_db(db), "iterations", e);
        goto out;
    }
    rc = 0;
out:
    db_finalize(st);
    svc__db_put(s, db);
    if (rc < 0 || k == 0) {
        free(it);
        it = NULL;
        k = 0;
    }
    *items = it;
    *n = k;
    return rc;
}

int svc_job_cancel(svc *s, const char *id, svc_job *out, dc_err *e)
{
    db_stmt *st = NULL;
    store *db = svc__db_get(s, e);
    char status[16] = "";
    db_conn *h;
    int rc;

    memset(out, 0, sizeof *out);
    if (!db) return e ? e->code : DC_EIO;
    h = store_db(db);
    if ((rc = store_begin(db, e)) < 0) goto out;
    if (db_prepare(h, "SELECT status FROM jobs WHERE id = ?", &st) != DB_OK) {
        rc = svc__sql_err(h, "cancel job", e);
        goto out;
    }
    db_bind_text(st, 1, id);
    if (db_step(st) != DB_ROW) {
        rc = dc_err_set(e, DC_ENOTFOUND, "no job %s", id);
        goto out;
    }
    snprintf(status, sizeof status, "%s", (const char *)db_column_text(st, 0));
    db_finalize(st);
    st = NULL;
    if (strcmp(status, "queued") == 0) {
        /* a worker of another process may claim it meanwhile (claims do not wait for
           this transaction): then it is running, and asked to stop */
        rc = db_prepare(h, "UPDATE jobs SET status = CASE WHEN status = 'queued' THEN "
                           "'cancelled' ELSE status END, cancel_requested = 1, "
                           "finished_at = CASE WHEN status = 'queued' THEN dc_now() ELSE "
                           "finished_at END, updated_at = dc_now(), "
                           "eta_s = CASE WHEN status = 'queued' THEN NULL ELSE eta_s END "
                           "WHERE id = ?", &st);
    } else if (strcmp(status, "running") == 0) {
        rc = db_prepare(h, "UPDATE jobs SET cancel_requested = 1, "
                                "updated_at = dc_now() WHERE id = ?", &st);
    } else {
        rc = dc_err_set(e, DC_ECONFLICT, "job %s is %s already", id, status);
        goto out;
    }
    if (rc != DB_OK || (db_bind_text(st, 1, id),
                            db_step(st) != DB_DONE)) {
        rc = svc__sql_err(h, "cancel job", e);
        goto out;
    }
    if ((rc = store_commit(db, e)) < 0) goto out;
    svc__cancel_running(s, id);
    rc = job_fetch(h, id, out, e);
out:
    db_finalize(st);
    svc__db_put(s, db);
    return rc;
}

/* The delete in one transaction: the job (iterations and checkpoint cascade), its model. */
static int job_delete_txn(store *db, const char *id, char *model, size_t cap, dc_err *e)
{
    db_conn *h = store_db(db);
    db_stmt *st = NULL;
    int rc;

    model[0] = 0;
    if ((rc = store_begin(db, e)) < 0) return rc;
    if ((rc = svc__row_by_id(h, "SELECT j.status, (SELECT m.id FROM models m WHERE m.job_id "
                                "= j.id) FROM jobs j WHERE j.id = ?", id, "job", "delete job",
                             &st, e)) < 0)
        goto out;
    const char *status = (const char *)db_column_text(st, 0);
    if (strcmp(status, "queued") == 0 || strcmp(status, "running") == 0) {
        rc = dc_err_set(e, DC_ECONFLICT, "job %s is %s; cancel it first", id, status);
        goto out;
    }
    if (db_column_text(st, 1))
        snprintf(model, cap, "%s", (const char *)db_column_text(st, 1));
    db_finalize(st);
    st = NULL;
    if (db_prepare(h, "DELETE FROM models WHERE job_id = ?1", &st) != DB_OK ||
        (db_bind_text(st, 1, id), db_step(st) != DB_DONE)) {
        rc = svc__sql_err(h, "delete job", e);
        goto out;
    }
    db_finalize(st);
    st = NULL;
    if (db_prepare(h, "DELETE FROM jobs WHERE id = ?1", &st) != DB_OK ||
        (db_bind_text(st, 1, id), db_step(st) != DB_DONE)) {
        rc = svc__sql_err(h, "delete job", e);
        goto out;
    }
    rc = store_commit(db, e);
out:
    db_finalize(st);
    if (rc < 0) store_rollback(db);
    return rc;
}

int svc_job_delete(svc *s, const char *id, dc_err *e)
{
    store *db = svc__db_get(s, e);
    char model[JOBSPEC_ID_MAX];
    int rc;

    if (!db) return e ? e->code : DC_EIO;
    rc = job_delete_txn(db, id, model, sizeof model, e);
    if (rc == DC_ENOSPC && svc__make_room(s, db))
        rc = job_delete_txn(db, id, model, sizeof model, e);
    if (rc == 0) {
        if (model[0]) svc__model_evict(s, model);
        svc__space_back(s, db);
    }
    svc__db_put(s, db);
    return rc;
}

void svc_assignments_free(svc_assignments *a)
{
    if (!a) return;
    free(a->labels);
    free(a->q);
    memset(a, 0, sizeof *a);
}

int svc_job_assignments(svc *s, const char *id, int64_t offset, int limit,
                        svc_assignments *out, dc_err *e)
{
    db_stmt *st = NULL;
    store *db = svc__db_get(s, e);
    svc_model *m = NULL;
    float *x = NULL, *q = NULL;
    int32_t *lab = NULL;
    char model[JOBSPEC_ID_MAX] = "", ds[JOBSPEC_ID_MAX] = "";
    int64_t n = 0, cnt;
    int d = 0, k, rc;

    memset(out, 0, sizeof *out);
    if (!db) return e ? e->code : DC_EIO;
    db_conn *h = store_db(db);
    if ((rc = job_exists(h, id, e)) < 0) goto out;
    if (db_prepare(h, "SELECT m.id, j.dataset_id, d.n, d.d FROM jobs j "
                           "LEFT JOIN models m ON m.job_id = j.id "
                           "LEFT JOIN datasets d ON d.id = j.dataset_id WHERE j.id = ?", &st) != DB_OK) {
        rc = svc__sql_err(h, "assignments", e);
        goto out;
    }
    db_bind_text(st, 1, id);
    if (db_step(st) == DB_ROW) {
        if (db_column_text(st, 0))
            snprintf(model, sizeof model, "%s", (const char *)db_column_text(st, 0));
        if (db_column_text(st, 1))
            snprintf(ds, sizeof ds, "%s", (const char *)db_column_text(st, 1));
        n = db_column_int64(st, 2);
        d = db_column_int(st, 3);
    }
    db_finalize(st);
    st = NULL;
    if (!model[0]) {
        rc = dc_err_set(e, DC_ECONFLICT, "job %s has no model (it has not succeeded)", id);
        goto out;
    }
    if (!ds[0]) {
        rc = dc_err_set(e, DC_ECONFLICT, "the dataset of job %s was deleted", id);
        goto out;
    }
    if ((rc = svc__model_acquire(s, h, model, &m, e)) < 0) goto out;
    if (cluster_model_dim(m->m) != d) {
        rc = dc_err_set(e, DC_ECONFLICT, "model %s does not fit dataset %s", model, ds);
        goto out;
    }
    k = cluster_model_k(m->m);
    if (offset > n) offset = n;
    cnt = n - offset < limit ? n - offset : limit;
    size_t xb, qb, lb, at;
    if (dc_mul3_size(cnt, d, sizeof(float), &xb) < 0 || dc_mul3_size(cnt, k, sizeof(float), &qb) < 0 ||
        dc_mul_size(cnt, sizeof(int32_t), &lb) < 0 || dc_mul3_size(offset, d, sizeof(float), &at) < 0 ||
        at > INT64_MAX || xb > INT64_MAX) {
        rc = dc_err_set(e, DC_ETOOLARGE, "%lld samples x %d values do not fit in memory",
                        (long long)cnt, d);
        goto out;
    }
    x = malloc(xb + sizeof(float));
    q = malloc(qb + sizeof(float));
    lab = malloc(lb + sizeof(int32_t));
    if (!x || !q || !lab) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    if (cnt > 0) {
        if ((rc = svc__blob_read(h, ds, "x", (int64_t)at, x, (int64_t)xb, e)) < 0) goto out;
        pthread_mutex_lock(&m->mu);
        rc = cluster_predict(m->m, x, cnt, q, lab, NULL, e);
        pthread_mutex_unlock(&m->mu);
        if (rc < 0) goto out;
    }
    snprintf(out->model, sizeof out->model, "%s", model);
    snprintf(out->dataset, sizeof out->dataset, "%s", ds);
    out->n = n, out->k = k, out->offset = offset, out->count = cnt;
    out->labels = lab, out->q = q; /* the caller's now */
    lab = NULL, q = NULL;
    rc = 0;
out:
    db_finalize(st);
    svc__model_release(s, m);
    svc__db_put(s, db);
    free(x), free(q), free(lab);
    return rc;
}

/* 1 when a lease token "<host>:<pid>/<slot>#..." names a process of this host that is
 * gone (or has no owner at all): its claim cannot be renewed any more. */
static int owner_dead(const char *owner)
{
    char host[64] = "localhost";
    const char *colon;
    long pid;
    if (!owner || !*owner) return 1;
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    colon = strrchr(owner, ':');
    if (!colon || (size_t)(colon - owner) != strlen(host) ||
        strncmp(owner, host, (size_t)(colon - owner)) != 0)
        return 0; /* another host's: its lease decides */
    pid = strtol(colon + 1, NULL, 10);
    return pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int svc__recover(svc *s, store *st, dc_err *e)
{
    db_conn *h = store_db(st);
    int rc, n;

    /* A job is running for whoever holds its lease; only expired leases are put back
       (queue_reap, as every keeper does each second). On SQLite the processes share one
       host, so the claims of processes that are gone (a crash, kill -9) expire now
       instead of after lease_s. */
    if (!s->pg) {
        char (*dead)[128] = NULL;
        int nd = 0, cap = 0;
        db_stmt *q = NULL;
        if (db_prepare(h, "SELECT lease_owner FROM jobs WHERE status = 'running'", &q) != DB_OK)
            return svc__sql_err(h, "recovery", e);
        while (db_step(q) == DB_ROW) {
            const char *o = db_column_text(q, 0);
            if (!owner_dead(o)) continue;
            if (nd == cap) {
                char (*d)[128] = realloc(dead, sizeof *dead * (size_t)(cap = cap ? 2 * cap : 8));
                if (!d) break;
                dead = d;
            }
            snprintf(dead[nd++], sizeof *dead, "%s", o ? o : "");
        }
        db_finalize(q);
        if ((rc = store_begin(st, e)) < 0) {
            free(dead);
            return rc;
        }
        for (int i = 0; i < nd && rc == 0; i++) {
            if (db_prepare(h, "UPDATE jobs SET lease_until = NULL WHERE status = 'running' AND "
                              "COALESCE(lease_owner, '') = ?", &q) != DB_OK) {
                rc = svc__sql_err(h, "recovery", e);
                break;
            }
            db_bind_text(q, 1, dead[i]);
            if (db_step(q) != DB_DONE) rc = svc__sql_err(h, "recovery", e);
            db_finalize(q);
        }
        free(dead);
        if (rc == 0) rc = store_commit(st, e);
        if (rc < 0) {
            store_rollback(st);
            return rc;
        }
    }
    if ((n = queue_reap(st, e)) < 0) return n;
    if (n > 0) fprintf(stderr, "deepclust: recovery: %d job(s) whose worker was lost put back\n",
                       n);
    /* An upload is its API process's while it runs: a half-written dataset goes when that
       process is gone. One process serves HTTP on a SQLite file (the one starting now:
       a `deepclust worker` never uploads); on PostgreSQL others may be uploading now, so
       only day-old ones go. */
    if (s->cfg.no_http) return 0;
    if (db_exec(h, s->pg ? "DELETE FROM datasets WHERE status = 'uploading' AND "
                           "created_at < dc_later(-86400)"
                         : "DELETE FROM datasets WHERE status = 'uploading'") != DB_OK)
        return svc__sql_err(h, "recovery", e);
    if (db_changes(h) > 0)
        fprintf(stderr, "deepclust: recovery: %lld half-written dataset(s) from an interrupted "
                "upload deleted\n", (long long)db_changes(h));
    return 0;
}
