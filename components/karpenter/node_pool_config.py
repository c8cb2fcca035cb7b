"""Karpenter NodePool config shared by both pool lists: the general `gpu-eks:nodePools` entries, and the
disruption, expiry and naming rules GPU pools (`components.gpu.config`) reuse.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components import versions
from components.common.parsing import DURATION_PATTERN, KeyDoc, Parser, SectionDoc, item_key
from components.karpenter.config import KarpenterConfig

NODE_POOL_KEYS = (
    "name",
    "architectures",
    "instanceCategories",
    "cpus",
    "minGeneration",
    "capacityTypes",
    "maxCpu",
    "maxMemoryGib",
    "disruption",
    "expireAfter",
    "terminationGracePeriod",
    "weight",
)
DISRUPTION_KEYS = ("consolidationPolicy", "consolidateAfter", "budgets")
BUDGET_KEYS = ("nodes", "schedule", "duration", "reasons")
ARCHITECTURES = ("amd64", "arm64")
CAPACITY_TYPES = ("spot", "on-demand")
# General-purpose instance categories; GPU (g, p) and other accelerator families belong to gpuNodePools.
GENERAL_INSTANCE_CATEGORIES = ("c", "m", "r", "t", "i", "d", "x", "z")
CONSOLIDATION_POLICIES = ("WhenEmpty", "WhenEmptyOrUnderutilized", "Balanced")
DISRUPTION_REASONS = ("Underutilized", "Empty", "Drifted")
BALANCED_CONSOLIDATION_SINCE = "1.14.0"
# NodePool spec.template.spec.terminationGracePeriod (CRD pattern): a bound, so no `Never`.
TERMINATION_GRACE_PERIOD_PATTERN = re.compile(r"^([0-9]+(s|m|h))+$")
# How long Karpenter may wait for a node's drain (PDBs, karpenter.sh/do-not-disrupt) before it deletes the
# remaining pods. Deleting a NodePool deletes its NodeClaims, and pulumi-kubernetes waits at most 10 minutes
# (foreground delete) for the NodePool to go: 5 minutes of drain plus instance termination fits that wait, so
# `pulumi destroy` cannot hang on a PodDisruptionBudget. Unset, Karpenter waits for ever.
DEFAULT_TERMINATION_GRACE_PERIOD = "5m"
# Nodes are replaced after 30 days (picking up new AMIs) unless a pool says otherwise.
DEFAULT_EXPIRE_AFTER = "720h"
BUDGET_NODES_PATTERN = re.compile(r"^((100|[0-9]{1,2})%|[0-9]+)$")
# NodePool CRD patterns of a budget's schedule (cron or @macro) and duration.
BUDGET_SCHEDULE_PATTERN = re.compile(
    r"^(@(annually|yearly|monthly|weekly|daily|midnight|hourly))$|^\S+\s\S+\s\S+\s\S+\s\S+$"
)
BUDGET_DURATION_PATTERN = re.compile(r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$")
MAX_BUDGETS = 50  # NodePool CRD maxItems


@dataclass(frozen=True)
class DisruptionBudgetConfig:
    """One NodePool disruption budget."""

    nodes: str = "10%"
    schedule: str | None = None
    duration: str | None = None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class DisruptionConfig:
    """How Karpenter may remove or replace a pool's nodes."""

    consolidation_policy: str = "WhenEmptyOrUnderutilized"
    consolidate_after: str = "1m"
    budgets: tuple[DisruptionBudgetConfig, ...] = (DisruptionBudgetConfig(),)


@dataclass(frozen=True)
class NodePoolConfig:
    """A general-purpose (CPU) Karpenter NodePool."""

    name: str
    architectures: tuple[str, ...]
    instance_categories: tuple[str, ...] = ("c", "m", "r")
    cpus: tuple[int, ...] = ()
    min_generation: int | None = None
    capacity_types: tuple[str, ...] = ("spot", "on-demand")
    max_cpu: int = 200
    max_memory_gib: int | None = None
    disruption: DisruptionConfig = DisruptionConfig()
    expire_after: str = DEFAULT_EXPIRE_AFTER
    termination_grace_period: str = DEFAULT_TERMINATION_GRACE_PERIOD
    weight: int | None = None


