"""The Kubernetes objects and Helm releases of a run, as the API server and Helm would receive them.

Shared by the renderer (tools/render.py writes them to manifests/ and helm/) and every preflight stage that reads
them, so a check always sees exactly what the render writes.
"""

from __future__ import annotations

from typing import Any

from preflight.model.harness import Registration

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
# Custom resources whose CRDs the karpenter-crd release installs: Karpenter's own and the CapacityBuffer.
KARPENTER_CRD_TYPE_PREFIXES = (
    "kubernetes:karpenter.sh/",
    "kubernetes:karpenter.k8s.aws/",
    "kubernetes:autoscaling.x-k8s.io/",
)


def is_kubernetes_object(registration: Registration) -> bool:
    """Kubernetes API objects (not Helm releases, not providers)."""
    return registration.type.startswith("kubernetes:") and registration.type != HELM_RELEASE


def manifest_of(registration: Registration) -> dict[str, Any]:
    """The object as it would be applied: apiVersion, kind, metadata and the rest of its inputs."""
    inputs = registration.redacted_inputs()
    _, api_version, kind = registration.type.split(":")
    manifest = {
        "apiVersion": inputs.get("apiVersion", api_version.replace("core/", "")),
        "kind": inputs.get("kind", kind),
    }
    manifest.update({k: v for k, v in inputs.items() if k not in ("apiVersion", "kind")})
    return manifest


def helm_release_of(registration: Registration) -> dict[str, Any]:
    """A Helm release's identifying fields and values."""
    inputs = registration.redacted_inputs()
    chart = inputs.get("chart", "")
    repository = (inputs.get("repositoryOpts") or {}).get("repo")
    if chart.startswith("oci://"):  # an OCI chart names its registry path inside `chart`
        repository, chart = chart.rsplit("/", 1)
    return {
        "release": inputs.get("name", registration.name),
        "chart": chart,
        "repository": repository,
        "version": inputs.get("version"),
        "namespace": inputs.get("namespace"),
        "skipCrds": bool(inputs.get("skipCrds", False)),
        "dependsOn": [],
        "values": inputs.get("values") or {},
    }
