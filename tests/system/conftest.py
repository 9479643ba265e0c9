"""Shared machinery for Meridian's black-box system tests.

The tests start the real ``meridiand`` binary on a free loopback port, talk to it with
dnspython, raw sockets and real clients (dig, kdig, drill), and stop it again.

Binary: ``$MERIDIAND`` if set, else ``<repo>/build/bin/meridiand``.
Run with ``/usr/bin/python3 -m pytest tests/system``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path
from typing import Iterable, Optional

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from ports import family_of, find_free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_ZONES = REPO_ROOT / "zones"
ORIGIN = "geo.example.com."

STARTUP_TIMEOUT = 10.0  # seconds to wait for a fresh server to answer
STOP_TIMEOUT = 5.0  # seconds a signalled server has to exit
QUERY_TIMEOUT = 2.0  # per network call

DEFAULT_SERVER = {
    "allow_root": True,  # the suite runs as root (CI does); test_privileges.py covers the drop
    "workers": 2,
    "udp_max_payload": 1232,
    "tcp_idle_timeout_ms": 10000,
    "tcp_max_connections_per_worker": 512,
}
DEFAULT_IDENTITY = {
    "nsid": "meridian-test",
    "hostname": "host-a",
    "id_server": "node-a",
    "version": "Meridian test",
    "chaos": True,
}


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


# --------------------------------------------------------------------------------------------
# TOML rendering (only what the configs here need)
# --------------------------------------------------------------------------------------------


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (str, Path)):
        return json.dumps(str(value))  # a JSON string of ASCII text is a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot render {value!r} as TOML")


def merge_options(defaults: dict, overrides: Optional[dict]) -> dict:
    """defaults updated with overrides; an override of None removes the key."""
    result = dict(defaults)
    for key, value in (overrides or {}).items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def render_config(
    port: int,
    zones: Iterable,
    server: Optional[dict] = None,
    identity: Optional[dict] = None,
    listen: Optional[dict] = None,
    geoip: Optional[Iterable] = None,
    admin: Optional[dict] = None,
) -> str:
    """The server config text. geoip: [[geoip]] entries, each a path or a dict of its keys
    (path, fields = {fact: dotted path or list}); None or [] writes no [[geoip]] at all.
    admin: [admin] keys; by default the admin API is off (listen = ""), so that test servers
    never compete for the default port 8019."""
    listen = listen or {
        "udp": [f"127.0.0.1:{port}", f"[::1]:{port}"],
        "tcp": [f"127.0.0.1:{port}", f"[::1]:{port}"],
    }
    sections = {
        "listen": listen,
        "server": merge_options(DEFAULT_SERVER, server),
        "identity": merge_options(DEFAULT_IDENTITY, identity),
        "admin": merge_options({"listen": ""}, admin),
    }
    lines = [f"zones = {toml_value([str(z) for z in zones])}", ""]
    for name, table in sections.items():
        lines.append(f"[{name}]")
        for key, value in table.items():
            lines.append(f"{key} = {toml_value(value)}")
        lines.append("")
    lines += render_geoip(geoip)
    return "\n".join(lines)


def render_geoip(geoip: Optional[Iterable]) -> list:
    """[[geoip]] tables (lines) for render_config."""
    lines = []
    for entry in geoip or []:
        entry = entry if isinstance(entry, dict) else {"path": entry}
        lines.append("[[geoip]]")
        for key, value in entry.items():
            if isinstance(value, dict):
                inner = ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items())
                lines.append(f"{key} = {{ {inner} }}")
            else:
                lines.append(f"{key} = {toml_value(value)}")
        lines.append("")
    return lines


def zone_toml(
    origin: str,
    records: str,
    ttl: int = 300,
    soa: Optional[dict] = None,
) -> str:
    """A zone file (records string, then a default [soa]); `records` is the body of the string."""
    soa_fields = {
        "primary": f"ns1.{origin}",
        "contact": f"hostmaster.{origin}",
        "serial": 1,
        "refresh": 3600,
        "retry": 600,
        "expire": 1209600,
        "negative_ttl": 60,
        "ttl": 3600,
    }
    soa_fields.update(soa or {})
    lines = [f"origin = {toml_value(origin)}", f"ttl = {ttl}", ""]
    lines += ['records = """', records.strip("\n"), '"""', "", "[soa]"]
    lines += [f"{k} = {toml_value(v)}" for k, v in soa_fields.items()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------


def make_query(
    qname,
    rdtype="A",
    rdclass="IN",
    *,
    rd: bool = False,
    edns: Optional[int] = None,
    payload: int = 1232,
    dnssec: bool = False,
    ednsflags: int = 0,
    options=None,
    qid: Optional[int] = None,
) -> dns.message.QueryMessage:
    """A query; EDNS only when `edns` is a version number (or dnssec/options ask for it)."""
    if edns is None and (dnssec or options or ednsflags):
        edns = 0
    q = dns.message.make_query(qname, rdtype, rdclass, use_edns=False, id=qid, flags=dns.flags.RD if rd else 0)
    if edns is not None:
        # set the OPT directly: make_query()'s want_dnssec(False) wipes the version and Z bits
        # (dnspython 2.3 on Python 3.11 computes ~EDNSFlag.DO as 0)
        flags = int(ednsflags) | (int(dns.flags.DO) if dnssec else 0)
        q.use_edns(edns, ednsflags=flags, payload=payload, options=options)
    return q


def udp_exchange(msg: dns.message.Message, port: int, host="127.0.0.1", timeout=QUERY_TIMEOUT, **kw):
    return dns.query.udp(msg, host, timeout=timeout, port=port, **kw)


def tcp_exchange(msg: dns.message.Message, port: int, host="127.0.0.1", timeout=QUERY_TIMEOUT, **kw):
    return dns.query.tcp(msg, host, timeout=timeout, port=port, **kw)


def udp_raw(data: bytes, port: int, host="127.0.0.1", timeout=QUERY_TIMEOUT) -> Optional[bytes]:
    """Send raw bytes over UDP; the first datagram back, or None if none came within timeout."""
    with socket.socket(family_of(host), socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect((host, port))
        s.send(data)
        try:
            return s.recv(65535)
        except (socket.timeout, ConnectionRefusedError):
            return None


def recv_exact(sock: socket.socket, n: int) -> bytes:
    """Exactly n bytes; fewer if the peer closed first."""
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def tcp_connect(port: int, host="127.0.0.1", timeout=QUERY_TIMEOUT) -> socket.socket:
    s = socket.create_connection((host, port), timeout=timeout)
    s.settimeout(timeout)
    return s


def tcp_send_frame(sock: socket.socket, data: bytes) -> None:
    sock.sendall(struct.pack("!H", len(data)) + data)


def tcp_read_frame(sock: socket.socket) -> Optional[bytes]:
    """One length-prefixed message, or None if the connection was closed before it."""
    head = recv_exact(sock, 2)
    if len(head) < 2:
        return None
    (length,) = struct.unpack("!H", head)
    body = recv_exact(sock, length)
    if len(body) < length:
        return None
    return body


def tcp_raw(data: bytes, port: int, host="127.0.0.1", timeout=QUERY_TIMEOUT) -> Optional[bytes]:
    """Send one framed message over a new TCP connection; the framed answer or None."""
    with tcp_connect(port, host, timeout) as s:
        tcp_send_frame(s, data)
        try:
            return tcp_read_frame(s)
        except (socket.timeout, ConnectionResetError):
            return None


def wait_closed(sock: socket.socket, timeout: float) -> Optional[float]:
    """Seconds until the peer closes (EOF or reset); None if it stays open for `timeout`.

    Any data that arrives meanwhile is returned as a failure marker by raising AssertionError."""
    start = time.monotonic()
    sock.settimeout(0.1)
    while time.monotonic() - start < timeout:
        try:
            data = sock.recv(65535)
        except socket.timeout:
            continue
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            return time.monotonic() - start
        if not data:
            return time.monotonic() - start
        raise AssertionError(f"expected the connection to be closed, got data {data!r}")
    return None


# --------------------------------------------------------------------------------------------
# Server process
# --------------------------------------------------------------------------------------------

_ACTIVE_SERVERS: list = []


class ServerStartError(Exception):
    pass


class MeridianServer:
    """A running meridiand. Use .query()/.query_tcp() or the raw helpers."""

    def __init__(self, workdir: Path, zones, server=None, identity=None, listen=None, cwd=None, geoip=None):
        self.workdir = Path(workdir)
        self.cwd = Path(cwd) if cwd else self.workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.zones = list(zones)
        self.server_opts = server
        self.identity_opts = identity
        self.listen_opts = listen
        self.geoip = geoip
        self.port: Optional[int] = None
        self.proc: Optional[subprocess.Popen] = None
        self.config_path = self.workdir / "meridian.toml"
        self.stderr_path = self.workdir / "meridiand.stderr"
        self.stdout_path = self.workdir / "meridiand.stdout"
        self.stopped = False

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "MeridianServer":
        binary = require_binary()
        last_error = None
        for _attempt in range(5):
            self.port = find_free_port()
            listen = self.listen_opts(self.port) if callable(self.listen_opts) else self.listen_opts
            self.config_path.write_text(
                render_config(self.port, self.zones, self.server_opts, self.identity_opts, listen, self.geoip)
            )
            with open(self.stderr_path, "wb") as err, open(self.stdout_path, "wb") as out:
                self.proc = subprocess.Popen(
                    [str(binary), "-c", str(self.config_path)],
                    stdout=out,
                    stderr=err,
                    stdin=subprocess.DEVNULL,
                    cwd=self.cwd,
                )
            try:
                self._wait_ready()
                _ACTIVE_SERVERS.append(self)
                return self
            except ServerStartError as exc:
                last_error = exc
                self._kill()
                if "in use" not in self.stderr().lower():
                    break  # not a port collision: no point in retrying
        raise ServerStartError(f"meridiand did not start: {last_error}\n{self.describe()}")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        host, port = self.probe_address()
        probe = make_query(".", "SOA")
        udp_ok = tcp_ok = False
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(f"exited during startup with code {self.proc.returncode}")
            if not udp_ok:
                probe.id = (probe.id + 1) & 0xFFFF
                reply = udp_raw(probe.to_wire(), port, host, timeout=0.2)
                udp_ok = reply is not None and len(reply) >= 2 and reply[:2] == probe.to_wire()[:2]
            if udp_ok and not tcp_ok:
                try:
                    reply = tcp_raw(probe.to_wire(), port, host, timeout=0.5)
                    tcp_ok = reply is not None
                except OSError:
                    pass
            if udp_ok and tcp_ok:
                return
            time.sleep(0.05)
        raise ServerStartError(f"no answer within {STARTUP_TIMEOUT} s (udp={udp_ok}, tcp={tcp_ok})")

    def probe_address(self):
        if self.listen_opts is None:
            return "127.0.0.1", self.port
        listen = self.listen_opts(self.port) if callable(self.listen_opts) else self.listen_opts
        addr = listen["udp"][0]
        host, _, port = addr.rpartition(":")
        host = host.strip("[]")
        # A wildcard bind is probed on loopback: tests send nothing anywhere else.
        return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host), int(port)

    def _kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def signal(self, signum=signal.SIGTERM, timeout=STOP_TIMEOUT) -> Optional[int]:
        """Send a signal and wait for the exit code (None if still running after timeout)."""
        self.proc.send_signal(signum)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """SIGTERM; the server must exit with 0 within STOP_TIMEOUT."""
        if self.stopped:
            return
        self.stopped = True
        if self in _ACTIVE_SERVERS:
            _ACTIVE_SERVERS.remove(self)
        if self.proc.poll() is not None:
            code = self.proc.returncode
            raise AssertionError(f"meridiand had already exited with code {code}\n{self.describe()}")
        code = self.signal(signal.SIGTERM)
        if code is None:
            self._kill()
            raise AssertionError(f"meridiand did not exit within {STOP_TIMEOUT} s of SIGTERM\n{self.describe()}")
        assert code == 0, f"meridiand exited with {code} after SIGTERM\n{self.describe()}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def describe(self, tail: int = 4000) -> str:
        err = self.stderr()
        if len(err) > tail:
            err = "...\n" + err[-tail:]
        config = self.config_path.read_text() if self.config_path.exists() else "(none)"
        return f"--- config {self.config_path} ---\n{config}\n--- stderr {self.stderr_path} ---\n{err}"

    # -- queries -----------------------------------------------------------------------------

    def udp(self, msg, host="127.0.0.1", timeout=QUERY_TIMEOUT, **kw):
        return udp_exchange(msg, self.port, host, timeout, **kw)

    def tcp(self, msg, host="127.0.0.1", timeout=QUERY_TIMEOUT, **kw):
        return tcp_exchange(msg, self.port, host, timeout, **kw)

    def query(self, qname, rdtype="A", rdclass="IN", *, host="127.0.0.1", tcp=False, **kw):
        """Build a query (see make_query for keywords) and send it over UDP or TCP."""
        exchange_kw = {k: kw.pop(k) for k in ("one_rr_per_rrset", "timeout") if k in kw}
        q = make_query(qname, rdtype, rdclass, **kw)
        send = self.tcp if tcp else self.udp
        return send(q, host=host, **exchange_kw)

    def query_tcp(self, qname, rdtype="A", rdclass="IN", **kw):
        return self.query(qname, rdtype, rdclass, tcp=True, **kw)

    def udp_raw(self, data: bytes, host="127.0.0.1", timeout=QUERY_TIMEOUT):
        return udp_raw(data, self.port, host, timeout)

    def tcp_raw(self, data: bytes, host="127.0.0.1", timeout=QUERY_TIMEOUT):
        return tcp_raw(data, self.port, host, timeout)

    def assert_answers_normally(self) -> None:
        """The server still answers an ordinary query correctly (over UDP)."""
        assert self.alive(), f"meridiand died\n{self.describe()}"
        r = self.query("www.geo.example.com.", "A")
        assert r.rcode() == dns.rcode.NOERROR
        assert [rr.address for rr in r.answer[0]] == ["192.0.2.10"]


class ServerFactory:
    """Starts servers in a directory; all of them are stopped (and checked) on close()."""

    def __init__(self, base: Path):
        self.base = Path(base)
        self.servers: list = []

    def write_zone(self, filename: str, text: str, subdir: str = "zones") -> Path:
        d = self.base / subdir
        d.mkdir(parents=True, exist_ok=True)
        path = d / filename
        path.write_text(text)
        return path

    def __call__(
        self,
        zones=None,
        zone_files: Optional[dict] = None,
        server: Optional[dict] = None,
        identity: Optional[dict] = None,
        listen=None,
        geoip=None,
    ) -> MeridianServer:
        """Start meridiand.

        zones: list of zone paths (default: the example zones directory unless zone_files is given).
        zone_files: {filename: toml text} written into a fresh directory and served as well.
        server / identity: overrides of the [server] / [identity] tables (None removes a key).
        listen: a dict for [listen], or a callable port -> dict.
        geoip: [[geoip]] entries (paths or dicts), as for render_config.
        """
        workdir = self.base / f"server{len(self.servers)}"
        workdir.mkdir(parents=True, exist_ok=True)
        zone_paths = list(zones) if zones is not None else []
        if zone_files:
            zdir = workdir / "zones"
            zdir.mkdir(exist_ok=True)
            for name, text in zone_files.items():
                (zdir / name).write_text(text)
            zone_paths.append(zdir)
        elif zones is None:
            zone_paths.append(EXAMPLE_ZONES)
        srv = MeridianServer(workdir, zone_paths, server, identity, listen, geoip=geoip)
        self.servers.append(srv)
        return srv.start()

    def close(self) -> None:
        errors = []
        for srv in self.servers:
            if srv.proc is None or srv.stopped or srv not in _ACTIVE_SERVERS:
                continue  # never started, already stopped, or failed to start (reported then)
            try:
                srv.stop()
            except AssertionError as exc:
                errors.append(str(exc))
        if errors:
            pytest.fail("\n\n".join(errors), pytrace=False)


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture
def start_server(tmp_path):
    """Factory: start_server(zones=..., zone_files=..., server=..., identity=...) -> MeridianServer.

    Every server started is stopped with SIGTERM at teardown and must exit 0."""
    factory = ServerFactory(tmp_path)
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def module_start_server(tmp_path_factory):
    """Like start_server, but the servers live for the whole test module."""
    factory = ServerFactory(tmp_path_factory.mktemp("module-servers"))
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def server(module_start_server):
    """A server for the example zone (geo.example.com.) with the default test config."""
    return module_start_server()


@pytest.fixture(autouse=True)
def _servers_must_survive():
    """After every test, every server that was running must still be running."""
    before = [s for s in _ACTIVE_SERVERS if s.alive()]
    yield
    dead = [s for s in before if not s.alive() and not s.stopped]
    if dead:
        pytest.fail(
            "meridiand died during the test:\n"
            + "\n".join(f"exit code {s.proc.returncode}\n{s.describe()}" for s in dead),
            pytrace=False,
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for srv in list(_ACTIVE_SERVERS):
            report.sections.append((f"meridiand (port {srv.port}) stderr", srv.describe()))


# --------------------------------------------------------------------------------------------
# Checks shared by the test modules
# --------------------------------------------------------------------------------------------


def run_check(config: Path, timeout=10, cwd=None) -> subprocess.CompletedProcess:
    """`meridiand --check -c config`."""
    return subprocess.run(
        [str(require_binary()), "--check", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )


def write_config(directory: Path, zones, name="meridian.toml", **options) -> Path:
    """A server config in `directory` (for --check runs); options as for render_config."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(render_config(find_free_port(), zones, **options))
    return path


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


