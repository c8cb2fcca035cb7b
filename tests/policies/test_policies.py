"""The CrossGuard policy pack (policies/): every policy accepts the real stacks and rejects a real resource made wrong.

Failing cases start from what the program actually renders (a deep copy of a registration from
`stack_run`, edited) or from a `run_with(...)` override that makes the program itself render the
violation, and assert the message a user would read. The whole pack is also run through pulumi_policy's
own analyzer servicer (preflight/policy.py) to show that the repo's stacks pass with the
default policy config and that enforcement levels come from that config.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import grpc
import jsonschema
import pytest
import yaml
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from components.gpu.nvidia_config import MPS_MAX_REPLICAS
from preflight.model.harness import Registration, StackRun
from preflight.policy import (
    ALL_POLICIES,
    PACK_DIR,
    POLICIES,
    analyze,
    edited,
    effective_config,
    mandatory,
    only_messages,
    replaced,
    resource_violations,
    stack_violations,
)
from tests.support.stacks import REPO_STACKS

NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
NODE_OVERLAY = "kubernetes:karpenter.sh/v1alpha1:NodeOverlay"
RELEASE = "kubernetes:helm.sh/v3:Release"
EKS = "eks:index:Cluster"
EKS_CLUSTER = "aws:eks/cluster:Cluster"  # registered by pulumi-eks (modelled in preflight/model/children/)
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
SECURITY_POLICIES = (
    "eks-secrets-encryption",
    "eks-audit-logging",
    "eks-public-endpoint-restricted",
    "ec2nodeclass-imdsv2-required",
    "ebs-volumes-encrypted",
    "sqs-queue-encrypted",
    "sqs-queue-tls-only",
    "iam-no-wildcard-actions",
)


def k8s_object(run: StackRun, type_token: str, name: str) -> Registration:
    """The Kubernetes object of a type whose metadata.name is `name`."""
    matches = [r for r in run.by_type(type_token) if r.plain_inputs()["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {type_token} named {name}, found {len(matches)}"
    return matches[0]


def release(run: StackRun, name: str) -> Registration:
    """The Helm release whose `name` input is `name`."""
    matches = [r for r in run.by_type(RELEASE) if r.plain_inputs()["name"] == name]
    assert len(matches) == 1, f"expected one release {name}"
    return matches[0]


def check(
    policy_name: str, run: StackRun, registration: Registration, config: dict | None = None, props: Any = None
) -> list[str]:
    """Messages a resource policy reports for one registration."""
    return resource_violations(POLICIES[policy_name], run, registration, config, props)


def check_all(policy_name: str, run: StackRun, type_token: str, config: dict | None = None) -> dict[str, list[str]]:
    """{resource name: messages} of a resource policy over every registration of a type."""
    return {r.name: check(policy_name, run, r, config) for r in run.by_type(type_token)}


def check_stack(policy_name: str, registrations: list[Registration], config: dict | None = None):
    """(message, urn) pairs a stack policy reports."""
    return stack_violations(POLICIES[policy_name], registrations, config)


def spec(inputs: dict) -> dict:
    """A NodePool's spec.template.spec."""
    return inputs["spec"]["template"]["spec"]


def labels(inputs: dict) -> dict:
    """A NodePool's node labels."""
    return inputs["spec"]["template"]["metadata"]["labels"]


def instance_types_requirement(inputs: dict) -> dict:
    return next(r for r in spec(inputs)["requirements"] if r["key"] == "node.kubernetes.io/instance-type")


# == the pack ==========================================================================================================


def test_pack_has_at_least_twelve_named_and_described_policies():
    assert len(ALL_POLICIES) >= 12
    for policy in ALL_POLICIES:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", policy.name), policy.name
        assert len(policy.description) > 20
        assert isinstance(policy, (ResourceValidationPolicy, StackValidationPolicy))
        # An explicit default per policy: the pack-wide fallback must never decide.
        assert policy.enforcement_level in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY)


def test_security_policies_are_mandatory_and_team_choices_advisory():
    levels = {p.name: p.enforcement_level for p in ALL_POLICIES}
    assert all(levels[name] == EnforcementLevel.MANDATORY for name in SECURITY_POLICIES)
    assert levels["gpu-nodepool-gpu-limit"] == EnforcementLevel.ADVISORY
    assert levels["managed-node-group-imdsv2"] == EnforcementLevel.MANDATORY
    for name in (
        "gpu-nodepool-taint",
        "mig-requires-mig-capable-instances",
        "gpu-sharing-replicas-in-range",
        "helm-chart-version-pinned",
        "karpenter-resources-depend-on-crds",
    ):
        assert levels[name] == EnforcementLevel.MANDATORY


def test_config_schemas_are_json_schemas_whose_defaults_validate():
    for policy in ALL_POLICIES:
        if policy.config_schema is None:
            continue
        schema = {"type": "object", "properties": policy.config_schema.properties}
        jsonschema.Draft7Validator.check_schema(schema)
        defaults = {k: v["default"] for k, v in policy.config_schema.properties.items() if "default" in v}
        jsonschema.validate(defaults, schema)


@pytest.mark.parametrize("stack", REPO_STACKS)
def test_repo_stacks_have_no_mandatory_violations_under_the_default_policy_config(stack_run, stack):
    run = stack_run(stack)
    # Every resource, the children pulumi-eks and awsx register included (launch template, node group, ...).
    assert run.by_type(EKS_CLUSTER) and run.by_type("aws:eks/nodeGroup:NodeGroup")
    violations = analyze(run, user_config=None)
    assert violations == []


def test_pack_entry_point_serves_every_policy_to_the_engine():
    # Start the pack the way the CLI's pulumi-analyzer-policy-python does (`python -u -m pulumi.policy
    # <engine> <pack dir>`, which runpy-runs policies/__main__.py) and ask the analyzer for its policies.
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(PACK_DIR)],
        cwd="/",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = server.stdout.readline().strip()
        assert port.isdigit(), f"pack did not start: {port!r} {server.stderr.read() if server.poll() else ''}"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            info = analyzer_pb2_grpc.AnalyzerStub(channel).GetAnalyzerInfo(empty_pb2.Empty(), timeout=10)
        assert info.name == "gpu-eks"
        assert [p.name for p in info.policies] == [p.name for p in ALL_POLICIES]
    finally:
        server.kill()
        server.wait(timeout=10)


# -- enforcement levels and properties come from the policy config --------------------------------------------------


@pytest.fixture
def untainted_gpu_stack(stack_run) -> list[Registration]:
    """dev with its GPU NodePool's taint removed (a mandatory violation under the default config)."""
    run = stack_run("dev")
    pool = edited(k8s_object(run, NODEPOOL, "inference"), lambda i: spec(i).pop("taints"))
    return replaced(run.resources, pool)


