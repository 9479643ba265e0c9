"""Analytics ([analytics]): alert rules evaluated every interval_ms on health data — a slow probed
region (region_latency warning), a region failing its probes (region_success critical), too few
healthy regions in a zone (healthy_regions warning) — shown in /status and /metrics, logged,
and POSTed to the [alerts] webhook when raised and when cleared; and per-region query-rate
trends (moving average and forecast of answers/s).

One server, three zones:
  lat.example.   regions slow (HTTP target answering after 60 ms) and fast; latency_warning_ms = 30
                 while healthy_below_ms = 1000 keeps both healthy
  flap.example.  region flappy (every other probe fails) and four unchecked regions
  drain.example. five unchecked regions; www answers with r1 (failover)
"""

from __future__ import annotations

import threading
import time

import dns.rcode
import pytest

from admin_client import admin_json, metric_value, scrape_metrics
from config_toml import zone_toml
from healthtargets import HttpTarget
from meridian_server import start_ops_server, wait_for
from wire import answer_addresses

NS = "@ 3600 IN NS ns1\nns1 3600 IN A 192.0.2.53"

CHECK = """
[checks.{name}]
kind = "http"
url = "{url}"
interval = "250ms"
timeout = "250ms"
rise = 2
fall = 2
window = {window}
healthy_below_ms = 1000
degraded_below_ms = 2000
healthy_success = {healthy_success}
degraded_success = 0.0
"""


def lat_zone(slow_url: str, fast_url: str) -> str:
    return (
        zone_toml("lat.example.", NS)
        + CHECK.format(name="slowweb", url=slow_url, window=20, healthy_success=0.5)
        + CHECK.format(name="fastweb", url=fast_url, window=20, healthy_success=0.5)
        + """
[regions.slow]
addresses = ["192.0.2.11"]
check = "slowweb"

[regions.fast]
addresses = ["192.0.2.12"]
check = "fastweb"

[names.www]
[[names.www.route]]
to = ["fast", "slow"]
strategy = "failover"
"""
    )


def flap_zone(url: str) -> str:
    regions = "".join(f'\n[regions.steady{i}]\naddresses = ["192.0.2.{30 + i}"]\n' for i in range(1, 5))
    return (
        zone_toml("flap.example.", NS)
        + CHECK.format(name="flapweb", url=url, window=4, healthy_success=0.99)
        + """
[regions.flappy]
addresses = ["192.0.2.20"]
check = "flapweb"
"""
        + regions
        + """
[names.www]
[[names.www.route]]
to = ["steady1", "steady2", "steady3", "steady4", "flappy"]
strategy = "failover"
"""
    )


def drain_zone() -> str:
    regions = "".join(f'\n[regions.r{i}]\naddresses = ["192.0.2.{40 + i}"]\n' for i in range(1, 6))
    return (
        zone_toml("drain.example.", NS)
        + regions
        + """
[names.www]
ttl = 30
[[names.www.route]]
to = ["r1", "r2", "r3", "r4", "r5"]
strategy = "failover"
"""
    )


class Env:
    pass


@pytest.fixture(scope="module")
def env(module_start_server):
    e = Env()
    e.slow = HttpTarget("127.0.0.41")
    e.fast = HttpTarget("127.0.0.42")
    e.flappy = HttpTarget("127.0.0.43")
    e.hook = HttpTarget("127.0.0.44")
    try:
        e.slow.set(delay=0.06)
        e.flappy.set(flap=True)
        e.srv = start_ops_server(
            module_start_server,
            zone_files={
                "lat.example.toml": lat_zone(e.slow.url + "/health", e.fast.url + "/health"),
                "flap.example.toml": flap_zone(e.flappy.url + "/health"),
                "drain.example.toml": drain_zone(),
            },
            analytics={"interval_ms": 500, "latency_warning_ms": 30, "success_critical": 0.95,
                       "healthy_fraction_warning": 0.8},
            alerts={"webhook": e.hook.url + "/hook", "webhook_timeout_ms": 1000},
        )
        yield e
    finally:
        for t in (e.slow, e.fast, e.flappy, e.hook):
            t.close()


