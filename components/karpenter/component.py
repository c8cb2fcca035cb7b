"""Karpenter: controller and node IAM, the interruption queue, and the CRD + controller Helm releases.

Pure builders decide what is installed and with which permissions: `components.karpenter.chart` (values),
`components.karpenter.iam` (the controller's IAM, the upstream v1.14 reference statement by statement),
`components.karpenter.interruption` (queue and rules) and `components.cluster.node_role` (the node role).
The `Karpenter` component wires the AWS and Helm resources.

Install order, each an explicit dependency: node role + access entry and controller role + policies ->
`karpenter-crd` release (owns the CRDs, so `helm upgrade` upgrades them) -> `karpenter` release with
CRDs skipped -> the custom resources (EC2NodeClass, NodePool, NodeOverlay) built elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import versions
from components.cluster.component import Cluster
from components.cluster.node_role import node_role_with_policies
from components.common.aws import account_id_of
from components.common.context import StackContext
from components.karpenter import iam, interruption
from components.karpenter.chart import karpenter_values, oci_chart
from components.karpenter.config import IRSA, POD_IDENTITY, KarpenterConfig


def _policy_json(key: str) -> Callable[[dict[str, dict[str, Any]]], str]:
    """One controller policy's JSON, picked from all six documents."""
    return lambda documents: json.dumps(documents[key], sort_keys=True)


