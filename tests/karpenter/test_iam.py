"""Behaviour of the Karpenter controller IAM builders (components/karpenter/iam.py).

Every expected value here is typed out by hand from the Karpenter v1.14 CloudFormation reference
(aws/karpenter-provider-aws website/content/en/v1.14/getting-started/getting-started-with-karpenter/
cloudformation.yaml, described in shared/research/karpenter.md §1.2-§1.5), with ${ClusterName},
${AWS::Region}, ${AWS::Partition} and ${AWS::AccountId} substituted by the constants below.
Nothing expected is computed by the module under test.
"""

from __future__ import annotations

import json

import pytest

from components.karpenter import iam as k
from components.karpenter.iam import IamScope
from tests.support.iam import actions_of, statements_of

CLUSTER = "gpu-lab"
REGION = "us-west-2"
PARTITION = "aws"
ACCOUNT = "111122223333"
NODE_ROLE_ARN = "arn:aws:iam::111122223333:role/gpu-lab-karpenter-node"
QUEUE_ARN = "arn:aws:sqs:us-west-2:111122223333:gpu-lab"

SCOPE = IamScope(cluster_name=CLUSTER, region=REGION, partition=PARTITION, account_id=ACCOUNT)


def policies(scope: IamScope = SCOPE, node_role_arn: str = NODE_ROLE_ARN, queue_arn: str = QUEUE_ARN):
    return k.controller_policies(scope, node_role_arn=node_role_arn, queue_arn=queue_arn)


def all_statements(docs: dict) -> list[dict]:
    return [s for doc in docs.values() for s in statements_of(doc)]


def statement(sid: str, docs: dict | None = None) -> dict:
    found = [s for s in all_statements(docs or policies()) if s.get("Sid") == sid]
    assert len(found) == 1, f"expected exactly one statement {sid}, found {len(found)}"
    return found[0]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


# ------------------------------------------------------------------------------------------------
# The set of controller policies
# ------------------------------------------------------------------------------------------------


def test_exactly_six_controller_policies_keyed_like_upstream():
    assert list(policies()) == [
        "node-lifecycle",
        "iam-integration",
        "eks-integration",
        "interruption",
        "zonal-shift",
        "resource-discovery",
    ]


def test_every_controller_policy_is_a_2012_10_17_document_that_survives_json():
    for name, doc in policies().items():
        assert doc["Version"] == "2012-10-17", name
        assert doc["Statement"], name
        assert json.loads(json.dumps(doc)) == doc, name


def test_statement_ids_are_unique_across_the_six_policies():
    sids = [s["Sid"] for s in all_statements(policies())]
    assert len(sids) == len(set(sids)) == 18


def test_controller_policies_only_allow():
    assert {s["Effect"] for s in all_statements(policies())} == {"Allow"}


UPSTREAM_ACTIONS = {
    "node-lifecycle": {
        "ec2:RunInstances",
        "ec2:CreateFleet",
        "ec2:CreateLaunchTemplate",
        "ec2:CreateTags",
        "ec2:TerminateInstances",
        "ec2:DeleteLaunchTemplate",
    },
    "iam-integration": {
        "iam:PassRole",
        "iam:CreateInstanceProfile",
        "iam:TagInstanceProfile",
        "iam:AddRoleToInstanceProfile",
        "iam:RemoveRoleFromInstanceProfile",
        "iam:DeleteInstanceProfile",
    },
    "eks-integration": {"eks:DescribeCluster"},
    "interruption": {"sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"},
    "zonal-shift": {"arc-zonal-shift:GetManagedResource"},
    "resource-discovery": {
        "ec2:DescribeCapacityReservations",
        "ec2:DescribeImages",
        "ec2:DescribeInstances",
        "ec2:DescribeInstanceStatus",
        "ec2:DescribeInstanceTypeOfferings",
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeLaunchTemplates",
        "ec2:DescribePlacementGroups",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSpotPriceHistory",
        "ec2:DescribeSubnets",
        "ssm:GetParameter",
        "pricing:GetProducts",
        "iam:ListInstanceProfiles",
        "iam:GetInstanceProfile",
    },
}


@pytest.mark.parametrize("name", sorted(UPSTREAM_ACTIONS))
def test_action_set_of_each_policy_equals_upstream(name):
    assert actions_of(policies()[name]) == UPSTREAM_ACTIONS[name]


