"""Independent re-implementation of the NVIDIA k8s-device-plugin v0.20.0 config-file rules.

Written from the plugin's own Go sources as summarised in the research notes (nvidia.md section 1.3:
``api/config/v1/{config,flags,sharing,replicas,resources}.go``, ``internal/plugin/mps.go``,
``cmd/mps-control-daemon/mps/device.go``), NOT from ``components/gpu/nvidia_config.py``, so that tests
can check the builders against rules they did not write.

Where this is stricter than the plugin, on purpose:

* Unknown keys at any level are errors. Key names must match the Go json tags exactly. A lenient
  decoder drops a misspelt key such as ``timeslicing`` without a word, and the node then runs
  without sharing. (Whether the plugin's own decoder rejects unknown keys was not verified.)
* MPS on a MIG pool is reported here, from the pool description (``mig_enabled``). The plugin
  only finds out at runtime on the node.

Messages quote the Go error text where the notes record it ("unknown version",
"no resources specified", "number of replicas must be >= 2").
"""

from __future__ import annotations

import re
from typing import Any

VERSIONS = ("", "v1")
MIG_STRATEGIES = ("none", "single", "mixed")
RESOURCE_PREFIX = "nvidia.com/"
MAX_RESOURCE_NAME_LENGTH = 63  # resources.go: fully qualified name, prefix included
MPS_MAX_REPLICAS = 48  # mps/device.go, compute capability >= 7.5 (16 below that)

CONFIG_KEYS = {"version", "flags", "resources", "sharing", "imex"}
FLAG_BOOL_KEYS = {"failOnInitError", "gdrcopyEnabled", "gdsEnabled", "mofedEnabled", "useNodeFeatureAPI"}
FLAG_STR_KEYS = {"migStrategy", "mpsRoot", "nvidiaDriverRoot", "nvidiaDevRoot", "deviceDiscoveryStrategy"}
FLAG_KEYS = FLAG_BOOL_KEYS | FLAG_STR_KEYS | {"plugin", "gfd"}
PLUGIN_FLAG_KEYS = {
    "passDeviceSpecs",
    "deviceListStrategy",
    "deviceIDStrategy",
    "cdiAnnotationPrefix",
    "nvidiaCTKPath",
    "containerDriverRoot",
    "sharedDevicesAllocationPolicy",
}
GFD_FLAG_KEYS = {"oneshot", "noTimestamp", "sleepInterval", "outputFile", "machineTypeFile"}
RESOURCES_KEYS = {"gpus", "mig"}
RESOURCE_PATTERN_KEYS = {"pattern", "name"}
# Imex's fields are not in the research notes; these are from the v0.20.0 sources as remembered
# (channelIDs, required). Nothing in this project emits imex.
IMEX_KEYS = {"channelIDs", "required"}
SHARING_KEYS = {"timeSlicing", "mps"}
REPLICATED_RESOURCES_KEYS = {"renameByDefault", "failRequestsGreaterThanOne", "resources"}
REPLICATED_RESOURCE_KEYS = {"name", "rename", "devices", "replicas"}

# k8s.io/apimachinery IsQualifiedName: the name part after the prefix.
_QUALIFIED_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_MIG_INDEX = re.compile(r"^\d+:\d+$")
_GPU_INDEX = re.compile(r"^\d+$")
_UUID = re.compile(r"^(GPU|MIG)-[0-9A-Za-z-/]+$")


def _unknown_keys(obj: dict, allowed: set[str], where: str) -> list[str]:
    """One error per key the Go struct at ``where`` has no json tag for."""
    return [f"{where}: unknown field {k!r}" for k in obj if k not in allowed]


def _is_int(value: Any) -> bool:
    """YAML/JSON integer; Python's bool is excluded because Go would refuse true as an int."""
    return isinstance(value, int) and not isinstance(value, bool)


def _mapping(value: Any, where: str, errors: list[str]) -> dict | None:
    """The value as a dict; None (absent or YAML null) is allowed, anything else is an error."""
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.append(f"{where}: must be a mapping, got {type(value).__name__}")
        return None
    return value


