"""Locate the pinned upstream sources (chart sources, Karpenter CRDs, NVIDIA configs) that preflight checks against.

They live outside the project (`../shared/upstream` beside the checkout by default, or `$GPU_EKS_UPSTREAM_DIR`) and
are never copied in. A missing folder or file raises `UpstreamMissing` with one line saying what to set; the
preflight command turns it into exit code 2, the tests into a skip (locally) or a failure (in CI).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
ENV_VAR = "GPU_EKS_UPSTREAM_DIR"
# The CapacityBuffer CRD of Karpenter v1.14.1: not among karpenter/'s four, but in the pinned chart's crds/ (the
# karpenter-crd chart's templates/ hold the same file, which is how our karpenter-crd release installs it).
CAPACITY_BUFFER_CRD = ("charts", "karpenter", "crds", "autoscaling.x-k8s.io_capacitybuffers.yaml")


class UpstreamMissing(Exception):
    """The pinned upstream sources are not where preflight looks for them."""


def upstream_dir() -> Path:
    """The upstream folder (holding karpenter/, nvidia/ and charts/), or UpstreamMissing."""
    configured = os.environ.get(ENV_VAR)
    path = Path(configured) if configured else REPO_ROOT.parent / "shared" / "upstream"
    if (path / "karpenter").is_dir() and (path / "nvidia").is_dir():
        return path
    raise UpstreamMissing(
        f"upstream sources not found at {path}: set {ENV_VAR} to the folder holding karpenter/, nvidia/ and charts/"
    )


def upstream_file(*parts: str) -> Path:
    """Path of one upstream file, e.g. upstream_file("karpenter", "values.yaml"), or UpstreamMissing."""
    path = upstream_dir().joinpath(*parts)
    if not path.is_file():
        raise UpstreamMissing(f"expected upstream file {path} is missing")
    return path
