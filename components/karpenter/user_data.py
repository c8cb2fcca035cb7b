"""EC2NodeClass `userData` as an explicit MIME multi-part archive: every part says what it is.

Why: for AL2023 (nodeadm) Karpenter decides what a non-MIME `userData` is by *trying to parse it as YAML*: if it
parses into a map it becomes a NodeConfig part, else a shell script (aws/karpenter-provider-aws@v1.14.1
pkg/providers/amifamily/bootstrap/nodeadm.go `parseUserData`, the `yaml.Unmarshal(..., map[string]any)` fallback).
So a script that is only comments, or gains one `key: value` line, is handed to nodeadm as a NodeConfig and the
node never joins. A `userData` that starts with `MIME-Version:` or `Content-Type:` is instead read as an archive
(`mime.NewArchive`, pkg/providers/amifamily/bootstrap/mime/mime.go) whose parts keep the content type we give them,
and Karpenter appends its own NodeConfig part after ours. So every node class this program renders carries MIME.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

# The content types Karpenter itself writes (mime.go ContentTypeShellScript, ContentTypeNodeConfig).
SHELL_SCRIPT = 'text/x-shellscript; charset="us-ascii"'
NODE_CONFIG = "application/node.eks.aws"
PartKind = Literal["script", "node-config"]
CONTENT_TYPES: dict[PartKind, str] = {"script": SHELL_SCRIPT, "node-config": NODE_CONFIG}
# Any token works (RFC 2046); ours cannot appear in a script by accident, and `mime_user_data` checks it does not.
BOUNDARY = "gpu-eks-user-data-boundary"
# What Karpenter looks for (after trimming whitespace) to take userData as an archive instead of guessing.
MIME_PREFIXES = ("MIME-Version:", "Content-Type:")


@dataclass(frozen=True)
class UserDataPart:
    """One part of a node's user data: a shell script cloud-init runs, or a nodeadm NodeConfig."""

    kind: PartKind
    content: str


def is_mime(user_data: str) -> bool:
    """Whether Karpenter reads `user_data` as a MIME archive rather than guessing its type (nodeadm.go)."""
    return user_data.strip().startswith(MIME_PREFIXES)


def mime_user_data(parts: Sequence[UserDataPart]) -> str:
    """The MIME multi-part archive of `parts`, in order, with LF line ends (as Karpenter serialises its own).

    Each part's content is kept byte for byte: the line break before a boundary belongs to the boundary
    (RFC 2046 5.1.1), so a part ending in a newline keeps it.
    """
    if not parts:
        raise ValueError("user data needs at least one part")
    lines = ["MIME-Version: 1.0", f'Content-Type: multipart/mixed; boundary="{BOUNDARY}"', ""]
    for part in parts:
        if part.kind not in CONTENT_TYPES:
            raise ValueError(f"unknown user data part kind {part.kind!r}; allowed: {', '.join(CONTENT_TYPES)}")
        if f"--{BOUNDARY}" in part.content:
            raise ValueError(f"a user data part contains the MIME boundary --{BOUNDARY}")
        content = part.content if part.content.endswith("\n") else f"{part.content}\n"
        lines += [f"--{BOUNDARY}", f"Content-Type: {CONTENT_TYPES[part.kind]}", "", content]
    lines.append(f"--{BOUNDARY}--")
    return "\n".join(lines) + "\n"
