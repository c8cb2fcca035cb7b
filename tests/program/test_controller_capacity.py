"""The controller node group has room, by CPU and memory requests, for every pod that runs on it at install.

At install the controller group (at its minSize) is the only capacity: Karpenter, CoreDNS, the EBS CSI controller,
the NVIDIA controllers and the monitoring pods must all be scheduled there, next to one pod of every DaemonSet per
node. preflight/capacity.py sums their requests (rendered charts, the Prometheus Operator's custom
resources, the EKS add-ons' upstream requests) and compares them with nodeadm's allocatable; these tests hold that
for every repo stack and STACK_VARIANT, pin the numbers the README states, and show the checks fail when they should.
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
README = Path(__file__).resolve().parents[2] / "README.md"


def packing(nodes: int, instance_type: str, *workloads: Workload) -> CapacityReport:
    return CapacityReport(nodes, cc.allocatable(instance_type), workloads)


# -- every stack --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_controller_group_at_min_size_offers_the_total_requests(controller_capacity, stack):
    assert controller_capacity(stack).shortfalls() == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_controller_pod_finds_a_node_at_min_size(controller_capacity, stack):
    assert controller_capacity(stack).unplaced() == []


@pytest.mark.parametrize("stack", STACKS)
def test_karpenter_replicas_are_counted_spread_one_per_node(controller_capacity, stack):
    # The packing honours Karpenter's required hostname anti-affinity only if the workload carries it.
    karpenter = [w for w in controller_capacity(stack).workloads if w.name == "karpenter: Deployment karpenter"]
    assert [(w.replicas, w.spread_by_hostname, w.cpu_m, w.memory) for w in karpenter] == [(2, True, 1000, 1024 * MI)]


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
    for stack in REPO_STACKS:
        report = controller_capacity(stack)
        pattern = (
            rf"{stack} \([a-z-]+\): (\d+) × ([a-z0-9.]+) offer (\d+)m CPU / (\d+)Mi, its pods request (\d+)m / (\d+)Mi"
        )
        match = re.search(pattern, text)
        assert match, f"README: no controller-group sizing sentence for {stack} matching {pattern!r}"
        stated = (int(match[1]), match[2], int(match[3]), int(match[4]), int(match[5]), int(match[6]))
        assert stated == (
            report.nodes,
            report.node.instance_type,
            report.allocatable_cpu_m,
            report.allocatable_memory // MI,
            report.requested_cpu_m,
            report.requested_memory // MI,
        ), f"README states {stated} for {stack}"


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


def test_a_group_too_small_for_the_dev_pods_names_the_memory_shortfall(controller_capacity):
    # dev's pods request 3624Mi; 2 × t4g.small offer 2 × 1572 = 3144Mi: 480Mi short.
    small = CapacityReport(2, cc.allocatable("t4g.small"), controller_capacity("dev").workloads)
    problems = small.shortfalls()
    assert len(problems) == 1
    assert problems[0].startswith("memory: pods request 3624Mi, 2 × t4g.small offers 3144Mi (480Mi short)")
    assert "karpenter: Deployment karpenter (× 2): 1000m / 1024Mi" in problems[0]


def test_oversized_requests_on_min_size_nodes_name_the_cpu_shortfall():
    report = packing(2, "m7g.large", Workload("big", 1500, 64 * MI, replicas=3))
    assert report.shortfalls()[0].startswith("CPU: pods request 4500m, 2 × m7g.large offers 3860m (640m short)")


def test_a_pod_bigger_than_any_node_is_left_unplaced():
    # 2 × m7g.xlarge offer 7840m in all, so the total fits, but no single node has 4000m.
    report = packing(2, "m7g.xlarge", Workload("huge", 4000, 64 * MI))
    assert report.shortfalls() == []
    assert report.unplaced() == [
        "huge (× 1): 4000m / 64Mi: no node has room; free: node 1 3920m / 15391Mi free, node 2 3920m / 15391Mi free"
    ]


def test_karpenter_on_one_node_leaves_its_second_replica_pending():
    karpenter = Workload("karpenter", 1000, 1024 * MI, replicas=2, spread_by_hostname=True)
    report = packing(1, "m7g.xlarge", karpenter)
    assert report.shortfalls() == []  # 2000m of 3920m: only the anti-affinity stops it
    (problem,) = report.unplaced()
    assert "replica 2 needs a node without another replica (hostname anti-affinity)" in problem


def test_daemonsets_take_their_share_of_every_node_before_the_rest():
    # 1930m per node: alone, two 900m pods share a node (1800m); after a 150m DaemonSet pod only 1780m is left, so
    # the two nodes take one each and the third is left over, though the total (300 + 2700 = 3000m) fits.
    report = packing(2, "m7g.large", Workload("ds", 150, 0, per_node=True), Workload("app", 900, 0, replicas=3))
    assert report.shortfalls() == []
    (problem,) = report.unplaced()
    assert problem.startswith("app (× 3): 900m / 0Mi: no node has room")


def test_first_fit_decreasing_places_the_big_pod_before_the_small_ones():
    # 1930m per node. In arrival order 800 + 900 share node 1, 1000 goes to node 2 and 1100 fits nowhere; biggest
    # first packs 1100 + 800 and 1000 + 900.
    report = packing(
        2, "m7g.large", Workload("a", 800, 0), Workload("b", 900, 0), Workload("c", 1000, 0), Workload("d", 1100, 0)
    )
    assert report.unplaced() == []
