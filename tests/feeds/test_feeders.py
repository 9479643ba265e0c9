"""The member feeders of tools/feeds/: every state mapping, dedup, the family filter, missing
addresses, malformed input (one line and a non-zero exit, never a traceback), --allow-empty and
the atomic --output. Inputs are fixture files shaped as each provider documents its CLI's JSON
output (tests/feeds/fixtures/, documentation address ranges only); nothing touches a network.

The scripts run as /usr/bin/python3 subprocesses, as cron or systemd would run them; their
functions are also imported for the state tables and for many malformed inputs in-process."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

sys.dont_write_bytecode = True
REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "tools" / "feeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(TOOLS))

import aws_asg  # noqa: E402
import aws_elb  # noqa: E402
import azure_vmss  # noqa: E402
import feedlib  # noqa: E402
import gcloud_mig  # noqa: E402
from feedlib import Member  # noqa: E402

GROUPS = FIXTURES / "aws_describe_auto_scaling_groups.json"
GROUPS_ONE = FIXTURES / "aws_describe_auto_scaling_groups_one.json"
INSTANCES = FIXTURES / "aws_describe_instances.json"
HEALTH_INSTANCE = FIXTURES / "aws_describe_target_health_instance.json"
HEALTH_IP = FIXTURES / "aws_describe_target_health_ip.json"
AZ_NICS = FIXTURES / "az_vmss_nic_list.json"
AZ_PUBLIC = FIXTURES / "az_vmss_list_instance_public_ips.json"
AZ_VMS = FIXTURES / "az_vmss_list_instances_instance_view.json"
GC_MIG = FIXTURES / "gcloud_mig_list_instances.json"
GC_INSTANCES = FIXTURES / "gcloud_compute_instances_list.json"

FEEDERS = ("aws_asg.py", "aws_elb.py", "azure_vmss.py", "gcloud_mig.py")


def run(script: str, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(["/usr/bin/python3", str(TOOLS / script), *map(str, args)],
                          input=stdin, capture_output=True, text=True, env=env, timeout=60)


def members(proc: subprocess.CompletedProcess) -> dict[str, tuple[str | None, str]]:
    """address -> (id, state) of a feeder's output; the run must have succeeded."""
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["version"] == 1 and set(doc) == {"version", "members"}
    return {m["address"]: (m.get("id"), m["state"]) for m in doc["members"]}


