"""Answers from the example zone geo.example.com.: positive, negative, CNAME, wildcard,
delegation, additional section, ANY, zone transfers, case, concurrency, real clients."""

import re
import subprocess
import threading

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from config_toml import zone_toml
from paths import ORIGIN
from wire import assert_negative, make_query, rrset_texts

NOERROR = dns.rcode.NOERROR
NXDOMAIN = dns.rcode.NXDOMAIN
REFUSED = dns.rcode.REFUSED


def name(rel):
    return f"{rel}.{ORIGIN}" if rel != "@" else ORIGIN


def assert_authoritative_noerror(r):
    assert r.rcode() == NOERROR, f"rcode {dns.rcode.to_text(r.rcode())}\n{r}"
    assert r.flags & dns.flags.QR
    assert r.flags & dns.flags.AA, f"AA must be set\n{r}"
    assert not r.flags & dns.flags.RA, "RA must never be set"
    assert not r.flags & dns.flags.TC


# --------------------------------------------------------------------------------------------
# Positive answers
# --------------------------------------------------------------------------------------------

POSITIVE = [
    ("www", "A", ["www.geo.example.com. 300 IN A 192.0.2.10"]),
    ("www", "AAAA", ["www.geo.example.com. 300 IN AAAA 2001:db8::10"]),
    ("ns1", "A", ["ns1.geo.example.com. 3600 IN A 192.0.2.53"]),
    ("mx1", "A", ["mx1.geo.example.com. 300 IN A 192.0.2.25"]),
    ("txtonly", "TXT", ['txtonly.geo.example.com. 300 IN TXT "this name has only a TXT record"']),
    ("mail", "MX", ["mail.geo.example.com. 300 IN MX 10 mx1.geo.example.com."]),
    ("_sip._udp", "SRV", ["_sip._udp.geo.example.com. 300 IN SRV 10 60 5060 sip.geo.example.com."]),
    (
        "@",
        "SOA",
        [
            "geo.example.com. 3600 IN SOA ns1.geo.example.com. hostmaster.example.com. "
            "2026112701 3600 600 1209600 60"
        ],
    ),
]


@pytest.mark.parametrize("rel, rdtype, expected", POSITIVE, ids=[f"{r}-{t}" for r, t, _ in POSITIVE])
def test_existing_record_is_answered_authoritatively_with_its_ttl(server, rel, rdtype, expected):
    r = server.query(name(rel), rdtype)
    assert_authoritative_noerror(r)
    assert rrset_texts(r.answer) == expected


def test_apex_ns_query_returns_both_name_servers(server):
    r = server.query(ORIGIN, "NS")
    assert_authoritative_noerror(r)
    assert sorted(rrset_texts(r.answer)) == [
        "geo.example.com. 3600 IN NS ns1.geo.example.com.",
        "geo.example.com. 3600 IN NS ns2.geo.example.com.",
    ]


@pytest.mark.parametrize("rd", [False, True], ids=["rd-clear", "rd-set"])
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_rd_flag_is_copied_and_ra_is_never_set(server, rd, transport):
    r = server.query(name("www"), "A", rd=rd, tcp=(transport == "tcp"))
    assert bool(r.flags & dns.flags.RD) == rd
    assert not r.flags & dns.flags.RA
    assert r.flags & dns.flags.AA
    assert r.opcode() == 0


def test_response_echoes_query_id_and_question(server):
    q = make_query(name("www"), "AAAA", qid=0xBEEF)
    r = server.udp(q)
    assert r.id == 0xBEEF
    assert len(r.question) == 1
    assert r.question[0].name == dns.name.from_text(name("www"))
    assert r.question[0].rdtype == dns.rdatatype.AAAA
    assert r.question[0].rdclass == dns.rdataclass.IN


# --------------------------------------------------------------------------------------------
# Negative answers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("qname", ["nope", "a.b.nope", "www2", "x.www", "sip2"])
def test_nonexistent_name_is_nxdomain_with_soa_and_negative_ttl(server, qname):
    assert_negative(server.query(name(qname), "A"), NXDOMAIN)


