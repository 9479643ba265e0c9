#!/usr/bin/env bash
# Scale measurements of issue 6 (docs/PERFORMANCE.md, "Scale and memory"), run by `make bench`
# after run-bench.sh:
#   1. cost per steered answer as the number of steered names grows (10 → 10,000 names in 10
#      zones): saturated queries/s and server CPU µs per answer, one worker pinned to one core;
#   2. one worker against two, at 10,000 names;
#   3. a generated config of 100 zones and 10,000 steered names: load time and memory
#      (`meridiand --check`), RSS while serving, and a reload under 50k q/s with no query lost.
# Queries cycle over every name with ECS subnets of four continents; answers are verified first.
#
# Environment: SCALE_NAMES ["10 100 1000 10000"]  SCALE_SECONDS [5]  SCALE_REPEATS [3]
#   SCALE_RATE [600000]  SCALE_PORT [5380]  BENCH_SERVER_CPU [1]  BENCH_LOAD_CPU [0]
#   BUILD [build]  SCALE_OUT [$BUILD/bench/scale-<time>]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
NAMES=${SCALE_NAMES:-"10 100 1000 10000"}
SECONDS_SAT=${SCALE_SECONDS:-5}
REPEATS=${SCALE_REPEATS:-3}
RATE=${SCALE_RATE:-600000}
PORT=${SCALE_PORT:-5380}
SERVER_CPU=${BENCH_SERVER_CPU:-1}
LOAD_CPU=${BENCH_LOAD_CPU:-0}
OUT=${SCALE_OUT:-$BUILD/bench/scale-$(date -u +%Y%m%dT%H%M%SZ)}
LOADGEN="$BUILD/bin/loadgen"
MERIDIAND="$BUILD/bin/meridiand"

say() { printf 'scale: %s\n' "$*" >&2; }

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /tmp/meridian-scale.XXXXXX)
RESULTS="$OUT/results.jsonl"
: >"$RESULTS"
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

cmake --build "$BUILD" -j "$(nproc)" --target meridiand loadgen test-geo-db >/dev/null
MMDB="$BUILD/geoip/test-geo.mmdb"

# One query line per name and subnet; the A must be one of the regions its route allows
# (tools/scale/gen-scale-config.py: EU, NA and AS routes; anything else goes to the nearest).
write_queries() {  # dir zones names
    python3 - "$@" <<'EOF'
import sys
out, zones, names = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
subnets = {
    "192.0.2.0/24": "192.0.2.110,192.0.2.120",      # DE: EU
    "8.8.8.0/24": "198.51.100.10,198.51.100.20",    # US: NA
    "1.0.16.0/24": "203.0.113.10,203.0.113.20",     # JP: AS
    "1.1.1.0/24": "203.0.113.10",                   # AU: nearest of the six is Singapore
}
per_zone, extra = divmod(names, zones)
lines, first = [], 0
for z in range(zones):
    count = per_zone + (1 if z < extra else 0)
    for i in range(first, first + count):
        for subnet, answers in subnets.items():
            lines.append(f"app{i}.scale{z}.example. A {subnet} a={answers}")
    first += count
open(out + "/queries.txt", "w").write("\n".join(lines) + "\n")
EOF
}

start_server() {  # dir workers cpu-list
    local dir=$1
    sed -i "s/^workers = .*/workers = $2/" "$dir/meridian.toml"
    (cd "$dir" && exec taskset -c "$3" "$MERIDIAND" -c meridian.toml) 2>"$dir/stderr.log" &
    SERVER_PID=$!
    "$LOADGEN" --target "127.0.0.1:$PORT" --gen static --zone scale0.example --ready-only --wait-ready 30 >/dev/null 2>&1 ||
        { say "meridiand did not start:"; cat "$dir/stderr.log" >&2; exit 1; }
    for task in /proc/"$SERVER_PID"/task/*; do taskset -p -c "$3" "${task##*/}" >/dev/null; done
}

stop_server() {
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || true
    SERVER_PID=""
}

run_load() {  # dir label load-cpus [extra loadgen options]
    local dir=$1 label=$2 cpus=$3
    shift 3
    taskset -c "$cpus" "$LOADGEN" --target "127.0.0.1:$PORT" --queries "$dir/queries.txt" --server-pid "$SERVER_PID" \
        --label "$label" --quiet "$@" >>"$RESULTS"
}

