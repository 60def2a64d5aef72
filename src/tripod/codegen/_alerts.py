"""One typed value per generated alert: the rule, its runbook text and its unit-test cases.

Rules, promtool tests and runbook pages are all rendered from :class:`Alert`, so a rule cannot
ship without a test or a runbook.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tripod.codegen._model import Service

_LABEL_REF = re.compile(r"\{\{ \$labels\.([a-zA-Z_][a-zA-Z0-9_]*) \}\}")


@dataclasses.dataclass(frozen=True)
class Series:
    """An input series of a promtool test, values in promtool's expanding notation."""

    series: str
    values: str


@dataclasses.dataclass(frozen=True)
class Case:
    """One promtool test of one alert name: inputs, a time, and the alerts expected then.

    Each expectation is the labels of the expression's result plus the rule labels (at least
    ``severity``) that pick the rule among rules sharing the alert name.
    """

    title: str
    series: tuple[Series, ...]
    eval_time: str
    expect: tuple[Mapping[str, str], ...]
    interval: str = "1m"


@dataclasses.dataclass(frozen=True)
class Alert:
    """A generated alerting rule with what its runbook says about it."""

    name: str
    expr: str
    severity: str
    summary: str
    description: str
    for_: str | None
    labels: Mapping[str, str]
    meaning: str
    impact: str
    checks: tuple[tuple[str, str], ...]  # (what to look at, PromQL)
    causes: tuple[str, ...]
    mitigation: tuple[str, ...]
    cases: tuple[Case, ...] = ()

    def rule(self, svc: Service) -> dict[str, Any]:
        """The rule as Prometheus's rule-file mapping."""
        rule: dict[str, Any] = {"alert": self.name, "expr": self.expr}
        if self.for_:
            rule["for"] = self.for_
        rule["labels"] = dict(sorted(self.all_labels().items()))
        rule["annotations"] = {
            "summary": self.summary,
            "description": self.description,
            "runbook_url": svc.runbook(self.name),
        }
        return rule

    def all_labels(self) -> dict[str, str]:
        return {**self.labels, "severity": self.severity}

    def annotations_for(self, labels: Mapping[str, str], svc: Service) -> dict[str, str]:
        """The annotations Prometheus renders for an alert with ``labels``: descriptions
        reference only ``{{ $labels.x }}``, so the rendering is exact."""
        description = _LABEL_REF.sub(lambda m: labels.get(m.group(1), ""), self.description)
        return {
            "description": description,
            "runbook_url": svc.runbook(self.name),
            "summary": self.summary,
        }


def check_alert_text(alert: Alert) -> None:
    """Conventions of the monitoring mixins, enforced where alerts are made."""
    if "{{" in alert.summary or not alert.summary.endswith("."):
        msg = f"{alert.name}: summary must be a static sentence ending in a period"
        raise ValueError(msg)
    leftover = _LABEL_REF.sub("", alert.description)
    if "{{" in leftover:
        msg = f"{alert.name}: description may template only $labels"
        raise ValueError(msg)


def promtool_tests(
    alerts: Sequence[Alert], rule_files: Sequence[str], group_order: Sequence[str], svc: Service
) -> dict[str, Any]:
    """A promtool test file: every case of every alert, expectations rendered in full.

    ``group_order`` fixes the evaluation order (promtool's is otherwise unspecified), so an
    alert group reads the recording rules of the same evaluation, as in one rule group."""
    by_name: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_name.setdefault(alert.name, []).append(alert)
    tests: list[dict[str, Any]] = []
    merged: dict[tuple[str, tuple[Series, ...], str], dict[str, Any]] = {}
    for alert in alerts:
        for case in alert.cases:
            expected = []
            for want in case.expect:
                rule = next(
                    a
                    for a in by_name[alert.name]
                    if all(a.all_labels().get(k, v) == v for k, v in want.items())
                )
                labels = {**rule.all_labels(), **want}
                # Templates see the expression's labels, not the rule's own.
                from_expr = {k: v for k, v in want.items() if k != "severity"}
                expected.append(
                    {
                        "exp_labels": dict(sorted(labels.items())),
                        "exp_annotations": rule.annotations_for(from_expr, svc),
                    }
                )
            check = {"eval_time": case.eval_time, "alertname": alert.name, "exp_alerts": expected}
            key = (alert.name, case.series, case.interval)
            if key in merged:
                # Same inputs, another time: one evaluation run serves both checks.
                merged[key]["name"] += f"; {case.title}"
                merged[key]["alert_rule_test"].append(check)
                continue
            merged[key] = {
                "name": f"{alert.name} ({alert.severity}): {case.title}",
                "interval": case.interval,
                "input_series": [{"series": s.series, "values": s.values} for s in case.series],
                "alert_rule_test": [check],
            }
            tests.append(merged[key])
    return {
        "rule_files": list(rule_files),
        "evaluation_interval": "1m",
        "group_eval_order": list(group_order),
        "tests": tests,
    }


def counter(segments: Sequence[tuple[int, float]]) -> str:
    """Counter values in promtool notation from ``(minutes, increase per minute)`` segments,
    starting at 0: ``[(180, 600), (60, 540)]`` -> ``0+600x180 108540+540x59``."""
    parts = []
    value = 0.0
    first = True
    for minutes, step in segments:
        if first:
            parts.append(f"{_num(value)}+{_num(step)}x{minutes}")
            value += step * minutes
            first = False
        else:
            start = value + step
            parts.append(f"{_num(start)}+{_num(step)}x{minutes - 1}")
            value += step * minutes
    return " ".join(parts)


def _num(value: float) -> str:
    return f"{value:.12g}"


def selector(name: str, matchers: Mapping[str, str]) -> str:
    """A series selector in promtool's input notation (equality matchers only)."""
    inner = ", ".join(f'{k}="{v}"' for k, v in matchers.items())
    return f"{name}{{{inner}}}"
