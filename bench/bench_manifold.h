/* Helpers shared by the manifold benchmarks (bench_umap, manifold_io; driver
 * bench/umap_vs_js.sh):
 *
 * - NPY writing: float32 (n, d) and int32 (n,) arrays, C order, little-endian (the host's
 *   order is assumed to be little: x86-64 and arm64), through core's data_write_npy (the
 *   one the CLI's cli_write_npy_* use too).
 *   Reading is core's dataset_load / data_load_labels.
 * - bench_gmm_score: n2d's mixture stage on an embedding (core/gmm.h with n2d's settings:
 *   full covariance, gmm.h's defaults, n_init 5, the run's seed) and ACC/NMI/ARI against
 *   the labels, printed as one line that the driver reads:
 *     gmm (full, n_init 5, seed 1): ACC 0.9712 NMI 0.9251 ARI 0.9380 (k 10, 4 EM iterations, 0.21 s)
 *
 *   if (bench_npy_f32("codes.npy", z, n, d, &e) < 0) fprintf(stderr, "%s\n", e.msg);
 */
#ifndef DC_BENCH_MANIFOLD_H
#define DC_BENCH_MANIFOLD_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "data.h"
#include "dc_err.h"
#include "dc_time.h"
#include "gmm.h"
#include "metrics.h"

static inline int bench_npy_f32(const char *path, const float *a, size_t n, int d, dc_err *e)
{
    char shape[64];
    snprintf(shape, sizeof shape, "(%zu, %d)", n, d);
    return data_write_npy(path, "<f4", shape, a, n * (size_t)d * sizeof *a, e);
}

static inline int bench_npy_i32(const char *path, const int32_t *a, size_t n, dc_err *e)
{
    char shape[64];
    snprintf(shape, sizeof shape, "(%zu,)", n);
    return data_write_npy(path, "<i4", shape, a, n * sizeof *a, e);
}

/* Fits n2d's mixture (k components, n_init restarts, seed) to emb (n, d) and scores its
 * labels against lab (n); prints the line above to stdout. 0 or a DC_E* code (message in
 * e). */
static inline int bench_gmm_score(const float *emb, size_t n, int d, const int *lab, int k,
                                  int n_init, uint64_t seed, dc_err *e)
{
    gmm_opts o;
    gmm_opts_default(&o);
    o.n_init = n_init;
    o.seed = seed;
    gmm_result r = {0};
    metrics_scores s;
    double t = dc_now_s();
    int rc = gmm_fit(emb, n, d, k, &o, &r, e);
    if (rc == 0) rc = metrics_all(r.labels, lab, n, &s, e);
    if (rc == 0)
        printf("gmm (full, n_init %d, seed %llu): ACC %.4f NMI %.4f ARI %.4f (k %d, %d EM iterations, %.2f s; loglik %.4f)\n",
               n_init, (unsigned long long)seed, s.acc, s.nmi, s.ari, k, r.n_iter, dc_now_s() - t,
               r.loglik);
    gmm_result_free(&r);
    return rc;
}

#endif
