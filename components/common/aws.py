"""Small pure helpers for AWS names, ARNs and IAM documents that can be computed instead of looked up.

Each avoided data-source call (getPartition, getCallerIdentity) is one less round trip in every real preview.
"""

from __future__ import annotations

from typing import Any

POLICY_VERSION = "2012-10-17"


def partition_for_region(region: str) -> str:
    """The AWS partition a region belongs to (aws, aws-cn, aws-us-gov)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def account_id_of(arn: str) -> str:
    """The account ID field of an ARN (e.g. a role we just created)."""
    return arn.split(":")[4]


def policy_document(*statements: dict[str, Any]) -> dict[str, Any]:
    """An IAM policy document with the current policy language version."""
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


def pod_identity_trust_policy() -> dict[str, Any]:
    """Trust policy of a role that EKS Pod Identity hands to a service account (``pods.eks.amazonaws.com``).

    Pod Identity needs ``sts:TagSession`` as well as ``sts:AssumeRole``: the agent attaches session tags such as
    the namespace and service account.
    """
    return policy_document(
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    )


def irsa_trust_policy(
    oidc_provider_arn: str, oidc_issuer_host: str, namespace: str, service_account: str
) -> dict[str, Any]:
    """Trust policy of a role one service account assumes with IRSA (``sts:AssumeRoleWithWebIdentity``).

    ``oidc_issuer_host`` is the issuer without its scheme, e.g. ``oidc.eks.us-west-2.amazonaws.com/id/ABC``; a
    leading ``https://`` (as EKS reports the issuer) and a trailing ``/`` are removed, because IAM condition keys use
    the bare host/path. The subject is pinned with ``StringEquals`` to exactly
    ``system:serviceaccount:<ns>:<sa>`` and the audience to ``sts.amazonaws.com``.
    """
    require_arn(oidc_provider_arn, "oidc_provider_arn")
    host = oidc_issuer_host.strip()
    if host.startswith("https://"):
        host = host[len("https://") :]
    host = host.rstrip("/")
    if not host or "://" in host:
        raise ValueError(f"oidc_issuer_host must be the issuer host/path, got {oidc_issuer_host!r}")
    for name, value in (("namespace", namespace), ("service_account", service_account)):
        # A wildcard would be inert under StringEquals, but it almost certainly means the caller
        # expected a StringLike match. Reject it rather than emit a policy no one can assume.
        if not value or any(ch in value for ch in "*?: "):
            raise ValueError(f"{name} must be a plain Kubernetes name, got {value!r}")
    return policy_document(
        {
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{host}:aud": "sts.amazonaws.com",
                    f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                }
            },
        }
    )


def require_arn(value: str, what: str) -> None:
    """ValueError unless `value` is an ARN string (builders take resolved ARNs, never Outputs)."""
    if not isinstance(value, str) or not value.startswith("arn:"):
        raise ValueError(f"{what} must be an ARN string, got {value!r}")


def managed_policy_arn(partition: str, name: str) -> str:
    """ARN of an AWS managed policy, e.g. ``arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy``."""
    if not partition or not name or "/" in name or ":" in name:
        raise ValueError(f"invalid managed policy reference: partition={partition!r} name={name!r}")
    return f"arn:{partition}:iam::aws:policy/{name}"


# Root volume of the EKS-optimised AL2023 AMIs (x86_64 and arm64), for the controller group's launch template and
# Karpenter's EC2NodeClasses alike; a mapping for another device name would add a second volume and leave the root
# one at the AMI's defaults.
AL2023_ROOT_DEVICE = "/dev/xvda"