def test_nxdomain_soa_carries_zone_soa_rdata(server):
    r = server.query(name("nope"), "A")
    soa = r.authority[0][0]
    assert soa.serial == 2026112701
    assert soa.mname == dns.name.from_text("ns1.geo.example.com.")
    assert soa.rname == dns.name.from_text("hostmaster.example.com.")
    assert (soa.refresh, soa.retry, soa.expire, soa.minimum) == (3600, 600, 1209600, 60)


@pytest.mark.parametrize(
    "rel, rdtype",
    [("txtonly", "A"), ("www", "MX"), ("www", "TXT"), ("mail", "A"), ("@", "A"), ("ns1", "AAAA")],
)
def test_existing_name_without_the_type_is_nodata_with_soa(server, rel, rdtype):
    assert_negative(server.query(name(rel), rdtype), NOERROR)


# --------------------------------------------------------------------------------------------
# CNAME
# --------------------------------------------------------------------------------------------


def test_cname_chain_is_followed_in_order(server):
    r = server.query(name("alias2"), "A")
    assert_authoritative_noerror(r)
    assert rrset_texts(r.answer) == [
        "alias2.geo.example.com. 300 IN CNAME alias.geo.example.com.",
        "alias.geo.example.com. 300 IN CNAME www.geo.example.com.",
        "www.geo.example.com. 300 IN A 192.0.2.10",
    ]


def test_single_cname_is_followed_to_the_aaaa_target(server):
    r = server.query(name("alias"), "AAAA")
    assert_authoritative_noerror(r)
    assert rrset_texts(r.answer) == [
        "alias.geo.example.com. 300 IN CNAME www.geo.example.com.",
        "www.geo.example.com. 300 IN AAAA 2001:db8::10",
    ]


def test_query_for_cname_type_returns_just_the_cname(server):
    r = server.query(name("alias"), "CNAME")
    assert_authoritative_noerror(r)
    assert rrset_texts(r.answer) == ["alias.geo.example.com. 300 IN CNAME www.geo.example.com."]


def test_cname_to_existing_name_without_the_type_is_nodata_with_cname(server):
    r = server.query(name("alias"), "MX")
    assert r.rcode() == NOERROR
    assert r.flags & dns.flags.AA
    assert rrset_texts(r.answer) == ["alias.geo.example.com. 300 IN CNAME www.geo.example.com."]
    assert [rr.rdtype for rr in r.authority] == [dns.rdatatype.SOA]
    assert r.authority[0].ttl == 60


CNAME_ZONE = zone_toml(
    "cname.test.",
    """
@        IN NS    ns1
ns1      IN A     192.0.2.1
a        IN CNAME b
b        IN CNAME a
self     IN CNAME self
ext      IN CNAME www.example.org.
dangling IN CNAME missing
deep     IN CNAME missing.deeper
""",
)


@pytest.fixture(scope="module")
def cname_server(module_start_server):
    return module_start_server(zone_files={"cname.test.toml": CNAME_ZONE})


@pytest.mark.parametrize("qname", ["a.cname.test.", "b.cname.test.", "self.cname.test."])
def test_cname_loop_is_answered_with_each_cname_at_most_once(cname_server, qname):
    r = cname_server.query(qname, "A", one_rr_per_rrset=True)
    assert r.rcode() == NOERROR, f"rcode {dns.rcode.to_text(r.rcode())}\n{r}"
    owners = [rrset.name for rrset in r.answer]
    assert all(rrset.rdtype == dns.rdatatype.CNAME for rrset in r.answer)
    assert 1 <= len(owners) <= 2
    assert len(owners) == len(set(owners)), f"a CNAME was repeated\n{r}"
    assert owners[0] == dns.name.from_text(qname)
    r2 = cname_server.query("ns1.cname.test.", "A")
    assert rrset_texts(r2.answer) == ["ns1.cname.test. 300 IN A 192.0.2.1"]


