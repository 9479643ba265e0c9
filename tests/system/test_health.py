"""Health checks end to end (docs/HEALTH.md): the real meridiand probing controllable loopback
targets (healthtargets.py) and steering app.hc.example. around the ones that fail.

Timing. Checks run every INTERVAL (200 ms) with a 150 ms timeout, rise = fall = 2, no jitter. A
state worsens after `fall` bad results in a row and improves after `rise` good ones, and the
first probe after a switch of the target comes at most one interval later, so:

    a failing target is dropped within   fall × interval + interval (+ ALLOWANCE)
    a recovered target is back within    rise × interval + interval (+ ALLOWANCE)

ALLOWANCE (300 ms) covers the test's own overhead: the 20 ms polling step, Python's threaded
HTTP server, the DNS round trip, and scheduling noise on a loaded machine. Hysteresis gives a
lower bound as well: the `fall`-th bad result comes at least (fall − 1) × interval after the
first, so nothing may change before (fall − 1) × interval − EARLY (50 ms slack for a probe that
was already on its way when the target switched).

Regions answer with documentation addresses (192.0.2.x) and are probed on loopback addresses
(127.0.0.1x) through `check_address`, the check's `address`, or (tcp test) their first address.
Names use strategy "all" unless a test is about a strategy, so an answer lists every candidate
left after pruning.
"""

from __future__ import annotations

import re
import time

import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from config_toml import write_config
from diagnostics import line_col, parse_errors, same_file
from health_zone import FALL, HC, INTERVAL, RISE, TIMEOUT_MS, fast_check, health_zone, region
from meridian_server import (
    STARTUP_TIMEOUT,
    MeridianServer,
    ServerStartError,
    run_check,
    start_server_with_extra_config,
    wait_log,
)
from wire import assert_negative, make_query, udp_raw

APP = f"app.{HC}"

ALLOWANCE = 0.3  # test overhead on top of the documented bound (see the module docstring)
EARLY = 0.05  # a probe already under way when the target switched

DROP_BOUND = FALL * INTERVAL + INTERVAL + ALLOWANCE
RISE_BOUND = RISE * INTERVAL + INTERVAL + ALLOWANCE
DROP_AT_LEAST = (FALL - 1) * INTERVAL - EARLY
RISE_AT_LEAST = (RISE - 1) * INTERVAL - EARLY

TTL = 60
PRUNED_TTL = 10

A, B, C = "192.0.2.1", "192.0.2.2", "192.0.2.3"
HOST_A, HOST_B, HOST_C = "127.0.0.11", "127.0.0.12", "127.0.0.13"

# --------------------------------------------------------------------------------------------
# Zone text
# --------------------------------------------------------------------------------------------


def name_all(to, ttl=TTL, pruned_ttl=PRUNED_TTL, **keys) -> dict:
    """A steered name answering with every candidate of one route."""
    name = {"ttl": ttl, "pruned_ttl": pruned_ttl, "strategy": "all"}
    name.update(keys)
    if "route" not in name:
        name["route"] = [{"to": list(to)}]
    return {k: v for k, v in name.items() if v is not None}  # None: leave the key out


# --------------------------------------------------------------------------------------------
# Answers and polling
# --------------------------------------------------------------------------------------------


class Answer:
    def __init__(self, reply):
        self.reply = reply
        self.rcode = reply.rcode()
        self.addrs = frozenset(rd.address for rr in reply.answer if rr.rdtype == dns.rdatatype.A for rd in rr)
        self.ttls = {rr.ttl for rr in reply.answer}
        self.ttl = next(iter(self.ttls)) if len(self.ttls) == 1 else None
        self.cnames = [rd.target.to_text() for rr in reply.answer if rr.rdtype == dns.rdatatype.CNAME for rd in rr]

    def __repr__(self):
        return f"Answer({sorted(self.addrs)}, ttl={self.ttls}, rcode={dns.rcode.to_text(self.rcode)})"


def ask(srv, name=APP, rdtype="A", **kw) -> Answer:
    return Answer(srv.query(name, rdtype, **kw))


def poll(srv, want, bound, name=APP, step=0.02, start=None):
    """Ask `name` every `step` seconds until want(answer); (seconds since `start`, answer).
    Keeps trying a while past `bound` so that a late change is measured, not just missed; the
    caller asserts the time against the bound."""
    start = time.monotonic() if start is None else start
    deadline = start + bound + max(1.0, bound)
    last = None
    while time.monotonic() < deadline:
        last = ask(srv, name)
        if want(last):
            return time.monotonic() - start, last
        time.sleep(step)
    pytest.fail(f"{name}: the wanted answer did not come within {deadline - start:.2f} s; last: {last}\n{srv.describe()}")


def is_set(*addrs):
    want = frozenset(addrs)
    return lambda a: a.rcode == dns.rcode.NOERROR and a.addrs == want


