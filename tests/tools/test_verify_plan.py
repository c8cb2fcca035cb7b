"""The verify tool's planning: node bounds, the default slice count, the cost guard and `--plan`, from outputs alone.

Expected values are worked out by hand from the contracts quoted in each test (slicesPerNode, usdPerSliceHour,
maxGpus), never by calling the code under test.
"""

from __future__ import annotations

import io
import json

import pytest

from preflight.model.harness import run_stack
from tests.support.stack_variants import STACK_VARIANTS, StackVariant
from tests.tools.conftest import INFERENCE
from tools.verify import kube as kubemod
from tools.verify.__main__ import EXIT_PASS, EXIT_USAGE, main
from tools.verify.checks import ClaimSeen, Observation, PodSeen, reasons
from tools.verify.plan import (
    ContractError,
    PoolContract,
    cheapest_type,
    default_slices,
    node_bounds,
    plan_pool,
    pools_from_outputs,
)

DEV_INFERENCE_SLICES = {  # dev's inference pool: g5/g6, time-slicing ×4
    **{f"{f}.{s}": 4 for f in ("g5", "g6") for s in ("xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge")},
    **{f"{f}.{s}": 16 for f in ("g5", "g6") for s in ("12xlarge", "24xlarge")},
    **{f"{f}.48xlarge": 32 for f in ("g5", "g6")},
}


def contract(name: str = "inference", **overrides) -> PoolContract:
    return PoolContract.from_output(name, {**INFERENCE, **overrides})


@pytest.fixture(scope="module")
def rendered(stack_run):
    """`rendered("dev")`: the outputs an offline render of a repo stack produces (kubeconfig redacted)."""
    return lambda stack: stack_run(stack).redacted_outputs()


def test_seventeen_slices_on_devs_inference_pool_need_one_to_five_nodes():
    """17 slices: one g5/g6.48xlarge (32 slices) at best, five 1-GPU sizes (4 slices each) at worst."""
    pool = contract(slicesPerNode=DEV_INFERENCE_SLICES, usdPerSliceHour={})
    assert node_bounds(pool, 17) == (1, 5)


def test_bounds_round_up_at_both_ends():
    pool = contract(slicesPerNode=DEV_INFERENCE_SLICES, usdPerSliceHour={})
    assert node_bounds(pool, 32) == (1, 8)
    assert node_bounds(pool, 33) == (2, 9)
    assert node_bounds(pool, 1) == (1, 1)


def test_a_mig_p4d_pool_fills_exactly_two_nodes_by_default():
    """MIG 1g.5gb on p4d.24xlarge: 8 A100 × 7 = 56 slices; the default is two nodes, 112 slices, 16 GPUs."""
    pool = contract(
        "mig-inference",
        strategy="mig",
        resourceName="nvidia.com/mig-1g.5gb",
        slicesPerGpu=7,
        slicesPerNode={"p4d.24xlarge": 56},
        usdPerSliceHour={"p4d.24xlarge": 0.3921},
        maxGpus=16,
        limit={"nvidia.com/mig-1g.5gb": 112},
    )
    plan = plan_pool(pool)
    assert (plan.slices, plan.min_nodes, plan.max_nodes) == (112, 2, 2)
    assert plan.worst_gpus == 16 and plan.budget == 8
    assert "over the cost guard of 8 GPUs" in plan.refusal(yes=False)
    assert plan.refusal(yes=True) is None


def test_a_whole_gpu_p5_pool_defaults_to_two_single_gpu_nodes_and_guards_nine_slices():
    """p5.4xlarge (1 H100, $6.88/h) is far cheaper per node than p5.48xlarge (8 × $6.88 = $55.04/h)."""
    pool = contract(
        "training",
        strategy="none",
        slicesPerGpu=1,
        slicesPerNode={"p5.48xlarge": 8, "p5.4xlarge": 1},
        usdPerSliceHour={"p5.48xlarge": 6.88, "p5.4xlarge": 6.88},
        maxGpus=16,
        limit={"nvidia.com/gpu": 16},
    )
    assert cheapest_type(pool)[0] == "p5.4xlarge"
    assert default_slices(pool) == 2
    assert node_bounds(pool, 2) == (1, 2)
    # 9 slices: nine p5.4xlarge (9 GPUs) or two p5.48xlarge (16 GPUs); the guard counts 16 > 8.
    nine = plan_pool(pool, 9)
    assert (nine.min_nodes, nine.max_nodes, nine.worst_gpus) == (2, 9, 16)
    assert nine.refusal(yes=False) is not None


