#!/usr/bin/python3
"""Closed-loop simulator of steering that learns (issue 12, item 7): the real meridiand, synthetic
clients by country with a compressed daily traffic curve sending ECS queries over loopback, and
regions on loopback whose health endpoints report the load Meridian sends them and slow down as
it grows. Each scenario runs twice at the same time, with static routing and with the adaptive
strategy (capacity, shed load, adaptive weights); every figure comes from meridiand's answers
and its admin API. The model and its constants: tools/sim/README.md.

usage: simulate.py [--quick] [--scenarios skewed,balanced] [--parallel N] [--out DIR] [--keep]
Environment: BUILD [build] — meridiand and the test geo database are taken from there.

Ends with one line per scenario and strategy:
  sim: scenario=NAME strategy=static|adaptive peak_load_over_capacity=X mean_latency_ms=Y
       weight_reversals_per_hour=Z forecast_mape=W
Exit status: 0; 1 when a goal is missed (full mode only: quick mode reports the goals but does
not enforce them); 2 when a run could not be made.
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import hashlib
import http.server
import json
import math
import os
import random
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import model as m  # noqa: E402  (after the path is set)

ROOT = HERE.parents[1]
ZONE = "sim.example."
NAME = f"app.{ZONE}"
BUCKET_SECONDS = 10  # [forecast] bucket: the schema's minimum
# quick: a day of 6 buckets (1 min, the schema's shortest season); full: 24 buckets (4 min).
MODES = {"quick": {"day_buckets": 6, "days": 3}, "full": {"day_buckets": 24, "days": 3}}
ADAPTIVE_INTERVAL = "500ms"  # [adaptive] interval
MAX_STEP = 0.1  # [adaptive] max_step (the default)
TIME_CONSTANT = "10s"  # the adaptive route's latency EWMA
ANALYTICS_INTERVAL = "500ms"  # [analytics] interval: how often answers are totalled into buckets
CHECK_INTERVAL = "1s"  # the regions' http check
TICK = 0.02  # the client generator's step, seconds
LOAD_WINDOW = 3.0  # a region's load: the answers per second it was sent over this many seconds
BIN = 0.1  # seconds per bin of the per-region answer counts
POLL_INTERVAL = 0.5  # /status is read this often
PEAK_WINDOW = 10.0  # peak load: the busiest window of this many seconds
REVERSAL_THRESHOLD = 0.05  # an hour's mean weight must move back this far to count as a reversal
STEP_REVERSAL_THRESHOLD = MAX_STEP  # for the record (results.json): every reading, one step back
REPLY_TIMEOUT = 2.0  # a query unanswered this long is lost
START_LEAD = 0.45  # meridiand starts this long before the first bucket (see start_server_aligned)
# Goals (issue 12, item 7), and the tolerances README.md explains.
GOAL_LATENCY_GAIN = 0.20  # skewed: adaptive mean latency at least 20 % below static
GOAL_NOT_WORSE = 0.02  # balanced: adaptive no more than 2 % above static
GOAL_REVERSALS_PER_HOUR = 0.25  # steady state: at most one reversal per learned weight per 4 h
GOAL_MAPE = 10.0  # percent, day 3
CAPACITY_SIGMAS = 3.0  # counting noise allowed above capacity in the busiest window


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM when the process that started it dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def toml_str(s: str) -> str:
    return json.dumps(s)


# --- configuration ------------------------------------------------------------------------------


STRATEGIES = ("static", "adaptive", "adaptive-no-shed")  # the last: a diagnostic, capacity without shed


def zone_text(strategy: str, check_port: int, target_hosts: List[str]) -> str:
    adaptive = strategy.startswith("adaptive")
    lines = [
        f"origin = {toml_str(ZONE)}",
        "ttl = 300",
        'records = """',
        "@    3600 IN NS ns1",
        "ns1  3600 IN A  192.0.2.53",
        '"""',
        "",
        "[soa]",
        f'primary = "ns1.{ZONE}"',
        f'contact = "hostmaster@{ZONE.rstrip(".")}"',
        "serial = 1",
        "",
        # Both strategies probe alike. Slowness never makes a region unhealthy (the thresholds are
        # above the slowest a target answers): the comparison is about learning, not health.
        "[checks.load]",
        'kind = "http"',
        f"port = {check_port}",
        'path = "/health"',
        'load_field = "load"',
        f'interval = "{CHECK_INTERVAL}"',
        f'timeout = "{CHECK_INTERVAL}"',
        "rise = 2",
        "fall = 3",
        'healthy_below = "1s"',
        'degraded_below = "1s"',
        "healthy_success = 0.5",
        "degraded_success = 0.5",
        "",
    ]
    for region, host in zip(m.REGIONS, target_hosts):
        lines += [
            f"[regions.{region.name}]",
            f"addresses = [{toml_str(region.address)}]",
            f"location = [{region.latitude}, {region.longitude}]",
            'check = "load"',
            f"check_address = {toml_str(host)}",
        ]
        if adaptive:
            lines.append(f"capacity = {region.capacity}")
        if strategy == "adaptive":
            lines.append(f"shed = {{ low = {m.SHED_LOW}, high = {m.SHED_HIGH} }}")
        lines.append("")
    shared = ", ".join(toml_str(r) for r in m.SHARED_ROUTE_REGIONS)
    weights = ", ".join(f"{r} = 1" for r in m.SHARED_ROUTE_REGIONS)
    lines += [
        "[names.app]",
        "ttl = 30",
        "",
        "[[names.app.route]]",
        f"when = {{ continent = {toml_str(m.SHARED_ROUTE_CONTINENT)} }}",
        f"to = [{shared}]",
        f"weights = {{ {weights} }}",
        f'strategy = "{"adaptive" if adaptive else "weighted"}"',
    ]
    if adaptive:
        lines.append(f'time_constant = "{TIME_CONSTANT}"')
    everyone = ", ".join(toml_str(r.name) for r in m.REGIONS)
    lines += ["", "[[names.app.route]]", f"to = [{everyone}]", 'strategy = "nearest"', ""]
    return "\n".join(lines)


