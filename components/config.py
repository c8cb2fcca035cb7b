"""Typed stack configuration: every `gpu-eks:*` key parsed into frozen dataclasses and validated.

All validation lives here and runs before any resource is registered, so a typo or an impossible
combination fails the preview with one clear line instead of a half-built graph:

    <stack>: gpu-eks:<key>: <problem>; <what is allowed>

`parse_config` is pure (plain dict in, `PlatformConfig` out) and is what the tests exercise; `load_config`
reads the same keys through `pulumi.Config` for the real program.
"""
from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence, TypeVar

import pulumi

from components import versions

T = TypeVar("T")

PROJECT = "gpu-eks"

# Every top-level key we read. Anything else under the `gpu-eks:` namespace is a typo.
TOP_LEVEL_KEYS = (
    "clusterName",
    "kubernetesVersion",
    "network",
    "endpoint",
    "clusterAdmins",
    "clusterLogTypes",
    "clusterLogRetentionDays",
    "clusterCreatorArn",
    "controllerNodeGroup",
    "tags",
    "karpenter",
    "nodePools",
    "gpuNodePools",
)

NODE_POOL_KEYS = ("name", "architectures", "instanceCategories", "cpus", "minGeneration", "capacityTypes", "maxCpu",
                  "maxMemoryGib", "disruption", "expireAfter", "terminationGracePeriod", "weight")
CLUSTER_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
NAT_GATEWAY_MODES = ("single", "one-per-az")
ARCHITECTURES = ("amd64", "arm64")
CAPACITY_TYPES = ("spot", "on-demand")
# General-purpose instance categories; GPU (g, p) and other accelerator families belong to gpuNodePools.
GENERAL_INSTANCE_CATEGORIES = ("c", "m", "r", "t", "i", "d", "x", "z")
CONSOLIDATION_POLICIES = ("WhenEmpty", "WhenEmptyOrUnderutilized", "Balanced")
DISRUPTION_REASONS = ("Underutilized", "Empty", "Drifted")
CONTROLLER_IDENTITIES = ("pod-identity", "irsa")
BALANCED_CONSOLIDATION_SINCE = "1.14.0"
KARPENTER_LOG_LEVELS = ("debug", "info", "error")

# Derived IAM role names ("<cluster>-karpenter-controller") must stay within IAM's 64 characters,
# which is tighter than EKS's own 100-character limit.
CLUSTER_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,38}[A-Za-z0-9]$")
DNS_LABEL_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# Karpenter's duration syntax (NodePool CRD pattern for consolidateAfter / expireAfter).
DURATION_PATTERN = re.compile(r"^(([0-9]+(s|m|h))+|Never)$")
# NodePool spec.template.spec.terminationGracePeriod (CRD pattern): a bound, so no `Never`.
TERMINATION_GRACE_PERIOD_PATTERN = re.compile(r"^([0-9]+(s|m|h))+$")
# How long Karpenter may wait for a node's drain (PDBs, karpenter.sh/do-not-disrupt) before it deletes the
# remaining pods. Deleting a NodePool deletes its NodeClaims, and pulumi-kubernetes waits at most 10 minutes
# (foreground delete) for the NodePool to go: 5 minutes of drain plus instance termination fits that wait, so
# `pulumi destroy` cannot hang on a PodDisruptionBudget. Unset, Karpenter waits for ever.
DEFAULT_TERMINATION_GRACE_PERIOD = "5m"
# Karpenter's chart runs 2 controller replicas with required hostname anti-affinity
# (charts/karpenter values.yaml: replicas 2, podAntiAffinity on kubernetes.io/hostname), so the controller
# node group needs 2 nodes or one replica stays Pending.
KARPENTER_REPLICAS = 2
BUDGET_NODES_PATTERN = re.compile(r"^((100|[0-9]{1,2})%|[0-9]+)$")
# NodePool CRD patterns of a budget's schedule (cron or @macro) and duration.
BUDGET_SCHEDULE_PATTERN = re.compile(r"^(@(annually|yearly|monthly|weekly|daily|midnight|hourly))$|^\S+\s\S+\s\S+\s\S+\s\S+$")
BUDGET_DURATION_PATTERN = re.compile(r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$")
MAX_BUDGETS = 50  # NodePool CRD maxItems
IAM_PRINCIPAL_ARN_PATTERN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:(role|user)/[\w+=,.@/-]+$")
# What `aws sts get-caller-identity` prints for a role session.
ASSUMED_ROLE_ARN_PATTERN = re.compile(r"^arn:aws(-cn|-us-gov)?:sts::\d{12}:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+$")
ZONE_ID_PATTERN = re.compile(r"^[a-z]{2,6}\d-az\d{1,2}$")
# Zone IDs where EKS refuses cluster subnets (UnsupportedAvailabilityZoneException), named in the EKS user guide's
# subnet requirements (network-reqs). Zone *names* map to zone IDs differently in every account.
EKS_UNSUPPORTED_ZONE_IDS = {"us-east-1": ("use1-az3",), "us-west-1": ("usw1-az2",), "ca-central-1": ("cac1-az3",)}
# The retention values CloudWatch Logs accepts (PutRetentionPolicy retentionInDays).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)
VPC_ID_PATTERN = re.compile(r"^vpc-[0-9a-f]{8,17}$")
SUBNET_ID_PATTERN = re.compile(r"^subnet-[0-9a-f]{8,17}$")
REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
TAG_KEY_PATTERN = re.compile(r"^[\w .:/=+\-@]{1,128}$")
# Instance types in `family.size` form, e.g. m7g.large, c6in.2xlarge.
INSTANCE_TYPE_PATTERN = re.compile(r"^([a-z][a-z0-9-]*?\d[a-z0-9-]*)\.([a-z0-9]+)$")
GRAVITON_FAMILY_PATTERN = re.compile(r"^[a-z]+\d+[a-z]*g[a-z]*$")
CONTROLLER_GPU_FAMILY_PATTERN = re.compile(r"^(g|p|inf|trn|dl)\d")


class ConfigError(pulumi.RunError):
    """A stack configuration problem. Subclasses `pulumi.RunError` so `pulumi up` prints it without a traceback."""

    def __init__(self, stack: str, key: str, problem: str, allowed: str):
        self.stack = stack
        self.key = key
        self.problem = problem
        self.allowed = allowed
        # Keys of other namespaces (aws:region) are named as they are; ours get the project prefix.
        qualified = key if ":" in key.split(".")[0] else f"{PROJECT}:{key}"
        super().__init__(f"{stack}: {qualified}: {problem}; {allowed}")


# --------------------------------------------------------------------------------------------------
# Dataclasses
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewVpcConfig:
    """A VPC this stack creates."""

    cidr: str = "10.0.0.0/16"
    availability_zones: int = 3
    nat_gateways: str = "single"
    # (zone name, zone ID) pairs the stack pinned; empty lets awsx take the region's first zones.
    zones: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ExistingVpcConfig:
    """A VPC the user brings; nothing network-related is created."""

    vpc_id: str
    private_subnet_ids: tuple[str, ...]
    public_subnet_ids: tuple[str, ...]


@dataclass(frozen=True)
class EndpointConfig:
    """Kubernetes API endpoint exposure. The private endpoint is always on."""

    public_access: bool = True
    # No default: EKS would open a public endpoint without CIDRs to 0.0.0.0/0, which the mandatory
    # eks-public-endpoint-restricted policy rejects, so the parser makes the stack choose (see _parse_endpoint).
    public_access_cidrs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ControllerNodeGroupConfig:
    """The small managed node group that runs Karpenter and cluster-critical add-ons."""

    instance_types: tuple[str, ...] = ("m7g.large",)
    min_size: int = KARPENTER_REPLICAS
    desired_size: int = KARPENTER_REPLICAS
    max_size: int = 3
    disk_size_gib: int = 50
    architecture: str = "arm64"


@dataclass(frozen=True)
class KarpenterConfig:
    """The Karpenter installation."""

    version: str = versions.DEFAULT_KARPENTER_VERSION
    identity: str = "pod-identity"
    feature_gates: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({"nodeOverlay": True}))
    create_spot_service_linked_role: bool = False
    log_level: str = "info"

    def gate(self, name: str) -> bool:
        """Whether a feature gate is on (gates not set keep the chart default, off)."""
        return bool(self.feature_gates.get(name, False))


