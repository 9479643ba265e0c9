"""Rule recommendations end to end (docs/POLICY.md, "Rule recommendations"): the real meridiand
answering ECS queries from Brazil and the United States, sampling one query in four, draining the
samples on each analytics tick; GET /recommendations and `meridianctl recommend` proposing to send
Brazil to the region next to it, with the gain worked out from a latency matrix; nothing applied
until the operator pastes the snippet, which then loads and moves Brazil's answers.
"""

from __future__ import annotations

import json

import dns.rcode
import pytest

from admin_client import admin_json, admin_request
from config_toml import zone_toml
from meridian_server import start_ops_server, wait_for
from test_meridianctl import ctl
from wire import answer_addresses, ecs, make_query

ORIGIN = "rec.example."
APP = f"app.{ORIGIN}"
US_EAST, SA_EAST, EU_WEST = "192.0.2.1", "192.0.2.2", "192.0.2.3"
BR_CLIENTS, US_CLIENTS = "200.0.0.0/24", "198.51.100.0/24"  # geoip/test-geo.csv: BR, US
QUERIES = 400  # per country; one in four is sampled
ROUTE = "[[names.app.route]]"
MATRIX = "country,region,rtt_ms\nBR,us-east,120\nBR,sa-east,25\nBR,eu-west,190\nUS,us-east,12\nUS,sa-east,130\n"


def zone() -> str:
    text = zone_toml(ORIGIN, "@ 3600 IN NS ns1\nns1 3600 IN A 192.0.2.53")
    return text + f"""
[regions.us-east]
addresses = ["{US_EAST}"]
location = [38.9, -77.0]

[regions.sa-east]
addresses = ["{SA_EAST}"]
location = [-23.55, -46.63]

[regions.eu-west]
addresses = ["{EU_WEST}"]
location = [53.35, -6.26]

[names.app]
ttl = 30

{ROUTE}
to = ["us-east", "eu-west"]
strategy = "failover"
"""


def answer_for(srv, subnet):
    r = srv.udp(make_query(APP, "A", options=[ecs(subnet)]))
    assert r.rcode() == dns.rcode.NOERROR, r
    return answer_addresses(r)


@pytest.fixture
def server(start_server, test_geo_mmdb, tmp_path):
    def _serve(matrix_text=MATRIX):
        matrix = tmp_path / "rum.csv"
        if isinstance(matrix_text, bytes):
            matrix.write_bytes(matrix_text)
        else:
            matrix.write_text(matrix_text)
        return start_ops_server(start_server, zone_files={"rec.example.toml": zone()}, geoip=[test_geo_mmdb],
                                analytics={"interval_ms": 500},
                                extra_config=f'[recommendations]\nlatency_matrix = "{matrix}"\n')

    return _serve


def send_traffic(srv):
    """QUERIES answers for Brazil, then as many for the US: all first go to us-east (route 1)."""
    for subnet in (BR_CLIENTS, US_CLIENTS):
        for _ in range(QUERIES):
            assert answer_for(srv, subnet) == [US_EAST]


def recommendations(srv, least_samples):
    """/recommendations once the samples of both countries have been drained."""

    def ready():
        doc = admin_json(srv, "GET", "/recommendations")
        names = {n["name"]: n for z in doc["zones"] for n in z["names"]}
        return doc if names[APP]["sampled_answers"] >= least_samples else None

    doc = wait_for(ready, timeout=10)
    assert doc, f"the samples were not drained: {admin_json(srv, 'GET', '/recommendations')}\n{srv.describe()}"
    return doc


def test_brazil_is_recommended_to_the_region_next_to_it_with_the_gain_from_the_matrix(server):
    srv = server()
    send_traffic(srv)
    # One query in four is sampled: 2 × 400 / 4 = 200, less the odd one at each end.
    doc = recommendations(srv, least_samples=190)
    assert doc["latency_matrix"]["entries"] == 5
    [zone_doc] = doc["zones"]
    [name] = zone_doc["names"]
    assert name["key"] == "app"
    [rec] = name["recommendations"]
    assert rec["region"] == "sa-east"
    assert rec["countries"] == ["BR"]
    assert rec["route"] == 1
    assert rec["fallback"] == ["us-east", "eu-west"]
    # Brazil now: 120 ms to us-east; at sa-east: 25 ms (the matrix's figures, not estimates).
    assert rec["current_ms"] == pytest.approx(120)
    assert rec["proposed_ms"] == pytest.approx(25)
    assert rec["expected_gain_ms"] == pytest.approx(95)
    assert rec["estimated"] is False
    # Brazil is half the sampled answers (the same number of queries from each country).
    assert 45 <= rec["share_percent"] <= 55
    assert rec["summary"].startswith("route 1: send BR to sa-east instead of failover of us-east, eu-west: expected -95.0 ms")
    # The US is already at its nearest region: nothing for it.
    assert "US" not in json.dumps(name["recommendations"])
    # Nothing was applied.
    assert answer_for(srv, BR_CLIENTS) == [US_EAST]


