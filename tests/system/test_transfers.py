"""Zone transfers out (docs/TRANSFERS.md) with real secondaries: a real NSD and a real Knot, each
started by the test in a temporary directory on loopback ports as a secondary of meridiand with a
TSIG key. NOTIFY from meridiand makes them transfer the zone (its static records and the steered
name's no-location answer); a serial bump and reload reaches both; a secondary with the wrong
secret gets nothing. dig and dnspython check AXFR with and without TSIG, the ACL, AXFR and IXFR
over UDP, and IXFR of the current serial. Every wait is a bounded poll."""

from __future__ import annotations

import base64
import shutil
import signal
import subprocess
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring
import pytest

from meridian_server import start_server_with_extra_config, wait_for, wait_log
from ports import find_free_port

SECRET = base64.b64encode(bytes(range(1, 33))).decode()
WRONG = base64.b64encode(bytes(range(101, 133))).decode()
KEY = "xfr-key"
NSD = shutil.which("nsd") or "/usr/sbin/nsd"
KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
TRANSFER_BOUND = 15.0  # seconds a secondary has to get a zone after being told

pytestmark = pytest.mark.skipif(not (Path(NSD).exists() and Path(KNOTD).exists() and shutil.which("dig")),
                                reason="nsd, knotd and dig are needed (tools/install-deps.sh)")


def zone_text(origin: str, serial: int, transfer: str, extra: str = "") -> str:
    return f"""origin = "{origin}"
ttl = 300
records = \"\"\"
@    IN NS  ns1
ns1  IN A   127.0.0.1
www  IN A   192.0.2.1
txt  IN TXT "static text"
{extra}
\"\"\"
[soa]
primary = "ns1.{origin}"
contact = "hostmaster@{origin}"
serial = {serial}
refresh = 3600
retry = 600
expire = 86400
negative_ttl = 60
{transfer}
[cidrs]
loopback = ["127.0.0.0/8", "::1/128"]

[regions.located]
addresses = ["192.0.2.20"]

[regions.nowhere]
addresses = ["192.0.2.10", "2001:db8::10"]

[names.app]
ttl = 30
[[names.app.route]]
when = {{ cidr = "loopback" }}
to = ["located"]
[[names.app.route]]
to = ["nowhere"]
"""


class Secondary:
    """A real NSD or Knot in `directory`, secondary of 127.0.0.1@primary_port for `zone`."""

    def __init__(self, kind: str, directory: Path, primary_port: int, zone: str, secret: str):
        self.kind = kind
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = find_free_port("127.0.0.1")
        self.zone = zone.rstrip(".")
        self.log = self.dir / f"{kind}.log"
        conf = self.dir / f"{kind}.conf"
        if kind == "nsd":
            conf.write_text(f"""server:
    port: {self.port}
    ip-address: 127.0.0.1
    username: ""
    chroot: ""
    zonesdir: "{self.dir}"
    zonelistfile: "{self.dir}/zone.list"
    xfrdfile: "{self.dir}/xfrd.state"
    xfrdir: "{self.dir}"
    pidfile: "{self.dir}/nsd.pid"
    database: ""
    logfile: "{self.log}"
    verbosity: 2
    server-count: 1
remote-control:
    control-enable: no
key:
    name: "{KEY}"
    algorithm: hmac-sha256
    secret: "{secret}"
zone:
    name: "{self.zone}"
    zonefile: "{self.zone}.zone"
    allow-notify: 127.0.0.1 {KEY}
    request-xfr: 127.0.0.1@{primary_port} {KEY}
""")
            argv = [NSD, "-d", "-c", str(conf)]
        else:
            conf.write_text(f"""server:
    rundir: "{self.dir}"
    listen: 127.0.0.1@{self.port}
    pidfile: "{self.dir}/knot.pid"
log:
  - target: "{self.log}"
    any: info
database:
    storage: "{self.dir}"
key:
  - id: {KEY}
    algorithm: hmac-sha256
    secret: {secret}
remote:
  - id: primary
    address: 127.0.0.1@{primary_port}
    key: {KEY}
acl:
  - id: notify_from_primary
    address: 127.0.0.1
    key: {KEY}
    action: notify
template:
  - id: default
    storage: "{self.dir}"
zone:
  - domain: {self.zone}
    master: primary
    acl: notify_from_primary
    file: "{self.dir}/{self.zone}.zone"
""")
            argv = [KNOTD, "-c", str(conf)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(self.dir / "stderr", "w"),
                                     stdin=subprocess.DEVNULL)

    def query(self, name: str, rdtype: str = "A"):
        try:
            return dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=self.port, timeout=1)
        except Exception:  # noqa: BLE001 - not up yet, or no answer
            return None

    def serial(self):
        r = self.query(self.zone + ".", "SOA")
        if r is None or r.rcode() != dns.rcode.NOERROR or not r.answer:
            return None
        return r.answer[0][0].serial

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def describe(self) -> str:
        text = self.log.read_text() if self.log.exists() else ""
        err = (self.dir / "stderr").read_text() if (self.dir / "stderr").exists() else ""
        return f"{self.kind} log:\n{text[-3000:]}\n{self.kind} stderr:\n{err[-2000:]}"


