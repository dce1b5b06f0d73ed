#!/usr/bin/env bash
# scale_out_bench.sh: what more processes buy (issue 15), run by hand; figures go to
# docs/scale-out.md.
#
#   bash bench/scale_out_bench.sh [pg|sqlite|all]      (default all)
#
# 1. Small-job throughput: JOBS tiny kmeans jobs (400 x 8 points, k 4) submitted to one
#    API node, run by 1, 2 and 4 `deepclust worker` processes (one training thread each)
#    on a throw-away PostgreSQL (tests/tools/pg_cluster.sh); on SQLite by one
#    `deepclust serve --workers N` process, N = 1, 2, 4. The jobs are queued first
#    through an API-only node (no worker runs), then the workers are launched: jobs/s is
#    JOBS / the time from their launch (process start included) until the last job
#    ended, and JOBS / the time from the first claim to the last end (both read from the
#    store's rows: jobs.finished_at, job_attempts.started_at). Prints failures, and the
#    submit rate of the queueing step (one curl per job: process start-up included).
# 2. Predict requests/s (one sample, JSON) with wrk for SECS seconds, CONNS connections:
#    through 1 and 2 `deepclust serve --workers 0` processes on PostgreSQL (2: one wrk per
#    node, CONNS / 2 connections and WRK_THREADS / 2 threads each, rates summed);
#    through one serve on SQLite.
#
# Needs build/deepclust (or DC_BIN), curl, jq, python3, sqlite3, wrk (apt-get install
# wrk), and Debian's postgresql (server and psql) for the pg half. Environment: JOBS
# (100), SECS (10), CONNS (8), WRK_THREADS (2), WORKERS ("1 2 4"). The load generator
# runs on the same machine: on a small machine it takes a good share of the cores (the
# figures say how many there are).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${DC_BIN:-$SRC/build/deepclust}
JOBS=${JOBS:-100}
SECS=${SECS:-10}
CONNS=${CONNS:-8}
WRK_THREADS=${WRK_THREADS:-2}
WORKERS=${WORKERS:-1 2 4}
WHAT=${1:-all}
PGC=$SRC/tests/tools/pg_cluster.sh

for t in curl jq python3 wrk psql sqlite3; do
    command -v "$t" >/dev/null || { echo "scale_out_bench: $t not found" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "scale_out_bench: no $BIN (build first, or set DC_BIN)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc_scale.XXXXXX")
pids=()
pg_up=0
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    [ "$pg_up" = 1 ] && bash "$PGC" stop "$tmp/pg" || true
    rm -rf "$tmp"
}
trap cleanup EXIT

now() { date +%s.%N; }
# stop PID...: SIGTERM, wait (they exit 0 when they stop cleanly), forget them
stop() {
    local p
    for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
    stop_wait "$@"
}

# stop_wait PID...: waits for them to exit by themselves, forgets them
stop_wait() {
    local p keep=()
    for p in "$@"; do wait "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do [[ " $* " == *" $p "* ]] || keep+=("$p"); done
    pids=("${keep[@]}")
}

# start_api LOG ARGS...: deepclust serve on a free loopback port; sets API_PID, API_PORT.
start_api() {
    local log=$1; shift
    "$BIN" serve --port 0 --no-access-log --max-queued-jobs 100000 "$@" >"$log" 2>&1 &
    API_PID=$!
    pids+=("$API_PID")
    API_PORT=""
    for _ in $(seq 1 200); do
        API_PORT=$(sed -n 's/^deepclust listening on http:\/\/[^ ]*:\([0-9][0-9]*\) .*/\1/p' "$log" | head -1)
        [ -n "$API_PORT" ] && return 0
        kill -0 "$API_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "serve did not start; its output:" >&2; cat "$log" >&2; exit 1
}

# spawn_worker LOG URL: one deepclust worker process (one training thread); sets W_PID.
spawn_worker() {
    "$BIN" worker --db "$2" --workers 1 --blas-threads 1 >"$1" 2>&1 &
    W_PID=$!
    pids+=("$W_PID")
}
# wait_ready LOG PID: until the worker says "deepclust worker ready".
wait_ready() {
    for _ in $(seq 1 400); do
        grep -q "^deepclust worker ready" "$1" && return 0
        kill -0 "$2" 2>/dev/null || break
        sleep 0.025
    done
    echo "worker did not start; its output:" >&2; cat "$1" >&2; exit 1
}

