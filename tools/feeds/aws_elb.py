#!/usr/bin/python3
"""Member feed from an Elastic Load Balancing (v2) target group: the targets of
`aws elbv2 describe-target-health`, by address.

usage: aws_elb.py --health FILE [--health FILE]... [--instances FILE]
                  [--address private|public|ipv6]... [--family v4|v6|any]
                  [--output FILE] [--allow-empty]

Target type ip: Target.Id is the address. Target type instance: Target.Id is an instance id,
whose addresses come from --instances (`aws ec2 describe-instances` output). Other targets
(a Lambda function, an Application Load Balancer) have no address to publish and are left out
with a warning. One input may be "-" (standard input). The state of each target
(tools/feeds/README.md, "aws_elb.py"):
  healthy                                       up
  unhealthy, unhealthy.draining, unavailable    down
  initial (registering, not yet passing)        down
  draining (being deregistered)                 drain
  unused (not served by the load balancer)      left out
  anything else                                 down, with a warning
The port is ignored (a DNS answer carries only addresses): an address registered on several
ports, or in several target groups, gets the best state among its registrations (up, then
drain, then down), so it is up when any registration is healthy.
"""

from __future__ import annotations

import ipaddress
import os
import sys

sys.dont_write_bytecode = True  # run from a read-only checkout: no __pycache__ beside the tools
import ec2  # noqa: E402
import feedlib  # noqa: E402
from feedlib import FeedError, Member, field, objects  # noqa: E402

PROG = os.path.basename(__file__)

LEFT_OUT = None
TARGET_STATES = {
    "healthy": "up",
    "unhealthy": "down",
    "unhealthy.draining": "down",  # failed its checks; connections drain before it is cut off
    "unavailable": "down",  # health checks are off or failing to run: nothing vouches for it
    "initial": "down",  # registering or not yet past its first checks
    "draining": "drain",  # being deregistered: finishing its connections, taking no new ones
    # Not in use: not registered, no listener or rule sends traffic to the target group, its
    # zone is not enabled, or the instance is stopped. The load balancer never sends it
    # traffic, so neither does DNS; a group whose targets are all unused yields an empty feed,
    # which is refused: a target group not yet wired (or wired wrong) cannot empty a region.
    "unused": LEFT_OUT,
}


def target_state(state: str, target_id: str) -> str | None:
    if state in TARGET_STATES:
        return TARGET_STATES[state]
    feedlib.warn(f"{target_id}: unknown TargetHealth.State {state!r}; published as down")
    return "down"


def is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def members(health_paths: list[str], instances: dict | None, kinds: list[str]):
    for path in health_paths:
        doc, label = feedlib.load_json(path)
        root = feedlib.root_object(doc, label)
        ec2.refuse_partial(root, label)
        for where, description in objects(root, "TargetHealthDescriptions", label + ":"):
            target = field(description, "Target", dict, where)
            target_id = field(target, "Id", str, f"{where}.Target")
            health = field(description, "TargetHealth", dict, where)
            state = target_state(field(health, "State", str, f"{where}.TargetHealth"), target_id)
            if state is LEFT_OUT:
                continue
            if is_address(target_id):  # target type ip
                yield Member(target_id, state)
            elif target_id.startswith("i-"):  # target type instance
                if instances is None:
                    raise FeedError(f"{where}: target {target_id} is an instance: give its "
                                    "addresses with --instances (aws ec2 describe-instances output)")
                instance = instances.get(target_id)
                if instance is None:
                    feedlib.warn(f"{target_id}: not in the describe-instances output; left out")
                    continue
                for _, address in ec2.addresses(instance, target_id, kinds):
                    yield Member(address, state, target_id)
            else:
                feedlib.warn(f"{target_id}: a target without an address (lambda or alb); left out")


def main(argv: list[str] | None = None) -> int:
    p = feedlib.parser(PROG, "Member feed from an ELB target group (tools/feeds/README.md).")
    p.add_argument("--health", action="append", required=True, metavar="FILE",
                   help="aws elbv2 describe-target-health output (- for stdin; repeatable)")
    p.add_argument("--instances", metavar="FILE",
                   help="aws ec2 describe-instances output, for targets of type instance")
    args = p.parse_args(argv)
    if [args.instances, *args.health].count("-") > 1:
        p.error("only one input can be standard input")
    instances = ec2.load_instances(args.instances) if args.instances else None
    return feedlib.finish(members(args.health, instances, feedlib.address_kinds(args)), args)


if __name__ == "__main__":
    sys.exit(feedlib.run(main, PROG))
