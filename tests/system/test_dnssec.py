"""DNSSEC signing (zone [dnssec] table, server [dnssec] table), checked from outside with real
validators: BIND's delv against a trust anchor made from the zone's key files, dnspython's
dns.dnssec.validate on replies (with and without ECS), kdig, BIND's dnssec-dsfromkey, keys
made by ldns-keygen and dnssec-keygen, and dnsviz probe/grok over loopback (behind a guard
that refuses any other destination). Covered: key files and DS, DNSKEY/CDS/CDNSKEY, signed
static, steered, CNAME, wildcard and denial answers, compact denial (RFC 9824) with and
without the CO flag, referrals to unsigned and signed children, DO=0 answers equal to an
unsigned server's, the online-signing budget, reload and restart.

The test zone is the example zone geo.example.com. with: both name servers on 127.0.0.1 (so
that dnsviz asks nothing but this server), an empty non-terminal (ent, b.ent), a signed
delegation (secure, with the DS of a child key made here), a name steered by CIDR and continent
(steer) and one whose region answers with a CNAME (edge)."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import re
import secrets
import signal
import socket
import stat
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import pytest

from config_toml import write_config
from dnssec_tools import (
    ALGORITHM_NUMBERS,
    SEP,
    blocked_attempts,
    delv,
    dnskeys_of,
    dnsviz_errors,
    ds_texts_of,
    dsfromkey,
    guarded_run,
    is_loopback,
    kdig,
    kdig_header,
    key_files,
    normalise_ds,
    nsec_types,
    read_key_file,
    run_tool,
    signatures_for,
    validate_reply,
    validate_section,
    write_dnsviz_trusted_keys,
    write_trust_anchor,
)
from geo import EXAMPLE_GEO_ZONE, example_geo_zone_files, geo_csv_rows
from meridian_server import run_check, start_server_with_extra_config, wait_for
from paths import require_binary
from wire import ecs, make_query, rrset_texts

ZONE = "geo.example.com."
ZONE_FILE = EXAMPLE_GEO_ZONE.name
CHILD = f"secure.{ZONE}"
ALGORITHMS = list(ALGORITHM_NUMBERS)  # ecdsap256sha256 (13), ed25519 (15)
CO = 0x4000  # the EDNS "compact answers OK" flag (RFC 9824)
NXNAME = 128  # the NXNAME meta type of compact denial

TOOLS = ["delv", "kdig", "dnssec-dsfromkey", "dnssec-keygen", "ldns-keygen", "dnsviz"]
_missing = [t for t in TOOLS if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(bool(_missing), reason=f"missing {', '.join(_missing)} (tools/install-deps.sh)")

_EXAMPLE = tomllib.loads(EXAMPLE_GEO_ZONE.read_text())
NEGATIVE_TTL = _EXAMPLE["soa"]["negative_ttl"]  # the TTL of SOA and NSEC in denials (the SOA TTL is above it)
# The example zone's regions that the steer name below uses: (IPv4, IPv6).
REGION_ADDRESSES = {}
for _name, _region in _EXAMPLE["regions"].items():
    _v4 = [a for a in _region.get("addresses", []) if ":" not in a]
    _v6 = [a for a in _region.get("addresses", []) if ":" in a]
    if len(_v4) == 1 and len(_v6) == 1:
        REGION_ADDRESSES[_name] = (_v4[0], _v6[0])
# steer.<zone>: by CIDR first, then by continent, else us-east-1 (see STEERING below)
STEER_BY_CIDR = {"127.0.0.0/24": "eu-west-1", "127.0.1.0/24": "ap-northeast-1"}
STEER_BY_CONTINENT = {"EU": "eu-central-1", "AS": "ap-southeast-1", "NA": "us-west-1"}
STEER_DEFAULT = "us-east-1"
SOURCE_A, SOURCE_B = "127.0.0.5", "127.0.1.5"  # one client in each CIDR

STEERING = f"""
[regions.cdn]
cname = "www"

[names.steer]
ttl = 30
[[names.steer.route]]
when = {{ cidr = "net-a" }}
to = ["{STEER_BY_CIDR['127.0.0.0/24']}"]
[[names.steer.route]]
when = {{ cidr = "net-b" }}
to = ["{STEER_BY_CIDR['127.0.1.0/24']}"]
""" + "".join(f"""[[names.steer.route]]
when = {{ continent = "{c}" }}
to = ["{r}"]
""" for c, r in STEER_BY_CONTINENT.items()) + f"""[[names.steer.route]]
to = ["{STEER_DEFAULT}"]