def assert_steady(srv, want_addrs, seconds, name=APP, ttl=None, step=0.05):
    """The answer stays exactly `want_addrs` (and `ttl`) for `seconds`."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        a = ask(srv, name)
        assert a.addrs == frozenset(want_addrs), f"sample {n}: {a}, expected {sorted(want_addrs)}"
        if ttl is not None:
            assert a.ttl == ttl, f"sample {n}: {a}, expected TTL {ttl}"
        n += 1
        time.sleep(step)


# Fixture order matters for teardown: `targets` is set up first, so the server stops first.
@pytest.fixture
def serve(targets, start_server):
    """serve(checks, regions, names, alerts=None) -> a running meridiand for that zone."""

    def _serve(checks, regions, names, extra_config=None):
        files = {"hc.example.toml": health_zone(checks, regions, names)}
        if extra_config:
            return start_server_with_extra_config(start_server, extra_config, zone_files=files)
        return start_server(zone_files=files)

    return _serve


# --------------------------------------------------------------------------------------------
# Failing and recovering targets
# --------------------------------------------------------------------------------------------


def test_http_503_drops_the_region_and_recovery_brings_it_back_within_bounds(targets, serve):
    ta, tb = targets.http_same_port([HOST_A, HOST_B])
    srv = serve(
        {"web": fast_check(port=ta.port)},
        {"a": region(A, "web", check_address=HOST_A), "b": region(B, "web", check_address=HOST_B)},
        {"app": name_all(["a", "b"])},
    )
    poll(srv, is_set(A, B), 2.0)
    assert_steady(srv, {A, B}, 0.5, ttl=TTL)
    assert ta.count("/health") >= 2 and tb.count("/health") >= 2, "each region's own target is probed at /health"

    t0 = time.monotonic()
    ta.set(status=503)
    dropped, answer = poll(srv, is_set(B), DROP_BOUND, start=t0)
    assert answer.ttl == PRUNED_TTL, answer
    assert DROP_AT_LEAST <= dropped <= DROP_BOUND, (
        f"dropped after {dropped:.3f} s; expected between {DROP_AT_LEAST:.2f} and {DROP_BOUND:.2f} s "
        f"(fall {FALL} × {INTERVAL} s + one interval + {ALLOWANCE} s allowance)"
    )
    assert_steady(srv, {B}, 0.4, ttl=PRUNED_TTL)

    t1 = time.monotonic()
    ta.ok()
    back, answer = poll(srv, is_set(A, B), RISE_BOUND, start=t1)
    assert answer.ttl == TTL, answer
    assert RISE_AT_LEAST <= back <= RISE_BOUND, (
        f"back after {back:.3f} s; expected between {RISE_AT_LEAST:.2f} and {RISE_BOUND:.2f} s"
    )


@pytest.mark.parametrize(
    "keep_alive, checks",
    [(False, "one check"), (True, "one check"), (True, "two checks")],
    ids=["http1.0-one-check", "keep-alive-one-check", "keep-alive-two-checks"],
)
def test_host_header_still_probes_each_region_at_its_own_address(targets, serve, keep_alive, checks):
    """`host` sets the Host header, "the connection goes to the region": two regions probed with
    host = "app.hc.example" are probed at their own check addresses — also when the targets keep
    connections open (HTTP/1.1, as most real endpoints) — so a's 503 drops a only. "two checks":
    b's check runs every 300 ms instead of 200 ms, so the two regions' probes rarely overlap."""
    ta, tb = targets.http_same_port([HOST_A, HOST_B], keep_alive=keep_alive)
    web = fast_check(port=ta.port, host="app.hc.example")
    srv = serve(
        {"web": web, "web2": dict(web, interval="300ms")},
        {
            "a": region(A, "web", check_address=HOST_A),
            "b": region(B, "web" if checks == "one check" else "web2", check_address=HOST_B),
        },
        {"app": name_all(["a", "b"], fail="closed")},  # both down: NODATA, not both
    )
    poll(srv, is_set(A, B), 2.0)
    deadline = time.monotonic() + 2
    while (ta.count() < 3 or tb.count() < 3) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ta.count() >= 3 and tb.count() >= 3, f"a's target saw {ta.count()} probes, b's {tb.count()}"
    for r in ta.requests + tb.requests:
        assert r.headers.get("Host") in ("app.hc.example", f"app.hc.example:{ta.port}"), r.headers
        assert r.path == "/health"

    t0 = time.monotonic()
    na, nb = ta.count(), tb.count()
    ta.set(status=503)
    samples = []
    while time.monotonic() - t0 < DROP_BOUND + 1.0:
        samples.append((time.monotonic() - t0, ask(srv)))
        time.sleep(0.05)
    elapsed = time.monotonic() - t0
    trace = " ".join(f"{t:.2f}:{'a' if A in x.addrs else '-'}{'b' if B in x.addrs else '-'}" for t, x in samples)
    assert all(B in x.addrs for _, x in samples), f"b's target answers 200 throughout, b must stay: {trace}"
    assert all(A not in x.addrs for t, x in samples if t > DROP_BOUND), f"a must be out after {DROP_BOUND:.2f} s: {trace}"
    assert ta.count() - na >= 5 and tb.count() - nb >= 5, (
        f"in {elapsed:.2f} s a's target got {ta.count() - na} probes, b's {tb.count() - nb}: each should get ~{elapsed / INTERVAL:.0f}"
    )


@pytest.mark.parametrize("mode", ["hang", "slow"])
def test_hanging_or_too_slow_target_is_dropped(targets, serve, mode):
    """hang: accepted, never answered → a timeout after 150 ms, a failed probe. slow: answered
    after 120 ms, above degraded_below_ms = 100 (but within the timeout) → unhealthy."""
    ta, tb = targets.http_same_port([HOST_A, HOST_B])
    srv = serve(
        {"web": fast_check(port=ta.port, healthy_below_ms=50, degraded_below_ms=100)},
        {"a": region(A, "web", check_address=HOST_A), "b": region(B, "web", check_address=HOST_B)},
        {"app": name_all(["a", "b"])},
    )
    poll(srv, is_set(A, B), 2.0)
    assert_steady(srv, {A, B}, 0.4, ttl=TTL)

    t0 = time.monotonic()
    if mode == "hang":
        ta.set(hang=True)
    else:
        ta.set(delay=0.12)
    dropped, answer = poll(srv, is_set(B), DROP_BOUND, start=t0)
    assert answer.ttl == PRUNED_TTL, answer
    assert DROP_AT_LEAST <= dropped <= DROP_BOUND, f"{mode}: dropped after {dropped:.3f} s (bound {DROP_BOUND:.2f} s)"
    assert_steady(srv, {B}, 0.5, ttl=PRUNED_TTL)
    if mode == "hang":
        wait_log(srv, r"region a \(check web\): healthy → unhealthy: timeout after 150 ms", 0.5)
    else:
        # every slow probe was answered: the region is out for its latency, not for failures
        assert all(r.path == "/health" for r in ta.requests)
        wait_log(srv, r"region a \(check web\): healthy → unhealthy: latency 1[2-9]\d ms, success 100 %", 0.5)


def test_degraded_region_is_a_fallback_only(targets, serve):
    """b answers in ~70 ms: above healthy_below_ms = 40, below degraded_below_ms = 120 → degraded.
    degraded = "fallback" (default) holds it back while a is healthy and uses it once a is down;
    "healthy" uses it like a healthy one; "never" like an unhealthy one."""
    ta, tb = targets.http_same_port([HOST_A, HOST_B])
    tb.set(delay=0.07)
    srv = serve(
        {"web": fast_check(port=ta.port, healthy_below_ms=40, degraded_below_ms=120)},
        {"a": region(A, "web", check_address=HOST_A), "b": region(B, "web", check_address=HOST_B)},
        {
            "app": name_all(["a", "b"]),
            "hy": name_all(["a", "b"], degraded="healthy"),
            "nv": name_all(["a", "b"], degraded="never", fail="closed"),
        },
    )
    poll(srv, is_set(A), 2.0)  # b became degraded
    # held back while a healthy region remains: something was left out → pruned TTL
    assert_steady(srv, {A}, 0.6, ttl=PRUNED_TTL)
    assert_steady(srv, {A, B}, 0.2, name=f"hy.{HC}", ttl=TTL)
    assert_steady(srv, {A}, 0.2, name=f"nv.{HC}", ttl=PRUNED_TTL)

    t0 = time.monotonic()
    ta.set(status=503)
    dropped, answer = poll(srv, is_set(B), DROP_BOUND, start=t0)
    assert dropped <= DROP_BOUND, f"a dropped after {dropped:.3f} s"
    assert answer.ttl == PRUNED_TTL, answer  # a was left out
    assert_steady(srv, {B}, 0.4, ttl=PRUNED_TTL)
    assert_steady(srv, {B}, 0.2, name=f"hy.{HC}", ttl=PRUNED_TTL)
    assert_negative(srv.query(f"nv.{HC}", "A"), dns.rcode.NOERROR, origin=HC, ttl=60)


def test_tcp_refused_drops_and_listening_again_brings_back(targets, serve):
    """The tcp check's target is region a's first address (no check_address, no address)."""
    ta = targets.tcp("127.0.0.21")
    srv = serve(
        {"port": fast_check("tcp", port=ta.port)},
        {"a": region("127.0.0.21", "port"), "b": region(B)},
        {"app": name_all(["a", "b"])},
    )
    poll(srv, is_set("127.0.0.21", B), 2.0)
    assert_steady(srv, {"127.0.0.21", B}, 0.4, ttl=TTL)
    assert ta.accepted >= 2, "the tcp check connects to the region's first address"

    t0 = time.monotonic()
    ta.close()
    dropped, answer = poll(srv, is_set(B), DROP_BOUND, start=t0)
    assert answer.ttl == PRUNED_TTL, answer
    assert DROP_AT_LEAST <= dropped <= DROP_BOUND, f"dropped after {dropped:.3f} s (bound {DROP_BOUND:.2f} s)"
    wait_log(srv, r"region a \(check port\): healthy → unhealthy: tcp: connection refused", 0.5)

    t1 = time.monotonic()
    ta.open()
    back, answer = poll(srv, is_set("127.0.0.21", B), RISE_BOUND, start=t1)
    assert answer.ttl == TTL, answer
    assert RISE_AT_LEAST <= back <= RISE_BOUND, f"back after {back:.3f} s (bound {RISE_BOUND:.2f} s)"


def test_ttl_is_pruned_ttl_only_while_the_answering_route_lost_something(targets, serve):
    """Region a is down. Names whose route held a answer with their pruned_ttl (or the default:
    10, or the ttl if smaller); a name whose route never had a keeps its full ttl."""
    ta = targets.tcp("127.0.0.22")
    srv = serve(
        {"port": fast_check("tcp", port=ta.port)},
        {"a": region(A, "port", check_address="127.0.0.22"), "b": region(B)},
        {
            "app": name_all(["a", "b"], ttl=120, pruned_ttl=7),
            "onlyb": name_all(["b"], ttl=45, pruned_ttl=7),
            "dflt": name_all(["a", "b"], ttl=60, pruned_ttl=None),
            "short": name_all(["a", "b"], ttl=5, pruned_ttl=None),
        },
    )
    # pruned_ttl = None: rendered without the key
    poll(srv, is_set(A, B), 2.0)
    expect_up = {"app": 120, "onlyb": 45, "dflt": 60, "short": 5}
    for name, ttl in expect_up.items():
        got = ask(srv, f"{name}.{HC}")
        assert got.ttl == ttl, f"{name}: {got}, expected TTL {ttl}"

    ta.close()
    poll(srv, is_set(B), DROP_BOUND)
    expect_down = {"app": 7, "onlyb": 45, "dflt": 10, "short": 5}
    for name, ttl in expect_down.items():
        got = ask(srv, f"{name}.{HC}")
        assert got.addrs == {B} and got.ttl == ttl, f"{name} with a down: {got}, expected [{B}] with TTL {ttl}"

    ta.open()
    poll(srv, is_set(A, B), RISE_BOUND)
    for name, ttl in expect_up.items():
        got = ask(srv, f"{name}.{HC}")
        assert got.ttl == ttl, f"{name} after recovery: {got}, expected TTL {ttl}"


# --------------------------------------------------------------------------------------------
# Nothing left: next route, fail policies
# --------------------------------------------------------------------------------------------


@pytest.fixture
def all_down(targets, serve):
    """Regions a and b probe a target answering 503 (initial = "down": unhealthy from the start
    and staying so); c has no check (always healthy). Names with every fail policy."""
    ta, tb = targets.http_same_port([HOST_A, HOST_B])
    ta.set(status=503)
    tb.set(status=503)
    two_routes = [{"to": ["a"]}, {"to": ["b"]}]
    srv = serve(
        {"web": fast_check(port=ta.port, initial="down")},
        {"a": region(A, "web", check_address=HOST_A), "b": region(B, "web", check_address=HOST_B), "c": region(C)},
        {
            "open": name_all(None, fail="open", route=two_routes),
            "closed": name_all(None, fail="closed", route=two_routes),
            "toregion": name_all(None, fail={"region": "c"}, route=two_routes),
            "toregiondown": name_all(None, fail={"region": "b"}, route=two_routes),
            "tocname": name_all(None, fail={"cname": "fallback.example.net."}, route=two_routes),
        },
    )
    # both targets have been probed (and failed) at least twice by now
    deadline = time.monotonic() + 2
    while (ta.count() < 2 or tb.count() < 2) and time.monotonic() < deadline:
        time.sleep(0.02)
    return srv


def test_fail_open_answers_with_the_first_matching_route(all_down):
    for _ in range(5):
        got = ask(all_down, f"open.{HC}")
        assert got.rcode == dns.rcode.NOERROR and got.addrs == {A}, got
        assert got.ttl == PRUNED_TTL, got
        time.sleep(0.1)


def test_fail_closed_answers_nodata(all_down):
    for _ in range(5):
        reply = all_down.query(f"closed.{HC}", "A")
        assert_negative(reply, dns.rcode.NOERROR, origin=HC, ttl=60)
        time.sleep(0.1)


def test_fail_region_answers_with_that_region(all_down):
    """{ region = "c" } answers c (outside the routes); { region = "b" } answers b, down itself."""
    for _ in range(5):
        got = ask(all_down, f"toregion.{HC}")
        assert got.rcode == dns.rcode.NOERROR and got.addrs == {C}, got
        assert got.ttl == PRUNED_TTL, got
        got = ask(all_down, f"toregiondown.{HC}")
        assert got.rcode == dns.rcode.NOERROR and got.addrs == {B}, got
        assert got.ttl == PRUNED_TTL, got
        time.sleep(0.1)


def test_fail_cname_answers_with_that_cname(all_down):
    for _ in range(5):
        got = ask(all_down, f"tocname.{HC}")
        assert got.rcode == dns.rcode.NOERROR, got
        assert [rr.rdtype for rr in got.reply.answer] == [dns.rdatatype.CNAME], got.reply
        assert got.reply.answer[0].name.to_text() == f"tocname.{HC}"
        assert got.cnames == ["fallback.example.net."], got.reply
        assert got.ttl == PRUNED_TTL, got
        time.sleep(0.1)


def test_next_route_answers_when_the_first_has_no_healthy_candidate(targets, serve):
    ta, tb = targets.http_same_port([HOST_A, HOST_B])
    srv = serve(
        {"web": fast_check(port=ta.port)},
        {"a": region(A, "web", check_address=HOST_A), "b": region(B, "web", check_address=HOST_B), "c": region(C)},
        {"app": name_all(None, fail="closed", route=[{"to": ["a", "b"]}, {"to": ["c"]}])},
    )
    poll(srv, is_set(A, B), 2.0)
    assert_steady(srv, {A, B}, 0.3, ttl=TTL)

    ta.set(status=503)
    poll(srv, is_set(B), DROP_BOUND)  # route 1 still has b
    assert ask(srv).ttl == PRUNED_TTL
    t0 = time.monotonic()
    tb.set(status=503)
    moved, got = poll(srv, is_set(C), DROP_BOUND, start=t0)
    assert moved <= DROP_BOUND, f"route 2 answered after {moved:.3f} s"
    assert got.ttl == PRUNED_TTL, got  # route 1's regions were left out
    assert_steady(srv, {C}, 0.4, ttl=PRUNED_TTL)

    tb.ok()
    back, got = poll(srv, is_set(B), RISE_BOUND)
    assert back <= RISE_BOUND
    assert got.ttl == PRUNED_TTL, got  # a is still out


def test_max_latency_prunes_a_slow_region(targets, serve):
    """b answers in ~60 ms (healthy: below healthy_below_ms = 100) but above the route's
    max_latency_ms = 30; a answers at once."""
    ta, tb = targets.http_same_port([HOST_A, HOST_B])
    tb.set(delay=0.06)
    srv = serve(
        {"web": fast_check(port=ta.port)},
        {"a": region(A, "web", check_address=HOST_A), "b": region(B, "web", check_address=HOST_B)},
        {
            "app": name_all(None, route=[{"to": ["a", "b"], "max_latency_ms": 30}]),
            "nolimit": name_all(["a", "b"]),
        },
    )
    poll(srv, is_set(A), 2.0)
    assert_steady(srv, {A}, 0.5, ttl=PRUNED_TTL)
    assert_steady(srv, {A, B}, 0.2, name=f"nolimit.{HC}", ttl=TTL)  # b is healthy, only too slow

    tb.set(delay=0.0)  # b speeds up: its measured latency (last few probes) falls below 30 ms
    back, got = poll(srv, is_set(A, B), 2.0)
    assert got.ttl == TTL, got


def test_flapping_target_does_not_flap_the_answers(targets, serve):
    """a's target alternates 200 / 503 on every probe for 3 s. Tolerance: a may leave the answer
    once (one transition out, within the first 1.2 s) and must never come back while it flaps."""
    ta, tb = targets.http_same_port([HOST_A, HOST_B])
    srv = serve(
        {"web": fast_check(port=ta.port)},
        {"a": region(A, "web", check_address=HOST_A), "b": region(B, "web", check_address=HOST_B)},
        {"app": name_all(["a", "b"])},
    )
    poll(srv, is_set(A, B), 2.0)
    assert_steady(srv, {A, B}, 0.4)

    ta.set(flap=True)
    t0 = time.monotonic()
    samples = []
    while time.monotonic() - t0 < 3.0:
        got = ask(srv)
        samples.append((time.monotonic() - t0, A in got.addrs, got))
        assert B in got.addrs, got
        time.sleep(0.1)
    statuses = [r.path for r in ta.requests_matching(since=t0)]
    assert len(statuses) >= 10, f"only {len(statuses)} probes while flapping"
    present = [p for _, p, _ in samples]
    transitions = sum(1 for x, y in zip(present, present[1:]) if x != y)
    first_out = next((t for t, p, _ in samples if not p), None)
    trace = " ".join("A" if p else "-" for p in present)
    assert first_out is not None, f"a never left the answer while flapping: {trace}"
    assert first_out <= 1.2, f"a left only after {first_out:.2f} s: {trace}"
    assert transitions == 1, f"{transitions} transitions (want exactly one, out): {trace}"
    assert all(s[2].ttl == PRUNED_TTL for s in samples if not s[1]), "pruned TTL while a is out"

    # and once it stops flapping, rise good probes bring it back
    t1 = time.monotonic()
    ta.ok()
    back, _ = poll(srv, is_set(A, B), RISE_BOUND, start=t1)
    assert back <= RISE_BOUND


# --------------------------------------------------------------------------------------------
# Health-aware strategies
# --------------------------------------------------------------------------------------------


def strategy_name(strategy, to=("a", "b")):
    return {"ttl": TTL, "pruned_ttl": PRUNED_TTL, "strategy": strategy, "answers": 1, "route": [{"to": list(to)}]}


def two_target_zone(targets, serve, check_keys=None, names=None):
    ta, tb = targets.http_same_port([HOST_A, HOST_B])
    keys = {"port": ta.port}
    keys.update(check_keys or {})
    srv = serve(
        {"web": fast_check(**keys)},
        {"a": region(A, "web", check_address=HOST_A), "b": region(B, "web", check_address=HOST_B)},
        names,
    )
    return srv, ta, tb


def test_latency_strategy_picks_the_fastest_target(targets, serve):
    """a answers in ~60 ms, b in ~5 ms (both healthy, < 100 ms): latency picks b although a is
    listed first; when the delays swap, it follows within a few probes."""
    ta, tb = targets.http_same_port([HOST_A, HOST_B])
    ta.set(delay=0.06)
    tb.set(delay=0.005)
    srv = serve(
        {"web": fast_check(port=ta.port)},
        {"a": region(A, "web", check_address=HOST_A), "b": region(B, "web", check_address=HOST_B)},
        {"app": strategy_name("latency")},
    )
    poll(srv, is_set(B), 2.0)
    assert_steady(srv, {B}, 0.6, ttl=TTL)  # nothing pruned: full TTL

    ta.set(delay=0.005)
    tb.set(delay=0.06)
    poll(srv, is_set(A), 2.0)
    assert_steady(srv, {A}, 0.6, ttl=TTL)


def test_least_loaded_strategy_follows_the_load_field(targets, serve):
    """a reports {"load": 0.9}, b {"load": 0.2}: b, although a is listed first; swapped: a.
    c's body has no load figure: "regions without the measurement come last", so in a route
    [c, a] a answers even with 0.9."""
    ta, tb, tc = targets.http_same_port([HOST_A, HOST_B, HOST_C])
    ta.set(body={"load": 0.9})
    tb.set(body={"load": 0.2})
    tc.set(body={"status": "fine"})
    srv = serve(
        {"web": fast_check(port=ta.port, load_field="load")},
        {
            "a": region(A, "web", check_address=HOST_A),
            "b": region(B, "web", check_address=HOST_B),
            "c": region(C, "web", check_address=HOST_C),
        },
        {"app": strategy_name("least_loaded"), "noload": strategy_name("least_loaded", to=("c", "a"))},
    )
    poll(srv, is_set(B), 2.0)
    assert_steady(srv, {B}, 0.5, ttl=TTL)
    assert_steady(srv, {A}, 0.2, name=f"noload.{HC}", ttl=TTL)

    t0 = time.monotonic()
    ta.set(body={"load": 0.2})
    tb.set(body={"load": 0.9})
    switched, _ = poll(srv, is_set(A), 1.0, start=t0)
    assert switched <= INTERVAL + ALLOWANCE, f"least_loaded switched after {switched:.3f} s (the next probe)"
    assert_steady(srv, {A}, 0.5, ttl=TTL)


def test_performance_strategy_prefers_reliable_over_fast_and_flaky(targets, serve):
    """`performance` ranks by the expected time to an answer: score = latency + (1 − success) ×
    1000 ms (a failed attempt costs a resolver about a second before it retries).

    a: fast (~2 ms) but every other probe fails, success 50 %  → ≈    2 + 500 = 502 ms
    b: slower (~80 ms), one probe in 5 fails, success 80 %     → ≈   80 + 200 = 280 ms
    so performance picks b. The thresholds (healthy_below_ms = 200, healthy_success = 0.3) keep
    both healthy, so both are candidates: `latency` (the control, same regions) picks a. b is
    not perfect on purpose: the naive latency × (1 − success) would score it 80 × 0.2 = 16 and a
    2 × 0.5 = 1 and pick a, so this also tells the documented score from the naive one."""
    ta, tb = targets.http_same_port([HOST_A, HOST_B])
    ta.set(delay=0.0, flap=True)
    tb.set(delay=0.08, fail_every=5)
    srv = serve(
        {
            "web": fast_check(
                port=ta.port, healthy_below_ms=200, degraded_below_ms=300, healthy_success=0.3, degraded_success=0.2
            )
        },
        {"a": region(A, "web", check_address=HOST_A), "b": region(B, "web", check_address=HOST_B)},
        {"app": strategy_name("performance"), "lat": strategy_name("latency")},
    )
    # until b has failed twice (its 5th and 10th probes), so its success rate is below 100 %
    deadline = time.monotonic() + 4
    while tb.count() < 11 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert tb.count() >= 11, f"b probed only {tb.count()} times"
    poll(srv, is_set(A), 1.0, name=f"lat.{HC}")
    poll(srv, is_set(B), 1.0)
    t_end = time.monotonic() + 1.2
    while time.monotonic() < t_end:
        assert ask(srv, f"lat.{HC}").addrs == {A}, "a stays a healthy candidate (the control)"
        got = ask(srv)
        assert got.addrs == {B} and got.ttl == TTL, got
        time.sleep(0.05)


# --------------------------------------------------------------------------------------------
# Shared probes, initial states
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layout",
    ["same check, same check_address", "same check with address", "two identical checks", "same check with url"],
)
def test_identical_probes_run_once(targets, serve, layout):
    """Two regions whose probes are exactly alike (kind, target, settings) are probed by one
    stream: over 2 s at a 200 ms interval, about 10 requests — two streams would make ~20.
    Tolerance: 7 to 13."""
    t = targets.http(HOST_C)
    check = fast_check(port=t.port)
    if layout == "same check, same check_address":
        checks = {"web": check}
        regions = {"a": region(A, "web", check_address=HOST_C), "b": region(B, "web", check_address=HOST_C)}
    elif layout == "same check with address":
        checks = {"web": dict(check, address=HOST_C)}
        regions = {"a": region(A, "web"), "b": region(B, "web")}
    elif layout == "two identical checks":
        checks = {"web": check, "web2": dict(check)}
        regions = {"a": region(A, "web", check_address=HOST_C), "b": region(B, "web2", check_address=HOST_C)}
    else:  # `url` replaces address, port and path: the regions' own addresses are not probed
        checks = {"web": {k: v for k, v in check.items() if k not in ("port", "path")} | {"url": f"{t.url}/up"}}
        regions = {"a": region(A, "web"), "b": region(B, "web")}
    srv = serve(checks, regions, {"app": name_all(["a", "b"], fail="closed")})
    poll(srv, is_set(A, B), 2.0)
    time.sleep(0.3)
    t0 = time.monotonic()
    start_count = t.count()
    time.sleep(2.0)
    n = t.count() - start_count
    elapsed = time.monotonic() - t0
    expected = elapsed / INTERVAL
    assert 7 <= n <= 13, f"{n} probe requests in {elapsed:.2f} s; one stream makes ≈ {expected:.0f}, two ≈ {2 * expected:.0f}"
    assert {r.path for r in t.requests} == {"/up" if layout == "same check with url" else "/health"}
    # and the shared result reaches both regions
    t.set(status=503)
    poll(srv, lambda a: a.rcode == dns.rcode.NOERROR and not a.reply.answer, DROP_BOUND)


def test_initial_down_keeps_regions_out_until_probed_healthy(targets, serve):
    """initial = "down", interval 1 s, rise 2: a is unhealthy from the start and becomes
    healthy at its second good probe, ~1 s after the server started."""
    t = targets.http(HOST_A)
    t0 = time.monotonic()
    srv = serve(
        {"web": dict(fast_check(port=t.port), interval="1s", initial="down")},
        {"a": region(A, "web", check_address=HOST_A), "b": region(B)},
        {"app": name_all(["a", "b"])},
    )
    ready = time.monotonic()
    first = ask(srv)
    assert first.addrs == {B} and first.ttl == PRUNED_TTL, f"first answer {first}: a must be out until probed healthy"
    came, got = poll(srv, is_set(A, B), RISE * 1.0 + 1.0 + ALLOWANCE, start=ready)
    since_spawn = time.monotonic() - t0
    assert got.ttl == TTL, got
    assert came <= RISE * 1.0 + 1.0 + ALLOWANCE, f"a came after {came:.2f} s"
    assert since_spawn >= (RISE - 1) * 1.0 - EARLY, f"a came {since_spawn:.2f} s after the start: before its second probe"
    assert t.count() >= RISE


class FirstAnswerServer(MeridianServer):
    """A MeridianServer whose readiness is the first reply to a query for APP; that reply and
    its time since the process was spawned are kept."""

    first_reply = None
    first_after = None

    def _wait_ready(self) -> None:
        spawned = time.monotonic()
        deadline = spawned + STARTUP_TIMEOUT
        q = make_query(APP, "A")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(f"exited during startup with code {self.proc.returncode}")
            # Query only once this server holds the port (it logs the wait after binding, and
            # refuses a port anyone else holds): on a shared machine another process may
            # have taken the port between find_free_port and our bind, and answer for us.
            if "waiting for the first round of health probes" not in self.stderr():
                time.sleep(0.01)
                continue
            q.id = (q.id + 1) & 0xFFFF
            wire = udp_raw(q.to_wire(), self.port, "127.0.0.1", timeout=0.05)
            if wire is not None:
                self.first_after = time.monotonic() - spawned
                self.first_reply = dns.message.from_wire(wire)
                return
        raise ServerStartError("no answer to the first query")


def test_initial_wait_answers_only_after_the_first_round(targets, tmp_path):
    """initial = "wait": no answer before the first round of probes; a's target hangs (fails by
    its 150 ms timeout), b's answers. The very first answer already leaves a out, and it cannot
    come before a's timeout expired. (With initial = "up", a would be in the early answers.)"""
    ta, tb = targets.http_same_port([HOST_A, HOST_B])
    ta.set(hang=True)
    zdir = tmp_path / "zones"
    zdir.mkdir()
    (zdir / "hc.example.toml").write_text(
        health_zone(
            {"web": fast_check(port=ta.port, initial="wait")},
            {"a": region(A, "web", check_address=HOST_A), "b": region(B, "web", check_address=HOST_B)},
            {"app": name_all(["a", "b"])},
        )
    )
    srv = FirstAnswerServer(tmp_path / "server", [zdir])
    srv.start()
    try:
        first = Answer(srv.first_reply)
        assert first.rcode == dns.rcode.NOERROR and first.addrs == {B}, f"first answer {first}"
        assert first.ttl == PRUNED_TTL, first
        assert srv.first_after >= TIMEOUT_MS / 1000, f"first answer {srv.first_after:.3f} s after spawn"
        assert "waiting for the first round of health probes" in srv.stderr()
        assert_steady(srv, {B}, 0.3, ttl=PRUNED_TTL)
    finally:
        ta.set(hang=False)
        srv.stop()


