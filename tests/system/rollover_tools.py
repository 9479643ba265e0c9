"""Helpers of test_dnssec_rollover.py: keys made with `meridiand keygen` and retimed with BIND's
dnssec-settime, a model of which keys a zone publishes and signs with at a given time (the timing
rules of the zone [dnssec] table), DS trust anchors for delv (the parent's view), dig +dnssec
output read into key tags, and a background client that asks the server all the time and keeps
every reply for the checks after a rollover. Nothing here starts meridiand; every external tool
runs with a timeout."""

from __future__ import annotations

import calendar
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

import dns.dnssec
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from dnssec_tools import delv, run_tool  # noqa: F401  (delv: for the tests, one implementation)
from paths import require_binary

SEP = 0x0001  # DNSKEY flags bit: secure entry point
TIMES = ("publish", "activate", "inactive", "delete")
KEY_RDTYPES = {"DNSKEY", "CDS", "CDNSKEY"}  # signed by the SEP keys only


def stamp(epoch: int) -> str:
    """YYYYMMDDHHMMSS (UTC), the time format of key files, keygen and dnssec-settime."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(int(epoch)))


def parse_stamp(text: str) -> int:
    return calendar.timegm(time.strptime(text, "%Y%m%d%H%M%S"))


# --------------------------------------------------------------------------------------------
# Keys and their timing
# --------------------------------------------------------------------------------------------


@dataclass
class Key:
    """One key pair: base path (K<zone>.+<alg>+<tag>, no extension), DNSKEY and timing (epoch
    seconds, None = unset)."""

    base: Path
    dnskey: dns.rdata.Rdata
    publish: Optional[int] = None
    activate: Optional[int] = None
    inactive: Optional[int] = None
    delete: Optional[int] = None
    label: str = ""

    @property
    def tag(self) -> int:
        return dns.dnssec.key_id(self.dnskey)

    @property
    def algorithm(self) -> int:
        return int(self.dnskey.algorithm)

    @property
    def flags(self) -> int:
        return self.dnskey.flags

    @property
    def sep(self) -> bool:
        return bool(self.flags & SEP)

    @property
    def key_file(self) -> Path:
        return self.base.with_name(self.base.name + ".key")

    def published(self, t: float) -> bool:
        return (self.publish is None or self.publish <= t) and (self.delete is None or t < self.delete)

    def active(self, t: float) -> bool:
        return (self.activate is None or self.activate <= t) and (self.inactive is None or t < self.inactive)

    def times(self) -> dict:
        return {k: getattr(self, k) for k in TIMES}

    def __str__(self) -> str:
        timing = "".join(f", {k}={stamp(v)}" for k, v in self.times().items() if v is not None)
        return f"{self.label or 'key'} {self.tag} (alg {self.algorithm}, flags {self.flags}{timing})"


def read_key(base: Path, label: str = "") -> Key:
    """A Key from its .key file: the DNSKEY record and the '; Publish: ...' comment lines."""
    text = Path(str(base) + ".key").read_text()
    times = {}
    for line in text.splitlines():
        m = re.match(r";\s*(Publish|Activate|Inactive|Delete):\s*(\d{14})", line)
        if m:
            times[m.group(1).lower()] = parse_stamp(m.group(2))
    body = " ".join(line.split(";", 1)[0] for line in text.splitlines()).split()
    i = body.index("DNSKEY")
    rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DNSKEY, " ".join(body[i + 1:]))
    key = Key(Path(base), rdata, label=label, **times)
    m = re.search(r"\+(\d{3})\+(\d{5})$", Path(base).name)
    assert m and int(m.group(1)) == key.algorithm and int(m.group(2)) == key.tag, \
        f"{base}: the file name does not match the key (alg {key.algorithm}, tag {key.tag})"
    return key


def keygen(keys_dir: Path, zone: str, *, label: str = "", algorithm: str = "ecdsap256sha256", zsk: bool = False,
           **times: Optional[int]) -> Key:
    """`meridiand keygen ZONE --keys DIR ...` with times as epoch seconds; the Key it made (its
    timing as the .key file says, which must be what was asked)."""
    argv = [require_binary(), "keygen", zone, "--keys", keys_dir, "--algorithm", algorithm]
    if zsk:
        argv.append("--zsk")
    for name, value in times.items():
        assert name in TIMES, name
        if value is not None:
            argv += [f"--{name}", stamp(value)]
    proc = run_tool(argv)
    assert proc.returncode == 0, f"{' '.join(map(str, argv))} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
    base = Path(keys_dir) / Path(proc.stdout.strip().splitlines()[-1]).name
    key = read_key(base, label)
    for name, value in times.items():
        if value is not None:
            assert getattr(key, name) == value, f"keygen wrote {name}={getattr(key, name)}, asked {value}\n{key}"
    return key


def settime(key: Key, **times: Optional[int]) -> Key:
    """dnssec-settime -P/-A/-I/-D on the key's files (None: unset the time); the Key is re-read."""
    flags = {"publish": "-P", "activate": "-A", "inactive": "-I", "delete": "-D"}
    argv = ["dnssec-settime", "-K", key.base.parent]
    for name, value in times.items():
        argv += [flags[name], "none" if value is None else stamp(value)]
    argv.append(key.base.name)
    proc = run_tool(argv)
    assert proc.returncode == 0, f"{' '.join(map(str, argv))} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
    fresh = read_key(key.base, key.label)
    for name, value in times.items():
        assert getattr(fresh, name) == value, f"dnssec-settime left {name}={getattr(fresh, name)}, asked {value}"
    for name in TIMES:
        setattr(key, name, getattr(fresh, name))
    return key


