"""Typed stack configuration: every `gpu-eks:*` key parsed into frozen dataclasses and validated.

All validation runs before any resource is registered, so a typo or an impossible combination fails the preview
with one clear line instead of a half-built graph:

    <stack>: gpu-eks:<key>: <problem>; <what is allowed>

This module is the top: the stack-wide keys (`clusterName`, `tags`, `aws:region`) and `PlatformConfig`, which
holds one section per domain, each parsed by its own package (`components.network.config`,
`components.cluster.config`, `components.karpenter.config` and `.node_pool_config`, `components.gpu.config`,
`components.observability.config`).
`parse_config` is pure (plain dict in, `PlatformConfig` out) and is what the tests exercise; `load_config`
reads the same keys through `pulumi.Config` for the real program.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pulumi
import pulumi_aws as aws

from components import versions
from components.cluster.config import (
    CLUSTER_TOP_LEVEL_DOCS,
    CONTROLLER_NODE_GROUP_SECTION,
    ENDPOINT_SECTION,
    ClusterConfig,
    check_endpoint_decision,
    parse_cluster,
    parse_kubernetes_version,
    settle_cluster_creator,
)
from components.common.context import StackContext
from components.common.lookups import lookups_enabled
from components.common.parsing import PROJECT, ConfigError, KeyDoc, Parser, SectionDoc, describe, did_you_mean
from components.gpu.capacity import RESERVATION_TERM_SECTION, TAINT_SECTION
from components.gpu.config import (
    GPU_POOL_SECTION,
    SHARING_SECTION,
    GpuNodePoolConfig,
    parse_gpu_node_pools,
    resolve_efa_zones,
)
from components.gpu.efa_config import check_efa_zones_have_private_subnets
from components.gpu.names import SharingStrategy
from components.gpu.storage import ROOT_VOLUME_SECTION
from components.karpenter.config import FEATURE_GATES_SECTION, KARPENTER_SECTION, KarpenterConfig, parse_karpenter
from components.karpenter.node_image import parse_node_image
from components.karpenter.node_pool_config import (
    BUDGET_SECTION,
    DISRUPTION_SECTION,
    NODE_POOL_SECTION,
    NodePoolConfig,
    check_consolidation_policy,
    check_unique_names,
    parse_node_pools,
    pool_key,
)
from components.network.config import NETWORK_SECTION, ExistingVpcConfig, NetworkConfig, NewVpcConfig, parse_network
from components.observability.config import (
    NODE_HEALTH_SECTION,
    OBSERVABILITY_SECTION,
    NodeHealthConfig,
    ObservabilityConfig,
    check_host_engine_architectures,
    karpenter_with_repair,
    parse_node_health,
    parse_observability,
)

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
    "previewRoleArn",
    "controllerNodeGroup",
    "tags",
    "karpenter",
    "nodePools",
    "gpuNodePools",
    "nodeImage",
    "observability",
    "nodeHealth",
)

# Derived IAM role names ("<cluster>-karpenter-controller") must stay within IAM's 64 characters,
# which is tighter than EKS's own 100-character limit.
CLUSTER_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,38}[A-Za-z0-9]$")
REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
TAG_KEY_PATTERN = re.compile(r"^[\w .:/=+\-@]{1,128}$")
# Values that stay strings ("1.30" must not become the float 1.3); structured values arrive as JSON.
SCALAR_KEYS = ("clusterName", "kubernetesVersion", "nodeImage", "clusterCreatorArn", "previewRoleArn")


@dataclass(frozen=True)
class PlatformConfig:
    """Everything one stack asks for: the stack-wide facts and one section per domain."""

    project: str
    stack: str
    region: str
    cluster_name: str
    tags: Mapping[str, str]
    network: NetworkConfig
    cluster: ClusterConfig
    karpenter: KarpenterConfig
    node_pools: tuple[NodePoolConfig, ...]
    gpu_node_pools: tuple[GpuNodePoolConfig, ...] = ()
    # The stack's node image (AMI alias): the general pools' EC2NodeClass and every GPU pool without its own.
    node_image: str = versions.DEFAULT_NODE_IMAGE
    observability: ObservabilityConfig = field(default_factory=ObservabilityConfig)
    node_health: NodeHealthConfig = field(default_factory=NodeHealthConfig)

    @property
    def context(self) -> StackContext:
        """The stack-wide facts every component receives next to its own section."""
        return StackContext(stack=self.stack, cluster_name=self.cluster_name, region=self.region, tags=self.tags)


def _parse_tags(parser: Parser, raw: Any) -> Mapping[str, str]:
    key = "tags"
    if raw is None:
        return MappingProxyType({})
    if not isinstance(raw, Mapping):
        raise parser.error(key, f"expected a mapping, got {describe(raw)}", "allowed: a map of AWS tag keys to strings")
    tags = {}
    for tag_key, value in sorted(raw.items()):
        if not isinstance(tag_key, str) or not TAG_KEY_PATTERN.match(tag_key) or tag_key.lower().startswith("aws:"):
            raise parser.error(
                f"{key}.{tag_key}",
                "is not a valid tag key",
                "allowed: 1-128 characters of letters, digits, spaces and _.:/=+-@, not starting aws:",
            )
        if not isinstance(value, (str, int, float)) or isinstance(value, bool) or len(str(value)) > 256:
            raise parser.error(
                f"{key}.{tag_key}",
                f"tag value {describe(value)} is not a string",
                "allowed: a string of up to 256 characters",
            )
        tags[tag_key] = str(value)
    return MappingProxyType(tags)


def parse_config(
    raw: Mapping[str, Any],
    *,
    stack: str,
    project: str = PROJECT,
    region: str | None,
    aws_keys: Collection[str] = (),
) -> PlatformConfig:
    """Parse and validate raw stack config (`{"clusterName": ..., "network": {...}}`) into a PlatformConfig.

    `aws_keys` are the stack's other `aws:*` keys (without the prefix), to name a misspelt aws:region.
    Raises ConfigError naming the stack and key on the first problem found.
    """
    parser = Parser(stack)
    unknown = sorted(set(raw) - set(TOP_LEVEL_KEYS), key=str)
    if unknown:
        raise parser.error(
            str(unknown[0]),
            f"unknown configuration key{did_you_mean(unknown[0], TOP_LEVEL_KEYS)}",
            f"allowed keys: {', '.join(TOP_LEVEL_KEYS)}",
        )
    if region is None:
        # Without it the AWS provider falls back on the environment (AWS_REGION, the profile's region): the stack
        # would deploy wherever the shell that runs pulumi points. There is no project default for that reason.
        typos = difflib.get_close_matches("region", [k.lower() for k in aws_keys if k != "region"], n=1, cutoff=0.6)
        raise ConfigError(
            stack,
            "aws:region",
            "is not set, so the AWS provider would deploy to whatever region the environment names"
            + (f" (aws:{typos[0]} is set: a misspelling?)" if typos else ""),
            f"allowed: aws:region: <region> in Pulumi.{stack}.yaml, e.g. `pulumi config set aws:region us-west-2 "
            f"--stack {stack}`",
        )
    if not REGION_PATTERN.match(region):
        raise ConfigError(
            stack, "aws:region", f"{region!r} is not an AWS region", "allowed: a region such as us-west-2"
        )

    cluster_name = parser.string(
        raw.get("clusterName", f"{project}-{stack}"),
        "clusterName",
        CLUSTER_NAME_PATTERN,
        "2-40 characters: letters, digits and '-', starting with a letter, not ending in '-'",
    )
    kubernetes_version = parse_kubernetes_version(parser, raw)
    karpenter = parse_karpenter(parser, raw.get("karpenter"), kubernetes_version)
    # Auto repair turns Karpenter's nodeRepair gate on, before anything else reads the gates.
    node_health = parse_node_health(parser, raw.get("nodeHealth"), karpenter)
    karpenter = karpenter_with_repair(karpenter, node_health)
    node_pools = parse_node_pools(parser, raw.get("nodePools"))
    for index, pool in enumerate(node_pools):
        check_consolidation_policy(
            parser, pool.disruption, f"{pool_key('nodePools', index, pool.name)}.disruption", karpenter
        )
    node_image = parse_node_image(
        parser, raw.get("nodeImage", versions.DEFAULT_NODE_IMAGE), "nodeImage", kubernetes_version
    )
    gpu_node_pools = parse_gpu_node_pools(
        parser,
        raw.get("gpuNodePools"),
        karpenter,
        node_image=node_image,
        kubernetes_version=kubernetes_version,
        region=region,
    )
    check_unique_names(
        parser, [("nodePools", p.name) for p in node_pools] + [("gpuNodePools", p.name) for p in gpu_node_pools]
    )
    # Pool options that need a feature gate (reserved capacity, warm slices) turn it on; each pool has already
    # refused a gate the stack turned off or its Karpenter version lacks.
    karpenter = karpenter.with_gates_on(sorted({gate for pool in gpu_node_pools for gate in pool.required_gates}))
    network = parse_network(parser, raw.get("network"), region)
    # An EFA pool's zone must be one of the stack's zones, which only the network section knows.
    gpu_node_pools = resolve_efa_zones(parser, gpu_node_pools, network, region)
    cluster = parse_cluster(parser, raw, kubernetes_version)
    config = PlatformConfig(
        project=project,
        stack=stack,
        region=region,
        cluster_name=cluster_name,
        tags=_parse_tags(parser, raw.get("tags")),
        network=network,
        cluster=cluster,
        karpenter=karpenter,
        node_pools=node_pools,
        gpu_node_pools=gpu_node_pools,
        node_image=node_image,
        observability=parse_observability(parser, raw.get("observability")),
        node_health=node_health,
    )
    check_host_engine_architectures(
        parser,
        node_health,
        config.observability,
        [p.name for p in gpu_node_pools if any(t.architecture == "arm64" for t in p.catalog_types())],
        gpu_operator=any(p.sharing.strategy == SharingStrategy.MIG for p in gpu_node_pools),
    )
    # Last, so a new stack first hears about real mistakes, then about the one decision it must make.
    check_endpoint_decision(parser, cluster.endpoint)
    return config


def _configured_project_keys(project: str) -> list[str]:
    """Every `<project>:*` key the engine passed in, so a misspelt top-level key is caught too."""
    from pulumi.runtime import config as runtime_config

    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    prefix = f"{project}:"
    return sorted(k[len(prefix) :] for k in keys if k.startswith(prefix))


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. `nodePools: none` — parse_config then reports the type problem with the key


def with_cluster_creator(config: PlatformConfig, caller_arn: str) -> PlatformConfig:
    """`config` with the cluster creator settled against the deploy's caller identity (`settle_cluster_creator`)."""
    cluster = settle_cluster_creator(Parser(config.stack), config.cluster, caller_arn)
    return dataclasses.replace(config, cluster=cluster)


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
        raw[key] = value if key in SCALAR_KEYS else _json_or_text(value)
    platform = parse_config(
        raw,
        stack=stack,
        project=project,
        region=pulumi.Config("aws").get("region"),
        aws_keys=_configured_project_keys("aws"),
    )
    if (
        lookups_enabled()
        and isinstance(platform.network, ExistingVpcConfig)
        and any(p.efa for p in platform.gpu_node_pools)
    ):
        # A brought VPC's subnet zones are known only to EC2: an EFA zone without a private subnet would leave its
        # pool's subnet selector empty (Karpenter never launches). Checked before any resource is registered.
        subnet_zones = {s: aws.ec2.get_subnet(id=s).availability_zone for s in platform.network.private_subnet_ids}
        check_efa_zones_have_private_subnets(Parser(stack), platform.gpu_node_pools, subnet_zones)
    if platform.cluster.creator_arn is not None:  # the override: no lookup
        return platform
    # Who runs this deploy (sts:GetCallerIdentity; answered in previews too), so the
    # 409 guard for the cluster creator works without clusterCreatorArn. Before any resource is registered.
    return with_cluster_creator(platform, aws.get_caller_identity().arn)


