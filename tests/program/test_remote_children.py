"""The children the remote components register, as their upstream source registers them.

The models live in preflight/model/children/ and follow:
  * pulumi/pulumi-eks tag v4.3.0, commit 0f5a544711cbcace44720e2d70f6702925a2ea4b (nodejs/eks/cluster/cluster.ts,
    cluster/authenticationMode.ts, servicerole.ts, addons/cni-addon.ts, nodes/nodegroup.ts, nodes/ami.ts);
  * pulumi/pulumi-awsx tag v3.8.0, commit 3f19048c16e5e942cde97b1771a17f12a99b61d6 (awsx/ec2/vpc.ts,
    subnetDistributorNew.ts, subnetNaming.ts).
The pinned 4.4.0 / 3.11.0 are newer than any reachable source; `test_installed_sdks_take_the_modelled_inputs`
keeps the models honest about that gap.

Expected values here are worked out from the upstream rules written next to each test (zone blocks, NAT
strategy, which options make pulumi-eks build a launch template), not read back from the models.
"""

from __future__ import annotations

import inspect
import ipaddress
import json
import threading
from collections import Counter

import pulumi
import pulumi_aws as aws
import pulumi_awsx as awsx
import pulumi_eks as eks
import pytest

from preflight.model import children as remote_components
from preflight.model.harness import GET_CALLER_IDENTITY, StackRun, run_program, run_stack
from tests.support.stack_variants import STACK_VARIANTS, VARIANTS_BY_NAME
from tests.support.stacks import REPO_STACKS

ALL_RUNS = [*REPO_STACKS, *(v.name for v in STACK_VARIANTS)]
VPC = "awsx:ec2:Vpc"
CLUSTER = "eks:index:Cluster"
MNG = "eks:index:ManagedNodeGroup"


@pytest.fixture(scope="module")
def runs():
    """Every repo stack and STACK_VARIANT, run once for this module."""
    cache: dict[str, StackRun] = {}

    def get(name: str) -> StackRun:
        if name not in cache:
            variant = VARIANTS_BY_NAME.get(name)
            cache[name] = run_stack(variant.base, overrides=variant.overrides) if variant else run_stack(name)
        return cache[name]

    return get


def child_counts(run: StackRun, component_type: str) -> Counter:
    """Types registered below the run's (single) component of `component_type`."""
    components = run.by_type(component_type)
    return Counter(r.type for c in components for r in run.children_of(c.urn))


def expected_vpc_children(zones: int, nat: str) -> Counter:
    """vpc.ts: per zone one public and one private subnet, each with a route table, an association and a
    0.0.0.0/0 route (public -> internet gateway, private -> NAT); one IGW; NATs (+EIPs) per shouldCreateNatGateway."""
    nats = 1 if nat == "Single" else zones
    return Counter(
        {
            "aws:ec2/vpc:Vpc": 1,
            "aws:ec2/internetGateway:InternetGateway": 1,
            "aws:ec2/subnet:Subnet": 2 * zones,
            "aws:ec2/routeTable:RouteTable": 2 * zones,
            "aws:ec2/routeTableAssociation:RouteTableAssociation": 2 * zones,
            "aws:ec2/route:Route": 2 * zones,
            "aws:ec2/natGateway:NatGateway": nats,
            "aws:ec2/eip:Eip": nats,
        }
    )


def expected_cluster_children(inputs: dict) -> Counter:
    """cluster.ts for skipDefaultNodeGroup + skipDefaultSecurityGroups + API authentication: a ServiceRole
    (role + AmazonEKSClusterPolicy attachment), the cluster, kube-proxy, the provider, an entry and a policy
    association per access entry/policy, the VpcCniAddon component with its addon, the OIDC provider iff asked."""
    entries = inputs.get("accessEntries") or {}
    associations = sum(len(e.get("accessPolicies") or {}) for e in entries.values())
    counts = Counter(
        {
            "eks:index:ServiceRole": 1,
            "aws:iam/role:Role": 1,
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 1,
            "aws:eks/cluster:Cluster": 1,
            "aws:eks/addon:Addon": 2,
            "pulumi:providers:kubernetes": 1,
            "eks:index:VpcCniAddon": 1,
            "aws:eks/accessEntry:AccessEntry": len(entries),
            "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": associations,
        }
    )
    if inputs.get("createOidcProvider"):
        counts["aws:iam/openIdConnectProvider:OpenIdConnectProvider"] = 1
    return +counts


