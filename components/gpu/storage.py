"""A GPU pool's disks: the gp3 root volume (`rootVolume`, or the older `rootVolumeGib`) and the local NVMe instance
store striped as RAID0 (`instanceStore: raid0`).

Model weights and container images are large; the root volume holds them unless the instance store does. With
`instanceStore: raid0`, Karpenter has the AL2023 node format every local NVMe disk into one RAID0 array at
/mnt/k8s-disks/0 that holds the kubelet's and containerd's directories, and counts its size as the node's
ephemeral storage (aws/karpenter-provider-aws v1.14 concepts/nodeclasses.md "spec.instanceStorePolicy";
pkg/providers/instancetype/types.go `ephemeralStorage` @v1.14.1). Parsing only; the EC2NodeClass is built in
`components.karpenter.manifests.ec2_node_class`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from components.common.parsing import KeyDoc, Parser, SectionDoc, describe, did_you_mean
from components.gpu import catalog
from components.karpenter.manifests import RAID0, InstanceStorePolicy, RootVolume

# gp3 limits (AWS What's New 2025-09-26 "Amazon EBS increases the maximum size and provisioned performance of
# General Purpose (gp3) volumes": 64 TiB, 80,000 IOPS, 2,000 MiB/s; the floors 3,000 IOPS and 125 MiB/s are gp3's
# free baseline) and ratios (EBS user guide, general-purpose.html: at most 500 IOPS per GiB and 0.25 MiB/s per
# provisioned IOPS). Read 2026-11; the EC2NodeClass CRD enforces none of them, so a wrong value would only fail at
# the first launch, in Karpenter's log.
GP3_MIN_IOPS = 3000
GP3_MAX_IOPS = 80000
GP3_MIN_THROUGHPUT_MIBPS = 125
GP3_MAX_THROUGHPUT_MIBPS = 2000
GP3_MAX_IOPS_PER_GIB = 500
GP3_IOPS_PER_MIBPS = 4  # 0.25 MiB/s per IOPS
# The project's bound on a root volume, unchanged from rootVolumeGib: at least room for the NVIDIA AMI, images and a
# model; at most 16 TiB (gp3 allows 64 TiB, and Karpenter's volumeSize pattern 59000Gi; data that large belongs on
# the instance store or a persistent volume).
ROOT_VOLUME_MIN_GIB = 50
ROOT_VOLUME_MAX_GIB = 16384
DEFAULT_GPU_ROOT_VOLUME = RootVolume(size_gib=200, iops=GP3_MIN_IOPS, throughput_mibps=GP3_MIN_THROUGHPUT_MIBPS)
ROOT_VOLUME_KEYS = ("sizeGib", "iops", "throughputMibps")

InstanceStore = Literal["raid0"]
INSTANCE_STORE_POLICIES: tuple[InstanceStore, ...] = ("raid0",)
# What each value is called in the EC2NodeClass (spec.instanceStorePolicy, CRD enum RAID0).
INSTANCE_STORE_POLICY_NAMES: Mapping[InstanceStore, InstanceStorePolicy] = {"raid0": RAID0}


def parse_root_volume(
    parser: Parser, raw_pool: Mapping[str, Any], key: str, default: RootVolume = DEFAULT_GPU_ROOT_VOLUME
) -> RootVolume:
    """`rootVolume: {sizeGib, iops, throughputMibps}`, or the older `rootVolumeGib` (size only); not both."""
    if "rootVolumeGib" in raw_pool:
        if "rootVolume" in raw_pool:
            raise parser.error(
                f"{key}.rootVolumeGib",
                "is given together with rootVolume",
                "allowed: rootVolume.sizeGib (rootVolumeGib is its older spelling), not both",
            )
        size = parser.integer(
            raw_pool["rootVolumeGib"], f"{key}.rootVolumeGib", minimum=ROOT_VOLUME_MIN_GIB, maximum=ROOT_VOLUME_MAX_GIB
        )
        return RootVolume(size_gib=size, iops=default.iops, throughput_mibps=default.throughput_mibps)
    if "rootVolume" not in raw_pool:
        return default
    key = f"{key}.rootVolume"
    raw = parser.mapping(raw_pool["rootVolume"], key, ROOT_VOLUME_KEYS)
    size = parser.integer(
        raw.get("sizeGib", default.size_gib), f"{key}.sizeGib", minimum=ROOT_VOLUME_MIN_GIB, maximum=ROOT_VOLUME_MAX_GIB
    )
    iops = parser.integer(raw.get("iops", default.iops), f"{key}.iops", minimum=GP3_MIN_IOPS, maximum=GP3_MAX_IOPS)
    throughput = parser.integer(
        raw.get("throughputMibps", default.throughput_mibps),
        f"{key}.throughputMibps",
        minimum=GP3_MIN_THROUGHPUT_MIBPS,
        maximum=GP3_MAX_THROUGHPUT_MIBPS,
    )
    if iops > GP3_MAX_IOPS_PER_GIB * size:
        raise parser.error(
            f"{key}.iops",
            f"{iops} IOPS on {size} GiB exceeds gp3's {GP3_MAX_IOPS_PER_GIB} IOPS per GiB",
            f"allowed: at most {GP3_MAX_IOPS_PER_GIB * size} IOPS, or sizeGib "
            f"{-(-iops // GP3_MAX_IOPS_PER_GIB)} or more",
        )
    if throughput * GP3_IOPS_PER_MIBPS > iops:
        raise parser.error(
            f"{key}.throughputMibps",
            f"{throughput} MiB/s with {iops} IOPS exceeds gp3's 0.25 MiB/s per provisioned IOPS",
            f"allowed: at most {iops // GP3_IOPS_PER_MIBPS} MiB/s, or iops {throughput * GP3_IOPS_PER_MIBPS} or more",
        )
    return RootVolume(size_gib=size, iops=iops, throughput_mibps=throughput)


def parse_instance_store(parser: Parser, raw: Any, key: str, instance_types: Sequence[str]) -> InstanceStore | None:
    """`instanceStore: raid0`: only when every instance type of the pool has local NVMe (a type without it would
    get no array and keep everything on the root volume, silently)."""
    if raw is None:
        return None
    allowed = f"allowed: {' | '.join(INSTANCE_STORE_POLICIES)} (leave it out to keep the instance store unused)"
    if not isinstance(raw, str):
        raise parser.error(key, f"expected a string, got {describe(raw)}", allowed)
    if raw not in INSTANCE_STORE_POLICIES:
        raise parser.error(key, f"{raw!r} is not supported{did_you_mean(raw, INSTANCE_STORE_POLICIES)}", allowed)
    without = [name for name in instance_types if catalog.local_nvme_gb(name) is None]
    if without:
        raise parser.error(
            key,
            f"{raw} needs local NVMe, which {', '.join(without)} lack(s)",
            "allowed: narrow instanceTypes/instanceFamilies to types with an instance store "
            "(every catalog family but g5g), or leave instanceStore out",
        )
    return "raid0"


# -- the configuration reference (docs/configuration.md is generated from this; see components.config) -------------

ROOT_VOLUME_SECTION = SectionDoc(
    path="gpu-eks:gpuNodePools[].rootVolume",
    keys=ROOT_VOLUME_KEYS,
    intro="The encrypted gp3 root volume, checked against gp3's limits (3,000 IOPS and 125 MiB/s are free).",
    docs={
        "sizeGib": KeyDoc(
            type="integer (GiB)",
            default=f"`{DEFAULT_GPU_ROOT_VOLUME.size_gib}`",
            allowed=f"{ROOT_VOLUME_MIN_GIB} to {ROOT_VOLUME_MAX_GIB}",
            example="500",
            description="Model weights and images are large; with `instanceStore: raid0` the root volume only "
            "holds the OS, so less will do.",
        ),
        "iops": KeyDoc(
            type="integer",
            default=f"`{DEFAULT_GPU_ROOT_VOLUME.iops}`",
            allowed=f"{GP3_MIN_IOPS} to {GP3_MAX_IOPS}, at most {GP3_MAX_IOPS_PER_GIB} × `sizeGib`",
            example="6000",
            description="Provisioned IOPS.",
        ),
        "throughputMibps": KeyDoc(
            type="integer (MiB/s)",
            default=f"`{DEFAULT_GPU_ROOT_VOLUME.throughput_mibps}`",
            allowed=f"{GP3_MIN_THROUGHPUT_MIBPS} to {GP3_MAX_THROUGHPUT_MIBPS}, at most `iops` / {GP3_IOPS_PER_MIBPS}",
            example="500",
            description="Provisioned throughput.",
        ),
    },
)
