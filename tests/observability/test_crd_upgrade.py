"""kube-prometheus-stack's CRDs move with the chart (issue 19 item 5).

Helm installs a chart's crds/ once and never upgrades them; the chart's crds.upgradeJob (a pre-install/pre-upgrade
hook Job) applies the CRDs the chart carries server-side on every install and upgrade. These render the real chart
(shared/upstream, kube-prometheus-stack 88.5.3) with the values the program passes, and a copy of it whose CRDs and
version were bumped, and read what the Job would apply out of its hook ConfigMap.
"""

from __future__ import annotations

import base64
import bz2
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import versions
from components.observability import alerts, values
from components.observability.config import ObservabilityConfig, ObservabilityMode
from components.observability.names import MONITORING_NAMESPACE, STACK_RELEASE
from preflight.helm import render
from preflight.upstream import ENV_VAR, upstream_dir

CHART = versions.KUBE_PROMETHEUS_STACK_CHART
HOOK = "helm.sh/hook"
TEMPLATE = "gpu-eks.test/template"
BUMPED_ANNOTATION = "operator.prometheus.io/version"
BUMPED_OPERATOR = "0.99.0"


def stack_values(mode: ObservabilityMode = ObservabilityMode.IN_CLUSTER) -> dict[str, Any]:
    config = ObservabilityConfig(mode=mode)
    endpoint = "https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-0123/"
    extra = {"remote_write_url": f"{endpoint}api/v1/remote_write", "query_url": endpoint} if mode == "amp" else {}
    return values.stack_values(config, region="us-west-2", rule_groups=alerts.rule_groups(), **extra)


def rendered(chart_values: dict[str, Any]) -> render.RenderedRelease:
    return render.render_chart(
        CHART, chart_values, release=STACK_RELEASE, namespace=MONITORING_NAMESPACE, kube_version="1.34"
    )


def _strip(crd: dict[str, Any]) -> tuple[str, Any]:
    metadata = {k: v for k, v in crd["metadata"].items() if k != "annotations"}
    annotations = {k: v for k, v in (crd["metadata"].get("annotations") or {}).items() if k != TEMPLATE}
    return crd["metadata"]["name"], {**crd, "metadata": {**metadata, "annotations": annotations}}


def applied_by_the_upgrade_job(release: render.RenderedRelease) -> dict[str, Any]:
    """CRD name -> CRD, as the upgrade Job applies them: the hook ConfigMap its init container decompresses."""
    jobs = [o for o in release.objects if o["kind"] == "Job" and "crds-upgrade" in o["metadata"]["name"]]
    if not jobs:
        return {}
    (job,) = jobs
    assert set(job["metadata"]["annotations"][HOOK].split(",")) >= {"pre-install", "pre-upgrade"}
    spec = job["spec"]["template"]["spec"]
    (kubectl,) = spec["containers"]
    assert kubectl["command"] == ["kubectl"] and kubectl["args"][:2] == ["apply", "--server-side"]
    (volume,) = [v for v in spec["volumes"] if v["name"] == "crds"]
    (configmap,) = [
        o
        for o in release.objects
        if o["kind"] == "ConfigMap"
        and o["metadata"]["name"] == volume["configMap"]["name"]
        and HOOK in o["metadata"]["annotations"]
    ]
    text = bz2.decompress(base64.b64decode(configmap["binaryData"]["crds.bz2"])).decode()
    return dict(_strip(crd) for crd in render._documents(text, "upgrade-job"))


def installed_from_crds_dir(release: render.RenderedRelease) -> dict[str, Any]:
    return dict(_strip(crd) for crd in release.crds)


@pytest.mark.parametrize("mode", [ObservabilityMode.IN_CLUSTER, ObservabilityMode.AMP])
def test_the_upgrade_job_applies_every_crd_the_chart_carries(mode):
    release = rendered(stack_values(mode))
    applied = applied_by_the_upgrade_job(release)
    assert applied, "no CRD upgrade Job: Helm would never upgrade the Prometheus Operator's CRDs"
    assert applied == installed_from_crds_dir(release)


def test_the_upgrade_job_images_are_pinned_and_it_runs_on_the_controller_group():
    (job,) = [
        o for o in rendered(stack_values()).objects if o["kind"] == "Job" and "crds-upgrade" in o["metadata"]["name"]
    ]
    spec = job["spec"]["template"]["spec"]
    images = [c["image"] for c in spec["initContainers"] + spec["containers"]]
    assert images == [
        f"docker.io/busybox:{versions.CRD_UPGRADE_BUSYBOX_TAG}",
        "registry.k8s.io/kubectl:v1.34.0",  # the chart's default: the Kubernetes version rendered for
    ]
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux", "karpenter.sh/controller": "true"}
    assert spec["tolerations"] == [{"key": "CriticalAddonsOnly", "operator": "Exists"}]


def _bumped_chart(tmp_path: Path, new_version: str) -> Path:
    """A copy of the upstream folder whose kube-prometheus-stack is `new_version` and carries a changed CRD."""
    source = upstream_dir()
    root = tmp_path / "upstream"
    (root / "charts").mkdir(parents=True)
    for keep in ("karpenter", "nvidia"):
        (root / keep).symlink_to(source / keep)
    chart = root / "charts" / CHART
    shutil.copytree(source / "charts" / CHART, chart)
    chart_yaml = yaml.safe_load((chart / "Chart.yaml").read_text())
    chart_yaml["version"] = new_version
    (chart / "Chart.yaml").write_text(yaml.safe_dump(chart_yaml, sort_keys=False))
    # The next operator release: every CRD carries its version, and the ServiceMonitor schema gains a field.
    packed = chart / "charts" / "crds" / "files" / "crds.bz2"
    crds = render._documents(bz2.decompress(packed.read_bytes()).decode(), "crds.bz2")
    for crd in crds:
        crd["metadata"]["annotations"] = {BUMPED_ANNOTATION: BUMPED_OPERATOR}
        if crd["spec"]["names"]["kind"] == "ServiceMonitor":
            schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
            schema["bumpedField"] = {"type": "string"}
    packed.chmod(0o644)
    packed.write_bytes(bz2.compress(yaml.safe_dump_all(crds, sort_keys=False).encode()))
    return root


def test_a_chart_version_bump_changes_the_crds_the_upgrade_job_applies(tmp_path, monkeypatch):
    pinned = applied_by_the_upgrade_job(rendered(stack_values()))
    assert pinned, "no CRD upgrade Job: a chart bump would leave the CRDs of the first install in place"
    monkeypatch.setenv(ENV_VAR, str(_bumped_chart(tmp_path, "88.6.0")))
    monkeypatch.setattr(render, "_renders", {})  # the render cache is keyed by chart name, not by its folder
    bumped_release = rendered(stack_values())
    assert bumped_release.version == "88.6.0"
    bumped = applied_by_the_upgrade_job(bumped_release)
    assert sorted(bumped) == sorted(pinned)
    assert {name for name in pinned if pinned[name] != bumped[name]} == set(pinned)
    assert {crd["metadata"]["annotations"][BUMPED_ANNOTATION] for crd in bumped.values()} == {BUMPED_OPERATOR}
    monitor = bumped["servicemonitors.monitoring.coreos.com"]
    assert (
        "bumpedField" in monitor["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    )