def taint_findings(violations):
    return [v for v in violations if v.policy == "gpu-nodepool-taint"]


def test_default_config_makes_the_taint_policy_mandatory(untainted_gpu_stack):
    findings = taint_findings(analyze(untainted_gpu_stack))
    assert [v.level for v in findings] == [EnforcementLevel.MANDATORY]
    assert 'NodePool "inference"' in findings[0].message


@pytest.mark.parametrize(
    "config, expected",
    [
        ({"gpu-nodepool-taint": "advisory"}, [EnforcementLevel.ADVISORY]),
        ({"gpu-nodepool-taint": {"enforcementLevel": "disabled"}}, []),
        ({"all": "advisory"}, [EnforcementLevel.ADVISORY]),
    ],
    ids=["level-string", "level-in-object", "all"],
)
def test_policy_config_overrides_the_enforcement_level(untainted_gpu_stack, config, expected):
    violations = analyze(untainted_gpu_stack, user_config=config)
    assert [v.level for v in taint_findings(violations)] == expected
    if "all" in config:
        assert mandatory(violations) == []


def test_policy_config_can_make_an_advisory_policy_mandatory(stack_run):
    run = stack_run("dev")
    pool = edited(k8s_object(run, NODEPOOL, "inference"), lambda i: i["spec"].pop("limits"))
    resources = replaced(run.resources, pool)
    by_default = [v for v in analyze(resources) if v.policy == "gpu-nodepool-gpu-limit"]
    assert [v.level for v in by_default] == [EnforcementLevel.ADVISORY]
    raised = analyze(resources, user_config={"gpu-nodepool-gpu-limit": "mandatory"})
    assert [v.policy for v in mandatory(raised)] == ["gpu-nodepool-gpu-limit"]


def test_policy_config_properties_reach_the_policy(run_with):
    # An endpoint explicitly open to the world: the config accepts it, the pack rejects it unless allowed.
    run = run_with("dev", endpoint={"publicAccessCidrs": ["0.0.0.0/0"]})
    # A set: the endpoint policy may report both the eks:index:Cluster and its aws:eks/cluster:Cluster child.
    assert {v.policy for v in mandatory(analyze(run))} == {"eks-public-endpoint-restricted"}
    allowed = analyze(run, user_config={"eks-public-endpoint-restricted": {"allowPublicEndpointFromAnywhere": True}})
    assert mandatory(allowed) == []


def test_effective_config_fills_schema_defaults_and_refuses_invalid_values():
    config = effective_config({"eks-audit-logging": {"requiredLogTypes": ["audit", "authenticator"]}})
    assert config["eks-audit-logging"] == {
        "enforcementLevel": "mandatory",
        "requiredLogTypes": ["audit", "authenticator"],
    }
    assert config["karpenter-resources-depend-on-crds"]["crdReleaseName"] == "karpenter-crd"
    with pytest.raises(jsonschema.ValidationError):
        effective_config({"eks-audit-logging": {"requiredLogTypes": ["audti"]}})
    with pytest.raises(ValueError):
        effective_config({"gpu-nodepool-taint": "strict"})


# == GPU cost and safety ===============================================================================================


def test_real_gpu_nodepools_carry_the_gpu_taint(stack_run):
    for stack in ("dev", "prod"):
        findings = check_all("gpu-nodepool-taint", stack_run(stack), NODEPOOL)
        assert findings and all(messages == [] for messages in findings.values()), findings


def test_gpu_nodepool_without_taint_is_rejected(stack_run):
    run = stack_run("dev")
    pool = edited(k8s_object(run, NODEPOOL, "inference"), lambda i: spec(i).pop("taints"))
    assert check("gpu-nodepool-taint", run, pool) == [
        'NodePool "inference" (Pulumi resource "gpu-inference") launches GPU nodes without the '
        "'nvidia.com/gpu:NoSchedule' taint, so ordinary pods can land on (and keep alive) expensive GPU instances. "
        "Add {key: nvidia.com/gpu, effect: NoSchedule} to spec.template.spec.taints; GPU pods tolerate it "
        "(the NVIDIA device plugin and GPU Operator do by default)."
    ]


def test_gpu_taint_with_a_softer_effect_is_rejected(stack_run):
    run = stack_run("prod")
    pool = edited(
        k8s_object(run, NODEPOOL, "training"),
        lambda i: spec(i).update(taints=[{"key": "nvidia.com/gpu", "effect": "PreferNoSchedule"}]),
    )
    assert "without the 'nvidia.com/gpu:NoSchedule' taint" in check("gpu-nodepool-taint", run, pool)[0]


def test_pool_that_asks_for_gpu_instances_without_the_gpu_label_still_needs_the_taint(stack_run):
    run = stack_run("dev")
    general = k8s_object(run, NODEPOOL, "general-amd64")
    assert check("gpu-nodepool-taint", run, general) == []

    def add_gpu_category(inputs):
        category = next(r for r in spec(inputs)["requirements"] if r["key"] == "karpenter.k8s.aws/instance-category")
        category["values"].append("g")

    [message] = check("gpu-nodepool-taint", run, edited(general, add_gpu_category))
    assert message.startswith('NodePool "general-amd64" (Pulumi resource "nodepools-general-amd64") launches GPU nodes')


def test_real_gpu_nodepools_have_gpu_limits(stack_run):
    for stack in ("dev", "prod"):
        assert all(m == [] for m in check_all("gpu-nodepool-gpu-limit", stack_run(stack), NODEPOOL).values())


def test_gpu_nodepool_without_gpu_limit_is_flagged(stack_run):
    run = stack_run("dev")
    pool = edited(k8s_object(run, NODEPOOL, "inference"), lambda i: i["spec"].update(limits={"cpu": "512"}))
    assert check("gpu-nodepool-gpu-limit", run, pool) == [
        'NodePool "inference" (Pulumi resource "gpu-inference") has no GPU limit (spec.limits has [\'cpu\']), so '
        "Karpenter may launch GPU instances without bound. Set spec.limits['nvidia.com/gpu'] (or "
        "'nvidia.com/mig-<profile>' for a MIG pool) to the most GPUs this pool may own."
    ]


def test_mig_limit_counts_as_a_gpu_limit(stack_run):
    run = stack_run("prod")
    pool = k8s_object(run, NODEPOOL, "mig-inference")
    assert list(pool.plain_inputs()["spec"]["limits"]) == ["nvidia.com/mig-1g.5gb"]
    assert check("gpu-nodepool-gpu-limit", run, pool) == []


