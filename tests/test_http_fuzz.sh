#!/usr/bin/env bash
# test_http_fuzz: a short run of the HTTP fuzzer, tests/tools/http_fuzz.py, against
# $DC_BIN: it starts the server itself (temporary database, free loopback port), creates
# datasets, jobs and models, then sends mutated requests; any 5xx, crash, hang or
# sanitizer report fails the test. Under `make test-asan` DC_BIN is build-asan's
# binary, so ASan and UBSan reports count; under `make test` it is the plain build and
# only crashes by signal, hangs and 5xx are caught (the first line of the output says
# which). 25 s or 4000 requests with a fixed seed; DC_FUZZ_SEED, DC_FUZZ_SECONDS
# override. Failing requests are saved in ./http-fuzz-failures (replay with --replay).
set -u
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
exec "$PY" "$here/tools/http_fuzz.py" --bin "${DC_BIN:?DC_BIN not set}" \
    --seconds "${DC_FUZZ_SECONDS:-25}" --requests 4000 --seed "${DC_FUZZ_SEED:-17}" \
    --save-dir "$PWD/http-fuzz-failures"
