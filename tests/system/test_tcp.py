"""DNS over TCP (RFC 7766): framing, pipelining, partial writes, idle timeout, connection limit,
and IPv6 on ::1."""

import socket
import struct
import time

import dns.message
import dns.rcode
import pytest

from paths import ORIGIN
from wire import make_query, recv_exact, rrset_texts, tcp_connect, tcp_read_frame, tcp_send_frame, wait_closed

QUERIES = [
    (f"www.{ORIGIN}", "A", [f"www.{ORIGIN} 300 IN A 192.0.2.10"]),
    (f"www.{ORIGIN}", "AAAA", [f"www.{ORIGIN} 300 IN AAAA 2001:db8::10"]),
    (f"mx1.{ORIGIN}", "A", [f"mx1.{ORIGIN} 300 IN A 192.0.2.25"]),
    (f"ns1.{ORIGIN}", "A", [f"ns1.{ORIGIN} 3600 IN A 192.0.2.53"]),
    (f"sip.{ORIGIN}", "A", [f"sip.{ORIGIN} 300 IN A 192.0.2.60"]),
    (f"txtonly.{ORIGIN}", "TXT", [f'txtonly.{ORIGIN} 300 IN TXT "this name has only a TXT record"']),
]


def check_answer(wire: bytes, qid: int, expected):
    r = dns.message.from_wire(wire)
    assert r.id == qid
    assert r.rcode() == dns.rcode.NOERROR
    assert rrset_texts(r.answer) == expected


def test_tcp_response_is_framed_with_its_exact_length(server):
    q = make_query(f"www.{ORIGIN}", "A", qid=4242)
    with tcp_connect(server.port) as s:
        tcp_send_frame(s, q.to_wire())
        (length,) = struct.unpack("!H", recv_exact(s, 2))
        body = recv_exact(s, length)
        assert len(body) == length
        check_answer(body, 4242, QUERIES[0][2])
        # nothing beyond the announced length
        s.settimeout(0.2)
        with pytest.raises(socket.timeout):
            s.recv(1)


def test_pipelined_queries_on_one_connection_are_all_answered(server):
    batch = b""
    expected = {}
    for i, (qname, rdtype, answer) in enumerate(QUERIES * 2):
        qid = 1000 + i
        q = make_query(qname, rdtype, qid=qid)
        wire = q.to_wire()
        batch += struct.pack("!H", len(wire)) + wire
        expected[qid] = answer
    with tcp_connect(server.port) as s:
        s.sendall(batch)  # all queries in one write
        seen = {}
        for _ in expected:
            wire = tcp_read_frame(s)
            assert wire is not None, f"connection closed after {len(seen)} answers"
            r = dns.message.from_wire(wire)
            assert r.id in expected and r.id not in seen
            seen[r.id] = rrset_texts(r.answer)
    assert seen == expected


def test_query_split_across_several_writes_is_answered(server):
    q = make_query(f"mx1.{ORIGIN}", "A", qid=777)
    wire = q.to_wire()
    framed = struct.pack("!H", len(wire)) + wire
    with tcp_connect(server.port) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for chunk in (framed[:1], framed[1:2], framed[2:9], framed[9:20], framed[20:]):
            s.sendall(chunk)
            time.sleep(0.05)
        answer = tcp_read_frame(s)
    assert answer is not None
    check_answer(answer, 777, [f"mx1.{ORIGIN} 300 IN A 192.0.2.25"])


def test_connection_stays_open_for_sequential_queries(server):
    with tcp_connect(server.port) as s:
        for i, (qname, rdtype, expected) in enumerate(QUERIES[:3]):
            q = make_query(qname, rdtype, qid=2000 + i)
            tcp_send_frame(s, q.to_wire())
            wire = tcp_read_frame(s)
            assert wire is not None, f"connection closed before answer {i}"
            check_answer(wire, 2000 + i, expected)
            time.sleep(0.1)


def test_connection_dropped_mid_message_does_not_disturb_the_server(server):
    q = make_query(f"www.{ORIGIN}", "A").to_wire()
    with tcp_connect(server.port) as s:
        s.sendall(struct.pack("!H", len(q)) + q[:7])
    with tcp_connect(server.port) as s:
        s.sendall(b"\x00")
    server.assert_answers_normally()
    r = server.query_tcp(f"www.{ORIGIN}", "A")
    assert rrset_texts(r.answer) == QUERIES[0][2]


