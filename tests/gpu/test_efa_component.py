"""What an EFA pool makes the program register (the `efa-p5` variant: two EFA pools and a p4d pool without EFA),
in which order, and what a stack without EFA pools does not get; the EFA device plugin rendered by its real chart."""

from __future__ import annotations

import pytest

from components import versions
from preflight.model.objects import manifest_of
from preflight.placement import model as placement
from tests.support.stack_variants import STACK_VARIANTS
from tests.support.stacks import REPO_STACKS

EFA_STACK = "efa-p5"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
PLACEMENT_GROUP = "aws:ec2/placementGroup:PlacementGroup"
RELEASE = "kubernetes:helm.sh/v3:Release"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
STACKS = [*REPO_STACKS, *(variant.name for variant in STACK_VARIANTS)]


@pytest.fixture
def efa(stack_or_variant_run):
    return stack_or_variant_run(EFA_STACK)


def node_class(run, pool):
    return manifest_of(run.one(NODE_CLASS, f"gpu-{pool}-nodeclass"))


def test_each_efa_pool_without_an_existing_group_gets_its_own_cluster_placement_group(efa):
    # training names its reservation's group (placementGroup), so only finetune gets one created.
    groups = sorted((r.plain_inputs()["name"], r.plain_inputs()["strategy"]) for r in efa.by_type(PLACEMENT_GROUP))
    assert groups == [("gpu-prod-finetune", "cluster")]


def test_a_pool_naming_an_existing_placement_group_launches_into_it_and_says_so_in_its_contract(efa):
    assert node_class(efa, "training")["spec"]["placementGroupSelector"] == {"name": "p5-reserved-cpg"}
    assert efa.outputs["gpuPools"]["training"]["efa"]["placementGroup"] == "p5-reserved-cpg"
    assert efa.outputs["gpuPools"]["finetune"]["efa"]["placementGroup"] == "gpu-prod-finetune"


def test_efa_pools_never_share_a_node_class_or_a_placement_group(efa):
    classes = {pool: node_class(efa, pool)["spec"] for pool in ("training", "finetune")}
    assert classes["training"]["placementGroupSelector"] == {"name": "p5-reserved-cpg"}
    assert classes["finetune"]["placementGroupSelector"] == {"name": "gpu-prod-finetune"}
    pools = {manifest_of(r)["metadata"]["name"]: manifest_of(r) for r in efa.by_type(NODE_POOL)}
    assert pools["training"]["spec"]["template"]["spec"]["nodeClassRef"]["name"] == "gpu-training"
    assert pools["finetune"]["spec"]["template"]["spec"]["nodeClassRef"]["name"] == "gpu-finetune"


def test_each_efa_node_class_lists_an_efa_interface_per_network_card_of_its_type(efa):
    def efa_only(pool):
        return [i for i in node_class(efa, pool)["spec"]["networkInterfaces"] if i["interfaceType"] == "efa-only"]

    assert len(efa_only("training")) == 32  # p5.48xlarge
    assert len(efa_only("finetune")) == 4  # p4d.24xlarge
    assert "networkInterfaces" not in node_class(efa, "batch")["spec"]


def test_the_efa_pools_stay_in_their_zones(efa):
    zones = {}
    for registration in efa.by_type(NODE_POOL):
        pool = manifest_of(registration)
        for requirement in pool["spec"]["template"]["spec"]["requirements"]:
            if requirement["key"] == "topology.kubernetes.io/zone":
                zones[pool["metadata"]["name"]] = requirement["values"]
    # training: the first of prod's pinned zones; finetune: the one it names.
    assert zones == {"training": ["us-east-1a"], "finetune": ["us-east-1b"]}


def test_one_efa_security_group_allows_all_traffic_to_and_from_itself(efa):
    (group,) = efa.by_type(SECURITY_GROUP)
    assert group.plain_inputs()["tags"]["gpu-eks/efa"] == "gpu-prod"
    assert group.plain_inputs()["vpcId"] == efa.outputs["vpcId"]
    rules = sorted(efa.by_type(RULE), key=lambda r: r.plain_inputs()["type"])
    assert [
        {k: r.plain_inputs()[k] for k in ("type", "protocol", "fromPort", "toPort", "self", "securityGroupId")}
        for r in rules
    ] == [
        {"type": t, "protocol": "-1", "fromPort": 0, "toPort": 0, "self": True, "securityGroupId": group.resource_id}
        for t in ("egress", "ingress")
    ]


def test_efa_node_classes_wait_for_their_placement_group_and_the_security_group_rules(efa):
    finetune = {efa.name_of(urn) for urn in efa.one(NODE_CLASS, "gpu-finetune-nodeclass").dependencies}
    assert {"gpu-finetune-placement", "gpu-efa", "gpu-efa-ingress", "gpu-efa-egress"} <= finetune
    # training's group exists already (its reservation's): nothing of ours to wait for but the security group.
    training = {efa.name_of(urn) for urn in efa.one(NODE_CLASS, "gpu-training-nodeclass").dependencies}
    assert {"gpu-efa", "gpu-efa-ingress", "gpu-efa-egress"} <= training
    assert not {name for name in training if name.endswith("-placement")}


