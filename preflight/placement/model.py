"""A scheduling model of one stack: which node every pod the program causes could run on.

Nodes, pods and rules are built from what the program registers and what the real charts render, never
from the builders under test:

* **Nodes.** The controller managed node group (its registered labels, taints and instance types, plus
  the labels EKS and the kubelet put on every node), and one node shape per NodePool, instance type and
  capacity type (GPU pools list their types; a general pool gets one representative type per
  architecture). A Karpenter node carries its NodePool's template labels and taints and the labels the
  AWS provider derives from the instance type: every instance-type requirement with a single value
  becomes a label (aws/karpenter-provider-aws v1.14.1 `pkg/cloudprovider/cloudprovider.go`
  `instanceToNodeClaim`; the requirements are in `pkg/providers/instancetype/types.go`
  `computeRequirements`). After boot the NVIDIA software adds labels, modelled in `settle_labels` from
  the sources cited there; a labeller only labels a node its own pod can run on, so a DaemonSet that
  cannot reach a GPU node shows up as missing labels and missing capacity, as on a real cluster.
  Only the controller group exists when the Helm releases are installed: Karpenter has launched nothing.
  GPU counts and models come from components/catalog.py, a fact table checked elsewhere against
  Karpenter's instance-type reference; advertised capacity is worked out from the rendered device-plugin
  configs and the upstream mig-parted layouts, and compared with the NodeOverlays and the contracts.
* **Pods.** Every pod template in every release, rendered through the real chart (hooks included); the
  GPU Operator's operands as the operator builds them from the rendered ClusterPolicy (`OPERANDS`); every
  GPU pool's workload contract from the stack outputs; and the example workloads.
* **Rules.** Taints against tolerations, nodeSelector, required node affinity, and extended resources and huge
  pages (`fit_problems`; a node has EFA devices where the EFA device plugin runs and its node class attaches EFA
  interfaces, and the huge pages its node class's user data reserves). Not modelled: CPU and memory requests, pod
  (anti-)affinity and topology spread, and the node-condition tolerations the DaemonSet controller adds (they
  concern only node.kubernetes.io/* taints, which the model's nodes do not carry), and the order in which
  labellers race on a new node (each round applies NFD, then the operator, then GFD).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import yaml

from components.gpu import catalog
from preflight.model.harness import REPO_ROOT, StackRun
from preflight.model.objects import HELM_RELEASE, helm_release_of, manifest_of
from preflight.placement import mig_parted

NVIDIA_CHARTS = ("nvidia-device-plugin", "gpu-operator")
EFA_CHART = "aws-efa-k8s-device-plugin"
POD_KINDS = ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job", "CronJob", "Pod")
SCHEDULING_EFFECTS = ("NoSchedule", "NoExecute")  # PreferNoSchedule never keeps a pod off a node
EKS_TAINT_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
# Resources every node has and the model does not count; anything else with a "/" is an extended resource.
STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage", "pods")

NVIDIA_VENDOR_LABEL = "feature.node.kubernetes.io/pci-10de.present"  # NFD: PCI vendor 10de is NVIDIA
GPU_PRESENT = "nvidia.com/gpu.present"
DEVICE_PLUGIN_CONFIG = "nvidia.com/device-plugin.config"
MIG_CONFIG = "nvidia.com/mig.config"
GPU_RESOURCE = "nvidia.com/gpu"
EFA_RESOURCE = "vpc.amazonaws.com/efa"
HUGEPAGES_PREFIX = "hugepages-"
ZONE_LABEL = "topology.kubernetes.io/zone"
# apimachinery resource.Quantity suffixes the manifests here use (binary and decimal).
_QUANTITY_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "": 1}


# -- rules -------------------------------------------------------------------------------------------------------
# Kubernetes 1.34: k8s.io/api core/v1 toleration.go `ToleratesTaint`; the TaintToleration filter only
# considers NoSchedule and NoExecute taints; node affinity follows component-helpers
# scheduling/corev1/nodeaffinity (terms ORed, expressions ANDed, an empty term list matches nothing).


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """Whether one toleration tolerates one taint."""
    if toleration.get("effect") and toleration["effect"] != taint["effect"]:
        return False
    if toleration.get("key") and toleration["key"] != taint["key"]:
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def untolerated_taints(
    tolerations: Sequence[Mapping[str, Any]] | None, taints: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The node's scheduling taints that none of the tolerations tolerates."""
    return [
        t
        for t in taints
        if t["effect"] in SCHEDULING_EFFECTS and not any(tolerates(tol, t) for tol in tolerations or ())
    ]


