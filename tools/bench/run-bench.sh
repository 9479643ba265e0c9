#!/usr/bin/env bash
# make bench: Meridian against gdnsd, Knot (+geoip), NSD and a do-nothing reflector, in one run on
# this machine (issue 6, docs/PERFORMANCE.md); signed, against Knot (+geoip +onlinesign) and
# PowerDNS (geoip backend with DNSSEC).
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
# DNSSEC: the workloads signed-static and signed-ecs (static's and ecs's queries with DO set;
# signed-noecs and signed-nxdomain too, on request) run against a second process of each server
# that serves the same zone signed with one ECDSA P-256 CSK: `meridian` (a [dnssec] zone, its key
# made by `meridiand keygen`, [dnssec] server settings as shipped), `knot` (mod-geoip, then
# mod-onlinesign, a CSK policy), `pdns` (the geoip backend, `pdnsutil secure-zone`; signed
# workloads only). Answers must carry RRSIGs. A warm-up pass fills the signature caches before
# timing. The pseudo-workload `signing` (Meridian only) starts a fresh signed meridiand with the
# budget out of the way (signatures_per_second 10,000,000), fills its cache with
# BENCH_SIGNING_FILL distinct denials (random names, each one signature) at a rate it keeps up
# with, reading the cache's entries and bytes from /metrics and the process's RSS before and
# after; then offers BENCH_SIGNING_RATE q/s of names never asked before for BENCH_SECONDS ×
# BENCH_REPEATS: signatures made per second on a cold cache (/metrics, `signed`). Results:
# $BENCH_OUT/signing.jsonl and, for the signed workloads' Meridian runs, $BENCH_OUT/dnssec.jsonl
# (its signature counters over each run: how warm the cache was).
#
# Before and after in one run: BENCH_BASELINE=path/to/an/older/meridiand adds a server named
# `baseline`, configured exactly like `meridian` (same zone and configuration, validated with
# the baseline's own --check) and measured in the same interleaved loops, so report.py can set
# Meridian beside it repeat by repeat ("Meridian vs baseline (same run)").
#
# Environment (defaults in brackets):
#   BENCH_SECONDS [10]  BENCH_REPEATS [3]  BENCH_MODERATE_SECONDS [4]  BENCH_SAT_RATE [600000]
#   BENCH_RATES ["50000 100000"]  BENCH_SERVERS ["reflector meridian gdnsd knot nsd pdns"]
#   BENCH_WORKLOADS ["static ecs noecs nxdomain tcp signed-static signed-ecs signing"]
#   BENCH_SERVER_CPU [1]  BENCH_LOAD_CPU [0]
#   BENCH_BASE_PORT [5390]  BENCH_INSTALL [1: apt-get the peers when root]  BENCH_DNSPERF [1]
#   BENCH_TCP_CONNECTIONS [8]  BENCH_TCP_INFLIGHT [32]  BUILD [build]  BENCH_OUT [$BUILD/bench/<time>]
#   BENCH_MERIDIAN_RCVBUF [unset: as shipped; else Meridian's [server] udp_receive_buffer]
#   BENCH_BASELINE [unset; else another meridiand: the server `baseline`, added to the default
#   BENCH_SERVERS (an explicit BENCH_SERVERS runs it only if it names it)]
#   BENCH_BASELINE_VERSION [git describe of the tree the baseline was built from]
#   BENCH_MERIDIAN_VERSION [git describe of the tree $BUILD was configured from]
#   BENCH_SIGNING_FILL [100000]  BENCH_SIGNING_FILL_RATE [20000]  BENCH_SIGNING_RATE [150000]
#   BENCH_BUILD [1; 0: use the binaries in $BUILD/bin as they are, build nothing]
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
    SERVERS="reflector meridian baseline gdnsd knot nsd pdns"  # baseline right after meridian
else
    SERVERS="reflector meridian gdnsd knot nsd pdns"
