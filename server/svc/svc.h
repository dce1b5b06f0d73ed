/* svc: the clustering service behind the HTTP routes: datasets, jobs, the worker pool,
 * models and predictions, all kept in one SQLite file (store.h, migrations/).
 *
 * The layer speaks no HTTP: svc_* functions return 0 or a negative DC_E* code
 * (core/dc_err.h; the dc_err message is for a person), and plain data in C structs
 * (svc_dataset, svc_job, svc_iteration, svc_assignments, svc_model_info,
 * svc_prediction). The api/ handlers parse a request, call one svc_* function and turn
 * its result into a reply (the JSON is theirs); api/ alone maps codes to HTTP statuses.
 * jansson is used here only for the job spec, kept as JSON text in SQLite. May include: core/ and this folder (SQLite, jansson);
 * never api/ or libmicrohttpd.
 *
 *   svc_config cfg = {.db_path = "deepclust.db", .workers = 1};
 *   svc *s = NULL;
 *   if (svc_open(&s, &cfg, &e) < 0) ...;   // migrates, recovers crashed jobs, starts workers
 *   ... svc_job_create(s, spec, &job, &je, &e) ...
 *   svc_shutdown(s);                       // running jobs stop and go back to the queue
 *   svc_free(s);
 *
 * Threads: every svc_* function is thread-safe. Callers' threads borrow SQLite connections
 * from a pool (one connection is used by one thread at a time); each worker thread owns
 * its own. Workers claim the oldest queued job in a transaction, train it with
 * cluster_fit_ex, write every progress event as an iterations row, checkpoints into the
 * checkpoints table, and the final model into models. A cancel reaches a running job
 * through an in-memory flag (and the jobs.cancel_requested column, polled once a
 * second), checked in the progress callback. At start-up, jobs a crash left 'running'
 * are requeued: to resume from their checkpoint when they have one, from the start
 * otherwise (at most SVC_MAX_ATTEMPTS starts, then failed with the reason).
 *
 * Limits and disk: svc_config's max_* refuse what cannot fit when it is submitted
 * (svc_limit, counted for /metrics). A write that fails for space is DC_ENOSPC with
 * one message; new data is refused while the disk reserve cannot be held, and
 * deletes give the reserve up to get through on a full disk (docs/reliability.md). */
#ifndef DC_SVC_H
#define DC_SVC_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "dc_err.h"
#include "jobspec.h"
#include "store.h"
#include "study.h"

/* Operator limits (deepclust serve --max-*), each refused with the code below naming
 * the limit, and counted in /metrics as deepclust_limit_refusals_total{limit="<name>"}. */
typedef enum svc_limit {
    SVC_LIMIT_MODEL_PARAMS = 0, /* a job's model has more parameters: DC_EINVAL */
    SVC_LIMIT_TRAIN_MEMORY,     /* a job's estimated training memory is larger: DC_EINVAL */
    SVC_LIMIT_DATASET,          /* an upload's stored size is larger: DC_ETOOLARGE */
    SVC_LIMIT_QUEUED_JOBS,      /* the queue is full: DC_EBUSY */
    SVC_LIMIT_UPLOADS,          /* too many uploads at once: DC_EBUSY */
    SVC_LIMIT_BODY,             /* a request body is larger (counted by api/http.c) */
    SVC_LIMIT_COUNT
} svc_limit;

/* "model_params", "train_memory", ... (the metric's label). */
const char *svc_limit_name(svc_limit l);

/* Paging bounds: limit in [1, *_PAGE_MAX], offset in [0, SVC_OFFSET_MAX], so that
 * offset + limit never wraps (callers refuse values outside them). */
enum { SVC_MAX_ATTEMPTS = 3, SVC_PAGE_MAX = 1000, SVC_ASSIGN_PAGE_MAX = 10000,
       SVC_OFFSET_MAX = 1000000000 };

