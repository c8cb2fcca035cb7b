"""Reading IAM policy documents in tests: statements, actions and resources whether written as a string or a list."""

from __future__ import annotations

from typing import Any


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def statements_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements of a policy document, as a list."""
    return _as_list(document["Statement"])


def actions_of(document: dict[str, Any]) -> set[str]:
    """Every action named by any statement of ``document`` (string or list ``Action``)."""
    return {action for statement in statements_of(document) for action in _as_list(statement.get("Action", []))}


def resources_of(statement: dict[str, Any]) -> list[str]:
    """The ``Resource`` of one statement, as a list."""
    return _as_list(statement.get("Resource", []))
