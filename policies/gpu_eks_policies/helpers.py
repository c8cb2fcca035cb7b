"""Shared plumbing for the gpu-eks policies: reading props safely, naming resources, reading config.

Why a helper layer: the engine hands policies `props` wrapped in pulumi_policy's unknown-checking
proxy. During `pulumi preview` any value computed from a resource that does not exist yet (a KMS key
ARN, a queue ARN inside a policy document) is *unknown*, and touching it raises UnknownValueError,
which makes the SDK skip the whole policy with an advisory "can't run during preview" note. The
policies here first turn props into plain Python with `plain()`, where unknowns become the `UNKNOWN`
marker, and then decide per check what an unknown means (usually: "set, but the content is checked
by `pulumi up`, where the value is known before the resource is created").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool"
EC2_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
# Custom resources whose CRDs the karpenter-crd release installs: Karpenter's own, and the CapacityBuffer
# (autoscaling.x-k8s.io, in the karpenter-crd chart since 1.14.0) that keeps a GPU pool's warm slices.
KARPENTER_TYPE_PREFIXES = (
    "kubernetes:karpenter.sh/",
    "kubernetes:karpenter.k8s.aws/",
    "kubernetes:autoscaling.x-k8s.io/",
)

_UNKNOWN_SENTINELS = frozenset(
    {
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
    }
)


class _Unknown:
    """A value the engine does not know yet (preview of a value computed from another resource)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown during preview>"

    def __bool__(self) -> bool:
        # Truthiness of an unknown is a bug waiting to happen; make every check say what it means.
        raise TypeError("an unknown value has no truth value; compare with `is UNKNOWN`")


UNKNOWN = _Unknown()


def plain(value: Any) -> Any:
    """Props (proxied or not) as plain dicts/lists/scalars, with unknown values replaced by UNKNOWN."""
    if isinstance(value, str):
        return UNKNOWN if value in _UNKNOWN_SENTINELS else value
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key in value:  # iterating keys never raises; reading a value may
            try:
                result[key] = plain(value[key])
            except UnknownValueError:
                result[key] = UNKNOWN
        return result
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def has_unknown(value: Any) -> bool:
    """True when `value` is UNKNOWN or holds an UNKNOWN anywhere inside (plain data)."""
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknown(v) for v in value)
    return False


def dig(value: Any, *path: str | int, default: Any = None) -> Any:
    """value[path[0]][path[1]]... on plain data; `default` when a step is missing or of the wrong kind.

    An UNKNOWN met on the way is returned as UNKNOWN (the rest of the path cannot be known either).
    """
    current = value
    for step in path:
        if current is UNKNOWN:
            return UNKNOWN
        if isinstance(step, int):
            if not isinstance(current, list) or not -len(current) <= step < len(current):
                return default
            current = current[step]
        else:
            if not isinstance(current, dict) or step not in current:
                return default
            current = current[step]
    return current


def as_list(value: Any) -> list[Any]:
    """IAM-style "string or list" fields as a list (None -> [])."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def truthy_flag(value: Any) -> bool:
    """A boolean input that may arrive as a bool or, through some providers, as "true"/"false"."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


# -- naming ----------------------------------------------------------------------------------------------------


def describe(resource_type: str, name: str, props: Any) -> str:
    """How a violation names a resource: kind and object name for Kubernetes objects, type and name otherwise.

    Kubernetes objects are named the way `kubectl` would show them (NodePool "gpu-a100"), plus the Pulumi
    resource name so the reader can find it in `pulumi preview` output.
    """
    if resource_type.startswith("kubernetes:") and resource_type != HELM_RELEASE:
        kind = resource_type.rsplit(":", 1)[-1]
        object_name = dig(props, "metadata", "name")
        if isinstance(object_name, str) and object_name != name:
            return f'{kind} "{object_name}" (Pulumi resource "{name}")'
        return f'{kind} "{name}"'
    if resource_type == HELM_RELEASE:
        release = dig(props, "name")
        label = release if isinstance(release, str) else name
        return f'Helm release "{label}" (Pulumi resource "{name}")' if label != name else f'Helm release "{name}"'
    short = resource_type.rsplit(":", 1)[-1]
    return f'{short} "{name}" ({resource_type})'


# -- config ----------------------------------------------------------------------------------------------------


def config_value(args: Any, key: str, default: Any) -> Any:
    """A policy config property, falling back to the schema default when the engine sent none.

    The CLI fills schema defaults in itself; the fallback keeps policies correct when they are called
    directly (tests, other tooling) with an empty config.
    """
    config = args.get_config() or {}
    value = config.get(key, default)
    return default if value is None else value


# -- Kubernetes object helpers ---------------------------------------------------------------------------------


def template_labels(nodepool: dict[str, Any]) -> dict[str, Any]:
    """A NodePool's node labels (spec.template.metadata.labels)."""
    labels = dig(nodepool, "spec", "template", "metadata", "labels", default={})
    return labels if isinstance(labels, dict) else {}


def requirements(nodepool: dict[str, Any]) -> list[dict[str, Any]]:
    """A NodePool's scheduling requirements (spec.template.spec.requirements)."""
    found = dig(nodepool, "spec", "template", "spec", "requirements", default=[])
    return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []


def requirement(nodepool: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The first requirement on `key`, or None."""
    return next((r for r in requirements(nodepool) if r.get("key") == key), None)


def chart_name(release_props: dict[str, Any]) -> str:
    """A Helm release's chart without repository prefix.

    "oci://x/karpenter" -> "karpenter", "nvidia/gpu-operator" -> "gpu-operator".
    """
    chart = release_props.get("chart")
    if not isinstance(chart, str):
        return ""
    return chart.rstrip("/").rsplit("/", 1)[-1]


# -- versions --------------------------------------------------------------------------------------------------

# An exact SemVer 2.0 version, optionally "v"-prefixed (the GPU Operator chart publishes "v26.7.0").
EXACT_VERSION = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)


def is_exact_version(version: Any) -> bool:
    """True for "1.14.1", "v26.7.0", "1.2.3-rc.1"; False for "", "latest", "^1.2", "~1.2.3", "1.x", ">=1", "1.2"."""
    return isinstance(version, str) and EXACT_VERSION.match(version.strip()) is not None and version == version.strip()


# -- IAM policy documents --------------------------------------------------------------------------------------


def policy_document(value: Any) -> dict[str, Any] | _Unknown | None:
    """An IAM/SQS policy document from a JSON string or an already-parsed dict; None when absent or unparsable."""
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A policy document's statements (a single statement object is allowed by IAM)."""
    return [s for s in as_list(document.get("Statement")) if isinstance(s, dict)]


# -- messages --------------------------------------------------------------------------------------------------


def join_names(names: Iterable[str]) -> str:
    """["a", "b"] -> '"a", "b"' for messages."""
    return ", ".join(f'"{n}"' for n in names)
