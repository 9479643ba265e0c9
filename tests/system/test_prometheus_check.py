"""Prometheus as a data source (docs/INTEGRATIONS.md, `kind = "prometheus"`): a real Prometheus
server (Debian's `prometheus`, started on a loopback port by prometheus_harness.py) scrapes an
exporter the test controls every second; each region's PromQL query (templated with the
region's name and labels) feeds its latency, success rate or load, and the answers move when the
exporter's figures move. Query errors, empty results and an unreachable server are failed
evaluations with a reason.

Timing: Prometheus scrapes every 1 s and the checks query every 500 ms with rise = fall = 1, so
a change of a figure reaches the answers within about 2 s (scrape, query, one evaluation); the
tests wait up to MOVE_BOUND.
"""

from __future__ import annotations

import time

import dns.rdatatype
import pytest

pytest.register_assert_rewrite("prometheus_harness")

from admin_client import admin_json  # noqa: E402
from health_zone import HC, health_zone  # noqa: E402
from meridian_server import start_ops_server, wait_for  # noqa: E402

pytest_plugins = ["prometheus_harness"]

MOVE_BOUND = 8.0  # seconds for a figure to reach the answers (see the docstring), with room
A, B = "192.0.2.1", "192.0.2.2"


def prom_check(prometheus, promql: str, **keys) -> dict:
    check = {"kind": "prometheus", "url": prometheus.url, "promql": promql, "interval": "500ms",
             "timeout": "400ms", "rise": 1, "fall": 1}
    check.update(keys)
    return check


def serve(start_server, check: dict, strategy: str, regions=None) -> object:
    regions = regions or {
        "a": {"addresses": [A], "check": "prom", "labels": {"pop": "iad"}},
        "b": {"addresses": [B], "check": "prom", "labels": {"pop": "fra"}},
    }
    zone = health_zone({"prom": check}, regions,
                       {"app": {"ttl": 60, "pruned_ttl": 10, "answers": 1,
                                "route": [{"to": ["a", "b"], "strategy": strategy}]}})
    return start_ops_server(start_server, zone_files={"hc.toml": zone})


def answer(srv) -> list:
    reply = srv.query(f"app.{HC}", "A")
    return sorted(rr.address for rrset in reply.answer for rr in rrset if rr.rdtype == dns.rdatatype.A)


def region_status(srv, name: str) -> dict:
    zone = admin_json(srv, "GET", "/status")["zones"][0]
    return next(r for r in zone["regions"] if r["name"] == name)


def wait_answer(srv, expected: list, what: str):
    assert wait_for(lambda: answer(srv) == expected, timeout=MOVE_BOUND), \
        f"{what}: answers {answer(srv)}, not {expected}, after {MOVE_BOUND} s; a: {region_status(srv, 'a')}"


def test_latency_from_prometheus_moves_the_answers(start_server, prometheus, exporter):
    exporter.set("edge_latency_ms", {"region": "a"}, 50)
    exporter.set("edge_latency_ms", {"region": "b"}, 20)
    srv = serve(start_server, prom_check(prometheus, 'edge_latency_ms{region="{region}"}'), "latency")
    wait_answer(srv, [B], "b measured faster")
    status = region_status(srv, "b")
    assert status["latency_ms"] == 20 and status["check"] == "prom", status
    assert status["reason"].startswith("prometheus probe of http://127.0.0.1:"), status
    # the figures swap: the answers follow within the bound
    exporter.set("edge_latency_ms", {"region": "a"}, 10)
    exporter.set("edge_latency_ms", {"region": "b"}, 80)
    t0 = time.monotonic()
    wait_answer(srv, [A], "a measured faster")
    assert time.monotonic() - t0 < MOVE_BOUND
    assert region_status(srv, "a")["latency_ms"] == 10


def test_latency_above_the_thresholds_takes_a_region_out(start_server, prometheus, exporter):
    exporter.set("edge_latency_ms", {"region": "a"}, 30)
    exporter.set("edge_latency_ms", {"region": "b"}, 40)
    check = prom_check(prometheus, 'edge_latency_ms{region="{region}"}', healthy_below="100ms",
                       degraded_below="200ms")
    srv = serve(start_server, check, "failover")
    wait_answer(srv, [A], "a first in the failover order")
    exporter.set("edge_latency_ms", {"region": "a"}, 450)  # slower than degraded_below: unhealthy
    wait_answer(srv, [B], "a too slow")
    assert region_status(srv, "a")["state"] == "unhealthy"
    exporter.set("edge_latency_ms", {"region": "a"}, 25)
    wait_answer(srv, [A], "a fast again")


