"""The ready smoke manifests in examples/smoke match the pools they target (resource, placement, sizing)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components import versions
from preflight.model.harness import REPO_ROOT

SMOKE = REPO_ROOT / "examples" / "smoke"
WHOLE_T4_POOL = [{"name": "whole-t4", "instanceFamilies": ["g4dn"], "maxGpus": 8}]


def pod_spec(path: Path) -> dict:
    return yaml.safe_load(path.read_text())["spec"]["template"]["spec"]


def assert_fits(spec: dict, contract: dict) -> None:
    assert spec["nodeSelector"]["gpu-eks/pool"] in contract["nodeSelector"].values()
    assert spec["tolerations"] == contract["tolerations"]
    (container,) = spec["containers"]
    assert container["resources"]["limits"] == {contract["resourceName"]: 1}


def test_nvidia_smi_runs_on_a_whole_t4(run_with):
    contract = run_with("dev", gpuNodePools=WHOLE_T4_POOL).outputs["gpuPools"]["whole-t4"]
    spec = pod_spec(SMOKE / "nvidia-smi-whole-t4.yaml")
    assert_fits(spec, contract)
    assert spec["containers"][0]["image"] == versions.NVIDIA_SMI_IMAGE
    assert contract["strategy"] == "none"


def test_vector_add_fills_one_time_sliced_node(stack_run):
    contract = stack_run("dev").outputs["gpuPools"]["inference"]
    manifest = yaml.safe_load((SMOKE / "vector-add-time-sliced.yaml").read_text())
    assert_fits(manifest["spec"]["template"]["spec"], contract)
    assert manifest["spec"]["template"]["spec"]["containers"][0]["image"] == versions.CUDA_VECTOR_ADD_IMAGE
    # Four pods = the slices of the smallest node of the pool (one g5/g6 xlarge).
    assert manifest["spec"]["parallelism"] == min(contract["slicesPerNode"].values()) == 4


def test_mig_deployment_fills_exactly_one_p4d(stack_run):
    contract = stack_run("prod").outputs["gpuPools"]["mig-inference"]
    manifest = yaml.safe_load((SMOKE / "mig-fill-one-node.yaml").read_text())
    assert_fits(manifest["spec"]["template"]["spec"], contract)
    assert manifest["spec"]["replicas"] == contract["slicesPerNode"]["p4d.24xlarge"] == 56


@pytest.mark.parametrize("path", sorted(SMOKE.glob("*.yaml")), ids=lambda p: p.name)
def test_smoke_images_are_the_pinned_ones(path):
    images = {c["image"] for c in pod_spec(path)["containers"]}
    assert images <= {versions.CUDA_VECTOR_ADD_IMAGE, versions.NVIDIA_SMI_IMAGE}
