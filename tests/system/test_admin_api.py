"""The admin API (src/admin/admin_server.cpp, src/server/operations.cpp): every endpoint's status
codes and JSON shape, bearer-token authentication, the loopback rule for token-less listeners,
operator overrides (drain, down, up, expiry) as seen in DNS answers, and a clear failure when
the admin port is taken.

Servers serve the example zone (with a state file that says every region is up) and the test
geo database, so that from 127.0.0.2 app.geo.example.com is answered by route 1 (eu-west-1,
192.0.2.110); with eu-west-1 out, route 3 (continent EU: 127.0.0.2 is London in the test
database) answers with eu-central-1, 192.0.2.120, and the pruned TTL.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time

import dns.rcode
import pytest

from admin_client import admin_json, admin_request, metric_value, scrape_metrics
from config_toml import render_ops_config
from geo import EXAMPLE_GEO_ZONE, example_geo_zone_files
from meridian_server import run_check, start_ops_server, wait_for
from paths import require_binary
from ports import find_free_port
from wire import answer_addresses, make_query

ZONE = "geo.example.com."
APP = "app.geo.example.com."
EU_WEST = "192.0.2.110"
EU_CENTRAL = "192.0.2.120"
REGIONS = ["us-east-1", "us-west-1", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1"]
ALL_REGIONS = REGIONS + ["local-pool"]  # the example zone's per-address region (lb.geo.example.com)
SERIAL = 2026112701
TOKEN = "s3cret-token"
REGION_KEYS = {"name", "state", "latency_ms", "success_rate", "check", "answers", "reason", "last_change", "members", "member_source", "feed", "cost",
               "override", "query_rate", "learned", "demand"}


def zone_files(states: dict = None) -> dict:
    files = example_geo_zone_files()
    if states:
        state_name = "geo.example.com.health.json"
        doc = json.loads(files[state_name])
        doc["regions"].update(states)
        files[state_name] = json.dumps(doc)
    return files


def app_answer(srv):
    """(addresses, ttl) of app.geo.example.com A asked from 127.0.0.2 without ECS."""
    r = srv.udp(make_query(APP, "A"), source="127.0.0.2")
    assert r.rcode() == dns.rcode.NOERROR, r
    return answer_addresses(r), r.answer[0].ttl


@pytest.fixture(scope="module")
def api(module_start_server, test_geo_mmdb):
    """No token, loopback, analytics every 500 ms."""
    return start_ops_server(module_start_server, zone_files=zone_files(), geoip=[test_geo_mmdb],
                            analytics={"interval_ms": 500})


@pytest.fixture(scope="module")
def secured(module_start_server, test_geo_mmdb):
    return start_ops_server(module_start_server, zone_files=zone_files(), geoip=[test_geo_mmdb],
                            admin={"token": TOKEN})


def assert_json_error(reply, status, contains=""):
    assert reply.status == status, reply
    assert reply.headers.get("content-type", "").startswith("application/json"), reply
    body = reply.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"], str) and body["error"], body
    assert contains in body["error"], body


# --------------------------------------------------------------------------------------------
# Endpoints and their JSON
# --------------------------------------------------------------------------------------------


def test_status_shape_and_values(api):
    reply = admin_request(api, "GET", "/status")
    assert reply.status == 200, reply
    assert reply.headers["content-type"].startswith("application/json")
    s = reply.json()
    assert set(s) == {"node", "uptime_seconds", "workers", "queries", "zones", "alerts", "health_transitions", "reloads",
                      "transfers", "fleet"}
    assert s["fleet"] is None  # a single node: no [fleet] (test_fleet.py covers fleet mode)
    assert s["node"] == "node-a"
    assert s["workers"] == 2
    assert isinstance(s["uptime_seconds"], int) and 0 <= s["uptime_seconds"] < 600
    assert set(s["queries"]) == {"udp", "tcp"}
    assert s["alerts"] == []
    assert set(s["reloads"]) == {"succeeded", "failed", "last_errors"}
    assert s["reloads"]["failed"] == 0 and s["reloads"]["last_errors"] == []
    assert len(s["zones"]) == 1
    z = s["zones"][0]
    assert set(z) == {"origin", "serial", "queries", "regions", "names", "dnssec"}
    assert z["origin"] == ZONE and z["serial"] == SERIAL
    # the example zone is signed with the one CSK made on its first start (test_dnssec.py covers the rest)
    d = z["dnssec"]
    assert set(d) == {"keys", "inception", "expiration", "signed_at", "next_signing"}
    assert d["inception"] < d["signed_at"] < d["next_signing"] <= d["expiration"]
    assert len(d["keys"]) >= 1
    for key in d["keys"]:
        assert key["algorithm"] == 13 and key["flags"] == 257 and key["published"], key
    assert any(k["signs_zone"] and k["signs_keys"] for k in d["keys"])
    assert [r["name"] for r in z["regions"]] == ALL_REGIONS
    for r in z["regions"]:
        assert set(r) == REGION_KEYS, r
        if r["name"] == "local-pool":
            assert r["check"] == "each" and len(r["members"]) == 3, r
            continue
        assert r["state"] == "healthy" and r["check"] == "ops", r
        assert r["members"] is None and r["member_source"] == "zone file" and r["feed"] is None, r
        assert set(r["query_rate"]) == {"moving_average", "forecast"}
    assert [n["name"] for n in z["names"]] == [APP, f"adaptive.{ZONE}", f"lb.{ZONE}"]  # in file order
    name = z["names"][0]
    assert set(name) == {"name", "routes", "fail_answers", "demand"}
    assert name["name"] == APP
    text = EXAMPLE_GEO_ZONE.read_text().splitlines()
    route_lines = [i + 1 for i, line in enumerate(text) if line.startswith("[[names.app.route]]")]
    assert [r["route"] for r in name["routes"]] == [1, 2, 3, 4, 5, 6]
    assert [r["line"] for r in name["routes"]] == route_lines
    assert [r["strategy"] for r in name["routes"]] == ["weighted"] * 5 + ["nearest"]


def test_status_counts_queries_and_answers(api):
    before = admin_json(api, "GET", "/status")
    for _ in range(3):
        app_answer(api)
    api.query_tcp("www.geo.example.com.", "A")
    after = admin_json(api, "GET", "/status")
    assert after["queries"]["udp"] - before["queries"]["udp"] == 3
    assert after["queries"]["tcp"] - before["queries"]["tcp"] == 1
    zb, za = before["zones"][0], after["zones"][0]
    assert za["queries"] - zb["queries"] == 4
    region = lambda z, n: next(r for r in z["regions"] if r["name"] == n)  # noqa: E731
    assert region(za, "eu-west-1")["answers"] - region(zb, "eu-west-1")["answers"] == 3
    assert za["names"][0]["routes"][0]["answers"] - zb["names"][0]["routes"][0]["answers"] == 3


def test_metrics_endpoint(api):
    reply = admin_request(api, "GET", "/metrics")
    assert reply.status == 200, reply
    assert reply.headers["content-type"].startswith("text/plain")
    assert "# TYPE meridian_queries_total counter" in reply.text


def test_check_ok(api):
    assert admin_json(api, "GET", "/check") == {"ok": True, "zones": 1, "errors": []}


def test_reload_ok(api):
    before = admin_json(api, "GET", "/status")["reloads"]["succeeded"]
    assert admin_json(api, "POST", "/reload") == {"ok": True, "zones": 1, "errors": []}
    assert admin_json(api, "GET", "/status")["reloads"]["succeeded"] == before + 1
    assert app_answer(api) == ([EU_WEST], 30)


def test_explain_endpoint(api):
    body = admin_json(api, "GET", f"/explain?name={APP}&client=127.0.0.2")
    assert set(body) == {"lines"}
    assert body["lines"][0] == "client 127.0.0.2/32 from the packet source"
    assert "answer eu-west-1, ttl 30, scope /32" in body["lines"]
    assert f"answer {APP}\t30\tIN\tA\t{EU_WEST}" in body["lines"]
    what_if = admin_json(api, "GET", f"/explain?name={APP}&client=127.0.0.2&type=A&down=eu-west-1")["lines"]
    assert any("candidate eu-west-1" in line and "pruned: assumed down (what-if)" in line for line in what_if), what_if
    assert f"answer {APP}\t10\tIN\tA\t{EU_CENTRAL}" in what_if


@pytest.mark.parametrize(
    "query",
    ["", f"name={APP}", "client=127.0.0.2", f"name={APP}&client=not-an-address", f"name={APP}&client=127.0.0.2&type=NOPE"],
)
def test_explain_bad_input_is_400(api, query):
    reply = admin_request(api, "GET", "/explain?" + query)
    assert reply.status == 400, reply
    body = reply.json()
    assert ("error" in body) or body["lines"][0].startswith("error:"), body


@pytest.mark.parametrize(
    "query, says",
    [
        (f"name={APP}&client=not-an-address", "not-an-address"),
        (f"name={APP}&client=192.0.2.999", "192.0.2.999"),
        (f"name={APP}&client=127.0.0.2&type=NOPE", "NOPE"),
        (f"name={APP}&client=127.0.0.2/99", "127.0.0.2/99"),
    ],
    ids=["client-not-an-address", "client-bad-octet", "unknown-qtype", "prefix-too-long"],
)
def test_explain_that_cannot_run_is_a_4xx_json_error_with_its_message(api, query, says):
    """explain's own error (its single "error: …" line) is the client's mistake: a 4xx with the
    admin API's error document, the message without the "error:" prefix, and no trace lines."""
    reply = admin_request(api, "GET", "/explain?" + query)
    assert_json_error(reply, 400, says)
    assert not reply.json()["error"].startswith("error"), reply.json()


