"""Where a GPU pool's capacity comes from and who may use it (issue 11): reserved capacity, warm slices, pool
isolation by taints, and the pool's disks. Config rules (each bad input names its key), the feature gates they turn
on, and what the builders make of them. Expected values are written out by hand from the sources in the comments.
"""

from __future__ import annotations

import pytest

from components.gpu import catalog
from components.gpu.capacity import largest_reachable_gpus
from components.gpu.contract import workload_contract
from components.gpu.nvidia_values import nvidia_chart
from components.gpu.pools import gpu_node_pool, plan_pool, pool_tolerations
from components.gpu.warm import capacity_buffer, warm_pod_template
from tests.support.stacks import config_error, parse

ENDPOINT = {"publicAccessCidrs": ["203.0.113.0/24"]}
CR_ID = "cr-0123456789abcdef0"


def gpu_pool(**fields):
    return {"name": "pool", "instanceFamilies": ["g6e"], "maxGpus": 8, **fields}


def reserved_pool(**fields):
    base = {
        "instanceFamilies": [],
        "instanceTypes": ["p5.48xlarge"],
        "capacityTypes": ["reserved", "on-demand"],
        "capacityReservations": [{"id": CR_ID}],
        "maxGpus": 16,
    }
    return gpu_pool(**{**base, **fields})


def parse_pools(*pools, **raw):
    return parse({"gpuNodePools": list(pools), "endpoint": ENDPOINT, **raw})


def pools_error(*pools, **raw):
    return config_error({"gpuNodePools": list(pools), "endpoint": ENDPOINT, **raw})


def one_pool(**fields):
    (pool,) = parse_pools(gpu_pool(**fields)).gpu_node_pools
    return pool


def assert_one_line(error, key):
    assert error.key == key, str(error)
    assert str(error).startswith(f"test: gpu-eks:{key}: ") and "\n" not in str(error)
    assert error.allowed.startswith("allowed")


# -- reserved capacity: config ----------------------------------------------------------------------------------


def test_reserved_capacity_types_are_put_in_karpenters_order_of_preference():
    (pool,) = parse_pools(
        reserved_pool(capacityTypes=["on-demand", "spot", "reserved"]),
    ).gpu_node_pools
    # Reserved first (prepaid, modelled as free), then spot, then on-demand (v1.14 tasks/odcrs.md).
    assert pool.capacity_types == ("reserved", "spot", "on-demand")


def test_reserved_pool_keeps_its_reservation_terms():
    (pool,) = parse_pools(
        reserved_pool(
            capacityReservations=[{"id": CR_ID}, {"tags": {"purpose": "llm-training"}, "ownerId": "111122223333"}]
        )
    ).gpu_node_pools
    assert [(t.id, t.tags, t.owner_id) for t in pool.capacity_reservations] == [
        (CR_ID, (), None),
        (None, (("purpose", "llm-training"),), "111122223333"),
    ]


def test_reserved_without_reservations_is_rejected():
    raw = reserved_pool()
    del raw["capacityReservations"]
    error = pools_error(raw)
    assert_one_line(error, "gpuNodePools[0] (pool).capacityReservations")
    assert "never open matching" in error.problem


def test_reservations_without_the_reserved_capacity_type_are_rejected():
    error = pools_error(reserved_pool(capacityTypes=["on-demand"]))
    assert_one_line(error, "gpuNodePools[0] (pool).capacityReservations")
    assert "add reserved to capacityTypes" in error.allowed