fi
WORKLOADS=${BENCH_WORKLOADS:-"static ecs noecs nxdomain tcp signed-static signed-ecs signing"}
SERVER_CPU=${BENCH_SERVER_CPU:-1}
LOAD_CPU=${BENCH_LOAD_CPU:-0}
BASE_PORT=${BENCH_BASE_PORT:-5390}
INSTALL=${BENCH_INSTALL:-1}
DNSPERF=${BENCH_DNSPERF:-1}
MERIDIAN_RCVBUF=${BENCH_MERIDIAN_RCVBUF:-}
TCP_CONNECTIONS=${BENCH_TCP_CONNECTIONS:-8}
TCP_INFLIGHT=${BENCH_TCP_INFLIGHT:-32}
SIGNING_FILL=${BENCH_SIGNING_FILL:-100000}
SIGNING_FILL_RATE=${BENCH_SIGNING_FILL_RATE:-20000}
SIGNING_RATE=${BENCH_SIGNING_RATE:-150000}
BUILD_FIRST=${BENCH_BUILD:-1}
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
: >"$OUT/dnssec.jsonl"
: >"$OUT/signing.jsonl"
# Each server runs as one or two processes, its instances: SERVER for the unsigned workloads,
# SERVER-dnssec (the same zone, signed) for the signed-* ones. PID and PORT are by instance.
declare -A PID PORT
INSTANCES=""

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
    SERVERS=$(printf '%s\n' $SERVERS | { grep -vx "$1" || true; } | tr '\n' ' ')
    # shellcheck disable=SC2086
    INSTANCES=$(printf '%s\n' $INSTANCES | { grep -vx -e "$1" -e "$1-dnssec" || true; } | tr '\n' ' ')
}

# An instance's failure drops only the workloads it serves (SERVER-dnssec: the signed ones).
skip_instance() {  # instance reason
    local name=$1
    case "$1" in *-dnssec) name="${1%-dnssec} (signed workloads)" ;; esac
    say "skipping $name: $2"
    printf '%s\t%s\n' "$name" "$2" >>"$OUT/skipped.txt"
    # shellcheck disable=SC2086
    INSTANCES=$(printf '%s\n' $INSTANCES | { grep -vx "$1" || true; } | tr '\n' ' ')
}

# ---- peers from Debian ---------------------------------------------------------------------
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
if [ "$INSTALL" = 1 ] && [ "$(id -u)" -eq 0 ]; then
    missing=""
    for p in gdnsd knot knot-module-geoip nsd dnsperf pdns-server pdns-backend-geoip; do
        have_pkg "$p" || missing="$missing $p"
    done
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
if [ "$BUILD_FIRST" != 0 ]; then
    if [ ! -d "$BUILD" ] || [ ! -f "$BUILD/CMakeCache.txt" ]; then
        cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    fi
    cmake --build "$BUILD" -j "$(nproc)" --target meridiand mmdb-build loadgen reflector >/dev/null
fi
"$BUILD/bin/mmdb-build" --input "$GEO_CSV" --output "$WORK/geo.mmdb" --database-type GeoIP2-City \
    --description "Meridian bench database (geoip/test-geo.csv)" >/dev/null

# ---- the zone, for every server --------------------------------------------------------------
# continent -> address of app.bench.example.com; must match loadgen's default --steer.
STEER="EU=192.0.2.110 NA=198.51.100.10 SA=198.51.100.30 AF=192.0.2.140 AS=203.0.113.10 OC=203.0.113.30"
DEFAULT_A=198.51.100.99

port_of() {  # instance: BENCH_BASE_PORT + its place in this list
    local i=0
    for s in reflector meridian gdnsd knot nsd baseline pdns-dnssec meridian-dnssec knot-dnssec \
        baseline-dnssec meridian-signing meridian-dnssec-admin meridian-signing-admin; do
        [ "$s" = "$1" ] && { echo $((BASE_PORT + i)); return; }
        i=$((i + 1))
    done
}

