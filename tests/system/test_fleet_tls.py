"""Fleet mode against a real etcd that wants TLS or a password (docs/FLEET.md; [fleet] ca_file,
cert_file, key_file, verify_tls, user, password, password_file).

TLS: a private CA, a server certificate for IP:127.0.0.1 and a client certificate, all made with
`openssl` in the test's tmp_path; etcd serves clients on https://127.0.0.1:PORT and demands a
client certificate signed by that CA (--client-cert-auth). Auth: etcd with the user root and
`auth enable`. Nodes, target and zone are test_fleet.py's: the probe target answers 503 to the
nodes in Target.down_for, and `app` answers eu (127.0.0.1) while eu is healthy, else the spare
region (192.0.2.9).

A node that cannot get in (no CA to verify the server, no client certificate, a wrong password)
says why in /status fleet.error, stays partitioned, and answers every query by its own verdicts.
Every wait is bounded; etcd is always stopped by its context manager.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.register_assert_rewrite("etcd_harness")  # before anything imports it

from etcd_harness import EtcdCluster, EtcdTLS
from meridian_server import start_ops_server, wait_for
from test_fleet import (  # noqa: F401 (target: the fixture, found by pytest by name)
    EU, LEASE_TTL, SPARE, VOTE_BOUND, answer, fleet_zone, region_status, status, target)

NODES = ("n1", "n2", "n3")
JOIN_BOUND = 10.0  # a node's first lease, entry and watch through etcd
REFUSED_BOUND = 10.0  # a node's first failed attempt reaches /status
PASSWORD = "s3cret-pw"


# -- certificates ------------------------------------------------------------------------------


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    def etcd_tls(self) -> EtcdTLS:
        return EtcdTLS(ca_file=self.ca, cert_file=self.server_cert, key_file=self.server_key,
                       client_cert_file=self.client_cert, client_key_file=self.client_key)

    def node_keys(self) -> dict:
        return {"ca_file": str(self.ca), "cert_file": str(self.client_cert), "key_file": str(self.client_key)}


def openssl(directory: Path, *args: str) -> None:
    done = subprocess.run(["openssl", *args], cwd=directory, capture_output=True, timeout=30)
    assert done.returncode == 0, f"openssl {' '.join(args)}: {done.stderr.decode(errors='replace')}"


def make_pki(directory: Path) -> Pki:
    """A CA, a server certificate (CN and subjectAltName 127.0.0.1) and a client certificate,
    P-256 keys, valid two days."""
    directory.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl(directory, "req", "-x509", "-new", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=Meridian test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    # etcd 3.4's gRPC gateway dials its own server with the server certificate: clientAuth too.
    leaves = {
        "server": ("/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"),
        "client": ("/CN=meridian-node", "extendedKeyUsage=clientAuth\n"),
    }
    for name, (subject, extensions) in leaves.items():
        (directory / f"{name}.ext").write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                               + extensions)
        openssl(directory, "req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject)
        openssl(directory, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext")
    return Pki(ca=directory / "ca.crt", server_cert=directory / "server.crt", server_key=directory / "server.key",
               client_cert=directory / "client.crt", client_key=directory / "client.key")


# -- nodes -------------------------------------------------------------------------------------


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))  # a TOML basic string: paths and passwords as given


def fleet_config(etcd: EtcdCluster, node: str, **keys) -> str:
    lines = ["[fleet]", "endpoints = [" + ", ".join(json.dumps(e) for e in etcd.endpoints) + "]",
             f'node = "{node}"', f'lease_ttl = "{LEASE_TTL}s"']
    lines += [f"{k} = {toml_value(v)}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


def start_node(start_server, etcd, target, node, **fleet_keys):
    return start_ops_server(start_server, zone_files={"hc.toml": fleet_zone(target.server_port)},
                            identity={"id_server": node}, extra_config=fleet_config(etcd, node, **fleet_keys))


def fleet(srv) -> dict:
    return status(srv)["fleet"]


def listed(srv) -> list:
    return sorted(n["node"] for n in fleet(srv)["nodes"])


def fleets(nodes) -> str:
    return "\n".join(f"{n.admin_url}: {json.dumps({k: v for k, v in fleet(n).items() if k != 'nodes'})} "
                     f"nodes={listed(n)}" for n in nodes)


def must(predicate, bound: float, what: str, nodes) -> None:
    assert wait_for(predicate, bound), f"not within {bound:.0f} s: {what}\n{fleets(nodes)}"


def joined(nodes, names) -> bool:
    views = [fleet(n) for n in nodes]
    return all(not v["partitioned"] and v["error"] is None and sorted(e["node"] for e in v["nodes"]) == sorted(names)
               for v in views)


def refused(srv, words: str) -> bool:
    v = fleet(srv)
    return v["partitioned"] and words in (v["error"] or "")


def keeps_answering(srv, rounds: int = 30) -> None:
    """Every query answered, by eu or the spare region (whichever its own verdict says)."""
    for _ in range(rounds):
        assert answer(srv) in ({EU}, {SPARE})


def goes_by_its_own_verdict(srv, nodes, target, name: str) -> None:
    """Cut off, the node follows its own probes: eu while it sees eu up, spare once it sees it down."""
    keeps_answering(srv)
    must(lambda: settled([srv]) and answer(srv) == {EU}, VOTE_BOUND, f"{name} answers eu (its own verdict)", nodes)
    target.down_for = {name}
    must(lambda: answer(srv) == {SPARE}, VOTE_BOUND, f"{name} answers spare by itself", nodes)
    assert region_status(srv)["vote"]["decided_by"] == "own"
    keeps_answering(srv)


def settled(nodes) -> bool:
    """Every node's own probes see eu healthy (a probe timed out on a loaded machine while the
    nodes started keeps a node's verdict degraded for a few seconds)."""
    return all(region_status(n)["vote"]["own"] == "healthy" and region_status(n)["state"] == "healthy"
               for n in nodes)


