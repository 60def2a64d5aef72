"""promtool's rule unit-test file, decoded as promtool does (yaml.v2, strict: unknown fields and
repeated keys are errors; durations are Prometheus durations)."""

from __future__ import annotations

import dataclasses

import yaml

import tripod.server.rules._yamlnode as yn
from tripod.server.rules.rulefile import duration_ms

__all__ = [
    "AlertCase",
    "ExpAlert",
    "ExpSample",
    "PromQLCase",
    "TestFile",
    "TestGroup",
    "decode_test_file",
]

_FILE = frozenset({"rule_files", "evaluation_interval", "group_eval_order", "tests"})
_GROUP = frozenset(
    {
        "interval",
        "input_series",
        "alert_rule_test",
        "promql_expr_test",
        "external_labels",
        "external_url",
        "name",
    }
)
_SERIES = frozenset({"series", "values"})
_ALERT_CASE = frozenset({"eval_time", "alertname", "exp_alerts"})
_EXP_ALERT = frozenset({"exp_labels", "exp_annotations"})
_PROMQL_CASE = frozenset({"expr", "eval_time", "exp_samples"})
_EXP_SAMPLE = frozenset({"labels", "value"})


@dataclasses.dataclass
class ExpAlert:
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclasses.dataclass
class AlertCase:
    eval_time_ms: int
    alertname: str
    exp_alerts: list[ExpAlert]


@dataclasses.dataclass
class ExpSample:
    labels: str
    value: float


@dataclasses.dataclass
class PromQLCase:
    expr: str
    eval_time_ms: int
    exp_samples: list[ExpSample]


@dataclasses.dataclass
class TestGroup:
    interval_ms: int
    input_series: list[tuple[str, str]]
    alert_cases: list[AlertCase]
    promql_cases: list[PromQLCase]
    external_labels: dict[str, str]
    external_url: str
    name: str


@dataclasses.dataclass
class TestFile:
    rule_files: list[str]
    evaluation_interval_ms: int
    group_eval_order: list[str]
    tests: list[TestGroup]


def _duration(node: yaml.Node | None) -> int:
    if node is None or yn.is_null(node):
        return 0
    raw = yn.text(node, "model.Duration")
    try:
        return duration_ms(raw)
    except ValueError:
        reason = f'not a valid duration string: "{raw}"' if raw else "empty duration string"
        raise yn.NodeError(yn.line(node), node.start_mark.column + 1, reason) from None


def _strings(node: yaml.Node | None, where: str) -> list[str]:
    return [yn.text(n, where) for n in yn.seq(node, where)]


def _alert_case(node: yaml.Node) -> AlertCase:
    f = yn.fields(node, _ALERT_CASE, "type main.alertTestCase")
    exp = []
    for n in yn.seq(f.get("exp_alerts"), "[]main.alert"):
        a = yn.fields(n, _EXP_ALERT, "type main.alert")
        exp.append(
            ExpAlert(
                yn.str_map(a.get("exp_labels"), "map[string]string"),
                yn.str_map(a.get("exp_annotations"), "map[string]string"),
            )
        )
    return AlertCase(_duration(f.get("eval_time")), yn.text(f.get("alertname")), exp)


def _promql_case(node: yaml.Node) -> PromQLCase:
    f = yn.fields(node, _PROMQL_CASE, "type main.promqlTestCase")
    samples = []
    for n in yn.seq(f.get("exp_samples"), "[]main.sample"):
        s = yn.fields(n, _EXP_SAMPLE, "type main.sample")
        samples.append(ExpSample(yn.text(s.get("labels")), yn.float_of(s.get("value"), "float64")))
    return PromQLCase(yn.text(f.get("expr")), _duration(f.get("eval_time")), samples)


def _group(node: yaml.Node) -> TestGroup:
    f = yn.fields(node, _GROUP, "type main.testGroup")
    series = []
    for n in yn.seq(f.get("input_series"), "[]main.series"):
        s = yn.fields(n, _SERIES, "type main.series")
        series.append((yn.text(s.get("series")), yn.text(s.get("values"))))
    return TestGroup(
        interval_ms=_duration(f.get("interval")),
        input_series=series,
        alert_cases=[
            _alert_case(n) for n in yn.seq(f.get("alert_rule_test"), "[]main.alertTestCase")
        ],
        promql_cases=[
            _promql_case(n) for n in yn.seq(f.get("promql_expr_test"), "[]main.promqlTestCase")
        ],
        external_labels=yn.str_map(f.get("external_labels"), "labels.Labels"),
        external_url=yn.text(f.get("external_url")),
        name=yn.text(f.get("name")),
    )


def decode_test_file(text: str) -> TestFile:
    """The test file's content; :class:`~tripod.server.rules._yamlnode.NodeError` if malformed."""
    root = yn.compose(text)
    if root is None:
        return TestFile([], 0, [], [])
    f = yn.fields(root, _FILE, "type main.unitTestFile")
    return TestFile(
        rule_files=_strings(f.get("rule_files"), "[]string"),
        evaluation_interval_ms=_duration(f.get("evaluation_interval")),
        group_eval_order=_strings(f.get("group_eval_order"), "[]string"),
        tests=[_group(n) for n in yn.seq(f.get("tests"), "[]main.testGroup")],
    )
