"""GPU capacity: per-pool EC2NodeClass and NodePool, NodeOverlays, and the one NVIDIA chart of the cluster.

All decisions live in the pure builders (`components.gpu.pools`, `overlays`, `nvidia_values`, `contract`);
this component registers the objects in dependency order: NVIDIA chart first (a GPU node without its device
plugin never counts as initialized), then the node classes and pools, with overlays alongside so Karpenter's
first decision already sees sliced capacity. EFA pools (`components.gpu.efa`) add the EFA security group, a
placement group per pool before their node class, and the EFA device plugin before their NodePool.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import versions
from components.cluster.component import Cluster
from components.common.context import StackContext
from components.common.lookups import lookups_enabled
from components.common.names import POOL_LABEL
from components.gpu import live_prices
from components.gpu.config import GpuNodePoolConfig
from components.gpu.contract import workload_contract
from components.gpu.efa import (
    CLUSTER_PLACEMENT,
    EFA_SECURITY_GROUP_TAG,
    efa_contract,
    efa_device_plugin_values,
    efa_node_class,
    efa_node_pool,
    hugepages_overlay,
    placement_group_name,
    placement_group_selector,
    pool_network_cards,
)
from components.gpu.live_prices import LivePrices
from components.gpu.nvidia_values import nvidia_chart
from components.gpu.overlays import node_overlays
from components.gpu.pools import (
    GpuPoolPlan,
    gpu_node_pool,
    node_class_instance_store,
    node_class_reservation_terms,
    plan_pool,
)
from components.gpu.warm import capacity_buffer, warm_pod_template
from components.karpenter.component import Karpenter
from components.karpenter.manifests import ec2_node_class
from components.karpenter.node_pools import karpenter_object


@dataclass(frozen=True)
class GpuCapacityArgs:
    """Inputs of the GpuCapacity component: the `gpu-eks:gpuNodePools` entries and what they launch into."""

    context: StackContext
    pools: Sequence[GpuNodePoolConfig]
    cluster: Cluster
    karpenter: Karpenter
    subnet_selector: Sequence[dict[str, Any]]
    # The metrics stack: the GPU Operator's `dcgmExporter` values it wants (None: no metrics stack) and its
    # release(s), which the NVIDIA release waits for (the operator creates the exporter's ServiceMonitor).
    dcgm_exporter: Mapping[str, Any] | None = None
    monitoring: Sequence[pulumi.Resource] = ()
    # The VPC the nodes run in: EFA pools get a security group there (unused without EFA pools).
    vpc_id: pulumi.Input[str] | None = None


class GpuCapacity(pulumi.ComponentResource):
    """GPU NodePools with their sharing, overlays and NVIDIA software."""

    pool_contracts: dict[str, dict[str, Any]]
    nvidia_release: k8s.helm.v3.Release
    nvidia_stack: dict[str, str]

    def __init__(self, name: str, args: GpuCapacityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-eks:gpu:GpuCapacity", name, None, opts)
        context, cluster, karpenter = args.context, args.cluster, args.karpenter
        plans = [plan_pool(pool) for pool in args.pools]
        chart = nvidia_chart(plans, args.dcgm_exporter)
        self.nvidia_release = k8s.helm.v3.Release(
            f"{name}-{chart.release}",
            name=chart.release,
            chart=chart.chart,
            version=chart.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
            namespace=versions.NVIDIA_NAMESPACE,
            create_namespace=True,
            values=chart.values,
            opts=pulumi.ResourceOptions(
                parent=self, provider=cluster.provider, depends_on=[*cluster.ready, *args.monitoring]
            ),
        )
        karpenter_ready = karpenter.custom_resource_dependencies
        efa = _Efa(self, name, args, [plan for plan in plans if plan.config.efa])
        for plan in plans:
            node_class_name = _node_class_name(plan)
            node_class_manifest = ec2_node_class(
                node_class_name,
                role_name=karpenter.node_role_name,
                cluster_name=context.cluster_name,
                subnet_selector=args.subnet_selector,
                ami_alias=plan.config.node_image,
                root_volume=plan.config.root_volume,
                tags={**context.resource_tags, POOL_LABEL: plan.name},
                capacity_reservation_terms=node_class_reservation_terms(plan),
                instance_store_policy=node_class_instance_store(plan),
            )
            node_class = karpenter_object(
                f"{name}-{plan.name}-nodeclass",
                efa.node_class(plan, node_class_manifest) if plan.config.efa else node_class_manifest,
                pulumi.ResourceOptions(
                    parent=self,
                    provider=cluster.provider,
                    depends_on=[*karpenter_ready, *efa.node_class_dependencies(plan)],
                ),
            )
            overlays = [
                karpenter_object(
                    f"{name}-{overlay['metadata']['name']}-overlay",
                    overlay,
                    pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=karpenter_ready),
                )
                for overlay in [*node_overlays(plan), *([hugepages_overlay(plan.name)] if plan.config.efa else [])]
            ]
            node_pool = karpenter_object(
                f"{name}-{plan.name}",
                efa.node_pool(plan) if plan.config.efa else gpu_node_pool(plan, node_class_name),
                pulumi.ResourceOptions(
                    parent=self,
                    provider=cluster.provider,
                    depends_on=[*karpenter_ready, node_class, self.nvidia_release, *efa.releases_for(plan), *overlays],
                ),
            )
            if plan.config.warm_slices is not None:
                # The buffer after its pool (and before it on destroy): its virtual pods only fit this pool.
                template = k8s.core.v1.PodTemplate(
                    f"{name}-{plan.name}-warm-slice",
                    **_without_kind(warm_pod_template(plan)),
                    opts=pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=cluster.ready),
                )
                karpenter_object(
                    f"{name}-{plan.name}-warm",
                    capacity_buffer(plan),
                    pulumi.ResourceOptions(
                        parent=self, provider=cluster.provider, depends_on=[*karpenter_ready, node_pool, template]
                    ),
                )
        live = _read_prices(self, name, context.region, plans) if lookups_enabled() else None
        self.pool_contracts = {
            plan.name: efa.contract(plan, workload_contract(plan, context.region, live)) for plan in plans
        }
        self.nvidia_stack = {"chart": chart.chart, "version": chart.version, "namespace": versions.NVIDIA_NAMESPACE}
        self.register_outputs({"gpuPools": self.pool_contracts})


def _read_prices(parent: pulumi.Resource, name: str, region: str, plans: Sequence[GpuPoolPlan]) -> LivePrices | None:
    """The pools' prices in the stack's region, read from AWS at deploy (components.gpu.live_prices says what and
    why). A type with no answer gets a null figure and a note, never a failed deploy: prices inform, they gate
    nothing."""
    types = sorted({t.name for plan in plans for t in plan.instance_types})
    if not types:
        return None
    # The Price List API has no endpoint in most regions: an explicit provider in its region. An explicit provider
    # does not read the stack's aws:* settings, so the profile is passed on (credentials otherwise come from the
    # environment, as for the default provider).
    pricing = aws.Provider(
        f"{name}-price-list",
        region=live_prices.price_list_region(region),
        profile=pulumi.Config("aws").get("profile"),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    on_demand: dict[str, float | None] = {}
    spot: dict[str, float | None] = {}
    failures: dict[str, str] = {}
    for instance_type in types:
        try:
            product = aws.pricing.get_product(
                service_code=live_prices.SERVICE_CODE,
                filters=live_prices.on_demand_filters(region, instance_type),  # type: ignore[arg-type]
                opts=pulumi.InvokeOptions(provider=pricing),
            )
            on_demand[instance_type] = live_prices.on_demand_usd_per_hour(product.result)
        except Exception as error:  # any failure is a null figure with its reason
            on_demand[instance_type] = None
            failures[f"{instance_type} on-demand"] = str(error)
    spot_types = sorted({t.name for plan in plans if "spot" in plan.config.capacity_types for t in plan.instance_types})
    for instance_type in spot_types:
        try:
            answer = aws.ec2.get_spot_price(
                instance_type=instance_type,
                filters=list(live_prices.SPOT_FILTERS),  # type: ignore[arg-type]
                opts=pulumi.InvokeOptions(parent=parent),
            )
            spot[instance_type] = float(answer.spot_price) if answer.spot_price else None
            if spot[instance_type] is None:
                failures[f"{instance_type} spot"] = "no spot price"
        except Exception as error:
            spot[instance_type] = None
            failures[f"{instance_type} spot"] = str(error)
    return LivePrices(region, on_demand, spot, failures)


def _zone(plan: GpuPoolPlan) -> str:
    """An EFA pool's zone, which parsing settles (components.gpu.config.resolve_efa_zones)."""
    if plan.config.zone is None:
        raise ValueError(f"EFA pool {plan.name} has no zone; parse_config settles it")
    return plan.config.zone


