/* dc_size: checked arithmetic for sizes that come from outside the process (request
 * headers and query parameters, file headers, stored models and checkpoints). Every
 * product or sum of such sizes goes through one of these before it is used to allocate,
 * index or compare, so that a value that wraps is an error and never a small number.
 *
 *   size_t bytes;
 *   if (dc_mul3_size(n, d, sizeof(float), &bytes) < 0)
 *       return dc_err_set(e, DC_EINVAL, "%lld x %d floats do not fit in memory", n, d);
 *
 * Each returns 0 and writes the result, or DC_EINVAL (and leaves *out untouched) when an
 * operand is negative (for the size_t forms) or the result does not fit its type. */
#ifndef DC_SIZE_H
#define DC_SIZE_H

#include <stddef.h>
#include <stdint.h>

#include "dc_err.h"

/* a * b in size_t; a and b are int64 so that a negative count is caught, not wrapped. */
static inline int dc_mul_size(int64_t a, int64_t b, size_t *out)
{
    size_t r;
    if (a < 0 || b < 0 || __builtin_mul_overflow((uint64_t)a, (uint64_t)b, &r)) return DC_EINVAL;
    *out = r;
    return 0;
}

/* a * b * c in size_t (rows x columns x element size). */
static inline int dc_mul3_size(int64_t a, int64_t b, int64_t c, size_t *out)
{
    size_t ab, r;
    if (dc_mul_size(a, b, &ab) < 0 || c < 0 || __builtin_mul_overflow(ab, (uint64_t)c, &r))
        return DC_EINVAL;
    *out = r;
    return 0;
}

/* a + b in size_t. */
static inline int dc_add_size(size_t a, size_t b, size_t *out)
{
    size_t r;
    if (__builtin_add_overflow(a, b, &r)) return DC_EINVAL;
    *out = r;
    return 0;
}

/* a * b and a + b in int64 (signed: offsets, counts that may be compared with -1). */
static inline int dc_mul_i64(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r)) return DC_EINVAL;
    *out = r;
    return 0;
}

static inline int dc_add_i64(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) return DC_EINVAL;
    *out = r;
    return 0;
}

#endif