def test_unknown_path_is_404(api):
    assert_json_error(admin_request(api, "GET", "/nope"), 404)
    assert_json_error(admin_request(api, "GET", "/regions/geo.example.com/eu-west-1"), 404)


def test_dashboard_page(api):
    reply = admin_request(api, "GET", "/")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    assert "<title>Meridian</title>" in reply.text


# --------------------------------------------------------------------------------------------
# Overrides: validation
# --------------------------------------------------------------------------------------------

OVERRIDE = f"/regions/{ZONE}/eu-west-1/override"


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[1, 2]",
        '"drain"',
        {"action": "sideways"},
        {"reason": "no action"},
        {"action": "drain", "colour": "red"},
        {"action": "drain", "expires_in": 0},
        {"action": "drain", "expires_in": -5},
        {"action": "drain", "expires_in": "60"},
        {"action": "drain", "expires_in": 1.5},
        {"action": "drain", "reason": 7},
    ],
    ids=["malformed", "array", "string", "unknown-action", "no-action", "unknown-field", "expires-0",
         "expires-negative", "expires-string", "expires-float", "reason-number"],
)
def test_override_bad_request_is_400(api, body):
    assert_json_error(admin_request(api, "PUT", OVERRIDE, body=body), 400)
    # nothing was applied
    region = next(r for r in admin_json(api, "GET", "/status")["zones"][0]["regions"] if r["name"] == "eu-west-1")
    assert region["override"] is None
    assert app_answer(api) == ([EU_WEST], 30)


