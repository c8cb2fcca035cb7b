"""GPU pool config: selection resolution and every validation rule, each naming the pool and key."""

from __future__ import annotations

import pytest

from tests.support.stacks import config_error, parse


def gpu_pool(**fields):
    return {"name": "pool", "instanceFamilies": ["g5"], "maxGpus": 8, **fields}


def parse_pools(*pools, **raw):
    """Parse GPU pools in a stack that has made its endpoint decision (test_config_endpoint.py covers that)."""
    return parse({"gpuNodePools": list(pools), "endpoint": {"publicAccessCidrs": ["203.0.113.0/24"]}, **raw})


def pools_error(*pools, **raw):
    return config_error({"gpuNodePools": list(pools), **raw})


# -- selection --------------------------------------------------------------------------------------------------


def test_families_resolve_to_every_catalog_size():
    (pool,) = parse_pools(gpu_pool(instanceFamilies=["g6"])).gpu_node_pools
    assert set(pool.instance_types) == {
        "g6.xlarge",
        "g6.2xlarge",
        "g6.4xlarge",
        "g6.8xlarge",
        "g6.12xlarge",
        "g6.16xlarge",
        "g6.24xlarge",
        "g6.48xlarge",
    }


def test_gpu_names_narrow_a_selection():
    (pool,) = parse_pools(gpu_pool(instanceFamilies=["p5", "p5e"], gpuNames=["h200"])).gpu_node_pools
    assert pool.instance_types == ("p5e.48xlarge",)


def test_defaults_are_on_demand_whole_gpus_consolidated_when_empty():
    (pool,) = parse_pools(gpu_pool()).gpu_node_pools
    assert pool.capacity_types == ("on-demand",)
    assert pool.sharing.strategy == "none"
    assert (pool.disruption.consolidation_policy, pool.disruption.consolidate_after) == ("WhenEmpty", "10m")


def test_unknown_family_is_rejected():
    error = pools_error(gpu_pool(instanceFamilies=["g5", "g9"]))
    assert error.key == "gpuNodePools[0] (pool).instanceFamilies[1]"
    assert "g9" in error.problem


def test_unknown_instance_type_is_rejected():
    assert (
        pools_error(gpu_pool(instanceFamilies=[], instanceTypes=["g5.huge"])).key
        == "gpuNodePools[0] (pool).instanceTypes[0]"
    )


def test_selection_that_matches_nothing_is_rejected():
    error = pools_error(gpu_pool(instanceFamilies=["g5"], gpuNames=["h100"]))
    assert error.key == "gpuNodePools[0] (pool).gpuNames"


def test_pool_without_any_selection_is_rejected():
    assert pools_error(gpu_pool(instanceFamilies=[])).key == "gpuNodePools[0] (pool).instanceFamilies"


def test_missing_max_gpus_is_rejected():
    pool = gpu_pool()
    del pool["maxGpus"]
    assert pools_error(pool).key == "gpuNodePools[0] (pool).maxGpus"


@pytest.mark.parametrize("value", [0, -8])
def test_non_positive_max_gpus_is_rejected(value):
    assert pools_error(gpu_pool(maxGpus=value)).key == "gpuNodePools[0] (pool).maxGpus"


def test_duplicate_gpu_pool_names_are_rejected():
    assert pools_error(gpu_pool(), gpu_pool()).key == "gpuNodePools[1] (pool).name"


def test_gpu_pool_named_like_a_general_pool_is_rejected():
    error = pools_error(gpu_pool(name="general-amd64"))
    assert error.key == "gpuNodePools[0] (general-amd64).name"
    assert "nodePools" in error.problem


def test_unknown_gpu_pool_key_is_rejected():
    assert pools_error(gpu_pool(maxGPUs=8)).key == "gpuNodePools[0] (pool).maxGPUs"


def test_unknown_sharing_key_is_rejected():
    assert (
        pools_error(gpu_pool(sharing={"strategy": "time-slicing", "replica": 4})).key
        == "gpuNodePools[0] (pool).sharing.replica"
    )


# -- sharing ----------------------------------------------------------------------------------------------------


def test_mig_pool_on_a10g_is_rejected():
    error = pools_error(gpu_pool(instanceFamilies=["g5"], sharing={"strategy": "mig", "profile": "1g.5gb"}))
    assert error.key == "gpuNodePools[0] (pool).sharing.strategy"
    assert "a10g" in error.problem


