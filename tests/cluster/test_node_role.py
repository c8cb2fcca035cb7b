"""The node role's trust policy and managed policies (components/cluster/node_role.py), as upstream's KarpenterNodeRole.

Expected values are typed out by hand from the Karpenter v1.14 CloudFormation reference, as in
tests/karpenter/test_iam.py.
"""

from __future__ import annotations

import pytest

from components.cluster import node_role as k
from components.common import aws as aws_naming


def test_node_trust_lets_only_ec2_assume_the_role():
    assert k.node_trust_policy("aws") == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }


def test_node_trust_keeps_the_ec2_amazonaws_com_principal_in_the_china_partition():
    assert k.node_trust_policy("aws-cn")["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}


def test_node_managed_policies_are_upstreams_four():
    assert k.NODE_MANAGED_POLICIES == (
        "AmazonEKS_CNI_Policy",
        "AmazonEKSWorkerNodePolicy",
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonSSMManagedInstanceCore",
    )


def test_managed_policy_arns_live_in_the_aws_account_of_the_partition():
    assert (
        aws_naming.managed_policy_arn("aws", "AmazonEKSWorkerNodePolicy")
        == "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"
    )
    assert (
        aws_naming.managed_policy_arn("aws-cn", "AmazonEKS_CNI_Policy")
        == "arn:aws-cn:iam::aws:policy/AmazonEKS_CNI_Policy"
    )


# -- the attachments are dependencies of what needs them (issue 19 item 9) ------------------------------------------

ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


def node_role_attachments(run, role_resource: str):
    """The RolePolicyAttachments of one node role (by its Pulumi resource name), all four upstream policies."""
    role = run.one("aws:iam/role:Role", role_resource)
    attachments = [a for a in run.by_type(ATTACHMENT) if a.plain_inputs()["role"] == role.plain_inputs()["name"]]
    assert len(attachments) == 4, [a.name for a in attachments]
    return {a.urn for a in attachments}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_karpenter_object_that_can_launch_a_node_waits_for_the_node_role_policies(stack_run, stack):
    run = stack_run(stack)
    needed = node_role_attachments(run, "karpenter-node-role")
    kinds = ("EC2NodeClass", "NodePool")
    objects = [r for r in run.resources if r.type.startswith("kubernetes:karpenter") and r.type.endswith(kinds)]
    assert len(objects) >= 4
    for obj in objects:
        assert needed <= set(obj.dependencies), f"{obj.name} launches nodes before its role may join"


def test_the_controller_node_group_waits_for_its_node_role_policies(stack_run):
    run = stack_run("dev")
    needed = node_role_attachments(run, "cluster-controller-node-role")
    group = run.one("eks:index:ManagedNodeGroup")
    assert needed <= set(group.dependencies)
