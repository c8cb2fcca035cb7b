"""Node images (issue 11): `gpu-eks:nodeImage` and a GPU pool's `nodeImage`, pinned, validated, rendered.

Expected aliases and release dates are typed in from awslabs/amazon-eks-ami (CHANGELOG.md at v20260724: the first
release listing AL2023 x86_64 and arm64 standard and NVIDIA AMIs for each Kubernetes version) and from the CRD's
alias rule, never read back from the code under test.
"""

from __future__ import annotations

import re

import pytest

from components import versions
from components.karpenter.manifests import RootVolume, ec2_node_class
from preflight.model.harness import REPO_ROOT
from tests.support.config_types import ENDPOINT
from tests.support.stacks import REPO_STACKS, config_error, karpenter_manifests, parse

GPU = {"name": "g", "instanceFamilies": ["g6"], "maxGpus": 8}
RELEASE_ALIAS = re.compile(r"^al2023@v\d{8}$")


def _aliases(run) -> dict[str, str]:
    """EC2NodeClass name -> its AMI alias."""
    return {
        m["metadata"]["name"]: m["spec"]["amiSelectorTerms"][0]["alias"]
        for m in karpenter_manifests(run)
        if m["kind"] == "EC2NodeClass"
    }


# -- the pin ----------------------------------------------------------------------------------------------------


def test_the_default_node_image_is_a_pinned_al2023_release():
    assert versions.DEFAULT_NODE_IMAGE == "al2023@v20260714"


def test_every_supported_kubernetes_version_knows_its_first_al2023_release():
    assert versions.AL2023_FIRST_RELEASE_FOR_KUBERNETES == {
        "1.32": "v20250403",
        "1.33": "v20250519",
        "1.34": "v20250915",
        "1.35": "v20260114",
        "1.36": "v20260610",
    }
    assert set(versions.AL2023_FIRST_RELEASE_FOR_KUBERNETES) == set(versions.SUPPORTED_KUBERNETES_VERSIONS)


@pytest.mark.parametrize("kubernetes_version", versions.SUPPORTED_KUBERNETES_VERSIONS)
def test_the_default_node_image_is_accepted_for_every_supported_kubernetes_version(kubernetes_version):
    config = parse({"kubernetesVersion": kubernetes_version, "endpoint": ENDPOINT, "gpuNodePools": [GPU]})
    assert config.node_image == config.gpu_node_pools[0].node_image == "al2023@v20260714"


# -- validation -------------------------------------------------------------------------------------------------

BAD_IMAGES = [
    ("bottlerocket@v1.20.4", "AMI family 'bottlerocket' is not supported"),
    ("al2@v20240807", "AMI family 'al2' is not supported"),
    ("v20260714", "is not an AMI alias (family@version)"),
    ("al2023@", "is not an AMI alias (family@version)"),
    ("al2023@20260714", "'20260714' is not an amazon-eks-ami release tag (v<YYYYMMDD>)"),
    ("al2023@v2026071", "'v2026071' is not an amazon-eks-ami release tag"),
    ("al2023@v20261345", "'v20261345' is not a date"),
    ("al2023@v20250601", "v20250601 has no AL2023 AMIs for Kubernetes 1.34 (its first release is v20250915)"),
]


@pytest.mark.parametrize("value, problem", BAD_IMAGES, ids=[value for value, _ in BAD_IMAGES])
def test_a_bad_stack_node_image_is_rejected_naming_the_key(value, problem):
    error = config_error({"nodeImage": value, "endpoint": ENDPOINT})
    assert error.key == "nodeImage"
    assert problem in error.problem
    assert error.allowed.startswith("allowed: al2023@")


@pytest.mark.parametrize("value, problem", BAD_IMAGES, ids=[value for value, _ in BAD_IMAGES])
def test_a_bad_pool_node_image_is_rejected_naming_the_pool(value, problem):
    error = config_error({"gpuNodePools": [{**GPU, "nodeImage": value}], "endpoint": ENDPOINT})
    assert error.key == "gpuNodePools[0] (g).nodeImage"
    assert problem in error.problem


def test_an_unsupported_family_is_one_line_saying_what_is_allowed():
    error = config_error({"nodeImage": "bottlerocket@v1.20.4", "endpoint": ENDPOINT})
    assert str(error) == (
        "test: gpu-eks:nodeImage: AMI family 'bottlerocket' is not supported: the NVIDIA setup needs the AL2023 "
        "NVIDIA AMI (Bottlerocket runs its own device plugin); allowed: al2023@v<YYYYMMDD>, an awslabs/amazon-eks-ami "
        "release tag (e.g. al2023@v20260714), or al2023@latest"
    )


def test_an_image_older_than_the_kubernetes_version_is_rejected_even_when_it_suits_an_older_one():
    # v20260610 is the first release with 1.36 AMIs; v20260527 has 1.35 AMIs but none for 1.36.
    assert parse({"kubernetesVersion": "1.35", "nodeImage": "al2023@v20260527", "endpoint": ENDPOINT})
    error = config_error({"kubernetesVersion": "1.36", "nodeImage": "al2023@v20260527", "endpoint": ENDPOINT})
    assert error.key == "nodeImage"
    assert error.allowed == "allowed: al2023@v20260610 or later for Kubernetes 1.36"


def test_latest_is_accepted_for_a_throwaway_stack():
    assert parse({"nodeImage": "al2023@latest", "endpoint": ENDPOINT}).node_image == "al2023@latest"


def test_a_gpu_pool_inherits_the_stack_image_unless_it_sets_its_own():
    config = parse(
        {
            "nodeImage": "al2023@v20260625",
            "gpuNodePools": [GPU, {**GPU, "name": "held", "nodeImage": "al2023@v20260610"}],
            "endpoint": ENDPOINT,
        }
    )
    assert config.node_image == "al2023@v20260625"
    assert [p.node_image for p in config.gpu_node_pools] == ["al2023@v20260625", "al2023@v20260610"]


# -- what is rendered -------------------------------------------------------------------------------------------


def test_the_stack_image_reaches_the_default_class_and_a_pool_image_only_its_own_class(stack_or_variant_run):
    # tests/support/stack_variants.py "tokyo": nodeImage al2023@v20260714, pool `batch` held at v20260625.
    assert _aliases(stack_or_variant_run("tokyo")) == {
        "default": "al2023@v20260714",
        "gpu-inference": "al2023@v20260714",
        "gpu-batch": "al2023@v20260625",
    }


def test_a_pinned_alias_passes_the_ec2nodeclass_crd(crd_validator):
    node_class = ec2_node_class(
        "pinned",
        role_name="r",
        cluster_name="c",
        subnet_selector=[{"tags": {"karpenter.sh/discovery": "c"}}],
        ami_alias="al2023@v20260714",
        root_volume=RootVolume(),
        tags={},
    )
    assert crd_validator.validate(node_class) == []


@pytest.mark.parametrize("stack", REPO_STACKS)
def test_no_repository_stack_follows_the_latest_image(stack_run, stack):
    aliases = _aliases(stack_run(stack))
    assert aliases, "the stack renders no EC2NodeClass"
    assert all(RELEASE_ALIAS.match(alias) for alias in aliases.values()), aliases


def test_no_stack_file_asks_for_the_latest_image():
    for path in REPO_ROOT.glob("Pulumi.*.yaml"):
        assert "@latest" not in path.read_text(), path.name
