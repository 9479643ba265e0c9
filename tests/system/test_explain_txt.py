"""`_explain.NAME TXT`: how NAME would be answered for the asking client, as one TXT record whose
character-strings are the steps. Answered only to packet sources in [admin] explain_acl (an ECS
option cannot grant access); others get REFUSED. NSID and CHAOS id.server name the node.

The example zone (every region up) with the test geo database: 127.0.0.2 is in the zone's CIDR
set loopback-eu (route 1, eu-west-1); ECS 81.2.69.0/24 is London (route 3, continent EU).
"""

from __future__ import annotations

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from admin_client import admin_json
from geo import EXAMPLE_GEO_ZONE, example_geo_zone_files
from meridian_server import start_ops_server
from wire import ecs, make_query

APP = "app.geo.example.com."
EXPLAIN_APP = "_explain." + APP


def route_line(n: int) -> int:
    lines = EXAMPLE_GEO_ZONE.read_text().splitlines()
    return [i + 1 for i, line in enumerate(lines) if line.startswith("[[names.app.route]]")][n - 1]


@pytest.fixture(scope="module")
def srv(module_start_server, test_geo_mmdb):
    """Default ACL: loopback (127.0.0.0/8 and ::1)."""
    return start_ops_server(module_start_server, zone_files=example_geo_zone_files(), geoip=[test_geo_mmdb])


@pytest.fixture(scope="module")
def narrow(module_start_server, test_geo_mmdb):
    """explain_acl = ["127.0.0.2/32"]; the admin API itself is off."""
    return start_ops_server(module_start_server, zone_files=example_geo_zone_files(), geoip=[test_geo_mmdb],
                            admin={"listen": "", "explain_acl": ["127.0.0.2/32"]})


def explain(srv, name=EXPLAIN_APP, source="127.0.0.1", host="127.0.0.1", options=None):
    q = make_query(name, "TXT", options=options) if options else make_query(name, "TXT")
    return srv.udp(q, host=host, source=source)


def steps(reply) -> list:
    """The character-strings of the one TXT record of the answer."""
    assert reply.rcode() == dns.rcode.NOERROR, reply
    assert len(reply.answer) == 1, reply
    rrset = reply.answer[0]
    assert rrset.rdtype == dns.rdatatype.TXT and rrset.rdclass == dns.rdataclass.IN
    assert len(rrset) == 1, f"expected one TXT record, got {len(rrset)}"
    return [s.decode() for s in rrset[0].strings]


def test_explain_from_the_packet_source(srv):
    r = explain(srv, source="127.0.0.2")
    assert r.flags & dns.flags.AA
    assert r.answer[0].ttl == 0
    assert str(r.answer[0].name) == EXPLAIN_APP
    assert steps(r) == [
        "client 127.0.0.2/32 from the packet source",
        f"route 1 (line {route_line(1)}): matched, strategy weighted",
        "candidate eu-west-1: healthy, latency 0 ms, success 100.0 %, weight 1",
        "answer eu-west-1, ttl 30, scope /32",
    ]


def test_explain_with_ecs(srv):
    lines = steps(explain(srv, options=[ecs("81.2.69.0/24")]))
    assert lines[0] == "client 81.2.69.0/24 from ECS"
    assert lines[1] == "location continent=EU country=GB subdivision=ENG asn=20712 coordinates=51.5142,-0.0931 prefix=/24"
    assert lines[2] == f"route 1 (line {route_line(1)}): no match"
    assert lines[3] == f"route 2 (line {route_line(2)}): no match"
    assert lines[4] == f"route 3 (line {route_line(3)}): matched, strategy weighted"
    assert lines[5] == "candidate eu-west-1: healthy, latency 0 ms, success 100.0 %, weight 3"
    assert lines[6] == "candidate eu-central-1: healthy, latency 0 ms, success 100.0 %, weight 1"
    assert lines[7] in ("answer eu-west-1, ttl 30, scope /24", "answer eu-central-1, ttl 30, scope /24")
    assert len(lines) == 8, lines


def test_explain_with_ecs_for_another_continent(srv):
    lines = steps(explain(srv, options=[ecs("8.8.8.0/24")]))
    assert lines[0] == "client 8.8.8.0/24 from ECS"
    assert lines[1].startswith("location continent=NA country=US ")
    assert f"route 4 (line {route_line(4)}): matched, strategy weighted" in lines
    assert lines[-1].startswith(("answer us-east-1, ttl 30, scope /", "answer us-west-1, ttl 30, scope /"))


