"""Where the metrics stack, the GPU exporters and the node monitoring agent run (preflight/placement/model.py).

The general checks (every Deployment, StatefulSet and hook fits a node that exists when its release installs) run
for every stack in tests/program/test_placement.py; these check the observability pods specifically: that they are
in the model at all, that the exporters reach exactly the nodes they must, and that a wrong toleration shows.
"""

from __future__ import annotations

import json

import pytest

from components.observability.names import DCGM_EXPORTER_RELEASE, STACK_RELEASE
from preflight.helm.render import render_chart
from preflight.placement import model as placement
from tests.support.stack_variants import STACK_VARIANTS
from tests.support.stacks import REPO_STACKS

STACKS = [*REPO_STACKS, *(v.name for v in STACK_VARIANTS)]
AGENT = "add-on eks-node-monitoring-agent"
REPAIR_OFF = ("observability-off", "repair-off-device-plugin", "repair-off-gpu-operator")


def monitoring_stacks(placement_model) -> list[str]:
    return [s for s in STACKS if placement_model(s).releases.get(STACK_RELEASE) is not None]


def gpu_nodes(model) -> set[str]:
    return {n.name for n in model.nodes if n.gpu is not None}


def dcgm_exporter_pods(model) -> list[placement.Pod]:
    return [
        p
        for p in model.pods
        if (p.release == DCGM_EXPORTER_RELEASE and p.kind == "DaemonSet") or p.role == "dcgm-exporter"
    ]


@pytest.mark.parametrize("stack", ["dev", "prod", "amp-device-plugin", "in-cluster-gpu-operator"])
def test_the_metrics_stack_runs_on_the_controller_group_when_it_installs(placement_model, stack):
    model = placement_model(stack)
    controllers = [p for p in model.pods if p.release == STACK_RELEASE and p.kind != "DaemonSet"]
    # The operator, its admission-webhook and CRD upgrade Jobs, and the StatefulSets it makes from the Prometheus (or
    # agent) and Alertmanager resources; in-cluster Prometheus runs on its own NodePool (test_prometheus_zone.py).
    assert {p.kind for p in controllers} >= {"Deployment", "Job", "StatefulSet"}
    for pod in controllers:
        if pod.name == "kube-prometheus-stack: Prometheus kube-prometheus-stack-prometheus":
            assert {n.group for n in model.nodes_for(pod)} == {"gpu-eks-monitoring"}, pod.name
            continue
        assert {n.group for n in model.nodes_for(pod) if n.at_install} == {"controller"}, pod.name


def test_in_cluster_runs_prometheus_and_alertmanager_and_amp_runs_only_an_agent(placement_model):
    def operator_made(stack: str) -> set[str]:
        model = placement_model(stack)
        return {p.name for p in model.pods if p.release == STACK_RELEASE and p.kind == "StatefulSet"}

    assert operator_made("dev") == {
        "kube-prometheus-stack: Prometheus kube-prometheus-stack-prometheus",
        "kube-prometheus-stack: Alertmanager kube-prometheus-stack-alertmanager",
    }
    assert operator_made("prod") == {"kube-prometheus-stack: PrometheusAgent kube-prometheus-stack-prometheus"}


@pytest.mark.parametrize("stack", STACKS)
def test_gpu_metrics_are_exported_on_every_gpu_node_and_on_no_other(placement_model, stack):
    model = placement_model(stack)
    exporters = dcgm_exporter_pods(model)
    if STACK_RELEASE not in model.releases or not gpu_nodes(model):
        assert [p for p in exporters if p.release == DCGM_EXPORTER_RELEASE] == []
        return
    assert len(exporters) == 1, [p.name for p in exporters]
    assert {n.name for n in model.nodes_for(exporters[0])} == gpu_nodes(model)


def test_the_device_plugin_stacks_use_the_dcgm_exporter_chart_and_the_operator_stacks_its_own(placement_model):
    assert [p.name for p in dcgm_exporter_pods(placement_model("dev"))] == ["dcgm-exporter: DaemonSet dcgm-exporter"]
    assert [p.name for p in dcgm_exporter_pods(placement_model("prod"))] == [
        "gpu-operator operand: DaemonSet nvidia-dcgm-exporter"
    ]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_node_exporter_runs_on_every_node(placement_model, rendered_releases, stack):
    model = placement_model(stack)
    (exporter,) = [p for p in model.pods if p.release == STACK_RELEASE and p.kind == "DaemonSet"]
    assert {n.name for n in model.nodes_for(exporter)} == {n.name for n in model.nodes}


@pytest.mark.parametrize("stack", [s for s in STACKS if s not in REPAIR_OFF])
def test_the_node_monitoring_agent_runs_everywhere_and_its_dcgm_server_on_every_amd64_gpu_node(
    placement_model, stack_or_variant_run, stack
):
    model = placement_model(stack)
    agent = [p for p in model.pods if p.release == AGENT]
    # nodeHealth.autoRepair: false installs no agent (components/platform.py): then none of its pods may run.
    addons = {a.name for a in stack_or_variant_run(stack).by_type("aws:eks/addon:Addon")}
    if "nodehealth-eks-node-monitoring-agent" not in addons:
        assert agent == []
        return
    assert {p.name for p in agent} == {
        f"{AGENT}: DaemonSet eks-node-monitoring-agent",
        f"{AGENT}: DaemonSet dcgm-server",
    }
    node_agent = next(p for p in agent if p.name.endswith("eks-node-monitoring-agent"))
    dcgm_server = next(p for p in agent if p.name.endswith("dcgm-server"))
    assert {n.name for n in model.nodes_for(node_agent)} == {n.name for n in model.nodes}
    # arm64 GPU nodes (g5g) get none: the agent turns its NVIDIA monitoring off there (README "GPU health").
    amd64_gpu = {n.name for n in model.nodes if n.gpu is not None and n.labels["kubernetes.io/arch"] == "amd64"}
    assert {n.name for n in model.nodes_for(dcgm_server)} == amd64_gpu


def test_auto_repair_off_installs_no_node_monitoring_agent(run_with):
    run = run_with("dev", nodeHealth={"autoRepair": False})
    assert "nodehealth-eks-node-monitoring-agent" not in {a.name for a in run.by_type("aws:eks/addon:Addon")}
    assert "nodehealth-eks-node-monitoring-agent" in {a.name for a in run_with("dev").by_type("aws:eks/addon:Addon")}


def test_the_agents_dcgm_server_without_our_gpu_toleration_reaches_no_gpu_node(placement_model, stack_or_variant_run):
    model = placement_model("dev")
    addon = stack_or_variant_run("dev").one("aws:eks/addon:Addon", "nodehealth-eks-node-monitoring-agent")
    # dev's time-sliced pool carries the GPU taint and the sharing taint.
    assert json.loads(addon.plain_inputs()["configurationValues"])["dcgmAgent"]["tolerations"] == [
        {"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"},
        {"effect": "NoSchedule", "key": "gpu-eks/sharing", "operator": "Exists"},
    ]
    chart_default = render_chart(
        "eks-node-monitoring-agent",
        {},
        release="eks-node-monitoring-agent",
        namespace="kube-system",
        kube_version="1.34",
    )
    (server,) = [p for p in placement.chart_pods(chart_default) if p.name.endswith("DaemonSet dcgm-server")]
    assert model.nodes_for(server) == []


def test_the_off_variant_installs_no_monitoring_and_no_agent(placement_model):
    model = placement_model("observability-off")
    assert STACK_RELEASE not in model.releases and DCGM_EXPORTER_RELEASE not in model.releases
    assert [p for p in model.pods if p.release == AGENT] == []
