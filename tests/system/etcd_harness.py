"""Real etcd clusters for the system tests: Debian's /usr/bin/etcd (package etcd-server, installed by
tools/install-deps.sh) with one or three members on free 127.0.0.1 ports, each with its own data
directory under the test's tmp_path, so a member stopped and started again keeps its data, ports and
place in the cluster. Test setup reads and writes keys with /usr/bin/etcdctl (etcd-client).

    with EtcdCluster(tmp_path, members=3) as cluster:
        cluster.put("/fleet/a", "1")
        cluster.stop(0)                  # SIGTERM, then SIGKILL; data kept
        cluster.wait_healthy()           # quorum 2/3 still serves
        cluster.start(0)                 # same ports, same data directory

Every member started is killed when the `with` block ends, by stop_all(), by the `etcd_cluster`
fixture's teardown, and at interpreter exit whatever happens (ACTIVE_CLUSTERS). Never on 2379 and
never on anything but loopback.

TLS (optional): EtcdCluster(tmp_path, tls=EtcdTLS(ca_file=..., cert_file=..., key_file=...,
client_cert_file=..., client_key_file=...)) serves clients on https://127.0.0.1:PORT with that
server certificate (--cert-file/--key-file/--trusted-ca-file, plus --client-cert-auth unless
client_cert_auth=False); the harness's own /health checks and etcdctl calls use the CA and the
client certificate. Peers still talk plain http on loopback. Auth (optional): enable_auth("pw")
adds the user root and turns etcd's auth on; etcdctl calls then pass --user (also settable with
user="root:pw"). Without these, nothing changes.

Fixtures: `etcd_cluster` (one member) and `etcd_cluster3` (three); a test module brings them in
with

    pytest.register_assert_rewrite("etcd_harness")  # before importing anything from it
    pytest_plugins = ["etcd_harness"]
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from ports import find_free_port

ETCD = Path(os.environ.get("ETCD", "/usr/bin/etcd"))
ETCDCTL = Path(os.environ.get("ETCDCTL", "/usr/bin/etcdctl"))
ACTIVE_CLUSTERS: list = []  # started and not yet stopped: killed at exit, named in failure reports

READY_TIMEOUT = 20.0  # seconds for members to serve after a start
STOP_TIMEOUT = 5.0  # seconds a SIGTERMed member has before SIGKILL
CTL_TIMEOUT = 10.0  # seconds for one etcdctl command
POLL = 0.1


class EtcdError(Exception):
    pass


@dataclass
class EtcdTLS:
    """Certificate paths (PEM) for a cluster serving clients over TLS: the CA that signed both
    certificates, the server's certificate and key (its subjectAltName must hold IP:127.0.0.1),
    and the client certificate and key the harness's etcdctl and /health checks present.
    client_cert_auth: whether etcd demands a client certificate signed by ca_file."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    client_cert_file: Optional[Path] = None
    client_key_file: Optional[Path] = None
    client_cert_auth: bool = True

    def server_args(self) -> List[str]:
        args = [f"--cert-file={self.cert_file}", f"--key-file={self.key_file}", f"--trusted-ca-file={self.ca_file}"]
        return args + (["--client-cert-auth"] if self.client_cert_auth else [])

    def etcdctl_args(self) -> List[str]:
        args = [f"--cacert={self.ca_file}"]
        if self.client_cert_file and self.client_key_file:
            args += [f"--cert={self.client_cert_file}", f"--key={self.client_key_file}"]
        return args

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        if self.client_cert_file and self.client_key_file:
            context.load_cert_chain(str(self.client_cert_file), str(self.client_key_file))
        return context


class EtcdMember:
    """One member: its name, ports, data directory, log file and process (None while stopped)."""

    def __init__(self, workdir: Path, index: int, client_scheme: str = "http"):
        self.client_scheme = client_scheme
        self.index = index
        self.name = f"m{index}"
        self.workdir = Path(workdir) / self.name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.log_path = self.workdir / "etcd.log"
        self.client_port = find_free_port("127.0.0.1")
        self.peer_port = find_free_port("127.0.0.1")
        while self.peer_port == self.client_port:
            self.peer_port = find_free_port("127.0.0.1")
        self.proc: Optional[subprocess.Popen] = None

    @property
    def client_url(self) -> str:
        return f"{self.client_scheme}://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text if len(text) <= 4000 else "...\n" + text[-4000:]


