"""An HTTP client for meridiand's admin API: one request, JSON replies with their status
checked, and /metrics parsed into samples. Starting a server with the API on is
meridian_server.start_ops_server's job."""

from __future__ import annotations

import http.client
import json
from typing import Optional


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
