"""Does the controller node group have room, by CPU and memory *requests*, for every pod that runs on it at install?

The scheduling model (preflight/placement/model.py) says which pods can run on the controller group (taints,
selectors, affinity) but not whether they fit. This module adds the requests: pure functions over a
`ClusterModel` and the EKS add-ons a stack registers, so the numbers come from the rendered charts and from the
source tables below, never from the builders under test. The check packs pods onto the nodes one by one
(`CapacityReport.unplaced`; a total that fits in the sum proves nothing) and then checks that each rolling update
can progress (`CapacityReport.surge_unplaced`: a Deployment with maxUnavailable 0 needs room for a surge pod next
to the steady state).

**What runs there once everything is installed.** Every chart pod the model places on a controller node, except
Helm hooks and Jobs (they finish; a hook runs while the node is otherwise idle of its release): Deployments and
StatefulSets × `spec.replicas` (1 when unset), the Prometheus Operator's Prometheus / PrometheusAgent / Alertmanager
custom resources × replicas (× shards) with the CR's `resources` plus the config-reloader sidecar the operator adds
(its requests come from the rendered operator's `--config-reloader-*-request` flags), one pod of each DaemonSet per
controller node, and the EKS add-on pods the charts do not render (`ADDON_PODS`). A container without requests
counts as 0, as the scheduler counts it (k8s.io/kubernetes pkg/api/v1/resource `PodRequests`: absent = 0); a pod's
request is max(sum of its containers, largest init container) per resource.

**Allocatable per node** = the instance's vCPU and memory (`INSTANCE_TYPES`) minus the kube-reserved that nodeadm
writes on EKS AL2023 and the 100Mi hard-eviction threshold (awslabs/amazon-eks-ami nodeadm
`internal/kubelet/config.go` `withDefaultReservedResources` / `defaultKubeletSubConfig`, read at commit
01375496231a (main, 2026); `getCPUMillicoresToReserve`: 6% of the first core, 1% of the second, 0.5% of cores 3-4,
0.25% of each further core; `GetMemoryMebibytesToReserve`: 255Mi + 11Mi × maxPods; maxPods from
`eni-max-pods.txt`, i.e. the VPC CNI formula ENIs × (IPv4 per ENI - 1) + 2). The instance's memory is taken at its
nominal GiB; the kernel keeps a little more, so real allocatable memory is a few percent lower: memory headroom
below ~5% should be read as none.

**Nodes at install** are the group's `minSize` nodes, each of the smallest listed instance type (for On-Demand EKS
asks the ASG for the first listed type, but a capacity shortage can fall back to any listed type: the smallest is
the one that must fit).

Sources of the add-on requests (`ADDON_PODS`), read 2026-07 (the pinned add-on version first):

* coredns v1.13.2-eksbuild.11: Deployment coredns × 2, 100m / 70Mi each. EKS add-on default (AWS docs "Manage
  CoreDNS": requests cpu 100m, memory 70Mi; 2 replicas).
* kube-proxy v1.34.6-eksbuild.13: DaemonSet, 100m / 0. The EKS add-on manifest (AWS docs "Manage kube-proxy")
  requests cpu 100m and no memory.
* vpc-cni v1.21.1-eksbuild.3: DaemonSet aws-node, 50m / 0. aws/amazon-vpc-cni-k8s config/master/aws-k8s-cni.yaml
  and charts/aws-vpc-cni values.yaml: aws-node 25m + aws-eks-nodeagent 25m, no memory (init container 25m < 50m).
* eks-pod-identity-agent v1.3.10-eksbuild.1: DaemonSet, 0 / 0. aws/eks-charts stable/eks-pod-identity-agent
  values.yaml: `resources: {}`.
* aws-ebs-csi-driver v1.66.0-eksbuild.1: Deployment ebs-csi-controller × 2, 60m / 240Mi each; DaemonSet
  ebs-csi-node, 30m / 120Mi. kubernetes-sigs/aws-ebs-csi-driver charts/aws-ebs-csi-driver/values.yaml (read at
  commit 006340ee, an older chart than the add-on's): `controller.replicaCount: 2`, `controller.resources.requests`
  and `node.resources.requests` 10m / 40Mi, `node.tolerateAllTaints: true`; the templates give a sidecar with empty
  resources the controller's/node's (`default .Values.controller.resources ...`), so 6 controller containers
  (plugin, provisioner, attacher, snapshotter, resizer, liveness probe) and 3 node containers (plugin,
  node-driver-registrar, liveness probe) × 10m / 40Mi, counted in full as an upper bound.
* eks-node-monitoring-agent v1.7.0-eksbuild.1: rendered from its chart by the placement model
  (`placement.ADDON_CHARTS`), so it is a model pod, not listed here.

Every add-on above tolerates the controller group's CriticalAddonsOnly taint (coredns and the EBS CSI controller
by a CriticalAddonsOnly toleration, the DaemonSets by tolerating every taint), so all of them land there at install.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MI = 2**20
GI = 2**30
EVICTION_HARD_MEMORY = 100 * MI  # nodeadm defaultKubeletSubConfig: evictionHard memory.available 100Mi
HOSTNAME_KEY = "kubernetes.io/hostname"
OPERATOR_CR_KINDS = ("Prometheus", "PrometheusAgent", "Alertmanager")


@dataclass(frozen=True)
class InstanceType:
    vcpus: int
    memory_gib: int
    max_pods: int  # eni-max-pods.txt (= ENIs × (IPv4 addresses per ENI - 1) + 2)


# EC2 instance types the controller group may use (vCPU, memory: aws.amazon.com/ec2/instance-types, the general
# purpose and compute optimized tables; ENIs × IPv4 per ENI: EC2 User Guide "IP addresses per network interface per
# instance type"; max pods: awslabs/amazon-eks-ami templates/shared/runtime/eni-max-pods.txt, read 2026-07).
# large: 3 ENIs × 10 IPs -> 29 pods; xlarge and 2xlarge: 4 × 15 -> 58; t4g.small: 3 × 4 -> 11.
_SIZES = {"large": (2, 29), "xlarge": (4, 58), "2xlarge": (8, 58)}
_GIB_PER_VCPU = {"m": 4, "c": 2, "r": 8}
INSTANCE_TYPES: dict[str, InstanceType] = {
    f"{family}.{size}": InstanceType(vcpus, vcpus * _GIB_PER_VCPU[family[0]], pods)
    for family in ("m7g", "m6g", "m7i", "m6i", "m8g", "c7g", "c6g", "c7i", "c6i", "r7g", "r6g")
    for size, (vcpus, pods) in _SIZES.items()
}
INSTANCE_TYPES.update({"t4g.small": InstanceType(2, 2, 11), "t4g.medium": InstanceType(2, 4, 17)})


def kube_reserved_cpu_millicores(vcpus: int) -> int:
    """nodeadm `getCPUMillicoresToReserve`: 6% of core 1, 1% of core 2, 0.5% of cores 3-4, 0.25% of the rest."""
    reserved = 0.0
    for core in range(1, vcpus + 1):
        reserved += 60 if core == 1 else 10 if core == 2 else 5 if core <= 4 else 2.5
    return int(reserved)


def kube_reserved_memory(max_pods: int) -> int:
    """nodeadm `GetMemoryMebibytesToReserve`: 255Mi + 11Mi per pod the node may run, in bytes."""
    return (255 + 11 * max_pods) * MI


@dataclass(frozen=True)
class Allocatable:
    instance_type: str
    cpu_m: int
    memory: int  # bytes


def allocatable(instance_type: str) -> Allocatable:
    """What the kubelet offers pods on one node of the type."""
    if instance_type not in INSTANCE_TYPES:
        raise KeyError(
            f"{instance_type}: not in controller_capacity.INSTANCE_TYPES; add its vCPU, memory and max pods (with the "
            "source) before using it for the controller group"
        )
    shape = INSTANCE_TYPES[instance_type]
    return Allocatable(
        instance_type,
        shape.vcpus * 1000 - kube_reserved_cpu_millicores(shape.vcpus),
        shape.memory_gib * GI - kube_reserved_memory(shape.max_pods) - EVICTION_HARD_MEMORY,
    )


# -- requests ----------------------------------------------------------------------------------------------------

_MEMORY_SUFFIXES = {"Ki": 2**10, "Mi": MI, "Gi": GI, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "": 1}


def cpu_millicores(value: Any) -> int:
    """A CPU quantity in millicores ("50m" -> 50, "1" -> 1000, 0.5 -> 500)."""
    text = str(value)
    if text.endswith("m"):
        return int(text[:-1])
    return round(float(text) * 1000)


def memory_bytes(value: Any) -> int:
    """A memory quantity in bytes ("64Mi", "1Gi", "0")."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]i|[kMG])?", str(value))
    if match is None:
        raise ValueError(f"memory quantity {value!r} is not modelled")
    return round(float(match.group(1)) * _MEMORY_SUFFIXES[match.group(2) or ""])