def rrset_texts(section) -> list:
    """['owner TTL CLASS TYPE rdata', ...] in section order, owner names as sent."""
    out = []
    for rrset in section:
        for rd in rrset:
            out.append(
                f"{rrset.name.to_text()} {rrset.ttl} {dns.rdataclass.to_text(rrset.rdclass)} "
                f"{dns.rdatatype.to_text(rrset.rdtype)} {rd.to_text()}"
            )
    return out


def find_rrset(section, name, rdtype):
    name = dns.name.from_text(name) if isinstance(name, str) else name
    rdtype = dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype
    for rrset in section:
        if rrset.name == name and rrset.rdtype == rdtype:
            return rrset
    return None


def assert_negative(r, rcode, origin=ORIGIN, ttl=60, aa=True):
    """NXDOMAIN/NODATA: empty answer, exactly the zone's SOA in authority with the negative TTL."""
    assert r.rcode() == rcode, f"rcode {dns.rcode.to_text(r.rcode())}\n{r}"
    assert bool(r.flags & dns.flags.AA) == aa, f"AA flag\n{r}"
    assert r.answer == [], f"answer should be empty\n{r}"
    assert len(r.authority) == 1, f"authority should hold just the SOA\n{r}"
    soa = r.authority[0]
    assert soa.rdtype == dns.rdatatype.SOA
    assert soa.name == dns.name.from_text(origin)
    assert len(soa) == 1
    assert soa.ttl == ttl, f"negative TTL {soa.ttl} != {ttl}"


