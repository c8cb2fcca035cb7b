"""EFA pools (`gpuNodePools[].efa`, `.zone`): the config rules, and the builders' node class, NodePool, huge pages
overlay, device plugin values and contract, checked against the upstream CRDs where there is one."""

from __future__ import annotations

import re

import pytest

from components.gpu import catalog
from components.gpu.efa import (
    efa_contract,
    efa_device_plugin_values,
    efa_node_class,
    efa_node_pool,
    hugepages_overlay,
    hugepages_user_data,
    network_interfaces,
    placement_group_name,
    pool_network_cards,
)
from components.karpenter.manifests import RootVolume, ec2_node_class, node_pool
from components.karpenter.node_pool_config import DisruptionConfig
from tests.support.karpenter_user_data import KARPENTER_SHELL_SCRIPT, karpenter_user_data_parts
from tests.support.stacks import config_error, parse

ENDPOINT = {"endpoint": {"publicAccessCidrs": ["203.0.113.0/24"]}}
# us-east-1 pins its zones (EKS refuses use1-az3); listed out of order to show the first *by name* is chosen.
PINNED = {"network": {"availabilityZoneIds": {"us-east-1c": "use1-az4", "us-east-1b": "use1-az2"}}}


def efa_pool(**fields):
    return {"name": "training", "instanceTypes": ["p5.48xlarge"], "maxGpus": 16, "efa": True, **fields}


def parse_efa(*pools, region="us-east-1", **raw):
    raw = {**PINNED, **raw} if region == "us-east-1" else raw
    return parse({"gpuNodePools": list(pools), **ENDPOINT, **raw}, region=region).gpu_node_pools


def efa_error(*pools, region="us-east-1", **raw):
    raw = {**PINNED, **raw} if region == "us-east-1" else raw
    return str(config_error({"gpuNodePools": list(pools), **raw}, region=region))


# -- config --------------------------------------------------------------------------------------------------------


def test_an_efa_pool_without_a_zone_takes_the_first_pinned_zone_and_stripes_its_nvme():
    (pool,) = parse_efa(efa_pool())
    assert (pool.efa, pool.zone, pool.instance_store) == (True, "us-east-1b", "raid0")


def test_a_pool_without_efa_has_no_zone_and_keeps_its_instance_store_unused():
    (pool,) = parse_efa({"name": "plain", "instanceTypes": ["p5.48xlarge"], "maxGpus": 16})
    assert (pool.efa, pool.zone, pool.instance_store) == (False, None, None)


def test_an_efa_pool_may_name_one_of_the_pinned_zones():
    (pool,) = parse_efa(efa_pool(zone="us-east-1c"))
    assert pool.zone == "us-east-1c"


def test_an_efa_pool_in_a_stack_without_pinned_zones_names_its_zone():
    (pool,) = parse_efa(efa_pool(zone="us-west-2c"), region="us-west-2")
    assert pool.zone == "us-west-2c"  # one of the new VPC's three zones (us-west-2d has no subnet: tests/config)


def test_efa_on_g4dn_names_the_sizes_without_efa_and_the_ones_with_it():
    assert efa_error(efa_pool(instanceTypes=[], instanceFamilies=["g4dn"], maxGpus=8)) == (
        "test: gpu-eks:gpuNodePools[0] (training).efa: g4dn.2xlarge, g4dn.4xlarge, g4dn.xlarge have no EFA "
        "interfaces; allowed: instanceTypes with EFA (g4dn.12xlarge, g4dn.16xlarge, g4dn.8xlarge, g4dn.metal in "
        "this selection)"
    )


def test_efa_on_a_type_without_any_lists_the_efa_types():
    message = efa_error(efa_pool(instanceTypes=["g5.xlarge"], maxGpus=8))
    assert "(training).efa: g5.xlarge has no EFA interfaces; allowed: EFA instance types (g4dn.12xlarge," in message
    assert "p5.48xlarge, p5.4xlarge, p5e.48xlarge, p5en.48xlarge, p6-b200.48xlarge)" in message


def test_efa_with_two_zones_is_refused():
    assert efa_error(efa_pool(zone=["us-east-1b", "us-east-1c"])) == (
        "test: gpu-eks:gpuNodePools[0] (training).zone: an EFA pool uses exactly one zone, got a list: its cluster "
        "placement group lives in one Availability Zone; allowed: one zone name such as us-east-1b"
    )


def test_a_zone_outside_the_pinned_ones_is_refused():
    assert efa_error(efa_pool(zone="us-east-1a")) == (
        "test: gpu-eks:gpuNodePools[0] (training).zone: us-east-1a is not one of the stack's zones; allowed: one of "
        "network.availabilityZoneIds (us-east-1b, us-east-1c)"
    )


