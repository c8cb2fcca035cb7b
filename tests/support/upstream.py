"""Locate the pinned upstream files (Karpenter CRDs, NVIDIA chart values) that tests validate against.

The files live outside the project (`../shared/upstream` by default, or `$GPU_EKS_UPSTREAM_DIR`) and are
never copied in. Outside CI a missing folder skips the dependent tests with a reason; in CI
(`CI=true`) it is a failure, so a green CI always means the upstream checks ran.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# The CapacityBuffer CRD of Karpenter v1.14.1: not among karpenter/'s four, but in the pinned chart's crds/ (the
# karpenter-crd chart's templates/ hold the same file, which is how our karpenter-crd release installs it).
CAPACITY_BUFFER_CRD = ("charts", "karpenter", "crds", "autoscaling.x-k8s.io_capacitybuffers.yaml")
ENV_VAR = "GPU_EKS_UPSTREAM_DIR"


def upstream_dir() -> Path:
    """Return the upstream folder, or skip (locally) / fail (in CI) when it is absent."""
    configured = os.environ.get(ENV_VAR)
    path = Path(configured) if configured else REPO_ROOT.parent / "shared" / "upstream"
    if (path / "karpenter").is_dir() and (path / "nvidia").is_dir():
        return path
    reason = f"upstream files not found at {path} (set {ENV_VAR} to the folder holding karpenter/ and nvidia/)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + "; they are required in CI", pytrace=False)
    pytest.skip(reason)


def upstream_file(*parts: str) -> Path:
    """Path of one upstream file, e.g. upstream_file("karpenter", "values.yaml")."""
    path = upstream_dir().joinpath(*parts)
    if not path.is_file():
        pytest.fail(f"expected upstream file {path} is missing", pytrace=False)
    return path
