"""Wrong-type checks for config keys: every YAML type a key does not accept must end in the usual one-line
ConfigError naming that key, never a traceback. Each test folder lists its own keys (tests/config for the
top-level and general keys, tests/gpu for the GPU pool keys); the samples and the check live here.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.common.parsing import ConfigError
from tests.support.stacks import parse

ENDPOINT = {"publicAccessCidrs": ["203.0.113.0/24"]}
# Minimal pools that parse, to put a wrong value into.
GPU = {"name": "g", "instanceFamilies": ["g6"], "maxGpus": 8}
MIG = {
    "name": "g",
    "instanceTypes": ["p4d.24xlarge"],
    "maxGpus": 8,
    "sharing": {"strategy": "mig", "profile": "1g.5gb"},
}
SLICED = {"name": "g", "instanceFamilies": ["g6"], "maxGpus": 8, "sharing": {"strategy": "time-slicing", "replicas": 4}}

# One sample per YAML type. Each key lists the types it accepts; every other type must be rejected.
SAMPLES = {"list": ["x"], "map": {"a": 1}, "int": 7, "float": 2.5, "bool": True, "str": "x"}

# (where the key lives: base config and path, error key prefix, the types it accepts)
KeySpec = tuple[dict[str, Any], tuple[Any, ...], str, set[str]]


def wrong_type_cases(keys: list[KeySpec]) -> list[tuple[dict[str, Any], tuple[Any, ...], str, str]]:
    """(base, path, key, wrong type) for every type each key does not accept (an int where a float is fine is)."""
    return [
        (base, path, key, kind)
        for base, path, key, kinds in keys
        for kind in SAMPLES
        if kind not in kinds and not (kind == "int" and "float" in kinds)
    ]


def _with(base: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(base)
    raw.setdefault("endpoint", dict(ENDPOINT))
    node = raw
    for step in path[:-1]:
        node = node.setdefault(step, {}) if isinstance(step, str) else node[step]
    node[path[-1]] = value
    return raw


def assert_rejects_wrong_type(base: dict[str, Any], path: tuple[Any, ...], key: str, kind: str) -> None:
    """The config with a `kind` sample at `path` fails with a one-line ConfigError naming `key`."""
    raw = _with(base, path, copy.deepcopy(SAMPLES[kind]))
    try:
        parse(raw)
    except ConfigError as error:
        assert error.key.startswith(key), str(error)
        assert "\n" not in str(error) and error.allowed.startswith(("allowed", "either", "each")), str(error)
    else:
        pytest.fail(f"{'.'.join(map(str, path))} accepted a {kind}")
