"""Platform: the whole dependency graph of one stack, and the stack outputs it exports.

Network -> Cluster (KMS, EKS, add-ons, controller node group) -> Observability (metrics stack: its CRDs come
first) -> Karpenter (IAM, queue, CRD and controller releases) -> NodePools (general and GPU) and the NVIDIA stack;
NodeHealth (the node monitoring agent) after the Cluster. Each arrow is a real input or depends_on,
so `pulumi up` creates, and `pulumi destroy` removes, things in a safe order. Each component gets the stack
context, its own config section and the components it depends on, never the whole PlatformConfig.
"""

from __future__ import annotations

import pulumi

from components.cluster.component import Cluster, ClusterArgs
from components.config import PlatformConfig
from components.gpu.component import GpuCapacity, GpuCapacityArgs
from components.gpu.nvidia_values import uses_gpu_operator
from components.gpu.pools import gpu_node_tolerations, plan_pool
from components.karpenter.component import Karpenter, KarpenterArgs
from components.karpenter.config import IRSA
from components.karpenter.node_pools import GENERAL_NODE_CLASS, NodePools, NodePoolsArgs
from components.network.component import Network, NetworkArgs
from components.observability.component import NodeHealth, NodeHealthArgs, Observability, ObservabilityArgs
from components.observability.config import ObservabilityMode
from components.observability.dcgm import gpu_operator_exporter_values
from components.observability.monitoring_pool import monitoring_node_pool


class Platform(pulumi.ComponentResource):
    """Everything one gpu-eks stack creates."""

    def __init__(self, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-eks:index:Platform", name, None, opts)
        self.config = config
        context = config.context
        child = pulumi.ResourceOptions(parent=self)
        self.network = Network("network", NetworkArgs(context=context, config=config.network), opts=child)
        self.cluster = Cluster(
            "cluster",
            ClusterArgs(
                context=context,
                config=config.cluster,
                vpc_id=self.network.vpc_id,
                private_subnet_ids=self.network.private_subnet_ids,
                public_subnet_ids=self.network.public_subnet_ids,
                # The IAM OIDC provider serves IRSA: Karpenter's, the EBS CSI driver's and the AMP roles'.
                create_oidc_provider=config.karpenter.identity == IRSA,
            ),
            opts=child,
        )
        kubernetes_version = config.cluster.kubernetes_version
        gpu_plans = [plan_pool(pool) for pool in config.gpu_node_pools]
        gpu_operator = uses_gpu_operator(gpu_plans)
        gpu_tolerations = gpu_node_tolerations(gpu_plans)
        # Off: no metrics stack, no exporters, no ServiceMonitors anywhere.
        self.observability = (
            Observability(
                "observability",
                ObservabilityArgs(
                    context=context,
                    config=config.observability,
                    kubernetes_version=kubernetes_version,
                    cluster=self.cluster,
                    gpu_pool_names=[pool.name for pool in config.gpu_node_pools],
                    gpu_operator=gpu_operator,
                    gpu_tolerations=gpu_tolerations,
                    agent_host_engine=config.node_health.auto_repair,
                    # One pod identity mechanism per stack: Karpenter's choice.
                    irsa=config.karpenter.identity == IRSA,
                ),
                opts=child,
            )
            if config.observability.enabled
            else None
        )
        monitoring = self.observability.monitoring if self.observability else []
        self.node_health = (
            NodeHealth(
                "nodehealth",
                NodeHealthArgs(
                    context=context,
                    config=config.node_health,
                    kubernetes_version=kubernetes_version,
                    cluster=self.cluster,
                    gpu_tolerations=gpu_tolerations,
                    gpu_operator=gpu_operator,
                ),
                opts=child,
            )
            if config.node_health.auto_repair
            else None
        )
        self.karpenter = Karpenter(
            "karpenter",
            KarpenterArgs(context=context, config=config.karpenter, cluster=self.cluster, monitoring=monitoring),
            opts=child,
        )
        self.node_pools = NodePools(
            "nodepools",
            NodePoolsArgs(
                context=context,
                pools=config.node_pools,
                cluster=self.cluster,
                karpenter=self.karpenter,
                subnet_selector=self.network.karpenter_subnet_selector,
                node_image=config.node_image,
                extra_pools=[monitoring_node_pool(GENERAL_NODE_CLASS)]
                if config.observability.mode is ObservabilityMode.IN_CLUSTER
                else [],
            ),
            opts=child,
        )
        # No GPU pools, no NVIDIA software: a CPU-only stack stays lean.
        self.gpu = (
            GpuCapacity(
                "gpu",
                GpuCapacityArgs(
                    context=context,
                    pools=config.gpu_node_pools,
                    cluster=self.cluster,
                    karpenter=self.karpenter,
                    subnet_selector=self.network.karpenter_subnet_selector,
                    vpc_id=self.network.vpc_id,
                    # Even without a metrics stack the operator runs its exporter, and with it a host engine.
                    dcgm_exporter=gpu_operator_exporter_values(
                        service_monitor_enabled=self.observability is not None,
                        agent_host_engine=config.node_health.auto_repair,
                    ),
                    monitoring=monitoring,
                ),
                opts=child,
            )
            if config.gpu_node_pools
            else None
        )
        self.outputs = self._outputs()
        self.register_outputs({})

    def _outputs(self) -> dict[str, pulumi.Input[object] | None]:
        config, cluster, network = self.config, self.cluster, self.network
        return {
            "region": config.region,
            "clusterName": config.cluster_name,
            "kubernetesVersion": config.cluster.kubernetes_version,
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
            "observability": self.observability.outputs if self.observability else {"mode": "off"},
        }

    def export_outputs(self) -> None:
        """Export the stack outputs (the contract other stacks consume; see README "Outputs")."""
        for key, value in self.outputs.items():
            pulumi.export(key, value)
