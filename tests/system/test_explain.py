"""`meridiand explain -c CONFIG NAME CLIENT [TYPE]`: how a name is answered for a client, step by
step, with the example zone and the test geo database."""

from __future__ import annotations

import re
import subprocess

import pytest

from config_toml import write_config
from diagnostics import line_col
from geo import EXAMPLE_GEO_ZONE, geo_csv_rows, great_circle_km, write_example_geo_zone
from paths import require_binary

ZONE_TEXT = EXAMPLE_GEO_ZONE.read_text()
ROWS = geo_csv_rows()
GB = next(r for r in ROWS if r.country == "GB" and r.network.version == 4 and not r.network.is_loopback)


def route_line(n: int) -> int:
    """The line of the n-th [[names.app.route]] header of the example zone."""
    return line_col(ZONE_TEXT, "[[names.app.route]]", n)[0]


@pytest.fixture(scope="module")
def config(tmp_path_factory, test_geo_mmdb):
    directory = tmp_path_factory.mktemp("explain")
    zone = write_example_geo_zone(directory / "zones")
    return write_config(directory, [zone], geoip=[test_geo_mmdb])


def explain(config, *args, expect_rc=0):
    proc = subprocess.run([str(require_binary()), "explain", "-c", str(config), *args],
                          capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    assert proc.returncode == expect_rc, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout.splitlines()


def one(lines, pattern):
    found = [m for m in (re.fullmatch(pattern, ln) for ln in lines) if m]
    assert len(found) == 1, f"want exactly one line matching {pattern!r}:\n" + "\n".join(lines)
    return found[0]


def test_explain_gb_subnet(config):
    lines = explain(config, "app.geo.example.com", GB.subnet)
    assert lines[0] == f"client {GB.subnet} from ECS"
    loc = one(lines, r"location (.*)")
    assert f"continent=EU country=GB subdivision={GB.subdivision} asn={GB.asn} " in loc[0]
    assert loc[0].endswith(f"prefix=/{GB.prefix}")
    assert f"coordinates={GB.latitude:.4f},{GB.longitude:.4f}" in loc[0]
    one(lines, rf"route 1 \(line {route_line(1)}\): no match")
    one(lines, rf"route 2 \(line {route_line(2)}\): no match")
    one(lines, rf"route 3 \(line {route_line(3)}\): matched, strategy weighted")
    assert not any(ln.startswith(("route 4", "route 5", "route 6")) for ln in lines), "routes after the match were tried"
    region = one(lines, r"answer (eu-west-1|eu-central-1), ttl 30, scope /24")[1]
    address = {"eu-west-1": "192.0.2.110", "eu-central-1": "192.0.2.120"}[region]
    one(lines, r"rcode NOERROR")
    one(lines, rf"answer app\.geo\.example\.com\.\s+30\s+IN\s+A\s+{re.escape(address)}")
    one(lines, r"ecs scope /24")


def test_explain_plain_address_uses_the_packet_source(config):
    lines = explain(config, "app.geo.example.com", "127.0.0.3")
    assert lines[0] == "client 127.0.0.3/32 from the packet source"
    one(lines, rf"route 1 \(line {route_line(1)}\): no match")
    one(lines, rf"route 2 \(line {route_line(2)}\): matched, strategy weighted")
    one(lines, r"answer us-east-1, ttl 30, scope /32")
    one(lines, r"answer app\.geo\.example\.com\.\s+30\s+IN\s+A\s+198\.51\.100\.10")
    assert not any(ln.startswith("ecs scope") for ln in lines), "no ECS was sent: no ECS scope"
    # the CIDR routes decide alone: no database lookup, so no location line
    assert not any(ln.startswith("location ") for ln in lines)


def test_explain_aaaa(config):
    lines = explain(config, "app.geo.example.com", "2a02:c7f::/32", "AAAA")
    assert lines[0] == "client 2a02:c7f::/32 from ECS"
    assert "continent=EU country=GB" in one(lines, r"location .*")[0]
    one(lines, rf"route 3 \(line {route_line(3)}\): matched, strategy weighted")
    region = one(lines, r"answer (eu-west-1|eu-central-1), ttl 30, scope /32")[1]
    address = {"eu-west-1": "2001:db8:3::10", "eu-central-1": "2001:db8:4::10"}[region]
    one(lines, rf"answer app\.geo\.example\.com\.\s+30\s+IN\s+AAAA\s+{re.escape(address)}")
    assert not any(re.search(r"\sIN\s+A\s", ln) for ln in lines), "an A record in an AAAA answer"
    one(lines, r"ecs scope /32")


def test_explain_nearest_lists_candidate_distances(config):
    row = next(r for r in ROWS if r.country == "AU" and r.asn == 13335)
    lines = explain(config, "app.geo.example.com", row.subnet)
    one(lines, rf"route 6 \(line {route_line(6)}\): matched, strategy nearest")
    import tomllib

    regions = tomllib.loads(ZONE_TEXT)["regions"]
    for name, table in regions.items():
        if "location" not in table:
            continue  # local-pool (lb.geo.example.com) is not a candidate of app's routes
        km = great_circle_km(row.latitude, row.longitude, *table["location"])
        m = one(lines, rf"(?:candidate|distance to) {re.escape(name)}: (\d+) km, bias \+0% → (\d+)")
        assert abs(int(m[1]) - km) <= 1 and m[1] == m[2], f"{name}: {m[0]} (haversine {km:.1f} km)"
    one(lines, rf"answer ap-southeast-1, ttl 30, scope /{row.prefix}")


def test_explain_unlocatable_client(config):
    lines = explain(config, "app.geo.example.com", "127.0.0.1")
    assert lines[0] == "client 127.0.0.1/32 from the packet source"
    assert one(lines, r"location .*")[0].endswith("(not in any database)")
    one(lines, r"client location unknown: nearest falls back to the route's order")
    # 127.0.0.0/31 is clear of 127.0.0.2/32 and 127.0.0.3/32 and holds no database network
    one(lines, r"answer us-east-1, ttl 30, scope /31")


def test_explain_static_name(config):
    lines = explain(config, "www.geo.example.com", GB.subnet)
    assert lines[0] == "not a steered name: the answer does not depend on the client"
    one(lines, r"rcode NOERROR")
    one(lines, r"answer www\.geo\.example\.com\.\s+300\s+IN\s+A\s+192\.0\.2\.10")
    one(lines, r"ecs scope /0")


@pytest.mark.parametrize("args", [
    ("app.geo.example.com", "bogus"),
    ("app.geo.example.com", "81.2.69.0/33"),
    ("app.geo.example.com", "300.1.2.3"),
    ("app.geo.example.com", "81.2.69.0/24", "NOTATYPE"),
])
def test_explain_bad_input_exits_1_with_an_error(config, args):
    lines = explain(config, *args, expect_rc=1)
    assert any(ln.startswith("error:") for ln in lines), "\n".join(lines)
