"""A geo database replaced on disk while meridiand runs: the new data is used within seconds; a
broken replacement is reported (naming the file) and the previous data stays in use."""

from __future__ import annotations

import os
import time

import dns.rcode

from geo import build_geo_mmdb, example_geo_zone_files
from paths import ORIGIN
from wire import answer_addresses, ecs, make_query, wire_ecs

APP = f"app.{ORIGIN}"
X = "100.64.0.0/16"  # network X: Europe in database A, North America in database B
OTHER = "100.70.0.0/16"  # always Asia
EU = {"192.0.2.110", "192.0.2.120"}
US = {"198.51.100.10", "198.51.100.20"}
AP = {"203.0.113.10", "203.0.113.20"}
HEADER = "network,continent,country,subdivision,asn,as_org,latitude,longitude"
RELOAD_DEADLINE = 5.0  # the server polls the file about once a second


def write_csv(path, x_row):
    path.write_text("\n".join([HEADER, x_row, f"{OTHER},AS,JP,13,,,35.6762,139.6503"]) + "\n")
    return path


def answer_for(srv, subnet):
    q = make_query(APP, "A", edns=0, options=[ecs(subnet)])
    wire = srv.udp_raw(q.to_wire())
    assert wire is not None, "no answer"
    import dns.message

    reply = dns.message.from_wire(wire)
    assert reply.rcode() == dns.rcode.NOERROR
    got = answer_addresses(reply)
    assert len(got) == 1, str(reply)
    return got[0], wire_ecs(wire)


def wait_for(srv, subnet, wanted, deadline):
    """Poll until the answer for `subnet` is in `wanted`; the seconds it took, or None."""
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        assert srv.alive(), f"meridiand died\n{srv.describe()}"
        address, _ = answer_for(srv, subnet)
        if address in wanted:
            return time.monotonic() - start
        time.sleep(0.1)
    return None


def replace_by_rename(source_bytes: bytes, target):
    tmp = target.with_name(target.name + ".new")
    tmp.write_bytes(source_bytes)
    os.replace(tmp, target)


def test_database_replaced_by_rename_is_picked_up_and_garbage_is_refused(start_server, tmp_path):
    db_a = build_geo_mmdb(write_csv(tmp_path / "a.csv", f"{X},EU,GB,ENG,,,51.5074,-0.1278"), tmp_path / "a.mmdb")
    db_b = build_geo_mmdb(write_csv(tmp_path / "b.csv", f"{X},NA,US,NY,,,40.7128,-74.0060"), tmp_path / "b.mmdb")
    live_dir = tmp_path / "live"
    live_dir.mkdir()
    live = live_dir / "geo.mmdb"
    live.write_bytes(db_a.read_bytes())

    srv = start_server(zone_files=example_geo_zone_files(), geoip=[live])
    for _ in range(20):
        address, echoed = answer_for(srv, X)
        assert address in EU, f"database A puts {X} in Europe, got {address}"
        assert echoed == [(1, 16, 16, bytes([100, 64]))]
    assert answer_for(srv, OTHER)[0] in AP

    # B renamed over A
    time.sleep(1.1)  # a new second, so that even an mtime-only watcher sees a change
    replace_by_rename(db_b.read_bytes(), live)
    took = wait_for(srv, X, US, RELOAD_DEADLINE)
    assert took is not None, f"still answering from database A {RELOAD_DEADLINE} s after the rename\n{srv.describe()}"
    for _ in range(20):
        address, echoed = answer_for(srv, X)
        assert address in US, f"answer went back to {address} after switching to database B"
        assert echoed == [(1, 16, 16, bytes([100, 64]))]
    assert answer_for(srv, OTHER)[0] in AP

    # garbage renamed over B: an error naming the file; B's data stays in use
    errors_before = srv.stderr().count("error")
    time.sleep(1.1)
    replace_by_rename(b"this is not a MaxMind DB file\n" * 64, live)
    start = time.monotonic()
    logged = None
    while time.monotonic() - start < RELOAD_DEADLINE:
        assert srv.alive(), f"meridiand died on a broken database\n{srv.describe()}"
        lines = [ln for ln in srv.stderr().splitlines() if "error" in ln and str(live) in ln]
        if lines and srv.stderr().count("error") > errors_before:
            logged = lines
            break
        address, _ = answer_for(srv, X)
        assert address in US, f"answer changed to {address} after a broken database was installed"
        time.sleep(0.1)
    assert logged, f"no error naming {live} within {RELOAD_DEADLINE} s\n{srv.describe()}"
    for _ in range(30):
        address, echoed = answer_for(srv, X)
        assert address in US, f"answer {address}: the broken file replaced database B"
        assert echoed == [(1, 16, 16, bytes([100, 64]))]
        assert answer_for(srv, OTHER)[0] in AP
    time.sleep(1.2)  # the watcher polls again; still the same file, still B
    assert answer_for(srv, X)[0] in US
    assert srv.alive()

    # a good database again: back to A
    replace_by_rename(db_a.read_bytes(), live)
    took = wait_for(srv, X, EU, RELOAD_DEADLINE)
    assert took is not None, f"database A was not picked up after the broken file\n{srv.describe()}"
    assert srv.alive()


def test_database_deleted_keeps_the_previous_data(start_server, tmp_path, test_geo_mmdb):
    live = tmp_path / "geo.mmdb"
    live.write_bytes(test_geo_mmdb.read_bytes())
    srv = start_server(zone_files=example_geo_zone_files(), geoip=[live])
    assert answer_for(srv, "81.2.69.0/24")[0] in EU
    live.unlink()
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        assert srv.alive(), f"meridiand died when its database was deleted\n{srv.describe()}"
        address, echoed = answer_for(srv, "81.2.69.0/24")
        assert address in EU
        assert echoed == [(1, 24, 24, bytes([81, 2, 69]))]
        time.sleep(0.2)
