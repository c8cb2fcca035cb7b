"""The config parsing core every section parser uses: ConfigError, the Parser and its error-naming helpers.

A bad value stops the preview with one line naming the stack and the key, so every helper here takes the dotted
key path it is parsing:

    <stack>: gpu-eks:<key>: <problem>; <what is allowed>

Patterns that more than one section validates against (DNS labels, durations) live here too.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pulumi

T = TypeVar("T")

PROJECT = "gpu-eks"

DNS_LABEL_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# Karpenter's duration syntax (NodePool CRD pattern for consolidateAfter / expireAfter).
DURATION_PATTERN = re.compile(r"^(([0-9]+(s|m|h))+|Never)$")


@dataclass(frozen=True)
class KeyDoc:
    """How the configuration reference documents one key. Every field is required: docs/configuration.md is
    generated from these (`python -m tools.config_reference`), and the generator refuses a key without them."""

    type: str  # what YAML value it takes: `string`, `integer`, `list of strings`, `mapping`, ...
    default: str  # what the program uses when the key is absent (`required` when it must be given)
    allowed: str  # the values the parser accepts, as its error messages say them
    example: str  # a YAML value a stack file could carry
    description: str  # what it does and why


@dataclass(frozen=True)
class SectionDoc:
    """One mapping the parser reads with `Parser.mapping`: its path in the stack file, the very tuple of keys the
    parser allows there, and a KeyDoc per key. `components.config.CONFIG_SECTIONS` lists them all."""

    path: str  # `gpu-eks:network`, `gpu-eks:gpuNodePools[]`, `gpu-eks:gpuNodePools[].sharing`
    keys: Sequence[str]
    docs: Mapping[str, KeyDoc]
    intro: str = ""
    notes: Sequence[str] = field(default_factory=tuple)


class ConfigError(pulumi.RunError):
    """A stack configuration problem. Subclasses `pulumi.RunError` so `pulumi up` prints it without a traceback."""

    def __init__(self, stack: str, key: str, problem: str, allowed: str):
        self.stack = stack
        self.key = key
        self.problem = problem
        self.allowed = allowed
        # Keys of other namespaces (aws:region) are named as they are; ours get the project prefix.
        qualified = key if ":" in key.split(".")[0] else f"{PROJECT}:{key}"
        super().__init__(f"{stack}: {qualified}: {problem}; {allowed}")


class Parser:
    """Typed readers for raw config values; each raises ConfigError naming the stack and the key."""

    def __init__(self, stack: str):
        self.stack = stack

    def error(self, key: str, problem: str, allowed: str) -> ConfigError:
        return ConfigError(self.stack, key, problem, allowed)

    def mapping(self, value: Any, key: str, allowed_keys: Sequence[str]) -> Mapping[str, Any]:
        """A mapping with no keys outside `allowed_keys` (a typo must never pass silently)."""
        if not isinstance(value, Mapping):
            raise self.error(
                key,
                f"expected a mapping, got {describe(value)}",
                f"allowed: a mapping with keys {', '.join(allowed_keys)}",
            )
        # YAML may hand us non-string keys (1, true); sorting by text keeps the first unknown key deterministic.
        unknown = sorted((k for k in value if k not in allowed_keys), key=str)
        if unknown:
            raise self.error(
                f"{key}.{unknown[0]}" if key else str(unknown[0]),
                f"unknown key {unknown[0]!r}{did_you_mean(unknown[0], allowed_keys)}",
                f"allowed keys under {key or PROJECT}: {', '.join(allowed_keys)}",
            )
        return value

    def boolean(self, value: Any, key: str) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise self.error(key, f"expected true or false, got {describe(value)}", "allowed: true | false")

    def integer(self, value: Any, key: str, minimum: int | None = None, maximum: int | None = None) -> int:
        bounds = _bounds_text(minimum, maximum)
        if isinstance(value, bool) or not isinstance(value, (int, str, float)):
            raise self.error(key, f"expected an integer, got {describe(value)}", f"allowed: an integer{bounds}")
        try:
            number = int(value) if not isinstance(value, float) or value.is_integer() else None
        except ValueError:
            number = None
        if number is None:
            raise self.error(key, f"expected an integer, got {value!r}", f"allowed: an integer{bounds}")
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise self.error(key, f"{number} is out of range", f"allowed: an integer{bounds}")
        return number

    def string(self, value: Any, key: str, pattern: re.Pattern[str] | None = None, allowed: str = "a string") -> str:
        if not isinstance(value, str) or not value:
            raise self.error(
                key, f"expected a non-empty string, got {describe(value)}{yaml_hint(value)}", f"allowed: {allowed}"
            )
        if pattern is not None and not pattern.match(value):
            raise self.error(key, f"{value!r} is not valid", f"allowed: {allowed}")
        return value

    def text(self, value: Any, key: str, pattern: re.Pattern[str], allowed: str) -> str:
        """A string that YAML may have typed as an integer (`nodes: 1`, `version: 1`); lists, maps, bools,
        floats and null are type errors rather than their Python str() (`'[1]' is not valid`)."""
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return self.string(value, key, pattern, allowed)

    def choice(self, value: Any, key: str, choices: Sequence[str]) -> str:
        if not isinstance(value, str):
            raise self.error(
                key,
                f"expected a string, got {describe(value)}{yaml_hint(value, choices)}",
                f"allowed: {' | '.join(choices)}",
            )
        if value not in choices:
            raise self.error(
                key, f"{value!r} is not supported{did_you_mean(value, choices)}", f"allowed: {' | '.join(choices)}"
            )
        return value

    def items(
        self,
        value: Any,
        key: str,
        parse_item: Callable[[Any, str], T],
        *,
        min_items: int = 0,
        unique: bool = True,
        allowed: str = "a list",
    ) -> tuple[T, ...]:
        if not isinstance(value, (list, tuple)):
            raise self.error(key, f"expected a list, got {describe(value)}", f"allowed: {allowed}")
        if len(value) < min_items:
            raise self.error(key, f"needs at least {min_items} item(s), got {len(value)}", f"allowed: {allowed}")
        parsed = tuple(parse_item(item, f"{key}[{index}]") for index, item in enumerate(value))
        if unique:
            seen: set[Any] = set()
            for index, item in enumerate(parsed):
                if item in seen:
                    raise self.error(f"{key}[{index}]", f"duplicate value {item!r}", "each value may appear once")
                seen.add(item)
        return parsed

    def named_item(
        self, value: Any, key: str, allowed_keys: Sequence[str], example: str
    ) -> tuple[Mapping[str, Any], str, str]:
        """A list item that is a mapping with a DNS-label `name`: (item, its name, its key for later errors).

        The returned key reads `<list>[<index>] (<name>)`, so every later error about the item names it.
        """
        item = self.mapping(value, named_item_key(key, value), allowed_keys)
        if "name" not in item:
            raise self.error(f"{key}.name", "is missing", f"allowed: a DNS-1123 label such as {example}")
        name = self.string(
            item["name"],
            f"{key}.name",
            DNS_LABEL_PATTERN,
            "a DNS-1123 label (lowercase letters, digits, '-'; at most 63 characters)",
        )
        return item, name, item_key(key, name)

    def cidr(self, value: Any, key: str) -> str:
        """An IPv4 network in canonical form (host bits must be zero)."""
        text = self.string(value, key, allowed="an IPv4 CIDR such as 10.0.0.0/16")
        try:
            network = ipaddress.IPv4Network(text, strict=True)
        except ValueError as exc:
            raise self.error(
                key, f"{text!r} is not an IPv4 network ({exc})", "allowed: an IPv4 CIDR such as 10.0.0.0/16"
            ) from None
        return str(network)


def did_you_mean(value: Any, allowed: Collection[str]) -> str:
    """` (did you mean 'maxGpus'?)` for the closest allowed name, compared case-insensitively, or ''."""
    if not isinstance(value, str) or not allowed:
        return ""
    by_lower = {name.lower(): name for name in allowed}
    close = difflib.get_close_matches(value.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""


def item_key(key: str, name: str) -> str:
    """`gpuNodePools[2] (training)`: a list item named by its index and its name, so the user finds it."""
    return f"{key} ({name})"


def named_item_key(key: str, raw: Any) -> str:
    """item_key for a raw pool whose name is usable (so an unknown key is reported with it), else `key`."""
    name = raw.get("name") if isinstance(raw, Mapping) else None
    return item_key(key, name) if isinstance(name, str) and DNS_LABEL_PATTERN.match(name) else key


# Plain words YAML 1.1 (PyYAML, and so tools.render and preflight) reads as booleans.
YAML_BOOLEAN_WORDS = {False: ("off", "no", "false", "n"), True: ("on", "yes", "true", "y")}


def yaml_hint(value: Any, choices: Sequence[str] = ()) -> str:
    """Why YAML handed over a non-string where the user most likely typed a word or a version, and the fix:
    `mode: off` reads as false, `1.30` as the number 1.3; both are strings once quoted. '' for anything else."""
    if isinstance(value, bool):
        words = YAML_BOOLEAN_WORDS[value]
        meant = next((c for c in choices if c.lower() in words), None)
        if meant is not None:
            return f" (YAML reads an unquoted {meant} as {str(value).lower()}): quote it: '{meant}'"
        return f" (YAML reads unquoted {'/'.join(words[:3])} as {str(value).lower()}): quote the word you meant"
    if isinstance(value, float):
        padded = next((c for c in choices if c != str(value) and c.rstrip("0") == str(value)), None)
        written = padded or f"{value}0"
        return f" (YAML reads an unquoted {written} as the number {value}): quote it: '{written}'"
    return ""


def describe(value: Any) -> str:
    """How an error names a value of the wrong type: `a mapping`, `a list`, `int 3`."""
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _bounds_text(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum} to {maximum}"
    if minimum is not None:
        return f" >= {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""
