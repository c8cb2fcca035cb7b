"""GPU builders and the rendered GPU graph: capacities, overlays, labels, NVIDIA chart choice and values,
and the per-pool workload contract. Expected figures are worked out by hand from the facts in the comments.
"""

from __future__ import annotations

import pytest
import yaml

from components.gpu.config import GpuNodePoolConfig, SharingConfig
from components.gpu.contract import workload_contract
from components.gpu.nvidia_values import device_plugin_configs, nvidia_chart
from components.gpu.overlays import node_overlays
from components.gpu.pools import gpu_node_pool, plan_pool
from preflight.helm.render import chart_dir
from preflight.helm.values import load_chart_values, unknown_release_value_paths, unknown_value_paths
from preflight.placement import mig_parted
from tests.support.device_plugin_rules import validate_device_plugin_config
from tests.support.stacks import karpenter_manifests
from tests.support.upstream import upstream_file


def pool(
    instance_types, strategy="none", replicas=None, profile=None, max_gpus=8, name="pool", capacity_types=("on-demand",)
):
    return plan_pool(
        GpuNodePoolConfig(
            name=name,
            instance_types=tuple(instance_types),
            capacity_types=tuple(capacity_types),
            max_gpus=max_gpus,
            sharing=SharingConfig(strategy, replicas, profile),
        )
    )


# -- capacities (what a node advertises) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "instance_type, strategy, replicas, profile, resource, slices",
    [
        ("p4d.24xlarge", "mig", None, "1g.5gb", "nvidia.com/mig-1g.5gb", 56),  # 8 A100-40GB x 7
        ("p4d.24xlarge", "mig", None, "3g.20gb", "nvidia.com/mig-3g.20gb", 16),  # 8 x 2
        ("p5.48xlarge", "mig", None, "1g.10gb", "nvidia.com/mig-1g.10gb", 56),  # 8 H100-80GB x 7
        ("p6-b200.48xlarge", "mig", None, "2g.45gb", "nvidia.com/mig-2g.45gb", 24),  # 8 B200 x 3
        ("g5.12xlarge", "time-slicing", 4, None, "nvidia.com/gpu", 16),  # 4 A10G x 4
        ("g6.xlarge", "time-slicing", 4, None, "nvidia.com/gpu", 4),  # 1 L4 x 4
        ("g5.48xlarge", "mps", 8, None, "nvidia.com/gpu", 64),  # 8 A10G x 8
        ("g4dn.12xlarge", "none", None, None, "nvidia.com/gpu", 4),  # 4 T4, whole
    ],
)
def test_slices_per_node(instance_type, strategy, replicas, profile, resource, slices):
    plan = pool([instance_type], strategy, replicas, profile)
    assert plan.resource_name == resource
    assert plan.slices_per_node == {instance_type: slices}


def test_one_overlay_per_gpu_count_with_sliced_capacity():
    plan = pool(["g5.xlarge", "g5.2xlarge", "g5.12xlarge", "g5.48xlarge"], "time-slicing", 4, name="inference")
    overlays = {o["metadata"]["name"]: o["spec"] for o in node_overlays(plan)}
    assert {name: spec["capacity"] for name, spec in overlays.items()} == {
        "inference-1gpu": {"nvidia.com/gpu": "4"},
        "inference-4gpu": {"nvidia.com/gpu": "16"},
        "inference-8gpu": {"nvidia.com/gpu": "32"},
    }
    assert overlays["inference-4gpu"]["requirements"] == [
        {"key": "gpu-eks/pool", "operator": "In", "values": ["inference"]},
        {"key": "karpenter.k8s.aws/instance-gpu-count", "operator": "In", "values": ["4"]},
    ]


def test_mig_overlay_advertises_profiles_and_no_whole_gpus():
    (overlay,) = node_overlays(pool(["p4d.24xlarge"], "mig", profile="1g.5gb"))
    assert overlay["spec"]["capacity"] == {"nvidia.com/mig-1g.5gb": "56", "nvidia.com/gpu": "0"}


def test_whole_gpu_pool_has_no_overlay():
    assert node_overlays(pool(["g4dn.xlarge"])) == []


# -- NodePool ---------------------------------------------------------------------------------------------------


