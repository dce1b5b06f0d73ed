#!/usr/bin/env bash
# test_server_http: black-box test of `deepclust serve` on loopback: start on a free
# port, check /healthz, problem+json 404, 405 + Allow, 413 before the body, /openapi.yaml,
# /metrics, the bearer-token mode (401 / 200; a NUL and bytes after the token refused),
# a refused newer database, and a clean exit (code 0) on SIGTERM. Hardening: database
# files 0600, an empty token refused at start, the Host guard without a token (403,
# --allow-host, DEEPCLUST_ALLOW_HOSTS), no server path in an upload's error, the header
# deadline (408 problem+json) and the body deadline. Needs curl and python3 (for JSON
# and raw sockets). Env: DC_BIN = the binary.
set -u
unset DEEPCLUST_TOKEN DEEPCLUST_DB DEEPCLUST_HOST DEEPCLUST_PORT DEEPCLUST_ALLOW_HOSTS \
    DEEPCLUST_HEADER_TIMEOUT_S DEEPCLUST_BODY_TIMEOUT_S DEEPCLUST_MAX_CONNS \
    DEEPCLUST_MAX_CONNS_PER_IP # only what the test sets
BIN=${DC_BIN:-./build/deepclust}
. "$(dirname "$0")/lib_http.sh" dc_http
# json_field FILE KEY: prints the value of a top-level key
json_field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("null" if v is None else v)' "$1" "$2" 2>/dev/null || echo "<bad json>"; }

# stop_server: SIGTERM, expect exit code 0 within 5 s
stop_server() {
    kill -TERM "$pid"
    local rc="" 
    for _ in $(seq 1 50); do
        if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; rc=$?; break; fi
        sleep 0.1
    done
    if [ -z "$rc" ]; then bad "server still running 5 s after SIGTERM"; kill -KILL "$pid"; wait "$pid" 2>/dev/null
    else expect "exit code after SIGTERM" 0 "$rc"; fi
    pid=""
}

# req OUTPREFIX CURLARGS...: writes OUTPREFIX.body / .hdr; prints the status code
req() {
    local out=$1; shift
    curl -s -o "$out.body" -D "$out.hdr" -w '%{http_code}' --max-time 5 "$@" || echo "curl-failed"
}
header() { grep -i "^$2:" "$1.hdr" | head -1 | sed 's/^[^:]*: *//; s/\r$//'; }
# raw PORT BYTES [WAIT_S]: sends BYTES (a Python bytes literal) on one connection and
# prints the status line of what comes back and its Content-Type ("closed" when nothing).
raw() {
    python3 - "$@" <<'PY'
import socket, sys, time
port, data = int(sys.argv[1]), eval(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(data)
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b: break
        out += b
except OSError:
    pass
head = out.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
ct = [l.split(":", 1)[1].strip() for l in head[1:] if l.lower().startswith("content-type:")]
print((head[0] if out else "closed") + (" " + ct[0] if ct else ""))
PY
}
# mode FILE: permission bits in octal
mode() { stat -c '%a' "$1" 2>/dev/null || echo missing; }

if [ ! -x "$BIN" ]; then echo "no binary at $BIN (set DC_BIN)" >&2; exit 1; fi

# ---- 1. plain mode -------------------------------------------------------------------
if start_server "$tmp/s1.log" --db "$tmp/x.db"; then
    ok
    base="http://127.0.0.1:$port"
    expect "db file created" yes "$([ -f "$tmp/x.db" ] && echo yes || echo no)"

    expect "GET /healthz status" 200 "$(req "$tmp/h" "$base/healthz")"
    expect "healthz content-type" application/json "$(header "$tmp/h" Content-Type)"
    expect "healthz .status" ok "$(json_field "$tmp/h.body" status)"
    expect "healthz .version" "$("$BIN" version | awk 'NR == 1 {print $2}')" "$(json_field "$tmp/h.body" version)"
    # The schema the binary knows ("deepclust 0.1.0 (schema N)") and, from the source
    # tree, the number of migration files.
    expect "healthz .schema_version" "$("$BIN" version | sed -n 's/.*(schema \([0-9]*\)).*/\1/p')" \
        "$(json_field "$tmp/h.body" schema_version)"
    if [ -n "${DC_SRC:-}" ]; then
        expect "schema_version = number of migrations" \
            "$(ls "$DC_SRC"/migrations/sqlite/*.sql | wc -l | tr -d ' ')" "$(json_field "$tmp/h.body" schema_version)"
    fi

    expect "GET /nope status" 404 "$(req "$tmp/n" "$base/nope")"
    expect "404 content-type" application/problem+json "$(header "$tmp/n" Content-Type)"
    expect "404 .status" 404 "$(json_field "$tmp/n.body" status)"
    expect "404 .title" "Not Found" "$(json_field "$tmp/n.body" title)"
    expect "404 .type" "about:blank" "$(json_field "$tmp/n.body" type)"
    d=$(json_field "$tmp/n.body" detail)
    case "$d" in *"/nope"*) ok ;; *) bad "404 .detail should name the path, got '$d'" ;; esac

    expect "POST /healthz status" 405 "$(req "$tmp/m" -X POST "$base/healthz")"
    expect "405 Allow" "GET, HEAD" "$(header "$tmp/m" Allow)"
    expect "405 content-type" application/problem+json "$(header "$tmp/m" Content-Type)"
    expect "405 .status" 405 "$(json_field "$tmp/m.body" status)"

    expect "HEAD /healthz status" 200 "$(req "$tmp/hd" -I "$base/healthz")"

    # A body on a route that takes none: 413 from Content-Length, before the body is read.
    head -c 100000 /dev/zero >"$tmp/big"
    expect "GET with body status" 413 "$(req "$tmp/b" -X GET -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/big" "$base/metrics")"
    expect "413 .status" 413 "$(json_field "$tmp/b.body" status)"

    expect "GET /openapi.yaml status" 200 "$(req "$tmp/o" "$base/openapi.yaml")"
    case "$(header "$tmp/o" Content-Type)" in text/yaml*) ok ;; *) bad "openapi content-type: $(header "$tmp/o" Content-Type)" ;; esac
    if [ -n "${DC_SRC:-}" ]; then
        cmp -s "$tmp/o.body" "$DC_SRC/api/openapi.yaml" && ok || bad "/openapi.yaml differs from api/openapi.yaml"
    fi
    grep -q '^openapi: 3\.1' "$tmp/o.body" && ok || bad "/openapi.yaml does not start with 'openapi: 3.1'"

    expect "GET /metrics status" 200 "$(req "$tmp/me" "$base/metrics")"
    grep -q 'deepclust_http_requests_total{method="GET",route="/healthz",status="200"} [1-9]' "$tmp/me.body" \
        && ok || bad "metrics lack the /healthz counter: $(head -5 "$tmp/me.body")"
    grep -q '^deepclust_uptime_seconds [0-9]' "$tmp/me.body" && ok || bad "metrics lack uptime"

    # The access log has one line per request: method path status bytes ms.
    grep -Eq ' GET /nope 404 [0-9]+ [0-9.]+ms' "$tmp/s1.log" && ok || bad "no access-log line for GET /nope"

    stop_server
