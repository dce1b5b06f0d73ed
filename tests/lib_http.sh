# lib_http.sh: shared by the black-box HTTP tests (source it; not a test itself).
# Sets pass/fail counters, a temp dir $tmp (prefix $1) removed on exit with any server
# still running, ok/bad/expect, and start_server LOG ARGS... which starts
# "$BIN serve --port 0 ARGS", waits for its "listening" line and sets $pid and $port.
#
# The store: with env DC_TEST_PG_URL (a superuser URL of a running PostgreSQL cluster,
# tests/tools/pg_cluster.sh) every SQLite path a test names (--db PATH) stands for a fresh
# PostgreSQL database instead, created on first use and dropped on exit: start_server
# rewrites --db PATH itself; `store_target PATH` sets $target for servers started by hand
# (the same PATH, the same database: a restart finds its data); `store_sql PATH SQL`
# prints the rows of SQL run on PATH's store (sqlite3 module or psql; | between columns);
# `skipped WHAT WHY` says a check does not apply to this store.
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/${1:-dc_test}.XXXXXX")
pid=""
DC_PG_URL=${DC_TEST_PG_URL:-}
declare -A dc_pg_dbs=() # PATH -> database URL

cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    local u
    for u in "${dc_pg_dbs[@]}"; do
        u=${u%%\?*}
        psql -X -q -d "$DC_PG_URL" -c "DROP DATABASE IF EXISTS \"${u##*/}\" WITH (FORCE)" >/dev/null 2>&1
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# expect NAME EXPECTED GOT
expect() { if [ "$2" = "$3" ]; then ok; else bad "$1: expected '$2', got '$3'"; fi; }
# is_pg: true when the tests run on PostgreSQL
is_pg() { [ -n "$DC_PG_URL" ]; }
skipped() { echo "SKIPPED on $(is_pg && echo postgresql || echo sqlite): $1 ($2)" >&2; }

# store_target PATH: sets $target, the --db value for PATH
store_target() {
    target=$1
    is_pg || return 0
    if [ -z "${dc_pg_dbs[$1]:-}" ]; then
        local name
        name=$(printf 'dc_%s_%s' "$(basename "$tmp")" "$(basename "$1")" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9_' _)
        dc_pg_dbs[$1]=$(bash "$(dirname "${BASH_SOURCE[0]}")/tools/pg_cluster.sh" createdb "$DC_PG_URL" "${name:0:63}") ||
            { echo "cannot create a PostgreSQL database for $1" >&2; return 1; }
    fi
    target=${dc_pg_dbs[$1]}
}

# store_sql PATH SQL: the rows (columns joined by |)
store_sql() {
    if is_pg; then
        store_target "$1" && psql -X -q -A -t -d "$target" -c "$2"
    else
        python3 -c 'import sqlite3,sys
for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print("|".join(map(str, r)))' "$1" "$2"
    fi
}

start_server() {
    local log=$1 a args=() next_db=0; shift
    for a in "$@"; do
        if [ $next_db = 1 ]; then store_target "$a" || return 1; a=$target; fi
        next_db=0
        [ "$a" = --db ] && next_db=1
        args+=("$a")
    done
    # on PostgreSQL the upload spool is $TMPDIR: keep it in the test's folder
    if is_pg; then TMPDIR=$tmp "$BIN" serve --port 0 "${args[@]}" >"$log" 2>&1 &
    else "$BIN" serve --port 0 "${args[@]}" >"$log" 2>&1 &
    fi
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
