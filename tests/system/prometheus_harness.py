"""A real Prometheus for the system tests, and an exporter it scrapes whose gauges a test sets.

Exporter: an HTTP server on 127.0.0.1 (its own thread, a port the kernel picks) serving /metrics in
Prometheus's text format with the gauges the test has set; fail() makes /metrics answer 500, as a
broken target would. Prometheus: Debian's /usr/bin/prometheus (package `prometheus`, installed by
tools/install-deps.sh) on a free loopback port with its own config and data in a temporary
directory, scraping the exporter every second; query() asks its HTTP API, wait_for() polls it.

Fixtures `exporter` and `prometheus` (one Prometheus scraping that exporter) are defined here; a
test module brings them in as test_prometheus_harness.py does:

    pytest.register_assert_rewrite("prometheus_harness")  # before importing anything from it
    pytest_plugins = ["prometheus_harness"]

or uses the classes directly (Prometheus(workdir, [exporter.address]).start(), then .stop()).
"""

from __future__ import annotations

import http.server
import json
import math
import os
import signal
import socketserver
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Tuple

import pytest

from ports import find_free_port

PROMETHEUS = Path(os.environ.get("PROMETHEUS", "/usr/bin/prometheus"))
ACTIVE_PROMETHEUS: list = []  # started and not yet stopped, for the failure report

READY_TIMEOUT = 30.0  # seconds for a fresh Prometheus to answer /-/ready
STOP_TIMEOUT = 10.0  # seconds a signalled Prometheus has to exit before SIGKILL
HTTP_TIMEOUT = 5.0  # seconds for one request to Prometheus's API
POLL = 0.1  # how often wait_for asks again

LabelSet = Tuple[Tuple[str, str], ...]


def _label_key(labels: Optional[Mapping[str, str]]) -> LabelSet:
    return tuple(sorted((labels or {}).items()))


