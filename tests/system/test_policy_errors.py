"""Steering policy validation through `meridiand --check`: each mistake exits 1 with
`path:line:column: message` pointing at the offending key, value or table."""

from __future__ import annotations

import json

import pytest

from config_toml import write_config
from diagnostics import line_col, parse_errors, same_file
from meridian_server import run_check

HEAD = """origin = "pol.test."
ttl = 300
records = \"\"\"
@    IN NS  ns1
ns1  IN A   192.0.2.1
www  IN A   192.0.2.2
{extra_records}\"\"\"

[soa]
primary = "ns1.pol.test."
contact = "hostmaster.pol.test."
serial = 1
refresh = 3600
retry = 600
expire = 1209600
negative_ttl = 60
ttl = 3600

[regions.a]
location = [50.0, 8.0]
addresses = ["192.0.2.10", "2001:db8::10"]

[regions.b]
location = [40.0, -74.0]
addresses = ["192.0.2.20"]
"""

GOOD_NAME = """
[names.app]
ttl = 30

[[names.app.route]]
when = { continent = "EU" }
to = ["a"]

[[names.app.route]]
to = ["b", "a"]
"""


def zone(policy: str, extra_records: str = "") -> str:
    return HEAD.format(extra_records=extra_records) + policy


def check(tmp_path, text, geoip=None):
    """--check on a config serving this one zone: (proc, all errors, zone path, config path)."""
    zdir = tmp_path / "zones"
    zdir.mkdir(exist_ok=True)
    zpath = zdir / "pol.test.toml"
    zpath.write_text(text)
    cfg = write_config(tmp_path, [zpath], geoip=geoip)
    proc = run_check(cfg)
    return proc, parse_errors(proc.stderr), zpath, cfg


def single_error(tmp_path, text, needle, keywords, occurrence=1, geoip=None, in_config=False):
    """Exactly one error, at `needle` (line and column) of the zone (or the config) file."""
    proc, errors, zpath, cfg = check(tmp_path, text, geoip)
    assert proc.returncode == 1, f"exit {proc.returncode}\nstderr:\n{proc.stderr}"
    assert len(errors) == 1, f"want one error line:\n{proc.stderr}"
    path, line, col, msg = errors[0]
    where = cfg if in_config else zpath
    assert same_file(path, where, where.parent), f"error in {path}, want {where}\n{proc.stderr}"
    source = where.read_text()
    want = line_col(source, needle, occurrence)
    assert (line, col) == want, f"position {line}:{col} != {want[0]}:{want[1]} ({needle!r})\n{proc.stderr}"
    for kw in keywords:
        assert kw in msg, f"{kw!r} not in {msg!r}"
    assert "error" in proc.stderr.splitlines()[-1], proc.stderr
    return msg


def test_a_good_policy_passes(tmp_path):
    proc, errors, _z, _c = check(tmp_path, zone(GOOD_NAME))
    assert proc.returncode == 0, proc.stderr
    assert errors == []


def test_route_naming_an_unknown_region(tmp_path):
    text = zone('\n[names.app]\n\n[[names.app.route]]\nto = ["a", "eu-wset-1"]\n')
    msg = single_error(tmp_path, text, '"eu-wset-1"', ["unknown region", "eu-wset-1"])
    assert msg == 'unknown region "eu-wset-1"'


def test_weights_naming_an_unknown_region(tmp_path):
    text = zone('\n[names.app]\n\n[[names.app.route]]\nto = ["a", "b"]\nweights = { a = 3, c = 1 }\n')
    single_error(tmp_path, text, "c = 1", ["unknown region", '"c"'])


def test_region_with_no_records(tmp_path):
    text = zone('\n[regions.empty]\nlocation = [1.0, 2.0]\n\n[names.app]\n\n[[names.app.route]]\nto = ["a", "empty"]\n')
    msg = single_error(tmp_path, text, "[regions.empty]", ["has no records", "empty"])
    assert msg.startswith("region empty has no records")


def test_region_with_addresses_and_a_cname(tmp_path):
    text = zone('\n[regions.both]\naddresses = ["192.0.2.30"]\ncname = "cdn.example.net."\n\n'
                '[names.app]\n\n[[names.app.route]]\nto = ["both"]\n')
    single_error(tmp_path, text, '"cdn.example.net."', ["both addresses and a cname"])


def test_region_location_out_of_range(tmp_path):
    text = zone('\n[regions.far]\nlocation = [91.0, 0.0]\naddresses = ["192.0.2.30"]\n\n'
                '[names.app]\n\n[[names.app.route]]\nto = ["far"]\n')
    single_error(tmp_path, text, "[91.0, 0.0]", ["out of range"])


def test_route_shadowed_by_an_earlier_one(tmp_path):
    policy = """
[names.app]

[[names.app.route]]
when = { continent = ["EU", "NA"] }
to = ["a", "b"]

[[names.app.route]]
when = { continent = "EU", country = "DE" }
to = ["a"]
"""
    text = zone(policy)
    first_line = line_col(text, "[[names.app.route]]", 1)[0]
    msg = single_error(tmp_path, text, "[[names.app.route]]", ["can never answer"], occurrence=2)
    assert msg.startswith(f"route 2 can never answer: route 1 (line {first_line})"), msg


