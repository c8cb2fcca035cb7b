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
# The first Karpenter whose EC2NodeClass has `networkInterfaces` (efa-only interfaces) and
# `placementGroupSelector`: both are absent from the v1.10.0 CRD and present in v1.11.0 (aws/karpenter-provider-aws
# pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml at those tags, read 2026-11-25). EFA pools need both.
KARPENTER_EFA_NODE_CLASS_VERSION = "1.11.0"
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

# Metrics stack (observability.mode in-cluster or amp): kube-prometheus-stack 88.5.3 (prometheus-community/
# helm-charts tag kube-prometheus-stack-88.5.3, commit ea930bae of 2026-08-21: operator v0.93.1, Prometheus v3.14.0,
# Grafana chart 12.11.1, kube-state-metrics 8.4.0, node-exporter 4.56.1), read 2026-11-25.
KUBE_PROMETHEUS_STACK_CHART = "kube-prometheus-stack"
KUBE_PROMETHEUS_STACK_REPOSITORY = "https://prometheus-community.github.io/helm-charts"
KUBE_PROMETHEUS_STACK_VERSION = "88.5.3"
# The chart's CRD upgrade Job (crds.upgradeJob, a pre-install/pre-upgrade hook) decompresses the chart's CRDs with
# busybox, whose image the chart leaves at "latest" (charts/crds/values.yaml at kube-prometheus-stack-88.5.3): pinned
# to the Docker Official Image's 1.37.0 tag (docker-library/official-images library/busybox), read 2026-12-06. Its
# kubectl image defaults to the cluster's Kubernetes version, which moves with `kubernetesVersion`.
CRD_UPGRADE_BUSYBOX_TAG = "1.37.0"
# Grafana 13 (the chart's Grafana, appVersion 13.2.0 in grafana chart 12.11.1) has no SigV4 in its core Prometheus data
# source: it migrates SigV4 Prometheus data sources to this plugin at start-up, which it does not install
# (grafana.com/docs/grafana-cloud/.../prometheus/configure/aws-authentication, "What changed in Grafana 13"). Pinned:
# grafana/grafana-amazonprometheus-datasource tag v3.2.0 (2026-07-30; src/plugin.json grafanaDependency
# ">=12.2.5-0" covers 13.2.0), read 2026-12-06. grafana.com lists 3.3.x releases newer than the snapshot we read;
# 3.3.4 moves its @grafana packages to 13.3, so check grafanaDependency before moving the pin.
GRAFANA_AMP_DATASOURCE_PLUGIN = "grafana-amazonprometheus-datasource"
GRAFANA_AMP_DATASOURCE_PLUGIN_VERSION = "3.2.0"
# NVIDIA's DCGM exporter chart for stacks on the device plugin (the GPU Operator brings its own exporter):
# NVIDIA/dcgm-exporter tag 4.5.3-4.8.2, commit 691c9276 of 2026-05-06, chart 4.8.2 (gh-pages helm-charts index),
# read 2026-11-25.
DCGM_EXPORTER_CHART = "dcgm-exporter"
DCGM_EXPORTER_REPOSITORY = "https://nvidia.github.io/dcgm-exporter/helm-charts"
DCGM_EXPORTER_VERSION = "4.8.2"

# AWS EFA device plugin chart (aws/eks-charts stable/aws-efa-k8s-device-plugin, commit 5239609 of 2026-08-03, read
# 2026-11-25); its versions carry a "v" prefix. Installed only when some GPU pool has `efa: true`.
EFA_DEVICE_PLUGIN_CHART = "aws-efa-k8s-device-plugin"
EFA_DEVICE_PLUGIN_REPOSITORY = "https://aws.github.io/eks-charts"
EFA_DEVICE_PLUGIN_VERSION = "v0.5.30"
EFA_DEVICE_PLUGIN_NAMESPACE = "kube-system"

# Kubeflow MPI operator for examples/nccl-tests (not installed by the program): the v0.8.0 release manifest
# (kubeflow/mpi-operator tag v0.8.0, commit 101db144 of 2026-02-18, read 2026-11-25).
MPI_OPERATOR_VERSION = "v0.8.0"
MPI_OPERATOR_MANIFEST_URL = (
    f"https://raw.githubusercontent.com/kubeflow/mpi-operator/{MPI_OPERATOR_VERSION}/deploy/v2beta1/mpi-operator.yaml"
)