def container_requests(container: Mapping[str, Any]) -> tuple[int, int]:
    """(millicores, bytes) one container requests; absent requests count as 0, as the scheduler counts them."""
    requests = (container.get("resources") or {}).get("requests") or {}
    return cpu_millicores(requests.get("cpu", 0)), memory_bytes(requests.get("memory", 0))


def pod_requests(spec: Mapping[str, Any]) -> tuple[int, int]:
    """A pod's effective requests: per resource, max(sum of the app containers and restartable init (sidecar)
    containers, the largest ordinary init container) (k8s.io/component-helpers resource `PodRequests`)."""
    cpu = memory = 0
    init_cpu = init_memory = 0
    for container in spec.get("containers") or []:
        c, m = container_requests(container)
        cpu, memory = cpu + c, memory + m
    for container in spec.get("initContainers") or []:
        c, m = container_requests(container)
        if container.get("restartPolicy") == "Always":
            cpu, memory = cpu + c, memory + m
        else:
            init_cpu, init_memory = max(init_cpu, c), max(init_memory, m)
    return max(cpu, init_cpu), max(memory, init_memory)


@dataclass(frozen=True)
class Workload:
    """Pods of one controller that run on the controller group: `replicas` copies, or one per node (DaemonSet)."""

    name: str
    cpu_m: int
    memory: int
    replicas: int = 1
    per_node: bool = False
    spread_by_hostname: bool = False  # required pod anti-affinity on kubernetes.io/hostname: one replica per node
    # A rolling update's extra pods, resolved to pod counts (`resolve_rolling_update`): a Deployment with
    # max_unavailable 0 keeps every old pod until a surge pod is Ready, so the roll needs room for one more pod.
    max_surge: int = 0
    max_unavailable: int = 1

    @property
    def needs_surge_room(self) -> bool:
        """Whether a rolling update only progresses if one more pod of this workload fits (per node for a DaemonSet)."""
        return self.max_surge > 0 and self.max_unavailable == 0

    def describe(self) -> str:
        count = "per node" if self.per_node else f"× {self.replicas}"
        return f"{self.name} ({count}): {self.cpu_m}m / {mebibytes(self.memory)}Mi"


