"""Karpenter footgun policies (issue 19 item 8): each rejects the broken input its upstream issue describes, which the
upstream CRD admits, and passes every real stack."""

from __future__ import annotations

import pytest

from components.gpu.efa import hugepages_user_data
from preflight.policy import POLICIES, edited, resource_violations
from tests.support.stacks import REPO_STACKS

NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
ALIAS = "ec2nodeclass-ami-alias-one-at"
USER_DATA = "ec2nodeclass-user-data-mime"


def node_class(run, name):
    (registration,) = [r for r in run.by_type(NODE_CLASS) if r.plain_inputs()["metadata"]["name"] == name]
    return registration


def check(policy, run, registration):
    return resource_violations(POLICIES[policy], run, registration)


@pytest.mark.parametrize("stack", [*REPO_STACKS, "efa-p5"])
@pytest.mark.parametrize("policy", [ALIAS, USER_DATA])
def test_every_rendered_node_class_passes(stack_or_variant_run, stack, policy):
    run = stack_or_variant_run(stack)
    assert run.by_type(NODE_CLASS)
    assert {r.name: check(policy, run, r) for r in run.by_type(NODE_CLASS)} == {
        r.name: [] for r in run.by_type(NODE_CLASS)
    }


def with_alias(alias):
    def edit(inputs):
        inputs["spec"]["amiSelectorTerms"] = [{"alias": alias}]

    return edit


@pytest.mark.parametrize("alias", ["al2023@v20260714@x", "al2023@latest@", "bottlerocket@v1.20@4"])
def test_an_alias_with_a_second_at_is_rejected_though_the_crd_admits_it(stack_run, crd_validator, alias):
    run = stack_run("dev")
    bad = edited(node_class(run, "default"), with_alias(alias))
    # The upstream v1.14.1 CRD lets it through (`^[a-zA-Z0-9]+@.+$`, family `self.split('@')[0]`): only the policy
    # stands between it and a crash-looping controller.
    assert (
        crd_validator.validate({"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass", **bad.plain_inputs()})
        == []
    )
    (message,) = check(ALIAS, run, bad)
    assert message.startswith(
        f'EC2NodeClass "default" (Pulumi resource "nodepools-default"): spec.amiSelectorTerms[0].alias {alias!r} '
        "has 2 '@'"
    )
    assert "aws/karpenter-provider-aws#9800" in message
    assert "Karpenter v1.0.0 to v1.14.1" in message


@pytest.mark.parametrize("alias", ["al2023@v20260714", "al2023@latest"])
def test_a_well_formed_alias_passes(stack_run, alias):
    run = stack_run("dev")
    assert check(ALIAS, run, edited(node_class(run, "default"), with_alias(alias))) == []


def with_user_data(user_data, alias="al2023@latest"):
    def edit(inputs):
        inputs["spec"]["userData"] = user_data
        inputs["spec"]["amiSelectorTerms"] = [{"alias": alias}]

    return edit


@pytest.mark.parametrize(
    "user_data",
    [
        hugepages_user_data(),  # what the EFA node class carried before it was wrapped
        "#!/bin/bash\n# nothing to do yet\n",
        "#!/bin/bash\nsetting: value\n",
    ],
)
def test_bare_user_data_on_al2023_is_rejected(stack_run, user_data):
    run = stack_run("dev")
    (message,) = check(USER_DATA, run, edited(node_class(run, "default"), with_user_data(user_data)))
    assert "spec.userData is not a MIME multi-part archive" in message
    assert "nodeadm.go parseUserData" in message


def test_bare_user_data_on_a_family_without_nodeadm_is_left_alone(stack_run):
    # Bottlerocket's userData is TOML and AL2's a script: Karpenter does not guess there.
    run = stack_run("dev")
    bottlerocket = edited(
        node_class(run, "default"), with_user_data('[settings]\nfoo = "bar"\n', "bottlerocket@latest")
    )
    assert check(USER_DATA, run, bottlerocket) == []


def test_an_efa_node_class_stripped_of_its_mime_wrapper_is_rejected(stack_or_variant_run):
    run = stack_or_variant_run("efa-p5")
    real = node_class(run, "gpu-training")
    assert check(USER_DATA, run, real) == []
    bare = edited(real, lambda inputs: inputs["spec"].__setitem__("userData", hugepages_user_data()))
    assert len(check(USER_DATA, run, bare)) == 1
