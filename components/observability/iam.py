"""Least-privilege IAM for the metrics stack, as plain policy documents.

Each role is handed to exactly one service account, by a Pod Identity association, or with `karpenter.identity:
irsa` (the stack's choice of pod identity mechanism) by IRSA: a web-identity trust on the cluster's OIDC provider
and the `eks.amazonaws.com/role-arn` annotation on the service account. Each policy names the one workspace it may
touch: no wildcard actions, no wildcard resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.common.aws import policy_document

# Writing samples is all the Prometheus agent does in AMP (the AWS managed policy AmazonPrometheusRemoteWriteAccess
# grants exactly aps:RemoteWrite, but on every workspace).
REMOTE_WRITE_ACTIONS = ("aps:RemoteWrite",)
# What Grafana's Prometheus data source calls (AMP user guide, "Set up Grafana open source or Grafana Enterprise for
# use with Amazon Managed Service for Prometheus": AmazonPrometheusQueryAccess, or these four actions).
QUERY_ACTIONS = ("aps:GetLabels", "aps:GetMetricMetadata", "aps:GetSeries", "aps:QueryMetrics")
# The EBS CSI driver's AWS managed policy (EKS user guide, "Amazon EBS CSI driver"), on its controller's account.
EBS_CSI_POLICY = "service-role/AmazonEBSCSIDriverPolicy"
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
# Where the EBS CSI add-on runs its controller (EKS user guide, "Amazon EBS CSI driver": kube-system).
EBS_CSI_NAMESPACE = "kube-system"
# The annotation the EKS pod identity webhook reads to give a pod the role's web identity (IRSA).
IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"


def with_irsa_service_accounts(values: Mapping[str, Any], role_arns: Mapping[str, str]) -> dict[str, Any]:
    """kube-prometheus-stack values with each named component's service account (`prometheus`, `grafana`)
    annotated with its IRSA role. The input is not changed; a component without a serviceAccount block is an error."""
    result = dict(values)
    for component, role_arn in role_arns.items():
        section = dict(result[component])
        account = dict(section["serviceAccount"])
        account["annotations"] = {**account.get("annotations", {}), IRSA_ROLE_ANNOTATION: role_arn}
        section["serviceAccount"] = account
        result[component] = section
    return result


def remote_write_policy(workspace_arn: str) -> dict[str, Any]:
    """The Prometheus agent's policy: remote-write into this workspace only."""
    return policy_document({"Effect": "Allow", "Action": list(REMOTE_WRITE_ACTIONS), "Resource": workspace_arn})


def query_policy(workspace_arn: str) -> dict[str, Any]:
    """Grafana's policy: read this workspace only."""
    return policy_document({"Effect": "Allow", "Action": list(QUERY_ACTIONS), "Resource": workspace_arn})


def ebs_csi_policy_arn(partition: str) -> str:
    """ARN of AmazonEBSCSIDriverPolicy (an AWS managed policy under the service-role/ path)."""
    return f"arn:{partition}:iam::aws:policy/{EBS_CSI_POLICY}"