def test_override_unknown_region_or_zone_is_404(api):
    assert_json_error(admin_request(api, "PUT", f"/regions/{ZONE}/mars-1/override", body={"action": "drain"}), 404, "mars-1")
    assert_json_error(admin_request(api, "PUT", "/regions/nowhere.example./eu-west-1/override", body={"action": "drain"}), 404)
    assert_json_error(admin_request(api, "DELETE", f"/regions/{ZONE}/mars-1/override"), 404)


def test_delete_without_override_is_404(api):
    assert_json_error(admin_request(api, "DELETE", OVERRIDE), 404, "no override")


def test_body_over_64k_is_413(api):
    big = {"action": "drain", "reason": "x" * (70 * 1024)}
    assert_json_error(admin_request(api, "PUT", OVERRIDE, body=big), 413)
    assert_json_error(admin_request(api, "POST", "/reload", body=b"y" * (65 * 1024 + 1)), 413)
    assert app_answer(api) == ([EU_WEST], 30)


# --------------------------------------------------------------------------------------------
# Overrides: effect on answers
# --------------------------------------------------------------------------------------------


def test_drain_moves_answers_and_delete_brings_them_back(api):
    assert app_answer(api) == ([EU_WEST], 30)
    body = admin_json(api, "PUT", OVERRIDE, body={"action": "drain", "reason": "maintenance 42"})
    assert body == {"zone": ZONE, "region": "eu-west-1", "action": "drain", "reason": "maintenance 42", "expires_at": None,
                    "scope": "node"}
    try:
        assert app_answer(api) == ([EU_CENTRAL], 10)
        region = next(r for r in admin_json(api, "GET", "/status")["zones"][0]["regions"] if r["name"] == "eu-west-1")
        assert region["override"]["action"] == "drain"
        assert region["override"]["reason"] == "maintenance 42"
        assert region["override"]["expires_at"] is None
        assert abs(region["override"]["set_at"] - time.time()) < 5
        m = scrape_metrics(api)
        assert metric_value(m, "meridian_region_override", zone=ZONE, region="eu-west-1") == 3
        assert metric_value(m, "meridian_region_override", zone=ZONE, region="eu-central-1") == 0
        assert "override: geo.example.com./eu-west-1 set to drain (maintenance 42)" in api.stderr()
    finally:
        body = admin_json(api, "DELETE", OVERRIDE)
    assert body == {"zone": ZONE, "region": "eu-west-1", "action": "none", "scope": "node"}
    assert app_answer(api) == ([EU_WEST], 30)
    assert_json_error(admin_request(api, "DELETE", OVERRIDE), 404)


