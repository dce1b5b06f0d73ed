/* check.h: tiny test helpers. A failed check prints file:line, what was expected and
 * what came, and counts a failure; CHECK_DONE() prints "N passed, N failed" and returns
 * the exit status. Use inside main():
 *
 *   CHECK(x > 0);  CHECK_EQ_INT(a, b);  CHECK_NEAR(a, b, tol);  return CHECK_DONE();
 *
 * A learned quality (an ACC, a loss ratio) is checked with CHECK_MIN / CHECK_MAX, which
 * always print one "quality:" line with the figure and its bound, so that the margins
 * can be collected under every OpenBLAS kernel (tests/kernel_sweep.sh):
 *
 *   CHECK_MIN(acc, 0.95, "dec ACC on 4 blobs");
 */
#ifndef DC_CHECK_H
#define DC_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_pass_, check_fail_;

#define CHECK(c)                                                                     \
    do {                                                                             \
        if (c) check_pass_++;                                                        \
        else {                                                                       \
            check_fail_++;                                                           \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c);    \
        }                                                                            \
    } while (0)

#define CHECK_MSG(c, ...)                                                            \
    do {                                                                             \
        if (c) check_pass_++;                                                        \
        else {                                                                       \
            check_fail_++;                                                           \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #c);    \
            fprintf(stderr, __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                     \
        }                                                                            \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                           \
    do {                                                                             \
        long long a_ = (long long)(a), b_ = (long long)(b);                          \
        if (a_ == b_) check_pass_++;                                                 \
        else {                                                                       \
            check_fail_++;                                                           \
            fprintf(stderr, "%s:%d: %s == %s: expected %lld, got %lld\n", __FILE__,  \
                    __LINE__, #a, #b, b_, a_);                                       \
        }                                                                            \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                        \
    do {                                                                             \
        double a_ = (double)(a), b_ = (double)(b);                                   \
        if (fabs(a_ - b_) <= (tol)) check_pass_++;                                   \
        else {                                                                       \
            check_fail_++;                                                           \
            fprintf(stderr, "%s:%d: %s ~ %s: expected %.9g, got %.9g (tol %g)\n",    \
                    __FILE__, __LINE__, #a, #b, b_, a_, (double)(tol));              \
        }                                                                            \
    } while (0)

/* v >= lo (NaN fails); prints "quality: <what> <v> (min <lo>) file:line" either way. */
#define CHECK_MIN(v, lo, what)                                                       \
    do {                                                                             \
        double v_ = (double)(v), lo_ = (double)(lo);                                 \
        printf("quality: %s %.4f (min %.4f) %s:%d\n", what, v_, lo_, __FILE__, __LINE__); \
        if (v_ >= lo_) check_pass_++;                                                \
        else {                                                                       \
            check_fail_++;                                                           \
            fprintf(stderr, "%s:%d: %s: expected >= %.4f, got %.4f\n", __FILE__,     \
                    __LINE__, what, lo_, v_);                                        \
        }                                                                            \
    } while (0)

/* v <= hi (NaN fails); prints "quality: <what> <v> (max <hi>) file:line" either way. */
#define CHECK_MAX(v, hi, what)                                                       \
    do {                                                                             \
        double v_ = (double)(v), hi_ = (double)(hi);                                 \
        printf("quality: %s %.4f (max %.4f) %s:%d\n", what, v_, hi_, __FILE__, __LINE__); \
        if (v_ <= hi_) check_pass_++;                                                \
        else {                                                                       \
            check_fail_++;                                                           \
            fprintf(stderr, "%s:%d: %s: expected <= %.4f, got %.4f\n", __FILE__,     \
                    __LINE__, what, hi_, v_);                                        \
        }                                                                            \
    } while (0)

#define CHECK_DONE()                                                                 \
    (printf("%d passed, %d failed\n", check_pass_, check_fail_), check_fail_ ? 1 : 0)

#endif
