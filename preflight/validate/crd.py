"""Validate Kubernetes custom resources against their CRDs the way the API server would, offline.

Role: test support. Components render Karpenter objects (NodePool, EC2NodeClass, NodeOverlay,
NodeClaim) as plain dicts; tests feed them to :class:`CrdValidator` so a shape the API server would
reject fails in ``pytest`` instead of at ``pulumi up``. The CRDs are read from a folder given by the
caller (tests pass ``upstream_dir() / "karpenter"``), never copied into the project, and this module
does not import pytest.

What is checked, in the API server's order (apiextensions-apiserver create path):

1. Decoding: the ``apiVersion``/``kind`` pair must be served by a loaded CRD; fields the schema does
   not know are reported (``--validate=strict``) and pruned; ``metadata.name`` must be a DNS-1123
   subdomain (the rest of ``metadata`` belongs to ObjectMeta and is not schema-checked).
2. Defaulting on a deep copy: non-nullable nulls without a default are dropped, then ``default:``
   values are filled in, recursively (a defaulted object gets its own nested defaults).
3. OpenAPI v3 structural-schema validation of the defaulted copy (type, int-or-string, enum,
   pattern, lengths, bounds, required, list-type set/map uniqueness, ``date-time`` format, ...).
4. ``x-kubernetes-validations`` CEL rules, evaluated with cel-python on the defaulted copy, with
   ``self`` bound to the value at the rule's schema node. As in the API server, CEL is skipped when
   step 3 found a *blocking* error (wrong type, required, enum, too long, too many), and one notice
   says so. Transition rules (those reading ``oldSelf``) need an old object and are skipped and
   counted, never evaluated.

A rule that cannot be compiled, or that calls a function this module does not implement, raises
:class:`CelRuleError` when the CRDs are loaded: a rule is never silently passed. A rule whose
evaluation fails *because of the object* (``int('x')``, a missing key) is a violation, because the
API server rejects the object in that case too.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import celpy
import celpy.celtypes as celtypes
import lark
import re2
import yaml
from celpy.evaluation import CELEvalError

from preflight import yaml_cache

__all__ = [
    "KUBERNETES_CEL_FUNCTIONS",
    "CelRuleError",
    "CompiledRule",
    "CrdValidator",
    "RuleCounts",
    "compile_rule",
    "is_transition_rule",
]

ROOT_PATH = "<root>"
CEL_SKIPPED_NOTICE = (
    "some validation rules were not checked because the object was invalid; "
    "correct the existing errors to complete validation"
)
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
# Go's strconv.ParseInt(s, 10, 64), which CEL-go's int(string) uses: no spaces, no '_' separators
# (Python's int() accepts both, so it cannot be used as is).
_GO_DECIMAL_INT = re.compile(r"^[+-]?[0-9]+$")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# strfmt "date-time" accepts RFC 3339 and a few ISO 8601 reduced-precision/local-time layouts.
_DATE_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$")


class CelRuleError(Exception):
    """A CEL rule cannot be compiled or evaluated for a reason that is not the object's fault."""


# ---------------------------------------------------------------------------------------------
# Kubernetes CEL library functions that cel-python lacks or implements with different semantics.
# Every function here is called by at least one rule of the pinned Karpenter CRDs, except the
# small siblings noted below (kept because they share the implementation and are tested).
# ---------------------------------------------------------------------------------------------


def _no_overload(name: str, *args: Any) -> CELEvalError:
    kinds = ", ".join(type(a).__name__ for a in args)
    return CELEvalError(f"found no matching overload for '{name}' applied to ({kinds})")


@functools.lru_cache(maxsize=256)
def _re2(pattern: str) -> Any:
    """Compile an RE2 pattern once; Kubernetes (Go regexp, CEL-go) uses RE2 syntax, not Python's."""
    return re2.compile(pattern)


def _re2_error_text(exc: Exception) -> str:
    detail = exc.args[0] if exc.args else exc
    return detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)


def _cel_find(text: Any, pattern: Any) -> Any:
    """Kubernetes regex library ``<string>.find(<regex>)``: the first match, or '' when none."""
    if not isinstance(text, str) or not isinstance(pattern, str):
        return _no_overload("find", text, pattern)
    try:
        match = _re2(pattern).search(text)
    except re2.error as exc:
        return CELEvalError(f"invalid regex '{pattern}': {_re2_error_text(exc)}")
    return celtypes.StringType(match.group(0) if match else "")


def _cel_find_all(text: Any, pattern: Any, limit: Any = None) -> Any:
    """Kubernetes regex library ``findAll(<regex>[, <limit>])``: all matches (limit < 0 = all)."""
    if not isinstance(text, str) or not isinstance(pattern, str):
        return _no_overload("findAll", text, pattern)
    try:
        compiled = _re2(pattern)
    except re2.error as exc:
        return CELEvalError(f"invalid regex '{pattern}': {_re2_error_text(exc)}")
    matches = [m.group(0) for m in compiled.finditer(text)]
    if limit is not None:
        if not isinstance(limit, int) or isinstance(limit, bool):
            return _no_overload("findAll", text, pattern, limit)
        if limit >= 0:
            matches = matches[:limit]
    return celtypes.ListType([celtypes.StringType(m) for m in matches])


