"""awsx.ec2.Vpc: the VPC, its internet gateway, and per zone and subnet spec a subnet, route table, association,
NAT gateway (with its Elastic IP) and default route, as pulumi-awsx's awsx/ec2/vpc.ts Vpc.initialize registers them.

One function per modelled resource or rule; each docstring names the upstream code it follows.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from typing import Any

from preflight.model.children.common import (
    GET_AVAILABILITY_ZONES,
    Child,
    ComponentRequest,
    Registrar,
    UnmodelledPath,
    drop_none,
)


def _new_bits(count: int) -> int:
    """subnetDistributorNew.ts newBits."""
    return 0 if count == 0 else math.ceil(math.log2(count))


def _next_block(network: ipaddress.IPv4Network, prefix: int | None = None) -> ipaddress.IPv4Network:
    """netmask's Netmask.next(): the next block of the same size (or of `prefix` from the same base)."""
    prefix = network.prefixlen if prefix is None else prefix
    return ipaddress.IPv4Network((int(network.network_address) + network.num_addresses, prefix))


def allocate_subnet_cidrs(
    vpc_cidr: str, zone_count: int, masks: list[int | None], az_cidr_mask: int | None = None
) -> list[list[str]]:
    """subnetDistributorNew.ts allocateSubnetCidrBlocks: per zone, each spec's CIDR in spec order.

    Each zone gets an equal block (VPC prefix + ceil(log2(zones)) bits unless availabilityZoneCidrMask is set);
    inside it the first spec starts at the block's base and every next one starts after the previous one ends,
    aligned to its own size (nextNetmask).
    """
    vpc = ipaddress.IPv4Network(vpc_cidr)
    az_bits = az_cidr_mask if az_cidr_mask is not None else vpc.prefixlen + _new_bits(zone_count)
    default_mask = az_bits + _new_bits(len(masks))
    az_size = 2 ** (32 - az_bits)
    total = sum(2 ** (32 - (mask or default_mask)) for mask in masks)
    if total > az_size:
        raise ValueError(
            f"Subnets are too large for VPC. VPC has {az_size} addresses, but subnets require {total} addresses."
        )
    zone_block = ipaddress.IPv4Network((vpc.network_address, az_bits))
    layout: list[list[str]] = []
    for _ in range(zone_count):
        current: ipaddress.IPv4Network | None = None
        cidrs = []
        for mask in masks:
            mask = mask or default_mask
            if current is None:
                current = ipaddress.IPv4Network((zone_block.network_address, mask), strict=False)
            else:
                current = _next_block(ipaddress.IPv4Network((current.broadcast_address, mask), strict=False))
            cidrs.append(str(current))
        layout.append(cidrs)
        zone_block = _next_block(zone_block)
    return layout


# subnetNaming.ts azRegionPrefix: "us-east-1a" -> "1a" under subnetNameTagStrategy AvailabilityZone.
_AZ_REGION_PREFIX = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-")


def _subnet_type_order(subnet_type: str) -> int:
    """vpc.ts compareSubnetSpecs: public first, then private, then isolated (stable within a type)."""
    return {"public": 0, "private": 1, "isolated": 2}.get(subnet_type.lower(), 3)


@dataclass(frozen=True)
class _Vpc:
    """What every per-zone resource needs: the component, the monitor, the VPC-wide children and tags."""

    request: ComponentRequest
    registrar: Registrar
    vpc: Child
    igw: Child
    shared_tags: dict[str, Any]  # {"Name": <vpc name>, **tags}: the VPC, gateway, subnets and route tables
    user_tags: dict[str, Any]  # the caller's tags alone: the Elastic IPs and NAT gateways
    nat_strategy: str


@dataclass(frozen=True)
class _SubnetPlan:
    """One subnet spec in one zone: where it goes and what subnetNaming.ts calls it."""

    zone_index: int
    zone: str
    spec: dict[str, Any]
    cidr: str
    resource_name: str  # the Pulumi name (and, with the Legacy name-tag strategy, the Name tag)
    name_tag: str

    @property
    def subnet_type(self) -> str:
        return str(self.spec["type"])

    @property
    def kind(self) -> str:
        return self.subnet_type.lower()


