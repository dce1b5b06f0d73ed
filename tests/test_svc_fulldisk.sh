#!/usr/bin/env bash
# test_svc_fulldisk: the service on a full disk (a 16 MiB tmpfs mounted for the test):
# 507 for every write that cannot fit, deletes work, restarts work. Exits 77 (skipped)
# with the reason where a tmpfs cannot be mounted (not root, no CAP_SYS_ADMIN). The test
# is tests/svc_fulldisk_test.py (Python standard library only). Env: DC_BIN.
set -u
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
exec "$PY" "$here/svc_fulldisk_test.py" "$@"
