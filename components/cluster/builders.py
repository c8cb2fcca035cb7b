"""Pure builders for the cluster's security-relevant shapes: controller node group labels, taint, AMI type and
launch template, the cluster-admin access policy, and the control-plane log group's name.

Why the controller node group is tainted `CriticalAddonsOnly=true:NoSchedule`: Karpenter's chart and the
CoreDNS add-on both tolerate that taint by default, so CoreDNS has somewhere to run before any Karpenter
node exists, while ordinary workloads are pushed onto Karpenter-provisioned capacity.
"""

from __future__ import annotations

from typing import Any

from components.common.aws import AL2023_ROOT_DEVICE
from components.common.names import CONTROLLER_LABEL, CRITICAL_ADDONS_TAINT_KEY

CONTROLLER_TAINT = {"key": CRITICAL_ADDONS_TAINT_KEY, "value": "true", "effect": "NO_SCHEDULE"}
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
# Read-only on every Kubernetes resource, Secrets included (EKS user guide, "Review access policy permissions":
# AmazonEKSAdminViewPolicy). The narrower AmazonEKSViewPolicy leaves Secrets out, and a Helm release's state lives in
# Secrets (sh.helm.release.v1.*), which pulumi-kubernetes reads to preview a Release.
PREVIEW_POLICY = "AmazonEKSAdminViewPolicy"
NODE_ROLE_LABEL = "gpu-eks/node-role"


def controller_node_labels() -> dict[str, str]:
    """Labels Karpenter's nodeSelector matches, so the controller runs only on this group."""
    return {CONTROLLER_LABEL: "true", NODE_ROLE_LABEL: "controller"}


def controller_ami_type(architecture: str) -> str:
    """EKS-optimised AL2023 AMI type for the controller group's CPU architecture."""
    return "AL2023_ARM_64_STANDARD" if architecture == "arm64" else "AL2023_x86_64_STANDARD"


def cluster_admin_policy_arn(partition: str) -> str:
    """The EKS access policy granting cluster-wide admin."""
    return f"arn:{partition}:eks::aws:cluster-access-policy/{CLUSTER_ADMIN_POLICY}"


def preview_policy_arn(partition: str) -> str:
    """The EKS access policy of the pull-request preview role: read everything, change nothing."""
    return f"arn:{partition}:eks::aws:cluster-access-policy/{PREVIEW_POLICY}"


def controller_launch_template(*, disk_size_gib: int, tags: dict[str, str]) -> dict[str, Any]:
    """Inputs of the controller group's launch template (aws.ec2.LaunchTemplate), as plain data.

    Why our own: with `enable_imd_sv2` pulumi-eks v4.4.0 builds one with an IMDS hop limit of 2, so pods on the
    node reach the node role's credentials, and a root volume with neither encryption nor a volume type.
    Hop limit 1 keeps IMDS to the host network (the VPC CNI and Pod Identity agent run there; Karpenter gets
    credentials from Pod Identity/IRSA and must get its region from AWS_REGION, which it otherwise reads from
    IMDS: karpenter-provider-aws v1.14.1 pkg/operator/operator.go). No AMI, user data or security groups: EKS
    fills in the AL2023 AMI of the group's amiType and version, its bootstrap, and the cluster security group.
    """
    return {
        "metadata_options": {
            "http_endpoint": "enabled",
            "http_tokens": "required",
            "http_put_response_hop_limit": 1,
        },
        "block_device_mappings": [
            {
                "device_name": AL2023_ROOT_DEVICE,
                "ebs": {
                    "volume_size": disk_size_gib,
                    "volume_type": "gp3",
                    "encrypted": "true",
                    "delete_on_termination": "true",
                },
            }
        ],
        # Instances and their volumes carry the stack's tags too (the template's own tags stay on the template).
        "tag_specifications": [{"resource_type": kind, "tags": dict(tags)} for kind in ("instance", "volume")],
        "tags": dict(tags),
    }


def control_plane_log_group_name(cluster_name: str) -> str:
    """The log group EKS writes control-plane logs to (EKS user guide, control-plane-logs)."""
    return f"/aws/eks/{cluster_name}/cluster"
