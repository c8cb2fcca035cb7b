"""One bad value per config key not covered elsewhere: each is rejected naming exactly that key."""

from __future__ import annotations

import pytest

from tests.support.stacks import config_error

# maxGpus 8: g6 includes the 8-GPU g6.48xlarge, and a smaller limit is itself an error.
GPU = {"name": "g", "instanceFamilies": ["g6"], "maxGpus": 8}

BAD_VALUES = [
    ({"controllerNodeGroup": {"diskSize": 10}}, "controllerNodeGroup.diskSize"),
    ({"controllerNodeGroup": {"instanceTypes": ["large"]}}, "controllerNodeGroup.instanceTypes[0]"),
    ({"tags": {"team": ["a", "b"]}}, "tags.team"),
    ({"karpenter": {"logLevel": "verbose"}}, "karpenter.logLevel"),
    ({"karpenter": {"createSpotServiceLinkedRole": "sometimes"}}, "karpenter.createSpotServiceLinkedRole"),
    ({"karpenter": {"version": "v1.14.1"}}, "karpenter.version"),
    ({"nodePools": [{"name": "p", "instanceCategories": ["g"]}]}, "nodePools[0] (p).instanceCategories[0]"),
    ({"nodePools": [{"name": "p", "cpus": [0]}]}, "nodePools[0] (p).cpus[0]"),
    ({"nodePools": [{"name": "p", "minGeneration": 0}]}, "nodePools[0] (p).minGeneration"),
    ({"nodePools": [{"name": "p", "weight": 101}]}, "nodePools[0] (p).weight"),
    (
        {"nodePools": [{"name": "p", "disruption": {"consolidateAfter": "5 minutes"}}]},
        "nodePools[0] (p).disruption.consolidateAfter",
    ),
    (
        {"nodePools": [{"name": "p", "disruption": {"budgets": [{"nodes": "150%"}]}}]},
        "nodePools[0] (p).disruption.budgets[0].nodes",
    ),
    (
        {"nodePools": [{"name": "p", "disruption": {"budgets": [{"nodes": "1", "reasons": ["Expired"]}]}}]},
        "nodePools[0] (p).disruption.budgets[0].reasons[0]",
    ),
    ({"nodePools": [{"architectures": ["amd64"]}]}, "nodePools[0].name"),
    ({"gpuNodePools": [{**GPU, "rootVolumeGib": 20}]}, "gpuNodePools[0] (g).rootVolumeGib"),
    ({"gpuNodePools": [{**GPU, "weight": 0}]}, "gpuNodePools[0] (g).weight"),
    ({"gpuNodePools": [{**GPU, "expireAfter": "1 month"}]}, "gpuNodePools[0] (g).expireAfter"),
    ({"gpuNodePools": [{**GPU, "capacityTypes": ["dedicated"]}]}, "gpuNodePools[0] (g).capacityTypes[0]"),
    ({"gpuNodePools": [{**GPU, "gpuNames": ["rtx4090"]}]}, "gpuNodePools[0] (g).gpuNames[0]"),
    (
        {"gpuNodePools": [{**GPU, "disruption": {"consolidationPolicy": "Never"}}]},
        "gpuNodePools[0] (g).disruption.consolidationPolicy",
    ),
    ({"gpuNodePools": [{**GPU, "name": "GPU pool"}]}, "gpuNodePools[0].name"),
    ({"gpuNodePools": {"name": "not-a-list"}}, "gpuNodePools"),
]


@pytest.mark.parametrize("raw, key", BAD_VALUES, ids=[key for _, key in BAD_VALUES])
def test_bad_value_is_rejected_naming_the_key(raw, key):
    error = config_error(raw)
    assert error.key == key
    assert error.allowed  # every error says what is allowed
