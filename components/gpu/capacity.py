"""Where a GPU pool's capacity comes from and who may use it: capacity types and EC2 capacity reservations, warm
slices, and a team's own taints (`gpuNodePools[].capacityTypes`, `.capacityReservations`, `.warmSlices`, `.taints`).

Parsing and validation only; the EC2NodeClass terms, the NodePool taints, the CapacityBuffer and the contract are
built from these values in `components.gpu.pools`, `components.gpu.warm` and `components.gpu.contract`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from components import versions
from components.common.names import CRITICAL_ADDONS_TAINT_KEY
from components.common.parsing import KeyDoc, Parser, SectionDoc, describe
from components.gpu.names import GPU_TAINT_KEY, SHARING_TAINT_KEY
from components.karpenter.config import KarpenterConfig

# -- capacity types and reservations -----------------------------------------------------------------------------

CapacityType = Literal["reserved", "spot", "on-demand"]
RESERVED: CapacityType = "reserved"
# Karpenter's order of preference, which is the order the NodePool requirement and the contract list them in:
# "If a NodePool is compatible with multiple capacity types, Karpenter will prioritize reserved capacity, followed by
# spot, then finally on-demand" (aws/karpenter-provider-aws website/content/en/v1.14/concepts/nodepools.md,
# capacity type); reserved is prepaid, so Karpenter models it as free (tasks/odcrs.md "Prioritization Behavior").
GPU_CAPACITY_TYPES: tuple[CapacityType, ...] = ("reserved", "spot", "on-demand")
RESERVATION_TERM_KEYS = ("id", "tags", "ownerId")
# EC2 capacity reservation IDs (`cr-` and 17 hex digits; 8 for the oldest resource IDs). The EC2NodeClass CRD
# accepts ^cr-[0-9a-z]+$, so every ID that passes here passes there.
CAPACITY_RESERVATION_ID_PATTERN = re.compile(r"^cr-[0-9a-f]{8,17}$")
ACCOUNT_ID_PATTERN = re.compile(r"^[0-9]{12}$")
# EC2NodeClass CRD v1.14.1: capacityReservationSelectorTerms maxItems 30, tags maxProperties 20.
MAX_RESERVATION_TERMS = 30
MAX_RESERVATION_TAGS = 20
# An EC2 tag key: 1-128 characters, not starting with the reserved aws: prefix; a value up to 256.
RESERVATION_TAG_KEY_PATTERN = re.compile(r"^(?!aws:)[\w .:/=+\-@]{1,128}$")
MAX_TAG_VALUE_LENGTH = 256


@dataclass(frozen=True)
class CapacityReservationTerm:
    """One EC2NodeClass capacity reservation selector term: an ID, or tags (all must match) and optionally the owner
    account. Terms are ORed (EC2NodeClass CRD v1.14.1 capacityReservationSelectorTerms)."""

    id: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    owner_id: str | None = None


def parse_capacity_types(parser: Parser, raw: Any, key: str) -> tuple[CapacityType, ...]:
    """`capacityTypes` of a GPU pool, returned in Karpenter's order of preference whatever order the stack wrote."""
    chosen = parser.items(
        raw,
        key,
        lambda v, k: parser.choice(v, k, GPU_CAPACITY_TYPES),
        min_items=1,
        allowed=" and/or ".join(GPU_CAPACITY_TYPES),
    )
    return tuple(t for t in GPU_CAPACITY_TYPES if t in chosen)


