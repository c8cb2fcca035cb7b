"""Karpenter under mocks: IAM wiring, interruption queue, the two releases and their values, general NodePools."""

from __future__ import annotations

import json

import pytest

from components.karpenter.chart import karpenter_values
from components.karpenter.config import KarpenterConfig
from preflight.helm.values import load_chart_values, unknown_value_paths
from tests.support.stacks import config_error
from tests.support.upstream import upstream_file

RELEASE = "kubernetes:helm.sh/v3:Release"


def releases(run):
    return {r.plain_inputs()["name"]: r for r in run.by_type(RELEASE)}


# -- Helm releases ----------------------------------------------------------------------------------------------


def test_crd_release_comes_first_and_controller_skips_crds(stack_run):
    run = stack_run("dev")
    by_name = releases(run)
    crd, controller = by_name["karpenter-crd"], by_name["karpenter"]
    assert crd.urn in controller.dependencies
    assert controller.plain_inputs()["skipCrds"] is True
    assert not crd.plain_inputs().get("skipCrds", False)
    for release in (crd, controller):
        assert release.plain_inputs()["version"] == "1.14.1"
        assert release.plain_inputs()["namespace"] == "kube-system"
    assert crd.plain_inputs()["chart"] == "oci://public.ecr.aws/karpenter/karpenter-crd"
    assert controller.plain_inputs()["chart"] == "oci://public.ecr.aws/karpenter/karpenter"


def test_releases_install_through_the_cluster_provider_after_the_controller_nodes(stack_run):
    run = stack_run("dev")
    provider = run.one("pulumi:providers:kubernetes", "cluster-k8s")
    node_group = run.one("eks:index:ManagedNodeGroup")
    for release in releases(run).values():
        assert release.provider_urn == provider.urn
        assert node_group.urn in release.dependencies


def test_controller_values_point_at_cluster_and_queue(stack_run):
    run = stack_run("dev")
    values = releases(run)["karpenter"].plain_inputs()["values"]
    assert values["settings"]["clusterName"] == "gpu-dev"
    assert values["settings"]["interruptionQueue"] == run.outputs["karpenterInterruptionQueueName"] == "gpu-dev"
    # nodeRepair: dev's nodeHealth.autoRepair.
    assert values["settings"]["featureGates"] == {"nodeOverlay": True, "nodeRepair": True}
    assert values["replicas"] == 2
    assert values["controller"]["resources"]["requests"] == {"cpu": "1", "memory": "1Gi"}
    assert values["nodeSelector"]["karpenter.sh/controller"] == "true"
    assert {"key": "CriticalAddonsOnly", "operator": "Exists"} in values["tolerations"]


@pytest.mark.parametrize("identity", ["pod-identity", "irsa"])
def test_every_controller_values_key_exists_in_the_chart(identity):
    values = karpenter_values(
        KarpenterConfig(identity=identity),
        cluster_name="c",
        queue_name="q",
        region="us-west-2",
        irsa_role_arn="arn:aws:iam::123456789012:role/r" if identity == "irsa" else None,
    )
    defaults = load_chart_values(upstream_file("karpenter", "values.yaml"))
    assert unknown_value_paths(values, defaults, free_form=("nodeSelector",)) == []


def test_values_checker_catches_a_key_the_chart_lacks():
    defaults = load_chart_values(upstream_file("karpenter", "values.yaml"))
    assert unknown_value_paths({"settings": {"clusterNmae": "x"}, "webhook": {"enabled": True}}, defaults) == [
        "settings.clusterNmae",
        "webhook",
    ]


# -- identity ---------------------------------------------------------------------------------------------------