# 4 well-separated blobs, 100 points each, 8 features, the label in the last column.
python3 - "$tmp/blobs.csv" <<'EOF'
import random, sys
random.seed(1)
with open(sys.argv[1], "w") as f:
    for c in range(4):
        for _ in range(100):
            f.write(",".join("%.4f" % (random.gauss(0, 0.3) + 3 * ((c >> (j % 2)) & 1)
                                       + (c if j == 7 else 0)) for j in range(8)))
            f.write(",%d\n" % c)
EOF
cat >"$tmp/predict.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"samples": [[0.1, 0.2, 2.9, 3.1, 0.0, 0.3, 2.8, 2.0]]}'
EOF

upload() { # B -> dataset id
    curl -sf --data-binary @"$tmp/blobs.csv" "$1/v1/datasets?name=blobs&label_column=-1" | jq -r .id
}
# counts B: "queued running succeeded failed cancelled" from /metrics (one request)
counts() {
    curl -sf "$1/metrics" | awk -F'[" ]' '/^deepclust_jobs\{status=/ {c[$2] = $NF}
        END {printf "%d %d %d %d %d\n", c["queued"], c["running"], c["succeeded"],
             c["failed"], c["cancelled"]}'
}

# submit B: uploads the dataset and queues JOBS jobs through B (no worker runs yet);
# sets LAST_JOB.
submit() {
    local B=$1 ds t0 t1 i body
    ds=$(upload "$B")
    t0=$(now)
    for i in $(seq 1 "$JOBS"); do
        body="{\"dataset\":\"$ds\",\"method\":\"kmeans\",\"n_clusters\":4,\"seed\":$i}"
        if [ "$i" -lt "$JOBS" ]; then
            curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' "$B/v1/jobs" \
                -d "$body" || { echo "submit $i failed" >&2; exit 1; }
        else
            LAST_JOB=$(curl -sf -X POST -H 'Content-Type: application/json' "$B/v1/jobs" \
                -d "$body" | jq -r .id)
        fi
    done
    t1=$(now)
    python3 -c "import sys; j,t0,t1=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]); \
print('    (%d jobs queued in %.2f s through one API node, one curl each: %.0f submits/s)' % \
(j, t1-t0, j/(t1-t0)))" "$JOBS" "$t0" "$t1"
}

# span SQL-RUNNER: "first-claim-epoch last-end-epoch" of the jobs, from the store itself
# (so that the figure does not depend on how often we poll).
span_pg() { psql -X -Atq -F ' ' -d "$1" -c "SELECT (SELECT min(dc_epoch(started_at)) FROM \
job_attempts), max(dc_epoch(finished_at)) FROM jobs"; }
span_sqlite() { sqlite3 -separator ' ' "$1" "SELECT (SELECT min((julianday(started_at) - \
2440587.5) * 86400) FROM job_attempts), max((julianday(finished_at) - 2440587.5) * 86400) FROM jobs"; }

# wait_done LABEL B T0 SPAN STORE: polls B's /metrics (4 times a second) until every job
# ended, then reads from the store when the first claim and the last end were. Prints
# jobs/s from T0 (the workers' launch, wall clock) to the last end, and from the first
# claim to the last end. Sets MODEL to the model of LAST_JOB.
wait_done() {
    local label=$1 B=$2 t0=$3 span=$4 target=$5 done=0 ok=0 failed=0 cancelled=0 first last
    for _ in $(seq 1 2400); do
        read -r _ _ ok failed cancelled < <(counts "$B")
        done=$((ok + failed + cancelled))
        [ "$done" -ge "$JOBS" ] && break
        sleep 0.25
    done
    read -r first last < <("$span" "$target")
    python3 -c "import sys; j,t0,a,z=int(sys.argv[1]),*map(float,sys.argv[2:5]); \
print('  %-26s %d jobs: last ended %.2f s after the launch (%.1f jobs/s); first claim to last \
end %.2f s (%.1f jobs/s)' % (sys.argv[5], j, z-t0, j/(z-t0), z-a, j/(z-a)))" \
        "$JOBS" "$t0" "$first" "$last" "$label"
    [ "$ok" = "$JOBS" ] || echo "  !! $ok of $JOBS jobs succeeded ($failed failed, $cancelled cancelled)"
    MODEL=$(curl -sf "$B/v1/jobs/$LAST_JOB" | jq -r .model)
}

