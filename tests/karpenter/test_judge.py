"""The Karpenter judge (preflight/karpenter/): Karpenter v1.14.1's own scheduler, built from source, decides what it
would launch for every GPU pool of the repo stacks, and deliberately broken inputs fail.

One judge run per stack, every scenario batched into it (the stage does the same). Needs Go >= 1.26.6; .ci/run builds
the judge before the tests, so on CI a missing Go fails here instead of skipping.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from components.gpu import catalog, prices
from components.versions import DEFAULT_KARPENTER_VERSION
from preflight.findings import StageResult
from preflight.karpenter import judge
from preflight.karpenter import verdict as verdict_module
from preflight.karpenter.verdict import Verdict, judge_pool
from preflight.stages import karpenter as stage
from preflight.subject import Subject
from tests.support.stack_variants import STACK_VARIANTS
from tests.support.stacks import REPO_STACKS


def _need_judge() -> None:
    try:
        judge.binary()
    except judge.JudgeUnavailable as unavailable:
        if os.environ.get("CI"):
            pytest.fail(f"CI builds the judge before the tests: {unavailable}")
        pytest.skip(str(unavailable))


@pytest.fixture(scope="module")
def judged(stack_or_variant_run, rendered_releases, placement_model):
    """`judged("dev")`: (verdict, Karpenter's answer, pool plans) of one judge run over every pool's scenarios."""
    _need_judge()
    cache: dict[str, Any] = {}

    def get(name: str):
        if name not in cache:
            cache[name] = verdict_module.judge_stack(
                stack_or_variant_run(name), placement_model(name), rendered_releases(name)
            )
        return cache[name]

    return get


def _scenario(output: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in output["scenarios"] if s["name"] == name)


def _cheapest_fitting(contract: dict[str, Any], region: str, slices: int) -> str:
    """Independent of the judge: the cheapest type of the contract (the project's own price table) holding `slices`.
    Karpenter prices a region its snapshot lacks with us-east-1's numbers (pkg/providers/pricing/pricing.go Reset)."""
    priced = region if prices.covers(region) else "us-east-1"
    fitting = [t for t, n in contract["slicesPerNode"].items() if n >= slices]
    return min(fitting, key=lambda t: prices.on_demand_usd_per_hour(priced, t) or float("inf"))


# -- the repo stacks pass, and Karpenter's choices are the ones the contract and prices imply --------------------------


@pytest.mark.parametrize("stack", REPO_STACKS)
def test_repo_stack_passes_the_judge(judged, stack_or_variant_run, stack):
    verdict, output, plans = judged(stack)
    assert [f.line() for f in verdict.findings] == []
    assert verdict.disagreements == []
    assert output["karpenterVersion"] == output["providerVersion"] == f"v{DEFAULT_KARPENTER_VERSION}"
    run = stack_or_variant_run(stack)
    region = run.outputs["region"]
    contracts = run.outputs["gpuPools"]
    assert {p.pool for p in plans} == set(contracts)
    for pool, contract in contracts.items():
        per_node = max(contract["slicesPerNode"].values())
        one = _scenario(output, f"{pool}: 1 slice")
        full = _scenario(output, f"{pool}: {per_node} slices (one node)")
        over = _scenario(output, f"{pool}: {per_node + 1} slices (one node + 1)")
        # One slice: one node of the cheapest type; one node's worth: one node that holds them all, the cheapest such.
        assert [c["launch"]["instanceType"] for c in one["nodeClaims"]] == [_cheapest_fitting(contract, region, 1)]
        assert [c["launch"]["instanceType"] for c in full["nodeClaims"]] == [
            _cheapest_fitting(contract, region, per_node)
        ]
        # One more than a node holds needs a second node, which the pool's limit may not leave room for: then
        # Karpenter launches the one node and leaves the extra pod pending (its NodePool limit), as it should.
        limit = contract["limit"][contract["resourceName"]]
        if per_node + min(contract["slicesPerNode"].values()) <= limit:
            assert len(over["nodeClaims"]) == 2 and not over["unschedulable"]
        else:
            assert len(over["nodeClaims"]) == 1 and len(over["unschedulable"]) == 1, over
        wanted = "spot" if "spot" in contract["capacityTypes"] else contract["capacityTypes"][-1]
        assert {c["launch"]["capacityType"] for s in (one, full, over) for c in s["nodeClaims"]} == {wanted}
        assert all(c["pool"] == pool for s in (one, full, over) for c in s["nodeClaims"])


@pytest.mark.parametrize("variant", [v.name for v in STACK_VARIANTS])
def test_every_variant_passes_and_karpenter_agrees_with_the_model(preflight_of, variant):
    """Every test shape (MIG, MPS, EFA, warm slices, team taints, Tokyo, ...), from the suite's own preflight run:
    no finding at all (advisory included) and no disagreement with the placement model."""
    _need_judge()
    result = next(r for r in preflight_of(variant) if r.stage == "karpenter")
    assert result.skipped is None
    assert [f.line() for f in result.findings] == []
    assert result.counts["disagreements with the model"] == 0


def test_karpenter_counts_the_contracts_slices_per_node(judged, stack_or_variant_run):
    """Karpenter's capacity after the NodeOverlays is the contract's slicesPerNode for every type of every prod pool."""
    _, output, _ = judged("prod")
    for pool, contract in stack_or_variant_run("prod").outputs["gpuPools"].items():
        counted = {
            t: v["capacity"].get(contract["resourceName"]) for t, v in output["pools"][pool]["instanceTypes"].items()
        }
        assert counted == contract["slicesPerNode"], pool
    assert all(o["ready"] for o in output["overlays"].values()), output["overlays"]


# -- broken inputs fail --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def broken_dev(stack_or_variant_run, rendered_releases, placement_model):
    """One judge run over a dev render broken three ways: the inference pool's NodePool also allows g6e.xlarge (not in
    the contract), its 1-GPU overlay says 8 slices (the contract and the model say 4), and a pod asks for 33 slices."""
    _need_judge()
    run, model, releases = stack_or_variant_run("dev"), placement_model("dev"), rendered_releases("dev")
    plan = next(p for p in judge.pool_plans(run) if p.pool == "inference")
    scenarios = judge.scenarios_for(plan)
    too_big = copy.deepcopy(plan.slice_pod)
    too_big["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = 33
    scenarios.append(judge.replicated("inference: one pod of 33 slices", "inference", "1", too_big, 1))
    data = judge.judge_input(run, verdict_module.daemonsets(model), releases, scenarios)
    pool = next(p for p in data["nodePools"] if p["metadata"]["name"] == "inference")
    types = next(
        r for r in pool["spec"]["template"]["spec"]["requirements"] if r["key"] == "node.kubernetes.io/instance-type"
    )
    types["values"].append("g6e.xlarge")
    overlay = next(o for o in data["nodeOverlays"] if o["metadata"]["name"] == "inference-1gpu")
    overlay["spec"]["capacity"]["nvidia.com/gpu"] = "8"
    output = judge.run_judge(data)
    verdict = Verdict()
    judge_pool(verdict, plan, model, output, scenarios)
    return verdict, output


def test_a_pod_larger_than_any_node_is_unschedulable_with_karpenters_reason(broken_dev):
    verdict, output = broken_dev
    stuck = _scenario(output, "inference: one pod of 33 slices")
    assert stuck["nodeClaims"] in (None, [])
    (reason,) = stuck["unschedulable"].values()
    # Karpenter's own words (sigs.k8s.io/karpenter scheduling: no instance type has the resources).
    assert "no instance type" in reason and "nvidia.com/gpu" in reason, reason
    assert any("unschedulable" in f.message and "no instance type" in f.message for f in verdict.findings)


def test_a_pool_allowing_a_type_outside_the_contract_fails(broken_dev):
    verdict, output = broken_dev
    assert "g6e.xlarge" in output["pools"]["inference"]["instanceTypes"]
    lines = [f.line() for f in verdict.findings if f.severity == "mandatory"]
    assert "pool inference: Karpenter may launch g6e.xlarge, which the contract does not list" in lines
    # Every NodeClaim of the pool may now become the foreign type, and the verdict says so.
    one = _scenario(output, "inference: 1 slice")
    assert "g6e.xlarge" in one["nodeClaims"][0]["instanceTypes"]
    assert any("allows" in line and "g6e.xlarge" in line for line in lines)


def test_an_overlay_disagreeing_with_the_contract_and_the_model_fails(broken_dev):
    verdict, output = broken_dev
    assert output["pools"]["inference"]["instanceTypes"]["g6.xlarge"]["capacity"]["nvidia.com/gpu"] == 8
    lines = [f.line() for f in verdict.findings if f.severity == "mandatory"]
    assert "pool inference: Karpenter counts nvidia.com/gpu=8 per g6.xlarge node, the contract promises 4" in lines
    assert "pool inference: nvidia.com/gpu per g6.xlarge node: the Python model says 4, Karpenter says 8" in lines
    assert {
        (d.model, d.karpenter) for d in verdict.disagreements if d.question == "nvidia.com/gpu per g6.xlarge node"
    } == {("4", "8")}


# -- plumbing ------------------------------------------------------------------------------------------------------


def test_go_module_pins_the_karpenter_version():
    go_mod = (judge.GO_DIR / "go.mod").read_text()
    required = dict(re.findall(r"^\t(\S+) (v\S+)$", go_mod, re.M))
    assert required["sigs.k8s.io/karpenter"] == f"v{DEFAULT_KARPENTER_VERSION}"
    assert required["github.com/aws/karpenter-provider-aws"] == f"v{DEFAULT_KARPENTER_VERSION}"


def test_instance_data_matches_the_gpu_catalog():
    """Every catalog type is in the judge's data with the catalog's vCPUs, memory, GPUs, architecture, EFA and NVMe."""
    data = {i["InstanceType"]: i for i in json.loads(judge.INSTANCE_TYPES.read_text())["InstanceTypes"]}
    for name, entry in catalog.INSTANCE_TYPES.items():
        info = data[name]
        assert info["VCpuInfo"]["DefaultVCpus"] == entry.vcpus, name
        assert info["MemoryInfo"]["SizeInMiB"] == entry.memory_mib, name
        gpu = info["GpuInfo"]["Gpus"][0]
        assert (gpu["Name"].lower(), gpu["Count"], gpu["MemoryInfo"]["SizeInMiB"]) == (
            entry.gpu_model.name,
            entry.gpus,
            entry.gpu_model.memory_mib,
        ), name
        arch = {"amd64": "x86_64", "arm64": "arm64"}[entry.architecture]
        assert info["ProcessorInfo"]["SupportedArchitectures"] == [arch], name
        assert info["NetworkInfo"].get("EfaInfo", {}).get("MaximumEfaInterfaces", 0) == catalog.efa_interfaces(entry)
        assert (info.get("InstanceStorageInfo") or {}).get("TotalSizeInGB") == catalog.local_nvme_gb(name), name


def test_without_go_the_stage_says_what_it_needs(
    monkeypatch, tmp_path, stack_or_variant_run, placement_model, rendered_releases
):
    monkeypatch.setattr(judge, "CACHE_DIR", tmp_path)  # no cached binary
    monkeypatch.setattr(judge.shutil, "which", lambda name: None)
    subject = Subject("dev", tmp_path / "Pulumi.dev.yaml")
    subject.run, subject.model, subject.releases = (
        stack_or_variant_run("dev"),
        placement_model("dev"),
        rendered_releases("dev"),
    )
    result = StageResult("karpenter", stage.TITLE)
    stage.check(subject, result)
    assert result.skipped is not None and "needs Go >= 1.26.6" in result.skipped
    assert "\n" not in result.skipped and not result.passed


def test_a_pod_launched_in_another_pool_fails(stack_or_variant_run, placement_model):
    """The verdict on an answer where Karpenter put the pool's slice on a node of another pool (the judge's answer
    shape; no run needed to prove the rule)."""
    run = stack_or_variant_run("dev")
    plan = next(p for p in judge.pool_plans(run) if p.pool == "inference")
    scenarios = judge.scenarios_for(plan)[:1]
    pools = {
        "inference": {
            "instanceTypes": {t: {"capacity": {"nvidia.com/gpu": n}} for t, n in plan.contract["slicesPerNode"].items()}
        }
    }
    claim = {
        "pool": "general-amd64",
        "instanceTypes": ["m7i.large"],
        "launch": {"instanceType": "m7i.large"},
        "pods": ["p"],
    }
    output = {"pools": pools, "scenarios": [{"name": scenarios[0].name, "nodeClaims": [claim], "unschedulable": {}}]}
    verdict = Verdict()
    judge_pool(verdict, plan, placement_model("dev"), output, scenarios)
    lines = [f.line() for f in verdict.findings]
    assert "pool inference: inference: 1 slice: Karpenter launches 1 pod(s) in pool general-amd64" in lines
    assert (
        "pool inference: inference: 1 slice: the NodeClaim allows ['m7i.large'], which the contract does not list"
        in lines
    )


def test_verify_plan_names_the_nodes_karpenter_launches(
    monkeypatch, tmp_path, stack_or_variant_run, placement_model, rendered_releases
):
    """`tools.verify dev --plan --slices 17`: one node of the cheapest type holding 17 slices (the project's price
    table, us-east-1's as Karpenter falls back to), with its $/h, instead of the contract's 1-to-5 range."""
    import io

    from preflight.karpenter import plans
    from tools.verify.__main__ import main

    _need_judge()
    context = plans.StackContext(stack_or_variant_run("dev"), rendered_releases("dev"), placement_model("dev"))
    monkeypatch.setattr(plans, "stack_context", lambda *a, **k: context)
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(stack_or_variant_run("dev").redacted_outputs()))
    out = io.StringIO()
    assert main(["dev", "--plan", "--outputs", str(path), "--slices", "17"], out=out, err=io.StringIO()) == 0
    contract = stack_or_variant_run("dev").outputs["gpuPools"]["inference"]
    node = _cheapest_fitting(contract, "us-east-1", 17)
    price = prices.on_demand_usd_per_hour("us-east-1", node)
    assert f"  nodes Karpenter launches: 1x {node} (spot), ${price:.2f}/h at Karpenter's prices" in out.getvalue()
    assert "nodes expected: between" not in out.getvalue()


def test_the_judges_prices_are_the_projects_pricing_snapshot():
    """The judge prices with the pricing file compiled into the pinned provider module: byte for byte the file
    components/gpu/prices_data.py was generated from (its sha256 is recorded there)."""
    import hashlib
    import subprocess

    from components.gpu import prices_data

    _need_judge()
    modcache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    module = Path(modcache) / f"github.com/aws/karpenter-provider-aws@v{DEFAULT_KARPENTER_VERSION}"
    for name, sha in prices_data.SOURCE_SHA256.items():
        text = (module / prices_data.SOURCE_PATH / name).read_text()
        assert hashlib.sha256(text.encode()).hexdigest() == sha, name
