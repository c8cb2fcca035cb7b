"""Pure builders for NVIDIA device-plugin sharing configs and MIG config names (no Pulumi import).

The dicts returned here are the device plugin's config-file format (``api/config/v1`` of
NVIDIA/k8s-device-plugin v0.20.0; research notes nvidia.md section 1.3). The chart takes them as
YAML strings in ``config.map``; a node picks one through the ``nvidia.com/device-plugin.config``
label, whose value is ``device_plugin_config_name(...)``.

Two choices hold for every sharing config built here:

* ``renameByDefault: false``: the shared resource keeps the name ``nvidia.com/gpu``. Karpenter
  launched the node for ``nvidia.com/gpu`` and waits for that exact resource before it marks the
  NodeClaim initialized; a renamed ``nvidia.com/gpu.shared`` would leave it uninitialized. It also
  lets a Karpenter NodeOverlay override ``nvidia.com/gpu`` capacity (karpenter.md section 2.2/2.4).
* ``failRequestsGreaterThanOne: true``: a pod asking for 2 time slices gets no more compute than one
  (slices are time-shared, not reserved), so such requests are refused instead of silently
  over-promising. NVIDIA's README recommends it for time-slicing; for MPS it is the v0.20.0 default.
"""

from __future__ import annotations

from typing import Any

from components.gpu.names import GPU_RESOURCE, SharingStrategy

CONFIG_VERSION = "v1"

MIG_STRATEGIES = ("none", "single", "mixed")

# The sharing strategies the device plugin's own config expresses (MIG is MIG Manager's, not a plugin config).
DEVICE_PLUGIN_STRATEGIES = (SharingStrategy.NONE.value, SharingStrategy.TIME_SLICING.value, SharingStrategy.MPS.value)

# The plugin rejects replicas < 2 ("number of replicas must be >= 2", replicas.go): one replica is
# not sharing, use the whole-GPU config instead.
TIME_SLICING_MIN_REPLICAS = 2
MPS_MIN_REPLICAS = 2
# mps-control-daemon allows 48 clients per GPU when compute capability >= 7.5, otherwise 16
# (cmd/mps-control-daemon/mps/device.go). Every GPU in components/gpu/catalog.py is 7.5 or newer
# (T4/T4G 7.5 is the oldest), so 48 applies to all of them; tests/gpu/test_nvidia_config.py checks this.
MPS_MAX_REPLICAS = 48

# Key the config-manager falls back to (fallback strategy "named") when a node has no label.
DEFAULT_CONFIG_NAME = "default"


def _check_mig_strategy(mig_strategy: str) -> None:
    """Reject anything the plugin's migStrategy flag would not accept."""
    if mig_strategy not in MIG_STRATEGIES:
        raise ValueError(f"mig_strategy must be one of {MIG_STRATEGIES}, got {mig_strategy!r}")


def _check_replicas(replicas: int | None, low: int, high: int | None, what: str) -> None:
    """Replicas must be a real int (bool is an int in Python, but not in YAML/Go) inside [low, high]."""
    if isinstance(replicas, bool) or not isinstance(replicas, int):
        raise TypeError(f"{what} replicas must be an int, got {replicas!r}")
    if replicas < low or (high is not None and replicas > high):
        bound = f">= {low}" if high is None else f"between {low} and {high}"
        raise ValueError(f"{what} replicas must be {bound}, got {replicas}")


def _base(mig_strategy: str) -> dict[str, Any]:
    """Version and flags shared by every config."""
    _check_mig_strategy(mig_strategy)
    return {"version": CONFIG_VERSION, "flags": {"migStrategy": mig_strategy}}


def _replicated(replicas: int) -> dict[str, Any]:
    """The ReplicatedResources block: one shared resource, nvidia.com/gpu, keeping its name."""
    return {
        "renameByDefault": False,
        "failRequestsGreaterThanOne": True,
        "resources": [{"name": GPU_RESOURCE, "replicas": replicas}],
    }


