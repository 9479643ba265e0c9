"""Hot reload: SIGHUP, POST /reload and zone files watched on disk. Under continuous query load
no query may be lost or answered wrongly while snapshots are swapped, and a configuration with
errors keeps the old data serving, with its errors logged and returned as file:line:column."""

from __future__ import annotations

import signal
import threading
import time

import dns.exception
import dns.flags
import dns.rcode
import pytest

from admin_client import admin_json, admin_request
from config_toml import zone_toml
from diagnostics import line_col
from meridian_server import start_ops_server, wait_for
from wire import answer_addresses, make_query, udp_exchange

ORIGIN = "reload.example."
A1, A2, BROKEN = "192.0.2.1", "192.0.2.2", "192.0.2.99"
STABLE = "192.0.2.10"


def zone_text(flip: str, extra: str = "") -> str:
    return zone_toml(
        ORIGIN,
        f"""
@       3600 IN NS ns1
ns1     3600 IN A  192.0.2.53
stable       IN A  {STABLE}
flip         IN A  {flip}
{extra}
""",
        soa={"serial": 7},
    )


def broken_text() -> str:
    # a changed address that must never be served, next to a record that does not parse
    return zone_text(BROKEN, "oops         IN A  192.0.2.999")


@pytest.fixture
def srv(start_server):
    return start_ops_server(start_server, zone_files={"reload.example.toml": zone_text(A1)})


def zone_path(srv):
    return srv.workdir / "zones" / "reload.example.toml"


def flip_address(srv):
    r = srv.query("flip." + ORIGIN, "A")
    assert r.rcode() == dns.rcode.NOERROR, r
    return answer_addresses(r)


class Load:
    """Client threads asking flip and stable over UDP, each query with a 1 s timeout."""

    def __init__(self, port: int, threads: int = 2):
        self.port = port
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent = self.answered = 0
        self.lost: list = []
        self.wrong: list = []
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(threads)]

    def run(self, index: int) -> None:
        n = 0
        while not self.stop.is_set():
            name = ("flip." if (n + index) % 2 == 0 else "stable.") + ORIGIN
            n += 1
            q = make_query(name, "A")
            try:
                r = udp_exchange(q, self.port, timeout=1.0)
            except dns.exception.Timeout:
                with self.lock:
                    self.sent += 1
                    self.lost.append((time.monotonic(), name))
                continue
            allowed = {A1, A2} if name.startswith("flip.") else {STABLE}
            got = answer_addresses(r)
            ok = r.rcode() == dns.rcode.NOERROR and bool(r.flags & dns.flags.AA) and len(got) == 1 and got[0] in allowed
            with self.lock:
                self.sent += 1
                self.answered += 1
                if not ok:
                    self.wrong.append((time.monotonic(), name, dns.rcode.to_text(r.rcode()), got))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=5)


