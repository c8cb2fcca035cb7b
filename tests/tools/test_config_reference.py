"""docs/configuration.md is generated from the keys the parser really allows, documents every one of them, and its
stale check fails when it should: on a key the parser reads without documentation, and on a file left behind."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from components import config as platform_config
from components.common.parsing import KeyDoc
from components.config import CONFIG_SECTIONS
from tests.support.stacks import config_error
from tools import config_reference

ENDPOINT = {"publicAccessCidrs": ["198.51.100.0/24"]}
UNKNOWN = "zzzUnknownKey"
GPU_POOL: dict[str, Any] = {"name": "g", "instanceTypes": ["g6.xlarge"], "maxGpus": 1}

# One stack config per documented mapping, with an unknown key in exactly that mapping. The parser's error then lists
# the keys it allows there: what it reads, found independently of the declarations the generator walks.
PROBES: list[tuple[str, dict[str, Any]]] = [
    ("gpu-eks", {UNKNOWN: 1}),
    ("gpu-eks:network", {"network": {UNKNOWN: 1}}),
    ("gpu-eks:endpoint", {"endpoint": {UNKNOWN: 1}}),
    ("gpu-eks:controllerNodeGroup", {"controllerNodeGroup": {UNKNOWN: 1}}),
    ("gpu-eks:karpenter", {"karpenter": {UNKNOWN: 1}}),
    ("gpu-eks:karpenter.featureGates", {"karpenter": {"featureGates": {UNKNOWN: True}}}),
    ("gpu-eks:observability", {"observability": {UNKNOWN: 1}}),
    ("gpu-eks:nodeHealth", {"nodeHealth": {UNKNOWN: 1}}),
    ("gpu-eks:nodePools[]", {"nodePools": [{"name": "p", UNKNOWN: 1}]}),
    (
        "gpu-eks:nodePools[].disruption, gpu-eks:gpuNodePools[].disruption",
        {"nodePools": [{"name": "p", "disruption": {UNKNOWN: 1}}]},
    ),
    (
        "gpu-eks:nodePools[].disruption, gpu-eks:gpuNodePools[].disruption",
        {"gpuNodePools": [{**GPU_POOL, "disruption": {UNKNOWN: 1}}]},
    ),
    (
        "gpu-eks:nodePools[].disruption.budgets[], gpu-eks:gpuNodePools[].disruption.budgets[]",
        {"nodePools": [{"name": "p", "disruption": {"budgets": [{UNKNOWN: 1}]}}]},
    ),
    (
        "gpu-eks:nodePools[].disruption.budgets[], gpu-eks:gpuNodePools[].disruption.budgets[]",
        {"gpuNodePools": [{**GPU_POOL, "disruption": {"budgets": [{UNKNOWN: 1}]}}]},
    ),
    ("gpu-eks:gpuNodePools[]", {"gpuNodePools": [{**GPU_POOL, UNKNOWN: 1}]}),
    ("gpu-eks:gpuNodePools[].sharing", {"gpuNodePools": [{**GPU_POOL, "sharing": {UNKNOWN: 1}}]}),
    ("gpu-eks:gpuNodePools[].rootVolume", {"gpuNodePools": [{**GPU_POOL, "rootVolume": {UNKNOWN: 1}}]}),
    (
        "gpu-eks:gpuNodePools[].capacityReservations[]",
        {
            "gpuNodePools": [
                {**GPU_POOL, "capacityTypes": ["reserved", "on-demand"], "capacityReservations": [{UNKNOWN: 1}]}
            ]
        },
    ),
    ("gpu-eks:gpuNodePools[].taints[]", {"gpuNodePools": [{**GPU_POOL, "taints": [{UNKNOWN: 1}]}]}),
]
SECTIONS = {section.path: section for section in CONFIG_SECTIONS}


@pytest.mark.parametrize(("path", "raw"), PROBES, ids=[f"{path} ({i})" for i, (path, _) in enumerate(PROBES)])
def test_each_section_documents_exactly_the_keys_the_parser_allows(path: str, raw: dict[str, Any]) -> None:
    error = config_error({"endpoint": ENDPOINT, **raw})
    assert UNKNOWN in error.key, error
    allowed = error.allowed.split(": ", 1)[1].split(", ")
    assert list(SECTIONS[path].keys) == allowed


def test_every_mapping_section_is_probed() -> None:
    # aws:region is a scalar of the provider's namespace, not a mapping the parser checks for unknown keys.
    assert {path for path, _ in PROBES} == set(SECTIONS) - {"aws"}


def test_every_key_has_type_default_allowed_and_example() -> None:
    assert config_reference.problems(CONFIG_SECTIONS) == []
    text = config_reference.render(CONFIG_SECTIONS)
    for section in CONFIG_SECTIONS:
        for key in section.keys:
            assert f"| `{config_reference._qualified(section, key)}` |" in text


def test_the_committed_reference_is_current() -> None:
    assert config_reference.main(["--check"]) == 0, "docs/configuration.md is stale: run `make docs`"


def _with_gpu_pool_section(**changes: Any) -> tuple[Any, ...]:
    return tuple(replace(s, **changes) if s.path == "gpu-eks:gpuNodePools[]" else s for s in CONFIG_SECTIONS)


def test_an_undocumented_key_fails_the_check(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    section = SECTIONS["gpu-eks:gpuNodePools[]"]
    broken = _with_gpu_pool_section(keys=(*section.keys, "newKey"))
    with pytest.raises(config_reference.UndocumentedKeyError, match="'newKey' is read by the parser but undocumented"):
        config_reference.render(broken)
    monkeypatch.setattr(platform_config, "CONFIG_SECTIONS", broken)
    assert config_reference.main(["--check"]) == 1
    assert (
        "config reference: gpu-eks:gpuNodePools[]: key 'newKey' is read by the parser but undocumented: add a KeyDoc"
        in capsys.readouterr().err
    )


def test_a_key_without_an_example_fails() -> None:
    section = SECTIONS["gpu-eks:gpuNodePools[]"]
    docs = {**section.docs, "maxGpus": replace(section.docs["maxGpus"], example="", default=" ")}
    assert config_reference.problems(_with_gpu_pool_section(docs=docs)) == [
        "gpu-eks:gpuNodePools[]: key 'maxGpus' has no default, example in its KeyDoc"
    ]


def test_a_documented_key_the_parser_no_longer_reads_fails() -> None:
    section = SECTIONS["gpu-eks:gpuNodePools[]"]
    docs = {**section.docs, "oldKey": KeyDoc(type="t", default="d", allowed="a", example="e", description="x")}
    assert config_reference.problems(_with_gpu_pool_section(docs=docs)) == [
        "gpu-eks:gpuNodePools[]: key 'oldKey' is documented but the parser does not read it"
    ]


def test_a_stale_file_fails_the_check_and_writing_fixes_it(tmp_path: Path) -> None:
    output = tmp_path / "configuration.md"
    assert config_reference.main(["--check", "--output", str(output)]) == 1  # missing
    output.write_text(config_reference.render(CONFIG_SECTIONS).replace("maxGpus", "maxGPUs"))
    assert config_reference.main(["--check", "--output", str(output)]) == 1  # edited by hand
    assert config_reference.main(["--output", str(output)]) == 0
    assert config_reference.main(["--check", "--output", str(output)]) == 0


# -- every documented example is a value the parser accepts ----------------------------------------------------------

PINNED_EAST = {"availabilityZoneIds": {"us-east-1a": "use1-az1", "us-east-1b": "use1-az2"}}
EXAMPLE_POOL: dict[str, Any] = {"name": "g", "instanceTypes": ["g6.xlarge"], "maxGpus": 8}
# What some keys need beside them to be valid at all (a reservation needs the reserved capacity type, ...).
COMPANIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("gpu-eks:network", "vpcId"): {"privateSubnetIds": ["subnet-0aaa1111", "subnet-0bbb2222"]},
    ("gpu-eks:network", "privateSubnetIds"): {"vpcId": "vpc-0abc1234def567890"},
    ("gpu-eks:network", "publicSubnetIds"): {
        "vpcId": "vpc-0abc1234def567890",
        "privateSubnetIds": ["subnet-0aaa1111", "subnet-0bbb2222"],
    },
    ("gpu-eks:gpuNodePools[]", "capacityTypes"): {"capacityReservations": [{"id": "cr-0123456789abcdef0"}]},
    ("gpu-eks:gpuNodePools[]", "capacityReservations"): {"capacityTypes": ["reserved", "on-demand"]},
    ("gpu-eks:gpuNodePools[]", "efa"): {"instanceTypes": ["p5.48xlarge"], "zone": "us-east-1b"},
    ("gpu-eks:gpuNodePools[]", "zone"): {"instanceTypes": ["p5.48xlarge"], "efa": True},
    ("gpu-eks:gpuNodePools[]", "placementGroup"): {"instanceTypes": ["p5.48xlarge"], "efa": True, "zone": "us-east-1b"},
    ("gpu-eks:gpuNodePools[].capacityReservations[]", "ownerId"): {"tags": {"purpose": "llm-training"}},
    ("gpu-eks:gpuNodePools[].taints[]", "key"): {"effect": "NoSchedule"},
    ("gpu-eks:gpuNodePools[].taints[]", "value"): {"key": "team", "effect": "NoSchedule"},
    ("gpu-eks:gpuNodePools[].taints[]", "effect"): {"key": "team"},
}
BUDGET_COMPANIONS = {"schedule": {"duration": "8h"}, "duration": {"schedule": "@daily"}}
SHARING_POOLS = {  # a pool whose GPUs the example's sharing fits
    "strategy": ({"instanceTypes": ["p4d.24xlarge"]}, {"profile": "1g.5gb"}),
    "replicas": ({}, {"strategy": "time-slicing"}),
    "profile": ({"instanceTypes": ["p5.48xlarge"]}, {"strategy": "mig"}),
}


def _config_with(path: str, key: str, value: Any) -> tuple[dict[str, Any], str]:
    """A stack config that sets `key` of the section at `path` to `value`, and the region to parse it in."""
    extra = {key: value, **COMPANIONS.get((path, key), {})}
    pool = {**EXAMPLE_POOL}
    if path == "gpu-eks":
        return {key: value}, "us-west-2"
    if path == "gpu-eks:gpuNodePools[]":
        region = "us-east-1" if key in ("efa", "zone", "placementGroup") else "us-west-2"
        network = PINNED_EAST if region == "us-east-1" else {}
        return {"gpuNodePools": [{**pool, **extra}], "network": network}, region
    if path == "gpu-eks:gpuNodePools[].sharing":
        pool_extra, sharing_extra = SHARING_POOLS[key]
        return {"gpuNodePools": [{**pool, **pool_extra, "sharing": {**sharing_extra, key: value}}]}, "us-west-2"
    if path.startswith("gpu-eks:gpuNodePools[]."):
        field = path.rsplit(".", 1)[1]
        if field.endswith("[]"):
            sub: Any = [extra]
            pool = {**pool, **({"capacityTypes": ["reserved"]} if field == "capacityReservations[]" else {})}
        else:
            sub = extra
        return {"gpuNodePools": [{**pool, field.removesuffix("[]"): sub}]}, "us-west-2"
    if path.startswith("gpu-eks:nodePools[].disruption.budgets[]"):
        budget = {key: value, **BUDGET_COMPANIONS.get(key, {})}
        return {"nodePools": [{"name": "p", "disruption": {"budgets": [budget]}}]}, "us-west-2"
    if path.startswith("gpu-eks:nodePools[].disruption"):
        return {"nodePools": [{"name": "p", "disruption": extra}]}, "us-west-2"
    if path == "gpu-eks:nodePools[]":
        return {"nodePools": [{"name": "p", **extra}]}, "us-west-2"
    if path == "gpu-eks:karpenter.featureGates":
        return {"karpenter": {"featureGates": extra}}, "us-west-2"
    if path == "gpu-eks:network" and key == "availabilityZoneIds":
        return {"network": extra}, "us-east-1"
    section = path.removeprefix("gpu-eks:")
    return {section: extra}, "us-west-2"


EXAMPLES = [
    (section.path, key, section.docs[key].example)
    for section in CONFIG_SECTIONS
    if section.path != "aws"
    for key in section.keys
]


@pytest.mark.parametrize(("path", "key", "example"), EXAMPLES, ids=[f"{p} {k}" for p, k, _ in EXAMPLES])
def test_every_example_is_accepted_by_the_parser(path: str, key: str, example: str) -> None:
    import yaml

    from tests.support.stacks import parse

    raw, region = _config_with(path, key, yaml.safe_load(example))
    endpoint = raw.get("endpoint", ENDPOINT)
    parse({**raw, "endpoint": endpoint}, region=region)
