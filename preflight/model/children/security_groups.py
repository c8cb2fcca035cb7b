"""eks.Cluster's security groups: the cluster's (cluster.ts createCore) and the nodes' (nodes/securitygroup.ts).

One function per modelled resource group; each docstring names the upstream code it follows.
"""

from __future__ import annotations

from typing import Any

from preflight.model.children.common import UNKNOWN, Child, ComponentRequest, Registrar


def cluster_security_group(request: ComponentRequest, registrar: Registrar) -> Child:
    """cluster.ts createCore (unless skipDefaultSecurityGroups): `new aws.ec2.SecurityGroup(
    `${name}-eksClusterSecurityGroup`, ...)` and its `${name}-eksClusterInternetEgressRule`."""
    args, name, urn = request.inputs, request.name, request.urn
    tags = args.get("tags")
    cluster_sg = registrar.register(
        "aws:ec2/securityGroup:SecurityGroup",
        f"{name}-eksClusterSecurityGroup",
        {
            "vpcId": args["vpcId"],
            "revokeRulesOnDelete": True,
            "tags": {
                "Name": f"{name}-eksClusterSecurityGroup",
                **(args.get("clusterSecurityGroupTags") or {}),
                **(tags or {}),
            },
        },
        parent=urn,
        dependencies=request.deps("vpcId"),
    )
    registrar.register(
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        f"{name}-eksClusterInternetEgressRule",
        {
            "description": "Allow internet access.",
            "type": "egress",
            "fromPort": 0,
            "toPort": 0,
            "protocol": "-1",
            "cidrBlocks": ["0.0.0.0/0"],
            "securityGroupId": cluster_sg.id,
        },
        parent=urn,
        dependencies=[cluster_sg.urn],
    )
    return cluster_sg


def node_security_group(
    registrar: Registrar, name: str, urn: str, args: dict[str, Any], cluster_sg: Child, eks_cluster: Child
) -> tuple[Child, Child]:
    """nodes/securitygroup.ts createNodeGroupSecurityGroup (called by cluster.ts createCluster unless
    skipDefaultSecurityGroups): the node security group and its five rules; returns it and the last rule
    (eksClusterIngressRule, the `clusterIngressRule` output)."""
    cluster_name = eks_cluster.get("name")
    node_sg = registrar.register(
        "aws:ec2/securityGroup:SecurityGroup",
        f"{name}-nodeSecurityGroup",
        {
            "vpcId": args["vpcId"],
            "revokeRulesOnDelete": True,
            "tags": UNKNOWN
            if cluster_name is UNKNOWN
            else {
                "Name": f"{name}-nodeSecurityGroup",
                f"kubernetes.io/cluster/{cluster_name}": "owned",
                **(args.get("nodeSecurityGroupTags") or {}),
                **(args.get("tags") or {}),
            },
        },
        parent=urn,
        dependencies=[eks_cluster.urn],
    )
    rules = _node_security_group_rules(node_sg, cluster_sg)
    created = [
        registrar.register(
            "aws:ec2/securityGroupRule:SecurityGroupRule",
            f"{name}-{suffix}",
            inputs,
            parent=urn,
            dependencies=[node_sg.urn, cluster_sg.urn],
        )
        for suffix, inputs in rules
    ]
    return node_sg, created[-1]


def _node_security_group_rules(node_sg: Child, cluster_sg: Child) -> list[tuple[str, dict[str, Any]]]:
    """nodes/securitygroup.ts createNodeGroupSecurityGroup's five `new aws.ec2.SecurityGroupRule(`${name}-<suffix>`,
    ...)`, in the source's order: (suffix, inputs)."""
    return [
        (
            "eksNodeIngressRule",
            {
                "description": "Allow nodes to communicate with each other",
                "type": "ingress",
                "fromPort": 0,
                "toPort": 0,
                "protocol": "-1",
                "securityGroupId": node_sg.id,
                "self": True,
            },
        ),
        (
            "eksNodeClusterIngressRule",
            {
                "description": "Allow worker Kubelets and pods to receive communication from the cluster control plane",
                "type": "ingress",
                "fromPort": 1025,
                "toPort": 65535,
                "protocol": "tcp",
                "securityGroupId": node_sg.id,
                "sourceSecurityGroupId": cluster_sg.id,
            },
        ),
        (
            "eksExtApiServerClusterIngressRule",
            {
                "description": "Allow pods running extension API servers on port 443 to receive communication from "
                "cluster control plane",
                "type": "ingress",
                "fromPort": 443,
                "toPort": 443,
                "protocol": "tcp",
                "securityGroupId": node_sg.id,
                "sourceSecurityGroupId": cluster_sg.id,
            },
        ),
        (
            "eksNodeInternetEgressRule",
            {
                "description": "Allow internet access.",
                "type": "egress",
                "fromPort": 0,
                "toPort": 0,
                "protocol": "-1",
                "cidrBlocks": ["0.0.0.0/0"],
                "securityGroupId": node_sg.id,
            },
        ),
        (
            "eksClusterIngressRule",
            {
                "description": "Allow pods to communicate with the cluster API Server",
                "type": "ingress",
                "fromPort": 443,
                "toPort": 443,
                "protocol": "tcp",
                "securityGroupId": cluster_sg.id,
                "sourceSecurityGroupId": node_sg.id,
            },
        ),
    ]
