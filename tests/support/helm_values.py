"""Check Helm values against a chart's own values.yaml: a key the chart does not know is silently ignored
by Helm (no values.schema.json in these charts), which is how popular guides ship settings that do nothing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def load_chart_values(path: Path) -> dict[str, Any]:
    """The chart's default values."""
    return yaml.safe_load(path.read_text()) or {}


def unknown_value_paths(values: dict[str, Any], defaults: dict[str, Any], prefix: str = "",
                        free_form: tuple[str, ...] = ()) -> list[str]:
    """Dotted paths in `values` that the chart's defaults do not declare.

    A key is known when the chart declares it. Below a key whose default is an empty map ({}: free-form,
    e.g. annotations, resources, config.map) or a non-map value (a list or scalar we replace whole), any
    content is accepted; so it is below the dotted paths in `free_form` (maps such as nodeSelector whose
    chart default happens to be non-empty).
    """
    unknown: list[str] = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if key not in defaults:
            unknown.append(path)
            continue
        default = defaults[key]
        if isinstance(value, dict) and isinstance(default, dict) and default and path not in free_form:
            unknown.extend(unknown_value_paths(value, default, prefix=f"{path}.", free_form=free_form))
    return unknown