def assert_vote_works(nodes, target) -> None:
    """n3 alone sees eu down: 2 of 3 keep it everywhere; n2 too: every node answers spare."""
    target.down_for = set()
    must(lambda: settled(nodes), VOTE_BOUND, "every node sees eu healthy before the vote", nodes)
    target.down_for = {"n3"}
    must(lambda: all(region_status(n)["vote"]["voters"] == 3 for n in nodes), VOTE_BOUND, "3 voters", nodes)
    must(lambda: region_status(nodes[2])["vote"]["own"] == "unhealthy", VOTE_BOUND, "n3 votes unhealthy", nodes)
    must(lambda: all(answer(n) == {EU} for n in nodes), VOTE_BOUND, "eu everywhere", nodes)
    dissenter = region_status(nodes[2])
    assert (dissenter["vote"]["decided_by"], dissenter["vote"]["healthy"], dissenter["state"]) == \
        ("vote", 2, "healthy"), dissenter
    target.down_for = {"n2", "n3"}
    must(lambda: all(answer(n) == {SPARE} for n in nodes), VOTE_BOUND, "spare everywhere", nodes)
    assert region_status(nodes[0])["vote"]["own"] == "healthy"
    assert region_status(nodes[0])["state"] == "unhealthy"


# -- TLS ---------------------------------------------------------------------------------------


def test_tls_private_ca_three_nodes_join_and_vote(start_server, tmp_path, target):
    """etcd on https with client-cert-auth; three nodes with ca_file, cert_file and key_file join
    (not partitioned, each lists all three), their keys are in etcd, and a vote decides across them."""
    pki = make_pki(tmp_path / "pki")
    with EtcdCluster(tmp_path / "etcd", tls=pki.etcd_tls()) as etcd:
        assert all(e.startswith("https://127.0.0.1:") for e in etcd.endpoints)
        nodes = [start_node(start_server, etcd, target, n, **pki.node_keys()) for n in NODES]
        must(lambda: joined(nodes, NODES), JOIN_BOUND, "all three joined", nodes)
        stored = etcd.get_prefix("/meridian/")  # through the harness's etcdctl, over TLS
        assert all(any(n in key for key in stored) for n in NODES), sorted(stored)
        assert_vote_works(nodes, target)
        assert joined(nodes, NODES), fleets(nodes)  # still in after the vote: no drop over TLS
        assert [fleet(n)["partitions"] for n in nodes] == [0, 0, 0], fleets(nodes)


def test_tls_node_without_ca_file_or_client_cert_is_cut_off_and_keeps_answering(start_server, tmp_path, target):
    """Next to n1 (ca_file, cert and key), n2 has a client certificate but no ca_file: the system
    CAs do not know the private CA, so it stays cut off with a certificate error in /status and
    answers by its own verdict. n3 has the CA but no client certificate: etcd refuses it. n1's
    fleet holds n1 alone."""
    pki = make_pki(tmp_path / "pki")
    with EtcdCluster(tmp_path / "etcd", tls=pki.etcd_tls()) as etcd:
        n1 = start_node(start_server, etcd, target, "n1", **pki.node_keys())
        no_ca = start_node(start_server, etcd, target, "n2", cert_file=str(pki.client_cert),
                           key_file=str(pki.client_key))
        no_cert = start_node(start_server, etcd, target, "n3", ca_file=str(pki.ca))
        nodes = [n1, no_ca, no_cert]
        must(lambda: joined([n1], ["n1"]), JOIN_BOUND, "n1 joined", nodes)
        must(lambda: refused(no_ca, "certificate"), REFUSED_BOUND, "n2 refused with a certificate error", nodes)
        must(lambda: fleet(no_cert)["partitioned"] and fleet(no_cert)["error"] not in (None, "joining"),
             REFUSED_BOUND, "n3 refused", nodes)
        keeps_answering(no_cert)
        goes_by_its_own_verdict(no_ca, nodes, target, "n2")
        assert answer(n1) == {EU}
        assert listed(n1) == ["n1"]
        assert fleet(no_ca)["partitioned"] and "certificate" in fleet(no_ca)["error"]
        print("no ca_file:", fleet(no_ca)["error"])
        print("no client certificate:", fleet(no_cert)["error"])


