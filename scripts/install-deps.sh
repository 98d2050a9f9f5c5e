#!/usr/bin/env bash
# Installs what Tandem needs that is missing: PostgreSQL 15 (server binaries), curl, zlib and librdkafka headers, and checks
# for the Swift toolchain (which apt cannot provide). With --test, also what the tests need: Debian's
# Prometheus client for Python (its parser checks /metrics), Chromium (the dashboard test) and
# Python's venv (for the Kafka test broker, see scripts/kafka.sh).
# Safe to run again: it installs nothing twice.
set -euo pipefail

need=()
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v pg_config >/dev/null 2>&1; then
    need+=(postgresql postgresql-contrib)
fi
command -v curl >/dev/null 2>&1 || need+=(curl)
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)  # compress-nio (gzip bodies) links zlib
[ -f /usr/include/librdkafka/rdkafka.h ] || need+=(librdkafka-dev)  # the Kafka backend's client
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
if [ "${1:-}" = "--test" ]; then
    # The tests check /metrics with a real Prometheus parser and load the dashboard in a
    # headless browser.
    /usr/bin/python3 -c "import prometheus_client" >/dev/null 2>&1 || need+=(python3-prometheus-client)
    command -v chromium >/dev/null 2>&1 || need+=(chromium fonts-dejavu-core)
    # scripts/kafka.sh installs the test broker and a newer librdkafka from PyPI into a venv.
    python3 -c "import ensurepip" >/dev/null 2>&1 || need+=(python3-venv)
fi

if [ ${#need[@]} -gt 0 ]; then
    echo "install-deps: installing ${need[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    if [ -x /opt/swift/usr/bin/swift ]; then
        echo "install-deps: swift is at /opt/swift/usr/bin; add it to PATH" >&2
    else
        echo "install-deps: the Swift 6 toolchain is missing; install it from swift.org (apt has no package for it)" >&2
    fi
    exit 1
fi
