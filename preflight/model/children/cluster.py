"""eks.Cluster (pulumi-eks nodejs/eks/cluster/cluster.ts createCluster/createCore) on the API-mode path: its
service role, security groups, the EKS cluster, add-ons, Kubernetes provider, access entries and OIDC provider.

One function per modelled resource or rule; each docstring names the upstream code it follows.
"""

from __future__ import annotations

import hashlib
from typing import Any

from preflight.model.children.addons import coredns_addon, kube_proxy_addon, vpc_cni_addon
from preflight.model.children.common import (
    GET_PARTITION,
    GET_REGION,
    UNKNOWN,
    Child,
    ClusterCore,
    ComponentRequest,
    Registrar,
    Unknown,
    UnmodelledPath,
    drop_none,
    js_json,
    stand_in_hex,
)
from preflight.model.children.security_groups import cluster_security_group, node_security_group


def model_cluster(request: ComponentRequest, registrar: Registrar) -> tuple[dict[str, Any], ClusterCore]:
    """eks.Cluster (cluster.ts createCluster/createCore) for the inputs the source's API-mode path accepts."""
    args = request.inputs
    urn = request.urn
    auth_mode = args.get("authenticationMode")
    _check_cluster_inputs(request.name, args, auth_mode)
    partition = registrar.invoke(urn, GET_PARTITION, {})["partition"]
    service_role_arn, role_wait = _cluster_role(request, registrar, partition)
    skip_security_groups = args.get("skipDefaultSecurityGroups")
    cluster_sg = None if skip_security_groups else cluster_security_group(request, registrar)
    subnet_ids = _cluster_subnet_ids(args)
    eks_cluster = _eks_cluster(request, registrar, service_role_arn, role_wait, cluster_sg, subnet_ids, auth_mode)
    cluster_version = eks_cluster.get("version")
    kube_proxy_addon(request, registrar, eks_cluster, cluster_version)
    kubeconfig = generate_kubeconfig(
        eks_cluster.get("name"),
        eks_cluster.get("endpoint"),
        registrar.region,
        eks_cluster.get("certificateAuthority", "data"),
    )
    kubeconfig_json = UNKNOWN if kubeconfig is UNKNOWN else js_json(kubeconfig)
    k8s_provider = _kubernetes_provider(request, registrar, eks_cluster, kubeconfig_json)
    access_entries = _access_entries(request, registrar, eks_cluster)
    vpc_cni_addon(request, registrar, eks_cluster, cluster_version, access_entries, k8s_provider)
    coredns_addon(request, registrar, eks_cluster, cluster_version)
    issuer = eks_cluster.get("identities", 0, "oidcs", 0, "issuer")
    oidc_provider_arn = _oidc_provider(request, registrar, eks_cluster, issuer)

    node_sg: Child | None = None
    ingress_rule: Child | None = None
    if not skip_security_groups:
        assert cluster_sg is not None  # registered above whenever the security groups are not skipped
        node_sg, ingress_rule = node_security_group(registrar, request.name, urn, args, cluster_sg, eks_cluster)

    outputs = _cluster_outputs(
        eks_cluster, kubeconfig, kubeconfig_json, cluster_sg, node_sg, ingress_rule, oidc_provider_arn, issuer
    )
    core = ClusterCore(
        eks_cluster=eks_cluster,
        version=cluster_version,
        authentication_mode=auth_mode,
        instance_role_arns=[],
        subnet_ids=subnet_ids,
        private_subnet_ids=args.get("privateSubnetIds"),
        public_subnet_ids=args.get("publicSubnetIds"),
        eks_node_access=None,
    )
    return outputs, core


# -- rules on the inputs --------------------------------------------------------------------------------------------


