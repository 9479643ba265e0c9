"""Steering that learns, end to end (docs/POLICY.md, "Capacity, shed load and adaptive weights"):
the real meridiand probing loopback HTTP targets that report load and answer slowly or fast, its
control loop stepping every 250 ms with steps of at most 0.25, and answer shares counted over
many queries.

Shares are measured, so the bounds are statistical: SAMPLES (800) answers give a share within
±0.07 of the true one (four standard deviations at p = 0.5), which is the tolerance used; the
200-answer samples taken while waiting for a change get ±0.15 (about four of theirs).
"""

from __future__ import annotations

import json
import time

import dns.rcode
import dns.rdatatype
import pytest

from admin_client import admin_json, metric_value, scrape_metrics
from health_zone import HC, fast_check, health_zone, region
from meridian_server import start_ops_server

APP = f"app.{HC}"
A, B = "192.0.2.1", "192.0.2.2"
HOST_A, HOST_B = "127.0.0.11", "127.0.0.12"
STEP = 0.25  # [adaptive] interval, seconds
MAX_STEP = 0.25
ADAPTIVE = f'[adaptive]\ninterval = "{int(STEP * 1000)}ms"\nmax_step = {MAX_STEP}\n'
SAMPLES = 800
TOLERANCE = 0.07
WAIT_TOLERANCE = 0.15


@pytest.fixture
def serve(targets, start_server):
    def _serve(checks, regions, names):
        files = {"hc.example.toml": health_zone(checks, regions, names)}
        return start_ops_server(start_server, zone_files=files, extra_config=ADAPTIVE)

    return _serve


def share_of(srv, address, name=APP, samples=SAMPLES, pace=0.0):
    """The fraction of `samples` answers for `name` that are `address` (one A record each)."""
    hits = 0
    for _ in range(samples):
        reply = srv.query(name, "A")
        assert reply.rcode() == dns.rcode.NOERROR, reply
        addrs = {rd.address for rr in reply.answer if rr.rdtype == dns.rdatatype.A for rd in rr}
        assert len(addrs) == 1, reply
        hits += address in addrs
        if pace:
            time.sleep(pace)
    return hits / samples


def wait_share(srv, address, low, high, bound, name=APP):
    """Measures `address`'s share until it lies in [low, high]; the seconds it took and the shares seen."""
    start = time.monotonic()
    seen = []
    while time.monotonic() - start < bound:
        seen.append(share_of(srv, address, name, samples=200))
        if low <= seen[-1] <= high:
            return time.monotonic() - start, seen
    pytest.fail(f"{address}'s share of {name} stayed outside [{low}, {high}] for {bound} s: {seen}\n{srv.describe()}")


def load_zone(targets, shed=None, capacity=None, strategy="failover"):
    ta, tb = targets.http_same_port([HOST_A, HOST_B])
    ta.set(body={"load": 10})
    tb.set(body={"load": 10})
    extra = {}
    if shed:
        extra["shed"] = shed
    if capacity:
        extra["capacity"] = capacity
    checks = {"web": fast_check(port=ta.port, load_field="load")}
    regions = {
        "a": region(A, "web", check_address=HOST_A, **extra),
        "b": region(B, "web", check_address=HOST_B),
    }
    names = {"app": {"ttl": 60, "strategy": strategy, "route": [{"to": ["a", "b"]}]}}
    return ta, tb, checks, regions, names


def test_shed_load_moves_answers_away_step_by_step_and_back(targets, serve):
    """a sheds between loads 50 and 90. Load 10: a answers everything (failover order). Load 70:
    a takes half of its answers and passes the rest to b. Load 95: b gets everything. The factor
    moves at most MAX_STEP per STEP, so right after the load jumps a still takes a share."""
    ta, _, checks, regions, names = load_zone(targets, shed={"low": 50, "high": 90})
    srv = serve(checks, regions, names)
    wait_share(srv, A, 1.0, 1.0, 5.0)

    ta.set(body={"load": 70})
    took, seen = wait_share(srv, A, 0.5 - TOLERANCE, 0.5 + TOLERANCE, 8.0)
    assert all(s >= 0.5 - WAIT_TOLERANCE for s in seen), f"a's share fell below the watermark's 0.5 on the way: {seen}"
    time.sleep(4 * STEP)
    assert abs(share_of(srv, A) - 0.5) <= TOLERANCE, "a's share did not stay at 0.5"
    # /status and /metrics show the factor the answers follow.
    zone = next(z for z in admin_json(srv, "GET", "/status")["zones"] if z["origin"] == HC)
    learned = {r["name"]: r["learned"] for r in zone["regions"]}
    assert learned["a"]["capacity"] is None and learned["a"]["capacity_factor"] == 1.0
    assert learned["a"]["load_factor"] == 0.5
    assert learned["a"]["latency_ewma_ms"] > 0  # the http probes measure it
    assert learned["b"]["load_factor"] == 1.0
    samples = scrape_metrics(srv)
    assert metric_value(samples, "meridian_region_load_factor", zone=HC, region="a") == 0.5
    assert metric_value(samples, "meridian_region_capacity_factor", zone=HC, region="a") == 1.0

    ta.set(body={"load": 95})
    t0 = time.monotonic()
    first = share_of(srv, A, samples=100)
    _, seen = wait_share(srv, A, 0.0, 0.0, 8.0)
    # From 0.5 to 0 takes at least two steps: nothing flips at once.
    assert time.monotonic() - t0 >= 2 * STEP - 0.05
    assert first > 0 or len(seen) > 1, "a's share dropped to 0 at once"

    ta.set(body={"load": 20})
    wait_share(srv, A, 1.0, 1.0, 8.0)


