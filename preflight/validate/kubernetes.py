"""Validate rendered Kubernetes objects offline: built-in kinds against Kubernetes' OpenAPI schema of the
stack's version, custom resources against the CRDs we hold, and nothing else unless it is listed.

Built-in kinds: the JSON schemas shipped by PyPI `kubernetes-validate` (generated from Kubernetes' OpenAPI
spec, one set per minor version, 1.25 to 1.37 in 1.37.0), in their *strict* form (`additionalProperties:
false` everywhere, so an unknown or misspelt field fails, as `kubectl apply --validate=strict` would).
`BuiltinSchemas` uses the same files, the same Draft 2020-12 validator and the same reference registry as
`kubernetes_validate.validate(obj, version, strict=True)`; it differs in three deliberate ways:
the registry and validators are built once per version (that call re-reads the 1.5 MB definitions file
per object), every error is returned rather than the first, and a version the package does not ship is an
error rather than a silent fall-back to an older schema. A schema file is used only when its
`x-kubernetes-group-version-kind` names the object's exact group, version and kind (the package's file
naming keeps only the first label of the group, so `apps.example.com/v1 Deployment` would otherwise be
checked as `apps/v1`).

Custom resources: `CrdCatalogue` indexes CustomResourceDefinitions by served apiVersion and kind, from
every chart source's crds/ (parents and subcharts, .tgz included, read with Helm's loader), the Karpenter
CRDs in upstream/karpenter, and whatever CRDs a stack renders itself; an object is validated with
preflight/validate/crd.py `CrdValidator` (structural schema, defaults, CEL), built lazily per CRD.

Anything else must be in `UNVALIDATED_KINDS` with the reason, so a new kind cannot slip through unchecked.
Not covered: the API server's semantic validation beyond the schema (name formats of nested fields,
immutable fields, admission); see README "Testing".
"""

from __future__ import annotations

import functools
import json
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from preflight import yaml_cache
from preflight.helm.render import TEMPLATE_ANNOTATION

# (apiVersion, kind) -> why objects of this kind are accepted without a schema check. Empty today: every
# kind the stacks render is either built in or has its CRD in the upstream sources. A kind belongs here only
# when its CRD is genuinely unavailable to us (say a ServiceMonitor, if the Prometheus Operator CRDs were not
# held; with serviceMonitor disabled it must not be rendered at all).
UNVALIDATED_KINDS: dict[tuple[str, str], str] = {}


class UnsupportedKubernetesVersion(Exception):
    """kubernetes-validate ships no schema set for the requested Kubernetes minor version."""


def _schema_root():
    from importlib.resources import files

    return files("kubernetes_validate").joinpath("kubernetes-json-schema")


def shipped_kubernetes_versions() -> list[str]:
    """Kubernetes minor versions with a strict schema set in the installed kubernetes-validate, ascending."""
    found = {
        m.group(1)
        for entry in _schema_root().iterdir()
        if (m := re.fullmatch(r"v(\d+\.\d+)\.0-local-strict", entry.name))
    }
    return sorted(found, key=lambda v: tuple(int(p) for p in v.split(".")))