# -- the configuration reference -------------------------------------------------------------------------------
# docs/configuration.md is generated from these declarations by `python -m tools.config_reference`: each section
# names the very tuple of keys its parser passes to Parser.mapping, and the generator refuses a key without a
# complete KeyDoc (type, default, allowed, example, description), so a new key cannot ship undocumented.

REGION_SECTION = SectionDoc(
    path="aws",
    keys=("region",),
    intro="The AWS provider's own namespace, read by the program as well.",
    docs={
        "region": KeyDoc(
            type="string",
            default="none: each stack file sets its own; the program refuses a stack without one (and names a "
            "misspelt key such as `aws:regoin`)",
            allowed="an AWS region (`us-west-2`, `eu-west-1`, `us-gov-west-1`)",
            example="us-east-1",
            description="Where the stack deploys. In `us-east-1`, `us-west-1` and `ca-central-1` the stack must pin "
            "its zones (`network.availabilityZoneIds`).",
        ),
    },
)

_NEW_VPC = NewVpcConfig()
_TOP_LEVEL_DOCS = {
    "clusterName": KeyDoc(
        type="string",
        default="`gpu-eks-<stack>`",
        allowed="2 to 40 letters, digits and `-`, starting with a letter, not ending in `-` (derived IAM role names "
        "must fit IAM's 64 characters)",
        example="gpu-prod",
        description="The EKS cluster's name, and the prefix of the IAM roles, queue and log group the program creates.",
    ),
    "network": KeyDoc(
        type="mapping",
        default=f"a new VPC: `{_NEW_VPC.cidr}`, {_NEW_VPC.availability_zones} zones, "
        f"{_NEW_VPC.nat_gateways} NAT gateway",
        allowed="see `gpu-eks:network` below",
        example="{cidr: 10.20.0.0/16, natGateways: one-per-az}",
        description="The VPC this stack creates, or the one it brings.",
    ),
    "tags": KeyDoc(
        type="mapping of tag key to string",
        default="`{}`",
        allowed="AWS tag keys (1 to 128 letters, digits, spaces and `_.:/=+-@`, not starting `aws:`) to values of up "
        "to 256 characters",
        example="{team: platform, cost-center: '4711'}",
        description="Tags on every AWS resource the program creates.",
    ),
    "karpenter": KeyDoc(
        type="mapping",
        default=f"Karpenter {versions.DEFAULT_KARPENTER_VERSION} with EKS Pod Identity",
        allowed="see `gpu-eks:karpenter` below",
        example="{identity: irsa}",
        description="The Karpenter installation.",
    ),
    "nodePools": KeyDoc(
        type="list of mappings",
        default="`general-amd64` and `general-arm64`",
        allowed="see `gpu-eks:nodePools[]` below; may be empty",
        example="[{name: general, architectures: [arm64]}]",
        description="General-purpose (CPU) NodePools.",
    ),
    "gpuNodePools": KeyDoc(
        type="list of mappings",
        default="none",
        allowed="see `gpu-eks:gpuNodePools[]` below",
        example="[{name: inference, instanceFamilies: [g6], maxGpus: 8}]",
        description="GPU NodePools, each with its sharing strategy and workload contract.",
    ),
    "nodeImage": KeyDoc(
        type="string",
        default=f"`{versions.DEFAULT_NODE_IMAGE}` (`components/versions.py`)",
        allowed="`al2023@v<YYYYMMDD>`, an amazon-eks-ami release tag with AMIs for the stack's `kubernetesVersion` "
        "("
        + ", ".join(f"{k8s} → `{tag}`" for k8s, tag in versions.AL2023_FIRST_RELEASE_FOR_KUBERNETES.items())
        + " or later), or `al2023@latest` (not for real stacks)",
        example=versions.DEFAULT_NODE_IMAGE,
        description="The node image (Karpenter AMI alias) of the general pools' EC2NodeClass and of every GPU pool "
        "without its own; Karpenter picks the NVIDIA variant for GPU types. A new image replaces every node it "
        "applies to.",
    ),
    "observability": KeyDoc(
        type="mapping",
        default="`{mode: in-cluster, retentionDays: 15}`",
        allowed="see `gpu-eks:observability` below",
        example="{mode: amp, retentionDays: 90}",
        description="Where metrics live.",
    ),
    "nodeHealth": KeyDoc(
        type="mapping",
        default="`{autoRepair: true}`",
        allowed="see `gpu-eks:nodeHealth` below",
        example="{autoRepair: false}",
        description="Whether unhealthy nodes are detected and replaced.",
    ),
    **CLUSTER_TOP_LEVEL_DOCS,
}

TOP_LEVEL_SECTION = SectionDoc(
    path="gpu-eks",
    keys=TOP_LEVEL_KEYS,
    intro="Every key is optional unless its default says `required`. Unknown keys at any level are errors.",
    docs=_TOP_LEVEL_DOCS,
)

CONFIG_SECTIONS: tuple[SectionDoc, ...] = (
    REGION_SECTION,
    TOP_LEVEL_SECTION,
    NETWORK_SECTION,
    ENDPOINT_SECTION,
    CONTROLLER_NODE_GROUP_SECTION,
    KARPENTER_SECTION,
    FEATURE_GATES_SECTION,
    OBSERVABILITY_SECTION,
    NODE_HEALTH_SECTION,
    NODE_POOL_SECTION,
    DISRUPTION_SECTION,
    BUDGET_SECTION,
    GPU_POOL_SECTION,
    SHARING_SECTION,
    ROOT_VOLUME_SECTION,
    RESERVATION_TERM_SECTION,
    TAINT_SECTION,
)
