"""The `gpu-eks:karpenter` section: which Karpenter release runs, how its controller authenticates, its gates."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal, cast

from components import versions
from components.common.parsing import KeyDoc, Parser, SectionDoc

ControllerIdentity = Literal["pod-identity", "irsa"]
POD_IDENTITY: ControllerIdentity = "pod-identity"
IRSA: ControllerIdentity = "irsa"
CONTROLLER_IDENTITIES: tuple[ControllerIdentity, ...] = (POD_IDENTITY, IRSA)
KARPENTER_LOG_LEVELS = ("debug", "info", "error")
# The feature gate the GPU pools' sliced capacity needs (NodeOverlay); on by default.
NODE_OVERLAY_GATE = "nodeOverlay"
# Gates a GPU pool option turns on for the stack when it needs them (and refuses when the stack turned them off):
# `capacityTypes: [reserved, ...]` needs reservedCapacity, `warmSlices` needs capacityBuffer.
RESERVED_CAPACITY_GATE = "reservedCapacity"
CAPACITY_BUFFER_GATE = "capacityBuffer"
KARPENTER_KEYS = ("version", "identity", "featureGates", "createSpotServiceLinkedRole", "logLevel")


@dataclass(frozen=True)
class KarpenterConfig:
    """The Karpenter installation."""

    version: str = versions.DEFAULT_KARPENTER_VERSION
    identity: ControllerIdentity = POD_IDENTITY
    feature_gates: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({NODE_OVERLAY_GATE: True}))
    create_spot_service_linked_role: bool = False
    log_level: str = "info"

    def gate(self, name: str) -> bool:
        """Whether a feature gate is on (gates not set keep the chart default, off)."""
        return bool(self.feature_gates.get(name, False))

    def turned_off(self, name: str) -> bool:
        """Whether the stack set a gate to false itself (an unset gate is not turned off)."""
        return self.feature_gates.get(name) is False

    def with_gates_on(self, gates: Iterable[str]) -> KarpenterConfig:
        """This config with `gates` on, written into the chart values explicitly: the chart's own default differs by
        release (reservedCapacity is off before 1.6.0, charts/karpenter/values.yaml)."""
        return replace(self, feature_gates=MappingProxyType({**self.feature_gates, **dict.fromkeys(gates, True)}))


def parse_karpenter(parser: Parser, raw: Any, kubernetes_version: str) -> KarpenterConfig:
    """Parse `gpu-eks:karpenter` (absent = the defaults) against the cluster's Kubernetes version."""
    key = "karpenter"
    raw = parser.mapping({} if raw is None else raw, key, KARPENTER_KEYS)
    defaults = KarpenterConfig()
    version = parser.text(
        raw.get("version", defaults.version),
        f"{key}.version",
        re.compile(r"^\d+\.\d+\.\d+$"),
        "a release such as 1.14.1 (no v prefix)",
    )
    parsed = versions.parse_semver(version)
    oldest = versions.OLDEST_SUPPORTED_KARPENTER_VERSION
    newest = versions.NEWEST_VALIDATED_KARPENTER_VERSION
    if not versions.parse_semver(oldest) <= parsed <= versions.parse_semver(newest):
        raise parser.error(
            f"{key}.version",
            f"Karpenter {version} is outside the validated range",
            f"allowed: {oldest} to {newest} (newer releases need their CRDs validated first)",
        )
    needed = versions.KARPENTER_MIN_VERSION_FOR_KUBERNETES[kubernetes_version]
    if parsed < versions.parse_semver(needed):
        raise parser.error(
            f"{key}.version",
            f"Karpenter {version} does not support Kubernetes {kubernetes_version}",
            f"allowed: Karpenter {needed} or newer for Kubernetes {kubernetes_version} "
            "(Karpenter compatibility matrix)",
        )
    gates_raw = parser.mapping(
        {} if raw.get("featureGates") is None else raw["featureGates"],
        f"{key}.featureGates",
        tuple(versions.KARPENTER_FEATURE_GATES),
    )
    # The map merges over the defaults, so turning one gate on never silently drops nodeOverlay. A default
    # gate the chosen version lacks is left out (it is our default, not the user's request); a gate the user
    # sets on a version without it is an error.
    gates = {
        gate: enabled
        for gate, enabled in defaults.feature_gates.items()
        if parsed >= versions.parse_semver(versions.KARPENTER_FEATURE_GATES[gate])
    }
    for gate, value in sorted(gates_raw.items()):
        enabled = parser.boolean(value, f"{key}.featureGates.{gate}")
        first = versions.KARPENTER_FEATURE_GATES[gate]
        if enabled and parsed < versions.parse_semver(first):
            raise parser.error(
                f"{key}.featureGates.{gate}",
                f"Karpenter {version} has no {gate} feature gate",
                f"allowed: Karpenter {first} or newer, or {gate}: false",
            )
        gates[gate] = enabled
    return KarpenterConfig(
        version=version,
        identity=cast(
            ControllerIdentity,
            parser.choice(raw.get("identity", defaults.identity), f"{key}.identity", CONTROLLER_IDENTITIES),
        ),
        feature_gates=MappingProxyType(gates),
        create_spot_service_linked_role=parser.boolean(
            raw.get("createSpotServiceLinkedRole", defaults.create_spot_service_linked_role),
            f"{key}.createSpotServiceLinkedRole",
        ),
        log_level=parser.choice(raw.get("logLevel", defaults.log_level), f"{key}.logLevel", KARPENTER_LOG_LEVELS),
    )


