"""The closed-loop simulator's model: places, the daily traffic curve, the network and server
latency model, the scenarios, and the pure functions that turn measurements into the reported
figures (peak load over capacity, reversals of learned weights, forecast MAPE).

Nothing here opens a socket or starts a process (simulate.py does); tests/sim/ tests it.
Every constant is explained in tools/sim/README.md.
"""

from __future__ import annotations

import csv
import ipaddress
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

# --- latency model ------------------------------------------------------------------------------
BASE_DELAY_MS = 10.0  # a region's server time for one request when idle
MAX_DELAY_MS = 200.0  # saturated (utilisation ≥ 0.95): the queue is full, requests wait this long
HEADROOM = 0.8  # a region's `capacity` is 80 % of the rate that saturates it
RTT_ACCESS_MS = 5.0  # the client's access network, paid even next door
FIBRE_KM_PER_MS_RTT = 100.0  # light in fibre: ~200 km per ms one way, so 100 km per ms of round trip
PATH_STRETCH = 1.5  # real routes are this much longer than the great circle
EARTH_RADIUS_KM = 6371.0

# --- demand -------------------------------------------------------------------------------------
TROUGH = 0.3  # a country's quietest hour has this share of its peak rate
PEAK_LOCAL_HOUR = 20.0  # … and its busiest is 20:00 local time
START_UTC_HOUR = 11.0  # the simulated clock starts at 11:00 UTC (08:00 in São Paulo, its trough)


@dataclass(frozen=True)
class Place:
    """A client country (or subdivision) from geoip/test-geo.csv: its IPv4 network and location."""

    key: str  # "BR", "US-CA"
    continent: str
    network: ipaddress.IPv4Network
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Region:
    name: str
    latitude: float
    longitude: float
    address: str  # the A record Meridian answers with (documentation space: never contacted)
    capacity: int  # answers per second Meridian may send it (80 % of what saturates it)


# São Paulo is small; Ashburn is the big hub; Dublin and Frankfurt share Europe.
REGIONS: Tuple[Region, ...] = (
    Region("sa-east", -23.55, -46.63, "192.0.2.1", 50),
    Region("us-east", 39.04, -77.49, "192.0.2.2", 140),
    Region("eu-west", 53.35, -6.26, "192.0.2.3", 45),
    Region("eu-central", 50.11, 8.68, "192.0.2.4", 45),
)
# Clients of these continents share the European regions by weight (1:1 configured); everyone
# else gets the nearest region (docs/POLICY.md: `nearest`), in both strategies.
SHARED_ROUTE_CONTINENT = "EU"
SHARED_ROUTE_REGIONS = ("eu-west", "eu-central")
# Regions whose capacity or load factors the adaptive strategy sheds or spills by: all of them.
SHED_LOW, SHED_HIGH = 85.0, 100.0  # percent of the saturating rate (the load the targets report)


@dataclass(frozen=True)
class Scenario:
    name: str
    peaks: Dict[str, float]  # place key -> answers per second at its local peak hour
    description: str = ""


