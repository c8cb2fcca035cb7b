"""Tests for components/gpu/nvidia_config.py: every built config passes the independent plugin rules.

Expected dicts and names are literals; the rules come from tests/support/device_plugin_rules.py,
which was written from the plugin's Go sources, not from the builders.
"""

from __future__ import annotations

import pytest
import yaml

from components.gpu import catalog
from components.gpu import nvidia_config as nc
from tests.support.device_plugin_rules import validate_device_plugin_config


@pytest.mark.parametrize("mig_strategy", ["none", "mixed"])
@pytest.mark.parametrize("replicas", list(range(2, 65)) + [100])
def test_time_slicing_configs_are_valid(replicas, mig_strategy):
    cfg = nc.time_slicing_config(replicas, mig_strategy=mig_strategy)
    assert validate_device_plugin_config(cfg) == []
    # Time-slicing is allowed on MIG pools (mixed MIG resources can be time-sliced too).
    assert validate_device_plugin_config(cfg, mig_enabled=True) == []


@pytest.mark.parametrize("replicas", range(2, 49))
def test_mps_configs_are_valid(replicas):
    assert validate_device_plugin_config(nc.mps_config(replicas)) == []


@pytest.mark.parametrize("mig_strategy", ["none", "single", "mixed"])
def test_whole_gpu_configs_are_valid(mig_strategy):
    assert validate_device_plugin_config(nc.whole_gpu_config(mig_strategy), mig_enabled=True) == []


@pytest.mark.parametrize(
    "cfg", [nc.whole_gpu_config(), nc.time_slicing_config(4), nc.mps_config(8)], ids=["whole", "time-slicing", "mps"]
)
def test_configs_survive_yaml_round_trip(cfg):
    # The chart's config.map takes YAML strings; what the plugin reads is the parsed text.
    text = yaml.safe_dump(cfg, sort_keys=False)
    assert validate_device_plugin_config(yaml.safe_load(text)) == []
    assert yaml.safe_load(text) == cfg


def test_time_slicing_config_exact_shape():
    assert nc.time_slicing_config(4) == {
        "version": "v1",
        "flags": {"migStrategy": "none"},
        "sharing": {
            "timeSlicing": {
                "renameByDefault": False,
                "failRequestsGreaterThanOne": True,
                "resources": [{"name": "nvidia.com/gpu", "replicas": 4}],
            }
        },
    }


def test_mps_config_exact_shape():
    assert nc.mps_config(8, mig_strategy="mixed") == {
        "version": "v1",
        "flags": {"migStrategy": "mixed"},
        "sharing": {
            "mps": {
                "renameByDefault": False,
                "failRequestsGreaterThanOne": True,
                "resources": [{"name": "nvidia.com/gpu", "replicas": 8}],
            }
        },
    }


def test_whole_gpu_config_exact_shape():
    assert nc.whole_gpu_config() == {"version": "v1", "flags": {"migStrategy": "none"}}


def test_mps_on_a_mig_pool_is_caught_by_the_rules():
    # The builder cannot know the pool; the rules (given mig_enabled) must refuse this combination.
    errors = validate_device_plugin_config(nc.mps_config(4, mig_strategy="mixed"), mig_enabled=True)
    assert len(errors) == 1 and "sharing using MPS is not supported for MIG devices" in errors[0]


def test_builders_return_fresh_dicts():
    first = nc.time_slicing_config(4)
    first["sharing"]["timeSlicing"]["resources"][0]["replicas"] = 99
    assert nc.time_slicing_config(4)["sharing"]["timeSlicing"]["resources"][0]["replicas"] == 4


@pytest.mark.parametrize(
    "builder, replicas, exc",
    [
        (nc.time_slicing_config, 1, ValueError),
        (nc.time_slicing_config, 0, ValueError),
        (nc.mps_config, 1, ValueError),
        (nc.mps_config, 49, ValueError),
        (nc.time_slicing_config, True, TypeError),
        (nc.time_slicing_config, "4", TypeError),
        (nc.mps_config, 4.0, TypeError),
    ],
)
def test_builders_reject_bad_replicas(builder, replicas, exc):
    with pytest.raises(exc):
        builder(replicas)


@pytest.mark.parametrize(
    "builder", [nc.whole_gpu_config, lambda s: nc.time_slicing_config(2, s), lambda s: nc.mps_config(2, s)]
)
def test_builders_reject_unknown_mig_strategy(builder):
    with pytest.raises(ValueError, match="mig_strategy"):
        builder("auto")


def test_limits():
    assert nc.MPS_MAX_REPLICAS == 48
    assert nc.TIME_SLICING_MIN_REPLICAS == 2


def test_every_catalog_gpu_allows_48_mps_clients():
    # The plugin caps MPS at 48 only for compute capability >= 7.5 (16 below). A GPU added to the
    # catalog below 7.5 (e.g. V100 in p3, 7.0) must fail here until MPS_MAX_REPLICAS handles it.
    for model in catalog.GPU_MODELS:
        assert model.compute_capability >= (7, 5), model


def test_device_plugin_config_dispatch():
    assert nc.device_plugin_config("none") == {"version": "v1", "flags": {"migStrategy": "none"}}
    assert nc.device_plugin_config("time-slicing", 3)["sharing"]["timeSlicing"]["resources"] == [
        {"name": "nvidia.com/gpu", "replicas": 3}
    ]
    assert nc.device_plugin_config("mps", 5, "mixed")["sharing"]["mps"]["resources"] == [
        {"name": "nvidia.com/gpu", "replicas": 5}
    ]
    with pytest.raises(ValueError):
        nc.device_plugin_config("time-slicing")
    with pytest.raises(ValueError):
        nc.device_plugin_config("none", 4)
    with pytest.raises(ValueError):
        nc.device_plugin_config("mig", 4)


def test_device_plugin_config_names():
    assert nc.device_plugin_config_name("time-slicing", 4) == "time-slicing-4"
    assert nc.device_plugin_config_name("mps", 8) == "mps-8"
    assert nc.device_plugin_config_name("none") == "default"
    for args in [("mps", 49), ("time-slicing", 1), ("time-slicing", None), ("none", 4), ("shared", 4)]:
        with pytest.raises((ValueError, TypeError)):
            nc.device_plugin_config_name(*args)


def test_config_names_never_collide():
    names = ["default"] + [f"time-slicing-{r}" for r in range(2, 49)] + [f"mps-{r}" for r in range(2, 49)]
    built = [nc.device_plugin_config_name("none")]
    built += [nc.device_plugin_config_name("time-slicing", r) for r in range(2, 49)]
    built += [nc.device_plugin_config_name("mps", r) for r in range(2, 49)]
    assert built == names and len(set(built)) == len(built)


def test_mig_config_name():
    assert nc.mig_config_name("1g.5gb") == "all-1g.5gb"
    assert nc.mig_config_name("1g.10gb+me") == "all-1g.10gb.me"
    assert nc.mig_config_name("7g.141gb") == "all-7g.141gb"
    with pytest.raises(ValueError):
        nc.mig_config_name("")
