"""Pure builders for the cluster's one NVIDIA chart: the device plugin (no MIG) or the GPU Operator (any MIG
pool), with one named device-plugin config per sharing setup in use, and where each NVIDIA component runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from components import versions
from components.common.names import (
    CONTROLLER_LABEL,
    CRITICAL_ADDONS_TAINT_KEY,
    INSTANCE_GPU_MANUFACTURER_LABEL,
    OS_LABEL,
)
from components.gpu import nvidia_config
from components.gpu.names import SharingStrategy
from components.gpu.pools import GpuPoolPlan, gpu_node_tolerations

DEVICE_PLUGIN_CONFIGMAP = "gpu-eks-device-plugin-configs"


def uses_gpu_operator(plans: Sequence[GpuPoolPlan]) -> bool:
    """MIG needs MIG Manager, which only the GPU Operator ships; otherwise the lighter device-plugin chart."""
    return any(plan.strategy == SharingStrategy.MIG for plan in plans)


def device_plugin_configs(plans: Sequence[GpuPoolPlan], mig_strategy: str) -> dict[str, dict[str, Any]]:
    """One named device-plugin config per sharing setup in use, plus `default` (whole GPUs)."""
    configs = {nvidia_config.DEFAULT_CONFIG_NAME: nvidia_config.whole_gpu_config(mig_strategy=mig_strategy)}
    for plan in plans:
        if plan.device_plugin_config_name is not None and plan.strategy != SharingStrategy.NONE:
            configs[plan.device_plugin_config_name] = nvidia_config.device_plugin_config(
                plan.strategy, plan.config.sharing.replicas, mig_strategy=mig_strategy
            )
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
CONTROLLER_TOLERATIONS = [{"key": CRITICAL_ADDONS_TAINT_KEY, "operator": "Exists"}]


def on_controller_group() -> dict[str, Any]:
    """nodeSelector and tolerations that put a pod on the controller node group."""
    return {"nodeSelector": dict(CONTROLLER_NODE_SELECTOR), "tolerations": [dict(t) for t in CONTROLLER_TOLERATIONS]}


def nfd_values(plans: Sequence[GpuPoolPlan]) -> dict[str, Any]:
    """Placement of the NFD subchart (same keys under `nfd` in the device plugin, `node-feature-discovery` in the
    GPU Operator). The master's settings also place the post-delete prune Job (NFD 0.19.0 post-delete-job.yaml)."""
    return {
        "master": on_controller_group(),
        "gc": on_controller_group(),
        # The charts' NFD worker tolerates `nvidia.com/gpu=present` (device plugin) or no GPU taint at all; ours
        # has no value, so it is tolerated with Exists; and it must pass the sharing and team taints too.
        "worker": {
            "nodeSelector": {INSTANCE_GPU_MANUFACTURER_LABEL: "nvidia"},
            "tolerations": gpu_node_tolerations(plans),
        },
    }


def device_plugin_values(plans: Sequence[GpuPoolPlan]) -> dict[str, Any]:
    """Values for the nvidia-device-plugin chart (no MIG in the cluster)."""
    return {
        # GFD labels nodes (product, replicas, mps.capable) and pulls in NFD; MPS needs GFD's label.
        "gfd": {"enabled": True},
        "nfd": nfd_values(plans),
        # The chart's GPU-node affinity keeps these DaemonSets off the (tolerated) controller group.
        "tolerations": [{"key": CRITICAL_ADDONS_TAINT_KEY, "operator": "Exists"}, *gpu_node_tolerations(plans)],
        "config": {
            "map": _config_map(device_plugin_configs(plans, "none")),
            "default": nvidia_config.DEFAULT_CONFIG_NAME,
        },
    }


def gpu_operator_values(plans: Sequence[GpuPoolPlan], dcgm_exporter: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Values for the GPU Operator chart (some pool uses MIG). `dcgm_exporter`: the `dcgmExporter` values the
    metrics stack wants (components.observability.dcgm); None when the stack has no Prometheus Operator."""
    return {
        # The EKS AL2023 NVIDIA AMI ships the driver and the container toolkit.
        "driver": {"enabled": False},
        "toolkit": {"enabled": False},
        # mixed: each MIG profile is its own resource (nvidia.com/mig-1g.5gb) and non-MIG GPUs stay nvidia.com/gpu.
        "mig": {"strategy": "mixed"},
        # Nodes without a pool's nvidia.com/mig.config label get MIG disabled.
        "migManager": {"enabled": True, "config": {"default": "all-disabled"}},
        "devicePlugin": {
            "enabled": True,
            "config": {
                "create": True,
                "name": DEVICE_PLUGIN_CONFIGMAP,
                "default": nvidia_config.DEFAULT_CONFIG_NAME,
                "data": _config_map(device_plugin_configs(plans, "mixed")),
            },
        },
        "gfd": {"enabled": True},
        "nfd": {"enabled": True},
        # The operator Deployment and the chart's hook Jobs (upgrade-crd, cleanup-gpucluster, cleanup-crd) all
        # take operator.nodeSelector and operator.tolerations (templates/operator.yaml, upgrade_crd.yaml,
        # cleanup_gpucluster.yaml, cleanup_crd.yaml @v26.7.0).
        "operator": {
            "nodeSelector": {OS_LABEL: "linux", **CONTROLLER_NODE_SELECTOR},
            "tolerations": [dict(t) for t in CONTROLLER_TOLERATIONS],
        },
        # Operands select GPU nodes by the operator's nvidia.com/gpu.deploy.* labels and tolerate the GPU, sharing
        # and team taints.
        "daemonsets": {"tolerations": gpu_node_tolerations(plans)},
        "node-feature-discovery": nfd_values(plans),
        # One DCGM host engine per node (components/observability/dcgm.py): never the operator's standalone one
        # (the chart's default too, written out because a second engine must not come back with a default change);
        # the exporter embeds the node's engine, or connects to the node monitoring agent's.
        "dcgm": {"enabled": False},
        # Without a metrics stack there is no Prometheus Operator to read a ServiceMonitor; the exporter still
        # serves /metrics.
        "dcgmExporter": dict(dcgm_exporter) if dcgm_exporter is not None else {"serviceMonitor": {"enabled": False}},
    }


@dataclass(frozen=True)
class NvidiaChart:
    """Which NVIDIA chart a cluster gets, pinned, and its values."""

    release: str
    chart: str
    repository: str
    version: str
    values: dict[str, Any]


def nvidia_chart(plans: Sequence[GpuPoolPlan], dcgm_exporter: Mapping[str, Any] | None = None) -> NvidiaChart:
    """Exactly one NVIDIA stack per cluster, so no node ever runs two device plugins. `dcgm_exporter` configures
    the GPU Operator's DCGM exporter (the device plugin chart has none: the metrics stack installs one)."""
    if uses_gpu_operator(plans):
        return NvidiaChart(
            versions.NVIDIA_GPU_OPERATOR_CHART,
            versions.NVIDIA_GPU_OPERATOR_CHART,
            versions.NVIDIA_GPU_OPERATOR_REPOSITORY,
            versions.NVIDIA_GPU_OPERATOR_VERSION,
            gpu_operator_values(plans, dcgm_exporter),
        )
    return NvidiaChart(
        versions.NVIDIA_DEVICE_PLUGIN_CHART,
        versions.NVIDIA_DEVICE_PLUGIN_CHART,
        versions.NVIDIA_DEVICE_PLUGIN_REPOSITORY,
        versions.NVIDIA_DEVICE_PLUGIN_VERSION,
        device_plugin_values(plans),
    )
