"""Per-address health (docs/HEALTH.md, `per_address = true`): every address of a region is probed
on its own, answers carry the answerable ones, the region's state follows `min_healthy`, and
/status, /metrics, the dashboard, the log and the webhook show each address.

The probed addresses are real TCP listeners (Listener below) on distinct loopback addresses —
the whole of 127.0.0.0/8 is local, and ::1 for IPv6 — all on one port, which the check names.
A closed listener refuses connections at once, so a tcp probe of it fails without waiting for
its timeout. Regions without listeners answer with documentation addresses and send no probe.

Timing, as in test_health.py: checks every 200 ms with a 150 ms timeout and rise = fall = 2, so
an address that stops listening leaves the answers within fall × interval + interval and comes
back within rise × interval + interval after it listens again, plus ALLOWANCE (300 ms) for the
test's own overhead. Every test takes a few seconds.

The last two tests guard bugs found while writing these: a latency that no probe measured
shown (and ranked) as 0 ms, and addresses no answer carries reported as answered.
"""

from __future__ import annotations

import errno
import json
import re
import socket
import threading
import time
from typing import Optional

import dns.rcode
import dns.rdatatype
import pytest

from admin_client import admin_json, metric_value, scrape_metrics
from dashboard_dom import render
from health_zone import FALL, HC, INTERVAL, RISE, fast_check, health_zone
from meridian_server import start_ops_server, wait_for, wait_log
from ports import find_free_port

ALLOWANCE = 0.3  # test overhead on top of the documented bound (test_health.py's docstring)
DROP_BOUND = FALL * INTERVAL + INTERVAL + ALLOWANCE
RISE_BOUND = RISE * INTERVAL + INTERVAL + ALLOWANCE

TTL = 60
PRUNED_TTL = 10
SPARE_V4, SPARE_V6 = "192.0.2.9", "2001:db8::9"  # the second route's region: no check, always up


# --------------------------------------------------------------------------------------------
# Listeners the tests open and close
# --------------------------------------------------------------------------------------------


class Listener:
    """A TCP listener on (host, port), IPv4 or IPv6, that accepts and closes connections while
    open and refuses them while closed; it keeps the time of every connection it accepted."""

    def __init__(self, host: str, port: int, open_now: bool = True):
        self.host, self.port = host, port
        self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.accepts: list = []
        self._sock: Optional[socket.socket] = None
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        if open_now:
            self.open()

    def open(self) -> "Listener":
        with self._lock:
            if self._sock is not None:
                return self
            s = socket.socket(self.family, socket.SOCK_STREAM)
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
            self.accepts.append(time.monotonic())
            conn.close()

    def close(self) -> "Listener":
        """From now on connections to host:port are refused."""
        with self._lock:
            s, self._sock = self._sock, None
            thread, self._thread = self._thread, None
        if s is not None:
            s.close()
        if thread is not None:
            thread.join(timeout=2)
        return self

    def count(self, since: float = 0.0, until: float = float("inf")) -> int:
        return sum(1 for t in list(self.accepts) if since <= t < until)


@pytest.fixture
def listen():
    """listen(*hosts) -> {host: Listener}, all on one port free on every host; closed at teardown.
    Ask for this fixture before start_server, so that the server stops first."""
    made: list = []

    def _listen(*hosts, open_now=True) -> dict:
        for _ in range(20):
            port = find_free_port(list(hosts))
            group = {}
            try:
                for host in hosts:
                    group[host] = Listener(host, port, open_now)
            except OSError:  # another process took the port meanwhile
                for item in group.values():
                    item.close()
                continue
            made.extend(group.values())
            return group
        raise RuntimeError(f"no port free on all of {hosts}")

    yield _listen
    for item in made:
        item.close()


# --------------------------------------------------------------------------------------------
# Zones, servers, answers
# --------------------------------------------------------------------------------------------


def pa_check(port: int, **keys) -> dict:
    """A per-address tcp check with the tests' timing (200 ms, 150 ms timeout, rise = fall = 2)."""
    return fast_check("tcp", port=port, per_address=True, **keys)


def name_all(*routes, ttl=TTL, pruned_ttl=PRUNED_TTL, **keys) -> dict:
    """A steered name answering with every candidate left: one route per list of regions."""
    name = {"ttl": ttl, "pruned_ttl": pruned_ttl, "strategy": "all"}
    name.update(keys)
    name["route"] = [{"to": list(to)} for to in routes]
    return name


def serve(start_server, checks, regions, names, *, extra_zones: Optional[dict] = None, **ops):
    """A meridiand with the admin API on, serving hc.example. (and extra_zones: {file: text})."""
    files = {"hc.example.toml": health_zone(checks, regions, names)}
    files.update(extra_zones or {})
    return start_ops_server(start_server, zone_files=files, **ops)