def model_vpc(request: ComponentRequest, registrar: Registrar) -> dict[str, Any]:
    """awsx.ec2.Vpc (awsx/ec2/vpc.ts Vpc.initialize): the VPC, per-zone subnets, route tables, NAT and routes."""
    args = request.inputs
    name = request.name
    _check_modelled_inputs(name, args)
    zones = _availability_zones(request, registrar)
    nat_strategy = _nat_strategy(name, args)
    specs = _subnet_specs(name, args, nat_strategy)
    cidr_block = args.get("cidrBlock", "10.0.0.0/16")
    layout = allocate_subnet_cidrs(
        cidr_block, len(zones), [spec.get("cidrMask") for spec in specs], args.get("availabilityZoneCidrMask")
    )

    user_tags = args.get("tags") or {}
    shared_tags = {"Name": name, **user_tags}
    vpc = _vpc(request, registrar, cidr_block, shared_tags)
    igw = _internet_gateway(registrar, name, vpc, shared_tags)
    built = _Vpc(request, registrar, vpc, igw, shared_tags, user_tags, nat_strategy)

    ids: dict[str, list[Any]] = {"public": [], "private": [], "isolated": []}
    nat_gateways: list[Child] = []
    for zone_index, zone in enumerate(zones):
        for plan in _zone_subnet_plans(name, args, zone_index, zone, specs, layout[zone_index]):
            subnet = _subnet_with_routing(built, plan, nat_gateways)
            ids[plan.kind if plan.kind in ids else "isolated"].append(subnet.id)
    return {
        "vpcId": vpc.id,
        "publicSubnetIds": ids["public"],
        "privateSubnetIds": ids["private"],
        "isolatedSubnetIds": ids["isolated"],
    }


# -- rules on the inputs --------------------------------------------------------------------------------------------


def _check_modelled_inputs(name: str, args: dict[str, Any]) -> None:
    """Paths of vpc.ts this model does not take (endpoints, IPAM, IPv6, a per-resource region, non-Auto subnet
    strategies) fail here; then vpc.ts's own check that the zones are given one way only."""
    for unsupported in ("vpcEndpointSpecs", "ipv4IpamPoolId", "assignGeneratedIpv6CidrBlock", "region"):
        if args.get(unsupported):
            raise UnmodelledPath(f"awsx:ec2:Vpc {name}: {unsupported} is not modelled")
    strategy = args.get("subnetStrategy", "Legacy")
    if strategy != "Auto":
        raise UnmodelledPath(f"awsx:ec2:Vpc {name}: subnetStrategy {strategy!r} is not modelled (only Auto)")
    if args.get("availabilityZoneNames") and args.get("numberOfAvailabilityZones"):
        raise ValueError("Only one of [availabilityZoneNames] and [numberOfAvailabilityZones] can be specified")


def _availability_zones(request: ComponentRequest, registrar: Registrar) -> list[str]:
    """vpc.ts: availabilityZoneNames as given, else getDefaultAzs (the first numberOfAvailabilityZones, default 3)."""
    args = request.inputs
    if args.get("availabilityZoneNames"):
        return list(args["availabilityZoneNames"])
    # getDefaultAzs: getAvailabilityZones() with no arguments, then the first N names.
    wanted = args.get("numberOfAvailabilityZones") or 3
    names = registrar.invoke(request.urn, GET_AVAILABILITY_ZONES, {})["names"]
    if len(names) < wanted:
        raise ValueError(
            f"The configured region for this provider does not have at least {wanted} Availability "
            f"Zones. Either specify an explicit list of zones in availabilityZoneNames or choose a "
            f"region with at least {wanted} AZs."
        )
    return list(names[:wanted])


def _nat_strategy(name: str, args: dict[str, Any]) -> str:
    """vpc.ts: natGateways.strategy, default OnePerAz; given Elastic IP allocations are not modelled."""
    nat_strategy = str((args.get("natGateways") or {}).get("strategy", "OnePerAz"))
    if (args.get("natGateways") or {}).get("elasticIpAllocationIds"):
        raise UnmodelledPath(f"awsx:ec2:Vpc {name}: elasticIpAllocationIds is not modelled")
    return nat_strategy


def _subnet_specs(name: str, args: dict[str, Any], nat_strategy: str) -> list[dict[str, Any]]:
    """vpc.ts decideAndValidateSubnetSpecs (default Private + Public) and validateNatGatewayStrategy."""
    specs: list[dict[str, Any]] = args.get("subnetSpecs") or [{"type": "Private"}, {"type": "Public"}]
    if any("cidrBlocks" in spec or "size" in spec for spec in specs):
        raise UnmodelledPath(f"awsx:ec2:Vpc {name}: explicit cidrBlocks/size subnet specs are not modelled")
    types = {spec["type"].lower() for spec in specs}
    if nat_strategy.lower() in ("single", "oneperaz") and not ("public" in types and types & {"private", "isolated"}):
        raise ValueError(
            "If NAT Gateway strategy is 'OnePerAz' or 'Single', public subnets must be declared to host "
            "the NAT Gateway resource, along with private or isolated subnets to route through it."
        )
    return specs


