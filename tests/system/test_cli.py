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


# --------------------------------------------------------------------------------------------
# Settings: the schema, durations and their old *_ms spelling
# --------------------------------------------------------------------------------------------

SCHEMA_BEGIN = "<!-- BEGIN meridiand --schema: generated, do not edit -->\n"
SCHEMA_END = "<!-- END meridiand --schema -->"


def test_schema_prints_the_settings_tables_of_docs_config_md():
    proc = subprocess.run([str(require_binary()), "--schema"], capture_output=True, text=True, timeout=10,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    doc = (REPO_ROOT / "docs" / "CONFIG.md").read_text()
    block = doc[doc.index(SCHEMA_BEGIN) + len(SCHEMA_BEGIN):doc.index(SCHEMA_END)]
    assert block == "\n" + proc.stdout + "\n", "docs/CONFIG.md is stale: run tools/dev/update-config-doc.py"
    assert "| `tcp_idle_timeout` | duration | 100ms – 1h | 10s |" in proc.stdout
    assert "Old spelling: `tcp_idle_timeout_ms`" in proc.stdout


@pytest.mark.parametrize("server", [
    {"tcp_idle_timeout_ms": None, "tcp_idle_timeout": "250ms", "tcp_query_timeout": "2m", "udp_overload_interval": "0s"},
    {"tcp_idle_timeout_ms": 250, "tcp_query_timeout_ms": 120000, "udp_overload_interval_ms": 0},
], ids=["durations", "old-ms-spelling"])
def test_check_accepts_durations_and_their_old_ms_spelling(tmp_path, server):
    proc = run_check(write_config(tmp_path, [EXAMPLE_ZONES], server=server))
    assert proc.returncode == 0, proc.stderr


def test_a_duration_given_both_ways_is_reported_at_the_old_key(tmp_path):
    cfg = write_config(tmp_path, [EXAMPLE_ZONES], server={"tcp_idle_timeout": "10s"})  # beside the default _ms key
    proc = run_check(cfg)
    assert proc.returncode == 1, proc.stderr
    errors = parse_errors(proc.stderr)
    assert [(e[1], e[2]) for e in errors] == [line_col(cfg.read_text(), "tcp_idle_timeout_ms")], proc.stderr
    assert errors[0][3] == ('"tcp_idle_timeout_ms" is the old spelling of "tcp_idle_timeout" in [server]: '
                            'give only one of them')


@pytest.mark.parametrize("key,value,words", [
    ("tcp_query_timeout", "5000", ['"tcp_query_timeout" in [server] must be a duration such as "250ms", "5s" or "2m"',
                                   "tcp_query_timeout_ms = 5000"]),
    ("tcp_query_timeout", '"5 s"', ['must be a duration', 'not "5 s"']),
    ("tcp_query_timeout", '"50ms"', ['"tcp_query_timeout" in [server] must be between 100ms and 10m, not "50ms"']),
    ("workers", "257", ['"workers" in [server] must be between 0 and 256, not 257', "stats::kMaxWorkers"]),
])
def test_a_setting_out_of_its_schema_is_reported_at_its_value(tmp_path, key, value, words):
    cfg = tmp_path / "meridian.toml"
    text = render_config(5300, [EXAMPLE_ZONES]).replace("[server]\n", f"[server]\n{key} = {value}\n", 1)
    text = text.replace("workers = 2\n", "", 1) if key == "workers" else text
    cfg.write_text(text)
    proc = run_check(cfg)
    assert proc.returncode == 1, proc.stderr
    errors = parse_errors(proc.stderr)
    assert [(e[1], e[2]) for e in errors] == [line_col(text, f"{key} = {value}\n")[0:1] + (len(key) + 4,)], proc.stderr
    for word in words:
        assert word in errors[0][3], errors[0][3]