def normalize_resource_name(name: str) -> str:
    """Add the implied ``nvidia.com/`` prefix, as resources.go NewResourceName does."""
    return name if name.startswith(RESOURCE_PREFIX) else RESOURCE_PREFIX + name


def resource_name_errors(name: Any, where: str) -> list[str]:
    """Errors for a resource name: string, <= 63 chars fully qualified, qualified-name syntax."""
    if not isinstance(name, str) or not name:
        return [f"{where}: resource name must be a non-empty string"]
    full = normalize_resource_name(name)
    errors = []
    if len(full) > MAX_RESOURCE_NAME_LENGTH:
        errors.append(
            f"{where}: fully-qualified resource name must be {MAX_RESOURCE_NAME_LENGTH} characters or less: {full}"
        )
    part = full[len(RESOURCE_PREFIX) :]
    if not _QUALIFIED_NAME_PART.match(part):
        errors.append(f"{where}: invalid resource name {full!r} (name part must be alphanumeric, '-', '_' or '.')")
    return errors


def _devices_errors(devices: Any, where: str) -> list[str]:
    """``devices``: "all", a positive count, or a list of GPU indices, "N:M" MIG indices or UUIDs."""
    if isinstance(devices, str):
        return (
            []
            if devices == "all"
            else [f"{where}: devices set as {devices!r} but the only valid string input is 'all'"]
        )
    if _is_int(devices):
        return [] if devices > 0 else [f"{where}: devices count must be > 0, got {devices}"]
    if isinstance(devices, list):
        if not devices:
            return [f"{where}: devices list must not be empty"]
        errors = []
        for i, dev in enumerate(devices):
            if _is_int(dev) and dev >= 0:
                continue
            if isinstance(dev, str) and (_GPU_INDEX.match(dev) or _MIG_INDEX.match(dev) or _UUID.match(dev)):
                continue
            errors.append(
                f"{where}[{i}]: unsupported device {dev!r} (expected a GPU index, 'N:M' MIG index or GPU-/MIG- UUID)"
            )
        return errors
    return [f"{where}: devices must be 'all', a positive count or a list, got {devices!r}"]


def _replicated_resources_errors(block: Any, where: str, *, mps: bool) -> list[str]:
    """Rules for sharing.timeSlicing / sharing.mps (replicas.go, plus the MPS-only limits)."""
    errors: list[str] = []
    rr = _mapping(block, where, errors)
    if errors:
        return errors
    if rr is None:
        # The key is present but empty: Go's UnmarshalJSON still runs and finds no resources.
        return [f"{where}: no resources specified"]
    errors += _unknown_keys(rr, REPLICATED_RESOURCES_KEYS, where)
    for key in ("renameByDefault", "failRequestsGreaterThanOne"):
        if key in rr and not isinstance(rr[key], bool):
            errors.append(f"{where}.{key}: must be a boolean, got {rr[key]!r}")
    resources = rr.get("resources")
    if resources is None or (isinstance(resources, list) and not resources):
        errors.append(f"{where}: no resources specified")
        return errors
    if not isinstance(resources, list):
        errors.append(f"{where}.resources: must be a list")
        return errors
    for i, res in enumerate(resources):
        rwhere = f"{where}.resources[{i}]"
        if not isinstance(res, dict):
            errors.append(f"{rwhere}: must be a mapping")
            continue
        errors += _unknown_keys(res, REPLICATED_RESOURCE_KEYS, rwhere)
        if "name" not in res:
            errors.append(f"{rwhere}: no resource name specified")
        else:
            errors += resource_name_errors(res["name"], f"{rwhere}.name")
        if "rename" in res:
            errors += resource_name_errors(res["rename"], f"{rwhere}.rename")
        if "devices" in res:
            errors += _devices_errors(res["devices"], f"{rwhere}.devices")
        if "replicas" not in res:
            errors.append(f"{rwhere}: no replicas specified")
        elif not _is_int(res["replicas"]):
            errors.append(f"{rwhere}.replicas: must be an integer, got {res['replicas']!r}")
        elif res["replicas"] < 2:
            errors.append(f"{rwhere}: number of replicas must be >= 2")
        elif mps and res["replicas"] > MPS_MAX_REPLICAS:
            errors.append(f"{rwhere}: MPS replicas must be <= {MPS_MAX_REPLICAS}, got {res['replicas']}")
        if mps and isinstance(res.get("name"), str) and normalize_resource_name(res["name"]) != "nvidia.com/gpu":
            errors.append(f"{rwhere}: MPS supports only nvidia.com/gpu (full GPUs), got {res['name']!r}")
    return errors


