"""Observability and NodeHealth: the metrics stack, GPU metrics, dashboards and alerts; the node monitoring agent.

All decisions live in the pure builders (`values`, `dcgm`, `alerts`, `dashboards`, `iam`, `health`); these
components register them in dependency order:

* in-cluster: EBS CSI driver add-on (its role by Pod Identity, or IRSA with `karpenter.identity: irsa`) and the
  encrypted gp3 StorageClass -> kube-prometheus-stack;
* amp: AMP workspace (retention, our rule groups) and two roles (Pod Identity, or IRSA) -> kube-prometheus-stack
  (agent mode);
* then the dashboards (ConfigMaps for Grafana's sidecar) and, on device-plugin stacks, the dcgm-exporter release.

The stack release installs the Prometheus Operator CRDs, so Karpenter's and the NVIDIA releases wait for it
(`monitoring`): Karpenter's chart only renders its ServiceMonitor when the CRD is there.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import yaml

from components import versions
from components.cluster.component import Cluster
from components.common.aws import irsa_trust_policy, pod_identity_trust_policy
from components.common.context import StackContext
from components.common.names import INSTANCE_GPU_MANUFACTURER_LABEL
from components.observability import alerts, dashboards, dcgm, health, iam, values
from components.observability.config import NodeHealthConfig, ObservabilityConfig, ObservabilityMode
from components.observability.names import (
    DCGM_EXPORTER_RELEASE,
    GRAFANA_ADMIN_SECRET,
    GRAFANA_SERVICE,
    GRAFANA_SERVICE_ACCOUNT,
    MONITORING_NAMESPACE,
    PROMETHEUS_SERVICE,
    PROMETHEUS_SERVICE_ACCOUNT,
    STACK_RELEASE,
)

EBS_CSI_ADDON = "aws-ebs-csi-driver"


@dataclass(frozen=True)
class ObservabilityArgs:
    """Inputs of the Observability component: its config section, the cluster, and what the GPU pools need."""

    context: StackContext
    config: ObservabilityConfig
    kubernetes_version: str
    cluster: Cluster
    gpu_pool_names: Sequence[str] = ()
    # The GPU Operator runs its own DCGM exporter (configured through GpuCapacity); otherwise GPU stacks get the
    # dcgm-exporter chart here.
    gpu_operator: bool = False
    # What a DaemonSet on every GPU node tolerates (components.gpu.pools.gpu_node_tolerations).
    gpu_tolerations: Sequence[dict[str, str]] = ()
    # `karpenter.identity: irsa`: the stack's pods get AWS roles through IRSA (the cluster's OIDC provider), so the
    # EBS CSI and AMP roles do too; otherwise through Pod Identity.
    irsa: bool = False
    # nodeHealth.autoRepair: the node monitoring agent's dcgm-server is each GPU node's DCGM host engine, and the
    # exporter connects to it (components.observability.dcgm).
    agent_host_engine: bool = False


class Observability(pulumi.ComponentResource):
    """The metrics stack of one mode (never built for mode off)."""

    # What must wait for the Prometheus Operator's CRDs (Karpenter's and the NVIDIA releases).
    monitoring: list[pulumi.Resource]
    outputs: dict[str, Any]

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-eks:observability:Observability", name, None, opts)
        config, cluster, context = args.config, args.cluster, args.context
        if config.mode is ObservabilityMode.OFF:
            raise ValueError("observability is off: build no Observability component")
        tags = context.resource_tags
        child = pulumi.ResourceOptions(parent=self)
        rule_groups = alerts.rule_groups()
        prerequisites: list[pulumi.Resource] = list(cluster.ready)
        stack_values: pulumi.Input[dict[str, Any]]
        workspace: aws.amp.Workspace | None = None

        if config.mode is ObservabilityMode.IN_CLUSTER:
            ebs_role = self._role(
                f"{name}-ebs-csi",
                f"{context.cluster_name}-ebs-csi",
                tags,
                args,
                iam.EBS_CSI_NAMESPACE,
                iam.EBS_CSI_SERVICE_ACCOUNT,
            )
            attachment = aws.iam.RolePolicyAttachment(
                f"{name}-ebs-csi-policy",
                role=ebs_role.name,
                policy_arn=iam.ebs_csi_policy_arn(context.partition),
                opts=child,
            )
            addon = aws.eks.Addon(
                f"{name}-{EBS_CSI_ADDON}",
                cluster_name=cluster.cluster_name,
                addon_name=EBS_CSI_ADDON,
                addon_version=versions.eks_addon_versions(args.kubernetes_version)[EBS_CSI_ADDON],
                # IRSA: EKS annotates the add-on's service account with the role; else a Pod Identity association.
                service_account_role_arn=ebs_role.arn if args.irsa else None,
                pod_identity_associations=None
                if args.irsa
                else [
                    aws.eks.AddonPodIdentityAssociationArgs(
                        role_arn=ebs_role.arn, service_account=iam.EBS_CSI_SERVICE_ACCOUNT
                    )
                ],
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="PRESERVE",
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*cluster.ready, attachment]),
            )
            storage_class = k8s.storage.v1.StorageClass(
                f"{name}-{values.STORAGE_CLASS}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=values.STORAGE_CLASS),
                provisioner=values.EBS_CSI_PROVISIONER,
                parameters=values.storage_class_parameters(),
                # The volume is created in the zone the scheduler picks for Prometheus, not before.
                volume_binding_mode="WaitForFirstConsumer",
                # Deleted with the stack, like everything else it creates (README "Teardown").
                reclaim_policy="Delete",
                allow_volume_expansion=True,
                opts=pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=[addon]),
            )
            prerequisites += [addon, storage_class]
            stack_values = values.stack_values(config, region=context.region, rule_groups=rule_groups)
        else:
            workspace = aws.amp.Workspace(f"{name}-workspace", alias=context.cluster_name, tags=tags, opts=child)
            aws.amp.WorkspaceConfiguration(
                f"{name}-workspace-configuration",
                workspace_id=workspace.id,
                retention_period_in_days=config.retention_days,
                opts=child,
            )
            # AMP evaluates our alert rules (the agent evaluates none).
            aws.amp.RuleGroupNamespace(
                f"{name}-rules",
                name="gpu-eks",
                workspace_id=workspace.id,
                data=yaml.safe_dump({"groups": rule_groups}, sort_keys=False),
                tags=tags,
                opts=child,
            )
            amp_roles: dict[str, pulumi.Output[str]] = {}
            for key, service_account, document in (
                ("prometheus", PROMETHEUS_SERVICE_ACCOUNT, iam.remote_write_policy),
                ("grafana", GRAFANA_SERVICE_ACCOUNT, iam.query_policy),
            ):
                role = self._role(
                    f"{name}-{key}",
                    f"{context.cluster_name}-{key}-amp",
                    tags,
                    args,
                    MONITORING_NAMESPACE,
                    service_account,
                )
                amp_roles[key] = role.arn
                policy = aws.iam.RolePolicy(
                    f"{name}-{key}-amp",
                    role=role.name,
                    policy=workspace.arn.apply(_policy_json(document)),
                    opts=child,
                )
                prerequisites.append(policy)
                if not args.irsa:
                    prerequisites.append(
                        aws.eks.PodIdentityAssociation(
                            f"{name}-{key}-pod-identity",
                            cluster_name=cluster.cluster_name,
                            namespace=MONITORING_NAMESPACE,
                            service_account=service_account,
                            role_arn=role.arn,
                            tags=tags,
                            opts=pulumi.ResourceOptions(parent=self, depends_on=cluster.ready),
                        )
                    )
            stack_values = pulumi.Output.all(
                workspace.prometheus_endpoint, amp_roles["prometheus"], amp_roles["grafana"]
            ).apply(
                lambda out: self._amp_values(
                    values.stack_values(
                        config,
                        region=context.region,
                        rule_groups=rule_groups,
                        remote_write_url=f"{out[0]}api/v1/remote_write",
                        query_url=out[0],
                    ),
                    {"prometheus": out[1], "grafana": out[2]} if args.irsa else {},
                )
            )

        stack = k8s.helm.v3.Release(
            f"{name}-{STACK_RELEASE}",
            name=STACK_RELEASE,
            chart=versions.KUBE_PROMETHEUS_STACK_CHART,
            version=versions.KUBE_PROMETHEUS_STACK_VERSION,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=versions.KUBE_PROMETHEUS_STACK_REPOSITORY),
            namespace=MONITORING_NAMESPACE,
            create_namespace=True,
            values=stack_values,
            opts=pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=prerequisites),
        )
        after_stack = pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=[stack, *cluster.ready])
        for manifest in dashboards.dashboard_configmaps(args.gpu_pool_names):
            k8s.core.v1.ConfigMap(
                f"{name}-{manifest['metadata']['name']}",
                metadata=manifest["metadata"],
                data=manifest["data"],
                opts=after_stack,
            )
        if args.gpu_pool_names and not args.gpu_operator:
            k8s.helm.v3.Release(
                f"{name}-{DCGM_EXPORTER_RELEASE}",
                name=DCGM_EXPORTER_RELEASE,
                chart=versions.DCGM_EXPORTER_CHART,
                version=versions.DCGM_EXPORTER_VERSION,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=versions.DCGM_EXPORTER_REPOSITORY),
                namespace=MONITORING_NAMESPACE,
                values=dcgm.standalone_exporter_values(
                    {INSTANCE_GPU_MANUFACTURER_LABEL: "nvidia"},
                    [dict(t) for t in args.gpu_tolerations],
                    agent_host_engine=args.agent_host_engine,
                ),
                opts=after_stack,
            )
        self.monitoring = [stack]
        self.outputs = access_output(config, workspace)
        self.register_outputs({})

    @staticmethod
    def _amp_values(stack_values: dict[str, Any], irsa_roles: dict[str, str]) -> dict[str, Any]:
        """The AMP-mode values, with the service accounts annotated for IRSA when the stack uses it."""
        return iam.with_irsa_service_accounts(stack_values, irsa_roles) if irsa_roles else stack_values

    def _role(
        self,
        resource_name: str,
        role_name: str,
        tags: dict[str, str],
        args: ObservabilityArgs,
        namespace: str,
        service_account: str,
    ) -> aws.iam.Role:
        """A role for one service account: trusted through IRSA (the cluster's OIDC provider, that namespace and
        service account only) when the stack uses IRSA, else through Pod Identity."""
        trust: pulumi.Input[str]
        if args.irsa:
            if args.cluster.oidc_provider_arn is None:
                raise ValueError("IRSA needs the cluster's IAM OIDC provider (ClusterArgs.create_oidc_provider)")
            trust = pulumi.Output.all(args.cluster.oidc_provider_arn, args.cluster.oidc_issuer).apply(
                lambda out: json.dumps(irsa_trust_policy(out[0], out[1], namespace, service_account))
            )
        else:
            trust = json.dumps(pod_identity_trust_policy())
        return aws.iam.Role(
            resource_name,
            name=role_name,
            assume_role_policy=trust,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )


def _policy_json(build: Callable[[str], dict[str, Any]]) -> Callable[[str], str]:
    """A policy builder applied to the workspace ARN once it is known, as JSON."""
    return lambda arn: json.dumps(build(arn), sort_keys=True)


def access_output(config: ObservabilityConfig, workspace: aws.amp.Workspace | None) -> dict[str, Any]:
    """The `observability` stack output: where Grafana, Prometheus or the AMP workspace are reached."""
    grafana = {
        "namespace": MONITORING_NAMESPACE,
        "service": GRAFANA_SERVICE,
        "portForward": f"kubectl -n {MONITORING_NAMESPACE} port-forward svc/{GRAFANA_SERVICE} 3000:80",
        "adminUser": "admin",
        # The password never leaves the cluster: the chart generates it into this Secret.
        "adminPasswordSecret": f"{MONITORING_NAMESPACE}/{GRAFANA_ADMIN_SECRET} (key admin-password)",
    }
    output: dict[str, Any] = {"mode": config.mode.value, "retentionDays": config.retention_days, "grafana": grafana}
    if workspace is None:
        output["prometheus"] = {
            "namespace": MONITORING_NAMESPACE,
            "service": PROMETHEUS_SERVICE,
            "portForward": f"kubectl -n {MONITORING_NAMESPACE} port-forward svc/{PROMETHEUS_SERVICE} 9090:9090",
        }
        output["ampWorkspace"] = None
    else:
        output["prometheus"] = None
        output["ampWorkspace"] = {
            "id": workspace.id,
            "arn": workspace.arn,
            "endpoint": workspace.prometheus_endpoint,
            "remoteWriteUrl": workspace.prometheus_endpoint.apply(lambda e: f"{e}api/v1/remote_write"),
            "queryUrl": workspace.prometheus_endpoint.apply(lambda e: f"{e}api/v1/query"),
        }
    return output


@dataclass(frozen=True)
class NodeHealthArgs:
    """Inputs of the NodeHealth component."""

    context: StackContext
    config: NodeHealthConfig
    kubernetes_version: str
    cluster: Cluster
    # What a DaemonSet on every GPU node tolerates: the agent's dcgm-server must run on each of them.
    gpu_tolerations: Sequence[dict[str, str]] = ()
    # The GPU Operator runs the GPU nodes (some pool uses MIG): its MIG Manager must be able to pause the dcgm-server.
    gpu_operator: bool = False


class NodeHealth(pulumi.ComponentResource):
    """The EKS node monitoring agent add-on (Karpenter's nodeRepair gate is set in its config section)."""

    def __init__(self, name: str, args: NodeHealthArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-eks:observability:NodeHealth", name, None, opts)
        if not args.config.auto_repair:
            raise ValueError("nodeHealth.autoRepair is off: build no NodeHealth component")
        aws.eks.Addon(
            f"{name}-{health.NODE_MONITORING_AGENT_ADDON}",
            cluster_name=args.cluster.cluster_name,
            addon_name=health.NODE_MONITORING_AGENT_ADDON,
            addon_version=versions.eks_addon_versions(args.kubernetes_version)[health.NODE_MONITORING_AGENT_ADDON],
            configuration_values=json.dumps(
                health.node_monitoring_agent_configuration(
                    [dict(t) for t in args.gpu_tolerations], gpu_operator=args.gpu_operator
                ),
                sort_keys=True,
            ),
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=args.context.resource_tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=args.cluster.ready),
        )
        self.register_outputs({})
