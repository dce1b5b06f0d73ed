#!/usr/bin/env bash
# kernels.sh: prints the OpenBLAS kernels (OPENBLAS_CORETYPE values) this CPU can run,
# one per line, from the instruction sets /proc/cpuinfo lists. Used by .ci/run and
# tests/kernel_sweep.sh to run the quality-sensitive tests under every kernel a machine
# of this kind may pick (AMD EPYC: Zen or Haswell, AVX-512 ones also SkylakeX; Intel
# Xeon: SkylakeX or Cooperlake).
set -euo pipefail
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { for f in "$@"; do [[ "$flags" == *" $f "* ]] || return 1; done; }
if has avx2 fma; then echo Haswell; echo Zen; fi
if has avx512f avx512dq avx512bw avx512vl avx512cd; then
    echo SkylakeX
    if has avx512_bf16; then echo Cooperlake; fi
fi
