"""Cluster component under mocks: control plane security settings, add-ons, the controller node group."""

from __future__ import annotations


def test_cluster_is_pinned_and_uses_access_entries(stack_run):
    cluster = stack_run("dev").one("eks:index:Cluster").plain_inputs()
    assert cluster["name"] == "gpu-dev"
    assert cluster["version"] == "1.34"
    assert cluster["authenticationMode"] == "API"
    admin = cluster["accessEntries"]["admin-0"]
    assert admin["principalArn"] == "arn:aws:iam::111122223333:role/platform-admin"
    assert (
        admin["accessPolicies"]["cluster-admin"]["policyArn"]
        == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    )


def test_endpoint_is_private_with_an_allowlisted_public_side(stack_run):
    cluster = stack_run("prod").one("eks:index:Cluster").plain_inputs()
    assert cluster["endpointPrivateAccess"] is True
    assert cluster["endpointPublicAccess"] is True
    assert cluster["publicAccessCidrs"] == ["198.51.100.0/24"]


def test_private_only_endpoint_sends_no_cidrs(run_with):
    cluster = run_with("dev", endpoint={"publicAccess": False}).one("eks:index:Cluster").plain_inputs()
    assert cluster["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in cluster


def test_all_control_plane_logs_are_on_by_default(stack_run):
    cluster = stack_run("dev").one("eks:index:Cluster").plain_inputs()
    assert cluster["enabledClusterLogTypes"] == ["api", "audit", "authenticator", "controllerManager", "scheduler"]


def test_secrets_are_envelope_encrypted_with_a_rotating_key(stack_run):
    run = stack_run("dev")
    key = run.one("aws:kms/key:Key")
    assert key.plain_inputs()["enableKeyRotation"] is True
    assert run.one("eks:index:Cluster").plain_inputs()["encryptionConfigKeyArn"] == key.outputs["arn"]


def test_no_default_node_group(stack_run):
    # The OIDC provider (IRSA only) is tested in test_cluster_leftovers.py.
    assert stack_run("dev").one("eks:index:Cluster").plain_inputs()["skipDefaultNodeGroup"] is True


def test_controller_node_group_is_tainted_labelled_graviton(stack_run):
    group = stack_run("dev").one("eks:index:ManagedNodeGroup").plain_inputs()
    assert group["taints"] == [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}]
    assert group["labels"]["karpenter.sh/controller"] == "true"
    assert group["instanceTypes"] == ["m7g.large"]
    assert group["amiType"] == "AL2023_ARM_64_STANDARD"
    # minSize 2: Karpenter's two replicas need two nodes (hostname anti-affinity).
    assert group["scalingConfig"] == {"minSize": 2, "desiredSize": 2, "maxSize": 3}


def test_controller_node_group_spans_the_private_subnets(stack_run):
    run = stack_run("dev")
    group = run.one("eks:index:ManagedNodeGroup").plain_inputs()
    assert group["subnetIds"] == run.outputs["privateSubnetIds"]


def test_coredns_and_pod_identity_agent_wait_for_the_controller_nodes(stack_run):
    run = stack_run("dev")
    node_group = run.one("eks:index:ManagedNodeGroup")
    # Our own add-ons; kube-proxy and vpc-cni are pulumi-eks's children of the eks.Cluster.
    ours = [
        a
        for a in run.by_type("aws:eks/addon:Addon")
        if (a.parent_urn or "").split("::")[2].split("$")[-1] == "gpu-eks:cluster:Cluster"
    ]
    addons = {a.plain_inputs()["addonName"]: a for a in ours}
    assert set(addons) == {"coredns", "eks-pod-identity-agent"}
    for addon in addons.values():
        assert node_group.urn in addon.dependencies


def test_cluster_security_group_is_tagged_for_karpenter_discovery(stack_run):
    run = stack_run("dev")
    tag = run.one("aws:ec2/tag:Tag").plain_inputs()
    assert tag == {
        "key": "karpenter.sh/discovery",
        "value": "gpu-dev",
        "resourceId": run.outputs["clusterSecurityGroupId"],
    }


def test_kubernetes_provider_gets_the_kubeconfig_as_a_secret(stack_run):
    provider = stack_run("dev").one("pulumi:providers:kubernetes", "cluster-k8s")
    assert provider.redacted_inputs()["kubeconfig"] == "[secret]"
    assert "get-token" in provider.plain_inputs()["kubeconfig"]


def test_resources_carry_ownership_and_user_tags(stack_run):
    key = stack_run("prod").one("aws:kms/key:Key").plain_inputs()
    assert key["tags"] == {
        "cost-center": "ml-platform",
        "environment": "prod",
        "gpu-eks/cluster": "gpu-prod",
        "gpu-eks/stack": "prod",
    }