def test_success_rate_from_prometheus_decides_health(start_server, prometheus, exporter):
    for region in ("a", "b"):
        exporter.set("edge_success_ratio", {"region": region}, 1.0)
    check = prom_check(prometheus, 'edge_success_ratio{region="{region}"}', measure="success")
    srv = serve(start_server, check, "failover")
    wait_answer(srv, [A], "both fine: a first")
    exporter.set("edge_success_ratio", {"region": "a"}, 0.5)  # below degraded_success (0.95)
    wait_answer(srv, [B], "a failing half its requests")
    status = region_status(srv, "a")
    assert status["state"] == "unhealthy" and status["success_rate"] == pytest.approx(0.5), status
    assert status["latency_ms"] is None, status  # a success rate measures no latency
    exporter.set("edge_success_ratio", {"region": "a"}, 0.97)  # between the thresholds: degraded
    assert wait_for(lambda: region_status(srv, "a")["state"] == "degraded", timeout=MOVE_BOUND)
    assert answer(srv) == [B]  # degraded waits while a healthy candidate remains
    exporter.set("edge_success_ratio", {"region": "a"}, 1.0)
    wait_answer(srv, [A], "a healthy again")


def test_load_from_prometheus_steers_least_loaded(start_server, prometheus, exporter):
    exporter.set("edge_load", {"pop": "iad"}, 0.2)
    exporter.set("edge_load", {"pop": "fra"}, 0.9)
    # the template takes the region's label, not its name
    check = prom_check(prometheus, 'edge_load{pop="{label:pop}"}', measure="load")
    srv = serve(start_server, check, "least_loaded")
    wait_answer(srv, [A], "iad less loaded")
    exporter.set("edge_load", {"pop": "iad"}, 0.95)
    exporter.set("edge_load", {"pop": "fra"}, 0.1)
    wait_answer(srv, [B], "fra less loaded")


def test_failed_evaluations_have_a_reason_and_take_the_region_out(start_server, prometheus, exporter):
    exporter.set("edge_latency_ms", {"region": "a"}, 10)
    exporter.set("edge_latency_ms", {"region": "b"}, 20)
    srv = serve(start_server, prom_check(prometheus, 'edge_latency_ms{region="{region}"}'), "latency")
    wait_answer(srv, [A], "a faster")
    # the series disappears: an empty result is a failed evaluation
    exporter.remove("edge_latency_ms", {"region": "a"})
    wait_answer(srv, [B], "a has no series")
    assert wait_for(lambda: "no series" in region_status(srv, "a")["reason"], timeout=MOVE_BOUND), \
        region_status(srv, "a")
    assert region_status(srv, "a")["state"] == "unhealthy"
    exporter.set("edge_latency_ms", {"region": "a"}, 10)
    wait_answer(srv, [A], "a's series back")
    # Prometheus goes away: transport errors, every region out, the name fails open
    prometheus.stop()
    assert wait_for(lambda: region_status(srv, "a")["state"] == "unhealthy" and
                    region_status(srv, "b")["state"] == "unhealthy", timeout=MOVE_BOUND)
    reason = region_status(srv, "a")["reason"]
    assert "prometheus" in reason and ("refused" in reason or "connect" in reason.lower()), reason
    assert answer(srv) in ([A], [B])  # fail open: still an answer, never an error


def test_a_query_prometheus_refuses_is_a_failed_evaluation_with_its_error(start_server, prometheus, exporter):
    exporter.set("edge_latency_ms", {"region": "a"}, 10)
    srv = serve(start_server, prom_check(prometheus, 'rate(edge_latency_ms{region="{region}"}'), "failover")
    assert wait_for(lambda: "bad_data" in region_status(srv, "a")["reason"], timeout=MOVE_BOUND), \
        region_status(srv, "a")
    assert region_status(srv, "a")["state"] == "unhealthy"


def test_a_query_of_several_series_says_how_to_fix_it(start_server, prometheus, exporter):
    exporter.set("edge_latency_ms", {"region": "a", "host": "1"}, 10)
    exporter.set("edge_latency_ms", {"region": "a", "host": "2"}, 12)
    srv = serve(start_server, prom_check(prometheus, 'edge_latency_ms{region="{region}"}'), "failover")
    assert wait_for(lambda: "2 series matched" in region_status(srv, "a")["reason"], timeout=MOVE_BOUND), \
        region_status(srv, "a")
    # aggregated in the query, the same series give one value
    srv.stop()
    srv = serve(start_server, prom_check(prometheus, 'max(edge_latency_ms{region="{region}"})'), "failover")
    assert wait_for(lambda: region_status(srv, "a")["latency_ms"] == 12, timeout=MOVE_BOUND), region_status(srv, "a")


def test_a_template_naming_a_missing_label_is_a_config_error(start_server, tmp_path):
    import subprocess

    from paths import meridiand_path

    zone = health_zone({"prom": {"kind": "prometheus", "url": "http://127.0.0.1:9", "promql": 'x{pop="{label:pop}"}'}},
                       {"a": {"addresses": [A], "check": "prom"}},
                       {"app": {"route": [{"to": ["a"]}]}})
    (tmp_path / "hc.toml").write_text(zone)
    (tmp_path / "meridian.toml").write_text(f'zones = ["{tmp_path / "hc.toml"}"]\n[listen]\nudp = ["127.0.0.1:53"]\n')
    result = subprocess.run([str(meridiand_path()), "--check", "-c", str(tmp_path / "meridian.toml")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert 'check "prom" for region a: ' in result.stderr and "pop" in result.stderr, result.stderr
