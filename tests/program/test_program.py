"""The real program, per stack file in the repo: it runs, exports the contract, keeps secrets secret."""

from __future__ import annotations

import pytest

from preflight.model.harness import GET_CALLER_IDENTITY
from tests.support.stacks import REPO_STACKS

FOUNDATION_OUTPUTS = {
    "region",
    "clusterName",
    "kubernetesVersion",
    "clusterEndpoint",
    "kubeconfig",
    "oidcProviderArn",
    "oidcProviderUrl",
    "vpcId",
    "privateSubnetIds",
    "publicSubnetIds",
    "clusterSecurityGroupId",
    "nodeSecurityGroupId",
    "controllerNodeGroupName",
}


def test_repo_has_dev_and_prod_stacks():
    assert {"dev", "prod"} <= set(REPO_STACKS)


@pytest.mark.parametrize("stack", REPO_STACKS)
def test_stack_exports_the_foundation_outputs(stack_run, stack):
    assert set(stack_run(stack).outputs) >= FOUNDATION_OUTPUTS


@pytest.mark.parametrize("stack", REPO_STACKS)
def test_kubeconfig_output_is_secret(stack_run, stack):
    run = stack_run(stack)
    assert "kubeconfig" in run.secret_outputs
    assert run.redacted_outputs()["kubeconfig"] == "[secret]"


@pytest.mark.parametrize("stack", REPO_STACKS)
def test_program_makes_one_provider_invoke_who_runs_the_deploy(stack_run, stack):
    # sts:GetCallerIdentity, for the cluster creator's 409 guard (components.config.load_config); nothing else.
    assert stack_run(stack).invokes == [GET_CALLER_IDENTITY]


def test_outputs_are_realistic(stack_run):
    outputs = stack_run("dev").outputs
    assert outputs["clusterName"] == "gpu-dev"
    assert outputs["region"] == "us-west-2"
    assert outputs["clusterEndpoint"].startswith("https://") and outputs["clusterEndpoint"].endswith(
        ".eks.amazonaws.com"
    )
    assert outputs["oidcProviderArn"] is None  # dev uses Pod Identity: no IAM OIDC provider
    assert outputs["oidcProviderUrl"].startswith("https://oidc.eks.us-west-2.amazonaws.com/id/")
    assert outputs["controllerNodeGroupName"] == "gpu-dev-controller"
    assert len(outputs["privateSubnetIds"]) == 3


def test_every_resource_is_parented_under_the_platform(stack_run):
    run = stack_run("dev")
    roots = [r for r in run.resources if r.parent_urn not in {x.urn for x in run.resources}]
    assert [r.type for r in roots] == ["gpu-eks:index:Platform"]
