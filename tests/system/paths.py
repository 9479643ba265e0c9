"""Where the system tests find things: the checkout, its example zones, and the built binaries
(meridiand, meridianctl, mmdb-build, each overridable from the environment). Nothing here runs
them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_ZONES = REPO_ROOT / "zones"
ORIGIN = "geo.example.com."  # the origin of the example zone the default server serves


def meridiand_path() -> Path:
    env = os.environ.get("MERIDIAND")
    if env:
        return Path(env)
    return REPO_ROOT / "build" / "bin" / "meridiand"


def require_binary() -> Path:
    path = meridiand_path()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"meridiand binary not found at {path}; build it (cmake --build build) or set MERIDIAND",
            pytrace=False,
        )
    return path


def meridianctl_path() -> Path:
    """meridianctl: ``$MERIDIANCTL`` if set, else next to meridiand (``build/bin/meridianctl``)."""
    env = os.environ.get("MERIDIANCTL")
    return Path(env) if env else meridiand_path().parent / "meridianctl"


def geo_mmdb_build_path() -> Path:
    """mmdb-build: ``$MMDB_BUILD`` if set, else ``<repo>/build/bin/mmdb-build``."""
    env = os.environ.get("MMDB_BUILD")
    return Path(env) if env else REPO_ROOT / "build" / "bin" / "mmdb-build"
