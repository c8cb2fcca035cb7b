"""EC2NodeClass userData is explicit MIME (issue 19 item 6): Karpenter never has to guess a part's type.

The oracle (tests/support/karpenter_user_data.py) re-implements Karpenter v1.14.1's own decision
(nodeadm.go parseUserData, mime.go NewArchive); these tests show what it decides for a bare script and for ours.
"""

from __future__ import annotations

import pulumi
import pytest

from components.gpu.efa import efa_node_class, hugepages_user_data
from components.karpenter.manifests import RootVolume, ec2_node_class
from components.karpenter.node_pools import karpenter_object
from components.karpenter.user_data import UserDataPart, is_mime, mime_user_data
from preflight.model.objects import manifest_of
from tests.support.karpenter_user_data import (
    KARPENTER_NODE_CONFIG,
    KARPENTER_SHELL_SCRIPT,
    karpenter_user_data_parts,
)

# A script whose last line happens to be `key: value` YAML (a heredoc'd config, a label, ...).
KEY_VALUE_SCRIPT = "#!/bin/bash\n# write a setting\nnr_hugepages: 2560\n"
COMMENTS_ONLY_SCRIPT = "#!/bin/bash\n# nothing to do on this pool yet\n"


@pytest.mark.parametrize("script", [KEY_VALUE_SCRIPT, COMMENTS_ONLY_SCRIPT])
def test_the_oracle_shows_karpenter_takes_a_bare_yaml_looking_script_for_a_node_config(script):
    # Why MIME at all: given bare, Karpenter hands these to nodeadm as NodeConfig and the node never joins.
    assert karpenter_user_data_parts(script) == [(KARPENTER_NODE_CONFIG, script)]


def test_the_oracle_takes_a_plain_script_for_a_script():
    script = "#!/bin/bash\nset -euo pipefail\nsysctl -w vm.nr_hugepages=2560\n"
    assert karpenter_user_data_parts(script) == [(KARPENTER_SHELL_SCRIPT, script)]


@pytest.mark.parametrize("script", [KEY_VALUE_SCRIPT, COMMENTS_ONLY_SCRIPT, hugepages_user_data()])
def test_a_script_part_stays_a_script_byte_for_byte(script):
    rendered = mime_user_data([UserDataPart("script", script)])
    assert is_mime(rendered)
    assert karpenter_user_data_parts(rendered) == [(KARPENTER_SHELL_SCRIPT, script)]


def test_parts_keep_their_order_and_kinds():
    node_config = "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec: {}\n"
    rendered = mime_user_data([UserDataPart("script", KEY_VALUE_SCRIPT), UserDataPart("node-config", node_config)])
    assert karpenter_user_data_parts(rendered) == [
        (KARPENTER_SHELL_SCRIPT, KEY_VALUE_SCRIPT),
        (KARPENTER_NODE_CONFIG, node_config),
    ]


def test_a_part_containing_the_boundary_or_no_part_at_all_is_refused():
    with pytest.raises(ValueError, match="boundary"):
        mime_user_data([UserDataPart("script", "#!/bin/bash\necho --gpu-eks-user-data-boundary\n")])
    with pytest.raises(ValueError, match="at least one part"):
        mime_user_data([])


def node_class(name="gpu-training"):
    return ec2_node_class(
        name,
        role_name="gpu-test-karpenter-node",
        cluster_name="gpu-test",
        subnet_selector=[{"tags": {"karpenter.sh/discovery": "gpu-test"}}],
        ami_alias="al2023@latest",
        root_volume=RootVolume(size_gib=200),
        tags={},
    )


def test_the_efa_node_class_user_data_is_one_script_part():
    efa = efa_node_class(node_class(), network_cards=4, placement_group={"name": "pg"}, cluster_name="gpu-test")
    assert karpenter_user_data_parts(efa["spec"]["userData"]) == [(KARPENTER_SHELL_SCRIPT, hugepages_user_data())]


def test_registering_a_node_class_with_bare_user_data_is_refused_before_anything_is_registered():
    bare = node_class()
    bare["spec"]["userData"] = KEY_VALUE_SCRIPT
    with pytest.raises(ValueError, match="EC2NodeClass gpu-training: userData is not a MIME multi-part archive"):
        karpenter_object("bare", bare, pulumi.ResourceOptions())  # refused before anything is registered


@pytest.mark.parametrize("stack", ["dev", "prod", "efa-p5"])
def test_every_rendered_node_class_user_data_is_mime_that_karpenter_splits_into_typed_parts(
    stack_or_variant_run, stack
):
    run = stack_or_variant_run(stack)
    classes = [manifest_of(r) for r in run.by_type("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")]
    with_user_data = [c for c in classes if "userData" in c["spec"]]
    if stack == "efa-p5":
        assert len(with_user_data) == 2  # the two EFA pools
    for manifest in with_user_data:
        assert is_mime(manifest["spec"]["userData"])
        parts = karpenter_user_data_parts(manifest["spec"]["userData"])
        assert parts and all(kind in (KARPENTER_SHELL_SCRIPT, KARPENTER_NODE_CONFIG) for kind, _ in parts)