def _zone_subnet_plans(
    name: str, args: dict[str, Any], zone_index: int, zone: str, specs: list[dict[str, Any]], cidrs: list[str]
) -> list[_SubnetPlan]:
    """One zone's subnets in vpc.ts order (sorted by compareSubnetSpecs), named as subnetNaming.ts names them."""
    zone_specs = sorted(
        ((spec, cidrs[spec_index]) for spec_index, spec in enumerate(specs)),
        key=lambda pair: _subnet_type_order(pair[0]["type"]),
    )
    plans = []
    for spec, cidr in zone_specs:
        kind = spec["type"].lower()
        # subnetNaming.ts: "<vpc>-<spec name or type>-<zone number>" is the Pulumi name (and, with the
        # Legacy name-tag strategy, the Name tag).
        resource_name = f"{name}-{spec.get('name') or kind}-{zone_index + 1}"
        name_tag = resource_name
        if args.get("subnetNameTagStrategy") == "AvailabilityZone":
            name_tag = f"{name}-{spec.get('name') or kind}-{_AZ_REGION_PREFIX.sub('', zone)}"
        plans.append(_SubnetPlan(zone_index, zone, spec, cidr, resource_name, name_tag))
    return plans


def _should_create_nat(strategy: str, existing: int, zone_index: int) -> bool:
    """vpc.ts shouldCreateNatGateway."""
    strategy = strategy.lower()
    if strategy == "none":
        return False
    if strategy == "single":
        return existing < 1
    if strategy == "oneperaz":
        return existing < zone_index + 1
    raise ValueError(f'Unknown NatGatewayStrategy "{strategy}"')


# -- the VPC-wide resources -----------------------------------------------------------------------------------------


def _vpc(request: ComponentRequest, registrar: Registrar, cidr_block: str, shared_tags: dict[str, Any]) -> Child:
    """vpc.ts createInnerVpc: `new aws.ec2.Vpc(name, ...)`, a child of the component."""
    args = request.inputs
    return registrar.register(
        "aws:ec2/vpc:Vpc",
        request.name,
        drop_none(
            {
                "cidrBlock": cidr_block,
                "enableDnsHostnames": args.get("enableDnsHostnames"),
                "enableDnsSupport": args.get("enableDnsSupport"),
                "instanceTenancy": args.get("instanceTenancy"),
                "enableNetworkAddressUsageMetrics": args.get("enableNetworkAddressUsageMetrics"),
                "tags": shared_tags,
            }
        ),
        parent=request.urn,
        dependencies=request.deps("cidrBlock", "tags"),
    )


def _internet_gateway(registrar: Registrar, name: str, vpc: Child, shared_tags: dict[str, Any]) -> Child:
    """vpc.ts: `new aws.ec2.InternetGateway(name, ...)`, a child of the VPC."""
    # Created unconditionally: AWS does not charge for an internet gateway (comment in vpc.ts).
    return registrar.register(
        "aws:ec2/internetGateway:InternetGateway",
        name,
        {"vpcId": vpc.id, "tags": shared_tags},
        parent=vpc.urn,
        dependencies=[vpc.urn],
    )


# -- per zone and subnet spec ---------------------------------------------------------------------------------------


def _subnet_with_routing(built: _Vpc, plan: _SubnetPlan, nat_gateways: list[Child]) -> Child:
    """vpc.ts's loop body for one subnet: subnet, route table, association, the zone's NAT gateway, default route.

    `nat_gateways` collects the NAT gateways created so far (vpc.ts `natGateways`); private subnets route through
    the zone's one (OnePerAz) or the first (Single).
    """
    subnet = _subnet(built, plan)
    route_table = _route_table(built, plan, subnet)
    _route_table_association(built, plan, route_table, subnet)
    if plan.kind == "public" and _should_create_nat(built.nat_strategy, len(nat_gateways), plan.zone_index):
        nat_gateways.append(_nat_gateway(built, plan, subnet))
    if plan.kind == "public":
        _internet_route(built, plan, route_table)
    elif plan.kind == "private" and built.nat_strategy.lower() != "none":
        nat = nat_gateways[0] if built.nat_strategy.lower() == "single" else nat_gateways[plan.zone_index]
        _nat_route(built, plan, route_table, nat)
    return subnet


