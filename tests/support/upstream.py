"""The pinned upstream sources for tests: `preflight.upstream`, with a missing folder or file turned into a skip
locally and a failure in CI (`CI=true`), so a green CI always means the upstream checks ran."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from preflight import upstream
from preflight.upstream import CAPACITY_BUFFER_CRD, ENV_VAR, UpstreamMissing

__all__ = ["CAPACITY_BUFFER_CRD", "ENV_VAR", "require_upstream", "upstream_dir", "upstream_file"]


def require_upstream(error: UpstreamMissing) -> None:
    """Fail (in CI) or skip (elsewhere) for a missing upstream source."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{error}; they are required in CI", pytrace=False)
    pytest.skip(str(error))


def upstream_dir() -> Path:
    try:
        return upstream.upstream_dir()
    except UpstreamMissing as error:
        require_upstream(error)
        raise


def upstream_file(*parts: str) -> Path:
    try:
        return upstream.upstream_file(*parts)
    except UpstreamMissing as error:
        require_upstream(error)
        raise
