"""Pure builders for the metrics stack's Helm values (kube-prometheus-stack) and its sizing.

Both modes run the same chart: `in-cluster` as Prometheus + Alertmanager + Grafana with an encrypted gp3 volume;
`amp` with Prometheus in agent mode remote-writing to the AMP workspace and Grafana reading it back (SigV4 through
EKS Pod Identity), Alertmanager off (AMP evaluates the rules). kube-state-metrics and node-exporter run in both.
Every key exists in the chart's (or the receiving subchart's) values.yaml: the Helm render tests fail otherwise.
"""

from __future__ import annotations

import math
from typing import Any

from components import versions
from components.common.names import CONTROLLER_LABEL, CRITICAL_ADDONS_TAINT_KEY, OS_LABEL
from components.observability.config import ObservabilityConfig, ObservabilityMode
from components.observability.monitoring_pool import monitoring_node_selector, monitoring_tolerations
from components.observability.names import (
    GRAFANA_SERVICE_ACCOUNT,
    NODE_LABELS_EXPORTED,
    PROMETHEUS_SERVICE_ACCOUNT,
)

# The encrypted gp3 StorageClass the program creates (EBS CSI driver add-on) for Prometheus' volume.
STORAGE_CLASS = "gp3-encrypted"
EBS_CSI_PROVISIONER = "ebs.csi.aws.com"

# Sizing for a small cluster (tens of nodes, ~100k series at a 30 s scrape interval). Prometheus needs about
# 1-2 bytes per sample on disk: 100k series x 2,880 samples a day x 1.5 B = ~0.4 GiB a day, so 1 GiB per
# retention day leaves room for growth, the WAL and compaction; the chart's retentionSize stops Prometheus
# before the disk fills if the estimate is wrong.
GIB_PER_RETENTION_DAY = 1
MIN_VOLUME_GIB = 20
RETENTION_SIZE_SHARE = 0.8
SCRAPE_INTERVAL = "30s"

# Requests sized so that the monitoring pods fit the default controller node group next to Karpenter (README
# "Metrics, dashboards and alerts", "Where it runs"). Limits only on memory: CPU limits throttle for no benefit.
PROMETHEUS_RESOURCES = {"requests": {"cpu": "200m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}
PROMETHEUS_AGENT_RESOURCES = {"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}
ALERTMANAGER_RESOURCES = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}}
GRAFANA_RESOURCES = {"requests": {"cpu": "50m", "memory": "192Mi"}, "limits": {"memory": "512Mi"}}
OPERATOR_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}
KUBE_STATE_METRICS_RESOURCES = {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}
NODE_EXPORTER_RESOURCES = {"requests": {"cpu": "10m", "memory": "24Mi"}, "limits": {"memory": "64Mi"}}


def storage_class_parameters() -> dict[str, str]:
    """EBS CSI parameters of the StorageClass: gp3, encrypted (with the account's default EBS key)."""
    return {"type": "gp3", "encrypted": "true"}


def prometheus_volume_gib(retention_days: int) -> int:
    """Size of Prometheus' EBS volume for a retention, in GiB."""
    return max(MIN_VOLUME_GIB, math.ceil(retention_days * GIB_PER_RETENTION_DAY / RETENTION_SIZE_SHARE))


def retention_size(volume_gib: int) -> str:
    """Prometheus' size-based retention: a share of the volume, so compaction never meets a full disk."""
    return f"{math.floor(volume_gib * RETENTION_SIZE_SHARE)}GiB"


def on_controller_group() -> dict[str, Any]:
    """nodeSelector and tolerations for the controller node group: the only nodes when the release installs."""
    return {
        "nodeSelector": {OS_LABEL: "linux", CONTROLLER_LABEL: "true"},
        "tolerations": [{"key": CRITICAL_ADDONS_TAINT_KEY, "operator": "Exists"}],
    }