def _check_cluster_inputs(name: str, args: dict[str, Any], auth_mode: Any) -> None:
    """cluster.ts createCore's own input errors (authenticationMode, accessEntries, subnetIds), then the paths this
    model does not take (Auto Mode, Fargate, instance roles, the default node group, the aws-auth ConfigMap, the
    default-VPC lookup, ...)."""
    if auth_mode not in (None, "CONFIG_MAP", "API", "API_AND_CONFIG_MAP"):
        raise ValueError(
            f"Invalid value for authenticationMode: {auth_mode}. Allowed values are: CONFIG_MAP, "
            f"API_AND_CONFIG_MAP, API."
        )
    if auth_mode not in ("API", "API_AND_CONFIG_MAP") and args.get("accessEntries"):
        raise ValueError(
            f"The 'accessEntries' property is not supported when 'authenticationMode' is "
            f"{'set to ' + repr(auth_mode) if auth_mode else 'not set'}."
        )
    if args.get("subnetIds") and (args.get("publicSubnetIds") or args.get("privateSubnetIds")):
        raise ValueError(
            "subnetIds, and the use of publicSubnetIds and/or privateSubnetIds are mutually exclusive. "
            "Choose a single approach."
        )
    for key, why in (
        ("autoMode", "EKS Auto Mode"),
        ("fargate", "Fargate"),
        ("instanceRole", "instance roles"),
        ("instanceRoles", "instance roles"),
        ("storageClasses", "storage classes"),
        ("creationRoleProvider", "creation role provider"),
        ("createInstanceRole", "instance role"),
        ("clusterSecurityGroup", "a given cluster security group"),
    ):
        value = args.get(key)
        if value and not (isinstance(value, dict) and value.get("enabled") is False):
            raise UnmodelledPath(f"eks:index:Cluster {name}: {why} ({key}) is not modelled")
    if not args.get("skipDefaultNodeGroup"):
        raise UnmodelledPath(f"eks:index:Cluster {name}: the default node group is not modelled")
    if auth_mode in (None, "CONFIG_MAP", "API_AND_CONFIG_MAP"):
        raise UnmodelledPath(
            f"eks:index:Cluster {name}: the aws-auth ConfigMap ({auth_mode or 'CONFIG_MAP'}) is not modelled"
        )
    if not args.get("vpcId"):
        raise UnmodelledPath(f"eks:index:Cluster {name}: the default-VPC lookup is not modelled")


def _cluster_subnet_ids(args: dict[str, Any]) -> Any:
    """cluster.ts createCore clusterSubnetIds: subnetIds as given, else the public then the private subnets."""
    if args.get("subnetIds") is not None:
        return args["subnetIds"]
    public, private = args.get("publicSubnetIds") or [], args.get("privateSubnetIds") or []
    return UNKNOWN if UNKNOWN in (public, private) else [*public, *private]


# -- the cluster's resources ----------------------------------------------------------------------------------------


def _cluster_role(request: ComponentRequest, registrar: Registrar, partition: str) -> tuple[Any, list[str]]:
    """cluster.ts createCore: the given serviceRole, else `new ServiceRole(`${name}-eksRole`, ...)` for
    eks.amazonaws.com with AmazonEKSClusterPolicy. Returns the role ARN and the URNs the cluster waits for."""
    args, name = request.inputs, request.name
    service_role_arn = args.get("serviceRole")
    role_wait: list[str] = request.deps("serviceRole")
    if not service_role_arn:
        role, role_wait = _service_role(
            registrar,
            f"{name}-eksRole",
            request.urn,
            service="eks.amazonaws.com",
            policies=["AmazonEKSClusterPolicy"],
            partition=partition,
            tags=args.get("tags"),
            description="Allows EKS to manage clusters on your behalf.",
            actions=["sts:AssumeRole", "sts:TagSession"],
        )
        service_role_arn = role.get("arn")
    return service_role_arn, role_wait


# -- servicerole.ts --------------------------------------------------------------------------------------------------


def _sha1_8(text: str) -> str:
    """servicerole.ts sha1hash: the first 8 hex digits of SHA-1 (names the policy attachments)."""
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def _service_role(
    registrar: Registrar,
    name: str,
    parent: str,
    *,
    service: str,
    policies: list[str],
    partition: str,
    tags: Any,
    description: str | None = None,
    actions: list[str] | None = None,
) -> tuple[Child, list[str]]:
    """servicerole.ts ServiceRole: an `eks:index:ServiceRole` component, its role and one attachment per policy.

    Returns the role and the URNs a dependant waits for (`resolvedRole` waits for the role and every attachment).
    """
    component = registrar.register("eks:index:ServiceRole", name, {}, parent=parent, custom=False)
    role = registrar.register(
        "aws:iam/role:Role",
        f"{name}-role",
        drop_none(
            {
                "description": description,
                "assumeRolePolicy": js_json(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Action": actions or ["sts:AssumeRole"],
                                "Effect": "Allow",
                                "Principal": {"Service": [service]},
                            }
                        ],
                    }
                ),
                "tags": tags,
            }
        ),
        parent=component.urn,
    )
    attachments = [
        registrar.register(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            f"{name}-{_sha1_8(f'arn:aws:iam::aws:policy/{policy}')}",
            {"policyArn": f"arn:{partition}:iam::aws:policy/{policy}", "role": role.id},
            parent=component.urn,
            dependencies=[role.urn],
        )
        for policy in policies
    ]
    return role, [role.urn, *(a.urn for a in attachments)]


