#!/usr/bin/env bash
# The manifold stage of n2d against umap-js (npm) on the same autoencoder codes, each
# embedding then scored with the same Gaussian mixture (issue 18 item 6; docs/n2d.md
# "Against umap-js"). One after the other, never side by side:
#
#   1. codes:  manifold_io codes: MNIST train + test (70,000) through F.ae -> codes.npy,
#              labels.npy (--n N keeps the first N)
#   2. ours:   bench_umap: core/umap.h with n2d's settings (10 components, 20 neighbours,
#              min_dist 0, spectral init), --threads kNN threads, then n2d's mixture
#   3. umapjs: node bench/umapjs/run.js, same settings as far as umap-js has them
#              (NN-descent kNN, random init), same epoch count, seeded
#   4. score:  manifold_io score: the same mixture (full, n_init 5, seed) on its embedding
#
#   bench/umap_vs_js.sh --ae F.ae [--mnist DIR] [--n N] [--seed 1] [--epochs 0]
#                       [--threads 1] [--ours-init spectral] [--out DIR]
#
# --epochs 0: bench_umap's rule (500 up to 10,000 points, else 200), passed to both sides
# (umap-js's own rule differs below 7,500 points: 500/400/300). --threads 1 by default, as
# umap-js is single-threaded and n2d's fit uses one kNN thread. --ours-init random|pca
# runs our side with umap-js's kind of init (random, uniform in [-10, 10]) or PCA instead
# of n2d's spectral one, to tell the init apart from the rest. Every step runs under
# $NICE (default "nice -n 19"; NICE= for normal priority). Node's heap limit is
# JS_HEAP_MB (default 8192). Environment: BUILD (the build folder beside bench/), NODE.
# Prereqs: cmake --build $BUILD (bench_umap, manifold_io); (cd bench/umapjs && npm ci).
set -eu -o pipefail
here=$(cd "$(dirname "$0")" && pwd)
AE=
MNIST=/work/shared/data/mnist
N=0
SEED=1
EPOCHS=0
THREADS=1
INIT=spectral
OUT=
BUILD=${BUILD:-$here/../build}
NODE=${NODE:-node}
NICE=${NICE-nice -n 19}
JS_HEAP_MB=${JS_HEAP_MB:-8192}
usage() { sed -n '2,/^set -eu/p' "$0" | sed -n 's/^# \{0,1\}//p' >&2; exit 2; }
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case $1 in
    --ae) AE=$2 ;;
    --mnist) MNIST=$2 ;;
    --n) N=$2 ;;
    --seed) SEED=$2 ;;
    --epochs) EPOCHS=$2 ;;
    --threads) THREADS=$2 ;;
    --ours-init) INIT=$2 ;;
    --out) OUT=$2 ;;
    *) usage ;;
  esac
  shift 2
done
[ -n "$AE" ] || usage
case $INIT in spectral|random|pca) ;; *) usage ;; esac
for p in "$BUILD/bench_umap" "$BUILD/manifold_io"; do
  [ -x "$p" ] || { echo "umap_vs_js: $p missing: build first" >&2; exit 1; }
done
[ -d "$here/umapjs/node_modules/umap-js" ] || {
  echo "umap_vs_js: umap-js not installed: (cd $here/umapjs && npm ci)" >&2; exit 1; }
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/umap_vs_js.XXXXXX)
mkdir -p "$OUT"
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

echo "# umap_vs_js: ae $AE, mnist $MNIST, n $([ "$N" -gt 0 ] && echo "$N" || echo all), seed $SEED, threads $THREADS, our init $INIT, out $OUT"
echo "# $(date -u +%FT%TZ) $(uname -m), $(nproc) cores, $($NODE --version 2>&1 | head -1)"
$NICE "$BUILD/manifold_io" codes --ae "$AE" \
  --data "$MNIST/train-images-idx3-ubyte.gz" --labels "$MNIST/train-labels-idx1-ubyte.gz" \
  --data "$MNIST/t10k-images-idx3-ubyte.gz" --labels "$MNIST/t10k-labels-idx1-ubyte.gz" \
  --n "$N" --out "$OUT/codes.npy" --labels-out "$OUT/labels.npy" | tee "$OUT/codes.log"
