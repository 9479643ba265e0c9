"""GET /metrics: Prometheus text that prometheus_client parses, with every documented family, and
counters that move exactly with the traffic and events that cause them.

The module's server serves the example zone (every region up in its state file) with the test
geo database; it gets no traffic but this module's, so deltas are exact.
"""

from __future__ import annotations

import json
import struct
import time

import dns.edns
import dns.flags
import dns.rcode
import pytest
from prometheus_client.parser import text_string_to_metric_families

from admin_client import admin_json, admin_request, metric_value, scrape_metrics
from config_toml import zone_toml
from geo import example_geo_zone_files
from healthtargets import HttpTarget
from meridian_server import start_ops_server, wait_for
from wire import answer_addresses, ecs, make_query

ZONE = "geo.example.com."
APP = "app.geo.example.com."
REGIONS = ["us-east-1", "us-west-1", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1"]

FAMILIES = {
    "meridian_queries_total": "counter",
    "meridian_responses_total": "counter",
    "meridian_dropped_total": "counter",
    "meridian_malformed_total": "counter",
    "meridian_truncated_total": "counter",
    "meridian_send_failures_total": "counter",
    "meridian_udp_overloads_total": "counter",
    "meridian_udp_overloaded": "gauge",
    "meridian_client_address_total": "counter",
    "meridian_zone_queries_total": "counter",
    "meridian_zone_responses_total": "counter",
    "meridian_steered_answers_total": "counter",
    "meridian_region_answers_total": "counter",
    "meridian_region_state": "gauge",
    "meridian_region_latency_ms": "gauge",
    "meridian_region_success_ratio": "gauge",
    "meridian_region_override": "gauge",
    "meridian_probe_latency_ms": "histogram",
    "meridian_health_transitions_total": "counter",
    "meridian_reloads_total": "counter",
    "meridian_alerts": "gauge",
}


@pytest.fixture(scope="module")
def srv(module_start_server, test_geo_mmdb):
    return start_ops_server(module_start_server, zone_files=example_geo_zone_files(), geoip=[test_geo_mmdb],
                            analytics={"interval_ms": 500})


def delta(before: dict, after: dict, metric: str, /, **labels) -> float:
    b = metric_value(before, metric, **labels)
    a = metric_value(after, metric, **labels)
    assert a is not None, f"no sample {metric}{labels}"
    return a - (b or 0)


def state_file(srv):
    return srv.workdir / "zones" / "geo.example.com.health.json"


def test_metrics_parse_with_every_family(srv):
    reply = admin_request(srv, "GET", "/metrics")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(reply.text)}
    for name, kind in FAMILIES.items():
        base = name[: -len("_total")] if kind == "counter" and name.endswith("_total") else name
        assert base in families, f"family {name} missing from /metrics"
        assert families[base].type == kind, f"{name}: type {families[base].type} != {kind}"
    # each family's HELP/TYPE once, its samples together
    assert reply.text.count("# TYPE meridian_queries_total ") == 1
    m = scrape_metrics(srv)
    for transport in ("udp", "tcp"):
        for rcode in ("NOERROR", "NXDOMAIN", "REFUSED", "FORMERR", "SERVFAIL", "NOTIMP", "BADVERS", "other"):
            assert metric_value(m, "meridian_responses_total", transport=transport, rcode=rcode) is not None
    for region in REGIONS:
        labels = {"zone": ZONE, "region": region}
        assert metric_value(m, "meridian_region_state", **labels) == 0
        assert metric_value(m, "meridian_region_override", **labels) == 0
        assert metric_value(m, "meridian_region_answers_total", **labels) is not None
    for route in ("1", "2", "3", "4", "5", "6", "fail"):
        assert metric_value(m, "meridian_steered_answers_total", zone=ZONE, name=APP, route=route) is not None
    for rule in ("region_latency", "region_success", "healthy_regions"):
        for severity in ("warning", "critical"):
            assert metric_value(m, "meridian_alerts", rule=rule, severity=severity) == 0
    # the file-checked regions are not probed: no histogram for them (only for local-pool, probed address by address)
    assert not [k for k in m if k[0].startswith("meridian_probe_latency_ms") and dict(k[1]).get("region") != "local-pool"]