[names.edge]
ttl = 30
[[names.edge.route]]
to = ["cdn"]
"""


def name(rel: str) -> str:
    return ZONE if rel == "@" else f"{rel}.{ZONE}"


def zone_text(dnssec: str | None, child_ds: str, extra_records: str = "") -> str:
    """The test zone (see the module docstring); `dnssec` is the body of its [dnssec] table
    (None: unsigned)."""
    text = EXAMPLE_GEO_ZONE.read_text()
    # whatever [dnssec] table the example zone has is replaced by the test's own
    text = re.sub(r"^\[dnssec\]\n(?:(?!\[)[^\n]*\n)*", "", text, flags=re.M)
    assert "[dnssec]" not in text
    for old, new in (("ns1       3600 IN A     192.0.2.53", "ns1       3600 IN A     127.0.0.1"),
                     ("ns2       3600 IN A     192.0.2.54", "ns2       3600 IN A     127.0.0.1")):
        assert old in text, f"the example zone changed: {old!r} not found"
        text = text.replace(old, new)
    extra = (f'a.b.ent        IN TXT   "below an empty non-terminal"\n'
             f"secure    3600 IN NS    ns.secure\n"
             f"secure    3600 IN DS    {child_ds}\n"
             f"ns.secure 3600 IN A     192.0.2.81\n" + extra_records)
    text = re.sub(r'^(big\s)', lambda m: extra + m.group(1), text, count=1, flags=re.M)
    assert "a.b.ent" in text
    text = text.replace("[cidrs]", '[cidrs]\nnet-a = ["127.0.0.0/24"]\nnet-b = ["127.0.1.0/24"]', 1)
    if dnssec is not None:
        text = text.replace("\n[soa]\n", f"\n[dnssec]\n{dnssec.strip()}\n\n[soa]\n", 1)
    return text + STEERING


@dataclass
class Signed:
    srv: object
    algorithm: str
    zone_path: Path
    keys_dir: Path
    key_file: Path
    dnskeys: object  # the DNSKEY RRset of the key files
    anchor: Path  # delv trust anchor

    def delv(self, rel, rdtype="A", source=None):
        return delv(self.srv.port, self.anchor, ZONE, name(rel), rdtype, source=source)

    def query(self, rel, rdtype="A", tcp=False, **kw):
        kw.setdefault("dnssec", True)
        kw.setdefault("payload", 4096 if not tcp else 1232)
        return self.srv.query(name(rel), rdtype, tcp=tcp, **kw)


def signed_from(srv, algorithm: str, zone_path: Path, keys_dir: Path) -> Signed:
    files = key_files(keys_dir, ZONE)
    assert files, f"no key files for {ZONE} in {keys_dir}: {sorted(os.listdir(keys_dir))}"
    dnskeys = dnskeys_of(files)
    anchor = write_trust_anchor(srv.workdir / "anchor.conf", dnskeys)
    return Signed(srv, algorithm, zone_path, keys_dir, files[0], dnskeys, anchor)


@pytest.fixture(scope="module")
def child_ds(tmp_path_factory) -> str:
    """The DS rdata (text) of a key made for the child zone secure.<zone>."""
    keys = tmp_path_factory.mktemp("child-keys")
    proc = run_tool([require_binary(), "keygen", CHILD, "--keys", keys])
    assert proc.returncode == 0, f"meridiand keygen failed:\n{proc.stdout}{proc.stderr}"
    (ds,) = dsfromkey(key_files(keys, CHILD)[0])
    return ds


@pytest.fixture(scope="module")
def zones(module_start_server, test_geo_mmdb, child_ds):
    """zones(algorithm) -> Signed: a server of the test zone signed with a key that
    generate = true makes; zones(None) -> an unsigned server of the same zone."""
    cache = {}

    def get(algorithm):
        if algorithm not in cache:
            body = None if algorithm is None else f'generate = true\nalgorithm = "{algorithm}"'
            files = example_geo_zone_files(zone_text(body, child_ds))
            srv = module_start_server(zone_files=files, geoip=[test_geo_mmdb])
            if algorithm is None:
                cache[algorithm] = srv
            else:
                zdir = srv.workdir / "zones"
                cache[algorithm] = signed_from(srv, algorithm, zdir / ZONE_FILE, zdir / "keys")
        return cache[algorithm]

    return get


def delv_records(result, rdtype: str) -> list:
    """The rdata texts of the records of `rdtype` that delv printed."""
    out = []
    for line in result.stdout.splitlines():
        if line.startswith(";") or not line.strip():
            continue
        fields = line.split(None, 4)
        if len(fields) == 5 and fields[3] == rdtype:
            out.append(fields[4].strip())
    return out


def assert_validated(result, negative=False):
    want = "negative response, fully validated" if negative else "fully validated"
    assert result.status == want, f"delv: expected {want!r}, got {result.status!r}\n{result.describe()}"


# --------------------------------------------------------------------------------------------
# 1. Keys: generated files, DS, DNSKEY/CDS/CDNSKEY, keys of other tools, a missing key
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_generate_makes_one_csk_pair_with_private_modes(zones, algorithm):
    z = zones(algorithm)
    number = ALGORITHM_NUMBERS[algorithm]
    files = sorted(p.name for p in z.keys_dir.iterdir())
    keys = key_files(z.keys_dir, ZONE)
    assert len(keys) == 1, f"expected one key pair, found {files}"
    key = read_key_file(keys[0])
    (rd,) = list(key)
    tag = dns.dnssec.key_id(rd)
    stem = f"K{ZONE}+{number:03d}+{tag:05d}"
    assert files == [f"{stem}.key", f"{stem}.private"], files
    assert key.name == dns.name.from_text(ZONE)
    assert (rd.flags, rd.protocol, int(rd.algorithm)) == (257, 3, number), rd.to_text()
    for f in (f"{stem}.key", f"{stem}.private"):
        mode = stat.S_IMODE((z.keys_dir / f).stat().st_mode)
        assert mode == 0o600, f"{f} has mode {oct(mode)}"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_meridiand_ds_equals_dnssec_dsfromkey(zones, algorithm):
    z = zones(algorithm)
    proc = run_tool([require_binary(), "ds", "-c", z.srv.config_path, ZONE])
    assert proc.returncode == 0, proc.stderr
    ours = []
    for line in proc.stdout.splitlines():
        tokens = line.split()
        assert tokens[0] == ZONE and "DS" in tokens, f"unexpected line from meridiand ds: {line!r}"
        ours.append(normalise_ds(" ".join(tokens[tokens.index("DS") + 1:])))
    assert sorted(ours) == dsfromkey(z.key_file), proc.stdout


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_apex_dnskey_cds_cdnskey_match_the_key_files(zones, algorithm):
    z = zones(algorithm)
    dnskey = z.query("@", "DNSKEY", tcp=True)
    served = dnskey.find_rrset(dnskey.answer, dns.name.from_text(ZONE), 1, dns.rdatatype.DNSKEY)
    assert sorted(rd.to_text() for rd in served) == sorted(rd.to_text() for rd in z.dnskeys)
    assert served.ttl == 3600, "dnskey_ttl defaults to 3600"
    validate_reply(dnskey, z.dnskeys)

    cdnskey = z.query("@", "CDNSKEY", tcp=True)
    rrset = cdnskey.find_rrset(cdnskey.answer, dns.name.from_text(ZONE), 1, dns.rdatatype.CDNSKEY)
    assert sorted(rd.to_text() for rd in rrset) == sorted(rd.to_text() for rd in z.dnskeys if rd.flags & SEP)
    validate_reply(cdnskey, z.dnskeys)

    cds = z.query("@", "CDS", tcp=True)
    rrset = cds.find_rrset(cds.answer, dns.name.from_text(ZONE), 1, dns.rdatatype.CDS)
    assert ds_texts_of(rrset) == dsfromkey(z.key_file), f"CDS is not the key's DS\n{cds}"
    validate_reply(cds, z.dnskeys)
    for rdtype in ("DNSKEY", "CDS", "CDNSKEY"):
        assert_validated(z.delv("@", rdtype))


def start_with_keys(start_server, test_geo_mmdb, child_ds, keys_dir: Path) -> Signed:
    body = f'keys = "{keys_dir}"\ngenerate = false'
    srv = start_server(zone_files=example_geo_zone_files(zone_text(body, child_ds)), geoip=[test_geo_mmdb])
    return signed_from(srv, "", srv.workdir / "zones" / ZONE_FILE, keys_dir)


@pytest.mark.parametrize("tool", ["ldns-keygen", "dnssec-keygen"])
def test_keys_made_by_other_tools_sign_a_zone_that_validates(start_server, test_geo_mmdb, child_ds, tmp_path, tool):
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir()
    if tool == "ldns-keygen":
        proc = run_tool(["ldns-keygen", "-a", "ECDSAP256SHA256", ZONE.rstrip(".")], cwd=keys_dir)
        number = 13
    else:
        proc = run_tool(["dnssec-keygen", "-a", "ED25519", "-f", "KSK", "-K", keys_dir, ZONE.rstrip(".")])
        number = 15
    assert proc.returncode == 0, f"{tool} failed:\n{proc.stdout}{proc.stderr}"
    before = sorted(os.listdir(keys_dir))
    z = start_with_keys(start_server, test_geo_mmdb, child_ds, keys_dir)
    assert sorted(os.listdir(keys_dir)) == before, "the server made or changed key files although generate = false"
    assert [int(rd.algorithm) for rd in z.dnskeys] == [number]
    r = z.query("@", "DNSKEY", tcp=True)
    served = r.find_rrset(r.answer, dns.name.from_text(ZONE), 1, dns.rdatatype.DNSKEY)
    assert sorted(rd.to_text() for rd in served) == sorted(rd.to_text() for rd in z.dnskeys)
    for rel, rdtype, negative, source in [("@", "SOA", False, None), ("www", "A", False, None),
                                          ("nope", "A", True, None), ("www", "MX", True, None),
                                          ("steer", "A", False, SOURCE_B), ("x.wild", "TXT", False, None)]:
        assert_validated(z.delv(rel, rdtype, source=source), negative)



@pytest.mark.parametrize("algorithm", ["ecdsap256sha256", "ed25519"])
def test_axfr_of_the_signed_zone_verifies_with_ldns_verify_zone(start_server, test_geo_mmdb, child_ds, tmp_path,
                                                                  algorithm):
    """A transfer carries every RRset's signatures and an NSEC chain: ldns-verify-zone, given
    the zone's key as trust anchor, verifies the dump whole."""
    body = f'generate = true\nalgorithm = "{algorithm}"'
    text = zone_text(body, child_ds) + '\n[transfer]\nallow = ["127.0.0.0/8"]\n'
    srv = start_server(zone_files=example_geo_zone_files(text), geoip=[test_geo_mmdb])
    z = signed_from(srv, algorithm, srv.workdir / "zones" / ZONE_FILE, srv.workdir / "zones" / "keys")
    proc = run_tool(["dig", "@127.0.0.1", "-p", str(srv.port), ZONE, "AXFR", "+nocmd", "+nostats", "+time=5",
                     "+tries=1"])
    assert proc.returncode == 0, proc.stderr
    dump = tmp_path / "axfr.txt"
    dump.write_text(proc.stdout)
    records = [line.split() for line in proc.stdout.splitlines() if line and not line.startswith(";")]
    types = {r[3] for r in records}
    assert {"SOA", "DNSKEY", "RRSIG", "NSEC", "CDS", "CDNSKEY"} <= types, types
    # the chain: one NSEC per name with data, classic (the next name is another name of the zone)
    nsec_next = [r[4] for r in records if r[3] == "NSEC"]
    assert nsec_next and not any(n.startswith("\\000.") for n in nsec_next)
    # steered names are in the transfer, signed
    assert any(r[0] == name("steer") and r[3] == "A" for r in records)
    assert any(r[0] == name("steer") and r[3] == "RRSIG" and r[4] == "A" for r in records)
    anchor = tmp_path / "anchor.key"
    anchor.write_text(z.key_file.read_text())
    verified = run_tool(["ldns-verify-zone", "-k", anchor, dump])
    assert verified.returncode == 0 and "Zone is verified and complete" in verified.stdout + verified.stderr, (
        verified.stdout + verified.stderr)
    # and a broken record fails it: the check can fail
    tampered = tmp_path / "tampered.txt"
    tampered.write_text(proc.stdout.replace("192.0.2.10", "192.0.2.11", 1))
    assert "192.0.2.11" in tampered.read_text()
    assert run_tool(["ldns-verify-zone", "-k", anchor, tampered]).returncode != 0

