"""Pure builders for GPU capacity: NodePools, NodeOverlays, NVIDIA chart values, and the workload contract.

The central fact is `GpuPoolPlan.slices_per_node`: what one node of each instance type will advertise
once the NVIDIA software has applied the pool's sharing. Karpenter computes capacity from EC2's physical
GPU count and knows nothing of time-slicing or MIG (kubernetes-sigs/karpenter#729, #751), so:

* time-slicing / MPS: a NodeOverlay per GPU count sets `nvidia.com/gpu` to GPUs x replicas;
* MIG: a NodeOverlay sets `nvidia.com/mig-<profile>` to GPUs x instances-per-GPU, and `nvidia.com/gpu` to 0,
  because a fully partitioned node advertises no whole GPUs under the mixed strategy; without that, a
  whole-GPU pod could make Karpenter launch a MIG node that never satisfies it.

With an overlay applied, Karpenter's capacity (and therefore the NodePool limit) counts slices, so the
limit is set to maxGpus x slices-per-GPU: the same number of physical GPUs, expressed in the unit the
pool's nodes advertise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import yaml

from components import catalog, nvidia_config, versions
from components.cluster import CONTROLLER_LABEL, CONTROLLER_TAINT
from components.gpu_config import GpuNodePoolConfig
from components.karpenter_manifests import NODE_OVERLAY_API, node_pool, requirement

GPU_RESOURCE = nvidia_config.GPU_RESOURCE
GPU_TAINT = {"key": "nvidia.com/gpu", "effect": "NoSchedule"}
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"  # the NVIDIA DaemonSets' node affinity matches it
POOL_LABEL = "gpu-eks/pool"
SHARING_LABEL = "gpu-eks/sharing"
DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"
MIG_CONFIG_LABEL = "nvidia.com/mig.config"
GPU_NODE_CLASS = "gpu"
DEVICE_PLUGIN_CONFIGMAP = "gpu-eks-device-plugin-configs"


@dataclass(frozen=True)
class GpuPoolPlan:
    """Everything derived from one GPU pool's config and the catalog."""

    config: GpuNodePoolConfig
    instance_types: tuple[catalog.InstanceType, ...]

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def strategy(self) -> str:
        return self.config.sharing.strategy

    @property
    def resource_name(self) -> str:
        """The extended resource a pod requests to get one slice of this pool."""
        if self.strategy == "mig":
            return catalog.mig_resource_name(self.config.sharing.profile)
        return GPU_RESOURCE

    @property
    def slices_per_gpu(self) -> int:
        sharing = self.config.sharing
        if sharing.strategy == "mig":
            return self.instance_types[0].gpu_model.mig_profiles[sharing.profile]
        return sharing.replicas or 1

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
        if self.strategy == "mig":
            return None
        return nvidia_config.device_plugin_config_name(self.strategy, self.config.sharing.replicas)

    @property
    def mig_config_name(self) -> str | None:
        """The mig-parted layout MIG Manager applies (`all-<profile>`), for MIG pools."""
        return nvidia_config.mig_config_name(self.config.sharing.profile) if self.strategy == "mig" else None

    @property
    def needs_overlay(self) -> bool:
        return self.strategy != "none"

    @property
    def limit(self) -> int:
        """The NodePool limit in advertised units: maxGpus physical GPUs' worth of slices."""
        return self.config.max_gpus * self.slices_per_gpu


def plan_pool(config: GpuNodePoolConfig) -> GpuPoolPlan:
    """Resolve a pool's instance types against the catalog."""
    return GpuPoolPlan(config=config, instance_types=tuple(config.catalog_types()))


def pool_labels(plan: GpuPoolPlan) -> dict[str, str]:
    """NodePool template labels: GPU presence (the NVIDIA DaemonSets' affinity), pool identity, sharing config."""
    labels = {GPU_PRESENT_LABEL: "true", POOL_LABEL: plan.name, SHARING_LABEL: plan.strategy}
    if plan.device_plugin_config_name is not None:
        labels[DEVICE_PLUGIN_CONFIG_LABEL] = plan.device_plugin_config_name
    if plan.mig_config_name is not None:
        labels[MIG_CONFIG_LABEL] = plan.mig_config_name
    return labels


def gpu_pool_requirements(plan: GpuPoolPlan) -> list[dict[str, Any]]:
    """Exactly the catalog-resolved instance types, so overlays and prices describe every node it can launch."""
    return [
        requirement("node.kubernetes.io/instance-type", "In", [t.name for t in plan.instance_types]),
        requirement("karpenter.sh/capacity-type", "In", plan.config.capacity_types),
        requirement("kubernetes.io/arch", "In", sorted({t.architecture for t in plan.instance_types})),
        requirement("kubernetes.io/os", "In", ["linux"]),
        requirement("karpenter.k8s.aws/instance-gpu-manufacturer", "In", ["nvidia"]),
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
        taints=[GPU_TAINT],
        weight=plan.config.weight,
    )


