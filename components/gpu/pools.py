"""Pure builders for a GPU pool's plan and its Karpenter NodePool.

The central fact is `GpuPoolPlan.slices_per_node`: what one node of each instance type will advertise
once the NVIDIA software has applied the pool's sharing. Karpenter computes capacity from EC2's physical
GPU count and knows nothing of time-slicing or MIG (kubernetes-sigs/karpenter#729, #751), so:

* time-slicing / MPS: a NodeOverlay per GPU count sets `nvidia.com/gpu` to GPUs x replicas;
* MIG: a NodeOverlay sets `nvidia.com/mig-<profile>` to GPUs x instances-per-GPU, and `nvidia.com/gpu` to 0,
  because a fully partitioned node advertises no whole GPUs under the mixed strategy; without that, a
  whole-GPU pod could make Karpenter launch a MIG node that never satisfies it.

With an overlay applied, Karpenter's capacity (and therefore the NodePool limit) counts slices, so the
limit is set to maxGpus x slices-per-GPU: the same number of physical GPUs, expressed in the unit the
pool's nodes advertise. The overlays are built in `components.gpu.overlays`, the NVIDIA chart in
`components.gpu.nvidia_values`, the workload contract in `components.gpu.contract`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.common.names import (
    ARCH_LABEL,
    CAPACITY_TYPE_LABEL,
    INSTANCE_GPU_MANUFACTURER_LABEL,
    INSTANCE_TYPE_LABEL,
    OS_LABEL,
    POOL_LABEL,
)
from components.gpu import catalog, nvidia_config
from components.gpu.config import GpuNodePoolConfig
from components.gpu.names import (
    DEVICE_PLUGIN_CONFIG_LABEL,
    GPU_PRESENT_LABEL,
    GPU_RESOURCE,
    GPU_TAINT_KEY,
    MIG_CONFIG_LABEL,
    SHARING_LABEL,
    SHARING_TAINT_KEY,
    SharingStrategy,
)
from components.gpu.storage import INSTANCE_STORE_POLICY_NAMES
from components.karpenter.manifests import InstanceStorePolicy, node_pool, requirement

GPU_TAINT = {"key": GPU_TAINT_KEY, "effect": "NoSchedule"}
GPU_TOLERATION = {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}
# What a per-node NVIDIA DaemonSet needs to run on every sharing pool, whatever its strategy.
SHARING_TOLERATION = {"key": SHARING_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}
GPU_NODE_CLASS = "gpu"


@dataclass(frozen=True)
class GpuPoolPlan:
    """Everything derived from one GPU pool's config and the catalog."""

    config: GpuNodePoolConfig
    instance_types: tuple[catalog.InstanceType, ...]

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def strategy(self) -> SharingStrategy:
        return self.config.sharing.strategy

    @property
    def resource_name(self) -> str:
        """The extended resource a pod requests to get one slice of this pool."""
        if self.strategy == SharingStrategy.MIG:
            return catalog.mig_resource_name(self.mig_profile)
        return GPU_RESOURCE

    @property
    def mig_profile(self) -> str:
        """The MIG profile of a MIG pool (the parser requires one for strategy mig)."""
        profile = self.config.sharing.profile
        if profile is None:
            raise ValueError(f"GPU pool {self.name} has no MIG profile")
        return profile

    @property
    def slices_per_gpu(self) -> int:
        # A MIG pool has one GPU model (the parser requires it), so the first type's model speaks for all.
        return self.config.sharing.slices_per_gpu(self.instance_types[0].gpu_model)

    @property
    def slices_per_node(self) -> dict[str, int]:
        """Slices one node of each instance type advertises."""
        return {t.name: t.gpus * self.slices_per_gpu for t in self.instance_types}

    @property
    def gpu_counts(self) -> list[int]:
        """The distinct GPU counts of the pool's instance types (one NodeOverlay each)."""
        return sorted({t.gpus for t in self.instance_types})

    @property
    def device_plugin_config_name(self) -> str | None:
        """The named device-plugin config this pool's nodes select (None for MIG pools)."""
        if self.strategy == SharingStrategy.MIG:
            return None
        return nvidia_config.device_plugin_config_name(self.strategy, self.config.sharing.replicas)

    @property
    def mig_config_name(self) -> str | None:
        """The mig-parted layout MIG Manager applies (`all-<profile>`), for MIG pools."""
        return nvidia_config.mig_config_name(self.mig_profile) if self.strategy == SharingStrategy.MIG else None

    @property
    def needs_overlay(self) -> bool:
        return self.strategy != SharingStrategy.NONE

    @property
    def limit(self) -> int:
        """The NodePool limit in advertised units: maxGpus physical GPUs' worth of slices."""
        return self.config.max_gpus * self.slices_per_gpu


def plan_pool(config: GpuNodePoolConfig) -> GpuPoolPlan:
    """Resolve a pool's instance types against the catalog."""
    return GpuPoolPlan(config=config, instance_types=tuple(config.catalog_types()))


