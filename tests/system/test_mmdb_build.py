"""Tests for tools/mmdb (mmdb-build) and geoip/fetch-country-db.sh.

Every database built here is read back by two independent readers:

* ``mmdblookup`` (Debian package mmdb-bin), whose text output is parsed, and
* libmaxminddb itself through ctypes (``libmaxminddb.so.0``): lookups, the entry data, the
  metadata, and a walk over every node of the search tree with ``MMDB_read_node``.

Binary: ``$MMDB_BUILD`` if set, else ``<repo>/build/bin/mmdb-build``.
Run with ``/usr/bin/python3 -m pytest tests/system/test_mmdb_build.py``.
Nothing here needs the network: the fetch-script tests point npm at a closed port on 127.0.0.1.
"""

from __future__ import annotations

import csv
import ctypes
import ipaddress
import math
import os
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Optional

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_GEO_CSV = REPO_ROOT / "geoip" / "test-geo.csv"
FETCH_SCRIPT = REPO_ROOT / "geoip" / "fetch-country-db.sh"
HEADER = "network,continent,country,subdivision,asn,as_org,latitude,longitude"
METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"
RECORD_SIZES = (24, 28, 32)


def mmdb_build_path() -> Path:
    env = os.environ.get("MMDB_BUILD")
    return Path(env) if env else REPO_ROOT / "build" / "bin" / "mmdb-build"


@pytest.fixture(scope="session")
def mmdb_build() -> Path:
    path = mmdb_build_path()
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"mmdb-build not found at {path}; build it with "
            "`cmake --build build --target mmdb-build` or set MMDB_BUILD",
            pytrace=False,
        )
    return path


