"""What every model shares: the monitor protocol, the request and child views, Unknown, and JS-like helpers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

# Invoke tokens the components call themselves (recorded apart from the program's own invokes).
GET_PARTITION = "aws:index/getPartition:getPartition"
GET_REGION = "aws:index/getRegion:getRegion"
GET_AVAILABILITY_ZONES = "aws:index/getAvailabilityZones:getAvailabilityZones"
GET_ADDON_VERSION = "aws:eks/getAddonVersion:getAddonVersion"


class UnmodelledPath(Exception):
    """The component's inputs take a path of its source this module does not model; fail instead of guessing."""


class Unknown:
    """A value the engine does not know during a preview (an ID, an ARN, anything computed from one)."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "[unknown]"

    __str__ = __repr__


UNKNOWN = Unknown()


def is_unknown(value: Any) -> bool:
    """True when `value` is UNKNOWN or holds one anywhere inside."""
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(is_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(is_unknown(v) for v in value)
    return False


# -- the monitor side -----------------------------------------------------------------------------------------------


@dataclass
class Child:
    """A registered child as the model sees it: URN, ID and outputs (UNKNOWN where the preview does not know)."""

    urn: str
    id: Any
    outputs: dict[str, Any]

    def get(self, *path: str | int) -> Any:
        value: Any = self.outputs
        for step in path:
            if value is UNKNOWN:
                return UNKNOWN
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError):
                return None
        return value


class Registrar(Protocol):
    """What a model needs from the mock monitor (implemented by preflight.model.harness.RecordingMonitor)."""

    preview: bool
    region: str

    def register(
        self,
        type_token: str,
        name: str,
        inputs: dict[str, Any],
        *,
        parent: str,
        dependencies: Sequence[str] = (),
        custom: bool = True,
        provider: str | None = None,
    ) -> Child: ...

    def invoke(self, component_urn: str, token: str, args: dict[str, Any]) -> dict[str, Any]: ...

    def lookup(self, urn: str) -> Child: ...


@dataclass
class ComponentRequest:
    """The registration the program sent for a remote component."""

    urn: str
    type: str
    name: str
    inputs: dict[str, Any]  # plain (secrets unwrapped), UNKNOWN where the preview does not know
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    def deps(self, *props: str) -> list[str]:
        """URNs the given input properties carry (what the plugin's Outputs would depend on)."""
        return sorted({urn for prop in props for urn in self.property_dependencies.get(prop, [])})


@dataclass
class ClusterCore:
    """What an eks.Cluster hands its node groups (the `core` output in the source), kept for ManagedNodeGroup."""

    eks_cluster: Child
    version: Any
    authentication_mode: str | None
    instance_role_arns: list[Any]
    subnet_ids: Any
    private_subnet_ids: Any
    public_subnet_ids: Any
    eks_node_access: str | None  # aws-auth ConfigMap URN (never in API mode)


def drop_none(value: dict[str, Any]) -> dict[str, Any]:
    """TypeScript `undefined` properties are not sent; drop them the same way."""
    return {k: v for k, v in value.items() if v is not None}


def js_json(value: Any, sort_keys: bool = False) -> str:
    """JSON.stringify output (no spaces); `sort_keys` mirrors pulumi-eks's stringifyReplacer."""
    return json.dumps(value, separators=(",", ":"), sort_keys=sort_keys)


def stand_in_hex(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]
