"""Stage 3, objects: what reaches the API server passes its schema.

Every object the charts render (crds/, templates, hooks) and every built-in object the program registers is
checked against Kubernetes' strict OpenAPI schema of the stack's version; every custom resource against its CRD
(structural schema and CEL rules): the program's Karpenter objects against the pinned Karpenter CRDs, chart
objects against the CRDs the charts ship. Every custom resource's CRD must be installed by a release of the stack.
"""

from __future__ import annotations

from typing import Any

from preflight.findings import Finding, StageResult
from preflight.model.harness import StackRun
from preflight.model.objects import is_kubernetes_object, manifest_of
from preflight.subject import CannotCheck, Subject
from preflight.upstream import CAPACITY_BUFFER_CRD, UpstreamMissing, upstream_dir, upstream_file
from preflight.validate.crd import CrdValidator
from preflight.validate.kubernetes import builtin_schemas, held_crds, object_label, served_kinds, validate_objects

TITLE = "validate objects against Kubernetes and the CRDs (schema and CEL)"

_karpenter_crds: CrdValidator | None = None


def karpenter_crds() -> CrdValidator:
    """The pinned Karpenter CRDs and the CapacityBuffer CRD, compiled once (schema + CEL)."""
    global _karpenter_crds
    if _karpenter_crds is None:
        _karpenter_crds = CrdValidator.from_directory(
            upstream_dir() / "karpenter", [upstream_file(*CAPACITY_BUFFER_CRD)]
        )
    return _karpenter_crds


def crds_installed_by(releases: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """(CRD, where) for every CRD the stack's releases install: crds/ (unless skipCrds) and CRD templates."""
    return [
        (obj, f"release {release.release}: {obj['metadata']['annotations']['gpu-eks.test/template']}")
        for release in releases.values()
        for obj in release.all_objects()
        if obj.get("kind") == "CustomResourceDefinition"
    ]


def program_objects(run: StackRun) -> list[dict[str, Any]]:
    """Every Kubernetes object the program registers itself (not a chart's), as the API server receives it."""
    return [manifest_of(r) for r in run.resources if is_kubernetes_object(r)]


def check(subject: Subject, result: StageResult) -> None:
    run = subject.need_run()
    releases = subject.need_releases()
    kube_version = run.outputs["kubernetesVersion"]
    try:
        installed_crds = crds_installed_by(releases)
        catalogue = held_crds(upstream_dir()).extended(installed_crds)
        karpenter = karpenter_crds()
    except UpstreamMissing as error:
        raise CannotCheck(f"{subject.stack}: {error}") from error
    installed = {kind for crd, _ in installed_crds for kind in served_kinds(crd)}
    schemas = builtin_schemas(kube_version)
    counts = {"built-in": 0, "custom": 0}

    for release in releases.values():
        report = validate_objects(release.all_objects(), release.kube_version, catalogue)
        counts["built-in"] += report.builtin
        counts["custom"] += report.custom
        result.findings += [Finding(f"release {release.release}", p) for p in report.problems]
        for obj in release.all_objects():
            key = (obj["apiVersion"], obj["kind"])
            if not schemas.knows(*key) and key not in installed:
                result.findings.append(
                    Finding(
                        f"release {release.release}", f"{object_label(obj)}: no release of the stack installs its CRD"
                    )
                )

    for obj in program_objects(run):
        key = (obj["apiVersion"], obj["kind"])
        if schemas.knows(*key):
            counts["built-in"] += 1
            problems = validate_objects([obj], kube_version, catalogue).problems
        elif karpenter.knows(*key):
            counts["custom"] += 1
            problems = [f"{object_label(obj)}: {p}" for p in karpenter.validate(obj)]
            if key not in installed:
                problems.append(f"{object_label(obj)}: no release of the stack installs its CRD (karpenter-crd)")
        else:
            counts["custom"] += 1
            problems = validate_objects([obj], kube_version, catalogue).problems
        result.findings += [Finding("program", p) for p in problems]
    result.counts = counts
