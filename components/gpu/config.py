"""The `gpu-eks:gpuNodePools` section: GPU pools parsed and validated against the GPU catalog.

A pool's instance selection is resolved to explicit catalog instance types here, so every later step
(NodePool requirements, NodeOverlay capacities, the workload contract, prices) works from facts, and a
selection that cannot work (MIG on a GPU without MIG, a profile the GPU lacks, two GPU models in one MIG
pool) is a config error naming the pool before anything is registered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from components import versions
from components.common.parsing import (
    Parser,
    describe,
    did_you_mean,
    item_key,
)
from components.gpu import catalog, nvidia_config, prices
from components.gpu.capacity import (
    RESERVED,
    CapacityReservationTerm,
    CapacityType,
    Taint,
    check_gate,
    parse_capacity_reservations,
    parse_capacity_types,
    parse_taints,
    parse_warm_slices,
)
from components.gpu.efa_config import parse_efa, parse_zone, settle_zone
from components.gpu.names import OVERLAY_STRATEGIES, SharingStrategy
from components.gpu.storage import DEFAULT_GPU_ROOT_VOLUME, InstanceStore, parse_instance_store, parse_root_volume
from components.karpenter.config import (
    CAPACITY_BUFFER_GATE,
    NODE_OVERLAY_GATE,
    RESERVED_CAPACITY_GATE,
    KarpenterConfig,
)
from components.karpenter.manifests import RootVolume
from components.karpenter.node_image import parse_node_image
from components.karpenter.node_pool_config import (
    DEFAULT_EXPIRE_AFTER,
    DEFAULT_TERMINATION_GRACE_PERIOD,
    DisruptionConfig,
    check_consolidation_policy,
    parse_disruption,
    parse_expire_after,
    parse_termination_grace_period,
)
from components.network.config import NetworkConfig

SHARING_STRATEGIES = tuple(strategy.value for strategy in SharingStrategy)
TIME_SLICING_MAX_REPLICAS = 64  # beyond this each slice gets < 2% of a GPU: almost certainly a typo
GPU_POOL_KEYS = (
    "name",
    "instanceFamilies",
    "instanceTypes",
    "gpuNames",
    "capacityTypes",
    "maxGpus",
    "sharing",
    "disruption",
    "expireAfter",
    "terminationGracePeriod",
    "rootVolumeGib",
    "weight",
    "nodeImage",
    "capacityReservations",
    "warmSlices",
    "taints",
    "instanceStore",
    "rootVolume",
    "efa",
    "zone",
)
# GPU nodes are expensive and slow to start: consolidate only when empty, after a pause that lets the next
# job of a batch land on a warm node.
DEFAULT_GPU_DISRUPTION = DisruptionConfig(consolidation_policy="WhenEmpty", consolidate_after="10m")


@dataclass(frozen=True)
class SharingConfig:
    """How pods share a pool's GPUs."""

    strategy: SharingStrategy = SharingStrategy.NONE
    replicas: int | None = None  # time-slicing and mps
    profile: str | None = None  # mig

    def __post_init__(self) -> None:
        # Plain strings ("mig") are accepted and stored as the enum, so every consumer compares members.
        object.__setattr__(self, "strategy", SharingStrategy(self.strategy))

    def slices_per_gpu(self, model: catalog.GpuModel) -> int:
        """Slices each GPU of `model` advertises: MIG instances of the profile, or time-slicing / MPS replicas."""
        if self.strategy == SharingStrategy.MIG and self.profile is not None:
            return model.mig_profiles[self.profile]
        return self.replicas or 1


