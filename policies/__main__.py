"""Policy pack entry point: the Pulumi CLI runs this file; it serves ALL_POLICIES over gRPC and blocks.

Never import this module (tests import `gpu_eks_policies` instead): constructing PolicyPack starts the
analyzer server and does not return.
"""

import sys
from pathlib import Path

# The CLI starts the pack from this directory; the policies read the project's pure-data modules
# (components.gpu.catalog, components.gpu.nvidia_config, the label names), so the repository root must be
# importable too.
_PACK_DIR = Path(__file__).resolve().parent
for _path in (_PACK_DIR, _PACK_DIR.parent):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from gpu_eks_policies import ALL_POLICIES, PACK_DESCRIPTION, PACK_NAME  # noqa: E402

PolicyPack(
    name=PACK_NAME,
    policies=ALL_POLICIES,
    # Only applies to a policy that sets no level of its own; every policy here sets one.
    enforcement_level=EnforcementLevel.ADVISORY,
    description=PACK_DESCRIPTION,
)
