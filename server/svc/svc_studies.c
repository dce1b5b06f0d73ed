/* svc_studies: studies (svc.h "studies"): the request's checks, queueing one job per
 * (seed, k) with one pretraining per seed, the autoencoders the jobs share, each job's
 * criteria, and the summary per k. The worker side (claiming, ae_buf, the pretrained
 * hook) is in svc_worker.c. */
#include "svc_internal.h"

#include "queue.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

#define NOW "dc_now()"

/* ---- the request ---------------------------------------------------------------------- */

static int req_err(jobspec_error *je, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int req_err(jobspec_error *je, int code, const char *field, const char *fmt, ...)
{
    va_list ap;
    je->code = code;
    snprintf(je->field, sizeof je->field, "%s", field);
    va_start(ap, fmt);
    vsnprintf(je->msg, sizeof je->msg, fmt, ap);
    va_end(ap);
    return DC_EINVAL;
}

void svc_study_req_clear(svc_study_req *r)
{
    if (!r) return;
    json_decref(r->job);
    memset(r, 0, sizeof *r);
}

static int parse_seeds(const json_t *v, svc_study_req *o, jobspec_error *je)
{
    char f[32];
    if (!json_is_array(v)) return req_err(je, DC_EFORMAT, "seeds", "seeds must be an array of integers");
    size_t n = json_array_size(v);
    if (n < 1 || n > SVC_STUDY_MAX_SEEDS)
        return req_err(je, DC_EINVAL, "seeds", "seeds: 1 to %d seeds, got %zu",
                       SVC_STUDY_MAX_SEEDS, n);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(v, i);
        snprintf(f, sizeof f, "seeds[%zu]", i);
        if (!json_is_integer(x)) return req_err(je, DC_EFORMAT, f, "%s must be an integer", f);
        if (json_integer_value(x) < 0)
            return req_err(je, DC_EINVAL, f, "%s must be >= 0, got %lld", f,
                           (long long)json_integer_value(x));
        o->seeds[i] = json_integer_value(x);
        for (size_t j = 0; j < i; j++)
            if (o->seeds[j] == o->seeds[i])
                return req_err(je, DC_EINVAL, f, "%s: %lld is already seeds[%zu]", f,
                               (long long)o->seeds[i], j);
    }
    o->n_seeds = (int)n;
    return 0;
}