class Answer:
    def __init__(self, reply, rdtype):
        self.reply = reply
        self.rcode = reply.rcode()
        want = dns.rdatatype.from_text(rdtype)
        self.addrs = frozenset(rd.address for rr in reply.answer if rr.rdtype == want for rd in rr)
        self.ttls = {rr.ttl for rr in reply.answer}
        self.ttl = next(iter(self.ttls)) if len(self.ttls) == 1 else None

    def __repr__(self):
        return f"Answer({sorted(self.addrs)}, ttl={self.ttls}, rcode={dns.rcode.to_text(self.rcode)})"


def ask(srv, name, rdtype="A") -> Answer:
    return Answer(srv.query(name, rdtype), rdtype)


def poll(srv, name, want_addrs, bound, rdtype="A", start=None, step=0.02):
    """Ask every `step` s until the answer is exactly `want_addrs`; (seconds since `start`, answer).
    Goes on a while past `bound`, so that a late change is measured; callers assert the time."""
    want = frozenset(want_addrs)
    start = time.monotonic() if start is None else start
    deadline = start + bound + max(1.0, bound)
    last = None
    while time.monotonic() < deadline:
        last = ask(srv, name, rdtype)
        if last.rcode == dns.rcode.NOERROR and last.addrs == want:
            return time.monotonic() - start, last
        time.sleep(step)
    pytest.fail(f"{name} {rdtype}: {sorted(want)} did not come within {deadline - start:.2f} s; last: {last}\n"
                f"{srv.describe()}")


def assert_steady(srv, name, want_addrs, seconds, ttl=None, rdtype="A", step=0.05):
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        a = ask(srv, name, rdtype)
        assert a.addrs == frozenset(want_addrs), f"{name} {rdtype} sample {n}: {a}, expected {sorted(want_addrs)}"
        if ttl is not None:
            assert a.ttl == ttl, f"{name} {rdtype} sample {n}: {a}, expected TTL {ttl}"
        n += 1
        time.sleep(step)


def zone_status(srv, origin=HC) -> dict:
    return next(z for z in admin_json(srv, "GET", "/status")["zones"] if z["origin"] == origin)


def region_status(srv, region, origin=HC) -> dict:
    return next(r for r in zone_status(srv, origin)["regions"] if r["name"] == region)


# --------------------------------------------------------------------------------------------
# 1. One address goes away and comes back
# --------------------------------------------------------------------------------------------

WEB = ["127.0.0.41", "127.0.0.42", "127.0.0.43"]
APP = f"app.{HC}"


@pytest.mark.parametrize("kind", ["tcp", "http"])
def test_address_going_away_leaves_the_answers_with_pruned_ttl_and_returns(listen, targets, start_server, kind):
    """Three addresses, each probed on its own. tcp: one listener stops (connections refused);
    http: one target answers 503. Only that address leaves the answers, within the bound, and the
    TTL becomes pruned_ttl; when it is back, so is the address, with the full TTL."""
    if kind == "tcp":
        ls = listen(*WEB)
        port = ls[WEB[0]].port
        check = pa_check(port)
        down, up = ls[WEB[1]].close, ls[WEB[1]].open
        probes = lambda host: ls[host].count()  # noqa: E731
    else:
        ts = dict(zip(WEB, targets.http_same_port(WEB)))
        port = ts[WEB[0]].port
        check = fast_check("http", port=port, per_address=True)
        down, up = (lambda: ts[WEB[1]].set(status=503)), ts[WEB[1]].ok
        probes = lambda host: ts[host].count("/health")  # noqa: E731
    srv = serve(start_server, {"pa": check}, {"web": {"addresses": WEB, "check": "pa"}}, {"app": name_all(["web"])})
    poll(srv, APP, WEB, 2.0)
    assert_steady(srv, APP, WEB, 0.5, ttl=TTL)
    assert wait_for(lambda: all(probes(host) >= 2 for host in WEB), 1.0), {host: probes(host) for host in WEB}

    t0 = time.monotonic()
    down()
    dropped, answer = poll(srv, APP, [WEB[0], WEB[2]], DROP_BOUND, start=t0)
    assert dropped <= DROP_BOUND, f"{WEB[1]} left the answers after {dropped:.3f} s (bound {DROP_BOUND:.2f} s)"
    assert answer.ttl == PRUNED_TTL, f"an address was left out: TTL {PRUNED_TTL} expected, got {answer}"
    assert_steady(srv, APP, [WEB[0], WEB[2]], 0.5, ttl=PRUNED_TTL)
    assert region_status(srv, "web")["state"] == "healthy"  # min_healthy 1: two of three are plenty

    t1 = time.monotonic()
    up()
    back, answer = poll(srv, APP, WEB, RISE_BOUND, start=t1)
    assert back <= RISE_BOUND, f"{WEB[1]} came back after {back:.3f} s (bound {RISE_BOUND:.2f} s)"
    assert answer.ttl == TTL, f"nothing left out any more: TTL {TTL} expected, got {answer}"
    assert_steady(srv, APP, WEB, 0.4, ttl=TTL)


