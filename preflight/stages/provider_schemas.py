"""Stage 4, provider schemas: every registration's inputs against its provider's schema at the pinned version
(unknown properties, types, required inputs, enums, nested types, provider config), as the provider would check
them at `pulumi preview`. The schemas are preflight/data/provider-schemas (their SOURCE.txt says how they were made).
"""

from __future__ import annotations

from preflight.findings import Finding, StageResult
from preflight.subject import Subject
from preflight.validate.provider_schema import SchemaSet

TITLE = "check every registration against its provider schema"

_schemas: SchemaSet | None = None


def schemas() -> SchemaSet:
    global _schemas
    if _schemas is None:
        _schemas = SchemaSet.load()
    return _schemas


def check(subject: Subject, result: StageResult) -> None:
    run = subject.need_run()
    checked = skipped = 0
    for registration in run.resources:
        if schemas().skip_reason_of(registration):
            skipped += 1
            continue
        checked += 1
        result.findings += [
            Finding(f"{registration.type} {registration.name}", p) for p in schemas().problems(registration)
        ]
    result.counts = {"registrations": checked, "without a provider schema": skipped}