def keygen(keys_dir: Path, *args) -> Path:
    """meridiand keygen ZONE --keys DIR ARGS: the .key file it made."""
    proc = run_tool([require_binary(), "keygen", ZONE, "--keys", keys_dir, *args])
    assert proc.returncode == 0, f"meridiand keygen {args} failed:\n{proc.stdout}{proc.stderr}"
    base = proc.stdout.strip().splitlines()[-1]
    return Path(base + ".key") if Path(base + ".key").is_absolute() else Path.cwd() / (base + ".key")


def key_tag(key_file: Path) -> int:
    return dns.dnssec.key_id(list(read_key_file(key_file))[0])


def test_split_ksk_zsk_with_prepublished_and_future_keys(start_server, test_geo_mmdb, child_ds, tmp_path):
    keys_dir = tmp_path / "keys"
    ksk = keygen(keys_dir)
    zsk = keygen(keys_dir, "--zsk")
    standby = keygen(keys_dir, "--zsk", "--publish", "now", "--activate", "now+30d")
    future = keygen(keys_dir, "--zsk", "--publish", "now+30d", "--activate", "now+40d")
    for f in (ksk, zsk, standby, future):
        assert f.exists(), f"meridiand keygen printed {f}, which does not exist"
    z = start_with_keys(start_server, test_geo_mmdb, child_ds, keys_dir)
    published = dnskeys_of([ksk, zsk, standby])
    r = z.query("@", "DNSKEY", tcp=True)
    served = r.find_rrset(r.answer, dns.name.from_text(ZONE), 1, dns.rdatatype.DNSKEY)
    assert sorted(rd.to_text() for rd in served) == sorted(rd.to_text() for rd in published), \
        f"DNSKEY should hold the KSK, the active ZSK and the pre-published ZSK, not the future one\n{r}"
    validate_reply(r, dnskeys_of([ksk]))  # the DNSKEY RRset is signed by the KSK
    # everything else is signed by the active ZSK alone
    for rel, rdtype in [("@", "SOA"), ("www", "A"), ("steer", "A"), ("nope", "A"), ("x.wild", "TXT")]:
        r = z.query(rel, rdtype)
        tags = {sig.key_tag for section in (r.answer, r.authority) for rrset in section
                if rrset.rdtype == dns.rdatatype.RRSIG for sig in rrset}
        assert tags == {key_tag(zsk)}, f"{rel} {rdtype}: signed by {tags}, expected the ZSK {key_tag(zsk)}\n{r}"
        validate_reply(r, served)
    r = z.query("@", "CDS", tcp=True)
    cds = r.find_rrset(r.answer, dns.name.from_text(ZONE), 1, dns.rdatatype.CDS)
    assert ds_texts_of(cds) == dsfromkey(ksk), f"CDS must be the KSK's DS only\n{r}"
    proc = run_tool([require_binary(), "ds", "-c", z.srv.config_path, ZONE])
    assert proc.returncode == 0, proc.stderr
    assert sorted(normalise_ds(" ".join(l.split()[l.split().index("DS") + 1:])) for l in proc.stdout.splitlines()) \
        == dsfromkey(ksk), proc.stdout
    z.anchor = write_trust_anchor(tmp_path / "ksk-anchor.conf", dnskeys_of([ksk]))
    for rel, rdtype, negative in [("@", "SOA", False), ("steer", "AAAA", False), ("nope", "A", True)]:
        assert_validated(z.delv(rel, rdtype), negative)


