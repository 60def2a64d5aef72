"""Rule groups evaluated at chosen times over a real engine and the in-memory store: recording
rules and staleness, the alert state machine, ALERTS series, notifications, limits, restart
restore and reload. Times are given, never slept; the clock is injected."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pytest

from tripod.server.notify.model import Alert as Notification
from tripod.server.promql import Engine
from tripod.server.rules import (
    AlertState,
    MemorySampleStore,
    RuleGroup,
    engine_query_func,
    parse_rules,
)
from tripod.server.rules.alerting import AlertingRule
from tripod.server.store.model import STALE_NAN_BITS, AppendResult, Matcher, Sample

MIN = 60_000


class Sink:
    def __init__(self) -> None:
        self.batches: list[list[Notification]] = []

    def send(self, alerts: Sequence[Notification]) -> None:
        self.batches.append(list(alerts))


def _group(
    text: str, store: MemorySampleStore, *, restored: bool = True, sink: Sink | None = None
) -> RuleGroup:
    groups, problems = parse_rules(text, "test.yml")
    assert problems == []
    return RuleGroup(
        groups[0],
        store,
        engine_query_func(Engine(store)),
        sink=sink,
        restored=restored,
        external_url="http://tripod.local",
        clock=lambda: 1_700_000_000.0,
    )


def _put(store: MemorySampleStore, labels: dict[str, str], points: dict[int, float]) -> None:
    store.append(Sample(labels, t, v) for t, v in sorted(points.items()))


def _raw(
    store: MemorySampleStore, name: str
) -> list[tuple[dict[str, str], list[int], list[float]]]:
    found = store.select([Matcher("__name__", "=", name)], 0, 10**12)
    return [(s.labels, s.timestamps.tolist(), s.values.tolist()) for s in found]


RECORD = """
groups:
  - name: rec
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels: {source: rule}
"""


def test_recording_rule_writes_series_and_marks_vanished_ones_stale() -> None:
    store = MemorySampleStore()
    _put(store, {"__name__": "up", "job": "a"}, {0: 1, MIN: 1})
    _put(store, {"__name__": "up", "job": "b"}, {0: 1})
    group = _group(RECORD, store)
    group.eval(0)
    group.eval(6 * MIN)  # b's only sample is now outside the 5m lookback
    series = {s[0]["job"]: s for s in _raw(store, "job:up:sum")}
    assert series["a"][0] == {"__name__": "job:up:sum", "job": "a", "source": "rule"}
    assert series["a"][1] == [0, 6 * MIN]
    assert series["b"][1] == [0, 6 * MIN]
    assert np.float64(series["b"][2][1]).view(np.uint64) == STALE_NAN_BITS
    assert group.status[0].health == "ok"


ALERT = """
groups:
  - name: alerts
    rules:
      - alert: Down
        expr: up == 0
        for: 2m
        labels: {severity: page}
        annotations: {summary: down}
