"""Docs match the code: quick-start commands, CI's test command, the README's length and links, the versions table,
the outputs and the lookups the architecture states. The configuration reference is generated and checked by
tests/tools/test_config_reference.py."""

from __future__ import annotations

import re

import pytest

from components import versions
from components.config import TOP_LEVEL_KEYS
from preflight.model.harness import GET_CALLER_IDENTITY, REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
DOCS = REPO_ROOT / "docs"
VERSIONS = (DOCS / "versions.md").read_text()
CONFIGURATION = (DOCS / "configuration.md").read_text()
OUTPUTS = (DOCS / "outputs.md").read_text()
ARCHITECTURE = (DOCS / "architecture.md").read_text()
# Written by other changes; the README links them ahead of their arrival.
LINKED_AHEAD = {"docs/karpenter-judge.md", "docs/node-software.md", "docs/identities-and-efa.md", "docs/preflight.md"}


def quick_start_commands() -> list[str]:
    block = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [line.split("#")[0].strip() for line in block.strip().splitlines()]


def test_quick_start_is_render_then_test():
    assert quick_start_commands() == ["make render", "make test"]


def test_ci_runs_the_readme_test_command():
    ci_lines = [line.strip() for line in (REPO_ROOT / ".ci" / "run").read_text().splitlines()]
    assert quick_start_commands()[1] in ci_lines


def test_the_readme_is_a_front_page():
    assert len(README.splitlines()) <= 250


@pytest.mark.parametrize("path", sorted(DOCS.glob("*.md")) + [REPO_ROOT / "README.md"], ids=lambda p: p.name)
def test_relative_links_resolve(path):
    text = path.read_text()
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        resolved = (path.parent / target).resolve()
        relative = resolved.relative_to(REPO_ROOT).as_posix() if resolved.is_relative_to(REPO_ROOT) else target
        assert resolved.exists() or relative in LINKED_AHEAD, f"{path.name} links {target}, which does not exist"


def test_make_render_defaults_to_dev():
    assert re.search(r"^STACK \?= dev$", (REPO_ROOT / "Makefile").read_text(), re.M)


@pytest.mark.parametrize(
    "label, value",
    [
        ("Kubernetes (default)", versions.DEFAULT_KUBERNETES_VERSION),
        ("Karpenter chart and controller (`karpenter`, `karpenter-crd`)", versions.DEFAULT_KARPENTER_VERSION),
        ("NVIDIA device plugin chart", versions.NVIDIA_DEVICE_PLUGIN_VERSION),
        ("NVIDIA GPU Operator chart", versions.NVIDIA_GPU_OPERATOR_VERSION),
        (
            "AWS EFA device plugin chart (`aws-efa-k8s-device-plugin`, EFA pools only)",
            versions.EFA_DEVICE_PLUGIN_VERSION,
        ),
        ("Kubeflow MPI operator (`examples/nccl-tests`, installed by hand)", versions.MPI_OPERATOR_VERSION),
        ("Node image (default `gpu-eks:nodeImage`)", versions.DEFAULT_NODE_IMAGE),
        ("CUDA vector-add test image", versions.CUDA_VECTOR_ADD_IMAGE),
        ("nvidia-smi test image", versions.NVIDIA_SMI_IMAGE),
        ("Warm-slice placeholder image (never pulled)", versions.WARM_SLICE_PLACEHOLDER_IMAGE),
        (
            "kube-prometheus-stack chart (`observability.mode` in-cluster or amp)",
            versions.KUBE_PROMETHEUS_STACK_VERSION,
        ),
        (
            "NVIDIA DCGM exporter chart (`dcgm-exporter`, device-plugin stacks with metrics)",
            versions.DCGM_EXPORTER_VERSION,
        ),
    ],
)
def test_versions_table_matches_versions_py(label, value):
    assert f"| {label} | {value} |" in VERSIONS


@pytest.mark.parametrize("key", TOP_LEVEL_KEYS)
def test_every_top_level_key_is_in_the_configuration_reference(key):
    assert f"| `gpu-eks:{key}` |" in CONFIGURATION


def test_every_stack_output_is_documented(stack_run):
    for name in stack_run("prod").outputs:
        assert f"`{name}`" in OUTPUTS, name


@pytest.mark.parametrize(
    "stack, lookups",
    [
        # What the "Lookups" bullet of docs/architecture.md states for the repo stacks, component by component.
        ("dev", ["aws.getAvailabilityZones", "aws.getPartition"]),
        ("prod", ["aws.getPartition"]),
    ],
)
def test_the_architecture_states_the_lookups_the_components_make(stack_run, stack, lookups):
    run = stack_run(stack)
    # Our own code: only who runs the deploy (components.config.load_config), for the cluster creator's 409 guard.
    assert run.invokes == [GET_CALLER_IDENTITY]
    made = sorted("aws." + invoke.token.rsplit(":", 1)[1] for invoke in run.component_invokes)
    assert made == lookups
    bullet = ARCHITECTURE.split("- **Lookups:", 1)[1].split("\n- **", 1)[0]
    assert all(f"`{lookup}`" in bullet for lookup in lookups)
    assert f"{stack} makes {len(lookups)}" in " ".join(bullet.split())