def test_empty_keys_directory_without_generate_fails_check_naming_it(tmp_path):
    keys = tmp_path / "zones" / "no-keys-here"
    keys.mkdir(parents=True)
    zone = tmp_path / "zones" / "z.toml"
    zone.write_text(f"""origin = "{ZONE}"
records = \"\"\"
@   IN NS ns1
ns1 IN A  127.0.0.1
\"\"\"
[dnssec]
keys = "no-keys-here"
generate = false
[soa]
primary = "ns1"
contact = "hostmaster"
serial = 1
""")
    proc = run_check(write_config(tmp_path, [zone]))
    assert proc.returncode == 1, f"--check accepted a zone without keys:\n{proc.stdout}{proc.stderr}"
    assert "no-keys-here" in proc.stderr + proc.stdout, proc.stderr
    assert os.listdir(keys) == [], "--check made a key"


# --------------------------------------------------------------------------------------------
# 2. delv: every kind of answer validates, for both algorithms
# --------------------------------------------------------------------------------------------

# (relative name, type, negative?, source address)
DELV_CASES = [
    ("@", "SOA", False, None),
    ("@", "NS", False, None),
    ("@", "DNSKEY", False, None),
    ("www", "A", False, None),
    ("www", "AAAA", False, None),
    ("mail", "MX", False, None),
    ("txtonly", "TXT", False, None),
    ("_sip._udp", "SRV", False, None),
    ("alias2", "A", False, None),
    ("alias2", "AAAA", False, None),
    ("x.wild", "TXT", False, None),
    ("x.wild", "A", True, None),
    ("a.b.ent", "TXT", False, None),
    ("ent", "A", True, None),
    ("b.ent", "TXT", True, None),
    ("nope", "A", True, None),
    ("a.b.nope", "AAAA", True, None),
    ("www", "MX", True, None),
    ("txtonly", "A", True, None),
    ("secure", "DS", False, None),
    ("sub", "DS", True, None),
    ("steer", "TXT", True, None),
    ("edge", "A", False, None),
    ("edge", "AAAA", False, None),
    ("steer", "A", False, SOURCE_A),
    ("steer", "AAAA", False, SOURCE_A),
    ("steer", "A", False, SOURCE_B),
    ("steer", "AAAA", False, SOURCE_B),
]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("rel, rdtype, negative, source", DELV_CASES,
                         ids=[f"{r}-{t}" + (f"-from-{s}" if s else "") for r, t, _, s in DELV_CASES])
def test_delv_validates(zones, algorithm, rel, rdtype, negative, source):
    z = zones(algorithm)
    result = z.delv(rel, rdtype, source=source)
    assert_validated(result, negative)
    if not negative:
        assert delv_records(result, rdtype), result.describe()
        sigs = delv_records(result, "RRSIG")
        assert sigs and all(s.split()[1] == str(ALGORITHM_NUMBERS[algorithm]) for s in sigs), result.describe()


def expected_steer(source_or_subnet: str, rdtype: str) -> str:
    addr = ipaddress.ip_network(source_or_subnet, strict=False)
    for net, region in STEER_BY_CIDR.items():
        if addr.version == 4 and addr.subnet_of(ipaddress.ip_network(net)):
            return REGION_ADDRESSES[region][0 if rdtype == "A" else 1]
    raise KeyError(source_or_subnet)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("rdtype", ["A", "AAAA"])
def test_delv_steered_answers_differ_by_source_and_validate(zones, algorithm, rdtype):
    z = zones(algorithm)
    seen = {}
    for source in (SOURCE_A, SOURCE_B):
        result = z.delv("steer", rdtype, source=source)
        assert_validated(result)
        seen[source] = delv_records(result, rdtype)
        assert seen[source] == [expected_steer(source, rdtype)], result.describe()
    assert seen[SOURCE_A] != seen[SOURCE_B]
    # over IPv6 from ::1, which the test geo database puts in Europe: the continent route
    (row,) = [r for r in geo_csv_rows() if r.subnet == "::1/128"]
    result = delv(z.srv.port, z.anchor, ZONE, name("steer"), rdtype, host="::1", source="::1")
    assert_validated(result)
    region = STEER_BY_CONTINENT.get(row.continent, STEER_DEFAULT)
    assert delv_records(result, rdtype) == [REGION_ADDRESSES[region][0 if rdtype == "A" else 1]], result.describe()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_delv_region_cname_is_followed_to_the_static_target(zones, algorithm):
    result = zones(algorithm).delv("edge", "A")
    assert_validated(result)
    assert delv_records(result, "CNAME") == [name("www")], result.describe()
    assert delv_records(result, "A") == ["192.0.2.10"], result.describe()


