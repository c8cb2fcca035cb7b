"""Pure logic of the example: check the platform's outputs against the contract, build one smoke Job per pool.

Kept free of resource registration so the checks and the Job shape are tested directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

VECTOR_ADD_IMAGE = "nvcr.io/nvidia/k8s/cuda-sample:vectoradd-cuda12.5.0"
REQUIRED_CONTRACT_KEYS = ("strategy", "resourceName", "nodeSelector", "tolerations", "slicesPerNode")


class PlatformOutputError(pulumi.RunError):
    """The platform stack's outputs are missing or not what the contract promises (printed without a traceback)."""


@dataclass(frozen=True)
class PoolContract:
    """What a workload needs to know to use one GPU pool."""

    name: str
    strategy: str
    resource_name: str
    node_selector: Mapping[str, str]
    tolerations: tuple[Mapping[str, str], ...]
    slices_per_node: Mapping[str, int]


def parse_gpu_pools(platform_stack: str, value: Any) -> list[PoolContract]:
    """Validate the `gpuPools` output of `platform_stack` and return one contract per pool."""
    where = f"{platform_stack}: output gpuPools"
    if value is None:
        raise PlatformOutputError(f"{where} is missing; is {platform_stack} a gpu-eks stack that has been deployed?")
    if not isinstance(value, Mapping):
        raise PlatformOutputError(f"{where} must be a map of pool name to contract, got {type(value).__name__}")
    contracts = []
    for name, contract in sorted(value.items()):
        if not isinstance(contract, Mapping):
            raise PlatformOutputError(f"{where}.{name} must be a map, got {type(contract).__name__}")
        missing = [key for key in REQUIRED_CONTRACT_KEYS if key not in contract]
        if missing:
            raise PlatformOutputError(
                f"{where}.{name} lacks {', '.join(missing)}; the platform stack is older "
                f"than this example or not gpu-eks"
            )
        resource = contract["resourceName"]
        if not isinstance(resource, str) or not resource.startswith("nvidia.com/"):
            raise PlatformOutputError(f"{where}.{name}.resourceName must be an nvidia.com/ resource, got {resource!r}")
        selector = contract["nodeSelector"]
        if not isinstance(selector, Mapping) or not selector:
            raise PlatformOutputError(f"{where}.{name}.nodeSelector must be a non-empty map, got {selector!r}")
        contracts.append(
            PoolContract(
                name=name,
                strategy=contract["strategy"],
                resource_name=resource,
                node_selector=dict(selector),
                tolerations=tuple(dict(t) for t in contract["tolerations"]),
                slices_per_node=dict(contract["slicesPerNode"]),
            )
        )
    return contracts


def require_kubeconfig(platform_stack: str, value: Any) -> str:
    """The platform's kubeconfig output, which must be present."""
    if not isinstance(value, str) or not value:
        raise PlatformOutputError(f"{platform_stack}: output kubeconfig is missing or empty")
    return value


def smoke_job(contract: PoolContract) -> dict[str, Any]:
    """A Job that runs CUDA vector-add on exactly one slice of the pool, placed the way the contract says."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"smoke-{contract.name}", "labels": {"app.kubernetes.io/part-of": "gpu-workload"}},
        "spec": {
            "backoffLimit": 2,
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "nodeSelector": dict(contract.node_selector),
                    "tolerations": [dict(t) for t in contract.tolerations],
                    "containers": [
                        {
                            "name": "vector-add",
                            "image": VECTOR_ADD_IMAGE,
                            "resources": {"limits": {contract.resource_name: 1}},
                        }
                    ],
                }
            },
        },
    }