def test_meridianctl_recommend_prints_the_snippet_which_pasted_and_reloaded_moves_brazil(server):
    srv = server()
    send_traffic(srv)
    doc = recommendations(srv, least_samples=190)
    [rec] = doc["zones"][0]["names"][0]["recommendations"]

    out = ctl("recommend", admin=srv)
    assert out.returncode == 0, out.stderr
    assert "latency matrix" in out.stdout and "5 measurements" in out.stdout
    assert rec["toml"] in out.stdout
    assert "1 recommendation; nothing was applied." in out.stdout
    one = ctl("recommend", "rec.example", admin=srv)
    assert one.returncode == 0 and rec["toml"] in one.stdout
    missing = ctl("recommend", "nowhere.example", admin=srv)
    assert missing.returncode == 1
    assert "no zone nowhere.example" in missing.stderr

    # The operator pastes the snippet just before the route it names (by its line) and reloads.
    path = srv.workdir / "zones" / "rec.example.toml"
    lines = path.read_text().split("\n")
    assert lines[rec["route_line"] - 1] == ROUTE, rec
    lines[rec["route_line"] - 1 : rec["route_line"] - 1] = rec["toml"].rstrip("\n").split("\n") + [""]
    path.write_text("\n".join(lines))
    reply = admin_json(srv, "POST", "/reload")
    assert reply["ok"], reply
    assert answer_for(srv, BR_CLIENTS) == [SA_EAST]
    assert answer_for(srv, US_CLIENTS) == [US_EAST]


def test_a_broken_matrix_is_reported_and_estimates_from_distance_stand_in(server):
    srv = server("BR,us-east,120\nBR,sa-east,fast\n")
    send_traffic(srv)
    doc = recommendations(srv, least_samples=190)
    matrix = doc["latency_matrix"]
    assert "entries" not in matrix
    assert len(matrix["errors"]) == 1 and matrix["errors"][0].endswith(
        'rum.csv:2: "fast" is not a round-trip time in milliseconds (0 < rtt_ms ≤ 60000)'), matrix
    [rec] = doc["zones"][0]["names"][0]["recommendations"]
    assert rec["region"] == "sa-east" and rec["countries"] == ["BR"]
    assert rec["estimated"] is True
    # Brasília → Washington is about 6,800 km, → São Paulo about 870: 0.015 ms per km.
    assert 80 <= rec["expected_gain_ms"] <= 100, rec
    out = ctl("recommend", admin=srv)
    assert "NOT used" in out.stdout and "fast" in out.stdout
    assert admin_request(srv, "GET", "/recommendations?zone=nowhere.example").status == 404


def test_the_example_zone_recommends_tokyo_for_japan_as_the_readme_shows(start_server, test_geo_mmdb):
    """What `make run` serves: app.geo.example.com sends Asia to Singapore and Tokyo by weight, so
    half of Japan's answers go to Singapore; without a matrix the estimate from distance says
    Tokyo is about 40 ms better for them (README, "Steering that learns")."""
    from geo import example_geo_zone_files

    srv = start_ops_server(start_server, zone_files=example_geo_zone_files(), geoip=[test_geo_mmdb],
                           analytics={"interval_ms": 500})
    app = "app.geo.example.com."
    for _ in range(QUERIES):
        r = srv.udp(make_query(app, "A", options=[ecs("1.0.16.0/24")]))  # JP in geoip/test-geo.csv
        assert r.rcode() == dns.rcode.NOERROR, r

    def japan():
        doc = admin_json(srv, "GET", "/recommendations?zone=geo.example.com")
        names = {n["name"]: n for z in doc["zones"] for n in z["names"]}
        return names[app]["recommendations"] if names[app]["sampled_answers"] >= 90 else None

    found = wait_for(japan, timeout=10)
    assert found, admin_json(srv, "GET", "/recommendations")
    [rec] = found
    assert rec["countries"] == ["JP"] and rec["region"] == "ap-northeast-1", rec
    assert rec["route"] == 5 and rec["estimated"] is True
    assert rec["fallback"] == ["ap-southeast-1"]
    # Half to Tokyo (5 ms) and half to Singapore (5 ms + 0.015 × ~5,300 km): about −40 ms. The
    # weighted draw of ~100 sampled answers puts Singapore's share within 0.5 ± 0.19 (3.7 σ).
    assert 25 <= rec["expected_gain_ms"] <= 55, rec
    out = ctl("recommend", "geo.example.com", admin=srv)
    assert out.returncode == 0 and rec["toml"] in out.stdout, out


def test_bytes_that_are_not_utf8_in_the_matrix_or_the_request_are_reported_not_fatal(server):
    """A Latin-1 export (0xE7 in a country) and a zone parameter of raw 0xFF: the errors name them,
    and meridiand keeps answering (JSON cannot carry them as they are)."""
    srv = server(b"country,region,rtt_ms\nBR,us-east,120\n\xe7A,us-east,5\n")
    doc = admin_json(srv, "GET", "/recommendations")
    errors = doc["latency_matrix"]["errors"]
    assert len(errors) == 1 and errors[0].endswith('rum.csv:3: "\\xe7A" is not an ISO 3166-1 alpha-2 country code'), errors
    reply = admin_request(srv, "GET", "/recommendations?zone=%FF")
    assert reply.status == 404
    check = admin_request(srv, "GET", "/check")
    assert check.status == 422 and "\\xe7A" in check.text, check.text
    assert answer_for(srv, BR_CLIENTS) == [US_EAST]