def test_zone_name_without_trailing_dot_and_down_action(api):
    body = admin_json(api, "PUT", "/regions/GEO.example.com/eu-west-1/override", body={"action": "down"})
    assert body["zone"] == ZONE and body["action"] == "down"
    try:
        assert app_answer(api) == ([EU_CENTRAL], 10)
        assert metric_value(scrape_metrics(api), "meridian_region_override", zone=ZONE, region="eu-west-1") == 2
    finally:
        admin_json(api, "DELETE", "/regions/geo.example.com/eu-west-1/override")
    assert app_answer(api) == ([EU_WEST], 30)


def test_override_expires_by_itself(api):
    start = time.time()
    body = admin_json(api, "PUT", OVERRIDE, body={"action": "drain", "expires_in": 1})
    assert body["expires_at"] in (int(start) + 1, int(start) + 2), body
    t0 = time.monotonic()
    assert app_answer(api) == ([EU_CENTRAL], 10)
    time.sleep(0.5)
    assert app_answer(api) == ([EU_CENTRAL], 10), "expired before its second was up"
    back = wait_for(lambda: app_answer(api) == ([EU_WEST], 30), timeout=4.0, interval=0.05)
    elapsed = time.monotonic() - t0
    assert back, "a 1 s drain had not expired after 4 s"
    # 1 s, plus up to one analytics interval (500 ms), plus the second-resolution of expires_at
    assert elapsed <= 2.6, f"expired after {elapsed:.2f} s"
    region = next(r for r in admin_json(api, "GET", "/status")["zones"][0]["regions"] if r["name"] == "eu-west-1")
    assert region["override"] is None
    assert "override: geo.example.com./eu-west-1 expired" in api.stderr()
    assert_json_error(admin_request(api, "DELETE", OVERRIDE), 404)


def test_override_up_brings_back_a_region_the_state_file_says_is_down(start_server, test_geo_mmdb):
    srv = start_ops_server(start_server, zone_files=zone_files({"eu-west-1": "down"}), geoip=[test_geo_mmdb])
    assert app_answer(srv) == ([EU_CENTRAL], 10)
    region = next(r for r in admin_json(srv, "GET", "/status")["zones"][0]["regions"] if r["name"] == "eu-west-1")
    # the reason names its source: the state file, by its path
    assert region["state"] == "unhealthy" and re.fullmatch(r"state file /.*\.json: state file says down", region["reason"]), region
    admin_json(srv, "PUT", OVERRIDE, body={"action": "up", "reason": "we know better"})
    assert app_answer(srv) == ([EU_WEST], 30)
    assert metric_value(scrape_metrics(srv), "meridian_region_override", zone=ZONE, region="eu-west-1") == 1
    admin_json(srv, "DELETE", OVERRIDE)
    assert app_answer(srv) == ([EU_CENTRAL], 10)


# --------------------------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------------------------

