"""Placement: every pod the program causes lands where it must, for every repo stack and STACK_VARIANT.

The scheduling model (preflight/placement/model.py) puts the real rendered charts, the GPU Operator's
operands, the workload contracts and the examples against the nodes the stack can have: the controller
group, which alone exists when the releases install, and every shape each NodePool can launch, labelled
the way Karpenter, NFD, GFD and the operator label them. The rule tests and the broken-input tests at the
end show the model rejects what Kubernetes rejects, for the reason Kubernetes gives.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest

from preflight.placement import model as placement
from preflight.placement.model import Pod, fit_problems, tolerates
from tests.support.stack_variants import STACK_VARIANTS
from tests.support.stacks import REPO_STACKS

STACKS = [*REPO_STACKS, *(variant.name for variant in STACK_VARIANTS)]
GPU_TAINT = {"key": "nvidia.com/gpu", "effect": "NoSchedule"}  # as the GPU NodePools taint their nodes
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def only(pods):
    assert len(pods) == 1, [p.name for p in pods]
    return pods[0]


# -- every stack --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_karpenter_runs_only_on_the_controller_group(placement_model, stack):
    model = placement_model(stack)
    karpenter = only(model.pods_with(role="karpenter"))
    assert {n.group for n in model.nodes_for(karpenter)} == {"controller"}


@pytest.mark.parametrize("stack", STACKS)
def test_every_deployment_and_hook_fits_a_node_that_exists_when_its_release_installs(placement_model, stack):
    assert placement.install_time_failures(placement_model(stack)) == {}


@pytest.mark.parametrize("stack", STACKS)
def test_every_gpu_node_runs_the_nvidia_daemonsets_its_pool_needs(placement_model, stack):
    assert placement.missing_components(placement_model(stack)) == {}


@pytest.mark.parametrize("stack", STACKS)
def test_no_nvidia_daemonset_runs_on_cpu_only_nodes(placement_model, stack):
    assert placement.daemonsets_on_cpu_only_nodes(placement_model(stack)) == {}


@pytest.mark.parametrize("stack", STACKS)
def test_every_contract_pod_lands_on_its_pool_and_only_there(placement_model, stack):
    model = placement_model(stack)
    failures = {
        pool: placement.landing_failures(model, only(model.pods_with(name=f"contract {pool}")), pool)
        for pool in model.contracts
    }
    assert {pool: f for pool, f in failures.items() if f} == {}


@pytest.mark.parametrize("stack", STACKS)
def test_every_gpu_node_advertises_what_its_overlay_and_contract_promise(placement_model, stack):
    assert placement.capacity_mismatches(placement_model(stack)) == []


@pytest.mark.parametrize("stack", STACKS)
def test_example_workloads_land_on_the_pool_they_name(placement_model, stack):
    model = placement_model(stack)
    examples = [p for p in model.pods if p.name.startswith("example ")]
    failures = {p.name: placement.landing_failures(model, p, p.spec["nodeSelector"]["gpu-eks/pool"]) for p in examples}
    assert {name: f for name, f in failures.items() if f} == {}


@pytest.mark.parametrize("stack", STACKS)
def test_every_warm_slice_lands_on_its_pool_and_only_there(placement_model, stack):
    # Karpenter keeps a CapacityBuffer's virtual pods warm only where they fit: on their pool, as its contract says.
    model = placement_model(stack)
    failures = {
        p.name: placement.landing_failures(model, p, p.spec["nodeSelector"]["gpu-eks/pool"])
        for p in model.pods_with(role="warm-slice")
    }
    assert {name: f for name, f in failures.items() if f} == {}


def test_a_buffer_naming_a_template_the_stack_does_not_create_is_reported(stack_or_variant_run):
    run = stack_or_variant_run("warm-team-pools")
    without_templates = SimpleNamespace(resources=[r for r in run.resources if not r.type.endswith(":PodTemplate")])
    with pytest.raises(AssertionError, match="PodTemplateNotFound"):
        placement.warm_slice_pods(without_templates)


# A pod that wants a whole GPU written the usual way: the GPU resource and the GPU taint's toleration, no pool named.
WHOLE_GPU_POD = Pod(
    "whole GPU, no pool named",
    "Pod",
    {
        "tolerations": [GPU_TOLERATION],
        "containers": [{"name": "train", "resources": {"limits": {"nvidia.com/gpu": 1}}}],
    },
)


@pytest.mark.parametrize(
    "stack, whole_gpu_pools",
    [
        ("dev", set()),  # inference is time-sliced
        ("prod", {"training"}),  # mig-inference is MIG, inference time-sliced
        ("whole-gpu", {"whole"}),
        ("mps", set()),
        ("mig-and-time-slicing", set()),
        ("reserved-training", {"training"}),
        ("warm-team-pools", {"whole"}),  # chat time-sliced and team-tainted, search MIG
    ],
)
def test_a_whole_gpu_pod_naming_no_pool_lands_only_on_whole_gpu_pools(placement_model, stack, whole_gpu_pools):
    model = placement_model(stack)
    for at_launch in (True, False):  # as Karpenter decides what to launch, and as the scheduler binds
        assert {n.group for n in model.nodes_for(WHOLE_GPU_POD, at_launch=at_launch)} == whole_gpu_pools


def test_without_the_sharing_taint_a_whole_gpu_pod_would_land_on_time_sliced_nodes(placement_model):
    # The sharing taint is what keeps it off: drop it and the time-sliced nodes take the pod.
    model = placement_model("dev")
    node = gpu_node(model, "inference")
    assert model.problems(WHOLE_GPU_POD, node) == ["taint gpu-eks/sharing=time-slicing:NoSchedule is not tolerated"]
    untainted = [t for t in node.taints if t["key"] != "gpu-eks/sharing"]
    assert fit_problems(WHOLE_GPU_POD.spec, node.labels, untainted, node.capacity) == []


def test_a_team_pool_takes_no_pod_that_tolerates_only_the_gpu_and_sharing_taints(placement_model):
    model = placement_model("warm-team-pools")
    chat = only(model.pods_with(name="contract chat"))
    other_team = Pod(
        "time-sliced pod of another team",
        "Pod",
        {**chat.spec, "nodeSelector": {}, "tolerations": [t for t in chat.spec["tolerations"] if t["key"] != "team"]},
    )
    # Only the whole-GPU pool, which needs no toleration it lacks; never the chat team's nodes.
    assert {n.group for n in model.nodes_for(other_team)} == {"whole"}
    assert model.problems(other_team, gpu_node(model, "chat")) == ["taint team=chat:NoSchedule is not tolerated"]


def test_the_model_covers_what_each_shape_installs(placement_model):
    # Guards against a model that passes because it sees nothing: the pods and nodes the stacks must yield.
    dev, prod, gpu_only = placement_model("dev"), placement_model("prod"), placement_model("gpu-only-mig")
    assert {p.role for p in dev.nvidia_daemonsets} == {"nfd-worker", "device-plugin", "gfd", "mps-control-daemon"}
    assert {p.role for p in prod.nvidia_daemonsets} >= {
        "nfd-worker",
        "device-plugin",
        "gfd",
        "mig-manager",
        "operator-validator",
        "dcgm-exporter",
    }
    # The NVIDIA charts' hooks, and kube-prometheus-stack's admission-webhook certificate Jobs and CRD upgrade Job.
    assert {p.hook for p in prod.pods if p.hook} == {
        "pre-install,pre-upgrade,pre-rollback",
        "pre-upgrade",
        "pre-delete",
        "post-delete",
        "pre-install,pre-upgrade",
        "post-install,post-upgrade",
    }
    assert {p.name for p in prod.pods if p.name.startswith("example ")} == {
        "example mig-fill-one-node.yaml: Deployment mig-1g-5gb",
        "example vector-add-time-sliced.yaml: Job vector-add-time-sliced",
        "example gpu-workload: Job smoke-inference",
        "example gpu-workload: Job smoke-mig-inference",
        "example gpu-workload: Job smoke-training",
    }
    assert {n.group for n in gpu_only.nodes} == {"controller", "mig-inference", "training", "inference"}
    warm = placement_model("warm-team-pools")
    assert sorted(p.name for p in warm.pods_with(role="warm-slice")) == [
        "warm slice kube-system/gpu-eks-warm-chat",
        "warm slice kube-system/gpu-eks-warm-search",
    ]
    assert {n.labels["karpenter.sh/capacity-type"] for n in placement_model("reserved-training").nodes if n.gpu} == {
        "reserved",
        "on-demand",
    }
    # p4d.24xlarge: 8 A100-40GB, 7 MIG 1g.5gb slices each, once MIG Manager applied all-1g.5gb.
    p4d = next(n for n in prod.nodes if n.instance_type == "p4d.24xlarge")
    assert p4d.capacity == {"nvidia.com/mig-1g.5gb": 56, "nvidia.com/gpu": 0}
    # g5.xlarge in dev's inference pool: 1 A10G time-sliced 4 ways.
    g5 = next(n for n in dev.nodes if n.instance_type == "g5.xlarge")
    assert g5.capacity == {"nvidia.com/gpu": 4}


def test_controller_group_nodes_carry_what_eks_and_the_program_set(placement_model):
    (node,) = [n for n in placement_model("dev").nodes if n.group == "controller"]
    assert node.taints == ({"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"},)
    assert {
        k: node.labels[k] for k in ("kubernetes.io/arch", "karpenter.sh/controller", "eks.amazonaws.com/nodegroup")
    } == {
        "kubernetes.io/arch": "arm64",
        "karpenter.sh/controller": "true",
        "eks.amazonaws.com/nodegroup": "gpu-dev-controller",
    }


# -- the rules ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "toleration, taint, tolerated",
    [
        (GPU_TOLERATION, GPU_TAINT, True),
        # Equal compares values: the NFD chart's default `nvidia.com/gpu=present` does not match a value-less taint.
        ({"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}, GPU_TAINT, False),
        (
            {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"},
            {**GPU_TAINT, "value": "present"},
            True,
        ),
        ({"key": "nvidia.com/gpu", "effect": "NoSchedule"}, GPU_TAINT, True),  # no operator = Equal, both values ""
        (
            {"key": "CriticalAddonsOnly", "operator": "Exists"},
            {"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"},
            True,
        ),  # no effect = every effect
        (GPU_TOLERATION, {"key": "nvidia.com/gpu", "effect": "NoExecute"}, False),  # the effect must match
        ({"operator": "Exists"}, {"key": "anything", "value": "x", "effect": "NoExecute"}, True),  # tolerates all
        (
            {"key": "node-role.kubernetes.io/control-plane", "operator": "Equal", "value": "", "effect": "NoSchedule"},
            {"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"},
            False,
        ),
    ],
)
def test_tolerations(toleration, taint, tolerated):
    assert tolerates(toleration, taint) is tolerated


@pytest.mark.parametrize(
    "expression, matches",
    [
        ({"key": "pool", "operator": "In", "values": ["a", "b"]}, True),
        ({"key": "pool", "operator": "In", "values": ["b"]}, False),
        ({"key": "missing", "operator": "In", "values": ["a"]}, False),
        ({"key": "pool", "operator": "NotIn", "values": ["b"]}, True),
        ({"key": "missing", "operator": "NotIn", "values": ["a"]}, True),
        ({"key": "pool", "operator": "Exists"}, True),
        ({"key": "missing", "operator": "Exists"}, False),
        ({"key": "missing", "operator": "DoesNotExist"}, True),
        ({"key": "gen", "operator": "Gt", "values": ["6"]}, True),
        ({"key": "gen", "operator": "Gt", "values": ["7"]}, False),  # Gt is strict
        ({"key": "gen", "operator": "Lt", "values": ["8"]}, True),
        ({"key": "pool", "operator": "Gt", "values": ["1"]}, False),  # not an integer
    ],
)
def test_node_selector_operators(expression, matches):
    assert placement.expression_matches(expression, {"pool": "a", "gen": "7"}) is matches


def test_affinity_terms_are_ored_and_their_expressions_anded():
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}]},
                    {"matchExpressions": [{"key": "c", "operator": "Exists"}]},
                ]
            }
        }
    }
    pod = {"affinity": affinity}
    assert fit_problems(pod, {"a": "1", "b": "1"}, []) == []
    assert fit_problems(pod, {"c": "1"}, []) == []
    (problem,) = fit_problems(pod, {"a": "1"}, [])
    assert problem == "required node affinity (a Exists AND b Exists) OR (c Exists) matches no label of the node"


# -- broken inputs are rejected for the right reason -----------------------------------------------------------


def gpu_node(model, pool):
    return next(n for n in model.nodes if n.group == pool)


def test_a_pod_without_the_gpu_toleration_is_kept_off_gpu_nodes(placement_model):
    model = placement_model("dev")
    pod = only(model.pods_with(name="contract inference"))
    broken = Pod("no toleration", "Pod", {**pod.spec, "tolerations": []})
    assert model.problems(broken, gpu_node(model, "inference")) == [
        "taint nvidia.com/gpu:NoSchedule is not tolerated",
        "taint gpu-eks/sharing=time-slicing:NoSchedule is not tolerated",
    ]
    assert placement.landing_failures(model, broken, "inference")[0].startswith("Karpenter: not on inference ")


def test_a_node_selector_naming_a_wrong_label_matches_no_node(placement_model):
    model = placement_model("dev")
    pod = only(model.pods_with(name="contract inference"))
    broken = Pod("typo", "Pod", {**pod.spec, "nodeSelector": {"gpu-eks/pools": "inference"}})
    assert model.nodes_for(broken) == []
    assert model.problems(broken, gpu_node(model, "inference")) == [
        "nodeSelector gpu-eks/pools=inference: node has no gpu-eks/pools label"
    ]


def test_a_contract_naming_another_pool_lands_there_and_is_reported(placement_model):
    model = placement_model("prod")
    contract = copy.deepcopy(model.contracts["inference"])
    contract["nodeSelector"] = {"gpu-eks/pool": "training"}
    failures = placement.landing_failures(model, placement.contract_pod("inference", contract), "inference")
    assert failures[0].startswith("Karpenter: also fits ['training p5.48xlarge on-demand'")
    assert "nodeSelector gpu-eks/pool=training: node has gpu-eks/pool=inference" in failures[1]


def test_an_overlay_with_a_wrong_count_is_reported(placement_model):
    model = placement_model("dev")
    overlays = copy.deepcopy(model.overlays)
    one_gpu = next(o for o in overlays if o["metadata"]["name"] == "inference-1gpu")
    one_gpu["spec"]["capacity"]["nvidia.com/gpu"] = "8"  # 1 GPU x 4 replicas is 4
    broken = model.with_changes(overlays=overlays)
    assert (
        "inference g5.xlarge spot: Karpenter counts nvidia.com/gpu=8, the node advertises 4"
        in placement.capacity_mismatches(broken)
    )


def test_a_contract_promising_the_wrong_slice_count_is_reported(placement_model):
    model = placement_model("prod")
    contracts = copy.deepcopy(model.contracts)
    contracts["mig-inference"]["slicesPerNode"]["p4d.24xlarge"] = 8  # whole GPUs, not 8 x 7 slices
    assert placement.capacity_mismatches(model.with_changes(contracts=contracts)) == [
        "mig-inference p4d.24xlarge on-demand: contract promises nvidia.com/mig-1g.5gb=8 per node, "
        "the node advertises 56"
    ]


def test_a_device_plugin_that_cannot_reach_gpu_nodes_leaves_them_without_capacity(placement_model):
    model = placement_model("dev")
    pods = [
        Pod(
            p.name,
            p.kind,
            {**p.spec, "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}]},
            release=p.release,
            chart=p.chart,
            role=p.role,
        )
        if p.role == "device-plugin"
        else p
        for p in model.pods
    ]
    broken = model.with_changes(pods=pods)
    assert (
        "device-plugin: taint nvidia.com/gpu:NoSchedule is not tolerated; "
        "taint gpu-eks/sharing=time-slicing:NoSchedule is not tolerated"
        in placement.missing_components(broken)["inference g5.xlarge spot"]
    )
    assert (
        "inference g5.xlarge spot: Karpenter counts nvidia.com/gpu=4, the node advertises 0"
        in placement.capacity_mismatches(broken)
    )


def test_a_worker_without_a_node_selector_is_reported_on_cpu_only_nodes(placement_model):
    model = placement_model("dev")
    pods = [
        Pod(
            p.name,
            p.kind,
            {"tolerations": [GPU_TOLERATION, {"key": "CriticalAddonsOnly", "operator": "Exists"}]},
            release=p.release,
            chart=p.chart,
            role=p.role,
        )
        if p.role == "nfd-worker"
        else p
        for p in model.pods
    ]
    offenders = placement.daemonsets_on_cpu_only_nodes(model.with_changes(pods=pods))
    assert list(offenders) == ["nvidia-device-plugin: DaemonSet nvidia-device-plugin-node-feature-discovery-worker"]
    assert (
        "controller m7g.large"
        in offenders["nvidia-device-plugin: DaemonSet nvidia-device-plugin-node-feature-discovery-worker"]
    )


def test_a_deployment_tolerating_only_the_control_plane_taint_has_no_node_at_install(placement_model):
    # The GPU Operator chart's own default (values.yaml operator.tolerations at v26.7.0).
    model = placement_model("gpu-only-mig")
    upstream = {
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [
            {"key": "node-role.kubernetes.io/control-plane", "operator": "Equal", "value": "", "effect": "NoSchedule"}
        ],
    }
    pods = [
        Pod(p.name, p.kind, upstream, release=p.release, chart=p.chart, role=p.role) if p.role == "gpu-operator" else p
        for p in model.pods
    ]
    broken = model.with_changes(pods=pods)
    assert placement.install_time_failures(broken) == {
        "gpu-operator: Deployment gpu-operator": [
            "controller m7g.large: taint CriticalAddonsOnly=true:NoSchedule is not tolerated",
            "controller m7g.xlarge: taint CriticalAddonsOnly=true:NoSchedule is not tolerated",
        ]
    }
    # With no general pool nothing else takes it either, so the operator never labels a GPU node.
    assert (
        "device-plugin: nodeSelector nvidia.com/gpu.deploy.device-plugin=true: node has no "
        "nvidia.com/gpu.deploy.device-plugin label"
        in placement.missing_components(broken)["mig-inference p4d.24xlarge on-demand"]
    )


def test_a_noexecute_taint_needs_a_noexecute_toleration():
    taint = {"key": "nvidia.com/gpu", "effect": "NoExecute"}
    assert fit_problems({"tolerations": [GPU_TOLERATION]}, {}, [taint]) == [
        "taint nvidia.com/gpu:NoExecute is not tolerated"
    ]
    assert fit_problems({"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]}, {}, [taint]) == []
    # PreferNoSchedule never keeps a pod off a node.
    assert fit_problems({}, {}, [{"key": "x", "effect": "PreferNoSchedule"}]) == []
