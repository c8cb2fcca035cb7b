"""The offline renderer: tree and files for valid stacks; exit 2, a clear line and nothing written for bad ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from preflight.model.harness import REPO_ROOT
from tests.support.stacks import write_stack_file
from tools import render

VALID_BASE = {"aws:region": "us-west-2"}

# (config, key the error must name). Each is a distinct rule, checked end to end through the renderer.
INVALID_CONFIGS = [
    ({"gpu-eks:clusterNmae": "typo"}, "gpu-eks:clusterNmae"),
    ({"gpu-eks:clusterName": "bad_name!"}, "gpu-eks:clusterName"),
    ({"gpu-eks:kubernetesVersion": "1.27"}, "gpu-eks:kubernetesVersion"),
    ({"gpu-eks:network": {"availabilityZones": 1}}, "gpu-eks:network.availabilityZones"),
    ({"gpu-eks:network": {"natGateways": "per-subnet"}}, "gpu-eks:network.natGateways"),
    ({"gpu-eks:network": {"cidr": "10.0.0.0/33"}}, "gpu-eks:network.cidr"),
    (
        {
            "gpu-eks:network": {
                "vpcId": "vpc-0abc12345",
                "privateSubnetIds": ["subnet-0aaa1111", "subnet-0bbb2222"],
                "natGateways": "single",
            }
        },
        "gpu-eks:network.natGateways",
    ),
    ({"gpu-eks:endpoint": {"publicAccess": True, "publicAccessCidrs": []}}, "gpu-eks:endpoint.publicAccessCidrs"),
    ({"gpu-eks:endpoint": {"public": True}}, "gpu-eks:endpoint.public"),
    ({"gpu-eks:clusterAdmins": ["admin"]}, "gpu-eks:clusterAdmins[0]"),
    ({"gpu-eks:clusterLogTypes": ["api", "all"]}, "gpu-eks:clusterLogTypes[1]"),
    ({"gpu-eks:controllerNodeGroup": {"minSize": 4, "maxSize": 3}}, "gpu-eks:controllerNodeGroup.desiredSize"),
    (
        {"gpu-eks:controllerNodeGroup": {"instanceTypes": ["p4d.24xlarge"]}},
        "gpu-eks:controllerNodeGroup.instanceTypes[0]",
    ),
    ({"aws:region": "mars-1"}, "aws:region"),
    # Karpenter (issue 3)
    ({"gpu-eks:kubernetesVersion": "1.36", "gpu-eks:karpenter": {"version": "1.12.0"}}, "gpu-eks:karpenter.version"),
    (
        {"gpu-eks:karpenter": {"version": "1.6.2", "featureGates": {"nodeOverlay": True}}},
        "gpu-eks:karpenter.featureGates.nodeOverlay",
    ),
    ({"gpu-eks:karpenter": {"versoin": "1.14.1"}}, "gpu-eks:karpenter.versoin"),
    ({"gpu-eks:nodePools": [{"name": "p", "architectures": ["riscv64"]}]}, "gpu-eks:nodePools[0] (p).architectures[0]"),
    (
        {"gpu-eks:nodePools": [{"name": "p", "capacityTypes": ["reserved"]}]},
        "gpu-eks:nodePools[0] (p).capacityTypes[0]",
    ),
    ({"gpu-eks:nodePools": [{"name": "p"}, {"name": "p"}]}, "gpu-eks:nodePools[1] (p).name"),
    ({"gpu-eks:nodePools": [{"name": "p", "maxCpu": -4}]}, "gpu-eks:nodePools[0] (p).maxCpu"),
    ({"gpu-eks:nodePools": [{"name": "p", "cpu": [2]}]}, "gpu-eks:nodePools[0] (p).cpu"),
    # GPU pools (issue 4)
    (
        {
            "gpu-eks:gpuNodePools": [
                {
                    "name": "x",
                    "instanceFamilies": ["g5"],
                    "maxGpus": 8,
                    "sharing": {"strategy": "mig", "profile": "1g.5gb"},
                }
            ]
        },
        "gpu-eks:gpuNodePools[0] (x).sharing.strategy",
    ),
    (
        {
            "gpu-eks:gpuNodePools": [
                {
                    "name": "x",
                    "instanceTypes": ["p5.48xlarge"],
                    "maxGpus": 8,
                    "sharing": {"strategy": "mig", "profile": "1g.5gb"},
                }
            ]
        },
        "gpu-eks:gpuNodePools[0] (x).sharing.profile",
    ),
    (
        {
            "gpu-eks:gpuNodePools": [
                {
                    "name": "x",
                    "instanceFamilies": ["g6"],
                    "maxGpus": 8,
                    "sharing": {"strategy": "time-slicing", "replicas": 1},
                }
            ]
        },
        "gpu-eks:gpuNodePools[0] (x).sharing.replicas",
    ),
    (
        {
            "gpu-eks:gpuNodePools": [
                {"name": "x", "instanceFamilies": ["g6"], "maxGpus": 8, "sharing": {"strategy": "mps", "replicas": 64}}
            ]
        },
        "gpu-eks:gpuNodePools[0] (x).sharing.replicas",
    ),
    (
        {"gpu-eks:gpuNodePools": [{"name": "x", "instanceFamilies": ["g7x"], "maxGpus": 8}]},
        "gpu-eks:gpuNodePools[0] (x).instanceFamilies[0]",
    ),
    (
        {"gpu-eks:gpuNodePools": [{"name": "x", "instanceFamilies": ["g6"], "maxGpus": 0}]},
        "gpu-eks:gpuNodePools[0] (x).maxGpus",
    ),
    (
        {"gpu-eks:gpuNodePools": [{"name": "general-arm64", "instanceFamilies": ["g6"], "maxGpus": 8}]},
        "gpu-eks:gpuNodePools[0] (general-arm64).name",
    ),
    (
        {
            "gpu-eks:karpenter": {"featureGates": {"nodeOverlay": False}},
            "gpu-eks:gpuNodePools": [
                {
                    "name": "x",
                    "instanceFamilies": ["g6"],
                    "maxGpus": 8,
                    "sharing": {"strategy": "time-slicing", "replicas": 4},
                }
            ],
        },
        "gpu-eks:gpuNodePools[0] (x).sharing.strategy",
    ),
]


@pytest.mark.parametrize("config, key", INVALID_CONFIGS, ids=[key for _, key in INVALID_CONFIGS])
def test_invalid_config_exits_2_names_the_key_and_writes_nothing(tmp_path, capsys, config, key):
    stack_file = write_stack_file(tmp_path, {**VALID_BASE, **config})
    out = tmp_path / "out"
    assert render.main(["test", "--config", str(stack_file), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"test: {key}: "), captured.err
    assert "; " in captured.err  # what is allowed follows the problem
    assert captured.out == ""
    assert not out.exists()


def test_invalid_config_in_a_real_process_has_no_traceback(tmp_path):
    stack_file = write_stack_file(tmp_path, {**VALID_BASE, "gpu-eks:network": {"availabilityZones": 1}})
    result = subprocess.run(
        [sys.executable, "-m", "tools.render", "test", "--config", str(stack_file), "--out", str(tmp_path / "out")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "test: gpu-eks:network.availabilityZones: 1 is out of range; allowed: an integer from 2 to 6"
    )
    assert not (tmp_path / "out").exists()


def test_missing_stack_file_exits_2(tmp_path, capsys):
    assert render.main(["nosuchstack", "--out", str(tmp_path / "out")]) == 2
    assert "nosuchstack" in capsys.readouterr().err


def test_render_prints_tree_and_count(tmp_path, capsys):
    assert render.main(["dev", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "gpu-eks:index:Platform gpu-eks"
    assert any(
        line.startswith("    eks:index:ManagedNodeGroup cluster-controller")
        and "CriticalAddonsOnly=true:NO_SCHEDULE" in line
        for line in out
    )
    assert any(line.strip().startswith("aws:kms/key:Key") for line in out)
    count = len(json.loads((tmp_path / "resources.json").read_text()))
    assert out[-1].startswith(f"{count} resources in stack dev")


def test_resources_json_lists_type_name_parent_inputs(tmp_path):
    render.main(["dev", "--out", str(tmp_path)])
    resources = json.loads((tmp_path / "resources.json").read_text())
    node_group = next(r for r in resources if r["type"] == "eks:index:ManagedNodeGroup")
    assert node_group["parent"] == "cluster"
    assert node_group["inputs"]["nodeGroupName"] == "gpu-dev-controller"
    assert next(r for r in resources if r["type"] == "gpu-eks:index:Platform")["parent"] is None


def test_render_is_deterministic(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    render.main(["prod", "--out", str(first)])
    render.main(["prod", "--out", str(second)])
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative


def test_secrets_never_reach_the_render(tmp_path):
    render.main(["dev", "--out", str(tmp_path)])
    outputs = json.loads((tmp_path / "outputs.json").read_text())
    assert outputs["kubeconfig"] == "[secret]"
    resources = json.loads((tmp_path / "resources.json").read_text())
    # pulumi-eks gives its own Kubernetes provider the kubeconfig unmarked (by design, pulumi/pulumi-eks#725; it
    # holds no credential, only `aws eks get-token`), so a real state has it in plain text there and only there.
    [eks_provider] = [r for r in resources if "get-token" in json.dumps(r)]
    assert (eks_provider["type"], eks_provider["name"], eks_provider["parent"]) == (
        "pulumi:providers:kubernetes",
        "cluster-eks-eks-k8s",
        "cluster-eks",
    )
    program_provider = next(r for r in resources if r["name"] == "cluster-k8s")
    assert program_provider["inputs"]["kubeconfig"] == "[secret]"
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != "resources.json":
            assert "get-token" not in path.read_text(), f"kubeconfig content leaked into {path}"


def test_encrypted_config_values_are_secret_placeholders(tmp_path):
    # `secure:` values cannot be decrypted offline; the program sees "[secret]" marked as a secret key.
    from preflight.model.harness import stack_config_from_files

    stack_file = write_stack_file(tmp_path, {**VALID_BASE, "gpu-eks:clusterName": {"secure": "v1:AAAA"}})
    config, secret_keys = stack_config_from_files("test", stack_file)
    assert config["gpu-eks:clusterName"] == "[secret]"
    assert secret_keys == ["gpu-eks:clusterName"]


def test_helm_values_with_embedded_configs_stay_readable_and_round_trip(tmp_path):
    render.main(["dev", "--out", str(tmp_path)])
    text = (tmp_path / "helm" / "nvidia-device-plugin.yaml").read_text()
    assert "time-slicing-4: |" in text  # a block scalar: one config line per diff line
    release = yaml.safe_load(text)
    assert yaml.safe_load(release["values"]["config"]["map"]["time-slicing-4"])["sharing"]["timeSlicing"][
        "resources"
    ] == [{"name": "nvidia.com/gpu", "replicas": 4}]
