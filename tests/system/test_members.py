"""Region members from outside the zone file: the push API (GET/PUT/PATCH/DELETE
/members/ZONE/REGION), member feeds ([regions.NAME.members] feed = a URL asked every interval with
conditional requests, or a file read again when it changes), the members state file that carries
both across restarts, and `meridianctl members`.

Most tests serve a small zone of their own, mem.example., whose steered names use strategy "all"
(every answerable address of the chosen region) and a second route to a spare region, so that
each answer shows exactly which members were answerable: app.mem.example. routes to region web,
then to spare. Routes have no `when`, so the client address does not matter. The example zone is
used where the issue's "try it" does (meridianctl, client 127.0.0.3 → route cidr loopback-us →
us-east-1).

Feeds are asked every second (the shortest interval) with a 500 ms timeout: a change reaches the
answers within interval + 1 s (FEED_BOUND, plus ALLOWANCE for the test's own polling). The test
HTTP server (FeedServer) serves one document with an ETag and a Last-Modified, answers 304 when
If-None-Match matches (or, without it, when If-Modified-Since does), and can answer an HTTP error
or hang instead; it records every request with its headers and what it answered.

The tests at the end guard bugs found while writing these (a refused document's ETag taken as
good, a timeout logged at every read, a short interval refused, --weight unchecked).
"""

from __future__ import annotations

import http.server
import json
import re
import socketserver
import threading
import time
from pathlib import Path
from typing import Optional

import dns.rcode
import dns.rdatatype
import pytest

from admin_client import admin_json, admin_request
from config_toml import write_config
from geo import example_geo_zone_files
from health_zone import health_zone, tv
from meridian_server import run_check, start_ops_server, wait_for, wait_log
from ports import find_free_port
from test_meridianctl import ctl
from wire import make_query

ZONE = "mem.example."
APP = f"app.{ZONE}"
OPEN = f"open.{ZONE}"
FED = f"fed.{ZONE}"
TTL = 60
PRUNED_TTL = 10
WEB = ["192.0.2.1", "192.0.2.2"]  # web's addresses in the zone file
SPARE = "192.0.2.99"  # the second route's region
OPEN_ADDRESS = "192.0.2.50"
FED_ADDRESS = "192.0.2.60"
TOKEN = "members-token"

INTERVAL = 1.0  # seconds: every feed here is asked every second
ALLOWANCE = 0.3  # the test's own overhead (polling, admin requests)
FEED_BOUND = INTERVAL + 1.0 + ALLOWANCE  # a feed's change is in the answers within this long


# --------------------------------------------------------------------------------------------
# Zones
# --------------------------------------------------------------------------------------------


def name_all(*routes, ttl=TTL, pruned_ttl=PRUNED_TTL) -> dict:
    """A steered name answering with every answerable address: one route per list of regions."""
    return {"ttl": ttl, "pruned_ttl": pruned_ttl, "strategy": "all", "route": [{"to": list(to)} for to in routes]}


def members_zone(regions: dict, members: dict, names: dict) -> str:
    """health_zone()'s zone (no checks) plus a [regions.NAME.members] table per entry of
    `members`, written as a table of its own (not inline), as docs/CONFIG.md shows it."""
    text = health_zone({}, regions, names, origin=ZONE)
    for region, keys in members.items():
        text += f"[regions.{json.dumps(region)}.members]\n"
        text += "".join(f"{key} = {tv(value)}\n" for key, value in keys.items())
        text += "\n"
    return text


# The push tests' zone: web takes pushes of at most 3 IPv4 addresses, open may be emptied, alias is
# a CNAME region, fed takes its members from fed.json.
PUSH_ZONE = members_zone(
    {
        "web": {"addresses": WEB},
        "spare": {"addresses": [SPARE]},
        "open": {"addresses": [OPEN_ADDRESS]},
        "alias": {"cname": "www.elsewhere.example."},
        "fed": {},
    },
    {
        "web": {"max_members": 3, "family": "ipv4"},
        "open": {"allow_empty": True},
        "fed": {"feed": "fed.json", "interval": "1s", "timeout": "500ms"},
    },
    {
        "app": name_all(["web"], ["spare"]),
        "open": name_all(["open"], ["spare"]),
        "fed": name_all(["fed"], ["spare"]),
        "cn": {"ttl": TTL, "route": [{"to": ["alias"]}]},
    },
)
FED_DOC = {"version": 1, "members": [{"address": FED_ADDRESS}]}
PUSH_FILES = {"mem.example.toml": PUSH_ZONE, "fed.json": json.dumps(FED_DOC)}


def feed_zone(feed: str, **rules) -> str:
    """web takes its members from `feed` only (it has no addresses of its own); spare is route 2."""
    keys = {"feed": feed, "interval": "1s", "timeout": "500ms"}
    keys.update(rules)
    return members_zone(
        {"web": {}, "spare": {"addresses": [SPARE]}},
        {"web": keys},
        {"app": name_all(["web"], ["spare"])},
    )


def doc(*addresses, **member_keys) -> dict:
    return {"version": 1, "members": [dict({"address": a}, **member_keys) for a in addresses]}


DOC1 = doc("192.0.2.11", "192.0.2.12")
DOC2 = doc("192.0.2.21", "192.0.2.22", "192.0.2.23")
DOC3 = doc("192.0.2.31")


def addresses_of(document: dict) -> list:
    return [m["address"] for m in document["members"]]


# --------------------------------------------------------------------------------------------
# Servers, answers, the admin API
# --------------------------------------------------------------------------------------------


def serve(start_server, files: dict, **ops):
    """A meridiand serving `files` ({name: text}, the zone and its neighbours) with the admin API."""
    return start_ops_server(start_server, zone_files=files, **ops)


def restart(srv, between=None):
    """Stop `srv` (SIGTERM, exit 0), call between() if given, and start it again with the same
    config, zones and state files (a fresh port, and a fresh admin port, read back from the
    config it wrote). The server stays in its factory's list, so teardown stops it."""
    srv.stop()
    if between is not None:
        between()
    srv.stopped = False
    srv.start()
    m = re.search(r'^\[admin\]\nlisten = "([\d.]+):(\d+)"$', srv.config_path.read_text(), re.M)
    assert m, srv.config_path.read_text()
    srv.admin_host, srv.admin_port = m.group(1), int(m.group(2))
    srv.admin_url = f"http://{srv.admin_host}:{srv.admin_port}"
    return srv


class Answer:
    def __init__(self, reply, rdtype="A"):
        self.reply = reply
        self.rcode = reply.rcode()
        want = dns.rdatatype.from_text(rdtype)
        self.addrs = frozenset(rd.address for rr in reply.answer if rr.rdtype == want for rd in rr)
        self.ttls = {rr.ttl for rr in reply.answer}
        self.ttl = next(iter(self.ttls)) if len(self.ttls) == 1 else None

    def __repr__(self):
        return f"Answer({sorted(self.addrs)}, ttl={self.ttls}, rcode={dns.rcode.to_text(self.rcode)})"


def ask(srv, name=APP, rdtype="A", source=None) -> Answer:
    kw = {"source": source} if source else {}
    return Answer(srv.udp(make_query(name, rdtype), **kw), rdtype)


def assert_answer(srv, want, ttl, name=APP, source=None):
    a = ask(srv, name, source=source)
    assert a.rcode == dns.rcode.NOERROR and a.addrs == frozenset(want) and a.ttl == ttl, (
        f"{name}: expected {sorted(want)} with TTL {ttl}, got {a}")


def poll(srv, want, bound, name=APP, start=None, step=0.02) -> tuple:
    """Ask every `step` s until the answer is exactly `want`; (seconds since `start`, answer).
    Goes on a while past `bound`, so that a late change is measured; callers assert the time."""
    want = frozenset(want)
    start = time.monotonic() if start is None else start
    deadline = start + bound + max(1.0, bound)
    last = None
    while time.monotonic() < deadline:
        last = ask(srv, name)
        if last.rcode == dns.rcode.NOERROR and last.addrs == want:
            return time.monotonic() - start, last
        time.sleep(step)
    pytest.fail(f"{name}: {sorted(want)} did not come within {deadline - start:.2f} s; last: {last}\n{srv.describe()}")


