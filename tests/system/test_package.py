"""The Debian package (packaging/README.md): what the .deb holds, and the installed server.

The .deb is not built here: `make test` builds it first (`make package`: cpack in the optimised
build directory). It is found in $MERIDIAN_PACKAGE_DIR if set, else in the build directory of
$MERIDIAND (two levels above build/bin/meridiand), else in <repo>/build. In the ASan+UBSan pass
of `make test` the module is left out (tests/CMakeLists.txt): the package comes from the
optimised build.

Installing needs root (CI runs `make test` as root). The package is installed once for the
module with `dpkg -i` and purged with `dpkg --purge` afterwards; the `meridian` user and group
are removed again if they did not exist before, so the machine is left as it was. The tests
refuse to run if a meridian package is already installed, rather than replace it.

The installed server is started as the unit starts it: as the user `meridian` with only
CAP_NET_BIND_SERVICE (setpriv), on the packaged configuration with only the listen addresses
moved to a free loopback port and the admin API switched off.
"""
from __future__ import annotations

import grp
import gzip
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import tomllib
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from paths import REPO_ROOT, meridiand_path
from ports import find_free_port, port_is_free

PACKAGE = "meridian"
USER = "meridian"
CONFIG = Path("/etc/meridian/meridian.toml")
ZONES = Path("/etc/meridian/zones")
STATE_DIR = Path("/var/lib/meridian")
UNIT = Path("/lib/systemd/system/meridian.service")
SBIN_MERIDIAND = Path("/usr/sbin/meridiand")
MMDB_BUILD = Path("/usr/bin/mmdb-build")

PACKAGE_FILES = {
    "/usr/sbin/meridiand": "file",
    "/usr/bin/meridianctl": "file",
    "/usr/bin/mmdb-build": "file",
    "/usr/share/man/man8/meridiand.8.gz": "file",
    "/usr/share/man/man5/meridian.toml.5.gz": "file",
    "/etc/meridian/meridian.toml": "file",
    "/etc/meridian/zones/example.com.toml": "file",
    "/var/lib/meridian": "dir",
    "/lib/systemd/system/meridian.service": "file",
    "/usr/share/doc/meridian/INTEGRATIONS.md": "file",
    "/usr/share/meridian/feeds/aws_asg.py": "file",
    "/usr/share/meridian/feeds/feedlib.py": "file",
}
EXECUTABLES = ("/usr/sbin/meridiand", "/usr/bin/meridianctl", "/usr/bin/mmdb-build",
               "/usr/share/meridian/feeds/aws_asg.py", "/usr/share/meridian/feeds/aws_elb.py",
               "/usr/share/meridian/feeds/azure_vmss.py", "/usr/share/meridian/feeds/gcloud_mig.py")
CONFFILES = {"/etc/meridian/meridian.toml", "/etc/meridian/zones/example.com.toml"}
RUNTIME_LIBRARIES = ("libldns3", "libuv1", "libtomlplusplus3", "libmaxminddb0", "libcurl4",
                     "libcpp-httplib0.11", "libsystemd0")

START_TIMEOUT = 10.0
CAP_NET_BIND_SERVICE = 10


# --------------------------------------------------------------------------------------------
# Finding the package
# --------------------------------------------------------------------------------------------


def build_dir_of_meridiand() -> Path:
    return meridiand_path().resolve().parent.parent


def is_sanitizer_build(build_dir: Path) -> bool:
    cache = build_dir / "CMakeCache.txt"
    return cache.is_file() and re.search(r"^MERIDIAN_SANITIZE:BOOL=ON$", cache.read_text(), re.M) is not None


def package_dir() -> Path:
    env = os.environ.get("MERIDIAN_PACKAGE_DIR")
    if env:
        return Path(env)
    for candidate in (build_dir_of_meridiand(), REPO_ROOT / "build"):
        if list(candidate.glob(f"{PACKAGE}_*.deb")):
            return candidate
    return build_dir_of_meridiand()


