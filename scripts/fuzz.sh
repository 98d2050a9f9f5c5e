#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ (a package of their own) and runs each one.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   fuzz each target for that long (default 30) over a copy
#                                          of its seed corpus, Fuzz/Corpus/<Target>/
#   scripts/fuzz.sh --corpus-only          run each target once over its seed files (regression check)
#   scripts/fuzz.sh --crashes              run each saved crash in Fuzz/Crashes/<Target>/ and say
#                                          which still crash (they are expected to, until fixed)
#
# Everything a run writes (build log, corpus copies, logs, crash artifacts) goes to one folder,
# printed first: $FUZZ_OUT when set, a new folder under $TMPDIR otherwise. The repository is not
# touched. The last line reads `fuzz: 4 targets, N runs, C crashes`; the exit status is non-zero
# when any target crashes, times out (-timeout=10), runs out of memory or fails to run.
#
# Environment:
#   FUZZ_CONFIG   debug or release. Default: release for fuzzing (about 3x the executions per
#                 second of debug on 2 cores, for a build of ~50 s instead of ~36 s from clean),
#                 debug for --corpus-only and --crashes (quicker to build, exact stack traces).
#   FUZZ_TARGETS  the targets to run, space-separated (default: all four).
#   TANDEM_FUZZ_SKIP_KNOWN=1  step around bugs known and being fixed (Fuzz/Sources/FuzzSupport/
#                 KnownIssues.swift), so that fuzzing looks for new ones.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="/opt/swift/usr/bin:$PATH"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

mode=fuzz
seconds=30
case "${1:-}" in
    --corpus-only) mode=corpus ;;
    --crashes) mode=crashes ;;
    -h | --help) usage && exit 0 ;;
    "") ;;
    *[!0-9]* | 0) usage >&2 && exit 2 ;;
    *) seconds=$1 ;;
esac
[ $# -le 1 ] || { usage >&2 && exit 2; }

if [ "$mode" = fuzz ]; then config=${FUZZ_CONFIG:-release}; else config=${FUZZ_CONFIG:-debug}; fi
read -r -a targets <<<"${FUZZ_TARGETS:-FuzzEventParser FuzzRecordCodec FuzzViewDefinition FuzzQuery}"
out=${FUZZ_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/tandem-fuzz.XXXXXX")}
mkdir -p "$out"
echo "fuzz: $mode, $config build, output in $out"

# The build: the sanitizer flags apply to every module compiled (Events and Aggregation too, so
# that libFuzzer sees their coverage). ld.gold's "Cannot export local symbol" warnings are noise.
cd "$root/Fuzz"
flags=(-c "$config" -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
started=$(date +%s)
if ! swift build "${flags[@]}" >"$out/build.log" 2>&1; then
    grep -v "Cannot export local symbol" "$out/build.log" | tail -40 >&2
    echo "fuzz: the build failed (log: $out/build.log)" >&2
    exit 1
fi
bin=$(swift build "${flags[@]}" --show-bin-path)
echo "fuzz: built in $(($(date +%s) - started)) s"

# Swift's own crash backtracer would read the crashing stack itself, which AddressSanitizer
# reports as a bogus stack-buffer-underflow; libFuzzer prints the stack instead.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-dedup_token_length=8}

# Prints the end of a failed run's log with Swift symbols demangled.
show() { grep -v -e "^INFO:" -e "^#[0-9]*[[:space:]]*\(NEW\|REDUCE\|pulse\|INITED\)" "$1" | tail -60 | swift demangle --simplified; }

runs=0
crashes=0
failed=0
for target in "${targets[@]}"; do
    log="$out/$target.log"
    artifacts="$out/artifacts/$target"
    mkdir -p "$artifacts"
    status=0
    case $mode in
    fuzz)
        # A copy of the seeds, so that the units libFuzzer adds stay out of the repository.
        mkdir -p "$out/corpus"
        rm -rf "$out/corpus/$target"
        cp -R "Corpus/$target" "$out/corpus/$target"
        dict=()
        if [ -f "Dictionaries/$target.dict" ]; then
            cat Dictionaries/json.dict "Dictionaries/$target.dict" >"$out/$target.dict"
            dict=(-dict="$out/$target.dict")
        fi
        "$bin/$target" "$out/corpus/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$artifacts/" -print_final_stats=1 "${dict[@]}" >"$log" 2>&1 || status=$?
        executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        ;;
    corpus)
        seeds=("Corpus/$target"/*)
        "$bin/$target" -artifact_prefix="$artifacts/" "${seeds[@]}" >"$log" 2>&1 || status=$?
        executed=$(grep -c "^Executed " "$log" || true)
        ;;
    crashes)
        executed=0
        for input in "Crashes/$target"/*; do
            [ -f "$input" ] || continue
            executed=$((executed + 1))
            if "$bin/$target" -artifact_prefix="$artifacts/" "$input" >"$log.one" 2>&1; then
                echo "  $target: fixed       $input"
            else
                echo "  $target: still crashes $input: $(grep -m1 -E "Fatal error|ERROR:|SUMMARY:" "$log.one" | cut -c1-160)"
                cp "$input" "$artifacts/"
                cat "$log.one" >>"$log"
                status=1
            fi
        done
        rm -f "$log.one"
        ;;
    esac
    runs=$((runs + ${executed:-0}))
    found=$(find "$artifacts" -type f \( -name "crash-*" -o -name "timeout-*" -o -name "oom-*" -o -name "leak-*" \) | wc -l)
    [ "$mode" = crashes ] && found=$(find "$artifacts" -type f | wc -l)
    slow=$(find "$artifacts" -type f -name "slow-unit-*" | wc -l)
    note=""
    [ "$slow" -eq 0 ] || note=", $slow slow units"
    echo "fuzz: $target: ${executed:-0} runs, $found crashes$note (log: $log)"
    if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
        [ "$found" -gt 0 ] || found=1
        crashes=$((crashes + found))
        failed=$((failed + 1))
        if [ "$mode" != crashes ]; then
            show "$log"
            for artifact in "$artifacts"/*; do
                [ -f "$artifact" ] && echo "fuzz: reproduce with: SWIFT_BACKTRACE=enable=no $bin/$target $artifact"
            done
        fi
    fi
done

echo "fuzz: artifacts in $out/artifacts"
echo "fuzz: ${#targets[@]} targets, $runs runs, $crashes crashes"
[ "$failed" -eq 0 ]
