"""A second derivation of the pinned providers' resource inputs, an oracle for preflight/data/provider-schemas/.

tools/regen_provider_schemas.py reads the generated SDK source with `ast`. This imports the same pinned SDK and asks
Python instead: `inspect.signature(<Resource>Args.__init__)` gives each input's parameter, whether it has a default
(none: a required input) and its evaluated annotation; the Args class's property carries the wire name
(`@pulumi.getter(name=...)` stores it as `fget._pulumi_name`). Both sides are reduced to the same coarse shape
(`shape_of_annotation`, `shape_of_schema`), so a generator bug in names, requiredness or types shows as a difference.
"""

from __future__ import annotations

import collections.abc
import enum
import importlib
import inspect
import typing
from typing import Any

# A shape: "string" | "integer" | "number" | "boolean" | "any" | ("array", shape) | ("map", shape)
# | ("const", value) | ("enum", values) | ("ref", name) | ("oneOf", shapes).
Shape = Any

_PRIMITIVES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _is_output_ref(arg: Any) -> bool:
    """`pulumi.Input[T]` is Union[T, Awaitable[T], 'Output[T]']: the last two are not part of the schema type."""
    if isinstance(arg, typing.ForwardRef):
        return arg.__forward_arg__.startswith("Output[")
    return typing.get_origin(arg) is collections.abc.Awaitable


def shape_of_annotation(annotation: Any) -> Shape:
    """The schema shape an evaluated `pulumi.Input[...]` annotation stands for."""
    if typing.get_origin(annotation) is typing.Union:
        options = [a for a in typing.get_args(annotation) if a is not type(None) and not _is_output_ref(a)]
        shapes: list[Shape] = []
        for option in options:
            shape = shape_of_annotation(option)
            if shape not in shapes:
                shapes.append(shape)
        if shapes == [("ref", "Asset"), ("ref", "Archive")]:
            return ("ref", "Asset")  # AssetOrArchive: the schema spells it pulumi.json#/Asset
        return shapes[0] if len(shapes) == 1 else ("oneOf", tuple(shapes))
    if annotation in _PRIMITIVES:
        return _PRIMITIVES[annotation]
    if annotation is Any:
        return "any"
    origin = typing.get_origin(annotation)
    if origin is collections.abc.Sequence:
        return ("array", shape_of_annotation(typing.get_args(annotation)[0]))
    if origin is collections.abc.Mapping:
        return ("map", shape_of_annotation(typing.get_args(annotation)[1]))
    if origin is typing.Literal:
        values = typing.get_args(annotation)
        return ("const", values[0]) if len(values) == 1 else ("enum", tuple(values))
    if isinstance(annotation, typing.ForwardRef):  # 'NodeGroupTaintArgs' or '_meta.v1.ObjectMetaArgs'
        return ("ref", annotation.__forward_arg__.rsplit(".", 1)[-1].removesuffix("Args"))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return ("ref", annotation.__name__)
    if isinstance(annotation, type):
        return ("ref", annotation.__name__.removesuffix("Args"))
    if isinstance(annotation, str):
        return ("ref", annotation.removesuffix("Args"))
    raise TypeError(f"no shape for annotation {annotation!r}")


def shape_of_schema(spec: dict[str, Any]) -> Shape:
    """The same shape for a Pulumi schema type spec."""
    if "oneOf" in spec:
        shapes: list[Shape] = []
        for option in spec["oneOf"]:
            shape = shape_of_schema(option)
            if shape not in shapes:
                shapes.append(shape)
        return shapes[0] if len(shapes) == 1 else ("oneOf", tuple(shapes))
    if "const" in spec:
        return ("const", spec["const"])
    if "enum" in spec:
        return ("enum", tuple(v["value"] for v in spec["enum"]))
    if "$ref" in spec:
        ref = spec["$ref"]
        if ref in ("pulumi.json#/Any", "pulumi.json#/Json"):
            return "any"
        return ("ref", ref.rsplit(":", 1)[-1].rsplit("/", 1)[-1])
    if spec.get("type") == "array":
        return ("array", shape_of_schema(spec["items"]))
    if spec.get("type") == "object" and "additionalProperties" in spec:
        return ("map", shape_of_schema(spec["additionalProperties"]))
    return spec["type"]


