/* bench_umap: the UMAP manifold stage of n2d (core/umap.h) at full size, timed per stage,
 * with the kNN's GEMM rate set against a square sgemm measured in the same process.
 *
 *   ./bench_umap [--data codes.npy|codes.idx] [--labels labels.npy] [--n 70000]
 *                [--threads 2] [--epochs 0] [--seed 0] [--block 0]
 *                [--init pca|spectral|random] [--no-transform] [--no-sgemm]
 *                [--gmm-n-init 5] [--embed-out emb.npy]
 *                [--neighbors 20] [--min-dist 0] [--components 10]
 *
 * Without --data it generates n x 10 clustered codes (10 anisotropic Gaussian blobs with
 * labels). --threads is umap_opts.n_threads (kNN threads); OpenBLAS is set to one thread
 * during the fit so that threads x BLAS threads = --threads. The kNN rate counts only the
 * GEMM work, 2 n^2 d flops; the square sgemm (2048^3, best of 3) is timed at 1 thread and
 * at --threads OpenBLAS threads (--no-sgemm skips it and the percentage). With labels,
 * k = largest label + 1: k-means on the embedding gives an ACC, and n2d's own mixture
 * (full-covariance GMM, --gmm-n-init restarts, seed --seed; bench_manifold.h, the same
 * code as `manifold_io score`, so umap-js's embedding meets the same mixture in
 * bench/umap_vs_js.sh) gives ACC/NMI/ARI. --embed-out writes the embedding as float32
 * (n, components) NPY. Then, unless --no-transform, 10,000 of the points go through
 * umap_transform.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_manifold.h"
#include "data.h"
#include "dc_blas.h"
#include "dc_time.h"
#include "kmeans.h"
#include "metrics.h"
#include "rng.h"
#include "umap.h"

static double sgemm_gflops(int N, int threads)
{
    dc_blas_set_threads(threads);
    float *A = malloc((size_t)N * N * sizeof *A), *B = malloc((size_t)N * N * sizeof *B),
          *C = malloc((size_t)N * N * sizeof *C);
    if (!A || !B || !C) {
        free(A);
        free(B);
        free(C);
        return 0;
    }
    for (size_t i = 0; i < (size_t)N * N; i++) {
        A[i] = (float)(i % 7) * 0.1f;
        B[i] = (float)(i % 5) * 0.1f;
    }
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
        double t = dc_now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, A, N, B, N, 0.0f, C, N);
        t = dc_now_s() - t;
        if (t < best) best = t;
    }
    free(A);
    free(B);
    free(C);
    return 2.0 * N * (double)N * N / best * 1e-9;
}

/* n x d codes around k centres in [-3, 3]^d, each cluster with its own per-axis scale
 * in [0.3, 1]; labels i % k. */
static float *gen_codes(size_t n, int d, int k, uint64_t seed, int *lab)
{
    rng g;
    rng_seed(&g, seed);
    float *X = malloc(n * d * sizeof *X);
    double *cent = malloc((size_t)k * d * sizeof *cent), *sc = malloc((size_t)k * d * sizeof *sc);
    if (!X || !cent || !sc) {
        free(X);
        X = NULL;
        goto out;
    }
    for (int i = 0; i < k * d; i++) {
        cent[i] = rng_uniform(&g) * 6 - 3;
        sc[i] = 0.3 + 0.7 * rng_uniform(&g);
    }
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % (size_t)k);
        lab[i] = c;
        for (int j = 0; j < d; j++) X[i * d + j] = (float)(cent[c * d + j] + sc[c * d + j] * rng_normal(&g));
    }
out:
    free(cent);
    free(sc);
    return X;
}

/* Progress: prints every 10 s and records CPU times at the stage ends (the layout runs on
 * the calling thread, so its thread CPU time is the layout's CPU time). */
typedef struct bench_prog {
    double last;          /* wall clock of the last print */
    double cpu_proc_knn;  /* process CPU seconds at the end of the kNN */
    double cpu_thr_graph; /* calling thread CPU seconds once the graph is built */
    double cpu_thr_layout; /* ... after the last layout epoch */
} bench_prog;