@pytest.mark.parametrize(
    "term, key, says",
    [
        ({"id": "cr-XYZ"}, "capacityReservations[0].id", "is not valid"),
        ({"id": "0123456789abcdef0"}, "capacityReservations[0].id", "is not valid"),
        ({"id": CR_ID, "tags": {"a": "b"}}, "capacityReservations[0].tags", "cannot be combined with id"),
        ({"id": CR_ID, "ownerId": "111122223333"}, "capacityReservations[0].ownerId", "cannot be combined with id"),
        ({}, "capacityReservations[0]", "neither id nor tags"),
        ({"ownerId": "111122223333"}, "capacityReservations[0]", "neither id nor tags"),
        ({"tags": {}}, "capacityReservations[0].tags", "is empty"),
        ({"tags": {"purpose": ""}}, "capacityReservations[0].tags.purpose", "expected a tag value"),
        (
            {"tags": {"aws:cloudformation:stack-name": "x"}},
            "capacityReservations[0].tags.aws:cloudformation:stack-name",
            "is not an EC2 tag key",
        ),
        ({"tags": {f"k{i}": "v" for i in range(21)}}, "capacityReservations[0].tags", "has 21 tags"),
        ({"tags": {"a": "b"}, "ownerId": "1111"}, "capacityReservations[0].ownerId", "is not valid"),
        # YAML reads an unquoted 012345678901 as the number 12345678901: eleven digits, named as such.
        ({"tags": {"a": "b"}, "ownerId": 12345678901}, "capacityReservations[0].ownerId", "is not valid"),
        ({"tags": {"a": "b"}, "owner": "111122223333"}, "capacityReservations[0].owner", "did you mean 'ownerId'"),
    ],
)
def test_bad_reservation_terms_are_rejected_naming_the_term(term, key, says):
    error = pools_error(reserved_pool(capacityReservations=[term]))
    assert_one_line(error, f"gpuNodePools[0] (pool).{key}")
    assert says in str(error)


def test_more_reservation_terms_than_the_crd_allows_are_rejected():
    terms = [{"id": f"cr-{i:017x}"} for i in range(31)]
    error = pools_error(reserved_pool(capacityReservations=terms))
    assert_one_line(error, "gpuNodePools[0] (pool).capacityReservations")
    assert "at most 30" in error.allowed


def test_an_empty_reservation_list_is_rejected():
    assert_one_line(pools_error(reserved_pool(capacityReservations=[])), "gpuNodePools[0] (pool).capacityReservations")


def test_unknown_capacity_type_is_rejected_with_the_three_allowed():
    error = pools_error(gpu_pool(capacityTypes=["reserve"]))
    assert_one_line(error, "gpuNodePools[0] (pool).capacityTypes[0]")
    assert error.allowed == "allowed: reserved | spot | on-demand"
    assert "did you mean 'reserved'" in error.problem


# -- reserved capacity: the Karpenter gate ----------------------------------------------------------------------


def test_a_reserved_pool_turns_the_reserved_capacity_gate_on():
    config = parse_pools(reserved_pool())
    assert config.karpenter.feature_gates["reservedCapacity"] is True
    assert config.karpenter.feature_gates["nodeOverlay"] is True  # the default stays


def test_without_a_reserved_pool_the_reserved_capacity_gate_is_left_to_the_chart():
    assert "reservedCapacity" not in parse_pools(gpu_pool()).karpenter.feature_gates


def test_reserved_with_the_gate_turned_off_is_rejected():
    error = pools_error(reserved_pool(), karpenter={"featureGates": {"reservedCapacity": False}})
    assert_one_line(error, "gpuNodePools[0] (pool).capacityTypes")
    assert "karpenter.featureGates.reservedCapacity is false" in error.problem


def test_reserved_on_a_karpenter_without_the_gate_is_rejected():
    # reservedCapacity arrived in Karpenter 1.3.0 (reference/settings.md); 1.2.0 still supports Kubernetes 1.32.
    error = pools_error(reserved_pool(), karpenter={"version": "1.2.0"}, kubernetesVersion="1.32")
    assert_one_line(error, "gpuNodePools[0] (pool).capacityTypes")
    assert error.allowed.startswith("allowed: karpenter.version 1.3.0 or newer")


# -- warm slices: config --------------------------------------------------------------------------------------


def test_warm_slices_turn_the_capacity_buffer_gate_on():
    config = parse_pools(gpu_pool(warmSlices=8, sharing={"strategy": "time-slicing", "replicas": 4}))
    assert config.gpu_node_pools[0].warm_slices == 8
    assert config.karpenter.feature_gates["capacityBuffer"] is True


def test_warm_slices_with_the_gate_turned_off_are_rejected():
    error = pools_error(gpu_pool(warmSlices=2), karpenter={"featureGates": {"capacityBuffer": False}})
    assert_one_line(error, "gpuNodePools[0] (pool).warmSlices")


def test_warm_slices_before_karpenter_1_14_are_rejected():
    error = pools_error(gpu_pool(warmSlices=2), karpenter={"version": "1.13.0"})
    assert_one_line(error, "gpuNodePools[0] (pool).warmSlices")
    assert error.allowed.startswith("allowed: karpenter.version 1.14.0 or newer")


