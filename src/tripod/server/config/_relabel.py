"""Prometheus relabelling (``relabel_configs`` / ``metric_relabel_configs``): parse and apply.

Semantics follow prometheus/model/relabel: regexes are fully anchored, source label values are
joined with ``separator``, ``replacement`` expands ``$1``/``${1}``/``${name}`` as Go's
``regexp.Expand`` does (so ``$1x`` names a group "1x", which is empty: write ``${1}x``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping
from typing import Any

from tripod.server.config._units import ConfigError

__all__ = ["ACTIONS", "RelabelConfig", "expand", "parse_relabel_configs", "relabel"]

ACTIONS = (
    "replace",
    "keep",
    "drop",
    "keepequal",
    "dropequal",
    "hashmod",
    "labelmap",
    "labeldrop",
    "labelkeep",
    "lowercase",
    "uppercase",
)
_NEEDS_TARGET = {"replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal"}
_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
# A target label may hold $-templates for the replace action (Prometheus's relabelTarget).
_TARGET_TEMPLATE_RE = re.compile(r"^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+\Z")
_GROUP_REF_RE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_FIELDS = {
    "source_labels",
    "separator",
    "regex",
    "modulus",
    "target_label",
    "replacement",
    "action",
}


@dataclasses.dataclass(frozen=True)
class RelabelConfig:
    """One relabelling step, with Prometheus's defaults."""

    action: str = "replace"
    source_labels: tuple[str, ...] = ()
    separator: str = ";"
    regex: re.Pattern[str] = dataclasses.field(default_factory=lambda: _anchor("(.*)"))
    target_label: str = ""
    replacement: str = "$1"
    modulus: int = 0


def _anchor(pattern: str) -> re.Pattern[str]:
    return re.compile(f"^(?:{pattern})\\Z", re.DOTALL)


def _convert_go_regex(pattern: str) -> str:
    # Go's RE2 names groups (?P<name>...) like Python; (?<name>...) is Python 3.11+ invalid.
    return re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", pattern)