def test_many_simultaneous_connections_are_served(server):
    socks = [tcp_connect(server.port) for _ in range(20)]
    try:
        for i, s in enumerate(socks):
            tcp_send_frame(s, make_query(f"www.{ORIGIN}", "A", qid=3000 + i).to_wire())
        for i, s in enumerate(socks):
            wire = tcp_read_frame(s)
            assert wire is not None
            check_answer(wire, 3000 + i, QUERIES[0][2])
    finally:
        for s in socks:
            s.close()


def test_idle_connection_is_closed_after_the_idle_timeout(start_server):
    srv = start_server(server={"tcp_idle_timeout_ms": 1000})
    with tcp_connect(srv.port) as s:
        closed_after = wait_closed(s, timeout=6)
    assert closed_after is not None, "idle connection still open after 6 s (timeout is 1000 ms)"
    assert 0.5 <= closed_after <= 5.0, f"closed after {closed_after:.2f} s"


def test_idle_timeout_restarts_after_a_query(start_server):
    srv = start_server(server={"tcp_idle_timeout_ms": 1000})
    with tcp_connect(srv.port) as s:
        time.sleep(0.6)
        tcp_send_frame(s, make_query(f"www.{ORIGIN}", "A", qid=5).to_wire())
        wire = tcp_read_frame(s)
        assert wire is not None, "connection closed before the idle timeout"
        check_answer(wire, 5, QUERIES[0][2])
        start = time.monotonic()
        closed_after = wait_closed(s, timeout=6)
    assert closed_after is not None
    assert 0.5 <= closed_after <= 5.0, f"closed {closed_after:.2f} s after the answer"
    assert time.monotonic() - start >= 0.5


def test_connection_beyond_the_per_worker_limit_is_closed_without_answer(start_server):
    srv = start_server(server={"workers": 1, "tcp_max_connections_per_worker": 2})
    time.sleep(0.3)  # let the server notice that the readiness probe's connection is gone
    first, second = tcp_connect(srv.port), tcp_connect(srv.port)
    try:
        for i, s in enumerate((first, second)):
            tcp_send_frame(s, make_query(f"www.{ORIGIN}", "A", qid=10 + i).to_wire())
            wire = tcp_read_frame(s)
            assert wire is not None, f"connection {i + 1} of 2 was not served"
            check_answer(wire, 10 + i, QUERIES[0][2])

        third = tcp_connect(srv.port)
        try:
            try:
                tcp_send_frame(third, make_query(f"www.{ORIGIN}", "A", qid=12).to_wire())
            except (BrokenPipeError, ConnectionResetError):
                pass
            closed_after = wait_closed(third, timeout=3)
            assert closed_after is not None, "third connection was neither answered nor closed"
        finally:
            third.close()

        # the first two still work
        for i, s in enumerate((first, second)):
            tcp_send_frame(s, make_query(f"mx1.{ORIGIN}", "A", qid=20 + i).to_wire())
            wire = tcp_read_frame(s)
            assert wire is not None, f"connection {i + 1} died after the third was rejected"
            check_answer(wire, 20 + i, [f"mx1.{ORIGIN} 300 IN A 192.0.2.25"])
    finally:
        first.close()
        second.close()

    # once a slot is free again, a new connection is served
    deadline = time.monotonic() + 3
    while True:
        try:
            with tcp_connect(srv.port) as s:
                tcp_send_frame(s, make_query(f"www.{ORIGIN}", "A", qid=30).to_wire())
                wire = tcp_read_frame(s)
        except (ConnectionResetError, BrokenPipeError, socket.timeout):
            wire = None
        if wire is not None:
            check_answer(wire, 30, QUERIES[0][2])
            break
        assert time.monotonic() < deadline, "no new connection served after the others closed"
        time.sleep(0.1)


# --------------------------------------------------------------------------------------------
# IPv6
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_ipv6_loopback_is_served(server, transport):
    r = server.query(f"www.{ORIGIN}", "AAAA", host="::1", tcp=(transport == "tcp"))
    assert r.rcode() == dns.rcode.NOERROR
    assert rrset_texts(r.answer) == [f"www.{ORIGIN} 300 IN AAAA 2001:db8::10"]


def test_ipv6_only_listener_config_is_honoured(start_server):
    srv = start_server(listen=lambda port: {"udp": [f"[::1]:{port}"], "tcp": [f"[::1]:{port}"]})
    r = srv.query(f"www.{ORIGIN}", "A", host="::1")
    assert rrset_texts(r.answer) == QUERIES[0][2]
    r = srv.query_tcp(f"www.{ORIGIN}", "A", host="::1")
    assert rrset_texts(r.answer) == QUERIES[0][2]
    # nothing on 127.0.0.1
    assert srv.udp_raw(make_query(f"www.{ORIGIN}", "A").to_wire(), host="127.0.0.1", timeout=0.3) is None
