"""The pure builders: metrics stack values and sizing, the DCGM exporter settings, dashboards, alerts, IAM."""

from __future__ import annotations

import hashlib
import json

import pytest

from components.observability import alerts, dashboards, dcgm, health, iam, values
from components.observability.config import ObservabilityConfig, ObservabilityMode
from tests.support.upstream import upstream_file

WORKSPACE_ARN = "arn:aws:aps:us-west-2:111122223333:workspace/ws-0123"
ENDPOINT = "https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-0123/"
CONTROLLER = {
    "nodeSelector": {"kubernetes.io/os": "linux", "karpenter.sh/controller": "true"},
    "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
}


def in_cluster(days: int = 15) -> dict:
    config = ObservabilityConfig(mode=ObservabilityMode.IN_CLUSTER, retention_days=days)
    return values.stack_values(config, region="us-west-2", rule_groups=alerts.rule_groups())


def amp() -> dict:
    config = ObservabilityConfig(mode=ObservabilityMode.AMP, retention_days=150)
    return values.stack_values(
        config,
        region="us-west-2",
        rule_groups=alerts.rule_groups(),
        remote_write_url=f"{ENDPOINT}api/v1/remote_write",
        query_url=ENDPOINT,
    )


# -- sizing and values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "volume", "kept"),
    [(1, 20, "16GiB"), (7, 20, "16GiB"), (15, 20, "16GiB"), (30, 38, "30GiB"), (90, 113, "90GiB")],
)
def test_prometheus_gets_a_volume_of_at_least_20_gib_sized_by_retention_and_stops_at_80_percent(days, volume, kept):
    spec = in_cluster(days)["prometheus"]["prometheusSpec"]
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == f"{volume}Gi"
    assert claim["storageClassName"] == "gp3-encrypted"
    assert (spec["retention"], spec["retentionSize"]) == (f"{days}d", kept)
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Delete", "whenScaled": "Retain"}


def test_every_monitoring_controller_is_pinned_to_the_controller_group_in_cluster():
    v = in_cluster()
    placed = {
        "operator": v["prometheusOperator"],
        "webhook patch jobs": v["prometheusOperator"]["admissionWebhooks"]["patch"],
        "kube-state-metrics": v["kube-state-metrics"],
        "grafana": v["grafana"],
        "alertmanager": v["alertmanager"]["alertmanagerSpec"],
        "CRD upgrade job": v["crds"]["upgradeJob"],
    }
    for name, block in placed.items():
        assert {k: block[k] for k in CONTROLLER} == CONTROLLER, name


def test_in_cluster_prometheus_runs_on_the_monitoring_pool_next_to_its_zonal_volume():
    spec = in_cluster()["prometheus"]["prometheusSpec"]
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux", "gpu-eks/pool": "gpu-eks-monitoring"}
    assert spec["tolerations"] == [{"key": "gpu-eks/monitoring", "operator": "Exists", "effect": "NoSchedule"}]
    # The agent has no volume: it stays with the other controllers.
    agent = amp()["prometheus"]["prometheusSpec"]
    assert {k: agent[k] for k in CONTROLLER} == CONTROLLER


def test_in_cluster_evaluates_our_rules_and_selects_every_service_monitor():
    v = in_cluster()
    assert v["additionalPrometheusRulesMap"] == {"gpu-eks": {"groups": alerts.rule_groups()}}
    spec = v["prometheus"]["prometheusSpec"]
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False
    assert spec["ruleSelectorNilUsesHelmValues"] is False
    assert "agentMode" not in v["prometheus"]


def test_amp_runs_an_agent_that_remote_writes_with_sigv4_and_grafana_reads_amp():
    v = amp()
    assert v["prometheus"]["agentMode"] is True
    assert v["prometheus"]["prometheusSpec"]["remoteWrite"] == [
        {"url": f"{ENDPOINT}api/v1/remote_write", "sigv4": {"region": "us-west-2"}}
    ]
    assert v["alertmanager"] == {"enabled": False}
    assert "additionalPrometheusRulesMap" not in v and "storageSpec" not in v["prometheus"]["prometheusSpec"]
    (source,) = v["grafana"]["additionalDataSources"]
    assert source["url"] == ENDPOINT
    assert source["jsonData"] == {
        "sigV4Auth": True,
        "sigV4AuthType": "default",
        "sigV4Region": "us-west-2",
        "sigv4Service": "aps",
        "httpMethod": "POST",
    }
    assert v["grafana"]["sidecar"]["datasources"]["defaultDatasourceEnabled"] is False
    # Nothing evaluates the chart's recording rules, which its own dashboards read.
    assert v["defaultRules"] == {"create": False} and v["grafana"]["defaultDashboardsEnabled"] is False


