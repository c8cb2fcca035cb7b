"""Conformance: every Karpenter object the program renders is accepted by the upstream v1.14.1 CRDs.

Checked with the offline validator (OpenAPI schema and CEL rules) for every repo stack and for generated
variations of the config, so a builder change that the API server would reject fails here first.
"""

from __future__ import annotations

import itertools
import random

import pytest

from components.karpenter.manifests import RootVolume, ec2_node_class, general_node_pool
from components.karpenter.node_pool_config import DisruptionBudgetConfig, DisruptionConfig, NodePoolConfig
from tests.support.stack_variants import STACK_VARIANTS
from tests.support.stacks import REPO_STACKS, karpenter_manifests


@pytest.mark.parametrize("stack", REPO_STACKS)
def test_every_rendered_karpenter_object_is_valid(stack_run, crd_validator, stack):
    manifests = karpenter_manifests(stack_run(stack))
    assert {m["kind"] for m in manifests} >= {"EC2NodeClass", "NodePool"}
    for manifest in manifests:
        assert crd_validator.validate(manifest) == [], manifest["metadata"]["name"]


ALL_POOL_VARIATIONS = [
    NodePoolConfig(
        name=f"pool-{index}",
        architectures=architectures,
        capacity_types=capacity_types,
        cpus=cpus,
        min_generation=generation,
        weight=weight,
        max_memory_gib=memory,
        expire_after=expire,
        disruption=disruption,
    )
    for index, (architectures, capacity_types, cpus, generation, weight, memory, expire, disruption) in enumerate(
        itertools.product(
            [("amd64",), ("arm64",), ("amd64", "arm64")],
            [("spot",), ("on-demand",), ("spot", "on-demand")],
            [(), (2, 4, 8)],
            [None, 7],
            [None, 100],
            [None, 512],
            ["720h", "Never"],
            [
                DisruptionConfig(),
                DisruptionConfig(consolidation_policy="WhenEmpty", consolidate_after="Never"),
                DisruptionConfig(
                    consolidation_policy="Balanced",
                    consolidate_after="30s",
                    budgets=(
                        DisruptionBudgetConfig(
                            nodes="0", schedule="0 9 * * mon-fri", duration="8h", reasons=("Drifted",)
                        ),
                        DisruptionBudgetConfig(nodes="20%"),
                    ),
                ),
            ],
        )
    )
]
# A seeded sample keeps the suite fast; the check below proves every value of every dimension is covered.
POOL_VARIATIONS = random.Random(20261123).sample(ALL_POOL_VARIATIONS, 60)


def test_sampled_variations_cover_every_value_of_every_dimension():
    for attribute in (
        "architectures",
        "capacity_types",
        "cpus",
        "min_generation",
        "weight",
        "max_memory_gib",
        "expire_after",
        "disruption",
    ):
        assert {getattr(p, attribute) for p in POOL_VARIATIONS} == {getattr(p, attribute) for p in ALL_POOL_VARIATIONS}


def test_generated_node_pool_variations_are_valid(crd_validator):
    failures = {
        pool.name: errors
        for pool in POOL_VARIATIONS
        if (errors := crd_validator.validate(general_node_pool(pool, "default")))
    }
    assert failures == {}


@pytest.mark.parametrize(
    "subnet_selector",
    [
        [{"tags": {"karpenter.sh/discovery": "c"}}],
        [{"id": "subnet-0aaa1111"}, {"id": "subnet-0bbb2222"}],
    ],
)
@pytest.mark.parametrize("root_volume", [RootVolume(), RootVolume(size_gib=500, iops=16000, throughput_mibps=1000)])
def test_node_class_variations_are_valid(crd_validator, subnet_selector, root_volume):
    manifest = ec2_node_class(
        "gpu",
        role_name="c-karpenter-node",
        cluster_name="c",
        subnet_selector=subnet_selector,
        ami_alias="al2023@latest",
        root_volume=root_volume,
        tags={"team": "ml"},
    )
    assert crd_validator.validate(manifest) == []


def test_brought_vpc_and_irsa_stack_is_valid(run_with, crd_validator):
    run = run_with(
        "prod",
        karpenter={"identity": "irsa"},
        network={"vpcId": "vpc-0abc12345", "privateSubnetIds": ["subnet-0aaa1111", "subnet-0bbb2222"]},
    )
    for manifest in karpenter_manifests(run):
        assert crd_validator.validate(manifest) == [], manifest["metadata"]["name"]


def test_validator_rejects_a_broken_rendered_object(stack_run, crd_validator):
    # The same check fails when a rendered object is broken, so the passes above mean something.
    manifest = next(m for m in karpenter_manifests(stack_run("dev")) if m["kind"] == "EC2NodeClass")
    manifest["spec"]["instanceProfile"] = "also-a-profile"  # CEL: exactly one of role / instanceProfile
    errors = crd_validator.validate(manifest)
    assert any("must specify exactly one of ['role', 'instanceProfile']" in e for e in errors), errors


