"""An independent reading of Karpenter's generated pricing files, an oracle for components/gpu/prices_data.py.

tools/regen_prices.py reads `zz_generated.pricing_*.go` with regular expressions over gofmt's layout. This reads
the same Go map literal another way, so a bug in the generator cannot reproduce itself here: the comments are
dropped, the composite literal's type (`map[string]map[ec2types.InstanceType]float64`) is replaced by a plain
brace, and what remains (`{"region": {"type": 1.23, ...}, ...}` with trailing commas) is a Python dict literal,
evaluated by `ast.literal_eval`. Upstream: aws/karpenter-provider-aws v1.14.1 pkg/providers/pricing/.
"""

from __future__ import annotations

import ast
import re

_MAP_START = re.compile(r"=\s*map\[string\]map\[ec2types\.InstanceType\]float64\s*\{")


def on_demand_prices(go_source: str) -> dict[str, dict[str, float]]:
    """Region -> instance type -> USD per hour, exactly as the Go file's one map literal says."""
    start = _MAP_START.search(go_source)
    if start is None:
        raise ValueError("no map[string]map[ec2types.InstanceType]float64 literal")
    literal = "{" + go_source[start.end() :]
    # Line comments only: the literal holds no string with `//` in it (regions and instance type names).
    literal = "\n".join(line.split("//", 1)[0] for line in literal.splitlines())
    value = ast.literal_eval(literal.strip())
    if not isinstance(value, dict):
        raise ValueError("the map literal is not a dict")
    return {region: {itype: float(price) for itype, price in table.items()} for region, table in value.items()}