# -- the configuration reference (docs/configuration.md is generated from this; see components.config) -------------

_KARPENTER = KarpenterConfig()
KARPENTER_SECTION = SectionDoc(
    path="gpu-eks:karpenter",
    keys=KARPENTER_KEYS,
    docs={
        "version": KeyDoc(
            type="string",
            default=f"`{versions.DEFAULT_KARPENTER_VERSION}`",
            allowed=f"`{versions.OLDEST_SUPPORTED_KARPENTER_VERSION}` to "
            f"`{versions.NEWEST_VALIDATED_KARPENTER_VERSION}` (no `v`), and at least the minimum for the Kubernetes "
            "version ("
            + ", ".join(
                f"{k8s} → {karpenter.rsplit('.', 1)[0]}"
                for k8s, karpenter in versions.KARPENTER_MIN_VERSION_FOR_KUBERNETES.items()
            )
            + ")",
            example=versions.DEFAULT_KARPENTER_VERSION,
            description="The `karpenter-crd` and `karpenter` charts and the controller. Newer releases are refused "
            "until their CRDs are validated.",
        ),
        "identity": KeyDoc(
            type="string",
            default=f"`{_KARPENTER.identity}`",
            allowed=" | ".join(f"`{i}`" for i in CONTROLLER_IDENTITIES),
            example="irsa",
            description="How the controller gets its IAM role: EKS Pod Identity, or IRSA (which also creates the "
            "cluster's IAM OIDC provider).",
        ),
        "featureGates": KeyDoc(
            type="mapping of gate to boolean",
            default="`{" + ", ".join(f"{g}: {str(v).lower()}" for g, v in _KARPENTER.feature_gates.items()) + "}`",
            allowed="see `gpu-eks:karpenter.featureGates` below",
            example="{spotToSpotConsolidation: true}",
            description="Merged over the default, so setting one gate keeps the others.",
        ),
        "createSpotServiceLinkedRole": KeyDoc(
            type="boolean",
            default=f"`{str(_KARPENTER.create_spot_service_linked_role).lower()}`",
            allowed="`true` | `false`; `true` in one stack per account at most",
            example="true",
            description="Create the account's EC2 Spot service-linked role, which spot launches need. It exists "
            "once per account: create it by hand, or let exactly one stack own it.",
        ),
        "logLevel": KeyDoc(
            type="string",
            default=f"`{_KARPENTER.log_level}`",
            allowed=" | ".join(f"`{level}`" for level in KARPENTER_LOG_LEVELS),
            example="debug",
            description="The controller's log level.",
        ),
    },
)

_GATE_WHAT = {
    "nodeRepair": "replace nodes whose conditions stay unhealthy; `nodeHealth.autoRepair` turns it on",
    "nodeOverlay": "NodeOverlays, which tell Karpenter a sharing pool's sliced capacity; GPU sharing needs it",
    "reservedCapacity": "launch into EC2 capacity reservations; a GPU pool with `capacityTypes: [reserved, …]` "
    "turns it on",
    "spotToSpotConsolidation": "consolidate a spot node onto a cheaper spot node",
    "staticCapacity": "static NodePools (a fixed node count)",
    "capacityBuffer": "CapacityBuffers; a GPU pool's `warmSlices` turns it on",
}
# Gates the program turns on when another setting needs them (components.observability.config, components.gpu).
_GATE_TURNED_ON = {
    "nodeRepair": "`true` while `nodeHealth.autoRepair` is (its default); else the chart's default",
    RESERVED_CAPACITY_GATE: "`true` when a GPU pool has `reserved`; else the chart's default for the version",
    CAPACITY_BUFFER_GATE: "`true` when a GPU pool has `warmSlices`; else the chart's default for the version",
}
FEATURE_GATES_SECTION = SectionDoc(
    path="gpu-eks:karpenter.featureGates",
    keys=tuple(versions.KARPENTER_FEATURE_GATES),
    intro="Written into the chart's values. A gate the Karpenter version lacks is an error when you set it to true, "
    "and left out when it is only our default. A gate a pool option needs that the stack set to `false` is an error "
    "naming the pool's key.",
    docs={
        gate: KeyDoc(
            type="boolean",
            default=f"`{str(_KARPENTER.feature_gates[gate]).lower()}`"
            if gate in _KARPENTER.feature_gates
            else _GATE_TURNED_ON.get(gate, "not set: the chart's default for the version"),
            allowed=f"`true` (Karpenter ≥ {first}) | `false`",
            example="true",
            description=_GATE_WHAT.get(gate, ""),
        )
        for gate, first in versions.KARPENTER_FEATURE_GATES.items()
    },
)
