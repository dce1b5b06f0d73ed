/* iforest: isolation forest (Liu, Ting and Zhou 2008), an atypicality score for points
 * of an embedding: outliers are isolated by few random axis-parallel cuts.
 *
 * Fit: each of n_trees trees is grown on `subsample` points drawn without replacement
 * (psi = min(subsample, n)); a node picks a feature uniformly among those not constant on
 * its points and a cut uniformly in [min, max) of that feature (left: x < cut), down to
 * one point or the height limit ceil(log2 psi). Score of x: its path length h(x) to a
 * leaf, plus c(size) for a leaf that still holds `size` > 1 points, averaged over the
 * trees, normalised as s = 2^(-E[h] / c(psi)), where c(m) = 2 H(m-1) - 2 (m-1)/m (the
 * mean path length of an unsuccessful search in a binary search tree; c(2) = 1, c(1) = 0,
 * H(i) ~ ln i + 0.5772156649). s is in (0, 1]: near 1 for points isolated at once, about
 * 0.5 or less for ordinary ones. The defaults are the paper's: 100 trees, subsample 256.
 *
 *   iforest_opts o; iforest_opts_default(&o); o.seed = 7;
 *   iforest *f = NULL; dc_err e = {0};
 *   if (iforest_fit(&f, X, n, d, &o, &e) == 0)            // X (n, d) float32
 *       iforest_score(f, X, n, scores, &e);               // scores (n) double
 *   iforest_free(f);
 *
 * Trees are stored as complete binary trees (node i has children 2i+1, 2i+2; at most
 * 2^(limit+1) - 1 nodes). Saved form (iforest_save), native byte order, doubles:
 *   [0] IFOREST_MAGIC [1] IFOREST_VERSION [2] n_trees [3] psi [4] d [5] nodes per tree
 *   then per tree and node: feature (-1 leaf, -2 unused) and cut (leaf: its size)
 * iforest_load checks all of it. Deterministic for a seed; no BLAS, so the same bits on
 * every machine. Thread-safe for concurrent scoring of one forest. */
#ifndef DC_IFOREST_H
#define DC_IFOREST_H

#include <stddef.h>
#include <stdint.h>

#include "dc_err.h"

#define IFOREST_MAGIC 0x49464f52u /* "IFOR" */
#define IFOREST_VERSION 1

typedef struct iforest_opts {
    int n_trees;   /* 100 */
    int subsample; /* 256; psi = min(subsample, n) */
    uint64_t seed;
} iforest_opts;

typedef struct iforest iforest;

void iforest_opts_default(iforest_opts *o);

/* x (n, d) float32, finite. 0, DC_EINVAL (bad sizes or options, a non-finite value)
 * or DC_ENOMEM; *out = NULL on failure. */
int iforest_fit(iforest **out, const float *x, size_t n, int d, const iforest_opts *o,
                dc_err *e);
/* score[i] = s(x_i) in (0, 1] for x (n, d) with the forest's d; non-finite features
 * follow the right branch (x < cut is false). 0 or DC_EINVAL. */
int iforest_score(const iforest *f, const float *x, size_t n, double *score, dc_err *e);
void iforest_free(iforest *f); /* NULL-safe */
int iforest_dim(const iforest *f);

/* c(m): mean path length of an unsuccessful BST search over m points (0 for m <= 1). */
double iforest_c(double m);

/* Saved form (see above): length in doubles, write into buf (cap doubles). */
size_t iforest_saved_len(const iforest *f);
int iforest_save(const iforest *f, double *buf, size_t cap, dc_err *e);
/* DC_EFORMAT with a message on a bad magic, version, size or node. */
int iforest_load(iforest **out, const double *buf, size_t len, dc_err *e);

#endif