def _escape_label_value(value: str) -> str:
    # The text format's escapes inside a label value: backslash, double quote and line feed.
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_sample_value(value: float) -> str:
    """A value as the text format writes it: NaN, +Inf and -Inf by name, other floats in full."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


# -- the exporter ------------------------------------------------------------------------------


class _ExporterHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):  # keep pytest's output clean
        pass

    def do_GET(self):
        exporter: Exporter = self.server.exporter  # type: ignore[attr-defined]
        status, body = exporter._response(self.path)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the scraper gave up


class _ExporterServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class Exporter:
    """Gauges served at http://<host>:<port>/metrics. Every method may be called from any thread.

    set(name, labels, value): create or change one series; remove(name, labels): drop one series,
    or every series of `name` when labels is None; fail(status): /metrics answers `status` with a
    short text body until ok(); scrapes: how many GET /metrics have been answered (ok or not)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self._lock = threading.Lock()
        self._gauges: Dict[str, Dict[LabelSet, float]] = {}
        self._help: Dict[str, str] = {}
        self._fail_status: Optional[int] = None
        self._scrapes = 0
        self._server = _ExporterServer((host, port), _ExporterHandler)
        self._server.exporter = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    # -- what is served ----------------------------------------------------------------------

    def set(self, name: str, labels: Optional[Mapping[str, str]], value: float, help: str = "") -> "Exporter":
        with self._lock:
            self._gauges.setdefault(name, {})[_label_key(labels)] = float(value)
            if help or name not in self._help:
                self._help[name] = help or f"{name}, set by the test"
        return self

    def remove(self, name: str, labels: Optional[Mapping[str, str]] = None) -> "Exporter":
        with self._lock:
            if labels is None:
                self._gauges.pop(name, None)
                self._help.pop(name, None)
            else:
                self._gauges.get(name, {}).pop(_label_key(labels), None)
        return self

    def fail(self, status: int = 500) -> "Exporter":
        with self._lock:
            self._fail_status = status
        return self

    def ok(self) -> "Exporter":
        with self._lock:
            self._fail_status = None
        return self

    def metrics_text(self) -> str:
        """The text /metrics serves while not failing."""
        with self._lock:
            lines = []
            for name in sorted(self._gauges):
                series = self._gauges[name]
                if not series:
                    continue
                lines.append(f"# HELP {name} {self._help[name]}")
                lines.append(f"# TYPE {name} gauge")
                for labels, value in sorted(series.items()):
                    text = ",".join(f'{k}="{_escape_label_value(v)}"' for k, v in labels)
                    lines.append(f"{name}{{{text}}} {format_sample_value(value)}" if text else
                                 f"{name} {format_sample_value(value)}")
            return "".join(line + "\n" for line in lines)

    def _response(self, path: str) -> Tuple[int, bytes]:
        if urllib.parse.urlsplit(path).path != "/metrics":
            return 404, b"not found: only /metrics is served\n"
        with self._lock:
            self._scrapes += 1
            fail_status = self._fail_status
        if fail_status is not None:
            return fail_status, b"exporter failing on purpose (test)\n"
        return 200, self.metrics_text().encode()

    # -- observation -------------------------------------------------------------------------

    @property
    def scrapes(self) -> int:
        with self._lock:
            return self._scrapes

    @property
    def address(self) -> str:
        """host:port, as a Prometheus static_config names a target."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# -- Prometheus --------------------------------------------------------------------------------


class PrometheusError(Exception):
    pass


def _yaml_string(text: str) -> str:
    # JSON strings are YAML double-quoted strings: no quoting rules of our own.
    return json.dumps(text)


class Prometheus:
    """/usr/bin/prometheus on 127.0.0.1:<free port>, scraping `targets` (host:port strings) as job
    `job` every `scrape_interval`. Its files are in `workdir`: prometheus.yml, data/, stderr.

    query(promql) returns Prometheus's parsed JSON reply (error replies too); query_raw() the HTTP
    status and body as they came; wait_for(promql, predicate, timeout) polls until predicate(reply)
    is true and returns that reply, else fails the test with the last reply."""

    def __init__(
        self,
        workdir: Path,
        targets: Iterable[str],
        *,
        job: str = "exporter",
        scrape_interval: str = "1s",
        external_labels: Optional[Mapping[str, str]] = None,
        extra_args: Iterable[str] = (),
    ):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.targets = list(targets)
        self.job = job
        self.scrape_interval = scrape_interval
        self.external_labels = dict(external_labels or {})
        self.extra_args = list(extra_args)
        self.config_path = self.workdir / "prometheus.yml"
        self.data_path = self.workdir / "data"
        self.stderr_path = self.workdir / "prometheus.stderr"
        self.port: Optional[int] = None
        self.proc: Optional[subprocess.Popen] = None

    # -- lifecycle ---------------------------------------------------------------------------

    def config_text(self) -> str:
        lines = [
            "global:",
            f"  scrape_interval: {self.scrape_interval}",
            f"  scrape_timeout: {self.scrape_interval}",  # never longer than the interval
            f"  evaluation_interval: {self.scrape_interval}",
        ]
        if self.external_labels:
            lines.append("  external_labels:")
            lines += [f"    {k}: {_yaml_string(v)}" for k, v in sorted(self.external_labels.items())]
        lines += [
            "scrape_configs:",
            f"  - job_name: {_yaml_string(self.job)}",
            "    static_configs:",
            f"      - targets: [{', '.join(_yaml_string(t) for t in self.targets)}]",
        ]
        return "\n".join(lines) + "\n"

    def command(self) -> List[str]:
        return [
            str(PROMETHEUS),
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.data_path}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",
            "--storage.tsdb.retention.time=1h",  # a test's data never outlives it
            "--log.level=warn",  # startup chatter off; warnings and errors stay in stderr
            *self.extra_args,
        ]

    def start(self) -> "Prometheus":
        if not (PROMETHEUS.is_file() and os.access(PROMETHEUS, os.X_OK)):
            pytest.fail(
                f"prometheus not found at {PROMETHEUS}: install Debian's package `prometheus` "
                "(tools/install-deps.sh) or set PROMETHEUS",
                pytrace=False,
            )
        self.config_path.write_text(self.config_text())
        last_error = None
        for _attempt in range(3):  # the free port may be taken before Prometheus binds it
            self.port = find_free_port("127.0.0.1")
            with open(self.stderr_path, "wb") as err:
                self.proc = subprocess.Popen(
                    self.command(),
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    stdin=subprocess.DEVNULL,
                    cwd=self.workdir,
                )
            try:
                self._wait_ready()
                ACTIVE_PROMETHEUS.append(self)
                return self
            except PrometheusError as exc:
                last_error = exc
                self._kill()
                if "address already in use" not in self.stderr():
                    break
        raise PrometheusError(str(last_error))

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise PrometheusError(
                    f"prometheus exited with {self.proc.returncode} before it was ready\n{self.describe()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as reply:
                    if reply.status == 200:
                        return
                    last = f"HTTP {reply.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"  # 503 while the TSDB opens
            except OSError as exc:
                last = str(exc)
            time.sleep(POLL)
        raise PrometheusError(f"prometheus not ready within {READY_TIMEOUT:.0f} s ({last})\n{self.describe()}")

    def stop(self) -> Optional[int]:
        """SIGTERM, then SIGKILL if it has not exited within STOP_TIMEOUT; its exit code."""
        if self in ACTIVE_PROMETHEUS:
            ACTIVE_PROMETHEUS.remove(self)
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._kill()
            return self.proc.returncode

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def reload(self, targets: Optional[Iterable[str]] = None) -> None:
        """Rewrites the config (with new targets, if given) and has Prometheus load it (POST /-/reload)."""
        if targets is not None:
            self.targets = list(targets)
        self.config_path.write_text(self.config_text())
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as reply:
            if reply.status != 200:
                raise PrometheusError(f"reload answered HTTP {reply.status}\n{self.describe()}")

    # -- queries -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def query_raw(self, promql: str, at: Optional[float] = None) -> Tuple[int, bytes]:
        """GET /api/v1/query: the HTTP status and the body, whatever they are."""
        params = {"query": promql}
        if at is not None:
            params["time"] = repr(at)
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode(params, quote_via=urllib.parse.quote)}"
        try:
            with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as exc:  # 400, 422, 503: Prometheus's error replies have a JSON body
            return exc.code, exc.read()

    def query(self, promql: str, at: Optional[float] = None) -> dict:
        status, body = self.query_raw(promql, at)
        try:
            return json.loads(body)
        except ValueError:
            raise PrometheusError(f"query {promql!r}: HTTP {status}, not JSON: {body[:200]!r}") from None

    def wait_for(self, promql: str, predicate: Callable[[dict], bool], timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        reply: dict = {}
        while True:
            reply = self.query(promql)
            if predicate(reply):
                return reply
            if time.monotonic() >= deadline:
                pytest.fail(
                    f"{promql!r}: condition not met within {timeout} s; last reply {json.dumps(reply)}",
                    pytrace=False,
                )
            time.sleep(POLL)

    # -- diagnostics -------------------------------------------------------------------------

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def describe(self) -> str:
        text = self.stderr()
        if len(text) > 4000:
            text = "...\n" + text[-4000:]
        return f"command: {' '.join(self.command())}\nstderr:\n{text}"


# -- reading replies ---------------------------------------------------------------------------


def sample_values(reply: dict) -> List[float]:
    """The values of a successful vector reply, in Prometheus's order; [] for anything else."""
    data = reply.get("data") or {}
    if reply.get("status") != "success" or data.get("resultType") != "vector":
        return []
    return [float(sample["value"][1]) for sample in data.get("result", [])]


