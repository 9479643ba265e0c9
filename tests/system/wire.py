"""DNS on the wire for the system tests: building queries, sending them over UDP and TCP (as
dnspython messages or raw bytes, with TCP framing by hand), and reading replies: records as
text, negative answers, ECS options byte for byte. No server process and no config here."""

from __future__ import annotations

import socket
import struct
import time
from typing import Optional

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from paths import ORIGIN
from ports import family_of

QUERY_TIMEOUT = 2.0  # per network call


def make_query(
    qname,
    rdtype="A",
    rdclass="IN",
    *,
    rd: bool = False,
    edns: Optional[int] = None,
    payload: int = 1232,
    dnssec: bool = False,
    ednsflags: int = 0,
    options=None,
    qid: Optional[int] = None,
) -> dns.message.QueryMessage:
    """A query; EDNS only when `edns` is a version number (or dnssec/options ask for it)."""
    if edns is None and (dnssec or options or ednsflags):
        edns = 0
    q = dns.message.make_query(qname, rdtype, rdclass, use_edns=False, id=qid, flags=dns.flags.RD if rd else 0)
    if edns is not None:
        # set the OPT directly: make_query()'s want_dnssec(False) wipes the version and Z bits
        # (dnspython 2.3 on Python 3.11 computes ~EDNSFlag.DO as 0)
        flags = int(ednsflags) | (int(dns.flags.DO) if dnssec else 0)
        q.use_edns(edns, ednsflags=flags, payload=payload, options=options)
    return q


def udp_exchange(msg: dns.message.Message, port: int, host="127.0.0.1", timeout=QUERY_TIMEOUT, **kw):
    return dns.query.udp(msg, host, timeout=timeout, port=port, **kw)


def tcp_exchange(msg: dns.message.Message, port: int, host="127.0.0.1", timeout=QUERY_TIMEOUT, **kw):
    return dns.query.tcp(msg, host, timeout=timeout, port=port, **kw)


