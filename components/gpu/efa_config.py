"""A GPU pool's EFA options (`gpuNodePools[].efa`, `.zone`): parsed and validated before anything is registered.

Parsing only; what an EFA pool becomes (interfaces, placement group, huge pages, device plugin) is built in
`components.gpu.efa`. The zone is settled in a second pass (`settle_zone`, through
`components.gpu.config.resolve_efa_zones`), once the network section says which zones the stack pins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components import versions
from components.common.parsing import Parser, describe
from components.gpu import catalog
from components.gpu.capacity import check_gate
from components.gpu.names import SharingStrategy
from components.karpenter.config import NODE_OVERLAY_GATE, KarpenterConfig
from components.network.config import NetworkConfig, NewVpcConfig

EFA_KEY = "efa"
ZONE_KEY = "zone"
PLACEMENT_GROUP_KEY = "placementGroup"
# The EC2NodeClass placementGroupSelector's id pattern (v1.14.1 CRD); EC2 placement group names are up to 255 ASCII
# characters (CreatePlacementGroup GroupName).
PLACEMENT_GROUP_ID_PATTERN = re.compile(r"^pg-[0-9a-z]+$")
PLACEMENT_GROUP_NAME_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass(frozen=True)
class PlacementGroupRef:
    """An existing EC2 placement group an EFA pool launches into, by name or by ID (exactly one is set).

    Why: a capacity reservation made in a cluster placement group is used only by launches into that group (EC2 User
    Guide, "Capacity Reservations in cluster placement groups"), and Karpenter does not pair them itself: its
    reservation queries filter by ID, owner, tags and instance-match criteria only, never by placement group
    (aws/karpenter-provider-aws@v1.14.1 pkg/providers/capacityreservation/types.go
    `DescribeCapacityReservationsInput`), and it launches into the one group the node class selects
    (pkg/providers/launchtemplate/launchtemplate.go). So the pool must select the reservation's group.
    """

    name: str | None = None
    id: str | None = None

    def __post_init__(self) -> None:
        if (self.name is None) == (self.id is None):
            raise ValueError("a placement group reference has exactly one of name and id")

    def selector(self) -> dict[str, str]:
        """The EC2NodeClass `placementGroupSelector` (name and id are mutually exclusive there too)."""
        return {"name": self.name} if self.name is not None else {"id": str(self.id)}

    def describe(self) -> str:
        """How the contract and the docs name the group: its name, or its ID."""
        return self.name if self.name is not None else str(self.id)


def efa_types_of(instance_types: Sequence[str]) -> list[str]:
    """The types of a selection that have EFA, by name."""
    return [name for name in instance_types if catalog.efa_interfaces(catalog.instance_type(name))]


def parse_efa(
    parser: Parser,
    raw_pool: Mapping[str, Any],
    key: str,
    instance_types: Sequence[str],
    strategy: SharingStrategy,
    karpenter: KarpenterConfig,
) -> bool:
    """`efa: true`: every type of the pool has EFA interfaces, all the same number of them, on whole GPUs."""
    if EFA_KEY not in raw_pool or not parser.boolean(raw_pool[EFA_KEY], f"{key}.{EFA_KEY}"):
        return False
    key = f"{key}.{EFA_KEY}"
    without = [name for name in instance_types if name not in efa_types_of(instance_types)]
    if without:
        with_efa = efa_types_of(instance_types)
        raise parser.error(
            key,
            f"{', '.join(without)} {'has' if len(without) == 1 else 'have'} no EFA interfaces",
            f"allowed: instanceTypes with EFA ({', '.join(with_efa)} in this selection)"
            if with_efa
            else f"allowed: EFA instance types ({', '.join(sorted(catalog.EFA_INTERFACES))})",
        )
    counts = {name: catalog.efa_interfaces(catalog.instance_type(name)) for name in instance_types}
    if len(set(counts.values())) > 1:
        listed = ", ".join(f"{name} ({count})" for name, count in counts.items())
        raise parser.error(
            key,
            f"the pool mixes types with different numbers of EFA interfaces: {listed}; its one EC2NodeClass lists "
            "an interface per network card, and Karpenter gives every type of it that many",
            "allowed: types with the same number, e.g. p5.48xlarge and p5e.48xlarge (32); one EFA pool per layout",
        )
    if strategy != SharingStrategy.NONE:
        raise parser.error(
            key,
            f"EFA is for multi-node training on whole GPUs, but the pool shares its GPUs ({strategy}); the EFA "
            "device plugin gives each device to one pod",
            "allowed: efa with sharing.strategy none",
        )
    first = versions.KARPENTER_EFA_NODE_CLASS_VERSION
    if versions.parse_semver(karpenter.version) < versions.parse_semver(first):
        raise parser.error(
            key,
            f"EFA pools need EC2NodeClass networkInterfaces and placementGroupSelector, which Karpenter "
            f"{karpenter.version} does not have",
            f"allowed: karpenter.version {first} or newer",
        )
    # The pool's huge pages reach Karpenter only through a NodeOverlay.
    check_gate(parser, key, NODE_OVERLAY_GATE, "efa: true", karpenter)
    return True


# An Availability Zone ID as EC2 prints it (use1-az4, usw2-az1, apne1-az4).
ZONE_ID_PATTERN = re.compile(r"[a-z]{2,}[0-9]+-az[0-9]+")


def parse_zone(parser: Parser, raw_pool: Mapping[str, Any], key: str, efa: bool) -> str | None:
    """`zone`: one zone name, for EFA pools only. Checked against the region and the stack's zones later."""
    if ZONE_KEY not in raw_pool:
        return None
    key = f"{key}.{ZONE_KEY}"
    if not efa:
        raise parser.error(
            key,
            "applies only to EFA pools (a cluster placement group needs one zone)",
            "allowed: efa: true with a zone, or no zone",
        )
    value = raw_pool[ZONE_KEY]
    if isinstance(value, (list, tuple)):
        raise parser.error(
            key,
            f"an EFA pool uses exactly one zone, got {describe(value)}: its cluster placement group lives in one "
            "Availability Zone",
            "allowed: one zone name such as us-east-1b",
        )
    return parser.string(value, key, allowed="one zone name such as us-east-1b")


