#!/usr/bin/env bash
# dashboard_screenshots: the screenshots of docs/dashboard.md (docs/img/dashboard-*.png)
# from a real run in headless Chromium (tests/tools/dashboard_shots.py says which).
# Usage: tests/tools/dashboard_screenshots.sh [OUTDIR [URL]]
#   OUTDIR  default docs/img of the source tree
#   URL     a running server to use (it gets a dataset, five jobs and a study; DC_TOKEN =
#           its token); default: a server of its own ($DC_BIN, default ./build/deepclust)
#           on a free port with a temporary database. About a minute on 2 cores.
# DC_VIEWS=study (a comma-separated list) writes only those views.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export DC_BIN=${DC_BIN:-$here/../../build/deepclust}
out=${1:-$here/../../docs/img}
shift || true
exec python3 "$here/dashboard_shots.py" "$out" "$@"