# --------------------------------------------------------------------------------------------
# 3. ECS: steered answers for subnets of the test geo database validate with dnspython
# --------------------------------------------------------------------------------------------


def ecs_cases() -> list:
    """(subnet, continent) of the first non-loopback network of each continent the steer name
    routes, plus one it does not (the default route), IPv4 and IPv6."""
    rows = [r for r in geo_csv_rows() if not r.network.is_loopback]
    picked = {}
    for row in rows:
        key = (row.continent if row.continent in STEER_BY_CONTINENT else "other", row.network.version)
        picked.setdefault(key, (row.subnet, row.continent))
    cases = sorted(picked.values())
    assert len({c for _, c in cases if c in STEER_BY_CONTINENT}) == len(STEER_BY_CONTINENT), cases
    return cases


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("rdtype", ["A", "AAAA"])
def test_ecs_steered_answers_differ_by_subnet_and_validate(zones, algorithm, rdtype):
    z = zones(algorithm)
    answers = {}
    for subnet, continent in ecs_cases():
        r = z.query("steer", rdtype, options=[ecs(subnet)])
        assert r.rcode() == dns.rcode.NOERROR, f"{subnet}: {r}"
        region = STEER_BY_CONTINENT.get(continent, STEER_DEFAULT)
        want = REGION_ADDRESSES[region][0 if rdtype == "A" else 1]
        got = [rd.address for rrset in r.answer if rrset.rdtype == dns.rdatatype.from_text(rdtype) for rd in rrset]
        assert got == [want], f"ECS {subnet} ({continent}): expected {region} {want}\n{r}"
        validated = validate_reply(r, z.dnskeys)
        assert (name("steer"), rdtype) in validated, r
        rrset, sigs = r.answer[0], signatures_for(r.answer, r.answer[0])
        assert all(rrset.ttl <= s.original_ttl for s in sigs), f"wire TTL above the signed original TTL\n{r}"
        answers[subnet] = got[0]
    assert len(set(answers.values())) == len(set(STEER_BY_CONTINENT.values()) | {STEER_DEFAULT}), answers


# --------------------------------------------------------------------------------------------
# 4. kdig: flags, truncation of a large signed answer, TCP
# --------------------------------------------------------------------------------------------


def test_kdig_flags_and_large_signed_answer(zones):
    z = zones("ecdsap256sha256")
    port = z.srv.port
    head = kdig_header(kdig(port, "+dnssec", name("www")).stdout)
    assert {"qr", "aa"} <= head["flags"] and "tc" not in head["flags"], head
    assert head["edns_flags"] is not None and "do" in head["edns_flags"], head
    assert head["status"] == "NOERROR"

    big_records = len(re.findall(r"^big\s", z.zone_path.read_text(), flags=re.M))
    out = kdig(port, "+dnssec", "+bufsize=512", "+ignore", name("big"), "TXT").stdout
    head = kdig_header(out)
    assert "tc" in head["flags"], f"a {big_records}-record signed RRset must not fit in 512 bytes:\n{out}"

    out = kdig(port, "+dnssec", "+tcp", name("big"), "TXT").stdout
    head = kdig_header(out)
    assert "tc" not in head["flags"] and head["counts"].get("ANSWER") == big_records + 1, out
    assert len(re.findall(r"\sRRSIG\s+TXT\s", out)) == 1, out
    r = z.query("big", "TXT", tcp=True)
    assert len(r.answer[0]) == big_records
    validate_reply(r, z.dnskeys)


# --------------------------------------------------------------------------------------------
# 5. DO=0: no DNSSEC records, the same records as an unsigned server
# --------------------------------------------------------------------------------------------

PLAIN_CASES = [("@", "SOA"), ("@", "NS"), ("www", "A"), ("www", "AAAA"), ("mail", "MX"), ("alias2", "A"),
               ("x.wild", "TXT"), ("x.wild", "A"), ("nope", "A"), ("www", "MX"), ("ent", "A"),
               ("host.sub", "A"), ("host.secure", "A"), ("secure", "DS"), ("steer", "A"), ("steer", "AAAA"),
               ("edge", "A"), ("big", "TXT"), ("_sip._udp", "SRV")]


def sections(r) -> dict:
    return {
        "rcode": dns.rcode.to_text(r.rcode()),
        "flags": dns.flags.to_text(r.flags),
        "answer": sorted(rrset_texts(r.answer)),
        "authority": sorted(rrset_texts(r.authority)),
        "additional": sorted(t for t in rrset_texts(r.additional) if " OPT " not in t),
    }


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("edns", [None, 0], ids=["no-edns", "edns-do0"])
def test_do0_answers_equal_the_unsigned_servers(zones, edns, transport):
    signed, unsigned = zones("ecdsap256sha256"), zones(None)
    for rel, rdtype in PLAIN_CASES:
        a = signed.srv.query(name(rel), rdtype, edns=edns, tcp=transport == "tcp")
        b = unsigned.query(name(rel), rdtype, edns=edns, tcp=transport == "tcp")
        for section in (a.answer, a.authority, a.additional):
            for rrset in section:
                assert rrset.rdtype not in (dns.rdatatype.RRSIG, dns.rdatatype.NSEC, dns.rdatatype.DNSKEY), \
                    f"{rel} {rdtype} with DO=0 carries {rrset}"
        assert sections(a) == sections(b), f"{rel} {rdtype}: signed server (DO=0)\n{a}\n--- unsigned server\n{b}"


def test_do0_nxdomain_keeps_its_rcode(zones):
    r = zones("ecdsap256sha256").srv.query(name("nope"), "A", edns=0)
    assert r.rcode() == dns.rcode.NXDOMAIN, r
    assert [rrset.rdtype for rrset in r.authority] == [dns.rdatatype.SOA], r


# --------------------------------------------------------------------------------------------
# 6. Compact denial (RFC 9824)
# --------------------------------------------------------------------------------------------


def nsec_of(r, owner: str):
    for rrset in r.authority:
        if rrset.rdtype == dns.rdatatype.NSEC:
            assert rrset.name == dns.name.from_text(owner), f"NSEC owner {rrset.name}, expected {owner}\n{r}"
            assert len(rrset) == 1
            return rrset
    raise AssertionError(f"no NSEC in the authority section\n{r}")


