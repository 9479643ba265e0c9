"""Every TOML example in docs/ and every zone in zones/ is loaded by the real meridiand --check.

A ```toml block in docs/ whose first line is "# zone file" is checked as a zone; one whose first
line is "# server config" is checked as a server config next to a copy of zones/ and the test
geo database as geo.mmdb.
"""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
MERIDIAND = os.environ.get("MERIDIAND", str(REPO / "build" / "bin" / "meridiand"))
TEST_MMDB = os.environ.get("MERIDIAN_TEST_MMDB", str(REPO / "build" / "geoip" / "test-geo.mmdb"))
BLOCK = re.compile(r"```toml\n(.*?)```", re.S)


def doc_blocks():
    for doc in sorted((REPO / "docs").glob("*.md")):
        for index, match in enumerate(BLOCK.finditer(doc.read_text())):
            yield pytest.param(doc.name, match.group(1), id=f"{doc.name}-{index}")


def check(config_path):
    result = subprocess.run([MERIDIAND, "--check", "-c", str(config_path)],
                            capture_output=True, text=True, timeout=30)
    return result.returncode, result.stdout + result.stderr


def write_server_config(directory, zones):
    config = directory / "meridian.toml"
    config.write_text(f'zones = {zones!r}\n'.replace("'", '"') +
                      '[listen]\nudp = ["127.0.0.1:53"]\n')
    return config


def test_docs_have_examples_of_both_kinds():
    kinds = [block.values[1].splitlines()[0] for block in doc_blocks()]
    assert "# zone file" in kinds
    assert "# server config" in kinds


@pytest.mark.parametrize("doc,block", list(doc_blocks()))
def test_docs_example_loads(doc, block, tmp_path):
    kind = block.splitlines()[0]
    if kind == "# zone file":
        zone = tmp_path / "example.toml"
        zone.write_text(block)
        code, output = check(write_server_config(tmp_path, [str(zone)]))
    elif kind == "# server config":
        shutil.copytree(REPO / "zones", tmp_path / "zones")
        shutil.copy(TEST_MMDB, tmp_path / "geo.mmdb")
        config = tmp_path / "meridian.toml"
        config.write_text(block)
        code, output = check(config)
    else:
        pytest.fail(f"{doc}: a toml block must start with '# zone file' or '# server config'")
    assert code == 0, output


@pytest.mark.parametrize("zone", sorted((REPO / "zones").glob("*.toml")), ids=lambda p: p.name)
def test_example_zone_loads(zone, tmp_path):
    code, output = check(write_server_config(tmp_path, [str(zone)]))
    assert code == 0, output
    assert "valid (1 zones)" in output


def test_dev_config_loads():
    code, output = check(REPO / "tools" / "dev" / "meridian.toml")
    assert code == 0, output