def test_time_sliced_pool_is_tainted_labelled_and_limited_in_slices():
    spec = gpu_node_pool(pool(["g5.xlarge"], "time-slicing", 4, max_gpus=16, name="inference"))["spec"]
    labels = spec["template"]["metadata"]["labels"]
    assert labels == {
        "nvidia.com/gpu.present": "true",
        "gpu-eks/pool": "inference",
        "gpu-eks/sharing": "time-slicing",
        "nvidia.com/device-plugin.config": "time-slicing-4",
    }
    # The GPU taint, and the sharing taint that keeps pods wanting a whole GPU off time-sliced nodes.
    assert spec["template"]["spec"]["taints"] == [
        {"key": "nvidia.com/gpu", "effect": "NoSchedule"},
        {"key": "gpu-eks/sharing", "value": "time-slicing", "effect": "NoSchedule"},
    ]
    assert spec["limits"] == {"nvidia.com/gpu": "64"}  # 16 physical GPUs x 4 slices


def test_mig_pool_selects_its_layout_and_limits_in_mig_slices():
    spec = gpu_node_pool(pool(["p4d.24xlarge"], "mig", profile="1g.5gb", max_gpus=16, name="mig"))["spec"]
    assert spec["template"]["metadata"]["labels"]["nvidia.com/mig.config"] == "all-1g.5gb"
    assert "nvidia.com/device-plugin.config" not in spec["template"]["metadata"]["labels"]
    assert spec["limits"] == {"nvidia.com/mig-1g.5gb": "112"}  # 16 GPUs x 7


def test_pool_requirements_list_exactly_the_resolved_instance_types():
    requirements = gpu_node_pool(pool(["g6.xlarge", "g6.2xlarge"]))["spec"]["template"]["spec"]["requirements"]
    assert requirements[0] == {
        "key": "node.kubernetes.io/instance-type",
        "operator": "In",
        "values": ["g6.xlarge", "g6.2xlarge"],
    }


def test_graviton_gpu_pool_requires_arm64():
    requirements = gpu_node_pool(pool(["g5g.xlarge"]))["spec"]["template"]["spec"]["requirements"]
    assert {"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]} in requirements


# -- NVIDIA software --------------------------------------------------------------------------------------------


def test_no_mig_pool_installs_the_device_plugin_chart():
    chart = nvidia_chart([pool(["g5.xlarge"], "time-slicing", 4)])
    assert (chart.chart, chart.version, chart.repository) == (
        "nvidia-device-plugin",
        "0.20.0",
        "https://nvidia.github.io/k8s-device-plugin",
    )
    assert chart.values["gfd"] == {"enabled": True}
    assert set(chart.values["config"]["map"]) == {"default", "time-slicing-4"}


def test_any_mig_pool_installs_the_gpu_operator_without_driver_and_toolkit():
    chart = nvidia_chart([pool(["g5.xlarge"], "mps", 8), pool(["p4d.24xlarge"], "mig", profile="1g.5gb")])
    assert (chart.chart, chart.version) == ("gpu-operator", "v26.7.0")
    values = chart.values
    assert values["driver"] == {"enabled": False} and values["toolkit"] == {"enabled": False}
    assert values["mig"] == {"strategy": "mixed"}
    assert values["migManager"]["enabled"] is True
    assert set(values["devicePlugin"]["config"]["data"]) == {"default", "mps-8"}
    assert "WITH_REBOOT" not in str(values["migManager"])  # not a chart key (nvidia.md §5)


def test_every_nvidia_daemon_tolerates_the_gpu_taint():
    gpu_toleration = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    plugin = nvidia_chart([pool(["g5.xlarge"])]).values
    assert gpu_toleration in plugin["tolerations"]
    assert gpu_toleration in plugin["nfd"]["worker"]["tolerations"]
    operator = nvidia_chart([pool(["p4d.24xlarge"], "mig", profile="1g.5gb")]).values
    assert gpu_toleration in operator["daemonsets"]["tolerations"]
    assert gpu_toleration in operator["node-feature-discovery"]["worker"]["tolerations"]


@pytest.mark.parametrize(
    "plans, values_file",
    [
        (
            [pool(["g5.xlarge"], "time-slicing", 4), pool(["g6.xlarge"], "mps", 8)],
            "k8s-device-plugin-v0.20.0-values.yaml",
        ),
        (
            [pool(["p4d.24xlarge"], "mig", profile="1g.5gb"), pool(["g5.xlarge"], "time-slicing", 2)],
            "gpu-operator-v26.7.0-values.yaml",
        ),
    ],
    ids=["device-plugin", "gpu-operator"],
)
def test_every_nvidia_values_key_exists_in_the_pinned_chart(plans, values_file):
    chart = nvidia_chart(plans)
    defaults = load_chart_values(upstream_file("nvidia", values_file))
    # Keys for the NFD subchart (placement of its master, gc and worker) are declared in the subchart's own
    # values.yaml, so they are checked against the chart source with its subcharts.
    subchart_key = {"nvidia-device-plugin": "nfd", "gpu-operator": "node-feature-discovery"}[chart.chart]
    parent_values = {k: v for k, v in chart.values.items() if k != subchart_key}
    assert unknown_value_paths(parent_values, defaults) == []
    assert unknown_release_value_paths(chart.values, chart_dir(chart.chart)) == []


@pytest.mark.parametrize("mig_strategy", ["none", "mixed"])
def test_every_device_plugin_config_passes_the_plugins_own_rules(mig_strategy):
    plans = [
        pool(["g5.xlarge"]),
        pool(["g5.xlarge"], "time-slicing", 2),
        pool(["g6.xlarge"], "time-slicing", 64),
        pool(["g5.xlarge"], "mps", 2),
        pool(["g6e.xlarge"], "mps", 48),
    ]
    configs = device_plugin_configs(plans, mig_strategy)
    assert set(configs) == {"default", "time-slicing-2", "time-slicing-64", "mps-2", "mps-48"}
    for name, config in configs.items():
        assert validate_device_plugin_config(config) == [], name
        assert config["flags"]["migStrategy"] == mig_strategy


def test_rendered_configs_are_the_yaml_the_plugin_reads(stack_run):
    release = next(
        r
        for r in stack_run("dev").by_type("kubernetes:helm.sh/v3:Release")
        if r.plain_inputs()["chart"] == "nvidia-device-plugin"
    )
    config = yaml.safe_load(release.plain_inputs()["values"]["config"]["map"]["time-slicing-4"])
    assert validate_device_plugin_config(config) == []
    assert config["sharing"]["timeSlicing"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 4}]
    assert config["sharing"]["timeSlicing"]["renameByDefault"] is False  # overlays count nvidia.com/gpu