def test_route_after_a_default_route_can_never_answer(tmp_path):
    policy = '\n[names.app]\n\n[[names.app.route]]\nto = ["a", "b"]\n\n[[names.app.route]]\nwhen = { country = "GB" }\nto = ["b"]\n'
    single_error(tmp_path, zone(policy), "[[names.app.route]]", ["can never answer"], occurrence=2)


def test_a_narrower_route_with_other_regions_is_not_shadowed(tmp_path):
    policy = """
[names.app]

[[names.app.route]]
when = { continent = "EU" }
to = ["a"]

[[names.app.route]]
when = { continent = "EU", country = "DE" }
to = ["b"]
"""
    # reachable in failover terms: it offers a region route 1 does not
    proc, errors, _z, _c = check(tmp_path, zone(policy))
    assert proc.returncode == 0 and errors == [], proc.stderr


def test_overlapping_cidrs_with_different_targets(tmp_path):
    policy = """
[cidrs]
office = ["10.0.0.0/8"]
lab = ["10.1.0.0/16"]

[names.app]

[[names.app.route]]
when = { cidr = "office" }
to = ["a"]

[[names.app.route]]
when = { cidr = "lab" }
to = ["b"]
"""
    text = zone(policy)
    first_line = line_col(text, "[[names.app.route]]", 1)[0]
    msg = single_error(tmp_path, text, "[[names.app.route]]", ["overlaps", "10.1.0.0/16", "10.0.0.0/8"], occurrence=2)
    assert f"of route 1 (line {first_line})" in msg


def test_overlapping_inline_cidrs_are_reported_too(tmp_path):
    policy = """
[names.app]

[[names.app.route]]
when = { cidr = ["198.51.100.0/24"] }
to = ["a"]

[[names.app.route]]
when = { cidr = ["198.51.100.128/25", "203.0.113.0/24"] }
to = ["b"]
"""
    single_error(tmp_path, zone(policy), "[[names.app.route]]", ["overlaps", "198.51.100.128/25"], occurrence=2)


def test_unknown_cidr_set(tmp_path):
    text = zone('\n[names.app]\n\n[[names.app.route]]\nwhen = { cidr = "ofice" }\nto = ["a"]\n\n[[names.app.route]]\nto = ["b"]\n')
    single_error(tmp_path, text, '"ofice"', ["unknown CIDR set"])


def test_cidr_with_host_bits(tmp_path):
    text = zone('\n[cidrs]\noffice = ["10.0.0.1/8"]\n\n[names.app]\n\n[[names.app.route]]\n'
                'when = { cidr = "office" }\nto = ["a"]\n\n[[names.app.route]]\nto = ["b"]\n')
    single_error(tmp_path, text, '"10.0.0.1/8"', ["not a network"])


def test_unknown_continent_code(tmp_path):
    text = zone('\n[names.app]\n\n[[names.app.route]]\nwhen = { continent = ["EU", "EA"] }\nto = ["a"]\n\n'
                '[[names.app.route]]\nto = ["b"]\n')
    single_error(tmp_path, text, '"EA"', ["not a continent code"])


@pytest.mark.parametrize("where", ["name", "route"])
def test_bad_strategy(tmp_path, where):
    if where == "name":
        policy = '\n[names.app]\nstrategy = "roundrobin"\n\n[[names.app.route]]\nto = ["a"]\n'
    else:
        policy = '\n[names.app]\n\n[[names.app.route]]\nto = ["a"]\nstrategy = "roundrobin"\n'
    msg = single_error(tmp_path, zone(policy), '"roundrobin"', ["unknown strategy", "roundrobin"])
    for s in ("weighted", "failover", "nearest", "all", "sticky"):
        assert s in msg


def test_steered_name_without_routes(tmp_path):
    single_error(tmp_path, zone("\n[names.app]\nttl = 30\n"), "app]", ["has no", "route"])


def test_static_a_record_at_a_steered_name(tmp_path):
    text = zone(GOOD_NAME, extra_records="app  IN A   192.0.2.99\n")
    msg = single_error(tmp_path, text, "app  IN A   192.0.2.99", ["static A", "app.pol.test.", "steered"])
    assert msg.startswith("static A record at steered name app.pol.test.")


def test_static_aaaa_record_at_a_steered_name(tmp_path):
    text = zone(GOOD_NAME, extra_records="app  IN AAAA 2001:db8::99\n")
    single_error(tmp_path, text, "app  IN AAAA 2001:db8::99", ["AAAA", "steered"])


def test_geoip_path_that_does_not_exist(tmp_path):
    missing = tmp_path / "nowhere" / "GeoLite2-City.mmdb"
    msg = single_error(tmp_path, zone(GOOD_NAME), json.dumps(str(missing)), ["does not exist", str(missing)],
                       geoip=[missing], in_config=True)
    assert msg.startswith("geoip database")


