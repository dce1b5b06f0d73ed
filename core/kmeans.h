/* kmeans: Lloyd's k-means on float32 data, the `kmeans` method and the centroid
 * initialiser of DEC/IDEC.
 *
 * Each of n_init runs starts from greedy k-means++ (scikit-learn's variant: 2 + ln k
 * candidate centres per step, keep the one that lowers the potential most), then runs
 * Lloyd iterations until the labels stop changing, the summed squared centroid shift
 * falls to tol * (mean per-feature variance of X), or max_iter. The run with the lowest
 * inertia wins. Distances come from one cblas_sgemm per block of rows
 * (||x||^2 - 2 x.c + ||c||^2, clamped at 0), so memory stays O(block_rows * k) beyond
 * the inputs. A cluster left empty is moved onto the point farthest from its centre.
 * Everything random goes through an rng seeded from opts.seed: same seed, same result.
 *
 *   kmeans_opts o;  kmeans_opts_default(&o);  o.seed = 1;
 *   kmeans_result r;  dc_err e = {0};
 *   if (kmeans_fit(X, n, d, 10, &o, &r, &e) == 0) { ... r.labels, r.centroids ...; }
 *   kmeans_result_free(&r);
 *
 * Threads: opts.n_threads splits the rows between that many threads (each runs its own
 * GEMMs, argmins and partial sums, reduced in a fixed order). With n_threads > 1 while
 * OpenBLAS has several threads, each thread's GEMMs are cut into slices small enough that
 * OpenBLAS runs them on the calling thread: k-means never needs OpenBLAS' (process-wide)
 * thread count changed. Otherwise the GEMMs are whole blocks (using OpenBLAS' threads
 * when n_threads == 1). A result is bit-reproducible for a given seed, n_threads,
 * block_rows and OpenBLAS thread count (other values only change float rounding). Calls share nothing: separate
 * calls may run concurrently.
 */
#ifndef DC_KMEANS_H
#define DC_KMEANS_H

#include <stddef.h>
#include <stdint.h>

#include "dc_err.h"

/* Called after every Lloyd iteration: init is the run (0..n_init-1), iter counts from 1,
 * inertia is the sum of squared distances of that iteration's assignment (before the
 * centroid update). Return non-zero to stop: kmeans_fit then returns DC_ECANCEL. */
typedef int (*kmeans_progress_fn)(void *user, int init, int iter, double inertia);

typedef struct kmeans_opts {
    int n_init;                  /* independent runs, best inertia kept (default 20) */
    int max_iter;                /* Lloyd iterations per run (default 300) */
    double tol;                  /* relative centroid-shift tolerance (default 1e-4) */
    uint64_t seed;               /* rng seed (default 0) */
    int block_rows;              /* rows of X per GEMM block (default 4096) */
    int n_threads;               /* threads for the passes over X (default 1) */
    const float *init;           /* optional (k, d) starting centroids, borrowed: then
                                    one run from them and n_init is ignored (NULL) */
    kmeans_progress_fn progress; /* optional (NULL) */
    void *progress_user;
} kmeans_opts;

typedef struct kmeans_result {
    float *centroids; /* (k, d) row-major; owned, free with kmeans_result_free */
    int *labels;      /* (n) in 0..k-1; owned */
    double inertia;   /* sum over samples of squared distance to own centroid (double) */
    int n_iter;       /* Lloyd iterations of the winning run */
    int best_init;    /* which run won (0-based) */
    int k, d;
    size_t n;
} kmeans_result;

void kmeans_opts_default(kmeans_opts *o);

/* Clusters X (n, d) row-major into k groups. Requires 1 <= k <= n, d >= 1, n_init >= 1,
 * max_iter >= 1, tol >= 0, block_rows >= 1, 1 <= n_threads <= 256; else DC_EINVAL with
 * a message. Non-finite
 * values in X give DC_ENUMERIC. On success *res owns its arrays; on failure it is zeroed. */
int kmeans_fit(const float *X, size_t n, int d, int k, const kmeans_opts *o, kmeans_result *res,
               dc_err *e);
void kmeans_result_free(kmeans_result *res); /* NULL and zeroed results are fine */

/* Nearest centroid of each row of X (n, d) among C (k, d), through the GEMM path.
 * labels (n) out; mind (n) out, optional: squared distance to it (float, >= 0);
 * inertia out, optional: sum of mind in double. Ties go to the lowest index. */
int kmeans_predict(const float *C, int k, int d, const float *X, size_t n, int *labels, float *mind,
                   double *inertia, dc_err *e);

/* Naive reference for kmeans_predict: the same outputs from direct differences summed in
 * double (mind stored as float). For tests. */
int kmeans_predict_naive(const float *C, int k, int d, const float *X, size_t n, int *labels,
                         float *mind, double *inertia, dc_err *e);

#endif
