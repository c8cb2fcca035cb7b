"""The `gpu-eks:network` section: a VPC this stack creates, or one the user brings, parsed and validated."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.common.parsing import KeyDoc, Parser, SectionDoc, describe

SINGLE_NAT_GATEWAY = "single"
NAT_GATEWAY_MODES = (SINGLE_NAT_GATEWAY, "one-per-az")
NEW_VPC_KEYS = ("cidr", "availabilityZones", "natGateways", "availabilityZoneIds")
EXISTING_VPC_KEYS = ("vpcId", "privateSubnetIds", "publicSubnetIds")
ZONE_ID_PATTERN = re.compile(r"^[a-z]{2,6}\d-az\d{1,2}$")
# Zone IDs where EKS refuses cluster subnets (UnsupportedAvailabilityZoneException), named in the EKS user guide's
# subnet requirements (network-reqs). Zone *names* map to zone IDs differently in every account.
EKS_UNSUPPORTED_ZONE_IDS = {"us-east-1": ("use1-az3",), "us-west-1": ("usw1-az2",), "ca-central-1": ("cac1-az3",)}
VPC_ID_PATTERN = re.compile(r"^vpc-[0-9a-f]{8,17}$")
SUBNET_ID_PATTERN = re.compile(r"^subnet-[0-9a-f]{8,17}$")


@dataclass(frozen=True)
class NewVpcConfig:
    """A VPC this stack creates."""

    cidr: str = "10.0.0.0/16"
    availability_zones: int = 3
    nat_gateways: str = SINGLE_NAT_GATEWAY
    # (zone name, zone ID) pairs the stack pinned; empty lets awsx take the region's first zones.
    zones: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ExistingVpcConfig:
    """A VPC the user brings; nothing network-related is created."""

    vpc_id: str
    private_subnet_ids: tuple[str, ...]
    public_subnet_ids: tuple[str, ...]


NetworkConfig = NewVpcConfig | ExistingVpcConfig


def _parse_zones(parser: Parser, raw: Any, key: str, region: str) -> tuple[tuple[str, str], ...]:
    """`network.availabilityZoneIds`: zone name -> zone ID, so the program picks zones by ID without an invoke.

    Required where the region has a zone EKS refuses: awsx takes the first N zone *names*, and which zone ID a
    name is differs per account, so only the pinned IDs can be checked.
    """
    refused = EKS_UNSUPPORTED_ZONE_IDS.get(region, ())
    every_refused = sorted(zone for zones in EKS_UNSUPPORTED_ZONE_IDS.values() for zone in zones)
    how = (
        f"a map of 2 to 6 zone names to zone IDs as `aws ec2 describe-availability-zones --region {region} "
        "--query 'AvailabilityZones[].[ZoneName,ZoneId]'` prints them"
    )
    if raw is None:
        if refused:
            raise parser.error(
                key,
                f"is required in {region}: EKS refuses cluster subnets in zone "
                f"{', '.join(refused)}, and the region's first zone names may be that zone "
                "in this account",
                f"allowed: {how}, without {', '.join(refused)}",
            )
        return ()
    if not isinstance(raw, Mapping):
        raise parser.error(key, f"expected a mapping, got {describe(raw)}", f"allowed: {how}")
    if not 2 <= len(raw) <= 6:
        raise parser.error(key, f"has {len(raw)} zone(s)", f"allowed: {how}")
    name_pattern = re.compile(rf"^{re.escape(region)}[a-z]$")
    zones: list[tuple[str, str]] = []
    for name, zone_id in sorted(raw.items(), key=lambda item: str(item[0])):
        zone_key = f"{key}.{name}"
        if not isinstance(name, str) or not name_pattern.match(name):
            raise parser.error(zone_key, f"{name!r} is not a zone name of {region}", f"allowed: {how}")
        parser.string(zone_id, zone_key, ZONE_ID_PATTERN, "a zone ID such as use1-az1")
        if zone_id in every_refused:
            raise parser.error(
                zone_key,
                f"{zone_id} is a zone where EKS refuses cluster subnets (UnsupportedAvailabilityZoneException)",
                f"allowed: another zone of {region}; EKS refuses {', '.join(every_refused)}",
            )
        if zone_id in {existing for _, existing in zones}:
            raise parser.error(zone_key, f"duplicate zone ID {zone_id}", "each zone ID may appear once")
        zones.append((name, zone_id))
    prefixes = sorted({zone_id.rsplit("-az", 1)[0] for _, zone_id in zones})
    if len(prefixes) > 1:
        raise parser.error(
            key, f"mixes zone IDs of several regions ({', '.join(prefixes)})", f"allowed: zone IDs of {region} only"
        )
    return tuple(zones)


def parse_network(parser: Parser, raw: Any, region: str) -> NetworkConfig:
    """Parse `gpu-eks:network` (absent = a new VPC with the defaults)."""
    key = "network"
    raw = parser.mapping({} if raw is None else raw, key, NEW_VPC_KEYS + EXISTING_VPC_KEYS)
    if any(k in raw for k in EXISTING_VPC_KEYS):
        mixed = [k for k in NEW_VPC_KEYS if k in raw]
        if mixed:
            raise parser.error(
                f"{key}.{mixed[0]}",
                "cannot be combined with vpcId (bring-your-own VPC)",
                "either cidr/availabilityZones/natGateways or vpcId/privateSubnetIds/publicSubnetIds",
            )
        if "vpcId" not in raw or "privateSubnetIds" not in raw:
            raise parser.error(
                f"{key}.vpcId",
                "an existing VPC needs vpcId and privateSubnetIds",
                "allowed: vpcId: vpc-..., privateSubnetIds: [subnet-...] (2+), publicSubnetIds: [...]",
            )
        subnet_text = "subnet IDs such as subnet-0abc1234"

        def subnet(value: Any, item_key: str) -> str:
            return parser.string(value, item_key, SUBNET_ID_PATTERN, subnet_text)

        return ExistingVpcConfig(
            vpc_id=parser.string(raw["vpcId"], f"{key}.vpcId", VPC_ID_PATTERN, "a VPC ID such as vpc-0abc1234"),
            private_subnet_ids=parser.items(
                raw["privateSubnetIds"],
                f"{key}.privateSubnetIds",
                subnet,
                min_items=2,
                allowed=f"2 or more {subnet_text} in different AZs",
            ),
            public_subnet_ids=parser.items(
                raw.get("publicSubnetIds", []), f"{key}.publicSubnetIds", subnet, allowed=subnet_text
            ),
        )
    defaults = NewVpcConfig()
    cidr = parser.cidr(raw.get("cidr", defaults.cidr), f"{key}.cidr")
    prefix = ipaddress.IPv4Network(cidr).prefixlen
    if not 16 <= prefix <= 20:
        raise parser.error(
            f"{key}.cidr",
            f"/{prefix} is outside what a VPC with per-AZ subnets can use",
            "allowed: a prefix from /16 to /20",
        )
    zones = _parse_zones(parser, raw.get("availabilityZoneIds"), f"{key}.availabilityZoneIds", region)
    count = parser.integer(
        raw.get("availabilityZones", len(zones) or defaults.availability_zones),
        f"{key}.availabilityZones",
        minimum=2,
        maximum=6,
    )
    if zones and count != len(zones):
        raise parser.error(
            f"{key}.availabilityZones",
            f"{count} does not match the {len(zones)} zones in availabilityZoneIds",
            "allowed: leave availabilityZones out when availabilityZoneIds is set, or make them equal",
        )
    return NewVpcConfig(
        cidr=cidr,
        availability_zones=count,
        nat_gateways=parser.choice(
            raw.get("natGateways", defaults.nat_gateways), f"{key}.natGateways", NAT_GATEWAY_MODES
        ),
        zones=zones,
    )


# -- the configuration reference (docs/configuration.md is generated from this; see components.config) -------------

_NEW = NewVpcConfig()
NETWORK_SECTION = SectionDoc(
    path="gpu-eks:network",
    keys=NEW_VPC_KEYS + EXISTING_VPC_KEYS,
    intro="Either a VPC the stack creates (`cidr`, `availabilityZones`, `natGateways`, `availabilityZoneIds`) or one "
    "you bring (`vpcId`, `privateSubnetIds`, `publicSubnetIds`); the two groups do not mix. What a brought VPC must "
    "provide: [operations](operations.md#bringing-your-own-vpc).",
    docs={
        "cidr": KeyDoc(
            type="string (IPv4 CIDR)",
            default=f"`{_NEW.cidr}`",
            allowed="an IPv4 network with host bits zero, prefix /16 to /20",
            example="10.20.0.0/16",
            description="The new VPC's range, split into one block per zone: the private subnet takes half of a "
            "zone's block (a /19 in a /16 with 3 or 4 zones; pods get VPC addresses), the public subnet a quarter.",
        ),
        "availabilityZones": KeyDoc(
            type="integer",
            default=f"`{_NEW.availability_zones}` (or the number of `availabilityZoneIds`)",
            allowed="2 to 6; equal to the number of `availabilityZoneIds` when both are given",
            example="3",
            description="How many zones the new VPC spans (a public and a private subnet in each).",
        ),
        "natGateways": KeyDoc(
            type="string",
            default=f"`{_NEW.nat_gateways}`",
            allowed=" | ".join(f"`{mode}`" for mode in NAT_GATEWAY_MODES),
            example="one-per-az",
            description="One NAT gateway for the VPC (cheaper; a zone outage cuts egress) or one per zone.",
        ),
        "availabilityZoneIds": KeyDoc(
            type="mapping of zone name to zone ID",
            default="none; required in " + ", ".join(f"`{region}`" for region in EKS_UNSUPPORTED_ZONE_IDS),
            allowed="2 to 6 zone names of the stack's region mapped to zone IDs of that region, never "
            + ", ".join(f"`{zone}`" for zones in EKS_UNSUPPORTED_ZONE_IDS.values() for zone in zones)
            + " (EKS refuses cluster subnets there); sets the zone count",
            example="{us-east-1a: use1-az1, us-east-1b: use1-az2, us-east-1c: use1-az4}",
            description="Pins the zones by ID, without a lookup. Copy the map from `aws ec2 "
            "describe-availability-zones --region <region> --query 'AvailabilityZones[].[ZoneName,ZoneId]'` in the "
            "target account: which zone a name is differs per account.",
        ),
        "vpcId": KeyDoc(
            type="string",
            default="none (the stack creates a VPC)",
            allowed="`vpc-` and 8 to 17 hex digits; with `privateSubnetIds`",
            example="vpc-0abc1234def567890",
            description="Bring your own VPC instead of creating one; nothing network-related is then created.",
        ),
        "privateSubnetIds": KeyDoc(
            type="list of strings",
            default="required with `vpcId`",
            allowed="2 or more `subnet-…` IDs, in different zones",
            example="[subnet-0aaa1111, subnet-0bbb2222]",
            description="The subnets of the cluster, the controller node group and every Karpenter node.",
        ),
        "publicSubnetIds": KeyDoc(
            type="list of strings",
            default="`[]`",
            allowed="`subnet-…` IDs",
            example="[subnet-0ccc3333, subnet-0ddd4444]",
            description="Subnets for internet-facing load balancers, with `vpcId`.",
        ),
    },
)
