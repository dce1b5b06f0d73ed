#!/usr/bin/env bash
# k-means against scikit-learn at equal n_init on MNIST and Fashion-MNIST (70,000 each),
# both on 2 threads of the same OpenBLAS kernels; the order alternates per seed so that
# neither side always runs first. Output: the two programs' own lines, per run.
#
#   bench/kmeans_vs_sklearn.sh [n_init=20] [seeds="1 2 3"] > docs/bench-kmeans-runs.txt
set -u
N_INIT=${1:-20}
SEEDS=${2:-"1 2 3"}
BUILD=${BUILD:-build}
MNIST=${MNIST:-../shared/data/mnist}
FMNIST=${FMNIST:-/usr/share/datasets/fashion-mnist}
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
ours() { echo "# ours $1 seed $2"; OPENBLAS_NUM_THREADS=1 "$BUILD/bench_kmeans" "$N_INIT" "$2" 2 "$3"; }
peer() { echo "# sklearn $1 seed $2"; /usr/bin/python3 bench/bench_kmeans_sklearn.py "$N_INIT" "$2" "$3"; }
for ds in mnist fmnist; do
  dir=$MNIST; [ "$ds" = fmnist ] && dir=$FMNIST
  i=0
  for seed in $SEEDS; do
    if [ $((i % 2)) -eq 0 ]; then ours $ds "$seed" "$dir"; peer $ds "$seed" "$dir"
    else peer $ds "$seed" "$dir"; ours $ds "$seed" "$dir"; fi
    i=$((i + 1))
  done
done
