"""TCP abuse limits (RFC 7766 §6.2.2, §6.2.3): caps on connections per source address and in
total, and a query timeout against clients that trickle a query in; plus the _explain rate limit."""
import socket
import time

import dns.message
import dns.query
import dns.rcode

from meridian_server import start_ops_server
from paths import ORIGIN
from wire import make_query, tcp_connect, tcp_read_frame, tcp_send_frame, wait_closed


def served(s, qid):
    tcp_send_frame(s, make_query(f"www.{ORIGIN}", "A", qid=qid).to_wire())
    wire = tcp_read_frame(s)
    return wire is not None and dns.message.from_wire(wire).id == qid


def refused_at_once(s):
    try:
        tcp_send_frame(s, make_query(f"www.{ORIGIN}", "A", qid=99).to_wire())
    except (BrokenPipeError, ConnectionResetError):
        pass
    return wait_closed(s, timeout=3) is not None


def connect_from(source, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def test_one_source_cannot_take_more_than_its_share(start_server):
    srv = start_server(server={"tcp_max_connections_per_source": 2})
    time.sleep(0.3)  # the readiness probe's connection is gone
    held = [connect_from("127.0.0.5", srv.port) for _ in range(2)]
    try:
        assert all(served(s, 1 + i) for i, s in enumerate(held))
        extra = connect_from("127.0.0.5", srv.port)
        try:
            assert refused_at_once(extra), "a third connection from the same source was kept"
        finally:
            extra.close()
        other = connect_from("127.0.0.6", srv.port)  # another source still gets in
        try:
            assert served(other, 7)
        finally:
            other.close()
        assert all(served(s, 10 + i) for i, s in enumerate(held))
    finally:
        for s in held:
            s.close()


def test_the_server_wide_cap_counts_every_worker(start_server):
    srv = start_server(server={"tcp_max_connections": 3, "workers": 2})
    time.sleep(0.3)
    held = [connect_from(f"127.0.0.{20 + i}", srv.port) for i in range(3)]
    try:
        assert all(served(s, 1 + i) for i, s in enumerate(held))
        extra = connect_from("127.0.0.30", srv.port)
        try:
            assert refused_at_once(extra)
        finally:
            extra.close()
    finally:
        for s in held:
            s.close()
    time.sleep(0.3)  # closed connections give their slots back
    again = connect_from("127.0.0.31", srv.port)
    try:
        assert served(again, 5)
    finally:
        again.close()


def test_a_query_trickled_in_byte_by_byte_is_cut_off_by_the_query_timeout(start_server):
    srv = start_server(server={"tcp_idle_timeout_ms": 10000, "tcp_query_timeout_ms": 1000})
    wire = make_query(f"www.{ORIGIN}", "A", qid=3).to_wire()
    frame = len(wire).to_bytes(2, "big") + wire
    with tcp_connect(srv.port) as s:
        start = time.monotonic()
        closed = False
        for byte in frame:  # one byte every 200 ms: never idle, never done
            try:
                s.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.2)
            if time.monotonic() - start > 4:
                break
        if not closed:
            closed = wait_closed(s, timeout=3) is not None
        elapsed = time.monotonic() - start
    assert closed, "the trickling client kept its connection"
    assert elapsed < 4, f"closed only after {elapsed:.1f} s (query timeout 1 s, idle timeout 10 s)"


def test_explain_answers_are_rate_limited(start_server):
    """One _explain per second per worker (burst two): a quick series gets REFUSED past the
    budget, and the budget comes back with time."""
    srv = start_ops_server(start_server, admin={"explain_per_second": 1}, server={"workers": 1})
    rcodes = [_explain(srv.port).rcode() for _ in range(6)]
    assert rcodes[:2] == [dns.rcode.NOERROR, dns.rcode.NOERROR], rcodes
    assert rcodes[2:] == [dns.rcode.REFUSED] * 4, rcodes
    time.sleep(1.2)
    assert _explain(srv.port).rcode() == dns.rcode.NOERROR


def _explain(port):
    q = dns.message.make_query(f"_explain.app.{ORIGIN}", "TXT")
    return dns.query.tcp(q, "127.0.0.1", port=port, timeout=2)
