"""Prometheus 2.42 rule files: parse and validate as ``model/rulefmt`` does, with file:line errors.

A file holds ``groups:``, each with ``name``, ``interval``, ``limit`` and ``rules:``; a rule is a
``record`` or an ``alert`` with ``expr``, ``for``, ``keep_firing_for`` (new in 2.42), ``labels``
and ``annotations``. 2.42 has no ``query_offset``, so it is refused as an unknown field.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

import yaml

import tripod.server.rules._yamlnode as yn
from tripod.server.promql import PromQLError, parse_expr

__all__ = [
    "GroupSpec",
    "RuleFileError",
    "RuleProblem",
    "RuleSpec",
    "TemplateCheck",
    "duration_ms",
    "is_label_name",
    "is_metric_name",
    "load_rule_files",
    "parse_rule_file",
    "parse_rules",
]

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_DURATION = re.compile(
    r"(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?"
    r"(?:([0-9]+)ms)?\Z"
)
_DURATION_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)
_FILE_FIELDS = frozenset({"groups"})
_GROUP_FIELDS = frozenset({"name", "interval", "limit", "rules"})
_RULE_FIELDS = frozenset(
    {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
)

#: Checks one label or annotation template of an alerting rule, given the template and the
#: alert's name; returns an error text or None.
TemplateCheck = Callable[[str, str], "str | None"]


def is_label_name(name: str) -> bool:
    return _LABEL_NAME.match(name) is not None


def is_metric_name(name: str) -> bool:
    return _METRIC_NAME.match(name) is not None


def duration_ms(text: str) -> int:
    """Milliseconds in a Prometheus duration (``1h30m``, ``0``); ValueError if malformed.

    Exactly ``model.ParseDuration``, which rule and unit-test files go through (no surrounding
    spaces, units from the largest down, each once); the server's settings have their own.
    """
    if text == "0":
        return 0
    m = _DURATION.match(text)
    if m is None or not any(m.groups()):
        msg = f"not a valid duration string: {text!r}"
        raise ValueError(msg)
    return sum(int(g) * unit for g, unit in zip(m.groups(), _DURATION_MS, strict=True) if g)


@dataclasses.dataclass(frozen=True)
class RuleSpec:
    """One rule as written in its file."""

    kind: Literal["record", "alert"]
    name: str
    expr: str
    for_ms: int = 0
    keep_firing_for_ms: int = 0
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    annotations: dict[str, str] = dataclasses.field(default_factory=dict)
    line: int = 0


@dataclasses.dataclass(frozen=True)
class GroupSpec:
    """One rule group; ``interval_ms`` is None when the file leaves it to the default."""

    name: str
    file: str
    rules: tuple[RuleSpec, ...]
    interval_ms: int | None = None
    limit: int = 0
    line: int = 0


@dataclasses.dataclass(frozen=True)
class RuleProblem:
    """One reason a rule file is refused, at ``file:line:column``."""

    file: str
    line: int
    column: int
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return f"{where}: {self.reason}"


class RuleFileError(Exception):
    """Rule files that failed to load; ``problems`` holds every reason found."""

    def __init__(self, problems: list[RuleProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclasses.dataclass
class _Raw:
    """A rule as decoded, before validation (values may be empty, nodes give positions)."""

    record: str
    alert: str
    expr: str
    for_ms: int
    keep_ms: int
    labels: dict[str, str]
    annotations: dict[str, str]
    node: yaml.Node
    record_node: yaml.Node | None
    alert_node: yaml.Node | None
    expr_node: yaml.Node | None


class _Decoder:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[RuleProblem] = []

    def add(self, node: yaml.Node | None, reason: str) -> None:
        if node is None:
            self.problems.append(RuleProblem(self.filename, 0, 0, reason))
            return
        mark = node.start_mark
        self.problems.append(RuleProblem(self.filename, mark.line + 1, mark.column + 1, reason))

    def add_error(self, err: yn.NodeError) -> None:
        self.problems.append(RuleProblem(self.filename, err.line, err.column, err.reason))

    def duration(self, node: yaml.Node | None) -> int:
        if node is None or yn.is_null(node):
            return 0
        raw = yn.text(node, "model.Duration")
        try:
            return duration_ms(raw)
        except ValueError:
            self.add(
                node, f'not a valid duration string: "{raw}"' if raw else "empty duration string"
            )
            return 0


def _decode(
    text: str, filename: str
) -> tuple[list[tuple[yaml.Node, dict[str, yaml.Node]]], _Decoder]:
    dec = _Decoder(filename)
    try:
        root = yn.compose(text)
    except yn.NodeError as err:
        dec.add_error(err)
        return [], dec
    if root is None:
        return [], dec
    groups: list[tuple[yaml.Node, dict[str, yaml.Node]]] = []
    try:
        top = yn.fields(root, _FILE_FIELDS, "type rulefmt.RuleGroups")
        for gnode in yn.seq(top.get("groups"), "[]rulefmt.RuleGroup"):
            try:
                groups.append((gnode, yn.fields(gnode, _GROUP_FIELDS, "type rulefmt.RuleGroup")))
            except yn.NodeError as err:
                dec.add_error(err)
    except yn.NodeError as err:
        dec.add_error(err)
    return groups, dec


def _decode_rule(dec: _Decoder, node: yaml.Node) -> _Raw | None:
    try:
        f = yn.fields(node, _RULE_FIELDS, "type rulefmt.RuleNode")
        return _Raw(
            record=yn.text(f.get("record")),
            alert=yn.text(f.get("alert")),
            expr=yn.text(f.get("expr")),
            for_ms=dec.duration(f.get("for")),
            keep_ms=dec.duration(f.get("keep_firing_for")),
            labels=yn.str_map(f.get("labels"), "map[string]string"),
            annotations=yn.str_map(f.get("annotations"), "map[string]string"),
            node=node,
            record_node=f.get("record"),
            alert_node=f.get("alert"),
            expr_node=f.get("expr"),
        )
    except yn.NodeError as err:
        dec.add_error(err)
        return None


def _validate_rule(raw: _Raw, template_check: TemplateCheck | None) -> list[tuple[yaml.Node, str]]:
    """rulefmt's RuleNode.Validate: (node to point at, reason) pairs."""
    out: list[tuple[yaml.Node, str]] = []
    at = raw.node
    if raw.record and raw.alert:
        out.append((raw.record_node or at, "only one of 'record' and 'alert' must be set"))
    if not raw.record and not raw.alert:
        out.append((at, "one of 'record' or 'alert' must be set"))
    if not raw.expr:
        out.append((raw.expr_node or at, "field 'expr' must be set in rule"))
    else:
        try:
            parse_expr(raw.expr)
        except PromQLError as exc:
            out.append((raw.expr_node or at, f"could not parse expression: {exc}"))
    if raw.record:
        rec = raw.record_node or at
        if raw.annotations:
            out.append((rec, "invalid field 'annotations' in recording rule"))
        if raw.for_ms:
            out.append((rec, "invalid field 'for' in recording rule"))
        if raw.keep_ms:
            out.append((rec, "invalid field 'keep_firing_for' in recording rule"))
        if not is_metric_name(raw.record):
            out.append((rec, f"invalid recording rule name: {raw.record}"))
    # Label values are valid UTF-8 by construction: the file was decoded as UTF-8.
    out.extend(
        (at, f"invalid label name: {k}")
        for k in raw.labels
        if not is_label_name(k) or k == "__name__"
    )
    out.extend(
        (at, f"invalid annotation name: {k}") for k in raw.annotations if not is_label_name(k)
    )
    if raw.alert and template_check is not None:
        for kind, mapping in (("label", raw.labels), ("annotation", raw.annotations)):
            for key, template in mapping.items():
                problem = template_check(template, raw.alert)
                if problem is not None:
                    out.append((at, f"{kind} {key!r}: {problem}"))
    return out