@dataclass(frozen=True)
class DisruptionBudgetConfig:
    """One NodePool disruption budget."""

    nodes: str = "10%"
    schedule: str | None = None
    duration: str | None = None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class DisruptionConfig:
    """How Karpenter may remove or replace a pool's nodes."""

    consolidation_policy: str = "WhenEmptyOrUnderutilized"
    consolidate_after: str = "1m"
    budgets: tuple[DisruptionBudgetConfig, ...] = (DisruptionBudgetConfig(),)


@dataclass(frozen=True)
class NodePoolConfig:
    """A general-purpose (CPU) Karpenter NodePool."""

    name: str
    architectures: tuple[str, ...]
    instance_categories: tuple[str, ...] = ("c", "m", "r")
    cpus: tuple[int, ...] = ()
    min_generation: int | None = None
    capacity_types: tuple[str, ...] = ("spot", "on-demand")
    max_cpu: int = 200
    max_memory_gib: int | None = None
    disruption: DisruptionConfig = DisruptionConfig()
    expire_after: str = "720h"
    termination_grace_period: str = DEFAULT_TERMINATION_GRACE_PERIOD
    weight: int | None = None


DEFAULT_NODE_POOLS = (
    # Modelled on the seed (EKS + Karpenter + Graviton): small x86 nodes of generation 7+, Graviton 7+.
    NodePoolConfig(name="general-amd64", architectures=("amd64",), cpus=(2, 4), min_generation=7),
    NodePoolConfig(name="general-arm64", architectures=("arm64",), min_generation=7),
)


@dataclass(frozen=True)
class PlatformConfig:
    """Everything one stack asks for."""

    project: str
    stack: str
    region: str
    cluster_name: str
    kubernetes_version: str
    network: NewVpcConfig | ExistingVpcConfig
    endpoint: EndpointConfig
    cluster_admins: tuple[str, ...]
    cluster_log_types: tuple[str, ...]
    controller_node_group: ControllerNodeGroupConfig
    tags: Mapping[str, str]
    karpenter: KarpenterConfig
    node_pools: tuple[NodePoolConfig, ...]
    gpu_node_pools: tuple[Any, ...] = ()
    cluster_log_retention_days: int = 90
    cluster_creator_arn: str | None = None


