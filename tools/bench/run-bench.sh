#!/usr/bin/env bash
# make bench: Meridian against gdnsd, Knot (+geoip), NSD and a do-nothing reflector, in one run on
# this machine (issue 6, docs/PERFORMANCE.md).
#
# Every server serves the same zone (bench.example.com: static www, steered app by continent,
# NXDOMAIN below) from the same MaxMind DB, built here from geoip/test-geo.csv with the
# project's mmdb-build, on its own loopback port, with one worker pinned to one core; the load
# generator runs on the other core. Answers are verified first: a server that answers wrong is
# not reported. Then, interleaved across servers so drift hits all alike:
#   - saturation: open loop at BENCH_SAT_RATE (600k q/s) for BENCH_SECONDS × BENCH_REPEATS, median;
#   - moderate rates (BENCH_RATES, 50k and 100k q/s) for latency and loss;
#   - TCP: BENCH_TCP_CONNECTIONS connections × BENCH_TCP_INFLIGHT queries in flight.
# Results: $BENCH_OUT/results.jsonl (one loadgen JSON line a run) and $BENCH_OUT/table.txt.
#
# Before and after in one run: BENCH_BASELINE=path/to/an/older/meridiand adds a server named
# `baseline`, configured exactly like `meridian` (same zone and configuration, validated with
# the baseline's own --check) and measured in the same interleaved loops, so report.py can set
# Meridian beside it repeat by repeat ("Meridian vs baseline (same run)").
#
# Environment (defaults in brackets):
#   BENCH_SECONDS [10]  BENCH_REPEATS [3]  BENCH_MODERATE_SECONDS [4]  BENCH_SAT_RATE [600000]
#   BENCH_RATES ["50000 100000"]  BENCH_SERVERS ["reflector meridian gdnsd knot nsd"]
#   BENCH_WORKLOADS ["static ecs noecs nxdomain tcp"]  BENCH_SERVER_CPU [1]  BENCH_LOAD_CPU [0]
#   BENCH_BASE_PORT [5390]  BENCH_INSTALL [1: apt-get the peers when root]  BENCH_DNSPERF [1]
#   BENCH_TCP_CONNECTIONS [8]  BENCH_TCP_INFLIGHT [32]  BUILD [build]  BENCH_OUT [$BUILD/bench/<time>]
#   BENCH_MERIDIAN_RCVBUF [unset: as shipped; else Meridian's [server] udp_receive_buffer]
#   BENCH_BASELINE [unset; else another meridiand: the server `baseline`, added to the default
#   BENCH_SERVERS (an explicit BENCH_SERVERS runs it only if it names it)]
#   BENCH_BASELINE_VERSION [git describe of the tree the baseline was built from]
#   BENCH_MERIDIAN_VERSION [git describe of the tree $BUILD was configured from]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
SECONDS_SAT=${BENCH_SECONDS:-10}
REPEATS=${BENCH_REPEATS:-3}
SECONDS_MOD=${BENCH_MODERATE_SECONDS:-4}
SAT_RATE=${BENCH_SAT_RATE:-600000}
RATES=${BENCH_RATES:-"50000 100000"}
BASELINE=${BENCH_BASELINE:-}
if [ -n "$BASELINE" ]; then
    case "$BASELINE" in /*) ;; *) BASELINE="$ROOT/$BASELINE" ;; esac  # relative: to the repository, like BUILD
    if [ ! -f "$BASELINE" ] || [ ! -x "$BASELINE" ]; then
        printf 'bench: BENCH_BASELINE=%s is not an executable file\n' "$BASELINE" >&2
        exit 2
    fi
fi
if [ -n "${BENCH_SERVERS:-}" ]; then
    SERVERS=$BENCH_SERVERS  # as listed: `baseline` runs only if named here
elif [ -n "$BASELINE" ]; then
    SERVERS="reflector meridian baseline gdnsd knot nsd"  # baseline right after meridian
else
    SERVERS="reflector meridian gdnsd knot nsd"
fi
WORKLOADS=${BENCH_WORKLOADS:-"static ecs noecs nxdomain tcp"}
SERVER_CPU=${BENCH_SERVER_CPU:-1}
LOAD_CPU=${BENCH_LOAD_CPU:-0}
BASE_PORT=${BENCH_BASE_PORT:-5390}
INSTALL=${BENCH_INSTALL:-1}
DNSPERF=${BENCH_DNSPERF:-1}
MERIDIAN_RCVBUF=${BENCH_MERIDIAN_RCVBUF:-}
TCP_CONNECTIONS=${BENCH_TCP_CONNECTIONS:-8}
TCP_INFLIGHT=${BENCH_TCP_INFLIGHT:-32}
OUT=${BENCH_OUT:-$BUILD/bench/$(date -u +%Y%m%dT%H%M%SZ)}
ZONE=bench.example.com
LOADGEN="$BUILD/bin/loadgen"
REFLECTOR="$BUILD/bin/reflector"
GEO_CSV="$ROOT/geoip/test-geo.csv"

say() { printf 'bench: %s\n' "$*" >&2; }

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /tmp/meridian-bench.XXXXXX)
RESULTS="$OUT/results.jsonl"
: >"$RESULTS"
: >"$OUT/skipped.txt"
declare -A PID PORT

cleanup() {
    for s in "${!PID[@]}"; do
        kill -TERM "${PID[$s]}" 2>/dev/null || true
    done
    for s in "${!PID[@]}"; do
        wait "${PID[$s]}" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

skip() {  # server reason
    say "skipping $1: $2"
    printf '%s\t%s\n' "$1" "$2" >>"$OUT/skipped.txt"
    # shellcheck disable=SC2086  # split on purpose: one server a line
    SERVERS=$(printf '%s\n' $SERVERS | grep -vx "$1" | tr '\n' ' ')
}

# ---- peers from Debian ---------------------------------------------------------------------
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
if [ "$INSTALL" = 1 ] && [ "$(id -u)" -eq 0 ]; then
    missing=""
    for p in gdnsd knot knot-module-geoip nsd dnsperf; do have_pkg "$p" || missing="$missing $p"; done
    if [ -n "$missing" ]; then
        say "installing$missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null || true
        # Installing must not start the system's own copies of the servers (port 53).
        own_policy=0
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
            chmod +x /usr/sbin/policy-rc.d
            own_policy=1
        fi
        for p in $missing; do
            # One at a time: a package this release lacks skips only its own part.
            apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 || say "cannot install $p"
        done
        [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    fi
fi

# ---- build ---------------------------------------------------------------------------------
if [ ! -d "$BUILD" ] || [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD" -j "$(nproc)" --target meridiand mmdb-build loadgen reflector >/dev/null
"$BUILD/bin/mmdb-build" --input "$GEO_CSV" --output "$WORK/geo.mmdb" --database-type GeoIP2-City \
    --description "Meridian bench database (geoip/test-geo.csv)" >/dev/null

# ---- the zone, for every server --------------------------------------------------------------
# continent -> address of app.bench.example.com; must match loadgen's default --steer.
STEER="EU=192.0.2.110 NA=198.51.100.10 SA=198.51.100.30 AF=192.0.2.140 AS=203.0.113.10 OC=203.0.113.30"
DEFAULT_A=198.51.100.99

port_of() {  # server
    local i=0
    for s in reflector meridian gdnsd knot nsd baseline; do
        [ "$s" = "$1" ] && { echo $((BASE_PORT + i)); return; }
        i=$((i + 1))
    done
}

zone_text() {  # with_default_app: the default A of app for servers that steer outside the zone file
    cat <<EOF
\$ORIGIN $ZONE.
\$TTL 300
@     3600 IN SOA ns1.$ZONE. hostmaster.$ZONE. 1 3600 600 1209600 60
@     3600 IN NS  ns1.$ZONE.
ns1   3600 IN A   192.0.2.53
www        IN A   192.0.2.10
EOF
    [ "$1" = 1 ] && echo "app    30 IN A   $DEFAULT_A"
    return 0
}

configure_meridian() {  # directory binary port: `meridian` and `baseline` alike
    local d=$1 bin=$2 port=$3
    mkdir -p "$d/zones"
    cp "$WORK/geo.mmdb" "$d/geo.mmdb"
    cat >"$d/meridian.toml" <<EOF
zones = ["zones"]
[listen]
udp = ["127.0.0.1:$port"]
tcp = ["127.0.0.1:$port"]
[server]
workers = 1
allow_root = true
tcp_max_connections_per_worker = 512
[admin]
listen = ""
[[geoip]]
path = "geo.mmdb"
EOF
    [ -n "$MERIDIAN_RCVBUF" ] && sed -i "s/^workers = 1$/workers = 1\nudp_receive_buffer = $MERIDIAN_RCVBUF/" "$d/meridian.toml"
    {
        cat <<EOF
origin = "$ZONE."
ttl = 300
records = """
@    3600 IN NS ns1
ns1  3600 IN A  192.0.2.53
www       IN A  192.0.2.10
"""
[soa]
primary = "ns1.$ZONE."
contact = "hostmaster.$ZONE."
serial = 1
refresh = 3600
retry = 600
expire = 1209600
negative_ttl = 60
ttl = 3600
EOF
        for pair in $STEER; do
            printf '\n[regions.%s]\naddresses = ["%s"]\n' "${pair%%=*}" "${pair#*=}"
        done
        printf '\n[regions.default]\naddresses = ["%s"]\n' "$DEFAULT_A"
        printf '\n[names.app]\nttl = 30\nanswers = 1\nstrategy = "failover"\n'
        for pair in $STEER; do
            printf '\n[[names.app.route]]\nwhen = { continent = "%s" }\nto = ["%s"]\n' "${pair%%=*}" "${pair%%=*}"
        done
        printf '\n[[names.app.route]]\nto = ["default"]\n'
    } >"$d/zones/$ZONE.toml"
    # The binary's own --check: an older baseline must accept this configuration as it is
    # (so it uses only keys that every meridiand measured here knows).
    "$bin" --check -c "$d/meridian.toml" >&2 || return 1
    echo "$bin -c $d/meridian.toml"
}

configure() {  # server port -> the command line that starts it
    case "$1" in
        meridian) configure_meridian "$WORK/meridian" "$BUILD/bin/meridiand" "$2" ;;
        baseline) configure_meridian "$WORK/baseline" "$BASELINE" "$2" ;;
        *) "configure_$1" "$2" ;;
    esac
}

configure_gdnsd() {
    local d="$WORK/gdnsd" port=$1
    mkdir -p "$d/zones" "$d/geoip" "$d/run" "$d/state"
    cp "$WORK/geo.mmdb" "$d/geoip/geo.mmdb"
    local dcs="" map="" dcmap=""
    for pair in $STEER; do
        local c=${pair%%=*}
        dcs="$dcs dc$c,"
        map="$map        $c => [dc$c]"$'\n'
        dcmap="$dcmap        dc$c => ${pair#*=}"$'\n'
    done
    cat >"$d/config" <<EOF
options => {
  listen => [ 127.0.0.1:$port ]
  udp_threads => 1
  tcp_threads => 1
  run_dir => $d/run
  state_dir => $d/state
}
plugins => {
  geoip => {
    maps => {
      bench => {
        geoip2_db => geo.mmdb
        datacenters => [$dcs dcdefault]
        map => {
          default => [dcdefault]
$map        }
      }
    }
    resources => {
      app => {
        map => bench
        service_types => up
        dcmap => {
$dcmap          dcdefault => $DEFAULT_A
        }
      }
    }
  }
}
EOF
    { zone_text 0; echo "app    30 DYNA geoip!app"; } >"$d/zones/$ZONE"
    gdnsd -c "$d" checkconf >/dev/null 2>"$d/checkconf.log" || { cat "$d/checkconf.log" >&2; return 1; }
    echo "gdnsd -c $d start"
}

configure_knot() {
    local d="$WORK/knot" port=$1
    mkdir -p "$d/run" "$d/db"
    cp "$WORK/geo.mmdb" "$d/geo.mmdb"
    {
        echo "app.$ZONE:"
        for pair in $STEER; do
            printf '  - geo: "%s"\n    A: %s\n' "${pair%%=*}" "${pair#*=}"
        done
    } >"$d/geo.conf"
    cat >"$d/knot.conf" <<EOF
server:
    listen: 127.0.0.1@$port
    rundir: $d/run
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    edns-client-subnet: on
database:
    storage: $d/db
log:
  - target: stderr
    any: warning
mod-geoip:
  - id: bench
    config-file: $d/geo.conf
    ttl: 30
    mode: geodb
    geodb-file: $d/geo.mmdb
    geodb-key: [ continent/code ]
template:
  - id: default
    storage: $d
    file: "%s.zone"
zone:
  - domain: $ZONE
    module: mod-geoip/bench
EOF
    zone_text 1 >"$d/$ZONE.zone"
    knotc -c "$d/knot.conf" conf-check >/dev/null 2>"$d/check.log" || { cat "$d/check.log" >&2; return 1; }
    echo "knotd -c $d/knot.conf"
}

configure_nsd() {
    local d="$WORK/nsd" port=$1
    mkdir -p "$d"
    cat >"$d/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$port
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "$d"
    database: ""
    pidfile: "$d/nsd.pid"
    xfrdfile: "$d/xfrd.state"
    zonelistfile: "$d/zone.list"
    logfile: "$d/nsd.log"
    verbosity: 0
    hide-version: yes
    # NSD's response rate limiting is on by default (200 q/s per /24): every source here is in
    # 127.0.0.0/24, so it would drop half the load and truncate the rest. Off, like the others.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: $ZONE
    zonefile: $ZONE.zone
EOF
    zone_text 1 >"$d/$ZONE.zone"
    nsd-checkconf "$d/nsd.conf" >&2 || return 1
    echo "nsd -d -c $d/nsd.conf"
}

configure_reflector() { echo "$REFLECTOR --listen 127.0.0.1:$1"; }

supports() {  # server workload
    case "$1:$2" in
        reflector:tcp) return 1 ;;
        nsd:ecs | nsd:noecs) return 1 ;;
    esac
    return 0
}

installed() {  # server: its programs (and Knot's geoip module) are there
    case "$1" in
        gdnsd) command -v gdnsd >/dev/null ;;
        knot) command -v knotd >/dev/null && command -v knotc >/dev/null && dpkg -L knot-module-geoip 2>/dev/null | grep -q 'geoip.*\.so$' ;;
        nsd) command -v nsd >/dev/null ;;
        baseline) [ -n "$BASELINE" ] ;;
        *) true ;;
    esac
}

loadgen_args() {  # workload -> the query set and transport flags
    case "$1" in
        tcp) echo "--gen static --tcp --connections $TCP_CONNECTIONS --inflight $TCP_INFLIGHT" ;;
        *) echo "--gen $1" ;;
    esac
}

run_load() {  # server workload mode rate seconds repeat
    local s=$1 w=$2 mode=$3 rate=$4 secs=$5 rep=$6 label
    label="server=$s workload=$w mode=$mode rate=$rate rep=$rep"
    # shellcheck disable=SC2046
    taskset -c "$LOAD_CPU" "$LOADGEN" --target "127.0.0.1:${PORT[$s]}" $(loadgen_args "$w") \
        --geo-csv "$GEO_CSV" --zone "$ZONE" --rate "$rate" --duration "$secs" \
        --timeout-ms 1000 --drain-ms 300 --no-verify --quiet \
        --server-pid "${PID[$s]}" --label "$label" >>"$RESULTS" ||
        say "loadgen failed: $label"
    tail -n 1 "$RESULTS" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
print("bench: %-58s answered %9.0f q/s  lost %9d  p99 %8.1f us  cpu %.2f us/q" % (r["label"], r["answered_qps"],
      r["lost"], r["latency_us"]["p99"], r["server_cpu_us_per_answer"]), file=sys.stderr)' || true
}

# ---- start every server ----------------------------------------------------------------------
for s in $SERVERS; do
    if ! installed "$s"; then
        if [ "$s" = baseline ]; then skip "$s" "BENCH_BASELINE is not set"; else skip "$s" "not installed"; fi
        continue
    fi
    PORT[$s]=$(port_of "$s")
    if ! cmd=$(configure "$s" "${PORT[$s]}"); then
        skip "$s" "its configuration does not load"
        continue
    fi
    say "starting $s on 127.0.0.1:${PORT[$s]} (cpu $SERVER_CPU): $cmd"
    # shellcheck disable=SC2086
    taskset -c "$SERVER_CPU" $cmd >"$OUT/$s.log" 2>&1 &
    PID[$s]=$!
done
sleep 1
for s in $SERVERS; do
    if ! kill -0 "${PID[$s]}" 2>/dev/null ||
        ! "$LOADGEN" --target "127.0.0.1:${PORT[$s]}" --gen static --wait-ready 10 --ready-only \
            >/dev/null 2>&1; then
        tail -n 20 "$OUT/$s.log" >&2 || true
        kill -TERM "${PID[$s]}" 2>/dev/null || true
        skip "$s" "did not start (see $OUT/$s.log)"
    fi
done

# Some servers pin their own worker threads (Knot binds UDP worker i to CPU i at start-up, which
# would put it on the load generator's core): pin every thread of every server process again.
for s in $SERVERS; do
    for p in ${PID[$s]} $(pgrep -P "${PID[$s]}" || true); do
        taskset -a -p -c "$SERVER_CPU" "$p" >/dev/null 2>&1 || true
        grep -H Cpus_allowed_list /proc/"$p"/task/*/status >>"$OUT/affinity-$s.txt" 2>/dev/null || true
    done
