"""Cost-aware multi-CDN steering (docs/INTEGRATIONS.md, strategy "cost"): CNAME regions for three
CDNs with a price and a committed volume; answers go to the cheapest healthy one whose latency
stays within the route's max_latency, spill to the next when its commit is used up, and /status
shows each CDN's answer share, committed and used volume and the spend so far.

The control loop counts commits every [adaptive] interval (250 ms here): a commit is seen used up
within one interval of the answer that used it, so a few more answers may go to it (COMMIT_SLACK).
Latencies come from a state file (its `latency_ms`), which the test rewrites.
"""

from __future__ import annotations

import json
import time

import dns.rdatatype

from admin_client import admin_json
from health_zone import HC, health_zone
from meridian_server import start_ops_server, wait_for

STEP = 0.25
ADAPTIVE = f'[adaptive]\ninterval = "{int(STEP * 1000)}ms"\n'
COMMIT = 30           # answers cdn-a is committed for this period
PACE = 0.01          # seconds between queries: about 25 answers per step
COMMIT_SLACK = 40     # answers that may still go to it before the next step sees the commit used
CDN = {"cdn-a": "a.cdn.example.net.", "cdn-b": "b.cdn.example.net.", "cdn-c": "c.cdn.example.net."}


def serve(start_server, tmp_path, latencies: dict):
    state = tmp_path / "cdn-health.json"
    write_latencies(state, latencies)
    regions = {
        # a: the cheapest per answer (0.02 per GB at 0.25 GB an answer), with a small commit
        "cdn-a": {"cname": CDN["cdn-a"], "check": "rum", "cost": 0.02, "cost_unit": "gb", "gb_per_answer": 0.25,
                  "commit": COMMIT * 0.25, "commit_period": "1h"},
        "cdn-b": {"cname": CDN["cdn-b"], "check": "rum", "cost": 0.008, "cost_unit": "answer"},
        "cdn-c": {"cname": CDN["cdn-c"], "check": "rum", "cost": 0.05, "cost_unit": "answer"},
    }
    zone = health_zone({"rum": {"kind": "file", "file": str(state)}}, regions,
                       {"www": {"ttl": 60, "pruned_ttl": 10,
                                "route": [{"to": ["cdn-c", "cdn-b", "cdn-a"], "strategy": "cost",
                                           "max_latency": "200ms"}]}})
    srv = start_ops_server(start_server, zone_files={"cost.toml": zone}, extra_config=ADAPTIVE)
    return srv, state


def write_latencies(path, latencies: dict) -> None:
    regions = {name: {"state": "up", "latency_ms": ms} for name, ms in latencies.items()}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"regions": regions}))
    tmp.replace(path)


def cname(srv) -> str:
    reply = srv.query(f"www.{HC}", "A")
    targets = [rr.target.to_text() for rrset in reply.answer if rrset.rdtype == dns.rdatatype.CNAME for rr in rrset]
    assert len(targets) == 1, reply
    return targets[0]


def cost_status(srv) -> dict:
    zone = admin_json(srv, "GET", "/status")["zones"][0]
    return {r["name"]: r["cost"] for r in zone["regions"]}


def test_the_cheapest_cdn_within_the_latency_limit_answers(start_server, tmp_path):
    srv, state = serve(start_server, tmp_path, {"cdn-a": 50, "cdn-b": 60, "cdn-c": 40})
    # a per answer: 0.02 × 0.25 = 0.005, cheaper than b (0.008) and c (0.05)
    assert wait_for(lambda: cname(srv) == CDN["cdn-a"], timeout=3.0), cname(srv)
    # a too slow for the route: the next cheapest
    write_latencies(state, {"cdn-a": 450, "cdn-b": 60, "cdn-c": 40})
    assert wait_for(lambda: cname(srv) == CDN["cdn-b"], timeout=3.0), cname(srv)
    write_latencies(state, {"cdn-a": 450, "cdn-b": 300, "cdn-c": 40})
    assert wait_for(lambda: cname(srv) == CDN["cdn-c"], timeout=3.0), cname(srv)
    status = cost_status(srv)
    assert status["cdn-c"]["unit"] == "answer" and status["cdn-c"]["per_answer"] == 0.05, status
    assert status["cdn-a"]["per_answer"] == 0.005 and status["cdn-a"]["commit"] == COMMIT * 0.25, status


def test_a_used_up_commit_spills_to_the_next_cheapest_and_status_shows_the_spend(start_server, tmp_path):
    srv, _ = serve(start_server, tmp_path, {"cdn-a": 50, "cdn-b": 60, "cdn-c": 40})
    assert wait_for(lambda: cname(srv) == CDN["cdn-a"], timeout=3.0)
    seen = {}
    for _ in range(COMMIT + COMMIT_SLACK + 60):
        target = cname(srv)
        seen[target] = seen.get(target, 0) + 1
        time.sleep(PACE)
    # the commit (COMMIT answers' worth) went to a, the rest to b, the next cheapest
    assert COMMIT <= seen.get(CDN["cdn-a"], 0) <= COMMIT + COMMIT_SLACK, seen
    assert seen.get(CDN["cdn-b"], 0) >= 60 - COMMIT_SLACK, seen
    assert CDN["cdn-c"] not in seen, seen
    assert wait_for(lambda: cost_status(srv)["cdn-a"]["commit_used"], timeout=2.0), cost_status(srv)
    assert cname(srv) == CDN["cdn-b"]
    # the control loop counts the answers at its next step
    assert wait_for(lambda: cost_status(srv)["cdn-b"]["answers"] >= seen.get(CDN["cdn-b"], 0), timeout=2.0), \
        cost_status(srv)
    status = cost_status(srv)
    a, b, c = status["cdn-a"], status["cdn-b"], status["cdn-c"]
    assert a["used"] == a["answers"] * 0.25 and a["used"] >= COMMIT * 0.25, a
    assert a["spend"] == a["used"] * 0.02 and b["spend"] == b["answers"] * 0.008, (a, b)
    assert abs(a["share"] + b["share"] + c["share"] - 1) < 1e-9 and c["answers"] == 0, status
    assert a["period"]["end"] - a["period"]["start"] == 3600, a
    assert b["commit"] is None and not b["commit_used"], b


def test_a_cost_route_over_a_region_without_cost_is_a_config_error(tmp_path):
    import subprocess

    from paths import meridiand_path

    zone = health_zone({}, {"cdn-a": {"cname": CDN["cdn-a"], "cost": 1}, "plain": {"addresses": ["192.0.2.1"]}},
                       {"www": {"route": [{"to": ["cdn-a", "plain"], "strategy": "cost"}]}})
    (tmp_path / "cost.toml").write_text(zone)
    (tmp_path / "meridian.toml").write_text(f'zones = ["{tmp_path / "cost.toml"}"]\n[listen]\nudp = ["127.0.0.1:53"]\n')
    result = subprocess.run([str(meridiand_path()), "--check", "-c", str(tmp_path / "meridian.toml")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert 'strategy "cost" ranks regions by their cost: region plain has none' in result.stderr, result.stderr
