"""Stack configuration: defaults, and one test per validation rule (each names the key it rejects)."""

from __future__ import annotations

import pytest

from components.network.config import ExistingVpcConfig, NewVpcConfig
from tests.support.stacks import config_error, parse

# Every parsed stack must say who may reach the API (see test_config_endpoint.py); these tests are about other keys.
ENDPOINT = {"endpoint": {"publicAccessCidrs": ["203.0.113.0/24"]}}


# -- defaults ---------------------------------------------------------------------------------------------------


def test_minimal_stack_gets_documented_defaults():
    config = parse(ENDPOINT, stack="dev")
    assert config.cluster_name == "gpu-eks-dev"
    assert config.cluster.kubernetes_version == "1.34"
    assert config.network == NewVpcConfig(cidr="10.0.0.0/16", availability_zones=3, nat_gateways="single")
    assert config.cluster.endpoint.public_access is True
    assert config.cluster.log_types == ("api", "audit", "authenticator", "controllerManager", "scheduler")
    group = config.cluster.controller_node_group
    # Two nodes at least: Karpenter's two replicas must run on different nodes.
    assert (group.instance_types, group.min_size, group.desired_size, group.max_size) == (("m7g.large",), 2, 2, 3)
    assert group.architecture == "arm64"
    assert config.karpenter.version == "1.14.1"
    assert config.karpenter.identity == "pod-identity"
    assert [pool.name for pool in config.node_pools] == ["general-amd64", "general-arm64"]


def test_error_message_names_stack_key_problem_and_allowed_values():
    error = config_error({"network": {"natGateways": "two"}}, stack="prod")
    assert str(error) == "prod: gpu-eks:network.natGateways: 'two' is not supported; allowed: single | one-per-az"


# -- top level --------------------------------------------------------------------------------------------------


def test_unknown_top_level_key_is_rejected():
    error = config_error({"clusterNmae": "x"})
    assert error.key == "clusterNmae"
    assert "allowed keys" in error.allowed


def test_missing_region_is_rejected():
    assert config_error({}, region=None).key == "aws:region"


def test_malformed_region_is_rejected():
    assert config_error({}, region="uswest2").key == "aws:region"


@pytest.mark.parametrize("name", ["-starts-with-dash", "1starts-with-digit", "has_underscore", "x" * 41, "a"])
def test_cluster_name_outside_naming_rules_is_rejected(name):
    assert config_error({"clusterName": name}).key == "clusterName"


def test_unsupported_kubernetes_version_is_rejected():
    error = config_error({"kubernetesVersion": "1.29"})
    assert error.key == "kubernetesVersion"
    assert "1.34" in error.allowed


# -- network ----------------------------------------------------------------------------------------------------


def test_single_availability_zone_is_rejected():
    assert config_error({"network": {"availabilityZones": 1}}).key == "network.availabilityZones"


def test_invalid_cidr_is_rejected():
    assert config_error({"network": {"cidr": "10.0.0.1/16"}}).key == "network.cidr"


def test_tiny_vpc_is_rejected():
    assert config_error({"network": {"cidr": "10.0.0.0/24"}}).key == "network.cidr"


def test_unknown_network_key_is_rejected():
    assert config_error({"network": {"availabilityZone": 3}}).key == "network.availabilityZone"


def test_bring_your_own_vpc_is_parsed():
    config = parse(
        {
            "network": {
                "vpcId": "vpc-0abc12345",
                "privateSubnetIds": ["subnet-0aaa1111", "subnet-0bbb2222"],
                "publicSubnetIds": ["subnet-0ccc3333"],
            },
            **ENDPOINT,
        }
    )
    assert config.network == ExistingVpcConfig(
        "vpc-0abc12345", ("subnet-0aaa1111", "subnet-0bbb2222"), ("subnet-0ccc3333",)
    )


def test_bring_your_own_vpc_mixed_with_cidr_is_rejected():
    error = config_error(
        {
            "network": {
                "vpcId": "vpc-0abc12345",
                "privateSubnetIds": ["subnet-0aaa1111", "subnet-0bbb2222"],
                "cidr": "10.0.0.0/16",
            }
        }
    )
    assert error.key == "network.cidr"


def test_bring_your_own_vpc_needs_two_private_subnets():
    error = config_error({"network": {"vpcId": "vpc-0abc12345", "privateSubnetIds": ["subnet-0aaa1111"]}})
    assert error.key == "network.privateSubnetIds"


def test_malformed_subnet_id_is_rejected():
    error = config_error({"network": {"vpcId": "vpc-0abc12345", "privateSubnetIds": ["subnet-0aaa1111", "sn-2"]}})
    assert error.key == "network.privateSubnetIds[1]"


# -- endpoint and access ----------------------------------------------------------------------------------------


def test_public_endpoint_without_cidrs_is_rejected():
    error = config_error({"endpoint": {"publicAccess": True, "publicAccessCidrs": []}})
    assert error.key == "endpoint.publicAccessCidrs"


def test_cidrs_on_private_only_endpoint_are_rejected():
    error = config_error({"endpoint": {"publicAccess": False, "publicAccessCidrs": ["203.0.113.0/24"]}})
    assert error.key == "endpoint.publicAccessCidrs"


def test_non_boolean_public_access_is_rejected():
    assert config_error({"endpoint": {"publicAccess": "yes"}}).key == "endpoint.publicAccess"


def test_cluster_admin_that_is_not_an_iam_arn_is_rejected():
    assert config_error({"clusterAdmins": ["platform-admin"]}).key == "clusterAdmins[0]"


def test_unknown_log_type_is_rejected():
    assert config_error({"clusterLogTypes": ["api", "everything"]}).key == "clusterLogTypes[1]"


def test_aws_reserved_tag_key_is_rejected():
    assert config_error({"tags": {"aws:owner": "me"}}).key == "tags.aws:owner"


# -- controller node group --------------------------------------------------------------------------------------


def test_controller_node_group_sizes_must_be_ordered():
    error = config_error({"controllerNodeGroup": {"minSize": 3, "desiredSize": 2, "maxSize": 4}})
    assert error.key == "controllerNodeGroup.desiredSize"


def test_controller_node_group_needs_at_least_one_node():
    assert config_error({"controllerNodeGroup": {"minSize": 0}}).key == "controllerNodeGroup.minSize"


def test_controller_node_group_mixing_architectures_is_rejected():
    error = config_error({"controllerNodeGroup": {"instanceTypes": ["m7g.large", "m7i.large"]}})
    assert error.key == "controllerNodeGroup.instanceTypes"


def test_gpu_instance_for_controller_node_group_is_rejected():
    error = config_error({"controllerNodeGroup": {"instanceTypes": ["g5.xlarge"]}})
    assert error.key == "controllerNodeGroup.instanceTypes[0]"


def test_x86_controller_node_group_is_detected():
    config = parse({"controllerNodeGroup": {"instanceTypes": ["m7i.large", "m7a.large"]}, **ENDPOINT})
    assert config.cluster.controller_node_group.architecture == "amd64"
