"""Stage 7, capacity: the controller node group at its minSize has room, by CPU and memory requests, for every pod
that runs on it once the stack is installed (preflight/capacity.py): Karpenter, CoreDNS, the controllers of every
chart, one pod of each DaemonSet per node, packed onto the nodes one by one; and a rolling update of each of them
can progress (its surge pod fits when maxUnavailable is 0).
"""

from __future__ import annotations

from preflight.capacity import report
from preflight.findings import Finding, StageResult
from preflight.subject import Subject

TITLE = "fit the controller group's pods at its minSize"


def check(subject: Subject, result: StageResult) -> None:
    run = subject.need_run()
    model = subject.need_model()
    group = run.one("eks:index:ManagedNodeGroup").plain_inputs()
    addons = [r.plain_inputs()["addonName"] for r in run.by_type("aws:eks/addon:Addon")]
    capacity = report(model, addons, group["scalingConfig"]["minSize"], group["instanceTypes"])
    # Pods packed node by node (never summed), then the rolling-update surge on top of that packing.
    result.findings += [Finding("controller group", u) for u in capacity.unplaced()]
    result.findings += [Finding("controller group", u) for u in capacity.surge_unplaced()]
    result.counts = {
        "nodes": capacity.nodes,
        "pods": sum(w.replicas for w in capacity.workloads),
        "CPU requested (m)": capacity.requested_cpu_m,
        "CPU allocatable (m)": capacity.allocatable_cpu_m,
    }
