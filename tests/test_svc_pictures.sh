#!/usr/bin/env bash
# test_svc_pictures: the picture and outlier routes over real HTTP (confusion, samples,
# reconstructions, embedding, outliers, generate, predict ?outliers=1): JSON shapes, PNG
# sizes, NPY, the 4xx cases, planted outliers, and response times on MNIST when it is
# there. The test itself is tests/svc_pictures_test.py (Python standard library only).
# Env: DC_BIN, DC_MNIST (a folder with train-images-idx3-ubyte.gz; optional).
set -u
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
exec "$PY" "$here/svc_pictures_test.py" "$@"
