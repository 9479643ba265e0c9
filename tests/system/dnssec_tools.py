"""DNSSEC helpers for the system tests: BIND key files read as DNSKEY records, trust anchors made
from them, delv / kdig / dnssec-dsfromkey runs, RRSIG validation of a reply with dnspython, and
dnsviz run behind a guard that lets it talk to loopback addresses only. Nothing here starts a
server; every external tool runs with a timeout."""

from __future__ import annotations

import base64
import ipaddress
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

TOOL_TIMEOUT = 30.0  # seconds any one external tool run may take
ALGORITHM_NUMBERS = {"ecdsap256sha256": 13, "ed25519": 15}
SEP = 0x0001  # DNSKEY flags bit: secure entry point


def as_name(name) -> dns.name.Name:
    return name if isinstance(name, dns.name.Name) else dns.name.from_text(name)


def run_tool(argv: list, timeout: float = TOOL_TIMEOUT, **kw) -> subprocess.CompletedProcess:
    """Run an external program, capture its text output, never read stdin."""
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)


# --------------------------------------------------------------------------------------------
# Key files
# --------------------------------------------------------------------------------------------


def key_files(directory: Path, zone: str) -> list:
    """The public key files K<zone>.+<alg>+<tag>.key of `zone` in `directory`, sorted."""
    stem = zone.rstrip(".")
    return sorted(Path(directory).glob(f"K{stem}.+*.key"))


def read_key_file(path: Path) -> dns.rrset.RRset:
    """The DNSKEY record of a BIND (or ldns) .key file: comments after ';' are ignored, the
    record may span lines."""
    text = " ".join(line.split(";", 1)[0] for line in Path(path).read_text().splitlines())
    tokens = text.split()
    if "DNSKEY" not in tokens:
        raise AssertionError(f"no DNSKEY record in {path}:\n{Path(path).read_text()}")
    i = tokens.index("DNSKEY")
    owner = as_name(tokens[0])
    rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DNSKEY, " ".join(tokens[i + 1:]))
    rrset = dns.rrset.RRset(owner, dns.rdataclass.IN, dns.rdatatype.DNSKEY)
    rrset.add(rdata)
    return rrset


def dnskeys_of(paths: Iterable[Path]) -> dns.rrset.RRset:
    """One DNSKEY RRset made of every key file given."""
    out = None
    for path in paths:
        rrset = read_key_file(path)
        if out is None:
            out = dns.rrset.RRset(rrset.name, dns.rdataclass.IN, dns.rdatatype.DNSKEY)
        for rd in rrset:
            out.add(rd)
    if out is None:
        raise AssertionError("no key files")
    return out


def write_trust_anchor(path: Path, dnskeys: dns.rrset.RRset) -> Path:
    """A delv trust-anchors file trusting the SEP keys of `dnskeys` (all keys if none is SEP)."""
    keys = [rd for rd in dnskeys if rd.flags & SEP] or list(dnskeys)
    zone = dnskeys.name.to_text()
    lines = []
    for rd in keys:
        b64 = base64.b64encode(rd.key).decode()
        lines.append(f'    {zone} static-key {rd.flags} {rd.protocol} {int(rd.algorithm)} "{b64}";')
    Path(path).write_text("trust-anchors {\n" + "\n".join(lines) + "\n};\n")
    return Path(path)


def write_dnsviz_trusted_keys(path: Path, dnskeys: dns.rrset.RRset) -> Path:
    """A dnsviz grok -t file: the trusted DNSKEY records in master-file format."""
    keys = [rd for rd in dnskeys if rd.flags & SEP] or list(dnskeys)
    Path(path).write_text("".join(f"{dnskeys.name.to_text()} IN DNSKEY {rd.to_text()}\n" for rd in keys))
    return Path(path)


def dsfromkey(key_file: Path, digest: int = 2) -> list:
    """DS rdata texts ('tag alg digesttype HEX') that BIND's dnssec-dsfromkey makes of a .key file."""
    proc = run_tool(["dnssec-dsfromkey", f"-{digest}", key_file])
    assert proc.returncode == 0, f"dnssec-dsfromkey {key_file} failed:\n{proc.stderr}"
    out = []
    for line in proc.stdout.splitlines():
        tokens = line.split()
        if "DS" in tokens:
            i = tokens.index("DS")
            out.append(normalise_ds(" ".join(tokens[i + 1:])))
    return sorted(out)


def normalise_ds(text: str) -> str:
    """'tag alg type HEX' with the digest as one upper-case run, for comparisons."""
    tokens = text.split()
    return " ".join(tokens[:3]) + " " + "".join(tokens[3:]).upper()