def assert_compact_nsec(r, owner: str, types: set, dnskeys):
    nsec = nsec_of(r, owner)
    rd = nsec[0]
    assert rd.next == dns.name.from_text("\\000." + owner), f"next name {rd.next}\n{r}"
    assert nsec_types(rd) == types, (f"bitmap {sorted(dns.rdatatype.to_text(t) for t in nsec_types(rd))}, "
                                     f"expected {sorted(dns.rdatatype.to_text(t) for t in types)}\n{r}")
    assert nsec.ttl == NEGATIVE_TTL, f"NSEC TTL {nsec.ttl}, expected the SOA minimum {NEGATIVE_TTL}\n{r}"
    assert r.answer == [], r
    soa = [rrset for rrset in r.authority if rrset.rdtype == dns.rdatatype.SOA]
    assert len(soa) == 1 and soa[0].name == dns.name.from_text(ZONE), r
    validated = validate_section(r.authority, dnskeys)
    assert sorted(validated) == sorted([(ZONE, "SOA"), (owner, "NSEC")]), validated


DENIAL = {dns.rdatatype.RRSIG, dns.rdatatype.NSEC}


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("rel", ["nope", "a.b.nope", "x.www", "y.a.b.ent", "x.steer", "NoPe.MiXeD"])
def test_nxdomain_is_compact_noerror_with_nxname_and_nxdomain_with_co(zones, algorithm, rel):
    z = zones(algorithm)
    for tcp in (False, True):
        r = z.query(rel, "A", tcp=tcp)
        assert r.rcode() == dns.rcode.NOERROR, f"without CO the rcode must be NOERROR\n{r}"
        assert r.flags & dns.flags.AA and r.ednsflags & dns.flags.DO, r
        assert not r.ednsflags & CO, f"CO echoed although not asked\n{r}"
        assert_compact_nsec(r, name(rel), DENIAL | {NXNAME}, z.dnskeys)

        r = z.query(rel, "A", tcp=tcp, ednsflags=CO)
        assert r.rcode() == dns.rcode.NXDOMAIN, f"with CO the rcode must be NXDOMAIN\n{r}"
        assert r.ednsflags & CO and r.ednsflags & dns.flags.DO, f"CO (0x4000) not echoed: {r.ednsflags:#x}\n{r}"
        assert_compact_nsec(r, name(rel), DENIAL | {NXNAME}, z.dnskeys)


# (name, type asked, the types that exist there according to the zone file)
NODATA_CASES = [
    ("www", "MX", {"A", "AAAA"}),
    ("txtonly", "A", {"TXT"}),
    ("mail", "A", {"MX"}),
    ("ent", "TXT", set()),
    ("b.ent", "A", set()),
    ("x.wild", "A", {"TXT"}),
    ("@", "A", {"NS", "SOA", "DNSKEY", "CDS", "CDNSKEY"}),
]


@pytest.mark.parametrize("rel, rdtype, present", NODATA_CASES, ids=[f"{r}-{t}" for r, t, _ in NODATA_CASES])
def test_nodata_nsec_lists_the_types_present(zones, rel, rdtype, present):
    z = zones("ed25519")
    r = z.query(rel, rdtype)
    assert r.rcode() == dns.rcode.NOERROR, r
    types = DENIAL | {dns.rdatatype.from_text(t) for t in present}
    assert dns.rdatatype.from_text(rdtype) not in types
    assert_compact_nsec(r, name(rel), types, z.dnskeys)


MIXED_CASE = [("WwW", "A", False), ("StEeR", "A", False), ("X.WiLd", "TXT", False), ("AlIaS2", "AAAA", False),
              ("NoPe", "A", True), ("wWw", "MX", True), ("X.wIlD", "A", True)]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("rel, rdtype, negative", MIXED_CASE, ids=[f"{r}-{t}" for r, t, _ in MIXED_CASE])
def test_mixed_case_queries_validate(zones, algorithm, rel, rdtype, negative):
    """Owner names come back in the query's case (0x20); the signatures are over the canonical
    (lower-case) form, so they must validate whatever the case."""
    z = zones(algorithm)
    qname = name(rel).replace("geo.example.com.", "GeO.ExAmPlE.cOm.")
    for tcp in (False, True):
        r = z.srv.query(qname, rdtype, dnssec=True, tcp=tcp)
        assert r.rcode() == dns.rcode.NOERROR, r
        validated = validate_reply(r, z.dnskeys)
        assert validated, r
        assert bool(r.answer) != negative, r
    assert_validated(delv(z.srv.port, z.anchor, ZONE, qname, rdtype), negative)


# --------------------------------------------------------------------------------------------
# 7. Referrals
# --------------------------------------------------------------------------------------------


def assert_referral_shape(r, child: str):
    assert r.rcode() == dns.rcode.NOERROR, r
    assert not r.flags & dns.flags.AA, f"a referral is not authoritative\n{r}"
    assert r.answer == [], r
    ns = [rrset for rrset in r.authority if rrset.rdtype == dns.rdatatype.NS]
    assert len(ns) == 1 and ns[0].name == dns.name.from_text(child), r


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_referral_to_unsigned_child_carries_signed_nsec_without_ds(zones, algorithm):
    z = zones(algorithm)
    child = name("sub")
    for tcp in (False, True):
        r = z.query("host.sub", "A", tcp=tcp)
        assert_referral_shape(r, child)
        nsec = nsec_of(r, child)
        assert nsec_types(nsec[0]) == {dns.rdatatype.NS} | DENIAL, f"cut NSEC bitmap\n{r}"
        assert not any(rrset.rdtype == dns.rdatatype.DS for rrset in r.authority), r
        validated = validate_section(r.authority, z.dnskeys, unsigned=[(child, "NS")])
        assert validated == [(child, "NSEC")], validated
        validate_section(r.additional, z.dnskeys, unsigned=[(name("ns.sub"), "A")])
        glue = [t for t in rrset_texts(r.additional) if " OPT " not in t]
        assert glue == [f"{name('ns.sub')} 3600 IN A 192.0.2.80"], r


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_referral_to_signed_child_carries_its_ds_signed(zones, algorithm, child_ds):
    z = zones(algorithm)
    child = name("secure")
    r = z.query("host.secure", "A")
    assert_referral_shape(r, child)
    ds = [rrset for rrset in r.authority if rrset.rdtype == dns.rdatatype.DS]
    assert len(ds) == 1 and ds_texts_of(ds[0]) == [normalise_ds(child_ds)], r
    assert not any(rrset.rdtype == dns.rdatatype.NSEC for rrset in r.authority), r
    validated = validate_section(r.authority, z.dnskeys, unsigned=[(child, "NS")])
    assert validated == [(child, "DS")], validated
    validate_section(r.additional, z.dnskeys, unsigned=[(name("ns.secure"), "A")])


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_additional_records_are_signed(zones, algorithm):
    z = zones(algorithm)
    r = z.query("mail", "MX")
    validated = validate_reply(r, z.dnskeys)
    assert (name("mail"), "MX") in validated and (name("mx1"), "A") in validated, f"{validated}\n{r}"


