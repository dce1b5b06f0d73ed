/* vae_testutil.h: the data the vae tests share — NB separated Gaussian blobs in D
 * dimensions inside [0, 1], PER points each (sample i belongs to blob i % NB).
 * Header-only (static); the including test defines NB, PER, N = NB * PER and D first. */
#ifndef DC_VAE_TESTUTIL_H
#define DC_VAE_TESTUTIL_H

#include <stdint.h>

#include "rng.h"

static void blobs(float *x, int32_t *y, uint64_t seed)
{
    rng r;
    rng_seed(&r, seed);
    float ctr[NB * D];
    for (int i = 0; i < NB * D; i++) ctr[i] = (float)(0.1 + 0.8 * rng_uniform(&r));
    for (int i = 0; i < N; i++) {
        int j = i % NB;
        y[i] = j;
        for (int t = 0; t < D; t++) {
            double v = ctr[j * D + t] + 0.05 * rng_normal(&r);
            x[i * D + t] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
        }
    }
}

#endif
