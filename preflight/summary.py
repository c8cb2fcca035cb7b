"""The preflight section of a pull-request comment, from the --json reports of every stack:

python -m preflight.summary build/preflight/*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from preflight.report import markdown_summary


def main(argv: list[str] | None = None) -> int:
    files = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    reports = [json.loads(f.read_text()) for f in files]
    print("\n".join(["### Preflight", "", *markdown_summary(reports)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
