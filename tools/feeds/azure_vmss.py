#!/usr/bin/python3
"""Member feed from an Azure virtual machine scale set (Uniform orchestration): the instances of
`az vmss nic list`, their public addresses from `az vmss list-instance-public-ips`, their states
from `az vmss list-instances --expand instanceView` (or `az vmss get-instance-view
--instance-id "*"`, the same listing).

usage: azure_vmss.py --nics FILE [--public-ips FILE] [--instances FILE]
                     [--address private|public|ipv6]... [--family v4|v6|any]
                     [--output FILE] [--allow-empty]

One input may be "-" (standard input). Addresses (--address):
  private  the first IPv4 privateIPAddress of the instance's ipConfigurations (primary NIC and
           primary configuration first)
  public   its first public IPv4 address in --public-ips (required for public)
  ipv6     its first public IPv6 address in --public-ips, else its first IPv6 privateIPAddress
Without --instances every instance is up: the NIC list says nothing about state. With it, the
state of each instance (tools/feeds/README.md, "azure_vmss.py"), first match wins:
  ProvisioningState/deleting                          drain
  ProvisioningState/creating                          left out
  ProvisioningState/failed                            down
  PowerState/starting                                 left out
  PowerState/stopping, PowerState/deallocating        drain
  PowerState/stopped, PowerState/deallocated          down
  PowerState/running, no vmHealth                     up
  PowerState/running + HealthState/healthy            up
  PowerState/running + HealthState/initializing       left out
  PowerState/running + HealthState/unhealthy|unknown  down
  no PowerState, or one not listed here               down, with a warning
An instance with NICs but absent from --instances (created between the two calls) is left out
with a warning.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys

sys.dont_write_bytecode = True  # run from a read-only checkout: no __pycache__ beside the tools
import feedlib  # noqa: E402
from feedlib import FeedError, Member, field, objects  # noqa: E402

PROG = os.path.basename(__file__)

LEFT_OUT = None
PROVISIONING_STATES = {"deleting": "drain", "creating": LEFT_OUT, "failed": "down"}
POWER_STATES = {"running": "up", "starting": LEFT_OUT, "stopping": "drain",
                "deallocating": "drain", "stopped": "down", "deallocated": "down"}
HEALTH_STATES = {"healthy": "up", "initializing": LEFT_OUT, "unhealthy": "down", "unknown": "down"}

# An instance's part of any resource id under it (its NICs, their IP configurations and public
# addresses): .../virtualMachineScaleSets/NAME/virtualMachines/INDEX/...
_VM_ID = re.compile(r"/virtualMachineScaleSets/([^/]+)/virtualMachines/([^/]+)", re.IGNORECASE)


def instance_name(resource_id: str, where: str) -> str:
    """The instance's name as Azure shows it, SCALESET_INDEX (e.g. web_3)."""
    match = _VM_ID.search(resource_id)
    if not match:
        raise FeedError(f"{where}: {resource_id!r} is not the id of a scale set instance")
    return f"{match.group(1)}_{match.group(2)}"


def ip_version(address: str, who: str) -> int | None:
    try:
        return ipaddress.ip_address(address).version
    except ValueError:
        feedlib.warn(f"{who}: {address!r} is not an IP address; left out")
        return None


def private_addresses(path: str) -> dict[str, list[str]]:
    """Each instance's private addresses, primary NIC and primary IP configuration first.
    The aaz-based CLI writes privateIPAddress; older ones wrote privateIpAddress."""
    doc, label = feedlib.load_json(path)
    found: dict[str, list] = {}
    for where, nic in feedlib.root_objects(doc, label):
        vm = field(nic, "virtualMachine", dict, where)
        name = instance_name(field(vm, "id", str, f"{where}.virtualMachine"), where)
        nic_primary = field(nic, "primary", bool, where, required=False) is True
        for w, config in objects(nic, "ipConfigurations", where):
            address = (field(config, "privateIPAddress", str, w, required=False)
                       or field(config, "privateIpAddress", str, w, required=False))
            config_primary = field(config, "primary", bool, w, required=False) is True
            rank = (not nic_primary, not config_primary, len(found.get(name, [])))
            found.setdefault(name, []).append((rank, address))
    return {name: [a for _, a in sorted(listed) if a] for name, listed in found.items()}


def public_addresses(path: str) -> dict[str, list[str]]:
    doc, label = feedlib.load_json(path)
    found: dict[str, list[str]] = {}
    for where, public_ip in feedlib.root_objects(doc, label):
        name = instance_name(field(public_ip, "id", str, where), where)
        address = field(public_ip, "ipAddress", str, where, required=False)
        if address:  # a dynamic address not yet allocated has none
            found.setdefault(name, []).append(address)
    return found