else
    bad "server did not start"
fi

# ---- 2. token mode -------------------------------------------------------------------
if DEEPCLUST_TOKEN=s3cret start_server "$tmp/s2.log" --db "$tmp/x.db"; then
    ok
    base="http://127.0.0.1:$port"
    expect "token: /healthz without token" 200 "$(req "$tmp/t1" "$base/healthz")"
    expect "token: /metrics without token" 401 "$(req "$tmp/t2" "$base/metrics")"
    expect "401 content-type" application/problem+json "$(header "$tmp/t2" Content-Type)"
    expect "401 .status" 401 "$(json_field "$tmp/t2.body" status)"
    case "$(header "$tmp/t2" WWW-Authenticate)" in Bearer*) ok ;; *) bad "401 lacks WWW-Authenticate: Bearer" ;; esac
    expect "token: wrong token" 401 "$(req "$tmp/t3" -H 'Authorization: Bearer nope' "$base/openapi.yaml")"
    expect "token: prefix of the token" 401 "$(req "$tmp/t4" -H 'Authorization: Bearer s3cre' "$base/openapi.yaml")"
    expect "token: right token" 200 "$(req "$tmp/t5" -H 'Authorization: Bearer s3cret' "$base/openapi.yaml")"
    expect "token: right token /metrics" 200 "$(req "$tmp/t6" -H 'Authorization: Bearer s3cret' "$base/metrics")"
    # The whole value is the token: a NUL and anything after it is refused, wherever the
    # header is (MHD cuts values at a NUL; see value_whole in api/http.c).
    hreq='b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"'
    expect "token: exact, raw" "HTTP/1.1 200 OK" \
        "$(raw "$port" "$hreq"'+b"Authorization: Bearer s3cret\r\n\r\n"' | cut -d' ' -f1-3)"
    expect "token: NUL + byte, last header" "HTTP/1.1 401 Unauthorized application/problem+json" \
        "$(raw "$port" "$hreq"'+b"Authorization: Bearer s3cret\0x\r\n\r\n"')"
    expect "token: NUL alone, last header" "HTTP/1.1 401 Unauthorized application/problem+json" \
        "$(raw "$port" "$hreq"'+b"Authorization: Bearer s3cret\0\r\n\r\n"')"
    expect "token: NUL + bytes, not last" "HTTP/1.1 401 Unauthorized application/problem+json" \
        "$(raw "$port" 'b"GET /metrics HTTP/1.1\r\nAuthorization: Bearer s3cret\0xyz\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"')"
    # With a token the Host guard is off: the token is what protects the service.
    expect "token: any Host with the token" 200 "$(req "$tmp/t7" -H 'Host: dc.example.org' -H 'Authorization: Bearer s3cret' "$base/metrics")"
    stop_server
