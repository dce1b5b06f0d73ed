#!/usr/bin/python3
"""Peer of bench/bench_kmeans.c: scikit-learn KMeans (k = 10, algorithm='lloyd', k-means++)
on all 70,000 MNIST images scaled to [0, 1], 2 threads, same n_init.

  /usr/bin/python3 bench/bench_kmeans_sklearn.py [n_init=10] [seed=0] [mnist_dir]
"""
import os
import sys

os.environ["OMP_NUM_THREADS"] = "2"        # before numpy / sklearn are imported
os.environ["OPENBLAS_NUM_THREADS"] = "2"
os.environ["MKL_NUM_THREADS"] = "2"
# scipy's BLAS here is the system OpenBLAS 0.3.21, which falls back to Prescott kernels
# on this CPU; pick the core type as deepclust's dc_blas_fix_coretype does, so that both
# benchmarks run the same sgemm kernels. An explicit OPENBLAS_CORETYPE is kept.
if "OPENBLAS_CORETYPE" not in os.environ:
    flags = open("/proc/cpuinfo").read().split()
    if "avx512f" in flags and "avx512bw" in flags:
        os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
    elif "avx2" in flags and "fma" in flags:
        os.environ["OPENBLAS_CORETYPE"] = "Haswell"

import gzip  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from scipy.optimize import linear_sum_assignment  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402
from sklearn.metrics.cluster import contingency_matrix  # noqa: E402


def idx(path, header):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=header)


n_init = int(sys.argv[1]) if len(sys.argv) > 1 else 10
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
d = sys.argv[3] if len(sys.argv) > 3 else "/work/shared/data/mnist"
X = np.concatenate([idx(f"{d}/train-images-idx3-ubyte.gz", 16), idx(f"{d}/t10k-images-idx3-ubyte.gz", 16)])
X = (X.reshape(-1, 784).astype(np.float32) / 255.0)
y = np.concatenate([idx(f"{d}/train-labels-idx1-ubyte.gz", 8), idx(f"{d}/t10k-labels-idx1-ubyte.gz", 8)])

km = KMeans(n_clusters=10, n_init=n_init, algorithm="lloyd", init="k-means++", random_state=seed)
t0, c0 = time.perf_counter(), time.process_time()
km.fit(X)
secs, cpu = time.perf_counter() - t0, time.process_time() - c0
cm = contingency_matrix(y, km.labels_)
r, c = linear_sum_assignment(cm, maximize=True)
acc = cm[r, c].sum() / len(y)
print(f"sklearn {sklearn.__version__} KMeans  n={X.shape[0]} d=784 k=10 n_init={n_init} seed={seed} threads=2 "
      f"coretype={os.environ.get('OPENBLAS_CORETYPE', '(auto)')}")
# sklearn's inertia_ sums float32 per-sample distances; recompute it in double from the
# final centres and labels, as deepclust reports it, so the two are comparable.
C = km.cluster_centers_.astype(np.float64)
exact = float(((X.astype(np.float64) - C[km.labels_]) ** 2).sum())
print(f"seconds {secs:.2f} (cpu {cpu:.2f})  inertia {exact:.1f}  n_iter(best) {km.n_iter_}  ACC {acc:.4f}  "
      f"NMI {normalized_mutual_info_score(y, km.labels_):.4f}  ARI {adjusted_rand_score(y, km.labels_):.4f}")
print(f"(inertia_ as sklearn reports it, float32 per-sample sums: {km.inertia_:.1f})")
