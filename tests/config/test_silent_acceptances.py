"""Config mistakes that used to deploy something else than the user meant, each now one line naming the stack, the
key, what is wrong and what to do (issue 20 item 5).

The expected messages are typed in here; the facts behind them are cited where they are decided (the Karpenter
request in components/karpenter/chart.py, awsx's zone choice in components/network/component.py, YAML 1.1's
booleans in PyYAML's resolver).
"""

from __future__ import annotations

import pytest
import yaml

from components.karpenter.chart import CONTROLLER_RESOURCES
from preflight.model.harness import REPO_ROOT
from tests.support.stacks import config_error, parse, write_stack_file
from tools import render

ENDPOINT = {"endpoint": {"publicAccessCidrs": ["203.0.113.0/24"]}}
EFA_POOL = {"name": "train", "instanceTypes": ["p5.48xlarge"], "maxGpus": 8, "efa": True}
PINNED = {"availabilityZoneIds": {"us-west-2a": "usw2-az2", "us-west-2b": "usw2-az1", "us-west-2c": "usw2-az3"}}


# -- a controller instance type too small for Karpenter and the add-ons ------------------------------------------


@pytest.mark.parametrize(
    "instance_type, why",
    [("t4g.nano", "0.5 GiB of memory"), ("t3.micro", "1 GiB of memory"), ("m7g.medium", "1 vCPU")],
)
def test_a_controller_type_too_small_for_karpenter_is_refused(instance_type, why):
    error = config_error({**ENDPOINT, "controllerNodeGroup": {"instanceTypes": ["m7g.large", instance_type]}})
    assert str(error) == (
        f"test: gpu-eks:controllerNodeGroup.instanceTypes[1]: {instance_type} is too small for the controller group: "
        f"{why} cannot hold a Karpenter replica (1 CPU / 1Gi requested, one per node) and the add-ons pinned there; "
        "allowed: 2 vCPU and 2 GiB or more (the default m7g.large has 2 vCPU and 8 GiB); "
        "`python -m preflight STACK --stage capacity` checks the full fit"
    )


def test_the_message_quotes_the_karpenter_request_the_chart_sets():
    assert CONTROLLER_RESOURCES["requests"] == {"cpu": "1", "memory": "1Gi"}


@pytest.mark.parametrize("instance_type", ["t4g.small", "t4g.medium", "m7g.large", "c7i.xlarge"])
def test_controller_types_that_may_fit_are_left_to_the_capacity_check(instance_type):
    config = parse({**ENDPOINT, "controllerNodeGroup": {"instanceTypes": [instance_type]}})
    assert config.cluster.controller_node_group.instance_types == (instance_type,)


# -- aws:region must be set in the stack, a misspelling named ----------------------------------------------------


def test_the_project_file_has_no_region_default():
    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    assert "aws:region" not in (project.get("config") or {})


