"""Pure builders for EFA pools (`gpuNodePools[].efa: true`): multi-node training over Elastic Fabric Adapter.

An EFA pool gets, on top of what every GPU pool gets:

* **Network interfaces as AWS lays them out** for instances with several network cards (EC2 User Guide "Maximize
  network bandwidth on Amazon EC2 instances with multiple network cards", read 2026-11-25): the primary interface
  (card 0, device 0) is an ENA interface, card 0 device 1 an EFA-only interface, and every other card an EFA-only
  interface at device 0. EFA-only interfaces carry no IP address, so a p5.48xlarge uses one private IP for up to
  3,200 Gbps of EFA. Karpenter's EC2NodeClass takes the list as is (`networkInterfaces`, Karpenter >= 1.11) and then
  advertises one `vpc.amazonaws.com/efa` per efa-only entry for every type of the node class
  (aws/karpenter-provider-aws v1.14.1 pkg/providers/instancetype/types.go `efas`), so the layout must match the
  pool's types exactly: the config allows only types with the same number of network cards in one EFA pool.
* **Its own EC2NodeClass** with a cluster placement group (one per node class, `placementGroupSelector`; created by
  the program, or an existing one the pool names in `placementGroup`, e.g. the group its capacity reservation
  was made in: `components.gpu.efa_config.PlacementGroupRef` says why Karpenter cannot pair them), no public
  IP (an instance with several EFA interfaces fails to launch with one: v1.14 concepts/nodeclasses.md
  "spec.associatePublicIPAddress"), and the EFA security group next to the cluster's.
* **One zone**: a cluster placement group lives in one Availability Zone, so the NodePool requires the pool's zone.
* **2 MiB huge pages** for libfabric's EFA provider, which uses them for its bounce buffers when a pod may use them.
  How many the AMI's EFA installer reserves is not published (the EKS user guide's EFA page, 2024-12: "pre-allocate
  5128 2MiB Huge Pages"; efa-config computes a per-core number), and Karpenter knows no hugepages capacity at all
  (aws/karpenter-provider-aws#3315). So the node class's user data reserves a fixed amount before the kubelet
  starts (nodeadm-run.service runs after cloud-final.service, awslabs/amazon-eks-ami
  templates/al2023/runtime/rootfs/etc/systemd/system/nodeadm-run.service), and a NodeOverlay tells Karpenter, the
  way Karpenter's own e2e test does (test/suites/scheduling/scheduling.go "should provision a node that matches
  hugepages resource requests", v1.14.1). 5120 MiB is what AWS's NCCL jobs request on p5.48xlarge
  (aws-samples/awsome-distributed-training v1.2.0 kubernetes/nccl-tests.yaml; the EKS user guide's EFA page).
* **The EFA device plugin** (AWS's chart), on EFA pools' nodes only.

No NodeOverlay for `vpc.amazonaws.com/efa`: Karpenter's own capacity is the efa-only count above, and the NodeClaim
advertises it whenever the node class has network interfaces (pkg/providers/instance/instance.go
`getEFACountForInstance`, v1.14.1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from components.common.names import POOL_LABEL, ZONE_LABEL
from components.gpu import catalog
from components.gpu.names import EFA_LABEL, EFA_RESOURCE, HUGEPAGES_2MI_RESOURCE
from components.karpenter.manifests import NODE_OVERLAY_API, requirement
from components.karpenter.user_data import UserDataPart, mime_user_data

# EC2NodeClass networkInterfaces[].interfaceType values (CRD enum, v1.14.1).
ENA_INTERFACE = "interface"
EFA_ONLY_INTERFACE = "efa-only"
# The placement strategy that packs instances close together in one zone for low latency and high throughput.
CLUSTER_PLACEMENT = "cluster"
# Tag (value: the cluster name) on the EFA security group; EFA node classes select it by this tag.
EFA_SECURITY_GROUP_TAG = "gpu-eks/efa"
# Huge pages every EFA node reserves: 5120 MiB of 2 MiB pages.
HUGEPAGE_SIZE_MIB = 2
EFA_HUGEPAGES_MIB = 5120
EFA_HUGEPAGES = f"{EFA_HUGEPAGES_MIB}Mi"
HUGEPAGES_SYSCTL_FILE = "/etc/sysctl.d/99-gpu-eks-efa-hugepages.conf"


def network_interfaces(network_cards: int) -> list[dict[str, Any]]:
    """The EC2NodeClass `networkInterfaces` for an instance type with `network_cards` cards, each with EFA."""
    if network_cards < 1:
        raise ValueError(f"an EFA instance type has at least one network card, got {network_cards}")
    interfaces = [
        {"networkCardIndex": 0, "deviceIndex": 0, "interfaceType": ENA_INTERFACE},
        {"networkCardIndex": 0, "deviceIndex": 1, "interfaceType": EFA_ONLY_INTERFACE},
    ]
    interfaces += [
        {"networkCardIndex": card, "deviceIndex": 0, "interfaceType": EFA_ONLY_INTERFACE}
        for card in range(1, network_cards)
    ]
    return interfaces


def pool_network_cards(instance_types: Sequence[catalog.InstanceType]) -> int:
    """The one EFA interface count (= network cards) all of an EFA pool's types share; ValueError otherwise."""
    counts = {catalog.efa_interfaces(t) for t in instance_types}
    if len(counts) != 1 or 0 in counts:
        listed = ", ".join(f"{t.name} ({catalog.efa_interfaces(t)})" for t in instance_types)
        raise ValueError(f"an EFA pool needs types with the same number of EFA interfaces, got {listed}")
    return counts.pop()