class Schedule:
    """The keys of one zone and what the timing rules make of them at time t: a key's DNSKEY is
    published from Publish until Delete and it signs from Activate until Inactive; SEP keys sign
    DNSKEY/CDS/CDNSKEY, zone-signing keys everything else, and a SEP key everything else too when
    no zone-signing key of its algorithm is active."""

    def __init__(self, keys: Iterable[Key] = ()):
        self.keys: list = list(keys)

    def add(self, key: Key) -> Key:
        self.keys.append(key)
        return key

    def by_tag(self, tag: int) -> Key:
        return next(k for k in self.keys if k.tag == tag)

    def published(self, t: float) -> set:
        return {k.tag for k in self.keys if k.published(t)}

    def signers(self, t: float, rdtype: str) -> set:
        active = [k for k in self.keys if k.active(t)]
        if rdtype in KEY_RDTYPES:
            return {k.tag for k in active if k.sep}
        out = set()
        for alg in {k.algorithm for k in active}:
            zsks = {k.tag for k in active if k.algorithm == alg and not k.sep}
            out |= zsks or {k.tag for k in active if k.algorithm == alg and k.sep}
        return out

    def cds(self, t: float) -> set:
        """The SEP keys CDS/CDNSKEY (and `meridiand ds`) name: published and not yet inactive."""
        return {k.tag for k in self.keys if k.sep and k.published(t) and (k.inactive is None or t < k.inactive)}

    def events(self) -> list:
        return sorted({v for k in self.keys for v in k.times().values() if v is not None})

    def describe(self) -> str:
        return "\n".join(f"  {k}" for k in self.keys)


# --------------------------------------------------------------------------------------------
# DS records and trust anchors
# --------------------------------------------------------------------------------------------


def normalise_ds(text: str) -> str:
    """'tag alg digesttype HEX' with the digest as one upper-case run."""
    tokens = text.split()
    return " ".join(tokens[:3]) + " " + "".join(tokens[3:]).upper()


def ds_of_output(text: str, rdtype: str = "DS") -> list:
    """The DS (or CDS) rdatas of zone-file style lines, normalised and sorted."""
    out = []
    for line in text.splitlines():
        tokens = line.split(";", 1)[0].split()
        if rdtype in tokens:
            i = tokens.index(rdtype)
            out.append(normalise_ds(" ".join(tokens[i + 1:])))
    return sorted(out)


def meridian_ds(config: Path, zone: str) -> list:
    """`meridiand ds -c CONFIG ZONE`: what the parent should hold, normalised and sorted."""
    proc = run_tool([require_binary(), "ds", "-c", config, zone])
    assert proc.returncode == 0, \
        f"meridiand ds -c {config} {zone} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
    return ds_of_output(proc.stdout)


def dsfromkey(key: Key) -> str:
    """The SHA-256 DS that BIND's dnssec-dsfromkey makes of a key."""
    proc = run_tool(["dnssec-dsfromkey", "-2", key.key_file])
    assert proc.returncode == 0, f"dnssec-dsfromkey {key.key_file} failed:\n{proc.stderr}"
    (ds,) = ds_of_output(proc.stdout)
    return ds


def ds_tag(ds: str) -> int:
    return int(ds.split()[0])


