"""Dashboards as code: the upstream Karpenter capacity and DCGM dashboards (kept byte for byte, see
dashboards/SOURCE.txt) and our own "GPU pools" dashboard, each as a ConfigMap Grafana's sidecar loads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.common.names import POOL_LABEL
from components.observability.alerts import KARPENTER_GPU_RESOURCES, KSM_GPU_RESOURCES
from components.observability.names import (
    DASHBOARD_LABEL,
    DASHBOARD_LABEL_VALUE,
    MONITORING_NAMESPACE,
    NODE_METRIC_LABEL,
    ksm_label,
)

DASHBOARD_DIR = Path(__file__).parent / "dashboards"
# file name -> ConfigMap name. Grafana finds each by its uid, which the upstream files carry.
UPSTREAM_DASHBOARDS = {
    "karpenter-capacity-dashboard.json": "dashboard-karpenter-capacity",
    "dcgm-exporter-dashboard.json": "dashboard-dcgm-exporter",
}
GPU_POOLS_UID = "gpu-eks-gpu-pools"
GPU_POOLS_CONFIGMAP = "dashboard-gpu-pools"
POOL = ksm_label(POOL_LABEL)
SUBQUERY_STEP = "5m"


def upstream_dashboard(file_name: str) -> str:
    """An upstream dashboard's JSON text, exactly as published."""
    return (DASHBOARD_DIR / file_name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Panel:
    """One panel: a title, its queries (legend -> PromQL) and how to draw it."""

    title: str
    queries: tuple[tuple[str, str], ...]
    unit: str
    kind: str = "timeseries"
    description: str = ""


# GPU node -> pool (its NodePool name, the value of gpu-eks/pool), as a `nodepool` label like Karpenter's metrics.
NODE_POOL = (
    f'max by ({NODE_METRIC_LABEL}, nodepool) (label_replace(kube_node_labels{{{POOL}=~"$pool"}}, '
    f'"nodepool", "$1", "{POOL}", "(.+)"))'
)


def _by_pool(aggregation: str, per_node: str) -> str:
    """Aggregate a per-node GPU expression by pool."""
    return f"{aggregation} by (nodepool) ({per_node} * on ({NODE_METRIC_LABEL}) group_left (nodepool) {NODE_POOL})"


SLICES_ALLOCATABLE = (
    f'sum by (nodepool) (karpenter_nodes_allocatable{{nodepool=~"$pool", resource_type=~"{KARPENTER_GPU_RESOURCES}"}})'
)
SLICES_REQUESTED = (
    "sum by (nodepool) (karpenter_nodes_total_pod_requests"
    f'{{nodepool=~"$pool", resource_type=~"{KARPENTER_GPU_RESOURCES}"}})'
)
# Slices held by pods that run: requests of Running pods (a pod still pulling its image holds its slice, Pending).
SLICES_IN_USE = _by_pool(
    "sum",
    f'(sum by (node, namespace, pod) (kube_pod_container_resource_requests{{resource=~"{KSM_GPU_RESOURCES}"}})'
    ' * on (namespace, pod) group_left () max by (namespace, pod) (kube_pod_status_phase{phase="Running"}))',
)
POOL_COST_PER_HOUR = 'sum by (nodepool) (karpenter_nodepools_cost_total{nodepool=~"$pool"})'
GPU_UTILISATION = _by_pool("avg", "max by (node, gpu) (DCGM_FI_DEV_GPU_UTIL)")
MIG_UTILISATION = "100 * " + _by_pool(
    "avg", 'max by (node, gpu, GPU_I_ID) (DCGM_FI_PROF_GR_ENGINE_ACTIVE{GPU_I_ID!=""})'
)
GPU_MEMORY_USED = _by_pool("sum", "max by (node, gpu, GPU_I_ID) (DCGM_FI_DEV_FB_USED)")
GPU_MEMORY_TOTAL = _by_pool("sum", "max by (node, gpu, GPU_I_ID) (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)")

PANELS: tuple[Panel, ...] = (
    Panel(
        "Slices: allocatable, requested, in use",
        (
            ("{{nodepool}} allocatable", SLICES_ALLOCATABLE),
            ("{{nodepool}} requested", SLICES_REQUESTED),
            ("{{nodepool}} in use", SLICES_IN_USE),
        ),
        "short",
        description="Allocatable: what the pool's nodes advertise. Requested: what pods bound to them ask "
        "for. In use: the requests of pods that are Running.",
    ),
    Panel(
        "Nodes by instance type and capacity type",
        (
            (
                "{{nodepool}} {{instance_type}} {{capacity_type}}",
                "count by (nodepool, instance_type, capacity_type) "
                '(karpenter_nodes_allocatable{nodepool=~"$pool", resource_type="cpu"})',
            ),
        ),
        "short",
        kind="timeseries",
    ),
    Panel(
        "GPU utilisation",
        (
            ("{{nodepool}} (whole GPUs)", GPU_UTILISATION),
            ("{{nodepool}} (MIG instances)", MIG_UTILISATION),
        ),
        "percent",
        description="DCGM_FI_DEV_GPU_UTIL per physical GPU; MIG-enabled GPUs report none, so MIG "
        "pools show DCGM_FI_PROF_GR_ENGINE_ACTIVE per GPU instance.",
    ),
    Panel("GPU memory used", (("{{nodepool}}", f"100 * {GPU_MEMORY_USED} / {GPU_MEMORY_TOTAL}"),), "percent"),
    Panel(
        "Pool cost per hour",
        (("{{nodepool}}", POOL_COST_PER_HOUR),),
        "currencyUSD",
        description="Karpenter's estimate: the on-demand or spot price of each of the pool's instances (its "
        "pricing data), not the bill.",
    ),
    Panel(
        "Cost per used slice-hour",
        (("{{nodepool}}", f"{POOL_COST_PER_HOUR} / ({SLICES_IN_USE} > 0)"),),
        "currencyUSD",
        description="The pool's cost per hour divided by the slices in use now.",
    ),
    Panel(
        "Cost per used slice-hour over the time range",
        (
            (
                "{{nodepool}}",
                f"sum by (nodepool) (sum_over_time(({POOL_COST_PER_HOUR})[$__range:{SUBQUERY_STEP}]))"
                f" / sum by (nodepool) (sum_over_time(({SLICES_IN_USE})[$__range:{SUBQUERY_STEP}]))",
            ),
        ),
        "currencyUSD",
        kind="stat",
        description="Everything the pool cost over the range divided by the slice-hours "
        "its Running pods held (both sampled every 5 minutes).",
    ),
)


def _panel(index: int, panel: Panel) -> dict[str, Any]:
    width = 12
    return {
        "id": index + 1,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": width, "x": (index % 2) * width, "y": (index // 2) * 8},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "targets": [
            {
                "refId": chr(ord("A") + n),
                "expr": expr,
                "legendFormat": legend,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
            }
            for n, (legend, expr) in enumerate(panel.queries)
        ],
    }


