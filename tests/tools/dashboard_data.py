#!/usr/bin/python3
"""dashboard_data: a small labelled image dataset for the dashboard's browser test and
screenshots (standard library only). Writes OUT.npy, uint8 (n, 16, 16), and
OUT.labels.csv, one integer label per line: n images of 6 shapes (horizontal bar,
vertical bar, diagonal, square, cross, disc), each shifted by up to 2 pixels, with a
varying brightness and noise; kmeans, ae_kmeans and vae separate them in seconds.
blobs() writes Gaussian blobs (float32 NPY + labels) for the study view's test.
Usage: dashboard_data.py OUT [n=600] [seed=1]"""
import random
import struct
import sys

S = 16


def shape(kind, dx, dy):
    """kind 0..5 -> a set of (row, col) pixels on the S x S grid."""
    px = set()
    c = S // 2
    for i in range(S):
        for j in range(S):
            y, x = i - c - dy, j - c - dx
            if ((kind == 0 and abs(y) <= 1 and abs(x) <= 5) or
                    (kind == 1 and abs(x) <= 1 and abs(y) <= 5) or
                    (kind == 2 and abs(x - y) <= 1 and abs(x) <= 5) or
                    (kind == 3 and max(abs(x), abs(y)) in (4, 5)) or
                    (kind == 4 and ((abs(x) <= 0 and abs(y) <= 5) or (abs(y) <= 0 and abs(x) <= 5))) or
                    (kind == 5 and x * x + y * y <= 12)):
                px.add((i, j))
    return px


def write(out, n=600, seed=1):
    rnd = random.Random(seed)
    data, labels = bytearray(), []
    for s in range(n):
        k = s % 6
        px = shape(k, rnd.randint(-2, 2), rnd.randint(-2, 2))
        hi = rnd.randint(170, 255)
        for i in range(S):
            for j in range(S):
                v = hi if (i, j) in px else 0
                v += rnd.randint(0, 40)
                data.append(min(255, v))
        labels.append(k)
    hdr = "{'descr': '|u1', 'fortran_order': False, 'shape': (%d, %d, %d), }" % (n, S, S)
    hdr += " " * (63 - (10 + len(hdr)) % 64) + "\n"
    with open(out + ".npy", "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + data)
    with open(out + ".labels.csv", "w") as f:
        f.write("".join("%d\n" % v for v in labels))


def blobs(out, sizes=(100, 100, 100), d=8, seed=2, spread=0.5, box=8.0):
    """OUT.npy, float32 (sum(sizes), d): one Gaussian blob per size, shuffled; OUT.labels.csv."""
    rnd = random.Random(seed)
    centers = [[rnd.uniform(-box, box) for _ in range(d)] for _ in sizes]
    pts = [([c[j] + rnd.gauss(0, spread) for j in range(d)], i)
           for i, (c, n) in enumerate(zip(centers, sizes)) for _ in range(n)]
    rnd.shuffle(pts)
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (len(pts), d)
    hdr += " " * (63 - (10 + len(hdr)) % 64) + "\n"
    with open(out + ".npy", "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
        f.write(b"".join(struct.pack("<%df" % d, *p) for p, _ in pts))
    with open(out + ".labels.csv", "w") as f:
        f.write("".join("%d\n" % l for _, l in pts))


if __name__ == "__main__":
    write(sys.argv[1], *(int(a) for a in sys.argv[2:4]))