def whole_gpu_config(mig_strategy: str = "none") -> dict[str, Any]:
    """Config with no sharing: each physical GPU (or MIG device) is one schedulable unit."""
    return _base(mig_strategy)


def time_slicing_config(replicas: int, mig_strategy: str = "none") -> dict[str, Any]:
    """Time-slicing config advertising ``replicas`` × nvidia.com/gpu per physical GPU.

    ``mig_strategy`` is "none" unless the GPU Operator runs MIG on the cluster ("mixed").
    """
    _check_replicas(replicas, TIME_SLICING_MIN_REPLICAS, None, "time-slicing")
    cfg = _base(mig_strategy)
    cfg["sharing"] = {"timeSlicing": _replicated(replicas)}
    return cfg


def mps_config(replicas: int, mig_strategy: str = "none") -> dict[str, Any]:
    """MPS config advertising ``replicas`` × nvidia.com/gpu per physical GPU (2..48).

    MPS is only supported on full GPUs; do not use it on a MIG-partitioned pool (the plugin
    fails with "sharing using MPS is not supported for MIG devices"). It also needs the
    ``nvidia.com/mps.capable=true`` node label, which GFD writes.
    """
    _check_replicas(replicas, MPS_MIN_REPLICAS, MPS_MAX_REPLICAS, "MPS")
    cfg = _base(mig_strategy)
    cfg["sharing"] = {"mps": _replicated(replicas)}
    return cfg


def device_plugin_config(strategy: str, replicas: int | None = None, mig_strategy: str = "none") -> dict[str, Any]:
    """Dispatch to the builder for ``strategy`` (one of DEVICE_PLUGIN_STRATEGIES)."""
    if strategy == SharingStrategy.NONE:
        if replicas not in (None, 1):
            raise ValueError(f"strategy 'none' takes no replicas, got {replicas!r}")
        return whole_gpu_config(mig_strategy)
    if replicas is None:
        raise ValueError(f"strategy {strategy!r} needs replicas")
    if strategy == SharingStrategy.TIME_SLICING:
        return time_slicing_config(replicas, mig_strategy)
    if strategy == SharingStrategy.MPS:
        return mps_config(replicas, mig_strategy)
    raise ValueError(f"unknown sharing strategy {strategy!r}; expected one of {DEVICE_PLUGIN_STRATEGIES}")


def device_plugin_config_name(strategy: str, replicas: int | None = None) -> str:
    """Key of a config in the chart's ``config.map`` and value of the node label that selects it.

    "time-slicing-4", "mps-8", or "default" for whole GPUs (the key the config-manager's
    "named" fallback uses when a node carries no label).
    """
    if strategy == SharingStrategy.NONE:
        if replicas not in (None, 1):
            raise ValueError(f"strategy 'none' takes no replicas, got {replicas!r}")
        return DEFAULT_CONFIG_NAME
    if strategy == SharingStrategy.TIME_SLICING:
        _check_replicas(replicas, TIME_SLICING_MIN_REPLICAS, None, "time-slicing")
    elif strategy == SharingStrategy.MPS:
        _check_replicas(replicas, MPS_MIN_REPLICAS, MPS_MAX_REPLICAS, "MPS")
    else:
        raise ValueError(f"unknown sharing strategy {strategy!r}; expected one of {DEVICE_PLUGIN_STRATEGIES}")
    return f"{strategy}-{replicas}"


def mig_config_name(profile: str) -> str:
    """Value for the ``nvidia.com/mig.config`` node label that puts every GPU in ``profile``.

    "all-<profile>", with "+" written as "." the way the GPU Operator's default config names them:
    "1g.5gb" -> "all-1g.5gb", "1g.5gb+me" -> "all-1g.5gb.me".
    """
    if not profile or any(c.isspace() for c in profile):
        raise ValueError(f"invalid MIG profile {profile!r}")
    return "all-" + profile.replace("+", ".")
