#!/usr/bin/env python3
"""Checks that every #include in src/ points down the layer graph that src/CMakeLists.txt declares.

Each `meridian_layer(NAME ... DEPENDS a b c ...)` call declares a layer and the layers it links;
a file in src/NAME/ may include its own layer's headers and those of any layer it reaches through
DEPENDS. main.cpp may include what meridiand links. Prints every violation as
`file:line: layer X includes Y/…, which it does not link` and exits 1 if there is any.
`--graph` prints the declared graph instead (for docs/ARCHITECTURE.md).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

INCLUDE = re.compile(r'^\s*#\s*include\s*"([a-z_]+)/[^"]+"', re.MULTILINE)


def declared_layers(cmake: str) -> dict[str, list[str]]:
    layers: dict[str, list[str]] = {}
    for call in re.finditer(r"^meridian_layer\(\s*(\w+)(.*?)\)", cmake, re.DOTALL | re.MULTILINE):
        name, body = call.group(1), call.group(2)
        deps = re.search(r"DEPENDS((?:\s+\w+)+?)\s*(?:LIBRARIES|SOURCES|$)", body + " ")
        layers[name] = deps.group(1).split() if deps else []
    return layers


def reachable(layers: dict[str, list[str]], start: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        layer = todo.pop()
        if layer in seen:
            continue
        seen.add(layer)
        todo.extend(layers.get(layer, []))
    return seen


def main() -> int:
    # --src DIR checks another tree (the tests check a copy with an upward include planted).
    SRC = Path(sys.argv[sys.argv.index("--src") + 1]) if "--src" in sys.argv else Path(__file__).resolve().parents[1] / "src"
    cmake = (SRC / "CMakeLists.txt").read_text()
    layers = declared_layers(cmake)
    if "--graph" in sys.argv:
        for name, deps in layers.items():
            print(f"{name:8} → {', '.join(deps) if deps else '(nothing)'}")
        return 0
    problems = []
    unknown = [d for deps in layers.values() for d in deps if d not in layers]
    problems += [f"src/CMakeLists.txt: DEPENDS names {d}, which is no layer" for d in unknown]
    for folder in sorted(p for p in SRC.iterdir() if p.is_dir()):
        if folder.name not in layers:
            problems.append(f"src/{folder.name}/: a folder that is not a declared layer")
            continue
        allowed = reachable(layers, [folder.name])
        for path in sorted(folder.rglob("*.[ch]pp")):
            text = path.read_text()
            for match in INCLUDE.finditer(text):
                target = match.group(1)
                if target in layers and target not in allowed:
                    line = text.count("\n", 0, match.start()) + 1
                    problems.append(f"{path.relative_to(SRC.parent)}:{line}: layer {folder.name} includes "
                                    f"{target}/…, which it does not link")
    main_links = re.search(r"target_link_libraries\(meridiand PRIVATE([^)]*)\)", cmake)
    main_layers = [w.removeprefix("meridian_") for w in main_links.group(1).split()] if main_links else []
    allowed = reachable(layers, main_layers)
    text = (SRC / "main.cpp").read_text()
    for match in INCLUDE.finditer(text):
        if match.group(1) not in allowed:
            line = text.count("\n", 0, match.start()) + 1
            problems.append(f"src/main.cpp:{line}: includes {match.group(1)}/…, which meridiand does not link")
    for problem in problems:
        print(problem)
    if not problems:
        print(f"layers: {len(layers)} layers, every include points down")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