# -- reserved capacity, warm slices, team taints, RAID0 (issue 11) -----------------------------------------------


@pytest.mark.parametrize("variant", [variant.name for variant in STACK_VARIANTS])
def test_every_karpenter_object_of_every_stack_variant_is_valid(stack_or_variant_run, crd_validator, variant):
    failures = {
        f"{m['kind']} {m['metadata']['name']}": errors
        for m in karpenter_manifests(stack_or_variant_run(variant))
        if (errors := crd_validator.validate(m))
    }
    assert failures == {}


def test_the_capacity_variants_render_every_new_field(stack_or_variant_run):
    # Guards the test above against passing on objects that lack what it must check.
    reserved = karpenter_manifests(stack_or_variant_run("reserved-training"))
    (node_class,) = [m for m in reserved if m["kind"] == "EC2NodeClass" and m["metadata"]["name"] == "gpu-training"]
    assert node_class["spec"]["capacityReservationSelectorTerms"] == [
        {"id": "cr-0123456789abcdef0"},
        {"tags": {"purpose": "llm-training"}, "ownerID": "111122223333"},
    ]
    assert node_class["spec"]["instanceStorePolicy"] == "RAID0"
    ebs = node_class["spec"]["blockDeviceMappings"][0]["ebs"]
    assert (ebs["volumeSize"], ebs["iops"], ebs["throughput"]) == ("500Gi", 6000, 500)
    warm = karpenter_manifests(stack_or_variant_run("warm-team-pools"))
    assert sorted(m["metadata"]["name"] for m in warm if m["kind"] == "CapacityBuffer") == [
        "gpu-eks-warm-chat",
        "gpu-eks-warm-search",
    ]
    (chat,) = [m for m in warm if m["kind"] == "NodePool" and m["metadata"]["name"] == "chat"]
    assert {"key": "team", "value": "chat", "effect": "NoSchedule"} in chat["spec"]["template"]["spec"]["taints"]


@pytest.mark.parametrize(
    "terms",
    [
        [{"id": "cr-0123456789abcdef0"}],
        [{"tags": {"purpose": "llm-training", "team": "*"}}],
        [{"tags": {"purpose": "llm-training"}, "ownerID": "012345678901"}, {"id": "cr-0123456789abcdef1"}],
    ],
)
@pytest.mark.parametrize("instance_store_policy", [None, "RAID0"])
def test_node_classes_with_reservations_and_raid0_are_valid(crd_validator, terms, instance_store_policy):
    manifest = ec2_node_class(
        "gpu",
        role_name="c-karpenter-node",
        cluster_name="c",
        subnet_selector=[{"tags": {"karpenter.sh/discovery": "c"}}],
        ami_alias="al2023@latest",
        root_volume=RootVolume(size_gib=160, iops=80000, throughput_mibps=2000),
        tags={"team": "ml"},
        capacity_reservation_terms=terms,
        instance_store_policy=instance_store_policy,
    )
    assert crd_validator.validate(manifest) == []


def test_the_crd_refuses_an_id_term_with_tags_as_the_config_does(crd_validator):
    # The config refuses `id` with `tags` (tests/gpu/test_capacity.py) for the same reason the CRD does.
    manifest = ec2_node_class(
        "gpu",
        role_name="r",
        cluster_name="c",
        subnet_selector=[{"tags": {"karpenter.sh/discovery": "c"}}],
        ami_alias="al2023@latest",
        root_volume=RootVolume(),
        tags={},
        capacity_reservation_terms=[{"id": "cr-0123456789abcdef0", "tags": {"a": "b"}}],
    )
    errors = crd_validator.validate(manifest)
    assert any("'id' is mutually exclusive" in e for e in errors), errors


def test_the_crd_refuses_a_capacity_buffer_without_replicas_or_limits(stack_or_variant_run, crd_validator):
    buffer = next(
        m for m in karpenter_manifests(stack_or_variant_run("warm-team-pools")) if m["kind"] == "CapacityBuffer"
    )
    del buffer["spec"]["replicas"]
    errors = crd_validator.validate(buffer)
    assert any("If podTemplateRef is set, replicas or limits must also be set" in e for e in errors), errors


def test_the_capacity_buffer_api_version_of_the_docs_is_not_served(stack_or_variant_run, crd_validator):
    # concepts/capacitybuffers.md (v1.14) shows autoscaling.x-k8s.io/v1alpha1; the v1.14.1 CRD serves only v1beta1.
    buffer = next(
        m for m in karpenter_manifests(stack_or_variant_run("warm-team-pools")) if m["kind"] == "CapacityBuffer"
    )
    assert ("autoscaling.x-k8s.io/v1beta1", "CapacityBuffer") in crd_validator.served()
    assert ("autoscaling.x-k8s.io/v1alpha1", "CapacityBuffer") not in crd_validator.served()
    assert buffer["apiVersion"] == "autoscaling.x-k8s.io/v1beta1"
