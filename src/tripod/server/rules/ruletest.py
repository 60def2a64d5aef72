"""``tripod test rules``: promtool's rule unit tests (Prometheus 2.42 ``cmd/promtool/unittest.go``).

For each test group: the input series go into an in-memory store, loaded lazily up to each
evaluation time; every group is evaluated at ``0, evaluation_interval, ...`` up to the largest
``eval_time``. An ``alert_rule_test`` at ``eval_time`` is checked against the firing alerts of
the last evaluation at or before it; ``promql_expr_test`` queries run afterwards. Output and
exit code are promtool's: ``SUCCESS`` or ``FAILED:`` per file, exit 1 if any test failed.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import tripod.server.rules._yamlnode as yn
from tripod.server.promql import Engine
from tripod.server.rules._gofmt import float_e, go_duration, labels_str, model_duration
from tripod.server.rules._testfile import AlertCase, TestGroup, decode_test_file
from tripod.server.rules._types import LITERAL, Expander, RuleEvalError, engine_query_func
from tripod.server.rules.alerting import AlertingRule
from tripod.server.rules.group import RuleGroup
from tripod.server.rules.memstore import MemorySampleStore
from tripod.server.rules.notation import NotationError, parse_metric, parse_series
from tripod.server.rules.rulefile import GroupSpec, RuleFileError, TemplateCheck, load_rule_files
from tripod.server.store.model import Sample

__all__ = ["run_test_file", "run_test_files"]

DEFAULT_EVALUATION_INTERVAL_MS = 60_000
# promtool's engine allows 10,000 samples at its peak (one series' window at a time for range
# functions); tripod's engine counts every loaded sample, so its own default limit is used.
QUERY_TIMEOUT_S = 100.0

_Pair = tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]


def run_test_files(
    paths: Sequence[str],
    out: TextIO,
    err: TextIO,
    *,
    expander: Expander = LITERAL,
    template_check: TemplateCheck | None = None,
) -> int:
    """Run each file, print promtool's report; 0 when every test passed, else 1."""
    failed = False
    for path in paths:
        print(f"Unit Testing:  {path}", file=out)
        errors = run_test_file(path, err, expander=expander, template_check=template_check)
        if errors:
            failed = True
            print("  FAILED:", file=err)
            for error in errors:
                print(error, file=err)
                print(file=out)
        else:
            print("  SUCCESS", file=out)
        print(file=out)
    return 1 if failed else 0


def _resolve(base: Path, patterns: list[str], err: TextIO) -> list[str]:
    files: list[str] = []
    for pattern in patterns:
        full = pattern if not pattern or os.path.isabs(pattern) else os.path.join(base, pattern)
        full = os.path.normpath(full) if full else full  # Go's filepath.Join cleans the path
        found = sorted(glob.glob(full, include_hidden=True)) if full else []
        if not found:
            print(f"  WARNING: no file match pattern {full}", file=err)
        files.extend(found)
    return files