else
    bad "server (token mode) did not start"
fi

# ---- 3. a database newer than the binary is refused ------------------------------------
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("PRAGMA user_version = 999"); c.commit()' "$tmp/x.db"
"$BIN" serve --port 0 --db "$tmp/x.db" >"$tmp/s3.log" 2>&1 &
pid=$!
rc=""
for _ in $(seq 1 50); do
    if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; rc=$?; break; fi
    sleep 0.1
done
pid_was=$pid; pid=""
if [ -z "$rc" ]; then bad "serve on a newer database kept running"; kill -KILL "$pid_was"
elif [ "$rc" -ne 0 ]; then ok; else bad "serve on a newer database exited 0"; fi
grep -q 'version 999' "$tmp/s3.log" && ok || bad "refusal message lacks 'version 999': $(cat "$tmp/s3.log")"

# ---- 3b. an empty token is a start-up error, by flag or variable -------------------------
# (bounded: a binary that accepts the empty token would serve until killed)
timeout -s KILL 10 "$BIN" serve --port 0 --db "$tmp/e.db" --token '' >"$tmp/e1.log" 2>&1; rc=$?
expect "--token '' exit code" 2 "$rc"
grep -q 'token is empty' "$tmp/e1.log" && ok || bad "--token '' message: $(cat "$tmp/e1.log")"
DEEPCLUST_TOKEN= timeout -s KILL 10 "$BIN" serve --port 0 --db "$tmp/e.db" >"$tmp/e2.log" 2>&1; rc=$?
expect "DEEPCLUST_TOKEN='' exit code" 2 "$rc"
grep -q 'token is empty' "$tmp/e2.log" && ok || bad "DEEPCLUST_TOKEN='' message: $(cat "$tmp/e2.log")"
expect "empty token: no database created" missing "$(mode "$tmp/e.db")"

# ---- 5. safe defaults: private files, the Host guard, no paths in errors ---------------
umask_was=$(umask); umask 022 # the files must be private whatever the umask allows
start_server "$tmp/s5.log" --db "$tmp/p.db" --workers 0; started=$?
umask "$umask_was"
if [ "$started" -eq 0 ]; then
    ok
    base="http://127.0.0.1:$port"
    # An upload that fails to parse: its message must not name the temp file or the db.
    printf '1,2,3\n\n4,5,6\n' >"$tmp/blank.csv"
    st=$(req "$tmp/u" -H 'Content-Type: text/csv' --data-binary @"$tmp/blank.csv" "$base/v1/datasets?name=blank")
    case "$st" in 4??) ok ;; *) bad "bad CSV upload: expected 4xx, got $st" ;; esac
    expect "bad CSV content-type" application/problem+json "$(header "$tmp/u" Content-Type)"
    d=$(json_field "$tmp/u.body" detail)
    case "$d" in *"$tmp"*|*upload-*|*.db*) bad "upload error shows a server path: '$d'" ;; *) ok ;; esac
    case "$d" in *"the upload"*) ok ;; *) bad "upload error should say 'the upload', got '$d'" ;; esac
    expect "db mode" 600 "$(mode "$tmp/p.db")"
    expect "db-wal mode" 600 "$(mode "$tmp/p.db-wal")"
    expect "db-shm mode" 600 "$(mode "$tmp/p.db-shm")"

    # DNS-rebinding guard: without a token only loopback Host names are answered.
    expect "Host localhost" 200 "$(req "$tmp/g1" -H "Host: localhost:$port" "$base/healthz")"
    expect "Host [::1]" 200 "$(req "$tmp/g2" -H "Host: [::1]:$port" "$base/healthz")"
    expect "Host 127.0.0.1" 200 "$(req "$tmp/g3" "$base/healthz")"
    expect "Host rebound name" 403 "$(req "$tmp/g4" -H "Host: evil.example:$port" "$base/healthz")"
    expect "403 content-type" application/problem+json "$(header "$tmp/g4" Content-Type)"
    d=$(json_field "$tmp/g4.body" detail)
    case "$d" in *evil.example*--allow-host*) ok ;; *) bad "403 detail should name the Host and --allow-host: '$d'" ;; esac
    expect "Host rebound, other route" 403 "$(req "$tmp/g5" -H "Host: evil.example" "$base/v1/jobs")"
    expect "no Host (HTTP/1.0)" "HTTP/1.1 403 Forbidden application/problem+json" \
        "$(raw "$port" 'b"GET /healthz HTTP/1.0\r\n\r\n"')"
    stop_server