def assert_steady(srv, want, seconds, ttl=None, name=APP, step=0.05):
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        a = ask(srv, name)
        assert a.addrs == frozenset(want), f"{name} sample {n}: {a}, expected {sorted(want)}"
        if ttl is not None:
            assert a.ttl == ttl, f"{name} sample {n}: {a}, expected TTL {ttl}"
        n += 1
        time.sleep(step)


def members_path(region: str, zone: str = ZONE) -> str:
    return f"/members/{zone}/{region}"


def get_members(srv, region: str, zone: str = ZONE) -> dict:
    return admin_json(srv, "GET", members_path(region, zone))


def region_status(srv, region: str, origin: str = ZONE) -> dict:
    zone = next(z for z in admin_json(srv, "GET", "/status")["zones"] if z["origin"] == origin)
    return next(r for r in zone["regions"] if r["name"] == region)


def feed_status(srv, region: str = "web") -> Optional[dict]:
    return region_status(srv, region)["feed"]


def assert_json_error(reply, status, contains=""):
    assert reply.status == status, reply
    assert reply.headers.get("content-type", "").startswith("application/json"), reply
    body = reply.json()
    assert set(body) == {"error"}, body
    assert contains in body["error"], f"{contains!r} not in {body['error']!r}"


def wait_feed(srv, predicate, bound, what, region="web", start=None):
    """Poll /status until predicate(feed status) holds; (seconds since `start`, the feed status)."""
    start = time.monotonic() if start is None else start
    deadline = start + bound + 1.0
    last = None
    while time.monotonic() < deadline:
        last = feed_status(srv, region)
        if last is not None and predicate(last):
            return time.monotonic() - start, last
        time.sleep(0.05)
    pytest.fail(f"the feed of {region} did not come to {what} within {deadline - start:.2f} s; last: {last}\n"
                f"{srv.describe()}")


def write_atomically(path: Path, text: str) -> None:
    """The whole new file at once: written beside it, then renamed over it."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


# --------------------------------------------------------------------------------------------
# A member feed over HTTP
# --------------------------------------------------------------------------------------------


class FeedRequest:
    __slots__ = ("time", "path", "headers", "answered")

    def __init__(self, when, path, headers, answered):
        self.time, self.path, self.headers, self.answered = when, path, headers, answered

    @property
    def is_conditional(self) -> bool:
        return "if-none-match" in self.headers or "if-modified-since" in self.headers

    def __repr__(self):
        cond = {k: v for k, v in self.headers.items() if k.startswith("if-")}
        return f"FeedRequest({self.time:.2f} {self.path} {cond} → {self.answered})"


class _FeedHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        feed: FeedServer = self.server.feed  # type: ignore[attr-defined]
        headers = {k.lower(): v for k, v in self.headers.items()}
        with feed.lock:
            body, etag, modified = feed.body, feed.etag, feed.last_modified
            status, hang, stall = feed.status, feed.hang, feed.stall
            if stall:
                feed.stalls += 1
                sent = feed.stalls
        if stall:
            feed._record(self.path, headers, f"stall after {sent} bytes")
            # A 200 whose body stops after `sent` bytes (one more at each request), then nothing.
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "200")
                self.end_headers()
                self.wfile.write(b" " * sent)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return
            while feed.stall and not feed.closing.is_set():
                time.sleep(0.05)
            return
        if hang:
            feed._record(self.path, headers, "hang")
            # Read and never answered: the server must give up on its own timeout.
            while feed.hang and not feed.closing.is_set():
                time.sleep(0.05)
            return
        inm, ims = headers.get("if-none-match"), headers.get("if-modified-since")
        if status != 200:
            answered, payload, extra = status, b"feed broken\n", {}
        elif (etag is not None and inm is not None and inm == etag) or (
                inm is None and modified is not None and ims == modified):
            answered, payload, extra = 304, b"", {}
        else:
            answered, payload, extra = 200, body, {}
            if etag is not None:
                extra["ETag"] = etag
            if modified is not None:
                extra["Last-Modified"] = modified
        feed._record(self.path, headers, answered)
        try:
            self.send_response(answered)
            for k, v in extra.items():
                self.send_header(k, v)
            if answered != 304:
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if answered != 304:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass


class _ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class FeedServer:
    """A member document at http://HOST:PORT/members.json. set() switches what it serves: the
    document (a dict is sent as JSON) with its ETag and Last-Modified (None: no such header), an
    HTTP status other than 200, a hang (the request read, nothing sent), or a stall (a 200 whose
    body stops after as many bytes as stalls were served so far)."""

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self.body, self.etag, self.last_modified = b"", None, None
        self.status, self.hang, self.stall, self.stalls = 200, False, False, 0
        self.requests: list = []
        self._server = _ThreadingServer((host, 0), _FeedHandler)
        self._server.feed = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self.closed = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/members.json"

    def set(self, body=None, etag=None, last_modified=None, status=200, hang=False, stall=False) -> "FeedServer":
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        with self.lock:
            self.body = body if body is not None else b""
            self.etag, self.last_modified = etag, last_modified
            self.status, self.hang, self.stall = status, hang, stall
        return self

    def _record(self, path, headers, answered):
        with self.lock:
            self.requests.append(FeedRequest(time.monotonic(), path, headers, answered))

    def since(self, t: float) -> list:
        with self.lock:
            return [r for r in self.requests if r.time >= t]

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.closing.set()
        self.hang = self.stall = False
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def feeds():
    """feeds(host) -> FeedServer; all closed at teardown. Ask for it before start_server, so that
    the server stops first."""
    made: list = []

    def _make(host="127.0.0.1") -> FeedServer:
        f = FeedServer(host)
        made.append(f)
        return f

    yield _make
    for f in made:
        f.close()


LM1 = "Sun, 06 Dec 2026 10:00:00 GMT"
LM2 = "Sun, 06 Dec 2026 11:00:00 GMT"
LM3 = "Sun, 06 Dec 2026 12:00:00 GMT"


# ============================================================================================
# 1. The push API
# ============================================================================================


def test_push_put_patch_delete_round_trip(start_server):
    """GET lists every address region (not the CNAME one) with its source; PUT replaces web's
    members and the very next query answers with them; PATCH upserts and removes; DELETE goes back
    to the zone file's addresses (and a second DELETE is 404). The zone is named with and without
    its final dot."""
    srv = serve(start_server, PUSH_FILES)
    listing = admin_json(srv, "GET", "/members?zone=mem.example")
    assert [(r["region"], r["source"]) for r in listing["regions"]] == [
        ("web", "zone file"), ("spare", "zone file"), ("open", "zone file"), ("fed", "feed")], listing
    web = listing["regions"][0]
    assert web == {"zone": ZONE, "region": "web", "source": "zone file", "updated": None,
                   "members": [{"address": a, "state": "up", "weight": 1} for a in WEB]}, web
    assert admin_json(srv, "GET", "/members") == listing  # one zone: the same list
    assert get_members(srv, "web", zone="mem.example") == web
    assert_answer(srv, WEB, TTL)
    assert region_status(srv, "web")["member_source"] == "zone file"
    assert region_status(srv, "web")["members"] is None  # zone-file addresses, no member health
    assert region_status(srv, "alias")["member_source"] is None

    t = time.time()
    put = admin_json(srv, "PUT", members_path("web", "mem.example"),
                     body={"version": 1, "members": [{"address": "192.0.2.11", "id": "i-0abc", "colour": "blue"},
                                                     {"address": "192.0.2.12", "load": 0.4, "weight": 3}]})
    updated = put.pop("updated")
    assert isinstance(updated, int) and t - 2 <= updated <= time.time() + 2, updated
    assert put == {"zone": ZONE, "region": "web", "source": "push",
                   "members": [{"address": "192.0.2.11", "id": "i-0abc", "state": "up", "weight": 1},
                               {"address": "192.0.2.12", "state": "up", "weight": 3, "load": 0.4}]}, put
    assert_answer(srv, ["192.0.2.11", "192.0.2.12"], TTL)  # at once: the next query
    assert get_members(srv, "web") == dict(put, updated=updated)
    listing = admin_json(srv, "GET", "/members?zone=mem.example.")
    assert [(r["region"], r["source"]) for r in listing["regions"]][0] == ("web", "push"), listing
    status = region_status(srv, "web")
    assert status["member_source"] == "push" and status["feed"] is None, status
    assert [(m["address"], m["id"], m["answered"]) for m in status["members"]] == [
        ("192.0.2.11", "i-0abc", True), ("192.0.2.12", None, True)], status["members"]
    assert "members: mem.example./web set by push to 2 addresses" in srv.stderr()

    patched = admin_json(srv, "PATCH", members_path("web"),
                         body={"members": [{"address": "192.0.2.13"}], "remove": ["192.0.2.11"]})
    assert [m["address"] for m in patched["members"]] == ["192.0.2.12", "192.0.2.13"], patched
    assert patched["source"] == "push"
    assert_answer(srv, ["192.0.2.12", "192.0.2.13"], TTL)

    reset = admin_json(srv, "DELETE", members_path("web", "mem.example"))
    assert reset == {"zone": ZONE, "region": "web", "source": "zone file", "updated": None,
                     "members": [{"address": a, "state": "up", "weight": 1} for a in WEB]}, reset
    assert_answer(srv, WEB, TTL)
    assert region_status(srv, "web")["member_source"] == "zone file"
    assert_json_error(admin_request(srv, "DELETE", members_path("web")), 404, "has no members set")
    assert "members: mem.example./web reset to the zone file's 2 addresses" in srv.stderr()

    # a PATCH with nothing set starts from the zone file's addresses
    patched = admin_json(srv, "PATCH", members_path("web"), body={"members": [{"address": "192.0.2.3"}]})
    assert [m["address"] for m in patched["members"]] == WEB + ["192.0.2.3"], patched
    assert_answer(srv, WEB + ["192.0.2.3"], TTL)
    patched = admin_json(srv, "PATCH", members_path("web"), body={"remove": ["192.0.2.1"]})
    assert [m["address"] for m in patched["members"]] == ["192.0.2.2", "192.0.2.3"], patched
    assert_answer(srv, ["192.0.2.2", "192.0.2.3"], TTL)


def test_drained_down_and_standby_members_in_answers(start_server):
    """Members without a per-address check count as up unless their source says otherwise: a
    drained or down member leaves the answers (TTL pruned_ttl while it does); a standby (weight 0)
    waits without shortening the TTL, and answers alone when no weighted member can; with no
    member answerable the next route's region answers."""
    srv = serve(start_server, PUSH_FILES)
    admin_json(srv, "PUT", members_path("web"), body={"members": [
        {"address": "192.0.2.11"}, {"address": "192.0.2.12"}, {"address": "192.0.2.13", "weight": 0}]})
    assert_answer(srv, ["192.0.2.11", "192.0.2.12"], TTL)  # a standby waiting is not "left out"

    admin_json(srv, "PATCH", members_path("web"), body={"members": [{"address": "192.0.2.12", "state": "drain"}]})
    assert_answer(srv, ["192.0.2.11"], PRUNED_TTL)
    members = {m["address"]: m for m in region_status(srv, "web")["members"]}
    assert (members["192.0.2.12"]["source_state"], members["192.0.2.12"]["answered"]) == ("drain", False), members
    assert (members["192.0.2.11"]["source_state"], members["192.0.2.11"]["answered"]) == ("up", True), members
    assert (members["192.0.2.13"]["weight"], members["192.0.2.13"]["answered"]) == (0, False), members

    admin_json(srv, "PATCH", members_path("web"), body={"members": [{"address": "192.0.2.11", "state": "down"}]})
    assert_answer(srv, ["192.0.2.13"], PRUNED_TTL)  # only the standby is left
    members = {m["address"]: m for m in region_status(srv, "web")["members"]}
    assert members["192.0.2.13"]["answered"] is True and members["192.0.2.11"]["answered"] is False, members

    admin_json(srv, "PATCH", members_path("web"), body={"members": [{"address": "192.0.2.13", "state": "drain"}]})
    assert_answer(srv, [SPARE], PRUNED_TTL)  # nothing in web can answer: route 2

    admin_json(srv, "PATCH", members_path("web"), body={"members": [{"address": "192.0.2.11", "state": "up"},
                                                                     {"address": "192.0.2.12", "state": "up"}]})
    assert_answer(srv, ["192.0.2.11", "192.0.2.12"], PRUNED_TTL)  # .13 is still drained
    admin_json(srv, "PATCH", members_path("web"), body={"remove": ["192.0.2.13"]})
    assert_answer(srv, ["192.0.2.11", "192.0.2.12"], TTL)  # nothing left out any more