def addresses(response, rdtype="A"):
    return sorted(rd.to_text() for rrset in response.answer if rrset.rdtype == dns.rdatatype.from_text(rdtype)
                  for rd in rrset)


def dig(*args: str) -> str:
    return subprocess.run(["dig", "+time=3", "+tries=1", *args], capture_output=True, text=True, timeout=20).stdout


@pytest.fixture
def setup(tmp_path, start_server):
    """meridiand with xfr.test (TSIG required, NOTIFY to NSD and Knot) and open.test (no key,
    127.0.0.1 only), plus three secondaries: NSD and Knot with the right secret, NSD with a wrong one."""
    primary_port = find_free_port("127.0.0.1")
    secondaries = {
        "nsd": Secondary("nsd", tmp_path / "nsd", primary_port, "xfr.test.", SECRET),
        "knot": Secondary("knot", tmp_path / "knot", primary_port, "xfr.test.", SECRET),
        "nsd-wrong": Secondary("nsd", tmp_path / "nsd-wrong", primary_port, "xfr.test.", WRONG),
    }
    notify = ", ".join(f'"127.0.0.1:{s.port}"' for s in secondaries.values())
    transfer_keyed = f'[transfer]\nallow = ["127.0.0.1/32"]\nkey = "{KEY}"\nnotify = [{notify}]\n'
    transfer_open = '[transfer]\nallow = ["127.0.0.1/32"]\n'
    zones = {"xfr.test.toml": zone_text("xfr.test.", 1, transfer_keyed),
             "open.test.toml": zone_text("open.test.", 7, transfer_open)}
    extra = f'[keys.{KEY}]\nalgorithm = "hmac-sha256"\nsecret = "{SECRET}"\n'
    listen = {"udp": [f"127.0.0.1:{primary_port}"], "tcp": [f"127.0.0.1:{primary_port}"]}
    try:
        srv = start_server_with_extra_config(start_server, extra, zone_files=zones, listen=listen)
        srv.port = primary_port  # the secondaries were configured with it before meridiand started
        yield srv, secondaries, tmp_path
    finally:
        for s in secondaries.values():
            s.stop()


def wait_serial(secondary: Secondary, serial: int, bound=TRANSFER_BOUND):
    got = wait_for(lambda: secondary.serial() == serial, bound, 0.1)
    assert got, f"{secondary.kind} never had serial {serial}\n{secondary.describe()}"


def test_notify_transfers_to_nsd_and_knot_and_a_serial_bump_propagates(setup):
    srv, secondaries, _ = setup
    start = time.monotonic()
    for name in ("nsd", "knot"):
        wait_serial(secondaries[name], 1)
    took = time.monotonic() - start
    for name in ("nsd", "knot"):
        s = secondaries[name]
        assert addresses(s.query("www.xfr.test.")) == ["192.0.2.1"]
        assert s.query("txt.xfr.test.", "TXT").answer[0][0].to_text() == '"static text"'
        # The steered name: the answer of a client with no location, not meridiand's answer to
        # a loopback client (which the route for 127.0.0.0/8 sends to "located").
        assert addresses(s.query("app.xfr.test.")) == ["192.0.2.10"]
        assert addresses(s.query("app.xfr.test.", "AAAA"), "AAAA") == ["2001:db8::10"]
    assert addresses(srv.query("app.xfr.test.")) == ["192.0.2.20"]
    wait_log(srv, r"notify xfr\.test\. serial 1 to 127\.0\.0\.1:\d+: acknowledged", 5)

    # Serial bump: the zone file changes and the server reloads; NOTIFY brings both up to date.
    zone_file = srv.zones[0] / "xfr.test.toml"
    zone_file.write_text(zone_file.read_text().replace("serial = 1", "serial = 2")
                         .replace('txt  IN TXT "static text"', 'txt  IN TXT "static text"\nnew  IN A   192.0.2.99'))
    srv.proc.send_signal(signal.SIGHUP)
    for name in ("nsd", "knot"):
        wait_serial(secondaries[name], 2)
        assert addresses(secondaries[name].query("new.xfr.test.")) == ["192.0.2.99"]
    wait_log(srv, r"notify xfr\.test\. serial 2 to 127\.0\.0\.1:\d+: acknowledged", 5)
    print(f"NOTIFY to both secondaries holding serial 1: {took:.2f} s")

    # The secondary with the wrong secret got nothing: its requests failed TSIG (BADSIG).
    assert secondaries["nsd-wrong"].serial() is None