def parse_placement_group(parser: Parser, raw_pool: Mapping[str, Any], key: str, efa: bool) -> PlacementGroupRef | None:
    """`placementGroup: {name: ...}` or `{id: pg-...}`: launch an EFA pool into an existing cluster placement group
    (the one its capacity reservation was made in) instead of the one the program creates."""
    if PLACEMENT_GROUP_KEY not in raw_pool:
        return None
    key = f"{key}.{PLACEMENT_GROUP_KEY}"
    allowed = "allowed: {name: <placement group name>} or {id: pg-...} of an existing cluster placement group"
    if not efa:
        raise parser.error(
            key,
            "applies only to EFA pools (they are the pools launched into a placement group)",
            f"{allowed}, with efa: true",
        )
    raw = parser.mapping(raw_pool[PLACEMENT_GROUP_KEY], key, ("name", "id"))
    if len(raw) != 1:
        raise parser.error(
            key,
            f"sets {' and '.join(sorted(raw)) or 'neither name nor id'}; Karpenter's placementGroupSelector takes "
            "exactly one of them",
            allowed,
        )
    if "id" in raw:
        return PlacementGroupRef(
            id=parser.string(
                raw["id"], f"{key}.id", PLACEMENT_GROUP_ID_PATTERN, "a placement group ID such as pg-0a1b2c3d"
            )
        )
    return PlacementGroupRef(
        name=parser.string(
            raw["name"], f"{key}.name", PLACEMENT_GROUP_NAME_PATTERN, "a placement group name (1-255 ASCII characters)"
        )
    )


def _pinned_zones(network: NetworkConfig) -> list[str]:
    return [name for name, _ in network.zones] if isinstance(network, NewVpcConfig) else []