typedef struct svc_config {
    const char *db_path;  /* the store: a SQLite path, sqlite:PATH or a postgresql:// URL */
    /* PostgreSQL only: the folder for upload temporary files (SQLite keeps them beside
     * the database file); NULL = $TMPDIR or /tmp. */
    const char *spool_dir;
    /* Seconds a worker's claim on a job lasts without renewal (renewed every lease_s / 4);
     * a job whose worker vanished is claimed again after it. <= 0 = 15. */
    double lease_s;
    /* A process that serves no HTTP (deepclust worker): it never uploads, so it leaves
     * half-written uploads and upload temporary files alone at start-up. */
    int no_http;
    int workers;          /* training threads; 0 = none (jobs stay queued: tests) */
    int blas_threads;     /* OpenBLAS threads; 0 = max(1, cores / workers) */
    int model_cache;      /* models kept loaded for predict; <= 0 = 8 */
    double ckpt_every_s;  /* checkpoint period while training; <= 0 = 30 s */
    /* Operator limits; 0 = none (tests), deepclust serve sets its defaults. */
    int64_t max_model_params;  /* parameters (floats) of one job's model */
    int64_t max_train_bytes;   /* estimated training memory of one job (jobspec_cost) */
    int64_t max_dataset_bytes; /* stored float32 bytes of one dataset (x and labels) */
    int max_queued_jobs;       /* jobs waiting for a worker */
    int max_uploads;           /* uploads (dataset or labels) in progress at once */
    /* Bytes kept allocated in "<db path>.reserve" and given up when a write that frees
     * space (a delete, recovery, the clean-up of a failed upload) finds the disk full;
     * taken again once space is back. 0 = no reserve. SQLite only: a PostgreSQL server
     * minds its own disk. */
    int64_t disk_reserve_bytes;
} svc_config;

typedef struct svc svc;

/* store_open, and on a disk too full to open the database (DC_ENOSPC) gives up the
 * reserve file "<db_path>.reserve" and tries again: start-up needs no free space. */
int svc_store_open(store **out, const char *db_path, dc_err *e);

/* Opens the database (migrating it), recovers jobs left running, starts the workers. */
int svc_open(svc **out, const svc_config *cfg, dc_err *e);

/* Stops the workers: a running job is asked to stop and goes back to 'queued' (keeping
 * its checkpoint, so that the next start resumes it). Waits for the threads.
 * Idempotent. */
void svc_shutdown(svc *s);

/* svc_shutdown, then closes every connection and frees s. NULL is a no-op. */
void svc_free(svc *s);

/* DC_ENOSPC with the one message every full-disk refusal carries ("disk full: what
 * (detail); free space by deleting ..."), whichever write failed. */
int svc_nospace(dc_err *e, const char *what, const char *detail);
/* 1 when errno value err means no space (ENOSPC, EDQUOT). */
int svc_errno_nospace(int err);

/* Counts one refusal for limit l (thread-safe); svc functions count their own, the
 * HTTP layer calls it for bodies over its limit. s NULL is a no-op. */
void svc_limit_count(svc *s, svc_limit l);

/* The disk under the database: free bytes (statvfs of its directory), the reserve
 * held, full = under 1 MiB free or the reserve cannot be held (then new data is refused with DC_ENOSPC). Tries to take the reserve again when it is not held
 * and to finish a start-up recovery that the disk stopped. */
typedef struct svc_disk {
    int64_t free_bytes;
    int64_t reserve_bytes; /* held now */
    int full;
    int recovery_pending;  /* start-up recovery could not write yet (disk full) */
} svc_disk;
void svc_disk_status(svc *s, svc_disk *out);

/* An upload slot (at most cfg.max_uploads at once): 0, DC_EBUSY with a message, or
 * DC_ENOSPC when the disk is full (the reserve cannot be held). Every successful begin
 * is paired with one end. */
int svc_upload_begin(svc *s, dc_err *e);
void svc_upload_end(svc *s);

/* ---- datasets ---------------------------------------------------------------------- */

typedef struct svc_upload {
    const char *name;     /* shown in listings; NULL = "dataset" */
    int format;           /* data_format (DATA_FMT_AUTO detects) */
    int scale;            /* enum data_scale */
    int csv_header;       /* enum data_csv_header */
    int csv_has_label;    /* 1: CSV label column csv_label_col */
    int csv_label_col;
    int shape_h, shape_w, shape_c; /* ?shape=H,W[,C] for flat samples; all 0 = none */
    char sha256[65];      /* of the body as uploaded */
    int64_t upload_bytes;
} svc_upload;

