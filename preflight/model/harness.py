"""Run the real Pulumi program offline under mocks and record everything it registers.

Used by the renderer (`tools/render.py`) and by the tests. Three things differ from the SDK's stock
`MockMonitor`, each for a reason:

* Resource references in inputs are turned into URN strings instead of being rehydrated. The stock
  monitor rehydrates them on its executor thread, which crashes ("attached to a different loop") or
  hangs when a Resource is passed to a remote component such as `eks.ManagedNodeGroup(cluster=...)`.
* Every registration is recorded with its parent, dependencies, provider and which inputs were secret,
  so the render can print a tree, write manifests and redact secrets.
* Mocked outputs are realistic (ARNs, IDs and names derived from inputs), so stack outputs look like a
  real stack's. Invokes are recorded: the program is meant to make none.
* Remote components (awsx.ec2.Vpc, eks.Cluster, eks.ManagedNodeGroup) get the children their provider
  plugins really register, modelled from the upstream source in `preflight/model/children/`, as real
  registrations parented to the component; the invokes those models make are recorded apart from the
  program's (`StackRun.component_invokes`).
* `preview=True` runs the program the way a first `pulumi preview` does: every resource gets back only
  its inputs, and IDs, ARNs and other provider-computed outputs (nested ones included) are unknown, as the
  engine returns them for resources about to be created. Unknown values are kept as `UNKNOWN` and written
  as "[unknown]" by the render.
"""

from __future__ import annotations

import hashlib
import json
import os
import runpy
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import Stack, run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.common import lookups as lookups_switch
from preflight.model import children as remote_components
from preflight.model.children import UNKNOWN, Child, ClusterCore, ComponentRequest, Unknown

REPO_ROOT = Path(__file__).resolve().parents[2]
MOCK_ACCOUNT_ID = "123456789012"
GET_CALLER_IDENTITY = "aws:index/getCallerIdentity:getCallerIdentity"
# Who runs the program under mocks: a session of a deploy role, as `aws sts get-caller-identity` prints it.
MOCK_CALLER_ARN = f"arn:aws:sts::{MOCK_ACCOUNT_ID}:assumed-role/gpu-eks-deployer/pulumi"
SECRET_PLACEHOLDER = "[secret]"
UNKNOWN_PLACEHOLDER = "[unknown]"
_UNKNOWN = rpc.UNKNOWN


@dataclass
class Secret:
    """Marks an input value that arrived as a Pulumi secret."""

    value: Any


@dataclass
class Registration:
    """One registered resource as the engine would see it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent_urn: str | None
    inputs: dict[str, Any]  # secrets wrapped in Secret
    outputs: dict[str, Any]
    dependencies: list[str]
    provider_urn: str | None
    resource_id: str | None
    # URN of the remote component whose modelled plugin code registered this child; None for the program's own.
    component_urn: str | None = None

    def plain_inputs(self) -> dict[str, Any]:
        """Inputs with secrets unwrapped (what the provider would receive); unknowns as the engine's sentinel."""
        return _strip_secrets(self.inputs, reveal=True)

    def redacted_inputs(self) -> dict[str, Any]:
        """Inputs with every secret replaced by "[secret]" and unknowns by "[unknown]" (what the render writes)."""
        return _strip_secrets(self.inputs, reveal=False, unknown=UNKNOWN_PLACEHOLDER)


@dataclass(frozen=True)
class ComponentInvoke:
    """A data-source call a remote component's plugin code makes (not the program's own)."""

    component_urn: str
    token: str
    args: dict[str, Any]
    result: dict[str, Any]


