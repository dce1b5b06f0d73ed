#!/usr/bin/env bash
# test_svc_limits: the operator limits of deepclust serve (--max-model-params,
# --max-train-mb, --max-dataset-mb, --max-queued-jobs, --max-uploads, --max-body-mb):
# each refusal is a 4xx naming the limit and is counted in /metrics. The test is
# tests/svc_limits_test.py (Python standard library only). Env: DC_BIN.
set -u
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
exec "$PY" "$here/svc_limits_test.py" "$@"
