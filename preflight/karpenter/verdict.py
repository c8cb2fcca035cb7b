"""What Karpenter's answer (preflight/karpenter/judge.py) means for a stack: findings, and every disagreement with
the Python placement model (preflight/placement/model.py), which stays the fast first pass.

Mandatory: Karpenter leaves a contract, warm-slice or EFA pod unschedulable; launches a pool's pod in another pool;
may launch a type the contract does not list; counts a different number of slices per node than the contract or the
model; or needs a different number of nodes than slices per node imply. Advisory: the model and Karpenter disagree on
anything else (a type the model and contract list that Karpenter would never launch, a pod the model places that
Karpenter does not).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from preflight.findings import Finding, Severity
from preflight.karpenter import judge
from preflight.karpenter.judge import PoolPlan, Scenario
from preflight.placement import model as placement

# Nodes one scenario needs, as slices per node imply (the model's answer).
EXPECTED_NODES = {"1": lambda plan: 1, "perNode": lambda plan: 1, "perNode+1": lambda plan: 2, "efa": lambda plan: 1}


@dataclass(frozen=True)
class Disagreement:
    """One question the Python model and Karpenter answer differently."""

    pool: str
    question: str
    model: str
    karpenter: str

    def line(self) -> str:
        return f"{self.question}: the Python model says {self.model}, Karpenter says {self.karpenter}"


@dataclass
class Verdict:
    findings: list[Finding] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)

    def add(self, subject: str, message: str, severity: Severity = "mandatory") -> None:
        self.findings.append(Finding(subject, message, severity))

    def disagree(self, disagreement: Disagreement, severity: Severity) -> None:
        self.disagreements.append(disagreement)
        self.add(f"pool {disagreement.pool}", disagreement.line(), severity)


def model_slices(model: Any, pool: str, resource: str) -> dict[str, int]:
    """instance type -> the slices per node the Python model says Karpenter counts (EC2 capacity with overlays)."""
    return {n.instance_type: int(n.karpenter_capacity.get(resource, 0)) for n in model.nodes if n.group == pool}


def _karpenter_slices(pool_view: Mapping[str, Any], resource: str) -> dict[str, int]:
    return {t: int(v["capacity"].get(resource, 0)) for t, v in pool_view.get("instanceTypes", {}).items()}


LIMIT_REASON = "exceed limits for nodepool"


def over_limit(plan: PoolPlan, scenario: Scenario) -> bool:
    """Whether the scenario asks for more slices than the pool's limit (contract `limit`, the NodePool's) allows: then
    Karpenter must leave the surplus pending, and does (sigs.k8s.io/karpenter scheduler: "all available instance
    types exceed limits for nodepool")."""
    limit = (plan.contract.get("limit") or {}).get(plan.contract["resourceName"])
    return limit is not None and len(scenario.pods) > int(limit)


def _expected_nodes(plan: PoolPlan, scenario: Scenario) -> int | None:
    if scenario.kind == "warm" and plan.warm is not None:
        return math.ceil(plan.warm[1] / plan.per_node)
    rule = EXPECTED_NODES.get(scenario.kind)
    return rule(plan) if rule else None


def judge_pool(
    verdict: Verdict,
    plan: PoolPlan,
    model: Any,
    output: Mapping[str, Any],
    scenarios: Sequence[Scenario],
    *,
    model_places: bool = True,
) -> None:
    """Check one pool's answers. `model_places`: the model found no landing failure for the pool's contract pod."""
    pool, contract = plan.pool, plan.contract
    resource = contract["resourceName"]
    promised: dict[str, int] = dict(contract["slicesPerNode"])
    view = output["pools"].get(pool)
    if view is None:
        verdict.add(f"pool {pool}", "Karpenter sees no NodePool of this name")
        return
    if view.get("error"):
        verdict.add(f"pool {pool}", f"Karpenter cannot list its instance types: {view['error']}")
        return
    karpenter = _karpenter_slices(view, resource)
    modelled = model_slices(model, pool, resource)
    for extra in sorted(set(karpenter) - set(promised)):
        verdict.add(f"pool {pool}", f"Karpenter may launch {extra}, which the contract does not list")
    for missing in sorted(set(promised) - set(karpenter)):
        verdict.disagree(
            Disagreement(pool, f"may the pool launch {missing}", "yes (a node shape of the pool)", "no: no offering"),
            "advisory",
        )
    for instance_type in sorted(set(karpenter) & set(promised)):
        counted = karpenter[instance_type]
        if counted != promised[instance_type]:
            verdict.add(
                f"pool {pool}",
                f"Karpenter counts {resource}={counted} per {instance_type} node, "
                f"the contract promises {promised[instance_type]}",
            )
        if instance_type in modelled and modelled[instance_type] != counted:
            verdict.disagree(
                Disagreement(pool, f"{resource} per {instance_type} node", str(modelled[instance_type]), str(counted)),
                "mandatory",
            )
    results = {s["name"]: s for s in output["scenarios"]}
    for scenario in scenarios:
        result = results.get(scenario.name)
        if result is None:
            verdict.add(f"pool {pool}", f"{scenario.name}: the judge did not answer")
            continue
        subject = f"pool {pool}: {scenario.name}"
        limited = over_limit(plan, scenario)
        for pod, reason in sorted(result["unschedulable"].items()):
            if limited and LIMIT_REASON in reason:
                continue  # the pool's limit at work, as it should be
            verdict.add(subject, f"Karpenter leaves {pod} unschedulable: {reason}")
            if model_places and scenario.kind in ("1", "efa"):
                verdict.disagree(
                    Disagreement(pool, f"does {pod} get a node", "yes", f"no ({reason})"),
                    "mandatory",
                )
        claims = result["nodeClaims"] or []
        for claim in claims:
            if claim["pool"] != pool:
                verdict.add(subject, f"Karpenter launches {len(claim['pods'])} pod(s) in pool {claim['pool']}")
            outside = sorted(set(claim["instanceTypes"]) - set(promised))
            if outside:
                verdict.add(subject, f"the NodeClaim allows {outside}, which the contract does not list")
            launch = claim["launch"]["instanceType"]
            if launch in promised and len(claim["pods"]) > promised[launch]:
                verdict.add(
                    subject,
                    f"Karpenter puts {len(claim['pods'])} slices on one {launch}, the contract promises "
                    f"{promised[launch]}",
                )
        expected = _expected_nodes(plan, scenario)
        if expected is not None and not limited and not result["unschedulable"] and len(claims) != expected:
            verdict.disagree(
                Disagreement(pool, f"nodes for {scenario.name}", str(expected), str(len(claims))), "mandatory"
            )


def summary(output: Mapping[str, Any], pool: str) -> list[str]:
    """One line per scenario of a pool: what Karpenter would launch."""
    lines = []
    for result in output["scenarios"]:
        if not result["name"].startswith(f"{pool}: "):
            continue
        launches: dict[tuple[str, str], int] = {}
        for claim in result["nodeClaims"] or []:
            key = (claim["launch"]["instanceType"], claim["launch"]["capacityType"])
            launches[key] = launches.get(key, 0) + 1
        what = ", ".join(f"{n}x {t} ({c})" for (t, c), n in sorted(launches.items())) or "nothing"
        stuck = f"; {len(result['unschedulable'])} unschedulable" if result["unschedulable"] else ""
        lines.append(f"{result['name']}: {what}{stuck}")
    return lines


def daemonsets(model: placement.ClusterModel) -> list[tuple[str, dict]]:
    """Every DaemonSet pod template of the stack (charts and GPU Operator operands): Karpenter adds the overhead of
    those that would run on a node it launches."""
    return [(p.name, dict(p.spec)) for p in model.pods if p.kind == "DaemonSet"]


def judge_stack(run, model, releases) -> tuple[Verdict, dict, list[judge.PoolPlan]]:
    """Run the judge once over every pool's scenarios; the verdict, Karpenter's raw answer and the plans."""
    plans = judge.pool_plans(run)
    scenarios = {plan.pool: judge.scenarios_for(plan) for plan in plans}
    data = judge.judge_input(run, daemonsets(model), releases, [s for group in scenarios.values() for s in group])
    output = judge.run_judge(data)
    verdict = Verdict()
    for plan in plans:
        contract_pod = next((p for p in model.pods if p.name == f"contract {plan.pool}"), None)
        places = contract_pod is not None and not placement.landing_failures(model, contract_pod, plan.pool)
        judge_pool(verdict, plan, model, output, scenarios[plan.pool], model_places=places)
    return verdict, output, plans