def test_cname_to_out_of_zone_name_returns_only_the_cname(cname_server):
    r = cname_server.query("ext.cname.test.", "A")
    assert_authoritative_noerror(r)
    assert rrset_texts(r.answer) == ["ext.cname.test. 300 IN CNAME www.example.org."]


@pytest.mark.parametrize("qname", ["dangling.cname.test.", "deep.cname.test."])
def test_cname_to_missing_in_zone_name_is_nxdomain_with_cname_and_soa(cname_server, qname):
    r = cname_server.query(qname, "A")
    assert r.rcode() == NXDOMAIN, f"rcode {dns.rcode.to_text(r.rcode())}\n{r}"
    assert r.flags & dns.flags.AA
    assert [(rr.name.to_text(), rr.rdtype) for rr in r.answer] == [(qname, dns.rdatatype.CNAME)]
    assert [rr.rdtype for rr in r.authority] == [dns.rdatatype.SOA]
    assert r.authority[0].name == dns.name.from_text("cname.test.")
    assert r.authority[0].ttl == 60


# --------------------------------------------------------------------------------------------
# Wildcards (RFC 4592)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("qname", ["foo.wild", "a.b.wild", "FOO.wild"])
def test_wildcard_synthesises_txt_with_the_query_name_as_owner(server, qname):
    r = server.query(name(qname), "TXT")
    assert_authoritative_noerror(r)
    assert rrset_texts(r.answer) == [f'{name(qname)} 300 IN TXT "wildcard answer"']


def test_wildcard_name_without_the_type_is_nodata(server):
    assert_negative(server.query(name("foo.wild"), "A"), NOERROR)


@pytest.mark.parametrize("rel", ["wild", "_udp"])
@pytest.mark.parametrize("rdtype", ["A", "TXT"])
def test_empty_non_terminal_is_nodata_not_nxdomain(server, rel, rdtype):
    assert_negative(server.query(name(rel), rdtype), NOERROR)


def test_literal_wildcard_owner_returns_the_wildcard_record(server):
    r = server.query(name("*.wild"), "TXT")
    assert_authoritative_noerror(r)
    assert rrset_texts(r.answer) == ['*.wild.geo.example.com. 300 IN TXT "wildcard answer"']


def test_wildcard_does_not_apply_to_names_outside_its_parent(server):
    assert_negative(server.query(name("foo.notwild"), "TXT"), NXDOMAIN)


# --------------------------------------------------------------------------------------------
# Delegation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "qname, rdtype",
    [("x.sub", "A"), ("sub", "A"), ("sub", "NS"), ("a.b.sub", "TXT"), ("ns.sub", "A")],
)
def test_name_at_or_below_the_cut_gets_a_referral_with_glue(server, qname, rdtype):
    r = server.query(name(qname), rdtype)
    assert r.rcode() == NOERROR, f"rcode {dns.rcode.to_text(r.rcode())}\n{r}"
    assert not r.flags & dns.flags.AA, f"a referral is not authoritative\n{r}"
    assert r.answer == []
    assert rrset_texts(r.authority) == ["sub.geo.example.com. 3600 IN NS ns.sub.geo.example.com."]
    assert "ns.sub.geo.example.com. 3600 IN A 192.0.2.80" in rrset_texts(r.additional)


def test_ds_at_the_cut_is_answered_by_the_parent_as_nodata(server):
    assert_negative(server.query(name("sub"), "DS"), NOERROR, aa=True)


