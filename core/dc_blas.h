/* dc_blas: OpenBLAS set-up shared by the executables.
 *
 * OpenBLAS 0.3.21 (Debian bookworm) does not know recent Xeons (e.g. family 6 model
 * 207) and falls back to its SSE3 "Prescott" kernels: sgemm runs 5-6x slower. The core
 * type is chosen when the library loads, before main(), so the only fix from inside is
 * to set OPENBLAS_CORETYPE and start again. Call dc_blas_fix_coretype(argv) first thing
 * in main(): when OpenBLAS picked a generic kernel on a CPU with AVX-512 (or AVX2) and
 * OPENBLAS_CORETYPE is unset, it sets SkylakeX (or Haswell) and re-executes the program;
 * otherwise it returns at once. An explicit OPENBLAS_CORETYPE is always respected.
 */
#ifndef DC_BLAS_H
#define DC_BLAS_H

void dc_blas_fix_coretype(char **argv);

/* Prepares the threads that compute; call it first thing in main(), before any thread
 * of ours exists. Two things, both for speed, neither changes a result:
 * - Denormal floats slow training 2.4x on Intel Xeons after a few epochs (tiny gradients
 *   and activations): sets flush-to-zero and denormals-are-zero (x86 MXCSR) for the
 *   calling thread and restarts OpenBLAS's thread pool, which the library created before
 *   main() without them. A thread inherits the mode from the thread that creates it:
 *   workers, k-means threads and OpenBLAS's new pool then all flush.
 * - OpenBLAS's idle threads spin (sched_yield) for 2^28 cycles after each call before
 *   they sleep; on a 2-vCPU machine the spinning sibling slows the single-threaded work
 *   between GEMMs (Adam's update, activations) up to 2x. Unless OPENBLAS_THREAD_TIMEOUT
 *   is set, the new pool spins 2^DC_BLAS_THREAD_TIMEOUT cycles (docs/bench-ae.md).
 * Returns 1 when the denormal mode is on, 0 on a CPU without it. */
#define DC_BLAS_THREAD_TIMEOUT 12
int dc_blas_init_threads(void);
/* OpenBLAS' thread timeout exponent now in force (what its pool was built with). */
int dc_blas_thread_timeout(void);
/* 1 when the calling thread flushes denormals (FTZ and DAZ set), else 0. */
int dc_blas_flushes_denormals(void);

/* OpenBLAS' own description: version, core type, threads ("OpenBLAS 0.3.21 ... SkylakeX"). */
const char *dc_blas_config(void);
/* Sets / gets the OpenBLAS thread count (process-wide). */
void dc_blas_set_threads(int n);
int dc_blas_threads(void);

#endif