@dataclass(frozen=True)
class GpuNodePoolConfig:
    """One GPU NodePool, with its selection resolved to catalog instance types."""

    name: str
    instance_types: tuple[str, ...]
    capacity_types: tuple[CapacityType, ...]  # in Karpenter's order of preference (reserved, spot, on-demand)
    max_gpus: int
    sharing: SharingConfig
    disruption: DisruptionConfig = DEFAULT_GPU_DISRUPTION
    expire_after: str = DEFAULT_EXPIRE_AFTER
    termination_grace_period: str = DEFAULT_TERMINATION_GRACE_PERIOD
    root_volume: RootVolume = DEFAULT_GPU_ROOT_VOLUME
    weight: int | None = None
    node_image: str = versions.DEFAULT_NODE_IMAGE  # the pool's own `nodeImage`, else the stack's
    capacity_reservations: tuple[CapacityReservationTerm, ...] = ()  # with capacity type reserved only
    warm_slices: int | None = None  # free slices a CapacityBuffer keeps ready
    taints: tuple[Taint, ...] = ()  # the team's own, on top of the GPU and sharing taints
    instance_store: InstanceStore | None = None
    # EFA interfaces on every network card, a cluster placement group, one zone (components.gpu.efa).
    efa: bool = False
    zone: str | None = None  # an EFA pool's zone, settled by resolve_efa_zones

    @property
    def required_gates(self) -> set[str]:
        """The Karpenter feature gates this pool's options need (the config turns them on for the stack)."""
        gates: set[str] = set()
        if RESERVED in self.capacity_types:
            gates.add(RESERVED_CAPACITY_GATE)
        if self.warm_slices is not None:
            gates.add(CAPACITY_BUFFER_GATE)
        return gates

    def catalog_types(self) -> list[catalog.InstanceType]:
        """The catalog entries of the pool's instance types."""
        return [catalog.instance_type(name) for name in self.instance_types]


def _parse_selection(parser: Parser, raw: Any, key: str) -> tuple[str, ...]:
    def names(field: str, known: list[str], what: str, plural: str) -> tuple[str, ...]:
        def one(value: Any, key_of_item: str) -> str:
            if not isinstance(value, str):
                raise parser.error(
                    key_of_item, f"expected a {what}, got {describe(value)}", f"allowed {plural}: {', '.join(known)}"
                )
            if value not in known:
                raise parser.error(
                    key_of_item,
                    f"unknown {what} {value!r}{did_you_mean(value, known)}",
                    f"allowed {plural}: {', '.join(known)}",
                )
            return value

        return parser.items(raw.get(field, []), f"{key}.{field}", one, allowed=f"a list of {plural}")

    families = names("instanceFamilies", catalog.known_families(), "GPU instance family", "GPU instance families")
    types = names("instanceTypes", sorted(catalog.INSTANCE_TYPES), "GPU instance type", "GPU instance types")
    gpu_names = names("gpuNames", catalog.known_gpu_names(), "GPU name", "GPU names")
    if not families and not types:
        raise parser.error(
            f"{key}.instanceFamilies",
            "the pool selects no instances",
            "allowed: instanceFamilies and/or instanceTypes, optionally narrowed by gpuNames",
        )
    selected = catalog.select(instance_families=families, instance_types=types, gpu_names=gpu_names)
    if not selected:
        raise parser.error(
            f"{key}.gpuNames",
            f"no instance type in {sorted(set(families) | set(types))} has a GPU in {list(gpu_names)}",
            "allowed: gpuNames that the selected families or types carry",
        )
    return tuple(it.name for it in selected)


def _offered_in_region(
    parser: Parser, raw: Any, key: str, instance_types: tuple[str, ...], region: str
) -> tuple[str, ...]:
    """The selected types EC2 sells in the stack's region (`components.gpu.prices`; unchecked where the data lacks
    the region). Sizes of a family the region lacks are left out, as Karpenter could never launch them; a type the
    pool names, or a family with no size there, is an error instead of a pool that silently launches nothing."""
    missing = set(prices.not_offered(region, instance_types))
    if not missing:
        return instance_types
    offered = sorted({catalog.instance_type(t).family for t in catalog.INSTANCE_TYPES} - _families_without(region))
    allowed = f"allowed: catalog types EC2 sells in {region} (families {', '.join(offered)})"
    where = f"in {region} (no on-demand price there in {prices.data_source(region)})"
    named = [t for t in raw.get("instanceTypes", []) if t in missing]
    if named:
        raise parser.error(
            f"{key}.instanceTypes",
            f"{', '.join(named)} {'is' if len(named) == 1 else 'are'} not offered {where}",
            allowed,
        )
    kept = tuple(t for t in instance_types if t not in missing)
    kept_families = {catalog.instance_type(t).family for t in kept}
    selected_families = {catalog.instance_type(t).family for t in instance_types}  # after gpuNames
    lacking = [f for f in raw.get("instanceFamilies", []) if f in selected_families and f not in kept_families]
    if lacking or not kept:
        what = ", ".join(lacking) if lacking else ", ".join(sorted(missing))
        raise parser.error(f"{key}.instanceFamilies", f"no size of {what} is offered {where}", allowed)
    return kept