def _subnet(built: _Vpc, plan: _SubnetPlan) -> Child:
    """vpc.ts: `new aws.ec2.Subnet(<subnet name>, ...)`, a child of the VPC (public ones map public IPs)."""
    spec = plan.spec
    return built.registrar.register(
        "aws:ec2/subnet:Subnet",
        plan.resource_name,
        {
            "vpcId": built.vpc.id,
            "availabilityZone": plan.zone,
            "mapPublicIpOnLaunch": plan.kind == "public",
            "cidrBlock": plan.cidr,
            "assignIpv6AddressOnCreation": bool(spec.get("assignIpv6AddressOnCreation", False)),
            "tags": {
                **built.shared_tags,
                **(spec.get("tags") or {}),
                "Name": plan.name_tag,
                "SubnetType": plan.subnet_type,
            },
        },
        parent=built.vpc.urn,
        dependencies=[built.vpc.urn],
    )


def _route_table(built: _Vpc, plan: _SubnetPlan, subnet: Child) -> Child:
    """vpc.ts: `new aws.ec2.RouteTable(<subnet name>, ...)`, a child of its subnet."""
    return built.registrar.register(
        "aws:ec2/routeTable:RouteTable",
        plan.resource_name,
        {
            "vpcId": built.vpc.id,
            "tags": {**built.shared_tags, "Name": plan.name_tag, "SubnetType": plan.subnet_type},
        },
        parent=subnet.urn,
        dependencies=[subnet.urn, built.vpc.urn],
    )


def _route_table_association(built: _Vpc, plan: _SubnetPlan, route_table: Child, subnet: Child) -> Child:
    """vpc.ts: `new aws.ec2.RouteTableAssociation(<subnet name>, ...)`, a child of the route table."""
    return built.registrar.register(
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        plan.resource_name,
        {
            "routeTableId": route_table.id,
            "subnetId": subnet.id,
        },
        parent=route_table.urn,
        dependencies=[route_table.urn, subnet.urn],
    )


def _nat_gateway(built: _Vpc, plan: _SubnetPlan, subnet: Child) -> Child:
    """vpc.ts: `new aws.ec2.Eip(...)` then `new aws.ec2.NatGateway(...)`, both "<vpc>-<zone number>" and children
    of the public subnet (only when shouldCreateNatGateway says so)."""
    name = f"{built.request.name}-{plan.zone_index + 1}"
    eip = built.registrar.register(
        "aws:ec2/eip:Eip",
        name,
        {
            "tags": {**built.user_tags, "Name": name},
        },
        parent=subnet.urn,
        dependencies=[subnet.urn],
    )
    return built.registrar.register(
        "aws:ec2/natGateway:NatGateway",
        name,
        {
            "subnetId": subnet.id,
            "allocationId": eip.get("allocationId"),
            "tags": {**built.user_tags, "Name": name},
        },
        parent=subnet.urn,
        dependencies=[subnet.urn, eip.urn],
    )


def _internet_route(built: _Vpc, plan: _SubnetPlan, route_table: Child) -> Child:
    """vpc.ts: a public subnet's `new aws.ec2.Route(<subnet name>, ...)` 0.0.0.0/0 to the internet gateway."""
    return built.registrar.register(
        "aws:ec2/route:Route",
        plan.resource_name,
        {
            "routeTableId": route_table.id,
            "gatewayId": built.igw.id,
            "destinationCidrBlock": "0.0.0.0/0",
        },
        parent=route_table.urn,
        dependencies=[route_table.urn, built.igw.urn],
    )


def _nat_route(built: _Vpc, plan: _SubnetPlan, route_table: Child, nat: Child) -> Child:
    """vpc.ts: a private subnet's `new aws.ec2.Route(<subnet name>, ...)` 0.0.0.0/0 to its NAT gateway."""
    return built.registrar.register(
        "aws:ec2/route:Route",
        plan.resource_name,
        {
            "routeTableId": route_table.id,
            "natGatewayId": nat.id,
            "destinationCidrBlock": "0.0.0.0/0",
        },
        parent=route_table.urn,
        dependencies=[route_table.urn, nat.urn],
    )
