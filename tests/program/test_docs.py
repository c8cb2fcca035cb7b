"""Docs match the code: quick-start commands, CI's test command, the versions table, the config reference."""

from __future__ import annotations

import re

import pytest

from components import versions
from components.config import TOP_LEVEL_KEYS
from components.gpu.config import GPU_POOL_KEYS
from components.karpenter.node_pool_config import NODE_POOL_KEYS
from preflight.model.harness import GET_CALLER_IDENTITY, REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def quick_start_commands() -> list[str]:
    block = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [line.split("#")[0].strip() for line in block.strip().splitlines()]


def test_quick_start_is_render_then_test():
    assert quick_start_commands() == ["make render", "make test"]


def test_ci_runs_the_readme_test_command():
    ci_lines = [line.strip() for line in (REPO_ROOT / ".ci" / "run").read_text().splitlines()]
    assert quick_start_commands()[1] in ci_lines


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
    assert f"| {label} | {value} |" in README


@pytest.mark.parametrize("key", TOP_LEVEL_KEYS)
def test_every_top_level_key_is_documented(key):
    assert f"`gpu-eks:{key}" in README


@pytest.mark.parametrize("key", GPU_POOL_KEYS)
def test_every_gpu_pool_key_is_documented(key):
    section = README.split("**`gpuNodePools[]`**", 1)[1].split("## Outputs", 1)[0]
    assert f"`{key}" in section


@pytest.mark.parametrize("key", NODE_POOL_KEYS)
def test_every_node_pool_key_is_documented(key):
    section = README.split("**`nodePools[]`**", 1)[1].split("**`gpuNodePools[]`**", 1)[0]
    assert f"`{key}" in section


def test_every_stack_output_is_documented(stack_run):
    outputs_section = README.split("## Outputs", 1)[1].split("## Design", 1)[0]
    for name in stack_run("prod").outputs:
        assert f"`{name}`" in outputs_section, name


@pytest.mark.parametrize(
    "stack, lookups",
    [
        # What the README's "Lookups" bullet states for the repo stacks, component by component.
        ("dev", ["aws.getAvailabilityZones", "aws.getPartition"]),
        ("prod", ["aws.getPartition"]),
    ],
)
def test_readme_states_the_lookups_the_components_make(stack_run, stack, lookups):
    run = stack_run(stack)
    # Our own code: only who runs the deploy (components.config.load_config), for the cluster creator's 409 guard.
    assert run.invokes == [GET_CALLER_IDENTITY]
    made = sorted("aws." + invoke.token.rsplit(":", 1)[1] for invoke in run.component_invokes)
    assert made == lookups
    bullet = README.split("- **Lookups:", 1)[1].split("\n- **", 1)[0]
    assert all(f"`{lookup}`" in bullet for lookup in lookups)
    assert f"{stack} makes {len(lookups)}" in " ".join(bullet.split())