static int k_value(const json_t *x, const char *f, int *out, jobspec_error *je)
{
    if (!json_is_integer(x)) return req_err(je, DC_EFORMAT, f, "%s must be an integer", f);
    json_int_t k = json_integer_value(x);
    if (k < SVC_STUDY_K_MIN || k > SVC_STUDY_K_MAX)
        return req_err(je, DC_EINVAL, f, "%s must be in %d..%d, got %lld", f, SVC_STUDY_K_MIN,
                       SVC_STUDY_K_MAX, (long long)k);
    *out = (int)k;
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

static int parse_ks(const json_t *v, svc_study_req *o, jobspec_error *je)
{
    char f[32];
    if (json_is_object(v)) {
        const char *key;
        json_t *x, *mn = NULL, *mx = NULL;
        int a, b;
        json_object_foreach((json_t *)v, key, x) {
            if (strcmp(key, "min") == 0) mn = x;
            else if (strcmp(key, "max") == 0) mx = x;
            else {
                snprintf(f, sizeof f, "n_clusters.%.16s", key);
                return req_err(je, DC_EFORMAT, f, "%s: unknown field (a range is "
                               "{\"min\": a, \"max\": b})", f);
            }
        }
        if (!mn) return req_err(je, DC_EFORMAT, "n_clusters.min", "n_clusters.min is required");
        if (!mx) return req_err(je, DC_EFORMAT, "n_clusters.max", "n_clusters.max is required");
        if (k_value(mn, "n_clusters.min", &a, je) < 0 || k_value(mx, "n_clusters.max", &b, je) < 0)
            return DC_EINVAL;
        if (b < a)
            return req_err(je, DC_EINVAL, "n_clusters.max", "n_clusters.max (%d) is below "
                           "n_clusters.min (%d)", b, a);
        if (b - a + 1 > SVC_STUDY_MAX_KS)
            return req_err(je, DC_EINVAL, "n_clusters.max", "n_clusters.max: %d..%d is %d values, "
                           "at most %d", a, b, b - a + 1, SVC_STUDY_MAX_KS);
        for (int k = a; k <= b; k++) o->ks[o->n_ks++] = k;
        return 0;
    }
    if (!json_is_array(v))
        return req_err(je, DC_EFORMAT, "n_clusters", "n_clusters must be an array of integers "
                       "or {\"min\": a, \"max\": b}");
    size_t n = json_array_size(v);
    if (n < 1 || n > SVC_STUDY_MAX_KS)
        return req_err(je, DC_EINVAL, "n_clusters", "n_clusters: 1 to %d values, got %zu",
                       SVC_STUDY_MAX_KS, n);
    for (size_t i = 0; i < n; i++) {
        snprintf(f, sizeof f, "n_clusters[%zu]", i);
        if (k_value(json_array_get(v, i), f, &o->ks[i], je) < 0) return DC_EINVAL;
        for (size_t j = 0; j < i; j++)
            if (o->ks[j] == o->ks[i])
                return req_err(je, DC_EINVAL, f, "%s: %d is already n_clusters[%zu]", f,
                               o->ks[i], j);
    }
    o->n_ks = (int)n;
    qsort(o->ks, n, sizeof *o->ks, cmp_int);
    return 0;
}

/* The full job spec of (seed, k): a new reference, NULL when out of memory. */
static json_t *job_spec(const json_t *tmpl, const char *dataset, int64_t seed, int k)
{
    json_t *j = json_deep_copy(tmpl);
    if (j && (json_object_set_new(j, "dataset", json_string(dataset)) < 0 ||
              json_object_set_new(j, "n_clusters", json_integer(k)) < 0 ||
              json_object_set_new(j, "seed", json_integer(seed)) < 0)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* jobspec's error on the template, its path under "job". */
static void job_field(jobspec_error *je)
{
    char f[sizeof je->field], m[sizeof je->msg];
    if (strcmp(je->field, "dataset") == 0 || strcmp(je->field, "n_clusters") == 0) return;
    size_t fl = strlen(je->field);
    snprintf(f, sizeof f, "job%s%.120s", fl ? "." : "", je->field);
    if (fl && strncmp(je->msg, je->field, fl) == 0) snprintf(m, sizeof m, "job.%.370s", je->msg);
    else if (fl) snprintf(m, sizeof m, "%.125s: %.250s", f, je->msg);
    else snprintf(m, sizeof m, "job: %.370s", je->msg);
    snprintf(je->field, sizeof je->field, "%s", f);
    snprintf(je->msg, sizeof je->msg, "%s", m);
}

int svc_study_parse(const json_t *body, svc_study_req *o, jobspec_error *je)
{
    const char *key;
    json_t *v, *ds = NULL, *job = NULL, *seeds = NULL, *ks = NULL;
    cluster_spec cs;
    char dsid[JOBSPEC_ID_MAX];
    int rc;

    memset(o, 0, sizeof *o);
    memset(je, 0, sizeof *je);
    if (!json_is_object(body)) return req_err(je, DC_EFORMAT, "", "the body must be a JSON object");
    json_object_foreach((json_t *)body, key, v) {
        if (strcmp(key, "dataset") == 0) ds = v;
        else if (strcmp(key, "job") == 0) job = v;
        else if (strcmp(key, "seeds") == 0) seeds = v;
        else if (strcmp(key, "n_clusters") == 0) ks = v;
        else {
            char f[64];
            snprintf(f, sizeof f, "%.60s", key);
            return req_err(je, DC_EFORMAT, f, "%s: unknown field (dataset, job, seeds, "
                           "n_clusters)", f);
        }
    }
    if (!ds) return req_err(je, DC_EFORMAT, "dataset", "dataset is required");
    if (!json_is_string(ds) || !json_string_length(ds) || json_string_length(ds) >= JOBSPEC_ID_MAX)
        return req_err(je, DC_EFORMAT, "dataset", "dataset must be a dataset id (a string)");
    snprintf(o->dataset, sizeof o->dataset, "%s", json_string_value(ds));
    if (!job) return req_err(je, DC_EFORMAT, "job", "job is required (a job spec without "
                             "dataset, n_clusters and seed)");
    if (!json_is_object(job)) return req_err(je, DC_EFORMAT, "job", "job must be an object");
    static const char *const fixed[] = {"dataset", "n_clusters", "seed"};
    for (int i = 0; i < 3; i++)
        if (json_object_get(job, fixed[i])) {
            char f[32];
            snprintf(f, sizeof f, "job.%s", fixed[i]);
            return req_err(je, DC_EFORMAT, f, "%s: the study sets it (give %s at the top "
                           "level)", f, i == 0 ? "dataset" : i == 1 ? "n_clusters" : "seeds");
        }
    if (!ks) return req_err(je, DC_EFORMAT, "n_clusters", "n_clusters is required");
    if (seeds) {
        if ((rc = parse_seeds(seeds, o, je)) < 0) return rc;
    } else {
        o->seeds[0] = 0, o->n_seeds = 1;
    }
    if ((rc = parse_ks(ks, o, je)) < 0) return rc;
    /* the template's own checks, with what the study fills in */
    json_t *full = job_spec(job, o->dataset, o->seeds[0], o->ks[o->n_ks - 1]);
    if (!full) return req_err(je, DC_ENOMEM, "", "out of memory");
    rc = jobspec_parse(full, &cs, dsid, NULL, je);
    json_decref(full);
    if (rc < 0) {
        job_field(je);
        return rc;
    }
    o->job = json_deep_copy(job);
    return o->job ? 0 : req_err(je, DC_ENOMEM, "", "out of memory");
}

/* ---- rows ---------------------------------------------------------------------------- */

void svc_study_clear(svc_study *st)
{
    if (!st) return;
    free(st->spec);
    free(st->jobs);
    free(st->per_k);
    memset(st, 0, sizeof *st);
}

void svc_study_free_list(svc_study *items, int n)
{
    for (int i = 0; items && i < n; i++) svc_study_clear(&items[i]);
    free(items);
}

static const char study_cols[] =
    "SELECT s.id, COALESCE(s.dataset_id, ''), s.method, s.spec, s.seeds, s.ks, s.created_at, "
    "(SELECT count(*) FROM jobs j WHERE j.study_id = s.id), "
    "(SELECT count(*) FROM jobs j WHERE j.study_id = s.id AND j.status = 'queued'), "
    "(SELECT count(*) FROM jobs j WHERE j.study_id = s.id AND j.status = 'running'), "
    "(SELECT count(*) FROM jobs j WHERE j.study_id = s.id AND j.status = 'succeeded'), "
    "(SELECT count(*) FROM jobs j WHERE j.study_id = s.id AND j.status = 'failed'), "
    "(SELECT count(*) FROM jobs j WHERE j.study_id = s.id AND j.status = 'cancelled'), "
    "s.shares_ae FROM studies s";

static int study_row(db_stmt *st, svc_study *o, dc_err *e)
{
    memset(o, 0, sizeof *o);
    svc__col_text(st, 0, o->id, sizeof o->id);
    svc__col_text(st, 1, o->dataset, sizeof o->dataset);
    svc__col_text(st, 2, o->method, sizeof o->method);
    svc__col_text(st, 6, o->created_at, sizeof o->created_at);
    o->total = db_column_int(st, 7);
    o->queued = db_column_int(st, 8);
    o->running = db_column_int(st, 9);
    o->succeeded = db_column_int(st, 10);
    o->failed = db_column_int(st, 11);
    o->cancelled = db_column_int(st, 12);
    o->shares_ae = db_column_int(st, 13) != 0;
    json_t *seeds = json_loads((const char *)db_column_text(st, 4), 0, NULL);
    json_t *ks = json_loads((const char *)db_column_text(st, 5), 0, NULL);
    for (size_t i = 0; i < json_array_size(seeds) && i < SVC_STUDY_MAX_SEEDS; i++)
        o->seeds[o->n_seeds++] = json_integer_value(json_array_get(seeds, i));
    for (size_t i = 0; i < json_array_size(ks) && i < SVC_STUDY_MAX_KS; i++)
        o->ks[o->n_ks++] = (int)json_integer_value(json_array_get(ks, i));
    json_decref(seeds), json_decref(ks);
    const char *status = o->queued + o->running > 0
                         ? (o->running || o->succeeded + o->failed + o->cancelled ? "running"
                                                                                  : "queued")
                         : o->cancelled ? "cancelled" : o->succeeded ? "succeeded" : "failed";
    snprintf(o->status, sizeof o->status, "%s", status);
    const char *spec = db_column_text(st, 3);
    if (spec && !(o->spec = strdup((const char *)spec))) {
        svc_study_clear(o);
        return dc_err_set(e, DC_ENOMEM, "out of memory");
    }
    return 0;
}

static int study_fetch(db_conn *db, const char *id, svc_study *out, dc_err *e)
{
    db_stmt *st = NULL;
    char sql[1400];
    int rc;
    snprintf(sql, sizeof sql, "%s WHERE s.id = ?", study_cols);
    if ((rc = svc__row_by_id(db, sql, id, "study", "study", &st, e)) == 0)
        rc = study_row(st, out, e);
    db_finalize(st);
    return rc;
}

/* ---- creating ------------------------------------------------------------------------- */

/* Inserts the job of (seed, k) (checked by jobspec_parse); id out. */
static int insert_job(db_conn *h, const svc_study_req *q, const char *study, int64_t seed,
                      int k, const char *ae_job, char *id, jobspec_error *je, dc_err *e)
{
    cluster_spec cs;
    char ds[JOBSPEC_ID_MAX], *text = NULL;
    json_t *norm = NULL, *full = job_spec(q->job, q->dataset, seed, k);
    db_stmt *st = NULL;
    int rc;

    if (!full) return dc_err_set(e, DC_ENOMEM, "out of memory");
    if (jobspec_parse(full, &cs, ds, &norm, je) < 0) {
        job_field(je);
        rc = dc_err_set(e, DC_EINVAL, "%s", je->msg);
        goto out;
    }
    if (!(text = json_dumps(norm, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(12)))) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    svc__new_id(id, JOBSPEC_ID_MAX, "job_");
    if (db_prepare(h, "INSERT INTO jobs (id, dataset_id, method, n_clusters, seed, spec, "
                           "study_id, ae_job) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", &st) != DB_OK) {
        rc = svc__sql_err(h, "create study job", e);
        goto out;
    }
    db_bind_text(st, 1, id);
    db_bind_text(st, 2, ds);
    db_bind_text(st, 3, cluster_method_name((cluster_method)cs.method));
    db_bind_int(st, 4, k);
    db_bind_int64(st, 5, (int64_t)seed);
    db_bind_text(st, 6, text);
    db_bind_text(st, 7, study);
    if (ae_job) db_bind_text(st, 8, ae_job);
    else db_bind_null(st, 8);
    rc = db_step(st) == DB_DONE ? 0 : svc__sql_err(h, "create study job", e);
out:
    db_finalize(st);
    json_decref(full), json_decref(norm);
    free(text);
    return rc;
}

/* The dataset's shape, checked: the largest k's spec against it and the limits. */
static int check_dataset(svc *s, db_conn *h, const svc_study_req *q, cluster_spec *cs,
                         json_t **norm, jobspec_error *je, dc_err *e)
{
    db_stmt *st = NULL;
    char ds[JOBSPEC_ID_MAX];
    int rc;
    json_t *full = job_spec(q->job, q->dataset, q->seeds[0], q->ks[q->n_ks - 1]);
    if (!full) return dc_err_set(e, DC_ENOMEM, "out of memory");
    rc = jobspec_parse(full, cs, ds, norm, je);
    json_decref(full);
    if (rc < 0) {
        job_field(je);
        return dc_err_set(e, DC_EINVAL, "%s", je->msg);
    }
    if (db_prepare(h, "SELECT n, d, shape FROM datasets WHERE id = ? AND status = 'ready'", &st) != DB_OK)
        return svc__sql_err(h, "create study", e);
    db_bind_text(st, 1, q->dataset);
    if (db_step(st) != DB_ROW) {
        db_finalize(st);
        req_err(je, DC_EINVAL, "dataset", "dataset: no dataset %s", q->dataset);
        return dc_err_set(e, DC_EINVAL, "%s", je->msg);
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
    db_finalize(st);
    if ((rc = svc__job_check_limits(s, h, cs, n, d, hh, ww, cc, je, e)) < 0) {
        job_field(je);
        return rc;
    }
    if (jobspec_check_data(cs, n, d, hh, ww, cc, je) < 0) {
        job_field(je);
        return dc_err_set(e, DC_EINVAL, "%s", je->msg);
    }
    if (s->cfg.max_queued_jobs > 0) { /* the whole study must fit in the queue */
        long long queued = 0, want = (long long)q->n_seeds * q->n_ks;
        if (db_prepare(h, "SELECT count(*) FROM jobs WHERE status = 'queued'", &st) == DB_OK && db_step(st) == DB_ROW)
            queued = db_column_int64(st, 0);
        db_finalize(st);
        if (queued + want > s->cfg.max_queued_jobs) {
            svc_limit_count(s, SVC_LIMIT_QUEUED_JOBS);
            return dc_err_set(e, DC_EBUSY, "the study's %lld jobs do not fit in the queue: "
                              "%lld are queued, the limit is %d (--max-queued-jobs)", want,
                              queued, s->cfg.max_queued_jobs);
        }
    }
    return 0;
}

/* The template as stored: the normalised spec without what each job sets. */
static char *template_text(json_t *norm)
{
    json_object_del(norm, "dataset");
    json_object_del(norm, "n_clusters");
    json_object_del(norm, "seed");
    return json_dumps(norm, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(12));
}

static int insert_study(db_conn *h, const svc_study_req *q, const char *id, const char *method,
                        const char *spec, int share, dc_err *e)
{
    json_t *seeds = json_array(), *ks = json_array();
    char *st_text = NULL, *ks_text = NULL;
    db_stmt *st = NULL;
    int rc;
    for (int i = 0; seeds && i < q->n_seeds; i++)
        json_array_append_new(seeds, json_integer(q->seeds[i]));
    for (int i = 0; ks && i < q->n_ks; i++) json_array_append_new(ks, json_integer(q->ks[i]));
    if (!seeds || !ks || !(st_text = json_dumps(seeds, JSON_COMPACT)) ||
        !(ks_text = json_dumps(ks, JSON_COMPACT))) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    if (db_prepare(h, "INSERT INTO studies (id, dataset_id, method, spec, seeds, ks, "
                           "shares_ae) VALUES (?, ?, ?, ?, ?, ?, ?)", &st) != DB_OK) {
        rc = svc__sql_err(h, "create study", e);
        goto out;
    }
    db_bind_text(st, 1, id);
    db_bind_text(st, 2, q->dataset);
    db_bind_text(st, 3, method);
    db_bind_text(st, 4, spec);
    db_bind_text(st, 5, st_text);
    db_bind_text(st, 6, ks_text);
    db_bind_int(st, 7, share);
    rc = db_step(st) == DB_DONE ? 0 : svc__sql_err(h, "create study", e);
out:
    db_finalize(st);
    json_decref(seeds), json_decref(ks);
    free(st_text), free(ks_text);
    return rc;
}

int svc_study_create(svc *s, const svc_study_req *q, svc_study *out, jobspec_error *je,
                     dc_err *e)
{
    cluster_spec cs;
    json_t *norm = NULL;
    char id[JOBSPEC_ID_MAX], *spec = NULL;
    char (*pre)[JOBSPEC_ID_MAX] = NULL;
    store *db = NULL;
    db_conn *h;
    int rc;

    memset(out, 0, sizeof *out);
    memset(je, 0, sizeof *je);
    if (!q->job || q->n_seeds < 1 || q->n_ks < 1)
        return dc_err_set(e, DC_EINVAL, "not a checked study request (svc_study_parse)");
    if ((rc = svc__space_ok(s, "cannot queue the study", e)) < 0) return rc;
    if (!(pre = calloc((size_t)q->n_seeds, sizeof *pre)))
        return dc_err_set(e, DC_ENOMEM, "out of memory");
    if (!(db = svc__db_get(s, e))) {
        rc = e ? e->code : DC_EIO;
        goto out;
    }
    h = store_db(db);
    if ((rc = store_begin(db, e)) < 0) goto out;
    if ((rc = check_dataset(s, h, q, &cs, &norm, je, e)) < 0) goto rollback;
    if (!(spec = template_text(norm))) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto rollback;
    }
    int share = study_shares_ae(&cs);
    svc__new_id(id, sizeof id, "std_");
    if ((rc = insert_study(h, q, id, cluster_method_name((cluster_method)cs.method), spec, share, e)) < 0)
        goto rollback;
    /* the pretraining jobs first (workers take the oldest claimable job), then the rest */
    for (int i = 0; i < q->n_seeds; i++)
        for (int j = 0; j < (share ? 1 : q->n_ks); j++) {
            char jid[JOBSPEC_ID_MAX];
            if ((rc = insert_job(h, q, id, q->seeds[i], q->ks[j], NULL, jid, je, e)) < 0)
                goto rollback;
            if (j == 0) memcpy(pre[i], jid, sizeof jid);
        }
    for (int i = 0; share && i < q->n_seeds; i++)
        for (int j = 1; j < q->n_ks; j++) {
            char jid[JOBSPEC_ID_MAX];
            if ((rc = insert_job(h, q, id, q->seeds[i], q->ks[j], pre[i], jid, je, e)) < 0)
                goto rollback;
        }
    if ((rc = store_commit(db, e)) < 0) goto rollback;
    rc = study_fetch(h, id, out, e);
    svc__wake_workers(s, h);
    goto out;
rollback:
    store_rollback(db);
out:
    svc__db_put(s, db);
    json_decref(norm);
    free(spec);
    free(pre);
    return rc;
}

/* ---- listing, cancel, delete ---------------------------------------------------------- */

int svc_study_list(svc *s, int limit, int64_t offset, svc_study **items, int *n,
                   int64_t *total, dc_err *e)
{
    db_stmt *st = NULL;
    store *db = svc__db_get(s, e);
    svc_study *it = NULL;
    char sql[1500];
    int rc, k = 0;

    *items = NULL, *n = 0, *total = 0;
    if (!db) return e ? e->code : DC_EIO;
    if (limit < 1 || !(it = calloc((size_t)limit, sizeof *it))) {
        rc = limit < 1 ? dc_err_set(e, DC_EINVAL, "limit %d < 1", limit)
                       : dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(sql, sizeof sql, "%s ORDER BY s.created_at DESC, s.rowid DESC LIMIT ?1 OFFSET ?2",
             study_cols);
    if (db_prepare(store_db(db), sql, &st) != DB_OK) {
        rc = svc__sql_err(store_db(db), "list studies", e);
        goto out;
    }
    db_bind_int(st, 1, limit);
    db_bind_int64(st, 2, offset);
    while (k < limit && (rc = db_step(st)) == DB_ROW) {
        if ((rc = study_row(st, &it[k], e)) < 0) goto out;
        k++;
    }
    if (k < limit && rc != DB_DONE) {
        rc = svc__sql_err(store_db(db), "list studies", e);
        goto out;
    }
    db_finalize(st);
    st = NULL;
    if (db_prepare(store_db(db), "SELECT count(*) FROM studies", &st) ==
                DB_OK &&
        db_step(st) == DB_ROW)
        *total = db_column_int64(st, 0);
    rc = 0;
out:
    db_finalize(st);
    svc__db_put(s, db);
    if (rc < 0 || k == 0) {
        svc_study_free_list(it, k);
        it = NULL;
        k = 0;
    }
    *items = it, *n = k;
    return rc;
}

/* Runs sql with ?1 = id; 0 or the error. */
static int exec_id(db_conn *h, const char *sql, const char *id, const char *what, dc_err *e)
{
    db_stmt *st = NULL;
    int rc = db_prepare(h, sql, &st) == DB_OK
                 ? (db_bind_text(st, 1, id),
                    db_step(st) == DB_DONE ? 0 : -1)
                 : -1;
    if (rc < 0) rc = svc__sql_err(h, what, e);
    db_finalize(st);
    return rc;
}

/* Ids (malloc'd array of *n) of the study's jobs matching where (?1 = study). */
static int study_job_ids(db_conn *h, const char *id, const char *col, const char *where,
                         char (**out)[JOBSPEC_ID_MAX], int *n, dc_err *e)
{
    db_stmt *st = NULL;
    char sql[300];
    int cap = 0, rc;
    *out = NULL, *n = 0;
    snprintf(sql, sizeof sql, "SELECT %s FROM jobs WHERE study_id = ?1 AND %s", col, where);
    if (db_prepare(h, sql, &st) != DB_OK) return svc__sql_err(h, "study jobs", e);
    db_bind_text(st, 1, id);
    while ((rc = db_step(st)) == DB_ROW) {
        if (!db_column_text(st, 0)) continue;
        if (*n == cap) {
            void *p = realloc(*out, sizeof **out * (size_t)(cap = cap ? 2 * cap : 16));
            if (!p) {
                db_finalize(st);
                return dc_err_set(e, DC_ENOMEM, "out of memory");
            }
            *out = p;
        }
        svc__col_text(st, 0, (*out)[(*n)++], JOBSPEC_ID_MAX);
    }
    db_finalize(st);
    return rc == DB_DONE ? 0 : svc__sql_err(h, "study jobs", e);
}

int svc_study_cancel(svc *s, const char *id, svc_study *out, dc_err *e)
{
    store *db = svc__db_get(s, e);
    char (*running)[JOBSPEC_ID_MAX] = NULL;
    int nrun = 0, rc;

    memset(out, 0, sizeof *out);
    if (!db) return e ? e->code : DC_EIO;
    db_conn *h = store_db(db);
    if ((rc = store_begin(db, e)) < 0) goto out;
    if ((rc = study_fetch(h, id, out, e)) < 0) goto rollback;
    if (out->queued + out->running == 0) {
        rc = dc_err_set(e, DC_ECONFLICT, "study %s is %s already: no job to cancel", id,
                        out->status);
        goto rollback;
    }
    if ((rc = study_job_ids(h, id, "id", "status = 'running'", &running, &nrun, e)) < 0 ||
        (rc = exec_id(h, "UPDATE jobs SET status = 'cancelled', error = 'cancelled with its "
                      "study', eta_s = NULL, finished_at = " NOW ", updated_at = " NOW
                      " WHERE study_id = ?1 AND status = 'queued'", id, "cancel study", e)) < 0 ||
        (rc = exec_id(h, "UPDATE jobs SET cancel_requested = 1, updated_at = " NOW
                      " WHERE study_id = ?1 AND status = 'running'", id, "cancel study", e)) < 0 ||
        (rc = store_commit(db, e)) < 0)
        goto rollback;
    for (int i = 0; i < nrun; i++) svc__cancel_running(s, running[i]);
    svc_study_clear(out);
    rc = study_fetch(h, id, out, e);
    goto out;
rollback:
    store_rollback(db);
    svc_study_clear(out); /* the caller gets nothing with an error */
out:
    free(running);
    svc__db_put(s, db);
    return rc;
}

static int study_delete_txn(store *db, const char *id, char (**models)[JOBSPEC_ID_MAX],
                            int *nm, dc_err *e)
{
    db_conn *h = store_db(db);
    svc_study st;
    int rc;
    *models = NULL, *nm = 0;
    if ((rc = store_begin(db, e)) < 0) return rc;
    if ((rc = study_fetch(h, id, &st, e)) < 0) goto rollback;
    int busy = st.queued + st.running;
    svc_study_clear(&st);
    if (busy) {
        rc = dc_err_set(e, DC_ECONFLICT, "study %s has %d queued or running jobs; cancel it "
                        "first", id, busy);
        goto rollback;
    }
    if ((rc = study_job_ids(h, id, "(SELECT m.id FROM models m WHERE m.job_id = jobs.id)", "1 = 1",
                            models, nm, e)) < 0 ||
        (rc = exec_id(h, "DELETE FROM models WHERE job_id IN (SELECT id FROM jobs WHERE "
                      "study_id = ?1)", id, "delete study", e)) < 0 ||
        (rc = exec_id(h, "DELETE FROM jobs WHERE study_id = ?1", id, "delete study", e)) < 0 ||
        (rc = exec_id(h, "DELETE FROM studies WHERE id = ?1", id, "delete study", e)) < 0)
        goto rollback;
    return store_commit(db, e);
rollback:
    store_rollback(db);
    free(*models);
    *models = NULL, *nm = 0;
    return rc;
}

int svc_study_delete(svc *s, const char *id, dc_err *e)
{
    store *db = svc__db_get(s, e);
    char (*models)[JOBSPEC_ID_MAX] = NULL;
    int nm = 0, rc;
    if (!db) return e ? e->code : DC_EIO;
    rc = study_delete_txn(db, id, &models, &nm, e);
    if (rc == DC_ENOSPC && svc__make_room(s, db)) rc = study_delete_txn(db, id, &models, &nm, e);
    if (rc == 0) {
        for (int i = 0; i < nm; i++) svc__model_evict(s, models[i]);
        svc__space_back(s, db);
    }
    free(models);
    svc__db_put(s, db);
    return rc;
}

/* ---- the shared autoencoders ---------------------------------------------------------- */

int svc__studies_settle(db_conn *h, dc_err *e)
{
    static const char fail_orphans[] =
        "UPDATE jobs SET status = 'failed', eta_s = NULL, finished_at = " NOW ", updated_at = " NOW
        ", error = 'its pretrained autoencoder will not come: job ' || ae_job || ', which "
        "pretrains it, ' || COALESCE((SELECT CASE p.status WHEN 'succeeded' THEN "
        "'ended without keeping it' ELSE p.status || COALESCE(': ' || p.error, '') END "
        "FROM jobs p WHERE p.id = jobs.ae_job), 'was deleted') "
        "WHERE status = 'queued' AND ae_job IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM study_ae a WHERE a.job_id = jobs.ae_job) "
        "AND NOT EXISTS (SELECT 1 FROM jobs p WHERE p.id = jobs.ae_job "
        "AND p.status IN ('queued', 'running'))";
    static const char drop_unused[] =
        "DELETE FROM study_ae WHERE NOT EXISTS (SELECT 1 FROM jobs d WHERE d.ae_job = "
        "study_ae.job_id AND d.status IN ('queued', 'running')) AND NOT EXISTS (SELECT 1 "
        "FROM jobs p WHERE p.id = study_ae.job_id AND p.status IN ('queued', 'running'))";
    if (db_exec(h, fail_orphans) != DB_OK ||
        db_exec(h, drop_unused) != DB_OK)
        return svc__sql_err(h, "settle study jobs", e);
    return 0;
}

int svc__study_ae_put(store *db, const char *job, const char *lease, const void *ae,
                      size_t len, dc_err *e)
{
    db_conn *h = store_db(db);
    db_stmt *st = NULL;
    int rc;
    if ((rc = store_begin(db, e)) < 0) return rc;
    if (lease && (rc = queue_fence(db, job, lease, e)) < 0) goto out;
    if (db_prepare(h, "INSERT INTO study_ae (job_id, ae) VALUES (?, ?) "
                      "ON CONFLICT (job_id) DO UPDATE SET ae = excluded.ae, created_at = dc_now()", &st) != DB_OK) {
        rc = svc__sql_err(h, "keep the autoencoder", e);
        goto out;
    }
    db_bind_text(st, 1, job);
    db_bind_blob(st, 2, ae, (uint64_t)len);
    rc = db_step(st) == DB_DONE ? 0 : svc__sql_err(h, "keep the autoencoder", e);
    if (rc == 0) rc = store_commit(db, e);
out:
    db_finalize(st);
    if (rc < 0) store_rollback(db);
    return rc;
}

int svc__study_ae_get(db_conn *h, const char *job, void **ae, size_t *len, dc_err *e)
{
    db_stmt *st = NULL;
    int rc;
    *ae = NULL, *len = 0;
    if (db_prepare(h, "SELECT ae FROM study_ae WHERE job_id = ?", &st) != DB_OK)
        return svc__sql_err(h, "read the autoencoder", e);
    db_bind_text(st, 1, job);
    rc = db_step(st);
    if (rc == DB_ROW && db_column_bytes(st, 0) > 0) {
        *len = (size_t)db_column_bytes(st, 0);
        if ((*ae = malloc(*len))) memcpy(*ae, db_column_blob(st, 0), *len);
        rc = *ae ? 0 : dc_err_set(e, DC_ENOMEM, "out of memory");
    } else {
        rc = rc == DB_DONE || rc == DB_ROW
                 ? dc_err_set(e, DC_ENOTFOUND, "the autoencoder of job %s is not kept", job)
                 : svc__sql_err(h, "read the autoencoder", e);
    }
    db_finalize(st);
    return rc;
}

/* ---- criteria, labels, summary --------------------------------------------------------- */

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *svc__criteria_json(const cluster_model *m, const dataset *ds, const cluster_event *last)
{
    study_criteria c;
    dc_err e = {0};
    if (study_criteria_of(m, ds, last, STUDY_SAMPLE, &c, &e) < 0) {
        fprintf(stderr, "deepclust: criteria not computed: %s\n", e.msg);
        c.sil = c.ch = c.db = c.loglik = c.bic = NAN;
        c.sample = 0;
    }
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:I}", study_stat_name(ST_SIL), num(c.sil),
                     study_stat_name(ST_CH), num(c.ch), study_stat_name(ST_DB), num(c.db),
                     study_stat_name(ST_BIC), num(c.bic), study_stat_name(ST_LOGLIK),
                     num(c.loglik), "sample", (json_int_t)c.sample);
}

int svc__job_labels(svc *s, db_conn *h, const char *job, const char *dataset, int64_t n, int d,
                    float **x_cache, int32_t *out, dc_err *e)
{
    db_stmt *st = NULL;
    svc_model *m = NULL;
    char model[JOBSPEC_ID_MAX] = "";
    int rc, kept = 0;

    /* stored with the job's results when it succeeded (svc_results.c, migrations/0002) */
    if (db_prepare(h, "SELECT labels FROM job_results WHERE job_id = ?", &st) != DB_OK)
        return svc__sql_err(h, "labels", e);
    db_bind_text(st, 1, job);
    if (db_step(st) == DB_ROW &&
        db_column_bytes(st, 0) == (int64_t)sizeof *out * n) {
        memcpy(out, db_column_blob(st, 0), sizeof *out * (size_t)n);
        kept = 1;
    }
    db_finalize(st);
    if (kept) return 0;
    /* else from the model */
    if (db_prepare(h, "SELECT id FROM models WHERE job_id = ?", &st) != DB_OK)
        return svc__sql_err(h, "labels", e);
    db_bind_text(st, 1, job);
    if (db_step(st) == DB_ROW) svc__col_text(st, 0, model, sizeof model);
    db_finalize(st);
    if (!model[0]) return dc_err_set(e, DC_ENOTFOUND, "job %s has no model", job);
    if (!*x_cache) {
        if (n < 1 || d < 1 || !(*x_cache = malloc(sizeof **x_cache * (size_t)n * (size_t)d)))
            return dc_err_set(e, DC_ENOMEM, "out of memory");
        if ((rc = svc__blob_read(h, dataset, "x", 0, *x_cache, n * d * 4, e)) < 0) {
            free(*x_cache);
            *x_cache = NULL;
            return rc;
        }
    }
    if ((rc = svc__model_acquire(s, h, model, &m, e)) < 0) return rc;
    if (cluster_model_dim(m->m) != d) {
        rc = dc_err_set(e, DC_ECONFLICT, "model %s does not fit dataset %s", model, dataset);
    } else {
        pthread_mutex_lock(&m->mu);
        rc = cluster_predict(m->m, *x_cache, n, NULL, out, NULL, e);
        pthread_mutex_unlock(&m->mu);
    }
    svc__model_release(s, m);
    return rc;
}

/* A number of a metrics object, NAN when absent or null. */
static double get_num(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The study's jobs, by k then seed, with what their metrics say. */
static int read_jobs(db_conn *h, svc_study *o, dc_err *e)
{
    db_stmt *st = NULL;
    int rc, cap = o->total > 0 ? o->total : 1;
    if (!(o->jobs = calloc((size_t)cap, sizeof *o->jobs)))
        return dc_err_set(e, DC_ENOMEM, "out of memory");
    if (db_prepare(h, "SELECT j.id, COALESCE((SELECT m.id FROM models m WHERE m.job_id = "
                           "j.id), ''), COALESCE(j.ae_job, ''), j.status, j.seed, j.n_clusters, "
                           "j.metrics, j.eta_s FROM jobs j WHERE j.study_id = ? "
                           "ORDER BY j.n_clusters, j.seed, j.rowid", &st) != DB_OK)
        return svc__sql_err(h, "study jobs", e);
    db_bind_text(st, 1, o->id);
    while ((rc = db_step(st)) == DB_ROW && o->n_jobs < cap) {
        svc_study_job *j = &o->jobs[o->n_jobs++];
        svc__col_text(st, 0, j->id, sizeof j->id);
        svc__col_text(st, 1, j->model, sizeof j->model);
        svc__col_text(st, 2, j->ae_job, sizeof j->ae_job);
        svc__col_text(st, 3, j->status, sizeof j->status);
        j->seed = db_column_int64(st, 4);
        j->k = db_column_int(st, 5);
        const char *mt = db_column_text(st, 6);
        json_t *mj = mt ? json_loads((const char *)mt, 0, NULL) : NULL;
        json_t *cj = json_object_get(mj, "criteria");
        for (int s = 0; s < ST_COUNT; s++)
            j->stat[s] = s <= ST_ARI ? get_num(mj, study_stat_name(s))
                                     : get_num(cj, study_stat_name(s));
        j->seconds = get_num(mj, "seconds");
        j->pretrain_seconds = get_num(mj, "pretrain_seconds");
        j->eta_s = db_column_is_null(st, 7) ? NAN : db_column_double(st, 7);
        json_decref(mj);
    }
    db_finalize(st);
    return rc == DB_DONE || rc == DB_ROW ? 0 : svc__sql_err(h, "study jobs", e);
}

/* Per k: the succeeded jobs' figures and labels through study_summarize_k; then the
 * suggested k. */
static int summarize(svc *s, db_conn *h, svc_study *o, dc_err *e)
{
    db_stmt *st = NULL;
    int64_t n = 0;
    int d = 0, rc = 0;
    float *x = NULL;
    int32_t *truth = NULL, **labels = NULL;
    kselect_row rows[SVC_STUDY_MAX_KS];
    int nrows = 0;

    if (!(o->per_k = calloc((size_t)(o->n_ks ? o->n_ks : 1), sizeof *o->per_k)) ||
        !(labels = calloc((size_t)(o->n_jobs ? o->n_jobs : 1), sizeof *labels)))
        return dc_err_set(e, DC_ENOMEM, "out of memory");
    if (o->dataset[0] &&
        db_prepare(h, "SELECT n, d, has_labels FROM datasets WHERE id = ?", &st) == DB_OK) {
        db_bind_text(st, 1, o->dataset);
        if (db_step(st) == DB_ROW) {
            n = db_column_int64(st, 0);
            d = db_column_int(st, 1);
            o->has_labels = db_column_int(st, 2);
        }
    }
    db_finalize(st);
    if (n > 0 && o->has_labels) {
        if (!(truth = malloc(sizeof *truth * (size_t)n))) {
            rc = dc_err_set(e, DC_ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = svc__blob_read(h, o->dataset, "y", 0, truth, n * 4, e)) < 0) goto out;
    }
    for (int i = 0; i < o->n_ks; i++) {
        study_run runs[SVC_STUDY_MAX_SEEDS];
        int idx[SVC_STUDY_MAX_SEEDS], nr = 0;
        svc_study_k *pk = &o->per_k[i];
        pk->chosen = pk->best_sil = -1;
        pk->sum.k = o->ks[i];
        pk->sum.chosen = pk->sum.best_sil = -1;
        for (int j = 0; j < o->n_jobs && nr < SVC_STUDY_MAX_SEEDS; j++) {
            svc_study_job *jb = &o->jobs[j];
            if (jb->k != o->ks[i] || strcmp(jb->status, "succeeded") != 0) continue;
            runs[nr] = (study_run){.seed = (uint64_t)jb->seed};
            memcpy(runs[nr].stat, jb->stat, sizeof jb->stat);
            if (n > 0 && (labels[j] = malloc(sizeof **labels * (size_t)n))) {
                dc_err le = {0};
                if (svc__job_labels(s, h, jb->id, o->dataset, n, d, &x, labels[j], &le) < 0) {
                    free(labels[j]);
                    labels[j] = NULL;
                }
            }
            runs[nr].labels = labels[j];
            idx[nr++] = j;
        }
        if (!nr) continue;
        if ((rc = study_summarize_k(o->ks[i], runs, nr, (size_t)n, truth, &pk->sum, e)) < 0)
            goto out;
        pk->chosen = pk->sum.chosen >= 0 ? idx[pk->sum.chosen] : -1;
        pk->best_sil = pk->sum.best_sil >= 0 ? idx[pk->sum.best_sil] : -1;
        rows[nrows++] = pk->sum.row;
    }
    if (nrows > 0) {
        dc_err se = {0};
        o->suggested = kselect_suggest(rows, nrows, &o->suggestion, &se) == 0;
    }
out:
    for (int j = 0; j < o->n_jobs; j++) free(labels[j]);
    free(labels), free(truth), free(x);
    return rc;
}

/* The time left: failed and cancelled jobs count for nothing; a queued job pretrains
 * unless it takes its seed's autoencoder from another job (ae_job). */
static double study_eta(const svc_study *o)
{
    study_eta_run *r = calloc((size_t)(o->n_jobs ? o->n_jobs : 1), sizeof *r);
    int n = 0, running = 0;
    if (!r) return NAN;
    for (int i = 0; i < o->n_jobs; i++) {
        const svc_study_job *j = &o->jobs[i];
        if (!strcmp(j->status, "succeeded") && isfinite(j->seconds))
            r[n++] = (study_eta_run){.state = STUDY_RUN_DONE, .seconds = j->seconds,
                                     .pretrain_s = isfinite(j->pretrain_seconds)
                                                       ? j->pretrain_seconds : 0};
        else if (!strcmp(j->status, "running") || !strcmp(j->status, "queued")) {
            int run = j->status[0] == 'r';
            running += run;
            r[n++] = (study_eta_run){.state = run ? STUDY_RUN_RUNNING : STUDY_RUN_QUEUED,
                                     .eta_s = run ? j->eta_s : NAN, .pretrains = !j->ae_job[0]};
        }
    }
    double eta = study_eta_s(r, n, running);
    free(r);
    return eta;
}

int svc_study_get(svc *s, const char *id, svc_study *out, dc_err *e)
{
    store *db = svc__db_get(s, e);
    int rc;
    memset(out, 0, sizeof *out);
    if (!db) return e ? e->code : DC_EIO;
    db_conn *h = store_db(db);
    if ((rc = study_fetch(h, id, out, e)) == 0 && (rc = read_jobs(h, out, e)) == 0 &&
        (rc = summarize(s, h, out, e)) == 0)
        out->eta_s = study_eta(out);
    if (rc < 0) svc_study_clear(out);
    svc__db_put(s, db);
    return rc;
}
