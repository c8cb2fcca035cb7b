"""What a verification run of one GPU pool should see, computed from the stack outputs alone (pure functions).

The contract (`gpuPools.<pool>` in the stack outputs) says how many slices of `resourceName` each instance type
offers (`slicesPerNode`, the NodeOverlay's count) and what a slice costs (`usdPerSliceHour`). From that:

* **Node bounds for N slices.** Karpenter may pick any mix of the pool's types. The fewest nodes it can launch is
  ceil(N / largest slices-per-node) (every node the biggest size), the most ceil(N / smallest slices-per-node)
  (every node the smallest). More than that means Karpenter does not see the overlay's count (it launches a node
  per physical GPU); fewer means nodes advertise more than the contract says.
* **Warm slices.** A pool with `warmSlices` keeps that many slices free through a CapacityBuffer: the run's pods
  take them first and Karpenter launches nodes to free as many again (components/gpu/warm.py), so the most nodes
  the run may see is ceil((N + warm) / smallest slices-per-node). The fewest is unchanged: the pods alone need
  that many.
* **The default N fills two nodes of the pool's cheapest type**, but never more than the pool's limit leaves
  once its warm slices are held (a one-node pool gets one node's worth). "Cheapest" is the per-node price
  (usdPerSliceHour × slicesPerNode), not the per-slice price: the run pays for whole nodes, so the smallest bill
  that still proves Karpenter spreads the load over more than one node is two of the cheapest nodes. The cheapest
  slice often sits on a large multi-GPU node (an 8-GPU node for a 1-GPU question), which would cost several times
  more and, at two nodes, could trip the cost guard.
* **The cost guard** counts physical GPUs: the most the run could launch if Karpenter filled N slices with any
  single instance type (nodes × GPUs per node, GPUs per node = slicesPerNode / slicesPerGpu), capped by the pool's
  own limit (`maxGpus`, which the NodePool enforces).

No Kubernetes client and no product code is imported here: this module works from a rendered `outputs.json`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

DEFAULT_GPU_CAP = 8  # the cost guard's default: the pool's maxGpus, but never more than one 8-GPU node's worth
DEFAULT_NAMESPACE_PREFIX = "gpu-eks-verify"

REQUIRED_KEYS = ("strategy", "resourceName", "slicesPerGpu", "slicesPerNode", "nodeSelector", "tolerations", "maxGpus")


class ContractError(ValueError):
    """The stack outputs lack something the verification needs (named in the message)."""


@dataclass(frozen=True)
class PoolContract:
    """One `gpuPools` entry, as the verification reads it."""

    name: str
    strategy: str
    resource_name: str
    slices_per_gpu: int
    slices_per_node: dict[str, int]
    node_selector: dict[str, str]
    tolerations: list[dict[str, Any]]
    max_gpus: int
    capacity_types: list[str] = field(default_factory=list)
    limit: dict[str, int] = field(default_factory=dict)
    usd_per_slice_hour: dict[str, float | None] = field(default_factory=dict)
    mig_profile: str | None = None
    replicas: int | None = None
    # Not in today's contract; read when a later version of the outputs adds them.
    efa: Any = None
    disruption: dict[str, Any] | None = None
    warm_slices: int = 0  # slices a CapacityBuffer keeps free (`warmSlices.slices`)

    @classmethod
    def from_output(cls, name: str, entry: Any) -> PoolContract:
        if not isinstance(entry, dict):
            raise ContractError(f"gpuPools.{name}: expected a map, got {type(entry).__name__}")
        missing = [key for key in REQUIRED_KEYS if key not in entry]
        if missing:
            raise ContractError(f"gpuPools.{name}: missing {', '.join(missing)}")
        slices = entry["slicesPerNode"]
        if not isinstance(slices, dict) or not slices or not all(isinstance(v, int) and v > 0 for v in slices.values()):
            raise ContractError(
                f"gpuPools.{name}.slicesPerNode: expected a non-empty map of instance type to a positive slice count"
            )
        per_gpu = entry["slicesPerGpu"]
        if not isinstance(per_gpu, int) or per_gpu < 1:
            raise ContractError(f"gpuPools.{name}.slicesPerGpu: expected a positive integer")
        return cls(
            name=name,
            strategy=str(entry["strategy"]),
            resource_name=str(entry["resourceName"]),
            slices_per_gpu=per_gpu,
            slices_per_node=dict(slices),
            node_selector=dict(entry["nodeSelector"] or {}),
            tolerations=list(entry["tolerations"] or []),
            max_gpus=int(entry["maxGpus"]),
            capacity_types=list(entry.get("capacityTypes") or []),
            limit={k: int(v) for k, v in (entry.get("limit") or {}).items()},
            usd_per_slice_hour=dict(entry.get("usdPerSliceHour") or {}),
            mig_profile=entry.get("migProfile"),
            replicas=entry.get("replicas"),
            efa=entry.get("efa"),
            disruption=entry.get("disruption"),
            warm_slices=int((entry.get("warmSlices") or {}).get("slices") or 0),
        )

    def gpus_per_node(self, instance_type: str) -> int:
        return self.slices_per_node[instance_type] // self.slices_per_gpu

    def node_price(self, instance_type: str) -> float | None:
        """USD per hour for one node of this type (None where the price snapshot has none)."""
        price = self.usd_per_slice_hour.get(instance_type)
        return None if price is None else price * self.slices_per_node[instance_type]

    @property
    def limit_slices(self) -> int:
        """The most slices the NodePool's limit lets Karpenter provision."""
        return self.limit.get(self.resource_name, self.max_gpus * self.slices_per_gpu)

    def describe_strategy(self) -> str:
        if self.strategy in ("time-slicing", "mps"):
            return f"{self.strategy} ×{self.slices_per_gpu}"
        if self.strategy == "mig":
            return f"mig {self.mig_profile or self.resource_name} ×{self.slices_per_gpu}"
        return "whole GPUs" if self.strategy == "none" else self.strategy


