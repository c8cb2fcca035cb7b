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
    KeyDoc,
    Parser,
    SectionDoc,
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
from components.gpu.efa_config import PlacementGroupRef, parse_efa, parse_placement_group, parse_zone, settle_zone
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
SHARING_KEYS = ("strategy", "replicas", "profile")
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
    "placementGroup",
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
    # Types the selection named that have more GPUs than maxGpus: left out of instance_types (type -> GPUs).
    excluded_by_max_gpus: tuple[tuple[str, int], ...] = ()
    # An existing placement group (e.g. its capacity reservation's) instead of the one the program creates.
    placement_group: PlacementGroupRef | None = None

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
    raw = parser.mapping({} if raw is None else raw, key, SHARING_KEYS)
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
    instance_types, excluded = fit_max_gpus(parser, key, max_gpus, instance_types)
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
        excluded_by_max_gpus=excluded,
        placement_group=parse_placement_group(parser, raw, key, efa),
        weight=parser.integer(raw["weight"], f"{key}.weight", minimum=1, maximum=100) if "weight" in raw else None,
        node_image=parse_node_image(parser, raw["nodeImage"], f"{key}.nodeImage", kubernetes_version)
        if "nodeImage" in raw
        else node_image,
    )


def fit_max_gpus(
    parser: Parser, key: str, max_gpus: int, instance_types: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]]:
    """(the types with at most maxGpus GPUs, the others with their GPU count). Karpenter never launches a node that
    would take the pool past its limit (kubernetes-sigs/karpenter@v1.14.1
    pkg/controllers/provisioning/scheduling/scheduler.go `filterByRemainingResources`), so a bigger type could never
    launch: the
    pool's requirements leave it out and the contract lists it. Only a pool where no type fits is an error."""
    types = [catalog.instance_type(name) for name in instance_types]
    fit = tuple(t.name for t in types if t.gpus <= max_gpus)
    excluded = tuple((t.name, t.gpus) for t in types if t.gpus > max_gpus)
    if not fit:
        fewest = min(t.gpus for t in types)
        listed = ", ".join(f"{name} ({gpus} GPUs)" for name, gpus in excluded)
        raise parser.error(
            f"{key}.maxGpus",
            f"{max_gpus} is below the GPU count of every type the pool allows ({listed}), so it could never launch "
            "a node",
            f"allowed: maxGpus {fewest} or more, or instanceTypes/instanceFamilies/gpuNames with types of at most "
            f"{max_gpus} GPUs",
        )
    return fit, excluded


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


# -- the configuration reference (docs/configuration.md is generated from this; see components.config) -------------

