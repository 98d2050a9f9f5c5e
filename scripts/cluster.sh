#!/usr/bin/env bash
# Three Tandem servers on one Kafka-protocol broker and one PostgreSQL, as local processes: the
# topology of deploy/compose.yaml for a machine that cannot run containers (and for trying it).
#
#   scripts/cluster.sh start [DIR]   builds Tandem (release), starts a throwaway PostgreSQL cluster
#                                    (scripts/postgres.sh), a Tansu broker (scripts/kafka.sh) and
#                                    three `tandem serve` on http://127.0.0.1:8081, :8082 and :8083
#                                    with deploy/tandem-cluster.yaml (pointed at that broker);
#                                    state, the servers' configuration and logs go to DIR
#                                    (default ./cluster). Prints the servers' addresses.
#   scripts/cluster.sh status [DIR]  each server's pid and /readyz, and which one is the batch runner
#   scripts/cluster.sh kill N [DIR]  SIGKILLs server N (1..3), to watch another take over the jobs
#   scripts/cluster.sh restart N [DIR]  starts server N again
#   scripts/cluster.sh stop [DIR]    stops the servers (SIGTERM), the broker and PostgreSQL
#
# The servers run without tokens on loopback (--no-auth) so that the tour's curl commands work
# unchanged; a real deployment keeps auth on and gives the servers one admin token (see README,
# "Several servers").
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
root=$PWD
command=${1:-}
shift || true

serve() {
    local n=$1 dir=$2
    # shellcheck disable=SC1091
    . "$dir/kafka/env"
    nohup "$root/.build/release/tandem" serve --config "$dir/tandem.yaml" --data-dir "$dir/server-$n" \
        --port $((8080 + n)) --no-auth --postgres-url "$(cat "$dir/postgres-url")" >>"$dir/server-$n.log" 2>&1 &
    echo $! >"$dir/server-$n.pid"
    for _ in $(seq 1 300); do
        if curl -fsS "http://127.0.0.1:$((8080 + n))/healthz" >/dev/null 2>&1; then
            echo "server $n: http://127.0.0.1:$((8080 + n)) (pid $(cat "$dir/server-$n.pid"), log $dir/server-$n.log)"
            return 0
        fi
        kill -0 "$(cat "$dir/server-$n.pid")" 2>/dev/null || break
        sleep 0.2
    done
    echo "cluster.sh: server $n did not start; see $dir/server-$n.log" >&2
    tail -n 20 "$dir/server-$n.log" >&2
    return 1
}

start() {
    local dir=$1 pg kafka
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    scripts/install-deps.sh --test
    swift build -c release --product tandem
    pg=$(scripts/postgres.sh start)
    echo "$pg" >"$dir/postgres-dir"
    # shellcheck disable=SC1091
    (. "$pg/env" && echo "$TANDEM_TEST_POSTGRES_URL") >"$dir/postgres-url"
    kafka=$(scripts/kafka.sh start)
    rm -rf "$dir/kafka"
    ln -s "$kafka" "$dir/kafka"
    # deploy/tandem-cluster.yaml with this broker's address.
    sed "s|^  bootstrap_servers: .*|  bootstrap_servers: \"$(. "$kafka/env" && echo "$TANDEM_TEST_KAFKA_BOOTSTRAP")\"|" \
        deploy/tandem-cluster.yaml >"$dir/tandem.yaml"
    for n in 1 2 3; do serve "$n" "$dir"; done
    echo "PostgreSQL: $(cat "$dir/postgres-url"); Kafka: $(. "$dir/kafka/env" && echo "$TANDEM_TEST_KAFKA_BOOTSTRAP")"
    echo "stop with: scripts/cluster.sh stop $dir"
}

status() {
    local dir=$1
    for n in 1 2 3; do
        local pid ready
        pid=$(cat "$dir/server-$n.pid" 2>/dev/null || echo "")
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            ready=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((8080 + n))/readyz" || true)
            echo "server $n: pid $pid, /readyz $ready"
        else
            echo "server $n: not running"
        fi
    done
    for n in 1 2 3; do
        if curl -fsS "http://127.0.0.1:$((8080 + n))/v1/status" -o "$dir/status.json" 2>/dev/null; then
            python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); [print("batch runner: pid", i["pid"], i["data_dir"]) for i in s.get("instances") or [] if i.get("runner")]' "$dir/status.json"
            return 0
        fi
    done
}

stop() {
    local dir=$1
    for n in 1 2 3; do
        [ -f "$dir/server-$n.pid" ] && kill "$(cat "$dir/server-$n.pid")" 2>/dev/null || true
    done
    for n in 1 2 3; do
        while [ -f "$dir/server-$n.pid" ] && kill -0 "$(cat "$dir/server-$n.pid")" 2>/dev/null; do sleep 0.2; done
        rm -f "$dir/server-$n.pid"
    done
    [ -L "$dir/kafka" ] && scripts/kafka.sh stop "$(readlink "$dir/kafka")" && rm -f "$dir/kafka"
    [ -f "$dir/postgres-dir" ] && scripts/postgres.sh stop "$(cat "$dir/postgres-dir")" && rm -f "$dir/postgres-dir"
    echo "stopped; state and logs stay in $dir"
}

case "$command" in
    start) start "${1:-cluster}" ;;
    status) status "${1:-cluster}" ;;
    kill) kill -9 "$(cat "${2:-cluster}/server-${1:?usage: cluster.sh kill N [DIR]}.pid")" && echo "server $1 killed" ;;
    restart) serve "${1:?usage: cluster.sh restart N [DIR]}" "$(cd "${2:-cluster}" && pwd)" ;;
    stop) stop "${1:-cluster}" ;;
    *) echo "usage: scripts/cluster.sh start|status|stop [DIR] | kill N [DIR] | restart N [DIR]" >&2; exit 2 ;;
esac