def _node_labels_allowlist() -> list[str]:
    # kube-state-metrics' --metric-labels-allowlist: which node labels kube_node_labels carries.
    return [f"nodes=[{','.join(NODE_LABELS_EXPORTED)}]"]


def stack_values(
    config: ObservabilityConfig,
    *,
    region: str,
    rule_groups: list[dict[str, Any]],
    remote_write_url: Any = None,
    query_url: Any = None,
) -> dict[str, Any]:
    """Values for kube-prometheus-stack in `in-cluster` or `amp` mode.

    `rule_groups` are our alerts (PrometheusRule groups), rendered by the chart in-cluster; in amp mode AMP
    evaluates them instead. `remote_write_url` and `query_url` (the AMP workspace's) are required in amp mode.
    """
    if config.mode is ObservabilityMode.OFF:
        raise ValueError("observability is off: no metrics stack")
    amp = config.mode is ObservabilityMode.AMP
    if amp and (remote_write_url is None or query_url is None):
        raise ValueError("amp mode needs the workspace's remote-write and query URLs")
    controller = on_controller_group()
    prometheus_spec: dict[str, Any] = {
        **controller,
        "scrapeInterval": SCRAPE_INTERVAL,
        # Select every ServiceMonitor, PodMonitor and rule in every namespace, not only this release's
        # (Karpenter's, the NVIDIA exporters').
        "serviceMonitorSelectorNilUsesHelmValues": False,
        "podMonitorSelectorNilUsesHelmValues": False,
    }
    values: dict[str, Any] = {
        "crds": crd_upgrade_values(),
        # EKS runs the control plane: its scheduler, controller manager, etcd are not scrapeable, and EKS's
        # kube-proxy serves metrics on localhost only; their targets would be down and their alerts firing.
        "kubeControllerManager": {"enabled": False},
        "kubeScheduler": {"enabled": False},
        "kubeEtcd": {"enabled": False},
        "kubeProxy": {"enabled": False},
        "prometheusOperator": {
            **controller,
            "resources": OPERATOR_RESOURCES,
            "admissionWebhooks": {"patch": dict(controller)},
        },
        "kube-state-metrics": {
            **controller,
            "resources": KUBE_STATE_METRICS_RESOURCES,
            "metricLabelsAllowlist": _node_labels_allowlist(),
        },
        # node-exporter runs on every node: the chart tolerates every NoSchedule taint (GPU and controller).
        "prometheus-node-exporter": {"resources": NODE_EXPORTER_RESOURCES},
        "grafana": _grafana_values(amp=amp, region=region, query_url=query_url),
        "prometheus": {
            "serviceAccount": {"create": True, "name": PROMETHEUS_SERVICE_ACCOUNT},
            "prometheusSpec": prometheus_spec,
        },
    }
    if amp:
        values["prometheus"]["agentMode"] = True
        values["alertmanager"] = {"enabled": False}
        values["defaultRules"] = {"create": False}  # rules need a Prometheus that evaluates them; AMP gets ours
        prometheus_spec["resources"] = PROMETHEUS_AGENT_RESOURCES
        prometheus_spec["remoteWrite"] = [{"url": remote_write_url, "sigv4": {"region": region}}]
    else:
        volume = prometheus_volume_gib(config.retention_days)
        prometheus_spec.update(
            {
                # Its zonal volume needs a node in its zone after every roll: a Karpenter pool, not the controller
                # group (components/observability/monitoring_pool.py).
                "nodeSelector": monitoring_node_selector(),
                "tolerations": monitoring_tolerations(),
                "resources": PROMETHEUS_RESOURCES,
                "retention": f"{config.retention_days}d",
                "retentionSize": retention_size(volume),
                "ruleSelectorNilUsesHelmValues": False,
                # The volume goes with the stack: StatefulSet PVC auto-deletion (GA in Kubernetes 1.32, our oldest).
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"},
                "storageSpec": {
                    "volumeClaimTemplate": {
                        "spec": {
                            "storageClassName": STORAGE_CLASS,
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": f"{volume}Gi"}},
                        }
                    }
                },
            }
        )
        values["alertmanager"] = {"alertmanagerSpec": {**controller, "resources": ALERTMANAGER_RESOURCES}}
        values["additionalPrometheusRulesMap"] = {"gpu-eks": {"groups": rule_groups}}
    return values


