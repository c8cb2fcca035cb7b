"""examples/gpu-workload: a second project that consumes the platform's outputs through a StackReference.

The platform's real outputs (from an offline run of each repo stack) are served as the mocked stack
reference, secrets included, so the example is tested against the contract as the platform publishes it.
"""

from __future__ import annotations

import runpy

import pytest

from preflight.model.harness import REPO_ROOT, run_program
from tests.support.stacks import REPO_STACKS

EXAMPLE = REPO_ROOT / "examples" / "gpu-workload"
PLATFORM = "organization/gpu-eks/dev"


@pytest.fixture
def run_example(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))

    def run(platform_outputs, secret_names=("kubeconfig",), config=None):
        return run_program(
            "dev",
            config if config is not None else {"gpu-workload:platformStack": PLATFORM},
            program=lambda: runpy.run_path(str(EXAMPLE / "__main__.py"), run_name="__main__"),
            project="gpu-workload",
            stack_references={PLATFORM: {"outputs": platform_outputs, "secretOutputNames": list(secret_names)}},
        )

    return run


@pytest.mark.parametrize("stack", REPO_STACKS)
def test_one_job_per_pool_requesting_exactly_the_pools_slice(stack_run, run_example, stack):
    platform = stack_run(stack)
    contracts = platform.outputs["gpuPools"]
    run = run_example(platform.outputs)
    jobs = {
        r.plain_inputs()["metadata"]["name"]: r.plain_inputs()["spec"]["template"]["spec"]
        for r in run.by_type("kubernetes:batch/v1:Job")
    }
    assert set(jobs) == {f"smoke-{name}" for name in contracts}
    for name, contract in contracts.items():
        pod = jobs[f"smoke-{name}"]
        assert pod["containers"][0]["resources"]["limits"] == {contract["resourceName"]: 1}
        assert pod["nodeSelector"] == contract["nodeSelector"]
        assert pod["tolerations"] == contract["tolerations"]
    assert run.outputs["smokeJobs"] == sorted(f"smoke-{name}" for name in contracts)


def test_platform_kubeconfig_stays_secret(stack_run, run_example):
    run = run_example(stack_run("dev").outputs)
    provider = run.one("pulumi:providers:kubernetes")
    assert provider.redacted_inputs()["kubeconfig"] == "[secret]"
    assert "get-token" in provider.plain_inputs()["kubeconfig"]


def test_missing_gpu_pools_output_is_a_clear_error(stack_run, run_example):
    outputs = {k: v for k, v in stack_run("dev").outputs.items() if k != "gpuPools"}
    with pytest.raises(Exception, match=f"{PLATFORM}: output gpuPools is missing"):
        run_example(outputs)


def test_malformed_contract_is_a_clear_error(stack_run, run_example):
    outputs = dict(stack_run("dev").outputs)
    outputs["gpuPools"] = {"inference": {**outputs["gpuPools"]["inference"], "resourceName": "gpu"}}
    with pytest.raises(Exception, match=r"gpuPools\.inference\.resourceName must be an nvidia\.com/ resource"):
        run_example(outputs)


def test_contract_without_required_keys_is_a_clear_error(stack_run, run_example):
    outputs = dict(stack_run("dev").outputs)
    outputs["gpuPools"] = {"inference": {"strategy": "time-slicing"}}
    with pytest.raises(Exception, match="lacks resourceName, nodeSelector, tolerations, slicesPerNode"):
        run_example(outputs)


def test_missing_kubeconfig_is_a_clear_error(stack_run, run_example):
    outputs = {k: v for k, v in stack_run("dev").outputs.items() if k != "kubeconfig"}
    with pytest.raises(Exception, match="output kubeconfig is missing"):
        run_example(outputs)


def test_unset_platform_stack_is_a_clear_error(run_example):
    with pytest.raises(Exception, match="gpu-workload:platformStack is not set"):
        run_example({}, config={})
