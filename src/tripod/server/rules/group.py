"""A rule group evaluated as Prometheus 2.42's ``rules.Group`` does (``rules/manager.go``).

Rules run in order at one timestamp; each rule's samples are appended to the store (recording
rules' series, ``ALERTS`` and ``ALERTS_FOR_STATE``), series a rule stopped producing get a
staleness marker, and firing or resolved alerts go to an :class:`AlertSink` with Prometheus's
resend delay and validity horizon. Over a :class:`BatchingStore` (the rules' read cache) the
appends of a whole evaluation go to the store in one transaction, each rule still told its own
result, and reads that could see held samples flush them first (Prometheus commits per rule).
After a restart, :meth:`RuleGroup.restore_for_state` resumes pending ``for`` clocks from
``ALERTS_FOR_STATE``. No sleeping here: the caller picks the times (:meth:`RuleGroup.next_eval_ms`)
and the clock is injected.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable
from urllib.parse import quote_plus

from tripod.server.notify.model import Alert as Notification
from tripod.server.notify.model import AlertSink
from tripod.server.rules._types import LITERAL, Expander, QueryFunc, RuleEvalError
from tripod.server.rules.alerting import ALERTS_FOR_STATE_METRIC, AlertingRule
from tripod.server.rules.recording import RecordingRule
from tripod.server.rules.rulefile import GroupSpec
from tripod.server.store.model import (
    STALE_NAN,
    AppendResult,
    Matcher,
    Sample,
    SeriesData,
    is_stale,
)

__all__ = [
    "DEFAULT_INTERVAL_MS",
    "FOR_GRACE_PERIOD_MS",
    "OUTAGE_TOLERANCE_MS",
    "RESEND_DELAY_MS",
    "BatchingStore",
    "Rule",
    "RuleGroup",
    "RuleStatus",
    "RuleStore",
]

DEFAULT_INTERVAL_MS = 60_000  # Prometheus's global evaluation_interval default
RESEND_DELAY_MS = 60_000  # --rules.alert.resend-delay
OUTAGE_TOLERANCE_MS = 3_600_000  # --rules.alert.for-outage-tolerance
FOR_GRACE_PERIOD_MS = 600_000  # --rules.alert.for-grace-period

Rule = AlertingRule | RecordingRule


class RuleStore(Protocol):
    """What a group needs of the store (a part of ``SampleReader`` and ``SampleWriter``):
    append its results, read ``ALERTS_FOR_STATE`` back."""

    def append(self, samples: Iterable[Sample]) -> AppendResult: ...

    def select(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[SeriesData]: ...


@runtime_checkable
class BatchingStore(RuleStore, Protocol):
    """A rule store that can hold a group's appends and write them in one transaction
    (:class:`~tripod.server.rules.readcache.ReadCache`): each batch's ``done`` is told its own
    result (or the exception of the write) at :meth:`flush`, and reads that could see a held
    batch flush first."""

    def defer(
        self,
        samples: Iterable[Sample],
        done: Callable[[AppendResult | None, Exception | None], None],
    ) -> None: ...

    def flush(self) -> None: ...


_Key = tuple[tuple[str, str], ...]


@dataclasses.dataclass
class RuleStatus:
    """What /api/v1/rules shows of a rule's last evaluation."""

    health: str = "unknown"  # "ok" | "err" | "unknown", as Prometheus's RuleHealth
    last_error: str = ""
    evaluation_s: float = 0.0
    last_evaluation_s: float | None = None  # wall-clock seconds; None: never evaluated


