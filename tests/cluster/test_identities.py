"""Who the cluster knows (issue 19 item 7): the creator is the deploy's caller identity unless clusterCreatorArn
overrides it, so the 409 guard always works; the PR preview role gets a read-only access entry."""

from __future__ import annotations

import json

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


# -- with karpenter.identity irsa, every pod role the program creates uses IRSA -------------------------------------

ROLE = "aws:iam/role:Role"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
# Roles that AWS services assume, not pods: the nodes' (EC2) and the control plane's (EKS, pulumi-eks's own).
SERVICE_PRINCIPALS = ({"Service": "ec2.amazonaws.com"}, {"Service": ["eks.amazonaws.com"]})


def pod_role_trusts(run):
    """{role resource name: (principal, subject condition)} of every role pods assume."""
    trusts = {}
    for role in run.by_type(ROLE):
        (statement,) = json.loads(role.plain_inputs()["assumeRolePolicy"])["Statement"]
        if statement["Principal"] in SERVICE_PRINCIPALS:
            continue
        conditions = statement.get("Condition", {}).get("StringEquals", {})
        subject = next((v for k, v in conditions.items() if k.endswith(":sub")), None)
        trusts[role.name] = (statement["Principal"], subject)
    return trusts


@pytest.fixture(scope="module")
def in_cluster_irsa():
    from preflight.model.harness import run_stack

    return run_stack("dev", overrides={"karpenter": {"identity": "irsa"}})


def test_in_cluster_irsa_gives_karpenter_and_the_ebs_csi_driver_irsa_roles(in_cluster_irsa):
    run = in_cluster_irsa
    provider = run.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider").outputs["arn"]
    assert pod_role_trusts(run) == {
        "karpenter-controller-role": ({"Federated": provider}, "system:serviceaccount:kube-system:karpenter"),
        "observability-ebs-csi": ({"Federated": provider}, "system:serviceaccount:kube-system:ebs-csi-controller-sa"),
    }
    assert run.by_type(ASSOCIATION) == []
    addon = next(a.plain_inputs() for a in run.by_type("aws:eks/addon:Addon") if a.name.endswith("ebs-csi-driver"))
    assert addon["serviceAccountRoleArn"] == run.one(ROLE, "observability-ebs-csi").outputs["arn"]
    assert "podIdentityAssociations" not in addon


def test_amp_irsa_gives_prometheus_and_grafana_irsa_roles_and_annotated_service_accounts(stack_or_variant_run):
    run = stack_or_variant_run("irsa-brought-vpc")  # prod (amp) with karpenter.identity irsa
    provider = run.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider").outputs["arn"]
    trusts = pod_role_trusts(run)
    stack = next(
        r for r in run.by_type("kubernetes:helm.sh/v3:Release") if r.plain_inputs()["name"] == "kube-prometheus-stack"
    )
    values = stack.plain_inputs()["values"]
    for component, role in (("prometheus", "observability-prometheus"), ("grafana", "observability-grafana")):
        account = values[component]["serviceAccount"]
        # The role trusts exactly the service account the chart creates, and that account names the role.
        assert trusts[role] == ({"Federated": provider}, f"system:serviceaccount:monitoring:{account['name']}")
        assert account["annotations"] == {"eks.amazonaws.com/role-arn": run.one(ROLE, role).outputs["arn"]}
    assert all(principal == {"Federated": provider} for principal, _ in trusts.values())
    assert run.by_type(ASSOCIATION) == []


def test_with_pod_identity_no_role_trusts_the_oidc_provider(stack_run):
    for stack in ("dev", "prod"):
        run = stack_run(stack)
        assert all(principal == {"Service": "pods.eks.amazonaws.com"} for principal, _ in pod_role_trusts(run).values())
        assert run.by_type(ASSOCIATION)  # Karpenter's (and AMP's on prod); the EBS CSI add-on carries its own