def test_grafana_gets_no_admin_password_from_us_so_the_chart_generates_one_in_the_cluster():
    for v in (in_cluster(), amp()):
        assert "adminPassword" not in v["grafana"]
        assert "admin" not in v["grafana"]


def test_eks_managed_control_plane_targets_are_not_scraped():
    v = in_cluster()
    assert [k for k in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy") if v[k]["enabled"]] == []


def test_kube_state_metrics_exports_the_node_labels_the_queries_join_on():
    assert in_cluster()["kube-state-metrics"]["metricLabelsAllowlist"] == [
        "nodes=[gpu-eks/pool,karpenter.sh/capacity-type,node.kubernetes.io/instance-type]"
    ]


def test_the_builders_refuse_mode_off_and_amp_without_urls():
    with pytest.raises(ValueError):
        values.stack_values(ObservabilityConfig(mode=ObservabilityMode.OFF), region="us-west-2", rule_groups=[])
    with pytest.raises(ValueError):
        values.stack_values(ObservabilityConfig(mode=ObservabilityMode.AMP), region="us-west-2", rule_groups=[])


def test_the_storage_class_is_encrypted_gp3():
    assert values.storage_class_parameters() == {"type": "gp3", "encrypted": "true"}


# -- DCGM exporter ----------------------------------------------------------------------------------------------


def test_both_nvidia_charts_export_the_same_field_list_with_a_node_label():
    standalone = dcgm.standalone_exporter_values(
        {"k": "v"}, [{"key": "nvidia.com/gpu", "operator": "Exists"}], agent_host_engine=False
    )
    operator = dcgm.gpu_operator_exporter_values(service_monitor_enabled=True, agent_host_engine=False)
    assert standalone["customMetrics"] == operator["config"]["data"]
    relabel = {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node", "action": "replace"}
    assert (
        standalone["serviceMonitor"]
        == operator["serviceMonitor"]
        == {"enabled": True, "interval": "30s", "relabelings": [relabel]}
    )
    assert operator["config"]["name"] == "gpu-eks-dcgm-metrics"
    lines = [line for line in standalone["customMetrics"].splitlines() if not line.startswith("#")]
    assert lines[0] == "DCGM_FI_DEV_SM_CLOCK, gauge, SM clock frequency (in MHz)."
    assert len(lines) == 16


# -- dashboards -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "upstream", "sha256"),
    [
        (
            "dcgm-exporter-dashboard.json",
            ("dashboards", "dcgm-exporter-dashboard.json"),
            "7c2172e582524efb70d9f585502366f7fec22b2464c3b89f75418ca648353e71",
        ),
        (
            "karpenter-capacity-dashboard.json",
            ("dashboards", "karpenter", "karpenter-capacity-dashboard.json"),
            "d4c89fcdb837d44cd035c622de8dead518e76fbaf849383be1e8f7847d61c899",
        ),
    ],
)
def test_upstream_dashboards_are_kept_byte_for_byte(file_name, upstream, sha256):
    ours = (dashboards.DASHBOARD_DIR / file_name).read_bytes()
    assert ours == upstream_file(*upstream).read_bytes()
    assert hashlib.sha256(ours).hexdigest() == sha256
    assert sha256 in (dashboards.DASHBOARD_DIR / "SOURCE.txt").read_text()


def test_each_dashboard_is_a_configmap_grafanas_sidecar_loads():
    maps = dashboards.dashboard_configmaps(["inference"])
    assert [m["metadata"]["name"] for m in maps] == [
        "dashboard-dcgm-exporter",
        "dashboard-gpu-pools",
        "dashboard-karpenter-capacity",
    ]
    for m in maps:
        assert m["metadata"]["namespace"] == "monitoring"
        assert m["metadata"]["labels"] == {"grafana_dashboard": "1"}
        (text,) = m["data"].values()
        assert json.loads(text)["uid"]
    assert [m["metadata"]["name"] for m in dashboards.dashboard_configmaps([])] == [
        "dashboard-dcgm-exporter",
        "dashboard-karpenter-capacity",
    ]


def test_the_gpu_pools_dashboard_has_the_panels_the_issue_asks_for_and_lists_the_pools():
    board = dashboards.gpu_pools_dashboard(["inference", "training"])
    assert [p["title"] for p in board["panels"]] == [
        "Slices: allocatable, requested, in use",
        "Nodes by instance type and capacity type",
        "GPU utilisation",
        "GPU memory used",
        "Pool cost per hour",
        "Cost per used slice-hour",
        "Cost per used slice-hour over the time range",
    ]
    pool = next(v for v in board["templating"]["list"] if v["name"] == "pool")
    assert (pool["query"], pool["allValue"]) == ("inference,training", "inference|training")
    slices = board["panels"][0]["targets"]
    assert [t["legendFormat"] for t in slices] == [
        "{{nodepool}} allocatable",
        "{{nodepool}} requested",
        "{{nodepool}} in use",
    ]
    assert "karpenter_nodes_allocatable" in slices[0]["expr"]
    assert "karpenter_nodes_total_pod_requests" in slices[1]["expr"]
    assert 'kube_pod_status_phase{phase="Running"}' in slices[2]["expr"]
    cost = board["panels"][5]["targets"][0]["expr"]
    assert cost.startswith('sum by (nodepool) (karpenter_nodepools_cost_total{nodepool=~"$pool"}) / (')


# -- alerts -----------------------------------------------------------------------------------------------------


def test_the_alerts_cover_what_the_issue_asks_for():
    assert [(a.name, a.for_, a.severity) for a in alerts.ALERTS] == [
        ("GpuXidError", "0m", "critical"),
        ("GpuNodeNotReady", "10m", "warning"),
        ("GpuPodPending", "15m", "warning"),
        ("NodePoolAtLimit", "10m", "warning"),
        ("KarpenterInsufficientCapacity", "0m", "warning"),
        ("SpotInterruptionsInPool", "0m", "info"),
    ]


def test_a_rule_carries_its_runbook_and_omits_a_zero_for():
    xid, not_ready = alerts.rule_groups()[0]["rules"][:2]
    assert "for" not in xid and not_ready["for"] == "10m"
    assert xid["annotations"]["runbook"].startswith("Look the XID up")


def test_spot_interruptions_and_capacity_errors_use_the_labels_karpenter_sets():
    by_name = {a.name: a.expr for a in alerts.ALERTS}
    # aws/karpenter-provider-aws v1.14.1 pkg/controllers/interruption/messages/types.go SpotInterruptionKind;
    # kubernetes-sigs/karpenter pkg/cloudprovider/metrics/cloudprovider.go (method "Create", error label).
    assert 'reason="spot_interrupted"' in by_name["SpotInterruptionsInPool"]
    assert 'method="Create", error="InsufficientCapacityError"' in by_name["KarpenterInsufficientCapacity"]


# -- IAM and health -----------------------------------------------------------------------------------------------


def test_the_agent_may_only_remote_write_and_grafana_only_query_that_one_workspace():
    assert iam.remote_write_policy(WORKSPACE_ARN) == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["aps:RemoteWrite"], "Resource": WORKSPACE_ARN}],
    }
    assert iam.query_policy(WORKSPACE_ARN)["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["aps:GetLabels", "aps:GetMetricMetadata", "aps:GetSeries", "aps:QueryMetrics"],
            "Resource": WORKSPACE_ARN,
        }
    ]
    assert iam.ebs_csi_policy_arn("aws") == "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"


