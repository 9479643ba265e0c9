"""Malformed and unusual messages, built byte by byte: FORMERR, silence, NOTIMP."""

import random
import socket
import struct
import time

import dns.message
import dns.opcode
import dns.rcode
import pytest

from wire import tcp_connect, tcp_read_frame, tcp_send_frame

QID = 0x1234
RCODE_FORMERR = 1
RCODE_NOTIMP = 4


def header(qid=QID, flags=0, qd=1, an=0, ns=0, ar=0) -> bytes:
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def encode_name(text: str) -> bytes:
    out = b""
    for label in text.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def question(qname="www.geo.example.com.", qtype=1, qclass=1) -> bytes:
    return encode_name(qname) + struct.pack("!HH", qtype, qclass)


def opt_rr(payload=1232, ext_rcode=0, version=0, flags=0, rdata=b"", owner=b"\x00") -> bytes:
    ttl = (ext_rcode << 24) | (version << 16) | flags
    return owner + struct.pack("!HHIH", 41, payload, ttl, len(rdata)) + rdata


def parse_header(wire: bytes):
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", wire[:12])
    return {
        "id": qid,
        "qr": bool(flags & 0x8000),
        "opcode": (flags >> 11) & 0xF,
        "aa": bool(flags & 0x0400),
        "rcode": flags & 0xF,
        "counts": (qd, an, ns, ar),
    }


# The header flag bits after QR and the opcode, as laid out in RFC 6895 §2.
FLAG_BITS = {"aa": 0x0400, "tc": 0x0200, "rd": 0x0100, "ra": 0x0080, "z": 0x0040, "ad": 0x0020, "cd": 0x0010}


def flags_set(wire: bytes) -> set:
    """The names of the FLAG_BITS set in a message's header."""
    (flags,) = struct.unpack("!H", wire[2:4])
    return {name for name, bit in FLAG_BITS.items() if flags & bit}


LONG_NAME = b"".join(b"\x3f" + b"a" * 63 for _ in range(5)) + b"\x00"  # 321 bytes on the wire

MALFORMED = {
    "qdcount-0": header(qd=0),
    "qdcount-2": header(qd=2) + question() + question("mail.geo.example.com.", 15),
    "qdcount-1-but-no-question": header(qd=1),
    "truncated-name": header() + b"\x03www\x03ge",
    "name-without-qtype-qclass": header() + encode_name("www.geo.example.com."),
    "qtype-without-qclass": header() + encode_name("www.geo.example.com.") + b"\x00\x01",
    "label-type-0x40": header() + b"\x43www" + encode_name("geo.example.com.") + b"\x00\x01\x00\x01",
    "label-type-0x80": header() + b"\x83www" + encode_name("geo.example.com.") + b"\x00\x01\x00\x01",
    "name-longer-than-255": header() + LONG_NAME + b"\x00\x01\x00\x01",
    "pointer-to-itself": header() + b"\xc0\x0c" + b"\x00\x01\x00\x01",
    # offset 12 points to 14, offset 14 points back to 12 (qtype/qclass then read as c00c/0001)
    "pointer-loop-two-steps": header() + b"\xc0\x0e" + b"\xc0\x0c" + b"\x00\x01",
    "pointer-forward-out-of-packet": header() + b"\xc0\xff" + b"\x00\x01\x00\x01",
    "two-opt-records": header(ar=2) + question() + opt_rr() + opt_rr(),
    "opt-with-non-root-owner": header(ar=1) + question() + opt_rr(owner=encode_name("foo.")),
    "opt-rdata-shorter-than-rdlength": header(ar=1)
    + question()
    + b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 10) + b"\x00\x03\x00\x00",
    "opt-option-longer-than-rdata": header(ar=1) + question() + opt_rr(rdata=struct.pack("!HH", 3, 8) + b"ab"),
    "opt-option-header-cut": header(ar=1) + question() + opt_rr(rdata=b"\x00\x03\x00"),
    "arcount-beyond-packet": header(ar=1) + question(),
}


