"""What the program registers for each observability mode, in which order, and what it exports."""

from __future__ import annotations

import json

import pytest
import yaml

from components.observability import alerts

STACK = "kubernetes:helm.sh/v3:Release"
KPS = "observability-kube-prometheus-stack"
AMP_TYPES = (
    "aws:amp/workspace:Workspace",
    "aws:amp/workspaceConfiguration:WorkspaceConfiguration",
    "aws:amp/ruleGroupNamespace:RuleGroupNamespace",
)


def by_name(run, name):
    (found,) = [r for r in run.resources if r.name == name]
    return found


def test_in_cluster_installs_the_ebs_csi_driver_with_its_pod_identity_role_and_an_encrypted_gp3_class(stack_run):
    run = stack_run("dev")
    addon = run.one("aws:eks/addon:Addon", "observability-aws-ebs-csi-driver").plain_inputs()
    assert addon["addonVersion"] == "v1.66.0-eksbuild.1"  # Kubernetes 1.34 (dev)
    (association,) = addon["podIdentityAssociations"]
    assert association["serviceAccount"] == "ebs-csi-controller-sa"
    role = run.one("aws:iam/role:Role", "observability-ebs-csi").plain_inputs()
    assert json.loads(role["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    attachment = run.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "observability-ebs-csi-policy")
    assert attachment.plain_inputs()["policyArn"] == "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    storage = run.one("kubernetes:storage.k8s.io/v1:StorageClass").plain_inputs()
    assert (storage["provisioner"], storage["parameters"]) == ("ebs.csi.aws.com", {"type": "gp3", "encrypted": "true"})
    assert storage["reclaimPolicy"] == "Delete" and storage["volumeBindingMode"] == "WaitForFirstConsumer"
    release = by_name(run, KPS)
    addon_urn = run.one("aws:eks/addon:Addon", "observability-aws-ebs-csi-driver").urn
    assert {addon_urn, run.one("kubernetes:storage.k8s.io/v1:StorageClass").urn} <= set(release.dependencies)
    assert [r for t in AMP_TYPES for r in run.by_type(t)] == []


def test_amp_creates_the_workspace_its_rules_and_two_single_purpose_pod_identity_roles(stack_run):
    run = stack_run("prod")
    workspace = run.one("aws:amp/workspace:Workspace")
    assert workspace.plain_inputs()["alias"] == "gpu-prod"
    configuration = run.one("aws:amp/workspaceConfiguration:WorkspaceConfiguration").plain_inputs()
    assert configuration["retentionPeriodInDays"] == 150
    rules = run.one("aws:amp/ruleGroupNamespace:RuleGroupNamespace").plain_inputs()
    assert yaml.safe_load(rules["data"]) == {"groups": alerts.rule_groups()}
    arn = workspace.outputs["arn"]
    for key, service_account, actions in (
        ("prometheus", "prometheus", ["aps:RemoteWrite"]),
        ("grafana", "grafana", ["aps:GetLabels", "aps:GetMetricMetadata", "aps:GetSeries", "aps:QueryMetrics"]),
    ):
        policy = json.loads(
            run.one("aws:iam/rolePolicy:RolePolicy", f"observability-{key}-amp").plain_inputs()["policy"]
        )
        assert policy["Statement"] == [{"Effect": "Allow", "Action": actions, "Resource": arn}]
        association = run.one(
            "aws:eks/podIdentityAssociation:PodIdentityAssociation", f"observability-{key}-pod-identity"
        ).plain_inputs()
        assert (association["namespace"], association["serviceAccount"]) == ("monitoring", service_account)
    values = by_name(run, KPS).plain_inputs()["values"]
    endpoint = workspace.outputs["prometheusEndpoint"]
    assert values["prometheus"]["prometheusSpec"]["remoteWrite"][0]["url"] == f"{endpoint}api/v1/remote_write"
    assert run.by_type("kubernetes:storage.k8s.io/v1:StorageClass") == []


def test_karpenter_and_the_nvidia_chart_install_after_the_monitoring_crds_and_karpenter_is_scraped(stack_run):
    for stack, nvidia in (("dev", "gpu-nvidia-device-plugin"), ("prod", "gpu-gpu-operator")):
        run = stack_run(stack)
        monitoring = by_name(run, KPS).urn
        karpenter = by_name(run, "karpenter-controller")
        assert monitoring in karpenter.dependencies
        assert monitoring in by_name(run, nvidia).dependencies
        assert karpenter.plain_inputs()["values"]["serviceMonitor"] == {"enabled": True}


def test_the_rendered_karpenter_release_has_its_service_monitor_only_with_a_metrics_stack(rendered_releases):
    def monitors(name):
        return [
            o["metadata"]["name"] for o in rendered_releases(name)["karpenter"].objects if o["kind"] == "ServiceMonitor"
        ]

    assert monitors("dev") == ["karpenter"]
    assert monitors("observability-off") == []


def test_the_gpu_operator_exports_our_dcgm_fields_and_has_a_service_monitor(rendered_releases):
    (policy,) = [o for o in rendered_releases("prod")["gpu-operator"].objects if o["kind"] == "ClusterPolicy"]
    exporter = policy["spec"]["dcgmExporter"]
    assert exporter["serviceMonitor"]["enabled"] is True
    assert exporter["config"] == {"name": "gpu-eks-dcgm-metrics"}
    (configmap,) = [
        o
        for o in rendered_releases("prod")["gpu-operator"].objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "gpu-eks-dcgm-metrics"
    ]
    assert "DCGM_FI_PROF_GR_ENGINE_ACTIVE, gauge" in configmap["data"]["dcgm-metrics.csv"]


def test_off_registers_no_metrics_stack_and_leaves_the_charts_without_service_monitors(stack_or_variant_run):
    run = stack_or_variant_run("observability-off")
    assert [r.name for r in run.resources if r.type.startswith("gpu-eks:observability")] == []
    assert [r for t in AMP_TYPES for r in run.by_type(t)] == []
    assert by_name(run, "karpenter-controller").plain_inputs()["values"]["serviceMonitor"] == {"enabled": False}
    assert "nodeRepair" not in by_name(run, "karpenter-controller").plain_inputs()["values"]["settings"]["featureGates"]
    assert run.outputs["observability"] == {"mode": "off"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_auto_repair_installs_the_pinned_agent_and_turns_on_karpenters_node_repair(stack_run, stack):
    run = stack_run(stack)
    addon = run.one("aws:eks/addon:Addon", "nodehealth-eks-node-monitoring-agent").plain_inputs()
    assert addon["addonVersion"] == "v1.7.0-eksbuild.1"
    gates = by_name(run, "karpenter-controller").plain_inputs()["values"]["settings"]["featureGates"]
    assert gates["nodeRepair"] is True


def test_the_outputs_say_how_to_reach_grafana_and_prometheus_or_the_workspace(stack_run):
    dev = stack_run("dev").outputs["observability"]
    assert dev["mode"] == "in-cluster" and dev["ampWorkspace"] is None
    assert (
        dev["grafana"]["portForward"] == "kubectl -n monitoring port-forward svc/kube-prometheus-stack-grafana 3000:80"
    )
    assert dev["grafana"]["adminPasswordSecret"] == "monitoring/kube-prometheus-stack-grafana (key admin-password)"
    assert dev["prometheus"]["portForward"] == (
        "kubectl -n monitoring port-forward svc/kube-prometheus-stack-prometheus 9090:9090"
    )
    prod = stack_run("prod")
    workspace = prod.one("aws:amp/workspace:Workspace").outputs
    out = prod.outputs["observability"]
    assert out["prometheus"] is None
    assert out["ampWorkspace"]["remoteWriteUrl"] == f"{workspace['prometheusEndpoint']}api/v1/remote_write"
    assert out["ampWorkspace"]["queryUrl"] == f"{workspace['prometheusEndpoint']}api/v1/query"
    assert out["ampWorkspace"]["arn"] == workspace["arn"]