is_signed() { case "$1" in signed-*) return 0 ;; esac; return 1; }

instance_of() {  # server workload -> the instance that serves it
    if is_signed "$2"; then echo "$1-dnssec"; else echo "$1"; fi
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

# `meridian` and `baseline` alike; signed=1: the zone has a [dnssec] table and a CSK made by the
# binary's own `keygen`; admin: the admin API's port ("": off); settings: the server's [dnssec]
# table ("": as shipped).
configure_meridian() {  # directory binary port [signed admin settings]
    local d=$1 bin=$2 port=$3 signed=${4:-0} admin=${5:-} settings=${6:-}
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
listen = "${admin:+127.0.0.1:$admin}"
[[geoip]]
path = "geo.mmdb"
EOF
    [ -n "$settings" ] && printf '\n[dnssec]\n%s\n' "$settings" >>"$d/meridian.toml"
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
        [ "$signed" = 1 ] && printf '\n[dnssec]\nkeys = "keys"\n'
    } >"$d/zones/$ZONE.toml"
    if [ "$signed" = 1 ]; then
        "$bin" keygen "$ZONE" --keys "$d/zones/keys" >/dev/null || return 1
    fi
    # The binary's own --check: an older baseline must accept this configuration as it is
    # (so it uses only keys that every meridiand measured here knows).
    "$bin" --check -c "$d/meridian.toml" >&2 || return 1
    echo "$bin -c $d/meridian.toml"
}

configure() {  # instance port -> the command line that starts it
    case "$1" in
        meridian) configure_meridian "$WORK/meridian" "$BUILD/bin/meridiand" "$2" ;;
        baseline) configure_meridian "$WORK/baseline" "$BASELINE" "$2" ;;
        meridian-dnssec)
            configure_meridian "$WORK/meridian-dnssec" "$BUILD/bin/meridiand" "$2" 1 "$(port_of meridian-dnssec-admin)" ;;
        baseline-dnssec) configure_meridian "$WORK/baseline-dnssec" "$BASELINE" "$2" 1 ;;
        knot-dnssec) configure_knot "$2" 1 ;;
        pdns-dnssec) configure_pdns "$2" ;;
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

