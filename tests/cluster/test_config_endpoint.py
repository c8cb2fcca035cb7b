"""Who may reach the Kubernetes API (issue 9, item 2): no default may lead into a failing policy-checked preview.

A minimal stack (only aws:region and one GPU pool) is rejected before any resource, with one line saying
what to set; with that one key set, it passes the project's own policy pack.
"""

from __future__ import annotations

import pytest

from preflight.model.harness import run_stack
from preflight.policy import analyze, mandatory
from tests.support.stacks import config_error, parse, write_stack_file
from tools import render

ONE_GPU_POOL = [{"name": "inference", "instanceFamilies": ["g6"], "maxGpus": 8}]
MINIMAL = {"aws:region": "us-west-2", "gpu-eks:gpuNodePools": ONE_GPU_POOL}


def test_minimal_stack_is_rejected_with_one_line_saying_what_to_set():
    error = config_error({"gpuNodePools": ONE_GPU_POOL}, stack="dev")
    assert error.key == "endpoint.publicAccessCidrs"
    assert "\n" not in str(error)
    assert str(error).startswith("dev: gpu-eks:endpoint.publicAccessCidrs: is not set")
    assert "0.0.0.0/0" in error.problem and "eks-public-endpoint-restricted" in error.problem
    # Both ways out are named: the CIDRs to allow, or a private endpoint.
    assert "egress IP" in error.allowed and "endpoint.publicAccess: false" in error.allowed


def test_minimal_stack_render_stops_before_any_resource(tmp_path, capsys):
    stack_file = write_stack_file(tmp_path, MINIMAL)
    out = tmp_path / "out"
    assert render.main(["test", "--config", str(stack_file), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("test: gpu-eks:endpoint.publicAccessCidrs: is not set")
    assert captured.err.count("\n") == 1
    assert not out.exists()


def test_minimal_stack_with_allowed_cidrs_passes_the_policy_pack(tmp_path):
    stack_file = write_stack_file(tmp_path, {**MINIMAL, "gpu-eks:endpoint": {"publicAccessCidrs": ["198.51.100.7/32"]}})
    run = run_stack("test", config_file=stack_file)
    assert mandatory(analyze(run)) == []


def test_private_only_endpoint_is_a_valid_decision_and_passes_the_policy_pack(tmp_path):
    stack_file = write_stack_file(tmp_path, {**MINIMAL, "gpu-eks:endpoint": {"publicAccess": False}})
    run = run_stack("test", config_file=stack_file)
    assert mandatory(analyze(run)) == []


def test_explicitly_public_endpoint_without_cidrs_is_rejected_too():
    error = config_error({"endpoint": {"publicAccess": True}})
    assert error.key == "endpoint.publicAccessCidrs"


def test_endpoint_decision_is_reported_after_other_mistakes():
    # A new stack hears about a real typo first; the decision it has not made yet comes last.
    assert config_error({"clusterNmae": "x"}).key == "clusterNmae"
    assert config_error({"controllerNodeGroup": {"diskSize": 1}}).key == "controllerNodeGroup.diskSize"


@pytest.mark.parametrize("cidrs", [["0.0.0.0/0"], ["10.1.0.0/16", "0.0.0.0/0"]])
def test_world_open_cidrs_are_left_to_the_policy_pack(cidrs):
    # Explicitly open is a decision; the pack rejects it unless its config allows it (allowPublicEndpointFromAnywhere).
    assert parse({"endpoint": {"publicAccessCidrs": cidrs}}).cluster.endpoint.public_access_cidrs == tuple(cidrs)