def test_gpu_limit_above_the_configured_ceiling_is_flagged(stack_run):
    run = stack_run("dev")
    pool = k8s_object(run, NODEPOOL, "inference")  # limit "64" (16 GPUs x 4 time slices)
    assert check("gpu-nodepool-gpu-limit", run, pool, {"maxGpusPerNodePool": 64}) == []
    [message] = check("gpu-nodepool-gpu-limit", run, pool, {"maxGpusPerNodePool": 32})
    assert "allows 64 GPUs (spec.limits['nvidia.com/gpu']), more than this pack's maxGpusPerNodePool=32" in message


def test_real_mig_pool_uses_only_mig_capable_instances(stack_run):
    run = stack_run("prod")
    assert all(m == [] for m in check_all("mig-requires-mig-capable-instances", run, NODEPOOL).values())
    assert labels(k8s_object(run, NODEPOOL, "mig-inference").plain_inputs())["nvidia.com/mig.config"] == "all-1g.5gb"


def test_mig_pool_that_may_launch_a_gpu_without_mig_is_rejected(stack_run):
    run = stack_run("prod")
    pool = edited(
        k8s_object(run, NODEPOOL, "mig-inference"),
        lambda i: instance_types_requirement(i)["values"].append("g5.48xlarge"),
    )
    assert check("mig-requires-mig-capable-instances", run, pool) == [
        'NodePool "mig-inference" (Pulumi resource "gpu-mig-inference") sets nvidia.com/mig.config=all-1g.5gb but '
        'may launch instance types whose GPUs do not support MIG: "g5.48xlarge". Remove them from the '
        "'node.kubernetes.io/instance-type' requirement (MIG needs A100, H100, H200 or B200), or use "
        "time-slicing/MPS for those GPUs."
    ]


def test_mig_label_on_a_time_slicing_pool_of_non_mig_gpus_is_rejected(stack_run):
    run = stack_run("dev")
    pool = edited(
        k8s_object(run, NODEPOOL, "inference"), lambda i: labels(i).update({"nvidia.com/mig.config": "all-1g.5gb"})
    )
    [message] = check("mig-requires-mig-capable-instances", run, pool)
    assert "whose GPUs do not support MIG: " in message and '"g5.xlarge"' in message and '"g6.48xlarge"' in message


def test_mig_layout_the_gpu_does_not_offer_is_rejected(stack_run):
    run = stack_run("prod")
    # 1g.20gb is an A100-80GB/H100 profile; p4d.24xlarge carries A100-40GB.
    pool = edited(
        k8s_object(run, NODEPOOL, "mig-inference"), lambda i: labels(i).update({"nvidia.com/mig.config": "all-1g.20gb"})
    )
    [message] = check("mig-requires-mig-capable-instances", run, pool)
    assert 'sets nvidia.com/mig.config=all-1g.20gb, a MIG layout the GPUs of "p4d.24xlarge" do not have' in message
    # ...and lists what an A100-40GB does offer.
    assert "(all-1g.10gb, all-1g.5gb, all-1g.5gb.me, all-2g.10gb, all-3g.20gb, all-4g.20gb, all-7g.40gb)" in message


def test_mig_pool_without_an_instance_type_requirement_is_rejected(stack_run):
    run = stack_run("prod")

    def drop_types(inputs):
        spec(inputs)["requirements"] = [
            r for r in spec(inputs)["requirements"] if r["key"] != "node.kubernetes.io/instance-type"
        ]

    [message] = check(
        "mig-requires-mig-capable-instances", run, edited(k8s_object(run, NODEPOOL, "mig-inference"), drop_types)
    )
    assert "without a 'node.kubernetes.io/instance-type In [...]' requirement" in message


def test_real_nvidia_releases_keep_sharing_replicas_in_range(stack_run):
    for stack, name in (("dev", "nvidia-device-plugin"), ("prod", "gpu-operator")):
        run = stack_run(stack)
        assert check("gpu-sharing-replicas-in-range", run, release(run, name)) == []


def _edit_config(chart_values_path: tuple[str, ...], name: str, text: str) -> Callable[[dict], None]:
    def edit(inputs):
        target = inputs["values"]
        for step in chart_values_path:
            target = target[step]
        target[name] = text

    return edit


def test_time_slicing_with_one_replica_is_rejected(stack_run):
    run = stack_run("dev")
    plugin = release(run, "nvidia-device-plugin")
    text = plugin.plain_inputs()["values"]["config"]["map"]["time-slicing-4"].replace("replicas: 4", "replicas: 1")
    bad = edited(plugin, _edit_config(("config", "map"), "time-slicing-4", text))
    assert check("gpu-sharing-replicas-in-range", run, bad) == [
        'Helm release "nvidia-device-plugin" (Pulumi resource "gpu-nvidia-device-plugin"): device-plugin config '
        "'time-slicing-4': sharing.timeSlicing replicas for nvidia.com/gpu is 1; it must be at least 2. The plugin "
        "rejects fewer than 2 replicas and MPS supports at most 48 clients per GPU; fix the pool's replicas in "
        "gpu-eks:gpuNodePools."
    ]


def test_mps_beyond_the_client_limit_is_rejected_in_the_gpu_operator_chart(stack_run):
    run = stack_run("prod")
    operator = release(run, "gpu-operator")
    text = yaml.safe_dump(
        {
            "version": "v1",
            "sharing": {"mps": {"resources": [{"name": "nvidia.com/gpu", "replicas": MPS_MAX_REPLICAS + 16}]}},
        }
    )
    [message] = check(
        "gpu-sharing-replicas-in-range",
        run,
        edited(operator, _edit_config(("devicePlugin", "config", "data"), "mps-64", text)),
    )
    assert (
        "device-plugin config 'mps-64': sharing.mps replicas for nvidia.com/gpu is 64; it must be between 2 and 48"
        in message
    )


def test_unparsable_device_plugin_config_is_rejected(stack_run):
    run = stack_run("dev")
    bad = edited(release(run, "nvidia-device-plugin"), _edit_config(("config", "map"), "broken", "sharing: [unclosed"))
    [message] = check("gpu-sharing-replicas-in-range", run, bad)
    assert "device-plugin config 'broken' is not valid YAML" in message


def test_time_slicing_above_the_configured_ceiling_is_rejected(stack_run):
    run = stack_run("dev")
    plugin = release(run, "nvidia-device-plugin")
    assert check("gpu-sharing-replicas-in-range", run, plugin, {"maxTimeSlicingReplicas": 4}) == []
    [message] = check("gpu-sharing-replicas-in-range", run, plugin, {"maxTimeSlicingReplicas": 3})
    assert "sharing.timeSlicing replicas for nvidia.com/gpu is 4; it must be between 2 and 3" in message


def test_every_config_a_real_pool_selects_exists_in_its_nvidia_release(stack_run):
    for stack in ("dev", "prod"):
        assert check_stack("gpu-sharing-config-exists", stack_run(stack).resources) == []


