"""GPU instance facts for the EC2 families this project can put in a Karpenter NodePool.

Pure data and lookup helpers; no Pulumi import, so tests and tools can use it without a stack.

Sources (read the per-entry comments for which number came from where):

* GPU count, GPU model (the ``karpenter.k8s.aws/instance-gpu-name`` label value), memory per GPU,
  vCPUs, instance memory and architecture: Karpenter v1.14
  ``website/content/en/v1.14/reference/instance-types.md`` (aws/karpenter-provider-aws; the stored
  copy read was at commit c88abbba). Every instance below was checked against that page.
* On-demand prices: the us-east-1 table in Karpenter ``pkg/providers/pricing/zz_generated.pricing_aws.go``
  "generated at 2026-07-20T13:44:30Z" (commit 1d927085), as quoted in the project's research notes
  (nvidia.md section 3.2). Karpenter uses that file only as a fallback when the AWS Pricing API is
  unreachable: **it is a snapshot, not an AWS quote**. The notes give only the smallest and largest
  size of each g-family, so the prices of the other sizes come from an earlier generation of the same
  file ("generated at 2026-01-19T13:23:24Z", commit 031e72b6); those entries carry a ``price_note``.
  Every value the notes do list matched that earlier file exactly. p5e.48xlarge is in neither file,
  so its price is ``None``.
* MIG profiles and their maximum instance counts per GPU: the ``all-<profile>`` entries in the GPU
  Operator v26.7.0 ``default-mig-parted-config`` (nvidia.md section 3.1). ``tests/gpu/test_catalog.py``
  re-checks this hand-typed table against that upstream file.
* Compute capability: NVIDIA's CUDA GPU list (general knowledge, not in the research notes). It is
  kept only to show that every GPU here supports the MPS replica limit of 48 (see
  ``components.gpu.nvidia_config.MPS_MAX_REPLICAS``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from components.gpu.names import MIG_RESOURCE_PREFIX

PRICE_SOURCE = (
    "Karpenter pkg/providers/pricing/zz_generated.pricing_aws.go, us-east-1 on-demand, "
    "commit 1d927085 (fallback price snapshot, not an AWS quote)"
)
PRICE_SNAPSHOT_DATE = "2026-07-20"
PRICE_REGION = "us-east-1"

# Note attached to prices taken from the earlier generation of the pricing file, because the
# research table (2026-07-20 snapshot) lists only each g-family's smallest and largest size.
EARLIER_SNAPSHOT_NOTE = (
    "from the 2026-01-19 generation of zz_generated.pricing_aws.go (commit 031e72b6); "
    "not listed in the 2026-07-20 research table"
)
NOT_IN_SNAPSHOT_NOTE = "not in snapshot: p5e has no entry in Karpenter's pricing file (2026-01-19 or 2026-07-20)"

Architecture = Literal["amd64", "arm64"]


def _frozen(mapping: Mapping[str, int]) -> Mapping[str, int]:
    """Read-only view, so a shared GpuModel's profile table cannot be changed by a caller."""
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class GpuModel:
    """One GPU model as Karpenter labels it, plus what MIG can do with it."""

    # Karpenter label value (karpenter.k8s.aws/instance-gpu-name), e.g. "a10g", "a100", "h100".
    # Not unique: A100 40 GB and 80 GB are both "a100"; memory_mib tells them apart.
    name: str
    # Memory per GPU as Karpenter reports it (karpenter.k8s.aws/instance-gpu-memory).
    memory_mib: int
    # MIG profile (mig-parted / GPU Operator spelling, e.g. "1g.5gb+me") -> max instances per GPU.
    # Empty when the GPU is not MIG-capable. Excluded from the hash because dict views are unhashable.
    mig_profiles: Mapping[str, int] = field(default_factory=lambda: _frozen({}), hash=False)
    # Name of the MIG table this GPU uses, e.g. "A100-40GB"; None when not MIG-capable.
    mig_config_family: str | None = None
    # CUDA compute capability (major, minor); general knowledge, see module docstring.
    compute_capability: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class InstanceType:
    """One EC2 GPU instance type."""

    name: str
    family: str
    gpu_model: GpuModel
    gpus: int
    vcpus: int
    memory_mib: int
    architecture: Architecture
    # us-east-1 on-demand USD/hour from the fallback snapshot; None when the snapshot has none.
    on_demand_usd_per_hour: float | None
    # Set when the price did not come from the 2026-07-20 snapshot (see EARLIER_SNAPSHOT_NOTE).
    price_note: str | None = None