PROTECTED = [
    ("GET", "/status", None),
    ("GET", "/metrics", None),
    ("GET", "/check", None),
    ("POST", "/reload", b""),
    ("GET", f"/explain?name={APP}&client=127.0.0.2", None),
    ("PUT", OVERRIDE, {"action": "drain", "expires_in": 1}),
    ("DELETE", OVERRIDE, None),
    ("GET", "/no-such-endpoint", None),
]


@pytest.mark.parametrize("method,path,body", PROTECTED, ids=[f"{m} {p.split('?')[0]}" for m, p, _ in PROTECTED])
def test_token_required(secured, method, path, body):
    missing = admin_request(secured, method, path, body=body, token="")
    assert_json_error(missing, 401, "missing bearer token")
    assert missing.headers.get("www-authenticate") == "Bearer"
    assert_json_error(admin_request(secured, method, path, body=body, token="wrong-token"), 403, "wrong bearer token")
    assert_json_error(admin_request(secured, method, path, body=body, token=TOKEN + "x"), 403)
    assert_json_error(
        admin_request(secured, method, path, body=body, token="", headers={"Authorization": f"Basic {TOKEN}"}), 401
    )
    # nothing was applied by the refused requests
    assert app_answer(secured) == ([EU_WEST], 30)


def test_token_accepted(secured):
    assert admin_request(secured, "GET", "/status", token=TOKEN).status == 200
    assert admin_request(secured, "GET", "/metrics", token=TOKEN).status == 200
    assert admin_json(secured, "GET", "/check", token=TOKEN)["ok"] is True
    assert admin_json(secured, "POST", "/reload", token=TOKEN)["ok"] is True
    admin_json(secured, "PUT", OVERRIDE, token=TOKEN, body={"action": "drain"})
    assert app_answer(secured) == ([EU_CENTRAL], 10)
    admin_json(secured, "DELETE", OVERRIDE, token=TOKEN)
    assert app_answer(secured) == ([EU_WEST], 30)
    assert_json_error(admin_request(secured, "GET", "/no-such-endpoint", token=TOKEN), 404)


def test_dashboard_page_is_open_with_a_token(secured):
    reply = admin_request(secured, "GET", "/", token="")
    assert reply.status == 200 and "<title>Meridian</title>" in reply.text


def test_no_token_is_open_on_loopback(api):
    assert admin_request(api, "GET", "/status", token="").status == 200
    # an Authorization header is simply ignored when no token is configured
    assert admin_request(api, "GET", "/status", token="anything").status == 200


# --------------------------------------------------------------------------------------------
# Where the API may listen
# --------------------------------------------------------------------------------------------


def test_token_less_listener_on_other_loopback_address(start_server, test_geo_mmdb):
    srv = start_ops_server(start_server, zone_files=zone_files(), geoip=[test_geo_mmdb],
                           admin={"listen": "127.0.0.2:{port}"})
    assert srv.admin_host == "127.0.0.2"
    assert admin_json(srv, "GET", "/status")["node"] == "node-a"
    assert run_check(srv.config_path).returncode == 0
    with pytest.raises(OSError):
        admin_request(("127.0.0.1", srv.admin_port), "GET", "/status", timeout=2)


def write_ops_config(tmp_path, admin: dict, name="meridian.toml"):
    zdir = tmp_path / "zones"
    zdir.mkdir(exist_ok=True)
    for fname, text in zone_files().items():
        (zdir / fname).write_text(text)
    path = tmp_path / name
    path.write_text(render_ops_config(find_free_port(), [zdir], find_free_port("127.0.0.1"), admin))
    return path


def test_off_loopback_listener_needs_a_token(tmp_path):
    port = find_free_port("127.0.0.1")
    open_wide = write_ops_config(tmp_path, {"listen": f"0.0.0.0:{port}"}, "wide.toml")
    proc = run_check(open_wide)
    assert proc.returncode == 1, proc
    assert f"[admin] listens on 0.0.0.0:{port}, off loopback, so it needs a token" in proc.stderr
    assert "needs a token" in proc.stderr
    with_token = write_ops_config(tmp_path, {"listen": f"0.0.0.0:{port}", "token": TOKEN}, "wide-token.toml")
    assert run_check(with_token).returncode == 0, run_check(with_token).stderr
    loopback = write_ops_config(tmp_path, {"listen": f"127.0.0.2:{port}"}, "loopback.toml")
    assert run_check(loopback).returncode == 0, run_check(loopback).stderr
    off = write_ops_config(tmp_path, {"listen": "0.0.0.0:{port}", "explain_acl": ["127.0.0.0/8"]}, "off2.toml")
    assert run_check(off).returncode == 1