def test_pod_identity_binds_the_controller_service_account(stack_run):
    run = stack_run("dev")
    association = run.one("aws:eks/podIdentityAssociation:PodIdentityAssociation").plain_inputs()
    assert (association["namespace"], association["serviceAccount"]) == ("kube-system", "karpenter")
    assert association["roleArn"] == run.outputs["karpenterControllerRoleArn"]
    trust = json.loads(run.one("aws:iam/role:Role", "karpenter-controller-role").plain_inputs()["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}


def test_irsa_annotates_the_service_account_and_trusts_the_oidc_provider(run_with):
    run = run_with("dev", karpenter={"identity": "irsa"})
    assert run.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation") == []
    values = releases(run)["karpenter"].plain_inputs()["values"]
    assert values["serviceAccount"]["annotations"] == {
        "eks.amazonaws.com/role-arn": run.outputs["karpenterControllerRoleArn"]
    }
    trust = json.loads(run.one("aws:iam/role:Role", "karpenter-controller-role").plain_inputs()["assumeRolePolicy"])
    statement = trust["Statement"][0]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"] == run.outputs["oidcProviderArn"]
    issuer = run.outputs["oidcProviderUrl"].removeprefix("https://")
    assert statement["Condition"]["StringEquals"][f"{issuer}:sub"] == "system:serviceaccount:kube-system:karpenter"


# -- IAM --------------------------------------------------------------------------------------------------------


def test_controller_role_has_the_six_upstream_policies(stack_run):
    run = stack_run("dev")
    policies = {
        p.plain_inputs()["name"]: json.loads(p.plain_inputs()["policy"]) for p in run.by_type("aws:iam/policy:Policy")
    }
    assert set(policies) == {
        f"KarpenterController{kind}Policy-gpu-dev"
        for kind in (
            "NodeLifecycle",
            "IAMIntegration",
            "EKSIntegration",
            "Interruption",
            "ZonalShift",
            "ResourceDiscovery",
        )
    }
    attachments = [
        a.plain_inputs()
        for a in run.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.plain_inputs()["role"] == "gpu-dev-karpenter-controller"
    ]
    assert len(attachments) == 6
    # ARNs are computed from the node role's ARN, not looked up.
    interruption = policies["KarpenterControllerInterruptionPolicy-gpu-dev"]
    assert interruption["Statement"][0]["Resource"] == run.outputs["karpenterInterruptionQueueArn"]
    describe = policies["KarpenterControllerEKSIntegrationPolicy-gpu-dev"]["Statement"][0]
    assert describe["Resource"] == "arn:aws:eks:us-west-2:123456789012:cluster/gpu-dev"


def test_node_role_joins_through_an_ec2_linux_access_entry(stack_run):
    run = stack_run("dev")
    entry = run.one("aws:eks/accessEntry:AccessEntry", "karpenter-node-access-entry").plain_inputs()
    assert entry == {
        **entry,
        "type": "EC2_LINUX",
        "clusterName": "gpu-dev",
        "principalArn": run.outputs["karpenterNodeRoleArn"],
    }
    attached = {
        a.plain_inputs()["policyArn"].rsplit("/", 1)[1]
        for a in run.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.plain_inputs()["role"] == "gpu-dev-karpenter-node"
    }
    assert attached == {
        "AmazonEKS_CNI_Policy",
        "AmazonEKSWorkerNodePolicy",
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonSSMManagedInstanceCore",
    }


def test_spot_service_linked_role_only_when_asked(stack_run, run_with):
    assert stack_run("dev").by_type("aws:iam/serviceLinkedRole:ServiceLinkedRole") == []
    run = run_with("dev", karpenter={"createSpotServiceLinkedRole": True})
    assert (
        run.one("aws:iam/serviceLinkedRole:ServiceLinkedRole").plain_inputs()["awsServiceName"] == "spot.amazonaws.com"
    )


# -- interruption queue -----------------------------------------------------------------------------------------


def test_queue_keeps_messages_five_minutes_encrypted_and_tls_only(stack_run):
    run = stack_run("dev")
    queue = run.one("aws:sqs/queue:Queue").plain_inputs()
    assert queue["messageRetentionSeconds"] == 300
    assert queue["sqsManagedSseEnabled"] is True
    policy = json.loads(run.one("aws:sqs/queuePolicy:QueuePolicy").plain_inputs()["policy"])
    deny = next(s for s in policy["Statement"] if s["Effect"] == "Deny")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_five_event_rules_target_the_queue(stack_run):
    run = stack_run("dev")
    patterns = sorted(
        json.loads(r.plain_inputs()["eventPattern"])["detail-type"][0]
        for r in run.by_type("aws:cloudwatch/eventRule:EventRule")
    )
    assert patterns == sorted(
        [
            "AWS Health Event",
            "EC2 Spot Instance Interruption Warning",
            "EC2 Instance Rebalance Recommendation",
            "EC2 Instance State-change Notification",
            "EC2 Capacity Reservation Instance Interruption Warning",
        ]
    )
    targets = run.by_type("aws:cloudwatch/eventTarget:EventTarget")
    assert len(targets) == 5
    assert {t.plain_inputs()["arn"] for t in targets} == {run.outputs["karpenterInterruptionQueueArn"]}


def test_each_event_rule_may_send_to_the_queue_only_as_itself_and_targets_wait_for_that(stack_run):
    run = stack_run("dev")
    rules = run.by_type("aws:cloudwatch/eventRule:EventRule")
    queue_policy = run.one("aws:sqs/queuePolicy:QueuePolicy")
    policy = json.loads(queue_policy.plain_inputs()["policy"])
    allow = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert all(s["Principal"] == {"Service": "events.amazonaws.com"} for s in allow)
    # One statement per rule, each naming that rule's ARN (as the mocked provider reports it after create).
    assert sorted(s["Condition"]["ArnEquals"]["aws:SourceArn"] for s in allow) == sorted(
        r.outputs["arn"] for r in rules
    )
    assert {r.urn for r in rules} <= set(queue_policy.dependencies)
    for target in run.by_type("aws:cloudwatch/eventTarget:EventTarget"):
        assert queue_policy.urn in target.dependencies, target.name


# -- custom resources -------------------------------------------------------------------------------------------


def test_karpenter_objects_wait_for_crds_controller_and_access_entry(stack_run):
    run = stack_run("dev")
    by_name = releases(run)
    entry = run.one("aws:eks/accessEntry:AccessEntry", "karpenter-node-access-entry")
    provider = run.one("pulumi:providers:kubernetes", "cluster-k8s")
    objects = [r for r in run.resources if r.type.startswith("kubernetes:karpenter")]
    assert len(objects) >= 3
    for obj in objects:
        assert {by_name["karpenter-crd"].urn, by_name["karpenter"].urn, entry.urn} <= set(obj.dependencies), obj.name
        assert obj.provider_urn == provider.urn


def general_pools(run):
    """General-purpose NodePools only (GPU pools carry the nvidia.com/gpu.present label; Prometheus' pool
    gpu-eks-monitoring is tested in tests/observability/test_prometheus_zone.py)."""
    return [
        r
        for r in run.by_type("kubernetes:karpenter.sh/v1:NodePool")
        if "nvidia.com/gpu.present" not in r.plain_inputs()["spec"]["template"]["metadata"]["labels"]
        and r.plain_inputs()["metadata"]["name"] != "gpu-eks-monitoring"
    ]


def test_default_pools_follow_the_seed(stack_run):
    pools = {r.plain_inputs()["metadata"]["name"]: r.plain_inputs()["spec"] for r in general_pools(stack_run("dev"))}
    assert set(pools) == {"general-amd64", "general-arm64"}
    amd64 = {r["key"]: r for r in pools["general-amd64"]["template"]["spec"]["requirements"]}
    assert amd64["kubernetes.io/arch"]["values"] == ["amd64"]
    assert amd64["karpenter.k8s.aws/instance-cpu"]["values"] == ["2", "4"]
    assert amd64["karpenter.k8s.aws/instance-generation"] == {
        "key": "karpenter.k8s.aws/instance-generation",
        "operator": "Gt",
        "values": ["6"],
    }
    assert amd64["karpenter.sh/capacity-type"]["values"] == ["spot", "on-demand"]
    arm64 = {r["key"]: r for r in pools["general-arm64"]["template"]["spec"]["requirements"]}
    assert arm64["kubernetes.io/arch"]["values"] == ["arm64"]
    assert arm64["karpenter.k8s.aws/instance-generation"]["values"] == ["6"]
    for spec in pools.values():
        assert spec["limits"] == {"cpu": "200"}
        assert spec["disruption"]["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
        assert spec["template"]["spec"]["nodeClassRef"] == {
            "group": "karpenter.k8s.aws",
            "kind": "EC2NodeClass",
            "name": "default",
        }


def test_configured_pool_replaces_defaults(run_with):
    run = run_with(
        "dev",
        nodePools=[
            {
                "name": "batch",
                "architectures": ["arm64"],
                "capacityTypes": ["spot"],
                "maxCpu": 64,
                "maxMemoryGib": 256,
                "weight": 10,
                "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "5m"},
            }
        ],
    )
    (pool,) = general_pools(run)
    spec = pool.plain_inputs()["spec"]
    assert spec["limits"] == {"cpu": "64", "memory": "256Gi"}
    assert spec["weight"] == 10
    assert spec["disruption"]["consolidateAfter"] == "5m"
    assert run.outputs["nodePoolNames"] == ["batch"]


def test_empty_pool_list_creates_only_the_node_class(run_with):
    run = run_with("dev", nodePools=[], gpuNodePools=None, observability={"mode": "amp"})
    assert run.by_type("kubernetes:karpenter.sh/v1:NodePool") == []
    assert len(run.by_type("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")) == 1


def test_node_class_requires_imdsv2_and_encrypts_the_root_volume(stack_run):
    spec = (
        stack_run("dev").one("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "nodepools-default").plain_inputs()["spec"]
    )
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["blockDeviceMappings"][0]["ebs"]["encrypted"] is True
    assert spec["role"] == "gpu-dev-karpenter-node"
    # dev sets no nodeImage: the pinned default (versions.DEFAULT_NODE_IMAGE), never al2023@latest.
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@v20260714"}]


# -- config rules -----------------------------------------------------------------------------------------------


def test_kubernetes_karpenter_pair_outside_the_matrix_is_rejected():
    error = config_error({"kubernetesVersion": "1.35", "karpenter": {"version": "1.8.0"}})
    assert error.key == "karpenter.version"
    assert "1.9.0" in error.allowed


def test_karpenter_newer_than_validated_crds_is_rejected():
    assert config_error({"karpenter": {"version": "1.15.0"}}).key == "karpenter.version"


def test_feature_gate_missing_from_the_version_is_rejected():
    error = config_error(
        {"kubernetesVersion": "1.33", "karpenter": {"version": "1.6.0", "featureGates": {"nodeOverlay": True}}}
    )
    assert error.key == "karpenter.featureGates.nodeOverlay"


def test_unknown_feature_gate_is_rejected():
    assert (
        config_error({"karpenter": {"featureGates": {"nodeOverlays": True}}}).key
        == "karpenter.featureGates.nodeOverlays"
    )


def test_unknown_identity_is_rejected():
    assert config_error({"karpenter": {"identity": "access-keys"}}).key == "karpenter.identity"


def test_unknown_architecture_is_rejected():
    assert (
        config_error({"nodePools": [{"name": "p", "architectures": ["x86"]}]}).key
        == "nodePools[0] (p).architectures[0]"
    )


def test_invalid_capacity_type_is_rejected():
    assert (
        config_error({"nodePools": [{"name": "p", "capacityTypes": ["preemptible"]}]}).key
        == "nodePools[0] (p).capacityTypes[0]"
    )


def test_duplicate_pool_names_are_rejected():
    error = config_error({"nodePools": [{"name": "p"}, {"name": "p"}]})
    assert error.key == "nodePools[1] (p).name"


@pytest.mark.parametrize("field", ["maxCpu", "maxMemoryGib"])
def test_non_positive_limits_are_rejected(field):
    assert config_error({"nodePools": [{"name": "p", field: 0}]}).key == f"nodePools[0] (p).{field}"


def test_unknown_pool_key_is_rejected():
    assert config_error({"nodePools": [{"name": "p", "maxCPU": 10}]}).key == "nodePools[0] (p).maxCPU"


def test_pool_name_that_is_not_a_dns_label_is_rejected():
    assert config_error({"nodePools": [{"name": "General_Pool"}]}).key == "nodePools[0].name"


def test_budget_schedule_without_duration_is_rejected():
    error = config_error(
        {"nodePools": [{"name": "p", "disruption": {"budgets": [{"nodes": "0", "schedule": "@daily"}]}}]}
    )
    assert error.key == "nodePools[0] (p).disruption.budgets[0].schedule"


def test_balanced_consolidation_needs_karpenter_1_14():
    error = config_error(
        {
            "karpenter": {"version": "1.13.0"},
            "nodePools": [{"name": "p", "disruption": {"consolidationPolicy": "Balanced"}}],
        }
    )
    assert error.key == "nodePools[0] (p).disruption.consolidationPolicy"


def test_bad_duration_is_rejected():
    assert config_error({"nodePools": [{"name": "p", "expireAfter": "30 days"}]}).key == "nodePools[0] (p).expireAfter"


def test_controller_gets_its_region_without_imds():
    # The controller group's IMDS hop limit is 1, so the region must come from the environment.
    values = karpenter_values(KarpenterConfig(), cluster_name="c", queue_name="q", region="eu-west-1")
    assert {"name": "AWS_REGION", "value": "eu-west-1"} in values["controller"]["env"]


def test_controller_release_carries_the_stack_region(stack_run):
    release = next(
        r
        for r in stack_run("prod").by_type("kubernetes:helm.sh/v3:Release")
        if r.plain_inputs().get("name") == "karpenter"
    )
    assert release.plain_inputs()["values"]["controller"]["env"] == [{"name": "AWS_REGION", "value": "us-east-1"}]
