"""Pure builders for Karpenter's interruption handling: the SQS queue's settings and resource policy, and the
EventBridge rules that forward AWS Health and EC2 events to it.

Upstream source: ``KarpenterInterruptionQueue``, ``KarpenterInterruptionQueuePolicy`` and the five
``AWS::Events::Rule`` resources of Karpenter v1.14.1's getting-started ``cloudformation.yaml`` (see
``components.karpenter.iam`` for the file and how it was read).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.common.aws import POLICY_VERSION, require_arn

# Upstream KarpenterInterruptionQueue.MessageRetentionPeriod. Interruption messages are useless after
# a few minutes: a spot warning gives 2 minutes' notice.
QUEUE_MESSAGE_RETENTION_SECONDS = 300
# Upstream KarpenterInterruptionQueue.SqsManagedSseEnabled (terraform-aws-eks's default is the same).
QUEUE_SQS_MANAGED_SSE_ENABLED = True

# EventBridge target ID of the queue on every rule.
QUEUE_TARGET_ID = "KarpenterInterruptionQueueTarget"


def interruption_queue_policy(queue_arn: str, rule_arns: Sequence[str]) -> dict[str, Any]:
    """Resource policy for the interruption queue (upstream ``KarpenterInterruptionQueuePolicy``, narrowed).

    EventBridge (``events.amazonaws.com``) may send messages only on behalf of our own rules: one statement per
    rule, each scoped with ``aws:SourceArn`` to that rule's ARN. Upstream grants the service principals with no
    condition, so any EventBridge rule in any account could feed this queue fake interruption events (the
    confused-deputy case AWS's SQS and EventBridge guides answer with ``aws:SourceArn``; "Amazon SQS permissions"
    in the EventBridge user guide). Upstream's second principal, ``sqs.amazonaws.com``, is dropped: no SQS feature
    sends to this queue as that principal, and it cannot be scoped to a rule.
    ``DenyHTTP`` refuses every SQS call made without TLS, from any principal.
    Upstream's document has no ``Version``; ``2012-10-17`` is added (it changes nothing, since no
    policy variables are used). ``aws:SecureTransport`` is written as the string ``"false"``, the
    form IAM documents. Upstream's YAML boolean means the same.
    """
    require_arn(queue_arn, "queue_arn")
    if not rule_arns:
        raise ValueError("the queue policy needs the ARNs of the rules that may send to it")
    for rule_arn in rule_arns:
        require_arn(rule_arn, "rule_arn")
    return {
        "Version": POLICY_VERSION,
        "Id": "EC2InterruptionPolicy",
        "Statement": [
            *(
                {
                    "Sid": f"EventBridgeRule{index}",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }
                for index, rule_arn in enumerate(rule_arns)
            ),
            {
                "Sid": "DenyHTTP",
                "Effect": "Deny",
                "Action": "sqs:*",
                "Resource": queue_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                "Principal": "*",
            },
        ],
    }


@dataclass(frozen=True)
class InterruptionRule:
    """One EventBridge rule that forwards events to the interruption queue."""

    name: str
    source: str
    detail_type: str


# Upstream's five AWS::Events::Rule resources, in file order. terraform-aws-eks's stored copy has
# only the first four (no capacity-reservation rule). Upstream v1.14 adds it, and so does this module.
INTERRUPTION_RULES: tuple[InterruptionRule, ...] = (
    InterruptionRule("scheduled-change", "aws.health", "AWS Health Event"),
    InterruptionRule("spot-interruption", "aws.ec2", "EC2 Spot Instance Interruption Warning"),
    InterruptionRule("rebalance", "aws.ec2", "EC2 Instance Rebalance Recommendation"),
    InterruptionRule("instance-state-change", "aws.ec2", "EC2 Instance State-change Notification"),
    InterruptionRule(
        "capacity-reservation-interruption", "aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"
    ),
)


def event_pattern(rule: InterruptionRule) -> dict[str, list[str]]:
    """EventBridge event pattern for ``rule``: ``{"source": [...], "detail-type": [...]}``."""
    return {"source": [rule.source], "detail-type": [rule.detail_type]}