def settle_zone(parser: Parser, key: str, zone: str | None, network: NetworkConfig, region: str) -> str:
    """An EFA pool's zone: the one given (a zone of the region, and one of the pinned zones when the stack pins them),
    else the first pinned zone by name. A stack that does not pin zones must name one, because the zone names awsx
    or a brought VPC uses are unknown without a lookup, which the program does not make."""
    pinned = _pinned_zones(network)
    key = f"{key}.{ZONE_KEY}"
    if zone is not None and ZONE_ID_PATTERN.fullmatch(zone):
        zone = _zone_of_id(parser, key, zone, network)
    if zone is None:
        if not pinned:
            raise parser.error(
                key,
                "is required for an EFA pool when network.availabilityZoneIds does not pin the stack's zones",
                f"allowed: a zone of {region} that offers the pool's instance types (and holds any capacity "
                f"reservation it uses), e.g. {region}b; `aws ec2 describe-instance-type-offerings "
                "--location-type availability-zone` lists them",
            )
        return pinned[0]
    if not re.fullmatch(rf"{re.escape(region)}[a-z]", zone):
        raise parser.error(key, f"{zone!r} is not a zone of {region}", f"allowed: a zone name such as {region}b")
    if pinned and zone not in pinned:
        raise parser.error(
            key,
            f"{zone} is not one of the stack's zones",
            f"allowed: one of network.availabilityZoneIds ({', '.join(pinned)})",
        )
    if isinstance(network, NewVpcConfig) and not pinned:
        # awsx puts the private subnets in the region's first `availabilityZones` zones (number_of_availability_zones,
        # the names getAvailabilityZones lists, which run from `a` in an account with every zone available); a zone
        # past them has no private subnet, so the pool's subnet selector finds none there and Karpenter never launches.
        first = [f"{region}{chr(ord('a') + i)}" for i in range(network.availability_zones)]
        if zone[-1] > first[-1][-1]:
            raise parser.error(
                key,
                f"{zone} has no private subnet: the new VPC's subnets go in the region's first "
                f"{network.availability_zones} zones ({', '.join(first)})",
                f"allowed: one of {', '.join(first)}, or pin the zones with network.availabilityZoneIds "
                f"including {zone}",
            )
    return zone


def _zone_of_id(parser: Parser, key: str, zone_id: str, network: NetworkConfig) -> str:
    """A zone given by ID (use1-az4): its name from the stack's pinned zones. Zone IDs map to names per account, so
    without pinned zones the program cannot know the name (the NodePool's zone label is the name)."""
    pairs = network.zones if isinstance(network, NewVpcConfig) else ()
    by_id = {zid: name for name, zid in pairs}
    if zone_id in by_id:
        return by_id[zone_id]
    if pairs:
        raise parser.error(
            key,
            f"zone ID {zone_id} is not one of the stack's zones",
            f"allowed: one of network.availabilityZoneIds, by name or ID ({', '.join(f'{n} ({i})' for n, i in pairs)})",
        )
    raise parser.error(
        key,
        f"{zone_id} is a zone ID; zone IDs map to zone names per account and this stack pins no zones, so its name is "
        "unknown here",
        "allowed: the zone's name in this account (`aws ec2 describe-availability-zones` lists both), or pin the "
        "zones with network.availabilityZoneIds, then the ID is accepted",
    )


def check_efa_zones_have_private_subnets(parser: Parser, pools: Sequence[Any], subnet_zones: Mapping[str, str]) -> None:
    """Every EFA pool's zone holds one of the brought VPC's private subnets (`subnet_zones`: subnet ID -> zone name,
    from EC2 at deploy time): Karpenter selects the pool's subnets by the zone, so none there means no node ever."""
    zones = sorted(set(subnet_zones.values()))
    for index, pool in enumerate(pools):
        if pool.efa and pool.zone not in zones:
            raise parser.error(
                f"gpuNodePools[{index}] ({pool.name}).{ZONE_KEY}",
                f"{pool.zone} has none of network.privateSubnetIds (they are in {', '.join(zones)})",
                f"allowed: one of {', '.join(zones)}, or add a private subnet in {pool.zone} to "
                "network.privateSubnetIds",
            )
