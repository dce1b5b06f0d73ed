#!/usr/bin/env bash
# test_svc_studies: studies over real HTTP (issue 14): validation with 4xx naming the
# field, one pretraining per seed (iterations rows), the summary equal to the jobs'
# metrics, stability, suggested k on generated blobs, cancel and delete. The test is
# tests/svc_studies_test.py (Python standard library only). Env: DC_BIN.
set -u
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
exec "$PY" "$here/svc_studies_test.py" "$@"
