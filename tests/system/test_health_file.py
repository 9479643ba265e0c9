"""State-file health checks (`kind = "file"`, docs/HEALTH.md) with the example zone.

zones/ is copied to a temporary directory with its state file geo.example.com.health.json
(rewritten with every region "up", as checked in, so that a hand edit of the repository's copy
cannot change what these tests see), and served with a copy of the test geo database. From
source 127.0.0.2 (London in the test database, and the zone's `loopback-eu` CIDR set),
app.geo.example.com answers eu-west-1 (192.0.2.110, ttl 30). With eu-west-1 down, the first
route has nothing left, the next matching one (continent EU: eu-west-1, eu-central-1) answers
eu-central-1 (192.0.2.120) with pruned_ttl 10.

The file is polled every second at most and applied at once (no rise/fall): a change shows in
the answers within FILE_BOUND = 1 s poll + 1 s allowance (the write, stat granularity, the
test's 50 ms polling).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from pathlib import Path

import dns.rcode
import dns.rdatatype
import pytest

from geo import geo_csv_rows
from paths import EXAMPLE_ZONES, ORIGIN
from wire import ecs, make_query

APP = f"app.{ORIGIN}"
TTL = 30
PRUNED_TTL = 10
EU_WEST, EU_CENTRAL = "192.0.2.110", "192.0.2.120"
REGIONS = ["us-east-1", "us-west-1", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1"]
STATE_JSON = "geo.example.com.health.json"
STATE_TOML = "geo.example.com.health.toml"
ZONE = "geo.example.com.toml"
LONDON = "127.0.0.2"
FILE_BOUND = 2.0

# An EU client elsewhere than the loopback sets: its route is continent EU (eu-west-1 ×3,
# eu-central-1 ×1), asked for through ECS.
EU_ROW = next(
    r for r in geo_csv_rows() if r.continent == "EU" and r.network.version == 4 and not r.network.is_loopback
)


def all_up() -> dict:
    return {"regions": {name: "up" for name in REGIONS}}


def write_in_place(path: Path, text: str) -> None:
    """Rewrite the file where it is (as an editor or `echo >` does). A half-written file read by
    the server is merely "cannot be parsed" (logged, changes nothing) and the completed write
    changes the file's stat again, so it is read once more."""
    with open(path, "w") as f:
        f.write(text)


def write_atomically(path: Path, text: str) -> None:
    """Write a temporary file next to it and rename it over the old one (as configuration
    tools do). This changes the zone directory too."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_state(path: Path, regions: dict) -> None:
    state = all_up()
    state["regions"].update(regions)
    write_in_place(path, json.dumps(state, indent=2) + "\n")


@pytest.fixture
def example(tmp_path, start_server, test_geo_mmdb):
    """(server, zones directory): the example zones copied, with an all-up state file."""

    def _start(zone_text=None, state_name=STATE_JSON, state_text=None, serve_file=False):
        zdir = tmp_path / "zones"
        shutil.copytree(EXAMPLE_ZONES, zdir)
        if zone_text is not None:
            (zdir / ZONE).write_text(zone_text)
        (zdir / state_name).write_text(state_text if state_text is not None else json.dumps(all_up(), indent=2) + "\n")
        db = tmp_path / "test-geo.mmdb"
        shutil.copyfile(test_geo_mmdb, db)
        srv = start_server(zones=[zdir / ZONE] if serve_file else [zdir], geoip=[db])
        return srv, zdir

    return _start


def ask(srv, source=LONDON):
    """(addresses, ttl) of app's A answer from `source`."""
    r = srv.udp(make_query(APP, "A"), source=source)
    assert r.rcode() == dns.rcode.NOERROR, r
    addrs = [rd.address for rr in r.answer if rr.rdtype == dns.rdatatype.A for rd in rr]
    ttls = {rr.ttl for rr in r.answer}
    return addrs, (ttls.pop() if len(ttls) == 1 else ttls)


def ask_ecs(srv, subnet):
    r = srv.udp(make_query(APP, "A", edns=0, options=[ecs(subnet)]))
    assert r.rcode() == dns.rcode.NOERROR, r
    addrs = [rd.address for rr in r.answer if rr.rdtype == dns.rdatatype.A for rd in rr]
    ttls = {rr.ttl for rr in r.answer}
    return addrs, (ttls.pop() if len(ttls) == 1 else ttls)


def poll(srv, want, bound=FILE_BOUND, source=LONDON):
    """Seconds until ask() == want; fails (with the last answer) after bound + 1 s."""
    start = time.monotonic()
    last = None
    while time.monotonic() - start < bound + 1.0:
        last = ask(srv, source)
        if last == want:
            return time.monotonic() - start
        time.sleep(0.05)
    pytest.fail(f"answer {last} never became {want}\n{srv.describe()}")


def steady(srv, want, seconds, source=LONDON):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        got = ask(srv, source)
        assert got == want, f"{got}, expected {want}"
        time.sleep(0.05)


def wait_log(srv, pattern, bound=FILE_BOUND):
    rx = re.compile(pattern)
    start = time.monotonic()
    while time.monotonic() - start < bound + 1.0:
        m = rx.search(srv.stderr())
        if m:
            return m
        time.sleep(0.05)
    pytest.fail(f"no log line matching {pattern!r}\n{srv.describe()}")


