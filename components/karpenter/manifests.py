"""Pure builders for Karpenter custom resources: EC2NodeClass and NodePool (karpenter v1 APIs).

Shared by the general-purpose pools and the GPU pools. Every object built here is validated in the tests
against the upstream v1.14.1 CRDs (OpenAPI schema and CEL rules).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from components.common.aws import AL2023_ROOT_DEVICE
from components.common.names import (
    ARCH_LABEL,
    CAPACITY_TYPE_LABEL,
    DISCOVERY_TAG,
    INSTANCE_CATEGORY_LABEL,
    INSTANCE_CPU_LABEL,
    INSTANCE_GENERATION_LABEL,
    OS_LABEL,
    POOL_LABEL,
)
from components.karpenter.node_pool_config import DisruptionConfig, NodePoolConfig

NODE_CLASS_API = "karpenter.k8s.aws/v1"
NODE_POOL_API = "karpenter.sh/v1"
NODE_OVERLAY_API = "karpenter.sh/v1alpha1"
# EC2NodeClass spec.instanceStorePolicy (CRD enum, v1.14.1: RAID0 only).
InstanceStorePolicy = Literal["RAID0"]
RAID0: InstanceStorePolicy = "RAID0"


@dataclass(frozen=True)
class RootVolume:
    """An encrypted gp3 root volume. gp3's baseline is 3000 IOPS / 125 MiB/s at no extra cost."""

    size_gib: int = 80
    iops: int = 3000
    throughput_mibps: int = 125


def requirement(key: str, operator: str, values: Sequence[Any] = ()) -> dict[str, Any]:
    """A NodeSelectorRequirement; values are strings as the Kubernetes API requires."""
    entry: dict[str, Any] = {"key": key, "operator": operator}
    if operator not in ("Exists", "DoesNotExist"):
        entry["values"] = [str(v) for v in values]
    return entry


def ec2_node_class(
    name: str,
    *,
    role_name: Any,  # the node role's name: a str, or the Output of the role the component creates
    cluster_name: str,
    subnet_selector: Sequence[Mapping[str, Any]],
    ami_alias: str,
    root_volume: RootVolume,
    tags: Mapping[str, str],
    capacity_reservation_terms: Sequence[Mapping[str, Any]] = (),
    instance_store_policy: InstanceStorePolicy | None = None,
) -> dict[str, Any]:
    """An EC2NodeClass: AMI alias, node role, discovered subnets and security group, IMDSv2, encrypted root;
    optionally the capacity reservations its NodePools may launch into and the instance store's RAID0 array."""
    node_class: dict[str, Any] = {
        "apiVersion": NODE_CLASS_API,
        "kind": "EC2NodeClass",
        "metadata": {"name": name},
        "spec": {
            # An alias picks the AMI variant per instance (e.g. AL2023 NVIDIA for GPU types) and must be the
            # only AMI term.
            "amiSelectorTerms": [{"alias": ami_alias}],
            "role": role_name,
            "subnetSelectorTerms": [dict(term) for term in subnet_selector],
            "securityGroupSelectorTerms": [{"tags": {DISCOVERY_TAG: cluster_name}}],
            # IMDSv2 only, and a hop limit of 1 so pods cannot borrow the node role's credentials.
            "metadataOptions": {
                "httpEndpoint": "enabled",
                "httpProtocolIPv6": "disabled",
                "httpPutResponseHopLimit": 1,
                "httpTokens": "required",
            },
            "blockDeviceMappings": [
                {
                    "deviceName": AL2023_ROOT_DEVICE,
                    "rootVolume": True,
                    "ebs": {
                        "volumeSize": f"{root_volume.size_gib}Gi",
                        "volumeType": "gp3",
                        "iops": root_volume.iops,
                        "throughput": root_volume.throughput_mibps,
                        "encrypted": True,
                        "deleteOnTermination": True,
                    },
                }
            ],
            "tags": {**tags, DISCOVERY_TAG: cluster_name},
        },
    }
    if capacity_reservation_terms:
        # Terms are ORed; Karpenter uses only the reservations they select (no open matching), and only for
        # NodePools that allow capacity type `reserved` (v1.14 concepts/nodeclasses.md, tasks/odcrs.md).
        node_class["spec"]["capacityReservationSelectorTerms"] = [dict(t) for t in capacity_reservation_terms]
    if instance_store_policy is not None:
        # RAID0: AL2023 nodes stripe every local NVMe disk into /dev/md/0 at /mnt/k8s-disks/0, which then holds the
        # kubelet's and containerd's directories; the node's ephemeral storage is the array's size.
        node_class["spec"]["instanceStorePolicy"] = instance_store_policy
    return node_class