def pools_from_outputs(outputs: dict[str, Any]) -> dict[str, PoolContract]:
    """Every pool's contract from the stack outputs (`gpuPools`), by name."""
    pools = outputs.get("gpuPools")
    if pools is None:
        raise ContractError("the outputs have no gpuPools (is this a gpu-eks stack, deployed with GPU pools?)")
    if not isinstance(pools, dict):
        raise ContractError("gpuPools: expected a map of pool name to contract")
    return {name: PoolContract.from_output(name, entry) for name, entry in sorted(pools.items())}


def cheapest_type(pool: PoolContract) -> tuple[str, str]:
    """(instance type, why) of the pool's cheapest node: lowest per-node price, ties to the smaller node, then name.

    Types without a price are skipped; when no type has one (a region the price data does not cover), the smallest
    node stands in: fewest slices, then the smallest EC2 size in its name (g6.xlarge before g6.16xlarge).
    """
    priced = [
        (pool.node_price(t), pool.slices_per_node[t], t) for t in pool.slices_per_node if pool.node_price(t) is not None
    ]
    if priced:
        price, slices, itype = min(priced)
        return itype, f"the cheapest node, ${price:.2f}/h for {_slices(slices)}"
    slices, _, itype = min((s, _size_rank(t), t) for t, s in pool.slices_per_node.items())
    return itype, f"the smallest node ({_slices(slices)}; the outputs carry no prices)"


def _size_rank(instance_type: str) -> float:
    """An EC2 size's rank from its name: medium < large < xlarge < 2xlarge < … < 48xlarge < metal (unknown last)."""
    size = instance_type.split(".", 1)[-1]
    named = {"medium": 0.25, "large": 0.5, "xlarge": 1.0}
    if size in named:
        return named[size]
    if size.endswith("xlarge") and size[: -len("xlarge")].isdigit():
        return float(size[: -len("xlarge")])
    return math.inf


def two_nodes(pool: PoolContract) -> int:
    """Two full nodes of the cheapest type: the least that shows Karpenter spreading over more than one node."""
    itype, _ = cheapest_type(pool)
    return 2 * pool.slices_per_node[itype]


def slices_room(pool: PoolContract) -> int:
    """The slices the pool's limit leaves for the run: the limit less the warm slices (which count against it), or
    the whole limit when the warm slices take it all (real pods go before the buffer's virtual ones)."""
    room = pool.limit_slices - pool.warm_slices
    return room if room >= 1 else pool.limit_slices


def default_slices(pool: PoolContract) -> int:
    """Two full nodes of the cheapest type, capped at what the pool's limit leaves (so the default never refuses
    itself on a small pool)."""
    return min(two_nodes(pool), slices_room(pool))