# -- provenance -----------------------------------------------------------------------------------------------------


def test_models_name_the_upstream_repository_tag_and_commit():
    doc = remote_components.__doc__
    for source in (remote_components.EKS_SOURCE, remote_components.AWSX_SOURCE):
        assert source["repository"] in doc and source["tag"] in doc and source["commit"] in doc
        assert len(source["commit"]) == 40


@pytest.mark.parametrize(
    "component, args_class", [(CLUSTER, eks.ClusterArgs), (MNG, eks.ManagedNodeGroupArgs), (VPC, awsx.ec2.VpcArgs)]
)
def test_installed_sdks_take_the_modelled_inputs(component, args_class):
    # The models follow the newest reachable source; a pinned release with other inputs must fail here.
    params = {p for p in inspect.signature(args_class.__init__).parameters if p not in ("self", "__self__")}
    normalise = lambda name: name.replace("_", "").lower()  # noqa: E731 (enable_imd_sv2 <-> enableIMDSv2)
    assert {normalise(p) for p in params} == {
        normalise(p) for p in remote_components.SOURCE_INPUT_PROPERTIES[component]
    }


# -- which children, per stack --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_RUNS)
def test_vpc_children_follow_zones_and_nat_strategy(runs, name):
    run = runs(name)
    vpcs = run.by_type(VPC)
    if not vpcs:  # a brought VPC: nothing of awsx at all
        assert run.one(CLUSTER).plain_inputs()["vpcId"].startswith("vpc-")
        assert not [
            r
            for r in run.resources
            if r.type.startswith("aws:ec2/")
            and r.type != "aws:ec2/launchTemplate:LaunchTemplate"
            and r.type != "aws:ec2/tag:Tag"
        ]
        return
    inputs = vpcs[0].plain_inputs()
    zones = len(inputs.get("availabilityZoneNames") or []) or inputs["numberOfAvailabilityZones"]
    assert child_counts(run, VPC) == expected_vpc_children(zones, inputs["natGateways"]["strategy"])


@pytest.mark.parametrize("name", ALL_RUNS)
def test_cluster_children_follow_the_cluster_inputs(runs, name):
    run = runs(name)
    assert child_counts(run, CLUSTER) == expected_cluster_children(run.one(CLUSTER).plain_inputs())


@pytest.mark.parametrize("name", ALL_RUNS)
def test_node_group_with_its_own_template_gets_only_the_eks_node_group(runs, name):
    run = runs(name)
    group = run.one(MNG)
    assert "launchTemplate" in group.plain_inputs()  # the program's own template (issue 9 item 4)
    assert child_counts(run, MNG) == Counter({"aws:eks/nodeGroup:NodeGroup": 1})


def test_brought_vpc_has_no_awsx_children():
    assert VARIANTS_BY_NAME["irsa-brought-vpc"].overrides["network"]["vpcId"]
    run = run_stack("prod", overrides=VARIANTS_BY_NAME["irsa-brought-vpc"].overrides)
    assert run.by_type(VPC) == [] and run.by_type("aws:ec2/subnet:Subnet") == []
    assert not [i for i in run.component_invokes if i.token == remote_components.GET_AVAILABILITY_ZONES]


# -- the VPC's children in detail -------------------------------------------------------------------------------------


def test_dev_subnets_take_the_first_three_zones_and_auto_cidrs(stack_run):
    run = stack_run("dev")
    # awsx getDefaultAzs: getAvailabilityZones() with no arguments, first numberOfAvailabilityZones names.
    [lookup] = [i for i in run.component_invokes if i.token == remote_components.GET_AVAILABILITY_ZONES]
    assert lookup.args == {} and lookup.component_urn == run.one(VPC).urn
    subnets = {s.name: s.plain_inputs() for s in run.by_type("aws:ec2/subnet:Subnet")}
    # 10.0.0.0/16 over 3 zones: zone blocks of /18 (16 + ceil(log2 3)); private /19 at the block's base, public
    # /20 right after it (nextNetmask).
    expected = {}
    for zone in range(3):
        base = ipaddress.IPv4Network("10.0.0.0/18")
        block = ipaddress.IPv4Network((int(base.network_address) + zone * base.num_addresses, 18))
        expected[f"network-vpc-private-{zone + 1}"] = (f"us-west-2{'abc'[zone]}", f"{block.network_address}/19")
        expected[f"network-vpc-public-{zone + 1}"] = (
            f"us-west-2{'abc'[zone]}",
            f"{ipaddress.IPv4Address(int(block.network_address) + 2**13)}/20",
        )
    assert {name: (s["availabilityZone"], s["cidrBlock"]) for name, s in subnets.items()} == expected
    assert [s["mapPublicIpOnLaunch"] for name, s in sorted(subnets.items())] == [False] * 3 + [True] * 3