"""


def test_alert_goes_pending_firing_resolved_and_is_notified_like_prometheus() -> None:
    store = MemorySampleStore()
    _put(
        store,
        {"__name__": "up", "job": "a"},
        {t * MIN: (0 if 1 <= t <= 4 else 1) for t in range(8)},
    )
    sink = Sink()
    group = _group(ALERT, store, sink=sink)
    rule = group.rules[0]
    assert isinstance(rule, AlertingRule)

    group.eval(0)
    assert rule.active == {}
    group.eval(MIN)
    assert rule.state() == AlertState.PENDING
    assert sink.batches == []  # pending alerts are not sent
    group.eval(2 * MIN)
    assert rule.state() == AlertState.PENDING
    group.eval(3 * MIN)
    assert rule.state() == AlertState.FIRING
    [[sent]] = sink.batches
    assert sent.labels == {"alertname": "Down", "job": "a", "severity": "page"}
    assert sent.starts_at == 180.0
    assert sent.ends_at == 180.0 + 4 * 60  # ValidUntil = ts + 4 * max(resend delay, interval)
    assert sent.generator_url == "http://tripod.local/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
    group.eval(4 * MIN)  # resend delay (1m) not yet exceeded: nothing sent
    assert len(sink.batches) == 1
    group.eval(5 * MIN)  # resolved: sent at once with EndsAt = resolve time
    assert rule.state() == AlertState.INACTIVE
    assert sink.batches[-1][0].ends_at == 300.0
    assert rule.active_alerts() == []

    # ALERTS per state, each ended by a staleness marker when the state changed
    alerts = {s[0]["alertstate"]: s for s in _raw(store, "ALERTS")}
    assert alerts["pending"][1] == [MIN, 2 * MIN, 3 * MIN]
    assert alerts["firing"][1] == [3 * MIN, 4 * MIN, 5 * MIN]
    for state in ("pending", "firing"):
        assert np.float64(alerts[state][2][-1]).view(np.uint64) == STALE_NAN_BITS
        assert alerts[state][2][:-1] == [1.0] * (len(alerts[state][2]) - 1)
    for_state = _raw(store, "ALERTS_FOR_STATE")[0]
    assert for_state[0] == {
        "__name__": "ALERTS_FOR_STATE",
        "alertname": "Down",
        "job": "a",
        "severity": "page",
    }
    assert for_state[2][0] == 60.0  # activeAt in seconds
    assert math.isnan(for_state[2][-1])  # went stale when the alert resolved


def test_resolved_alert_is_resent_then_forgotten_after_15_minutes() -> None:
    store = MemorySampleStore()
    _put(store, {"__name__": "up", "job": "a"}, {0: 0, MIN: 1})
    sink = Sink()
    group = _group(ALERT.replace("for: 2m", "for: 0s"), store, sink=sink)
    rule = group.rules[0]
    assert isinstance(rule, AlertingRule)
    group.eval(0)
    group.eval(MIN)
    assert len(rule.active) == 1  # resolved but kept
    group.eval(3 * MIN)  # resend of the resolved alert after the resend delay
    assert sink.batches[-1][0].ends_at == 60.0
    group.eval(17 * MIN)
    assert rule.active == {}


KEEP = """
groups:
  - name: keep
    rules:
      - alert: Breaker
        expr: open > 0
        keep_firing_for: 3m
"""


def test_keep_firing_for_holds_a_firing_alert() -> None:
    store = MemorySampleStore()
    _put(store, {"__name__": "open"}, {0: 1, MIN: 0})
    group = _group(KEEP, store)
    rule = group.rules[0]
    assert isinstance(rule, AlertingRule)
    group.eval(0)
    assert rule.state() == AlertState.FIRING
    for t in (1, 2, 3):
        group.eval(t * MIN)
        assert rule.state() == AlertState.FIRING, t
    assert rule.firing_alerts()[0].keep_firing_since_ms == MIN
    group.eval(4 * MIN)
    assert rule.state() == AlertState.INACTIVE


def test_duplicate_label_set_and_limit_are_evaluation_errors() -> None:
    store = MemorySampleStore()
    _put(store, {"__name__": "errors", "i": "a"}, {0: 1})
    _put(store, {"__name__": "errors", "i": "b"}, {0: 1})
    text = """
groups:
  - name: bad
    limit: 1
    rules:
      - alert: Collide
        expr: errors > 0
        labels: {i: same}
      - alert: TooMany
        expr: errors > 0
      - record: too_many
        expr: errors
"""
    group = _group(text, store)
    group.eval(0)
    assert [s.health for s in group.status] == ["err", "err", "err"]
    assert group.status[0].last_error == (
        "vector contains metrics with the same labelset after applying alert labels"
    )
    assert group.status[1].last_error == "exceeded limit of 1 with 2 alerts"
    assert group.status[2].last_error == "exceeded limit of 1 with 2 series"


RESTORE = """
groups:
  - name: slow
    rules:
      - alert: Slow
        expr: latency > 1
        for: 30m