def overlay_capacity(plan: GpuPoolPlan, gpus: int) -> dict[str, str]:
    """What a node with `gpus` physical GPUs advertises after sharing is applied."""
    capacity = {plan.resource_name: str(gpus * plan.slices_per_gpu)}
    if plan.strategy == "mig":
        capacity[GPU_RESOURCE] = "0"
    return capacity


def node_overlays(plan: GpuPoolPlan) -> list[dict[str, Any]]:
    """One NodeOverlay per GPU count the pool can launch (overlay capacities are static numbers)."""
    if not plan.needs_overlay:
        return []
    return [
        {
            "apiVersion": NODE_OVERLAY_API,
            "kind": "NodeOverlay",
            "metadata": {"name": f"{plan.name}-{gpus}gpu"},
            "spec": {
                # NodePool template labels are matched by overlays, so this selects exactly this pool.
                "requirements": [
                    requirement(POOL_LABEL, "In", [plan.name]),
                    requirement("karpenter.k8s.aws/instance-gpu-count", "In", [gpus]),
                ],
                "capacity": overlay_capacity(plan, gpus),
            },
        }
        for gpus in plan.gpu_counts
    ]


# -- NVIDIA software -------------------------------------------------------------------------------------------


def uses_gpu_operator(plans: Sequence[GpuPoolPlan]) -> bool:
    """MIG needs MIG Manager, which only the GPU Operator ships; otherwise the lighter device-plugin chart."""
    return any(plan.strategy == "mig" for plan in plans)


def device_plugin_configs(plans: Sequence[GpuPoolPlan], mig_strategy: str) -> dict[str, dict[str, Any]]:
    """One named device-plugin config per sharing setup in use, plus `default` (whole GPUs)."""
    configs = {nvidia_config.DEFAULT_CONFIG_NAME: nvidia_config.whole_gpu_config(mig_strategy=mig_strategy)}
    for plan in plans:
        if plan.device_plugin_config_name is not None and plan.strategy != "none":
            configs[plan.device_plugin_config_name] = nvidia_config.device_plugin_config(
                plan.strategy, plan.config.sharing.replicas, mig_strategy=mig_strategy)
    return dict(sorted(configs.items()))


def _config_map(configs: Mapping[str, dict[str, Any]]) -> dict[str, str]:
    return {name: yaml.safe_dump(config, sort_keys=True) for name, config in configs.items()}


# Where the NVIDIA components run (README "Where the NVIDIA software runs"):
#
# * Cluster-wide controllers (GPU Operator, NFD master and garbage collector) and every hook Job the charts
#   render run on the controller node group, as Karpenter does. When the release installs, those are the only
#   nodes (Karpenter has launched nothing, and with `nodePools: []` never launches a node these pods tolerate);
#   the charts' defaults tolerate nothing but the control-plane taint, which EKS nodes never carry, so Helm's wait
#   would time out and the GPU NodePools, which depend on the release, would never be created.
# * Per-node daemons run on GPU nodes only. The NFD worker selects on the GPU manufacturer label Karpenter sets
#   from the instance type at launch, not on `nvidia.com/gpu.present`: the GPU Operator rewrites that label to
#   "false" on a node NFD has not labelled yet (nodelabeling_controller.go `reconcileCommonGPULabel`
#   @v26.7.0), and a worker selecting on it would then be evicted before it could label the node.
CONTROLLER_NODE_SELECTOR = {CONTROLLER_LABEL: "true"}
CONTROLLER_TOLERATIONS = [{"key": CONTROLLER_TAINT["key"], "operator": "Exists"}]
GPU_MANUFACTURER_LABEL = "karpenter.k8s.aws/instance-gpu-manufacturer"


def on_controller_group() -> dict[str, Any]:
    """nodeSelector and tolerations that put a pod on the controller node group."""
    return {"nodeSelector": dict(CONTROLLER_NODE_SELECTOR), "tolerations": [dict(t) for t in CONTROLLER_TOLERATIONS]}


def nfd_values() -> dict[str, Any]:
    """Placement of the NFD subchart (same keys under `nfd` in the device plugin, `node-feature-discovery` in the
    GPU Operator). The master's settings also place the post-delete prune Job (NFD 0.19.0 post-delete-job.yaml)."""
    return {
        "master": on_controller_group(),
        "gc": on_controller_group(),
        # The charts' NFD worker tolerates `nvidia.com/gpu=present` (device plugin) or no GPU taint at all; ours
        # has no value, so it is tolerated with Exists.
        "worker": {"nodeSelector": {GPU_MANUFACTURER_LABEL: "nvidia"}, "tolerations": [dict(GPU_TOLERATION)]},
    }


