"""Config traps a new user hit (issue 9): wrong types, merged feature gates, dead instance types, naming, sizes.

Every wrong type for every key must end in the usual one-line ConfigError naming that key, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.karpenter import chart
from tests.support.config_types import ENDPOINT, GPU, MIG, SLICED, assert_rejects_wrong_type, wrong_type_cases
from tests.support.stacks import config_error, parse
from tests.support.upstream import upstream_dir

BYO_VPC = {"vpcId": "vpc-0abc12345", "privateSubnetIds": ["subnet-0aaa1111", "subnet-0bbb2222"]}
BUDGET = {"nodes": "1", "schedule": "@daily", "duration": "1h"}

# (where the key lives: base config and path, error key prefix, the types it accepts); GPU pool keys are in
# tests/gpu/test_config_traps.py.
KEYS: list[tuple[dict[str, Any], tuple, str, set[str]]] = [
    ({}, ("clusterName",), "clusterName", {"str"}),
    ({}, ("kubernetesVersion",), "kubernetesVersion", {"str", "float"}),
    ({}, ("network",), "network", {"map"}),
    ({}, ("network", "cidr"), "network.cidr", {"str"}),
    ({}, ("network", "availabilityZones"), "network.availabilityZones", {"int"}),
    ({}, ("network", "natGateways"), "network.natGateways", {"str"}),
    ({"network": BYO_VPC}, ("network", "vpcId"), "network.vpcId", {"str"}),
    ({"network": BYO_VPC}, ("network", "privateSubnetIds"), "network.privateSubnetIds", {"list"}),
    ({"network": BYO_VPC}, ("network", "publicSubnetIds"), "network.publicSubnetIds", {"list"}),
    ({}, ("endpoint",), "endpoint", {"map"}),
    ({}, ("endpoint", "publicAccess"), "endpoint.publicAccess", {"bool"}),
    ({}, ("endpoint", "publicAccessCidrs"), "endpoint.publicAccessCidrs", {"list"}),
    ({}, ("clusterAdmins",), "clusterAdmins", {"list"}),
    ({}, ("clusterLogTypes",), "clusterLogTypes", {"list"}),
    ({}, ("controllerNodeGroup",), "controllerNodeGroup", {"map"}),
    ({}, ("controllerNodeGroup", "instanceTypes"), "controllerNodeGroup.instanceTypes", {"list"}),
    ({}, ("controllerNodeGroup", "minSize"), "controllerNodeGroup.minSize", {"int"}),
    ({}, ("controllerNodeGroup", "desiredSize"), "controllerNodeGroup.desiredSize", {"int"}),
    ({}, ("controllerNodeGroup", "maxSize"), "controllerNodeGroup.maxSize", {"int"}),
    ({}, ("controllerNodeGroup", "diskSize"), "controllerNodeGroup.diskSize", {"int"}),
    ({}, ("tags",), "tags", {"map"}),
    ({}, ("tags", "team"), "tags.team", {"str", "int", "float"}),
    ({}, ("karpenter",), "karpenter", {"map"}),
    ({}, ("karpenter", "version"), "karpenter.version", {"str"}),
    ({}, ("karpenter", "identity"), "karpenter.identity", {"str"}),
    ({}, ("karpenter", "featureGates"), "karpenter.featureGates", {"map"}),
    ({}, ("karpenter", "featureGates", "nodeRepair"), "karpenter.featureGates.nodeRepair", {"bool"}),
    ({}, ("karpenter", "createSpotServiceLinkedRole"), "karpenter.createSpotServiceLinkedRole", {"bool"}),
    ({}, ("karpenter", "logLevel"), "karpenter.logLevel", {"str"}),
    ({}, ("nodePools",), "nodePools", {"list"}),
    ({}, ("gpuNodePools",), "gpuNodePools", {"list"}),
    ({}, ("nodeImage",), "nodeImage", {"str"}),
]
NODE_POOL_FIELDS = {
    "name": {"str"},
    "architectures": {"list"},
    "instanceCategories": {"list"},
    "cpus": {"list"},
    "minGeneration": {"int"},
    "capacityTypes": {"list"},
    "maxCpu": {"int"},
    "maxMemoryGib": {"int"},
    "disruption": {"map"},
    "expireAfter": {"str"},
    "terminationGracePeriod": {"str"},
    "weight": {"int"},
}
for field, kinds in NODE_POOL_FIELDS.items():
    prefix = "nodePools[0]" if field == "name" else "nodePools[0] (p)"
    KEYS.append(({"nodePools": [{"name": "p"}]}, ("nodePools", 0, field), f"{prefix}.{field}", kinds))
for field, kinds in {"consolidationPolicy": {"str"}, "consolidateAfter": {"str"}, "budgets": {"list"}}.items():
    KEYS.append(
        (
            {"nodePools": [{"name": "p", "disruption": {}}]},
            ("nodePools", 0, "disruption", field),
            f"nodePools[0] (p).disruption.{field}",
            kinds,
        )
    )
for field, kinds in {"nodes": {"str", "int"}, "schedule": {"str"}, "duration": {"str"}, "reasons": {"list"}}.items():
    KEYS.append(
        (
            {"nodePools": [{"name": "p", "disruption": {"budgets": [dict(BUDGET)]}}]},
            ("nodePools", 0, "disruption", "budgets", 0, field),
            "nodePools[0] (p).disruption.budgets[0]",
            kinds,
        )
    )
WRONG_TYPES = wrong_type_cases(KEYS)


@pytest.mark.parametrize(
    "base, path, key, kind", WRONG_TYPES, ids=[f"{'.'.join(map(str, path))}={kind}" for _, path, _, kind in WRONG_TYPES]
)
def test_every_key_rejects_every_wrong_type_with_one_line(base, path, key, kind):
    assert_rejects_wrong_type(base, path, key, kind)


def test_mapping_with_non_string_keys_is_a_config_error():
    # YAML turns `1:` and `yes:` into an int and a bool; sorting those next to strings used to raise TypeError.
    # Python folds True into 1 (equal hashes), as a YAML loader building this dict would.
    error = config_error({"network": {1: "a", True: "b", "cidr": "10.0.0.0/16"}, "endpoint": ENDPOINT})  # noqa: F601
    assert error.key == "network.1"


# -- karpenter.featureGates ---------------------------------------------------------------------------------------


def test_feature_gates_merge_over_defaults():
    # nodeHealth.autoRepair off: it would add nodeRepair (tests/observability/test_config.py).
    config = parse(
        {
            "karpenter": {"featureGates": {"spotToSpotConsolidation": True}},
            "nodeHealth": {"autoRepair": False},
            "endpoint": ENDPOINT,
        }
    )
    assert dict(config.karpenter.feature_gates) == {"nodeOverlay": True, "spotToSpotConsolidation": True}


def test_feature_gates_merge_keeps_sharing_pools_working():
    # The reported trap: setting one gate dropped nodeOverlay, so a time-sliced pool was rejected.
    config = parse(
        {"karpenter": {"featureGates": {"nodeRepair": True}}, "gpuNodePools": [SLICED], "endpoint": ENDPOINT}
    )
    assert config.gpu_node_pools[0].sharing.strategy == "time-slicing"


def test_a_default_gate_can_still_be_turned_off():
    keys = {"karpenter": {"featureGates": {"nodeOverlay": False}}, "nodeHealth": {"autoRepair": False}}
    config = parse({**keys, "endpoint": ENDPOINT})
    assert dict(config.karpenter.feature_gates) == {"nodeOverlay": False}


def test_a_default_gate_the_version_lacks_is_left_out():
    # nodeOverlay arrived in Karpenter 1.7; an older release must not fail on a gate the user never set.
    config = parse(
        {
            "kubernetesVersion": "1.33",
            "karpenter": {"version": "1.6.0"},
            "nodeHealth": {"autoRepair": False},
            "endpoint": ENDPOINT,
        }
    )
    assert dict(config.karpenter.feature_gates) == {}


def test_merged_gates_reach_the_karpenter_chart():
    config = parse({"karpenter": {"featureGates": {"nodeRepair": True}}, "endpoint": ENDPOINT})
    values = chart.karpenter_values(config.karpenter, cluster_name="c", queue_name="q", region="us-west-2")
    assert values["settings"]["featureGates"] == {"nodeOverlay": True, "nodeRepair": True}


# -- naming list items and suggesting names ----------------------------------------------------------------------


def test_errors_name_a_list_item_by_index_and_name():
    pools = [
        {"name": "a", "instanceFamilies": ["g6"], "maxGpus": 8},
        {"name": "b", "instanceFamilies": ["g6"], "maxGpus": 8},
        {
            "name": "training",
            "instanceFamilies": ["g6"],
            "maxGpus": 8,
            "sharing": {"strategy": "time-slicing", "replicas": 1},
        },
    ]
    error = config_error({"gpuNodePools": pools, "endpoint": ENDPOINT})
    assert str(error).startswith("test: gpu-eks:gpuNodePools[2] (training).sharing.replicas: ")


def test_node_pool_errors_name_the_pool():
    error = config_error({"nodePools": [{"name": "batch", "weight": 0}], "endpoint": ENDPOINT})
    assert error.key == "nodePools[0] (batch).weight"


def test_unknown_pool_key_names_the_pool_and_suggests_the_closest_key():
    error = config_error({"gpuNodePools": [{**GPU, "maxGPUs": 8}], "endpoint": ENDPOINT})
    assert error.key == "gpuNodePools[0] (g).maxGPUs"
    assert error.problem == "unknown key 'maxGPUs' (did you mean 'maxGpus'?)"


@pytest.mark.parametrize(
    "raw, suggestion",
    [
        ({"clusterNmae": "x"}, "'clusterName'"),
        ({"network": {"availabilityZone": 3}}, "'availabilityZones'"),
        ({"network": {"natGateways": "one-per-zone"}}, "'one-per-az'"),
        ({"karpenter": {"featureGates": {"nodeOverlays": True}}}, "'nodeOverlay'"),
        ({"gpuNodePools": [{**GPU, "instanceFamilies": ["g6ee"]}]}, "'g6e'"),
        ({"gpuNodePools": [{**GPU, "sharing": {"strategy": "time-slice", "replicas": 4}}]}, "'time-slicing'"),
        ({"gpuNodePools": [{**MIG, "sharing": {"strategy": "mig", "profile": "1g.5GB"}}]}, "'1g.5gb'"),
    ],
)
def test_unknown_keys_and_names_suggest_the_closest_allowed_one(raw, suggestion):
    error = config_error({**raw, "endpoint": ENDPOINT})
    assert f"(did you mean {suggestion}?)" in error.problem


def test_no_suggestion_when_nothing_is_close():
    error = config_error({"network": {"natGateways": "two"}, "endpoint": ENDPOINT})
    assert "did you mean" not in error.problem


def test_plural_of_family_is_spelt_correctly():
    error = config_error({"gpuNodePools": [{**GPU, "instanceFamilies": ["zz9"]}], "endpoint": ENDPOINT})
    assert error.allowed.startswith("allowed GPU instance families: ")
    assert "familys" not in str(error)


# -- controller node group vs Karpenter's replicas ---------------------------------------------------------------


def test_chart_premise_two_replicas_on_different_hosts():
    # The rule below rests on the chart: 2 replicas that must not share a node. Re-check it on chart upgrades.
    values = yaml.safe_load((upstream_dir() / "charts" / "karpenter" / "values.yaml").read_text())
    assert values["replicas"] == 2
    [term] = values["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"


def test_program_runs_two_karpenter_replicas():
    config = parse({"endpoint": ENDPOINT})
    assert (
        chart.karpenter_values(config.karpenter, cluster_name="c", queue_name="q", region="us-west-2")["replicas"] == 2
    )


@pytest.mark.parametrize(
    "group, key",
    [
        ({"desiredSize": 1, "minSize": 1}, "controllerNodeGroup.minSize"),
        ({"minSize": 1}, "controllerNodeGroup.minSize"),
        ({"desiredSize": 1}, "controllerNodeGroup.desiredSize"),
    ],
)
def test_controller_group_smaller_than_karpenter_replicas_is_rejected(group, key):
    error = config_error({"controllerNodeGroup": group, "endpoint": ENDPOINT})
    assert error.key == key
    assert "Pending" in error.problem and error.allowed == "allowed: 2 or more"


def test_controller_group_defaults_hold_both_karpenter_replicas():
    group = parse({"endpoint": ENDPOINT}).cluster.controller_node_group
    assert (group.min_size, group.desired_size) == (2, 2)


# -- other values the CRD would reject ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "budget, field",
    [
        ({"nodes": "1", "schedule": "sometimes", "duration": "1h"}, "schedule"),
        ({"nodes": "1", "schedule": "@daily", "duration": "1d"}, "duration"),
    ],
)
def test_budget_schedule_and_duration_follow_the_crd(budget, field):
    error = config_error({"nodePools": [{"name": "p", "disruption": {"budgets": [budget]}}], "endpoint": ENDPOINT})
    assert error.key == f"nodePools[0] (p).disruption.budgets[0].{field}"


def test_more_budgets_than_the_crd_allows_are_rejected():
    budgets = [{"nodes": "1"}] * 51
    error = config_error({"nodePools": [{"name": "p", "disruption": {"budgets": budgets}}], "endpoint": ENDPOINT})
    assert error.key == "nodePools[0] (p).disruption.budgets"


def test_the_documented_example_error_still_matches_the_format():
    # The configuration reference (docs/configuration.md, generated by tools.config_reference) quotes one error line.
    readme = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    line = str(config_error({"network": {"availabilityZones": 1}, "endpoint": ENDPOINT}, stack="dev"))
    assert f"`{line}`" in readme