def parse_relabel_configs(raw: Any, where: str) -> tuple[RelabelConfig, ...]:
    """Validate a YAML list of relabel configs; ``where`` names it in error messages."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        msg = f"{where}: expected a list of relabel configs, got {type(raw).__name__}"
        raise ConfigError(msg)
    return tuple(_parse_one(item, f"{where}[{i}]") for i, item in enumerate(raw))


def _parse_one(raw: Any, where: str) -> RelabelConfig:
    if not isinstance(raw, dict):
        msg = f"{where}: expected a mapping with 'action', 'source_labels', ..., got {raw!r}"
        raise ConfigError(msg)
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        msg = f"{where}: unknown field {unknown[0]!r}; supported: {', '.join(sorted(_FIELDS))}"
        raise ConfigError(msg)
    action = str(raw.get("action", "replace")).lower()
    if action not in ACTIONS:
        msg = f"{where}.action: unknown action {action!r}; expected one of {', '.join(ACTIONS)}"
        raise ConfigError(msg)
    sources = raw.get("source_labels") or []
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        msg = f"{where}.source_labels: expected a list of label names, got {sources!r}"
        raise ConfigError(msg)
    for name in sources:
        if not _LABEL_NAME_RE.match(name):
            msg = f"{where}.source_labels: {name!r} is not a valid label name"
            raise ConfigError(msg)
    pattern = raw.get("regex", "(.*)")
    try:
        regex = _anchor(_convert_go_regex(str(pattern)))
    except re.error as exc:
        msg = f"{where}.regex: {pattern!r} is not a valid regular expression ({exc})"
        raise ConfigError(msg) from None
    target = str(raw.get("target_label", ""))
    if action in _NEEDS_TARGET and not target:
        msg = f"{where}.target_label: the {action!r} action needs a target_label"
        raise ConfigError(msg)
    if target and action == "replace" and not _TARGET_TEMPLATE_RE.match(target):
        msg = f"{where}.target_label: {target!r} is not a valid label name or $-template"
        raise ConfigError(msg)
    if target and action != "replace" and not _LABEL_NAME_RE.match(target):
        msg = f"{where}.target_label: {target!r} is not a valid label name"
        raise ConfigError(msg)
    modulus = raw.get("modulus", 0)
    if action == "hashmod" and (not isinstance(modulus, int) or modulus <= 0):
        msg = f"{where}.modulus: the hashmod action needs a positive integer, got {modulus!r}"
        raise ConfigError(msg)
    if action in {"labeldrop", "labelkeep"} and (sources or target):
        msg = f"{where}: the {action!r} action takes only 'regex' (no source_labels/target_label)"
        raise ConfigError(msg)
    return RelabelConfig(
        action=action,
        source_labels=tuple(sources),
        separator=str(raw.get("separator", ";")),
        regex=regex,
        target_label=target,
        replacement=str(raw.get("replacement", "$1")),
        modulus=int(modulus) if isinstance(modulus, int) else 0,
    )


def expand(template: str, match: re.Match[str]) -> str:
    """Go ``regexp.Expand``: ``$n``, ``${n}``, ``$name``, ``${name}``; ``$$`` is a dollar."""
    out: list[str] = []
    i = 0
    while i < len(template):
        dollar = template.find("$", i)
        if dollar < 0:
            out.append(template[i:])
            break
        out.append(template[i:dollar])
        if template.startswith("$$", dollar):
            out.append("$")
            i = dollar + 2
            continue
        ref = _GROUP_REF_RE.match(template, dollar)
        if ref is None:  # malformed: the dollar is literal text
            out.append("$")
            i = dollar + 1
            continue
        name = ref.group(1) or ref.group(2)
        out.append(_group(match, name))
        i = ref.end()
    return "".join(out)


def _group(match: re.Match[str], name: str) -> str:
    try:
        value = match.group(int(name) if name.isdigit() else name)
    except IndexError:  # no such group: empty, as in Go
        return ""
    return value or ""


def relabel(labels: Mapping[str, str], configs: tuple[RelabelConfig, ...]) -> dict[str, str] | None:
    """Apply ``configs`` in order; None when a step drops the label set."""
    out = dict(labels)
    for cfg in configs:
        action = cfg.action
        value = cfg.separator.join(out.get(name, "") for name in cfg.source_labels)
        if action == "replace":
            match = cfg.regex.match(value)
            if match is None:
                continue
            target = expand(cfg.target_label, match)
            if not _LABEL_NAME_RE.match(target):
                continue
            result = expand(cfg.replacement, match)
            if result:
                out[target] = result
            else:
                out.pop(target, None)
        elif action == "keep":
            if cfg.regex.match(value) is None:
                return None
        elif action == "drop":
            if cfg.regex.match(value) is not None:
                return None
        elif action == "keepequal":
            if value != out.get(cfg.target_label, ""):
                return None
        elif action == "dropequal":
            if value == out.get(cfg.target_label, ""):
                return None
        elif action == "hashmod":
            digest = hashlib.md5(value.encode(), usedforsecurity=False).digest()
            out[cfg.target_label] = str(int.from_bytes(digest[8:], "big") % cfg.modulus)
        elif action == "lowercase":
            out[cfg.target_label] = value.lower()
        elif action == "uppercase":
            out[cfg.target_label] = value.upper()
        elif action == "labelmap":
            for name, label_value in list(out.items()):
                match = cfg.regex.match(name)
                if match is not None:
                    out[expand(cfg.replacement, match)] = label_value
        elif action == "labeldrop":
            out = {k: v for k, v in out.items() if cfg.regex.match(k) is None}
        elif action == "labelkeep":
            out = {k: v for k, v in out.items() if cfg.regex.match(k) is not None}
    return {k: v for k, v in out.items() if v}
