"""Stage 5, placement: every pod the stack causes finds a node it may run on, and only where it must.

The scheduling model (preflight/placement/) puts every chart pod, the GPU Operator's operands, the EKS add-ons'
pods, every pool's contract pod, the warm-slice pods and the examples against every node shape the stack can have
(the controller group, and each NodePool × instance type × capacity type, labelled as Karpenter, NFD, GFD and the
operator label them), with taints, selectors, affinity and extended resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from preflight.findings import Finding, StageResult
from preflight.helm.render import render_release
from preflight.placement import host_engines, volumes
from preflight.placement import model as placement
from preflight.subject import Subject

TITLE = "place every pod on the nodes the stack can have"


def _from_mapping(findings: list[Finding], failures: Mapping[str, list[str]], what: str) -> None:
    findings += [Finding(subject, f"{what}: {'; '.join(reasons)}") for subject, reasons in failures.items()]


def _landing(model: placement.ClusterModel, pods: list[placement.Pod], pool_of: Any) -> list[Finding]:
    return [
        Finding(pod.name, f"does not land on pool {pool_of(pod)} and only there: {'; '.join(failures)}")
        for pod in pods
        if (failures := placement.landing_failures(model, pod, pool_of(pod)))
    ]


def check(subject: Subject, result: StageResult) -> None:
    run = subject.need_run()
    releases = subject.need_releases()

    def rendered(release: Mapping[str, Any], kube_version: str) -> Any:
        return releases.get(release["release"]) or render_release(dict(release), kube_version)

    try:
        model = placement.build_model(run, rendered, name=subject.stack)
    except AssertionError as error:  # the model's own refusals: NodeOverlays that disagree, a missing PodTemplate
        result.findings.append(Finding("model", str(error)))
        return
    subject.model = model
    findings = result.findings

    for karpenter in model.pods_with(role="karpenter"):
        groups = {n.group for n in model.nodes_for(karpenter)}
        if groups != {"controller"}:
            findings.append(Finding(karpenter.name, f"may run on {sorted(groups)}, not only the controller group"))
    _from_mapping(findings, placement.install_time_failures(model), "no node that exists at install takes it")
    _from_mapping(findings, placement.missing_components(model), "NVIDIA components that cannot run there")
    _from_mapping(findings, placement.daemonsets_on_cpu_only_nodes(model), "would run on CPU-only nodes")
    _from_mapping(findings, placement.efa_plugin_placement(model), "EFA device plugin")
    findings += [Finding("capacity", m) for m in placement.capacity_mismatches(model)]
    classes = volumes.storage_classes(model, volumes.registered_storage_classes(run))
    _from_mapping(findings, volumes.zonal_volume_failures(model, classes), "zonal volume")
    _from_mapping(findings, host_engines.host_engine_failures(model), "DCGM host engines")
    _from_mapping(findings, host_engines.mig_change_failures(model), "MIG mode change")
    _from_mapping(findings, host_engines.mig_failure_repair_gaps(model), "failed MIG configuration")

    contract_pods = [p for p in model.pods if p.name.startswith("contract ")]
    findings += _landing(model, contract_pods, lambda p: p.name.removeprefix("contract "))
    named_pool = [p for p in model.pods if p.name.startswith("example ") or p.role == "warm-slice"]
    findings += _landing(model, named_pool, lambda p: p.spec["nodeSelector"]["gpu-eks/pool"])

    result.counts = {"pods": len(model.pods), "node shapes": len(model.nodes)}
