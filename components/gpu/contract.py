"""Pure builder for a GPU pool's workload contract: the resource to request, where it lands, what a slice costs.

The `gpuPools` stack output carries one contract per pool; workload stacks read it instead of repeating labels.
"""

from __future__ import annotations

from typing import Any

from components.common.names import POOL_LABEL
from components.gpu import catalog
from components.gpu.names import REPLICATED_STRATEGIES, SharingStrategy
from components.gpu.pools import GPU_TOLERATION, GpuPoolPlan


def usd_per_slice_hour(plan: GpuPoolPlan) -> dict[str, float | None]:
    """On-demand $ per slice-hour per instance type, from the catalog's price snapshot (None where unknown)."""
    return {
        t.name: None
        if t.on_demand_usd_per_hour is None
        else round(t.on_demand_usd_per_hour / (t.gpus * plan.slices_per_gpu), 4)
        for t in plan.instance_types
    }


def workload_contract(plan: GpuPoolPlan) -> dict[str, Any]:
    """What a workload needs to use the pool: the resource to request, where it lands, and what it costs."""
    contract: dict[str, Any] = {
        "strategy": plan.strategy.value,
        "resourceName": plan.resource_name,
        "slicesPerGpu": plan.slices_per_gpu,
        "slicesPerNode": plan.slices_per_node,
        "nodeSelector": {POOL_LABEL: plan.name},
        "tolerations": [GPU_TOLERATION],
        "capacityTypes": list(plan.config.capacity_types),
        "maxGpus": plan.config.max_gpus,
        "limit": {plan.resource_name: plan.limit},
        "usdPerSliceHour": usd_per_slice_hour(plan),
        "priceSource": f"on-demand {catalog.PRICE_REGION}, snapshot {catalog.PRICE_SNAPSHOT_DATE}",
    }
    if plan.strategy in REPLICATED_STRATEGIES:
        contract["replicas"] = plan.config.sharing.replicas
    if plan.strategy == SharingStrategy.MIG:
        contract["migProfile"] = plan.mig_profile
    return contract