def write_ds_anchor(path: Path, zone: str, ds_records: Iterable[str]) -> Path:
    """A delv trust-anchors file with static-ds entries: the DS set the parent holds."""
    zone = zone if zone.endswith(".") else zone + "."
    lines = []
    for ds in ds_records:
        tag, alg, digest_type, digest = normalise_ds(ds).split()
        lines.append(f'    {zone} static-ds {tag} {alg} {digest_type} "{digest}";')
    assert lines, "a trust anchor needs at least one DS"
    Path(path).write_text("trust-anchors {\n" + "\n".join(lines) + "\n};\n")
    return Path(path)


# --------------------------------------------------------------------------------------------
# delv and dig
# --------------------------------------------------------------------------------------------


@dataclass
class Dig:
    """What `dig +dnssec` printed: the status, the records of answer and authority as
    (section, owner, type, rdata text), and the RRSIGs as (section, owner, covered, alg, tag)."""

    argv: list
    stdout: str
    status: str = ""
    records: list = field(default_factory=list)
    rrsigs: list = field(default_factory=list)

    def rdatas(self, rdtype: str, section: str = "ANSWER") -> list:
        return sorted(r for s, _o, t, r in self.records if s == section and t == rdtype)

    def types(self, section: str) -> set:
        return {t for s, _o, t, _r in self.records if s == section}

    def signers(self, covered: str, section: Optional[str] = None) -> set:
        return {tag for s, _o, c, _a, tag in self.rrsigs if c == covered and (section is None or s == section)}

    def algorithms(self, covered: str) -> set:
        return {alg for _s, _o, c, alg, _t in self.rrsigs if c == covered}

    def dnskey_tags(self, rdtype: str = "DNSKEY") -> set:
        """The key tags of the DNSKEY (or CDNSKEY) records of the answer."""
        tags = set()
        for _s, _owner, t, rdata in self.records:
            if t == rdtype:
                tags.add(dns.dnssec.key_id(dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DNSKEY, rdata)))
        return tags

    def describe(self) -> str:
        return f"$ {' '.join(map(str, self.argv))}\n{self.stdout}"


