"""Server configs and zone files as TOML text, for the tests to write and meridiand to load.
Only what the tests' configs need is rendered; nothing here starts a process or parses TOML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Optional

from ports import find_free_port

DEFAULT_SERVER = {
    "allow_root": True,  # the suite runs as root (CI does); test_privileges.py covers the drop
    "workers": 2,
    "udp_max_payload": 1232,
    "tcp_idle_timeout_ms": 10000,
    "tcp_max_connections_per_worker": 512,
}
DEFAULT_IDENTITY = {
    "nsid": "meridian-test",
    "hostname": "host-a",
    "id_server": "node-a",
    "version": "Meridian test",
    "chaos": True,
}



def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (str, Path)):
        return json.dumps(str(value))  # a JSON string of ASCII text is a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot render {value!r} as TOML")


def merge_options(defaults: dict, overrides: Optional[dict]) -> dict:
    """defaults updated with overrides; an override of None removes the key."""
    result = dict(defaults)
    for key, value in (overrides or {}).items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def render_config(
    port: int,
    zones: Iterable,
    server: Optional[dict] = None,
    identity: Optional[dict] = None,
    listen: Optional[dict] = None,
    geoip: Optional[Iterable] = None,
    admin: Optional[dict] = None,
) -> str:
    """The server config text. geoip: [[geoip]] entries, each a path or a dict of its keys
    (path, fields = {fact: dotted path or list}); None or [] writes no [[geoip]] at all.
    admin: [admin] keys; by default the admin API is off (listen = ""), so that test servers
    never compete for the default port 8019."""
    listen = listen or {
        "udp": [f"127.0.0.1:{port}", f"[::1]:{port}"],
        "tcp": [f"127.0.0.1:{port}", f"[::1]:{port}"],
    }
    sections = {
        "listen": listen,
        "server": merge_options(DEFAULT_SERVER, server),
        "identity": merge_options(DEFAULT_IDENTITY, identity),
        "admin": merge_options({"listen": ""}, admin),
    }
    lines = [f"zones = {toml_value([str(z) for z in zones])}", ""]
    for name, table in sections.items():
        lines.append(f"[{name}]")
        for key, value in table.items():
            lines.append(f"{key} = {toml_value(value)}")
        lines.append("")
    lines += render_geoip(geoip)
    return "\n".join(lines)


def render_geoip(geoip: Optional[Iterable]) -> list:
    """[[geoip]] tables (lines) for render_config."""
    lines = []
    for entry in geoip or []:
        entry = entry if isinstance(entry, dict) else {"path": entry}
        lines.append("[[geoip]]")
        for key, value in entry.items():
            if isinstance(value, dict):
                inner = ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items())
                lines.append(f"{key} = {{ {inner} }}")
            else:
                lines.append(f"{key} = {toml_value(value)}")
        lines.append("")
    return lines


def zone_toml(
    origin: str,
    records: str,
    ttl: int = 300,
    soa: Optional[dict] = None,
) -> str:
    """A zone file (records string, then a default [soa]); `records` is the body of the string."""
    soa_fields = {
        "primary": f"ns1.{origin}",
        "contact": f"hostmaster.{origin}",
        "serial": 1,
        "refresh": 3600,
        "retry": 600,
        "expire": 1209600,
        "negative_ttl": 60,
        "ttl": 3600,
    }
    soa_fields.update(soa or {})
    lines = [f"origin = {toml_value(origin)}", f"ttl = {ttl}", ""]
    lines += ['records = """', records.strip("\n"), '"""', "", "[soa]"]
    lines += [f"{k} = {toml_value(v)}" for k, v in soa_fields.items()]
    return "\n".join(lines) + "\n"


def write_config(directory: Path, zones, name="meridian.toml", **options) -> Path:
    """A server config in `directory` (for --check runs); options as for render_config."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(render_config(find_free_port(), zones, **options))
    return path


# --------------------------------------------------------------------------------------------
# The operations tables: [admin] on a chosen port, [analytics], [alerts]
# --------------------------------------------------------------------------------------------


def ops_admin_table(admin_port: int, admin=None) -> dict:
    """[admin] keys for render_config(admin=...): listen defaults to 127.0.0.1:admin_port and
    "{port}" in it is replaced by admin_port; admin=False switches the API off (listen = "")."""
    if admin is False:
        return {"listen": ""}
    table = {"listen": "127.0.0.1:{port}"}
    table.update(admin or {})
    table["listen"] = str(table["listen"]).replace("{port}", str(admin_port))
    return table


def render_ops_tables(analytics: Optional[dict] = None, alerts: Optional[dict] = None) -> str:
    """[analytics] and [alerts] tables as TOML text (to append to render_config's)."""
    lines = []
    for name, table in (("analytics", analytics), ("alerts", alerts)):
        if table:
            lines += ["", f"[{name}]"]
            for key, value in table.items():
                lines.append(f"{key} = {repr(value) if isinstance(value, float) else toml_value(value)}")
    return "\n".join(lines) + "\n"


def render_ops_config(port: int, zones, admin_port: int, admin=None, analytics=None, alerts=None, **options) -> str:
    """A whole server config (render_config) with [admin], [analytics] and [alerts]."""
    return render_config(port, zones, admin=ops_admin_table(admin_port, admin), **options) + render_ops_tables(
        analytics, alerts)
