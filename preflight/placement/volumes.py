"""Zonal volumes: a pod whose volume lives in one zone must always find a node in that zone.

An EBS volume is zonal (ebs.csi.aws.com provisions it in the zone of the node the pod is first scheduled on, with a
WaitForFirstConsumer StorageClass, and the PV carries that zone as node affinity). Such a pod is safe on a Karpenter
NodePool that may launch in that zone: Karpenter adds the PV's zone to the pod's requirements and launches there
(kubernetes-sigs/karpenter v1.14 pkg/scheduling/volumetopology.go). It is not safe on the controller managed node
group: its fixed set of nodes (2 over 3 zones by default) can come back from a roll with none in the volume's zone,
and the pod stays Pending with nothing reporting it.

Read from the rendered releases: every volumeClaimTemplate of a StatefulSet, or of the Prometheus Operator's
Prometheus and Alertmanager resources (spec.storage.volumeClaimTemplate, which the operator turns into the
StatefulSet's claim template: prometheus-operator v0.93 pkg/prometheus/server/statefulset.go), and the StorageClasses
the program registers or the releases render.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from preflight.placement.model import MONITORING_GROUP, OPERATOR_POD_KINDS, ClusterModel

# CSI provisioners whose volumes are zonal (an EBS volume attaches only to instances in its Availability Zone).
ZONAL_PROVISIONERS = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs")
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"


@dataclass(frozen=True)
class ClaimedVolume:
    """A volume a pod template claims, and the pod (model name) that mounts it."""

    pod: str
    storage_class: str | None
    size: str | None


def _claim_templates(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind in OPERATOR_POD_KINDS and str(obj.get("apiVersion", "")).startswith(MONITORING_GROUP):
        template = (spec.get("storage") or {}).get("volumeClaimTemplate")
        return [template] if template else []
    if kind == "StatefulSet":
        return list(spec.get("volumeClaimTemplates") or [])
    return []


def claimed_volumes(model: ClusterModel) -> list[ClaimedVolume]:
    """Every persistent volume a rendered pod template claims."""
    volumes = []
    for release in model.releases.values():
        for obj in release.objects:
            for template in _claim_templates(obj):
                claim = template.get("spec") or {}
                volumes.append(
                    ClaimedVolume(
                        f"{release.release}: {obj['kind']} {obj['metadata']['name']}",
                        claim.get("storageClassName"),
                        ((claim.get("resources") or {}).get("requests") or {}).get("storage"),
                    )
                )
    return volumes


def storage_classes(model: ClusterModel, registered: list[Mapping[str, Any]]) -> dict[str, str]:
    """StorageClass name -> provisioner, from what the program registers and what the releases render."""
    classes = {m["metadata"]["name"]: m["provisioner"] for m in registered}
    for release in model.releases.values():
        classes.update(
            {o["metadata"]["name"]: o["provisioner"] for o in release.objects if o["kind"] == "StorageClass"}
        )
    return classes


def registered_storage_classes(run: Any) -> list[Mapping[str, Any]]:
    """The StorageClasses a program run registers (their plain inputs)."""
    return [r.plain_inputs() for r in run.by_type(STORAGE_CLASS)]


def zonal_volume_failures(model: ClusterModel, classes: Mapping[str, str]) -> dict[str, list[str]]:
    """Pod with a zonal volume -> why it could be stranded: it may run on the controller group's fixed nodes, or on
    no Karpenter pool at all."""
    failures: dict[str, list[str]] = {}
    for volume in claimed_volumes(model):
        provisioner = classes.get(volume.storage_class or "")
        if provisioner is None:
            failures[volume.pod] = [f"claims StorageClass {volume.storage_class!r}, which the stack does not create"]
            continue
        if provisioner not in ZONAL_PROVISIONERS:
            continue
        pods = [p for p in model.pods if p.name == volume.pod]
        assert len(pods) == 1, f"{volume.pod}: not one pod in the model"
        pod = pods[0]
        fixed = sorted({n.group for n in model.nodes if n.at_install and not model.problems(pod, n)})
        launched = [n for n in model.nodes if not n.at_install and not model.problems(pod, n, at_launch=True)]
        problems = []
        if fixed:
            problems.append(
                f"its {volume.size or ''} {provisioner} volume is zonal and it may run on the {', '.join(fixed)} "
                "group, whose fixed nodes a roll can leave with none in the volume's zone"
            )
        if not launched:
            problems.append("no Karpenter NodePool can launch a node for it in its volume's zone")
        if problems:
            failures[volume.pod] = problems
    return failures