# Node image: the Karpenter AMI alias of every EC2NodeClass unless a stack (`gpu-eks:nodeImage`) or a GPU pool
# (`nodeImage`) sets another. Pinned, because `al2023@latest` makes every AMI release (NVIDIA driver included)
# drift and replace every node of every stack at once, which Karpenter's docs advise against for production
# (concepts/nodeclasses.md v1.14, "amiSelectorTerms"; the EC2NodeClass CRD's alias description). The version is an
# awslabs/amazon-eks-ami release tag: v20260714 is the newest release with release notes in the snapshot read
# 2026-11-25 (tag commit b4fffb70, 2026-07-13; CHANGELOG.md entry of 2026-07-21 lists amazon-eks-node-al2023-
# {x86_64,arm64}-{standard,nvidia}-<k8s>-v20260714 for Kubernetes 1.30-1.36, NVIDIA driver 580.159.03,
# nvidia-container-toolkit 1.19.1). The snapshot's newer tag v20260724 has no release notes yet, so it is not used.
# Move it with README "Rolling a new node image".
DEFAULT_NODE_IMAGE = "al2023@v20260714"
# The first amazon-eks-ami release with AL2023 AMIs of every variant we launch (x86_64 and arm64, standard and
# nvidia) per Kubernetes minor: Karpenter resolves a pinned alias to the SSM parameter of that release's AMI for
# the cluster's version (aws/karpenter-provider-aws v1.14.1 pkg/providers/amifamily/al2023.go, resolvePath), so an
# older release has none and no node would ever launch. From the AMI names in amazon-eks-ami CHANGELOG.md at
# v20260724, read 2026-11-25 (arm64 NVIDIA AMIs start at v20250403).
AL2023_FIRST_RELEASE_FOR_KUBERNETES = {
    "1.32": "v20250403",
    "1.33": "v20250519",
    "1.34": "v20250915",
    "1.35": "v20260114",
    "1.36": "v20260610",
}

# Smoke-test images that still exist (research/nvidia.md §5): NVIDIA's CUDA sample used by the device
# plugin README v0.20.0, and Amazon Linux for nvidia-smi (the driver mounts it in).
CUDA_VECTOR_ADD_IMAGE = "nvcr.io/nvidia/k8s/cuda-sample:vectoradd-cuda12.5.0"
NVIDIA_SMI_IMAGE = "public.ecr.aws/amazonlinux/amazonlinux:2023-minimal"
# The container image of a warm slice's PodTemplate (components/gpu/warm.py). Never pulled: Karpenter turns the
# template into virtual pods that exist only in its scheduling simulation; the API requires an image anyway. The
# Kubernetes pause image, as in Karpenter's CapacityBuffer example (concepts/capacitybuffers.md, v1.14).
WARM_SLICE_PLACEHOLDER_IMAGE = "registry.k8s.io/pause:3.10"

# EKS add-ons, pinned per Kubernetes minor so that changing `kubernetesVersion` moves all of them together and
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
    # Installed with observability.mode in-cluster (Prometheus' volume); one build line serves all minors.
    "aws-ebs-csi-driver": {minor: "v1.66.0-eksbuild.1" for minor in SUPPORTED_KUBERNETES_VERSIONS},
    # Installed with nodeHealth.autoRepair; the agent ships one build for all minors.
    "eks-node-monitoring-agent": {minor: "v1.7.0-eksbuild.1" for minor in SUPPORTED_KUBERNETES_VERSIONS},
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
    "aws-ebs-csi-driver": "mitodl/ol-infrastructure#5959 (2026-09-21): v1.66.0-eksbuild.1 is the version AWS marks "
    "defaultVersion for Kubernetes 1.36 (eks:DescribeAddonVersions); unverified for 1.32-1.35",
    "eks-node-monitoring-agent": "aws/eks-node-monitoring-agent v1.7.0 (2026-08-04) charts/eks-node-monitoring-agent/"
    "values.yaml nodeAgent.image.tag v1.7.0-eksbuild.1, the build the add-on ships; unverified per Kubernetes version",
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
