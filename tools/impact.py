"""What a change does to the running clusters, from two offline renders: the pull-request impact summary.

    python -m tools.impact BASE_DIR HEAD_DIR [--diff FILE]

BASE_DIR and HEAD_DIR are `tools.render` outputs: one stack's folder, or a folder of stack folders (the
pull-request workflow renders every stack to `base/<stack>` and `head/<stack>`, and writes `<stack>.FAILED`
for a render that failed). Prints Markdown, one section per stack: a Kubernetes upgrade (control plane,
controller nodes, add-ons; a jump of more than one minor version is refused in one line and the command exits
1), which NodePools' nodes Karpenter will replace
and why, pool changes that replace nothing, chart upgrades and the device plugin <-> GPU Operator switch, Karpenter
upgrades, IAM and cluster-access changes, other changed resources and the workload contract. `--diff FILE` writes
the review diff: manifests/, helm/, outputs.json and only those resources.json entries that manifests/ and helm/
do not already show, so each change appears once (the render folders themselves are left as they are).

Node replacement follows Karpenter's drift rules at v1.14.1:

* kubernetes-sigs/karpenter pkg/apis/v1/nodepool.go, `NodePool.Hash`: the hash of spec.template, where
  `requirements` is `hash:"ignore"`. Template labels, annotations, taints, startupTaints, nodeClassRef,
  expireAfter and terminationGracePeriod therefore drift every node of the pool. Requirements drift only the nodes
  whose labels no longer satisfy them (website concepts/disruption.md, "Special Cases on Drift"). weight, limits and
  disruption are behavioural fields and never drift a node (same page, "Behavioral Fields").
* aws/karpenter-provider-aws pkg/apis/v1/ec2nodeclass.go, `EC2NodeClass.Hash`: the whole spec except the subnet,
  security-group and capacity-reservation selector terms, ipPrefixCount, amiSelectorTerms and amiFamily, so any
  other field drifts every node (static drift). pkg/cloudprovider/drift.go drifts on resolved values: the AMIs (a
  new alias resolves to new images, so every node), and subnets, security groups and capacity reservations (only
  the nodes that no longer match).
* NodeOverlays never drift nodes (concepts/nodeoverlays.md).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# NodePool spec.template fields inside Karpenter's drift hash (path below spec.template): a change replaces every
# node of the pool. kubernetes-sigs/karpenter@v1.14.1 pkg/apis/v1/nodepool.go: `NodeClaimTemplate` (ObjectMeta
# labels and annotations) and `NodeClaimTemplateSpec`, where only `requirements` is `hash:"ignore"`.
NODEPOOL_TEMPLATE_HASHED: tuple[tuple[str, str], ...] = (
    ("metadata", "labels"),
    ("metadata", "annotations"),
    ("spec", "taints"),
    ("spec", "startupTaints"),
    ("spec", "nodeClassRef"),
    ("spec", "expireAfter"),
    ("spec", "terminationGracePeriod"),
)
# The template's duration fields: hashed as Go durations, so `60m` and `1h` are the same value; expireAfter
# defaults to 720h in the CRD (`+kubebuilder:default:="720h"`), so leaving it out equals writing 720h.
NODEPOOL_DURATIONS = {"expireAfter": "720h", "terminationGracePeriod": None}
# NodePool spec fields outside spec.template: they steer Karpenter but never drift a node.
NODEPOOL_BEHAVIOURAL = ("weight", "limits", "disruption", "replicas")
# EC2NodeClass spec fields outside the static hash that drift on their resolved value: which nodes that replaces.
EC2NODECLASS_RESOLVED = {
    "subnetSelectorTerms": "nodes whose subnet is no longer selected",
    "securityGroupSelectorTerms": "nodes whose security groups differ from the newly selected ones",
    "capacityReservationSelectorTerms": "nodes in capacity reservations no longer selected",
}
# Outside the hash and not checked for drift at all. amiFamily is `hash:"ignore"` but its resolved value (the
# alias's family when there is an alias) is hashed: `EC2NodeClass.Hash` in aws/karpenter-provider-aws@v1.14.1
# pkg/apis/v1/ec2nodeclass.go; node_class_drift compares that.
EC2NODECLASS_NEVER_DRIFT = ("amiFamily", "ipPrefixCount")

KARPENTER_CHARTS = ("karpenter", "karpenter-crd")
NVIDIA_CHARTS = {"nvidia-device-plugin": "the NVIDIA device plugin", "gpu-operator": "the NVIDIA GPU Operator"}
# Resources that grant or bind permissions: listed on their own, so a reviewer sees every access change.
ACCESS_TYPE_PREFIXES = (
    "aws:iam/",
    "aws:eks/accessEntry:",
    "aws:eks/accessPolicyAssociation:",
    "aws:eks/podIdentityAssociation:",
)
# Resources a Kubernetes version bump changes, and the inputs that carry the version: listed under "Kubernetes
# upgrade" rather than among the other resources.
UPGRADE_TYPES = (
    "aws:eks/cluster:Cluster",
    "eks:index:Cluster",
    "aws:eks/nodeGroup:NodeGroup",
    "eks:index:ManagedNodeGroup",
    "aws:eks/addon:Addon",
)
UPGRADE_INPUTS = frozenset({"version", "addonVersion", "kubeProxyAddonOptions"})
FAILED_SUFFIX = ".FAILED"
MAX_OTHER_LINES = 15  # past this the summary counts the rest; the diff below has them all


@dataclass(frozen=True)
class Render:
    """One stack's render folder, loaded."""

    manifests: Mapping[tuple[str, str], Mapping[str, Any]]  # (kind, name) -> object
    helm: Mapping[str, Mapping[str, Any]]  # release name -> release file
    resources: Mapping[tuple[str, str], Mapping[str, Any]]  # (type, name) -> resources.json entry
    outputs: Mapping[str, Any]


