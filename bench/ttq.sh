#!/usr/bin/env bash
# Time to quality: the clustering stage of n2d, dec and ae_kmeans started from autoencoders
# saved after 10, 25, 50 and 150 pretraining epochs of ONE pretraining run per dataset
# (bench/ae_probe --save PREFIX writes PREFIX-<epoch>.ae and logs each epoch's time), so a
# budget's minutes = the probe's time to that epoch + the stage's own seconds.
# bench/summarize_ttq.py turns the JSON lines and the probe log into docs/quality.md's table.
#
#   # 1. one pretraining per dataset (Adam 1e-3, glorot: the product's recipe below
#   #    10,000 steps; two BLAS threads)
#   OPENBLAS_NUM_THREADS=2 build/ae_probe $(bench/ttq.sh files $M) --epochs 150 --opt adam \
#       --lr 1e-3 --init glorot --seed 1 --probe 10,25,50,150 --n-init 20 \
#       --save $W/mnist-adam-s1 > $W/mnist-probe.log
#   # 2. the stages, in two lanes of one BLAS thread each
#   LANE="n2d ae_kmeans" bench/ttq.sh mnist $M $W/mnist-adam-s1 & LANE=dec bench/ttq.sh mnist $M $W/mnist-adam-s1
set -euo pipefail
files() {
  echo "--data $1/train-images-idx3-ubyte.gz --labels $1/train-labels-idx1-ubyte.gz" \
       "--data $1/t10k-images-idx3-ubyte.gz --labels $1/t10k-labels-idx1-ubyte.gz"
}
if [ "${1:-}" = files ]; then files "$2"; exit 0; fi
ds=$1 dir=$2 prefix=$3
BIN=${BIN:-build/deepclust}
OUT=${OUT:-docs/ttq-runs.jsonl}
EPOCHS=${EPOCHS:-"10 25 50 150"}
LANE=${LANE:-"n2d dec ae_kmeans"}
SEED=${SEED:-1}
export OPENBLAS_NUM_THREADS=${THREADS:-1}
for m in $LANE; do
  for e in $EPOCHS; do
    ae=$prefix-$e.ae
    [ -f "$ae" ] || { echo "missing $ae" >&2; exit 1; }
    echo "== $ds $m from epoch $e ($(date -u +%H:%M:%S))" >&2
    # shellcheck disable=SC2046
    line=$("$BIN" train --method "$m" --clusters 10 --seed "$SEED" --load-ae "$ae" --quiet \
           --json $(files "$dir") | tail -n 1)
    echo "$line" | sed "s/^{/{\"dataset\":\"$ds\",\"ae_epochs\":$e,\"ae\":\"$(basename "$ae")\",\"threads\":$OPENBLAS_NUM_THREADS,\"date\":\"$(date -u +%F)\",/" >> "$OUT"
    echo "   $line" >&2
  done
done
