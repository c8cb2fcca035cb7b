"""eks.Cluster's add-ons: kube-proxy and CoreDNS (cluster.ts createCore) and the VPC CNI (addons/cni-addon.ts).

One function per modelled add-on; each docstring names the upstream code it follows.
"""

from __future__ import annotations

from typing import Any

from preflight.model.children.common import (
    GET_ADDON_VERSION,
    UNKNOWN,
    Child,
    ComponentRequest,
    Registrar,
    drop_none,
    js_json,
)


def _vpc_cni_configuration(options: dict[str, Any]) -> str:
    """cni-addon.ts computeEnv + mergeConfigurationValues, serialised by stringifyAddonConfiguration (sorted keys)."""
    env: list[tuple[str, str]] = []
    init_env: list[tuple[str, str]] = []

    def flag(value: Any) -> str:
        return "true" if value else "false"

    if options.get("nodePortSupport"):
        env.append(("AWS_VPC_CNI_NODE_PORT_SUPPORT", flag(options["nodePortSupport"])))
    if options.get("customNetworkConfig"):
        env.append(("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", flag(options["customNetworkConfig"])))
    env.append(("WARM_ENI_TARGET", str(options.get("warmEniTarget", 1))))
    for key, env_name in (("warmIpTarget", "WARM_IP_TARGET"), ("warmPrefixTarget", "WARM_PREFIX_TARGET")):
        if options.get(key):
            env.append((env_name, str(options[key])))
    if options.get("enablePrefixDelegation"):
        env.append(("ENABLE_PREFIX_DELEGATION", flag(options["enablePrefixDelegation"])))
    env.append(("AWS_VPC_K8S_CNI_LOGLEVEL", options.get("logLevel") or "DEBUG"))
    env.append(("AWS_VPC_K8S_CNI_LOG_FILE", options.get("logFile") or "/host/var/log/aws-routed-eni/ipamd.log"))
    env.append(("AWS_VPC_K8S_CNI_VETHPREFIX", options.get("vethPrefix") or "eni"))
    env.append(("AWS_VPC_ENI_MTU", str(options.get("eniMtu") or 9001)))
    if options.get("eniConfigLabelDef"):
        env.append(("ENI_CONFIG_LABEL_DEF", options["eniConfigLabelDef"]))
    env.append(("AWS_VPC_K8S_PLUGIN_LOG_LEVEL", options.get("pluginLogLevel") or "DEBUG"))
    env.append(("AWS_VPC_K8S_PLUGIN_LOG_FILE", options.get("pluginLogFile") or "/var/log/aws-routed-eni/plugin.log"))
    env.append(("ENABLE_POD_ENI", flag(options.get("enablePodEni"))))
    init_env.append(("DISABLE_TCP_EARLY_DEMUX", flag(options.get("disableTcpEarlyDemux"))))
    if options.get("cniConfigureRpfilter"):
        env.append(("AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER", flag(options["cniConfigureRpfilter"])))
    # The source pushes this one a second time, so it wins over customNetworkConfig above.
    env.append(("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", flag(options.get("cniCustomNetworkCfg"))))
    if options.get("cniExternalSnat") and options.get("externalSnat"):
        raise ValueError("Please specify one of `cniExternalSnat` or `externalSnat` in your VpcCniOptions")
    env.append(("AWS_VPC_K8S_CNI_EXTERNALSNAT", flag(options.get("externalSnat") or options.get("cniExternalSnat"))))

    config = dict(options.get("configurationValues") or {})
    if "enableNetworkPolicy" not in config and options.get("enableNetworkPolicy") is not None:
        config["enableNetworkPolicy"] = flag(options["enableNetworkPolicy"])
    config["env"] = {**dict(env), **config["env"]} if isinstance(config.get("env"), dict) else dict(env)
    init = config.get("init")
    if isinstance(init, dict) and isinstance(init.get("env"), dict):
        init["env"] = {**dict(init_env), **init["env"]}
    elif isinstance(init, dict):
        config["init"] = {"env": dict(init_env), **init}
    else:
        config["init"] = {"env": dict(init_env)}
    return js_json(config, sort_keys=True)


def _addon_version(registrar: Registrar, component_urn: str, addon: str, given: Any, cluster_version: Any) -> Any:
    """A pinned version as given, else getAddonVersion(mostRecent: true) for the cluster's version (as the source)."""
    if given:
        return given
    if cluster_version is UNKNOWN or cluster_version is None:
        return UNKNOWN  # an Output-form invoke with an unknown argument is not called in a preview
    return registrar.invoke(
        component_urn, GET_ADDON_VERSION, {"addonName": addon, "kubernetesVersion": cluster_version, "mostRecent": True}
    )["version"]