UPSTREAM_SIDS = {
    "node-lifecycle": [
        "AllowScopedEC2InstanceAccessActions",
        "AllowScopedEC2LaunchTemplateAccessActions",
        "AllowScopedEC2InstanceActionsWithTags",
        "AllowScopedResourceCreationTagging",
        "AllowScopedResourceTagging",
        "AllowScopedDeletion",
    ],
    "iam-integration": [
        "AllowPassingInstanceRole",
        "AllowScopedInstanceProfileCreationActions",
        "AllowScopedInstanceProfileTagActions",
        "AllowScopedInstanceProfileActions",
    ],
    "eks-integration": ["AllowAPIServerEndpointDiscovery"],
    "interruption": ["AllowInterruptionQueueActions"],
    "zonal-shift": ["AllowZonalShiftStatusReadOnly"],
    "resource-discovery": [
        "AllowRegionalReadActions",
        "AllowSSMReadActions",
        "AllowPricingReadActions",
        "AllowUnscopedInstanceProfileListAction",
        "AllowInstanceProfileReadActions",
    ],
}


@pytest.mark.parametrize("name", sorted(UPSTREAM_SIDS))
def test_each_policy_has_upstreams_statements_in_upstreams_order(name):
    assert [s["Sid"] for s in policies()[name]["Statement"]] == UPSTREAM_SIDS[name]


# ------------------------------------------------------------------------------------------------
# Whole documents, statement for statement against upstream
# ------------------------------------------------------------------------------------------------

CREATED_RESOURCES = [
    "arn:aws:ec2:us-west-2:*:fleet/*",
    "arn:aws:ec2:us-west-2:*:instance/*",
    "arn:aws:ec2:us-west-2:*:volume/*",
    "arn:aws:ec2:us-west-2:*:network-interface/*",
    "arn:aws:ec2:us-west-2:*:launch-template/*",
    "arn:aws:ec2:us-west-2:*:spot-instances-request/*",
]


def test_node_lifecycle_policy_matches_upstream_document():
    assert policies()["node-lifecycle"] == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowScopedEC2InstanceAccessActions",
                "Effect": "Allow",
                "Resource": [
                    "arn:aws:ec2:us-west-2::image/*",
                    "arn:aws:ec2:us-west-2::snapshot/*",
                    "arn:aws:ec2:us-west-2:*:security-group/*",
                    "arn:aws:ec2:us-west-2:*:subnet/*",
                    "arn:aws:ec2:us-west-2:*:capacity-reservation/*",
                    "arn:aws:ec2:us-west-2:*:placement-group/*",
                ],
                "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            },
            {
                "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
                "Effect": "Allow",
                "Resource": "arn:aws:ec2:us-west-2:*:launch-template/*",
                "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
                "Condition": {
                    "StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/gpu-lab": "owned"},
                    "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                },
            },
            {
                "Sid": "AllowScopedEC2InstanceActionsWithTags",
                "Effect": "Allow",
                "Resource": CREATED_RESOURCES,
                "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
                "Condition": {
                    "StringEquals": {
                        "aws:RequestTag/kubernetes.io/cluster/gpu-lab": "owned",
                        "aws:RequestTag/eks:eks-cluster-name": "gpu-lab",
                    },
                    "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
                },
            },
            {
                "Sid": "AllowScopedResourceCreationTagging",
                "Effect": "Allow",
                "Resource": CREATED_RESOURCES,
                "Action": "ec2:CreateTags",
                "Condition": {
                    "StringEquals": {
                        "aws:RequestTag/kubernetes.io/cluster/gpu-lab": "owned",
                        "aws:RequestTag/eks:eks-cluster-name": "gpu-lab",
                        "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                    },
                    "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
                },
            },
            {
                "Sid": "AllowScopedResourceTagging",
                "Effect": "Allow",
                "Resource": "arn:aws:ec2:us-west-2:*:instance/*",
                "Action": "ec2:CreateTags",
                "Condition": {
                    "StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/gpu-lab": "owned"},
                    "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                    "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": "gpu-lab"},
                    "ForAllValues:StringEquals": {
                        "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                    },
                },
            },
            {
                "Sid": "AllowScopedDeletion",
                "Effect": "Allow",
                "Resource": [
                    "arn:aws:ec2:us-west-2:*:instance/*",
                    "arn:aws:ec2:us-west-2:*:launch-template/*",
                ],
                "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
                "Condition": {
                    "StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/gpu-lab": "owned"},
                    "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                },
            },
        ],
    }