def test_members_of_both_families_and_pruning_per_family(start_server):
    """open takes any family. Pushed IPv4 and IPv6 members answer A and AAAA; a drained IPv4
    member shortens the A answer's TTL, not the AAAA answer's (and the other way round)."""
    srv = serve(start_server, PUSH_FILES)
    put = admin_json(srv, "PUT", members_path("open"), body={"members": [
        {"address": "2001:db8::51"}, {"address": "192.0.2.51"}, {"address": "192.0.2.52", "state": "drain"}]})
    assert [m["address"] for m in put["members"]] == ["192.0.2.51", "192.0.2.52", "2001:db8::51"], put
    a, aaaa = ask(srv, OPEN), ask(srv, OPEN, "AAAA")
    assert (a.addrs, a.ttl) == ({"192.0.2.51"}, PRUNED_TTL), a
    assert (aaaa.addrs, aaaa.ttl) == ({"2001:db8::51"}, TTL), aaaa
    admin_json(srv, "PATCH", members_path("open"), body={
        "members": [{"address": "192.0.2.52"}, {"address": "2001:db8::52", "state": "down"}]})
    a, aaaa = ask(srv, OPEN), ask(srv, OPEN, "AAAA")
    assert (a.addrs, a.ttl) == ({"192.0.2.51", "192.0.2.52"}, TTL), a
    assert (aaaa.addrs, aaaa.ttl) == ({"2001:db8::51"}, PRUNED_TTL), aaaa


def test_pushed_members_survive_a_reload_and_a_zone_edit(start_server):
    """A reload compiles the zones again from their files; the members set stay laid over them.
    An edit of the zone file (spare's address) is served next to them."""
    srv = serve(start_server, PUSH_FILES)
    admin_json(srv, "PUT", members_path("web"), body=doc("192.0.2.11", "192.0.2.12"))
    assert admin_json(srv, "POST", "/reload")["ok"] is True
    assert_answer(srv, ["192.0.2.11", "192.0.2.12"], TTL)
    assert get_members(srv, "web")["source"] == "push"
    zone_file = srv.workdir / "zones" / "mem.example.toml"
    zone_file.write_text(PUSH_ZONE.replace(f'"{SPARE}"', '"192.0.2.98"'))
    assert admin_json(srv, "POST", "/reload")["ok"] is True
    assert_answer(srv, ["192.0.2.11", "192.0.2.12"], TTL)
    admin_json(srv, "PATCH", members_path("web"), body={"members": [{"address": "192.0.2.11", "state": "down"},
                                                                     {"address": "192.0.2.12", "state": "down"}]})
    assert_answer(srv, ["192.0.2.98"], PRUNED_TTL)


def test_state_file_named_in_the_config(start_server):
    """[members] state_file, relative to the server config: written there (not next to the
    zones), and read from there at the next start."""
    srv = serve(start_server, PUSH_FILES, extra_config='[members]\nstate_file = "kept-members.json"')
    admin_json(srv, "PUT", members_path("web"), body=GOOD)
    kept = srv.config_path.parent / "kept-members.json"
    assert kept.is_file()
    assert not (srv.workdir / "zones" / "meridian-members.json").exists()
    assert [(e["region"], e["source"]) for e in json.loads(kept.read_text())["regions"]] == [
        ("fed", "feed"), ("web", "push")], kept.read_text()
    restart(srv)
    assert_answer(srv, ["192.0.2.11"], TTL)
    assert get_members(srv, "web")["source"] == "push"


