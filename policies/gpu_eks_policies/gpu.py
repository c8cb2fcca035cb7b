"""GPU cost and safety policies: what keeps GPU nodes reserved for GPU work, bounded, and correctly shared.

Each policy reads the same shapes the program renders (components/karpenter/manifests.py, components/gpu/pools.py,
the NVIDIA Helm release):

* a GPU NodePool is a `karpenter.sh/v1` NodePool whose node template is labelled
  `nvidia.com/gpu.present: "true"`, or which asks Karpenter for GPU instances in any other way
  (GPU requirement keys, GPU instance types/families, a `nvidia.com/gpu` limit) - so a pool that
  forgot the label is still held to the GPU rules;
* sharing is chosen per pool by the `nvidia.com/device-plugin.config` label (time-slicing / MPS) or
  the `nvidia.com/mig.config` label (MIG), and the configs live in the NVIDIA chart's values.
"""

from __future__ import annotations

from typing import Any

import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from components import versions

# The program's own names for labels, resources and MIG layouts: a rename there cannot silently
# switch a policy off.
from components.common.names import (
    INSTANCE_CATEGORY_LABEL,
    INSTANCE_GPU_COUNT_LABEL,
    INSTANCE_GPU_MANUFACTURER_LABEL,
    INSTANCE_TYPE_LABEL,
)
from components.gpu import catalog
from components.gpu.names import (
    DEVICE_PLUGIN_CONFIG_LABEL,
    GPU_PRESENT_LABEL,
    GPU_RESOURCE,
    MIG_CONFIG_LABEL,
    MIG_RESOURCE_PREFIX,
)
from components.gpu.nvidia_config import MPS_MAX_REPLICAS, MPS_MIN_REPLICAS, TIME_SLICING_MIN_REPLICAS, mig_config_name

from .helpers import (
    HELM_RELEASE,
    NODEPOOL,
    UNKNOWN,
    chart_name,
    config_value,
    describe,
    dig,
    has_unknown,
    join_names,
    plain,
    requirement,
    requirements,
    template_labels,
)

INSTANCE_TYPE_KEY = INSTANCE_TYPE_LABEL
INSTANCE_FAMILY_KEY = "karpenter.k8s.aws/instance-family"
INSTANCE_CATEGORY_KEY = INSTANCE_CATEGORY_LABEL
# Karpenter's well-known GPU labels; a positive requirement on any of them selects GPU instances.
GPU_REQUIREMENT_KEYS = (
    INSTANCE_GPU_COUNT_LABEL,
    "karpenter.k8s.aws/instance-gpu-name",
    INSTANCE_GPU_MANUFACTURER_LABEL,
    "karpenter.k8s.aws/instance-gpu-memory",
)
# EC2 instance categories that are GPU families (g4dn, g5, g6, p4d, p5, ...).
GPU_INSTANCE_CATEGORIES = ("g", "p")
# Operators that select (rather than exclude) what they name.
_SELECTING_OPERATORS = ("In", "Exists", "Gt", "Gte")
# mig-parted entries of the GPU Operator's default config that apply to every MIG-capable GPU
# (gpu-operator v26.7.0 default-mig-parted-config); every other entry is "all-<profile>".
GENERIC_MIG_CONFIGS = ("all-disabled", "all-enabled", "all-balanced")

DEVICE_PLUGIN_CHART = versions.NVIDIA_DEVICE_PLUGIN_CHART
GPU_OPERATOR_CHART = versions.NVIDIA_GPU_OPERATOR_CHART
NVIDIA_CHARTS = (DEVICE_PLUGIN_CHART, GPU_OPERATOR_CHART)


# -- recognising GPU NodePools ---------------------------------------------------------------------------------