@dataclass
class StackImpact:
    """What one stack's change does, as summary lines per heading."""

    stack: str
    note: str | None = None  # a render failed, or the stack is new or gone
    refused: str | None = None  # a change EKS does not allow: one line, and the command exits 1
    upgrade: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)
    karpenter: list[str] = field(default_factory=list)
    access: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    contract: list[str] = field(default_factory=list)

    def sections(self) -> list[tuple[str, list[str]]]:
        return [
            ("Kubernetes upgrade", self.upgrade),
            ("Nodes replaced", self.replaced),
            ("Pool changes that replace no node", self.kept),
            ("Charts", self.charts),
            ("Karpenter", self.karpenter),
            ("IAM and cluster access", self.access),
            ("Other resources", self.other),
            ("Workload contract (stack outputs)", self.contract),
        ]

    def unchanged(self) -> bool:
        return self.note is None and self.refused is None and not any(lines for _, lines in self.sections())


# --- Reading renders ------------------------------------------------------------------------------------------


def load_render(folder: Path) -> Render:
    """Read one `tools.render` output folder."""
    manifests = {}
    for path in sorted((folder / "manifests").glob("*.yaml")):
        obj = yaml.safe_load(path.read_text())
        manifests[(obj["kind"], obj["metadata"]["name"])] = obj
    helm = {}
    for path in sorted((folder / "helm").glob("*.yaml")):
        release = yaml.safe_load(path.read_text())
        helm[release["release"]] = release
    resources = {(r["type"], r["name"]): r for r in json.loads((folder / "resources.json").read_text())}
    return Render(manifests, helm, resources, json.loads((folder / "outputs.json").read_text()))


def stack_folders(root: Path) -> dict[str, Path | None]:
    """Stack name -> its render folder, or None when its render failed, for a render root or one stack's folder."""
    if (root / "resources.json").is_file():
        return {root.name: root}
    stacks: dict[str, Path | None] = {p.name: p for p in root.iterdir() if (p / "resources.json").is_file()}
    stacks.update({p.name[: -len(FAILED_SUFFIX)]: None for p in root.glob(f"*{FAILED_SUFFIX}")})
    return stacks