# --------------------------------------------------------------------------------------------
# 8. dnsviz probe + grok over loopback
# --------------------------------------------------------------------------------------------

DNSVIZ_NAMES = ["@", "www", "nope", "alias2", "x.wild", "a.b.ent", "steer", "edge", "mail", "big", "txtonly"]


def ip_strings(node) -> set:
    """Every string in a JSON document (keys too) that is an IP address."""
    found = set()
    if isinstance(node, dict):
        for k, v in node.items():
            found |= ip_strings(k) | ip_strings(v)
    elif isinstance(node, list):
        for v in node:
            found |= ip_strings(v)
    elif isinstance(node, str):
        try:
            ipaddress.ip_address(node)
            found.add(node)
        except ValueError:
            pass
    return found


def root_server_addresses() -> set:
    hints = Path("/usr/share/dns/root.hints")
    found = set(re.findall(r"\sA\s+([0-9.]+)", hints.read_text())) if hints.exists() else set()
    return found | {"198.41.0.4"}


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_dnsviz_finds_no_errors(zones, algorithm, tmp_path):
    z = zones(algorithm)
    blocked_log = tmp_path / "blocked.jsonl"
    probe_out, grok_out = tmp_path / "probe.json", tmp_path / "grok.json"
    trusted = write_dnsviz_trusted_keys(tmp_path / "trusted-keys", z.dnskeys)
    # -A: authoritative analysis; -a: no ancestor above the zone; -x ZONE+: only this server,
    # at 127.0.0.1 on its port; -4: no IPv6; -E: the EDNS diagnostic queries too.
    proc = guarded_run("/usr/bin/dnsviz", [
        "probe", "-A", "-4", "-E", "-t", "1", "-a", ZONE, "-x", f"{ZONE}+:127.0.0.1:{z.srv.port}",
        "-o", probe_out, *(name(n) for n in DNSVIZ_NAMES)], blocked_log)
    assert proc.returncode == 0, f"dnsviz probe failed:\n{proc.stdout}{proc.stderr}"
    assert "Error" not in proc.stderr, proc.stderr
    blocked = blocked_attempts(blocked_log)
    # the only outside address dnsviz may try is its connectivity check (a UDP connect to a root
    # server: no packet); it was refused like anything else that is not loopback
    unexpected = [b for b in blocked if not (b["call"] == "connect" and b["address"][0] in root_server_addresses())]
    assert unexpected == [], f"dnsviz wanted servers it was not given: {unexpected}"

    addresses = ip_strings(json.loads(probe_out.read_text()))
    assert "127.0.0.1" in addresses, "the probe recorded no query to the server"
    assert all(is_loopback(a) for a in addresses), f"dnsviz recorded servers that are not loopback: {addresses}"

    proc = guarded_run("/usr/bin/dnsviz", ["grok", "-t", trusted, "-r", probe_out, "-o", grok_out], blocked_log)
    assert proc.returncode == 0, f"dnsviz grok failed:\n{proc.stdout}{proc.stderr}"
    grok = json.loads(grok_out.read_text())
    expected = {dns.name.from_text(name(n)).to_text() for n in DNSVIZ_NAMES}
    assert expected <= set(grok), f"grok analysed {sorted(grok)}"
    problems = dnsviz_errors(grok)
    assert problems == [], "dnsviz grok reports:\n" + "\n".join(f"{p}: {v}" for p, v in problems)
    assert grok[ZONE]["dnskey"] and all(k.get("status", "") != "" for k in grok[ZONE]["dnskey"])
    assert '"SECURE"' in json.dumps(grok[ZONE]), "the zone's data is not SECURE with the trusted key"
    assert not re.search(r'"status": "(BOGUS|INSECURE|INDETERMINATE)', json.dumps(grok)), \
        json.dumps(grok, indent=1)[:4000]


# --------------------------------------------------------------------------------------------
# 9. The online-signing budget
# --------------------------------------------------------------------------------------------

BUDGET = 5  # signatures per second per worker


def random_label() -> str:
    return "r" + secrets.token_hex(6)