/* A mkstemp() template for an upload's temporary file: "<db path>.upload-XXXXXX",
 * beside the database. Files of this name that a crash left behind are removed by
 * svc_open. Returns 0, or DC_EINVAL when cap is too small. */
int svc_upload_template(const svc *s, char *buf, size_t cap);

/* The scaling applied to a dataset's samples at upload, and the range of the stored
 * values: stored = (uploaded - shift) * mult. A model keeps a copy (svc_model_info). */
typedef struct svc_preprocess {
    int known;            /* 0: made before this was recorded (nothing to check) */
    char mode[16];        /* as asked: auto, none, div255, unit */
    char scale[16];       /* as applied: none, div255, unit */
    double shift, mult;
    double min, max;      /* of the stored values */
} svc_preprocess;

/* A dataset: its row in the datasets table (the samples stay in the store). */
typedef struct svc_dataset {
    char id[JOBSPEC_ID_MAX];
    char name[256];
    char format[32];      /* as uploaded: "idx", "idx.gz", "npy", "csv", "dcf32" */
    char dtype[16];       /* element type of the upload ("uint8"); "" = unknown */
    int64_t n;            /* samples */
    int d;                /* features per sample */
    char shape[96];       /* one sample's shape, a JSON array: "[28,28]" */
    int has_labels;
    int64_t n_classes;    /* distinct labels; -1 = no labels */
    int64_t size_bytes;   /* stored (x and labels) */
    char sha256[65];      /* of the body as uploaded; "" = unknown */
    char created_at[32];  /* "2026-01-31T12:00:00.000Z" */
    svc_preprocess pre;
} svc_dataset;

/* Validates and converts the uploaded file at path (streaming, bounded memory) into a
 * new dataset; *out = it. The file is left for the caller to remove. A file that
 * does not parse is DC_EFORMAT (message from core/data: byte offset or line), a label
 * vector DC_EINVAL; nothing is left in the database on failure. */
int svc_dataset_import(svc *s, const char *path, const svc_upload *u, svc_dataset *out,
                       dc_err *e);
/* Replaces the labels of dataset id with the label file at path (IDX1, NPY 1-D, CSV with
 * one column); the count must match (DC_EINVAL otherwise). *out = the dataset after. */
int svc_dataset_set_labels(svc *s, const char *id, const char *path, svc_dataset *out,
                           dc_err *e);
int svc_dataset_get(svc *s, const char *id, svc_dataset *out, dc_err *e);
/* A page of ready datasets, newest first: *items (malloc'd, free() it; NULL when *n is
 * 0) holds *n <= limit of them; *total counts them all. */
int svc_dataset_list(svc *s, int limit, int64_t offset, svc_dataset **items, int *n,
                     int64_t *total, dc_err *e);
/* DC_ECONFLICT while a queued or running job uses it. Finished jobs keep their rows
 * (their dataset becomes null). */
int svc_dataset_delete(svc *s, const char *id, dc_err *e);
/* Deletes a job that is not queued or running (DC_ECONFLICT then), with its iterations,
 * checkpoint and model. Like every delete, works on a full disk (the reserve). */
int svc_job_delete(svc *s, const char *id, dc_err *e);
/* Deletes a model (its job stays, with model null). */
int svc_model_delete(svc *s, const char *id, dc_err *e);

/* ---- jobs -------------------------------------------------------------------------- */

/* A job: its row in the jobs table, and the id of its model. The strings behind the
 * pointers are malloc'd: svc_job_clear frees them. */