DEFAULT_NODE_POOLS = (
    # Modelled on the seed (EKS + Karpenter + Graviton): small x86 nodes of generation 7+, Graviton 7+.
    NodePoolConfig(name="general-amd64", architectures=("amd64",), cpus=(2, 4), min_generation=7),
    NodePoolConfig(name="general-arm64", architectures=("arm64",), min_generation=7),
)


def parse_disruption(parser: Parser, raw: Any, key: str, defaults: DisruptionConfig) -> DisruptionConfig:
    """Parse a NodePool `disruption` block (shared by general and GPU pools)."""
    raw = parser.mapping({} if raw is None else raw, key, DISRUPTION_KEYS)
    duration_text = "a duration such as 30s, 5m, 1h30m, or Never"

    def budget(value: Any, item_key: str) -> DisruptionBudgetConfig:
        value = parser.mapping(value, item_key, BUDGET_KEYS)
        nodes = parser.text(
            value.get("nodes", "10%"),
            f"{item_key}.nodes",
            BUDGET_NODES_PATTERN,
            "a node count such as 1 or a percentage such as 10%",
        )
        schedule = value.get("schedule")
        duration = value.get("duration")
        if (schedule is None) != (duration is None):
            raise parser.error(
                f"{item_key}.schedule",
                "schedule and duration must be set together",
                "allowed: both (a cron schedule and a duration such as 8h) or neither",
            )
        if schedule is not None:
            schedule = parser.string(
                schedule,
                f"{item_key}.schedule",
                BUDGET_SCHEDULE_PATTERN,
                "a 5-field cron expression such as '0 9 * * mon-fri', or @daily, @weekly, ...",
            )
            duration = parser.text(
                duration,
                f"{item_key}.duration",
                BUDGET_DURATION_PATTERN,
                "a duration in hours and/or minutes such as 8h or 1h30m",
            )
        reasons = parser.items(
            value.get("reasons", []),
            f"{item_key}.reasons",
            lambda v, k: parser.choice(v, k, DISRUPTION_REASONS),
            allowed=" | ".join(DISRUPTION_REASONS),
        )
        return DisruptionBudgetConfig(nodes=nodes, schedule=schedule, duration=duration, reasons=reasons)

    return DisruptionConfig(
        consolidation_policy=parser.choice(
            raw.get("consolidationPolicy", defaults.consolidation_policy),
            f"{key}.consolidationPolicy",
            CONSOLIDATION_POLICIES,
        ),
        consolidate_after=parser.text(
            raw.get("consolidateAfter", defaults.consolidate_after),
            f"{key}.consolidateAfter",
            DURATION_PATTERN,
            duration_text,
        ),
        budgets=_budgets(parser, raw["budgets"], f"{key}.budgets", budget) if "budgets" in raw else defaults.budgets,
    )


def _budgets(
    parser: Parser, raw: Any, key: str, budget: Callable[[Any, str], DisruptionBudgetConfig]
) -> tuple[DisruptionBudgetConfig, ...]:
    budgets = parser.items(raw, key, budget, unique=False, min_items=1, allowed=f"1 to {MAX_BUDGETS} budgets")
    if len(budgets) > MAX_BUDGETS:
        raise parser.error(key, f"has {len(budgets)} budgets", f"allowed: 1 to {MAX_BUDGETS} budgets")
    return budgets