def test_every_region_at_its_high_watermark_still_answers(targets, serve):
    """Shedding never leaves a name without an answer: when every candidate is at or above its
    high watermark, the ranking stands."""
    ta, tb, checks, regions, names = load_zone(targets, shed={"low": 50, "high": 90})
    regions["b"]["shed"] = {"low": 50, "high": 90}
    srv = serve(checks, regions, names)
    ta.set(body={"load": 99})
    tb.set(body={"load": 99})
    wait_share(srv, A, 1.0, 1.0, 8.0)  # both at 0: failover order, a


def test_capacity_spills_the_surplus_to_the_next_region(targets, serve):
    """a may take 100 answers per second. Offered about 400 per second, it keeps about a quarter
    and b gets the rest; offered fewer than 100 per second, a gets everything again."""
    _, _, checks, regions, names = load_zone(targets, capacity=100)
    srv = serve(checks, regions, names)
    wait_share(srv, A, 1.0, 1.0, 5.0, name=APP)

    # Offer a steady rate and measure it, so the expected share is capacity / rate.
    deadline = time.monotonic() + 12
    last = None
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        share = share_of(srv, A, samples=400, pace=0.002)
        rate = 400 / (time.monotonic() - t0)
        expected = min(1.0, 100 / rate)
        last = (share, rate, expected)
        if abs(share - expected) <= TOLERANCE + 0.05:
            break
    else:
        pytest.fail(f"a's share never settled near capacity / rate: share, rate, expected = {last}")
    share, rate, expected = last
    assert rate > 150, f"the test could not offer enough queries ({rate:.0f}/s) to exceed the capacity"
    assert share < 0.9, f"a kept {share:.2f} of {rate:.0f} answers/s with a capacity of 100/s"

    # Below capacity (about 40 per second): a takes everything again.
    took, _ = wait_share_slow(srv, A, 1.0, 20.0)
    assert took < 20.0


def wait_share_slow(srv, address, want, bound):
    start = time.monotonic()
    seen = []
    while time.monotonic() - start < bound:
        seen.append(share_of(srv, address, samples=40, pace=0.025))
        if seen[-1] >= want:
            return time.monotonic() - start, seen
    pytest.fail(f"{address}'s share stayed below {want} for {bound} s at a low rate: {seen}")


def test_adaptive_weights_follow_latency_within_the_band(targets, serve):
    """Strategy adaptive, band 20 ms: a answers in about 5 ms and b in about 60 ms, so b is outside
    the band and a gets everything; swapped, the shares move over to b. A name whose regions
    have no check (no latency data) keeps its configured 1:1 weights."""
    ta, tb = targets.http_same_port([HOST_A, HOST_B])
    ta.set(delay=0.005)
    tb.set(delay=0.06)
    checks = {"web": fast_check(port=ta.port)}
    regions = {
        "a": region(A, "web", check_address=HOST_A),
        "b": region(B, "web", check_address=HOST_B),
        "c": region("192.0.2.3"),
        "d": region("192.0.2.4"),
    }
    names = {
        "app": {"ttl": 60, "route": [{"to": ["a", "b"], "strategy": "adaptive", "band": "20ms", "time_constant": "1s"}]},
        "nodata": {"ttl": 60, "route": [{"to": ["c", "d"], "strategy": "adaptive"}]},
    }
    srv = serve(checks, regions, names)
    wait_share(srv, A, 0.97, 1.0, 10.0)
    assert abs(share_of(srv, "192.0.2.3", name=f"nodata.{HC}") - 0.5) <= TOLERANCE

    route = next(z for z in admin_json(srv, "GET", "/status")["zones"] if z["origin"] == HC)["names"][0]["routes"][0]
    assert route["weights"] == {"a": 1.0, "b": 0.0}
    samples = scrape_metrics(srv)
    assert metric_value(samples, "meridian_adaptive_weight", zone=HC, name=APP, route="1", region="a") == 1.0
    assert metric_value(samples, "meridian_region_latency_ewma_ms", zone=HC, region="b") > 40
    lines = admin_json(srv, "GET", f"/explain?name={APP}&client=127.0.0.1")["lines"]
    assert any(line.startswith("  a: latency EWMA") and "effective weight 100.0 %" in line for line in lines), lines
    assert any(line.startswith("  b: latency EWMA") and "effective weight 0.0 %" in line for line in lines), lines

    ta.set(delay=0.06)
    tb.set(delay=0.005)
    took, seen = wait_share(srv, B, 0.97, 1.0, 15.0)
    # The EWMA (1 s) and the step bound (0.25 per 250 ms) make the move gradual: it takes more
    # than one step.
    assert took > STEP, f"the shares flipped at once: {seen}"