@pytest.mark.parametrize(
    "instance_type, profile",
    [
        ("p4d.24xlarge", "1g.5gb"),
        ("p4d.24xlarge", "3g.20gb"),
        ("p4de.24xlarge", "1g.10gb"),
        ("p5.48xlarge", "2g.20gb"),
        ("p5en.48xlarge", "1g.18gb"),
        ("p6-b200.48xlarge", "7g.180gb"),
    ],
)
def test_mig_config_exists_upstream_and_partitions_the_pools_gpu(instance_type, profile):
    plan = pool([instance_type], "mig", profile=profile)
    assert plan.mig_config_name in mig_parted.config_names()
    layout = mig_parted.partitions(plan.mig_config_name, plan.instance_types[0].gpu_model)
    assert layout == {profile: plan.slices_per_gpu}


# -- contract ---------------------------------------------------------------------------------------------------


def test_contract_for_mig_on_p4d():
    contract = workload_contract(pool(["p4d.24xlarge"], "mig", profile="1g.5gb", name="mig"), "us-east-1")
    assert contract["resourceName"] == "nvidia.com/mig-1g.5gb"
    assert contract["slicesPerNode"] == {"p4d.24xlarge": 56}
    assert contract["usdPerSliceHour"] == {"p4d.24xlarge": 0.3921}  # 21.957642 $/h / 56
    assert contract["priceSource"] == (
        "on-demand us-east-1, Karpenter v1.14.1 pricing snapshot 2026-07-06 (not an AWS quote)"
    )
    assert contract["nodeSelector"] == {"gpu-eks/pool": "mig"}
    assert contract["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "gpu-eks/sharing", "operator": "Equal", "value": "mig", "effect": "NoSchedule"},
    ]


