"""The etcd harness itself (etcd_harness.py): single and three-member clusters of the real etcd
start on loopback, a key written through one member is read from every other, a three-member
cluster keeps serving with one member stopped (quorum 2/3) and takes it back with its data, and
every member is killed when the test is done. Every wait is bounded (about 25 s in all)."""

from __future__ import annotations

import time

import pytest

pytest.register_assert_rewrite("etcd_harness")
pytest_plugins = ["etcd_harness"]

from etcd_harness import ACTIVE_CLUSTERS, EtcdCluster, EtcdError  # noqa: E402


def test_a_single_member_starts_on_loopback_and_keeps_its_data_across_a_restart(etcd_cluster):
    (endpoint,) = etcd_cluster.endpoints
    assert endpoint.startswith("http://127.0.0.1:") and not endpoint.endswith(":2379")
    etcd_cluster.put("/fleet/a", "1")
    etcd_cluster.put("/fleet/b", "two words")
    etcd_cluster.put("/other", "x")
    assert etcd_cluster.get("/fleet/a") == "1"
    assert etcd_cluster.get_prefix("/fleet/") == {"/fleet/a": "1", "/fleet/b": "two words"}
    assert etcd_cluster.delete("/fleet/a") == 1
    assert etcd_cluster.get("/fleet/a") is None

    etcd_cluster.stop(0)
    with pytest.raises(EtcdError):
        etcd_cluster.etcdctl("get", "/fleet/b", endpoints=etcd_cluster.endpoints, timeout=8)
    etcd_cluster.start(0)
    assert etcd_cluster.endpoints == [endpoint]  # the same port
    assert etcd_cluster.get("/fleet/b") == "two words"


def test_three_members_replicate_survive_one_stop_and_take_it_back(etcd_cluster3):
    cluster = etcd_cluster3
    assert len(set(cluster.endpoints)) == 3
    members = cluster.etcdctl("member", "list", "-w", "json").stdout
    assert members.count(b'"name"') == 3

    cluster.put("/fleet/replicated", "v1", endpoints=[cluster.endpoints[0]])
    for endpoint in cluster.endpoints:  # every member has it (a linearizable read through each)
        assert cluster.get("/fleet/replicated", endpoints=[endpoint]) == "v1"

    # One member down: two of three still make a quorum, reads and writes go on.
    cluster.stop(0)
    cluster.wait_healthy(timeout=10)
    cluster.put("/fleet/while-down", "v2", endpoints=[cluster.endpoints[1]])
    assert cluster.get("/fleet/while-down", endpoints=[cluster.endpoints[2]]) == "v2"
    with pytest.raises(EtcdError):
        cluster.etcdctl("get", "/fleet/replicated", endpoints=[cluster.endpoints[0]], timeout=8)

    # Back on its data directory and ports: it catches up with what it missed.
    cluster.start(0)
    deadline = time.monotonic() + 10
    while cluster.get("/fleet/while-down", endpoints=[cluster.endpoints[0]]) != "v2":
        assert time.monotonic() < deadline, "the restarted member did not catch up"
        time.sleep(0.1)
    assert cluster.get("/fleet/replicated", endpoints=[cluster.endpoints[0]]) == "v1"


def test_two_members_down_lose_the_quorum_and_every_process_is_killed_at_the_end(tmp_path):
    with EtcdCluster(tmp_path, members=3) as cluster:
        cluster.put("/fleet/k", "v")
        cluster.stop(1, kill=True)
        cluster.stop(2, kill=True)
        with pytest.raises(EtcdError):  # one of three is no quorum: a write cannot commit
            cluster.put("/fleet/k", "w", endpoints=[cluster.endpoints[0]], timeout=8)
        procs = [m.proc for m in cluster.members if m.proc is not None]
        assert cluster in ACTIVE_CLUSTERS
    assert cluster not in ACTIVE_CLUSTERS
    assert all(p.poll() is not None for p in procs)
    assert all(m.proc is None for m in cluster.members)
