"""General-purpose capacity: the default EC2NodeClass and one Karpenter NodePool per `gpu-eks:nodePools` entry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.component import Cluster
from components.common.context import StackContext
from components.karpenter.component import Karpenter
from components.karpenter.manifests import RootVolume, ec2_node_class, general_node_pool
from components.karpenter.node_pool_config import NodePoolConfig
from components.karpenter.user_data import is_mime

GENERAL_NODE_CLASS = "default"


def karpenter_object(
    name: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    """Register a built Karpenter manifest as a Kubernetes custom resource.

    Every EC2NodeClass passes here, so this is where a node class whose userData Karpenter would have to guess the
    type of (components.karpenter.user_data) is refused, before anything is registered.
    """
    user_data = manifest["spec"].get("userData") if manifest["kind"] == "EC2NodeClass" else None
    if isinstance(user_data, str) and not is_mime(user_data):
        raise ValueError(
            f"EC2NodeClass {manifest['metadata']['name']}: userData is not a MIME multi-part archive, so Karpenter "
            "would decide by YAML parsing whether it is a script or a NodeConfig; build it with "
            "components.karpenter.user_data.mime_user_data"
        )
    return k8s.apiextensions.CustomResource(
        name,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=manifest["metadata"],
        spec=manifest["spec"],
        opts=opts,
    )


@dataclass(frozen=True)
class NodePoolsArgs:
    """Inputs of the NodePools component: the `gpu-eks:nodePools` entries and what they launch into."""

    context: StackContext
    pools: Sequence[NodePoolConfig]
    cluster: Cluster
    karpenter: Karpenter
    subnet_selector: Sequence[dict[str, Any]]
    # The stack's `gpu-eks:nodeImage`: the AMI alias of the default EC2NodeClass.
    node_image: str
    # NodePools other domains build on the default EC2NodeClass (in-cluster Prometheus' gpu-eks-monitoring,
    # components/observability/monitoring_pool.py), as manifests.
    extra_pools: Sequence[dict[str, Any]] = ()


class NodePools(pulumi.ComponentResource):
    """The general-purpose EC2NodeClass and NodePools."""

    node_class: k8s.apiextensions.CustomResource
    node_pool_names: list[str]

    def __init__(self, name: str, args: NodePoolsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-eks:karpenter:NodePools", name, None, opts)
        in_cluster = pulumi.ResourceOptions(
            parent=self, provider=args.cluster.provider, depends_on=args.karpenter.custom_resource_dependencies
        )
        # The role name is an Output, so the EC2NodeClass also waits for the role to exist.
        node_class = ec2_node_class(
            GENERAL_NODE_CLASS,
            role_name=args.karpenter.node_role_name,
            cluster_name=args.context.cluster_name,
            subnet_selector=args.subnet_selector,
            ami_alias=args.node_image,
            root_volume=RootVolume(),
            tags=args.context.resource_tags,
        )
        self.node_class = karpenter_object(f"{name}-{GENERAL_NODE_CLASS}", node_class, in_cluster)
        for pool in args.pools:
            karpenter_object(
                f"{name}-{pool.name}",
                general_node_pool(pool, GENERAL_NODE_CLASS),
                pulumi.ResourceOptions(
                    parent=self,
                    provider=args.cluster.provider,
                    depends_on=[*args.karpenter.custom_resource_dependencies, self.node_class],
                ),
            )
        for manifest in args.extra_pools:
            karpenter_object(
                f"{name}-{manifest['metadata']['name']}",
                manifest,
                pulumi.ResourceOptions(
                    parent=self,
                    provider=args.cluster.provider,
                    depends_on=[*args.karpenter.custom_resource_dependencies, self.node_class],
                ),
            )
        self.node_pool_names = [pool.name for pool in args.pools]
        self.register_outputs({"nodePoolNames": self.node_pool_names})
