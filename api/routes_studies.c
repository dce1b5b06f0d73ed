/* routes_studies: the handlers of /v1/studies (handlers.h): one job spec over several
 * seeds and k, its progress, the summary per k and the suggested k (svc.h "studies",
 * docs/studies.md). */
#include "handlers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "svc.h"

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* Integer query parameter in [lo, hi] (dflt when absent); -1 after replying 400. */
static int query_int(api_req *r, const char *name, long long dflt, long long lo, long long hi,
                     long long *out)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    char *end, msg[200];
    *out = dflt;
    if (!v) return 0;
    long long x = strtoll(v, &end, 10);
    if (!((*v >= '0' && *v <= '9') || *v == '-') || *end || x < lo || x > hi) {
        snprintf(msg, sizeof msg, "query parameter %s must be an integer in [%lld, %lld], got "
                 "'%.60s'", name, lo, hi, v);
        api_problem_field(r, 400, name, msg);
        return -1;
    }
    *out = x;
    return 0;
}

/* A study as listed: identity, template, lists, status and progress. New reference. */
static json_t *study_json(const svc_study *st)
{
    json_t *o = json_object(), *seeds = json_array(), *ks = json_array(), *spec = NULL;
    if (!o || !seeds || !ks) {
        json_decref(o), json_decref(seeds), json_decref(ks);
        return NULL;
    }
    for (int i = 0; i < st->n_seeds; i++) json_array_append_new(seeds, json_integer(st->seeds[i]));
    for (int i = 0; i < st->n_ks; i++) json_array_append_new(ks, json_integer(st->ks[i]));
    spec = st->spec ? json_loads(st->spec, 0, NULL) : NULL;
    int done = st->succeeded + st->failed + st->cancelled;
    json_object_set_new(o, "id", json_string(st->id));
    json_object_set_new(o, "dataset", st->dataset[0] ? json_string(st->dataset) : json_null());
    json_object_set_new(o, "method", json_string(st->method));
    json_object_set_new(o, "shares_autoencoder", json_boolean(st->shares_ae));
    json_object_set_new(o, "status", json_string(st->status));
    json_object_set_new(o, "job", spec ? spec : json_null());
    json_object_set_new(o, "seeds", seeds);
    json_object_set_new(o, "n_clusters", ks);
    json_object_set_new(o, "progress",
                        json_pack("{s:i, s:i, s:o, s:i, s:i, s:i, s:i, s:i}", "done", done,
                                  "total", st->total, "percent",
                                  num(st->total ? 100.0 * done / st->total : 0), "queued",
                                  st->queued, "running", st->running, "succeeded",
                                  st->succeeded, "failed", st->failed, "cancelled",
                                  st->cancelled));
    json_object_set_new(o, "created_at", json_string(st->created_at));
    return o;
}

/* {"mean", "std"} of figure s in a k's summary. */
static json_t *mean_std(const study_k *k, int s)
{
    return json_pack("{s:o, s:o}", "mean", num(k->mean[s]), "std", num(k->std[s]));
}

/* One pick (the chosen seed, the best silhouette) as a job reference. */
static json_t *pick_json(const svc_study *st, int j, const char *criterion)
{
    if (j < 0) return json_null();
    const svc_study_job *jb = &st->jobs[j];
    json_t *o = json_pack("{s:s, s:I, s:s, s:o}", "criterion", criterion, "seed",
                          (json_int_t)jb->seed, "job", jb->id, "model",
                          jb->model[0] ? json_string(jb->model) : json_null());
    if (o && st->has_labels) json_object_set_new(o, "acc", num(jb->stat[ST_ACC]));
    return o;
}

