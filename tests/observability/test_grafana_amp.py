"""Grafana can query Amazon Managed Prometheus (issue 19 item 3).

The pinned Grafana (kube-prometheus-stack 88.5.3 -> grafana chart 12.11.1, appVersion 13.2.0) has no SigV4 in its core
Prometheus data source: Grafana 13 migrates SigV4 Prometheus data sources at start-up to the separate
`grafana-amazonprometheus-datasource` plugin, which nothing installed. These render the real chart with the amp values
and read the data source Grafana's sidecar provisions and the plugins Grafana installs before it starts.
"""

from __future__ import annotations

from typing import Any

import yaml

from components import versions
from components.observability import alerts, values
from components.observability.config import ObservabilityConfig, ObservabilityMode
from components.observability.names import MONITORING_NAMESPACE, STACK_RELEASE
from preflight.helm.render import render_chart

ENDPOINT = "https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-0123/"
PLUGIN = "grafana-amazonprometheus-datasource"
# Independent facts (read 2026-12-06): Grafana 13 core Prometheus has no SigV4 (grafana.com docs, "Migrate from
# Prometheus SigV4 to Amazon Managed Service for Prometheus"); plugin v3.2.0's src/plugin.json grafanaDependency
# ">=11.6.11-0 <12 || >=12.0.10-0 <12.1 || >=12.1.7-0 <12.2 || >=12.2.5-0".
FIRST_GRAFANA_WITHOUT_CORE_SIGV4 = (13, 0, 0)
PLUGIN_320_MIN_GRAFANA = (12, 2, 5)


def rendered(mode: ObservabilityMode) -> list[dict[str, Any]]:
    config = ObservabilityConfig(mode=mode)
    urls = {"remote_write_url": f"{ENDPOINT}api/v1/remote_write", "query_url": ENDPOINT} if mode == "amp" else {}
    chart_values = values.stack_values(config, region="us-west-2", rule_groups=alerts.rule_groups(), **urls)
    return render_chart(
        versions.KUBE_PROMETHEUS_STACK_CHART,
        chart_values,
        release=STACK_RELEASE,
        namespace=MONITORING_NAMESPACE,
        kube_version="1.34",
    ).objects


def provisioned_datasources(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every data source in a ConfigMap Grafana's datasource sidecar loads (label grafana_datasource)."""
    sources: list[dict[str, Any]] = []
    for obj in objects:
        if obj["kind"] == "ConfigMap" and "grafana_datasource" in (obj["metadata"].get("labels") or {}):
            for text in (obj.get("data") or {}).values():
                sources += yaml.safe_load(text).get("datasources") or []
    return sources


def grafana_version(objects: list[dict[str, Any]]) -> tuple[int, ...]:
    (deployment,) = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-grafana")]
    (grafana,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "grafana"]
    return tuple(int(p) for p in grafana["image"].rsplit(":", 1)[1].split("."))


def preinstalled_plugins(objects: list[dict[str, Any]]) -> list[str]:
    """What Grafana installs before it starts: GF_PLUGINS_PREINSTALL_SYNC, read from the ConfigMap key it names."""
    (deployment,) = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-grafana")]
    (grafana,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "grafana"]
    refs = [
        e["valueFrom"]["configMapKeyRef"] for e in grafana.get("env") or [] if e["name"] == "GF_PLUGINS_PREINSTALL_SYNC"
    ]
    if not refs:
        return []
    (ref,) = refs
    (configmap,) = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == ref["name"]]
    return configmap["data"][ref["key"]].split(",")


def test_the_pinned_grafana_has_no_core_sigv4_so_the_plugin_is_needed():
    # If the chart moved to a Grafana with core SigV4 again, this design would be worth revisiting.
    assert grafana_version(rendered(ObservabilityMode.AMP)) >= FIRST_GRAFANA_WITHOUT_CORE_SIGV4


def test_amp_grafana_queries_the_workspace_through_the_amazon_prometheus_plugin_with_sigv4():
    objects = rendered(ObservabilityMode.AMP)
    (source,) = provisioned_datasources(objects)
    assert source["type"] == PLUGIN
    assert source["url"] == ENDPOINT and source["access"] == "proxy" and source["isDefault"] is True
    assert source["jsonData"]["sigV4Auth"] is True
    assert source["jsonData"]["sigV4AuthType"] == "default"  # the SDK chain finds the Pod Identity credentials
    assert source["jsonData"]["sigV4Region"] == "us-west-2"
    assert source["jsonData"]["sigv4Service"] == "aps"
    # The dashboards and the rule links reference the data source by this uid.
    assert source["uid"] == "prometheus"


def test_no_provisioned_datasource_asks_core_prometheus_for_sigv4():
    for mode in (ObservabilityMode.AMP, ObservabilityMode.IN_CLUSTER):
        offenders = [
            s["name"]
            for s in provisioned_datasources(rendered(mode))
            if s["type"] == "prometheus" and (s.get("jsonData") or {}).get("sigV4Auth")
        ]
        assert offenders == [], mode


def test_grafana_preinstalls_the_pinned_plugin_version_which_supports_the_pinned_grafana():
    objects = rendered(ObservabilityMode.AMP)
    assert preinstalled_plugins(objects) == [f"{PLUGIN}@3.2.0"]
    assert versions.GRAFANA_AMP_DATASOURCE_PLUGIN_VERSION == "3.2.0"  # the fact table above is for this version
    assert grafana_version(objects) >= PLUGIN_320_MIN_GRAFANA


def test_in_cluster_grafana_installs_no_plugin():
    assert preinstalled_plugins(rendered(ObservabilityMode.IN_CLUSTER)) == []