def test_pool_selecting_a_missing_device_plugin_config_is_rejected(stack_run):
    run = stack_run("dev")
    pool = edited(
        k8s_object(run, NODEPOOL, "inference"),
        lambda i: labels(i).update({"nvidia.com/device-plugin.config": "time-slicing-8"}),
    )
    assert check_stack("gpu-sharing-config-exists", replaced(run.resources, pool)) == [
        (
            'NodePool "inference" (Pulumi resource "gpu-inference") selects device-plugin config \'time-slicing-8\' '
            '(nvidia.com/device-plugin.config) but the NVIDIA release(s) define "default", "time-slicing-4"; the '
            "plugin's config-manager fails on such nodes and no GPU is advertised. Add the config to the release "
            "values or fix the label.",
            pool.urn,
        )
    ]


def test_mig_pool_without_mig_manager_is_rejected(stack_run):
    run = stack_run("prod")
    operator = edited(release(run, "gpu-operator"), lambda i: i["values"]["migManager"].update(enabled=False))
    [(message, urn)] = check_stack("gpu-sharing-config-exists", replaced(run.resources, operator))
    assert urn == k8s_object(run, NODEPOOL, "mig-inference").urn
    assert (
        "asks for MIG layout 'all-1g.5gb' (nvidia.com/mig.config) but the stack has no GPU Operator release "
        "with MIG Manager enabled" in message
    )


# == Helm releases and install order ===================================================================================


def test_real_karpenter_objects_wait_for_the_crd_release(stack_run):
    for stack in ("dev", "prod"):
        run = stack_run(stack)
        assert run.by_type(NODE_OVERLAY), "GPU pools with sharing render NodeOverlays"
        assert check_stack("karpenter-resources-depend-on-crds", run.resources) == []


def test_karpenter_object_without_the_crd_dependency_is_rejected(stack_run):
    run = stack_run("dev")
    overlay = k8s_object(run, NODE_OVERLAY, "inference-1gpu")
    orphan = edited(
        overlay,
        dependencies=[u for u in overlay.dependencies if not u.endswith(("::karpenter-crd", "::karpenter-controller"))],
    )
    assert check_stack("karpenter-resources-depend-on-crds", replaced(run.resources, orphan)) == [
        (
            'NodeOverlay "inference-1gpu" (Pulumi resource "gpu-inference-1gpu-overlay") does not depend on the '
            "'karpenter-crd' Helm release, so Pulumi may apply it before its CRD exists (and delete the CRD first on "
            "destroy). Pass depends_on=[<karpenter-crd release>] (or a resource that depends on it) in its "
            "ResourceOptions.",
            overlay.urn,
        )
    ]


def test_dependency_through_the_controller_release_is_enough(stack_run):
    run = stack_run("dev")
    pool = k8s_object(run, NODEPOOL, "general-amd64")
    controller = release(run, "karpenter")
    crd = release(run, "karpenter-crd")
    assert crd.urn in controller.dependencies
    via_controller = edited(pool, dependencies=[controller.urn])
    assert check_stack("karpenter-resources-depend-on-crds", replaced(run.resources, via_controller)) == []


def test_karpenter_objects_without_any_crd_release_are_rejected(stack_run):
    run = stack_run("dev")
    without_crd = [r for r in run.resources if r.urn != release(run, "karpenter-crd").urn]
    messages = only_messages(check_stack("karpenter-resources-depend-on-crds", without_crd))
    assert len(messages) == len([r for r in run.resources if r.type.startswith("kubernetes:karpenter")])
    assert "the stack has no Helm release named 'karpenter-crd' to install its CRD" in messages[0]
    # The release name is configurable.
    renamed = only_messages(
        check_stack("karpenter-resources-depend-on-crds", run.resources, {"crdReleaseName": "crds"})
    )
    assert renamed and "no Helm release named 'crds'" in renamed[0]


def test_real_releases_pin_exact_chart_versions(stack_run):
    versions = set()
    for stack in ("dev", "prod"):
        run = stack_run(stack)
        assert all(m == [] for m in check_all("helm-chart-version-pinned", run, RELEASE).values())
        versions |= {r.plain_inputs()["version"] for r in run.by_type(RELEASE)}
    assert "v26.7.0" in versions  # the GPU Operator's "v"-prefixed versions count as exact


def test_release_without_a_version_is_rejected(stack_run):
    run = stack_run("dev")
    unpinned = edited(release(run, "karpenter-crd"), lambda i: i.pop("version"))
    assert check("helm-chart-version-pinned", run, unpinned) == [
        'Helm release "karpenter-crd" (chart oci://public.ecr.aws/karpenter/karpenter-crd) pins no chart version, '
        "so every preview may install whatever the repository serves as newest. Set `version` to an exact release "
        'such as "1.14.1" (components/versions.py holds the project\'s pins).'
    ]


@pytest.mark.parametrize(
    "version", ["latest", "^1.14.1", "~1.14", "1.14.x", "1.*", ">=1.14.0", "1.14", "1.14.1 || 1.15.0"]
)
def test_release_with_a_version_range_is_rejected(stack_run, version):
    run = stack_run("dev")
    ranged = edited(release(run, "nvidia-device-plugin"), lambda i: i.update(version=version))
    [message] = check("helm-chart-version-pinned", run, ranged)
    assert f"asks for version {version!r}, a range or tag rather than one release" in message


# == security ==========================================================================================================


def test_real_cluster_encrypts_secrets(stack_run):
    run = stack_run("prod")
    component = run.one(EKS)
    assert check("eks-secrets-encryption", run, component) == []
    assert check("eks-secrets-encryption", run, run.one(EKS_CLUSTER)) == []


def test_cluster_without_secrets_encryption_is_rejected(stack_run):
    run = stack_run("dev")
    plain_cluster = edited(run.one(EKS), lambda i: i.pop("encryptionConfigKeyArn"))
    assert check("eks-secrets-encryption", run, plain_cluster) == [
        'Cluster "cluster-eks" (eks:index:Cluster) does not envelope-encrypt Kubernetes Secrets with a KMS key. '
        "Set encryption_config_key_arn (pulumi-eks) or encryption_config={provider: {key_arn}, resources: "
        "['secrets']} (aws.eks.Cluster) to a customer-managed KMS key with rotation enabled."
    ]
    # The cluster pulumi-eks registers for such a component has no encryptionConfig at all.
    unencrypted = edited(run.one(EKS_CLUSTER), lambda i: i.pop("encryptionConfig"))
    [message] = check("eks-secrets-encryption", run, unencrypted)
    assert message.startswith('Cluster "cluster-eks-eksCluster" (aws:eks/cluster:Cluster) does not envelope-encrypt')


def test_aws_cluster_encrypting_something_other_than_secrets_is_rejected(stack_run):
    run = stack_run("dev")
    child = edited(run.one(EKS_CLUSTER), lambda i: i["encryptionConfig"].update(resources=[]))
    [message] = check("eks-secrets-encryption", run, child)
    assert "does not list 'secrets' in encryptionConfig.resources" in message


