/* umap_internal: what the umap_*.c files share and nobody else uses (see umap.h).
 *   umap_knn.c     exact kNN (GEMM and naive)
 *   umap_graph.c   smooth_knn_dist, membership weights, fuzzy union, a/b fit
 *   umap_layout.c  PCA / random init, box scaling, the SGD layout
 *   umap_spectral.c spectral init (subspace iteration on the normalised graph)
 *   umap.c         options, umap_fit, umap_transform */
#ifndef DC_UMAP_INTERNAL_H
#define DC_UMAP_INTERNAL_H

#include "rng.h"
#include "umap.h"

/* umap_knn with the progress report chosen by the caller: after each round of blocks the
 * callback gets (stage, blocks finished, blocks in all) when total < 0, else (stage,
 * done0, total) unchanged (umap_transform reports points of finished batches). */
int umap__knn(const float *X, size_t n, int d, const float *Q, size_t nq, int k, int n_threads,
              int block_rows, umap_progress_fn progress, void *user, int stage, long done0,
              long total, int *idx, float *dist, dc_err *e);

/* umap's compute_membership_strengths: w (n, K) from idx, dist, sigma, rho. bipartite 0:
 * the entry idx[i][j] == i gets weight 0. */
void umap__membership(const int *idx, const float *dist, size_t n, int K, const double *sigma,
                      const double *rho, int bipartite, float *w);

/* Drops edges with w < max(w) / epochs (umap's pruning before the layout), in place. */
void umap__graph_prune(umap_graph *g, double epochs);

/* Principal components of X (n, d): out (n, c) = (X - mean) V, V the top c eigenvectors
 * of the covariance (sign: largest |entry| positive; core/pca.h). Needs c <= d. */
int umap__pca(const float *X, size_t n, int d, int c, float *out, dc_err *e);

/* Spectral init: out (n, c) = the c eigenvectors after the trivial one of the
 * normalised Laplacian I - D^-1/2 W D^-1/2 of g with the smallest eigenvalues,
 * approximated by subspace iteration (see umap_spectral.c). lambda (c), optional:
 * their Laplacian eigenvalue estimates. *iters_out, optional: iterations run. progress
 * (may be NULL) gets (UMAP_STAGE_INIT, step, max_iter) after every step; non-zero stops
 * with DC_ECANCEL. */
int umap__spectral(const umap_graph *g, int c, int max_iter, rng *r, umap_progress_fn progress,
                   void *user, float *out, double *lambda, int *iters_out, dc_err *e);

/* umap's noisy_scale_coords (max |y| -> 10, + N(0, 1e-4)) then each column onto [0, 10]. */
void umap__scale_box(float *Y, size_t n, int c, rng *g, int add_noise);

/* SGD layout (umap's optimize_layout_euclidean). head_emb (n_head, dim) is optimised;
 * tail_emb (n_tail, dim) holds the other ends (may equal head_emb: then move_other).
 * Edges e: head[e] -> tail[e] with eps[e] = epochs per sample (max w / w).
 * Progress after each epoch: stage, done0 + epoch, total (epoch counts when
 * count_epochs, else done0 and total are passed unchanged); then, with state_cb, the
 * layout's state (epoch, rng, next_neg into *state, whose other fields the caller set)
 * and whether progress asked to stop. epoch0 > 0 continues a layout after epoch0 epochs:
 * the sampling schedule is replayed, the rng is *g as it stood and the negative drawn
 * ahead next_neg. Returns 0 or DC_ECANCEL. */
typedef struct umap__sgd {
    float *head_emb;
    float *tail_emb;
    size_t n_tail;
    int dim;
    const int *head, *tail;
    const double *eps;
    size_t n_edges;
    int n_epochs;
    double a, b, gamma, alpha0;
    int neg_rate;
    int move_other;
    rng *g;
    umap_progress_fn progress;
    void *user;
    int stage;
    long done0, total; /* total < 0: report (epoch, n_epochs) */
    int epoch0;        /* epochs already done (resume), else 0 */
    size_t next_neg;   /* with epoch0 > 0: the negative sample drawn ahead */
    umap_layout_fn state_cb;  /* or NULL */
    umap_layout_state *state; /* with state_cb */
} umap__sgd;
int umap__layout(const umap__sgd *s, dc_err *e);

#endif
