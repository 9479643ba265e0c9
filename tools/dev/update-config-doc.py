#!/usr/bin/env python3
"""Regenerates docs/CONFIG.md's settings tables from the schema: replaces the block between the
BEGIN/END markers with the output of `meridiand --schema` (tests/unit/config/schema_test.cpp
fails until this has been run after a change to src/config/schema.hpp).

usage: tools/dev/update-config-doc.py [MERIDIAND]   (default: build/bin/meridiand)
"""
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
BEGIN = "<!-- BEGIN meridiand --schema: generated, do not edit -->\n"
END = "<!-- END meridiand --schema -->"

meridiand = sys.argv[1] if len(sys.argv) > 1 else str(REPO / "build" / "bin" / "meridiand")
tables = subprocess.run([meridiand, "--schema"], capture_output=True, text=True, check=True).stdout
doc = REPO / "docs" / "CONFIG.md"
text = doc.read_text()
start = text.index(BEGIN) + len(BEGIN)
doc.write_text(text[:start] + "\n" + tables + "\n" + text[text.index(END):])
