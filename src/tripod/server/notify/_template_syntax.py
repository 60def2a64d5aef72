"""Syntax of the Go-template subset (see :mod:`.templates`): lexing, parsing, and a static check
of every branch against the shape of Alertmanager's template data, so a bad field is refused when
the configuration is loaded even inside an ``if`` that sample data would not take."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Collection, Sequence
from typing import Any

__all__ = ["KV_METHODS", "Node", "TemplateError", "check_nodes", "lex_pipe", "parse"]


class TemplateError(ValueError):
    """A template outside the supported subset, or one that failed to render."""


KV_METHODS = frozenset({"SortedPairs", "Names", "Values", "Remove"})


_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_TOKEN = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*")|(\|)|(-?\d+)|(\.[A-Za-z0-9_.]*)|([A-Za-z_]\w*))')


@dataclasses.dataclass
class Node:
    kind: str  # text, print, if, range, template
    text: str = ""
    pipe: list[list[Any]] = dataclasses.field(default_factory=list)
    body: list[Node] = dataclasses.field(default_factory=list)
    orelse: list[Node] = dataclasses.field(default_factory=list)


def lex_pipe(src: str) -> list[list[Any]]:
    commands: list[list[Any]] = [[]]
    pos = 0
    while pos < len(src.rstrip()):
        m = _TOKEN.match(src, pos)
        if m is None or m.end() == pos:
            msg = f"unsupported template syntax near {src[pos:].strip()!r}"
            raise TemplateError(msg)
        pos = m.end()
        lit, bar, num, path, ident = m.groups()
        if bar:
            commands.append([])
        elif lit is not None:
            try:
                commands[-1].append(("lit", json.loads(lit)))
            except ValueError:
                msg = f'unsupported string literal {lit}: use plain text and \\n, \\t, \\" escapes'
                raise TemplateError(msg) from None
        elif num is not None:
            commands[-1].append(("lit", int(num)))
        elif path is not None:
            commands[-1].append(("path", [p for p in path.split(".") if p]))
        else:
            commands[-1].append(("fn", ident))
    if any(not c for c in commands):
        msg = f"empty command in pipeline {src.strip()!r}"
        raise TemplateError(msg)
    return commands


def parse(src: str, known: Collection[str]) -> list[Node]:
    root: list[Node] = []
    stack: list[tuple[Node, list[Node]]] = []
    out = root
    pos = 0
    trim_next = False
    for m in _ACTION.finditer(src):
        text = src[pos : m.start()]
        if trim_next:
            text = text.lstrip()
        if m.group(1):
            text = text.rstrip()
        if text:
            out.append(Node("text", text))
        pos, trim_next = m.end(), bool(m.group(3))
        body = m.group(2).strip()
        word, _, rest = body.partition(" ")
        if body.startswith("/*"):
            continue
        if word in {"if", "range"}:
            node = Node(word, pipe=lex_pipe(rest))
            out.append(node)
            stack.append((node, out))
            out = node.body
        elif word == "else":
            if not stack:
                msg = "{{ else }} without if/range"
                raise TemplateError(msg)
            node = stack[-1][0]
            if rest.startswith("if "):  # else if: a nested if closed by the same end
                inner = Node("if", pipe=lex_pipe(rest[3:]))
                node.orelse.append(inner)
                stack[-1] = (inner, stack[-1][1])
                out = inner.body
            else:
                out = node.orelse
        elif word == "end":
            if not stack:
                msg = "{{ end }} without if/range"
                raise TemplateError(msg)
            out = stack.pop()[1]
        elif word == "template":
            m2 = re.fullmatch(r'"([^"]+)"\s*(.*)', rest.strip())
            if m2 is None or m2.group(1) not in known:
                names = ", ".join(sorted(known))
                msg = f"unsupported template {rest.strip()!r}; known: {names}"
                raise TemplateError(msg)
            out.append(Node("template", m2.group(1), pipe=lex_pipe(m2.group(2) or ".")))
        elif word in {"with", "define", "block", "break", "continue"} or "$" in body:
            msg = f"{{{{ {word} }}}} is not supported by tripod's built-in notifier"
            raise TemplateError(msg)
        else:
            out.append(Node("print", pipe=lex_pipe(body)))
    if stack:
        msg = "unclosed {{ if }} or {{ range }}: add {{ end }}"
        raise TemplateError(msg)
    tail = src[pos:]
    if trim_next:
        tail = tail.lstrip()
    if tail:
        out.append(Node("text", tail))
    return root


_TYPES: dict[str, dict[str, str]] = {
    "data": {"Receiver": "str", "Status": "str", "Alerts": "alerts", "GroupLabels": "kv",
             "CommonLabels": "kv", "CommonAnnotations": "kv", "ExternalURL": "str"},
    "alert": {"Status": "str", "Labels": "kv", "Annotations": "kv", "StartsAt": "time",
              "EndsAt": "time", "GeneratorURL": "str", "Fingerprint": "str"},
    "alerts": {"Firing": "alerts", "Resolved": "alerts"},
}  # fmt: skip
_FUNCS = {"eq": (2, "bool"), "ne": (2, "bool"), "lt": (2, "bool"), "le": (2, "bool"),
          "gt": (2, "bool"), "ge": (2, "bool"), "len": (1, "int"), "toUpper": (1, "str"),
          "toLower": (1, "str"), "title": (1, "str"), "join": (2, "str")}  # fmt: skip
_NEEDS_DATA = {"__subject", "__alertmanagerURL", "slack.default.title", "slack.default.fallback",
               "slack.default.titlelink", "email.default.subject"}  # fmt: skip


def _check_arg(arg: tuple[str, Any], dot: str) -> str:
    kind, value = arg
    if kind == "lit":
        return "int" if isinstance(value, int) else "str"
    if kind == "fn":
        msg = f"function {value!r} used as a value"
        raise TemplateError(msg)
    for part in value:
        if dot == "kv":
            if part in KV_METHODS:
                msg = f".{part} (a method of Alertmanager's KV) is not supported; name a label"
                raise TemplateError(msg)
            dot = "str"
            continue
        field = _TYPES.get(dot, {}).get(part)
        if field is None:
            msg = f"can't evaluate field {part} in type {dot}"
            raise TemplateError(msg)
        dot = field
    return dot


def _check_pipe(pipe: Sequence[Sequence[tuple[str, Any]]], dot: str) -> str:
    result = ""
    for i, command in enumerate(pipe):
        head = command[0]
        args = [_check_arg(a, dot) for a in command[1:]]
        if i > 0:
            args.append(result)
        if head[0] == "fn":
            arity, result = _FUNCS.get(head[1], (-1, ""))
            if arity != len(args):
                msg = f"unsupported function or arguments: {head[1]} with {len(args)} argument(s)"
                raise TemplateError(msg)
        elif len(command) == 1 and i == 0:
            result = _check_arg(head, dot)
        else:
            msg = "a value cannot take arguments"
            raise TemplateError(msg)
    return result


def check_nodes(nodes: Sequence[Node], dot: str) -> None:
    """Check every branch against the data's shape, not just the ones sample data reaches."""
    for node in nodes:
        if node.kind == "text":
            continue
        kind = _check_pipe(node.pipe, dot)
        if node.kind == "print" and kind not in {"str", "int", "bool", "time"}:
            msg = f"cannot print a {kind}: pick a field, e.g. .CommonLabels.alertname"
            raise TemplateError(msg)
        if node.kind == "template":
            need = "data" if node.text in _NEEDS_DATA else "alerts"
            if (node.text in _NEEDS_DATA or node.text == "__text_alert_list") and kind != need:
                what = "." if need == "data" else "a list of alerts"
                msg = f'template "{node.text}" must be called with {what}'
                raise TemplateError(msg)
        elif node.kind in {"if", "range"}:
            if node.kind == "range" and kind != "alerts":
                msg = "range needs a list of alerts (.Alerts, .Alerts.Firing, .Alerts.Resolved)"
                raise TemplateError(msg)
            check_nodes(node.body, "alert" if node.kind == "range" else dot)
            check_nodes(node.orelse, dot)
