"""What runs on a GPU node must work together: footguns whose upstream issue says a real node would not survive them.

* `dcgm-one-host-engine`: more than one DCGM host engine on a GPU node. NVIDIA: several host engines on one node is
  "not an officially supported configuration ... may lead to deadlocks" (NVIDIA/DCGM#108); profiling fields take one
  system-wide lock (NVIDIA/DCGM#56); an embedded engine beside another "would fail to initialize some modules"
  (NVIDIA/dcgm-exporter#61); AWS tracks the node monitoring agent next to another DCGM giving
  AcceleratedHardwareReady=False and Karpenter replacing the node (aws/containers-roadmap#2763, #2555). Applies to
  dcgm-exporter chart 4.x, gpu-operator v26.x (standalone `dcgm` off by default, exporter embeds its engine) and the
  eks-node-monitoring-agent add-on v1.7.x (its dcgm-server DaemonSet runs `nv-hostengine` on every amd64 GPU node).
* `no-mps-on-mig-pools`: MPS sharing on a MIG pool, or next to MIG in one device plugin. k8s-device-plugin v0.20.0:
  "Sharing with MPS is currently not supported on devices with MIG enabled" (README.md), "sharing using MPS is not
  supported for MIG devices" (internal/plugin/mps.go), and the plugin exits on "using --mig-strategy=mixed is not
  supported with MPS" (cmd/nvidia-device-plugin/main.go; CHANGELOG "Raise error for MPS when using MIG").

Both read what the program registers: the NVIDIA and dcgm-exporter Helm releases' values, the node monitoring agent
add-on and the NodePools' labels. Unknown values (a preview before the cluster exists) are skipped; `pulumi up`
checks them again.
"""

from __future__ import annotations

from typing import Any

import yaml
from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from components.gpu.names import DEVICE_PLUGIN_CONFIG_LABEL, MIG_CONFIG_LABEL

from .gpu import GPU_OPERATOR_CHART, device_plugin_configs
from .helpers import HELM_RELEASE, NODEPOOL, UNKNOWN, chart_name, describe, dig, has_unknown, plain, template_labels

ADDON = "aws:eks/addon:Addon"
NODE_MONITORING_AGENT = "eks-node-monitoring-agent"
DCGM_EXPORTER_CHART = "dcgm-exporter"
REMOTE_FLAGS = ("-r", "--remote-hostengine-info")
REMOTE_ENV = "DCGM_REMOTE_HOSTENGINE_INFO"
# gpu-operator v26.7.0 values.yaml: dcgm.enabled false ("use embedded nv-hostengine by exporter"), dcgmExporter
# enabled true, mig.strategy single.
OPERATOR_DEFAULTS = {"dcgm": False, "dcgmExporter": True, "mig.strategy": "single"}
MIG_DISABLED = "all-disabled"


def _remote(arguments: Any, env: Any) -> bool | None:
    """Whether an exporter connects to a running host engine (-r, or the env); None when unknown."""
    if has_unknown(arguments) or has_unknown(env):
        return None
    args = [str(a) for a in arguments] if isinstance(arguments, list) else []
    names = [e.get("name") for e in env if isinstance(e, dict)] if isinstance(env, list) else []
    return any(a in REMOTE_FLAGS or a.startswith(tuple(f + "=" for f in REMOTE_FLAGS)) for a in args) or (
        REMOTE_ENV in names
    )


def host_engines(resources: list[Any]) -> list[tuple[str, Any]] | None:
    """(what, urn) per DCGM host engine every GPU node runs, from the registered resources; None if unknown."""
    engines: list[tuple[str, Any]] = []
    for resource in resources:
        props = plain(resource.props)
        if resource.resource_type == ADDON and dig(props, "addonName") == NODE_MONITORING_AGENT:
            engines.append((f"the {NODE_MONITORING_AGENT} add-on's dcgm-server (nv-hostengine)", resource.urn))
        if resource.resource_type != HELM_RELEASE:
            continue
        subject = describe(resource.resource_type, resource.name, props)
        chart = chart_name(props)
        if chart == DCGM_EXPORTER_CHART:
            arguments = dig(props, "values", "arguments", default=[])
            remote = _remote(arguments, dig(props, "values", "extraEnv", default=[]))
            if remote is None:
                return None
            if not remote:
                engines.append((f"{subject}'s exporter (embedded host engine, no -r)", resource.urn))
        elif chart == GPU_OPERATOR_CHART:
            dcgm = dig(props, "values", "dcgm", "enabled", default=OPERATOR_DEFAULTS["dcgm"])
            exporter = dig(props, "values", "dcgmExporter", "enabled", default=OPERATOR_DEFAULTS["dcgmExporter"])
            if UNKNOWN in (dcgm, exporter):
                return None
            if dcgm is True:
                engines.append((f"{subject}'s standalone DCGM (nvidia-dcgm)", resource.urn))
            elif exporter is not False:
                remote = _remote(
                    dig(props, "values", "dcgmExporter", "args", default=[]),
                    dig(props, "values", "dcgmExporter", "env", default=[]),
                )
                if remote is None:
                    return None
                if not remote:
                    engines.append((f"{subject}'s exporter (embedded host engine, no {REMOTE_ENV})", resource.urn))
    return engines