def crd_upgrade_values() -> dict[str, Any]:
    """The chart's CRD upgrade Job, on the controller group.

    Helm installs `crds/` once and never upgrades them (helm.sh/docs/chart_best_practices/custom_resource_definitions),
    and the chart's UPGRADE.md asks for a manual `kubectl apply --server-side` of the CRDs on every major bump. The
    chart's own answer is crds.upgradeJob (off by default, kube-prometheus-stack 88.5.3 charts/crds/templates/upgrade/):
    a pre-install/pre-upgrade/pre-rollback hook Job that applies the CRDs the chart carries (files/crds.bz2, in a
    hook ConfigMap) server-side, so they move with the chart version on every `pulumi up`. The Job is a hook: when
    the release installs, only the controller group exists, so it runs there like every other hook here.
    """
    return {
        "enabled": True,
        "upgradeJob": {
            "enabled": True,
            # Take ownership of fields another manager (Helm's first install) set, or the apply fails on them.
            "forceConflicts": True,
            "image": {"busybox": {"tag": versions.CRD_UPGRADE_BUSYBOX_TAG}},
            **on_controller_group(),
        },
    }


def amp_datasource(*, region: str, query_url: Any) -> dict[str, Any]:
    """Grafana's data source for the AMP workspace: the Amazon Managed Service for Prometheus plugin's type, SigV4
    with the SDK's default credential chain (which finds the Pod Identity credentials). Keys as the plugin's docs
    provision it (grafana/grafana-amazonprometheus-datasource v3.2.0 docs/sources/configure.md)."""
    return {
        "name": "Prometheus",
        "uid": "prometheus",
        "type": versions.GRAFANA_AMP_DATASOURCE_PLUGIN,
        "access": "proxy",
        "isDefault": True,
        "url": query_url,
        "jsonData": {
            "sigV4Auth": True,
            "sigV4AuthType": "default",
            "sigV4Region": region,
            "sigv4Service": "aps",
            "httpMethod": "POST",
        },
    }


def _grafana_values(*, amp: bool, region: str, query_url: Any) -> dict[str, Any]:
    # No adminPassword (neither chart sets one by default): the grafana chart generates one into its Secret and
    # keeps it across upgrades (grafana 12.11.1 _helpers.tpl "grafana.password": lookup, else randAlphaNum 40), so
    # it never passes through Pulumi's state, the stack outputs or the render.
    grafana: dict[str, Any] = {
        **on_controller_group(),
        "resources": GRAFANA_RESOURCES,
        "serviceAccount": {"create": True, "name": GRAFANA_SERVICE_ACCOUNT},
        # helm test pod: not part of an install.
        "testFramework": {"enabled": False},
    }
    if amp:
        # The chart's own dashboards read the recording rules of its default rules, which an agent does not
        # evaluate (and AMP only gets ours): they would show nothing.
        grafana["defaultDashboardsEnabled"] = False
        # Grafana installs the pinned plugin before it starts (the chart passes `plugins` as
        # GF_PLUGINS_PREINSTALL_SYNC, grafana chart 12.11.1 templates/_pod.tpl), so the data source below has its type.
        grafana["plugins"] = [
            f"{versions.GRAFANA_AMP_DATASOURCE_PLUGIN}@{versions.GRAFANA_AMP_DATASOURCE_PLUGIN_VERSION}"
        ]
        grafana["sidecar"] = {"datasources": {"defaultDatasourceEnabled": False, "alertmanager": {"enabled": False}}}
        grafana["additionalDataSources"] = [amp_datasource(region=region, query_url=query_url)]
    return grafana
