"""EDNS(0) (RFC 6891), response size limits and truncation, NSID (RFC 5001)."""

import re
import subprocess

import dns.edns
import dns.flags
import dns.rcode
import pytest

from config_toml import zone_toml
from paths import EXAMPLE_ZONES, ORIGIN
from wire import make_query, rrset_texts

BIG = f"big.{ORIGIN}"
# the 30 TXT strings of big.geo.example.com. exactly as the example zone file has them
BIG_TEXTS = sorted(re.findall(r'"big record \d\d x+"', (EXAMPLE_ZONES / "geo.example.com.toml").read_text()))
assert len(BIG_TEXTS) == 30


def nsid_options(r):
    return [o for o in r.options if o.otype == dns.edns.NSID]


def option_data(opt):
    return opt.to_wire() if hasattr(opt, "to_wire") else opt.data


def assert_big_complete(r):
    assert not r.flags & dns.flags.TC, "TC set although the whole RRset was expected"
    assert r.rcode() == dns.rcode.NOERROR
    assert len(r.answer) == 1
    rrset = r.answer[0]
    assert len(rrset) == 30, f"{len(rrset)} of 30 big TXT records"
    assert sorted(rd.to_text() for rd in rrset) == BIG_TEXTS
    assert rrset.ttl == 300


def assert_truncated_empty(r, with_opt):
    assert r.flags & dns.flags.TC, f"TC must be set\n{r}"
    assert r.answer == [], f"a truncated answer must not carry a partial RRset\n{r}"
    assert len(r.question) == 1
    if with_opt:
        assert r.edns == 0, "a truncated EDNS response must still carry an OPT record"
    else:
        assert r.edns == -1, "OPT in the response although the query had none"


# --------------------------------------------------------------------------------------------
# OPT presence, payload, version
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_no_opt_in_response_when_query_has_none(server, transport):
    r = server.query(f"www.{ORIGIN}", "A", tcp=(transport == "tcp"))
    assert r.edns == -1, "response has an OPT record although the query had none"
    assert r.additional == []


@pytest.mark.parametrize("payload", [512, 1232, 1400, 4096, 65535])
def test_opt_in_response_advertises_the_configured_cap(server, payload):
    r = server.query(f"www.{ORIGIN}", "A", edns=0, payload=payload)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.edns == 0
    assert r.payload == 1232
    assert [rd.address for rd in r.answer[0]] == ["192.0.2.10"]


def test_opt_present_in_tcp_response_when_query_has_one(server):
    r = server.query_tcp(f"www.{ORIGIN}", "A", edns=0, payload=4096)
    assert r.edns == 0
    assert r.payload == 1232


@pytest.mark.parametrize("version", [1, 2, 255])
def test_unsupported_edns_version_gets_badvers_with_version_0_opt(server, version):
    r = server.query(f"www.{ORIGIN}", "A", edns=version)
    assert r.rcode() == dns.rcode.BADVERS, f"rcode {dns.rcode.to_text(r.rcode())}"
    assert r.edns == 0, f"response OPT version {r.edns} (must be 0)"
    assert r.answer == []


@pytest.mark.parametrize(
    "option",
    [
        dns.edns.GenericOption(65001, b"hello"),
        dns.edns.GenericOption(65535, b""),
        dns.edns.GenericOption(dns.edns.PADDING, b"\x00" * 16),
        dns.edns.GenericOption(dns.edns.COOKIE, b"\x01\x02\x03\x04\x05\x06\x07\x08"),
    ],
    ids=["code-65001", "code-65535-empty", "padding", "client-cookie"],
)
def test_unknown_or_unsupported_options_are_ignored(server, option):
    r = server.query(f"www.{ORIGIN}", "A", edns=0, options=[option])
    assert r.rcode() == dns.rcode.NOERROR
    assert r.edns == 0
    assert [rd.address for rd in r.answer[0]] == ["192.0.2.10"]
    assert not [o for o in r.options if o.otype in (65001, 65535)], "unknown options must not be echoed"


@pytest.mark.parametrize("zflags", [0x4000, 0x0001, 0x7FFF])
def test_unknown_opt_flag_bits_are_ignored_and_not_echoed(server, zflags):
    r = server.query(f"www.{ORIGIN}", "A", edns=0, ednsflags=zflags)
    assert r.rcode() == dns.rcode.NOERROR
    assert [rd.address for rd in r.answer[0]] == ["192.0.2.10"]
    assert r.ednsflags & 0x7FFF == 0, f"Z bits must be zero in the response, got {r.ednsflags:#x}"


@pytest.mark.parametrize("do", [True, False])
def test_do_bit_is_copied(server, do):
    r = server.query(f"www.{ORIGIN}", "A", edns=0, dnssec=do)
    assert r.edns == 0
    assert bool(r.ednsflags & dns.flags.DO) == do
    assert [rd.address for rd in r.answer[0]] == ["192.0.2.10"]


