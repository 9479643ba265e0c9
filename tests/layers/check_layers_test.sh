#!/bin/sh
# tools/check-layers.py passes on src/ as it is, and fails, naming the file and line, on a copy
# where the health layer includes a steer header; docs/ARCHITECTURE.md's table is the declared graph.
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

# docs/ARCHITECTURE.md's table is the graph src/CMakeLists.txt declares, row for row.
python3 - "$repo" <<'PY'
import re, subprocess, sys
repo = sys.argv[1]
graph = {}
for line in subprocess.run([sys.executable, f"{repo}/tools/check-layers.py", "--graph"], check=True,
                           capture_output=True, text=True).stdout.splitlines():
    layer, _, links = line.partition("→")
    graph[layer.strip()] = set() if "(nothing)" in links else {x.strip() for x in links.split(",")}
doc = {}
for layers, links in re.findall(r"^\| ([a-z, ]+) \| ([a-z, ]+) \|$", open(f"{repo}/docs/ARCHITECTURE.md").read(), re.M):
    if layers == "layer":
        continue
    for layer in layers.split(", "):
        doc[layer] = set() if links == "nothing of ours" else set(links.split(", "))
if doc != graph:
    for layer in sorted(set(doc) | set(graph)):
        if doc.get(layer) != graph.get(layer):
            print(f"docs/ARCHITECTURE.md: layer {layer}: the table says {sorted(doc.get(layer, []))}, "
                  f"src/CMakeLists.txt declares {sorted(graph.get(layer, []))}")
    sys.exit(1)
print(f"docs/ARCHITECTURE.md draws the declared graph ({len(graph)} layers)")
PY
