#!/usr/bin/env bash
# test_svc_limits_input: input hardening over real HTTP (issue 17): unknown, misspelt,
# repeated and value-less query parameters on every route; paging values at and beyond
# their bounds; predict shapes whose size would wrap; job spec sizes at their extremes;
# the server stays up and logs no 5xx and no sanitizer report. The test itself is
# tests/svc_limits_input_test.py (Python standard library only). Env: DC_BIN.
set -u
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
exec "$PY" "$here/svc_limits_input_test.py" "$@"
