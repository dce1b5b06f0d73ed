/* blobs_testutil.h: Gaussian blobs with known labels, shared by the k-means and mixture
 * tests. n points around k centres drawn in [-spread, spread]^d with unit-variance noise,
 * point i in cluster i % k; truth (n) out. Returns X (n, d), caller frees. */
#ifndef DC_BLOBS_TESTUTIL_H
#define DC_BLOBS_TESTUTIL_H

#include <stdint.h>
#include <stdlib.h>

#include "rng.h"

static float *blobs(size_t n, int d, int k, double spread, uint64_t seed, int *truth)
{
    rng g;
    rng_seed(&g, seed);
    float *X = malloc(n * d * sizeof *X);
    double *cent = malloc((size_t)k * d * sizeof *cent);
    for (int i = 0; i < k * d; i++) cent[i] = (rng_uniform(&g) * 2 - 1) * spread;
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % (size_t)k);
        truth[i] = c;
        for (int j = 0; j < d; j++) X[i * d + j] = (float)(cent[c * d + j] + rng_normal(&g));
    }
    free(cent);
    return X;
}

#endif
