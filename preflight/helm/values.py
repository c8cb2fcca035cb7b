"""Check Helm values against a chart's own values.yaml: a key the chart does not know is silently ignored by
Helm (only a chart with a values.schema.json that forbids extra keys would object), which is how popular
guides ship settings that do nothing.

Known keys come from the chart's values.yaml and, for each subchart, from the subchart's values.yaml under
the key Helm hands to it (the dependency's alias, else its name: `nfd` in nvidia-device-plugin,
`node-feature-discovery` in gpu-operator), plus `global`, plus the dependency conditions and tags (e.g.
`nfd.enabled`, read by Helm itself). `chart_known_values` reads all of that from the chart source folder
through Helm's own loader, so a subchart packed as a .tgz (nvidia-device-plugin's NFD) is read the same way
as an unpacked one (gpu-operator's).

What counts as free-form (contents not checked against values.yaml), and why:

* below a key whose default is an empty map (`annotations: {}`, `resources: {}`, `config.map: {}`,
  `devicePlugin.config.data: {}`): the chart declares an open map that it passes through or iterates;
* below a key whose default is not a map (a list such as `tolerations`, a scalar, or null): the value
  replaces the default whole, and there are no declared sub-keys to compare with;
* below the Kubernetes pass-through keys in `KUBERNETES_PASSTHROUGH_KEYS` wherever they appear
  (`nodeSelector`, `affinity`, `securityContext`, ...): charts copy them into the pod spec with `toYaml`,
  and their chart defaults are often a non-empty example (Karpenter's `nodeSelector: {kubernetes.io/os:
  linux}`), which would otherwise make every other label "unknown". Their contents are not unchecked: they
  land in the rendered objects, which preflight/validate/kubernetes.py validates against Kubernetes' strict
  OpenAPI schema (so a misspelt securityContext field still fails);
* below the dotted paths a caller passes as `free_form`.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Keys named after Kubernetes API fields that charts pass into objects verbatim (see the module docstring).
KUBERNETES_PASSTHROUGH_KEYS = frozenset(
    {
        "nodeSelector",
        "affinity",
        "tolerations",
        "topologySpreadConstraints",
        "resources",
        "securityContext",
        "podSecurityContext",
        "containerSecurityContext",
        "labels",
        "annotations",
        "podLabels",
        "podAnnotations",
    }
)


def load_chart_values(path: Path) -> dict[str, Any]:
    """The chart's default values (a values.yaml file)."""
    return yaml.load(path.read_text(), Loader=yaml.CSafeLoader) or {}


def unknown_value_paths(
    values: dict[str, Any],
    defaults: dict[str, Any],
    prefix: str = "",
    free_form: tuple[str, ...] = (),
    free_form_keys: frozenset[str] = KUBERNETES_PASSTHROUGH_KEYS,
) -> list[str]:
    """Dotted paths in `values` that the chart's defaults do not declare.

    A key is known when the defaults declare it. Below a key whose default is an empty map or a non-map
    value, below a key named in `free_form_keys`, and below the dotted paths in `free_form`, any content is
    accepted (module docstring).
    """
    unknown: list[str] = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if key not in defaults:
            unknown.append(path)
            continue
        default = defaults[key]
        if (
            isinstance(value, dict)
            and isinstance(default, dict)
            and default
            and path not in free_form
            and key not in free_form_keys
        ):
            unknown.extend(
                unknown_value_paths(
                    value, default, prefix=f"{path}.", free_form=free_form, free_form_keys=free_form_keys
                )
            )
    return unknown


@dataclass(frozen=True)
class ChartValues:
    """A chart's default values and its subcharts', by the values key Helm passes each subchart."""

    name: str
    version: str
    defaults: dict[str, Any]
    subcharts: dict[str, ChartValues] = field(default_factory=dict)  # alias (or name) -> subchart
    conditions: tuple[str, ...] = ()  # dotted condition paths of the dependencies, e.g. "nfd.enabled"
    tags: tuple[str, ...] = ()  # dependency tags, read from values under `tags.<tag>`


