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
        raise CannotCheck(f"{subject.stack}: {subject.config_file.name} is not valid YAML: {error}") from error
    run = subject.run
    result.counts = {
        "resources": len(run.resources),
        "component children": sum(1 for r in run.resources if r.component_urn),
    }
