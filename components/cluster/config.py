"""The cluster's config section: Kubernetes version, API endpoint, admins, control-plane logs, controller node group.

These are top-level `gpu-eks:*` keys (`kubernetesVersion`, `endpoint`, `clusterAdmins`, `clusterLogTypes`,
`clusterLogRetentionDays`, `clusterCreatorArn`, `controllerNodeGroup`), parsed into one `ClusterConfig`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components import versions
from components.common.parsing import KeyDoc, Parser, SectionDoc

CLUSTER_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
# Karpenter's chart runs 2 controller replicas with required hostname anti-affinity
# (charts/karpenter values.yaml: replicas 2, podAntiAffinity on kubernetes.io/hostname), so the controller
# node group needs 2 nodes or one replica stays Pending.
KARPENTER_REPLICAS = 2
IAM_PRINCIPAL_ARN_PATTERN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:(role|user)/[\w+=,.@/-]+$")
# What `aws sts get-caller-identity` prints for a role session.
ASSUMED_ROLE_ARN_PATTERN = re.compile(r"^arn:aws(-cn|-us-gov)?:sts::\d{12}:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+$")
# The retention values CloudWatch Logs accepts (PutRetentionPolicy retentionInDays).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
# Instance types in `family.size` form, e.g. m7g.large, c6in.2xlarge.
INSTANCE_TYPE_PATTERN = re.compile(r"^([a-z][a-z0-9-]*?\d[a-z0-9-]*)\.([a-z0-9]+)$")
GRAVITON_FAMILY_PATTERN = re.compile(r"^[a-z]+\d+[a-z]*g[a-z]*$")
CONTROLLER_GPU_FAMILY_PATTERN = re.compile(r"^(g|p|inf|trn|dl)\d")
ENDPOINT_KEYS = ("publicAccess", "publicAccessCidrs")
CONTROLLER_NODE_GROUP_KEYS = ("instanceTypes", "minSize", "desiredSize", "maxSize", "diskSize")


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
class ClusterConfig:
    """The EKS cluster and its controller node group."""

    kubernetes_version: str = versions.DEFAULT_KUBERNETES_VERSION
    endpoint: EndpointConfig = EndpointConfig()
    admins: tuple[str, ...] = ()
    log_types: tuple[str, ...] = CLUSTER_LOG_TYPES
    log_retention_days: int = 90
    creator_arn: str | None = None
    controller_node_group: ControllerNodeGroupConfig = ControllerNodeGroupConfig()


def parse_kubernetes_version(parser: Parser, raw: Mapping[str, Any]) -> str:
    """`kubernetesVersion` of the raw top-level config, read as text."""
    return parser.choice(
        str(raw.get("kubernetesVersion", versions.DEFAULT_KUBERNETES_VERSION)),
        "kubernetesVersion",
        versions.SUPPORTED_KUBERNETES_VERSIONS,
    )


def _parse_endpoint(parser: Parser, raw: Any) -> EndpointConfig:
    key = "endpoint"
    raw = parser.mapping({} if raw is None else raw, key, ENDPOINT_KEYS)
    defaults = EndpointConfig()
    public = parser.boolean(raw.get("publicAccess", defaults.public_access), f"{key}.publicAccess")
    cidrs = parser.items(
        raw.get("publicAccessCidrs", list(defaults.public_access_cidrs)),
        f"{key}.publicAccessCidrs",
        lambda v, k: parser.cidr(v, k),
        allowed="a list of IPv4 CIDRs",
    )
    # Absent CIDRs on a public endpoint are reported by check_endpoint_decision once everything else is
    # valid; an explicitly empty list is a mistake in this block, reported here.
    if public and not cidrs and "publicAccessCidrs" in raw:
        raise parser.error(
            f"{key}.publicAccessCidrs",
            "is empty while publicAccess is true",
            "allowed: at least one CIDR, or publicAccess: false",
        )
    if not public and "publicAccessCidrs" in raw:
        raise parser.error(
            f"{key}.publicAccessCidrs",
            "is set while publicAccess is false",
            "allowed: remove it, or set publicAccess: true",
        )
    return EndpointConfig(public_access=public, public_access_cidrs=cidrs if public else ())


def check_endpoint_decision(parser: Parser, endpoint: EndpointConfig) -> None:
    """Who may reach the Kubernetes API is a decision the stack must make; there is no safe default.

    Without publicAccessCidrs EKS opens the public endpoint to 0.0.0.0/0, which the mandatory
    eks-public-endpoint-restricted policy rejects, and a private-only default would pass the policy but leave
    `pulumi up` outside the VPC unable to install the Helm releases. So the stack says which it is.
    """
    if endpoint.public_access and not endpoint.public_access_cidrs:
        raise parser.error(
            "endpoint.publicAccessCidrs",
            "is not set, and without it EKS opens the public API endpoint to 0.0.0.0/0, which the "
            "policy pack (eks-public-endpoint-restricted) rejects",
            "allowed: the CIDRs that pulumi up and kubectl connect from, including the deploy "
            "runner's egress IP (e.g. [198.51.100.7/32]), or endpoint.publicAccess: false when "
            "pulumi up runs inside the VPC",
        )


def _parse_controller_node_group(parser: Parser, raw: Any) -> ControllerNodeGroupConfig:
    key = "controllerNodeGroup"
    raw = parser.mapping({} if raw is None else raw, key, CONTROLLER_NODE_GROUP_KEYS)
    defaults = ControllerNodeGroupConfig()
    types = parser.items(
        raw.get("instanceTypes", list(defaults.instance_types)),
        f"{key}.instanceTypes",
        lambda v, k: parser.string(v, k, INSTANCE_TYPE_PATTERN, "an EC2 instance type such as m7g.large"),
        min_items=1,
        allowed="one or more EC2 instance types of one CPU architecture",
    )
    architectures = set()
    for index, instance_type in enumerate(types):
        match = INSTANCE_TYPE_PATTERN.match(instance_type)
        family = match.group(1) if match else instance_type  # always a match: validated by parser.items above
        if CONTROLLER_GPU_FAMILY_PATTERN.match(family):
            raise parser.error(
                f"{key}.instanceTypes[{index}]",
                f"{instance_type} is an accelerated instance type",
                "allowed: general-purpose types (GPU capacity comes from gpuNodePools)",
            )
        architectures.add("arm64" if GRAVITON_FAMILY_PATTERN.match(family) else "amd64")
    if len(architectures) > 1:
        raise parser.error(
            f"{key}.instanceTypes",
            "mixes Graviton (arm64) and x86 (amd64) types",
            "allowed: types of one architecture, because one AMI type serves the group",
        )
    min_size = parser.integer(raw.get("minSize", defaults.min_size), f"{key}.minSize", minimum=1, maximum=100)
    desired = parser.integer(
        raw.get("desiredSize", max(defaults.desired_size, min_size)), f"{key}.desiredSize", minimum=1, maximum=100
    )
    max_size = parser.integer(
        raw.get("maxSize", max(defaults.max_size, desired)), f"{key}.maxSize", minimum=1, maximum=100
    )
    # Rejected rather than shrinking Karpenter to one replica: the group is tiny and two replicas keep
    # provisioning alive while a controller node is replaced (AMI update, AZ event). minSize counts too,
    # because the group may legally be scaled down to it.
    for size_key, size in (("minSize", min_size), ("desiredSize", desired)):
        if size < KARPENTER_REPLICAS:
            raise parser.error(
                f"{key}.{size_key}",
                f"{size} node(s) cannot hold Karpenter's {KARPENTER_REPLICAS} "
                "replicas, which must run on different nodes (hostname anti-affinity), so one "
                "would stay Pending",
                f"allowed: {KARPENTER_REPLICAS} or more",
            )
    if not min_size <= desired <= max_size:
        raise parser.error(
            f"{key}.desiredSize",
            f"minSize {min_size} <= desiredSize {desired} <= maxSize {max_size} does not hold",
            "allowed: minSize <= desiredSize <= maxSize",
        )
    return ControllerNodeGroupConfig(
        instance_types=types,
        min_size=min_size,
        desired_size=desired,
        max_size=max_size,
        disk_size_gib=parser.integer(
            raw.get("diskSize", defaults.disk_size_gib), f"{key}.diskSize", minimum=20, maximum=1000
        ),
        architecture=architectures.pop(),
    )


def _parse_log_retention(parser: Parser, raw: Any) -> int:
    """Days CloudWatch keeps the control-plane log group (/aws/eks/<cluster>/cluster) that the program creates."""
    key = "clusterLogRetentionDays"
    allowed = f"allowed: one of {', '.join(str(days) for days in LOG_RETENTION_DAYS)} (CloudWatch Logs retention)"
    days = parser.integer(
        90 if raw is None else raw, key, minimum=LOG_RETENTION_DAYS[0], maximum=LOG_RETENTION_DAYS[-1]
    )
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


def _parse_cluster_creator(parser: Parser, raw: Any, admins: Sequence[str]) -> str | None:
    """`clusterCreatorArn`: who runs the first `pulumi up`. EKS makes that principal a cluster admin itself.

    pulumi-eks always creates the cluster with bootstrapClusterCreatorAdminPermissions (pulumi/pulumi-eks#2373),
    so an access entry of our own for the same principal fails with 409 ResourceInUseException.
    """
    key = "clusterCreatorArn"
    if raw is None:
        return None
    allowed = (
        "allowed: the IAM role or user ARN that creates the cluster, or the assumed-role ARN "
        "`aws sts get-caller-identity` prints for it"
    )
    if not isinstance(raw, str) or not (IAM_PRINCIPAL_ARN_PATTERN.match(raw) or ASSUMED_ROLE_ARN_PATTERN.match(raw)):
        raise parser.error(key, f"{raw!r} is not an IAM principal ARN", allowed)
    creator = principal_identity(raw)
    for index, arn in enumerate(admins):
        if principal_identity(arn) == creator:
            raise parser.error(
                f"clusterAdmins[{index}]",
                f"{arn} is the cluster creator (clusterCreatorArn), whom EKS "
                "already makes a cluster admin; a second access entry for it fails with 409",
                "allowed: remove it from clusterAdmins (pulumi-eks cannot turn the creator's entry off, "
                "pulumi/pulumi-eks#2373)",
            )
    return raw


def parse_cluster(parser: Parser, raw: Mapping[str, Any], kubernetes_version: str) -> ClusterConfig:
    """The cluster's keys of the raw top-level config. Who may reach the API is checked last, by the caller,
    with check_endpoint_decision (a new stack first hears about real mistakes)."""
    admins = parser.items(
        raw.get("clusterAdmins", []),
        "clusterAdmins",
        lambda v, k: parser.string(v, k, IAM_PRINCIPAL_ARN_PATTERN, "IAM role or user ARNs"),
        allowed="IAM role or user ARNs such as arn:aws:iam::111122223333:role/admin",
    )
    return ClusterConfig(
        kubernetes_version=kubernetes_version,
        endpoint=_parse_endpoint(parser, raw.get("endpoint")),
        admins=admins,
        log_types=parser.items(
            raw.get("clusterLogTypes", list(CLUSTER_LOG_TYPES)),
            "clusterLogTypes",
            lambda v, k: parser.choice(v, k, CLUSTER_LOG_TYPES),
            allowed=" | ".join(CLUSTER_LOG_TYPES),
        ),
        controller_node_group=_parse_controller_node_group(parser, raw.get("controllerNodeGroup")),
        log_retention_days=_parse_log_retention(parser, raw.get("clusterLogRetentionDays")),
        # After admins above, which validated the ARNs this compares against.
        creator_arn=_parse_cluster_creator(parser, raw.get("clusterCreatorArn"), admins),
    )


# -- the configuration reference (docs/configuration.md is generated from this; see components.config) -------------

_GROUP = ControllerNodeGroupConfig()
_CLUSTER = ClusterConfig()
# The cluster's top-level keys; components.config merges them into the top-level section.
CLUSTER_TOP_LEVEL_DOCS = {
    "kubernetesVersion": KeyDoc(
        type="string (quote it)",
        default=f'`"{versions.DEFAULT_KUBERNETES_VERSION}"`',
        allowed=" | ".join(f"`{v}`" for v in versions.SUPPORTED_KUBERNETES_VERSIONS),
        example=f'"{versions.DEFAULT_KUBERNETES_VERSION}"',
        description="The EKS control plane's version; the controller group, the EKS add-ons (pinned per version) "
        "and the nodes' AMIs follow it. Upgrade one minor version at a time: "
        "[operations](operations.md#kubernetes-upgrades).",
    ),
    "endpoint": KeyDoc(
        type="mapping",
        default="`publicAccess: true` and no CIDRs, which the preview refuses: the stack must choose",
        allowed="see `gpu-eks:endpoint` below",
        example="{publicAccessCidrs: [198.51.100.7/32]}",
        description="Who may reach the Kubernetes API.",
    ),
    "clusterAdmins": KeyDoc(
        type="list of strings",
        default="`[]`",
        allowed="IAM role or user ARNs (`arn:aws:iam::<account>:role/<name>`), not the cluster creator",
        example="[arn:aws:iam::111122223333:role/platform-admin]",
        description="Given `AmazonEKSClusterAdminPolicy` through access entries. Every identity other than the "
        "creator that runs `pulumi up` must be listed: the program installs Helm releases as whoever runs it.",
    ),
    "clusterLogTypes": KeyDoc(
        type="list of strings",
        default="all five",
        allowed=", ".join(f"`{t}`" for t in CLUSTER_LOG_TYPES),
        example="[api, audit, authenticator]",
        description="Control-plane log types sent to CloudWatch Logs (`/aws/eks/<cluster>/cluster`).",
    ),
    "clusterLogRetentionDays": KeyDoc(
        type="integer",
        default=f"`{_CLUSTER.log_retention_days}`",
        allowed=", ".join(str(days) for days in LOG_RETENTION_DAYS) + " (CloudWatch Logs' retention values)",
        example="30",
        description="Days CloudWatch keeps the control-plane log group, which the program creates before the "
        "cluster and `pulumi destroy` removes.",
    ),
    "clusterCreatorArn": KeyDoc(
        type="string",
        default="none",
        allowed="an IAM role or user ARN, or the assumed-role ARN `aws sts get-caller-identity` prints",
        example="arn:aws:iam::111122223333:role/deployer",
        description="Who runs the first `pulumi up`. EKS makes that principal a cluster admin itself "
        "(pulumi/pulumi-eks#2373), so naming it lets the preview refuse a `clusterAdmins` entry for it, which "
        "would fail with 409 mid-deploy.",
    ),
    "controllerNodeGroup": KeyDoc(
        type="mapping",
        default=f"{_GROUP.min_size} to {_GROUP.max_size} × {', '.join(_GROUP.instance_types)}",
        allowed="see `gpu-eks:controllerNodeGroup` below",
        example="{instanceTypes: [m7g.xlarge]}",
        description="The managed node group that runs Karpenter and the cluster-critical add-ons.",
    ),
}

ENDPOINT_SECTION = SectionDoc(
    path="gpu-eks:endpoint",
    keys=ENDPOINT_KEYS,
    intro="The private endpoint is always on. A stack must set `publicAccessCidrs` or `publicAccess: false`; "
    "without either the preview stops with one line saying so. Why there is no default: "
    "[operations](operations.md#where-pulumi-up-runs-and-how-it-reaches-the-api).",
    docs={
        "publicAccess": KeyDoc(
            type="boolean",
            default=f"`{str(EndpointConfig().public_access).lower()}`",
            allowed="`true` | `false`",
            example="false",
            description="Whether the API has a public endpoint. With `false`, `pulumi up` and `kubectl` must run "
            "inside (or routed into) the VPC.",
        ),
        "publicAccessCidrs": KeyDoc(
            type="list of strings",
            default="required while `publicAccess` is true",
            allowed="IPv4 CIDRs (at least one); not allowed with `publicAccess: false`. `0.0.0.0/0` is left to the "
            "policy pack, which refuses it unless `allowPublicEndpointFromAnywhere`",
            example="[198.51.100.7/32, 203.0.113.0/24]",
            description="The CIDRs `pulumi up` and `kubectl` connect from: the deploy runner's egress IP and your "
            "admins'.",
        ),
    },
)

CONTROLLER_NODE_GROUP_SECTION = SectionDoc(
    path="gpu-eks:controllerNodeGroup",
    keys=CONTROLLER_NODE_GROUP_KEYS,
    intro="Tainted `CriticalAddonsOnly=true:NoSchedule`: it runs Karpenter, CoreDNS, the NVIDIA and monitoring "
    "controllers, never ordinary pods. Its launch template requires IMDSv2 (hop limit 1) and encrypts the root "
    "volume.",
    docs={
        "instanceTypes": KeyDoc(
            type="list of strings",
            default="`[" + ", ".join(_GROUP.instance_types) + "]`",
            allowed="one or more EC2 instance types (`family.size`) of one CPU architecture, no accelerated "
            "families (`g`, `p`, `inf`, `trn`, `dl`); Graviton types get the AL2023 ARM AMI",
            example="[m7g.xlarge]",
            description="The group's instance types.",
        ),
        "minSize": KeyDoc(
            type="integer",
            default=f"`{_GROUP.min_size}`",
            allowed=f"{KARPENTER_REPLICAS} to 100, ≤ `desiredSize`",
            example="2",
            description=f"At least {KARPENTER_REPLICAS}: Karpenter's {KARPENTER_REPLICAS} replicas must run on "
            "different nodes (hostname anti-affinity).",
        ),
        "desiredSize": KeyDoc(
            type="integer",
            default=f"`{_GROUP.desired_size}` (or `minSize` when larger)",
            allowed=f"{KARPENTER_REPLICAS} to 100, `minSize` ≤ `desiredSize` ≤ `maxSize`",
            example="2",
            description="The group's size at creation.",
        ),
        "maxSize": KeyDoc(
            type="integer",
            default=f"`{_GROUP.max_size}` (or `desiredSize` when larger)",
            allowed="1 to 100, ≥ `desiredSize`",
            example="3",
            description="The most nodes the group may scale to.",
        ),
        "diskSize": KeyDoc(
            type="integer (GiB)",
            default=f"`{_GROUP.disk_size_gib}`",
            allowed="20 to 1000",
            example="80",
            description="The encrypted gp3 root volume in the group's launch template.",
        ),
    },
)
