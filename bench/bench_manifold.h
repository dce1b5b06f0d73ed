/* Helpers shared by the manifold benchmarks (bench_umap, manifold_io; driver
 * bench/umap_vs_js.sh):
 *
 * - NPY writing: float32 (n, d) and int32 (n,) arrays, C order, little-endian (the host's
 *   order is assumed to be little: x86-64 and arm64). The benchmarks link core only; the
 *   service's writer is server/cli_util.c's cli_write_npy_*, whose format this is.
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

#include "dc_err.h"
#include "dc_time.h"
#include "gmm.h"
#include "metrics.h"

/* descr e.g. "<f4"; shape the Python tuple text, e.g. "(70000, 10)". The header is padded
 * with spaces so that the data starts at a multiple of 64 bytes (NPY 1.0). */
static inline int bench_npy_write(const char *path, const char *descr, const char *shape,
                                  const void *a, size_t bytes, dc_err *e)
{
    char hdr[128];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr, shape);
    int total = 10 + n + 1, pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f) return dc_err_set(e, DC_EIO, "%s: %s", path, strerror(errno));
    unsigned short hl = (unsigned short)(n + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hl & 0xff, f);
    fputc(hl >> 8, f);
    fwrite(hdr, 1, (size_t)n, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    size_t w = fwrite(a, 1, bytes, f);
    if (fclose(f) != 0 || w != bytes) {
        remove(path);
        return dc_err_set(e, DC_EIO, "%s: write failed", path);
    }
    return 0;
}

static inline int bench_npy_f32(const char *path, const float *a, size_t n, int d, dc_err *e)
{
    char shape[64];
    snprintf(shape, sizeof shape, "(%zu, %d)", n, d);
    return bench_npy_write(path, "<f4", shape, a, n * (size_t)d * sizeof *a, e);
}

static inline int bench_npy_i32(const char *path, const int32_t *a, size_t n, dc_err *e)
{
    char shape[64];
    snprintf(shape, sizeof shape, "(%zu,)", n);
    return bench_npy_write(path, "<i4", shape, a, n * sizeof *a, e);
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
        printf("gmm (full, n_init %d, seed %llu): ACC %.4f NMI %.4f ARI %.4f (k %d, %d EM iterations, %.2f s)\n",
               n_init, (unsigned long long)seed, s.acc, s.nmi, s.ari, k, r.n_iter, dc_now_s() - t);
    gmm_result_free(&r);
    return rc;
}

#endif