# predict LABEL MODEL PORT...: wrk on each port at once, CONNS connections and
# WRK_THREADS client threads in all, split between them.
predict() {
    local label=$1 model=$2; shift 2
    local n=$# c=$((CONNS / $#)) t=$((WRK_THREADS / $# > 0 ? WRK_THREADS / $# : 1)) i=0 p
    for p in "$@"; do
        # warm the node's model cache first
        curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
            -d '{"samples": [[0,0,0,0,0,0,0,0]]}' "http://127.0.0.1:$p/v1/models/$model/predict"
    done
    local w=()
    for p in "$@"; do
        wrk -t"$t" -c"$c" -d"${SECS}s" --latency -s "$tmp/predict.lua" \
            "http://127.0.0.1:$p/v1/models/$model/predict" >"$tmp/wrk.$i" 2>&1 &
        w+=("$!")
        pids+=("$!")
        i=$((i + 1))
    done
    stop_wait "${w[@]}"
    python3 - "$label" "$n" "$tmp"/wrk.* <<'EOF'
import re, sys
label, n, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:3 + int(sys.argv[2])]
rate, bad, p50, p99 = 0.0, 0, [], []
def ms(v, u):
    return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[u]
for f in files:
    t = open(f).read()
    m = re.search(r"Requests/sec:\s+([\d.]+)", t)
    if not m:
        print("  wrk failed:", t.strip()[:400]); sys.exit(0)
    rate += float(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    bad += int(m.group(1)) if m else 0
    for q, dst in (("50", p50), ("99", p99)):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s|m)\s*$" % q, t, re.M)
        if m: dst.append(ms(*m.groups()))
print("  %-34s %8.0f requests/s  p50 %s ms  p99 %s ms  non-2xx %d" % (label, rate,
      "/".join("%.2f" % v for v in p50), "/".join("%.2f" % v for v in p99), bad))
EOF
    rm -f "$tmp"/wrk.*
}

echo "scale_out_bench: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores;" \
     "JOBS=$JOBS SECS=$SECS CONNS=$CONNS WRK_THREADS=$WRK_THREADS; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$WHAT" = all ] || [ "$WHAT" = pg ]; then
    U=$(bash "$PGC" start "$tmp/pg")
    pg_up=1
    echo "postgresql: $("$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/postgres" --version)"
    echo "small-job throughput, PostgreSQL, 1 API node (serve --workers 0) + worker processes:"
    for w in $WORKERS; do
        url=$(bash "$PGC" createdb "$U" "bench_w$w")
        start_api "$tmp/api_w$w.log" --db "$url" --workers 0
        api=$API_PID
        B=http://127.0.0.1:$API_PORT
        submit "$B"
        wp=()
        t0=$(now)
        for i in $(seq 1 "$w"); do spawn_worker "$tmp/worker_${w}_$i.log" "$url"; wp+=("$W_PID"); done
        for i in $(seq 1 "$w"); do wait_ready "$tmp/worker_${w}_$i.log" "${wp[$((i - 1))]}"; done
        wait_done "$w worker process(es)" "$B" "$t0" span_pg "$url"
        stop "${wp[@]}"
        if [ "$w" = "$(echo "$WORKERS" | awk '{print $NF}')" ]; then
            echo "predict, PostgreSQL (model of a kmeans job, k 4, d 8), $CONNS connections:"
            port1=$API_PORT
            predict "1 API process" "$MODEL" "$port1"
            start_api "$tmp/api2.log" --db "$url" --workers 0
            api2=$API_PID
            predict "2 API processes" "$MODEL" "$port1" "$API_PORT"
            stop "$api2"
        fi
        stop "$api"
    done
fi

if [ "$WHAT" = all ] || [ "$WHAT" = sqlite ]; then
    echo "small-job throughput, SQLite, one serve process with N worker threads:"
    for w in $WORKERS; do
        start_api "$tmp/sqlite_q$w.log" --db "$tmp/w$w.db" --workers 0
        submit "http://127.0.0.1:$API_PORT"
        stop "$API_PID"
        t0=$(now)
        start_api "$tmp/sqlite_w$w.log" --db "$tmp/w$w.db" --workers "$w" --blas-threads 1
        wait_done "serve --workers $w" "http://127.0.0.1:$API_PORT" "$t0" span_sqlite "$tmp/w$w.db"
        if [ "$w" = "$(echo "$WORKERS" | awk '{print $NF}')" ]; then
            echo "predict, SQLite, $CONNS connections:"
            predict "1 serve process" "$MODEL" "$API_PORT"
        fi
        stop "$API_PID"
    done
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
