"""Pure builders for the Karpenter controller's IAM: its six policy documents and its two trust policies.

Role: this module only returns plain, JSON-serialisable dicts and a few constants. It never imports
Pulumi. The node role's documents are in ``components.cluster.node_role`` (the controller node group
uses the same role shape) and the interruption queue's in ``components.karpenter.interruption``.
The Pulumi component calls these builders inside ``Output.apply`` once the ARNs are known and
``json.dumps`` the result.

Upstream source (authoritative): ``aws/karpenter-provider-aws``,
``website/content/en/v1.14/getting-started/getting-started-with-karpenter/cloudformation.yaml``
for Karpenter **v1.14.1**. The ``preview/``, ``docs/`` and ``v1.14/`` copies on ``main@1d927085`` are
byte-identical. Prose for each statement: ``website/content/en/v1.14/reference/cloudformation.md``.
Project notes: ``shared/research/karpenter.md`` §1.2-§1.5.

Second reference: ``terraform-aws-modules/terraform-aws-eks`` ``modules/karpenter/`` (``policy.tf``,
``main.tf``). Where the two differ, this module follows the Karpenter CloudFormation file. Each
difference is noted at the statement it affects.

The Sids, actions, resource ARN forms and conditions are copied from upstream statement by
statement. When upstream writes ``Action``/``Resource`` as a single string, so does this module.
That keeps every statement easy to diff against the CloudFormation file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from components.common.aws import irsa_trust_policy, pod_identity_trust_policy, policy_document, require_arn

# The six controller policies, in upstream's order: key -> upstream's managed policy name, which the component
# suffixes with the cluster name ("KarpenterController<X>Policy-${ClusterName}").
CONTROLLER_POLICY_NAMES: dict[str, str] = {
    "node-lifecycle": "KarpenterControllerNodeLifecyclePolicy",
    "iam-integration": "KarpenterControllerIAMIntegrationPolicy",
    "eks-integration": "KarpenterControllerEKSIntegrationPolicy",
    "interruption": "KarpenterControllerInterruptionPolicy",
    "zonal-shift": "KarpenterControllerZonalShiftPolicy",
    "resource-discovery": "KarpenterControllerResourceDiscoveryPolicy",
}
CONTROLLER_POLICY_KEYS: tuple[str, ...] = tuple(CONTROLLER_POLICY_NAMES)

# Statements that upstream grants on "Resource": "*". These are the only ones allowed. Each one
# has a reason:
# - AllowRegionalReadActions: EC2 Describe* calls do not support resource-level permissions.
#   Upstream limits them with an aws:RequestedRegion condition instead.
# - AllowPricingReadActions: pricing:GetProducts has no resource type. Upstream's prose adds that
#   pricing data is not in every region, so the statement is not region-scoped either.
# - AllowUnscopedInstanceProfileListAction: a List call over the account's instance profiles,
#   used to find the profiles Karpenter created so they can be garbage-collected. The call is not
#   made against one named profile. Upstream deliberately names the Sid "Unscoped".
# - AllowZonalShiftStatusReadOnly: upstream grants arc-zonal-shift:GetManagedResource on "*" and
#   pins it to this cluster with the arc-zonal-shift:ResourceIdentifier condition (the cluster ARN).
#   It is not in the brief's list of three, but upstream v1.14 has it, so it is listed here.
UNSCOPED_RESOURCE_SIDS: frozenset[str] = frozenset(
    {
        "AllowRegionalReadActions",
        "AllowPricingReadActions",
        "AllowUnscopedInstanceProfileListAction",
        "AllowZonalShiftStatusReadOnly",
    }
)

# Values used in conditions. Spelled once so a typo cannot creep into one statement only.
_OWNED = "owned"
_NODEPOOL_TAG = "karpenter.sh/nodepool"
_NODECLAIM_TAG = "karpenter.sh/nodeclaim"
_NODECLASS_TAG = "karpenter.k8s.aws/ec2nodeclass"
_EKS_CLUSTER_NAME_TAG = "eks:eks-cluster-name"
_REGION_TAG = "topology.kubernetes.io/region"

_ACCOUNT_ID = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class IamScope:
    """The cluster, region, partition and account that every controller statement is scoped to."""

    cluster_name: str
    region: str
    partition: str
    account_id: str

    def __post_init__(self) -> None:
        for field_name in ("cluster_name", "region", "partition", "account_id"):
            value = getattr(self, field_name)
            if not isinstance(value, str) or not value or value != value.strip():
                raise ValueError(
                    f"IamScope.{field_name} must be a non-empty string without surrounding spaces, got {value!r}"
                )
        # A wildcard or a slash in the cluster name would widen the tag-key conditions and ARNs
        # (for example kubernetes.io/cluster/* or cluster/*) beyond this one cluster.
        if any(ch in self.cluster_name for ch in "*?/ "):
            raise ValueError(
                f"IamScope.cluster_name must not contain '*', '?', '/' or spaces, got {self.cluster_name!r}"
            )
        if any(ch in self.region for ch in "*?:/ "):
            raise ValueError(f"IamScope.region must be a plain region name, got {self.region!r}")
        if not _ACCOUNT_ID.match(self.account_id):
            raise ValueError(f"IamScope.account_id must be 12 digits, got {self.account_id!r}")

    @property
    def cluster_arn(self) -> str:
        """ARN of the EKS cluster, e.g. ``arn:aws:eks:us-west-2:111122223333:cluster/demo``."""
        return f"arn:{self.partition}:eks:{self.region}:{self.account_id}:cluster/{self.cluster_name}"

    @property
    def cluster_tag_key(self) -> str:
        """The ``kubernetes.io/cluster/<name>`` tag key that Karpenter sets to ``owned``."""
        return f"kubernetes.io/cluster/{self.cluster_name}"

    @property
    def instance_profile_arn_pattern(self) -> str:
        """``arn:<p>:iam::<account>:instance-profile/*``. IAM is global, so the region field is empty."""
        return f"arn:{self.partition}:iam::{self.account_id}:instance-profile/*"

    @property
    def ssm_service_parameters_arn(self) -> str:
        """ARN pattern for the public ``/aws/service/*`` SSM parameters (AMI aliases)."""
        # The account field is empty: AWS publishes these parameters, not the caller's account.
        return f"arn:{self.partition}:ssm:{self.region}::parameter/aws/service/*"

    def ec2_arn(self, resource_type: str, *, any_account: bool = True) -> str:
        """``arn:<p>:ec2:<region>:*:<type>/*``, or ``...:<region>::<type>/*`` when ``any_account`` is False.

        Upstream writes image and snapshot ARNs with an empty account field, and every other EC2
        ARN with ``*``. Public AMIs and their snapshots belong to other accounts, so an account id
        there would break launches from AWS-published AMIs.
        """
        account = "*" if any_account else ""
        return f"arn:{self.partition}:ec2:{self.region}:{account}:{resource_type}/*"


# --------------------------------------------------------------------------------------------
# Controller policies (six AWS::IAM::ManagedPolicy resources upstream)
# --------------------------------------------------------------------------------------------


def _node_lifecycle(scope: IamScope) -> dict[str, Any]:
    cluster_tag = scope.cluster_tag_key
    # The resources a launch creates, in upstream's order.
    created = [
        scope.ec2_arn("fleet"),
        scope.ec2_arn("instance"),
        scope.ec2_arn("volume"),
        scope.ec2_arn("network-interface"),
        scope.ec2_arn("launch-template"),
        scope.ec2_arn("spot-instances-request"),
    ]
    return policy_document(
        {
            # Existing resources that a launch reads. Karpenter cannot tag them, so they carry no tag
            # condition. terraform-aws-eks (stored v1 policy) omits placement-group/*; upstream
            # v1.14 has it, because placement groups are supported in EC2NodeClass.
            "Sid": "AllowScopedEC2InstanceAccessActions",
            "Effect": "Allow",
            "Resource": [
                scope.ec2_arn("image", any_account=False),
                scope.ec2_arn("snapshot", any_account=False),
                scope.ec2_arn("security-group"),
                scope.ec2_arn("subnet"),
                scope.ec2_arn("capacity-reservation"),
                scope.ec2_arn("placement-group"),
            ],
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
        },
        {
            # A launch may only use launch templates that Karpenter created for this cluster.
            "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
            "Effect": "Allow",
            "Resource": scope.ec2_arn("launch-template"),
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Condition": {
                "StringEquals": {f"aws:ResourceTag/{cluster_tag}": _OWNED},
                "StringLike": {f"aws:ResourceTag/{_NODEPOOL_TAG}": "*"},
            },
        },
        {
            # New resources must be tagged at creation as owned by this cluster and a NodePool.
            "Sid": "AllowScopedEC2InstanceActionsWithTags",
            "Effect": "Allow",
            "Resource": list(created),
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            "Condition": {
                "StringEquals": {
                    f"aws:RequestTag/{cluster_tag}": _OWNED,
                    f"aws:RequestTag/{_EKS_CLUSTER_NAME_TAG}": scope.cluster_name,
                },
                "StringLike": {f"aws:RequestTag/{_NODEPOOL_TAG}": "*"},
            },
        },
        {
            # CreateTags only as part of the create call (ec2:CreateAction). Karpenter cannot
            # retag arbitrary resources this way.
            "Sid": "AllowScopedResourceCreationTagging",
            "Effect": "Allow",
            "Resource": list(created),
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": {
                    f"aws:RequestTag/{cluster_tag}": _OWNED,
                    f"aws:RequestTag/{_EKS_CLUSTER_NAME_TAG}": scope.cluster_name,
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": {f"aws:RequestTag/{_NODEPOOL_TAG}": "*"},
            },
        },
        {
            # Retagging after launch: only this cluster's instances, and only the three keys
            # Karpenter writes later (Name, the NodeClaim name, the EKS cluster-name tag).
            "Sid": "AllowScopedResourceTagging",
            "Effect": "Allow",
            "Resource": scope.ec2_arn("instance"),
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": {f"aws:ResourceTag/{cluster_tag}": _OWNED},
                "StringLike": {f"aws:ResourceTag/{_NODEPOOL_TAG}": "*"},
                "StringEqualsIfExists": {f"aws:RequestTag/{_EKS_CLUSTER_NAME_TAG}": scope.cluster_name},
                "ForAllValues:StringEquals": {"aws:TagKeys": [_EKS_CLUSTER_NAME_TAG, _NODECLAIM_TAG, "Name"]},
            },
        },
        {
            # Karpenter can only terminate or delete what it launched for this cluster.
            "Sid": "AllowScopedDeletion",
            "Effect": "Allow",
            "Resource": [scope.ec2_arn("instance"), scope.ec2_arn("launch-template")],
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Condition": {
                "StringEquals": {f"aws:ResourceTag/{cluster_tag}": _OWNED},
                "StringLike": {f"aws:ResourceTag/{_NODEPOOL_TAG}": "*"},
            },
        },
    )


def _iam_integration(scope: IamScope, node_role_arn: str) -> dict[str, Any]:
    cluster_tag = scope.cluster_tag_key
    profile_arn = scope.instance_profile_arn_pattern
    return policy_document(
        {
            # Only the node role, and only to EC2. Upstream lists both EC2 service-principal
            # spellings so that the same document works in the aws-cn partition.
            # terraform-aws-eks (stored v1 policy) emits only "ec2.<dns_suffix>"; upstream is followed here.
            "Sid": "AllowPassingInstanceRole",
            "Effect": "Allow",
            "Resource": node_role_arn,
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}},
        },
        {
            # Instance profiles that Karpenter creates for an EC2NodeClass's spec.role must carry
            # the cluster, region and nodeclass tags. The later statements rely on those tags.
            "Sid": "AllowScopedInstanceProfileCreationActions",
            "Effect": "Allow",
            "Resource": profile_arn,
            "Action": ["iam:CreateInstanceProfile"],
            "Condition": {
                "StringEquals": {
                    f"aws:RequestTag/{cluster_tag}": _OWNED,
                    f"aws:RequestTag/{_EKS_CLUSTER_NAME_TAG}": scope.cluster_name,
                    f"aws:RequestTag/{_REGION_TAG}": scope.region,
                },
                "StringLike": {f"aws:RequestTag/{_NODECLASS_TAG}": "*"},
            },
        },
        {
            # Retagging: the profile must already be ours, and the new tags must keep it ours.
            "Sid": "AllowScopedInstanceProfileTagActions",
            "Effect": "Allow",
            "Resource": profile_arn,
            "Action": ["iam:TagInstanceProfile"],
            "Condition": {
                "StringEquals": {
                    f"aws:ResourceTag/{cluster_tag}": _OWNED,
                    f"aws:ResourceTag/{_REGION_TAG}": scope.region,
                    f"aws:RequestTag/{cluster_tag}": _OWNED,
                    f"aws:RequestTag/{_EKS_CLUSTER_NAME_TAG}": scope.cluster_name,
                    f"aws:RequestTag/{_REGION_TAG}": scope.region,
                },
                "StringLike": {
                    f"aws:ResourceTag/{_NODECLASS_TAG}": "*",
                    f"aws:RequestTag/{_NODECLASS_TAG}": "*",
                },
            },
        },
        {
            # Mutating or deleting profiles: only this cluster's, in this region. Adding a role
            # also needs iam:PassRole on that role, so only the node role can be attached.
            "Sid": "AllowScopedInstanceProfileActions",
            "Effect": "Allow",
            "Resource": profile_arn,
            "Action": [
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
            ],
            "Condition": {
                "StringEquals": {
                    f"aws:ResourceTag/{cluster_tag}": _OWNED,
                    f"aws:ResourceTag/{_REGION_TAG}": scope.region,
                },
                "StringLike": {f"aws:ResourceTag/{_NODECLASS_TAG}": "*"},
            },
        },
    )


def _eks_integration(scope: IamScope) -> dict[str, Any]:
    return policy_document(
        {
            # Karpenter discovers the API server endpoint and CA of this one cluster.
            "Sid": "AllowAPIServerEndpointDiscovery",
            "Effect": "Allow",
            "Resource": scope.cluster_arn,
            "Action": "eks:DescribeCluster",
        }
    )


def _interruption(queue_arn: str) -> dict[str, Any]:
    return policy_document(
        {
            # Read-and-delete on the interruption queue only. Upstream v1.x dropped
            # sqs:GetQueueAttributes, which the v0.3x policy had.
            "Sid": "AllowInterruptionQueueActions",
            "Effect": "Allow",
            "Resource": queue_arn,
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
        }
    )


def _zonal_shift(scope: IamScope) -> dict[str, Any]:
    return policy_document(
        {
            # Upstream grants this on "*" and narrows it to this cluster with the ResourceIdentifier
            # condition. terraform-aws-eks (stored copy) has no zonal-shift statement at all.
            "Sid": "AllowZonalShiftStatusReadOnly",
            "Effect": "Allow",
            "Resource": "*",
            "Action": ["arc-zonal-shift:GetManagedResource"],
            "Condition": {"StringEquals": {"arc-zonal-shift:ResourceIdentifier": scope.cluster_arn}},
        }
    )


def _resource_discovery(scope: IamScope) -> dict[str, Any]:
    return policy_document(
        {
            # Describe* calls have no resource-level permissions, so they are limited to the
            # cluster's region instead. Upstream v1.14's list is used. terraform-aws-eks (stored
            # v1 policy) still has ec2:DescribeAvailabilityZones and lacks DescribeCapacityReservations,
            # DescribeInstanceStatus and DescribePlacementGroups.
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
            "Condition": {"StringEquals": {"aws:RequestedRegion": scope.region}},
        },
        {
            # Public AMI alias parameters only (/aws/service/...), not the account's own parameters.
            "Sid": "AllowSSMReadActions",
            "Effect": "Allow",
            "Resource": scope.ssm_service_parameters_arn,
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
            "Resource": scope.instance_profile_arn_pattern,
            "Action": "iam:GetInstanceProfile",
        },
    )


def controller_policies(scope: IamScope, *, node_role_arn: str, queue_arn: str) -> dict[str, dict[str, Any]]:
    """Return the six Karpenter controller policy documents, keyed as in ``CONTROLLER_POLICY_KEYS``.

    ``node_role_arn`` is the role that nodes run as. It is the only role the controller may pass
    to EC2. ``queue_arn`` is the interruption queue. Both are resolved ARNs (call this builder
    inside ``Output.apply``). Attach every document to the controller role. They follow upstream's
    six ``KarpenterController*Policy`` documents statement by statement.
    """
    if not isinstance(scope, IamScope):
        raise TypeError(f"scope must be an IamScope, got {type(scope).__name__}")
    require_arn(node_role_arn, "node_role_arn")
    require_arn(queue_arn, "queue_arn")
    documents = (
        _node_lifecycle(scope),
        _iam_integration(scope, node_role_arn),
        _eks_integration(scope),
        _interruption(queue_arn),
        _zonal_shift(scope),
        _resource_discovery(scope),
    )
    return dict(zip(CONTROLLER_POLICY_KEYS, documents, strict=True))


# --------------------------------------------------------------------------------------------
# Trust policies
# --------------------------------------------------------------------------------------------


def controller_trust_policy_pod_identity() -> dict[str, Any]:
    """Trust policy for the controller role with EKS Pod Identity (``pods.eks.amazonaws.com``).

    Pod Identity needs ``sts:TagSession`` as well as ``sts:AssumeRole``. The agent attaches session
    tags such as the namespace and service account. This matches terraform-aws-eks
    ``controller_assume_role`` and the Karpenter getting-started eksctl config.
    """
    return pod_identity_trust_policy()


def controller_trust_policy_irsa(
    oidc_provider_arn: str, oidc_issuer_host: str, namespace: str, service_account: str
) -> dict[str, Any]:
    """Trust policy for the controller role with IRSA (``sts:AssumeRoleWithWebIdentity``).

    ``oidc_issuer_host`` is the issuer without its scheme, e.g.
    ``oidc.eks.us-west-2.amazonaws.com/id/ABC``. A leading ``https://`` (as EKS reports the issuer)
    and a trailing ``/`` are removed, because IAM condition keys use the bare host/path.
    The subject is pinned with ``StringEquals`` to exactly ``system:serviceaccount:<ns>:<sa>``.
    The audience is pinned to ``sts.amazonaws.com``.
    """
    return irsa_trust_policy(oidc_provider_arn, oidc_issuer_host, namespace, service_account)