@pytest.mark.parametrize("value", [0, -1, "eight", 2.5, [8], {"slices": 8}, True])
def test_warm_slices_must_be_a_positive_integer(value):
    assert_one_line(pools_error(gpu_pool(warmSlices=value)), "gpuNodePools[0] (pool).warmSlices")


def test_warm_slices_up_to_the_pools_limit_are_accepted():
    # g6e time-sliced 4 ways, maxGpus 8: the limit is 32 slices, reachable with one g6e.48xlarge.
    pool = one_pool(warmSlices=32, sharing={"strategy": "time-slicing", "replicas": 4})
    assert pool.warm_slices == 32


def test_warm_slices_beyond_the_pools_limit_are_rejected():
    error = pools_error(gpu_pool(warmSlices=33, sharing={"strategy": "time-slicing", "replicas": 4}))
    assert_one_line(error, "gpuNodePools[0] (pool).warmSlices")
    assert "at most 8 GPUs = 32 slices" in error.problem
    assert error.allowed == "allowed: 1 to 32, or a larger maxGpus"


def test_warm_slices_count_only_the_gpus_whole_nodes_can_reach():
    # p5.48xlarge has 8 GPUs: with maxGpus 12 the pool can hold one node, 8 GPUs, never 12.
    error = pools_error(reserved_pool(maxGpus=12, warmSlices=9))
    assert_one_line(error, "gpuNodePools[0] (pool).warmSlices")
    assert "nodes of 8 GPU(s) and maxGpus 12 the pool holds at most 8 GPUs = 8 slices" in error.problem


def test_warm_mig_slices_are_counted_in_mig_instances():
    # p5.48xlarge, 1g.10gb: 8 H100 x 7 instances = 56 slices per node (GPU Operator default-mig-parted-config).
    mig = {"strategy": "mig", "profile": "1g.10gb"}
    assert parse_pools(reserved_pool(sharing=mig, warmSlices=56, maxGpus=8)).gpu_node_pools[0].warm_slices == 56
    assert_one_line(
        pools_error(reserved_pool(sharing=mig, warmSlices=57, maxGpus=8)), "gpuNodePools[0] (pool).warmSlices"
    )


@pytest.mark.parametrize(
    "max_gpus, counts, most",
    [(12, [8], 8), (16, [8], 16), (7, [1, 4, 8], 7), (11, [4, 8], 8), (13, [4, 8], 12), (3, [2], 2)],
)
def test_largest_reachable_gpus_is_the_largest_sum_of_node_sizes_under_the_limit(max_gpus, counts, most):
    assert largest_reachable_gpus(max_gpus, counts) == most


# -- pool isolation: config -------------------------------------------------------------------------------------


def test_team_taints_are_kept_in_order():
    pool = one_pool(
        taints=[
            {"key": "team", "value": "chat", "effect": "NoSchedule"},
            {"key": "example.com/dedicated", "effect": "NoExecute"},
        ]
    )
    assert [(t.key, t.value, t.effect) for t in pool.taints] == [
        ("team", "chat", "NoSchedule"),
        ("example.com/dedicated", None, "NoExecute"),
    ]


@pytest.mark.parametrize(
    "taint, key, says",
    [
        ({"value": "chat", "effect": "NoSchedule"}, "taints[0].key", "is missing"),
        ({"key": "team", "value": "chat"}, "taints[0].effect", "is missing"),
        ({"key": "team", "effect": "NoPlease"}, "taints[0].effect", "is not supported"),
        ({"key": "team", "effect": "noschedule"}, "taints[0].effect", "did you mean 'NoSchedule'"),
        ({"key": "team name", "effect": "NoSchedule"}, "taints[0].key", "is not valid"),
        ({"key": "-team", "effect": "NoSchedule"}, "taints[0].key", "is not valid"),
        ({"key": "Example.com/team", "effect": "NoSchedule"}, "taints[0].key", "is not valid"),
        ({"key": "a/b/c", "effect": "NoSchedule"}, "taints[0].key", "is not valid"),
        ({"key": "t" * 64, "effect": "NoSchedule"}, "taints[0].key", "is not valid"),
        ({"key": "team", "value": "chat room", "effect": "NoSchedule"}, "taints[0].value", "is not valid"),
        ({"key": "team", "value": "c" * 64, "effect": "NoSchedule"}, "taints[0].value", "is not valid"),
        ({"key": "team", "value": "", "effect": "NoSchedule"}, "taints[0].value", "expected a non-empty string"),
        ({"key": "nvidia.com/gpu", "effect": "NoSchedule"}, "taints[0].key", "nvidia.com/gpu taint"),
        ({"key": "gpu-eks/sharing", "value": "x", "effect": "NoSchedule"}, "taints[0].key", "a taint key of gpu-eks"),
        ({"key": "CriticalAddonsOnly", "effect": "NoSchedule"}, "taints[0].key", "controller node group"),
        ({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}, "taints[0].key", "of Kubernetes"),
        ({"key": "karpenter.sh/disrupted", "effect": "NoSchedule"}, "taints[0].key", "of Karpenter"),
        ({"key": "team", "effect": "NoSchedule", "operator": "Equal"}, "taints[0].operator", "unknown key"),
    ],
)
def test_bad_team_taints_are_rejected_naming_the_taint(taint, key, says):
    error = pools_error(gpu_pool(taints=[taint]))
    assert_one_line(error, f"gpuNodePools[0] (pool).{key}")
    assert says in str(error)


