/* umap: UMAP (McInnes, Healy & Melville 2018) on float32 data, the manifold stage of the
 * `n2d` method (autoencoder codes -> UMAP -> Gaussian mixture). Behaviour follows
 * umap-learn (umap_.py, layouts.py) with metric "euclidean":
 *
 *   1. kNN: exact k nearest neighbours from blocked cblas_sgemm distances
 *      (||x||^2 - 2 x.y + ||y||^2 on mean-centred data, clamped at 0), then the
 *      distances of the survivors recomputed exactly in double; ties go to the lower index.
 *   2. graph: per point rho_i = distance to the nearest neighbour at distance > 0 and
 *      sigma_i by binary search so that sum_j exp(-max(0, d_ij - rho_i) / sigma_i) =
 *      log2(n_neighbors) (umap's smooth_knn_dist: 64 halvings, tolerance 1e-5,
 *      sigma >= 1e-3 * mean distance); weights w_ij = exp(-max(0, d_ij - rho_i)/sigma_i);
 *      fuzzy union W = A + A^T - A.*A^T as a symmetric CSR graph; edges with
 *      w < max(w) / n_epochs are dropped, as umap does before its layout.
 *   3. a, b of the low-dimensional similarity 1 / (1 + a d^(2b)) fitted to min_dist and
 *      spread by Levenberg-Marquardt (umap's find_ab_params).
 *   4. init: PCA of the input (or spectral, or uniform random), scaled so that max |coord| = 10, plus
 *      N(0, 1e-4) noise, then every column mapped onto [0, 10] (umap's noisy_scale_coords
 *      and its min-max step).
 *   5. layout: umap's optimize_layout_euclidean, single-threaded. Each edge is sampled
 *      every max(w)/w epochs; an attraction step moves both ends, then
 *      negative_sample_rate uniform negative samples push the head away; gradients are
 *      clipped to +-4 per coordinate; the learning rate falls linearly from
 *      learning_rate towards 0 over n_epochs.
 *
 * As in umap-learn, n_neighbors COUNTS THE POINT ITSELF: n_neighbors = 20 means the
 * point plus its 19 nearest other points (the self entry has distance 0, weight 0 and is
 * skipped by the sigma search).
 *
 *   umap_opts o;  umap_opts_default(&o);  o.seed = 1;
 *   umap_model m;  dc_err e = {0};
 *   if (umap_fit(X, n, d, &o, &m, &e) == 0) { ... m.embedding (n, m.n_components) ... }
 *   umap_transform(&m, Xnew, n_new, NULL, Ynew, &e);   // Ynew (n_new, n_components)
 *   umap_model_free(&m);
 *
 * Cost and size: the kNN is exact, O(n^2 d) time. Measured at 70,000 x 10 on the shared
 * 2-core dev machine (bench/bench_umap.c): kNN 10.8 s wall with 2 threads, graph 0.8 s,
 * layout 64 s wall / 35 s CPU for 200 epochs, 75 s in all. The kNN grows with n^2
 * (100k samples: about twice 70k's kNN time; 1M: about 200 times), the layout only
 * linearly (with the edge count, about 1.5 n (n_neighbors - 1)): beyond ~100k samples
 * the exact kNN becomes the cost and an approximate kNN (NN-descent) is the remedy.
 * Memory stays bounded: per kNN thread one block of block_rows x 2048 floats
 * plus the candidate lists, whatever n. Besides the inputs, a fit holds the kNN
 * (n x n_neighbors ints and floats), the graph (up to 2 n (n_neighbors-1) edges, about
 * 1.5 n (n_neighbors-1) after pruning; 8 bytes an edge in CSR, then 16 in the layout's
 * edge list plus 24 of sampling state), a centred copy of X during the kNN and the
 * model's own copy of X (kept for umap_transform).
 *
 * Reproducibility: a fit is bit-reproducible for a given seed on one machine, also when
 * stopped and continued from a umap_layout_state. The layout is single-threaded; n_threads and block_rows only change the float screening of the
 * kNN, whose survivors are re-ranked by exact distances, so the kNN (and the fit) come
 * out the same unless screening error exceeds a gap of 8 ranks (tests check n_threads
 * 2 gives the same bits). Across machines the OpenBLAS kernel differs, with the same
 * caveat. Calls share nothing.
 */
#ifndef DC_UMAP_H
#define DC_UMAP_H

#include <stddef.h>
#include <stdint.h>

#include "dc_err.h"

/* Stages reported to the progress callback. */
enum umap_stage {
    UMAP_STAGE_KNN = 1,       /* done/total: kNN row blocks (fit) */
    UMAP_STAGE_GRAPH,         /* done/total: 1/1 once the fuzzy graph is built */
    UMAP_STAGE_LAYOUT,        /* done/total: epochs of the fit's layout */
    UMAP_STAGE_TRANSFORM,     /* done/total: points of umap_transform finished */
    UMAP_STAGE_INIT,          /* done/total: spectral init steps (of at most 300) */
};