static double cpu_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int on_progress(void *user, int stage, long done, long total)
{
    static const char *names[] = {"", "knn", "graph", "layout", "transform", "init"};
    bench_prog *p = user;
    double now = dc_now_s();
    if (stage == UMAP_STAGE_KNN && done == total) p->cpu_proc_knn = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
    if (stage == UMAP_STAGE_GRAPH) p->cpu_thr_graph = cpu_s(CLOCK_THREAD_CPUTIME_ID);
    if (stage == UMAP_STAGE_LAYOUT && done == total) p->cpu_thr_layout = cpu_s(CLOCK_THREAD_CPUTIME_ID);
    if (now - p->last >= 10 || done == total) {
        fprintf(stderr, "  [%s %ld/%ld]\n", stage >= 1 && stage <= 5 ? names[stage] : "?", done, total);
        p->last = now;
    }
    return 0;
}

int main(int argc, char **argv)
{
    dc_blas_fix_coretype(argv);
    const char *data_path = NULL, *label_path = NULL, *embed_out = NULL;
    size_t n = 70000;
    int threads = 2, epochs = 0, do_transform = 1, block = 0, init = UMAP_INIT_PCA, do_sgemm = 1, gmm_n_init = 5;
    int neighbors = 0, components = 0;
    double min_dist = -1;
    uint64_t seed = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc) data_path = argv[++i];
        else if (!strcmp(argv[i], "--labels") && i + 1 < argc) label_path = argv[++i];
        else if (!strcmp(argv[i], "--n") && i + 1 < argc) n = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc) epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--block") && i + 1 < argc) block = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--neighbors") && i + 1 < argc) neighbors = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--min-dist") && i + 1 < argc) min_dist = atof(argv[++i]);
        else if (!strcmp(argv[i], "--components") && i + 1 < argc) components = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--init") && i + 1 < argc) {
            i++;
            init = !strcmp(argv[i], "spectral") ? UMAP_INIT_SPECTRAL : !strcmp(argv[i], "random") ? UMAP_INIT_RANDOM : UMAP_INIT_PCA;
        } else if (!strcmp(argv[i], "--no-transform")) do_transform = 0;
        else if (!strcmp(argv[i], "--no-sgemm")) do_sgemm = 0;
        else if (!strcmp(argv[i], "--gmm-n-init") && i + 1 < argc) gmm_n_init = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--embed-out") && i + 1 < argc) embed_out = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--data F] [--labels F] [--n N] [--threads T] [--epochs E] [--seed S] [--block rows] [--init pca|spectral|random] [--no-transform] [--no-sgemm] [--gmm-n-init N] [--embed-out F]\n",
                    argv[0]);
            return 2;
        }
    }
    int rc = 1, d = 10, k = 10;
    float *X = NULL, *T = NULL;
    int *lab = NULL;
    dataset ds = {0};
    umap_model m = {0};
    dc_err e = {0};
    if (data_path) {
        if (dataset_load(&ds, data_path, DATA_FMT_AUTO, NULL, &e) < 0 ||
            (label_path && dataset_load_labels(&ds, label_path, DATA_FMT_AUTO, &e) < 0)) {
            fprintf(stderr, "%s\n", e.msg);
            goto out;
        }
        n = (size_t)ds.n < n ? (size_t)ds.n : n;
        d = ds.d;
        X = ds.x;
        if (ds.labels) {
            lab = malloc(n * sizeof *lab);
            k = 0;
            for (size_t i = 0; lab && i < n; i++) {
                lab[i] = ds.labels[i];
                if (lab[i] + 1 > k) k = lab[i] + 1;
            }
        }
    } else {
        lab = malloc(n * sizeof *lab);
        X = lab ? gen_codes(n, d, k, 12345, lab) : NULL;
    }
    if (!X || (ds.labels && !lab)) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    printf("bench_umap: n = %zu, d = %d, %s; %s\n", n, d, data_path ? data_path : "generated clustered codes",
           dc_blas_config());
    double g1 = 0, gT = 0;
    if (do_sgemm) {
        g1 = sgemm_gflops(2048, 1);
        gT = threads > 1 ? sgemm_gflops(2048, threads) : g1;
        printf("square sgemm 2048: %.1f GFLOP/s at 1 thread, %.1f at %d threads\n", g1, gT, threads);
    }

    umap_opts o;
    umap_opts_default(&o);
    o.n_threads = threads;
    o.n_epochs = epochs;
    o.seed = seed;
    if (neighbors > 0) o.n_neighbors = neighbors;
    if (components > 0) o.n_components = components;
    if (min_dist >= 0) o.min_dist = min_dist;
    if (block > 0) o.block_rows = block;
    o.init = init;
    if (o.init == UMAP_INIT_PCA && o.n_components > d) o.init = UMAP_INIT_RANDOM;
    bench_prog bp = {dc_now_s(), 0, 0, 0};
    o.progress = on_progress;
    o.progress_user = &bp;
    dc_blas_set_threads(1);
    double cpu0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
    double t0 = dc_now_s();
    if (umap_fit(X, n, d, &o, &m, &e) < 0) {
        fprintf(stderr, "umap_fit: %s\n", e.msg);
        goto out;
    }
    double total = dc_now_s() - t0, cpu_fit = cpu_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    double flops = 2.0 * (double)n * (double)n * d;
    printf("umap_fit: %.2f s in all, %.2f s CPU (n_neighbors %d, n_components %d, %d epochs, %zu edges, a %.4f b %.4f)\n",
           total, cpu_fit, o.n_neighbors, m.n_components, m.n_epochs, m.n_edges, m.a, m.b);
    if (do_sgemm)
        printf("  knn    %7.2f s wall, %.2f s CPU (%d threads; GEMM part %.1f GFLOP/s = %.0f%% of the %d-thread square sgemm)\n",
               m.sec_knn, bp.cpu_proc_knn - cpu0, threads, flops / m.sec_knn * 1e-9,
               100 * flops / m.sec_knn * 1e-9 / gT, threads);
    else
        printf("  knn    %7.2f s wall, %.2f s CPU (%d threads; GEMM part %.1f GFLOP/s)\n", m.sec_knn,
               bp.cpu_proc_knn - cpu0, threads, flops / m.sec_knn * 1e-9);
    printf("  graph  %7.2f s\n  init   %7.2f s (%s%s)\n  layout %7.2f s wall, %.2f s CPU (%.1f ms/epoch wall)\n", m.sec_graph,
           m.sec_init, o.init == UMAP_INIT_SPECTRAL ? "spectral" : o.init == UMAP_INIT_RANDOM ? "random" : "pca",
           o.init == UMAP_INIT_SPECTRAL ? (m.init_iters >= 300 ? ", 300 steps (cap)" : ", converged") : "", m.sec_layout, bp.cpu_thr_layout - bp.cpu_thr_graph, 1e3 * m.sec_layout / m.n_epochs);
    if (lab) {
        kmeans_opts ko;
        kmeans_opts_default(&ko);
        ko.n_init = 3;
        kmeans_result kr;
        double acc = 0;
        if (kmeans_fit(m.embedding, n, m.n_components, k, &ko, &kr, &e) == 0 &&
            metrics_acc(kr.labels, lab, n, &acc, &e) == 0)
            printf("k-means (k = %d) on the embedding: ACC %.4f\n", k, acc);
        kmeans_result_free(&kr);
        if (bench_gmm_score(m.embedding, n, m.n_components, lab, k, gmm_n_init, seed, &e) < 0) {
            fprintf(stderr, "gmm: %s\n", e.msg);
            goto out;
        }
    }
    if (embed_out && bench_npy_f32(embed_out, m.embedding, n, m.n_components, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        goto out;
    }
    if (do_transform) {
        size_t nt = n < 10000 ? n : 10000;
        T = malloc(nt * m.n_components * sizeof *T);
        if (!T) goto out;
        t0 = dc_now_s();
        if (umap_transform(&m, X, nt, &o, T, &e) < 0) {
            fprintf(stderr, "umap_transform: %s\n", e.msg);
            goto out;
        }
        printf("umap_transform of %zu training points: %.2f s\n", nt, dc_now_s() - t0);
    }
    rc = 0;
out:
    if (X != ds.x) free(X);
    dataset_free(&ds);
    free(lab);
    free(T);
    umap_model_free(&m);
    return rc;
}
