"""More workers than the old 64 counter shards: every query is counted.

Zone query counters have one shard per worker, each written by its worker alone. They once had 64
shards indexed `worker % 64` while the config allowed 256 workers, so workers 64 and up shared a
shard with another and their unlocked load-then-store lost counts under load. Here 96 workers (the
kernel spreads UDP queries over their SO_REUSEPORT sockets by source port) answer bursts sent from
many sockets at once, and /metrics must count exactly what was answered.
"""

from __future__ import annotations

import socket
import threading

import dns.message
import dns.rcode

from admin_client import admin_json, metric_value, scrape_metrics
from meridian_server import start_ops_server, wait_for
from wire import make_query

ZONE = "geo.example.com."
WORKERS = 96
SOCKETS = 64        # distinct source ports, so queries reach many workers
PER_SOCKET = 40     # queries per socket, sent as a burst before any reply is read
THREADS = 8


def blast(port: int, sockets: list, answered: list, lock: threading.Lock) -> None:
    wire = make_query("www.geo.example.com.", "A").to_wire()
    count = 0
    for sock in sockets:
        for i in range(PER_SOCKET):
            sock.sendto(bytes([i >> 8 & 0xFF, i & 0xFF]) + wire[2:], ("127.0.0.1", port))
        for _ in range(PER_SOCKET):
            try:
                data, _ = sock.recvfrom(4096)
            except socket.timeout:
                break
            if dns.message.from_wire(data).rcode() == dns.rcode.NOERROR:
                count += 1
    with lock:
        answered.append(count)


def zone_queries(srv) -> float:
    return metric_value(scrape_metrics(srv), "meridian_zone_queries_total", zone=ZONE, qtype="A") or 0.0


def test_ninety_six_workers_count_every_query(start_server):
    srv = start_ops_server(start_server, server={"workers": WORKERS})
    before = zone_queries(srv)
    sockets = []
    for _ in range(SOCKETS):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.settimeout(2.0)
        sockets.append(sock)
    answered: list = []
    lock = threading.Lock()
    try:
        threads = [threading.Thread(target=blast, args=(srv.port, sockets[t::THREADS], answered, lock))
                   for t in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        for sock in sockets:
            sock.close()
    total = sum(answered)
    assert total > SOCKETS * PER_SOCKET * 0.9, f"only {total} of {SOCKETS * PER_SOCKET} answered"
    # Counters are summed when read; give the last replies' counts a moment to land.
    assert wait_for(lambda: zone_queries(srv) - before >= total, timeout=5), (zone_queries(srv) - before, total)
    assert zone_queries(srv) - before == total
    assert admin_json(srv, "GET", "/status")["workers"] == WORKERS
