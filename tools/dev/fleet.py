#!/usr/bin/env python3
"""`make fleet`: a fleet on one machine, until interrupted (docs/FLEET.md, "Try it").

Starts one etcd on 127.0.0.1:2479 (peer 2480) and three meridiand nodes serving the example zones
in fleet mode: DNS on 127.0.0.1:5301, :5302, :5303 (UDP and TCP), admin APIs on 127.0.0.1:8021,
:8022, :8023. Everything lives in a temporary directory removed on exit; nothing listens off
loopback. Ctrl-C stops all four processes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ETCD_CLIENT, ETCD_PEER = 2479, 2480
NODES = 3


def node_config(n: int, work: Path, geoip: Path) -> str:
    """Node n (1-based): the example zones, its own ports and state files, fleet mode."""
    return f"""# node-{n} of `make fleet` (tools/dev/fleet.py)
zones = [{json.dumps(str(ROOT / "zones"))}]

[listen]
udp = ["127.0.0.1:{5300 + n}"]
tcp = ["127.0.0.1:{5300 + n}"]

[server]
workers = 1
allow_root = true

[identity]
id_server = "node-{n}"

[admin]
listen = "127.0.0.1:{8020 + n}"

[members]
state_file = {json.dumps(str(work / f"node-{n}-members.json"))}

[forecast]
state_file = {json.dumps(str(work / f"node-{n}-forecast.json"))}

[fleet]
endpoints = ["http://127.0.0.1:{ETCD_CLIENT}"]
node = "node-{n}"
lease_ttl = "6s"

[[geoip]]
path = {json.dumps(str(geoip))}
fields = {{ country = ["country_code", "country.iso_code"] }}
"""


def wait_http(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as reply:
                if reply.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build", help="the build directory (default: build)")
    args = parser.parse_args()
    meridiand = (ROOT / args.build / "bin" / "meridiand").resolve()
    geoip = ROOT / "geoip" / "geo-whois-asn-country.mmdb"
    if not geoip.exists():
        geoip = ROOT / args.build / "geoip" / "test-geo.mmdb"
    etcd = shutil.which("etcd")
    if not meridiand.exists() or etcd is None:
        print("fleet: needs build/bin/meridiand and etcd (make fleet builds and installs them)", file=sys.stderr)
        return 1

    work = Path(tempfile.mkdtemp(prefix="meridian-fleet-"))
    processes: list[subprocess.Popen] = []
    try:
        etcd_log = open(work / "etcd.log", "wb")
        processes.append(subprocess.Popen(
            [etcd, "--name", "fleet", "--data-dir", str(work / "etcd"),
             "--listen-client-urls", f"http://127.0.0.1:{ETCD_CLIENT}",
             "--advertise-client-urls", f"http://127.0.0.1:{ETCD_CLIENT}",
             "--listen-peer-urls", f"http://127.0.0.1:{ETCD_PEER}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{ETCD_PEER}",
             "--initial-cluster", f"fleet=http://127.0.0.1:{ETCD_PEER}",
             "--listen-metrics-urls", "http://127.0.0.1:2481"],
            stdout=etcd_log, stderr=subprocess.STDOUT))
        if not wait_http(f"http://127.0.0.1:{ETCD_CLIENT}/health", 20):
            print(f"fleet: etcd did not start; see {work / 'etcd.log'}", file=sys.stderr)
            return 1
        for n in range(1, NODES + 1):
            config = work / f"node-{n}.toml"
            config.write_text(node_config(n, work, geoip))
            processes.append(subprocess.Popen([str(meridiand), "-c", str(config)]))
        for n in range(1, NODES + 1):
            if not wait_http(f"http://127.0.0.1:{8020 + n}/status", 20):
                print(f"fleet: node-{n} did not start (its log is above)", file=sys.stderr)
                return 1
        print(f"""
fleet: etcd on 127.0.0.1:{ETCD_CLIENT} and three nodes serving the example zones (files in {work})
  node-1  dig @127.0.0.1 -p 5301 app.geo.example.com   admin http://127.0.0.1:8021
  node-2  dig @127.0.0.1 -p 5302 app.geo.example.com   admin http://127.0.0.1:8022
  node-3  dig @127.0.0.1 -p 5303 app.geo.example.com   admin http://127.0.0.1:8023
try:
  build/bin/meridianctl --admin http://127.0.0.1:8021 fleet
  build/bin/meridianctl --admin http://127.0.0.1:8021 drain geo.example.com eu-west-1 --for 300 --reason test
  for p in 5301 5302 5303; do dig +short @127.0.0.1 -p $p app.geo.example.com +subnet=81.2.69.0/24; done
Ctrl-C stops the fleet.""", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        print("fleet: a process exited; stopping the others", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for p in reversed(processes):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in processes:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