# --- MIG profile tables (nvidia.md section 3.1) ------------------------------------------------
# Keys use the mig-parted spelling ("+me"); the Kubernetes resource name replaces "+" with "."
# (see mig_resource_name). The "+me" profiles (one media-engine slice) allow a single instance.

MIG_PROFILES_A100_40GB = _frozen(
    {
        "1g.5gb": 7,
        "1g.5gb+me": 1,
        "1g.10gb": 4,
        "2g.10gb": 3,
        "3g.20gb": 2,
        "4g.20gb": 1,
        "7g.40gb": 1,
    }
)
# A100-80GB and H100-80GB share profile names and counts (same table in nvidia.md 3.1).
MIG_PROFILES_80GB = _frozen(
    {
        "1g.10gb": 7,
        "1g.10gb+me": 1,
        "1g.20gb": 4,
        "2g.20gb": 3,
        "3g.40gb": 2,
        "4g.40gb": 1,
        "7g.80gb": 1,
    }
)
MIG_PROFILES_H200_141GB = _frozen(
    {
        "1g.18gb": 7,
        "1g.18gb+me": 1,
        "1g.35gb": 4,
        "2g.35gb": 3,
        "3g.71gb": 2,
        "4g.71gb": 1,
        "7g.141gb": 1,
    }
)
MIG_PROFILES_B200 = _frozen(
    {
        "1g.23gb": 7,
        "1g.23gb+me": 1,
        "1g.45gb": 4,
        "2g.45gb": 3,
        "3g.90gb": 2,
        "4g.90gb": 1,
        "7g.180gb": 1,
    }
)

# --- GPU models ----------------------------------------------------------------------------------
# memory_mib values are Karpenter's instance-gpu-memory labels (v1.14 instance-types page).
T4 = GpuModel("t4", 16384, compute_capability=(7, 5))
T4G = GpuModel("t4g", 16384, compute_capability=(7, 5))
A10G = GpuModel("a10g", 22888, compute_capability=(8, 6))
L4 = GpuModel("l4", 22888, compute_capability=(8, 9))
L40S = GpuModel("l40s", 45776, compute_capability=(8, 9))
A100_40GB = GpuModel("a100", 40960, MIG_PROFILES_A100_40GB, "A100-40GB", (8, 0))
A100_80GB = GpuModel("a100", 81920, MIG_PROFILES_80GB, "A100-80GB", (8, 0))
H100_80GB = GpuModel("h100", 81920, MIG_PROFILES_80GB, "H100-80GB", (9, 0))
H200_141GB = GpuModel("h200", 144384, MIG_PROFILES_H200_141GB, "H200-141GB", (9, 0))
B200 = GpuModel("b200", 183359, MIG_PROFILES_B200, "B200", (10, 0))

GPU_MODELS: tuple[GpuModel, ...] = (T4, T4G, A10G, L4, L40S, A100_40GB, A100_80GB, H100_80GB, H200_141GB, B200)

# --- Instance types ------------------------------------------------------------------------------
_E = EARLIER_SNAPSHOT_NOTE


def _it(
    name: str,
    gpu: GpuModel,
    gpus: int,
    vcpus: int,
    memory_mib: int,
    price: float | None,
    note: str | None = None,
    arch: Architecture = "amd64",
) -> InstanceType:
    """Build an InstanceType; the family is the part of the name before the first dot."""
    return InstanceType(name, name.split(".", 1)[0], gpu, gpus, vcpus, memory_mib, arch, price, note)


