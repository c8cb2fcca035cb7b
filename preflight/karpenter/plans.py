"""Exact launch plans from Karpenter's own scheduler: for N pending slices of a pool, which nodes Karpenter would
launch (types, capacity types, count, $/h). Used by `tools.verify --plan` and `make bench` (tools/karpenter_bench.py).

Prices are Karpenter's own: its v1.14.1 on-demand snapshot (spot priced like on-demand until a spot price update, as
the controller starts), so "$/h" is an upper bound for spot nodes, like the contract's usdPerSliceHour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preflight.karpenter import judge


@dataclass(frozen=True)
class Launch:
    instance_type: str
    capacity_type: str
    usd_per_hour: float
    pods: int


@dataclass(frozen=True)
class SlicePlan:
    pool: str
    slices: int
    launches: tuple[Launch, ...]
    unschedulable: int
    reasons: tuple[str, ...] = ()

    @property
    def usd_per_hour(self) -> float:
        return sum(launch.usd_per_hour for launch in self.launches)

    def nodes(self) -> str:
        """'2x g6.48xlarge (spot) + 1x g6.xlarge (spot)'."""
        counts: dict[tuple[str, str], int] = {}
        for launch in self.launches:
            counts[(launch.instance_type, launch.capacity_type)] = (
                counts.get((launch.instance_type, launch.capacity_type), 0) + 1
            )
        return " + ".join(f"{n}x {t} ({c})" for (t, c), n in sorted(counts.items())) or "no node"


@dataclass
class StackContext:
    """What the judge needs of a stack: its offline run, rendered releases and placement model."""

    run: Any
    releases: Mapping[str, Any]
    model: Any


def stack_context(
    stack: str, config_file: Path | None = None, overrides: Mapping[str, Any] | None = None
) -> StackContext:
    from preflight.helm.render import render_run
    from preflight.model.harness import run_stack
    from preflight.placement.model import build_model

    run = run_stack(stack, config_file, overrides=dict(overrides) if overrides else None)
    releases = render_run(run)
    model = build_model(run, lambda release, _: releases[release["release"]], name=stack)
    return StackContext(run, releases, model)


@dataclass(frozen=True)
class Floor:
    """The cheapest $/slice-hour a pool allows: the type and capacity type whose offering, divided by the slices
    Karpenter counts per node, is lowest (Karpenter's prices)."""

    usd_per_slice_hour: float
    instance_type: str
    capacity_type: str


def floors(output: Mapping[str, Any], contracts: Mapping[str, Any]) -> dict[str, Floor]:
    out = {}
    for pool, contract in contracts.items():
        candidates = [
            Floor(price / view["capacity"][contract["resourceName"]], instance_type, capacity_type)
            for instance_type, view in output["pools"].get(pool, {}).get("instanceTypes", {}).items()
            if view["capacity"].get(contract["resourceName"])
            for capacity_type, price in view["prices"].items()
        ]
        if candidates:
            out[pool] = min(candidates, key=lambda f: (f.usd_per_slice_hour, f.instance_type))
    return out


def slice_plans(
    context: StackContext, demands: Mapping[str, Sequence[int]]
) -> tuple[dict[tuple[str, int], SlicePlan], dict[str, Floor]]:
    """(pool, N) -> what Karpenter launches for N pending slices of the pool, one judge run for all; and each pool's
    floor price per slice."""
    from preflight.karpenter.verdict import daemonsets

    plans = {p.pool: p for p in judge.pool_plans(context.run)}
    unknown = sorted(set(demands) - set(plans))
    if unknown:
        raise KeyError(f"no GPU pool {', '.join(unknown)} in the stack; pools: {', '.join(sorted(plans))}")
    scenarios = [
        judge.replicated(f"{pool}: plan {n}", pool, f"plan-{n}", plans[pool].slice_pod, n)
        for pool, counts in demands.items()
        for n in counts
    ]
    output = judge.run_judge(judge.judge_input(context.run, daemonsets(context.model), context.releases, scenarios))
    answers = {s["name"]: s for s in output["scenarios"]}
    out = {}
    for scenario in scenarios:
        answer = answers[scenario.name]
        n = len(scenario.pods)
        launches = tuple(
            Launch(
                c["launch"]["instanceType"], c["launch"]["capacityType"], float(c["launch"]["price"]), len(c["pods"])
            )
            for c in answer["nodeClaims"] or []
        )
        reasons = tuple(sorted(set(answer["unschedulable"].values())))
        out[(scenario.pool, n)] = SlicePlan(scenario.pool, n, launches, len(answer["unschedulable"]), reasons)
    return out, floors(output, {pool: plans[pool].contract for pool in demands})
