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
from tools.render import render_notes

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
    "placementGroup": {"map"},
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
    (
        {"gpuNodePools": [dict(EFA)]},
        ("gpuNodePools", 0, "placementGroup"),
        "gpuNodePools[0] (g).placementGroup",
        {"map"},
    ),
    (
        {"gpuNodePools": [{**EFA, "placementGroup": {"name": "cpg"}}]},
        ("gpuNodePools", 0, "placementGroup", "name"),
        "gpuNodePools[0] (g).placementGroup.name",
        {"str"},
    ),
    (
        {"gpuNodePools": [{**EFA, "placementGroup": {"id": "pg-0123"}}]},
        ("gpuNodePools", 0, "placementGroup", "id"),
        "gpuNodePools[0] (g).placementGroup.id",
        {"str"},
    ),
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


def test_max_gpus_below_some_types_narrows_the_pool_to_the_types_that_fit():
    """g6 with maxGpus 4 (issue 20 item 4): g6.48xlarge (8 L4s) could never launch under a 4-GPU limit, so the pool
    keeps the other seven sizes (1 or 4 GPUs each) and names the one it leaves out."""
    config = parse({"gpuNodePools": [{"name": "g6", "instanceFamilies": ["g6"], "maxGpus": 4}], "endpoint": ENDPOINT})
    (pool,) = config.gpu_node_pools
    assert "g6.48xlarge" not in pool.instance_types
    assert set(pool.instance_types) == {f"g6.{s}" for s in ("xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge")} | {
        "g6.12xlarge",
        "g6.24xlarge",
    }
    assert pool.excluded_by_max_gpus == (("g6.48xlarge", 8),)


def test_max_gpus_below_every_allowed_type_is_rejected_naming_types_and_minimum():
    error = config_error(
        {"gpuNodePools": [{"name": "p4", "instanceTypes": ["p4d.24xlarge"], "maxGpus": 4}], "endpoint": ENDPOINT}
    )
    assert error.key == "gpuNodePools[0] (p4).maxGpus"
    assert "below the GPU count of every type the pool allows (p4d.24xlarge (8 GPUs))" in error.problem
    assert error.allowed.startswith("allowed: maxGpus 8 or more")


def test_the_narrowed_types_are_what_the_nodepool_allows_and_the_contract_lists_the_rest(run_with, capsys):
    pool = {"name": "inference", "instanceFamilies": ["g6"], "maxGpus": 4, "sharing": {"strategy": "none"}}
    run = run_with("dev", gpuNodePools=[pool])
    (nodepool,) = [
        r.inputs
        for r in run.resources
        if r.type == "kubernetes:karpenter.sh/v1:NodePool" and r.name.endswith("inference")
    ]
    (types,) = [
        q["values"] for q in nodepool["spec"]["template"]["spec"]["requirements"] if q["key"].endswith("instance-type")
    ]
    assert "g6.48xlarge" not in types and "g6.24xlarge" in types
    assert run.outputs["gpuPools"]["inference"]["excludedByMaxGpus"] == {"g6.48xlarge": 8}
    assert render_notes(run.outputs) == [
        "note: gpuNodePools inference: maxGpus 4 leaves out g6.48xlarge (8 GPUs); the pool launches only types with "
        "at most 4 GPUs (gpuPools.inference.excludedByMaxGpus)"
    ]


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
