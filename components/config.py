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

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pulumi

from components import versions
from components.cluster.config import ClusterConfig, check_endpoint_decision, parse_cluster, parse_kubernetes_version
from components.common.context import StackContext
from components.common.parsing import PROJECT, ConfigError, Parser, describe, did_you_mean
from components.gpu.config import GpuNodePoolConfig, parse_gpu_node_pools, resolve_efa_zones
from components.gpu.names import SharingStrategy
from components.karpenter.config import KarpenterConfig, parse_karpenter
from components.karpenter.node_image import parse_node_image
from components.karpenter.node_pool_config import (
    NodePoolConfig,
    check_consolidation_policy,
    check_unique_names,
    parse_node_pools,
    pool_key,
)
from components.network.config import NetworkConfig, parse_network
from components.observability.config import (
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
SCALAR_KEYS = ("clusterName", "kubernetesVersion", "nodeImage")


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


def parse_config(raw: Mapping[str, Any], *, stack: str, project: str = PROJECT, region: str | None) -> PlatformConfig:
    """Parse and validate raw stack config (`{"clusterName": ..., "network": {...}}`) into a PlatformConfig.

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
        raise ConfigError(stack, "aws:region", "is not set", "allowed: an AWS region such as us-west-2")
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
    return parse_config(raw, stack=stack, project=project, region=pulumi.Config("aws").get("region"))
