"""Geo test data: the test geo database (built with mmdb-build from its readable CSV), the rows
of that CSV, the example geo zone with its health state pinned "up", and great-circle
distances to check nearest-region answers against. ECS options are in wire.py."""

from __future__ import annotations

import csv
import ipaddress
import json
import math
import os
import subprocess
import tomllib
from pathlib import Path
from typing import Optional

import pytest

from paths import EXAMPLE_ZONES, REPO_ROOT, geo_mmdb_build_path

TEST_GEO_CSV = REPO_ROOT / "geoip" / "test-geo.csv"
EXAMPLE_GEO_ZONE = EXAMPLE_ZONES / "geo.example.com.toml"


def build_geo_mmdb(csv_path: Path, out: Path) -> Path:
    """Build a MaxMind DB from a test-geo.csv style file with mmdb-build; fails the test on error."""
    tool = geo_mmdb_build_path()
    if not (tool.is_file() and os.access(tool, os.X_OK)):
        pytest.fail(f"mmdb-build not found at {tool}; build it or set MMDB_BUILD", pytrace=False)
    proc = subprocess.run(
        [str(tool), "--input", str(csv_path), "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0 and Path(out).is_file(), f"mmdb-build {csv_path} failed:\n{proc.stderr}"
    return Path(out)


class GeoRow:
    """One network of a test-geo.csv file."""

    def __init__(self, fields: list):
        fields = fields + [""] * (8 - len(fields))
        self.network = ipaddress.ip_network(fields[0].strip())
        self.continent, self.country, self.subdivision = (f.strip() for f in fields[1:4])
        self.asn = int(fields[4]) if fields[4].strip() else 0
        self.as_org = fields[5]
        self.latitude = float(fields[6]) if fields[6].strip() else None
        self.longitude = float(fields[7]) if fields[7].strip() else None

    @property
    def prefix(self) -> int:
        return self.network.prefixlen

    @property
    def subnet(self) -> str:
        return str(self.network)

    def __repr__(self) -> str:
        return f"GeoRow({self.subnet} {self.continent}/{self.country})"


def geo_csv_rows(path: Path = TEST_GEO_CSV) -> list:
    """The networks of a test-geo.csv file (comments, blank lines and the header skipped)."""
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for fields in csv.reader(f):
            if not fields or fields[0].lstrip().startswith("#") or fields[0] == "network":
                continue
            rows.append(GeoRow(fields))
    return rows


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance on a sphere of the IUGG mean Earth radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


def example_geo_zone_files(zone_text: Optional[str] = None) -> dict:
    """{filename: text} for the example geo zone (or `zone_text`, a variant of it) plus, for every
    file-kind health check it names, a state file with every region "up" — so that a hand edit
    of the checked-in zones/*.health.json cannot change what the steering tests see."""
    text = EXAMPLE_GEO_ZONE.read_text() if zone_text is None else zone_text
    zone = tomllib.loads(text)
    files = {EXAMPLE_GEO_ZONE.name: text}
    state = {"regions": {name: "up" for name in zone.get("regions", {})}}
    for check in zone.get("checks", {}).values():
        if check.get("kind") == "file" and "file" in check:
            files[check["file"]] = json.dumps(state, indent=2) + "\n"
    return files


def write_example_geo_zone(directory: Path, zone_text: Optional[str] = None) -> Path:
    """example_geo_zone_files() written into `directory`; the zone file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in example_geo_zone_files(zone_text).items():
        (directory / name).write_text(text)
    return directory / EXAMPLE_GEO_ZONE.name
