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
from typing import Any

from pulumi_policy import (EnforcementLevel, PolicyConfigSchema, PolicyResource, ReportViolation,
                           ResourceValidationArgs, ResourceValidationPolicy, Severity, StackValidationArgs,
                           StackValidationPolicy)

from .helpers import (EC2_NODE_CLASS, UNKNOWN, as_list, config_value, describe, dig, join_names, plain,
                      policy_document, statements, truthy_flag)

EKS_COMPONENT = "eks:index:Cluster"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_MANAGED_NODE_GROUP = "eks:index:ManagedNodeGroup"
EBS_VOLUME = "aws:ebs/volume:Volume"
SQS_QUEUE = "aws:sqs/queue:Queue"
SQS_QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
# IAM resources whose `policy` input is an identity policy document.
IAM_POLICY_TYPES = ("aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy", "aws:iam/userPolicy:UserPolicy",
                    "aws:iam/groupPolicy:GroupPolicy")
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
        if resources is UNKNOWN or "secrets" in as_list(resources):
            return  # an unknown key ARN is a key being created in the same update: set
        report_violation(f"{subject} has an encryption key but does not list 'secrets' in encryptionConfig.resources; "
                         f"add it so Kubernetes Secrets are envelope-encrypted.")
        return
    report_violation(
        f"{subject} does not envelope-encrypt Kubernetes Secrets with a KMS key. Set "
        f"encryption_config_key_arn (pulumi-eks) or encryption_config={{provider: {{key_arn}}, resources: "
        f"['secrets']}} (aws.eks.Cluster) to a customer-managed KMS key with rotation enabled.")


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
            f"(gpu-eks:clusterLogTypes in the stack config) so API access can be investigated.")