def single_value(reply: dict) -> Optional[float]:
    """The one value of a vector reply with exactly one sample, or of a scalar; else None."""
    data = reply.get("data") or {}
    if reply.get("status") == "success" and data.get("resultType") == "scalar":
        return float(data["result"][1])
    values = sample_values(reply)
    return values[0] if len(values) == 1 else None


def has_value(expected: float) -> Callable[[dict], bool]:
    """A wait_for predicate: the reply holds exactly one sample, equal to `expected`."""
    return lambda reply: single_value(reply) == expected


def is_empty(reply: dict) -> bool:
    """A wait_for predicate: a successful vector reply with no series."""
    return reply.get("status") == "success" and (reply.get("data") or {}).get("result") == []


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def exporter():
    """An Exporter on 127.0.0.1, closed at teardown."""
    e = Exporter()
    yield e
    e.close()


@pytest.fixture
def prometheus(exporter, tmp_path):
    """A Prometheus scraping `exporter` every second; stopped at teardown (it must exit by itself on
    SIGTERM), with its stderr in the failure report."""
    p = Prometheus(tmp_path / "prometheus", [exporter.address]).start()
    yield p
    code = p.stop()
    assert code == 0, f"prometheus exited with {code} after SIGTERM\n{p.describe()}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for p in list(ACTIVE_PROMETHEUS):
            report.sections.append((f"prometheus (port {p.port})", p.describe()))
