"""Preflight passes on every stack file in the repo (a user's own included: the list is discovered, not kept) and
on every STACK_VARIANT: each stage, each stack, one test, so a failure names both."""

from __future__ import annotations

import pytest

from preflight.model.harness import REPO_ROOT
from preflight.report import terminal_report
from preflight.runner import STAGE_NAMES
from tests.support.stack_variants import STACK_VARIANTS
from tests.support.stacks import REPO_STACKS

STACKS = [*REPO_STACKS, *(v.name for v in STACK_VARIANTS)]
CHECKING_STAGES = [name for name in STAGE_NAMES if name != "render"]  # the cached run is the render's output


@pytest.mark.parametrize("stage", CHECKING_STAGES)
@pytest.mark.parametrize("stack", STACKS)
def test_preflight_stage_passes(preflight_of, stack, stage):
    results = preflight_of(stack)
    result = next(r for r in results if r.stage == stage)
    report = "\n".join(terminal_report(stack, REPO_ROOT / f"Pulumi.{stack}.yaml", results))
    assert result.passed, report
    assert result.counts and all(isinstance(v, int) for v in result.counts.values()), report


def test_the_repo_stacks_are_the_stack_files():
    # The one list (preflight/stacks.py) against an independent look at the folder.
    assert (
        sorted(p.name[7:-5] for p in REPO_ROOT.iterdir() if p.name.startswith("Pulumi.") and p.name != "Pulumi.yaml")
        == REPO_STACKS
    )
    assert {"dev", "prod"} <= set(REPO_STACKS)
