"""The command line: `--check`, config errors, signals."""

import signal
import subprocess
import time

import dns.rcode
import pytest

from config_toml import render_config, write_config
from diagnostics import line_col, parse_errors, same_file
from meridian_server import MeridianServer, run_check
from paths import EXAMPLE_ZONES, ORIGIN, REPO_ROOT, require_binary
from wire import rrset_texts, tcp_connect


# --------------------------------------------------------------------------------------------
# --check on valid configs
# --------------------------------------------------------------------------------------------


def test_check_accepts_the_development_config():
    proc = run_check(REPO_ROOT / "tools" / "dev" / "meridian.toml")
    assert proc.returncode == 0, proc.stderr
    assert parse_errors(proc.stderr) == []


def test_check_accepts_a_config_with_the_example_zone_directory(tmp_path):
    proc = run_check(write_config(tmp_path, [EXAMPLE_ZONES]))
    assert proc.returncode == 0, proc.stderr
    assert parse_errors(proc.stderr) == []


def test_check_accepts_a_single_zone_file(tmp_path):
    proc = run_check(write_config(tmp_path, [EXAMPLE_ZONES / "geo.example.com.toml"]))
    assert proc.returncode == 0, proc.stderr


def test_check_resolves_zone_paths_relative_to_the_config_file(tmp_path):
    confdir = tmp_path / "etc"
    (confdir / "myzones").mkdir(parents=True)
    (confdir / "myzones" / "geo.toml").write_text((EXAMPLE_ZONES / "geo.example.com.toml").read_text())
    cfg = write_config(confdir, ["myzones"])
    proc = run_check(cfg, cwd=tmp_path)  # the working directory is NOT the config's directory
    assert proc.returncode == 0, proc.stderr


def test_check_does_not_bind_the_listen_ports(start_server):
    srv = start_server()
    started = time.monotonic()
    proc = run_check(srv.config_path)  # same ports as the running server
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 5
    srv.assert_answers_normally()


def test_server_serves_zone_directory_given_relative_to_the_config(tmp_path):
    confdir = tmp_path / "etc"
    (confdir / "z").mkdir(parents=True)
    (confdir / "z" / "geo.toml").write_text((EXAMPLE_ZONES / "geo.example.com.toml").read_text())
    srv = MeridianServer(confdir, ["z"], cwd=tmp_path)  # cwd is not the config's directory
    srv.start()
    try:
        r = srv.query(f"www.{ORIGIN}", "A")
        assert rrset_texts(r.answer) == [f"www.{ORIGIN} 300 IN A 192.0.2.10"]
    finally:
        srv.stop()


# --------------------------------------------------------------------------------------------
# --check on broken configs
# --------------------------------------------------------------------------------------------


def test_toml_syntax_error_in_config_is_reported_with_position(tmp_path):
    cfg = tmp_path / "meridian.toml"
    text = render_config(5300, [EXAMPLE_ZONES]).replace("[server]", "[server", 1)
    cfg.write_text(text)
    proc = run_check(cfg)
    assert proc.returncode == 1, proc.stderr
    errors = [e for e in parse_errors(proc.stderr) if same_file(e[0], cfg, tmp_path)]
    assert len(errors) >= 1, proc.stderr
    assert errors[0][1] == line_col(text, "[server")[0], proc.stderr


def test_nonexistent_zones_path_is_an_error_naming_it(tmp_path):
    missing = tmp_path / "no-such-zones-dir"
    proc = run_check(write_config(tmp_path, [EXAMPLE_ZONES, missing]))
    assert proc.returncode == 1, proc.stderr
    assert "no-such-zones-dir" in proc.stderr


def test_unknown_key_in_config_is_reported_at_its_line(tmp_path):
    cfg = tmp_path / "meridian.toml"
    text = render_config(5300, [EXAMPLE_ZONES]).replace("workers = 2", "workers = 2\nworkerz = 3", 1)
    cfg.write_text(text)
    proc = run_check(cfg)
    assert proc.returncode == 1, proc.stderr
    errors = [e for e in parse_errors(proc.stderr) if same_file(e[0], cfg, tmp_path)]
    assert [(e[1], e[2]) for e in errors] == [line_col(text, "workerz")], proc.stderr
    assert "unknown key" in errors[0][3] and "workerz" in errors[0][3]


def test_missing_config_file_is_an_error(tmp_path):
    proc = run_check(tmp_path / "absent.toml")
    assert proc.returncode == 1
    assert "absent.toml" in proc.stderr


def test_server_with_broken_config_exits_nonzero_without_serving(tmp_path):
    cfg = write_config(tmp_path, [tmp_path / "missing"])
    proc = subprocess.run(
        [str(require_binary()), "-c", str(cfg)], capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL
    )
    assert proc.returncode != 0
    assert "missing" in proc.stderr


# --------------------------------------------------------------------------------------------
# Signals
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_the_server_with_exit_code_0(start_server, signum):
    srv = start_server()
    srv.assert_answers_normally()
    started = time.monotonic()
    code = srv.signal(signum, timeout=5)
    srv.stopped = True
    assert code == 0, f"exit code {code}\n{srv.describe()}"
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_the_server_even_with_open_tcp_connections(start_server, signum):
    srv = start_server(server={"workers": 2})
    conns = [tcp_connect(srv.port) for _ in range(3)]
    try:
        conns[0].sendall(b"\x00")  # half a length prefix
        time.sleep(0.1)
        code = srv.signal(signum, timeout=5)
        srv.stopped = True
        assert code == 0, f"exit code {code}\n{srv.describe()}"
    finally:
        for c in conns:
            c.close()


def test_server_with_workers_0_uses_all_cores_and_answers(start_server):
    srv = start_server(server={"workers": 0})
    for _ in range(10):
        r = srv.query(f"www.{ORIGIN}", "A", tcp=bool(_ % 2))
        assert r.rcode() == dns.rcode.NOERROR
        assert rrset_texts(r.answer) == [f"www.{ORIGIN} 300 IN A 192.0.2.10"]