def _parse_node_pool(parser: Parser, raw: Any, key: str) -> NodePoolConfig:
    # From here on errors read nodePools[0] (general-amd64).<field>.
    raw, name, key = parser.named_item(raw, key, NODE_POOL_KEYS, example="general-amd64")
    defaults = NodePoolConfig(name=name, architectures=("amd64",))
    cpus = parser.items(
        raw.get("cpus", []),
        f"{key}.cpus",
        lambda v, k: parser.integer(v, k, minimum=1, maximum=448),
        allowed="vCPU counts such as [2, 4]",
    )
    return NodePoolConfig(
        name=name,
        architectures=parser.items(
            raw.get("architectures", list(defaults.architectures)),
            f"{key}.architectures",
            lambda v, k: parser.choice(v, k, ARCHITECTURES),
            min_items=1,
            allowed=" and/or ".join(ARCHITECTURES),
        ),
        instance_categories=parser.items(
            raw.get("instanceCategories", list(defaults.instance_categories)),
            f"{key}.instanceCategories",
            lambda v, k: parser.choice(v, k, GENERAL_INSTANCE_CATEGORIES),
            min_items=1,
            allowed=" | ".join(GENERAL_INSTANCE_CATEGORIES),
        ),
        cpus=cpus,
        min_generation=(
            parser.integer(raw["minGeneration"], f"{key}.minGeneration", minimum=1, maximum=20)
            if "minGeneration" in raw
            else None
        ),
        capacity_types=parser.items(
            raw.get("capacityTypes", list(defaults.capacity_types)),
            f"{key}.capacityTypes",
            lambda v, k: parser.choice(v, k, CAPACITY_TYPES),
            min_items=1,
            allowed=" and/or ".join(CAPACITY_TYPES),
        ),
        max_cpu=parser.integer(raw.get("maxCpu", defaults.max_cpu), f"{key}.maxCpu", minimum=1),
        max_memory_gib=(
            parser.integer(raw["maxMemoryGib"], f"{key}.maxMemoryGib", minimum=1) if "maxMemoryGib" in raw else None
        ),
        disruption=parse_disruption(parser, raw.get("disruption"), f"{key}.disruption", defaults.disruption),
        expire_after=parse_expire_after(parser, raw, key, defaults.expire_after),
        termination_grace_period=parse_termination_grace_period(parser, raw, key),
        weight=parser.integer(raw["weight"], f"{key}.weight", minimum=1, maximum=100) if "weight" in raw else None,
    )


def parse_expire_after(parser: Parser, raw: Mapping[str, Any], key: str, default: str) -> str:
    """A pool's `expireAfter` (shared by general and GPU pools), in the NodePool CRD's duration syntax."""
    return parser.text(
        raw.get("expireAfter", default), f"{key}.expireAfter", DURATION_PATTERN, "a duration such as 720h, or Never"
    )


def parse_termination_grace_period(parser: Parser, raw: Mapping[str, Any], key: str) -> str:
    """A pool's `terminationGracePeriod` (shared by general and GPU pools): always a bound, never unset."""
    return parser.text(
        raw.get("terminationGracePeriod", DEFAULT_TERMINATION_GRACE_PERIOD),
        f"{key}.terminationGracePeriod",
        TERMINATION_GRACE_PERIOD_PATTERN,
        "a duration such as 5m, 1h or 1h30m (no Never: an unbounded drain can block pulumi destroy)",
    )


def parse_node_pools(parser: Parser, raw: Any) -> tuple[NodePoolConfig, ...]:
    """Parse `gpu-eks:nodePools` (absent = DEFAULT_NODE_POOLS; an empty list is allowed)."""
    if raw is None:
        return DEFAULT_NODE_POOLS
    pools = parser.items(
        raw,
        "nodePools",
        lambda v, k: _parse_node_pool(parser, v, k),
        unique=False,
        allowed="a list of NodePool definitions (may be empty)",
    )
    check_unique_names(parser, [("nodePools", pool.name) for pool in pools])
    return pools


def pool_key(list_key: str, index: int, name: str) -> str:
    """`nodePools[1] (general-arm64)`: how errors name a pool after parsing."""
    return item_key(f"{list_key}[{index}]", name)


def check_consolidation_policy(
    parser: Parser, disruption: DisruptionConfig, key: str, karpenter: KarpenterConfig
) -> None:
    """`Balanced` consolidation arrived in Karpenter 1.14.0; older releases reject the NodePool."""
    if disruption.consolidation_policy == "Balanced" and versions.parse_semver(
        karpenter.version
    ) < versions.parse_semver(BALANCED_CONSOLIDATION_SINCE):
        raise parser.error(
            f"{key}.consolidationPolicy",
            f"Balanced needs Karpenter {BALANCED_CONSOLIDATION_SINCE} or newer, this stack runs {karpenter.version}",
            "allowed: WhenEmpty | WhenEmptyOrUnderutilized, or a newer karpenter.version",
        )


