"""Pure builders for a pool's warm slices: a CapacityBuffer and the PodTemplate of one slice.

Karpenter (gate `capacityBuffer`, 1.14+) turns a CapacityBuffer into `replicas` virtual pods of the template's shape
that exist only in its scheduling simulation: they are never created in the API, hold no device, and have the lowest
priority (kubernetes-sigs/karpenter v1.14.1 pkg/state/virtualpods/utilities.go `BuildVirtualPods`). Each scheduling
round must fit them, on free capacity of existing nodes or on new nodes, so the pool always has that many free
slices; when real pods take them, Karpenter launches more. A node hosting buffer capacity is not consolidated as
empty; drift and expiry still replace it, with room for the buffer (concepts/capacitybuffers.md, v1.14). The
virtual pods count against the NodePool's limit like real ones.

Why this and not a static NodePool (`replicas`) or placeholder pods: a static pool keeps whole nodes, which real pods
then fill without anything refilling, and needs a second NodePool per pool; placeholder pods are real pods that hold
real device-plugin slices until preempted, so every scale-up waits for an eviction and a restart, and they need a
PriorityClass. The buffer is slice-granular, refills, and costs nothing in the API. Its price: the API is alpha.
"""

from __future__ import annotations

from typing import Any

from components import versions
from components.common.names import POOL_LABEL
from components.gpu.pools import GpuPoolPlan, pool_tolerations

# The only version the v1.14 CRD serves (charts/karpenter-crd/templates/autoscaling.x-k8s.io_capacitybuffers.yaml
# @v1.14.1); the v1.14 docs still show v1alpha1, which the API server would refuse.
CAPACITY_BUFFER_API = "autoscaling.x-k8s.io/v1beta1"
# "Currently only active-capacity is supported" (concepts/capacitybuffers.md); also the CRD default, written out so
# the rendered object says what it does.
ACTIVE_CAPACITY = "buffer.x-k8s.io/active-capacity"
# The buffer and its template are namespaced (the template must be in the buffer's namespace); Karpenter's own
# namespace exists before any pool and is not a workload namespace.
WARM_NAMESPACE = versions.KARPENTER_NAMESPACE


def warm_template_name(plan: GpuPoolPlan) -> str:
    return f"gpu-eks-warm-{plan.name}"


def warm_buffer_name(plan: GpuPoolPlan) -> str:
    return f"gpu-eks-warm-{plan.name}"


def warm_pod_template(plan: GpuPoolPlan) -> dict[str, Any]:
    """One warm slice: the pool's resource (limit 1), nodeSelector and tolerations, exactly as its contract says,
    so a slice kept warm is one a workload following the contract can take."""
    return {
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "metadata": {"name": warm_template_name(plan), "namespace": WARM_NAMESPACE, "labels": {POOL_LABEL: plan.name}},
        "template": {
            "spec": {
                "nodeSelector": {POOL_LABEL: plan.name},
                "tolerations": pool_tolerations(plan),
                "containers": [
                    {
                        "name": "slice",
                        # Never pulled: the virtual pods never run. The API requires an image.
                        "image": versions.WARM_SLICE_PLACEHOLDER_IMAGE,
                        "resources": {"limits": {plan.resource_name: "1"}, "requests": {plan.resource_name: "1"}},
                    }
                ],
            },
        },
    }


def capacity_buffer(plan: GpuPoolPlan) -> dict[str, Any]:
    """The CapacityBuffer keeping `warmSlices` of the pool's slices free."""
    if plan.config.warm_slices is None:
        raise ValueError(f"pool {plan.name} keeps no warm slices")
    return {
        "apiVersion": CAPACITY_BUFFER_API,
        "kind": "CapacityBuffer",
        "metadata": {"name": warm_buffer_name(plan), "namespace": WARM_NAMESPACE, "labels": {POOL_LABEL: plan.name}},
        "spec": {
            "provisioningStrategy": ACTIVE_CAPACITY,
            "podTemplateRef": {"name": warm_template_name(plan)},
            "replicas": plan.config.warm_slices,
        },
    }
