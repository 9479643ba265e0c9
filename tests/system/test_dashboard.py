"""The dashboard (GET /) rendered by a real browser: Debian's chromium, headless, loads the page,
whose script fetches /status and builds a table per zone with a row per region. The DOM it
dumps must show the zone heading, every region with its state (unhealthy from the state file,
"(drain)" from an override) and body[data-rendered="yes"]; with a token, /#token=SECRET renders
and a page without it shows the error instead."""

from __future__ import annotations

import json

import pytest

from admin_client import admin_json
from dashboard_dom import render
from geo import example_geo_zone_files
from meridian_server import start_ops_server
from wire import make_query

ZONE = "geo.example.com."
REGIONS = ["us-east-1", "us-west-1", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1"]
TOKEN = "dash-secret"


def zone_files_with(states: dict) -> dict:
    files = example_geo_zone_files()
    name = "geo.example.com.health.json"
    doc = json.loads(files[name])
    doc["regions"].update(states)
    files[name] = json.dumps(doc)
    return files


def test_dashboard_shows_regions_and_their_states(start_server, test_geo_mmdb, tmp_path):
    srv = start_ops_server(start_server, zone_files=zone_files_with({"eu-west-1": "down", "ap-southeast-1": "degraded"}),
                           geoip=[test_geo_mmdb])
    admin_json(srv, "PUT", f"/regions/{ZONE}/us-west-1/override", body={"action": "drain", "reason": "dashboard test"})
    for _ in range(3):
        srv.query("app.geo.example.com.", "A")
    dom = render(srv.admin_url + "/", tmp_path)
    assert dom.body.get("data-rendered") == "yes", dom.text[-3000:]
    assert f"{ZONE} (serial 2026112701)" in dom.h2
    assert dom.error.strip() == ""
    ids = [f"region-{ZONE}-{r}" for r in REGIONS + ["local-pool"]]
    assert sorted(row for row in dom.rows if row.startswith("region-")) == sorted(ids), dom.rows.keys()
    # the per-address region's three addresses, each in a row of its own
    assert sorted(row for row in dom.rows if row.startswith("member-")) == sorted(
        f"member-{ZONE}-local-pool-{a}" for a in ("127.0.0.1", "127.0.0.4", "::1"))
    states = {}
    for region, row_id in zip(REGIONS, ids):
        cells = dom.rows[row_id]
        assert len(cells) == 9, cells
        assert cells[0]["text"] == region
        states[region] = (cells[1]["text"], cells[1]["class"], cells[1]["state"])
    assert states["eu-west-1"] == ("unhealthy", "unhealthy", "unhealthy")
    assert states["ap-southeast-1"] == ("degraded", "degraded", "degraded")
    assert states["us-west-1"] == ("healthy (drain)", "healthy", "healthy")
    for region in ("us-east-1", "eu-central-1", "ap-northeast-1"):
        assert states[region] == ("healthy", "healthy", "healthy")
    # the reason column says why eu-west-1 is out
    reason = dom.rows[f"region-{ZONE}-eu-west-1"][8]["text"]
    assert reason.startswith("state file /") and reason.endswith(".json: state file says down"), reason
    # the page's node line
    assert "node node-a" in dom.text


def test_dashboard_with_a_token(start_server, test_geo_mmdb, tmp_path):
    srv = start_ops_server(start_server, zone_files=zone_files_with({"eu-central-1": "down"}), geoip=[test_geo_mmdb],
                           admin={"token": TOKEN})
    dom = render(f"{srv.admin_url}/#token={TOKEN}", tmp_path)
    assert dom.body.get("data-rendered") == "yes", dom.text[-3000:]
    assert f"{ZONE} (serial 2026112701)" in dom.h2
    cells = dom.rows[f"region-{ZONE}-eu-central-1"]
    assert (cells[1]["text"], cells[1]["class"]) == ("unhealthy", "unhealthy")
    assert dom.error.strip() == ""

    without = render(srv.admin_url + "/", tmp_path)
    assert without.body.get("data-rendered") is None
    assert without.rows == {}
    assert without.error.strip() == "cannot read /status: HTTP 401"

    wrong = render(f"{srv.admin_url}/#token=not-it", tmp_path)
    assert wrong.body.get("data-rendered") is None
    assert wrong.error.strip() == "cannot read /status: HTTP 403"


def test_dashboard_charts_demand_actual_against_forecast(start_server, test_geo_mmdb, tmp_path):
    """With 10 s forecast buckets, once buckets have closed each region's row has an SVG chart: a
    solid polyline of the answers per second it was sent per bucket and a dashed one of what had
    been forecast for each bucket, one point per closed bucket in /status's history."""
    import time

    extra = f'[forecast]\nbucket = "10s"\nseason = "1m"\nstate_file = "{tmp_path / "forecast.json"}"\n'
    srv = start_ops_server(start_server, zone_files=example_geo_zone_files(), geoip=[test_geo_mmdb],
                           extra_config=extra)
    chart_id = f"demand-{ZONE}-eu-west-1"

    def history():
        zone = next(z for z in admin_json(srv, "GET", "/status")["zones"] if z["origin"] == ZONE)
        region = next(r for r in zone["regions"] if r["name"] == "eu-west-1")
        return (region["demand"] or {}).get("history", [])

    dom = render(srv.admin_url + "/", tmp_path)
    assert chart_id not in dom.charts  # no closed bucket yet: "no data"
    assert "no data" in [c["text"] for c in dom.rows[f"region-{ZONE}-eu-west-1"]]
    deadline = time.monotonic() + 40
    while len(history()) < 3 and time.monotonic() < deadline:
        for _ in range(20):
            srv.udp(make_query("app.geo.example.com.", "A"), source="127.0.0.2")  # route 1: eu-west-1
        time.sleep(0.5)
    points = history()
    assert len(points) >= 3, f"fewer than three closed buckets within 40 s: {points}"
    assert points[-1][1] > 0 and points[0][2] is None and points[-1][2] is not None

    dom = render(srv.admin_url + "/", tmp_path)
    assert dom.body.get("data-rendered") == "yes", dom.text[-3000:]
    chart = dom.charts.get(chart_id)
    assert chart is not None, dom.charts.keys()
    drawn = len(chart["actual"])
    assert drawn >= len(points)  # a bucket may close between /status and the page's own fetch
    assert len(chart["forecast"]) == drawn - 1  # the first bucket had nothing to forecast it
    assert all(0 <= x <= 160 and 0 <= y <= 32 for x, y in chart["actual"] + chart["forecast"])
    assert chart["actual"][0][0] < chart["actual"][-1][0]  # time runs left to right
