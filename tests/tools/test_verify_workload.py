"""The smoke Deployment, its images, the kubeconfig output's forms and the progress display."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from tests.tools.conftest import INFERENCE
from tools.verify import workload as wl
from tools.verify.kube import KubeError, parse_kubeconfig
from tools.verify.plan import PoolContract
from tools.verify.progress import Progress

README = Path(__file__).resolve().parents[2] / "docs" / "versions.md"
MIG = PoolContract.from_output(
    "mig-inference",
    {
        **INFERENCE,
        "strategy": "mig",
        "slicesPerGpu": 7,
        "resourceName": "nvidia.com/mig-1g.5gb",
        "nodeSelector": {"gpu-eks/pool": "mig-inference"},
        "slicesPerNode": {"p4d.24xlarge": 56},
    },
)


def _versions_table_image(label: str) -> str:
    """An image from docs/versions.md's table (which tests/program/test_docs.py keeps equal to the pinned versions)."""
    match = re.search(rf"^\| {re.escape(label)} \| (\S+) \|$", README.read_text(), re.M)
    assert match, f"docs/versions.md has no row {label!r}"
    return match.group(1)


def test_the_workload_images_are_the_pinned_ones():
    assert _versions_table_image("CUDA vector-add test image") == wl.CUDA_VECTOR_ADD_IMAGE
    assert _versions_table_image("nvidia-smi test image") == wl.NVIDIA_SMI_IMAGE


def test_each_pod_requests_one_slice_of_the_contract_resource_where_the_contract_says():
    spec = wl.deployment(MIG)["spec"]["template"]["spec"]

    assert spec["containers"][0]["resources"]["limits"] == {"nvidia.com/mig-1g.5gb": "1"}
    assert spec["nodeSelector"] == {"gpu-eks/pool": "mig-inference"}
    assert spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def test_the_deployment_starts_at_zero_and_its_selector_matches_its_pods():
    body = wl.deployment(MIG)
    labels = body["spec"]["template"]["metadata"]["labels"]

    assert body["spec"]["replicas"] == 0
    assert body["spec"]["selector"]["matchLabels"] == labels
    assert wl.selector(MIG) == ",".join(f"{k}={v}" for k, v in labels.items())


def test_the_vector_add_loop_keeps_the_pod_running_and_fails_loudly():
    command = wl.deployment(MIG)["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[-1] == "while true; do /cuda-samples/vectorAdd || exit 1; sleep 60; done"


def test_nvidia_smi_is_the_alternative_workload():
    container = wl.deployment(MIG, "nvidia-smi")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == wl.NVIDIA_SMI_IMAGE and "nvidia-smi -L" in container["command"][-1]


KUBECONFIG = {
    "apiVersion": "v1",
    "clusters": [{"name": "c", "cluster": {"server": "https://x"}}],
    "users": [],
    "contexts": [],
}


@pytest.mark.parametrize(
    "value",
    [
        KUBECONFIG,
        json.dumps(KUBECONFIG),
        "apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: 'https://x'}\nusers: []\ncontexts: []\n",
    ],
)
def test_the_kubeconfig_output_is_read_as_object_json_or_yaml(value):
    assert parse_kubeconfig(value)["clusters"][0]["cluster"]["server"] == "https://x"


@pytest.mark.parametrize("value", [None, "", "[secret]"])
def test_a_redacted_or_missing_kubeconfig_output_means_use_the_current_context(value):
    assert parse_kubeconfig(value) is None


def test_a_kubeconfig_output_that_is_not_one_is_an_error():
    with pytest.raises(KubeError, match="not a kubeconfig"):
        parse_kubeconfig("just text")


def test_progress_rewrites_one_line_on_a_terminal():
    stream = io.StringIO()
    progress = Progress(stream, tty=True)
    progress.update("1/8 Running")
    progress.update("8/8 Running")
    progress.done("done")
    assert stream.getvalue() == "\r\x1b[K1/8 Running\r\x1b[K8/8 Running\r\x1b[Kdone\n"


def test_progress_in_a_log_prints_changes_at_most_every_interval():
    stream, now = io.StringIO(), [0.0]
    progress = Progress(stream, tty=False, every=30, clock=lambda: now[0])
    for t, text in [(0, "a"), (10, "b"), (40, "b"), (41, "c"), (75, "c")]:
        now[0] = t
        progress.update(text)
    assert stream.getvalue() == "a\nb\nc\n"
