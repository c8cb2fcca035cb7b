"""The two forms of a preflight result: a short report a person reads in a terminal, and the full findings as JSON
for CI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from preflight.findings import StageResult

# How many findings of a stage the terminal report shows; --json has them all.
SHOWN_PER_STAGE = 3


def passed(results: list[StageResult]) -> bool:
    return all(r.passed for r in results)


def _counts(result: StageResult) -> str:
    return ", ".join(f"{value} {name}" for name, value in result.counts.items())


def terminal_report(stack: str, config_file: Path, results: list[StageResult]) -> list[str]:
    lines = [f"preflight {stack} ({config_file})"]
    width = max(len(r.stage) for r in results) if results else 0
    for result in results:
        mark = "✓" if result.passed else ("–" if result.skipped else "✗")
        detail = f"skipped: {result.skipped}" if result.skipped else _counts(result)
        lines.append(f"  {mark} {result.stage:<{width}}  {detail}  ({result.seconds:.1f} s)")
        shown = result.failed[:SHOWN_PER_STAGE]
        lines += [f"      {finding.line()}" for finding in shown]
        if len(result.failed) > len(shown):
            lines.append(f"      … and {len(result.failed) - len(shown)} more (--json FILE has them all)")
        advisory = [f for f in result.findings if f.severity == "advisory"]
        if advisory:
            lines.append(f"      advisory: {len(advisory)} (first: {advisory[0].line()})")
    failed = [r for r in results if not r.passed]
    findings = sum(len(r.failed) for r in results)
    if failed:
        lines.append(
            f"FAILED: {len(failed)} of {len(results)} stages ({', '.join(r.stage for r in failed)}), "
            f"{findings} findings"
        )
    else:
        lines.append(f"passed: {len(results)} stages in {sum(r.seconds for r in results):.1f} s")
    return lines


def json_report(stack: str, config_file: Path, results: list[StageResult]) -> dict[str, Any]:
    return {
        "stack": stack,
        "configFile": str(config_file),
        "passed": passed(results),
        "stages": [
            {
                "stage": r.stage,
                "title": r.title,
                "passed": r.passed,
                "skipped": r.skipped,
                "seconds": round(r.seconds, 3),
                "counts": r.counts,
                "findings": [{"subject": f.subject, "message": f.message, "severity": f.severity} for f in r.findings],
            }
            for r in results
        ],
    }


def cannot_check_report(stack: str, config_file: Path, error: str) -> dict[str, Any]:
    """The --json report of a stack preflight could not check (exit 2): its one-line reason, no stages."""
    return {"stack": stack, "configFile": str(config_file), "passed": False, "error": error, "stages": []}


def _cell(stage: dict[str, Any] | None) -> str:
    if stage is None or stage["skipped"]:
        return "–"
    failed = [f for f in stage["findings"] if f["severity"] == "mandatory"]
    return "✓" if stage["passed"] else f"✗ {len(failed)}"


def markdown_summary(reports: list[dict[str, Any]]) -> list[str]:
    """One table for a PR comment from several --json reports: a row per stack, a column per stage, then the
    first failing finding of each failed stage (or the one line of a stack that could not be checked)."""
    if not reports:
        return []
    stages = list(dict.fromkeys(s["stage"] for report in reports for s in report["stages"])) or ["render"]
    lines = ["| stack | " + " | ".join(stages) + " |", "|---|" + "---|" * len(stages)]
    for report in reports:
        by_stage = {stage["stage"]: stage for stage in report["stages"]}
        cells = [_cell(by_stage.get(name)) for name in stages]
        if report.get("error"):
            cells = ["✗ cannot check"] + ["–"] * (len(stages) - 1)
        lines.append(f"| {report['stack']} | " + " | ".join(cells) + " |")
    first = [f"- {report['stack']}: cannot check: {report['error']}" for report in reports if report.get("error")]
    first += [
        f"- {report['stack']} / {stage['stage']}: {finding['subject']}: {finding['message']}"
        for report in reports
        for stage in report["stages"]
        for finding in stage["findings"][:1]
        if finding["severity"] == "mandatory"
    ]
    return lines + ([""] + first if first else [])