def test_key_created_in_the_same_preview_counts_as_encryption(stack_run):
    run = stack_run("dev")
    cluster = run.one(EKS)
    preview = {**cluster.plain_inputs(), "encryptionConfigKeyArn": UNKNOWN_STRING_VALUE}
    assert check("eks-secrets-encryption", run, cluster, props=preview) == []


def test_real_cluster_ships_audit_logs(stack_run):
    run = stack_run("dev")
    assert check("eks-audit-logging", run, run.one(EKS)) == []
    assert check("eks-audit-logging", run, run.one(EKS_CLUSTER)) == []


def test_cluster_without_audit_logs_is_rejected(run_with):
    run = run_with("dev", clusterLogTypes=["api", "authenticator"])
    assert check("eks-audit-logging", run, run.one(EKS)) == [
        'Cluster "cluster-eks" (eks:index:Cluster) does not send "audit" control-plane logs to CloudWatch '
        "(enabledClusterLogTypes=['api', 'authenticator']). Add them to enabled_cluster_log_types "
        "(gpu-eks:clusterLogTypes in the stack config) so API access can be investigated."
    ]


def test_required_log_types_are_configurable(stack_run, run_with):
    run = run_with("dev", clusterLogTypes=["audit"])
    [message] = check("eks-audit-logging", run, run.one(EKS), {"requiredLogTypes": ["audit", "authenticator"]})
    assert 'does not send "authenticator" control-plane logs' in message


def test_real_public_endpoints_are_limited_to_known_ranges(stack_run):
    for stack in ("dev", "prod"):
        run = stack_run(stack)
        assert run.one(EKS).plain_inputs()["endpointPublicAccess"] is True
        assert check("eks-public-endpoint-restricted", run, run.one(EKS)) == []
        assert check("eks-public-endpoint-restricted", run, run.one(EKS_CLUSTER)) == []


def test_public_endpoint_open_to_the_world_is_rejected(run_with):
    run = run_with("dev", endpoint={"publicAccessCidrs": ["0.0.0.0/0"]})  # explicitly open to the world
    assert check("eks-public-endpoint-restricted", run, run.one(EKS)) == [
        'Cluster "cluster-eks" (eks:index:Cluster) opens its public API endpoint to "0.0.0.0/0". Set '
        "gpu-eks:endpoint.publicAccessCidrs to your office/VPN ranges, or turn the public endpoint off "
        "(gpu-eks:endpoint.publicAccess: false); if a world-open endpoint is intended, set "
        "allowPublicEndpointFromAnywhere: true for this policy in the policy pack config."
    ]
    assert check("eks-public-endpoint-restricted", run, run.one(EKS), {"allowPublicEndpointFromAnywhere": True}) == []


def test_public_endpoint_without_cidrs_is_rejected_because_eks_defaults_to_anywhere(stack_run):
    run = stack_run("dev")
    # endpointPublicAccess absent too: pulumi-eks and EKS both default it to true.
    cluster = edited(run.one(EKS), lambda i: (i.pop("publicAccessCidrs"), i.pop("endpointPublicAccess")))
    [message] = check("eks-public-endpoint-restricted", run, cluster)
    assert "has a public API endpoint and no publicAccessCidrs, which EKS opens to 0.0.0.0/0" in message
    child = edited(run.one(EKS_CLUSTER), lambda i: i["vpcConfig"].update(publicAccessCidrs=["::/0"]))
    [message] = check("eks-public-endpoint-restricted", run, child)
    assert 'opens its public API endpoint to "::/0"' in message


def test_private_only_endpoint_passes(run_with):
    run = run_with("dev", endpoint={"publicAccess": False})
    assert run.one(EKS).plain_inputs()["endpointPublicAccess"] is False
    assert check("eks-public-endpoint-restricted", run, run.one(EKS)) == []


def test_real_node_classes_require_imdsv2(stack_run):
    for stack in ("dev", "prod"):
        findings = check_all("ec2nodeclass-imdsv2-required", stack_run(stack), NODE_CLASS)
        assert len(findings) >= 2 and all(m == [] for m in findings.values())


@pytest.mark.parametrize("tokens, found", [("optional", "is 'optional'"), (None, "is unset")])
def test_node_class_allowing_imdsv1_is_rejected(stack_run, tokens, found):
    run = stack_run("prod")

    def set_tokens(inputs):
        options = inputs["spec"]["metadataOptions"]
        options.pop("httpTokens")
        if tokens:
            options["httpTokens"] = tokens

    bad = edited(k8s_object(run, NODE_CLASS, "gpu-training"), set_tokens)
    assert check("ec2nodeclass-imdsv2-required", run, bad) == [
        f'EC2NodeClass "gpu-training" (Pulumi resource "gpu-training-nodeclass"): spec.metadataOptions.httpTokens '
        f'{found}. Set it to "required" (IMDSv2 only) with httpPutResponseHopLimit 1, so pods cannot use the node '
        f"role's credentials through IMDSv1; pinning it explicitly keeps a CRD default change from weakening it."
    ]


def test_controller_node_group_without_imdsv2_is_flagged(stack_run):
    run = stack_run("dev")
    group = run.one("eks:index:ManagedNodeGroup")
    assert check("managed-node-group-imdsv2", run, group) == []
    without = edited(group, lambda i: (i.pop("launchTemplate", None), i.pop("enableIMDSv2", None)))
    assert check("managed-node-group-imdsv2", run, without) == [
        'ManagedNodeGroup "cluster-controller" (eks:index:ManagedNodeGroup) does not set enableIMDSv2 (pulumi-eks '
        "defaults it to false) and passes no launchTemplate, so its nodes may answer IMDSv1 requests. Pass a "
        "launch_template that requires IMDSv2 with hop limit 1 (enable_imd_sv2=True alone makes pulumi-eks build "
        "one with hop limit 2 and an unencrypted root volume)."
    ]
    # A launch template created in the same preview (reference unknown) is the template policies' business.
    assert (
        check(
            "managed-node-group-imdsv2",
            run,
            without,
            props={**without.plain_inputs(), "launchTemplate": UNKNOWN_STRING_VALUE},
        )
        == []
    )


# -- launch templates and node groups (issue 9 item 4) -----------------------------------------------------------------

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def pulumi_eks_template(inputs: dict) -> None:
    """Turn a launch template into the one pulumi-eks v4.3.0 builds for enable_imd_sv2=True, disk_size=50
    (nodegroup.ts createMNGCustomLaunchTemplate): hop limit 2, root volume with only a size."""
    inputs["metadataOptions"] = {"httpTokens": "required", "httpPutResponseHopLimit": 2, "httpEndpoint": "enabled"}
    inputs["blockDeviceMappings"] = [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 50}}]


