"""NVIDIA resource and label names and the sharing strategies, each spelled once (the policy pack imports them)."""

from __future__ import annotations

from enum import StrEnum

# The extended resource the device plugin advertises for whole GPUs and time-slicing/MPS slices.
GPU_RESOURCE = "nvidia.com/gpu"
# MIG slices under the mixed strategy: one resource per profile (see catalog.mig_resource_name).
MIG_RESOURCE_PREFIX = "nvidia.com/mig-"
# GPU nodes are tainted with the resource's name, NVIDIA's convention that its charts' tolerations follow.
GPU_TAINT_KEY = GPU_RESOURCE
# The NVIDIA DaemonSets' node affinity matches it; the GPU NodePools set it.
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
# Which named device-plugin config (time-slicing / MPS / default) a node uses.
DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"
# Which mig-parted layout MIG Manager applies to a node.
MIG_CONFIG_LABEL = "nvidia.com/mig.config"
# The project's own label: how a pool's GPUs are shared.
SHARING_LABEL = "gpu-eks/sharing"

# -- EFA (Elastic Fabric Adapter) --------------------------------------------------------------------------------
# The extended resource the EFA device plugin advertises, one per EFA interface; Karpenter plans with the same name.
EFA_RESOURCE = "vpc.amazonaws.com/efa"
# EFA NodePools label their nodes with it and the EFA device plugin selects on it (the label
# aws-ia/terraform-aws-eks-blueprints uses for the same plugin), so the plugin runs on EFA pools only.
EFA_LABEL = "vpc.amazonaws.com/efa.present"
# The 2 MiB huge pages EFA nodes reserve for libfabric, as a pod requests them.
HUGEPAGES_2MI_RESOURCE = "hugepages-2Mi"
# ... and the taint every sharing pool's nodes carry (`gpu-eks/sharing=<strategy>:NoSchedule`), so a pod that asks
# for a whole GPU (`nvidia.com/gpu` and the GPU taint's toleration, the usual spelling) never lands on a time-sliced,
# MPS or MIG node unless it also tolerates this: the same key as the label, the value saying how the GPU is shared.
SHARING_TAINT_KEY = SHARING_LABEL


class SharingStrategy(StrEnum):
    """How a pool's GPUs are shared. Values match GFD's nvidia.com/gpu.sharing-strategy label (none |
    time-slicing | mps) plus mig; they are what the config, the node labels and the stack outputs spell."""

    NONE = "none"
    TIME_SLICING = "time-slicing"
    MPS = "mps"
    MIG = "mig"


# Strategies whose per-node capacity differs from the physical GPU count, so Karpenter only provisions
# correctly with a NodeOverlay (karpenter.md §2).
OVERLAY_STRATEGIES = (SharingStrategy.TIME_SLICING, SharingStrategy.MPS, SharingStrategy.MIG)
# Strategies that share a GPU between `replicas` clients (configured in the device plugin).
REPLICATED_STRATEGIES = (SharingStrategy.TIME_SLICING, SharingStrategy.MPS)