def ds_texts_of(rdatas) -> list:
    """DS or CDS rdatas as normalised texts."""
    return sorted(normalise_ds(f"{rd.key_tag} {int(rd.algorithm)} {rd.digest_type} {rd.digest.hex()}")
                  for rd in rdatas)


# --------------------------------------------------------------------------------------------
# delv and kdig
# --------------------------------------------------------------------------------------------


@dataclass
class DelvResult:
    status: str  # the first "; ..." line of stdout: "fully validated", "negative response, fully validated", ...
    stdout: str
    stderr: str
    returncode: int
    argv: list

    def describe(self) -> str:
        return f"$ {' '.join(map(str, self.argv))}\n(exit {self.returncode})\n{self.stdout}{self.stderr}"


def delv(port: int, anchor: Path, zone: str, qname: str, rdtype: str = "A", *, host: str = "127.0.0.1",
         source: Optional[str] = None, extra: Iterable[str] = ()) -> DelvResult:
    """delv @host -p port -a anchor +root=zone qname rdtype [-b source]: its validation status."""
    argv = ["delv", f"@{host}", "-p", str(port), "-a", str(anchor), f"+root={zone.rstrip('.')}"]
    if source:
        argv += ["-b", source]
    argv += [*extra, qname, rdtype]
    proc = run_tool(argv)
    status = ""
    for line in proc.stdout.splitlines():
        if line.startswith("; ") and not line.startswith(";; "):
            status = line[2:].strip()
            break
    return DelvResult(status, proc.stdout, proc.stderr, proc.returncode, argv)


def kdig(port: int, *args, host: str = "127.0.0.1") -> subprocess.CompletedProcess:
    proc = run_tool(["kdig", f"@{host}", "-p", str(port), "+time=3", "+retry=1", *args])
    assert proc.returncode == 0, f"kdig {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
    return proc


def kdig_header(output: str) -> dict:
    """What kdig's text output says of the first reply: flags, edns_flags, counts, status."""
    out = {"flags": set(), "edns_flags": None, "status": None, "counts": {}, "udp_size": None}
    for line in output.splitlines():
        line = line.strip()
        if line.startswith(";; ->>HEADER<<-") and out["status"] is None:
            for part in line.split(";"):
                if "status:" in part:
                    out["status"] = part.split("status:")[1].strip()
        elif line.startswith(";; Flags:") and not out["flags"]:
            head, _, counts = line[3:].partition(";")
            out["flags"] = set(head.split(":", 1)[1].split())
            for part in counts.split(";"):
                if ":" in part:
                    k, v = part.split(":")
                    out["counts"][k.strip()] = int(v)
        elif line.startswith(";; Version:") and out["edns_flags"] is None:
            for part in line[2:].split(";"):
                part = part.strip()
                if part.startswith("flags:"):
                    out["edns_flags"] = set(part[len("flags:"):].split())
                elif part.startswith("UDP size:"):
                    out["udp_size"] = int(part[len("UDP size:"):].split()[0])
    return out


# --------------------------------------------------------------------------------------------
# Validating replies with dnspython
# --------------------------------------------------------------------------------------------


def signatures_for(section, rrset):
    """The RRSIG rrset of `section` covering `rrset` (same owner and type), or None."""
    for s in section:
        if s.rdtype == dns.rdatatype.RRSIG and s.name == rrset.name and s.covers == rrset.rdtype:
            return s
    return None


def validate_rrset(rrset, sigs, dnskeys: dns.rrset.RRset, now: Optional[float] = None) -> None:
    """dns.dnssec.validate with the zone's DNSKEY set; raises AssertionError saying what failed."""
    if sigs is None:
        raise AssertionError(f"no RRSIG covers {rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}")
    try:
        dns.dnssec.validate(rrset, sigs, {dnskeys.name: dnskeys}, now=now)
    except dns.dnssec.ValidationFailure as exc:
        raise AssertionError(f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)} does not validate ({exc}):\n"
                             f"{rrset}\n{sigs}") from None