def gpu_pools_dashboard(pool_names: Sequence[str]) -> dict[str, Any]:
    """Our GPU pools dashboard for the stack's pools."""
    return {
        "uid": GPU_POOLS_UID,
        "title": "GPU pools",
        "tags": ["gpu-eks", "gpu", "karpenter"],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "1m",
        "time": {"from": "now-24h", "to": "now"},
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
                {
                    "name": "pool",
                    "type": "custom",
                    "label": "GPU pool",
                    "multi": True,
                    "includeAll": True,
                    "allValue": "|".join(pool_names),
                    "query": ",".join(pool_names),
                    "current": {"text": "All", "value": "$__all"},
                },
            ]
        },
        "panels": [_panel(i, p) for i, p in enumerate(PANELS)],
    }


def dashboard_configmaps(pool_names: Sequence[str]) -> list[dict[str, Any]]:
    """One ConfigMap per dashboard, labelled for Grafana's dashboard sidecar."""
    dashboards = {
        name: (f"{name.removeprefix('dashboard-')}.json", upstream_dashboard(file_name))
        for file_name, name in UPSTREAM_DASHBOARDS.items()
    }
    if pool_names:
        dashboards[GPU_POOLS_CONFIGMAP] = ("gpu-pools.json", json.dumps(gpu_pools_dashboard(pool_names), indent=1))
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": MONITORING_NAMESPACE,
                "labels": {DASHBOARD_LABEL: DASHBOARD_LABEL_VALUE},
            },
            "data": {key: text},
        }
        for name, (key, text) in sorted(dashboards.items())
    ]