# --------------------------------------------------------------------------------------------
# 1b. Degraded addresses wait while a healthy one remains
# --------------------------------------------------------------------------------------------


def test_degraded_address_is_answered_only_when_no_healthy_one_remains(targets, start_server):
    """http per-address check with healthy_below 40 ms, degraded_below 120 ms: 127.0.0.44 answers
    in ~70 ms (degraded), .45 and .46 at once. The degraded address is held back (left out: pruned
    TTL) while a healthy one remains; when both healthy ones fail it is answered alone, and the
    region is degraded."""
    hosts = ["127.0.0.44", "127.0.0.45", "127.0.0.46"]
    slow, fast1, fast2 = targets.http_same_port(hosts)
    slow.set(delay=0.07)
    srv = serve(
        start_server,
        {"pa": fast_check("http", port=slow.port, per_address=True, healthy_below_ms=40, degraded_below_ms=120)},
        {"web": {"addresses": hosts, "check": "pa"}, "spare": {"addresses": [SPARE_V4]}},
        {"app": name_all(["web"], ["spare"])},
    )
    _, answer = poll(srv, APP, hosts[1:], 2.0)
    assert answer.ttl == PRUNED_TTL, f"the degraded address is left out: {answer}"
    assert_steady(srv, APP, hosts[1:], 0.5, ttl=PRUNED_TTL)
    web = region_status(srv, "web")
    assert [(m["state"], m["answered"]) for m in web["members"]] == [
        ("degraded", False), ("healthy", True), ("healthy", True)], web["members"]
    assert web["state"] == "healthy", web

    fast1.set(status=503)
    fast2.set(status=503)
    _, answer = poll(srv, APP, hosts[:1], DROP_BOUND)
    assert answer.ttl == PRUNED_TTL, answer
    assert_steady(srv, APP, hosts[:1], 0.4, ttl=PRUNED_TTL)
    web = region_status(srv, "web")
    assert web["state"] == "degraded", web
    assert web["reason"] == "per-address probes (check pa): 0 of 3 addresses healthy, 1 needed", web
    assert [(m["state"], m["answered"]) for m in web["members"]] == [
        ("degraded", True), ("unhealthy", False), ("unhealthy", False)], web["members"]


# --------------------------------------------------------------------------------------------
# 2. min_healthy: the region is out when too few addresses are healthy
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("min_healthy", [None, 2, 0.5], ids=["default-1", "count-2", "share-0.5"])
def test_min_healthy_takes_the_region_out_and_the_next_route_answers(listen, start_server, min_healthy):
    """web has three addresses; route 2 is spare (no check). min_healthy = 2, and 0.5 (half of
    three, rounded up: 2): one address down leaves two healthy, so web answers with those two;
    a second one down leaves one, too few: web is unhealthy and spare answers. The default (1)
    is the control: web answers with its last address."""
    ls = listen(*WEB)
    port = ls[WEB[0]].port
    keys = {} if min_healthy is None else {"min_healthy": min_healthy}
    needed = 1 if min_healthy is None else 2
    srv = serve(
        start_server,
        {"pa": pa_check(port, **keys)},
        {"web": {"addresses": WEB, "check": "pa"}, "spare": {"addresses": [SPARE_V4]}},
        {"app": name_all(["web"], ["spare"])},
    )
    poll(srv, APP, WEB, 2.0)
    assert region_status(srv, "web")["reason"] == f"per-address probes (check pa): 3 of 3 addresses healthy, {needed} needed"

    ls[WEB[0]].close()
    _, answer = poll(srv, APP, WEB[1:], DROP_BOUND)
    assert answer.ttl == PRUNED_TTL, answer
    web = region_status(srv, "web")
    assert web["state"] == "healthy", web
    assert web["reason"] == f"per-address probes (check pa): 2 of 3 addresses healthy, {needed} needed", web

    t0 = time.monotonic()
    ls[WEB[1]].close()
    want = [WEB[2]] if needed == 1 else [SPARE_V4]
    moved, answer = poll(srv, APP, want, DROP_BOUND, start=t0)
    assert moved <= DROP_BOUND, f"the answer became {want} after {moved:.3f} s (bound {DROP_BOUND:.2f} s)"
    assert answer.ttl == PRUNED_TTL, answer
    assert_steady(srv, APP, want, 0.5, ttl=PRUNED_TTL)
    web = region_status(srv, "web")
    assert web["state"] == ("healthy" if needed == 1 else "unhealthy"), web
    assert web["reason"] == f"per-address probes (check pa): 1 of 3 addresses healthy, {needed} needed", web

    # one address back: two healthy again, enough for every variant
    ls[WEB[1]].open()
    _, answer = poll(srv, APP, WEB[1:], RISE_BOUND)
    assert answer.ttl == PRUNED_TTL, answer  # WEB[0] is still left out
    assert region_status(srv, "web")["state"] == "healthy"


