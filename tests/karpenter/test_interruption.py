"""The interruption queue's policy and the EventBridge rules (components/karpenter/interruption.py), as upstream's.

Expected values are typed out by hand from the Karpenter v1.14 CloudFormation reference, as in
tests/karpenter/test_iam.py.
"""

from __future__ import annotations

import json

import pytest

from components.karpenter import interruption as k

QUEUE_ARN = "arn:aws:sqs:us-west-2:111122223333:gpu-lab"


# ------------------------------------------------------------------------------------------------
# Interruption queue and EventBridge rules
# ------------------------------------------------------------------------------------------------


RULE_ARNS = [
    "arn:aws:events:us-west-2:111122223333:rule/gpu-lab-spot",
    "arn:aws:events:us-west-2:111122223333:rule/gpu-lab-health",
]


def test_queue_policy_lets_eventbridge_send_only_as_each_of_our_rules():
    allow = [s for s in k.interruption_queue_policy(QUEUE_ARN, RULE_ARNS)["Statement"] if s["Effect"] == "Allow"]
    assert allow == [
        {
            "Sid": "EventBridgeRule0",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": "arn:aws:sqs:us-west-2:111122223333:gpu-lab",
            "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:events:us-west-2:111122223333:rule/gpu-lab-spot"}},
        },
        {
            "Sid": "EventBridgeRule1",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": "arn:aws:sqs:us-west-2:111122223333:gpu-lab",
            "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:events:us-west-2:111122223333:rule/gpu-lab-health"}},
        },
    ]


def test_no_allow_statement_is_left_without_a_source_arn():
    # Upstream's unconditioned grant to events.amazonaws.com and sqs.amazonaws.com is what this replaces.
    for statement in k.interruption_queue_policy(QUEUE_ARN, RULE_ARNS)["Statement"]:
        if statement["Effect"] == "Allow":
            assert statement["Principal"] == {"Service": "events.amazonaws.com"}
            assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] in RULE_ARNS


@pytest.mark.parametrize("rule_arns", [[], ["gpu-lab-spot"]])
def test_queue_policy_needs_rule_arns(rule_arns):
    with pytest.raises(ValueError):
        k.interruption_queue_policy(QUEUE_ARN, rule_arns)


def test_queue_policy_denies_non_tls_access_to_everyone():
    deny = [s for s in k.interruption_queue_policy(QUEUE_ARN, RULE_ARNS)["Statement"] if s["Effect"] == "Deny"]
    assert deny == [
        {
            "Sid": "DenyHTTP",
            "Effect": "Deny",
            "Action": "sqs:*",
            "Resource": "arn:aws:sqs:us-west-2:111122223333:gpu-lab",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Principal": "*",
        }
    ]


def test_queue_policy_is_a_versioned_document_named_like_upstream():
    doc = k.interruption_queue_policy(QUEUE_ARN, RULE_ARNS)
    assert doc["Version"] == "2012-10-17"
    assert doc["Id"] == "EC2InterruptionPolicy"
    assert len(doc["Statement"]) == 3  # one Allow per rule, and DenyHTTP


def test_queue_policy_refuses_a_queue_url():
    with pytest.raises(ValueError):
        k.interruption_queue_policy("https://sqs.us-west-2.amazonaws.com/111122223333/gpu-lab", RULE_ARNS)


def test_queue_keeps_messages_five_minutes_with_managed_encryption():
    assert k.QUEUE_MESSAGE_RETENTION_SECONDS == 300
    assert k.QUEUE_SQS_MANAGED_SSE_ENABLED is True


def test_five_interruption_rules_with_upstreams_sources_and_detail_types():
    assert [(r.name, r.source, r.detail_type) for r in k.INTERRUPTION_RULES] == [
        ("scheduled-change", "aws.health", "AWS Health Event"),
        ("spot-interruption", "aws.ec2", "EC2 Spot Instance Interruption Warning"),
        ("rebalance", "aws.ec2", "EC2 Instance Rebalance Recommendation"),
        ("instance-state-change", "aws.ec2", "EC2 Instance State-change Notification"),
        ("capacity-reservation-interruption", "aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
    ]


def test_event_pattern_matches_one_source_and_one_detail_type():
    spot = k.InterruptionRule("spot-interruption", "aws.ec2", "EC2 Spot Instance Interruption Warning")
    assert k.event_pattern(spot) == {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]}
    health = k.INTERRUPTION_RULES[0]
    assert json.loads(json.dumps(k.event_pattern(health))) == {
        "source": ["aws.health"],
        "detail-type": ["AWS Health Event"],
    }


def test_rule_names_are_unique_so_pulumi_resource_names_do_not_collide():
    names = [r.name for r in k.INTERRUPTION_RULES]
    assert len(names) == len(set(names))