def _families_without(region: str) -> set[str]:
    """Catalog families of which EC2 sells no size in the region."""
    by_family: dict[str, list[str]] = {}
    for name, it in catalog.INSTANCE_TYPES.items():
        by_family.setdefault(it.family, []).append(name)
    return {family for family, names in by_family.items() if len(prices.not_offered(region, names)) == len(names)}


def _parse_sharing(
    parser: Parser, raw: Any, key: str, instance_types: tuple[str, ...], karpenter: KarpenterConfig
) -> SharingConfig:
    raw = parser.mapping({} if raw is None else raw, key, ("strategy", "replicas", "profile"))
    strategy = SharingStrategy(
        parser.choice(raw.get("strategy", SharingStrategy.NONE.value), f"{key}.strategy", SHARING_STRATEGIES)
    )
    allowed_fields: tuple[str, ...] = {
        SharingStrategy.NONE: (),
        SharingStrategy.TIME_SLICING: ("replicas",),
        SharingStrategy.MPS: ("replicas",),
        SharingStrategy.MIG: ("profile",),
    }[strategy]
    for field in ("replicas", "profile"):
        if field in raw and field not in allowed_fields:
            raise parser.error(
                f"{key}.{field}",
                f"does not apply to strategy {strategy}",
                "allowed: replicas with time-slicing or mps; profile with mig",
            )
    sharing = SharingConfig(strategy=strategy)
    if strategy == SharingStrategy.TIME_SLICING:
        sharing = SharingConfig(
            strategy,
            replicas=_required_replicas(
                parser, raw, key, nvidia_config.TIME_SLICING_MIN_REPLICAS, TIME_SLICING_MAX_REPLICAS
            ),
        )
    elif strategy == SharingStrategy.MPS:
        # The MPS control daemon refuses more than 48 clients per GPU (compute capability >= 7.5).
        sharing = SharingConfig(
            strategy,
            replicas=_required_replicas(
                parser, raw, key, nvidia_config.MPS_MIN_REPLICAS, nvidia_config.MPS_MAX_REPLICAS
            ),
        )
    elif strategy == SharingStrategy.MIG:
        sharing = SharingConfig(strategy, profile=_mig_profile(parser, raw, key, instance_types))
    if strategy in OVERLAY_STRATEGIES and not _has_node_overlay(karpenter):
        raise parser.error(
            f"{key}.strategy",
            f"{strategy} needs Karpenter NodeOverlay so Karpenter provisions for "
            f"the sliced capacity, but karpenter {karpenter.version} with nodeOverlay="
            f"{karpenter.gate(NODE_OVERLAY_GATE)} has none",
            f"allowed: karpenter.version >= {versions.KARPENTER_FEATURE_GATES[NODE_OVERLAY_GATE]} with "
            "karpenter.featureGates.nodeOverlay: true, or strategy none",
        )
    return sharing


def _has_node_overlay(karpenter: KarpenterConfig) -> bool:
    first = versions.parse_semver(versions.KARPENTER_FEATURE_GATES[NODE_OVERLAY_GATE])
    return karpenter.gate(NODE_OVERLAY_GATE) and versions.parse_semver(karpenter.version) >= first


def _required_replicas(parser: Parser, raw: Any, key: str, minimum: int, maximum: int) -> int:
    if "replicas" not in raw:
        raise parser.error(
            f"{key}.replicas", "is required for this strategy", f"allowed: an integer from {minimum} to {maximum}"
        )
    return parser.integer(raw["replicas"], f"{key}.replicas", minimum=minimum, maximum=maximum)


