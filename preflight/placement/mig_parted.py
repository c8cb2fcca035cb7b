"""Read mig-parted configs (the GPU Operator's default, or any other) and answer "how does config X
partition GPU Y?".

Purpose: prove that the ``nvidia.com/mig.config=all-<profile>`` label a MIG NodePool sets names a
config that exists upstream and partitions that pool's GPU with the expected profile and count.

File format (mig-parted ``api/spec/v1/spec.go`` @v0.15.0; nvidia.md section 2.4)::

    version: v1
    mig-configs:
      <name>:
        - device-filter: ["0x20B010DE", ...]   # optional; string or list of PCI device IDs
          devices: all                          # or a list of GPU indices
          mig-enabled: true
          mig-devices: {"1g.5gb": 7}

An entry applies to a GPU when it has no ``device-filter`` or the GPU's PCI ID is in it. Note that
an unfiltered entry applies to *every* GPU in the file's eyes: ``all-1g.5gb`` has no filter, so
``partitions("all-1g.5gb", "H100-80GB")`` answers ``{"1g.5gb": 7}`` even though an H100 has no such
profile (MIG Manager would fail on the node). Whether a GPU supports a profile comes from the
catalog's MIG table; this module only answers what the upstream config would ask for.

PCI device IDs. mig-parted identifies GPUs by "0x<device><vendor>" (vendor 10DE = NVIDIA). The map
below was derived as follows: the default config's comments name the GPU group of each
``device-filter`` list ("# A100-40GB, A800-40GB", "# H100-80GB, H800-80GB, A100-80GB, A800-80GB",
"# H200 141GB, H200 NVL", "# B200"); the exact member of each group is the SXM part the EC2
instance carries, by its PCI ID (pci-ids database: 10de:20b0 "GA100 [A100 SXM4 40GB]", 20b2
"GA100 [A100 SXM4 80GB]", 2330 "GH100 [H100 SXM5 80GB]", 2335 "GH100 [H200 SXM 141GB]", 2901
"GB100 [B200]"; recalled, not fetched). The mig-parted example config has no device filters, so it
adds nothing to the map. ``tests/gpu/test_mig_parted.py`` checks each ID against the ``all-balanced``
layout the research notes give per GPU, which would catch an ID from the wrong group.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from preflight.upstream import upstream_file

DEFAULT_CONFIG_FILE = "gpu-operator-v26.7.0-default-mig-parted-config.yaml"
EXAMPLE_CONFIG_FILE = "mig-parted-v0.15.0-examples-config.yaml"

# Keyed by components.gpu.catalog GpuModel.mig_config_family; see the module docstring for provenance.
DEVICE_IDS: Mapping[str, str] = {
    "A100-40GB": "0x20B010DE",  # p4d.24xlarge: A100-SXM4-40GB
    "A100-80GB": "0x20B210DE",  # p4de.24xlarge: A100-SXM4-80GB
    "H100-80GB": "0x233010DE",  # p5.*: H100-SXM5-80GB
    "H200-141GB": "0x233510DE",  # p5e/p5en.48xlarge: H200-SXM-141GB
    "B200": "0x290110DE",  # p6-b200.48xlarge
}

_SPEC_KEYS = {"version", "mig-configs"}
_ENTRY_KEYS = {"device-filter", "devices", "mig-enabled", "mig-devices"}


def validate_spec(spec: Any) -> list[str]:
    """mig-parted's own spec rules (spec.go): version v1, non-empty entries, required fields, no unknown keys."""
    if not isinstance(spec, dict):
        return ["spec must be a mapping"]
    errors = [f"unknown field {k!r}" for k in spec if k not in _SPEC_KEYS]
    if spec.get("version") != "v1":
        errors.append(f"version must be 'v1', got {spec.get('version')!r}")
    configs = spec.get("mig-configs") or {}
    if not isinstance(configs, dict):
        return errors + ["mig-configs must be a mapping"]
    for name, entries in configs.items():
        if not isinstance(entries, list) or not entries:
            errors.append(f"{name}: must be a non-empty list")
            continue
        for i, entry in enumerate(entries):
            where = f"{name}[{i}]"
            if not isinstance(entry, dict):
                errors.append(f"{where}: must be a mapping")
                continue
            errors += [f"{where}: unknown field {k!r}" for k in entry if k not in _ENTRY_KEYS]
            for key in ("devices", "mig-enabled"):
                if key not in entry:
                    errors.append(f"{where}: missing {key!r}")
            devices = entry.get("devices")
            if (
                devices is not None
                and devices != "all"
                and not (
                    isinstance(devices, list) and all(isinstance(d, int) and not isinstance(d, bool) for d in devices)
                )
            ):
                errors.append(f"{where}: devices must be 'all' or a list of GPU indices")
            if entry.get("mig-enabled") is True and not isinstance(entry.get("mig-devices"), dict):
                errors.append(f"{where}: mig-enabled true requires mig-devices")
            if entry.get("mig-enabled") is False and entry.get("mig-devices"):
                errors.append(f"{where}: mig-enabled false must not list mig-devices")
            filt = entry.get("device-filter")
            if filt is not None and not isinstance(filt, (str, list)):
                errors.append(f"{where}: device-filter must be a string or list")
    return errors


