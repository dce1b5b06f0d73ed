/* svc_internal: what svc*.c share and nobody else should use. */
#ifndef DC_SVC_INTERNAL_H
#define DC_SVC_INTERNAL_H

#include <pthread.h>
#include "db.h"
#include <stdatomic.h>

#include "cluster.h"
#include "store.h"
#include "svc.h"

/* One worker thread and the job it runs. */
typedef struct svc_slot {
    svc *s;
    pthread_t thread;
    int started;
    char job_id[JOBSPEC_ID_MAX]; /* "" when idle; under s->mu */
    atomic_int cancel;           /* set by svc_job_cancel for job_id */
    atomic_int stop;             /* core's stop flag (polled per batch): cancel or shutdown */
    atomic_int lost;             /* the lease was lost: write nothing more for the job */
    char lease[96];              /* the claim's token (queue.h); under s->mu */
    double samples_per_s;        /* under s->mu */
} svc_slot;

/* A loaded model. predict uses the net's workspace: one caller at a time (mu). */
typedef struct svc_model {
    char id[JOBSPEC_ID_MAX];
    cluster_model *m;
    pthread_mutex_t mu;
    int refs;       /* under s->cache_mu */
    uint64_t used;  /* LRU clock, under s->cache_mu */
    int cached;     /* 0: evicted or never cached, freed at the last release */
} svc_model;

struct svc {
    svc_config cfg;
    char *db_path;
    char *file_base;      /* local files are named after it: the SQLite file's path, or
                             "<spool>/deepclust-<pid>" for PostgreSQL */
    int pg;               /* the store is PostgreSQL (many processes may share it) */
    pthread_mutex_t mu;   /* pool, slots, stopping */
    pthread_cond_t wake;  /* a job was queued, or stop */
    int stopping;
    store **pool;         /* idle connections for callers' threads */
    int npool, cappool;
    store **all;          /* every pooled connection ever opened (closed at free) */
    int nall, capall;
    svc_slot *slots;
    int nslots;
    int blas_threads;
    atomic_llong samples_total; /* training samples processed, all jobs */
    pthread_mutex_t cache_mu;
    svc_model **cache;
    int ncache, capcache;
    uint64_t clock;
    atomic_llong limit_hits[SVC_LIMIT_COUNT];
    atomic_int uploads;          /* in progress (svc_upload_begin) */
    pthread_mutex_t reserve_mu;  /* the reserve file */
    char *reserve_path;          /* "<db path>.reserve" */
    int64_t reserve_held;        /* bytes allocated in it now */
    atomic_int recovery_pending; /* svc__recover stopped by a full disk */
    pthread_t keeper;            /* renews leases, reaps expired ones, hears NOTIFY */
    int keeper_started;
};

store *svc__db_get(svc *s, dc_err *e);
void svc__db_put(svc *s, store *st);

/* DC_EIO with what and SQLite's message; DC_ENOSPC ("disk full: ...") when SQLite
 * failed for space (the disk or quota is full). */
int svc__sql_err(db_conn *db, const char *what, dc_err *e);

/* The one row of sql (its only parameter, ?1 or ?, bound to id): 0 with *st on the row
 * (read it, then db_finalize *st); DC_ENOTFOUND "no <kind> <id>" when there is none,
 * svc__sql_err(what) on an error. *st is always to be finalized (NULL-safe). */
int svc__row_by_id(db_conn *db, const char *sql, const char *id, const char *kind,
                   const char *what, db_stmt **st, dc_err *e);

/* The disk reserve (svc.c). release gives the file's space back to the filesystem and
 * returns 1 when it held some, 0 otherwise. */
int svc__reserve_release(svc *s);
/* After a write failed for space: releases the reserve and checkpoints db's WAL
 * (TRUNCATE); 1 when that may have made room (retry the write once then). */
int svc__make_room(svc *s, store *db);
/* After a delete: finishes a recovery the disk had stopped, gives free pages back to
 * the filesystem when under SVC_DISK_LOW is free (store_vacuum, steps of half the
 * reserve, up to SVC_DISK_LOW), checkpoints the WAL (TRUNCATE) and takes the reserve
 * again if it can. */
void svc__space_back(svc *s, store *db);

