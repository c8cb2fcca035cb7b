"""terminationGracePeriod of the GPU NodePools (issue 21, item 3): the GPU domain's own guard.

A GPU node's drain is bounded so a PodDisruptionBudget or a karpenter.sh/do-not-disrupt training pod cannot keep
the node (and `pulumi destroy`) waiting for ever (Karpenter v1.14.1 concepts/nodepools.md, "terminationGracePeriod").
tests/program/test_teardown.py checks the whole program; these fail when the GPU NodePool builder
(components/gpu/pools.py, and the EFA variant of its output) drops the field or writes something other than the
pool's own `gpuNodePools[].terminationGracePeriod`. Expected values are literals.
"""

from __future__ import annotations

from components.gpu.config import GpuNodePoolConfig, SharingConfig
from components.gpu.pools import gpu_node_pool, plan_pool
from tests.support.stacks import parse

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
EFA_LABEL = "vpc.amazonaws.com/efa.present"
ENDPOINT = {"publicAccessCidrs": ["203.0.113.0/24"]}


def grace(manifest):
    return manifest["spec"]["template"]["spec"].get("terminationGracePeriod")


def plan(**fields):
    return plan_pool(
        GpuNodePoolConfig(
            name="training",
            instance_types=("p5.48xlarge",),
            capacity_types=("on-demand",),
            max_gpus=8,
            sharing=SharingConfig("none"),
            **fields,
        )
    )


def test_a_gpu_pool_without_a_bound_gets_five_minutes():
    assert grace(gpu_node_pool(plan())) == "5m"


def test_the_gpu_pool_builder_writes_the_pools_own_bound():
    assert grace(gpu_node_pool(plan(termination_grace_period="3h"))) == "3h"


def test_each_configured_gpu_pool_keeps_its_own_bound_from_config_to_manifest():
    config = parse(
        {
            "gpuNodePools": [
                {"name": "training", "instanceFamilies": ["p5"], "maxGpus": 16, "terminationGracePeriod": "1h10m"},
                {"name": "inference", "instanceFamilies": ["g6"], "maxGpus": 8},
            ],
            "endpoint": ENDPOINT,
        }
    )
    assert {p.name: grace(gpu_node_pool(plan_pool(p))) for p in config.gpu_node_pools} == {
        "training": "1h10m",
        "inference": "5m",
    }


def test_the_program_renders_each_gpu_pools_own_bound_efa_pools_included(run_with):
    # prod pins us-east-1's zones, so an EFA pool gets one without naming it.
    run = run_with(
        "prod",
        gpuNodePools=[
            {"name": "training", "instanceTypes": ["p5.48xlarge"], "maxGpus": 16, "efa": True},
            {
                "name": "finetune",
                "instanceTypes": ["p4d.24xlarge"],
                "maxGpus": 16,
                "efa": True,
                "terminationGracePeriod": "2h",
            },
            {"name": "inference", "instanceFamilies": ["g6"], "maxGpus": 8, "terminationGracePeriod": "20m"},
        ],
        nodePools=[],
    )
    pools = {r.plain_inputs()["metadata"]["name"]: r.plain_inputs() for r in run.by_type(NODE_POOL)}
    # The EFA builder rewrites the template (zone, EFA label): the two EFA pools went through it.
    assert sorted(n for n, p in pools.items() if EFA_LABEL in p["spec"]["template"]["metadata"]["labels"]) == [
        "finetune",
        "training",
    ]
    assert {name: grace(p) for name, p in pools.items()} == {"training": "5m", "finetune": "2h", "inference": "20m"}