typedef struct svc_job {
    char id[JOBSPEC_ID_MAX];
    char dataset[JOBSPEC_ID_MAX]; /* "" once the dataset was deleted */
    char method[32];
    int n_clusters;
    int64_t seed;
    char status[16];              /* queued, running, succeeded, failed, cancelled */
    char phase[32];               /* "" before the first */
    double progress;              /* percent, 0..100 */
    double eta_s;                 /* seconds left; NAN = unknown */
    double samples_per_s;         /* training throughput; NAN = not measured */
    int cancel_requested;
    char *error;                  /* why it failed, for a person; NULL = none */
    char *metrics;                /* final metrics, a JSON object's text; NULL = none */
    int attempts;                 /* starts by a worker */
    int resume;                   /* the next start continues from the checkpoint */
    char created_at[32], started_at[32], finished_at[32], updated_at[32]; /* "" = not yet */
    double queued_s, running_s;   /* NAN before it starts */
    char model[JOBSPEC_ID_MAX];   /* "" = none */
    char *spec;                   /* the spec with defaults, JSON text; NULL in listings */
} svc_job;

/* Frees what j's pointers hold and zeroes it. Zeroed jobs are fine. */
void svc_job_clear(svc_job *j);
/* svc_job_clear on each of items[0..n), then free(items). */
void svc_job_free_list(svc_job *items, int n);

/* Validates spec (borrowed; jobspec.h) against its dataset and queues a job; *out = the
 * job. On a spec error returns DC_EINVAL with je filled (jobspec.h: the field and its
 * message). */
int svc_job_create(svc *s, const json_t *spec, svc_job *out, jobspec_error *je, dc_err *e);
int svc_job_get(svc *s, const char *id, svc_job *out, dc_err *e);
/* status NULL or "" = all; newest first, without their spec. *items (svc_job_free_list;
 * NULL when *n is 0) holds *n <= limit jobs; *total counts them all. */
int svc_job_list(svc *s, const char *status, int limit, int64_t offset, svc_job **items,
                 int *n, int64_t *total, dc_err *e);
/* One progress row of a job (the iterations table). Values a phase does not have are
 * NAN (reals) or INT64_MIN (epoch, step). */
typedef struct svc_iteration {
    int64_t seq;          /* 0, 1, 2, ... within the job */
    char phase[32];
    int64_t epoch, step;  /* INT64_MIN = none */
    double loss, acc, nmi, ari, label_change, elapsed_s;
    char created_at[32];
} svc_iteration;

/* Rows with seq > since, in order: *items (free(); NULL when *n is 0) holds *n <= limit
 * of them. DC_ENOTFOUND without such a job. */
int svc_job_iterations(svc *s, const char *id, int64_t since, int limit, svc_iteration **items,
                       int *n, dc_err *e);
/* Queued: cancelled now. Running: flagged, the worker stops within a second or two.
 * Finished: DC_ECONFLICT. *out = the job. */
int svc_job_cancel(svc *s, const char *id, svc_job *out, dc_err *e);
/* Cluster assignments of a page of a job's training samples. labels and q are malloc'd:
 * svc_assignments_free. */
typedef struct svc_assignments {
    char model[JOBSPEC_ID_MAX];
    char dataset[JOBSPEC_ID_MAX];
    int64_t n;       /* samples in the dataset */
    int k;           /* clusters */
    int64_t offset;  /* of the first row here (clamped to n) */
    int64_t count;   /* rows here: min(limit, n - offset) */
    int32_t *labels; /* (count) */
    float *q;        /* (count, k) */
} svc_assignments;
void svc_assignments_free(svc_assignments *a); /* zeroed is fine */

/* Labels and q of training samples [offset, offset + limit), from the job's model. */
int svc_job_assignments(svc *s, const char *id, int64_t offset, int limit,
                        svc_assignments *out, dc_err *e);

/* ---- models ------------------------------------------------------------------------ */

/* A model: its row in the models table (without the weights). */
typedef struct svc_model_info {
    char id[JOBSPEC_ID_MAX];
    char job[JOBSPEC_ID_MAX]; /* "" once the job was deleted */
    char method[32];
    int n_clusters;
    int d;                    /* input features */
    char *arch;               /* layer sizes ..., a JSON object's text; malloc'd */
    int64_t size_bytes;
    char created_at[32];
    svc_preprocess pre;       /* of its training data */
} svc_model_info;

/* *out = model id; free out->arch with free(). */
int svc_model_get(svc *s, const char *id, svc_model_info *out, dc_err *e);