# --------------------------------------------------------------------------------------------------
# Parsing helpers. Each takes the dotted key path so errors name exactly what to fix.
# --------------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, stack: str):
        self.stack = stack

    def error(self, key: str, problem: str, allowed: str) -> ConfigError:
        return ConfigError(self.stack, key, problem, allowed)

    def mapping(self, value: Any, key: str, allowed_keys: Sequence[str]) -> Mapping[str, Any]:
        """A mapping with no keys outside `allowed_keys` (a typo must never pass silently)."""
        if not isinstance(value, Mapping):
            raise self.error(key, f"expected a mapping, got {_describe(value)}",
                             f"allowed: a mapping with keys {', '.join(allowed_keys)}")
        # YAML may hand us non-string keys (1, true); sorting by text keeps the first unknown key deterministic.
        unknown = sorted((k for k in value if k not in allowed_keys), key=str)
        if unknown:
            raise self.error(
                f"{key}.{unknown[0]}" if key else str(unknown[0]),
                f"unknown key {unknown[0]!r}{did_you_mean(unknown[0], allowed_keys)}",
                f"allowed keys under {key or PROJECT}: {', '.join(allowed_keys)}",
            )
        return value

    def boolean(self, value: Any, key: str) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise self.error(key, f"expected true or false, got {_describe(value)}", "allowed: true | false")

    def integer(self, value: Any, key: str, minimum: int | None = None, maximum: int | None = None) -> int:
        bounds = _bounds_text(minimum, maximum)
        if isinstance(value, bool) or not isinstance(value, (int, str, float)):
            raise self.error(key, f"expected an integer, got {_describe(value)}", f"allowed: an integer{bounds}")
        try:
            number = int(value) if not isinstance(value, float) or value.is_integer() else None
        except ValueError:
            number = None
        if number is None:
            raise self.error(key, f"expected an integer, got {value!r}", f"allowed: an integer{bounds}")
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise self.error(key, f"{number} is out of range", f"allowed: an integer{bounds}")
        return number

    def string(self, value: Any, key: str, pattern: re.Pattern[str] | None = None, allowed: str = "a string") -> str:
        if not isinstance(value, str) or not value:
            raise self.error(key, f"expected a non-empty string, got {_describe(value)}", f"allowed: {allowed}")
        if pattern is not None and not pattern.match(value):
            raise self.error(key, f"{value!r} is not valid", f"allowed: {allowed}")
        return value

    def text(self, value: Any, key: str, pattern: re.Pattern[str], allowed: str) -> str:
        """A string that YAML may have typed as an integer (`nodes: 1`, `version: 1`); lists, maps, bools,
        floats and null are type errors rather than their Python str() (`'[1]' is not valid`)."""
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return self.string(value, key, pattern, allowed)

    def choice(self, value: Any, key: str, choices: Sequence[str]) -> str:
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {_describe(value)}", f"allowed: {' | '.join(choices)}")
        if value not in choices:
            raise self.error(key, f"{value!r} is not supported{did_you_mean(value, choices)}",
                             f"allowed: {' | '.join(choices)}")
        return value

    def items(self, value: Any, key: str, parse_item: Callable[[Any, str], T], *, min_items: int = 0,
              unique: bool = True, allowed: str = "a list") -> tuple[T, ...]:
        if not isinstance(value, (list, tuple)):
            raise self.error(key, f"expected a list, got {_describe(value)}", f"allowed: {allowed}")
        if len(value) < min_items:
            raise self.error(key, f"needs at least {min_items} item(s), got {len(value)}", f"allowed: {allowed}")
        parsed = tuple(parse_item(item, f"{key}[{index}]") for index, item in enumerate(value))
        if unique:
            seen: set[Any] = set()
            for index, item in enumerate(parsed):
                if item in seen:
                    raise self.error(f"{key}[{index}]", f"duplicate value {item!r}", "each value may appear once")
                seen.add(item)
        return parsed