def test_iam_integration_policy_matches_upstream_document():
    profiles = "arn:aws:iam::111122223333:instance-profile/*"
    assert policies()["iam-integration"] == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowPassingInstanceRole",
                "Effect": "Allow",
                "Resource": "arn:aws:iam::111122223333:role/gpu-lab-karpenter-node",
                "Action": "iam:PassRole",
                "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}},
            },
            {
                "Sid": "AllowScopedInstanceProfileCreationActions",
                "Effect": "Allow",
                "Resource": profiles,
                "Action": ["iam:CreateInstanceProfile"],
                "Condition": {
                    "StringEquals": {
                        "aws:RequestTag/kubernetes.io/cluster/gpu-lab": "owned",
                        "aws:RequestTag/eks:eks-cluster-name": "gpu-lab",
                        "aws:RequestTag/topology.kubernetes.io/region": "us-west-2",
                    },
                    "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
                },
            },
            {
                "Sid": "AllowScopedInstanceProfileTagActions",
                "Effect": "Allow",
                "Resource": profiles,
                "Action": ["iam:TagInstanceProfile"],
                "Condition": {
                    "StringEquals": {
                        "aws:ResourceTag/kubernetes.io/cluster/gpu-lab": "owned",
                        "aws:ResourceTag/topology.kubernetes.io/region": "us-west-2",
                        "aws:RequestTag/kubernetes.io/cluster/gpu-lab": "owned",
                        "aws:RequestTag/eks:eks-cluster-name": "gpu-lab",
                        "aws:RequestTag/topology.kubernetes.io/region": "us-west-2",
                    },
                    "StringLike": {
                        "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                        "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*",
                    },
                },
            },
            {
                "Sid": "AllowScopedInstanceProfileActions",
                "Effect": "Allow",
                "Resource": profiles,
                "Action": [
                    "iam:AddRoleToInstanceProfile",
                    "iam:RemoveRoleFromInstanceProfile",
                    "iam:DeleteInstanceProfile",
                ],
                "Condition": {
                    "StringEquals": {
                        "aws:ResourceTag/kubernetes.io/cluster/gpu-lab": "owned",
                        "aws:ResourceTag/topology.kubernetes.io/region": "us-west-2",
                    },
                    "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"},
                },
            },
        ],
    }


def test_eks_interruption_and_zonal_shift_policies_match_upstream_documents():
    docs = policies()
    assert docs["eks-integration"] == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowAPIServerEndpointDiscovery",
                "Effect": "Allow",
                "Resource": "arn:aws:eks:us-west-2:111122223333:cluster/gpu-lab",
                "Action": "eks:DescribeCluster",
            }
        ],
    }
    assert docs["interruption"] == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowInterruptionQueueActions",
                "Effect": "Allow",
                "Resource": "arn:aws:sqs:us-west-2:111122223333:gpu-lab",
                "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            }
        ],
    }
    assert docs["zonal-shift"] == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowZonalShiftStatusReadOnly",
                "Effect": "Allow",
                "Resource": "*",
                "Action": ["arc-zonal-shift:GetManagedResource"],
                "Condition": {
                    "StringEquals": {
                        "arc-zonal-shift:ResourceIdentifier": "arn:aws:eks:us-west-2:111122223333:cluster/gpu-lab"
                    }
                },
            }
        ],
    }


def test_resource_discovery_policy_matches_upstream_document():
    assert policies()["resource-discovery"] == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowRegionalReadActions",
                "Effect": "Allow",
                "Resource": "*",
                "Action": [
                    "ec2:DescribeCapacityReservations",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstances",
                    "ec2:DescribeInstanceStatus",
                    "ec2:DescribeInstanceTypeOfferings",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplates",
                    "ec2:DescribePlacementGroups",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSpotPriceHistory",
                    "ec2:DescribeSubnets",
                ],
                "Condition": {"StringEquals": {"aws:RequestedRegion": "us-west-2"}},
            },
            {
                "Sid": "AllowSSMReadActions",
                "Effect": "Allow",
                "Resource": "arn:aws:ssm:us-west-2::parameter/aws/service/*",
                "Action": "ssm:GetParameter",
            },
            {
                "Sid": "AllowPricingReadActions",
                "Effect": "Allow",
                "Resource": "*",
                "Action": "pricing:GetProducts",
            },
            {
                "Sid": "AllowUnscopedInstanceProfileListAction",
                "Effect": "Allow",
                "Resource": "*",
                "Action": "iam:ListInstanceProfiles",
            },
            {
                "Sid": "AllowInstanceProfileReadActions",
                "Effect": "Allow",
                "Resource": "arn:aws:iam::111122223333:instance-profile/*",
                "Action": "iam:GetInstanceProfile",
            },
        ],
    }