def test_a_g6e_time_sliced_pool_defaults_to_two_xlarge_nodes():
    """g6e.xlarge: $0.4652 × 4 = $1.86/h, the cheapest node (g6e.2xlarge: $0.5605 × 4 = $2.24/h)."""
    pool = contract(
        slicesPerNode={"g6e.xlarge": 4, "g6e.2xlarge": 4, "g6e.12xlarge": 16, "g6e.48xlarge": 32},
        usdPerSliceHour={"g6e.xlarge": 0.4652, "g6e.2xlarge": 0.5605, "g6e.12xlarge": 0.6558, "g6e.48xlarge": 0.9416},
        maxGpus=32,
    )
    plan = plan_pool(pool)
    assert (plan.cheapest, plan.slices, plan.min_nodes, plan.max_nodes) == ("g6e.xlarge", 8, 1, 2)
    # Worst single-type fill of 8 slices in GPUs: 2 × 1 (xlarge), 1 × 4 (12xlarge), 1 × 8 (48xlarge) → 8.
    assert plan.worst_gpus == 8 and plan.refusal(yes=False) is None


def test_the_default_picks_the_cheapest_node_not_the_cheapest_slice():
    """A big node with cheaper slices ($0.10 × 32 = $3.20/h) loses to a small one ($0.20 × 4 = $0.80/h)."""
    pool = contract(slicesPerNode={"big": 32, "small": 4}, usdPerSliceHour={"big": 0.10, "small": 0.20})
    assert cheapest_type(pool)[0] == "small"
    assert default_slices(pool) == 8


def test_without_prices_the_smallest_node_stands_in():
    pool = contract(
        slicesPerNode={"g6.xlarge": 4, "g6.12xlarge": 16}, usdPerSliceHour={"g6.xlarge": None, "g6.12xlarge": None}
    )
    itype, why = cheapest_type(pool)
    assert itype == "g6.xlarge" and "no prices" in why
    assert default_slices(pool) == 8


def test_more_slices_than_the_pool_limit_are_refused_even_with_yes():
    plan = plan_pool(contract(), 65)  # limit: 64 nvidia.com/gpu
    assert "exceed the pool's limit of 64" in plan.refusal(yes=True)


def test_max_gpus_overrides_the_default_guard_of_eight():
    assert plan_pool(contract(), 8).budget == 8
    assert plan_pool(contract(), 8, max_gpus=2).refusal(yes=False) is not None  # 8 slices may be 1 × 4-GPU node


def test_a_contract_missing_a_key_names_the_pool_and_the_key():
    entry = dict(INFERENCE)
    del entry["slicesPerNode"]
    with pytest.raises(ContractError, match=r"gpuPools\.inference: missing slicesPerNode"):
        pools_from_outputs({"gpuPools": {"inference": entry}})


def test_outputs_without_gpu_pools_are_refused():
    with pytest.raises(ContractError, match="no gpuPools"):
        pools_from_outputs({"clusterName": "x"})