# --------------------------------------------------------------------------------------------
# Geo steering: test databases, ECS options, distances
# --------------------------------------------------------------------------------------------

TEST_GEO_CSV = REPO_ROOT / "geoip" / "test-geo.csv"
EXAMPLE_GEO_ZONE = EXAMPLE_ZONES / "geo.example.com.toml"


def geo_mmdb_build_path() -> Path:
    """mmdb-build: ``$MMDB_BUILD`` if set, else ``<repo>/build/bin/mmdb-build``."""
    env = os.environ.get("MMDB_BUILD")
    return Path(env) if env else REPO_ROOT / "build" / "bin" / "mmdb-build"


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


@pytest.fixture(scope="session")
def test_geo_mmdb(tmp_path_factory) -> Path:
    """The test geo database: ``$MERIDIAN_TEST_MMDB``, else <repo>/build/geoip/test-geo.mmdb,
    else built from geoip/test-geo.csv into a temporary directory."""
    env = os.environ.get("MERIDIAN_TEST_MMDB")
    path = Path(env) if env else REPO_ROOT / "build" / "geoip" / "test-geo.mmdb"
    if path.is_file():
        return path.resolve()
    return build_geo_mmdb(TEST_GEO_CSV, tmp_path_factory.mktemp("geo-mmdb") / "test-geo.mmdb").resolve()