_GPU_DURATION = "a duration of seconds, minutes and hours (`30s`, `5m`, `1h30m`)"
GPU_POOL_SECTION = SectionDoc(
    path="gpu-eks:gpuNodePools[]",
    keys=GPU_POOL_KEYS,
    intro="One Karpenter NodePool (and its own EC2NodeClass) per entry; absent means no GPU pools. The selection "
    "(`instanceFamilies`, `instanceTypes`, `gpuNames`) is resolved to catalog instance types when the config is "
    "parsed. Where the pricing data covers the stack's region (us-east-1, us-gov-east-1, us-gov-west-1), a type EC2 "
    "does not sell there is an error and a family's missing sizes are left out; other regions are not checked. "
    "How sharing, capacity and EFA work: [GPU pools](gpu-pools.md).",
    docs={
        "name": KeyDoc(
            type="string",
            default="required",
            allowed="a DNS-1123 label, unique across `nodePools` and `gpuNodePools`",
            example="inference",
            description="The NodePool's name, and the pool's key in the `gpuPools` output.",
        ),
        "instanceFamilies": KeyDoc(
            type="list of strings",
            default="none; `instanceFamilies` and/or `instanceTypes` must select something",
            allowed=", ".join(f"`{f}`" for f in catalog.known_families()),
            example="[g6, g6e]",
            description="Every catalog size of these families.",
        ),
        "instanceTypes": KeyDoc(
            type="list of strings",
            default="none; `instanceFamilies` and/or `instanceTypes` must select something",
            allowed="catalog GPU instance types (`components/gpu/catalog.py`)",
            example="[p5.48xlarge]",
            description="These instance types, added to the families' sizes.",
        ),
        "gpuNames": KeyDoc(
            type="list of strings",
            default="any",
            allowed=", ".join(f"`{n}`" for n in catalog.known_gpu_names()),
            example="[l4]",
            description="Narrows the selection to types with these GPUs.",
        ),
        "capacityTypes": KeyDoc(
            type="list of strings",
            default="`[on-demand]`",
            allowed="`reserved`, `spot`, `on-demand` in any order; `reserved` needs `capacityReservations` and "
            f"Karpenter ≥ {versions.KARPENTER_FEATURE_GATES[RESERVED_CAPACITY_GATE].rsplit('.', 1)[0]}",
            example="[reserved, on-demand]",
            description="Where the pool's nodes come from; rendered and shown in the contract in Karpenter's order "
            "of preference (reserved, spot, on-demand). `reserved` turns on Karpenter's `reservedCapacity` gate.",
        ),
        "capacityReservations": KeyDoc(
            type="list of mappings",
            default="none; required with `reserved`",
            allowed="with `reserved` only: see `gpuNodePools[].capacityReservations[]` below",
            example="[{id: cr-0123456789abcdef0}]",
            description="Which EC2 capacity reservations (ODCRs, Capacity Blocks) the pool's EC2NodeClass selects; "
            "Karpenter never uses a reservation no term selects.",
        ),
        "maxGpus": KeyDoc(
            type="integer",
            default="required",
            allowed="1 to 10000",
            example="8",
            description="Physical GPUs the pool may hold: its NodePool limit (written in slices of the pool's "
            "resource) and the cost guard of `tools.verify`. Types with more GPUs than this are left out of the "
            "pool (Karpenter could never launch them): the render says so and the contract lists them in "
            "`excludedByMaxGpus`; a pool where no type fits is refused.",
        ),
        "sharing": KeyDoc(
            type="mapping",
            default="`{strategy: none}` (whole GPUs)",
            allowed="see `gpuNodePools[].sharing` below",
            example="{strategy: time-slicing, replicas: 4}",
            description="How pods share the pool's GPUs.",
        ),
        "disruption": KeyDoc(
            type="mapping",
            default=f"`{DEFAULT_GPU_DISRUPTION.consolidation_policy}` after "
            f"`{DEFAULT_GPU_DISRUPTION.consolidate_after}`, budget `nodes: {DEFAULT_GPU_DISRUPTION.budgets[0].nodes}`",
            allowed="see `disruption` below",
            example="{consolidateAfter: 30m, budgets: [{nodes: 1}]}",
            description="GPU nodes are expensive and slow to start: by default they are removed only when empty, "
            "after a pause that lets the next job of a batch land on a warm node.",
        ),
        "expireAfter": KeyDoc(
            type="string",
            default=f"`{DEFAULT_EXPIRE_AFTER}`",
            allowed=f"{_GPU_DURATION}, or `Never`",
            example="Never",
            description="Nodes older than this are replaced.",
        ),
        "terminationGracePeriod": KeyDoc(
            type="string",
            default=f"`{DEFAULT_TERMINATION_GRACE_PERIOD}`",
            allowed=f"{_GPU_DURATION}; no `Never`",
            example="24h",
            description="How long a drain may wait on PodDisruptionBudgets and do-not-disrupt pods; pools that run "
            "long jobs may set more, and are then drained before `pulumi destroy` "
            "([operations](operations.md#teardown)).",
        ),
        "rootVolumeGib": KeyDoc(
            type="integer (GiB)",
            default=f"`{DEFAULT_GPU_ROOT_VOLUME.size_gib}`",
            allowed="as `rootVolume.sizeGib`; not together with `rootVolume`",
            example="400",
            description="The older spelling of `rootVolume.sizeGib`, still accepted.",
        ),
        "weight": KeyDoc(
            type="integer",
            default="none",
            allowed="1 to 100",
            example="10",
            description="Karpenter tries pools of higher weight first.",
        ),
        "nodeImage": KeyDoc(
            type="string",
            default="the stack's `nodeImage`",
            allowed="as `gpu-eks:nodeImage`",
            example="al2023@v20260714",
            description="This pool's node image only: roll one pool ahead, or hold it back.",
        ),
        "warmSlices": KeyDoc(
            type="integer",
            default="none",
            allowed="1 to the slices the pool's `maxGpus` lets it hold; Karpenter ≥ "
            f"{versions.KARPENTER_FEATURE_GATES[CAPACITY_BUFFER_GATE].rsplit('.', 1)[0]}",
            example="8",
            description="Free slices kept ready by a Karpenter CapacityBuffer (turns on the `capacityBuffer` gate), "
            "so a scale-up lands in seconds; paid while idle.",
        ),
        "taints": KeyDoc(
            type="list of mappings",
            default="none",
            allowed="see `gpuNodePools[].taints[]` below",
            example="[{key: team, value: chat, effect: NoSchedule}]",
            description="The team's own taints on top of ours, so the pool takes only pods that tolerate them (the "
            "contract's `tolerations` include them).",
        ),
        "instanceStore": KeyDoc(
            type="string",
            default="unused; `raid0` on EFA pools",
            allowed="`raid0`, when every instance type of the pool has local NVMe (every catalog family but g5g)",
            example="raid0",
            description="Stripe the local NVMe disks into one RAID0 array that holds the kubelet's and "
            "containerd's directories (images, model caches, `emptyDir`).",
        ),
        "rootVolume": KeyDoc(
            type="mapping",
            default=f"`{{sizeGib: {DEFAULT_GPU_ROOT_VOLUME.size_gib}, iops: {DEFAULT_GPU_ROOT_VOLUME.iops}, "
            f"throughputMibps: {DEFAULT_GPU_ROOT_VOLUME.throughput_mibps}}}`",
            allowed="see `gpuNodePools[].rootVolume` below",
            example="{sizeGib: 500, iops: 6000}",
            description="The encrypted gp3 root volume; a field left out keeps its default.",
        ),
        "efa": KeyDoc(
            type="boolean",
            default="`false`",
            allowed="`true` when every instance type has EFA, all with the same number of interfaces, with whole "
            "GPUs (`sharing.strategy: none`), Karpenter ≥ "
            f"{versions.KARPENTER_EFA_NODE_CLASS_VERSION.rsplit('.', 1)[0]} and its `nodeOverlay` gate",
            example="true",
            description="Elastic Fabric Adapter networking for multi-node training: an EFA interface on every "
            "network card, a cluster placement group, one zone, huge pages, the EFA device plugin.",
        ),
        "placementGroup": KeyDoc(
            type="mapping: exactly one of `name` or `id`",
            default="none: the program creates a cluster placement group for the pool",
            allowed="`{name: <existing placement group>}` or `{id: pg-...}`, on EFA pools only",
            example="{name: training-odcr-pg}",
            description="Launch the EFA pool into an existing cluster placement group, e.g. the one a capacity "
            "reservation was made in (such a reservation is only used by launches into its group; docs/"
            "identities-and-efa.md).",
        ),
        "zone": KeyDoc(
            type="string",
            default="the first of `network.availabilityZoneIds` by name; required when the stack does not pin zones",
            allowed="with `efa: true` only: one zone name of the stack's region, one of the pinned zones when the "
            "stack pins them (a pinned zone's ID, e.g. `use1-az4`, is accepted too), else one of the new VPC's "
            "first `availabilityZones` zones (the others have no private subnet)",
            example="us-east-1b",
            description="The one zone of the EFA pool's placement group: pick one that offers the instance type "
            "and holds any capacity reservation the pool uses.",
        ),
    },
)