# --------------------------------------------------------------------------------------------
# Alerts
# --------------------------------------------------------------------------------------------


def test_state_changes_are_logged_with_their_reason(targets, serve):
    ta, tb = targets.http_same_port([HOST_A, HOST_B])
    tc = targets.tcp(HOST_C)
    srv = serve(
        {"web": fast_check(port=ta.port), "port": fast_check("tcp", port=tc.port)},
        {
            "a": region(A, "web", check_address=HOST_A),
            "b": region(B, "web", check_address=HOST_B),
            "c": region(C, "port", check_address=HOST_C),
        },
        {"app": name_all(["a", "b", "c"], fail="closed")},
    )
    poll(srv, is_set(A, B, C), 2.0)
    t0 = time.monotonic()
    ta.set(status=503)
    tb.set(hang=True)
    tc.close()
    prefix = r"meridiand \w+: health: hc\.example\. region"
    wait_log(srv, prefix + r" a \(check web\): healthy → unhealthy: HTTP 503\n", DROP_BOUND, start=t0)
    wait_log(srv, prefix + r" b \(check web\): healthy → unhealthy: timeout after 150 ms\n", DROP_BOUND, start=t0)
    wait_log(srv, prefix + r" c \(check port\): healthy → unhealthy: tcp: connection refused\n", DROP_BOUND, start=t0)
    poll(srv, lambda a: a.rcode == dns.rcode.NOERROR and not a.reply.answer, 0.5)  # fail closed: NODATA

    t1 = time.monotonic()
    ta.ok()
    wait_log(srv, prefix + r" a \(check web\): unhealthy → healthy: latency \d+ ms, success 100 %\n", RISE_BOUND, start=t1)
    err = srv.stderr()
    assert err.count("region a (check web): healthy → unhealthy") == 1, err
    assert err.count("region a (check web): unhealthy → healthy") == 1, err


