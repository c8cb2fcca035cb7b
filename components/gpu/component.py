"""GPU capacity: per-pool EC2NodeClass and NodePool, NodeOverlays, and the one NVIDIA chart of the cluster.

All decisions live in the pure builders (`components.gpu.pools`, `overlays`, `nvidia_values`, `contract`);
this component registers the objects in dependency order: NVIDIA chart first (a GPU node without its device
plugin never counts as initialized), then the node classes and pools, with overlays alongside so Karpenter's
first decision already sees sliced capacity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.cluster.component import Cluster
from components.common.context import StackContext
from components.common.names import POOL_LABEL
from components.gpu.config import GpuNodePoolConfig
from components.gpu.contract import workload_contract
from components.gpu.nvidia_values import nvidia_chart
from components.gpu.overlays import node_overlays
from components.gpu.pools import gpu_node_pool, plan_pool
from components.karpenter.component import Karpenter
from components.karpenter.manifests import RootVolume, ec2_node_class
from components.karpenter.node_pools import karpenter_object


@dataclass(frozen=True)
class GpuCapacityArgs:
    """Inputs of the GpuCapacity component: the `gpu-eks:gpuNodePools` entries and what they launch into."""

    context: StackContext
    pools: Sequence[GpuNodePoolConfig]
    cluster: Cluster
    karpenter: Karpenter
    subnet_selector: Sequence[dict[str, Any]]


class GpuCapacity(pulumi.ComponentResource):
    """GPU NodePools with their sharing, overlays and NVIDIA software."""

    pool_contracts: dict[str, dict[str, Any]]
    nvidia_release: k8s.helm.v3.Release
    nvidia_stack: dict[str, str]

    def __init__(self, name: str, args: GpuCapacityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-eks:gpu:GpuCapacity", name, None, opts)
        context, cluster, karpenter = args.context, args.cluster, args.karpenter
        plans = [plan_pool(pool) for pool in args.pools]
        chart = nvidia_chart(plans)
        self.nvidia_release = k8s.helm.v3.Release(
            f"{name}-{chart.release}",
            name=chart.release,
            chart=chart.chart,
            version=chart.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
            namespace=versions.NVIDIA_NAMESPACE,
            create_namespace=True,
            values=chart.values,
            opts=pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=cluster.ready),
        )
        karpenter_ready = karpenter.custom_resource_dependencies
        for plan in plans:
            node_class_name = f"gpu-{plan.name}"
            node_class = karpenter_object(
                f"{name}-{plan.name}-nodeclass",
                ec2_node_class(
                    node_class_name,
                    role_name=karpenter.node_role_name,
                    cluster_name=context.cluster_name,
                    subnet_selector=args.subnet_selector,
                    ami_alias=versions.KARPENTER_AMI_ALIAS,
                    root_volume=RootVolume(size_gib=plan.config.root_volume_gib),
                    tags={**context.resource_tags, POOL_LABEL: plan.name},
                ),
                pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=karpenter_ready),
            )
            overlays = [
                karpenter_object(
                    f"{name}-{overlay['metadata']['name']}-overlay",
                    overlay,
                    pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=karpenter_ready),
                )
                for overlay in node_overlays(plan)
            ]
            karpenter_object(
                f"{name}-{plan.name}",
                gpu_node_pool(plan, node_class_name),
                pulumi.ResourceOptions(
                    parent=self,
                    provider=cluster.provider,
                    depends_on=[*karpenter_ready, node_class, self.nvidia_release, *overlays],
                ),
            )
        self.pool_contracts = {plan.name: workload_contract(plan) for plan in plans}
        self.nvidia_stack = {"chart": chart.chart, "version": chart.version, "namespace": versions.NVIDIA_NAMESPACE}
        self.register_outputs({"gpuPools": self.pool_contracts})
