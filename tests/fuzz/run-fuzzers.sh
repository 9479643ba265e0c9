#!/bin/sh
# Runs every libFuzzer binary of a MERIDIAN_FUZZ build for a fixed time, starting from the
# checked-in corpus (read only: new inputs go to a scratch directory in the build), and prints
# the executions each reached. Exits 1 if any target crashed; the crash input is then kept as
# BUILD/fuzz-work/NAME/crash-* (copy it to tests/fuzz/crashes/ to keep it).
#   usage: run-fuzzers.sh BUILD_DIR SECONDS [NAME...]
set -u

build=$1
seconds=$2
shift 2
targets=${*:-"query ecs answer zone_file mmdb_csv"}
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" && pwd)

failed=""
for name in $targets; do
    work="$build/fuzz-work/$name"
    mkdir -p "$work/new"
    dict=""
    [ -f "$here/$name.dict" ] && dict="-dict=$here/$name.dict"
    echo "fuzz: $name for ${seconds}s"
    # shellcheck disable=SC2086
    "$build/bin/fuzz_$name" -max_total_time="$seconds" -timeout=25 -print_final_stats=1 \
        -artifact_prefix="$work/" $dict "$work/new" "$here/corpus/$name" >"$work/log" 2>&1
    status=$?
    executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$')
    echo "fuzz: $name: ${executions:-?} executions, exit status $status (log: $work/log)"
    if [ "$status" -ne 0 ]; then
        failed="$failed $name"
        tail -n 60 "$work/log"
        ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null
    fi
done

if [ -n "$failed" ]; then
    echo "fuzz: FAILED:$failed" >&2
    exit 1
fi
echo "fuzz: every target ran ${seconds}s without a crash"