# ------------------------------------------------------------------------------------------------
# Scoping: the conditions that keep Karpenter to its own cluster, region and node role
# ------------------------------------------------------------------------------------------------


def test_run_instances_on_launch_templates_requires_cluster_owned_tag():
    s = statement("AllowScopedEC2LaunchTemplateAccessActions")
    assert as_list(s["Resource"]) == ["arn:aws:ec2:us-west-2:*:launch-template/*"]
    assert set(as_list(s["Action"])) == {"ec2:RunInstances", "ec2:CreateFleet"}
    assert s["Condition"]["StringEquals"] == {"aws:ResourceTag/kubernetes.io/cluster/gpu-lab": "owned"}
    assert s["Condition"]["StringLike"] == {"aws:ResourceTag/karpenter.sh/nodepool": "*"}


def test_launching_reads_images_and_snapshots_from_any_owner_but_tags_nothing_there():
    s = statement("AllowScopedEC2InstanceAccessActions")
    # Public AMIs belong to other accounts: upstream leaves the account field empty for them.
    assert "arn:aws:ec2:us-west-2::image/*" in s["Resource"]
    assert "arn:aws:ec2:us-west-2::snapshot/*" in s["Resource"]
    assert "arn:aws:ec2:us-west-2:*:placement-group/*" in s["Resource"]
    assert "Condition" not in s
    # Nothing this statement covers can be created: no launch templates, instances or volumes.
    assert not any(kind in arn for arn in s["Resource"] for kind in (":launch-template/", ":instance/", ":volume/"))


def test_new_instances_must_be_tagged_for_this_cluster_and_a_nodepool():
    s = statement("AllowScopedEC2InstanceActionsWithTags")
    assert s["Condition"]["StringEquals"] == {
        "aws:RequestTag/kubernetes.io/cluster/gpu-lab": "owned",
        "aws:RequestTag/eks:eks-cluster-name": "gpu-lab",
    }
    assert s["Condition"]["StringLike"] == {"aws:RequestTag/karpenter.sh/nodepool": "*"}


def test_tagging_on_create_is_only_possible_inside_the_create_call():
    s = statement("AllowScopedResourceCreationTagging")
    assert s["Action"] == "ec2:CreateTags"
    assert s["Condition"]["StringEquals"]["ec2:CreateAction"] == ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]
    assert s["Condition"]["StringEquals"]["aws:RequestTag/kubernetes.io/cluster/gpu-lab"] == "owned"
    assert s["Condition"]["StringEquals"]["aws:RequestTag/eks:eks-cluster-name"] == "gpu-lab"
    assert s["Condition"]["StringLike"] == {"aws:RequestTag/karpenter.sh/nodepool": "*"}


def test_retagging_running_instances_is_limited_to_three_keys_on_owned_instances():
    s = statement("AllowScopedResourceTagging")
    assert as_list(s["Resource"]) == ["arn:aws:ec2:us-west-2:*:instance/*"]
    assert s["Condition"]["ForAllValues:StringEquals"] == {
        "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
    }
    assert s["Condition"]["StringEqualsIfExists"] == {"aws:RequestTag/eks:eks-cluster-name": "gpu-lab"}
    assert s["Condition"]["StringEquals"] == {"aws:ResourceTag/kubernetes.io/cluster/gpu-lab": "owned"}


def test_termination_requires_cluster_owned_and_nodepool_tags():
    s = statement("AllowScopedDeletion")
    assert set(as_list(s["Action"])) == {"ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"}
    assert s["Condition"]["StringEquals"] == {"aws:ResourceTag/kubernetes.io/cluster/gpu-lab": "owned"}
    assert s["Condition"]["StringLike"] == {"aws:ResourceTag/karpenter.sh/nodepool": "*"}