def test_subnets_carry_the_spec_tags_name_and_type(stack_run):
    run = stack_run("dev")
    private = run.one("aws:ec2/subnet:Subnet", "network-vpc-private-2").plain_inputs()["tags"]
    assert private == {
        "Name": "network-vpc-private-2",
        "SubnetType": "Private",
        "kubernetes.io/role/internal-elb": "1",
        "karpenter.sh/discovery": "gpu-dev",
    }
    public = run.one("aws:ec2/subnet:Subnet", "network-vpc-public-1").plain_inputs()["tags"]
    assert public == {"Name": "network-vpc-public-1", "SubnetType": "Public", "kubernetes.io/role/elb": "1"}


def test_pinned_zone_names_skip_the_zone_lookup(stack_run):
    run = stack_run("prod")
    names = run.one(VPC).plain_inputs()["availabilityZoneNames"]
    assert sorted({s.plain_inputs()["availabilityZone"] for s in run.by_type("aws:ec2/subnet:Subnet")}) == sorted(names)
    assert not [i for i in run.component_invokes if i.token == remote_components.GET_AVAILABILITY_ZONES]


@pytest.mark.parametrize("stack, per_zone", [("dev", False), ("prod", True)])
def test_private_routes_go_through_the_nat_of_the_strategy(stack_run, stack, per_zone):
    run = stack_run(stack)
    nats = {n.resource_id: n for n in run.by_type("aws:ec2/natGateway:NatGateway")}
    subnet_ids = {s.resource_id: s.name for s in run.by_type("aws:ec2/subnet:Subnet")}
    for route in run.by_type("aws:ec2/route:Route"):
        inputs = route.plain_inputs()
        assert inputs["destinationCidrBlock"] == "0.0.0.0/0"
        if route.name.startswith("network-vpc-private-"):
            nat = nats[inputs["natGatewayId"]]
            zone = route.name.rsplit("-", 1)[1]
            # The NAT sits in a public subnet: zone 1's for Single, the route's own zone's for OnePerAz.
            assert subnet_ids[nat.plain_inputs()["subnetId"]] == f"network-vpc-public-{zone if per_zone else 1}"
        else:
            assert inputs["gatewayId"].startswith("igw-")


def test_vpc_outputs_are_the_children_ids(stack_run):
    run = stack_run("dev")
    assert run.outputs["vpcId"] == run.one("aws:ec2/vpc:Vpc").resource_id
    private = [run.one("aws:ec2/subnet:Subnet", f"network-vpc-private-{z}").resource_id for z in (1, 2, 3)]
    assert run.outputs["privateSubnetIds"] == private
    assert run.one(CLUSTER).plain_inputs()["privateSubnetIds"] == private


def test_resources_registered_on_other_threads_are_not_a_models_children(monkeypatch):
    # The SDK calls the monitor from an executor's threads, so the program's own resources can register while a
    # model runs on another thread; only what the model itself registers may count as the component's children
    # (this flaked test_vpc_children_follow_zones_and_nat_strategy when the component was one shared attribute).
    real_model_vpc = remote_components.model_vpc

    def model_vpc_while_the_program_registers(request, registrar):
        program_side = threading.Thread(
            target=lambda: registrar.register("aws:s3/bucket:Bucket", "program-bucket", {}, parent="")
        )
        program_side.start()
        program_side.join()
        return real_model_vpc(request, registrar)

    monkeypatch.setattr(remote_components, "model_vpc", model_vpc_while_the_program_registers)
    run = run_stack("dev")
    bucket = run.one("aws:s3/bucket:Bucket", "program-bucket")
    assert bucket.component_urn is None
    assert bucket not in run.children_of(run.one(VPC).urn)
    assert run.one("aws:ec2/vpc:Vpc").component_urn == run.one(VPC).urn  # the model's own children still are