def _eks_cluster(
    request: ComponentRequest,
    registrar: Registrar,
    service_role_arn: Any,
    role_wait: list[str],
    cluster_sg: Child | None,
    subnet_ids: Any,
    auth_mode: Any,
) -> Child:
    """cluster.ts createCore: `new aws.eks.Cluster(`${name}-eksCluster`, ...)` in API mode, after the service role
    (and its policy attachments) and the cluster security group."""
    args, name, urn = request.inputs, request.name, request.urn
    tags = args.get("tags")
    public_access = args.get("endpointPublicAccess")
    cidrs = args.get("publicAccessCidrs")
    if cidrs and public_access is False:
        raise ValueError("`publicAccessCidrs` can only be set when `endpointPublicAccess` is true")
    encryption = None
    if args.get("encryptionConfigKeyArn"):
        encryption = {"provider": {"keyArn": args["encryptionConfigKeyArn"]}, "resources": ["secrets"]}
    network = None
    if args.get("kubernetesServiceIpAddressRange") or args.get("ipFamily"):
        family = args.get("ipFamily") or "ipv4"
        network = drop_none(
            {
                "serviceIpv4Cidr": args.get("kubernetesServiceIpAddressRange") if family == "ipv4" else None,
                "ipFamily": family,
            }
        )
    return registrar.register(
        "aws:eks/cluster:Cluster",
        f"{name}-eksCluster",
        drop_none(
            {
                "name": args.get("name"),
                "roleArn": service_role_arn,
                "kubernetesNetworkConfig": network,
                "bootstrapSelfManagedAddons": args.get("bootstrapSelfManagedAddons", True),
                "vpcConfig": drop_none(
                    {
                        "securityGroupIds": [cluster_sg.id] if cluster_sg else None,
                        "subnetIds": subnet_ids,
                        "endpointPrivateAccess": args.get("endpointPrivateAccess"),
                        "endpointPublicAccess": public_access,
                        "publicAccessCidrs": cidrs or None,
                    }
                ),
                "version": args.get("version"),
                "enabledClusterLogTypes": args.get("enabledClusterLogTypes"),
                "tags": {"Name": f"{name}-eksCluster", **(args.get("clusterTags") or {}), **(tags or {})},
                "encryptionConfig": encryption,
                # bootstrapClusterCreatorAdminPermissions: the identity running `pulumi up` becomes cluster admin; EKS
                # creates that access entry itself (no Pulumi resource).
                "accessConfig": {"authenticationMode": auth_mode, "bootstrapClusterCreatorAdminPermissions": True},
                "upgradePolicy": args.get("upgradePolicy"),
                "deletionProtection": args.get("deletionProtection"),
            }
        ),
        parent=urn,
        dependencies=sorted(
            {
                *role_wait,
                *([cluster_sg.urn] if cluster_sg else []),
                *request.deps(
                    "vpcId",
                    "privateSubnetIds",
                    "publicSubnetIds",
                    "subnetIds",
                    "encryptionConfigKeyArn",
                    "version",
                    "name",
                    "tags",
                ),
            }
        ),
    )


def _kubernetes_provider(
    request: ComponentRequest, registrar: Registrar, eks_cluster: Child, kubeconfig_json: Any
) -> Child:
    """cluster.ts createCore: `new k8s.Provider(`${name}-eks-k8s`, ...)` on the generated kubeconfig."""
    return registrar.register(
        "pulumi:providers:kubernetes",
        f"{request.name}-eks-k8s",
        drop_none(
            {
                "kubeconfig": kubeconfig_json,
                "enableConfigMapMutable": request.inputs.get("enableConfigMapMutable"),
            }
        ),
        parent=request.urn,
        dependencies=[eks_cluster.urn],
    )


def _access_entries(request: ComponentRequest, registrar: Registrar, eks_cluster: Child) -> list[str]:
    """authenticationMode.ts createAccessEntries: `${name}-${key}` AccessEntry per accessEntries key and
    `${name}-${key}-${association}` AccessPolicyAssociation per access policy. Returns the entries' URNs."""
    args, name, urn = request.inputs, request.name, request.urn
    # createAccessEntries: one entry per key, one policy association per access policy, parented to the entry.
    access_entries: list[str] = []
    for key, entry in (args.get("accessEntries") or {}).items():
        created = registrar.register(
            "aws:eks/accessEntry:AccessEntry",
            f"{name}-{key}",
            drop_none(
                {
                    "clusterName": eks_cluster.get("name"),
                    "principalArn": entry.get("principalArn"),
                    "kubernetesGroups": entry.get("kubernetesGroups"),
                    "tags": entry.get("tags"),
                    "type": entry.get("type"),
                    "userName": entry.get("username"),
                }
            ),
            parent=urn,
            dependencies=sorted({eks_cluster.urn, *request.deps("accessEntries")}),
        )
        access_entries.append(created.urn)
        for association, policy in (entry.get("accessPolicies") or {}).items():
            registrar.register(
                "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
                f"{name}-{key}-{association}",
                {
                    "accessScope": policy.get("accessScope"),
                    "principalArn": entry.get("principalArn"),
                    "policyArn": policy.get("policyArn"),
                    "clusterName": eks_cluster.get("name"),
                },
                parent=created.urn,
                dependencies=[eks_cluster.urn, created.urn],
            )
    return access_entries


