"""Cluster: the EKS control plane, its KMS key, managed add-ons and the controller node group.

The pure builders in `components.cluster.builders` decide the security-relevant shapes (access entries, node
group labels and taints, launch template); the `Cluster` component wires them into pulumi-eks and exposes a
Kubernetes provider for the components that install into the cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from components import versions
from components.cluster.builders import (
    CONTROLLER_TAINT,
    cluster_admin_policy_arn,
    control_plane_log_group_name,
    controller_ami_type,
    controller_launch_template,
    controller_node_labels,
    preview_policy_arn,
)
from components.cluster.config import ClusterConfig
from components.cluster.node_role import node_role_with_policies
from components.common.context import StackContext
from components.common.names import DISCOVERY_TAG


@dataclass(frozen=True)
class ClusterArgs:
    """Inputs of the Cluster component: its config section and the network it lives in."""

    context: StackContext
    config: ClusterConfig
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[str]]
    public_subnet_ids: pulumi.Input[Sequence[str]]
    # The IAM OIDC provider only serves IRSA (karpenter.identity irsa); with Pod Identity it would be an unused IAM
    # object (and a TLS fetch of the issuer's thumbprint in every preview).
    create_oidc_provider: bool = False


class Cluster(pulumi.ComponentResource):
    """EKS cluster with secrets encryption, access entries, OIDC, add-ons and the controller node group."""

    name: str
    cluster_name: pulumi.Output[str]  # same value as `name`, but carries the dependency on the cluster
    arn: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]  # secret
    oidc_provider_arn: pulumi.Output[str] | None  # None without an IAM OIDC provider (karpenter.identity pod-identity)
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
        context, config = args.context, args.config
        cluster_name = context.cluster_name
        partition = context.partition
        tags = context.resource_tags
        child = pulumi.ResourceOptions(parent=self)
        self.name = cluster_name

        secrets_key = aws.kms.Key(
            f"{name}-secrets-key",
            description=f"EKS secrets envelope encryption for {cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=child,
        )
        aws.kms.Alias(
            f"{name}-secrets-key-alias",
            name=f"alias/{cluster_name}-eks-secrets",
            target_key_id=secrets_key.key_id,
            opts=child,
        )

        access_entries = {
            f"admin-{index}": eks.AccessEntryArgs(
                principal_arn=arn,
                access_policies={
                    "cluster-admin": eks.AccessPolicyAssociationArgs(
                        policy_arn=cluster_admin_policy_arn(partition),
                        access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    )
                },
            )
            for index, arn in enumerate(config.admins)
        }
        if config.preview_role_arn is not None:
            # PR previews read the cluster (Helm release state, live objects) to show a server-side diff.
            access_entries["preview"] = eks.AccessEntryArgs(
                principal_arn=config.preview_role_arn,
                access_policies={
                    "admin-view": eks.AccessPolicyAssociationArgs(
                        policy_arn=preview_policy_arn(partition),
                        access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    )
                },
            )
        # EKS creates /aws/eks/<cluster>/cluster itself on first write, with no retention, and leaves it behind
        # after destroy. Created here first (the cluster depends on it), it has a retention and is destroyed
        # after the cluster.
        log_group = (
            aws.cloudwatch.LogGroup(
                f"{name}-control-plane-logs",
                name=control_plane_log_group_name(cluster_name),
                retention_in_days=config.log_retention_days,
                tags=tags,
                opts=child,
            )
            if config.log_types
            else None
        )
        addon_versions = versions.eks_addon_versions(config.kubernetes_version)
        irsa = args.create_oidc_provider
        cluster = eks.Cluster(
            f"{name}-eks",
            eks.ClusterArgs(
                name=cluster_name,
                version=config.kubernetes_version,
                vpc_id=args.vpc_id,
                private_subnet_ids=args.private_subnet_ids,
                public_subnet_ids=args.public_subnet_ids,
                authentication_mode=eks.AuthenticationMode.API,
                access_entries=access_entries,
                endpoint_private_access=True,
                endpoint_public_access=config.endpoint.public_access,
                public_access_cidrs=list(config.endpoint.public_access_cidrs) or None,
                enabled_cluster_log_types=list(config.log_types),
                encryption_config_key_arn=secrets_key.arn,
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
            f"{name}-controller-node",
            role_name=f"{cluster_name}-controller-node",
            partition=partition,
            tags=tags,
            opts=child,
        )
        group = config.controller_node_group
        launch_template = aws.ec2.LaunchTemplate(
            f"{name}-controller-launch-template",
            name_prefix=f"{cluster_name}-controller-",
            **controller_launch_template(disk_size_gib=group.disk_size_gib, tags=tags),
            opts=child,
        )
        node_group = eks.ManagedNodeGroup(
            f"{name}-controller",
            eks.ManagedNodeGroupArgs(
                cluster=cluster,
                node_group_name=f"{cluster_name}-controller",
                node_role=node_role,
                instance_types=list(group.instance_types),
                ami_type=controller_ami_type(group.architecture),
                capacity_type="ON_DEMAND",
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    min_size=group.min_size, desired_size=group.desired_size, max_size=group.max_size
                ),
                subnet_ids=args.private_subnet_ids,
                # IMDS and the root volume come from our template. pulumi-eks rejects enable_imd_sv2 next to a
                # launch template, and EKS rejects disk_size with one (both live in the template instead).
                launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                    id=launch_template.id, version=launch_template.latest_version.apply(str)
                ),
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
            value=cluster_name,
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
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "oidcProviderArn": self.oidc_provider_arn,
                "controllerNodeGroupName": self.controller_node_group_name,
            }
        )