def test_contract_for_time_slicing_on_g5():
    contract = workload_contract(pool(["g5.xlarge", "g5.12xlarge"], "time-slicing", 4), "us-east-1")
    assert contract["slicesPerNode"] == {"g5.xlarge": 4, "g5.12xlarge": 16}
    assert contract["usdPerSliceHour"] == {"g5.xlarge": 0.2515, "g5.12xlarge": 0.3545}  # 1.006/4, 5.672/16
    assert contract["replicas"] == 4


def test_contract_prices_are_the_stack_regions_own():
    # Karpenter v1.14.1 zz_generated.pricing_aws_us_gov.go: g4dn.xlarge 0.663 $/h in us-gov-west-1 (0.526 in
    # us-east-1), so a GovCloud stack must not quote the us-east-1 number.
    contract = workload_contract(pool(["g4dn.xlarge"], "time-slicing", 4), "us-gov-west-1")
    assert contract["usdPerSliceHour"] == {"g4dn.xlarge": 0.1658}  # 0.663 / 4
    assert contract["priceSource"].startswith("on-demand us-gov-west-1, Karpenter v1.14.1 pricing snapshot 2026-06-15")


def test_contract_in_a_region_without_price_data_has_no_prices_and_says_why():
    contract = workload_contract(pool(["g5.xlarge"], "time-slicing", 4), "ap-northeast-1")
    assert contract["usdPerSliceHour"] == {"g5.xlarge": None}
    assert contract["priceSource"] == (
        "none for ap-northeast-1: Karpenter v1.14.1's pricing data has on-demand prices for us-east-1, "
        "us-gov-east-1, us-gov-west-1 only (Karpenter prices ap-northeast-1 from the AWS Price List API at run time)"
    )


def test_a_spot_only_pools_price_is_labelled_an_on_demand_ceiling():
    contract = workload_contract(pool(["g5.xlarge"], capacity_types=["spot"]), "us-east-1")
    assert contract["usdPerSliceHour"] == {"g5.xlarge": 1.006}
    assert contract["priceSource"].startswith("spot ceiling: on-demand us-east-1, Karpenter v1.14.1")
    assert "costs at most this" in contract["priceSource"]


def test_a_pool_that_may_run_spot_says_spot_costs_at_most_the_price():
    contract = workload_contract(pool(["g5.xlarge"], capacity_types=["spot", "on-demand"]), "us-east-1")
    assert contract["priceSource"].endswith("(not an AWS quote); spot nodes cost at most this")


def test_a_reserved_pools_price_is_labelled_a_comparison():
    reserved_only = workload_contract(pool(["p5.48xlarge"], capacity_types=["reserved"]), "us-east-1")
    assert reserved_only["priceSource"].startswith("reserved capacity, paid for by its reservation; for comparison: ")
    with_fallback = workload_contract(pool(["p5.48xlarge"], capacity_types=["reserved", "on-demand"]), "us-east-1")
    assert with_fallback["priceSource"].endswith("; reserved nodes are paid for by their reservation")


def test_contract_price_is_unknown_where_ec2_does_not_sell_the_type():
    # p5e.48xlarge has no us-east-1 entry in Karpenter's pricing data (the config keeps such pools out of
    # us-east-1; the contract builder alone still must not invent a price).
    assert workload_contract(pool(["p5e.48xlarge"]), "us-east-1")["usdPerSliceHour"] == {"p5e.48xlarge": None}


# -- the rendered graph -----------------------------------------------------------------------------------------


def test_dev_runs_the_device_plugin_and_prod_the_gpu_operator(stack_run):
    charts = {
        stack: {r.plain_inputs()["chart"] for r in stack_run(stack).by_type("kubernetes:helm.sh/v3:Release")}
        for stack in ("dev", "prod")
    }
    # Plus the metrics stack; dev's device plugin brings no DCGM exporter, so the metrics stack adds one.
    assert charts["dev"] == {
        "oci://public.ecr.aws/karpenter/karpenter-crd",
        "oci://public.ecr.aws/karpenter/karpenter",
        "nvidia-device-plugin",
        "kube-prometheus-stack",
        "dcgm-exporter",
    }
    assert charts["prod"] == {
        "oci://public.ecr.aws/karpenter/karpenter-crd",
        "oci://public.ecr.aws/karpenter/karpenter",
        "gpu-operator",
        "kube-prometheus-stack",
    }