@pytest.fixture(scope="module")
def deb() -> Path:
    # tests/CMakeLists.txt leaves this module out of the sanitizer passes: the package is built from
    # the optimised build and tested once, in its pass.
    assert os.environ.get("MERIDIAN_PACKAGE_DIR") or not is_sanitizer_build(build_dir_of_meridiand()), (
        "test the package against the optimised build (MERIDIAND=build/bin/meridiand)")
    directory = package_dir()
    debs = sorted(directory.glob(f"{PACKAGE}_*.deb"), key=lambda p: p.stat().st_mtime)
    if not debs:
        pytest.fail(f"no {PACKAGE}_*.deb in {directory}: build it with `make package` "
                    f"(cd build && cpack -G DEB), or set MERIDIAN_PACKAGE_DIR", pytrace=False)
    newest = debs[-1]
    binary = directory / "bin" / "meridiand"
    if binary.is_file() and binary.stat().st_mtime > newest.stat().st_mtime + 1:
        pytest.fail(f"{newest} is older than {binary}: rebuild it with `make package`", pytrace=False)
    return newest


@pytest.fixture(scope="module")
def contents(deb, tmp_path_factory) -> Path:
    """The package's files, extracted (dpkg-deb -x) into a scratch directory."""
    root = tmp_path_factory.mktemp("deb-contents")
    run(["dpkg-deb", "-x", str(deb), str(root)])
    return root


@pytest.fixture(scope="module")
def control(deb, tmp_path_factory) -> Path:
    """The package's control files (dpkg-deb -e)."""
    root = tmp_path_factory.mktemp("deb-control") / "DEBIAN"
    run(["dpkg-deb", "-e", str(deb), str(root)])
    return root


