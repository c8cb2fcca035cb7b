"""Named test stacks beyond the repo's own: one per deployment shape the real-world checks must cover.

Each variant is a repo stack plus `gpu-eks:*` overrides (None removes a key), run through
`preflight.model.harness.run_stack`. The Helm, placement, schema and children checks all iterate over
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
    # Reserved capacity first (an ODCR or Capacity Block by ID, others by tag and owner), on-demand as fallback;
    # the local NVMe striped as RAID0 and a faster root volume.
    StackVariant(
        "reserved-training",
        "prod",
        {
            "gpuNodePools": [
                {
                    "name": "training",
                    "instanceTypes": ["p5.48xlarge"],
                    "capacityTypes": ["reserved", "on-demand"],
                    "capacityReservations": [
                        {"id": "cr-0123456789abcdef0"},
                        {"tags": {"purpose": "llm-training"}, "ownerId": "111122223333"},
                    ],
                    "maxGpus": 16,
                    "instanceStore": "raid0",
                    "rootVolume": {"sizeGib": 500, "iops": 6000, "throughputMibps": 500},
                }
            ]
        },
    ),
    # Warm slices (a CapacityBuffer) and team taints next to a whole-GPU pool and a MIG pool (GPU Operator): the
    # whole-GPU pool must be the only one a pod asking for a whole GPU without naming a pool can land on.
    StackVariant(
        "warm-team-pools",
        "prod",
        {
            "gpuNodePools": [
                _pool(
                    "chat",
                    {"strategy": "time-slicing", "replicas": 4},
                    instanceFamilies=["g6e"],
                    warmSlices=8,
                    taints=[{"key": "team", "value": "chat", "effect": "NoSchedule"}],
                ),
                _pool("whole", {"strategy": "none"}, instanceFamilies=["g6"]),
                _pool(
                    "search",
                    {"strategy": "mig", "profile": "1g.10gb"},
                    instanceTypes=["p5.48xlarge"],
                    warmSlices=7,
                    taints=[{"key": "example.com/team", "value": "search", "effect": "NoExecute"}],
                ),
            ]
        },
    ),
    # EFA: the training pool (p5.48xlarge, 32 EFA; reserved first, in its reservation's existing placement
    # group; its zone the first pinned one), a second
    # EFA pool with another layout (p4d.24xlarge, 4 EFA), its own zone and a team taint the EFA device plugin must
    # tolerate, and the same EFA-capable type in a whole-GPU pool without EFA (batch), where the plugin must not run.
    StackVariant(
        "efa-p5",
        "prod",
        {
            "gpuNodePools": [
                {
                    "name": "training",
                    "instanceTypes": ["p5.48xlarge"],
                    "capacityTypes": ["reserved", "on-demand"],
                    "capacityReservations": [{"id": "cr-0123456789abcdef0"}],
                    "maxGpus": 32,
                    "efa": True,
                    # The reservation was made in this cluster placement group, so only launches into it use it.
                    "placementGroup": {"name": "p5-reserved-cpg"},
                },
                _pool(
                    "finetune",
                    {"strategy": "none"},
                    instanceTypes=["p4d.24xlarge"],
                    maxGpus=16,
                    efa=True,
                    zone="us-east-1b",
                    taints=[{"key": "team", "value": "research", "effect": "NoSchedule"}],
                ),
                _pool("batch", {"strategy": "none"}, instanceTypes=["p4d.24xlarge"]),
            ]
        },
    ),
    # Tokyo: a region the pricing data does not cover (its contract must carry no us-east-1 price), a spot-only
    # pool, and node images pinned per stack and per pool (an older release held back on one pool).
    StackVariant(
        "tokyo",
        "dev",
        {
            "aws:region": "ap-northeast-1",
            "nodeImage": "al2023@v20260714",
            "gpuNodePools": [
                _pool("inference", {"strategy": "time-slicing", "replicas": 4}, instanceFamilies=["g6"]),
                _pool(
                    "batch",
                    {"strategy": "none"},
                    instanceFamilies=["g5"],
                    capacityTypes=["spot"],
                    nodeImage="al2023@v20260625",
                ),
            ],
        },
    ),
    # The three observability shapes beyond the repo stacks' (dev: in-cluster + device plugin, prod: amp + GPU
    # Operator): nothing at all, AMP with the standalone DCGM exporter, in-cluster with the GPU Operator's.
    StackVariant("observability-off", "dev", {"observability": {"mode": "off"}, "nodeHealth": {"autoRepair": False}}),
    StackVariant("amp-device-plugin", "dev", {"observability": {"mode": "amp", "retentionDays": 30}}),
    StackVariant("in-cluster-gpu-operator", "prod", {"observability": {"mode": "in-cluster", "retentionDays": 30}}),
    # The two stack shapes without the node monitoring agent (dev and prod run it): the exporter embeds each GPU node's
    # one DCGM host engine (components/observability/dcgm.py).
    StackVariant("repair-off-device-plugin", "dev", {"nodeHealth": {"autoRepair": False}}),
    StackVariant("repair-off-gpu-operator", "prod", {"nodeHealth": {"autoRepair": False}}),
)
VARIANTS_BY_NAME = {variant.name: variant for variant in STACK_VARIANTS}