def dig(port: int, qname: str, rdtype: str) -> Dig:
    """dig +dnssec over UDP (TCP on truncation), without recursion, one try of 2 s."""
    argv = ["dig", "@127.0.0.1", "-p", str(port), "+dnssec", "+norecurse", "+nomultiline", "+noall", "+comments",
            "+answer", "+authority", "+time=2", "+tries=1", qname, rdtype]
    proc = run_tool(argv)
    out = Dig(argv, proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"dig failed ({proc.returncode}):\n{out.describe()}"
    section = None
    for line in proc.stdout.splitlines():
        m = re.search(r"status: ([A-Z]+)", line)
        if m and not out.status:
            out.status = m.group(1)
            continue
        m = re.match(r";; ([A-Z]+) SECTION:", line)
        if m:
            section = m.group(1)
            continue
        if not line.strip() or line.startswith(";") or section not in ("ANSWER", "AUTHORITY"):
            continue
        tokens = line.split()
        owner, rdtype_text, rdata = tokens[0], tokens[3], " ".join(tokens[4:])
        out.records.append((section, owner, rdtype_text, rdata))
        if rdtype_text == "RRSIG":
            out.rrsigs.append((section, owner, tokens[4], int(tokens[5]), int(tokens[10])))
    return out


# --------------------------------------------------------------------------------------------
# A client that asks all the time
# --------------------------------------------------------------------------------------------


@dataclass
class Reply:
    sent: float
    received: float
    qname: str
    rdtype: str
    error: str = ""  # a timeout, SERVFAIL, a missing signature, a signature that does not verify
    signers: dict = field(default_factory=dict)  # covered type -> set of key tags
    dnskeys: Optional[set] = None  # the tags of a DNSKEY answer


class Watcher:
    """Asks (name, type) pairs round-robin over UDP with DO=1 until stopped, a query every
    `interval` seconds, 1 s timeout each, and keeps every Reply. Each signature is verified
    against the DNSKEY of the key it names (from `keys_by_tag`, looked up at check time), so a
    reply is an error if it times out, is SERVFAIL/REFUSED, carries an RRset without RRSIG, or
    an RRSIG that does not verify."""

    def __init__(self, port: int, zone: str, questions: list, keys_by_tag, interval: float = 0.02):
        self.port, self.zone, self.questions = port, dns.name.from_text(zone), questions
        self.keys_by_tag = keys_by_tag
        self.interval = interval
        self.replies: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Watcher":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            qname, rdtype = self.questions[n % len(self.questions)]
            n += 1
            self.replies.append(self.ask(qname, rdtype))
            self._stop.wait(self.interval)

    def ask(self, qname: str, rdtype: str) -> Reply:
        q = dns.message.make_query(qname, rdtype, want_dnssec=True, payload=1232)
        q.flags &= ~dns.flags.RD
        sent = time.time()
        try:
            r = dns.query.udp(q, "127.0.0.1", port=self.port, timeout=1.0)
            if r.flags & dns.flags.TC:
                r = dns.query.tcp(q, "127.0.0.1", port=self.port, timeout=1.0)
        except (dns.exception.Timeout, OSError) as exc:
            return Reply(sent, time.time(), qname, rdtype, error=f"no answer: {exc!r}")
        received = time.time()
        reply = Reply(sent, received, qname, rdtype)
        rcode = r.rcode()
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            reply.error = f"rcode {dns.rcode.to_text(rcode)}"
            return reply
        problems = []
        for section in (r.answer, r.authority):
            for rrset in section:
                if rrset.rdtype == dns.rdatatype.RRSIG:
                    continue
                covered = dns.rdatatype.to_text(rrset.rdtype)
                if rrset.rdtype == dns.rdatatype.NS and rrset.name != self.zone:
                    continue  # a referral's NS is not signed
                sigs = [s for s in section if s.rdtype == dns.rdatatype.RRSIG and s.name == rrset.name
                        and s.covers == rrset.rdtype]
                tags = {sig.key_tag for s in sigs for sig in s}
                reply.signers.setdefault(covered, set()).update(tags)
                if not tags:
                    problems.append(f"{rrset.name} {covered} without RRSIG")
                for s in sigs:
                    for sig in s:
                        problems += self._verify(rrset, sig, received)
                if rrset.rdtype == dns.rdatatype.DNSKEY:
                    reply.dnskeys = {dns.dnssec.key_id(rd) for rd in rrset}
        if not r.answer and not r.authority:
            problems.append("empty reply")
        reply.error = "; ".join(problems)
        return reply

    def _verify(self, rrset, sig, now: float) -> list:
        key = self.keys_by_tag(sig.key_tag, int(sig.algorithm))
        if key is None:
            return [f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}: RRSIG by unknown key {sig.key_tag}"]
        keyset = dns.rrset.RRset(self.zone, dns.rdataclass.IN, dns.rdatatype.DNSKEY)
        keyset.add(key)
        try:
            dns.dnssec.validate_rrsig(rrset, sig, {self.zone: keyset}, now=now)
        except dns.dnssec.ValidationFailure as exc:
            return [f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}: RRSIG by {sig.key_tag} "
                    f"does not verify ({exc})"]
        return []


def states_between(schedule: Schedule, start: float, end: float) -> list:
    """Times standing for every state the schedule goes through in [start, end]: start, end,
    each event in between and the instant before it."""
    points = {start, end}
    for e in schedule.events():
        if start <= e <= end:
            points |= {e, max(start, e - 0.001)}
    return sorted(points)


def judge(replies: list, schedule: Schedule, slack: float) -> list:
    """Every reply that is an error or whose signing keys (per covered type) or DNSKEY set is
    not what the schedule says for some time between its sending minus `slack` (the time the
    server may take to re-sign after a key event) and its receipt: nothing may change early."""
    bad = []
    for rep in replies:
        if rep.error:
            bad.append(f"{stamp(rep.sent)} (+{rep.sent % 1:.3f}) {rep.qname} {rep.rdtype}: {rep.error}")
            continue
        points = states_between(schedule, rep.sent - slack, rep.received)
        for covered, tags in rep.signers.items():
            allowed = [schedule.signers(t, covered) for t in points]
            if tags not in allowed:
                bad.append(f"{stamp(rep.sent)} (+{rep.sent % 1:.3f}) {rep.qname} {rep.rdtype}: {covered} signed by "
                           f"{sorted(tags)}, expected one of {[sorted(a) for a in allowed]}")
        if rep.dnskeys is not None:
            allowed = [schedule.published(t) for t in points]
            if rep.dnskeys not in allowed:
                bad.append(f"{stamp(rep.sent)} (+{rep.sent % 1:.3f}) {rep.qname} DNSKEY set {sorted(rep.dnskeys)}, "
                           f"expected one of {[sorted(a) for a in allowed]}")
    return bad
