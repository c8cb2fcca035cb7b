"""Helm release hygiene and install order: pinned charts, and Karpenter objects created after their CRDs.

Karpenter's CRDs ship in a separate `karpenter-crd` chart because Helm installs a chart's `crds/`
only on first install and never upgrades them (Karpenter upgrade guide). A NodePool or EC2NodeClass
registered without a dependency on that release can be sent to the API server before its CRD
exists ("no matches for kind NodePool") or, on `pulumi destroy`, after the CRD is gone.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from components import versions

from .helpers import HELM_RELEASE, KARPENTER_TYPE_PREFIXES, UNKNOWN, describe, is_exact_version, plain

# Helm-backed resource types whose `version` input selects the chart version.
HELM_CHART_TYPES = (HELM_RELEASE, "kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Chart")
DEFAULT_CRD_RELEASE = versions.KARPENTER_CRD_CHART  # the release name the program gives the CRD chart


# -- (e) Karpenter custom resources depend on the CRD release -------------------------------------------------------


def _direct_dependencies(resource: PolicyResource) -> list[PolicyResource]:
    """Everything a resource waits for: explicit depends_on plus the resources its inputs came from."""
    found = list(resource.dependencies or [])
    for deps in (resource.property_dependencies or {}).values():
        found.extend(deps)
    return found


def depends_on(resource: PolicyResource, targets: set[str]) -> bool:
    """True when `resource` waits, directly or through other resources, for a resource whose URN is in `targets`.

    Transitive on purpose: the engine orders creation (and reverse-orders deletion) along every edge, so
    NodePool -> karpenter controller release -> karpenter-crd release is as safe as a direct edge.
    """
    seen: set[str] = set()
    stack = _direct_dependencies(resource)
    while stack:
        current = stack.pop()
        if current.urn in targets:
            return True
        if current.urn in seen:
            continue
        seen.add(current.urn)
        stack.extend(_direct_dependencies(current))
    return False


def _validate_crd_dependency(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = args.get_config() or {}
    release_name = config.get("crdReleaseName") or DEFAULT_CRD_RELEASE
    releases = {r.urn: plain(r.props).get("name") for r in args.resources if r.resource_type == HELM_RELEASE}
    crd_urns = {urn for urn, name in releases.items() if name == release_name}
    if not crd_urns and any(name is UNKNOWN for name in releases.values()):
        return  # one of them may be the CRD release; `pulumi up` knows
    for resource in args.resources:
        if not resource.resource_type.startswith(KARPENTER_TYPE_PREFIXES):
            continue
        subject = describe(resource.resource_type, resource.name, plain(resource.props))
        if not crd_urns:
            report_violation(
                f"{subject} is a Karpenter custom resource, but the stack has no Helm release named "
                f"'{release_name}' to install its CRD. Install the karpenter-crd chart as its own release and "
                f"make the object depend on it (or set crdReleaseName in the policy config).",
                resource.urn,
            )
        elif not depends_on(resource, crd_urns):
            report_violation(
                f"{subject} does not depend on the '{release_name}' Helm release, so Pulumi may apply it before "
                f"its CRD exists (and delete the CRD first on destroy). Pass "
                f"depends_on=[<karpenter-crd release>] (or a resource that depends on it) in its ResourceOptions.",
                resource.urn,
            )


karpenter_resources_depend_on_crds = StackValidationPolicy(
    name="karpenter-resources-depend-on-crds",
    description="Karpenter custom resources (NodePool, EC2NodeClass, NodeOverlay, CapacityBuffer) depend on the "
    "karpenter-crd release.",
    validate=_validate_crd_dependency,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    config_schema=PolicyConfigSchema(
        properties={
            "crdReleaseName": {
                "type": "string",
                "minLength": 1,
                "default": DEFAULT_CRD_RELEASE,
                "description": "Helm release name (the release's `name` input) that installs Karpenter's CRDs.",
            },
        }
    ),
    tags=["karpenter", "ordering"],
)


# -- (f) every Helm chart version is pinned --------------------------------------------------------------------------


def _validate_chart_pinned(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in HELM_CHART_TYPES:
        return
    props: dict[str, Any] = plain(args.props)
    version = props.get("version")
    if version is UNKNOWN:
        return
    subject = describe(args.resource_type, args.name, props)
    chart = props.get("chart", "?")
    if version in (None, ""):
        report_violation(
            f"{subject} (chart {chart}) pins no chart version, so every preview may install whatever the "
            f'repository serves as newest. Set `version` to an exact release such as "1.14.1" '
            f"(components/versions.py holds the project's pins)."
        )
    elif not is_exact_version(version):
        report_violation(
            f"{subject} (chart {chart}) asks for version {version!r}, a range or tag rather than one release. "
            f'Set an exact version such as "1.14.1" (no ^, ~, x, *, >, < or "latest").'
        )


helm_chart_version_pinned = ResourceValidationPolicy(
    name="helm-chart-version-pinned",
    description="Every Helm release pins an exact chart version (no ranges, no 'latest').",
    validate=_validate_chart_pinned,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["supply-chain"],
)


RELEASE_POLICIES = [karpenter_resources_depend_on_crds, helm_chart_version_pinned]