def test_two_taints_with_the_same_key_and_effect_are_rejected():
    taints = [
        {"key": "team", "value": "a", "effect": "NoSchedule"},
        {"key": "team", "value": "b", "effect": "NoSchedule"},
    ]
    assert_one_line(pools_error(gpu_pool(taints=taints)), "gpuNodePools[0] (pool).taints[1]")


def test_the_same_key_with_two_effects_is_accepted():
    taints = [
        {"key": "team", "value": "a", "effect": "NoSchedule"},
        {"key": "team", "value": "a", "effect": "NoExecute"},
    ]
    assert len(one_pool(taints=taints).taints) == 2


# -- storage: config -------------------------------------------------------------------------------------------


def test_root_volume_defaults_to_200_gib_at_gp3_baseline():
    volume = one_pool().root_volume
    assert (volume.size_gib, volume.iops, volume.throughput_mibps) == (200, 3000, 125)


def test_root_volume_gib_stays_accepted_with_the_gp3_baseline():
    volume = one_pool(rootVolumeGib=300).root_volume
    assert (volume.size_gib, volume.iops, volume.throughput_mibps) == (300, 3000, 125)


def test_root_volume_takes_size_iops_and_throughput():
    volume = one_pool(rootVolume={"sizeGib": 500, "iops": 6000, "throughputMibps": 500}).root_volume
    assert (volume.size_gib, volume.iops, volume.throughput_mibps) == (500, 6000, 500)


def test_root_volume_at_the_new_gp3_maximum_is_accepted():
    # 80,000 IOPS needs 160 GiB (500 IOPS/GiB); 2,000 MiB/s needs 8,000 IOPS (0.25 MiB/s per IOPS).
    volume = one_pool(rootVolume={"sizeGib": 160, "iops": 80000, "throughputMibps": 2000}).root_volume
    assert (volume.iops, volume.throughput_mibps) == (80000, 2000)


@pytest.mark.parametrize(
    "volume, key, says",
    [
        ({"sizeGib": 49}, "rootVolume.sizeGib", "out of range"),
        ({"sizeGib": 16385}, "rootVolume.sizeGib", "out of range"),
        ({"iops": 2999}, "rootVolume.iops", "out of range"),
        ({"iops": 80001, "sizeGib": 1000}, "rootVolume.iops", "out of range"),
        ({"throughputMibps": 124}, "rootVolume.throughputMibps", "out of range"),
        ({"throughputMibps": 2001, "iops": 16000}, "rootVolume.throughputMibps", "out of range"),
        # 500 IOPS per GiB: 100 GiB allow 50,000 IOPS.
        ({"sizeGib": 100, "iops": 50001}, "rootVolume.iops", "exceeds gp3's 500 IOPS per GiB"),
        # 0.25 MiB/s per IOPS: 3,000 IOPS allow 750 MiB/s.
        ({"iops": 3000, "throughputMibps": 751}, "rootVolume.throughputMibps", "exceeds gp3's 0.25 MiB/s"),
        ({"size": 500}, "rootVolume.size", "did you mean 'sizeGib'"),
    ],
)
def test_bad_root_volumes_are_rejected_naming_the_field(volume, key, says):
    error = pools_error(gpu_pool(rootVolume=volume))
    assert_one_line(error, f"gpuNodePools[0] (pool).{key}")
    assert says in str(error)