def test_every_ec2_mutation_except_plain_reads_is_tag_conditioned():
    # Of the statements that create, tag or delete EC2 resources, every one carries a
    # kubernetes.io/cluster/<name> condition (RequestTag or ResourceTag).
    mutating = {"ec2:CreateLaunchTemplate", "ec2:CreateTags", "ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"}
    checked = 0
    for s in statements_of(policies()["node-lifecycle"]):
        if mutating & set(as_list(s["Action"])):
            keys = set(s["Condition"]["StringEquals"])
            assert keys & {
                "aws:RequestTag/kubernetes.io/cluster/gpu-lab",
                "aws:ResourceTag/kubernetes.io/cluster/gpu-lab",
            }, s["Sid"]
            checked += 1
    assert checked == 4


def test_instance_profile_creation_requires_region_and_nodeclass_tags():
    s = statement("AllowScopedInstanceProfileCreationActions")
    assert s["Resource"] == "arn:aws:iam::111122223333:instance-profile/*"
    assert s["Condition"]["StringEquals"] == {
        "aws:RequestTag/kubernetes.io/cluster/gpu-lab": "owned",
        "aws:RequestTag/eks:eks-cluster-name": "gpu-lab",
        "aws:RequestTag/topology.kubernetes.io/region": "us-west-2",
    }
    assert s["Condition"]["StringLike"] == {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}


def test_instance_profile_tagging_requires_the_profile_to_be_ours_before_and_after():
    s = statement("AllowScopedInstanceProfileTagActions")
    equals = s["Condition"]["StringEquals"]
    assert equals["aws:ResourceTag/kubernetes.io/cluster/gpu-lab"] == "owned"
    assert equals["aws:ResourceTag/topology.kubernetes.io/region"] == "us-west-2"
    assert equals["aws:RequestTag/kubernetes.io/cluster/gpu-lab"] == "owned"
    assert equals["aws:RequestTag/topology.kubernetes.io/region"] == "us-west-2"
    assert s["Condition"]["StringLike"] == {
        "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
        "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*",
    }


def test_instance_profile_role_changes_and_deletion_require_cluster_region_and_nodeclass_tags():
    s = statement("AllowScopedInstanceProfileActions")
    assert s["Condition"]["StringEquals"] == {
        "aws:ResourceTag/kubernetes.io/cluster/gpu-lab": "owned",
        "aws:ResourceTag/topology.kubernetes.io/region": "us-west-2",
    }
    assert s["Condition"]["StringLike"] == {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}


def test_instance_profile_permissions_stay_in_this_account():
    for sid in (
        "AllowScopedInstanceProfileCreationActions",
        "AllowScopedInstanceProfileTagActions",
        "AllowScopedInstanceProfileActions",
        "AllowInstanceProfileReadActions",
    ):
        assert as_list(statement(sid)["Resource"]) == ["arn:aws:iam::111122223333:instance-profile/*"], sid


def test_pass_role_only_for_the_node_role_to_ec2():
    s = statement("AllowPassingInstanceRole")
    assert s["Action"] == "iam:PassRole"
    assert as_list(s["Resource"]) == ["arn:aws:iam::111122223333:role/gpu-lab-karpenter-node"]
    assert s["Condition"] == {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}}
    # No other statement grants iam:PassRole.
    passing = [x["Sid"] for x in all_statements(policies()) if "iam:PassRole" in as_list(x["Action"])]
    assert passing == ["AllowPassingInstanceRole"]


def test_describe_calls_are_limited_to_the_cluster_region():
    s = statement("AllowRegionalReadActions")
    assert all(a.startswith("ec2:Describe") for a in s["Action"])
    assert s["Condition"] == {"StringEquals": {"aws:RequestedRegion": "us-west-2"}}


def test_ssm_reads_are_limited_to_aws_published_parameters_in_the_region():
    s = statement("AllowSSMReadActions")
    assert s["Action"] == "ssm:GetParameter"
    assert s["Resource"] == "arn:aws:ssm:us-west-2::parameter/aws/service/*"


def test_describe_cluster_only_for_this_cluster():
    assert (
        statement("AllowAPIServerEndpointDiscovery")["Resource"] == "arn:aws:eks:us-west-2:111122223333:cluster/gpu-lab"
    )


