#!/usr/bin/env bash
# test_svc_browser: the dashboard drawn by headless Chromium against a real server:
# every picture panel of a finished vae job, the 4xx reasons of a kmeans job without
# labels, the charts, sorting, filtering, comparing, uploading and submitting from the
# page, a study's view (charts against k with error bars, suggested k, per-seed table,
# job links, cancel), token mode (tests/tools/dashboard_browser.py says what each step checks).
# Skips (exit 77) only when no Chromium is installed: apt-get install chromium.
# Env: DC_BIN = the binary; DC_SHOTS = a folder to keep full-page screenshots in.
set -u
unset DEEPCLUST_TOKEN DEEPCLUST_DB DEEPCLUST_HOST DEEPCLUST_PORT
export DC_BIN=${DC_BIN:-./build/deepclust}
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
    && ! command -v google-chrome >/dev/null 2>&1; then
    echo "SKIP: chromium is not installed (apt-get install chromium); the dashboard is not drawn"
    exit 77
fi
exec python3 "$(dirname "$0")/tools/dashboard_browser.py"