def minor_version(kube_version: str) -> str:
    """ "1.34", "v1.34.0", "1.34.2" -> "1.34"."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", kube_version.strip())
    if not match:
        raise ValueError(f"not a Kubernetes version: {kube_version!r}")
    return f"{match.group(1)}.{match.group(2)}"


def split_api_version(api_version: str) -> tuple[str, str]:
    """ "apps/v1" -> ("apps", "v1"); "v1" -> ("", "v1")."""
    group, _, version = api_version.rpartition("/")
    return group, version


def object_label(obj: dict[str, Any]) -> str:
    """`Kind namespace/name (template)` for messages."""
    metadata = obj.get("metadata") or {}
    where = (metadata.get("annotations") or {}).get(TEMPLATE_ANNOTATION)
    name = f"{metadata['namespace']}/{metadata.get('name')}" if metadata.get("namespace") else metadata.get("name")
    return f"{obj.get('apiVersion')} {obj.get('kind')} {name}" + (f" ({where})" if where else "")


def _error_path(error) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<root>"


class BuiltinSchemas:
    """Kubernetes' own strict OpenAPI schemas for one minor version (module docstring)."""

    def __init__(self, kube_version: str):
        from referencing import Registry, Resource

        self.version = minor_version(kube_version)
        shipped = shipped_kubernetes_versions()
        if self.version not in shipped:
            import kubernetes_validate

            raise UnsupportedKubernetesVersion(
                f"kubernetes-validate {kubernetes_validate.__version__} ships schemas for Kubernetes "
                f"{shipped[0]}..{shipped[-1]}, not {self.version}: pin a kubernetes-validate release that has it"
            )
        self._folder = _schema_root().joinpath(f"v{self.version}.0-local-strict")
        definitions = json.loads(self._folder.joinpath("_definitions.json").read_text())
        self._registry = Resource.from_contents(definitions) @ Registry()
        self._validators: dict[tuple[str, str], Any] = {}

    def _schema(self, api_version: str, kind: str) -> dict[str, Any] | None:
        group, version = split_api_version(api_version)
        short = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)  # kubernetes-validate's file naming
        path = self._folder.joinpath(f"{kind.lower()}-{short}.json")
        if not path.is_file():
            return None
        schema = json.loads(path.read_text())
        gvk = {"group": group, "version": version, "kind": kind}
        return schema if gvk in schema.get("x-kubernetes-group-version-kind", []) else None

    def _validator(self, api_version: str, kind: str):
        key = (api_version, kind)
        if key not in self._validators:
            import jsonschema

            schema = self._schema(api_version, kind)
            self._validators[key] = (
                None if schema is None else jsonschema.Draft202012Validator(schema, registry=self._registry)
            )
        return self._validators[key]

    def knows(self, api_version: str, kind: str) -> bool:
        """Whether `api_version`/`kind` is a built-in kind of this Kubernetes version."""
        return self._validator(api_version, kind) is not None

    def validate(self, obj: dict[str, Any]) -> list[str]:
        """Every schema violation of a built-in object as `path: message` (empty when valid)."""
        validator = self._validator(obj.get("apiVersion", ""), obj.get("kind", ""))
        if validator is None:
            raise KeyError(
                f"{obj.get('apiVersion')} {obj.get('kind')} is not a built-in kind of Kubernetes {self.version}"
            )
        errors = sorted(validator.iter_errors(obj), key=lambda e: (list(map(str, e.absolute_path)), e.message))
        return [f"{_error_path(e)}: {_short(e)}" for e in errors]


def _short(error) -> str:
    """A readable message: for oneOf/anyOf failures, the branch error that got furthest."""
    if error.context:
        from jsonschema.exceptions import best_match

        inner = best_match(error.context)
        return (
            f"{inner.message} (at {_error_path(inner)})"
            if inner.absolute_path != error.absolute_path
            else inner.message
        )
    return error.message


@functools.cache
def builtin_schemas(kube_version: str) -> BuiltinSchemas:
    """One cached `BuiltinSchemas` per Kubernetes minor version."""
    return BuiltinSchemas(minor_version(kube_version))


# -- custom resources ----------------------------------------------------------------------------------------


# The C loader when PyYAML was built with libyaml; mypy cannot follow a base class chosen at import time.
class _CrdLoader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """YAML 1.1's `=` value tag (a bare `- =` in the Prometheus Operator CRDs) read as the string "="."""


_CrdLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def crd_documents(text: str) -> list[dict[str, Any]]:
    """The CustomResourceDefinitions in a YAML text (other documents skipped)."""
    return [
        d
        for d in yaml_cache.load_all(text, _CrdLoader)
        if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"
    ]


def served_kinds(crd: dict[str, Any]) -> list[tuple[str, str]]:
    """(apiVersion, kind) of every served version of a CRD."""
    spec = crd["spec"]
    return [(f"{spec['group']}/{v['name']}", spec["names"]["kind"]) for v in spec["versions"] if v.get("served")]