def run_test_file(
    path: str,
    err: TextIO,
    *,
    expander: Expander = LITERAL,
    template_check: TemplateCheck | None = None,
) -> list[str]:
    """The failures of one unit-test file (empty when every test passed)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [f"open {path}: {exc.strerror if isinstance(exc, OSError) else exc}"]
    try:
        spec = decode_test_file(text)
    except yn.NodeError as exc:
        return [f"yaml: line {exc.line}: {exc.reason}"]
    rule_files = _resolve(Path(path).parent, spec.rule_files, err)
    interval = spec.evaluation_interval_ms or DEFAULT_EVALUATION_INTERVAL_MS
    order: dict[str, int] = {}
    for i, name in enumerate(spec.group_eval_order):
        if name in order:
            return [f"group name repeated in evaluation order: {name}"]
        order[name] = i
    errors: list[str] = []
    for group in spec.tests:
        runner = _GroupRun(
            group, interval, order, rule_files, expander=expander, template_check=template_check
        )
        errors.extend(runner.run())
    return errors


class _GroupRun:
    """One test group: its store, rule groups, evaluation loop and checks."""

    def __init__(
        self,
        tg: TestGroup,
        interval_ms: int,
        order: dict[str, int],
        rule_files: list[str],
        *,
        expander: Expander,
        template_check: TemplateCheck | None,
    ) -> None:
        self.tg = tg
        self.interval_ms = interval_ms
        self.order = order
        self.rule_files = rule_files
        self.expander = expander
        self.template_check = template_check
        self.store = MemorySampleStore()
        # promtool's engine: subqueries without a step use the file's evaluation_interval.
        self.engine = Engine(
            self.store, timeout_s=QUERY_TIMEOUT_S, default_eval_interval_ms=interval_ms
        )
        self.query = engine_query_func(self.engine)
        self.pending: list[list[tuple[int, float, dict[str, str]]]] = []

    def _load_series(self) -> str | None:
        by_labels: dict[tuple[tuple[str, str], ...], list[tuple[int, float, dict[str, str]]]] = {}
        for series, values in self.tg.input_series:
            try:
                labels, points = parse_series(series, values)
            except NotationError as exc:
                return f'1:{len(series) + 3}: parse error: {exc} in "{series} {values}"'
            step = self.tg.interval_ms
            by_labels[tuple(sorted(labels.items()))] = [
                (i * step, v, labels) for i, v in enumerate(points) if v is not None
            ]
        self.pending = [list(reversed(points)) for points in by_labels.values()]
        return None

    def _append_till(self, ts_ms: int) -> None:
        batch = []
        for points in self.pending:
            while points and points[-1][0] <= ts_ms:
                t, v, labels = points.pop()
                batch.append(Sample(labels, t, v))
        if batch:
            self.store.append(batch)

    def _groups(self) -> list[RuleGroup] | list[str]:
        try:
            specs = load_rule_files(self.rule_files, self.template_check)
        except RuleFileError as exc:
            return [str(p) for p in exc.problems]
        unique: dict[tuple[str, str], GroupSpec] = {}
        for spec in specs:
            unique[(spec.file, spec.name)] = spec
        ordered = sorted(unique.values(), key=lambda g: self.order.get(g.name, 0))
        return [
            RuleGroup(
                spec,
                self.store,
                self.query,
                default_interval_ms=self.tg.interval_ms,
                external_labels=self.tg.external_labels,
                external_url=self.tg.external_url,
                expander=self.expander,
                restored=True,
            )
            for spec in ordered
        ]

    def run(self) -> list[str]:
        problem = self._load_series()
        if problem is not None:
            return [problem]
        groups = self._groups()
        if groups and isinstance(groups[0], str):
            return [str(g) for g in groups]
        rule_groups = [g for g in groups if isinstance(g, RuleGroup)]
        by_time: dict[int, list[AlertCase]] = {}
        for case in self.tg.alert_cases:
            if not case.alertname:
                where = f" (in TestGroup {self.tg.name})" if self.tg.name else ""
                msg = (
                    "an item under alert_rule_test misses required attribute alertname at "
                    f"eval_time {model_duration(case.eval_time_ms)}{where}"
                )
                return [msg]
            by_time.setdefault(case.eval_time_ms, []).append(case)
        times = sorted(by_time)
        max_t = max(
            [c.eval_time_ms for c in self.tg.alert_cases]
            + [c.eval_time_ms for c in self.tg.promql_cases]
            + [0]
        )
        errors: list[str] = []
        cursor = 0
        ts = 0
        while ts <= max_t:
            self._append_till(ts)
            eval_errors: list[str] = []
            for group in rule_groups:
                group.eval(ts)
                eval_errors.extend(
                    f"    rule: {rule.name}, time: {go_duration(ts)}, err: {status.last_error}"
                    for rule, status in zip(group.rules, group.status, strict=True)
                    if status.health == "err"
                )
            if eval_errors:
                return errors + eval_errors
            while cursor < len(times) and ts <= times[cursor] < ts + self.interval_ms:
                for case in by_time[times[cursor]]:
                    errors.extend(self._check_alerts(case, rule_groups))
                cursor += 1
            ts += self.interval_ms
        errors.extend(self._check_promql())
        return errors

    def _check_alerts(self, case: AlertCase, groups: list[RuleGroup]) -> list[str]:
        got: list[_Pair] = []
        for group in groups:
            for rule in group.rules:
                if isinstance(rule, AlertingRule) and rule.name == case.alertname:
                    got.extend(
                        (tuple(sorted(a.labels.items())), tuple(sorted(a.annotations.items())))
                        for a in rule.firing_alerts()
                    )
        exp: list[_Pair] = []
        for alert in case.exp_alerts:
            labels = {**alert.labels, "alertname": case.alertname}
            exp.append((tuple(sorted(labels.items())), tuple(sorted(alert.annotations.items()))))
        got.sort()
        exp.sort()
        if got == exp:
            return []
        name = f"    name: {self.tg.name},\n" if self.tg.name else ""
        at = model_duration(case.eval_time_ms)
        msg = (
            f"{name}    alertname: {case.alertname}, time: {at}, "
            f"\n        exp:{_indent(_alerts_str(exp), '            ')}, "
            f"\n        got:{_indent(_alerts_str(got), '            ')}"
        )
        return [msg]

    def _check_promql(self) -> list[str]:
        errors = []
        for case in self.tg.promql_cases:
            at = f"    expr: {_go_quote(case.expr)}, time: {model_duration(case.eval_time_ms)}"
            try:
                result = self.query(case.expr, case.eval_time_ms)
            except RuleEvalError as exc:
                errors.append(f"{at}, err: {exc}")
                continue
            got = sorted((tuple(sorted(labels.items())), value) for labels, value in result)
            exp = []
            bad = None
            for sample in case.exp_samples:
                try:
                    labels = parse_metric(sample.labels)
                except NotationError as exc:
                    bad = f"{at}, err: labels {_go_quote(sample.labels)}: {exc}"
                    break
                exp.append((tuple(sorted(labels.items())), sample.value))
            if bad is not None:
                errors.append(bad)
                continue
            exp.sort(key=lambda s: s[0])
            got.sort(key=lambda s: s[0])
            # Go's reflect.DeepEqual: floats compare with ==, so NaN never equals NaN.
            same = len(got) == len(exp) and all(
                g[0] == e[0] and g[1] == e[1] for g, e in zip(got, exp, strict=True)
            )
            if not same:
                errors.append(
                    f"{at},\n        exp: {_samples_str(exp)}\n        got: {_samples_str(got)}"
                )
        return errors


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _indent(text: str, prefix: str) -> str:
    return ("\n" + prefix).join(text.split("\n"))


def _alerts_str(alerts: list[_Pair]) -> str:
    if not alerts:
        return "[]"
    parts = []
    for i, (labels, notes) in enumerate(alerts):
        body = f"\nLabels:{labels_str(dict(labels))}\nAnnotations:{labels_str(dict(notes))}"
        parts.append(f"{i}:" + _indent(body, "  "))
    return "[\n" + ",\n".join(parts) + "\n]"


def _samples_str(samples: list[tuple[tuple[tuple[str, str], ...], float]]) -> str:
    if not samples:
        return "nil"
    return ", ".join(f"{labels_str(dict(labels))} {float_e(value)}" for labels, value in samples)
