"""Prometheus' zonal volume survives a controller-group roll (issue 19 item 4).

In-cluster Prometheus runs on the `gpu-eks-monitoring` Karpenter NodePool, which launches in its gp3 volume's zone,
never on the controller group's fixed nodes. Checked with the scheduling model over the real chart's render and the
zonal-volume model (preflight/placement/volumes.py), and against a deliberately misplaced Prometheus.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from preflight.placement import model as placement
from preflight.placement import volumes
from tests.support.stacks import karpenter_manifests

PROMETHEUS = "kube-prometheus-stack: Prometheus kube-prometheus-stack-prometheus"
IN_CLUSTER = ["dev", "in-cluster-gpu-operator", "repair-off-device-plugin", "gpu-only-time-slicing"]
CONTROLLER = {
    "nodeSelector": {"kubernetes.io/os": "linux", "karpenter.sh/controller": "true"},
    "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
}


def classes(model, stack_or_variant_run, stack):
    return volumes.storage_classes(model, volumes.registered_storage_classes(stack_or_variant_run(stack)))


@pytest.mark.parametrize("stack", IN_CLUSTER)
def test_prometheus_runs_on_the_monitoring_pool_and_only_there(placement_model, stack):
    model = placement_model(stack)
    (prometheus,) = model.pods_with(name=PROMETHEUS)
    assert placement.landing_failures(model, prometheus, "gpu-eks-monitoring") == []
    assert not any(n.at_install for n in model.nodes_for(prometheus))


@pytest.mark.parametrize("stack", IN_CLUSTER)
def test_no_pod_with_a_zonal_volume_can_be_stranded(placement_model, stack_or_variant_run, stack):
    model = placement_model(stack)
    assert [v.pod for v in volumes.claimed_volumes(model)] == [PROMETHEUS]
    assert classes(model, stack_or_variant_run, stack)["gp3-encrypted"] == "ebs.csi.aws.com"
    assert volumes.zonal_volume_failures(model, classes(model, stack_or_variant_run, stack)) == {}


def test_prometheus_on_the_controller_group_is_reported(placement_model, stack_or_variant_run):
    # Today's main: Prometheus pinned to the controller group, 2 nodes over 3 zones.
    model = placement_model("dev")
    pods = [replace(p, spec={**p.spec, **CONTROLLER}) if p.name == PROMETHEUS else p for p in model.pods]
    broken = model.with_changes(pods=pods)
    failures = volumes.zonal_volume_failures(broken, classes(model, stack_or_variant_run, "dev"))
    fixed, launched = failures[PROMETHEUS]
    assert "zonal and it may run on the controller group" in fixed
    assert launched == "no Karpenter NodePool can launch a node for it in its volume's zone"


def test_a_claim_of_a_storage_class_the_stack_does_not_create_is_reported(placement_model):
    model = placement_model("dev")
    assert "which the stack does not create" in volumes.zonal_volume_failures(model, {})[PROMETHEUS][0]


def test_amp_mode_has_no_volume_and_no_monitoring_pool(placement_model, stack_or_variant_run):
    assert volumes.claimed_volumes(placement_model("prod")) == []
    pools = [
        m["metadata"]["name"] for m in karpenter_manifests(stack_or_variant_run("prod")) if m["kind"] == "NodePool"
    ]
    assert "gpu-eks-monitoring" not in pools


def test_the_monitoring_pool_may_launch_in_every_zone_on_demand_and_takes_only_prometheus(
    stack_or_variant_run, crd_validator, placement_model
):
    run = stack_or_variant_run("dev")
    (pool,) = [
        m for m in karpenter_manifests(run) if m["kind"] == "NodePool" and m["metadata"]["name"] == "gpu-eks-monitoring"
    ]
    assert crd_validator.validate(pool) == []
    spec = pool["spec"]["template"]["spec"]
    keys = {r["key"]: r for r in spec["requirements"]}
    assert "topology.kubernetes.io/zone" not in keys  # Karpenter picks the volume's zone
    assert keys["karpenter.sh/capacity-type"]["values"] == ["on-demand"]
    (node_class,) = [
        m
        for m in karpenter_manifests(run)
        if m["kind"] == "EC2NodeClass" and m["metadata"]["name"] == spec["nodeClassRef"]["name"]
    ]
    assert node_class["metadata"]["name"] == "default"
    assert spec["taints"] == [{"key": "gpu-eks/monitoring", "value": "true", "effect": "NoSchedule"}]
    # Nothing but Prometheus and the every-node DaemonSets lands there.
    model = placement_model("dev")
    monitoring_nodes = [n for n in model.nodes if n.group == "gpu-eks-monitoring"]
    assert monitoring_nodes
    others = {
        p.name
        for p in model.pods
        if p.kind != "DaemonSet" and any(not model.problems(p, n, resources=False) for n in monitoring_nodes)
    }
    assert others == {PROMETHEUS}
