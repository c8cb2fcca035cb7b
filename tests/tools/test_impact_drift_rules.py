"""Each of Karpenter's drift rules, as `tools.impact` must apply them (issue 21 item 1): for every NodePool and
EC2NodeClass field, a change that must replace nodes and one that must not.

The expectations are typed in here from the pinned upstream sources, not taken from tools/impact.py:

* kubernetes-sigs/karpenter@v1.14.1 pkg/apis/v1/nodepool.go: `NodePool.Hash()` hashes spec.template only, with
  hashstructure options SlicesAsSets, IgnoreZeroValue, ZeroNil; in `NodeClaimTemplateSpec` only `requirements`
  is `hash:"ignore"`. So a template label, annotation, taint, startup taint, nodeClassRef, expireAfter or
  terminationGracePeriod change drifts every node; reordering a list does not; `60m` is the same duration as
  `1h`; expireAfter defaults to 720h (`+kubebuilder:default:="720h"`). Requirements drift only the nodes they no
  longer admit (website concepts/disruption.md "Special Cases on Drift"); weight, limits, disruption and replicas
  sit outside spec.template and drift nothing ("Behavioral Fields").
* aws/karpenter-provider-aws@v1.14.1 pkg/apis/v1/ec2nodeclass.go: subnetSelectorTerms, securityGroupSelectorTerms,
  capacityReservationSelectorTerms, ipPrefixCount, amiSelectorTerms and amiFamily are `hash:"ignore"`; every other
  spec field is in `EC2NodeClass.Hash()`, as is the resolved AMI family. pkg/cloudprovider/drift.go drifts on the
  resolved AMIs (every node for a new alias) and on subnets, security groups and capacity reservations (only the
  nodes that no longer match).

The field lists are checked against the stored v1.14.1 CRDs, so a field a newer Karpenter adds cannot go
unclassified.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

import pytest
import yaml

from preflight.model.harness import run_stack
from tests.support.upstream import upstream_file
from tools import impact
from tools.render import write_render

Verdict = Literal["every", "some", "none"]
Edit = Callable[[dict[str, Any]], None]

# spec.template fields in NodePool.Hash (every node) and outside it.
TEMPLATE_HASHED: tuple[str, ...] = ("labels", "annotations", "taints", "startupTaints", "nodeClassRef")
TEMPLATE_HASHED += ("expireAfter", "terminationGracePeriod")
TEMPLATE_IGNORED = ("requirements",)
NODEPOOL_BEHAVIOURAL = ("weight", "limits", "disruption", "replicas")
# EC2NodeClass spec fields: in EC2NodeClass.Hash (every node), resolved drift (some nodes), AMI (every node when the
# resolved images change), never.
CLASS_HASHED = (
    "placementGroupSelector",
    "associatePublicIPAddress",
    "userData",
    "role",
    "instanceProfile",
    "tags",
    "kubelet",
    "blockDeviceMappings",
    "instanceStorePolicy",
    "networkInterfaces",
    "detailedMonitoring",
    "metadataOptions",
    "connectionTracking",
    "context",
    "cpuOptions",
)
CLASS_RESOLVED = ("subnetSelectorTerms", "securityGroupSelectorTerms", "capacityReservationSelectorTerms")
CLASS_AMI = ("amiSelectorTerms", "amiFamily")
CLASS_NEVER = ("ipPrefixCount",)

POOL, CLASS = "inference", "gpu-inference"  # the dev stack's GPU pool and its EC2NodeClass


@dataclass(frozen=True)
class Case:
    field: str
    change: str
    expected: Verdict
    head: Edit
    base: Edit | None = None  # set up the base first (e.g. two taints to reorder)
    kind: Literal["NodePool", "EC2NodeClass"] = "NodePool"
    name: str | None = None  # the object edited, default the pool's own


def template(pool: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = pool["spec"]["template"]["spec"]
    return spec


def meta(pool: dict[str, Any]) -> dict[str, Any]:
    metadata: dict[str, Any] = pool["spec"]["template"].setdefault("metadata", {})
    return metadata


def setter(target: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any) -> Edit:
    def edit(obj: dict[str, Any]) -> None:
        target(obj)[key] = copy.deepcopy(value)

    return edit


def spec_of(obj: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj["spec"]
    return spec


def reverse(target: Callable[[dict[str, Any]], dict[str, Any]], key: str) -> Edit:
    def edit(obj: dict[str, Any]) -> None:
        target(obj)[key] = list(reversed(target(obj)[key]))

    return edit


def merged(target: Callable[[dict[str, Any]], dict[str, Any]], key: str, extra: dict[str, Any]) -> Edit:
    def edit(obj: dict[str, Any]) -> None:
        target(obj)[key] = {**(target(obj).get(key) or {}), **extra}

    return edit


def instance_types(change: Callable[[list[str]], list[str]]) -> Edit:
    def edit(obj: dict[str, Any]) -> None:
        (req,) = [r for r in template(obj)["requirements"] if r["key"] == "node.kubernetes.io/instance-type"]
        req["values"] = change(req["values"])

    return edit


STARTUP = [{"key": "a.example/ready", "effect": "NoSchedule"}, {"key": "b.example/ready", "effect": "NoSchedule"}]
TERMS = [{"tags": {"karpenter.sh/discovery": "gpu-dev"}}, {"tags": {"extra": "yes"}}]
DISKS = [
    {"deviceName": "/dev/xvda", "rootVolume": True, "ebs": {"volumeSize": "200Gi", "volumeType": "gp3"}},
    {"deviceName": "/dev/xvdb", "ebs": {"volumeSize": "500Gi", "volumeType": "gp3"}},
]
NP: Final = "NodePool"
NC: Final = "EC2NodeClass"

CASES = [
    # -- NodePool spec.template: hashed ----------------------------------------------------------------------
    Case("labels", "a template label added", "every", merged(meta, "labels", {"team": "a"})),
    Case("labels", "a label on the NodePool itself", "none", lambda p: p["metadata"].update(labels={"team": "a"})),
    Case("annotations", "a template annotation added", "every", merged(meta, "annotations", {"x.example/a": "1"})),
    Case(
        "annotations", "an annotation on the NodePool", "none", lambda p: p["metadata"].update(annotations={"a": "1"})
    ),
    Case(
        "taints", "a taint added", "every", lambda p: template(p)["taints"].append({"key": "t", "effect": "NoSchedule"})
    ),
    Case("taints", "the taints reordered", "none", reverse(template, "taints")),
    Case("startupTaints", "a startup taint added", "every", setter(template, "startupTaints", STARTUP[:1])),
    Case(
        "startupTaints",
        "the startup taints reordered",
        "none",
        setter(template, "startupTaints", STARTUP[::-1]),
        base=setter(template, "startupTaints", STARTUP),
    ),
    Case("nodeClassRef", "another EC2NodeClass", "every", lambda p: template(p)["nodeClassRef"].update(name="default")),
    Case(
        "nodeClassRef",
        "another pool's class changes",
        "none",
        merged(spec_of, "tags", {"x": "y"}),
        kind=NC,
        name="default",
    ),
    Case("expireAfter", "720h → 336h", "every", setter(template, "expireAfter", "336h")),
    Case("expireAfter", "720h → Never", "every", setter(template, "expireAfter", "Never")),
    Case("expireAfter", "720h → 43200m (the same duration)", "none", setter(template, "expireAfter", "43200m")),
    Case("expireAfter", "720h → unset (the CRD default is 720h)", "none", lambda p: template(p).pop("expireAfter")),
    Case("terminationGracePeriod", "5m → 10m", "every", setter(template, "terminationGracePeriod", "10m")),
    Case("terminationGracePeriod", "5m → unset", "every", lambda p: template(p).pop("terminationGracePeriod")),
    Case(
        "terminationGracePeriod",
        "5m → 300s (the same duration)",
        "none",
        setter(template, "terminationGracePeriod", "300s"),
    ),
    # -- NodePool spec.template: requirements (hash:"ignore", drift only the nodes outside them) ---------------
    Case(
        "requirements",
        "instance types narrowed",
        "some",
        instance_types(lambda v: [t for t in v if t.startswith("g6")]),
    ),
    Case("requirements", "instance types widened", "none", instance_types(lambda v: [*v, "g6e.xlarge"])),
    # -- NodePool spec outside the template: behavioural -------------------------------------------------------
    Case("weight", "weight set", "none", setter(spec_of, "weight", 50)),
    Case("limits", "limit doubled", "none", setter(spec_of, "limits", {"nvidia.com/gpu": "128"})),
    Case("disruption", "consolidateAfter", "none", lambda p: p["spec"]["disruption"].update(consolidateAfter="1h")),
    Case("disruption", "budgets", "none", lambda p: p["spec"]["disruption"].update(budgets=[{"nodes": "1"}])),
    Case("replicas", "replicas set", "none", setter(spec_of, "replicas", 2)),
    # -- EC2NodeClass: in EC2NodeClass.Hash ------------------------------------------------------------------
    Case("placementGroupSelector", "set", "every", setter(spec_of, "placementGroupSelector", {"name": "pg"}), kind=NC),
    Case("associatePublicIPAddress", "set", "every", setter(spec_of, "associatePublicIPAddress", False), kind=NC),
    Case("userData", "set", "every", setter(spec_of, "userData", "#!/bin/bash\n"), kind=NC),
    Case("role", "another role", "every", setter(spec_of, "role", "other-role"), kind=NC),
    Case("instanceProfile", "set", "every", setter(spec_of, "instanceProfile", "profile"), kind=NC),
    Case("tags", "a tag added", "every", merged(spec_of, "tags", {"team": "a"}), kind=NC),
    Case(
        "tags", "a label on the EC2NodeClass itself", "none", lambda c: c["metadata"].update(labels={"a": "b"}), kind=NC
    ),
    Case("kubelet", "maxPods", "every", setter(spec_of, "kubelet", {"maxPods": 50}), kind=NC),
    Case("blockDeviceMappings", "a data volume added", "every", setter(spec_of, "blockDeviceMappings", DISKS), kind=NC),
    Case(
        "blockDeviceMappings",
        "the volumes reordered",
        "none",
        setter(spec_of, "blockDeviceMappings", DISKS[::-1]),
        base=setter(spec_of, "blockDeviceMappings", DISKS),
        kind=NC,
    ),
    Case("instanceStorePolicy", "RAID0", "every", setter(spec_of, "instanceStorePolicy", "RAID0"), kind=NC),
    Case(
        "networkInterfaces",
        "set",
        "every",
        setter(spec_of, "networkInterfaces", [{"networkCardIndex": 0, "deviceIndex": 0, "interfaceType": "interface"}]),
        kind=NC,
    ),
    Case("detailedMonitoring", "on", "every", setter(spec_of, "detailedMonitoring", True), kind=NC),
    Case(
        "metadataOptions",
        "hop limit 2",
        "every",
        lambda c: c["spec"]["metadataOptions"].update(httpPutResponseHopLimit=2),
        kind=NC,
    ),
    Case(
        "connectionTracking",
        "set",
        "every",
        setter(spec_of, "connectionTracking", {"tcpEstablishedTimeout": 60}),
        kind=NC,
    ),
    Case("context", "set", "every", setter(spec_of, "context", "ctx"), kind=NC),
    Case("cpuOptions", "set", "every", setter(spec_of, "cpuOptions", {"threadsPerCore": 1}), kind=NC),
    # -- EC2NodeClass: resolved drift (only the nodes that no longer match) --------------------------------------
    Case("subnetSelectorTerms", "another term", "some", setter(spec_of, "subnetSelectorTerms", TERMS[1:]), kind=NC),
    Case(
        "subnetSelectorTerms",
        "the terms reordered",
        "none",
        setter(spec_of, "subnetSelectorTerms", TERMS[::-1]),
        base=setter(spec_of, "subnetSelectorTerms", TERMS),
        kind=NC,
    ),
    Case(
        "securityGroupSelectorTerms",
        "another term",
        "some",
        setter(spec_of, "securityGroupSelectorTerms", TERMS[1:]),
        kind=NC,
    ),
    Case(
        "capacityReservationSelectorTerms",
        "a reservation selected",
        "some",
        setter(spec_of, "capacityReservationSelectorTerms", [{"id": "cr-0123456789abcdef0"}]),
        kind=NC,
    ),
    # -- EC2NodeClass: the AMI ---------------------------------------------------------------------------------
    Case(
        "amiSelectorTerms",
        "a newer alias",
        "every",
        setter(spec_of, "amiSelectorTerms", [{"alias": "al2023@v20260724"}]),
        kind=NC,
    ),
    Case("amiFamily", "the alias's own family written out", "none", setter(spec_of, "amiFamily", "AL2023"), kind=NC),
    Case("ipPrefixCount", "set", "none", setter(spec_of, "ipPrefixCount", 1), kind=NC),
]


@pytest.fixture(scope="module")
def dev(tmp_path_factory) -> impact.Render:
    folder = tmp_path_factory.mktemp("dev") / "dev"
    write_render(run_stack("dev"), folder)
    return impact.load_render(folder)


def edited(render: impact.Render, kind: str, name: str, edit: Edit) -> impact.Render:
    manifests: dict[tuple[str, str], dict[str, Any]] = {k: copy.deepcopy(dict(v)) for k, v in render.manifests.items()}
    edit(manifests[(kind, name)])
    return impact.Render(manifests, render.helm, render.resources, render.outputs)


def verdict(replaced: list[str], pool: str) -> Verdict:
    lines = [line for line in replaced if line.startswith(f"`{pool}`:")]
    assert len(lines) <= 1, lines
    if not lines:
        return "none"
    return "every" if "**every node**" in lines[0] else "some"


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}.{c.field}: {c.change}" for c in CASES])
def test_each_drift_rule(dev, case):
    name = case.name or (POOL if case.kind == NP else CLASS)
    base = edited(dev, case.kind, name, case.base) if case.base else dev
    head = edited(base, case.kind, name, case.head)
    assert head.manifests != base.manifests  # the case does change the render
    replaced, kept = impact.pool_impacts(base, head)
    assert verdict(replaced, POOL) == case.expected, (replaced, kept)
    if case.field in NODEPOOL_BEHAVIOURAL:
        assert kept == [f"`{POOL}`: {case.field} changed (settings only, no node is replaced)"]


def test_every_field_of_the_crds_has_its_rule_tested():
    """The v1.14.1 CRDs' spec fields are exactly the ones classified above, each with a case that replaces nodes
    (where a change can) and one that does not."""
    crd = yaml.safe_load(upstream_file("karpenter", "karpenter.sh_nodepools.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    template_fields = set(spec["template"]["properties"]["spec"]["properties"])
    template_fields |= set(spec["template"]["properties"]["metadata"]["properties"])
    assert template_fields == set(TEMPLATE_HASHED + TEMPLATE_IGNORED)
    assert set(spec) - {"template"} == set(NODEPOOL_BEHAVIOURAL)
    crd = yaml.safe_load(upstream_file("karpenter", "karpenter.k8s.aws_ec2nodeclasses.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert set(spec) == set(CLASS_HASHED + CLASS_RESOLVED + CLASS_AMI + CLASS_NEVER)
    verdicts: dict[str, set[str]] = {}
    for case in CASES:
        verdicts.setdefault(case.field, set()).add(case.expected)
    for field in TEMPLATE_HASHED:
        assert verdicts[field] == {"every", "none"}, field
    for field in CLASS_HASHED + ("amiSelectorTerms",):
        assert "every" in verdicts[field], field
    for field in CLASS_RESOLVED + TEMPLATE_IGNORED:
        assert "some" in verdicts[field], field
    for field in NODEPOOL_BEHAVIOURAL + CLASS_NEVER + ("amiFamily",):
        assert verdicts[field] == {"none"}, field