def _plan_output(outputs: dict, tmp_path, *args: str) -> tuple[int, str, str]:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    out, err = io.StringIO(), io.StringIO()
    code = main(["stack", "--plan", "--outputs", str(path), "--namespace", "gpu-eks-verify", *args], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_plan_on_devs_rendered_outputs_prints_one_to_five_nodes_for_seventeen_slices(rendered, tmp_path, monkeypatch):
    # --plan must not need a cluster: any attempt to build a client fails the test.
    monkeypatch.setattr(kubemod, "load_api_client", lambda *a, **k: pytest.fail("--plan touched the cluster"))
    code, out, _ = _plan_output(rendered("dev"), tmp_path, "--slices", "17")

    assert code == EXIT_PASS
    assert "pool inference: time-slicing ×4, requests nvidia.com/gpu: 1 per pod" in out
    assert (
        "nodes expected: between 1 node (an 8-GPU size: g5.48xlarge, g6.48xlarge, 32 slices each) and 5 (1-GPU sizes:"
        in out
    )


def test_plan_on_devs_rendered_outputs_defaults_to_two_of_the_smallest_nodes(rendered, tmp_path):
    """dev runs in us-west-2, where the price data has no prices: the smallest node stands in, fewest slices (4)
    and then the smallest size (xlarge, of g5 and g6: g5 sorts first)."""
    _, out, _ = _plan_output(rendered("dev"), tmp_path)
    assert "slices: 8 (default: two g5.xlarge, the smallest node (4 slices; the outputs carry no prices))" in out


def test_without_prices_the_smallest_size_breaks_a_tie_of_slices():
    pool = contract(
        slicesPerNode={"g6.16xlarge": 4, "g6.xlarge": 4, "g6.2xlarge": 4, "g6.12xlarge": 16}, usdPerSliceHour={}
    )
    assert cheapest_type(pool)[0] == "g6.xlarge"  # by name alone g6.16xlarge would come first


def test_plan_on_prods_rendered_outputs_covers_all_three_pools(rendered, tmp_path):
    code, out, _ = _plan_output(rendered("prod"), tmp_path)

    assert code == EXIT_USAGE  # the MIG pool's default is over the cost guard: refused, exit 2
    assert "pool mig-inference: mig 1g.5gb ×7, requests nvidia.com/mig-1g.5gb: 1 per pod" in out
    assert "nodes expected: exactly 2 (p4d.24xlarge: 56 slices per node)" in out
    assert "cost guard 8 GPUs: OVER (needs --yes)" in out
    assert "pool training: whole GPUs" in out and "slices: 2 (default: two p5.4xlarge" in out
    assert "pool inference: time-slicing ×4" in out and "slices: 8 (default: two g6e.xlarge" in out
    assert "refused: pool mig-inference: 112 slices may launch up to 16 GPUs" in out


def test_a_live_run_over_the_cost_guard_is_refused_before_any_cluster_call(rendered, tmp_path, monkeypatch):
    monkeypatch.setattr(kubemod, "load_api_client", lambda *a, **k: pytest.fail("refused run touched the cluster"))
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(rendered("prod")))
    err = io.StringIO()
    code = main(["prod", "--outputs", str(path), "--pool", "mig-inference"], out=io.StringIO(), err=err)

    assert code == EXIT_USAGE
    assert "refused: pool mig-inference: 112 slices may launch up to 16 GPUs" in err.getvalue()


def test_an_unknown_pool_is_a_usage_error_listing_the_pools(rendered, tmp_path):
    code, _, err = _plan_output(rendered("dev"), tmp_path, "--pool", "training")
    assert code == EXIT_USAGE
    assert "no GPU pool named training in the outputs; pools: inference" in err


def test_without_the_pulumi_cli_the_error_says_to_pass_outputs():
    def missing(*args, **kwargs):
        raise FileNotFoundError("pulumi")

    err = io.StringIO()
    code = main(["dev", "--plan"], out=io.StringIO(), err=err, run_command=missing)
    assert code == EXIT_USAGE
    assert "the pulumi CLI is not installed: pass --outputs FILE" in err.getvalue()


def test_outputs_are_read_from_pulumi_with_secrets_shown():
    calls = []

    class Done:
        returncode, stderr = 0, ""
        stdout = json.dumps({"gpuPools": {"inference": INFERENCE}})

    def pulumi(command, **kwargs):
        calls.append(command)
        return Done()

    code = main(["dev", "--plan"], out=io.StringIO(), err=io.StringIO(), run_command=pulumi)
    assert code == EXIT_PASS
    assert calls == [["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", "dev"]]


def test_nccl_is_reported_unavailable_for_todays_outputs(rendered, tmp_path):
    _, out, _ = _plan_output(rendered("prod"), tmp_path, "--nccl")
    assert "--nccl skipped: no EFA pool (no gpuPools entry in the outputs has `efa`)" in out


# -- defaults that fit the pool, --plan's exit code, warm slices (issue 20 item 3) ---------------------------------

ONE_NODE_POOL = {  # one g6.xlarge (1 L4) at most: limit 1 GPU = 4 slices
    "name": "inference",
    "instanceTypes": ["g6.xlarge"],
    "capacityTypes": ["on-demand"],
    "maxGpus": 1,
    "sharing": {"strategy": "time-slicing", "replicas": 4},
}


