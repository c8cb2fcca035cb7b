"""The pull-request impact summary (tools/impact.py), on real renders of the dev stack and modified copies of it.

Each scenario renders dev twice with `tools.render` (base and head, the head with a few keys changed) and checks
what the summary says against Karpenter's drift rules as its docs state them, typed in here: a new node image or
a template label drifts every node; narrowing a requirement drifts only the nodes outside it; limits never drift.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pytest

from preflight.model.harness import run_stack
from tools import impact
from tools.render import write_render

MIG_POOL = {
    "name": "mig",
    "instanceTypes": ["p4d.24xlarge"],
    "capacityTypes": ["on-demand"],
    "maxGpus": 8,
    "sharing": {"strategy": "mig", "profile": "1g.5gb"},
}
DEV_POOL = {
    "name": "inference",
    "instanceFamilies": ["g5", "g6"],
    "capacityTypes": ["spot", "on-demand"],
    "maxGpus": 16,
    "sharing": {"strategy": "time-slicing", "replicas": 4},
}
# Head configs: dev plus these gpu-eks keys.
SCENARIOS: dict[str, dict[str, Any]] = {
    "base": {},
    # Real Kubernetes version changes (the dev stack's default is 1.34; pinned here so these stay 1.34 → ...).
    "k8s-1.34": {"kubernetesVersion": "1.34"},
    "k8s-1.35": {"kubernetesVersion": "1.35"},
    "k8s-1.36": {"kubernetesVersion": "1.36"},
    "image-roll": {"nodeImage": "al2023@v20260724"},
    "replicas-8": {"gpuNodePools": [{**DEV_POOL, "sharing": {"strategy": "time-slicing", "replicas": 8}}]},
    "add-mig-pool": {"gpuNodePools": [DEV_POOL, MIG_POOL]},
    "karpenter-1.13": {"karpenter": {"version": "1.13.0"}},
    # Only g6 from now on, twice the GPUs, one more cluster admin.
    "narrow-grow-admin": {
        "gpuNodePools": [{**DEV_POOL, "instanceFamilies": ["g6"], "maxGpus": 32}],
        "clusterAdmins": ["arn:aws:iam::111122223333:role/platform-admin", "arn:aws:iam::111122223333:role/sre"],
    },
}


@pytest.fixture(scope="module")
def renders(tmp_path_factory) -> dict[str, Path]:
    """Scenario -> a render root holding one stack folder `dev`, as the workflow lays them out."""
    roots = {}
    for name, overrides in SCENARIOS.items():
        root = tmp_path_factory.mktemp(name)
        write_render(run_stack("dev", overrides=overrides), root / "dev")
        roots[name] = root
    return roots


def summary(renders, base: str, head: str) -> impact.StackImpact:
    (only,) = impact.impacts(renders[base], renders[head])
    return only


# -- the three changes the issue names --------------------------------------------------------------------------


def test_an_image_roll_replaces_every_node_of_every_pool(renders):
    result = summary(renders, "base", "image-roll")
    # general-amd64, general-arm64, gpu-eks-monitoring (class `default`) and inference
    assert len(result.replaced) == 4
    for line in result.replaced:
        assert "**every node**: node image al2023@v20260714 → al2023@v20260724" in line
    assert any(line.startswith("`inference`:") and "EC2NodeClass `gpu-inference`" in line for line in result.replaced)
    assert "Karpenter replaces them within its disruption budgets (nodes: 10%)" in result.replaced[0]
    assert result.charts == result.karpenter == result.access == result.contract == []


def test_a_replicas_change_replaces_the_pools_nodes_and_rolls_the_device_plugin(renders):
    result = summary(renders, "base", "replicas-8")
    assert result.replaced == [
        "`inference`: **every node**: template labels changed: nvidia.com/device-plugin.config time-slicing-4 → "
        "time-slicing-8. Karpenter replaces them within its disruption budgets (nodes: 10%)"
    ]
    assert result.kept == [
        "NodeOverlays `inference-1gpu`, `inference-4gpu`, `inference-8gpu` changed: the capacity Karpenter plans "
        "with (overlays never drift nodes)"
    ]
    assert result.charts == ["`nvidia-device-plugin` (nvidia-device-plugin): values changed (its pods roll)"]
    assert result.contract == ["`gpuPools.inference`: limit, replicas, slicesPerGpu, slicesPerNode"]


def test_adding_a_mig_pool_switches_to_the_gpu_operator_and_replaces_no_node(renders):
    result = summary(renders, "base", "add-mig-pool")
    assert result.replaced == []
    assert result.kept == [
        "`mig`: new pool (no nodes yet)",
        "NodeOverlays `mig-8gpu` added: the capacity Karpenter plans with (overlays never drift nodes)",
    ]
    # (The metrics stack may add its own lines: the standalone DCGM exporter goes when the operator brings one.)
    assert result.charts[0].startswith(
        "**NVIDIA software switches** from the NVIDIA device plugin 0.20.0 to the NVIDIA GPU Operator v26.7.0"
    )
    assert "`gpuPools.mig` added" in result.contract


# -- other kinds of change --------------------------------------------------------------------------------------


def test_a_karpenter_upgrade_is_named_with_both_versions(renders):
    result = summary(renders, "karpenter-1.13", "base")
    upgrades = [line.split(";")[0] for line in result.karpenter]
    assert upgrades == [
        "`karpenter` (karpenter): Karpenter upgrade 1.13.0 → 1.14.1",
        "`karpenter-crd` (karpenter-crd): Karpenter upgrade 1.13.0 → 1.14.1",
    ]
    assert result.replaced == []


def test_narrowing_drifts_only_the_dropped_types_and_a_bigger_limit_drifts_nothing(renders):
    result = summary(renders, "base", "narrow-grow-admin")
    (line,) = result.replaced
    assert line.startswith("`inference`: nodes with `node.kubernetes.io/instance-type` in ['g5.12xlarge', ")
    assert "**every node**" not in line
    assert "`inference`: limits changed (settings only, no node is replaced)" in result.kept


def test_an_access_change_is_listed_under_iam_and_cluster_access(renders):
    access = summary(renders, "base", "narrow-grow-admin").access
    assert any(line.startswith("AccessEntry `") and line.endswith("added") for line in access), access
    assert any(line.startswith("AccessPolicyAssociation `") for line in access), access


def test_identical_renders_are_no_change(renders):
    result = summary(renders, "base", "base")
    assert result.unchanged()
    assert "**dev**: no change" in impact.summary_markdown([result])


def test_a_failed_or_new_stack_is_said_so(renders, tmp_path):
    head = tmp_path / "head"
    head.mkdir()
    (head / "dev.FAILED").write_text("render of stack dev failed\n")
    write_render(run_stack("prod"), head / "prod")
    base = renders["base"]
    notes = {i.stack: i.note for i in impact.impacts(base, head)}
    assert notes == {"dev": "the head render failed (see the log)", "prod": "new stack: everything is created"}


# -- Kubernetes version changes (issue 20 item 2) ---------------------------------------------------------------
# An AMI alias resolves per Kubernetes version (aws/karpenter-provider-aws@v1.14.1
# pkg/providers/amifamily/ami.go: the SSM parameter names the cluster's version), so every Karpenter node drifts;
# EKS rolls the managed controller group onto the new version's AMI and upgrades one minor version at a time.


def test_a_minor_upgrade_replaces_every_node_and_moves_the_controller_group_and_add_ons(renders):
    result = summary(renders, "k8s-1.34", "k8s-1.35")
    assert result.refused is None
    assert result.upgrade[0] == "control plane 1.34 → 1.35: EKS upgrades it in place (one minor version at a time)"
    assert result.upgrade[1].startswith("EKS add-ons: coredns v1.13.2-eksbuild.11 → v1.14.3-eksbuild.3, kube-proxy ")
    controller, *pools = result.replaced
    assert controller.startswith("controller node group `cluster-controller`: **every node** (2 ")
    assert "onto Kubernetes 1.35's AMI, 1 node at a time" in controller
    assert [line.split(":")[0] for line in pools] == [
        "`general-amd64`",
        "`general-arm64`",
        "`gpu-eks-monitoring`",
        "`inference`",
    ]
    for line in pools:
        assert "**every node**: node image al2023@v20260714 now resolves to Kubernetes 1.35's AMIs" in line
    # The version-only resource changes are under "Kubernetes upgrade", not repeated among the others.
    assert result.other == []
    markdown = impact.summary_markdown([result])
    assert "no node is replaced" not in markdown
    assert markdown.index("- Kubernetes upgrade:") < markdown.index("- Nodes replaced:")


def test_a_jump_of_two_minor_versions_is_refused_in_one_line(renders, capsys):
    result = summary(renders, "k8s-1.34", "k8s-1.36")
    expected = (
        "refused: `kubernetesVersion` 1.34 → 1.36 skips 1 minor version; EKS upgrades one minor version at a "
        "time: deploy 1.35 first, then each next version"
    )
    assert result.refused == expected
    assert result.replaced == result.upgrade == []
    assert impact.main([str(renders["k8s-1.34"]), str(renders["k8s-1.36"])]) == 1
    out, err = capsys.readouterr()
    assert f"**dev**: {expected}" in out.splitlines()
    assert err.splitlines() == [f"stack dev: {expected}"]


def test_a_downgrade_is_refused(renders):
    result = summary(renders, "k8s-1.35", "k8s-1.34")
    assert result.refused == "refused: `kubernetesVersion` 1.35 → 1.34 is a downgrade; EKS cannot downgrade a cluster"


# -- the review diff --------------------------------------------------------------------------------------------


def test_the_review_diff_shows_a_template_change_once(renders):
    in_manifest = "+        nvidia.com/device-plugin.config: time-slicing-8"
    in_resources_json = '"nvidia.com/device-plugin.config": "time-slicing-8"'
    diff = impact.review_diff(renders["base"], renders["replicas-8"])
    assert diff.count(in_manifest) == 1
    assert in_resources_json not in diff
    # The plain diff of the render folders (what the comment used to post) shows it twice: resources.json repeats
    # every NodePool's inputs.
    plain = full_diff(renders["base"] / "dev", renders["replicas-8"] / "dev")
    assert plain.count(in_manifest) == 1 and plain.count(in_resources_json) == 1


def test_the_review_diff_keeps_resources_that_only_resources_json_shows(renders):
    diff = impact.review_diff(renders["base"], renders["narrow-grow-admin"])
    assert "+++ head/dev/resources.json (without Kubernetes objects and Helm releases)" in diff
    assert "role/sre" in diff


def full_diff(base: Path, head: Path) -> str:
    """What `diff -ru` over the two render folders shows, as difflib text."""
    out: list[str] = []
    for path in sorted(p for p in head.rglob("*") if p.is_file()):
        rel = path.relative_to(head)
        before = (base / rel).read_text().splitlines(keepends=True) if (base / rel).is_file() else []
        out.extend(difflib.unified_diff(before, path.read_text().splitlines(keepends=True), str(rel), str(rel)))
    return "".join(out)


# -- the command ------------------------------------------------------------------------------------------------


def test_the_command_prints_the_summary_and_writes_the_diff(renders, tmp_path, capsys):
    diff_file = tmp_path / "review.diff"
    assert impact.main([str(renders["base"]), str(renders["image-roll"]), "--diff", str(diff_file)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("### Impact (base → head)\n\n**dev**\n- Nodes replaced:\n")
    assert "-  - alias: al2023@v20260714" in diff_file.read_text()


def test_one_stacks_render_folders_can_be_compared_directly(renders):
    (result,) = impact.impacts(renders["base"] / "dev", renders["image-roll"] / "dev")
    assert result.stack == "dev" and len(result.replaced) == 4
