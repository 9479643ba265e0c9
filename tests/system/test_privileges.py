"""Privileges: started as root, meridiand binds its sockets, then becomes the configured user and
group; without a user it refuses to stay root unless allow_root is set. The suite runs as root
(as CI does); these tests check that first rather than pass vacuously."""
import os
import subprocess
import time

import dns.message
import dns.query
import dns.rcode

from config_toml import write_config
from paths import EXAMPLE_ZONES, require_binary

ORIGIN = "geo.example.com."


def ids_of(pid: int) -> dict:
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                fields[key] = value.split()
    return fields


def start(tmp_path, server: dict):
    assert os.geteuid() == 0, "these tests need root: run the suite as root, as `make test` does"
    config = write_config(tmp_path, [EXAMPLE_ZONES], server=server)  # on a free port
    stderr = open(tmp_path / "stderr", "w+")
    proc = subprocess.Popen([str(require_binary()), "-c", str(config)], stderr=stderr, stdout=subprocess.DEVNULL)
    return proc, stderr, config


def listen_port(config) -> int:
    for line in config.read_text().splitlines():
        if line.startswith("udp = ["):
            return int(line.split('"')[1].rsplit(":", 1)[1])
    raise AssertionError("no udp listen address in " + str(config))


def test_root_drops_to_the_configured_user_and_group_and_still_answers(tmp_path):
    proc, stderr, config = start(tmp_path, {"allow_root": None, "user": "nobody", "group": "nogroup"})
    try:
        port = listen_port(config)
        deadline = time.monotonic() + 10
        reply = None
        while time.monotonic() < deadline and reply is None:
            try:
                reply = dns.query.udp(dns.message.make_query(f"www.{ORIGIN}", "A"), "127.0.0.1", port=port, timeout=0.5)
            except Exception:
                time.sleep(0.1)
        assert reply is not None and reply.rcode() == dns.rcode.NOERROR, open(tmp_path / "stderr").read()
        ids = ids_of(proc.pid)
        assert ids["Uid"] == ["65534"] * 4, ids  # real, effective, saved, filesystem: all nobody
        assert ids["Gid"] == ["65534"] * 4, ids
        assert ids.get("Groups", []) == [], ids  # root's supplementary groups are gone
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0, open(tmp_path / "stderr").read()


def test_without_a_user_it_refuses_to_stay_root(tmp_path):
    proc, stderr, _ = start(tmp_path, {"allow_root": None})
    assert proc.wait(timeout=10) == 1
    stderr.seek(0)
    assert "refusing to run as root" in stderr.read()


def test_a_missing_user_is_one_clear_line_and_exit_1(tmp_path):
    proc, stderr, _ = start(tmp_path, {"allow_root": None, "user": "no-such-meridian-user"})
    assert proc.wait(timeout=10) == 1
    stderr.seek(0)
    text = stderr.read()
    assert 'user "no-such-meridian-user" does not exist' in text, text