def _cel_matches(text: Any, pattern: Any) -> Any:
    """CEL ``matches``: RE2, unanchored (a partial match is enough), like CEL-go."""
    if not isinstance(text, str) or not isinstance(pattern, str):
        return _no_overload("matches", text, pattern)
    try:
        return celtypes.BoolType(_re2(pattern).search(text) is not None)
    except re2.error as exc:
        return CELEvalError(f"invalid regex '{pattern}': {_re2_error_text(exc)}")


def _cel_split(text: Any, separator: Any, limit: Any = None) -> Any:
    """Kubernetes strings library ``split(sep[, n])`` with Go ``strings.SplitN`` semantics.

    An empty separator splits into characters (Python raises); n == 0 gives an empty list;
    n < 0 means no limit.
    """
    if not isinstance(text, str) or not isinstance(separator, str):
        return _no_overload("split", text, separator)
    n = -1
    if limit is not None:
        if not isinstance(limit, int) or isinstance(limit, bool):
            return _no_overload("split", text, separator, limit)
        n = int(limit)
    if n == 0:
        parts: list[str] = []
    elif separator == "":
        chars = list(text)
        parts = chars if n < 0 or n >= len(chars) else chars[: n - 1] + ["".join(chars[n - 1 :])]
    else:
        parts = text.split(separator) if n < 0 else text.split(separator, n - 1)
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


def _ascii_case(name: str, table: dict[int, int]) -> Any:
    def convert(text: Any) -> Any:
        if not isinstance(text, str):
            return _no_overload(name, text)
        # Kubernetes' lowerAscii/upperAscii leave non-ASCII letters alone; str.lower() would not.
        return celtypes.StringType(text.translate(table))

    convert.__doc__ = f"Kubernetes strings library ``{name}()``: ASCII-only case mapping."
    return convert


_LOWER_ASCII = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_UPPER_ASCII = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}


def _cel_join(items: Any, separator: Any = "") -> Any:
    """Kubernetes strings library ``<list(string)>.join([sep])``."""
    if not isinstance(items, list) or not isinstance(separator, str):
        return _no_overload("join", items, separator)
    if not all(isinstance(i, str) for i in items):
        return _no_overload("join", items, separator)
    return celtypes.StringType(separator.join(items))


def _cel_int(value: Any) -> Any:
    """CEL ``int()``; from a string it parses like Go's ``strconv.ParseInt(s, 10, 64)``."""
    if isinstance(value, str):
        if not _GO_DECIMAL_INT.match(value):
            return CELEvalError(f"cannot convert string '{value}' to int")
        number = int(value)
        if not _INT64_MIN <= number <= _INT64_MAX:
            return CELEvalError(f"int '{value}' is out of the int64 range")
        return celtypes.IntType(number)
    if isinstance(value, float):
        if value != value or not _INT64_MIN <= value <= _INT64_MAX:  # NaN or out of range
            return CELEvalError(f"double {value!r} is out of the int64 range")
        return celtypes.IntType(int(value))  # CEL truncates toward zero, as int() does
    return celtypes.IntType(value)


# Functions bound into every program, overriding cel-python's where semantics differ.
KUBERNETES_CEL_FUNCTIONS: dict[str, Any] = {
    "find": _cel_find,
    "findAll": _cel_find_all,
    "matches": _cel_matches,
    "split": _cel_split,
    "lowerAscii": _ascii_case("lowerAscii", _LOWER_ASCII),
    "upperAscii": _ascii_case("upperAscii", _UPPER_ASCII),
    "join": _cel_join,
    "int": _cel_int,
}
# Macros are expanded by the evaluator, not looked up as functions.
_CEL_MACROS = frozenset({"has", "all", "exists", "exists_one", "map", "filter"})
_KNOWN_FUNCTIONS = frozenset(celpy.base_functions) | frozenset(KUBERNETES_CEL_FUNCTIONS) | _CEL_MACROS
# Type identifiers CEL lets a rule name directly, e.g. ``type(self) == string``.
_TYPE_IDENTIFIERS = frozenset({"int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type"})
_RULE_VARIABLES = frozenset({"self", "oldSelf"})

_ENVIRONMENT = celpy.Environment()


# ---------------------------------------------------------------------------------------------
# Rule compilation
# ---------------------------------------------------------------------------------------------


def _identifiers(ast: lark.Tree) -> tuple[set[str], set[str], set[str]]:
    """Return (function names called, variable names read, macro-bound variable names)."""
    functions: set[str] = set()
    variables: set[str] = set()
    bound: set[str] = set()
    for node in ast.iter_subtrees():
        if node.data == "ident_arg":  # f(args)
            functions.add(str(node.children[0]))
        elif node.data == "member_dot_arg":  # target.f(args)
            name = str(node.children[1])
            functions.add(name)
            if name in _CEL_MACROS and len(node.children) > 2 and node.children[2] is not None:
                first_arg = node.children[2].children[0]
                bound.update(str(t.children[0]) for t in first_arg.iter_subtrees() if t.data == "ident")
        elif node.data in ("dot_ident", "dot_ident_arg"):
            raise CelRuleError("leading-dot (package-qualified) names are not supported")
        elif node.data == "ident":
            variables.add(str(node.children[0]))
    return functions, variables, bound


