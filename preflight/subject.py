"""The stack under check, and what each stage hands to the later ones.

Stages run in order and fill this in: `render` sets `run`, `helm` sets `releases`, `placement` sets `model`. A stage
that needs something an earlier stage could not produce raises `NeedsEarlierStage`, and is reported as skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from preflight.model.harness import StackRun


class NeedsEarlierStage(Exception):
    """The stage cannot run: an earlier stage it builds on failed (the message names it)."""


class CannotCheck(Exception):
    """Preflight cannot check this stack at all: bad config, or the pinned chart sources are missing (exit 2)."""


@dataclass
class Subject:
    stack: str
    config_file: Path
    # Extra `gpu-eks:*` overrides on top of the file (None removes a key): the test variants use them.
    overrides: dict[str, Any] = field(default_factory=dict)
    # The policy pack's config, as `pulumi preview --policy-pack-config FILE` takes it (None: the pack's defaults).
    policy_config: dict[str, Any] | None = None
    run: StackRun | None = None
    releases: dict[str, Any] | None = None  # release name -> preflight.helm.render.RenderedRelease
    model: Any = None  # preflight.placement.model.ClusterModel

    def need_run(self) -> StackRun:
        if self.run is None:
            raise NeedsEarlierStage("needs the render")
        return self.run

    def need_releases(self) -> dict[str, Any]:
        if self.releases is None:
            raise NeedsEarlierStage("needs every Helm release rendered")
        return self.releases

    def need_model(self) -> Any:
        if self.model is None:
            raise NeedsEarlierStage("needs the placement model")
        return self.model
