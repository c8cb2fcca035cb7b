"""Karpenter: controller and node IAM, the interruption queue, and the CRD + controller Helm releases.

Pure builders (`karpenter_values`, `controller_role_trust`) decide what is installed and with which
permissions; the `Karpenter` component wires the AWS and Helm resources. IAM documents come from
`components.karpenter_iam` (the upstream v1.14 reference, statement by statement).

Install order, each an explicit dependency: node role + access entry and controller role + policies ->
`karpenter-crd` release (owns the CRDs, so `helm upgrade` upgrades them) -> `karpenter` release with
CRDs skipped -> the custom resources (EC2NodeClass, NodePool, NodeOverlay) built elsewhere.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import karpenter_iam, versions
from components.aws_naming import account_id_of, partition_for_region
from components.cluster import CONTROLLER_LABEL, Cluster, node_role_with_policies, resource_tags
from components.config import KARPENTER_REPLICAS, KarpenterConfig, PlatformConfig

# The upstream CloudFormation's policy names, suffixed with the cluster name.
CONTROLLER_POLICY_NAMES = {
    "node-lifecycle": "KarpenterControllerNodeLifecyclePolicy",
    "iam-integration": "KarpenterControllerIAMIntegrationPolicy",
    "eks-integration": "KarpenterControllerEKSIntegrationPolicy",
    "interruption": "KarpenterControllerInterruptionPolicy",
    "zonal-shift": "KarpenterControllerZonalShiftPolicy",
    "resource-discovery": "KarpenterControllerResourceDiscoveryPolicy",
}
# The getting-started guide's controller sizing; requests == limits keeps the controller Guaranteed QoS.
CONTROLLER_RESOURCES = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"


def karpenter_values(config: KarpenterConfig, *, cluster_name: str, queue_name: str, region: str,
                     irsa_role_arn: str | None = None) -> dict[str, Any]:
    """Helm values for the `karpenter` chart. Every key exists in the chart's values.yaml (tested)."""
    service_account: dict[str, Any] = {"create": True, "name": versions.KARPENTER_SERVICE_ACCOUNT}
    if irsa_role_arn is not None:
        service_account["annotations"] = {IRSA_ROLE_ANNOTATION: irsa_role_arn}
    return {
        # The controller node group is validated to hold this many (hostname anti-affinity), see config.py.
        "replicas": KARPENTER_REPLICAS,
        "logLevel": config.log_level,
        # Only on the controller node group: Karpenter must never run on nodes it may remove.
        "nodeSelector": {"kubernetes.io/os": "linux", CONTROLLER_LABEL: "true"},
        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
        # The controller group's IMDS hop limit is 1 (pods must not reach the node role), so Karpenter cannot
        # ask IMDS for its region; v1.14.1 reads AWS_REGION first and panics without either
        # (pkg/operator/operator.go; aws/karpenter-provider-aws#8219). The chart sets no region itself.
        "controller": {"resources": CONTROLLER_RESOURCES, "env": [{"name": "AWS_REGION", "value": region}]},
        "serviceAccount": service_account,
        "settings": {
            "clusterName": cluster_name,
            "interruptionQueue": queue_name,
            "featureGates": dict(sorted(config.feature_gates.items())),
        },
    }


def oci_chart(chart: str) -> str:
    """Full OCI reference of a Karpenter chart."""
    return f"{versions.KARPENTER_CHART_REPOSITORY}/{chart}"


@dataclass(frozen=True)
class KarpenterArgs:
    """Inputs of the Karpenter component."""

    config: PlatformConfig
    cluster: Cluster


