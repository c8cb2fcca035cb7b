"""Small pure helpers for AWS names and ARNs that can be computed instead of looked up.

Each avoided data-source call (getPartition, getCallerIdentity) is one less round trip in every real preview.
"""
from __future__ import annotations


def partition_for_region(region: str) -> str:
    """The AWS partition a region belongs to (aws, aws-cn, aws-us-gov)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def account_id_of(arn: str) -> str:
    """The account ID field of an ARN (e.g. a role we just created)."""
    return arn.split(":")[4]
