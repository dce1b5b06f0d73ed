/* pca: principal components of float32 rows, for projections (n2d's PCA init, the 2-D
 * embedding map of a job with its centroids projected the same way).
 *
 *   pca p = {0};
 *   if (pca_fit(&p, X, n, d, 2, &e) == 0) {        // X (n, d), c = 2 <= d components
 *       pca_transform(&p, X, n, Y);                 // Y (n, 2) = (X - mean) W
 *       pca_transform(&p, centroids, k, Yc);        // same projection
 *   }
 *   pca_free(&p);
 *
 * pca_fit_top is the same for large d (the 784 raw features of a k-means job).
 *
 * The covariance is summed in double by blocks of rows (dsyrk on centred rows) and
 * diagonalised by cyclic Jacobi (d is small: codes, embeddings; O(d^3)); components are
 * ordered by eigenvalue, each with its largest |entry| made positive, so a fit is
 * deterministic. */
#ifndef DC_PCA_H
#define DC_PCA_H

#include <stddef.h>

#include "dc_err.h"

typedef struct pca {
    int d, c;
    double *mean;    /* (d) */
    float *W;        /* (d, c): column t = component t */
    double *var;     /* (c) eigenvalues / n: the variance along each component */
} pca;

/* c <= d <= 4096, n >= 1. 0, DC_EINVAL or DC_ENOMEM. */
int pca_fit(pca *p, const float *X, size_t n, int d, int c, dc_err *e);
/* The same fit for a large d, where Jacobi's O(d^3) per sweep is slow (784 features:
 * seconds): the top c components by subspace iteration on the covariance (a block of
 * c + 4 vectors started on the axes of the largest variances, until its Rayleigh
 * quotients settle, then Rayleigh-Ritz), O(d^2 c) per iteration. Agrees with pca_fit
 * where the c-th and (c+1)-th variances are apart; deterministic for given BLAS. */
int pca_fit_top(pca *p, const float *X, size_t n, int d, int c, dc_err *e);
/* Y (n, c) = (X - mean) W, X (n, d) with the fit's d. 0 or DC_ENOMEM. */
int pca_transform(const pca *p, const float *X, size_t n, float *Y, dc_err *e);
void pca_free(pca *p); /* NULL-safe, idempotent */

/* Cyclic Jacobi on the symmetric A (d, d), destroyed: eigenvalues on its diagonal,
 * eigenvectors in the columns of V (d, d). */
void pca_eig_sym(double *A, int d, double *V);

#endif