done

# ---- verify before timing ----------------------------------------------------------------------
for s in $SERVERS; do
    [ "$s" = reflector ] && continue  # echoes queries: nothing to verify
    for w in $WORKLOADS; do
        supports "$s" "$w" || continue
        # shellcheck disable=SC2046
        if ! "$LOADGEN" --target "127.0.0.1:${PORT[$s]}" $(loadgen_args "$w") --geo-csv "$GEO_CSV" --zone "$ZONE" \
            --verify-only --verify-max 400 >/dev/null 2>"$OUT/verify-$s-$w.txt"; then
            cat "$OUT/verify-$s-$w.txt" >&2
            skip "$s" "wrong answers for $w (see $OUT/verify-$s-$w.txt): not reported"
            kill -TERM "${PID[$s]}" 2>/dev/null || true
            break
        fi
        say "verified $s $w: $(head -n 1 "$OUT/verify-$s-$w.txt" | sed 's/^loadgen: //')"
    done
done

# git describe of the source tree a build was configured from (its CMakeCache.txt, looked for in
# DIR and the folders above it), else of the tree holding DIR.
build_version() {  # dir
    local d=$1 src=""
    while [ -n "$d" ] && [ "$d" != / ]; do
        if [ -f "$d/CMakeCache.txt" ]; then
            src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$d/CMakeCache.txt")
            break
        fi
        d=$(dirname "$d")
    done
    git -C "${src:-$1}" describe --always --dirty 2>/dev/null || echo unknown
}