def test_the_agents_dcgm_server_tolerates_the_gpu_taints_it_is_given():
    toleration = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    for operator in (False, True):
        agent = health.node_monitoring_agent_configuration([toleration], gpu_operator=operator)["dcgmAgent"]
        assert agent["tolerations"] == [toleration]


def test_the_agents_dcgm_server_stops_for_mig_changes_and_stays_off_a_node_whose_mig_configuration_failed():
    device_plugin = health.node_monitoring_agent_configuration([], gpu_operator=False)["dcgmAgent"]
    operator = health.node_monitoring_agent_configuration([], gpu_operator=True)["dcgmAgent"]
    # MIG Manager pauses and waits for DaemonSet pods selecting on this key (mig-parted v0.15.0 reconfigure.go).
    assert operator["nodeSelector"] == {"nvidia.com/gpu.deploy.client": "true"}
    assert "nodeSelector" not in device_plugin  # no operator labels the node there
    for agent in (device_plugin, operator):
        (term,) = agent["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
            "nodeSelectorTerms"
        ]
        assert {"key": "nvidia.com/mig.config.state", "operator": "NotIn", "values": ["failed"]} in term[
            "matchExpressions"
        ]


def test_the_exporters_connect_to_the_agents_host_engine_only_with_auto_repair():
    embedded = dcgm.standalone_exporter_values({}, [], agent_host_engine=False)
    remote = dcgm.standalone_exporter_values({}, [], agent_host_engine=True)
    assert "arguments" not in embedded and "extraEnv" not in embedded
    assert remote["arguments"] == ["-f", "/etc/dcgm-exporter/default-counters.csv", "-r", "$(NODE_IP):5555"]
    assert remote["extraEnv"] == [{"name": "NODE_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}}]
    assert "env" not in dcgm.gpu_operator_exporter_values(service_monitor_enabled=True, agent_host_engine=False)
    assert dcgm.gpu_operator_exporter_values(service_monitor_enabled=False, agent_host_engine=True)["env"] == [
        {"name": "DCGM_REMOTE_HOSTENGINE_INFO", "value": "localhost:5555"}
    ]
