#!/usr/bin/env bash
# test_scale_out: issue 15's multi-process test: 2 API nodes and 3 workers on one
# PostgreSQL, a worker kill -9'd mid-job, a cancel through the other node, predict on
# both nodes (tests/scale_out_test.py; docs/scale-out-test.md). Needs DC_TEST_PG_URL
# (a superuser URL, e.g. from tests/tools/pg_cluster.sh start DIR); exits 77 without it.
# Env: DC_BIN. Arguments go to the script (--rounds N, --kills K).
set -u
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
exec "$PY" "$here/scale_out_test.py" "$@"