enum {
    SVC_DISK_MIN_FREE = 1 << 20, /* bytes: under this the disk counts as full */
    SVC_DISK_LOW = 64 << 20,     /* under this, deletes give space back to the filesystem */
};

/* 0 when a write that adds data may go ahead: the reserve is held (taken again here if
 * it can be) and SVC_DISK_MIN_FREE bytes are free. DC_ENOSPC "disk full: what (...)"
 * otherwise, so that new data never eats the space deletes need. No reserve configured:
 * only the free-space test. */
int svc__space_ok(svc *s, const char *what, dc_err *e);
/* Free bytes for an unprivileged writer on the filesystem of the database (-1 unknown). */
int64_t svc__disk_free(const svc *s);
/* Drops a model from the predict cache (after its row was deleted). */
void svc__model_evict(svc *s, const char *id);
/* A job was queued: wakes this process's idle workers, and (PostgreSQL) every other
 * process's through NOTIFY dc_jobs on h (outside a transaction). */
void svc__wake_workers(svc *s, db_conn *h);
void svc__new_id(char *buf, size_t cap, const char *prefix);
/* Text column i into buf (cap bytes, truncated; "" when NULL). */
void svc__col_text(db_stmt *st, int i, char *buf, size_t cap);
/* Reads len bytes at byte offset off of dataset_data(id, part) into buf. */
struct dataset;
/* The whole dataset id (samples, labels, image shape) into ds (dataset_free it); the
 * code gone with "dataset <id> is gone" when it has no row. */
int svc__dataset_load(db_conn *h, const char *id, int gone, struct dataset *ds, dc_err *e);
int svc__blob_read(db_conn *db, const char *id, const char *part, int64_t off, void *buf,
                   int64_t len, dc_err *e);
/* The last dataset chunk a sequence of reads fetched (svc__blob_read_via), so that
 * reading a chunk's rows piece by piece fetches it once. Zero it to start. */
typedef struct svc__chunk {
    char id[JOBSPEC_ID_MAX];
    char part[2];
    int64_t off, len;
    unsigned char *data;
} svc__chunk;
int svc__blob_read_via(db_conn *h, svc__chunk *c, const char *id, const char *part,
                       int64_t off, void *buf, int64_t len, dc_err *e);
void svc__chunk_free(svc__chunk *c);

/* Model cache: a referenced, loaded model, or DC_ENOTFOUND. */
int svc__model_acquire(svc *s, db_conn *db, const char *id, svc_model **out, dc_err *e);
void svc__model_release(svc *s, svc_model *m);

/* The worker pool (svc_worker.c). */
int svc__workers_start(svc *s, dc_err *e);
void svc__workers_stop(svc *s);
/* Sets the cancel flag of the slot running job id; 1 if one was. */
int svc__cancel_running(svc *s, const char *id);
/* Removes upload temporary files a crash left beside the database. */
void svc__clean_uploads(const svc *s);
/* Start-up recovery of jobs left running. */
int svc__recover(svc *s, store *st, dc_err *e);

/* Preprocessing (svc_export.c). plan: what upload u applies to data of core dtype dtype
 * (data_dtype), lo/hi the raw min and max (scale unit only). block: applies it to m
 * stored values x in place (unit; the reader did the rest) and widens pre's range
 * (first: start it). row: 6 columns from col (scale_mode, scale, scale_shift,
 * scale_mult, range_min, range_max); bind: the same 6 from parameter first. */
int svc__preprocess_plan(const svc_upload *u, int dtype, double lo, double hi,
                         svc_preprocess *pre, dc_err *e);
void svc__preprocess_block(svc_preprocess *pre, float *x, int64_t m, int first);
void svc__preprocess_row(db_stmt *st, int col, svc_preprocess *pre);
void svc__preprocess_bind(db_stmt *st, int first, const svc_preprocess *pre);
/* Copies dataset's preprocessing onto model's row (in the caller's transaction). */
int svc__model_preprocess_record(db_conn *h, const char *model, const char *dataset, dc_err *e);
/* ds (cap bytes): a ready dataset's id, or the name of exactly one ready dataset (then
 * replaced by its id). DC_ENOTFOUND none, DC_EINVAL several (listed). */
int svc__dataset_resolve(db_conn *h, char *ds, size_t cap, dc_err *e);

