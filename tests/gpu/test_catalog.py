"""Tests for components/gpu/catalog.py: facts against the research tables, MIG tables against upstream.

Expected values are typed in from the research notes (nvidia.md sections 3.1/3.2) and the Karpenter
v1.14 instance-types page, never derived from the catalog itself. The MIG cross-check reads the GPU
Operator's default mig-parted config through preflight/placement/mig_parted.py.
"""

from __future__ import annotations

import dataclasses

import pytest

from components.gpu import catalog
from components.gpu.nvidia_config import mig_config_name
from preflight.placement import mig_parted

REQUIRED_FAMILIES = ["g4dn", "g5", "g5g", "g6", "g6e", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200"]

# family -> {size: GPUs}, as AWS offers them (brief + Karpenter v1.14 instance-types page).
FAMILY_GPUS = {
    "g4dn": {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "12xlarge": 4, "16xlarge": 1, "metal": 8},
    "g5": {
        "xlarge": 1,
        "2xlarge": 1,
        "4xlarge": 1,
        "8xlarge": 1,
        "16xlarge": 1,
        "12xlarge": 4,
        "24xlarge": 4,
        "48xlarge": 8,
    },
    "g5g": {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 2, "metal": 2},
    "g6": {
        "xlarge": 1,
        "2xlarge": 1,
        "4xlarge": 1,
        "8xlarge": 1,
        "16xlarge": 1,
        "12xlarge": 4,
        "24xlarge": 4,
        "48xlarge": 8,
    },
    "g6e": {
        "xlarge": 1,
        "2xlarge": 1,
        "4xlarge": 1,
        "8xlarge": 1,
        "16xlarge": 1,
        "12xlarge": 4,
        "24xlarge": 4,
        "48xlarge": 8,
    },
    "p4d": {"24xlarge": 8},
    "p4de": {"24xlarge": 8},
    "p5": {"4xlarge": 1, "48xlarge": 8},
    "p5e": {"48xlarge": 8},
    "p5en": {"48xlarge": 8},
    "p6-b200": {"48xlarge": 8},
}

# nvidia.md 3.2: type -> (GPUs, Karpenter GPU name, MiB per GPU). Its prices are checked in test_prices.py.
RESEARCH_TABLE = {
    "p4d.24xlarge": (8, "a100", 40960),
    "p4de.24xlarge": (8, "a100", 81920),
    "p5.4xlarge": (1, "h100", 81920),
    "p5.48xlarge": (8, "h100", 81920),
    "p5e.48xlarge": (8, "h200", 144384),
    "p5en.48xlarge": (8, "h200", 144384),
    "p6-b200.48xlarge": (8, "b200", 183359),
}
# nvidia.md 3.2 GPU and memory per g-family.
RESEARCH_G_GPUS = {
    "g4dn": ("t4", 16384),
    "g5": ("a10g", 22888),
    "g5g": ("t4g", 16384),
    "g6": ("l4", 22888),
    "g6e": ("l40s", 45776),
}

# nvidia.md 3.1, typed in again here so a slip in either copy shows up.
RESEARCH_MIG = {
    "A100-40GB": {"1g.5gb": 7, "1g.5gb+me": 1, "1g.10gb": 4, "2g.10gb": 3, "3g.20gb": 2, "4g.20gb": 1, "7g.40gb": 1},
    "A100-80GB": {"1g.10gb": 7, "1g.10gb+me": 1, "1g.20gb": 4, "2g.20gb": 3, "3g.40gb": 2, "4g.40gb": 1, "7g.80gb": 1},
    "H100-80GB": {"1g.10gb": 7, "1g.10gb+me": 1, "1g.20gb": 4, "2g.20gb": 3, "3g.40gb": 2, "4g.40gb": 1, "7g.80gb": 1},
    "H200-141GB": {
        "1g.18gb": 7,
        "1g.18gb+me": 1,
        "1g.35gb": 4,
        "2g.35gb": 3,
        "3g.71gb": 2,
        "4g.71gb": 1,
        "7g.141gb": 1,
    },
    "B200": {"1g.23gb": 7, "1g.23gb+me": 1, "1g.45gb": 4, "2g.45gb": 3, "3g.90gb": 2, "4g.90gb": 1, "7g.180gb": 1},
}

MIG_MODELS = [m for m in catalog.GPU_MODELS if catalog.mig_capable(m)]


# --- Facts ---------------------------------------------------------------------------------------


def test_required_families_present_and_nothing_else():
    assert catalog.known_families() == sorted(REQUIRED_FAMILIES)


@pytest.mark.parametrize("family", sorted(FAMILY_GPUS))
def test_family_has_every_size_with_its_gpu_count(family):
    got = {it.name.split(".", 1)[1]: it.gpus for it in catalog.family_sizes(family)}
    assert got == FAMILY_GPUS[family]


def test_p4d_spot_check():
    p4d = catalog.instance_type("p4d.24xlarge")
    assert (p4d.family, p4d.gpus, p4d.gpu_model.name, p4d.gpu_model.memory_mib) == ("p4d", 8, "a100", 40960)
    assert (p4d.vcpus, p4d.memory_mib, p4d.architecture) == (96, 1179648, "amd64")


def test_g5_12xlarge_has_four_gpus():
    g5 = catalog.instance_type("g5.12xlarge")
    assert (g5.gpus, g5.vcpus, g5.memory_mib, g5.gpu_model.name) == (4, 48, 196608, "a10g")


def test_only_g5g_is_arm64():
    arm = {it.name for it in catalog.INSTANCE_TYPES.values() if it.architecture == "arm64"}
    assert arm == {"g5g.xlarge", "g5g.2xlarge", "g5g.4xlarge", "g5g.8xlarge", "g5g.16xlarge", "g5g.metal"}
    assert {it.architecture for it in catalog.INSTANCE_TYPES.values()} == {"amd64", "arm64"}


@pytest.mark.parametrize("name", sorted(RESEARCH_TABLE))
def test_p_family_facts_match_research_table(name):
    it = catalog.instance_type(name)
    assert (it.gpus, it.gpu_model.name, it.gpu_model.memory_mib) == RESEARCH_TABLE[name]


@pytest.mark.parametrize("family", sorted(RESEARCH_G_GPUS))
def test_g_family_gpu_model_and_memory(family):
    assert {(it.gpu_model.name, it.gpu_model.memory_mib) for it in catalog.family_sizes(family)} == {
        RESEARCH_G_GPUS[family]
    }


def test_host_vcpu_and_memory_spot_checks():
    # Karpenter v1.14 instance-types page (instance-cpu / instance-memory labels).
    expected = {
        "g4dn.metal": (96, 393216),
        "g5.48xlarge": (192, 786432),
        "g5g.xlarge": (4, 8192),
        "g6.16xlarge": (64, 262144),
        "g6e.48xlarge": (192, 1572864),
        "p5.4xlarge": (16, 262144),
        "p6-b200.48xlarge": (192, 2097152),
    }
    assert {n: (catalog.instance_type(n).vcpus, catalog.instance_type(n).memory_mib) for n in expected} == expected


def test_family_is_name_prefix():
    for name, it in catalog.INSTANCE_TYPES.items():
        assert name == it.name and name.startswith(it.family + ".")


# --- MIG tables ----------------------------------------------------------------------------------


def test_mig_capable_models_are_exactly_the_research_ones():
    assert sorted(m.mig_config_family for m in MIG_MODELS) == sorted(RESEARCH_MIG)
    assert {m.name for m in MIG_MODELS} == {"a100", "h100", "h200", "b200"}
    for m in catalog.GPU_MODELS:
        if m not in MIG_MODELS:
            assert m.mig_config_family is None and dict(m.mig_profiles) == {}


@pytest.mark.parametrize("model", MIG_MODELS, ids=lambda m: m.mig_config_family)
def test_mig_table_matches_research(model):
    assert dict(model.mig_profiles) == RESEARCH_MIG[model.mig_config_family]


@pytest.mark.parametrize("model", MIG_MODELS, ids=lambda m: m.mig_config_family)
def test_mig_profiles_exist_upstream_with_the_same_count(model):
    """Each all-<profile> config exists in the GPU Operator default and partitions this GPU exactly so."""
    names = mig_parted.config_names()
    for profile, count in model.mig_profiles.items():
        config = mig_config_name(profile)
        assert config in names, f"{config} missing from the GPU Operator default mig-parted config"
        assert mig_parted.partitions(config, model) == {profile: count}, (model.mig_config_family, profile)


def test_mig_resource_name():
    assert catalog.mig_resource_name("1g.5gb") == "nvidia.com/mig-1g.5gb"
    assert catalog.mig_resource_name("1g.5gb+me") == "nvidia.com/mig-1g.5gb.me"
    assert catalog.mig_resource_name("7g.180gb") == "nvidia.com/mig-7g.180gb"
    for bad in ("", "1g 5gb"):
        with pytest.raises(ValueError):
            catalog.mig_resource_name(bad)


def test_mig_capable_accepts_model_or_instance():
    assert catalog.mig_capable(catalog.instance_type("p4d.24xlarge"))
    assert catalog.mig_capable(catalog.H100_80GB)
    assert not catalog.mig_capable(catalog.instance_type("g6e.xlarge"))
    assert not catalog.mig_capable(catalog.T4)


def test_models_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalog.A100_40GB.memory_mib = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        catalog.A100_40GB.mig_profiles["1g.5gb"] = 99  # type: ignore[index]
    # Hashable, so models can key dicts and sets.
    assert len({catalog.A100_40GB, catalog.A100_80GB, catalog.A100_40GB}) == 2


# --- Lookups -------------------------------------------------------------------------------------


def test_instance_type_unknown_is_a_clear_key_error():
    with pytest.raises(KeyError, match=r"'g5\.huge' is not in the GPU catalog"):
        catalog.instance_type("g5.huge")


def test_family_sizes_order_and_unknown():
    assert [it.name for it in catalog.family_sizes("g5")] == [
        "g5.xlarge",
        "g5.2xlarge",
        "g5.4xlarge",
        "g5.8xlarge",
        "g5.12xlarge",
        "g5.16xlarge",
        "g5.24xlarge",
        "g5.48xlarge",
    ]
    with pytest.raises(KeyError, match="'p9'"):
        catalog.family_sizes("p9")


def test_select_union_of_families_and_types_sorted_by_name():
    got = [it.name for it in catalog.select(instance_families=["p5"], instance_types=["g5.xlarge", "p5.4xlarge"])]
    assert got == ["g5.xlarge", "p5.48xlarge", "p5.4xlarge"]


def test_select_filters_by_gpu_name():
    got = [
        it.name
        for it in catalog.select(
            instance_families=["g5", "g6"], instance_types=["p4d.24xlarge"], gpu_names=["l4", "a100"]
        )
    ]
    assert got == [
        "g6.12xlarge",
        "g6.16xlarge",
        "g6.24xlarge",
        "g6.2xlarge",
        "g6.48xlarge",
        "g6.4xlarge",
        "g6.8xlarge",
        "g6.xlarge",
        "p4d.24xlarge",
    ]


def test_select_gpu_only_searches_whole_catalog():
    assert [it.name for it in catalog.select(gpu_names=["h200"])] == ["p5e.48xlarge", "p5en.48xlarge"]
    assert [it.name for it in catalog.select(gpu_names=["a100"])] == ["p4d.24xlarge", "p4de.24xlarge"]


def test_select_nothing_is_everything():
    assert len(catalog.select()) == 44


def test_select_rejects_typos():
    with pytest.raises(KeyError):
        catalog.select(instance_families=["g7x"])
    with pytest.raises(KeyError):
        catalog.select(instance_types=["g5.nano"])
    with pytest.raises(KeyError, match="unknown GPU name"):
        catalog.select(gpu_names=["A100"])  # label values are lower-case


# -- EFA ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, interfaces",
    [
        # Karpenter's v1.14 instance-types reference, vpc.amazonaws.com/efa (absent = 0), read 2026-11-25.
        ("p5.48xlarge", 32),
        ("p5e.48xlarge", 32),
        ("p5en.48xlarge", 16),
        ("p6-b200.48xlarge", 8),
        ("p4d.24xlarge", 4),
        ("g6e.48xlarge", 4),
        ("g6e.24xlarge", 2),
        ("g5.48xlarge", 1),
        ("p5.4xlarge", 1),
        ("g4dn.4xlarge", 0),
        ("g5g.16xlarge", 0),
    ],
)
def test_efa_interfaces_match_karpenters_instance_type_reference(name, interfaces):
    assert catalog.efa_interfaces(catalog.instance_type(name)) == interfaces


def test_the_efa_types_are_the_catalog_types_the_efa_device_plugin_supports():
    # An independent upstream list: the chart's supportedInstanceLabels (AWS's EFA instance types, aws/eks-charts).
    import yaml

    from tests.support.upstream import upstream_file

    chart_values = yaml.safe_load(upstream_file("charts", "aws-efa-k8s-device-plugin", "values.yaml").read_text())
    supported = set(chart_values["supportedInstanceLabels"]["values"])
    assert set(catalog.EFA_INTERFACES) == supported & set(catalog.INSTANCE_TYPES)


def test_every_efa_type_has_local_nvme_so_efa_pools_can_stripe_it():
    assert [name for name in catalog.EFA_INTERFACES if catalog.local_nvme_gb(name) is None] == []
