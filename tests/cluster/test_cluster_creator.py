"""The cluster creator's admin access entry must not collide with clusterAdmins (issue 9, item 6).

pulumi-eks v4.4.0 always creates the cluster with bootstrapClusterCreatorAdminPermissions (pulumi/pulumi-eks#2373),
so EKS gives whoever runs the first `pulumi up` an admin access entry; a clusterAdmins entry for the same principal
fails with 409 ResourceInUseException mid-deploy. The config names the creator and refuses the duplicate.
"""

from __future__ import annotations

import pytest

from tests.support.stacks import config_error, parse

ENDPOINT = {"publicAccess": True, "publicAccessCidrs": ["198.51.100.0/24"]}
CREATOR = "arn:aws:iam::111122223333:role/deployer"


@pytest.mark.parametrize(
    "creator, admin",
    [
        (CREATOR, CREATOR),
        # What `aws sts get-caller-identity` prints while the deploy role runs.
        ("arn:aws:sts::111122223333:assumed-role/deployer/github-actions", CREATOR),
        # An IAM role keeps its name whatever its path; EKS keys access entries on the role.
        (CREATOR, "arn:aws:iam::111122223333:role/ci/deployer"),
    ],
)
def test_cluster_admin_that_is_the_cluster_creator_is_rejected(creator, admin):
    error = config_error(
        {
            "endpoint": ENDPOINT,
            "clusterCreatorArn": creator,
            "clusterAdmins": ["arn:aws:iam::111122223333:role/platform-admin", admin],
        }
    )
    assert error.key == "clusterAdmins[1]"
    assert "409" in error.problem
    assert "clusterCreatorArn" in error.problem


@pytest.mark.parametrize(
    "admin",
    [
        "arn:aws:iam::444455556666:role/deployer",  # same name, other account
        "arn:aws:iam::111122223333:user/deployer",  # a user, not the role
    ],
)
def test_other_principals_with_the_creator_name_are_accepted(admin):
    config = parse({"endpoint": ENDPOINT, "clusterCreatorArn": CREATOR, "clusterAdmins": [admin]})
    assert config.cluster.creator_arn == CREATOR
    assert config.cluster.admins == (admin,)


@pytest.mark.parametrize("value", [42, "deployer", "arn:aws:iam::1111:role/deployer", "arn:aws:s3:::bucket"])
def test_malformed_cluster_creator_is_rejected(value):
    error = config_error({"endpoint": ENDPOINT, "clusterCreatorArn": value})
    assert error.key == "clusterCreatorArn"
    assert "is not an IAM principal ARN" in error.problem
    assert error.allowed


def test_cluster_creator_is_optional():
    assert parse({"endpoint": ENDPOINT}).cluster.creator_arn is None
