"""Platform: the whole dependency graph of one stack, and the stack outputs it exports.

Network -> Cluster (KMS, EKS, add-ons, controller node group) -> Karpenter (IAM, queue, CRD and controller
releases) -> NodePools (general and GPU) and the NVIDIA stack. Each arrow is a real input or depends_on,
so `pulumi up` creates, and `pulumi destroy` removes, things in a safe order.
"""
from __future__ import annotations

import pulumi

from components.cluster import Cluster, ClusterArgs
from components.config import PlatformConfig
from components.gpu import GpuCapacity, GpuCapacityArgs
from components.karpenter import Karpenter, KarpenterArgs
from components.network import Network, NetworkArgs
from components.node_pools import NodePools, NodePoolsArgs


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
        self.karpenter = Karpenter("karpenter", KarpenterArgs(config=config, cluster=self.cluster), opts=child)
        self.node_pools = NodePools("nodepools", NodePoolsArgs(
            config=config, cluster=self.cluster, karpenter=self.karpenter,
            subnet_selector=self.network.karpenter_subnet_selector,
        ), opts=child)
        # No GPU pools, no NVIDIA software: a CPU-only stack stays lean.
        self.gpu = GpuCapacity("gpu", GpuCapacityArgs(
            config=config, cluster=self.cluster, karpenter=self.karpenter,
            subnet_selector=self.network.karpenter_subnet_selector,
        ), opts=child) if config.gpu_node_pools else None
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
            "karpenterVersion": self.karpenter.version,
            "karpenterInterruptionQueueName": self.karpenter.interruption_queue_name,
            "karpenterInterruptionQueueArn": self.karpenter.interruption_queue_arn,
            "karpenterNodeRoleName": self.karpenter.node_role_name,
            "karpenterNodeRoleArn": self.karpenter.node_role_arn,
            "karpenterControllerRoleArn": self.karpenter.controller_role_arn,
            "nodePoolNames": self.node_pools.node_pool_names,
            "gpuNodePoolNames": [pool.name for pool in config.gpu_node_pools],
            "gpuPools": self.gpu.pool_contracts if self.gpu else {},
            "nvidiaStack": self.gpu.nvidia_stack if self.gpu else None,
        }

    def export_outputs(self) -> None:
        """Export the stack outputs (the contract other stacks consume; see README "Outputs")."""
        for key, value in self.outputs.items():
            pulumi.export(key, value)