_INSTANCE_TYPES: tuple[InstanceType, ...] = (
    # g4dn: NVIDIA T4. Prices for xlarge and metal are in the 2026-07-20 research table.
    _it("g4dn.xlarge", T4, 1, 4, 16384, 0.526),
    _it("g4dn.2xlarge", T4, 1, 8, 32768, 0.752, _E),
    _it("g4dn.4xlarge", T4, 1, 16, 65536, 1.204, _E),
    _it("g4dn.8xlarge", T4, 1, 32, 131072, 2.176, _E),
    _it("g4dn.12xlarge", T4, 4, 48, 196608, 3.912, _E),
    _it("g4dn.16xlarge", T4, 1, 64, 262144, 4.352, _E),
    _it("g4dn.metal", T4, 8, 96, 393216, 7.824),
    # g5: NVIDIA A10G. xlarge and 48xlarge prices are in the research table.
    _it("g5.xlarge", A10G, 1, 4, 16384, 1.006),
    _it("g5.2xlarge", A10G, 1, 8, 32768, 1.212, _E),
    _it("g5.4xlarge", A10G, 1, 16, 65536, 1.624, _E),
    _it("g5.8xlarge", A10G, 1, 32, 131072, 2.448, _E),
    _it("g5.12xlarge", A10G, 4, 48, 196608, 5.672, _E),
    _it("g5.16xlarge", A10G, 1, 64, 262144, 4.096, _E),
    _it("g5.24xlarge", A10G, 4, 96, 393216, 8.144, _E),
    _it("g5.48xlarge", A10G, 8, 192, 786432, 16.288),
    # g5g: NVIDIA T4G on Graviton2 (arm64). The research table gives "0.42 (xl) ... 2.744" without
    # naming the size of 2.744; both 16xlarge and metal cost 2.744 in the earlier file.
    _it("g5g.xlarge", T4G, 1, 4, 8192, 0.42, arch="arm64"),
    _it("g5g.2xlarge", T4G, 1, 8, 16384, 0.556, _E, arch="arm64"),
    _it("g5g.4xlarge", T4G, 1, 16, 32768, 0.828, _E, arch="arm64"),
    _it("g5g.8xlarge", T4G, 1, 32, 65536, 1.372, _E, arch="arm64"),
    _it("g5g.16xlarge", T4G, 2, 64, 131072, 2.744, _E + "; equals the research table's upper bound", arch="arm64"),
    _it("g5g.metal", T4G, 2, 64, 131072, 2.744, _E + "; equals the research table's upper bound", arch="arm64"),
    # g6: NVIDIA L4. xlarge and 48xlarge prices are in the research table.
    _it("g6.xlarge", L4, 1, 4, 16384, 0.8048),
    _it("g6.2xlarge", L4, 1, 8, 32768, 0.9776, _E),
    _it("g6.4xlarge", L4, 1, 16, 65536, 1.3232, _E),
    _it("g6.8xlarge", L4, 1, 32, 131072, 2.0144, _E),
    _it("g6.12xlarge", L4, 4, 48, 196608, 4.6016, _E),
    _it("g6.16xlarge", L4, 1, 64, 262144, 3.3968, _E),
    _it("g6.24xlarge", L4, 4, 96, 393216, 6.6752, _E),
    _it("g6.48xlarge", L4, 8, 192, 786432, 13.3504),
    # g6e: NVIDIA L40S; same GPU layout as g6, twice the host memory. xlarge/48xlarge in the table.
    _it("g6e.xlarge", L40S, 1, 4, 32768, 1.861),
    _it("g6e.2xlarge", L40S, 1, 8, 65536, 2.24208, _E),
    _it("g6e.4xlarge", L40S, 1, 16, 131072, 3.00424, _E),
    _it("g6e.8xlarge", L40S, 1, 32, 262144, 4.52856, _E),
    _it("g6e.12xlarge", L40S, 4, 48, 393216, 10.49264, _E),
    _it("g6e.16xlarge", L40S, 1, 64, 524288, 7.57719, _E),
    _it("g6e.24xlarge", L40S, 4, 96, 786432, 15.06559, _E),
    _it("g6e.48xlarge", L40S, 8, 192, 1572864, 30.13118),
    # p-families: every price below except p5e is in the research table.
    _it("p4d.24xlarge", A100_40GB, 8, 96, 1179648, 21.957642),
    _it("p4de.24xlarge", A100_80GB, 8, 96, 1179648, 27.44705),
    _it("p5.4xlarge", H100_80GB, 1, 16, 262144, 6.88),
    _it("p5.48xlarge", H100_80GB, 8, 192, 2097152, 55.04),
    _it("p5e.48xlarge", H200_141GB, 8, 192, 2097152, None, NOT_IN_SNAPSHOT_NOTE),
    _it("p5en.48xlarge", H200_141GB, 8, 192, 2097152, 63.296),
    _it("p6-b200.48xlarge", B200, 8, 192, 2097152, 113.9328),
)