def node_bounds(pool: PoolContract, slices: int) -> tuple[int, int]:
    """(fewest, most) nodes Karpenter may launch for `slices` pods of one slice each; the most counts the warm
    slices Karpenter refills as the pods take them."""
    if slices < 1:
        raise ValueError("slices must be at least 1")
    return math.ceil(slices / max(pool.slices_per_node.values())), math.ceil(
        (slices + pool.warm_slices) / min(pool.slices_per_node.values())
    )


def types_at(pool: PoolContract, slices_per_node: int) -> list[str]:
    return sorted(t for t, s in pool.slices_per_node.items() if s == slices_per_node)


def worst_case_gpus(pool: PoolContract, slices: int) -> tuple[int, str]:
    """(physical GPUs, instance type) if Karpenter filled `slices` with the single type that needs the most GPUs.

    Capped at the pool's maxGpus: the NodePool limit stops Karpenter there whatever it picks.
    """
    gpus, itype = max((math.ceil(slices / s) * pool.gpus_per_node(t), t) for t, s in pool.slices_per_node.items())
    return min(gpus, pool.max_gpus), itype


def worst_case_usd_per_hour(pool: PoolContract, slices: int) -> float | None:
    """The highest hourly price of a single-type fill of `slices` (None without prices)."""
    prices = {t: pool.node_price(t) for t in pool.slices_per_node}
    costs = [math.ceil(slices / pool.slices_per_node[t]) * p for t, p in prices.items() if p is not None]
    return max(costs) if costs else None


def gpu_budget(pool: PoolContract, max_gpus: int | None) -> int:
    """The cost guard's threshold: `--max-gpus`, or the pool's maxGpus capped at DEFAULT_GPU_CAP."""
    return max_gpus if max_gpus is not None else min(pool.max_gpus, DEFAULT_GPU_CAP)


@dataclass(frozen=True)
class PoolPlan:
    """What the run does for one pool and what it expects to see."""

    pool: PoolContract
    slices: int
    slices_default: bool
    cheapest: str
    cheapest_reason: str
    min_nodes: int
    max_nodes: int
    worst_gpus: int
    worst_gpus_type: str
    budget: int
    worst_usd_per_hour: float | None

    @property
    def over_budget(self) -> bool:
        return self.worst_gpus > self.budget

    @property
    def over_limit(self) -> bool:
        return self.slices > self.pool.limit_slices

    def bound_types(self) -> tuple[list[str], list[str]]:
        """(types that give the fewest nodes, types that give the most)."""
        return (
            types_at(self.pool, max(self.pool.slices_per_node.values())),
            types_at(self.pool, min(self.pool.slices_per_node.values())),
        )

    def refusal(self, yes: bool) -> str | None:
        """Why the run must not start (None when it may)."""
        if self.over_limit:
            return (
                f"pool {self.pool.name}: {self.slices} slices exceed the pool's limit of "
                f"{self.pool.limit_slices} {self.pool.resource_name}; Karpenter would leave pods Pending"
            )
        if self.over_budget and not yes:
            return (
                f"pool {self.pool.name}: {self.slices} slices may launch up to {self.worst_gpus} GPUs "
                f"(as {self.worst_gpus_type} nodes), over the cost guard of {self.budget} GPUs; "
                f"pass --yes to run anyway, or lower --slices / raise --max-gpus"
            )
        return None


def plan_pool(pool: PoolContract, slices: int | None = None, max_gpus: int | None = None) -> PoolPlan:
    cheapest, reason = cheapest_type(pool)
    n = slices if slices is not None else default_slices(pool)
    low, high = node_bounds(pool, n)
    worst, worst_type = worst_case_gpus(pool, n)
    return PoolPlan(
        pool=pool,
        slices=n,
        slices_default=slices is None,
        cheapest=cheapest,
        cheapest_reason=reason,
        min_nodes=low,
        max_nodes=high,
        worst_gpus=worst,
        worst_gpus_type=worst_type,
        budget=gpu_budget(pool, max_gpus),
        worst_usd_per_hour=worst_case_usd_per_hour(pool, n),
    )


