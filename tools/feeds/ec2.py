"""The output of `aws ec2 describe-instances` (shared by aws_asg.py and aws_elb.py): the instances
by id, and the address of each kind (--address) an instance has.

  private  Instance.PrivateIpAddress: the primary private IPv4 address
  public   Instance.PublicIpAddress: the public IPv4 address (absent when it has none)
  ipv6     Instance.Ipv6Address when present, else an address of Ipv6Addresses[] on the primary
           network interface (Attachment.DeviceIndex 0): the one with IsPrimaryIpv6, else the
           first
"""

from __future__ import annotations

from dataclasses import dataclass

import feedlib
from feedlib import FeedError, field, objects


@dataclass(frozen=True)
class Instance:
    where: str  # file and path, for messages
    data: dict

    @property
    def state(self) -> str | None:
        """State.Name: pending, running, shutting-down, terminated, stopping or stopped."""
        state = field(self.data, "State", dict, self.where, required=False)
        return None if state is None else field(state, "Name", str, f"{self.where}.State", required=False)

    def address(self, kind: str) -> str | None:
        if kind == "private":
            return field(self.data, "PrivateIpAddress", str, self.where, required=False)
        if kind == "public":
            return field(self.data, "PublicIpAddress", str, self.where, required=False)
        return field(self.data, "Ipv6Address", str, self.where, required=False) or self._interface_ipv6()

    def _interface_ipv6(self) -> str | None:
        for where, nic in objects(self.data, "NetworkInterfaces", self.where, required=False):
            if _device_index(nic, where) != 0:
                continue
            listed = [(field(a, "Ipv6Address", str, w, required=False),
                       field(a, "IsPrimaryIpv6", bool, w, required=False) is True)
                      for w, a in objects(nic, "Ipv6Addresses", where, required=False)]
            listed = [(address, primary) for address, primary in listed if address]
            primaries = [address for address, primary in listed if primary]
            return (primaries or [address for address, _ in listed] or [None])[0]
        return None


def _device_index(nic: dict, where: str) -> int | None:
    attachment = field(nic, "Attachment", dict, where, required=False)
    if attachment is None:
        return None
    return field(attachment, "DeviceIndex", int, f"{where}.Attachment", required=False)


def refuse_partial(doc: dict, label: str) -> None:
    """A listing cut short (--max-items leaves a NextToken) would silently drop members."""
    if doc.get("NextToken"):
        raise FeedError(f"{label}: holds one page of a longer listing (NextToken is set); run the "
                        "CLI without --max-items so that it returns every page")


def load_instances(path: str) -> dict[str, Instance]:
    """The instances of a describe-instances document, by InstanceId."""
    doc, label = feedlib.load_json(path)
    root = feedlib.root_object(doc, label)
    refuse_partial(root, label)
    instances = {}
    for rwhere, reservation in objects(root, "Reservations", label + ":"):
        for iwhere, data in objects(reservation, "Instances", rwhere):
            instances[field(data, "InstanceId", str, iwhere)] = Instance(iwhere, data)
    return instances


def addresses(instance: Instance, instance_id: str, kinds: list[str]):
    """(kind, address) for each asked kind the instance has; a warning for each it lacks."""
    for kind in kinds:
        address = instance.address(kind)
        if address:
            yield kind, address
        else:
            feedlib.warn(f"{instance_id}: no {kind} address; left out")

