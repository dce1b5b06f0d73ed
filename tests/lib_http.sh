# lib_http.sh: shared by the black-box HTTP tests (source it; not a test itself).
# Sets pass/fail counters, a temp dir $tmp (prefix $1) removed on exit with any server
# still running, ok/bad/expect, and start_server LOG ARGS... which starts
# "$BIN serve --port 0 ARGS", waits for its "listening" line and sets $pid and $port.
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/${1:-dc_test}.XXXXXX")
pid=""

cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# expect NAME EXPECTED GOT
expect() { if [ "$2" = "$3" ]; then ok; else bad "$1: expected '$2', got '$3'"; fi; }

start_server() {
    local log=$1; shift
    "$BIN" serve --port 0 "$@" >"$log" 2>&1 &
    pid=$!
    port=""
    for _ in $(seq 1 100); do
        port=$(sed -n 's/^deepclust listening on http:\/\/[^ ]*:\([0-9][0-9]*\) .*/\1/p' "$log" | head -1)
        [ -n "$port" ] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "server did not start; its output:" >&2; cat "$log" >&2
    return 1
}
