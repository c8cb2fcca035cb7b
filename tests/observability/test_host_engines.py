"""One DCGM host engine per GPU node, and MIG nodes that can change MIG mode (issue 19 items 1 and 2).

The model is preflight/placement/host_engines.py over the real charts' renders (tests/conftest.py placement_model);
the expectations here are the stack shapes' intended engines, written out, and deliberately broken pods to show each
check can fail.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from preflight.placement import host_engines
from tests.support.stack_variants import STACK_VARIANTS
from tests.support.stacks import REPO_STACKS

STACKS = [*REPO_STACKS, *(v.name for v in STACK_VARIANTS)]
AGENT_ENGINE = "add-on eks-node-monitoring-agent: DaemonSet dcgm-server"
STANDALONE_EXPORTER = "dcgm-exporter: DaemonSet dcgm-exporter"
OPERATOR_EXPORTER = "gpu-operator operand: DaemonSet nvidia-dcgm-exporter"
# Stack shape -> (the node's one host engine, its part). dev: device plugin + agent; prod: GPU Operator + agent.
SHAPES = {
    "dev": (AGENT_ENGINE, "host-engine"),
    "prod": (AGENT_ENGINE, "host-engine"),
    "repair-off-device-plugin": (STANDALONE_EXPORTER, "embedded"),
    "repair-off-gpu-operator": (OPERATOR_EXPORTER, "embedded"),
}


def engines(model, node) -> list[tuple[str, str]]:
    return sorted((p.pod.name, p.role) for p in host_engines.on_node(model, node) if p.holds_gpus)


@pytest.mark.parametrize("stack", STACKS)
def test_no_gpu_node_runs_two_dcgm_host_engines_and_every_client_reaches_one(placement_model, stack):
    model = placement_model(stack)
    assert host_engines.host_engine_failures(model) == {}
    for node in model.nodes:
        if node.gpu is not None:
            assert len(engines(model, node)) <= 1, node.name


@pytest.mark.parametrize("stack", sorted(SHAPES))
def test_each_stack_shape_has_exactly_its_one_host_engine_on_every_gpu_node(placement_model, stack):
    model = placement_model(stack)
    gpu_nodes = [n for n in model.nodes if n.gpu is not None]
    assert gpu_nodes
    for node in gpu_nodes:
        assert engines(model, node) == [SHAPES[stack]], node.name


@pytest.mark.parametrize(("stack", "client"), [("dev", STANDALONE_EXPORTER), ("prod", OPERATOR_EXPORTER)])
def test_with_the_agent_the_exporter_is_a_client_of_its_engine(placement_model, stack, client):
    model = placement_model(stack)
    node = next(n for n in model.nodes if n.gpu is not None)
    clients = [(p.pod.name, p.endpoint) for p in host_engines.on_node(model, node) if p.role == "client"]
    assert clients == [(client, "$(NODE_IP):5555" if stack == "dev" else "localhost:5555")]


def _with_pod_spec(model, name: str, change) -> Any:
    pods = [replace(p, spec=change(dict(p.spec))) if p.name == name else p for p in model.pods]
    return model.with_changes(pods=pods)


def _exporter_without_remote(spec: dict[str, Any]) -> dict[str, Any]:
    containers = [
        {**c, "args": [a for a in c.get("args") or [] if a not in ("-r", "$(NODE_IP):5555")]}
        for c in spec["containers"]
    ]
    return {**spec, "containers": containers}


def test_an_exporter_that_embeds_an_engine_beside_the_agents_is_reported(placement_model):
    broken = _with_pod_spec(placement_model("dev"), STANDALONE_EXPORTER, _exporter_without_remote)
    failures = host_engines.host_engine_failures(broken)
    assert failures and all("2 DCGM host engines" in " ".join(reasons) for reasons in failures.values())


def test_the_operators_exporter_without_the_remote_engine_is_reported_next_to_the_agent(placement_model):
    model = placement_model("prod")
    policy = dict(model.cluster_policy)
    spec = dict(policy["spec"])
    spec["dcgmExporter"] = {k: v for k, v in spec["dcgmExporter"].items() if k != "env"}
    broken = replace(model, cluster_policy={**policy, "spec": spec})
    assert host_engines.host_engine_failures(broken)


def test_a_client_whose_node_has_no_engine_is_reported(placement_model):
    model = placement_model("dev")
    broken = model.with_changes(pods=[p for p in model.pods if p.name != AGENT_ENGINE])
    failures = host_engines.host_engine_failures(broken)
    assert failures and all("no host engine on the node serves" in " ".join(r) for r in failures.values())


def test_a_client_pointed_at_an_address_that_is_not_its_node_is_reported(placement_model):
    def elsewhere(spec: dict[str, Any]) -> dict[str, Any]:
        moved = [
            {**c, "args": ["10.0.0.9:5555" if a == "$(NODE_IP):5555" else a for a in c.get("args") or []]}
            for c in spec["containers"]
        ]
        return {**spec, "containers": moved}

    broken = _with_pod_spec(placement_model("dev"), STANDALONE_EXPORTER, elsewhere)
    assert host_engines.host_engine_failures(broken)


# -- MIG ------------------------------------------------------------------------------------------------------------

MIG_STACKS = ["prod", "gpu-only-mig", "mig-and-time-slicing", "warm-team-pools", "in-cluster-gpu-operator"]


@pytest.mark.parametrize("stack", MIG_STACKS)
def test_mig_manager_stops_and_waits_for_every_gpu_holder_before_it_changes_mig_mode(placement_model, stack):
    model = placement_model(stack)
    assert any(host_engines._mig_node(model, n) for n in model.nodes), "no MIG node in this stack"
    assert host_engines.mig_change_failures(model) == {}
    assert host_engines.mig_failure_repair_gaps(model) == {}


def _without_client_selector(spec: dict[str, Any]) -> dict[str, Any]:
    selector = {k: v for k, v in (spec.get("nodeSelector") or {}).items() if k != host_engines.CLIENT_LABEL}
    return {**spec, "nodeSelector": selector}


def test_an_agent_engine_mig_manager_does_not_stop_is_reported_on_mig_nodes(placement_model):
    # Today's main: the agent's dcgm-server tolerates the MIG pools and holds every GPU during the reset.
    broken = _with_pod_spec(placement_model("prod"), AGENT_ENGINE, _without_client_selector)
    failures = host_engines.mig_change_failures(broken)
    assert failures and all(
        "holds the GPUs while MIG Manager changes MIG mode" in " ".join(r) for r in failures.values()
    )
    assert all("mig-inference" in node or "p5" in node or "p4d" in node for node in failures)


def test_a_holder_that_leaves_but_is_not_waited_for_is_reported(placement_model):
    def leaves_on_pause(spec: dict[str, Any]) -> dict[str, Any]:
        selector = _without_client_selector(spec)["nodeSelector"]
        return {**spec, "nodeSelector": {**selector, "nvidia.com/gpu.deploy.dcgm": "true"}}

    broken = _with_pod_spec(placement_model("prod"), AGENT_ENGINE, leaves_on_pause)
    failures = host_engines.mig_change_failures(broken)
    assert failures and all("does not wait for it" in " ".join(r) for r in failures.values())


def test_a_node_whose_mig_configuration_failed_loses_the_agents_engine_so_node_repair_replaces_it(placement_model):
    model = placement_model("prod")
    assert host_engines.mig_failure_repair_gaps(model) == {}
    broken = _with_pod_spec(model, AGENT_ENGINE, lambda spec: {k: v for k, v in spec.items() if k != "affinity"})
    assert host_engines.mig_failure_repair_gaps(broken)


def test_the_device_plugin_stacks_have_no_mig_node(placement_model):
    model = placement_model("dev")
    assert not any(host_engines._mig_node(model, n) for n in model.nodes)
