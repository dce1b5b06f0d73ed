#!/usr/bin/env bash
# kernel_sweep.sh: runs the tests that check a learned quality (ctest label "quality",
# C tests only) under every OpenBLAS kernel this CPU can run (tests/kernels.sh) and at
# 1 and 2 BLAS threads, and prints, for every CHECK_MIN / CHECK_MAX figure, the worst
# value seen, its bound and the margin between them. Run by hand, on demand:
#
#   bash tests/kernel_sweep.sh [build-dir]      # default ./build; ~10 min on 2 cores
#
# The table it prints is recorded in docs/kernels.md; a floor's margin is the one of
# that table.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
tests="test_quality_small test_quality_n2d test_cluster test_cluster_conv test_kmeans test_nn_ae test_vae test_umap test_gmm
       test_vae_from_ae test_vae_init"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for k in $(bash "$here/kernels.sh"); do
    for t in 1 2; do
        for x in $tests; do
            out=$(OPENBLAS_CORETYPE=$k OPENBLAS_NUM_THREADS=$t "$build/$x" 2>&1) || {
                echo "FAILED: $x under $k, $t thread(s)"; printf '%s\n' "$out" | grep -v '^quality:' | tail -5; }
            printf '%s\n' "$out" | sed -n "s/^quality: /$k $t /p" >>"$log"
        done
        echo "done: $k, $t thread(s)" >&2
    done
done
/usr/bin/python3 - "$log" <<'PY'
import re, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r'(\S+) (\d) (.*) (-?[\d.]+|nan) \((min|max) (-?[\d.]+)\) (\S+)$', line.strip())
    if not m: continue
    k, t, what, v, kind, b, where = m.groups()
    v, b = float(v), float(b)
    r = rows.setdefault((where.rsplit('/', 1)[-1], what), {'kind': kind, 'bound': b, 'vals': []})
    r['vals'].append((v, f'{k}/{t}'))
print(f"| check | where | bound | worst (kernel/threads) | best | margin | runs |")
print("|---|---|---|---|---|---|---|")
for (where, what), r in rows.items():
    vals = r['vals']
    worst = min(vals) if r['kind'] == 'min' else max(vals)
    best = max(vals) if r['kind'] == 'min' else min(vals)
    margin = worst[0] - r['bound'] if r['kind'] == 'min' else r['bound'] - worst[0]
    sign = '>=' if r['kind'] == 'min' else '<='
    print(f"| {what} | {where} | {sign} {r['bound']:.4f} | {worst[0]:.4f} ({worst[1]}) | {best[0]:.4f} | {margin:+.4f} | {len(vals)} |")
PY