def mebibytes(value: int) -> int:
    return round(value / MI)


def _scaled(value: Any, total: int, round_up: bool) -> int:
    """An IntOrString of pods: an int as is, "25%" of `total` rounded up or down
    (k8s.io/apimachinery intstr.GetScaledValueFromIntOrPercent)."""
    text = str(value)
    if text.endswith("%"):
        exact = int(text[:-1]) * total
        return -(-exact // 100) if round_up else exact // 100
    return int(text)


def resolve_rolling_update(strategy: Mapping[str, Any] | None, replicas: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) of a Deployment in pods, as the Deployment controller resolves them.

    Defaults 25% / 25% when unset (apps/v1 SetDefaults_Deployment); surge rounds up, unavailable down, and both 0
    become unavailable 1 (k8s.io/kubernetes pkg/controller/deployment/util `ResolveFenceposts`). Recreate stops
    every old pod first: no surge.
    """
    strategy = strategy or {}
    if strategy.get("type") == "Recreate":
        return 0, replicas
    rolling = strategy.get("rollingUpdate") or {}
    surge = _scaled(rolling.get("maxSurge", "25%"), replicas, round_up=True)
    unavailable = _scaled(rolling.get("maxUnavailable", "25%"), replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def resolve_daemonset_update(strategy: Mapping[str, Any] | None, nodes: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) of a DaemonSet in nodes: defaults 0 / 1 (apps/v1 SetDefaults_DaemonSet); OnDelete
    replaces nothing by itself."""
    strategy = strategy or {}
    if strategy.get("type") == "OnDelete":
        return 0, 1
    rolling = strategy.get("rollingUpdate") or {}
    surge = _scaled(rolling.get("maxSurge", 0), nodes, round_up=True)
    unavailable = _scaled(rolling.get("maxUnavailable", 1), nodes, round_up=True)
    return surge, unavailable


# The add-ons' Deployment strategies are not read: they count with the Deployment defaults (25% / 25%, i.e. for 2
# replicas 1 surge pod and none unavailable), the case that needs the most room during a roll.
_ADDON_SURGE, _ADDON_UNAVAILABLE = resolve_rolling_update(None, 2)

# EKS add-on pods the charts do not render (sources in the module docstring), by add-on name.
ADDON_PODS: dict[str, tuple[Workload, ...]] = {
    "coredns": (
        Workload(
            "add-on coredns: Deployment coredns",
            100,
            70 * MI,
            replicas=2,
            max_surge=_ADDON_SURGE,
            max_unavailable=_ADDON_UNAVAILABLE,
        ),
    ),
    "kube-proxy": (Workload("add-on kube-proxy: DaemonSet kube-proxy", 100, 0, per_node=True),),
    "vpc-cni": (Workload("add-on vpc-cni: DaemonSet aws-node", 50, 0, per_node=True),),
    "eks-pod-identity-agent": (
        Workload("add-on eks-pod-identity-agent: DaemonSet eks-pod-identity-agent", 0, 0, per_node=True),
    ),
    "aws-ebs-csi-driver": (
        Workload(
            "add-on aws-ebs-csi-driver: Deployment ebs-csi-controller",
            60,
            240 * MI,
            replicas=2,
            max_surge=_ADDON_SURGE,
            max_unavailable=_ADDON_UNAVAILABLE,
        ),
        Workload("add-on aws-ebs-csi-driver: DaemonSet ebs-csi-node", 30, 120 * MI, per_node=True),
    ),
    # Rendered from its chart by the placement model (placement.ADDON_CHARTS): counted as a model pod.
    "eks-node-monitoring-agent": (),
}


def _object_of(model: Any, pod: Any) -> Mapping[str, Any] | None:
    """The rendered object behind a chart pod (its name is "<release>: <Kind> <name>")."""
    release = model.releases.get(pod.release)
    if release is None:
        return None
    kind, name = pod.name.split(": ", 1)[1].split(" ", 1)
    return next((o for o in release.objects if o["kind"] == kind and o["metadata"]["name"] == name), None)


def _reloader_requests(model: Any, release: str) -> tuple[int, int]:
    """The config-reloader sidecar the Prometheus Operator adds to Prometheus/Alertmanager pods, from the rendered
    operator's flags (the chart passes its prometheusConfigReloader.resources as --config-reloader-*-request)."""
    for obj in model.releases[release].objects:
        for container in obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []:
            flags = dict(a.split("=", 1) for a in container.get("args") or [] if a.startswith("--config-reloader-"))
            if "--config-reloader-cpu-request" in flags:
                return (
                    cpu_millicores(flags["--config-reloader-cpu-request"]),
                    memory_bytes(flags["--config-reloader-memory-request"]),
                )
    raise AssertionError(f"{release}: no Prometheus Operator with --config-reloader-cpu-request; reloader not modelled")


def _spread_by_hostname(spec: Mapping[str, Any]) -> bool:
    terms = ((spec.get("affinity") or {}).get("podAntiAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or []
    return any(t.get("topologyKey") == HOSTNAME_KEY for t in terms)


def controller_workloads(model: Any, addons: Iterable[str]) -> list[Workload]:
    """Everything that runs on the controller group once installed: the model's pods that fit a controller node
    (hooks and Jobs excluded), with replicas and requests, plus the unrendered pods of the registered `addons`."""
    controller = [n for n in model.nodes if n.group == "controller"]
    workloads = []
    for pod in model.pods:
        if pod.hook or pod.kind in ("Job", "CronJob") or not any(not model.problems(pod, n) for n in controller):
            continue
        obj = _object_of(model, pod)
        if pod.kind == "DaemonSet":
            cpu, memory = pod_requests(pod.spec)
            # Resolved against one node: only whether a node ever holds an old and a new pod at once matters.
            surge, unavailable = resolve_daemonset_update(obj["spec"].get("updateStrategy") if obj else None, 1)
            workloads.append(
                Workload(pod.name, cpu, memory, per_node=True, max_surge=surge, max_unavailable=unavailable)
            )
        elif obj is not None and obj["kind"] in OPERATOR_CR_KINDS:
            spec = obj["spec"]
            cpu, memory = container_requests(spec)  # the CR's `resources` are the main container's
            reload_cpu, reload_memory = _reloader_requests(model, pod.release)
            replicas = int(spec.get("replicas") or 1) * int(spec.get("shards") or 1)
            workloads.append(Workload(pod.name, cpu + reload_cpu, memory + reload_memory, replicas=replicas))
        elif obj is not None and pod.kind in ("Deployment", "StatefulSet"):
            cpu, memory = pod_requests(pod.spec)
            replicas = 1 if obj["spec"].get("replicas") is None else int(obj["spec"]["replicas"])
            # A StatefulSet replaces a pod only after deleting it: no surge.
            surge, unavailable = (
                resolve_rolling_update(obj["spec"].get("strategy"), replicas) if pod.kind == "Deployment" else (0, 1)
            )
            workloads.append(
                Workload(
                    pod.name,
                    cpu,
                    memory,
                    replicas=replicas,
                    spread_by_hostname=_spread_by_hostname(pod.spec),
                    max_surge=surge,
                    max_unavailable=unavailable,
                )
            )
        else:
            raise AssertionError(f"{pod.name} ({pod.kind}) runs on the controller group; its replicas are not modelled")
    for addon in sorted(set(addons)):
        if addon not in ADDON_PODS:
            raise AssertionError(f"EKS add-on {addon}: its pods' requests are not in controller_capacity.ADDON_PODS")
        workloads += ADDON_PODS[addon]
    return workloads


# -- checks ------------------------------------------------------------------------------------------------------


@dataclass
class NodeState:
    name: str
    free_cpu_m: int
    free_memory: int
    pods: list[str] = field(default_factory=list)


def _fits(node: NodeState, w: Workload) -> bool:
    return node.free_cpu_m >= w.cpu_m and node.free_memory >= w.memory


def _bind(node: NodeState, w: Workload) -> None:
    node.free_cpu_m -= w.cpu_m
    node.free_memory -= w.memory
    node.pods.append(w.name)


@dataclass(frozen=True)
class CapacityReport:
    nodes: int
    node: Allocatable
    workloads: tuple[Workload, ...]

    @property
    def allocatable_cpu_m(self) -> int:
        return self.nodes * self.node.cpu_m

    @property
    def allocatable_memory(self) -> int:
        return self.nodes * self.node.memory

    @property
    def requested_cpu_m(self) -> int:
        return sum(w.cpu_m * (self.nodes if w.per_node else w.replicas) for w in self.workloads)

    @property
    def requested_memory(self) -> int:
        return sum(w.memory * (self.nodes if w.per_node else w.replicas) for w in self.workloads)

    def _pack(self) -> tuple[list[NodeState], list[str]]:
        """First-fit-decreasing bin packing (by CPU, then memory) of every pod onto the nodes, node by node: the
        nodes as packed and the pods left over. Never sums: a pod fits a node or it does not.

        DaemonSet pods go first, one on every node (the DaemonSet controller binds them per node); a workload with
        required hostname anti-affinity puts each replica on a different node; the rest go biggest first onto the
        first node with room. First-fit-decreasing can fail where some packing exists, so a failure here means
        "no simple packing", which for a handful of pods on 2-4 nodes is what the scheduler would also hit.
        """
        nodes = [NodeState(f"node {i + 1}", self.node.cpu_m, self.node.memory) for i in range(self.nodes)]
        left = []
        for w in (w for w in self.workloads if w.per_node):
            for node in nodes:
                if _fits(node, w):
                    _bind(node, w)
                else:
                    left.append(f"{w.describe()} does not fit on {node.name} ({self._free(node)})")
        replicas = [(w, i) for w in self.workloads if not w.per_node for i in range(w.replicas)]
        # Spread workloads first (they are the constrained ones), then biggest first.
        replicas.sort(key=lambda item: (not item[0].spread_by_hostname, -item[0].cpu_m, -item[0].memory, item[0].name))
        for w, index in replicas:
            problem = self._place(nodes, w, f"replica {index + 1}")
            if problem:
                left.append(problem)
        return nodes, left

    def _place(self, nodes: list[NodeState], w: Workload, which: str) -> str | None:
        """Bind one pod of `w` to the first node with room (honouring hostname anti-affinity), or say why not."""
        candidates = [n for n in nodes if not (w.spread_by_hostname and w.name in n.pods)]
        target = next((n for n in candidates if _fits(n, w)), None)
        if target is not None:
            _bind(target, w)
            return None
        why = (
            f"{which} needs a node without another replica (hostname anti-affinity); "
            if w.spread_by_hostname and len(candidates) < len(nodes)
            else ""
        )
        return f"{w.describe()}: {why}no node has room; free: " + ", ".join(f"{n.name} {self._free(n)}" for n in nodes)

    def unplaced(self) -> list[str]:
        """The pods the packing (`_pack`) leaves over at steady state."""
        return self._pack()[1]

    def surge_unplaced(self) -> list[str]:
        """The rolling updates that could never progress, each checked on top of the steady-state packing.

        A Deployment whose maxUnavailable resolves to 0 (`resolve_rolling_update`; the default for 1-3 replicas)
        keeps all its old pods until a surge pod is Ready, so one more pod of it must fit, with its anti-affinity
        (the surge pod carries the same labels, so with required hostname anti-affinity it needs a node with no
        replica at all). A DaemonSet with maxSurge starts the new pod next to the old one on a node. Each roll is
        checked alone: when several roll at once (one `pulumi up` bumping several charts) a surge pod that waits
        gets its room as soon as another roll has swapped its pods, so a roll that fits alone always finishes;
        one that does not fit alone never does. With maxUnavailable >= 1 an old pod goes first and frees its slot.
        """
        nodes, left = self._pack()
        if left:
            return []  # the steady state already fails; `unplaced` says how
        problems = []
        for w in (w for w in self.workloads if w.needs_surge_room):
            trial = [NodeState(n.name, n.free_cpu_m, n.free_memory, list(n.pods)) for n in nodes]
            if w.per_node:
                problems += [
                    f"rolling update of {w.describe()}: maxSurge starts a new pod next to the old one, which does not "
                    f"fit on {node.name} ({self._free(node)})"
                    for node in trial
                    if not _fits(node, w)
                ]
                continue
            problem = self._place(trial, w, "the surge pod")
            if problem:
                problems.append(
                    f"rolling update of {problem} (maxSurge {w.max_surge}, maxUnavailable 0: the old pods stay until "
                    "a new one is Ready, so the roll never progresses)"
                )
        return problems

    @staticmethod
    def _free(node: NodeState) -> str:
        return f"{node.free_cpu_m}m / {mebibytes(node.free_memory)}Mi free"


def smallest(instance_types: Sequence[str]) -> str:
    """The listed type with the least allocatable CPU, then memory: the one every install must fit."""
    return min(instance_types, key=lambda t: (allocatable(t).cpu_m, allocatable(t).memory, t))


def report(model: Any, addons: Iterable[str], min_size: int, instance_types: Sequence[str]) -> CapacityReport:
    """The controller group at `min_size` nodes of the smallest listed type against what runs there."""
    return CapacityReport(min_size, allocatable(smallest(instance_types)), tuple(controller_workloads(model, addons)))