def test_down_in_the_state_file_moves_the_answer_and_up_brings_it_back(example):
    srv, zdir = example()
    assert ask(srv) == ([EU_WEST], TTL)
    steady(srv, ([EU_WEST], TTL), 0.3)

    write_state(zdir / STATE_JSON, {"eu-west-1": "down"})
    moved = poll(srv, ([EU_CENTRAL], PRUNED_TTL))
    assert moved <= FILE_BOUND, f"the answer moved {moved:.2f} s after the write"
    steady(srv, ([EU_CENTRAL], PRUNED_TTL), 0.5)
    wait_log(srv, r"region eu-west-1 \(check ops\): healthy → unhealthy: state file says down")

    write_state(zdir / STATE_JSON, {"eu-west-1": "up"})
    back = poll(srv, ([EU_WEST], TTL))
    assert back <= FILE_BOUND, f"the answer came back {back:.2f} s after the write"
    steady(srv, ([EU_WEST], TTL), 0.3)
    wait_log(srv, r"region eu-west-1 \(check ops\): unhealthy → healthy")


def test_degraded_in_the_state_file(example):
    """eu-west-1 degraded: held back while eu-central-1 (healthy) is in the route (continent EU,
    through ECS: always eu-central-1, pruned TTL); the only candidate of London's CIDR route, it
    still answers there (degraded = "fallback"), and nothing was left out: full TTL."""
    srv, zdir = example()
    subnet = EU_ROW.subnet
    seen = {tuple(ask_ecs(srv, subnet)[0]) for _ in range(60)}
    assert seen == {(EU_WEST,), (EU_CENTRAL,)}, f"weighted 3:1 should show both EU regions: {seen}"

    write_state(zdir / STATE_JSON, {"eu-west-1": {"state": "degraded", "reason": "maintenance"}})
    wait_log(srv, r"region eu-west-1 \(check ops\): healthy → degraded: maintenance")
    for _ in range(30):
        assert ask_ecs(srv, subnet) == ([EU_CENTRAL], PRUNED_TTL)
    steady(srv, ([EU_WEST], TTL), 0.3)  # from London: the degraded region is the fallback

    write_state(zdir / STATE_JSON, {"eu-west-1": "up"})
    wait_log(srv, r"region eu-west-1 \(check ops\): degraded → healthy")
    answers = [ask_ecs(srv, subnet) for _ in range(60)]
    assert {tuple(a) for a, _ in answers} == {(EU_WEST,), (EU_CENTRAL,)}, answers
    assert {t for _, t in answers} == {TTL}


def test_malformed_state_file_is_logged_and_changes_nothing(example):
    srv, zdir = example()
    path = zdir / STATE_JSON
    write_state(path, {"eu-west-1": "down"})
    poll(srv, ([EU_CENTRAL], PRUNED_TTL))

    write_in_place(path, '{"regions": {"eu-west-1": "up",\n')  # cut short: not valid JSON
    m = wait_log(srv, r"meridiand error: health: (\S+)[^\n]*\n")
    assert Path(m.group(1).rstrip(":")).resolve() == path.resolve(), m.group(0)
    assert "not valid JSON" in m.group(0), m.group(0)
    assert srv.alive()
    steady(srv, ([EU_CENTRAL], PRUNED_TTL), 1.5)  # still down: the broken file changed nothing

    # valid again, and naming no region: "a region the file does not name is healthy"
    write_in_place(path, '{"regions": {}}\n')
    assert poll(srv, ([EU_WEST], TTL)) <= FILE_BOUND


@pytest.mark.parametrize("reload_by", ["sighup", "atomic-rename"])
def test_malformed_state_file_changes_nothing_across_a_reload(example, reload_by):
    """The same, with a configuration reload while the file is broken (a SIGHUP), or the broken
    file written by rename: that changes the watched zone directory but none of its zone files,
    so the server does not reload (the state files it keeps there change it all the time). The
    states must still be the previous ones: eu-west-1 stays down."""
    srv, zdir = example()
    path = zdir / STATE_JSON
    write_state(path, {"eu-west-1": "down"})
    poll(srv, ([EU_CENTRAL], PRUNED_TTL))

    broken = '{"regions": {"eu-west-1": "up",\n'
    if reload_by == "sighup":
        write_in_place(path, broken)
        wait_log(srv, r"meridiand error: health: \S+: not valid JSON")
        srv.proc.send_signal(signal.SIGHUP)
        wait_log(srv, r"meridiand info: reloaded ")
    else:
        write_atomically(path, broken)
        wait_log(srv, r"meridiand error: health: \S+: not valid JSON")
        time.sleep(1.5)  # the directory is polled each second
        assert "reloaded" not in srv.stderr(), "a state file's rename reloaded the configuration"
    assert srv.alive()
    steady(srv, ([EU_CENTRAL], PRUNED_TTL), 1.5)  # still down: the broken file changed nothing

    write_in_place(path, '{"regions": {}}\n')
    assert poll(srv, ([EU_WEST], TTL)) <= FILE_BOUND


def test_toml_state_file(example):
    zone_text = (EXAMPLE_ZONES / ZONE).read_text()
    assert f'file = "{STATE_JSON}"' in zone_text
    zone_text = zone_text.replace(f'file = "{STATE_JSON}"', f'file = "{STATE_TOML}"')
    # The zone file itself is served, not the directory: a directory is served by loading every
    # *.toml in it as a zone, the state file included.
    srv, zdir = example(zone_text, STATE_TOML, '[regions]\neu-west-1 = "up"\n', serve_file=True)
    assert ask(srv) == ([EU_WEST], TTL)

    write_in_place(zdir / STATE_TOML, '[regions]\neu-west-1 = "down"\n')
    assert poll(srv, ([EU_CENTRAL], PRUNED_TTL)) <= FILE_BOUND
    wait_log(srv, r"region eu-west-1 \(check ops\): healthy → unhealthy: state file says down")

    write_in_place(zdir / STATE_TOML, '[regions]\neu-west-1 = "up"\n')
    assert poll(srv, ([EU_WEST], TTL)) <= FILE_BOUND
