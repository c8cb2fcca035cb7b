"""Nothing created for nothing or left behind: OIDC provider only for IRSA, a log group with retention (item 8)."""

from __future__ import annotations

import pytest

from tests.support.stacks import config_error

ENDPOINT = {"publicAccess": True, "publicAccessCidrs": ["198.51.100.0/24"]}


def test_pod_identity_stack_creates_no_oidc_provider(stack_run):
    run = stack_run("dev")  # karpenter.identity defaults to pod-identity
    assert run.one("eks:index:Cluster").plain_inputs()["createOidcProvider"] is False
    assert run.outputs["oidcProviderArn"] is None


def test_irsa_stack_creates_the_oidc_provider_and_exports_it(run_with):
    run = run_with("dev", karpenter={"identity": "irsa"})
    assert run.one("eks:index:Cluster").plain_inputs()["createOidcProvider"] is True
    assert run.outputs["oidcProviderArn"].startswith("arn:aws:iam::")


def test_control_plane_log_group_exists_before_the_cluster_with_a_retention(stack_run):
    run = stack_run("dev")
    log_group = run.one("aws:cloudwatch/logGroup:LogGroup")
    # The exact name EKS writes to, so EKS uses this group instead of creating one without retention.
    assert log_group.plain_inputs()["name"] == "/aws/eks/gpu-dev/cluster"
    assert log_group.plain_inputs()["retentionInDays"] == 90
    assert log_group.urn in run.one("eks:index:Cluster").dependencies


def test_log_retention_is_configurable(run_with):
    log_group = run_with("dev", clusterLogRetentionDays=365).one("aws:cloudwatch/logGroup:LogGroup")
    assert log_group.plain_inputs()["retentionInDays"] == 365


def test_no_log_group_without_control_plane_logs(run_with):
    assert run_with("dev", clusterLogTypes=[]).by_type("aws:cloudwatch/logGroup:LogGroup") == []


@pytest.mark.parametrize("value", [0, 100, 4000, "a week", True, 1.5])
def test_log_retention_outside_cloudwatch_values_is_rejected(value):
    error = config_error({"endpoint": ENDPOINT, "clusterLogRetentionDays": value})
    assert error.key == "clusterLogRetentionDays"
    assert "365" in error.allowed
