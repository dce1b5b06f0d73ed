#include "dc_blas.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Declared by OpenBLAS' cblas.h too; repeated to keep core headers BLAS-agnostic. */
char *openblas_get_config(void);
char *openblas_get_corename(void);
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

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