def _reservation_term(parser: Parser, raw: Any, key: str) -> CapacityReservationTerm:
    allowed = "allowed: {id: cr-0123456789abcdef0}, or {tags: {purpose: llm-training}} with an optional ownerId"
    raw = parser.mapping(raw, key, RESERVATION_TERM_KEYS)
    if "id" in raw:
        # The CRD makes `id` exclusive (CEL "'id' is mutually exclusive"): an ID already names one reservation.
        extra = [field for field in ("tags", "ownerId") if field in raw]
        if extra:
            raise parser.error(
                f"{key}.{extra[0]}",
                "cannot be combined with id (an ID selects exactly one reservation)",
                "allowed: either id, or tags with an optional ownerId",
            )
        return CapacityReservationTerm(
            id=parser.string(
                raw["id"],
                f"{key}.id",
                CAPACITY_RESERVATION_ID_PATTERN,
                "a capacity reservation ID such as cr-0123456789abcdef0",
            )
        )
    if "tags" not in raw:
        raise parser.error(key, "selects nothing: it has neither id nor tags", allowed)
    tags = raw["tags"]
    if not isinstance(tags, Mapping) or not tags:
        raise parser.error(
            f"{key}.tags",
            f"expected a non-empty mapping of tag keys to values, got {describe(tags)}"
            if not isinstance(tags, Mapping)
            else "is empty, so it would select no reservation",
            "allowed: tags that the reservations carry, e.g. {purpose: llm-training}; '*' matches any value of a key",
        )
    if len(tags) > MAX_RESERVATION_TAGS:
        raise parser.error(
            f"{key}.tags",
            f"has {len(tags)} tags",
            f"allowed: at most {MAX_RESERVATION_TAGS} tags per term (EC2NodeClass CRD)",
        )
    pairs = []
    for tag_key, value in sorted(tags.items(), key=lambda item: str(item[0])):
        if not isinstance(tag_key, str) or not RESERVATION_TAG_KEY_PATTERN.match(tag_key):
            raise parser.error(
                f"{key}.tags.{tag_key}",
                f"{tag_key!r} is not an EC2 tag key",
                "allowed: 1-128 letters, digits, spaces and _ . : / = + - @, not starting with aws:",
            )
        if not isinstance(value, str) or not value or len(value) > MAX_TAG_VALUE_LENGTH:
            raise parser.error(
                f"{key}.tags.{tag_key}",
                f"expected a tag value, got {describe(value)}",
                f"allowed: a non-empty string of up to {MAX_TAG_VALUE_LENGTH} characters, or '*' for any value",
            )
        pairs.append((tag_key, value))
    owner = None
    if "ownerId" in raw:
        # An unquoted 012345678901 loses its leading zero in YAML; the pattern then names the problem.
        owner = parser.text(
            raw["ownerId"],
            f"{key}.ownerId",
            ACCOUNT_ID_PATTERN,
            "the 12-digit account ID that owns the reservations, quoted ('012345678901')",
        )
    return CapacityReservationTerm(tags=tuple(pairs), owner_id=owner)


def parse_capacity_reservations(
    parser: Parser, raw_pool: Mapping[str, Any], key: str, capacity_types: Sequence[CapacityType]
) -> tuple[CapacityReservationTerm, ...]:
    """`capacityReservations`: required with `reserved` and meaningless without it, so either mismatch is an error."""
    raw = raw_pool.get("capacityReservations")
    if raw is None:
        if RESERVED in capacity_types:
            raise parser.error(
                f"{key}.capacityReservations",
                "is required when capacityTypes has reserved: Karpenter "
                "uses only the reservations an EC2NodeClass selects, never open matching",
                "allowed: a list of {id: cr-...} or {tags: {...}, ownerId: ...} terms",
            )
        return ()
    terms = parser.items(
        raw,
        f"{key}.capacityReservations",
        lambda v, k: _reservation_term(parser, v, k),
        min_items=1,
        allowed=f"1 to {MAX_RESERVATION_TERMS} terms, each {{id: cr-...}} or {{tags: {{...}}, ownerId: ...}}",
    )
    if len(terms) > MAX_RESERVATION_TERMS:
        raise parser.error(
            f"{key}.capacityReservations",
            f"has {len(terms)} terms",
            f"allowed: at most {MAX_RESERVATION_TERMS} (EC2NodeClass CRD)",
        )
    if RESERVED not in capacity_types:
        raise parser.error(
            f"{key}.capacityReservations",
            "is set but capacityTypes has no reserved, so the pool would never launch into these reservations",
            "allowed: add reserved to capacityTypes (e.g. [reserved, on-demand]), or remove capacityReservations",
        )
    return terms


# -- feature gates a pool option needs ---------------------------------------------------------------------------


def check_gate(parser: Parser, key: str, gate: str, what: str, karpenter: KarpenterConfig) -> None:
    """A pool option that needs a Karpenter feature gate: the version must have it and the stack must not have
    turned it off; the config then turns it on for the stack (`KarpenterConfig.with_gates_on`)."""
    first = versions.KARPENTER_FEATURE_GATES[gate]
    if versions.parse_semver(karpenter.version) < versions.parse_semver(first):
        raise parser.error(
            key,
            f"{what} needs Karpenter's {gate} feature gate, which Karpenter {karpenter.version} does not have",
            f"allowed: karpenter.version {first} or newer, or remove {what}",
        )
    if karpenter.turned_off(gate):
        raise parser.error(
            key,
            f"{what} needs Karpenter's {gate} feature gate, but karpenter.featureGates.{gate} is false",
            f"allowed: remove {gate}: false from karpenter.featureGates (a pool that needs "
            f"it turns it on), or remove {what}",
        )


