"""The rule manager of ``tripod serve``: load rule files (keeping the last good set when a file is
bad), carry alert state over a reload, and evaluate each group on its slots, as Prometheus's
``rules.Manager`` does. Time comes from the caller (:meth:`RuleManager.evaluate_due`) or from
an injected clock in :meth:`RuleManager.run`; nothing here sleeps except that loop's wait.
"""

from __future__ import annotations

import glob
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tripod.server.notify.model import AlertSink
from tripod.server.rules._templating import GoTemplateExpander, check_template
from tripod.server.rules._types import Expander, QueryFunc
from tripod.server.rules.api import alerts_body, rules_body
from tripod.server.rules.group import (
    DEFAULT_INTERVAL_MS,
    FOR_GRACE_PERIOD_MS,
    OUTAGE_TOLERANCE_MS,
    RESEND_DELAY_MS,
    RuleGroup,
    RuleStore,
)
from tripod.server.rules.rulefile import GroupSpec, RuleProblem, parse_rule_file
from tripod.server.store.model import STALE_NAN, Sample

__all__ = ["RuleManager", "expand_rule_globs"]


def expand_rule_globs(patterns: Sequence[str]) -> list[str]:
    """``rule_files:`` globs as Prometheus expands them: each pattern's matches, sorted."""
    files: list[str] = []
    for pattern in patterns:
        for path in sorted(glob.glob(pattern, include_hidden=True)):
            if path not in files:
                files.append(path)
    return files


