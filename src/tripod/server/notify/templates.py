"""The Go-template subset the built-in notifier renders, over Alertmanager's template data.

Supported: text; ``{{ .Field }}`` paths over the notification data (``.Status``, ``.Receiver``,
``.ExternalURL``, ``.GroupLabels.x``, ``.CommonLabels.x``, ``.CommonAnnotations.x``, ``.Alerts``,
``.Alerts.Firing``, ``.Alerts.Resolved``; inside ``range`` an alert's ``.Status``, ``.Labels.x``,
``.Annotations.x``, ``.StartsAt``, ``.EndsAt``, ``.GeneratorURL``, ``.Fingerprint``); string and
integer literals; pipelines ``|`` into ``toUpper``, ``toLower``, ``title``, ``len``, ``join "sep"``;
``eq ne lt le gt ge`` and ``len`` as calls; ``if``/``else if``/``else``/``end``; ``range``/``end``;
``{{-``/``-}}`` trimming; and ``{{ template "NAME" . }}`` for Alertmanager's default templates
(``__subject``, ``__alertmanagerURL``, ``__text_alert_list``, ``slack.default.*``,
``email.default.subject``). Anything else is a :class:`TemplateError` when the config is loaded.
Templates are interpreted here, never evaluated as Python.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from tripod.server.notify._template_syntax import (
    KV_METHODS,
    Node,
    TemplateError,
    check_nodes,
    parse,
)

__all__ = [
    "KV",
    "AlertData",
    "AlertList",
    "NotificationData",
    "Template",
    "TemplateError",
    "check",
    "sample_data",
]


class KV(dict[str, str]):
    """A label or annotation map; a missing key renders as "" (``missingkey=zero``)."""

    def sorted_values(self) -> list[str]:
        return [self[k] for k in sorted(self)]


@dataclasses.dataclass(frozen=True)
class AlertData:
    status: str
    labels: KV
    annotations: KV
    starts_at: float | None
    ends_at: float | None
    generator_url: str
    fingerprint: str


class AlertList(list[AlertData]):
    pass


@dataclasses.dataclass(frozen=True)
class NotificationData:
    receiver: str
    status: str
    alerts: AlertList
    group_labels: KV
    common_labels: KV
    common_annotations: KV
    external_url: str


_FIELDS: dict[type, dict[str, Callable[[Any], Any]]] = {
    NotificationData: {
        "Receiver": lambda d: d.receiver,
        "Status": lambda d: d.status,
        "Alerts": lambda d: d.alerts,
        "GroupLabels": lambda d: d.group_labels,
        "CommonLabels": lambda d: d.common_labels,
        "CommonAnnotations": lambda d: d.common_annotations,
        "ExternalURL": lambda d: d.external_url,
    },
    AlertData: {
        "Status": lambda a: a.status,
        "Labels": lambda a: a.labels,
        "Annotations": lambda a: a.annotations,
        "StartsAt": lambda a: _GoTime(a.starts_at),
        "EndsAt": lambda a: _GoTime(a.ends_at),
        "GeneratorURL": lambda a: a.generator_url,
        "Fingerprint": lambda a: a.fingerprint,
    },
    AlertList: {
        "Firing": lambda xs: AlertList(a for a in xs if a.status == "firing"),
        "Resolved": lambda xs: AlertList(a for a in xs if a.status == "resolved"),
    },
}


@dataclasses.dataclass(frozen=True)
class _GoTime:
    ts: float | None

    def __str__(self) -> str:  # Go's time.Time.String() in UTC
        if self.ts is None:
            return "0001-01-01 00:00:00 +0000 UTC"
        sec, frac_us = divmod(round(self.ts * 1e6), 1_000_000)
        frac = frac_us * 1000
        whole = datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%d %H:%M:%S")
        digits = f"{frac:09d}".rstrip("0")
        return f"{whole}{'.' + digits if digits else ''} +0000 UTC"


def _subject(d: NotificationData) -> str:
    status = d.status.upper()
    if d.status == "firing":
        status += f":{sum(a.status == 'firing' for a in d.alerts)}"
    out = f"[{status}] {' '.join(d.group_labels.sorted_values())} "
    if len(d.common_labels) > len(d.group_labels):
        rest = KV({k: v for k, v in d.common_labels.items() if k not in d.group_labels})
        out += f"({' '.join(rest.sorted_values())})"
    return out


def _am_url(d: NotificationData) -> str:
    return f"{d.external_url}/#/alerts?receiver={urllib.parse.quote_plus(d.receiver, safe='')}"


def _alert_list(alerts: Any) -> str:
    if not isinstance(alerts, list):
        msg = "template __text_alert_list needs a list of alerts (.Alerts, .Alerts.Firing, ...)"
        raise TemplateError(msg)
    out: list[str] = []
    for a in alerts:
        out.append("Labels:\n")
        out.extend(f" - {k} = {a.labels[k]}\n" for k in sorted(a.labels))
        out.append("Annotations:\n")
        out.extend(f" - {k} = {a.annotations[k]}\n" for k in sorted(a.annotations))
        out.append(f"Source: {a.generator_url}\n")
    return "".join(out)


def _needs_data(fn: Callable[[NotificationData], str]) -> Callable[[Any], str]:
    def call(value: Any) -> str:
        if not isinstance(value, NotificationData):
            msg = 'this default template must be called with the whole data: {{ template "x" . }}'
            raise TemplateError(msg)
        return fn(value)

    return call


_NAMED: dict[str, Callable[[Any], str]] = {
    "__alertmanager": lambda _: "Alertmanager",
    "__subject": _needs_data(_subject),
    "__description": lambda _: "",
    "__alertmanagerURL": _needs_data(_am_url),
    "__text_alert_list": _alert_list,
    "slack.default.title": _needs_data(_subject),
    "slack.default.username": lambda _: "Alertmanager",
    "slack.default.fallback": _needs_data(lambda d: f"{_subject(d)} | {_am_url(d)}"),
    "slack.default.titlelink": _needs_data(_am_url),
    "email.default.subject": _needs_data(_subject),
    **dict.fromkeys(
        [
            f"slack.default.{n}"
            for n in ("callbackid", "pretext", "iconemoji", "iconurl", "text", "footer")
        ],
        lambda _: "",
    ),
}


def _field(value: Any, name: str) -> Any:
    if isinstance(value, KV):
        if name in KV_METHODS:  # Go calls the method before looking up a key
            msg = f".{name} (a method of Alertmanager's KV) is not supported; name a label"
            raise TemplateError(msg)
        return value.get(name, "")
    getter = _FIELDS.get(type(value), {}).get(name)
    if getter is None:
        msg = f"can't evaluate field {name} in type {type(value).__name__}"
        raise TemplateError(msg)
    return getter(value)


def _truth(value: Any) -> bool:
    if isinstance(value, _GoTime):
        return value.ts is not None
    return bool(value)


def _compare(op: str, a: Any, b: Any) -> bool:
    if type(a) is not type(b) and not (isinstance(a, str) and isinstance(b, str)):
        msg = f"incompatible types for comparison: {a!r} {op} {b!r}"
        raise TemplateError(msg)
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "eq": lambda x, y: x == y, "ne": lambda x, y: x != y, "lt": lambda x, y: x < y,
        "le": lambda x, y: x <= y, "gt": lambda x, y: x > y, "ge": lambda x, y: x >= y,
    }  # fmt: skip
    return ops[op](a, b)


def _call(name: str, args: list[Any]) -> Any:
    if name in {"eq", "ne", "lt", "le", "gt", "ge"} and len(args) == 2:
        return _compare(name, args[0], args[1])
    if name == "len" and len(args) == 1 and isinstance(args[0], list | dict | str):
        return len(args[0])
    if name in {"toUpper", "toLower", "title"} and len(args) == 1 and isinstance(args[0], str):
        s = args[0]
        return s.upper() if name == "toUpper" else s.lower() if name == "toLower" else s.title()
    if name == "join" and len(args) == 2 and isinstance(args[1], list):
        return str(args[0]).join(str(x) for x in args[1])
    msg = f"unsupported function or arguments: {name} {args!r}"
    raise TemplateError(msg)


class Template:
    """A parsed template; :meth:`render` raises TemplateError on a bad field or argument."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._nodes = parse(source, _NAMED)
        check_nodes(self._nodes, "data")

    def render(self, data: NotificationData) -> str:
        out: list[str] = []
        self._run(self._nodes, data, out)
        return "".join(out)

    def _arg(self, arg: tuple[str, Any], dot: Any) -> Any:
        kind, value = arg
        if kind == "lit":
            return value
        if kind == "path":
            for part in value:
                dot = _field(dot, part)
            return dot
        msg = f"function {value!r} used as a value"
        raise TemplateError(msg)

    def _eval(self, pipe: Sequence[Sequence[tuple[str, Any]]], dot: Any) -> Any:
        result: Any = None
        for i, command in enumerate(pipe):
            head = command[0]
            args = [self._arg(a, dot) for a in command[1:]]
            if i > 0:
                args.append(result)
            if head[0] == "fn":
                result = _call(head[1], args)
            elif len(command) == 1 and i == 0:
                result = self._arg(head, dot)
            else:
                msg = "a value cannot take arguments"
                raise TemplateError(msg)
        return result

    def _run(self, nodes: Sequence[Node], dot: Any, out: list[str]) -> None:
        for node in nodes:
            if node.kind == "text":
                out.append(node.text)
            elif node.kind == "print":
                out.append(_show(self._eval(node.pipe, dot)))
            elif node.kind == "template":
                out.append(_NAMED[node.text](self._eval(node.pipe, dot)))
            elif node.kind == "if":
                branch = node.body if _truth(self._eval(node.pipe, dot)) else node.orelse
                self._run(branch, dot, out)
            else:
                items = self._eval(node.pipe, dot)
                if not isinstance(items, list):
                    msg = "range needs a list of alerts"
                    raise TemplateError(msg)
                for item in items:
                    self._run(node.body, item, out)
                if not items:
                    self._run(node.orelse, dot, out)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | _GoTime):
        return str(value)
    msg = f"cannot print a {type(value).__name__}: pick a field, e.g. .CommonLabels.alertname"
    raise TemplateError(msg)


def sample_data() -> NotificationData:
    """Data used to check templates when the config is loaded: one firing, one resolved."""
    labels = KV(alertname="Example", severity="page")
    alerts = AlertList(
        [
            AlertData("firing", labels, KV(summary="s"), 1.0, None, "http://x/graph", "0" * 16),
            AlertData("resolved", KV(alertname="Example"), KV(), 1.0, 2.0, "", "1" * 16),
        ]
    )
    return NotificationData("receiver", "firing", alerts, KV(alertname="Example"),
                            KV(alertname="Example"), KV(), "http://localhost")  # fmt: skip


def check(source: str, where: str) -> Template:
    """Parse and trial-render ``source``; the error names ``where``."""
    try:
        template = Template(source)
        template.render(sample_data())
    except TemplateError as exc:
        msg = f"{where}: {exc}"
        raise TemplateError(msg) from None
    return template
