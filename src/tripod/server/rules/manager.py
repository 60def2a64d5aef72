"""The rule manager of ``tripod serve``: load rule files (keeping the last good set when a file is
bad), carry alert state over a reload, and evaluate each group on its slots, as Prometheus's
``rules.Manager`` does. Time comes from the caller (:meth:`RuleManager.evaluate_due`) or from
an injected clock in :meth:`RuleManager.run`; nothing here sleeps except that loop's wait.
"""

from __future__ import annotations

import dataclasses
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

__all__ = ["GroupStats", "RuleManager", "expand_rule_globs"]


def expand_rule_globs(patterns: Sequence[str]) -> list[str]:
    """``rule_files:`` globs as Prometheus expands them: each pattern's matches, sorted."""
    files: list[str] = []
    for pattern in patterns:
        for path in sorted(glob.glob(pattern, include_hidden=True)):
            if path not in files:
                files.append(path)
    return files


@dataclasses.dataclass
class GroupStats:
    """A group's self-metric counters, kept by (file, name) over reloads as Prometheus keeps
    its metric series."""

    iterations: int = 0  # scheduled slots: evaluated or missed
    missed: int = 0
    evaluations: int = 0  # rule evaluations
    failures: int = 0
    group_seconds: float = 0.0  # summed group durations (count: iterations - missed)
    rule_seconds: float = 0.0  # summed rule durations (count: evaluations)
    last_duration_s: float = 0.0
    last_evaluation_s: float = 0.0

    def record(self, group: RuleGroup, missed: int) -> None:
        self.iterations += 1 + missed
        self.missed += missed
        self.evaluations += len(group.rules)
        self.failures += sum(1 for s in group.status if s.health == "err")
        self.group_seconds += group.evaluation_s
        self.rule_seconds += sum(s.evaluation_s for s in group.status)
        self.last_duration_s = group.evaluation_s
        self.last_evaluation_s = group.last_evaluation_s or 0.0


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
        before_group: Callable[[], None] | None = None,
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
        self.before_group = before_group  # e.g. a ReadCache's clear: fresh data for each group
        self._lock = threading.RLock()  # the group set and the slots; never held over a group
        self._round_lock = threading.Lock()
        self._closed = threading.Event()
        self._groups: dict[tuple[str, str], RuleGroup] = {}
        self._next_ms: dict[tuple[str, str], int] = {}
        self._stats: dict[tuple[str, str], GroupStats] = {}
        self.totals = GroupStats()  # all groups ever run: the duration summaries never go down
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
                    with previous.lock:  # waits for this group's evaluation, if one runs
                        group.copy_state(previous)
                    if previous.interval_ms != group.interval_ms:
                        self._next_ms.pop(key, None)  # a new interval: a new slot
                else:
                    self._next_ms.pop(key, None)
                    self._stats[key] = GroupStats()
                new[key] = group
            for key, group in old.items():
                if key not in new:  # its series go stale at the next evaluation round
                    self._retired.extend(
                        labels for series in group.previous_series() for labels in series
                    )
                    self._next_ms.pop(key, None)
                    self._stats.pop(key, None)
            self._groups = new
            self._loaded_once = True
        return []

    def evaluate_due(self, now_ms: int) -> int:
        """Evaluate every group whose slot has come (missed slots are skipped and counted, as
        Prometheus does); returns how many group evaluations ran.

        The manager lock is held only to pick the next due group: a group evaluates under its
        own lock, so a reload waits for at most the group being evaluated (as Prometheus's
        ``Group.stop`` does), and a group replaced by a reload during the round is evaluated
        in its new form, with the old one's state. :meth:`close` ends a round between rules.
        """
        with self._round_lock:  # one round at a time
            with self._lock:
                if self._retired:
                    self.store.append(Sample(lbs, now_ms, STALE_NAN) for lbs in self._retired)
                    self._retired = []
                keys = list(self._groups)
            ran = 0
            for key in keys:
                if self._closed.is_set():
                    break
                with self._lock:
                    group = self._groups.get(key)
                    due = self._next_ms.get(key)
                    if group is None:
                        continue  # removed by a reload during this round
                    if due is None:
                        self._next_ms[key] = group.next_eval_ms(now_ms)
                        continue
                    if now_ms < due:
                        continue
                    missed = (now_ms - due) // group.interval_ms
                    due += missed * group.interval_ms
                    self._next_ms[key] = due + group.interval_ms
                with group.lock:
                    if self.before_group is not None:
                        self.before_group()
                    if not group.eval(due, self._closed.is_set):
                        break
                    stats = self._stats.setdefault(key, GroupStats())
                    stats.record(group, missed)
                    self.totals.record(group, missed)
                    if stats.iterations - stats.missed == 2 and not all(
                        r.restored for r in group.alerting_rules()
                    ):
                        group.restore_for_state(now_ms)
                ran += 1
        return ran

    def close(self) -> None:
        """Stop evaluating: a running round ends after its current rule; later rounds do
        nothing."""
        self._closed.set()

    def stats(self) -> dict[tuple[str, str], tuple[RuleGroup, GroupStats]]:
        """Each group with a copy of its self-metric counters (kept over reloads)."""
        with self._lock:
            return {
                key: (g, dataclasses.replace(self._stats.get(key) or GroupStats()))
                for key, g in self._groups.items()
            }

    def rules_body(self, rule_type: str = "") -> dict[str, Any]:
        """``/api/v1/rules`` (ValueError for a bad ``type``); each group is read between its
        evaluations."""
        rules_body([], rule_type)
        groups = []
        for group in self.groups:
            with group.lock:
                groups += rules_body([group], rule_type)["data"]["groups"]
        return {"status": "success", "data": {"groups": groups}}

    def alerts_body(self) -> dict[str, Any]:
        """``/api/v1/alerts``; each group is read between its evaluations."""
        alerts = []
        for group in self.groups:
            with group.lock:
                alerts += alerts_body([group])["data"]["alerts"]
        return {"status": "success", "data": {"alerts": alerts}}

    def next_due_ms(self) -> int | None:
        """The earliest slot any group waits for (None before the first :meth:`evaluate_due`)."""
        with self._lock:
            return min(self._next_ms.values(), default=None)

    def run(self, stop: threading.Event) -> None:
        """Evaluate groups on their slots until ``stop`` is set (a server's rule thread)."""
        while not stop.is_set() and not self._closed.is_set():
            now_ms = int(self.clock() * 1000)
            self.evaluate_due(now_ms)
            due = self.next_due_ms()
            wait_s = 1.0 if due is None else max((due - now_ms) / 1000, 0.0)
            stop.wait(min(wait_s, 1.0))
