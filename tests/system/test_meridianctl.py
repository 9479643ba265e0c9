"""meridianctl against a live meridiand: status, check, reload, explain (with --down what-ifs),
drain/undrain moving real DNS answers, the token from --token or $MERIDIAN_TOKEN, and its exit
statuses (0 ok, 1 the server said no, 2 unreachable or bad usage)."""

from __future__ import annotations

import json
import os
import subprocess
import time

import dns.rcode
import pytest

from admin_client import admin_json
from geo import example_geo_zone_files
from meridian_server import start_ops_server, wait_for
from paths import meridianctl_path
from ports import find_free_port
from wire import answer_addresses, make_query

ZONE = "geo.example.com."
APP = "app.geo.example.com."
EU_WEST, EU_CENTRAL = "192.0.2.110", "192.0.2.120"
REGIONS = ["us-east-1", "us-west-1", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1"]
TOKEN = "ctl-token-123"


def ctl(*args, admin=None, token=None, env_token=None, timeout=20):
    path = meridianctl_path()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"meridianctl not found at {path}; build it or set MERIDIANCTL", pytrace=False)
    env = {k: v for k, v in os.environ.items() if k != "MERIDIAN_TOKEN"}
    if env_token is not None:
        env["MERIDIAN_TOKEN"] = env_token
    cmd = [str(path)]
    if admin is not None:
        cmd += ["--admin", admin.admin_url if hasattr(admin, "admin_url") else admin]
    if token is not None:
        cmd += ["--token", token]
    cmd += list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)


def app_answer(srv):
    r = srv.udp(make_query(APP, "A"), source="127.0.0.2")
    assert r.rcode() == dns.rcode.NOERROR, r
    return answer_addresses(r), r.answer[0].ttl


@pytest.fixture(scope="module")
def srv(module_start_server, test_geo_mmdb):
    return start_ops_server(module_start_server, zone_files=example_geo_zone_files(), geoip=[test_geo_mmdb],
                            analytics={"interval_ms": 500})


@pytest.fixture(scope="module")
def secured(module_start_server, test_geo_mmdb):
    return start_ops_server(module_start_server, zone_files=example_geo_zone_files(), geoip=[test_geo_mmdb],
                            admin={"token": TOKEN})


def test_status(srv):
    p = ctl("status", admin=srv)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("node node-a, up ") and ", 2 workers, " in lines[0], lines[0]
    assert "zone geo.example.com. serial 2026112701" in lines
    for region in REGIONS:
        row = [line for line in lines if line.split()[:1] == [region]]
        assert len(row) == 1, p.stdout
        assert row[0].split()[1] == "healthy", row


def test_status_json(srv):
    p = ctl("--json", "status", admin=srv)
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["node"] == "node-a"
    assert [r["name"] for r in s["zones"][0]["regions"]] == REGIONS + ["local-pool"]


def test_check_and_reload_ok(srv):
    p = ctl("check", admin=srv)
    assert (p.returncode, p.stdout) == (0, "configuration is valid (1 zones)\n"), p.stderr
    before = admin_json(srv, "GET", "/status")["reloads"]["succeeded"]
    p = ctl("reload", admin=srv)
    assert (p.returncode, p.stdout) == (0, "configuration is valid (1 zones)\n"), p.stderr
    assert admin_json(srv, "GET", "/status")["reloads"]["succeeded"] == before + 1


def test_check_and_reload_with_errors(srv):
    zone_file = srv.workdir / "zones" / "geo.example.com.toml"
    good = zone_file.read_text()
    broken = good.replace("serial = 2026112701", 'serial = "tomorrow"')
    zone_file.write_text(broken)
    try:
        p = ctl("check", admin=srv)
        assert p.returncode == 1, (p.stdout, p.stderr)
        line = 1 + broken[: broken.index('serial = "tomorrow"')].count("\n")
        assert f"{zone_file}:{line}:" in p.stdout, p.stdout
        assert "configuration is valid" not in p.stdout
        p = ctl("reload", admin=srv)
        assert p.returncode == 1
        assert f"{zone_file}:{line}:" in p.stdout, p.stdout
        p = ctl("--json", "check", admin=srv)
        assert p.returncode == 1
        body = json.loads(p.stdout)
        assert body["ok"] is False and body["zones"] == 0 and len(body["errors"]) >= 1
        # the old data keeps serving
        assert app_answer(srv) == ([EU_WEST], 30)
    finally:
        zone_file.write_text(good)
    assert wait_for(lambda: ctl("check", admin=srv).returncode == 0, timeout=5)
    assert ctl("reload", admin=srv).returncode == 0


def test_explain_and_what_if(srv):
    p = ctl("explain", APP, "127.0.0.2", admin=srv)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "client 127.0.0.2/32 from the packet source"
    assert "answer eu-west-1, ttl 30, scope /32" in lines
    assert f"answer {APP}\t30\tIN\tA\t{EU_WEST}" in lines
    p = ctl("explain", APP, "127.0.0.2", "--down", "eu-west-1", admin=srv)
    assert p.returncode == 0, p.stderr
    what_if = p.stdout.splitlines()
    assert any(line.startswith("candidate eu-west-1:") and line.endswith("pruned: assumed down (what-if)") for line in what_if), what_if
    assert "answer eu-central-1, ttl 10 (pruned), scope /32" in what_if
    assert f"answer {APP}\t10\tIN\tA\t{EU_CENTRAL}" in what_if
    # both down: the next route that matches (nearest, everyone)
    p = ctl("explain", APP, "127.0.0.2", "--down", "eu-west-1", "--down", "eu-central-1", admin=srv)
    assert p.returncode == 0
    assert "pruned: assumed down (what-if)" in p.stdout and "eu-central-1" in p.stdout
    assert EU_WEST not in p.stdout.split("rcode")[-1] and EU_CENTRAL not in p.stdout.split("rcode")[-1]
    # a what-if changes nothing for real
    assert app_answer(srv) == ([EU_WEST], 30)
    p = ctl("explain", APP, "2001:db8::1", "--type", "AAAA", admin=srv)
    assert p.returncode == 0 and "IN\tAAAA\t" in p.stdout
    p = ctl("explain", APP, "81.2.69.0/24", admin=srv)
    assert p.returncode == 0 and p.stdout.startswith("client 81.2.69.0/24 from ECS\n")


