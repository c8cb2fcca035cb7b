"""GPU instance facts for the EC2 families this project can put in a Karpenter NodePool.

Pure data and lookup helpers; no Pulumi import, so tests and tools can use it without a stack.

Sources (read the per-entry comments for which number came from where):

* GPU count, GPU model (the ``karpenter.k8s.aws/instance-gpu-name`` label value), memory per GPU,
  vCPUs, instance memory and architecture: Karpenter v1.14
  ``website/content/en/v1.14/reference/instance-types.md`` (aws/karpenter-provider-aws; the stored
  copy read was at commit c88abbba). Every instance below was checked against that page.
* Prices are not here: they depend on the region and live in ``components.gpu.prices`` (generated from
  Karpenter's pricing data by ``tools/regen_prices.py``).
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


def _it(name: str, gpu: GpuModel, gpus: int, vcpus: int, memory_mib: int, arch: Architecture = "amd64") -> InstanceType:
    """Build an InstanceType; the family is the part of the name before the first dot."""
    return InstanceType(name, name.split(".", 1)[0], gpu, gpus, vcpus, memory_mib, arch)


_INSTANCE_TYPES: tuple[InstanceType, ...] = (
    # g4dn: NVIDIA T4.
    _it("g4dn.xlarge", T4, 1, 4, 16384),
    _it("g4dn.2xlarge", T4, 1, 8, 32768),
    _it("g4dn.4xlarge", T4, 1, 16, 65536),
    _it("g4dn.8xlarge", T4, 1, 32, 131072),
    _it("g4dn.12xlarge", T4, 4, 48, 196608),
    _it("g4dn.16xlarge", T4, 1, 64, 262144),
    _it("g4dn.metal", T4, 8, 96, 393216),
    # g5: NVIDIA A10G.
    _it("g5.xlarge", A10G, 1, 4, 16384),
    _it("g5.2xlarge", A10G, 1, 8, 32768),
    _it("g5.4xlarge", A10G, 1, 16, 65536),
    _it("g5.8xlarge", A10G, 1, 32, 131072),
    _it("g5.12xlarge", A10G, 4, 48, 196608),
    _it("g5.16xlarge", A10G, 1, 64, 262144),
    _it("g5.24xlarge", A10G, 4, 96, 393216),
    _it("g5.48xlarge", A10G, 8, 192, 786432),
    # g5g: NVIDIA T4G on Graviton2 (arm64).
    _it("g5g.xlarge", T4G, 1, 4, 8192, arch="arm64"),
    _it("g5g.2xlarge", T4G, 1, 8, 16384, arch="arm64"),
    _it("g5g.4xlarge", T4G, 1, 16, 32768, arch="arm64"),
    _it("g5g.8xlarge", T4G, 1, 32, 65536, arch="arm64"),
    _it("g5g.16xlarge", T4G, 2, 64, 131072, arch="arm64"),
    _it("g5g.metal", T4G, 2, 64, 131072, arch="arm64"),
    # g6: NVIDIA L4.
    _it("g6.xlarge", L4, 1, 4, 16384),
    _it("g6.2xlarge", L4, 1, 8, 32768),
    _it("g6.4xlarge", L4, 1, 16, 65536),
    _it("g6.8xlarge", L4, 1, 32, 131072),
    _it("g6.12xlarge", L4, 4, 48, 196608),
    _it("g6.16xlarge", L4, 1, 64, 262144),
    _it("g6.24xlarge", L4, 4, 96, 393216),
    _it("g6.48xlarge", L4, 8, 192, 786432),
    # g6e: NVIDIA L40S; same GPU layout as g6, twice the host memory.
    _it("g6e.xlarge", L40S, 1, 4, 32768),
    _it("g6e.2xlarge", L40S, 1, 8, 65536),
    _it("g6e.4xlarge", L40S, 1, 16, 131072),
    _it("g6e.8xlarge", L40S, 1, 32, 262144),
    _it("g6e.12xlarge", L40S, 4, 48, 393216),
    _it("g6e.16xlarge", L40S, 1, 64, 524288),
    _it("g6e.24xlarge", L40S, 4, 96, 786432),
    _it("g6e.48xlarge", L40S, 8, 192, 1572864),
    # p-families: A100 40/80 GB, H100, H200, B200.
    _it("p4d.24xlarge", A100_40GB, 8, 96, 1179648),
    _it("p4de.24xlarge", A100_80GB, 8, 96, 1179648),
    _it("p5.4xlarge", H100_80GB, 1, 16, 262144),
    _it("p5.48xlarge", H100_80GB, 8, 192, 2097152),
    _it("p5e.48xlarge", H200_141GB, 8, 192, 2097152),
    _it("p5en.48xlarge", H200_141GB, 8, 192, 2097152),
    _it("p6-b200.48xlarge", B200, 8, 192, 2097152),
)

INSTANCE_TYPES: Mapping[str, InstanceType] = MappingProxyType({it.name: it for it in _INSTANCE_TYPES})

# --- EFA -----------------------------------------------------------------------------------------
# Elastic Fabric Adapter interfaces per instance type: EC2's EfaInfo.MaximumEfaInterfaces, which Karpenter
# advertises as `vpc.amazonaws.com/efa` (aws/karpenter-provider-aws website/content/en/v1.14/reference/
# instance-types.md, commit 692ccdd0 of 2026-07-11, read 2026-11-25). On every type here that is also the number
# of network cards, one EFA per card (v1.14.1 pkg/providers/instancetype/zz_generated.vpclimits.go, generated
# 2026-05-18 from DescribeInstanceTypes), and card 0 takes at least two interfaces (2 on p5.48xlarge and
# p5e.48xlarge, 4 to 15 elsewhere), so "primary ENA + one efa-only interface per card" fits each of them
# (components.gpu.efa). Catalog types not listed have no EFA. tests/gpu/test_catalog.py re-checks the list of
# EFA types against the EFA device plugin chart's supportedInstanceLabels.
EFA_INTERFACES: Mapping[str, int] = MappingProxyType(
    {
        **dict.fromkeys(("g4dn.8xlarge", "g4dn.12xlarge", "g4dn.16xlarge", "g4dn.metal"), 1),
        **dict.fromkeys(("g5.8xlarge", "g5.12xlarge", "g5.16xlarge", "g5.24xlarge", "g5.48xlarge"), 1),
        **dict.fromkeys(("g6.8xlarge", "g6.12xlarge", "g6.16xlarge", "g6.24xlarge", "g6.48xlarge"), 1),
        **dict.fromkeys(("g6e.8xlarge", "g6e.12xlarge", "g6e.16xlarge"), 1),
        "g6e.24xlarge": 2,
        "g6e.48xlarge": 4,
        "p4d.24xlarge": 4,
        "p4de.24xlarge": 4,
        "p5.4xlarge": 1,
        "p5.48xlarge": 32,
        "p5e.48xlarge": 32,
        "p5en.48xlarge": 16,
        "p6-b200.48xlarge": 8,
    }
)

# --- Local NVMe instance store ---------------------------------------------------------------------
# Total local NVMe per instance type in GB, None for types without an instance store: the value of the
# `karpenter.k8s.aws/instance-local-nvme` label in Karpenter's v1.14 instance-types reference
# (aws/karpenter-provider-aws website/content/en/v1.14/reference/instance-types.md, last changed in commit 692ccdd0,
# 2026-07-11; read 2026-11-25), which is EC2's InstanceStorageInfo.TotalSizeInGB (pkg/providers/instancetype/
# types.go @v1.14.1). `instanceStore: raid0` needs it, and with RAID0 it becomes the node's ephemeral storage.
# g5g (Graviton) lists no instance store.
LOCAL_NVME_GB: Mapping[str, int | None] = MappingProxyType(
    {
        **{"g4dn.xlarge": 125, "g4dn.2xlarge": 225, "g4dn.4xlarge": 225, "g4dn.8xlarge": 900},
        **{"g4dn.12xlarge": 900, "g4dn.16xlarge": 900, "g4dn.metal": 1800},
        **{"g5.xlarge": 250, "g5.2xlarge": 450, "g5.4xlarge": 600, "g5.8xlarge": 900},
        **{"g5.12xlarge": 3800, "g5.16xlarge": 1900, "g5.24xlarge": 3800, "g5.48xlarge": 7600},
        **{"g5g.xlarge": None, "g5g.2xlarge": None, "g5g.4xlarge": None, "g5g.8xlarge": None},
        **{"g5g.16xlarge": None, "g5g.metal": None},
        **{"g6.xlarge": 250, "g6.2xlarge": 450, "g6.4xlarge": 600, "g6.8xlarge": 900},
        **{"g6.12xlarge": 3760, "g6.16xlarge": 1880, "g6.24xlarge": 3760, "g6.48xlarge": 7520},
        **{"g6e.xlarge": 250, "g6e.2xlarge": 450, "g6e.4xlarge": 600, "g6e.8xlarge": 900},
        **{"g6e.12xlarge": 3800, "g6e.16xlarge": 1900, "g6e.24xlarge": 3800, "g6e.48xlarge": 7600},
        **{"p4d.24xlarge": 8000, "p4de.24xlarge": 8000, "p5.4xlarge": 3800, "p5.48xlarge": 30400},
        **{"p5e.48xlarge": 30400, "p5en.48xlarge": 30400, "p6-b200.48xlarge": 30400},
    }
)


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


def local_nvme_gb(name: str) -> int | None:
    """Local NVMe of an instance type in GB (None: no instance store); KeyError if it is not in the catalog."""
    return LOCAL_NVME_GB[instance_type(name).name]


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


def efa_interfaces(instance: InstanceType) -> int:
    """EFA interfaces (= network cards) of an instance type; 0 when it has no EFA."""
    return EFA_INTERFACES.get(instance.name, 0)