def test_efa_pools_wait_for_the_efa_device_plugin_and_other_pools_do_not(efa):
    plugin = efa.one(RELEASE, f"gpu-{versions.EFA_DEVICE_PLUGIN_CHART}").urn
    assert plugin in efa.one(NODE_POOL, "gpu-training").dependencies
    assert plugin in efa.one(NODE_POOL, "gpu-finetune").dependencies
    assert plugin not in efa.one(NODE_POOL, "gpu-batch").dependencies


def test_the_efa_device_plugin_is_the_pinned_chart_in_kube_system(efa):
    plugin = efa.one(RELEASE, f"gpu-{versions.EFA_DEVICE_PLUGIN_CHART}").plain_inputs()
    assert (plugin["chart"], plugin["version"], plugin["repositoryOpts"]["repo"], plugin["namespace"]) == (
        "aws-efa-k8s-device-plugin",
        "v0.5.30",
        "https://aws.github.io/eks-charts",
        "kube-system",
    )


@pytest.mark.parametrize("stack", ["dev", "prod", "reserved-training"])
def test_a_stack_without_efa_pools_gets_none_of_it(stack_or_variant_run, stack):
    run = stack_or_variant_run(stack)
    assert [r.name for r in run.by_type(PLACEMENT_GROUP) + run.by_type(SECURITY_GROUP) + run.by_type(RULE)] == []
    assert versions.EFA_DEVICE_PLUGIN_CHART not in {r.plain_inputs()["chart"] for r in run.by_type(RELEASE)}
    assert all("efa" not in contract for contract in run.outputs["gpuPools"].values())


def test_only_efa_pools_have_an_efa_contract(efa):
    contracts = efa.outputs["gpuPools"]
    assert {pool for pool, contract in contracts.items() if "efa" in contract} == {"training", "finetune"}
    assert contracts["finetune"]["efa"]["devicesPerNode"] == {"p4d.24xlarge": 4}


def test_the_chart_renders_a_daemonset_on_efa_nodes_tolerating_their_taints(rendered_releases):
    rendered = rendered_releases(EFA_STACK)[versions.EFA_DEVICE_PLUGIN_CHART]
    (daemonset,) = [o for o in rendered.objects if o["kind"] == "DaemonSet"]
    spec = daemonset["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"vpc.amazonaws.com/efa.present": "true"}
    assert spec["tolerations"] == [
        {"key": "CriticalAddonsOnly", "operator": "Exists"},  # the chart's own
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "team", "operator": "Equal", "value": "research", "effect": "NoSchedule"},  # finetune's team taint
    ]


# -- placement: the plugin runs where EFA is, and only there --------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_the_efa_device_plugin_runs_on_every_efa_node_and_nowhere_else(placement_model, stack):
    assert placement.efa_plugin_placement(placement_model(stack)) == {}


def test_efa_nodes_advertise_their_interfaces_and_huge_pages_as_karpenter_plans_them(placement_model):
    nodes = {(n.group, n.instance_type): n for n in placement_model(EFA_STACK).nodes if n.gpu}
    p5 = nodes[("training", "p5.48xlarge")]
    assert p5.capacity == {"nvidia.com/gpu": 8, "vpc.amazonaws.com/efa": 32, "hugepages-2Mi": 5120 * 2**20}
    assert p5.karpenter_capacity == p5.capacity
    assert p5.labels["topology.kubernetes.io/zone"] == "us-east-1a"
    # The batch pool's p4d has EFA hardware but no EFA interfaces attached, so nothing is advertised.
    assert "vpc.amazonaws.com/efa" not in nodes[("batch", "p4d.24xlarge")].capacity


def test_a_plugin_that_ignores_the_efa_label_would_run_on_the_pool_without_efa_too(placement_model):
    model = placement_model(EFA_STACK)
    plugin = next(p for p in model.pods if p.role == "efa-device-plugin")
    unselective = placement.Pod(plugin.name, plugin.kind, {**plugin.spec, "nodeSelector": {}}, role=plugin.role)
    broken = model.with_changes(pods=[unselective if p is plugin else p for p in model.pods])
    wrong = placement.efa_plugin_placement(broken)
    assert sorted(wrong) == ["batch p4d.24xlarge on-demand"]


def test_a_plugin_that_does_not_tolerate_a_team_taint_leaves_that_pool_without_efa(placement_model):
    model = placement_model(EFA_STACK)
    plugin = next(p for p in model.pods if p.role == "efa-device-plugin")
    tolerations = [t for t in plugin.spec["tolerations"] if t.get("key") != "team"]
    blind = placement.Pod(plugin.name, plugin.kind, {**plugin.spec, "tolerations": tolerations}, role=plugin.role)
    broken = model.with_changes(pods=[blind if p is plugin else p for p in model.pods])
    assert sorted(placement.efa_plugin_placement(broken)) == ["finetune p4d.24xlarge on-demand"]
    assert "finetune p4d.24xlarge on-demand: Karpenter counts vpc.amazonaws.com/efa=4, the node advertises 0" in (
        placement.capacity_mismatches(broken)
    )


def test_efa_pools_pass_the_policy_pack_under_the_default_config(efa):
    from preflight.policy import analyze

    assert analyze(efa, user_config=None) == []
