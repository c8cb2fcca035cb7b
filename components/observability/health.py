"""GPU and node health: the EKS node monitoring agent add-on's configuration.

The agent (an EKS add-on, pinned per Kubernetes version in components/versions.py) watches kernel, storage,
networking, container runtime and, on NVIDIA nodes, DCGM and XID errors, and reports them as node conditions;
Karpenter's nodeRepair gate (turned on by nodeHealth.autoRepair) replaces a node whose condition stays bad.
"""

from __future__ import annotations

from typing import Any

NODE_MONITORING_AGENT_ADDON = "eks-node-monitoring-agent"
# Karpenter's repair policies (aws/karpenter-provider-aws v1.14.1 pkg/cloudprovider/cloudprovider.go
# RepairPolicies): condition, status, how long Karpenter tolerates it before it force-terminates the node. The
# README's table is checked against this.
REPAIR_POLICIES: tuple[tuple[str, str, str], ...] = (
    ("Ready", "False", "30m"),
    ("Ready", "Unknown", "30m"),
    ("AcceleratedHardwareReady", "False", "10m"),
    ("StorageReady", "False", "30m"),
    ("NetworkingReady", "False", "30m"),
    ("KernelReady", "False", "30m"),
    ("ContainerRuntimeReady", "False", "30m"),
)
# Karpenter repairs no node of a NodePool in which more than this share of nodes is unhealthy (disruption.md).
REPAIR_SAFETY_SHARE = 0.2


# The agent's dcgm-server is a GPU client the GPU Operator does not own: it holds every GPU of the node. Turning MIG
# mode on or off needs a GPU reset (A100: mig-parted#181, gpu-operator#118), which fails while any process holds a
# GPU, and MIG Manager pauses only what it knows. MIG Manager v0.15.0 (pkg/mig/reconfigure/reconfigure.go
# shutdownKubernetesGPUClients, waitForPodsWithNodeSelector) also pauses third-party clients: it sets
# nvidia.com/gpu.deploy.client (which the operator puts on every GPU node, state_manager.go gpuStateLabels at
# v26.7.0) to "paused-for-mig-change" and waits until no DaemonSet pod selecting on that key is left on the node, then
# restores it. So on GPU Operator stacks the dcgm-server selects on it, and stops for every MIG change.
THIRD_PARTY_GPU_CLIENT_LABEL = "nvidia.com/gpu.deploy.client"
MIG_CONFIG_STATE_LABEL = "nvidia.com/mig.config.state"
# When MIG Manager fails it restores the clients and sets the state to "failed" (reconfigure.go setState): the node
# would stay up with its GPUs unpartitioned, advertising no MIG slice, and nothing would replace it. Keeping the
# dcgm-server off such a node makes the agent report AcceleratedHardwareReady=False (DCGMError, severity Fatal:
# monitors/nvidia/dcgm/dcgm_reconcile.go, pkg/reasons/reasons.go at v1.7.0), and node repair replaces it after 10
# minutes (REPAIR_POLICIES) with a fresh node that MIG Manager partitions before the dcgm-server starts.
MIG_FAILED_STATE = "failed"
GPU_MANUFACTURER_LABEL = "karpenter.k8s.aws/instance-gpu-manufacturer"
ARCH_LABEL = "kubernetes.io/arch"


def dcgm_server_affinity() -> dict[str, Any]:
    """The dcgm-server's node affinity: amd64 NVIDIA GPU nodes (Karpenter labels them from the instance type at
    launch) whose MIG configuration has not failed. Replaces the chart's default (a list of GPU instance types, not
    Fargate/Auto/hybrid/HyperPod, amd64: chart 1.7.0 values.yaml dcgmAgent.affinity) whole."""
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": GPU_MANUFACTURER_LABEL, "operator": "In", "values": ["nvidia"]},
                            # As the chart's default: the agent monitors NVIDIA GPUs on amd64 nodes only.
                            {"key": ARCH_LABEL, "operator": "In", "values": ["amd64"]},
                            {"key": MIG_CONFIG_STATE_LABEL, "operator": "NotIn", "values": [MIG_FAILED_STATE]},
                        ]
                    }
                ]
            }
        }
    }


def node_monitoring_agent_configuration(gpu_tolerations: list[dict[str, Any]], *, gpu_operator: bool) -> dict[str, Any]:
    """The add-on's configurationValues.

    The agent's DaemonSet tolerates every taint, but its `dcgm-server` DaemonSet (the DCGM host engine the
    agent's NVIDIA monitor connects to) tolerates none (chart 1.7.0 values.yaml dcgmAgent.tolerations: []), so
    on our tainted GPU nodes it would never run, the agent would report AcceleratedHardwareReady=False with
    reason DCGMError (severity Fatal, pkg/reasons/reasons.yaml) and node repair would replace every GPU node
    after 10 minutes. dcgmAgent.tolerations, .affinity and .nodeSelector are in the add-on's configuration schema
    (charts/configuration.schema.json at v1.7.0). On GPU Operator stacks it also selects on the third-party client
    label, so MIG Manager stops it before changing MIG mode and starts it again afterwards.
    """
    agent: dict[str, Any] = {"tolerations": [dict(t) for t in gpu_tolerations], "affinity": dcgm_server_affinity()}
    if gpu_operator:
        agent["nodeSelector"] = {THIRD_PARTY_GPU_CLIENT_LABEL: "true"}
    return {"dcgmAgent": agent}
