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
# printed first: $FUZZ_OUT when set, a new folder under $TMPDIR otherwise; in the repository only
# Fuzz/.build changes. The last line reads `fuzz: 4 targets, N runs, C crashes`; the exit status
# is non-zero when any target crashes, times out (-timeout=10), runs out of memory or fails to run.
#
# Environment:
#   FUZZ_CONFIG   debug or release. Default: release for fuzzing (1.5-2.5x the executions per
#                 second of debug, for a build from clean of ~60 s instead of ~30 s on 2 cores,
#                 both with ~25 s of dependency resolution), debug for --corpus-only and
#                 --crashes (quicker to build, exact stack traces).
#   FUZZ_TARGETS  the targets to run, space-separated (default: all four).
#   FUZZ_OUT      the output folder (default: a new one under $TMPDIR).
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
# SwiftPM rebuilds everything when the environment changes, so this script's own variables are
# kept out of it.
cd "$root/Fuzz"
flags=(-c "$config" -Xswiftc "-sanitize=fuzzer,address" -Xswiftc -parse-as-library)
started=$(date +%s)
if ! env -u FUZZ_CONFIG -u FUZZ_TARGETS -u FUZZ_OUT swift build "${flags[@]}" >"$out/build.log" 2>&1; then
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

# Says why a run's log crashed, and where: the first frame in Tandem's own sources.
why() {
    local reason where
    reason=$(grep -m1 -oE "Fatal error: .{0,120}" "$1" || grep -m1 -oE "Swift runtime failure: [a-z ]+" "$1" ||
        grep -m1 -oE "ERROR: [A-Za-z]+: [a-z -]+" "$1" || true)
    where=$(swift demangle --simplified <"$1" | grep -m1 -E "^ +#[0-9]+ .* in .*/Sources/" | sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ in //; s#'"$root"'/##' || true)
    echo "${reason:-unknown} at ${where:-?}"
}

runs=0
crashes=0
failed=0
for target in "${targets[@]}"; do
    log="$out/$target.log"
    artifacts="$out/artifacts/$target"
    mkdir -p "$artifacts"
    status=0
    speed=""
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
        speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
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
            if "$bin/$target" -timeout=10 -artifact_prefix="$artifacts/" "$input" >"$log.one" 2>&1; then
                echo "fuzz: fixed: $input"
            else
                echo "fuzz: still crashes: $input"
                echo "    $(why "$log.one")"
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
    [ -z "$speed" ] || note=" ($speed/s)"
    note="$note, $found crashes"
    [ "$slow" -eq 0 ] || note="$note, $slow slow units"
    echo "fuzz: $target: ${executed:-0} runs$note (log: $log)"
    if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
        [ "$found" -gt 0 ] || found=1
        crashes=$((crashes + found))
        failed=$((failed + 1))
        if [ "$mode" != crashes ]; then
            show "$log"
            echo "fuzz: $target: $(why "$log")"
            for artifact in "$artifacts"/*; do
                [ -f "$artifact" ] && echo "fuzz: reproduce with: SWIFT_BACKTRACE=enable=no $bin/$target $artifact"
            done
        fi
    fi
done

echo "fuzz: artifacts in $out/artifacts"
echo "fuzz: ${#targets[@]} targets, $runs runs, $crashes crashes"
[ "$failed" -eq 0 ]