def test_new_policies_are_mandatory_except_the_volume_type():
    levels = {p.name: p.enforcement_level for p in ALL_POLICIES}
    for name in ("launch-template-imdsv2", "launch-template-volumes-encrypted", "node-group-secure-launch-template"):
        assert levels[name] == EnforcementLevel.MANDATORY
    assert levels["launch-template-volumes-gp3"] == EnforcementLevel.ADVISORY
    assert isinstance(POLICIES["node-group-secure-launch-template"], StackValidationPolicy)


@pytest.mark.parametrize("stack", REPO_STACKS)
def test_real_launch_templates_and_node_groups_pass(stack_run, stack):
    run = stack_run(stack)
    assert run.by_type(LAUNCH_TEMPLATE) and run.by_type(NODE_GROUP)
    for policy in ("launch-template-imdsv2", "launch-template-volumes-encrypted", "launch-template-volumes-gp3"):
        assert all(m == [] for m in check_all(policy, run, LAUNCH_TEMPLATE).values()), policy
    assert check_stack("node-group-secure-launch-template", run.resources) == []


def test_launch_template_allowing_pods_to_reach_imds_is_rejected(stack_run):
    run = stack_run("dev")
    template = run.one(LAUNCH_TEMPLATE)
    bad = edited(template, pulumi_eks_template)
    assert check("launch-template-imdsv2", run, bad) == [
        'LaunchTemplate "cluster-controller-launch-template" (aws:ec2/launchTemplate:LaunchTemplate): '
        "metadataOptions.httpPutResponseHopLimit is 2 (more than 1 lets pods reach IMDS). Fix: set metadataOptions "
        "{httpTokens: required, httpPutResponseHopLimit: 1} so only the node itself, not its pods, can read the "
        "node role's credentials from IMDS."
    ]
    # The hop limit is configurable (a team that runs no pods on the host network may accept 2).
    assert check("launch-template-imdsv2", run, bad, {"maxHopLimit": 2}) == []
    no_options = edited(template, lambda i: i.pop("metadataOptions"))
    [message] = check("launch-template-imdsv2", run, no_options)
    assert (
        "metadataOptions.httpTokens is unset (IMDSv1 allowed); metadataOptions.httpPutResponseHopLimit is "
        "unset (more than 1 lets pods reach IMDS)"
    ) in message
    imds_off = edited(template, lambda i: i["metadataOptions"].update(httpEndpoint="disabled", httpTokens="optional"))
    assert check("launch-template-imdsv2", run, imds_off) == []


def test_launch_template_with_an_unencrypted_or_undeclared_root_volume_is_rejected(stack_run):
    run = stack_run("dev")
    template = run.one(LAUNCH_TEMPLATE)
    assert check("launch-template-volumes-encrypted", run, edited(template, pulumi_eks_template)) == [
        'LaunchTemplate "cluster-controller-launch-template" (aws:ec2/launchTemplate:LaunchTemplate) block device '
        "/dev/xvda is not encrypted (ebs.encrypted is unset). Declare every EBS block device (the root one is "
        "/dev/xvda on AL2023) with ebs.encrypted: true."
    ]
    explicit_false = edited(template, lambda i: i["blockDeviceMappings"][0]["ebs"].update(encrypted="false"))
    [message] = check("launch-template-volumes-encrypted", run, explicit_false)
    assert "block device /dev/xvda is not encrypted (ebs.encrypted is 'false')" in message
    [message] = check(
        "launch-template-volumes-encrypted", run, edited(template, lambda i: i.pop("blockDeviceMappings"))
    )
    assert "declares no blockDeviceMappings, so the root volume follows the AMI snapshot" in message


def test_launch_template_volume_other_than_gp3_is_advised_against(stack_run):
    run = stack_run("dev")
    template = run.one(LAUNCH_TEMPLATE)
    assert check("launch-template-volumes-gp3", run, edited(template, pulumi_eks_template)) == [
        'LaunchTemplate "cluster-controller-launch-template" (aws:ec2/launchTemplate:LaunchTemplate): block device '
        "/dev/xvda leaves volumeType unset (the AMI snapshot's type applies). Use gp3: 3000 IOPS and 125 MB/s at "
        "any size, about 20% cheaper per GiB than gp2."
    ]
    gp2 = edited(template, lambda i: i["blockDeviceMappings"][0]["ebs"].update(volumeType="gp2"))
    [message] = check("launch-template-volumes-gp3", run, gp2)
    assert "uses volumeType 'gp2'" in message


def test_node_group_launched_from_a_weak_template_is_rejected(stack_run):
    run = stack_run("dev")
    weak = edited(run.one(LAUNCH_TEMPLATE), pulumi_eks_template)
    group = run.one(NODE_GROUP)
    assert check_stack("node-group-secure-launch-template", replaced(run.resources, weak)) == [
        (
            'NodeGroup "cluster-controller" (aws:eks/nodeGroup:NodeGroup) launches its nodes from LaunchTemplate '
            '"cluster-controller-launch-template" (aws:ec2/launchTemplate:LaunchTemplate), which '
            "metadataOptions.httpPutResponseHopLimit is 2 (more than 1 lets pods reach IMDS); block device /dev/xvda "
            "is not encrypted (ebs.encrypted is unset). Fix the template: set metadataOptions {httpTokens: required, "
            "httpPutResponseHopLimit: 1} so only the node itself, not its pods, can read the node role's credentials "
            "from IMDS, and set ebs.encrypted: true on every block device.",
            group.urn,
        )
    ]


def test_node_group_without_a_checkable_template_is_rejected(stack_run):
    run = stack_run("dev")
    group = run.one(NODE_GROUP)
    no_template = edited(group, lambda i: i.pop("launchTemplate"))
    [(message, urn)] = check_stack("node-group-secure-launch-template", replaced(run.resources, no_template))
    assert urn == group.urn
    assert message.startswith(
        'NodeGroup "cluster-controller" (aws:eks/nodeGroup:NodeGroup) has no launch template, '
        "so its nodes get EKS's default IMDS and volume settings"
    )
    template_urn = run.one(LAUNCH_TEMPLATE).urn
    external = edited(group, dependencies=[d for d in group.dependencies if d != template_urn])
    [(message, _)] = check_stack("node-group-secure-launch-template", replaced(run.resources, external))
    assert "uses a launch template that is not part of this stack" in message


def test_launch_template_policies_never_fail_on_a_first_preview(stack_run):
    from preflight.model.harness import run_stack

    preview = run_stack("dev", preview=True)
    template = preview.one(LAUNCH_TEMPLATE)
    for policy in ("launch-template-imdsv2", "launch-template-volumes-encrypted", "launch-template-volumes-gp3"):
        assert check(policy, preview, template) == []
    assert check_stack("node-group-secure-launch-template", preview.resources) == []
    assert mandatory(analyze(preview)) == []