@pytest.mark.parametrize("content", [b"", b"not a maxmind database\n" * 100, b"\xab\xcd\xefMaxMind.com" + b"\x00" * 8])
def test_geoip_file_that_is_not_a_maxmind_db(tmp_path, content):
    bogus = tmp_path / "bogus.mmdb"
    bogus.write_bytes(content)
    single_error(tmp_path, zone(GOOD_NAME), json.dumps(str(bogus)), [str(bogus)], geoip=[bogus], in_config=True)


def test_geoip_entry_without_a_path(tmp_path):
    proc, errors, _z, cfg = check(tmp_path, zone(GOOD_NAME), geoip=[{"fields": {"country": "country.iso_code"}}])
    assert proc.returncode == 1, proc.stderr
    assert len(errors) == 1 and same_file(errors[0][0], cfg, cfg.parent), proc.stderr
    assert errors[0][1] == line_col(cfg.read_text(), "[[geoip]]")[0]
    assert "path" in errors[0][3]


def test_several_errors_are_reported_at_once(tmp_path, test_geo_mmdb):
    policy = """
[regions.empty]
location = [1.0, 2.0]

[names.app]
strategy = "fastest"

[[names.app.route]]
when = { continent = "EU" }
to = ["a", "nowhere"]

[[names.app.route]]
when = { continent = "EU" }
to = ["a"]

[names.api]

[[names.api.route]]
to = ["b"]
"""
    text = zone(policy, extra_records="api  IN A   192.0.2.98\n")
    missing = tmp_path / "missing.mmdb"
    proc, errors, zpath, cfg = check(tmp_path, text, geoip=[test_geo_mmdb, missing])
    assert proc.returncode == 1, proc.stderr
    want_zone = [
        ("[regions.empty]", 1, "has no records"),
        ('"fastest"', 1, "unknown strategy"),
        ('"nowhere"', 1, "unknown region"),
        ("[[names.app.route]]", 2, "can never answer"),
        ("api  IN A   192.0.2.98", 1, "static A record"),
    ]
    assert len(errors) == len(want_zone) + 1, f"want {len(want_zone) + 1} errors:\n{proc.stderr}"
    for needle, occurrence, keyword in want_zone:
        line, col = line_col(text, needle, occurrence)
        hits = [e for e in errors if same_file(e[0], zpath, zpath.parent) and (e[1], e[2]) == (line, col)]
        assert len(hits) == 1 and keyword in hits[0][3], f"{keyword!r} at {line}:{col} missing:\n{proc.stderr}"
    cfg_hits = [e for e in errors if same_file(e[0], cfg, cfg.parent)]
    assert len(cfg_hits) == 1, proc.stderr
    assert (cfg_hits[0][1], cfg_hits[0][2]) == line_col(cfg.read_text(), json.dumps(str(missing)))
    assert "does not exist" in cfg_hits[0][3]
    assert f"{len(errors)} errors" in proc.stderr.splitlines()[-1]


def test_static_cname_at_a_steered_name(tmp_path):
    text = zone(GOOD_NAME, extra_records="app  IN CNAME www\n")
    single_error(tmp_path, text, "app  IN CNAME www", ["CNAME", "steered name app.pol.test."])


def test_other_data_beside_a_name_that_may_answer_with_a_cname(tmp_path):
    policy = '\n[regions.cdn]\ncname = "edge.cdn.example.net."\n\n[names.app]\n\n[[names.app.route]]\nto = ["cdn"]\n'
    text = zone(policy, extra_records='app  IN TXT "hello"\n')
    single_error(tmp_path, text, 'app  IN TXT "hello"', ["CNAME", "cannot hold other data"])


def test_other_data_beside_an_address_steered_name_is_fine(tmp_path):
    text = zone(GOOD_NAME, extra_records='app  IN TXT "hello"\napp  IN MX 10 www\n')
    proc, errors, _z, _c = check(tmp_path, text)
    assert proc.returncode == 0 and errors == [], proc.stderr


def test_steered_name_outside_the_zone(tmp_path):
    policy = '\n[names."app.other.test."]\n\n[[names."app.other.test.".route]]\nto = ["a"]\n'
    single_error(tmp_path, zone(policy), '"app.other.test."]', ["outside", "pol.test."])


def test_steered_name_below_a_delegation(tmp_path):
    policy = '\n[names."x.sub"]\n\n[[names."x.sub".route]]\nto = ["a"]\n'
    text = zone(policy, extra_records="sub  IN NS  ns.elsewhere.net.\n")
    single_error(tmp_path, text, '"x.sub"]', ["delegation"])


def test_a_route_naming_more_regions_than_a_decision_has_slots(tmp_path):
    """steer::kMaxRouteTargets (64) candidate slots: the 65th region is an error, never dropped."""
    regions = "".join(f'\n[regions.r{i}]\naddresses = ["10.0.1.{i + 1}"]\n' for i in range(65))
    names = ", ".join(f'"r{i}"' for i in range(65))
    text = zone(regions + f"\n[names.app]\n\n[[names.app.route]]\nto = [{names}]\n")
    msg = single_error(tmp_path, text, '"r64"', ["at most 64 regions"])
    assert msg == "a route may name at most 64 regions, not 65"
