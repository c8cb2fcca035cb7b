"""A loopback fake of the Kubernetes API server with a scripted Karpenter, for the verify tool's offline tests.

It serves, over real HTTP on 127.0.0.1 (port 0), exactly the endpoints `tools.verify` calls, with the JSON shapes
the API server returns, so the official client's requests and (pydantic) deserialization run for real:
version, discovery (/apis, /apis/karpenter.sh/v1), SelfSubjectAccessReviews, namespaces, deployments (+ the scale
subresource), pods, nodes, events, karpenter.sh/v1 nodeclaims and nodepools.

Behind them is a small simulation driven by a tick counter that advances once per pod list of the smoke
workload (the tool lists pods once per poll), so a run is deterministic whatever the wall-clock speed:

  deployment controller  replicas → Pending pods (or FailedCreate events when a ResourceQuota refuses them)
  Karpenter provisioner  unnominated Pending pods → NodeClaims of the scripted instance types, each holding as
                         many pods as Karpenter believes the type offers (the overlay's count unless overridden)
  NodeClaim lifecycle    launch (or InsufficientCapacityError event + deletion, or Launched=False quota error)
                         → node joins NotReady without the resource → Ready, advertising its count
  scheduler              binds Pending pods to Ready nodes with free resource, matching nodeSelector and taints
  kubelet                bound pods turn Running a tick later; deleted pods go a tick later
  consolidation          an empty launched node is removed (node and claim) after `consolidate_ticks`

Failures are scenario switches: insufficient capacity, EC2 quota, a ResourceQuota, a node that never advertises
the resource, a node advertising another count, Karpenter not seeing the overlay, a foreign pool's node that
matches the selector, missing CRDs, RBAC denials, rejected credentials, and a Ctrl-C after N pod lists (the test
says how to deliver it: `FakeCluster(scenario, interrupt=...)`, e.g. a real SIGINT to the tool's process).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

POOL_LABEL = "karpenter.sh/nodepool"
TS = "2026-12-01T10:00:00Z"


@dataclass
class Scenario:
    pool: str = "inference"
    resource: str = "nvidia.com/gpu"
    node_selector: dict[str, str] = field(default_factory=lambda: {"gpu-eks/pool": "inference"})
    slices_per_node: dict[str, int] = field(default_factory=lambda: {"g6.xlarge": 4, "g6.12xlarge": 16})
    launch_types: list[str] = field(default_factory=lambda: ["g6.xlarge"])  # cycled, one per NodeClaim
    capacity_type: str = "spot"
    zones: list[str] = field(default_factory=lambda: ["us-west-2a", "us-west-2b", "us-west-2c"])
    advertise: dict[str, int | None] = field(default_factory=dict)  # per type; None: never advertises
    karpenter_slices: dict[str, int] = field(default_factory=dict)  # what Karpenter believes, per type
    launch_ticks: int = 1
    join_ticks: int = 1
    ready_ticks: int = 1
    consolidate_ticks: int = 2
    consolidation: dict[str, Any] = field(
        default_factory=lambda: {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "10m"}
    )
    ice: bool = False
    ec2_quota: bool = False
    resource_quota: bool = False
    foreign_node: bool = False
    nodepool_exists: bool = True
    karpenter_crds: bool = True
    denied: set[str] = field(default_factory=set)  # "create namespaces", "list nodeclaims", ...
    unauthorized: bool = False
    interrupt_after_pod_lists: int | None = None
    unrelated_warnings: bool = False  # Karpenter warnings on the NodeClaims that are not launch failures


def _meta(name: str, namespace: str | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "uid": str(uuid.uuid4()),
        "resourceVersion": "1",
        "creationTimestamp": TS,
        "labels": dict(labels or {}),
    }
    if namespace:
        meta["namespace"] = namespace
    return meta


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _matches(labels: dict[str, str], selector: str | None) -> bool:
    if not selector:
        return True
    for term in selector.split(","):
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


class FakeCluster:
    """The API server's state and the simulation; `serve()` starts the HTTP front end."""

    def __init__(self, scenario: Scenario, interrupt: Callable[[], None] | None = None):
        self.s = scenario
        # Ctrl-C after `interrupt_after_pod_lists`: how to deliver it is the test's business (not
        # _thread.interrupt_main(), which does nothing when the test process ignores SIGINT).
        self.interrupt = interrupt
        self.interrupted = False
        self.lock = threading.RLock()
        self.tick = 0
        self.pod_lists = 0
        self.requests: list[tuple[str, str]] = []
        self.namespaces: dict[str, dict[str, Any]] = {}
        self.terminating: dict[str, int] = {}  # namespace → tick it was deleted
        self.deployments: dict[tuple[str, str], dict[str, Any]] = {}
        self.pods: dict[tuple[str, str], dict[str, Any]] = {}
        self.nodes: dict[str, dict[str, Any]] = {}
        self.claims: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.nominated: dict[tuple[str, str], str] = {}  # pod → claim
        self.empty_since: dict[str, int] = {}
        self.launch_index = 0
        self.launched = 0
        self.authorization: set[str] = set()  # Authorization headers seen
        self.counter = 0
        self.namespace_deleted: list[str] = []
        if scenario.foreign_node:
            # Another pool's node that (wrongly) carries this pool's selector label: the scheduler may use it.
            labels = {
                POOL_LABEL: "general-gpu",
                "node.kubernetes.io/instance-type": "g6.xlarge",
                "karpenter.sh/capacity-type": "on-demand",
                "topology.kubernetes.io/zone": "us-west-2a",
                **scenario.node_selector,
            }
            self.nodes["ip-10-0-9-9.ec2.internal"] = self._node_object("ip-10-0-9-9.ec2.internal", labels, 4, True)

    # -- simulation -----------------------------------------------------------------------------------------------
    def _name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter:05x}"

    def _believed(self, itype: str) -> int:
        return self.s.karpenter_slices.get(itype, self.s.slices_per_node[itype])

    def _advertised(self, itype: str) -> int | None:
        return self.s.advertise[itype] if itype in self.s.advertise else self.s.slices_per_node.get(itype)

    def _node_object(self, name: str, labels: dict[str, str], count: int | None, ready: bool) -> dict[str, Any]:
        allocatable = {"cpu": "3920m", "memory": "15000Mi", "pods": "58"}
        if count is not None and ready:
            allocatable[self.s.resource] = str(count)
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": _meta(name, labels=labels),
            "spec": {
                "providerID": f"aws:///{labels.get('topology.kubernetes.io/zone')}/i-{name[-5:]}",
                "taints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}],
            },
            "status": {
                "allocatable": allocatable,
                "capacity": dict(allocatable),
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True" if ready else "False",
                        "reason": "KubeletReady" if ready else "KubeletNotReady",
                    }
                ],
            },
        }

    def _event(
        self,
        kind: str,
        name: str,
        namespace: str,
        reason: str,
        message: str,
        type_: str = "Warning",
        api_version: str = "karpenter.sh/v1",
    ) -> None:
        self.events.append(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": _meta(f"{name}.{self._name('')}", namespace),
                "involvedObject": {"kind": kind, "name": name, "apiVersion": api_version},
                "reason": reason,
                "message": message,
                "type": type_,
                "count": 1,
                "firstTimestamp": TS,
                "lastTimestamp": TS,
                "source": {"component": "karpenter"},
            }
        )

    def step(self) -> None:
        with self.lock:
            self.tick += 1
            self._deployments()
            self._schedule()
            self._provision()
            self._lifecycle()
            self._consolidate()
            for ns, since in list(self.terminating.items()):
                if self.tick > since:
                    self.namespaces.pop(ns, None)
                    self.terminating.pop(ns)

    def _deployments(self) -> None:
        for key in [k for k, p in self.pods.items() if p["metadata"].get("deletionTimestamp")]:
            self.pods.pop(key)
            self.nominated.pop(key, None)
        for (ns, name), dep in self.deployments.items():
            replicas = dep["spec"]["replicas"]
            own = [k for k, p in self.pods.items() if k[0] == ns and p["metadata"]["labels"].get("dep") == name]
            if len(own) < replicas and self.s.resource_quota:
                self._event(
                    "ReplicaSet",
                    f"{name}-5d8f7",
                    ns,
                    "FailedCreate",
                    f'Error creating: pods "{name}-5d8f7-x" is forbidden: exceeded quota: gpu-quota, '
                    f"requested: requests.{self.s.resource}=1, used: requests.{self.s.resource}=0, "
                    f"limited: requests.{self.s.resource}=0",
                    api_version="apps/v1",
                )
                continue
            for _ in range(replicas - len(own)):
                pod_name = self._name(f"{name}-5d8f7-")
                template = dep["spec"]["template"]
                labels = {**template["metadata"]["labels"], "dep": name}
                self.pods[(ns, pod_name)] = {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": _meta(pod_name, ns, labels),
                    "spec": json.loads(json.dumps(template["spec"])),
                    "status": {"phase": "Pending"},
                }
            for key in own[replicas:] if len(own) > replicas else []:
                self.pods[key]["metadata"]["deletionTimestamp"] = TS

    def _used(self, node: str) -> int:
        return sum(1 for p in self.pods.values() if p["spec"].get("nodeName") == node)

    def _schedule(self) -> None:
        for key, pod in self.pods.items():
            if pod["spec"].get("nodeName"):
                if pod["status"]["phase"] == "Pending" and pod.get("_bound_at", self.tick) < self.tick:
                    pod["status"]["phase"] = "Running"
                continue
            selector = pod["spec"].get("nodeSelector") or {}
            for name, node in sorted(self.nodes.items()):
                labels = node["metadata"]["labels"]
                ready = node["status"]["conditions"][0]["status"] == "True"
                free = int(node["status"]["allocatable"].get(self.s.resource, "0")) - self._used(name)
                if ready and free > 0 and all(labels.get(k) == v for k, v in selector.items()):
                    pod["spec"]["nodeName"] = name
                    pod["_bound_at"] = self.tick
                    self.nominated.pop(key, None)
                    break

    def _provision(self) -> None:
        waiting = [
            k
            for k, p in sorted(self.pods.items())
            if not p["spec"].get("nodeName")
            and not p["metadata"].get("deletionTimestamp")
            and k not in self.nominated
            and (p["spec"].get("nodeSelector") or {}).get("gpu-eks/pool") == self.s.pool
        ]
        if not self.s.nodepool_exists:
            return
        while waiting:
            itype = self.s.launch_types[self.launch_index % len(self.s.launch_types)]
            self.launch_index += 1
            name = self._name(f"{self.s.pool}-")[: len(self.s.pool) + 6]
            self.claims[name] = {
                "apiVersion": "karpenter.sh/v1",
                "kind": "NodeClaim",
                "metadata": _meta(name, labels={POOL_LABEL: self.s.pool}),
                "spec": {
                    "requirements": [{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": [itype]}]
                },
                "status": {
                    "conditions": [
                        {
                            "type": "Launched",
                            "status": "Unknown",
                            "reason": "AwaitingReconciliation",
                            "message": "",
                            "lastTransitionTime": TS,
                        }
                    ]
                },
                "_type": itype,
                "_created": self.tick,
            }
            for key in waiting[: self._believed(itype)]:
                self.nominated[key] = name
            waiting = waiting[self._believed(itype) :]

    def _lifecycle(self) -> None:
        s = self.s
        for name, claim in list(self.claims.items()):
            age = self.tick - claim["_created"]
            launched = claim["status"]["conditions"][0]
            itype = claim["_type"]
            if age >= s.launch_ticks and launched["status"] == "Unknown":
                if s.ice:
                    self._event(
                        "NodeClaim",
                        name,
                        "default",
                        "InsufficientCapacityError",
                        f"NodeClaim {name} event: creating instance, insufficient capacity, all requested "
                        f"instance types were unavailable during launch",
                    )
                    self._drop_claim(name)
                    continue
                if s.ec2_quota:
                    launched.update(
                        status="False",
                        reason="LaunchFailed",
                        message=(
                            "creating instance, VcpuLimitExceeded: You have requested more vCPU capacity than your "
                            "current vCPU limit of 0 allows for the instance bucket that the specified instance type "
                            "belongs to."
                        ),
                    )
                    continue
                self.launched += 1
                zone = s.zones[(self.launched - 1) % len(s.zones)]
                launched.update(status="True", reason="Launched", message="")
                claim["metadata"]["labels"].update(
                    {
                        "node.kubernetes.io/instance-type": itype,
                        "karpenter.sh/capacity-type": s.capacity_type,
                        "topology.kubernetes.io/zone": zone,
                    }
                )
                claim["status"]["providerID"] = f"aws:///{zone}/i-0{name[-5:]}"
                if s.unrelated_warnings:
                    self._event(
                        "NodeClaim",
                        name,
                        "default",
                        "FailedConsistencyCheck",
                        "expected 4 of resource nvidia.com/gpu, but found 0 (0.0% of expected)",
                    )
            if launched["status"] == "True" and age >= s.launch_ticks + s.join_ticks and not claim.get("_node"):
                node_name = f"ip-10-0-{len(self.nodes) + 1}-{self.counter % 250}.ec2.internal"
                labels = {**claim["metadata"]["labels"], **s.node_selector}
                self.nodes[node_name] = self._node_object(node_name, labels, None, False)
                claim["_node"] = node_name
                claim["status"]["nodeName"] = node_name
            node = self.nodes.get(claim.get("_node", ""))
            if node and age >= s.launch_ticks + s.join_ticks + s.ready_ticks:
                advertised = self._advertised(itype)
                self.nodes[node["metadata"]["name"]] = refreshed = self._node_object(
                    node["metadata"]["name"], node["metadata"]["labels"], advertised, True
                )
                refreshed["metadata"]["uid"] = node["metadata"]["uid"]

    def _drop_claim(self, name: str) -> None:
        self.claims.pop(name, None)
        for key in [k for k, c in self.nominated.items() if c == name]:
            self.nominated.pop(key)

    def _consolidate(self) -> None:
        for name, claim in list(self.claims.items()):
            node = claim.get("_node")
            if not node or node not in self.nodes:
                continue
            busy = self._used(node) or any(c == name for c in self.nominated.values())
            if busy:
                self.empty_since.pop(node, None)
                continue
            since = self.empty_since.setdefault(node, self.tick)
            if self.tick - since >= self.s.consolidate_ticks:
                self.nodes.pop(node)
                self.claims.pop(name)

    # -- HTTP -----------------------------------------------------------------------------------------------------
    def handle(self, method: str, url: str, body: Any) -> tuple[int, Any]:
        parsed = urlparse(url)
        path, query = parsed.path.rstrip("/"), {k: v[0] for k, v in parse_qs(parsed.query).items()}
        with self.lock:
            self.requests.append((method, path))
            if self.s.unauthorized:
                return 401, _status(401, "Unauthorized", "Unauthorized")
            return self._route(method, path, query, body)

    def _denied(self, verb: str, resource: str) -> bool:
        return f"{verb} {resource}" in self.s.denied

    def _forbidden(self, verb: str, resource: str) -> tuple[int, Any]:
        return 403, _status(
            403, "Forbidden", f'{resource} is forbidden: User "dev" cannot {verb} resource "{resource}" in API group ""'
        )

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        s = self.s
        if path == "/version":
            return 200, {
                "major": "1",
                "minor": "34",
                "gitVersion": "v1.34.2-eks-b707fbb",
                "gitCommit": "0" * 40,
                "gitTreeState": "clean",
                "buildDate": TS,
                "goVersion": "go1.24.9",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        if path == "/apis":
            groups = [
                {
                    "name": "apps",
                    "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                    "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"},
                }
            ]
            if s.karpenter_crds:
                groups.append(
                    {
                        "name": "karpenter.sh",
                        "versions": [{"groupVersion": "karpenter.sh/v1", "version": "v1"}],
                        "preferredVersion": {"groupVersion": "karpenter.sh/v1", "version": "v1"},
                    }
                )
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        if path == "/apis/karpenter.sh/v1":
            if not s.karpenter_crds:
                return 404, _status(404, "NotFound", "the server could not find the requested resource")
            return 200, {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": "karpenter.sh/v1",
                "resources": [
                    {
                        "name": plural,
                        "singularName": plural[:-1],
                        "namespaced": False,
                        "kind": kind,
                        "verbs": ["get", "list", "watch", "create", "delete", "patch", "update"],
                    }
                    for plural, kind in (("nodeclaims", "NodeClaim"), ("nodepools", "NodePool"))
                ],
            }
        if path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" and method == "POST":
            attributes = body["spec"]["resourceAttributes"]
            resource = attributes["resource"] + (
                f"/{attributes['subresource']}" if attributes.get("subresource") else ""
            )
            allowed = not self._denied(attributes["verb"], resource)
            return 201, {**body, "status": {"allowed": allowed, **({} if allowed else {"reason": "no RBAC rule"})}}
        if m := re.fullmatch(r"/api/v1/namespaces(?:/([^/]+))?", path):
            return self._namespaces(method, m.group(1), body)
        if m := re.fullmatch(r"/apis/apps/v1/namespaces/([^/]+)/deployments(?:/([^/]+))?(/scale)?", path):
            return self._deployment(method, m.group(1), m.group(2), bool(m.group(3)), body)
        if m := re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods", path):
            return self._list_pods(m.group(1), query.get("labelSelector"))
        if path == "/api/v1/nodes":
            if self._denied("list", "nodes"):
                return self._forbidden("list", "nodes")
            items = [n for n in self.nodes.values() if _matches(n["metadata"]["labels"], query.get("labelSelector"))]
            return 200, {"kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}
        if path == "/api/v1/events" or re.fullmatch(r"/api/v1/namespaces/[^/]+/events", path):
            namespace = path.split("/")[4] if path.startswith("/api/v1/namespaces/") else None
            kind = (query.get("fieldSelector") or "").partition("involvedObject.kind=")[2] or None
            items = [
                e
                for e in self.events
                if (namespace is None or e["metadata"]["namespace"] == namespace)
                and (kind is None or e["involvedObject"]["kind"] == kind)
            ]
            return 200, {"kind": "EventList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}
        if path == "/apis/karpenter.sh/v1/nodeclaims":
            if not s.karpenter_crds:
                return 404, _status(404, "NotFound", "the server could not find the requested resource")
            items = [
                {k: v for k, v in c.items() if not k.startswith("_")}
                for c in self.claims.values()
                if _matches(c["metadata"]["labels"], query.get("labelSelector"))
            ]
            return 200, {"apiVersion": "karpenter.sh/v1", "kind": "NodeClaimList", "metadata": {}, "items": items}
        if m := re.fullmatch(r"/apis/karpenter.sh/v1/nodepools/([^/]+)", path):
            if not s.nodepool_exists or m.group(1) != s.pool:
                return 404, _status(404, "NotFound", f'nodepools.karpenter.sh "{m.group(1)}" not found')
            return 200, {
                "apiVersion": "karpenter.sh/v1",
                "kind": "NodePool",
                "metadata": _meta(s.pool),
                "spec": {
                    "disruption": {"budgets": [{"nodes": "10%"}], **s.consolidation},
                    "limits": {s.resource: "64"},
                    "template": {"spec": {}},
                },
            }
        return 404, _status(404, "NotFound", f"the fake has no route for {method} {path}")

    def _namespaces(self, method: str, name: str | None, body: Any) -> tuple[int, Any]:
        if method == "POST":
            if self._denied("create", "namespaces"):
                return self._forbidden("create", "namespaces")
            name = body["metadata"]["name"]
            if name in self.namespaces:
                return 409, _status(409, "AlreadyExists", f'namespaces "{name}" already exists')
            self.namespaces[name] = {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": _meta(name, labels=body["metadata"].get("labels")),
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
            return 201, self.namespaces[name]
        if name not in self.namespaces:
            return 404, _status(404, "NotFound", f'namespaces "{name}" not found')
        if method == "DELETE":
            # As the API server does: the namespace turns Terminating and its contents go with it.
            self.namespace_deleted.append(name)
            self.namespaces[name]["status"]["phase"] = "Terminating"
            self.terminating[name] = self.tick
            for key in [k for k in self.pods if k[0] == name]:
                self.pods.pop(key)
                self.nominated.pop(key, None)
            for key in [k for k in self.deployments if k[0] == name]:
                self.deployments.pop(key)
            self.step()  # the namespace controller runs without a pod list
            return 200, self.namespaces.get(
                name,
                {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(name), "status": {"phase": "Terminating"}},
            )
        return 200, self.namespaces[name]

    def _deployment(self, method: str, ns: str, name: str | None, scale: bool, body: Any) -> tuple[int, Any]:
        if ns not in self.namespaces:
            return 404, _status(404, "NotFound", f'namespaces "{ns}" not found')
        if method == "POST":
            name = body["metadata"]["name"]
            dep = json.loads(json.dumps(body))
            dep["metadata"].update(_meta(name, ns, body["metadata"].get("labels")))
            dep["status"] = {}
            self.deployments[(ns, name)] = dep
            return 201, dep
        if name is None:
            return 405, _status(405, "MethodNotAllowed", f"the fake does not {method} the deployments collection")
        dep = self.deployments.get((ns, name))
        if dep is None:
            return 404, _status(404, "NotFound", f'deployments.apps "{name}" not found')
        if scale and method == "PATCH":
            dep["spec"]["replicas"] = int(body["spec"]["replicas"])
            return 200, {
                "apiVersion": "autoscaling/v1",
                "kind": "Scale",
                "metadata": _meta(name, ns),
                "spec": {"replicas": dep["spec"]["replicas"]},
                "status": {
                    "replicas": 0,
                    "selector": ",".join(f"{k}={v}" for k, v in dep["spec"]["selector"]["matchLabels"].items()),
                },
            }
        if method == "DELETE":
            self.deployments.pop((ns, name))
            for key in [k for k, p in self.pods.items() if k[0] == ns and p["metadata"]["labels"].get("dep") == name]:
                self.pods[key]["metadata"]["deletionTimestamp"] = TS
            return 200, {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {"name": name, "group": "apps", "kind": "deployments", "uid": dep["metadata"]["uid"]},
            }
        return 200, dep

    def _list_pods(self, ns: str, selector: str | None) -> tuple[int, Any]:
        if self._denied("list", "pods"):
            return self._forbidden("list", "pods")
        if selector and "gpu-eks-verify" in selector:
            self.pod_lists += 1
            if self.s.interrupt_after_pod_lists is not None and self.pod_lists == self.s.interrupt_after_pod_lists:
                if self.interrupt is None:
                    raise RuntimeError("Scenario.interrupt_after_pod_lists needs FakeCluster(interrupt=...)")
                self.interrupt()
                self.interrupted = True
            self.step()
        items = [
            {k: v for k, v in p.items() if not k.startswith("_")}
            for (n, _), p in sorted(self.pods.items())
            if n == ns and _matches(p["metadata"]["labels"], selector)
        ]
        return 200, {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}

    # -- server ---------------------------------------------------------------------------------------------------
    def serve(self) -> RunningServer:
        return RunningServer(self)


class RunningServer:
    """The threaded HTTP server on 127.0.0.1; a context manager."""

    def __init__(self, cluster: FakeCluster):
        fake = cluster

        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                if self.headers.get("Authorization"):
                    fake.authorization.add(self.headers["Authorization"])
                code, payload = fake.handle(self.command, self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _reply

            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

        self.cluster = cluster
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # A short poll interval: shutdown() waits for it, once per test.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    def __enter__(self) -> RunningServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
