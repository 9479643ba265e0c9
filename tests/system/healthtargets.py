"""Controllable loopback targets for the health-check system tests.

HttpTarget: a threaded HTTP server on 127.0.0.x:port whose behaviour a test switches at runtime:
status code, body, an added delay (slow), hang (accept, read the request, never answer) and
flapping (every other request fails). It records every request (time, method, path, body), so
it doubles as a webhook receiver and as a probe counter.

TcpTarget: a listener that a test opens and closes; while closed, connections are refused.

Everything binds loopback addresses only (the whole of 127.0.0.0/8 is routed to `lo` on Linux,
so each region gets its own address). Call close() (or use stop_all()) in teardown.
"""

from __future__ import annotations

import errno
import http.server
import json
import socket
import socketserver
import threading
import time
from typing import Iterable, Optional

from ports import find_free_port

HANG_POLL = 0.05  # how often a hanging handler looks whether it may let go


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: every probe is a fresh one

    def log_message(self, fmt, *args):  # keep pytest's output clean
        pass

    def _serve(self):
        target: HttpTarget = self.server.target  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, payload, delay, hang = target._next_response(
            self.command, self.path, body, dict(self.headers), self.client_address
        )
        if hang:
            # Accepted and read, never answered: the prober must give up on its own timeout.
            while target.hang and not target._closing.is_set():
                time.sleep(HANG_POLL)
            return
        if delay > 0:
            time.sleep(delay)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if payload.startswith(b"{") else "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the prober timed out and went away

    do_GET = _serve
    do_POST = _serve
    do_HEAD = _serve


class _KeepAliveHandler(_Handler):
    protocol_version = "HTTP/1.1"  # persistent connections, as most real health endpoints


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 64


class Request:
    __slots__ = ("time", "method", "path", "body", "headers", "peer")

    def __init__(self, when, method, path, body, headers, peer=None):
        self.time, self.method, self.path, self.body, self.headers = when, method, path, body, headers
        self.peer = peer  # (address, port) of the client: one port per connection

    def json(self):
        return json.loads(self.body.decode())

    def __repr__(self):
        return f"Request({self.method} {self.path} at {self.time:.3f})"


class HttpTarget:
    """An HTTP server on (host, port); port 0 picks a free one. Attributes a test may set at any
    time: status, body (bytes or str or a dict, sent as JSON), delay (seconds), hang (bool),
    flap (bool: requests alternate ok / flap_status, starting with whatever comes next) and
    fail_every (N > 0: every N-th request gets flap_status, counted from when it was set)."""

    def __init__(self, host: str = "127.0.0.11", port: int = 0, status: int = 200, body=b"ok", keep_alive=False):
        self.host = host
        self.status = status
        self.body = body
        self.delay = 0.0
        self.hang = False
        self.flap = False
        self.fail_every = 0
        self.flap_status = 503
        self._fail_count = 0
        self.requests: list = []
        self._lock = threading.Lock()
        self._flap_next_bad = False
        self._closing = threading.Event()
        self._server = _Server((host, port), _KeepAliveHandler if keep_alive else _Handler)
        self._server.target = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    # -- behaviour ---------------------------------------------------------------------------

    def set(self, *, status=None, body=None, delay=None, hang=None, flap=None, fail_every=None) -> "HttpTarget":
        with self._lock:
            if status is not None:
                self.status = status
            if body is not None:
                self.body = body
            if delay is not None:
                self.delay = delay
            if hang is not None:
                self.hang = hang
            if flap is not None:
                self.flap = flap
            if fail_every is not None:
                self.fail_every = fail_every
                self._fail_count = 0
        return self

    def ok(self) -> "HttpTarget":
        """Back to a plain, fast 200."""
        return self.set(status=200, delay=0.0, hang=False, flap=False, fail_every=0)

    def _next_response(self, method, path, body, headers, peer=None):
        with self._lock:
            self.requests.append(Request(time.monotonic(), method, path, body, headers, peer))
            status = self.status
            if self.flap:
                status = self.flap_status if self._flap_next_bad else self.status
                self._flap_next_bad = not self._flap_next_bad
            elif self.fail_every > 0:
                self._fail_count += 1
                if self._fail_count % self.fail_every == 0:
                    status = self.flap_status
            payload = self.body
            if isinstance(payload, dict):
                payload = json.dumps(payload)
            if isinstance(payload, str):
                payload = payload.encode()
            return status, payload, self.delay, self.hang

    # -- observation -------------------------------------------------------------------------

    def count(self, path: Optional[str] = None, since: Optional[float] = None) -> int:
        return len(self.requests_matching(path, since))

    def requests_matching(self, path: Optional[str] = None, since: Optional[float] = None) -> list:
        with self._lock:
            return [
                r
                for r in self.requests
                if (path is None or r.path == path) and (since is None or r.time >= since)
            ]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class TcpTarget:
    """A TCP listener on (host, port) that accepts and closes connections while open; closed, the
    port refuses them. The port stays the same across close()/open()."""

    def __init__(self, host: str = "127.0.0.21", port: int = 0, open_now: bool = True):
        self.host = host
        self.port = port
        self.accepted = 0
        self._sock: Optional[socket.socket] = None
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        if port == 0:
            # choose the port number now, so that it is known before the first open()
            self.port = find_free_port(host)
        if open_now:
            self.open()

    @property
    def is_open(self) -> bool:
        return self._sock is not None

    def open(self) -> "TcpTarget":
        with self._lock:
            if self._sock is not None:
                return self
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            deadline = time.monotonic() + 3
            while True:
                try:
                    s.bind((self.host, self.port))
                    break
                except OSError as exc:
                    if exc.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                        s.close()
                        raise
                    time.sleep(0.05)
            s.listen(64)
            s.settimeout(0.05)
            self._sock = s
            self._thread = threading.Thread(target=self._accept_loop, args=(s,), daemon=True)
            self._thread.start()
        return self

    def _accept_loop(self, s: socket.socket) -> None:
        while self._sock is s:
            try:
                conn, _ = s.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> "TcpTarget":
        """Stop listening: from now on connections to host:port are refused."""
        with self._lock:
            s, self._sock = self._sock, None
            thread, self._thread = self._thread, None
        if s is not None:
            s.close()
        if thread is not None:
            thread.join(timeout=2)
        return self


def http_targets_on_one_port(hosts: Iterable[str], attempts: int = 50, **kw) -> list:
    """HttpTargets on the same port of several loopback addresses (so that regions can share one
    check whose target is each region's own address)."""
    hosts = list(hosts)
    for _ in range(attempts):
        port = find_free_port(hosts)
        made = []
        try:
            for host in hosts:
                made.append(HttpTarget(host, port, **kw))
            return made
        except OSError:  # another process took the port meanwhile
            for t in made:
                t.close()
    raise RuntimeError(f"no port free on all of {hosts}")


class Targets:
    """Keeps every target a test made, for one stop_all() in teardown."""

    def __init__(self):
        self.items: list = []

    def http(self, host: str, port: int = 0, **kw) -> HttpTarget:
        t = HttpTarget(host, port, **kw)
        self.items.append(t)
        return t

    def http_same_port(self, hosts: Iterable[str], **kw) -> list:
        made = http_targets_on_one_port(hosts, **kw)
        self.items.extend(made)
        return made

    def tcp(self, host: str, port: int = 0, open_now: bool = True) -> TcpTarget:
        t = TcpTarget(host, port, open_now)
        self.items.append(t)
        return t

    def stop_all(self) -> None:
        for t in self.items:
            try:
                t.close()
            except Exception:  # teardown must reach every target
                pass
        self.items.clear()