class GeoRow:
    """One network of a test-geo.csv file."""

    def __init__(self, fields: list):
        import ipaddress

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
    import csv

    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for fields in csv.reader(f):
            if not fields or fields[0].lstrip().startswith("#") or fields[0] == "network":
                continue
            rows.append(GeoRow(fields))
    return rows


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance on a sphere of the IUGG mean Earth radius."""
    import math

    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


def ecs(subnet: str) -> dns.edns.ECSOption:
    """An ECS option for "address/len" (scope 0), as a resolver sends it."""
    address, _, length = subnet.partition("/")
    return dns.edns.ECSOption(address, int(length) if length else None)


def raw_ecs(family: int, source: int, scope: int, address: bytes) -> dns.edns.GenericOption:
    """An ECS option built byte by byte (for malformed ones): family, source, scope, address."""
    return dns.edns.GenericOption(dns.edns.ECS, struct.pack("!HBB", family, source, scope) + address)


def reply_ecs(reply: dns.message.Message) -> list:
    """[(family, source, scope, address bytes)] for every ECS option of a reply, as sent."""
    out = []
    for opt in reply.options:
        if opt.otype != dns.edns.ECS:
            continue
        data = opt.to_wire()
        family, source, scope = struct.unpack("!HBB", data[:4])
        out.append((family, source, scope, data[4:]))
    return out


def answer_addresses(reply: dns.message.Message, rdtype="A") -> list:
    """The addresses of the answer section's A (or AAAA) records, in order."""
    rdtype = dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype
    return [rd.address for rrset in reply.answer if rrset.rdtype == rdtype for rd in rrset]


