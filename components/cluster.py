"""Cluster: the EKS control plane, its KMS key, managed add-ons and the controller node group.

Pure builders decide the security-relevant shapes (access entries, node group labels and taints, trust
policy); the `Cluster` component wires them into pulumi-eks and exposes a Kubernetes provider for the
components that install into the cluster.

Why the controller node group is tainted `CriticalAddonsOnly=true:NoSchedule`: Karpenter's chart and the
CoreDNS add-on both tolerate that taint by default, so CoreDNS has somewhere to run before any Karpenter
node exists, while ordinary workloads are pushed onto Karpenter-provisioned capacity.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from components import versions
from components.aws_naming import partition_for_region
from components.config import PlatformConfig
from components.karpenter_iam import NODE_MANAGED_POLICIES, managed_policy_arn, node_trust_policy
from components.network import DISCOVERY_TAG

CONTROLLER_LABEL = "karpenter.sh/controller"
CONTROLLER_TAINT = {"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"


def controller_node_labels() -> dict[str, str]:
    """Labels Karpenter's nodeSelector matches, so the controller runs only on this group."""
    return {CONTROLLER_LABEL: "true", "gpu-eks/node-role": "controller"}


def controller_ami_type(architecture: str) -> str:
    """EKS-optimised AL2023 AMI type for the controller group's CPU architecture."""
    return "AL2023_ARM_64_STANDARD" if architecture == "arm64" else "AL2023_x86_64_STANDARD"


def cluster_admin_policy_arn(partition: str) -> str:
    """The EKS access policy granting cluster-wide admin."""
    return f"arn:{partition}:eks::aws:cluster-access-policy/{CLUSTER_ADMIN_POLICY}"


# Root volume of the EKS-optimised AL2023 AMIs (x86_64 and arm64); a mapping for another device name would add a
# second volume and leave the root one at the AMI's defaults.
AL2023_ROOT_DEVICE = "/dev/xvda"


def controller_launch_template(*, disk_size_gib: int, tags: dict[str, str]) -> dict:
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
        "block_device_mappings": [{
            "device_name": AL2023_ROOT_DEVICE,
            "ebs": {
                "volume_size": disk_size_gib,
                "volume_type": "gp3",
                "encrypted": "true",
                "delete_on_termination": "true",
            },
        }],
        # Instances and their volumes carry the stack's tags too (the template's own tags stay on the template).
        "tag_specifications": [{"resource_type": kind, "tags": dict(tags)} for kind in ("instance", "volume")],
        "tags": dict(tags),
    }


def control_plane_log_group_name(cluster_name: str) -> str:
    """The log group EKS writes control-plane logs to (EKS user guide, control-plane-logs)."""
    return f"/aws/eks/{cluster_name}/cluster"


def resource_tags(config: PlatformConfig) -> dict[str, str]:
    """Tags every AWS resource carries: the user's tags plus ownership markers for cost reports."""
    return {**config.tags, "gpu-eks/cluster": config.cluster_name, "gpu-eks/stack": config.stack}


def node_role_with_policies(prefix: str, *, role_name: str, partition: str, tags: dict[str, str],
                            opts: pulumi.ResourceOptions) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """An EC2 node role with the upstream node policies (CNI, worker, ECR pull-only, SSM core).

    Used for the controller node group and for Karpenter's nodes, so both follow one reference.
    """
    role = aws.iam.Role(f"{prefix}-role", name=role_name,
                        assume_role_policy=json.dumps(node_trust_policy(partition)), tags=tags, opts=opts)
    attachments = [
        aws.iam.RolePolicyAttachment(f"{prefix}-{policy}", role=role.name,
                                     policy_arn=managed_policy_arn(partition, policy), opts=opts)
        for policy in NODE_MANAGED_POLICIES
    ]
    return role, attachments


@dataclass(frozen=True)
class ClusterArgs:
    """Inputs of the Cluster component."""

    config: PlatformConfig
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[list[str]]
    public_subnet_ids: pulumi.Input[list[str]]