def run_build(mmdb_build: Path, csv_path: Path, out: Path, *extra: str, env=None):
    return subprocess.run(
        [str(mmdb_build), "--input", str(csv_path), "--output", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def build_ok(mmdb_build: Path, csv_path: Path, out: Path, *extra: str, env=None) -> Path:
    proc = run_build(mmdb_build, csv_path, out, *extra, env=env)
    assert proc.returncode == 0, f"mmdb-build failed:\n{proc.stderr}"
    assert out.is_file()
    return out


def write_csv(path: Path, rows, header: bool = True) -> Path:
    lines = ([HEADER] if header else []) + list(rows)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# The source, as Python sees it
# --------------------------------------------------------------------------------------------


class Row:
    """One CSV data row, with the record mmdb-build is expected to produce for it."""

    def __init__(self, fields: list[str], line: int):
        assert len(fields) == 8, fields
        self.line = line
        self.text = fields[0]
        self.network = ipaddress.ip_network(fields[0])
        continent, country, subdivision, asn, as_org, lat, lon = fields[1:]
        rec: dict = {}
        if continent:
            rec["continent"] = {"code": continent}
        if country:
            rec["country"] = {"iso_code": country}
        if subdivision:
            rec["subdivisions"] = [{"iso_code": subdivision}]
        if lat:
            rec["location"] = {"latitude": float(lat), "longitude": float(lon)}
        if asn:
            rec["autonomous_system_number"] = int(asn)
        if as_org:
            rec["autonomous_system_organization"] = as_org
        self.record = rec

    @property
    def ipv4(self) -> bool:
        return self.network.version == 4

    @property
    def tree_network(self) -> ipaddress.IPv6Network:
        """Where the network sits in the IPv6 tree (IPv4 goes to ::/96)."""
        if self.ipv4:
            return ipaddress.IPv6Network((int(self.network.network_address), self.network.prefixlen + 96))
        return self.network

    @property
    def tree_prefix(self) -> int:
        return self.tree_network.prefixlen


def read_rows(csv_path: Path) -> list[Row]:
    rows = []
    seen_header = False
    with csv_path.open(encoding="utf-8", newline="") as f:
        for line_no, line in enumerate(f, start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            fields = [x.strip() for x in next(csv.reader([line]))]
            if not seen_header:
                assert ",".join(fields) == HEADER
                seen_header = True
                continue
            rows.append(Row(fields, line_no))
    return rows


def probe_addresses(net) -> list[str]:
    """First, middle and last address of a network."""
    first = int(net.network_address)
    last = int(net.broadcast_address)
    cls = ipaddress.IPv4Address if net.version == 4 else ipaddress.IPv6Address
    return sorted({str(cls(first)), str(cls((first + last) // 2)), str(cls(last))})


def neighbours_outside(rows: list[Row]) -> list[str]:
    """Addresses just outside each network that belong to no network of the source."""
    out = set()
    nets = [r.network for r in rows]
    for net in nets:
        cls = ipaddress.IPv4Address if net.version == 4 else ipaddress.IPv6Address
        top = 2**32 - 1 if net.version == 4 else 2**128 - 1
        for value in (int(net.network_address) - 1, int(net.broadcast_address) + 1):
            if 0 <= value <= top:
                addr = cls(value)
                if not any(addr in n for n in nets if n.version == net.version):
                    out.add(str(addr))
    return sorted(out)


def assert_record_equal(got, want, approx: bool) -> None:
    """Compare decoded data; doubles exactly (libmaxminddb) or to 6 places (mmdblookup)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), (got, want)
        for key in want:
            assert_record_equal(got[key], want[key], approx)
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (got, want)
        for g, w in zip(got, want):
            assert_record_equal(g, w, approx)
    elif isinstance(want, float):
        assert isinstance(got, float), (got, want)
        if approx:
            assert math.isclose(got, want, abs_tol=1e-6), (got, want)
        else:
            assert got == want, (got, want)
    else:
        assert got == want and type(got) is type(want), (got, want)


# --------------------------------------------------------------------------------------------
# Reader 1: mmdblookup (parsed text output)
# --------------------------------------------------------------------------------------------


class LookupText:
    def __init__(self, found: bool, data=None, prefix_length: Optional[int] = None, metadata=None):
        self.found = found
        self.data = data
        self.prefix_length = prefix_length
        self.metadata = metadata or {}


_SCALAR = re.compile(r"^(.*) <(\w+)>$")
_KEY = re.compile(r'^"(.*)":$')


def _parse_dump(lines: list[str], i: int):
    """Parses mmdblookup's indented dump, one token per (stripped) line."""
    line = lines[i]
    if line == "{":
        result = {}
        i += 1
        while lines[i] != "}":
            key = _KEY.match(lines[i])
            assert key, f"unexpected mmdblookup line {lines[i]!r}"
            value, i = _parse_dump(lines, i + 1)
            result[key.group(1)] = value
        return result, i + 1
    if line == "[":
        items = []
        i += 1
        while lines[i] != "]":
            value, i = _parse_dump(lines, i)
            items.append(value)
        return items, i + 1
    m = _SCALAR.match(line)
    assert m, f"unexpected mmdblookup line {line!r}"
    text, kind = m.groups()
    if kind == "utf8_string":
        assert text.startswith('"') and text.endswith('"')
        return text[1:-1], i + 1
    if kind in ("double", "float"):
        return float(text), i + 1
    if kind in ("uint16", "uint32", "uint64", "uint128", "int32"):
        return int(text, 0), i + 1
    if kind == "boolean":
        return text == "true", i + 1
    raise AssertionError(f"unexpected mmdblookup type {kind}")


def mmdblookup(db: Path, ip: str, verbose: bool = True) -> LookupText:
    cmd = ["mmdblookup", "--file", str(db), "--ip", ip] + (["--verbose"] if verbose else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    if "Could not find an entry for this IP address" in proc.stdout + proc.stderr:
        assert proc.returncode != 0
        return LookupText(False)
    assert proc.returncode == 0, f"mmdblookup failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
    lines = [x.strip() for x in proc.stdout.splitlines() if x.strip()]
    meta: dict = {}
    prefix = None
    start = None
    for idx, line in enumerate(lines):
        if m := re.match(r"^Record prefix length: (\d+)$", line):
            prefix = int(m.group(1))
        elif m := re.match(r"^Node count:\s+(\d+)$", line):
            meta["node_count"] = int(m.group(1))
        elif m := re.match(r"^Record size:\s+(\d+) bits$", line):
            meta["record_size"] = int(m.group(1))
        elif m := re.match(r"^IP version:\s+IPv(\d)$", line):
            meta["ip_version"] = int(m.group(1))
        elif m := re.match(r"^Binary format:\s+(\d+)\.(\d+)$", line):
            meta["binary_format"] = (int(m.group(1)), int(m.group(2)))
        elif m := re.match(r"^Build epoch:\s+(\d+)", line):
            meta["build_epoch"] = int(m.group(1))
        elif m := re.match(r"^Type:\s+(.*)$", line):
            meta["database_type"] = m.group(1)
        elif m := re.match(r"^Languages:\s*(.*)$", line):
            meta["languages"] = m.group(1).split()
        elif m := re.match(r"^en:\s+(.*)$", line):
            meta["description_en"] = m.group(1)
        elif line in ("{", "[") or _SCALAR.match(line):
            start = idx
            break
    assert start is not None, f"no data in mmdblookup output:\n{proc.stdout}"
    data, end = _parse_dump(lines, start)
    assert end == len(lines), f"trailing mmdblookup output: {lines[end:]}"
    return LookupText(True, data, prefix, meta)


# --------------------------------------------------------------------------------------------
# Reader 2: libmaxminddb through ctypes
# --------------------------------------------------------------------------------------------

MMDB_MODE_MMAP = 1
MMDB_SUCCESS = 0
TYPE_UTF8_STRING, TYPE_DOUBLE, TYPE_BYTES, TYPE_UINT16, TYPE_UINT32, TYPE_MAP = 2, 3, 4, 5, 6, 7
TYPE_INT32, TYPE_UINT64, TYPE_UINT128, TYPE_ARRAY, TYPE_BOOLEAN, TYPE_FLOAT = 8, 9, 10, 11, 14, 15
RECORD_SEARCH_NODE, RECORD_EMPTY, RECORD_DATA = 0, 1, 2


class _Entry(ctypes.Structure):  # MMDB_entry_s
    _fields_ = [("mmdb", ctypes.c_void_p), ("offset", ctypes.c_uint32)]


class _LookupResult(ctypes.Structure):  # MMDB_lookup_result_s
    _fields_ = [("found_entry", ctypes.c_bool), ("entry", _Entry), ("netmask", ctypes.c_uint16)]


class _Value(ctypes.Union):
    _fields_ = [
        ("pointer", ctypes.c_uint32),
        ("utf8_string", ctypes.c_void_p),
        ("double_value", ctypes.c_double),
        ("bytes", ctypes.c_void_p),
        ("uint16", ctypes.c_uint16),
        ("uint32", ctypes.c_uint32),
        ("int32", ctypes.c_int32),
        ("uint64", ctypes.c_uint64),
        ("uint128", ctypes.c_ubyte * 16),
        ("boolean", ctypes.c_bool),
        ("float_value", ctypes.c_float),
    ]


class _EntryData(ctypes.Structure):  # MMDB_entry_data_s
    # The union holds an unsigned __int128 (16-byte aligned on x86-64 and arm64), so it starts
    # at offset 16; ctypes cannot express that alignment, hence the explicit padding.
    _fields_ = [
        ("has_data", ctypes.c_bool),
        ("_pad", ctypes.c_ubyte * 15),
        ("value", _Value),
        ("offset", ctypes.c_uint32),
        ("offset_to_next", ctypes.c_uint32),
        ("data_size", ctypes.c_uint32),
        ("type", ctypes.c_uint32),
    ]


class _EntryDataList(ctypes.Structure):  # MMDB_entry_data_list_s
    pass


_EntryDataList._fields_ = [
    ("entry_data", _EntryData),
    ("next", ctypes.POINTER(_EntryDataList)),
    ("pool", ctypes.c_void_p),
]


class _SearchNode(ctypes.Structure):  # MMDB_search_node_s
    _fields_ = [
        ("left_record", ctypes.c_uint64),
        ("right_record", ctypes.c_uint64),
        ("left_record_type", ctypes.c_uint8),
        ("right_record_type", ctypes.c_uint8),
        ("left_record_entry", _Entry),
        ("right_record_entry", _Entry),
    ]


assert ctypes.sizeof(_EntryData) == 48 and ctypes.sizeof(_EntryDataList) == 64
assert ctypes.sizeof(_LookupResult) == 32 and ctypes.sizeof(_SearchNode) == 56


def _load_libmaxminddb():
    lib = ctypes.CDLL("libmaxminddb.so.0")
    lib.MMDB_open.argtypes = [ctypes.c_char_p, ctypes.c_uint32, ctypes.c_void_p]
    lib.MMDB_open.restype = ctypes.c_int
    lib.MMDB_close.argtypes = [ctypes.c_void_p]
    lib.MMDB_close.restype = None
    lib.MMDB_lookup_string.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_int),
        ctypes.POINTER(ctypes.c_int),
    ]
    lib.MMDB_lookup_string.restype = _LookupResult
    lib.MMDB_get_entry_data_list.argtypes = [
        ctypes.POINTER(_Entry),
        ctypes.POINTER(ctypes.POINTER(_EntryDataList)),
    ]
    lib.MMDB_get_entry_data_list.restype = ctypes.c_int
    lib.MMDB_get_metadata_as_entry_data_list.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.POINTER(_EntryDataList)),
    ]
    lib.MMDB_get_metadata_as_entry_data_list.restype = ctypes.c_int
    lib.MMDB_free_entry_data_list.argtypes = [ctypes.POINTER(_EntryDataList)]
    lib.MMDB_free_entry_data_list.restype = None
    lib.MMDB_read_node.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.POINTER(_SearchNode)]
    lib.MMDB_read_node.restype = ctypes.c_int
    lib.MMDB_strerror.argtypes = [ctypes.c_int]
    lib.MMDB_strerror.restype = ctypes.c_char_p
    return lib


@pytest.fixture(scope="session")
def libmmdb():
    try:
        return _load_libmaxminddb()
    except OSError as exc:
        pytest.fail(f"cannot load libmaxminddb.so.0 (Debian libmaxminddb0): {exc}", pytrace=False)


def _decode(node):
    """Decodes one value from an entry data list; returns (value, next list node)."""
    ed = node.contents.entry_data
    kind = ed.type
    if kind == TYPE_MAP:
        result = {}
        node = node.contents.next
        for _ in range(ed.data_size):
            key, node = _decode(node)
            value, node = _decode(node)
            result[key] = value
        return result, node
    if kind == TYPE_ARRAY:
        items = []
        node = node.contents.next
        for _ in range(ed.data_size):
            value, node = _decode(node)
            items.append(value)
        return items, node
    v = ed.value
    if kind == TYPE_UTF8_STRING:
        value = ctypes.string_at(v.utf8_string, ed.data_size).decode("utf-8")
    elif kind == TYPE_DOUBLE:
        value = v.double_value
    elif kind == TYPE_FLOAT:
        value = v.float_value
    elif kind == TYPE_BYTES:
        value = ctypes.string_at(v.bytes, ed.data_size)
    elif kind == TYPE_UINT16:
        value = v.uint16
    elif kind == TYPE_UINT32:
        value = v.uint32
    elif kind == TYPE_INT32:
        value = v.int32
    elif kind == TYPE_UINT64:
        value = v.uint64
    elif kind == TYPE_UINT128:
        value = int.from_bytes(bytes(v.uint128), "little")
    elif kind == TYPE_BOOLEAN:
        value = v.boolean
    else:
        raise AssertionError(f"unexpected data type {kind}")
    return value, node.contents.next


class LookupLib:
    def __init__(self, found: bool, netmask: int, offset: int = 0, data=None):
        self.found = found
        self.netmask = netmask
        self.offset = offset  # the record's offset in the data section
        self.data = data


class MMDB:
    """A database opened with libmaxminddb."""

    def __init__(self, lib, path: Path):
        self.lib = lib
        self.path = path
        self._buf = ctypes.create_string_buffer(16384)  # MMDB_s is far smaller than this
        self.handle = ctypes.cast(self._buf, ctypes.c_void_p)
        rc = lib.MMDB_open(str(path).encode(), MMDB_MODE_MMAP, self.handle)
        assert rc == MMDB_SUCCESS, f"MMDB_open({path}): {lib.MMDB_strerror(rc).decode()}"

    def close(self):
        if self.handle is not None:
            self.lib.MMDB_close(self.handle)
            self.handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _list_to_value(self, head):
        try:
            value, rest = _decode(head)
            assert not rest, "entry data list longer than one value"
            return value
        finally:
            self.lib.MMDB_free_entry_data_list(head)

    def metadata(self) -> dict:
        head = ctypes.POINTER(_EntryDataList)()
        rc = self.lib.MMDB_get_metadata_as_entry_data_list(self.handle, ctypes.byref(head))
        assert rc == MMDB_SUCCESS, self.lib.MMDB_strerror(rc).decode()
        return self._list_to_value(head)

    def lookup(self, ip: str) -> LookupLib:
        gai = ctypes.c_int(0)
        err = ctypes.c_int(0)
        res = self.lib.MMDB_lookup_string(self.handle, ip.encode(), ctypes.byref(gai), ctypes.byref(err))
        assert gai.value == 0 and err.value == MMDB_SUCCESS, (ip, gai.value, err.value)
        if not res.found_entry:
            return LookupLib(False, res.netmask)
        head = ctypes.POINTER(_EntryDataList)()
        entry = _Entry(res.entry.mmdb, res.entry.offset)
        rc = self.lib.MMDB_get_entry_data_list(ctypes.byref(entry), ctypes.byref(head))
        assert rc == MMDB_SUCCESS, self.lib.MMDB_strerror(rc).decode()
        return LookupLib(True, res.netmask, res.entry.offset, self._list_to_value(head))

    def walk(self):
        """Every data record reachable in the tree: {IPv6Network: data offset}; also checks
        that every node is reached exactly once (a plain tree, as mmdb-build writes it)."""
        node_count = self.metadata()["node_count"]
        found = {}
        seen = set()
        stack = [(0, 0, 0)]  # node number, depth, address bits so far
        while stack:
            number, depth, bits = stack.pop()
            assert number not in seen, f"node {number} reached twice"
            seen.add(number)
            node = _SearchNode()
            rc = self.lib.MMDB_read_node(self.handle, number, ctypes.byref(node))
            assert rc == MMDB_SUCCESS, self.lib.MMDB_strerror(rc).decode()
            for side, record, kind, entry in (
                (0, node.left_record, node.left_record_type, node.left_record_entry),
                (1, node.right_record, node.right_record_type, node.right_record_entry),
            ):
                value = bits | (side << (127 - depth))
                if kind == RECORD_SEARCH_NODE:
                    assert record < node_count
                    stack.append((record, depth + 1, value))
                elif kind == RECORD_DATA:
                    found[ipaddress.IPv6Network((value, depth + 1))] = entry.offset
                else:
                    assert kind == RECORD_EMPTY and record == node_count, (number, side, kind, record)
        assert len(seen) == node_count, f"{node_count - len(seen)} unreachable nodes"
        return found


# --------------------------------------------------------------------------------------------
# Full verification of a built database against its source rows
# --------------------------------------------------------------------------------------------


def verify_database(lib, db: Path, rows: list[Row], record_size: int, extra_absent=()) -> None:
    with MMDB(lib, db) as mmdb:
        meta = mmdb.metadata()
        assert meta["record_size"] == record_size
        assert meta["ip_version"] == 6
        assert meta["binary_format_major_version"] == 2
        assert meta["binary_format_minor_version"] == 0

        # The tree holds exactly the source networks, each pointing at its own record.
        tree = mmdb.walk()
        assert set(tree) == {r.tree_network for r in rows}

        for row in rows:
            for ip in probe_addresses(row.network):
                got = mmdb.lookup(ip)
                assert got.found, f"{ip} ({row.text}, line {row.line}) not found by libmaxminddb"
                # IPv4 lookups in an IPv6 tree report the depth in the IPv6 tree: prefix + 96.
                assert got.netmask == row.tree_prefix, (ip, row.text, got.netmask)
                assert got.offset == tree[row.tree_network]
                assert_record_equal(got.data, row.record, approx=False)

                text = mmdblookup(db, ip)
                assert text.found, f"{ip} ({row.text}) not found by mmdblookup"
                assert text.prefix_length == row.tree_prefix, (ip, row.text, text.prefix_length)
                assert_record_equal(text.data, row.record, approx=True)

        for ip in list(neighbours_outside(rows)) + list(extra_absent):
            got = mmdb.lookup(ip)
            assert not got.found, f"{ip} unexpectedly found by libmaxminddb"
            assert not mmdblookup(db, ip, verbose=False).found, f"{ip} unexpectedly found by mmdblookup"


def data_section(db: Path) -> bytes:
    """The data section bytes, located from the metadata (node_count, record_size)."""
    raw = db.read_bytes()
    marker = raw.rindex(METADATA_MARKER)
    text = mmdblookup_metadata(db)
    tree_size = text["node_count"] * text["record_size"] // 4
    assert raw[tree_size : tree_size + 16] == bytes(16), "missing 16-byte data section separator"
    return raw[tree_size + 16 : marker]


def mmdblookup_metadata(db: Path) -> dict:
    """Metadata as printed by `mmdblookup --verbose` (the lookup itself may miss)."""
    proc = subprocess.run(
        ["mmdblookup", "--verbose", "--file", str(db), "--ip", "0.0.0.0"],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    meta = {}
    for line in proc.stdout.splitlines():
        line = line.strip()
        if m := re.match(r"^Node count:\s+(\d+)$", line):
            meta["node_count"] = int(m.group(1))
        elif m := re.match(r"^Record size:\s+(\d+) bits$", line):
            meta["record_size"] = int(m.group(1))
    assert meta, f"mmdblookup printed no metadata:\n{proc.stdout}{proc.stderr}"
    return meta


# --------------------------------------------------------------------------------------------
# Sample source used by several tests
# --------------------------------------------------------------------------------------------

SAMPLE_ROWS = [
    "# a comment, and a blank line below",
    "",
    "81.2.69.0/24,EU,GB,ENG,20712,Andrews & Arnold Ltd,51.5142,-0.0931",
    '10.0.0.0/8,NA,US,CA,64512,"Private, Inc.",37.7749,-122.4194',
    "192.0.2.128/25,OC,AU,,,,-33.8688,151.2093",
    "192.0.2.5/32,AS,JP,13,,,35.6762,139.6503",
    "255.255.255.255/32,AF,ZA,,,,,",
    "0.0.0.0/32,AN,,,,,,",
    "198.51.100.0/24,,,,,,,",
    "2001:db8:100::/40,NA,US,CA,,,37.7749,-122.4194",
    "2001:db8::1/128,EU,DE,,,,,",
    "2a02:c7f::/32,EU,GB,ENG,,,51.5074,-0.1278",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124,,,,4294967295,Edge Org,-90,180",
    "4000::/2,SA,BR,SP,,,-23.5505,-46.6333",
]


@pytest.fixture
def sample_csv(tmp_path) -> Path:
    return write_csv(tmp_path / "sample.csv", SAMPLE_ROWS)


# --------------------------------------------------------------------------------------------
# Tests: building and reading back
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("record_size", RECORD_SIZES)
def test_sample_roundtrip_each_record_size(mmdb_build, libmmdb, sample_csv, tmp_path, record_size):
    db = build_ok(mmdb_build, sample_csv, tmp_path / f"s{record_size}.mmdb", "--record-size", str(record_size))
    rows = read_rows(sample_csv)
    assert len(rows) == 12
    verify_database(
        libmmdb,
        db,
        rows,
        record_size,
        extra_absent=["127.0.0.1", "11.0.0.1", "192.0.2.4", "::1", "2001:db8:200::1", "::ffff:81.2.69.1"],
    )


def test_default_record_size_is_28(mmdb_build, libmmdb, sample_csv, tmp_path):
    db = build_ok(mmdb_build, sample_csv, tmp_path / "d.mmdb")
    with MMDB(libmmdb, db) as mmdb:
        assert mmdb.metadata()["record_size"] == 28


def test_ipv4_found_in_ipv6_tree_at_96(mmdb_build, libmmdb, sample_csv, tmp_path):
    db = build_ok(mmdb_build, sample_csv, tmp_path / "v4.mmdb")
    with MMDB(libmmdb, db) as mmdb:
        v4 = mmdb.lookup("81.2.69.160")
        assert v4.found and v4.netmask == 24 + 96
        assert v4.data["country"] == {"iso_code": "GB"}
        # The same network through its IPv4-compatible IPv6 spelling, ::81.2.69.160.
        compat = mmdb.lookup("::5102:45a0")
        assert compat.found and compat.netmask == 120 and compat.offset == v4.offset
    text = mmdblookup(db, "81.2.69.160")
    assert text.prefix_length == 120
    assert text.data["autonomous_system_organization"] == "Andrews & Arnold Ltd"
    assert text.data["autonomous_system_number"] == 20712


def test_ipv6_lookup(mmdb_build, libmmdb, sample_csv, tmp_path):
    db = build_ok(mmdb_build, sample_csv, tmp_path / "v6.mmdb")
    with MMDB(libmmdb, db) as mmdb:
        got = mmdb.lookup("2001:db8:1ab:cd::1")
        assert got.found and got.netmask == 40
        assert got.data == {
            "continent": {"code": "NA"},
            "country": {"iso_code": "US"},
            "subdivisions": [{"iso_code": "CA"}],
            "location": {"latitude": 37.7749, "longitude": -122.4194},
        }
        host = mmdb.lookup("2001:db8::1")
        assert host.found and host.netmask == 128
        assert not mmdb.lookup("2001:db8::2").found
    assert mmdblookup(db, "2a02:c7f:1234::9").prefix_length == 32


def test_record_layout_and_types(mmdb_build, libmmdb, sample_csv, tmp_path):
    db = build_ok(mmdb_build, sample_csv, tmp_path / "t.mmdb")
    with MMDB(libmmdb, db) as mmdb:
        rec = mmdb.lookup("81.2.69.1").data
    assert rec == {
        "continent": {"code": "EU"},
        "country": {"iso_code": "GB"},
        "subdivisions": [{"iso_code": "ENG"}],
        "location": {"latitude": 51.5142, "longitude": -0.0931},
        "autonomous_system_number": 20712,
        "autonomous_system_organization": "Andrews & Arnold Ltd",
    }
    # Types as mmdblookup names them: doubles for coordinates, uint32 for the ASN.
    out = subprocess.run(
        ["mmdblookup", "--file", str(db), "--ip", "81.2.69.1"], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"51\.514200 <double>", out)
    assert re.search(r"-0\.093100 <double>", out)
    assert re.search(r"20712 <uint32>", out)
    assert re.search(r'"EU" <utf8_string>', out)


def test_empty_fields_are_left_out(mmdb_build, libmmdb, sample_csv, tmp_path):
    db = build_ok(mmdb_build, sample_csv, tmp_path / "e.mmdb")
    with MMDB(libmmdb, db) as mmdb:
        assert mmdb.lookup("198.51.100.7").data == {}
        assert mmdb.lookup("0.0.0.0").data == {"continent": {"code": "AN"}}
        assert mmdb.lookup("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").data == {
            "location": {"latitude": -90.0, "longitude": 180.0},
            "autonomous_system_number": 4294967295,
            "autonomous_system_organization": "Edge Org",
        }


def test_metadata_fields(mmdb_build, libmmdb, sample_csv, tmp_path):
    db = build_ok(
        mmdb_build, sample_csv, tmp_path / "m.mmdb",
        "--database-type", "Meridian-Test", "--description", "Sample DB for tests", "--build-epoch", "1700000000",
    )
    with MMDB(libmmdb, db) as mmdb:
        meta = mmdb.metadata()
        node_count = meta["node_count"]
        assert meta == {
            "binary_format_major_version": 2,
            "binary_format_minor_version": 0,
            "build_epoch": 1700000000,
            "database_type": "Meridian-Test",
            "description": {"en": "Sample DB for tests"},
            "ip_version": 6,
            "languages": ["en"],
            "node_count": node_count,
            "record_size": 28,
        }
        assert node_count > 0
    text = mmdblookup(db, "81.2.69.1").metadata
    assert text == {
        "node_count": node_count,
        "record_size": 28,
        "ip_version": 6,
        "binary_format": (2, 0),
        "build_epoch": 1700000000,
        "database_type": "Meridian-Test",
        "languages": ["en"],
        "description_en": "Sample DB for tests",
    }
    # The file layout: tree (node_count * 7 bytes), 16 zero bytes, data, marker + metadata.
    raw = db.read_bytes()
    assert raw[node_count * 7 : node_count * 7 + 16] == bytes(16)
    assert raw.count(METADATA_MARKER) == 1


def test_metadata_value_types(mmdb_build, libmmdb, sample_csv, tmp_path):
    """node_count uint32, record_size/ip_version/format versions uint16, build_epoch uint64."""
    db = build_ok(mmdb_build, sample_csv, tmp_path / "mt.mmdb", "--build-epoch", "1")
    with MMDB(libmmdb, db) as mmdb:
        head = ctypes.POINTER(_EntryDataList)()
        assert libmmdb.MMDB_get_metadata_as_entry_data_list(mmdb.handle, ctypes.byref(head)) == 0
        try:
            types = {}
            node = head.contents.next  # skip the map itself
            while node:
                key = ctypes.string_at(node.contents.entry_data.value.utf8_string, node.contents.entry_data.data_size)
                value_node = node.contents.next
                types[key.decode()] = value_node.contents.entry_data.type
                # skip the value (maps/arrays span several list nodes)
                _, node = _decode(value_node)
        finally:
            libmmdb.MMDB_free_entry_data_list(head)
    assert types == {
        "binary_format_major_version": TYPE_UINT16,
        "binary_format_minor_version": TYPE_UINT16,
        "build_epoch": TYPE_UINT64,
        "database_type": TYPE_UTF8_STRING,
        "description": TYPE_MAP,
        "ip_version": TYPE_UINT16,
        "languages": TYPE_ARRAY,
        "node_count": TYPE_UINT32,
        "record_size": TYPE_UINT16,
    }


def test_identical_rows_share_one_record(mmdb_build, libmmdb, tmp_path):
    row = "EU,GB,ENG,20712,Andrews & Arnold Ltd,51.5142,-0.0931"
    one = build_ok(mmdb_build, write_csv(tmp_path / "one.csv", [f"81.2.69.0/24,{row}"]), tmp_path / "one.mmdb")
    two = build_ok(
        mmdb_build,
        write_csv(tmp_path / "two.csv", [f"81.2.69.0/24,{row}", f"2a02:c7f::/32,{row}", f"5.145.0.0/16,{row}"]),
        tmp_path / "two.mmdb",
    )
    other = build_ok(
        mmdb_build,
        write_csv(tmp_path / "other.csv", [f"81.2.69.0/24,{row}", "5.145.0.0/16,EU,GB,ENG,20712,Andrews & Arnold Ltd,51.5142,-0.0932"]),
        tmp_path / "other.mmdb",
    )
    # Same-row networks: one record in the data section, shared offsets.
    assert data_section(two) == data_section(one)
    with MMDB(libmmdb, two) as mmdb:
        offsets = {mmdb.lookup(ip).offset for ip in ("81.2.69.1", "2a02:c7f::1", "5.145.1.1")}
        assert len(offsets) == 1
        assert len(set(mmdb.walk().values())) == 1
    # Different rows: two records.
    assert len(data_section(other)) == 2 * len(data_section(one))
    with MMDB(libmmdb, other) as mmdb:
        assert mmdb.lookup("81.2.69.1").offset != mmdb.lookup("5.145.1.1").offset


def test_reproducible_output(mmdb_build, sample_csv, tmp_path):
    a = build_ok(mmdb_build, sample_csv, tmp_path / "a.mmdb")
    b = build_ok(mmdb_build, sample_csv, tmp_path / "b.mmdb")
    assert a.read_bytes() == b.read_bytes()
    # Row order does not matter either: the layout follows the address order.
    lines = [line for line in SAMPLE_ROWS if line and not line.startswith("#")]
    shuffled = write_csv(tmp_path / "shuffled.csv", list(reversed(lines)))
    c = build_ok(mmdb_build, shuffled, tmp_path / "c.mmdb", "--description",
                 "Meridian geo database built by mmdb-build from sample.csv")
    assert c.read_bytes() == a.read_bytes()


def test_build_epoch_sources(mmdb_build, libmmdb, sample_csv, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    fixed = build_ok(mmdb_build, sample_csv, tmp_path / "f.mmdb", env=env)
    env_sde = dict(env, SOURCE_DATE_EPOCH="1234567890")
    sde = build_ok(mmdb_build, sample_csv, tmp_path / "sde.mmdb", env=env_sde)
    flag = build_ok(mmdb_build, sample_csv, tmp_path / "flag.mmdb", "--build-epoch", "42", env=env_sde)
    epochs = []
    for db in (fixed, sde, flag):
        with MMDB(libmmdb, db) as mmdb:
            epochs.append(mmdb.metadata()["build_epoch"])
    assert epochs[1:] == [1234567890, 42]
    assert epochs[0] not in (1234567890, 42)
    # The fixed default is stable across builds.
    assert build_ok(mmdb_build, sample_csv, tmp_path / "f2.mmdb", env=env).read_bytes() == fixed.read_bytes()


def test_long_and_unicode_strings(mmdb_build, libmmdb, tmp_path):
    """Strings around the 29- and 285-byte size thresholds of the control byte, and UTF-8."""
    org_300 = "X" * 300
    org_unicode = 'Zürich "Énergie", AG — 東京'
    org_28 = "Y" * 28
    org_29 = "Z" * 29
    src = write_csv(
        tmp_path / "long.csv",
        [
            f"10.0.0.0/24,,,,,{org_300},,",
            '10.0.1.0/24,,,,,"Zürich ""Énergie"", AG — 東京",,',
            f"10.0.2.0/24,,,,,{org_28},,",
            f"10.0.3.0/24,,,,,{org_29},,",
            "10.0.4.0/24,,,,," + "W" * 1024 + ",,",
            "10.0.5.0/24,,,,," + "V" * 284 + ",,",
            "10.0.6.0/24,,,,," + "U" * 285 + ",,",
        ],
    )
    db = build_ok(mmdb_build, src, tmp_path / "long.mmdb")
    expected = {
        "10.0.0.1": org_300,
        "10.0.1.1": org_unicode,
        "10.0.2.1": org_28,
        "10.0.3.1": org_29,
        "10.0.4.1": "W" * 1024,
        "10.0.5.1": "V" * 284,
        "10.0.6.1": "U" * 285,
    }
    with MMDB(libmmdb, db) as mmdb:
        for ip, org in expected.items():
            assert mmdb.lookup(ip).data == {"autonomous_system_organization": org}
    for ip, org in expected.items():
        assert mmdblookup(db, ip).data == {"autonomous_system_organization": org}


@pytest.fixture(scope="module")
def large_source(tmp_path_factory):
    """~19 MB of distinct records, so data pointers exceed 2^24 and need 28 or 32 bits."""
    directory = tmp_path_factory.mktemp("large")
    lines = []
    for i in range(18000):
        org = f"Org {i:05d} " + "x" * 990
        lines.append(f"10.{i // 256}.{i % 256}.0/24,EU,GB,,{i + 1},{org},,")
    return write_csv(directory / "large.csv", lines)


@pytest.mark.parametrize("record_size", (28, 32))
def test_large_database_high_record_bits(mmdb_build, libmmdb, large_source, tmp_path, record_size):
    db = build_ok(mmdb_build, large_source, tmp_path / "large.mmdb", "--record-size", str(record_size))
    rows = read_rows(large_source)
    with MMDB(libmmdb, db) as mmdb:
        tree = mmdb.walk()
        assert set(tree) == {r.tree_network for r in rows}
        assert max(tree.values()) + mmdb.metadata()["node_count"] + 16 >= 2**24
    sample = rows[:3] + rows[len(rows) // 2 : len(rows) // 2 + 3] + rows[-10:]
    with MMDB(libmmdb, db) as mmdb:
        for row in sample:
            ip = probe_addresses(row.network)[-1]
            got = mmdb.lookup(ip)
            assert got.found and got.netmask == row.tree_prefix
            assert_record_equal(got.data, row.record, approx=False)
            text = mmdblookup(db, ip)
            assert text.prefix_length == row.tree_prefix
            assert_record_equal(text.data, row.record, approx=True)


def test_large_database_does_not_fit_24_bits(mmdb_build, large_source, tmp_path):
    out = tmp_path / "large24.mmdb"
    proc = run_build(mmdb_build, large_source, out, "--record-size", "24")
    assert proc.returncode == 1
    assert "record" in proc.stderr and "24" in proc.stderr
    assert_clean_errors(proc.stderr)
    assert not out.exists()


def test_whole_ipv4_space(mmdb_build, libmmdb, tmp_path):
    db = build_ok(mmdb_build, write_csv(tmp_path / "all4.csv", ["0.0.0.0/0,EU,,,,,,"]), tmp_path / "all4.mmdb")
    with MMDB(libmmdb, db) as mmdb:
        for ip in ("0.0.0.0", "1.2.3.4", "255.255.255.255"):
            got = mmdb.lookup(ip)
            assert got.found and got.netmask == 96 and got.data == {"continent": {"code": "EU"}}
        assert not mmdb.lookup("2001:db8::1").found
    assert mmdblookup(db, "8.8.8.8").prefix_length == 96


def test_whole_address_space(mmdb_build, libmmdb, tmp_path):
    db = build_ok(mmdb_build, write_csv(tmp_path / "all.csv", ["::/0,OC,,,,,,"]), tmp_path / "all.mmdb")
    with MMDB(libmmdb, db) as mmdb:
        for ip in ("::", "1.2.3.4", "2001:db8::1", "ffff::1"):
            got = mmdb.lookup(ip)
            assert got.found and got.data == {"continent": {"code": "OC"}}
    assert mmdblookup(db, "9.9.9.9").found


def test_empty_source(mmdb_build, libmmdb, tmp_path):
    db = build_ok(mmdb_build, write_csv(tmp_path / "empty.csv", ["# nothing yet"]), tmp_path / "empty.mmdb")
    with MMDB(libmmdb, db) as mmdb:
        assert not mmdb.lookup("1.2.3.4").found
        assert not mmdb.lookup("2001:db8::1").found
        assert mmdb.walk() == {}
    assert not mmdblookup(db, "1.2.3.4", verbose=False).found


def test_crlf_bom_and_quoting(mmdb_build, libmmdb, tmp_path):
    src = tmp_path / "crlf.csv"
    src.write_bytes(
        b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n"
        b"# comment\r\n"
        b'  10.0.0.0/8 , "EU" ,GB, , 64500 , "A, ""quoted"" org" , 1.5 , -2.25 \r\n'
    )
    db = build_ok(mmdb_build, src, tmp_path / "crlf.mmdb")
    with MMDB(libmmdb, db) as mmdb:
        assert mmdb.lookup("10.1.2.3").data == {
            "continent": {"code": "EU"},
            "country": {"iso_code": "GB"},
            "location": {"latitude": 1.5, "longitude": -2.25},
            "autonomous_system_number": 64500,
            "autonomous_system_organization": 'A, "quoted" org',
        }


def test_help_and_usage(mmdb_build):
    proc = subprocess.run([str(mmdb_build), "--help"], capture_output=True, text=True, timeout=10)
    assert proc.returncode == 0 and "--input" in proc.stdout and "--record-size" in proc.stdout


# --------------------------------------------------------------------------------------------
# Tests: geoip/test-geo.csv
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("record_size", RECORD_SIZES)
def test_test_geo_csv(mmdb_build, libmmdb, tmp_path, record_size):
    rows = read_rows(TEST_GEO_CSV)
    assert 20 <= len(rows) <= 40
    db = build_ok(mmdb_build, TEST_GEO_CSV, tmp_path / "test-geo.mmdb", "--record-size", str(record_size))
    verify_database(libmmdb, db, rows, record_size, extra_absent=["127.0.0.1", "127.0.0.5", "10.0.0.1", "2001:db8::1"])


def test_test_geo_required_content(mmdb_build, libmmdb, tmp_path):
    rows = {r.text: r for r in read_rows(TEST_GEO_CSV)}
    required = {
        "127.0.0.2/32": ("EU", "GB"),
        "127.0.0.3/32": ("NA", "US"),
        "81.2.69.0/24": ("EU", "GB"),
        "5.145.0.0/16": ("EU", "DE"),
        "8.8.0.0/16": ("NA", "US"),
        "1.0.16.0/20": ("AS", "JP"),
        "1.1.1.0/24": ("OC", "AU"),
        "200.0.0.0/16": ("SA", "BR"),
        "41.0.0.0/16": ("AF", "ZA"),
        "103.0.0.0/16": ("AS", "SG"),
        "2001:db8:100::/40": ("NA", "US"),
        "2001:db8:200::/40": ("EU", "DE"),
        "2001:db8:300::/40": ("AS", "JP"),
        "2a02:c7f::/32": ("EU", "GB"),
    }
    for net, (continent, country) in required.items():
        assert net in rows, f"{net} missing from test-geo.csv"
        assert rows[net].record["continent"]["code"] == continent
        assert rows[net].record["country"]["iso_code"] == country
    for doc in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"):
        assert doc in rows
    continents = {r.record.get("continent", {}).get("code") for r in rows.values()}
    assert {"AF", "AS", "EU", "NA", "OC", "SA"} <= continents

    db = build_ok(mmdb_build, TEST_GEO_CSV, tmp_path / "tg.mmdb")
    with MMDB(libmmdb, db) as mmdb:
        london = mmdb.lookup("127.0.0.2")
        sf = mmdb.lookup("127.0.0.3")
        assert london.found and sf.found and london.netmask == sf.netmask == 128
        assert london.offset != sf.offset
        assert london.data["location"] != sf.data["location"]
        assert not mmdb.lookup("127.0.0.1").found


# --------------------------------------------------------------------------------------------
# Tests: errors
# --------------------------------------------------------------------------------------------

GOOD = "EU,GB,ENG,20712,Org,51.5,-0.1"

# (id, data lines after the header, line number of the error, text the message must contain)
# Line 1 is the header, line 2 a comment, so the first data line is line 3.
ERROR_CASES = [
    ("cidr-no-prefix", ["10.0.0.0," + GOOD], 3, "bad network"),
    ("cidr-short-ipv4", ["10.0.0/8," + GOOD], 3, "bad network"),
    ("cidr-octet-256", ["10.0.0.256/32," + GOOD], 3, "bad network"),
    ("cidr-prefix-33", ["10.0.0.0/33," + GOOD], 3, "prefix length"),
    ("cidr-prefix-129", ["2001:db8::/129," + GOOD], 3, "prefix length"),
    ("cidr-prefix-negative", ["10.0.0.0/-8," + GOOD], 3, "prefix length"),
    ("cidr-prefix-empty", ["10.0.0.0/," + GOOD], 3, "prefix length"),
    ("cidr-bad-ipv6", ["2001:db8::zz/32," + GOOD], 3, "bad network"),
    ("cidr-empty", ["," + GOOD], 3, "bad network"),
    ("cidr-zone-id", ["fe80::1%eth0/128," + GOOD], 3, "bad network"),
    ("host-bits-ipv4", ["81.2.69.1/24," + GOOD], 3, "bits set past"),
    ("host-bits-ipv6", ["2001:db8:100::1/40," + GOOD], 3, "bits set past"),
    ("host-bits-zero-prefix", ["1.0.0.0/0," + GOOD], 3, "bits set past"),
    ("too-few-columns", ["10.0.0.0/8,EU,GB"], 3, "columns"),
    ("too-many-columns", ["10.0.0.0/8," + GOOD + ",extra"], 3, "columns"),
    ("latitude-high", ["10.0.0.0/8,EU,GB,,,,90.0001,0"], 3, "latitude"),
    ("latitude-low", ["10.0.0.0/8,EU,GB,,,,-91,0"], 3, "latitude"),
    ("longitude-high", ["10.0.0.0/8,EU,GB,,,,0,180.5"], 3, "longitude"),
    ("longitude-low", ["10.0.0.0/8,EU,GB,,,,0,-181"], 3, "longitude"),
    ("latitude-not-number", ["10.0.0.0/8,EU,GB,,,,north,0"], 3, "latitude"),
    ("latitude-nan", ["10.0.0.0/8,EU,GB,,,,nan,0"], 3, "latitude"),
    ("latitude-without-longitude", ["10.0.0.0/8,EU,GB,,,,51.5,"], 3, "together"),
    ("asn-text", ["10.0.0.0/8,EU,GB,,AS20712,,,"], 3, "ASN"),
    ("asn-negative", ["10.0.0.0/8,EU,GB,,-1,,,"], 3, "ASN"),
    ("asn-too-large", ["10.0.0.0/8,EU,GB,,4294967296,,,"], 3, "ASN"),
    ("asn-fraction", ["10.0.0.0/8,EU,GB,,1.5,,,"], 3, "ASN"),
    ("asn-zero", ["10.0.0.0/8,EU,GB,,0,,,"], 3, "ASN"),
    ("continent-unknown", ["10.0.0.0/8,XX,GB,,,,,"], 3, "continent"),
    ("country-bad", ["10.0.0.0/8,EU,GBR,,,,,"], 3, "country"),
    ("unterminated-quote", ['10.0.0.0/8,EU,GB,,,"Org,,'], 3, "quote"),
    ("error-after-good-lines", ["10.0.0.0/8," + GOOD, "", "# x", "11.0.0.0/8,EU,GB,,,,95,0"], 6, "latitude"),
]


@pytest.mark.parametrize("lines,line_no,needle", [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_input_errors(mmdb_build, tmp_path, lines, line_no, needle):
    src = write_csv(tmp_path / "bad.csv", ["# comment"] + lines)
    out = tmp_path / "bad.mmdb"
    proc = run_build(mmdb_build, src, out)
    assert proc.returncode == 1, proc.stderr
    assert f"{src}:{line_no}: error:" in proc.stderr, proc.stderr
    assert needle.lower() in proc.stderr.lower(), proc.stderr
    assert_clean_errors(proc.stderr)
    assert not out.exists(), "no output may be written on errors"
    assert not list(tmp_path.glob("bad.mmdb.tmp*"))


# (id, data lines, line of the later network, line of the earlier network)
OVERLAP_CASES = [
    ("wider-first", ["10.0.0.0/8,EU,GB,,,,,", "10.1.0.0/16,NA,US,,,,,"], 4, 3),
    ("narrower-first", ["10.1.0.0/16,NA,US,,,,,", "10.0.0.0/8,EU,GB,,,,,"], 4, 3),
    ("same-network", ["10.0.0.0/8,EU,GB,,,,,", "10.0.0.0/8,NA,US,,,,,"], 4, 3),
    ("same-network-same-data", ["10.0.0.0/8,EU,GB,,,,,", "10.0.0.0/8,EU,GB,,,,,"], 4, 3),
    ("host-in-network", ["192.0.2.0/24,EU,GB,,,,,", "192.0.2.77/32,NA,US,,,,,"], 4, 3),
    ("ipv6", ["2001:db8::/32,EU,GB,,,,,", "2001:db8:100::/40,NA,US,,,,,"], 4, 3),
    ("ipv6-covers-ipv4", ["10.0.0.0/8,EU,GB,,,,,", "::/64,NA,US,,,,,"], 4, 3),
    ("everything", ["10.0.0.0/8,EU,GB,,,,,", "::/0,NA,US,,,,,"], 4, 3),
    ("ipv4-zero-prefix", ["0.0.0.0/0,EU,GB,,,,,", "8.8.8.0/24,NA,US,,,,,"], 4, 3),
]


@pytest.mark.parametrize("lines,later,earlier", [c[1:] for c in OVERLAP_CASES], ids=[c[0] for c in OVERLAP_CASES])
def test_overlapping_networks(mmdb_build, tmp_path, lines, later, earlier):
    src = write_csv(tmp_path / "overlap.csv", ["# comment"] + lines)
    out = tmp_path / "overlap.mmdb"
    proc = run_build(mmdb_build, src, out)
    assert proc.returncode == 1, proc.stderr
    assert_clean_errors(proc.stderr)
    [message] = [x for x in proc.stderr.splitlines() if "overlaps" in x]
    # Names both lines: "FILE:LATER: error: network A overlaps B (FILE:EARLIER)".
    assert message.startswith(f"{src}:{later}: error:"), message
    assert f"({src}:{earlier})" in message, message
    assert not out.exists()


def test_all_errors_reported(mmdb_build, tmp_path):
    src = write_csv(tmp_path / "many.csv", ["10.0.0.1/8," + GOOD, "11.0.0.0/8,EU,GB,,x,,,", "12.0.0.0/8,EU"])
    proc = run_build(mmdb_build, src, tmp_path / "many.mmdb")
    assert proc.returncode == 1
    for line in (2, 3, 4):
        assert f"{src}:{line}: error:" in proc.stderr
    assert_clean_errors(proc.stderr)


def test_missing_header(mmdb_build, tmp_path):
    src = write_csv(tmp_path / "nohdr.csv", ["# comment", "10.0.0.0/8," + GOOD], header=False)
    proc = run_build(mmdb_build, src, tmp_path / "nohdr.mmdb")
    assert proc.returncode == 1
    assert f"{src}:2: error:" in proc.stderr and "header" in proc.stderr
    src.write_text("")
    proc = run_build(mmdb_build, src, tmp_path / "nohdr.mmdb")
    assert proc.returncode == 1 and "header" in proc.stderr


def test_invalid_utf8(mmdb_build, tmp_path):
    src = tmp_path / "latin1.csv"
    src.write_bytes(HEADER.encode() + b"\n10.0.0.0/8,EU,DE,,,M\xfcnchen AG,,\n")
    proc = run_build(mmdb_build, src, tmp_path / "latin1.mmdb")
    assert proc.returncode == 1 and f"{src}:2: error:" in proc.stderr and "UTF-8" in proc.stderr


@pytest.mark.parametrize(
    "args,needle",
    [
        ([], "required"),
        (["--input", "x.csv"], "required"),
        (["--input", "x.csv", "--output", "y.mmdb", "--record-size", "16"], "record-size"),
        (["--input", "x.csv", "--output", "y.mmdb", "--build-epoch", "-5"], "build-epoch"),
        (["--input", "x.csv", "--output", "y.mmdb", "--bogus"], "unknown"),
        (["--input"], "needs a value"),
        (["--input", "x.csv", "--output", "y.mmdb", "--database-type", ""], "database-type"),
    ],
)
def test_usage_errors(mmdb_build, tmp_path, args, needle):
    proc = subprocess.run([str(mmdb_build), *args], capture_output=True, text=True, timeout=10, cwd=tmp_path)
    assert proc.returncode == 1
    assert needle in proc.stderr
    assert_clean_errors(proc.stderr)


def test_unreadable_input_and_output(mmdb_build, sample_csv, tmp_path):
    missing = tmp_path / "missing.csv"
    proc = run_build(mmdb_build, missing, tmp_path / "o.mmdb")
    assert proc.returncode == 1 and str(missing) in proc.stderr and "cannot open" in proc.stderr
    proc = run_build(mmdb_build, sample_csv, tmp_path / "no-such-dir" / "o.mmdb")
    assert proc.returncode == 1 and "cannot write" in proc.stderr
    assert_clean_errors(proc.stderr)


def test_garbage_input_never_crashes(mmdb_build, libmmdb, tmp_path):
    """Mutated and random lines: exit 0 with a readable database, or exit 1 with messages."""
    rnd = random.Random(20240601)
    valid = [line for line in SAMPLE_ROWS if line and not line.startswith("#")]
    alphabet = "0123456789abcdef:./,-\"# xyzEUGB\t\\\x00\x7f\xff"
    outcomes = []
    for i in range(60):
        lines = []
        for _ in range(rnd.randint(1, 6)):
            base = list(rnd.choice(valid))
            for _ in range(rnd.randint(0, 4)):
                op = rnd.random()
                pos = rnd.randint(0, len(base))
                if op < 0.4 and base:
                    del base[min(pos, len(base) - 1)]
                elif op < 0.8:
                    base.insert(pos, rnd.choice(alphabet))
                else:
                    base[pos:pos] = list("".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 40))))
            lines.append("".join(base))
        src = tmp_path / f"fuzz{i}.csv"
        src.write_bytes(("\n".join([HEADER] + lines) + "\n").encode("utf-8", "surrogateescape"))
        out = tmp_path / f"fuzz{i}.mmdb"
        proc = subprocess.run(
            [str(mmdb_build), "--input", str(src), "--output", str(out), "--record-size", rnd.choice(["24", "28", "32"])],
            capture_output=True, timeout=30,
        )
        stderr = proc.stderr.decode("utf-8", "replace")
        assert proc.returncode in (0, 1), f"fuzz{i}: exit {proc.returncode}\n{stderr}"
        outcomes.append(proc.returncode)
        if proc.returncode == 0:
            with MMDB(libmmdb, out) as mmdb:
                mmdb.walk()
        else:
            assert_clean_errors(stderr)
            assert not out.exists()
    assert 0 in outcomes and 1 in outcomes, "the mutations should produce both outcomes"


def assert_clean_errors(stderr: str) -> None:
    """Every stderr line is a one-line diagnostic, never a crash report."""
    lines = [x for x in stderr.splitlines() if x.strip()]
    assert lines, "expected an error message"
    for line in lines:
        assert re.match(r"^(\S.*?:\d+: error: .+|\S.*?: error: .+|mmdb-build: .+)$", line), line
    for bad in ("terminate called", "Aborted", "Segmentation", "Sanitizer", "what():"):
        assert bad not in stderr


# --------------------------------------------------------------------------------------------
# Tests: geoip/fetch-country-db.sh, offline
# --------------------------------------------------------------------------------------------


def pinned_version() -> str:
    m = re.search(r'^VERSION="([^"]+)"', FETCH_SCRIPT.read_text(), re.MULTILINE)
    assert m, "fetch-country-db.sh has no pinned VERSION"
    return m.group(1)


def offline_npm_env(tmp_path: Path) -> dict:
    """npm pointed at a closed port on 127.0.0.1, with an empty cache and no retries."""
    env = dict(os.environ)
    env.update(
        npm_config_registry="http://127.0.0.1:9/",
        npm_config_cache=str(tmp_path / "npm-cache"),
        npm_config_userconfig=str(tmp_path / "npmrc"),
        npm_config_fetch_retries="0",
        npm_config_fetch_timeout="5000",
        npm_config_update_notifier="false",
        npm_config_offline="false",
        FETCH_TIMEOUT="60",
    )
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "npm_config_proxy", "npm_config_https_proxy"):
        env.pop(key, None)
    return env


def run_fetch(args, env, timeout=120):
    return subprocess.run(
        ["bash", str(FETCH_SCRIPT), *args],
        capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL,
    )


def test_fetch_script_pins_a_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned_version())
    text = FETCH_SCRIPT.read_text()
    assert "@ip-location-db/geo-whois-asn-country-mmdb" in text
    assert "npm pack" in text and "npm install" not in text


def test_fetch_falls_back_without_network(mmdb_build, libmmdb, tmp_path):
    out = tmp_path / "geoip" / "geo-whois-asn-country.mmdb"
    env = offline_npm_env(tmp_path)
    proc = run_fetch([str(mmdb_build), "--output", str(out)], env)
    assert proc.returncode == 0, proc.stderr
    assert "used fallback" in proc.stderr, proc.stderr
    assert "test-geo.csv" in proc.stderr
    assert out.is_file()
    # It is the test database, and both readers open it.
    text = mmdblookup(out, "8.8.8.8")
    assert text.found and text.data["country"] == {"iso_code": "US"}
    assert text.metadata["database_type"] == "Meridian-Geo"
    with MMDB(libmmdb, out) as mmdb:
        assert mmdb.lookup("127.0.0.2").data["country"] == {"iso_code": "GB"}
    rebuilt = build_ok(mmdb_build, TEST_GEO_CSV, tmp_path / "direct.mmdb")
    assert out.read_bytes() == rebuilt.read_bytes()
    assert not list(out.parent.glob("*.tmp.*"))

    # A fallback copy is not mistaken for the pinned download: the next run tries npm again.
    again = run_fetch([str(mmdb_build), "--output", str(out)], env)
    assert again.returncode == 0 and "used fallback" in again.stderr


def test_fetch_finds_mmdb_build_via_env(mmdb_build, tmp_path):
    out = tmp_path / "db.mmdb"
    env = offline_npm_env(tmp_path)
    env["MMDB_BUILD"] = str(mmdb_build)
    proc = run_fetch(["--output", str(out)], env)
    assert proc.returncode == 0 and "used fallback" in proc.stderr, proc.stderr
    assert mmdblookup(out, "8.8.8.8").found


def test_fetch_skips_download_when_pinned_copy_present(mmdb_build, tmp_path):
    """Idempotence: a valid file recorded as the pinned download is kept; npm is not run
    (it could not succeed here, so a fallback would show)."""
    out = tmp_path / "db.mmdb"
    shutil.copy(build_ok(mmdb_build, TEST_GEO_CSV, tmp_path / "seed.mmdb"), out)
    Path(str(out) + ".source").write_text(
        f"npm:@ip-location-db/geo-whois-asn-country-mmdb@{pinned_version()}\n"
    )
    before = out.read_bytes()
    proc = run_fetch([str(mmdb_build), "--output", str(out)], offline_npm_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "download skipped" in proc.stderr and "fallback" not in proc.stderr
    assert out.read_bytes() == before

    # A stale record (another version) or a broken file is not trusted.
    Path(str(out) + ".source").write_text("npm:@ip-location-db/geo-whois-asn-country-mmdb@0.0.1\n")
    proc = run_fetch([str(mmdb_build), "--output", str(out)], offline_npm_env(tmp_path))
    assert proc.returncode == 0 and "used fallback" in proc.stderr
    Path(str(out) + ".source").write_text(
        f"npm:@ip-location-db/geo-whois-asn-country-mmdb@{pinned_version()}\n"
    )
    out.write_bytes(b"not a database")
    proc = run_fetch([str(mmdb_build), "--output", str(out)], offline_npm_env(tmp_path))
    assert proc.returncode == 0 and "used fallback" in proc.stderr
    assert mmdblookup(out, "8.8.8.8").found


def test_fetch_fails_cleanly_without_mmdb_build(tmp_path):
    out = tmp_path / "db.mmdb"
    env = offline_npm_env(tmp_path)
    env.pop("MMDB_BUILD", None)
    proc = run_fetch([str(tmp_path / "no-such-mmdb-build"), "--output", str(out)], env)
    assert proc.returncode == 1
    assert "mmdb-build not found" in proc.stderr
    assert not out.exists()