static json_t *per_k_json(const svc_study *st, const svc_study_k *pk)
{
    const study_k *k = &pk->sum;
    json_t *o = json_object(), *m = json_object();
    if (!o || !m) {
        json_decref(o), json_decref(m);
        return NULL;
    }
    for (int s = st->has_labels ? 0 : ST_SIL; s < ST_COUNT; s++)
        json_object_set_new(m, study_stat_name(s), mean_std(k, s));
    json_object_set_new(o, "n_clusters", json_integer(k->k));
    json_object_set_new(o, "runs", json_integer(k->n_runs));
    json_object_set_new(o, "metrics", m);
    json_object_set_new(o, "stability", num(k->stability));
    json_t *ch = pick_json(st, pk->chosen, k->n_runs == 1 ? "single"
                                           : isfinite(k->chosen_agreement) ? "agreement"
                                                                           : "silhouette");
    if (json_is_object(ch))
        json_object_set_new(ch, "mean_ari_to_others", num(k->chosen_agreement));
    json_object_set_new(o, "chosen", ch);
    json_object_set_new(o, "best_silhouette", pick_json(st, pk->best_sil, "silhouette"));
    json_object_set_new(o, "consensus_acc", st->has_labels ? num(k->consensus_acc) : json_null());
    return o;
}

static json_t *job_row_json(const svc_study *st, const svc_study_job *j)
{
    json_t *c = json_object(), *o;
    for (int s = ST_SIL; c && s < ST_COUNT; s++)
        json_object_set_new(c, study_stat_name(s), num(j->stat[s]));
    o = json_pack("{s:s, s:I, s:i, s:s, s:o, s:o, s:b, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                  j->id, "seed", (json_int_t)j->seed, "n_clusters", j->k, "status", j->status,
                  "model", j->model[0] ? json_string(j->model) : json_null(), "ae_job",
                  j->ae_job[0] ? json_string(j->ae_job) : json_null(), "pretrains",
                  st->shares_ae && !j->ae_job[0], "acc", num(st->has_labels ? j->stat[ST_ACC] : NAN), "nmi",
                  num(st->has_labels ? j->stat[ST_NMI] : NAN), "ari",
                  num(st->has_labels ? j->stat[ST_ARI] : NAN), "criteria",
                  c ? c : json_null(), "seconds", num(j->seconds), "pretrain_seconds",
                  num(j->pretrain_seconds));
    return o;
}

/* The study with its jobs, the summary per k and the suggestion. New reference. */
static json_t *study_full_json(const svc_study *st)
{
    json_t *o = study_json(st), *jobs = json_array(), *pk = json_array(), *sug;
    if (!o || !jobs || !pk) {
        json_decref(o), json_decref(jobs), json_decref(pk);
        return NULL;
    }
    for (int i = 0; i < st->n_jobs; i++) json_array_append_new(jobs, job_row_json(st, &st->jobs[i]));
    for (int i = 0; i < st->n_ks; i++)
        if (st->per_k[i].sum.n_runs > 0) json_array_append_new(pk, per_k_json(st, &st->per_k[i]));
    const kselect_suggestion *s = &st->suggestion;
#define K_OR_NULL(v) ((v) > 0 ? json_integer(v) : json_null())
    sug = st->suggested
              ? json_pack("{s:i, s:s, s:{s:o, s:o, s:o, s:o, s:o}}", "n_clusters", s->k,
                          "reason", s->reason, "by", "silhouette", K_OR_NULL(s->k_sil),
                          "calinski_harabasz", K_OR_NULL(s->k_ch), "davies_bouldin",
                          K_OR_NULL(s->k_db), "bic", K_OR_NULL(s->k_bic), "stability",
                          K_OR_NULL(s->k_stab))
              : json_null();
#undef K_OR_NULL
    json_object_set_new(o, "has_labels", json_boolean(st->has_labels));
    json_object_set_new(json_object_get(o, "progress"), "eta_s", num(st->eta_s));
    json_object_set_new(o, "jobs", jobs);
    json_object_set_new(o, "per_k", pk);
    json_object_set_new(o, "suggestion", sug ? sug : json_null());
    return o;
}

/* POST /v1/studies {"dataset", "job", "seeds", "n_clusters"}: 201 the study (Location);
 * 400 not JSON, wrong type or unknown field, 415, 422 a value (field names it), 429 the
 * queue is full. */