def _skip_wire_name(wire: bytes, pos: int) -> int:
    while True:
        length = wire[pos]
        if length & 0xC0 == 0xC0:
            return pos + 2
        pos += 1 + length
        if length == 0:
            return pos


def wire_ecs(wire: bytes) -> list:
    """[(family, source, scope, address bytes)] for every ECS option in a raw DNS message's OPT
    record, byte for byte as sent (dnspython's ECSOption would re-mask the address)."""
    qd, an, ns, ar = struct.unpack("!HHHH", wire[4:12])
    pos = 12
    for _ in range(qd):
        pos = _skip_wire_name(wire, pos) + 4
    out = []
    for _ in range(an + ns + ar):
        pos = _skip_wire_name(wire, pos)
        rtype, _cls, _ttl, rdlength = struct.unpack("!HHIH", wire[pos : pos + 10])
        pos += 10
        if rtype == dns.rdatatype.OPT:
            p, end = pos, pos + rdlength
            while p + 4 <= end:
                code, length = struct.unpack("!HH", wire[p : p + 4])
                data = wire[p + 4 : p + 4 + length]
                if code == dns.edns.ECS:
                    family, source, scope = struct.unpack("!HBB", data[:4])
                    out.append((family, source, scope, data[4:]))
                p += 4 + length
        pos += rdlength
    return out