def validate_section(section, dnskeys: dns.rrset.RRset, unsigned: Iterable = ()) -> list:
    """Validate every RRset of a reply section (except RRSIG/OPT and the (name, type) pairs in
    `unsigned`, which must carry no RRSIG); returns the validated [(name text, type text)]."""
    unsigned = {(as_name(n), dns.rdatatype.from_text(t) if isinstance(t, str) else t) for n, t in unsigned}
    done = []
    for rrset in section:
        if rrset.rdtype in (dns.rdatatype.RRSIG, dns.rdatatype.OPT):
            continue
        sigs = signatures_for(section, rrset)
        if (rrset.name, rrset.rdtype) in unsigned:
            assert sigs is None, f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)} must be unsigned:\n{sigs}"
            continue
        validate_rrset(rrset, sigs, dnskeys)
        assert sigs.ttl == rrset.ttl, (f"RRSIG TTL {sigs.ttl} differs from the TTL {rrset.ttl} of the RRset it "
                                       f"covers (RFC 4034 3):\n{rrset}\n{sigs}")
        done.append((rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype)))
    for s in section:  # no stray signature either
        if s.rdtype == dns.rdatatype.RRSIG:
            assert any(r.name == s.name and r.rdtype == s.covers for r in section), f"RRSIG without its RRset:\n{s}"
    return done


def validate_reply(reply, dnskeys: dns.rrset.RRset, unsigned: Iterable = ()) -> list:
    """validate_section over answer, authority and additional (the OPT aside)."""
    done = []
    for section in (reply.answer, reply.authority, reply.additional):
        done += validate_section(section, dnskeys, unsigned)
    return done


def nsec_types(nsec_rdata) -> set:
    """The type numbers of an NSEC record's bitmap."""
    types = set()
    for window, bitmap in nsec_rdata.windows:
        for i, byte in enumerate(bitmap):
            for bit in range(8):
                if byte & (0x80 >> bit):
                    types.add(window * 256 + i * 8 + bit)
    return types


# --------------------------------------------------------------------------------------------
# dnsviz, loopback only
# --------------------------------------------------------------------------------------------

# Runs a program's __main__ with socket.connect/connect_ex/sendto refusing every destination that
# is not a loopback address: such an attempt raises ENETUNREACH (nothing is sent) and is logged
# as a JSON line to the file named by the first argument. It also gives pygraphviz the `release`
# module that dnsviz 0.9.4's grok -t checks for (pygraphviz 1.7 dropped it; Debian 12 has both).
_LOOPBACK_GUARD = r"""
import errno, ipaddress, json, os, runpy, socket, sys
log_path, program = sys.argv[1], sys.argv[2]
sys.argv = sys.argv[2:]
def _allowed(address):
    if not isinstance(address, tuple):
        return True  # AF_UNIX and the like
    try:
        return ipaddress.ip_address(address[0].split('%')[0]).is_loopback
    except ValueError:
        return False
def _refuse(kind, address):
    with open(log_path, 'a') as f:
        f.write(json.dumps({'pid': os.getpid(), 'call': kind, 'address': list(map(str, address))}) + '\n')
    raise OSError(errno.ENETUNREACH, 'blocked by the test: not a loopback address')
_connect, _connect_ex, _sendto = socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto
def connect(self, address):
    if not _allowed(address):
        _refuse('connect', address)
    return _connect(self, address)
def connect_ex(self, address):
    if not _allowed(address):
        _refuse('connect_ex', address)
    return _connect_ex(self, address)
def sendto(self, data, *args):
    address = args[-1]
    if not _allowed(address):
        _refuse('sendto', address)
    return _sendto(self, data, *args)
socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto = connect, connect_ex, sendto
try:  # dnsviz 0.9.4's grok looks for pygraphviz.release, which pygraphviz 1.7 no longer has
    import pygraphviz, types
    if not hasattr(pygraphviz, 'release'):
        pygraphviz.release = sys.modules['pygraphviz.release'] = types.SimpleNamespace(version=pygraphviz.__version__)
except ImportError:
    pass
runpy.run_path(program, run_name='__main__')
"""


def guarded_run(program: str, args: list, blocked_log: Path, timeout: float = 90.0) -> subprocess.CompletedProcess:
    """Run a Python program (e.g. /usr/bin/dnsviz) with the loopback guard; attempts to reach
    other addresses are refused and logged in blocked_log."""
    return run_tool([sys.executable, "-c", _LOOPBACK_GUARD, blocked_log, program, *args], timeout=timeout)


def blocked_attempts(blocked_log: Path) -> list:
    if not Path(blocked_log).exists():
        return []
    return [json.loads(line) for line in Path(blocked_log).read_text().splitlines() if line.strip()]


def dnsviz_errors(grok: dict) -> list:
    """Every 'errors' entry (and every status other than a good one) anywhere in dnsviz grok's
    JSON output, as (path, value) pairs."""
    found = []
    good = {"NOERROR", "SECURE", "VALID", "INDETERMINATE_NO_DNSKEY"}

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "errors" and v:
                    found.append((path + "/errors", v))
                elif k == "status" and isinstance(v, str) and v.upper() not in good:
                    found.append((path + "/status", v))
                else:
                    walk(v, f"{path}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")

    walk(grok, "")
    return found


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False

