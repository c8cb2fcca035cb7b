"""Tests for tests/support/device_plugin_rules.py: the validator itself must accept NVIDIA's own
examples and reject each rule violation with its specific message.

Each negative case starts from a config the validator accepts, changes one thing, and expects
exactly one error, so a test cannot pass because of an unrelated error.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.support.device_plugin_rules import validate_device_plugin_config as validate

# README @v0.20.0 examples as quoted in nvidia.md 1.3.
README_TIME_SLICING: dict[str, Any] = {
    "version": "v1",
    "flags": {"migStrategy": "none"},
    "sharing": {
        "timeSlicing": {
            "renameByDefault": False,
            "failRequestsGreaterThanOne": False,
            "resources": [{"name": "nvidia.com/gpu", "replicas": 10}],
        }
    },
}
README_MPS: dict[str, Any] = {
    "version": "v1",
    "sharing": {"mps": {"renameByDefault": False, "resources": [{"name": "nvidia.com/gpu", "replicas": 10}]}},
}


def _ts(**resource) -> dict:
    """A valid time-slicing config whose single resource is updated with ``resource``."""
    cfg = copy.deepcopy(README_TIME_SLICING)
    cfg["sharing"]["timeSlicing"]["resources"][0].update(resource)
    return cfg


def _mps(**resource) -> dict:
    """A valid MPS config whose single resource is updated with ``resource``."""
    cfg = copy.deepcopy(README_MPS)
    cfg["sharing"]["mps"]["resources"][0].update(resource)
    return cfg


def _one_error(cfg: dict, fragment: str, **kw) -> None:
    errors = validate(cfg, **kw)
    assert len(errors) == 1, errors
    assert fragment in errors[0], errors


# --- Accepted -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cfg",
    [README_TIME_SLICING, README_MPS, {}, {"version": ""}, {"version": "v1", "sharing": {}}],
    ids=["readme-ts", "readme-mps", "empty", "empty-version", "empty-sharing"],
)
def test_accepts_valid_configs(cfg):
    assert validate(cfg) == []


def test_accepts_all_flag_fields():
    cfg = {
        "version": "v1",
        "flags": {
            "migStrategy": "mixed",
            "failOnInitError": True,
            "mpsRoot": "/run/nvidia/mps",
            "nvidiaDriverRoot": "/",
            "nvidiaDevRoot": "/",
            "gdrcopyEnabled": False,
            "gdsEnabled": False,
            "mofedEnabled": False,
            "useNodeFeatureAPI": False,
            "deviceDiscoveryStrategy": "auto",
            "plugin": {
                "passDeviceSpecs": True,
                "deviceListStrategy": ["envvar"],
                "deviceIDStrategy": "uuid",
                "cdiAnnotationPrefix": "cdi.k8s.io/",
                "nvidiaCTKPath": "/usr/bin/nvidia-ctk",
                "containerDriverRoot": "/driver-root",
                "sharedDevicesAllocationPolicy": "packed",
            },
            "gfd": {
                "oneshot": False,
                "noTimestamp": False,
                "sleepInterval": "60s",
                "outputFile": "/x",
                "machineTypeFile": "/y",
            },
        },
    }
    assert validate(cfg) == []


@pytest.mark.parametrize(
    "devices", ["all", 2, [0, 1], ["0", "1:0", "GPU-8f2e4a6b-0c1d-4e5f-9a8b-7c6d5e4f3a2b", "MIG-1a2b3c4d-5e6f"]]
)
def test_accepts_valid_devices(devices):
    assert validate(_ts(devices=devices)) == []


def test_accepts_name_without_prefix_and_mig_time_slicing():
    assert validate(_ts(name="gpu")) == []
    # Time-slicing MIG resources is allowed (mixed strategy), also on a MIG pool.
    cfg = _ts(name="nvidia.com/mig-1g.5gb")
    cfg["flags"]["migStrategy"] = "mixed"
    assert validate(cfg, mig_enabled=True) == []


def test_mps_with_mig_strategy_on_a_non_mig_pool_is_fine():
    cfg = _mps()
    cfg["flags"] = {"migStrategy": "mixed"}
    assert validate(cfg, mig_enabled=False) == []


# --- Rejected -------------------------------------------------------------------------------------


def test_replicas_one():
    _one_error(_ts(replicas=1), "number of replicas must be >= 2")


@pytest.mark.parametrize("replicas", ["4", True, 2.5])
def test_replicas_must_be_an_integer(replicas):
    _one_error(_ts(replicas=replicas), "must be an integer")


def test_missing_name_and_replicas():
    cfg = copy.deepcopy(README_TIME_SLICING)
    cfg["sharing"]["timeSlicing"]["resources"][0] = {"replicas": 4}
    _one_error(cfg, "no resource name specified")
    cfg["sharing"]["timeSlicing"]["resources"][0] = {"name": "nvidia.com/gpu"}
    _one_error(cfg, "no replicas specified")


def test_unknown_top_level_field():
    cfg = copy.deepcopy(README_TIME_SLICING)
    cfg["sharingg"] = {}
    _one_error(cfg, "config: unknown field 'sharingg'")


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (
            lambda c: c["sharing"].update(timeslicing=c["sharing"].pop("timeSlicing")),
            "sharing: unknown field 'timeslicing'",
        ),
        (lambda c: c["sharing"]["timeSlicing"].update(rename=True), "sharing.timeSlicing: unknown field 'rename'"),
        (
            lambda c: c["sharing"]["timeSlicing"]["resources"][0].update(replica=2),
            "resources[0]: unknown field 'replica'",
        ),
        (lambda c: c["flags"].update(mig_strategy="none"), "flags: unknown field 'mig_strategy'"),
        (lambda c: c["flags"].update(plugin={"deviceListStrategies": "envvar"}), "flags.plugin: unknown field"),
        (lambda c: c["flags"].update(gfd={"oneShot": True}), "flags.gfd: unknown field 'oneShot'"),
        (lambda c: c.update(resources={"gpu": []}), "resources: unknown field 'gpu'"),
    ],
    ids=["sharing", "replicated-resources", "replicated-resource", "flags", "flags.plugin", "flags.gfd", "resources"],
)
def test_unknown_nested_fields(mutate, fragment):
    cfg = copy.deepcopy(README_TIME_SLICING)
    mutate(cfg)
    _one_error(cfg, fragment)


def test_mps_replicas_above_48():
    assert validate(_mps(replicas=48)) == []
    _one_error(_mps(replicas=49), "MPS replicas must be <= 48")


def test_time_slicing_has_no_48_limit():
    assert validate(_ts(replicas=49)) == []


@pytest.mark.parametrize(
    "devices, fragment",
    [
        ("some", "only valid string input is 'all'"),
        (0, "devices count must be > 0"),
        (-1, "devices count must be > 0"),
        ([0, "abc"], "devices[1]: unsupported device 'abc'"),
        ([], "devices list must not be empty"),
        ({"all": True}, "devices must be 'all', a positive count or a list"),
    ],
)
def test_bad_devices(devices, fragment):
    _one_error(_ts(devices=devices), fragment)


@pytest.mark.parametrize("strategy", ["mixed", "single"])
def test_mps_on_mig_pool(strategy):
    cfg = _mps()
    cfg["flags"] = {"migStrategy": strategy}
    _one_error(cfg, "sharing using MPS is not supported for MIG devices", mig_enabled=True)


def test_mps_only_full_gpus():
    _one_error(_mps(name="nvidia.com/mig-1g.5gb"), "MPS supports only nvidia.com/gpu")


@pytest.mark.parametrize(
    "block",
    [{"resources": []}, {"renameByDefault": False}, {}, None],
    ids=["empty-list", "no-resources-key", "empty-mapping", "null"],
)
def test_empty_resources(block):
    cfg = {"version": "v1", "sharing": {"timeSlicing": block}}
    _one_error(cfg, "no resources specified")


def test_empty_mps_resources():
    _one_error({"version": "v1", "sharing": {"mps": {"resources": []}}}, "sharing.mps: no resources specified")


def test_unknown_version():
    cfg = copy.deepcopy(README_TIME_SLICING)
    cfg["version"] = "v2"
    _one_error(cfg, "unknown version")


def test_unknown_mig_strategy():
    cfg = copy.deepcopy(README_TIME_SLICING)
    cfg["flags"]["migStrategy"] = "auto"
    _one_error(cfg, "unknown MIG strategy 'auto'")


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("nvidia.com/" + "g" * 53, "63 characters or less"),
        ("nvidia.com/gpu shared", "invalid resource name"),
        ("amd.com/gpu", "invalid resource name"),
        ("", "non-empty string"),
    ],
)
def test_bad_resource_names(name, fragment):
    _one_error(_ts(name=name), fragment)


def test_name_at_the_63_character_limit_is_fine():
    assert validate(_ts(name="nvidia.com/" + "g" * 52)) == []


@pytest.mark.parametrize("key, value", [("failOnInitError", "yes"), ("mpsRoot", 5)])
def test_flag_types(key, value):
    cfg = copy.deepcopy(README_TIME_SLICING)
    cfg["flags"][key] = value
    _one_error(cfg, f"flags.{key}: must be a")


def test_boolean_fields_of_sharing_must_be_booleans():
    cfg = copy.deepcopy(README_TIME_SLICING)
    cfg["sharing"]["timeSlicing"]["renameByDefault"] = "false"
    _one_error(cfg, "renameByDefault: must be a boolean")


def test_non_mapping_config():
    assert validate(["version", "v1"]) == ["config must be a mapping, got list"]