def _oidc_provider(request: ComponentRequest, registrar: Registrar, eks_cluster: Child, issuer: Any) -> Any:
    """cluster.ts createCore (createOidcProvider): `new aws.iam.OpenIdConnectProvider(`${name}-oidcProvider`, ...)`
    for the cluster's issuer. Returns its ARN, "" without one."""
    if not request.inputs.get("createOidcProvider"):
        return ""
    region_name = registrar.invoke(request.urn, GET_REGION, {})["name"]
    # The plugin fetches the root-CA thumbprint of https://oidc.eks.<region>.<dnsSuffix> over HTTPS.
    thumbprint = stand_in_hex("oidc-thumbprint", region_name, length=40)
    oidc = registrar.register(
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        f"{request.name}-oidcProvider",
        {
            "clientIdLists": ["sts.amazonaws.com"],
            "url": issuer,
            "thumbprintLists": [thumbprint],
        },
        parent=request.urn,
        dependencies=[eks_cluster.urn],
    )
    return oidc.get("arn")


def generate_kubeconfig(cluster_name: Any, endpoint: Any, region: str, ca_data: Any) -> dict[str, Any] | Unknown:
    """cluster.ts generateKubeconfig (no role, no profile): exec `aws --region R eks get-token`."""
    if UNKNOWN in (cluster_name, endpoint, ca_data):
        return UNKNOWN
    return {
        "apiVersion": "v1",
        "clusters": [{"cluster": {"server": endpoint, "certificate-authority-data": ca_data}, "name": "kubernetes"}],
        "contexts": [{"context": {"cluster": "kubernetes", "user": "aws"}, "name": "aws"}],
        "current-context": "aws",
        "kind": "Config",
        "users": [
            {
                "name": "aws",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": [
                            "--region",
                            region,
                            "eks",
                            "get-token",
                            "--cluster-name",
                            cluster_name,
                            "--output",
                            "json",
                        ],
                        "env": [
                            {
                                "name": "KUBERNETES_EXEC_INFO",
                                "value": '{"apiVersion": "client.authentication.k8s.io/v1beta1"}',
                            }
                        ],
                    }
                },
            }
        ],
    }


def _cluster_outputs(
    eks_cluster: Child,
    kubeconfig: dict[str, Any] | Unknown,
    kubeconfig_json: Any,
    cluster_sg: Child | None,
    node_sg: Child | None,
    ingress_rule: Child | None,
    oidc_provider_arn: Any,
    issuer: Any,
) -> dict[str, Any]:
    """cluster.ts Cluster's registered outputs (the API-mode path: no instance roles, default node group,
    Fargate profile or Auto Mode node role)."""
    cluster_sg_id = cluster_sg.id if cluster_sg else eks_cluster.get("vpcConfig", "clusterSecurityGroupId")
    outputs = {
        "kubeconfig": kubeconfig,
        "kubeconfigJson": kubeconfig_json,
        "eksCluster": {"__resource_ref__": eks_cluster.urn},
        "instanceRoles": [],
        "clusterSecurityGroupId": cluster_sg_id,
        "nodeSecurityGroupId": node_sg.id if node_sg else cluster_sg_id,
        "clusterIngressRuleId": ingress_rule.get("securityGroupRuleId") if ingress_rule else "",
        "defaultNodeGroupAsgName": "",
        "fargateProfileId": "",
        "fargateProfileStatus": "",
        "oidcProviderArn": oidc_provider_arn,
        "oidcProviderUrl": issuer,
        "oidcIssuer": UNKNOWN if issuer is UNKNOWN else str(issuer).replace("https://", ""),
        "autoModeNodeRoleName": "",
    }
    if cluster_sg:
        outputs["clusterSecurityGroup"] = {"__resource_ref__": cluster_sg.urn}
    if node_sg:
        outputs["nodeSecurityGroup"] = {"__resource_ref__": node_sg.urn}
    return outputs