# -- warm slices -------------------------------------------------------------------------------------------------


def largest_reachable_gpus(max_gpus: int, gpu_counts: Sequence[int]) -> int:
    """The most GPUs the pool can hold under its limit: the largest sum of its node sizes (each any number of
    times) that does not exceed maxGpus. Karpenter never launches a node that would take the pool past its limit."""
    reachable = [True] + [False] * max_gpus
    for total in range(1, max_gpus + 1):
        reachable[total] = any(count <= total and reachable[total - count] for count in gpu_counts)
    return max(total for total, ok in enumerate(reachable) if ok)


def parse_warm_slices(
    parser: Parser, raw: Any, key: str, *, max_gpus: int, gpu_counts: Sequence[int], slices_per_gpu: int
) -> int | None:
    """`warmSlices`: how many free slices Karpenter keeps ready; at most what the pool's limit lets it hold."""
    if raw is None:
        return None
    most_gpus = largest_reachable_gpus(max_gpus, gpu_counts)
    most = most_gpus * slices_per_gpu
    slices = parser.integer(raw, key, minimum=1)
    if slices > most:
        sizes = ", ".join(str(count) for count in sorted(set(gpu_counts)))
        raise parser.error(
            key,
            f"{slices} warm slices cannot be kept: with nodes of {sizes} GPU(s) and maxGpus "
            f"{max_gpus} the pool holds at most {most_gpus} GPUs = {most} slices",
            f"allowed: 1 to {most}, or a larger maxGpus",
        )
    return slices


# -- team taints -------------------------------------------------------------------------------------------------

TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
TAINT_EFFECTS: tuple[TaintEffect, ...] = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TAINT_KEYS = ("key", "value", "effect")
# Kubernetes' qualified name (apimachinery validation.IsQualifiedName): an optional DNS-1123 subdomain prefix of at
# most 253 characters and a slash, then a name of at most 63; and a label value (IsValidLabelValue), non-empty here
# because the NodePool CRD's taint value pattern needs at least one character.
_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
TAINT_KEY_PATTERN = re.compile(rf"^(?=.{{1,317}}$)((?=.{{1,253}}/){_SUBDOMAIN}/)?(?=[^/]{{1,63}}$){_NAME}$")
TAINT_VALUE_PATTERN = re.compile(rf"^(?=.{{1,63}}$){_NAME}$")
# Taint key domains that belong to someone else: Kubernetes (node.kubernetes.io/not-ready, ...), Karpenter
# (karpenter.sh/disrupted, karpenter.sh/unregistered) and this project (gpu-eks/sharing).
RESERVED_TAINT_DOMAINS = {
    "kubernetes.io": "Kubernetes",
    "k8s.io": "Kubernetes",
    "karpenter.sh": "Karpenter",
    "karpenter.k8s.aws": "Karpenter",
    SHARING_TAINT_KEY.split("/")[0]: "gpu-eks",
}


@dataclass(frozen=True)
class Taint:
    """A taint a team puts on its pool, on top of the GPU and sharing taints."""

    key: str
    effect: TaintEffect
    value: str | None = None

    def manifest(self) -> dict[str, str]:
        """As the NodePool template lists it (no value key when there is none: the CRD refuses an empty value)."""
        return {"key": self.key, **({"value": self.value} if self.value is not None else {}), "effect": self.effect}

    def toleration(self) -> dict[str, str]:
        """The toleration of exactly this taint."""
        if self.value is None:
            return {"key": self.key, "operator": "Exists", "effect": self.effect}
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}


def _taint_owner(taint_key: str) -> str | None:
    """Who else uses a taint key, or None when a team may."""
    if taint_key == GPU_TAINT_KEY:
        return "gpu-eks (every GPU node's nvidia.com/gpu taint)"
    if taint_key == CRITICAL_ADDONS_TAINT_KEY:
        return "gpu-eks (the controller node group's taint)"
    domain = taint_key.split("/", 1)[0] if "/" in taint_key else ""
    for reserved, owner in RESERVED_TAINT_DOMAINS.items():
        if domain == reserved or domain.endswith("." + reserved):
            return owner
    return None