def _normalize_id(device_id: str) -> str:
    """Compare IDs case-insensitively on the hex digits; keep the 0x prefix lower-case."""
    if not device_id.lower().startswith("0x"):
        raise ValueError(f"PCI device ID must look like 0x20B010DE, got {device_id!r}")
    return "0x" + device_id[2:].upper()


def device_id_for(gpu: Any) -> str:
    """PCI device ID for a catalog GpuModel, a MIG family name ("A100-40GB") or a raw ID ("0x20B010DE")."""
    family = getattr(gpu, "mig_config_family", gpu)
    if family is None:
        raise ValueError(f"{gpu!r} is not MIG-capable (no mig_config_family)")
    if not isinstance(family, str):
        raise TypeError(f"expected a GpuModel, MIG family name or PCI ID, got {gpu!r}")
    if family.lower().startswith("0x"):
        return _normalize_id(family)
    try:
        return DEVICE_IDS[family]
    except KeyError:
        raise KeyError(f"no PCI device ID known for MIG family {family!r}; add it to DEVICE_IDS") from None


class MigPartedConfig:
    """One parsed mig-parted config file."""

    def __init__(self, spec: dict, source: str = "<dict>"):
        errors = validate_spec(spec)
        if errors:
            raise ValueError(f"{source} is not a valid mig-parted config: " + "; ".join(errors))
        self.source = source
        self.configs: dict[str, list[dict]] = spec["mig-configs"]

    @classmethod
    def from_file(cls, path: Path) -> MigPartedConfig:
        """Parse a YAML file."""
        return cls(yaml.load(path.read_text(), Loader=yaml.CSafeLoader), str(path))

    def config_names(self) -> set[str]:
        """Every config name, e.g. "all-1g.5gb"."""
        return set(self.configs)

    def partitions(self, config_name: str, gpu: Any) -> dict[str, int] | None:
        """Profile -> instances per GPU that ``config_name`` asks for on ``gpu``.

        ``gpu`` is a catalog GpuModel, a MIG family name or a PCI device ID. Returns None when the
        config does not exist or none of its entries applies to that GPU, and ``{}`` when the
        applying entry disables MIG (or enables it with no devices). Raises when the applying entry
        selects GPUs by index, because the answer would then differ per GPU of the node.
        """
        entries = self.configs.get(config_name)
        if entries is None:
            return None
        device_id = device_id_for(gpu)
        matching = []
        for entry in entries:
            filt = entry.get("device-filter")
            if filt is not None:
                ids = [filt] if isinstance(filt, str) else filt
                if device_id not in {_normalize_id(i) for i in ids}:
                    continue
            matching.append(entry)
        if not matching:
            return None
        # Index-selected entries give each GPU of the node its own layout: no single answer.
        by_index = [e["devices"] for e in matching if e["devices"] != "all"]
        if by_index:
            raise ValueError(f"{config_name}: entries select GPUs {by_index}, not all GPUs of the node")
        if len(matching) > 1:
            raise ValueError(f"{config_name}: {len(matching)} entries apply to {device_id}; answer is ambiguous")
        entry = matching[0]
        if not entry["mig-enabled"]:
            return {}
        return dict(entry.get("mig-devices") or {})


@cache
def _load(name: str) -> MigPartedConfig:
    """Parse an upstream NVIDIA file once per test session."""
    return MigPartedConfig.from_file(upstream_file("nvidia", name))


def default_config() -> MigPartedConfig:
    """The GPU Operator v26.7.0 default-mig-parted-config (skips/fails like upstream_file when absent)."""
    return _load(DEFAULT_CONFIG_FILE)


def example_config() -> MigPartedConfig:
    """mig-parted v0.15.0 examples/config.yaml."""
    return _load(EXAMPLE_CONFIG_FILE)


def config_names() -> set[str]:
    """Config names in the GPU Operator default config."""
    return default_config().config_names()


def partitions(config_name: str, gpu_model_or_device_id: Any) -> dict[str, int] | None:
    """``MigPartedConfig.partitions`` on the GPU Operator default config."""
    return default_config().partitions(config_name, gpu_model_or_device_id)
