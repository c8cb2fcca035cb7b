"""kube-prometheus-stack's four subcharts under ../shared/upstream/charts are the ones upstream published, byte for
byte, so the render checks Grafana, kube-state-metrics and the node exporter as released.

Expected hashes are typed in from ../shared/upstream/charts/SOURCE.txt (the steering side's record of the
assembled chart), not computed by the code under test; the tarball is made the way that file describes.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from preflight.helm.render import chart_dir
from tests.support.upstream import upstream_dir

KUBE_PROMETHEUS_STACK_SUBCHARTS = {
    "grafana": "d795e0c083d878312b6226051a87d721543558cee6de11308369c4a5f9d088c1",
    "kube-state-metrics": "33b1ddc81de0c7be674bb1a736057e2ce64827248045933433b76810b9c7b045",
    "prometheus-node-exporter": "fc9477553bd6f91b9809822fb52150941cd965cd912792ba843c1433d6c3ed37",
    "prometheus-windows-exporter": "03b8a84dcfc6a052176acbf78a8676cce1aaeb09e92abef37429b859b6bb540d",
}


def deterministic_tgz_sha256(parent: Path, name: str) -> str:
    """The tarball hash exactly as the SOURCE files describe it, made with GNU tar and gzip themselves."""
    tar = subprocess.run(
        [
            "tar",
            "--sort=name",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "--mode=u+w,go-w",  # shared/ arrives read-only (444): owner write as in the checkout hashed
            "--mtime=2000-01-01 00:00Z",
            "-cf",
            "-",
            name,
        ],
        cwd=parent,
        capture_output=True,
        check=True,
    ).stdout
    compressed = subprocess.run(["gzip", "-n"], input=tar, capture_output=True, check=True).stdout
    return hashlib.sha256(compressed).hexdigest()


@pytest.mark.parametrize("name, expected", sorted(KUBE_PROMETHEUS_STACK_SUBCHARTS.items()))
def test_shared_subcharts_are_byte_for_byte_the_published_ones(name, expected):
    assert deterministic_tgz_sha256(chart_dir("kube-prometheus-stack") / "charts", name) == expected


def test_a_changed_file_in_a_held_subchart_is_detected(tmp_path):
    import shutil

    shutil.copytree(chart_dir("kube-prometheus-stack") / "charts" / "kube-state-metrics", tmp_path / "ksm")
    (tmp_path / "ksm" / "values.yaml").write_text("replicas: 2\n")
    assert deterministic_tgz_sha256(tmp_path, "ksm") != KUBE_PROMETHEUS_STACK_SUBCHARTS["kube-state-metrics"]


def test_the_rendered_chart_is_the_shared_source_with_every_subchart():
    assert chart_dir("kube-prometheus-stack") == upstream_dir() / "charts" / "kube-prometheus-stack"
    for name in [*KUBE_PROMETHEUS_STACK_SUBCHARTS, "crds"]:
        assert (chart_dir("kube-prometheus-stack") / "charts" / name).is_dir(), name