eks_audit_logging = ResourceValidationPolicy(
    name="eks-audit-logging",
    description="EKS clusters ship the Kubernetes audit log (and any other required log types) to CloudWatch.",
    validate=_validate_audit_logging,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    config_schema=PolicyConfigSchema(properties={
        "requiredLogTypes": {
            "type": "array", "default": ["audit"], "uniqueItems": True,
            "items": {"type": "string",
                      "enum": ["api", "audit", "authenticator", "controllerManager", "scheduler"]},
            "description": "Control-plane log types every cluster must enable.",
        },
    }),
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
    fix = ("Set gpu-eks:endpoint.publicAccessCidrs to your office/VPN ranges, or turn the public endpoint off "
           "(gpu-eks:endpoint.publicAccess: false); if a world-open endpoint is intended, set "
           "allowPublicEndpointFromAnywhere: true for this policy in the policy pack config.")
    if not cidrs:
        report_violation(f"{subject} has a public API endpoint and no publicAccessCidrs, which EKS opens to "
                         f"0.0.0.0/0. {fix}")
        return
    open_cidrs = [c for c in cidrs if isinstance(c, str) and _open_to_anywhere(c)]
    invalid = [c for c in cidrs if c is not UNKNOWN and (not isinstance(c, str) or _open_to_anywhere(c) is None)]
    if open_cidrs:
        report_violation(f"{subject} opens its public API endpoint to {join_names(open_cidrs)}. {fix}")
    if invalid:
        report_violation(f"{subject} lists publicAccessCidrs that are not CIDR blocks: {invalid!r}. "
                         f"Use forms like 203.0.113.0/24.")


eks_public_endpoint_restricted = ResourceValidationPolicy(
    name="eks-public-endpoint-restricted",
    description="A public EKS API endpoint is limited to known CIDR ranges, never 0.0.0.0/0.",
    validate=_validate_public_endpoint,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    config_schema=PolicyConfigSchema(properties={
        "allowPublicEndpointFromAnywhere": {
            "type": "boolean", "default": False,
            "description": "Accept a public endpoint open to 0.0.0.0/0 (e.g. a throwaway sandbox).",
        },
    }),
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
        f"\"required\" (IMDSv2 only) with httpPutResponseHopLimit 1, so pods cannot use the node role's "
        f"credentials through IMDSv1; pinning it explicitly keeps a CRD default change from weakening it.")


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
    if props.get("launchTemplate") not in (None, UNKNOWN):
        return  # IMDS settings then live in the caller's launch template, which pulumi-eks does not touch
    enabled = props.get("enableIMDSv2")
    if enabled is UNKNOWN or truthy_flag(enabled):
        return
    report_violation(
        f"{describe(args.resource_type, args.name, props)} does not set enableIMDSv2 (pulumi-eks defaults it to "
        f"false), so its nodes may answer IMDSv1 requests. Pass enable_imd_sv2=True to eks.ManagedNodeGroup.")


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
            report_violation(f"{subject} uses amiFamily Custom without blockDeviceMappings, so volumes follow the "
                             f"AMI and may be unencrypted. Declare spec.blockDeviceMappings with ebs.encrypted: true.")
        return
    for index, mapping in enumerate(mappings if isinstance(mappings, list) else []):
        ebs = dig(mapping, "ebs")
        if ebs is None or ebs is UNKNOWN:
            continue
        encrypted = dig(ebs, "encrypted")
        if encrypted is UNKNOWN or truthy_flag(encrypted):
            continue
        device = dig(mapping, "deviceName", default=f"#{index}")
        report_violation(f"{subject}: block device {device} (spec.blockDeviceMappings[{index}]) is not encrypted. "
                         f"Set ebs.encrypted: true (and ebs.kmsKeyID for a customer-managed key).")


ebs_volumes_encrypted = ResourceValidationPolicy(
    name="ebs-volumes-encrypted",
    description="EBS volumes - Karpenter node volumes and standalone volumes - are encrypted.",
    validate=_validate_ebs_encrypted,
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
    report_violation(f"{describe(args.resource_type, args.name, props)} is not encrypted at rest. Set "
                     f"sqs_managed_sse_enabled=True (SSE-SQS) or kms_master_key_id to a KMS key.")


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
            f"Condition: {{Bool: {{'aws:SecureTransport': 'false'}}}}}}.", queue.urn)


sqs_queue_tls_only = StackValidationPolicy(
    name="sqs-queue-tls-only",
    description="Every SQS queue has a policy that denies requests not made over TLS (aws:SecureTransport).",
    validate=_validate_queue_tls,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["security", "network"],
)


# -- (m) no wildcard IAM actions -----------------------------------------------------------------------------------------

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
        return [(f"inline policy {dig(p, 'name', default=i)!r}", dig(p, "policy"))
                for i, p in enumerate(inline if isinstance(inline, list) else [])]
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
            report_violation(f"{subject}: {where} is not a JSON policy document, so it cannot be checked for "
                             f"wildcard actions. Build it with json.dumps(...) or aws.iam.get_policy_document.")
            continue
        for problem in wildcard_grants(document, allowed):
            report_violation(f"{subject}: {where} {problem}. Grant the specific actions the workload needs "
                             f"(as Karpenter's upstream policies do); wildcards let a compromised pod do "
                             f"anything the service allows.")


iam_no_wildcard_actions = ResourceValidationPolicy(
    name="iam-no-wildcard-actions",
    description="IAM policies never allow '*' or '<service>:*' actions.",
    validate=_validate_no_wildcards,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    config_schema=PolicyConfigSchema(properties={
        "allowedWildcardActions": {
            "type": "array", "default": [], "uniqueItems": True,
            "items": {"type": "string", "pattern": "^[A-Za-z0-9-]+:\\*$"},
            "description": "Service wildcards accepted anyway, e.g. [\"logs:*\"] (never \"*\").",
        },
    }),
    tags=["security", "iam"],
)


SECURITY_POLICIES = [
    eks_secrets_encryption,
    eks_audit_logging,
    eks_public_endpoint_restricted,
    ec2nodeclass_imdsv2_required,
    managed_node_group_imdsv2,
    ebs_volumes_encrypted,
    sqs_queue_encrypted,
    sqs_queue_tls_only,
    iam_no_wildcard_actions,
]