SCENARIOS: Dict[str, Scenario] = {
    # Most demand comes from South America, whose nearest region (sa-east) is the small one.
    "skewed": Scenario(
        "skewed",
        {"BR": 100.0, "AR": 35.0, "US-CA": 14.0, "US-TX": 10.0, "CA": 8.0, "GB": 12.0, "DE": 12.0, "FR": 10.0,
         "IE": 4.0, "JP": 6.0, "IN": 8.0, "ZA": 6.0},
        "South America sends most queries; sa-east is nearest to it and too small",
    ),
    # Demand spread over the continents, each region sized for the clients nearest to it.
    "balanced": Scenario(
        "balanced",
        {"BR": 22.0, "AR": 8.0, "US-CA": 40.0, "US-TX": 30.0, "CA": 20.0, "GB": 16.0, "DE": 16.0, "FR": 14.0,
         "IE": 6.0, "JP": 8.0, "IN": 10.0, "ZA": 6.0},
        "demand spread over the continents; no region needs more than its capacity",
    ),
}
PLACE_KEYS = ("BR", "AR", "US-CA", "US-TX", "CA", "GB", "DE", "FR", "IE", "JP", "IN", "ZA")
# Networks in geoip/test-geo.csv that are not a country's clients (loopback test addresses and
# documentation ranges standing in for a country).
NOT_CLIENTS = [ipaddress.ip_network(n) for n in ("127.0.0.0/8", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]


def load_places(csv_path: Path, keys: Iterable[str] = PLACE_KEYS) -> Dict[str, Place]:
    """The client places of `keys` from geoip/test-geo.csv: the first IPv4 network with that
    country (and subdivision, for "US-CA") and a location, outside loopback and documentation
    space, so the location used here is exactly the one meridiand looks up."""
    wanted = set(keys)
    found: Dict[str, Place] = {}
    with open(csv_path, newline="") as f:
        rows = (line for line in f if line.strip() and not line.lstrip().startswith("#"))
        for row in csv.DictReader(rows):
            try:
                net = ipaddress.ip_network(row["network"])
            except ValueError:
                continue
            if net.version != 4 or any(net.subnet_of(n) for n in NOT_CLIENTS):
                continue
            if not row["latitude"] or not row["longitude"]:
                continue
            country, sub = row["country"], row["subdivision"]
            for key in (f"{country}-{sub}" if sub else None, country):
                if key in wanted and key not in found:
                    found[key] = Place(key, row["continent"], net, float(row["latitude"]), float(row["longitude"]))
                    break
    missing = wanted - set(found)
    if missing:
        raise ValueError(f"{csv_path}: no client network for {', '.join(sorted(missing))}")
    return found


# --- geometry and latency -----------------------------------------------------------------------


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance on a sphere of the Earth's mean radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def rtt_ms(km: float) -> float:
    """Network round trip from a client to a region `km` away (great circle)."""
    return RTT_ACCESS_MS + PATH_STRETCH * km / FIBRE_KM_PER_MS_RTT


def utilisation(answers_per_second: float, capacity: float) -> float:
    """The share of a region's saturating rate (capacity / HEADROOM) that it is being sent."""
    return answers_per_second * HEADROOM / capacity


def server_delay_ms(rho: float) -> float:
    """A region's time to serve a request at utilisation `rho`: an M/M/1 queue's BASE / (1 − ρ),
    capped at MAX_DELAY_MS (reached at ρ = 0.95; beyond, the queue is full)."""
    if rho >= 1.0:
        return MAX_DELAY_MS
    return min(MAX_DELAY_MS, BASE_DELAY_MS / (1.0 - max(0.0, rho)))


def client_latency_ms(place: Place, region: Region, rho: float) -> float:
    """Modelled latency of one client request: the round trip to the region plus its server time."""
    return rtt_ms(great_circle_km(place.latitude, place.longitude, region.latitude, region.longitude)) + \
        server_delay_ms(rho)


# --- the daily curve ----------------------------------------------------------------------------


def local_hour(utc_hour: float, longitude: float) -> float:
    """Solar local time: 15° of longitude per hour."""
    return (utc_hour + longitude / 15.0) % 24.0


def daily_shape(hour: float) -> float:
    """A country's rate at local `hour` as a share of its peak: a sinusoid from TROUGH (at
    PEAK_LOCAL_HOUR − 12) to 1 (at PEAK_LOCAL_HOUR)."""
    return TROUGH + (1.0 - TROUGH) * 0.5 * (1.0 + math.cos(2 * math.pi * (hour - PEAK_LOCAL_HOUR) / 24.0))


def place_rate(peak: float, place: Place, sim_hour: float) -> float:
    """Queries per second from `place` at `sim_hour` simulated hours after the start."""
    return peak * daily_shape(local_hour(START_UTC_HOUR + sim_hour, place.longitude))


# --- static routing (for planning and the README's table; the run measures the real server) --------


def nearest_region(place: Place, regions: Sequence[Region] = REGIONS) -> Region:
    return min(regions, key=lambda r: great_circle_km(place.latitude, place.longitude, r.latitude, r.longitude))


def static_shares(place: Place, regions: Sequence[Region] = REGIONS) -> Dict[str, float]:
    """Where the static configuration sends a place's clients: the shared route 1:1, else nearest."""
    if place.continent == SHARED_ROUTE_CONTINENT:
        return {name: 1.0 / len(SHARED_ROUTE_REGIONS) for name in SHARED_ROUTE_REGIONS}
    return {nearest_region(place, regions).name: 1.0}


def planned_static_load(scenario: Scenario, places: Dict[str, Place], sim_hour: float,
                        regions: Sequence[Region] = REGIONS) -> Dict[str, float]:
    """Answers per second each region would get under static routing at `sim_hour`."""
    load = {r.name: 0.0 for r in regions}
    for key, peak in scenario.peaks.items():
        rate = place_rate(peak, places[key], sim_hour)
        for name, share in static_shares(places[key], regions).items():
            load[name] += rate * share
    return load


# --- measurements -------------------------------------------------------------------------------


def window_rates(times: Sequence[float], start: float, end: float, window: float) -> List[float]:
    """Events per second in consecutive windows of `window` seconds from `start`; only whole
    windows that end by `end` count."""
    n = int((end - start) // window)
    counts = [0] * n
    for t in times:
        i = int((t - start) // window)
        if 0 <= i < n:
            counts[i] += 1
    return [c / window for c in counts]


def peak_over_capacity(times: Sequence[float], capacity: float, start: float, end: float, window: float) -> float:
    rates = window_rates(times, start, end, window)
    return max(rates, default=0.0) / capacity


def capacity_noise_tolerance(capacity: float, window: float, sigmas: float = 3.0) -> float:
    """How far above 1 a region held exactly at its capacity reads in the busiest of its windows
    from counting noise alone: `sigmas` standard deviations of a Poisson count of capacity × window."""
    return sigmas / math.sqrt(capacity * window)


def reversals(values: Sequence[float], threshold: float) -> int:
    """Direction changes of a series, a move counting only once it goes more than `threshold`
    from the last turning point (a zig-zag filter): wiggles within the threshold never count, a
    monotone drift never counts, and every swing back of more than the threshold counts once."""
    if not values:
        return 0
    count = 0
    direction = 0  # of the current swing: +1 up, -1 down, 0 before the first swing
    high = low = extreme = values[0]
    for v in values[1:]:
        if direction == 0:
            high, low = max(high, v), min(low, v)
            if v - low > threshold:
                direction, extreme = 1, v
            elif high - v > threshold:
                direction, extreme = -1, v
        elif direction == 1:
            if v > extreme:
                extreme = v
            elif extreme - v > threshold:
                count, direction, extreme = count + 1, -1, v
        else:
            if v < extreme:
                extreme = v
            elif v - extreme > threshold:
                count, direction, extreme = count + 1, 1, v
    return count


def hour_means(samples: Sequence[Tuple[float, float]], start: float, end: float, hour: float) -> List[float]:
    """The mean of (time, value) samples in each whole simulated hour of `hour` seconds from
    `start` to `end`; hours without a sample are left out."""
    n = int((end - start) // hour)
    sums, counts = [0.0] * n, [0] * n
    for t, v in samples:
        i = int((t - start) // hour)
        if 0 <= i < n:
            sums[i] += v
            counts[i] += 1
    return [s / c for s, c in zip(sums, counts) if c]


def mape_percent(points: Iterable[Tuple[float, Optional[float]]]) -> Optional[float]:
    """Mean absolute percentage error of (actual, forecast) pairs; pairs without a forecast or
    with an actual of 0 are left out (as the server's own MAPE does). None with no pair left."""
    errors = [abs(a - f) / a for a, f in points if f is not None and a > 0]
    if not errors:
        return None
    return 100.0 * sum(errors) / len(errors)


@dataclass
class Goal:
    name: str
    passed: bool
    detail: str
    scenario: str = ""
    strategy: str = ""


@dataclass
class RunFigures:
    scenario: str
    strategy: str
    peak_load_over_capacity: float
    peak_by_region: Dict[str, float] = field(default_factory=dict)
    mean_latency_ms: float = 0.0
    weight_reversals_per_hour: float = 0.0
    forecast_mape: Optional[float] = None

    def line(self) -> str:
        mape = "n/a" if self.forecast_mape is None else f"{self.forecast_mape:.1f}"
        return (f"sim: scenario={self.scenario} strategy={self.strategy} "
                f"peak_load_over_capacity={self.peak_load_over_capacity:.2f} "
                f"mean_latency_ms={self.mean_latency_ms:.1f} "
                f"weight_reversals_per_hour={self.weight_reversals_per_hour:.2f} forecast_mape={mape}")
