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
"""
from __future__ import annotations

import hashlib
import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

REPO_ROOT = Path(__file__).resolve().parents[1]
MOCK_ACCOUNT_ID = "123456789012"
SECRET_PLACEHOLDER = "[secret]"
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

    def plain_inputs(self) -> dict[str, Any]:
        """Inputs with secrets unwrapped (what the provider would receive)."""
        return _strip_secrets(self.inputs, reveal=True)

    def redacted_inputs(self) -> dict[str, Any]:
        """Inputs with every secret replaced by "[secret]" (what the render writes)."""
        return _strip_secrets(self.inputs, reveal=False)


@dataclass
class StackRun:
    """Everything one offline run of the program produced."""

    stack: str
    resources: list[Registration]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    invokes: list[str] = field(default_factory=list)

    def by_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> Registration:
        """The single resource of a type (and name); AssertionError otherwise."""
        matches = [r for r in self.by_type(type_token) if name is None or r.name == name]
        assert len(matches) == 1, f"expected one {type_token} {name or ''}, found {[r.name for r in matches]}"
        return matches[0]

    def name_of(self, urn: str | None) -> str | None:
        return urn.split("::")[-1] if urn else None

    def redacted_outputs(self) -> dict[str, Any]:
        return {k: SECRET_PLACEHOLDER if k in self.secret_outputs else v for k, v in self.outputs.items()}


def _strip_secrets(value: Any, reveal: bool) -> Any:
    if isinstance(value, Secret):
        return _strip_secrets(value.value, reveal) if reveal else SECRET_PLACEHOLDER
    if isinstance(value, dict):
        return {k: _strip_secrets(v, reveal) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_secrets(v, reveal) for v in value]
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
            inner = _decode(value.get("value"))
            return Secret(inner) if value.get("secret") else inner
        decoded = {k: _decode(v) for k, v in value.items()}
        return {k: v for k, v in decoded.items() if v is not None}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if value == _UNKNOWN:
        return None
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
        # Stack name -> {"outputs": {...}, "secretOutputNames": [...]} for pulumi.StackReference reads.
        self.stack_references = stack_references or {}

    def call(self, args: pulumi_mocks.MockCallArgs):
        # The program should compute what it needs; every invoke is a round trip in a real preview.
        self.invokes.append(args.token)
        return {}, None

    def arn(self, service: str, resource: str, region: str | None = None, account: str = MOCK_ACCOUNT_ID) -> str:
        return f"arn:aws:{service}:{self.region if region is None else region}:{account}:{resource}"

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        inputs = dict(args.inputs)
        name = inputs.get("name") or f"{args.name}-{_stable_hex(args.typ, args.name, length=7)}"
        typ = args.typ
        if typ == "pulumi:pulumi:StackReference":
            if args.resource_id not in self.stack_references:
                raise KeyError(f"no mocked outputs for stack reference {args.resource_id!r}")
            return args.resource_id, {"name": args.resource_id, **self.stack_references[args.resource_id]}
        if typ == "awsx:ec2:Vpc":
            return self._vpc(args.name, inputs)
        if typ == "eks:index:Cluster":
            return self._eks_cluster(args.name, inputs)
        if typ == "eks:index:ManagedNodeGroup":
            node_group_name = inputs.get("nodeGroupName") or name
            child = self._child("aws:eks/nodeGroup:NodeGroup", args.name, node_group_name, {
                "nodeGroupName": node_group_name,
                "arn": self.arn("eks", f"nodegroup/{inputs.get('clusterName', 'cluster')}/{node_group_name}/x"),
            })
            return "", {"nodeGroup": child}
        state: dict[str, Any] = dict(inputs)
        resource_id = f"{args.name}-{_stable_hex(typ, args.name, length=8)}"
        if typ == "aws:iam/role:Role":
            state.update(name=name, arn=f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/{name}", uniqueId=f"AROA{_stable_hex(name)}")
            resource_id = name
        elif typ == "aws:iam/policy:Policy":
            state.update(name=name, arn=f"arn:aws:iam::{MOCK_ACCOUNT_ID}:policy/{name}")
            resource_id = state["arn"]
        elif typ == "aws:kms/key:Key":
            key_id = f"{_stable_hex(args.name, length=8)}-{_stable_hex('kms', args.name, length=4)}-4000-8000-{_stable_hex('k', args.name, length=12)}"
            state.update(keyId=key_id, arn=self.arn("kms", f"key/{key_id}"))
            resource_id = key_id
        elif typ == "aws:kms/alias:Alias":
            state.update(arn=self.arn("kms", str(inputs.get("name", name))))
        elif typ == "aws:sqs/queue:Queue":
            state.update(name=name, arn=self.arn("sqs", name),
                         url=f"https://sqs.{self.region}.amazonaws.com/{MOCK_ACCOUNT_ID}/{name}")
            resource_id = state["url"]
        elif typ == "aws:cloudwatch/eventRule:EventRule":
            state.update(name=name, arn=self.arn("events", f"rule/{name}"))
            resource_id = name
        elif typ == "aws:eks/podIdentityAssociation:PodIdentityAssociation":
            association_id = f"a-{_stable_hex(args.name)}"
            state.update(associationId=association_id,
                         associationArn=self.arn("eks", f"podidentityassociation/{inputs.get('clusterName')}/{association_id}"))
        elif typ == "aws:eks/accessEntry:AccessEntry":
            state.update(accessEntryArn=self.arn("eks", f"access-entry/{inputs.get('clusterName')}/role/{_stable_hex(args.name)}"))
        elif typ == "aws:iam/serviceLinkedRole:ServiceLinkedRole":
            service = str(inputs.get("awsServiceName", "service.amazonaws.com"))
            state.update(arn=f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/aws-service-role/{service}/AWSServiceRoleForEC2Spot")
        elif typ.startswith("kubernetes:helm.sh/v3:Release"):
            state.update(status={"name": name, "namespace": inputs.get("namespace", "default"), "status": "deployed",
                                 "version": inputs.get("version"), "chart": inputs.get("chart"), "revision": 1})
        return resource_id, state

    # -- remote components: no children are registered under mocks, so return their outputs directly ----------

    def _vpc(self, name: str, inputs: dict[str, Any]):
        zones = int(inputs.get("numberOfAvailabilityZones", 3))
        vpc_id = f"vpc-{_stable_hex(self.stack, name)}"
        return "", {
            "vpcId": vpc_id,
            "privateSubnetIds": [f"subnet-{_stable_hex(vpc_id, 'private', str(i))}" for i in range(zones)],
            "publicSubnetIds": [f"subnet-{_stable_hex(vpc_id, 'public', str(i))}" for i in range(zones)],
        }

    def _eks_cluster(self, name: str, inputs: dict[str, Any]):
        cluster_name = inputs.get("name", name)
        oidc_id = _stable_hex(self.stack, cluster_name, length=32).upper()
        issuer = f"https://oidc.eks.{self.region}.amazonaws.com/id/{oidc_id}"
        endpoint = f"https://{oidc_id}.gr7.{self.region}.eks.amazonaws.com"
        cluster_sg = f"sg-{_stable_hex(cluster_name, 'cluster-sg')}"
        kubeconfig = {
            "apiVersion": "v1", "kind": "Config", "current-context": "aws",
            "clusters": [{"name": "kubernetes", "cluster": {"server": endpoint,
                                                            "certificate-authority-data": "TU9DSy1DQQ=="}}],
            "contexts": [{"name": "aws", "context": {"cluster": "kubernetes", "user": "aws"}}],
            "users": [{"name": "aws", "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
                "args": ["eks", "get-token", "--cluster-name", cluster_name, "--output", "json"]}}}],
        }
        eks_cluster = self._child("aws:eks/cluster:Cluster", f"{name}-eksCluster", cluster_name, {
            "name": cluster_name,
            "arn": self.arn("eks", f"cluster/{cluster_name}"),
            "endpoint": endpoint,
            "version": inputs.get("version"),
            "identities": [{"oidcs": [{"issuer": issuer}]}],
            "vpcConfig": {"clusterSecurityGroupId": cluster_sg, "vpcId": inputs.get("vpcId")},
            "certificateAuthority": {"data": "TU9DSy1DQQ=="},
        })
        return "", {
            "kubeconfig": kubeconfig,
            "kubeconfigJson": json.dumps(kubeconfig, sort_keys=True),
            "eksCluster": eks_cluster,
            "oidcProviderArn": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:oidc-provider/oidc.eks.{self.region}.amazonaws.com/id/{oidc_id}",
            "oidcProviderUrl": issuer,
            "oidcIssuer": issuer.removeprefix("https://"),
            "clusterSecurityGroupId": cluster_sg,
            "nodeSecurityGroupId": cluster_sg,
        }

    def _child(self, type_token: str, name: str, physical_name: str, state: dict[str, Any]) -> dict[str, Any]:
        """A resource reference to a child the provider plugin would create; pre-registered for lookups."""
        assert self.monitor is not None
        urn = f"urn:pulumi:{self.stack}::{pulumi.get_project()}::{type_token}::{name}"
        self.monitor.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, physical_name, state)
        return {rpc._special_sig_key: rpc._special_resource_sig, "urn": urn, "id": physical_name}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that records registrations and never rehydrates resource references."""

    def __init__(self, mocks: RealisticMocks):
        super().__init__(mocks)
        mocks.monitor = self
        self.registrations: list[Registration] = []

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        inputs = _decode(json_format.MessageToDict(request.object))
        plain = _strip_secrets(inputs, reveal=True)
        resource_args = pulumi_mocks.MockResourceArgs(
            typ=request.type, name=request.name, inputs=plain, provider=request.provider,
            resource_id=request.importId, custom=request.custom or False,
        )
        resource_id, state = self.mocks.new_resource(resource_args)
        obj_proto = _to_struct(state)
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
        self.registrations.append(Registration(
            urn=urn, type=request.type, name=request.name, custom=bool(request.custom),
            parent_urn=request.parent or None, inputs=inputs, outputs=_decode(state) if isinstance(state, dict) else {},
            dependencies=sorted(set(request.dependencies)),
            # A provider reference is "<provider urn>::<provider id>".
            provider_urn=request.provider.rsplit("::", 1)[0] if request.provider else None,
            resource_id=resource_id or None,
        ))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=obj_proto)


    def ReadResource(self, request):  # noqa: N802 (gRPC method name)
        # Reads (StackReference) get the same loop-free treatment as registrations.
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs = _strip_secrets(_decode(json_format.MessageToDict(request.properties)), reveal=True)
        resource_id, state = self.mocks.new_resource(pulumi_mocks.MockResourceArgs(
            typ=request.type, name=request.name, inputs=inputs, provider=request.provider, resource_id=request.id))
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
        return resource_pb2.ReadResourceResponse(urn=urn, properties=_to_struct(state))

    def Invoke(self, request):  # noqa: N802 (gRPC method name)
        args = _strip_secrets(_decode(json_format.MessageToDict(request.args)), reveal=True)
        if request.tok == "pulumi:pulumi:getResource":
            # How a resource reference in a mocked output (e.g. eks.Cluster.eks_cluster) is resolved.
            registered = self.resources[args["urn"]]
            result = {"urn": registered.urn, "id": registered.id, "state": registered.state}
        else:
            result, _ = self.mocks.call(pulumi_mocks.MockCallArgs(token=request.tok, args=args, provider=request.provider))
        return resource_pb2.ResourceInvokeResponse(failures=None, **{"return": _to_struct(result)})


