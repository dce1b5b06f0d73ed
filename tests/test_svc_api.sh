#!/usr/bin/env bash
# test_svc_api: the clustering service over real HTTP (datasets, jobs, workers, models,
# predictions, errors, cancel, kill -9 recovery, SIGTERM, concurrent clients). The test
# itself is tests/svc_api_test.py (Python standard library only). Env: DC_BIN.
set -u
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
exec "$PY" "$here/svc_api_test.py" "$@"
