/* queue: see queue.h. The claim is one UPDATE ... RETURNING on both backends; on
 * PostgreSQL its row is chosen FOR UPDATE SKIP LOCKED (no global lock: claimers never
 * queue behind each other or behind other writers), on SQLite inside BEGIN IMMEDIATE. */
#include "queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "svc_internal.h"

void queue_worker_name(char *buf, size_t cap, int slot)
{
    char host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    snprintf(buf, cap, "%.40s:%ld/%d", host, (long)getpid(), slot);
}

static int sql_err(store *st, const char *what, dc_err *e)
{
    return svc__sql_err(store_db(st), what, e);
}

/* Runs st (prepared, bound) to its end. */
static int run(store *s, db_stmt *st, const char *what, dc_err *e)
{
    int rc = db_step(st) == DB_DONE ? 0 : sql_err(s, what, e);
    db_finalize(st);
    return rc;
}

void queue_claim_free(queue_claim *c)
{
    if (c) free(c->spec), c->spec = NULL;
}

static const char claim_sql[] =
    "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = ?1, "
    "lease_until = dc_later(?2), started_at = COALESCE(started_at, dc_now()), "
    "phase = 'loading', error = NULL, updated_at = dc_now() "
    "WHERE status = 'queued' AND id = (SELECT id FROM jobs WHERE status = 'queued' AND "
    "(ae_job IS NULL OR EXISTS (SELECT 1 FROM study_ae a WHERE a.job_id = jobs.ae_job)) "
    "ORDER BY created_at, rowid LIMIT 1%s) "
    "RETURNING id, COALESCE(dataset_id, ''), spec, resume, COALESCE(study_id, ''), "
    "COALESCE(ae_job, ''), attempts";

int queue_claim_next(store *s, const char *worker, double lease_s, queue_claim *out,
                     dc_err *e)
{
    db_conn *h = store_db(s);
    db_stmt *st = NULL;
    char sql[sizeof claim_sql + 32], tok[24];
    int pg = store_kind(s) == DB_PG, rc, got = 0;

    memset(out, 0, sizeof *out);
    svc__new_id(tok, sizeof tok, "");
    snprintf(out->lease, sizeof out->lease, "%s#%.8s", worker, tok);
    snprintf(sql, sizeof sql, claim_sql, pg ? " FOR UPDATE SKIP LOCKED" : "");
    /* PostgreSQL: a plain transaction, not store_begin's write lock (SKIP LOCKED is
       the point); SQLite: BEGIN IMMEDIATE */
    rc = pg ? (db_exec(h, "BEGIN") < 0 ? sql_err(s, "claim job", e) : 0) : store_begin(s, e);
    if (rc < 0) return rc;
    if (db_prepare(h, sql, &st) != DB_OK) {
        rc = sql_err(s, "claim job", e);
        goto out;
    }
    db_bind_text(st, 1, out->lease);
    db_bind_double(st, 2, lease_s);
    rc = db_step(st);
    if (rc == DB_ROW) {
        svc__col_text(st, 0, out->id, sizeof out->id);
        svc__col_text(st, 1, out->dataset, sizeof out->dataset);
        out->spec = strdup(db_column_text(st, 2) ? db_column_text(st, 2) : "");
        out->resume = db_column_int(st, 3);
        svc__col_text(st, 4, out->study, sizeof out->study);
        svc__col_text(st, 5, out->ae_job, sizeof out->ae_job);
        out->attempt = db_column_int(st, 6);
        got = 1;
        rc = db_step(st) == DB_DONE ? 0 : sql_err(s, "claim job", e);
    } else {
        rc = rc == DB_DONE ? 0 : sql_err(s, "claim job", e);
    }
    db_finalize(st);
    st = NULL;
    if (rc < 0) goto out;
    if (got) {
        if (!out->spec) {
            rc = dc_err_set(e, DC_ENOMEM, "out of memory");
            goto out;
        }
        if (db_prepare(h, "INSERT INTO job_attempts (job_id, attempt, lease, worker, started_at) "
                          "VALUES (?, ?, ?, ?, dc_now())", &st) != DB_OK) {
            rc = sql_err(s, "claim job", e);
            goto out;
        }
        db_bind_text(st, 1, out->id);
        db_bind_int(st, 2, out->attempt);
        db_bind_text(st, 3, out->lease);
        db_bind_text(st, 4, worker);
        rc = run(s, st, "claim job", e);
        st = NULL;
        if (rc < 0) goto out;
    }
    rc = store_commit(s, e);
out:
    db_finalize(st);
    if (rc < 0 || !got) {
        store_rollback(s);
        queue_claim_free(out);
    }
    return rc < 0 ? rc : got;
}