def _mig_profile(parser: Parser, raw: Any, key: str, instance_types: tuple[str, ...]) -> str:
    types = [catalog.instance_type(name) for name in instance_types]
    not_capable = [t for t in types if not catalog.mig_capable(t)]
    if not_capable:
        names = ", ".join(t.name for t in not_capable)
        raise parser.error(
            f"{key}.strategy",
            f"MIG is not available on {names} ({not_capable[0].gpu_model.name})",
            "allowed: MIG-capable GPUs only (A100, H100, H200, B200: p4d, p4de, p5, p5e, p5en, p6-b200)",
        )
    # Karpenter names both A100 variants "a100"; their memory (40 vs 80 GB) tells their profiles apart.
    models = sorted({f"{t.gpu_model.name}-{t.gpu_model.memory_mib // 1024}gb" for t in types})
    if len(models) > 1:
        raise parser.error(
            f"{key}.strategy",
            f"a MIG pool must resolve to one GPU model, this one has {models}",
            "allowed: narrow instanceTypes/instanceFamilies/gpuNames to a single GPU model, because "
            "MIG profile names differ per model",
        )
    model = types[0].gpu_model
    if "profile" not in raw:
        raise parser.error(
            f"{key}.profile",
            "is required for strategy mig",
            f"allowed on {model.name} ({model.memory_mib} MiB): {', '.join(model.mig_profiles)}",
        )
    profile = raw["profile"]
    # A list or mapping here used to reach `in` on a dict and end in a traceback.
    if not isinstance(profile, str):
        raise parser.error(
            f"{key}.profile",
            f"expected one MIG profile name, got {describe(profile)}",
            f"allowed on {model.name} ({model.memory_mib} MiB): {', '.join(model.mig_profiles)}",
        )
    if profile not in model.mig_profiles:
        raise parser.error(
            f"{key}.profile",
            f"{profile!r} does not exist on {model.name} ({model.memory_mib} MiB)"
            f"{did_you_mean(profile, model.mig_profiles)}",
            f"allowed: {', '.join(model.mig_profiles)}",
        )
    return profile


def _parse_gpu_pool(
    parser: Parser,
    raw: Any,
    key: str,
    karpenter: KarpenterConfig,
    *,
    node_image: str,
    kubernetes_version: str,
    region: str,
) -> GpuNodePoolConfig:
    # From here on errors read gpuNodePools[2] (training).<field>.
    raw, name, key = parser.named_item(raw, key, GPU_POOL_KEYS, example="inference")
    instance_types = _offered_in_region(parser, raw, key, _parse_selection(parser, raw, key), region)
    if "maxGpus" not in raw:
        raise parser.error(
            f"{key}.maxGpus",
            "is missing",
            "allowed: a positive number of physical GPUs (the pool's limit and cost guard)",
        )
    max_gpus = parser.integer(raw["maxGpus"], f"{key}.maxGpus", minimum=1, maximum=10000)
    _check_max_gpus_fits(parser, key, max_gpus, instance_types)
    disruption = parse_disruption(parser, raw.get("disruption"), f"{key}.disruption", DEFAULT_GPU_DISRUPTION)
    check_consolidation_policy(parser, disruption, f"{key}.disruption", karpenter)
    defaults = GpuNodePoolConfig(name=name, instance_types=(), capacity_types=(), max_gpus=1, sharing=SharingConfig())
    capacity_types = parse_capacity_types(parser, raw.get("capacityTypes", ["on-demand"]), f"{key}.capacityTypes")
    if RESERVED in capacity_types:
        check_gate(parser, f"{key}.capacityTypes", RESERVED_CAPACITY_GATE, "capacity type reserved", karpenter)
    sharing = _parse_sharing(parser, raw.get("sharing"), f"{key}.sharing", instance_types, karpenter)
    warm_slices = parse_warm_slices(
        parser,
        raw.get("warmSlices"),
        f"{key}.warmSlices",
        max_gpus=max_gpus,
        gpu_counts=[catalog.instance_type(t).gpus for t in instance_types],
        slices_per_gpu=sharing.slices_per_gpu(catalog.instance_type(instance_types[0]).gpu_model),
    )
    if warm_slices is not None:
        check_gate(parser, f"{key}.warmSlices", CAPACITY_BUFFER_GATE, "warmSlices", karpenter)
    efa = parse_efa(parser, raw, key, instance_types, sharing.strategy, karpenter)
    return GpuNodePoolConfig(
        name=name,
        instance_types=instance_types,
        capacity_types=capacity_types,
        capacity_reservations=parse_capacity_reservations(parser, raw, key, capacity_types),
        max_gpus=max_gpus,
        sharing=sharing,
        warm_slices=warm_slices,
        taints=parse_taints(parser, raw.get("taints"), f"{key}.taints"),
        disruption=disruption,
        expire_after=parse_expire_after(parser, raw, key, defaults.expire_after),
        termination_grace_period=parse_termination_grace_period(parser, raw, key),
        root_volume=parse_root_volume(parser, raw, key),
        # EFA pools are training pools: their local NVMe (every EFA type has some) striped by default.
        instance_store=parse_instance_store(
            parser, raw.get("instanceStore", "raid0" if efa else None), f"{key}.instanceStore", instance_types
        ),
        efa=efa,
        zone=parse_zone(parser, raw, key, efa),
        weight=parser.integer(raw["weight"], f"{key}.weight", minimum=1, maximum=100) if "weight" in raw else None,
        node_image=parse_node_image(parser, raw["nodeImage"], f"{key}.nodeImage", kubernetes_version)
        if "nodeImage" in raw
        else node_image,
    )