def test_query_counters_move_exactly(srv):
    n_udp, n_tcp = 7, 4
    before = scrape_metrics(srv)
    for _ in range(n_udp):
        assert srv.query("www.geo.example.com.", "A").rcode() == dns.rcode.NOERROR
    for _ in range(n_tcp):
        assert srv.query_tcp("www.geo.example.com.", "AAAA").rcode() == dns.rcode.NOERROR
    after = scrape_metrics(srv)
    assert delta(before, after, "meridian_queries_total", transport="udp") == n_udp
    assert delta(before, after, "meridian_queries_total", transport="tcp") == n_tcp
    assert delta(before, after, "meridian_responses_total", transport="udp", rcode="NOERROR") == n_udp
    assert delta(before, after, "meridian_responses_total", transport="tcp", rcode="NOERROR") == n_tcp
    assert delta(before, after, "meridian_zone_queries_total", zone=ZONE, qtype="A") == n_udp
    assert delta(before, after, "meridian_zone_queries_total", zone=ZONE, qtype="AAAA") == n_tcp
    assert delta(before, after, "meridian_zone_responses_total", zone=ZONE, rcode="NOERROR") == n_udp + n_tcp
    status = admin_json(srv, "GET", "/status")  # the same counters
    assert status["queries"] == {
        "udp": metric_value(after, "meridian_queries_total", transport="udp"),
        "tcp": metric_value(after, "meridian_queries_total", transport="tcp"),
    }


def test_zone_counters_are_carried_across_a_reload(srv):
    """A zone's query counters live in its runtime beside the compiled zone; a reload that keeps
    the zone's origin hands them to the new snapshot, so no count is lost or starts again."""
    before = scrape_metrics(srv)
    for _ in range(5):
        assert srv.query("www.geo.example.com.", "A").rcode() == dns.rcode.NOERROR
    assert admin_request(srv, "POST", "/reload").status == 200
    for _ in range(3):
        assert srv.query("www.geo.example.com.", "A").rcode() == dns.rcode.NOERROR
    after = scrape_metrics(srv)
    assert delta(before, after, "meridian_zone_queries_total", zone=ZONE, qtype="A") == 8
    assert delta(before, after, "meridian_reloads_total", result="success") == 1


def test_nxdomain_moves_zone_responses(srv):
    before = scrape_metrics(srv)
    for i in range(3):
        assert srv.query(f"nope{i}.geo.example.com.", "A").rcode() == dns.rcode.NXDOMAIN
    after = scrape_metrics(srv)
    assert delta(before, after, "meridian_zone_responses_total", zone=ZONE, rcode="NXDOMAIN") == 3
    assert delta(before, after, "meridian_responses_total", transport="udp", rcode="NXDOMAIN") == 3
    assert delta(before, after, "meridian_zone_responses_total", zone=ZONE, rcode="NOERROR") == 0


def test_formerr_moves_malformed(srv):
    bad = struct.pack("!HHHHHH", 0x4242, 0, 2, 0, 0, 0)  # QDCOUNT 2, no questions at all
    before = scrape_metrics(srv)
    for _ in range(2):
        reply = srv.udp_raw(bad, timeout=1)
        assert reply is not None and reply[3] & 0x0F == dns.rcode.FORMERR
    after = scrape_metrics(srv)
    assert delta(before, after, "meridian_malformed_total") == 2
    assert delta(before, after, "meridian_responses_total", transport="udp", rcode="FORMERR") == 2
    assert delta(before, after, "meridian_dropped_total") == 0


