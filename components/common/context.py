"""StackContext: the few stack-wide facts every component needs (stack, cluster name, region, partition, tags)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from components.common.aws import partition_for_region
from components.common.names import CLUSTER_TAG, STACK_TAG


@dataclass(frozen=True)
class StackContext:
    """Who and where: passed to every component next to its own config section."""

    stack: str
    cluster_name: str
    region: str
    # The stack's own `gpu-eks:tags`, as the user wrote them.
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def partition(self) -> str:
        """The AWS partition of the region, computed rather than looked up."""
        return partition_for_region(self.region)

    @property
    def resource_tags(self) -> dict[str, str]:
        """Tags every AWS resource carries: the user's tags plus ownership markers for cost reports."""
        return {**self.tags, CLUSTER_TAG: self.cluster_name, STACK_TAG: self.stack}