{
    echo "{\"machine\": {\"cpu\": \"$(lscpu | sed -n 's/^Model name: *//p' | head -1)\", \"cpus\": $(nproc),"
    # shellcheck disable=SC1091  # the machine's own file, not ours to follow
    echo " \"kernel\": \"$(uname -r)\", \"os\": \"$(. /etc/os-release && echo "$PRETTY_NAME")\"},"
    echo " \"settings\": {\"seconds\": $SECONDS_SAT, \"repeats\": $REPEATS, \"moderate_seconds\": $SECONDS_MOD,"
    echo "  \"sat_rate\": $SAT_RATE, \"rates\": \"$RATES\", \"server_cpu\": $SERVER_CPU, \"load_cpu\": $LOAD_CPU,"
    echo "  \"tcp_connections\": $TCP_CONNECTIONS, \"tcp_inflight\": $TCP_INFLIGHT},"
    echo " \"versions\": {"
    printf '  "meridian": "%s",\n' "${BENCH_MERIDIAN_VERSION:-$(build_version "$BUILD")}"
    if [[ " $SERVERS " == *" baseline "* ]]; then
        printf '  "baseline": "%s",\n' "${BENCH_BASELINE_VERSION:-$(build_version "$(dirname "$BASELINE")")}"
    fi
    for p in gdnsd knot nsd dnsperf; do printf '  "%s": "%s",\n' "$p" "$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo none)"; done
    echo '  "-": ""},'
    printf ' "baseline_binary": "%s",\n' "$BASELINE"
    printf ' "servers": "%s", "skipped": %s}\n' "$SERVERS" \
        "$(python3 -c 'import json,sys; print(json.dumps([l.rstrip("\n") for l in open(sys.argv[1])]))' "$OUT/skipped.txt")"
} >"$OUT/meta.json"

