#!/usr/bin/env bash
# pg_cluster.sh: a throw-away PostgreSQL cluster for tests (Debian's postgresql package).
#
#   pg_cluster.sh start DIR          creates and starts a cluster in DIR (made if missing),
#                                    prints a superuser URL: postgresql://dc@127.0.0.1:PORT/postgres
#   pg_cluster.sh stop DIR           stops it (immediate) and removes DIR
#   pg_cluster.sh createdb URL NAME  creates database NAME, prints its URL
#
# The server listens on 127.0.0.1 (a free port) and on a Unix socket in DIR, trusts every
# local and loopback connection, runs with fsync off. As root it runs as `nobody` (DIR is
# handed to it). Its log is DIR/log.
set -euo pipefail

die() { echo "pg_cluster.sh: $*" >&2; exit 1; }

bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
    done
    die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
}

# Runs a command as the cluster's owner: nobody when we are root, else ourselves.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u nobody -- "$@")
    else
        "$@"
    fi
}

# A port nothing listens on now (a race with another taker is retried by start).
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

start() {
    local dir=$1 bin port i
    bin=$(bindir)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ -e "$dir/data" ] && die "$dir/data exists already"
    if [ "$(id -u)" = 0 ]; then
        chown nobody "$dir"
        # nobody must reach DIR through its parents (e.g. a 0700 /root/... or mktemp -d)
        local p=$dir
        while [ "$p" != / ]; do
            p=$(dirname "$p")
            as_owner test -x "$p" || chmod o+x "$p"
        done
    fi
    as_owner "$bin/initdb" -D "$dir/data" -U dc -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        as_owner "$bin/initdb" -D "$dir/data" -U dc -A trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    for i in 1 2 3 4 5 6 7 8; do
        port=$(free_port)
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 -o \
            "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off \
-c synchronous_commit=off -c max_connections=200" start >/dev/null 2>&1; then
            break
        fi
        port=
        grep -q "could not bind\|already in use" "$dir/log" 2>/dev/null || break
    done
    [ -n "$port" ] || { tail -n 20 "$dir/log" >&2 || true; die "the server did not start"; }
    for i in $(seq 1 100); do # pg_ctl -w waited already; check the TCP side too
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
        sleep 0.1
    done
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" || die "the server does not accept connections"
    echo "postgresql://dc@127.0.0.1:$port/postgres"
}

stop() {
    local dir=$1 bin
    [ -d "$dir" ] || return 0
    bin=$(bindir)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

createdb() {
    local url=$1 name=$2
    [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "bad database name: $name"
    command -v psql >/dev/null || die "psql not found (apt-get install postgresql-client)"
    psql -X -q -v ON_ERROR_STOP=1 -d "$url" -c "CREATE DATABASE \"$name\"" >/dev/null
    local base=${url%%\?*}
    echo "${base%/*}/$name${url#"$base"}"
}

case "${1:-}" in
    start) [ $# = 2 ] || die "usage: pg_cluster.sh start DIR"; start "$2" ;;
    stop) [ $# = 2 ] || die "usage: pg_cluster.sh stop DIR"; stop "$2" ;;
    createdb) [ $# = 3 ] || die "usage: pg_cluster.sh createdb URL NAME"; createdb "$2" "$3" ;;
    *) die "usage: pg_cluster.sh start DIR | stop DIR | createdb URL NAME" ;;
esac