/* Called after every round of kNN blocks (n_threads blocks of block_rows rows), once
 * after the graph, after every step of a spectral init, after every layout epoch, and in umap_transform after every kNN
 * round and layout epoch of each batch (stage UMAP_STAGE_TRANSFORM, done = points
 * finished so far). Return non-zero to stop: the call then returns DC_ECANCEL and frees
 * everything it allocated. */
typedef int (*umap_progress_fn)(void *user, int stage, long done, long total);

enum umap_init {
    UMAP_INIT_PCA = 0,      /* principal components of X (needs n_components <= d) */
    UMAP_INIT_RANDOM = 1,   /* uniform in [-10, 10] */
    UMAP_INIT_SPECTRAL = 2, /* eigenvectors of the graph's normalised Laplacian, umap-learn's
                               default, by subspace iteration (at most 300 steps; see
                               umap_spectral.c); needs n_components <= n - 2 */
};

enum umap_metric { UMAP_METRIC_EUCLIDEAN = 0 };

/* Where a fit's layout stands after `epoch` of its epochs: with the same X and options,
 * a fit given it as umap_opts.resume recomputes the kNN and the graph (exact, so the
 * same), checks that the graph is the one the state was taken on (n_edges, graph_hash),
 * skips the init and continues the layout at epoch `epoch`, bit for bit as the
 * uninterrupted fit. The per-edge sampling schedule is not stored: it is a function of
 * the graph and the epoch, replayed on resume (additions only, no gradients). Size:
 * n x n_components floats and a few words (2.8 MB at 70,000 x 10). */
typedef struct umap_layout_state {
    int epoch;             /* layout epochs done, 0..n_epochs */
    int n_epochs;          /* the fit's layout epochs (0 = auto resolved) */
    int init_iters;        /* spectral init steps of the fit (for the model) */
    int n_components;
    size_t n;              /* training points */
    size_t n_edges;        /* directed edges of the pruned graph */
    uint64_t graph_hash;   /* FNV-1a of the layout's edge list (head, tail, epochs per sample) */
    uint64_t rng[4];       /* the layout's rng (xoshiro256** state) ... */
    int rng_has_spare;     /* ... with its spare normal */
    double rng_spare;
    uint64_t next_neg;     /* the negative sample drawn one ahead */
    float *embedding;      /* (n, n_components); borrowed (the fit's own when handed out) */
} umap_layout_state;

/* Called after every layout epoch of umap_fit, after the progress callback, with
 * final = 1 when that callback asked to stop (the fit then returns DC_ECANCEL whatever
 * this returns). st and its embedding are valid during the call only. Non-zero stops
 * the fit (DC_ECANCEL). Gets progress_user. */
typedef int (*umap_layout_fn)(void *user, const umap_layout_state *st, int final);

typedef struct umap_opts {
    int n_components;         /* output dimension (default 10, N2D's), 1..1024 */
    int n_neighbors;          /* neighbourhood size counting the point itself (20), 2..min(n, 1000) */
    double min_dist;          /* 0 <= min_dist <= spread (default 0, N2D's) */
    double spread;            /* scale of the embedded points, (0, 100] (1) */
    int metric;               /* enum umap_metric (euclidean only) */
    int n_epochs;             /* layout epochs, 0 = auto: 500 if n <= 10,000 else 200; else 1..100000 */
    double learning_rate;     /* initial SGD step, (0, 1000] (1) */
    int negative_sample_rate; /* negative samples per positive one, 0..100 (5) */
    double repulsion_strength; /* gamma, weight of the negative samples, [0, 100] (1) */
    double a, b;              /* curve parameters; both 0 = fit from min_dist/spread (0, 0) */
    int init;                 /* enum umap_init (UMAP_INIT_PCA) */
    uint64_t seed;            /* rng seed for init noise and negative sampling (0) */
    int n_threads;            /* kNN threads, 1..256 (1); BLAS threads come on top */
    int block_rows;           /* kNN query rows per GEMM block, 1..65536 (512) */
    int transform_epochs;     /* umap_transform epochs, 0 = umap's rule: n_epochs / 3 if
                                 n_epochs was set, else 100 for <= 10,000 new points, else 30 */
    int transform_batch;      /* umap_transform points per batch, >= 1 (8192) */
    umap_progress_fn progress; /* optional (NULL) */
    void *progress_user;
    umap_layout_fn layout_state;      /* fit: the layout's state after each epoch, for
                                         checkpoints (optional, NULL) */
    const umap_layout_state *resume;  /* fit: continue this layout (see umap_layout_state),
                                         or NULL; its embedding is copied */
} umap_opts;

typedef struct umap_model {
    size_t n;          /* training points */
    int d;             /* input dimension */
    int n_components;
    float *embedding;  /* (n, n_components) row-major; owned */
    float *data;       /* (n, d) copy of the training data, for transform; owned */
    double a, b;       /* curve parameters used */
    int n_epochs;      /* layout epochs used */
    size_t n_edges;    /* directed edges of the graph after pruning (both directions counted) */
    umap_opts opts;    /* options of the fit (progress, layout_state and resume cleared) */
    double sec_knn, sec_graph, sec_init, sec_layout; /* wall-clock seconds per stage */
    int init_iters;    /* spectral init: subspace iteration steps run (else 0) */
    int resume_dropped; /* 1: opts.resume was taken on another graph (another BLAS kernel,
                           say), so the layout started afresh instead */
} umap_model;