/* What a model says of n samples. The arrays are malloc'd: svc_prediction_free. */
typedef struct svc_prediction {
    int64_t n;
    int k;         /* clusters */
    int embed;     /* embedding width */
    int32_t *labels; /* (n) */
    float *q;        /* (n, k) soft assignments */
    float *z;        /* (n, embed) embeddings; NULL unless asked for */
} svc_prediction;
void svc_prediction_free(svc_prediction *p); /* zeroed is fine */

/* x (n, d) float32 -> *out (embeddings when want_z). A d other than the model's is
 * DC_EINVAL; NaN/Inf in x DC_EINVAL too (naming the sample). */
int svc_model_predict(svc *s, const char *id, const float *x, int64_t n, int d, int want_z,
                      svc_prediction *out, dc_err *e);

/* ---- exports and preprocessing ----------------------------------------------------- */

/* svc_upload.scale values beyond core's enum data_scale: min-max to [0, 1] (two passes;
 * the min and max used are recorded so that predict applies the same). */
enum { SVC_SCALE_UNIT = 100 };

/* What predict's input looks like against the model's training range. */
typedef struct svc_input_check {
    int far;              /* 1: some value is far outside the training range */
    double lo, hi;        /* smallest and largest input value (after scaling) */
    char msg[512];        /* for a person when far */
} svc_input_check;

/* Applies model id's recorded preprocessing to x (n, d) in place, as the upload did:
 * unit and div255 always, auto (uint8 / 255) only when integer_input (an NPY body of an
 * integer dtype), none never; then checks the values against the training range: far
 * outside is below min - span/2 or above max + span/2 (span = max - min, at least 1e-6),
 * e.g. above 1.5 for a model trained on [0, 1]. Models without a record: nothing done.
 * DC_ENOTFOUND without such a model. */
int svc_model_prepare_input(svc *s, const char *id, float *x, int64_t n, int d,
                            int integer_input, svc_input_check *out, dc_err *e);

/* The saved model (cluster_model_save's bytes, what `deepclust predict --model` reads),
 * read piece by piece so that serving it never holds it whole: svc_model_file gives its
 * size, svc_model_file_read bytes [off, off + len) of it. DC_ENOTFOUND without such a
 * model (also when it was deleted between two reads). */
int svc_model_file(svc *s, const char *id, int64_t *size, dc_err *e);
int svc_model_file_read(svc *s, const char *id, int64_t off, void *buf, int64_t len,
                        dc_err *e);

/* The whole assignment of a job's training samples, read in bounded chunks: open, then
 * svc_export_rows for any [offset, offset + count) (count <= SVC_EXPORT_CHUNK), close.
 * Holds a reference to the model, no connection between calls. */
enum { SVC_EXPORT_CHUNK = 4096 };
typedef struct svc_export svc_export;
typedef struct svc_export_info {
    char model[JOBSPEC_ID_MAX];
    char dataset[JOBSPEC_ID_MAX];
    int64_t n;       /* rows */
    int k;           /* q columns */
    int embed;       /* z columns (0 unless with_z) */
    int has_labels;  /* the dataset's true labels are known */
} svc_export_info;
/* Rows of one chunk, pointing into the export (valid until the next call). */
typedef struct svc_export_rows {
    int64_t offset, count;
    const int32_t *labels;   /* (count) */
    const float *q;          /* (count, k) */
    const float *z;          /* (count, embed) or NULL */
    const int32_t *truth;    /* (count) or NULL without labels */
    const float *outlier;    /* (count) or NULL: not stored yet */
} svc_export_rows;
/* DC_ENOTFOUND no job; DC_ECONFLICT no model, or its dataset deleted. */
int svc_export_open(svc *s, const char *job_id, int with_z, svc_export **out,
                    svc_export_info *info, dc_err *e);
int svc_export_read(svc_export *x, int64_t offset, int64_t count, svc_export_rows *out,
                    dc_err *e);
void svc_export_close(svc_export *x); /* NULL is fine */

/* ---- results: pictures and outliers ------------------------------------------------ */

