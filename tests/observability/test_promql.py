"""Every PromQL expression we ship parses with a real PromQL parser and reads only metrics the stack exports.

Expressions: the alert rules, every query of our GPU pools dashboard, and every query of the two upstream
dashboards we load. The oracle for "exported" is tests/data/observability/exported-metrics.yaml (Karpenter,
kube-state-metrics and node-exporter, listed from their sources at the pinned versions) plus the DCGM fields the
stack configures, each of which must be one dcgm-exporter 4.8.2 knows (its chart's field catalogue in
../shared/upstream).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from components.observability import alerts, dashboards, dcgm
from tests.support import promql
from tests.support.upstream import upstream_file

ORACLE = Path(__file__).resolve().parents[1] / "data" / "observability" / "exported-metrics.yaml"


def _oracle() -> dict:
    return yaml.safe_load(ORACLE.read_text())


def dcgm_catalogue() -> dict[str, str]:
    """Field -> Prometheus type of every field dcgm-exporter 4.8.2's chart lists (commented out or not)."""
    text = upstream_file("charts", "dcgm-exporter", "templates", "metrics-configmap.yaml").read_text()
    return dict(re.findall(r"^\s*#?\s*(DCGM_FI_[A-Z0-9_]+)\s*,\s*(\w+)\s*,", text, re.M))


def exported() -> set[str]:
    oracle = _oracle()
    names = {
        m for exporter in ("karpenter", "kube-state-metrics", "node-exporter") for m in oracle[exporter]["metrics"]
    }
    return names | set(dcgm.DCGM_METRICS)


def shipped_expressions() -> list[tuple[str, str]]:
    found = [(f"alert {a.name}", a.expr) for a in alerts.ALERTS]
    ours = dashboards.gpu_pools_dashboard(["shared", "mig"])
    found += [(f"GPU pools {where}", promql.substitute(e)) for where, e in promql.dashboard_queries(ours)]
    for file_name in dashboards.UPSTREAM_DASHBOARDS:
        upstream = json.loads(dashboards.upstream_dashboard(file_name))
        found += [(f"{file_name} {where}", promql.substitute(e)) for where, e in promql.dashboard_queries(upstream)]
    return found


EXPRESSIONS = shipped_expressions()


@pytest.mark.parametrize(("where", "expr"), EXPRESSIONS, ids=[w for w, _ in EXPRESSIONS])
def test_every_shipped_expression_parses_and_reads_only_exported_metrics(where, expr):
    names = promql.metric_names(expr)
    assert names, f"{where}: selects no metric"
    assert promql.unknown_metrics(names, exported()) == []


def test_every_configured_dcgm_field_is_one_the_exporter_knows_with_its_type():
    catalogue = dcgm_catalogue()
    assert len(catalogue) > 40  # the chart's whole catalogue, not a stray match
    assert {field: catalogue.get(field) for field, _, _ in dcgm.DCGM_FIELDS} == {
        field: kind for field, kind, _ in dcgm.DCGM_FIELDS
    }


def test_the_oracle_lists_what_the_alerts_and_panels_rely_on():
    oracle = _oracle()
    assert {
        "karpenter_nodepools_cost_total",
        "karpenter_nodes_allocatable",
        "karpenter_cloudprovider_errors_total",
        "karpenter_nodeclaims_disrupted_total",
    } <= set(oracle["karpenter"]["metrics"])
    assert {"kube_node_labels", "kube_pod_status_phase", "kube_pod_container_resource_requests"} <= set(
        oracle["kube-state-metrics"]["metrics"]
    )


def test_a_misspelt_metric_is_reported():
    names = promql.metric_names('sum(karpenter_nodepool_usage{resource_type="nvidia.com/gpu"})')
    assert promql.unknown_metrics(names, exported()) == ["karpenter_nodepool_usage"]


def test_a_histograms_series_count_as_the_histogram():
    assert promql.unknown_metrics({"karpenter_pods_startup_duration_seconds_bucket"}, exported()) == []
    assert promql.unknown_metrics({"karpenter_pods_state_bucket"}, {"karpenter_pods_startup"}) == [
        "karpenter_pods_state_bucket"
    ]


@pytest.mark.parametrize("bad", ["rate(karpenter_nodes_created_total)", "sum(up", "up[5x]", "sum by (pool) up"])
def test_bad_promql_is_refused_by_the_parser(bad):
    with pytest.raises(ValueError):
        promql.metric_names(bad)


def test_grafana_variables_are_replaced_before_parsing_and_label_replace_groups_are_kept():
    expr = (
        'sum(rate(x{pool=~"$pool", gpu="${gpu:regex}"}[$__rate_interval])) + label_replace(y, "a", "$1", "b", "(.+)")'
    )
    assert promql.substitute(expr) == 'sum(rate(x{pool=~"x", gpu="x"}[5m])) + label_replace(y, "a", "$1", "b", "(.+)")'
