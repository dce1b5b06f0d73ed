#include "dc_blas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <pmmintrin.h>
#include <xmmintrin.h>
#endif

/* Declared by OpenBLAS' cblas.h too; repeated to keep core headers BLAS-agnostic. */
char *openblas_get_config(void);
char *openblas_get_corename(void);
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
int blas_thread_shutdown_(void); /* joins the pool; the next threaded call makes a new one */
void openblas_read_env(void);    /* re-reads OPENBLAS_* (the pool reads the timeout at start) */
int openblas_thread_timeout(void);

static int generic_core(const char *name)
{
    static const char *slow[] = {"prescott", "core2", "katmai", "coppermine", "northwood",
                                 "penryn", "dunnington", "nehalem", "atom", "unknown"};
    for (size_t i = 0; i < sizeof slow / sizeof *slow; i++)
        if (name && strcasecmp(name, slow[i]) == 0) return 1;
    return 0;
}

void dc_blas_fix_coretype(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE") || getenv("DC_BLAS_REEXEC")) return;
    if (!generic_core(openblas_get_corename())) return;
    __builtin_cpu_init();
    const char *core = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                           ? "SkylakeX"
                       : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
                           ? "Haswell"
                           : NULL;
    if (!core) return;
    setenv("OPENBLAS_CORETYPE", core, 1);
    setenv("DC_BLAS_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with the slow kernels */
    unsetenv("OPENBLAS_CORETYPE");
}

const char *dc_blas_config(void) { return openblas_get_config(); }
void dc_blas_set_threads(int n) { openblas_set_num_threads(n); }
int dc_blas_threads(void) { return openblas_get_num_threads(); }

int dc_blas_init_threads(void)
{
    if (!getenv("OPENBLAS_THREAD_TIMEOUT")) {
        char v[16];
        snprintf(v, sizeof v, "%d", DC_BLAS_THREAD_TIMEOUT);
        setenv("OPENBLAS_THREAD_TIMEOUT", v, 1); /* children (re-exec, workers) keep it */
        openblas_read_env();
    }
#if defined(__SSE2__)
    _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
    _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
    blas_thread_shutdown_(); /* the next threaded call builds a pool with both settings */
    return 1;
#else
    blas_thread_shutdown_();
    return 0;
#endif
}

int dc_blas_thread_timeout(void) { return openblas_thread_timeout(); }

int dc_blas_flushes_denormals(void)
{
#if defined(__SSE2__)
    return _MM_GET_FLUSH_ZERO_MODE() == _MM_FLUSH_ZERO_ON &&
           _MM_GET_DENORMALS_ZERO_MODE() == _MM_DENORMALS_ZERO_ON;
#else
    return 0;
#endif
}