# --------------------------------------------------------------------------------------------
# 3. Families: IPv4 addresses down, IPv6 still up
# --------------------------------------------------------------------------------------------

MIX_V4 = ["127.0.0.51", "127.0.0.52"]
MIX = MIX_V4 + ["::1"]


def test_region_without_healthy_ipv4_passes_a_to_the_next_route_but_answers_aaaa(listen, start_server):
    """mix has two IPv4 addresses and ::1 (listed first in the file; members are listed IPv4
    first). With both IPv4 listeners down the region is still
    healthy (one address of three, min_healthy 1) but has no A to give: A goes to route 2 (spare),
    AAAA keeps answering ::1 all along. "solo" has only mix and fails open: when mix is chosen
    with every IPv4 address out, its A answer carries all of them. With ::1 down as well, AAAA
    goes to spare too."""
    ls = listen(*MIX)
    port = ls["::1"].port
    srv = serve(
        start_server,
        {"pa": pa_check(port)},
        {"mix": {"addresses": ["::1"] + MIX_V4, "check": "pa"}, "spare": {"addresses": [SPARE_V4, SPARE_V6]}},
        {"app": name_all(["mix"], ["spare"]), "solo": name_all(["mix"], fail="open")},
    )
    solo = f"solo.{HC}"
    poll(srv, APP, MIX_V4, 2.0)
    poll(srv, APP, ["::1"], 1.0, rdtype="AAAA")
    assert ask(srv, APP).ttl == TTL and ask(srv, APP, "AAAA").ttl == TTL
    assert wait_for(lambda: all(ls[h].count() >= 2 for h in MIX), 2.0), {h: ls[h].count() for h in MIX}

    t0 = time.monotonic()
    for host in MIX_V4:
        ls[host].close()
    aaaa_samples = []
    while time.monotonic() - t0 < DROP_BOUND + 1.0:
        aaaa_samples.append((time.monotonic() - t0, ask(srv, APP, "AAAA")))
        if ask(srv, APP).addrs == {SPARE_V4}:
            break
        time.sleep(0.02)
    moved, answer = poll(srv, APP, [SPARE_V4], DROP_BOUND, start=t0)
    assert moved <= DROP_BOUND, f"A moved to spare after {moved:.3f} s (bound {DROP_BOUND:.2f} s)"
    assert answer.ttl == PRUNED_TTL, answer
    assert all(a.addrs == {"::1"} for _, a in aaaa_samples), f"AAAA must stay ::1 throughout: {aaaa_samples}"
    assert_steady(srv, APP, ["::1"], 0.5, rdtype="AAAA")
    assert_steady(srv, APP, [SPARE_V4], 0.3, ttl=PRUNED_TTL)
    mix = region_status(srv, "mix")
    assert mix["state"] == "healthy", mix
    assert mix["reason"] == "per-address probes (check pa): 1 of 3 addresses healthy, 1 needed", mix
    assert [(m["address"], m["state"]) for m in mix["members"]] == [
        ("127.0.0.51", "unhealthy"), ("127.0.0.52", "unhealthy"), ("::1", "healthy")], mix["members"]
    assert mix["members"][2]["answered"] is True, mix["members"]
    # nothing else for solo: fail open answers with mix, and mix with all its IPv4 addresses
    got = ask(srv, solo)
    assert got.addrs == set(MIX_V4) and got.ttl == PRUNED_TTL, got
    assert ask(srv, solo, "AAAA").addrs == {"::1"}

    ls["::1"].close()
    poll(srv, APP, [SPARE_V6], DROP_BOUND, rdtype="AAAA")
    assert region_status(srv, "mix")["state"] == "unhealthy"

    for host in MIX:
        ls[host].open()
    poll(srv, APP, MIX_V4, RISE_BOUND)
    poll(srv, APP, ["::1"], RISE_BOUND, rdtype="AAAA")
    assert ask(srv, APP).ttl == TTL and ask(srv, APP, "AAAA").ttl == TTL


# --------------------------------------------------------------------------------------------
# 4. Identical probes are shared
# --------------------------------------------------------------------------------------------

SHARED = ["127.0.0.61", "127.0.0.62", "127.0.0.63"]  # r1 has .61 and .62, r2 has .62 and .63


