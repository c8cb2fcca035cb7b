"""Check registered resource inputs against the pinned providers' schemas (preflight/data/provider-schemas/).

The engine hands a provider exactly the inputs the harness records, so a property name the provider does
not know, a value of the wrong type, a missing required input or a value outside an enum is caught here
offline instead of at `pulumi preview` (or, for component providers, deep inside the plugin).

What is checked, per registration (`preflight.model.harness.Registration`):

* the resource type has a schema (component resources use their component schema; `pulumi:providers:X`
  uses provider X's `provider.inputProperties`);
* every input is a declared input property, at the top level and inside object types (`$ref` to
  `#/types/...`, also across providers, e.g. eks -> aws);
* every `requiredInputs` / `required` property is present;
* values have the declared type: string, integer, number, boolean, array (items), map
  (`additionalProperties`), object type, enum type (value among the allowed ones), `oneOf` unions,
  `const`, `pulumi.json#/Any|Json` (anything), `pulumi.json#/Asset|Archive`, and resource references.

Engine and SDK quirks the check allows for, each because that is what really reaches the provider:

* Numbers travel as doubles; the harness turns integral ones back into ints, so `integer` accepts an
  int and rejects any non-integral number.
* A resource passed as an input arrives as its URN (harness) and must name the referenced type.
* Secrets are already unwrapped (`plain_inputs()`); an unknown output arrives as None or not at all,
  so None is accepted wherever a value is, but a missing required input is still reported.
* Provider resources: the SDK JSON-encodes every non-string provider input (`pulumi.runtime.to_json`),
  so there a string holding JSON is decoded before its type is checked.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from pulumi.runtime import rpc

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "data" / "provider-schemas"
PROVIDERS = ("aws", "kubernetes", "eks", "awsx")

# Registrations that have no provider schema by design, with the reason (prefix of the type token).
SKIPPED_TYPES: dict[str, str] = {
    "gpu-eks:": "the program's own ComponentResource: its inputs never reach a provider",
    "kubernetes:karpenter.sh/": "Karpenter custom resource (kubernetes.apiextensions.CustomResource): no provider "
    "schema; validated against the upstream CRDs by preflight/validate/crd.py",
    "kubernetes:karpenter.k8s.aws/": "Karpenter custom resource (kubernetes.apiextensions.CustomResource): no "
    "provider schema; validated against the upstream CRDs by "
    "preflight/validate/crd.py",
    "kubernetes:autoscaling.x-k8s.io/": "CapacityBuffer (kubernetes.apiextensions.CustomResource, CRD from the "
    "karpenter-crd chart): no provider schema; validated against the upstream CRD by preflight/validate/crd.py",
}

_ASSET_SIGS = {rpc._special_asset_sig, rpc._special_archive_sig}


def skip_reason(type_token: str) -> str | None:
    """Why a registration of this type is not checked against a provider schema (None: it must be)."""
    return next((reason for prefix, reason in SKIPPED_TYPES.items() if type_token.startswith(prefix)), None)


@dataclass(frozen=True)
class ProviderSchema:
    """One provider's trimmed schema and where it came from (the `source` block the build script writes)."""

    name: str
    version: str
    document: dict[str, Any]

    @property
    def source(self) -> dict[str, Any]:
        return self.document.get("source", {})

    def describe(self) -> str:
        """One line naming the schema's origin, for failure messages."""
        source = self.source
        return (
            f"{self.name} {self.version} schema ({source.get('repository', '?')} tag {source.get('tag', '?')}, "
            f"commit {source.get('commit') or 'not verifiable here'}; {source.get('obtained', '?')})"
        )