def test_zonal_shift_status_is_readable_only_for_this_cluster():
    s = statement("AllowZonalShiftStatusReadOnly")
    assert s["Condition"] == {
        "StringEquals": {"arc-zonal-shift:ResourceIdentifier": "arn:aws:eks:us-west-2:111122223333:cluster/gpu-lab"}
    }


def test_queue_permissions_apply_only_to_the_interruption_queue():
    s = statement("AllowInterruptionQueueActions")
    assert as_list(s["Resource"]) == ["arn:aws:sqs:us-west-2:111122223333:gpu-lab"]
    assert "sqs:SendMessage" not in as_list(s["Action"])


# ------------------------------------------------------------------------------------------------
# Wildcards
# ------------------------------------------------------------------------------------------------


def test_no_controller_statement_grants_every_action_or_a_whole_service():
    for s in all_statements(policies()):
        for action in as_list(s["Action"]):
            assert action != "*", s["Sid"]
            assert not action.endswith(":*"), s["Sid"]
        assert "NotAction" not in s and "NotResource" not in s, s["Sid"]


def test_unscoped_resource_sids_are_exactly_the_upstream_ones():
    assert {
        "AllowRegionalReadActions",
        "AllowPricingReadActions",
        "AllowUnscopedInstanceProfileListAction",
        "AllowZonalShiftStatusReadOnly",
    } == k.UNSCOPED_RESOURCE_SIDS


def test_only_listed_statements_use_an_unscoped_resource():
    unscoped = {s["Sid"] for s in all_statements(policies()) if "*" in as_list(s["Resource"])}
    # Equality (not subset) also catches a stale name left in the constant.
    assert unscoped == set(k.UNSCOPED_RESOURCE_SIDS)


def test_unscoped_statements_other_than_pricing_and_listing_carry_a_condition():
    for sid in k.UNSCOPED_RESOURCE_SIDS - {"AllowPricingReadActions", "AllowUnscopedInstanceProfileListAction"}:
        assert statement(sid).get("Condition"), sid


def test_unscoped_pricing_and_listing_statements_grant_a_single_read_action_each():
    assert as_list(statement("AllowPricingReadActions")["Action"]) == ["pricing:GetProducts"]
    assert as_list(statement("AllowUnscopedInstanceProfileListAction")["Action"]) == ["iam:ListInstanceProfiles"]


# ------------------------------------------------------------------------------------------------
# Inputs flow into the documents
# ------------------------------------------------------------------------------------------------


def test_cluster_name_flows_into_every_tag_condition_and_cluster_arn():
    other = IamScope(cluster_name="team-b-prod", region=REGION, partition=PARTITION, account_id=ACCOUNT)
    text = json.dumps(policies(other))
    assert "gpu-lab" not in text.replace(NODE_ROLE_ARN, "").replace(QUEUE_ARN, "")
    assert '"aws:ResourceTag/kubernetes.io/cluster/team-b-prod": "owned"' in text
    assert '"aws:RequestTag/kubernetes.io/cluster/team-b-prod": "owned"' in text
    assert '"aws:RequestTag/eks:eks-cluster-name": "team-b-prod"' in text
    assert statement("AllowAPIServerEndpointDiscovery", policies(other))["Resource"] == (
        "arn:aws:eks:us-west-2:111122223333:cluster/team-b-prod"
    )


def test_partition_region_and_account_flow_into_every_arn():
    china = IamScope(cluster_name=CLUSTER, region="cn-north-1", partition="aws-cn", account_id="222233334444")
    docs = k.controller_policies(
        china,
        node_role_arn="arn:aws-cn:iam::222233334444:role/node",
        queue_arn="arn:aws-cn:sqs:cn-north-1:222233334444:gpu-lab",
    )
    arns = [r for s in all_statements(docs) for r in as_list(s["Resource"]) if r != "*"]
    assert arns and all(r.startswith("arn:aws-cn:") for r in arns)
    assert "arn:aws-cn:ec2:cn-north-1::image/*" in arns
    assert "arn:aws-cn:ssm:cn-north-1::parameter/aws/service/*" in arns
    assert "arn:aws-cn:iam::222233334444:instance-profile/*" in arns
    assert "arn:aws-cn:eks:cn-north-1:222233334444:cluster/gpu-lab" in arns
    assert statement("AllowRegionalReadActions", docs)["Condition"] == {
        "StringEquals": {"aws:RequestedRegion": "cn-north-1"}
    }
    assert "us-west-2" not in json.dumps(docs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"node_role_arn": "gpu-lab-karpenter-node", "queue_arn": QUEUE_ARN},
        {"node_role_arn": NODE_ROLE_ARN, "queue_arn": "https://sqs.us-west-2.amazonaws.com/111122223333/gpu-lab"},
        {"node_role_arn": "", "queue_arn": QUEUE_ARN},
    ],
)
def test_controller_policies_refuse_anything_but_arns(kwargs):
    with pytest.raises(ValueError):
        k.controller_policies(SCOPE, **kwargs)


