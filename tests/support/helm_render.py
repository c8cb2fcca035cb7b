"""Render the program's Helm releases through the real upstream charts with a real Helm engine.

The engine is Helm's own Go SDK (PyPI `helm-python-sdk`, which binds `libhelm_c`); nothing here
re-implements templating. Charts come from `../shared/upstream/charts/<chart>` at the versions the
program pins. Its Python wrapper has no Kubernetes-version option, so `helm_render` is called natively
with `kube_version` (the option struct has it; SOURCE.txt of the charts shows it takes effect).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.upstream import upstream_dir


@dataclass(frozen=True)
class RenderedRelease:
    """What Helm renders for one release: every object, hooks included, by template path."""

    release: str
    chart: str
    version: str
    namespace: str
    objects: list[dict[str, Any]]  # each with metadata.annotations["gpu-eks.test/template"] = its template path


def chart_dir(chart: str) -> Path:
    """The upstream chart source for a chart name (e.g. "gpu-operator")."""
    return upstream_dir() / "charts" / chart


def render_chart(chart: str, values: dict[str, Any], *, release: str, namespace: str,
                 kube_version: str) -> RenderedRelease:
    """`helm template --kube-version` equivalent through the Go SDK: all templates, hooks included."""
    import helm_python as helm
    from helm_python import _native

    loaded = helm.Chart.load(str(chart_dir(chart)))
    options = {"name": release, "namespace": namespace, "is_install": True, "kube_version": f"v{kube_version}.0"}
    rendered = json.loads(_native.call_string("helm_render", loaded._raw(), json.dumps(values), json.dumps(options)))
    objects: list[dict[str, Any]] = []
    for template, text in sorted(rendered.items()):
        for document in yaml.safe_load_all(text):
            if isinstance(document, dict) and document:
                document.setdefault("metadata", {}).setdefault("annotations", {})["gpu-eks.test/template"] = template
                objects.append(document)
    return RenderedRelease(release=release, chart=chart, version=loaded.version, namespace=namespace, objects=objects)
