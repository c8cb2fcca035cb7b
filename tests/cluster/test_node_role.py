"""The node role's trust policy and managed policies (components/cluster/node_role.py), as upstream's KarpenterNodeRole.

Expected values are typed out by hand from the Karpenter v1.14 CloudFormation reference, as in
tests/karpenter/test_iam.py.
"""

from __future__ import annotations

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
