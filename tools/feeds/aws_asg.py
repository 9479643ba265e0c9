#!/usr/bin/python3
"""Member feed from an EC2 Auto Scaling group: the instances of `aws autoscaling
describe-auto-scaling-groups` with their addresses from `aws ec2 describe-instances`.

usage: aws_asg.py --groups FILE --instances FILE [--group NAME]...
                  [--address private|public|ipv6]... [--family v4|v6|any]
                  [--output FILE] [--allow-empty]

One of the two inputs may be "-" (standard input). Without --group the groups file must hold
exactly one group. The state of each instance (tools/feeds/README.md, "aws_asg.py"):
  InService + Healthy                                    up (down when EC2 says it is not running)
  InService + Unhealthy                                  down
  Terminating, Terminating:Wait, Terminating:Proceed,
  Detaching, EnteringStandby, Standby                    drain
  Pending, Pending:Wait, Pending:Proceed, Warmed:*,
  Terminated, Detached                                   left out
  anything else (Quarantined, a new state)               down, with a warning
"""

from __future__ import annotations

import os
import sys

sys.dont_write_bytecode = True  # run from a read-only checkout: no __pycache__ beside the tools
import ec2  # noqa: E402
import feedlib  # noqa: E402
from feedlib import FeedError, Member, field, objects  # noqa: E402

PROG = os.path.basename(__file__)

# Lifecycle states that decide on their own; InService leaves it to HealthStatus. LEFT_OUT:
# not (or no longer) serving, and not worth a line on a status page.
LEFT_OUT = None
LIFECYCLE_STATES = {
    # Launching: the instance boots and its lifecycle hooks run; it has not served yet.
    "Pending": LEFT_OUT, "Pending:Wait": LEFT_OUT, "Pending:Proceed": LEFT_OUT,
    # Leaving: still up, finishing its work; clients must stop being sent to it.
    "Terminating": "drain", "Terminating:Wait": "drain", "Terminating:Proceed": "drain",
    "Detaching": "drain", "EnteringStandby": "drain", "Standby": "drain",
    # Gone from the group.
    "Terminated": LEFT_OUT, "Detached": LEFT_OUT,
}
HEALTH_STATES = {"healthy": "up", "unhealthy": "down"}  # HealthStatus, compared case-blind


def instance_state(lifecycle: str, health: str, instance_id: str) -> str | None:
    """The member state of an Auto Scaling instance, or None to leave it out."""
    if lifecycle == "InService":
        state = HEALTH_STATES.get(health.lower())
        if state is None:
            feedlib.warn(f"{instance_id}: unknown HealthStatus {health!r}; published as down")
            return "down"
        return state
    if lifecycle.startswith("Warmed:"):
        return LEFT_OUT  # in the warm pool: stopped, hibernated or kept aside, not serving
    if lifecycle in LIFECYCLE_STATES:
        return LIFECYCLE_STATES[lifecycle]
    feedlib.warn(f"{instance_id}: unknown LifecycleState {lifecycle!r}; published as down")
    return "down"


def chosen_groups(path: str, names: list[str]) -> list[tuple[str, dict]]:
    doc, label = feedlib.load_json(path)
    root = feedlib.root_object(doc, label)
    ec2.refuse_partial(root, label)
    groups = objects(root, "AutoScalingGroups", label + ":")
    by_name = {field(g, "AutoScalingGroupName", str, where): (where, g) for where, g in groups}
    known = ", ".join(sorted(by_name)) or "none"
    if not names:
        if len(by_name) != 1:
            raise FeedError(f"{label}: holds {len(by_name)} Auto Scaling groups ({known}); "
                            "name the one to publish with --group")
        return list(by_name.values())
    missing = [n for n in names if n not in by_name]
    if missing:
        raise FeedError(f"{label}: no Auto Scaling group named {', '.join(missing)} (it holds: {known})")
    return [by_name[n] for n in dict.fromkeys(names)]


def members(groups, instances: dict, kinds: list[str]):
    for gwhere, group in groups:
        for where, entry in objects(group, "Instances", gwhere, required=False):
            instance_id = field(entry, "InstanceId", str, where)
            state = instance_state(field(entry, "LifecycleState", str, where),
                                   field(entry, "HealthStatus", str, where), instance_id)
            if state is LEFT_OUT:
                continue
            instance = instances.get(instance_id)
            if instance is None:
                feedlib.warn(f"{instance_id}: not in the describe-instances output; left out")
                continue
            if state == "up" and instance.state not in (None, "running"):
                state = "down"  # Auto Scaling has not noticed yet; EC2 knows it is not running
            for _, address in ec2.addresses(instance, instance_id, kinds):
                yield Member(address, state, instance_id)


def main(argv: list[str] | None = None) -> int:
    p = feedlib.parser(PROG, "Member feed from an EC2 Auto Scaling group (tools/feeds/README.md).")
    p.add_argument("--groups", required=True, metavar="FILE",
                   help="aws autoscaling describe-auto-scaling-groups output (- for stdin)")
    p.add_argument("--instances", required=True, metavar="FILE",
                   help="aws ec2 describe-instances output (- for stdin)")
    p.add_argument("--group", action="append", metavar="NAME",
                   help="the Auto Scaling group to publish (repeatable)")
    args = p.parse_args(argv)
    if args.groups == "-" and args.instances == "-":
        p.error("only one of --groups and --instances can be standard input")
    groups = chosen_groups(args.groups, args.group or [])
    instances = ec2.load_instances(args.instances)
    return feedlib.finish(members(groups, instances, feedlib.address_kinds(args)), args)


if __name__ == "__main__":
    sys.exit(feedlib.run(main, PROG))