n=$(sed -n 's/^codes: \([0-9]*\) x .*/\1/p' "$OUT/codes.log")
if [ "$EPOCHS" -le 0 ]; then
  if [ "$n" -le 10000 ]; then EPOCHS=500; else EPOCHS=200; fi
fi
echo "# $n points, $EPOCHS layout epochs on both sides"

echo "## ours: bench_umap"
t=$(now)
OPENBLAS_NUM_THREADS=1 $NICE "$BUILD/bench_umap" --data "$OUT/codes.npy" --labels "$OUT/labels.npy" \
  --threads "$THREADS" --init "$INIT" --seed "$SEED" --epochs "$EPOCHS" --no-transform --no-sgemm \
  --embed-out "$OUT/ours.npy" 2> "$OUT/ours.err" | tee "$OUT/ours.log"
ours_wall=$(since "$t")

echo "## umap-js: run.js"
t=$(now)
$NICE "$NODE" --max-old-space-size="$JS_HEAP_MB" "$here/umapjs/run.js" --codes "$OUT/codes.npy" \
  --out "$OUT/js.npy" --epochs "$EPOCHS" --seed "$SEED" | tee "$OUT/js.log"
js_wall=$(since "$t")
$NICE "$BUILD/manifold_io" score --embedding "$OUT/js.npy" --labels "$OUT/labels.npy" --seed "$SEED" \
  | tee "$OUT/js_score.log"

# the table: stage seconds from each program's own lines, ACC/NMI/ARI from the gmm lines
stage() { sed -n "s/^  $1 *\([0-9.]*\) s.*/\1/p" "$2" | head -1; }
gmm() { sed -n 's/^gmm .*: ACC \([0-9.]*\) NMI \([0-9.]*\) ARI \([0-9.]*\) .*/\1 | \2 | \3/p' "$1"; }
ours_fit=$(sed -n 's/^umap_fit: \([0-9.]*\) s in all.*/\1/p' "$OUT/ours.log")
ours_cpu=$(sed -n 's/^umap_fit: .* s in all, \([0-9.]*\) s CPU.*/\1/p' "$OUT/ours.log")
ours_init=$(awk -v g="$(stage graph "$OUT/ours.log")" -v i="$(stage init "$OUT/ours.log")" \
  'BEGIN { printf "%.2f", g + i }')
js_fit=$(sed -n 's/^umap-js fit: \([0-9.]*\) s in all.*/\1/p' "$OUT/js.log")
js_cpu=$(sed -n 's/^umap-js fit: .* s in all, \([0-9.]*\) s CPU.*/\1/p' "$OUT/js.log")
js_recall=$(sed -n 's/.*approximate: recall \([0-9.]*\) .*/\1/p' "$OUT/js.log")
echo
echo "## summary ($n points, $EPOCHS epochs, seed $SEED)"
echo
echo "| side | kNN s | graph + init s | layout s | fit s | fit CPU s | process s | ACC | NMI | ARI |"
echo "|---|---|---|---|---|---|---|---|---|---|"
echo "| ours: exact kNN ($THREADS thread(s)), $INIT init | $(stage knn "$OUT/ours.log") | $ours_init |" \
  "$(stage layout "$OUT/ours.log") | $ours_fit | $ours_cpu | $ours_wall | $(gmm "$OUT/ours.log") |"
echo "| umap-js $(sed -n 's/^umap-js \([0-9.]*\) .*/\1/p' "$OUT/js.log"): NN-descent (recall $js_recall), random init |" \
  "$(stage knn "$OUT/js.log") | $(stage init "$OUT/js.log") | $(stage layout "$OUT/js.log") | $js_fit |" \
  "$js_cpu | $js_wall | $(gmm "$OUT/js_score.log") |"
echo
echo "Seconds are wall clock unless CPU. fit: the program's own timing of the UMAP fit. process:" \
  "the whole program, ours = load + fit + mixture + write, umap-js = node's start + load + fit +" \
  "recall check + write (its mixture runs afterwards in manifold_io score). ACC/NMI/ARI: the same" \
  "full-covariance GMM (n_init 5, seed $SEED) on each embedding. Files in $OUT."