class EtcdCluster:
    """`members` (1 or 3) etcd members on loopback forming one cluster (static --initial-cluster).

    endpoints: the client URLs, member order. start_all()/stop_all(); stop(i)/start(i) one member
    (restarted on its data directory and ports); pause(i)/resume(i) freeze one (SIGSTOP/SIGCONT);
    put/get/get_prefix/delete through etcdctl; wait_healthy() until every running member answers
    /health and a quorum serves. Starts in __init__ unless start=False. tls: an EtcdTLS to serve
    clients over https (None: plain http); user: "name:password" for etcdctl once auth is on."""

    def __init__(self, tmp_path: Path, members: int = 1, *, start: bool = True, extra_args: List[str] = (),
                 tls: Optional[EtcdTLS] = None, user: Optional[str] = None):
        if members not in (1, 3):
            raise ValueError("members must be 1 or 3")
        self.workdir = Path(tmp_path) / "etcd"
        self.tls = tls
        self.user = user
        self.members = [EtcdMember(self.workdir, i, "https" if tls else "http") for i in range(members)]
        self.extra_args = list(extra_args)
        self.cluster_token = f"meridian-test-{os.getpid()}-{id(self)}"
        if start:
            self.start_all()

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def endpoints(self) -> List[str]:
        return [m.client_url for m in self.members]

    def initial_cluster(self) -> str:
        return ",".join(f"{m.name}={m.peer_url}" for m in self.members)

    def command(self, member: EtcdMember) -> List[str]:
        if not (ETCD.is_file() and os.access(ETCD, os.X_OK)):
            pytest.fail(f"etcd not found at {ETCD}: install Debian's etcd-server (tools/install-deps.sh) or set ETCD",
                        pytrace=False)
        return [
            str(ETCD),
            f"--name={member.name}",
            f"--data-dir={member.data_dir}",
            f"--listen-client-urls={member.client_url}",
            f"--advertise-client-urls={member.client_url}",
            f"--listen-peer-urls={member.peer_url}",
            f"--initial-advertise-peer-urls={member.peer_url}",
            f"--initial-cluster={self.initial_cluster()}",
            f"--initial-cluster-token={self.cluster_token}",
            "--initial-cluster-state=new",  # ignored once the data directory holds a member
            "--heartbeat-interval=50",
            "--election-timeout=500",  # quick elections: a stopped leader is replaced in about a second
            "--log-level=warn",
            *(self.tls.server_args() if self.tls else []),
            *self.extra_args,
        ]

    def _spawn(self, member: EtcdMember) -> None:
        if member.running():
            return
        with open(member.log_path, "ab") as log:
            member.proc = subprocess.Popen(self.command(member), stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                           cwd=member.workdir, start_new_session=True)
        if self not in ACTIVE_CLUSTERS:
            ACTIVE_CLUSTERS.append(self)

    def start_all(self, timeout: float = READY_TIMEOUT) -> "EtcdCluster":
        for member in self.members:
            self._spawn(member)
        try:
            self.wait_healthy(timeout)
        except BaseException:
            self.stop_all()
            raise
        return self

    def start(self, index: int, timeout: float = READY_TIMEOUT) -> None:
        """Starts member `index` again on its own data directory and ports and waits until it serves."""
        member = self.members[index]
        self._spawn(member)
        self.wait_healthy(timeout)

    def stop(self, index: int, kill: bool = False) -> None:
        """Stops member `index` (SIGTERM, SIGKILL after STOP_TIMEOUT; at once with kill=True)."""
        member = self.members[index]
        proc = member.proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGCONT)  # a paused member cannot act on SIGTERM
                proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)
            except ProcessLookupError:
                pass
        member.proc = None

    def pause(self, index: int) -> None:
        self._signal(index, signal.SIGSTOP)

    def resume(self, index: int) -> None:
        self._signal(index, signal.SIGCONT)

    def _signal(self, index: int, number: int) -> None:
        member = self.members[index]
        if not member.running():
            raise EtcdError(f"{member.name} is not running")
        os.kill(member.proc.pid, number)

    def stop_all(self) -> None:
        """Kills every member (a test's cluster has nothing to shut down cleanly). Idempotent."""
        for i in range(len(self.members)):
            self.stop(i, kill=True)
        if self in ACTIVE_CLUSTERS:
            ACTIVE_CLUSTERS.remove(self)

    def __enter__(self) -> "EtcdCluster":
        return self

    def __exit__(self, *exc) -> None:
        self.stop_all()

    def __del__(self):
        try:
            self.stop_all()
        except Exception:
            pass

    # -- health ------------------------------------------------------------------------------

    def health(self, index: int, timeout: float = 1.0) -> Optional[dict]:
        """Member `index`'s GET /health ({"health":"true"} when it is part of a serving quorum), or None."""
        context = self.tls.ssl_context() if self.tls else None
        try:
            with urllib.request.urlopen(f"{self.members[index].client_url}/health", timeout=timeout,
                                        context=context) as reply:
                return json.loads(reply.read())
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def wait_healthy(self, timeout: float = READY_TIMEOUT) -> None:
        """Until every running member reports healthy (so a quorum has a leader and serves)."""
        deadline = time.monotonic() + timeout
        last: Dict[str, Optional[dict]] = {}
        while True:
            running = [m for m in self.members if m.running()]
            dead = [m for m in self.members if m.proc is not None and m.proc.poll() is not None]
            if dead:
                raise EtcdError(f"etcd {dead[0].name} exited with {dead[0].proc.returncode}\n{self.describe()}")
            last = {m.name: self.health(m.index) for m in running}
            if running and all(h is not None and h.get("health") == "true" for h in last.values()):
                return
            if time.monotonic() >= deadline:
                raise EtcdError(f"etcd not healthy within {timeout:.0f} s: {last}\n{self.describe()}")
            time.sleep(POLL)

    # -- data, through etcdctl ----------------------------------------------------------------

    def etcdctl(self, *args: str, endpoints: Optional[List[str]] = None, check: bool = True,
                timeout: float = CTL_TIMEOUT) -> subprocess.CompletedProcess:
        """etcdctl (API 3) against the running members (or `endpoints`): its completed process."""
        targets = endpoints or [m.client_url for m in self.members if m.running()]
        env = dict(os.environ, ETCDCTL_API="3")
        cmd = [str(ETCDCTL), f"--endpoints={','.join(targets)}", "--dial-timeout=2s", "--command-timeout=5s"]
        if self.tls:
            cmd += self.tls.etcdctl_args()
        if self.user:
            cmd.append(f"--user={self.user}")
        cmd += list(args)
        done = subprocess.run(cmd, env=env, capture_output=True, timeout=timeout)
        if check and done.returncode != 0:
            raise EtcdError(f"{' '.join(cmd)}: exit {done.returncode}: {done.stderr.decode(errors='replace').strip()}")
        return done

    def enable_auth(self, password: str = "pw") -> None:
        """Adds the user root (etcd gives it the root role) with `password` and turns etcd's auth
        on; this harness's etcdctl calls authenticate as root from then on."""
        self.etcdctl("user", "add", f"root:{password}")
        self.etcdctl("auth", "enable")
        self.user = f"root:{password}"

    def put(self, key: str, value: str, **kw) -> None:
        self.etcdctl("put", "--", key, value, **kw)

    def get(self, key: str, **kw) -> Optional[str]:
        """The value of `key`, or None when it is absent."""
        found = self.get_prefix(key, exact=True, **kw)
        return found.get(key)

    def get_prefix(self, prefix: str, *, exact: bool = False, **kw) -> Dict[str, str]:
        args = ["get", "-w", "json", "--", prefix] if exact else ["get", "-w", "json", "--prefix", "--", prefix]
        reply = json.loads(self.etcdctl(*args, **kw).stdout)
        return {_b64(kv["key"]): _b64(kv.get("value", "")) for kv in reply.get("kvs", [])}

    def delete(self, key: str, **kw) -> int:
        """Deletes `key`; how many keys went (0 or 1)."""
        return int(self.etcdctl("del", "--", key, **kw).stdout.decode().strip() or 0)

    # -- diagnostics -------------------------------------------------------------------------

    def describe(self) -> str:
        parts = []
        for m in self.members:
            state = "running" if m.running() else "stopped"
            parts.append(f"--- {m.name} ({state}, client {m.client_url}, peer {m.peer_url}) log:\n{m.log()}")
        return "\n".join(parts)


def _b64(text: str) -> str:
    import base64

    return base64.b64decode(text).decode(errors="replace")


@atexit.register
def _kill_leftovers() -> None:
    for cluster in list(ACTIVE_CLUSTERS):
        try:
            cluster.stop_all()
        except Exception:
            pass


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def etcd_cluster(tmp_path):
    """A single-member cluster, killed at teardown."""
    cluster = EtcdCluster(tmp_path / "single", members=1)
    yield cluster
    cluster.stop_all()


@pytest.fixture
def etcd_cluster3(tmp_path):
    """A three-member cluster, killed at teardown."""
    cluster = EtcdCluster(tmp_path / "three", members=3)
    yield cluster
    cluster.stop_all()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for cluster in list(ACTIVE_CLUSTERS):
            report.sections.append(("etcd cluster", cluster.describe()))