def placement_group_name(cluster_name: str, pool: str) -> str:
    """The EC2 placement group of an EFA pool: unique per account and region, because cluster names are."""
    return f"{cluster_name}-{pool}"


def hugepages_user_data(megabytes: int = EFA_HUGEPAGES_MIB) -> str:
    """A user-data shell script that reserves `megabytes` of 2 MiB huge pages, now and on every later boot.

    Karpenter merges a shell script into the AL2023 user data as its own MIME part (v1.14 concepts/nodeclasses.md,
    "AL2023"); cloud-init runs it before nodeadm starts the kubelet, which reports the pages as capacity.
    """
    if megabytes <= 0 or megabytes % HUGEPAGE_SIZE_MIB:
        raise ValueError(f"huge pages must be a positive multiple of {HUGEPAGE_SIZE_MIB} MiB, got {megabytes}")
    pages = megabytes // HUGEPAGE_SIZE_MIB
    return (
        "#!/bin/bash\n"
        "# gpu-eks EFA pool: 2 MiB huge pages for libfabric's EFA provider, as many as the pool's NodeOverlay\n"
        "# tells Karpenter (hugepages-2Mi). The sysctl.d file keeps the number after a reboot.\n"
        "set -euo pipefail\n"
        f'echo "vm.nr_hugepages = {pages}" > {HUGEPAGES_SYSCTL_FILE}\n'
        f"sysctl -w vm.nr_hugepages={pages}\n"
    )


def placement_group_selector(cluster_name: str, pool: str, existing: Mapping[str, str] | None) -> dict[str, str]:
    """An EFA node class's `placementGroupSelector`: the existing group the pool names (`placementGroup`, as its
    selector), else the one the program creates for the pool."""
    return dict(existing) if existing else {"name": placement_group_name(cluster_name, pool)}


