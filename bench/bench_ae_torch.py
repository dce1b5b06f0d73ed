#!/usr/bin/python3
"""The bench_ae epoch in PyTorch: DEC autoencoder 784-500-500-2000-10 (ReLU hidden, linear
embedding and output), MSE, Adam lr 1e-3, batch 256, per-epoch shuffling, all 70,000
MNIST images scaled to [0,1]. Prints seconds per epoch.

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/bench_ae_torch.py [mnist_dir] [epochs=3] [threads=2] [n_images]

Debian's python3-torch (apt-get install -y python3-torch). torch.set_num_threads(threads)
and OMP_WAIT_POLICY=PASSIVE (set here if missing, before torch loads): without them
torch's OpenMP spin-wait steals a core from BLAS.
"""
import gzip
import os
import struct
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 0x803 and rows * cols == 784, path
        return np.frombuffer(f.read(n * 784), dtype=np.uint8).reshape(n, 784)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/mnist"
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = np.concatenate([read_idx_images(os.path.join(d, "train-images-idx3-ubyte.gz")),
                        read_idx_images(os.path.join(d, "t10k-images-idx3-ubyte.gz"))])
    if limit > 0:
        x = x[:limit]
    x = torch.from_numpy(x.astype(np.float32) / 255.0)
    n = x.shape[0]
    dims = [784, 500, 500, 2000, 10]
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(torch.nn.ReLU())
    enc = torch.nn.Sequential(*layers)
    layers = []
    for i in range(len(dims) - 1, 0, -1):
        layers.append(torch.nn.Linear(dims[i], dims[i - 1]))
        if i > 1:
            layers.append(torch.nn.ReLU())
    dec = torch.nn.Sequential(*layers)
    for m in list(enc) + list(dec):
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
            torch.nn.init.zeros_(m.bias)
    params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    lossf = torch.nn.MSELoss()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, {n} images")
    times = []
    for ep in range(1, epochs + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        tot = 0.0
        for s in range(0, n, 256):
            xb = x[perm[s:s + 256]]
            opt.zero_grad(set_to_none=True)
            loss = lossf(dec(enc(xb)), xb)
            loss.backward()
            opt.step()
            tot += loss.item() * xb.shape[0]
        t = time.perf_counter() - t0
        times.append(t)
        print(f"epoch {ep}: loss {tot / n:.6f}, {t:.2f} s", flush=True)
    print(f"seconds/epoch: mean {sum(times) / len(times):.2f}, best {min(times):.2f} "
          f"over {len(times)} epochs")


if __name__ == "__main__":
    main()
