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


def node_monitoring_agent_configuration(gpu_tolerations: list[dict[str, Any]]) -> dict[str, Any]:
    """The add-on's configurationValues.

    The agent's DaemonSet tolerates every taint, but its `dcgm-server` DaemonSet (the DCGM host engine the
    agent's NVIDIA monitor connects to) tolerates none (chart 1.7.0 values.yaml dcgmAgent.tolerations: []), so
    on our tainted GPU nodes it would never run, the agent would report AcceleratedHardwareReady=False with
    reason DCGMError (severity Fatal, pkg/reasons/reasons.yaml) and node repair would replace every GPU node
    after 10 minutes. dcgmAgent.tolerations is in the add-on's configuration schema
    (charts/configuration.schema.json at v1.7.0).
    """
    return {"dcgmAgent": {"tolerations": [dict(t) for t in gpu_tolerations]}}