INSTANCE_TYPES: Mapping[str, InstanceType] = MappingProxyType({it.name: it for it in _INSTANCE_TYPES})


# --- Helpers -------------------------------------------------------------------------------------


def mig_resource_name(profile: str) -> str:
    """Extended-resource name the device plugin advertises for a MIG profile under the mixed strategy.

    The plugin replaces "+" with "." (internal/rm/rm.go @v0.20.0), e.g. "1g.5gb+me" -> "nvidia.com/mig-1g.5gb.me".
    """
    if not profile or any(c.isspace() for c in profile):
        raise ValueError(f"invalid MIG profile {profile!r}")
    return MIG_RESOURCE_PREFIX + profile.replace("+", ".")


def instance_type(name: str) -> InstanceType:
    """The catalog entry for an instance type name such as "g5.xlarge"; KeyError if it is not in the catalog."""
    try:
        return INSTANCE_TYPES[name]
    except KeyError:
        raise KeyError(
            f"instance type {name!r} is not in the GPU catalog (components/gpu/catalog.py); "
            f"known families: {', '.join(known_families())}"
        ) from None


def known_families() -> list[str]:
    """Every instance family in the catalog, sorted."""
    return sorted({it.family for it in _INSTANCE_TYPES})


def family_sizes(family: str) -> list[InstanceType]:
    """All catalog sizes of one family, smallest first (by vCPUs, then name); KeyError if unknown."""
    sizes = [it for it in _INSTANCE_TYPES if it.family == family]
    if not sizes:
        raise KeyError(f"instance family {family!r} is not in the GPU catalog; known: {', '.join(known_families())}")
    return sorted(sizes, key=lambda it: (it.vcpus, it.name))


def known_gpu_names() -> list[str]:
    """Every Karpenter GPU name label value in the catalog, sorted."""
    return sorted({m.name for m in GPU_MODELS})


def select(
    instance_families: Iterable[str] = (), instance_types: Iterable[str] = (), gpu_names: Iterable[str] = ()
) -> list[InstanceType]:
    """Instance types matching a NodePool-style selection, sorted by name.

    The union of every size of ``instance_families`` and the explicit ``instance_types`` is taken
    first; when both are empty the whole catalog is the starting set, so ``select(gpu_names=["h100"])``
    works on its own. The result is then restricted to ``gpu_names`` (Karpenter label values) if any
    are given. Unknown families, types or GPU names raise KeyError, because a typo would otherwise
    silently select nothing.
    """
    families = list(instance_families)
    types = list(instance_types)
    gpus = set(gpu_names)
    unknown_gpus = gpus - set(known_gpu_names())
    if unknown_gpus:
        raise KeyError(f"unknown GPU name(s) {sorted(unknown_gpus)}; known: {', '.join(known_gpu_names())}")
    if families or types:
        chosen = {it.name: it for fam in families for it in family_sizes(fam)}
        chosen.update({name: instance_type(name) for name in types})
        pool = list(chosen.values())
    else:
        pool = list(_INSTANCE_TYPES)
    if gpus:
        pool = [it for it in pool if it.gpu_model.name in gpus]
    return sorted(pool, key=lambda it: it.name)


def mig_capable(model: GpuModel | InstanceType) -> bool:
    """True when the GPU (or the instance type's GPU) supports MIG partitioning."""
    gpu = model.gpu_model if isinstance(model, InstanceType) else model
    return bool(gpu.mig_profiles)
