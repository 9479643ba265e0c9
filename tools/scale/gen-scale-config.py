#!/usr/bin/python3
"""Writes a generated configuration for the scale measurements of docs/PERFORMANCE.md: Z zones
with N steered names in all (spread evenly), each name with geo routes over six regions, plus a
server config that serves them with the project's test geo database.

usage: gen-scale-config.py OUTDIR [--zones 100] [--names 10000] [--mmdb PATH]
"""
import argparse
import pathlib

REGIONS = {
    "us-east-1": ([39.04, -77.49], "198.51.100.10"),
    "us-west-1": ([37.77, -122.42], "198.51.100.20"),
    "eu-west-1": ([53.35, -6.26], "192.0.2.110"),
    "eu-central-1": ([50.11, 8.68], "192.0.2.120"),
    "ap-southeast-1": ([1.35, 103.82], "203.0.113.10"),
    "ap-northeast-1": ([35.68, 139.65], "203.0.113.20"),
}


def zone_text(origin: str, names: int, first: int) -> str:
    lines = [
        f'origin = "{origin}"',
        "ttl = 300",
        'records = """',
        "@    3600 IN NS ns1",
        "ns1  3600 IN A  192.0.2.53",
        "www       IN A  192.0.2.10",
        '"""',
        "",
        "[soa]",
        f'primary = "ns1.{origin}"',
        f'contact = "hostmaster.{origin}"',
        "serial = 1",
        "",
    ]
    for name, (location, address) in REGIONS.items():
        lines += [f"[regions.{name}]", f"location = {location}", f'addresses = ["{address}"]', ""]
    for i in range(first, first + names):
        n = f"app{i}"
        lines += [f"[names.{n}]", "ttl = 30", 'strategy = "weighted"', ""]
        lines += [f"[[names.{n}.route]]", 'when = { continent = "EU" }', 'to = ["eu-west-1", "eu-central-1"]',
                  "weights = { eu-west-1 = 3, eu-central-1 = 1 }", ""]
        lines += [f"[[names.{n}.route]]", 'when = { continent = "NA" }', 'to = ["us-east-1", "us-west-1"]', ""]
        lines += [f"[[names.{n}.route]]", 'when = { continent = "AS" }', 'to = ["ap-southeast-1", "ap-northeast-1"]', ""]
        lines += [f"[[names.{n}.route]]", 'strategy = "nearest"', ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("outdir", type=pathlib.Path)
    parser.add_argument("--zones", type=int, default=100)
    parser.add_argument("--names", type=int, default=10000)
    parser.add_argument("--mmdb", default="")
    parser.add_argument("--port", type=int, default=5399)
    args = parser.parse_args()
    zones = args.outdir / "zones"
    zones.mkdir(parents=True, exist_ok=True)
    per_zone, extra = divmod(args.names, args.zones)
    first = 0
    for z in range(args.zones):
        count = per_zone + (1 if z < extra else 0)
        (zones / f"scale{z}.toml").write_text(zone_text(f"scale{z}.example.", count, first))
        first += count
    config = [
        'zones = ["zones"]',
        "[listen]",
        f'udp = ["127.0.0.1:{args.port}"]',
        f'tcp = ["127.0.0.1:{args.port}"]',
        "[server]",
        "workers = 1",
        "allow_root = true",
        "[admin]",
        'listen = ""',
    ]
    if args.mmdb:
        config += ["[[geoip]]", f'path = "{args.mmdb}"']
    (args.outdir / "meridian.toml").write_text("\n".join(config) + "\n")


if __name__ == "__main__":
    main()