# --------------------------------------------------------------------------------------------
# Additional section
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rel, rdtype, glue",
    [
        ("mail", "MX", ["mx1.geo.example.com. 300 IN A 192.0.2.25"]),
        ("_sip._udp", "SRV", ["sip.geo.example.com. 300 IN A 192.0.2.60"]),
        ("@", "NS", ["ns1.geo.example.com. 3600 IN A 192.0.2.53", "ns2.geo.example.com. 3600 IN A 192.0.2.54"]),
    ],
    ids=["mx", "srv", "apex-ns"],
)
def test_additional_section_carries_target_addresses(server, rel, rdtype, glue):
    r = server.query(name(rel), rdtype)
    assert_authoritative_noerror(r)
    additional = rrset_texts(r.additional)
    for rr in glue:
        assert rr in additional, f"{rr} missing from additional\n{r}"


# --------------------------------------------------------------------------------------------
# Outside every zone
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("qname", ["example.org.", "www.example.org.", "example.com.", "com.", ".", "xgeo.example.com."])
def test_name_outside_every_zone_is_refused_without_records(server, qname):
    r = server.query(qname, "A")
    assert r.rcode() == REFUSED, f"rcode {dns.rcode.to_text(r.rcode())}\n{r}"
    assert not r.flags & dns.flags.AA
    assert r.answer == [] and r.authority == [] and r.additional == []


# --------------------------------------------------------------------------------------------
# Case preservation
# --------------------------------------------------------------------------------------------


def question_name_bytes(wire: bytes) -> bytes:
    """The raw (uncompressed) question name of a DNS message."""
    pos = 12
    while wire[pos] != 0:
        assert wire[pos] < 64, "question name must not be compressed"
        pos += 1 + wire[pos]
    return wire[12 : pos + 1]


@pytest.mark.parametrize(
    "qname, rdtype",
    [("WwW.GeO.eXample.COM.", "A"), ("NOPE.geo.EXAMPLE.com.", "A"), ("Foo.WILD.geo.example.com.", "TXT")],
)
def test_query_name_case_is_echoed_exactly(server, qname, rdtype):
    q = make_query(qname, rdtype)
    wire = server.udp_raw(q.to_wire())
    assert wire is not None, "no answer"
    assert question_name_bytes(wire) == question_name_bytes(q.to_wire())
    r = dns.message.from_wire(wire)
    for rrset in r.answer:
        # owner names of the answer use the query's spelling (dnspython keeps the case)
        assert rrset.name.to_text() == qname, f"owner {rrset.name.to_text()} != {qname}"


# --------------------------------------------------------------------------------------------
# ANY (RFC 8482) and zone transfers
# --------------------------------------------------------------------------------------------

ZONE_DATA = {
    "www": {"A": ["192.0.2.10"], "AAAA": ["2001:db8::10"]},
    "@": {"SOA": None, "NS": ["ns1.geo.example.com.", "ns2.geo.example.com."]},
    "big": {"TXT": None},
    "mail": {"MX": ["10 mx1.geo.example.com."]},
}


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("rel", ["www", "@", "mail"])
def test_any_query_returns_exactly_one_rrset_of_the_name(server, rel, transport):
    r = server.query(name(rel), "ANY", tcp=(transport == "tcp"), edns=0)
    assert_authoritative_noerror(r)
    assert len(r.answer) == 1, f"expected exactly one RRset\n{r}"
    rrset = r.answer[0]
    assert rrset.name == dns.name.from_text(name(rel))
    types = ZONE_DATA[rel]
    rdtype = dns.rdatatype.to_text(rrset.rdtype)
    assert rdtype in types, f"{rdtype} is not a type that {rel} owns"
    if types[rdtype] is not None:
        assert sorted(rd.to_text() for rd in rrset) == sorted(types[rdtype])


def test_any_query_for_nonexistent_name_is_nxdomain(server):
    assert_negative(server.query(name("nope"), "ANY"), NXDOMAIN)


