"""Names the observability builders, the component, the dashboards and the tests share, each spelled once."""

from __future__ import annotations

from components.common.names import CAPACITY_TYPE_LABEL, INSTANCE_TYPE_LABEL, POOL_LABEL

MONITORING_NAMESPACE = "monitoring"
# The kube-prometheus-stack release. Its name contains the chart's, so the chart names its objects after the
# release alone (`kube-prometheus-stack-grafana`, `kube-prometheus-stack-prometheus`).
STACK_RELEASE = "kube-prometheus-stack"
DCGM_EXPORTER_RELEASE = "dcgm-exporter"
# Service accounts EKS Pod Identity associations bind to (set explicitly in the values, not left to the chart).
PROMETHEUS_SERVICE_ACCOUNT = "prometheus"
GRAFANA_SERVICE_ACCOUNT = "grafana"
GRAFANA_SERVICE = f"{STACK_RELEASE}-grafana"
GRAFANA_ADMIN_SECRET = f"{STACK_RELEASE}-grafana"  # the chart's Secret; admin-password is generated in the cluster
PROMETHEUS_SERVICE = f"{STACK_RELEASE}-prometheus"

# Grafana's dashboard sidecar loads every ConfigMap with this label (kube-prometheus-stack 88.5.3 values.yaml
# grafana.sidecar.dashboards.label / labelValue, searchNamespace ALL).
DASHBOARD_LABEL = "grafana_dashboard"
DASHBOARD_LABEL_VALUE = "1"

# kube-state-metrics exports a node label as `label_<name>` with every character outside [a-zA-Z0-9_] turned
# into "_" (kube-state-metrics v2.20.0 internal/store/utils.go SanitizeLabelName), and only for labels named in
# its allowlist. The dashboards and alerts join GPU metrics to pools through these.
NODE_LABELS_EXPORTED = (POOL_LABEL, CAPACITY_TYPE_LABEL, INSTANCE_TYPE_LABEL)


def ksm_label(label: str) -> str:
    """The kube_node_labels label for a node label: `gpu-eks/pool` -> `label_gpu_eks_pool`."""
    return "label_" + "".join(c if c.isalnum() or c == "_" else "_" for c in label)


# The label the DCGM ServiceMonitors add to every GPU series: the node the exporter pod runs on.
NODE_METRIC_LABEL = "node"
# The node relabeling both DCGM ServiceMonitors (standalone chart and GPU Operator) apply.
NODE_RELABELING = {
    "sourceLabels": ["__meta_kubernetes_pod_node_name"],
    "targetLabel": NODE_METRIC_LABEL,
    "action": "replace",
}