def check_unique_names(parser: Parser, named: Sequence[tuple[str, str]]) -> None:
    """Karpenter NodePools are cluster-scoped: one name may be used once across all pool lists."""
    seen: dict[str, str] = {}
    for index, (list_key, name) in enumerate(named):
        position = sum(1 for other_key, _ in named[:index] if other_key == list_key)
        if name in seen:
            raise parser.error(
                f"{pool_key(list_key, position, name)}.name",
                f"duplicate pool name {name!r} (also in {seen[name]})",
                "allowed: names unique across nodePools and gpuNodePools",
            )
        seen[name] = list_key


# -- the configuration reference (docs/configuration.md is generated from this; see components.config) -------------

_POOL = NodePoolConfig(name="", architectures=("amd64",))
_DISRUPTION = DisruptionConfig()
_BUDGET = DisruptionBudgetConfig()
_DURATION = "a duration of seconds, minutes and hours (`30s`, `5m`, `1h30m`)"


def _listed(values: Sequence[object]) -> str:
    return "`[" + ", ".join(str(v) for v in values) + "]`"


NODE_POOL_SECTION = SectionDoc(
    path="gpu-eks:nodePools[]",
    keys=NODE_POOL_KEYS,
    intro="General-purpose (CPU) Karpenter NodePools. Absent, the stack gets "
    + " and ".join(f"`{pool.name}`" for pool in DEFAULT_NODE_POOLS)
    + " (generation 7 or newer, spot and on-demand; the amd64 pool 2 or 4 vCPU); `[]` means none. Names are unique "
    "across `nodePools` and `gpuNodePools`.",
    docs={
        "name": KeyDoc(
            type="string",
            default="required",
            allowed="a DNS-1123 label (lowercase letters, digits, `-`; at most 63 characters)",
            example="general-amd64",
            description="The NodePool's name.",
        ),
        "architectures": KeyDoc(
            type="list of strings",
            default=_listed(_POOL.architectures),
            allowed=", ".join(f"`{a}`" for a in ARCHITECTURES),
            example="[arm64]",
            description="CPU architectures the pool may launch.",
        ),
        "instanceCategories": KeyDoc(
            type="list of strings",
            default=_listed(_POOL.instance_categories),
            allowed=", ".join(f"`{c}`" for c in GENERAL_INSTANCE_CATEGORIES)
            + " (GPU families belong in `gpuNodePools`)",
            example="[c, m]",
            description="EC2 instance categories (Karpenter's `karpenter.k8s.aws/instance-category`).",
        ),
        "cpus": KeyDoc(
            type="list of integers",
            default="any",
            allowed="vCPU counts",
            example="[2, 4]",
            description="Only instance types with these vCPU counts.",
        ),
        "minGeneration": KeyDoc(
            type="integer",
            default="any",
            allowed="1 to 20",
            example="7",
            description="Only instance generations this new or newer (`7`: m7i, c7g, ...).",
        ),
        "capacityTypes": KeyDoc(
            type="list of strings",
            default=_listed(_POOL.capacity_types),
            allowed=", ".join(f"`{c}`" for c in CAPACITY_TYPES),
            example="[on-demand]",
            description="Spot, on-demand or both (Karpenter prefers spot when both are allowed).",
        ),
        "maxCpu": KeyDoc(
            type="integer",
            default=f"`{_POOL.max_cpu}`",
            allowed="a positive integer",
            example="400",
            description="The pool's CPU limit: Karpenter launches nothing beyond it.",
        ),
        "maxMemoryGib": KeyDoc(
            type="integer",
            default="none",
            allowed="a positive integer (GiB)",
            example="1600",
            description="The pool's memory limit.",
        ),
        "disruption": KeyDoc(
            type="mapping",
            default=f"`{_DISRUPTION.consolidation_policy}` after `{_DISRUPTION.consolidate_after}`, budget "
            f"`nodes: {_BUDGET.nodes}`",
            allowed="see `disruption` below",
            example="{consolidationPolicy: WhenEmpty, consolidateAfter: 5m}",
            description="When Karpenter may remove or replace the pool's nodes.",
        ),
        "expireAfter": KeyDoc(
            type="string",
            default=f"`{DEFAULT_EXPIRE_AFTER}`",
            allowed=f"{_DURATION}, or `Never`",
            example="336h",
            description="Nodes older than this are replaced (they pick up new node images).",
        ),
        "terminationGracePeriod": KeyDoc(
            type="string",
            default=f"`{DEFAULT_TERMINATION_GRACE_PERIOD}`",
            allowed=f"{_DURATION}; no `Never`",
            example="24h",
            description="How long a drain may wait on PodDisruptionBudgets and `karpenter.sh/do-not-disrupt` pods "
            "before Karpenter deletes them. It bounds `pulumi destroy` too: "
            "[operations](operations.md#teardown).",
        ),
        "weight": KeyDoc(
            type="integer",
            default="none",
            allowed="1 to 100",
            example="50",
            description="Karpenter tries pools of higher weight first.",
        ),
    },
)

