"""eks.ManagedNodeGroup (pulumi-eks nodejs/eks/nodes/nodegroup.ts createManagedNodeGroup): the node group and, when
the source builds one, its launch template (createMNGCustomLaunchTemplate)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from preflight.model.children.common import (
    UNKNOWN,
    Child,
    ClusterCore,
    ComponentRequest,
    Registrar,
    UnmodelledPath,
    drop_none,
)

# nodegroup.ts customLaunchTemplateArgs (userdata.ts customUserDataArgs + the launch-template-only options): any of
# these set (even to false) makes pulumi-eks build its own launch template.
CUSTOM_USER_DATA_ARGS = ("bootstrapExtraArgs", "kubeletExtraArgs", "bottlerocketSettings", "nodeadmExtraOptions")
CUSTOM_LAUNCH_TEMPLATE_ARGS = (*CUSTOM_USER_DATA_ARGS, "enableIMDSv2", "userData", "amiId", "enableEfaSupport")
# ami.ts amiTypeMetadata: the OS of each EKS AMI type (decides the root device name).
AMI_TYPE_OS = {
    "AL2_x86_64": "AL2",
    "AL2_x86_64_GPU": "AL2",
    "AL2_ARM_64": "AL2",
    "AL2023_x86_64_STANDARD": "AL2023",
    "AL2023_ARM_64_STANDARD": "AL2023",
    "AL2023_x86_64_NVIDIA": "AL2023",
    "BOTTLEROCKET_ARM_64": "Bottlerocket",
    "BOTTLEROCKET_x86_64": "Bottlerocket",
    "BOTTLEROCKET_ARM_64_NVIDIA": "Bottlerocket",
    "BOTTLEROCKET_x86_64_NVIDIA": "Bottlerocket",
}
# aws.eks.NodeGroup inputs: the TypeScript SDK copies only these from the spread arguments.
NODE_GROUP_INPUTS = (
    "amiType",
    "capacityType",
    "diskSize",
    "forceUpdateVersion",
    "instanceTypes",
    "labels",
    "nodeGroupName",
    "nodeGroupNamePrefix",
    "nodeRepairConfig",
    "releaseVersion",
    "remoteAccess",
    "tags",
    "taints",
    "updateConfig",
    "version",
)


def model_managed_node_group(
    request: ComponentRequest, registrar: Registrar, cluster_core: Callable[[str], ClusterCore]
) -> dict[str, Any]:
    """eks.ManagedNodeGroup (nodegroup.ts createManagedNodeGroup) with its launch template when the source makes one."""
    args = dict(request.inputs)
    name = request.name
    cluster_ref = args.get("cluster")
    if not isinstance(cluster_ref, str):
        raise UnmodelledPath(f"eks:index:ManagedNodeGroup {name}: `cluster` must be an eks.Cluster resource")
    core = cluster_core(cluster_ref)
    if not args.get("version") and not args.get("launchTemplate"):
        # The source defaults the version to the cluster's only without a caller's launch template.
        args["version"] = core.version
    role_arn, role_deps = _node_role(request, registrar, args, core)
    needs_template = any(args.get(key) is not None for key in CUSTOM_LAUNCH_TEMPLATE_ARGS)
    _check_node_group_inputs(name, args, needs_template)
    subnet_ids, subnet_deps = _node_group_subnets(request, args, core)

    node_group_args = {key: args.get(key) for key in NODE_GROUP_INPUTS}
    launch_template_ref: Any = args.get("launchTemplate")
    dependencies = {core.eks_cluster.urn, *role_deps, *subnet_deps, *request.deps("launchTemplate", "labels", "tags")}
    if needs_template:
        template = _launch_template(request, registrar, args)
        node_group_args.pop("diskSize")  # the source moves the disk size into the template
        latest = template.get("latestVersion")
        launch_template_ref = {"id": template.id, "version": UNKNOWN if latest is UNKNOWN else str(latest)}
        dependencies.add(template.urn)
    if core.eks_node_access:
        dependencies.add(core.eks_node_access)
    node_group = _node_group(
        request, registrar, args, core, node_group_args, role_arn, subnet_ids, launch_template_ref, dependencies
    )
    return {"nodeGroup": {"__resource_ref__": node_group.urn}, "placementGroupName": ""}


# -- rules on the inputs --------------------------------------------------------------------------------------------


def _node_role(
    request: ComponentRequest, registrar: Registrar, args: dict[str, Any], core: ClusterCore
) -> tuple[Any, list[str]]:
    """nodegroup.ts createManagedNodeGroup: the role ARN (nodeRoleArn, else nodeRole's ARN; one is required) and,
    outside API mode, that it is one of the cluster's instanceRoles. Returns the ARN and what it depends on."""
    if args.get("nodeRoleArn"):
        role_arn, role_deps = args["nodeRoleArn"], request.deps("nodeRoleArn")
    elif args.get("nodeRole"):
        role_arn, role_deps = registrar.lookup(args["nodeRole"]).get("arn"), [args["nodeRole"]]
    else:
        raise ValueError(
            "The input properties for the managed node group are invalid. nodeRole: An IAM role, or "
            "role ARN must be provided to create a managed node group"
        )
    if core.authentication_mode not in ("API", "API_AND_CONFIG_MAP") and role_arn not in core.instance_role_arns:
        raise ValueError(
            "nodeRole: A managed node group cannot be created without first setting its role in the "
            "cluster's instanceRoles"
        )
    return role_arn, role_deps


def _check_node_group_inputs(name: str, args: dict[str, Any], needs_template: bool) -> None:
    """nodegroup.ts createManagedNodeGroup's collected input errors (raised together, in the source's order), then
    the paths this model does not take (custom user data, AMI IDs, EFA, amiType from operatingSystem).

    The source checks the role between the amiId and launchTemplate errors; `_node_role` runs first here, which
    raises the same errors in the same cases (the collected ones are only raised at the end).
    """
    errors = []
    if args.get("nodeRole") and args.get("nodeRoleArn"):
        errors.append("nodeRole: You cannot specify both nodeRole and nodeRoleArn when creating a managed node group.")
    for key in ("gpu", "amiType"):
        if args.get("amiId") and args.get(key):
            errors.append(f"amiId: You cannot specify both amiId and {key} when creating a managed node group.")
    if args.get("launchTemplate") and needs_template:
        errors.append(
            f"launchTemplate: If you provide a custom launch template, you cannot provide any of "
            f"{', '.join(CUSTOM_LAUNCH_TEMPLATE_ARGS)}. Please include these in the launch template that "
            f"you are providing."
        )
    if args.get("userData") and any(args.get(key) is not None for key in CUSTOM_USER_DATA_ARGS):
        errors.append(
            f"userData: If you provide custom userData, you cannot provide any of "
            f"{', '.join(CUSTOM_USER_DATA_ARGS)}. Please include these in the userData that you are providing."
        )
    if errors:
        raise ValueError("The input properties for the managed node group are invalid. " + " ".join(errors))
    if (
        args.get("enableEfaSupport")
        or args.get("userData")
        or args.get("amiId")
        or any(args.get(key) is not None for key in CUSTOM_USER_DATA_ARGS)
    ):
        raise UnmodelledPath(f"eks:index:ManagedNodeGroup {name}: custom user data, AMI IDs and EFA are not modelled")
    if args.get("operatingSystem") and not args.get("amiType"):
        raise UnmodelledPath(f"eks:index:ManagedNodeGroup {name}: amiType from operatingSystem is not modelled")


def _node_group_subnets(request: ComponentRequest, args: dict[str, Any], core: ClusterCore) -> tuple[Any, list[str]]:
    """nodegroup.ts createManagedNodeGroup: subnetIds as given, else the cluster's subnets (all, private, public)."""
    if args.get("subnetIds") is not None:
        return args["subnetIds"], request.deps("subnetIds")
    subnet_ids: Any = next(
        (ids for ids in (core.subnet_ids, core.private_subnet_ids, core.public_subnet_ids) if ids is not None), []
    )
    return subnet_ids, []


# -- the node group's resources -------------------------------------------------------------------------------------


def _launch_template(request: ComponentRequest, registrar: Registrar, args: dict[str, Any]) -> Child:
    """nodegroup.ts createMNGCustomLaunchTemplate: `new aws.ec2.LaunchTemplate(`${name}-launchTemplate`, ...)` when
    any customLaunchTemplateArgs input is set."""
    return registrar.register(
        "aws:ec2/launchTemplate:LaunchTemplate",
        f"{request.name}-launchTemplate",
        _launch_template_inputs(args),
        parent=request.urn,
    )


def _node_group(
    request: ComponentRequest,
    registrar: Registrar,
    args: dict[str, Any],
    core: ClusterCore,
    node_group_args: dict[str, Any],
    role_arn: Any,
    subnet_ids: Any,
    launch_template_ref: Any,
    dependencies: set[str],
) -> Child:
    """nodegroup.ts createManagedNodeGroup: `new aws.eks.NodeGroup(name, ...)` (scaling 2/1/2 by default)."""
    scaling = args.get("scalingConfig") or {}
    return registrar.register(
        "aws:eks/nodeGroup:NodeGroup",
        request.name,
        drop_none(
            {
                **node_group_args,
                "clusterName": args.get("clusterName") or core.eks_cluster.get("name"),
                "nodeRoleArn": role_arn,
                "scalingConfig": {
                    "desiredSize": scaling.get("desiredSize", 2),
                    "minSize": scaling.get("minSize", 1),
                    "maxSize": scaling.get("maxSize", 2),
                },
                "subnetIds": subnet_ids,
                "launchTemplate": launch_template_ref,
            }
        ),
        parent=request.urn,
        dependencies=sorted(dependencies),
    )


def _launch_template_inputs(args: dict[str, Any]) -> dict[str, Any]:
    """nodegroup.ts createMNGCustomLaunchTemplate for the no-user-data, no-EFA path.

    IMDS: when enableIMDSv2 is set the source writes httpTokens required/optional with a hop limit of 2 and
    the endpoint on. Disk: a root (AL2/AL2023 /dev/xvda) or data (Bottlerocket /dev/xvdb) volume of diskSize
    GiB, with no volume type and no encryption flag. No tags.
    """
    ami_type = args.get("amiType")
    if ami_type and ami_type not in AMI_TYPE_OS:
        raise ValueError(f"amiType: Cannot determine OS of unknown AMI type: {ami_type}")
    os_name = AMI_TYPE_OS[ami_type] if ami_type else "AL2023"  # ami.ts DEFAULT_OS
    metadata = None
    if args.get("enableIMDSv2") is not None:
        metadata = {
            "httpTokens": "required" if args["enableIMDSv2"] else "optional",
            "httpPutResponseHopLimit": 2,
            "httpEndpoint": "enabled",
        }
    devices = None
    if args.get("diskSize"):
        devices = [
            {
                "deviceName": "/dev/xvdb" if os_name == "Bottlerocket" else "/dev/xvda",
                "ebs": {"volumeSize": args["diskSize"]},
            }
        ]
    return drop_none({"blockDeviceMappings": devices, "metadataOptions": metadata})
