"""Geo steering end to end: the real meridiand with the example zone (zones/geo.example.com.toml)
and the test geo database (geoip/test-geo.csv), queried with dig and dnspython.

Expected answers come from the CSV and the zone file, not from the server: continent routes
(EU → eu-*, NA → us-*, AS → ap-*), the CIDR routes of the loopback sources, and for everyone
else the nearest region by great-circle distance (haversine, computed here).
"""

from __future__ import annotations

import re
import socket
import struct
import subprocess
import tomllib
from collections import Counter

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from config_toml import zone_toml
from geo import EXAMPLE_GEO_ZONE, example_geo_zone_files, geo_csv_rows, great_circle_km
from paths import ORIGIN
from wire import answer_addresses, assert_negative, ecs, make_query, raw_ecs, wire_ecs

APP = f"app.{ORIGIN}"
APP_TTL = 30

# The example zone's regions: (IPv4, IPv6), as the brief and the zone file give them.
REGION_ADDRESSES = {
    "us-east-1": ("198.51.100.10", "2001:db8:1::10"),
    "us-west-1": ("198.51.100.20", "2001:db8:2::10"),
    "eu-west-1": ("192.0.2.110", "2001:db8:3::10"),
    "eu-central-1": ("192.0.2.120", "2001:db8:4::10"),
    "ap-southeast-1": ("203.0.113.10", "2001:db8:5::10"),
    "ap-northeast-1": ("203.0.113.20", "2001:db8:6::10"),
}
EU = ("eu-west-1", "eu-central-1")
NA = ("us-east-1", "us-west-1")
AS = ("ap-southeast-1", "ap-northeast-1")
CONTINENT_REGIONS = {"EU": EU, "NA": NA, "AS": AS}
CIDR_ROUTES = {"127.0.0.2/32": ("eu-west-1",), "127.0.0.3/32": ("us-east-1",)}

ROWS = geo_csv_rows()
GB_V4 = next(r for r in ROWS if r.country == "GB" and r.network.version == 4 and not r.network.is_loopback)


def region_locations() -> dict:
    """{region: (lat, lon)} in file order, read from the example zone file."""
    with open(EXAMPLE_GEO_ZONE, "rb") as f:
        zone = tomllib.load(f)
    # local-pool (lb.geo.example.com, loopback addresses) has no location: not a candidate here
    return {name: tuple(table["location"]) for name, table in zone["regions"].items() if "location" in table}


def nearest_region(lat: float, lon: float, locations: dict, bias: dict | None = None) -> str:
    bias = bias or {}
    keyed = [(great_circle_km(lat, lon, *loc) * (1 - bias.get(name, 0) / 100), i, name)
             for i, (name, loc) in enumerate(locations.items())]
    return min(keyed)[2]


def expected_regions(row) -> tuple:
    """The regions the example policy may answer for a client in `row`'s network."""
    if row.subnet in CIDR_ROUTES:
        return CIDR_ROUTES[row.subnet]
    if row.continent in CONTINENT_REGIONS:
        return CONTINENT_REGIONS[row.continent]
    assert row.latitude is not None, f"{row} has no location: no expected nearest region"
    return (nearest_region(row.latitude, row.longitude, region_locations()),)


def addresses_of(regions, rdtype: str) -> set:
    index = 1 if rdtype == "AAAA" else 0
    return {REGION_ADDRESSES[r][index] for r in regions}


def region_of(address: str) -> str:
    for name, addrs in REGION_ADDRESSES.items():
        if address in addrs:
            return name
    raise AssertionError(f"{address} is no region's address")


@pytest.fixture(scope="module")
def geo_server(module_start_server, test_geo_mmdb):
    """The example zone (with every region healthy) and the test geo database."""
    return module_start_server(zone_files=example_geo_zone_files(), geoip=[test_geo_mmdb])


def ecs_query(qname, rdtype="A", subnet=None, **kw):
    return make_query(qname, rdtype, edns=0, options=[ecs(subnet)] if subnet else None, **kw)


def send_raw(srv, msg, source=None, tcp=False) -> bytes:
    """The reply's wire bytes for `msg` (UDP or TCP), optionally from a chosen source address."""
    family = socket.AF_INET6 if source and ":" in source else socket.AF_INET
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    data = msg.to_wire()
    kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
    with socket.socket(family, kind) as s:
        s.settimeout(2.0)
        if source:
            s.bind((source, 0))
        s.connect((host, srv.port))
        if tcp:
            s.sendall(struct.pack("!H", len(data)) + data)
            head = b""
            while len(head) < 2:
                chunk = s.recv(2 - len(head))
                assert chunk, "connection closed before an answer"
                head += chunk
            (length,) = struct.unpack("!H", head)
            body = b""
            while len(body) < length:
                chunk = s.recv(length - len(body))
                assert chunk, "connection closed in the middle of an answer"
                body += chunk
            return body
        s.send(data)
        return s.recv(65535)