DISRUPTION_SECTION = SectionDoc(
    path="gpu-eks:nodePools[].disruption, gpu-eks:gpuNodePools[].disruption",
    keys=DISRUPTION_KEYS,
    intro="A key left out keeps the pool kind's default (GPU pools: `gpuNodePools[].disruption` above).",
    docs={
        "consolidationPolicy": KeyDoc(
            type="string",
            default=f"`{_DISRUPTION.consolidation_policy}` (general pools)",
            allowed=" | ".join(f"`{p}`" for p in CONSOLIDATION_POLICIES)
            + f" (Karpenter ≥ {BALANCED_CONSOLIDATION_SINCE.rsplit('.', 1)[0]})",
            example="WhenEmpty",
            description="Whether Karpenter removes only empty nodes or also moves pods to pack nodes better.",
        ),
        "consolidateAfter": KeyDoc(
            type="string",
            default=f"`{_DISRUPTION.consolidate_after}` (general pools)",
            allowed=f"{_DURATION}, or `Never`",
            example="10m",
            description="How long a node must be consolidatable before Karpenter acts.",
        ),
        "budgets": KeyDoc(
            type="list of mappings",
            default=f"`[{{nodes: {_BUDGET.nodes}}}]`",
            allowed=f"1 to {MAX_BUDGETS} budgets, see `disruption.budgets[]` below",
            example="[{nodes: 1}, {nodes: 0, schedule: '0 9 * * mon-fri', duration: 8h, reasons: [Drifted]}]",
            description="How many of the pool's nodes may be disrupted at once, and when; they pace node image "
            "roll-outs and Kubernetes upgrades.",
        ),
    },
)

BUDGET_SECTION = SectionDoc(
    path="gpu-eks:nodePools[].disruption.budgets[], gpu-eks:gpuNodePools[].disruption.budgets[]",
    keys=BUDGET_KEYS,
    docs={
        "nodes": KeyDoc(
            type="string or integer",
            default=f"`{_BUDGET.nodes}`",
            allowed="a node count (`1`) or a percentage (`10%`)",
            example="1",
            description="How many nodes may be disrupted at once while the budget applies.",
        ),
        "schedule": KeyDoc(
            type="string",
            default="none (always)",
            allowed="a 5-field cron expression or `@daily`, `@weekly`, ...; with `duration`",
            example="'0 9 * * mon-fri'",
            description="When the budget starts applying (UTC).",
        ),
        "duration": KeyDoc(
            type="string",
            default="none",
            allowed="hours and/or minutes (`8h`, `1h30m`); with `schedule`",
            example="8h",
            description="How long the budget applies after each `schedule` time.",
        ),
        "reasons": KeyDoc(
            type="list of strings",
            default="`[]` (every reason)",
            allowed=", ".join(f"`{r}`" for r in DISRUPTION_REASONS),
            example="[Drifted]",
            description="The disruptions the budget limits.",
        ),
    },
)