def test_the_iops_error_names_the_size_that_would_allow_it():
    error = pools_error(gpu_pool(rootVolume={"sizeGib": 100, "iops": 50001}))
    assert error.allowed == "allowed: at most 50000 IOPS, or sizeGib 101 or more"


def test_root_volume_and_root_volume_gib_together_are_rejected():
    error = pools_error(gpu_pool(rootVolumeGib=300, rootVolume={"sizeGib": 500}))
    assert_one_line(error, "gpuNodePools[0] (pool).rootVolumeGib")
    assert "not both" in error.allowed


def test_raid0_on_types_with_local_nvme_is_accepted():
    assert one_pool(instanceStore="raid0").instance_store == "raid0"


def test_raid0_on_types_without_local_nvme_is_rejected_naming_them():
    # g5g (Graviton, T4G) has no instance store (Karpenter v1.14 instance-types: no instance-local-nvme label).
    error = pools_error(gpu_pool(instanceFamilies=["g5", "g5g"], maxGpus=8, instanceStore="raid0"))
    assert_one_line(error, "gpuNodePools[0] (pool).instanceStore")
    assert "g5g.16xlarge, g5g.2xlarge, g5g.4xlarge, g5g.8xlarge, g5g.metal, g5g.xlarge lack(s)" in error.problem
    assert "g5.xlarge" not in error.problem


@pytest.mark.parametrize(
    "value, says", [("RAID0", "did you mean 'raid0'"), ("raid1", "is not supported"), (True, "expected a string")]
)
def test_unknown_instance_store_policies_are_rejected(value, says):
    error = pools_error(gpu_pool(instanceStore=value))
    assert_one_line(error, "gpuNodePools[0] (pool).instanceStore")
    assert says in error.problem


# -- what the builders make of them -----------------------------------------------------------------------------


def plan_of(*pools):
    return [plan_pool(pool) for pool in parse_pools(*pools).gpu_node_pools]


def test_a_reserved_pool_requires_reserved_capacity_first():
    (plan,) = plan_of(reserved_pool(capacityTypes=["on-demand", "reserved"]))
    requirement = next(
        r
        for r in gpu_node_pool(plan)["spec"]["template"]["spec"]["requirements"]
        if r["key"] == "karpenter.sh/capacity-type"
    )
    assert requirement == {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["reserved", "on-demand"]}


def test_a_whole_gpu_pool_is_tainted_only_for_the_gpu():
    (plan,) = plan_of(gpu_pool())
    assert gpu_node_pool(plan)["spec"]["template"]["spec"]["taints"] == [
        {"key": "nvidia.com/gpu", "effect": "NoSchedule"}
    ]
    assert pool_tolerations(plan) == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


@pytest.mark.parametrize(
    "sharing, value",
    [
        ({"strategy": "time-slicing", "replicas": 4}, "time-slicing"),
        ({"strategy": "mps", "replicas": 4}, "mps"),
        ({"strategy": "mig", "profile": "1g.10gb"}, "mig"),
    ],
)
def test_every_sharing_pool_carries_the_sharing_taint_and_its_contract_tolerates_exactly_that(sharing, value):
    fields = {"sharing": sharing}
    if value == "mig":
        fields |= {"instanceFamilies": [], "instanceTypes": ["p5.48xlarge"]}
    (plan,) = plan_of(gpu_pool(**fields))
    assert gpu_node_pool(plan)["spec"]["template"]["spec"]["taints"] == [
        {"key": "nvidia.com/gpu", "effect": "NoSchedule"},
        {"key": "gpu-eks/sharing", "value": value, "effect": "NoSchedule"},
    ]
    assert pool_tolerations(plan)[1] == {
        "key": "gpu-eks/sharing",
        "operator": "Equal",
        "value": value,
        "effect": "NoSchedule",
    }


def test_team_taints_come_after_ours_and_the_contract_tolerates_each():
    taints = [
        {"key": "team", "value": "chat", "effect": "NoSchedule"},
        {"key": "example.com/gpu-jobs", "effect": "NoExecute"},
    ]
    (plan,) = plan_of(gpu_pool(taints=taints, sharing={"strategy": "time-slicing", "replicas": 4}))
    assert gpu_node_pool(plan)["spec"]["template"]["spec"]["taints"][2:] == [
        {"key": "team", "value": "chat", "effect": "NoSchedule"},
        {"key": "example.com/gpu-jobs", "effect": "NoExecute"},
    ]
    assert pool_tolerations(plan)[2:] == [
        {"key": "team", "operator": "Equal", "value": "chat", "effect": "NoSchedule"},
        {"key": "example.com/gpu-jobs", "operator": "Exists", "effect": "NoExecute"},
    ]