@pytest.mark.parametrize(
    "field,value",
    [
        ("cluster_name", ""),
        ("cluster_name", "*"),
        ("cluster_name", "a/b"),
        ("region", "us-west-2:"),
        ("partition", ""),
        ("account_id", "1234"),
        ("account_id", "*"),
    ],
)
def test_scope_refuses_values_that_would_widen_or_break_the_policies(field, value):
    values = {"cluster_name": CLUSTER, "region": REGION, "partition": PARTITION, "account_id": ACCOUNT}
    values[field] = value
    with pytest.raises(ValueError):
        IamScope(**values)


# ------------------------------------------------------------------------------------------------
# Trust policies
# ------------------------------------------------------------------------------------------------


def test_pod_identity_trust_lets_eks_pods_assume_and_tag_the_session():
    assert k.controller_trust_policy_pod_identity() == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }


OIDC_ARN = (
    "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
)
OIDC_HOST = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"


def test_irsa_trust_pins_the_service_account_subject_and_sts_audience():
    assert k.controller_trust_policy_irsa(OIDC_ARN, OIDC_HOST, "kube-system", "karpenter") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": OIDC_ARN},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud": "sts.amazonaws.com",
                        "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub": (
                            "system:serviceaccount:kube-system:karpenter"
                        ),
                    }
                },
            }
        ],
    }


def test_irsa_trust_accepts_the_issuer_url_as_eks_reports_it():
    from_url = k.controller_trust_policy_irsa(OIDC_ARN, "https://" + OIDC_HOST + "/", "karpenter", "karpenter")
    conditions = from_url["Statement"][0]["Condition"]["StringEquals"]
    assert set(conditions) == {
        "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud",
        "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub",
    }
    assert conditions["oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub"] == (
        "system:serviceaccount:karpenter:karpenter"
    )


@pytest.mark.parametrize(
    "namespace,service_account",
    [("kube-system", "*"), ("*", "karpenter"), ("", "karpenter"), ("kube-system", "")],
)
def test_irsa_trust_refuses_wildcard_or_empty_subjects(namespace, service_account):
    with pytest.raises(ValueError):
        k.controller_trust_policy_irsa(OIDC_ARN, OIDC_HOST, namespace, service_account)


def test_actions_of_reads_string_and_list_actions():
    doc = {"Version": "2012-10-17", "Statement": [{"Action": "a:B"}, {"Action": ["c:D", "a:B"]}]}
    assert actions_of(doc) == {"a:B", "c:D"}


# ------------------------------------------------------------------------------------------------
# Reserved capacity (issue 11): what ODCRs and Capacity Blocks need, per the v1.14 docs
# (concepts/nodeclasses.md "spec.capacityReservationSelectorTerms": DescribeCapacityReservations to discover,
# RunInstances to launch into them) and the v1.14 CloudFormation reference. Nothing extra is granted for them.
# ------------------------------------------------------------------------------------------------


def test_reserved_capacity_is_discoverable_in_the_clusters_region():
    read = statement("AllowRegionalReadActions")
    assert "ec2:DescribeCapacityReservations" in as_list(read["Action"])
    assert read["Condition"] == {"StringEquals": {"aws:RequestedRegion": REGION}}


def test_launches_may_use_reservations_of_any_account_including_shared_ones():
    # Capacity reservations shared through AWS RAM (the `ownerId` of a selector term) live in another account,
    # so the ARN's account is a wildcard, as upstream writes it.
    launch = statement("AllowScopedEC2InstanceAccessActions")
    assert "arn:aws:ec2:us-west-2:*:capacity-reservation/*" in as_list(launch["Resource"])
    assert set(as_list(launch["Action"])) == {"ec2:RunInstances", "ec2:CreateFleet"}
    assert "Condition" not in launch
