"""Reading meridiand's compiler-style diagnostics (`path:line:column: message`): where a text
sits in a file, the error lines of stderr, and whether a reported path is the expected file.
Running `meridiand --check` is meridian_server.run_check's job."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional


def line_col(text: str, needle: str, occurrence: int = 1):
    """1-based (line, column) where `needle` starts in `text` (the n-th occurrence)."""
    pos = -1
    for _ in range(occurrence):
        pos = text.index(needle, pos + 1)
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, col


ERROR_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<msg>.+)$")


def parse_errors(stderr: str) -> list:
    """[(path, line, col, message)] for every `path:line:column: message` line of stderr."""
    out = []
    for text in stderr.splitlines():
        m = ERROR_LINE.match(text.strip())
        if m:
            out.append((m["path"], int(m["line"]), int(m["col"]), m["msg"]))
    return out


def same_file(reported: str, expected: Path, base: Optional[Path] = None) -> bool:
    p = Path(reported)
    if not p.is_absolute() and base is not None and (base / p).exists():
        p = base / p
    try:
        return p.resolve() == expected.resolve()
    except OSError:
        return False