def is_transition_rule(rule: str) -> bool:
    """True when the rule reads ``oldSelf``, i.e. it only means something on update."""
    try:
        ast = _ENVIRONMENT.compile(rule)
    except Exception as exc:
        raise CelRuleError(f"cannot parse CEL rule {rule!r}: {exc}") from exc
    return "oldSelf" in _identifiers(ast)[1]


def _compile_expression(text: str, what: str) -> Any:
    try:
        ast = _ENVIRONMENT.compile(text)
    except Exception as exc:
        raise CelRuleError(f"cannot parse CEL {what} {text!r}: {exc}") from exc
    functions, variables, bound = _identifiers(ast)
    unknown_functions = sorted(functions - _KNOWN_FUNCTIONS)
    if unknown_functions:
        raise CelRuleError(
            f"CEL {what} {text!r} calls {unknown_functions}, which this validator does not "
            "implement; add them to KUBERNETES_CEL_FUNCTIONS"
        )
    unknown_variables = sorted(variables - _RULE_VARIABLES - bound - _TYPE_IDENTIFIERS)
    if unknown_variables:
        raise CelRuleError(f"CEL {what} {text!r} reads undeclared variables {unknown_variables}")
    return ast, _ENVIRONMENT.program(ast, functions=KUBERNETES_CEL_FUNCTIONS)


@dataclass(frozen=True)
class CompiledRule:
    """One ``x-kubernetes-validations`` entry, compiled and ready to evaluate."""

    rule: str
    message: str | None
    message_expression: str | None
    field_path: str | None
    program: Any = field(repr=False)
    message_program: Any = field(repr=False, default=None)

    def failure_message(self, activation: Mapping[str, Any]) -> str:
        """The text the API server would show when the rule returns false."""
        if self.message_program is not None:
            try:
                text = self.message_program.evaluate(dict(activation))
            except CELEvalError:
                text = None  # the API server falls back to `message`, as done below
            # messageExpression must yield a non-empty single-line string to be used.
            if isinstance(text, str) and text.strip() and "\n" not in text:
                return str(text)
        return self.message or f"failed rule: {self.rule}"


def compile_rule(validation: Mapping[str, Any]) -> CompiledRule:
    """Compile one ``x-kubernetes-validations`` entry (a dict with ``rule`` and optional
    ``message``, ``messageExpression``, ``fieldPath``).

    Raises CelRuleError for a syntax error, an unimplemented function, an undeclared variable, or a
    transition rule (those must be filtered out with :func:`is_transition_rule` first).
    """
    rule = validation.get("rule")
    if not isinstance(rule, str) or not rule.strip():
        raise CelRuleError(f"x-kubernetes-validations entry without a rule: {dict(validation)!r}")
    if is_transition_rule(rule):
        raise CelRuleError(f"transition rule {rule!r} needs oldSelf and cannot be compiled here")
    _, program = _compile_expression(rule, "rule")
    field_path = validation.get("fieldPath")
    if field_path:
        _apply_field_path("", field_path)  # reject an unsupported fieldPath now, not on first failure
    message_expression = validation.get("messageExpression")
    message_program = None
    if message_expression:
        _, message_program = _compile_expression(message_expression, "messageExpression")
    return CompiledRule(
        rule=rule,
        message=validation.get("message"),
        message_expression=message_expression,
        field_path=field_path,
        program=program,
        message_program=message_program,
    )


# ---------------------------------------------------------------------------------------------
# Schema tree
# ---------------------------------------------------------------------------------------------


@dataclass
class _SchemaNode:
    """An OpenAPI schema node with its children resolved and its rules and patterns compiled."""

    raw: Mapping[str, Any]
    properties: dict[str, _SchemaNode] = field(default_factory=dict)
    items: _SchemaNode | None = None
    # A schema for map values, True (anything goes), or None (no additionalProperties).
    additional: _SchemaNode | bool | None = None
    branches: dict[str, list[_SchemaNode]] = field(default_factory=dict)  # anyOf/allOf/oneOf
    negated: _SchemaNode | None = None
    rules: list[CompiledRule] = field(default_factory=list)
    pattern: Any = None

    @property
    def type(self) -> str | None:
        return self.raw.get("type")

    @property
    def nullable(self) -> bool:
        return bool(self.raw.get("nullable", False))

    @property
    def has_default(self) -> bool:
        return "default" in self.raw

    @property
    def int_or_string(self) -> bool:
        return bool(self.raw.get("x-kubernetes-int-or-string", False))

    @property
    def preserves_unknown(self) -> bool:
        return bool(self.raw.get("x-kubernetes-preserve-unknown-fields", False))