int api_h_study_create(api_req *r)
{
    svc_study_req q = {0};
    svc_study st;
    jobspec_error je = {0};
    json_error_t jerr;
    dc_err e = {0};
    char loc[128];
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
    int rc;

    if (!r->ctx->server) return api_no_service(r);
    if (ct && strncasecmp(ct, "application/json", 16) != 0)
        return api_problem(r, 415, "Content-Type %.60s is not accepted here; send "
                           "application/json", ct);
    if (!r->body || !r->body_len) return api_problem(r, 400, "empty body: send a JSON object");
    json_t *body = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body)
        return api_problem(r, 400, "malformed JSON at line %d, column %d: %s", jerr.line,
                           jerr.column, jerr.text);
    rc = svc_study_parse(body, &q, &je);
    json_decref(body);
    if (rc == 0) rc = svc_study_create(r->ctx->server, &q, &st, &je, &e);
    svc_study_req_clear(&q);
    if (rc == DC_EINVAL && je.code) /* DC_EFORMAT 400, DC_EINVAL 422 */
        return api_problem_field(r, api_err_status(je.code), je.field, je.msg);
    if (rc < 0) return api_reply_err(r, rc, &e);
    snprintf(loc, sizeof loc, "/v1/studies/%s", st.id);
    json_t *o = study_json(&st);
    svc_study_clear(&st);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(o);
    if (!text) return DC_ENOMEM;
    size_t len = strlen(text);
    text[len++] = '\n';
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return DC_ENOMEM;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Location", loc);
    r->bytes = len;
    return api_reply(r, 201, resp);
}

/* GET /v1/studies?limit=&offset=: newest first, without jobs or summary. */
int api_h_study_list(api_req *r)
{
    long long limit, offset;
    svc_study *items = NULL;
    int64_t total;
    dc_err e = {0};
    int n, rc;
    if (!r->ctx->server) return api_no_service(r);
    if (query_int(r, "limit", 50, 1, SVC_PAGE_MAX, &limit) < 0 ||
        query_int(r, "offset", 0, 0, SVC_OFFSET_MAX, &offset) < 0)
        return 0;
    if ((rc = svc_study_list(r->ctx->server, (int)limit, offset, &items, &n, &total, &e)) < 0)
        return api_reply_err(r, rc, &e);
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++) json_array_append_new(a, study_json(&items[i]));
    svc_study_free_list(items, n);
    json_t *o = json_pack("{s:o, s:I, s:i, s:I}", "items", a, "total", (json_int_t)total,
                          "limit", (int)limit, "offset", (json_int_t)offset);
    if (o && offset + limit < total)
        json_object_set_new(o, "next_offset", json_integer(offset + limit));
    return api_reply_json(r, 200, o);
}

/* GET /v1/studies/{id}: the study, its jobs, per k the mean and std over seeds of every
 * metric and criterion, stability, the chosen seed, consensus ACC; the suggested k. */
int api_h_study_get(api_req *r)
{
    svc_study st;
    dc_err e = {0};
    if (!r->ctx->server) return api_no_service(r);
    int rc = svc_study_get(r->ctx->server, api_param(r, "id"), &st, &e);
    if (rc < 0) return api_reply_err(r, rc, &e);
    rc = api_reply_json(r, 200, study_full_json(&st));
    svc_study_clear(&st);
    return rc;
}

/* POST /v1/studies/{id}/cancel: 202 the study; 404; 409 nothing left to cancel. */
int api_h_study_cancel(api_req *r)
{
    svc_study st;
    dc_err e = {0};
    if (!r->ctx->server) return api_no_service(r);
    int rc = svc_study_cancel(r->ctx->server, api_param(r, "id"), &st, &e);
    if (rc < 0) return api_reply_err(r, rc, &e);
    rc = api_reply_json(r, 202, study_json(&st));
    svc_study_clear(&st);
    return rc;
}

/* DELETE /v1/studies/{id}: the study, its jobs and models. 204; 404; 409 while a job of
 * it is queued or running. */
int api_h_study_delete(api_req *r)
{
    dc_err e = {0};
    if (!r->ctx->server) return api_no_service(r);
    int rc = svc_study_delete(r->ctx->server, api_param(r, "id"), &e);
    return rc < 0 ? api_reply_err(r, rc, &e) : api_reply_buf(r, 204, NULL, "", 0);
}