def test_state_changes_are_posted_to_the_webhook(targets, serve):
    hook = targets.http("127.0.0.30")
    ta, tb = targets.http_same_port([HOST_A, HOST_B])
    srv = serve(
        {"web": fast_check(port=ta.port)},
        {"a": region(A, "web", check_address=HOST_A), "b": region(B, "web", check_address=HOST_B)},
        {"app": name_all(["a", "b"])},
        extra_config=f'[alerts]\nwebhook = "{hook.url}/hook"\n',
    )
    poll(srv, is_set(A, B), 2.0)
    assert hook.count() == 0, "no state change yet, no POST"

    def posts(n, bound):
        deadline = time.monotonic() + bound
        while hook.count("/hook") < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return hook.requests_matching("/hook")

    ta.set(status=503)
    got = posts(1, DROP_BOUND + 0.5)
    assert len(got) == 1, f"{len(got)} POSTs after a's failure\n{srv.describe()}"
    req = got[0]
    assert req.method == "POST"
    assert req.headers.get("Content-Type", "").startswith("application/json"), req.headers
    body = req.json()
    stamp = body.pop("time")
    assert body == {
        "zone": HC,
        "region": "a",
        "check": "web",
        "from": "healthy",
        "to": "unhealthy",
        "reason": "HTTP 503",
    }
    assert isinstance(stamp, int) and abs(stamp - time.time()) < 30, stamp

    time.sleep(0.6)  # a stays down: no more POSTs
    assert hook.count("/hook") == 1

    ta.ok()
    got = posts(2, RISE_BOUND + 0.5)
    assert len(got) == 2, f"{len(got)} POSTs after a's recovery"
    body = got[1].json()
    assert {k: body[k] for k in ("zone", "region", "check", "from", "to")} == {
        "zone": HC,
        "region": "a",
        "check": "web",
        "from": "unhealthy",
        "to": "healthy",
    }
    assert re.fullmatch(r"latency \d+ ms, success 100 %", body["reason"]), body
    time.sleep(0.4)
    assert hook.count() == 2, [r.json() for r in hook.requests]


