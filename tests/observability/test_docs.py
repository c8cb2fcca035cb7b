"""docs/observability.md's metrics and node-health sections say what the code does."""

from __future__ import annotations

from components.observability import alerts, health
from preflight.model.harness import REPO_ROOT

README = (REPO_ROOT / "docs" / "observability.md").read_text()
METRICS = README.split("## Metrics, dashboards and alerts", 1)[1].split("## GPU health and node repair", 1)[0]
HEALTH = README.split("## GPU health and node repair", 1)[1].split("\n## ", 1)[0]


def test_every_alert_has_its_runbook_line_in_the_readme():
    for alert in alerts.ALERTS:
        assert f"- **`{alert.name}`** (" in METRICS, alert.name
        assert f"Runbook: {alert.runbook}" in METRICS, alert.name


def test_the_repair_table_is_karpenters_repair_policies():
    minutes = {"10m": "10 minutes", "30m": "30 minutes"}
    rows = {
        ("Ready", "False"): "| `Ready` | `False` or `Unknown` |",
        ("Ready", "Unknown"): "| `Ready` | `False` or `Unknown` |",
        ("AcceleratedHardwareReady", "False"): "| `AcceleratedHardwareReady` (",
    }
    for condition, status, after in health.REPAIR_POLICIES:
        row = rows.get((condition, status)) or next(
            line for line in HEALTH.splitlines() if line.startswith("| `StorageReady`")
        )
        line = next(line for line in HEALTH.splitlines() if line.startswith(row))
        assert f"`{condition}`" in line and line.endswith(f"| {minutes[after]} |"), (condition, line)
    assert f"{health.REPAIR_SAFETY_SHARE:.0%}" in HEALTH


def test_the_readme_does_not_promise_per_pod_attribution_on_shared_gpus():
    assert "under time-slicing the exporter labels a GPU's metrics with one of the" in METRICS
    assert "never\nper pod" in METRICS or "never per pod" in METRICS