@pytest.mark.parametrize("layout", ["two regions", "two zones"])
def test_same_address_and_check_in_two_regions_is_probed_once(listen, start_server, layout):
    """127.0.0.62 is an address of r1 and of r2, probed by the same per-address check (in one
    zone, or the same check in two zones). It is one probe target: over 2 s at 200 ms it sees
    about 10 connections, like .61 and .63 which only one region has; two streams would make
    ~20. Tolerance: 7 to 13. Its failure reaches both regions."""
    ls = listen(*SHARED)
    port = ls[SHARED[0]].port
    check = {"pa": pa_check(port)}
    r1 = {"addresses": SHARED[:2], "check": "pa"}
    r2 = {"addresses": SHARED[1:], "check": "pa"}
    other = "hc2.example."
    if layout == "two regions":
        srv = serve(start_server, check, {"r1": r1, "r2": r2}, {"one": name_all(["r1"]), "two": name_all(["r2"])})
        one, two = f"one.{HC}", f"two.{HC}"
    else:
        second = health_zone(check, {"r2": r2}, {"two": name_all(["r2"])}, origin=other)
        srv = serve(start_server, check, {"r1": r1}, {"one": name_all(["r1"])}, extra_zones={"hc2.example.toml": second})
        one, two = f"one.{HC}", f"two.{other}"
    poll(srv, one, SHARED[:2], 2.0)
    poll(srv, two, SHARED[1:], 1.0)
    time.sleep(0.3)
    t0 = time.monotonic()
    time.sleep(2.0)
    t1 = time.monotonic()
    counts = {host: ls[host].count(t0, t1) for host in SHARED}
    expected = (t1 - t0) / INTERVAL
    for host, n in counts.items():
        assert 7 <= n <= 13, (
            f"{host} accepted {n} connections in {t1 - t0:.2f} s: one probe stream makes ≈ {expected:.0f}, "
            f"two ≈ {2 * expected:.0f} (all: {counts})")

    ls[SHARED[1]].close()
    poll(srv, one, [SHARED[0]], DROP_BOUND)
    poll(srv, two, [SHARED[2]], DROP_BOUND)
    ls[SHARED[1]].open()
    poll(srv, one, SHARED[:2], RISE_BOUND)
    poll(srv, two, SHARED[1:], RISE_BOUND)


# --------------------------------------------------------------------------------------------
# 5. /status and /metrics
# --------------------------------------------------------------------------------------------

STATUS_WEB = ["127.0.0.71", "127.0.0.72", "127.0.0.73"]
ONE = "127.0.0.74"
MEMBER_KEYS = {"address", "id", "source_state", "weight", "state", "answered", "latency_ms", "success_rate", "reason"}


def status_zone_server(listen, start_server, tmp_path, **ops):
    """Regions of every kind: web (per-address, min_healthy 2), one (a plain tcp check of its own
    address), filed (a state file that says down), plain (no check), nonechk (a check of kind
    none). Then 127.0.0.72 stops listening and is left out. Returns (server, listeners, state
    file path)."""
    ls = listen(*STATUS_WEB, ONE)
    port = ls[ONE].port
    state = tmp_path / "ops-state.json"
    state.write_text(json.dumps({"regions": {"filed": "down"}}))
    srv = serve(
        start_server,
        {
            "pa": pa_check(port, min_healthy=2),
            "single": fast_check("tcp", port=port),
            "ops": {"kind": "file", "file": str(state)},
            "nothing": {"kind": "none"},
        },
        {
            "web": {"addresses": STATUS_WEB, "check": "pa"},
            "one": {"addresses": [ONE], "check": "single"},
            "filed": {"addresses": ["192.0.2.20"], "check": "ops"},
            "plain": {"addresses": ["192.0.2.21"]},
            "nonechk": {"addresses": ["192.0.2.22"], "check": "nothing"},
        },
        {"app": name_all(["web", "one", "filed", "plain", "nonechk"])},
        **ops,
    )
    everything = STATUS_WEB + [ONE, "192.0.2.21", "192.0.2.22"]
    poll(srv, APP, everything, 2.0)
    assert wait_for(lambda: all(item.count() >= 2 for item in ls.values()), 2.0)
    ls[STATUS_WEB[1]].close()
    poll(srv, APP, [a for a in everything if a != STATUS_WEB[1]], DROP_BOUND)
    return srv, ls, state


