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

/* OpenBLAS' own description: version, core type, threads ("OpenBLAS 0.3.21 ... SkylakeX"). */
const char *dc_blas_config(void);
/* Sets / gets the OpenBLAS thread count (process-wide). */
void dc_blas_set_threads(int n);
int dc_blas_threads(void);

#endif