def test_explain_bad_client_is_exit_1(srv):
    p = ctl("explain", APP, "not-an-address", admin=srv)
    assert p.returncode == 1


def test_explain_bad_client_says_why_on_stderr(srv):
    p = ctl("explain", APP, "not-an-address", admin=srv)
    assert p.returncode == 1
    assert p.stdout == ""
    assert p.stderr.startswith("meridianctl: ") and "not-an-address" in p.stderr and "(HTTP 400)" in p.stderr, p.stderr


def test_drain_and_undrain(srv):
    assert app_answer(srv) == ([EU_WEST], 30)
    p = ctl("drain", ZONE, "eu-west-1", "--reason", "kernel upgrade", admin=srv)
    try:
        assert (p.returncode, p.stdout) == (0, "geo.example.com. eu-west-1: drain\n"), p.stderr
        assert app_answer(srv) == ([EU_CENTRAL], 10)
        s = ctl("status", admin=srv).stdout
        row = [line for line in s.splitlines() if line.split()[:1] == ["eu-west-1"]][0]
        assert "healthy (drain)" in row, row
        region = next(r for r in admin_json(srv, "GET", "/status")["zones"][0]["regions"] if r["name"] == "eu-west-1")
        assert region["override"]["reason"] == "kernel upgrade" and region["override"]["expires_at"] is None
    finally:
        p = ctl("undrain", ZONE, "eu-west-1", admin=srv)
    assert (p.returncode, p.stdout) == (0, "geo.example.com. eu-west-1: none\n"), p.stderr
    assert app_answer(srv) == ([EU_WEST], 30)
    p = ctl("undrain", ZONE, "eu-west-1", admin=srv)  # nothing left to undo
    assert p.returncode == 1 and "no override" in p.stderr and "(HTTP 404)" in p.stderr


def test_drain_for_a_while(srv):
    t = time.time()
    p = ctl("drain", "geo.example.com", "eu-west-1", "--for", "1", admin=srv)
    assert p.returncode == 0, p.stderr
    region = next(r for r in admin_json(srv, "GET", "/status")["zones"][0]["regions"] if r["name"] == "eu-west-1")
    assert region["override"]["action"] == "drain"
    assert int(t) + 1 <= region["override"]["expires_at"] <= int(t) + 2
    assert app_answer(srv) == ([EU_CENTRAL], 10)
    assert wait_for(lambda: app_answer(srv) == ([EU_WEST], 30), timeout=4.0), "a 1 s drain did not expire"


def test_drain_unknown_region(srv):
    p = ctl("drain", ZONE, "mars-1", admin=srv)
    assert p.returncode == 1 and "(HTTP 404)" in p.stderr


def test_token_option_and_environment(secured):
    p = ctl("status", admin=secured, token=TOKEN)
    assert p.returncode == 0 and p.stdout.startswith("node node-a"), p.stderr
    p = ctl("status", admin=secured, env_token=TOKEN)
    assert p.returncode == 0 and p.stdout.startswith("node node-a"), p.stderr
    p = ctl("status", admin=secured)
    assert p.returncode == 1 and "missing bearer token (HTTP 401)" in p.stderr
    p = ctl("status", admin=secured, token="nope")
    assert p.returncode == 1 and "wrong bearer token (HTTP 403)" in p.stderr
    p = ctl("status", admin=secured, token=TOKEN, env_token="nope")  # --token wins
    assert p.returncode == 0
    p = ctl("drain", ZONE, "eu-west-1", admin=secured, env_token=TOKEN)
    assert p.returncode == 0
    try:
        assert app_answer(secured) == ([EU_CENTRAL], 10)
    finally:
        assert ctl("undrain", ZONE, "eu-west-1", admin=secured, env_token=TOKEN).returncode == 0
    assert app_answer(secured) == ([EU_WEST], 30)


def test_unreachable_admin_is_exit_2():
    port = find_free_port("127.0.0.1")
    for command in (["status"], ["check"], ["reload"], ["drain", ZONE, "eu-west-1"]):
        p = ctl(*command, admin=f"http://127.0.0.1:{port}")
        assert p.returncode == 2, (command, p.stdout, p.stderr)
        assert "cannot reach" in p.stderr


@pytest.mark.parametrize(
    "args",
    [[], ["frobnicate"], ["status", "extra"], ["--bogus", "status"], ["explain", APP], ["drain", ZONE], ["--admin"]],
    ids=["none", "unknown-command", "extra-operand", "unknown-option", "explain-one-operand", "drain-one-operand",
         "option-without-value"],
)
def test_usage_errors_are_exit_2(args):
    p = ctl(*args, admin="http://127.0.0.1:9") if args != ["--admin"] else ctl(*args)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert "meridianctl:" in p.stderr


def test_help_is_exit_0():
    p = ctl("--help")
    assert p.returncode == 0 and p.stdout.startswith("usage: meridianctl")