def test_status_and_metrics_show_members_and_every_region_reason(listen, start_server, tmp_path):
    srv, _, state = status_zone_server(listen, start_server, tmp_path)
    regions = {r["name"]: r for r in zone_status(srv)["regions"]}

    web = regions["web"]
    assert web["state"] == "healthy" and web["check"] == "pa", web
    assert web["reason"] == "per-address probes (check pa): 2 of 3 addresses healthy, 2 needed", web
    assert isinstance(web["latency_ms"], int), web  # the mean of the answerable members' latencies
    members = web["members"]
    assert isinstance(members, list) and [m["address"] for m in members] == STATUS_WEB, members
    for m in members:
        assert set(m) == MEMBER_KEYS, m
        assert (m["id"], m["source_state"], m["weight"]) == (None, "up", 1), m
    up = [members[0], members[2]]
    for m in up:
        assert (m["state"], m["answered"]) == ("healthy", True), m
        assert isinstance(m["latency_ms"], int) and 0 <= m["latency_ms"] < 100, m
        assert m["success_rate"] == 1.0, m
        assert re.fullmatch(r"latency \d+ ms, success 100 %", m["reason"]), m
    down = members[1]
    assert (down["state"], down["answered"]) == ("unhealthy", False), down
    assert down["reason"] == "tcp: connection refused", down
    assert 0 < down["success_rate"] < 1, down  # good probes before it stopped, refused ones since

    one = regions["one"]
    assert one["members"] is None, one
    assert re.fullmatch(r"tcp probe of 127\.0\.0\.74: latency \d+ ms, success 100 %", one["reason"]), one
    assert isinstance(one["latency_ms"], int), one

    filed = regions["filed"]
    assert (filed["state"], filed["check"], filed["members"]) == ("unhealthy", "ops", None), filed
    assert filed["reason"] == f"state file {state}: state file says down", filed
    assert filed["latency_ms"] is None, f"a file check measures no latency: {filed}"

    for name, check in (("plain", "none"), ("nonechk", "nothing")):
        r = regions[name]
        assert (r["state"], r["check"], r["members"]) == ("healthy", check, None), r
        assert r["reason"] == "no check: always up", r
        assert r["latency_ms"] is None, f"no check, no latency: {r}"

    samples = scrape_metrics(srv)
    z = {"zone": HC, "region": "web"}
    for address, answered, state in ((STATUS_WEB[0], 1, 0), (STATUS_WEB[1], 0, 2), (STATUS_WEB[2], 1, 0)):
        assert metric_value(samples, "meridian_member_answered", **z, address=address) == answered, address
        assert metric_value(samples, "meridian_member_state", **z, address=address) == state, address
    for address in (STATUS_WEB[0], STATUS_WEB[2]):
        assert metric_value(samples, "meridian_member_latency_ms", **z, address=address) is not None, address
    assert metric_value(samples, "meridian_region_members", **z, members="answered") == 2
    assert metric_value(samples, "meridian_region_members", **z, members="total") == 3
    assert metric_value(samples, "meridian_region_latency_ms", **z) is not None
    assert metric_value(samples, "meridian_region_latency_ms", zone=HC, region="one") is not None
    for name in ("filed", "plain", "nonechk"):
        assert metric_value(samples, "meridian_region_latency_ms", zone=HC, region=name) is None, (
            f"{name} has no measured latency: no meridian_region_latency_ms sample")
    member_metrics = {"meridian_member_answered", "meridian_member_state", "meridian_member_latency_ms",
                      "meridian_region_members"}
    regions_with_members = {dict(labels)["region"] for (metric, labels) in samples if metric in member_metrics}
    assert regions_with_members == {"web"}, regions_with_members


# --------------------------------------------------------------------------------------------
# 6. The dashboard
# --------------------------------------------------------------------------------------------


def test_dashboard_shows_member_rows_answered_or_left_out(listen, start_server, tmp_path):
    srv, _, state = status_zone_server(listen, start_server, tmp_path)
    dom = render(srv.admin_url + "/", tmp_path)
    assert dom.body.get("data-rendered") == "yes", dom.text[-3000:]

    member_rows = sorted(row for row in dom.rows if row.startswith("member-"))
    assert member_rows == sorted(f"member-{HC}-web-{a}" for a in STATUS_WEB), dom.rows.keys()
    for address in STATUS_WEB:
        cells = dom.rows[f"member-{HC}-web-{address}"]
        assert len(cells) == 6, cells
        assert cells[0]["text"] == f"└ {address}", cells
        if address == STATUS_WEB[1]:
            assert (cells[1]["text"], cells[1]["state"]) == ("unhealthy", "unhealthy"), cells
            assert (cells[4]["text"], cells[4]["answered"]) == ("left out", "false"), cells
            assert cells[5]["text"] == "tcp: connection refused", cells
        else:
            assert (cells[1]["text"], cells[1]["state"], cells[1]["class"]) == ("healthy", "healthy", "healthy"), cells
            assert re.fullmatch(r"\d+ ms", cells[2]["text"]), cells
            assert cells[3]["text"] == "100.0 %", cells
            assert (cells[4]["text"], cells[4]["answered"]) == ("answered", "true"), cells
            assert re.fullmatch(r"latency \d+ ms, success 100 %", cells[5]["text"]), cells

    region = lambda name: dom.rows[f"region-{HC}-{name}"]  # noqa: E731
    assert region("web")[8]["text"] == "per-address probes (check pa): 2 of 3 addresses healthy, 2 needed"
    assert re.fullmatch(r"\d+ ms", region("web")[2]["text"]), region("web")
    assert re.fullmatch(r"\d+ ms", region("one")[2]["text"]), region("one")
    for name in ("filed", "plain", "nonechk"):
        assert region(name)[2]["text"] == "none", f"{name}: latency cell {region(name)[2]}"
    assert region("filed")[8]["text"] == f"state file {state}: state file says down"
    assert region("plain")[8]["text"] == "no check: always up"
    assert region("nonechk")[8]["text"] == "no check: always up"
    # the member rows follow their region's row, in the region's table
    order = [row for row in dom.rows if row.endswith(tuple(STATUS_WEB)) or row == f"region-{HC}-web"]
    assert order == [f"region-{HC}-web"] + [f"member-{HC}-web-{a}" for a in STATUS_WEB], order