def alerts(env, zone=None):
    out = admin_json(env.srv, "GET", "/status")["alerts"]
    return [a for a in out if zone is None or a["zone"] == zone]


def find_alert(env, rule, zone, region):
    return next((a for a in alerts(env, zone) if a["rule"] == rule and a["region"] == region), None)


def hook_alerts(env, rule, state, zone, region):
    out = []
    for r in env.hook.requests:
        if r.method != "POST" or r.path != "/hook":
            continue
        body = r.json()
        if body.get("alert") == rule and body.get("state") == state and body.get("zone") == zone and body.get("region") == region:
            out.append(body)
    return out


def alert_metric(env, rule, severity):
    """meridian_alerts{rule, severity} and the number of such alerts in /status, taken when
    /status was the same just before and after the scrape (the rules run every 500 ms)."""
    for _ in range(10):
        before = [a for a in alerts(env) if (a["rule"], a["severity"]) == (rule, severity)]
        value = metric_value(scrape_metrics(env.srv), "meridian_alerts", rule=rule, severity=severity)
        after = [a for a in alerts(env) if (a["rule"], a["severity"]) == (rule, severity)]
        if before == after:
            return value, len(after)
        time.sleep(0.1)
    pytest.fail(f"/status alerts kept changing: {before} / {after}")


def region_status(env, zone, name):
    z = next(z for z in admin_json(env.srv, "GET", "/status")["zones"] if z["origin"] == zone)
    return next(r for r in z["regions"] if r["name"] == name)


def test_slow_region_raises_and_clears_a_latency_warning(env):
    alert = wait_for(lambda: find_alert(env, "region_latency", "lat.example.", "slow"), timeout=6.0)
    assert alert, f"no region_latency alert within 6 s; alerts: {alerts(env)}"
    assert alert["severity"] == "warning"
    assert alert["message"].startswith("region slow of lat.example. responds in ")
    assert alert["message"].endswith(" ms (over 30 ms)")
    assert find_alert(env, "region_latency", "lat.example.", "fast") is None
    slow = region_status(env, "lat.example.", "slow")
    assert slow["state"] == "healthy" and slow["latency_ms"] >= 55, slow
    value, count = alert_metric(env, "region_latency", "warning")
    assert value == count >= 1
    assert wait_for(lambda: "alert warning: region slow of lat.example. responds in " in env.srv.stderr(), timeout=2.0)
    raised = wait_for(lambda: hook_alerts(env, "region_latency", "raised", "lat.example.", "slow"), timeout=3.0)
    assert raised and len(raised) == 1, env.hook.requests
    assert raised[0]["severity"] == "warning" and raised[0]["message"] == alert["message"]
    # standing alerts are not posted again
    time.sleep(1.1)
    assert len(hook_alerts(env, "region_latency", "raised", "lat.example.", "slow")) == 1

    env.slow.set(delay=0.0)
    assert wait_for(lambda: find_alert(env, "region_latency", "lat.example.", "slow") is None, timeout=6.0), alerts(env)
    value, count = alert_metric(env, "region_latency", "warning")
    assert value == count
    assert "alert cleared: region slow of lat.example. responds in " in env.srv.stderr()
    cleared = wait_for(lambda: hook_alerts(env, "region_latency", "cleared", "lat.example.", "slow"), timeout=3.0)
    assert cleared and len(cleared) == 1 and cleared[0]["severity"] == "warning"


