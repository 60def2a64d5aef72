"""The subset of Alertmanager 0.25's YAML that the built-in notifier understands.

Top level: ``global`` (``resolve_timeout``, ``smtp_*``, ``slack_api_url``/``_file``), ``route``
(``receiver``, ``matchers``, ``match``, ``match_re``, ``group_by`` with ``...``, ``group_wait``,
``group_interval``, ``repeat_interval``, ``continue``, ``routes``; children inherit),
``inhibit_rules`` (``source_matchers``, ``target_matchers``, ``source_match(_re)``,
``target_match(_re)``, ``equal``) and ``receivers`` with ``webhook_configs``, ``slack_configs`` and
``email_configs`` (fields in :mod:`tripod.server.notify._receiver_config`). Alertmanager's own
checks are repeated (unique receiver names, a root receiver, no root matchers, known receivers).
Every other field is a :class:`ConfigError` that names it: nothing is silently ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tripod.server.notify._receiver_config import (
    EmailConfig,
    ReceiverConfig,
    SlackConfig,
    WebhookConfig,
    parse_receiver,
)
from tripod.server.notify._wire import parse_duration
from tripod.server.notify.client import ConfigError
from tripod.server.notify.matchers import (
    LABEL_NAME,
    Matcher,
    MatcherError,
    matchers_string,
    matches_all,
    parse_matchers,
)

__all__ = [
    "EmailConfig",
    "InhibitRule",
    "NotifierConfig",
    "ReceiverConfig",
    "Route",
    "SlackConfig",
    "WebhookConfig",
    "load_config",
    "parse_config",
]

_TOP = {"global", "route", "inhibit_rules", "receivers", "templates"}
_GLOBAL = {
    "resolve_timeout", "smtp_from", "smtp_smarthost", "smtp_hello", "smtp_auth_username",
    "smtp_auth_password", "smtp_auth_password_file", "smtp_auth_identity", "smtp_require_tls",
    "slack_api_url", "slack_api_url_file",
}  # fmt: skip
_ROUTE = {
    "receiver", "group_by", "matchers", "match", "match_re", "group_wait", "group_interval",
    "repeat_interval", "continue", "routes",
}  # fmt: skip
_INHIBIT = {
    "source_matchers", "target_matchers", "source_match", "source_match_re", "target_match",
    "target_match_re", "equal",
}  # fmt: skip


@dataclasses.dataclass(frozen=True, eq=False)
class Route:
    """One node of the routing tree with its options resolved (inherited from the parent)."""

    receiver: str
    matchers: tuple[Matcher, ...]
    group_by: frozenset[str]
    group_by_all: bool
    group_wait: float
    group_interval: float
    repeat_interval: float
    continue_: bool
    key: str
    routes: tuple[Route, ...] = ()

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """Alertmanager's ``Route.Match``: the deepest matching routes, honouring ``continue``."""
        if not matches_all(self.matchers, labels):
            return []
        found: list[Route] = []
        for child in self.routes:
            matched = child.match(labels)
            found.extend(matched)
            if matched and not child.continue_:
                break
        return found or [self]

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        return {k: v for k, v in labels.items() if self.group_by_all or k in self.group_by}


@dataclasses.dataclass(frozen=True)
class InhibitRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class NotifierConfig:
    route: Route
    receivers: Mapping[str, ReceiverConfig]
    inhibit_rules: tuple[InhibitRule, ...]
    resolve_timeout: float


def _unknown(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(raw) - allowed)
    if extra:
        msg = (
            f"{where}{'.' if where else ''}{extra[0]}: not supported by tripod's built-in "
            f"notifier (supported here: {', '.join(sorted(allowed))})"
        )
        raise ConfigError(msg)