def example_geo_zone_files(zone_text: Optional[str] = None) -> dict:
    """{filename: text} for the example geo zone (or `zone_text`, a variant of it) plus, for every
    file-kind health check it names, a state file with every region "up" — so that a hand edit
    of the checked-in zones/*.health.json cannot change what the steering tests see."""
    import tomllib

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


# --------------------------------------------------------------------------------------------
# Extra server-config tables (health tests: [alerts])
# --------------------------------------------------------------------------------------------


def start_server_with_extra_config(factory: "ServerFactory", extra_config: str, **kwargs) -> MeridianServer:
    """factory(**kwargs), with `extra_config` (TOML text, e.g. an [alerts] table) appended to the
    server config it writes. render_config is wrapped only while this server starts, in the
    globals of the module the factory's class comes from (the one MeridianServer.start uses)."""
    namespace = type(factory).__call__.__globals__
    original = namespace["render_config"]

    def with_extra(*args, **kw) -> str:
        return original(*args, **kw).rstrip("\n") + "\n\n" + extra_config.strip("\n") + "\n"

    namespace["render_config"] = with_extra
    try:
        return factory(**kwargs)
    finally:
        namespace["render_config"] = original


# --------------------------------------------------------------------------------------------
# Operations tests: the admin API on a free port ([admin], [analytics], [alerts]), meridianctl
# --------------------------------------------------------------------------------------------


def meridianctl_path() -> Path:
    """meridianctl: ``$MERIDIANCTL`` if set, else next to meridiand (``build/bin/meridianctl``)."""
    env = os.environ.get("MERIDIANCTL")
    return Path(env) if env else meridiand_path().parent / "meridianctl"


