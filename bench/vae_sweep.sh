#!/bin/bash
# vae_sweep.sh: one recipe run of the vae method on MNIST or Fashion-MNIST (docs/vae.md).
#
#   bench/vae_sweep.sh BUILD_DIR DATASET LOG [vae_sweep options...]
#   DATASET: m10k | m70k | f10k | f70k (t10k files only, or train + t10k = 70,000 images)
#   e.g. bench/vae_sweep.sh build m70k /tmp/m70_s1.log --epochs 15 --seed 1
#
# Runs at nice 10 with one OpenBLAS thread; the log gets the command, one line per epoch
# (loss terms, KL weight, ACC/NMI/ARI, seconds) and the exit status.
set -u
build=$1 ds=$2 log=$3
shift 3
M=${MNIST_DIR:-/work/shared/data/mnist}
F=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
pair() { echo "--images $1/$2-images-idx3-ubyte.gz --labels $1/$2-labels-idx1-ubyte.gz"; }
case $ds in
m10k) D="$(pair "$M" t10k)" ;;
m70k) D="$(pair "$M" train) $(pair "$M" t10k)" ;;
f10k) D="$(pair "$F" t10k)" ;;
f70k) D="$(pair "$F" train) $(pair "$F" t10k)" ;;
*) echo "unknown dataset $ds" >&2; exit 2 ;;
esac
echo "cmd: vae_sweep [$ds] $*" >"$log"
# shellcheck disable=SC2086
OPENBLAS_NUM_THREADS=1 nice -n 10 "$build/vae_sweep" $D "$@" >>"$log" 2>&1
rc=$?
echo "exit $rc" >>"$log"
exit $rc
