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

# One DCGM host engine (nv-hostengine) per GPU node, whatever the stack shape. NVIDIA: several host engines on one
# node is "not an officially supported configuration ... may lead to deadlocks" (NVIDIA/DCGM#108); profiling (DCP)
# fields need the one system-wide profiling lock (NVIDIA/DCGM#56); an embedded engine beside another "would fail to
# initialize some modules" (NVIDIA/dcgm-exporter#61); AWS tracks the node monitoring agent next to an existing DCGM
# giving AcceleratedHardwareReady=False and Karpenter replacing the node (aws/containers-roadmap#2763, #2555).
#
# * nodeHealth.autoRepair on: the agent's dcgm-server DaemonSet (aws/eks-node-monitoring-agent v1.7.0
#   charts/eks-node-monitoring-agent/templates/dcgm-daemonset.yaml: `nv-hostengine -n -b ALL`, hostPort 5555) is the
#   node's engine; every exporter connects to it instead of starting its own.
# * autoRepair off: the exporter embeds the node's only engine (both charts' default).
# The placement stage models this per node (preflight/placement/host_engines.py) and fails on two engines.
HOST_ENGINE_PORT = 5555
# The standalone chart's exporter reaches the agent's hostPort on its node's IP (the downward API's status.hostIP):
# Kubernetes expands $(NODE_IP) in args from the container's env (dcgm-exporter chart 4.8.2 values.yaml "arguments":
# `-r <HOST>:<PORT>` "to connect to an already running hostengine"; `extraEnv` is appended to the container env).
NODE_IP_ENV = "NODE_IP"
# The GPU Operator's exporter: with its standalone DCGM off, a DCGM_REMOTE_HOSTENGINE_INFO starting with "localhost"
# makes the operator run the exporter with hostNetwork (gpu-operator v26.7.0 controllers/object_controls.go
# TransformDCGMExporter, "case for DCGM running on the host itself"), so localhost:5555 is the node's, which the
# agent's hostPort answers (CNI portmap with snat sets route_localnet so 127/8 reaches a hostPort, as the VPC CNI
# configures it).
REMOTE_HOSTENGINE_ENV = "DCGM_REMOTE_HOSTENGINE_INFO"
OPERATOR_REMOTE_HOSTENGINE = f"localhost:{HOST_ENGINE_PORT}"
# The chart's default exporter arguments (dcgm-exporter chart 4.8.2 values.yaml `arguments`), which setting
# `arguments` replaces.
STANDALONE_DEFAULT_ARGUMENTS = ("-f", "/etc/dcgm-exporter/default-counters.csv")
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
    gpu_node_selector: dict[str, str], gpu_tolerations: list[dict[str, Any]], *, agent_host_engine: bool
) -> dict[str, Any]:
    """Values for the dcgm-exporter chart (device-plugin stacks): on GPU nodes only, scraped, our field list;
    `agent_host_engine` (nodeHealth.autoRepair): connect to the agent's engine instead of embedding one."""
    values: dict[str, Any] = {
        # customMetrics replaces the chart's list in the ConfigMap it mounts over default-counters.csv.
        "customMetrics": counters_csv(),
        "nodeSelector": dict(gpu_node_selector),
        "tolerations": [dict(t) for t in gpu_tolerations],
        "serviceMonitor": service_monitor(),
    }
    if agent_host_engine:
        values["arguments"] = [*STANDALONE_DEFAULT_ARGUMENTS, "-r", f"$({NODE_IP_ENV}):{HOST_ENGINE_PORT}"]
        values["extraEnv"] = [{"name": NODE_IP_ENV, "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}}]
    return values


def gpu_operator_exporter_values(*, service_monitor_enabled: bool, agent_host_engine: bool) -> dict[str, Any]:
    """The GPU Operator chart's `dcgmExporter` values for the same exporter settings (its ConfigMap key is
    dcgm-metrics.csv, gpu-operator v26.7.0 templates/dcgm_exporter_config.yaml). Without a metrics stack there is no
    Prometheus Operator to read a ServiceMonitor; the exporter still serves /metrics. `agent_host_engine`: connect to
    the agent's engine (with the operator's standalone DCGM off, components.gpu.nvidia_values)."""
    values: dict[str, Any] = {
        "serviceMonitor": service_monitor() if service_monitor_enabled else {"enabled": False},
        "config": {"create": True, "name": OPERATOR_METRICS_CONFIGMAP, "data": counters_csv()},
    }
    if agent_host_engine:
        values["env"] = [{"name": REMOTE_HOSTENGINE_ENV, "value": OPERATOR_REMOTE_HOSTENGINE}]
    return values
