#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on a free loopback port, for tests.
#
#   scripts/postgres.sh start      prints the cluster's directory; DIR/env holds
#                                  `export TANDEM_TEST_POSTGRES_URL=...` (and PG* variables)
#   scripts/postgres.sh stop DIR   stops the cluster and removes DIR
#
# PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user and
# lives under /tmp (which that user can enter). Nothing is registered under /etc.
set -euo pipefail

bindir() {
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
    else
        ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
    fi
}

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
    local bin dir port
    bin=$(bindir)
    [ -x "$bin/initdb" ] || { echo "postgres.sh: PostgreSQL server binaries not found; run scripts/install-deps.sh" >&2; exit 1; }
    dir=$(mktemp -d /tmp/tandem-pg.XXXXXX)
    chmod 755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    as_owner "$bin/initdb" -D "$dir/data" --auth=trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    for attempt in 1 2 3 4 5 6 7 8; do
        port=$(( 20000 + RANDOM % 40000 ))
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
            -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=off -c max_connections=500" start >/dev/null 2>&1; then
            as_owner "$bin/pg_isready" -h 127.0.0.1 -p "$port" -t 10 >/dev/null
            as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres tandem_test
            cat >"$dir/env" <<ENV
export TANDEM_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/tandem_test
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=tandem_test
ENV
            echo "$dir"
            return 0
        fi
    done
    echo "postgres.sh: could not start PostgreSQL; log:" >&2
    cat "$dir/server.log" >&2 || true
    rm -rf "$dir"
    exit 1
}

stop() {
    local dir=$1 bin
    bin=$(bindir)
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop "${2:?usage: postgres.sh stop DIR}" ;;
    *) echo "usage: scripts/postgres.sh start | stop DIR" >&2; exit 2 ;;
esac
