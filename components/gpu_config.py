"""GPU node pool configuration (gpu-eks:gpuNodePools): parsed and validated against the GPU catalog."""
from __future__ import annotations

from typing import Any


def parse_gpu_node_pools(parser, raw: Any, karpenter) -> tuple:
    if raw is None:
        return ()
    raise parser.error("gpuNodePools", "GPU pools are not implemented yet", "allowed: omit the key")