@dataclass(frozen=True)
class KarpenterArgs:
    """Inputs of the Karpenter component: its config section and the cluster it installs into."""

    context: StackContext
    config: KarpenterConfig
    cluster: Cluster
    # The metrics stack's release(s), which install the ServiceMonitor CRD: given, the controller release waits for
    # them and turns the chart's ServiceMonitor on (the chart skips it while the CRD is missing). Empty: no metrics.
    monitoring: Sequence[pulumi.Resource] = ()


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
    # What a Karpenter custom resource must wait for: the CRDs, the controller, the node access entry and the node
    # role's policy attachments (otherwise the first node it launches cannot join the cluster).
    custom_resource_dependencies: list[pulumi.Resource]

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-eks:karpenter:Karpenter", name, None, opts)
        context, karpenter, cluster = args.context, args.config, args.cluster
        cluster_name, region = context.cluster_name, context.region
        partition = context.partition
        tags = context.resource_tags
        child = pulumi.ResourceOptions(parent=self)
        self.version = karpenter.version

        # -- nodes ------------------------------------------------------------------------------------------
        # The attachments are what lets a node join (worker node policy), wire pods (CNI) and pull images (ECR): every
        # custom resource that can launch a node waits for them, and on destroy they go only after those.
        node_role, node_role_attachments = node_role_with_policies(
            f"{name}-node", role_name=f"{cluster_name}-karpenter-node", partition=partition, tags=tags, opts=child
        )
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
            name=cluster_name,
            message_retention_seconds=interruption.QUEUE_MESSAGE_RETENTION_SECONDS,
            sqs_managed_sse_enabled=interruption.QUEUE_SQS_MANAGED_SSE_ENABLED,
            tags=tags,
            opts=child,
        )
        rules = [
            aws.cloudwatch.EventRule(
                f"{name}-{rule.name}",
                description=f"Karpenter interruption handling for {cluster_name}: {rule.detail_type}",
                event_pattern=json.dumps(interruption.event_pattern(rule)),
                tags=tags,
                opts=child,
            )
            for rule in interruption.INTERRUPTION_RULES
        ]
        # Each rule may send to the queue only as itself (aws:SourceArn), so the policy waits for the rules' ARNs, and
        # each target waits for the policy: a target set before it would drop the first events.
        queue_policy = aws.sqs.QueuePolicy(
            f"{name}-interruption-queue-policy",
            queue_url=queue.url,
            policy=pulumi.Output.all(queue.arn, *(r.arn for r in rules)).apply(
                lambda arns: json.dumps(interruption.interruption_queue_policy(arns[0], arns[1:]))
            ),
            opts=child,
        )
        for rule, event_rule in zip(interruption.INTERRUPTION_RULES, rules, strict=True):
            aws.cloudwatch.EventTarget(
                f"{name}-{rule.name}-target",
                rule=event_rule.name,
                arn=queue.arn,
                target_id=interruption.QUEUE_TARGET_ID,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[queue_policy]),
            )

        # -- controller identity ------------------------------------------------------------------------------
        trust: pulumi.Input[str]
        if karpenter.identity == IRSA:
            trust = pulumi.Output.all(cluster.oidc_provider_arn, cluster.oidc_issuer).apply(
                lambda values: json.dumps(
                    iam.controller_trust_policy_irsa(
                        values[0], values[1], versions.KARPENTER_NAMESPACE, versions.KARPENTER_SERVICE_ACCOUNT
                    )
                )
            )
        else:
            trust = json.dumps(iam.controller_trust_policy_pod_identity())
        controller_role = aws.iam.Role(
            f"{name}-controller-role",
            name=f"{cluster_name}-karpenter-controller",
            assume_role_policy=trust,
            tags=tags,
            opts=child,
        )
        # The account ID is read off an ARN we create anyway, instead of a getCallerIdentity invoke.
        documents = pulumi.Output.all(node_role.arn, queue.arn).apply(
            lambda arns: iam.controller_policies(
                iam.IamScope(
                    cluster_name=cluster_name, region=region, partition=partition, account_id=account_id_of(arns[0])
                ),
                node_role_arn=arns[0],
                queue_arn=arns[1],
            )
        )
        attachments = []
        for key, policy_name in iam.CONTROLLER_POLICY_NAMES.items():
            policy = aws.iam.Policy(
                f"{name}-{key}-policy",
                name=f"{policy_name}-{cluster_name}",
                policy=documents.apply(_policy_json(key)),
                tags=tags,
                opts=child,
            )
            attachments.append(
                aws.iam.RolePolicyAttachment(
                    f"{name}-controller-{key}", role=controller_role.name, policy_arn=policy.arn, opts=child
                )
            )
        identity_ready: list[pulumi.Resource] = list(attachments)
        if karpenter.identity == POD_IDENTITY:
            identity_ready.append(
                aws.eks.PodIdentityAssociation(
                    f"{name}-pod-identity",
                    cluster_name=cluster.cluster_name,
                    namespace=versions.KARPENTER_NAMESPACE,
                    service_account=versions.KARPENTER_SERVICE_ACCOUNT,
                    role_arn=controller_role.arn,
                    tags=tags,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=cluster.ready),
                )
            )
        if karpenter.create_spot_service_linked_role:
            # Once per account; leave off when another stack or a person already created it.
            aws.iam.ServiceLinkedRole(
                f"{name}-spot-service-linked-role", aws_service_name="spot.amazonaws.com", opts=child
            )

        # -- Helm releases ------------------------------------------------------------------------------------
        in_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=cluster.ready)
        self.crd_release = k8s.helm.v3.Release(
            f"{name}-crd",
            name=versions.KARPENTER_CRD_CHART,
            chart=oci_chart(versions.KARPENTER_CRD_CHART),
            version=karpenter.version,
            namespace=versions.KARPENTER_NAMESPACE,
            opts=in_cluster,
        )
        values = pulumi.Output.all(queue.name, controller_role.arn).apply(
            lambda out: karpenter_values(
                karpenter,
                cluster_name=cluster_name,
                queue_name=out[0],
                region=region,
                irsa_role_arn=out[1] if karpenter.identity == IRSA else None,
                service_monitor=bool(args.monitoring),
            )
        )
        self.controller_release = k8s.helm.v3.Release(
            f"{name}-controller",
            name=versions.KARPENTER_CHART,
            chart=oci_chart(versions.KARPENTER_CHART),
            version=karpenter.version,
            namespace=versions.KARPENTER_NAMESPACE,
            # The karpenter-crd release owns the CRDs; the chart's crds/ folder is only applied on first
            # install by Helm and would never be upgraded.
            skip_crds=True,
            values=values,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=cluster.provider,
                depends_on=[self.crd_release, *identity_ready, *cluster.ready, *args.monitoring],
            ),
        )
        self.node_role_name = node_role.name
        self.node_role_arn = node_role.arn
        self.controller_role_arn = controller_role.arn
        self.interruption_queue_name = queue.name
        self.interruption_queue_arn = queue.arn
        self.custom_resource_dependencies = [
            self.crd_release,
            self.controller_release,
            node_access_entry,
            *node_role_attachments,
        ]
        self.register_outputs(
            {
                "nodeRoleArn": self.node_role_arn,
                "controllerRoleArn": self.controller_role_arn,
                "interruptionQueueArn": self.interruption_queue_arn,
            }
        )
