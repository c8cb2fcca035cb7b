"""Whether the program may make its deploy-time provider lookups (prices, a brought VPC's subnet zones).

`pulumi preview` and `pulumi up` make them. An offline render (tools.render, preflight, the tests) runs the program
under the model harness (preflight/model/harness.py), which sets GPU_EKS_LOOKUPS=off unless a test asks for the
lookups (its mocks then answer them); the program then uses what it knows offline (the price snapshot).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

LOOKUPS_ENV = "GPU_EKS_LOOKUPS"
OFF = "off"


def lookups_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """True at deploy time; False in an offline render."""
    return environ.get(LOOKUPS_ENV, "") != OFF