int queue_renew(store *s, const char *job, const char *lease, double lease_s, int *cancel,
                dc_err *e)
{
    db_stmt *st = NULL;
    int rc;
    *cancel = 0;
    if (db_prepare(store_db(s), "UPDATE jobs SET lease_until = dc_later(?3) WHERE id = ?1 "
                                "AND lease_owner = ?2 AND status = 'running' "
                                "RETURNING cancel_requested", &st) != DB_OK)
        return sql_err(s, "renew lease", e);
    db_bind_text(st, 1, job);
    db_bind_text(st, 2, lease);
    db_bind_double(st, 3, lease_s);
    rc = db_step(st);
    if (rc == DB_ROW) {
        *cancel = db_column_int(st, 0) != 0;
        rc = db_step(st) == DB_DONE ? 0 : sql_err(s, "renew lease", e);
    } else if (rc == DB_DONE) {
        rc = dc_err_set(e, DC_ECONFLICT, "job %s: lost the lease (%s)", job, lease);
    } else {
        rc = sql_err(s, "renew lease", e);
    }
    db_finalize(st);
    return rc;
}

int queue_fence(store *s, const char *job, const char *lease, dc_err *e)
{
    db_stmt *st = NULL;
    int rc;
    if (db_prepare(store_db(s), "SELECT 1 FROM jobs WHERE id = ? AND lease_owner = ? AND "
                                "status = 'running'", &st) != DB_OK)
        return sql_err(s, "check lease", e);
    db_bind_text(st, 1, job);
    db_bind_text(st, 2, lease);
    rc = db_step(st);
    rc = rc == DB_ROW ? 0
         : rc == DB_DONE ? dc_err_set(e, DC_ECONFLICT, "job %s: lost the lease (%s): another "
                                      "worker may run it now", job, lease)
                         : sql_err(s, "check lease", e);
    db_finalize(st);
    return rc;
}

int queue_end(store *s, const char *job, const char *lease, const char *outcome, dc_err *e)
{
    db_conn *h = store_db(s);
    db_stmt *st = NULL;
    int rc;
    if (db_prepare(h, "UPDATE job_attempts SET ended_at = dc_now(), outcome = ? "
                      "WHERE job_id = ? AND lease = ?", &st) != DB_OK)
        return sql_err(s, "end attempt", e);
    db_bind_text(st, 1, outcome);
    db_bind_text(st, 2, job);
    db_bind_text(st, 3, lease);
    if ((rc = run(s, st, "end attempt", e)) < 0) return rc;
    if (db_prepare(h, "UPDATE jobs SET lease_owner = NULL, lease_until = NULL "
                      "WHERE id = ? AND lease_owner = ?", &st) != DB_OK)
        return sql_err(s, "end attempt", e);
    db_bind_text(st, 1, job);
    db_bind_text(st, 2, lease);
    return run(s, st, "end attempt", e);
}

int queue_reap(store *s, dc_err *e)
{
#define EXPIRED "status = 'running' AND COALESCE(lease_until, '') < dc_now()"
#define CLEAR "lease_owner = NULL, lease_until = NULL, eta_s = NULL, updated_at = dc_now()"
    static const char *const sql[] = {
        "UPDATE job_attempts SET ended_at = dc_now(), outcome = 'lost' WHERE ended_at IS NULL "
        "AND lease IN (SELECT lease_owner FROM jobs WHERE " EXPIRED ")",
        /* its worker vanished: again, from the checkpoint when there is one */
        "UPDATE jobs SET status = 'queued', phase = NULL, " CLEAR ", "
        "resume = CASE WHEN EXISTS (SELECT 1 FROM checkpoints c WHERE c.job_id = jobs.id) "
        "THEN 1 ELSE 0 END, progress = CASE WHEN EXISTS (SELECT 1 FROM checkpoints c WHERE "
        "c.job_id = jobs.id) THEN progress ELSE 0 END "
        "WHERE " EXPIRED " AND cancel_requested = 0 AND attempts < 3",
        "UPDATE jobs SET status = 'cancelled', finished_at = dc_now(), " CLEAR
        " WHERE " EXPIRED " AND cancel_requested = 1",
        "UPDATE jobs SET status = 'failed', finished_at = dc_now(), " CLEAR ", "
        "error = 'its worker was lost ' || CAST(attempts AS TEXT) || ' times (the process "
        "died or stopped renewing its lease); not started again' WHERE " EXPIRED,
    };
#undef EXPIRED
#undef CLEAR
    _Static_assert(SVC_MAX_ATTEMPTS == 3, "the SQL above says 3");
    int64_t n = 0;
    /* never wait behind another writer: the keeper that reaps also renews leases */
    int rc = store_try_begin(s, e);
    if (rc <= 0) return rc;
    for (size_t i = 0; i < sizeof sql / sizeof *sql; i++) {
        if (db_exec(store_db(s), sql[i]) != DB_OK) {
            rc = sql_err(s, "reap expired leases", e);
            store_rollback(s);
            return rc;
        }
        if (i > 0) n += db_changes(store_db(s));
    }
    if ((rc = store_commit(s, e)) < 0) return rc;
    return n > 1000000 ? 1000000 : (int)n;
}