GOOD = {"members": [{"address": "192.0.2.11"}]}
REFUSALS = [
    # (method, region, body, status, the error names)
    ("PUT", "web", "{not json", 400, "not JSON"),
    ("PUT", "web", [{"address": "192.0.2.11"}], 400, "a member document is an object"),
    ("PUT", "web", {"version": 2, "members": [{"address": "192.0.2.11"}]}, 400,
     "version 2 is not supported (this server reads version 1)"),
    ("PUT", "web", {"version": 1}, 400, '"members" is required'),
    ("PUT", "web", {"members": [{"id": "i-1"}]}, 400, 'members[0]: "address" is required'),
    ("PUT", "web", {"members": [{"address": "192.0.2.300"}]}, 400,
     'members[0].address: "192.0.2.300" is not an IPv4 or IPv6 address'),
    ("PUT", "web", {"members": [{"address": "192.0.2.11"}, {"address": "192.0.2.11"}]}, 400,
     "members[1].address: 192.0.2.11 is listed twice"),
    ("PUT", "web", {"members": [{"address": "2001:db8::11"}]}, 400,
     "members[0].address: 2001:db8::11 is not ipv4 (the region's family)"),
    ("PUT", "web", doc("192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14"), 400,
     "4 members: more than the region's max_members (3)"),
    ("PUT", "web", {"members": []}, 400, "no members: refusing to empty the region (allow_empty = false)"),
    ("PUT", "web", doc("192.0.2.11", state="sideways"), 400,
     'members[0].state: "sideways" is not one of up, down, drain'),
    ("PUT", "web", doc("192.0.2.11", weight=1001), 400, "members[0].weight: 1001 is not a whole number from 0 to 1000"),
    ("PUT", "web", doc("192.0.2.11", weight=-1), 400, "members[0].weight: -1 is not a whole number from 0 to 1000"),
    ("PUT", "web", doc("192.0.2.11", weight=1.5), 400, "members[0].weight: 1.5 is not a whole number"),
    ("PUT", "web", doc("192.0.2.11", weight="5"), 400, 'members[0].weight: "5" is not a whole number'),
    ("PUT", "web", doc("192.0.2.11", load=-0.5), 400, "members[0].load: -0.5 is not a number ≥ 0"),
    ("PUT", "web", doc("192.0.2.11", load="high"), 400, 'members[0].load: "high" is not a number ≥ 0'),
    ("PATCH", "web", "[]", 400, "the body must be a JSON object"),
    ("PATCH", "web", {"remove": ["not-an-address"]}, 400, 'remove: "not-an-address" is not an IP address'),
    ("PATCH", "web", {"members": [{"address": "192.0.2.11", "weight": 2000}]}, 400, "is not a whole number"),
    ("PATCH", "web", {"members": [{"address": "192.0.2.3"}, {"address": "192.0.2.4"}]}, 400,
     "4 members: more than the region's max_members (3)"),
    ("PATCH", "web", {"members": [{"address": "2001:db8::3"}]}, 400, "2001:db8::3 is not ipv4 (the region's family)"),
    ("PATCH", "web", {"remove": WEB}, 400, "no members: refusing to empty the region"),
    ("PATCH", "web", {"remove": ["192.0.2.77"]}, 404, "192.0.2.77 is not a member of region mem.example./web"),
    ("DELETE", "web", None, 404, "region mem.example./web has no members set"),
    ("PUT", "mars", GOOD, 404, "no region mars in zone mem.example."),
    ("GET", "mars", None, 404, "no region mars in zone mem.example."),
    ("PATCH", "mars", GOOD, 404, "no region mars in zone mem.example."),
    ("DELETE", "mars", None, 404, "no region mars in zone mem.example."),
    ("PUT", "alias", GOOD, 409, "region mem.example./alias is a CNAME region"),
    ("PATCH", "alias", GOOD, 409, "region mem.example./alias is a CNAME region"),
    ("DELETE", "alias", None, 409, "region mem.example./alias is a CNAME region"),
    ("PUT", "fed", GOOD, 409, "takes its members from its feed"),
    ("PATCH", "fed", {"remove": [FED_ADDRESS]}, 409, "takes its members from its feed"),
    ("DELETE", "fed", None, 409, "takes its members from its feed"),
]


@pytest.fixture(scope="module")
def push_srv(module_start_server):
    return start_ops_server(module_start_server, zone_files=PUSH_FILES)


@pytest.mark.parametrize("method, region, body, status, says", REFUSALS,
                         ids=[f"{i:02d}-{m}-{r}-{s}" for i, (m, r, _, s, _) in enumerate(REFUSALS)])
def test_push_refusals_say_why_and_change_nothing(push_srv, method, region, body, status, says):
    reply = admin_request(push_srv, method, members_path(region), body=body)
    assert_json_error(reply, status, says)
    if region == "fed":
        assert reply.json()["error"] == (f"region {ZONE}/fed takes its members from its feed "
                                         f"{push_srv.workdir / 'zones' / 'fed.json'}: change them there")
    # nothing was applied
    assert get_members(push_srv, "web")["source"] == "zone file"
    assert get_members(push_srv, "fed")["members"] == [{"address": FED_ADDRESS, "state": "up", "weight": 1}]
    assert_answer(push_srv, WEB, TTL)
    assert_answer(push_srv, [FED_ADDRESS], TTL, name=FED)


def test_unknown_zone_is_404(push_srv):
    assert_json_error(admin_request(push_srv, "GET", "/members?zone=nowhere.example"), 404, "no zone nowhere.example")
    for method, body in (("GET", None), ("PUT", GOOD), ("PATCH", GOOD), ("DELETE", None)):
        reply = admin_request(push_srv, method, members_path("web", "nowhere.example."), body=body)
        assert_json_error(reply, 404, "no region web in zone nowhere.example.")
    # the CNAME region takes no members and is not listed
    assert [r["region"] for r in admin_json(push_srv, "GET", "/members")["regions"]] == ["web", "spare", "open", "fed"]


def test_token_guards_the_members_endpoints(start_server):
    srv = serve(start_server, PUSH_FILES, admin={"token": TOKEN})
    requests = [("GET", "/members", None), ("GET", members_path("web"), None),
                ("PUT", members_path("web"), GOOD), ("PATCH", members_path("web"), GOOD),
                ("DELETE", members_path("web"), None)]
    for method, path, body in requests:
        missing = admin_request(srv, method, path, body=body, token="")
        assert_json_error(missing, 401, "missing bearer token")
        assert missing.headers.get("www-authenticate") == "Bearer", missing
        assert_json_error(admin_request(srv, method, path, body=body, token="wrong"), 403, "wrong bearer token")
    assert admin_json(srv, "GET", members_path("web"), token=TOKEN)["source"] == "zone file"  # nothing applied
    assert_answer(srv, WEB, TTL)
    assert admin_request(srv, "GET", "/members", token=TOKEN).status == 200
    assert admin_json(srv, "PUT", members_path("web"), token=TOKEN, body=GOOD)["source"] == "push"
    assert_answer(srv, ["192.0.2.11"], TTL)
    assert admin_json(srv, "PATCH", members_path("web"), token=TOKEN, body={"members": [{"address": "192.0.2.12"}]})
    assert_answer(srv, ["192.0.2.11", "192.0.2.12"], TTL)
    assert admin_json(srv, "DELETE", members_path("web"), token=TOKEN)["source"] == "zone file"
    assert_answer(srv, WEB, TTL)
    # meridianctl passes its token
    p = ctl("members", "show", ZONE, "web", admin=srv)
    assert p.returncode == 1 and "missing bearer token (HTTP 401)" in p.stderr, (p.stdout, p.stderr)
    p = ctl("members", "show", ZONE, "web", admin=srv, token=TOKEN)
    assert (p.returncode, p.stdout) == (0, f"{ZONE}/web (zone file): 192.0.2.1, 192.0.2.2\n"), p.stderr


