"""Network: a new VPC (pulumi-awsx) with tagged public/private subnets, or a VPC the user brings.

Pure builders (`subnet_layout`, `subnet_tags`) decide sizes and tags; the `Network` component only wires
them into `awsx.ec2.Vpc`. awsx is used instead of hand-written route tables because it already handles
per-AZ subnets, route tables, the internet gateway and single or per-AZ NAT gateways correctly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_awsx as awsx

from components.common.context import StackContext
from components.common.names import DISCOVERY_TAG
from components.network.config import SINGLE_NAT_GATEWAY, ExistingVpcConfig, NetworkConfig
from components.network.subnets import subnet_layout, subnet_tags


@dataclass(frozen=True)
class NetworkArgs:
    """Inputs of the Network component."""

    context: StackContext
    config: NetworkConfig


class Network(pulumi.ComponentResource):
    """The VPC the cluster lives in. Outputs: vpc_id, private_subnet_ids, public_subnet_ids."""

    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[Sequence[str]]
    public_subnet_ids: pulumi.Output[Sequence[str]]
    # Karpenter's EC2NodeClass subnetSelectorTerms: by discovery tag for our VPC, by ID for a brought one
    # (we do not tag subnets we do not own).
    karpenter_subnet_selector: list[dict[str, Any]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-eks:network:Network", name, None, opts)
        config, cluster_name = args.config, args.context.cluster_name
        if isinstance(config, ExistingVpcConfig):
            self.vpc_id = pulumi.Output.from_input(config.vpc_id)
            self.private_subnet_ids = pulumi.Output.from_input(list(config.private_subnet_ids))
            self.public_subnet_ids = pulumi.Output.from_input(list(config.public_subnet_ids))
            self.karpenter_subnet_selector = [{"id": subnet} for subnet in config.private_subnet_ids]
        else:
            layout = subnet_layout(config.cidr, config.availability_zones)
            tags = subnet_tags(cluster_name)
            vpc = awsx.ec2.Vpc(
                f"{name}-vpc",
                awsx.ec2.VpcArgs(
                    cidr_block=config.cidr,
                    # Pinned zones by name (their IDs were checked against the zones EKS refuses when the config was
                    # parsed); otherwise awsx takes the region's first N zones, safe only where EKS refuses none.
                    **(
                        {"availability_zone_names": [zone_name for zone_name, _ in config.zones]}
                        if config.zones
                        else {"number_of_availability_zones": config.availability_zones}
                    ),
                    subnet_strategy=awsx.ec2.SubnetAllocationStrategy.AUTO,
                    subnet_specs=[
                        awsx.ec2.SubnetSpecArgs(
                            type=awsx.ec2.SubnetType.PRIVATE, cidr_mask=layout.private_mask, tags=tags["private"]
                        ),
                        awsx.ec2.SubnetSpecArgs(
                            type=awsx.ec2.SubnetType.PUBLIC, cidr_mask=layout.public_mask, tags=tags["public"]
                        ),
                    ],
                    nat_gateways=awsx.ec2.NatGatewayConfigurationArgs(
                        strategy=awsx.ec2.NatGatewayStrategy.SINGLE
                        if config.nat_gateways == SINGLE_NAT_GATEWAY
                        else awsx.ec2.NatGatewayStrategy.ONE_PER_AZ
                    ),
                    enable_dns_hostnames=True,
                    enable_dns_support=True,
                    tags={**args.context.tags, "Name": cluster_name},
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.vpc_id = vpc.vpc_id
            self.private_subnet_ids = vpc.private_subnet_ids
            self.public_subnet_ids = vpc.public_subnet_ids
            self.karpenter_subnet_selector = [{"tags": {DISCOVERY_TAG: cluster_name}}]
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "privateSubnetIds": self.private_subnet_ids,
                "publicSubnetIds": self.public_subnet_ids,
            }
        )
