"""Every pinned version in one place: Kubernetes, Helm charts, container images, AMI aliases.

Change a version here and nowhere else; the README's "Versions" table mirrors this file and a test keeps
the two in step. Sources are named next to each pin so a reviewer can check an upgrade.
"""
from __future__ import annotations

# Kubernetes minor versions we accept, and the default. EKS standard support plus what Karpenter's
# compatibility matrix covers (karpenter.sh v1.14 docs, upgrading/compatibility.md).
DEFAULT_KUBERNETES_VERSION = "1.34"
SUPPORTED_KUBERNETES_VERSIONS = ("1.32", "1.33", "1.34", "1.35", "1.36")

# Minimum Karpenter version per Kubernetes minor (same compatibility.md). A newer Kubernetes needs a newer
# Karpenter because Karpenter simulates kube-scheduler behaviour of that release.
KARPENTER_MIN_VERSION_FOR_KUBERNETES = {
    "1.32": "1.2.0",
    "1.33": "1.5.0",
    "1.34": "1.6.0",
    "1.35": "1.9.0",
    "1.36": "1.13.0",
}

# Karpenter chart + controller version. Charts are published without a "v" prefix.
DEFAULT_KARPENTER_VERSION = "1.14.1"
# The newest Karpenter whose CRDs we validate against (shared/upstream/karpenter); we refuse to render
# custom resources for a release we have not checked.
NEWEST_VALIDATED_KARPENTER_VERSION = "1.14.1"
# v1 APIs (NodePool/EC2NodeClass karpenter.sh/v1) exist from 1.0.0 on.
OLDEST_SUPPORTED_KARPENTER_VERSION = "1.0.0"
# Feature gates we may turn on, and the first Karpenter release that has each (reference/settings.md).
KARPENTER_FEATURE_GATES = {
    "nodeRepair": "1.1.0",
    "nodeOverlay": "1.7.0",
    "reservedCapacity": "1.3.0",
    "spotToSpotConsolidation": "1.0.0",
    "staticCapacity": "1.8.0",
    "capacityBuffer": "1.14.0",
}
KARPENTER_CHART_REPOSITORY = "oci://public.ecr.aws/karpenter"
KARPENTER_CHART = "karpenter"
KARPENTER_CRD_CHART = "karpenter-crd"
KARPENTER_NAMESPACE = "kube-system"
KARPENTER_SERVICE_ACCOUNT = "karpenter"

# NVIDIA device plugin chart (nvidia.github.io/k8s-device-plugin); no "v" prefix.
NVIDIA_DEVICE_PLUGIN_CHART = "nvidia-device-plugin"
NVIDIA_DEVICE_PLUGIN_REPOSITORY = "https://nvidia.github.io/k8s-device-plugin"
NVIDIA_DEVICE_PLUGIN_VERSION = "0.20.0"
# NVIDIA GPU Operator chart (helm.ngc.nvidia.com/nvidia); this chart's versions carry a "v" prefix.
NVIDIA_GPU_OPERATOR_CHART = "gpu-operator"
NVIDIA_GPU_OPERATOR_REPOSITORY = "https://helm.ngc.nvidia.com/nvidia"
NVIDIA_GPU_OPERATOR_VERSION = "v26.7.0"
NVIDIA_NAMESPACE = "nvidia"

# AMI aliases. `@latest` is the form Karpenter documents for aliases (concepts/nodeclasses.md); pin a
# dated version (e.g. al2023@v20261101) here to freeze node images for an environment.
KARPENTER_AMI_ALIAS = "al2023@latest"

# Smoke-test images that still exist (research/nvidia.md §5): NVIDIA's CUDA sample used by the device
# plugin README v0.20.0, and Amazon Linux for nvidia-smi (the driver mounts it in).
CUDA_VECTOR_ADD_IMAGE = "nvcr.io/nvidia/k8s/cuda-sample:vectoradd-cuda12.5.0"
NVIDIA_SMI_IMAGE = "public.ecr.aws/amazonlinux/amazonlinux:2023-minimal"

# EKS managed add-ons installed explicitly. Versions are left to EKS's default for the pinned Kubernetes
# version (AWS documents that an omitted addonVersion resolves to the default for the cluster version),
# so a Kubernetes upgrade moves them together; set a string here to pin one.
EKS_ADDON_VERSIONS: dict[str, str | None] = {
    "coredns": None,
    "eks-pod-identity-agent": None,
}


def parse_semver(version: str) -> tuple[int, int, int]:
    """Parse "1.14.1" (no prefix) into a comparable tuple; ValueError otherwise."""
    parts = version.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a MAJOR.MINOR.PATCH version: {version!r}")
    major, minor, patch = (int(p) for p in parts)
    return major, minor, patch
