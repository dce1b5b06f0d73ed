#!/usr/bin/env bash
# Quality benchmark: runs `deepclust train --json` for each method and seed on MNIST and
# Fashion-MNIST (all 70,000 samples) and appends one JSON line per run to $OUT.
# One autoencoder is pretrained per (dataset, seed) and reused by ae_kmeans, dec and idec
# (--save-ae / --load-ae), as DEC-keras does. Summarise with bench/summarize.py.
#
#   bench/quality.sh                      # defaults below
#   DATASETS=mnist SEEDS="1 2 3" METHODS="kmeans dec" EPOCHS=50 bench/quality.sh
set -euo pipefail
BIN=${BIN:-build/deepclust}
OUT=${OUT:-docs/quality-runs.jsonl}
DATASETS=${DATASETS:-"mnist fmnist"}
SEEDS=${SEEDS:-"1 2 3"}
METHODS=${METHODS:-"kmeans ae_kmeans dec idec"}
EPOCHS=${EPOCHS:-50}
NINIT=${NINIT:-20}
MNIST=${MNIST:-../shared/data/mnist}
FMNIST=${FMNIST:-/usr/share/datasets/fashion-mnist}
WORK=${WORK:-/tmp/deepclust-quality}
EXTRA=${EXTRA:-}
mkdir -p "$WORK" "$(dirname "$OUT")"

files() {
  local dir=$1
  echo "--data $dir/train-images-idx3-ubyte.gz --labels $dir/train-labels-idx1-ubyte.gz" \
       "--data $dir/t10k-images-idx3-ubyte.gz --labels $dir/t10k-labels-idx1-ubyte.gz"
}

run() { # dataset seed method args...
  local ds=$1 seed=$2 m=$3; shift 3
  local log="$WORK/$ds-$m-$seed.log"
  echo "== $ds $m seed $seed ($(date -u +%H:%M:%S))" >&2
  if line=$("$BIN" train --method "$m" --clusters 10 --seed "$seed" --json "$@" 2>"$log" | tail -n 1); then
    echo "$line" | sed "s/^{/{\"dataset\":\"$ds\",\"pretrain_budget\":\"$EPOCHS epochs adam 1e-3\",\"date\":\"$(date -u +%F)\",/" >> "$OUT"
    echo "   $line" >&2
  else
    echo "   FAILED, see $log" >&2
  fi
}

for ds in $DATASETS; do
  case $ds in mnist) dir=$MNIST ;; fmnist) dir=$FMNIST ;; *) echo "unknown dataset $ds" >&2; exit 2 ;; esac
  for seed in $SEEDS; do
    ae="$WORK/$ds-ae-$seed.bin"
    for m in $METHODS; do
      case $m in
        kmeans) run "$ds" "$seed" kmeans $(files "$dir") --n-init "$NINIT" $EXTRA ;;
        ae_kmeans|dec|idec)
          if [ ! -f "$ae" ]; then
            run "$ds" "$seed" ae_kmeans $(files "$dir") --n-init "$NINIT" --pretrain-epochs "$EPOCHS" --save-ae "$ae" $EXTRA
            [ "$m" = ae_kmeans ] && continue
          fi
          [ "$m" = ae_kmeans ] && continue
          run "$ds" "$seed" "$m" $(files "$dir") --n-init "$NINIT" --load-ae "$ae" $EXTRA ;;
        dcec) run "$ds" "$seed" dcec $(files "$dir") --n-init "$NINIT" --pretrain-epochs "$EPOCHS" $EXTRA ;;
        vae) run "$ds" "$seed" vae $(files "$dir") $EXTRA ;;
        *) echo "unknown method $m" >&2 ;;
      esac
    done
  done
done