/* ---- a job's results (svc_results.c; its job_results row, migrations/0002) ---------- */

struct dataset;

typedef struct svc__results {
    int64_t n;
    int k, embed;
    double x_min, x_max;    /* the dataset's value range */
    int32_t *labels;        /* (n) */
    float *qmax;            /* (n) max_j q_ij */
    float *iforest;         /* (n) */
    float *recon;           /* (n) MSE, or NULL (no decoder) */
    double *forest;         /* iforest_save() form, forest_len doubles; NULL unless asked */
    size_t forest_len;
    int32_t *truth;         /* (n) the dataset's labels, or NULL */
    char map_source[16];    /* "pca" or "manifold" */
    int map_n;
    int32_t *map_index;     /* (map_n) */
    float *map_xy;          /* (map_n, 2) */
    float *centroid_xy;     /* (k, 2) */
    int c;                  /* classes; 0: no confusion matrix (no labels, or over 1000) */
    int32_t *classes;       /* (c) */
    int64_t *confusion;     /* (k, c) */
    int32_t *mapping;       /* (k) */
    double acc;
    double seconds;         /* the computation's */
} svc__results;

/* What the results of a job came from (svc__results_get). "" = gone. */
typedef struct svc__job_ref {
    char dataset[JOBSPEC_ID_MAX];
    char model[JOBSPEC_ID_MAX];
    int d;                  /* the dataset's, 0 when it is gone */
    char shape[96];         /* the dataset's sample shape, JSON ("" when gone) */
    uint64_t seed;
} svc__job_ref;

/* Computes the results of model m on its training set ds. labels, q (n, k) and z (n,
 * embed; unused for kmeans, whose embedding is ds->x) are the model's predictions on ds
 * when the caller has them (the run driver's), else NULL: computed here (the caller
 * holds the model's lock). seed: the job's (forest, map samples). */
int svc__results_compute(const cluster_model *m, const struct dataset *ds,
                         const int32_t *labels, const float *q, const float *z, uint64_t seed,
                         svc__results *out, dc_err *e);
/* INSERT OR REPLACE of the job's row, inside the caller's transaction. */
int svc__results_insert(db_conn *db, const char *job, const svc__results *r, dc_err *e);
void svc__results_free(svc__results *r); /* zeroed is fine */
/* The results of job (with_forest: the forest too) and where they came from:
 * DC_ENOTFOUND no job, DC_ECONFLICT not succeeded; computed and stored here when the job
 * has none yet (it succeeded before migration 0002), from its model and dataset. */
int svc__results_get(svc *s, store *db, const char *job, int with_forest, svc__job_ref *ref,
                     svc__results *out, dc_err *e);

/* ---- studies (svc_studies.c) */
struct dataset;
/* In the claim's transaction: queued jobs whose autoencoder can no longer come (its job
 * ended or went without keeping it) fail with the reason; autoencoders no queued or
 * running job waits for are deleted. */
int svc__studies_settle(db_conn *db, dc_err *e);
/* The pretrained autoencoder of job (written when its pretraining ends) / read back
 * (*ae malloc'd). get: DC_ENOTFOUND when there is none. */
int svc__study_ae_put(store *db, const char *job, const char *lease, const void *ae,
                      size_t len, dc_err *e);
int svc__study_ae_get(db_conn *db, const char *job, void **ae, size_t *len, dc_err *e);
/* The "criteria" member of a study job's metrics (new reference; nulls where not
 * computed): study_criteria_of on a sample of STUDY_SAMPLE points. */
json_t *svc__criteria_json(const cluster_model *m, const struct dataset *ds,
                           const cluster_event *last);
/* The labels of job's model on its dataset's n samples (d features) into out (n). The
 * one place labels are fetched: those stored with the job's results (job_results.labels), else computed with
 * the model (x read once into *x_cache, malloc'd, NULL at first; the caller frees it). */
int svc__job_labels(svc *s, db_conn *db, const char *job, const char *dataset, int64_t n,
                    int d, float **x_cache, int32_t *out, dc_err *e);
/* svc_jobs.c's operator limits of one job spec (jobspec_error names the field). */
int svc__job_check_limits(svc *s, db_conn *h, const cluster_spec *cs, int64_t n, int d,
                          int hh, int ww, int cc, jobspec_error *je, dc_err *e);

#endif