@dataclass
class RuleCounts:
    """CEL rule bookkeeping for one CRD (all served versions together)."""

    total: int = 0  # x-kubernetes-validations entries in the CRD
    compiled: int = 0  # compiled and evaluated whenever their node is present
    skipped_transition: int = 0  # rules reading oldSelf: skipped, never evaluated
    evaluations: int = 0  # rule evaluations run by validate() so far
    exercised: set[int] = field(default_factory=set)  # id()s of distinct rules evaluated at least once

    def as_dict(self) -> dict[str, int]:
        """Plain numbers, for reports."""
        return {
            "total": self.total,
            "compiled": self.compiled,
            "skipped_transition": self.skipped_transition,
            "evaluations": self.evaluations,
            "exercised": len(self.exercised),
        }


def _build_node(raw: Mapping[str, Any], counts: RuleCounts, where: str) -> _SchemaNode:
    node = _SchemaNode(raw=raw)
    for name, child in (raw.get("properties") or {}).items():
        node.properties[name] = _build_node(child, counts, f"{where}.{name}")
    if isinstance(raw.get("items"), Mapping):
        node.items = _build_node(raw["items"], counts, f"{where}[]")
    additional = raw.get("additionalProperties")
    if isinstance(additional, Mapping):
        node.additional = _build_node(additional, counts, f"{where}{{}}")
    elif additional is True:
        node.additional = True
    for keyword in ("anyOf", "allOf", "oneOf"):
        if raw.get(keyword):
            node.branches[keyword] = [_build_node(b, counts, f"{where}/{keyword}") for b in raw[keyword]]
    if isinstance(raw.get("not"), Mapping):
        node.negated = _build_node(raw["not"], counts, f"{where}/not")
    if "pattern" in raw:
        try:
            node.pattern = _re2(raw["pattern"])
        except re2.error as exc:
            raise CelRuleError(f"{where}: pattern {raw['pattern']!r} is not valid RE2: {_re2_error_text(exc)}") from exc
    for validation in raw.get("x-kubernetes-validations") or []:
        counts.total += 1
        if is_transition_rule(validation.get("rule", "")):
            counts.skipped_transition += 1
            continue
        try:
            node.rules.append(compile_rule(validation))
        except CelRuleError as exc:
            raise CelRuleError(f"{where}: {exc}") from exc
        counts.compiled += 1
    return node


@dataclass
class _ServedVersion:
    crd_name: str
    api_version: str
    kind: str
    root: _SchemaNode


# ---------------------------------------------------------------------------------------------
# Helpers shared by the passes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Violation:
    path: str
    message: str
    # Mirrors hasBlockingErr in apiextensions-apiserver: these error kinds stop CEL evaluation.
    blocking: bool = False

    def render(self) -> str:
        return f"{self.path or ROOT_PATH}: {self.message}"


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _index(path: str, i: int | str) -> str:
    return f"{path}[{i}]"


def _show(value: Any, limit: int = 80) -> str:
    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: bool is an int subclass in Python
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return f"non-JSON {type(value).__name__}"


def _json_equal(a: Any, b: Any) -> bool:
    """JSON equality: True != 1, 1 == 1.0, deep for lists and objects."""
    if _json_type(a) in ("integer", "number") and _json_type(b) in ("integer", "number"):
        return a == b
    if _json_type(a) != _json_type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return a == b


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _is_date_time(text: str) -> bool:
    match = _DATE_TIME.match(text)
    if not match:
        return False
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        dt.datetime(year, month, day, hour, minute, min(second, 59))  # 60 = leap second
    except ValueError:
        return False
    return second <= 60


# ---------------------------------------------------------------------------------------------
# Pass 1+2: prune unknown fields, prune non-nullable nulls, apply defaults (mutates a copy)
# ---------------------------------------------------------------------------------------------


def _field_schema(node: _SchemaNode | None, key: str) -> _SchemaNode | None:
    if node is None:
        return None
    if key in node.properties:
        return node.properties[key]
    if isinstance(node.additional, _SchemaNode):
        return node.additional
    return None


def _accepts_unknown(node: _SchemaNode) -> bool:
    return node.additional is not None or node.preserves_unknown


def _prune_and_default(value: Any, node: _SchemaNode, path: str, out: list[_Violation]) -> None:
    if isinstance(value, dict):
        for key in list(value):
            if key in node.properties or _accepts_unknown(node):
                continue
            out.append(_Violation(_child(path, key), f'unknown field "{key}"'))
            del value[key]  # the API server prunes it, so CEL must not see it either
        for key in list(value):
            sub = _field_schema(node, key)
            if value[key] is None and sub is not None and not sub.nullable and not sub.has_default:
                del value[key]
        for key, sub in node.properties.items():
            absent_or_null = key not in value or (value[key] is None and not sub.nullable)
            if sub.has_default and absent_or_null:
                value[key] = copy.deepcopy(sub.raw["default"])
        for key, item in value.items():
            sub = _field_schema(node, key)
            if sub is not None:
                child_path = _child(path, key) if key in node.properties else _index(path, key)
                _prune_and_default(item, sub, child_path, out)
    elif isinstance(value, list) and node.items is not None:
        for i, item in enumerate(value):
            if item is None and not node.items.nullable and node.items.has_default:
                value[i] = item = copy.deepcopy(node.items.raw["default"])
            _prune_and_default(item, node.items, _index(path, i), out)


