"""The admin dashboard as a browser shows it: headless chromium renders the page (its script
fetches /status and builds the tables), and Dom reads the rows back. Shared by the dashboard
tests of test_dashboard.py and test_per_address.py."""

from __future__ import annotations

import html.parser
import os
import shutil
import signal
import subprocess

import pytest

CHROMIUM = "/usr/bin/chromium"


class Dom(html.parser.HTMLParser):
    """Region and member rows (by id: their cells' text and attributes), h2 texts, the demand
    charts, the body's attributes and the #error text."""

    def __init__(self):
        super().__init__()
        self.rows = {}
        self.charts = {}  # svg id -> {polyline class: [(x, y), …]}
        self._chart = None
        self.h2 = []
        self.body = {}
        self.error = ""
        self._row = None
        self._cell = None
        self._h2 = None
        self._in_error = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "svg" and a.get("id", "").startswith("demand-"):
            self._chart = self.charts.setdefault(a["id"], {})
        elif tag == "polyline" and self._chart is not None:
            points = [p for p in a.get("points", "").split(" ") if p]
            self._chart[a.get("class", "")] = [tuple(float(v) for v in p.split(",")) for p in points]
        elif tag == "tr" and a.get("id", "").startswith(("region-", "member-", "node-")):
            self._row = self.rows.setdefault(a["id"], [])
        elif tag == "td" and self._row is not None:
            self._cell = {"text": "", "class": a.get("class", ""), "state": a.get("data-state"),
                          "answered": a.get("data-answered"), "mismatch": a.get("data-mismatch")}
            self._row.append(self._cell)
        elif tag == "h2":
            self._h2 = ""
        elif tag == "div" and a.get("id") == "error":
            self._in_error = True

    def handle_endtag(self, tag):
        if tag == "svg":
            self._chart = None
        if tag == "tr":
            self._row = None
        elif tag == "td":
            self._cell = None
        elif tag == "h2" and self._h2 is not None:
            self.h2.append(self._h2)
            self._h2 = None
        elif tag == "div":
            self._in_error = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        if self._h2 is not None:
            self._h2 += data
        if self._in_error:
            self.error += data


def render(url: str, tmp_path) -> Dom:
    """The page as headless chromium leaves it after its script ran."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run tools/install-deps.sh (it installs chromium)", pytrace=False)
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", url,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # chromium and only its own children
        proc.communicate(timeout=10)
        pytest.fail("chromium did not finish within 60 s")
    assert proc.returncode == 0 and "<html" in out, f"chromium failed ({proc.returncode}):\n{err[-3000:]}"
    dom = Dom()
    dom.feed(out)
    dom.text = out
    return dom
