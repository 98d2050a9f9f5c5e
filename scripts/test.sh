#!/usr/bin/env bash
# The whole test suite: installs what is missing, starts a throwaway PostgreSQL, builds, runs every
# test, and stops PostgreSQL whatever happens. Extra arguments go to `swift test` (e.g. --filter).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

scripts/install-deps.sh --test

pgdir=$(scripts/postgres.sh start)
trap 'scripts/postgres.sh stop "$pgdir"' EXIT
# shellcheck disable=SC1091
source "$pgdir/env"
psql -qAtc "select 'postgres ready: ' || version()" "$TANDEM_TEST_POSTGRES_URL"

# Variables are set before the build: SwiftPM rebuilds when the environment changes.
swift build --build-tests
swift test --skip-build "$@"