/* What the picture routes show of a succeeded job (docs/api.md, "Pictures and outliers").
 * It is computed once, when the job ends, by its worker (svc_results.c: cluster of each
 * sample, max q, isolation-forest scores on the embedding, reconstruction errors, the 2-D
 * map, the confusion matrix) and stored beside the model (migrations/0002); a job that
 * succeeded before that gets it on its first request, from its model and dataset.
 * Codes: DC_ENOTFOUND unknown job or model; DC_ECONFLICT the job has not succeeded, or
 * what a request needs is gone (model, dataset); DC_EINVAL what the data cannot answer (no
 * labels, a cluster out of range, flat samples without a shape, no decoder, ...).
 * Images are floats in [0, 1] (count, h, w, c): samples of a dataset within [0, 1] as
 * they are, others min-max scaled by the dataset's range. The arrays are malloc'd; each
 * struct has its free (zeroed structs are fine). */

enum {
    SVC_PICS_MAX = 64,       /* samples per cluster, reconstructions, generated per cluster */
    SVC_OUTLIERS_MAX = 1000, /* outliers listed */
    SVC_MAP_MIN = 10, SVC_MAP_MAX = 5000, /* points of the embedding map */
    SVC_PICTURE_MAX_PIXELS = 1 << 24,     /* h * w of all the images of one reply */
};

/* How to draw one sample: h * w * c = d, c 1 (grey) or 3 (RGB), pixels (h, w, c). All 0
 * = the dataset's stored shape, when it is 2-D ([h, w]) or 3-D ([h, w, c]). */
typedef struct svc_shape { int h, w, c; } svc_shape;

typedef struct svc_images {
    int count, h, w, c; /* count 0: none (not asked for) */
    float *px;          /* (count, h, w, c) in [0, 1] */
} svc_images;

typedef struct svc_confusion {
    int k, c;           /* clusters (rows), classes (columns) */
    int64_t n;          /* samples counted */
    int32_t *classes;   /* (c) the label values, increasing */
    int64_t *counts;    /* (k, c) samples of cluster i with class j */
    int32_t *mapping;   /* (k) class index the Hungarian matching gives cluster i; -1 none */
    double acc;         /* matched samples / n: the job's ACC */
} svc_confusion;
/* DC_EINVAL when the dataset had no labels when the job ended. */
int svc_job_confusion(svc *s, const char *job, svc_confusion *out, dc_err *e);
void svc_confusion_free(svc_confusion *c);

enum { SVC_ORDER_CONFIDENT = 0, SVC_ORDER_RANDOM = 1 };

typedef struct svc_sample_req {
    int cluster;     /* 0..k-1, or -1 = every cluster */
    int n;           /* per cluster, 1..SVC_PICS_MAX */
    int order;       /* SVC_ORDER_CONFIDENT: highest q first; _RANDOM: a seeded draw */
    uint64_t seed;
    int images;      /* 1: also the images (the dataset must still be there) */
    svc_shape shape;
} svc_sample_req;

typedef struct svc_samples {
    int k;           /* clusters of the job */
    int rows, n;     /* clusters listed, samples asked for per cluster */
    int *cluster;    /* (rows) */
    int64_t *size;   /* (rows) members of each */
    int *count;      /* (rows) samples listed: min(n, size) */
    int64_t *index;  /* (rows, n): row r's samples at [r * n, r * n + count[r]) */
    float *q;        /* (rows, n) q of each for its cluster */
    svc_images images; /* (rows * n): row r's in order, blank (0) after count[r] */
} svc_samples;
int svc_job_samples(svc *s, const char *job, const svc_sample_req *rq, svc_samples *out,
                    dc_err *e);
void svc_samples_free(svc_samples *p);

typedef struct svc_recons {
    int count;
    int64_t *index;    /* (count) a seeded draw of training samples */
    float *error;      /* (count) mean squared error of each reconstruction */
    svc_images images; /* (2 * count): the originals, then their reconstructions */
} svc_recons;
/* n in 1..SVC_PICS_MAX; DC_EINVAL for a model without a decoder (kmeans). */
int svc_job_reconstructions(svc *s, const char *job, int n, uint64_t seed, int images,
                            svc_shape shape, svc_recons *out, dc_err *e);
void svc_recons_free(svc_recons *p);