# ============================================================================================
# 2. The state file: members across restarts
# ============================================================================================


def test_pushed_members_survive_a_restart(start_server):
    """Members pushed (and fed) are written to meridian-members.json next to the zones (the
    default); a restart with the same config serves them at once, GET says "push" with the same
    time of update. Writing the state file into the zone directory does not reload the zones."""
    srv = serve(start_server, PUSH_FILES)
    put = admin_json(srv, "PUT", members_path("web"), body={"members": [
        {"address": "192.0.2.11", "id": "i-1"}, {"address": "192.0.2.12", "state": "drain", "load": 0.5},
        {"address": "192.0.2.13", "weight": 7}]})
    assert_answer(srv, ["192.0.2.11", "192.0.2.13"], PRUNED_TTL)
    state = srv.workdir / "zones" / "meridian-members.json"
    assert state.is_file(), sorted(p.name for p in state.parent.iterdir())
    kept = json.loads(state.read_text())
    assert kept["meridian_members"] == 1, kept
    entries = {(e["zone"], e["region"]): e for e in kept["regions"]}
    assert set(entries) == {(ZONE, "web"), (ZONE, "fed")}, kept
    assert entries[(ZONE, "web")]["source"] == "push" and entries[(ZONE, "fed")]["source"] == "feed", kept
    # the state file's writes are no zone change: no reload (polled each second, 300 ms quiet)
    time.sleep(1.6)
    reloads = admin_json(srv, "GET", "/status")["reloads"]
    assert (reloads["succeeded"], reloads["failed"]) == (0, 0), reloads
    assert "reloaded" not in srv.stderr()

    restart(srv)
    assert_answer(srv, ["192.0.2.11", "192.0.2.13"], PRUNED_TTL)  # the first query after the start
    assert get_members(srv, "web") == put
    assert region_status(srv, "web")["member_source"] == "push"
    assert re.search(rf"members: {re.escape(str(state))}: read the members of 2 regions", srv.stderr()), srv.stderr()
    admin_json(srv, "DELETE", members_path("web"))
    restart(srv)
    assert get_members(srv, "web")["source"] == "zone file"  # the reset was kept too
    assert_answer(srv, WEB, TTL)


@pytest.mark.parametrize("broken, warning", [
    ("{not json at all", "not a members state file; starting with the zone files' addresses"),
    (json.dumps({"regions": []}), "not a members state file; starting with the zone files' addresses"),
    (json.dumps({"meridian_members": 1, "regions": [
        {"zone": ZONE, "region": "web", "source": "push", "updated": 1, "members": [{"address": "192.0.2.300"}]}]}),
     f"{ZONE}/web: members[0].address: \"192.0.2.300\" is not an IPv4 or IPv6 address; the zone file's addresses "
     "stand in"),
], ids=["not-json", "not-a-members-file", "bad-entry"])
def test_corrupt_state_file_is_a_warning_and_the_zone_file_serves(start_server, broken, warning):
    srv = serve(start_server, PUSH_FILES)
    admin_json(srv, "PUT", members_path("web"), body=GOOD)
    assert_answer(srv, ["192.0.2.11"], TTL)
    state = srv.workdir / "zones" / "meridian-members.json"
    restart(srv, between=lambda: state.write_text(broken))
    assert re.search(rf"meridiand warning: members: {re.escape(str(state))}: {re.escape(warning)}", srv.stderr()), (
        srv.stderr())
    assert_answer(srv, WEB, TTL)
    assert get_members(srv, "web")["source"] == "zone file"
    # and pushes work again
    admin_json(srv, "PUT", members_path("web"), body=GOOD)
    assert_answer(srv, ["192.0.2.11"], TTL)


# ============================================================================================
# 3. meridianctl members, on the example zone ("try it")
# ============================================================================================

GEO = "geo.example.com."
GEO_APP = "app.geo.example.com."
US_EAST = "198.51.100.10"
US_CLIENT = "127.0.0.3"  # cidr loopback-us → us-east-1


@pytest.fixture
def geo_srv(start_server, test_geo_mmdb):
    return start_ops_server(start_server, zone_files=example_geo_zone_files(), geoip=[test_geo_mmdb])


def test_meridianctl_members_try_it(geo_srv):
    srv = geo_srv
    assert_answer(srv, [US_EAST], 30, name=GEO_APP, source=US_CLIENT)

    p = ctl("members", "set", "geo.example.com", "us-east-1", "198.51.100.11", "198.51.100.12", admin=srv)
    assert (p.returncode, p.stderr) == (0, ""), p
    assert p.stdout == f"{GEO}/us-east-1 (push): 198.51.100.11, 198.51.100.12\n", p.stdout
    assert_answer(srv, ["198.51.100.11", "198.51.100.12"], 30, name=GEO_APP, source=US_CLIENT)

    p = ctl("members", "show", admin=srv)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    listed = [r["region"] for r in admin_json(srv, "GET", "/members")["regions"]]
    assert [line.split(" ")[0] for line in lines] == [f"{GEO}/{r}" for r in listed], p.stdout  # one line a region
    assert all(line.split(" ", 1)[1].startswith("(zone file): ") for line in lines if "us-east-1" not in line), p.stdout
    assert f"{GEO}/us-east-1 (push): 198.51.100.11, 198.51.100.12" in lines, p.stdout
    assert f"{GEO}/us-west-1 (zone file): 198.51.100.20, 2001:db8:2::10" in lines, p.stdout
    p = ctl("members", "show", GEO, admin=srv)
    assert p.returncode == 0 and p.stdout.splitlines() == lines, (p.stdout, p.stderr)
    p = ctl("members", "show", GEO, "us-east-1", admin=srv)
    assert (p.returncode, p.stdout) == (0, f"{GEO}/us-east-1 (push): 198.51.100.11, 198.51.100.12\n"), p.stderr
    p = ctl("--json", "members", "show", GEO, "us-east-1", admin=srv)
    assert p.returncode == 0 and json.loads(p.stdout) == get_members(srv, "us-east-1", zone=GEO), p.stdout

    p = ctl("members", "add", GEO, "us-east-1", "198.51.100.13", "--state", "drain", "--id", "i-0drain", admin=srv)
    assert (p.returncode, p.stdout) == (
        0, f"{GEO}/us-east-1 (push): 198.51.100.11, 198.51.100.12, 198.51.100.13 drain (i-0drain)\n"), p.stderr
    assert_answer(srv, ["198.51.100.11", "198.51.100.12"], 10, name=GEO_APP, source=US_CLIENT)  # pruned_ttl 10
    p = ctl("members", "add", GEO, "us-east-1", "198.51.100.14", "--weight", "0", admin=srv)
    assert p.returncode == 0 and p.stdout.endswith(", 198.51.100.14 weight 0\n"), (p.stdout, p.stderr)

    p = ctl("members", "remove", GEO, "us-east-1", "198.51.100.11", "198.51.100.13", admin=srv)
    assert (p.returncode, p.stdout) == (0, f"{GEO}/us-east-1 (push): 198.51.100.12, 198.51.100.14 weight 0\n"), p.stderr
    assert_answer(srv, ["198.51.100.12"], 30, name=GEO_APP, source=US_CLIENT)

    # refused: exit 1 and the server's reason with its HTTP status on stderr
    p = ctl("members", "remove", GEO, "us-east-1", "198.51.100.99", admin=srv)
    assert (p.returncode, p.stdout) == (1, ""), p
    assert p.stderr.startswith("meridianctl: ") and "198.51.100.99 is not a member" in p.stderr, p.stderr
    assert "(HTTP 404)" in p.stderr, p.stderr
    p = ctl("members", "set", GEO, "us-east-1", "not-an-address", admin=srv)
    assert p.returncode == 1 and "(HTTP 400)" in p.stderr and "not-an-address" in p.stderr, p.stderr
    p = ctl("members", "add", GEO, "us-east-1", "198.51.100.15", "--state", "sideways", admin=srv)
    assert p.returncode == 1 and "(HTTP 400)" in p.stderr and "sideways" in p.stderr, p.stderr
    p = ctl("members", "set", GEO, "mars-1", "198.51.100.11", admin=srv)
    assert p.returncode == 1 and "(HTTP 404)" in p.stderr, p.stderr
    assert get_members(srv, "us-east-1", zone=GEO)["members"] == [
        {"address": "198.51.100.12", "state": "up", "weight": 1},
        {"address": "198.51.100.14", "state": "up", "weight": 0}]

    p = ctl("members", "reset", "geo.example.com", "us-east-1", admin=srv)
    assert (p.returncode, p.stdout) == (0, f"{GEO}/us-east-1 (zone file): 198.51.100.10, 2001:db8:1::10\n"), p.stderr
    assert_answer(srv, [US_EAST], 30, name=GEO_APP, source=US_CLIENT)
    p = ctl("members", "reset", GEO, "us-east-1", admin=srv)
    assert p.returncode == 1 and "(HTTP 404)" in p.stderr, p.stderr


