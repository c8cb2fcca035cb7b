"""What a preflight stage reports: findings (one per failing object and reason) and the stage's counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# mandatory findings fail preflight (exit 1); advisory ones are printed and written to --json but do not, exactly
# as `pulumi preview --policy-pack` treats the pack's advisory policies.
Severity = Literal["mandatory", "advisory"]


@dataclass(frozen=True)
class Finding:
    """One problem: the object it is about (e.g. "release karpenter: Deployment karpenter") and why."""

    subject: str
    message: str
    severity: Severity = "mandatory"

    def line(self) -> str:
        """One line: a multi-line message (a policy's description, then its violation) joined with spaces."""
        message = " ".join(self.message.split())
        return f"{self.subject}: {message}" if self.subject else message


@dataclass
class StageResult:
    """The outcome of one stage: its findings, what it counted (objects validated, pods placed, ...) and its time."""

    stage: str
    title: str
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    # Set when the stage could not run because an earlier one failed (e.g. placement without rendered charts).
    skipped: str | None = None

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "mandatory"]

    @property
    def passed(self) -> bool:
        return self.skipped is None and not self.failed