def expression_matches(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """One NodeSelectorRequirement against a node's labels."""
    key, operator, values = expression["key"], expression["operator"], [str(v) for v in expression.get("values") or ()]
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt"):
        if not present or len(values) != 1:
            return False
        try:
            actual, bound = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return actual > bound if operator == "Gt" else actual < bound
    raise ValueError(f"unknown node selector operator {operator!r}")


def term_matches(term: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A NodeSelectorTerm: its expressions ANDed; a term with none matches nothing."""
    if term.get("matchFields"):
        raise ValueError("matchFields (metadata.name) is not modelled; no chart here uses it")
    expressions = term.get("matchExpressions") or []
    return bool(expressions) and all(expression_matches(e, labels) for e in expressions)


def _describe(expression: Mapping[str, Any]) -> str:
    values = expression.get("values")
    return f"{expression['key']} {expression['operator']}" + (f" {list(values)}" if values else "")


def quantity(value: Any) -> int:
    """A Kubernetes resource quantity as an integer ("5120Mi" -> bytes, 8 -> 8)."""
    text = str(value)
    match = re.fullmatch(r"(\d+)([KMGT]i|[kMG])?", text)
    if match is None:
        raise ValueError(f"resource quantity {text!r} is not modelled")
    return int(match.group(1)) * _QUANTITY_SUFFIXES[match.group(2) or ""]


def requested_extended_resources(pod_spec: Mapping[str, Any]) -> dict[str, int]:
    """Extended resources and huge pages (in bytes) the pod's containers ask for (limits, else requests), summed.
    Huge pages are node capacity the kubelet reports and a pod must request like an extended resource."""
    wanted: dict[str, int] = {}
    for container in pod_spec.get("containers") or []:
        resources = container.get("resources") or {}
        asks = {**(resources.get("requests") or {}), **(resources.get("limits") or {})}
        for name, amount in asks.items():
            if ("/" in name or name.startswith(HUGEPAGES_PREFIX)) and name not in STANDARD_RESOURCES:
                wanted[name] = wanted.get(name, 0) + quantity(amount)
    return wanted


def fit_problems(
    pod_spec: Mapping[str, Any],
    labels: Mapping[str, str],
    taints: Sequence[Mapping[str, Any]],
    capacity: Mapping[str, int] | None = None,
) -> list[str]:
    """Why a pod cannot run on a node ([] when it can). `capacity=None` skips the extended-resource check."""
    problems = [
        f"taint {t['key']}{'=' + t['value'] if t.get('value') else ''}:{t['effect']} is not tolerated"
        for t in untolerated_taints(pod_spec.get("tolerations"), taints)
    ]
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(key) != str(value):
            have = f"{key}={labels[key]}" if key in labels else f"no {key} label"
            problems.append(f"nodeSelector {key}={value}: node has {have}")
    required = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if required is not None:
        terms = required.get("nodeSelectorTerms") or []
        if not any(term_matches(term, labels) for term in terms):
            wanted = " OR ".join(
                "(" + " AND ".join(_describe(e) for e in term.get("matchExpressions") or []) + ")" for term in terms
            )
            problems.append(f"required node affinity {wanted or '(no terms)'} matches no label of the node")
    if capacity is not None:
        for name, amount in sorted(requested_extended_resources(pod_spec).items()):
            if capacity.get(name, 0) < amount:
                problems.append(f"requests {name}: {amount}, node advertises {capacity.get(name, 0)}")
    return problems


# -- nodes -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One node shape: as launched (`launch_labels`) and once the NVIDIA software has labelled it (`labels`)."""

    name: str
    group: str  # "controller" or the NodePool's name
    role: str  # "controller" | "general" | "gpu"
    instance_type: str
    launch_labels: Mapping[str, str]
    taints: tuple[Mapping[str, Any], ...]
    at_install: bool  # exists when the Helm releases are installed
    gpu: catalog.InstanceType | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    capacity: Mapping[str, int] = field(default_factory=dict)  # extended resources the kubelet advertises
    karpenter_capacity: Mapping[str, int] = field(default_factory=dict)  # what Karpenter believes (EC2 + overlays)
    # EFA interfaces the node class attaches at launch (its efa-only networkInterfaces; 0 without them), and the
    # huge pages its user data reserves (resource name -> bytes), which the kubelet reports as capacity.
    efa_interfaces: int = 0
    hugepages: Mapping[str, int] = field(default_factory=dict)

    @property
    def cpu_only(self) -> bool:
        return self.gpu is None


def _graviton(instance_type: str) -> bool:
    # AWS names Graviton families with a "g" after the generation: m7g, c8gd, r6gn (not g5, p5: "g" first).
    return re.match(r"^[a-z]+\d+[a-z]*g[a-z]*\.", instance_type) is not None


def controller_nodes(run: StackRun, region: str) -> list[Node]:
    """The managed node group's nodes: one shape per instance type, as EKS labels and taints them."""
    group = run.one("eks:index:ManagedNodeGroup").plain_inputs()
    ami_arch = "arm64" if "ARM_64" in group["amiType"] else "amd64"
    nodes = []
    for instance_type in group["instanceTypes"]:
        arch = "arm64" if _graviton(instance_type) else "amd64"
        if arch != ami_arch:
            raise AssertionError(f"controller group: {instance_type} is {arch} but the AMI type is {group['amiType']}")
        labels = {
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": arch,
            "kubernetes.io/hostname": f"ip-10-0-0-1.{region}.compute.internal",
            "node.kubernetes.io/instance-type": instance_type,
            "topology.kubernetes.io/region": region,
            "topology.kubernetes.io/zone": f"{region}a",
            "eks.amazonaws.com/nodegroup": group["nodeGroupName"],
            "eks.amazonaws.com/capacityType": group.get("capacityType", "ON_DEMAND"),
            "eks.amazonaws.com/nodegroup-image": "ami-0123456789abcdef0",
            **group.get("labels", {}),
        }
        taints = tuple(
            {
                "key": t["key"],
                **({"value": t["value"]} if t.get("value") else {}),
                "effect": EKS_TAINT_EFFECTS[t["effect"]],
            }
            for t in group.get("taints", [])
        )
        nodes.append(
            Node(
                f"controller {instance_type}",
                "controller",
                "controller",
                instance_type,
                labels,
                taints,
                at_install=True,
            )
        )
    return nodes


def _requirements(pool: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {r["key"]: r for r in pool["spec"]["template"]["spec"].get("requirements", [])}


def _size_for_cpus(cpus: int) -> str:
    return {1: "medium", 2: "large", 4: "xlarge"}.get(cpus) or f"{cpus // 4}xlarge"


def _karpenter_labels(
    pool: Mapping[str, Any],
    instance_type: str,
    capacity_type: str,
    region: str,
    *,
    arch: str,
    cpus: int,
    memory_mib: int,
    gpu: catalog.InstanceType | None,
) -> dict[str, str]:
    family, size = instance_type.split(".", 1)
    parts = re.match(r"^([a-z]+)(\d+)", family)
    assert parts is not None, f"not an EC2 instance family: {family}"
    labels = {
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": arch,
        "kubernetes.io/hostname": f"ip-10-0-64-1.{region}.compute.internal",
        "node.kubernetes.io/instance-type": instance_type,
        "topology.kubernetes.io/region": region,
        "topology.kubernetes.io/zone": f"{region}a",
        "karpenter.sh/nodepool": pool["metadata"]["name"],
        "karpenter.sh/capacity-type": capacity_type,
        "karpenter.sh/registered": "true",
        "karpenter.sh/initialized": "true",
        "karpenter.k8s.aws/ec2nodeclass": pool["spec"]["template"]["spec"]["nodeClassRef"]["name"],
        "karpenter.k8s.aws/instance-family": family,
        "karpenter.k8s.aws/instance-size": size,
        "karpenter.k8s.aws/instance-category": parts.group(1),
        "karpenter.k8s.aws/instance-generation": parts.group(2),
        "karpenter.k8s.aws/instance-cpu": str(cpus),
        "karpenter.k8s.aws/instance-memory": str(memory_mib),
        "karpenter.k8s.aws/instance-hypervisor": "nitro",
    }
    if gpu is not None:
        labels.update(
            {
                "karpenter.k8s.aws/instance-gpu-name": gpu.gpu_model.name,
                "karpenter.k8s.aws/instance-gpu-manufacturer": "nvidia",
                "karpenter.k8s.aws/instance-gpu-count": str(gpu.gpus),
                "karpenter.k8s.aws/instance-gpu-memory": str(gpu.gpu_model.memory_mib),
            }
        )
    if capacity_type == "reserved":
        # Only reserved nodes carry these (v1.14 tasks/odcrs.md); a placeholder reservation of the default type.
        labels.update(
            {
                "karpenter.k8s.aws/capacity-reservation-id": "cr-0123456789abcdef0",
                "karpenter.k8s.aws/capacity-reservation-type": "default",
                "karpenter.k8s.aws/capacity-reservation-interruptible": "false",
            }
        )
    # A pool pinned to one zone (EFA pools) launches only there, so its nodes carry that zone.
    zones = _requirements(pool).get(ZONE_LABEL, {}).get("values") or []
    if len(zones) == 1:
        labels[ZONE_LABEL] = zones[0]
    # NodePool template labels win over derived ones (kubernetes-sigs/karpenter PopulateNodeClaimDetails).
    labels.update(pool["spec"]["template"].get("metadata", {}).get("labels", {}))
    return labels


def efa_interfaces_of(node_class: Mapping[str, Any] | None) -> int:
    """EFA interfaces a node class attaches: its efa-only networkInterfaces (aws/karpenter-provider-aws v1.14.1
    pkg/providers/launchtemplate/launchtemplate.go `generateNetworkInterfaces` uses them as listed)."""
    interfaces = ((node_class or {}).get("spec") or {}).get("networkInterfaces") or []
    return sum(1 for i in interfaces if i["interfaceType"] == "efa-only")


def hugepages_of(node_class: Mapping[str, Any] | None) -> dict[str, int]:
    """The 2 MiB huge pages a node class's user data reserves (`vm.nr_hugepages=N`), in bytes, as the kubelet
    reports them: hugepages-2Mi (2 MiB is the default huge page size on x86_64 and arm64 4k-page kernels)."""
    user_data = ((node_class or {}).get("spec") or {}).get("userData") or ""
    counts = {int(n) for n in re.findall(r"sysctl -w vm\.nr_hugepages=(\d+)", user_data)}
    if len(counts) > 1:
        raise AssertionError(f"user data sets vm.nr_hugepages to several values: {sorted(counts)}")
    return {"hugepages-2Mi": counts.pop() * 2**21} if counts else {}


def karpenter_nodes(
    pools: Iterable[Mapping[str, Any]], region: str, node_classes: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Node]:
    """A node shape per NodePool, instance type (a representative per architecture for general pools) and
    capacity type; `node_classes` (by name) give the EFA interfaces and huge pages of the pools' nodes."""
    nodes = []
    for pool in pools:
        name = pool["metadata"]["name"]
        node_class = (node_classes or {}).get(pool["spec"]["template"]["spec"]["nodeClassRef"]["name"])
        requirements = _requirements(pool)
        capacity_types = requirements["karpenter.sh/capacity-type"]["values"]
        taints = tuple(dict(t) for t in pool["spec"]["template"]["spec"].get("taints", []))
        shapes: list[tuple[str, str, int, int, catalog.InstanceType | None]] = []
        if "node.kubernetes.io/instance-type" in requirements:
            for type_name in requirements["node.kubernetes.io/instance-type"]["values"]:
                instance = catalog.instance_type(type_name)
                shapes.append((type_name, instance.architecture, instance.vcpus, instance.memory_mib, instance))
        else:
            category = requirements["karpenter.k8s.aws/instance-category"]["values"][0]
            generation = int(requirements.get("karpenter.k8s.aws/instance-generation", {}).get("values", ["6"])[0]) + 1
            cpus = int(requirements.get("karpenter.k8s.aws/instance-cpu", {}).get("values", ["2"])[0])
            for arch in requirements["kubernetes.io/arch"]["values"]:
                type_name = f"{category}{generation}{'g' if arch == 'arm64' else 'i'}.{_size_for_cpus(cpus)}"
                shapes.append((type_name, arch, cpus, cpus * 4096, None))
        for type_name, arch, cpus, memory, gpu in shapes:
            for capacity_type in capacity_types:
                labels = _karpenter_labels(
                    pool, type_name, capacity_type, region, arch=arch, cpus=cpus, memory_mib=memory, gpu=gpu
                )
                unmet = [_describe(r) for r in requirements.values() if not expression_matches(r, labels)]
                if unmet:  # the model's own consistency: a shape must be one the NodePool can launch
                    raise AssertionError(f"node shape {type_name} does not satisfy NodePool {name}: {unmet}")
                nodes.append(
                    Node(
                        f"{name} {type_name} {capacity_type}",
                        name,
                        "gpu" if gpu else "general",
                        type_name,
                        labels,
                        taints,
                        at_install=False,
                        gpu=gpu,
                        efa_interfaces=efa_interfaces_of(node_class),
                        hugepages=hugepages_of(node_class),
                    )
                )
    return nodes


# -- pods --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pod:
    """One pod template and where it comes from."""

    name: str  # "<release>: <Kind> <name>", "operand <name>", "contract <pool>", "example <file>: <name>"
    kind: str
    spec: Mapping[str, Any]
    release: str | None = None
    chart: str | None = None
    template: str | None = None  # the chart template path
    hook: str | None = None  # helm.sh/hook, for hooks
    role: str | None = None  # what the pod does, for the labellers: "nfd-worker", "device-plugin", ...


# Custom resources the Prometheus Operator turns into a StatefulSet whose pods take the resource's nodeSelector,
# tolerations and affinity (prometheus-operator v0.93 pkg/prometheus/server/statefulset.go, pkg/prometheus/agent,
# pkg/alertmanager/statefulset.go: spec.NodeSelector, spec.Tolerations, spec.Affinity copied into the pod spec).
OPERATOR_POD_KINDS = ("Prometheus", "PrometheusAgent", "Alertmanager")
MONITORING_GROUP = "monitoring.coreos.com/"


def pod_spec_of(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod spec inside a workload object (or a Prometheus Operator resource), or None for other kinds."""
    kind = obj.get("kind")
    if kind in OPERATOR_POD_KINDS and str(obj.get("apiVersion", "")).startswith(MONITORING_GROUP):
        spec = obj.get("spec") or {}
        return {key: spec[key] for key in ("nodeSelector", "tolerations", "affinity") if key in spec}
    if kind == "Pod":
        return obj.get("spec") or {}
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    if kind in POD_KINDS:
        return obj["spec"]["template"]["spec"]
    return None


# Which chart template runs which component (paths as Helm names them, below the release's chart).
_ROLE_BY_TEMPLATE = {
    "templates/daemonset-device-plugin.yml": "device-plugin",
    "templates/daemonset-gfd.yml": "gfd",
    "templates/daemonset-mps-control-daemon.yml": "mps-control-daemon",
    "templates/worker.yaml": "nfd-worker",
    "templates/master.yaml": "nfd-master",
    "templates/nfd-gc.yaml": "nfd-gc",
    "templates/operator.yaml": "gpu-operator",
    # Helm names a subchart's templates "<parent>/charts/<sub>/templates/...": Grafana's and kube-state-metrics'
    # deployment.yaml must not be taken for Karpenter's.
    "karpenter/templates/deployment.yaml": "karpenter",
}


# Charts whose every pod has one role, whatever its template is called.
_ROLE_BY_CHART = {EFA_CHART: "efa-device-plugin"}


def chart_pods(release: Any) -> list[Pod]:
    """Every pod template one rendered release creates, hooks included."""
    pods = []
    for obj in release.objects:
        spec = pod_spec_of(obj)
        if spec is None:
            continue
        annotations = obj["metadata"].get("annotations") or {}
        template = annotations.get("gpu-eks.test/template", "")
        role = _ROLE_BY_CHART.get(release.chart) or next(
            (r for suffix, r in _ROLE_BY_TEMPLATE.items() if template.endswith(suffix)), None
        )
        pods.append(
            Pod(
                f"{release.release}: {obj['kind']} {obj['metadata']['name']}",
                "StatefulSet" if obj["kind"] in OPERATOR_POD_KINDS else obj["kind"],
                spec,
                release=release.release,
                chart=release.chart,
                template=template,
                hook=annotations.get("helm.sh/hook"),
                role=role,
            )
        )
    return pods


@dataclass(frozen=True)
class Operand:
    """A DaemonSet the GPU Operator creates from its ClusterPolicy."""

    name: str
    role: str
    spec_key: str | None  # ClusterPolicy spec key with `enabled`; None = always deployed
    enabled_by_default: bool
    node_selector: Mapping[str, str]


# NVIDIA/gpu-operator v26.7.0: names and nodeSelectors from assets/<state>/*daemonset.yaml; which states
# run from controllers/state_manager.go `isStateEnabled` (operator-validation always; mps-control-daemon
# with the device plugin); defaults of `enabled` from api/nvidia/v1/clusterpolicy_types.go `IsEnabled`.
# Every operand's own toleration is nvidia.com/gpu Exists NoSchedule, replaced by the ClusterPolicy's
# daemonsets.tolerations when set (controllers/object_controls.go `applyCommonDaemonsetConfig`).
# The sandbox/vGPU/kata/cc operands need sandboxWorkloads.enabled, which the model refuses.
OPERANDS = (
    Operand("nvidia-driver-daemonset", "driver", "driver", True, {"nvidia.com/gpu.deploy.driver": "true"}),
    Operand(
        "nvidia-container-toolkit-daemonset",
        "container-toolkit",
        "toolkit",
        True,
        {"nvidia.com/gpu.deploy.container-toolkit": "true"},
    ),
    Operand(
        "nvidia-operator-validator",
        "operator-validator",
        None,
        True,
        {"nvidia.com/gpu.deploy.operator-validator": "true"},
    ),
    Operand(
        "nvidia-device-plugin-daemonset",
        "device-plugin",
        "devicePlugin",
        True,
        {"nvidia.com/gpu.deploy.device-plugin": "true"},
    ),
    Operand(
        "nvidia-device-plugin-mps-control-daemon",
        "mps-control-daemon",
        "devicePlugin",
        True,
        {"nvidia.com/gpu.deploy.device-plugin": "true", "nvidia.com/mps.capable": "true"},
    ),
    Operand("nvidia-dcgm", "dcgm", "dcgm", True, {"nvidia.com/gpu.deploy.dcgm": "true"}),
    Operand(
        "nvidia-dcgm-exporter", "dcgm-exporter", "dcgmExporter", True, {"nvidia.com/gpu.deploy.dcgm-exporter": "true"}
    ),
    Operand("gpu-feature-discovery", "gfd", "gfd", True, {"nvidia.com/gpu.deploy.gpu-feature-discovery": "true"}),
    Operand("nvidia-mig-manager", "mig-manager", "migManager", True, {"nvidia.com/gpu.deploy.mig-manager": "true"}),
    Operand(
        "nvidia-node-status-exporter",
        "node-status-exporter",
        "nodeStatusExporter",
        False,
        {"nvidia.com/gpu.deploy.node-status-exporter": "true"},
    ),
)
OPERAND_DEFAULT_TOLERATIONS = ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},)
# The labels the operator puts on a GPU node for the container workload config (state_manager.go gpuStateLabels).
OPERATOR_STATE_LABELS = (
    "driver",
    "gpu-feature-discovery",
    "container-toolkit",
    "device-plugin",
    "dcgm",
    "dcgm-exporter",
    "node-status-exporter",
    "operator-validator",
    "client",
)


def operand_pods(cluster_policy: Mapping[str, Any], release: str) -> list[Pod]:
    """The operand DaemonSets the operator would create from a rendered ClusterPolicy."""
    spec = cluster_policy["spec"]
    if (spec.get("sandboxWorkloads") or {}).get("enabled"):
        raise NotImplementedError("sandbox workloads (vGPU, kata, vfio) are not modelled")
    tolerations = (spec.get("daemonsets") or {}).get("tolerations") or list(OPERAND_DEFAULT_TOLERATIONS)
    pods = []
    for operand in OPERANDS:
        enabled = operand.enabled_by_default
        if operand.spec_key is not None:
            enabled = (spec.get(operand.spec_key) or {}).get("enabled", operand.enabled_by_default)
        if enabled:
            pods.append(
                Pod(
                    f"{release} operand: DaemonSet {operand.name}",
                    "DaemonSet",
                    {"nodeSelector": dict(operand.node_selector), "tolerations": list(tolerations)},
                    release=release,
                    chart="gpu-operator",
                    role=operand.role,
                )
            )
    return pods


def contract_pod(pool: str, contract: Mapping[str, Any]) -> Pod:
    """A pod written exactly as the pool's workload contract says: its resource, nodeSelector and tolerations."""
    limits: dict[str, Any] = {contract["resourceName"]: 1}
    efa = contract.get("efa")
    if efa:
        # An EFA pool's contract: a node's EFA devices (the same on every type of the pool) and huge pages.
        limits[efa["resourceName"]] = min(efa["devicesPerNode"].values())
        limits[efa["hugepages"]["resourceName"]] = efa["hugepages"]["perNode"]
    return Pod(
        f"contract {pool}",
        "Pod",
        {
            "nodeSelector": dict(contract["nodeSelector"]),
            "tolerations": [dict(t) for t in contract["tolerations"]],
            "containers": [{"name": "workload", "resources": {"limits": limits}}],
        },
    )


SMOKE_DIR = REPO_ROOT / "examples" / "smoke"
NCCL_DIR = REPO_ROOT / "examples" / "nccl-tests"
GPU_WORKLOAD = REPO_ROOT / "examples" / "gpu-workload" / "workload.py"


@cache
def _workload_module():
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("gpu_workload_example", GPU_WORKLOAD)
    assert spec is not None and spec.loader is not None, GPU_WORKLOAD
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def example_pods(stack: str, gpu_pools: Mapping[str, Any]) -> list[Pod]:
    """The smoke manifests whose pool the stack has, and the Jobs examples/gpu-workload would create."""
    pods = []
    for path in sorted(SMOKE_DIR.glob("*.yaml")):
        for obj in yaml.safe_load_all(path.read_text()):
            spec = pod_spec_of(obj)
            if spec is not None and (spec.get("nodeSelector") or {}).get("gpu-eks/pool") in gpu_pools:
                pods.append(Pod(f"example {path.name}: {obj['kind']} {obj['metadata']['name']}", obj["kind"], spec))
    # The NCCL jobs are sized for an EFA pool: their pods (launcher and workers) go where their pool is one.
    for path in sorted(NCCL_DIR.glob("*.yaml")):
        for obj in yaml.safe_load_all(path.read_text()):
            if not obj or obj.get("kind") != "MPIJob":
                continue
            for role, replica in obj["spec"]["mpiReplicaSpecs"].items():
                spec = replica["template"]["spec"]
                pool = str((spec.get("nodeSelector") or {}).get("gpu-eks/pool", ""))
                if (gpu_pools.get(pool) or {}).get("efa"):
                    pods.append(Pod(f"example {path.name}: MPIJob {obj['metadata']['name']} {role}", "Pod", spec))
    workload = _workload_module()
    for contract in workload.parse_gpu_pools(stack, gpu_pools) if gpu_pools else []:
        job = workload.smoke_job(contract)
        pods.append(Pod(f"example gpu-workload: Job {job['metadata']['name']}", "Job", job["spec"]["template"]["spec"]))
    return pods


# -- what the NVIDIA software does to a GPU node ----------------------------------------------------------------


@dataclass(frozen=True)
class DevicePluginConfigs:
    """The named device-plugin configs as the plugin reads them: ConfigMap data and the fallback name."""

    configs: Mapping[str, Mapping[str, Any]]
    default: str | None

    def for_node(self, labels: Mapping[str, str]) -> Mapping[str, Any] | None:
        # config-manager (k8s-device-plugin v0.20.0 cmd/config-manager/main.go): the node label's value;
        # an unknown value is never applied; no label falls back to the default config.
        name = labels.get(DEVICE_PLUGIN_CONFIG, self.default)
        return self.configs.get(name) if name is not None else None


def _configs_from(objects: Sequence[Mapping[str, Any]], configmap: str, default: str | None) -> DevicePluginConfigs:
    data = next(
        (o.get("data") or {} for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == configmap), {}
    )
    return DevicePluginConfigs({k: yaml.safe_load(v) for k, v in data.items()}, default)


def device_plugin_configs(release: Any) -> DevicePluginConfigs:
    """Where the release's device plugin reads its configs: the chart's DaemonSet, or the ClusterPolicy."""
    for obj in release.objects:
        if obj["kind"] == "ClusterPolicy":
            config = (obj["spec"].get("devicePlugin") or {}).get("config") or {}
            return _configs_from(release.objects, config.get("name", ""), config.get("default"))
        if obj["kind"] == "DaemonSet" and (obj["metadata"].get("annotations") or {}).get(
            "gpu-eks.test/template", ""
        ).endswith("templates/daemonset-device-plugin.yml"):
            spec = obj["spec"]["template"]["spec"]
            configmap = next(
                v["configMap"]["name"] for v in spec.get("volumes", []) if v["name"] == "available-configs"
            )
            env = {e["name"]: e.get("value") for c in spec.get("containers", []) for e in c.get("env") or []}
            return _configs_from(release.objects, configmap, env.get("DEFAULT_CONFIG"))
    return DevicePluginConfigs({}, None)


def _sharing(config: Mapping[str, Any]) -> tuple[str, Mapping[str, Any] | None]:
    """(strategy, replicated-resources block); MPS wins over time-slicing (api/config/v1 sharing.go)."""
    sharing = config.get("sharing") or {}
    if any(r.get("replicas", 0) > 1 for r in (sharing.get("mps") or {}).get("resources") or []):
        return "mps", sharing["mps"]
    if (sharing.get("timeSlicing") or {}).get("resources"):
        return "time-slicing", sharing["timeSlicing"]
    return "none", None


def advertised(
    node: Node, labels: Mapping[str, str], config: Mapping[str, Any] | None, mig_layout: Mapping[str, int] | None
) -> dict[str, int]:
    """Extended resources the device plugin advertises on a GPU node.

    k8s-device-plugin v0.20.0: whole GPUs as nvidia.com/gpu; a replicated resource is advertised `replicas`
    times per GPU, renamed to `<name>.shared` only with renameByDefault (api/config/v1 replicas.go); with the
    mixed MIG strategy every MIG device is `nvidia.com/mig-<profile>` with "+" written "." (internal/rm/rm.go)
    and a MIG-enabled GPU is no longer an nvidia.com/gpu.
    """
    assert node.gpu is not None, f"{node.name} is not a GPU node"
    gpus = node.gpu.gpus
    strategy = ((config.get("flags") or {}).get("migStrategy") or "none") if config else "none"
    resources: dict[str, int] = {}
    whole = gpus
    if mig_layout:
        if strategy != "mixed":
            raise NotImplementedError(f"MIG strategy {strategy!r} is not modelled")
        for profile, count in mig_layout.items():
            name = "nvidia.com/mig-" + profile.replace("+", ".")
            resources[name] = resources.get(name, 0) + gpus * count
        whole = 0
    resources[GPU_RESOURCE] = whole
    _, block = _sharing(config or {})
    for resource in (block or {}).get("resources") or []:
        name = resource["name"]
        if name in resources:
            shared = resource.get("rename") or (name + ".shared" if block and block.get("renameByDefault") else name)
            resources[shared] = resources.pop(name) * resource["replicas"]
    return resources


# -- the model -------------------------------------------------------------------------------------------------


@dataclass
class ClusterModel:
    """Nodes (labelled and with their capacity worked out), pods and the scheduling rules of one stack."""

    stack: str
    nodes: list[Node]
    pods: list[Pod]
    contracts: dict[str, dict[str, Any]]
    overlays: list[dict[str, Any]]
    configs: DevicePluginConfigs
    cluster_policy: Mapping[str, Any] | None
    releases: dict[str, Any] = field(default_factory=dict)  # release name -> RenderedRelease

    def problems(self, pod: Pod, node: Node, *, at_launch: bool = False, resources: bool = True) -> list[str]:
        """Why `pod` cannot run on `node` once it is labelled; `at_launch`: as Karpenter sees the node before
        it boots (launch labels, EC2 capacity with overlays), which decides whether it launches one."""
        if at_launch:
            return fit_problems(
                pod.spec, node.launch_labels, node.taints, node.karpenter_capacity if resources else None
            )
        return fit_problems(pod.spec, node.labels, node.taints, node.capacity if resources else None)

    def nodes_for(self, pod: Pod, **kwargs: Any) -> list[Node]:
        return [n for n in self.nodes if not self.problems(pod, n, **kwargs)]

    def pods_with(self, **attributes: Any) -> list[Pod]:
        return [p for p in self.pods if all(getattr(p, k) == v for k, v in attributes.items())]

    @property
    def nvidia_daemonsets(self) -> list[Pod]:
        return [p for p in self.pods if p.kind == "DaemonSet" and p.chart in NVIDIA_CHARTS]

    def with_changes(
        self,
        *,
        pods: list[Pod] | None = None,
        overlays: list[dict[str, Any]] | None = None,
        contracts: dict[str, dict[str, Any]] | None = None,
    ) -> ClusterModel:
        """The same cluster with some inputs replaced, labels and capacity worked out again."""
        return settle(
            replace(
                self,
                pods=self.pods if pods is None else pods,
                overlays=self.overlays if overlays is None else overlays,
                contracts=self.contracts if contracts is None else contracts,
            )
        )


def _runs_somewhere(pods: Sequence[Pod], role: str, nodes: Sequence[Node]) -> bool:
    """A cluster-wide controller runs if its pod fits some node that exists or that Karpenter can launch for it."""
    return any(not fit_problems(p.spec, n.launch_labels, n.taints) for p in pods if p.role == role for n in nodes)


def settle_labels(
    node: Node,
    pods: Sequence[Pod],
    *,
    nfd_master: bool,
    operator: bool,
    mig_default: str | None,
    configs: DevicePluginConfigs,
) -> dict[str, str]:
    """A node's labels once every NVIDIA labeller that can run on it has run (repeated until nothing changes).

    * NFD worker (with a running master) labels NVIDIA PCI devices `pci-10de.present=true`: both charts'
      worker configs whitelist display-controller classes and label by vendor.
    * The GPU Operator (when it runs) sets `nvidia.com/gpu.present=true` on nodes NFD marked as NVIDIA and
      "false" on nodes that carry it without NFD's mark; on GPU nodes it adds the operand deploy labels,
      `gpu.deploy.mig-manager` when GFD says the GPU is MIG-capable, and `mig.config=<default>` when a
      MIG-capable node has none (gpu-operator v26.7.0 controllers/nodelabeling_controller.go
      `reconcileCommonGPULabel`, `updateGPUStateLabels`; state_manager.go `hasGPULabels`, `addGPUStateLabels`).
    * GFD writes its labels into NFD's features.d on the node, so they appear only where the NFD worker also
      runs: `mig.capable`, and `mps.capable=true` when the node's device-plugin config shares by MPS
      (k8s-device-plugin v0.20.0 internal/lm/nvml.go `newMigCapabilityLabeler`, `newSharingLabeler`).
    """

    def fits(role: str, labels: Mapping[str, str]) -> bool:
        return any(not fit_problems(p.spec, labels, node.taints) for p in pods if p.role == role)

    labels = dict(node.launch_labels)
    for _ in range(10):
        before = dict(labels)
        worker = nfd_master and fits("nfd-worker", labels)
        if worker and node.gpu is not None:
            labels[NVIDIA_VENDOR_LABEL] = "true"
        if operator:
            if labels.get(NVIDIA_VENDOR_LABEL) == "true":
                labels[GPU_PRESENT] = "true"
            elif labels.get(GPU_PRESENT) == "true":
                labels[GPU_PRESENT] = "false"
            if labels.get(GPU_PRESENT) == "true":
                for state in OPERATOR_STATE_LABELS:
                    labels.setdefault(f"nvidia.com/gpu.deploy.{state}", "true")
                if labels.get("nvidia.com/mig.capable") == "true":
                    labels.setdefault("nvidia.com/gpu.deploy.mig-manager", "true")
                    if mig_default == "all-disabled":
                        labels.setdefault(MIG_CONFIG, mig_default)
            else:
                labels = {k: v for k, v in labels.items() if not k.startswith("nvidia.com/gpu.deploy.")}
        if worker and node.gpu is not None and fits("gfd", labels):
            config = configs.for_node(labels)
            labels["nvidia.com/gpu.count"] = str(node.gpu.gpus)
            labels["nvidia.com/mig.capable"] = str(catalog.mig_capable(node.gpu)).lower()
            labels["nvidia.com/mps.capable"] = str(config is not None and _sharing(config)[0] == "mps").lower()
        if labels == before:
            return labels
    raise AssertionError(f"{node.name}: labels never settle")


def karpenter_view(node: Node, overlays: Sequence[Mapping[str, Any]]) -> tuple[dict[str, int], list[str]]:
    """What Karpenter believes the node offers: EC2's GPU count, overridden by every NodeOverlay that matches.

    Overlays match on the instance type's labels and the NodePool template labels, i.e. the launch labels
    (kubernetes-sigs/karpenter v1.14 NodeOverlay controller `getOverlaidOfferings`). Two matching overlays
    that disagree on a resource are reported.
    """
    capacity = {GPU_RESOURCE: node.gpu.gpus} if node.gpu else {}
    # Karpenter's instance types carry vpc.amazonaws.com/efa: the node class's efa-only interfaces when it lists
    # interfaces, else EC2's maximum, which Karpenter attaches only for a pod that asks (aws/karpenter-provider-aws
    # v1.14.1 pkg/providers/instancetype/types.go `efas`; launchtemplate.go `generateNetworkInterfaces`).
    efa = node.efa_interfaces or (catalog.efa_interfaces(node.gpu) if node.gpu else 0)
    if efa:
        capacity[EFA_RESOURCE] = efa
    set_by: dict[str, tuple[str, int]] = {}
    conflicts = []
    for overlay in overlays:
        if all(expression_matches(r, node.launch_labels) for r in overlay["spec"].get("requirements", [])):
            for resource, amount in (overlay["spec"].get("capacity") or {}).items():
                amount = quantity(amount)
                if resource in set_by and set_by[resource][1] != amount:
                    conflicts.append(
                        f"{resource}: {set_by[resource][0]} says {set_by[resource][1]}, "
                        f"{overlay['metadata']['name']} says {amount}"
                    )
                set_by[resource] = (overlay["metadata"]["name"], amount)
                capacity[resource] = amount
    return capacity, conflicts


def settle(model: ClusterModel) -> ClusterModel:
    """Work out every node's labels, advertised capacity and Karpenter's view of it from the model's pods."""
    nvidia_pods = [p for p in model.pods if p.chart in NVIDIA_CHARTS]
    nfd_master = _runs_somewhere(nvidia_pods, "nfd-master", model.nodes)
    operator = model.cluster_policy is not None and _runs_somewhere(nvidia_pods, "gpu-operator", model.nodes)
    mig_default = (((model.cluster_policy or {}).get("spec", {}).get("migManager") or {}).get("config") or {}).get(
        "default"
    )
    settled = []
    for node in model.nodes:
        labels = settle_labels(
            node, nvidia_pods, nfd_master=nfd_master, operator=operator, mig_default=mig_default, configs=model.configs
        )
        capacity: dict[str, int] = {}
        if node.gpu is not None and any(
            not fit_problems(p.spec, labels, node.taints) for p in nvidia_pods if p.role == "device-plugin"
        ):
            layout = None
            if MIG_CONFIG in labels and any(
                not fit_problems(p.spec, labels, node.taints) for p in nvidia_pods if p.role == "mig-manager"
            ):
                # MIG Manager applies the layout from the operator's default mig-parted config.
                layout = mig_parted.partitions(labels[MIG_CONFIG], node.gpu.gpu_model)
            capacity = advertised(node, labels, model.configs.for_node(labels), layout)
        # The EFA device plugin advertises one device per EFA interface the node has (aws-efa-k8s-device-plugin),
        # only where its DaemonSet runs; the kubelet reports the reserved huge pages on any node.
        efa_plugins = [p for p in model.pods if p.role == "efa-device-plugin"]
        if node.efa_interfaces and any(not fit_problems(p.spec, labels, node.taints) for p in efa_plugins):
            capacity[EFA_RESOURCE] = node.efa_interfaces
        capacity.update(node.hugepages)
        view, conflicts = karpenter_view(node, model.overlays)
        if conflicts:
            raise AssertionError(f"{node.name}: NodeOverlays disagree: {conflicts}")
        settled.append(replace(node, labels=labels, capacity=capacity, karpenter_capacity=view))
    return replace(model, nodes=settled)


def build_model(
    run: StackRun, render: Callable[[Mapping[str, Any], str], Any], name: str | None = None
) -> ClusterModel:
    """The scheduling model of one program run; `render(release, kube_version)` renders a release's chart."""
    region = run.outputs["region"]
    kube_version = run.outputs["kubernetesVersion"]
    manifests = [manifest_of(r) for r in run.resources if r.type.startswith("kubernetes:karpenter.sh/")]
    pools = [m for m in manifests if m["kind"] == "NodePool"]
    overlays = [m for m in manifests if m["kind"] == "NodeOverlay"]
    node_classes = {
        m["metadata"]["name"]: m
        for m in (manifest_of(r) for r in run.resources if r.type.startswith("kubernetes:karpenter.k8s.aws/"))
        if m["kind"] == "EC2NodeClass"
    }
    nodes = controller_nodes(run, region) + karpenter_nodes(pools, region, node_classes)

    releases = {}
    pods: list[Pod] = []
    configs = DevicePluginConfigs({}, None)
    cluster_policy = None
    for registration in run.by_type(HELM_RELEASE):
        release = helm_release_of(registration)
        rendered = render(release, kube_version)
        releases[release["release"]] = rendered
        pods += chart_pods(rendered)
        if release["chart"] in NVIDIA_CHARTS:
            configs = device_plugin_configs(rendered)
        for obj in rendered.objects:
            if obj["kind"] == "ClusterPolicy":
                cluster_policy = obj
                pods += operand_pods(obj, release["release"])
    pods += addon_pods(run, kube_version)
    contracts = dict(run.outputs.get("gpuPools") or {})
    pods += [contract_pod(pool, contract) for pool, contract in sorted(contracts.items())]
    pods += example_pods(run.stack, contracts)
    pods += warm_slice_pods(run)
    return settle(ClusterModel(name or run.stack, nodes, pods, contracts, overlays, configs, cluster_policy, releases))


# EKS add-ons built from a Helm chart we hold: the add-on's name -> that chart. EKS renders the chart with the
# add-on's configurationValues as values (the agent's repository builds the add-on from charts/; its e2e suite
# checks configuration values through DescribeAddon, e2e/suites/addon/configuration_values.go at v1.7.0).
ADDON_CHARTS = {"eks-node-monitoring-agent": "eks-node-monitoring-agent"}


def addon_pods(run: StackRun, kube_version: str) -> list[Pod]:
    """The pods of the EKS add-ons whose chart we hold, rendered with the add-on's configurationValues."""
    import json

    from preflight.helm.render import check_pin, render_chart

    pods: list[Pod] = []
    for registration in run.by_type("aws:eks/addon:Addon"):
        inputs = registration.plain_inputs()
        chart = ADDON_CHARTS.get(inputs["addonName"])
        if chart is None:
            continue
        # v1.7.0-eksbuild.1 is a build of chart 1.7.0.
        version = re.sub(r"^v|-eksbuild\.\d+$", "", inputs["addonVersion"])
        check_pin(chart, version)
        rendered = render_chart(
            chart,
            json.loads(inputs.get("configurationValues") or "{}"),
            release=inputs["addonName"],
            namespace="kube-system",
            kube_version=kube_version,
        )
        pods += [
            replace(pod, name=f"add-on {pod.name}", release=f"add-on {inputs['addonName']}")
            for pod in chart_pods(rendered)
        ]
    return pods


def warm_slice_pods(run: StackRun) -> list[Pod]:
    """The virtual pods of every CapacityBuffer the stack registers, one per buffer: the spec of the PodTemplate it
    names, as Karpenter builds them (kubernetes-sigs/karpenter v1.14.1 pkg/state/virtualpods/utilities.go
    `BuildVirtualPods`: the template's spec, without nodeName and PVC volumes, at the lowest priority). Karpenter
    must be able to place them on the pool they keep warm, and nowhere else."""
    registered = [
        manifest_of(r) for r in run.resources if r.type.rsplit(":", 1)[-1] in ("PodTemplate", "CapacityBuffer")
    ]
    templates = {
        (m["metadata"].get("namespace"), m["metadata"]["name"]): m for m in registered if m["kind"] == "PodTemplate"
    }
    pods = []
    for buffer in (m for m in registered if m["kind"] == "CapacityBuffer"):
        where = (buffer["metadata"].get("namespace"), buffer["spec"]["podTemplateRef"]["name"])
        if where not in templates:
            raise AssertionError(
                f"CapacityBuffer {buffer['metadata']['name']} names PodTemplate {where}, which the "
                "stack does not create: Karpenter would report PodTemplateNotFound and keep nothing warm"
            )
        pods.append(
            Pod(
                f"warm slice {where[0]}/{buffer['metadata']['name']}",
                "Pod",
                templates[where]["template"]["spec"],
                role="warm-slice",
            )
        )
    return pods


# -- the checks ------------------------------------------------------------------------------------------------
# Each returns what is wrong ({} or [] when nothing is), so a test can show both a pass and a rejection.


def needed_components(model: ClusterModel, node: Node) -> set[str]:
    """The NVIDIA DaemonSets a GPU node of this pool cannot do without.

    The device plugin advertises the GPUs; GFD writes the labels MPS and MIG scheduling rely on
    (mps.capable, mig.capable) and needs the NFD worker to publish them; MPS pools need the MPS control
    daemon, MIG pools MIG Manager; under the GPU Operator, the device plugin's init container waits for the
    validator's toolkit-ready file (gpu-operator v26.7.0 assets/state-device-plugin/0500_daemonset.yaml).
    """
    strategy = (model.contracts.get(node.group) or {}).get("strategy")
    needs = {"device-plugin", "gfd", "nfd-worker"}
    if model.cluster_policy is not None:
        needs.add("operator-validator")
    if strategy == "mps":
        needs.add("mps-control-daemon")
    if strategy == "mig":
        needs.add("mig-manager")
    return needs


def missing_components(model: ClusterModel) -> dict[str, list[str]]:
    """GPU node -> needed NVIDIA components whose DaemonSet cannot run there (with the reasons)."""
    missing = {}
    for node in model.nodes:
        if node.gpu is None:
            continue
        gaps = []
        for role in sorted(needed_components(model, node)):
            candidates = [p for p in model.nvidia_daemonsets if p.role == role]
            if not candidates:
                gaps.append(f"{role}: no such DaemonSet is installed")
            elif all(model.problems(p, node) for p in candidates):
                gaps.append(f"{role}: " + "; ".join(model.problems(candidates[0], node)))
        if gaps:
            missing[node.name] = gaps
    return missing


def daemonsets_on_cpu_only_nodes(model: ClusterModel) -> dict[str, list[str]]:
    """NVIDIA DaemonSet -> CPU-only nodes (controller group, general pools) it would run on for nothing."""
    offenders = {}
    for pod in model.nvidia_daemonsets:
        nodes = [n.name for n in model.nodes if n.cpu_only and not model.problems(pod, n)]
        if nodes:
            offenders[pod.name] = nodes
    return offenders


def install_time_failures(model: ClusterModel) -> dict[str, list[str]]:
    """Chart pod that is not a DaemonSet (Deployments, hook Jobs, ...) -> why no node existing at install takes it.

    When a release installs, the only nodes are the controller group's: Karpenter has launched nothing,
    and with `nodePools: []` never will for a pod that does not tolerate the GPU taint.

    The Prometheus Operator's StatefulSets are not the release's objects (the operator makes them from the Prometheus
    and Alertmanager resources), so no install waits for them: they need a node that exists or that Karpenter can
    launch for them.
    """
    failures = {}
    existing = [n for n in model.nodes if n.at_install]
    for pod in model.pods:
        if pod.release is None or pod.kind == "DaemonSet" or pod.name.startswith(f"{pod.release} operand"):
            continue
        if operator_made(pod):
            if all(model.problems(pod, n, at_launch=not n.at_install) for n in model.nodes):
                failures[pod.name] = ["no node that exists or that Karpenter can launch takes it"]
            continue
        if all(model.problems(pod, n) for n in existing):
            failures[pod.name] = [f"{n.name}: " + "; ".join(model.problems(pod, n)) for n in existing]
    return failures


def operator_made(pod: Pod) -> bool:
    """A pod of a StatefulSet the Prometheus Operator makes from one of the release's resources."""
    return pod.release is not None and any(
        pod.name.startswith(f"{pod.release}: {kind} ") for kind in OPERATOR_POD_KINDS
    )


def landing_failures(model: ClusterModel, pod: Pod, pool: str) -> list[str]:
    """Why `pod` would not land on every node of `pool` and only there.

    Checked twice: as Karpenter decides what to launch (launch labels, EC2 capacity with overlays) and as
    the scheduler binds once the node is up (labels after boot, what the device plugin advertises).
    """
    failures = []
    for view, at_launch in (("Karpenter", True), ("scheduler", False)):
        elsewhere = [n.name for n in model.nodes if n.group != pool and not model.problems(pod, n, at_launch=at_launch)]
        if elsewhere:
            failures.append(f"{view}: also fits {elsewhere}")
        pool_nodes = [n for n in model.nodes if n.group == pool]
        if not pool_nodes:
            failures.append(f"{view}: the stack has no NodePool {pool}")
        for node in pool_nodes:
            problems = model.problems(pod, node, at_launch=at_launch)
            if problems:
                failures.append(f"{view}: not on {node.name}: {'; '.join(problems)}")
    return failures


def capacity_mismatches(model: ClusterModel) -> list[str]:
    """Where Karpenter's capacity (EC2 and NodeOverlays), the device plugin's and the contract disagree."""
    mismatches = []
    for node in model.nodes:
        if node.gpu is None:
            continue
        for resource in sorted(set(node.capacity) | set(node.karpenter_capacity)):
            if resource == EFA_RESOURCE and not node.efa_interfaces:
                # A pool without EFA interfaces: Karpenter would add them only for a pod that requests EFA, and no
                # EFA device plugin runs there (efa_plugin_placement); contract pods of such pools request none.
                continue
            believed, actual = node.karpenter_capacity.get(resource, 0), node.capacity.get(resource, 0)
            if believed != actual:
                mismatches.append(f"{node.name}: Karpenter counts {resource}={believed}, the node advertises {actual}")
        contract = model.contracts.get(node.group)
        if contract is not None:
            promised = contract["slicesPerNode"].get(node.instance_type)
            actual = node.capacity.get(contract["resourceName"], 0)
            if promised != actual:
                mismatches.append(
                    f"{node.name}: contract promises {contract['resourceName']}={promised} per node, "
                    f"the node advertises {actual}"
                )
            efa = contract.get("efa")
            if efa:
                for resource, amount in (
                    (efa["resourceName"], efa["devicesPerNode"].get(node.instance_type)),
                    (efa["hugepages"]["resourceName"], quantity(efa["hugepages"]["perNode"])),
                ):
                    if node.capacity.get(resource, 0) != amount:
                        mismatches.append(
                            f"{node.name}: contract promises {resource}={amount} per node, "
                            f"the node advertises {node.capacity.get(resource, 0)}"
                        )
    return mismatches


def efa_plugin_placement(model: ClusterModel) -> dict[str, list[str]]:
    """Where the EFA device plugin runs wrongly: node -> problem. It must run on every node with EFA interfaces (else
    their devices are never advertised) and on no other node (it would run there for nothing)."""
    plugins = [p for p in model.pods if p.role == "efa-device-plugin"]
    wrong: dict[str, list[str]] = {}
    for node in model.nodes:
        runs = [p.name for p in plugins if not model.problems(p, node, resources=False)]
        if node.efa_interfaces and not runs:
            reasons = [f"{p.name}: {'; '.join(model.problems(p, node, resources=False))}" for p in plugins]
            wrong[node.name] = [f"has {node.efa_interfaces} EFA interfaces but no EFA device plugin runs there"] + (
                reasons or ["the stack installs no EFA device plugin"]
            )
        elif runs and not node.efa_interfaces:
            wrong[node.name] = [f"{', '.join(runs)} runs on a node without EFA interfaces"]
    return wrong