@pytest.mark.parametrize("args", [
    ["members", "set", GEO, "us-east-1"],
    ["members", "add", GEO],
    ["members", "remove", GEO, "us-east-1"],
    ["members", "frobnicate", GEO, "us-east-1", "198.51.100.11"],
    ["members", "show", GEO, "us-east-1", "extra"],
    ["members", "reset", GEO],
], ids=["set-no-address", "add-no-region", "remove-no-address", "unknown-action", "show-extra", "reset-no-region"])
def test_meridianctl_members_usage_errors_are_exit_2(args):
    p = ctl(*args, admin="http://127.0.0.1:9")
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert "meridianctl:" in p.stderr


def test_meridianctl_members_unreachable_is_exit_2():
    port = find_free_port("127.0.0.1")
    for args in (["members", "show"], ["members", "set", GEO, "us-east-1", "198.51.100.11"],
                 ["members", "reset", GEO, "us-east-1"]):
        p = ctl(*args, admin=f"http://127.0.0.1:{port}")
        assert p.returncode == 2 and "cannot reach" in p.stderr, (args, p.stdout, p.stderr)


# ============================================================================================
# 4. A URL feed, asked with conditional requests
# ============================================================================================


def test_url_feed_is_asked_conditionally_and_changes_reach_the_answers(feeds, start_server):
    feed = feeds("127.0.0.61").set(DOC1, etag='"v1"', last_modified=LM1)
    t_start = time.monotonic()
    srv = serve(start_server, {"mem.example.toml": feed_zone(feed.url)})
    poll(srv, addresses_of(DOC1), FEED_BOUND, start=t_start)
    assert_answer(srv, addresses_of(DOC1), TTL)
    first = feed.since(0)[0]
    assert not first.is_conditional, first
    assert first.headers.get("accept") == "application/json", first.headers

    time.sleep(3.3)  # three more intervals, the document unchanged
    seen = feed.since(0)
    later = seen[1:]
    assert 2 <= len(later) <= 5, f"{len(later)} requests in ~3.3 s at a 1 s interval: {seen}"
    for r in later:
        assert r.headers.get("if-none-match") == '"v1"', r
        assert r.headers.get("if-modified-since") == LM1, r
        assert r.answered == 304, r
    gaps = [b.time - a.time for a, b in zip(seen, seen[1:])]
    assert all(0.8 <= g <= 1.4 for g in gaps), f"requests {gaps} s apart, interval 1 s"
    status = feed_status(srv)
    assert status["source"] == feed.url and status["error"] is None and status["error_since"] is None, status
    assert status["rejected"] == 0, status
    n304 = sum(1 for r in feed.since(0) if r.answered == 304)
    assert status["not_modified"] in (n304 - 1, n304, n304 + 1), (status, feed.since(0))  # a request may be on its way
    assert status["reads"] - status["not_modified"] == 1, status  # one document read, the rest unchanged
    assert abs(status["last_read"] - time.time()) <= 2, status
    fed = get_members(srv, "web")
    assert fed["source"] == "feed" and [m["address"] for m in fed["members"]] == addresses_of(DOC1), fed
    assert region_status(srv, "web")["member_source"] == "feed"
    before = status

    t1 = time.monotonic()
    feed.set(DOC2, etag='"v2"', last_modified=LM2)
    took, answer = poll(srv, addresses_of(DOC2), FEED_BOUND, start=t1)
    assert took <= FEED_BOUND, f"the new document reached the answers after {took:.2f} s (bound {FEED_BOUND:.2f} s)"
    assert answer.ttl == TTL, answer
    wait_log(srv, r"members: mem\.example\./web set by its feed to 3 addresses", 1.0)
    assert wait_for(lambda: any(r.headers.get("if-none-match") == '"v2"' for r in feed.since(t1)), 2.5), feed.since(t1)
    for r in feed.since(t1):
        if r.headers.get("if-none-match") == '"v2"':
            assert r.headers.get("if-modified-since") == LM2 and r.answered == 304, r
    after = feed_status(srv)
    assert after["reads"] >= before["reads"] + 2, (before, after)  # the new document, then a 304
    assert after["not_modified"] >= before["not_modified"] + 1, (before, after)
    assert after["last_read"] >= before["last_read"] and after["error"] is None, (before, after)
    # a fed region takes no pushes
    assert_json_error(admin_request(srv, "PUT", members_path("web"), body=GOOD), 409, "takes its members from its feed")
    assert_answer(srv, addresses_of(DOC2), TTL)


def test_url_feed_without_etag_is_asked_with_if_modified_since(feeds, start_server):
    feed = feeds("127.0.0.62").set(DOC1, last_modified=LM1)
    srv = serve(start_server, {"mem.example.toml": feed_zone(feed.url)})
    poll(srv, addresses_of(DOC1), FEED_BOUND)
    assert wait_for(lambda: len(feed.since(0)) >= 3, 3.0), feed.since(0)
    for r in feed.since(0)[1:]:
        assert "if-none-match" not in r.headers and r.headers.get("if-modified-since") == LM1, r
        assert r.answered == 304, r
    feed.set(DOC2, last_modified=LM2)
    poll(srv, addresses_of(DOC2), FEED_BOUND)


# ============================================================================================
# 5. Bad feed documents keep the last good members
# ============================================================================================

BAD_FEEDS = {
    "not-json": (dict(body="{this is not json"), r"not JSON"),
    "empty": (dict(body={"members": []}), r"no members: refusing to empty the region \(allow_empty = false\)"),
    "wrong-family": (dict(body=doc("192.0.2.41", "2001:db8::41")),
                     r"members\[1\]\.address: 2001:db8::41 is not ipv4 \(the region's family\)"),
    "too-many": (dict(body=doc("192.0.2.41", "192.0.2.42", "192.0.2.43", "192.0.2.44")),
                 r"4 members: more than the region's max_members \(3\)"),
    "too-large": (dict(body=json.dumps(DOC2) + " " * (1 << 20)), r"the document is larger than 1048576 bytes"),
    "http-500": (dict(body=DOC2, status=500), r"HTTP 500"),
    "hang": (dict(body=DOC2, hang=True), r"timeout: .+"),
}