def test_admin_port_in_use_is_a_clear_startup_error(tmp_path):
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        config = write_ops_config(tmp_path, {"listen": f"127.0.0.1:{port}"})
        proc = subprocess.Popen([str(require_binary()), "-c", str(config)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate(timeout=5)
            pytest.fail(f"meridiand kept running with its admin port taken\n{err}")
    finally:
        blocker.close()
    assert proc.returncode != 0, err
    lines = [line for line in err.splitlines() if f"127.0.0.1:{port}" in line]
    assert lines, f"no line names the admin address 127.0.0.1:{port}:\n{err}"
    assert any("admin" in line and ("in use" in line or "cannot bind" in line) for line in lines), err


def test_override_survives_a_reload(api):
    admin_json(api, "PUT", OVERRIDE, body={"action": "drain", "reason": "through reloads"})
    try:
        assert admin_json(api, "POST", "/reload")["ok"] is True
        assert app_answer(api) == ([EU_CENTRAL], 10)
        region = next(r for r in admin_json(api, "GET", "/status")["zones"][0]["regions"] if r["name"] == "eu-west-1")
        assert region["override"]["action"] == "drain" and region["override"]["reason"] == "through reloads"
    finally:
        admin_json(api, "DELETE", OVERRIDE)
    assert app_answer(api) == ([EU_WEST], 30)


def test_concurrent_admin_requests(api):
    """Several clients at once (the API serves from a small thread pool): every request answered."""
    import concurrent.futures

    paths = ["/status", "/metrics", "/check", f"/explain?name={APP}&client=81.2.69.0/24"] * 6
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda p: admin_request(api, "GET", p).status, paths))
    assert statuses == [200] * len(paths)


def raw_http(srv, request: bytes, timeout: float = 8.0, half_close: bool = False) -> bytes:
    """Send request bytes as they are (then shut our side down, with half_close); everything the
    server sends until it closes."""
    with socket.create_connection((srv.admin_host, srv.admin_port), timeout=timeout) as s:
        s.sendall(request)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
    return data


def test_chunked_body_over_64k_is_413(api):
    """The 64 KiB limit holds for a chunked body too (no Content-Length to check up front)."""
    body = b'{"action": "drain"' + b" " * (70 * 1024) + b"}"  # valid JSON, 70 KiB
    request = (
        f"PUT {OVERRIDE} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode() + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
    reply = raw_http(api, request)
    try:
        assert reply.startswith(b"HTTP/1.1 413 "), reply[:300]
        region = next(r for r in admin_json(api, "GET", "/status")["zones"][0]["regions"] if r["name"] == "eu-west-1")
        assert region["override"] is None, "a 70 KiB chunked body was accepted and applied"
    finally:
        admin_request(api, "DELETE", OVERRIDE)
    assert app_answer(api) == ([EU_WEST], 30)


def test_post_without_content_length_is_400_and_changes_nothing(api):
    """A POST needs a Content-Length (an empty body is `Content-Length: 0`). Without one the
    request is refused before any body is read: 400 at once, and no reload. A client that also
    closes its side may see the connection closed without the 400 (the server cannot always
    write to a half-closed peer), but the reload must not run either way."""
    before = admin_json(api, "GET", "/status")["reloads"]

    request = b"POST /reload HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"

    def post_without_length(half_close):
        started = time.monotonic()
        data = raw_http(api, request, half_close=half_close)
        return data, time.monotonic() - started

    data, elapsed = post_without_length(half_close=False)
    assert data.startswith(b"HTTP/1.1 400 "), f"reply {data[:200]!r}"
    assert b"Content-Length" in data.split(b"\r\n\r\n", 1)[1]
    assert elapsed < 2.0, f"the 400 took {elapsed:.1f} s: the server waited for a body"
    data, _ = post_without_length(half_close=True)
    assert data == b"" or data.startswith(b"HTTP/1.1 400 "), f"reply {data[:200]!r}"
    after = admin_json(api, "GET", "/status")["reloads"]
    assert after == before, "the reload ran although the request was refused (or never answered)"
