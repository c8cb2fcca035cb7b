"""Tests for preflight/placement/mig_parted.py against the upstream GPU Operator and mig-parted configs.

Expected layouts are typed in from the research notes (nvidia.md sections 2.4 and 3.1).
"""

from __future__ import annotations

import pytest

from components.gpu import catalog
from preflight.placement import mig_parted
from preflight.placement.mig_parted import MigPartedConfig, validate_spec
from tests.support.upstream import upstream_file

# nvidia.md 2.4: config names in the static default, per GPU.
EXPECTED_NAMES = {
    "all-disabled",
    "all-enabled",
    "all-balanced",
    "all-1g.5gb",
    "all-1g.5gb.me",
    "all-2g.10gb",
    "all-3g.20gb",
    "all-4g.20gb",
    "all-7g.40gb",
    "all-1g.10gb",
    "all-1g.10gb.me",
    "all-1g.20gb",
    "all-2g.20gb",
    "all-3g.40gb",
    "all-4g.40gb",
    "all-7g.80gb",
    "all-1g.6gb",
    "all-1g.6gb.me",
    "all-2g.12gb",
    "all-2g.12gb.me",
    "all-4g.24gb",
    "all-1g.18gb",
    "all-1g.18gb.me",
    "all-1g.35gb",
    "all-2g.35gb",
    "all-3g.71gb",
    "all-4g.71gb",
    "all-7g.141gb",
    "all-1g.23gb",
    "all-1g.23gb.me",
    "all-1g.45gb",
    "all-2g.45gb",
    "all-3g.90gb",
    "all-4g.90gb",
    "all-7g.180gb",
}

# nvidia.md 3.1 "all-balanced per GPU". Matching these proves each DEVICE_IDS entry sits in the
# device-filter group of the right GPU.
EXPECTED_BALANCED = {
    "A100-40GB": {"1g.5gb": 2, "2g.10gb": 1, "3g.20gb": 1},
    "A100-80GB": {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1},
    "H100-80GB": {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1},
    "H200-141GB": {"1g.18gb": 2, "2g.35gb": 1, "3g.71gb": 1},
    "B200": {"1g.23gb": 2, "2g.45gb": 1, "3g.90gb": 1},
}


def test_default_config_has_the_documented_names():
    missing = EXPECTED_NAMES - mig_parted.config_names()
    assert not missing


def test_default_config_passes_mig_parted_spec_rules():
    import yaml

    spec = yaml.safe_load(upstream_file("nvidia", mig_parted.DEFAULT_CONFIG_FILE).read_text())
    assert validate_spec(spec) == []


@pytest.mark.parametrize("family", sorted(EXPECTED_BALANCED))
def test_device_ids_land_in_the_right_gpu_group(family):
    assert mig_parted.partitions("all-balanced", family) == EXPECTED_BALANCED[family]


def test_every_mig_capable_catalog_gpu_has_a_device_id():
    families = {m.mig_config_family for m in catalog.GPU_MODELS if catalog.mig_capable(m)}
    assert families <= set(mig_parted.DEVICE_IDS)


def test_device_ids_appear_in_the_upstream_file():
    text = upstream_file("nvidia", mig_parted.DEFAULT_CONFIG_FILE).read_text()
    for family, device_id in mig_parted.DEVICE_IDS.items():
        assert f'"{device_id}"' in text, family


def test_device_filter_changes_the_count():
    # all-1g.10gb: 7 slices on 80 GB parts, 4 on A100-40GB (device-filtered entries).
    assert mig_parted.partitions("all-1g.10gb", "A100-40GB") == {"1g.10gb": 4}
    assert mig_parted.partitions("all-1g.10gb", "A100-80GB") == {"1g.10gb": 7}
    assert mig_parted.partitions("all-1g.10gb", catalog.H100_80GB) == {"1g.10gb": 7}


def test_filtered_config_does_not_apply_to_other_gpus():
    assert mig_parted.partitions("all-1g.35gb", "H200-141GB") == {"1g.35gb": 4}
    assert mig_parted.partitions("all-1g.35gb", "A100-40GB") is None


def test_unfiltered_entries_apply_to_any_gpu():
    # Documented limitation: the file does not say an H100 lacks 1g.5gb; the catalog does.
    assert mig_parted.partitions("all-1g.5gb", "H100-80GB") == {"1g.5gb": 7}
    assert "1g.5gb" not in catalog.H100_80GB.mig_profiles


def test_disabled_enabled_and_missing():
    assert mig_parted.partitions("all-disabled", "B200") == {}
    assert mig_parted.partitions("all-enabled", "B200") == {}
    assert mig_parted.partitions("all-9g.999gb", "B200") is None


def test_gpu_identifiers():
    assert mig_parted.partitions("all-1g.23gb", "0x290110de") == {"1g.23gb": 7}
    assert mig_parted.device_id_for(catalog.B200) == "0x290110DE"
    with pytest.raises(ValueError):
        mig_parted.device_id_for(catalog.T4)
    with pytest.raises(KeyError):
        mig_parted.device_id_for("A30-24GB")


def test_example_config():
    example = mig_parted.example_config()
    # The mig-parted example is written for A100-40GB and has no device filters.
    assert example.partitions("all-1g.10gb", "A100-40GB") == {"1g.10gb": 4}
    assert example.partitions("all-balanced", "A100-40GB") == {"1g.5gb": 2, "2g.10gb": 1, "3g.20gb": 1}
    with pytest.raises(ValueError, match="not all GPUs"):
        example.partitions("custom-config", "A100-40GB")


def test_ambiguous_entries_raise():
    cfg = MigPartedConfig(
        {
            "version": "v1",
            "mig-configs": {
                "x": [
                    {"devices": "all", "mig-enabled": True, "mig-devices": {"1g.5gb": 7}},
                    {
                        "device-filter": "0x20B010DE",
                        "devices": "all",
                        "mig-enabled": True,
                        "mig-devices": {"7g.40gb": 1},
                    },
                ]
            },
        }
    )
    with pytest.raises(ValueError, match="ambiguous"):
        cfg.partitions("x", "A100-40GB")
    assert cfg.partitions("x", "B200") == {"1g.5gb": 7}


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ({"version": "v2", "mig-configs": {}}, "version must be 'v1'"),
        ({"version": "v1", "mig-configs": {"x": []}}, "x: must be a non-empty list"),
        ({"version": "v1", "mig-configs": {"x": [{"mig-enabled": False}]}}, "missing 'devices'"),
        ({"version": "v1", "mig-configs": {"x": [{"devices": "all"}]}}, "missing 'mig-enabled'"),
        ({"version": "v1", "mig-configs": {"x": [{"devices": "all", "mig-enabled": True}]}}, "requires mig-devices"),
        (
            {
                "version": "v1",
                "mig-configs": {"x": [{"devices": "all", "mig-enabled": False, "mig-devices": {"1g.5gb": 1}}]},
            },
            "must not list mig-devices",
        ),
        ({"version": "v1", "mig-configs": {"x": [{"devices": "some", "mig-enabled": False}]}}, "devices must be 'all'"),
        (
            {"version": "v1", "mig-configs": {"x": [{"devices": "all", "mig-enabled": False, "gpus": 1}]}},
            "unknown field 'gpus'",
        ),
    ],
)
def test_spec_rules_reject(spec, fragment):
    errors = validate_spec(spec)
    assert len(errors) == 1 and fragment in errors[0], errors
    with pytest.raises(ValueError):
        MigPartedConfig(spec)
