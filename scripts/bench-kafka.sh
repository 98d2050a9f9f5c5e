#!/usr/bin/env bash
# The Kafka backend benchmark (bench/kafka/run.py): one tandem serve on the embedded log and on
# Kafka (a Tansu broker from scripts/kafka.sh), alternating. Builds the release binary first.
# Arguments go to run.py (--events N, --repeat N). With --cluster first: bench/kafka/cluster.py, one
# server against three sharing the broker and one PostgreSQL cluster (scripts/postgres.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scripts/install-deps.sh --test
swift build -c release --product tandem
kafkadir=$(scripts/kafka.sh start)
trap 'scripts/kafka.sh stop "$kafkadir"' EXIT
# shellcheck disable=SC1091
source "$kafkadir/env"
# The event generator needs numpy: in the benchmarks' own virtual environment.
venv=.build-bench/venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import numpy" 2>/dev/null || "$venv/bin/pip" install -q numpy
if [ "${1:-}" = "--cluster" ]; then
    shift
    pgdir=$(scripts/postgres.sh start)
    trap 'scripts/kafka.sh stop "$kafkadir"; scripts/postgres.sh stop "$pgdir"' EXIT
    # shellcheck disable=SC1091
    source "$pgdir/env"
    "$venv/bin/python" bench/kafka/cluster.py --tandem "$PWD/.build/release/tandem" "$@"
else
    "$venv/bin/python" bench/kafka/run.py --tandem "$PWD/.build/release/tandem" "$@"
fi