def test_nvidia_daemonsets_tolerate_every_sharing_and_team_taint_of_the_cluster():
    plans = plan_of(
        gpu_pool(
            name="chat",
            sharing={"strategy": "time-slicing", "replicas": 4},
            taints=[{"key": "team", "value": "chat", "effect": "NoSchedule"}],
        ),
        gpu_pool(name="whole", taints=[{"key": "team", "value": "train", "effect": "NoExecute"}]),
    )
    values = nvidia_chart(plans).values
    expected = [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "gpu-eks/sharing", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "team", "operator": "Equal", "value": "chat", "effect": "NoSchedule"},
        {"key": "team", "operator": "Equal", "value": "train", "effect": "NoExecute"},
    ]
    assert values["tolerations"] == [{"key": "CriticalAddonsOnly", "operator": "Exists"}, *expected]
    assert values["nfd"]["worker"]["tolerations"] == expected


def test_a_cluster_without_sharing_pools_does_not_tolerate_the_sharing_taint():
    values = nvidia_chart(plan_of(gpu_pool())).values
    assert {"key": "gpu-eks/sharing", "operator": "Exists", "effect": "NoSchedule"} not in values["tolerations"]


def test_gpu_operator_operands_tolerate_the_sharing_and_team_taints():
    plans = plan_of(
        gpu_pool(
            instanceFamilies=[],
            instanceTypes=["p5.48xlarge"],
            sharing={"strategy": "mig", "profile": "1g.10gb"},
            taints=[{"key": "team", "value": "search", "effect": "NoSchedule"}],
        )
    )
    values = nvidia_chart(plans).values
    assert values["daemonsets"]["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "gpu-eks/sharing", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "team", "operator": "Equal", "value": "search", "effect": "NoSchedule"},
    ]
    assert values["node-feature-discovery"]["worker"]["tolerations"] == values["daemonsets"]["tolerations"]