# ---------------------------------------------------------------------------------------------
# Pass 3: OpenAPI v3 structural schema validation
# ---------------------------------------------------------------------------------------------


def _check_type(value: Any, node: _SchemaNode, path: str, out: list[_Violation]) -> bool:
    """Report a type mismatch; return False when the value's other keywords cannot apply."""
    actual = _json_type(value)
    if actual.startswith("non-JSON"):
        out.append(_Violation(path, f"must be a JSON value, got {actual} {_show(value)}", blocking=True))
        return False
    if value is None:
        if node.nullable or (node.type is None and not node.int_or_string):
            return False  # nothing else applies to null
        expected = "integer or string" if node.int_or_string else node.type
        out.append(_Violation(path, f"must be of type {expected}, got null", blocking=True))
        return False
    if node.int_or_string:
        if actual in ("integer", "string") or (actual == "number" and float(value).is_integer()):
            return True
        out.append(_Violation(path, f"must be an integer or a string, got {actual} {_show(value)}", blocking=True))
        return False
    expected = node.type
    if expected is None:
        return True
    ok = (
        actual == expected
        or (expected == "number" and actual == "integer")
        # kube-openapi accepts a float with no fractional part for an integer field.
        or (expected == "integer" and actual == "number" and float(value).is_integer())
    )
    if not ok:
        out.append(_Violation(path, f"must be of type {expected}, got {actual} {_show(value)}", blocking=True))
    return ok


def _check_scalar_keywords(value: Any, node: _SchemaNode, path: str, out: list[_Violation]) -> None:
    raw = node.raw
    kind = _json_type(value)
    if "enum" in raw and not any(_json_equal(value, allowed) for allowed in raw["enum"]):
        allowed = ", ".join(str(v) for v in raw["enum"])
        out.append(_Violation(path, f"must be one of [{allowed}], got {_show(value)}", blocking=True))
    if kind == "string":
        length = len(value)  # code points, like Go's utf8.RuneCountInString
        if "maxLength" in raw and length > raw["maxLength"]:
            message = f"may not be longer than {raw['maxLength']} characters, got {length}"
            out.append(_Violation(path, message, blocking=True))
        if "minLength" in raw and length < raw["minLength"]:
            out.append(_Violation(path, f"must be at least {raw['minLength']} characters long, got {length}"))
        if node.pattern is not None and node.pattern.search(value) is None:
            out.append(_Violation(path, f"must match pattern '{raw['pattern']}', got {_show(value)}"))
        if raw.get("format") == "date-time" and not _is_date_time(value):
            out.append(_Violation(path, f"must be an RFC 3339 date-time, got {_show(value)}"))
    elif kind in ("integer", "number"):
        if "minimum" in raw:
            if raw.get("exclusiveMinimum") and not value > raw["minimum"]:
                out.append(_Violation(path, f"must be greater than {raw['minimum']}, got {value}"))
            elif not raw.get("exclusiveMinimum") and value < raw["minimum"]:
                out.append(_Violation(path, f"must be greater than or equal to {raw['minimum']}, got {value}"))
        if "maximum" in raw:
            if raw.get("exclusiveMaximum") and not value < raw["maximum"]:
                out.append(_Violation(path, f"must be less than {raw['maximum']}, got {value}"))
            elif not raw.get("exclusiveMaximum") and value > raw["maximum"]:
                out.append(_Violation(path, f"must be less than or equal to {raw['maximum']}, got {value}"))
        if raw.get("multipleOf") and (value / raw["multipleOf"]) % 1 != 0:
            out.append(_Violation(path, f"must be a multiple of {raw['multipleOf']}, got {value}"))


def _check_array(value: list, node: _SchemaNode, path: str, out: list[_Violation]) -> None:
    raw = node.raw
    if "maxItems" in raw and len(value) > raw["maxItems"]:
        out.append(_Violation(path, f"must have at most {raw['maxItems']} items, got {len(value)}", blocking=True))
    if "minItems" in raw and len(value) < raw["minItems"]:
        out.append(_Violation(path, f"must have at least {raw['minItems']} items, got {len(value)}"))
    list_type = raw.get("x-kubernetes-list-type")
    if list_type == "set" or raw.get("uniqueItems"):
        seen: dict[str, int] = {}
        for i, item in enumerate(value):
            key = _canonical(item)
            if key in seen:
                message = f"duplicate value {_show(item)} (also at [{seen[key]}]); list-type is set"
                out.append(_Violation(_index(path, i), message))
            seen.setdefault(key, i)
    elif list_type == "map":
        keys = raw.get("x-kubernetes-list-map-keys") or []
        seen = {}
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                continue  # the items schema reports the type error
            identity = _canonical([item.get(k) for k in keys])
            if identity in seen:
                shown = ", ".join(f"{k}={_show(item.get(k))}" for k in keys)
                message = f"duplicate entry with {shown} (also at [{seen[identity]}]); list-type is map"
                out.append(_Violation(_index(path, i), message))
            seen.setdefault(identity, i)
    if node.items is not None:
        for i, item in enumerate(value):
            _validate_node(item, node.items, _index(path, i), out)