@functools.cache
def _crd_validator(crd_json: str):
    """A CrdValidator for one CRD (CrdValidator loads CRDs from a folder, so the CRD goes through one)."""
    from preflight.validate.crd import CrdValidator

    with tempfile.TemporaryDirectory(prefix="gpu-eks-crd-") as folder:
        (Path(folder) / "crd.yaml").write_text(crd_json)  # JSON is YAML
        return CrdValidator.from_directory(Path(folder))


@dataclass
class CrdCatalogue:
    """CRDs by served (apiVersion, kind), each with where it came from."""

    crds: dict[tuple[str, str], tuple[dict[str, Any], str]] = field(default_factory=dict)

    def add(self, crd: dict[str, Any], source: str) -> None:
        for key in served_kinds(crd):
            self.crds.setdefault(key, (crd, source))

    def extended(self, crds: Iterable[tuple[dict[str, Any], str]]) -> CrdCatalogue:
        """A copy with more CRDs (those a stack renders itself); the held ones win on a clash."""
        copy = CrdCatalogue(dict(self.crds))
        for crd, source in crds:
            copy.add(crd, source)
        return copy

    def knows(self, api_version: str, kind: str) -> bool:
        return (api_version, kind) in self.crds

    def source(self, api_version: str, kind: str) -> str:
        return self.crds[(api_version, kind)][1]

    def validate(self, obj: dict[str, Any]) -> list[str]:
        """Every violation of a custom resource against its CRD (schema, defaults, CEL)."""
        key: Any = (obj.get("apiVersion"), obj.get("kind"))
        crd, _ = self.crds[key]
        clean = json.loads(json.dumps(obj))
        # ObjectMeta is the API server's, not the CRD's; CrdValidator checks metadata.name only.
        return _crd_validator(json.dumps(crd, sort_keys=True)).validate(clean)


@functools.cache
def held_crds(upstream: Path) -> CrdCatalogue:
    """Every CRD in the upstream sources: crds/ of each chart under charts/ (subcharts included) and the
    Karpenter CRDs in karpenter/."""
    import helm_python as helm

    catalogue = CrdCatalogue()
    for path in sorted((upstream / "karpenter").glob("*.yaml")):
        for crd in crd_documents(path.read_text()):
            catalogue.add(crd, f"karpenter/{path.name}")
    for chart in sorted(p for p in (upstream / "charts").iterdir() if (p / "Chart.yaml").is_file()):
        with helm.Chart.load(str(chart)) as loaded:
            for entry in loaded.crds:
                for crd in crd_documents(entry["data"]):
                    catalogue.add(crd, f"charts/{entry['filename']}")
    return catalogue


# -- one call for a set of objects ---------------------------------------------------------------------------


@dataclass
class ObjectReport:
    """What `validate_objects` found: counts per class and every problem, each naming its object."""

    builtin: int = 0
    custom: int = 0
    unvalidated: int = 0
    problems: list[str] = field(default_factory=list)


def validate_objects(
    objects: Iterable[dict[str, Any]],
    kube_version: str,
    crds: CrdCatalogue,
    unvalidated: dict[tuple[str, str], str] | None = None,
) -> ObjectReport:
    """Validate each object as built-in, as a custom resource, or accept it by the allow-list; else a problem."""
    schemas = builtin_schemas(kube_version)
    allowed = UNVALIDATED_KINDS if unvalidated is None else unvalidated
    report = ObjectReport()
    for obj in objects:
        api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        if schemas.knows(api_version, kind):
            report.builtin += 1
            errors = schemas.validate(obj)
            what = f"Kubernetes {schemas.version} schema"
        elif crds.knows(api_version, kind):
            report.custom += 1
            errors = crds.validate(obj)
            what = f"CRD {crds.source(api_version, kind)}"
        elif (api_version, kind) in allowed:
            report.unvalidated += 1
            continue
        else:
            report.problems.append(
                f"{object_label(obj)}: neither a built-in kind of Kubernetes {schemas.version} "
                "nor served by a CRD we hold; add its CRD source or list it in "
                "preflight/validate/kubernetes.py UNVALIDATED_KINDS with the reason"
            )
            continue
        report.problems += [f"{object_label(obj)} violates the {what}: {e}" for e in errors]
    return report
