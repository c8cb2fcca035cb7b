"""The cluster's config section: Kubernetes version, API endpoint, admins, control-plane logs, controller node group.

These are top-level `gpu-eks:*` keys (`kubernetesVersion`, `endpoint`, `clusterAdmins`, `clusterLogTypes`,
`clusterLogRetentionDays`, `clusterCreatorArn`, `previewRoleArn`, `controllerNodeGroup`), parsed into one
`ClusterConfig`. Who created the cluster is settled at deploy time (`settle_cluster_creator`): the caller identity
of `pulumi up`, unless `clusterCreatorArn` overrides it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from components import versions
from components.common.parsing import KeyDoc, Parser, SectionDoc, yaml_hint

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
# What one controller node must hold: a Karpenter replica (1 CPU / 1Gi requested, components/karpenter/chart.py
# CONTROLLER_RESOURCES; one replica per node by hostname anti-affinity) plus the add-on pods pinned to the group
# (preflight/capacity.py sums them). Sizes that cannot hold even the Karpenter replica, by the EC2 size name
# (aws.amazon.com/ec2/instance-types): nano 0.5 GiB and micro 1 GiB of memory (less than 1Gi once the kubelet's
# reservation is taken); medium of a non-burstable family (m/c/r *.medium) and small outside the t families have
# 1 vCPU, below the 1 CPU request once the kubelet reserves its share.
KARPENTER_CONTROLLER_REQUEST = "1 CPU / 1Gi"
TOO_SMALL_SIZES = {"nano": "0.5 GiB of memory", "micro": "1 GiB of memory"}
ONE_VCPU_SIZES = ("small", "medium")


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
    # `clusterCreatorArn` when set, else None until `settle_cluster_creator` fills in the deploy's caller identity.
    creator_arn: str | None = None
    controller_node_group: ControllerNodeGroupConfig = ControllerNodeGroupConfig()
    # The role PR previews run as (`previewRoleArn`): a read-only access entry (AmazonEKSAdminViewPolicy).
    preview_role_arn: str | None = None


def parse_kubernetes_version(parser: Parser, raw: Mapping[str, Any]) -> str:
    """`kubernetesVersion` of the raw top-level config, read as text."""
    value = raw.get("kubernetesVersion", versions.DEFAULT_KUBERNETES_VERSION)
    # YAML reads an unquoted 1.35 as a number, harmlessly, but 1.30 as 1.3: a version one digit short is refused with
    # "quote it" rather than as an unknown version (Pulumi passes top-level values as text, so "1.3" is checked too).
    text = str(value)
    if (
        not isinstance(value, bool)
        and re.fullmatch(r"\d+\.\d", text)
        and text not in versions.SUPPORTED_KUBERNETES_VERSIONS
    ):
        raise parser.error(
            "kubernetesVersion",
            f"got {text}{yaml_hint(float(text))}",
            f"allowed: {' | '.join(versions.SUPPORTED_KUBERNETES_VERSIONS)}, quoted",
        )
    return parser.choice(str(value), "kubernetesVersion", versions.SUPPORTED_KUBERNETES_VERSIONS)


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
        size = match.group(2) if match else ""
        small = TOO_SMALL_SIZES.get(size) or ("1 vCPU" if size in ONE_VCPU_SIZES and family[0] != "t" else None)
        if small:
            raise parser.error(
                f"{key}.instanceTypes[{index}]",
                f"{instance_type} is too small for the controller group: {small} cannot hold a Karpenter replica "
                f"({KARPENTER_CONTROLLER_REQUEST} requested, one per node) and the add-ons pinned there",
                "allowed: 2 vCPU and 2 GiB or more (the default m7g.large has 2 vCPU and 8 GiB); "
                "`python -m preflight STACK --stage capacity` checks the full fit",
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


def _parse_preview_role(parser: Parser, raw: Any, admins: Sequence[str], creator: str | None) -> str | None:
    """`previewRoleArn`: the IAM role `pulumi preview` runs as in pull requests (the workflow's
    PULUMI_PREVIEW_ROLE_ARN). Without an access entry it cannot read the cluster, and every preview after the first
    deploy silently skips the server-side diff ("configured Kubernetes cluster is unreachable")."""
    key = "previewRoleArn"
    if raw is None:
        return None
    allowed = "allowed: the IAM role ARN the pull-request preview assumes, e.g. arn:aws:iam::111122223333:role/preview"
    if not isinstance(raw, str) or not IAM_PRINCIPAL_ARN_PATTERN.match(raw):
        raise parser.error(key, f"{raw!r} is not an IAM role or user ARN", allowed)
    preview = principal_identity(raw)
    for index, arn in enumerate(admins):
        if principal_identity(arn) == preview:
            raise parser.error(
                key,
                f"{raw} is also clusterAdmins[{index}]; EKS allows one access entry per principal (a second fails "
                "with 409), and a preview role needs no admin rights",
                f"{allowed}, distinct from every clusterAdmins entry",
            )
    if creator is not None and principal_identity(creator) == preview:
        raise parser.error(
            key,
            f"{raw} is the cluster creator (clusterCreatorArn), who already has an admin access entry (409)",
            f"{allowed}, distinct from the principal that runs the first pulumi up",
        )
    return raw


def settle_cluster_creator(parser: Parser, cluster: ClusterConfig, caller_arn: str) -> ClusterConfig:
    """The cluster config with its creator settled: `clusterCreatorArn` when set (an override, already checked by
    the parser), else `caller_arn`, the identity running this `pulumi up`/`preview` (sts:GetCallerIdentity, an
    assumed-role ARN for a role session). EKS makes the creator a cluster admin (pulumi-eks always bootstraps it,
    pulumi/pulumi-eks#2373), so a clusterAdmins entry or the preview role for the same principal fails with 409.

    The caller is the creator on the first deploy. Later deploys by another principal that is itself in
    clusterAdmins are refused by this check too: the error says to set clusterCreatorArn to whoever created the
    cluster, which the program cannot look up (EKS does not mark the bootstrap entry).
    """
    if cluster.creator_arn is not None:
        return cluster
    if not (IAM_PRINCIPAL_ARN_PATTERN.match(caller_arn) or ASSUMED_ROLE_ARN_PATTERN.match(caller_arn)):
        raise parser.error(
            "clusterCreatorArn",
            f"is not set, and the caller identity of this deploy, {caller_arn}, is not an IAM role, user or "
            "assumed role (e.g. the account root or a federated user), so the creator's admin entry cannot be "
            "told apart from clusterAdmins",
            "allowed: the IAM role or user ARN that creates the cluster; run pulumi as an IAM role or user",
        )
    creator = principal_identity(caller_arn)
    for index, arn in enumerate(cluster.admins):
        if principal_identity(arn) == creator:
            raise parser.error(
                f"clusterAdmins[{index}]",
                f"{arn} is the identity running this deploy ({caller_arn}), which EKS makes a cluster admin when it "
                "creates the cluster; a second access entry for it fails with 409",
                "allowed: remove it from clusterAdmins; or, if another principal created this cluster, set "
                "clusterCreatorArn to that principal (pulumi/pulumi-eks#2373)",
            )
    if cluster.preview_role_arn is not None and principal_identity(cluster.preview_role_arn) == creator:
        raise parser.error(
            "previewRoleArn",
            f"{cluster.preview_role_arn} is the identity running this deploy ({caller_arn}), which EKS makes a "
            "cluster admin; a second access entry for it fails with 409",
            "allowed: a separate preview role; or set clusterCreatorArn to the principal that created the cluster",
        )
    return replace(cluster, creator_arn=caller_arn)


def parse_cluster(parser: Parser, raw: Mapping[str, Any], kubernetes_version: str) -> ClusterConfig:
    """The cluster's keys of the raw top-level config. Who may reach the API is checked last, by the caller,
    with check_endpoint_decision (a new stack first hears about real mistakes)."""
    admins = parser.items(
        raw.get("clusterAdmins", []),
        "clusterAdmins",
        lambda v, k: parser.string(v, k, IAM_PRINCIPAL_ARN_PATTERN, "IAM role or user ARNs"),
        allowed="IAM role or user ARNs such as arn:aws:iam::111122223333:role/admin",
    )
    creator = _parse_cluster_creator(parser, raw.get("clusterCreatorArn"), admins)
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
        # After admins above, which validated the ARNs these compare against.
        creator_arn=creator,
        preview_role_arn=_parse_preview_role(parser, raw.get("previewRoleArn"), admins, creator),
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
        default="the identity running `pulumi up`/`preview` (sts:GetCallerIdentity)",
        allowed="an IAM role or user ARN, or the assumed-role ARN `aws sts get-caller-identity` prints",
        example="arn:aws:iam::111122223333:role/deployer",
        description="An override for who ran the first `pulumi up` (when a later deploy runs as someone else). EKS "
        "makes that principal a cluster admin itself (pulumi/pulumi-eks#2373), so the program refuses a "
        "`clusterAdmins` entry for it, which would fail with 409 mid-deploy.",
    ),
    "previewRoleArn": KeyDoc(
        type="string",
        default="none: no preview access entry",
        allowed="the IAM role ARN pull-request previews assume (the workflow's PULUMI_PREVIEW_ROLE_ARN), distinct "
        "from every `clusterAdmins` entry and the creator",
        example="arn:aws:iam::111122223333:role/preview",
        description="Gives that role a read-only access entry (AmazonEKSAdminViewPolicy), so previews after the "
        "first deploy can read the cluster and show the server-side diff.",
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
