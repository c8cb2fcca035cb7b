"""Availability zones: picked by zone ID where EKS refuses one, so no cluster subnet lands in it (issue 9, item 3)."""

from __future__ import annotations

import pytest

from tests.support.stacks import config_error, parse

# The config helper's endpoint rule needs explicit CIDRs; harmless where it does not exist.
ENDPOINT = {"publicAccess": True, "publicAccessCidrs": ["198.51.100.0/24"]}
EAST_ZONES = {"us-east-1a": "use1-az1", "us-east-1b": "use1-az2"}


def east(network: dict) -> dict:
    return {"endpoint": ENDPOINT, "network": network}


@pytest.mark.parametrize(
    "region, refused",
    [
        ("us-east-1", "use1-az3"),
        ("us-west-1", "usw1-az2"),
        ("ca-central-1", "cac1-az3"),
    ],
)
def test_region_with_a_zone_eks_refuses_requires_pinned_zone_ids(region, refused):
    error = config_error({"endpoint": ENDPOINT}, region=region)
    assert error.key == "network.availabilityZoneIds"
    assert refused in str(error)


@pytest.mark.parametrize(
    "region, name, refused",
    [
        ("us-east-1", "us-east-1c", "use1-az3"),
        ("us-west-1", "us-west-1b", "usw1-az2"),
        ("ca-central-1", "ca-central-1d", "cac1-az3"),
    ],
)
def test_pinned_zone_eks_refuses_is_rejected_naming_it(region, name, refused):
    prefix = refused.split("-")[0]
    zones = {f"{region}a": f"{prefix}-az1", name: refused}
    error = config_error(east({"availabilityZoneIds": zones}), region=region)
    assert error.key == f"network.availabilityZoneIds.{name}"
    assert refused in error.problem
    assert "UnsupportedAvailabilityZoneException" in error.problem


def test_pinned_zone_ids_set_the_zone_count_and_order():
    network = parse(
        east({"availabilityZoneIds": {"us-east-1b": "use1-az2", "us-east-1a": "use1-az6"}}), region="us-east-1"
    ).network
    assert network.availability_zones == 2
    assert network.zones == (("us-east-1a", "use1-az6"), ("us-east-1b", "use1-az2"))


def test_zone_count_that_disagrees_with_pinned_zones_is_rejected():
    error = config_error(east({"availabilityZones": 3, "availabilityZoneIds": EAST_ZONES}), region="us-east-1")
    assert error.key == "network.availabilityZones"


def test_region_without_refused_zones_needs_no_pin():
    assert parse({"endpoint": ENDPOINT}, region="us-west-2").network.zones == ()


@pytest.mark.parametrize(
    "zones, key, problem",
    [
        (["us-east-1a", "us-east-1b"], "network.availabilityZoneIds", "expected a mapping"),
        ({"us-east-1a": "use1-az1"}, "network.availabilityZoneIds", "has 1 zone(s)"),
        (
            {f"us-east-1{c}": f"use1-az{i}" for i, c in enumerate("abdefgh", start=1)},
            "network.availabilityZoneIds",
            "has 7 zone(s)",
        ),
        (
            {"us-west-2a": "usw2-az1", "us-east-1b": "use1-az2"},
            "network.availabilityZoneIds.us-west-2a",
            "not a zone name of us-east-1",
        ),
        (
            {"us-east-1a": "az1", "us-east-1b": "use1-az2"},
            "network.availabilityZoneIds.us-east-1a",
            "'az1' is not valid",
        ),
        ({"us-east-1a": 1, "us-east-1b": "use1-az2"}, "network.availabilityZoneIds.us-east-1a", "non-empty string"),
        (
            {"us-east-1a": "use1-az1", "us-east-1b": "use1-az1"},
            "network.availabilityZoneIds.us-east-1b",
            "duplicate zone ID use1-az1",
        ),
        ({"us-east-1a": "use1-az1", "us-east-1b": "usw2-az2"}, "network.availabilityZoneIds", "several regions"),
    ],
)
def test_malformed_pinned_zones_are_rejected_naming_the_key(zones, key, problem):
    error = config_error(east({"availabilityZoneIds": zones}), region="us-east-1")
    assert error.key == key
    assert problem in error.problem
    assert error.allowed


def test_pinned_zones_cannot_be_combined_with_a_brought_vpc():
    error = config_error(
        east(
            {
                "vpcId": "vpc-0abc12345",
                "privateSubnetIds": ["subnet-0aaa1111", "subnet-0bbb2222"],
                "availabilityZoneIds": EAST_ZONES,
            }
        ),
        region="us-east-1",
    )
    assert error.key == "network.availabilityZoneIds"
    assert "cannot be combined with vpcId" in error.problem


def test_prod_vpc_is_built_in_the_pinned_zones(stack_run):
    vpc = stack_run("prod").one("awsx:ec2:Vpc").plain_inputs()
    assert vpc["availabilityZoneNames"] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    # awsx must not pick "the first N" zones as well.
    assert "numberOfAvailabilityZones" not in vpc


def test_prod_stack_pins_no_zone_eks_refuses():
    import yaml

    from preflight.model.harness import REPO_ROOT

    network = yaml.safe_load((REPO_ROOT / "Pulumi.prod.yaml").read_text())["config"]["gpu-eks:network"]
    assert "use1-az3" not in network["availabilityZoneIds"].values()
