"""Each preflight stage proves itself on a deliberately broken input: the stage fails, and the report names the
object and why. The inputs are the cached dev run with one thing broken (a copy: the session's run is shared)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from preflight import __main__ as cli
from preflight.findings import StageResult
from preflight.model.harness import REPO_ROOT, StackRun
from preflight.report import terminal_report
from preflight.runner import STAGES, run_stages
from preflight.subject import Subject

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"


def broken(
    run: StackRun, type_token: str, change: Callable[[dict[str, Any]], None], name: str | None = None
) -> StackRun:
    """A copy of `run` whose one registration of `type_token` (and name) has its inputs changed."""
    copied = copy.deepcopy(run)
    registrations = [r for r in copied.resources if r.type == type_token and (name is None or r.name == name)]
    assert registrations, f"no {type_token} {name or ''} in the run"
    change(registrations[0].inputs)
    return copied


def stage_result(run: StackRun, stage: str, releases: dict[str, Any] | None = None) -> tuple[StageResult, str]:
    """One stage (with the stages it builds on) over a run; the result and the terminal report preflight prints."""
    subject = Subject("dev", REPO_ROOT / "Pulumi.dev.yaml", run=run, releases=releases)
    before = {
        "placement": ["placement"],
        "capacity": ["placement", "capacity"],
        "karpenter": ["placement", "karpenter"],
    }
    wanted = before.get(stage, [stage])
    results = run_stages(subject, [s for s in STAGES if s.name in wanted])
    return results[-1], "\n".join(terminal_report("dev", subject.config_file, results))


def test_helm_fails_on_a_values_key_the_chart_never_reads(stack_run):
    def add_key(inputs: dict[str, Any]) -> None:
        inputs["values"]["settings"]["interruptionQueu"] = "typo"

    result, report = stage_result(
        broken(stack_run("dev"), "kubernetes:helm.sh/v3:Release", add_key, "karpenter-controller"), "helm"
    )
    assert not result.passed
    assert "release karpenter: values key settings.interruptionQueu is not read by chart karpenter" in report, report


def test_objects_fails_on_a_nodepool_the_crd_refuses(stack_run, rendered_releases):
    def bad_policy(inputs: dict[str, Any]) -> None:
        inputs["spec"]["disruption"]["consolidationPolicy"] = "Sometimes"

    run = broken(stack_run("dev"), NODE_POOL, bad_policy)
    result, report = stage_result(run, "objects", rendered_releases("dev"))
    assert not result.passed
    assert "✗ objects" in report and "consolidationPolicy" in report and "Sometimes" in report, report


def test_provider_schemas_fails_on_a_misspelt_input(stack_run):
    def misspell(inputs: dict[str, Any]) -> None:
        inputs["addonVersoin"] = inputs.pop("addonVersion")

    result, report = stage_result(broken(stack_run("dev"), "aws:eks/addon:Addon", misspell), "provider-schemas")
    assert not result.passed
    assert "addonVersoin" in report, report


def test_placement_fails_when_a_pool_taint_keeps_its_contract_pod_off(stack_run, rendered_releases):
    def taint(inputs: dict[str, Any]) -> None:
        inputs["spec"]["template"]["spec"]["taints"].append({"key": "team", "value": "x", "effect": "NoSchedule"})

    run = broken(stack_run("dev"), NODE_POOL, taint, "gpu-inference")
    result, report = stage_result(run, "placement", rendered_releases("dev"))
    assert not result.passed
    assert "✗ placement" in report, report
    contract = [f.message for f in result.findings if f.subject == "contract inference"]
    assert contract and contract[0].startswith("does not land on pool inference and only there:"), report
    assert "taint team=x:NoSchedule is not tolerated" in contract[0]


def test_karpenter_fails_when_a_pool_may_launch_a_type_its_contract_does_not_list(stack_run, rendered_releases):
    def widen(inputs: dict[str, Any]) -> None:
        requirements = inputs["spec"]["template"]["spec"]["requirements"]
        next(r for r in requirements if r["key"] == "node.kubernetes.io/instance-type")["values"].append("g6e.xlarge")

    run = broken(stack_run("dev"), NODE_POOL, widen, "gpu-inference")
    result, report = stage_result(run, "karpenter", rendered_releases("dev"))
    if result.skipped and "needs Go" in result.skipped:
        pytest.skip(result.skipped)
    assert not result.passed
    assert "pool inference: Karpenter may launch g6e.xlarge, which the contract does not list" in report, report


def test_policy_fails_on_an_endpoint_open_to_the_internet(run_with):
    run = run_with("dev", endpoint={"publicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]})
    result, report = stage_result(run, "policy")
    assert not result.passed
    assert "[eks-public-endpoint-restricted]" in report, report


def test_capacity_fails_on_a_controller_group_too_small(stack_run, rendered_releases):
    def small(inputs: dict[str, Any]) -> None:
        inputs["instanceTypes"] = ["t4g.small"]

    # t4g.small: 2 vCPU but 2 GiB, arm64 like the group's AMI type, so only memory runs short.
    run = broken(stack_run("dev"), "eks:index:ManagedNodeGroup", small)
    result, report = stage_result(run, "capacity", rendered_releases("dev"))
    assert result.stage == "capacity" and not result.passed and "✗ capacity" in report, report
    assert "controller group: add-on aws-ebs-csi-driver: Deployment ebs-csi-controller (× 2)" in report, report
    assert "no node has room" in report, report


def test_a_stage_after_a_failed_one_is_skipped_not_crashed(stack_run):
    result, report = stage_result(stack_run("dev"), "placement")  # no Helm stage ran: nothing to place
    assert result.skipped == "needs every Helm release rendered" and "– placement  skipped" in report


# -- the command: exit codes, one line for what cannot be checked, --json, a stack file anywhere ---------------------


def stack_file(directory, **config: Any) -> Any:
    raw = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text())
    raw["config"].update({f"gpu-eks:{k}": v for k, v in config.items()})
    path = directory / "Pulumi.team.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_a_stack_file_outside_the_repo_passes_with_exit_0(tmp_path, capsys):
    assert cli.main([str(stack_file(tmp_path)), "--stage", "policy", "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"preflight team ({tmp_path / 'Pulumi.team.yaml'})") and "passed: 2 stages" in out
    assert json.loads((tmp_path / "r.json").read_text())["passed"] is True


def test_a_failing_check_exits_1_and_json_has_every_finding(tmp_path, capsys):
    path = stack_file(tmp_path, endpoint={"publicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]})
    assert cli.main([str(path), "--stage", "policy", "--json", str(tmp_path / "r.json")]) == 1
    assert "FAILED: 1 of 2 stages (policy)" in capsys.readouterr().out
    report = json.loads((tmp_path / "r.json").read_text())
    policy = next(s for s in report["stages"] if s["stage"] == "policy")
    assert any("eks-public-endpoint-restricted" in f["message"] for f in policy["findings"])


@pytest.mark.parametrize(
    "content, line",
    [
        ("config:\n  gpu-eks:clusterName: [a\n", "team: Pulumi.team.yaml is not valid YAML"),
        (
            "config:\n  aws:region: us-west-2\n  gpu-eks:observability: {mode: sometimes}\n",
            "team: gpu-eks:observability.mode:",
        ),
    ],
)
def test_bad_config_exits_2_with_one_line(tmp_path, capsys, content, line):
    (tmp_path / "Pulumi.team.yaml").write_text(content)
    assert cli.main([str(tmp_path / "Pulumi.team.yaml"), "--json", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(line), err
    assert json.loads((tmp_path / "r.json").read_text())["error"] == err[-1]


def test_missing_chart_sources_exit_2_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GPU_EKS_UPSTREAM_DIR", str(tmp_path / "nowhere"))
    assert cli.main(["dev", "--stage", "helm"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("dev: ") and "GPU_EKS_UPSTREAM_DIR" in err, err


def test_a_missing_stack_file_exits_2(capsys):
    assert cli.main(["no-such-stack"]) == 2
    assert "no stack config file" in capsys.readouterr().err


def test_objects_fails_on_custom_resources_whose_crd_no_release_installs(stack_run, rendered_releases):
    releases = {name: r for name, r in rendered_releases("dev").items() if name != "karpenter-crd"}
    result, report = stage_result(stack_run("dev"), "objects", releases)
    assert not result.passed
    assert any(
        f.subject == "program" and f.message.endswith("no release of the stack installs its CRD (karpenter-crd)")
        for f in result.findings
    ), report
