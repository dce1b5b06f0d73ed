#!/usr/bin/env bash
# Quality benchmark: runs `deepclust train --json` for each method and seed on MNIST and
# Fashion-MNIST (all 70,000 samples) and appends one JSON line per run to $OUT, tagged
# with the dataset, the pretraining budget ("pretrain_budget": epochs and any recipe flags;
# the recipe as resolved is the run's own "pretrain_recipe") and the date.
#
# One dense autoencoder is pretrained per (dataset, seed) and reused by ae_kmeans, dec,
# idec and vae (--save-ae / --load-ae), as DEC-keras does for DEC; dcec pretrains its own
# convolutional autoencoder. Summarise with bench/summarize.py.
#
#   bench/quality.sh                                   # defaults below
#   DATASETS=mnist SEEDS="1 2" METHODS="kmeans dec" bench/quality.sh
#   # two lanes on two cores (one BLAS thread each) sharing one queue of tasks:
#   export TASKS="mnist:1:dense fmnist:1:dense mnist:1:dcec" THREADS=1
#   bench/quality.sh & bench/quality.sh &
set -euo pipefail
BIN=${BIN:-build/deepclust}
OUT=${OUT:-docs/quality-runs.jsonl}
DATASETS=${DATASETS:-"mnist fmnist"}
SEEDS=${SEEDS:-"1 2 3"}
METHODS=${METHODS:-"kmeans ae_kmeans dec idec vae dcec"}
# The product's defaults unless overridden: 150 dense pretraining epochs with the auto
# recipe (on these images: DEC-keras' SGD lr 1 momentum 0.9, variance-scaling init),
# dcec 30 conv epochs (Adam), vae 20 epochs from the shared autoencoder.
EPOCHS=${EPOCHS:-150}
PRETRAIN=${PRETRAIN:-}                # e.g. "--pretrain-opt adam" to compare recipes
DCEC_EPOCHS=${DCEC_EPOCHS:-30}
VAE_EPOCHS=${VAE_EPOCHS:-20}
NINIT=${NINIT:-20}
THREADS=${THREADS:-}                  # OpenBLAS threads ("" = the binary's default)
MNIST=${MNIST:-../shared/data/mnist}
FMNIST=${FMNIST:-/usr/share/datasets/fashion-mnist}
WORK=${WORK:-/tmp/deepclust-quality}
EXTRA=${EXTRA:-}
# CKPT=DIR: every run keeps its state in DIR/<dataset>-<method>-<seed>.ck (deepclust train
# --checkpoint), so a run that was killed continues when run again (for TASKS, remove the
# task's claim-* folder in WORK first). Its "seconds" then cover every process.
CKPT=${CKPT:-}
mkdir -p "$WORK" "$(dirname "$OUT")"
[ -n "$THREADS" ] && export OPENBLAS_NUM_THREADS=$THREADS

files() {
  local dir=$1
  echo "--data $dir/train-images-idx3-ubyte.gz --labels $dir/train-labels-idx1-ubyte.gz" \
       "--data $dir/t10k-images-idx3-ubyte.gz --labels $dir/t10k-labels-idx1-ubyte.gz"
}

run() { # dataset seed budget method args...
  local ds=$1 seed=$2 budget=$3 m=$4; shift 4
  local log="$WORK/$ds-$m-$seed.log"
  echo "== $ds $m seed $seed ($(date -u +%H:%M:%S))" >&2
  local ck=()
  [ -n "$CKPT" ] && mkdir -p "$CKPT" && ck=(--checkpoint "$CKPT/$ds-$m-$seed.ck")
  if line=$("$BIN" train --method "$m" --clusters 10 --seed "$seed" --json "$@" "${ck[@]}" 2>>"$log" | tail -n 1); then
    echo "$line" | sed "s/^{/{\"dataset\":\"$ds\",\"pretrain_budget\":\"$budget\",\"date\":\"$(date -u +%F)\",/" >> "$OUT"
    echo "   $line" >&2
  else
    echo "   FAILED, see $log" >&2
  fi
}

dense_budget="$EPOCHS epochs${PRETRAIN:+ ${PRETRAIN//--/}}"

chain() { # dataset seed methods...: the runs of one (dataset, seed) in order
  local ds=$1 seed=$2 dir m; shift 2
  case $ds in mnist) dir=$MNIST ;; fmnist) dir=$FMNIST ;; *) echo "unknown dataset $ds" >&2; return 2 ;; esac
  local ae="$WORK/$ds-ae-$EPOCHS-$seed.bin"
  for m in "$@"; do
    # shellcheck disable=SC2046,SC2086
    case $m in
      kmeans) run "$ds" "$seed" none kmeans $(files "$dir") --n-init "$NINIT" $EXTRA ;;
      ae_kmeans|dec|idec|vae)
        if [ ! -f "$ae" ]; then
          run "$ds" "$seed" "$dense_budget" ae_kmeans $(files "$dir") --n-init "$NINIT" \
              --pretrain-epochs "$EPOCHS" $PRETRAIN --save-ae "$ae" $EXTRA
        elif [ "$m" = ae_kmeans ]; then
          run "$ds" "$seed" "$dense_budget" ae_kmeans $(files "$dir") --n-init "$NINIT" --load-ae "$ae" $EXTRA
        fi
        case $m in
          dec|idec) run "$ds" "$seed" "$dense_budget" "$m" $(files "$dir") --n-init "$NINIT" --load-ae "$ae" $EXTRA ;;
          vae) run "$ds" "$seed" "$dense_budget" vae $(files "$dir") --n-init "$NINIT" --load-ae "$ae" \
                   --hidden 500,500,2000 --latent 10 --vae-epochs "$VAE_EPOCHS" $EXTRA ;;
        esac ;;
      dcec) run "$ds" "$seed" "$DCEC_EPOCHS epochs" dcec $(files "$dir") \
                --n-init "$NINIT" --pretrain-epochs "$DCEC_EPOCHS" $EXTRA ;;
      *) echo "unknown method $m" >&2 ;;
    esac
  done
}

if [ -n "${TASKS:-}" ]; then
  # TASKS="mnist:1:dense fmnist:1:dense mnist:1:dcec ...": each lane started with the same
  # list claims the next unclaimed task (mkdir is atomic), so two lanes share the queue.
  # "dense" = METHODS without dcec; "dcec" = dcec alone.
  for t in $TASKS; do
    mkdir "$WORK/claim-${t//:/-}" 2>/dev/null || continue
    IFS=: read -r ds seed kind <<< "$t"
    if [ "$kind" = dcec ]; then chain "$ds" "$seed" dcec
    else chain "$ds" "$seed" $(for m in $METHODS; do [ "$m" != dcec ] && echo "$m"; done)
    fi
  done
else
  for ds in $DATASETS; do
    for seed in $SEEDS; do
      # shellcheck disable=SC2086
      chain "$ds" "$seed" $METHODS
    done
  done
fi
