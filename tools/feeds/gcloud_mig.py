#!/usr/bin/python3
"""Member feed from a Compute Engine managed instance group: the instances of `gcloud compute
instance-groups managed list-instances GROUP --format=json` with their addresses from
`gcloud compute instances list --format=json`.

usage: gcloud_mig.py --managed FILE --instances FILE
                     [--address private|public|ipv6]... [--family v4|v6|any]
                     [--output FILE] [--allow-empty]

One input may be "-" (standard input). Addresses (--address), from the instance's first network
interface (nic0):
  private  networkIP
  public   the first accessConfigs[].natIP
  ipv6     the first ipv6AccessConfigs[].externalIpv6, else ipv6Address (internal IPv6)
The state of each instance (tools/feeds/README.md, "gcloud_mig.py"), first match wins:
  currentAction DELETING, ABANDONING, STOPPING, SUSPENDING,
                RESTARTING, RECREATING, REFRESHING                  drain
  currentAction CREATING, CREATING_WITHOUT_RETRIES, VERIFYING,
                STARTING, RESUMING                                  left out
  currentAction NONE:
    instanceStatus PROVISIONING, STAGING                            left out
    instanceStatus STOPPING, SUSPENDING                             drain
    instanceStatus other than RUNNING                               down
    RUNNING, and every instanceHealth[] HEALTHY (or none listed)    up
    RUNNING, a health state UNHEALTHY, TIMEOUT or UNKNOWN           down
    RUNNING, a health state DRAINING (and none of the above)        drain
  any other currentAction                                           down, with a warning
"""

from __future__ import annotations

import os
import re
import sys

sys.dont_write_bytecode = True  # run from a read-only checkout: no __pycache__ beside the tools
import feedlib  # noqa: E402
from feedlib import FeedError, Member, field, objects  # noqa: E402

PROG = os.path.basename(__file__)

LEFT_OUT = None
ACTIONS = {
    # The group is taking the instance down or disturbing it: stop sending clients.
    "DELETING": "drain", "ABANDONING": "drain", "STOPPING": "drain", "SUSPENDING": "drain",
    "RESTARTING": "drain", "RECREATING": "drain", "REFRESHING": "drain",
    # Not serving yet.
    "CREATING": LEFT_OUT, "CREATING_WITHOUT_RETRIES": LEFT_OUT, "VERIFYING": LEFT_OUT,
    "STARTING": LEFT_OUT, "RESUMING": LEFT_OUT,
}
STATUSES = {"RUNNING": "up", "PROVISIONING": LEFT_OUT, "STAGING": LEFT_OUT,
            "STOPPING": "drain", "SUSPENDING": "drain"}  # any other instanceStatus: down
HEALTH = {"HEALTHY": "up", "DRAINING": "drain", "UNHEALTHY": "down", "TIMEOUT": "down",
          "UNKNOWN": "down"}  # the worst of an instance's health checks wins

_INSTANCE_URL = re.compile(r"(?:^|/)zones/([^/]+)/instances/([^/]+)$")


def instance_key(url: str, where: str) -> tuple[str, str]:
    """(zone, name) of an instance URL (.../projects/P/zones/Z/instances/N)."""
    match = _INSTANCE_URL.search(url)
    if not match:
        raise FeedError(f"{where}: {url!r} is not an instance URL")
    return match.group(1), match.group(2)


def instance_state(action: str, status: str | None, health: list[str], name: str) -> str | None:
    """The member state of one managed instance (the table in the docstring)."""
    if action != "NONE":
        if action in ACTIONS:
            return ACTIONS[action]
        feedlib.warn(f"{name}: unknown currentAction {action!r}; published as down")
        return "down"
    state = STATUSES.get(status or "", "down")
    if state != "up":
        return state
    verdicts = []
    for detailed in health:
        if detailed not in HEALTH:
            feedlib.warn(f"{name}: unknown detailedHealthState {detailed!r}; taken as down")
        verdicts.append(HEALTH.get(detailed, "down"))
    return max(verdicts, key=feedlib.STATES.index, default="up")


def load_instances(path: str) -> dict[tuple[str, str], tuple[str, dict]]:
    """The instances of a `gcloud compute instances list` document by (zone, name)."""
    doc, label = feedlib.load_json(path)
    instances = {}
    for where, instance in feedlib.root_objects(doc, label):
        link = field(instance, "selfLink", str, where, required=False)
        if link:
            key = instance_key(link, where)
        else:
            zone = field(instance, "zone", str, where).rsplit("/", 1)[-1]
            key = (zone, field(instance, "name", str, where))
        instances[key] = (where, instance)
    return instances


def address(instance: dict, where: str, kind: str) -> str | None:
    nics = objects(instance, "networkInterfaces", where, required=False)
    nic0 = [(w, n) for w, n in nics if n.get("name") == "nic0"] or nics[:1]
    for w, nic in nic0:
        if kind == "private":
            return field(nic, "networkIP", str, w, required=False)
        if kind == "public":
            found = [field(c, "natIP", str, cw, required=False)
                     for cw, c in objects(nic, "accessConfigs", w, required=False)]
        else:
            found = [field(c, "externalIpv6", str, cw, required=False)
                     for cw, c in objects(nic, "ipv6AccessConfigs", w, required=False)]
            found.append(field(nic, "ipv6Address", str, w, required=False))
        return next((a for a in found if a), None)
    return None


def members(managed_path: str, instances: dict, kinds: list[str]):
    doc, label = feedlib.load_json(managed_path)
    for where, managed in feedlib.root_objects(doc, label):
        key = instance_key(field(managed, "instance", str, where), where)
        name = key[1]
        health = [field(h, "detailedHealthState", str, w, required=False) or "UNKNOWN"
                  for w, h in objects(managed, "instanceHealth", where, required=False)]
        state = instance_state(field(managed, "currentAction", str, where),
                               field(managed, "instanceStatus", str, where, required=False),
                               health, name)
        if state is LEFT_OUT:
            continue
        if key not in instances:
            feedlib.warn(f"{name}: not in the instances list output; left out")
            continue
        iwhere, instance = instances[key]
        for kind in kinds:
            found = address(instance, iwhere, kind)
            if found:
                yield Member(found, state, name)
            else:
                feedlib.warn(f"{name}: no {kind} address; left out")


def main(argv: list[str] | None = None) -> int:
    p = feedlib.parser(PROG, "Member feed from a managed instance group (tools/feeds/README.md).")
    p.add_argument("--managed", required=True, metavar="FILE",
                   help="gcloud compute instance-groups managed list-instances GROUP "
                        "--format=json output (- for stdin)")
    p.add_argument("--instances", required=True, metavar="FILE",
                   help="gcloud compute instances list --format=json output (- for stdin)")
    args = p.parse_args(argv)
    if args.managed == "-" and args.instances == "-":
        p.error("only one of --managed and --instances can be standard input")
    instances = load_instances(args.instances)
    return feedlib.finish(members(args.managed, instances, feedlib.address_kinds(args)), args)


if __name__ == "__main__":
    sys.exit(feedlib.run(main, PROG))