def gpu_signals(nodepool: dict[str, Any]) -> list[str]:
    """Why a NodePool counts as a GPU pool (empty list: it does not).

    Several signals on purpose: the label is the project's convention, the others catch a pool that
    requests GPU capacity without following it.
    """
    signals = []
    if str(template_labels(nodepool).get(GPU_PRESENT_LABEL, "")).lower() == "true":
        signals.append(f"label {GPU_PRESENT_LABEL}=true")
    for req in requirements(nodepool):
        key, operator, values = req.get("key"), req.get("operator"), req.get("values")
        values = values if isinstance(values, list) else []
        if operator not in _SELECTING_OPERATORS:
            continue
        if key in GPU_REQUIREMENT_KEYS:
            signals.append(f"requirement on {key}")
        elif key == INSTANCE_TYPE_KEY and operator == "In" and any(v in catalog.INSTANCE_TYPES for v in values):
            signals.append("GPU instance types")
        elif key == INSTANCE_FAMILY_KEY and operator == "In" and any(v in catalog.known_families() for v in values):
            signals.append("GPU instance families")
        elif key == INSTANCE_CATEGORY_KEY and operator == "In" and any(v in GPU_INSTANCE_CATEGORIES for v in values):
            signals.append("GPU instance categories")
    limits = dig(nodepool, "spec", "limits", default={})
    if isinstance(limits, dict) and any(k == GPU_RESOURCE or str(k).startswith(MIG_RESOURCE_PREFIX) for k in limits):
        signals.append("GPU limit")
    return signals


def _nodepool(args: ResourceValidationArgs) -> dict[str, Any] | None:
    """The NodePool's props as plain data, or None for any other resource type."""
    if args.resource_type != NODEPOOL:
        return None
    return plain(args.props)


# -- (a) taint ---------------------------------------------------------------------------------------------------


