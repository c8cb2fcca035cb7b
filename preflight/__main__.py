"""Every offline check on one stack, before `pulumi up`:

    python -m preflight STACK [--config FILE] [--json FILE] [--policy-config FILE] [--stage NAME ...]
    python -m preflight path/to/Pulumi.STACK.yaml          (a stack file kept anywhere)

Stages, in order: render (the program under mocks), helm (every release through its pinned chart with real Helm),
objects (Kubernetes and CRD schema and CEL), provider-schemas, placement (every pod against the nodes the stack can
have), karpenter (Karpenter's own scheduler judges every GPU pool; needs Go), policy (the policy pack, mandatory vs
advisory), capacity (the controller group at minSize).
A progress line per stage goes to stderr, the report to stdout. Exit codes: 0 every stage passed, 1 a check failed,
2 the stack cannot be checked (bad config, missing chart sources): one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from preflight.report import cannot_check_report, json_report, passed, terminal_report
from preflight.runner import STAGE_NAMES, STAGES, Stage, run_stages
from preflight.subject import CannotCheck, Subject

EXIT_PASSED, EXIT_FAILED, EXIT_CANNOT_CHECK = 0, 1, 2
REPO_ROOT = Path(__file__).resolve().parents[1]


def stack_and_file(stack: str, config: Path | None) -> tuple[str, Path]:
    """`dev` -> (dev, <repo>/Pulumi.dev.yaml); `some/Pulumi.team.yaml` -> (team, that file); --config wins."""
    as_path = Path(stack)
    if config is None and as_path.suffix in (".yaml", ".yml") and as_path.name.startswith("Pulumi."):
        return as_path.name[len("Pulumi.") :].rsplit(".", 1)[0], as_path
    return stack, config or REPO_ROOT / f"Pulumi.{stack}.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preflight", description=__doc__.split("\n\n")[0])
    parser.add_argument("stack", help="stack name (reads Pulumi.<stack>.yaml) or a path to a Pulumi.<stack>.yaml")
    parser.add_argument("--config", type=Path, help="the stack config file (default Pulumi.<stack>.yaml in the repo)")
    parser.add_argument("--json", type=Path, help="write every finding of every stage to this file")
    parser.add_argument("--policy-config", type=Path, help="the policy pack config (JSON), as --policy-pack-config")
    parser.add_argument("--stage", action="append", choices=STAGE_NAMES, help="run only these stages (and render)")
    args = parser.parse_args(argv)

    stack, config_file = stack_and_file(args.stack, args.config)
    try:
        policy_config = json.loads(args.policy_config.read_text()) if args.policy_config else None
    except (OSError, ValueError) as error:
        print(f"{stack}: --policy-config {args.policy_config}: {error}", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    chosen = [s for s in STAGES if s.name == "render" or not args.stage or s.name in args.stage]
    subject = Subject(stack, config_file, policy_config=policy_config)

    def progress(number: int, stage: Stage) -> None:
        print(f"[{number}/{len(chosen)}] {stage.name}: {stage.title} …", file=sys.stderr, flush=True)

    try:
        results = run_stages(subject, chosen, on_start=progress)
    except CannotCheck as error:
        print(str(error), file=sys.stderr)
        if args.json:  # CI still gets a report per stack: the one line, as its error
            _write(args.json, cannot_check_report(stack, config_file, str(error)))
        return EXIT_CANNOT_CHECK
    print("\n".join(terminal_report(stack, config_file, results)))
    if args.json:
        _write(args.json, json_report(stack, config_file, results))
    return EXIT_PASSED if passed(results) else EXIT_FAILED


def _write(path: Path, report: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    sys.exit(main())