def test_tls_verify_tls_false_joins_without_ca_file(start_server, tmp_path, target):
    """verify_tls = false and no ca_file (client certificate still given, etcd demands one): the
    node joins n1's fleet, and each lists the other."""
    pki = make_pki(tmp_path / "pki")
    with EtcdCluster(tmp_path / "etcd", tls=pki.etcd_tls()) as etcd:
        n1 = start_node(start_server, etcd, target, "n1", **pki.node_keys())
        lax = start_node(start_server, etcd, target, "n2", cert_file=str(pki.client_cert),
                         key_file=str(pki.client_key), verify_tls=False)
        nodes = [n1, lax]
        must(lambda: joined(nodes, ["n1", "n2"]), JOIN_BOUND, "n1 and n2 joined", nodes)
        must(lambda: all(region_status(n)["vote"]["voters"] == 2 for n in nodes), VOTE_BOUND, "2 voters", nodes)


# -- auth --------------------------------------------------------------------------------------


def auth_etcd(tmp_path) -> EtcdCluster:
    etcd = EtcdCluster(tmp_path / "etcd")
    try:
        etcd.enable_auth(PASSWORD)
        etcd.put("/auth-check", "1")  # etcdctl as root: auth is on and the password is right
        assert etcd.etcdctl("get", "/auth-check", check=False).returncode == 0
        etcd.user, user = None, etcd.user
        refused_get = etcd.etcdctl("get", "/auth-check", check=False)
        etcd.user = user
        assert refused_get.returncode != 0, "etcd answered without a user: auth is not on"
    except BaseException:
        etcd.stop_all()
        raise
    return etcd


def test_auth_password_and_password_file_nodes_join_and_vote(start_server, tmp_path, target):
    """etcd with root's password and auth on: n1 with user/password, n2 and n3 with user and
    password_file (n3's file ends with a newline) join, and a vote decides across them."""
    (tmp_path / "pw").write_text(PASSWORD)
    (tmp_path / "pw-newline").write_text(PASSWORD + "\n")
    with auth_etcd(tmp_path) as etcd:
        nodes = [start_node(start_server, etcd, target, "n1", user="root", password=PASSWORD),
                 start_node(start_server, etcd, target, "n2", user="root", password_file=str(tmp_path / "pw")),
                 start_node(start_server, etcd, target, "n3", user="root",
                            password_file=str(tmp_path / "pw-newline"))]
        must(lambda: joined(nodes, NODES), JOIN_BOUND, "all three joined", nodes)
        assert_vote_works(nodes, target)
        assert joined(nodes, NODES), fleets(nodes)  # still in after the vote: no drop over TLS
        assert [fleet(n)["partitions"] for n in nodes] == [0, 0, 0], fleets(nodes)


def test_auth_wrong_password_is_cut_off_with_the_reason_and_keeps_answering(start_server, tmp_path, target):
    """Next to n1 (right password), n2 with a wrong password stays cut off, /status says
    "authentication failed", and it answers by its own verdict; n1's fleet holds n1 alone."""
    with auth_etcd(tmp_path) as etcd:
        n1 = start_node(start_server, etcd, target, "n1", user="root", password=PASSWORD)
        wrong = start_node(start_server, etcd, target, "n2", user="root", password="not-" + PASSWORD)
        nodes = [n1, wrong]
        must(lambda: joined([n1], ["n1"]), JOIN_BOUND, "n1 joined", nodes)
        must(lambda: refused(wrong, "authentication failed"), REFUSED_BOUND, "n2 refused: authentication failed",
             nodes)
        goes_by_its_own_verdict(wrong, nodes, target, "n2")
        assert answer(n1) == {EU}
        assert listed(n1) == ["n1"]
        assert refused(wrong, "authentication failed"), fleets(nodes)
        print("wrong password:", fleet(wrong)["error"])