def test_failing_region_raises_a_success_critical(env):
    alert = wait_for(lambda: find_alert(env, "region_success", "flap.example.", "flappy"), timeout=6.0)
    assert alert, f"no region_success alert within 6 s; alerts: {alerts(env)}"
    assert alert["severity"] == "critical"
    assert alert["message"].startswith("region flappy of flap.example. succeeds ")
    assert alert["message"].endswith(" % of probes (under 95 %)")
    percent = int(alert["message"].split(" succeeds ")[1].split(" ")[0])
    assert 25 <= percent <= 75, alert
    value, count = alert_metric(env, "region_success", "critical")
    assert value == count >= 1
    assert wait_for(lambda: "alert critical: region flappy of flap.example. succeeds " in env.srv.stderr(), timeout=2.0)
    raised = wait_for(lambda: hook_alerts(env, "region_success", "raised", "flap.example.", "flappy"), timeout=3.0)
    assert raised and raised[0]["severity"] == "critical"
    # 4 of 5 regions healthy is not under 80 %: no healthy_regions alert for this zone
    assert [a for a in alerts(env, "flap.example.") if a["rule"] == "healthy_regions"] == []

    env.flappy.set(flap=False)
    assert wait_for(lambda: find_alert(env, "region_success", "flap.example.", "flappy") is None, timeout=6.0), alerts(env)
    value, count = alert_metric(env, "region_success", "critical")
    assert value == count
    assert wait_for(lambda: hook_alerts(env, "region_success", "cleared", "flap.example.", "flappy"), timeout=3.0)


def drain(env, region, action="drain"):
    return admin_json(env.srv, "PUT", f"/regions/drain.example./{region}/override", body={"action": action})


def undrain(env, region):
    return admin_json(env.srv, "DELETE", f"/regions/drain.example./{region}/override")


def test_too_few_healthy_regions_raises_a_warning(env):
    drain(env, "r1")
    try:
        time.sleep(1.2)  # two analytics intervals: 4 of 5 is not under 80 %
        assert [a for a in alerts(env, "drain.example.")] == []
        drain(env, "r2", "down")  # forced down counts as not healthy too
        alert = wait_for(lambda: find_alert(env, "healthy_regions", "drain.example.", ""), timeout=3.0)
        assert alert == {
            "rule": "healthy_regions",
            "severity": "warning",
            "zone": "drain.example.",
            "region": "",
            "message": "3 of 5 regions of drain.example. are healthy (under 80 %)",
        }, alerts(env)
        value, count = alert_metric(env, "healthy_regions", "warning")
        assert value == count >= 1
        assert wait_for(lambda: hook_alerts(env, "healthy_regions", "raised", "drain.example.", ""), timeout=3.0)
        assert "alert warning: 3 of 5 regions of drain.example. are healthy (under 80 %)" in env.srv.stderr()
    finally:
        undrain(env, "r1")
        undrain(env, "r2")
    assert wait_for(lambda: find_alert(env, "healthy_regions", "drain.example.", "") is None, timeout=3.0)
    value, count = alert_metric(env, "healthy_regions", "warning")
    assert value == count
    cleared = wait_for(lambda: hook_alerts(env, "healthy_regions", "cleared", "drain.example.", ""), timeout=3.0)
    assert cleared and cleared[0]["message"] == "3 of 5 regions of drain.example. are healthy (under 80 %)"
    assert "alert cleared: 3 of 5 regions of drain.example. are healthy (under 80 %)" in env.srv.stderr()


def test_query_rate_trend_follows_steady_load(env):
    stop = threading.Event()
    count = [0]
    errors = []

    def load():
        while not stop.is_set():
            r = env.srv.query("www.drain.example.", "A")
            if r.rcode() != dns.rcode.NOERROR or answer_addresses(r) != ["192.0.2.41"]:
                errors.append(r)
            count[0] += 1
            time.sleep(0.02)

    t = threading.Thread(target=load, daemon=True)
    t.start()
    try:
        time.sleep(3.0)
        r1 = region_status(env, "drain.example.", "r1")
        others = [region_status(env, "drain.example.", f"r{i}") for i in range(2, 6)]
    finally:
        stop.set()
        t.join(timeout=5)
    assert errors == []
    rate = count[0] / 3.0
    q = r1["query_rate"]
    assert q["moving_average"] > 0, r1
    assert q["forecast"] >= 0, r1
    assert 0.25 * rate <= q["moving_average"] <= 2.0 * rate, (q, rate)
    for o in others:
        assert o["query_rate"] == {"moving_average": 0, "forecast": 0}, o
    # no answers for a while: the average decays toward 0
    time.sleep(2.0)
    later = region_status(env, "drain.example.", "r1")["query_rate"]
    assert later["moving_average"] < q["moving_average"], (q, later)
    assert later["forecast"] >= 0