# signed=1: mod-onlinesign after mod-geoip (it signs what geoip answers), with a policy of one
# ECDSA P-256 key (onlinesign always signs with a single key: a CSK), made at start in the KASP
# database under storage.
configure_knot() {  # port [signed]
    local port=$1 signed=${2:-0} d="$WORK/knot"
    [ "$signed" = 1 ] && d="$WORK/knot-dnssec"
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
EOF
    if [ "$signed" = 1 ]; then
        cat >>"$d/knot.conf" <<EOF
policy:
  - id: csk
    algorithm: ecdsap256sha256
    single-type-signing: on
mod-onlinesign:
  - id: bench
    policy: csk
zone:
  - domain: $ZONE
    module: [ mod-geoip/bench, mod-onlinesign/bench ]
EOF
    else
        printf 'zone:\n  - domain: %s\n    module: mod-geoip/bench\n' "$ZONE" >>"$d/knot.conf"
    fi
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

# PowerDNS: the geoip backend (YAML zone; the service app -> %cn.app, whose records answer it
# directly, not as a CNAME, since they are in the zone) with DNSSEC from its key directory and
# one CSK made by `pdnsutil secure-zone` (ECDSA P-256, its default). Denials: the backend's own
# narrow NSEC3 (white lies), signed online. One receiver, one distributor, one signing thread;
# the packet and query caches as shipped (ECS-aware). No security polling (no traffic off the
# machine).
configure_pdns() {  # port
    local d="$WORK/pdns-dnssec" port=$1
    mkdir -p "$d/keys" "$d/run"
    cp "$WORK/geo.mmdb" "$d/geo.mmdb"
    {
        cat <<EOF
domains:
- domain: $ZONE
  ttl: 300
  records:
    $ZONE:
      - soa: ns1.$ZONE hostmaster.$ZONE 1 3600 600 1209600 60
      - ns: {content: ns1.$ZONE, ttl: 3600}
    ns1.$ZONE:
      - a: {content: 192.0.2.53, ttl: 3600}
    www.$ZONE:
      - a: 192.0.2.10
EOF
        for pair in $STEER; do
            printf '    %s.app.%s:\n      - a: {content: %s, ttl: 30}\n' \
                "$(echo "${pair%%=*}" | tr '[:upper:]' '[:lower:]')" "$ZONE" "${pair#*=}"
        done
        # %cn of an address the database does not hold
        printf '    unknown.app.%s:\n      - a: {content: %s, ttl: 30}\n' "$ZONE" "$DEFAULT_A"
        printf '  services:\n    app.%s: %s\n' "$ZONE" "'%cn.app.$ZONE'"
    } >"$d/zones.yaml"
    cat >"$d/pdns.conf" <<EOF
launch=geoip
geoip-database-files=mmdb:$d/geo.mmdb
geoip-zones-file=$d/zones.yaml
geoip-dnssec-keydir=$d/keys
local-address=127.0.0.1
local-port=$port
socket-dir=$d/run
daemon=no
guardian=no
disable-syslog=yes
setuid=
setgid=
receiver-threads=1
distributor-threads=1
signing-threads=1
reuseport=no
edns-subnet-processing=yes
security-poll-suffix=
webserver=no
api=no
loglevel=4
EOF
    pdnsutil --config-dir="$d" secure-zone "$ZONE" >"$d/secure-zone.log" 2>&1 || { cat "$d/secure-zone.log" >&2; return 1; }
    echo "pdns_server --config-dir=$d"
}

configure_reflector() { echo "$REFLECTOR --listen 127.0.0.1:$1"; }

supports() {  # server workload
    case "$1:$2" in
        *:signing) return 1 ;;  # not a timed workload: measure_signing below
        reflector:tcp) return 1 ;;
        nsd:ecs | nsd:noecs) return 1 ;;
        # Signed: the servers that sign while answering; steered names need a server that steers.
        meridian:signed-* | baseline:signed-* | knot:signed-* | pdns:signed-*) return 0 ;;
        *:signed-*) return 1 ;;
        pdns:*) return 1 ;;  # PowerDNS is here for the signed workloads only
    esac
    return 0
}

# The server serves the workload and the instance that serves it is up.
serves() {  # server workload
    supports "$1" "$2" && [[ " $INSTANCES " == *" $(instance_of "$1" "$2") "* ]]
}

installed() {  # server: its programs (and Knot's geoip module, PowerDNS's geoip backend) are there
    case "$1" in
        gdnsd) command -v gdnsd >/dev/null ;;
        knot) command -v knotd >/dev/null && command -v knotc >/dev/null && dpkg -L knot-module-geoip 2>/dev/null | grep -q 'geoip.*\.so$' ;;
        nsd) command -v nsd >/dev/null ;;
        pdns) command -v pdns_server >/dev/null && command -v pdnsutil >/dev/null &&
            dpkg -L pdns-backend-geoip 2>/dev/null | grep -q 'libgeoipbackend\.so$' ;;
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