# ---- timed runs, interleaved -----------------------------------------------------------------
say "saturation: $SAT_RATE q/s offered, $SECONDS_SAT s × $REPEATS; moderate: $RATES q/s, $SECONDS_MOD s"
for rep in $(seq 1 "$REPEATS"); do
    for w in $WORKLOADS; do
        for s in $SERVERS; do
            supports "$s" "$w" || continue
            rate=$SAT_RATE
            [ "$w" = tcp ] && rate=0  # closed loop per connection: as fast as the pipelines go
            run_load "$s" "$w" sat "$rate" "$SECONDS_SAT" "$rep"
        done
    done
done
for w in $WORKLOADS; do
    for rate in $RATES; do
        for s in $SERVERS; do
            supports "$s" "$w" || continue
            run_load "$s" "$w" fixed "$rate" "$SECONDS_MOD" 1
        done
    done
done

# ---- the load generator against dnsperf ------------------------------------------------------
if [ "$DNSPERF" = 1 ] && command -v dnsperf >/dev/null && [[ " $SERVERS " == *" meridian "* ]]; then
    rate=$(echo "$RATES" | awk '{print $1}')
    printf 'www.%s A\n' "$ZONE" >"$WORK/dnsperf-static.txt"
    dp() {  # label target-server extra-args...
        local label=$1 s=$2
        shift 2
        taskset -c "$LOAD_CPU" dnsperf -s 127.0.0.1 -p "${PORT[$s]}" -d "$WORK/dnsperf-static.txt" -l "$SECONDS_SAT" \
            -c 16 -e "$@" >"$OUT/dnsperf-$label.txt" 2>&1 || true
        python3 - "$OUT/dnsperf-$label.txt" "$label" "$s" >>"$OUT/dnsperf.jsonl" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
def num(pattern):
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None
print(json.dumps({"label": sys.argv[2], "server": sys.argv[3],
    "sent": num(r"Queries sent:\s+(\d+)"), "completed": num(r"Queries completed:\s+(\d+)"),
    "lost": num(r"Queries lost:\s+(\d+)"), "qps": num(r"Queries per second:\s+([\d.]+)"),
    "avg_latency_us": (num(r"Average Latency \(s\):\s+([\d.]+)") or 0) * 1e6,
    "max_latency_us": (num(r"Average Latency \(s\):.*max ([\d.]+)") or 0) * 1e6}))
PY
    }
    say "dnsperf at $rate q/s against meridian, then loadgen at the same rate"
    dp "fixed-$rate" meridian -Q "$rate"
    run_load meridian static dnsperf-check "$rate" "$SECONDS_SAT" 1
    say "dnsperf unbounded (-q 500) against the reflector and meridian"
    dp "max-reflector" reflector -q 500
    dp "max-meridian" meridian -q 500
fi

python3 "$ROOT/tools/bench/report.py" "$OUT" | tee "$OUT/table.txt"
say "results in $OUT"