def _check_object(value: dict, node: _SchemaNode, path: str, out: list[_Violation]) -> None:
    raw = node.raw
    for name in raw.get("required") or []:
        if name not in value:
            out.append(_Violation(_child(path, name), "Required value", blocking=True))
    if "maxProperties" in raw and len(value) > raw["maxProperties"]:
        message = f"must have at most {raw['maxProperties']} properties, got {len(value)}"
        out.append(_Violation(path, message, blocking=True))
    if "minProperties" in raw and len(value) < raw["minProperties"]:
        out.append(_Violation(path, f"must have at least {raw['minProperties']} properties, got {len(value)}"))
    for key, item in value.items():
        if key in node.properties:
            _validate_node(item, node.properties[key], _child(path, key), out)
        elif isinstance(node.additional, _SchemaNode):
            _validate_node(item, node.additional, _index(path, key), out)
        # Unknown keys were reported and pruned in pass 1, or are preserved on purpose.


def _check_branches(value: Any, node: _SchemaNode, path: str, out: list[_Violation]) -> None:
    def passes(branch: _SchemaNode) -> bool:
        trial: list[_Violation] = []
        _validate_node(value, branch, path, trial)
        return not trial

    for keyword, branches in node.branches.items():
        passed = [passes(b) for b in branches]
        if keyword == "anyOf" and not any(passed):
            out.append(_Violation(path, f"must match at least one anyOf schema, got {_show(value)}"))
        elif keyword == "oneOf" and passed.count(True) != 1:
            out.append(_Violation(path, f"must match exactly one oneOf schema (matched {passed.count(True)})"))
        elif keyword == "allOf":
            for branch in branches:
                _validate_node(value, branch, path, out)
    if node.negated is not None and passes(node.negated):
        out.append(_Violation(path, "must not match the 'not' schema"))


def _validate_node(value: Any, node: _SchemaNode, path: str, out: list[_Violation]) -> None:
    if not _check_type(value, node, path, out):
        return
    _check_scalar_keywords(value, node, path, out)
    # int-or-string's anyOf [integer, string] repeats the type check already done above.
    if node.branches and not node.int_or_string:
        _check_branches(value, node, path, out)
    if isinstance(value, list):
        _check_array(value, node, path, out)
    elif isinstance(value, dict):
        _check_object(value, node, path, out)


# ---------------------------------------------------------------------------------------------
# Pass 4: CEL
# ---------------------------------------------------------------------------------------------

_CEL_RESERVED = frozenset(
    [
        "true",
        "false",
        "null",
        "in",
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
    ]
)
_CEL_ESCAPABLE = re.compile(r"^[a-zA-Z_.\-/][a-zA-Z0-9_.\-/]*$")


def _escape_property(name: str) -> str | None:
    """Kubernetes' CEL name for an object property, or None when CEL cannot address it."""
    if name in _CEL_RESERVED:
        return f"__{name}__"
    if not _CEL_ESCAPABLE.match(name):
        return None
    return (
        name.replace("__", "__underscores__").replace(".", "__dot__").replace("-", "__dash__").replace("/", "__slash__")
    )


def _to_cel(value: Any, node: _SchemaNode | None) -> Any:
    """Convert JSON to CEL values the way Kubernetes types them from the schema."""
    if value is None:
        return None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        return celtypes.IntType(value)
    if isinstance(value, float):
        integer_field = node is not None and (node.type == "integer" or node.int_or_string)
        if integer_field and value.is_integer():
            return celtypes.IntType(int(value))
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        # Kubernetes hands date-time strings to CEL as timestamps.
        if node is not None and node.raw.get("format") == "date-time" and _is_date_time(value):
            try:
                return celtypes.TimestampType(value)
            except Exception:
                return celtypes.StringType(value)
        return celtypes.StringType(value)
    if isinstance(value, list):
        items = node.items if node is not None else None
        return celtypes.ListType([_to_cel(v, items) for v in value])
    if isinstance(value, dict):
        converted = {}
        for key, item in value.items():
            if node is not None and key in node.properties:
                name = _escape_property(key)
                if name is not None:
                    converted[celtypes.StringType(name)] = _to_cel(item, node.properties[key])
            else:
                sub = node.additional if node is not None and isinstance(node.additional, _SchemaNode) else None
                converted[celtypes.StringType(key)] = _to_cel(item, sub)
        return celtypes.MapType(converted)
    raise CelRuleError(f"cannot convert {type(value).__name__} to a CEL value")


_FIELD_PATH_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]|\[(\d+)\]")


