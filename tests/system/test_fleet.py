"""Fleet mode (docs/FLEET.md): three meridiand nodes sharing health votes, overrides and their
entries through a real etcd (etcd_harness.py: Debian's etcd on loopback ports, one member or a
three-member cluster), started and stopped by each test.

Every node probes the same http target (a test server on 127.0.0.1). The target tells the nodes
apart by the User-Agent their probes send ("meridian-health/1 (node NAME)") and answers 503 to
the nodes in `Target.down_for`: that is how one node sees a region down while the others see it
up, with no network trickery. The zone's name `app` answers the region `eu` (127.0.0.1, probed)
while it is up, else the spare region (192.0.2.9, never probed).

Timing: checks every 200 ms, rise = fall = 2; lease_ttl 2 s, so a killed node's votes are gone
within 2 s plus etcd's lease check (≤ 1 s) plus a recount; each wait below is bounded by
those figures with room for a loaded machine, never a fixed sleep.
"""

from __future__ import annotations

import http.server
import signal
import socketserver
import threading
import time

import dns.rdatatype
import pytest

from admin_client import admin_json, metric_value, scrape_metrics
from dashboard_dom import render
from etcd_harness import EtcdCluster
from health_zone import fast_check, health_zone
from meridian_server import run_check, start_ops_server, wait_for, wait_log
from ports import find_free_port
from test_meridianctl import ctl

ZONE = "hc.example."
EU, SPARE = "127.0.0.1", "192.0.2.9"
LEASE_TTL = 2
VOTE_BOUND = 8.0      # rise/fall on three nodes, a vote round trip through etcd, a recount
EXPIRY_BOUND = LEASE_TTL + 6.0
NODES = ("n1", "n2", "n3")


def must(predicate, bound: float):
    """wait_for that fails the test when the bound passes first."""
    value = wait_for(predicate, bound)
    assert value, f"not within {bound} s"
    return value


class Target(http.server.ThreadingHTTPServer):
    """An http health target answering 200, or 503 to the nodes named in down_for."""

    daemon_threads = True

    def __init__(self):
        self.down_for: set = set()
        self.seen: set = set()
        target = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                agent = self.headers.get("User-Agent", "")
                node = agent.rpartition("(node ")[2].rstrip(")") if "(node " in agent else ""
                target.seen.add(node)
                status = 503 if node in target.down_for else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", find_free_port("127.0.0.1")), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture
def target():
    t = Target()
    yield t
    t.shutdown()
    t.server_close()


def fleet_zone(port: int, serial: int = 1) -> str:
    text = health_zone(
        checks={"web": fast_check("http", port=port)},
        regions={"eu": {"addresses": [EU], "check": "web"}, "spare": {"addresses": [SPARE]}},
        names={"app": {"ttl": 60, "strategy": "all", "route": [{"to": ["eu"]}, {"to": ["spare"]}]}},
    )
    return text.replace("serial = 1", f"serial = {serial}") if serial != 1 else text