def ops_admin_table(admin_port: int, admin=None) -> dict:
    """[admin] keys for render_config(admin=...): listen defaults to 127.0.0.1:admin_port and
    "{port}" in it is replaced by admin_port; admin=False switches the API off (listen = "")."""
    if admin is False:
        return {"listen": ""}
    table = {"listen": "127.0.0.1:{port}"}
    table.update(admin or {})
    table["listen"] = str(table["listen"]).replace("{port}", str(admin_port))
    return table


def render_ops_tables(analytics: Optional[dict] = None, alerts: Optional[dict] = None) -> str:
    """[analytics] and [alerts] tables as TOML text (to append to render_config's)."""
    lines = []
    for name, table in (("analytics", analytics), ("alerts", alerts)):
        if table:
            lines += ["", f"[{name}]"]
            for key, value in table.items():
                lines.append(f"{key} = {repr(value) if isinstance(value, float) else toml_value(value)}")
    return "\n".join(lines) + "\n"


def render_ops_config(port: int, zones, admin_port: int, admin=None, analytics=None, alerts=None, **options) -> str:
    """A whole server config (render_config) with [admin], [analytics] and [alerts]."""
    return render_config(port, zones, admin=ops_admin_table(admin_port, admin), **options) + render_ops_tables(
        analytics, alerts)


def start_ops_server(factory: "ServerFactory", *, admin=None, analytics: Optional[dict] = None,
                     alerts: Optional[dict] = None, **kwargs) -> MeridianServer:
    """factory(**kwargs) with [admin] on a free loopback port (a fresh one for each start attempt)
    plus optional [analytics] / [alerts]. The server gets admin_host, admin_port, admin_url and
    admin_token (None without one) attributes."""
    namespace = type(factory).__call__.__globals__
    original = namespace["render_config"]
    listen = (admin or {}).get("listen", "127.0.0.1:{port}") if admin is not False else ""
    host = listen.rpartition(":")[0].strip("[]") or "127.0.0.1"
    chosen = {}

    def with_ops(*args, **kw) -> str:
        chosen["port"] = find_free_port(host) if admin is not False else 0
        kw["admin"] = ops_admin_table(chosen["port"], admin)
        return original(*args, **kw).rstrip("\n") + "\n" + render_ops_tables(analytics, alerts)

    namespace["render_config"] = with_ops
    try:
        srv = factory(**kwargs)
    finally:
        namespace["render_config"] = original
    srv.admin_host = host
    srv.admin_port = chosen.get("port", 0)
    bracketed = f"[{host}]" if ":" in host else host
    srv.admin_url = f"http://{bracketed}:{srv.admin_port}"
    srv.admin_token = admin.get("token") if isinstance(admin, dict) else None
    return srv


class AdminReply:
    def __init__(self, status: int, headers: dict, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"AdminReply({self.status}, {self.headers.get('content-type')!r}, {self.text[:400]!r})"


def admin_request(srv, method: str, path: str, body=None, token=None, headers: Optional[dict] = None,
                  timeout: float = 10.0) -> AdminReply:
    """One HTTP request to a server's admin API (srv: a MeridianServer from start_ops_server, or a
    (host, port) pair). body: bytes, str, or a dict/list sent as JSON. token=None uses the
    server's own token if it has one; token="" sends no Authorization header."""
    import http.client

    host, port = (srv.admin_host, srv.admin_port) if hasattr(srv, "admin_port") else srv
    if token is None:
        token = getattr(srv, "admin_token", None) or ""
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        hdrs.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return AdminReply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def admin_json(srv, method: str, path: str, expect: int = 200, **kw):
    """admin_request() that asserts the status and returns the parsed JSON body."""
    reply = admin_request(srv, method, path, **kw)
    assert reply.status == expect, f"{method} {path}: {reply}"
    return reply.json()


def scrape_metrics(srv, token=None) -> dict:
    """GET /metrics parsed with prometheus_client: {(sample name, frozenset(labels)): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    reply = admin_request(srv, "GET", "/metrics", token=token)
    assert reply.status == 200, reply
    samples = {}
    for family in text_string_to_metric_families(reply.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def metric_value(samples: dict, metric: str, /, **labels) -> Optional[float]:
    """The value of the sample with exactly these labels, or None if there is none."""
    return samples.get((metric, frozenset(labels.items())))


def wait_for(predicate, timeout: float, interval: float = 0.05):
    """Poll predicate() until it returns something truthy (returned) or timeout passes (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)
