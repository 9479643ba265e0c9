"""The closed-loop simulator's pure model (tools/sim/model.py): the daily curve, the latency model,
reversal counting, MAPE, peak load, and the client places read from geoip/test-geo.csv. Fast: no
process, no socket."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "sim"))

import model as m  # noqa: E402


@pytest.fixture(scope="module")
def places():
    return m.load_places(REPO / "geoip" / "test-geo.csv")


# --- the daily curve ----------------------------------------------------------------------------


def test_daily_shape_peaks_at_the_peak_hour_and_bottoms_twelve_hours_later():
    assert m.daily_shape(m.PEAK_LOCAL_HOUR) == pytest.approx(1.0)
    assert m.daily_shape((m.PEAK_LOCAL_HOUR + 12) % 24) == pytest.approx(m.TROUGH)
    values = [m.daily_shape(h / 10) for h in range(240)]
    assert min(values) >= m.TROUGH - 1e-12 and max(values) <= 1.0 + 1e-12
    # One day is one period.
    assert m.daily_shape(3.0) == pytest.approx(m.daily_shape(27.0))


def test_local_hour_follows_longitude():
    assert m.local_hour(12.0, 0.0) == pytest.approx(12.0)
    assert m.local_hour(12.0, -45.0) == pytest.approx(9.0)  # three hours west
    assert m.local_hour(23.0, 30.0) == pytest.approx(1.0)  # past midnight wraps


def test_place_rate_moves_around_the_world(places):
    """São Paulo's peak comes about 8.5 hours after Frankfurt's (46.6° + 8.7° of longitude)."""
    br, de = places["BR"], places["DE"]

    def peak_hour(place):
        return max((h / 100 for h in range(2400)), key=lambda h: m.place_rate(1.0, place, h))

    gap = (peak_hour(br) - peak_hour(de)) % 24
    assert gap == pytest.approx((de.longitude - br.longitude) / 15, abs=0.02)
    assert m.place_rate(80.0, br, peak_hour(br)) == pytest.approx(80.0)


# --- places -------------------------------------------------------------------------------------


def test_places_come_from_the_test_geo_database_outside_loopback_and_documentation_space(places):
    assert set(places) == set(m.PLACE_KEYS)
    assert str(places["BR"].network) == "200.0.0.0/16"
    assert str(places["US-CA"].network) == "8.8.0.0/16"  # not 127.0.0.3, San Francisco's loopback
    assert str(places["GB"].network) == "81.2.69.0/24"
    assert str(places["DE"].network) == "5.145.0.0/16"  # not 192.0.2.0/24, documentation space
    assert places["JP"].continent == "AS" and places["GB"].continent == "EU"
    for key in m.SCENARIOS["skewed"].peaks:
        assert key in places


def test_a_place_missing_from_the_csv_is_an_error(tmp_path):
    csv = tmp_path / "geo.csv"
    csv.write_text("network,continent,country,subdivision,asn,as_org,latitude,longitude\n"
                   "200.0.0.0/16,SA,BR,SP,,,-23.5505,-46.6333\n")
    assert m.load_places(csv, ["BR"])["BR"].latitude == pytest.approx(-23.5505)
    with pytest.raises(ValueError, match="JP"):
        m.load_places(csv, ["BR", "JP"])


# --- latency model ------------------------------------------------------------------------------


def test_great_circle_distances():
    assert m.great_circle_km(0, 0, 0, 0) == 0
    # A quarter of the equator.
    assert m.great_circle_km(0, 0, 0, 90) == pytest.approx(math.pi * m.EARTH_RADIUS_KM / 2)
    # São Paulo to Ashburn, about 7,600 km.
    assert 7500 < m.great_circle_km(-23.55, -46.63, 39.04, -77.49) < 7800


def test_rtt_is_access_plus_stretched_fibre():
    assert m.rtt_ms(0) == m.RTT_ACCESS_MS
    assert m.rtt_ms(1000) == pytest.approx(m.RTT_ACCESS_MS + m.PATH_STRETCH * 10)


def test_server_delay_grows_with_utilisation_and_is_capped():
    assert m.server_delay_ms(0.0) == m.BASE_DELAY_MS
    assert m.server_delay_ms(0.5) == pytest.approx(2 * m.BASE_DELAY_MS)
    assert m.server_delay_ms(0.8) == pytest.approx(5 * m.BASE_DELAY_MS)
    assert m.server_delay_ms(0.97) == m.MAX_DELAY_MS
    assert m.server_delay_ms(3.0) == m.MAX_DELAY_MS
    assert m.server_delay_ms(-0.1) == m.BASE_DELAY_MS
    delays = [m.server_delay_ms(u / 100) for u in range(0, 120)]
    assert delays == sorted(delays)


def test_utilisation_at_capacity_is_the_headroom():
    assert m.utilisation(50, 50) == pytest.approx(m.HEADROOM)
    assert m.utilisation(0, 50) == 0


def test_client_latency_is_rtt_plus_server_delay(places):
    sa = next(r for r in m.REGIONS if r.name == "sa-east")
    us = next(r for r in m.REGIONS if r.name == "us-east")
    br = places["BR"]
    near = m.client_latency_ms(br, sa, 0.0)
    assert near == pytest.approx(m.rtt_ms(m.great_circle_km(br.latitude, br.longitude, sa.latitude, sa.longitude))
                                 + m.BASE_DELAY_MS)
    # Next door but saturated is slower than across a continent and idle.
    assert m.client_latency_ms(br, sa, 2.0) > m.client_latency_ms(br, us, 0.3) > near


def test_static_routing_plan(places):
    assert m.nearest_region(places["BR"]).name == "sa-east"
    assert m.nearest_region(places["US-CA"]).name == "us-east"
    assert m.static_shares(places["GB"]) == {"eu-west": 0.5, "eu-central": 0.5}
    # The skewed scenario overloads sa-east under static routing; the balanced one overloads none.
    def peaks(name):
        out = {r.name: 0.0 for r in m.REGIONS}
        for h in range(240):
            for k, v in m.planned_static_load(m.SCENARIOS[name], places, h / 10).items():
                out[k] = max(out[k], v)
        return {r.name: out[r.name] / r.capacity for r in m.REGIONS}

    skewed = peaks("skewed")
    assert skewed["sa-east"] > 2 and max(v for k, v in skewed.items() if k != "sa-east") < 1
    assert max(peaks("balanced").values()) < 0.9
    # Everything fits in the regions together: spilling can keep each under its capacity.
    total = max(sum(m.planned_static_load(m.SCENARIOS["skewed"], places, h / 10).values()) for h in range(240))
    assert total < 0.8 * sum(r.capacity for r in m.REGIONS)


# --- measurements -------------------------------------------------------------------------------


def test_reversals_count_swings_beyond_the_threshold_only():
    assert m.reversals([], 0.1) == 0
    assert m.reversals([0.5], 0.1) == 0
    assert m.reversals([0.1 * i for i in range(10)], 0.05) == 0  # a monotone drift
    assert m.reversals([0.5, 0.52, 0.49, 0.51, 0.48, 0.5], 0.05) == 0  # noise under the threshold
    assert m.reversals([0.0, 0.2, 0.0], 0.1) == 1
    assert m.reversals([0.0, 0.2, 0.0, 0.2, 0.0], 0.1) == 3
    assert m.reversals([1.0, 0.5, 1.0], 0.1) == 1  # down first
    # Down a long way in small steps, then up past the threshold from the lowest point: one.
    down = [1.0 - 0.02 * i for i in range(30)]
    assert m.reversals(down + [down[-1] + 0.15], 0.1) == 1
    # A swing back of exactly the threshold does not count; more does.
    assert m.reversals([0.0, 0.5, 0.4], 0.1) == 0
    assert m.reversals([0.0, 0.5, 0.39], 0.1) == 1
    # A daily curve sampled finely turns twice a day.
    day = [m.daily_shape(h / 10) for h in range(480)]
    assert m.reversals(day, 0.05) == 4  # from 00:00: troughs at 08:00, peaks at 20:00, two days


def test_mape_leaves_out_missing_forecasts_and_zero_actuals():
    assert m.mape_percent([]) is None
    assert m.mape_percent([(10.0, None)]) is None
    assert m.mape_percent([(0.0, 5.0)]) is None
    assert m.mape_percent([(10.0, 9.0), (20.0, 22.0)]) == pytest.approx(10.0)
    assert m.mape_percent([(10.0, 9.0), (10.0, None), (0.0, 3.0)]) == pytest.approx(10.0)


def test_peak_over_capacity_takes_the_busiest_whole_window():
    times = [0.5] * 10 + [10.5] * 30 + [25.0] * 100  # the last window is not whole by `end`
    assert m.window_rates(times, 0.0, 25.0, 10.0) == [1.0, 3.0]
    assert m.peak_over_capacity(times, 2.0, 0.0, 25.0, 10.0) == pytest.approx(1.5)
    assert m.peak_over_capacity([], 2.0, 0.0, 25.0, 10.0) == 0.0


def test_capacity_noise_tolerance():
    # 400 answers in a window: a Poisson standard deviation of 5 %, three of them 15 %.
    assert m.capacity_noise_tolerance(40, 10) == pytest.approx(0.15)


def test_the_result_line_has_the_issue_s_format():
    line = m.RunFigures("skewed", "adaptive", 0.984, {}, 88.25, 0.0416, 3.14).line()
    assert line == ("sim: scenario=skewed strategy=adaptive peak_load_over_capacity=0.98 mean_latency_ms=88.2 "
                    "weight_reversals_per_hour=0.04 forecast_mape=3.1")
    assert m.RunFigures("a", "static", 1, {}, 1, 0, None).line().endswith("forecast_mape=n/a")


def test_hour_means_average_each_whole_hour():
    samples = [(0.0, 1.0), (0.5, 3.0), (1.2, 5.0), (2.5, 7.0), (3.9, 100.0)]
    assert m.hour_means(samples, 0.0, 3.0, 1.0) == [2.0, 5.0, 7.0]  # the 4th hour is not whole by `end`
    assert m.hour_means(samples, 1.0, 3.0, 1.0) == [5.0, 7.0]
    assert m.hour_means([(0.1, 1.0), (2.1, 2.0)], 0.0, 3.0, 1.0) == [1.0, 2.0]  # an hour with no sample
    # Counting noise around a steady weight averages out; a daily swing does not.
    noisy = [(i * 0.5, 0.4 + (0.06 if i % 2 else -0.06)) for i in range(200)]
    assert m.reversals([v for _, v in noisy], 0.1) > 50
    assert m.reversals(m.hour_means(noisy, 0.0, 100.0, 10.0), 0.05) == 0
