"""Check that the machine about to run `pulumi` may reach the stack's Kubernetes API endpoint.

    python -m tools.api_access STACK EGRESS_IP

The Helm releases and Kubernetes objects are applied through the cluster's API, so the runner's egress IP
must be in the stack file's `gpu-eks:endpoint.publicAccessCidrs` (or the endpoint is private and the
runner sits inside the VPC). The workflows run this before `pulumi preview`/`up`, so a runner that cannot
reach the API fails in seconds instead of after pulumi-eks' 5-minute health wait ("unreachable cluster").
Exit 0 when allowed (or private-only, with a notice), 1 when not; messages use GitHub's `::error::` form.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import yaml


def check(stack: str, egress_ip: str, stack_file: Path) -> tuple[int, str]:
    """(exit code, message) for a runner with `egress_ip` deploying `stack` from `stack_file`."""
    ip = ipaddress.ip_address(egress_ip.strip())
    config = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
    endpoint = config.get("gpu-eks:endpoint") or {}
    if endpoint.get("publicAccess", True) is False:
        return 0, f"::notice::{stack}: private API endpoint only; this runner must be inside (or routed into) the VPC"
    cidrs = endpoint.get("publicAccessCidrs") or []
    if not any(ip in ipaddress.ip_network(cidr) for cidr in cidrs):
        return 1, (
            f"::error::{stack}: this runner's egress IP {ip} is not in gpu-eks:endpoint.publicAccessCidrs "
            f"{cidrs} of {stack_file.name}; run this job on a runner with a fixed egress IP (repository "
            f"variable PULUMI_RUNNER) and list that IP there"
        )
    return 0, f"{stack}: egress IP {ip} is allowed to reach the public API endpoint"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m tools.api_access STACK EGRESS_IP", file=sys.stderr)
        return 2
    stack, egress_ip = args
    code, message = check(stack, egress_ip, Path(f"Pulumi.{stack}.yaml"))
    print(message)
    return code


if __name__ == "__main__":
    sys.exit(main())
