/* denormal: dc_blas_init_threads() makes every thread that computes flush denormal
 * floats to zero: this one, threads it creates later, and OpenBLAS's own pool, which the
 * library started before main() (here: grown to 2 threads before the call, as an
 * OPENBLAS_NUM_THREADS > 1 start would have). An sgemm whose every product is denormal
 * (1e-20 * 1e-20) gives 0 everywhere only if every thread that computed a part of it
 * flushes. Also: the new pool's idle-spin timeout is DC_BLAS_THREAD_TIMEOUT. */
#include <cblas.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dc_blas.h"

enum { M = 512, N = 512, K = 64 };

/* Runs C = A B with every product denormal; returns how many entries are not 0. */
static long nonzero_gemm(void)
{
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N),
          *c = calloc((size_t)M * N, sizeof(float));
    long nz = 0;
    for (int i = 0; i < M * K; i++) a[i] = 1e-20f;
    for (int i = 0; i < K * N; i++) b[i] = 1e-20f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
    for (int i = 0; i < M * N; i++) { /* by the bits: with DAZ, a denormal compares equal to 0 */
        uint32_t bits;
        memcpy(&bits, &c[i], sizeof bits);
        nz += (bits & 0x7fffffffu) != 0;
    }
    free(a), free(b), free(c);
    return nz;
}

static void *child(void *arg)
{
    *(int *)arg = dc_blas_flushes_denormals();
    volatile float tiny = 1e-38f, r = tiny * 1e-3f; /* denormal unless flushed */
    uint32_t bits;
    memcpy(&bits, (const float *)&r, sizeof bits);
    if (bits & 0x7fffffffu) *(int *)arg = 0;
    return NULL;
}

int main(void)
{
    openblas_set_num_threads(2); /* the pool exists before the mode is set */
    long before = nonzero_gemm();
    printf("before: %ld of %d entries denormal, not 0\n", before, M * N);
    CHECK_EQ_INT(before, (long)M * N); /* the data does make denormals */

    int user_timeout = getenv("OPENBLAS_THREAD_TIMEOUT") != NULL;
    CHECK_EQ_INT(dc_blas_init_threads(), 1);
    CHECK_EQ_INT(dc_blas_flushes_denormals(), 1);
    CHECK_EQ_INT(openblas_get_num_threads(), 2);
    /* the pool's spin before sleeping: ours unless the user chose one */
    if (!user_timeout) CHECK_EQ_INT(dc_blas_thread_timeout(), DC_BLAS_THREAD_TIMEOUT);
    long after = nonzero_gemm();
    printf("after: %ld entries not 0 (2 BLAS threads)\n", after);
    CHECK_EQ_INT(after, 0);

    pthread_t t;
    int ok = 0;
    CHECK_EQ_INT(pthread_create(&t, NULL, child, &ok), 0);
    pthread_join(t, NULL);
    CHECK_MSG(ok, "a thread created after the call does not flush denormals");
    return CHECK_DONE();
}