def _validate_one_host_engine(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    engines = host_engines(list(args.resources))
    if engines is None or len(engines) <= 1:
        return
    report_violation(
        f"every GPU node would run {len(engines)} DCGM host engines: {'; '.join(what for what, _ in engines)}. NVIDIA "
        "supports one per node (NVIDIA/DCGM#108: may deadlock; NVIDIA/DCGM#56: profiling metrics need the one "
        "lock; NVIDIA/dcgm-exporter#61), and the agent beside another DCGM reports AcceleratedHardwareReady=False "
        "(aws/containers-roadmap#2763). Let the exporter connect to the node's engine: dcgm-exporter arguments "
        f"'-r <node IP>:5555', or the GPU Operator's dcgmExporter env {REMOTE_ENV}=localhost:5555 with dcgm.enabled "
        "false.",
        engines[1][1],
    )


dcgm_one_host_engine = StackValidationPolicy(
    name="dcgm-one-host-engine",
    description="At most one DCGM host engine runs on each GPU node (NVIDIA/DCGM#108, aws/containers-roadmap#2763).",
    validate=_validate_one_host_engine,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["gpu", "dcgm"],
)


def _shares_by_mps(text: Any) -> bool | None:
    if text is UNKNOWN:
        return None
    config = yaml.safe_load(text) if isinstance(text, str) else text
    resources = dig(config, "sharing", "mps", "resources", default=[]) if isinstance(config, dict) else []
    return isinstance(resources, list) and any(
        isinstance(r, dict) and isinstance(r.get("replicas"), int) and r["replicas"] > 1 for r in resources
    )


def _validate_no_mps_on_mig(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    mps_configs: set[str] = set()
    for resource in args.resources:
        if resource.resource_type != HELM_RELEASE:
            continue
        props = plain(resource.props)
        configs = device_plugin_configs(props)
        if not configs:
            continue
        operator_strategy = (
            dig(props, "values", "mig", "strategy", default=OPERATOR_DEFAULTS["mig.strategy"])
            if chart_name(props) == GPU_OPERATOR_CHART
            else None
        )
        for name, text in sorted(configs.items()):
            try:
                mps = _shares_by_mps(text)
            except yaml.YAMLError:
                continue  # gpu-sharing-replicas-in-range reports it
            if not mps:
                continue
            mps_configs.add(name)
            config = yaml.safe_load(text) if isinstance(text, str) else text
            strategy = dig(config, "flags", "migStrategy")
            if strategy == "mixed" or operator_strategy == "mixed":
                report_violation(
                    f"{describe(resource.resource_type, resource.name, props)}: device-plugin config '{name}' shares "
                    'by MPS with the mixed MIG strategy; the device plugin exits on it ("using --mig-strategy=mixed '
                    'is not supported with MPS", k8s-device-plugin v0.20.0 cmd/nvidia-device-plugin/main.go). MPS '
                    "pools cannot share a stack with MIG pools: put them in separate clusters, or use time-slicing.",
                    resource.urn,
                )
    for resource in args.resources:
        if resource.resource_type != NODEPOOL:
            continue
        pool = plain(resource.props)
        labels = template_labels(pool)
        mig, config = labels.get(MIG_CONFIG_LABEL), labels.get(DEVICE_PLUGIN_CONFIG_LABEL)
        if isinstance(mig, str) and mig != MIG_DISABLED and config in mps_configs:
            report_violation(
                f"{describe(resource.resource_type, resource.name, pool)} partitions its GPUs with MIG ({mig}) and "
                f"shares them by MPS ('{config}'): \"Sharing with MPS is currently not supported on devices with MIG "
                'enabled" (k8s-device-plugin v0.20.0 README.md, internal/plugin/mps.go). Choose one per pool.',
                resource.urn,
            )


no_mps_on_mig_pools = StackValidationPolicy(
    name="no-mps-on-mig-pools",
    description="No MPS sharing on a MIG pool or in a device plugin running the mixed MIG strategy "
    "(k8s-device-plugin v0.20.0).",
    validate=_validate_no_mps_on_mig,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["gpu", "sharing", "mig"],
)


NODE_SOFTWARE_POLICIES = [dcgm_one_host_engine, no_mps_on_mig_pools]