void umap_opts_default(umap_opts *o);

/* Checks o against n and d (the data a fit would get): DC_EINVAL with a message naming
 * the first bad option and its range. Also called by umap_fit. */
int umap_opts_check(const umap_opts *o, size_t n, int d, dc_err *e);

/* Embeds X (n, d) row-major. Non-finite values in X give DC_ENUMERIC. On success *m owns
 * its arrays (free with umap_model_free); on failure it is zeroed. With o->resume: a
 * state of another shape or epoch count is DC_EINVAL; one taken on another graph is
 * dropped (the layout starts afresh, m->resume_dropped = 1). */
int umap_fit(const float *X, size_t n, int d, const umap_opts *o, umap_model *m, dc_err *e);
void umap_model_free(umap_model *m); /* NULL and zeroed models are fine */

/* Places new points Q (nq, m->d) into m's embedding: out (nq, m->n_components).
 * For each point: its n_neighbors nearest training points (its own copy included if
 * it was a training point), umap's transform weights (local connectivity 0, i.e.
 * rho = 0), a start at the weight-averaged embedding of those neighbours (or at a
 * neighbour at distance 0), then transform_epochs of SGD with the training embedding
 * fixed and learning rate learning_rate / 4. Points are processed in batches of
 * transform_batch; each batch's edge pruning (w < max / epochs) and rng stream
 * (seeded from seed and the batch's first index) are its own, so a result depends on
 * transform_batch but not on what else is in the call beyond that.
 * o may be NULL: the fit's options. From o only seed, n_threads, block_rows,
 * transform_epochs, transform_batch and progress are used; the rest is the model's. */
int umap_transform(const umap_model *m, const float *Q, size_t nq, const umap_opts *o, float *out,
                   dc_err *e);

/* ---- the pieces, exposed for tests and benchmarks ---------------------------------- */

/* k nearest rows of X (n, d) for each query row of Q (nq, d), through blocked GEMM.
 * Q == NULL: the queries are X's own rows and each query's own index is left out
 * (duplicates of it are kept). idx (nq, k), dist (nq, k) out: Euclidean distances
 * (not squared), ascending, ties by lower index. Needs 1 <= k <= n (k <= n - 1 for
 * Q == NULL). n_threads and block_rows as in umap_opts; progress (may be NULL) gets
 * stage UMAP_STAGE_KNN with done/total in blocks. */
int umap_knn(const float *X, size_t n, int d, const float *Q, size_t nq, int k, int n_threads,
             int block_rows, umap_progress_fn progress, void *user, int *idx, float *dist,
             dc_err *e);

/* Naive reference for umap_knn: every distance from differences summed in double, the
 * k smallest by (distance, index). Same outputs. For tests. */
int umap_knn_naive(const float *X, size_t n, int d, const float *Q, size_t nq, int k, int *idx,
                   float *dist, dc_err *e);

/* umap's smooth_knn_dist on dist (n, K) (rows ascending; column 0 is skipped by the sum,
 * as umap's column of the point itself): rho (n) and sigma (n) out. target_k is the
 * neighbourhood size whose log2 the sums aim at; local_connectivity is umap's (1 for a
 * fit, 0 for transform). If psum (n) is not NULL it gets the sum at the returned sigma
 * before the minimum-sigma rule. */
void umap_smooth_knn_dist(const float *dist, size_t n, int K, double target_k,
                          double local_connectivity, double *sigma, double *rho, double *psum);

/* A sparse symmetric graph in CSR form: row i's edges are col[rowptr[i] .. rowptr[i+1]),
 * columns ascending, weights w in (0, 1]. All arrays owned. */
typedef struct umap_graph {
    size_t n, nnz;
    size_t *rowptr; /* (n + 1) */
    int *col;       /* (nnz) */
    float *w;       /* (nnz) */
} umap_graph;
void umap_graph_free(umap_graph *g); /* NULL and zeroed graphs are fine */

/* Fuzzy simplicial set of a kNN (idx, dist) (n, K) whose column 0 is each point itself
 * (distance 0): sigma/rho by umap_smooth_knn_dist(local_connectivity 1), membership
 * weights, then the fuzzy union A + A^T - A.*A^T into *g (zero weights dropped). */
int umap_fuzzy_graph(const int *idx, const float *dist, size_t n, int K, umap_graph *g,
                     dc_err *e);

/* umap's find_ab_params: least-squares fit of 1 / (1 + a x^(2b)) to 1 on x < min_dist and
 * exp(-(x - min_dist) / spread) beyond, on 300 points of [0, 3 spread]. */
int umap_find_ab(double spread, double min_dist, double *a, double *b, dc_err *e);

#endif