def kube_proxy_addon(request: ComponentRequest, registrar: Registrar, eks_cluster: Child, cluster_version: Any) -> None:
    """cluster.ts createCore: `new aws.eks.Addon(`${name}-kube-proxy`, ...)` unless kubeProxyAddonOptions.enabled
    is false."""
    args, name, urn = request.inputs, request.name, request.urn
    kube_proxy = args.get("kubeProxyAddonOptions") or {}
    if kube_proxy.get("enabled", True):
        registrar.register(
            "aws:eks/addon:Addon",
            f"{name}-kube-proxy",
            drop_none(
                {
                    "clusterName": eks_cluster.get("name"),
                    "addonName": "kube-proxy",
                    "preserve": True,
                    "tags": args.get("tags"),
                    "resolveConflictsOnCreate": kube_proxy.get("resolveConflictsOnCreate", "OVERWRITE"),
                    "resolveConflictsOnUpdate": kube_proxy.get("resolveConflictsOnUpdate", "OVERWRITE"),
                    "addonVersion": _addon_version(
                        registrar, urn, "kube-proxy", kube_proxy.get("version"), cluster_version
                    ),
                    "configurationValues": (
                        js_json(kube_proxy["configurationValues"], sort_keys=True)
                        if kube_proxy.get("configurationValues")
                        else None
                    ),
                }
            ),
            parent=urn,
            dependencies=[eks_cluster.urn],
        )


def vpc_cni_addon(
    request: ComponentRequest,
    registrar: Registrar,
    eks_cluster: Child,
    cluster_version: Any,
    access_entries: list[str],
    k8s_provider: Child,
) -> None:
    """cluster.ts createCore `new VpcCniAddon(`${name}-vpc-cni`, ...)` (unless useDefaultVpcCni) and
    addons/cni-addon.ts: the `eks:index:VpcCniAddon` component, its `aws.eks.Addon` and, with
    securityContextPrivileged, the aws-node DaemonSetPatch."""
    args, name, urn = request.inputs, request.name, request.urn
    use_default_cni = args.get("useDefaultVpcCni")
    if not ((not use_default_cni) if use_default_cni is not None else True):
        return
    cni = dict(args.get("vpcCniOptions") or {})
    component = registrar.register(
        "eks:index:VpcCniAddon",
        f"{name}-vpc-cni",
        {},
        parent=urn,
        custom=False,
        dependencies=access_entries,
        provider=None,
    )
    addon = registrar.register(
        "aws:eks/addon:Addon",
        f"{name}-vpc-cni",
        drop_none(
            {
                "clusterName": eks_cluster.get("name"),
                "addonVersion": _addon_version(
                    registrar, component.urn, "vpc-cni", cni.get("addonVersion"), cluster_version
                ),
                "addonName": "vpc-cni",
                "resolveConflictsOnCreate": cni.get("resolveConflictsOnCreate", "OVERWRITE"),
                "resolveConflictsOnUpdate": cni.get("resolveConflictsOnUpdate", "OVERWRITE"),
                "preserve": True,
                "configurationValues": _vpc_cni_configuration(cni),
                "serviceAccountRoleArn": cni.get("serviceAccountRoleArn"),
                "tags": args.get("tags"),
            }
        ),
        parent=component.urn,
        dependencies=sorted({eks_cluster.urn, *access_entries, *request.deps("vpcCniOptions")}),
    )
    if cni.get("securityContextPrivileged"):
        _aws_node_privileged_patch(registrar, name, component, addon, k8s_provider, cni["securityContextPrivileged"])


def _aws_node_privileged_patch(
    registrar: Registrar, name: str, component: Child, addon: Child, k8s_provider: Child, privileged: Any
) -> None:
    """addons/cni-addon.ts: `new k8s.apps.v1.DaemonSetPatch(`${name}-vpc-cni`, ...)` setting aws-node's
    securityContext.privileged, through the cluster's Kubernetes provider."""
    registrar.register(
        "kubernetes:apps/v1:DaemonSetPatch",
        f"{name}-vpc-cni",
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {
                "name": "aws-node",
                "namespace": "kube-system",
                "annotations": {"pulumi.com/patchForce": "true"},
            },
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "aws-node",
                                "securityContext": {"privileged": privileged},
                            }
                        ]
                    }
                }
            },
        },
        parent=component.urn,
        dependencies=[addon.urn],
        provider=k8s_provider.urn,
    )


def coredns_addon(request: ComponentRequest, registrar: Registrar, eks_cluster: Child, cluster_version: Any) -> None:
    """cluster.ts createCore: `new aws.eks.Addon(`${name}-coredns`, ...)`, here only when corednsAddonOptions asks
    for it explicitly (enabled: true or configurationValues)."""
    args, name, urn = request.inputs, request.name, request.urn
    # CoreDNS only when asked for explicitly here (no default node group, Fargate or Auto Mode in this model).
    coredns = args.get("corednsAddonOptions") or {}
    if coredns.get("enabled") is True or coredns.get("configurationValues"):
        registrar.register(
            "aws:eks/addon:Addon",
            f"{name}-coredns",
            drop_none(
                {
                    "clusterName": eks_cluster.get("name"),
                    "addonName": "coredns",
                    "tags": args.get("tags"),
                    "preserve": True,
                    "addonVersion": _addon_version(registrar, urn, "coredns", coredns.get("version"), cluster_version),
                    "resolveConflictsOnCreate": coredns.get("resolveConflictsOnCreate", "OVERWRITE"),
                    "resolveConflictsOnUpdate": coredns.get("resolveConflictsOnUpdate", "OVERWRITE"),
                    "configurationValues": (
                        js_json(coredns["configurationValues"], sort_keys=True)
                        if coredns.get("configurationValues")
                        else None
                    ),
                }
            ),
            parent=urn,
            dependencies=[eks_cluster.urn],
        )
