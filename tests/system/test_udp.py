"""UDP transport choices a client or an operator can observe: which address replies come from on
a wildcard bind; the receive buffer the sockets get, cut down under a flood and grown back after;
responses that are never fragmented (RFC 9715): DF set on IPv4, and a response too large for the
interface MTU sent truncated (TC=1) instead; worker threads outranking the control plane."""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dns.message

from config_toml import render_config, zone_toml
from paths import meridiand_path
from ports import find_free_port
from wire import make_query


def udp_sockets_of(port: int) -> list:
    """`ss` lines (with skmem) of the UDP sockets bound to `port`."""
    out = subprocess.run(["ss", "-Huanm", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line.strip()]


def receive_buffers(port: int) -> list:
    return [int(m.group(1)) for m in re.finditer(r"\brb(\d+)", "\n".join(udp_sockets_of(port)))]


def test_replies_leave_from_the_address_queried_on_a_wildcard_bind(start_server):
    srv = start_server(listen=lambda port: {"udp": [f"0.0.0.0:{port}"], "tcp": [f"127.0.0.1:{port}"]})
    query = make_query("www.geo.example.com.", "A")
    for target in ("127.0.0.1", "127.0.0.7", "127.1.2.3"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(2)
            sock.sendto(query.to_wire(), (target, srv.port))
            data, source = sock.recvfrom(65535)
        assert source == (target, srv.port), f"query to {target}, reply from {source}"
        assert dns.message.from_wire(data).id == query.id


def test_a_socket_bound_to_one_address_replies_from_it(start_server):
    srv = start_server(listen=lambda port: {"udp": [f"127.0.0.9:{port}"], "tcp": [f"127.0.0.9:{port}"]})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(make_query("www.geo.example.com.", "A").to_wire(), ("127.0.0.9", srv.port))
        _, source = sock.recvfrom(65535)
    assert source == ("127.0.0.9", srv.port)


def test_udp_sockets_get_a_deep_receive_buffer_or_the_kernel_default_when_set_to_0(start_server):
    # Linux reports twice what was asked (the other half is its bookkeeping). As root the size
    # passes net.core.rmem_max (SO_RCVBUFFORCE).
    deep = start_server(server={"workers": 2})
    assert receive_buffers(deep.port) == [2 * 4194304] * 4  # two workers × (IPv4, IPv6)

    rmem_max = int(open("/proc/sys/net/core/rmem_max").read())
    wanted = max(4 * rmem_max, 1 << 20)
    sized = start_server(server={"workers": 2, "udp_receive_buffer": wanted})
    assert receive_buffers(sized.port) == [2 * wanted] * 4
    assert sized.query("www.geo.example.com.").rcode() == 0

    default = int(open("/proc/sys/net/core/rmem_default").read())
    plain = start_server(server={"workers": 2, "udp_receive_buffer": 0})
    assert receive_buffers(plain.port) == [default] * 4


def flood(srv, seconds: float) -> set:
    """Floods `srv` (one worker, pinned to one CPU) with loadgen from another CPU for `seconds`,
    at the fastest rate it can; returns every receive buffer size `ss` saw meanwhile."""
    loadgen = meridiand_path().parent / "loadgen"
    assert loadgen.exists(), f"{loadgen} is built with meridiand"
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, load_cpu = cpus[0], cpus[-1]
    subprocess.run(["taskset", "-a", "-p", "-c", str(server_cpu), str(srv.proc.pid)], check=True, capture_output=True)
    proc = subprocess.Popen(
        ["taskset", "-c", str(load_cpu), str(loadgen), "--target", f"127.0.0.1:{srv.port}", "--gen", "static",
         "--zone", "geo.example.com", "--static-a", "192.0.2.10", "--no-verify", "--rate", "0",
         "--duration", str(seconds), "--count", "4000000", "--timeout-ms", "200", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    seen = set()
    try:
        while proc.poll() is None:
            seen.update(receive_buffers(srv.port))
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    return seen


def ipv4_only(port: int) -> dict:
    return {"udp": [f"127.0.0.1:{port}"], "tcp": [f"127.0.0.1:{port}"]}


def test_a_flood_cuts_the_receive_queue_to_the_kernel_default_and_it_grows_back(start_server):
    """Sustained overload (the queue never runs dry for udp_overload_interval_ms) shrinks the
    socket's buffer so that answers stop waiting behind a full deep queue; once reads run the
    queue dry again, the deep buffer returns. Seen from outside with `ss`."""
    default = int(open("/proc/sys/net/core/rmem_default").read())
    deep = 2 * 4194304
    srv = start_server(server={"workers": 1, "udp_overload_interval_ms": 50}, listen=ipv4_only)
    assert receive_buffers(srv.port) == [deep]
    seen = flood(srv, 4)
    assert default in seen, f"buffers seen during the flood: {seen}"
    # Back to a trickle: the reads find the queue dry and the deep buffer returns.
    deadline = time.monotonic() + 5
    while receive_buffers(srv.port) != [deep] and time.monotonic() < deadline:
        srv.query("www.geo.example.com.")
        time.sleep(0.02)
    assert receive_buffers(srv.port) == [deep]
    srv.assert_answers_normally()


def test_with_no_overload_interval_a_flood_leaves_the_buffer_as_configured(start_server):
    srv = start_server(server={"workers": 1, "udp_overload_interval_ms": 0}, listen=ipv4_only)
    assert flood(srv, 2) == {2 * 4194304}
    srv.assert_answers_normally()


def test_udp_receive_buffer_out_of_range_is_a_config_error(tmp_path):
    config = tmp_path / "meridian.toml"
    for key, value in (("udp_receive_buffer", -1), ("udp_receive_buffer", 1 << 31), ("udp_overload_interval_ms", -5)):
        config.write_text(render_config(find_free_port(), [], {key: value}))
        proc = subprocess.run([str(meridiand_path()), "--check", "-c", str(config)], capture_output=True, text=True)
        assert proc.returncode == 1
        assert key in proc.stderr


def test_ipv4_replies_carry_dont_fragment(server):
    """A packet socket on lo sees the reply as sent: DF set (and so IP ID 0)."""
    sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    sniffer.bind(("lo", 0))
    sniffer.settimeout(0.5)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.bind(("127.0.0.1", 0))
            client_port = client.getsockname()[1]
            client.sendto(make_query("www.geo.example.com.", "A").to_wire(), ("127.0.0.1", server.port))
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                try:
                    packet = sniffer.recv(65535)
                except socket.timeout:
                    continue
                header_length = (packet[0] & 0x0F) * 4
                if packet[9] != 17 or len(packet) < header_length + 8:
                    continue
                source_port, destination_port = struct.unpack("!HH", packet[header_length : header_length + 4])
                if (source_port, destination_port) != (server.port, client_port):
                    continue
                flags = struct.unpack("!H", packet[6:8])[0]
                assert flags & 0x4000, f"DF clear in the reply (flags/fragment word {flags:#06x})"
                assert flags & 0x1FFF == 0 and not flags & 0x2000  # not a fragment
                return
            raise AssertionError("the reply was not seen on lo")
    finally:
        sniffer.close()


# Runs inside a private network namespace whose loopback has an MTU of 1280: a response larger
# than that cannot leave unfragmented and must come back truncated. Prints one JSON line.
NAMESPACE_SCRIPT = textwrap.dedent(
    """
    import json, socket, subprocess, sys, time
    import dns.exception, dns.flags, dns.message, dns.query
    subprocess.run(["ip", "link", "set", "lo", "up", "mtu", "1280"], check=True)
    binary, config, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    server = subprocess.Popen([binary, "-c", config], stderr=open(config + ".stderr", "wb"))
    try:
        result = {}
        small_query = dns.message.make_query("small.mtu.test.", "TXT", use_edns=0, payload=4096)
        for _ in range(100):  # until the server answers: up to 10 s
            if server.poll() is not None:
                sys.exit("meridiand exited with " + str(server.returncode))
            try:
                small = dns.query.udp(small_query, "127.0.0.1", port=port, timeout=0.1)
                break
            except dns.exception.Timeout:
                pass
        else:
            sys.exit("no answer within 10 s")
        result["small_tc"] = bool(small.flags & dns.flags.TC)
        result["small_answers"] = len(small.answer)
        query = dns.message.make_query("big.mtu.test.", "TXT", use_edns=0, payload=4096)
        try:
            reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=2)
            result["udp_tc"] = bool(reply.flags & dns.flags.TC)
            result["udp_answers"] = len(reply.answer)
            result["udp_question"] = str(reply.question[0].name) if reply.question else ""
        except dns.exception.Timeout:
            result["udp_tc"] = "no reply"
        tcp = dns.query.tcp(query, "127.0.0.1", port=port, timeout=2)
        result["tcp_size"] = len(tcp.to_wire())
        print(json.dumps(result))
    finally:
        server.terminate()
        server.wait(timeout=5)
    """
)


def test_a_response_larger_than_the_mtu_is_sent_truncated_not_fragmented(tmp_path):
    zone = zone_toml(
        "mtu.test.",
        records='@ IN NS ns1\nns1 IN A 192.0.2.1\nbig IN TXT "' + '" "'.join(["x" * 200] * 10) + '"\nsmall IN TXT "fits"',
    )
    zones = tmp_path / "zones"
    zones.mkdir()
    (zones / "mtu.test.toml").write_text(zone)
    port = find_free_port()
    config = tmp_path / "meridian.toml"
    config.write_text(
        render_config(
            port, [zones], {"udp_max_payload": 4096}, listen={"udp": [f"127.0.0.1:{port}"], "tcp": [f"127.0.0.1:{port}"]}
        )
    )
    script = tmp_path / "in_namespace.py"
    script.write_text(NAMESPACE_SCRIPT)
    proc = subprocess.run(
        # Its own PID namespace too: if the script dies or times out, the kernel ends the server.
        ["unshare", "--net", "--pid", "--fork", "--kill-child", sys.executable, str(script), str(meridiand_path()),
         str(config), str(port)],
        capture_output=True, text=True, timeout=60,
    )
    stderr_file = config.with_name(config.name + ".stderr")
    server_log = stderr_file.read_text() if stderr_file.exists() else ""
    assert proc.returncode == 0, proc.stderr + server_log
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result.get("udp_tc") is True, (result, server_log)
    assert result["udp_answers"] == 0
    assert result["udp_question"] == "big.mtu.test."
    assert result["small_tc"] is False and result["small_answers"] == 1
    assert result["tcp_size"] > 2000  # the whole answer over TCP


def test_workers_outrank_the_control_plane(start_server):
    """Worker threads keep the default priority; the main thread (reloads, probes) and the admin
    API's threads run at nice +10 once serving."""
    srv = start_server(server={"workers": 2})
    threads = {}
    for task in Path(f"/proc/{srv.proc.pid}/task").iterdir():
        comm = (task / "comm").read_text().strip()
        # Field 19 of stat is nice; the command name (field 2) may hold spaces, so split after it.
        nice = int((task / "stat").read_text().rsplit(")", 1)[1].split()[16])
        threads.setdefault(comm, []).append((int(task.name), nice))
    workers = threads.get("worker-0", []) + threads.get("worker-1", [])
    assert [nice for _, nice in workers] == [0, 0], threads
    main = [nice for tid, nice in sum(threads.values(), []) if tid == srv.proc.pid]
    assert main == [10], threads
