"""Teardown (issue 9, item 7): every NodePool bounds its drains, so `pulumi destroy` cannot hang on a PDB.

Deleting a NodePool deletes its NodeClaims; each waits for its node's drain, which a PodDisruptionBudget or a
karpenter.sh/do-not-disrupt pod can block for ever unless the NodePool sets terminationGracePeriod.
pulumi-kubernetes deletes with foreground propagation and waits at most 10 minutes, then fails the destroy.
"""

from __future__ import annotations

import re

import pytest

from components.gpu.pools import gpu_node_pool, plan_pool
from tests.support.stacks import config_error, karpenter_manifests, parse

ENDPOINT = {"publicAccessCidrs": ["203.0.113.0/24"]}
GPU = {"name": "training", "instanceFamilies": ["p5"], "maxGpus": 16}
# pulumi-kubernetes' default delete timeout (await logic), from its docs and issue pulumi-kubernetes#746.
PULUMI_KUBERNETES_DELETE_WAIT_SECONDS = 600


def seconds(duration: str) -> int:
    """Seconds of a Karpenter duration such as 1h30m (the CRD pattern ^([0-9]+(s|m|h))+$)."""
    units = {"s": 1, "m": 60, "h": 3600}
    return sum(int(n) * units[u] for n, u in re.findall(r"([0-9]+)(s|m|h)", duration))


def nodepools(run):
    return {m["metadata"]["name"]: m for m in karpenter_manifests(run) if m["kind"] == "NodePool"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_rendered_nodepool_bounds_its_drain(stack_run, stack):
    pools = nodepools(stack_run(stack))
    assert pools
    assert {name: p["spec"]["template"]["spec"].get("terminationGracePeriod") for name, p in pools.items()} == {
        name: "5m" for name in pools
    }


def test_default_bound_leaves_time_for_instance_termination_within_pulumis_delete_wait():
    (pool,) = parse({"gpuNodePools": [GPU], "endpoint": ENDPOINT}).gpu_node_pools
    # Drain bound plus at least 5 minutes for EC2 to terminate a large GPU instance.
    assert seconds(pool.termination_grace_period) + 300 <= PULUMI_KUBERNETES_DELETE_WAIT_SECONDS


def test_termination_grace_period_is_configurable_per_pool(run_with):
    run = run_with(
        "dev",
        nodePools=[{"name": "batch", "terminationGracePeriod": "30m"}, {"name": "web"}],
        gpuNodePools=[{**GPU, "terminationGracePeriod": "1h30m"}],
    )
    grace = {name: p["spec"]["template"]["spec"]["terminationGracePeriod"] for name, p in nodepools(run).items()}
    # gpu-eks-monitoring: in-cluster Prometheus' pool, with the default bound.
    assert grace == {"batch": "30m", "web": "5m", "training": "1h30m", "gpu-eks-monitoring": "5m"}


def test_configured_grace_periods_conform_to_the_crd(run_with, crd_validator):
    run = run_with(
        "dev",
        nodePools=[{"name": "batch", "terminationGracePeriod": "24h"}],
        gpuNodePools=[{**GPU, "terminationGracePeriod": "1h30m15s"}],
    )
    for manifest in nodepools(run).values():
        assert crd_validator.validate(manifest) == [], manifest["metadata"]["name"]


def test_the_crd_rejects_what_the_parser_rejects(crd_validator, stack_run):
    # Never is valid for expireAfter but not here: the CRD pattern has no Never.
    manifest = nodepools(stack_run("dev"))["inference"]
    manifest["spec"]["template"]["spec"]["terminationGracePeriod"] = "Never"
    assert crd_validator.validate(manifest) != []


@pytest.mark.parametrize("value", ["Never", "5 minutes", "1d", "", 300, ["5m"], {"m": 5}, True, None])
@pytest.mark.parametrize("list_key, pool", [("nodePools", {"name": "p"}), ("gpuNodePools", dict(GPU))])
def test_unbounded_or_malformed_grace_period_is_rejected(list_key, pool, value):
    error = config_error({list_key: [{**pool, "terminationGracePeriod": value}], "endpoint": ENDPOINT})
    assert error.key == f"{list_key}[0] ({pool['name']}).terminationGracePeriod"
    assert "5m" in error.allowed


def test_gpu_node_pool_builder_writes_the_pools_bound():
    (pool,) = parse({"gpuNodePools": [{**GPU, "terminationGracePeriod": "45m"}], "endpoint": ENDPOINT}).gpu_node_pools
    assert gpu_node_pool(plan_pool(pool))["spec"]["template"]["spec"]["terminationGracePeriod"] == "45m"