# --------------------------------------------------------------------------------------------
# 7. The log and the webhook
# --------------------------------------------------------------------------------------------

HOOK_WEB = ["127.0.0.81", "127.0.0.82", "127.0.0.83"]


def test_address_transitions_are_logged_and_posted_with_the_member(listen, targets, start_server):
    """min_healthy = 3: 127.0.0.82 going down is an address transition (logged and POSTed with
    "member") and takes the region down too (logged and POSTed without "member"). Coming back,
    the same two the other way."""
    hook = targets.http("127.0.0.30")
    ls = listen(*HOOK_WEB)
    port = ls[HOOK_WEB[0]].port
    srv = serve(
        start_server,
        {"pa": pa_check(port, min_healthy=3)},
        {"web": {"addresses": HOOK_WEB, "check": "pa"}, "spare": {"addresses": [SPARE_V4]}},
        {"app": name_all(["web"], ["spare"])},
        alerts={"webhook": f"{hook.url}/hook"},
    )
    poll(srv, APP, HOOK_WEB, 2.0)
    assert wait_for(lambda: all(item.count() >= 2 for item in ls.values()), 2.0)
    assert hook.count() == 0, "no transition yet, no POST"

    t0 = time.monotonic()
    ls[HOOK_WEB[1]].close()
    prefix = r"meridiand warning: health: hc\.example\. region web"
    wait_log(srv, prefix + r" address 127\.0\.0\.82 \(check pa\): healthy → unhealthy: tcp: connection refused\n",
             DROP_BOUND, start=t0)
    wait_log(srv, prefix + r" \(check pa\): healthy → unhealthy: per-address probes \(check pa\): 2 of 3 addresses "
             r"healthy, 3 needed\n", DROP_BOUND, start=t0)
    poll(srv, APP, [SPARE_V4], 0.5)
    assert wait_for(lambda: hook.count("/hook") >= 2, 2.0), f"{hook.count('/hook')} POSTs\n{srv.describe()}"
    time.sleep(0.5)  # and no more while it stays down
    posts = [r.json() for r in hook.requests_matching("/hook")]
    assert len(posts) == 2, posts
    for body in posts:
        stamp = body.pop("time")
        assert isinstance(stamp, int) and abs(stamp - time.time()) < 30, stamp
    member = [b for b in posts if "member" in b]
    assert member == [{"zone": HC, "region": "web", "check": "pa", "member": "127.0.0.82", "from": "healthy",
                       "to": "unhealthy", "reason": "tcp: connection refused"}], posts
    region = [b for b in posts if "member" not in b]
    assert region == [{"zone": HC, "region": "web", "check": "pa", "from": "healthy", "to": "unhealthy",
                       "reason": "per-address probes (check pa): 2 of 3 addresses healthy, 3 needed"}], posts

    t1 = time.monotonic()
    ls[HOOK_WEB[1]].open()
    prefix = r"meridiand info: health: hc\.example\. region web"
    wait_log(srv, prefix + r" address 127\.0\.0\.82 \(check pa\): unhealthy → healthy: latency \d+ ms, success 100 %\n",
             RISE_BOUND, start=t1)
    wait_log(srv, prefix + r" \(check pa\): unhealthy → healthy: per-address probes \(check pa\): 3 of 3 addresses "
             r"healthy, 3 needed\n", RISE_BOUND, start=t1)
    poll(srv, APP, HOOK_WEB, 0.5)
    assert wait_for(lambda: hook.count("/hook") >= 4, 2.0), [r.json() for r in hook.requests]
    time.sleep(0.3)
    back = [r.json() for r in hook.requests_matching("/hook")][2:]
    assert len(back) == 2, back
    assert sorted((b.get("member", ""), b["from"], b["to"]) for b in back) == [
        ("", "unhealthy", "healthy"), ("127.0.0.82", "unhealthy", "healthy")], back
    err = srv.stderr()
    assert err.count("address 127.0.0.82 (check pa): healthy → unhealthy") == 1, err
    assert "address 127.0.0.81" not in err and "address 127.0.0.83" not in err, err


# --------------------------------------------------------------------------------------------
# Server bugs found while writing these tests: each test states what it expects and fails
# with what the server does instead.
# --------------------------------------------------------------------------------------------


