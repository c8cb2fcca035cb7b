"""The `gpu-eks-monitoring` Karpenter NodePool: where in-cluster Prometheus runs, next to its zonal volume.

Prometheus' gp3 volume lives in one zone (EBS volumes are zonal; the StorageClass binds it where the pod is first
scheduled). The controller node group is a managed node group of 2 nodes over 3 zones: a roll (AMI, instance type,
Kubernetes version) can leave no node in the volume's zone, and Prometheus would stay Pending with nothing
reporting it. Karpenter instead launches a node for a pending pod in the zone of the volume it is bound to
(kubernetes-sigs/karpenter v1.14 pkg/scheduling/volumetopology.go: the PV's node affinity becomes a zone requirement
of the pod), so on this pool Prometheus always gets a node in its volume's zone. The pool is tainted so that nothing
but Prometheus lands there, and on-demand so that spot interruptions never take the one Prometheus down.
preflight/placement/volumes.py checks that no pod with a zonal volume can land on the controller group.
"""

from __future__ import annotations

from typing import Any

from components.common.names import (
    ARCH_LABEL,
    CAPACITY_TYPE_LABEL,
    INSTANCE_CATEGORY_LABEL,
    INSTANCE_CPU_LABEL,
    INSTANCE_GENERATION_LABEL,
    OS_LABEL,
    POOL_LABEL,
)
from components.karpenter.manifests import node_pool, requirement
from components.karpenter.node_pool_config import (
    DEFAULT_EXPIRE_AFTER,
    DEFAULT_TERMINATION_GRACE_PERIOD,
    DisruptionConfig,
)

MONITORING_POOL = "gpu-eks-monitoring"
MONITORING_TAINT = {"key": "gpu-eks/monitoring", "value": "true", "effect": "NoSchedule"}
# Prometheus requests 200m CPU and 1 GiB (limit 2 GiB) (values.PROMETHEUS_RESOURCES): a 2-vCPU m-family node (8 GiB)
# holds it with the DaemonSets; the limit bounds the pool at two such nodes (one during a replacement).
MONITORING_CPUS = 2
MONITORING_MAX_CPU = 4
# Consolidate only an empty node: replacing the node under a running Prometheus for a cheaper one buys nothing.
MONITORING_DISRUPTION = DisruptionConfig(consolidation_policy="WhenEmpty", consolidate_after="5m")


def monitoring_node_selector() -> dict[str, str]:
    return {OS_LABEL: "linux", POOL_LABEL: MONITORING_POOL}


def monitoring_tolerations() -> list[dict[str, str]]:
    return [{"key": MONITORING_TAINT["key"], "operator": "Exists", "effect": "NoSchedule"}]


def monitoring_node_pool(node_class_name: str) -> dict[str, Any]:
    """The NodePool (on the general EC2NodeClass, whose subnets span every zone)."""
    return node_pool(
        MONITORING_POOL,
        node_class_name=node_class_name,
        requirements=[
            requirement(ARCH_LABEL, "In", ["amd64"]),
            requirement(OS_LABEL, "In", ["linux"]),
            requirement(CAPACITY_TYPE_LABEL, "In", ["on-demand"]),
            requirement(INSTANCE_CATEGORY_LABEL, "In", ["m"]),
            requirement(INSTANCE_CPU_LABEL, "In", [MONITORING_CPUS]),
            requirement(INSTANCE_GENERATION_LABEL, "Gt", [6]),
        ],
        limits={"cpu": str(MONITORING_MAX_CPU)},
        disruption=MONITORING_DISRUPTION,
        expire_after=DEFAULT_EXPIRE_AFTER,
        termination_grace_period=DEFAULT_TERMINATION_GRACE_PERIOD,
        labels={POOL_LABEL: MONITORING_POOL},
        taints=[dict(MONITORING_TAINT)],
    )
