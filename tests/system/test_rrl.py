"""Response rate limiting (RRL) end to end: a bounded flood from one loopback source gets its
budget of full answers, every `slip`-th limited response truncated (TC=1, header and question
only), and the rest dropped; an exempt network is never limited; TCP is never limited."""
import socket
import time

import dns.flags
import dns.message
import dns.rcode

from meridian_server import start_server_with_extra_config
from paths import ORIGIN

FLOOD = 200  # queries, sent back to back from one socket, then counted for a bounded time


def flood(srv, n=FLOOD, qname=f"www.{ORIGIN}"):
    """Sends n queries with distinct IDs; returns (full answers, truncated answers)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.5)
    try:
        for i in range(n):
            q = dns.message.make_query(qname, "A")
            q.id = i
            sock.sendto(q.to_wire(), ("127.0.0.1", srv.port))
        full = truncated = 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                data, _ = sock.recvfrom(4096)
            except socket.timeout:
                break
            r = dns.message.from_wire(data)
            assert r.rcode() == dns.rcode.NOERROR
            if r.flags & dns.flags.TC:
                assert not r.answer, "a truncated RRL reply carries no answer"
                assert len(r.question) == 1
                truncated += 1
            else:
                assert r.answer
                full += 1
        return full, truncated
    finally:
        sock.close()


def test_flood_gets_its_budget_then_slips_every_second_and_drops_the_rest(start_server):
    srv = start_server_with_extra_config(start_server, "[rrl]\nresponses_per_second = 10\nburst = 10\nslip = 2\n")
    full, truncated = flood(srv)
    # The budget: the burst (less what the readiness probe used), plus what refills while the
    # flood is sent (well under a second).
    assert 5 <= full <= 25, (full, truncated)
    limited = FLOOD - full
    assert abs(truncated - limited // 2) <= 2, (full, truncated)
    # TCP is how a real client gets around the limit.
    r = srv.query(f"www.{ORIGIN}", "A", tcp=True)
    assert r.answer


def test_slip_zero_drops_every_limited_response(start_server):
    srv = start_server_with_extra_config(start_server, "[rrl]\nresponses_per_second = 10\nburst = 10\nslip = 0\n")
    full, truncated = flood(srv)
    assert 5 <= full <= 25 and truncated == 0, (full, truncated)


def test_exempt_networks_are_never_limited(start_server):
    srv = start_server_with_extra_config(
        start_server, '[rrl]\nresponses_per_second = 10\nburst = 10\nslip = 2\nexempt = ["127.0.0.0/8"]\n')
    full, truncated = flood(srv)
    assert (full, truncated) == (FLOOD, 0)


def test_without_rrl_every_query_is_answered(start_server):
    srv = start_server()
    full, truncated = flood(srv)
    assert (full, truncated) == (FLOOD, 0)
