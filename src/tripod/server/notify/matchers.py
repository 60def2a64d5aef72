"""Alertmanager label matchers: ``name="v"``, ``!=``, ``=~``, ``!~`` (pkg/labels in Alertmanager).

Regexes are fully anchored as Alertmanager anchors them. Parsing follows ``ParseMatchers``: an
optional ``{...}``, comma-separated, values quoted or bare, ``\\"``, ``\\\\`` and ``\\n`` escapes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "LABEL_NAME",
    "Matcher",
    "MatcherError",
    "matchers_string",
    "matches_all",
    "parse_matcher",
    "parse_matchers",
]

_TYPES = ("=", "!=", "=~", "!~")
_MATCHER = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*\Z", re.DOTALL)
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


class MatcherError(ValueError):
    """A matcher that cannot be parsed; the message quotes it."""


@dataclasses.dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str
    regex: re.Pattern[str] | None = dataclasses.field(default=None, compare=False, repr=False)

    @classmethod
    def make(cls, name: str, op: str, value: str) -> Matcher:
        if op not in _TYPES:
            msg = f"unknown match type {op!r}; expected one of {', '.join(_TYPES)}"
            raise MatcherError(msg)
        regex = None
        if op in {"=~", "!~"}:
            try:
                regex = re.compile(f"^(?:{value})\\Z")
            except re.error as exc:
                msg = f"{name}{op}{value!r}: not a valid regular expression ({exc})"
                raise MatcherError(msg) from None
        return cls(name, op, value, regex)

    def matches(self, value: str) -> bool:
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        assert self.regex is not None
        found = self.regex.match(value) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'

    def sort_key(self) -> tuple[str, str, int]:
        return (self.name, self.value, _TYPES.index(self.op))

    def to_api(self) -> dict[str, Any]:
        """Alertmanager API v2 matcher JSON."""
        return {
            "isEqual": self.op in {"=", "=~"},
            "isRegex": self.op in {"=~", "!~"},
            "name": self.name,
            "value": self.value,
        }

    @classmethod
    def from_api(cls, raw: Any) -> Matcher:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            msg = f"matcher {raw!r}: expected an object with name, value, isRegex, isEqual"
            raise MatcherError(msg)
        value = raw.get("value")
        if not isinstance(value, str):
            msg = f"matcher {raw['name']!r}: value must be a string"
            raise MatcherError(msg)
        equal, regex = raw.get("isEqual", True), raw.get("isRegex", False)
        if not isinstance(equal, bool) or not isinstance(regex, bool):
            msg = f"matcher {raw['name']!r}: isEqual and isRegex must be booleans"
            raise MatcherError(msg)
        op = {(True, False): "=", (False, False): "!=", (True, True): "=~", (False, True): "!~"}
        return cls.make(raw["name"], op[equal, regex], value)


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels.get(m.name, "")) for m in matchers)


def matchers_string(matchers: Iterable[Matcher]) -> str:
    """``Matchers.String()``: ``{a="1",b=~"x"}``."""
    return "{" + ",".join(str(m) for m in matchers) + "}"


def parse_matcher(text: str) -> Matcher:
    m = _MATCHER.match(text)
    if m is None:
        msg = f"bad matcher format: {text}"
        raise MatcherError(msg)
    raw, out, escaped = m.group(3), [], False
    quoted = raw.startswith('"')
    if quoted:
        raw = raw[1:]
    for i, ch in enumerate(raw):
        if escaped:
            escaped = False
            out.append({"n": "\n", '"': '"', "\\": "\\"}.get(ch, "\\" + ch))
        elif ch == "\\" and i < len(raw) - 1:
            escaped = True
        elif ch == '"':
            if not quoted or i < len(raw) - 1:
                msg = f"matcher value contains unescaped double quote: {m.group(3)}"
                raise MatcherError(msg)
            quoted = False
        else:
            out.append(ch)
    if quoted:
        msg = f"matcher value contains unescaped double quote: {m.group(3)}"
        raise MatcherError(msg)
    return Matcher.make(m.group(1), m.group(2), "".join(out))


def parse_matchers(text: str) -> list[Matcher]:
    """``ParseMatchers``: ``{a="1", b=~"x|y"}`` or ``a=1,b=~x``."""
    text = text.removeprefix("{").removesuffix("}")
    tokens: list[str] = []
    token: list[str] = []
    quoted = escaped = False
    for ch in text:
        if ch == "," and not quoted:
            tokens.append("".join(token))
            token = []
            continue
        if ch == '"':
            if escaped:
                escaped = False
            else:
                quoted = not quoted
        elif ch == "\\":
            escaped = not escaped
        else:
            escaped = False
        token.append(ch)
    if last := "".join(token).strip():
        tokens.append(last)
    return [parse_matcher(t) for t in tokens]
