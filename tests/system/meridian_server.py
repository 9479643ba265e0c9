"""The meridiand process under test: start it on a free port with a rendered config, wait until
it answers over UDP and TCP, stop it (it must exit 0 on SIGTERM), and run `--check`. Which
servers are running is kept in ACTIVE_SERVERS for conftest.py's fixtures."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Optional

import dns.rcode
import pytest

from config_toml import ops_admin_table, render_config, render_ops_tables
from paths import EXAMPLE_ZONES, require_binary
from ports import find_free_port
from wire import QUERY_TIMEOUT, make_query, tcp_exchange, tcp_raw, udp_exchange, udp_raw

STARTUP_TIMEOUT = 10.0  # seconds to wait for a fresh server to answer
STOP_TIMEOUT = 5.0  # seconds a signalled server has to exit

ACTIVE_SERVERS: list = []


class ServerStartError(Exception):
    pass


class MeridianServer:
    """A running meridiand. Use .query()/.query_tcp() or the raw helpers.

    render: makes the config text from render_config's arguments (called again at each start
    attempt, with a fresh port); a wrapper of render_config adds tables the tests need."""

    def __init__(self, workdir: Path, zones, server=None, identity=None, listen=None, cwd=None, geoip=None,
                 render=render_config):
        self.workdir = Path(workdir)
        self.cwd = Path(cwd) if cwd else self.workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.zones = list(zones)
        self.server_opts = server
        self.identity_opts = identity
        self.listen_opts = listen
        self.geoip = geoip
        self.render = render
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
                self.render(self.port, self.zones, self.server_opts, self.identity_opts, listen, self.geoip)
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
                ACTIVE_SERVERS.append(self)
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
        if self in ACTIVE_SERVERS:
            ACTIVE_SERVERS.remove(self)
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
        render=render_config,
    ) -> MeridianServer:
        """Start meridiand.

        zones: list of zone paths (default: the example zones directory unless zone_files is given).
        zone_files: {filename: toml text} written into a fresh directory and served as well.
        server / identity: overrides of the [server] / [identity] tables (None removes a key).
        listen: a dict for [listen], or a callable port -> dict.
        geoip: [[geoip]] entries (paths or dicts), as for render_config.
        render: the config renderer, as for MeridianServer.
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
        srv = MeridianServer(workdir, zone_paths, server, identity, listen, geoip=geoip, render=render)
        self.servers.append(srv)
        return srv.start()

    def close(self) -> None:
        errors = []
        for srv in self.servers:
            if srv.proc is None or srv.stopped or srv not in ACTIVE_SERVERS:
                continue  # never started, already stopped, or failed to start (reported then)
            try:
                srv.stop()
            except AssertionError as exc:
                errors.append(str(exc))
        if errors:
            pytest.fail("\n\n".join(errors), pytrace=False)


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


def start_server_with_extra_config(factory: ServerFactory, extra_config: str, **kwargs) -> MeridianServer:
    """factory(**kwargs), with `extra_config` (TOML text, e.g. an [alerts] table) appended to the
    server config it writes."""

    def with_extra(*args, **kw) -> str:
        return render_config(*args, **kw).rstrip("\n") + "\n\n" + extra_config.strip("\n") + "\n"

    return factory(render=with_extra, **kwargs)


def start_ops_server(factory: ServerFactory, *, admin=None, analytics: Optional[dict] = None,
                     alerts: Optional[dict] = None, extra_config: str = "", **kwargs) -> MeridianServer:
    """factory(**kwargs) with [admin] on a free loopback port (a fresh one for each start attempt)
    plus optional [analytics] / [alerts] and `extra_config` (TOML text appended, e.g. [adaptive]).
    The server gets admin_host, admin_port, admin_url and admin_token (None without one)
    attributes."""
    listen = (admin or {}).get("listen", "127.0.0.1:{port}") if admin is not False else ""
    host = listen.rpartition(":")[0].strip("[]") or "127.0.0.1"
    chosen = {}

    def with_ops(*args, **kw) -> str:
        chosen["port"] = find_free_port(host) if admin is not False else 0
        kw["admin"] = ops_admin_table(chosen["port"], admin)
        text = render_config(*args, **kw).rstrip("\n") + "\n" + render_ops_tables(analytics, alerts)
        return text.rstrip("\n") + "\n\n" + extra_config.strip("\n") + "\n" if extra_config else text

    srv = factory(render=with_ops, **kwargs)
    srv.admin_host = host
    srv.admin_port = chosen.get("port", 0)
    bracketed = f"[{host}]" if ":" in host else host
    srv.admin_url = f"http://{bracketed}:{srv.admin_port}"
    srv.admin_token = admin.get("token") if isinstance(admin, dict) else None
    return srv


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


def wait_log(srv, pattern, bound, start=None):
    """Seconds from `start` (default now) until the server's stderr matches `pattern` (a regex),
    and the match; fails the test after bound + 1 s with what the server said."""
    start = time.monotonic() if start is None else start
    deadline = start + bound + 1.0
    rx = re.compile(pattern)
    while time.monotonic() < deadline:
        m = rx.search(srv.stderr())
        if m:
            return time.monotonic() - start, m
        time.sleep(0.02)
    pytest.fail(f"no log line matching {pattern!r} within {deadline - start:.2f} s\n{srv.describe()}")
