#!/usr/bin/env bash
# The benchmark of issue 10, in one command: Tandem next to PostgreSQL 15, DuckDB and chDB on the
# same seeded pageviews, then BENCHMARKS.md. Run `scripts/bench.sh --help`.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$REPO/.build-bench/venv"
PY="$VENV/bin/python"

usage() {
    cat <<'EOF'
Usage: scripts/bench.sh [options]

Generates seeded pageviews (7 days, 5% up to 10 minutes late, 10,000 Zipf urls, 1M users, 50
countries, lognormal latency) and, one engine at a time on the same events:

  throughput (bench/throughput/run.py, issue 10): bulk load (tandem post NDJSON; PostgreSQL COPY
      CSV and NDJSON via jsonb; DuckDB and chDB read_csv/read_json), full recompute of two views,
      single-event ingest from 64 connections (wrk; baselines GET /healthz and pgbench INSERT),
      freshness, RSS of `tandem serve`
  serving (bench/serving/run.py, issue 9): dashboard query latency and throughput

then writes BENCHMARKS.md at the repository root with the machine, every figure, the peers'
figures and the ratios Tandem/peer (medians of the runs).

Options:
  --events N       one size instead of the default two (1000000 and 10000000); a comma-separated
                   list also works (--events 1000000,10000000)
  --repeat N       runs of every load and recompute, and of every wrk/pgbench measurement, whose
                   medians are reported (default 3)
  --tandem PATH    use this tandem binary instead of building one
                   (default: swift build -c release --product tandem, then .build/release/tandem)
  --smoke          a quick check that the whole pipeline works (about 2 minutes): 20,000 events,
                   1 repeat, 3 s wrk/pgbench runs, 20 freshness samples, 10 query runs; no release
                   build (uses --tandem, else builds and uses the debug binary). Writes
                   .build-bench/BENCHMARKS-smoke.md, not BENCHMARKS.md.
  --micro          also run the micro-benchmarks (bench/micro/run.sh, when present); their output
                   (.build-bench/micro/results.txt) is included in BENCHMARKS.md
  --only WHICH     throughput or serving: run one harness only (default: both)
  --engines LIST   throughput engines, comma-separated subset of tandem,postgres,duckdb,chdb
                   (default: all)
  --skip-peers     Tandem only, in both harnesses (the report then has no peer figures)
  --report         only regenerate BENCHMARKS.md from the existing results (of --events sizes,
                   default 1000000 and 10000000 when present)
  --output FILE    where the report goes (default BENCHMARKS.md; --smoke: .build-bench/BENCHMARKS-smoke.md)
  -h, --help       this text

What it needs, installed when missing: python3 with venv, PostgreSQL 15 server binaries and pgbench
(scripts/install-deps.sh, postgresql-contrib), wrk (apt). The Python packages duckdb, psycopg[binary],
numpy and chdb go into .build-bench/venv (from PyPI). A peer that fails to install or run is
reported as failed; the run goes on.

Time and space, on 2 cores: at 1M events the two harnesses take about 5-6 minutes; 10M with 3
repeats about 30 minutes (estimated from 1M), and about 2.5 GB of data files under .build-bench/
(generated once, reused by later runs).
Everything generated goes under .build-bench/ (git-ignored) except BENCHMARKS.md.

Examples:
  scripts/bench.sh                                   # 1M and 10M, release build, BENCHMARKS.md
  scripts/bench.sh --events 1000000 --tandem .build/release/tandem
  scripts/bench.sh --smoke --tandem .build/debug/tandem
  scripts/bench.sh --report                          # BENCHMARKS.md from the last results
EOF
}

sizes="1000000,10000000"
sizes_given=0
repeat=3
repeat_given=0
tandem=""
smoke=0
micro=0
only=""
engines=""
skip_peers=0
report_only=0
output=""