@pytest.mark.parametrize("variant", list(BAD_FEEDS))
def test_bad_feed_document_keeps_the_last_good_members(feeds, start_server, variant):
    """The feed serves DOC1, then something wrong (served without validators, so every interval
    fetches it again): the answers keep DOC1's members, /status feed.error gives the reason (and
    rejected counts up), the log says it once; queries are answered promptly all along (a
    hanging feed included). A good document then clears the error ("read again") and is served."""
    settings, reason = BAD_FEEDS[variant]
    feed = feeds("127.0.0.63").set(DOC1, etag='"good"')
    srv = serve(start_server, {"mem.example.toml": feed_zone(feed.url, max_members=3, family="ipv4")})
    poll(srv, addresses_of(DOC1), FEED_BOUND)
    good = get_members(srv, "web")

    t0 = time.monotonic()
    feed.set(**settings)
    worst = 0.0
    deadline = t0 + FEED_BOUND + 1.0
    status = None
    while time.monotonic() < deadline:
        q0 = time.monotonic()
        a = ask(srv)
        worst = max(worst, time.monotonic() - q0)
        assert a.addrs == frozenset(addresses_of(DOC1)) and a.ttl == TTL, f"while the feed is bad: {a}"
        status = feed_status(srv)
        if status["error"] is not None:
            break
        time.sleep(0.05)
    took = time.monotonic() - t0
    assert status and status["error"] is not None, f"no error in /status after {took:.2f} s: {status}"
    assert re.fullmatch(reason, status["error"]), status
    assert took <= FEED_BOUND + (0.5 if variant == "hang" else 0), f"the error showed after {took:.2f} s"
    assert isinstance(status["error_since"], int) and abs(status["error_since"] - time.time()) <= 3, status
    line = (rf"meridiand error: members: feed {re.escape(feed.url)} of mem\.example\./web: ({reason}) "
            r"\(keeping the last good members\)\n")
    wait_log(srv, line, 1.0)

    # the bad document stays for two more reads: the answers keep the good members, promptly
    hold_end = time.monotonic() + 2 * INTERVAL + 0.3
    samples = 0
    while time.monotonic() < hold_end:
        q0 = time.monotonic()
        a = ask(srv)
        worst = max(worst, time.monotonic() - q0)
        assert a.addrs == frozenset(addresses_of(DOC1)) and a.ttl == TTL, f"while the feed is bad: {a}"
        samples += 1
        time.sleep(0.02)
    assert worst < 0.2, f"a query took {worst * 1000:.0f} ms while the feed was {variant}"
    held = feed_status(srv)
    assert re.fullmatch(reason, held["error"]), held
    assert held["rejected"] >= status["rejected"] + 1, (status, held)
    # the same error, once in the log, since the same moment (a timeout's figures may differ)
    assert held["error_since"] == status["error_since"], (status, held)
    if variant != "hang":
        assert held["error"] == status["error"], (status, held)
    assert len(re.findall(line, srv.stderr())) == 1, f"the same error is logged once:\n{srv.stderr()}"
    assert "read again" not in srv.stderr()
    assert get_members(srv, "web") == good

    t1 = time.monotonic()
    feed.set(DOC3, etag='"fixed"')
    took, answer = poll(srv, addresses_of(DOC3), FEED_BOUND + (0.5 if variant == "hang" else 0), start=t1)
    assert answer.ttl == TTL, answer
    wait_log(srv, rf"meridiand info: members: feed {re.escape(feed.url)} of mem\.example\./web read again\n", 1.0)
    fixed = feed_status(srv)
    assert fixed["error"] is None and fixed["error_since"] is None, fixed


# ============================================================================================
# 6. A file feed
# ============================================================================================


def test_file_feed_follows_the_file(start_server, tmp_path):
    """feed = "feeds/web.json", relative to the zone file. Rewritten (atomically) the file reaches
    the answers within the bound; a broken file, or none at all, keeps the last good members with
    the reason in /status and the log; a good one is taken again."""
    zdir = tmp_path / "zones"
    (zdir / "feeds").mkdir(parents=True)
    feed_file = zdir / "feeds" / "web.json"
    feed_file.write_text(json.dumps(DOC1))
    (zdir / "mem.example.toml").write_text(feed_zone("feeds/web.json"))
    srv = start_ops_server(start_server, zones=[zdir])
    poll(srv, addresses_of(DOC1), FEED_BOUND)
    status = feed_status(srv)
    assert status["source"] == str(feed_file) and status["error"] is None and status["reads"] >= 1, status
    assert get_members(srv, "web")["source"] == "feed"

    t0 = time.monotonic()
    write_atomically(feed_file, json.dumps(DOC2))
    took, answer = poll(srv, addresses_of(DOC2), FEED_BOUND, start=t0)
    assert took <= FEED_BOUND, f"the file's change reached the answers after {took:.2f} s"
    assert answer.ttl == TTL

    t1 = time.monotonic()
    write_atomically(feed_file, '{"members": [')
    _, status = wait_feed(srv, lambda f: f["error"] is not None, FEED_BOUND, "an error", start=t1)
    assert status["error"] == "not JSON", status
    wait_log(srv, rf"meridiand error: members: feed {re.escape(str(feed_file))} of mem\.example\./web: not JSON "
             r"\(keeping the last good members\)", 1.0)
    assert_steady(srv, addresses_of(DOC2), 0.5, ttl=TTL)

    feed_file.unlink()
    _, status = wait_feed(srv, lambda f: f["error"] != "not JSON", FEED_BOUND, "another error")
    assert status["error"] == f"cannot read {feed_file}", status
    assert_steady(srv, addresses_of(DOC2), 0.3, ttl=TTL)

    t2 = time.monotonic()
    write_atomically(feed_file, json.dumps(DOC3))
    took, _ = poll(srv, addresses_of(DOC3), FEED_BOUND, start=t2)
    assert took <= FEED_BOUND, f"the fixed file reached the answers after {took:.2f} s"
    _, status = wait_feed(srv, lambda f: f["error"] is None, 1.0, "no error")
    wait_log(srv, rf"members: feed {re.escape(str(feed_file))} of mem\.example\./web read again", 1.0)
    # the feed file and the state file beside the zone are no zone files: nothing was reloaded
    reloads = admin_json(srv, "GET", "/status")["reloads"]
    assert (reloads["succeeded"], reloads["failed"]) == (0, 0), reloads


# ============================================================================================
# 7. A restart with the feed unreachable serves the cached members
# ============================================================================================


def test_restart_with_url_feed_unreachable_serves_the_cached_members(feeds, start_server):
    feed = feeds("127.0.0.64").set(DOC2, etag='"v2"')
    srv = serve(start_server, {"mem.example.toml": feed_zone(feed.url)})
    poll(srv, addresses_of(DOC2), FEED_BOUND)
    fed = get_members(srv, "web")
    feed.close()  # nothing listens there any more: connections are refused

    restart(srv)
    assert_answer(srv, addresses_of(DOC2), TTL)  # at once, from the state file
    assert get_members(srv, "web") == fed
    assert region_status(srv, "web")["member_source"] == "feed"
    _, status = wait_feed(srv, lambda f: f["error"] is not None, FEED_BOUND, "an error")
    assert status["source"] == feed.url and status["rejected"] >= 1, status
    wait_log(srv, rf"meridiand error: members: feed {re.escape(feed.url)} of mem\.example\./web: .+ "
             r"\(keeping the last good members\)\n", 1.0)
    assert_steady(srv, addresses_of(DOC2), 0.5, ttl=TTL)


# ============================================================================================
# 8. allow_empty = true
# ============================================================================================


def test_allow_empty_lets_a_feed_or_a_push_empty_the_region(start_server, tmp_path):
    """With allow_empty = true an empty document empties the region: the route's next region
    answers. The same for a push to a region that allows it (PUSH_ZONE's open); web does not."""
    zdir = tmp_path / "zones"
    zdir.mkdir()
    feed_file = zdir / "web.json"
    feed_file.write_text(json.dumps(DOC1))
    (zdir / "mem.example.toml").write_text(feed_zone("web.json", allow_empty=True))
    srv = start_ops_server(start_server, zones=[zdir])
    poll(srv, addresses_of(DOC1), FEED_BOUND)

    t0 = time.monotonic()
    write_atomically(feed_file, json.dumps({"version": 1, "members": []}))
    took, _ = poll(srv, [SPARE], FEED_BOUND, start=t0)
    assert took <= FEED_BOUND, took
    fed = get_members(srv, "web")
    assert (fed["source"], fed["members"]) == ("feed", []), fed
    assert feed_status(srv)["error"] is None
    assert_steady(srv, [SPARE], 0.3)
    write_atomically(feed_file, json.dumps(DOC1))
    poll(srv, addresses_of(DOC1), FEED_BOUND)

    push = serve(start_server, PUSH_FILES)
    assert_answer(push, [OPEN_ADDRESS], TTL, name=OPEN)
    emptied = admin_json(push, "PUT", members_path("open"), body={"members": []})
    assert (emptied["source"], emptied["members"]) == ("push", []), emptied
    assert ask(push, OPEN).addrs == {SPARE}
    assert_json_error(admin_request(push, "PUT", members_path("web"), body={"members": []}), 400, "allow_empty = false")
    admin_json(push, "DELETE", members_path("open"))
    assert_answer(push, [OPEN_ADDRESS], TTL, name=OPEN)