def test_mig_profile_missing_on_the_gpu_model_is_rejected():
    # 1g.5gb is an A100-40GB profile; p5's H100-80GB has 1g.10gb.
    error = pools_error(gpu_pool(instanceFamilies=["p5"], sharing={"strategy": "mig", "profile": "1g.5gb"}))
    assert error.key == "gpuNodePools[0] (pool).sharing.profile"
    assert "1g.10gb" in error.allowed


def test_mig_pool_spanning_two_gpu_models_is_rejected():
    error = pools_error(gpu_pool(instanceFamilies=["p4d", "p4de"], sharing={"strategy": "mig", "profile": "1g.10gb"}))
    assert error.key == "gpuNodePools[0] (pool).sharing.strategy"
    assert "one GPU model" in error.problem


def test_mig_pool_without_profile_is_rejected():
    assert (
        pools_error(gpu_pool(instanceFamilies=["p4d"], sharing={"strategy": "mig"})).key
        == "gpuNodePools[0] (pool).sharing.profile"
    )


def test_mig_profile_with_media_extensions_is_accepted():
    (pool,) = parse_pools(
        gpu_pool(instanceFamilies=["p4d"], sharing={"strategy": "mig", "profile": "1g.5gb+me"})
    ).gpu_node_pools
    assert pool.sharing.profile == "1g.5gb+me"


@pytest.mark.parametrize("replicas", [0, 1])
def test_time_slicing_with_fewer_than_two_replicas_is_rejected(replicas):
    assert (
        pools_error(gpu_pool(sharing={"strategy": "time-slicing", "replicas": replicas})).key
        == "gpuNodePools[0] (pool).sharing.replicas"
    )


def test_time_slicing_without_replicas_is_rejected():
    assert pools_error(gpu_pool(sharing={"strategy": "time-slicing"})).key == "gpuNodePools[0] (pool).sharing.replicas"


def test_mps_beyond_the_device_plugin_limit_is_rejected():
    error = pools_error(gpu_pool(sharing={"strategy": "mps", "replicas": 49}))
    assert error.key == "gpuNodePools[0] (pool).sharing.replicas"
    assert "48" in error.allowed


def test_mps_at_the_limit_is_accepted():
    (pool,) = parse_pools(gpu_pool(sharing={"strategy": "mps", "replicas": 48})).gpu_node_pools
    assert pool.sharing.replicas == 48


def test_mps_combined_with_a_mig_profile_is_rejected():
    error = pools_error(
        gpu_pool(instanceFamilies=["p4d"], sharing={"strategy": "mps", "replicas": 4, "profile": "1g.5gb"})
    )
    assert error.key == "gpuNodePools[0] (pool).sharing.profile"


def test_replicas_on_a_whole_gpu_pool_are_rejected():
    assert (
        pools_error(gpu_pool(sharing={"strategy": "none", "replicas": 4})).key
        == "gpuNodePools[0] (pool).sharing.replicas"
    )


def test_unknown_strategy_is_rejected():
    assert pools_error(gpu_pool(sharing={"strategy": "vgpu"})).key == "gpuNodePools[0] (pool).sharing.strategy"


def test_sharing_without_the_node_overlay_gate_is_rejected():
    error = pools_error(
        gpu_pool(sharing={"strategy": "time-slicing", "replicas": 4}),
        karpenter={"featureGates": {"nodeOverlay": False}},
    )
    assert error.key == "gpuNodePools[0] (pool).sharing.strategy"
    assert "nodeOverlay" in error.allowed


def test_sharing_on_a_karpenter_without_node_overlay_is_rejected():
    error = pools_error(
        gpu_pool(sharing={"strategy": "mps", "replicas": 4}),
        kubernetesVersion="1.33",
        karpenter={"version": "1.6.0", "featureGates": {}},
    )
    assert error.key == "gpuNodePools[0] (pool).sharing.strategy"


def test_whole_gpu_pool_needs_no_node_overlay():
    config = parse_pools(gpu_pool(), karpenter={"featureGates": {"nodeOverlay": False}})
    assert config.gpu_node_pools[0].sharing.strategy == "none"
