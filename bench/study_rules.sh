#!/usr/bin/env bash
# study_rules.sh DIR m|f SEEDS [K]: after `deepclust study ... --out-dir DIR` on all
# 70,000 MNIST (m) or Fashion-MNIST (f) images, encodes the data with every seed's
# pretrained autoencoder (DIR/seedS.ae -> DIR/codesS.npy, build/manifold_io) and runs
# bench/study_rules.py. Data from ../shared/data/mnist or dataset-fashion-mnist.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=$1 seeds=$3 k=${4:-10}
if [ "$2" = m ]; then D=${MNIST_DIR:-$here/../shared/data/mnist}; else D=/usr/share/datasets/fashion-mnist; fi
for t in ${seeds//,/ }; do
    [ -f "$dir/codes$t.npy" ] && continue
    y=(); [ -f "$dir/y.npy" ] || y=(--labels-out "$dir/y.npy") # the true labels, once
    OPENBLAS_NUM_THREADS=1 "$here/build/manifold_io" codes --ae "$dir/seed$t.ae" \
        --data "$D/train-images-idx3-ubyte.gz" --labels "$D/train-labels-idx1-ubyte.gz" \
        --data "$D/t10k-images-idx3-ubyte.gz" --labels "$D/t10k-labels-idx1-ubyte.gz" \
        --out "$dir/codes$t.npy" "${y[@]}" >/dev/null
done
/usr/bin/python3 "$here/bench/study_rules.py" "$dir" "$dir/y.npy" "$seeds" "$k"