# ============================================================================================
# Server bugs found while writing these tests
# ============================================================================================


def test_rejected_feed_document_is_not_taken_as_unchanged(feeds, start_server):
    """Was a bug: the validators of a rejected document are kept, so the feed's next answer, 304, clears
    the error although the feed still publishes the rejected document.

    The feed serves DOC1 (ETag "v1"), then a document with more members than max_members with an
    ETag of its own ("v-bad"), as any HTTP server or object store does. The server rejects it
    (right) but keeps its ETag and Last-Modified (MemberFeeds::fetch stores them for every 200
    before the document is judged), so it asks next with If-None-Match: "v-bad"; the feed answers
    304, and feed_unchanged() clears the error, logs "read again" and counts a good read. /status
    then says the feed is fine (error null) while the region serves DOC1 and the feed still
    serves a document the server refuses; the operator who looks a second later sees nothing
    wrong. Expected: the error stays (and the document is fetched whole again) until the feed
    publishes something acceptable."""
    feed = feeds("127.0.0.65").set(DOC1, etag='"v1"', last_modified=LM1)
    srv = serve(start_server, {"mem.example.toml": feed_zone(feed.url, max_members=3)})
    poll(srv, addresses_of(DOC1), FEED_BOUND)

    bad = doc("192.0.2.41", "192.0.2.42", "192.0.2.43", "192.0.2.44")
    t0 = time.monotonic()
    feed.set(bad, etag='"v-bad"', last_modified=LM3)
    _, status = wait_feed(srv, lambda f: f["error"] is not None, FEED_BOUND, "an error", start=t0)
    assert status["error"] == "4 members: more than the region's max_members (3)", status
    time.sleep(2 * INTERVAL + 0.3)  # two more reads of the same bad document
    assert_answer(srv, addresses_of(DOC1), TTL)  # the last good members, rightly
    held = feed_status(srv)
    asked = [f"{r.headers.get('if-none-match')} → {r.answered}" for r in feed.since(t0)]
    wrong = []
    if held["error"] is None:
        wrong.append(f"/status feed.error became null while the feed still serves the rejected document: {held}")
    if "read again" in srv.stderr():
        wrong.append("the log says the feed was \"read again\" although nothing acceptable was read")
    if any(r.headers.get("if-none-match") == '"v-bad"' for r in feed.since(t0)):
        wrong.append(f"the rejected document's ETag was sent as If-None-Match: requests since {asked}")
    assert not wrong, "a rejected document is taken as unchanged:\n" + "\n".join(wrong)


@pytest.mark.parametrize("feed", ["web.json", "http://127.0.0.1:9/members.json"], ids=["file", "url"])
def test_feed_interval_under_5s_needs_no_timeout(tmp_path, feed):
    """Was a bug: a feed with `interval = "1s"` (documented range 1s – 1h) and no `timeout` is refused:
    "timeout must not be longer than the interval", pointing at the interval. The default timeout
    (5s) is longer than any interval under 5 s, so every such interval needs a timeout written
    out — even for a file feed, which has no use for one ("A URL feed's request gives up after
    this long"). Expected: the default timeout fits the interval (at most the interval), or a
    file feed ignores it; `meridiand --check` accepts the zone."""
    zdir = tmp_path / "zones"
    zdir.mkdir()
    (zdir / "web.json").write_text(json.dumps(DOC1))
    text = members_zone({"web": {}, "spare": {"addresses": [SPARE]}}, {"web": {"feed": feed, "interval": "1s"}},
                        {"app": name_all(["web"], ["spare"])})
    (zdir / "mem.example.toml").write_text(text)
    proc = run_check(write_config(tmp_path, [zdir]))
    assert proc.returncode == 0, f"--check refused a feed with interval = \"1s\" and no timeout:\n{proc.stderr}"


def test_stalled_feed_is_logged_once_and_its_error_since_stays(feeds, start_server):
    """Was a bug: a feed that keeps timing out is logged again at every read, and its error_since moves
    each time.

    The error kept and compared is curl's text, which carries measurements of the read that
    failed: "timeout: Operation timed out after 501 milliseconds with 0 bytes received".
    MemberStore::feed_read logs an error "when it starts or changes" and restarts error_since when
    the text differs, so one ongoing failure is logged anew (and error_since restarted) whenever
    the milliseconds or the bytes differ from the read before. A feed that hangs outright shows it
    now and then (501, 503, 501 … ms, as the timing of the loop goes); this test
    makes it certain with a feed that stalls: a 200 whose body stops after 1, 2, 3 … bytes, and
    then nothing until the 500 ms timeout. Every read fails the same way (a timeout), yet each is
    logged as a new error and error_since follows the last read. Expected: one log line for the
    one failure, and error_since kept while it goes on (as it is for a steady "HTTP 500")."""
    feed = feeds("127.0.0.66").set(DOC1, etag='"v1"')
    srv = serve(start_server, {"mem.example.toml": feed_zone(feed.url)})
    poll(srv, addresses_of(DOC1), FEED_BOUND)
    t0 = time.monotonic()
    feed.set(DOC2, stall=True)
    _, first = wait_feed(srv, lambda f: f["error"] is not None, FEED_BOUND + 0.5, "an error", start=t0)
    assert first["error"].startswith("timeout: "), first
    time.sleep(2 * INTERVAL + 1.3)  # two or three more reads that time out alike
    later = feed_status(srv)
    assert later["rejected"] >= first["rejected"] + 2, (first, later)
    assert later["error"].startswith("timeout: "), later
    assert_answer(srv, addresses_of(DOC1), TTL)  # the last good members, rightly
    lines = re.findall(r"members: feed .* \(keeping the last good members\)", srv.stderr())
    wrong = []
    if len(lines) != 1:
        wrong.append(f"{len(lines)} log lines for one stalled feed:\n  " + "\n  ".join(lines))
    if later["error_since"] != first["error_since"]:
        wrong.append(f"error_since moved from {first['error_since']} to {later['error_since']} while the feed "
                     f"kept timing out")
    assert not wrong, "one ongoing timeout reported as new errors:\n" + "\n".join(wrong)


def test_meridianctl_members_add_refuses_a_weight_that_is_not_a_number(start_server):
    """Was a bug: `meridianctl members add … --weight W` takes any text as a number (strtol): "abc"
    becomes 0 — the member is added as a standby, exit 0 — "5x" becomes 5, and "-5" is dropped
    (the member gets the default weight 1), all without a word. A typo silently changes how a
    member is answered. Expected: like any bad operand, a usage error (exit 2), or the server's
    400 (exit 1) — and the region unchanged."""
    srv = serve(start_server, PUSH_FILES)
    wrong = []
    for weight in ("abc", "5x", "-5", ""):
        p = ctl("members", "add", "mem.example", "open", "192.0.2.51", "--weight", weight, admin=srv)
        members = get_members(srv, "open")
        if p.returncode not in (1, 2) or members["source"] != "zone file":
            wrong.append(f"--weight {weight!r}: exit {p.returncode}, {p.stdout.strip() or p.stderr.strip()}")
        if members["source"] != "zone file":
            admin_json(srv, "DELETE", members_path("open"))
    assert not wrong, "meridianctl took a weight that is not a number:\n" + "\n".join(wrong)
