"""Least-privilege IAM for the metrics stack, as plain policy documents (roles assumed through EKS Pod Identity).

Each role is handed to exactly one service account by a Pod Identity association, and each policy names the one
workspace it may touch: no wildcard actions, no wildcard resources.
"""

from __future__ import annotations

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


def remote_write_policy(workspace_arn: str) -> dict[str, Any]:
    """The Prometheus agent's policy: remote-write into this workspace only."""
    return policy_document({"Effect": "Allow", "Action": list(REMOTE_WRITE_ACTIONS), "Resource": workspace_arn})


def query_policy(workspace_arn: str) -> dict[str, Any]:
    """Grafana's policy: read this workspace only."""
    return policy_document({"Effect": "Allow", "Action": list(QUERY_ACTIONS), "Resource": workspace_arn})


def ebs_csi_policy_arn(partition: str) -> str:
    """ARN of AmazonEBSCSIDriverPolicy (an AWS managed policy under the service-role/ path)."""
    return f"arn:{partition}:iam::aws:policy/{EBS_CSI_POLICY}"
