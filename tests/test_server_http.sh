#!/usr/bin/env bash
# test_server_http: black-box test of `deepclust serve` on loopback: start on a free
# port, check /healthz, problem+json 404, 405 + Allow, 413 before the body, /openapi.yaml,
# /metrics, the bearer-token mode (401 / 200), a refused newer database, and a clean exit
# (code 0) on SIGTERM. Needs curl and python3 (for JSON). Env: DC_BIN = the binary.
set -u
unset DEEPCLUST_TOKEN DEEPCLUST_DB DEEPCLUST_HOST DEEPCLUST_PORT # only what the test sets
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
            "$(ls "$DC_SRC"/migrations/*.sql | wc -l | tr -d ' ')" "$(json_field "$tmp/h.body" schema_version)"
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

# ---- 4. bad usage --------------------------------------------------------------------
"$BIN" serve --port notaport >/dev/null 2>&1; expect "bad --port exit code" 2 "$?"
"$BIN" serve --help | grep -q -- '--db PATH' && ok || bad "serve --help lacks --db"
"$BIN" nosuchcommand >/dev/null 2>&1; expect "unknown command exit code" 2 "$?"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