def test_a_zone_of_another_region_is_refused():
    assert efa_error(efa_pool(zone="eu-west-1a"), region="us-west-2").endswith(
        "(training).zone: 'eu-west-1a' is not a zone of us-west-2; allowed: a zone name such as us-west-2b"
    )


def test_a_stack_without_pinned_zones_must_name_the_efa_zone():
    message = efa_error(efa_pool(), region="us-west-2")
    assert message.startswith(
        "test: gpu-eks:gpuNodePools[0] (training).zone: is required for an EFA pool when network.availabilityZoneIds "
        "does not pin the stack's zones; allowed: a zone of us-west-2 that offers the pool's instance types"
    )


def test_a_brought_vpc_must_name_the_efa_zone():
    brought = {"vpcId": "vpc-0abc12345", "privateSubnetIds": ["subnet-0aaa1111", "subnet-0bbb2222"]}
    assert "(training).zone: is required for an EFA pool" in efa_error(efa_pool(), region="us-west-2", network=brought)
    (pool,) = parse_efa(efa_pool(zone="us-west-2a"), region="us-west-2", network=brought)
    assert pool.zone == "us-west-2a"


def test_a_zone_without_efa_is_refused():
    assert efa_error(efa_pool(efa=False, zone="us-east-1b")) == (
        "test: gpu-eks:gpuNodePools[0] (training).zone: applies only to EFA pools (a cluster placement group needs one "
        "zone); allowed: efa: true with a zone, or no zone"
    )


@pytest.mark.parametrize(
    "given, selector",
    [
        ({"name": "p5-reserved-cpg"}, {"name": "p5-reserved-cpg"}),
        ({"id": "pg-0a1b2c3d4e5f6a7b8"}, {"id": "pg-0a1b2c3d4e5f6a7b8"}),
    ],
)
def test_an_efa_pool_may_launch_into_an_existing_placement_group_by_name_or_id(given, selector):
    (pool,) = parse_efa(efa_pool(placementGroup=given))
    assert pool.placement_group is not None and pool.placement_group.selector() == selector


def test_without_placement_group_an_efa_pool_names_none():
    (pool,) = parse_efa(efa_pool())
    assert pool.placement_group is None


@pytest.mark.parametrize(
    "given, key, problem",
    [
        ({"name": "a", "id": "pg-0123"}, "placementGroup", "sets id and name"),
        ({}, "placementGroup", "sets neither name nor id"),
        ({"id": "sg-0123"}, "placementGroup.id", "'sg-0123' is not valid"),
        ({"name": ""}, "placementGroup.name", "expected a non-empty string"),
        ({"arn": "arn:aws:ec2:us-east-1:111122223333:placement-group/x"}, "placementGroup.arn", ""),
        ("p5-reserved-cpg", "placementGroup", "expected a mapping"),
    ],
)
def test_a_malformed_placement_group_is_refused_naming_the_key(given, key, problem):
    error = config_error({"gpuNodePools": [efa_pool(placementGroup=given)], **PINNED}, region="us-east-1")
    assert error.key == f"gpuNodePools[0] (training).{key}"
    assert problem in error.problem
    assert error.allowed


def test_a_placement_group_on_a_pool_without_efa_is_refused():
    pool = {"name": "plain", "instanceTypes": ["p5.48xlarge"], "maxGpus": 16, "placementGroup": {"name": "x"}}
    error = config_error({"gpuNodePools": [pool], **PINNED}, region="us-east-1")
    assert error.key == "gpuNodePools[0] (plain).placementGroup"
    assert "applies only to EFA pools" in error.problem


@pytest.mark.parametrize("value", ["yes", 1, ["true"], {"enabled": True}])
def test_efa_must_be_a_boolean(value):
    assert efa_error(efa_pool(efa=value)).startswith("test: gpu-eks:gpuNodePools[0] (training).efa: expected true or")


@pytest.mark.parametrize("value", [3, {"name": "us-east-1b"}, ""])
def test_the_zone_must_be_a_zone_name(value):
    assert "(training).zone: expected a non-empty string" in efa_error(efa_pool(zone=value))


def test_types_with_different_numbers_of_efa_interfaces_cannot_share_an_efa_pool():
    message = efa_error(efa_pool(instanceTypes=["p5.48xlarge", "p5en.48xlarge"]))
    assert message.startswith(
        "test: gpu-eks:gpuNodePools[0] (training).efa: the pool mixes types with different numbers of EFA interfaces: "
        "p5.48xlarge (32), p5en.48xlarge (16)"
    )


