"""Run the stages in order over one stack. Each stage is a module of preflight/stages/ with a TITLE and a
`check(subject, result)`; a stage whose input an earlier stage could not produce is reported as skipped."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType

from preflight.findings import StageResult
from preflight.stages import capacity, helm, karpenter, objects, placement, policy, provider_schemas, render
from preflight.subject import NeedsEarlierStage, Subject


@dataclass(frozen=True)
class Stage:
    name: str
    module: ModuleType

    @property
    def title(self) -> str:
        return str(self.module.TITLE)


STAGES: tuple[Stage, ...] = (
    Stage("render", render),
    Stage("helm", helm),
    Stage("objects", objects),
    Stage("provider-schemas", provider_schemas),
    Stage("placement", placement),
    Stage("karpenter", karpenter),
    Stage("policy", policy),
    Stage("capacity", capacity),
)
STAGE_NAMES = tuple(stage.name for stage in STAGES)


def run_stages(
    subject: Subject,
    stages: Sequence[Stage] = STAGES,
    on_start: Callable[[int, Stage], None] | None = None,
) -> list[StageResult]:
    """Every stage's result, in order. `CannotCheck` (bad config, missing chart sources) propagates: exit 2."""
    results = []
    for number, stage in enumerate(stages, 1):
        if on_start is not None:
            on_start(number, stage)
        result = StageResult(stage.name, stage.title)
        started = time.perf_counter()
        try:
            stage.module.check(subject, result)
        except NeedsEarlierStage as reason:
            result.skipped = str(reason)
        result.seconds = time.perf_counter() - started
        results.append(result)
    return results
