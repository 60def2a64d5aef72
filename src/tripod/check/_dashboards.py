"""Grafana dashboard JSON: grafana/dashboard-linter's rules, plus the PromQL checks of rule files.

Template variables are replaced before parsing (``[$__rate_interval]`` by a range, ``"$job"`` by a
regex, a bare ``$var`` by a placeholder name); a query that only fails to parse because of a
variable is not reported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from tripod.check import _promql
from tripod.check._model import RULES, Finding, Severity
from tripod.check._refs import PromqlUse
from tripod.check._rulefiles import check_selectors

_VAR = re.compile(r"\$\{[^}]*\}|\$\w+|\[\[\w+\]\]")
_RANGE = re.compile(r"\[([^\]]*)\]")
_RATE_RANGE = re.compile(r"\b(rate|irate|increase)\s*\(.*?\[([^\]:]+)\]", re.S)


def is_dashboard(data: object) -> bool:
    if isinstance(data, dict) and isinstance(data.get("dashboard"), dict):
        data = data["dashboard"]
    return isinstance(data, dict) and isinstance(data.get("panels"), list) and "title" in data


def _panels(panels: object) -> Iterator[dict[str, Any]]:
    for panel in panels if isinstance(panels, list) else []:
        if isinstance(panel, dict):
            if panel.get("type") == "row":
                yield from _panels(panel.get("panels"))
            else:
                yield panel


def substitute(expr: str) -> str:
    """The query with Grafana's template variables replaced by parseable stand-ins."""

    def in_range(m: re.Match[str]) -> str:
        return "[" + _VAR.sub("5m", m.group(1)) + "]"

    out = _RANGE.sub(in_range, expr)
    pieces = re.split(r'("(?:[^"\\]|\\.)*")', out)
    return "".join(
        _VAR.sub(".*", p) if p.startswith('"') else _VAR.sub("__tripod_var__", p) for p in pieces
    )


class DashboardChecker:
    def __init__(self, path: str, text: str, scrape: float, known_counters: frozenset[str]) -> None:
        self.path = path
        self.text = text
        self.scrape = scrape
        self.scrape_known = True
        self.known_counters = known_counters
        self.findings: list[Finding] = []
        self.uses: list[PromqlUse] = []
        self._line = 1

    def add(self, rule: str, line: int, message: str, severity: Severity | None = None) -> None:
        r = RULES[rule]
        level = r.severity if severity is None else severity
        self.findings.append(Finding(self.path, line, 1, rule, level, message, r.hint))

    def line_of(self, needle: str, start: int = 0) -> int:
        found = self.text.find(needle, start)
        return self.text.count("\n", 0, found) + 1 if found >= 0 else 1

    def check(self, data: dict[str, Any]) -> None:
        if isinstance(data.get("dashboard"), dict):
            data = data["dashboard"]
        templating = data.get("templating")
        listed = templating.get("list") if isinstance(templating, dict) else None
        variables = [v for v in listed if isinstance(v, dict)] if isinstance(listed, list) else []
        types = {str(v.get("name")): str(v.get("type")) for v in variables}
        title_line = self.line_of(json.dumps(data.get("title", "")))
        if "datasource" not in types.values():
            self.add(
                "dashboard-template-datasource",
                title_line,
                "no template variable of type datasource",
            )
        missing = [n for n in ("job", "instance") if n not in types]
        if missing:
            self.add(
                "dashboard-template-job", title_line, f"no {' or '.join(missing)} template variable"
            )
        ds_vars = {n for n, t in types.items() if t == "datasource"}
        for panel in _panels(data.get("panels")):
            self._panel(panel, ds_vars)

    def _panel(self, panel: dict[str, Any], ds_vars: set[str]) -> None:
        title = str(panel.get("title") or "")
        anchor = json.dumps(title) if title else '"type"'
        line = self.line_of(anchor)
        name = title or f"panel {panel.get('id', '?')}"
        if panel.get("type") in {"text", "news", "dashlist", "alertlist"}:
            return
        if not title or not panel.get("description"):
            self.add("dashboard-panel-title", line, f"{name}: no title or description")
        ds = panel.get("datasource")
        uid = ds.get("uid") if isinstance(ds, dict) else ds
        if ds_vars and not (isinstance(uid, str) and uid.strip("${}") in ds_vars):
            self.add(
                "dashboard-panel-datasource",
                line,
                f"{name}: datasource {uid!r} is not a datasource variable",
            )
        config = panel.get("fieldConfig")
        defaults = config.get("defaults") if isinstance(config, dict) else None
        unit = defaults.get("unit") if isinstance(defaults, dict) else None
        if not unit and panel.get("type") in {"timeseries", "graph", "stat", "gauge", "bargauge"}:
            self.add("dashboard-panel-units", line, f"{name}: no unit")
        targets = panel.get("targets")
        for target in targets if isinstance(targets, list) else []:
            if isinstance(target, dict):
                self._target(target, name, line)

    def _target(self, target: dict[str, Any], name: str, panel_line: int) -> None:
        expr = target.get("expr")
        if not isinstance(expr, str) or not expr.strip():
            if target.get("hide") is not True:
                self.add("dashboard-empty-target", panel_line, f"{name}: target has no expr")
            return
        line = self.line_of(json.dumps(expr)[1:-1]) if expr else panel_line
        for fn, rng in _RATE_RANGE.findall(expr):
            if rng.strip() not in {"$__rate_interval", "$__range", "${__rate_interval}"}:
                self.add(
                    "dashboard-rate-interval",
                    line,
                    f"{name}: {fn}(…[{rng}]) instead of [$__rate_interval]",
                )
        if not _promql.AVAILABLE:
            return
        has_var = bool(_VAR.search(expr))
        try:
            facts = _promql.facts(substitute(expr))
        except ValueError as exc:
            if not has_var:
                self.add("promql-syntax", line, f"{name}: {exc}")
            return
        check_selectors(self, facts, line, name, range_rule=False)
