"""Run the gpu-eks policy pack over offline StackRuns the way the Pulumi engine would, without the CLI.

Two levels, both over the registrations `preflight.model.harness` recorded from the real program:

* per policy: `resource_violations(policy, run, registration)` and `stack_violations(policy, registrations)`
  build the SDK's own `ResourceValidationArgs` / `StackValidationArgs` (props wrapped in the SDK's
  unknown-checking proxy, dependencies and parents as `PolicyResource` objects) and call
  `policy.validate(...)`; they return the violation messages;
* the whole pack: `analyze(registrations, user_config)` drives pulumi_policy's analyzer servicer through its
  gRPC message types exactly as the CLI does: `GetAnalyzerInfo`, `Configure` with the config the CLI would
  compute (`effective_config`, a copy of the CLI's ReconcilePolicyPackConfig), `Analyze` per resource and
  `AnalyzeStack` once. Enforcement levels therefore come from the SDK, not from this file.

What differs from a real engine, and why it does not matter here:
* Stack policies see each resource's inputs plus any mocked outputs the inputs lack (the engine sends
  outputs, which for these providers echo the inputs); `propertyDependencies` are not recorded by the
  harness, so only `dependencies` are filled in.
* The children of remote components (the `aws:eks/cluster:Cluster`, launch templates, node groups, subnets
  ... that pulumi-eks and awsx register) are in every StackRun (preflight/model/children/), so the pack
  sees them as the engine would.
* `_PolicyAnalyzerServicer` is private to pulumi_policy (pinned to 1.21.0 in policies/requirements.txt).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import jsonschema
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2 as proto
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import unknown_checking_proxy

from preflight.model.harness import REPO_ROOT, Registration, StackRun, plain_value

PACK_DIR = REPO_ROOT / "policies"
# The pack is imported the way the CLI runs it: from its own directory (see policies/__main__.py).
if str(PACK_DIR) not in sys.path:
    sys.path.insert(0, str(PACK_DIR))

import gpu_eks_policies  # noqa: E402

ALL_POLICIES: list[Policy] = gpu_eks_policies.ALL_POLICIES
POLICIES = gpu_eks_policies.POLICIES_BY_NAME

_LEVEL_TO_PROTO = {
    EnforcementLevel.ADVISORY: proto.ADVISORY,
    EnforcementLevel.MANDATORY: proto.MANDATORY,
    EnforcementLevel.REMEDIATE: proto.REMEDIATE,
    EnforcementLevel.DISABLED: proto.DISABLED,
}
_PROTO_TO_LEVEL = {v: k for k, v in _LEVEL_TO_PROTO.items()}


@dataclass(frozen=True)
class Violation:
    """One diagnostic the pack reported."""

    policy: str
    level: EnforcementLevel
    message: str
    urn: str


# -- editing real registrations ------------------------------------------------------------------------------------


def edited(
    registration: Registration, edit: Callable[[dict[str, Any]], Any] | None = None, **fields: Any
) -> Registration:
    """A deep copy of a real registration with its (plain) inputs changed by `edit` and/or fields replaced.

    `edit` gets the inputs dict to change in place. Example: drop a NodePool's taints::

        edited(pool, lambda i: i["spec"]["template"]["spec"].pop("taints"))
    """
    inputs = copy.deepcopy(registration.plain_inputs())
    if edit is not None:
        edit(inputs)
    # Outputs that echo an input would shadow the edit in `stack_props`; keep only the computed ones.
    computed = {k: v for k, v in registration.outputs.items() if k not in registration.inputs}
    return dataclasses.replace(registration, inputs=inputs, outputs=copy.deepcopy(computed), **fields)


def replaced(registrations: Iterable[Registration], *changed: Registration) -> list[Registration]:
    """`registrations` with each entry whose URN matches one of `changed` swapped for it."""
    by_urn = {c.urn: c for c in changed}
    return [by_urn.get(r.urn, r) for r in registrations]


# -- building the SDK's argument objects -----------------------------------------------------------------------------


def _options(registration: Registration) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=registration.parent_urn,
    )


def _provider(registrations: Iterable[Registration], registration: Registration) -> PolicyProviderResource | None:
    if registration.provider_urn is None:
        return None
    provider = next((r for r in registrations if r.urn == registration.provider_urn), None)
    if provider is None:
        return None
    return PolicyProviderResource(
        provider.type, unknown_checking_proxy(provider.plain_inputs()), provider.urn, provider.name
    )


def resource_args(
    run: StackRun | list[Registration],
    registration: Registration,
    config: Mapping[str, Any] | None = None,
    props: Any = None,
) -> ResourceValidationArgs:
    """What the engine passes a resource policy: inputs (behind the SDK's unknown-checking proxy) and config."""
    registrations = run.resources if isinstance(run, StackRun) else run
    raw = copy.deepcopy(registration.plain_inputs() if props is None else props)
    return ResourceValidationArgs(
        registration.type,
        unknown_checking_proxy(raw),
        registration.urn,
        registration.name,
        _options(registration),
        _provider(registrations, registration),
        dict(config or {}),
    )


def stack_props(registration: Registration) -> dict[str, Any]:
    """Props a stack policy sees: the inputs, plus mocked outputs (url, arn, ...) the inputs lack.

    Unknown outputs (a preview run) arrive as the engine's unknown sentinel, as they would from the CLI.
    """
    return {**plain_value(copy.deepcopy(registration.outputs)), **registration.plain_inputs()}


def stack_args(registrations: Iterable[Registration], config: Mapping[str, Any] | None = None) -> StackValidationArgs:
    """What the engine passes a stack policy: every resource, with parents and dependencies as objects."""
    registrations = list(registrations)
    resources = {
        r.urn: PolicyResource(
            r.type,
            unknown_checking_proxy(stack_props(r)),
            r.urn,
            r.name,
            _options(r),
            _provider(registrations, r),
            None,
            [],
            {},
        )
        for r in registrations
    }
    for r in registrations:
        resource = resources[r.urn]
        resource.parent = resources.get(r.parent_urn) if r.parent_urn else None
        resource.dependencies = [resources[u] for u in r.dependencies if u in resources]
    return StackValidationArgs(list(resources.values()), dict(config or {}))


def resource_violations(
    policy: Policy,
    run: StackRun | list[Registration],
    registration: Registration,
    config: Mapping[str, Any] | None = None,
    props: Any = None,
) -> list[str]:
    """Messages one resource policy reports for one registration."""
    messages: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        messages.append(message)

    cast(ResourceValidationPolicy, policy).validate(resource_args(run, registration, config, props), report)
    return messages


def stack_violations(
    policy: Policy, registrations: Iterable[Registration], config: Mapping[str, Any] | None = None
) -> list[tuple[str, str | None]]:
    """(message, urn) pairs one stack policy reports for a set of registrations."""
    found: list[tuple[str, str | None]] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append((message, urn))

    cast(StackValidationPolicy, policy).validate(stack_args(registrations, config), report)
    return found


def only_messages(found: list[tuple[str, str | None]]) -> list[str]:
    """The messages of stack_violations(...)."""
    return [message for message, _ in found]


# -- the CLI's config handling ----------------------------------------------------------------------------------------


def policy_infos() -> list[proto.PolicyInfo]:
    """What the pack tells the CLI about its policies (names, default levels, config schemas)."""
    return list(_servicer().GetAnalyzerInfo(None, None).policies)


def effective_config(user_config: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The per-policy config the CLI sends the pack: schema defaults and default levels, then the user's file.

    Mirrors pulumi's ReconcilePolicyPackConfig (pkg/resource/plugin/policy.go): defaults from each policy's
    schema and enforcement level; an "all" enforcement level applied to every policy; each user entry (a
    level string, or an object with optional "enforcementLevel" and properties) on top; then every policy's
    properties are validated against its schema (jsonschema here, gojsonschema in the CLI). Raises
    jsonschema.ValidationError or ValueError where the CLI would refuse the config.
    """
    user_config = dict(user_config or {})
    result: dict[str, dict[str, Any]] = {}
    schemas: dict[str, dict[str, Any]] = {}
    for info in policy_infos():
        level = _PROTO_TO_LEVEL[info.enforcementLevel].value
        schema = json_format.MessageToDict(info.configSchema)
        properties = schema.get("properties", {})
        schemas[info.name] = {
            "type": "object",
            "properties": properties,
            **({"required": schema["required"]} if schema.get("required") else {}),
        }
        result[info.name] = {
            "enforcementLevel": level,
            **{k: v["default"] for k, v in properties.items() if "default" in v},
        }
    if "all" in user_config:
        for entry in result.values():
            entry["enforcementLevel"] = EnforcementLevel(user_config["all"]).value
    for name, given in user_config.items():
        if name == "all" or name not in result:
            continue
        if isinstance(given, str):
            result[name]["enforcementLevel"] = EnforcementLevel(given).value
        elif isinstance(given, dict):
            given = dict(given)
            if "enforcementLevel" in given:
                result[name]["enforcementLevel"] = EnforcementLevel(given.pop("enforcementLevel")).value
            result[name].update(given)
        else:
            raise ValueError(f"config for {name!r} must be a string or object, got {given!r}")
    for name, entry in result.items():
        properties = {k: v for k, v in entry.items() if k != "enforcementLevel"}
        jsonschema.validate(properties, schemas[name])
    return result


# -- the whole pack through the SDK's analyzer servicer ----------------------------------------------------------------


def _servicer() -> _PolicyAnalyzerServicer:
    return _PolicyAnalyzerServicer(gpu_eks_policies.PACK_NAME, "0.1.0", ALL_POLICIES, EnforcementLevel.ADVISORY)


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(json.loads(json.dumps(value)))  # plain JSON, as the engine serialises it
    return struct


def _proto_resource(registrations: list[Registration], registration: Registration, props: dict[str, Any]):
    provider = _provider(registrations, registration)
    kwargs = dict(
        type=registration.type,
        properties=_struct(props),
        urn=registration.urn,
        name=registration.name,
        options=proto.AnalyzerResourceOptions(parent=registration.parent_urn or ""),
    )
    if provider is not None:
        # The registration's plain inputs, not the proxy: reading an unknown (a preview kubeconfig) through it raises.
        provider_inputs = next(r for r in registrations if r.urn == provider.urn).plain_inputs()
        kwargs["provider"] = proto.AnalyzerProviderResource(
            type=provider.resource_type, properties=_struct(provider_inputs), urn=provider.urn, name=provider.name
        )
    return kwargs


def analyze(
    registrations: Iterable[Registration] | StackRun, user_config: Mapping[str, Any] | None = None
) -> list[Violation]:
    """Every diagnostic the pack reports for a stack, as `pulumi preview --policy-pack policies` would get them."""
    registrations = list(registrations.resources if isinstance(registrations, StackRun) else registrations)
    servicer = _servicer()
    config = effective_config(user_config)
    servicer.Configure(
        proto.ConfigureAnalyzerRequest(
            policyConfig={
                name: proto.PolicyConfig(
                    enforcementLevel=_LEVEL_TO_PROTO[EnforcementLevel(entry["enforcementLevel"])],
                    properties=_struct({k: v for k, v in entry.items() if k != "enforcementLevel"}),
                )
                for name, entry in config.items()
            }
        ),
        None,
    )

    violations: list[Violation] = []
    for registration in registrations:
        request = proto.AnalyzeRequest(**_proto_resource(registrations, registration, registration.plain_inputs()))
        # The engine attributes a resource policy's diagnostics to the resource it asked about.
        violations.extend(_violation(d, registration.urn) for d in servicer.Analyze(request, None).diagnostics)
    stack_request = proto.AnalyzeStackRequest(
        resources=[
            proto.AnalyzerResource(
                **_proto_resource(registrations, r, stack_props(r)),
                parent=r.parent_urn or "",
                dependencies=list(r.dependencies),
            )
            for r in registrations
        ]
    )
    violations.extend(_violation(d, "") for d in servicer.AnalyzeStack(stack_request, None).diagnostics)
    return violations


def _violation(diagnostic: proto.AnalyzeDiagnostic, default_urn: str) -> Violation:
    return Violation(
        diagnostic.policyName,
        _PROTO_TO_LEVEL[diagnostic.enforcementLevel],
        diagnostic.message,
        diagnostic.urn or default_urn,
    )


def mandatory(violations: Iterable[Violation]) -> list[Violation]:
    """The violations that would fail `pulumi preview`/`up`."""
    return [v for v in violations if v.level == EnforcementLevel.MANDATORY]
