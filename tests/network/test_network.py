"""Network: subnet sizing and tags (pure), and what the component registers for new and brought VPCs."""

from __future__ import annotations

import pytest

from components.network.subnets import subnet_layout, subnet_tags


@pytest.mark.parametrize(
    "cidr, zones, private_mask, public_mask",
    [
        ("10.0.0.0/16", 3, 19, 20),  # 4 AZ blocks of /18
        ("10.0.0.0/16", 2, 18, 19),  # 2 AZ blocks of /17
        ("10.0.0.0/20", 4, 23, 24),  # 4 AZ blocks of /22
    ],
)
def test_subnet_layout_fits_every_zone_in_the_vpc(cidr, zones, private_mask, public_mask):
    layout = subnet_layout(cidr, zones)
    assert (layout.private_mask, layout.public_mask) == (private_mask, public_mask)


def test_private_subnets_carry_karpenter_discovery_and_internal_elb_tags():
    tags = subnet_tags("gpu-dev")
    assert tags["private"] == {"kubernetes.io/role/internal-elb": "1", "karpenter.sh/discovery": "gpu-dev"}
    assert tags["public"] == {"kubernetes.io/role/elb": "1"}


def test_dev_vpc_has_single_nat_and_tagged_subnets(stack_run):
    vpc = stack_run("dev").one("awsx:ec2:Vpc").plain_inputs()
    assert vpc["cidrBlock"] == "10.0.0.0/16"
    assert vpc["numberOfAvailabilityZones"] == 3
    assert vpc["natGateways"] == {"strategy": "Single"}
    private = next(s for s in vpc["subnetSpecs"] if s["type"] == "Private")
    assert private["tags"]["karpenter.sh/discovery"] == "gpu-dev"


def test_prod_vpc_has_one_nat_gateway_per_zone(stack_run):
    assert stack_run("prod").one("awsx:ec2:Vpc").plain_inputs()["natGateways"] == {"strategy": "OnePerAz"}


def test_brought_vpc_creates_no_network_and_is_used_by_the_cluster(run_with):
    run = run_with(
        "dev",
        network={
            "vpcId": "vpc-0abc12345",
            "privateSubnetIds": ["subnet-0aaa1111", "subnet-0bbb2222"],
            "publicSubnetIds": ["subnet-0ccc3333"],
        },
    )
    assert run.by_type("awsx:ec2:Vpc") == []
    cluster = run.one("eks:index:Cluster").plain_inputs()
    assert cluster["vpcId"] == "vpc-0abc12345"
    assert cluster["privateSubnetIds"] == ["subnet-0aaa1111", "subnet-0bbb2222"]
    assert run.outputs["vpcId"] == "vpc-0abc12345"
