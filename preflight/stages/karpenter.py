"""Stage karpenter, right after placement: Karpenter's own scheduler (v1.14.1, built from source in
preflight/karpenter/judge/) decides, offline, what it would launch for every GPU pool: the contract pod at 1, at one
node's slicesPerNode and one more, the warm-slice buffer, and an EFA pool's full EFA + huge pages request. It fails
when Karpenter leaves a pod unschedulable, launches outside the pool, may launch a type the contract does not list, or
disagrees with the placement model (the fast first pass) on slices per node; every other disagreement with the model is
advisory. Needs Go (docs/karpenter-judge.md); without it the stage says so in one line.
"""

from __future__ import annotations

from preflight.findings import StageResult
from preflight.karpenter import judge
from preflight.karpenter.verdict import judge_stack
from preflight.subject import Subject

TITLE = "judge every GPU pool with Karpenter's own scheduler"


def check(subject: Subject, result: StageResult) -> None:
    run = subject.need_run()
    model = subject.need_model()
    releases = subject.need_releases()
    try:
        verdict, output, plans = judge_stack(run, model, releases)
    except judge.JudgeUnavailable as unavailable:
        result.skipped = str(unavailable)
        return
    result.findings += verdict.findings
    result.counts = {
        "pools": len(plans),
        "scenarios": len(output["scenarios"]),
        "NodeClaims": sum(len(s["nodeClaims"] or []) for s in output["scenarios"]),
        "disagreements with the model": len(verdict.disagreements),
    }
