"""Our alerting rules as Prometheus rule groups: one list, rendered as a PrometheusRule in the cluster (through the
chart's additionalPrometheusRulesMap) or as an AMP rule groups namespace.

Every expression is parsed with a real PromQL parser and every metric it names is checked against what the
exporters in the stack export (tests/observability). Each alert's runbook line is in the README ("Alerts").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.common.names import POOL_LABEL
from components.observability.names import NODE_METRIC_LABEL, ksm_label

# GPU resources as the three exporters spell them. Karpenter lower-cases a resource name and turns "-" into "_"
# (kubernetes-sigs/karpenter pkg/controllers/metrics/node/controller.go resourceNameToString):
# nvidia.com/gpu, nvidia.com/mig_1g.10gb. kube-state-metrics turns every character outside [a-zA-Z0-9_] into "_":
# nvidia_com_gpu, nvidia_com_mig_1g_10gb.
KARPENTER_GPU_RESOURCES = "nvidia.com/gpu|nvidia.com/mig_.+"
KSM_GPU_RESOURCES = "nvidia_com_gpu|nvidia_com_mig_.+"
POOL = ksm_label(POOL_LABEL)  # label_gpu_eks_pool

# How long a GPU pod may wait: a cold GPU node takes 2-5 minutes to launch, boot and start its device plugin, and
# a large image several more (research gpu-on-eks-2026.md section 5), so 15 minutes means something is wrong.
GPU_POD_PENDING_FOR = "15m"


@dataclass(frozen=True)
class Alert:
    """One alerting rule."""

    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    runbook: str  # the README's runbook line (tests keep the README in step)

    def rule(self) -> dict[str, Any]:
        rule: dict[str, Any] = {"alert": self.name, "expr": self.expr}
        if self.for_ != "0m":
            rule["for"] = self.for_
        rule["labels"] = {"severity": self.severity}
        rule["annotations"] = {"summary": self.summary, "runbook": self.runbook}
        return rule


# GPU node -> pool, from kube-state-metrics' kube_node_labels (allowlisted in values.py).
_GPU_NODES = f'kube_node_labels{{{POOL}!=""}}'

ALERTS: tuple[Alert, ...] = (
    Alert(
        "GpuXidError",
        f"max by ({NODE_METRIC_LABEL}, gpu, UUID, modelName) (DCGM_FI_DEV_XID_ERRORS) > 0",
        "0m",
        "critical",
        "GPU {{ $labels.gpu }} on {{ $labels.node }} reported XID {{ $value }}",
        "Look the XID up in NVIDIA's Xid catalogue. With nodeHealth.autoRepair the node monitoring agent sets "
        "AcceleratedHardwareReady=False for an XID it deems critical (reason NvidiaXID<code>Error) and Karpenter "
        "replaces the node 10 minutes later; for any other, or without auto repair, cordon and drain the node "
        "(kubectl drain <node> --ignore-daemonsets --delete-emptydir-data) and delete its NodeClaim if the XID "
        "repeats.",
    ),
    Alert(
        "GpuNodeNotReady",
        f'(max by (node) (kube_node_status_condition{{condition="Ready", status!="true"}}) == 1)'
        f" * on (node) group_left ({POOL}) max by (node, {POOL}) ({_GPU_NODES})",
        "10m",
        "warning",
        "GPU node {{ $labels.node }} of pool {{ $labels." + POOL + " }} is not Ready",
        "kubectl describe node <node> (conditions, events); check the kubelet and the NVIDIA device plugin pod on it. "
        "Karpenter's node repair replaces a node NotReady for 30 minutes; to act sooner delete its NodeClaim.",
    ),
    Alert(
        "GpuPodPending",
        f'sum by (namespace, pod) (kube_pod_container_resource_requests{{resource=~"{KSM_GPU_RESOURCES}"}})'
        ' * on (namespace, pod) group_left () (max by (namespace, pod) (kube_pod_status_phase{phase="Pending"}) == 1)'
        " > 0",
        GPU_POD_PENDING_FOR,
        "warning",
        "GPU pod {{ $labels.namespace }}/{{ $labels.pod }} has been Pending for " + GPU_POD_PENDING_FOR,
        "kubectl describe pod (events: Insufficient nvidia.com/..., taints, nodeSelector); compare its request with "
        "the pool's resourceName, nodeSelector and tolerations in the gpuPools output; check Karpenter's logs for "
        "the NodeClaim it launched (or why not), and the alerts NodePoolAtLimit and KarpenterInsufficientCapacity.",
    ),
    Alert(
        "NodePoolAtLimit",
        "max by (nodepool, resource_type) (karpenter_nodepools_usage)"
        " >= on (nodepool, resource_type) max by (nodepool, resource_type) (karpenter_nodepools_limit)",
        "10m",
        "warning",
        "NodePool {{ $labels.nodepool }} uses all of its {{ $labels.resource_type }} limit",
        "Karpenter launches nothing more in this pool. Raise the pool's maxGpus (GPU pools) or maxCpu/maxMemoryGib "
        "and pulumi up, or free capacity; the GPU pools dashboard shows slices requested versus allocatable.",
    ),
    Alert(
        "KarpenterInsufficientCapacity",
        'sum by (controller) (increase(karpenter_cloudprovider_errors_total{method="Create", '
        'error="InsufficientCapacityError"}[15m])) > 0',
        "0m",
        "warning",
        "Karpenter could not launch an instance: EC2 has no capacity for the offerings it tried",
        "Karpenter's log (kubectl -n kube-system logs deploy/karpenter, search InsufficientCapacity) names the "
        "instance types and zones. "
        "Widen the pool (more instanceFamilies/instanceTypes, spot and on-demand, more zones) or reserve capacity; "
        "Karpenter retries other offerings after its 3-minute ICE cache expires.",
    ),
    Alert(
        "SpotInterruptionsInPool",
        'sum by (nodepool) (increase(karpenter_nodeclaims_disrupted_total{reason="spot_interrupted"}[30m])) > 0',
        "0m",
        "info",
        "{{ $value }} spot interruption(s) in NodePool {{ $labels.nodepool }} in the last 30 minutes",
        "Karpenter drained and replaced the nodes (2-minute warning via the SQS queue). If a pool is interrupted "
        "often, add instance types or zones, or move jobs that cannot checkpoint to an on-demand pool.",
    ),
)


def rule_groups() -> list[dict[str, Any]]:
    """The rule groups (Prometheus rule file format, also what AMP takes)."""
    return [{"name": "gpu-eks", "rules": [alert.rule() for alert in ALERTS]}]