def _validate_gpu_taint(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    nodepool = _nodepool(args)
    if nodepool is None or not gpu_signals(nodepool):
        return
    taints = dig(nodepool, "spec", "template", "spec", "taints", default=[])
    if has_unknown(taints):
        return  # checked again by `pulumi up`, once the values are known
    taints = [t for t in taints if isinstance(t, dict)] if isinstance(taints, list) else []
    if any(t.get("key") == GPU_RESOURCE and t.get("effect") == "NoSchedule" for t in taints):
        return
    report_violation(
        f"{describe(args.resource_type, args.name, nodepool)} launches GPU nodes without the "
        f"'{GPU_RESOURCE}:NoSchedule' taint, so ordinary pods can land on (and keep alive) expensive GPU "
        f"instances. Add {{key: {GPU_RESOURCE}, effect: NoSchedule}} to spec.template.spec.taints; GPU pods "
        f"tolerate it (the NVIDIA device plugin and GPU Operator do by default)."
    )


gpu_nodepool_taint = ResourceValidationPolicy(
    name="gpu-nodepool-taint",
    description="GPU NodePools taint their nodes nvidia.com/gpu:NoSchedule so only GPU workloads use them.",
    validate=_validate_gpu_taint,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["gpu", "cost"],
)


# -- (b) GPU limit ---------------------------------------------------------------------------------------------


def _quantity(value: Any) -> float | None:
    """A plain-number Kubernetes quantity ("8", 8, 8.0); None for anything else (e.g. "1k")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _validate_gpu_limit(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    nodepool = _nodepool(args)
    if nodepool is None or not gpu_signals(nodepool):
        return
    subject = describe(args.resource_type, args.name, nodepool)
    limits = dig(nodepool, "spec", "limits", default={})
    if limits is UNKNOWN:
        return
    limits = limits if isinstance(limits, dict) else {}
    gpu_keys = [k for k in limits if k == GPU_RESOURCE or str(k).startswith(MIG_RESOURCE_PREFIX)]
    if not gpu_keys:
        report_violation(
            f"{subject} has no GPU limit (spec.limits has {sorted(limits) or 'nothing'}), so Karpenter may "
            f"launch GPU instances without bound. Set spec.limits['{GPU_RESOURCE}'] (or "
            f"'{MIG_RESOURCE_PREFIX}<profile>' for a MIG pool) to the most GPUs this pool may own."
        )
        return
    maximum = config_value(args, "maxGpusPerNodePool", None)
    for key in gpu_keys:
        value = limits[key]
        if value is UNKNOWN:
            continue
        amount = _quantity(value)
        if amount is None or amount <= 0:
            report_violation(
                f"{subject} sets spec.limits['{key}'] to {value!r}; use a positive whole number of devices "
                f'such as "8".'
            )
        elif key == GPU_RESOURCE and maximum is not None and amount > maximum:
            report_violation(
                f"{subject} allows {value} GPUs (spec.limits['{key}']), more than this pack's "
                f"maxGpusPerNodePool={maximum}. Lower the limit, or raise maxGpusPerNodePool in the policy "
                f"config if the spend is approved."
            )


gpu_nodepool_limit = ResourceValidationPolicy(
    name="gpu-nodepool-gpu-limit",
    description="GPU NodePools cap how many GPUs (or MIG devices) Karpenter may launch for them.",
    validate=_validate_gpu_limit,
    # Advisory by default: a team may bound a pool by cpu/memory limits or disruption budgets instead;
    # production stacks can raise it to mandatory in their policy config.
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    config_schema=PolicyConfigSchema(
        properties={
            "maxGpusPerNodePool": {
                "type": "integer",
                "minimum": 1,
                "description": (
                    "Optional ceiling for spec.limits['nvidia.com/gpu'] on any one GPU NodePool. On a "
                    "time-sliced or MPS pool the limit counts shared slices (physical GPUs x replicas)."
                ),
            },
        }
    ),
    tags=["gpu", "cost"],
)


# -- (c) MIG only on MIG-capable instance types -----------------------------------------------------------------


def _mig_profile_labels(it: catalog.InstanceType) -> set[str]:
    """The `nvidia.com/mig.config` values that partition this instance type's GPUs."""
    return {mig_config_name(profile) for profile in it.gpu_model.mig_profiles}


def _validate_mig_capability(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    nodepool = _nodepool(args)
    if nodepool is None:
        return
    labels = template_labels(nodepool)
    if MIG_CONFIG_LABEL not in labels or labels[MIG_CONFIG_LABEL] is UNKNOWN:
        return
    mig_config = str(labels[MIG_CONFIG_LABEL])
    subject = describe(args.resource_type, args.name, nodepool)

    types_req = requirement(nodepool, INSTANCE_TYPE_KEY)
    families_req = requirement(nodepool, INSTANCE_FAMILY_KEY)
    if any(req is not None and dig(req, "values") is UNKNOWN for req in (types_req, families_req)):
        return  # known when `pulumi up` runs the policy again
    chosen: list[str]
    if types_req is not None and types_req.get("operator") == "In" and types_req.get("values"):
        chosen = [str(v) for v in types_req["values"]]
        try:
            instance_types = {name: catalog.instance_type(name) for name in chosen}
        except KeyError:
            unknown = [n for n in chosen if n not in catalog.INSTANCE_TYPES]
            report_violation(
                f"{subject} sets {MIG_CONFIG_LABEL}={mig_config} but lists instance types not in the GPU "
                f"catalog ({join_names(unknown)}), so MIG support cannot be proven. Use catalogued MIG-capable "
                f"types (A100/H100/H200/B200: p4d, p4de, p5, p5e, p5en, p6-b200)."
            )
            return
    elif families_req is not None and families_req.get("operator") == "In" and families_req.get("values"):
        families = [str(v) for v in families_req["values"]]
        unknown = [f for f in families if f not in catalog.known_families()]
        if unknown:
            report_violation(
                f"{subject} sets {MIG_CONFIG_LABEL}={mig_config} but lists instance families not in the GPU "
                f"catalog ({join_names(unknown)}). Pin MIG-capable instance types with a "
                f"'{INSTANCE_TYPE_KEY} In [...]' requirement."
            )
            return
        instance_types = {it.name: it for family in families for it in catalog.family_sizes(family)}
    else:
        report_violation(
            f"{subject} sets {MIG_CONFIG_LABEL}={mig_config} without a '{INSTANCE_TYPE_KEY} In [...]' "
            f"requirement, so Karpenter may launch GPUs that cannot be partitioned and MIG Manager will fail on "
            f"them. Add the requirement listing only MIG-capable types (e.g. p4d.24xlarge, p5.48xlarge)."
        )
        return

    incapable = sorted(n for n, it in instance_types.items() if not catalog.mig_capable(it))
    if incapable:
        report_violation(
            f"{subject} sets {MIG_CONFIG_LABEL}={mig_config} but may launch instance types whose GPUs do not "
            f"support MIG: {join_names(incapable)}. Remove them from the '{INSTANCE_TYPE_KEY}' requirement "
            f"(MIG needs A100, H100, H200 or B200), or use time-slicing/MPS for those GPUs."
        )
        return
    if mig_config in GENERIC_MIG_CONFIGS:
        return
    lacking = sorted(n for n, it in instance_types.items() if mig_config not in _mig_profile_labels(it))
    if lacking:
        offered = sorted(set.intersection(*(_mig_profile_labels(instance_types[n]) for n in instance_types)))
        report_violation(
            f"{subject} sets {MIG_CONFIG_LABEL}={mig_config}, a MIG layout the GPUs of {join_names(lacking)} "
            f"do not have, so MIG Manager cannot apply it. Choose a profile every listed type supports"
            + (f" ({', '.join(offered)})" if offered else "")
            + ", or split the pool by GPU model."
        )


mig_requires_capable_instances = ResourceValidationPolicy(
    name="mig-requires-mig-capable-instances",
    description="NodePools that request a MIG layout only launch instance types whose GPUs support that layout.",
    validate=_validate_mig_capability,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["gpu", "mig"],
)


# -- (d) sharing replicas in range --------------------------------------------------------------------------------


def device_plugin_configs(release: dict[str, Any]) -> dict[str, Any] | None:
    """{config name: YAML text or dict} of an NVIDIA release, or None when the chart is not an NVIDIA one.

    Device plugin chart: values.config.map. GPU Operator chart: values.devicePlugin.config.data.
    """
    chart = chart_name(release)
    if chart == DEVICE_PLUGIN_CHART:
        configs = dig(release, "values", "config", "map", default={})
    elif chart == GPU_OPERATOR_CHART:
        configs = dig(release, "values", "devicePlugin", "config", "data", default={})
    else:
        return None
    if configs is UNKNOWN:
        return {}
    return configs if isinstance(configs, dict) else {}


def _replica_problems(config: dict[str, Any], maximum_time_slicing: int | None) -> list[str]:
    """What is wrong with one parsed device-plugin config's replica counts."""
    problems = []
    bounds = {
        "timeSlicing": (TIME_SLICING_MIN_REPLICAS, maximum_time_slicing),
        "mps": (MPS_MIN_REPLICAS, MPS_MAX_REPLICAS),
    }
    for mode, (low, high) in bounds.items():
        resources = dig(config, "sharing", mode, "resources", default=[])
        if not isinstance(resources, list):
            continue
        for entry in resources:
            if not isinstance(entry, dict):
                continue
            replicas = entry.get("replicas")
            resource = entry.get("name", "?")
            if replicas is UNKNOWN:
                continue
            bound = f"at least {low}" if high is None else f"between {low} and {high}"
            if isinstance(replicas, bool) or not isinstance(replicas, (int, float)) or replicas != int(replicas):
                problems.append(f"sharing.{mode} replicas for {resource} is {replicas!r}, not a whole number ({bound})")
            elif replicas < low or (high is not None and replicas > high):
                problems.append(f"sharing.{mode} replicas for {resource} is {int(replicas)}; it must be {bound}")
    return problems


def _validate_sharing_replicas(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != HELM_RELEASE:
        return
    release = plain(args.props)
    configs = device_plugin_configs(release)
    if not configs:
        return
    subject = describe(args.resource_type, args.name, release)
    maximum = config_value(args, "maxTimeSlicingReplicas", None)
    for name, text in sorted(configs.items()):
        if text is UNKNOWN:
            continue
        if isinstance(text, str):
            try:
                config = yaml.safe_load(text)
            except yaml.YAMLError as error:
                report_violation(
                    f"{subject}: device-plugin config '{name}' is not valid YAML ({error}); the "
                    f"plugin would crash on it. Build it with yaml.safe_dump(nvidia_config...)."
                )
                continue
        else:
            config = text
        if not isinstance(config, dict):
            report_violation(
                f"{subject}: device-plugin config '{name}' is not a mapping; the plugin would refuse "
                f"it. Use the device plugin's config file format (version: v1, flags, sharing)."
            )
            continue
        for problem in _replica_problems(config, maximum):
            report_violation(
                f"{subject}: device-plugin config '{name}': {problem}. The plugin rejects fewer than "
                f"{TIME_SLICING_MIN_REPLICAS} replicas and MPS supports at most {MPS_MAX_REPLICAS} clients per "
                f"GPU; fix the pool's replicas in gpu-eks:gpuNodePools."
            )


sharing_replicas_in_range = ResourceValidationPolicy(
    name="gpu-sharing-replicas-in-range",
    description=(
        f"NVIDIA device-plugin configs use time-slicing replicas >= {TIME_SLICING_MIN_REPLICAS} and "
        f"MPS replicas {MPS_MIN_REPLICAS}..{MPS_MAX_REPLICAS}."
    ),
    validate=_validate_sharing_replicas,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    config_schema=PolicyConfigSchema(
        properties={
            "maxTimeSlicingReplicas": {
                "type": "integer",
                "minimum": TIME_SLICING_MIN_REPLICAS,
                "description": "Optional ceiling for time-slicing replicas per GPU (the plugin itself has none).",
            },
        }
    ),
    tags=["gpu", "sharing"],
)


# -- sharing configs a NodePool selects exist ---------------------------------------------------------------------


def _validate_sharing_config_exists(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    releases = [(r, plain(r.props)) for r in args.resources if r.resource_type == HELM_RELEASE]
    nvidia = [(r, props) for r, props in releases if chart_name(props) in NVIDIA_CHARTS]
    known_configs: set[str] = set()
    external_configs = False  # a release reading an existing ConfigMap: names cannot be checked here
    for _, props in nvidia:
        configs = device_plugin_configs(props) or {}
        known_configs.update(configs)
        external = (
            dig(props, "values", "config", "name")
            if chart_name(props) == DEVICE_PLUGIN_CHART
            else None
            if dig(props, "values", "devicePlugin", "config", "create") is True
            else dig(props, "values", "devicePlugin", "config", "name")
        )
        if external not in (None, "", UNKNOWN) or any(c is UNKNOWN for c in configs.values()):
            external_configs = True
    operators = [
        props
        for _, props in nvidia
        if chart_name(props) == GPU_OPERATOR_CHART and dig(props, "values", "migManager", "enabled") is not False
    ]

    for resource in args.resources:
        if resource.resource_type != NODEPOOL:
            continue
        nodepool = plain(resource.props)
        labels = template_labels(nodepool)
        subject = describe(resource.resource_type, resource.name, nodepool)
        selected = labels.get(DEVICE_PLUGIN_CONFIG_LABEL)
        if isinstance(selected, str) and selected not in known_configs and not external_configs:
            where = (
                f"the NVIDIA release(s) define {join_names(sorted(known_configs))}"
                if nvidia
                else "the stack has no NVIDIA device-plugin or GPU Operator release"
            )
            report_violation(
                f"{subject} selects device-plugin config '{selected}' ({DEVICE_PLUGIN_CONFIG_LABEL}) but {where}; "
                f"the plugin's config-manager fails on such nodes and no GPU is advertised. Add the config to the "
                f"release values or fix the label.",
                resource.urn,
            )
        if isinstance(labels.get(MIG_CONFIG_LABEL), str) and not operators:
            report_violation(
                f"{subject} asks for MIG layout '{labels[MIG_CONFIG_LABEL]}' ({MIG_CONFIG_LABEL}) but the stack has "
                f"no GPU Operator release with MIG Manager enabled, so nothing will partition the GPUs. Install "
                f"the gpu-operator chart (migManager.enabled) or drop the label.",
                resource.urn,
            )


sharing_config_exists = StackValidationPolicy(
    name="gpu-sharing-config-exists",
    description="Every device-plugin config or MIG layout a NodePool selects is provided by an NVIDIA release.",
    validate=_validate_sharing_config_exists,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["gpu", "sharing"],
)


GPU_POLICIES = [
    gpu_nodepool_taint,
    gpu_nodepool_limit,
    mig_requires_capable_instances,
    sharing_replicas_in_range,
    sharing_config_exists,
]
