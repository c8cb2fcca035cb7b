"""The `gpu-eks:observability` and `gpu-eks:nodeHealth` sections: where metrics go, and whether sick nodes are replaced.

gpu-eks:observability: {mode: in-cluster | amp | off, retentionDays: 15}
gpu-eks:nodeHealth: {autoRepair: true}
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from components.common.parsing import KeyDoc, Parser, SectionDoc
from components.karpenter.config import KarpenterConfig


class ObservabilityMode(StrEnum):
    """Where the metrics live."""

    IN_CLUSTER = "in-cluster"  # Prometheus, Alertmanager and Grafana in the cluster (kube-prometheus-stack)
    AMP = "amp"  # a Prometheus agent remote-writes to an Amazon Managed Service for Prometheus workspace
    OFF = "off"  # nothing


OBSERVABILITY_KEYS = ("mode", "retentionDays")
# Karpenter's gate for replacing nodes whose conditions stay unhealthy (reference/settings.md, v1.14).
NODE_REPAIR_GATE = "nodeRepair"
NODE_HEALTH_KEYS = ("autoRepair",)
# In the cluster the retention sizes Prometheus' EBS volume (see values.prometheus_volume_gib): beyond 90 days a
# small cluster's volume outgrows what a controller node should carry, and AMP keeps history cheaper.
MAX_IN_CLUSTER_RETENTION_DAYS = 90
# AMP's limit for a workspace's retention period (UpdateWorkspaceConfiguration, retentionPeriodInDays 1-1095).
MAX_AMP_RETENTION_DAYS = 1095
DEFAULT_RETENTION_DAYS = 15


@dataclass(frozen=True)
class ObservabilityConfig:
    """The metrics stack."""

    mode: ObservabilityMode = ObservabilityMode.IN_CLUSTER
    retention_days: int = DEFAULT_RETENTION_DAYS

    @property
    def enabled(self) -> bool:
        return self.mode is not ObservabilityMode.OFF


@dataclass(frozen=True)
class NodeHealthConfig:
    """GPU and node health: the EKS node monitoring agent plus Karpenter's node repair."""

    auto_repair: bool = True


def parse_observability(parser: Parser, raw: Any) -> ObservabilityConfig:
    """Parse `gpu-eks:observability` (absent = the defaults)."""
    key = "observability"
    raw = parser.mapping({} if raw is None else raw, key, OBSERVABILITY_KEYS)
    defaults = ObservabilityConfig()
    mode = ObservabilityMode(
        parser.choice(raw.get("mode", defaults.mode.value), f"{key}.mode", [m.value for m in ObservabilityMode])
    )
    ceiling = MAX_IN_CLUSTER_RETENTION_DAYS if mode is ObservabilityMode.IN_CLUSTER else MAX_AMP_RETENTION_DAYS
    retention = parser.integer(raw.get("retentionDays", defaults.retention_days), f"{key}.retentionDays", 1)
    if retention > ceiling:
        raise parser.error(
            f"{key}.retentionDays",
            f"{retention} days is more than mode {mode.value} keeps",
            f"allowed: 1 to {ceiling} with mode {mode.value}"
            + (f" (use mode amp for up to {MAX_AMP_RETENTION_DAYS})" if mode is ObservabilityMode.IN_CLUSTER else ""),
        )
    return ObservabilityConfig(mode=mode, retention_days=retention)


def parse_node_health(parser: Parser, raw: Any, karpenter: KarpenterConfig) -> NodeHealthConfig:
    """Parse `gpu-eks:nodeHealth` against the Karpenter section: auto repair needs Karpenter's nodeRepair gate."""
    key = "nodeHealth"
    raw = parser.mapping({} if raw is None else raw, key, NODE_HEALTH_KEYS)
    auto_repair = parser.boolean(raw.get("autoRepair", NodeHealthConfig().auto_repair), f"{key}.autoRepair")
    # Every Karpenter a supported Kubernetes version allows (1.2.0 and newer) has the nodeRepair gate (1.1.0).
    if auto_repair and karpenter.turned_off(NODE_REPAIR_GATE):
        raise parser.error(
            f"{key}.autoRepair",
            "is true but karpenter.featureGates.nodeRepair is false",
            "allowed: autoRepair: false, or leave karpenter.featureGates.nodeRepair unset (autoRepair turns it on)",
        )
    return NodeHealthConfig(auto_repair=auto_repair)