def test_a_misspelt_region_key_is_named_and_the_region_required(tmp_path, capsys):
    stack_file = write_stack_file(tmp_path, {"aws:regoin": "us-west-2", "gpu-eks:endpoint": {"publicAccess": False}})
    assert render.main(["test", "--config", str(stack_file), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        "test: aws:region: is not set, so the AWS provider would deploy to whatever region the environment names "
        "(aws:regoin is set: a misspelling?); allowed: aws:region: <region> in Pulumi.test.yaml, e.g. "
        "`pulumi config set aws:region us-west-2 --stack test`\n"
    )


def test_a_stack_without_a_region_is_refused():
    error = config_error({**ENDPOINT}, region=None)
    assert error.key == "aws:region"
    assert error.problem == "is not set, so the AWS provider would deploy to whatever region the environment names"


def test_the_render_says_which_region_the_stack_deploys_to(tmp_path, capsys):
    stack_file = write_stack_file(tmp_path, {"aws:region": "eu-west-1", "gpu-eks:endpoint": {"publicAccess": False}})
    assert render.main(["test", "--config", str(stack_file), "--out", str(tmp_path / "out")]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert " resources in stack test, region eu-west-1 (aws:region; " in last


# -- an EFA zone with no private subnet, or given as a zone ID ---------------------------------------------------


def test_an_efa_zone_past_the_new_vpcs_zones_has_no_private_subnet():
    error = config_error({**ENDPOINT, "gpuNodePools": [{**EFA_POOL, "zone": "us-west-2d"}]})
    assert str(error) == (
        "test: gpu-eks:gpuNodePools[0] (train).zone: us-west-2d has no private subnet: the new VPC's subnets go in "
        "the region's first 3 zones (us-west-2a, us-west-2b, us-west-2c); allowed: one of us-west-2a, us-west-2b, "
        "us-west-2c, or pin the zones with network.availabilityZoneIds including us-west-2d"
    )


def test_an_efa_zone_inside_the_new_vpcs_zones_is_accepted():
    config = parse({**ENDPOINT, "gpuNodePools": [{**EFA_POOL, "zone": "us-west-2c"}]})
    assert config.gpu_node_pools[0].zone == "us-west-2c"


def test_an_efa_zone_id_of_a_pinned_zone_is_accepted_as_its_name():
    config = parse({**ENDPOINT, "network": PINNED, "gpuNodePools": [{**EFA_POOL, "zone": "usw2-az1"}]})
    assert config.gpu_node_pools[0].zone == "us-west-2b"


def test_an_efa_zone_id_outside_the_pinned_zones_lists_them():
    error = config_error({**ENDPOINT, "network": PINNED, "gpuNodePools": [{**EFA_POOL, "zone": "usw2-az4"}]})
    assert str(error) == (
        "test: gpu-eks:gpuNodePools[0] (train).zone: zone ID usw2-az4 is not one of the stack's zones; allowed: one "
        "of network.availabilityZoneIds, by name or ID (us-west-2a (usw2-az2), us-west-2b (usw2-az1), "
        "us-west-2c (usw2-az3))"
    )


def test_an_efa_zone_id_without_pinned_zones_says_why_it_cannot_be_used():
    error = config_error({**ENDPOINT, "gpuNodePools": [{**EFA_POOL, "zone": "usw2-az1"}]})
    assert str(error) == (
        "test: gpu-eks:gpuNodePools[0] (train).zone: usw2-az1 is a zone ID; zone IDs map to zone names per account "
        "and this stack pins no zones, so its name is unknown here; allowed: the zone's name in this account "
        "(`aws ec2 describe-availability-zones` lists both), or pin the zones with network.availabilityZoneIds, "
        "then the ID is accepted"
    )


# -- YAML 1.1: `off` is false, `1.30` is 1.3 ----------------------------------------------------------------------


def test_mode_off_unquoted_says_quote_it(tmp_path, capsys):
    """Through the real YAML reader: `mode: off` in a stack file arrives as false."""
    text = "config:\n  aws:region: us-west-2\n  gpu-eks:endpoint: {publicAccess: false}\n  gpu-eks:observability:\n"
    stack_file = tmp_path / "Pulumi.test.yaml"
    stack_file.write_text(text + "    mode: off\n")
    assert render.main(["test", "--config", str(stack_file), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        "test: gpu-eks:observability.mode: expected a string, got bool False (YAML reads an unquoted off as false): "
        "quote it: 'off'; allowed: in-cluster | amp | off\n"
    )
    stack_file.write_text(text + "    mode: 'off'\n")
    assert render.main(["test", "--config", str(stack_file), "--out", str(tmp_path / "out")]) == 0


@pytest.mark.parametrize("written", ["1.30", "'1.3'"])
def test_a_version_yaml_shortened_says_quote_it(tmp_path, capsys, written):
    stack_file = tmp_path / "Pulumi.test.yaml"
    stack_file.write_text(
        f"config:\n  aws:region: us-west-2\n  gpu-eks:endpoint: {{publicAccess: false}}\n"
        f"  gpu-eks:kubernetesVersion: {written}\n"
    )
    assert render.main(["test", "--config", str(stack_file), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        "test: gpu-eks:kubernetesVersion: got 1.3 (YAML reads an unquoted 1.30 as the number 1.3): quote it: "
        "'1.30'; allowed: 1.32 | 1.33 | 1.34 | 1.35 | 1.36, quoted\n"
    )


def test_an_unquoted_version_yaml_reads_unchanged_is_accepted():
    assert parse({**ENDPOINT, "kubernetesVersion": 1.35}).cluster.kubernetes_version == "1.35"


def test_a_boolean_where_a_name_goes_says_quote_it():
    error = config_error({**ENDPOINT, "clusterName": True})
    assert error.problem == (
        "expected a non-empty string, got bool True (YAML reads unquoted on/yes/true as true): quote the word you meant"
    )


# A brought VPC's private subnets, as the harness's mocked EC2 places them (preflight/model/harness.py
# subnet_answer: the ID's last hex digit mod 3): subnet-0aaa1111 -> b, subnet-0bbb2222 -> c.
BROUGHT_VPC = {
    "vpcId": "vpc-0abc12345",
    "privateSubnetIds": ["subnet-0aaa1111", "subnet-0bbb2222"],
    "publicSubnetIds": ["subnet-0ccc3333", "subnet-0ddd4444"],
}


def test_an_efa_zone_without_a_private_subnet_of_a_brought_vpc_is_refused_at_deploy():
    from components.common.parsing import ConfigError
    from preflight.model.harness import run_stack

    pools = [{**EFA_POOL, "zone": "us-west-2a"}]
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", overrides={"network": BROUGHT_VPC, "gpuNodePools": pools}, lookups=True)
    assert str(caught.value) == (
        "dev: gpu-eks:gpuNodePools[0] (train).zone: us-west-2a has none of network.privateSubnetIds (they are in "
        "us-west-2b, us-west-2c); allowed: one of us-west-2b, us-west-2c, or add a private subnet in us-west-2a to "
        "network.privateSubnetIds"
    )


def test_an_efa_zone_with_a_private_subnet_of_a_brought_vpc_deploys():
    from preflight.model.harness import GET_SUBNET, run_stack

    pools = [{**EFA_POOL, "zone": "us-west-2c"}]
    run = run_stack("dev", overrides={"network": BROUGHT_VPC, "gpuNodePools": pools}, lookups=True)
    assert run.invokes.count(GET_SUBNET) == 2
    assert run.outputs["gpuPools"]["train"]["efa"]["zone"] == "us-west-2c"