def test_address_that_never_answered_has_no_latency(listen, start_server):
    """Was a bug: latency that was never measured is reported as 0 ms.

    web's 127.0.0.92 never listens: every probe of it is refused, so no latency was ever
    measured. /status should give its member "latency_ms": null (the dashboard then shows
    "none") and /metrics no meridian_member_latency_ms sample for it ("only when measured").
    Likewise region lone, whose plain tcp check has never succeeded: "latency_ms": null and no
    meridian_region_latency_ms. The server says 0 ms for both (TargetHealth::snapshot sets
    has_measurement = !window_.empty(), so failed probes count as a measurement)."""
    ls = listen("127.0.0.91", "127.0.0.92", "127.0.0.93")
    ls["127.0.0.92"].close()
    ls["127.0.0.93"].close()
    port = ls["127.0.0.91"].port
    srv = serve(
        start_server,
        {"pa": pa_check(port), "single": fast_check("tcp", port=port)},
        {"web": {"addresses": ["127.0.0.91", "127.0.0.92"], "check": "pa"},
         "lone": {"addresses": ["127.0.0.93"], "check": "single"}},
        {"app": name_all(["web", "lone"])},
    )
    poll(srv, APP, ["127.0.0.91"], DROP_BOUND)
    assert wait_for(lambda: region_status(srv, "lone")["state"] == "unhealthy", 1.0)
    web = region_status(srv, "web")
    never = next(m for m in web["members"] if m["address"] == "127.0.0.92")
    assert (never["state"], never["answered"], never["success_rate"]) == ("unhealthy", False, 0.0), never
    lone = region_status(srv, "lone")
    assert lone["success_rate"] == 0.0, lone
    samples = scrape_metrics(srv)

    wrong = []
    if never["latency_ms"] is not None:
        wrong.append(f'/status: member 127.0.0.92 (no probe ever succeeded) has "latency_ms": {never["latency_ms"]}, '
                     f'expected null')
    got = metric_value(samples, "meridian_member_latency_ms", zone=HC, region="web", address="127.0.0.92")
    if got is not None:
        wrong.append(f"/metrics: meridian_member_latency_ms{{address=127.0.0.92}} = {got}, expected no sample")
    if lone["latency_ms"] is not None:
        wrong.append(f'/status: region lone (no probe ever succeeded) has "latency_ms": {lone["latency_ms"]}, '
                     f'expected null')
    got = metric_value(samples, "meridian_region_latency_ms", zone=HC, region="lone")
    if got is not None:
        wrong.append(f"/metrics: meridian_region_latency_ms{{region=lone}} = {got}, expected no sample")
    assert not wrong, "latency never measured is reported as a number:\n" + "\n".join(wrong)


def test_addresses_in_no_answer_are_not_reported_answered(listen, start_server):
    """Was a bug: when every address of a family is out, /status, /metrics and the dashboard call them
    all "answered".

    web's two addresses stop listening: web is unhealthy, and spare (route 2) answers every
    query for app, the only name — the DNS answers show that neither address is sent. Yet
    /status says "answered": true for both, meridian_member_answered is 1 and
    meridian_region_members{members="answered"} is 2 (the dashboard shows "answered"). That
    is what answers would carry if web were chosen anyway (fail-open within the family,
    health/members.cpp: `tier == best || best == 2`), not what they carry."""
    hosts = ["127.0.0.95", "127.0.0.96"]
    ls = listen(*hosts)
    port = ls[hosts[0]].port
    srv = serve(
        start_server,
        {"pa": pa_check(port)},
        {"web": {"addresses": hosts, "check": "pa"}, "spare": {"addresses": [SPARE_V4]}},
        {"app": name_all(["web"], ["spare"])},
    )
    poll(srv, APP, hosts, 2.0)
    for item in ls.values():
        item.close()
    poll(srv, APP, [SPARE_V4], DROP_BOUND)
    assert_steady(srv, APP, [SPARE_V4], 0.3)  # neither address is in any answer
    web = region_status(srv, "web")
    assert web["state"] == "unhealthy", web
    assert [m["state"] for m in web["members"]] == ["unhealthy", "unhealthy"], web["members"]
    samples = scrape_metrics(srv)

    wrong = []
    for m in web["members"]:
        if m["answered"] is not False:
            wrong.append(f'/status: member {m["address"]} (down, in no answer) has "answered": {m["answered"]}')
        got = metric_value(samples, "meridian_member_answered", zone=HC, region="web", address=m["address"])
        if got != 0:
            wrong.append(f"/metrics: meridian_member_answered{{address={m['address']}}} = {got}, expected 0")
    got = metric_value(samples, "meridian_region_members", zone=HC, region="web", members="answered")
    if got != 0:
        wrong.append(f'/metrics: meridian_region_members{{members="answered"}} = {got}, expected 0')
    assert not wrong, "addresses in no answer are reported answered:\n" + "\n".join(wrong)