def test_warm_slices_become_a_capacity_buffer_of_one_slice_pods():
    (plan,) = plan_of(
        gpu_pool(
            name="chat",
            warmSlices=8,
            sharing={"strategy": "time-slicing", "replicas": 4},
            taints=[{"key": "team", "value": "chat", "effect": "NoSchedule"}],
        )
    )
    assert capacity_buffer(plan) == {
        # v1beta1: the only version the v1.14.1 CRD serves (the v1.14 docs still show v1alpha1).
        "apiVersion": "autoscaling.x-k8s.io/v1beta1",
        "kind": "CapacityBuffer",
        "metadata": {"name": "gpu-eks-warm-chat", "namespace": "kube-system", "labels": {"gpu-eks/pool": "chat"}},
        "spec": {
            "provisioningStrategy": "buffer.x-k8s.io/active-capacity",
            "podTemplateRef": {"name": "gpu-eks-warm-chat"},
            "replicas": 8,
        },
    }
    template = warm_pod_template(plan)
    assert (template["apiVersion"], template["kind"], template["metadata"]["namespace"]) == (
        "v1",
        "PodTemplate",
        "kube-system",
    )
    spec = template["template"]["spec"]
    assert spec["nodeSelector"] == {"gpu-eks/pool": "chat"}
    assert spec["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "gpu-eks/sharing", "operator": "Equal", "value": "time-slicing", "effect": "NoSchedule"},
        {"key": "team", "operator": "Equal", "value": "chat", "effect": "NoSchedule"},
    ]
    (container,) = spec["containers"]
    assert container["resources"] == {"limits": {"nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "1"}}


def test_a_pool_without_warm_slices_has_no_buffer():
    (plan,) = plan_of(gpu_pool())
    with pytest.raises(ValueError, match="keeps no warm slices"):
        capacity_buffer(plan)


# -- the contract ----------------------------------------------------------------------------------------------


def test_a_reserved_contract_lists_its_capacity_types_and_reservation_terms():
    (plan,) = plan_of(
        reserved_pool(capacityReservations=[{"id": CR_ID}, {"tags": {"purpose": "llm"}, "ownerId": "111122223333"}])
    )
    contract = workload_contract(plan, "us-east-1")
    assert contract["capacityTypes"] == ["reserved", "on-demand"]
    assert contract["capacityReservations"] == [{"id": CR_ID}, {"tags": {"purpose": "llm"}, "ownerID": "111122223333"}]
    assert "warmSlices" not in contract and "instanceStore" not in contract


def test_a_warm_contract_shows_what_idle_slices_cost():
    (plan,) = plan_of(
        gpu_pool(
            instanceFamilies=[],
            instanceTypes=["g6e.xlarge", "g6e.12xlarge"],
            warmSlices=6,
            sharing={"strategy": "time-slicing", "replicas": 4},
        )
    )
    contract = workload_contract(plan, "us-east-1")
    warm = contract["warmSlices"]
    # 6 slices: two g6e.xlarge (4 slices each) or one g6e.12xlarge (16), paid in full while idle.
    assert (warm["slices"], warm["capacityBuffer"], warm["nodesWhenIdle"]) == (
        6,
        "kube-system/gpu-eks-warm-pool",
        {"g6e.xlarge": 2, "g6e.12xlarge": 1},
    )
    for name, nodes in warm["nodesWhenIdle"].items():
        per_node = contract["usdPerSliceHour"][name] * contract["slicesPerNode"][name]
        assert warm["usdPerHourWhenIdle"][name] == pytest.approx(per_node * nodes, abs=0.01)


def test_a_raid0_contract_shows_the_ephemeral_storage_per_node():
    (plan,) = plan_of(reserved_pool(instanceStore="raid0"))
    # p5.48xlarge: 8 x 3800 GB NVMe = 30400 GB (Karpenter v1.14 instance-types, instance-local-nvme).
    assert workload_contract(plan, "us-east-1")["instanceStore"] == {
        "policy": "raid0",
        "ephemeralStorageGbPerNode": {"p5.48xlarge": 30400},
    }


# -- the catalog's local NVMe facts ------------------------------------------------------------------------------


def test_every_catalog_instance_type_has_a_local_nvme_fact():
    assert set(catalog.LOCAL_NVME_GB) == set(catalog.INSTANCE_TYPES)


@pytest.mark.parametrize(
    "name, gb",
    [
        # Karpenter v1.14 reference/instance-types.md, karpenter.k8s.aws/instance-local-nvme.
        ("g4dn.xlarge", 125),
        ("g5.48xlarge", 7600),
        ("g6.12xlarge", 3760),
        ("g6e.xlarge", 250),
        ("p4d.24xlarge", 8000),
        ("p5.4xlarge", 3800),
        ("p5.48xlarge", 30400),
        ("p6-b200.48xlarge", 30400),
        ("g5g.xlarge", None),
        ("g5g.metal", None),
    ],
)
def test_local_nvme_matches_karpenters_instance_type_reference(name, gb):
    assert catalog.local_nvme_gb(name) == gb


def test_local_nvme_of_an_unknown_type_is_a_key_error():
    with pytest.raises(KeyError, match="not in the GPU catalog"):
        catalog.local_nvme_gb("g7.xlarge")


# -- what the component registers -------------------------------------------------------------------------------


def test_a_warm_pool_registers_its_buffer_after_its_pool_and_template(stack_or_variant_run):
    run = stack_or_variant_run("warm-team-pools")
    by_name = {r.name: r for r in run.resources}
    buffer, template, pool = by_name["gpu-chat-warm"], by_name["gpu-chat-warm-slice"], by_name["gpu-chat"]
    assert buffer.type == "kubernetes:autoscaling.x-k8s.io/v1beta1:CapacityBuffer"
    assert template.type == "kubernetes:core/v1:PodTemplate"
    # Created after (and so deleted before) the NodePool it keeps warm and the template it names.
    assert {pool.urn, template.urn} <= set(buffer.dependencies)
    assert any(urn.endswith("::karpenter-crd") for urn in buffer.dependencies)
    assert "gpu-whole-warm" not in by_name  # a pool without warmSlices gets no buffer


def test_a_reserved_raid0_pool_registers_its_node_class_with_both(stack_or_variant_run):
    run = stack_or_variant_run("reserved-training")
    (node_class,) = [r for r in run.resources if r.name == "gpu-training-nodeclass"]
    spec = node_class.plain_inputs()["spec"]
    assert spec["instanceStorePolicy"] == "RAID0"
    assert spec["capacityReservationSelectorTerms"][0] == {"id": CR_ID}