def _node_class_name(plan: GpuPoolPlan) -> str:
    """Every GPU pool has its own EC2NodeClass, so an EFA pool's placement group and interfaces are its alone."""
    return f"gpu-{plan.name}"


def _without_kind(manifest: dict[str, Any]) -> dict[str, Any]:
    """A built-in object's fields as the typed resource takes them (it sets apiVersion and kind itself)."""
    return {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind")}


class _Efa:
    """What the EFA pools of a cluster add to it: one EFA security group, a cluster placement group per pool and the
    EFA device plugin; nothing when no pool has EFA (components.gpu.efa decides every value)."""

    def __init__(self, parent: pulumi.Resource, name: str, args: GpuCapacityArgs, plans: Sequence[GpuPoolPlan]):
        self.cluster_name = args.context.cluster_name
        self.placement_groups: dict[str, aws.ec2.PlacementGroup] = {}
        self.releases: list[k8s.helm.v3.Release] = []
        self.security_group: list[pulumi.Resource] = []
        if not plans:
            return
        if args.vpc_id is None:
            raise ValueError("EFA pools need the VPC ID for their security group")
        tags = args.context.resource_tags
        aws_child = pulumi.ResourceOptions(parent=parent)
        # EFA traffic between nodes must be allowed in and out by a group that references itself (EC2 User Guide,
        # EFA security group). Our own group rather than a rule on the EKS cluster group: EKS adds the outbound
        # self rule to that group from Kubernetes 1.33 on (EKS user guide sec-group-reqs; eksctl#8509), where a
        # second identical rule fails as a duplicate, and lacks it before. EFA node classes select both groups.
        group = aws.ec2.SecurityGroup(
            f"{name}-efa",
            description=f"EFA traffic between the EFA nodes of EKS cluster {self.cluster_name}",
            vpc_id=args.vpc_id,
            tags={**tags, "Name": f"{self.cluster_name}-efa", EFA_SECURITY_GROUP_TAG: self.cluster_name},
            opts=aws_child,
        )
        rules = [
            aws.ec2.SecurityGroupRule(
                f"{name}-efa-{direction}",
                type=direction,
                security_group_id=group.id,
                self=True,
                protocol="-1",
                from_port=0,
                to_port=0,
                description=f"All traffic {'from' if direction == 'ingress' else 'to'} EFA nodes of this cluster",
                opts=pulumi.ResourceOptions(parent=parent, depends_on=[group]),
            )
            for direction in ("ingress", "egress")
        ]
        self.security_group = [group, *rules]
        # A pool that names an existing group (its capacity reservation's) gets none: the group is not ours.
        for plan in (plan for plan in plans if plan.config.placement_group is None):
            self.placement_groups[plan.name] = aws.ec2.PlacementGroup(
                f"{name}-{plan.name}-placement",
                name=placement_group_name(self.cluster_name, plan.name),
                strategy=CLUSTER_PLACEMENT,
                tags={**tags, POOL_LABEL: plan.name},
                opts=aws_child,
            )
        self.releases = [
            k8s.helm.v3.Release(
                f"{name}-{versions.EFA_DEVICE_PLUGIN_CHART}",
                name=versions.EFA_DEVICE_PLUGIN_CHART,
                chart=versions.EFA_DEVICE_PLUGIN_CHART,
                version=versions.EFA_DEVICE_PLUGIN_VERSION,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=versions.EFA_DEVICE_PLUGIN_REPOSITORY),
                namespace=versions.EFA_DEVICE_PLUGIN_NAMESPACE,
                values=efa_device_plugin_values([self.node_pool(plan) for plan in plans]),
                opts=pulumi.ResourceOptions(
                    parent=parent, provider=args.cluster.provider, depends_on=args.cluster.ready
                ),
            )
        ]

    def node_class(self, plan: GpuPoolPlan, node_class: dict[str, Any]) -> dict[str, Any]:
        return efa_node_class(
            node_class,
            network_cards=pool_network_cards(plan.instance_types),
            placement_group=self._selector(plan),
            cluster_name=self.cluster_name,
        )

    def _selector(self, plan: GpuPoolPlan) -> dict[str, str]:
        existing = plan.config.placement_group
        return placement_group_selector(self.cluster_name, plan.name, existing.selector() if existing else None)

    def releases_for(self, plan: GpuPoolPlan) -> list[k8s.helm.v3.Release]:
        """An EFA pool's NodePool waits for the EFA device plugin, as every GPU pool waits for the NVIDIA one."""
        return self.releases if plan.config.efa else []

    def node_class_dependencies(self, plan: GpuPoolPlan) -> list[pulumi.Resource]:
        """An EFA node class waits for the placement group we create for it and the EFA security group and rules it
        selects (an existing group is already there)."""
        if not plan.config.efa:
            return []
        created = self.placement_groups.get(plan.name)
        return [*([created] if created else []), *self.security_group]

    def node_pool(self, plan: GpuPoolPlan) -> dict[str, Any]:
        return efa_node_pool(gpu_node_pool(plan, _node_class_name(plan)), _zone(plan))

    def contract(self, plan: GpuPoolPlan, contract: dict[str, Any]) -> dict[str, Any]:
        if not plan.config.efa:
            return contract
        return {
            **contract,
            "efa": efa_contract(
                plan.instance_types,
                placement_group=next(iter(self._selector(plan).values())),
                zone=_zone(plan),
            ),
        }
