"""Findings, severities and the table of rules ``tripod check`` knows."""

from __future__ import annotations

import dataclasses
import enum


class Severity(enum.IntEnum):
    """pint's ladder: ``info`` < ``warning`` < ``bug`` < ``fatal``."""

    INFO = 0
    WARNING = 1
    BUG = 2
    FATAL = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            msg = f"unknown severity {text!r}: expected one of info, warning, bug, fatal"
            raise ValueError(msg) from None


@dataclasses.dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    hint: str


@dataclasses.dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    col: int
    rule: str
    severity: Severity
    message: str
    hint: str

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity.label,
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "message": self.message,
            "hint": self.hint,
        }


_I, _W, _B, _F = Severity.INFO, Severity.WARNING, Severity.BUG, Severity.FATAL

_TABLE: tuple[tuple[str, Severity, str, str], ...] = (
    # Python code
    (
        "coverage",
        _B,
        "HTTP route or Celery task in an app that is never instrumented",
        "call tripod.init() and tripod.instrument(app) (or start the app with `tripod run`)",
    ),
    (
        "never-recorded",
        _B,
        "metric declared but never incremented, observed or set",
        "record it where the event happens (.inc()/.observe()/.set()) or delete the declaration",
    ),
    (
        "unit-mismatch",
        _B,
        "the values recorded are not in the unit the metric's name says",
        "record base units (seconds, bytes) and name the metric after them",
    ),
    (
        "cardinality",
        _B,
        "label value from an unbounded source (path, id, f-string, uuid, error)",
        "use a bounded value: the route template, a status class, an exception class name",
    ),
    (
        "cardinality-kwargs",
        _W,
        "labels passed as **kwargs of unknown keys",
        "pass the label names explicitly, from a fixed set",
    ),
    (
        "log-secret",
        _B,
        "a secret (password, token, api key, cookie …) passed to a log call",
        "log that the value exists or a hash of it, never the value",
    ),
    (
        "log-fstring",
        _I,
        "f-string in a log call",
        "pass a constant message and the values as fields (extra= or key=value)",
    ),
    (
        "swallowed-exception",
        _W,
        "exception caught and dropped without a log or span status",
        "log it (logger.exception) or set the span status, or re-raise",
    ),
    # promlint, on every metric the project declares and on tripod's catalog
    ("naming-help", _W, "metric has no help text", "pass a one-line help string"),
    (
        "naming-base-unit",
        _W,
        "metric name uses a non-base unit",
        "use base units: seconds, bytes, meters, grams, joules, celsius, volts, amperes",
    ),
    (
        "naming-counter-total",
        _W,
        "counter name must end in _total (non-counters must not)",
        "counters end in _total; rename gauges and histograms without it",
    ),
    (
        "naming-reserved-suffix",
        _W,
        "_bucket/_count/_sum/le/quantile used outside their type",
        "these suffixes and labels belong to histograms and summaries; rename",
    ),
    (
        "naming-type-in-name",
        _W,
        "metric name includes its type",
        "drop the type word (counter, gauge, histogram, summary) from the name",
    ),
    (
        "naming-reserved-chars",
        _W,
        "metric name contains ':' (reserved for recording rules)",
        "use '_' in instrumented metric names; ':' is for recording-rule outputs",
    ),
    ("naming-camel-case", _W, "metric or label name in camelCase", "write names in snake_case"),
    (
        "naming-abbreviated-unit",
        _W,
        "metric name uses an abbreviated unit (ms, s, kb …)",
        "spell the base unit: _seconds, _bytes",
    ),
    (
        "naming-label-repeats-name",
        _W,
        "a label name repeats the metric name",
        "name the label after the dimension, not the metric",
    ),
    (
        "naming-duplicate",
        _B,
        "metric not unique: the same name is declared twice",
        "declare each metric once (a shared module) and import it",
    ),
    (
        "naming-invalid",
        _B,
        "metric or label name is not a valid Prometheus name",
        "use [a-zA-Z_][a-zA-Z0-9_]* (no dots or dashes)",
    ),
    # Prometheus rule files (pint's offline checks)
    ("promql-syntax", _F, "PromQL expression does not parse", "fix the expression"),
    (
        "rule-yaml",
        _F,
        "rule file is not a valid Prometheus rule file",
        "groups: [{name:, rules: [{alert|record:, expr:}]}]",
    ),
    (
        "alert-for",
        _W,
        "alert without `for`: one bad scrape pages someone",
        "add for: 5m (or the time the condition must hold)",
    ),
    (
        "alert-labels",
        _W,
        "alert without a severity label",
        "add labels: {severity: critical|warning|info}",
    ),
    (
        "alert-annotations",
        _W,
        "alert without summary or runbook_url annotation",
        "add annotations.summary and annotations.runbook_url",
    ),
    (
        "alert-comparison",
        _W,
        "alert expression has no comparison: it fires on any value",
        "compare the value with a threshold (> 0.05)",
    ),
    (
        "alert-absent-for",
        _W,
        "absent() alert without `for` fires on every restart or missed scrape",
        "add for: (at least 2 scrape intervals)",
    ),
    (
        "rate-non-counter",
        _B,
        "rate()/increase() over a series that is not a counter",
        "use rate() only on _total, _count, _sum or _bucket series; deriv()/delta() for gauges",
    ),
    (
        "rate-range",
        _B,
        "rate() range shorter than 4x the scrape interval",
        "use a range of at least 4 scrape intervals (or $__rate_interval in Grafana)",
    ),
    (
        "counter-without-rate",
        _B,
        "a counter is used without rate()/increase()",
        "wrap the counter in rate() or increase(): its raw value only grows",
    ),
    ("rule-duplicate", _B, "two rules with the same name and expression", "delete one"),
    (
        "alert-template-label",
        _B,
        "an annotation or label template reads a label the query drops",
        "keep the label in by(...) or stop reading it in the template",
    ),
    (
        "promql-regexp",
        _I,
        "regex matcher that is a plain string or carries redundant anchors",
        "use = for exact matches; Prometheus anchors regexes already, drop ^ and $",
    ),
    # Grafana dashboards (dashboard-linter)
    (
        "dashboard-template-datasource",
        _W,
        "dashboard has no datasource template variable",
        "add a `datasource` variable of type datasource and use it in panels",
    ),
    (
        "dashboard-template-job",
        _W,
        "dashboard has no job/instance template variables",
        "add job and instance query variables",
    ),
    (
        "dashboard-panel-datasource",
        _W,
        "panel datasource is not the $datasource variable",
        "set the panel datasource to ${datasource}",
    ),
    (
        "dashboard-panel-title",
        _I,
        "panel without title or description",
        "give each panel a title and a one-line description",
    ),
    ("dashboard-panel-units", _I, "panel has no unit", "set fieldConfig.defaults.unit"),
    (
        "dashboard-empty-target",
        _W,
        "panel target has no expression",
        "write the query or delete it",
    ),
    (
        "dashboard-rate-interval",
        _W,
        "rate() range in a dashboard is not $__rate_interval",
        "use [$__rate_interval]",
    ),
    # references, checked against the catalog
    (
        "unknown-metric",
        _B,
        "PromQL names a metric no code declares and no instrumentation exports",
        "rename the query to the declared name, or declare and record the metric",
    ),
)

RULES: dict[str, Rule] = {rid: Rule(rid, sev, summ, hint) for rid, sev, summ, hint in _TABLE}