def test_response_packet_moves_dropped(srv):
    q = make_query("www.geo.example.com.", "A").to_wire()
    as_response = q[:2] + bytes([q[2] | 0x80]) + q[3:]
    before = scrape_metrics(srv)
    assert srv.udp_raw(as_response, timeout=0.5) is None
    assert srv.udp_raw(b"\x01\x02\x03", timeout=0.5) is None
    after = scrape_metrics(srv)
    assert delta(before, after, "meridian_dropped_total") == 2
    assert delta(before, after, "meridian_malformed_total") == 0


def test_truncated_moves(srv):
    before = scrape_metrics(srv)
    r = srv.query("big.geo.example.com.", "TXT")
    assert r.flags & dns.flags.TC
    after = scrape_metrics(srv)
    assert delta(before, after, "meridian_truncated_total") == 1


def test_steering_counters_without_ecs(srv):
    before = scrape_metrics(srv)
    for _ in range(5):
        r = srv.udp(make_query(APP, "A"), source="127.0.0.2")
        assert answer_addresses(r) == ["192.0.2.110"]
    after = scrape_metrics(srv)
    assert delta(before, after, "meridian_client_address_total", source="packet") == 5
    assert delta(before, after, "meridian_client_address_total", source="ecs") == 0
    assert delta(before, after, "meridian_steered_answers_total", zone=ZONE, name=APP, route="1") == 5
    for route in ("2", "3", "4", "5", "6", "fail"):
        assert delta(before, after, "meridian_steered_answers_total", zone=ZONE, name=APP, route=route) == 0
    assert delta(before, after, "meridian_region_answers_total", zone=ZONE, region="eu-west-1") == 5
    for region in REGIONS:
        if region != "eu-west-1":
            assert delta(before, after, "meridian_region_answers_total", zone=ZONE, region=region) == 0


def test_steering_counters_with_ecs(srv):
    before = scrape_metrics(srv)
    for _ in range(4):  # United States: route 4 (NA), us-east-1 or us-west-1
        r = srv.query(APP, "A", options=[ecs("8.8.8.0/24")])
        assert answer_addresses(r)[0] in ("198.51.100.10", "198.51.100.20")
    for _ in range(3):  # Great Britain: route 3 (EU)
        r = srv.query(APP, "A", options=[ecs("81.2.69.0/24")])
        assert answer_addresses(r)[0] in ("192.0.2.110", "192.0.2.120")
    after = scrape_metrics(srv)
    assert delta(before, after, "meridian_client_address_total", source="ecs") == 7
    assert delta(before, after, "meridian_client_address_total", source="packet") == 0
    assert delta(before, after, "meridian_steered_answers_total", zone=ZONE, name=APP, route="4") == 4
    assert delta(before, after, "meridian_steered_answers_total", zone=ZONE, name=APP, route="3") == 3
    us = sum(delta(before, after, "meridian_region_answers_total", zone=ZONE, region=r) for r in ("us-east-1", "us-west-1"))
    eu = sum(delta(before, after, "meridian_region_answers_total", zone=ZONE, region=r) for r in ("eu-west-1", "eu-central-1"))
    assert (us, eu) == (4, 3)


def test_static_answers_are_not_steering(srv):
    before = scrape_metrics(srv)
    srv.query("www.geo.example.com.", "A", options=[ecs("8.8.8.0/24")])
    after = scrape_metrics(srv)
    assert delta(before, after, "meridian_client_address_total", source="ecs") == 0
    assert delta(before, after, "meridian_client_address_total", source="packet") == 0


