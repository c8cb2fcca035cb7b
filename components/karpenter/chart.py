"""Pure builders for Karpenter's Helm charts: the `karpenter` chart's values and the charts' OCI references."""

from __future__ import annotations

from typing import Any

from components import versions
from components.cluster.config import KARPENTER_REPLICAS
from components.common.names import CONTROLLER_LABEL, CRITICAL_ADDONS_TAINT_KEY, OS_LABEL
from components.karpenter.config import KarpenterConfig

# The getting-started guide's controller sizing; requests == limits keeps the controller Guaranteed QoS.
CONTROLLER_RESOURCES = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"


def karpenter_values(
    config: KarpenterConfig,
    *,
    cluster_name: str,
    queue_name: str,
    region: str,
    irsa_role_arn: str | None = None,
    service_monitor: bool = False,
) -> dict[str, Any]:
    """Helm values for the `karpenter` chart. Every key exists in the chart's values.yaml (tested).

    `service_monitor`: a Prometheus Operator runs in the cluster (observability on). The chart renders its
    ServiceMonitor only when the ServiceMonitor CRD already exists (templates/servicemonitor.yaml checks
    .Capabilities.APIVersions), so the release must install after the monitoring release.
    """
    service_account: dict[str, Any] = {"create": True, "name": versions.KARPENTER_SERVICE_ACCOUNT}
    if irsa_role_arn is not None:
        service_account["annotations"] = {IRSA_ROLE_ANNOTATION: irsa_role_arn}
    return {
        # The controller node group is validated to hold this many (hostname anti-affinity):
        # components/cluster/config.py.
        "replicas": KARPENTER_REPLICAS,
        "logLevel": config.log_level,
        # Only on the controller node group: Karpenter must never run on nodes it may remove.
        "nodeSelector": {OS_LABEL: "linux", CONTROLLER_LABEL: "true"},
        "tolerations": [{"key": CRITICAL_ADDONS_TAINT_KEY, "operator": "Exists"}],
        # The controller group's IMDS hop limit is 1 (pods must not reach the node role), so Karpenter cannot
        # ask IMDS for its region; v1.14.1 reads AWS_REGION first and panics without either
        # (pkg/operator/operator.go; aws/karpenter-provider-aws#8219). The chart sets no region itself.
        "controller": {"resources": CONTROLLER_RESOURCES, "env": [{"name": "AWS_REGION", "value": region}]},
        "serviceAccount": service_account,
        "settings": {
            "clusterName": cluster_name,
            "interruptionQueue": queue_name,
            "featureGates": dict(sorted(config.feature_gates.items())),
        },
        "serviceMonitor": {"enabled": service_monitor},
    }


def oci_chart(chart: str) -> str:
    """Full OCI reference of a Karpenter chart."""
    return f"{versions.KARPENTER_CHART_REPOSITORY}/{chart}"