def _flags_errors(flags: dict) -> list[str]:
    """Rules for the flags block (flags.go): known keys, types, and the migStrategy enum."""
    errors = _unknown_keys(flags, FLAG_KEYS, "flags")
    if "migStrategy" in flags and flags["migStrategy"] not in MIG_STRATEGIES:
        errors.append(
            f"flags.migStrategy: unknown MIG strategy {flags['migStrategy']!r}; expected one of {MIG_STRATEGIES}"
        )
    for key in FLAG_BOOL_KEYS & flags.keys():
        if not isinstance(flags[key], bool):
            errors.append(f"flags.{key}: must be a boolean, got {flags[key]!r}")
    for key in (FLAG_STR_KEYS - {"migStrategy"}) & flags.keys():
        if not isinstance(flags[key], str):
            errors.append(f"flags.{key}: must be a string, got {flags[key]!r}")
    plugin = _mapping(flags.get("plugin"), "flags.plugin", errors)
    if plugin is not None:
        errors += _unknown_keys(plugin, PLUGIN_FLAG_KEYS, "flags.plugin")
    gfd = _mapping(flags.get("gfd"), "flags.gfd", errors)
    if gfd is not None:
        errors += _unknown_keys(gfd, GFD_FLAG_KEYS, "flags.gfd")
    return errors


def validate_device_plugin_config(cfg: dict, *, mig_enabled: bool = False) -> list[str]:
    """All rule violations in a device-plugin config file (parsed YAML); an empty list means valid.

    ``mig_enabled`` says whether the node pool's GPUs are MIG-partitioned (GPU Operator with a
    ``nvidia.com/mig.config`` other than all-disabled); it is needed for the MPS + MIG rule.
    """
    if not isinstance(cfg, dict):
        return [f"config must be a mapping, got {type(cfg).__name__}"]
    errors = _unknown_keys(cfg, CONFIG_KEYS, "config")

    version = cfg.get("version", "")
    if version not in VERSIONS:
        errors.append(f"version: unknown version: {version!r}")

    flags = _mapping(cfg.get("flags"), "flags", errors) or {}
    errors += _flags_errors(flags)
    # Unset migStrategy behaves as "none" in the plugin.
    mig_strategy = flags.get("migStrategy", "none")

    resources = _mapping(cfg.get("resources"), "resources", errors)
    if resources is not None:
        errors += _unknown_keys(resources, RESOURCES_KEYS, "resources")
        for key in RESOURCES_KEYS & resources.keys():
            entries = resources[key]
            if not isinstance(entries, list):
                errors.append(f"resources.{key}: must be a list")
                continue
            for i, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    errors.append(f"resources.{key}[{i}]: must be a mapping")
                else:
                    errors += _unknown_keys(entry, RESOURCE_PATTERN_KEYS, f"resources.{key}[{i}]")

    imex = _mapping(cfg.get("imex"), "imex", errors)
    if imex is not None:
        errors += _unknown_keys(imex, IMEX_KEYS, "imex")

    sharing = _mapping(cfg.get("sharing"), "sharing", errors)
    if sharing is not None:
        errors += _unknown_keys(sharing, SHARING_KEYS, "sharing")
        if "timeSlicing" in sharing:
            errors += _replicated_resources_errors(sharing["timeSlicing"], "sharing.timeSlicing", mps=False)
        if "mps" in sharing:
            errors += _replicated_resources_errors(sharing["mps"], "sharing.mps", mps=True)
            if mig_enabled and mig_strategy in ("single", "mixed"):
                errors.append(
                    f"sharing.mps: sharing using MPS is not supported for MIG devices "
                    f"(migStrategy {mig_strategy!r} on a MIG-enabled pool)"
                )
    return errors
