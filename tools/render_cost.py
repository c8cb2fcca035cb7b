"""What an offline render costs against its floor: importing the SDK modules it registers from.

    python -m tools.render_cost [STACK ...] [--rounds N]     (make render-cost; default dev and prod, 3 rounds)

The floor is a fresh interpreter importing exactly the `pulumi*` modules a render of the stack loads (read from that
render's own process), which no render can beat; the cost is `python -m tools.render STACK` end to end. Both run in
fresh processes, alternating, in one run of this command; each is measured in CPU seconds of its process and the
best of N rounds compared, so the ratio holds on a busy machine where absolute (wall) times do not. The project's
bar is a ratio of at most 1.5.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BAR = 1.5

_LOADED = """
import sys, runpy
sys.argv = ["tools.render", {stack!r}, "--out", {out!r}]
try:
    runpy.run_module("tools.render", run_name="__main__")
except SystemExit:
    pass
print("\\n".join(sorted(m for m in sys.modules if m.split(".")[0].startswith("pulumi"))), file=sys.stderr)
"""


def sdk_modules(stack: str, out: str) -> list[str]:
    """The pulumi* modules a render of `stack` imports, as its own process saw them."""
    done = subprocess.run(
        [sys.executable, "-c", _LOADED.format(stack=stack, out=out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in done.stderr.splitlines() if line.startswith("pulumi")]


def seconds(command: list[str]) -> float:
    """CPU seconds (user + system) the command's process used: unlike wall time, barely moved by other work on
    the machine."""
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    return usage.ru_utime + usage.ru_stime


def measure(stack: str, rounds: int) -> tuple[float, float]:
    """(best floor, best render) seconds over `rounds` alternating runs."""
    with tempfile.TemporaryDirectory() as out:
        modules = sdk_modules(stack, out)
        floor = [sys.executable, "-c", "import " + ", ".join(modules)]
        render = [sys.executable, "-m", "tools.render", stack, "--out", out]
        floors, renders = [], []
        for _ in range(rounds):
            floors.append(seconds(floor))
            renders.append(seconds(render))
    return min(floors), min(renders)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.render_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("stacks", nargs="*", default=["dev", "prod"])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    worst = 0.0
    for stack in args.stacks:
        floor, render = measure(stack, args.rounds)
        worst = max(worst, render / floor)
        print(f"{stack}: SDK import floor {floor:.2f} s, render {render:.2f} s, ratio {render / floor:.2f}")
    print(f"worst ratio {worst:.2f} (bar {BAR})")
    return 0 if worst <= BAR else 1


if __name__ == "__main__":
    sys.exit(main())
