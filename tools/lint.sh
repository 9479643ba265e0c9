#!/usr/bin/env bash
# make lint (and the first step of make test): clang-format (.clang-format) and clang-tidy (.clang-tidy)
# over the sources in src/ and tools/. Prints every finding and exits 1 if there is any; changes no file.
#
# Usage: tools/lint.sh [BUILD_DIR [PATH...]]
#   BUILD_DIR  a configured build with compile_commands.json, relative to the repository root
#              [build]; its .o.d files (after a build)
#              let clang-tidy skip a file that passed before and whose inputs are unchanged since
#   PATH       directories or files to check [src tools]
# Environment: CLANG_FORMAT, CLANG_TIDY [the plain names, else the -14 or -16 ones], JOBS [nproc],
#   LINT_CACHE [1; 0 runs clang-tidy on every file]
# To fix formatting: clang-format -i FILE...
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

build=${1:-build}
[ $# -gt 0 ] && shift
paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=(src tools)
jobs=${JOBS:-$(nproc)}

pick() {
    for candidate in "$@"; do
        if command -v "$candidate" >/dev/null 2>&1; then
            echo "$candidate"
            return
        fi
    done
    echo "lint: none of $* is installed (tools/install-deps.sh installs them)" >&2
    exit 2
}
clang_format=${CLANG_FORMAT:-$(pick clang-format clang-format-14 clang-format-16)}
clang_tidy=${CLANG_TIDY:-$(pick clang-tidy clang-tidy-14 clang-tidy-16)}
pick "$clang_format" >/dev/null
pick "$clang_tidy" >/dev/null

if [ ! -f "$build/compile_commands.json" ]; then
    echo "lint: $build/compile_commands.json not found: configure the build first (make build)" >&2
    exit 2
fi

mapfile -t sources < <(find "${paths[@]}" -type f \( -name '*.cpp' -o -name '*.hpp' \) | sort)
mapfile -t units < <(printf '%s\n' "${sources[@]}" | grep '\.cpp$' || true)
if [ ${#sources[@]} -eq 0 ]; then
    echo "lint: no C++ sources under ${paths[*]}" >&2
    exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
touch "$tmp/start"  # stamps get this time, so an edit made while lint runs is checked next time
status=0

# --- clang-format ----------------------------------------------------------------------------------
"$clang_format" --dry-run --Werror "${sources[@]}" 2>"$tmp/format.txt" >/dev/null || true
if [ -s "$tmp/format.txt" ]; then
    status=1
    cat "$tmp/format.txt"
    echo
    echo "lint: clang-format would change these files (warnings per file; fix: clang-format -i FILE...):"
    grep -oE '^[^ :]+\.(cpp|hpp):[0-9]+:[0-9]+: (warning|error):' "$tmp/format.txt" | cut -d: -f1 |
        sort | uniq -c | sed 's/^/  /'
fi

# --- clang-tidy ------------------------------------------------------------------------------------
# A unit is skipped when its stamp is newer than everything it was checked against: itself and the
# headers it includes (its .o.d from the last build), .clang-tidy, compile_commands.json and
# clang-tidy itself. Without a .o.d it always runs.
cache="$build/lint-cache"
export root build clang_tidy tmp cache
# shellcheck disable=SC2317  # run by xargs through bash -c
tidy_one() {
    local unit=$1 stamp="$cache/$1.ok" out
    if [ "${LINT_CACHE:-1}" = 1 ] && [ -f "$stamp" ] && [ -f "$tmp/deps/$unit" ]; then
        local fresh=1 dep
        while IFS= read -r dep; do
            if [ ! -e "$dep" ] || [ "$dep" -nt "$stamp" ]; then
                fresh=0
                break
            fi
        done <"$tmp/deps/$unit"
        [ "$fresh" = 1 ] && return 0
    fi
    out="$tmp/tidy/${unit//\//_}.txt"
    if "$clang_tidy" -p "$build" --quiet "$unit" >"$out" 2>&1 && ! grep -qE '(warning|error):' "$out"; then
        rm -f "$out"
        mkdir -p "$(dirname "$stamp")"
        touch -r "$tmp/start" "$stamp"
    else
        rm -f "$stamp"
    fi
}
export -f tidy_one

mkdir -p "$tmp/tidy" "$tmp/deps"
if [ ${#units[@]} -gt 0 ]; then
    # Each unit's inputs, from the dependency files the build wrote next to its objects.
    python3 - "$build/compile_commands.json" "$tmp/deps" "$root" "$(command -v "$clang_tidy")" "${units[@]}" <<'EOF'
import json, os, sys
db_path, out_dir, root, tidy, *units = sys.argv[1:]
wanted = {os.path.join(root, u): u for u in units}
common = [os.path.join(root, ".clang-tidy"), os.path.abspath(db_path), os.path.realpath(tidy)]
deps = {}
for entry in json.load(open(db_path)):
    unit = wanted.get(os.path.normpath(os.path.join(entry["directory"], entry["file"])))
    args = entry.get("arguments") or entry["command"].split()
    if unit is None or "-o" not in args:
        continue
    depfile = os.path.join(entry["directory"], args[args.index("-o") + 1] + ".d")
    if not os.path.exists(depfile):
        deps[unit] = None  # never built: no cache for this unit
        continue
    if unit in deps and deps[unit] is None:
        continue
    text = open(depfile).read().replace("\\\n", " ")
    files = text.split(":", 1)[1].split()
    deps.setdefault(unit, set()).update(os.path.normpath(os.path.join(entry["directory"], f)) for f in files)
for unit, files in deps.items():
    if files is None:
        continue
    path = os.path.join(out_dir, unit)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(sorted(files) + common) + "\n")
EOF
    # shellcheck disable=SC2016  # $0 is bash -c's, not ours
    printf '%s\0' "${units[@]}" | xargs -0 -n 1 -P "$jobs" bash -c 'tidy_one "$0"'
fi
if compgen -G "$tmp/tidy/*.txt" >/dev/null; then
    status=1
    # A header's findings appear once per unit that includes it: print each once.
    awk '
        FNR == 1 { show = 1 }
        /^[^ ]+:[0-9]+:[0-9]+: (warning|error): / { show = !seen[$0]++ }
        /^[0-9]+ (warning|error)s? (generated|treated as)/ { next }
        show' "$tmp/tidy/"*.txt | sed "s|^$root/||" | tee "$tmp/tidy-all.txt"
    echo
    echo "lint: clang-tidy findings by check:"
    grep -oE '^[^ ]+:[0-9]+:[0-9]+: (warning|error): .*\[[a-z0-9.,-]+\]$' "$tmp/tidy-all.txt" |
        grep -oE '\[[a-z0-9.,-]+\]$' | sed 's/,-warnings-as-errors//' | sort | uniq -c | sort -rn | sed 's/^/  /'
fi

if [ $status = 0 ]; then
    echo "lint: clean (${#sources[@]} files formatted, ${#units[@]} units tidy)"
fi
exit $status