def _load(path: Path):
    import helm_python as helm

    return helm.Chart.load(str(path))


def _subchart_sources(chart_path: Path) -> dict[str, Path]:
    """Chart name -> source (folder or .tgz) of every subchart in `charts/`, read with Helm's loader."""
    sources: dict[str, Path] = {}
    folder = chart_path / "charts"
    if chart_path.is_dir() and folder.is_dir():
        for entry in sorted(folder.iterdir()):
            if (entry.is_dir() and (entry / "Chart.yaml").is_file()) or entry.name.endswith(".tgz"):
                with _load(entry) as sub:
                    sources[sub.name] = entry
    return sources


@functools.cache
def chart_values(chart_path: Path, missing_ok: frozenset[str] = frozenset()) -> ChartValues:
    """The values tree of a chart source folder (or .tgz): its values.yaml and its subcharts', recursively
    (cached: treat it as read-only).

    A dependency declared in Chart.yaml but absent from charts/ raises FileNotFoundError: Helm would refuse
    to render it, and checking values against a partial tree would pass keys it cannot judge. Only the
    dependencies named in `missing_ok` (those a render already reported missing, RenderedRelease.missing_subcharts)
    are left out instead; the caller must then treat their values as unchecked.
    """
    with _load(chart_path) as chart:
        metadata, defaults = chart.metadata, chart.values
    sources = _subchart_sources(chart_path)
    subcharts: dict[str, ChartValues] = {}
    conditions: list[str] = []
    tags: list[str] = []
    for dependency in metadata.get("dependencies") or []:
        name = dependency["name"]
        if name not in sources:
            if name in missing_ok:
                conditions += [c.strip() for c in (dependency.get("condition") or "").split(",") if c.strip()]
                continue
            raise FileNotFoundError(
                f"chart {metadata.get('name')} declares dependency {name} "
                f"{dependency.get('version')} but {chart_path}/charts/ does not hold it"
            )
        subcharts[dependency.get("alias") or name] = chart_values(sources[name])
        conditions += [c.strip() for c in (dependency.get("condition") or "").split(",") if c.strip()]
        tags += dependency.get("tags") or []
    return ChartValues(
        name=str(metadata.get("name")),
        version=str(metadata.get("version")),
        defaults=defaults,
        subcharts=subcharts,
        conditions=tuple(conditions),
        tags=tuple(tags),
    )


def _union(a: Any, b: Any) -> Any:
    """Known keys of two defaults for the same path: an empty map on either side keeps the path free-form."""
    if isinstance(a, dict) and isinstance(b, dict):
        if not a or not b:
            return {}
        merged = dict(a)
        for key, value in b.items():
            merged[key] = _union(merged[key], value) if key in merged else value
        return merged
    return a if isinstance(a, dict) else b


def _declare(tree: dict[str, Any], dotted: str) -> None:
    """Mark a dotted path as known (a condition Helm reads), unless a free-form value above it covers it."""
    node = tree
    *parents, leaf = dotted.split(".")
    for part in parents:
        if part not in node:
            node[part] = {}  # filled below, so it does not read as a free-form empty map
        elif not isinstance(node[part], dict) or not node[part]:
            return  # a scalar/list (replaced whole) or an empty map (free-form) already covers the path
        node = node[part]
    node.setdefault(leaf, True)


def _declared_globals(chart: ChartValues) -> list[Any]:
    found = [chart.defaults["global"]] if "global" in chart.defaults else []
    for sub in chart.subcharts.values():
        found += _declared_globals(sub)
    return found