def device_plugin_values(plans: Sequence[GpuPoolPlan]) -> dict[str, Any]:
    """Values for the nvidia-device-plugin chart (no MIG in the cluster)."""
    return {
        # GFD labels nodes (product, replicas, mps.capable) and pulls in NFD; MPS needs GFD's label.
        "gfd": {"enabled": True},
        "nfd": nfd_values(),
        # The chart's GPU-node affinity keeps these DaemonSets off the (tolerated) controller group.
        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}, GPU_TOLERATION],
        "config": {"map": _config_map(device_plugin_configs(plans, "none")),
                   "default": nvidia_config.DEFAULT_CONFIG_NAME},
    }


def gpu_operator_values(plans: Sequence[GpuPoolPlan]) -> dict[str, Any]:
    """Values for the GPU Operator chart (some pool uses MIG)."""
    return {
        # The EKS AL2023 NVIDIA AMI ships the driver and the container toolkit.
        "driver": {"enabled": False},
        "toolkit": {"enabled": False},
        # mixed: each MIG profile is its own resource (nvidia.com/mig-1g.5gb) and non-MIG GPUs stay nvidia.com/gpu.
        "mig": {"strategy": "mixed"},
        # Nodes without a pool's nvidia.com/mig.config label get MIG disabled.
        "migManager": {"enabled": True, "config": {"default": "all-disabled"}},
        "devicePlugin": {"enabled": True, "config": {
            "create": True,
            "name": DEVICE_PLUGIN_CONFIGMAP,
            "default": nvidia_config.DEFAULT_CONFIG_NAME,
            "data": _config_map(device_plugin_configs(plans, "mixed")),
        }},
        "gfd": {"enabled": True},
        "nfd": {"enabled": True},
        # The operator Deployment and the chart's hook Jobs (upgrade-crd, cleanup-gpucluster, cleanup-crd) all
        # take operator.nodeSelector and operator.tolerations (templates/operator.yaml, upgrade_crd.yaml,
        # cleanup_gpucluster.yaml, cleanup_crd.yaml @v26.7.0).
        "operator": {"nodeSelector": {"kubernetes.io/os": "linux", **CONTROLLER_NODE_SELECTOR},
                     "tolerations": [dict(t) for t in CONTROLLER_TOLERATIONS]},
        # Operands select GPU nodes by the operator's nvidia.com/gpu.deploy.* labels and tolerate the GPU taint.
        "daemonsets": {"tolerations": [GPU_TOLERATION]},
        "node-feature-discovery": nfd_values(),
        # No Prometheus Operator is installed by this stack; the exporter still serves /metrics.
        "dcgmExporter": {"serviceMonitor": {"enabled": False}},
    }


@dataclass(frozen=True)
class NvidiaChart:
    """Which NVIDIA chart a cluster gets, pinned, and its values."""

    release: str
    chart: str
    repository: str
    version: str
    values: dict[str, Any]


def nvidia_chart(plans: Sequence[GpuPoolPlan]) -> NvidiaChart:
    """Exactly one NVIDIA stack per cluster, so no node ever runs two device plugins."""
    if uses_gpu_operator(plans):
        return NvidiaChart("gpu-operator", versions.NVIDIA_GPU_OPERATOR_CHART, versions.NVIDIA_GPU_OPERATOR_REPOSITORY,
                           versions.NVIDIA_GPU_OPERATOR_VERSION, gpu_operator_values(plans))
    return NvidiaChart("nvidia-device-plugin", versions.NVIDIA_DEVICE_PLUGIN_CHART,
                       versions.NVIDIA_DEVICE_PLUGIN_REPOSITORY, versions.NVIDIA_DEVICE_PLUGIN_VERSION,
                       device_plugin_values(plans))


# -- workload contract -----------------------------------------------------------------------------------------


def usd_per_slice_hour(plan: GpuPoolPlan) -> dict[str, float | None]:
    """On-demand $ per slice-hour per instance type, from the catalog's price snapshot (None where unknown)."""
    return {
        t.name: None if t.on_demand_usd_per_hour is None else round(t.on_demand_usd_per_hour / (t.gpus * plan.slices_per_gpu), 4)
        for t in plan.instance_types
    }


def workload_contract(plan: GpuPoolPlan) -> dict[str, Any]:
    """What a workload needs to use the pool: the resource to request, where it lands, and what it costs."""
    contract: dict[str, Any] = {
        "strategy": plan.strategy,
        "resourceName": plan.resource_name,
        "slicesPerGpu": plan.slices_per_gpu,
        "slicesPerNode": plan.slices_per_node,
        "nodeSelector": {POOL_LABEL: plan.name},
        "tolerations": [GPU_TOLERATION],
        "capacityTypes": list(plan.config.capacity_types),
        "maxGpus": plan.config.max_gpus,
        "limit": {plan.resource_name: plan.limit},
        "usdPerSliceHour": usd_per_slice_hour(plan),
        "priceSource": f"on-demand {catalog.PRICE_REGION}, snapshot {catalog.PRICE_SNAPSHOT_DATE}",
    }
    if plan.strategy in ("time-slicing", "mps"):
        contract["replicas"] = plan.config.sharing.replicas
    if plan.strategy == "mig":
        contract["migProfile"] = plan.config.sharing.profile
    return contract