def test_demand_forecasts_show_in_status_and_survive_a_restart(start_server, tmp_path):
    """[forecast] with 10 s buckets and a one-minute season: once a bucket has closed, /status and
    /metrics show each region's and name's answers per second, actual and forecast; the state file
    is written, and a restarted server shows the forecasts again before its first bucket closes."""
    state = tmp_path / "forecast.json"
    extra = f'[forecast]\nbucket = "10s"\nseason = "1m"\nstate_file = "{state}"\n'
    files = {"hc.example.toml": health_zone({}, {"a": region(A), "b": region(B)},
                                            {"app": {"ttl": 60, "strategy": "failover",
                                                     "route": [{"to": ["a", "b"]}]}})}

    def demand(srv):
        zone = next(z for z in admin_json(srv, "GET", "/status")["zones"] if z["origin"] == HC)
        return zone["regions"][0]["demand"], zone["names"][0]["demand"]

    srv = start_ops_server(start_server, zone_files=files, extra_config=extra)
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline:
        share_of(srv, A, samples=50)  # keep answers flowing: a gets them all
        region_demand, name_demand = demand(srv)
        if region_demand is not None and region_demand["actual_per_second"] > 0:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"no closed bucket with answers within 25 s: {demand(srv)}")
    assert name_demand["actual_per_second"] == pytest.approx(region_demand["actual_per_second"])
    assert region_demand["forecast_per_second"] > 0 and region_demand["seasonal"] is False
    samples = scrape_metrics(srv)
    assert metric_value(samples, "meridian_demand_answers_per_second", zone=HC, region="a", value="actual") > 0
    assert metric_value(samples, "meridian_demand_answers_per_second", zone=HC, name=APP, value="forecast") > 0
    assert state.exists()
    kept = json.loads(state.read_text())
    assert f"region {HC} a" in kept["series"] and f"name {HC} {APP}" in kept["series"]
    srv.stop()

    again = start_ops_server(start_server, zone_files=files, extra_config=extra)
    region_demand, _ = demand(again)
    assert region_demand is not None and region_demand["actual_per_second"] > 0, "the restart relearned from nothing"


def test_a_forecast_over_capacity_raises_a_predictive_alert_through_the_webhook(start_server, tmp_path):
    """Region a may take 2 answers per second; it is sent about 10. With 10 s buckets and a 30 s
    horizon, once a bucket closes its forecast passes the capacity: region_capacity_forecast is
    raised in /status, in the log and as a webhook POST, like every other alert."""
    from healthtargets import HttpTarget

    hook = HttpTarget("127.0.0.45")
    try:
        extra = f'[forecast]\nbucket = "10s"\nseason = "1m"\nhorizon = "30s"\nstate_file = "{tmp_path / "f.json"}"\n'
        files = {"hc.example.toml": health_zone({}, {"a": region(A, capacity=2), "b": region(B)},
                                                {"app": {"ttl": 60, "strategy": "failover",
                                                         "route": [{"to": ["a", "b"]}]}})}
        srv = start_ops_server(start_server, zone_files=files, extra_config=extra,
                               analytics={"interval_ms": 500},
                               alerts={"webhook": hook.url + "/hook", "webhook_timeout_ms": 1000})
        deadline = time.monotonic() + 30
        alert = None
        while time.monotonic() < deadline and alert is None:
            for _ in range(10):
                srv.query(APP, "A")
            time.sleep(1)
            alert = next((a for a in admin_json(srv, "GET", "/status")["alerts"]
                          if a["rule"] == "region_capacity_forecast"), None)
        assert alert is not None, "no predictive alert within 30 s"
        assert alert["region"] == "a" and alert["zone"] == HC and alert["severity"] == "warning"
        assert "over its capacity of 2" in alert["message"]
        deadline = time.monotonic() + 5
        posted = []
        while time.monotonic() < deadline and not posted:
            posted = [json.loads(r.body) for r in hook.requests_matching("/hook")]
            posted = [p for p in posted if p.get("alert") == "region_capacity_forecast"]
            time.sleep(0.1)
        assert posted and posted[0]["state"] == "raised" and posted[0]["region"] == "a", posted
    finally:
        hook.close()