else
    bad "server (safe defaults) did not start"
fi
if start_server "$tmp/s6.log" --db "$tmp/p.db" --workers 0 --allow-host dc.example.org --allow-host '[fd00::7]'; then
    base="http://127.0.0.1:$port"
    expect "--allow-host name" 200 "$(req "$tmp/a1" -H "Host: DC.example.org:$port" "$base/healthz")"
    expect "--allow-host v6" 200 "$(req "$tmp/a2" -H "Host: [fd00::7]:$port" "$base/healthz")"
    expect "--allow-host other name" 403 "$(req "$tmp/a3" -H "Host: evil.example" "$base/healthz")"
    expect "--allow-host keeps loopback" 200 "$(req "$tmp/a4" "$base/healthz")"
    stop_server
else
    bad "server (--allow-host) did not start"
fi
if DEEPCLUST_ALLOW_HOSTS='a.example, b.example' start_server "$tmp/s7.log" --db "$tmp/p.db" --workers 0; then
    base="http://127.0.0.1:$port"
    expect "DEEPCLUST_ALLOW_HOSTS first" 200 "$(req "$tmp/a5" -H "Host: a.example" "$base/healthz")"
    expect "DEEPCLUST_ALLOW_HOSTS second" 200 "$(req "$tmp/a6" -H "Host: b.example" "$base/healthz")"
    expect "DEEPCLUST_ALLOW_HOSTS other" 403 "$(req "$tmp/a7" -H "Host: c.example" "$base/healthz")"
    stop_server
else
    bad "server (DEEPCLUST_ALLOW_HOSTS) did not start"
fi

# ---- 6. deadlines: headers and body must arrive in time, not just trickle ---------------
if start_server "$tmp/s8.log" --db "$tmp/p.db" --workers 0 --header-timeout-s 1 --body-timeout-s 2; then
    base="http://127.0.0.1:$port"
    # Headers that never end: a 408 problem after ~1 s, whatever the client keeps sending.
    t0=$(date +%s.%N)
    got=$(python3 - "$port" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
out = b""
t_end = time.time() + 6
try:
    while time.time() < t_end: # one header byte every 0.2 s: the idle timeout never fires
        s.sendall(b"X")
        s.settimeout(0.2)
        try:
            b = s.recv(65536)
            if not b: break
            out += b
        except socket.timeout:
            pass
except OSError:
    pass
print(out.split(b"\r\n")[0].decode() if out else "closed")
PY
)
    t1=$(date +%s.%N)
    expect "trickled headers" "HTTP/1.1 408 Request Timeout" "$got"
    secs=$(python3 -c "print(round($t1 - $t0, 1))")
    python3 -c "import sys; sys.exit(0 if 0.9 <= $secs <= 3.5 else 1)" && ok || bad "header deadline: closed after $secs s, expected ~1 s"
    # A body sent slower than the deadline allows: closed after ~2 s.
    got=$(python3 - "$port" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
out = b""
t_end = time.time() + 8
try:
    while time.time() < t_end:
        s.sendall(b" ")
        s.settimeout(0.2)
        try:
            b = s.recv(65536)
            if not b: break
            out += b
        except socket.timeout:
            pass
except OSError:
    pass
print(out.split(b"\r\n")[0].decode() if out else "closed")
PY
)
    expect "trickled body" "HTTP/1.1 408 Request Timeout" "$got"
    # A normal request right after still works, and the 408s were counted.
    expect "healthz after the deadlines" 200 "$(req "$tmp/d1" "$base/healthz")"
    req "$tmp/d2" "$base/metrics" >/dev/null
    grep -q 'route="unmatched",status="408"} [2-9]' "$tmp/d2.body" && ok || bad "metrics lack the 408s: $(grep 408 "$tmp/d2.body")"
    stop_server
else
    bad "server (deadlines) did not start"
fi

# ---- 4. bad usage --------------------------------------------------------------------
"$BIN" serve --port notaport >/dev/null 2>&1; expect "bad --port exit code" 2 "$?"
"$BIN" serve --help | grep -q -- '--db, --store TARGET' && ok || bad "serve --help lacks --db/--store"
"$BIN" worker --help | grep -q -- '--lease-s' && ok || bad "worker --help lacks --lease-s"
"$BIN" worker >/dev/null 2>&1; expect "worker without a store: usage exit code" 2 "$?"
"$BIN" nosuchcommand >/dev/null 2>&1; expect "unknown command exit code" 2 "$?"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