# Meridian's DNSSEC counters, cache and memory now, as JSON (its admin API's /metrics and
# /proc/PID/status): {"signed":…, "cached":…, "over_budget":…, "failed":…, "entries":…,
# "bytes":…, "evictions":…, "rss_kb":…}.
dnssec_snapshot() {  # admin-port pid
    python3 - "$1" "$2" <<'PY'
import json, re, sys, urllib.request
out = {}
try:
    text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
    for name, key in (('meridian_dnssec_signatures_total{result="signed"}', "signed"),
                      ('meridian_dnssec_signatures_total{result="cached"}', "cached"),
                      ('meridian_dnssec_signatures_total{result="over_budget"}', "over_budget"),
                      ('meridian_dnssec_signatures_total{result="failed"}', "failed"),
                      ("meridian_dnssec_cache_entries", "entries"), ("meridian_dnssec_cache_bytes", "bytes"),
                      ("meridian_dnssec_cache_evictions_total", "evictions")):
        m = re.search("^" + re.escape(name) + r" (\S+)$", text, re.M)
        out[key] = float(m.group(1)) if m else None
except OSError as e:
    out["error"] = str(e)
try:
    status = open(f"/proc/{sys.argv[2]}/status").read()
    out["rss_kb"] = int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))
except (OSError, AttributeError):
    out["rss_kb"] = None
print(json.dumps(out))
PY
}

run_load() {  # server workload mode rate seconds repeat
    local s=$1 w=$2 mode=$3 rate=$4 secs=$5 rep=$6 label i before=""
    i=$(instance_of "$s" "$w")
    label="server=$s workload=$w mode=$mode rate=$rate rep=$rep"
    [ "$i" = meridian-dnssec ] && before=$(dnssec_snapshot "$(port_of meridian-dnssec-admin)" "${PID[$i]}")
    # shellcheck disable=SC2046
    taskset -c "$LOAD_CPU" "$LOADGEN" --target "127.0.0.1:${PORT[$i]}" $(loadgen_args "$w") \
        --geo-csv "$GEO_CSV" --zone "$ZONE" --rate "$rate" --duration "$secs" \
        --timeout-ms 1000 --drain-ms 300 --no-verify --quiet \
        --server-pid "${PID[$i]}" --label "$label" >>"$RESULTS" ||
        say "loadgen failed: $label"
    if [ -n "$before" ]; then  # how warm Meridian's signature cache was over this run
        printf '{"label": "%s", "before": %s, "after": %s}\n' "$label" "$before" \
            "$(dnssec_snapshot "$(port_of meridian-dnssec-admin)" "${PID[$i]}")" >>"$OUT/dnssec.jsonl"
    fi
    tail -n 1 "$RESULTS" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
print("bench: %-58s answered %9.0f q/s  lost %9d  p99 %8.1f us  cpu %.2f us/q" % (r["label"], r["answered_qps"],
      r["lost"], r["latency_us"]["p99"], r["server_cpu_us_per_answer"]), file=sys.stderr)' || true
}

# The instances the workloads need, in the order of BENCH_SERVERS.
for s in $SERVERS; do
    for w in $WORKLOADS; do
        supports "$s" "$w" || continue
        i=$(instance_of "$s" "$w")
        [[ " $INSTANCES " == *" $i "* ]] || INSTANCES="$INSTANCES $i"
    done
done

# ---- start every server ----------------------------------------------------------------------
for s in $SERVERS; do
    if ! installed "$s"; then
        if [ "$s" = baseline ]; then skip "$s" "BENCH_BASELINE is not set"; else skip "$s" "not installed"; fi
        continue
    fi
done
for i in $INSTANCES; do
    PORT[$i]=$(port_of "$i")
    if ! cmd=$(configure "$i" "${PORT[$i]}"); then
        skip_instance "$i" "its configuration does not load"
        continue
    fi
    say "starting $i on 127.0.0.1:${PORT[$i]} (cpu $SERVER_CPU): $cmd"
    # shellcheck disable=SC2086
    taskset -c "$SERVER_CPU" $cmd >"$OUT/$i.log" 2>&1 &
    PID[$i]=$!
done
sleep 1
for i in $INSTANCES; do
    if ! kill -0 "${PID[$i]}" 2>/dev/null ||
        ! "$LOADGEN" --target "127.0.0.1:${PORT[$i]}" --gen static --wait-ready 10 --ready-only \
            >/dev/null 2>&1; then
        tail -n 20 "$OUT/$i.log" >&2 || true
        kill -TERM "${PID[$i]}" 2>/dev/null || true
        skip_instance "$i" "did not start (see $OUT/$i.log)"
    fi