def test_dig_axfr_with_and_without_tsig(setup):
    srv, _, _ = setup
    port = str(srv.port)
    signed = dig("@127.0.0.1", "-p", port, "xfr.test", "AXFR", "-y", f"hmac-sha256:{KEY}:{SECRET}")
    lines = [line.split() for line in signed.splitlines() if line and not line.startswith(";")]
    records = [line for line in lines if line[0] != KEY + "."]  # dig prints the TSIG of each message
    assert records[0][3] == "SOA" and records[-1][3] == "SOA", signed
    assert ["app.xfr.test.", "30", "IN", "A", "192.0.2.10"] in records
    assert ["www.xfr.test.", "300", "IN", "A", "192.0.2.1"] in records

    unsigned = dig("@127.0.0.1", "-p", port, "xfr.test", "AXFR")
    assert "Transfer failed" in unsigned and "SOA" not in unsigned.split("Transfer failed")[0].split("\n", 3)[-1]

    wrong = dig("@127.0.0.1", "-p", port, "xfr.test", "AXFR", "-y", f"hmac-sha256:{KEY}:{WRONG}")
    assert "Transfer failed" in wrong or "NOTAUTH" in wrong, wrong

    # The same with dnspython, to see the rcodes and TSIG errors themselves.
    q = dns.message.make_query("xfr.test.", "AXFR")
    assert dns.query.tcp(q, "127.0.0.1", port=srv.port, timeout=5).rcode() == dns.rcode.REFUSED
    bad = dns.message.make_query("xfr.test.", "AXFR")
    bad.use_tsig(dns.tsigkeyring.from_text({KEY: WRONG}), keyname=KEY, algorithm=dns.tsig.HMAC_SHA256)
    with pytest.raises(dns.tsig.PeerBadSignature):
        dns.query.tcp(bad, "127.0.0.1", port=srv.port, timeout=5)
    unknown = dns.message.make_query("xfr.test.", "SOA")
    unknown.use_tsig(dns.tsigkeyring.from_text({"other-key": SECRET}), keyname="other-key",
                     algorithm=dns.tsig.HMAC_SHA256)
    with pytest.raises(dns.tsig.PeerBadKey):
        dns.query.udp(unknown, "127.0.0.1", port=srv.port, timeout=5)
    # A signed ordinary query is answered signed (dnspython verifies the reply's MAC).
    good = dns.message.make_query("www.xfr.test.", "A")
    good.use_tsig(dns.tsigkeyring.from_text({KEY: SECRET}), keyname=KEY, algorithm=dns.tsig.HMAC_SHA256)
    reply = dns.query.udp(good, "127.0.0.1", port=srv.port, timeout=5)
    assert reply.had_tsig and addresses(reply) == ["192.0.2.1"]


def test_acl_udp_and_ixfr(setup):
    srv, _, _ = setup
    port = str(srv.port)
    # No key needed for open.test, but only 127.0.0.1 may transfer it.
    out = dig("@127.0.0.1", "-p", port, "open.test", "AXFR")
    assert "www.open.test." in out and "192.0.2.10" in out, out
    q = dns.message.make_query("open.test.", "AXFR")
    assert dns.query.tcp(q, "127.0.0.1", port=srv.port, source="127.0.0.2", timeout=5).rcode() == dns.rcode.REFUSED
    assert "Transfer failed" in dig("@127.0.0.1", "-p", port, "-b", "127.0.0.2", "open.test", "AXFR")
    # A zone we do not serve.
    q = dns.message.make_query("elsewhere.test.", "AXFR")
    assert dns.query.tcp(q, "127.0.0.1", port=srv.port, timeout=5).rcode() == dns.rcode.NOTAUTH

    # AXFR over UDP is never served: NOTIMP (RFC 5936 §4.2 leaves it undefined).
    q = dns.message.make_query("open.test.", "AXFR")
    assert dns.query.udp(q, "127.0.0.1", port=srv.port, timeout=5).rcode() == dns.rcode.NOTIMP

    def ixfr(serial: int):
        m = dns.message.make_query("open.test.", "IXFR")
        m.authority.append(dns.rrset.from_text("open.test.", 0, "IN", "SOA",
                                               f"ns1.open.test. hostmaster.open.test. {serial} 1 1 1 1"))
        return m

    # IXFR over UDP: our SOA alone, "ask over TCP" (RFC 1995 §2); from a stranger: REFUSED.
    r = dns.query.udp(ixfr(1), "127.0.0.1", port=srv.port, timeout=5)
    assert r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1 and r.answer[0][0].serial == 7
    r = dns.query.udp(ixfr(1), "127.0.0.1", port=srv.port, source="127.0.0.2", timeout=5)
    assert r.rcode() == dns.rcode.REFUSED
    # IXFR over TCP of the current serial: the single SOA (up to date); of an older one: the zone.
    r = dns.query.tcp(ixfr(7), "127.0.0.1", port=srv.port, timeout=5)
    assert r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1 and r.answer[0].rdtype == dns.rdatatype.SOA
    assert len(r.answer[0]) == 1
    out = dig("@127.0.0.1", "-p", port, "open.test", "IXFR=7")
    assert [line for line in out.splitlines() if line and not line.startswith(";")][0].split()[3] == "SOA"
    out = dig("@127.0.0.1", "-p", port, "open.test", "IXFR=3")
    assert "www.open.test." in out, out