def test_signature_budget_sends_udp_to_tcp_then_servfails_and_static_answers_go_on(start_server, tmp_path):
    text = zone_text_small('generate = true')
    srv = start_server_with_extra_config(
        start_server, f"[dnssec]\nsignatures_per_second = {BUDGET}\ncache_entries = 0\n",
        zone_files={"small.toml": text}, server={"workers": 1})
    keys = dnskeys_of(key_files(srv.workdir / "zones" / "keys", ZONE))

    count = 50
    queries = [make_query(name(random_label()), "A", dnssec=True, payload=1232) for _ in range(count)]
    start = time.monotonic()
    replies = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("127.0.0.1", srv.port))
        for q in queries:
            s.send(q.to_wire())
        s.settimeout(0.2)
        deadline = time.monotonic() + 5.0
        while len(replies) < count and time.monotonic() < deadline:
            try:
                wire = s.recv(65535)
            except socket.timeout:
                continue
            r = dns.message.from_wire(wire)
            replies[r.id] = r
    udp_elapsed = time.monotonic() - start
    assert len(replies) == count, f"{count - len(replies)} of {count} UDP queries got no answer"
    truncated = [r for r in replies.values() if r.flags & dns.flags.TC]
    answered = [r for r in replies.values() if not r.flags & dns.flags.TC]
    for r in truncated:
        assert r.answer == [] and r.authority == [], f"a TC=1 reply over budget should be empty\n{r}"
    for r in answered:
        assert r.rcode() == dns.rcode.NOERROR
        assert_compact_nsec(r, r.question[0].name.to_text(), DENIAL | {NXNAME}, keys)
    allowed = BUDGET + BUDGET * udp_elapsed + 1
    assert len(answered) <= allowed, f"{len(answered)} signed answers in {udp_elapsed:.2f} s, budget allows {allowed:.1f}"
    assert len(truncated) >= count - allowed, f"only {len(truncated)} of {count} truncated"

    # static answers are signed at load: no budget needed, still answered and signed
    r = srv.query(ZONE, "SOA", dnssec=True)
    assert r.rcode() == dns.rcode.NOERROR and not r.flags & dns.flags.TC, r
    assert (ZONE, "SOA") in validate_reply(r, keys)

    servfail = 0
    tcp_count = 10
    for _ in range(tcp_count):
        r = srv.query(name(random_label()), "A", dnssec=True, tcp=True)
        if r.rcode() == dns.rcode.SERVFAIL:
            servfail += 1
        else:
            assert r.rcode() == dns.rcode.NOERROR, r
    total = time.monotonic() - start
    signed_total = len(answered) + tcp_count - servfail
    print(f"budget: {len(answered)} signed and {len(truncated)} TC=1 of {count} over UDP in {udp_elapsed:.3f} s; "
          f"{servfail} SERVFAIL of {tcp_count} over TCP; {total:.3f} s in all")
    assert servfail >= 1, f"no TCP SERVFAIL although the budget was spent ({signed_total} signed in {total:.2f} s)"
    assert signed_total <= BUDGET + BUDGET * total + 1, f"{signed_total} online signatures in {total:.2f} s"

    r = srv.query(name("www"), "A", dnssec=True, tcp=True)
    assert r.rcode() == dns.rcode.NOERROR and (name("www"), "A") in validate_reply(r, keys), r
    assert srv.alive()
    # the budget refills: a second later a new name is signed again
    time.sleep(1.0)
    r = srv.query(name(random_label()), "A", dnssec=True, tcp=True)
    assert r.rcode() == dns.rcode.NOERROR, f"the budget did not refill\n{r}"


def zone_text_small(dnssec: str, www: str = "192.0.2.10") -> str:
    return f"""origin = "{ZONE}"
ttl = 300
records = \"\"\"
@    3600 IN NS  ns1
ns1  3600 IN A   127.0.0.1
www       IN A   {www}
txt       IN TXT "static"
\"\"\"

[dnssec]
{dnssec}

[soa]
primary = "ns1.{ZONE}"
contact = "hostmaster.{ZONE}"
serial = 1
negative_ttl = {NEGATIVE_TTL}

[regions.one]
addresses = ["198.51.100.1"]
[names.app]
ttl = 30
[[names.app.route]]
to = ["one"]
"""


# --------------------------------------------------------------------------------------------
# 10. Reload and restart
# --------------------------------------------------------------------------------------------


def rrsig_window(r, rdtype) -> tuple:
    for section in (r.answer, r.authority):
        for rrset in section:
            if rrset.rdtype == dns.rdatatype.RRSIG and rrset.covers == dns.rdatatype.from_text(rdtype):
                (sig,) = list(rrset)
                return sig.inception, sig.expiration, sig.key_tag
    raise AssertionError(f"no RRSIG covering {rdtype}\n{r}")


def test_reload_keeps_validating_and_restart_keeps_windows(start_server, tmp_path):
    keys_dir = tmp_path / "shared-keys"
    body = f'keys = "{keys_dir}"\ngenerate = true\nvalidity = "14d"\nrefresh = "7d"'
    srv = start_server(zone_files={"small.toml": zone_text_small(body)})
    z = signed_from(srv, "", srv.workdir / "zones" / "small.toml", keys_dir)
    assert_validated(z.delv("www", "A"))
    before = z.query("www", "A")
    assert [rd.address for rd in before.answer[0]] == ["192.0.2.10"]

    z.zone_path.write_text(zone_text_small(body, www="192.0.2.99").replace("serial = 1", "serial = 2"))
    srv.proc.send_signal(signal.SIGHUP)
    got = wait_for(lambda: [rd.address for rrset in z.query("www", "A").answer
                            if rrset.rdtype == dns.rdatatype.A for rd in rrset] == ["192.0.2.99"], timeout=10)
    assert got, f"the changed record was not served within 10 s of SIGHUP\n{srv.describe()}"
    for rel, rdtype, negative in [("www", "A", False), ("@", "SOA", False), ("nope", "A", True),
                                  ("app", "A", False), ("txt", "A", True)]:
        assert_validated(z.delv(rel, rdtype), negative)
    assert delv_records(z.delv("www", "A"), "A") == ["192.0.2.99"]
    assert len(key_files(keys_dir, ZONE)) == 1, "the reload made another key"

    # (name, type asked, type signed): static, steered (online) and denial (online) signatures
    signed = [("@", "SOA", "SOA"), ("www", "A", "A"), ("app", "A", "A"), ("nope", "A", "NSEC")]
    windows = {(rel, t): rrsig_window(z.query(rel, t), covered) for rel, t, covered in signed}
    now = time.time()
    week, fortnight = 7 * 86400, 14 * 86400
    for key, (inception, expiration, _tag) in windows.items():
        assert inception <= now <= expiration, f"{key}: window {inception}..{expiration} misses now {now:.0f}"
        start = expiration - fortnight
        assert start % week == 0, f"{key}: expiration {expiration} is not validity after a multiple of refresh"
        assert start <= now < start + week, f"{key}: the window starting {start} is not the current one"
    srv.stop()

    again = start_server(zone_files={"small.toml": zone_text_small(body, www="192.0.2.99").replace(
        "serial = 1", "serial = 2")})
    z2 = signed_from(again, "", again.workdir / "zones" / "small.toml", keys_dir)
    assert z2.dnskeys.to_text() == z.dnskeys.to_text(), "the restart did not keep the key"
    after = {(rel, t): rrsig_window(z2.query(rel, t), covered) for rel, t, covered in signed}
    assert after == windows, f"signature windows changed across the restart:\nbefore {windows}\nafter  {after}"
    assert_validated(z2.delv("www", "A"))
