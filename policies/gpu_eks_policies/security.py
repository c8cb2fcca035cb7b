"""Security baseline for the cluster and the AWS resources around it.

Resource types covered, and why both EKS types: the program registers pulumi-eks's `eks:index:Cluster`
component, whose inputs carry the intent (encryptionConfigKeyArn, enabledClusterLogTypes, endpoint
settings); pulumi-eks then registers the real `aws:eks/cluster:Cluster`, where the same settings sit
under `encryptionConfig` and `vpcConfig`. Checking both means the policy holds whichever of the two the
engine shows the analyzer, and for clusters built without pulumi-eks.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, cast

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

from .helpers import (
    EC2_NODE_CLASS,
    UNKNOWN,
    as_list,
    config_value,
    describe,
    dig,
    join_names,
    plain,
    policy_document,
    statements,
    truthy_flag,
)

EKS_COMPONENT = "eks:index:Cluster"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_MANAGED_NODE_GROUP = "eks:index:ManagedNodeGroup"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EBS_VOLUME = "aws:ebs/volume:Volume"
SQS_QUEUE = "aws:sqs/queue:Queue"
SQS_QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
# IAM resources whose `policy` input is an identity policy document.
IAM_POLICY_TYPES = (
    "aws:iam/policy:Policy",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
IAM_ROLE = "aws:iam/role:Role"


def _cluster_settings(resource_type: str, props: dict[str, Any]) -> dict[str, Any] | None:
    """The security-relevant settings of either EKS cluster type, in one shape; None for other types.

    Defaults are the provider's when an input is absent: both pulumi-eks and the EKS API make the public
    endpoint on by default, and the EKS API opens it to 0.0.0.0/0 when no CIDRs are given.
    """
    if resource_type == EKS_COMPONENT:
        return {
            "encryption_key": props.get("encryptionConfigKeyArn"),
            "encrypted_resources": ["secrets"] if props.get("encryptionConfigKeyArn") is not None else [],
            "log_types": props.get("enabledClusterLogTypes"),
            "public": props.get("endpointPublicAccess", True),
            "public_cidrs": props.get("publicAccessCidrs"),
        }
    if resource_type == EKS_CLUSTER:
        encryption = props.get("encryptionConfig")
        if isinstance(encryption, list):  # older provider schemas modelled it as a one-item list
            encryption = encryption[0] if encryption else None
        return {
            "encryption_key": dig(encryption, "provider", "keyArn"),
            "encrypted_resources": dig(encryption, "resources", default=[]),
            "log_types": props.get("enabledClusterLogTypes"),
            "public": dig(props, "vpcConfig", "endpointPublicAccess", default=True),
            "public_cidrs": dig(props, "vpcConfig", "publicAccessCidrs"),
        }
    return None


# -- (g) secrets encryption -----------------------------------------------------------------------------------------


def _validate_secrets_encryption(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    props = plain(args.props)
    settings = _cluster_settings(args.resource_type, props)
    if settings is None:
        return
    key, resources = settings["encryption_key"], settings["encrypted_resources"]
    subject = describe(args.resource_type, args.name, props)
    if key is UNKNOWN or (isinstance(key, str) and key):
        if resources is UNKNOWN or UNKNOWN in as_list(resources) or "secrets" in as_list(resources):
            return  # an unknown key ARN is a key being created in the same update: set
        report_violation(
            f"{subject} has an encryption key but does not list 'secrets' in encryptionConfig.resources; "
            f"add it so Kubernetes Secrets are envelope-encrypted."
        )
        return
    report_violation(
        f"{subject} does not envelope-encrypt Kubernetes Secrets with a KMS key. Set "
        f"encryption_config_key_arn (pulumi-eks) or encryption_config={{provider: {{key_arn}}, resources: "
        f"['secrets']}} (aws.eks.Cluster) to a customer-managed KMS key with rotation enabled."
    )


eks_secrets_encryption = ResourceValidationPolicy(
    name="eks-secrets-encryption",
    description="EKS clusters envelope-encrypt Kubernetes Secrets with a KMS key.",
    validate=_validate_secrets_encryption,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["security", "eks"],
)


# -- (h) audit logging ----------------------------------------------------------------------------------------------


def _validate_audit_logging(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    props = plain(args.props)
    settings = _cluster_settings(args.resource_type, props)
    if settings is None:
        return
    log_types = settings["log_types"]
    if log_types is UNKNOWN or any(t is UNKNOWN for t in as_list(log_types)):
        return
    enabled = {t for t in as_list(log_types) if isinstance(t, str)}
    required = list(config_value(args, "requiredLogTypes", ["audit"]))
    missing = [t for t in required if t not in enabled]
    if missing:
        report_violation(
            f"{describe(args.resource_type, args.name, props)} does not send {join_names(missing)} control-plane "
            f"logs to CloudWatch (enabledClusterLogTypes={sorted(enabled)}). Add them to enabled_cluster_log_types "
            f"(gpu-eks:clusterLogTypes in the stack config) so API access can be investigated."
        )


eks_audit_logging = ResourceValidationPolicy(
    name="eks-audit-logging",
    description="EKS clusters ship the Kubernetes audit log (and any other required log types) to CloudWatch.",
    validate=_validate_audit_logging,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    config_schema=PolicyConfigSchema(
        properties={
            "requiredLogTypes": {
                "type": "array",
                "default": ["audit"],
                "uniqueItems": True,
                "items": {
                    "type": "string",
                    "enum": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
                },
                "description": "Control-plane log types every cluster must enable.",
            },
        }
    ),
    tags=["security", "eks"],
)


# -- (i) public endpoint not open to the world ---------------------------------------------------------------------


def _open_to_anywhere(cidr: str) -> bool | None:
    """True for 0.0.0.0/0 or ::/0 (and any other /0); None when the text is not a CIDR."""
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return None


def _validate_public_endpoint(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    props = plain(args.props)
    settings = _cluster_settings(args.resource_type, props)
    if settings is None:
        return
    public = settings["public"]
    if public is UNKNOWN or not truthy_flag(public):
        return
    if config_value(args, "allowPublicEndpointFromAnywhere", False) is True:
        return
    subject = describe(args.resource_type, args.name, props)
    cidrs = settings["public_cidrs"]
    if cidrs is UNKNOWN:
        return
    cidrs = as_list(cidrs)
    fix = (
        "Set gpu-eks:endpoint.publicAccessCidrs to your office/VPN ranges, or turn the public endpoint off "
        "(gpu-eks:endpoint.publicAccess: false); if a world-open endpoint is intended, set "
        "allowPublicEndpointFromAnywhere: true for this policy in the policy pack config."
    )
    if not cidrs:
        report_violation(
            f"{subject} has a public API endpoint and no publicAccessCidrs, which EKS opens to 0.0.0.0/0. {fix}"
        )
        return
    open_cidrs = [c for c in cidrs if isinstance(c, str) and _open_to_anywhere(c)]
    invalid = [c for c in cidrs if c is not UNKNOWN and (not isinstance(c, str) or _open_to_anywhere(c) is None)]
    if open_cidrs:
        report_violation(f"{subject} opens its public API endpoint to {join_names(open_cidrs)}. {fix}")
    if invalid:
        report_violation(
            f"{subject} lists publicAccessCidrs that are not CIDR blocks: {invalid!r}. Use forms like 203.0.113.0/24."
        )


eks_public_endpoint_restricted = ResourceValidationPolicy(
    name="eks-public-endpoint-restricted",
    description="A public EKS API endpoint is limited to known CIDR ranges, never 0.0.0.0/0.",
    validate=_validate_public_endpoint,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    config_schema=PolicyConfigSchema(
        properties={
            "allowPublicEndpointFromAnywhere": {
                "type": "boolean",
                "default": False,
                "description": "Accept a public endpoint open to 0.0.0.0/0 (e.g. a throwaway sandbox).",
            },
        }
    ),
    tags=["security", "eks", "network"],
)


# -- (j) IMDSv2 on Karpenter nodes (and managed node groups, advisory) --------------------------------------------


def _validate_nodeclass_imdsv2(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != EC2_NODE_CLASS:
        return
    props = plain(args.props)
    tokens = dig(props, "spec", "metadataOptions", "httpTokens")
    if tokens is UNKNOWN or tokens == "required":
        return
    found = "is unset" if tokens is None else f"is {tokens!r}"
    report_violation(
        f"{describe(args.resource_type, args.name, props)}: spec.metadataOptions.httpTokens {found}. Set it to "
        f'"required" (IMDSv2 only) with httpPutResponseHopLimit 1, so pods cannot use the node role\'s '
        f"credentials through IMDSv1; pinning it explicitly keeps a CRD default change from weakening it."
    )


ec2nodeclass_imdsv2_required = ResourceValidationPolicy(
    name="ec2nodeclass-imdsv2-required",
    description="Karpenter EC2NodeClasses require IMDSv2 (metadataOptions.httpTokens: required).",
    validate=_validate_nodeclass_imdsv2,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["security", "karpenter"],
)


def _validate_node_group_imdsv2(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != EKS_MANAGED_NODE_GROUP:
        return
    props = plain(args.props)
    if props.get("launchTemplate") is not None:
        # IMDS settings then live in the caller's launch template (checked by launch-template-imdsv2), which
        # pulumi-eks does not touch; an unknown reference is a template created in the same update.
        return
    enabled = props.get("enableIMDSv2")
    if enabled is UNKNOWN or truthy_flag(enabled):
        return
    report_violation(
        f"{describe(args.resource_type, args.name, props)} does not set enableIMDSv2 (pulumi-eks defaults it to "
        f"false) and passes no launchTemplate, so its nodes may answer IMDSv1 requests. Pass a launch_template "
        f"that requires IMDSv2 with hop limit 1 (enable_imd_sv2=True alone makes pulumi-eks build one with hop "
        f"limit 2 and an unencrypted root volume)."
    )


managed_node_group_imdsv2 = ResourceValidationPolicy(
    name="managed-node-group-imdsv2",
    description="pulumi-eks managed node groups turn on IMDSv2 (enableIMDSv2).",
    validate=_validate_node_group_imdsv2,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["security", "eks"],
)


# -- (k) EBS encryption ------------------------------------------------------------------------------------------------


def _validate_ebs_encrypted(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    props = plain(args.props)
    subject = describe(args.resource_type, args.name, props)
    if args.resource_type == EBS_VOLUME:
        encrypted = props.get("encrypted")
        if encrypted is UNKNOWN or truthy_flag(encrypted):
            return
        report_violation(f"{subject} is not encrypted. Set encrypted=True (optionally kms_key_id) on the volume.")
        return
    if args.resource_type != EC2_NODE_CLASS:
        return
    mappings = dig(props, "spec", "blockDeviceMappings")
    if mappings is UNKNOWN:
        return
    if not mappings:
        # Karpenter's default mappings for AL2023/Bottlerocket/Windows are encrypted; a Custom AMI has none.
        if dig(props, "spec", "amiFamily") == "Custom":
            report_violation(
                f"{subject} uses amiFamily Custom without blockDeviceMappings, so volumes follow the "
                f"AMI and may be unencrypted. Declare spec.blockDeviceMappings with ebs.encrypted: true."
            )
        return
    for index, mapping in enumerate(mappings if isinstance(mappings, list) else []):
        ebs = dig(mapping, "ebs")
        if ebs is None or ebs is UNKNOWN:
            continue
        encrypted = dig(ebs, "encrypted")
        if encrypted is UNKNOWN or truthy_flag(encrypted):
            continue
        device = dig(mapping, "deviceName", default=f"#{index}")
        report_violation(
            f"{subject}: block device {device} (spec.blockDeviceMappings[{index}]) is not encrypted. "
            f"Set ebs.encrypted: true (and ebs.kmsKeyID for a customer-managed key)."
        )


ebs_volumes_encrypted = ResourceValidationPolicy(
    name="ebs-volumes-encrypted",
    description="EBS volumes - Karpenter node volumes and standalone volumes - are encrypted.",
    validate=_validate_ebs_encrypted,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["security", "encryption"],
)


STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
# The EBS CSI driver's provisioner; its StorageClass parameter `encrypted` is a string ("true"), per the driver's
# parameters reference (kubernetes-sigs/aws-ebs-csi-driver docs/parameters.md).
EBS_CSI_PROVISIONER = "ebs.csi.aws.com"


def _validate_storage_class_encrypted(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != STORAGE_CLASS:
        return
    props = plain(args.props)
    if props.get("provisioner") != EBS_CSI_PROVISIONER:
        return
    encrypted = dig(props, "parameters", "encrypted")
    if encrypted is UNKNOWN or str(encrypted).lower() == "true":
        return
    name = dig(props, "metadata", "name", default=args.name)
    report_violation(
        f'StorageClass "{name}" provisions EBS volumes without encryption. Set parameters.encrypted: "true" '
        f"(and kmsKeyId for a customer-managed key); every volume it makes (Prometheus' data) inherits it."
    )


ebs_storage_class_encrypted = ResourceValidationPolicy(
    name="ebs-storage-class-encrypted",
    description="StorageClasses of the EBS CSI driver encrypt the volumes they provision.",
    validate=_validate_storage_class_encrypted,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["security", "encryption"],
)


# -- (l) interruption queue: encrypted at rest, TLS only --------------------------------------------------------------


def _validate_queue_encrypted(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != SQS_QUEUE:
        return
    props = plain(args.props)
    sse, kms = props.get("sqsManagedSseEnabled"), props.get("kmsMasterKeyId")
    if sse is UNKNOWN or kms is UNKNOWN or truthy_flag(sse) or (isinstance(kms, str) and kms):
        return
    report_violation(
        f"{describe(args.resource_type, args.name, props)} is not encrypted at rest. Set "
        f"sqs_managed_sse_enabled=True (SSE-SQS) or kms_master_key_id to a KMS key."
    )


sqs_queue_encrypted = ResourceValidationPolicy(
    name="sqs-queue-encrypted",
    description="SQS queues (the Karpenter interruption queue) are encrypted at rest (SSE-SQS or KMS).",
    validate=_validate_queue_encrypted,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["security", "encryption"],
)


def _lookup(mapping: Any, key: str) -> Any:
    """Case-insensitive key lookup: IAM condition operators and keys are case-insensitive."""
    if not isinstance(mapping, dict):
        return None
    return next((v for k, v in mapping.items() if isinstance(k, str) and k.lower() == key.lower()), None)


def denies_insecure_transport(document: dict[str, Any]) -> bool:
    """True when a statement denies every SQS action to everyone unless the request used TLS."""
    for statement in statements(document):
        if str(statement.get("Effect", "")).lower() != "deny":
            continue
        secure = _lookup(_lookup(statement.get("Condition"), "Bool"), "aws:SecureTransport")
        if "false" not in [str(v).lower() for v in as_list(secure)]:
            continue
        actions = [str(a).lower() for a in as_list(statement.get("Action"))]
        if not any(a in ("*", "sqs:*") for a in actions):
            continue
        principal = statement.get("Principal")
        if principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS"))):
            return True
    return False


def _policies_for(queue: PolicyResource, queue_policies: list[PolicyResource]) -> list[PolicyResource]:
    """The QueuePolicy resources attached to `queue`.

    Matched by the queueUrl property dependency when the engine reports it, else by any dependency, else
    by a known queueUrl equal to the queue's url.
    """
    url = plain(queue.props).get("url")
    attached = []
    for policy in queue_policies:
        url_deps = (policy.property_dependencies or {}).get("queueUrl")
        deps = url_deps if url_deps else list(policy.dependencies or [])
        policy_url = plain(policy.props).get("queueUrl")
        if any(d.urn == queue.urn for d in deps) or (isinstance(url, str) and policy_url == url):
            attached.append(policy)
    return attached


def _validate_queue_tls(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    queue_policies = [r for r in args.resources if r.resource_type == SQS_QUEUE_POLICY]
    for queue in args.resources:
        if queue.resource_type != SQS_QUEUE:
            continue
        props = plain(queue.props)
        documents = [policy_document(props.get("policy"))]
        documents += [policy_document(plain(p.props).get("policy")) for p in _policies_for(queue, queue_policies)]
        if any(d is UNKNOWN for d in documents):
            continue  # a policy computed from the queue's ARN; `pulumi up` checks it once known
        if any(isinstance(d, dict) and denies_insecure_transport(d) for d in documents):
            continue
        report_violation(
            f"{describe(queue.resource_type, queue.name, props)} accepts requests over plain HTTP: neither its "
            f"policy nor an attached aws.sqs.QueuePolicy denies them. Add a statement "
            f"{{Effect: Deny, Principal: '*', Action: 'sqs:*', Resource: <queue ARN>, "
            f"Condition: {{Bool: {{'aws:SecureTransport': 'false'}}}}}}.",
            queue.urn,
        )


sqs_queue_tls_only = StackValidationPolicy(
    name="sqs-queue-tls-only",
    description="Every SQS queue has a policy that denies requests not made over TLS (aws:SecureTransport).",
    validate=_validate_queue_tls,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["security", "network"],
)


# -- (m) no wildcard IAM actions ---------------------------------------------------------------------------------------

# "*", "*:*" or "<service>:*" - every action of a service. Partial wildcards ("ec2:Describe*") are allowed.
_WILDCARD_ACTION = re.compile(r"^(\*|\*:\*|[a-z0-9-]+:\*)$", re.IGNORECASE)


def wildcard_grants(document: dict[str, Any], allowed: set[str]) -> list[str]:
    """Descriptions of the Allow statements in `document` that grant whole services (or everything)."""
    problems = []
    for index, statement in enumerate(statements(document)):
        if str(statement.get("Effect", "")).lower() != "allow":
            continue
        label = statement.get("Sid") or f"#{index}"
        if "NotAction" in statement:
            problems.append(f"statement {label} allows NotAction {statement['NotAction']!r} (every other action)")
        actions = [a for a in as_list(statement.get("Action")) if isinstance(a, str)]
        wide = [a for a in actions if _WILDCARD_ACTION.match(a) and a.lower() not in allowed]
        if wide:
            problems.append(f"statement {label} allows {join_names(wide)}")
    return problems


def _documents(resource_type: str, props: dict[str, Any]) -> list[tuple[str, Any]]:
    """(where, raw policy) pairs of the identity policies a resource carries."""
    if resource_type in IAM_POLICY_TYPES:
        return [("policy", props.get("policy"))]
    if resource_type == IAM_ROLE:
        inline = props.get("inlinePolicies")
        if inline is UNKNOWN:
            return [("inlinePolicies", UNKNOWN)]
        return [
            (f"inline policy {dig(p, 'name', default=i)!r}", dig(p, "policy"))
            for i, p in enumerate(inline if isinstance(inline, list) else [])
        ]
    return []


def _validate_no_wildcards(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    props = plain(args.props)
    allowed = {str(a).lower() for a in config_value(args, "allowedWildcardActions", [])}
    subject = describe(args.resource_type, args.name, props)
    for where, raw in _documents(args.resource_type, props):
        document = policy_document(raw)
        if document is UNKNOWN or raw is None:
            continue
        if document is None:
            report_violation(
                f"{subject}: {where} is not a JSON policy document, so it cannot be checked for "
                f"wildcard actions. Build it with json.dumps(...) or aws.iam.get_policy_document."
            )
            continue
        for problem in wildcard_grants(cast(dict[str, Any], document), allowed):  # UNKNOWN and None skipped above
            report_violation(
                f"{subject}: {where} {problem}. Grant the specific actions the workload needs "
                f"(as Karpenter's upstream policies do); wildcards let a compromised pod do "
                f"anything the service allows."
            )


iam_no_wildcard_actions = ResourceValidationPolicy(
    name="iam-no-wildcard-actions",
    description="IAM policies never allow '*' or '<service>:*' actions.",
    validate=_validate_no_wildcards,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    config_schema=PolicyConfigSchema(
        properties={
            "allowedWildcardActions": {
                "type": "array",
                "default": [],
                "uniqueItems": True,
                "items": {"type": "string", "pattern": "^[A-Za-z0-9-]+:\\*$"},
                "description": 'Service wildcards accepted anyway, e.g. ["logs:*"] (never "*").',
            },
        }
    ),
    tags=["security", "iam"],
)


# -- (n) launch templates and the node groups that use them ----------------------------------------------------------
#
# Managed node groups launch their instances from an aws.ec2.LaunchTemplate: the program's own, or the one
# pulumi-eks builds for `enableIMDSv2` (IMDS hop limit 2, root volume without encryption or type; see
# preflight/model/children/). Both are checked here, on the AWS types, so the rules hold whoever builds them.

_IMDS_FIX = (
    "set metadataOptions {httpTokens: required, httpPutResponseHopLimit: 1} so only the node itself, not "
    "its pods, can read the node role's credentials from IMDS"
)


def imds_problems(props: dict[str, Any], max_hop_limit: int = 1) -> list[str]:
    """What is wrong with a launch template's metadataOptions; [] when fine or not known yet.

    Unset values are problems: AMIs registered with ImdsSupport v2.0 (AL2023) launch with a hop limit of 2, so
    only an explicit 1 keeps IMDS from answering one network hop away (a pod's network namespace).
    """
    options = props.get("metadataOptions")
    if options is UNKNOWN:
        return []
    if not isinstance(options, dict):
        options = {}
    if dig(options, "httpEndpoint") == "disabled":
        return []  # no IMDS at all
    problems = []
    tokens = dig(options, "httpTokens")
    if tokens is not UNKNOWN and tokens != "required":
        problems.append(
            "metadataOptions.httpTokens " + ("is unset" if tokens is None else f"is {tokens!r}") + " (IMDSv1 allowed)"
        )
    hop = dig(options, "httpPutResponseHopLimit")
    if isinstance(hop, float) and hop.is_integer():
        hop = int(hop)  # the engine carries numbers as doubles
    if hop is not UNKNOWN:
        try:
            too_far = hop is None or int(hop) > max_hop_limit
        except (TypeError, ValueError):
            too_far = True
        if too_far:
            problems.append(
                "metadataOptions.httpPutResponseHopLimit "
                + ("is unset" if hop is None else f"is {hop}")
                + f" (more than {max_hop_limit} lets pods reach IMDS)"
            )
    return problems


def _ebs_mappings(props: dict[str, Any]) -> list[tuple[str, Any]] | None:
    """(device name, ebs block) of every EBS mapping; None when the mappings are not known yet."""
    mappings = props.get("blockDeviceMappings")
    if mappings is UNKNOWN:
        return None
    found = []
    for index, mapping in enumerate(mappings if isinstance(mappings, list) else []):
        if mapping is UNKNOWN:
            return None
        ebs = dig(mapping, "ebs")
        if ebs is None:
            continue  # an instance-store (virtualName) or noDevice mapping has no EBS volume
        found.append((str(dig(mapping, "deviceName", default=f"#{index}")), ebs))
    return found


def encryption_problems(props: dict[str, Any]) -> list[str]:
    """What is unencrypted in a launch template's block devices; [] when fine or not known yet."""
    mappings = _ebs_mappings(props)
    if mappings is None:
        return []
    if not props.get("blockDeviceMappings"):
        return [
            "declares no blockDeviceMappings, so the root volume follows the AMI snapshot (unencrypted unless "
            "the account turned on EBS encryption by default)"
        ]
    problems = []
    for device, ebs in mappings:
        encrypted = dig(ebs, "encrypted")
        if encrypted is UNKNOWN or truthy_flag(encrypted):
            continue
        problems.append(
            f"block device {device} is not encrypted (ebs.encrypted is "
            f"{'unset' if encrypted is None else repr(encrypted)})"
        )
    return problems


def _validate_launch_template_imds(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != LAUNCH_TEMPLATE:
        return
    props = plain(args.props)
    problems = imds_problems(props, int(config_value(args, "maxHopLimit", 1)))
    if problems:
        report_violation(f"{describe(args.resource_type, args.name, props)}: {'; '.join(problems)}. Fix: {_IMDS_FIX}.")


# One setting for both IMDS policies (the template's and the node group's), so they cannot disagree by default.
MAX_HOP_LIMIT_SETTING = {
    "type": "integer",
    "default": 1,
    "minimum": 1,
    "maximum": 64,
    "description": "Highest httpPutResponseHopLimit accepted on a launch template (2 lets pods on the node network "
    "reach IMDS); set it the same on launch-template-imdsv2 and node-group-secure-launch-template.",
}

launch_template_imdsv2 = ResourceValidationPolicy(
    name="launch-template-imdsv2",
    description="EC2 launch templates require IMDSv2 with a response hop limit of 1 (pods cannot reach IMDS).",
    validate=_validate_launch_template_imds,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    config_schema=PolicyConfigSchema(properties={"maxHopLimit": MAX_HOP_LIMIT_SETTING}),
    tags=["security", "ec2"],
)


def _validate_launch_template_encrypted(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != LAUNCH_TEMPLATE:
        return
    props = plain(args.props)
    problems = encryption_problems(props)
    if problems:
        report_violation(
            f"{describe(args.resource_type, args.name, props)} {'; '.join(problems)}. Declare every "
            f"EBS block device (the root one is /dev/xvda on AL2023) with ebs.encrypted: true."
        )


launch_template_volumes_encrypted = ResourceValidationPolicy(
    name="launch-template-volumes-encrypted",
    description="EC2 launch templates declare their EBS volumes, every one encrypted.",
    validate=_validate_launch_template_encrypted,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["security", "encryption", "ec2"],
)


def _validate_launch_template_gp3(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != LAUNCH_TEMPLATE:
        return
    props = plain(args.props)
    for device, ebs in _ebs_mappings(props) or []:
        volume_type = dig(ebs, "volumeType")
        if volume_type is UNKNOWN or volume_type == "gp3":
            continue
        found = (
            "leaves volumeType unset (the AMI snapshot's type applies)"
            if volume_type is None
            else f"uses volumeType {volume_type!r}"
        )
        report_violation(
            f"{describe(args.resource_type, args.name, props)}: block device {device} {found}. Use "
            f"gp3: 3000 IOPS and 125 MB/s at any size, about 20% cheaper per GiB than gp2."
        )


# Advisory: a volume type is a cost and performance choice, not an exposure (io2 for a database node is fine).
launch_template_volumes_gp3 = ResourceValidationPolicy(
    name="launch-template-volumes-gp3",
    description="EC2 launch templates use gp3 EBS volumes (cheaper and faster than gp2 at node-disk sizes).",
    validate=_validate_launch_template_gp3,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    tags=["cost", "ec2"],
)


def _launch_templates_of(node_group: PolicyResource) -> list[PolicyResource]:
    """The launch templates a node group is launched from: its dependencies of the launch-template type.

    The reference (launchTemplate.id) is unknown until the template exists, so matching by dependency also
    works in a first preview; both pulumi-eks's own template and one passed in arrive as dependencies.
    """
    return [d for d in (node_group.dependencies or []) if d.resource_type == LAUNCH_TEMPLATE]


def _validate_node_group_template(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = args.get_config() or {}
    max_hop = int(config.get("maxHopLimit") or 1)
    for group in args.resources:
        if group.resource_type != EKS_NODE_GROUP:
            continue
        props = plain(group.props)
        subject = describe(group.resource_type, group.name, props)
        if props.get("launchTemplate") is None:
            report_violation(
                f"{subject} has no launch template, so its nodes get EKS's default IMDS and volume settings, which "
                f"this stack cannot check. Launch it from an aws.ec2.LaunchTemplate that requires IMDSv2 with hop "
                f"limit 1 and encrypts every EBS volume.",
                group.urn,
            )
            continue
        templates = _launch_templates_of(group)
        if not templates:
            report_violation(
                f"{subject} uses a launch template that is not part of this stack, so its IMDS and volume settings "
                f"cannot be checked. Manage the template in the stack (or set this policy to advisory for "
                f"externally managed templates).",
                group.urn,
            )
            continue
        for template in templates:
            template_props = plain(template.props)
            problems = imds_problems(template_props, max_hop) + encryption_problems(template_props)
            if problems:
                report_violation(
                    f"{subject} launches its nodes from "
                    f"{describe(template.resource_type, template.name, template_props)}, "
                    f"which {'; '.join(problems)}. Fix the template: {_IMDS_FIX}, and set ebs.encrypted: true on "
                    f"every block device.",
                    group.urn,
                )


node_group_secure_launch_template = StackValidationPolicy(
    name="node-group-secure-launch-template",
    description="EKS managed node groups launch from a launch template in the stack that requires IMDSv2 (hop "
    "limit 1) and encrypts every EBS volume.",
    validate=_validate_node_group_template,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    config_schema=PolicyConfigSchema(properties={"maxHopLimit": MAX_HOP_LIMIT_SETTING}),
    tags=["security", "eks", "ec2"],
)


SECURITY_POLICIES = [
    eks_secrets_encryption,
    eks_audit_logging,
    eks_public_endpoint_restricted,
    ec2nodeclass_imdsv2_required,
    managed_node_group_imdsv2,
    ebs_volumes_encrypted,
    ebs_storage_class_encrypted,
    sqs_queue_encrypted,
    sqs_queue_tls_only,
    iam_no_wildcard_actions,
    launch_template_imdsv2,
    launch_template_volumes_encrypted,
    launch_template_volumes_gp3,
    node_group_secure_launch_template,
]
