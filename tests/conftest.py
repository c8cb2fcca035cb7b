"""Shared fixtures: offline runs of the real program, cached per stack so the suite stays fast."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from components.config import ConfigError, parse_config
from tools.harness import REPO_ROOT, StackRun, run_stack

REPO_STACKS = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in REPO_ROOT.glob("Pulumi.*.yaml"))


@pytest.fixture(scope="session")
def stack_run() -> Callable[[str], StackRun]:
    """`stack_run("dev")`: the program's registrations for a repo stack (run once per session)."""
    cache: dict[str, StackRun] = {}

    def get(stack: str) -> StackRun:
        if stack not in cache:
            cache[stack] = run_stack(stack)
        return cache[stack]

    return get


@pytest.fixture
def run_with() -> Callable[..., StackRun]:
    """`run_with("dev", network={...})`: a fresh run of a repo stack with some gpu-eks keys overridden (None removes)."""

    def run(stack: str = "dev", **overrides: Any) -> StackRun:
        return run_stack(stack, overrides=overrides)

    return run


def parse(raw: dict[str, Any], stack: str = "test", region: str | None = "us-west-2"):
    """Parse raw gpu-eks config the way the program does."""
    return parse_config(raw, stack=stack, region=region)


def config_error(raw: dict[str, Any], stack: str = "test", region: str | None = "us-west-2") -> ConfigError:
    """The ConfigError a raw config raises (fails the test if it parses)."""
    with pytest.raises(ConfigError) as caught:
        parse(raw, stack=stack, region=region)
    return caught.value


def write_stack_file(directory: Path, config: dict[str, Any]) -> Path:
    """A Pulumi.<stack>.yaml-shaped file for renderer tests."""
    import yaml

    path = directory / "Pulumi.test.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


@pytest.fixture(scope="session")
def crd_validator():
    """The upstream Karpenter v1.14.1 CRDs, loaded and compiled once (schema + CEL)."""
    from tests.support.crd_validator import CrdValidator
    from tests.support.upstream import upstream_dir

    return CrdValidator.from_directory(upstream_dir() / "karpenter")


def karpenter_manifests(run: StackRun) -> list[dict[str, Any]]:
    """Every Karpenter custom resource a run registered, as the object the API server would receive."""
    from tools.render import manifest_of  # the same object the renderer writes to manifests/

    return [manifest_of(r) for r in run.resources
            if r.type.startswith(("kubernetes:karpenter.sh/", "kubernetes:karpenter.k8s.aws/"))]