def fleet_table(etcd: EtcdCluster, node: str, **keys) -> str:
    lines = ["[fleet]", "endpoints = [" + ", ".join(f'"{e}"' for e in etcd.endpoints) + "]",
             f'node = "{node}"', f'lease_ttl = "{LEASE_TTL}s"']
    def toml(v):
        return ("true" if v else "false") if isinstance(v, bool) else f'"{v}"' if isinstance(v, str) else repr(v)
    lines += [f"{k} = {toml(v)}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


def start_node(start_server, etcd, target, node, zone_text=None, **fleet_keys):
    return start_ops_server(start_server, zone_files={"hc.toml": zone_text or fleet_zone(target.server_port)},
                            identity={"id_server": node}, extra_config=fleet_table(etcd, node, **fleet_keys))


def start_fleet(start_server, etcd, target, **fleet_keys):
    nodes = [start_node(start_server, etcd, target, n, **fleet_keys) for n in NODES]
    must(lambda: all(len(status(s)["fleet"]["nodes"]) == len(NODES) for s in nodes), 10)
    return nodes


def status(srv) -> dict:
    return admin_json(srv, "GET", "/status")


def region_status(srv, name="eu") -> dict:
    zone = next(z for z in status(srv)["zones"] if z["origin"] == ZONE)
    return next(r for r in zone["regions"] if r["name"] == name)


def answer(srv) -> set:
    reply = srv.query("app." + ZONE, "A")
    return {rr.address for rrset in reply.answer if rrset.rdtype == dns.rdatatype.A for rr in rrset}


def all_answer(nodes, expected: str, bound: float) -> None:
    must(lambda: all(answer(n) == {expected} for n in nodes), bound)


@pytest.fixture
def etcd(tmp_path):
    with EtcdCluster(tmp_path / "etcd", members=1) as cluster:
        yield cluster


@pytest.mark.parametrize("members", [1, 3])
def test_majority_keeps_a_region_one_node_sees_down(start_server, tmp_path, target, members):
    """Node n3 sees eu down, n1 and n2 see it up: 2 of 3 is a majority, eu stays in every node's
    answers, n3's included; /status says how each node decided. When n2 also sees it down, the
    majority flips and every node, n1 included, answers the spare region. With a three-member
    etcd cluster the same holds after one etcd member stops (etcd keeps its quorum)."""
    target.down_for = {"n3"}
    with EtcdCluster(tmp_path / "etcd", members=members) as etcd:
        nodes = start_fleet(start_server, etcd, target)
        must(lambda: target.seen >= set(NODES), 5)
        must(lambda: all(region_status(n)["vote"]["voters"] == 3 for n in nodes), VOTE_BOUND)
        must(lambda: region_status(nodes[2])["vote"]["own"] == "unhealthy", VOTE_BOUND)
        all_answer(nodes, EU, VOTE_BOUND)
        dissenter = region_status(nodes[2])
        assert dissenter["vote"]["own"] == "unhealthy"
        assert dissenter["vote"]["decided_by"] == "vote"
        assert dissenter["vote"]["healthy"] == 2
        assert dissenter["state"] == "healthy"
        assert "fleet vote: 2 of 3 voters see it healthy" in dissenter["reason"]
        if members == 3:
            etcd.stop(0)
            target.down_for = {"n2", "n3"}
            all_answer(nodes, SPARE, VOTE_BOUND)
            etcd.start(0)
        else:
            target.down_for = {"n2", "n3"}
            all_answer(nodes, SPARE, VOTE_BOUND)
        assert region_status(nodes[0])["vote"]["own"] == "healthy"
        assert region_status(nodes[0])["state"] == "unhealthy"


def test_quorum_018_one_healthy_vote_of_three_keeps_the_region(start_server, etcd, target):
    """quorum = 0.18 (Route 53's rule): one node in three seeing eu up keeps it everywhere; none
    seeing it up takes it out everywhere."""
    target.down_for = {"n2", "n3"}
    nodes = start_fleet(start_server, etcd, target, quorum=0.18)
    must(lambda: all(region_status(n)["vote"]["voters"] == 3 for n in nodes), VOTE_BOUND)
    must(lambda: region_status(nodes[1])["vote"]["own"] == "unhealthy", VOTE_BOUND)
    all_answer(nodes, EU, VOTE_BOUND)
    target.down_for = set(NODES)
    all_answer(nodes, SPARE, VOTE_BOUND)


def test_a_killed_nodes_vote_expires(start_server, etcd, target):
    """quorum 0.18 and only n1 sees eu up: n1's vote keeps eu in n2's and n3's answers. Killed
    (SIGKILL: no goodbye), its lease runs out within lease_ttl and eu leaves their answers; the
    others list it as gone (/status, /metrics, the log, meridianctl fleet)."""
    target.down_for = {"n2", "n3"}
    nodes = start_fleet(start_server, etcd, target, quorum=0.18)
    must(lambda: all(region_status(n)["vote"]["voters"] == 3 for n in nodes), VOTE_BOUND)
    must(lambda: all(region_status(n)["vote"]["own"] == "unhealthy" for n in nodes[1:]), VOTE_BOUND)
    all_answer(nodes, EU, VOTE_BOUND)
    nodes[0].proc.send_signal(signal.SIGKILL)
    nodes[0].proc.wait(timeout=10)
    nodes[0].stopped = True
    killed_at = time.monotonic()
    all_answer(nodes[1:], SPARE, EXPIRY_BOUND)
    assert time.monotonic() - killed_at >= LEASE_TTL - 1  # not before the lease could run out
    must(lambda: [n["node"] for n in status(nodes[1])["fleet"]["nodes"] if n["live"]] == ["n2", "n3"], EXPIRY_BOUND)
    gone = {n["node"]: n for n in status(nodes[2])["fleet"]["nodes"]}["n1"]
    assert not gone["live"] and gone["gone_since"] is not None
    assert metric_value(scrape_metrics(nodes[2]), "meridian_fleet_nodes") == 2
    wait_log(nodes[2], r"fleet: node n1 left the fleet", 5)
    shown = ctl("fleet", admin=nodes[2])
    assert "GONE since" in next(l for l in shown.stdout.splitlines() if l.strip().startswith("n1"))


def test_etcd_stopped_and_restarted_answers_flow_and_nodes_rejoin(start_server, etcd, target):
    """etcd stops mid-test: every node says it is cut off (/status, /metrics, the log), goes by its
    own verdict (n3 now answers the spare region, the others eu), and answers every query
    meanwhile. etcd back on the same data and port: each node rejoins by itself and the vote
    decides again."""
    target.down_for = {"n3"}
    nodes = start_fleet(start_server, etcd, target)
    all_answer(nodes, EU, VOTE_BOUND)
    etcd.stop(0)
    for n in nodes:
        must(lambda n=n: status(n)["fleet"]["partitioned"], 10)
        assert metric_value(scrape_metrics(n), "meridian_fleet_partitioned") == 1
        wait_log(n, r"fleet: cut off from etcd", 5)
    must(lambda: answer(nodes[2]) == {SPARE}, VOTE_BOUND)
    assert answer(nodes[0]) == {EU} and answer(nodes[1]) == {EU}
    unanswered = 0
    for _ in range(50):
        for n in nodes:
            try:
                answer(n)
            except Exception:  # noqa: BLE001 (any failure to answer counts)
                unanswered += 1
    assert unanswered == 0
    etcd.start(0)
    for n in nodes:
        must(lambda n=n: not status(n)["fleet"]["partitioned"], 20)
        wait_log(n, r"fleet: rejoined etcd", 5)
        assert metric_value(scrape_metrics(n), "meridian_fleet_partitions_total") >= 1
    all_answer(nodes, EU, VOTE_BOUND)


def test_a_drain_through_one_node_reaches_all_three(start_server, etcd, target):
    """meridianctl drain through n1's admin API takes eu out of all three nodes' answers within a
    watch round trip; every node shows the override with scope fleet, set by n1; undrain brings it
    back everywhere. --node-only drains n2 alone."""
    nodes = start_fleet(start_server, etcd, target)
    all_answer(nodes, EU, VOTE_BOUND)
    done = ctl("drain", ZONE, "eu", "--for", "300", "--reason", "test", admin=nodes[0])
    assert done.returncode == 0, done.stderr
    assert "every node of the fleet" in done.stdout
    started = time.monotonic()
    all_answer(nodes, SPARE, 3.0)
    took = time.monotonic() - started
    for n in nodes:
        o = region_status(n)["override"]
        assert (o["action"], o["scope"], o["by"], o["reason"]) == ("drain", "fleet", "n1", "test")
        assert o["expires_at"] is not None
    assert took < 3.0
    assert ctl("undrain", ZONE, "eu", admin=nodes[2]).returncode == 0  # cleared through another node
    all_answer(nodes, EU, 3.0)
    assert [region_status(n).get("override") for n in nodes] == [None, None, None]
    assert ctl("drain", ZONE, "eu", "--node-only", admin=nodes[1]).returncode == 0
    must(lambda: answer(nodes[1]) == {SPARE}, 2)
    time.sleep(1.0)  # a fleet drain would have reached the others by now
    assert answer(nodes[0]) == {EU} and answer(nodes[2]) == {EU}


def test_status_and_dashboard_flag_a_node_with_another_serial(start_server, etcd, target, tmp_path):
    """n3 serves the zone at serial 2, n1 and n2 at serial 1: every node lists the three with
    their serials and digests, and flags n3 on n1 (serial and configuration differ), in /status,
    /metrics, meridianctl fleet and the dashboard."""
    port = target.server_port
    nodes = [start_node(start_server, etcd, target, "n1"), start_node(start_server, etcd, target, "n2"),
             start_node(start_server, etcd, target, "n3", zone_text=fleet_zone(port, serial=2))]
    must(lambda: len(status(nodes[0])["fleet"]["nodes"]) == 3, 10)
    listed = {n["node"]: n for n in status(nodes[0])["fleet"]["nodes"]}
    assert listed["n1"]["self"] and listed["n1"]["serials"] == {ZONE: 1}
    assert listed["n3"]["serials"] == {ZONE: 2}
    assert listed["n3"]["serial_mismatch"] == [ZONE] and listed["n3"]["config_mismatch"]
    assert listed["n2"]["serial_mismatch"] == [] and not listed["n2"]["config_mismatch"]
    samples = scrape_metrics(nodes[0])
    assert metric_value(samples, "meridian_fleet_node_mismatch", node="n3") == 1
    assert metric_value(samples, "meridian_fleet_node_mismatch", node="n2") == 0
    assert metric_value(samples, "meridian_fleet_nodes") == 3
    shown = ctl("fleet", admin=nodes[0])
    assert shown.returncode == 0, shown.stderr
    line = next(l for l in shown.stdout.splitlines() if l.strip().startswith("n3"))
    assert "SERIAL DIFFERS" in line and "CONFIG DIFFERS" in line
    dom = render(nodes[0].admin_url + "/", tmp_path)
    assert dom.body.get("data-rendered") == "yes", dom.text[-3000:]
    assert sorted(r for r in dom.rows if r.startswith("node-")) == ["node-n1", "node-n2", "node-n3"]
    n3 = dom.rows["node-n3"]
    assert n3[0]["text"] == "n3" and n3[1]["text"] == f"{ZONE} 2", n3
    assert n3[5]["mismatch"] == "yes" and n3[5]["text"] == f"serial of {ZONE}; configuration", n3
    assert dom.rows["node-n1"][0]["text"] == "n1 (this node)"
    assert dom.rows["node-n2"][5]["mismatch"] == "no"
    assert any(h.startswith("Fleet: 3 nodes") for h in dom.h2), dom.h2


def test_fleet_config_errors_are_named(tmp_path):
    """A [fleet] table without endpoints, or with a URL that is not http(s), or a user without a
    password: `meridiand --check` names each with its line."""
    config = tmp_path / "meridian.toml"
    (tmp_path / "zones").mkdir()
    config.write_text('zones = ["zones"]\n[listen]\nudp = ["127.0.0.1:5399"]\n'
                      '[fleet]\nendpoints = ["etcd:2379"]\nuser = "root"\n')
    result = run_check(config)
    assert result.returncode != 0
    assert 'fleet endpoint "etcd:2379" must be an http:// or https:// URL' in result.stderr
    assert "fleet user root needs a password or password_file" in result.stderr
    config.write_text('zones = ["zones"]\n[listen]\nudp = ["127.0.0.1:5399"]\n'
                      '[fleet]\nendpoints = ["http://127.0.0.1:2379"]\nquorum = 1.0\n')
    result = run_check(config)
    assert result.returncode != 0
    assert "fleet quorum must be below 1" in result.stderr
    config.write_text('zones = ["zones"]\n[listen]\nudp = ["127.0.0.1:5399"]\n[fleet]\nnode = "a"\n')
    result = run_check(config)
    assert result.returncode != 0
    assert 'missing "endpoints" in [fleet]' in result.stderr
