"""The node-software policies (policies/gpu_eks_policies/node_software.py): the repo stacks pass, and a real
registration made wrong (a deep copy of what the program renders, edited) is rejected with the message a user reads."""

from __future__ import annotations

import pytest
import yaml

from preflight.model.harness import Registration, StackRun
from preflight.policy import POLICIES, edited, replaced, stack_violations
from tests.support.stacks import REPO_STACKS

NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool"
RELEASE = "kubernetes:helm.sh/v3:Release"


def release(run: StackRun, name: str) -> Registration:
    (found,) = [r for r in run.by_type(RELEASE) if r.plain_inputs()["name"] == name]
    return found


def nodepool(run: StackRun, name: str) -> Registration:
    (found,) = [r for r in run.by_type(NODEPOOL) if r.plain_inputs()["metadata"]["name"] == name]
    return found


def messages(policy: str, registrations: list[Registration]) -> list[str]:
    return [message for message, _ in stack_violations(POLICIES[policy], registrations, None)]


@pytest.mark.parametrize("stack", REPO_STACKS)
@pytest.mark.parametrize("policy", ["dcgm-one-host-engine", "no-mps-on-mig-pools"])
def test_the_repo_stacks_pass(stack_run, stack, policy):
    assert messages(policy, stack_run(stack).resources) == []


def test_the_standalone_exporter_embedding_an_engine_beside_the_agent_is_rejected(stack_run):
    run = stack_run("dev")
    exporter = edited(release(run, "dcgm-exporter"), lambda i: i["values"].pop("arguments"))
    (message,) = messages("dcgm-one-host-engine", replaced(run.resources, exporter))
    assert message.startswith("every GPU node would run 2 DCGM host engines: the eks-node-monitoring-agent add-on's")
    assert "NVIDIA/DCGM#108" in message and "aws/containers-roadmap#2763" in message


def test_the_operators_exporter_embedding_an_engine_beside_the_agent_is_rejected(stack_run):
    run = stack_run("prod")
    operator = edited(release(run, "gpu-operator"), lambda i: i["values"]["dcgmExporter"].pop("env"))
    (message,) = messages("dcgm-one-host-engine", replaced(run.resources, operator))
    assert "(embedded host engine, no DCGM_REMOTE_HOSTENGINE_INFO)" in message


def test_the_operators_standalone_dcgm_beside_the_agent_is_rejected(stack_run):
    run = stack_run("prod")
    operator = edited(release(run, "gpu-operator"), lambda i: i["values"]["dcgm"].update(enabled=True))
    (message,) = messages("dcgm-one-host-engine", replaced(run.resources, operator))
    assert "standalone DCGM (nvidia-dcgm)" in message


def test_without_the_agent_the_embedded_exporter_is_the_one_engine(stack_run):
    run = stack_run("dev")
    kept = [r for r in run.resources if r.type != "aws:eks/addon:Addon" or "monitoring" not in r.name]
    exporter = edited(release(run, "dcgm-exporter"), lambda i: i["values"].pop("arguments"))
    assert messages("dcgm-one-host-engine", replaced(kept, exporter)) == []


MPS = {
    "version": "v1",
    "flags": {"migStrategy": "mixed"},
    "sharing": {"mps": {"resources": [{"name": "nvidia.com/gpu", "replicas": 4}]}},
}


def test_an_mps_config_in_the_gpu_operators_mixed_strategy_device_plugin_is_rejected(stack_run):
    run = stack_run("prod")
    operator = edited(
        release(run, "gpu-operator"),
        lambda i: i["values"]["devicePlugin"]["config"]["data"].update({"mps-4": yaml.safe_dump(MPS)}),
    )
    (message,) = messages("no-mps-on-mig-pools", replaced(run.resources, operator))
    assert "device-plugin config 'mps-4' shares by MPS with the mixed MIG strategy" in message


def test_a_mig_pool_selecting_an_mps_config_is_rejected(stack_run):
    run = stack_run("prod")
    operator = edited(
        release(run, "gpu-operator"),
        lambda i: i["values"]["devicePlugin"]["config"]["data"].update({"mps-4": yaml.safe_dump(MPS)}),
    )
    pool = edited(
        nodepool(run, "mig-inference"),
        lambda i: i["spec"]["template"]["metadata"]["labels"].update({"nvidia.com/device-plugin.config": "mps-4"}),
    )
    found = messages("no-mps-on-mig-pools", replaced(run.resources, operator, pool))
    assert any("partitions its GPUs with MIG (all-1g.5gb) and shares them by MPS ('mps-4')" in m for m in found)


def test_mps_without_mig_passes(stack_run, run_with):
    assert (
        messages(
            "no-mps-on-mig-pools",
            run_with(
                "dev",
                gpuNodePools=[
                    {
                        "name": "mps",
                        "instanceFamilies": ["g6e"],
                        "capacityTypes": ["on-demand"],
                        "maxGpus": 8,
                        "sharing": {"strategy": "mps", "replicas": 8},
                    }
                ],
            ).resources,
        )
        == []
    )
