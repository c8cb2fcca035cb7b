"""Label, taint and tag names that more than one domain (or the policy pack) uses, each spelled once.

Names only one domain uses stay in that domain (the NVIDIA labels in `components.gpu.names`, the subnet role tags
in `components.network.subnets`).
"""

from __future__ import annotations

# -- the project's own labels and tags --------------------------------------------------------------------------
# NodePool template label naming the pool a node belongs to (general and GPU pools); also the tag on a GPU pool's
# EC2NodeClass, and what a workload's nodeSelector matches.
POOL_LABEL = "gpu-eks/pool"
# Ownership tags on every AWS resource, for cost reports.
CLUSTER_TAG = "gpu-eks/cluster"
STACK_TAG = "gpu-eks/stack"
# Karpenter finds the private subnets and the cluster security group by this tag (value: the cluster name).
DISCOVERY_TAG = "karpenter.sh/discovery"

# -- the controller node group ------------------------------------------------------------------------------------
# Karpenter and the NVIDIA controllers select the controller group by this label and tolerate its taint.
CONTROLLER_LABEL = "karpenter.sh/controller"
CRITICAL_ADDONS_TAINT_KEY = "CriticalAddonsOnly"

# -- Kubernetes and Karpenter well-known node labels -------------------------------------------------------------
OS_LABEL = "kubernetes.io/os"
ARCH_LABEL = "kubernetes.io/arch"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
ZONE_LABEL = "topology.kubernetes.io/zone"
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"
INSTANCE_CATEGORY_LABEL = "karpenter.k8s.aws/instance-category"
INSTANCE_CPU_LABEL = "karpenter.k8s.aws/instance-cpu"
INSTANCE_GENERATION_LABEL = "karpenter.k8s.aws/instance-generation"
INSTANCE_GPU_COUNT_LABEL = "karpenter.k8s.aws/instance-gpu-count"
INSTANCE_GPU_MANUFACTURER_LABEL = "karpenter.k8s.aws/instance-gpu-manufacturer"
