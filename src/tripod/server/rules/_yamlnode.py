"""Typed reading of PyYAML compose nodes, as Go's YAML decoders read into structs.

Prometheus decodes rule files with yaml.v3 (``KnownFields``) and unit-test files with yaml.v2
(``UnmarshalStrict``): unknown fields and repeated keys are errors, any scalar decodes into a
string field as its text, ``null`` leaves the zero value. Working on nodes keeps line numbers
(1-based, as Go prints them) for every message.
"""

from __future__ import annotations

import dataclasses
import math
import re

import yaml

__all__ = [
    "NodeError",
    "compose",
    "fields",
    "float_of",
    "int_of",
    "is_null",
    "line",
    "seq",
    "str_map",
    "text",
]

_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_INT_RE = re.compile(r"[-+]?(?:0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[0-9]+)\Z")
_LEADING_ZERO = re.compile(r"[-+]?0[0-7]+\Z")
_FLOAT_RE = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_SPECIAL: dict[str, float] = {
    **dict.fromkeys([".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"], math.inf),
    **dict.fromkeys(["-.inf", "-.Inf", "-.INF"], -math.inf),
    **dict.fromkeys([".nan", ".NaN", ".NAN"], math.nan),
}


@dataclasses.dataclass
class NodeError(Exception):
    """A decoding problem at a 1-based line and column."""

    line: int
    column: int
    reason: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.reason}"


def line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _err(node: yaml.Node, reason: str) -> NodeError:
    return NodeError(line(node), int(node.start_mark.column) + 1, reason)


def compose(text: str) -> yaml.Node | None:
    """The first document's root node (None when empty); syntax errors become :class:`NodeError`."""
    try:
        # Go's decoders read the first document of a stream and ignore the rest.
        return next(iter(yaml.compose_all(text, Loader=yaml.SafeLoader)), None)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = f"yaml: {exc.problem or exc.context}"
        if mark is None:
            raise NodeError(1, 1, reason) from None
        raise NodeError(mark.line + 1, mark.column + 1, reason) from None
    except yaml.YAMLError as exc:
        raise NodeError(1, 1, f"yaml: {exc}") from None


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL


def _pairs(node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
    """A mapping's pairs with ``<<`` merge keys resolved (explicit keys win), as Go's yaml does."""
    own = [(k, v) for k, v in node.value if k.tag != _MERGE]
    names = {str(k.value) for k, _ in own if isinstance(k, yaml.ScalarNode)}
    merged: list[tuple[yaml.Node, yaml.Node]] = []
    for key, value in node.value:
        if key.tag != _MERGE:
            continue
        sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise _err(source, "map merge requires map or sequence of maps as the value")
            for k, v in _pairs(source):
                if str(k.value) not in names:
                    names.add(str(k.value))
                    merged.append((k, v))
    return own + merged


def fields(node: yaml.Node, known: frozenset[str], where: str) -> dict[str, yaml.Node]:
    """A mapping's entries by key; unknown or repeated keys are errors (null: no entries)."""
    if is_null(node):
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise _err(node, f"cannot unmarshal {_kind(node)} into {where}")
    out: dict[str, yaml.Node] = {}
    for key, value in _pairs(node):
        name = text(key)
        if name in out:
            raise _err(key, f'mapping key "{name}" already defined')
        if name not in known:
            raise _err(key, f"field {name} not found in {where}")
        out[name] = value
    return out


def seq(node: yaml.Node | None, where: str) -> list[yaml.Node]:
    if node is None or is_null(node):
        return []
    if not isinstance(node, yaml.SequenceNode):
        raise _err(node, f"cannot unmarshal {_kind(node)} into {where}")
    return list(node.value)


def text(node: yaml.Node | None, where: str = "string") -> str:
    """A scalar's text as Go decodes any scalar into a string field; null is ``""``."""
    if node is None or is_null(node):
        return ""
    if not isinstance(node, yaml.ScalarNode):
        raise _err(node, f"cannot unmarshal {_kind(node)} into {where}")
    return str(node.value)


def str_map(node: yaml.Node | None, where: str) -> dict[str, str]:
    """A ``map[string]string``; repeated keys are errors."""
    if node is None or is_null(node):
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise _err(node, f"cannot unmarshal {_kind(node)} into {where}")
    out: dict[str, str] = {}
    for key, value in _pairs(node):
        name = text(key)
        if name in out:
            raise _err(key, f'mapping key "{name}" already defined')
        out[name] = text(value, where)
    return out


def _number(node: yaml.Node) -> float | int | None:
    """A plain scalar's number as yaml.v2 resolves it (``0x10``, ``1_000``, ``1e3``, ``.inf``)."""
    if not isinstance(node, yaml.ScalarNode) or node.style is not None:
        return None
    raw = str(node.value)
    special = _SPECIAL.get(raw)
    if special is not None:
        return special
    plain = raw.replace("_", "")
    if _INT_RE.match(plain):
        try:
            return int(plain, 0) if not _LEADING_ZERO.match(plain) else int(plain, 8)
        except ValueError:
            return None
    if _FLOAT_RE.match(raw):
        return float(raw)
    return None


def int_of(node: yaml.Node | None, where: str) -> int:
    if node is None or is_null(node):
        return 0
    value = _number(node)
    if isinstance(value, int):
        return value
    raise _err(node, f"cannot unmarshal {_kind(node)} `{_short(node)}` into {where}")


def float_of(node: yaml.Node | None, where: str) -> float:
    """A float64 field: YAML ints and floats (``.inf``, ``.nan``), never a quoted string."""
    if node is None or is_null(node):
        return 0.0
    value = _number(node)
    if value is not None:
        return float(value)
    raise _err(node, f"cannot unmarshal {_kind(node)} `{_short(node)}` into {where}")


def _short(node: yaml.Node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else ""


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "!!map"
    if isinstance(node, yaml.SequenceNode):
        return "!!seq"
    return "!!" + str(node.tag).rsplit(":", 1)[-1]