def pool_labels(plan: GpuPoolPlan) -> dict[str, str]:
    """NodePool template labels: GPU presence (the NVIDIA DaemonSets' affinity), pool identity, sharing config."""
    labels = {GPU_PRESENT_LABEL: "true", POOL_LABEL: plan.name, SHARING_LABEL: plan.strategy.value}
    if plan.device_plugin_config_name is not None:
        labels[DEVICE_PLUGIN_CONFIG_LABEL] = plan.device_plugin_config_name
    if plan.mig_config_name is not None:
        labels[MIG_CONFIG_LABEL] = plan.mig_config_name
    return labels


def sharing_taint(plan: GpuPoolPlan) -> dict[str, str] | None:
    """`gpu-eks/sharing=<strategy>:NoSchedule` on a pool whose GPUs are shared (None for whole-GPU pools).

    Time-sliced and MPS nodes advertise the same `nvidia.com/gpu` as whole GPUs and carry the same GPU taint, so
    without it a pod that wants a whole GPU but names no pool could land on a shared one. Renaming the shared
    resource (the device plugin's renameByDefault) is not an option: the node would never advertise the
    `nvidia.com/gpu` the NodeOverlay promises Karpenter (see components/gpu/nvidia_config.py). MIG pools carry it
    too: until MIG Manager has partitioned a new node, its device plugin may advertise whole GPUs.
    """
    if plan.strategy == SharingStrategy.NONE:
        return None
    return {"key": SHARING_TAINT_KEY, "value": plan.strategy.value, "effect": "NoSchedule"}


def pool_taints(plan: GpuPoolPlan) -> list[dict[str, str]]:
    """The pool's node taints: the GPU taint, the sharing taint of a sharing pool, then the team's own."""
    taint = sharing_taint(plan)
    return [GPU_TAINT, *([taint] if taint else []), *(t.manifest() for t in plan.config.taints)]


def pool_tolerations(plan: GpuPoolPlan) -> list[dict[str, str]]:
    """What a workload must tolerate to land on the pool: each of its taints, and nothing broader (a toleration
    of every `gpu-eks/sharing` value would also admit the pod to other sharing pools)."""
    tolerations = [dict(GPU_TOLERATION)]
    taint = sharing_taint(plan)
    if taint is not None:
        tolerations.append({"key": taint["key"], "operator": "Equal", "value": taint["value"], "effect": "NoSchedule"})
    return tolerations + [t.toleration() for t in plan.config.taints]


def gpu_node_tolerations(plans: Sequence[GpuPoolPlan]) -> list[dict[str, str]]:
    """What a DaemonSet that must run on every GPU node (the NVIDIA device plugin, GFD, NFD worker, the GPU
    Operator's operands, a GPU metrics exporter) tolerates: the GPU taint, any sharing taint and every team taint
    of the cluster's pools. Its node selector or affinity, not these, keeps it off other nodes."""
    tolerations = [dict(GPU_TOLERATION)]
    if any(sharing_taint(plan) for plan in plans):
        tolerations.append(dict(SHARING_TOLERATION))
    for plan in plans:
        for taint in plan.config.taints:
            if taint.toleration() not in tolerations:
                tolerations.append(taint.toleration())
    return tolerations


def node_class_reservation_terms(plan: GpuPoolPlan) -> list[dict[str, Any]]:
    """The pool's EC2NodeClass capacityReservationSelectorTerms: `{id}` or `{tags, ownerID}` (the CRD's spelling)."""
    terms: list[dict[str, Any]] = []
    for term in plan.config.capacity_reservations:
        if term.id is not None:
            terms.append({"id": term.id})
        else:
            terms.append({"tags": dict(term.tags), **({"ownerID": term.owner_id} if term.owner_id else {})})
    return terms


def node_class_instance_store(plan: GpuPoolPlan) -> InstanceStorePolicy | None:
    """The pool's EC2NodeClass instanceStorePolicy (None: Karpenter leaves the instance store unused)."""
    store = plan.config.instance_store
    return None if store is None else INSTANCE_STORE_POLICY_NAMES[store]


def gpu_pool_requirements(plan: GpuPoolPlan) -> list[dict[str, Any]]:
    """Exactly the catalog-resolved instance types, so overlays and prices describe every node it can launch."""
    return [
        requirement(INSTANCE_TYPE_LABEL, "In", [t.name for t in plan.instance_types]),
        requirement(CAPACITY_TYPE_LABEL, "In", plan.config.capacity_types),
        requirement(ARCH_LABEL, "In", sorted({t.architecture for t in plan.instance_types})),
        requirement(OS_LABEL, "In", ["linux"]),
        requirement(INSTANCE_GPU_MANUFACTURER_LABEL, "In", ["nvidia"]),
    ]


def gpu_node_pool(plan: GpuPoolPlan, node_class_name: str = GPU_NODE_CLASS) -> dict[str, Any]:
    """The Karpenter NodePool for a GPU pool."""
    return node_pool(
        plan.name,
        node_class_name=node_class_name,
        requirements=gpu_pool_requirements(plan),
        limits={plan.resource_name: str(plan.limit)},
        disruption=plan.config.disruption,
        expire_after=plan.config.expire_after,
        termination_grace_period=plan.config.termination_grace_period,
        labels=pool_labels(plan),
        taints=pool_taints(plan),
        weight=plan.config.weight,
    )