def test_real_node_volumes_are_encrypted(stack_run):
    for stack in ("dev", "prod"):
        assert all(m == [] for m in check_all("ebs-volumes-encrypted", stack_run(stack), NODE_CLASS).values())


def test_unencrypted_node_volume_is_rejected(stack_run):
    run = stack_run("dev")
    bad = edited(
        k8s_object(run, NODE_CLASS, "gpu-inference"),
        lambda i: i["spec"]["blockDeviceMappings"][0]["ebs"].update(encrypted=False),
    )
    assert check("ebs-volumes-encrypted", run, bad) == [
        'EC2NodeClass "gpu-inference" (Pulumi resource "gpu-inference-nodeclass"): block device /dev/xvda '
        "(spec.blockDeviceMappings[0]) is not encrypted. Set ebs.encrypted: true (and ebs.kmsKeyID for a "
        "customer-managed key)."
    ]


def test_custom_ami_node_class_without_block_devices_is_rejected(stack_run):
    run = stack_run("dev")

    def custom_ami(inputs):
        inputs["spec"].pop("blockDeviceMappings")
        inputs["spec"]["amiFamily"] = "Custom"

    default_ami = edited(k8s_object(run, NODE_CLASS, "default"), lambda i: i["spec"].pop("blockDeviceMappings"))
    assert check("ebs-volumes-encrypted", run, default_ami) == []  # Karpenter's AL2023 defaults are encrypted
    [message] = check("ebs-volumes-encrypted", run, edited(k8s_object(run, NODE_CLASS, "default"), custom_ami))
    assert "uses amiFamily Custom without blockDeviceMappings" in message


def test_unencrypted_ebs_volume_is_rejected(stack_run):
    # The program creates no standalone volume; this one has pulumi_aws.ebs.Volume's input names.
    run = stack_run("dev")
    volume = Registration(
        urn="urn:pulumi:dev::gpu-eks::aws:ebs/volume:Volume::scratch",
        type="aws:ebs/volume:Volume",
        name="scratch",
        custom=True,
        parent_urn=None,
        inputs={"availabilityZone": "us-west-2a", "size": 100, "type": "gp3"},
        outputs={},
        dependencies=[],
        provider_urn=None,
        resource_id=None,
    )
    assert check("ebs-volumes-encrypted", run, volume) == [
        'Volume "scratch" (aws:ebs/volume:Volume) is not encrypted. Set encrypted=True (optionally kms_key_id) on the '
        "volume."
    ]
    assert check("ebs-volumes-encrypted", run, edited(volume, lambda i: i.update(encrypted=True))) == []


def test_the_prometheus_storage_class_is_encrypted_and_an_unencrypted_one_is_rejected(stack_run):
    run = stack_run("dev")
    storage_class = run.one("kubernetes:storage.k8s.io/v1:StorageClass")
    assert check("ebs-storage-class-encrypted", run, storage_class) == []
    plain = edited(storage_class, lambda i: i["parameters"].pop("encrypted"))
    assert check("ebs-storage-class-encrypted", run, plain) == [
        'StorageClass "gp3-encrypted" provisions EBS volumes without encryption. Set parameters.encrypted: "true" '
        "(and kmsKeyId for a customer-managed key); every volume it makes (Prometheus' data) inherits it."
    ]
    assert (
        check("ebs-storage-class-encrypted", run, edited(plain, lambda i: i.update(provisioner="efs.csi.aws.com")))
        == []
    )


def test_the_amp_roles_grant_no_wildcard_action(stack_run):
    run = stack_run("prod")
    for name in ("observability-prometheus-amp", "observability-grafana-amp"):
        assert check("iam-no-wildcard-actions", run, run.one("aws:iam/rolePolicy:RolePolicy", name)) == []
    widened = edited(
        run.one("aws:iam/rolePolicy:RolePolicy", "observability-prometheus-amp"),
        lambda i: i.update(policy=i["policy"].replace('"aps:RemoteWrite"', '"aps:*"')),
    )
    assert len(check("iam-no-wildcard-actions", run, widened)) == 1


def test_real_interruption_queue_is_encrypted(stack_run):
    run = stack_run("dev")
    assert check("sqs-queue-encrypted", run, run.one(QUEUE)) == []
    kms = edited(run.one(QUEUE), lambda i: (i.pop("sqsManagedSseEnabled"), i.update(kmsMasterKeyId="alias/aws/sqs")))
    assert check("sqs-queue-encrypted", run, kms) == []


def test_unencrypted_queue_is_rejected(stack_run):
    run = stack_run("dev")
    plain_queue = edited(run.one(QUEUE), lambda i: i.pop("sqsManagedSseEnabled"))
    assert check("sqs-queue-encrypted", run, plain_queue) == [
        'Queue "karpenter-interruption-queue" (aws:sqs/queue:Queue) is not encrypted at rest. Set '
        "sqs_managed_sse_enabled=True (SSE-SQS) or kms_master_key_id to a KMS key."
    ]


def test_real_interruption_queue_denies_plain_http(stack_run):
    for stack in ("dev", "prod"):
        assert check_stack("sqs-queue-tls-only", stack_run(stack).resources) == []


def _without_tls_statement(inputs):
    document = json.loads(inputs["policy"])
    document["Statement"] = [s for s in document["Statement"] if s.get("Effect") != "Deny"]
    inputs["policy"] = json.dumps(document)


def test_queue_whose_policy_allows_plain_http_is_rejected(stack_run):
    run = stack_run("dev")
    weak = edited(run.one(QUEUE_POLICY), _without_tls_statement)
    assert check_stack("sqs-queue-tls-only", replaced(run.resources, weak)) == [
        (
            'Queue "karpenter-interruption-queue" (aws:sqs/queue:Queue) accepts requests over plain HTTP: neither its '
            "policy nor an attached aws.sqs.QueuePolicy denies them. Add a statement {Effect: Deny, Principal: '*', "
            "Action: 'sqs:*', Resource: <queue ARN>, Condition: {Bool: {'aws:SecureTransport': 'false'}}}.",
            run.one(QUEUE).urn,
        )
    ]


def test_queue_without_any_policy_is_rejected_and_an_inline_policy_also_counts(stack_run):
    run = stack_run("dev")
    queue_policy = run.one(QUEUE_POLICY)
    without = [r for r in run.resources if r.urn != queue_policy.urn]
    assert len(check_stack("sqs-queue-tls-only", without)) == 1
    inline = edited(run.one(QUEUE), lambda i: i.update(policy=queue_policy.plain_inputs()["policy"]))
    assert check_stack("sqs-queue-tls-only", replaced(without, inline)) == []