class Karpenter(pulumi.ComponentResource):
    """Karpenter's AWS side (IAM, queue, rules, access entry) and its two Helm releases."""

    version: str
    node_role_name: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    controller_role_arn: pulumi.Output[str]
    interruption_queue_name: pulumi.Output[str]
    interruption_queue_arn: pulumi.Output[str]
    crd_release: k8s.helm.v3.Release
    controller_release: k8s.helm.v3.Release
    # What a Karpenter custom resource must wait for: the CRDs, the controller, and the node access entry
    # (otherwise the first node it launches cannot join the cluster).
    custom_resource_dependencies: list[pulumi.Resource]

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-eks:karpenter:Karpenter", name, None, opts)
        config, cluster = args.config, args.cluster
        karpenter = config.karpenter
        partition = partition_for_region(config.region)
        tags = resource_tags(config)
        child = pulumi.ResourceOptions(parent=self)
        self.version = karpenter.version

        # -- nodes ------------------------------------------------------------------------------------------
        node_role, _ = node_role_with_policies(f"{name}-node", role_name=f"{config.cluster_name}-karpenter-node",
                                               partition=partition, tags=tags, opts=child)
        # API authentication mode: an EC2_LINUX access entry lets the node role join as a node.
        node_access_entry = aws.eks.AccessEntry(
            f"{name}-node-access-entry",
            cluster_name=cluster.cluster_name,
            principal_arn=node_role.arn,
            type="EC2_LINUX",
            tags=tags,
            opts=child,
        )

        # -- interruption handling ---------------------------------------------------------------------------
        queue = aws.sqs.Queue(
            f"{name}-interruption-queue",
            name=config.cluster_name,
            message_retention_seconds=karpenter_iam.QUEUE_MESSAGE_RETENTION_SECONDS,
            sqs_managed_sse_enabled=karpenter_iam.QUEUE_SQS_MANAGED_SSE_ENABLED,
            tags=tags,
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-interruption-queue-policy",
            queue_url=queue.url,
            policy=queue.arn.apply(lambda arn: json.dumps(karpenter_iam.interruption_queue_policy(arn))),
            opts=child,
        )
        for rule in karpenter_iam.INTERRUPTION_RULES:
            event_rule = aws.cloudwatch.EventRule(
                f"{name}-{rule.name}",
                description=f"Karpenter interruption handling for {config.cluster_name}: {rule.detail_type}",
                event_pattern=json.dumps(karpenter_iam.event_pattern(rule)),
                tags=tags,
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{rule.name}-target",
                rule=event_rule.name,
                arn=queue.arn,
                target_id="KarpenterInterruptionQueueTarget",
                opts=child,
            )

        # -- controller identity ------------------------------------------------------------------------------
        if karpenter.identity == "irsa":
            trust = pulumi.Output.all(cluster.oidc_provider_arn, cluster.oidc_issuer).apply(
                lambda values: json.dumps(karpenter_iam.controller_trust_policy_irsa(
                    values[0], values[1], versions.KARPENTER_NAMESPACE, versions.KARPENTER_SERVICE_ACCOUNT)))
        else:
            trust = json.dumps(karpenter_iam.controller_trust_policy_pod_identity())
        controller_role = aws.iam.Role(
            f"{name}-controller-role",
            name=f"{config.cluster_name}-karpenter-controller",
            assume_role_policy=trust,
            tags=tags,
            opts=child,
        )
        # The account ID is read off an ARN we create anyway, instead of a getCallerIdentity invoke.
        documents = pulumi.Output.all(node_role.arn, queue.arn).apply(
            lambda arns: karpenter_iam.controller_policies(
                karpenter_iam.IamScope(cluster_name=config.cluster_name, region=config.region, partition=partition,
                                       account_id=account_id_of(arns[0])),
                node_role_arn=arns[0], queue_arn=arns[1]))
        attachments = []
        for key, policy_name in CONTROLLER_POLICY_NAMES.items():
            policy = aws.iam.Policy(
                f"{name}-{key}-policy",
                name=f"{policy_name}-{config.cluster_name}",
                policy=documents.apply(lambda docs, key=key: json.dumps(docs[key], sort_keys=True)),
                tags=tags,
                opts=child,
            )
            attachments.append(aws.iam.RolePolicyAttachment(
                f"{name}-controller-{key}", role=controller_role.name, policy_arn=policy.arn, opts=child))
        identity_ready: list[pulumi.Resource] = list(attachments)
        if karpenter.identity == "pod-identity":
            identity_ready.append(aws.eks.PodIdentityAssociation(
                f"{name}-pod-identity",
                cluster_name=cluster.cluster_name,
                namespace=versions.KARPENTER_NAMESPACE,
                service_account=versions.KARPENTER_SERVICE_ACCOUNT,
                role_arn=controller_role.arn,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=cluster.ready),
            ))
        if karpenter.create_spot_service_linked_role:
            # Once per account; leave off when another stack or a person already created it.
            aws.iam.ServiceLinkedRole(f"{name}-spot-service-linked-role", aws_service_name="spot.amazonaws.com",
                                      opts=child)

        # -- Helm releases ------------------------------------------------------------------------------------
        in_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=cluster.ready)
        self.crd_release = k8s.helm.v3.Release(
            f"{name}-crd",
            name="karpenter-crd",
            chart=oci_chart(versions.KARPENTER_CRD_CHART),
            version=karpenter.version,
            namespace=versions.KARPENTER_NAMESPACE,
            opts=in_cluster,
        )
        values = pulumi.Output.all(queue.name, controller_role.arn).apply(
            lambda out: karpenter_values(karpenter, cluster_name=config.cluster_name, queue_name=out[0], region=config.region,
                                         irsa_role_arn=out[1] if karpenter.identity == "irsa" else None))
        self.controller_release = k8s.helm.v3.Release(
            f"{name}-controller",
            name="karpenter",
            chart=oci_chart(versions.KARPENTER_CHART),
            version=karpenter.version,
            namespace=versions.KARPENTER_NAMESPACE,
            # The karpenter-crd release owns the CRDs; the chart's crds/ folder is only applied on first
            # install by Helm and would never be upgraded.
            skip_crds=True,
            values=values,
            opts=pulumi.ResourceOptions(parent=self, provider=cluster.provider,
                                        depends_on=[self.crd_release, *identity_ready, *cluster.ready]),
        )
        self.node_role_name = node_role.name
        self.node_role_arn = node_role.arn
        self.controller_role_arn = controller_role.arn
        self.interruption_queue_name = queue.name
        self.interruption_queue_arn = queue.arn
        self.custom_resource_dependencies = [self.crd_release, self.controller_release, node_access_entry]
        self.register_outputs({
            "nodeRoleArn": self.node_role_arn,
            "controllerRoleArn": self.controller_role_arn,
            "interruptionQueueArn": self.interruption_queue_arn,
        })