def test_failed_reload_moves_reloads_failure(srv):
    zone_file = srv.workdir / "zones" / "geo.example.com.toml"
    good = zone_file.read_text()
    before = scrape_metrics(srv)
    status_before = admin_json(srv, "GET", "/status")["reloads"]
    zone_file.write_text(good.replace('origin = "geo.example.com."', 'origin = 17'))
    try:
        # the file watcher reloads it on its own (and fails) ...
        assert wait_for(lambda: admin_json(srv, "GET", "/status")["reloads"]["failed"] == status_before["failed"] + 1,
                        timeout=4.0), "the broken zone file was not reloaded (and failed) within 4 s"
        # ... and an explicit reload fails too
        assert admin_request(srv, "POST", "/reload").status == 422
        after = scrape_metrics(srv)
        assert delta(before, after, "meridian_reloads_total", result="failure") == 2
        assert delta(before, after, "meridian_reloads_total", result="success") == 0
        assert srv.query("www.geo.example.com.", "A").rcode() == dns.rcode.NOERROR
    finally:
        zone_file.write_text(good)
    assert wait_for(lambda: admin_json(srv, "GET", "/status")["reloads"]["succeeded"] == status_before["succeeded"] + 1,
                    timeout=4.0)
    after = scrape_metrics(srv)
    assert delta(before, after, "meridian_reloads_total", result="success") == 1
    assert delta(before, after, "meridian_reloads_total", result="failure") == 2


def test_health_transition_moves_transitions(srv):
    path = state_file(srv)
    good = path.read_text()
    before = scrape_metrics(srv)
    doc = json.loads(good)
    doc["regions"]["ap-southeast-1"] = "down"
    path.write_text(json.dumps(doc))
    try:
        assert wait_for(lambda: metric_value(scrape_metrics(srv), "meridian_region_state", zone=ZONE, region="ap-southeast-1") == 2,
                        timeout=4.0), "the state file's down was not applied within 4 s"
        after = scrape_metrics(srv)
        assert delta(before, after, "meridian_health_transitions_total") == 1
        assert admin_json(srv, "GET", "/status")["health_transitions"] == metric_value(after, "meridian_health_transitions_total")
    finally:
        path.write_text(good)
    assert wait_for(lambda: metric_value(scrape_metrics(srv), "meridian_region_state", zone=ZONE, region="ap-southeast-1") == 0,
                    timeout=4.0)
    assert delta(before, scrape_metrics(srv), "meridian_health_transitions_total") == 2


PROBED_ZONE = zone_toml("probe.example.", "@ 3600 IN NS ns1\nns1 3600 IN A 192.0.2.53") + """
[checks.web]
kind = "http"
url = "URL"
interval = "200ms"
timeout = "150ms"
rise = 1
fall = 1

[regions.probed]
addresses = ["192.0.2.77"]
check = "web"

[regions.plain]
addresses = ["192.0.2.78"]

[names.www]
ttl = 30

[[names.www.route]]
to = ["probed", "plain"]
strategy = "failover"
"""


def test_probe_latency_histogram(start_server):
    target = HttpTarget("127.0.0.31")
    try:
        zone = PROBED_ZONE.replace("URL", f"{target.url}/health")
        srv = start_ops_server(start_server, zone_files={"probe.example.toml": zone})
        labels = {"zone": "probe.example.", "region": "probed"}
        assert wait_for(lambda: (metric_value(scrape_metrics(srv), "meridian_probe_latency_ms_count", **labels) or 0) >= 3,
                        timeout=5.0), "fewer than 3 probes in the histogram after 5 s"
        m = scrape_metrics(srv)
        count = metric_value(m, "meridian_probe_latency_ms_count", **labels)
        buckets = sorted(
            (float(dict(k[1])["le"]), v) for k, v in m.items()
            if k[0] == "meridian_probe_latency_ms_bucket" and dict(k[1]).get("region") == "probed"
        )
        assert len(buckets) >= 2 and buckets[-1][0] == float("inf")
        assert buckets[-1][1] == count
        assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), buckets
        assert metric_value(m, "meridian_probe_latency_ms_sum", **labels) > 0
        assert count <= len(target.requests)
        assert metric_value(m, "meridian_region_success_ratio", **labels) == 1
        assert metric_value(m, "meridian_region_state", **labels) == 0
        # the unprobed region has no histogram
        assert metric_value(m, "meridian_probe_latency_ms_count", zone="probe.example.", region="plain") is None
    finally:
        target.close()