def test_explain_shows_pruned_candidates(srv):
    """A drained region shows as pruned, and the answer with the pruned TTL."""
    path = "/regions/geo.example.com./eu-west-1/override"
    admin_json(srv, "PUT", path, body={"action": "drain"})
    try:
        # too long for 512 bytes of plain UDP: TC=1, then the whole of it over TCP
        r = explain(srv, source="127.0.0.2")
        assert r.flags & dns.flags.TC, r
        lines = steps(srv.tcp(make_query(EXPLAIN_APP, "TXT"), source="127.0.0.2"))
    finally:
        admin_json(srv, "DELETE", path)
    assert "candidate eu-west-1: healthy, latency 0 ms, success 100.0 %, weight 1, pruned: drained" in lines
    assert "route 1: no candidate left, trying the next route" in lines
    assert lines[-1] == "answer eu-central-1, ttl 10 (pruned), scope /32"


def test_static_name_is_not_steered(srv):
    assert steps(explain(srv, "_explain.www.geo.example.com.")) == [
        "www.geo.example.com. is not a steered name: its answers do not depend on the client"
    ]
    assert steps(explain(srv, "_explain.nothing-here.geo.example.com.")) == [
        "nothing-here.geo.example.com. is not a steered name: its answers do not depend on the client"
    ]


def test_explain_outside_any_zone_is_refused(srv):
    assert explain(srv, "_explain.www.example.org.").rcode() == dns.rcode.REFUSED


def test_explain_over_tcp_and_ipv6(srv):
    r = srv.tcp(make_query(EXPLAIN_APP, "TXT"), host="::1")
    lines = steps(r)
    assert lines[0] == "client ::1/128 from the packet source"
    assert lines[-1].startswith("answer ")


def test_other_types_are_not_explained(srv):
    r = srv.query(EXPLAIN_APP, "A")
    assert r.rcode() == dns.rcode.NXDOMAIN


def test_acl_allows_listed_source(narrow):
    lines = steps(explain(narrow, source="127.0.0.2"))
    assert lines[0] == "client 127.0.0.2/32 from the packet source"
    assert lines[-1] == "answer eu-west-1, ttl 30, scope /32"


def test_acl_refuses_other_sources(narrow):
    r = explain(narrow, source="127.0.0.1")
    assert r.rcode() == dns.rcode.REFUSED
    assert r.answer == []
    # an ECS option naming an allowed address does not grant access
    r = explain(narrow, source="127.0.0.1", options=[ecs("127.0.0.2/32")])
    assert r.rcode() == dns.rcode.REFUSED
    r = narrow.tcp(make_query(EXPLAIN_APP, "TXT"), host="::1")
    assert r.rcode() == dns.rcode.REFUSED
    # ordinary queries from there are answered as always
    assert narrow.udp(make_query(APP, "A"), source="127.0.0.1").rcode() == dns.rcode.NOERROR


def test_nsid_and_id_server_identify_the_node(srv):
    r = srv.udp(make_query("www.geo.example.com.", "A", options=[dns.edns.GenericOption(dns.edns.NSID, b"")]))
    nsid = [o for o in r.options if o.otype == dns.edns.NSID]
    assert len(nsid) == 1 and nsid[0].to_wire() == b"meridian-test"
    r = srv.query("id.server.", "TXT", "CH")
    assert r.rcode() == dns.rcode.NOERROR
    assert [s.decode() for s in r.answer[0][0].strings] == ["node-a"]
    assert admin_json(srv, "GET", "/status")["node"] == "node-a"


@pytest.mark.parametrize("subnet", ["81.2.69.0/24", "8.8.8.0/24"])
def test_txt_admin_api_and_meridiand_explain_give_the_same_steps(srv, subnet):
    """One explain: `_explain` TXT, GET /explain and `meridiand explain` run the same traced answer
    with the same fixed seed, so for the same client (an ECS subnet) they give the same lines,
    weighted draws included. `meridiand explain` runs without the server's health readings, so it
    is compared where the regions report no measurements (Europe: the state file says only "up")."""
    import subprocess

    from paths import require_binary

    txt = steps(explain(srv, options=[ecs(subnet)]))
    api = admin_json(srv, "GET", f"/explain?name={APP}&client={subnet}")["lines"]
    # The API and meridiand explain then add the response itself (rcode, records, ECS scope), which
    # the TXT record, being that response, cannot hold.
    assert txt[-1].startswith("answer ")
    assert api[: len(txt)] == txt, f"_explain TXT and /explain differ:\n{txt}\n{api}"
    assert api[len(txt)] == "rcode NOERROR"
    if subnet != "81.2.69.0/24":
        return
    proc = subprocess.run([str(require_binary()), "explain", "-c", str(srv.config_path), APP, subnet],
                          capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    offline = proc.stdout.splitlines()
    assert offline == api, f"/explain and meridiand explain differ:\n{api}\n{offline}"