def write_atomically(path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def test_reloads_under_load_lose_nothing(srv):
    """20 reloads, alternately SIGHUP and POST /reload, with edits that flip a record between two
    addresses and, at reload 11 (a POST), a broken file; 2 client threads ask all the while."""
    path = zone_path(srv)
    current = A1
    outcomes = []
    with Load(srv.port) as load:
        time.sleep(0.3)
        for i in range(20):
            if i == 11:
                write_atomically(path, broken_text())
            elif i == 12 or i % 3 == 1:
                if i % 3 == 1:
                    current = A2 if current == A1 else A1
                write_atomically(path, zone_text(current))
            if i % 2 == 0:
                srv.proc.send_signal(signal.SIGHUP)
                outcomes.append(("SIGHUP", None))
            else:
                outcomes.append(("POST", admin_request(srv, "POST", "/reload").status))
            time.sleep(0.45)
        time.sleep(0.5)
    assert srv.alive()
    assert load.sent > 100, f"only {load.sent} queries in ~10 s"
    assert load.lost == [], f"{len(load.lost)} of {load.sent} queries got no answer: {load.lost[:5]}"
    assert load.wrong == [], f"{len(load.wrong)} of {load.sent} wrong answers: {load.wrong[:5]}"
    assert load.answered == load.sent
    posts = [status for kind, status in outcomes if kind == "POST"]
    assert len(outcomes) == 20
    assert posts == [200] * 5 + [422] + [200] * 4, posts
    # the final edit is what is served
    assert wait_for(lambda: flip_address(srv) == [current], timeout=3.0)
    reloads = admin_json(srv, "GET", "/status")["reloads"]
    assert reloads["failed"] >= 1, reloads
    assert reloads["succeeded"] >= 19, reloads
    assert reloads["last_errors"] == []
    assert "reload failed: still serving the previous configuration" in srv.stderr()


def test_broken_post_reload_under_load_keeps_old_data(srv):
    path = zone_path(srv)
    with Load(srv.port) as load:
        time.sleep(0.2)
        path.write_text(broken_text())
        reply = admin_request(srv, "POST", "/reload")
        assert reply.status == 422, reply
        time.sleep(0.3)
        path.write_text(zone_text(A2))
        assert admin_request(srv, "POST", "/reload").status == 200
        time.sleep(0.3)
    assert load.lost == [] and load.wrong == [], (load.lost[:5], load.wrong[:5])
    assert flip_address(srv) == [A2]


def test_zone_file_edit_is_picked_up_without_a_signal(srv):
    assert flip_address(srv) == [A1]
    before = admin_json(srv, "GET", "/status")["reloads"]["succeeded"]
    time.sleep(1.1)  # a new mtime second, whatever the file system's resolution
    t0 = time.monotonic()
    zone_path(srv).write_text(zone_text(A2))
    assert wait_for(lambda: flip_address(srv) == [A2], timeout=5.0, interval=0.05), "edit not picked up within 5 s"
    elapsed = time.monotonic() - t0
    assert elapsed <= 2.5, f"picked up after {elapsed:.2f} s"
    assert "configuration changed on disk: reloading" in srv.stderr()
    assert admin_json(srv, "GET", "/status")["reloads"]["succeeded"] == before + 1


def test_broken_edit_logs_errors_and_keeps_serving(srv):
    path = zone_path(srv)
    text = broken_text()
    bad_line, bad_col = line_col(text, "oops ")
    bad_line_in_string = bad_line  # the records string's lines are the file's lines
    time.sleep(1.1)
    path.write_text(text)
    expected = f"{path}:{bad_line_in_string}:{bad_col}: "
    assert wait_for(lambda: expected in srv.stderr(), timeout=4.0), (
        f"no error logged at {expected!r} within 4 s:\n{srv.stderr()[-2000:]}"
    )
    assert wait_for(lambda: "reload failed: still serving the previous configuration" in srv.stderr(), timeout=2.0)
    # the old data keeps serving, the broken address never appears
    for _ in range(5):
        assert flip_address(srv) == [A1]
    assert srv.query("oops." + ORIGIN, "A").rcode() == dns.rcode.NXDOMAIN
    # POST /reload says the same, with 422
    reply = admin_request(srv, "POST", "/reload")
    assert reply.status == 422, reply
    body = reply.json()
    assert body["ok"] is False and body["zones"] == 0
    assert any(e.startswith(expected) for e in body["errors"]), body["errors"]
    assert all(":" in e for e in body["errors"])
    status = admin_json(srv, "GET", "/status")["reloads"]
    assert status["last_errors"] == body["errors"]
    # GET /check agrees, and applies nothing
    check = admin_request(srv, "GET", "/check")
    assert check.status == 422 and check.json()["errors"] == body["errors"]
    # fixed on disk: served again without a signal
    path.write_text(zone_text(A2))
    assert wait_for(lambda: flip_address(srv) == [A2], timeout=4.0)
    assert admin_json(srv, "GET", "/status")["reloads"]["last_errors"] == []


def test_broken_server_config_keeps_serving(srv):
    config = srv.config_path
    good = config.read_text()
    broken = good.replace("udp_max_payload = 1232", 'udp_max_payload = "many"', 1)
    assert broken != good
    config.write_text(broken)
    try:
        reply = admin_request(srv, "POST", "/reload")
        assert reply.status == 422, reply
        line, col = line_col(broken, '"many"')
        assert any(e.startswith(f"{config}:{line}:{col}: ") for e in reply.json()["errors"]), reply.json()
        assert flip_address(srv) == [A1]
    finally:
        config.write_text(good)
    assert admin_json(srv, "POST", "/reload")["ok"] is True


def test_new_zone_file_is_picked_up_and_then_watched(srv):
    """A zone file added to a watched directory is loaded without a signal, and later edits of it
    are picked up like those of the files that were there at startup."""
    other = zone_path(srv).with_name("added.example.toml")
    text = zone_toml("added.example.", "@ 3600 IN NS ns1\nns1 3600 IN A 192.0.2.53\nwww IN A 192.0.2.70\n")
    other.write_text(text)

    def www():
        r = srv.query("www.added.example.", "A")
        return answer_addresses(r) if r.rcode() == dns.rcode.NOERROR else r.rcode()

    assert wait_for(lambda: www() == ["192.0.2.70"], timeout=4.0), f"new zone file not loaded within 4 s: {www()}"
    time.sleep(1.1)
    t0 = time.monotonic()
    other.write_text(text.replace("192.0.2.70", "192.0.2.71"))
    assert wait_for(lambda: www() == ["192.0.2.71"], timeout=5.0), (
        f"an edit of the added zone file was not picked up within 5 s (still {www()})"
    )
    assert time.monotonic() - t0 <= 2.5
    assert flip_address(srv) == [A1]