def test_zone_count_above_the_regions_zones_fails_like_awsx():
    # us-west-2 lists four zones; awsx refuses five (getDefaultAzs).
    def program():
        awsx.ec2.Vpc(
            "v",
            awsx.ec2.VpcArgs(number_of_availability_zones=5, subnet_strategy=awsx.ec2.SubnetAllocationStrategy.AUTO),
        )

    with pytest.raises(Exception, match="does not have at least 5 Availability Zones"):
        run_program("t", {"aws:region": "us-west-2"}, program=program)


# -- the cluster's children in detail ---------------------------------------------------------------------------------


def test_aws_cluster_gets_the_component_settings(stack_run):
    run = stack_run("prod")
    component = run.one(CLUSTER).plain_inputs()
    cluster = run.one("aws:eks/cluster:Cluster").plain_inputs()
    assert cluster["name"] == "gpu-prod" and cluster["version"] == component["version"]
    assert cluster["encryptionConfig"] == {
        "provider": {"keyArn": component["encryptionConfigKeyArn"]},
        "resources": ["secrets"],
    }
    assert cluster["enabledClusterLogTypes"] == component["enabledClusterLogTypes"]
    # cluster.ts: public subnets first, then private; no security group of its own (skipped).
    assert cluster["vpcConfig"] == {
        "subnetIds": [*component["publicSubnetIds"], *component["privateSubnetIds"]],
        "endpointPrivateAccess": True,
        "endpointPublicAccess": True,
        "publicAccessCidrs": ["198.51.100.0/24"],
    }
    assert cluster["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True}
    role = run.one("aws:iam/role:Role", "cluster-eks-eksRole-role")
    assert cluster["roleArn"] == role.outputs["arn"]
    assert json.loads(role.plain_inputs()["assumeRolePolicy"])["Statement"][0]["Action"] == [
        "sts:AssumeRole",
        "sts:TagSession",
    ]


def test_access_entries_and_policy_associations_follow_the_admins(stack_run):
    run = stack_run("prod")
    admins = run.one(CLUSTER).plain_inputs()["accessEntries"]
    entries = {
        e.name: e.plain_inputs()
        for e in run.by_type("aws:eks/accessEntry:AccessEntry")
        if e.component_urn == run.one(CLUSTER).urn
    }
    assert entries == {
        f"cluster-eks-{key}": {"clusterName": "gpu-prod", "principalArn": admin["principalArn"]}
        for key, admin in admins.items()
    }
    for association in run.by_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation"):
        assert association.parent_urn in {e.urn for e in run.by_type("aws:eks/accessEntry:AccessEntry")}
        assert association.plain_inputs()["accessScope"] == {"type": "cluster"}


@pytest.mark.parametrize("name, provider", [("dev", False), ("irsa-brought-vpc", True)])
def test_oidc_provider_exists_only_when_asked_for(runs, name, provider):
    run = runs(name)
    assert run.one(CLUSTER).plain_inputs().get("createOidcProvider", False) is provider
    providers = run.by_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert len(providers) == int(provider)
    region_lookups = [i for i in run.component_invokes if i.token == remote_components.GET_REGION]
    assert len(region_lookups) == int(provider)
    if provider:
        issuer = run.one("aws:eks/cluster:Cluster").outputs["identities"][0]["oidcs"][0]["issuer"]
        assert providers[0].plain_inputs()["url"] == issuer
        assert providers[0].plain_inputs()["clientIdLists"] == ["sts.amazonaws.com"]


def test_pinned_addon_versions_reach_the_addons_without_a_lookup(stack_run):
    run = stack_run("dev")
    component = run.one(CLUSTER).plain_inputs()
    addons = {
        a.plain_inputs()["addonName"]: a.plain_inputs()
        for a in run.by_type("aws:eks/addon:Addon")
        if a.component_urn == run.one(CLUSTER).urn
    }
    assert addons["kube-proxy"]["addonVersion"] == component["kubeProxyAddonOptions"]["version"]
    assert addons["vpc-cni"]["addonVersion"] == component["vpcCniOptions"]["addonVersion"]
    assert not [i for i in run.component_invokes if i.token == remote_components.GET_ADDON_VERSION]
    assert json.loads(addons["vpc-cni"]["configurationValues"])["env"]["AWS_VPC_K8S_CNI_LOGLEVEL"] == "DEBUG"
    # The components' lookups are theirs; the program's own is only who runs the deploy.
    assert run.invokes == [GET_CALLER_IDENTITY]


# -- tiny programs: paths the repo stacks do not take ------------------------------------------------------------------


def _cluster_program(**group_args):
    """An eks.Cluster as the program builds it, plus a ManagedNodeGroup with `group_args` (no versions pinned)."""

    def program():
        role = aws.iam.Role("node", assume_role_policy="{}")
        cluster = eks.Cluster(
            "c",
            eks.ClusterArgs(
                name="t",
                version="1.34",
                vpc_id="vpc-1",
                private_subnet_ids=["subnet-a", "subnet-b"],
                authentication_mode=eks.AuthenticationMode.API,
                skip_default_node_group=True,
                skip_default_security_groups=True,
                create_oidc_provider=False,
                coredns_addon_options=eks.CoreDnsAddonOptionsArgs(enabled=False),
            ),
        )
        eks.ManagedNodeGroup(
            "g",
            eks.ManagedNodeGroupArgs(cluster=cluster, node_role=role, ami_type="AL2023_ARM_64_STANDARD", **group_args),
        )
        pulumi.export("name", cluster.eks_cluster.name)

    return program


def test_enable_imdsv2_without_a_template_makes_pulumi_eks_build_one():
    # nodegroup.ts: enableIMDSv2 is a customLaunchTemplateArg; the template gets hop limit 2 and the disk size on
    # /dev/xvda (AL2023) with nothing else, and the node group loses diskSize and points at the template.
    run = run_program("t", {"aws:region": "us-west-2"}, program=_cluster_program(enable_imd_sv2=True, disk_size=50))
    template = run.one("aws:ec2/launchTemplate:LaunchTemplate", "g-launchTemplate")
    assert template.parent_urn == run.one(MNG).urn
    assert template.plain_inputs() == {
        "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2, "httpEndpoint": "enabled"},
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 50}}],
    }
    group = run.one("aws:eks/nodeGroup:NodeGroup").plain_inputs()
    assert "diskSize" not in group
    assert group["launchTemplate"] == {"id": template.resource_id, "version": "1"}
    assert group["version"] == "1.34"  # defaulted to the cluster's without a caller's template
    assert template.urn in run.one("aws:eks/nodeGroup:NodeGroup").dependencies