def known_values(chart: ChartValues) -> dict[str, Any]:
    """One defaults tree for the whole chart: what `unknown_value_paths` should compare a release's values to.

    Under a subchart's key: the subchart's known values united with what the parent's values.yaml sets
    there. `global` (shared by parent and subcharts): the union of every chart's `global` defaults, free-form
    when none declares any. Dependency conditions and tags are known paths.
    """
    known = copy.deepcopy(chart.defaults)  # the tree below is edited in place; ChartValues is shared (cached)
    for key, sub in chart.subcharts.items():
        sub_known = known_values(sub)
        known[key] = _union(sub_known, known[key]) if key in known else sub_known
    if chart.subcharts:
        declared = _declared_globals(chart)
        known["global"] = declared[0] if declared else {}
        for more in declared[1:]:
            known["global"] = _union(known["global"], more)
    for condition in chart.conditions:
        _declare(known, condition)
    if chart.tags:
        tags = {tag: True for tag in chart.tags}
        known["tags"] = _union(known["tags"], tags) if "tags" in known else tags
    return known


def unknown_release_value_paths(
    values: dict[str, Any], chart: ChartValues | Path, free_form: tuple[str, ...] = ()
) -> list[str]:
    """Dotted paths in a release's `values` that neither the chart nor the subchart receiving them declares."""
    tree = chart if isinstance(chart, ChartValues) else chart_values(chart)
    return unknown_value_paths(values, known_values(tree), free_form=free_form)


def disabled_subchart_value_paths(values: dict[str, Any], chart: ChartValues, enabled: tuple[str, ...]) -> list[str]:
    """Values handed to a subchart Helm drops (its condition or tags are false): silently ignored too.

    `enabled` is `RenderedRelease.subcharts` (the keys Helm kept). Condition paths under the key (such as
    `nfd.enabled` in nvidia-device-plugin, where the alias is `nfd`) are what disable it, so not reported.
    """
    ignored: list[str] = []
    for key in chart.subcharts:
        if key in enabled or not isinstance(values.get(key), dict):
            continue
        ignored += [f"{key}.{child}" for child in values[key] if f"{key}.{child}" not in chart.conditions]
    return ignored


# Keys a chart reads in its templates but documents only as a comment in values.yaml, each with where it is read.
DOCUMENTED_IN_COMMENTS = {
    ("dcgm-exporter", "customMetrics"): "templates/metrics-configmap.yaml (dcgm-exporter 4.8.2)",
    ("gpu-operator", "dcgmExporter.config"): "templates/dcgm_exporter_config.yaml, clusterpolicy.yaml (v26.7.0)",
    # The IRSA role annotation (karpenter.identity irsa, AMP mode): commented out in values.yaml, read by
    # charts/grafana templates/serviceaccount.yaml (grafana 12.11.1).
    ("kube-prometheus-stack", "grafana.serviceAccount.annotations"): "charts/grafana templates/serviceaccount.yaml",
}
# Values whose content is free-form configuration the chart passes through whole.
FREE_FORM_VALUES = {
    # Rendered into grafana.ini section by section (grafana 12.11.1 templates/_config.tpl).
    "kube-prometheus-stack": ("grafana.grafana.ini",),
}


def ignored_release_value_paths(
    pin: dict[str, Any], chart: ChartValues, enabled_subcharts: tuple[str, ...], missing_subcharts: tuple[str, ...]
) -> list[str]:
    """The values of one release (`preflight.model.objects.helm_release_of`) that Helm would silently ignore: keys
    neither the chart nor the subchart receiving them declares, and values sent to a subchart Helm dropped. Values
    of a subchart missing from the chart source cannot be checked; the helm stage reports that gap itself."""
    paths = unknown_release_value_paths(pin["values"], chart, FREE_FORM_VALUES.get(pin["chart"], ()))
    paths += disabled_subchart_value_paths(pin["values"], chart, enabled_subcharts)
    return [
        p for p in paths if (pin["chart"], p) not in DOCUMENTED_IN_COMMENTS and p.split(".")[0] not in missing_subcharts
    ]