def efa_node_class(
    node_class: Mapping[str, Any], *, network_cards: int, placement_group: Mapping[str, str], cluster_name: str
) -> dict[str, Any]:
    """A GPU pool's EC2NodeClass (from `components.karpenter.manifests.ec2_node_class`) turned into an EFA one.
    The input is not changed (it may hold Outputs, which cannot be deep-copied)."""
    spec = dict(node_class["spec"])
    if "userData" in spec:
        raise ValueError(f"EC2NodeClass {node_class['metadata']['name']} already has user data; EFA needs its own")
    spec["networkInterfaces"] = network_interfaces(network_cards)
    spec["placementGroupSelector"] = dict(placement_group)
    # Several EFA interfaces and a public IP cannot launch; the nodes live in private subnets anyway.
    spec["associatePublicIPAddress"] = False
    # Terms are ORed: the cluster security group (discovery tag) and the EFA group.
    spec["securityGroupSelectorTerms"] = [
        *spec["securityGroupSelectorTerms"],
        {"tags": {EFA_SECURITY_GROUP_TAG: cluster_name}},
    ]
    # Explicit MIME, so Karpenter never guesses the script's type by YAML parsing (components.karpenter.user_data).
    spec["userData"] = mime_user_data([UserDataPart("script", hugepages_user_data())])
    return {**node_class, "spec": spec}


def efa_node_pool(node_pool: Mapping[str, Any], zone: str) -> dict[str, Any]:
    """A GPU pool's NodePool turned into an EFA one: one zone (the placement group's), and the label the EFA device
    plugin selects. `zone` is a zone name such as us-east-1b. The input is not changed."""
    template = node_pool["spec"]["template"]
    metadata = {**template["metadata"], "labels": {**template["metadata"]["labels"], EFA_LABEL: "true"}}
    template_spec = {
        **template["spec"],
        "requirements": [*template["spec"]["requirements"], requirement(ZONE_LABEL, "In", [zone])],
    }
    spec = {**node_pool["spec"], "template": {**template, "metadata": metadata, "spec": template_spec}}
    return {**node_pool, "spec": spec}


def hugepages_overlay(pool: str) -> dict[str, Any]:
    """The NodeOverlay that tells Karpenter an EFA pool's nodes have the huge pages its user data reserves.
    Karpenter merges it with the pool's sharing overlays (they set other resources) and takes the pages out of the
    node's allocatable memory (kubernetes-sigs/karpenter v1.14.1 pkg/cloudprovider/types.go)."""
    return {
        "apiVersion": NODE_OVERLAY_API,
        "kind": "NodeOverlay",
        "metadata": {"name": f"{pool}-efa-hugepages"},
        "spec": {
            "requirements": [requirement(POOL_LABEL, "In", [pool])],
            "capacity": {HUGEPAGES_2MI_RESOURCE: EFA_HUGEPAGES},
        },
    }


def _toleration(taint: Mapping[str, Any]) -> dict[str, Any]:
    """The toleration of exactly one NodePool taint."""
    if taint.get("value") is None:
        return {"key": taint["key"], "operator": "Exists", "effect": taint["effect"]}
    return {"key": taint["key"], "operator": "Equal", "value": taint["value"], "effect": taint["effect"]}


def efa_device_plugin_values(efa_node_pools: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Values for the aws-efa-k8s-device-plugin chart: on EFA pools' nodes only, tolerating exactly their taints.

    The chart's own affinity admits every EFA-capable instance type (its supportedInstanceLabels), which includes
    GPU types of pools without EFA; the EFA label narrows it to nodes that have EFA interfaces. The chart adds the
    CriticalAddonsOnly toleration itself. A DaemonSet with no node to run on is ready, so the release installs
    before any EFA node exists.
    """
    tolerations: list[dict[str, Any]] = []
    for node_pool in efa_node_pools:
        for taint in node_pool["spec"]["template"]["spec"].get("taints", ()):
            toleration = _toleration(taint)
            if toleration not in tolerations:
                tolerations.append(toleration)
    return {"nodeSelector": {EFA_LABEL: "true"}, "tolerations": tolerations}


def efa_contract(instance_types: Sequence[catalog.InstanceType], *, placement_group: str, zone: str) -> dict[str, Any]:
    """The `efa` entry of an EFA pool's workload contract: what a pod requests per node, and where the nodes are."""
    return {
        "resourceName": EFA_RESOURCE,
        "devicesPerNode": {t.name: catalog.efa_interfaces(t) for t in instance_types},
        "hugepages": {"resourceName": HUGEPAGES_2MI_RESOURCE, "perNode": EFA_HUGEPAGES},
        "placementGroup": placement_group,
        "zone": zone,
    }