def udp_raw(data: bytes, port: int, host="127.0.0.1", timeout=QUERY_TIMEOUT) -> Optional[bytes]:
    """Send raw bytes over UDP; the first datagram back, or None if none came within timeout."""
    with socket.socket(family_of(host), socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect((host, port))
        s.send(data)
        try:
            return s.recv(65535)
        except (socket.timeout, ConnectionRefusedError):
            return None


def recv_exact(sock: socket.socket, n: int) -> bytes:
    """Exactly n bytes; fewer if the peer closed first."""
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def tcp_connect(port: int, host="127.0.0.1", timeout=QUERY_TIMEOUT) -> socket.socket:
    s = socket.create_connection((host, port), timeout=timeout)
    s.settimeout(timeout)
    return s


def tcp_send_frame(sock: socket.socket, data: bytes) -> None:
    sock.sendall(struct.pack("!H", len(data)) + data)


def tcp_read_frame(sock: socket.socket) -> Optional[bytes]:
    """One length-prefixed message, or None if the connection was closed before it."""
    head = recv_exact(sock, 2)
    if len(head) < 2:
        return None
    (length,) = struct.unpack("!H", head)
    body = recv_exact(sock, length)
    if len(body) < length:
        return None
    return body


def tcp_raw(data: bytes, port: int, host="127.0.0.1", timeout=QUERY_TIMEOUT) -> Optional[bytes]:
    """Send one framed message over a new TCP connection; the framed answer or None."""
    with tcp_connect(port, host, timeout) as s:
        tcp_send_frame(s, data)
        try:
            return tcp_read_frame(s)
        except (socket.timeout, ConnectionResetError):
            return None


def wait_closed(sock: socket.socket, timeout: float) -> Optional[float]:
    """Seconds until the peer closes (EOF or reset); None if it stays open for `timeout`.

    Any data that arrives meanwhile is returned as a failure marker by raising AssertionError."""
    start = time.monotonic()
    sock.settimeout(0.1)
    while time.monotonic() - start < timeout:
        try:
            data = sock.recv(65535)
        except socket.timeout:
            continue
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            return time.monotonic() - start
        if not data:
            return time.monotonic() - start
        raise AssertionError(f"expected the connection to be closed, got data {data!r}")
    return None


# --------------------------------------------------------------------------------------------
# Reading replies
# --------------------------------------------------------------------------------------------


def rrset_texts(section) -> list:
    """['owner TTL CLASS TYPE rdata', ...] in section order, owner names as sent."""
    out = []
    for rrset in section:
        for rd in rrset:
            out.append(
                f"{rrset.name.to_text()} {rrset.ttl} {dns.rdataclass.to_text(rrset.rdclass)} "
                f"{dns.rdatatype.to_text(rrset.rdtype)} {rd.to_text()}"
            )
    return out


def find_rrset(section, name, rdtype):
    name = dns.name.from_text(name) if isinstance(name, str) else name
    rdtype = dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype
    for rrset in section:
        if rrset.name == name and rrset.rdtype == rdtype:
            return rrset
    return None


def answer_addresses(reply: dns.message.Message, rdtype="A") -> list:
    """The addresses of the answer section's A (or AAAA) records, in order."""
    rdtype = dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype
    return [rd.address for rrset in reply.answer if rrset.rdtype == rdtype for rd in rrset]


def assert_negative(r, rcode, origin=ORIGIN, ttl=60, aa=True):
    """NXDOMAIN/NODATA: empty answer, exactly the zone's SOA in authority with the negative TTL."""
    assert r.rcode() == rcode, f"rcode {dns.rcode.to_text(r.rcode())}\n{r}"
    assert bool(r.flags & dns.flags.AA) == aa, f"AA flag\n{r}"
    assert r.answer == [], f"answer should be empty\n{r}"
    assert len(r.authority) == 1, f"authority should hold just the SOA\n{r}"
    soa = r.authority[0]
    assert soa.rdtype == dns.rdatatype.SOA
    assert soa.name == dns.name.from_text(origin)
    assert len(soa) == 1
    assert soa.ttl == ttl, f"negative TTL {soa.ttl} != {ttl}"


# --------------------------------------------------------------------------------------------
# ECS options (RFC 7871), in queries and in replies
# --------------------------------------------------------------------------------------------


def ecs(subnet: str) -> dns.edns.ECSOption:
    """An ECS option for "address/len" (scope 0), as a resolver sends it."""
    address, _, length = subnet.partition("/")
    return dns.edns.ECSOption(address, int(length) if length else None)


def raw_ecs(family: int, source: int, scope: int, address: bytes) -> dns.edns.GenericOption:
    """An ECS option built byte by byte (for malformed ones): family, source, scope, address."""
    return dns.edns.GenericOption(dns.edns.ECS, struct.pack("!HBB", family, source, scope) + address)


def reply_ecs(reply: dns.message.Message) -> list:
    """[(family, source, scope, address bytes)] for every ECS option of a reply, as sent."""
    out = []
    for opt in reply.options:
        if opt.otype != dns.edns.ECS:
            continue
        data = opt.to_wire()
        family, source, scope = struct.unpack("!HBB", data[:4])
        out.append((family, source, scope, data[4:]))
    return out


def _skip_wire_name(wire: bytes, pos: int) -> int:
    while True:
        length = wire[pos]
        if length & 0xC0 == 0xC0:
            return pos + 2
        pos += 1 + length
        if length == 0:
            return pos


def wire_ecs(wire: bytes) -> list:
    """[(family, source, scope, address bytes)] for every ECS option in a raw DNS message's OPT
    record, byte for byte as sent (dnspython's ECSOption would re-mask the address)."""
    qd, an, ns, ar = struct.unpack("!HHHH", wire[4:12])
    pos = 12
    for _ in range(qd):
        pos = _skip_wire_name(wire, pos) + 4
    out = []
    for _ in range(an + ns + ar):
        pos = _skip_wire_name(wire, pos)
        rtype, _cls, _ttl, rdlength = struct.unpack("!HHIH", wire[pos : pos + 10])
        pos += 10
        if rtype == dns.rdatatype.OPT:
            p, end = pos, pos + rdlength
            while p + 4 <= end:
                code, length = struct.unpack("!HH", wire[p : p + 4])
                data = wire[p + 4 : p + 4 + length]
                if code == dns.edns.ECS:
                    family, source, scope = struct.unpack("!HBB", data[:4])
                    out.append((family, source, scope, data[4:]))
                p += 4 + length
        pos += rdlength
    return out
