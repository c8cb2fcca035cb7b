"""Stage 6, policy: the CrossGuard policy pack (policies/) over every registration, run by the pack's own code
through pulumi_policy's analyzer exactly as `pulumi preview --policy-pack policies` drives it (preflight/policy.py):
mandatory violations fail preflight, advisory ones are reported and do not.
"""

from __future__ import annotations

from preflight.findings import Finding, Severity, StageResult
from preflight.policy import EnforcementLevel, analyze
from preflight.subject import Subject

TITLE = "run the policy pack over every registration"


def check(subject: Subject, result: StageResult) -> None:
    run = subject.need_run()
    names = {r.urn: f"{r.type} {r.name}" for r in run.resources}
    violations = analyze(run, user_config=subject.policy_config)
    for violation in violations:
        severity: Severity = "mandatory" if violation.level == EnforcementLevel.MANDATORY else "advisory"
        where = names.get(violation.urn, "stack")
        result.findings.append(Finding(where, f"[{violation.policy}] {violation.message}", severity))
    result.counts = {
        "registrations": len(run.resources),
        "mandatory": sum(1 for f in result.findings if f.severity == "mandatory"),
        "advisory": sum(1 for f in result.findings if f.severity == "advisory"),
    }
