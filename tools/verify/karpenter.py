"""`--plan`'s exact answer: which nodes Karpenter's own scheduler (the judge, preflight/karpenter/) would launch
for each pool's N slices, from an offline render of the stack's Pulumi.<stack>.yaml. Without that file or without Go,
`--plan` keeps the contract's node range and says why in one line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tools.verify.plan import PoolPlan


def karpenter_lines(stack: str, plans: Sequence[PoolPlan], repo_root: Path) -> tuple[dict[str, str], str | None]:
    """pool -> "  nodes Karpenter launches: ..." for every plan, or ({}, why not)."""
    config = repo_root / f"Pulumi.{stack}.yaml"
    if not config.is_file():
        return {}, f"node ranges from the contract: no {config.name} to render for Karpenter's exact plan"
    from preflight.karpenter import judge
    from preflight.karpenter.plans import slice_plans, stack_context

    try:
        answers, _ = slice_plans(stack_context(stack, config), {p.pool.name: [p.slices] for p in plans})
    except judge.JudgeUnavailable as unavailable:
        return {}, f"node ranges from the contract: {unavailable}"
    except KeyError as error:  # the outputs name a pool the stack file no longer has
        return {}, f"node ranges from the contract: {error.args[0]}"
    lines = {}
    for plan in plans:
        answer = answers[(plan.pool.name, plan.slices)]
        pending = f"; {answer.unschedulable} stay pending ({'; '.join(answer.reasons)})" if answer.unschedulable else ""
        lines[plan.pool.name] = (
            f"  nodes Karpenter launches: {answer.nodes()}, ${answer.usd_per_hour:.2f}/h at Karpenter's prices"
            f"{pending} (Karpenter v1.14.1's scheduler, offline: preflight/karpenter)"
        )
    return lines, None