def fails(proc: subprocess.CompletedProcess, status: int, *phrases: str) -> None:
    """The run failed with `status`, one clear error line, no traceback, nothing on stdout."""
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    errors = [line for line in proc.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1, proc.stderr
    for phrase in phrases:
        assert phrase in errors[0], errors[0]


def asg(*extra):
    return run("aws_asg.py", "--groups", GROUPS, "--instances", INSTANCES, *extra)


def write(path: Path, doc) -> Path:
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


# --- the scripts ----------------------------------------------------------------------------


@pytest.mark.parametrize("script", FEEDERS)
def test_scripts_are_executable_with_debians_python(script):
    path = TOOLS / script
    assert os.access(path, os.X_OK)
    assert path.read_text().splitlines()[0] == "#!/usr/bin/python3"
    proc = subprocess.run([str(path), "--help"], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    assert proc.returncode == 0 and "--output" in proc.stdout and "--allow-empty" in proc.stdout


# --- aws_asg.py -----------------------------------------------------------------------------

ASG_EXPECTED = {
    "192.0.2.11": ("i-0a00000000000a001", "up"),  # InService, Healthy
    "192.0.2.12": ("i-0a00000000000a002", "down"),  # InService, Unhealthy
    "192.0.2.13": ("i-0a00000000000a003", "drain"),  # Terminating
    "192.0.2.14": ("i-0a00000000000a004", "drain"),  # Terminating:Wait
    "192.0.2.15": ("i-0a00000000000a005", "drain"),  # Terminating:Proceed
    "192.0.2.16": ("i-0a00000000000a006", "drain"),  # Detaching
    "192.0.2.17": ("i-0a00000000000a007", "drain"),  # EnteringStandby
    "192.0.2.18": ("i-0a00000000000a008", "drain"),  # Standby
    # a009-a011 (Pending, Pending:Wait, Pending:Proceed) are left out
    "192.0.2.22": ("i-0a00000000000a012", "down"),  # InService, Healthy, but EC2 says stopped
    "192.0.2.23": ("i-0a00000000000a013", "up"),
}


def test_asg_maps_every_lifecycle_state_of_the_fixture():
    proc = asg("--group", "meridian-web")
    assert members(proc) == ASG_EXPECTED
    assert "i-0a00000000000a014: not in the describe-instances output; left out" in proc.stderr


def test_asg_one_group_needs_no_group_option_and_private_is_the_default():
    assert members(run("aws_asg.py", "--groups", GROUPS_ONE, "--instances", INSTANCES)) == ASG_EXPECTED
    assert members(run("aws_asg.py", "--groups", GROUPS_ONE, "--instances", INSTANCES,
                       "--address", "private")) == ASG_EXPECTED


@pytest.mark.parametrize("lifecycle, health, expected", [
    ("InService", "Healthy", "up"),
    ("InService", "HEALTHY", "up"),  # describe-auto-scaling-instances writes it in capitals
    ("InService", "Unhealthy", "down"),
    ("Terminating", "Healthy", "drain"),
    ("Terminating:Wait", "Healthy", "drain"),
    ("Terminating:Proceed", "Unhealthy", "drain"),
    ("Detaching", "Healthy", "drain"),
    ("EnteringStandby", "Healthy", "drain"),
    ("Standby", "Healthy", "drain"),
    ("Pending", "Healthy", None),
    ("Pending:Wait", "Healthy", None),
    ("Pending:Proceed", "Healthy", None),
    ("Terminated", "Healthy", None),
    ("Detached", "Healthy", None),
] + [(f"Warmed:{s}", "Healthy", None) for s in (
    "Pending", "Pending:Wait", "Pending:Proceed", "Terminating", "Terminating:Wait",
    "Terminating:Proceed", "Terminated", "Stopped", "Running", "Hibernated")])
def test_asg_state_table(lifecycle, health, expected, capsys):
    assert aws_asg.instance_state(lifecycle, health, "i-1") == expected
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("lifecycle, health", [("Quarantined", "Healthy"), ("Hibernating", "Healthy"),
                                               ("InService", "Impaired")])
def test_asg_unknown_states_are_down_with_a_warning(lifecycle, health, capsys):
    assert aws_asg.instance_state(lifecycle, health, "i-1") == "down"
    assert "published as down" in capsys.readouterr().err


def test_asg_group_selection():
    fails(asg(), 1, "holds 2 Auto Scaling groups", "meridian-batch, meridian-web", "--group")
    fails(asg("--group", "nope"), 1, "no Auto Scaling group named nope", "meridian-web")
    proc = asg("--group", "meridian-batch")
    assert members(proc) == {"192.0.2.101": ("i-0b00000000000b001", "up"),
                             "192.0.2.102": ("i-0b00000000000b002", "down")}  # Quarantined
    assert "unknown LifecycleState 'Quarantined'" in proc.stderr
    both = members(asg("--group", "meridian-web", "--group", "meridian-batch"))
    assert len(both) == len(ASG_EXPECTED) + 2


def test_asg_public_and_ipv6_addresses_and_their_warnings():
    proc = asg("--group", "meridian-web", "--address", "public", "--address", "ipv6")
    got = members(proc)
    assert got["198.51.100.11"] == ("i-0a00000000000a001", "up")
    assert got["2001:db8:1000::b"] == ("i-0a00000000000a001", "up")  # Instance.Ipv6Address
    # a002 has no instance-level Ipv6Address: its interface's IsPrimaryIpv6 address is taken.
    assert got["2001:db8:1000::c"] == ("i-0a00000000000a002", "down")
    assert "2001:db8:1000::ff0c" not in got
    assert not any(a.startswith("192.0.2.") for a in got)
    warnings = proc.stderr.splitlines()
    assert "aws_asg.py: warning: i-0a00000000000a012: no public address; left out" in warnings
    assert "aws_asg.py: warning: i-0a00000000000a013: no public address; left out" in warnings
    assert "aws_asg.py: warning: i-0a00000000000a013: no ipv6 address; left out" in warnings
    assert len(got) == 8 + 9  # public: a001-a008; ipv6: a001-a008 and a012


def test_asg_reads_one_input_from_stdin():
    proc = run("aws_asg.py", "--groups", "-", "--instances", INSTANCES, "--group", "meridian-web",
               stdin=GROUPS.read_text())
    assert members(proc) == ASG_EXPECTED
    proc = run("aws_asg.py", "--groups", GROUPS_ONE, "--instances", "-", stdin=INSTANCES.read_text())
    assert members(proc) == ASG_EXPECTED
    proc = run("aws_asg.py", "--groups", "-", "--instances", "-", stdin="{}")
    assert proc.returncode == 2 and "only one of" in proc.stderr and "Traceback" not in proc.stderr


def test_asg_refuses_one_page_of_a_longer_listing(tmp_path):
    doc = json.loads(GROUPS_ONE.read_text())
    doc["NextToken"] = "Z3M3LMPEXAMPLE"
    fails(run("aws_asg.py", "--groups", write(tmp_path / "g.json", doc), "--instances", INSTANCES),
          1, "NextToken", "--max-items")


# --- aws_elb.py -----------------------------------------------------------------------------


def test_elb_instance_targets():
    proc = run("aws_elb.py", "--health", HEALTH_INSTANCE, "--instances", INSTANCES)
    assert members(proc) == {
        "192.0.2.11": ("i-0a00000000000a001", "up"),  # healthy on 80, unhealthy on 8080
        "192.0.2.12": ("i-0a00000000000a002", "down"),  # unhealthy
        "192.0.2.13": ("i-0a00000000000a003", "drain"),  # draining
        "192.0.2.14": ("i-0a00000000000a004", "down"),  # initial
        # a005: unused (Target.InvalidState), left out
        "192.0.2.16": ("i-0a00000000000a006", "down"),  # unavailable
        "192.0.2.17": ("i-0a00000000000a007", "down"),  # unhealthy.draining
        "192.0.2.23": ("i-0a00000000000a013", "up"),
    }
    assert "i-0a00000000000a014: not in the describe-instances output; left out" in proc.stderr


ELB_IP_EXPECTED = {
    "192.0.2.21": (None, "up"),
    "192.0.2.22": (None, "drain"),
    "192.0.2.24": (None, "up"),  # healthy on 80, draining on 443: up if any is healthy
    "192.0.2.25": (None, "drain"),  # unhealthy on 80, draining on 443: the best of the two
    # 192.0.2.26: unused, left out
    "203.0.113.27": (None, "down"),  # initial
    "2001:db8:2000::23": (None, "up"),
}


def test_elb_ip_targets_deduplicated_across_ports():
    assert members(run("aws_elb.py", "--health", HEALTH_IP)) == ELB_IP_EXPECTED


def test_elb_output_is_exactly_the_documented_format():
    assert run("aws_elb.py", "--health", HEALTH_IP).stdout == (
        '{\n'
        '  "version": 1,\n'
        '  "members": [\n'
        '    {"address": "192.0.2.21", "state": "up"},\n'
        '    {"address": "192.0.2.22", "state": "drain"},\n'
        '    {"address": "192.0.2.24", "state": "up"},\n'
        '    {"address": "192.0.2.25", "state": "drain"},\n'
        '    {"address": "203.0.113.27", "state": "down"},\n'
        '    {"address": "2001:db8:2000::23", "state": "up"}\n'
        '  ]\n'
        '}\n')


@pytest.mark.parametrize("state, expected", [
    ("healthy", "up"), ("unhealthy", "down"), ("unhealthy.draining", "down"),
    ("unavailable", "down"), ("initial", "down"), ("draining", "drain"), ("unused", None)])
def test_elb_state_table(state, expected, capsys):
    assert aws_elb.target_state(state, "t") == expected
    assert capsys.readouterr().err == ""


def test_elb_unknown_state_is_down_with_a_warning(capsys):
    assert aws_elb.target_state("degraded", "t") == "down"
    assert "unknown TargetHealth.State 'degraded'" in capsys.readouterr().err


def test_elb_several_target_groups_merge_with_the_best_state(tmp_path):
    other = write(tmp_path / "tg2.json", {"TargetHealthDescriptions": [
        {"HealthCheckPort": "8443", "Target": {"Id": "192.0.2.22", "Port": 8443},
         "TargetHealth": {"State": "healthy"}},
        {"HealthCheckPort": "8443", "Target": {"Id": "192.0.2.21", "Port": 8443},
         "TargetHealth": {"State": "unhealthy", "Reason": "Target.Timeout",
                          "Description": "Request timed out"}}]})
    got = members(run("aws_elb.py", "--health", HEALTH_IP, "--health", other))
    assert got == {**ELB_IP_EXPECTED, "192.0.2.22": (None, "up")}


def test_elb_instance_targets_need_the_instances_file():
    fails(run("aws_elb.py", "--health", HEALTH_INSTANCE), 1, "i-0a00000000000a001", "--instances")


def test_elb_targets_without_an_address_are_left_out(tmp_path):
    doc = json.loads(HEALTH_IP.read_text())
    doc["TargetHealthDescriptions"].append({
        "Target": {"Id": "arn:aws:lambda:us-east-1:123456789012:function:meridian-hook"},
        "TargetHealth": {"State": "healthy"}})
    proc = run("aws_elb.py", "--health", write(tmp_path / "h.json", doc))
    assert members(proc) == ELB_IP_EXPECTED
    assert "function:meridian-hook: a target without an address" in proc.stderr


# --- azure_vmss.py --------------------------------------------------------------------------


def azure(*extra):
    return run("azure_vmss.py", "--nics", AZ_NICS, *extra)


def test_azure_states_from_the_instance_view():
    proc = azure("--instances", AZ_VMS)
    assert members(proc) == {
        "192.0.2.40": ("web_0", "up"),  # running, HealthState/healthy
        "192.0.2.41": ("web_1", "down"),  # running, HealthState/unhealthy
        "192.0.2.42": ("web_2", "drain"),  # ProvisioningState/deleting
        # web_3: PowerState/starting, left out; web_4: not in the instance listing
        "192.0.2.45": ("web_5", "drain"),  # PowerState/deallocating
    }
    assert "web_4: not in the instance listing (created since?); left out" in proc.stderr


def test_azure_without_instance_view_every_instance_is_up():
    got = members(azure())
    assert got == {f"192.0.2.{40 + i}": (f"web_{i}", "up") for i in range(6)}


def test_azure_public_and_ipv6_addresses():
    proc = azure("--public-ips", AZ_PUBLIC, "--instances", AZ_VMS,
                 "--address", "public", "--address", "ipv6")
    assert members(proc) == {
        "203.0.113.40": ("web_0", "up"),
        "203.0.113.41": ("web_1", "down"),
        "203.0.113.42": ("web_2", "drain"),
        "2001:db8:4000::40": ("web_0", "up"),  # a public IPv6 address comes first
        "2001:db8:3000::29": ("web_1", "down"),  # else the private IPv6 one
        "2001:db8:3000::2a": ("web_2", "drain"),
    }
    assert "web_5: no public address; left out" in proc.stderr  # dynamic, not allocated yet
    assert "web_5: no ipv6 address; left out" in proc.stderr


def test_azure_public_needs_the_public_ips_file():
    proc = azure("--address", "public")
    assert proc.returncode == 2 and "--public-ips" in proc.stderr and "Traceback" not in proc.stderr


def test_azure_reads_the_older_cli_spelling(tmp_path):
    text = AZ_NICS.read_text().replace('"privateIPAddress"', '"privateIpAddress"')
    assert '"privateIPAddress"' not in text
    got = members(run("azure_vmss.py", "--nics", write(tmp_path / "nics.json", text)))
    assert got == members(azure())


def test_azure_refuses_the_scale_set_summary(tmp_path):
    summary = {"statuses": [{"code": "ProvisioningState/succeeded", "level": "Info"}],
               "virtualMachine": {"statusesSummary": [{"code": "PowerState/running", "count": 6}]}}
    fails(azure("--instances", write(tmp_path / "view.json", summary)), 1, "--instance-id")


def test_azure_refuses_a_listing_without_instance_views(tmp_path):
    vms = json.loads(AZ_VMS.read_text())
    for vm in vms:
        del vm["instanceView"]
    fails(azure("--instances", write(tmp_path / "vms.json", vms)), 1, "--expand instanceView")


OK, RUN = "ProvisioningState/succeeded", "PowerState/running"


@pytest.mark.parametrize("codes, health, top, expected", [
    ([OK, RUN], "HealthState/healthy", None, "up"),
    ([OK, RUN], None, None, "up"),
    ([OK, RUN], "HealthState/initializing", None, None),
    ([OK, RUN], "HealthState/unhealthy", None, "down"),
    ([OK, RUN], "HealthState/unknown", None, "down"),
    (["ProvisioningState/deleting", RUN], "HealthState/healthy", None, "drain"),
    (["ProvisioningState/creating"], None, None, None),
    (["ProvisioningState/failed/OSProvisioningTimedOut", RUN], None, None, "down"),
    (["ProvisioningState/updating", RUN], None, None, "up"),
    ([RUN], None, "Deleting", "drain"),  # no status code: the top-level provisioningState
    ([OK, "PowerState/starting"], None, None, None),
    ([OK, "PowerState/stopping"], None, None, "drain"),
    ([OK, "PowerState/deallocating"], None, None, "drain"),
    ([OK, "PowerState/stopped"], None, None, "down"),
    ([OK, "PowerState/deallocated"], None, None, "down"),
])
def test_azure_state_table(codes, health, top, expected, capsys):
    assert azure_vmss.vm_state(codes, health, top, "web_0") == expected
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("codes, health", [([OK], None), ([OK, "PowerState/unknown"], None),
                                           ([OK, RUN], "HealthState/degraded")])
def test_azure_unknown_states_are_down_with_a_warning(codes, health, capsys):
    assert azure_vmss.vm_state(codes, health, None, "web_0") == "down"
    assert "published as down" in capsys.readouterr().err


# --- gcloud_mig.py --------------------------------------------------------------------------


def gcloud(*extra):
    return run("gcloud_mig.py", "--managed", GC_MIG, "--instances", GC_INSTANCES, *extra)


def test_gcloud_states_of_the_fixture():
    proc = gcloud()
    assert members(proc) == {
        "192.0.2.60": ("web-7b2k", "up"),  # NONE, RUNNING, HEALTHY
        "192.0.2.61": ("web-9cx1", "down"),  # NONE, RUNNING, UNHEALTHY
        "192.0.2.62": ("web-f3qz", "drain"),  # DELETING
        # web-kq8d: CREATING and web-m2lp: VERIFYING, left out
        "192.0.2.65": ("web-p0rt", "down"),  # NONE, RUNNING, TIMEOUT
        "192.0.2.66": ("web-s7hn", "drain"),  # REFRESHING
        "192.0.2.67": ("web-t5vb", "up"),  # NONE, RUNNING, no health check
    }
    assert "web-x9zz: not in the instances list output; left out" in proc.stderr
    assert "bastion" not in proc.stdout  # listed, but not in the group


def test_gcloud_public_and_ipv6_addresses():
    proc = gcloud("--address", "public", "--address", "ipv6")
    got = members(proc)
    assert got["203.0.113.60"] == ("web-7b2k", "up")
    assert got["2001:db8:5000:3c::"] == ("web-7b2k", "up")  # external IPv6
    assert got["2001:db8:6000:3d::"] == ("web-9cx1", "down")  # internal IPv6
    assert "203.0.113.67" not in got
    assert "web-t5vb: no public address; left out" in proc.stderr
    assert "web-t5vb: no ipv6 address; left out" in proc.stderr


@pytest.mark.parametrize("action, status, health, expected", [
    ("NONE", "RUNNING", ["HEALTHY"], "up"),
    ("NONE", "RUNNING", [], "up"),
    ("NONE", "RUNNING", ["HEALTHY", "HEALTHY"], "up"),
    ("NONE", "RUNNING", ["UNHEALTHY"], "down"),
    ("NONE", "RUNNING", ["TIMEOUT"], "down"),
    ("NONE", "RUNNING", ["UNKNOWN"], "down"),
    ("NONE", "RUNNING", ["DRAINING"], "drain"),
    ("NONE", "RUNNING", ["HEALTHY", "DRAINING"], "drain"),
    ("NONE", "RUNNING", ["DRAINING", "TIMEOUT"], "down"),  # the worst health check wins
    ("NONE", "PROVISIONING", [], None),
    ("NONE", "STAGING", [], None),
    ("NONE", "STOPPING", [], "drain"),
    ("NONE", "SUSPENDING", [], "drain"),
    ("NONE", "TERMINATED", [], "down"),
    ("NONE", "SUSPENDED", [], "down"),
    ("NONE", "REPAIRING", [], "down"),
    ("NONE", None, [], "down"),
] + [(a, "RUNNING", ["HEALTHY"], "drain") for a in (
    "DELETING", "ABANDONING", "STOPPING", "SUSPENDING", "RESTARTING", "RECREATING", "REFRESHING")]
  + [(a, None, [], None) for a in (
    "CREATING", "CREATING_WITHOUT_RETRIES", "VERIFYING", "STARTING", "RESUMING")])
def test_gcloud_state_table(action, status, health, expected, capsys):
    assert gcloud_mig.instance_state(action, status, health, "web-1") == expected
    assert capsys.readouterr().err == ""


def test_gcloud_unknown_action_is_down_with_a_warning(capsys):
    assert gcloud_mig.instance_state("MIGRATING", "RUNNING", [], "web-1") == "down"
    assert "unknown currentAction 'MIGRATING'" in capsys.readouterr().err


# --- feedlib: members, dedup, family, the document -------------------------------------------


def test_merge_sorts_numerically_ipv4_first_and_normalises():
    got = feedlib.merge([Member("2001:DB8:0::10", "up"), Member("192.0.2.10", "up"),
                         Member("2001:db8::9", "up"), Member("192.0.2.9", "up")])
    assert [m.address for m in got] == ["192.0.2.9", "192.0.2.10", "2001:db8::9", "2001:db8::10"]


def test_merge_keeps_the_best_state_whatever_the_order():
    entries = [Member("192.0.2.1", "down", "b"), Member("192.0.2.1", "up", "c"),
               Member("192.0.2.1", "drain", "a"), Member("192.0.2.2", "down", "z"),
               Member("192.0.2.2", "drain", "y"), Member("192.0.2.3", "up", "n"),
               Member("192.0.2.3", "up", "m")]
    expected = [Member("192.0.2.1", "up", "c"), Member("192.0.2.2", "drain", "y"),
                Member("192.0.2.3", "up", "m")]  # a tie goes to the smallest id
    assert feedlib.merge(entries) == expected
    assert feedlib.merge(reversed(entries)) == expected


@pytest.mark.parametrize("text", ["not-an-ip", "192.0.2.300", "fe80::1%eth0", "0.0.0.0", "::",
                                  "224.0.0.1", "ff02::1", ""])
def test_addresses_that_cannot_be_answered_are_left_out_with_a_warning(text, capsys):
    assert feedlib.merge([Member(text, "up", "i-1"), Member("192.0.2.1", "up")]) == [
        Member("192.0.2.1", "up")]
    assert "left out" in capsys.readouterr().err


def test_long_ids_are_shortened_to_128_bytes(capsys):
    (m,) = feedlib.merge([Member("192.0.2.1", "up", "é" * 100)])
    assert m.id == "é" * 64 and len(m.id.encode()) == 128
    assert "shortened" in capsys.readouterr().err


def test_member_states_are_checked():
    with pytest.raises(ValueError):
        Member("192.0.2.1", "maybe")


@pytest.mark.parametrize("family, expected", [
    ("v4", {a: v for a, v in ELB_IP_EXPECTED.items() if ":" not in a}),
    ("v6", {"2001:db8:2000::23": (None, "up")}),
    ("any", ELB_IP_EXPECTED),
])
def test_family_filter(family, expected):
    assert members(run("aws_elb.py", "--health", HEALTH_IP, "--family", family)) == expected


def test_family_filter_applies_to_every_feeder():
    got = members(gcloud("--address", "private", "--address", "ipv6", "--family", "v6"))
    assert got and all(":" in address for address in got)
    proc = asg("--group", "meridian-web", "--family", "v6")  # private addresses only: none is v6
    fails(proc, 3, "--allow-empty")


# --- an empty member list ---------------------------------------------------------------------


def all_unused(tmp_path: Path) -> Path:
    doc = json.loads(HEALTH_IP.read_text())
    for d in doc["TargetHealthDescriptions"]:
        d["TargetHealth"] = {"State": "unused", "Reason": "Target.NotInUse",
                             "Description": "Target group is not configured to receive traffic "
                                            "from the load balancer"}
    return write(tmp_path / "unused.json", doc)


def test_an_empty_feed_is_refused_and_the_old_one_kept(tmp_path):
    out = tmp_path / "feed.json"
    assert run("aws_elb.py", "--health", HEALTH_IP, "--output", out).returncode == 0
    before = out.read_bytes()
    fails(run("aws_elb.py", "--health", all_unused(tmp_path), "--output", out), 3,
          "refusing to write an empty feed", "--allow-empty")
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed.json", "unused.json"]


def test_allow_empty_writes_an_empty_feed(tmp_path):
    out = tmp_path / "feed.json"
    proc = run("aws_elb.py", "--health", all_unused(tmp_path), "--output", out, "--allow-empty")
    assert proc.returncode == 0 and proc.stdout == ""
    assert out.read_text() == '{\n  "version": 1,\n  "members": []\n}\n'


def test_an_empty_listing_is_an_error_not_an_empty_feed(tmp_path):
    groups = write(tmp_path / "g.json", {"AutoScalingGroups": []})
    fails(run("aws_asg.py", "--groups", groups, "--instances", INSTANCES), 1,
          "holds 0 Auto Scaling groups")
    fails(run("aws_asg.py", "--groups", groups, "--instances", INSTANCES, "--group", "meridian-web"),
          1, "no Auto Scaling group named meridian-web (it holds: none)")


# --- --output: atomic replacement ---------------------------------------------------------------


def test_output_is_written_to_the_file_not_stdout(tmp_path):
    out = tmp_path / "feeds" / "us-east-1.json"
    out.parent.mkdir()
    proc = run("aws_elb.py", "--health", HEALTH_IP, "--output", out)
    assert proc.returncode == 0 and proc.stdout == ""
    assert out.read_text() == run("aws_elb.py", "--health", HEALTH_IP).stdout
    assert oct(out.stat().st_mode & 0o777) == oct(0o644 & ~current_umask())
    assert [p.name for p in out.parent.iterdir()] == ["us-east-1.json"]  # no temporary file left


def current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def test_output_replaces_the_file_by_rename(tmp_path):
    """A reader that opened the old feed keeps reading all of it; the new one is a new file."""
    out = tmp_path / "feed.json"
    out.write_text("old feed\n")
    out.chmod(0o640)
    old_inode = out.stat().st_ino
    with open(out) as reader:
        assert feedlib.write_atomically(str(out), "new feed\n")
        assert reader.read() == "old feed\n"
    assert out.read_text() == "new feed\n"
    assert out.stat().st_ino != old_inode
    assert out.stat().st_mode & 0o777 == 0o640  # the replaced file's mode is kept
    assert [p.name for p in tmp_path.iterdir()] == ["feed.json"]


def test_an_unchanged_feed_is_left_untouched(tmp_path):
    out = tmp_path / "feed.json"
    assert feedlib.write_atomically(str(out), "feed\n")
    stat = out.stat()
    assert not feedlib.write_atomically(str(out), "feed\n")
    assert (out.stat().st_ino, out.stat().st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)


def test_a_failed_write_leaves_the_old_feed_and_no_temporary_file(tmp_path, monkeypatch):
    out = tmp_path / "feed.json"
    out.write_text("old feed\n")

    def fail(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(feedlib.FeedError, match="No space left on device"):
        feedlib.write_atomically(str(out), "new feed\n")
    assert out.read_text() == "old feed\n"
    assert [p.name for p in tmp_path.iterdir()] == ["feed.json"]


def test_an_unwritable_output_is_one_error_line(tmp_path):
    fails(run("aws_elb.py", "--health", HEALTH_IP, "--output", tmp_path / "missing" / "f.json"),
          1, "cannot write")


def test_a_concurrent_reader_sees_the_old_feed_or_the_new_one(tmp_path):
    """While the feeder rewrites a large feed again and again, a reader never sees a part."""
    def health(first_octet_state: str) -> Path:
        descriptions = [{"Target": {"Id": f"2001:db8:7000::{i:x}", "Port": 443},
                         "TargetHealth": {"State": first_octet_state}} for i in range(1, 2001)]
        return write(tmp_path / f"{first_octet_state}.json", {"TargetHealthDescriptions": descriptions})

    inputs = [health("healthy"), health("draining")]
    out = tmp_path / "feed.json"
    assert run("aws_elb.py", "--health", inputs[0], "--output", out).returncode == 0
    documents = {out.read_text()}
    seen, stop = [], threading.Event()

    def read_forever():
        while not stop.is_set():
            seen.append(out.read_text())

    reader = threading.Thread(target=read_forever)
    reader.start()
    try:
        for n in range(6):
            assert run("aws_elb.py", "--health", inputs[(n + 1) % 2], "--output", out).returncode == 0
            documents.add(out.read_text())
    finally:
        stop.set()
        reader.join()
    assert len(documents) == 2 and len(seen) > 6
    assert set(seen) <= documents


# --- malformed input: a message and a non-zero exit, never a traceback --------------------------


BROKEN = {
    "not JSON": ("{ this is not json", "not JSON"),
    "truncated": ('{"AutoScalingGroups": [', "not JSON"),
    "empty": ("", "empty (did the CLI call fail?)"),
    "an error message": ("An error occurred (ExpiredToken) when calling the operation\n", "not JSON"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
@pytest.mark.parametrize("script, option, others", [
    ("aws_asg.py", "--groups", ["--instances", INSTANCES]),
    ("aws_asg.py", "--instances", ["--groups", GROUPS_ONE]),
    ("aws_elb.py", "--health", []),
    ("aws_elb.py", "--instances", ["--health", HEALTH_INSTANCE]),
    ("azure_vmss.py", "--nics", []),
    ("azure_vmss.py", "--instances", ["--nics", AZ_NICS]),
    ("azure_vmss.py", "--public-ips", ["--nics", AZ_NICS]),
    ("gcloud_mig.py", "--managed", ["--instances", GC_INSTANCES]),
    ("gcloud_mig.py", "--instances", ["--managed", GC_MIG]),
])
def test_unreadable_input(case, script, option, others, tmp_path):
    text, phrase = BROKEN[case]
    bad = write(tmp_path / "bad.json", text)
    fails(run(script, option, bad, *others), 1, str(bad), phrase)


def test_a_missing_file_and_binary_input(tmp_path):
    fails(run("aws_elb.py", "--health", tmp_path / "nope.json"), 1, "cannot read",
          "No such file or directory")
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00{")
    fails(run("aws_elb.py", "--health", binary), 1, "not UTF-8")


WRONG_SHAPES = [
    # (script, option, others, document, the error's words)
    ("aws_asg.py", "--groups", ["--instances", INSTANCES], [],
     "expected the document to be an object, found an array"),
    ("aws_asg.py", "--groups", ["--instances", INSTANCES], {"AutoScalingGroupz": []},
     "missing key 'AutoScalingGroups'"),
    ("aws_asg.py", "--groups", ["--instances", INSTANCES],
     {"AutoScalingGroups": [{"AutoScalingGroupName": "g", "Instances": [{"InstanceId": "i-1"}]}]},
     "AutoScalingGroups[0].Instances[0]: missing key 'LifecycleState'"),
    ("aws_asg.py", "--groups", ["--instances", INSTANCES],
     {"AutoScalingGroups": [{"AutoScalingGroupName": "g", "Instances": "i-1"}]},
     "AutoScalingGroups[0].Instances: expected an array, found a string"),
    ("aws_asg.py", "--instances", ["--groups", GROUPS_ONE], {"Reservations": [{"Instances": [{}]}]},
     "Reservations[0].Instances[0]: missing key 'InstanceId'"),
    ("aws_elb.py", "--health", [], {"TargetHealthDescriptions": [{"Target": {"Id": "192.0.2.1"}}]},
     "TargetHealthDescriptions[0]: missing key 'TargetHealth'"),
    ("aws_elb.py", "--health", [], {"TargetHealthDescriptions": [
        {"Target": {"Id": 7}, "TargetHealth": {"State": "healthy"}}]},
     "Target.Id: expected a string, found a number"),
    ("azure_vmss.py", "--nics", [], {"value": []}, "expected the document to be an array, found an object"),
    ("azure_vmss.py", "--nics", [], [{"ipConfigurations": []}], "[0]: missing key 'virtualMachine'"),
    ("azure_vmss.py", "--nics", [], [{"virtualMachine": {"id": "/subscriptions/x/virtualMachines/0"},
                                      "ipConfigurations": []}], "is not the id of a scale set instance"),
    ("gcloud_mig.py", "--managed", ["--instances", GC_INSTANCES], [{"currentAction": "NONE"}],
     "[0]: missing key 'instance'"),
    ("gcloud_mig.py", "--managed", ["--instances", GC_INSTANCES],
     [{"instance": "web-1", "currentAction": "NONE"}], "'web-1' is not an instance URL"),
    ("gcloud_mig.py", "--instances", ["--managed", GC_MIG], [{"name": "web-1"}],
     "[0]: missing key 'zone'"),
    ("gcloud_mig.py", "--instances", ["--managed", GC_MIG], [None], "[0]: expected an object, found null"),
]


@pytest.mark.parametrize("script, option, others, doc, words", WRONG_SHAPES)
def test_wrong_shapes(script, option, others, doc, words, tmp_path):
    bad = write(tmp_path / "bad.json", doc)
    fails(run(script, option, bad, *others), 1, f"{bad}:", words)


# Every node of each fixture replaced by a value of every other JSON type, and every key
# removed, run in-process: the feeder either publishes, refuses (exit 1 or 3), or warns; it never
# fails in a way it did not foresee (exit 70, an internal error).
def mutations(doc):
    def walk(node, path):
        yield path
        if isinstance(node, dict):
            children = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        else:
            children = ()
        for key, child in children:
            yield from walk(child, path + [key])

    def changed(path, change):
        mutated = copy.deepcopy(doc)
        parent = mutated
        for key in path[:-1]:
            parent = parent[key]
        change(parent, path[-1])
        return mutated

    for path in walk(doc, []):
        for replacement in (None, 7, "x", [], {}, True):
            if path:
                yield changed(path, lambda parent, key: parent.__setitem__(key, replacement))
            else:
                yield replacement
        if path and isinstance(path[-1], str):
            yield changed(path, lambda parent, key: parent.__delitem__(key))


def trimmed(path: Path, keep: int = 2):
    """The fixture with each list cut to its first `keep` entries (the mutations stay few)."""
    def cut(node):
        if isinstance(node, list):
            return [cut(n) for n in node[:keep]]
        if isinstance(node, dict):
            return {k: cut(v) for k, v in node.items()}
        return node
    return cut(json.loads(path.read_text()))


def call(module, argv) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = feedlib.run(module.main, module.PROG, [str(a) for a in argv])
    return status, err.getvalue()


@pytest.mark.parametrize("module, option, fixture, others", [
    (aws_asg, "--groups", GROUPS_ONE, ["--instances", INSTANCES, "--address", "private",
                                       "--address", "public", "--address", "ipv6"]),
    (aws_asg, "--instances", INSTANCES, ["--groups", GROUPS_ONE, "--address", "ipv6"]),
    (aws_elb, "--health", HEALTH_INSTANCE, ["--instances", INSTANCES]),
    (aws_elb, "--health", HEALTH_IP, []),
    (azure_vmss, "--nics", AZ_NICS, ["--public-ips", AZ_PUBLIC, "--instances", AZ_VMS,
                                     "--address", "private", "--address", "ipv6"]),
    (azure_vmss, "--public-ips", AZ_PUBLIC, ["--nics", AZ_NICS, "--address", "public"]),
    (azure_vmss, "--instances", AZ_VMS, ["--nics", AZ_NICS]),
    (gcloud_mig, "--managed", GC_MIG, ["--instances", GC_INSTANCES]),
    (gcloud_mig, "--instances", GC_INSTANCES, ["--managed", GC_MIG, "--address", "private",
                                               "--address", "public", "--address", "ipv6"]),
])
def test_no_malformed_input_is_an_internal_error(module, option, fixture, others, monkeypatch):
    # The documents are handed over parsed (reading text is tested above): thousands of runs
    # then take seconds. The feeders never modify what they read, so the cache can be shared.
    parsed, mutated = {}, {}

    def load_json(path):
        if path == "mutated.json":
            return mutated["doc"], path
        if path not in parsed:
            parsed[path] = real_load_json(path)
        return parsed[path]

    real_load_json = feedlib.load_json
    monkeypatch.setattr(feedlib, "load_json", load_json)
    count = 0
    for doc in mutations(trimmed(fixture)):
        mutated["doc"] = doc
        status, err = call(module, [option, "mutated.json", *others])
        assert status in (0, 1, 3), (status, err, doc)
        assert "internal error" not in err and "Traceback" not in err
        count += 1
    assert count > 100
