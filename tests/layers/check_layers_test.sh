#!/bin/sh
# tools/check-layers.py passes on src/ as it is, and fails, naming the file and line, on a copy
# where the health layer includes a steer header.
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
python3 "$repo/tools/check-layers.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$repo/src" "$tmp/src"
printf '#include "steer/policy.hpp"\n' >> "$tmp/src/health/state.hpp"
if out=$(python3 "$repo/tools/check-layers.py" --src "$tmp/src"); then
  echo "check-layers.py accepted an upward include"; exit 1
fi
echo "$out" | grep -q "src/health/state.hpp:[0-9]*: layer health includes steer/" || { echo "unexpected: $out"; exit 1; }
echo "check-layers.py refused the planted include: $out"