# --- Pure comparisons -----------------------------------------------------------------------------------------


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


_DURATION_UNITS = {"h": 3600, "m": 60, "s": 1}


def duration_seconds(text: str) -> int | None:
    """A Karpenter duration (`^([0-9]+(s|m|h))+$`, e.g. `1h30m`) in seconds; None for `Never` or anything else."""
    total, number = 0, ""
    for char in str(text):
        if char.isdigit():
            number += char
        elif char in _DURATION_UNITS and number:
            total, number = total + int(number) * _DURATION_UNITS[char], ""
        else:
            return None
    return total if not number else None


def as_hashed(value: Any) -> Any:
    """A value as Karpenter's hash sees it (hashstructure with SlicesAsSets, IgnoreZeroValue, ZeroNil): lists are
    sets, so reordering one changes nothing."""
    if isinstance(value, Mapping):
        return {k: as_hashed(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return sorted((as_hashed(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return value


def template_value(pool: Mapping[str, Any], path: tuple[str, str]) -> Any:
    """One hashed template field of a NodePool, as the hash sees it (durations in seconds, the CRD default)."""
    value = _get(pool, "spec", "template", *path)
    if path[1] in NODEPOOL_DURATIONS:
        value = value if value is not None else NODEPOOL_DURATIONS[path[1]]
        return value if value is None or duration_seconds(value) is None else duration_seconds(value)
    return as_hashed(value)


def _kind_names(render: Render, kind: str) -> set[str]:
    return {name for k, name in render.manifests if k == kind}


def map_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[str]:
    """`key a → b`, `+key=b`, `-key=a` for two flat maps (labels, annotations)."""
    before, after = before or {}, after or {}
    out = []
    for key in sorted(set(before) | set(after)):
        if key not in after:
            out.append(f"-{key}={before[key]}")
        elif key not in before:
            out.append(f"+{key}={after[key]}")
        elif before[key] != after[key]:
            out.append(f"{key} {before[key]} → {after[key]}")
    return out


def _requirements(pool: Mapping[str, Any]) -> dict[str, tuple[str, frozenset[str]]]:
    return {
        r["key"]: (r["operator"], frozenset(r.get("values") or ()))
        for r in _get(pool, "spec", "template", "spec", "requirements") or []
    }


def requirement_drift(base_pool: Mapping[str, Any], head_pool: Mapping[str, Any]) -> list[str]:
    """Which existing nodes the head's requirements no longer admit: Karpenter drifts only those."""
    before, after = _requirements(base_pool), _requirements(head_pool)
    out = []
    for key in sorted(after):
        op, values = after[key]
        if key not in before:
            out.append(f"nodes not matching the new requirement `{key} {op} {sorted(values)}`")
            continue
        old_op, old_values = before[key]
        if op == old_op == "In":
            if dropped := sorted(old_values - values):
                out.append(f"nodes with `{key}` in {dropped} (no longer allowed)")
        elif op == old_op == "NotIn":
            if excluded := sorted(values - old_values):
                out.append(f"nodes with `{key}` in {excluded} (now excluded)")
        elif (op, values) != (old_op, old_values):
            out.append(f"nodes not matching `{key} {op} {sorted(values)}` (was `{old_op} {sorted(old_values)}`)")
    return out


def _aliases(node_class: Mapping[str, Any]) -> list[str]:
    return [t["alias"] for t in _get(node_class, "spec", "amiSelectorTerms") or [] if "alias" in t]


def resolved_ami_family(node_class: Mapping[str, Any]) -> str | None:
    """The AMI family Karpenter hashes: the alias's family (`al2023@...` -> AL2023), else spec.amiFamily
    (aws/karpenter-provider-aws@v1.14.1 pkg/apis/v1/ec2nodeclass.go `AMIFamily()`)."""
    aliases = _aliases(node_class)
    if aliases:
        family = aliases[0].split("@")[0].lower()
        return {"al2023": "AL2023", "al2": "AL2", "bottlerocket": "Bottlerocket"}.get(family, family)
    return _get(node_class, "spec", "amiFamily")


def node_class_drift(base_class: Mapping[str, Any], head_class: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(why every node of its pools is replaced, which nodes only) for one EC2NodeClass change."""
    every, some = [], []
    base_spec, head_spec = base_class.get("spec") or {}, head_class.get("spec") or {}
    for key in sorted(set(base_spec) | set(head_spec)):
        if as_hashed(base_spec.get(key)) == as_hashed(head_spec.get(key)) or key in EC2NODECLASS_NEVER_DRIFT:
            continue
        if key == "amiSelectorTerms":
            before, after = _aliases(base_class), _aliases(head_class)
            every.append(
                f"node image {', '.join(before)} → {', '.join(after)}" if before and after else "AMI selection changed"
            )
        elif key in EC2NODECLASS_RESOLVED:
            some.append(f"{EC2NODECLASS_RESOLVED[key]} (`{key}` changed)")
        else:
            every.append(f"EC2NodeClass `{key}` changed")
    if resolved_ami_family(base_class) != resolved_ami_family(head_class) and "amiSelectorTerms" not in {
        k for k in set(base_spec) | set(head_spec) if as_hashed(base_spec.get(k)) != as_hashed(head_spec.get(k))
    }:
        every.append(f"AMI family {resolved_ami_family(base_class)} → {resolved_ami_family(head_class)}")
    return every, some


def budget_note(pool: Mapping[str, Any]) -> str:
    """How fast Karpenter may replace drifted nodes: the budgets that apply to drift (Karpenter's default 10%)."""
    budgets = _get(pool, "spec", "disruption", "budgets") or [{"nodes": "10%"}]
    drift = [b for b in budgets if not b.get("reasons") or "Drifted" in b["reasons"]]
    parts = [
        f"nodes: {b.get('nodes', '10%')}"
        + (f" during `{b['schedule']}` for {b['duration']}" if b.get("schedule") else "")
        for b in drift
    ]
    return f"within its disruption budgets ({'; '.join(parts)})" if parts else "within its disruption budgets"


def pool_impacts(base: Render, head: Render, kubernetes: tuple[str, str] | None = None) -> tuple[list[str], list[str]]:
    """(pools whose nodes are replaced, pool changes that replace no node), one line each. `kubernetes` is the
    (base, head) Kubernetes version when it changes: an AMI alias resolves per Kubernetes version (the SSM
    parameter of aws/karpenter-provider-aws@v1.14.1 pkg/providers/amifamily/ami.go `DescribeImageQuery` names the
    cluster's version), so every node of a pool whose EC2NodeClass selects its AMI by alias drifts (AMIDrift)."""
    replaced, kept = [], []
    for name in sorted(_kind_names(base, "NodePool") | _kind_names(head, "NodePool")):
        b, h = base.manifests.get(("NodePool", name)), head.manifests.get(("NodePool", name))
        if h is None:
            replaced.append(f"`{name}`: pool removed; Karpenter drains and terminates all its nodes")
            continue
        if b is None:
            kept.append(f"`{name}`: new pool (no nodes yet)")
            continue
        every: list[str] = []
        for path in NODEPOOL_TEMPLATE_HASHED:
            if template_value(b, path) != template_value(h, path):
                before, after = _get(b, "spec", "template", *path), _get(h, "spec", "template", *path)
                detail = map_changes(before, after) if path[0] == "metadata" else []
                if path[1] in NODEPOOL_DURATIONS:
                    detail = [f"{before or 'unset'} → {after or 'unset'}"]
                every.append(f"template {path[1]} changed" + (f": {', '.join(detail)}" if detail else ""))
        some = requirement_drift(b, h)
        class_name = _get(h, "spec", "template", "spec", "nodeClassRef", "name")
        base_class = base.manifests.get(("EC2NodeClass", class_name))
        head_class = head.manifests.get(("EC2NodeClass", class_name))
        class_every: list[str] = []
        if base_class is not None and head_class is not None and base_class != head_class:
            class_every, class_some = node_class_drift(base_class, head_class)
            some += [f"{reason} (EC2NodeClass `{class_name}`)" for reason in class_some]
        aliases = _aliases(head_class) if head_class is not None else []
        if kubernetes is not None and aliases and not any(r.startswith("node image ") for r in class_every):
            class_every.insert(0, f"node image {', '.join(aliases)} now resolves to Kubernetes {kubernetes[1]}'s AMIs")
        every += [f"{reason} (EC2NodeClass `{class_name}`)" for reason in class_every]
        pace = f"Karpenter replaces them {budget_note(h)}"
        if every:
            also = f"; also {'; '.join(some)}" if some else ""
            replaced.append(f"`{name}`: **every node**: {'; '.join(every)}{also}. {pace}")
        elif some:
            replaced.append(f"`{name}`: {'; '.join(some)}. {pace}")
        behavioural = [k for k in NODEPOOL_BEHAVIOURAL if _get(b, "spec", k) != _get(h, "spec", k)]
        if behavioural and not every:
            kept.append(f"`{name}`: {', '.join(behavioural)} changed (settings only, no node is replaced)")
    before, after = _kind_names(base, "NodeOverlay"), _kind_names(head, "NodeOverlay")
    changed = sorted(
        n for n in before & after if base.manifests[("NodeOverlay", n)] != head.manifests[("NodeOverlay", n)]
    )
    parts = [
        f"{', '.join(f'`{n}`' for n in names)} {verb}"
        for names, verb in (
            (sorted(after - before), "added"),
            (changed, "changed"),
            (sorted(before - after), "removed"),
        )
        if names
    ]
    if parts:
        kept.append(f"NodeOverlays {'; '.join(parts)}: the capacity Karpenter plans with (overlays never drift nodes)")
    return replaced, kept


def chart_impacts(base: Render, head: Render) -> tuple[list[str], list[str]]:
    """(chart lines, Karpenter lines) for the Helm releases."""
    charts: list[str] = []
    karpenter: list[str] = []
    base_nvidia = {r["chart"]: r for r in base.helm.values() if r["chart"] in NVIDIA_CHARTS}
    head_nvidia = {r["chart"]: r for r in head.helm.values() if r["chart"] in NVIDIA_CHARTS}
    switched: set[str] = set()
    if len(base_nvidia) == len(head_nvidia) == 1 and set(base_nvidia) != set(head_nvidia):
        (old,), (new,) = base_nvidia.values(), head_nvidia.values()
        switched = {old["chart"], new["chart"]}
        charts.append(
            f"**NVIDIA software switches** from {NVIDIA_CHARTS[old['chart']]} {old['version']} to "
            f"{NVIDIA_CHARTS[new['chart']]} {new['version']}: every GPU node's device plugin is replaced and GPU pods "
            "restart; do it in a maintenance window"
        )
    for release in sorted(set(base.helm) | set(head.helm)):
        b, h = base.helm.get(release), head.helm.get(release)
        chart = (h or b or {}).get("chart")
        if chart in switched:
            continue
        target = karpenter if chart in KARPENTER_CHARTS else charts
        if b is None or h is None:
            present = h if b is None else b
            assert present is not None  # one side exists, or the release would not be listed
            target.append(f"`{release}`: {chart} {present['version']} {'installed' if b is None else 'uninstalled'}")
            continue
        parts = []
        if b["version"] != h["version"]:
            word = "Karpenter upgrade" if chart in KARPENTER_CHARTS else "chart upgrade"
            parts.append(f"{word} {b['version']} → {h['version']}")
        if b.get("values") != h.get("values"):
            parts.append("values changed (its pods roll)")
        settings = ("version", "values")
        if {k: v for k, v in b.items() if k not in settings} != {k: v for k, v in h.items() if k not in settings}:
            parts.append("release settings changed")
        if parts:
            target.append(f"`{release}` ({chart}): {'; '.join(parts)}")
    return charts, karpenter


def shown_elsewhere(resource_type: str) -> bool:
    """Kubernetes objects and Helm releases: their full content is in manifests/ and helm/."""
    return resource_type.startswith("kubernetes:")


def _resource_changes(base: Render, head: Render, keys: Iterable[tuple[str, str]]) -> list[str]:
    out = []
    for key in sorted(keys):
        b, h = base.resources.get(key), head.resources.get(key)
        if b == h:
            continue
        kind = key[0].rsplit(":", 1)[-1]
        if b is None or h is None:
            out.append(f"{kind} `{key[1]}` {'added' if b is None else 'removed'}")
            continue
        fields = sorted(k for k in set(b["inputs"]) | set(h["inputs"]) if b["inputs"].get(k) != h["inputs"].get(k))
        out.append(f"{kind} `{key[1]}` changed ({', '.join(fields) if fields else 'dependencies'})")
    return out


def _changed_inputs(base: Render, head: Render, key: tuple[str, str]) -> set[str]:
    b, h = base.resources[key]["inputs"], head.resources[key]["inputs"]
    return {k for k in set(b) | set(h) if b.get(k) != h.get(k)}


def _upgrade_only(base: Render, head: Render, key: tuple[str, str]) -> bool:
    """A resource whose only change is the Kubernetes version it runs (shown under "Kubernetes upgrade")."""
    if key[0] not in UPGRADE_TYPES or key not in base.resources or key not in head.resources:
        return False
    changed = _changed_inputs(base, head, key)
    return bool(changed) and changed <= UPGRADE_INPUTS


def resource_impacts(
    base: Render, head: Render, kubernetes: tuple[str, str] | None = None
) -> tuple[list[str], list[str]]:
    """(IAM and cluster-access lines, other changed resources) from resources.json; with a Kubernetes version
    change, without the resources whose only change is that version."""
    keys = set(base.resources) | set(head.resources)
    access = {k for k in keys if k[0].startswith(ACCESS_TYPE_PREFIXES)}
    rest = {k for k in keys - access if not shown_elsewhere(k[0])}
    if kubernetes is not None:
        rest = {k for k in rest if not _upgrade_only(base, head, k)}
    other = _resource_changes(base, head, rest)
    if len(other) > MAX_OTHER_LINES:
        other = other[:MAX_OTHER_LINES] + [f"and {len(other) - MAX_OTHER_LINES} more (see the diff)"]
    return _resource_changes(base, head, access), other


def contract_impacts(base: Render, head: Render) -> list[str]:
    """Which workload contracts (the `gpuPools` output) and other outputs change."""
    before, after = base.outputs.get("gpuPools") or {}, head.outputs.get("gpuPools") or {}
    out = []
    for pool in sorted(set(before) | set(after)):
        if pool not in after:
            out.append(f"`gpuPools.{pool}` removed: workloads that use it lose their pool")
        elif pool not in before:
            out.append(f"`gpuPools.{pool}` added")
        elif before[pool] != after[pool]:
            keys = sorted(k for k in set(before[pool]) | set(after[pool]) if before[pool].get(k) != after[pool].get(k))
            out.append(f"`gpuPools.{pool}`: {', '.join(keys)}")
    other = sorted(
        k
        for k in set(base.outputs) | set(head.outputs)
        if k != "gpuPools" and base.outputs.get(k) != head.outputs.get(k)
    )
    if other:
        out.append(f"{', '.join(f'`{k}`' for k in other)} change")
    return out


def _minor(version: str) -> int:
    return int(str(version).split(".")[1])


def kubernetes_change(base: Render, head: Render) -> tuple[str, str] | None:
    """(base, head) Kubernetes version from the `kubernetesVersion` output when it changes, else None."""
    before, after = base.outputs.get("kubernetesVersion"), head.outputs.get("kubernetesVersion")
    return (str(before), str(after)) if before and after and before != after else None


def upgrade_refusal(before: str, after: str) -> str | None:
    """One line when EKS does not allow the version change: it upgrades one minor version at a time and never
    downgrades (https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html)."""
    step = _minor(after) - _minor(before)
    if step > 1:
        return (
            f"refused: `kubernetesVersion` {before} → {after} skips {step - 1} minor version"
            f"{'s' if step > 2 else ''}; EKS upgrades one minor version at a time: deploy "
            f"1.{_minor(before) + 1} first, then each next version"
        )
    if step < 0:
        return f"refused: `kubernetesVersion` {before} → {after} is a downgrade; EKS cannot downgrade a cluster"
    return None


def upgrade_impacts(base: Render, head: Render, kubernetes: tuple[str, str]) -> tuple[list[str], list[str]]:
    """(Kubernetes upgrade lines, controller node groups replaced) for an allowed one-minor upgrade."""
    before, after = kubernetes
    lines = [f"control plane {before} → {after}: EKS upgrades it in place (one minor version at a time)"]
    groups = []
    addons = []
    for key in sorted(set(base.resources) & set(head.resources)):
        b, h = base.resources[key]["inputs"], head.resources[key]["inputs"]
        if key[0] == "aws:eks/nodeGroup:NodeGroup" and b.get("version") != h.get("version"):
            scaling, update = h.get("scalingConfig") or {}, h.get("updateConfig") or {}
            size = f"{scaling['desiredSize']} " if "desiredSize" in scaling else ""
            # EKS's managed node group update replaces maxUnavailable nodes at a time, 1 unless configured.
            pace = (
                f"{update['maxUnavailablePercentage']}% of the nodes"
                if "maxUnavailablePercentage" in update
                else f"{update.get('maxUnavailable', 1)} node{'s' if update.get('maxUnavailable', 1) != 1 else ''}"
            )
            groups.append(
                f"controller node group `{key[1]}`: **every node** ({size}{h.get('amiType', 'EKS-optimised')}): "
                f"EKS rolls the managed node group onto Kubernetes {after}'s AMI, {pace} at a time"
            )
        if key[0] == "aws:eks/addon:Addon" and b.get("addonVersion") != h.get("addonVersion"):
            addons.append(f"{h.get('addonName', key[1])} {b.get('addonVersion')} → {h.get('addonVersion')}")
    if addons:
        lines.append(f"EKS add-ons: {', '.join(addons)} (the others keep their pinned versions)")
    return lines, groups


def stack_impact(stack: str, base: Render, head: Render) -> StackImpact:
    """Everything one stack's change does to its cluster; a version change EKS refuses is refused here."""
    kubernetes = kubernetes_change(base, head)
    if kubernetes is not None and (refusal := upgrade_refusal(*kubernetes)) is not None:
        return StackImpact(stack, refused=refusal)
    impact = StackImpact(stack)
    impact.replaced, impact.kept = pool_impacts(base, head, kubernetes)
    if kubernetes is not None:
        impact.upgrade, groups = upgrade_impacts(base, head, kubernetes)
        impact.replaced = groups + impact.replaced
    impact.charts, impact.karpenter = chart_impacts(base, head)
    impact.access, impact.other = resource_impacts(base, head, kubernetes)
    impact.contract = contract_impacts(base, head)
    return impact


def impacts(base_root: Path, head_root: Path) -> list[StackImpact]:
    """Every stack's impact for two render roots (or two single-stack render folders)."""
    base_stacks, head_stacks = stack_folders(base_root), stack_folders(head_root)
    out = []
    for stack in sorted(set(base_stacks) | set(head_stacks)):
        b, h = base_stacks.get(stack, False), head_stacks.get(stack, False)
        if b is None or h is None:
            out.append(StackImpact(stack, note=f"the {'head' if h is None else 'base'} render failed (see the log)"))
        elif b is False:
            out.append(StackImpact(stack, note="new stack: everything is created"))
        elif h is False:
            out.append(StackImpact(stack, note="stack file removed: nothing is destroyed until its stack is"))
        else:
            assert isinstance(b, Path) and isinstance(h, Path)
            out.append(stack_impact(stack, load_render(b), load_render(h)))
    return out


def summary_markdown(stack_impacts: Iterable[StackImpact]) -> str:
    """The comment's opening: changed stacks first, one section each."""
    lines = ["### Impact (base → head)", ""]
    for impact in sorted(stack_impacts, key=lambda i: (i.unchanged(), i.stack)):
        if impact.note is not None or impact.refused is not None:
            lines += [f"**{impact.stack}**: {impact.note or impact.refused}", ""]
            continue
        if impact.unchanged():
            lines += [f"**{impact.stack}**: no change", ""]
            continue
        lines.append(f"**{impact.stack}**" + ("" if impact.replaced else ": no node is replaced"))
        for title, entries in impact.sections():
            if entries:
                lines.append(f"- {title}:")
                lines += [f"  - {entry}" for entry in entries]
        lines.append("")
    return "\n".join(lines)


# --- The review diff ------------------------------------------------------------------------------------------


def review_files(folder: Path | None) -> dict[str, str]:
    """Relative path -> text of what the review diff shows of one stack's render."""
    if folder is None:
        return {}
    files = {
        str(p.relative_to(folder)): p.read_text()
        for sub in ("manifests", "helm")
        for p in sorted((folder / sub).glob("*"))
    }
    files["outputs.json"] = (folder / "outputs.json").read_text()
    rest = [r for r in json.loads((folder / "resources.json").read_text()) if not shown_elsewhere(r["type"])]
    files["resources.json"] = json.dumps(rest, indent=2, sort_keys=True) + "\n"
    return files


def review_diff(base_root: Path, head_root: Path) -> str:
    """Unified diff of every stack's review files, base → head; resources.json without what manifests/ and helm/
    show."""
    base_stacks, head_stacks = stack_folders(base_root), stack_folders(head_root)
    chunks: list[str] = []
    for stack in sorted(set(base_stacks) | set(head_stacks)):
        if (stack in base_stacks and base_stacks[stack] is None) or (
            stack in head_stacks and head_stacks[stack] is None
        ):
            continue  # a failed render has nothing to compare; the summary says so
        before, after = review_files(base_stacks.get(stack)), review_files(head_stacks.get(stack))
        for rel in sorted(set(before) | set(after)):
            label = f"{rel} (without Kubernetes objects and Helm releases)" if rel == "resources.json" else rel
            chunks.extend(
                difflib.unified_diff(
                    before.get(rel, "").splitlines(keepends=True),
                    after.get(rel, "").splitlines(keepends=True),
                    fromfile=f"base/{stack}/{label}" if rel in before else "/dev/null",
                    tofile=f"head/{stack}/{label}" if rel in after else "/dev/null",
                )
            )
    return "".join(chunk if chunk.endswith("\n") else chunk + "\n" for chunk in chunks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.impact", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("base", type=Path, help="the base render (a stack's folder, or a folder of them)")
    parser.add_argument("head", type=Path, help="the head render, the same shape")
    parser.add_argument("--diff", type=Path, help="write the review diff (each change once) to this file")
    args = parser.parse_args(argv)
    found = impacts(args.base, args.head)
    print(summary_markdown(found))
    if args.diff:
        args.diff.write_text(review_diff(args.base, args.head))
    for refused in (i for i in found if i.refused is not None):
        print(f"stack {refused.stack}: {refused.refused}", file=sys.stderr)
    return 1 if any(i.refused is not None for i in found) else 0


if __name__ == "__main__":
    sys.exit(main())
