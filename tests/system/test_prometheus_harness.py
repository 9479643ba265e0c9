"""The Prometheus harness itself (prometheus_harness.py): a real Prometheus scrapes the test's
exporter, a gauge the test sets is queried back and follows its changes, a failing exporter reads
as up == 0, and the API's error replies have the shape the probes' parser expects.

Every wait is bounded; the module takes a few seconds (one scrape a second)."""

from __future__ import annotations

import json
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

# The harness is this module's plugin (its fixtures `exporter` and `prometheus`) and is imported
# here too; registered first, its asserts are rewritten like the tests' own.
pytest.register_assert_rewrite("prometheus_harness")
pytest_plugins = ["prometheus_harness"]

from prometheus_harness import Exporter, has_value, is_empty, single_value  # noqa: E402

QUERY = 'edge_latency_ms{region="eu-west-1"}'
UP = 'up{job="exporter"}'
SCRAPE_WAIT = 10.0  # seconds: ten scrape intervals


def test_a_gauge_set_on_the_exporter_is_queried_back_and_follows_changes(exporter, prometheus):
    started = time.monotonic()
    exporter.set("edge_latency_ms", {"region": "eu-west-1"}, 42.0)
    exporter.set("edge_latency_ms", {"region": "us-east-1"}, 118.0)

    reply = prometheus.wait_for(QUERY, has_value(42.0), timeout=SCRAPE_WAIT)
    (sample,) = reply["data"]["result"]
    assert sample["metric"] == {
        "__name__": "edge_latency_ms",
        "region": "eu-west-1",
        "job": "exporter",
        "instance": exporter.address,
    }
    timestamp, value = sample["value"]
    assert value == "42"  # Prometheus sends sample values as strings
    assert abs(timestamp - time.time()) < 5

    exporter.set("edge_latency_ms", {"region": "eu-west-1"}, 57.5)
    prometheus.wait_for(QUERY, has_value(57.5), timeout=SCRAPE_WAIT)
    assert single_value(prometheus.query('sum(edge_latency_ms)')) == 57.5 + 118.0

    exporter.remove("edge_latency_ms", {"region": "eu-west-1"})
    prometheus.wait_for(QUERY, is_empty, timeout=SCRAPE_WAIT)  # a series gone is stale at once
    prometheus.wait_for('edge_latency_ms{region="us-east-1"}', has_value(118.0), timeout=SCRAPE_WAIT)
    assert time.monotonic() - started < 25


def test_a_failing_exporter_reads_as_up_0_and_its_series_go_stale(exporter, prometheus):
    exporter.set("edge_latency_ms", {"region": "eu-west-1"}, 42.0)
    prometheus.wait_for(UP, has_value(1.0), timeout=SCRAPE_WAIT)
    prometheus.wait_for(QUERY, has_value(42.0), timeout=SCRAPE_WAIT)

    scrapes = exporter.scrapes
    exporter.fail(500)
    prometheus.wait_for(UP, has_value(0.0), timeout=SCRAPE_WAIT)
    assert exporter.scrapes > scrapes  # the 500 was served, not a closed port
    prometheus.wait_for(QUERY, is_empty, timeout=SCRAPE_WAIT)

    exporter.ok()
    prometheus.wait_for(UP, has_value(1.0), timeout=SCRAPE_WAIT)
    prometheus.wait_for(QUERY, has_value(42.0), timeout=SCRAPE_WAIT)


def test_the_api_answers_a_bad_query_with_a_json_error_and_http_400(prometheus):
    status, body = prometheus.query_raw("rate(")
    assert status == 400
    reply = json.loads(body)
    assert reply["status"] == "error"
    assert reply["errorType"] == "bad_data"
    assert "parse error" in reply["error"]

    scalar = prometheus.query("scalar(vector(2.5))")
    assert scalar["data"]["resultType"] == "scalar"
    assert single_value(scalar) == 2.5


def test_the_exporter_serves_valid_text_with_escaped_labels_and_special_values():
    exporter = Exporter()
    try:
        exporter.set("edge_latency_ms", {"region": 'odd "name"\\\n'}, float("nan"))
        exporter.set("edge_latency_ms", {"region": "eu-west-1"}, float("inf"))
        exporter.set("edge_up", None, 1)
        exporter.set("edge_up", None, 0)  # the same series again: changed, not added
        families = {f.name: f for f in text_string_to_metric_families(exporter.metrics_text())}
        assert set(families) == {"edge_latency_ms", "edge_up"}
        assert families["edge_latency_ms"].type == "gauge"
        by_region = {s.labels["region"]: s.value for s in families["edge_latency_ms"].samples}
        assert by_region["eu-west-1"] == float("inf")
        assert by_region['odd "name"\\\n'] != by_region['odd "name"\\\n']  # NaN
        assert [s.value for s in families["edge_up"].samples] == [0.0]

        exporter.remove("edge_latency_ms")
        assert "edge_latency_ms" not in exporter.metrics_text()
    finally:
        exporter.close()