def run(cmd, check=True, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("stdin", subprocess.DEVNULL)
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


# --------------------------------------------------------------------------------------------
# Installing (root) and leaving the machine as it was
# --------------------------------------------------------------------------------------------


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("installing the .deb needs root: run the suite as root, as `make test` in CI does",
                    pytrace=False)


def package_status() -> str:
    """dpkg's status of the package: "installed", "half-installed", … or "not-installed"."""
    proc = run(["dpkg-query", "-W", "-f=${db:Status-Status}", PACKAGE], check=False)
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else "not-installed"


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def leftovers() -> list:
    """Files of the package (or dpkg's temporary copies of them) present on the machine."""
    found = [p for p in PACKAGE_FILES if Path(p).exists()]
    for directory in ("/usr/sbin", "/usr/bin", "/etc/meridian", "/etc/meridian/zones", "/lib/systemd/system"):
        d = Path(directory)
        if d.is_dir():
            found += [str(p) for p in d.glob("*.dpkg-*") if "meridian" in str(p) or "mmdb-build" in p.name]
    return found


@pytest.fixture(scope="module")
def installed(deb):
    """The package installed with dpkg -i for the module; purged afterwards."""
    require_root()
    status = package_status()
    if status != "not-installed":
        pytest.fail(f"a {PACKAGE} package is already installed here (status {status}); "
                    f"refusing to replace it: dpkg --purge {PACKAGE} first", pytrace=False)
    if Path("/etc/meridian").exists():
        pytest.fail("/etc/meridian exists but belongs to no package; refusing to install over it", pytrace=False)
    had_user, had_group = user_exists(USER), group_exists(USER)
    try:
        proc = run(["dpkg", "-i", deb], check=False)
        assert proc.returncode == 0, f"dpkg -i {deb} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        assert package_status() == "installed"
        yield deb
    finally:
        purge = run(["dpkg", "--purge", PACKAGE], check=False)
        if not had_user and user_exists(USER):
            run(["userdel", USER], check=False)
        if not had_group and group_exists(USER):
            run(["groupdel", USER], check=False)
    assert purge.returncode == 0, f"dpkg --purge {PACKAGE}:\n{purge.stdout}\n{purge.stderr}"
    assert package_status() == "not-installed"
    assert leftovers() == []
    assert not Path("/etc/meridian").exists() and not STATE_DIR.exists()


# --------------------------------------------------------------------------------------------
# Running the installed server
# --------------------------------------------------------------------------------------------


@pytest.fixture
def rundir():
    """A scratch directory the meridian user can read (pytest's tmp_path is root's, mode 0700)."""
    path = Path(tempfile.mkdtemp(prefix="meridian-package-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def free_privileged_port() -> int:
    """A port below 1024, free for UDP and TCP on 127.0.0.1: binding it needs what port 53
    needs (CAP_NET_BIND_SERVICE), without competing with a resolver on port 53."""
    return find_free_port("127.0.0.1", candidates=random.sample(range(600, 1024), 200))


def loopback_config(port: int, server_extra: str = "", extra: str = "") -> str:
    """The installed configuration with the listen addresses on 127.0.0.1:port, the admin API off
    and two workers; `server_extra` lines are added to [server], `extra` at the end."""
    text = CONFIG.read_text()
    replacements = [
        (r'^udp = .*$', f'udp = ["127.0.0.1:{port}"]'),
        (r'^tcp = .*$', f'tcp = ["127.0.0.1:{port}"]'),
        (r'^listen = "[^"]*"', 'listen = ""'),
        (r'^workers = \d+', 'workers = 2' + ("\n" + server_extra if server_extra else "")),
    ]
    for pattern, replacement in replacements:
        text, count = re.subn(pattern, lambda _m: replacement, text, flags=re.M)
        assert count == 1, f"{pattern!r} matched {count} times in {CONFIG}"
    text += "\n" + extra
    changed, original = tomllib.loads(text), tomllib.loads(CONFIG.read_text())
    assert changed["zones"] == original["zones"] == [str(ZONES)]
    assert changed["rrl"] == original["rrl"]
    return text


def as_meridian() -> list:
    """The privileges the systemd unit gives: user and group meridian, no supplementary groups,
    CAP_NET_BIND_SERVICE as the only (ambient) capability, no new privileges."""
    return ["setpriv", f"--reuid={USER}", f"--regid={USER}", "--clear-groups",
            "--inh-caps=-all,+net_bind_service", "--ambient-caps=+net_bind_service",
            "--bounding-set=-all,+net_bind_service", "--no-new-privs"]


class NotifySocket:
    """A stand-in for systemd's notification socket: what meridiand sends with sd_notify."""

    def __init__(self, directory: Path):
        self.path = directory / "notify"
        self.path.unlink(missing_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.path.chmod(0o777)  # the meridian user sends to it
        self.messages: list = []

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not any(text in m for m in self.messages):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.sock.settimeout(remaining)
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                return False
        return True

    def drain(self) -> list:
        self.sock.settimeout(0.1)
        try:
            while True:
                self.messages.append(self.sock.recv(4096).decode())
        except socket.timeout:
            pass
        return self.messages

    def close(self):
        self.sock.close()


def start_installed(config_text: str, directory: Path, prefix=None, args=()) -> tuple:
    """/usr/sbin/meridiand -c CONFIG (after `prefix`, e.g. as_meridian()) with NOTIFY_SOCKET set,
    CONFIG being config_text written to directory/meridian.toml; (process, notify socket, config)."""
    return launch(write(directory / "meridian.toml", config_text), directory, prefix, args)


def launch(config: Path, directory: Path, prefix=None, args=()) -> tuple:
    notify = NotifySocket(directory)
    env = dict(os.environ, NOTIFY_SOCKET=str(notify.path))
    proc = subprocess.Popen([*(prefix or []), str(SBIN_MERIDIAND), "-c", str(config), *args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd="/")
    return proc, notify, config


def stop(proc: subprocess.Popen) -> tuple:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, out, err


def query(name: str, port: int, rdtype="A", tcp=False) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype)
    q.flags &= ~dns.flags.RD
    exchange = dns.query.tcp if tcp else dns.query.udp
    return exchange(q, "127.0.0.1", port=port, timeout=2)


def proc_status(pid: int) -> dict:
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return fields


def problem_lines(stderr: str) -> list:
    """The lines of stderr that report a problem: not informational log lines, not the
    "meridiand: N errors in FILE" summary after a list of errors."""
    return [line for line in stderr.splitlines()
            if line.strip() and " meridiand info: " not in line
            and not re.match(r"^meridiand: \d+ errors? in ", line)]


def assert_refuses_to_start(proc, notify, expected: str):
    """The process exits non-zero, never said READY=1, and printed one line naming the problem."""
    try:
        code = proc.wait(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        code, _, err = stop(proc)
        raise AssertionError(f"still running after {START_TIMEOUT} s; expected it to refuse: {err}")
    _, err = proc.communicate()
    messages = notify.drain()
    notify.close()
    assert code != 0, err
    assert not any("READY=1" in m for m in messages), f"said READY=1 before failing: {messages}"
    problems = problem_lines(err)
    assert len(problems) == 1, f"expected one line naming the problem, got:\n{err}"
    assert expected in problems[0], f"expected {expected!r} in:\n{err}"
    return problems[0]


# --------------------------------------------------------------------------------------------
# The .deb itself (no root needed)
# --------------------------------------------------------------------------------------------


def test_the_deb_lists_every_packaged_file(deb):
    listing = run(["dpkg-deb", "-c", deb]).stdout
    entries = {}
    for line in listing.splitlines():
        fields = line.split(None, 5)
        path = fields[5].split(" -> ")[0].lstrip(".").rstrip("/") or "/"
        entries[path] = (fields[0], fields[1])
    for path, kind in PACKAGE_FILES.items():
        assert path in entries, f"{path} is not in {deb}:\n{listing}"
        mode, owner = entries[path]
        assert owner == "root/root", (path, owner)
        assert mode[0] == ("d" if kind == "dir" else "-"), (path, mode)
    for path in EXECUTABLES:
        assert entries[path][0] == "-rwxr-xr-x", (path, entries[path])
    assert not any("loadgen" in p or "reflector" in p or "unit_tests" in p or "fuzz" in p for p in entries), \
        "build-only programs in the package"


def test_control_fields_name_the_runtime_libraries(deb):
    fields = run(["dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Depends", "Section"]).stdout
    parsed = dict(line.split(": ", 1) for line in fields.splitlines() if ": " in line)
    assert parsed["Package"] == PACKAGE
    assert parsed["Version"].startswith("0.1.0"), parsed
    assert parsed["Architecture"] == run(["dpkg", "--print-architecture"]).stdout.strip()
    depends = [d.strip().split(" ")[0] for d in parsed["Depends"].split(",")]
    for library in RUNTIME_LIBRARIES + ("adduser",):
        assert library in depends, f"{library} missing from Depends: {parsed['Depends']}"


def test_configuration_files_are_conffiles_and_scripts_are_there(control):
    assert set((control / "conffiles").read_text().split()) == CONFFILES
    for script in ("postinst", "prerm", "postrm"):
        path = control / script
        assert path.is_file() and os.access(path, os.X_OK), script
        assert run(["sh", "-n", path]).returncode == 0
    postinst = (control / "postinst").read_text()
    assert "adduser --system" in postinst and "--home /var/lib/meridian" in postinst
    assert "[ -d /run/systemd/system ]" in postinst and "systemctl daemon-reload" in postinst
    assert "rm -rf /var/lib/meridian" in (control / "postrm").read_text()


def test_man_pages_are_gzipped_roff_without_warnings(contents):
    for page in ("usr/share/man/man8/meridiand.8.gz", "usr/share/man/man5/meridian.toml.5.gz"):
        text = gzip.decompress((contents / page).read_bytes()).decode()
        assert text.lstrip().startswith((".TH", '.\\"')), page
        if shutil.which("groff"):
            proc = run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=text, stdin=None,
                       env=dict(os.environ, LC_ALL="C.UTF-8"))
            assert proc.stderr == "", f"{page}: {proc.stderr}"
    meridiand8 = gzip.decompress((contents / "usr/share/man/man8/meridiand.8.gz").read_bytes()).decode()
    assert "\\-\\-check" in meridiand8 and "explain" in meridiand8
    toml5 = gzip.decompress((contents / "usr/share/man/man5/meridian.toml.5.gz").read_bytes()).decode()
    for key in ("zones", "[listen]", "[server]", "allow_root", "[[geoip]]", "[admin]", "explain_acl", "[rrl]",
                "slip", "exempt", "[identity]", "[alerts]", "[analytics]"):
        assert key in toml5, key


def test_packaged_config_is_for_production(contents):
    config = tomllib.loads((contents / "etc/meridian/meridian.toml").read_text())
    assert config["zones"] == ["/etc/meridian/zones"]
    for transport in ("udp", "tcp"):
        assert sorted(config["listen"][transport]) == sorted(["0.0.0.0:53", "[::]:53"])
    # The unit runs it as the meridian user: nothing to drop, and never root.
    assert "user" not in config["server"] and "group" not in config["server"]
    assert config["server"]["allow_root"] is False
    assert config["admin"]["listen"] == "127.0.0.1:8019"
    assert config["forecast"]["state_file"].startswith("/var/lib/meridian/")  # the one writable directory
    rrl = config["rrl"]
    assert rrl.get("enabled", True) is True
    assert "127.0.0.0/8" in rrl["exempt"] and "::1/128" in rrl["exempt"]


def test_unit_is_notify_as_meridian_with_only_net_bind_service_and_hardened(contents):
    unit = (contents / "lib/systemd/system/meridian.service").read_text()
    settings = {}
    for line in unit.splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    one = {key: values[-1] for key, values in settings.items()}
    assert one["Type"] == "notify"
    assert one["ExecStart"] == "/usr/sbin/meridiand -c /etc/meridian/meridian.toml"
    assert one["ExecStartPre"] == "/usr/sbin/meridiand --check -c /etc/meridian/meridian.toml"
    assert one["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert one["User"] == USER and one["Group"] == USER
    assert one["AmbientCapabilities"] == "CAP_NET_BIND_SERVICE"
    assert one["CapabilityBoundingSet"] == "CAP_NET_BIND_SERVICE"
    for key, value in {
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
        "PrivateDevices": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes", "RestrictNamespaces": "yes",
        "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes", "SystemCallArchitectures": "native",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "ReadWritePaths": "/var/lib/meridian",
    }.items():
        assert one.get(key) == value, f"{key}={one.get(key)}, expected {value}"
    assert "WantedBy" in one


# --------------------------------------------------------------------------------------------
# Bad packages: before the good one is installed (tests run in file order)
# --------------------------------------------------------------------------------------------


def truncated(data: bytes) -> bytes:
    return data[: len(data) * 6 // 10]


def corrupted(data: bytes) -> bytes:
    """The data member's compressed bytes overwritten in the middle."""
    middle = len(data) * 6 // 10
    return data[:middle] + bytes(b ^ 0x5A for b in data[middle : middle + 8192]) + data[middle + 8192 :]


def not_a_package(_data: bytes) -> bytes:
    return b"this is not a Debian package\n" * 100


@pytest.mark.parametrize("damage", [truncated, corrupted, not_a_package], ids=lambda f: f.__name__)
def test_a_damaged_package_fails_with_a_dpkg_error_and_installs_nothing(deb, damage, tmp_path):
    require_root()
    status_before, files_before = package_status(), leftovers()
    bad = tmp_path / f"{damage.__name__}_{deb.name}"
    bad.write_bytes(damage(deb.read_bytes()))
    proc = run(["dpkg", "-i", bad], check=False)
    assert proc.returncode != 0, f"dpkg -i accepted a {damage.__name__} package:\n{proc.stdout}"
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert errors, proc.stderr
    assert any(str(bad) in line for line in errors), f"no error line names {bad}:\n{proc.stderr}"
    assert any(line.startswith(("dpkg-deb", "dpkg: error", "tar:", "gzip:", "xz:", "zstd:"))
               for line in errors), proc.stderr
    # Nothing half-installed: dpkg rolled everything back.
    assert package_status() == status_before
    assert leftovers() == files_before
    audit = run(["dpkg", "--audit", PACKAGE], check=False)
    assert audit.stdout.strip() == "", audit.stdout


# --------------------------------------------------------------------------------------------
# The installed package (root)
# --------------------------------------------------------------------------------------------


def test_installs_with_the_meridian_user_and_its_state_directory(installed):
    for path in PACKAGE_FILES:
        assert Path(path).exists(), path
    user = pwd.getpwnam(USER)
    assert user.pw_uid < 1000, "not a system user"
    assert user.pw_dir == str(STATE_DIR)
    assert user.pw_shell in ("/usr/sbin/nologin", "/bin/false")
    assert grp.getgrgid(user.pw_gid).gr_name == USER
    state = STATE_DIR.stat()
    assert (state.st_uid, state.st_gid) == (user.pw_uid, user.pw_gid)
    assert state.st_mode & 0o777 == 0o750
    config = CONFIG.stat()
    assert config.st_uid == 0 and config.st_gid == user.pw_gid and config.st_mode & 0o777 == 0o640
    conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", PACKAGE]).stdout
    assert set(re.findall(r"^ (\S+) [0-9a-f]{32}$", conffiles, re.M)) == CONFFILES, conffiles


def test_a_damaged_upgrade_leaves_the_installed_package_as_it_was(installed, tmp_path):
    bad = tmp_path / f"truncated_{installed.name}"
    bad.write_bytes(truncated(installed.read_bytes()))
    proc = run(["dpkg", "-i", bad], check=False)
    assert proc.returncode != 0 and f"error processing archive {bad}" in proc.stderr, proc.stderr
    assert package_status() == "installed"
    verify = run(["dpkg", "--verify", PACKAGE], check=False)
    assert verify.returncode == 0 and verify.stdout == "", verify.stdout  # every file as shipped
    assert run(["dpkg", "--audit", PACKAGE], check=False).stdout.strip() == ""
    assert not [p for p in leftovers() if ".dpkg-" in p]


def test_check_passes_on_the_installed_config(installed):
    proc = run([SBIN_MERIDIAND, "--check", "-c", CONFIG], check=False)
    assert proc.returncode == 0, proc.stderr
    assert "is valid (1 zones)" in proc.stdout
    # And as the service checks it (ExecStartPre runs as User=meridian).
    proc = run([*as_meridian(), SBIN_MERIDIAND, "--check", "-c", CONFIG], check=False)
    assert proc.returncode == 0, proc.stderr


def test_installed_tools_run(installed, rundir):
    assert run(["/usr/bin/meridianctl", "--help"], check=False).stdout.startswith("usage: meridianctl")
    version = run([SBIN_MERIDIAND, "--version"]).stdout
    assert version.strip() == "meridiand 0.1.0"
    database = rundir / "geo.mmdb"
    run([MMDB_BUILD, "--input", REPO_ROOT / "geoip" / "test-geo.csv", "--output", database])
    assert database.stat().st_size > 0
    if shutil.which("man"):
        page = run(["man", "-P", "cat", "8", "meridiand"], check=False, env=dict(os.environ, MANWIDTH="80"))
        assert page.returncode == 0 and "meridiand" in page.stdout, page.stderr


def test_installed_server_answers_as_meridian_with_only_net_bind_service(installed, rundir):
    port = free_privileged_port()
    proc, notify, _ = start_installed(loopback_config(port), rundir, prefix=as_meridian())
    try:
        ready = notify.wait_for("READY=1", START_TIMEOUT)
        assert ready, f"no READY=1 within {START_TIMEOUT} s: {notify.messages} {stop(proc)}"
        for tcp in (False, True):
            reply = query("www.example.com.", port, tcp=tcp)
            assert reply.rcode() == dns.rcode.NOERROR and reply.flags & dns.flags.AA, reply
            assert [rd.address for rrset in reply.answer for rd in rrset] == ["192.0.2.10"], reply
        reply = query("www.example.com.", port, "AAAA")
        assert [rd.address for rrset in reply.answer for rd in rrset] == ["2001:db8::10"], reply
        assert query("www.example.org.", port).rcode() == dns.rcode.REFUSED  # never recursive
        status = proc_status(proc.pid)
        uid, gid = pwd.getpwnam(USER).pw_uid, grp.getgrnam(USER).gr_gid
        assert status["Uid"] == [str(uid)] * 4 and status["Gid"] == [str(gid)] * 4, status
        assert int(status["CapEff"][0], 16) == 1 << CAP_NET_BIND_SERVICE, status["CapEff"]
        assert int(status["CapBnd"][0], 16) == 1 << CAP_NET_BIND_SERVICE, status["CapBnd"]
        assert status["NoNewPrivs"] == ["1"]
        # Reload (ExecReload sends SIGHUP): RELOADING=1, then READY=1 again.
        proc.send_signal(signal.SIGHUP)
        assert notify.wait_for("RELOADING=1", START_TIMEOUT), notify.messages
        assert query("www.example.com.", port).rcode() == dns.rcode.NOERROR
    finally:
        code, _, err = stop(proc)
        notify.drain()
        notify.close()
    assert code == 0, err
    assert any("STOPPING=1" in m for m in notify.messages), notify.messages


def test_installed_server_started_as_root_drops_to_meridian(installed, rundir):
    port = free_privileged_port()
    text = loopback_config(port, server_extra=f'user = "{USER}"\ngroup = "{USER}"')
    proc, notify, _ = start_installed(text, rundir)
    try:
        assert notify.wait_for("READY=1", START_TIMEOUT), f"no READY=1: {stop(proc)}"
        assert query("example.com.", port, "SOA").rcode() == dns.rcode.NOERROR
        assert proc_status(proc.pid)["Uid"] == [str(pwd.getpwnam(USER).pw_uid)] * 4
    finally:
        code, _, err = stop(proc)
        notify.close()
    assert code == 0, err


def test_systemd_analyze_verifies_the_unit(installed):
    assert shutil.which("systemd-analyze"), "systemd-analyze is missing (tools/install-deps.sh installs systemd)"
    proc = run(["systemd-analyze", "verify", UNIT], check=False)
    complaints = [line for line in (proc.stdout + proc.stderr).splitlines() if "meridian" in line]
    assert proc.returncode == 0 and not complaints, proc.stdout + proc.stderr


# --------------------------------------------------------------------------------------------
# Bad input to the installed server: one clear line, a non-zero exit, never half-started
# --------------------------------------------------------------------------------------------


def test_a_missing_user_is_one_line_and_exit_1(installed, rundir):
    port = free_privileged_port()
    text = loopback_config(port, server_extra='user = "no-such-meridian-user"')
    proc, notify, _ = start_installed(text, rundir)
    assert_refuses_to_start(proc, notify, 'user "no-such-meridian-user" does not exist')
    assert proc.returncode == 1


def test_a_port_in_use_is_one_line_and_exit_non_zero(installed, rundir):
    port = free_privileged_port()
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", port))
    try:
        proc, notify, _ = start_installed(loopback_config(port), rundir, prefix=as_meridian())
        line = assert_refuses_to_start(proc, notify, "Address already in use")
        assert f"127.0.0.1:{port}" in line
    finally:
        holder.close()
    assert port_is_free(port, "127.0.0.1"), "the failed server left a socket bound"


@pytest.mark.parametrize("check", [False, True], ids=["serve", "check"])
def test_an_unreadable_config_is_one_line_and_exit_1(installed, rundir, check):
    config = write(rundir / "meridian.toml", loopback_config(free_privileged_port()))
    config.chmod(0o000)  # the service's user cannot read it
    proc, notify, _ = launch(config, rundir, as_meridian(), ["--check"] if check else [])
    line = assert_refuses_to_start(proc, notify, "cannot read config")
    assert str(config) in line
    assert proc.returncode == 1


def test_an_unreadable_or_broken_database_is_one_line_and_exit_1(installed, rundir):
    database = rundir / "geo.mmdb"
    run([MMDB_BUILD, "--input", REPO_ROOT / "geoip" / "test-geo.csv", "--output", database])
    database.chmod(0o644)
    geoip = f'\n[[geoip]]\npath = "{database}"\n'
    port = free_privileged_port()
    good = loopback_config(port, extra=geoip)
    proc = run([*as_meridian(), SBIN_MERIDIAND, "--check", "-c", write(rundir / "good.toml", good)], check=False)
    assert proc.returncode == 0, proc.stderr
    for problem in ("unreadable", "truncated"):
        if problem == "unreadable":
            database.chmod(0o000)
        else:
            database.chmod(0o644)
            database.write_bytes(database.read_bytes()[:100])
        proc, notify, _ = start_installed(good, rundir, prefix=as_meridian())
        line = assert_refuses_to_start(proc, notify, "geoip database")
        assert str(database) in line, line
        assert proc.returncode == 1


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o644)
    return path