class RuleGroup:
    """Rules evaluated together, in order, at the group's interval."""

    def __init__(
        self,
        spec: GroupSpec,
        store: RuleStore,
        query: QueryFunc,
        *,
        default_interval_ms: int = DEFAULT_INTERVAL_MS,
        external_labels: Mapping[str, str] | None = None,
        external_url: str = "",
        expander: Expander = LITERAL,
        sink: AlertSink | None = None,
        resend_delay_ms: int = RESEND_DELAY_MS,
        restored: bool = False,
        outage_tolerance_ms: int = OUTAGE_TOLERANCE_MS,
        for_grace_period_ms: int = FOR_GRACE_PERIOD_MS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.file = spec.file
        self.interval_ms = spec.interval_ms or default_interval_ms
        self.limit = spec.limit
        self.store = store
        self._batching = store if isinstance(store, BatchingStore) else None
        self.query = query
        self.external_labels = dict(external_labels or {})
        self.external_url = external_url
        self.sink = sink
        self.resend_delay_ms = resend_delay_ms
        self.outage_tolerance_ms = outage_tolerance_ms
        self.for_grace_period_ms = for_grace_period_ms
        self.clock = clock
        self.rules: list[Rule] = [
            AlertingRule(
                r,
                external_labels=self.external_labels,
                external_url=external_url,
                expander=expander,
                restored=restored,
            )
            if r.kind == "alert"
            else RecordingRule(r)
            for r in spec.rules
        ]
        self.status = [RuleStatus() for _ in self.rules]
        self._previous: list[dict[_Key, dict[str, str]]] = [{} for _ in self.rules]
        self._stale_series: list[dict[str, str]] = []
        self.evaluation_s = 0.0
        self.last_evaluation_s: float | None = None
        self.lock = threading.Lock()  # held over an evaluation and by readers of its state

    # --- scheduling ----------------------------------------------------------------------

    def next_eval_ms(self, now_ms: int) -> int:
        """The first evaluation time after ``now_ms``: slots of the interval shifted by an offset
        from the group's file and name, so groups spread over the interval."""
        digest = hashlib.sha256(f"{self.file};{self.name}".encode()).digest()
        offset = int.from_bytes(digest[:8], "big") % self.interval_ms
        base = now_ms - offset
        return base - base % self.interval_ms + offset + self.interval_ms

    # --- evaluation ----------------------------------------------------------------------

    def eval(self, ts_ms: int, stopping: Callable[[], bool] | None = None) -> bool:
        """Evaluate every rule at ``ts_ms``; a failing rule records its error and the others
        still run. ``stopping`` is asked before each rule: when it says yes the round ends
        there (a server shutting down) and False is returned."""
        group_start = self.clock()
        try:
            for i, rule in enumerate(self.rules):
                if stopping is not None and stopping():
                    return False
                start = self.clock()
                self._eval_rule(i, rule, ts_ms)
                status = self.status[i]
                status.evaluation_s = max(self.clock() - start, 0.0)
                status.last_evaluation_s = start
            self._cleanup_stale(ts_ms)
        finally:  # the group's held appends, one transaction; each rule gets its outcome
            if self._batching is not None:
                self._batching.flush()
        self.evaluation_s = max(self.clock() - group_start, 0.0)
        self.last_evaluation_s = group_start
        return True

    def _eval_rule(self, i: int, rule: Rule, ts_ms: int) -> None:
        status = self.status[i]
        try:
            vector = rule.eval(ts_ms, self.query, self.limit)
        except RuleEvalError as exc:
            self._fail(status, str(exc))
            return
        except Exception as exc:  # an engine bug must not stop the other rules
            self._fail(status, f"{type(exc).__name__}: {exc}")
            return
        status.health, status.last_error = "ok", ""
        if isinstance(rule, AlertingRule):
            self._send_alerts(rule, ts_ms)
        returned = {tuple(sorted(labels.items())): labels for labels, _ in vector}
        gone = [labels for key, labels in self._previous[i].items() if key not in returned]
        samples = [Sample(labels, ts_ms, value) for labels, value in vector]
        stale = [Sample(labels, ts_ms, STALE_NAN) for labels in gone]
        if self._batching is not None:
            self._defer(i, samples, stale, returned)
            return
        try:
            self._appended(status, self.store.append(samples))
            if stale:  # a clash with another rule's sample is expected and not an error
                self.store.append(stale)
        except Exception as exc:  # a store refusing a label set must not stop the group
            self._fail(status, f"appending the rule's samples failed: {exc}")
            return
        self._previous[i] = returned

    def _appended(self, status: RuleStatus, result: AppendResult) -> None:
        if result.rejected:
            self._fail(status, result.errors[0] if result.errors else str(result.rejected))

    def _defer(
        self,
        i: int,
        samples: list[Sample],
        stale: list[Sample],
        returned: dict[_Key, dict[str, str]],
    ) -> None:
        """The batched path: the same outcome as the appends above, told at the flush."""
        assert self._batching is not None
        status = self.status[i]
        failed = False

        def on_samples(result: AppendResult | None, exc: Exception | None) -> None:
            nonlocal failed
            if exc is not None:
                failed = True
                self._fail(status, f"appending the rule's samples failed: {exc}")
            elif result is not None:
                self._appended(status, result)
            if not stale and not failed:
                self._previous[i] = returned

        def on_stale(result: AppendResult | None, exc: Exception | None) -> None:
            if exc is not None:
                self._fail(status, f"appending the rule's samples failed: {exc}")
            elif not failed:
                self._previous[i] = returned

        self._batching.defer(samples, on_samples)
        if stale:
            self._batching.defer(stale, on_stale)

    def _fail(self, status: RuleStatus, message: str) -> None:
        status.health, status.last_error = "err", message

    def _cleanup_stale(self, ts_ms: int) -> None:
        if self._stale_series:
            markers = [Sample(labels, ts_ms, STALE_NAN) for labels in self._stale_series]
            if self._batching is not None:
                self._batching.defer(markers, lambda result, exc: None)
            else:
                self.store.append(markers)
            self._stale_series = []

    # --- notification --------------------------------------------------------------------

    def generator_url(self, expr: str) -> str:
        return f"{self.external_url}/graph?g0.expr={quote_plus(expr)}&g0.tab=1"

    def _send_alerts(self, rule: AlertingRule, ts_ms: int) -> None:
        delta = max(self.resend_delay_ms, self.interval_ms)
        batch = []
        for alert in rule.active.values():
            if not alert.needs_sending(ts_ms, self.resend_delay_ms):
                continue
            alert.last_sent_at_ms = ts_ms
            alert.valid_until_ms = ts_ms + 4 * delta
            labels = dict(alert.labels)  # external labels are the sink's to add, as in Prometheus
            ends = (
                alert.resolved_at_ms if alert.resolved_at_ms is not None else alert.valid_until_ms
            )
            starts = alert.fired_at_ms if alert.fired_at_ms is not None else alert.active_at_ms
            batch.append(
                Notification(
                    labels=labels,
                    annotations=dict(alert.annotations),
                    starts_at=starts / 1000,
                    ends_at=ends / 1000,
                    generator_url=self.generator_url(rule.expr),
                )
            )
        if batch and self.sink is not None:
            self.sink.send(batch)

    # --- restart and reload --------------------------------------------------------------

    def alerting_rules(self) -> list[AlertingRule]:
        return [r for r in self.rules if isinstance(r, AlertingRule)]

    def restore_for_state(self, now_ms: int) -> None:
        """Resume pending ``for`` clocks from ``ALERTS_FOR_STATE`` after a restart (Prometheus's
        ``RestoreForState``): call after the second evaluation of a freshly started group."""
        mint = now_ms - self.outage_tolerance_ms
        for rule in self.alerting_rules():
            if rule.hold_ms < self.for_grace_period_ms:
                rule.restored = True
                continue
            for alert in rule.active.values():
                self._restore_alert(rule, alert.labels, now_ms, mint)
            rule.restored = True

    def _restore_alert(
        self, rule: AlertingRule, alert_labels: Mapping[str, str], now_ms: int, mint: int
    ) -> None:
        alert = rule.active[tuple(sorted(alert_labels.items()))]
        want = rule.series_labels(alert, ALERTS_FOR_STATE_METRIC)
        matchers = [Matcher(k, "=", v) for k, v in want.items()]
        found = [s for s in self.store.select(matchers, mint, now_ms) if len(s.labels) == len(want)]
        if not found or len(found[0].timestamps) == 0:
            return
        last_t = int(found[0].timestamps[-1])
        last_v = float(found[0].values[-1])
        if is_stale(last_v):
            return
        down_at = last_t // 1000 * 1000
        active_at = int(last_v) * 1000
        remaining = rule.hold_ms - (down_at - active_at)
        if remaining <= 0:
            return  # it was firing when we went down; the next evaluation says if it still is
        if remaining < self.for_grace_period_ms:
            active_at = now_ms + self.for_grace_period_ms - rule.hold_ms
        else:
            active_at += now_ms - down_at
        alert.active_at_ms = active_at

    def previous_series(self) -> list[list[dict[str, str]]]:
        """Per rule, the series its last successful evaluation wrote."""
        return [list(series.values()) for series in self._previous]

    def copy_state(self, old: RuleGroup) -> None:
        """Carry alert state and staleness bookkeeping over from the group this one replaces
        (a reload); rules match by name and labels, the first with the first."""
        self.evaluation_s, self.last_evaluation_s = old.evaluation_s, old.last_evaluation_s
        unmatched: dict[tuple[str, _Key], list[int]] = {}
        for fi, rule in enumerate(old.rules):
            unmatched.setdefault(_identity(rule), []).append(fi)
        for i, rule in enumerate(self.rules):
            indexes = unmatched.get(_identity(rule))
            if not indexes:
                continue
            fi = indexes.pop(0)
            self._previous[i] = old._previous[fi]
            old_rule = old.rules[fi]
            if isinstance(rule, AlertingRule) and isinstance(old_rule, AlertingRule):
                rule.active.update(old_rule.active)
                rule.restored = old_rule.restored
        self._stale_series = list(old._stale_series)
        for indexes in unmatched.values():
            for fi in indexes:
                self._stale_series.extend(old._previous[fi].values())


def _identity(rule: Rule) -> tuple[str, _Key]:
    return rule.name, tuple(sorted(rule.labels.items()))
