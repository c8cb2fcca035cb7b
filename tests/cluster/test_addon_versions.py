"""EKS add-on versions: pinned per Kubernetes version in versions.py and sent explicitly (issue 9, item 5)."""

from __future__ import annotations

import re

import pytest

from components import versions

ADDONS = ("coredns", "kube-proxy", "vpc-cni", "eks-pod-identity-agent")
EKS_ADDON_VERSION = re.compile(r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")


@pytest.mark.parametrize("kubernetes_version", versions.SUPPORTED_KUBERNETES_VERSIONS)
@pytest.mark.parametrize("addon", ADDONS)
def test_every_supported_kubernetes_version_pins_every_addon(addon, kubernetes_version):
    assert EKS_ADDON_VERSION.match(versions.EKS_ADDON_VERSIONS[addon][kubernetes_version])


@pytest.mark.parametrize("addon", ADDONS)
def test_every_addon_pin_names_its_source(addon):
    assert versions.EKS_ADDON_VERSION_SOURCES[addon]


@pytest.mark.parametrize("kubernetes_version", versions.SUPPORTED_KUBERNETES_VERSIONS)
def test_kube_proxy_pin_is_built_for_its_kubernetes_minor(kubernetes_version):
    # kube-proxy ships per Kubernetes minor: a 1.34 cluster must not get a 1.33 kube-proxy.
    assert versions.EKS_ADDON_VERSIONS["kube-proxy"][kubernetes_version].startswith(f"v{kubernetes_version}.")


def test_a_kubernetes_version_without_pins_is_refused():
    with pytest.raises(KeyError, match=r"1\.99"):
        versions.eks_addon_versions("1.99")


# Expected values copied from the AWS tables cited in versions.py, not computed from it.
PINS_134 = {
    "coredns": "v1.13.2-eksbuild.11",
    "kube-proxy": "v1.34.6-eksbuild.13",
    "vpc-cni": "v1.21.1-eksbuild.3",
    "eks-pod-identity-agent": "v1.3.10-eksbuild.1",
}
PINS_135 = {
    "coredns": "v1.14.3-eksbuild.3",
    "kube-proxy": "v1.35.3-eksbuild.13",
    "vpc-cni": "v1.21.1-eksbuild.3",
    "eks-pod-identity-agent": "v1.3.10-eksbuild.1",
}


def rendered_addon_versions(run) -> dict[str, str | None]:
    """Every add-on version the program sends: pulumi-eks's kube-proxy and vpc-cni, and our own add-ons."""
    cluster = run.one("eks:index:Cluster").plain_inputs()
    found = {
        "kube-proxy": cluster.get("kubeProxyAddonOptions", {}).get("version"),
        "vpc-cni": cluster.get("vpcCniOptions", {}).get("addonVersion"),
    }
    for addon in run.by_type("aws:eks/addon:Addon"):
        if (addon.parent_urn or "").split("::")[2].split("$")[-1] != "gpu-eks:cluster:Cluster":
            continue  # pulumi-eks's own children, when the harness registers them
        inputs = addon.plain_inputs()
        found[inputs["addonName"]] = inputs.get("addonVersion")
    return found


def test_rendered_cluster_and_addons_carry_explicit_versions(stack_run):
    assert rendered_addon_versions(stack_run("dev")) == PINS_134


def test_changing_the_kubernetes_version_moves_every_addon_with_it(run_with):
    assert rendered_addon_versions(run_with("dev", kubernetesVersion="1.35")) == PINS_135


def test_the_versions_doc_lists_every_addon_pin():
    from preflight.model.harness import REPO_ROOT

    readme = (REPO_ROOT / "docs" / "versions.md").read_text()
    for addon, pins in versions.EKS_ADDON_VERSIONS.items():
        row = f"| `{addon}` | " + " | ".join(pins[v] for v in versions.SUPPORTED_KUBERNETES_VERSIONS) + " |"
        assert row in readme, row