@dataclass
class StackRun:
    """Everything one offline run of the program produced."""

    stack: str
    resources: list[Registration]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    invokes: list[str] = field(default_factory=list)  # the program's own invokes
    # (token, args, provider reference) of each of the program's invokes
    invoke_args: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)
    component_invokes: list[ComponentInvoke] = field(default_factory=list)
    preview: bool = False

    def by_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> Registration:
        """The single resource of a type (and name); AssertionError otherwise."""
        matches = [r for r in self.by_type(type_token) if name is None or r.name == name]
        assert len(matches) == 1, f"expected one {type_token} {name or ''}, found {[r.name for r in matches]}"
        return matches[0]

    def name_of(self, urn: str | None) -> str | None:
        return urn.split("::")[-1] if urn else None

    def children_of(self, component_urn: str) -> list[Registration]:
        """Everything a remote component's modelled plugin code registered (at any depth below it)."""
        return [r for r in self.resources if r.component_urn == component_urn]

    def redacted_outputs(self) -> dict[str, Any]:
        return {
            k: SECRET_PLACEHOLDER if k in self.secret_outputs else _strip_secrets(v, False, UNKNOWN_PLACEHOLDER)
            for k, v in self.outputs.items()
        }


def plain_value(value: Any) -> Any:
    """A recorded value as the engine would send it on: secrets unwrapped, unknowns as the engine's sentinel."""
    return _strip_secrets(value, reveal=True)


def _strip_secrets(value: Any, reveal: bool, unknown: Any = _UNKNOWN) -> Any:
    """Unwrap (or redact) secrets; replace UNKNOWN by `unknown` (default: the engine's unknown sentinel)."""
    if isinstance(value, Secret):
        return _strip_secrets(value.value, reveal, unknown) if reveal else SECRET_PLACEHOLDER
    if isinstance(value, Unknown):
        return unknown
    if isinstance(value, dict):
        return {k: _strip_secrets(v, reveal, unknown) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_secrets(v, reveal, unknown) for v in value]
    return value


def _decode(value: Any) -> Any:
    """Turn a JSON-decoded protobuf property into plain Python, keeping secrets marked and refs as URNs."""
    if isinstance(value, dict):
        signature = value.get(rpc._special_sig_key)
        if signature == rpc._special_secret_sig:
            return Secret(_decode(value.get("value")))
        if signature == rpc._special_resource_sig:
            return value.get("urn")
        if signature == rpc._special_output_value_sig:
            # An output value without "value" is an unknown one.
            inner = _decode(value["value"]) if "value" in value else UNKNOWN
            return Secret(inner) if value.get("secret") else inner
        decoded = {k: _decode(v) for k, v in value.items()}
        return {k: v for k, v in decoded.items() if v is not None}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if value == _UNKNOWN:
        return UNKNOWN  # only a preview sends these
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf carries every number as a double
    return value