typedef struct svc_generated {
    int k, d;
    int rows, n;       /* clusters, samples per cluster */
    int *cluster;      /* (rows) */
    float *x;          /* (rows * n, d) in [0, 1]; cluster c drawn with seed + c */
    svc_shape shape;   /* when images was asked for: how to draw a row of x */
} svc_generated;
/* vae models only (DC_EINVAL otherwise); cluster -1 = each in turn. images: check the
 * shape (the model's training shape when 0) and fill out->shape. */
int svc_model_generate(svc *s, const char *model, int cluster, int n, uint64_t seed,
                       int images, svc_shape shape, svc_generated *out, dc_err *e);
void svc_generated_free(svc_generated *p);

typedef struct svc_embedding {
    char source[16];   /* "pca" (of the codes; raw features for kmeans) or "manifold" (n2d) */
    int k, count;
    int64_t *index;    /* (count) sampled evenly across clusters */
    float *xy;         /* (count, 2) */
    int32_t *cluster;  /* (count) */
    int32_t *label;    /* (count) the dataset's label; NULL without labels */
    float *centroid_xy; /* (k, 2) */
} svc_embedding;
/* n in SVC_MAP_MIN..SVC_MAP_MAX (fewer when the job has fewer samples). */
int svc_job_embedding(svc *s, const char *job, int n, svc_embedding *out, dc_err *e);
void svc_embedding_free(svc_embedding *p);

enum { SVC_BY_IFOREST = 0, SVC_BY_CONFIDENCE = 1, SVC_BY_RECONSTRUCTION = 2 };

typedef struct svc_outliers {
    int count;
    int64_t *index;    /* (count) most atypical first */
    float *iforest;    /* (count) isolation-forest score in (0, 1] (Liu et al. 2008) */
    float *confidence; /* (count) 1 - max q */
    float *recon;      /* (count) reconstruction MSE; NAN without a decoder */
    int32_t *cluster;  /* (count) */
    int32_t *label;    /* (count) NULL without labels */
    svc_images images; /* (count) */
} svc_outliers;
/* The n (1..SVC_OUTLIERS_MAX) most atypical training samples by score `by` (SVC_BY_*;
 * reconstruction: DC_EINVAL without a decoder). */
int svc_job_outliers(svc *s, const char *job, int n, int by, int images, svc_shape shape,
                     svc_outliers *out, dc_err *e);
void svc_outliers_free(svc_outliers *p);

typedef struct svc_outlier_scores {
    int64_t n;
    float *iforest, *confidence, *recon; /* (n) each; recon NAN without a decoder */
} svc_outlier_scores;
/* The three scores of new samples x (n, d) with the forest of the model's job (DC_ECONFLICT
 * when the job, and so its forest, was deleted). */
int svc_model_outliers(svc *s, const char *model, const float *x, int64_t n, int d,
                       svc_outlier_scores *out, dc_err *e);
void svc_outlier_scores_free(svc_outlier_scores *p);

/* ---- studies ----------------------------------------------------------------------- */

/* A study: one job spec on one dataset over several seeds and several k (docs/studies.md).
 * It queues one job per (seed, k); when the method pretrains an autoencoder
 * (study_shares_ae), the first k's job of each seed pretrains it and that seed's other
 * jobs start from it (jobs.ae_job): one pretraining per seed. Each study job's metrics
 * gain "criteria" (core/study.h: silhouette, Calinski-Harabasz, Davies-Bouldin on a
 * sample of the embedding; n2d: mean log-likelihood and BIC). */
enum { SVC_STUDY_MAX_SEEDS = 20, SVC_STUDY_MAX_KS = 30, SVC_STUDY_K_MIN = 2,
       SVC_STUDY_K_MAX = 100 };

/* POST /v1/studies's body, checked (no database needed):
 *   {"dataset": id, "job": {job spec without dataset, n_clusters, seed},
 *    "seeds": [..] (1..20 distinct, default [0]),
 *    "n_clusters": [..] (1..30 distinct in 2..100) or {"min": a, "max": b}}
 * job is checked with jobspec_parse (dataset, the largest k and the first seed filled
 * in). Errors as jobspec's: DC_EFORMAT (wrong type, unknown or missing key) or DC_EINVAL
 * (a value), field = the JSON path ("seeds[2]", "n_clusters.max", "job.pretrain.lr"). */