def pick(addresses: list[str], version: int, name: str) -> str | None:
    return next((a for a in addresses if ip_version(a, name) == version), None)


def instance_states(path: str) -> dict[str, str | None]:
    """Each listed instance's member state (None: left out)."""
    doc, label = feedlib.load_json(path)
    if isinstance(doc, dict) and "virtualMachine" in doc:
        raise FeedError(f"{label}: the scale set's summary, not its instances: run az vmss "
                        "get-instance-view with --instance-id '*', or az vmss list-instances "
                        "--expand instanceView")
    states, viewed = {}, 0
    for where, vm in feedlib.root_objects(doc, label):
        name = instance_name(field(vm, "id", str, where), where)
        view = field(vm, "instanceView", dict, where, required=False)
        if view is None:
            feedlib.warn(f"{name}: no instanceView; left out")
            states[name] = LEFT_OUT
            continue
        viewed += 1
        codes = [field(s, "code", str, w, required=False) or ""
                 for w, s in objects(view, "statuses", f"{where}.instanceView", required=False)]
        health = field(view, "vmHealth", dict, f"{where}.instanceView", required=False)
        status = field(health, "status", dict, f"{where}.instanceView.vmHealth",
                       required=False) if health else None
        health_code = field(status, "code", str, f"{where}.instanceView.vmHealth.status",
                            required=False) if status else None
        top = field(vm, "provisioningState", str, where, required=False)
        states[name] = vm_state(codes, health_code, top, name)
    if states and not viewed:
        raise FeedError(f"{label}: no instance has an instanceView: list them with "
                        "az vmss list-instances --expand instanceView")
    return states


def _status(codes: list[str], kind: str) -> str | None:
    """The value of the first KIND/value status code ("ProvisioningState/failed/Reason" gives
    "failed"), lowercased."""
    for code in codes:
        parts = code.split("/")
        if len(parts) >= 2 and parts[0].lower() == kind.lower():
            return parts[1].lower()
    return None


def vm_state(codes: list[str], health_code: str | None, provisioning: str | None,
             name: str) -> str | None:
    """The member state of one instance from its instance view (the table in the docstring)."""
    provisioning_state = _status(codes, "ProvisioningState") or (provisioning or "").lower()
    if provisioning_state in PROVISIONING_STATES:
        return PROVISIONING_STATES[provisioning_state]
    power = _status(codes, "PowerState")
    if power not in POWER_STATES:
        feedlib.warn(f"{name}: power state {power or 'missing'}; published as down")
        return "down"
    state = POWER_STATES[power]
    if state != "up" or health_code is None:
        return state
    health = _status([health_code], "HealthState")
    if health not in HEALTH_STATES:
        feedlib.warn(f"{name}: health {health_code!r} not known; published as down")
        return "down"
    return HEALTH_STATES[health]


def members(private: dict, public: dict, states: dict | None, kinds: list[str]):
    for name in sorted(private):
        if states is None:
            state = "up"
        elif name not in states:
            feedlib.warn(f"{name}: not in the instance listing (created since?); left out")
            continue
        else:
            state = states[name]
        if state is LEFT_OUT:
            continue
        for kind in kinds:
            if kind == "private":
                address = pick(private[name], 4, name)
            elif kind == "public":
                address = pick(public.get(name, []), 4, name)
            else:
                address = pick(public.get(name, []), 6, name) or pick(private[name], 6, name)
            if address:
                yield Member(address, state, name)
            else:
                feedlib.warn(f"{name}: no {kind} address; left out")


def main(argv: list[str] | None = None) -> int:
    p = feedlib.parser(PROG, "Member feed from an Azure scale set (tools/feeds/README.md).")
    p.add_argument("--nics", required=True, metavar="FILE",
                   help="az vmss nic list output (- for stdin)")
    p.add_argument("--public-ips", metavar="FILE",
                   help="az vmss list-instance-public-ips output (needed for --address public)")
    p.add_argument("--instances", metavar="FILE",
                   help="az vmss list-instances --expand instanceView output, for the states")
    args = p.parse_args(argv)
    kinds = feedlib.address_kinds(args)
    if "public" in kinds and not args.public_ips:
        p.error("--address public needs --public-ips (az vmss list-instance-public-ips output)")
    if [args.nics, args.public_ips, args.instances].count("-") > 1:
        p.error("only one input can be standard input")
    private = private_addresses(args.nics)
    public = public_addresses(args.public_ips) if args.public_ips else {}
    states = instance_states(args.instances) if args.instances else None
    return feedlib.finish(members(private, public, states, kinds), args)


if __name__ == "__main__":
    sys.exit(feedlib.run(main, PROG))
