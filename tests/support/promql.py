"""PromQL checks with a real parser: parse an expression and list the metrics it reads.

The parser is PyPI `promql-parser` (Rust bindings of GreptimeTeam/promql-parser, a port of Prometheus' own
parser: it type-checks function arguments, so `rate(foo)` is refused like Prometheus refuses it). Grafana's
template variables are not PromQL, so `substitute` turns them into something the parser accepts first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import promql_parser

# Grafana's interval variables ($__rate_interval, ${__range}, ...) stand where a duration goes.
_INTERVAL = re.compile(r"\$\{?__[a-z_]+\}?")
# Other template variables ($pool, ${datasource}, ${gpu:regex}) stand in label values: any word will do.
# `$1` in label_replace is not a variable (it must start with a letter or "_").
_VARIABLE = re.compile(r"\$\{?([A-Za-z_]\w*)(?::\w+)?\}?")
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def substitute(expr: str) -> str:
    """A dashboard query with Grafana's variables replaced by values the PromQL grammar accepts."""
    return _VARIABLE.sub("x", _INTERVAL.sub("5m", expr))


def metric_names(expr: str) -> set[str]:
    """Every metric name an expression selects (parsing it: ValueError on bad PromQL)."""
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if not node.name:
                raise ValueError(f"selector without a metric name in {expr!r}")
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def unknown_metrics(names: Iterable[str], exported: set[str]) -> list[str]:
    """Names no exporter exports (a histogram's _bucket/_count/_sum count as the histogram)."""

    def known(name: str) -> bool:
        return name in exported or any(name.endswith(s) and name[: -len(s)] in exported for s in HISTOGRAM_SUFFIXES)

    return sorted(n for n in names if not known(n))


def dashboard_queries(dashboard: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, expression) for every panel target and every query variable of a Grafana dashboard."""

    def panels(items: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels") or [])

    for panel in panels(dashboard.get("panels") or []):
        for target in panel.get("targets") or []:
            if (target.get("expr") or "").strip():
                yield f"panel {panel.get('title')!r} {target.get('refId')}", target["expr"]
    for variable in (dashboard.get("templating") or {}).get("list") or []:
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        query = query.get("query") if isinstance(query, Mapping) else query
        match = re.fullmatch(r"\s*(?:label_values|query_result)\((.*?)(?:,\s*\w+)?\)\s*", query or "")
        if match is None:
            raise ValueError(f"variable {variable.get('name')!r}: unrecognised query {query!r}")
        yield f"variable {variable.get('name')!r}", match.group(1)
