"""The verify tool's verdict: each failure reason from hand-built observations, and the pass that has none."""

from __future__ import annotations

import pytest

from tests.tools.conftest import INFERENCE
from tools.verify.checks import (
    ClaimSeen,
    NodeSeen,
    Observation,
    PodSeen,
    classify_failure,
    fmt_duration,
    parse_duration,
    reasons,
)
from tools.verify.plan import PoolContract, plan_pool

POOL = PoolContract.from_output("inference", INFERENCE)
PLAN = plan_pool(POOL, 8)  # 8 slices: 1..2 nodes


def node(
    name: str, itype: str = "g6.xlarge", advertised: int | None = 4, pool: str = "inference", labels: dict | None = None
) -> NodeSeen:
    return NodeSeen(
        name=name,
        nodepool=pool,
        instance_type=itype,
        capacity_type="spot",
        zone="us-west-2a",
        labels={"gpu-eks/pool": "inference", **(labels or {})},
        advertised=advertised,
        ready=True,
    )


def healthy(**changes) -> Observation:
    """Two g6.xlarge, four pods each, all Running in 3 min, removed 11 min after scaling in."""
    obs = Observation(
        pods=[PodSeen(f"p{i}", "n1" if i < 4 else "n2", "Running") for i in range(8)],
        nodes={"n1": node("n1"), "n2": node("n2")},
        claims={
            c: ClaimSeen(c, "inference", "g6.xlarge", "spot", "us-west-2a", n, True, None)
            for c, n in (("inference-aaaaa", "n1"), ("inference-bbbbb", "n2"))
        },
        first_running=150.0,
        all_running=180.0,
        ready_timeout=1800.0,
        scale_in=660.0,
        scale_in_timeout=1500.0,
    )
    for key, value in changes.items():
        setattr(obs, key, value)
    return obs


def test_a_healthy_run_has_no_reasons():
    assert reasons(PLAN, healthy()) == []


def test_more_nodes_than_the_upper_bound_fail():
    obs = healthy()
    obs.claims["inference-ccccc"] = ClaimSeen(
        "inference-ccccc", "inference", "g6.xlarge", "spot", "us-west-2b", "n3", True, None
    )
    obs.nodes["n3"] = node("n3")
    assert reasons(PLAN, obs) == [
        "too many nodes: 3 for 8 slices, the contract allows at most 2 (does Karpenter "
        "see the NodeOverlay's count, or one slice per GPU?)"
    ]


def test_a_launched_claim_that_never_joined_still_counts_as_a_node():
    obs = healthy()
    obs.claims["inference-ccccc"] = ClaimSeen(
        "inference-ccccc", "inference", "g6.xlarge", "spot", None, None, True, None
    )
    assert obs.counted_nodes() == ["n1", "n2", "nodeclaim/inference-ccccc"]
    assert reasons(PLAN, obs)[0].startswith("too many nodes: 3")


def test_fewer_nodes_than_the_lower_bound_fail():
    """40 slices need at least ceil(40 / 16) = 3 nodes; all on two means nodes hold more than the contract."""
    plan = plan_pool(POOL, 40)
    obs = healthy(
        pods=[PodSeen(f"p{i}", "n1" if i < 20 else "n2", "Running") for i in range(40)],
        nodes={"n1": node("n1", "g6.12xlarge", 16), "n2": node("n2", "g6.12xlarge", 16)},
    )
    assert any(
        r.startswith("too few nodes: 2 for 40 slices, the contract needs at least 3") for r in reasons(plan, obs)
    )


def test_a_pod_on_another_pools_node_fails():
    obs = healthy()
    obs.nodes["n2"] = node("n2", pool="general-gpu")
    found = reasons(PLAN, obs)
    assert found[0].startswith(
        "pods on another pool: p4 on n2 (pool general-gpu); p5 on n2 (pool general-gpu); "
        "p6 on n2 (pool general-gpu) (+1 more)"
    )


def test_a_node_of_the_pool_without_the_selectors_label_counts_as_another_pool():
    obs = healthy()
    obs.nodes["n2"] = NodeSeen("n2", "inference", "g6.xlarge", "spot", "us-west-2a", {}, 4, True)
    assert any(r.startswith("pods on another pool") for r in reasons(PLAN, obs))


def test_a_node_advertising_another_count_fails_with_both_numbers():
    obs = healthy()
    obs.nodes["n2"] = node("n2", advertised=1)
    assert reasons(PLAN, obs) == [
        "advertised count differs from the contract: n2 (g6.xlarge) advertises 1 nvidia.com/gpu, the contract says 4"
    ]


def test_a_node_of_a_type_outside_the_contract_fails():
    obs = healthy()
    obs.nodes["n2"] = node("n2", itype="g4dn.xlarge")
    assert reasons(PLAN, obs) == [
        "advertised count differs from the contract: n2 is a g4dn.xlarge, not one of the contract's instance types"
    ]


def test_not_running_within_the_timeout_fails_with_the_count():
    obs = healthy(all_running=None, pods=[PodSeen(f"p{i}", None, "Pending") for i in range(8)], nodes={}, claims={})
    assert reasons(PLAN, obs) == ["not Ready within 30m00s: 0/8 pods Running"]


def test_insufficient_capacity_and_quota_errors_are_separate_reasons():
    obs = healthy(
        capacity_errors=["NodeClaim inference-a: insufficient capacity"],
        quota_errors=["NodeClaim inference-b: VcpuLimitExceeded"],
    )
    assert reasons(PLAN, obs) == [
        "insufficient capacity: NodeClaim inference-a: insufficient capacity",
        "quota: NodeClaim inference-b: VcpuLimitExceeded",
    ]


def test_nodes_left_after_the_scale_in_timeout_fail():
    obs = healthy(scale_in=None, nodes_left=["n1", "n2"])
    assert reasons(PLAN, obs) == [
        "scale-in: 2 node(s) still there 25m00s after scaling to 0 (n1; n2); check the NodePool's disruption settings"
    ]


def test_an_interrupted_run_says_so_instead_of_timing_out():
    obs = healthy(all_running=None, scale_in=None, interrupted=True, pods=[], nodes={}, claims={})
    assert reasons(PLAN, obs) == ["interrupted (Ctrl-C): the namespace was deleted; Karpenter removes the empty nodes"]


@pytest.mark.parametrize(
    "text, kind",
    [
        (
            "InsufficientCapacityError: NodeClaim inference-x event: creating instance, insufficient capacity",
            "capacity",
        ),
        (
            "LaunchFailed: creating instance, InsufficientInstanceCapacity: We currently do not have sufficient "
            "g6.xlarge capacity",
            "capacity",
        ),
        ("LaunchFailed: creating instance, VcpuLimitExceeded: You have requested more vCPU capacity", "quota"),
        ("LaunchFailed: MaxSpotInstanceCountExceeded: Max spot instance count exceeded", "quota"),
        ("LaunchFailed: creating instance, InvalidParameterValue: bad AMI", "launch"),
    ],
)
def test_launch_failures_are_classified(text, kind):
    assert classify_failure(text) == kind


@pytest.mark.parametrize(
    "text, seconds", [("30s", 30), ("10m", 600), ("1h30m", 5400), ("1.5h", 5400), ("Never", None), (None, None)]
)
def test_karpenter_durations_parse(text, seconds):
    assert parse_duration(text) == seconds


def test_a_bad_duration_is_refused():
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("10 minutes")


@pytest.mark.parametrize("seconds, text", [(None, "—"), (42, "42s"), (75, "1m15s"), (3725, "1h02m")])
def test_durations_print_compactly(seconds, text):
    assert fmt_duration(seconds) == text
