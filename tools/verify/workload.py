"""The smoke workload: one Deployment per pool whose pods each request one slice of the pool's contract resource.

A Deployment rather than a Job, because the run scales it out and back to zero and a Job's pods would finish
(freeing their slices, letting Karpenter consolidate) before the measurement is done. The CUDA vector-add sample
loops, as in examples/smoke/mig-fill-one-node.yaml, so each pod keeps proving it can use its slice; for MIG pools
the default slice count is whole nodes' worth of pods, the same fill pattern. The images are the ones the README's
"Versions" table pins (a test keeps these equal).
"""

from __future__ import annotations

from typing import Any

from tools.verify.plan import PoolContract

CUDA_VECTOR_ADD_IMAGE = "nvcr.io/nvidia/k8s/cuda-sample:vectoradd-cuda12.5.0"
NVIDIA_SMI_IMAGE = "public.ecr.aws/amazonlinux/amazonlinux:2023-minimal"

WORKLOADS: dict[str, tuple[str, list[str]]] = {
    # Exits non-zero (and restarts) if the slice is unusable, so a broken slice shows as restarts, not silence.
    "vector-add": (
        CUDA_VECTOR_ADD_IMAGE,
        ["/bin/sh", "-c", "while true; do /cuda-samples/vectorAdd || exit 1; sleep 60; done"],
    ),
    # The NVIDIA container runtime mounts nvidia-smi into any image; list the GPU (or MIG device) and stay up.
    "nvidia-smi": (NVIDIA_SMI_IMAGE, ["/bin/sh", "-c", "nvidia-smi -L || exit 1; exec sleep infinity"]),
}

APP_LABEL = "app.kubernetes.io/name"
APP = "gpu-eks-verify"
POOL_LABEL = "gpu-eks-verify/pool"


def deployment_name(pool: PoolContract) -> str:
    return f"verify-{pool.name}"


def selector(pool: PoolContract) -> str:
    return f"{APP_LABEL}={APP},{POOL_LABEL}={pool.name}"


def describe(workload: str, image: str | None = None) -> str:
    return f"{workload} ({image or WORKLOADS[workload][0]})"


def deployment(
    pool: PoolContract, workload: str = "vector-add", image: str | None = None, replicas: int = 0
) -> dict[str, Any]:
    """The Deployment for `pool`, created at `replicas` (0: the run scales it out itself)."""
    default_image, command = WORKLOADS[workload]
    labels = {APP_LABEL: APP, POOL_LABEL: pool.name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": deployment_name(pool), "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "nodeSelector": dict(pool.node_selector),
                    "tolerations": [dict(t) for t in pool.tolerations],
                    # Scale-in measures Karpenter, not a slow shutdown.
                    "terminationGracePeriodSeconds": 5,
                    "automountServiceAccountToken": False,
                    "containers": [
                        {
                            "name": workload,
                            "image": image or default_image,
                            "command": list(command),
                            # An extended resource's request equals its limit; one slice per pod.
                            "resources": {
                                "limits": {pool.resource_name: "1"},
                                "requests": {"cpu": "50m", "memory": "64Mi"},
                            },
                        }
                    ],
                },
            },
        },
    }