done

# Some servers pin their own worker threads (Knot binds UDP worker i to CPU i at start-up, which
# would put it on the load generator's core): pin every thread of every server process again.
pin() {  # instance
    for p in ${PID[$1]} $(pgrep -P "${PID[$1]}" || true); do
        taskset -a -p -c "$SERVER_CPU" "$p" >/dev/null 2>&1 || true
        grep -H Cpus_allowed_list /proc/"$p"/task/*/status >>"$OUT/affinity-$1.txt" 2>/dev/null || true
    done
}
for i in $INSTANCES; do pin "$i"; done

# ---- verify before timing ----------------------------------------------------------------------
for s in $SERVERS; do
    [ "$s" = reflector ] && continue  # echoes queries: nothing to verify
    for w in $WORKLOADS; do
        serves "$s" "$w" || continue
        i=$(instance_of "$s" "$w")
        # shellcheck disable=SC2046
        if ! "$LOADGEN" --target "127.0.0.1:${PORT[$i]}" $(loadgen_args "$w") --geo-csv "$GEO_CSV" --zone "$ZONE" \
            --verify-only --verify-max 400 >/dev/null 2>"$OUT/verify-$s-$w.txt"; then
            cat "$OUT/verify-$s-$w.txt" >&2
            skip_instance "$i" "wrong answers for $w (see $OUT/verify-$s-$w.txt): not reported"
            kill -TERM "${PID[$i]}" 2>/dev/null || true
            continue
        fi
        say "verified $s $w: $(head -n 1 "$OUT/verify-$s-$w.txt" | sed 's/^loadgen: //')"
    done
done

# ---- warm the signature caches -------------------------------------------------------------------
# Every distinct query of the signed workloads a few times over, slowly, so the timed runs see
# warm caches (signed-nxdomain's 100,000 names are left cold: that is what it measures).
for w in $WORKLOADS; do
    if ! is_signed "$w" || [ "$w" = signed-nxdomain ]; then continue; fi
    for s in $SERVERS; do
        serves "$s" "$w" || continue
        i=$(instance_of "$s" "$w")
        # shellcheck disable=SC2046
        taskset -c "$LOAD_CPU" "$LOADGEN" --target "127.0.0.1:${PORT[$i]}" $(loadgen_args "$w") --geo-csv "$GEO_CSV" \
            --zone "$ZONE" --rate 20000 --count 4000 --duration 0 --no-verify --quiet >/dev/null ||
            say "warm-up failed: $s $w"
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

write_meta() {
    {
    echo "{\"machine\": {\"cpu\": \"$(lscpu | sed -n 's/^Model name: *//p' | head -1)\", \"cpus\": $(nproc),"
    # shellcheck disable=SC1091  # the machine's own file, not ours to follow
    echo " \"kernel\": \"$(uname -r)\", \"os\": \"$(. /etc/os-release && echo "$PRETTY_NAME")\"},"
    echo " \"settings\": {\"seconds\": $SECONDS_SAT, \"repeats\": $REPEATS, \"moderate_seconds\": $SECONDS_MOD,"
    echo "  \"sat_rate\": $SAT_RATE, \"rates\": \"$RATES\", \"server_cpu\": $SERVER_CPU, \"load_cpu\": $LOAD_CPU,"
    echo "  \"tcp_connections\": $TCP_CONNECTIONS, \"tcp_inflight\": $TCP_INFLIGHT,"
    echo "  \"signing_fill\": $SIGNING_FILL, \"signing_fill_rate\": $SIGNING_FILL_RATE, \"signing_rate\": $SIGNING_RATE},"
    echo " \"versions\": {"
    printf '  "meridian": "%s",\n' "${BENCH_MERIDIAN_VERSION:-$(build_version "$BUILD")}"
    if [[ " $SERVERS " == *" baseline "* ]]; then
        printf '  "baseline": "%s",\n' "${BENCH_BASELINE_VERSION:-$(build_version "$(dirname "$BASELINE")")}"
    fi
    for p in gdnsd knot nsd pdns-server dnsperf; do printf '  "%s": "%s",\n' "$p" "$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo none)"; done
    echo '  "-": ""},'
    printf ' "baseline_binary": "%s",\n' "$BASELINE"
    printf ' "servers": "%s", "instances": "%s", "skipped": %s}\n' "$SERVERS" "$INSTANCES" \
        "$(python3 -c 'import json,sys; print(json.dumps([l.rstrip("\n") for l in open(sys.argv[1])]))' "$OUT/skipped.txt")"
    } >"$OUT/meta.json"
}
write_meta  # again at the end, with what was skipped meanwhile