def server_config(zone_dir: Path, dns_addr: str, admin_addr: str, mmdb: Path, state_file: Path,
                  season_seconds: int) -> str:
    return "\n".join([
        f"zones = [{toml_str(str(zone_dir))}]",
        "",
        "[listen]",
        f"udp = [{toml_str(dns_addr)}]",
        "",
        "[server]",
        "workers = 1",
        "allow_root = true",
        "",
        "[admin]",
        f"listen = {toml_str(admin_addr)}",
        "",
        "[[geoip]]",
        f"path = {toml_str(str(mmdb))}",
        "",
        "[analytics]",
        f'interval = "{ANALYTICS_INTERVAL}"',
        "",
        "[adaptive]",
        f'interval = "{ADAPTIVE_INTERVAL}"',
        f"max_step = {MAX_STEP}",
        "",
        "[forecast]",
        f'bucket = "{BUCKET_SECONDS}s"',
        f'season = "{season_seconds}s"',
        'horizon = "0s"',
        f"state_file = {toml_str(str(state_file))}",
        "",
    ])


# --- loopback ports -------------------------------------------------------------------------------


def free_port(hosts: List[str], kinds=(socket.SOCK_STREAM,)) -> int:
    """A port that every kind of socket can bind on every host right now."""
    for _ in range(200):
        socks = []
        try:
            port = 0
            for host in hosts:
                for kind in kinds:
                    s = socket.socket(socket.AF_INET, kind)
                    socks.append(s)
                    if kind == socket.SOCK_STREAM:
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((host, port))
                    port = s.getsockname()[1]
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no free port on {hosts}")


# --- one run --------------------------------------------------------------------------------------


class HealthServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class HealthHandler(http.server.BaseHTTPRequestHandler):
    """A region's health endpoint: reports its load (percent of its saturating rate) and answers
    after its current server delay, which is what Meridian measures as its latency."""

    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):  # noqa: N802 (http.server's name)
        run: Run = self.server.run  # type: ignore[attr-defined]
        index: int = self.server.region_index  # type: ignore[attr-defined]
        rho = run.utilisation(index, time.time())
        time.sleep(m.server_delay_ms(rho) / 1000.0)
        body = json.dumps({"load": round(100.0 * rho, 2)}).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass
        run.probes[index] += 1


def poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method; lam is small here (a country's queries in one tick)."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class Run:
    """One (scenario, strategy): health targets, meridiand, the clients and the admin poller."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.scenario = m.SCENARIOS[spec["scenario"]]
        self.strategy = spec["strategy"]
        self.work = Path(spec["workdir"])
        self.work.mkdir(parents=True, exist_ok=True)
        self.places = m.load_places(Path(spec["geo_csv"]))
        self.place_list = [self.places[k] for k in self.scenario.peaks]
        self.peaks = [self.scenario.peaks[k] for k in self.scenario.peaks]
        self.day_seconds = spec["day_buckets"] * BUCKET_SECONDS
        self.hour_seconds = self.day_seconds / 24.0
        self.duration = spec["days"] * self.day_seconds
        self.prefix = spec["address_prefix"]  # "127.77.10."
        self.target_hosts = [f"{self.prefix}{i + 1}" for i in range(len(m.REGIONS))]
        self.dns_host = f"{self.prefix}53"
        self.by_address = {r.address: i for i, r in enumerate(m.REGIONS)}
        nbins = int((self.duration + 120) / BIN)
        self.bins = [[0] * nbins for _ in m.REGIONS]
        self.probes = [0] * len(m.REGIONS)
        self.t0 = 0.0
        self.stop = threading.Event()
        self.proc: Optional[subprocess.Popen] = None
        self.servers: List[HealthServer] = []
        # Measurements.
        self.pending: Dict[int, tuple] = {}
        self.answer_time: List[float] = []
        self.answer_region: List[int] = []
        self.answer_latency: List[float] = []
        self.sent = 0
        self.skipped = 0
        self.errors = 0
        self.late = 0
        self.samples: List[dict] = []
        self.name_history: Dict[int, tuple] = {}
        self.region_history: Dict[str, Dict[int, tuple]] = {r.name: {} for r in m.REGIONS}
        self.poll_failures = 0
        self.last_status: Optional[dict] = None
        self.startup_lag = 0.0
        self.wires: Dict[tuple, bytes] = {}

    # -- the regions' load, from the answers seen -----------------------------------------------

    def recent_rate(self, index: int, now: float) -> float:
        b = int((now - self.t0) / BIN) if self.t0 else -1
        if b <= 0:
            return 0.0
        span = int(LOAD_WINDOW / BIN)
        bins = self.bins[index]
        b = min(b, len(bins))
        return sum(bins[max(0, b - span):b]) / LOAD_WINDOW

    def utilisation(self, index: int, now: float) -> float:
        return m.utilisation(self.recent_rate(index, now), m.REGIONS[index].capacity)

    # -- lifecycle ---------------------------------------------------------------------------------

    def start_targets(self) -> int:
        for attempt in range(20):
            port = free_port(self.target_hosts)
            try:
                servers = []
                for i, host in enumerate(self.target_hosts):
                    srv = HealthServer((host, port), HealthHandler)
                    srv.run = self  # type: ignore[attr-defined]
                    srv.region_index = i  # type: ignore[attr-defined]
                    servers.append(srv)
            except OSError:
                for srv in servers:
                    srv.server_close()
                continue
            self.servers = servers
            for srv in servers:
                threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
            return port
        raise RuntimeError("could not bind the health targets")

    def write_config(self, check_port: int) -> Path:
        zone_dir = self.work / "zones"
        zone_dir.mkdir(exist_ok=True)
        (zone_dir / "sim.toml").write_text(zone_text(self.strategy, check_port, self.target_hosts))
        self.dns_port = free_port([self.dns_host], kinds=(socket.SOCK_DGRAM,))
        self.admin_port = free_port([self.dns_host])
        self.admin_url = f"http://{self.dns_host}:{self.admin_port}"
        config = self.work / "meridian.toml"
        config.write_text(server_config(zone_dir, f"{self.dns_host}:{self.dns_port}",
                                        f"{self.dns_host}:{self.admin_port}", Path(self.spec["mmdb"]),
                                        self.work / "forecast.json", self.day_seconds))
        check = subprocess.run([self.spec["meridiand"], "--check", "-c", str(config)], capture_output=True,
                               text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"meridiand --check refused the generated config:\n{check.stdout}{check.stderr}")
        return config

    def start_server_aligned(self, config: Path) -> None:
        """Starts meridiand just before a bucket boundary, which becomes t0, the start of the
        simulated day: its first analytics tick (ANALYTICS_INTERVAL after start) then falls in
        the first bucket, so the forecasters' first season is exactly the first simulated day."""
        now = time.time()
        t0 = math.ceil((now + 2.0) / BUCKET_SECONDS) * BUCKET_SECONDS
        time.sleep(max(0.0, t0 - START_LEAD - time.time()))
        self.stderr = open(self.work / "meridiand.stderr", "wb")
        self.proc = subprocess.Popen([self.spec["meridiand"], "-c", str(config)], stdin=subprocess.DEVNULL,
                                     stdout=self.stderr, stderr=self.stderr, cwd=self.work,
                                     preexec_fn=die_with_parent)
        self.t0 = float(t0)
        probe = dns.message.make_query(ZONE, "SOA")
        deadline = time.time() + 10
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.05)
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"meridiand exited with {self.proc.returncode}")
                s.sendto(probe.to_wire(), (self.dns_host, self.dns_port))
                try:
                    s.recv(4096)
                    break
                except socket.timeout:
                    continue
            else:
                raise RuntimeError("meridiand did not answer within 10 s")
        self.startup_lag = time.time() - self.t0

    def stop_server(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.exit_code = self.proc.returncode

    # -- clients -----------------------------------------------------------------------------------

    def query_wire(self, place_index: int, subnet: int) -> bytes:
        key = (place_index, subnet)
        wire = self.wires.get(key)
        if wire is None:
            # The client's /24: the `subnet`-th of the place's network.
            address = str(self.place_list[place_index].network.network_address + (subnet << 8))
            q = dns.message.make_query(NAME, "A", use_edns=0, payload=1232,
                                       options=[dns.edns.ECSOption(address, 24)])
            q.flags &= ~dns.flags.RD
            q.id = 0
            wire = q.to_wire()
            self.wires[key] = wire
        return wire

    def sender(self, sock: socket.socket) -> None:
        """Poisson arrivals per place and tick, from a generator seeded by the scenario alone, so
        the static and adaptive runs of a scenario send the same queries at the same moments."""
        rng = random.Random(self.spec["seed"])
        subnets = [1 << max(0, 24 - p.network.prefixlen) for p in self.place_list]
        ticks = int(self.duration / TICK)
        qid = 0
        for k in range(ticks):
            if self.stop.is_set():
                return
            due = self.t0 + k * TICK
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            sim_hour = k * TICK / self.hour_seconds
            late = due < self.t0 + self.startup_lag  # before meridiand answered: not sent
            for i, (place, peak) in enumerate(zip(self.place_list, self.peaks)):
                n = poisson(rng, m.place_rate(peak, place, sim_hour) * TICK)
                for _ in range(n):
                    subnet = rng.randrange(subnets[i])
                    if late:
                        self.skipped += 1
                        continue
                    qid = (qid + 1) & 0xFFFF
                    wire = self.query_wire(i, subnet)
                    self.pending[qid] = (i, time.time())
                    try:
                        sock.sendto(qid.to_bytes(2, "big") + wire[2:], (self.dns_host, self.dns_port))
                        self.sent += 1
                    except OSError:
                        self.errors += 1

    def receiver(self, sock: socket.socket) -> None:
        sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                data = sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.time()
            try:
                msg = dns.message.from_wire(data)
            except Exception:  # noqa: BLE001  (anything unparsable is an error, counted)
                self.errors += 1
                continue
            entry = self.pending.pop(msg.id, None)
            if entry is None:
                self.late += 1
                continue
            place_index, sent_at = entry
            if now - sent_at > REPLY_TIMEOUT:
                self.late += 1
                continue
            addresses = [rd.address for rr in msg.answer if rr.rdtype == dns.rdatatype.A for rd in rr]
            if msg.rcode() != dns.rcode.NOERROR or len(addresses) != 1 or addresses[0] not in self.by_address:
                self.errors += 1
                continue
            region = self.by_address[addresses[0]]
            b = int((now - self.t0) / BIN)
            if 0 <= b < len(self.bins[region]):
                self.bins[region][b] += 1
            rho = self.utilisation(region, now)
            self.answer_time.append(now - self.t0)
            self.answer_region.append(region)
            self.answer_latency.append(m.client_latency_ms(self.place_list[place_index], m.REGIONS[region], rho))

    # -- the admin API -------------------------------------------------------------------------------

    def status(self) -> Optional[dict]:
        try:
            with urllib.request.urlopen(self.admin_url + "/status", timeout=2) as reply:
                return json.load(reply)
        except (OSError, ValueError):
            self.poll_failures += 1
            return None

    def record(self, doc: dict, now: float) -> None:
        zone = next(z for z in doc["zones"] if z["origin"] == ZONE)
        regions = {}
        for r in zone["regions"]:
            learned = r["learned"]
            regions[r["name"]] = {"capacity_factor": learned["capacity_factor"], "load_factor": learned["load_factor"],
                                  "latency_ewma_ms": learned["latency_ewma_ms"], "latency_ms": r["latency_ms"],
                                  "state": r["state"], "answers": r["answers"]}
            for start, actual, forecast in (r["demand"] or {}).get("history", []):
                self.region_history[r["name"]][int(start)] = (actual, forecast)
        name = next(n for n in zone["names"] if n["name"] == NAME)
        weights = {str(route["route"]): route["weights"] for route in name["routes"] if route.get("weights")}
        for start, actual, forecast in (name["demand"] or {}).get("history", []):
            self.name_history[int(start)] = (actual, forecast)
        self.samples.append({"t": now - self.t0, "regions": regions, "weights": weights})
        self.last_status = doc

    def poller(self) -> None:
        while not self.stop.is_set():
            began = time.time()
            doc = self.status()
            if doc is not None:
                self.record(doc, began)
            self.stop.wait(max(0.0, POLL_INTERVAL - (time.time() - began)))

    # -- the whole run -----------------------------------------------------------------------------

    def execute(self) -> dict:
        try:
            check_port = self.start_targets()
            config = self.write_config(check_port)
            self.start_server_aligned(config)
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.bind(("127.0.0.1", 0))
            threads = [threading.Thread(target=self.receiver, args=(sock,), daemon=True),
                       threading.Thread(target=self.poller, daemon=True)]
            for t in threads:
                t.start()
            sender = threading.Thread(target=self.sender, args=(sock,), daemon=True)
            sender.start()
            sender.join(self.duration + 60)
            # The last bucket closes at the end of the last day; one analytics tick later it is in
            # /status. Wait for it and for the last replies.
            time.sleep(REPLY_TIMEOUT + 1.0)
            doc = self.status()
            if doc is not None:
                self.record(doc, time.time())
            self.stop.set()
            for t in threads:
                t.join(5)
            sock.close()
            if self.proc.poll() is not None:
                raise RuntimeError(f"meridiand exited with {self.proc.returncode} during the run")
        finally:
            self.stop.set()
            self.stop_server()
            for srv in self.servers:
                srv.shutdown()
                srv.server_close()
        return self.figures()

    # -- figures ----------------------------------------------------------------------------------

    def figures(self) -> dict:
        end = self.duration
        peaks = {}
        for i, region in enumerate(m.REGIONS):
            times = [t for t, r in zip(self.answer_time, self.answer_region) if r == i]
            peaks[region.name] = m.peak_over_capacity(times, region.capacity, 0.0, end, PEAK_WINDOW)
        in_run = [lat for t, lat in zip(self.answer_time, self.answer_latency) if 0 <= t < end]
        mean_latency = sum(in_run) / len(in_run) if in_run else float("nan")

        # Learned weights in steady state, from the start of day 2 to the end: each region's
        # admission (capacity factor × load factor: the share of what it is offered that it takes)
        # and each adaptive share, as the mean of each simulated hour's readings.
        steady = [s for s in self.samples if self.day_seconds <= s["t"] <= end]
        series: Dict[str, List[tuple]] = {}
        for s in steady:
            for name, r in s["regions"].items():
                series.setdefault(f"admission {name}", []).append((s["t"], r["capacity_factor"] * r["load_factor"]))
                series.setdefault(f"capacity factor {name}", []).append((s["t"], r["capacity_factor"]))
                series.setdefault(f"load factor {name}", []).append((s["t"], r["load_factor"]))
            for route, weights in s["weights"].items():
                for name, w in weights.items():
                    series.setdefault(f"route {route} weight {name}", []).append((s["t"], w))
        hours = (end - self.day_seconds) / self.hour_seconds
        reversal_counts = {k: m.reversals(m.hour_means(v, self.day_seconds, end, self.hour_seconds),
                                          REVERSAL_THRESHOLD) for k, v in series.items()}
        step_counts = {k: m.reversals([x for _, x in v], STEP_REVERSAL_THRESHOLD) for k, v in series.items()}
        weights = [k for k in reversal_counts if k.startswith(("admission", "route"))]
        worst = max((reversal_counts[k] for k in weights), default=0)

        day3 = (self.t0 + 2 * self.day_seconds, self.t0 + 3 * self.day_seconds)
        buckets = sorted((start, a, f) for start, (a, f) in self.name_history.items() if day3[0] <= start < day3[1])
        mape = m.mape_percent((a, f) for _, a, f in buckets)

        unhealthy = sum(1 for s in self.samples for r in s["regions"].values() if r["state"] != "healthy")
        meridian_answers = {}
        if self.last_status:
            zone = next(z for z in self.last_status["zones"] if z["origin"] == ZONE)
            meridian_answers = {r["name"]: r["answers"] for r in zone["regions"]}
        self.write_timeline()
        with open(self.work / "samples.jsonl", "w") as f:
            for sample in self.samples:
                f.write(json.dumps(sample) + "\n")
        return {
            "scenario": self.scenario.name,
            "strategy": self.strategy,
            "peak_load_over_capacity": max(peaks.values()),
            "peak_by_region": peaks,
            "mean_latency_ms": mean_latency,
            "weight_reversals_per_hour": worst / hours if hours > 0 else 0.0,
            "reversals_by_series": reversal_counts,
            "reversals_at_each_step": step_counts,
            "steady_hours": hours,
            "forecast_mape": mape,
            "mape_buckets": [{"start": s, "actual": a, "forecast": f} for s, a, f in buckets],
            "expected_day3_buckets": self.spec["day_buckets"],
            "answers": len(self.answer_time),
            "answers_by_region": {r.name: self.answer_region.count(i) for i, r in enumerate(m.REGIONS)},
            "meridian_answers_by_region": meridian_answers,
            "sent": self.sent,
            "not_sent_before_start": self.skipped,
            "lost": len(self.pending),
            "late": self.late,
            "errors": self.errors,
            "probes": dict(zip((r.name for r in m.REGIONS), self.probes)),
            "status_samples": len(self.samples),
            "poll_failures": self.poll_failures,
            "unhealthy_samples": unhealthy,
            "startup_lag_seconds": self.startup_lag,
            "meridiand_exit": getattr(self, "exit_code", None),
            "t0": self.t0,
        }

    def write_timeline(self) -> None:
        """Per PEAK_WINDOW: each region's answers/s and admission, the adaptive weights, and the mean
        modelled latency — for plots and for reading what happened."""
        n = int(self.duration // PEAK_WINDOW)
        counts = [[0] * len(m.REGIONS) for _ in range(n)]
        lat_sum, lat_n = [0.0] * n, [0] * n
        for t, r, lat in zip(self.answer_time, self.answer_region, self.answer_latency):
            w = int(t // PEAK_WINDOW)
            if 0 <= w < n:
                counts[w][r] += 1
                lat_sum[w] += lat
                lat_n[w] += 1
        by_window: Dict[int, dict] = {}
        for s in self.samples:
            by_window.setdefault(int(s["t"] // PEAK_WINDOW), s)  # the first sample in each window
        names = [r.name for r in m.REGIONS]
        with open(self.work / "timeline.csv", "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["sim_hour"] + [f"{x}_per_s" for x in names] + [f"{x}_admission" for x in names] +
                         [f"{x}_weight" for x in m.SHARED_ROUTE_REGIONS] + ["mean_latency_ms"])
            for w in range(n):
                s = by_window.get(w)
                adm = [s["regions"][x]["capacity_factor"] * s["regions"][x]["load_factor"] if s else "" for x in names]
                weights = s["weights"].get("1", {}) if s else {}
                out.writerow([round((w + 0.5) * PEAK_WINDOW / self.hour_seconds, 2)] +
                             [c / PEAK_WINDOW for c in counts[w]] + adm +
                             [weights.get(x, "") for x in m.SHARED_ROUTE_REGIONS] +
                             [round(lat_sum[w] / lat_n[w], 1) if lat_n[w] else ""])


def run_one(spec_path: Path) -> int:
    spec = json.loads(spec_path.read_text())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
    run = Run(spec)
    try:
        result = run.execute()
    except Exception as exc:  # noqa: BLE001  (reported to the parent, which fails the run)
        result = {"scenario": spec["scenario"], "strategy": spec["strategy"], "error": repr(exc)}
    Path(spec["result"]).write_text(json.dumps(result, indent=1) + "\n")
    return 0 if "error" not in result else 2


# --- the whole simulation -------------------------------------------------------------------------


def goals(results: Dict[tuple, dict]) -> List[m.Goal]:
    out: List[m.Goal] = []
    for scenario in sorted({k[0] for k in results}):
        static, adaptive = results.get((scenario, "static")), results.get((scenario, "adaptive"))
        if not static or not adaptive or "error" in static or "error" in adaptive:
            out.append(m.Goal("runs", False, "a run failed", scenario))
            continue
        worst = []
        for region in m.REGIONS:
            allowed = 1.0 + m.capacity_noise_tolerance(region.capacity, PEAK_WINDOW, CAPACITY_SIGMAS)
            worst.append((adaptive["peak_by_region"][region.name] - allowed, region.name,
                          adaptive["peak_by_region"][region.name], allowed))
        over, name, peak, allowed = max(worst)
        static_over = static["peak_load_over_capacity"] > 1.0
        out.append(m.Goal("no region over capacity", over <= 0,
                          f"adaptive peak {peak:.2f} × capacity in {name} (allowed {allowed:.2f} for counting noise); "
                          f"static {static['peak_load_over_capacity']:.2f}"
                          + (" (static overloads a region)" if static_over else ""), scenario, "adaptive"))
        s_lat, a_lat = static["mean_latency_ms"], adaptive["mean_latency_ms"]
        gain = 1.0 - a_lat / s_lat
        if scenario == "skewed":
            out.append(m.Goal("static overloads a region", static_over,
                              f"static peak {static['peak_load_over_capacity']:.2f} × capacity", scenario, "static"))
            out.append(m.Goal("mean latency ≥ 20 % lower", gain >= GOAL_LATENCY_GAIN,
                              f"{a_lat:.1f} ms against {s_lat:.1f} ms: {100 * gain:.1f} % lower", scenario, "adaptive"))
        else:
            out.append(m.Goal("mean latency not worse", a_lat <= s_lat * (1 + GOAL_NOT_WORSE),
                              f"{a_lat:.1f} ms against {s_lat:.1f} ms ({-100 * gain:+.1f} %; allowed "
                              f"+{100 * GOAL_NOT_WORSE:.0f} %)", scenario, "adaptive"))
        rev = adaptive["weight_reversals_per_hour"]
        out.append(m.Goal("no weight oscillation", rev <= GOAL_REVERSALS_PER_HOUR,
                          f"{rev:.2f} reversals per simulated hour in the worst learned weight (allowed "
                          f"{GOAL_REVERSALS_PER_HOUR})", scenario, "adaptive"))
        for strategy, r in (("static", static), ("adaptive", adaptive)):
            mape = r["forecast_mape"]
            complete = len(r["mape_buckets"]) == r["expected_day3_buckets"]
            out.append(m.Goal("forecast MAPE < 10 % on day 3", mape is not None and mape < GOAL_MAPE and complete,
                              f"{'n/a' if mape is None else f'{mape:.1f} %'} over {len(r['mape_buckets'])} of "
                              f"{r['expected_day3_buckets']} buckets", scenario, strategy))
    return out


def git_describe(where: Path) -> str:
    """The commit (and whether the tree differs from it) of the checkout that holds `where`."""
    try:
        return subprocess.run(["git", "-C", str(where), "describe", "--always", "--dirty", "--abbrev=12"],
                              capture_output=True, text=True, timeout=10).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1-minute days (make sim); goals reported, not enforced")
    parser.add_argument("--scenarios", default=",".join(m.SCENARIOS), help="comma-separated")
    parser.add_argument("--strategies", default="static,adaptive", help="comma-separated")
    parser.add_argument("--parallel", type=int, default=4, help="runs at once (default 4: all of them)")
    parser.add_argument("--days", type=int, default=None, help="simulated days (at least 3)")
    parser.add_argument("--out", default=None, help="results directory [$BUILD/sim/<time>]")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--run-one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        return run_one(Path(args.run_one))

    mode = "quick" if args.quick else "full"
    params = dict(MODES[mode])
    if args.days is not None:
        params["days"] = args.days
    if params["days"] < 3:
        parser.error("--days: at least 3 (the forecast MAPE is taken on day 3)")
    build = Path(os.environ.get("BUILD", "build"))
    build = build if build.is_absolute() else ROOT / build
    meridiand = build / "bin" / "meridiand"
    if not meridiand.is_file():
        print(f"sim: {meridiand} not found: make build first", file=sys.stderr)
        return 2
    scenarios = [s for s in args.scenarios.split(",") if s]
    strategies = [s for s in args.strategies.split(",") if s]
    for s in scenarios:
        if s not in m.SCENARIOS:
            parser.error(f"unknown scenario {s}")
    for s in strategies:
        if s not in STRATEGIES:
            parser.error(f"unknown strategy {s} (one of {', '.join(STRATEGIES)})")
    out_dir = Path(args.out) if args.out else build / "sim" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="meridian-sim."))
    # A copy of the binary: a rebuild during the runs does not change what is measured.
    binary = tmp / "meridiand"
    shutil.copy2(meridiand, binary)
    mmdb = build / "geoip" / "test-geo.mmdb"
    if not mmdb.is_file():
        mmdb = tmp / "test-geo.mmdb"
        subprocess.run([str(build / "bin" / "mmdb-build"), "--input", str(ROOT / "geoip" / "test-geo.csv"),
                        "--output", str(mmdb)], check=True)
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()[:16]
    day = params["day_buckets"] * BUCKET_SECONDS
    print(f"sim: {mode} mode: {params['days']} simulated days of {day} s ({params['day_buckets']} buckets of "
          f"{BUCKET_SECONDS} s); scenarios {', '.join(scenarios)}; strategies {', '.join(strategies)}; "
          f"{args.parallel} at once", file=sys.stderr)
    print(f"sim: meridiand {meridiand} (sha256 {digest}…), tree {git_describe(build.parent)}; results in {out_dir}",
          file=sys.stderr)

    jobs = []
    for si, scenario in enumerate(scenarios):
        for strategy in strategies:
            i = len(jobs)
            work = tmp / f"{scenario}-{strategy}"
            spec = {"scenario": scenario, "strategy": strategy, "workdir": str(work), "meridiand": str(binary),
                    "mmdb": str(mmdb), "geo_csv": str(ROOT / "geoip" / "test-geo.csv"), "days": params["days"],
                    "day_buckets": params["day_buckets"], "address_prefix": f"127.77.{10 + i}.",
                    "seed": 1000 + si, "result": str(work / "result.json")}
            work.mkdir(parents=True)
            (work / "spec.json").write_text(json.dumps(spec))
            jobs.append(spec)

    results: Dict[tuple, dict] = {}
    running: List[tuple] = []
    queue = list(jobs)
    bound = params["days"] * day + 120
    interrupted = False

    def reap(job, proc, started):
        try:
            result = json.loads(Path(job["result"]).read_text())
        except (OSError, ValueError):
            result = {"error": f"no result (exit {proc.returncode})"}
        results[(job["scenario"], job["strategy"])] = result
        work = Path(job["workdir"])
        for f in ("timeline.csv", "samples.jsonl", "meridiand.stderr", "meridian.toml", "zones/sim.toml"):
            if (work / f).exists():
                shutil.copy2(work / f, out_dir / f"{job['scenario']}-{job['strategy']}-{Path(f).name}")
        status = "error: " + result["error"] if "error" in result else "done"
        print(f"sim: {job['scenario']}/{job['strategy']} {status} after {time.time() - started:.0f} s",
              file=sys.stderr)

    try:
        while queue or running:
            while queue and len(running) < max(1, args.parallel):
                job = queue.pop(0)
                proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--run-one",
                                         str(Path(job["workdir"]) / "spec.json")], preexec_fn=die_with_parent)
                running.append((job, proc, time.time()))
            time.sleep(0.5)
            for entry in list(running):
                job, proc, started = entry
                if proc.poll() is None and time.time() - started > bound:
                    proc.terminate()
                    try:
                        proc.wait(15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
                if proc.poll() is not None:
                    running.remove(entry)
                    reap(job, proc, started)
    except KeyboardInterrupt:
        interrupted = True
        for job, proc, _ in running:
            proc.terminate()
        for job, proc, _ in running:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    if interrupted:
        return 2

    checked = goals(results) if "static" in strategies and "adaptive" in strategies else []
    summary = {"mode": mode, "params": params, "tree": git_describe(build.parent), "simulator_tree": git_describe(ROOT),
               "meridiand_sha256": digest,
               "results": {f"{k[0]}/{k[1]}": v for k, v in results.items()},
               "goals": [g.__dict__ for g in checked]}
    (out_dir / "results.json").write_text(json.dumps(summary, indent=1) + "\n")

    print("", file=sys.stderr)
    for (scenario, strategy), r in sorted(results.items()):
        if "error" in r:
            continue
        peaks = ", ".join(f"{k} {v:.2f}" for k, v in r["peak_by_region"].items())
        print(f"sim: {scenario}/{strategy}: {r['answers']} answers ({r['lost']} lost, {r['errors']} errors); "
              f"peak load/capacity {peaks}; {r['status_samples']} /status samples", file=sys.stderr)
    lines = []
    for g in checked:
        verdict = "PASS" if g.passed else "FAIL"
        where = f"{g.scenario}" + (f"/{g.strategy}" if g.strategy else "")
        lines.append(f"sim: {verdict} {where}: {g.name}: {g.detail}")
    enforce = mode == "full"
    missed = [g for g in checked if not g.passed]
    for line in lines:
        print(line)
    if missed and not enforce:
        print(f"sim: quick mode: {len(missed)} goal(s) missed, not enforced (the full mode, make bench, enforces them)")
    failed_runs = [k for k, r in results.items() if "error" in r]
    for scenario in scenarios:
        for strategy in strategies:
            r = results.get((scenario, strategy), {"error": "not run"})
            if "error" in r:
                print(f"sim: scenario={scenario} strategy={strategy} error={r['error']!r}")
                continue
            figures = m.RunFigures(scenario, strategy, r["peak_load_over_capacity"], r["peak_by_region"],
                                   r["mean_latency_ms"], r["weight_reversals_per_hour"], r["forecast_mape"])
            print(figures.line())
    if failed_runs:
        return 2
    return 1 if missed and enforce else 0


if __name__ == "__main__":
    sys.exit(main())
