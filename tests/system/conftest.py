"""The pytest fixtures of Meridian's black-box system tests, and nothing else: server factories
that stop and check every server they started, a check that no server died during a test, its
stderr in failure reports, and the test geo database. The machinery they use is in the helper
modules beside this file (meridian_server, config_toml, wire, admin_client, ports, geo, paths,
diagnostics); tests import from those, never from here.

Binary: ``$MERIDIAND`` if set, else ``<repo>/build/bin/meridiand``.
Run with ``/usr/bin/python3 -m pytest tests/system``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geo import TEST_GEO_CSV, build_geo_mmdb
from healthtargets import Targets
from meridian_server import ACTIVE_SERVERS, ServerFactory
from paths import REPO_ROOT


@pytest.fixture
def start_server(tmp_path):
    """Factory: start_server(zones=..., zone_files=..., server=..., identity=...) -> MeridianServer.

    Every server started is stopped with SIGTERM at teardown and must exit 0."""
    factory = ServerFactory(tmp_path)
    yield factory
    factory.close()


@pytest.fixture
def targets():
    """Controllable loopback HTTP and TCP targets (healthtargets.py), all closed at teardown."""
    t = Targets()
    yield t
    t.stop_all()


@pytest.fixture(scope="module")
def module_start_server(tmp_path_factory):
    """Like start_server, but the servers live for the whole test module."""
    factory = ServerFactory(tmp_path_factory.mktemp("module-servers"))
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def server(module_start_server):
    """A server for the example zone (geo.example.com.) with the default test config."""
    return module_start_server()


@pytest.fixture(autouse=True)
def _servers_must_survive():
    """After every test, every server that was running must still be running."""
    before = [s for s in ACTIVE_SERVERS if s.alive()]
    yield
    dead = [s for s in before if not s.alive() and not s.stopped]
    if dead:
        pytest.fail(
            "meridiand died during the test:\n"
            + "\n".join(f"exit code {s.proc.returncode}\n{s.describe()}" for s in dead),
            pytrace=False,
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for srv in list(ACTIVE_SERVERS):
            report.sections.append((f"meridiand (port {srv.port}) stderr", srv.describe()))


@pytest.fixture(scope="session")
def test_geo_mmdb(tmp_path_factory) -> Path:
    """The test geo database: ``$MERIDIAN_TEST_MMDB``, else <repo>/build/geoip/test-geo.mmdb,
    else built from geoip/test-geo.csv into a temporary directory."""
    env = os.environ.get("MERIDIAN_TEST_MMDB")
    path = Path(env) if env else REPO_ROOT / "build" / "geoip" / "test-geo.mmdb"
    if path.is_file():
        return path.resolve()
    return build_geo_mmdb(TEST_GEO_CSV, tmp_path_factory.mktemp("geo-mmdb") / "test-geo.mmdb").resolve()
