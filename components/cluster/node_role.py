"""The EC2 node role every node joins with: the controller node group's and Karpenter's nodes alike.

`node_trust_policy` and `NODE_MANAGED_POLICIES` follow the Karpenter v1.14.1 CloudFormation reference
(`KarpenterNodeRole`); `node_role_with_policies` registers the role and its attachments, so both node kinds
follow one reference.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from components.common.aws import managed_policy_arn, policy_document

# Node role managed policies, from upstream KarpenterNodeRole.ManagedPolicyArns. Upstream moved
# from AmazonEC2ContainerRegistryReadOnly to the narrower PullOnly. terraform-aws-eks attaches
# AmazonSSMManagedInstanceCore only when asked; upstream always attaches it, and so does this module.
NODE_MANAGED_POLICIES: tuple[str, ...] = (
    "AmazonEKS_CNI_Policy",
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)


def node_trust_policy(partition: str) -> dict[str, Any]:
    """Trust policy for the node role: EC2 may assume it.

    The principal is ``ec2.amazonaws.com`` in every partition, including ``aws-cn``. Sources:
    - AWS's China-region EKS guide (docs.amazonaws.cn, "Amazon EKS Auto Mode node IAM role") shows
      the node trust policy with ``ec2.amazonaws.com``.
    - The Terraform AWS provider's ``aws_service_principal`` (used by terraform-aws-eks for this
      trust policy) returns ``amazonaws.com`` for ec2 in aws-cn. Only codedeploy, elasticmapreduce
      and logs get the ``.com.cn`` suffix there.

    Upstream CloudFormation differs: it writes ``ec2.${AWS::URLSuffix}``, which is
    ``ec2.amazonaws.com.cn`` in China. Upstream's ``iam:PassedToService`` condition accepts both
    spellings, so either trust form works with the controller policy built here.
    ``partition`` is taken so callers never have to special-case China. It is checked, not used.
    """
    if not isinstance(partition, str) or not partition.startswith("aws"):
        raise ValueError(f"partition must be an AWS partition name such as 'aws' or 'aws-cn', got {partition!r}")
    return policy_document(
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    )


def node_role_with_policies(
    prefix: str, *, role_name: str, partition: str, tags: dict[str, str], opts: pulumi.ResourceOptions
) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """An EC2 node role with the upstream node policies (CNI, worker, ECR pull-only, SSM core).

    Used for the controller node group and for Karpenter's nodes, so both follow one reference.
    """
    role = aws.iam.Role(
        f"{prefix}-role",
        name=role_name,
        assume_role_policy=json.dumps(node_trust_policy(partition)),
        tags=tags,
        opts=opts,
    )
    attachments = [
        aws.iam.RolePolicyAttachment(
            f"{prefix}-{policy}", role=role.name, policy_arn=managed_policy_arn(partition, policy), opts=opts
        )
        for policy in NODE_MANAGED_POLICIES
    ]
    return role, attachments
