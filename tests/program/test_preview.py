"""First-preview mode: the program run as a first `pulumi preview` runs it, with computed values unknown.

In a real first preview nothing exists yet: the engine answers every registration with the resource's
inputs only, so IDs, ARNs, endpoints and everything computed from them are unknown (`apply` callbacks on
them never run). `run_program(..., preview=True)` models that (preflight/model/harness.py); these tests show the
program registers the same resources either way, so the plan a reviewer sees is the plan `pulumi up` runs.
"""

from __future__ import annotations

import json

import pulumi_aws as aws
import pytest

from preflight.model.children import is_unknown
from preflight.model.harness import UNKNOWN, StackRun, resource_set_difference, run_program, run_stack
from tests.support.stack_variants import STACK_VARIANTS, VARIANTS_BY_NAME
from tests.support.stacks import REPO_STACKS
from tools import render

ALL_RUNS = [*REPO_STACKS, *(v.name for v in STACK_VARIANTS)]


def both_runs(name: str) -> tuple[StackRun, StackRun]:
    """(normal run, first-preview run) of a repo stack or STACK_VARIANT."""
    variant = VARIANTS_BY_NAME.get(name)
    stack, overrides = (variant.base, variant.overrides) if variant else (name, None)
    return run_stack(stack, overrides=overrides), run_stack(stack, overrides=overrides, preview=True)


@pytest.mark.parametrize("name", ALL_RUNS)
def test_preview_registers_the_same_resources_as_an_update(name):
    normal, preview = both_runs(name)
    assert preview.preview and not normal.preview
    assert resource_set_difference(normal, preview) == {"only_normal": [], "only_preview": []}
    shape = lambda run: {r.urn: (r.type, r.parent_urn, r.custom, r.component_urn) for r in run.resources}  # noqa: E731
    assert shape(preview) == shape(normal)


def test_check_catches_a_resource_registered_inside_an_apply():
    # A policy attached per role ARN, created in an apply: `pulumi up` creates it, the preview never shows it.
    def program():
        role = aws.iam.Role("r", assume_role_policy="{}")
        role.arn.apply(lambda arn: aws.iam.RolePolicy("inline", role=role.id, policy=json.dumps({"Resource": arn})))

    config = {"aws:region": "us-west-2"}
    normal = run_program("t", config, program=program)
    preview = run_program("t", config, program=program, preview=True)
    assert resource_set_difference(normal, preview) == {
        "only_normal": ["urn:pulumi:t::gpu-eks::pulumi:pulumi:Stack$aws:iam/rolePolicy:RolePolicy::inline"],
        "only_preview": [],
    }


def test_computed_values_are_unknown_and_config_values_known():
    _, preview = both_runs("dev")
    outputs = preview.outputs
    for key in (
        "vpcId",
        "privateSubnetIds",
        "clusterEndpoint",
        "clusterSecurityGroupId",
        "kubeconfig",
        "karpenterNodeRoleArn",
        "karpenterInterruptionQueueArn",
    ):
        assert outputs[key] is UNKNOWN, key
    assert outputs["clusterName"] == "gpu-dev" and outputs["controllerNodeGroupName"] == "gpu-dev-controller"
    assert outputs["gpuPools"]["inference"]["resourceName"] == "nvidia.com/gpu"
    # No ID is known for a resource about to be created.
    assert all(r.resource_id is None for r in preview.resources)


def test_nested_computed_outputs_are_unknown_too():
    # The program reads eks_cluster.vpc_config.cluster_security_group_id: a computed field inside an input
    # object must be unknown, not a known null.
    _, preview = both_runs("dev")
    cluster = preview.one("aws:eks/cluster:Cluster")
    assert cluster.outputs["vpcConfig"]["clusterSecurityGroupId"] is UNKNOWN
    assert cluster.outputs["vpcConfig"]["endpointPrivateAccess"] is True  # an input: known
    tag = preview.one("aws:ec2/tag:Tag")
    assert tag.inputs["resourceId"] is UNKNOWN and tag.inputs["value"] == "gpu-dev"


def test_resources_that_need_unknown_values_still_register_with_them_unknown():
    _, preview = both_runs("dev")
    cluster = preview.one("aws:eks/cluster:Cluster").inputs
    assert cluster["encryptionConfig"]["provider"]["keyArn"] is UNKNOWN  # the KMS key does not exist yet
    assert cluster["roleArn"] is UNKNOWN
    node_group = preview.one("aws:eks/nodeGroup:NodeGroup").inputs
    assert node_group["launchTemplate"]["id"] is UNKNOWN and node_group["nodeGroupName"] == "gpu-dev-controller"
    karpenter = next(
        r for r in preview.by_type("kubernetes:helm.sh/v3:Release") if r.plain_inputs()["name"] == "karpenter"
    )
    assert is_unknown(karpenter.inputs["values"])  # role ARN / queue name come from resources not yet created


def test_an_update_run_has_no_unknowns():
    normal, _ = both_runs("dev")
    assert not any(is_unknown(r.inputs) or is_unknown(r.outputs) for r in normal.resources)
    assert not is_unknown(normal.outputs)


def test_render_preview_writes_unknown_placeholders(tmp_path, capsys):
    assert render.main(["dev", "--preview", "--out", str(tmp_path)]) == 0
    assert "(preview: computed values [unknown])" in capsys.readouterr().out.splitlines()[-1]
    outputs = json.loads((tmp_path / "outputs.json").read_text())
    assert outputs["vpcId"] == "[unknown]" and outputs["clusterName"] == "gpu-dev"
    assert outputs["kubeconfig"] == "[secret]"  # a secret stays a secret, known or not
    resources = {(r["type"], r["name"]): r for r in json.loads((tmp_path / "resources.json").read_text())}
    tag = resources[("aws:ec2/tag:Tag", "cluster-cluster-sg-discovery-tag")]["inputs"]
    assert tag["resourceId"] == "[unknown]"
    normal = tmp_path / "normal"
    render.main(["dev", "--out", str(normal)])
    assert "[unknown]" not in (normal / "resources.json").read_text()