def disruption_spec(disruption: DisruptionConfig) -> dict[str, Any]:
    """The NodePool `disruption` block."""
    budgets = []
    for budget in disruption.budgets:
        entry: dict[str, Any] = {"nodes": budget.nodes}
        if budget.schedule is not None:
            entry.update(schedule=budget.schedule, duration=budget.duration)
        if budget.reasons:
            entry["reasons"] = list(budget.reasons)
        budgets.append(entry)
    return {
        "consolidationPolicy": disruption.consolidation_policy,
        "consolidateAfter": disruption.consolidate_after,
        "budgets": budgets,
    }


def node_pool(
    name: str,
    *,
    node_class_name: str,
    requirements: Sequence[Mapping[str, Any]],
    limits: Mapping[str, str],
    disruption: DisruptionConfig,
    expire_after: str,
    termination_grace_period: str,
    labels: Mapping[str, str] | None = None,
    taints: Sequence[Mapping[str, str]] = (),
    weight: int | None = None,
) -> dict[str, Any]:
    """A NodePool: what instances it may launch, how they are labelled and tainted, its limits and disruption."""
    template_spec: dict[str, Any] = {
        "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": node_class_name},
        "requirements": [dict(r) for r in requirements],
        "expireAfter": expire_after,
        # A bound on every drain of this pool's nodes (disruption and NodePool deletion alike), so a
        # PodDisruptionBudget cannot keep a node, and with it `pulumi destroy`, waiting for ever.
        "terminationGracePeriod": termination_grace_period,
    }
    if taints:
        template_spec["taints"] = [dict(t) for t in taints]
    spec: dict[str, Any] = {
        "template": {"metadata": {"labels": dict(labels or {})}, "spec": template_spec},
        "limits": dict(limits),
        "disruption": disruption_spec(disruption),
    }
    if weight is not None:
        spec["weight"] = weight
    return {"apiVersion": NODE_POOL_API, "kind": "NodePool", "metadata": {"name": name}, "spec": spec}


def general_pool_requirements(pool: NodePoolConfig) -> list[dict[str, Any]]:
    """Requirements for a general-purpose pool from its config."""
    requirements = [
        requirement(ARCH_LABEL, "In", pool.architectures),
        requirement(OS_LABEL, "In", ["linux"]),
        requirement(CAPACITY_TYPE_LABEL, "In", pool.capacity_types),
        requirement(INSTANCE_CATEGORY_LABEL, "In", pool.instance_categories),
    ]
    if pool.cpus:
        requirements.append(requirement(INSTANCE_CPU_LABEL, "In", pool.cpus))
    if pool.min_generation is not None:
        # Gt is strict, so "generation 7 or newer" is Gt 6.
        requirements.append(requirement(INSTANCE_GENERATION_LABEL, "Gt", [pool.min_generation - 1]))
    return requirements


def general_node_pool(pool: NodePoolConfig, node_class_name: str) -> dict[str, Any]:
    """The NodePool for one `gpu-eks:nodePools` entry."""
    limits = {"cpu": str(pool.max_cpu)}
    if pool.max_memory_gib is not None:
        limits["memory"] = f"{pool.max_memory_gib}Gi"
    return node_pool(
        pool.name,
        node_class_name=node_class_name,
        requirements=general_pool_requirements(pool),
        limits=limits,
        disruption=pool.disruption,
        expire_after=pool.expire_after,
        termination_grace_period=pool.termination_grace_period,
        labels={POOL_LABEL: pool.name},
        weight=pool.weight,
    )