def sdk_module(package: str, token: str) -> Any:
    """The SDK module that holds a resource or type: aws:ec2/vpc:Vpc and aws:ec2/LaunchTemplateTagSpecification:... ->
    pulumi_aws.ec2, aws:index/... -> pulumi_aws,
    kubernetes:helm.sh/v3:Release -> pulumi_kubernetes.helm.v3, kubernetes:storage.k8s.io/v1:X -> ....storage.v1."""
    module = token.split(":")[1]
    parts = module.split("/")
    if token.startswith("aws:"):
        parts = parts[:-1]  # aws tokens repeat the resource's own name as the module's last part
    parts = [p.split(".")[0] for p in parts if p != "index"]  # helm.sh -> helm, storage.k8s.io -> storage
    return importlib.import_module(".".join([package, *parts]))


def resource_inputs(package: str, token: str) -> tuple[dict[str, Shape], list[str]]:
    """(wire name -> shape, sorted required wire names) of one resource, from its Args class at run time."""
    module = sdk_module(package, token)
    name = token.rsplit(":", 1)[1]
    resource = getattr(module, name)  # the SDK modules load their classes lazily: look up by name
    if resource.pulumi_type != token:
        raise LookupError(f"{module.__name__}.{name} is {resource.pulumi_type}, not {token}")
    # `<Name>InitArgs` where an input type of the same name takes `<Name>Args` (kubernetes core/v1 Namespace).
    return args_inputs(getattr(module, f"{name}InitArgs", None) or getattr(module, f"{name}Args"))


def type_inputs(package: str, token: str) -> tuple[dict[str, Shape], list[str]]:
    """The same for an object type (aws:ec2/LaunchTemplateMetadataOptions:LaunchTemplateMetadataOptions ->
    pulumi_aws.ec2.LaunchTemplateMetadataOptionsArgs)."""
    module = sdk_module(package, token)
    return args_inputs(getattr(module, f"{token.rsplit(':', 1)[1]}Args"))


def enum_values(package: str, token: str) -> tuple[Any, ...]:
    """The values of an enum type, from its Enum class (pulumi_aws.ec2.InstanceType ...)."""
    module = sdk_module(package, token)
    return tuple(member.value for member in getattr(module, token.rsplit(":", 1)[1]))


def provider_inputs(package: str) -> tuple[dict[str, Shape], list[str]]:
    """The provider's configuration inputs (pulumi_aws.ProviderArgs ...)."""
    return args_inputs(importlib.import_module(package).ProviderArgs)


def args_inputs(args_class: type) -> tuple[dict[str, Shape], list[str]]:
    """(wire name -> shape, sorted required wire names) of an Args class: its constructor's parameters."""
    properties: dict[str, Shape] = {}
    required: list[str] = []
    for name, parameter in list(inspect.signature(vars(args_class)["__init__"]).parameters.items())[1:]:
        prop = inspect.getattr_static(args_class, name, None)
        wire = getattr(getattr(prop, "fget", None), "_pulumi_name", name)
        properties[wire] = shape_of_annotation(parameter.annotation)
        if parameter.default is inspect.Parameter.empty:
            required.append(wire)
    return properties, sorted(required)


def differences(document: dict[str, Any], package: str) -> tuple[int, list[str]]:
    """(how many resources, types and enums were compared, every difference) between a trimmed schema document
    (preflight/data/provider-schemas/<name>.json.gz) and this derivation from the imported SDK `package`."""
    found: list[str] = []

    def compare(what: str, sdk: tuple[dict[str, Shape], list[str]], spec: dict[str, Any], props: str, req: str) -> None:
        properties, required = sdk
        schema = {name: shape_of_schema(value) for name, value in spec.get(props, {}).items()}
        if set(properties) != set(schema):
            found.append(
                f"{what}: inputs only in the SDK {sorted(set(properties) - set(schema))}, "
                f"only in the schema {sorted(set(schema) - set(properties))}"
            )
        if required != sorted(spec.get(req, [])):
            found.append(f"{what}: required {sorted(spec.get(req, []))}, the SDK requires {required}")
        for name in sorted(set(properties) & set(schema)):
            if properties[name] != schema[name]:
                found.append(f"{what}.{name}: {schema[name]!r}, the SDK says {properties[name]!r}")

    if "provider" in document:
        provider = document["provider"]
        compare(f"{package} provider", provider_inputs(package), provider, "inputProperties", "requiredInputs")
    for token, spec in document.get("resources", {}).items():
        compare(token, resource_inputs(package, token), spec, "inputProperties", "requiredInputs")
    for token, spec in document.get("types", {}).items():
        if "enum" in spec:
            values = tuple(v["value"] for v in spec["enum"])
            if values != enum_values(package, token):
                found.append(f"{token}: enum {values}, the SDK says {enum_values(package, token)}")
        else:
            compare(token, type_inputs(package, token), spec, "properties", "required")
    compared = ("provider" in document) + len(document.get("resources", {})) + len(document.get("types", {}))
    return compared, found
