"""Zones for the health-check system tests: checks, regions and steered names given as Python
dicts and rendered as the zone file's [checks.x], [regions.x], [names.x] and [[names.x.route]]
tables, with the tests' fast check timing (test_health.py's docstring explains the bounds)."""

from __future__ import annotations

import json

from config_toml import zone_toml

HC = "hc.example."
INTERVAL = 0.2  # seconds, as in fast_check()
TIMEOUT_MS = 150
RISE = 2
FALL = 2
RECORDS = """
@    3600 IN NS ns1
ns1  3600 IN A  192.0.2.53
"""


def tv(value) -> str:
    """A TOML value: strings, ints, floats, bools, lists and (inline) tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(tv(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {tv(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot render {value!r}")


def fast_check(kind="http", **keys) -> dict:
    """A check with the test's timing: every 200 ms, 150 ms timeout, rise = fall = 2."""
    check = {"kind": kind, "interval": "200ms", "timeout": f"{TIMEOUT_MS}ms", "rise": RISE, "fall": FALL}
    if kind == "http":
        check["path"] = "/health"
    check.update(keys)
    return check


def health_zone(checks: dict, regions: dict, names: dict, origin: str = HC) -> str:
    """A zone: checks {name: {key: value}}, regions {name: {key: value}}, names {name: {key: value,
    "route": [route tables]}} — rendered as [checks.x], [regions.x], [names.x] + [[names.x.route]]."""
    lines = [zone_toml(origin, RECORDS).rstrip("\n"), ""]
    for table, entries in (("checks", checks), ("regions", regions)):
        for name, keys in entries.items():
            lines.append(f"[{table}.{json.dumps(name)}]")
            lines += [f"{k} = {tv(v)}" for k, v in keys.items()]
            lines.append("")
    for name, keys in names.items():
        keys = dict(keys)
        routes = keys.pop("route")
        lines.append(f"[names.{json.dumps(name)}]")
        lines += [f"{k} = {tv(v)}" for k, v in keys.items()]
        lines.append("")
        for route in routes:
            lines.append(f"[[names.{json.dumps(name)}.route]]")
            lines += [f"{k} = {tv(v)}" for k, v in route.items()]
            lines.append("")
    return "\n".join(lines) + "\n"


def region(address, check=None, **keys) -> dict:
    r = {"addresses": [address]}
    if check:
        r["check"] = check
    r.update(keys)
    return r
