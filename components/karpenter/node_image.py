"""`gpu-eks:nodeImage` and a GPU pool's `nodeImage`: the Karpenter AMI alias of an EC2NodeClass.

Only `al2023` is accepted. Karpenter picks the AL2023 NVIDIA variant of an alias for instance types with GPUs by
itself (aws/karpenter-provider-aws v1.14.1 pkg/providers/amifamily/al2023.go: the `nvidia` variant carries the
requirement `karpenter.k8s.aws/instance-gpu-count Exists`), and our NVIDIA setup depends on that AMI: it ships
the driver and container toolkit the device plugin and the GPU Operator (driver and toolkit off) expect, and the
EC2NodeClass root volume is AL2023's. Bottlerocket's NVIDIA variant runs a device plugin of its own, which would
be a second one on every GPU node; AL2 and Windows have no place here.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from components import versions
from components.common.parsing import Parser, describe

NODE_IMAGE_FAMILY = "al2023"
# Karpenter's alias form (EC2NodeClass CRD: `^[a-zA-Z0-9]+@.+$`); AL2023 versions are amazon-eks-ami release tags.
ALIAS_PATTERN = re.compile(r"^(?P<family>[a-zA-Z0-9]+)@(?P<version>.+)$")
RELEASE_TAG_PATTERN = re.compile(r"^v(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})$")
# Follows every AMI release and so drifts every node on each one: allowed for throwaway stacks, never in the
# repository's (a test).
LATEST = "latest"
ALLOWED = (
    f"{NODE_IMAGE_FAMILY}@v<YYYYMMDD>, an awslabs/amazon-eks-ami release tag (e.g. {versions.DEFAULT_NODE_IMAGE}), "
    f"or {NODE_IMAGE_FAMILY}@{LATEST}"
)


def parse_node_image(parser: Parser, value: Any, key: str, kubernetes_version: str) -> str:
    """A node image alias that Karpenter can resolve for this Kubernetes version."""
    if not isinstance(value, str):
        raise parser.error(
            key,
            f"expected an AMI alias such as {versions.DEFAULT_NODE_IMAGE}, got {describe(value)}",
            f"allowed: {ALLOWED}",
        )
    match = ALIAS_PATTERN.match(value)
    if match is None:
        raise parser.error(key, f"{value!r} is not an AMI alias (family@version)", f"allowed: {ALLOWED}")
    family, version = match.group("family"), match.group("version")
    if family != NODE_IMAGE_FAMILY:
        raise parser.error(
            key,
            f"AMI family {family!r} is not supported: the NVIDIA setup needs the AL2023 NVIDIA AMI "
            "(Bottlerocket runs its own device plugin)",
            f"allowed: {ALLOWED}",
        )
    if version == LATEST:
        return value
    tag = RELEASE_TAG_PATTERN.match(version)
    if tag is None:
        raise parser.error(
            key, f"{version!r} is not an amazon-eks-ami release tag (v<YYYYMMDD>)", f"allowed: {ALLOWED}"
        )
    try:
        datetime.date(int(tag.group("year")), int(tag.group("month")), int(tag.group("day")))
    except ValueError:
        raise parser.error(key, f"{version!r} is not a date", f"allowed: {ALLOWED}") from None
    first = versions.AL2023_FIRST_RELEASE_FOR_KUBERNETES[kubernetes_version]
    # Tags are v + YYYYMMDD, so text order is date order.
    if version < first:
        raise parser.error(
            key,
            f"{version} has no AL2023 AMIs for Kubernetes {kubernetes_version} (its first release is {first})",
            f"allowed: {NODE_IMAGE_FAMILY}@{first} or later for Kubernetes {kubernetes_version}",
        )
    return value