def test_types_with_the_same_layout_share_an_efa_pool():
    (pool,) = parse_efa(efa_pool(instanceTypes=["g6.8xlarge", "g6.12xlarge"]))
    assert pool.instance_types == ("g6.12xlarge", "g6.8xlarge")


def test_an_efa_pool_cannot_share_its_gpus():
    message = efa_error(efa_pool(sharing={"strategy": "mig", "profile": "1g.10gb"}))
    assert "(training).efa: EFA is for multi-node training on whole GPUs, but the pool shares its GPUs (mig)" in message


def test_efa_needs_karpenter_1_11():
    assert efa_error(efa_pool(), karpenter={"version": "1.10.0"}).endswith(
        "which Karpenter 1.10.0 does not have; allowed: karpenter.version 1.11.0 or newer"
    )


def test_efa_needs_the_node_overlay_gate_for_its_huge_pages():
    message = efa_error(efa_pool(), karpenter={"featureGates": {"nodeOverlay": False}})
    assert "(training).efa: efa: true needs Karpenter's nodeOverlay feature gate, but karpenter.featureGates" in message


# -- builders ------------------------------------------------------------------------------------------------------


def test_one_network_card_gets_the_primary_ena_and_one_efa_only_interface():
    assert network_interfaces(1) == [
        {"networkCardIndex": 0, "deviceIndex": 0, "interfaceType": "interface"},
        {"networkCardIndex": 0, "deviceIndex": 1, "interfaceType": "efa-only"},
    ]


def test_every_further_card_gets_an_efa_only_interface_at_device_zero():
    assert network_interfaces(4) == [
        {"networkCardIndex": 0, "deviceIndex": 0, "interfaceType": "interface"},
        {"networkCardIndex": 0, "deviceIndex": 1, "interfaceType": "efa-only"},
        {"networkCardIndex": 1, "deviceIndex": 0, "interfaceType": "efa-only"},
        {"networkCardIndex": 2, "deviceIndex": 0, "interfaceType": "efa-only"},
        {"networkCardIndex": 3, "deviceIndex": 0, "interfaceType": "efa-only"},
    ]


def test_a_p5_48xlarge_gets_32_efa_only_interfaces_one_per_card():
    interfaces = network_interfaces(pool_network_cards([catalog.instance_type("p5.48xlarge")]))
    efa_only = [i for i in interfaces if i["interfaceType"] == "efa-only"]
    assert len(efa_only) == 32
    assert sorted(i["networkCardIndex"] for i in efa_only) == list(range(32))


def test_a_pool_with_two_layouts_or_without_efa_has_no_network_card_count():
    with pytest.raises(ValueError, match=re.escape("p5.48xlarge (32), p5en.48xlarge (16)")):
        pool_network_cards([catalog.instance_type("p5.48xlarge"), catalog.instance_type("p5en.48xlarge")])
    with pytest.raises(ValueError, match=re.escape("g5.xlarge (0)")):
        pool_network_cards([catalog.instance_type("g5.xlarge")])


def test_the_user_data_reserves_2560_pages_of_2_mib_now_and_after_a_reboot():
    script = hugepages_user_data()
    assert script.startswith("#!/bin/bash\n")
    assert 'echo "vm.nr_hugepages = 2560" > /etc/sysctl.d/99-gpu-eks-efa-hugepages.conf\n' in script
    assert script.endswith("sysctl -w vm.nr_hugepages=2560\n")


@pytest.mark.parametrize("megabytes", [0, -2, 5121])
def test_huge_pages_must_be_whole_2_mib_pages(megabytes):
    with pytest.raises(ValueError):
        hugepages_user_data(megabytes)


def gpu_node_class(name="gpu-training", **extra):
    return ec2_node_class(
        name,
        role_name="gpu-test-karpenter-node",
        cluster_name="gpu-test",
        subnet_selector=[{"tags": {"karpenter.sh/discovery": "gpu-test"}}],
        ami_alias="al2023@latest",
        root_volume=RootVolume(size_gib=200),
        tags={"gpu-eks/pool": "training"},
        **extra,
    )


def p5_efa_node_class():
    return efa_node_class(
        gpu_node_class(instance_store_policy="RAID0"),
        network_cards=32,
        placement_group={"name": placement_group_name("gpu-test", "training")},
        cluster_name="gpu-test",
    )