class RuleManager:
    """Rule groups of the server, keyed by (file, group name)."""

    def __init__(
        self,
        store: RuleStore,
        query: QueryFunc,
        *,
        default_interval_ms: int = DEFAULT_INTERVAL_MS,
        external_labels: Mapping[str, str] | None = None,
        external_url: str = "",
        sink: AlertSink | None = None,
        expander: Expander | None = None,
        clock: Callable[[], float] = time.time,
        resend_delay_ms: int = RESEND_DELAY_MS,
        outage_tolerance_ms: int = OUTAGE_TOLERANCE_MS,
        for_grace_period_ms: int = FOR_GRACE_PERIOD_MS,
    ) -> None:
        self.store = store
        self.query = query
        self.default_interval_ms = default_interval_ms
        self.external_labels = dict(external_labels or {})
        self.external_url = external_url
        self.sink = sink
        self.expander = expander or GoTemplateExpander()
        self.clock = clock
        self.resend_delay_ms = resend_delay_ms
        self.outage_tolerance_ms = outage_tolerance_ms
        self.for_grace_period_ms = for_grace_period_ms
        self._lock = threading.RLock()
        self._groups: dict[tuple[str, str], RuleGroup] = {}
        self._next_ms: dict[tuple[str, str], int] = {}
        self._evals: dict[tuple[str, str], int] = {}
        self._retired: list[dict[str, str]] = []
        self._loaded_once = False

    @property
    def groups(self) -> list[RuleGroup]:
        with self._lock:
            return list(self._groups.values())

    def load(self, paths: Sequence[str]) -> list[RuleProblem]:
        """Replace the rule set with the groups of ``paths``. On any problem nothing changes
        (the last good set keeps running) and every problem is returned."""
        specs: list[GroupSpec] = []
        problems: list[RuleProblem] = []
        for path in paths:
            found, errs = parse_rule_file(path, check_template)
            specs.extend(found)
            problems.extend(errs)
        if problems:
            return problems
        with self._lock:
            old = self._groups
            new: dict[tuple[str, str], RuleGroup] = {}
            for spec in specs:
                key = (spec.file, spec.name)
                group = RuleGroup(
                    spec,
                    self.store,
                    self.query,
                    default_interval_ms=self.default_interval_ms,
                    external_labels=self.external_labels,
                    external_url=self.external_url,
                    expander=self.expander,
                    sink=self.sink,
                    restored=self._loaded_once,  # only the first load restores `for` state
                    clock=self.clock,
                    resend_delay_ms=self.resend_delay_ms,
                    outage_tolerance_ms=self.outage_tolerance_ms,
                    for_grace_period_ms=self.for_grace_period_ms,
                )
                previous = old.get(key)
                if previous is not None:
                    group.copy_state(previous)
                    if previous.interval_ms != group.interval_ms:
                        self._next_ms.pop(key, None)  # a new interval: a new slot
                else:
                    self._next_ms.pop(key, None)
                    self._evals[key] = 0
                new[key] = group
            for key, group in old.items():
                if key not in new:  # its series go stale at the next evaluation round
                    self._retired.extend(
                        labels for series in group.previous_series() for labels in series
                    )
                    self._next_ms.pop(key, None)
                    self._evals.pop(key, None)
            self._groups = new
            self._loaded_once = True
        return []

    def evaluate_due(self, now_ms: int) -> int:
        """Evaluate every group whose slot has come (missed slots are skipped, as Prometheus
        does); returns how many group evaluations ran."""
        ran = 0
        with self._lock:
            if self._retired:
                self.store.append(Sample(labels, now_ms, STALE_NAN) for labels in self._retired)
                self._retired = []
            for key, group in self._groups.items():
                due = self._next_ms.get(key)
                if due is None:
                    self._next_ms[key] = group.next_eval_ms(now_ms)
                    continue
                if now_ms < due:
                    continue
                missed = (now_ms - due) // group.interval_ms
                due += missed * group.interval_ms
                group.eval(due)
                ran += 1
                self._evals[key] = self._evals.get(key, 0) + 1
                if self._evals[key] == 2 and not all(r.restored for r in group.alerting_rules()):
                    group.restore_for_state(now_ms)
                self._next_ms[key] = due + group.interval_ms
        return ran

    def rules_body(self, rule_type: str = "") -> dict[str, Any]:
        """``/api/v1/rules``, read while no evaluation runs (ValueError for a bad ``type``)."""
        with self._lock:
            return rules_body(list(self._groups.values()), rule_type)

    def alerts_body(self) -> dict[str, Any]:
        """``/api/v1/alerts``, read while no evaluation runs."""
        with self._lock:
            return alerts_body(list(self._groups.values()))

    def self_metrics(self) -> list[tuple[str, dict[str, str], float]]:
        """The rule manager's self-metrics as ``(name, labels, value)``, named as Prometheus
        names them (``rule_group`` is ``file;name``), for the server's ``/metrics``."""
        out: list[tuple[str, dict[str, str], float]] = []
        rule_seconds, rule_count = 0.0, 0
        with self._lock:
            for (file, name), g in self._groups.items():
                labels = {"rule_group": f"{file};{name}"}
                last = g.last_evaluation_s or 0.0
                out += [
                    ("prometheus_rule_evaluations_total", labels, float(g.evaluations_total)),
                    ("prometheus_rule_evaluation_failures_total", labels, float(g.failures_total)),
                    ("prometheus_rule_group_interval_seconds", labels, g.interval_ms / 1000),
                    ("prometheus_rule_group_last_duration_seconds", labels, g.evaluation_s),
                    ("prometheus_rule_group_last_evaluation_timestamp_seconds", labels, last),
                    ("prometheus_rule_group_rules", labels, float(len(g.rules))),
                ]
                rule_seconds += g.rule_seconds_sum
                rule_count += g.evaluations_total
        out.append(("prometheus_rule_evaluation_duration_seconds_sum", {}, rule_seconds))
        out.append(("prometheus_rule_evaluation_duration_seconds_count", {}, float(rule_count)))
        return out

    def next_due_ms(self) -> int | None:
        """The earliest slot any group waits for (None before the first :meth:`evaluate_due`)."""
        with self._lock:
            return min(self._next_ms.values(), default=None)

    def run(self, stop: threading.Event) -> None:
        """Evaluate groups on their slots until ``stop`` is set (a server's rule thread)."""
        while not stop.is_set():
            now_ms = int(self.clock() * 1000)
            self.evaluate_due(now_ms)
            due = self.next_due_ms()
            wait_s = 1.0 if due is None else max((due - now_ms) / 1000, 0.0)
            stop.wait(min(wait_s, 1.0))