# ---- 1 and 2: queries/s against names, and against workers --------------------------------
for names in $NAMES; do
    dir="$WORK/names-$names"
    zones=$((names < 10 ? names : 10))
    python3 tools/scale/gen-scale-config.py "$dir" --zones "$zones" --names "$names" --mmdb "$MMDB" --port "$PORT"
    write_queries "$dir" "$zones" "$names"
    say "$names names: 1 worker on CPU $SERVER_CPU, load on CPU $LOAD_CPU"
    start_server "$dir" 1 "$SERVER_CPU"
    run_load "$dir" "verify names=$names" "$LOAD_CPU" --verify-only --verify-max 1000000 ||
        { say "wrong answers with $names names"; exit 3; }
    for r in $(seq "$REPEATS"); do
        run_load "$dir" "names=$names workers=1" "$LOAD_CPU" --no-verify --rate "$RATE" --duration "$SECONDS_SAT"
    done
    stop_server
    if [ "$names" = "$(echo "$NAMES" | awk '{print $NF}')" ]; then
        say "$names names: 2 workers, server and load sharing both CPUs"
        start_server "$dir" 2 "$SERVER_CPU,$LOAD_CPU"
        for r in $(seq "$REPEATS"); do
            run_load "$dir" "names=$names workers=2" "$SERVER_CPU,$LOAD_CPU" --no-verify --rate "$RATE" \
                --duration "$SECONDS_SAT"
        done
        stop_server
    fi
done

# ---- 3: 100 zones, 10,000 names: load, memory, reload under load ------------------------------
dir="$WORK/big"
python3 tools/scale/gen-scale-config.py "$dir" --zones 100 --names 10000 --mmdb "$MMDB" --port "$PORT"
write_queries "$dir" 100 10000
(cd "$dir" && /usr/bin/time -o "$dir/check.time" -f "%e %M" "$MERIDIAND" --check -c meridian.toml >/dev/null 2>&1)
check=$(tail -1 "$dir/check.time")
start_server "$dir" 1 "$SERVER_CPU"
serving_rss=$(awk '/VmRSS/ {print $2}' /proc/"$SERVER_PID"/status)
run_load "$dir" "reload 100 zones" "$LOAD_CPU" --no-verify --rate 50000 --duration 6 &
load=$!
sleep 2
reloads_before=$(grep -c "reloaded" "$dir/stderr.log" || true)
start_ns=$(date +%s%N)
kill -HUP "$SERVER_PID"
while [ "$(grep -c "reloaded" "$dir/stderr.log" || true)" = "$reloads_before" ]; do
    sleep 0.01
    if [ $(( ($(date +%s%N) - start_ns) / 1000000 )) -gt 30000 ]; then say "no reload within 30 s"; break; fi
done
reload_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
wait "$load"
after_rss=$(awk '/VmRSS/ {print $2}' /proc/"$SERVER_PID"/status)
stop_server
printf '{"label":"big","check_s":%s,"check_max_rss_kb":%s,"serving_rss_kb":%s,"reload_ms":%s,"rss_after_reload_kb":%s}\n' \
    "${check% *}" "${check#* }" "$serving_rss" "$reload_ms" "$after_rss" >>"$RESULTS"

python3 - "$RESULTS" <<'EOF' | tee "$OUT/table.txt"
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
runs = {}
for r in rows:
    if "answered_qps" in r and not r["label"].startswith(("verify", "reload")):
        runs.setdefault(r["label"], []).append(r)
print("| names, workers | answered q/s (median) | server CPU µs per answer | user µs | lost |")
print("|---|---:|---:|---:|---:|")
for label, rs in runs.items():
    med = statistics.median
    print(f"| {label} | {med(x['answered_qps'] for x in rs):,.0f} | {med(x['server_cpu_us_per_answer'] for x in rs):.2f} |"
          f" {med(x['server_user_us'] / max(1, x['answered']) for x in rs):.2f} | {med(x['lost'] for x in rs):,.0f} |")
big = next(r for r in rows if r["label"] == "big")
reload_run = next(r for r in rows if r["label"] == "reload 100 zones")
print()
print(f"100 zones, 10,000 names: --check {big['check_s']} s, max RSS {big['check_max_rss_kb'] / 1024:.1f} MB; "
      f"serving RSS {big['serving_rss_kb'] / 1024:.1f} MB; reload under 50k q/s {big['reload_ms']} ms "
      f"(log polled every 10 ms), RSS after {big['rss_after_reload_kb'] / 1024:.1f} MB; "
      f"queries during the reload run: {reload_run['sent']:,} sent, {reload_run['lost']:,} lost, "
      f"{reload_run['unexpected_rcode']:,} with an unexpected rcode")
EOF
say "results in $OUT"