def test_gpu_pools_wait_for_the_nvidia_stack_and_their_overlays(stack_run):
    run = stack_run("prod")
    nvidia = next(
        r for r in run.by_type("kubernetes:helm.sh/v3:Release") if r.plain_inputs()["chart"] == "gpu-operator"
    )
    overlays = {
        r.plain_inputs()["metadata"]["name"]: r.urn for r in run.by_type("kubernetes:karpenter.sh/v1alpha1:NodeOverlay")
    }
    pools = {r.plain_inputs()["metadata"]["name"]: r for r in run.by_type("kubernetes:karpenter.sh/v1:NodePool")}
    assert nvidia.urn in pools["mig-inference"].dependencies
    assert overlays["mig-inference-8gpu"] in pools["mig-inference"].dependencies
    assert nvidia.urn not in pools["general-amd64"].dependencies


def test_prod_has_a_mig_a_whole_gpu_and_a_time_sliced_pool(stack_run):
    contracts = stack_run("prod").outputs["gpuPools"]
    assert {name: c["strategy"] for name, c in contracts.items()} == {
        "mig-inference": "mig",
        "training": "none",
        "inference": "time-slicing",
    }
    assert contracts["training"]["slicesPerNode"] == {"p5.4xlarge": 1, "p5.48xlarge": 8}


def test_dev_inference_pool_is_time_sliced_on_g5_and_g6_spot_and_on_demand(stack_run):
    contract = stack_run("dev").outputs["gpuPools"]["inference"]
    assert contract["strategy"] == "time-slicing"
    assert contract["capacityTypes"] == ["spot", "on-demand"]
    assert {t.split(".")[0] for t in contract["slicesPerNode"]} == {"g5", "g6"}
    assert contract["slicesPerNode"]["g6.48xlarge"] == 32  # 8 L4 x 4


def test_cpu_only_stack_installs_no_nvidia_software(run_with):
    run = run_with("dev", gpuNodePools=None)
    assert {r.plain_inputs()["name"] for r in run.by_type("kubernetes:helm.sh/v3:Release")} == {
        "karpenter-crd",
        "karpenter",
        "kube-prometheus-stack",
    }
    assert run.outputs["gpuPools"] == {}


GPU_VARIATIONS = [
    {"name": "whole-t4", "instanceFamilies": ["g4dn"], "maxGpus": 8},
    {
        "name": "arm-t4g",
        "instanceFamilies": ["g5g"],
        "maxGpus": 2,
        "sharing": {"strategy": "time-slicing", "replicas": 2},
    },
    {"name": "mps-l40s", "instanceFamilies": ["g6e"], "maxGpus": 8, "sharing": {"strategy": "mps", "replicas": 48}},
    {
        "name": "mig-h200",
        "instanceTypes": ["p5en.48xlarge"],
        "maxGpus": 8,
        "sharing": {"strategy": "mig", "profile": "1g.18gb+me"},
    },
    {
        "name": "mig-b200",
        "instanceFamilies": ["p6-b200"],
        "maxGpus": 8,
        "capacityTypes": ["spot"],
        "weight": 50,
        "sharing": {"strategy": "mig", "profile": "7g.180gb"},
        "expireAfter": "Never",
        "rootVolumeGib": 1000,
        "disruption": {
            "consolidationPolicy": "Balanced",
            "consolidateAfter": "1h",
            "budgets": [{"nodes": "0", "schedule": "0 9 * * mon-fri", "duration": "8h"}],
        },
    },
]


def test_generated_gpu_variations_conform_to_the_crds(run_with, crd_validator):
    # MPS cannot share a stack with MIG (the operator's mixed-strategy device plugin refuses it), and the node
    # monitoring agent has no DCGM engine for an exporter on arm64 (g5g): two runs, without auto repair.
    mps = [p for p in GPU_VARIATIONS if p.get("sharing", {}).get("strategy") == "mps"]
    rest = [p for p in GPU_VARIATIONS if p not in mps]
    for pools in (rest, mps):
        run = run_with("dev", gpuNodePools=pools, nodeHealth={"autoRepair": False})
        manifests = karpenter_manifests(run)
        assert {m["kind"] for m in manifests} == {"EC2NodeClass", "NodePool", "NodeOverlay"}
        for manifest in manifests:
            assert crd_validator.validate(manifest) == [], manifest["metadata"]["name"]
