/* rng: a small seedable generator (xoshiro256**, seeded by splitmix64).
 * Every random choice in core/ goes through one of these so that a seed makes a run
 * reproducible bit for bit. Not thread-safe: one per thread or per model. */
#ifndef DC_RNG_H
#define DC_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct rng {
    uint64_t s[4];
    int has_spare; /* Box-Muller keeps its second normal */
    double spare;
} rng;

void rng_seed(rng *r, uint64_t seed);
uint64_t rng_u64(rng *r);
double rng_uniform(rng *r);              /* [0, 1) */
uint64_t rng_below(rng *r, uint64_t n);  /* [0, n), n > 0, unbiased */
double rng_normal(rng *r);               /* N(0, 1) */
void rng_shuffle(rng *r, int *a, size_t n); /* Fisher-Yates */

#endif