def test_negative_answer_with_edns_keeps_soa_and_opt(server):
    r = server.query(f"nope.{ORIGIN}", "A", edns=0, payload=4096)
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert r.edns == 0
    assert rrset_texts(r.authority)[0].startswith("geo.example.com. 60 IN SOA ")


# --------------------------------------------------------------------------------------------
# Size and truncation
# --------------------------------------------------------------------------------------------


def test_big_rrset_over_udp_with_edns_beyond_cap_is_truncated_and_empty(server):
    r = server.query(BIG, "TXT", edns=0, payload=4096)
    assert_truncated_empty(r, with_opt=True)


def test_big_rrset_over_udp_without_edns_is_truncated_and_empty(server):
    r = server.query(BIG, "TXT")
    assert_truncated_empty(r, with_opt=False)


def test_big_rrset_over_udp_response_fits_the_limit(server):
    for kw in ({}, {"edns": 0, "payload": 4096}, {"edns": 0, "payload": 1232}):
        q = make_query(BIG, "TXT", **kw)
        wire = server.udp_raw(q.to_wire())
        assert wire is not None
        limit = 1232 if kw else 512
        assert len(wire) <= limit, f"{len(wire)} bytes over UDP with limit {limit}"


@pytest.mark.parametrize("edns", [None, 0])
def test_big_rrset_over_tcp_is_complete(server, edns):
    r = server.query_tcp(BIG, "TXT", edns=edns, payload=1232)
    assert_big_complete(r)


MEDIUM_TEXT = "m" * 200
MEDIUM_ZONE = zone_toml(
    "medium.test.",
    f"""
@      IN NS  ns1
ns1    IN A   192.0.2.1
medium IN TXT "{MEDIUM_TEXT}" "{MEDIUM_TEXT}"
""",
)


@pytest.fixture(scope="module")
def server_4096(module_start_server):
    return module_start_server(
        zones=[EXAMPLE_ZONES],
        zone_files={"medium.test.toml": MEDIUM_ZONE},
        server={"udp_max_payload": 4096},
    )


def test_raised_cap_lets_the_big_rrset_through_udp(server_4096):
    q = make_query(BIG, "TXT", edns=0, payload=4096)
    wire = server_4096.udp_raw(q.to_wire())
    assert wire is not None and len(wire) > 1232
    r = server_4096.udp(q)
    assert_big_complete(r)
    assert r.payload == 4096


def test_raised_cap_still_honours_a_smaller_client_size(server_4096):
    r = server_4096.query(BIG, "TXT", edns=0, payload=1232)
    assert_truncated_empty(r, with_opt=True)


def test_raised_cap_without_edns_still_truncates_at_512(server_4096):
    r = server_4096.query(BIG, "TXT")
    assert_truncated_empty(r, with_opt=False)


@pytest.mark.parametrize("payload", [0, 100, 511])
def test_edns_payload_below_512_is_treated_as_512(server_4096, payload):
    q = make_query("medium.medium.test.", "TXT", edns=0, payload=payload)
    wire = server_4096.udp_raw(q.to_wire())
    assert wire is not None
    assert 400 < len(wire) <= 512
    r = server_4096.udp(q)
    assert not r.flags & dns.flags.TC
    assert rrset_texts(r.answer) == [f'medium.medium.test. 300 IN TXT "{MEDIUM_TEXT}" "{MEDIUM_TEXT}"']


# --------------------------------------------------------------------------------------------
# NSID (RFC 5001)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_nsid_is_returned_when_asked(server, transport):
    r = server.query(
        f"www.{ORIGIN}", "A", edns=0, options=[dns.edns.GenericOption(dns.edns.NSID, b"")], tcp=(transport == "tcp")
    )
    assert r.rcode() == dns.rcode.NOERROR
    opts = nsid_options(r)
    assert len(opts) == 1, f"expected one NSID option, got {r.options}"
    assert option_data(opts[0]) == b"meridian-test"


def test_nsid_is_returned_on_negative_answers_too(server):
    r = server.query(f"nope.{ORIGIN}", "A", edns=0, options=[dns.edns.GenericOption(dns.edns.NSID, b"")])
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert [option_data(o) for o in nsid_options(r)] == [b"meridian-test"]


def test_no_nsid_without_the_option(server):
    r = server.query(f"www.{ORIGIN}", "A", edns=0)
    assert nsid_options(r) == []


def test_no_nsid_when_not_configured(start_server):
    srv = start_server(identity={"nsid": None})
    r = srv.query(f"www.{ORIGIN}", "A", edns=0, options=[dns.edns.GenericOption(dns.edns.NSID, b"")])
    assert r.rcode() == dns.rcode.NOERROR
    assert r.edns == 0
    assert nsid_options(r) == []


def test_dig_shows_the_nsid(server):
    proc = subprocess.run(
        ["dig", "@127.0.0.1", "-p", str(server.port), f"www.{ORIGIN}", "A", "+norec", "+nsid", "+time=2", "+tries=1"],
        capture_output=True,
        text=True,
        timeout=15,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"NSID: .*\(\"meridian-test\"\)", proc.stdout), proc.stdout
    assert "udp: 1232" in proc.stdout