def select_pools(pools: dict[str, PoolContract], names: list[str] | None) -> list[PoolContract]:
    if not names:
        return list(pools.values())
    unknown = [n for n in names if n not in pools]
    if unknown:
        raise ContractError(
            f"no GPU pool named {', '.join(unknown)} in the outputs; pools: {', '.join(pools) or 'none'}"
        )
    return [pools[n] for n in names]


def _size_phrase(pool: PoolContract, types: list[str]) -> str:
    """'an 8-GPU size' for one size (one type, or the same size in two families), '1-GPU sizes' for several."""
    gpus = "/".join(str(g) for g in sorted({pool.gpus_per_node(t) for t in types}))
    if len(types) > 2:
        return f"{gpus}-GPU sizes"
    article = "an" if gpus.split("/")[0] in ("8", "11", "18") else "a"
    return f"{article} {gpus}-GPU size"


def describe_plan(plan: PoolPlan, namespace: str, workload: str, scale_in: str) -> list[str]:
    """The lines `--plan` prints for one pool."""
    pool = plan.pool
    few, many = plan.bound_types()
    n_few, n_many = plan.min_nodes, plan.max_nodes
    if plan.slices_default and plan.slices < two_nodes(pool):
        asked = (
            f"{plan.slices} (default: what the pool's limit of {pool.limit_slices} leaves"
            f"{f' after its {pool.warm_slices} warm slices' if pool.warm_slices else ''}; two {plan.cheapest}, "
            f"{plan.cheapest_reason}, would be {two_nodes(pool)})"
        )
    elif plan.slices_default:
        asked = f"{plan.slices} (default: two {plan.cheapest}, {plan.cheapest_reason})"
    else:
        two = f": two {plan.cheapest}" if default_slices(pool) == two_nodes(pool) else ""
        asked = f"{plan.slices} (asked; the default would be {default_slices(pool)}{two})"
    if plan.min_nodes == plan.max_nodes:
        bounds = (
            f"exactly {plan.min_nodes} ({', '.join(sorted(pool.slices_per_node))}: "
            f"{'/'.join(str(s) for s in sorted(set(pool.slices_per_node.values())))} slices per node)"
        )
    else:
        bounds = (
            f"between {n_few} node{'s' if n_few != 1 else ''} ({_size_phrase(pool, few)}: {', '.join(few)}, "
            f"{_slices(pool.slices_per_node[few[0]])} each) and {n_many} ({_size_phrase(pool, many)}: "
            f"{', '.join(many)}, {_slices(pool.slices_per_node[many[0]])} each), depending on the sizes "
            f"Karpenter picks"
        )
    price = "" if plan.worst_usd_per_hour is None else f", at most ${plan.worst_usd_per_hour:.2f}/h while scaled out"
    guard = "within" if not plan.over_budget else "OVER (needs --yes)"
    lines = [
        f"pool {pool.name}: {pool.describe_strategy()}, requests {pool.resource_name}: 1 per pod",
        f"  slices: {asked}",
        f"  nodes expected: {bounds}",
        f"  each node must advertise its type's slicesPerNode of {pool.resource_name} "
        f"({', '.join(f'{t}={s}' for t, s in sorted(pool.slices_per_node.items()))})",
        f"  GPUs: up to {plan.worst_gpus} (if all {plan.worst_gpus_type}){price}; "
        f"cost guard {plan.budget} GPUs: {guard}",
        f"  workload: Deployment verify-{pool.name} in namespace {namespace}: {plan.slices} replicas of {workload}, "
        f"nodeSelector {', '.join(f'{k}={v}' for k, v in pool.node_selector.items())}, "
        f"tolerations {', '.join(_toleration(t) for t in pool.tolerations) or 'none'}",
        f"  scale-in: replicas to 0, then {scale_in}",
    ]
    if pool.warm_slices:
        lines.insert(
            3,
            f"  warm slices: {pool.warm_slices} kept free; Karpenter refills them as the pods take them, so the most "
            f"nodes counts {plan.slices} + {pool.warm_slices} slices",
        )
    if plan.over_limit:
        lines.append(f"  REFUSED: {plan.slices} slices exceed the pool's limit of {pool.limit_slices}")
    return lines


def _slices(n: int) -> str:
    return f"{n} slice" + ("s" if n != 1 else "")


def _toleration(t: dict[str, Any]) -> str:
    key = t.get("key", "*")
    value = f"={t['value']}" if t.get("value") else ""
    return f"{key}{value}:{t.get('effect', '*')}"
