"""An independent oracle: how Karpenter v1.14.1 splits an AL2023 EC2NodeClass `userData` into MIME parts.

Re-implemented from aws/karpenter-provider-aws@v1.14.1 (read with `git show v1.14.1:<path>`), not from the product:

* pkg/providers/amifamily/bootstrap/nodeadm.go `parseUserData`: empty -> no parts; after `strings.TrimSpace`, a
  `MIME-Version:` or `Content-Type:` prefix -> `mime.NewArchive`; else `yaml.Unmarshal` (sigs.k8s.io/yaml: YAML
  -> JSON -> `json.Unmarshal`) into `map[string]any`: success -> one NodeConfig part, failure -> one shell part.
  `json.Unmarshal` of JSON `null` (a document of only comments) into a map pointer succeeds, so that is NodeConfig.
* pkg/providers/amifamily/bootstrap/mime/mime.go `NewArchive`: `net/mail.ReadMessage`, `mime.ParseMediaType` of
  its Content-Type, which must be `multipart/*`, then `multipart.NewReader(body, boundary)`; each part keeps its
  own Content-Type header. Python's `email` parser stands in for Go's net/mail + mime/multipart.
"""

from __future__ import annotations

import email
import email.message
import email.policy

import yaml

KARPENTER_SHELL_SCRIPT = 'text/x-shellscript; charset="us-ascii"'
KARPENTER_NODE_CONFIG = "application/node.eks.aws"


class NotAnArchive(ValueError):
    """Karpenter's mime.NewArchive would return an error (the node class never gets launch templates)."""


def _yaml_map_or_null(text: str) -> bool:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return document is None or isinstance(document, dict)


def karpenter_user_data_parts(user_data: str) -> list[tuple[str, str]]:
    """(content type, content) of each part Karpenter puts before its own NodeConfig."""
    if user_data == "":
        return []
    trimmed = user_data.strip()
    if trimmed.startswith("MIME-Version:") or trimmed.startswith("Content-Type:"):
        message = email.message_from_string(user_data, policy=email.policy.compat32)
        if message.get_content_maintype() != "multipart" or message.get_param("boundary") is None:
            raise NotAnArchive(f"archive is not in multipart format: {message.get_content_type()}")
        payload = message.get_payload()
        if not isinstance(payload, list) or message.defects:
            raise NotAnArchive(f"parsing content: {message.defects}")
        parts: list[email.message.Message] = [part for part in payload if isinstance(part, email.message.Message)]
        return [(str(part["Content-Type"]), str(part.get_payload())) for part in parts]
    if _yaml_map_or_null(user_data):
        return [(KARPENTER_NODE_CONFIG, user_data)]
    return [(KARPENTER_SHELL_SCRIPT, user_data)]
