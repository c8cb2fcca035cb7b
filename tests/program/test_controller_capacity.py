"""The controller node group has room, by CPU and memory requests, for every pod that runs on it at install.

At install the controller group (at its minSize) is the only capacity: Karpenter, CoreDNS, the EBS CSI controller,
the NVIDIA controllers and the monitoring pods must all be scheduled there, next to one pod of every DaemonSet per
node. preflight/capacity.py sums their requests (rendered charts, the Prometheus Operator's custom
resources, the EKS add-ons' upstream requests) and compares them with nodeadm's allocatable; these tests hold that
for every repo stack and STACK_VARIANT, pin the numbers docs/observability.md states, and show the checks fail when
they should.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from preflight import capacity as cc
from preflight.capacity import MI, CapacityReport, Workload
from tests.support.stack_variants import STACK_VARIANTS
from tests.support.stacks import REPO_STACKS

STACKS = [*REPO_STACKS, *(variant.name for variant in STACK_VARIANTS)]
README = Path(__file__).resolve().parents[2] / "docs" / "observability.md"


def packing(nodes: int, instance_type: str, *workloads: Workload) -> CapacityReport:
    return CapacityReport(nodes, cc.allocatable(instance_type), workloads)


# -- every stack --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_controller_pod_finds_a_node_at_min_size(controller_capacity, stack):
    assert controller_capacity(stack).unplaced() == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_rolling_update_of_a_controller_pod_can_progress_at_min_size(controller_capacity, stack):
    assert controller_capacity(stack).surge_unplaced() == []


@pytest.mark.parametrize("stack", STACKS)
def test_karpenter_replicas_are_counted_spread_one_per_node(controller_capacity, stack):
    # The packing honours Karpenter's required hostname anti-affinity only if the workload carries it.
    karpenter = [w for w in controller_capacity(stack).workloads if w.name == "karpenter: Deployment karpenter"]
    assert [(w.replicas, w.spread_by_hostname, w.cpu_m, w.memory) for w in karpenter] == [(2, True, 1000, 1024 * MI)]
    # The chart's strategy (charts/karpenter values.yaml strategy.rollingUpdate.maxUnavailable 1): an old replica
    # goes first, so the two spread replicas can roll on two nodes.
    assert [(w.max_surge, w.max_unavailable, w.needs_surge_room) for w in karpenter] == [(1, 1, False)]


# -- the numbers, typed from the sources ---------------------------------------------------------------------------


def test_allocatable_follows_nodeadm_reservations():
    # m7g.large: 2 vCPU, 8 GiB, 29 pods -> CPU 2000 - (60 + 10) = 1930m; memory 8192 - (255 + 11 × 29) - 100 = 7518Mi.
    # m7g.xlarge: 4 vCPU, 16 GiB, 58 pods -> 4000 - (60 + 10 + 5 + 5) = 3920m; 16384 - (255 + 638) - 100 = 15391Mi.
    # c7g.2xlarge: 8 vCPU, 16 GiB, 58 pods -> 8000 - (80 + 4 × 2.5) = 7910m; 16384 - 893 - 100 = 15391Mi.
    # t4g.small: 2 vCPU, 2 GiB, 11 pods -> 1930m; 2048 - (255 + 121) - 100 = 1572Mi.
    got = {t: (cc.allocatable(t).cpu_m, cc.allocatable(t).memory // MI) for t in cc.INSTANCE_TYPES}
    assert {t: got[t] for t in ("m7g.large", "m7g.xlarge", "c7g.2xlarge", "t4g.small")} == {
        "m7g.large": (1930, 7518),
        "m7g.xlarge": (3920, 15391),
        "c7g.2xlarge": (7910, 15391),
        "t4g.small": (1930, 1572),
    }


def test_dev_requests_match_the_hand_sum_of_the_chart_and_add_on_requests(controller_capacity):
    # Once: Karpenter 2 × 1000m/1024Mi, NFD master 100m/128Mi, CoreDNS 2 × 100m/70Mi, EBS CSI controller
    # 2 × 60m/240Mi, Grafana 50m/192Mi, operator 50m/64Mi, kube-state-metrics 20m/64Mi, NFD gc 10m/128Mi,
    # Alertmanager 10m/32Mi -> 2560m / 3276Mi. Prometheus (200m/1Gi) runs on the gpu-eks-monitoring NodePool.
    # Per node: kube-proxy 100m, aws-node 50m, ebs-csi-node 30m/120Mi, monitoring agent 10m/30Mi, node-exporter
    # 10m/24Mi, Pod Identity agent 0 -> 200m / 174Mi, × 2 nodes.
    report = controller_capacity("dev")
    assert (report.nodes, report.node.instance_type) == (2, "m7g.large")
    assert (report.requested_cpu_m, report.requested_memory // MI) == (2560 + 2 * 200, 3276 + 2 * 174)


def test_prod_requests_match_the_hand_sum_of_the_chart_and_add_on_requests(controller_capacity):
    # AMP: the Prometheus agent 100m/512Mi instead of Prometheus and Alertmanager; no EBS CSI add-on; the GPU
    # Operator 200m/100Mi. Once: 2000 + 200 + 100 + 100 + 200 + 50 + 50 + 20 + 10 = 2730m;
    # 2048 + 100 + 512 + 128 + 140 + 192 + 64 + 64 + 128 = 3376Mi. Per node: 100 + 50 + 10 + 10 = 170m, 30 + 24 = 54Mi.
    report = controller_capacity("prod")
    assert (report.nodes, report.node.instance_type) == (2, "m7g.large")
    assert (report.requested_cpu_m, report.requested_memory // MI) == (2730 + 2 * 170, 3376 + 2 * 54)


def test_the_smallest_listed_type_is_the_one_that_must_fit():
    # prod lists m7g.large and m7g.xlarge: a shortage may give either, so the large one is checked.
    assert cc.smallest(["m7g.xlarge", "m7g.large"]) == "m7g.large"


def test_readme_states_the_measured_controller_group_numbers(controller_capacity):
    text = " ".join(README.read_text().split())
    # The README documents the two example stacks it ships; a stack a user adds needs no sentence there.
    for stack in ("dev", "prod"):
        report = controller_capacity(stack)
        pattern = (
            rf"{stack} \([a-z-]+\): (\d+) × ([a-z0-9.]+) offer (\d+)m CPU / (\d+)Mi, its pods request (\d+)m / (\d+)Mi"
        )
        match = re.search(pattern, text)
        assert match, f"docs/observability.md: no controller-group sizing sentence for {stack} matching {pattern!r}"
        stated = (int(match[1]), match[2], int(match[3]), int(match[4]), int(match[5]), int(match[6]))
        assert stated == (
            report.nodes,
            report.node.instance_type,
            report.allocatable_cpu_m,
            report.allocatable_memory // MI,
            report.requested_cpu_m,
            report.requested_memory // MI,
        ), f"docs/observability.md states {stated} for {stack}"


# -- the rules: a pod's requests -----------------------------------------------------------------------------------


def test_containers_without_requests_count_as_zero():
    spec = {"containers": [{"name": "a"}, {"name": "b", "resources": {"limits": {"memory": "1Gi"}}}]}
    assert cc.pod_requests(spec) == (0, 0)


def test_a_large_init_container_sets_the_pod_request_and_a_sidecar_adds_to_it():
    spec = {
        "containers": [{"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}],
        "initContainers": [
            {"resources": {"requests": {"cpu": "500m", "memory": "32Mi"}}},
            {"restartPolicy": "Always", "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}},
        ],
    }
    assert cc.pod_requests(spec) == (500, 80 * MI)


def test_quantities_parse_as_kubernetes_writes_them():
    assert [cc.cpu_millicores(v) for v in ("50m", "1", 2, "0.5")] == [50, 1000, 2000, 500]
    assert [cc.memory_bytes(v) for v in ("64Mi", "1Gi", "0", "1G")] == [64 * MI, 1024 * MI, 0, 10**9]


def test_an_instance_type_without_a_table_row_is_refused():
    with pytest.raises(KeyError, match=r"m5\.large: not in controller_capacity.INSTANCE_TYPES"):
        cc.allocatable("m5.large")


# -- the checks fail when they should ------------------------------------------------------------------------------


def test_a_group_too_small_for_the_dev_pods_leaves_pods_unplaced(controller_capacity):
    # dev's pods request 3624Mi; a t4g.small offers 1572Mi: Karpenter's 1024Mi replicas take one node each, and the
    # rest no longer fit.
    small = CapacityReport(2, cc.allocatable("t4g.small"), controller_capacity("dev").workloads)
    problems = small.unplaced()
    assert problems
    assert all("no node has room" in p or "does not fit on" in p for p in problems)


def test_pods_that_fit_in_the_sum_but_not_on_any_one_node_are_unplaced():
    # 3 × 1200m = 3600m is below the 2 × 1930m = 3860m the sum would offer, but two never share a 1930m node.
    report = packing(2, "m7g.large", Workload("app", 1200, 64 * MI, replicas=3))
    assert report.requested_cpu_m < report.allocatable_cpu_m
    (problem,) = report.unplaced()
    assert problem.startswith("app (× 3): 1200m / 64Mi: no node has room")


def test_a_pod_bigger_than_any_node_is_left_unplaced():
    # 2 × m7g.xlarge offer 7840m in all, so the total fits, but no single node has 4000m.
    report = packing(2, "m7g.xlarge", Workload("huge", 4000, 64 * MI))
    assert report.unplaced() == [
        "huge (× 1): 4000m / 64Mi: no node has room; free: node 1 3920m / 15391Mi free, node 2 3920m / 15391Mi free"
    ]


def test_karpenter_on_one_node_leaves_its_second_replica_pending():
    karpenter = Workload("karpenter", 1000, 1024 * MI, replicas=2, spread_by_hostname=True)
    report = packing(1, "m7g.xlarge", karpenter)
    # 2000m of 3920m: only the anti-affinity stops it
    (problem,) = report.unplaced()
    assert "replica 2 needs a node without another replica (hostname anti-affinity)" in problem


def test_daemonsets_take_their_share_of_every_node_before_the_rest():
    # 1930m per node: alone, two 900m pods share a node (1800m); after a 150m DaemonSet pod only 1780m is left, so
    # the two nodes take one each and the third is left over, though the total (300 + 2700 = 3000m) fits.
    report = packing(2, "m7g.large", Workload("ds", 150, 0, per_node=True), Workload("app", 900, 0, replicas=3))
    (problem,) = report.unplaced()
    assert problem.startswith("app (× 3): 900m / 0Mi: no node has room")


def test_first_fit_decreasing_places_the_big_pod_before_the_small_ones():
    # 1930m per node. In arrival order 800 + 900 share node 1, 1000 goes to node 2 and 1100 fits nowhere; biggest
    # first packs 1100 + 800 and 1000 + 900.
    report = packing(
        2, "m7g.large", Workload("a", 800, 0), Workload("b", 900, 0), Workload("c", 1000, 0), Workload("d", 1100, 0)
    )
    assert report.unplaced() == []


# -- rolling updates ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "strategy, replicas, resolved",
    [
        (None, 2, (1, 0)),  # 25% of 2: surge rounds up to 1, unavailable down to 0
        (None, 4, (1, 1)),
        (None, 1, (1, 0)),
        ({"rollingUpdate": {"maxUnavailable": 1}}, 2, (1, 1)),  # Karpenter's chart
        ({"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}, 2, (0, 1)),  # both 0: the controller takes 1
        ({"rollingUpdate": {"maxSurge": "50%", "maxUnavailable": "0%"}}, 3, (2, 0)),
        ({"type": "Recreate"}, 2, (0, 2)),
    ],
)
def test_rolling_update_fenceposts_resolve_as_the_deployment_controller_does(strategy, replicas, resolved):
    assert cc.resolve_rolling_update(strategy, replicas) == resolved


def test_a_spread_deployment_that_keeps_its_old_pods_cannot_roll_on_as_many_nodes_as_replicas():
    # 2 replicas, required hostname anti-affinity, maxUnavailable 0 (the defaults for 2 replicas): the surge pod
    # needs a third node, so the roll never progresses, though the steady state fits.
    surge, unavailable = cc.resolve_rolling_update(None, 2)
    assert unavailable == 0
    spread = Workload("ctrl", 500, 256 * MI, replicas=2, spread_by_hostname=True, max_surge=surge, max_unavailable=0)
    report = packing(2, "m7g.xlarge", spread)
    assert report.unplaced() == []
    (problem,) = report.surge_unplaced()
    assert problem.startswith("rolling update of ctrl (× 2): 500m / 256Mi: the surge pod needs a node without")
    assert "maxSurge 1, maxUnavailable 0" in problem
    # Letting one old pod go first (Karpenter's chart: maxUnavailable 1) needs no extra room.
    assert packing(2, "m7g.xlarge", Workload("ctrl", 500, 256 * MI, 2, False, True, 1, 1)).surge_unplaced() == []
    # A third node gives the surge pod its place.
    assert packing(3, "m7g.xlarge", spread).surge_unplaced() == []


def test_a_surge_pod_that_only_fits_in_the_sum_is_reported():
    # Two 900m pods, one per node, leave 1030m free on each node of 1930m: a 1100m surge pod fits in the sum
    # (2060m free) but on no node.
    report = packing(
        2,
        "m7g.large",
        Workload("app", 1100, 0, replicas=2, max_surge=1, max_unavailable=0),
        Workload("other", 830, 0, replicas=2),
    )
    assert report.unplaced() == []
    (problem,) = report.surge_unplaced()
    assert problem.startswith("rolling update of app (× 2): 1100m / 0Mi: no node has room")


def test_a_surging_daemonset_needs_a_second_pod_of_room_on_every_node():
    report = packing(2, "m7g.large", Workload("agent", 1000, 0, per_node=True, max_surge=1, max_unavailable=0))
    assert report.unplaced() == []
    assert [p.split(":")[0] for p in report.surge_unplaced()] == ["rolling update of agent (per node)"] * 2
