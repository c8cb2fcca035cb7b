"""GPU pool config traps (issue 9): a wrong type for every GPU pool key, a MIG profile given as a list, and
maxGpus below the GPU count of a type the pool allows. Every wrong type must end in the usual one-line
ConfigError naming that key, never a traceback.
"""

from __future__ import annotations

import pytest

from components.gpu.config import GPU_POOL_KEYS
from tests.support.config_types import (
    ENDPOINT,
    GPU,
    MIG,
    SLICED,
    KeySpec,
    assert_rejects_wrong_type,
    wrong_type_cases,
)
from tests.support.stacks import config_error, parse

# The YAML types each GPU pool key accepts; a new key in GPU_POOL_KEYS needs its line here.
GPU_POOL_FIELDS: dict[str, set[str]] = {
    "name": {"str"},
    "instanceFamilies": {"list"},
    "instanceTypes": {"list"},
    "gpuNames": {"list"},
    "capacityTypes": {"list"},
    "maxGpus": {"int"},
    "sharing": {"map"},
    "disruption": {"map"},
    "expireAfter": {"str"},
    "terminationGracePeriod": {"str"},
    "rootVolumeGib": {"int"},
    "weight": {"int"},
    "nodeImage": {"str"},
    "capacityReservations": {"list"},
    "warmSlices": {"int"},
    "taints": {"list"},
    "instanceStore": {"str"},
    "rootVolume": {"map"},
    "efa": {"bool"},
    "zone": {"str"},
}
# A pool using reserved capacity and one with a team taint, to put wrong values into their nested keys.
RESERVED = {**GPU, "capacityTypes": ["reserved", "on-demand"], "capacityReservations": [{"id": "cr-0123456789abcdef0"}]}
TAGGED = {**GPU, "capacityTypes": ["reserved"], "capacityReservations": [{"tags": {"team": "ml"}}]}
TAINTED = {**GPU, "taints": [{"key": "team", "value": "chat", "effect": "NoSchedule"}]}
# An EFA pool, so a wrong `zone` meets the zone's own type check rather than "applies only to EFA pools".
EFA = {"name": "g", "instanceTypes": ["p5.48xlarge"], "maxGpus": 8, "efa": True}
KEYS: list[KeySpec] = []
for field, kinds in GPU_POOL_FIELDS.items():
    prefix = "gpuNodePools[0]" if field == "name" else "gpuNodePools[0] (g)"
    KEYS.append(({"gpuNodePools": [dict(GPU)]}, ("gpuNodePools", 0, field), f"{prefix}.{field}", kinds))
KEYS += [
    (
        {"gpuNodePools": [dict(SLICED)]},
        ("gpuNodePools", 0, "sharing", "strategy"),
        "gpuNodePools[0] (g).sharing",
        {"str"},
    ),
    (
        {"gpuNodePools": [dict(SLICED)]},
        ("gpuNodePools", 0, "sharing", "replicas"),
        "gpuNodePools[0] (g).sharing.replicas",
        {"int"},
    ),
    (
        {"gpuNodePools": [RESERVED]},
        ("gpuNodePools", 0, "capacityReservations", 0),
        "gpuNodePools[0] (g).capacityReservations[0]",
        {"map"},
    ),
    (
        {"gpuNodePools": [RESERVED]},
        ("gpuNodePools", 0, "capacityReservations", 0, "id"),
        "gpuNodePools[0] (g).capacityReservations[0].id",
        {"str"},
    ),
    (
        {"gpuNodePools": [TAGGED]},
        ("gpuNodePools", 0, "capacityReservations", 0, "tags"),
        "gpuNodePools[0] (g).capacityReservations[0].tags",
        {"map"},
    ),
    (
        {"gpuNodePools": [TAGGED]},
        ("gpuNodePools", 0, "capacityReservations", 0, "tags", "team"),
        "gpuNodePools[0] (g).capacityReservations[0].tags.team",
        {"str"},
    ),
    (
        {"gpuNodePools": [TAGGED]},
        ("gpuNodePools", 0, "capacityReservations", 0, "ownerId"),
        "gpuNodePools[0] (g).capacityReservations[0].ownerId",
        {"str"},
    ),
    ({"gpuNodePools": [TAINTED]}, ("gpuNodePools", 0, "taints", 0), "gpuNodePools[0] (g).taints[0]", {"map"}),
    (
        {"gpuNodePools": [TAINTED]},
        ("gpuNodePools", 0, "taints", 0, "key"),
        "gpuNodePools[0] (g).taints[0].key",
        {"str"},
    ),
    # A number is a valid taint value once written as text ("7"), as YAML would hand it over.
    (
        {"gpuNodePools": [TAINTED]},
        ("gpuNodePools", 0, "taints", 0, "value"),
        "gpuNodePools[0] (g).taints[0].value",
        {"str", "int"},
    ),
    (
        {"gpuNodePools": [TAINTED]},
        ("gpuNodePools", 0, "taints", 0, "effect"),
        "gpuNodePools[0] (g).taints[0].effect",
        {"str"},
    ),
    (
        {"gpuNodePools": [dict(GPU)]},
        ("gpuNodePools", 0, "rootVolume", "sizeGib"),
        "gpuNodePools[0] (g).rootVolume.sizeGib",
        {"int"},
    ),
    (
        {"gpuNodePools": [dict(GPU)]},
        ("gpuNodePools", 0, "rootVolume", "iops"),
        "gpuNodePools[0] (g).rootVolume.iops",
        {"int"},
    ),
    (
        {"gpuNodePools": [dict(GPU)]},
        ("gpuNodePools", 0, "rootVolume", "throughputMibps"),
        "gpuNodePools[0] (g).rootVolume.throughputMibps",
        {"int"},
    ),
    ({"gpuNodePools": [dict(EFA)]}, ("gpuNodePools", 0, "zone"), "gpuNodePools[0] (g).zone", {"str"}),
    # The reported trap: a list or a mapping here ended in `TypeError: unhashable type`.
    (
        {"gpuNodePools": [dict(MIG)]},
        ("gpuNodePools", 0, "sharing", "profile"),
        "gpuNodePools[0] (g).sharing.profile",
        {"str"},
    ),
]
WRONG_TYPES = wrong_type_cases(KEYS)


