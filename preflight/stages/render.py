"""Stage 1, render: run the real program for the stack under mocks (preflight/model/harness.py) and keep the run.

Bad config is not a finding: it stops preflight with the program's own one-line error (exit 2).
"""

from __future__ import annotations

import yaml

from components.common.parsing import ConfigError
from preflight.findings import StageResult
from preflight.model.harness import run_stack
from preflight.subject import CannotCheck, Subject

TITLE = "render the program offline"


def yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's several-line message as one line: where, and what it expected."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}; fix the YAML (quote values that contain ':', '[' or '{{')"


def check(subject: Subject, result: StageResult) -> None:
    if not subject.config_file.is_file():
        raise CannotCheck(
            f"{subject.stack}: no stack config file {subject.config_file}; "
            "allowed: an existing Pulumi.<stack>.yaml or --config FILE"
        )
    try:
        subject.run = run_stack(subject.stack, subject.config_file, overrides=subject.overrides or None)
    except ConfigError as error:
        raise CannotCheck(str(error)) from error
    except yaml.YAMLError as error:
        raise CannotCheck(
            f"{subject.stack}: {subject.config_file.name} is not valid YAML: {yaml_problem(error)}"
        ) from error
    run = subject.run
    result.counts = {
        "resources": len(run.resources),
        "component children": sum(1 for r in run.resources if r.component_urn),
    }