def _stable_hex(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


class RealisticMocks(pulumi_mocks.Mocks):
    """Outputs derived from inputs, shaped like the real providers' (IDs, ARNs, names)."""

    def __init__(self, region: str, stack: str, stack_references: dict[str, dict[str, Any]] | None = None):
        self.region = region
        self.stack = stack
        self.monitor: RecordingMonitor | None = None
        self.invokes: list[str] = []
        self.invoke_args: list[tuple[str, dict[str, Any], str | None]] = []
        # Stack name -> {"outputs": {...}, "secretOutputNames": [...]} for pulumi.StackReference reads.
        self.stack_references = stack_references or {}

    def call(self, args: pulumi_mocks.MockCallArgs):
        # The program should compute what it needs; every invoke is a round trip in a real preview. The
        # zone list is answered like the components' own lookup, so both would agree on the zones.
        self.invokes.append(args.token)
        self.invoke_args.append((args.token, dict(args.args), args.provider))
        if args.token == remote_components.GET_AVAILABILITY_ZONES:
            return remote_components.availability_zones(args.args.get("region") or self.region), None
        if args.token in (GET_PRODUCT, GET_SPOT_PRICE):
            return price_lookup_answer(args.token, dict(args.args)), None
        if args.token == GET_SUBNET:
            return subnet_answer(self.region, str(args.args.get("id"))), None
        if args.token == GET_CALLER_IDENTITY:
            # The program's caller lookup (components.config.load_config): a deploy role's session, as CI runs it.
            return {
                "accountId": MOCK_ACCOUNT_ID,
                "arn": MOCK_CALLER_ARN,
                "id": MOCK_ACCOUNT_ID,
                "userId": f"AROA{_stable_hex('caller')}:pulumi",
            }, None
        return {}, None

    def arn(self, service: str, resource: str, region: str | None = None, account: str = MOCK_ACCOUNT_ID) -> str:
        return f"arn:aws:{service}:{self.region if region is None else region}:{account}:{resource}"

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        """(id, full state) as after a `pulumi up`; RecordingMonitor trims it to the inputs in a preview."""
        inputs = dict(args.inputs)
        name = inputs.get("name") or f"{args.name}-{_stable_hex(args.typ, args.name, length=7)}"
        typ = args.typ
        if typ == "pulumi:pulumi:StackReference":
            if args.resource_id not in self.stack_references:
                raise KeyError(f"no mocked outputs for stack reference {args.resource_id!r}")
            return args.resource_id, {"name": args.resource_id, **self.stack_references[args.resource_id]}
        if not args.custom:
            return "", {}
        state: dict[str, Any] = dict(inputs)
        resource_id = f"{args.name}-{_stable_hex(typ, args.name, length=8)}"
        hex17 = _stable_hex(self.stack, typ, args.name)
        if typ == "aws:iam/role:Role":
            state.update(
                name=name, arn=f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/{name}", uniqueId=f"AROA{_stable_hex(name)}"
            )
            resource_id = name
        elif typ == "aws:iam/policy:Policy":
            state.update(name=name, arn=f"arn:aws:iam::{MOCK_ACCOUNT_ID}:policy/{name}")
            resource_id = state["arn"]
        elif typ == "aws:kms/key:Key":
            key_id = (
                f"{_stable_hex(args.name, length=8)}-{_stable_hex('kms', args.name, length=4)}"
                f"-4000-8000-{_stable_hex('k', args.name, length=12)}"
            )
            state.update(keyId=key_id, arn=self.arn("kms", f"key/{key_id}"))
            resource_id = key_id
        elif typ == "aws:kms/alias:Alias":
            state.update(arn=self.arn("kms", str(inputs.get("name", name))))
        elif typ == "aws:sqs/queue:Queue":
            state.update(
                name=name,
                arn=self.arn("sqs", name),
                url=f"https://sqs.{self.region}.amazonaws.com/{MOCK_ACCOUNT_ID}/{name}",
            )
            resource_id = state["url"]
        elif typ == "aws:cloudwatch/eventRule:EventRule":
            state.update(name=name, arn=self.arn("events", f"rule/{name}"))
            resource_id = name
        elif typ == "aws:eks/podIdentityAssociation:PodIdentityAssociation":
            association_id = f"a-{_stable_hex(args.name)}"
            state.update(
                associationId=association_id,
                associationArn=self.arn("eks", f"podidentityassociation/{inputs.get('clusterName')}/{association_id}"),
            )
        elif typ == "aws:eks/accessEntry:AccessEntry":
            state.update(
                accessEntryArn=self.arn(
                    "eks", f"access-entry/{inputs.get('clusterName')}/role/{_stable_hex(args.name)}"
                )
            )
        elif typ == "aws:iam/serviceLinkedRole:ServiceLinkedRole":
            service = str(inputs.get("awsServiceName", "service.amazonaws.com"))
            state.update(arn=f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/aws-service-role/{service}/AWSServiceRoleForEC2Spot")
        elif typ.startswith("kubernetes:helm.sh/v3:Release"):
            state.update(
                status={
                    "name": name,
                    "namespace": inputs.get("namespace", "default"),
                    "status": "deployed",
                    "version": inputs.get("version"),
                    "chart": inputs.get("chart"),
                    "revision": 1,
                }
            )
        # -- the AWS types remote components register (preflight/model/children/) --
        elif typ == "aws:eks/cluster:Cluster":
            cluster_name = inputs.get("name") or name
            oidc_id = _stable_hex(self.stack, cluster_name, length=32).upper()
            state.update(
                name=cluster_name,
                arn=self.arn("eks", f"cluster/{cluster_name}"),
                endpoint=f"https://{oidc_id}.gr7.{self.region}.eks.amazonaws.com",
                version=inputs.get("version") or "1.34",
                platformVersion="eks.1",
                status="ACTIVE",
                identities=[{"oidcs": [{"issuer": f"https://oidc.eks.{self.region}.amazonaws.com/id/{oidc_id}"}]}],
                certificateAuthority={"data": "TU9DSy1DQQ=="},
                kubernetesNetworkConfig={
                    "ipFamily": "ipv4",
                    "serviceIpv4Cidr": "172.20.0.0/16",
                    **(inputs.get("kubernetesNetworkConfig") or {}),
                },
                vpcConfig={
                    **(inputs.get("vpcConfig") or {}),
                    "clusterSecurityGroupId": f"sg-{_stable_hex(cluster_name, 'cluster-sg')}",
                    "vpcId": f"vpc-{_stable_hex(cluster_name, 'vpc')}",
                },
            )
            resource_id = cluster_name
        elif typ == "aws:eks/addon:Addon":
            resource_id = f"{inputs.get('clusterName')}:{inputs.get('addonName')}"
            state.update(
                arn=self.arn("eks", f"addon/{inputs.get('clusterName')}/{inputs.get('addonName')}/{hex17[:8]}")
            )
        elif typ == "aws:amp/workspace:Workspace":
            # AMP workspace IDs are "ws-" and a UUID; the endpoint ends in "/" (aws_prometheus_workspace docs).
            resource_id = f"ws-{_stable_hex(args.name, 'amp')[:8]}-0000-0000-0000-{hex17[:12]}"
            state.update(
                arn=self.arn("aps", f"workspace/{resource_id}"),
                prometheusEndpoint=f"https://aps-workspaces.{self.region}.amazonaws.com/workspaces/{resource_id}/",
            )
        elif typ == "aws:eks/accessPolicyAssociation:AccessPolicyAssociation":
            resource_id = f"{inputs.get('clusterName')}#{inputs.get('principalArn')}#{inputs.get('policyArn')}"
        elif typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            host = str(inputs.get("url", "")).removeprefix("https://")
            state.update(arn=f"arn:aws:iam::{MOCK_ACCOUNT_ID}:oidc-provider/{host}")
            resource_id = state["arn"]
        elif typ == "aws:ec2/launchTemplate:LaunchTemplate":
            resource_id = f"lt-{hex17}"
            state.update(
                name=inputs.get("name") or f"{args.name}-{hex17[:7]}",
                latestVersion=1,
                defaultVersion=1,
                arn=self.arn("ec2", f"launch-template/{resource_id}"),
            )
        elif typ == "aws:eks/nodeGroup:NodeGroup":
            node_group_name = inputs.get("nodeGroupName") or f"{args.name}-{hex17[:7]}"
            state.update(
                nodeGroupName=node_group_name,
                status="ACTIVE",
                arn=self.arn("eks", f"nodegroup/{inputs.get('clusterName')}/{node_group_name}/{hex17[:8]}"),
            )
            resource_id = f"{inputs.get('clusterName')}:{node_group_name}"
        else:
            prefix = _EC2_ID_PREFIXES.get(typ)
            if prefix is not None:
                resource_id = f"{prefix}-{hex17}"
                state.update(arn=self.arn("ec2", f"{typ.rsplit(':', 1)[-1].lower()}/{resource_id}"))
                if typ == "aws:ec2/eip:Eip":
                    state.update(allocationId=resource_id, publicIp=f"203.0.113.{int(hex17[:2], 16) % 250 + 1}")
                elif typ == "aws:ec2/securityGroupRule:SecurityGroupRule":
                    state.update(securityGroupRuleId=resource_id)
        return resource_id, state


# ID prefixes AWS uses for the EC2 types the VPC and cluster components create.
_EC2_ID_PREFIXES = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/route:Route": "r-rtb",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/securityGroupRule:SecurityGroupRule": "sgrule",
}


def _preview_state(inputs: Any, full: Any) -> Any:
    """What the engine returns in a preview for a resource about to be created: its inputs, with every output
    the provider computes (at any depth) unknown."""
    if isinstance(full, dict):
        given = inputs if isinstance(inputs, dict) else {}
        return {k: (_preview_state(given[k], v) if k in given else UNKNOWN) for k, v in full.items()}
    return inputs


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that records registrations, never rehydrates resource references and models remote components."""

    def __init__(self, mocks: RealisticMocks, preview: bool = False):
        super().__init__(mocks)
        mocks.monitor = self
        self.preview = preview
        self.region = mocks.region
        self.registrations: list[Registration] = []
        self.component_invokes: list[ComponentInvoke] = []
        self._cluster_cores: dict[str, ClusterCore] = {}
        self._by_urn: dict[str, Registration] = {}
        # The remote component whose model is registering, per thread: the SDK calls the monitor from an executor's
        # threads, so the program's own resources can register while a model runs on another thread and must not
        # be counted as its children.
        self._modelling = threading.local()

    # -- registration shared by the program's resources and modelled children -------------------------------------

    def _record(
        self,
        type_token: str,
        name: str,
        parent_urn: str | None,
        inputs: dict[str, Any],
        custom: bool,
        dependencies: list[str],
        provider_urn: str | None,
    ) -> Registration:
        urn = self.make_urn(parent_urn or "", type_token, name)
        if urn in self._by_urn:
            # The engine refuses a second resource with the same URN ("Duplicate resource URN").
            raise ValueError(f"Duplicate resource URN '{urn}'; try giving it a unique name")
        plain = _strip_secrets(inputs, reveal=True, unknown=UNKNOWN)
        resource_id, state = self.mocks.new_resource(
            pulumi_mocks.MockResourceArgs(
                typ=type_token, name=name, inputs=plain, provider=provider_urn or "", resource_id="", custom=custom
            )
        )
        if self.preview and custom:
            resource_id, state = "", _preview_state(plain, state)
        registration = Registration(
            urn=urn,
            type=type_token,
            name=name,
            custom=custom,
            parent_urn=parent_urn or None,
            inputs=inputs,
            outputs=state,
            dependencies=sorted(set(dependencies)),
            provider_urn=provider_urn,
            resource_id=resource_id or None,
            component_urn=getattr(self._modelling, "component", None),
        )
        self.registrations.append(registration)
        self._by_urn[urn] = registration
        # pulumi's own MockMonitor stores new_resource's Optional id the same way (its NamedTuple says str).
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id, _wire(state, self))  # type: ignore[arg-type]
        return registration

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
    ) -> Child:
        """Registrar.register for the models: a child as the plugin would register it."""
        registration = self._record(type_token, name, parent, inputs, custom, list(dependencies), provider)
        return self._child(registration)

    def _child(self, registration: Registration) -> Child:
        resource_id = registration.resource_id if registration.resource_id else (UNKNOWN if registration.custom else "")
        return Child(urn=registration.urn, id=resource_id, outputs=registration.outputs)

    def lookup(self, urn: str) -> Child:
        return self._child(self._by_urn[urn])

    def invoke(self, component_urn: str, token: str, args: dict[str, Any]) -> dict[str, Any]:
        result = remote_components.component_invoke_result(self.region, token, args)
        self.component_invokes.append(ComponentInvoke(component_urn, token, dict(args), result))
        return result

    def _cluster_core(self, urn: str) -> ClusterCore:
        if urn not in self._cluster_cores:
            raise remote_components.UnmodelledPath(f"{urn} is not a modelled eks:index:Cluster")
        return self._cluster_cores[urn]

    # -- gRPC methods ----------------------------------------------------------------------------------------------

    def RegisterResource(self, request):
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=self.make_urn(request.parent, request.type, request.name))
        inputs = _decode(json_format.MessageToDict(request.object))
        # A provider reference is "<provider urn>::<provider id>".
        provider_urn = request.provider.rsplit("::", 1)[0] if request.provider else None
        if request.type not in remote_components.REMOTE_COMPONENT_TYPES:
            registration = self._record(
                request.type,
                request.name,
                request.parent or None,
                inputs,
                bool(request.custom),
                list(request.dependencies),
                provider_urn,
            )
            return resource_pb2.RegisterResourceResponse(
                urn=registration.urn,
                id=registration.resource_id or "",
                object=_to_struct(self.resources[registration.urn].state),
            )
        return self._register_component(request, inputs, provider_urn)

    def _register_component(self, request, inputs: dict[str, Any], provider_urn: str | None):
        """A remote component: record it, then let its model register the children and compute its outputs."""
        component = self._record(
            request.type, request.name, request.parent or None, inputs, False, list(request.dependencies), provider_urn
        )
        component_request = ComponentRequest(
            urn=component.urn,
            type=request.type,
            name=request.name,
            inputs=_strip_secrets(inputs, reveal=True, unknown=UNKNOWN),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
        )
        self._modelling.component = component.urn
        try:
            if request.type == "awsx:ec2:Vpc":
                outputs = remote_components.model_vpc(component_request, self)
            elif request.type == "eks:index:Cluster":
                outputs, core = remote_components.model_cluster(component_request, self)
                self._cluster_cores[component.urn] = core
            else:
                outputs = remote_components.model_managed_node_group(component_request, self, self._cluster_core)
        finally:
            self._modelling.component = None
        component.outputs = outputs
        self.resources[component.urn] = pulumi_mocks.MockMonitor.ResourceRegistration(
            component.urn, "", _wire(outputs, self)
        )
        return resource_pb2.RegisterResourceResponse(
            urn=component.urn, id="", object=_to_struct(self.resources[component.urn].state)
        )

    def ReadResource(self, request):
        # Reads (StackReference) get the same loop-free treatment as registrations.
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs = _strip_secrets(_decode(json_format.MessageToDict(request.properties)), reveal=True)
        resource_id, state = self.mocks.new_resource(
            pulumi_mocks.MockResourceArgs(
                typ=request.type, name=request.name, inputs=inputs, provider=request.provider, resource_id=request.id
            )
        )
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)  # type: ignore[arg-type]
        return resource_pb2.ReadResourceResponse(urn=urn, properties=_to_struct(state))

    def Invoke(self, request):
        args = _strip_secrets(_decode(json_format.MessageToDict(request.args)), reveal=True)
        if request.tok == "pulumi:pulumi:getResource":
            # How a resource reference in a component's outputs (e.g. eks.Cluster.eks_cluster) is resolved.
            registered = self.resources[args["urn"]]
            result = {"urn": registered.urn, "id": registered.id, "state": registered.state}
        else:
            result, _ = self.mocks.call(
                pulumi_mocks.MockCallArgs(token=request.tok, args=args, provider=request.provider)
            )
        return resource_pb2.ResourceInvokeResponse(failures=None, **{"return": _to_struct(result)})


def _wire(value: Any, monitor: RecordingMonitor) -> Any:
    """Model-side values as the engine sends them: UNKNOWN as its sentinel, child references as resource refs."""
    if isinstance(value, Unknown):
        return _UNKNOWN
    if isinstance(value, dict):
        if set(value) == {"__resource_ref__"}:
            target = monitor._by_urn[value["__resource_ref__"]]
            return {rpc._special_sig_key: rpc._special_resource_sig, "urn": target.urn, "id": target.resource_id or ""}
        return {k: _wire(v, monitor) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v, monitor) for v in value]
    return value


def _to_struct(state: dict[str, Any]) -> struct_pb2.Struct:
    """Mocked state is plain JSON data (resource references included), so it maps 1:1 onto a Struct.

    Building it directly, instead of through rpc.serialize_properties, needs no event loop on the
    monitor's worker threads; such loops are never closed and spill errors at interpreter exit.
    """
    struct = struct_pb2.Struct()
    struct.update(state)
    return struct


def stack_config_from_files(
    stack: str, config_file: Path | None = None, repo: Path = REPO_ROOT
) -> tuple[dict[str, str], list[str]]:
    """Project defaults from Pulumi.yaml plus Pulumi.<stack>.yaml (or `config_file`), as engine-style strings.

    Encrypted (`secure:`) values cannot be decrypted without the CLI; they become "[secret]" and are
    marked secret so the program treats them exactly as it would real secrets.
    """
    import yaml

    project_file = yaml.safe_load((repo / "Pulumi.yaml").read_text()) or {}
    stack_file_path = config_file or repo / f"Pulumi.{stack}.yaml"
    stack_file = yaml.safe_load(stack_file_path.read_text()) or {}
    merged: dict[str, Any] = {}
    for key, value in (project_file.get("config") or {}).items():
        if isinstance(value, dict) and ("value" in value or "default" in value):
            value = value.get("value", value.get("default"))
        merged[key] = value
    merged.update(stack_file.get("config") or {})
    project = project_file["name"]
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in merged.items():
        full_key = key if ":" in key else f"{project}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[full_key] = SECRET_PLACEHOLDER
            secret_keys.append(full_key)
        elif isinstance(value, str):
            config[full_key] = value
        else:
            config[full_key] = json.dumps(value)
    return config, secret_keys


GET_SUBNET = "aws:ec2/getSubnet:getSubnet"


def subnet_answer(region: str, subnet_id: str) -> dict[str, Any]:
    """The mocked aws.ec2.get_subnet: a subnet's zone is the region's a, b or c by its ID's last hex digit mod 3
    (subnet-0aaa1111 -> b), so a test can name subnets in the zones it wants."""
    letter = "abc"[int(subnet_id[-1], 16) % 3]
    return {"id": subnet_id, "availabilityZone": f"{region}{letter}", "vpcId": "vpc-0abc12345"}


GET_PRODUCT = "aws:pricing/getProduct:getProduct"
GET_SPOT_PRICE = "aws:ec2/getSpotPrice:getSpotPrice"
# The mocks' prices: AWS would answer with its own; these stand-ins are fixed, so tests can type the expected figures
# by hand. On-demand: $1.00 per GPU-hour plus $0.01 per character of the instance type's name (distinct per type);
# spot: 40 % of that.
MOCK_SPOT_SHARE = 0.4


def _mock_node_price(instance_type: str) -> float:
    from components.gpu import catalog

    return round(catalog.instance_type(instance_type).gpus * 1.0 + 0.01 * len(instance_type), 4)


def price_lookup_answer(token: str, args: dict[str, Any]) -> dict[str, Any]:
    """The mocked answers of the deploy-time price lookups (components.gpu.live_prices)."""
    if token == GET_PRODUCT:
        fields = {f["field"]: f["value"] for f in args.get("filters") or []}
        price = _mock_node_price(fields["instanceType"])
        product = {
            "product": {"sku": "MOCKSKU", "attributes": fields},
            "terms": {
                "OnDemand": {
                    "MOCKSKU.JRTCKXETXF": {
                        "priceDimensions": {
                            "MOCKSKU.JRTCKXETXF.6YS6EN2CT7": {"unit": "Hrs", "pricePerUnit": {"USD": f"{price:.10f}"}}
                        }
                    }
                }
            },
        }
        return {
            "id": "mock",
            "serviceCode": args.get("serviceCode"),
            "filters": args.get("filters"),
            "result": json.dumps(product),
        }
    price = round(_mock_node_price(args["instanceType"]) * MOCK_SPOT_SHARE, 6)
    return {
        "id": "mock",
        "instanceType": args["instanceType"],
        "spotPrice": f"{price:.6f}",
        "spotPriceTimestamp": "2026-12-01T00:00:00Z",
    }


def run_program(
    stack: str,
    config: dict[str, str],
    secret_keys: list[str] | None = None,
    program: Callable[[], None] | None = None,
    preview: bool = False,
    project: str = "gpu-eks",
    stack_references: dict[str, dict[str, Any]] | None = None,
    lookups: bool = False,
) -> StackRun:
    """Run `program` (default: the repo's __main__.py) under mocks with `config`; return what it registered.

    `stack_references` maps a referenced stack's name to its mocked outputs. Exceptions from the program
    (e.g. ConfigError) propagate to the caller after the runtime settles.
    """
    region = config.get("aws:region", "us-west-2")
    mocks = RealisticMocks(region=region, stack=stack, stack_references=stack_references)
    # An offline render makes no deploy-time lookup (price snapshot); `lookups` runs them against the mocks.
    previous = os.environ.get(lookups_switch.LOOKUPS_ENV)
    if lookups:
        os.environ.pop(lookups_switch.LOOKUPS_ENV, None)
    else:
        os.environ[lookups_switch.LOOKUPS_ENV] = lookups_switch.OFF
    monitor = RecordingMonitor(mocks, preview=preview)
    # Exports would otherwise leak from one run into the next in the same process.
    settings.ROOT.set(None)
    pulumi.runtime.set_all_config(dict(config), list(secret_keys or []))
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    entry = program or (lambda: runpy.run_path(str(REPO_ROOT / "__main__.py"), run_name="__main__"))

    outputs: dict[str, Any] = {}
    secret_outputs: set[str] = set()

    async def collect_outputs() -> None:
        root = settings.get_root_resource()
        for key, output in sorted((root.outputs if isinstance(root, Stack) else {}).items()):
            output = pulumi.Output.from_input(output)
            known = await output.is_known()
            outputs[key] = _jsonable(await output.future(with_unknowns=True)) if known else UNKNOWN
            if await output.is_secret():
                secret_outputs.add(key)

    def body():
        entry()
        return collect_outputs()

    # As the SDK's own @pulumi.runtime.test does: forget the RPCs and output tasks of earlier runs.
    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()
    try:
        _sync_await(run_pulumi_func(body))
    finally:
        if previous is None:
            os.environ.pop(lookups_switch.LOOKUPS_ENV, None)
        else:
            os.environ[lookups_switch.LOOKUPS_ENV] = previous
    return StackRun(
        stack=stack,
        resources=list(monitor.registrations),
        outputs=outputs,
        secret_outputs=secret_outputs,
        invokes=list(mocks.invokes),
        invoke_args=list(mocks.invoke_args),
        component_invokes=list(monitor.component_invokes),
        preview=preview,
    )


def run_stack(
    stack: str,
    config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
    preview: bool = False,
    lookups: bool = False,
) -> StackRun:
    """Run the program for a repo stack file, optionally overriding `gpu-eks:*` keys (tests use this).

    `preview=True` runs it as a first `pulumi preview` would (computed outputs unknown); `lookups=True` as a deploy
    makes its lookups (the mocks answer the Price List, spot price and subnet lookups)."""
    config, secret_keys = stack_config_from_files(stack, config_file)
    for key, value in (overrides or {}).items():
        full_key = key if ":" in key else f"gpu-eks:{key}"
        if value is None:
            config.pop(full_key, None)
        else:
            config[full_key] = value if isinstance(value, str) else json.dumps(value)
    return run_program(stack, config, secret_keys, preview=preview, lookups=lookups)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (Unknown, pulumi.output.Unknown)):
        return UNKNOWN
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def resource_set_difference(normal: StackRun, preview: StackRun) -> dict[str, list[str]]:
    """URNs only one of two runs registered: {"only_normal": [...], "only_preview": [...]}.

    A first `pulumi preview` shows the plan `pulumi up` then carries out; a resource registered inside an
    `apply` on a computed value (an ARN, an ID) exists only once that value is known, so it is missing from
    the preview and appears unannounced in the update.
    """
    normal_urns = {r.urn for r in normal.resources}
    preview_urns = {r.urn for r in preview.resources}
    return {"only_normal": sorted(normal_urns - preview_urns), "only_preview": sorted(preview_urns - normal_urns)}
