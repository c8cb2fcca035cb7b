"""Packing cost benchmark (`make bench`; not a test): for every GPU pool of every repo stack and a demand of 1, 8, 32
and 100 slices, what Karpenter's own scheduler (the judge, preflight/karpenter/) launches and its $/h, against the
floor: the cheapest $/slice-hour the pool allows × N. The ratio is what packing costs over perfect sharing.

    python -m tools.karpenter_bench [STACK ...] [--slices 1,8,32,100]

Prices are Karpenter v1.14.1's snapshot (on-demand; a spot node priced at on-demand, its cap). Slices a pool's limit
does not allow stay pending and are shown; their cost is not counted, and the floor counts only what was placed.
"""

from __future__ import annotations

import argparse
import sys
import time

from preflight.karpenter import judge
from preflight.karpenter.plans import slice_plans, stack_context
from preflight.model.harness import REPO_ROOT
from preflight.stacks import stack_names

DEMANDS = (1, 8, 32, 100)


def table(stacks: list[str], demands: tuple[int, ...]) -> list[str]:
    rows = [("stack", "pool", "slices", "Karpenter launches", "$/h", "floor $/h", "ratio", "pending")]
    for stack in stacks:
        context = stack_context(stack)
        pools = sorted((context.run.outputs.get("gpuPools") or {}).keys())
        if not pools:
            continue
        plans, floors = slice_plans(context, {pool: demands for pool in pools})
        for pool in pools:
            floor = floors.get(pool)
            for n in demands:
                plan = plans[(pool, n)]
                placed = n - plan.unschedulable
                floor_cost = floor.usd_per_slice_hour * placed if floor else None
                ratio = f"{plan.usd_per_hour / floor_cost:.2f}" if floor_cost else "-"
                rows.append(
                    (
                        stack,
                        pool,
                        str(n),
                        plan.nodes(),
                        f"{plan.usd_per_hour:.2f}",
                        f"{floor_cost:.2f}" if floor_cost is not None else "-",
                        ratio,
                        str(plan.unschedulable) if plan.unschedulable else "",
                    )
                )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return [lines[0], "  ".join("-" * w for w in widths), *lines[1:]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.karpenter_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("stacks", nargs="*", help="repo stacks (default: every Pulumi.<stack>.yaml)")
    parser.add_argument("--slices", default=",".join(map(str, DEMANDS)), help="comma-separated demands")
    args = parser.parse_args(argv)
    stacks = args.stacks or stack_names(REPO_ROOT)
    demands = tuple(int(n) for n in args.slices.split(","))
    started = time.perf_counter()
    try:
        lines = table(stacks, demands)
    except judge.JudgeUnavailable as unavailable:
        print(str(unavailable), file=sys.stderr)
        return 2
    print("\n".join(lines))
    print(f"\n(Karpenter v1.14.1 scheduler via the judge; {time.perf_counter() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
