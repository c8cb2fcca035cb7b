"""Platform: the whole dependency graph of one stack, and the stack outputs it exports.

Network -> Cluster (KMS, EKS, add-ons, controller node group) -> Karpenter (IAM, queue, CRD and controller
releases) -> NodePools (general and GPU) and the NVIDIA stack. Each arrow is a real input or depends_on,
so `pulumi up` creates, and `pulumi destroy` removes, things in a safe order.
"""
from __future__ import annotations

import pulumi

from components.cluster import Cluster, ClusterArgs
from components.config import PlatformConfig
from components.network import Network, NetworkArgs


class Platform(pulumi.ComponentResource):
    """Everything one gpu-eks stack creates."""

    def __init__(self, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-eks:index:Platform", name, None, opts)
        self.config = config
        child = pulumi.ResourceOptions(parent=self)
        self.network = Network("network", NetworkArgs(config=config.network, cluster_name=config.cluster_name,
                                                      tags=config.tags), opts=child)
        self.cluster = Cluster("cluster", ClusterArgs(
            config=config,
            vpc_id=self.network.vpc_id,
            private_subnet_ids=self.network.private_subnet_ids,
            public_subnet_ids=self.network.public_subnet_ids,
        ), opts=child)
        self.outputs = self._outputs()
        self.register_outputs({})

    def _outputs(self) -> dict[str, pulumi.Input]:
        config, cluster, network = self.config, self.cluster, self.network
        return {
            "region": config.region,
            "clusterName": config.cluster_name,
            "kubernetesVersion": config.kubernetes_version,
            "clusterEndpoint": cluster.endpoint,
            "kubeconfig": cluster.kubeconfig,
            "oidcProviderArn": cluster.oidc_provider_arn,
            "oidcProviderUrl": cluster.oidc_provider_url,
            "vpcId": network.vpc_id,
            "privateSubnetIds": network.private_subnet_ids,
            "publicSubnetIds": network.public_subnet_ids,
            "clusterSecurityGroupId": cluster.cluster_security_group_id,
            "nodeSecurityGroupId": cluster.node_security_group_id,
            "controllerNodeGroupName": cluster.controller_node_group_name,
        }

    def export_outputs(self) -> None:
        """Export the stack outputs (the contract other stacks consume; see README "Outputs")."""
        for key, value in self.outputs.items():
            pulumi.export(key, value)
