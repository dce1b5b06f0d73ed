/* jobspec: the JSON form of a clustering job, checked strictly and mapped onto a
 * cluster_spec (core/cluster.h). Used by POST /v1/jobs to validate a request and by the
 * workers to rebuild the spec from the stored JSON.
 *
 *   {"dataset": "ds_..", "method": "dec", "n_clusters": 10, "seed": 0,
 *    "autoencoder": {"hidden": [500, 500, 2000, 10]},
 *    "pretrain": {"epochs": 100, "batch_size": 256, "optimizer": "adam", "lr": 0.001,
 *                 "momentum": 0.9},
 *    "cluster": {"n_init": 20, "kmeans_max_iter": 300, "kmeans_tol": 1e-4,
 *                "update_interval": 140, "tol": 0.001, "maxiter": 20000, "gamma": 0.1,
 *                "alpha": 1.0, "lr": 0.01, "optimizer": "sgd", "momentum": 0.9},
 *    "vae": {"latent": 20, "epochs": 50, "conv": false, "reconstruction": "bce",
 *            "rec_weight": 1.0}}
 *
 * Only dataset, method and n_clusters are required; the rest default to
 * cluster_spec_default(method, n_clusters). The options, their JSON paths, types, ranges
 * and defaults are core's table (core/cluster_opts.def). Unknown keys, wrong JSON types
 * and missing required keys are DC_EFORMAT; values out of range and unknown methods are
 * DC_EINVAL. The error names the JSON path of the field ("pretrain.lr",
 * "autoencoder.hidden[2]"), from the table.
 *
 *   cluster_spec s; char ds[JOBSPEC_ID_MAX]; json_t *norm = NULL; jobspec_error je;
 *   if (jobspec_parse(body, &s, ds, &norm, &je) < 0) reply(je.code, je.field, je.msg);
 *   ... jobspec_check_data(&s, n, d, h, w, c, &je) ...   // against the dataset's shape
 *   json_decref(norm);
 */
#ifndef DC_JOBSPEC_H
#define DC_JOBSPEC_H

#include <jansson.h>
#include <stdint.h>

#include "cluster.h"
#include "dc_err.h"

enum { JOBSPEC_ID_MAX = 64 };

typedef struct jobspec_error {
    int code;        /* DC_EFORMAT: not a job spec (unknown key, wrong JSON type, missing
                        required key); DC_EINVAL: a value out of range, an unknown name or
                        dataset, over a limit; DC_ENOMEM */
    char field[128]; /* JSON path of the offending field ("" for the whole document) */
    char msg[384];   /* for a person; includes the path */
} jobspec_error;

/* Checks in (borrowed) and fills *s and dataset (JOBSPEC_ID_MAX bytes). On success
 * *normalized (may be NULL) receives a new reference to the full spec with every
 * default filled in. Returns 0 or DC_EINVAL (err filled). */
int jobspec_parse(const json_t *in, cluster_spec *s, char *dataset, json_t **normalized,
                  jobspec_error *err);

/* cluster_spec_check against a dataset of n samples x d features (image shape h, w, c
 * or zeros). 0 or DC_EINVAL with a DC_EINVAL error naming the field (the JSON path of
 * the option cluster_spec_check_ex blames) when it can tell. */
int jobspec_check_data(const cluster_spec *s, int64_t n, int d, int h, int w, int c,
                       jobspec_error *err);

/* What a job will cost before it runs, from the spec and the dataset's n, d and image
 * shape (h, w, c or zeros), without allocating anything: the parameters of its model
 * (the autoencoder, centroids, vae nets; a vae with pretraining counts both its
 * autoencoder and its vae, which are alive together) and an ESTIMATE of the training
 * process's peak memory in bytes:
 *   dataset (n d + n floats) + 32 bytes per parameter (params, grads, Adam's two
 *   moments, the checkpoint blob, the saved model) + activations of one mini-batch
 *   (3 floats per unit of every layer: output, pre-activation, gradient; plus the
 *   largest im2col workspace for convolutions) + per-sample state (embedding, q, p,
 *   labels: n (e + 2k + 2) floats) + a 32 MiB base. n2d adds (e = manifold_components)
 *   the codes and umap's copy of them and the embedding (n (2 code + e) floats), the
 *   kNN (n neighbors x 8 bytes), the graph and layout state (up to 2 n (neighbors - 1)
 *   edges x 48 bytes) and the mixture's responsibilities (n k doubles); its params count
 *   the mixture's k (e e + 1) besides the k e means.
 * Sums saturate at INT64_MAX instead of overflowing (hidden widths up to 100000). */
typedef struct jobspec_cost {
    int64_t params;      /* floats */
    int64_t train_bytes; /* estimate, see above */
} jobspec_cost;
void jobspec_estimate(const cluster_spec *s, int64_t n, int d, int h, int w, int c,
                      jobspec_cost *out);

/* The JSON of s (new reference), the same shape jobspec_parse reads. */
json_t *jobspec_to_json(const cluster_spec *s, const char *dataset);

#endif