def did_you_mean(value: Any, allowed: Sequence[str]) -> str:
    """` (did you mean 'maxGpus'?)` for the closest allowed name, compared case-insensitively, or ''."""
    if not isinstance(value, str) or not allowed:
        return ""
    by_lower = {name.lower(): name for name in allowed}
    close = difflib.get_close_matches(value.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""


def item_key(key: str, name: str) -> str:
    """`gpuNodePools[2] (training)`: a list item named by its index and its name, so the user finds it."""
    return f"{key} ({name})"


def named_item_key(key: str, raw: Any) -> str:
    """item_key for a raw pool whose name is usable (so an unknown key is reported with it), else `key`."""
    name = raw.get("name") if isinstance(raw, Mapping) else None
    return item_key(key, name) if isinstance(name, str) and DNS_LABEL_PATTERN.match(name) else key


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _bounds_text(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum} to {maximum}"
    if minimum is not None:
        return f" >= {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""


def _cidr(parser: _Parser, value: Any, key: str) -> str:
    text = parser.string(value, key, allowed="an IPv4 CIDR such as 10.0.0.0/16")
    try:
        network = ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        raise parser.error(key, f"{text!r} is not an IPv4 network ({exc})", "allowed: an IPv4 CIDR such as 10.0.0.0/16") from None
    return str(network)


# --------------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------------


def _parse_zones(parser: _Parser, raw: Any, key: str, region: str) -> tuple[tuple[str, str], ...]:
    """`network.availabilityZoneIds`: zone name -> zone ID, so the program picks zones by ID without an invoke.

    Required where the region has a zone EKS refuses: awsx takes the first N zone *names*, and which zone ID a
    name is differs per account, so only the pinned IDs can be checked.
    """
    refused = EKS_UNSUPPORTED_ZONE_IDS.get(region, ())
    every_refused = sorted(zone for zones in EKS_UNSUPPORTED_ZONE_IDS.values() for zone in zones)
    how = (f"a map of 2 to 6 zone names to zone IDs as `aws ec2 describe-availability-zones --region {region} "
           "--query 'AvailabilityZones[].[ZoneName,ZoneId]'` prints them")
    if raw is None:
        if refused:
            raise parser.error(key, f"is required in {region}: EKS refuses cluster subnets in zone "
                               f"{', '.join(refused)}, and the region's first zone names may be that zone "
                               "in this account",
                               f"allowed: {how}, without {', '.join(refused)}")
        return ()
    if not isinstance(raw, Mapping):
        raise parser.error(key, f"expected a mapping, got {_describe(raw)}", f"allowed: {how}")
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
            raise parser.error(zone_key, f"{zone_id} is a zone where EKS refuses cluster subnets "
                               "(UnsupportedAvailabilityZoneException)",
                               f"allowed: another zone of {region}; EKS refuses {', '.join(every_refused)}")
        if zone_id in {existing for _, existing in zones}:
            raise parser.error(zone_key, f"duplicate zone ID {zone_id}", "each zone ID may appear once")
        zones.append((name, zone_id))
    prefixes = sorted({zone_id.rsplit("-az", 1)[0] for _, zone_id in zones})
    if len(prefixes) > 1:
        raise parser.error(key, f"mixes zone IDs of several regions ({', '.join(prefixes)})",
                           f"allowed: zone IDs of {region} only")
    return tuple(zones)


def _parse_network(parser: _Parser, raw: Any, region: str) -> NewVpcConfig | ExistingVpcConfig:
    key = "network"
    new_keys = ("cidr", "availabilityZones", "natGateways", "availabilityZoneIds")
    existing_keys = ("vpcId", "privateSubnetIds", "publicSubnetIds")
    raw = parser.mapping({} if raw is None else raw, key, new_keys + existing_keys)
    if any(k in raw for k in existing_keys):
        mixed = [k for k in new_keys if k in raw]
        if mixed:
            raise parser.error(f"{key}.{mixed[0]}", "cannot be combined with vpcId (bring-your-own VPC)",
                               "either cidr/availabilityZones/natGateways or vpcId/privateSubnetIds/publicSubnetIds")
        if "vpcId" not in raw or "privateSubnetIds" not in raw:
            raise parser.error(f"{key}.vpcId", "an existing VPC needs vpcId and privateSubnetIds",
                               "allowed: vpcId: vpc-..., privateSubnetIds: [subnet-...] (2+), publicSubnetIds: [...]")
        subnet_text = "subnet IDs such as subnet-0abc1234"

        def subnet(value: Any, item_key: str) -> str:
            return parser.string(value, item_key, SUBNET_ID_PATTERN, subnet_text)

        return ExistingVpcConfig(
            vpc_id=parser.string(raw["vpcId"], f"{key}.vpcId", VPC_ID_PATTERN, "a VPC ID such as vpc-0abc1234"),
            private_subnet_ids=parser.items(raw["privateSubnetIds"], f"{key}.privateSubnetIds", subnet,
                                            min_items=2, allowed=f"2 or more {subnet_text} in different AZs"),
            public_subnet_ids=parser.items(raw.get("publicSubnetIds", []), f"{key}.publicSubnetIds", subnet,
                                           allowed=subnet_text),
        )
    defaults = NewVpcConfig()
    cidr = _cidr(parser, raw.get("cidr", defaults.cidr), f"{key}.cidr")
    prefix = ipaddress.IPv4Network(cidr).prefixlen
    if not 16 <= prefix <= 20:
        raise parser.error(f"{key}.cidr", f"/{prefix} is outside what a VPC with per-AZ subnets can use",
                           "allowed: a prefix from /16 to /20")
    zones = _parse_zones(parser, raw.get("availabilityZoneIds"), f"{key}.availabilityZoneIds", region)
    count = parser.integer(raw.get("availabilityZones", len(zones) or defaults.availability_zones),
                           f"{key}.availabilityZones", minimum=2, maximum=6)
    if zones and count != len(zones):
        raise parser.error(f"{key}.availabilityZones",
                           f"{count} does not match the {len(zones)} zones in availabilityZoneIds",
                           "allowed: leave availabilityZones out when availabilityZoneIds is set, or make them equal")
    return NewVpcConfig(
        cidr=cidr,
        availability_zones=count,
        nat_gateways=parser.choice(raw.get("natGateways", defaults.nat_gateways), f"{key}.natGateways",
                                   NAT_GATEWAY_MODES),
        zones=zones,
    )


def _parse_endpoint(parser: _Parser, raw: Any) -> EndpointConfig:
    key = "endpoint"
    raw = parser.mapping({} if raw is None else raw, key, ("publicAccess", "publicAccessCidrs"))
    defaults = EndpointConfig()
    public = parser.boolean(raw.get("publicAccess", defaults.public_access), f"{key}.publicAccess")
    cidrs = parser.items(raw.get("publicAccessCidrs", list(defaults.public_access_cidrs)), f"{key}.publicAccessCidrs",
                         lambda v, k: _cidr(parser, v, k), allowed="a list of IPv4 CIDRs")
    # Absent CIDRs on a public endpoint are reported by check_endpoint_decision once everything else is
    # valid; an explicitly empty list is a mistake in this block, reported here.
    if public and not cidrs and "publicAccessCidrs" in raw:
        raise parser.error(f"{key}.publicAccessCidrs", "is empty while publicAccess is true",
                           "allowed: at least one CIDR, or publicAccess: false")
    if not public and "publicAccessCidrs" in raw:
        raise parser.error(f"{key}.publicAccessCidrs", "is set while publicAccess is false",
                           "allowed: remove it, or set publicAccess: true")
    return EndpointConfig(public_access=public, public_access_cidrs=cidrs if public else ())


def check_endpoint_decision(parser: _Parser, endpoint: EndpointConfig) -> None:
    """Who may reach the Kubernetes API is a decision the stack must make; there is no safe default.

    Without publicAccessCidrs EKS opens the public endpoint to 0.0.0.0/0, which the mandatory
    eks-public-endpoint-restricted policy rejects, and a private-only default would pass the policy but leave
    `pulumi up` outside the VPC unable to install the Helm releases. So the stack says which it is.
    """
    if endpoint.public_access and not endpoint.public_access_cidrs:
        raise parser.error("endpoint.publicAccessCidrs",
                           "is not set, and without it EKS opens the public API endpoint to 0.0.0.0/0, which the "
                           "policy pack (eks-public-endpoint-restricted) rejects",
                           "allowed: the CIDRs that pulumi up and kubectl connect from, including the deploy "
                           "runner's egress IP (e.g. [198.51.100.7/32]), or endpoint.publicAccess: false when "
                           "pulumi up runs inside the VPC")


def _parse_controller_node_group(parser: _Parser, raw: Any) -> ControllerNodeGroupConfig:
    key = "controllerNodeGroup"
    raw = parser.mapping({} if raw is None else raw, key,
                         ("instanceTypes", "minSize", "desiredSize", "maxSize", "diskSize"))
    defaults = ControllerNodeGroupConfig()
    types = parser.items(raw.get("instanceTypes", list(defaults.instance_types)), f"{key}.instanceTypes",
                         lambda v, k: parser.string(v, k, INSTANCE_TYPE_PATTERN, "an EC2 instance type such as m7g.large"),
                         min_items=1, allowed="one or more EC2 instance types of one CPU architecture")
    architectures = set()
    for index, instance_type in enumerate(types):
        family = INSTANCE_TYPE_PATTERN.match(instance_type).group(1)  # validated by parser.items above
        if CONTROLLER_GPU_FAMILY_PATTERN.match(family):
            raise parser.error(f"{key}.instanceTypes[{index}]", f"{instance_type} is an accelerated instance type",
                               "allowed: general-purpose types (GPU capacity comes from gpuNodePools)")
        architectures.add("arm64" if GRAVITON_FAMILY_PATTERN.match(family) else "amd64")
    if len(architectures) > 1:
        raise parser.error(f"{key}.instanceTypes", "mixes Graviton (arm64) and x86 (amd64) types",
                           "allowed: types of one architecture, because one AMI type serves the group")
    min_size = parser.integer(raw.get("minSize", defaults.min_size), f"{key}.minSize", minimum=1, maximum=100)
    desired = parser.integer(raw.get("desiredSize", max(defaults.desired_size, min_size)), f"{key}.desiredSize",
                             minimum=1, maximum=100)
    max_size = parser.integer(raw.get("maxSize", max(defaults.max_size, desired)), f"{key}.maxSize",
                              minimum=1, maximum=100)
    # Rejected rather than shrinking Karpenter to one replica: the group is tiny and two replicas keep
    # provisioning alive while a controller node is replaced (AMI update, AZ event). minSize counts too,
    # because the group may legally be scaled down to it.
    for size_key, size in (("minSize", min_size), ("desiredSize", desired)):
        if size < KARPENTER_REPLICAS:
            raise parser.error(f"{key}.{size_key}", f"{size} node(s) cannot hold Karpenter's {KARPENTER_REPLICAS} "
                               "replicas, which must run on different nodes (hostname anti-affinity), so one "
                               "would stay Pending", f"allowed: {KARPENTER_REPLICAS} or more")
    if not min_size <= desired <= max_size:
        raise parser.error(f"{key}.desiredSize", f"minSize {min_size} <= desiredSize {desired} <= maxSize {max_size} "
                           "does not hold", "allowed: minSize <= desiredSize <= maxSize")
    return ControllerNodeGroupConfig(
        instance_types=types,
        min_size=min_size,
        desired_size=desired,
        max_size=max_size,
        disk_size_gib=parser.integer(raw.get("diskSize", defaults.disk_size_gib), f"{key}.diskSize",
                                     minimum=20, maximum=1000),
        architecture=architectures.pop(),
    )


def _parse_tags(parser: _Parser, raw: Any) -> Mapping[str, str]:
    key = "tags"
    if raw is None:
        return MappingProxyType({})
    if not isinstance(raw, Mapping):
        raise parser.error(key, f"expected a mapping, got {_describe(raw)}", "allowed: a map of AWS tag keys to strings")
    tags = {}
    for tag_key, value in sorted(raw.items()):
        if not isinstance(tag_key, str) or not TAG_KEY_PATTERN.match(tag_key) or tag_key.lower().startswith("aws:"):
            raise parser.error(f"{key}.{tag_key}", "is not a valid tag key",
                               "allowed: 1-128 characters of letters, digits, spaces and _.:/=+-@, not starting aws:")
        if not isinstance(value, (str, int, float)) or isinstance(value, bool) or len(str(value)) > 256:
            raise parser.error(f"{key}.{tag_key}", f"tag value {_describe(value)} is not a string",
                               "allowed: a string of up to 256 characters")
        tags[tag_key] = str(value)
    return MappingProxyType(tags)


def _parse_karpenter(parser: _Parser, raw: Any, kubernetes_version: str) -> KarpenterConfig:
    key = "karpenter"
    raw = parser.mapping({} if raw is None else raw, key,
                         ("version", "identity", "featureGates", "createSpotServiceLinkedRole", "logLevel"))
    defaults = KarpenterConfig()
    version = parser.text(raw.get("version", defaults.version), f"{key}.version",
                          re.compile(r"^\d+\.\d+\.\d+$"), "a release such as 1.14.1 (no v prefix)")
    parsed = versions.parse_semver(version)
    oldest = versions.OLDEST_SUPPORTED_KARPENTER_VERSION
    newest = versions.NEWEST_VALIDATED_KARPENTER_VERSION
    if not versions.parse_semver(oldest) <= parsed <= versions.parse_semver(newest):
        raise parser.error(f"{key}.version", f"Karpenter {version} is outside the validated range",
                           f"allowed: {oldest} to {newest} (newer releases need their CRDs validated first)")
    needed = versions.KARPENTER_MIN_VERSION_FOR_KUBERNETES[kubernetes_version]
    if parsed < versions.parse_semver(needed):
        raise parser.error(f"{key}.version", f"Karpenter {version} does not support Kubernetes {kubernetes_version}",
                           f"allowed: Karpenter {needed} or newer for Kubernetes {kubernetes_version} "
                           "(Karpenter compatibility matrix)")
    gates_raw = parser.mapping({} if raw.get("featureGates") is None else raw["featureGates"],
                               f"{key}.featureGates", tuple(versions.KARPENTER_FEATURE_GATES))
    # The map merges over the defaults, so turning one gate on never silently drops nodeOverlay. A default
    # gate the chosen version lacks is left out (it is our default, not the user's request); a gate the user
    # sets on a version without it is an error.
    gates = {gate: enabled for gate, enabled in defaults.feature_gates.items()
             if parsed >= versions.parse_semver(versions.KARPENTER_FEATURE_GATES[gate])}
    for gate, value in sorted(gates_raw.items()):
        enabled = parser.boolean(value, f"{key}.featureGates.{gate}")
        first = versions.KARPENTER_FEATURE_GATES[gate]
        if enabled and parsed < versions.parse_semver(first):
            raise parser.error(f"{key}.featureGates.{gate}", f"Karpenter {version} has no {gate} feature gate",
                               f"allowed: Karpenter {first} or newer, or {gate}: false")
        gates[gate] = enabled
    return KarpenterConfig(
        version=version,
        identity=parser.choice(raw.get("identity", defaults.identity), f"{key}.identity", CONTROLLER_IDENTITIES),
        feature_gates=MappingProxyType(gates),
        create_spot_service_linked_role=parser.boolean(
            raw.get("createSpotServiceLinkedRole", defaults.create_spot_service_linked_role),
            f"{key}.createSpotServiceLinkedRole"),
        log_level=parser.choice(raw.get("logLevel", defaults.log_level), f"{key}.logLevel", KARPENTER_LOG_LEVELS),
    )


def parse_disruption(parser: _Parser, raw: Any, key: str, defaults: DisruptionConfig) -> DisruptionConfig:
    """Parse a NodePool `disruption` block (shared by general and GPU pools)."""
    raw = parser.mapping({} if raw is None else raw, key, ("consolidationPolicy", "consolidateAfter", "budgets"))
    duration_text = "a duration such as 30s, 5m, 1h30m, or Never"

    def budget(value: Any, item_key: str) -> DisruptionBudgetConfig:
        value = parser.mapping(value, item_key, ("nodes", "schedule", "duration", "reasons"))
        nodes = parser.text(value.get("nodes", "10%"), f"{item_key}.nodes", BUDGET_NODES_PATTERN,
                            "a node count such as 1 or a percentage such as 10%")
        schedule = value.get("schedule")
        duration = value.get("duration")
        if (schedule is None) != (duration is None):
            raise parser.error(f"{item_key}.schedule", "schedule and duration must be set together",
                               "allowed: both (a cron schedule and a duration such as 8h) or neither")
        if schedule is not None:
            schedule = parser.string(schedule, f"{item_key}.schedule", BUDGET_SCHEDULE_PATTERN,
                                     "a 5-field cron expression such as '0 9 * * mon-fri', or @daily, @weekly, ...")
            duration = parser.text(duration, f"{item_key}.duration", BUDGET_DURATION_PATTERN,
                                   "a duration in hours and/or minutes such as 8h or 1h30m")
        reasons = parser.items(value.get("reasons", []), f"{item_key}.reasons",
                               lambda v, k: parser.choice(v, k, DISRUPTION_REASONS),
                               allowed=" | ".join(DISRUPTION_REASONS))
        return DisruptionBudgetConfig(nodes=nodes, schedule=schedule, duration=duration, reasons=reasons)

    return DisruptionConfig(
        consolidation_policy=parser.choice(raw.get("consolidationPolicy", defaults.consolidation_policy),
                                           f"{key}.consolidationPolicy", CONSOLIDATION_POLICIES),
        consolidate_after=parser.text(raw.get("consolidateAfter", defaults.consolidate_after),
                                      f"{key}.consolidateAfter", DURATION_PATTERN, duration_text),
        budgets=_budgets(parser, raw["budgets"], f"{key}.budgets", budget) if "budgets" in raw else defaults.budgets,
    )


def _budgets(parser: _Parser, raw: Any, key: str, budget: Callable[[Any, str], DisruptionBudgetConfig]
             ) -> tuple[DisruptionBudgetConfig, ...]:
    budgets = parser.items(raw, key, budget, unique=False, min_items=1, allowed=f"1 to {MAX_BUDGETS} budgets")
    if len(budgets) > MAX_BUDGETS:
        raise parser.error(key, f"has {len(budgets)} budgets", f"allowed: 1 to {MAX_BUDGETS} budgets")
    return budgets


def _parse_node_pool(parser: _Parser, raw: Any, key: str) -> NodePoolConfig:
    raw = parser.mapping(raw, named_item_key(key, raw), NODE_POOL_KEYS)
    if "name" not in raw:
        raise parser.error(f"{key}.name", "is missing", "allowed: a DNS-1123 label such as general-amd64")
    name = parser.string(raw["name"], f"{key}.name", DNS_LABEL_PATTERN,
                         "a DNS-1123 label (lowercase letters, digits, '-'; at most 63 characters)")
    key = item_key(key, name)  # from here on errors read nodePools[0] (general-amd64).<field>
    defaults = NodePoolConfig(name=name, architectures=("amd64",))
    cpus = parser.items(raw.get("cpus", []), f"{key}.cpus",
                        lambda v, k: parser.integer(v, k, minimum=1, maximum=448), allowed="vCPU counts such as [2, 4]")
    return NodePoolConfig(
        name=name,
        architectures=parser.items(raw.get("architectures", list(defaults.architectures)), f"{key}.architectures",
                                   lambda v, k: parser.choice(v, k, ARCHITECTURES), min_items=1,
                                   allowed=" and/or ".join(ARCHITECTURES)),
        instance_categories=parser.items(raw.get("instanceCategories", list(defaults.instance_categories)),
                                         f"{key}.instanceCategories",
                                         lambda v, k: parser.choice(v, k, GENERAL_INSTANCE_CATEGORIES), min_items=1,
                                         allowed=" | ".join(GENERAL_INSTANCE_CATEGORIES)),
        cpus=cpus,
        min_generation=(parser.integer(raw["minGeneration"], f"{key}.minGeneration", minimum=1, maximum=20)
                        if "minGeneration" in raw else None),
        capacity_types=parser.items(raw.get("capacityTypes", list(defaults.capacity_types)), f"{key}.capacityTypes",
                                    lambda v, k: parser.choice(v, k, CAPACITY_TYPES), min_items=1,
                                    allowed=" and/or ".join(CAPACITY_TYPES)),
        max_cpu=parser.integer(raw.get("maxCpu", defaults.max_cpu), f"{key}.maxCpu", minimum=1),
        max_memory_gib=(parser.integer(raw["maxMemoryGib"], f"{key}.maxMemoryGib", minimum=1)
                        if "maxMemoryGib" in raw else None),
        disruption=parse_disruption(parser, raw.get("disruption"), f"{key}.disruption", defaults.disruption),
        expire_after=parser.text(raw.get("expireAfter", defaults.expire_after), f"{key}.expireAfter",
                                 DURATION_PATTERN, "a duration such as 720h, or Never"),
        termination_grace_period=parse_termination_grace_period(parser, raw, key),
        weight=parser.integer(raw["weight"], f"{key}.weight", minimum=1, maximum=100) if "weight" in raw else None,
    )


def parse_termination_grace_period(parser: _Parser, raw: Mapping[str, Any], key: str) -> str:
    """A pool's `terminationGracePeriod` (shared by general and GPU pools): always a bound, never unset."""
    return parser.text(raw.get("terminationGracePeriod", DEFAULT_TERMINATION_GRACE_PERIOD),
                       f"{key}.terminationGracePeriod", TERMINATION_GRACE_PERIOD_PATTERN,
                       "a duration such as 5m, 1h or 1h30m (no Never: an unbounded drain can block pulumi destroy)")


def _parse_node_pools(parser: _Parser, raw: Any) -> tuple[NodePoolConfig, ...]:
    if raw is None:
        return DEFAULT_NODE_POOLS
    pools = parser.items(raw, "nodePools", lambda v, k: _parse_node_pool(parser, v, k), unique=False,
                         allowed="a list of NodePool definitions (may be empty)")
    check_unique_names(parser, [("nodePools", pool.name) for pool in pools])
    return pools


def pool_key(list_key: str, index: int, name: str) -> str:
    """`nodePools[1] (general-arm64)`: how errors name a pool after parsing."""
    return item_key(f"{list_key}[{index}]", name)


def _parse_log_retention(parser: _Parser, raw: Any) -> int:
    """Days CloudWatch keeps the control-plane log group (/aws/eks/<cluster>/cluster) that the program creates."""
    key = "clusterLogRetentionDays"
    allowed = f"allowed: one of {', '.join(str(days) for days in LOG_RETENTION_DAYS)} (CloudWatch Logs retention)"
    days = parser.integer(90 if raw is None else raw, key, minimum=LOG_RETENTION_DAYS[0],
                          maximum=LOG_RETENTION_DAYS[-1])
    if days not in LOG_RETENTION_DAYS:
        raise parser.error(key, f"{days} is not a CloudWatch Logs retention", allowed)
    return days


def principal_identity(arn: str) -> tuple[str, str, str, str]:
    """(partition, account, role|user, name) of an IAM principal, an assumed-role session resolving to its role.

    IAM names are unique per account whatever the path, and EKS keys access entries on the principal, so
    `role/path/admin`, `role/admin` and `assumed-role/admin/session` are one principal.
    """
    _, partition, _, _, account, resource = arn.split(":", 5)
    kind, _, rest = resource.partition("/")
    if kind == "assumed-role":
        return partition, account, "role", rest.split("/")[0]
    return partition, account, kind, rest.rsplit("/", 1)[-1]


def _parse_cluster_creator(parser: _Parser, raw: Any, admins: Sequence[str]) -> str | None:
    """`clusterCreatorArn`: who runs the first `pulumi up`. EKS makes that principal a cluster admin itself.

    pulumi-eks always creates the cluster with bootstrapClusterCreatorAdminPermissions (pulumi/pulumi-eks#2373),
    so an access entry of our own for the same principal fails with 409 ResourceInUseException.
    """
    key = "clusterCreatorArn"
    if raw is None:
        return None
    allowed = ("allowed: the IAM role or user ARN that creates the cluster, or the assumed-role ARN "
               "`aws sts get-caller-identity` prints for it")
    if not isinstance(raw, str) or not (IAM_PRINCIPAL_ARN_PATTERN.match(raw) or ASSUMED_ROLE_ARN_PATTERN.match(raw)):
        raise parser.error(key, f"{raw!r} is not an IAM principal ARN", allowed)
    creator = principal_identity(raw)
    for index, arn in enumerate(admins):
        if principal_identity(arn) == creator:
            raise parser.error(f"clusterAdmins[{index}]", f"{arn} is the cluster creator (clusterCreatorArn), whom EKS "
                               "already makes a cluster admin; a second access entry for it fails with 409",
                               "allowed: remove it from clusterAdmins (pulumi-eks cannot turn the creator's entry off, "
                               "pulumi/pulumi-eks#2373)")
    return raw


def check_consolidation_policy(parser: _Parser, disruption: DisruptionConfig, key: str,
                               karpenter: KarpenterConfig) -> None:
    """`Balanced` consolidation arrived in Karpenter 1.14.0; older releases reject the NodePool."""
    if disruption.consolidation_policy == "Balanced" and \
            versions.parse_semver(karpenter.version) < versions.parse_semver(BALANCED_CONSOLIDATION_SINCE):
        raise parser.error(f"{key}.consolidationPolicy", f"Balanced needs Karpenter {BALANCED_CONSOLIDATION_SINCE} "
                           f"or newer, this stack runs {karpenter.version}",
                           "allowed: WhenEmpty | WhenEmptyOrUnderutilized, or a newer karpenter.version")


def check_unique_names(parser: _Parser, named: Sequence[tuple[str, str]]) -> None:
    """Karpenter NodePools are cluster-scoped: one name may be used once across all pool lists."""
    seen: dict[str, str] = {}
    for index, (list_key, name) in enumerate(named):
        position = sum(1 for other_key, _ in named[:index] if other_key == list_key)
        if name in seen:
            raise parser.error(f"{pool_key(list_key, position, name)}.name",
                               f"duplicate pool name {name!r} (also in {seen[name]})",
                               "allowed: names unique across nodePools and gpuNodePools")
        seen[name] = list_key


# --------------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------------


def parse_config(raw: Mapping[str, Any], *, stack: str, project: str = PROJECT, region: str | None) -> PlatformConfig:
    """Parse and validate raw stack config (`{"clusterName": ..., "network": {...}}`) into a PlatformConfig.

    Raises ConfigError naming the stack and key on the first problem found.
    """
    parser = _Parser(stack)
    unknown = sorted(set(raw) - set(TOP_LEVEL_KEYS), key=str)
    if unknown:
        raise parser.error(str(unknown[0]), f"unknown configuration key{did_you_mean(unknown[0], TOP_LEVEL_KEYS)}",
                           f"allowed keys: {', '.join(TOP_LEVEL_KEYS)}")
    if region is None:
        raise ConfigError(stack, "aws:region", "is not set", "allowed: an AWS region such as us-west-2")
    if not REGION_PATTERN.match(region):
        raise ConfigError(stack, "aws:region", f"{region!r} is not an AWS region", "allowed: a region such as us-west-2")

    cluster_name = parser.string(raw.get("clusterName", f"{project}-{stack}"), "clusterName", CLUSTER_NAME_PATTERN,
                                 "2-40 characters: letters, digits and '-', starting with a letter, not ending in '-'")
    kubernetes_version = parser.choice(str(raw.get("kubernetesVersion", versions.DEFAULT_KUBERNETES_VERSION)),
                                       "kubernetesVersion", versions.SUPPORTED_KUBERNETES_VERSIONS)
    karpenter = _parse_karpenter(parser, raw.get("karpenter"), kubernetes_version)
    node_pools = _parse_node_pools(parser, raw.get("nodePools"))
    for index, pool in enumerate(node_pools):
        check_consolidation_policy(parser, pool.disruption, f"{pool_key('nodePools', index, pool.name)}.disruption",
                                   karpenter)
    # Imported here to keep config.py importable by the GPU module without a cycle.
    from components.gpu_config import parse_gpu_node_pools

    gpu_node_pools = parse_gpu_node_pools(parser, raw.get("gpuNodePools"), karpenter)
    check_unique_names(parser, [("nodePools", p.name) for p in node_pools]
                       + [("gpuNodePools", p.name) for p in gpu_node_pools])
    config = PlatformConfig(
        project=project,
        stack=stack,
        region=region,
        cluster_name=cluster_name,
        kubernetes_version=kubernetes_version,
        network=_parse_network(parser, raw.get("network"), region),
        endpoint=_parse_endpoint(parser, raw.get("endpoint")),
        cluster_admins=parser.items(raw.get("clusterAdmins", []), "clusterAdmins",
                                    lambda v, k: parser.string(v, k, IAM_PRINCIPAL_ARN_PATTERN,
                                                               "IAM role or user ARNs"),
                                    allowed="IAM role or user ARNs such as arn:aws:iam::111122223333:role/admin"),
        cluster_log_types=parser.items(raw.get("clusterLogTypes", list(CLUSTER_LOG_TYPES)), "clusterLogTypes",
                                       lambda v, k: parser.choice(v, k, CLUSTER_LOG_TYPES),
                                       allowed=" | ".join(CLUSTER_LOG_TYPES)),
        controller_node_group=_parse_controller_node_group(parser, raw.get("controllerNodeGroup")),
        tags=_parse_tags(parser, raw.get("tags")),
        karpenter=karpenter,
        node_pools=node_pools,
        gpu_node_pools=gpu_node_pools,
        cluster_log_retention_days=_parse_log_retention(parser, raw.get("clusterLogRetentionDays")),
        # After cluster_admins above, which validated the ARNs this compares against.
        cluster_creator_arn=_parse_cluster_creator(parser, raw.get("clusterCreatorArn"), raw.get("clusterAdmins", [])),
    )
    # Last, so a new stack first hears about real mistakes, then about the one decision it must make.
    check_endpoint_decision(parser, config.endpoint)
    return config


def _configured_project_keys(project: str) -> list[str]:
    """Every `<project>:*` key the engine passed in, so a misspelt top-level key is caught too."""
    from pulumi.runtime import config as runtime_config

    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    prefix = f"{project}:"
    return sorted(k[len(prefix):] for k in keys if k.startswith(prefix))


SCALAR_KEYS = ("clusterName", "kubernetesVersion")


def _json_or_text(value: str) -> Any:
    import json

    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. `nodePools: none` — parse_config then reports the type problem with the key


def load_config() -> PlatformConfig:
    """Read the current stack's `gpu-eks:*` keys through pulumi.Config and parse them."""
    project = pulumi.get_project()
    stack = pulumi.get_stack()
    config = pulumi.Config(project)
    raw: dict[str, Any] = {}
    for key in sorted(set(TOP_LEVEL_KEYS) | set(_configured_project_keys(project))):
        value = config.get(key)
        if value is None:
            continue
        # Scalars stay strings ("1.30" must not become the float 1.3); structured values arrive as JSON.
        raw[key] = value if key in SCALAR_KEYS else _json_or_text(value)
    return parse_config(raw, stack=stack, project=project, region=pulumi.Config("aws").get("region"))