def _apply_field_path(path: str, field_path: str) -> str:
    """Append a rule's relative ``fieldPath`` (e.g. ``.spec.x`` or ``['key']``) to ``path``."""
    position = 0
    while position < len(field_path):
        match = _FIELD_PATH_STEP.match(field_path, position)
        if not match:
            raise CelRuleError(f"unsupported fieldPath {field_path!r}")
        name, single, double, number = match.groups()
        if name is not None:
            path = _child(path, name)
        else:
            path = _index(path, single if single is not None else double if double is not None else number)
        position = match.end()
    return path


def _is_missing_function(error: CELEvalError) -> bool:
    return len(error.args) > 1 and error.args[1] is KeyError and "undeclared reference" in str(error.args[0])


# ---------------------------------------------------------------------------------------------
# Public validator
# ---------------------------------------------------------------------------------------------


class CrdValidator:
    """Validate custom resources against a set of CRDs, like the Kubernetes API server does.

    Build it with :meth:`from_directory`; reuse one instance (loading compiles every rule).
    """

    def __init__(self, versions: Iterable[_ServedVersion], counts: Mapping[str, RuleCounts]) -> None:
        self._versions: dict[tuple[str, str], _ServedVersion] = {}
        for version in versions:
            self._versions[(version.api_version, version.kind)] = version
        self._counts = dict(counts)

    @classmethod
    def from_directory(cls, karpenter_dir: Path, extra_files: Sequence[Path] = ()) -> CrdValidator:
        """Load every CustomResourceDefinition in ``*.yaml``/``*.yml`` files of ``karpenter_dir``, and in
        ``extra_files`` (CRDs kept elsewhere, such as the CapacityBuffer CRD in the karpenter chart's crds/).

        Other YAML documents there (e.g. Helm values) are ignored. Raises FileNotFoundError when
        the folder holds no CRD and CelRuleError when a rule cannot be compiled.
        """
        folder = Path(karpenter_dir)
        versions: list[_ServedVersion] = []
        counts: dict[str, RuleCounts] = {}
        for path in [*sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]), *map(Path, extra_files)]:
            # libyaml: the CRDs are megabytes of YAML (the pure-Python parser took seconds per file).
            for document in yaml_cache.load_all(path.read_text(encoding="utf-8"), yaml.CSafeLoader):
                if not isinstance(document, dict) or document.get("kind") != "CustomResourceDefinition":
                    continue
                crd_name = document["metadata"]["name"]
                spec = document["spec"]
                crd_counts = counts.setdefault(crd_name, RuleCounts())
                for version in spec["versions"]:
                    if not version.get("served", False):
                        continue
                    schema = version["schema"]["openAPIV3Schema"]
                    root = _build_node(schema, crd_counts, f"{crd_name}/{version['name']}")
                    versions.append(
                        _ServedVersion(
                            crd_name=crd_name,
                            api_version=f"{spec['group']}/{version['name']}",
                            kind=spec["names"]["kind"],
                            root=root,
                        )
                    )
        if not versions:
            raise FileNotFoundError(f"no served CustomResourceDefinition found in {folder}")
        return cls(versions, counts)

    # -- introspection -------------------------------------------------------------------------

    def knows(self, api_version: str, kind: str) -> bool:
        """Whether a loaded CRD serves this apiVersion and kind."""
        return (api_version, kind) in self._versions

    def served(self) -> list[tuple[str, str]]:
        """The (apiVersion, kind) pairs this validator knows, sorted."""
        return sorted(self._versions)

    def rule_counts(self) -> dict[str, RuleCounts]:
        """CEL rule counts per CRD name (e.g. ``nodepools.karpenter.sh``); live objects."""
        return dict(self._counts)

    def compiled_rules(self, api_version: str, kind: str) -> list[CompiledRule]:
        """Every compiled (non-transition) rule of one served version, in schema order."""
        rules: list[CompiledRule] = []

        def walk(node: _SchemaNode) -> None:
            rules.extend(node.rules)
            for child in node.properties.values():
                walk(child)
            if node.items is not None:
                walk(node.items)
            if isinstance(node.additional, _SchemaNode):
                walk(node.additional)

        walk(self._lookup(api_version, kind).root)
        return rules

    # -- validation ----------------------------------------------------------------------------

    def apply_defaults(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Return a deep copy of ``obj`` pruned of unknown fields and with schema defaults applied,
        i.e. what the API server would validate and store. Raises KeyError for an unknown kind."""
        version = self._lookup(obj.get("apiVersion"), obj.get("kind"))
        working, metadata = self._decode(obj, version, [])
        if metadata is not None:
            working["metadata"] = metadata
        return working

    def validate(self, obj: Mapping[str, Any]) -> list[str]:
        """Return every violation as ``"<path>: <message>"`` (an empty list means valid)."""
        return [v.render() for v in self._validate(obj)]

    def assert_valid(self, obj: Mapping[str, Any]) -> None:
        """Raise AssertionError listing every violation of ``obj``."""
        violations = self.validate(obj)
        if violations:
            name = (obj.get("metadata") or {}).get("name") if isinstance(obj, Mapping) else None
            header = f"{obj.get('kind') if isinstance(obj, Mapping) else type(obj).__name__} {name!r}"
            raise AssertionError(
                f"{header} has {len(violations)} violation(s):\n" + "\n".join(f"  - {v}" for v in violations)
            )

    def _lookup(self, api_version: Any, kind: Any) -> _ServedVersion:
        try:
            return self._versions[(api_version, kind)]
        except KeyError:
            raise KeyError(f"no loaded CRD serves apiVersion {api_version!r} kind {kind!r}") from None

    def _validate(self, obj: Mapping[str, Any]) -> list[_Violation]:
        if not isinstance(obj, Mapping):
            return [_Violation("", f"must be an object, got {_json_type(obj)}")]
        out: list[_Violation] = []
        api_version: Any = obj.get("apiVersion")
        kind: Any = obj.get("kind")
        for name, present in (("apiVersion", api_version), ("kind", kind)):
            if present is None:
                out.append(_Violation(name, "Required value"))
        if out:
            return out
        version = self._versions.get((api_version, kind))
        if version is None:
            known = ", ".join(f"{a} {k}" for a, k in self.served())
            return [_Violation("apiVersion", f"no loaded CRD serves {api_version} {kind} (known: {known})")]

        out.extend(self._check_metadata(obj.get("metadata")))
        working, metadata = self._decode(obj, version, out)
        _validate_node(working, version.root, "", out)

        if any(v.blocking for v in out):
            out.append(_Violation("", CEL_SKIPPED_NOTICE))
            return out
        if metadata is not None:
            # Root-level rules may read metadata.name/generateName only.
            working["metadata"] = {k: metadata[k] for k in ("name", "generateName") if k in metadata}
        out.extend(self._run_rules(working, version.root, "", self._counts[version.crd_name]))
        return out

    @staticmethod
    def _decode(obj: Mapping[str, Any], version: _ServedVersion, out: list[_Violation]) -> tuple[dict[str, Any], Any]:
        """Deep-copy ``obj``, prune unknown fields and non-nullable nulls, apply defaults.

        Returns the working copy without ``metadata`` and the metadata apart: ObjectMeta belongs to
        the API server, and the CRD's bare ``metadata: {type: object}`` would prune all of it.
        """
        working = copy.deepcopy(dict(obj))
        metadata = working.pop("metadata", None)
        _prune_and_default(working, version.root, "", out)
        return working, metadata

    @staticmethod
    def _check_metadata(metadata: Any) -> list[_Violation]:
        if not isinstance(metadata, Mapping):
            return [_Violation("metadata.name", "Required value")]
        name = metadata.get("name")
        if not name:
            return [_Violation("metadata.name", "Required value")]
        if not isinstance(name, str):
            return [_Violation("metadata.name", f"must be of type string, got {_json_type(name)}")]
        if len(name) > 253:
            return [_Violation("metadata.name", f"must be no more than 253 characters, got {len(name)}")]
        if not _DNS1123_SUBDOMAIN.match(name):
            return [_Violation("metadata.name", f"{_DNS1123_SUBDOMAIN_MESSAGE}, got {_show(name)}")]
        return []

    def _run_rules(self, value: Any, node: _SchemaNode, path: str, counts: RuleCounts) -> list[_Violation]:
        if value is None:
            return []  # rules do not run on null (only reachable for nullable fields)
        out: list[_Violation] = []
        if node.rules:
            activation = {"self": _to_cel(value, node)}
            for rule in node.rules:
                out.extend(self._evaluate(rule, activation, path, counts))
        if isinstance(value, dict):
            for key, item in value.items():
                if key in node.properties:
                    out.extend(self._run_rules(item, node.properties[key], _child(path, key), counts))
                elif isinstance(node.additional, _SchemaNode):
                    out.extend(self._run_rules(item, node.additional, _index(path, key), counts))
        elif isinstance(value, list) and node.items is not None:
            for i, item in enumerate(value):
                out.extend(self._run_rules(item, node.items, _index(path, i), counts))
        return out

    @staticmethod
    def _evaluate(rule: CompiledRule, activation: dict[str, Any], path: str, counts: RuleCounts) -> list[_Violation]:
        counts.evaluations += 1
        counts.exercised.add(id(rule))
        where = _apply_field_path(path, rule.field_path) if rule.field_path else path
        try:
            result = rule.program.evaluate(dict(activation))
        except CELEvalError as error:
            if _is_missing_function(error):
                raise CelRuleError(f"rule {rule.rule!r} called an unimplemented function: {error.args[0]}") from error
            # The API server reports a data-driven evaluation error as a violation, not a pass.
            return [_Violation(where, f"CEL rule evaluation error: {error.args[0]} (rule: {rule.rule})")]
        if not isinstance(result, celtypes.BoolType):
            return [_Violation(where, f"CEL rule returned {type(result).__name__}, not bool (rule: {rule.rule})")]
        if result:
            return []
        return [_Violation(where, f"CEL rule failed: {rule.failure_message(activation)} (rule: {rule.rule})")]
