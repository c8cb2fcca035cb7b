"""Karpenter footguns: EC2NodeClass values its CRD admits and a real controller or node does not survive.

Each policy names the upstream code or issue it encodes and the Karpenter versions it was read against. The
program never renders these (its config parser refuses them first); the pack catches them in any program, in a
hand-edited manifest, or after a refactor, before `pulumi up` applies them.
"""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from components.karpenter.user_data import is_mime

from .helpers import EC2_NODE_CLASS, UNKNOWN, as_list, describe, dig, plain

# The Karpenter releases whose code the two policies were read against: every v1 release up to the newest this
# repository validates (components/versions.py OLDEST_SUPPORTED_KARPENTER_VERSION .. NEWEST_VALIDATED_...).
AFFECTED_KARPENTER = "Karpenter v1.0.0 to v1.14.1"


# -- an AMI alias with a second `@` -----------------------------------------------------------------------------------


def alias_problem(alias: str) -> str | None:
    """Why Karpenter's controller would exit on this alias, or None.

    The EC2NodeClass CRD admits `family@version` by `^[a-zA-Z0-9]+@.+$` and checks the family as
    `self.split('@')[0]`, so `al2023@v20260714@x` passes admission; the controller then splits the alias on `@`,
    wants exactly two parts and calls `log.Fatalf` otherwise (aws/karpenter-provider-aws@v1.14.1
    pkg/apis/v1/ec2nodeclass.go `amiFamilyFromAlias` / `amiVersionFromAlias`; the same code and CRD rules from
    v1.0.0 on). Every reconcile of the node class ends the process: a crash loop
    (aws/karpenter-provider-aws#9800).
    """
    parts = alias.split("@")
    if len(parts) != 2:
        return f"has {len(parts) - 1} '@' (Karpenter splits it on '@' and wants exactly family@version)"
    if not parts[0] or not parts[1]:
        return "has an empty family or version"
    return None


def _validate_ami_alias(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != EC2_NODE_CLASS:
        return
    props = plain(args.props)
    terms = dig(props, "spec", "amiSelectorTerms")
    if terms is UNKNOWN:
        return
    for index, term in enumerate(as_list(terms)):
        alias = dig(term, "alias") if isinstance(term, dict) else None
        if not isinstance(alias, str):  # absent, or unknown during preview
            continue
        problem = alias_problem(alias)
        if problem:
            report_violation(
                f"{describe(args.resource_type, args.name, props)}: spec.amiSelectorTerms[{index}].alias "
                f"{alias!r} {problem}. The CRD accepts it, and the Karpenter controller then exits on every "
                f"reconcile of this node class (log.Fatalf in amiFamilyFromAlias; aws/karpenter-provider-aws#9800; "
                f"{AFFECTED_KARPENTER}), so no node of any pool is provisioned. Use exactly one '@', e.g. "
                f"al2023@v20260714 or al2023@latest."
            )


ec2nodeclass_ami_alias_one_at = ResourceValidationPolicy(
    name="ec2nodeclass-ami-alias-one-at",
    description=(
        "EC2NodeClass AMI aliases are exactly family@version: a second '@' passes the CRD and crash-loops the "
        "Karpenter controller (aws/karpenter-provider-aws#9800)."
    ),
    validate=_validate_ami_alias,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    tags=["karpenter", "reliability"],
)


# -- userData whose type Karpenter has to guess -----------------------------------------------------------------------

# nodeadm families: Karpenter builds their user data with bootstrap.Nodeadm (v1.14.1 pkg/providers/amifamily/al2023.go).
NODEADM_ALIAS_FAMILIES = ("al2023",)
NODEADM_AMI_FAMILIES = ("AL2023",)


def _uses_nodeadm(spec: dict) -> bool | None:
    """Whether the node class boots with nodeadm (AL2023); None when unknown during preview."""
    family = spec.get("amiFamily")
    if family is UNKNOWN:
        return None
    if isinstance(family, str):
        return family in NODEADM_AMI_FAMILIES
    terms = spec.get("amiSelectorTerms")
    if terms is UNKNOWN:
        return None
    for term in as_list(terms):
        alias = term.get("alias") if isinstance(term, dict) else None
        if alias is UNKNOWN:
            return None
        if isinstance(alias, str):
            return alias.split("@")[0] in NODEADM_ALIAS_FAMILIES
    return False


def _validate_user_data_mime(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != EC2_NODE_CLASS:
        return
    props = plain(args.props)
    spec = dig(props, "spec")
    if not isinstance(spec, dict):
        return
    user_data = spec.get("userData")
    if not isinstance(user_data, str) or not user_data or _uses_nodeadm(spec) is not True:
        return
    if not is_mime(user_data):
        report_violation(
            f"{describe(args.resource_type, args.name, props)}: spec.userData is not a MIME multi-part archive. For "
            f"AL2023 Karpenter then decides by YAML parsing whether it is a shell script or a nodeadm NodeConfig "
            f"(pkg/providers/amifamily/bootstrap/nodeadm.go parseUserData, {AFFECTED_KARPENTER}): a script that is "
            f"only comments or has one `key: value` line goes to nodeadm as a NodeConfig and the node never joins. "
            f'Wrap each part in MIME with its Content-Type (text/x-shellscript; charset="us-ascii" or '
            f"application/node.eks.aws), as components.karpenter.user_data.mime_user_data does."
        )


ec2nodeclass_user_data_mime = ResourceValidationPolicy(
    name="ec2nodeclass-user-data-mime",
    description=(
        "AL2023 EC2NodeClass userData is explicit MIME multi-part, so Karpenter never guesses script vs NodeConfig "
        "by YAML parsing."
    ),
    validate=_validate_user_data_mime,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["karpenter", "reliability"],
)

KARPENTER_FOOTGUN_POLICIES = [ec2nodeclass_ami_alias_one_at, ec2nodeclass_user_data_mime]
