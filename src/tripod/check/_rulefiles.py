"""Prometheus rule files: pint's offline checks (cloudflare/pint ``docs/checks``), with lines.

A rule file is YAML whose document holds ``groups: [{name, rules: [...]}]`` (or a
``PrometheusRule`` whose ``spec`` does). The YAML is composed, not loaded, so every finding
points at the line of the rule or of its ``expr``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import yaml

from tripod.check import _promql
from tripod.check._config import seconds
from tripod.check._model import RULES, Finding, Severity
from tripod.check._refs import PromqlUse

_TEMPLATE_LABEL = re.compile(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)|\.Labels\.([a-zA-Z_]\w*)")


@dataclasses.dataclass(frozen=True)
class RuleNode:
    kind: str  # "alert" or "record"
    name: str
    expr: str
    line: int
    expr_line: int
    has_for: bool
    labels: dict[str, str]
    annotations: dict[str, str]


def _get(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                found: yaml.Node = v
                return found
    return None


def _scalar_map(node: yaml.Node | None) -> dict[str, str]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {
        str(k.value): str(v.value)
        for k, v in node.value
        if isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode)
    }


def _groups(doc: yaml.Node) -> yaml.SequenceNode | None:
    groups = _get(doc, "groups")
    if groups is None and isinstance(_get(doc, "spec"), yaml.MappingNode):
        kind = _get(doc, "kind")
        if isinstance(kind, yaml.ScalarNode) and kind.value == "PrometheusRule":
            groups = _get(_get(doc, "spec"), "groups")  # type: ignore[arg-type]
    return groups if isinstance(groups, yaml.SequenceNode) else None


def compose(text: str) -> list[yaml.Node]:
    """The documents of a YAML file; raises yaml.YAMLError."""
    return [d for d in yaml.compose_all(text, Loader=yaml.SafeLoader) if d is not None]


def is_rule_file(docs: list[yaml.Node]) -> bool:
    return any(_groups(d) is not None and _rule_list(_groups(d)) for d in docs)  # type: ignore[arg-type]


def _rule_list(groups: yaml.SequenceNode) -> list[yaml.Node]:
    out: list[yaml.Node] = []
    for group in groups.value:
        rules = _get(group, "rules")
        if isinstance(rules, yaml.SequenceNode):
            out.extend(rules.value)
    return out


def rules_of(docs: list[yaml.Node]) -> Iterator[RuleNode]:
    for doc in docs:
        groups = _groups(doc)
        if groups is None:
            continue
        for rule in _rule_list(groups):
            kind = "alert" if _get(rule, "alert") is not None else "record"
            name_node = _get(rule, kind)
            expr_node = _get(rule, "expr")
            if not isinstance(name_node, yaml.ScalarNode) or not isinstance(
                expr_node, yaml.ScalarNode
            ):
                continue
            yield RuleNode(
                kind,
                str(name_node.value),
                str(expr_node.value),
                rule.start_mark.line + 1,
                expr_node.start_mark.line + 1,
                _get(rule, "for") is not None,
                _scalar_map(_get(rule, "labels")),
                _scalar_map(_get(rule, "annotations")),
            )


def openslo_queries(docs: list[yaml.Node]) -> list[tuple[str, int]]:
    """(query, line) of every ``query:`` in OpenSLO documents (``apiVersion: openslo/...``)."""
    out: list[tuple[str, int]] = []

    def walk(node: yaml.Node) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == "query" and isinstance(value, yaml.ScalarNode):
                    out.append((str(value.value), value.start_mark.line + 1))
                else:
                    walk(value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item)

    for doc in docs:
        api = _get(doc, "apiVersion")
        if isinstance(api, yaml.ScalarNode) and str(api.value).startswith("openslo/"):
            walk(doc)
    return out


def scrape_interval(docs: list[yaml.Node]) -> float | None:
    """The shortest scrape interval of a prometheus.yml (``global`` or a job's), in seconds."""
    found: list[float] = []
    for doc in docs:
        glob = _get(doc, "global")
        jobs = _get(doc, "scrape_configs")
        holders = [glob] if glob is not None else []
        if isinstance(jobs, yaml.SequenceNode):
            holders.extend(jobs.value)
        for holder in holders:
            value = _get(holder, "scrape_interval")
            if isinstance(value, yaml.ScalarNode) and (s := seconds(str(value.value))):
                found.append(s)
    return min(found) if found else None


class RuleChecker:
    """Checks the rules of one file; ``uses`` collects the metric names for the catalog check."""

    def __init__(
        self, path: str, scrape: float, known_counters: frozenset[str], *, scrape_known: bool = True
    ) -> None:
        self.path = path
        self.scrape = scrape
        self.scrape_known = scrape_known
        self.known_counters = known_counters
        self.findings: list[Finding] = []
        self.uses: list[PromqlUse] = []
        self._seen: dict[tuple[str, str, str, str], int] = {}

    def add(self, rule: str, line: int, message: str, severity: Severity | None = None) -> None:
        r = RULES[rule]
        level = r.severity if severity is None else severity
        self.findings.append(Finding(self.path, line, 1, rule, level, message, r.hint))

    def check(self, rule: RuleNode) -> None:
        labels = ",".join(f"{k}={v}" for k, v in sorted(rule.labels.items()))
        key = (rule.kind, rule.name, " ".join(rule.expr.split()), labels)
        if key in self._seen:
            self.add(
                "rule-duplicate",
                rule.line,
                f"{rule.kind} {rule.name} repeats the rule at line {self._seen[key]}",
            )
        self._seen.setdefault(key, rule.line)
        if rule.kind == "alert":
            self._alert_metadata(rule)
        if not _promql.AVAILABLE:
            return
        try:
            facts = _promql.facts(rule.expr)
        except ValueError as exc:
            self.add("promql-syntax", rule.expr_line, f"{rule.name}: {exc}")
            return
        check_selectors(self, facts, rule.expr_line, rule.name)
        if rule.kind == "alert":
            self._alert_query(rule, facts)

    def _alert_metadata(self, rule: RuleNode) -> None:
        if not rule.has_for:
            self.add("alert-for", rule.line, f"alert {rule.name} has no `for`")
        if "severity" not in rule.labels:
            self.add("alert-labels", rule.line, f"alert {rule.name} has no severity label")
        missing = [a for a in ("summary", "runbook_url") if a not in rule.annotations]
        if missing:
            self.add(
                "alert-annotations",
                rule.line,
                f"alert {rule.name} has no {' or '.join(missing)} annotation",
            )

    def _alert_query(self, rule: RuleNode, facts: _promql.Facts) -> None:
        absent = facts.top_call in {"absent", "absent_over_time"} or any(
            "absent" in s.functions for s in facts.selectors
        )
        if absent and not rule.has_for:
            self.add(
                "alert-absent-for", rule.expr_line, f"alert {rule.name} uses absent() without `for`"
            )
        if not facts.has_comparison:
            self.add(
                "alert-comparison",
                rule.expr_line,
                f"alert {rule.name} has no comparison: any value fires it",
            )
        kept = facts.output_labels
        if kept is None:
            return
        texts = {**rule.labels, **rule.annotations}
        for field, text in texts.items():
            for match in _TEMPLATE_LABEL.finditer(text):
                label = match.group(1) or match.group(2)
                if label not in kept:
                    self.add(
                        "alert-template-label",
                        rule.expr_line,
                        f"alert {rule.name}: {field} reads $labels.{label}, which the query "
                        f"drops (it keeps: {', '.join(sorted(kept)) or 'no labels'})",
                    )


def check_selectors(
    sink: Any, facts: _promql.Facts, line: int, where: str, *, range_rule: bool = True
) -> None:
    """The per-selector checks shared by rule files and dashboards; ``sink`` has ``add``,
    ``uses``, ``scrape``, ``path`` and ``known_counters``."""
    for sel in facts.selectors:
        if sel.name:
            sink.uses.append(PromqlUse(sel.name, sink.path, line, where))
        counterish = _promql.counter_like(sel.name) or sel.name in sink.known_counters
        funcs = sel.functions
        inner = funcs[-1] if funcs else ""
        if sel.range is not None and inner in _promql.COUNTER_FUNCTIONS:
            if sel.name and not counterish and ":" not in sel.name:
                sink.add(
                    "rate-non-counter", line, f"{inner}() over {sel.name}, which is not a counter"
                )
            rng = sel.range.total_seconds()
            if range_rule and inner in {"rate", "increase"} and rng < 4 * sink.scrape:
                sink.add(
                    "rate-range",
                    line,
                    f"{inner}({sel.name}[{int(rng)}s]) is shorter than 4x the "
                    f"{int(sink.scrape)}s scrape interval"
                    + (
                        "" if sink.scrape_known else " (assumed: no prometheus.yml or config found)"
                    ),
                    None if sink.scrape_known else Severity.WARNING,
                )
        elif (
            sel.range is None
            and counterish
            and not sel.name.endswith("_created")
            and ":" not in sel.name
            and not any(f in _promql.PRESENCE or f == "subquery" for f in funcs)
        ):
            sink.add(
                "counter-without-rate", line, f"{where}: counter {sel.name} is used without rate()"
            )
        for label, raw in sel.regexes:
            problem = _promql.regexp_problem(raw)
            if problem:
                sink.add("promql-regexp", line, f"{sel.name or 'selector'}{{{label}}}: {problem}")
