"""The gpu-eks CrossGuard policies, importable without starting a policy pack server.

`policies/__main__.py` hands `ALL_POLICIES` to `PolicyPack`; tests import this package directly
(constructing a PolicyPack starts a gRPC server and blocks, so tests never do).

Enforcement levels below are the defaults; a policy pack config file overrides them per policy
(`{"gpu-nodepool-gpu-limit": "mandatory"}`) or for all (`{"all": "advisory"}`). See policies/README.md.
"""

from __future__ import annotations

from pulumi_policy import Policy

from .gpu import GPU_POLICIES
from .karpenter_footguns import KARPENTER_FOOTGUN_POLICIES
from .node_software import NODE_SOFTWARE_POLICIES
from .releases import RELEASE_POLICIES
from .security import SECURITY_POLICIES

PACK_NAME = "gpu-eks"
PACK_DESCRIPTION = (
    "gpu-eks guardrails: GPU NodePools tainted, bounded and shared within the NVIDIA plugin's "
    "limits; Karpenter and Helm installs ordered and pinned; EKS, node, queue and IAM security."
)

ALL_POLICIES: list[Policy] = [
    *GPU_POLICIES,
    *RELEASE_POLICIES,
    *SECURITY_POLICIES,
    *KARPENTER_FOOTGUN_POLICIES,
    *NODE_SOFTWARE_POLICIES,
]
POLICIES_BY_NAME: dict[str, Policy] = {policy.name: policy for policy in ALL_POLICIES}

if len(POLICIES_BY_NAME) != len(ALL_POLICIES):  # the engine keys config and results by name
    raise RuntimeError("policy names must be unique")

__all__ = ["ALL_POLICIES", "PACK_DESCRIPTION", "PACK_NAME", "POLICIES_BY_NAME"]
