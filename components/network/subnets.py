"""Pure builders for the VPC's subnets: sizes per AZ and the tags load balancers and Karpenter discover them by."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

from components.common.names import DISCOVERY_TAG

# AWS Load Balancer Controller subnet roles.
PUBLIC_ELB_ROLE_TAG = "kubernetes.io/role/elb"
INTERNAL_ELB_ROLE_TAG = "kubernetes.io/role/internal-elb"


@dataclass(frozen=True)
class SubnetLayout:
    """CIDR mask lengths for each AZ's subnets."""

    private_mask: int
    public_mask: int


def subnet_layout(cidr: str, availability_zones: int) -> SubnetLayout:
    """Split the VPC into one equal block per AZ; the private subnet takes half of it, public a quarter.

    Private subnets are large because the VPC CNI gives every pod a VPC address; the remaining quarter of
    each AZ block stays free for later (e.g. isolated subnets).
    """
    prefix = ipaddress.IPv4Network(cidr).prefixlen
    per_az_prefix = prefix + math.ceil(math.log2(availability_zones))
    return SubnetLayout(private_mask=per_az_prefix + 1, public_mask=per_az_prefix + 2)


def subnet_tags(cluster_name: str) -> dict[str, dict[str, str]]:
    """Tags per subnet kind: load balancer roles for the AWS LB controller, discovery for Karpenter."""
    return {
        "public": {PUBLIC_ELB_ROLE_TAG: "1"},
        "private": {INTERNAL_ELB_ROLE_TAG: "1", DISCOVERY_TAG: cluster_name},
    }