# --------------------------------------------------------------------------------------------
# Bad input at load time
# --------------------------------------------------------------------------------------------

BAD_CASES = {
    "unknown kind": (
        {"web": {"kind": "icmp", "port": 80}},
        {"a": region(A, "web")},
        '"icmp"',
        "unknown check kind",
    ),
    "timeout longer than interval": (
        {"web": {"kind": "tcp", "port": 80, "interval": "200ms", "timeout": "300ms"}},
        {"a": region(A, "web")},
        '"300ms"',
        "longer than the interval",
    ),
    "http without url or path": (
        {"web": {"kind": "http", "port": 80}},
        {"a": region(A, "web")},
        "[checks.",
        "needs",
    ),
    "unknown check": (
        {"web": {"kind": "tcp", "port": 80}},
        {"a": region(A, "nope")},
        '"nope"',
        "unknown check",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_health_config_is_rejected_with_a_position(tmp_path, case):
    checks, regions, needle, keyword = BAD_CASES[case]
    text = health_zone(checks, regions, {"app": name_all(["a"])})
    zdir = tmp_path / "zones"
    zdir.mkdir()
    zpath = zdir / "hc.example.toml"
    zpath.write_text(text)
    config = write_config(tmp_path, [zdir])
    proc = run_check(config)
    assert proc.returncode == 1, f"exit {proc.returncode}\n{proc.stderr}"
    errors = parse_errors(proc.stderr)
    ours = [e for e in errors if keyword in e[3]]
    assert ours, f"no `path:line:column: ...{keyword}...` line in:\n{proc.stderr}"
    path, line, col, msg = ours[0]
    assert same_file(path, zpath, base=tmp_path), f"{path} is not {zpath}"
    want_line, want_col = line_col(text, needle)
    assert line == want_line, f"{msg!r} at line {line}, expected {want_line} ({needle!r})\n{text}"
    assert col == want_col, f"{msg!r} at column {col}, expected {want_col} ({needle!r})"


def test_tls_failure_is_a_probe_failure_with_a_reason(targets, serve):
    """An https check against a target that speaks plain HTTP: the handshake fails, the region
    is dropped, and the log says it was TLS (curl's words), not a crash or a hang. The check is
    slower than the others (400 ms interval, 350 ms timeout) so that a loaded machine, or a
    sanitizer build, still sees the handshake fail rather than time out."""
    plain = targets.http(HOST_A)
    srv = serve(
        {"tls": {"kind": "https", "port": plain.port, "path": "/health", "interval": "400ms", "timeout": "350ms",
                 "rise": RISE, "fall": FALL}},
        {"a": region(A, "tls", check_address=HOST_A), "b": region(B)},
        {"app": name_all(["a", "b"], fail="closed")},
    )
    bound = FALL * 0.4 + 0.4 + ALLOWANCE
    t0 = time.monotonic()
    poll(srv, is_set(B), bound + 0.4, start=t0)
    wait_log(srv, r"region a \(check tls\): healthy → unhealthy: http: [^\n]*(SSL|TLS|ssl|tls)[^\n]*\n", bound, start=t0)
    assert srv.proc.poll() is None
