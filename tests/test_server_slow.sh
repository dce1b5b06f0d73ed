#!/usr/bin/env bash
# test_server_slow: slow and greedy clients (tests/slow_clients.py) against a real
# `deepclust serve` on loopback, short enough for CI (a few hundred connections, a few
# seconds each; docs/reliability.md has a 2,000-connection run):
#   1. one client (127.0.0.2) tries to hold 300 connections trickling header bytes:
#      it holds at most --max-conns-per-ip of them, the header deadline closes those
#      with a 408, and another client's GET /healthz keeps p99 <= 100 ms, no errors;
#   2. with a small --max-conns and a large per-IP limit, the server holds at most
#      --max-conns connections in all (counted in /proc/PID/fd: the rest wait in the
#      kernel's listen queue, which costs the server nothing).
# Needs python3. Env: DC_BIN = the binary.
set -u
unset DEEPCLUST_TOKEN DEEPCLUST_DB DEEPCLUST_HOST DEEPCLUST_PORT DEEPCLUST_ALLOW_HOSTS \
    DEEPCLUST_HEADER_TIMEOUT_S DEEPCLUST_BODY_TIMEOUT_S DEEPCLUST_MAX_CONNS \
    DEEPCLUST_MAX_CONNS_PER_IP
BIN=${DC_BIN:-./build/deepclust}
HERE=$(dirname "$0")
. "$HERE/lib_http.sh" dc_slow
if [ ! -x "$BIN" ]; then echo "no binary at $BIN (set DC_BIN)" >&2; exit 1; fi
# fields JSON PATH...: the values of slow_clients.py's result ("victim.p99_ms"), one line
fields() {
    python3 -c 'import json,sys
d = json.loads(sys.argv[1])
def get(p):
    v = d
    for k in p.split("."): v = v[k]
    return v
print(" ".join(str(get(p)) for p in sys.argv[2:]))' "$@" 2>/dev/null || echo "bad-json"
}
# check NAME CONDITION: an awk condition over the numbers must hold
check() { if awk "BEGIN { exit !($2) }" 2>/dev/null; then ok; else bad "$1: $2"; fi; }
# stop LOG: SIGTERM; a clean exit (0; under ASan also: no leak, no error) is expected
stop() {
    kill -TERM "$pid" 2>/dev/null; wait "$pid"; local rc=$?; pid=""
    if [ "$rc" -eq 0 ]; then ok; else bad "server exit code $rc after SIGTERM: $(tail -5 "$1")"; fi
}
# server_sockets: how many sockets the server process has open now
server_sockets() { ls -l "/proc/$pid/fd" 2>/dev/null | grep -c 'socket:'; }
# sockets_max_while PID: the most server sockets seen, sampled every 0.1 s while PID runs
sockets_max_while() {
    local m=0 c
    while kill -0 "$1" 2>/dev/null; do
        c=$(server_sockets)
        [ "$c" -gt "$m" ] && m=$c
        sleep 0.1
    done
    echo "$m"
}

# ---- 1. per-client limit + header deadline: the other client keeps its latency --------
if start_server "$tmp/s1.log" --db "$tmp/x.db" --workers 0 --no-access-log \
        --max-conns-per-ip 32 --header-timeout-s 2; then
    ok
    base=$(server_sockets)
    timeout 60 python3 "$HERE/slow_clients.py" --port "$port" --conns 300 \
        --trickle-s 0.5 --warmup-s 1 --duration-s 5 --max-p99-ms 100 >"$tmp/r1" &
    spid=$!
    smax=$(sockets_max_while "$spid")
    wait "$spid"; rc=$?
    res=$(cat "$tmp/r1")
    echo "run 1: $res; server sockets: $base before, at most $smax during"
    expect "victim p99 <= 100 ms and no errors (exit code)" 0 "$rc"
    read -r n errs p99 held got408 <<<"$(fields "$res" victim.n victim.errors victim.p99_ms \
        attacker.held_max attacker.got_408)"
    check "victim answered" "$n >= 50"
    check "victim errors" "$errs == 0"
    check "victim p99 ms" "$p99 <= 100"
    check "attacker held at most 32 (per-IP limit)" "$held > 0 && $held <= 32"
    check "server sockets (listen + 32 + the victim's)" "$smax <= $base + 34"
    check "header deadline sent 408s" "$got408 >= 1"
    stop "$tmp/s1.log"
else
    bad "server did not start"
fi

# ---- 2. the total limit ------------------------------------------------------------------
if start_server "$tmp/s2.log" --db "$tmp/x.db" --workers 0 --no-access-log \
        --max-conns 40 --max-conns-per-ip 1000; then
    ok
    base=$(server_sockets)
    timeout 60 python3 "$HERE/slow_clients.py" --port "$port" --conns 200 \
        --trickle-s 0.5 --warmup-s 0 --duration-s 4 --every-s 0 >"$tmp/r2" &
    spid=$!
    smax=$(sockets_max_while "$spid")
    wait "$spid"
    echo "run 2: $(cat "$tmp/r2"); server sockets: $base before, at most $smax during"
    check "server held at most 40 connections (total limit) and reached it" \
        "$smax >= $base + 30 && $smax <= $base + 40"
    stop "$tmp/s2.log"
else
    bad "server (total limit) did not start"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