"""


def _run_then_restart(for_text: str, down_at_min: int, back_at_min: int) -> AlertingRule:
    store = MemorySampleStore()
    _put(store, {"__name__": "latency"}, {t * MIN: 2.0 for t in range(60)})
    first = _group(RESTORE.replace("30m", for_text), store)
    for t in range(down_at_min + 1):
        first.eval(t * MIN)
    # kill -9; a new process starts: its first evaluations write no ALERTS, then it restores
    second = _group(RESTORE.replace("30m", for_text), store, restored=False)
    second.eval(back_at_min * MIN)
    second.eval((back_at_min + 1) * MIN)
    assert _raw(store, "ALERTS")[0][1][-1] == down_at_min * MIN
    second.restore_for_state((back_at_min + 1) * MIN)
    rule = second.rules[0]
    assert isinstance(rule, AlertingRule)
    assert rule.restored
    return rule


def test_restore_shifts_a_pending_for_by_the_outage() -> None:
    rule = _run_then_restart("30m", down_at_min=10, back_at_min=12)
    [alert] = rule.active.values()
    # 10m of 30m were spent pending before the crash; the 3m outage is added on top
    assert alert.active_at_ms == 3 * MIN
    assert alert.state == AlertState.PENDING


def test_restore_near_the_end_of_for_waits_the_grace_period() -> None:
    rule = _run_then_restart("15m", down_at_min=10, back_at_min=12)
    [alert] = rule.active.values()
    # 5m were left, under the 10m grace period: it fires 10m after the restore
    assert alert.active_at_ms == 13 * MIN + 10 * MIN - 15 * MIN


def test_restore_skips_rules_with_a_for_shorter_than_the_grace_period() -> None:
    rule = _run_then_restart("5m", down_at_min=10, back_at_min=12)
    [alert] = rule.active.values()
    assert alert.active_at_ms == 12 * MIN


def test_reload_keeps_alert_state_and_marks_removed_rules_series_stale() -> None:
    store = MemorySampleStore()
    _put(store, {"__name__": "up", "job": "a"}, {0: 1})
    both = (
        RECORD
        + """      - alert: Always
        expr: vector(1)
"""
    )
    old = _group(both, store)
    old.eval(0)
    new = _group(
        ALERT.replace("name: alerts", "name: rec")
        .replace("Down", "Always")
        .replace("up == 0", "vector(1)"),
        store,
    )
    new.copy_state(old)
    new.eval(MIN)
    [recorded] = _raw(store, "job:up:sum")
    assert np.float64(recorded[2][-1]).view(np.uint64) == STALE_NAN_BITS


def test_next_eval_is_on_the_groups_slot() -> None:
    store = MemorySampleStore()
    group = _group(RECORD, store)
    first = group.next_eval_ms(1_000_000)
    assert 1_000_000 < first <= 1_000_000 + MIN
    assert group.next_eval_ms(first) == first + MIN


@pytest.mark.parametrize("expr", ['"a string"', "up[5m]"])
def test_a_rule_whose_result_is_not_a_vector_fails(expr: str) -> None:
    store = MemorySampleStore()
    group = _group(RECORD.replace("sum by (job) (up)", f"'{expr}'"), store)
    group.eval(0)
    assert group.status[0].last_error == "rule result is not a vector or scalar"


class RefusingStore(MemorySampleStore):
    """A store that refuses one metric name outright, as a store with naming limits may."""

    def append(self, samples: Iterable[Sample]) -> AppendResult:
        batch = list(samples)
        if any(s.labels.get("__name__") == "refused" for s in batch):
            msg = "label set refused"
            raise ValueError(msg)
        return super().append(batch)


def test_a_store_refusal_fails_that_rule_only() -> None:
    store = RefusingStore()
    text = """
groups:
  - name: g
    rules:
      - record: refused
        expr: vector(1)
      - record: kept
        expr: vector(2)
"""
    group = _group(text, store)
    group.eval(0)
    assert [s.health for s in group.status] == ["err", "ok"]
    assert "label set refused" in group.status[0].last_error
    assert _raw(store, "kept")[0][2] == [2.0]
