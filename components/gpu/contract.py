"""Pure builder for a GPU pool's workload contract: the resource to request, where it lands, what a slice costs.

The `gpuPools` stack output carries one contract per pool; workload stacks read it instead of repeating labels.
"""

from __future__ import annotations

from typing import Any

from components.common.names import POOL_LABEL
from components.gpu import catalog, prices
from components.gpu.live_prices import LivePrices, per_slice
from components.gpu.names import REPLICATED_STRATEGIES, SharingStrategy
from components.gpu.pools import GpuPoolPlan, node_class_reservation_terms, pool_tolerations
from components.gpu.warm import WARM_NAMESPACE, warm_buffer_name


def usd_per_slice_hour(plan: GpuPoolPlan, region: str) -> dict[str, float | None]:
    """On-demand $ per slice-hour per instance type in the stack's region (None where the data has no price)."""
    out: dict[str, float | None] = {}
    for t in plan.instance_types:
        price = prices.on_demand_usd_per_hour(region, t.name)
        out[t.name] = None if price is None else round(price / (t.gpus * plan.slices_per_gpu), 4)
    return out


def warm_slices(plan: GpuPoolPlan, usd_per_slice: dict[str, float | None]) -> dict[str, Any]:
    """What keeping `warmSlices` free costs: the nodes it takes while no workload uses them, and their price.

    Karpenter launches the cheapest nodes that fit the buffer; per instance type, N slices take
    ceil(N / slicesPerNode) nodes, paid in full while idle. Capacity in a reservation is prepaid anyway.
    """
    slices = plan.config.warm_slices or 0
    nodes = {name: -(-slices // per_node) for name, per_node in plan.slices_per_node.items()}
    return {
        "slices": slices,
        "capacityBuffer": f"{WARM_NAMESPACE}/{warm_buffer_name(plan)}",
        "nodesWhenIdle": nodes,
        "usdPerHourWhenIdle": {
            name: None if price is None else round(price * plan.slices_per_node[name] * nodes[name], 2)
            for name, price in usd_per_slice.items()
        },
    }


def workload_contract(plan: GpuPoolPlan, region: str, live: LivePrices | None = None) -> dict[str, Any]:
    """What a workload needs to use the pool: the resource to request, where it lands, and what it costs.

    `live`: the prices the deploy read from AWS (components.gpu.live_prices); None in an offline render, which
    quotes the snapshot. `priceSource` (and `spotPriceSource`) say which one each figure came from."""
    contract: dict[str, Any] = {
        "strategy": plan.strategy.value,
        "resourceName": plan.resource_name,
        "slicesPerGpu": plan.slices_per_gpu,
        "slicesPerNode": plan.slices_per_node,
        "nodeSelector": {POOL_LABEL: plan.name},
        "tolerations": pool_tolerations(plan),
        "capacityTypes": list(plan.config.capacity_types),
        "maxGpus": plan.config.max_gpus,
        "limit": {plan.resource_name: plan.limit},
        "usdPerSliceHour": usd_per_slice_hour(plan, region),
        # Names the region and what the numbers are (an on-demand price, or a spot pool's ceiling).
        "priceSource": prices.price_source(region, plan.config.capacity_types),
    }
    if live is not None:
        contract["usdPerSliceHour"] = per_slice(live.on_demand, plan.slices_per_node)
        contract["priceSource"] = live.on_demand_source()
        if prices.SPOT in plan.config.capacity_types:
            contract["spotUsdPerSliceHour"] = per_slice(live.spot, plan.slices_per_node)
            contract["spotPriceSource"] = live.spot_source()
    if plan.config.capacity_reservations:
        # The EC2NodeClass's selector terms, as Karpenter reads them (ORed; `ownerID` spelt the CRD's way).
        contract["capacityReservations"] = node_class_reservation_terms(plan)
    if plan.config.warm_slices is not None:
        contract["warmSlices"] = warm_slices(plan, contract["usdPerSliceHour"])
    if plan.config.instance_store is not None:
        contract["instanceStore"] = {
            "policy": plan.config.instance_store,
            # With RAID0 the array is the node's ephemeral storage (Karpenter counts it, in GB, from EC2's facts).
            "ephemeralStorageGbPerNode": {t.name: catalog.local_nvme_gb(t.name) for t in plan.instance_types},
        }
    if plan.config.excluded_by_max_gpus:
        # Types the selection named that the pool never launches (more GPUs than maxGpus): type -> GPUs.
        contract["excludedByMaxGpus"] = dict(plan.config.excluded_by_max_gpus)
    if plan.strategy in REPLICATED_STRATEGIES:
        contract["replicas"] = plan.config.sharing.replicas
    if plan.strategy == SharingStrategy.MIG:
        contract["migProfile"] = plan.mig_profile
    return contract