def _mapping(raw: Any, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        msg = f"{where}: expected a mapping, got {type(raw).__name__}"
        raise ConfigError(msg)
    return raw


def _duration(raw: Any, where: str) -> float:
    try:
        return parse_duration(raw, where)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _matchers(raw: Mapping[str, Any], prefix: str, where: str) -> tuple[Matcher, ...]:
    found: list[Matcher] = []
    try:
        for kind, op in (("match", "="), ("match_re", "=~")):
            pairs = _mapping(raw.get(f"{prefix}{kind}"), f"{where}.{prefix}{kind}")
            for name, value in pairs.items():
                if not LABEL_NAME.match(str(name)):
                    msg = f"{where}.{prefix}{kind}: invalid label name {name!r}"
                    raise ConfigError(msg)
                found.append(Matcher.make(str(name), op, str(value)))
        items = raw.get(f"{prefix}matchers") or []
        if not isinstance(items, list):
            msg = f"{where}.{prefix}matchers: expected a list of strings like 'severity=\"page\"'"
            raise ConfigError(msg)
        for item in items:
            found.extend(parse_matchers(str(item)))
    except MatcherError as exc:
        msg = f"{where}.{prefix}matchers: {exc}"
        raise ConfigError(msg) from None
    return tuple(sorted(found, key=Matcher.sort_key))


def _route(raw: Any, parent: Route | None, where: str) -> Route:
    raw = _mapping(raw, where)
    _unknown(raw, _ROUTE, where)
    matchers = _matchers(raw, "", where)
    if parent is None and matchers:
        msg = f"{where}: the root route must not have any matchers"
        raise ConfigError(msg)
    group_by, group_by_all = (
        (parent.group_by, parent.group_by_all) if parent else (frozenset(), False)
    )
    if raw.get("group_by"):  # an empty list inherits, as in Alertmanager (nil GroupBy)
        if not isinstance(raw["group_by"], list):
            msg = f"{where}.group_by: expected a list of label names"
            raise ConfigError(msg)
        names = [str(n) for n in raw["group_by"]]
        if "..." in names and len(names) > 1:
            msg = f"{where}.group_by: cannot have wildcard group_by (`...`) and other labels"
            raise ConfigError(msg)
        for name in names:
            if name != "..." and not LABEL_NAME.match(name):
                msg = f"{where}.group_by: invalid label name {name!r}"
                raise ConfigError(msg)
        if len(set(names)) != len(names):
            msg = f"{where}.group_by: duplicated label"
            raise ConfigError(msg)
        group_by_all = names == ["..."]
        group_by = frozenset() if group_by_all else frozenset(names)
    timers: dict[str, float] = {}
    for field, default in (("group_wait", 30.0), ("group_interval", 300.0),
                           ("repeat_interval", 4 * 3600.0)):  # fmt: skip
        inherited = getattr(parent, field) if parent else default
        timers[field] = _duration(raw[field], f"{where}.{field}") if field in raw else inherited
        if field != "group_wait" and timers[field] == 0:
            msg = f"{where}.{field}: cannot be zero"
            raise ConfigError(msg)
    receiver = str(raw.get("receiver") or (parent.receiver if parent else ""))
    if parent is None and not receiver:
        msg = f"{where}.receiver: the root route must specify a default receiver"
        raise ConfigError(msg)
    key = (parent.key + "/" if parent else "") + matchers_string(matchers)
    node = Route(
        receiver=receiver,
        matchers=matchers,
        group_by=group_by,
        group_by_all=group_by_all,
        group_wait=timers["group_wait"],
        group_interval=timers["group_interval"],
        repeat_interval=timers["repeat_interval"],
        continue_=bool(raw.get("continue", False)),
        key=key,
    )
    children = raw.get("routes") or []
    if not isinstance(children, list):
        msg = f"{where}.routes: expected a list"
        raise ConfigError(msg)
    kids = tuple(_route(c, node, f"{where}.routes[{i}]") for i, c in enumerate(children))
    return dataclasses.replace(node, routes=kids)


def _check_receivers(route: Route, names: Mapping[str, Any], where: str) -> None:
    if route.receiver not in names:
        msg = f"{where}: undefined receiver {route.receiver!r} used in route"
        raise ConfigError(msg)
    for i, child in enumerate(route.routes):
        _check_receivers(child, names, f"{where}.routes[{i}]")


def parse_config(raw: Any) -> NotifierConfig:
    """Validate a parsed alertmanager.yml; raises ConfigError naming the offending field."""
    top = _mapping(raw, "alertmanager config")
    _unknown(top, _TOP, "")
    if top.get("templates"):
        msg = "templates: custom template files are not supported; use inline templates"
        raise ConfigError(msg)
    glob = _mapping(top.get("global"), "global")
    _unknown(glob, _GLOBAL, "global")
    for a, b in (("slack_api_url", "slack_api_url_file"),
                 ("smtp_auth_password", "smtp_auth_password_file")):  # fmt: skip
        if glob.get(a) and glob.get(b):
            msg = f"global: at most one of {a} & {b} must be configured"
            raise ConfigError(msg)
    receivers: dict[str, ReceiverConfig] = {}
    raw_receivers = top.get("receivers") or []
    if not isinstance(raw_receivers, list):
        msg = "receivers: expected a list"
        raise ConfigError(msg)
    for i, item in enumerate(raw_receivers):
        rc = parse_receiver(_mapping(item, f"receivers[{i}]"), glob, f"receivers[{i}]")
        if rc.name in receivers:
            msg = f"receivers[{i}].name: notification config name {rc.name!r} is not unique"
            raise ConfigError(msg)
        receivers[rc.name] = rc
    if top.get("route") is None:
        msg = "route: no routes provided"
        raise ConfigError(msg)
    route = _route(top["route"], None, "route")
    _check_receivers(route, receivers, "route")
    rules: list[InhibitRule] = []
    raw_rules = top.get("inhibit_rules") or []
    if not isinstance(raw_rules, list):
        msg = "inhibit_rules: expected a list"
        raise ConfigError(msg)
    for i, item in enumerate(raw_rules):
        where = f"inhibit_rules[{i}]"
        rule = _mapping(item, where)
        _unknown(rule, _INHIBIT, where)
        raw_equal = rule.get("equal") or []
        equal = [str(n) for n in raw_equal] if isinstance(raw_equal, list) else [str(raw_equal)]
        if not isinstance(raw_equal, list) or any(not LABEL_NAME.match(n) for n in equal):
            msg = f"{where}.equal: expected label names, got {equal!r}"
            raise ConfigError(msg)
        rules.append(
            InhibitRule(
                _matchers(rule, "source_", where), _matchers(rule, "target_", where), tuple(equal)
            )
        )
    resolve = _duration(glob.get("resolve_timeout", "5m"), "global.resolve_timeout")
    return NotifierConfig(route, receivers, tuple(rules), resolve)


def load_config(path: Path) -> NotifierConfig:
    """Read and validate an alertmanager.yml; errors name the file and the field."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        msg = f"{path}: {exc}"
        raise ConfigError(msg) from None
    try:
        return parse_config(raw)
    except ConfigError as exc:
        msg = f"{path}: {exc}"
        raise ConfigError(msg) from None