def _to_struct(state: dict[str, Any]) -> struct_pb2.Struct:
    """Mocked state is plain JSON data (resource references included), so it maps 1:1 onto a Struct.

    Building it directly, instead of through rpc.serialize_properties, needs no event loop on the
    monitor's worker threads; such loops are never closed and spill errors at interpreter exit.
    """
    struct = struct_pb2.Struct()
    struct.update(state)
    return struct


def stack_config_from_files(stack: str, config_file: Path | None = None, repo: Path = REPO_ROOT) -> tuple[dict[str, str], list[str]]:
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


def run_program(stack: str, config: dict[str, str], secret_keys: list[str] | None = None,
                program: Callable[[], None] | None = None, preview: bool = False, project: str = "gpu-eks",
                stack_references: dict[str, dict[str, Any]] | None = None) -> StackRun:
    """Run `program` (default: the repo's __main__.py) under mocks with `config`; return what it registered.

    `stack_references` maps a referenced stack's name to its mocked outputs. Exceptions from the program
    (e.g. ConfigError) propagate to the caller after the runtime settles.
    """
    region = config.get("aws:region", "us-west-2")
    mocks = RealisticMocks(region=region, stack=stack, stack_references=stack_references)
    monitor = RecordingMonitor(mocks)
    # Exports would otherwise leak from one run into the next in the same process.
    settings.ROOT.set(None)
    pulumi.runtime.set_all_config(dict(config), list(secret_keys or []))
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    entry = program or (lambda: runpy.run_path(str(REPO_ROOT / "__main__.py"), run_name="__main__"))

    outputs: dict[str, Any] = {}
    secret_outputs: set[str] = set()

    async def collect_outputs() -> None:
        root = settings.get_root_resource()
        for key, output in sorted((root.outputs if root is not None else {}).items()):
            output = pulumi.Output.from_input(output)
            outputs[key] = _jsonable(await output.future())
            if await output.is_secret():
                secret_outputs.add(key)

    def body():
        entry()
        return collect_outputs()

    # As the SDK's own @pulumi.runtime.test does: forget the RPCs and output tasks of earlier runs.
    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()
    _sync_await(run_pulumi_func(body))
    return StackRun(stack=stack, resources=list(monitor.registrations), outputs=outputs,
                    secret_outputs=secret_outputs, invokes=list(mocks.invokes))


def run_stack(stack: str, config_file: Path | None = None, overrides: dict[str, Any] | None = None) -> StackRun:
    """Run the program for a repo stack file, optionally overriding `gpu-eks:*` keys (tests use this)."""
    config, secret_keys = stack_config_from_files(stack, config_file)
    for key, value in (overrides or {}).items():
        full_key = key if ":" in key else f"gpu-eks:{key}"
        if value is None:
            config.pop(full_key, None)
        else:
            config[full_key] = value if isinstance(value, str) else json.dumps(value)
    return run_program(stack, config, secret_keys)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