def exchange(srv, msg, source=None, tcp=False):
    """(parsed reply, wire bytes)."""
    wire = send_raw(srv, msg, source=source, tcp=tcp)
    reply = dns.message.from_wire(wire)
    assert reply.id == msg.id
    return reply, wire


def expect_ecs_echo(wire, subnet: str, scope: int):
    """The reply carries exactly one ECS: the query's family, source prefix and address, and `scope`."""
    sent = ecs(subnet).to_wire()
    family, source = struct.unpack("!HB", sent[:3])
    assert wire_ecs(wire) == [(family, source, scope, sent[4:])]


# --------------------------------------------------------------------------------------------
# ECS steering with the example policy
# --------------------------------------------------------------------------------------------


def test_dig_subnet_of_a_gb_network_is_answered_from_europe_with_the_network_scope(geo_server):
    proc = subprocess.run(
        ["dig", "@127.0.0.1", "-p", str(geo_server.port), "app.geo.example.com", f"+subnet={GB_V4.subnet}",
         "+norec", "+tries=1", "+time=2"],
        capture_output=True, text=True, timeout=10,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "status: NOERROR" in proc.stdout, proc.stdout
    answers = re.findall(r"^app\.geo\.example\.com\.\s+(\d+)\s+IN\s+A\s+(\S+)$", proc.stdout, re.M)
    assert len(answers) == 1, proc.stdout
    ttl, address = answers[0]
    assert int(ttl) == APP_TTL
    assert address in {"192.0.2.110", "192.0.2.120"}, proc.stdout
    m = re.search(r"^; CLIENT-SUBNET: (\S+)/(\d+)/(\d+)$", proc.stdout, re.M)
    assert m, f"no ECS option in the answer:\n{proc.stdout}"
    assert (m[1], int(m[2])) == (str(GB_V4.network.network_address), GB_V4.prefix)
    assert int(m[3]) == GB_V4.prefix == 24


@pytest.mark.parametrize("rdtype", ["A", "AAAA"])
@pytest.mark.parametrize("row", ROWS, ids=[r.subnet for r in ROWS])
def test_every_test_network_is_steered_by_its_location(geo_server, row, rdtype):
    """ECS = the CSV network itself: the answer follows the policy; scope = the network's length."""
    want = expected_regions(row)
    reply, wire = exchange(geo_server, ecs_query(APP, rdtype, row.subnet))
    assert reply.rcode() == dns.rcode.NOERROR
    assert reply.flags & dns.flags.AA
    got = answer_addresses(reply, rdtype)
    assert len(got) == 1, f"{row}: {reply}"
    assert got[0] in addresses_of(want, rdtype), f"{row}: got {region_of(got[0])}, want one of {want}"
    assert [rrset.ttl for rrset in reply.answer] == [APP_TTL]
    expect_ecs_echo(wire, row.subnet, row.prefix)


@pytest.mark.parametrize(
    "subnet, regions, scope",
    [
        ("8.8.8.0/24", NA, 16),  # inside 8.8.0.0/16: the answer holds for the whole /16
        ("81.2.69.128/25", EU, 24),
        ("81.2.69.77/32", EU, 24),
        ("1.0.20.0/22", AS, 20),
        ("2001:db8:1ff::/48", NA, 40),
        ("2a02:c7f:1234::/48", EU, 32),
        ("2001:db8:3ab:cd00::/56", AS, 40),
    ],
)
def test_a_narrower_subnet_gets_the_scope_of_its_enclosing_network(geo_server, subnet, regions, scope):
    for rdtype in ("A", "AAAA"):
        reply, wire = exchange(geo_server, ecs_query(APP, rdtype, subnet))
        got = answer_addresses(reply, rdtype)
        assert len(got) == 1 and got[0] in addresses_of(regions, rdtype), f"{subnet} {rdtype}: {reply}"
        expect_ecs_echo(wire, subnet, scope)


@pytest.mark.parametrize("continent", ["OC", "SA", "AF"])
def test_other_continents_get_the_nearest_region_by_great_circle(geo_server, continent):
    rows = [r for r in ROWS if r.continent == continent and r.latitude is not None]
    assert len(rows) >= 2, f"test-geo.csv has too few {continent} networks"
    locations = region_locations()
    assert list(locations) == list(REGION_ADDRESSES), "the example zone's regions changed"
    for row in rows:
        want = nearest_region(row.latitude, row.longitude, locations)
        for rdtype in ("A", "AAAA"):
            reply, wire = exchange(geo_server, ecs_query(APP, rdtype, row.subnet))
            got = answer_addresses(reply, rdtype)
            assert got == [REGION_ADDRESSES[want][1 if rdtype == "AAAA" else 0]], (
                f"{row} {rdtype}: got {[region_of(a) for a in got]}, nearest is {want}")
            expect_ecs_echo(wire, row.subnet, row.prefix)


def test_johannesburg_is_nearer_singapore_than_frankfurt_by_great_circle(geo_server):
    """0.5 % apart on the sphere, but Frankfurt is nearer in flat lat/lon degrees: only a real
    great-circle distance picks Singapore."""
    row = next(r for r in ROWS if r.country == "ZA" and r.network.version == 4)
    locations = region_locations()
    assert nearest_region(row.latitude, row.longitude, locations) == "ap-southeast-1"
    reply, _ = exchange(geo_server, ecs_query(APP, "A", row.subnet))
    assert answer_addresses(reply) == ["203.0.113.10"]


# --------------------------------------------------------------------------------------------
# Without ECS: the packet source
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("use_edns", [True, False], ids=["edns", "no-edns"])
def test_cidr_routes_steer_loopback_sources_apart(geo_server, use_edns):
    for source, region in (("127.0.0.2", "eu-west-1"), ("127.0.0.3", "us-east-1")):
        for rdtype in ("A", "AAAA"):
            for _ in range(10):
                q = make_query(APP, rdtype, edns=0 if use_edns else None)
                reply, wire = exchange(geo_server, q, source=source)
                assert answer_addresses(reply, rdtype) == [REGION_ADDRESSES[region][rdtype == "AAAA"]], (
                    f"from {source}: {reply}")
                assert wire_ecs(wire) == [], "ECS in an answer to a query without ECS"
                assert (reply.edns >= 0) == use_edns


def test_unlocatable_source_falls_back_to_the_default_route_in_order(geo_server):
    """127.0.0.1 is in no CIDR set and not in the database: only the last (nearest) route matches,
    and with no location it answers in the route's order: the first region of the file."""
    for _ in range(5):
        reply, wire = exchange(geo_server, make_query(APP, "A", edns=0), source="127.0.0.1")
        assert answer_addresses(reply) == ["198.51.100.10"]
        assert wire_ecs(wire) == []


def test_ipv6_loopback_source_is_located_in_london(geo_server):
    for _ in range(5):
        reply, wire = exchange(geo_server, make_query(APP, "AAAA", edns=0), source="::1")
        assert answer_addresses(reply, "AAAA")[0] in {"2001:db8:3::10", "2001:db8:4::10"}
        assert len(answer_addresses(reply, "AAAA")) == 1
        assert wire_ecs(wire) == []


# --------------------------------------------------------------------------------------------
# Weighted choice
# --------------------------------------------------------------------------------------------


def test_weighted_eu_route_splits_three_to_one(geo_server):
    """eu-west-1 weight 3, eu-central-1 weight 1: expected share 0.75; 400 draws have a standard
    deviation of 0.022, so 0.65 … 0.85 is ±4.6 σ."""
    counts = Counter()
    for i in range(400):
        reply, _ = exchange(geo_server, ecs_query(APP, "A", GB_V4.subnet))
        got = answer_addresses(reply)
        assert len(got) == 1, str(reply)
        counts[got[0]] += 1
    assert set(counts) <= {"192.0.2.110", "192.0.2.120"}, counts
    share = counts["192.0.2.110"] / 400
    assert 0.65 <= share <= 0.85, f"eu-west-1 share {share:.3f} ({counts})"


# --------------------------------------------------------------------------------------------
# ECS echo and scope
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("subnet", ["81.2.69.0/24", "81.2.64.0/20", "81.2.69.42/32", "2a02:c7f::/32",
                                    "2001:db8:280::/41", "::1/128"])
def test_static_names_and_negative_answers_echo_ecs_with_scope_zero(geo_server, subnet):
    reply, wire = exchange(geo_server, ecs_query(f"www.{ORIGIN}", "A", subnet))
    assert answer_addresses(reply) == ["192.0.2.10"]
    expect_ecs_echo(wire, subnet, 0)

    reply, wire = exchange(geo_server, ecs_query(f"nope.{ORIGIN}", "A", subnet))
    assert_negative(reply, dns.rcode.NXDOMAIN)
    expect_ecs_echo(wire, subnet, 0)

    # NODATA at the steered name: a type steering does not answer
    reply, wire = exchange(geo_server, ecs_query(APP, "TXT", subnet))
    assert_negative(reply, dns.rcode.NOERROR)
    expect_ecs_echo(wire, subnet, 0)


@pytest.mark.parametrize("family, source, region", [
    (1, "127.0.0.3", "us-east-1"),
    (2, "127.0.0.3", "us-east-1"),
    (1, "127.0.0.2", "eu-west-1"),
])
def test_source_prefix_zero_is_answered_by_the_packet_source_with_scope_zero(geo_server, family, source, region):
    q = make_query(APP, "A", edns=0, options=[raw_ecs(family, 0, 0, b"")])
    reply, wire = exchange(geo_server, q, source=source)
    assert reply.rcode() == dns.rcode.NOERROR
    assert answer_addresses(reply) == [REGION_ADDRESSES[region][0]]
    assert wire_ecs(wire) == [(family, 0, 0, b"")]


def test_ecs_echo_is_byte_exact_for_an_odd_prefix(geo_server):
    """Source /21: three address bytes, the last with its low three bits clear, echoed as sent."""
    q = make_query(APP, "A", edns=0, options=[raw_ecs(1, 21, 0, bytes([81, 2, 64]))])
    reply, wire = exchange(geo_server, q)
    # 81.2.64.0/21 holds 81.2.69.0/24 and the rest is in no network: 81.2.64.0 itself is unknown,
    # so the default (nearest) route answers without a location: us-east-1, first in file order.
    echoed = wire_ecs(wire)
    assert len(echoed) == 1 and echoed[0][:2] == (1, 21) and echoed[0][3] == bytes([81, 2, 64]), echoed
    assert answer_addresses(reply) == ["198.51.100.10"]


# --------------------------------------------------------------------------------------------
# Malformed ECS: FORMERR (RFC 7871 §6, §7.1.2)
# --------------------------------------------------------------------------------------------

MALFORMED_ECS = {
    "unknown-family-3": [raw_ecs(3, 24, 0, bytes([81, 2, 69]))],
    "family-0": [raw_ecs(0, 24, 0, bytes([81, 2, 69]))],
    "v4-source-33": [raw_ecs(1, 33, 0, bytes([81, 2, 69, 0, 0]))],
    "v6-source-129": [raw_ecs(2, 129, 0, bytes(17))],
    "v4-address-too-long": [raw_ecs(1, 24, 0, bytes([81, 2, 69, 0]))],
    "v4-address-too-short": [raw_ecs(1, 24, 0, bytes([81, 2]))],
    "v6-address-too-long": [raw_ecs(2, 32, 0, bytes.fromhex("2a020c7f00"))],
    "v6-address-too-short": [raw_ecs(2, 40, 0, bytes.fromhex("2001"))],
    "source-0-with-address": [raw_ecs(1, 0, 0, bytes([81]))],
    "bits-past-source-v4": [raw_ecs(1, 20, 0, bytes([81, 2, 0x4F]))],
    "bits-past-source-v6": [raw_ecs(2, 33, 0, bytes.fromhex("2a020c7f40"))],
    "non-zero-scope": [raw_ecs(1, 24, 24, bytes([81, 2, 69]))],
    "non-zero-scope-source-0": [raw_ecs(1, 0, 8, b"")],
    "two-ecs-options": [ecs("81.2.69.0/24"), ecs("8.8.8.0/24")],
    "two-identical-ecs": [ecs("81.2.69.0/24"), ecs("81.2.69.0/24")],
    "option-shorter-than-4": [dns.edns.GenericOption(dns.edns.ECS, b"\x00\x01\x18")],
}


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("case", list(MALFORMED_ECS))
def test_malformed_ecs_is_formerr_and_the_server_carries_on(geo_server, case, transport):
    q = make_query(APP, "A", edns=0, options=MALFORMED_ECS[case])
    wire = send_raw(geo_server, q, tcp=transport == "tcp")
    assert wire[:2] == q.to_wire()[:2], "reply ID differs from the query's"
    assert wire[2] & 0x80, "QR not set"
    assert wire[3] & 0x0F == dns.rcode.FORMERR, f"{case}: rcode {wire[3] & 0x0F}, want FORMERR"
    assert struct.unpack("!H", wire[6:8])[0] == 0, f"{case}: FORMERR with answers"
    # a normal steered query still works
    reply, wire = exchange(geo_server, ecs_query(APP, "A", GB_V4.subnet))
    assert answer_addresses(reply)[0] in {"192.0.2.110", "192.0.2.120"}
    expect_ecs_echo(wire, GB_V4.subnet, 24)


# --------------------------------------------------------------------------------------------
# A zone that ignores ECS
# --------------------------------------------------------------------------------------------


def test_zone_with_ecs_false_locates_by_the_packet_source(start_server, test_geo_mmdb):
    text = EXAMPLE_GEO_ZONE.read_text()
    assert "\nttl = 300" in text
    text = text.replace("\nttl = 300", "\necs = false\nttl = 300", 1)
    srv = start_server(zone_files=example_geo_zone_files(text), geoip=[test_geo_mmdb])
    cases = [
        ("127.0.0.3", GB_V4.subnet, "us-east-1"),   # GB subnet, US source
        ("127.0.0.2", "8.8.8.0/24", "eu-west-1"),   # US subnet, London source
        ("127.0.0.3", "2a02:c7f::/32", "us-east-1"),
    ]
    for source, subnet, region in cases:
        for rdtype in ("A", "AAAA"):
            reply, wire = exchange(srv, ecs_query(APP, rdtype, subnet), source=source)
            assert answer_addresses(reply, rdtype) == [REGION_ADDRESSES[region][rdtype == "AAAA"]], (
                f"from {source} with ECS {subnet}: {reply}")
            expect_ecs_echo(wire, subnet, 0)
    # the TCP path too
    reply, wire = exchange(srv, ecs_query(APP, "A", GB_V4.subnet), source="127.0.0.3", tcp=True)
    assert answer_addresses(reply) == ["198.51.100.10"]
    expect_ecs_echo(wire, GB_V4.subnet, 0)


# --------------------------------------------------------------------------------------------
# TCP
# --------------------------------------------------------------------------------------------


def test_steering_over_tcp(geo_server):
    for subnet, regions, scope in ((GB_V4.subnet, EU, 24), ("2001:db8:100::/40", NA, 40), ("1.0.16.0/20", AS, 20)):
        for rdtype in ("A", "AAAA"):
            reply, wire = exchange(geo_server, ecs_query(APP, rdtype, subnet), tcp=True)
            got = answer_addresses(reply, rdtype)
            assert len(got) == 1 and got[0] in addresses_of(regions, rdtype), f"{subnet} {rdtype}: {reply}"
            expect_ecs_echo(wire, subnet, scope)
    reply, wire = exchange(geo_server, make_query(APP, "A", edns=0), source="127.0.0.2", tcp=True)
    assert answer_addresses(reply) == ["192.0.2.110"]
    assert wire_ecs(wire) == []
    reply, wire = exchange(geo_server, make_query(APP, "A", edns=0), source="127.0.0.3", tcp=True)
    assert answer_addresses(reply) == ["198.51.100.10"]
    # dnspython's own TCP client, several queries on one connection
    with socket.create_connection(("127.0.0.1", geo_server.port), timeout=2) as s:
        for _ in range(3):
            q = ecs_query(APP, "A", "8.8.8.0/24")
            dns.query.send_tcp(s, q)
            reply, _ = dns.query.receive_tcp(s, expiration=None)
            assert reply.id == q.id
            assert answer_addresses(reply)[0] in {"198.51.100.10", "198.51.100.20"}
            assert [(o.srclen, o.scopelen) for o in reply.options if o.otype == dns.edns.ECS] == [(24, 16)]


# --------------------------------------------------------------------------------------------
# Strategies on custom zones
# --------------------------------------------------------------------------------------------

STEER = "steer.test."

STEER_POLICY = """
[regions.r1]
addresses = ["10.0.0.1", "10.0.0.11", "fd00::1"]

[regions.r2]
addresses = ["10.0.0.2", "fd00::2"]

[regions.r3]
addresses = ["10.0.0.3", "fd00::3"]

[regions.v4only]
addresses = ["10.0.0.4"]

[regions.cdn]
cname = "edge.cdn.example.net."

[names.fo]
ttl = 42
strategy = "failover"

[[names.fo.route]]
to = ["r2", "r1", "r3"]

[names.fo2]
ttl = 43
answers = 2
strategy = "failover"

[[names.fo2.route]]
to = ["r3", "r2", "r1"]

[names.skip]
ttl = 44
strategy = "failover"

[[names.skip.route]]
to = ["v4only", "r2"]

[names.everything]
ttl = 45
strategy = "all"

[[names.everything.route]]
to = ["r1", "r2", "r3"]

[names.sticky]
ttl = 46
strategy = "sticky"

[[names.sticky.route]]
to = ["r1", "r2", "r3"]

[names.two]
ttl = 47
answers = 2

[[names.two.route]]
to = ["r1", "r2", "r3"]

[names.cdn]
ttl = 48

[[names.cdn.route]]
to = ["cdn"]

[regions.rel]
cname = "edge"

[names.rel]
ttl = 51

[[names.rel.route]]
to = ["rel"]

[names."@"]
ttl = 52
strategy = "failover"

[[names."@".route]]
to = ["r3"]

[names.txtbeside]
ttl = 53
strategy = "failover"

[[names.txtbeside.route]]
to = ["r1"]

[names.zeroweight]
ttl = 54

[[names.zeroweight.route]]
to = ["r1", "r2", "r3"]
weights = { r1 = 0, r2 = 1, r3 = 0 }

[names.zerosticky]
ttl = 55
strategy = "sticky"

[[names.zerosticky.route]]
to = ["r1", "r2", "r3"]
weights = { r1 = 0, r2 = 1, r3 = 0 }

[names.cdnfirst]
ttl = 49
answers = 2
strategy = "failover"

[[names.cdnfirst.route]]
to = ["cdn", "r1"]
"""

STEER_RECORDS = """
@      IN NS  ns1
ns1    IN A   10.0.0.53
static IN A   10.0.0.99
txtbeside IN TXT "beside a steered name"
"""

R = {"r1": (("10.0.0.1", "10.0.0.11"), ("fd00::1",)), "r2": (("10.0.0.2",), ("fd00::2",)),
     "r3": (("10.0.0.3",), ("fd00::3",)), "v4only": (("10.0.0.4",), ())}


def steer_zone_text(origin: str, policy: str, records: str = STEER_RECORDS) -> str:
    return zone_toml(origin, records) + "\n" + policy


@pytest.fixture(scope="module")
def steer_server(module_start_server):
    return module_start_server(zone_files={"steer.test.toml": steer_zone_text(STEER, STEER_POLICY)})


def region_set(regions, rdtype="A"):
    return {a for r in regions for a in R[r][rdtype == "AAAA"]}


def query_steer(srv, label, rdtype="A", subnet=None, source=None, tcp=False):
    return exchange(srv, ecs_query(f"{label}.{STEER}", rdtype, subnet), source=source, tcp=tcp)


def only_ttls(reply):
    return sorted({rrset.ttl for rrset in reply.answer})


def test_failover_always_answers_the_first_region_of_the_route(steer_server):
    for i in range(50):
        rdtype = "AAAA" if i % 2 else "A"
        subnet = None if i % 3 == 0 else f"10.{i}.0.0/16"
        reply, _ = query_steer(steer_server, "fo", rdtype, subnet)
        assert sorted(answer_addresses(reply, rdtype)) == sorted(region_set(["r2"], rdtype)), str(reply)
        assert only_ttls(reply) == [42]


def test_failover_with_two_answers_gives_the_first_two_regions(steer_server):
    for rdtype in ("A", "AAAA"):
        for _ in range(10):
            reply, _ = query_steer(steer_server, "fo2", rdtype)
            assert sorted(answer_addresses(reply, rdtype)) == sorted(region_set(["r3", "r2"], rdtype)), str(reply)
            assert only_ttls(reply) == [43]


def test_a_region_without_records_of_the_type_is_skipped(steer_server):
    reply, _ = query_steer(steer_server, "skip", "A")
    assert answer_addresses(reply) == ["10.0.0.4"]
    reply, _ = query_steer(steer_server, "skip", "AAAA")
    assert answer_addresses(reply, "AAAA") == ["fd00::2"]
    assert only_ttls(reply) == [44]


def test_all_answers_every_region_in_one_rrset(steer_server):
    for rdtype in ("A", "AAAA"):
        reply, _ = query_steer(steer_server, "everything", rdtype, "10.9.9.0/24")
        assert len(reply.answer) == 1, "all regions' addresses belong in a single RRset"
        assert sorted(answer_addresses(reply, rdtype)) == sorted(region_set(["r1", "r2", "r3"], rdtype))
        assert reply.answer[0].ttl == 45


def test_all_is_capped_at_sixteen_regions(start_server):
    regions = "".join(f'[regions.n{i:02d}]\naddresses = ["10.1.0.{i}"]\n\n' for i in range(1, 21))
    policy = regions + '[names.many]\nttl = 50\nstrategy = "all"\n\n[[names.many.route]]\n'
    srv = start_server(zone_files={"steer.test.toml": steer_zone_text(STEER, policy)})
    reply, _ = query_steer(srv, "many", "A")
    assert sorted(answer_addresses(reply), key=lambda a: int(a.rsplit(".", 1)[1])) == [
        f"10.1.0.{i}" for i in range(1, 17)]
    assert only_ttls(reply) == [50]


def test_two_answers_are_two_distinct_regions(steer_server):
    seen = Counter()
    for i in range(60):
        reply, _ = query_steer(steer_server, "two", "AAAA", f"10.{i}.0.0/16")
        got = answer_addresses(reply, "AAAA")
        assert len(got) == 2 and len(set(got)) == 2, str(reply)
        assert set(got) <= region_set(["r1", "r2", "r3"], "AAAA")
        assert only_ttls(reply) == [47]
        seen.update(got)
    assert set(seen) == region_set(["r1", "r2", "r3"], "AAAA"), f"a region never chosen in 60 draws: {seen}"
    # A: r1 has two addresses, so two regions give 2 or 3 records, from two regions
    for _ in range(30):
        reply, _ = query_steer(steer_server, "two", "A")
        got = answer_addresses(reply)
        regions = {r for r in ("r1", "r2", "r3") if set(got) & set(R[r][0])}
        assert len(regions) == 2 and set(got) == region_set(regions), f"{got}"


@pytest.mark.parametrize("subnet, scope", [("10.20.30.0/24", 24), ("10.20.30.77/32", 24), ("10.20.0.0/16", 16),
                                           ("10.20.30.64/26", 24), ("10.16.0.0/12", 12),
                                           ("2001:db8:abcd::/48", 48), ("2001:db8:abcd:1200::/64", 56),
                                           ("2001:db8:abcd:1200::/56", 56)])
def test_sticky_gives_the_same_answer_to_the_same_subnet(steer_server, subnet, scope):
    first = None
    for i in range(50):
        reply, wire = query_steer(steer_server, "sticky", "A", subnet, tcp=(i % 10 == 0))
        got = sorted(answer_addresses(reply))
        first = first or got
        assert got == first, f"answer {i} for {subnet} changed: {got} != {first}"
        assert only_ttls(reply) == [46]
        expect_ecs_echo(wire, subnet, scope)
    assert len({r for r in R if set(first) <= set(R[r][0])}) == 1


def test_sticky_keeps_a_slash_24_together_and_spreads_different_ones(steer_server):
    def answer(subnet):
        reply, _ = query_steer(steer_server, "sticky", "A", subnet)
        return tuple(sorted(answer_addresses(reply)))

    for base in ("10.40.1", "192.168.7", "172.16.99"):
        whole = answer(f"{base}.0/24")
        for host in (1, 77, 200, 255):
            assert answer(f"{base}.{host}/32") == whole, f"{base}.{host} left its /24"
    spread = Counter(answer(f"10.50.{i}.0/24") for i in range(64))
    assert len(spread) == 3, f"64 different /24s should reach all three regions: {spread}"


def test_sticky_without_ecs_is_stable_per_source(steer_server):
    answers = set()
    for _ in range(20):
        reply, wire = query_steer(steer_server, "sticky", "A", source="127.0.0.3")
        answers.add(tuple(sorted(answer_addresses(reply))))
        assert wire_ecs(wire) == []
    assert len(answers) == 1


@pytest.mark.parametrize("rdtype", ["A", "AAAA"])
def test_a_cname_region_answers_with_a_cname(steer_server, rdtype):
    for label, ttl in (("cdn", 48), ("cdnfirst", 49)):
        reply, _ = query_steer(steer_server, label, rdtype)
        assert reply.rcode() == dns.rcode.NOERROR
        assert len(reply.answer) == 1, str(reply)
        rrset = reply.answer[0]
        assert rrset.rdtype == dns.rdatatype.CNAME
        assert rrset.name == dns.name.from_text(f"{label}.{STEER}")
        assert [rd.target.to_text() for rd in rrset] == ["edge.cdn.example.net."]
        assert rrset.ttl == ttl


def test_static_name_of_a_steered_zone_is_unaffected(steer_server):
    reply, wire = query_steer(steer_server, "static", "A", "10.1.2.0/24")
    assert answer_addresses(reply) == ["10.0.0.99"]
    assert only_ttls(reply) == [300]
    expect_ecs_echo(wire, "10.1.2.0/24", 0)


NEAR_POLICY = """
[regions.dublin]
location = [53.3498, -6.2603]
addresses = ["10.2.0.1"]
{dublin_bias}

[regions.frankfurt]
location = [50.1109, 8.6821]
addresses = ["10.2.0.2"]
{frankfurt_bias}

[regions.tokyo]
location = [35.6762, 139.6503]
addresses = ["10.2.0.3"]

[names.www]
ttl = 33
strategy = "nearest"

[[names.www.route]]
"""
NEAR_LOCATIONS = {"dublin": (53.3498, -6.2603), "frankfurt": (50.1109, 8.6821), "tokyo": (35.6762, 139.6503)}
NEAR_ADDRESSES = {"dublin": "10.2.0.1", "frankfurt": "10.2.0.2", "tokyo": "10.2.0.3"}


def test_nearest_with_bias_draws_clients_from_farther_away(start_server, test_geo_mmdb):
    zones = {
        "plain.test.toml": steer_zone_text("plain.test.", NEAR_POLICY.format(dublin_bias="", frankfurt_bias="")),
        "bias.test.toml": steer_zone_text("bias.test.", NEAR_POLICY.format(dublin_bias="", frankfurt_bias="bias = 50")),
    }
    srv = start_server(zone_files=zones, geoip=[test_geo_mmdb])
    by_country = {r.country: r for r in ROWS if r.network.version == 4 and not r.network.is_loopback}
    london, dublin, tokyo = by_country["GB"], by_country["IE"], by_country["JP"]
    # London: Dublin ~464 km, Frankfurt ~637 km; with bias 50 Frankfurt counts ~318 km.
    cases = []
    for row in (london, dublin, tokyo):
        plain = nearest_region(row.latitude, row.longitude, NEAR_LOCATIONS)
        biased = nearest_region(row.latitude, row.longitude, NEAR_LOCATIONS, {"frankfurt": 50})
        cases.append((row, "plain.test.", plain))
        cases.append((row, "bias.test.", biased))
    assert [c[2] for c in cases] == ["dublin", "frankfurt", "dublin", "dublin", "tokyo", "tokyo"]
    for row, origin, want in cases:
        for transport in (False, True):
            reply, wire = exchange(srv, ecs_query(f"www.{origin}", "A", row.subnet), tcp=transport)
            assert answer_addresses(reply) == [NEAR_ADDRESSES[want]], f"{row} in {origin}: {reply}"
            assert only_ttls(reply) == [33]
            expect_ecs_echo(wire, row.subnet, row.prefix)


@pytest.mark.parametrize("label, regions", [("fo", ["r2"]), ("fo2", ["r3", "r2"]), ("everything", ["r1", "r2", "r3"]),
                                            ("two", None)])
def test_client_independent_routes_have_scope_zero(steer_server, label, regions):
    """A route with no condition and a strategy that ignores the client: the answer holds for
    everyone, so the scope is 0 (docs/POLICY.md, "The ECS scope of an answer")."""
    for subnet in ("10.1.2.0/24", "2001:db8:77::/48", "81.2.69.0/24"):
        reply, wire = query_steer(steer_server, label, "A", subnet)
        got = answer_addresses(reply)
        if regions is not None:
            assert sorted(got) == sorted(region_set(regions))
        else:
            assert len(got) >= 2
        expect_ecs_echo(wire, subnet, 0)


def test_relative_cname_target_is_completed_with_the_origin(steer_server):
    reply, _ = query_steer(steer_server, "rel", "A")
    assert [(rrset.rdtype, [rd.target.to_text() for rd in rrset], rrset.ttl) for rrset in reply.answer] == [
        (dns.rdatatype.CNAME, [f"edge.{STEER}"], 51)]


def test_steered_apex_keeps_its_soa_and_ns(steer_server):
    reply, _ = exchange(steer_server, make_query(STEER, "A"))
    assert answer_addresses(reply) == ["10.0.0.3"]
    assert only_ttls(reply) == [52]
    reply, _ = exchange(steer_server, make_query(STEER, "NS"))
    assert [rd.target.to_text() for rrset in reply.answer for rd in rrset] == [f"ns1.{STEER}"]
    reply, _ = exchange(steer_server, make_query(STEER, "SOA"))
    assert [rrset.rdtype for rrset in reply.answer] == [dns.rdatatype.SOA]


def test_other_types_beside_a_steered_name(steer_server):
    reply, _ = query_steer(steer_server, "txtbeside", "TXT")
    assert [rd.to_text() for rrset in reply.answer for rd in rrset] == ['"beside a steered name"']
    reply, _ = query_steer(steer_server, "txtbeside", "A")
    assert sorted(answer_addresses(reply)) == sorted(region_set(["r1"]))
    assert only_ttls(reply) == [53]


def test_weighted_never_picks_a_region_of_weight_zero(steer_server):
    for i in range(100):
        reply, _ = query_steer(steer_server, "zeroweight", "A", f"10.{i}.0.0/16")
        assert answer_addresses(reply) == ["10.0.0.2"], f"a weight-0 region answered: {reply}"


def test_sticky_never_picks_a_region_of_weight_zero(steer_server):
    """Weighted rendezvous hashing: a region of weight 0 gets no clients, as with weighted."""
    picked = Counter()
    for i in range(100):
        reply, _ = query_steer(steer_server, "zerosticky", "A", f"10.60.{i}.0/24")
        picked[tuple(sorted(answer_addresses(reply)))] += 1
    assert dict(picked) == {("10.0.0.2",): 100}, f"weight-0 regions got sticky clients: {picked}"