def _check_max_gpus_fits(parser: Parser, key: str, max_gpus: int, instance_types: tuple[str, ...]) -> None:
    """Karpenter never launches a node that would take the pool past its limit, so a type with more GPUs
    than maxGpus is dead weight in the selection: say so instead of letting it silently never launch."""
    too_big = [t for t in map(catalog.instance_type, instance_types) if t.gpus > max_gpus]
    if too_big:
        needed = max(t.gpus for t in too_big)
        listed = ", ".join(f"{t.name} ({t.gpus} GPUs)" for t in too_big)
        raise parser.error(
            f"{key}.maxGpus",
            f"{max_gpus} is below the GPU count of {listed}, so the pool could never launch them",
            f"allowed: maxGpus {needed} or more, or narrow instanceTypes/"
            f"instanceFamilies/gpuNames to types with at most {max_gpus} GPUs",
        )


def parse_gpu_node_pools(
    parser: Parser,
    raw: Any,
    karpenter: KarpenterConfig,
    *,
    node_image: str = versions.DEFAULT_NODE_IMAGE,
    kubernetes_version: str = versions.DEFAULT_KUBERNETES_VERSION,
    region: str,
) -> tuple[GpuNodePoolConfig, ...]:
    """Parse `gpu-eks:gpuNodePools` (absent = no GPU pools). Name uniqueness is checked by the caller."""
    if raw is None:
        return ()
    pools = parser.items(
        raw,
        "gpuNodePools",
        lambda v, k: _parse_gpu_pool(
            parser, v, k, karpenter, node_image=node_image, kubernetes_version=kubernetes_version, region=region
        ),
        unique=False,
        allowed="a list of GPU NodePool definitions",
    )
    check_no_mps_with_mig(parser, pools)
    return pools


def check_no_mps_with_mig(parser: Parser, pools: Sequence[GpuNodePoolConfig]) -> None:
    """MPS pools and MIG pools cannot share a stack: a MIG pool brings the GPU Operator, whose device plugin runs the
    mixed MIG strategy on every node, and the plugin exits on MPS with it ("using --mig-strategy=mixed is not
    supported with MPS", k8s-device-plugin v0.20.0 cmd/nvidia-device-plugin/main.go); policy no-mps-on-mig-pools."""
    mig = [p.name for p in pools if p.sharing.strategy == SharingStrategy.MIG]
    mps = [i for i, p in enumerate(pools) if p.sharing.strategy == SharingStrategy.MPS]
    if mig and mps:
        index = mps[0]
        raise parser.error(
            f"{item_key(f'gpuNodePools[{index}]', pools[index].name)}.sharing.strategy",
            f"is mps but the stack has MIG pool(s) {', '.join(mig)}, whose GPU Operator runs the device plugin with "
            "the mixed MIG strategy, which the plugin refuses with MPS",
            "allowed: time-slicing or none next to MIG pools, or MPS pools in a stack without MIG pools",
        )


def resolve_efa_zones(
    parser: Parser, pools: Sequence[GpuNodePoolConfig], network: NetworkConfig, region: str
) -> tuple[GpuNodePoolConfig, ...]:
    """The pools with every EFA pool's zone settled (components.gpu.efa_config.settle_zone), once the network
    section is known."""
    return tuple(
        replace(
            pool, zone=settle_zone(parser, item_key(f"gpuNodePools[{index}]", pool.name), pool.zone, network, region)
        )
        if pool.efa
        else pool
        for index, pool in enumerate(pools)
    )
