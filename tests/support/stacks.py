"""Plain helpers the tests share: the repo's stacks, parsing a raw config, stack files, a run's Karpenter objects.

Fixtures live in tests/conftest.py; these are ordinary functions that tests import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.common.parsing import ConfigError
from components.config import PlatformConfig, parse_config
from preflight.model.harness import REPO_ROOT, StackRun
from preflight.model.objects import KARPENTER_CRD_TYPE_PREFIXES
from preflight.stacks import stack_names

# Every stack file in the repo, a user's own included: the tests parametrized over it check any stack added.
REPO_STACKS = stack_names(REPO_ROOT)


def parse(raw: dict[str, Any], stack: str = "test", region: str | None = "us-west-2") -> PlatformConfig:
    """Parse raw gpu-eks config the way the program does."""
    return parse_config(raw, stack=stack, region=region)


def config_error(raw: dict[str, Any], stack: str = "test", region: str | None = "us-west-2") -> ConfigError:
    """The ConfigError a raw config raises (fails the test if it parses)."""
    with pytest.raises(ConfigError) as caught:
        parse(raw, stack=stack, region=region)
    return caught.value


def write_stack_file(directory: Path, config: dict[str, Any]) -> Path:
    """A Pulumi.<stack>.yaml-shaped file for renderer tests."""
    path = directory / "Pulumi.test.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


def karpenter_manifests(run: StackRun) -> list[dict[str, Any]]:
    """Every custom resource of a Karpenter CRD a run registered, as the object the API server would receive."""
    from preflight.model.objects import manifest_of  # the same object the renderer writes to manifests/

    return [manifest_of(r) for r in run.resources if r.type.startswith(KARPENTER_CRD_TYPE_PREFIXES)]