def test_every_gpu_pool_key_has_its_accepted_types_listed():
    assert sorted(GPU_POOL_FIELDS) == sorted(GPU_POOL_KEYS)


@pytest.mark.parametrize(
    "base, path, key, kind", WRONG_TYPES, ids=[f"{'.'.join(map(str, path))}={kind}" for _, path, _, kind in WRONG_TYPES]
)
def test_every_key_rejects_every_wrong_type_with_one_line(base, path, key, kind):
    assert_rejects_wrong_type(base, path, key, kind)


def test_mig_profile_given_as_a_list_is_a_one_line_error():
    error = config_error(
        {"gpuNodePools": [{**MIG, "sharing": {"strategy": "mig", "profile": ["1g.5gb"]}}], "endpoint": ENDPOINT}
    )
    assert str(error) == (
        "test: gpu-eks:gpuNodePools[0] (g).sharing.profile: expected one MIG profile name, got a "
        "list; allowed on a100 (40960 MiB): 1g.5gb, 1g.5gb+me, 1g.10gb, 2g.10gb, 3g.20gb, "
        "4g.20gb, 7g.40gb"
    )


# -- maxGpus against the instance types a pool allows -----------------------------------------------------------


def test_max_gpus_below_an_allowed_types_gpu_count_is_rejected_naming_types_and_minimum():
    error = config_error(
        {"gpuNodePools": [{"name": "t4", "instanceFamilies": ["g4dn"], "maxGpus": 4}], "endpoint": ENDPOINT}
    )
    assert error.key == "gpuNodePools[0] (t4).maxGpus"
    assert "g4dn.metal (8 GPUs)" in error.problem and "g4dn.12xlarge" not in error.problem
    assert error.allowed.startswith("allowed: maxGpus 8 or more")


def test_max_gpus_reports_every_type_too_big_and_the_largest_need():
    error = config_error(
        {"gpuNodePools": [{"name": "g6", "instanceFamilies": ["g6"], "maxGpus": 2}], "endpoint": ENDPOINT}
    )
    assert "g6.12xlarge (4 GPUs)" in error.problem and "g6.48xlarge (8 GPUs)" in error.problem
    assert "maxGpus 8 or more" in error.allowed


def test_max_gpus_that_fits_the_largest_type_is_accepted():
    config = parse(
        {
            "gpuNodePools": [{"name": "t4", "instanceTypes": ["g4dn.xlarge", "g4dn.12xlarge"], "maxGpus": 4}],
            "endpoint": ENDPOINT,
        }
    )
    assert config.gpu_node_pools[0].max_gpus == 4


def test_an_mps_pool_next_to_a_mig_pool_is_refused_in_one_line():
    # The MIG pool brings the GPU Operator's mixed-strategy device plugin, which exits on MPS (k8s-device-plugin
    # v0.20.0 cmd/nvidia-device-plugin/main.go); policy no-mps-on-mig-pools says the same about rendered releases.
    mig = {
        "name": "mig",
        "instanceTypes": ["p4d.24xlarge"],
        "capacityTypes": ["on-demand"],
        "maxGpus": 8,
        "sharing": {"strategy": "mig", "profile": "1g.5gb"},
    }
    mps = {
        "name": "mps",
        "instanceFamilies": ["g6e"],
        "capacityTypes": ["on-demand"],
        "maxGpus": 8,
        "sharing": {"strategy": "mps", "replicas": 4},
    }
    base = {"endpoint": {"publicAccessCidrs": ["203.0.113.0/24"]}}
    error = config_error({**base, "gpuNodePools": [mig, mps]})
    assert error.key == "gpuNodePools[1] (mps).sharing.strategy"
    assert "mig" in error.problem and "\n" not in str(error)
    assert [p.name for p in parse({**base, "gpuNodePools": [mps]}).gpu_node_pools] == ["mps"]