ONE_NODE_VARIANT = StackVariant("one-node-pool", "dev", {"gpuNodePools": [ONE_NODE_POOL]})


def test_a_one_node_pools_default_plan_fits_its_limit(run_with, tmp_path):
    """Two g6.xlarge would be 8 slices, over the limit of 4: the default is the 4 the limit allows, one node."""
    outputs = run_with("dev", gpuNodePools=[ONE_NODE_POOL]).redacted_outputs()
    code, out, _ = _plan_output(outputs, tmp_path)
    assert code == EXIT_PASS, out
    assert "slices: 4 (default: what the pool's limit of 4 leaves; two g6.xlarge, " in out
    assert "nodes expected: exactly 1 (g6.xlarge: 4 slices per node)" in out
    assert "refused" not in out


def test_plan_exits_2_when_it_refuses(tmp_path):
    code, out, _ = _plan_output({"gpuPools": {"inference": INFERENCE}}, tmp_path, "--slices", "65")
    assert code == EXIT_USAGE
    assert "refused: pool inference: 65 slices exceed the pool's limit of 64 nvidia.com/gpu" in out


def test_warm_slices_count_towards_the_most_nodes_and_against_the_limit():
    """4 warm slices on g6.xlarge (4 slices) / g6.12xlarge (16): 8 slices take the warm node's 4, Karpenter refills
    4: up to (8 + 4) / 4 = 3 nodes; the fewest stays 8 / 16 -> 1. With a limit of 8, the default is 8 - 4 = 4."""
    warm = {"slices": 4, "capacityBuffer": "karpenter/gpu-eks-warm-inference"}
    pool = contract(warmSlices=warm)
    assert node_bounds(pool, 8) == (1, 3)
    assert node_bounds(contract(), 8) == (1, 2)  # the same pool without warm slices
    assert default_slices(contract(warmSlices=warm, limit={"nvidia.com/gpu": 8})) == 4


def test_a_warm_pool_reporting_its_refilled_nodes_passes_the_node_count():
    """The run's 8 pods on the warm node and one new node, plus one more launched to refill the buffer: 3 nodes, no
    'too many nodes'."""
    plan = plan_pool(contract(warmSlices={"slices": 4}), 8)
    pods = [PodSeen(f"p{i}", ("warm", "new-1")[i // 4], "Running") for i in range(8)]
    claims = {"refill": ClaimSeen("refill", "inference", "g6.xlarge", "on-demand", "a", "new-2", True, None)}
    assert not [r for r in reasons(plan, Observation(pods=pods, claims=claims)) if "nodes" in r]
    unwarmed = plan_pool(contract(), 8)
    assert any(r.startswith("too many nodes: 3") for r in reasons(unwarmed, Observation(pods=pods, claims=claims)))


def test_plan_on_a_warm_pool_says_what_it_counts(run_with, tmp_path):
    pool = {**ONE_NODE_POOL, "instanceTypes": ["g6.xlarge", "g6.12xlarge"], "maxGpus": 8, "warmSlices": 4}
    outputs = run_with("dev", gpuNodePools=[pool]).redacted_outputs()
    code, out, _ = _plan_output(outputs, tmp_path)
    assert code == EXIT_PASS, out
    assert "warm slices: 4 kept free; Karpenter refills them as the pods take them" in out
    assert "nodes expected: between 1 node (a 4-GPU size: g6.12xlarge, 16 slices each) and 3 (" in out


@pytest.mark.parametrize("variant", [*STACK_VARIANTS, ONE_NODE_VARIANT], ids=lambda v: v.name)
def test_every_default_plan_fits_its_pools_limit(variant):
    """Over real renders (repo stack variants and a one-node pool): the default never asks more than the limit
    leaves, so `--plan` without `--slices` is never refused for the limit."""
    outputs = run_stack(variant.base, overrides=variant.overrides).redacted_outputs()
    for pool in pools_from_outputs(outputs).values():
        plan = plan_pool(pool)
        assert plan.slices <= pool.limit_slices, (pool.name, plan.slices, pool.limit_slices)
        assert plan.refusal(yes=True) is None, pool.name
