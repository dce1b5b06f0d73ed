/* bench_kmeans: k-means (k = 10) on all 70,000 MNIST images (784 features scaled to
 * [0, 1]), timed, with inertia and ACC / NMI / ARI against the labels.
 * Peer: bench/bench_kmeans_sklearn.py (scikit-learn KMeans, same n_init).
 *
 *   OPENBLAS_NUM_THREADS=1 ./bench_kmeans [n_init=10] [seed=0] [n_threads=2] [mnist_dir]
 *
 * n_threads is kmeans_opts.n_threads; the total thread count is n_threads times
 * OpenBLAS's (set OPENBLAS_NUM_THREADS). mnist_dir defaults to /work/shared/data/mnist.
 *
 * Reads the four gzipped IDX files itself with zlib (no dependency on core/data).
 * Like the deepclust binary it re-executes itself with OPENBLAS_CORETYPE set when
 * OpenBLAS fell back to generic kernels (core/dc_blas.h); the scikit-learn script sets
 * the same variable, so both run the same sgemm kernels. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "dc_blas.h"
#include "kmeans.h"
#include "metrics.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint32_t be32(const unsigned char *b) { return (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]; }

/* Reads an IDX .gz file: magic 0x801 (labels) or 0x803 (images). Appends to *buf at
 * offset *count items (each `item` bytes). Returns items read or -1. */
static long read_idx_gz(const char *path, unsigned magic, unsigned char **buf, long *count, long item)
{
    gzFile f = gzopen(path, "rb");
    long got = -1;
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    unsigned char h[16];
    int hlen = magic == 0x803 ? 16 : 8;
    if (gzread(f, h, hlen) != hlen || be32(h) != magic) {
        fprintf(stderr, "%s: bad IDX header\n", path);
        goto out;
    }
    long n = (long)be32(h + 4);
    if (magic == 0x803 && (long)be32(h + 8) * be32(h + 12) != item) {
        fprintf(stderr, "%s: unexpected image size\n", path);
        goto out;
    }
    unsigned char *nb = realloc(*buf, (size_t)(*count + n) * item);
    if (!nb) goto out;
    *buf = nb;
    size_t want = (size_t)n * item, off = 0;
    while (off < want) {
        int r = gzread(f, nb + (size_t)*count * item + off, (unsigned)(want - off > (1u << 30) ? (1u << 30) : want - off));
        if (r <= 0) {
            fprintf(stderr, "%s: truncated\n", path);
            goto out;
        }
        off += (size_t)r;
    }
    *count += n;
    got = n;
out:
    gzclose(f);
    return got;
}

/* Counts Lloyd iterations over all runs (for seconds per iteration). */
static int count_iter(void *user, int init, int iter, double inertia)
{
    (*(long *)user)++;
    return 0;
}

int main(int argc, char **argv)
{
    dc_blas_fix_coretype(argv); /* like the deepclust binary: no Prescott fallback */
    dc_blas_init_threads();
    int n_init = argc > 1 ? atoi(argv[1]) : 10;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 0;
    int n_threads = argc > 3 ? atoi(argv[3]) : 2;
    const char *dir = argc > 4 ? argv[4] : "/work/shared/data/mnist";
    const char *img[2] = {"train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"};
    const char *lab[2] = {"train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
    unsigned char *pix = NULL, *lb = NULL;
    long ni = 0, nl = 0;
    char path[1024];
    int rc = 1, d = 784;
    float *X = NULL;
    int *truth = NULL;
    kmeans_result r = {0};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, img[i]);
        if (read_idx_gz(path, 0x803, &pix, &ni, d) < 0) goto out;
        snprintf(path, sizeof path, "%s/%s", dir, lab[i]);
        if (read_idx_gz(path, 0x801, &lb, &nl, 1) < 0) goto out;
    }
    if (ni != nl) {
        fprintf(stderr, "%ld images but %ld labels\n", ni, nl);
        goto out;
    }
    size_t n = (size_t)ni;
    X = malloc(n * d * sizeof *X);
    truth = malloc(n * sizeof *truth);
    if (!X || !truth) goto out;
    for (size_t i = 0; i < n * d; i++) X[i] = pix[i] / 255.0f;
    for (size_t i = 0; i < n; i++) truth[i] = lb[i];

    kmeans_opts o;
    kmeans_opts_default(&o);
    o.n_init = n_init;
    o.seed = seed;
    o.n_threads = n_threads;
    long iters = 0;
    o.progress = count_iter;
    o.progress_user = &iters;
    dc_err e = {0};
    double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    if (kmeans_fit(X, n, d, 10, &o, &r, &e)) {
        fprintf(stderr, "kmeans: %s\n", e.msg);
        goto out;
    }
    double secs = clock_s(CLOCK_MONOTONIC) - t0, cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    metrics_scores s;
    if (metrics_all(r.labels, truth, n, &s, &e)) {
        fprintf(stderr, "metrics: %s\n", e.msg);
        goto out;
    }
    const char *thr = getenv("OPENBLAS_NUM_THREADS");
    const char *core = getenv("OPENBLAS_CORETYPE");
    printf("deepclust kmeans  n=%zu d=%d k=10 n_init=%d seed=%llu n_threads=%d openblas_threads=%s coretype=%s\n",
           n, d, n_init, (unsigned long long)seed, n_threads, thr ? thr : "(default)", core ? core : "(auto)");
    printf("seconds %.2f (cpu %.2f)  inertia %.1f  n_iter(best) %d  ACC %.4f  NMI %.4f  ARI %.4f\n", secs, cpu, r.inertia,
           r.n_iter, s.acc, s.nmi, s.ari);
    printf("Lloyd iterations over all runs %ld (%.1f ms per iteration, k-means++ included)\n", iters,
           1e3 * secs / (double)(iters ? iters : 1));
    rc = 0;
out:
    kmeans_result_free(&r);
    free(X);
    free(truth);
    free(pix);
    free(lb);
    return rc;
}