class SchemaSet:
    """The pinned providers' schemas; `problems(registration)` lists every way its inputs break them."""

    def __init__(self, schemas: dict[str, ProviderSchema]):
        self.schemas = schemas

    @classmethod
    def load(cls, directory: Path = SCHEMA_DIR) -> SchemaSet:
        schemas = {}
        for name in PROVIDERS:
            document = json.loads(gzip.decompress((directory / f"{name}.json.gz").read_bytes()))
            schemas[name] = ProviderSchema(name=name, version=document["version"], document=document)
        return cls(schemas)

    def skip_reason_of(self, registration: Any) -> str | None:
        """Why this registration is not checked (None: it must be): `skip_reason` of its type, or a component
        that a remote component's plugin registers inside it (e.g. pulumi-eks' ServiceRole and VpcCniAddon).

        Such a component is local to the plugin's own (TypeScript) program: the Node SDK registers a local
        ComponentResource with no inputs and no provider ever receives them, so there is nothing to check;
        the resources it creates underneath are custom resources and are checked.
        """
        by_type = skip_reason(registration.type)
        if by_type or registration.custom or not registration.parent_urn:
            return by_type
        parent_type = registration.parent_urn.split("::")[2].rsplit("$", 1)[-1]
        parent = self.resource_spec(parent_type)
        if parent and parent.get("isComponent"):
            return (
                f"a component the {self.provider_of(parent_type)} plugin registers inside its {parent_type}: "
                "local to the plugin's program, registered without inputs, never sent to a provider"
            )
        return None

    # -- lookups ----------------------------------------------------------------------------------------

    def provider_of(self, type_token: str) -> str:
        if type_token.startswith("pulumi:providers:"):
            return type_token.split(":")[2]
        return type_token.split(":")[0]

    def resource_spec(self, type_token: str) -> dict[str, Any] | None:
        """inputProperties/requiredInputs of a resource type, or None if no pinned schema declares it."""
        schema = self.schemas.get(self.provider_of(type_token))
        if schema is None:
            return None
        if type_token.startswith("pulumi:providers:"):
            return schema.document.get("provider") or None
        return schema.document["resources"].get(type_token)

    def _resolve(self, provider: str, ref: str) -> tuple[str, str, str]:
        """`$ref` -> (provider, "types"|"resources"|"provider", token), external refs included."""
        location, _, fragment = ref.partition("#")
        if location:  # "/aws/v7.51.1/schema.json"
            provider = location.strip("/").split("/")[0]
        kind, _, token = fragment.strip("/").partition("/")
        return provider, kind, unquote(token)

    # -- the check --------------------------------------------------------------------------------------

    def problems(self, registration: Any) -> list[str]:
        """Every schema violation of one registration, each naming type, name and property path."""
        return self.check_inputs(registration.type, registration.name, registration.plain_inputs())

    def check_inputs(self, type_token: str, name: str, inputs: dict[str, Any]) -> list[str]:
        provider = self.provider_of(type_token)
        spec = self.resource_spec(type_token)
        where = f"{type_token} {name!r}"
        if spec is None:
            known = self.schemas.get(provider)
            origin = known.describe() if known else f"no pinned schema for provider {provider!r}"
            return [f"{where}: type not declared by {origin}"]
        found: list[str] = []
        is_provider = type_token.startswith("pulumi:providers:")
        self._check_object(
            provider,
            spec.get("inputProperties", {}),
            spec.get("requiredInputs", []),
            inputs,
            where,
            "",
            found,
            json_encoded=is_provider,
        )
        origin = self.schemas[provider].describe()
        return [f"{problem} [{origin}]" for problem in found]

    def _check_object(
        self,
        provider: str,
        properties: dict[str, Any],
        required: list[str],
        value: dict[str, Any],
        where: str,
        path: str,
        found: list[str],
        json_encoded: bool = False,
    ) -> None:
        for key in sorted(required):
            if value.get(key) is None:
                found.append(f"{where}: {path}{key}: required input missing")
        for key in sorted(value):
            spec = properties.get(key)
            if spec is None:
                found.append(f"{where}: {path}{key}: unknown property (known: {', '.join(sorted(properties))})")
                continue
            item = value[key]
            if json_encoded and isinstance(item, str) and spec.get("type") != "string":
                try:
                    item = json.loads(item)
                except ValueError:
                    found.append(f"{where}: {path}{key}: provider input is not JSON-encoded {spec.get('type')}")
                    continue
            self._check_value(provider, spec, item, where, f"{path}{key}", found)

    def _check_value(
        self, provider: str, spec: dict[str, Any], value: Any, where: str, path: str, found: list[str]
    ) -> None:
        if value is None:
            return  # an unknown output: nothing to check until it resolves
        if "$ref" in spec:
            self._check_ref(provider, spec["$ref"], value, where, path, found)
            return
        if "oneOf" in spec:
            attempts = []
            for option in spec["oneOf"]:
                attempt: list[str] = []
                self._check_value(provider, option, value, where, path, attempt)
                if not attempt:
                    return
                attempts.append(attempt)
            found.append(
                f"{where}: {path}: {value!r} matches none of {[o.get('$ref', o.get('type')) for o in spec['oneOf']]}"
            )
            return
        kind = spec.get("type")
        if kind == "string":
            if not isinstance(value, str):
                found.append(f"{where}: {path}: expected string, got {type(value).__name__} {value!r}")
            elif "const" in spec and value != spec["const"]:
                found.append(f"{where}: {path}: must be {spec['const']!r}, got {value!r}")
            elif "enum" in spec and value not in [e["value"] for e in spec["enum"]]:
                found.append(f"{where}: {path}: {value!r} not one of {[e['value'] for e in spec['enum']]}")
        elif kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                found.append(f"{where}: {path}: expected integer, got {type(value).__name__} {value!r}")
        elif kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                found.append(f"{where}: {path}: expected number, got {type(value).__name__} {value!r}")
        elif kind == "boolean":
            if not isinstance(value, bool):
                found.append(f"{where}: {path}: expected boolean, got {type(value).__name__} {value!r}")
        elif kind == "array":
            if not isinstance(value, list):
                found.append(f"{where}: {path}: expected array, got {type(value).__name__} {value!r}")
                return
            for index, item in enumerate(value):
                self._check_value(provider, spec.get("items", {}), item, where, f"{path}[{index}]", found)
        elif kind == "object":
            if not isinstance(value, dict):
                found.append(f"{where}: {path}: expected object, got {type(value).__name__} {value!r}")
                return
            if "properties" in spec:
                self._check_object(
                    provider, spec["properties"], spec.get("required", []), value, where, f"{path}.", found
                )
                return
            for key, item in value.items():
                self._check_value(
                    provider,
                    spec.get("additionalProperties", {"$ref": "pulumi.json#/Any"}),
                    item,
                    where,
                    f"{path}[{key!r}]",
                    found,
                )
        elif kind is not None:
            found.append(f"{where}: {path}: schema type {kind!r} not understood by the check")

    def _check_ref(self, provider: str, ref: str, value: Any, where: str, path: str, found: list[str]) -> None:
        if ref in ("pulumi.json#/Any", "pulumi.json#/Json"):
            return
        if ref in ("pulumi.json#/Asset", "pulumi.json#/Archive"):
            if not (isinstance(value, dict) and value.get(rpc._special_sig_key) in _ASSET_SIGS):
                found.append(f"{where}: {path}: expected an asset or archive, got {value!r}")
            return
        target, kind, token = self._resolve(provider, ref)
        if kind in ("resources", "provider"):
            expected = f"pulumi:providers:{target}" if kind == "provider" else token
            urn_type = (
                value.split("::")[2].rsplit("$", 1)[-1] if isinstance(value, str) and value.count("::") >= 3 else None
            )
            if urn_type != expected:
                found.append(f"{where}: {path}: expected a reference to a {expected}, got {value!r}")
            return
        schema = self.schemas.get(target)
        type_spec = schema.document["types"].get(token) if schema else None
        if type_spec is None:
            found.append(f"{where}: {path}: schema $ref {ref} does not resolve in the pinned schemas")
            return
        if "enum" in type_spec:
            self._check_value(target, {"type": type_spec.get("type", "string")}, value, where, path, found)
            allowed = [e["value"] for e in type_spec["enum"]]
            if value not in allowed:
                found.append(f"{where}: {path}: {value!r} is not a {token} (allowed: {allowed})")
            return
        if not isinstance(value, dict):
            found.append(f"{where}: {path}: expected a {token} object, got {type(value).__name__} {value!r}")
            return
        self._check_object(
            target, type_spec.get("properties", {}), type_spec.get("required", []), value, where, f"{path}.", found
        )
