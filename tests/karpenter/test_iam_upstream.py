"""The controller IAM and the interruption plumbing equal Karpenter's own CloudFormation reference, read from a
stored upstream copy (tests/data/karpenter-iam/cloudformation.yaml, v1.14.1; SOURCE.txt says where it came from).

tests/karpenter/test_iam.py types the expected documents out by hand; this module checks the same builders against
the upstream file itself, so a hand-typed expectation that drifted from upstream cannot hide a difference. The
reserved-capacity pieces docs/architecture.md names (ec2:DescribeCapacityReservations, capacity-reservation/* of any
account, the capacity-reservation interruption rule) are asserted in the upstream file too, so the doc's claim is
about upstream, not about our own copy of it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.karpenter import iam as k
from components.karpenter import interruption
from components.karpenter.iam import IamScope

DATA = Path(__file__).resolve().parents[1] / "data" / "karpenter-iam"
TEMPLATE = DATA / "cloudformation.yaml"

CLUSTER = "gpu-lab"
REGION = "us-west-2"
PARTITION = "aws"
ACCOUNT = "111122223333"
NODE_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/gpu-lab-karpenter-node"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{CLUSTER}"
SUBSTITUTIONS = {
    "ClusterName": CLUSTER,
    "AWS::Region": REGION,
    "AWS::Partition": PARTITION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "KarpenterNodeRole.Arn": NODE_ROLE_ARN,
    "KarpenterInterruptionQueue.Arn": QUEUE_ARN,
}


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsics resolved for one cluster: !Sub substitutes, !GetAtt and
    !Ref name the resources above."""


def _sub(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        assert match[1] in SUBSTITUTIONS, f"no value for ${{{match[1]}}}"
        return SUBSTITUTIONS[match[1]]

    return re.sub(r"\$\{([A-Za-z:.]+)\}", one, text)


def _scalar(loader: Any, node: yaml.Node) -> str:
    assert isinstance(node, yaml.ScalarNode), f"expected a scalar after {node.tag}"
    return str(loader.construct_scalar(node))


def _construct_sub(loader: Any, node: yaml.Node) -> str:
    return _sub(_scalar(loader, node))


def _construct_get_att(loader: Any, node: yaml.Node) -> str:
    return SUBSTITUTIONS[_scalar(loader, node)]


def _construct_ref(loader: Any, node: yaml.Node) -> str:
    return f"Ref:{_scalar(loader, node)}"


_CloudFormationLoader.add_constructor("!Sub", _construct_sub)
_CloudFormationLoader.add_constructor("!GetAtt", _construct_get_att)
_CloudFormationLoader.add_constructor("!Ref", _construct_ref)


def _resources() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=_CloudFormationLoader)["Resources"]  # a SafeLoader subclass


def _upstream_policies() -> dict[str, dict[str, Any]]:
    """Upstream's managed policies by name without the cluster suffix, their JSON documents parsed."""
    found = {}
    for resource in _resources().values():
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            name = resource["Properties"]["ManagedPolicyName"].removesuffix(f"-{CLUSTER}")
            found[name] = json.loads(resource["Properties"]["PolicyDocument"])
    return found


def _ours() -> dict[str, dict[str, Any]]:
    scope = IamScope(cluster_name=CLUSTER, region=REGION, partition=PARTITION, account_id=ACCOUNT)
    return k.controller_policies(scope, node_role_arn=NODE_ROLE_ARN, queue_arn=QUEUE_ARN)


def test_the_stored_copy_is_the_one_source_txt_names():
    digest = hashlib.sha256(TEMPLATE.read_bytes()).hexdigest()
    assert f"{digest}  cloudformation.yaml" in (DATA / "SOURCE.txt").read_text()


def test_the_six_controller_policies_are_upstreams_by_name_and_order():
    assert list(_upstream_policies()) == list(k.CONTROLLER_POLICY_NAMES.values())


@pytest.mark.parametrize("key", k.CONTROLLER_POLICY_KEYS)
def test_each_controller_policy_equals_the_upstream_document(key):
    assert _ours()[key] == _upstream_policies()[k.CONTROLLER_POLICY_NAMES[key]]


def test_the_interruption_rules_are_upstreams_five_in_order():
    upstream = [
        (resource["Properties"]["EventPattern"], [t["Arn"] for t in resource["Properties"]["Targets"]])
        for resource in _resources().values()
        if resource["Type"] == "AWS::Events::Rule"
    ]
    ours = [(interruption.event_pattern(rule), [QUEUE_ARN]) for rule in interruption.INTERRUPTION_RULES]
    assert ours == upstream


def test_the_queue_policy_is_upstreams_narrowed_to_our_rules():
    """interruption_queue_policy's docstring: upstream's Allow split into one statement per rule, each scoped by
    aws:SourceArn and for events.amazonaws.com only; upstream's DenyHTTP as is (boolean written as IAM's string)."""
    (upstream,) = [r for r in _resources().values() if r["Type"] == "AWS::SQS::QueuePolicy"]
    allow, deny = upstream["Properties"]["PolicyDocument"]["Statement"]
    rules = [f"arn:aws:events:{REGION}:111122223333:rule/rule-{i}" for i in range(5)]
    ours = interruption.interruption_queue_policy(QUEUE_ARN, rules)
    assert ours["Version"] == "2012-10-17" and len(ours["Statement"]) == len(rules) + 1
    deny["Condition"]["Bool"]["aws:SecureTransport"] = "false"
    assert ours["Statement"][-1] == deny
    upstream_services = allow["Principal"]["Service"]
    for statement, rule in zip(ours["Statement"][:-1], rules, strict=True):
        assert (statement["Effect"], statement["Action"], statement["Resource"]) == (
            allow["Effect"],
            allow["Action"],
            allow["Resource"],
        )
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert "events.amazonaws.com" in upstream_services
        assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": rule}}


def test_the_reserved_capacity_permissions_are_upstreams():
    policies = _upstream_policies()
    discovery = policies["KarpenterControllerResourceDiscoveryPolicy"]["Statement"]
    assert any("ec2:DescribeCapacityReservations" in s["Action"] for s in discovery)
    (launch,) = [
        s
        for s in policies["KarpenterControllerNodeLifecyclePolicy"]["Statement"]
        if s["Sid"] == "AllowScopedEC2InstanceAccessActions"
    ]
    assert f"arn:aws:ec2:{REGION}:*:capacity-reservation/*" in launch["Resource"]  # any owner account
    assert set(launch["Action"]) == {"ec2:RunInstances", "ec2:CreateFleet"}
    rules = [
        r["Properties"]["EventPattern"]["detail-type"]
        for r in _resources().values()
        if "EventPattern" in r.get("Properties", {})
    ]
    assert ["EC2 Capacity Reservation Instance Interruption Warning"] in rules