typedef struct svc_study_req {
    char dataset[JOBSPEC_ID_MAX];
    json_t *job;                     /* the template (new reference; svc_study_req_clear) */
    int64_t seeds[SVC_STUDY_MAX_SEEDS];
    int n_seeds;
    int ks[SVC_STUDY_MAX_KS];        /* increasing */
    int n_ks;
} svc_study_req;
int svc_study_parse(const json_t *body, svc_study_req *out, jobspec_error *je);
void svc_study_req_clear(svc_study_req *r);

/* One job of a study as the summary reads it (its metrics JSON). */
typedef struct svc_study_job {
    char id[JOBSPEC_ID_MAX];
    char model[JOBSPEC_ID_MAX];   /* "" = none */
    char ae_job[JOBSPEC_ID_MAX];  /* "" = it pretrains (when shares_ae) or needs none */
    char status[16];
    int64_t seed;
    int k;
    double stat[ST_COUNT];        /* acc, nmi, ari, criteria (study.h); NAN = not there */
    double seconds, pretrain_seconds; /* NAN = not there */
    double eta_s;                 /* a running job's, from its progress; NAN = not known */
} svc_study_job;

/* The summary of one k over its succeeded jobs; chosen and best_sil are indices into
 * svc_study.jobs (-1 = none). */
typedef struct svc_study_k {
    study_k sum;
    int chosen, best_sil;
} svc_study_k;

typedef struct svc_study {
    char id[JOBSPEC_ID_MAX];
    char dataset[JOBSPEC_ID_MAX];  /* "" once deleted */
    char method[32];
    char status[16];  /* queued, running, succeeded, failed, cancelled (from its jobs) */
    char created_at[32];
    char *spec;       /* the job template, JSON text (malloc'd) */
    int64_t seeds[SVC_STUDY_MAX_SEEDS];
    int n_seeds;
    int ks[SVC_STUDY_MAX_KS];
    int n_ks;
    int total, queued, running, succeeded, failed, cancelled; /* its jobs */
    int shares_ae;    /* 1: one autoencoder pretraining per seed, shared by its k */
    /* svc_study_get only (else NULL / 0): */
    svc_study_job *jobs;  /* by k, then seed */
    int n_jobs;
    svc_study_k *per_k;   /* n_ks rows, as ks */
    int has_labels;       /* the dataset has labels: acc/nmi/ari and consensus ACC */
    int suggested;        /* 1: suggestion holds kselect_suggest's answer */
    kselect_suggestion suggestion;
    double eta_s;         /* time left (study_eta_s over its jobs, as many at a time as are
                             running); NAN = no estimate yet */
} svc_study;
void svc_study_clear(svc_study *st);  /* zeroed is fine */
void svc_study_free_list(svc_study *items, int n);

/* Queues the study's jobs in one transaction; *out = the study (no summary). Spec
 * errors as svc_job_create's (je: "dataset", "job.<path>", "n_clusters"); the queue
 * limit counts all its jobs (DC_EBUSY). */
int svc_study_create(svc *s, const svc_study_req *req, svc_study *out, jobspec_error *je,
                     dc_err *e);
/* The study with its jobs and the summary per k (svc_study_k), the suggested k. The
 * labels of each job (stability, consensus) come from svc__job_labels. */
int svc_study_get(svc *s, const char *id, svc_study *out, dc_err *e);
/* Newest first, without jobs or summary. */
int svc_study_list(svc *s, int limit, int64_t offset, svc_study **items, int *n,
                   int64_t *total, dc_err *e);
/* Cancels every queued job now and asks the running ones to stop. DC_ECONFLICT when
 * none is queued or running. *out = the study after (no summary). */
int svc_study_cancel(svc *s, const char *id, svc_study *out, dc_err *e);
/* Deletes the study with its jobs and their models; DC_ECONFLICT while one is queued
 * or running. */
int svc_study_delete(svc *s, const char *id, dc_err *e);

/* ---- operations -------------------------------------------------------------------- */

/* Appends Prometheus text: jobs by status, queue depth, busy workers, training
 * throughput, cached models. */
int svc_metrics_text(svc *s, FILE *f);

#endif
