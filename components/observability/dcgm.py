"""GPU metrics: the DCGM fields we export and how the exporter is configured, for either NVIDIA chart.

One field list for both the standalone dcgm-exporter chart and the GPU Operator's exporter, so the dashboards and
alerts see the same metrics whichever chart a stack runs (the operator's image otherwise brings its own default
list, a different one). Every field here is one dcgm-exporter 4.8.2 knows: its chart lists them all in
templates/metrics-configmap.yaml (tested against ../shared/upstream/charts/dcgm-exporter).
"""

from __future__ import annotations

from typing import Any

from components.observability.names import NODE_RELABELING

# (DCGM field, Prometheus type, help). Types and help as dcgm-exporter 4.8.2 declares them.
DCGM_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz)."),
    ("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz)."),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C)."),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."),
    ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", "Total energy consumption since boot (in mJ)."),
    ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "Total number of PCIe retries."),
    # Whole GPUs only: DCGM reports no GPU_UTIL for a MIG-enabled GPU; GR_ENGINE_ACTIVE below covers MIG.
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %)."),
    ("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered."),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB)."),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB)."),
    ("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "counter", "Number of remapped rows for uncorrectable errors"),
    ("DCGM_FI_DEV_ROW_REMAP_FAILURE", "gauge", "Whether remapping of rows has failed"),
    # Profiling (DCP) fields: per GPU and per MIG instance.
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active."),
    ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gauge", "Ratio of cycles the tensor (HMMA) pipe is active."),
    (
        "DCGM_FI_PROF_DRAM_ACTIVE",
        "gauge",
        "Ratio of cycles the device memory interface is active sending or receiving data.",
    ),
)
DCGM_METRICS = tuple(field for field, _, _ in DCGM_FIELDS)

# Each exporter runs its own DCGM host engine, as both charts do by default. With nodeHealth.autoRepair the EKS node
# monitoring agent runs a second one (its dcgm-server DaemonSet); that one watches device and NVSwitch health fields
# only, no profiling (DCP) fields (aws/eks-node-monitoring-agent v1.7.0 monitors/nvidia/dcgm/dcgm_client.go), so
# the exporter's DCP fields, which one engine per GPU may serve (aws/eks-node-monitoring-agent#256), are not
# contended. The GPU Operator's own engine (nvidia-dcgm) listens on a container port, not the agent's hostPort 5555.
SCRAPE_INTERVAL = "30s"
# ConfigMap holding the field list for the GPU Operator's exporter (the operator reads key dcgm-metrics.csv).
OPERATOR_METRICS_CONFIGMAP = "gpu-eks-dcgm-metrics"


def counters_csv() -> str:
    """The field list in dcgm-exporter's CSV format (field, type, help)."""
    header = "# DCGM field, Prometheus metric type, help message (gpu-eks: components/observability/dcgm.py)\n"
    return header + "".join(f"{field}, {kind}, {help_text}\n" for field, kind, help_text in DCGM_FIELDS)


def service_monitor() -> dict[str, Any]:
    """The ServiceMonitor settings both charts take (same keys in both values files)."""
    return {"enabled": True, "interval": SCRAPE_INTERVAL, "relabelings": [dict(NODE_RELABELING)]}


def standalone_exporter_values(
    gpu_node_selector: dict[str, str], gpu_tolerations: list[dict[str, Any]]
) -> dict[str, Any]:
    """Values for the dcgm-exporter chart (device-plugin stacks): on GPU nodes only, scraped, our field list."""
    return {
        # customMetrics replaces the chart's list in the ConfigMap it mounts over default-counters.csv.
        "customMetrics": counters_csv(),
        "nodeSelector": dict(gpu_node_selector),
        "tolerations": [dict(t) for t in gpu_tolerations],
        "serviceMonitor": service_monitor(),
    }


def gpu_operator_exporter_values() -> dict[str, Any]:
    """The GPU Operator chart's `dcgmExporter` values for the same exporter settings (its ConfigMap key is
    dcgm-metrics.csv, gpu-operator v26.7.0 templates/dcgm_exporter_config.yaml)."""
    return {
        "serviceMonitor": service_monitor(),
        "config": {"create": True, "name": OPERATOR_METRICS_CONFIGMAP, "data": counters_csv()},
    }