@pytest.mark.parametrize(
    "rdtype, transport", [("AXFR", "tcp"), ("IXFR", "tcp"), ("AXFR", "udp")], ids=["axfr-tcp", "ixfr-tcp", "axfr-udp"]
)
def test_zone_transfer_is_refused(server, rdtype, transport):
    q = make_query(ORIGIN, rdtype)
    if rdtype == "IXFR":
        q.authority.append(
            dns.rrset.from_text(ORIGIN, 0, "IN", "SOA", ". . 2026112600 3600 600 1209600 60")
        )
    r = server.tcp(q) if transport == "tcp" else server.udp(q)
    assert r.rcode() == REFUSED, f"rcode {dns.rcode.to_text(r.rcode())}\n{r}"
    assert r.answer == []
    server.assert_answers_normally()


# --------------------------------------------------------------------------------------------
# Zone file variants (array of strings, continuation lines, default TTL)
# --------------------------------------------------------------------------------------------

ARRAY_ZONE = """origin = "array.test."
ttl = 1234
records = [
  "@    3600 IN NS ns1",
  "ns1       IN A  192.0.2.1",
  "multi     IN A  192.0.2.2",
  "multi     IN A  192.0.2.3",
  "multi     IN TXT \\"in an array\\"",
]

[soa]
primary = "ns1.array.test."
contact = "hostmaster.array.test."
serial = 7
refresh = 3600
retry = 600
expire = 1209600
negative_ttl = 30
ttl = 20
"""


CONTINUATION_ZONE = zone_toml(
    "cont.test.",
    """
@         IN NS  ns1
ns1       IN A   192.0.2.1
multi     IN A   192.0.2.2
          IN A   192.0.2.3
\t  IN TXT "continued"
other     IN A   192.0.2.4
""",
)


@pytest.fixture(scope="module")
def array_server(module_start_server):
    return module_start_server(zone_files={"array.test.toml": ARRAY_ZONE, "cont.test.toml": CONTINUATION_ZONE})


def test_records_given_as_an_array_use_the_default_ttl(array_server):
    r = array_server.query("ns1.array.test.", "A")
    assert_authoritative_noerror(r)
    assert rrset_texts(r.answer) == ["ns1.array.test. 1234 IN A 192.0.2.1"]


def test_indented_line_in_records_string_continues_the_previous_owner(array_server):
    r = array_server.query("multi.cont.test.", "A")
    assert sorted(rrset_texts(r.answer)) == [
        "multi.cont.test. 300 IN A 192.0.2.2",
        "multi.cont.test. 300 IN A 192.0.2.3",
    ]
    r = array_server.query("multi.cont.test.", "TXT")
    assert rrset_texts(r.answer) == ['multi.cont.test. 300 IN TXT "continued"']
    r = array_server.query("other.cont.test.", "A")
    assert rrset_texts(r.answer) == ["other.cont.test. 300 IN A 192.0.2.4"]


def test_array_records_are_all_served(array_server):
    r = array_server.query("multi.array.test.", "A")
    assert sorted(rrset_texts(r.answer)) == [
        "multi.array.test. 1234 IN A 192.0.2.2",
        "multi.array.test. 1234 IN A 192.0.2.3",
    ]
    r = array_server.query("multi.array.test.", "TXT")
    assert rrset_texts(r.answer) == ['multi.array.test. 1234 IN TXT "in an array"']


def test_negative_ttl_is_the_minimum_of_soa_ttl_and_soa_minimum(array_server):
    # SOA ttl 20 < negative_ttl 30: the negative answer's SOA must carry 20
    assert_negative(array_server.query("nope.array.test.", "A"), NXDOMAIN, origin="array.test.", ttl=20)


def test_two_zones_are_served_side_by_side(module_start_server):
    srv = module_start_server(
        zone_files={"array.test.toml": ARRAY_ZONE, "cname.test.toml": CNAME_ZONE},
    )
    assert rrset_texts(srv.query("ns1.array.test.", "A").answer) == ["ns1.array.test. 1234 IN A 192.0.2.1"]
    assert rrset_texts(srv.query("ns1.cname.test.", "A").answer) == ["ns1.cname.test. 300 IN A 192.0.2.1"]
    assert srv.query("www.geo.example.com.", "A").rcode() == REFUSED


