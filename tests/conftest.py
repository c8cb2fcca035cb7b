"""Shared fixtures (only fixtures: plain helpers live in tests/support/): offline runs of the real program, cached
per stack so the suite stays fast."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from preflight.model.harness import StackRun, run_stack
from tests.support.stacks import REPO_STACKS


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
    """`run_with("dev", network={...})`: a fresh run of a repo stack with some gpu-eks keys overridden
    (None removes)."""

    def run(stack: str = "dev", **overrides: Any) -> StackRun:
        return run_stack(stack, overrides=overrides)

    return run


@pytest.fixture(scope="session")
def crd_validator():
    """The upstream Karpenter v1.14.1 CRDs, loaded and compiled once (schema + CEL), with the CapacityBuffer CRD
    (autoscaling.x-k8s.io) that the same release ships in its charts (karpenter-crd templates, karpenter crds/)."""
    from preflight.validate.crd import CrdValidator
    from tests.support.upstream import CAPACITY_BUFFER_CRD, upstream_dir, upstream_file

    return CrdValidator.from_directory(upstream_dir() / "karpenter", [upstream_file(*CAPACITY_BUFFER_CRD)])


@pytest.fixture(scope="session")
def mpi_job_validator():
    """The Kubeflow MPIJob CRD (kubeflow.org/v2beta1) of the MPI operator's v0.8.0 release manifest, for
    examples/nccl-tests (schema + CEL, like the Karpenter CRDs)."""
    from preflight.validate.crd import CrdValidator
    from tests.support.upstream import upstream_file

    return CrdValidator.from_directory(upstream_file("manifests", "mpi-operator.yaml").parent)


@pytest.fixture(scope="session")
def placement_model(stack_or_variant_run, rendered_releases) -> Callable[[str], Any]:
    """`placement_model("dev")` or `placement_model("gpu-only-mig")`: the scheduling model
    (preflight/placement/model.py) of a repo stack or a STACK_VARIANT, from the session's runs and renders."""
    from preflight.placement.model import build_model

    cache: dict[str, Any] = {}

    def get(name: str):
        if name not in cache:
            rendered = rendered_releases(name)
            cache[name] = build_model(
                stack_or_variant_run(name), lambda release, _: rendered[release["release"]], name=name
            )
        return cache[name]

    return get


@pytest.fixture(scope="session")
def controller_capacity(stack_or_variant_run, placement_model) -> Callable[[str], Any]:
    """`controller_capacity("dev")`: the controller group at minSize against the CPU and memory requests of every
    pod that runs there once installed (preflight/capacity.py), for a repo stack or STACK_VARIANT."""
    from preflight.capacity import report

    def get(name: str):
        run = stack_or_variant_run(name)
        group = run.one("eks:index:ManagedNodeGroup").plain_inputs()
        addons = [r.plain_inputs()["addonName"] for r in run.by_type("aws:eks/addon:Addon")]
        return report(placement_model(name), addons, group["scalingConfig"]["minSize"], group["instanceTypes"])

    return get


@pytest.fixture(scope="session")
def stack_or_variant_run(stack_run) -> Callable[[str], StackRun]:
    """`stack_or_variant_run("prod")` or `("gpu-only-mig")`: the run of a repo stack or of a STACK_VARIANT
    (tests/support/stack_variants.py), once per session."""
    from tests.support.stack_variants import VARIANTS_BY_NAME

    cache: dict[str, StackRun] = {}

    def get(name: str) -> StackRun:
        if name in REPO_STACKS:
            return stack_run(name)
        if name not in VARIANTS_BY_NAME:
            raise KeyError(
                f"{name!r} is neither a repo stack {REPO_STACKS} nor a STACK_VARIANT {sorted(VARIANTS_BY_NAME)}"
            )
        if name not in cache:
            variant = VARIANTS_BY_NAME[name]
            cache[name] = run_stack(variant.base, overrides=variant.overrides)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def rendered_releases(stack_or_variant_run) -> Callable[[str], dict[str, Any]]:
    """`rendered_releases("prod")`: release name -> `RenderedRelease` (preflight/helm/render.py), every Helm
    release of a repo stack or STACK_VARIANT rendered through the pinned upstream chart by real Helm at the
    run's `kubernetesVersion`, once per session. Raises ChartSourceError / ReleaseRenderError (naming the
    release) when a pin has no chart source or Helm refuses the release."""
    from preflight.helm.render import render_run

    cache: dict[str, dict[str, Any]] = {}

    def get(name: str) -> dict[str, Any]:
        if name not in cache:
            cache[name] = render_run(stack_or_variant_run(name))
        return cache[name]

    return get


@pytest.fixture(scope="session")
def provider_schemas():
    """The pinned providers' trimmed schemas (preflight/data/provider-schemas/), loaded once per session."""
    from preflight.validate.provider_schema import SchemaSet

    return SchemaSet.load()


@pytest.fixture(scope="session")
def preflight_of(stack_or_variant_run) -> Callable[[str], Any]:
    """`preflight_of("dev")`: every preflight stage's result (preflight/runner.py) for a repo stack or a
    STACK_VARIANT, once per session, starting from the session's cached run (the render stage's output)."""
    from preflight.model.harness import REPO_ROOT
    from preflight.runner import STAGES, run_stages
    from preflight.subject import Subject
    from tests.support.stack_variants import VARIANTS_BY_NAME

    cache: dict[str, Any] = {}

    def get(name: str):
        if name not in cache:
            base = VARIANTS_BY_NAME[name].base if name in VARIANTS_BY_NAME else name
            subject = Subject(name, REPO_ROOT / f"Pulumi.{base}.yaml", run=stack_or_variant_run(name))
            cache[name] = run_stages(subject, [s for s in STAGES if s.name != "render"])
        return cache[name]

    return get