def test_no_template_option_means_no_launch_template():
    run = run_program("t", {"aws:region": "us-west-2"}, program=_cluster_program(disk_size=50))
    assert run.by_type("aws:ec2/launchTemplate:LaunchTemplate") == []
    group = run.one("aws:eks/nodeGroup:NodeGroup").plain_inputs()
    assert group["diskSize"] == 50 and "launchTemplate" not in group


def test_template_together_with_imdsv2_is_refused_like_pulumi_eks():
    template = aws.eks.NodeGroupLaunchTemplateArgs(id="lt-0abc", version="1")
    with pytest.raises(Exception, match="If you provide a custom launch template, you cannot provide any of"):
        run_program(
            "t", {"aws:region": "us-west-2"}, program=_cluster_program(launch_template=template, enable_imd_sv2=True)
        )


def test_unpinned_addons_are_looked_up_by_the_component_with_most_recent():
    run = run_program("t", {"aws:region": "us-west-2"}, program=_cluster_program())
    lookups = [i for i in run.component_invokes if i.token == remote_components.GET_ADDON_VERSION]
    assert sorted(i.args["addonName"] for i in lookups) == ["kube-proxy", "vpc-cni"]
    assert all(i.args["mostRecent"] is True and i.args["kubernetesVersion"] == "1.34" for i in lookups)
    vpc_cni = run.by_type("eks:index:VpcCniAddon")[0]
    assert {i.component_urn for i in lookups} == {run.one(CLUSTER).urn, vpc_cni.urn}
    assert run.invokes == []
    assert run.outputs["name"] == "t"


def test_unmodelled_paths_fail_instead_of_guessing():
    def program():
        eks.Cluster("c", eks.ClusterArgs(vpc_id="vpc-1", private_subnet_ids=["subnet-a"]))  # default node group

    with pytest.raises(Exception, match="default node group is not modelled"):
        run_program("t", {"aws:region": "us-west-2"}, program=program)