# ---- timed runs, interleaved -----------------------------------------------------------------
say "saturation: $SAT_RATE q/s offered, $SECONDS_SAT s × $REPEATS; moderate: $RATES q/s, $SECONDS_MOD s"
for rep in $(seq 1 "$REPEATS"); do
    for w in $WORKLOADS; do
        for s in $SERVERS; do
            serves "$s" "$w" || continue
            rate=$SAT_RATE
            [ "$w" = tcp ] && rate=0  # closed loop per connection: as fast as the pipelines go
            run_load "$s" "$w" sat "$rate" "$SECONDS_SAT" "$rep"
        done
    done
done
for w in $WORKLOADS; do
    for rate in $RATES; do
        for s in $SERVERS; do
            serves "$s" "$w" || continue
            run_load "$s" "$w" fixed "$rate" "$SECONDS_MOD" 1
        done
    done
done

# ---- Meridian: signing on a cold cache, and the signature cache's memory ------------------------
# A fresh signed meridiand (the same zone and key scheme as meridian-dnssec) whose budget does not
# cap signing, with cache_entries = BENCH_SIGNING_FILL. Each NXDOMAIN name is a compact denial:
# one NSEC signed for that name, one cache entry (the SOA's signature is made at load).
#   fill: before any signature is made while answering (the cache takes its memory then), then
#         BENCH_SIGNING_FILL distinct names at BENCH_SIGNING_FILL_RATE q/s (below what one core
#         signs); /metrics' cache entries and bytes and /proc's VmRSS before and after.
#   cold: BENCH_SIGNING_RATE q/s of names never asked before, BENCH_SECONDS × BENCH_REPEATS
#         (offered above what one core signs, so the figure is the signer's, not the offer's;
#         the cache is full by then, so every signature also evicts one).
measure_signing() {
    local i=meridian-signing port admin cmd
    port=$(port_of "$i")
    admin=$(port_of meridian-signing-admin)
    if ! cmd=$(configure_meridian "$WORK/$i" "$BUILD/bin/meridiand" "$port" 1 "$admin" \
        "cache_entries = $SIGNING_FILL"$'\n'"signatures_per_second = 10000000"); then
        skip_instance "$i" "its configuration does not load"
        return
    fi
    say "starting $i on 127.0.0.1:$port (cpu $SERVER_CPU): $cmd"
    # shellcheck disable=SC2086
    taskset -c "$SERVER_CPU" $cmd >"$OUT/$i.log" 2>&1 &
    PID[$i]=$!
    PORT[$i]=$port
    if ! "$LOADGEN" --target "127.0.0.1:$port" --gen static --wait-ready 10 --ready-only >/dev/null 2>&1; then
        tail -n 20 "$OUT/$i.log" >&2 || true
        skip_instance "$i" "did not start (see $OUT/$i.log)"
        return
    fi
    pin "$i"
    sleep 1
    step() {  # mode rep seed names count seconds rate
        local before after label="server=meridian workload=signing mode=$1 rate=$7 rep=$2"
        before=$(dnssec_snapshot "$admin" "${PID[$i]}")
        taskset -c "$LOAD_CPU" "$LOADGEN" --target "127.0.0.1:$port" --gen signed-nxdomain --seed "$3" \
            --nx-names "$4" --zone "$ZONE" --count "$5" --duration "$6" --rate "$7" --timeout-ms 1000 \
            --drain-ms 300 --no-verify --quiet --server-pid "${PID[$i]}" --label "$label" >"$WORK/signing-step.json" ||
            { say "loadgen failed: $label"; return; }
        sleep 0.5
        after=$(dnssec_snapshot "$admin" "${PID[$i]}")
        printf '{"mode": "%s", "rep": %s, "before": %s, "after": %s, "load": %s}\n' "$1" "$2" "$before" "$after" \
            "$(cat "$WORK/signing-step.json")" >>"$OUT/signing.jsonl"
        tail -n 1 "$OUT/signing.jsonl" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
b, a, l = r["before"], r["after"], r["load"]
signed = (a.get("signed") or 0) - (b.get("signed") or 0)
print("bench: %-58s answered %9.0f q/s  signed %9.0f/s  cache +%d entries +%d bytes  RSS +%d kB" % (l["label"],
      l["answered_qps"], signed / max(l["duration_s"], 1e-9), (a.get("entries") or 0) - (b.get("entries") or 0),
      (a.get("bytes") or 0) - (b.get("bytes") or 0), (a.get("rss_kb") or 0) - (b.get("rss_kb") or 0)), file=sys.stderr)' || true
    }
    say "signing: $SIGNING_FILL distinct denials at $SIGNING_FILL_RATE q/s; then new names at $SIGNING_RATE q/s, $SECONDS_SAT s × $REPEATS"
    step fill 1 11 "$SIGNING_FILL" "$SIGNING_FILL" 0 "$SIGNING_FILL_RATE"
    # Its denials are right and signed (50 names of their own, not the ones measured).
    if ! "$LOADGEN" --target "127.0.0.1:$port" --gen signed-nxdomain --seed 7 --nx-names 50 --zone "$ZONE" \
        --verify-only --verify-max 50 >/dev/null 2>"$OUT/verify-meridian-signing.txt"; then
        cat "$OUT/verify-meridian-signing.txt" >&2
        : >"$OUT/signing.jsonl"
        skip_instance meridian-signing "wrong answers for signed-nxdomain (see $OUT/verify-meridian-signing.txt): not reported"
        kill -TERM "${PID[$i]}" 2>/dev/null || true
        return
    fi
    local names
    names=$(python3 -c "import math,sys; print(math.ceil(float(sys.argv[1]) * float(sys.argv[2])) + 1000)" \
        "$SIGNING_RATE" "$SECONDS_SAT")
    for rep in $(seq 1 "$REPEATS"); do
        step cold "$rep" $((100 + rep)) "$names" 0 "$SECONDS_SAT" "$SIGNING_RATE"
    done
    kill -TERM "${PID[$i]}" 2>/dev/null || true
    wait "${PID[$i]}" 2>/dev/null || true
    unset 'PID[$i]'
}
if [[ " $WORKLOADS " == *" signing "* ]]; then
    if [[ " $SERVERS " == *" meridian "* ]]; then
        measure_signing
    else
        say "signing: measured for meridian only, which is not in BENCH_SERVERS"
    fi
fi
write_meta

# ---- the load generator against dnsperf ------------------------------------------------------
if [ "$DNSPERF" = 1 ] && command -v dnsperf >/dev/null && [[ " $INSTANCES " == *" meridian "* ]] &&
    serves meridian static; then
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
    [[ " $INSTANCES " == *" reflector "* ]] && dp "max-reflector" reflector -q 500
    dp "max-meridian" meridian -q 500
fi

python3 "$ROOT/tools/bench/report.py" "$OUT" | tee "$OUT/table.txt"
say "results in $OUT"
