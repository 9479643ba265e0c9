"""CHAOS class identity queries (version.bind, hostname.bind, id.server, version.server)."""

import subprocess

import dns.flags
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

IDENTITY_ANSWERS = {
    "version.bind.": "Meridian test",
    "version.server.": "Meridian test",
    "id.server.": "node-a",
    "hostname.bind.": "host-a",
}


def txt_strings(rrset):
    return [b"".join(rd.strings).decode() for rd in rrset]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("qname", list(IDENTITY_ANSWERS))
def test_chaos_txt_identity_query_returns_the_configured_string(server, qname, transport):
    r = server.query(qname, "TXT", "CH", tcp=(transport == "tcp"))
    assert r.rcode() == dns.rcode.NOERROR, f"rcode {dns.rcode.to_text(r.rcode())}\n{r}"
    assert len(r.answer) == 1
    rrset = r.answer[0]
    assert rrset.name == dns.name.from_text(qname)
    assert rrset.rdclass == dns.rdataclass.CH
    assert rrset.rdtype == dns.rdatatype.TXT
    assert txt_strings(rrset) == [IDENTITY_ANSWERS[qname]]
    assert len(r.question) == 1 and r.question[0].rdclass == dns.rdataclass.CH


def test_chaos_query_name_is_case_insensitive_and_echoed(server):
    r = server.query("VeRsIoN.BiNd.", "TXT", "CH")
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer[0].name.to_text() == "VeRsIoN.BiNd."
    assert txt_strings(r.answer[0]) == ["Meridian test"]


@pytest.mark.parametrize("qname", ["authors.bind.", "foo.bind.", "bind.", "server.", "www.geo.example.com.", "version.bind.example."])
def test_other_chaos_names_are_refused(server, qname):
    r = server.query(qname, "TXT", "CH")
    assert r.rcode() == dns.rcode.REFUSED, f"rcode {dns.rcode.to_text(r.rcode())}\n{r}"
    assert r.answer == []


def test_chaos_with_edns_keeps_opt(server):
    r = server.query("id.server.", "TXT", "CH", edns=0)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.edns == 0
    assert txt_strings(r.answer[0]) == ["node-a"]


def test_identity_names_in_class_in_are_not_answered_from_identity(server):
    r = server.query("version.bind.", "TXT", "IN")
    assert r.rcode() == dns.rcode.REFUSED
    assert r.answer == []


@pytest.fixture(scope="module")
def chaos_off_server(module_start_server):
    return module_start_server(identity={"chaos": False})


@pytest.mark.parametrize("qname", list(IDENTITY_ANSWERS))
def test_chaos_disabled_refuses_every_chaos_query(chaos_off_server, qname):
    srv = chaos_off_server
    r = srv.query(qname, "TXT", "CH")
    assert r.rcode() == dns.rcode.REFUSED, f"rcode {dns.rcode.to_text(r.rcode())}\n{r}"
    assert r.answer == []
    # the IN zone is still served
    assert srv.query("www.geo.example.com.", "A").rcode() == dns.rcode.NOERROR


def test_dig_reads_version_bind(server):
    proc = subprocess.run(
        ["dig", "@127.0.0.1", "-p", str(server.port), "version.bind", "CH", "TXT", "+short", "+time=2", "+tries=1"],
        capture_output=True,
        text=True,
        timeout=15,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '"Meridian test"'
