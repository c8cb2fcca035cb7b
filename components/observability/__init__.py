"""Observability: the metrics stack (in-cluster Prometheus or AMP), GPU metrics, dashboards, alerts, node health."""
