#!/usr/bin/env bash
# test_svc_export: issue 13's scaling, exports and round trip over real HTTP (recorded
# scale and range, predict warnings and strict=1, the vae refusal, datasets by name,
# uploads without a Content-Type, CSV/NPY exports, model download read by the CLI, no
# server paths in errors). The test itself is tests/svc_export_test.py. Env: DC_BIN.
set -u
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
exec "$PY" "$here/svc_export_test.py" "$@"
