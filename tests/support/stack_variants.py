"""Named test stacks beyond the repo's own: one per deployment shape the real-world checks must cover.

Each variant is a repo stack plus `gpu-eks:*` overrides (None removes a key), run through
`tools.harness.run_stack`. The Helm, placement, schema and children checks all iterate over
`REPO_STACKS` and these, so a new shape added here is checked everywhere at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BROUGHT_VPC = {
    "vpcId": "vpc-0abc12345",
    "privateSubnetIds": ["subnet-0aaa1111", "subnet-0bbb2222"],
    "publicSubnetIds": ["subnet-0ccc3333", "subnet-0ddd4444"],
}


def _pool(name: str, sharing: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "capacityTypes": ["on-demand"], "maxGpus": 8, "sharing": sharing, **extra}


@dataclass(frozen=True)
class StackVariant:
    """A repo stack with some keys overridden."""

    name: str
    base: str
    overrides: dict[str, Any] = field(default_factory=dict)


STACK_VARIANTS: tuple[StackVariant, ...] = (
    StackVariant("gpu-only-time-slicing", "dev", {"nodePools": []}),
    StackVariant("gpu-only-mig", "prod", {"nodePools": []}),
    StackVariant("whole-gpu", "dev", {"gpuNodePools": [_pool("whole", {"strategy": "none"}, instanceFamilies=["g6"])]}),
    StackVariant(
        "mps", "dev", {"gpuNodePools": [_pool("mps", {"strategy": "mps", "replicas": 8}, instanceFamilies=["g6e"])]}
    ),
    StackVariant(
        "mig-and-time-slicing",
        "dev",
        {
            "gpuNodePools": [
                _pool("mig", {"strategy": "mig", "profile": "1g.10gb"}, instanceTypes=["p5.48xlarge"]),
                _pool("shared", {"strategy": "time-slicing", "replicas": 4}, instanceFamilies=["g6"]),
            ]
        },
    ),
    StackVariant("irsa-brought-vpc", "prod", {"karpenter": {"identity": "irsa"}, "network": BROUGHT_VPC}),
    StackVariant("cpu-only", "dev", {"gpuNodePools": []}),
)
VARIANTS_BY_NAME = {variant.name: variant for variant in STACK_VARIANTS}
