"""Who the cluster knows (issue 19 item 7): the creator is the deploy's caller identity unless clusterCreatorArn
overrides it, so the 409 guard always works; the PR preview role gets a read-only access entry."""

from __future__ import annotations

import pytest

from components.cluster.config import settle_cluster_creator
from components.common.parsing import ConfigError, Parser
from preflight.model.harness import GET_CALLER_IDENTITY, MOCK_ACCOUNT_ID, MOCK_CALLER_ARN
from tests.support.stacks import config_error, parse

ENDPOINT = {"publicAccess": True, "publicAccessCidrs": ["198.51.100.0/24"]}
DEPLOYER = "arn:aws:iam::111122223333:role/deployer"
SESSION = "arn:aws:sts::111122223333:assumed-role/deployer/github-actions"
PREVIEW = "arn:aws:iam::111122223333:role/gpu-eks-preview"
# The mocked deploy session's role (preflight/model/harness.py MOCK_CALLER_ARN), as clusterAdmins would list it.
MOCK_DEPLOYER_ROLE = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/gpu-eks-deployer"


def settle(caller: str, **raw):
    cluster = parse({"endpoint": ENDPOINT, **raw}).cluster
    return settle_cluster_creator(Parser("test"), cluster, caller)


def settle_error(caller: str, **raw) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        settle(caller, **raw)
    return caught.value


# -- the creator, derived --------------------------------------------------------------------------------------------


def test_without_cluster_creator_arn_the_caller_identity_is_the_creator():
    assert settle(SESSION, clusterAdmins=["arn:aws:iam::111122223333:role/platform-admin"]).creator_arn == SESSION


@pytest.mark.parametrize("admin", [DEPLOYER, "arn:aws:iam::111122223333:role/ci/deployer"])
def test_the_caller_in_cluster_admins_is_refused_without_any_config(admin):
    error = settle_error(SESSION, clusterAdmins=["arn:aws:iam::111122223333:role/platform-admin", admin])
    assert error.key == "clusterAdmins[1]"
    assert "409" in error.problem and SESSION in error.problem
    assert "clusterCreatorArn" in error.allowed  # the way out when someone else created the cluster


def test_cluster_creator_arn_overrides_the_caller_identity():
    # The cluster was created by `deployer`; a platform admin now deploys from a laptop and is listed as an admin.
    settled = settle(
        "arn:aws:iam::111122223333:user/alice",
        clusterCreatorArn=DEPLOYER,
        clusterAdmins=["arn:aws:iam::111122223333:user/alice"],
    )
    assert settled.creator_arn == DEPLOYER


@pytest.mark.parametrize("caller", ["arn:aws:iam::111122223333:root", "arn:aws:sts::111122223333:federated-user/bob"])
def test_a_caller_that_is_no_role_or_user_must_name_the_creator(caller):
    error = settle_error(caller)
    assert error.key == "clusterCreatorArn"
    assert caller in error.problem


def test_a_program_run_refuses_the_deploy_identity_in_cluster_admins_before_registering_anything(run_with):
    with pytest.raises(ConfigError) as caught:
        run_with("dev", clusterAdmins=[MOCK_DEPLOYER_ROLE])
    assert caught.value.key == "clusterAdmins[0]"
    assert MOCK_CALLER_ARN in caught.value.problem


def test_the_caller_identity_is_the_one_lookup_and_the_override_skips_it(run_with):
    assert run_with("dev").invokes == [GET_CALLER_IDENTITY]
    assert run_with("dev", clusterCreatorArn=DEPLOYER).invokes == []


# -- the preview role ------------------------------------------------------------------------------------------------


def test_the_preview_role_gets_a_cluster_wide_read_only_access_entry(run_with):
    run = run_with("dev", previewRoleArn=PREVIEW)
    entries = run.one("eks:index:Cluster").plain_inputs()["accessEntries"]
    assert entries["preview"] == {
        "principalArn": PREVIEW,
        "accessPolicies": {
            "admin-view": {
                "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy",
                "accessScope": {"type": "cluster"},
            }
        },
    }


def test_without_a_preview_role_there_is_no_preview_entry(stack_run):
    assert "preview" not in stack_run("dev").one("eks:index:Cluster").plain_inputs()["accessEntries"]


@pytest.mark.parametrize(
    "raw, key, problem",
    [
        ({"previewRoleArn": PREVIEW, "clusterAdmins": [PREVIEW]}, "previewRoleArn", "also clusterAdmins[0]"),
        ({"previewRoleArn": DEPLOYER, "clusterCreatorArn": SESSION}, "previewRoleArn", "is the cluster creator"),
        ({"previewRoleArn": "gpu-eks-preview"}, "previewRoleArn", "is not an IAM role or user ARN"),
    ],
)
def test_a_preview_role_that_would_collide_or_is_malformed_is_refused(raw, key, problem):
    error = config_error({"endpoint": ENDPOINT, **raw})
    assert error.key == key
    assert problem in error.problem


def test_the_preview_role_may_not_be_the_deploy_identity():
    error = settle_error(SESSION, previewRoleArn=DEPLOYER)
    assert error.key == "previewRoleArn"
    assert "409" in error.problem