def parse_rules(
    text: str, filename: str = "<rules>", template_check: TemplateCheck | None = None
) -> tuple[list[GroupSpec], list[RuleProblem]]:
    """The groups of one rule file and every problem found (an empty list when it is valid)."""
    raw_groups, dec = _decode(text, filename)
    decoded: list[tuple[yaml.Node, str, int | None, int, list[_Raw]]] = []
    for gnode, f in raw_groups:
        try:
            name = yn.text(f.get("name"))
            limit = yn.int_of(f.get("limit"), "int")
            interval = None if f.get("interval") is None else dec.duration(f.get("interval"))
            rule_nodes = yn.seq(f.get("rules"), "[]rulefmt.RuleNode")
        except yn.NodeError as err:
            dec.add_error(err)
            continue
        rules = [r for r in (_decode_rule(dec, n) for n in rule_nodes) if r is not None]
        decoded.append((gnode, name, interval, limit, rules))
    if dec.problems:  # like rulefmt: a file that does not decode is not validated further
        return [], dec.problems
    groups: list[GroupSpec] = []
    seen: set[str] = set()
    for gnode, name, interval, limit, rules in decoded:
        if not name:
            dec.add(gnode, "Groupname must not be empty")
        if name in seen:
            dec.add(gnode, f'groupname: "{name}" is repeated in the same file')
        seen.add(name)
        specs = []
        for i, raw in enumerate(rules, start=1):
            rule_name = raw.alert or raw.record
            for node, reason in _validate_rule(raw, template_check):
                dec.add(node, f'group "{name}", rule {i}, "{rule_name}": {reason}')
            specs.append(
                RuleSpec(
                    kind="alert" if raw.alert else "record",
                    name=rule_name,
                    expr=raw.expr,
                    for_ms=raw.for_ms,
                    keep_firing_for_ms=raw.keep_ms,
                    labels=raw.labels,
                    annotations=raw.annotations,
                    line=yn.line(raw.node),
                )
            )
        groups.append(GroupSpec(name, filename, tuple(specs), interval, limit, yn.line(gnode)))
    return (groups, []) if not dec.problems else ([], dec.problems)


def parse_rule_file(
    path: str | Path, template_check: TemplateCheck | None = None
) -> tuple[list[GroupSpec], list[RuleProblem]]:
    """:func:`parse_rules` over a file; an unreadable file is one problem."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return [], [RuleProblem(name, 0, 0, f"cannot read the file: {reason}")]
    return parse_rules(text, name, template_check)


def load_rule_files(
    paths: Iterable[str | Path], template_check: TemplateCheck | None = None
) -> list[GroupSpec]:
    """Every group of the files, in order; :class:`RuleFileError` lists all problems if any."""
    groups: list[GroupSpec] = []
    problems: list[RuleProblem] = []
    for path in paths:
        found, errs = parse_rule_file(path, template_check)
        groups.extend(found)
        problems.extend(errs)
    if problems:
        raise RuleFileError(problems)
    return groups
