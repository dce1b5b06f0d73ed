#!/usr/bin/env bash
# test_chaos: a short run of tests/tools/chaos.py: 10 kill -9 of $DC_BIN at random
# moments (upload, training, checkpoint, model write, deletion), each followed by
# PRAGMA integrity_check, a restart and the check that everything acknowledged is
# still there; at the end every job must reach a terminal state. Fixed seed
# (DC_CHAOS_SEED overrides); DC_CHAOS_KILLS sets the number of kills.
set -u
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
exec "$PY" "$here/tools/chaos.py" --bin "${DC_BIN:?DC_BIN not set}" \
    --kills "${DC_CHAOS_KILLS:-10}" --seed "${DC_CHAOS_SEED:-17}" --drain-s 240