def assert_formerr(wire, sent: bytes):
    assert wire is not None, "no answer to a malformed query (expected FORMERR)"
    assert len(wire) >= 12
    h = parse_header(wire)
    assert h["id"] == QID
    assert h["qr"]
    assert h["opcode"] == 0
    assert h["rcode"] == RCODE_FORMERR, f"rcode {h['rcode']} != FORMERR"


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_malformed_query_over_udp_gets_formerr_and_server_keeps_answering(server, case):
    data = MALFORMED[case]
    assert_formerr(server.udp_raw(data), data)
    server.assert_answers_normally()


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_malformed_query_over_tcp_gets_formerr_and_server_keeps_answering(server, case):
    data = MALFORMED[case]
    assert_formerr(server.tcp_raw(data), data)
    server.assert_answers_normally()


def test_formerr_response_is_parseable_by_a_real_decoder(server):
    wire = server.udp_raw(MALFORMED["qdcount-2"])
    r = dns.message.from_wire(wire)
    assert r.rcode() == dns.rcode.FORMERR
    assert r.answer == [] and r.authority == []


# --------------------------------------------------------------------------------------------
# No answer at all
# --------------------------------------------------------------------------------------------

SILENT = {
    "empty-datagram": b"",
    "one-byte": b"\x12",
    "eleven-bytes": header()[:11],
    "qr-bit-set": header(flags=0x8000) + question(),
    "qr-bit-set-formerr-shape": header(flags=0x8001, qd=0),
}


@pytest.mark.parametrize("case", list(SILENT), ids=list(SILENT))
def test_short_packets_and_responses_get_no_answer(server, case):
    assert server.udp_raw(SILENT[case], timeout=0.5) is None
    server.assert_answers_normally()


def test_response_packet_over_tcp_gets_no_answer(server):
    with tcp_connect(server.port) as s:
        tcp_send_frame(s, header(flags=0x8000) + question())
        s.settimeout(0.5)
        try:
            got = tcp_read_frame(s)
        except (socket.timeout, ConnectionResetError):
            got = None
        assert got is None
    server.assert_answers_normally()


def test_random_garbage_does_not_crash_the_server(server):
    rng = random.Random(20261127)
    base = header(flags=0x0100) + question()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(400):
            if i % 2:
                data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 120)))
            else:  # mutate a valid query
                data = bytearray(base)
                for _ in range(rng.randrange(1, 6)):
                    data[rng.randrange(2, len(data))] = rng.randrange(256)
                data = bytes(data[: rng.randrange(12, len(data) + 1)])
            s.sendto(data, ("127.0.0.1", server.port))
    time.sleep(0.2)
    server.assert_answers_normally()


# --------------------------------------------------------------------------------------------
# Opcodes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("opcode", [1, 2, 3, 5, 6, 15])
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_opcode_other_than_query_gets_notimp_with_the_same_opcode(server, opcode, transport):
    data = header(flags=opcode << 11) + question()
    wire = server.udp_raw(data) if transport == "udp" else server.tcp_raw(data)
    assert wire is not None, "no answer"
    h = parse_header(wire)
    assert h["id"] == QID
    assert h["qr"]
    assert h["opcode"] == opcode
    assert h["rcode"] == RCODE_NOTIMP, f"rcode {h['rcode']} != NOTIMP"
    assert h["counts"][1] == 0, "NOTIMP must not carry answers"
    server.assert_answers_normally()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_unknown_opcode_with_every_flag_set_gets_notimp_without_the_flags(server, transport):
    """Opcode 15 with every flag but QR set (QR set would be dropped as a response): NOTIMP, QR
    set, ID and opcode echoed, and not one flag copied. Past an unknown opcode the header's
    bits mean nothing, so RD and CD are not echoed as for a QUERY; BIND answers the same."""
    data = header(flags=(15 << 11) | sum(FLAG_BITS.values())) + question()
    wire = server.udp_raw(data) if transport == "udp" else server.tcp_raw(data)
    assert wire is not None, "no answer"
    h = parse_header(wire)
    assert h["id"] == QID
    assert h["qr"]
    assert h["opcode"] == 15
    assert h["rcode"] == RCODE_NOTIMP, f"rcode {h['rcode']} != NOTIMP"
    assert flags_set(wire) & {"aa", "tc", "ra", "z", "ad"} == set()
    assert flags_set(wire) & {"rd", "cd"} == set(), "RD and CD must not be copied into a NOTIMP reply"
    server.assert_answers_normally()