def test_the_efa_node_class_selects_its_placement_group_and_both_security_groups_without_a_public_ip():
    spec = p5_efa_node_class()["spec"]
    assert spec["placementGroupSelector"] == {"name": "gpu-test-training"}
    assert spec["securityGroupSelectorTerms"] == [
        {"tags": {"karpenter.sh/discovery": "gpu-test"}},
        {"tags": {"gpu-eks/efa": "gpu-test"}},
    ]
    assert spec["associatePublicIPAddress"] is False
    assert karpenter_user_data_parts(spec["userData"]) == [(KARPENTER_SHELL_SCRIPT, hugepages_user_data())]
    assert len(spec["networkInterfaces"]) == 33
    assert spec["instanceStorePolicy"] == "RAID0"


def test_turning_a_node_class_into_an_efa_one_leaves_the_original_alone():
    original = gpu_node_class()
    efa_node_class(original, network_cards=4, placement_group={"name": "pg"}, cluster_name="gpu-test")
    assert original == gpu_node_class()


def test_a_node_class_with_user_data_of_its_own_is_not_overwritten():
    with_user_data = gpu_node_class()
    with_user_data["spec"]["userData"] = "#!/bin/bash\necho mine\n"
    with pytest.raises(ValueError, match="already has user data"):
        efa_node_class(with_user_data, network_cards=4, placement_group={"name": "pg"}, cluster_name="gpu-test")


def test_the_efa_node_class_passes_the_ec2nodeclass_crd(crd_validator):
    assert crd_validator.validate(p5_efa_node_class()) == []


def test_the_crd_refuses_two_efa_interfaces_on_one_card(crd_validator):
    # Shows the check above can fail: the CEL rule "at most one efa device per network card".
    broken = p5_efa_node_class()
    broken["spec"]["networkInterfaces"].append({"networkCardIndex": 1, "deviceIndex": 1, "interfaceType": "efa-only"})
    assert any("at most one efa device per network card" in problem for problem in crd_validator.validate(broken))


def gpu_node_pool():
    return node_pool(
        "training",
        node_class_name="gpu-training",
        requirements=[{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["p5.48xlarge"]}],
        limits={"nvidia.com/gpu": "32"},
        disruption=DisruptionConfig(consolidation_policy="WhenEmpty", consolidate_after="10m"),
        expire_after="720h",
        termination_grace_period="5m",
        labels={"gpu-eks/pool": "training"},
        taints=[{"key": "nvidia.com/gpu", "effect": "NoSchedule"}],
    )


def test_the_efa_node_pool_stays_in_its_zone_and_labels_its_nodes_for_the_efa_plugin():
    template = efa_node_pool(gpu_node_pool(), "us-east-1b")["spec"]["template"]
    assert template["metadata"]["labels"] == {"gpu-eks/pool": "training", "vpc.amazonaws.com/efa.present": "true"}
    assert template["spec"]["requirements"][-1] == {
        "key": "topology.kubernetes.io/zone",
        "operator": "In",
        "values": ["us-east-1b"],
    }
    assert gpu_node_pool()["spec"]["template"]["metadata"]["labels"] == {"gpu-eks/pool": "training"}


def test_the_efa_node_pool_passes_the_nodepool_crd(crd_validator):
    assert crd_validator.validate(efa_node_pool(gpu_node_pool(), "us-east-1b")) == []


def test_the_huge_pages_overlay_gives_the_pool_5120_mib_and_passes_the_crd(crd_validator):
    overlay = hugepages_overlay("training")
    assert overlay["spec"] == {
        "requirements": [{"key": "gpu-eks/pool", "operator": "In", "values": ["training"]}],
        "capacity": {"hugepages-2Mi": "5120Mi"},
    }
    assert crd_validator.validate(overlay) == []


def test_the_efa_plugin_tolerates_each_efa_pool_taint_once():
    team = {"key": "team", "value": "research", "effect": "NoSchedule"}
    first, second = gpu_node_pool(), gpu_node_pool()
    second["spec"]["template"]["spec"]["taints"].append(team)
    assert efa_device_plugin_values([first, second]) == {
        "nodeSelector": {"vpc.amazonaws.com/efa.present": "true"},
        "tolerations": [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
            {"key": "team", "operator": "Equal", "value": "research", "effect": "NoSchedule"},
        ],
    }


def test_the_contract_says_what_a_pod_requests_per_node_and_where_the_nodes_are():
    types = [catalog.instance_type("p5.48xlarge"), catalog.instance_type("p5e.48xlarge")]
    assert efa_contract(types, placement_group="gpu-test-training", zone="us-east-1b") == {
        "resourceName": "vpc.amazonaws.com/efa",
        "devicesPerNode": {"p5.48xlarge": 32, "p5e.48xlarge": 32},
        "hugepages": {"resourceName": "hugepages-2Mi", "perNode": "5120Mi"},
        "placementGroup": "gpu-test-training",
        "zone": "us-east-1b",
    }