while [ $# -gt 0 ]; do
    case "$1" in
        --events) sizes=${2:?--events needs a number}; sizes_given=1; shift 2 ;;
        --events=*) sizes=${1#*=}; sizes_given=1; shift ;;
        --repeat) repeat=${2:?--repeat needs a number}; repeat_given=1; shift 2 ;;
        --repeat=*) repeat=${1#*=}; repeat_given=1; shift ;;
        --tandem) tandem=${2:?--tandem needs a path}; shift 2 ;;
        --tandem=*) tandem=${1#*=}; shift ;;
        --smoke) smoke=1; shift ;;
        --micro) micro=1; shift ;;
        --only) only=${2:?--only needs throughput or serving}; shift 2 ;;
        --only=*) only=${1#*=}; shift ;;
        --engines) engines=${2:?--engines needs a list}; shift 2 ;;
        --engines=*) engines=${1#*=}; shift ;;
        --skip-peers) skip_peers=1; shift ;;
        --report) report_only=1; shift ;;
        --output) output=${2:?--output needs a file}; shift 2 ;;
        --output=*) output=${1#*=}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

case "$only" in ""|throughput|serving) ;; *) echo "bench.sh: --only takes throughput or serving" >&2; exit 2 ;; esac
[[ "$repeat" =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: --repeat takes a positive number" >&2; exit 2; }
sizes=${sizes//_/}
[[ "$sizes" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "bench.sh: --events takes a number or a comma-separated list" >&2; exit 2; }

say() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
t_start=$(date +%s)

if [ "$smoke" -eq 1 ]; then
    [ "$sizes_given" -eq 1 ] || sizes=20000
    [ "$repeat_given" -eq 1 ] || repeat=1
    [ -n "$output" ] || output="$REPO/.build-bench/BENCHMARKS-smoke.md"
fi
[ -n "$output" ] || output="$REPO/BENCHMARKS.md"
mkdir -p "$REPO/.build-bench"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- the Python environment (needed by --report too) ------------------------------------------
setup_venv() {
    command -v python3 >/dev/null 2>&1 || { echo "bench.sh: python3 is missing (apt-get install python3 python3-venv)" >&2; exit 1; }
    if [ ! -x "$PY" ]; then
        say "creating $VENV"
        python3 -m venv "$VENV" || { echo "bench.sh: python3 -m venv failed (apt-get install python3-venv)" >&2; exit 1; }
    fi
    local missing=()
    "$PY" -c 'import duckdb' 2>/dev/null || missing+=(duckdb)
    "$PY" -c 'import psycopg' 2>/dev/null || missing+=('psycopg[binary]')
    "$PY" -c 'import numpy' 2>/dev/null || missing+=(numpy)
    "$PY" -c 'import chdb' 2>/dev/null || missing+=(chdb)
    if [ ${#missing[@]} -gt 0 ]; then
        say "pip install ${missing[*]}"
        # numpy and psycopg are required; a peer library that does not install is reported as failed.
        "$VENV/bin/pip" install -q "${missing[@]}" || {
            say "pip install of ${missing[*]} failed; retrying one at a time"
            for p in "${missing[@]}"; do "$VENV/bin/pip" install -q "$p" || say "could not install $p"; done
        }
    fi
    "$PY" -c 'import numpy, psycopg' || { echo "bench.sh: numpy and psycopg are required in $VENV" >&2; exit 1; }
}

setup_venv

IFS=',' read -r -a size_list <<<"$sizes"

if [ "$report_only" -eq 1 ]; then
    report_sizes=()
    for n in "${size_list[@]}"; do
        [ -f "$REPO/.build-bench/throughput/results-$n.json" ] || [ -f "$REPO/.build-bench/serving/results-$n.json" ] \
            && report_sizes+=("$n")
    done
    [ ${#report_sizes[@]} -gt 0 ] || { echo "bench.sh: no results for sizes $sizes under .build-bench/" >&2; exit 1; }
    "$PY" "$REPO/bench/throughput/run.py" --report --sizes "$(IFS=,; echo "${report_sizes[*]}")" --output "$output"
    exit 0
fi

# --- system tools --------------------------------------------------------------------------------
need_apt=()
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    need_apt+=(postgresql postgresql-contrib)
elif ! command -v pgbench >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1; then
    need_apt+=(postgresql-contrib)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
    say "installing ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq && as_root apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null \
        || say "could not install ${need_apt[*]}; the phases that need them will be reported as failed"
fi

# --- the tandem binary -----------------------------------------------------------------------------
if [ -z "$tandem" ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
    command -v swift >/dev/null 2>&1 || { echo "bench.sh: swift is missing (or pass --tandem PATH)" >&2; exit 1; }
    if [ "$smoke" -eq 1 ]; then
        say "swift build --product tandem (debug, for --smoke)"
        (cd "$REPO" && swift build --product tandem)
        tandem="$REPO/.build/debug/tandem"
    else
        say "swift build -c release --product tandem"
        (cd "$REPO" && swift build -c release --product tandem)
        tandem="$REPO/.build/release/tandem"
    fi
fi
case "$tandem" in /*) ;; *) tandem="$PWD/$tandem" ;; esac
[ -x "$tandem" ] || { echo "bench.sh: $tandem is not an executable" >&2; exit 1; }
say "tandem binary: $tandem"

# --- the harnesses ---------------------------------------------------------------------------------
t_args=(--repeat "$repeat" --tandem "$tandem")
s_args=(--fresh --tandem "$tandem")
if [ "$smoke" -eq 1 ]; then
    t_args+=(--ingest-seconds 3 --freshness-samples 20 --smoke)
    s_args+=(--runs 10 --warmup 2 --wrk-seconds 2)
fi
if [ "$skip_peers" -eq 1 ]; then
    t_args+=(--engines tandem)
    s_args+=(--skip-peers)
elif [ -n "$engines" ]; then
    t_args+=(--engines "$engines")
fi

status=0
for n in "${size_list[@]}"; do
    if [ "$only" != serving ]; then
        say "throughput harness, $n events"
        "$PY" "$REPO/bench/throughput/run.py" --events "$n" "${t_args[@]}" || { status=1; say "throughput harness failed at $n events"; }
    fi
    if [ "$only" != throughput ]; then
        say "serving harness, $n events"
        "$PY" "$REPO/bench/serving/run.py" --events "$n" "${s_args[@]}" || { status=1; say "serving harness failed at $n events"; }
    fi
done

if [ "$micro" -eq 1 ]; then
    if [ -f "$REPO/bench/micro/run.sh" ]; then
        say "micro-benchmarks (bench/micro/run.sh)"
        mkdir -p "$REPO/.build-bench/micro"
        before=$(stat -c %Y "$REPO/.build-bench/micro/results.txt" 2>/dev/null || echo 0)
        if bash "$REPO/bench/micro/run.sh" >"$REPO/.build-bench/micro/run.log" 2>&1; then
            after=$(stat -c %Y "$REPO/.build-bench/micro/results.txt" 2>/dev/null || echo 0)
            # run.sh writes results.txt itself; if it only printed, keep what it printed.
            [ "$after" != "$before" ] || cp "$REPO/.build-bench/micro/run.log" "$REPO/.build-bench/micro/results.txt"
        else
            status=1
            say "bench/micro/run.sh failed; see .build-bench/micro/run.log"
        fi
    else
        say "--micro: bench/micro/run.sh does not exist; skipped"
    fi
fi

say "writing $output"
"$PY" "$REPO/bench/throughput/run.py" --report --sizes "$sizes" --output "$output" || status=1
say "done in $(( $(date +%s) - t_start )) s (exit $status)"
exit $status
