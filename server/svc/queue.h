/* queue: the job queue over the store, shared by every worker of every process.
 *
 * A worker claims the oldest claimable queued job in one statement (PostgreSQL:
 * SELECT ... FOR UPDATE SKIP LOCKED inside the UPDATE, so that concurrent claimers
 * never wait for each other nor take the same row); the claim sets status 'running',
 * attempts + 1 and a lease: lease_owner = a token unique to this claim, lease_until =
 * now + lease_s. While it runs, the worker renews the lease (queue_renew, every
 * lease_s / 4), which also tells it about a cancel request. Every write a worker makes
 * for its job checks the token first (queue_fence, inside the write's transaction), so a
 * worker that lost its lease (paused, partitioned, too slow) changes nothing. Anyone may
 * reap (queue_reap): a running job whose lease expired goes back to 'queued' (to resume
 * from its checkpoint when it has one), or to 'cancelled' when a cancel was asked, or to
 * 'failed' after SVC_MAX_ATTEMPTS attempts; job_attempts keeps one row per claim (who,
 * from when to when, how it ended).
 *
 *   queue_claim c;
 *   if (queue_claim_next(st, "host:123/0", 15, &c, &e) == 1) {
 *       int cancel;
 *       ... queue_renew(st, c.id, c.lease, 15, &cancel, &e) ...   // DC_ECONFLICT: lost
 *       ... queue_end(st, c.id, c.lease, "succeeded", &e) ...     // in the final tx
 *       queue_claim_free(&c);
 *   }
 */
#ifndef DC_QUEUE_H
#define DC_QUEUE_H

#include "jobspec.h"
#include "store.h"

enum { QUEUE_LEASE_MAX = 96 };

typedef struct queue_claim {
    char id[JOBSPEC_ID_MAX];
    char dataset[JOBSPEC_ID_MAX]; /* "" when its dataset was deleted */
    char study[JOBSPEC_ID_MAX];   /* "" when not part of a study */
    char ae_job[JOBSPEC_ID_MAX];  /* "" or the study job whose autoencoder it starts from */
    char lease[QUEUE_LEASE_MAX];  /* this claim's token (jobs.lease_owner) */
    char *spec;                   /* the job spec, JSON text (malloc'd) */
    int resume;                   /* 1: continue from the job's checkpoint */
    int attempt;                  /* jobs.attempts after the claim (1 = first) */
} queue_claim;

/* A worker's name for leases: "<host>:<pid>/<slot>" into buf. */
void queue_worker_name(char *buf, size_t cap, int slot);

/* Claims the oldest queued job that can start (a study job waiting for its shared
 * autoencoder cannot). 1 claimed (*out filled; queue_claim_free it), 0 none, < 0 error.
 * Not inside a transaction of the caller's. */
int queue_claim_next(store *st, const char *worker, double lease_s, queue_claim *out,
                     dc_err *e);
void queue_claim_free(queue_claim *c);

/* Extends the lease of job to now + lease_s; *cancel = 1 when a cancel was asked.
 * DC_ECONFLICT when lease is no longer the job's (reaped, taken over, ended). */
int queue_renew(store *st, const char *job, const char *lease, double lease_s, int *cancel,
                dc_err *e);

/* Inside a write transaction of the worker: 0 when lease still holds job (running),
 * DC_ECONFLICT "lost the lease" otherwise: roll back then. */
int queue_fence(store *st, const char *job, const char *lease, dc_err *e);

/* Inside the transaction that ends the claim: closes its job_attempts row with outcome
 * (succeeded, failed, cancelled, requeued) and clears the lease. */
int queue_end(store *st, const char *job, const char *lease, const char *outcome, dc_err *e);

/* Puts back running jobs whose lease expired (see above); returns how many, or < 0.
 * Its own transaction; on PostgreSQL it does nothing (returns 0) when another writer
 * holds the write lock, rather than wait (the keeper that reaps also renews leases). */
int queue_reap(store *st, dc_err *e);

#endif
