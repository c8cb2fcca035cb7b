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

# EKS add-ons, pinned per Kubernetes minor so that changing `kubernetesVersion` moves all four together and
# nothing moves otherwise. Left unset, coredns and eks-pod-identity-agent were resolved once at create and never
# followed an upgrade, and pulumi-eks resolved kube-proxy and vpc-cni to the *most recent* build at every run
# (getAddonVersion mostRecent=true in pulumi-eks v4.4.0 cluster.ts / cni-addon.ts), so a preview could change
# them with no code change. kube-proxy and vpc-cni are passed to pulumi-eks (kubeProxyAddonOptions.version,
# vpcCniOptions.addonVersion); coredns and eks-pod-identity-agent are our own aws.eks.Addon resources.
# Every supported Kubernetes version needs an entry for every add-on (tested). To move a pin, take the version
# from the source below, or `aws eks describe-addon-versions --addon-name <addon> --kubernetes-version <minor>`
# (the one with defaultVersion true, or newer), and change it here and in the README table.
EKS_ADDON_VERSIONS: dict[str, dict[str, str]] = {
    "coredns": {
        "1.32": "v1.11.4-eksbuild.40",
        "1.33": "v1.12.4-eksbuild.18",
        "1.34": "v1.13.2-eksbuild.11",
        "1.35": "v1.14.3-eksbuild.3",
        "1.36": "v1.14.3-eksbuild.3",
    },
    "kube-proxy": {
        "1.32": "v1.32.13-eksbuild.16",
        "1.33": "v1.33.10-eksbuild.13",
        "1.34": "v1.34.6-eksbuild.13",
        "1.35": "v1.35.3-eksbuild.13",
        "1.36": "v1.36.0-eksbuild.14",
    },
    # One VPC CNI build serves every Kubernetes version in AWS's table (each snapshot of it lists a single
    # version for all minors).
    "vpc-cni": {minor: "v1.21.1-eksbuild.3" for minor in SUPPORTED_KUBERNETES_VERSIONS},
    # AWS publishes no per-Kubernetes table for this agent; one build line serves all minors.
    "eks-pod-identity-agent": {minor: "v1.3.10-eksbuild.1" for minor in SUPPORTED_KUBERNETES_VERSIONS},
}
# Where each pin comes from, read 2026-11-25. "unverified" marks pins no AWS page lists for that Kubernetes
# version: check them with describe-addon-versions before moving a cluster to that version.
EKS_ADDON_VERSION_SOURCES: dict[str, str] = {
    "coredns": "EKS User Guide, CoreDNS versions table (docs.aws.amazon.com/ja_jp/eks/latest/userguide/"
    "managing-coredns.md, the newest snapshot listing 1.30-1.36)",
    "kube-proxy": "EKS User Guide, kube-proxy versions table (docs.aws.amazon.com/ja_jp/eks/latest/userguide/"
    "managing-kube-proxy.md, listing 1.31-1.36)",
    "vpc-cni": "EKS User Guide, Amazon VPC CNI versions table, 1.34 row, as quoted in awslabs/cdk-eks-blueprints#1224 "
    "(2026-02-16); unverified for 1.35 and 1.36",
    "eks-pod-identity-agent": "AWS in aws/containers-roadmap#2684 (2025-11-24): v1.3.10-eksbuild.1 is the default "
    "version in all regions; unverified per Kubernetes version",
}


def eks_addon_versions(kubernetes_version: str) -> dict[str, str]:
    """The pinned version of every EKS add-on for one Kubernetes minor; KeyError names a missing pin."""
    missing = sorted(addon for addon, pins in EKS_ADDON_VERSIONS.items() if kubernetes_version not in pins)
    if missing:
        raise KeyError(f"no pinned version of {', '.join(missing)} for Kubernetes {kubernetes_version}")
    return {addon: pins[kubernetes_version] for addon, pins in sorted(EKS_ADDON_VERSIONS.items())}


def parse_semver(version: str) -> tuple[int, int, int]:
    """Parse "1.14.1" (no prefix) into a comparable tuple; ValueError otherwise."""
    parts = version.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a MAJOR.MINOR.PATCH version: {version!r}")
    major, minor, patch = (int(p) for p in parts)
    return major, minor, patch