SHARING_SECTION = SectionDoc(
    path="gpu-eks:gpuNodePools[].sharing",
    keys=SHARING_KEYS,
    intro="Sharing other than `none` needs Karpenter's `nodeOverlay` gate (on by default, Karpenter ≥ "
    f"{versions.KARPENTER_FEATURE_GATES[NODE_OVERLAY_GATE].rsplit('.', 1)[0]}). A MIG pool must resolve to exactly "
    "one GPU model, and only MIG-capable GPUs.",
    docs={
        "strategy": KeyDoc(
            type="string",
            default=f"`{SharingStrategy.NONE.value}`",
            allowed=" | ".join(f"`{s}`" for s in SHARING_STRATEGIES),
            example="mig",
            description="Whole GPUs, time-slicing, MPS or MIG; which to pick: [GPU pools](gpu-pools.md#gpu-sharing).",
        ),
        "replicas": KeyDoc(
            type="integer",
            default="required for `time-slicing` and `mps`",
            allowed=f"time-slicing: {nvidia_config.TIME_SLICING_MIN_REPLICAS} to {TIME_SLICING_MAX_REPLICAS}; mps: "
            f"{nvidia_config.MPS_MIN_REPLICAS} to {nvidia_config.MPS_MAX_REPLICAS} (the MPS daemon's limit); not "
            "with other strategies",
            example="4",
            description="Slices per GPU.",
        ),
        "profile": KeyDoc(
            type="string",
            default="required for `mig`",
            allowed="a MIG profile of the pool's one GPU model, e.g. `1g.5gb` (A100 40GB), `1g.10gb` "
            "(A100 80GB, H100), `1g.18gb` (H200), `1g.23gb` (B200); `+me` variants too; only with `mig`",
            example="1g.10gb",
            description="Every GPU of the pool's nodes is partitioned into instances of this profile.",
        ),
    },
)