def test_deny_that_only_covers_some_actions_does_not_count(stack_run):
    run = stack_run("dev")

    def narrow(inputs):
        document = json.loads(inputs["policy"])
        for statement in document["Statement"]:
            if statement.get("Effect") == "Deny":
                statement["Action"] = "sqs:SendMessage"
        inputs["policy"] = json.dumps(document)

    assert len(check_stack("sqs-queue-tls-only", replaced(run.resources, edited(run.one(QUEUE_POLICY), narrow)))) == 1


def test_real_iam_policies_grant_no_wildcard_actions(stack_run):
    for stack in ("dev", "prod"):
        run = stack_run(stack)
        for type_token in (IAM_POLICY, "aws:iam/role:Role"):
            findings = check_all("iam-no-wildcard-actions", run, type_token)
            assert findings and all(m == [] for m in findings.values()), findings


def _set_first_action(action: Any) -> Callable[[dict], None]:
    def edit(inputs):
        document = json.loads(inputs["policy"])
        document["Statement"][0]["Action"] = action
        inputs["policy"] = json.dumps(document)

    return edit


def test_iam_policy_allowing_every_action_is_rejected(stack_run):
    run = stack_run("dev")
    policy = next(p for p in run.by_type(IAM_POLICY) if p.name == "karpenter-interruption-policy")
    assert check("iam-no-wildcard-actions", run, edited(policy, _set_first_action("*"))) == [
        'Policy "karpenter-interruption-policy" (aws:iam/policy:Policy): policy statement '
        'AllowInterruptionQueueActions allows "*". Grant the specific actions the workload needs (as Karpenter\'s '
        "upstream policies do); wildcards let a compromised pod do anything the service allows."
    ]


def test_iam_policy_allowing_a_whole_service_is_rejected_unless_configured(stack_run):
    run = stack_run("dev")
    policy = next(p for p in run.by_type(IAM_POLICY) if p.name == "karpenter-interruption-policy")
    service_wide = edited(policy, _set_first_action(["sqs:ReceiveMessage", "SQS:*"]))
    [message] = check("iam-no-wildcard-actions", run, service_wide)
    assert 'statement AllowInterruptionQueueActions allows "SQS:*"' in message
    assert check("iam-no-wildcard-actions", run, service_wide, {"allowedWildcardActions": ["sqs:*"]}) == []
    partial = edited(policy, _set_first_action("sqs:Receive*"))
    assert check("iam-no-wildcard-actions", run, partial) == []


def test_allow_with_not_action_is_rejected(stack_run):
    run = stack_run("dev")
    policy = next(p for p in run.by_type(IAM_POLICY) if p.name == "karpenter-zonal-shift-policy")

    def not_action(inputs):
        document = json.loads(inputs["policy"])
        document["Statement"][0]["NotAction"] = document["Statement"][0].pop("Action")
        inputs["policy"] = json.dumps(document)

    [message] = check("iam-no-wildcard-actions", run, edited(policy, not_action))
    assert "allows NotAction ['arc-zonal-shift:GetManagedResource'] (every other action)" in message


def test_role_inline_policy_with_wildcards_is_rejected(stack_run):
    run = stack_run("dev")
    role = run.one("aws:iam/role:Role", "karpenter-controller-role")
    inline = {
        "name": "debug",
        "policy": json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}
        ),
    }
    [message] = check("iam-no-wildcard-actions", run, edited(role, lambda i: i.update(inlinePolicies=[inline])))
    assert message.startswith(
        'Role "karpenter-controller-role" (aws:iam/role:Role): inline policy \'debug\' statement #0 allows "ec2:*"'
    )


def test_policy_that_is_not_json_is_rejected(stack_run):
    run = stack_run("dev")
    policy = next(p for p in run.by_type(IAM_POLICY) if p.name == "karpenter-interruption-policy")
    [message] = check("iam-no-wildcard-actions", run, edited(policy, lambda i: i.update(policy="{not json")))
    assert "policy is not a JSON policy document, so it cannot be checked" in message


# == preview: values computed from resources not created yet ===========================================================


def _unknown_leaves(value: Any) -> Any:
    """Every scalar replaced by the engine's unknown-string sentinel (an all-unknown preview)."""
    if isinstance(value, dict):
        return {k: _unknown_leaves(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unknown_leaves(v) for v in value]
    return UNKNOWN_STRING_VALUE


@pytest.mark.parametrize(
    "policy", [p for p in ALL_POLICIES if isinstance(p, ResourceValidationPolicy)], ids=lambda p: p.name
)
def test_resource_policies_never_fail_on_unknown_values(stack_run, policy):
    run = stack_run("prod")
    for registration in run.resources:
        inputs = registration.plain_inputs()
        known = resource_violations(policy, run, registration)
        variants = [_unknown_leaves(inputs)] + [{**inputs, key: UNKNOWN_STRING_VALUE} for key in inputs]
        for props in variants:
            # Unknown means "not known yet", never "wrong": no crash, and no violation the known values lack.
            found = resource_violations(policy, run, registration, props=props)
            assert len(found) <= len(known), (registration.name, props, found)


@pytest.mark.parametrize(
    "policy", [p for p in ALL_POLICIES if isinstance(p, StackValidationPolicy)], ids=lambda p: p.name
)
def test_stack_policies_never_fail_on_unknown_values(stack_run, policy):
    run = stack_run("prod")
    unknown = [
        edited(
            r, lambda i: i.update({k: UNKNOWN_STRING_VALUE for k in i if k not in ("apiVersion", "kind", "metadata")})
        )
        for r in run.resources
    ]
    assert stack_violations(policy, unknown) == []


# == reserved capacity, warm slices, team taints, RAID0 (issue 11) ==================================================

CAPACITY_BUFFER = "kubernetes:autoscaling.x-k8s.io/v1beta1:CapacityBuffer"


@pytest.mark.parametrize("variant", ["reserved-training", "warm-team-pools"])
def test_the_capacity_options_pass_the_pack_under_the_default_config(stack_or_variant_run, variant):
    assert analyze(stack_or_variant_run(variant), user_config=None) == []


def test_a_capacity_buffer_without_the_crd_dependency_is_rejected(stack_or_variant_run):
    # Its CRD comes with the karpenter-crd release too, so the ordering policy covers it.
    run = stack_or_variant_run("warm-team-pools")
    buffer = k8s_object(run, CAPACITY_BUFFER, "gpu-eks-warm-chat")
    assert check_stack("karpenter-resources-depend-on-crds", run.resources) == []
    orphan = edited(buffer, dependencies=[])
    ((message, urn),) = check_stack("karpenter-resources-depend-on-crds", replaced(run.resources, orphan))
    assert urn == buffer.urn
    assert message.startswith('CapacityBuffer "gpu-eks-warm-chat" (Pulumi resource "gpu-chat-warm") does not depend')
