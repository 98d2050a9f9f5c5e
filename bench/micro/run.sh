#!/usr/bin/env bash
# Runs Tandem's micro-benchmarks (issue 10): log append, record decode, aggregate update, sketch
# merge and query merge, with ordo-one's benchmark plugin. The plugin builds them in release
# first (the first build compiles Tandem and its dependencies into bench/micro/.build: several
# minutes; later builds only what changed). Prints the table and keeps it, with the machine, its
# load and the commit, in .build-bench/micro/results.txt at the repository root.
#
# Build only through the plugin: it builds product by product, and a plain `swift build -c
# release` in bench/micro plans the build differently, so the two rebuild everything in turn.
#
# Extra arguments go to the plugin, e.g. `bench/micro/run.sh --target QueryMerge` or
# `bench/micro/run.sh --filter '.*top-10.*'`.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
out=.build-bench/micro
mkdir -p "$out"

{
    echo "Tandem micro-benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(free -g | awk '/^Mem:/ {print $2}') GiB; load average $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/results.txt"
start=$(date +%s)
# --disable-sandbox: the benchmarks write real logs to the temporary directory (macOS's plugin
# sandbox would refuse; Linux has none).
swift package --package-path bench/micro --disable-sandbox benchmark --no-progress "$@" | tee -a "$out/results.txt"
echo "plugin ran in $(($(date +%s) - start)) s (its build, or its up-to-date check, included)" | tee -a "$out/results.txt"
