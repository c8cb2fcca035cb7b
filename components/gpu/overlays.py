"""Pure builders for a GPU pool's NodeOverlays: what Karpenter must believe a node advertises once sharing applies.

Karpenter computes capacity from EC2's physical GPU count and knows nothing of time-slicing or MIG
(kubernetes-sigs/karpenter#729, #751), so every sharing pool gets one NodeOverlay per GPU count it can launch:

* time-slicing / MPS: `nvidia.com/gpu` = GPUs x replicas;
* MIG: `nvidia.com/mig-<profile>` = GPUs x instances-per-GPU, and `nvidia.com/gpu` = 0, because a fully
  partitioned node advertises no whole GPUs under the mixed strategy; without that, a whole-GPU pod could make
  Karpenter launch a MIG node that never satisfies it.
"""

from __future__ import annotations

from typing import Any

from components.common.names import INSTANCE_GPU_COUNT_LABEL, POOL_LABEL
from components.gpu.names import GPU_RESOURCE, SharingStrategy
from components.gpu.pools import GpuPoolPlan
from components.karpenter.manifests import NODE_OVERLAY_API, requirement


def overlay_capacity(plan: GpuPoolPlan, gpus: int) -> dict[str, str]:
    """What a node with `gpus` physical GPUs advertises after sharing is applied."""
    capacity = {plan.resource_name: str(gpus * plan.slices_per_gpu)}
    if plan.strategy == SharingStrategy.MIG:
        capacity[GPU_RESOURCE] = "0"
    return capacity


def node_overlays(plan: GpuPoolPlan) -> list[dict[str, Any]]:
    """One NodeOverlay per GPU count the pool can launch (overlay capacities are static numbers)."""
    if not plan.needs_overlay:
        return []
    return [
        {
            "apiVersion": NODE_OVERLAY_API,
            "kind": "NodeOverlay",
            "metadata": {"name": f"{plan.name}-{gpus}gpu"},
            "spec": {
                # NodePool template labels are matched by overlays, so this selects exactly this pool.
                "requirements": [
                    requirement(POOL_LABEL, "In", [plan.name]),
                    requirement(INSTANCE_GPU_COUNT_LABEL, "In", [gpus]),
                ],
                "capacity": overlay_capacity(plan, gpus),
            },
        }
        for gpus in plan.gpu_counts
    ]
