#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite, on 127.0.0.1 only.
#
#   scripts/pg_cluster.sh start DIR PORT   # initdb (first time) and start; prints nothing else
#   scripts/pg_cluster.sh stop DIR         # stop and delete the cluster
#
# PostgreSQL refuses to run as root, and CI runs as root: the server then runs as the
# `postgres` system user (Debian's package creates it). Durability settings are relaxed because
# the cluster is deleted after the run; the app's own durability tests kill the app, not this.
set -euo pipefail

action=${1:?start or stop}
dir=${2:?cluster directory}

pg_bin() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$found" ]; then echo "$found"; else dirname "$(command -v pg_ctl)"; fi
}
BIN=$(pg_bin)

as_owner() {
    if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$action" in
start)
    port=${3:?port}
    mkdir -p "$dir"
    [ "$(id -u)" = "0" ] && chown postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$BIN/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
    fi
    as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
        "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=200" >/dev/null
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
