"""The stacks a project holds: every `Pulumi.<stack>.yaml` beside `Pulumi.yaml`. This is the one list the tests, the
Makefile and the workflows use, so a stack a user adds is checked, previewed and preflighted without being named
anywhere else.

    python -m preflight.stacks [DIR]                  the stack names as a JSON list
    python -m preflight.stacks [DIR] --github-output  `stacks=<JSON list>`, for a job's $GITHUB_OUTPUT (matrix)

Standard library only: the workflow's matrix job runs it before anything is installed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

PREFIX, SUFFIX = "Pulumi.", ".yaml"


def stack_files(directory: Path) -> dict[str, Path]:
    """Stack name -> its config file, sorted by name. `Pulumi.yaml` itself is the project file, not a stack."""
    files = (p for p in directory.glob(f"{PREFIX}*{SUFFIX}") if p.name != f"Pulumi{SUFFIX}")
    return {p.name[len(PREFIX) : -len(SUFFIX)]: p for p in sorted(files)}


def stack_names(directory: Path) -> list[str]:
    return list(stack_files(directory))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preflight.stacks", description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", nargs="?", type=Path, default=Path.cwd())
    parser.add_argument("--github-output", action="store_true", help="print `stacks=<JSON>` for $GITHUB_OUTPUT")
    args = parser.parse_args(argv)
    names = json.dumps(stack_names(args.directory), separators=(",", ":"))
    print(f"stacks={names}" if args.github_output else names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
