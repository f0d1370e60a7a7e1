#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback for the server's tests (and for trying
# `almanac-server --postgres` by hand). Installs Debian's `postgresql` package if no server is
# installed (needs root; CI runs as root), makes a cluster of its own in a temporary folder
# (never touches a cluster the machine already runs), and prints the URL to export:
#
#   scripts/postgres.sh start   # prints ALMANAC_TEST_POSTGRES=postgres://...; idempotent
#   scripts/postgres.sh stop    # stops it and removes its folder
#   scripts/postgres.sh url     # prints the URL of the running one
#
# ALMANAC_PG_DIR (default /tmp/almanac-test-postgres) and ALMANAC_PG_PORT (default 55432)
# choose where; each test then creates a database of its own on it.
set -euo pipefail

dir="${ALMANAC_PG_DIR:-/tmp/almanac-test-postgres}"
port="${ALMANAC_PG_PORT:-55432}"
url="postgres://almanac@127.0.0.1:${port}/postgres"

bin_dir() {
    local found
    found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    [[ -n "$found" && -x "$found/initdb" ]] && echo "$found"
}

# The server refuses to run as root: run its commands as the `postgres` user when we are root.
as_owner() {
    if [[ "$(id -u)" == "0" ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

install() {
    if bin_dir >/dev/null; then
        return
    fi
    if [[ "$(id -u)" != "0" ]] || ! command -v apt-get >/dev/null 2>&1; then
        echo "postgres.sh: no PostgreSQL server installed; install Debian's postgresql package" >&2
        exit 1
    fi
    echo "postgres.sh: installing postgresql" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin_dir >/dev/null || { echo "postgres.sh: postgresql installed but no initdb found" >&2; exit 1; }
}

start() {
    install
    local bin
    bin="$(bin_dir)"
    if [[ -f "$dir/data/postmaster.pid" ]] && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        echo "ALMANAC_TEST_POSTGRES=$url"
        return
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    if [[ "$(id -u)" == "0" ]]; then
        chown postgres: "$dir"
    fi
    # Trust on loopback only: a test cluster, listening on 127.0.0.1 and a private socket folder.
    as_owner "$bin/initdb" -D "$dir/data" -U almanac --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    # fsync off: a test cluster's data is thrown away; it makes the tests' commits fast.
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off -c max_connections=300" \
        start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    echo "ALMANAC_TEST_POSTGRES=$url"
}

stop() {
    local bin
    if bin="$(bin_dir)" && [[ -f "$dir/data/postmaster.pid" ]]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) echo "$url" ;;
    *) echo "usage: scripts/postgres.sh start|stop|url" >&2; exit 2 ;;
esac