class Cluster(pulumi.ComponentResource):
    """EKS cluster with secrets encryption, access entries, OIDC, add-ons and the controller node group."""

    name: str
    cluster_name: pulumi.Output[str]  # same value as `name`, but carries the dependency on the cluster
    arn: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]  # secret
    oidc_provider_arn: pulumi.Output[str] | None  # None unless karpenter.identity is irsa (no IAM OIDC provider)
    oidc_provider_url: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    node_security_group_id: pulumi.Output[str]
    controller_node_group_name: pulumi.Output[str]
    provider: k8s.Provider
    # Everything a Kubernetes object needs to exist before it is applied: the node group (so pods can run)
    # and the add-ons (so DNS works). Later components depend on this.
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-eks:cluster:Cluster", name, None, opts)
        config = args.config
        partition = partition_for_region(config.region)
        tags = resource_tags(config)
        child = pulumi.ResourceOptions(parent=self)
        self.name = config.cluster_name

        secrets_key = aws.kms.Key(
            f"{name}-secrets-key",
            description=f"EKS secrets envelope encryption for {config.cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=child,
        )
        aws.kms.Alias(f"{name}-secrets-key-alias", name=f"alias/{config.cluster_name}-eks-secrets",
                      target_key_id=secrets_key.key_id, opts=child)

        access_entries = {
            f"admin-{index}": eks.AccessEntryArgs(
                principal_arn=arn,
                access_policies={"cluster-admin": eks.AccessPolicyAssociationArgs(
                    policy_arn=cluster_admin_policy_arn(partition),
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                )},
            )
            for index, arn in enumerate(config.cluster_admins)
        }
        # EKS creates /aws/eks/<cluster>/cluster itself on first write, with no retention, and leaves it behind
        # after destroy. Created here first (the cluster depends on it), it has a retention and is destroyed
        # after the cluster.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=control_plane_log_group_name(config.cluster_name),
            retention_in_days=config.cluster_log_retention_days,
            tags=tags,
            opts=child,
        ) if config.cluster_log_types else None
        addon_versions = versions.eks_addon_versions(config.kubernetes_version)
        irsa = config.karpenter.identity == "irsa"
        cluster = eks.Cluster(
            f"{name}-eks",
            eks.ClusterArgs(
                name=config.cluster_name,
                version=config.kubernetes_version,
                vpc_id=args.vpc_id,
                private_subnet_ids=args.private_subnet_ids,
                public_subnet_ids=args.public_subnet_ids,
                authentication_mode=eks.AuthenticationMode.API,
                access_entries=access_entries,
                endpoint_private_access=True,
                endpoint_public_access=config.endpoint.public_access,
                public_access_cidrs=list(config.endpoint.public_access_cidrs) or None,
                enabled_cluster_log_types=list(config.cluster_log_types),
                encryption_config_key_arn=secrets_key.arn,
                # The IAM OIDC provider only serves IRSA; with Pod Identity it would be an unused IAM object
                # (and a TLS fetch of the issuer's thumbprint in every preview).
                create_oidc_provider=irsa,
                skip_default_node_group=True,
                # Every node (managed and Karpenter) joins the EKS-managed cluster security group, which
                # already allows node <-> node and node <-> control plane traffic; pulumi-eks's extra
                # groups would split nodes into groups that cannot reach each other's CoreDNS.
                skip_default_security_groups=True,
                # CoreDNS is installed below as a managed add-on once the controller nodes exist.
                coredns_addon_options=eks.CoreDnsAddonOptionsArgs(enabled=False),
                # Pinned per Kubernetes version (versions.EKS_ADDON_VERSIONS); unset, pulumi-eks resolves the most
                # recent build at every run.
                kube_proxy_addon_options=eks.KubeProxyAddonOptionsArgs(version=addon_versions["kube-proxy"]),
                vpc_cni_options=eks.VpcCniOptionsArgs(addon_version=addon_versions["vpc-cni"]),
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group] if log_group else []),
        )
        eks_cluster = cluster.eks_cluster

        node_role, attachments = node_role_with_policies(
            f"{name}-controller-node", role_name=f"{config.cluster_name}-controller-node", partition=partition,
            tags=tags, opts=child)
        group = config.controller_node_group
        launch_template = aws.ec2.LaunchTemplate(
            f"{name}-controller-launch-template",
            name_prefix=f"{config.cluster_name}-controller-",
            **controller_launch_template(disk_size_gib=group.disk_size_gib, tags=tags),
            opts=child,
        )
        node_group = eks.ManagedNodeGroup(
            f"{name}-controller",
            eks.ManagedNodeGroupArgs(
                cluster=cluster,
                node_group_name=f"{config.cluster_name}-controller",
                node_role=node_role,
                instance_types=list(group.instance_types),
                ami_type=controller_ami_type(group.architecture),
                capacity_type="ON_DEMAND",
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    min_size=group.min_size, desired_size=group.desired_size, max_size=group.max_size),
                subnet_ids=args.private_subnet_ids,
                # IMDS and the root volume come from our template. pulumi-eks rejects enable_imd_sv2 next to a
                # launch template, and EKS rejects disk_size with one (both live in the template instead).
                launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                    id=launch_template.id, version=launch_template.latest_version.apply(str)),
                # pulumi-eks only defaults the version to the cluster's without a launch template; set it so a
                # kubernetesVersion change upgrades this group too.
                version=config.kubernetes_version,
                labels=controller_node_labels(),
                taints=[aws.eks.NodeGroupTaintArgs(**CONTROLLER_TAINT)],
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
        )

        addons = [
            aws.eks.Addon(
                f"{name}-{addon}",
                cluster_name=eks_cluster.name,
                addon_name=addon,
                addon_version=addon_versions[addon],
                # EKS bootstraps a self-managed CoreDNS; the managed add-on takes it over.
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="PRESERVE",
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[node_group]),
            )
            # kube-proxy and vpc-cni are created by pulumi-eks (pinned above).
            for addon in ("coredns", "eks-pod-identity-agent")
        ]
        # Karpenter discovers the security group for its nodes by this tag.
        aws.ec2.Tag(
            f"{name}-cluster-sg-discovery-tag",
            resource_id=eks_cluster.vpc_config.cluster_security_group_id,
            key=DISCOVERY_TAG,
            value=config.cluster_name,
            opts=child,
        )

        self.kubeconfig = pulumi.Output.secret(cluster.kubeconfig_json)
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            opts=child,
        )
        self.cluster_name = eks_cluster.name
        self.arn = eks_cluster.arn
        self.endpoint = eks_cluster.endpoint
        # pulumi-eks reports "" without a provider; None exports as null, which says "no provider" plainly.
        self.oidc_provider_arn = cluster.oidc_provider_arn if irsa else None
        self.oidc_provider_url = cluster.oidc_provider_url
        self.oidc_issuer = cluster.oidc_issuer
        self.cluster_security_group_id = eks_cluster.vpc_config.cluster_security_group_id
        # Nodes use the cluster security group (see skip_default_security_groups above).
        self.node_security_group_id = self.cluster_security_group_id
        self.controller_node_group_name = node_group.node_group.node_group_name
        self.ready = [node_group, *addons]
        self.register_outputs({
            "endpoint": self.endpoint,
            "oidcProviderArn": self.oidc_provider_arn,
            "controllerNodeGroupName": self.controller_node_group_name,
        })