# --------------------------------------------------------------------------------------------
# Concurrency (workers = 2)
# --------------------------------------------------------------------------------------------


def test_two_workers_answer_many_parallel_clients_correctly(server):
    expected = [
        (name("www"), "A", "192.0.2.10"),
        (name("mx1"), "A", "192.0.2.25"),
        (name("sip"), "A", "192.0.2.60"),
        (name("www"), "AAAA", "2001:db8::10"),
    ]
    errors = []

    def client(idx):
        try:
            for i in range(25):
                qname, rdtype, addr = expected[(idx + i) % len(expected)]
                r = server.query(qname, rdtype, tcp=(i % 5 == 0))
                got = [rd.to_text() for rd in r.answer[0]] if r.answer else []
                if got != [addr]:
                    errors.append((qname, rdtype, got))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


# --------------------------------------------------------------------------------------------
# Real clients
# --------------------------------------------------------------------------------------------


def run_client(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=15, stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout + proc.stderr


def test_dig_parses_a_plain_answer(server):
    code, out = run_client(
        ["dig", "@127.0.0.1", "-p", str(server.port), "www.geo.example.com", "A", "+norec", "+time=2", "+tries=1"]
    )
    assert code == 0, out
    assert "status: NOERROR" in out
    assert re.search(r"flags: qr aa;", out), out
    assert re.search(r"^www\.geo\.example\.com\.\s+300\s+IN\s+A\s+192\.0\.2\.10$", out, re.M), out


def test_dig_parses_nxdomain_with_soa(server):
    code, out = run_client(
        ["dig", "@127.0.0.1", "-p", str(server.port), "nope.geo.example.com", "A", "+norec", "+time=2", "+tries=1"]
    )
    assert code == 0, out
    assert "status: NXDOMAIN" in out
    assert re.search(r"^geo\.example\.com\.\s+60\s+IN\s+SOA\s+ns1\.geo\.example\.com\. hostmaster\.example\.com\. 2026112701 ", out, re.M), out


def test_kdig_over_tcp_parses_the_cname_chain(server):
    code, out = run_client(
        [
            "kdig", "@127.0.0.1", "-p", str(server.port), "+tcp", "+norec", "+timeout=2", "+retry=0",
            "alias2.geo.example.com", "A",
        ]
    )
    assert code == 0, out
    assert "status: NOERROR" in out
    assert re.search(r"^;; Flags: qr aa;", out, re.M), out
    assert "(TCP)" in out, out
    assert re.search(r"^alias2\.geo\.example\.com\.\s+300\s+IN\s+CNAME\s+alias\.geo\.example\.com\.$", out, re.M), out
    assert re.search(r"^alias\.geo\.example\.com\.\s+300\s+IN\s+CNAME\s+www\.geo\.example\.com\.$", out, re.M), out
    assert re.search(r"^www\.geo\.example\.com\.\s+300\s+IN\s+A\s+192\.0\.2\.10$", out, re.M), out


def test_drill_parses_mx_with_additional_address(server):
    code, out = run_client(["drill", "-p", str(server.port), "mail.geo.example.com", "MX", "@127.0.0.1"])
    assert code == 0, out
    assert "rcode: NOERROR" in out, out
    assert re.search(r"flags: qr aa rd ;", out), out
    assert re.search(r"^mail\.geo\.example\.com\.\s+300\s+IN\s+MX\s+10 mx1\.geo\.example\.com\.$", out, re.M), out
    assert re.search(r"^mx1\.geo\.example\.com\.\s+300\s+IN\s+A\s+192\.0\.2\.25$", out, re.M), out


def test_drill_over_tcp_parses_the_wildcard_answer(server):
    code, out = run_client(["drill", "-t", "-p", str(server.port), "x.wild.geo.example.com", "TXT", "@127.0.0.1"])
    assert code == 0, out
    assert re.search(r'^x\.wild\.geo\.example\.com\.\s+300\s+IN\s+TXT\s+"wildcard answer"$', out, re.M), out