def _taint(parser: Parser, raw: Any, key: str) -> Taint:
    raw = parser.mapping(raw, key, TAINT_KEYS)
    for field in ("key", "effect"):
        if field not in raw:
            raise parser.error(f"{key}.{field}", "is missing", "allowed: {key: team, value: chat, effect: NoSchedule}")
    taint_key = parser.string(
        raw["key"],
        f"{key}.key",
        TAINT_KEY_PATTERN,
        "a Kubernetes taint key: an optional DNS subdomain and '/', then up to 63 letters, "
        "digits, '-', '_', '.' (e.g. team or example.com/team)",
    )
    owner = _taint_owner(taint_key)
    if owner is not None:
        raise parser.error(
            f"{key}.key",
            f"{taint_key!r} is a taint key of {owner}",
            "allowed: a key of your own, e.g. team or example.com/team",
        )
    value = None
    if "value" in raw:
        value = parser.text(
            raw["value"],
            f"{key}.value",
            TAINT_VALUE_PATTERN,
            "up to 63 letters, digits, '-', '_', '.', starting and ending with a letter or digit",
        )
    effect = cast(TaintEffect, parser.choice(raw["effect"], f"{key}.effect", TAINT_EFFECTS))
    return Taint(key=taint_key, effect=effect, value=value)


def parse_taints(parser: Parser, raw: Any, key: str) -> tuple[Taint, ...]:
    """`taints`: a team's own taints; Kubernetes refuses two taints with the same key and effect."""
    if raw is None:
        return ()
    taints = parser.items(
        raw, key, lambda v, k: _taint(parser, v, k), unique=False, allowed="a list of {key, value, effect} taints"
    )
    seen: set[tuple[str, str]] = set()
    for index, taint in enumerate(taints):
        if (taint.key, taint.effect) in seen:
            raise parser.error(
                f"{key}[{index}]",
                f"a second {taint.key} taint with effect {taint.effect}",
                "allowed: one taint per key and effect (Kubernetes rejects duplicates)",
            )
        seen.add((taint.key, taint.effect))
    return taints


# -- the configuration reference (docs/configuration.md is generated from this; see components.config) -------------

RESERVATION_TERM_SECTION = SectionDoc(
    path="gpu-eks:gpuNodePools[].capacityReservations[]",
    keys=RESERVATION_TERM_KEYS,
    intro=f"1 to {MAX_RESERVATION_TERMS} EC2NodeClass `capacityReservationSelectorTerms`, ORed; each has `id`, or "
    "`tags` with an optional `ownerId`.",
    docs={
        "id": KeyDoc(
            type="string",
            default="none",
            allowed="`cr-` and 8 to 17 hex digits",
            example="cr-0123456789abcdef0",
            description="One ODCR or Capacity Block by ID.",
        ),
        "tags": KeyDoc(
            type="mapping of tag key to value",
            default="none",
            allowed=f"1 to {MAX_RESERVATION_TAGS} tags, all must match; `'*'` matches any value",
            example="{purpose: llm-training}",
            description="Every reservation with these tags.",
        ),
        "ownerId": KeyDoc(
            type="string (quote it: 12 digits)",
            default="none",
            allowed="a 12-digit AWS account ID",
            example="'111122223333'",
            description="The account that owns reservations shared with yours.",
        ),
    },
)

TAINT_SECTION = SectionDoc(
    path="gpu-eks:gpuNodePools[].taints[]",
    keys=TAINT_KEYS,
    intro="One taint per key and effect. Not `nvidia.com/gpu`, `CriticalAddonsOnly`, `gpu-eks/*` or a "
    "`kubernetes.io`, `k8s.io` or Karpenter key: those belong to Kubernetes, Karpenter or this project.",
    docs={
        "key": KeyDoc(
            type="string",
            default="required",
            allowed="a Kubernetes taint key (a name of at most 63 characters, optionally prefixed by a DNS "
            "subdomain and `/`)",
            example="example.com/team",
            description="The taint's key.",
        ),
        "value": KeyDoc(
            type="string",
            default="none",
            allowed="a label value (1 to 63 characters)",
            example="chat",
            description="The taint's value.",
        ),
        "effect": KeyDoc(
            type="string",
            default="required",
            allowed=" | ".join(f"`{e}`" for e in TAINT_EFFECTS),
            example="NoSchedule",
            description="What the taint does to pods that do not tolerate it.",
        ),
    },
)