def karpenter_with_repair(karpenter: KarpenterConfig, node_health: NodeHealthConfig) -> KarpenterConfig:
    """The Karpenter section as it runs: with auto repair, the nodeRepair gate on (merged over the other gates)."""
    return karpenter.with_gates_on([NODE_REPAIR_GATE]) if node_health.auto_repair else karpenter


def check_host_engine_architectures(
    parser: Parser,
    node_health: NodeHealthConfig,
    observability: ObservabilityConfig,
    arm64_gpu_pools: list[str],
    gpu_operator: bool,
) -> None:
    """With auto repair every GPU metrics exporter connects to the node monitoring agent's DCGM host engine
    (components/observability/dcgm.py), but the agent runs that engine on amd64 nodes only (its chart's dcgm-server
    affinity, aws/eks-node-monitoring-agent v1.7.0 values.yaml), so an exporter on an arm64 GPU node (g5g) would have
    no engine. An exporter runs there with a metrics stack, and always under the GPU Operator (its own exporter)."""
    if not node_health.auto_repair or not arm64_gpu_pools or not (observability.enabled or gpu_operator):
        return
    raise parser.error(
        "nodeHealth.autoRepair",
        f"is true but GPU pool(s) {', '.join(arm64_gpu_pools)} may launch arm64 instances, where the node monitoring "
        "agent runs no DCGM host engine for the GPU metrics exporter to connect to",
        "allowed: autoRepair: false, observability.mode off (with no MIG pool), or amd64-only GPU pools",
    )


# -- the configuration reference (docs/configuration.md is generated from this; see components.config) -------------

OBSERVABILITY_SECTION = SectionDoc(
    path="gpu-eks:observability",
    keys=OBSERVABILITY_KEYS,
    intro="What each mode installs, what it costs and how to reach it: [observability](observability.md).",
    docs={
        "mode": KeyDoc(
            type="string",
            default=f"`{ObservabilityConfig().mode.value}`",
            allowed=" | ".join(f"`{m.value}`" for m in ObservabilityMode),
            example="amp",
            description="`in-cluster`: kube-prometheus-stack with Prometheus, Alertmanager and Grafana in the cluster; "
            "`amp`: an Amazon Managed Service for Prometheus workspace written by an in-cluster agent; `off`: "
            "nothing.",
        ),
        "retentionDays": KeyDoc(
            type="integer",
            default=f"`{DEFAULT_RETENTION_DAYS}`",
            allowed=f"1 to {MAX_IN_CLUSTER_RETENTION_DAYS} with `in-cluster` (it sizes Prometheus' volume), 1 to "
            f"{MAX_AMP_RETENTION_DAYS} with `amp` (the workspace's retention)",
            example="30",
            description="Days of metrics kept.",
        ),
    },
)

NODE_HEALTH_SECTION = SectionDoc(
    path="gpu-eks:nodeHealth",
    keys=NODE_HEALTH_KEYS,
    docs={
        "autoRepair": KeyDoc(
            type="boolean",
            default=f"`{str(NodeHealthConfig().auto_repair).lower()}`",
            allowed="`true` | `false`; `true` conflicts with `karpenter.featureGates.nodeRepair: false`",
            example="false",
            description="Install the EKS node monitoring agent add-on and turn on Karpenter's `nodeRepair` gate, so "
            "nodes whose GPU or node conditions stay unhealthy are replaced ([observability](observability.md#gpu-"
            "health-and-node-repair)).",
        ),
    },
)
