"""terminationGracePeriod of the general-purpose NodePools (issue 21, item 3): the Karpenter domain's own guard.

The bound on every drain of a pool's nodes, so a PodDisruptionBudget or a karpenter.sh/do-not-disrupt pod cannot
keep a node, and with it `pulumi destroy`, waiting for ever (Karpenter v1.14.1 concepts/nodepools.md,
"terminationGracePeriod"). tests/program/test_teardown.py checks the whole program; these fail when the shared
NodePool builder (components/karpenter/manifests.py) drops the field, or when a general pool's own value is lost
between `gpu-eks:nodePools[].terminationGracePeriod` and the rendered NodePool. Expected values are literals.
"""

from __future__ import annotations

from components.karpenter.manifests import general_node_pool, node_pool
from components.karpenter.node_pool_config import DisruptionConfig, NodePoolConfig
from tests.support.stacks import parse

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
ENDPOINT = {"publicAccessCidrs": ["203.0.113.0/24"]}


def grace(manifest):
    return manifest["spec"]["template"]["spec"].get("terminationGracePeriod")


def test_the_shared_node_pool_builder_writes_the_bound_it_is_given():
    manifest = node_pool(
        "p",
        node_class_name="default",
        requirements=[],
        limits={"cpu": "8"},
        disruption=DisruptionConfig(),
        expire_after="720h",
        termination_grace_period="17m",
    )
    assert grace(manifest) == "17m"


def test_a_general_pool_without_a_bound_gets_five_minutes():
    assert grace(general_node_pool(NodePoolConfig(name="web", architectures=("amd64",)), "default")) == "5m"


def test_a_general_pool_builder_writes_the_pools_own_bound():
    pool = NodePoolConfig(name="batch", architectures=("arm64",), termination_grace_period="1h30m")
    assert grace(general_node_pool(pool, "default")) == "1h30m"


def test_each_configured_pool_keeps_its_own_bound_from_config_to_manifest():
    config = parse(
        {
            "nodePools": [{"name": "batch", "terminationGracePeriod": "2h15m"}, {"name": "web"}],
            "gpuNodePools": [],
            "endpoint": ENDPOINT,
        }
    )
    assert {p.name: grace(general_node_pool(p, "default")) for p in config.node_pools} == {
        "batch": "2h15m",
        "web": "5m",
    }


def test_the_program_renders_each_general_pools_own_bound(run_with):
    run = run_with(
        "dev",
        nodePools=[{"name": "batch", "terminationGracePeriod": "45m"}, {"name": "web"}],
        gpuNodePools=[],
    )
    rendered = {r.plain_inputs()["metadata"]["name"]: grace(r.plain_inputs()) for r in run.by_type(NODE_POOL)}
    assert rendered == {"batch": "45m", "web": "5m", "gpu-eks-monitoring": "5m"}  # + Prometheus' pool
