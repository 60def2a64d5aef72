"""The server's rule manager: loads, keeps the last good set on a bad reload, evaluates groups
on their slots from a given time, restores `for` state after its second evaluation, and marks
the series of removed groups stale."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from prometheus_client import CollectorRegistry

from tripod.server.promql import Engine
from tripod.server.rules import MemorySampleStore, engine_query_func
from tripod.server.rules.alerting import AlertingRule
from tripod.server.rules.manager import RuleManager, expand_rule_globs
from tripod.server.rules.metrics import rule_metrics
from tripod.server.store.model import STALE_NAN_BITS, Matcher, Sample

MIN = 60_000
GOOD = """
groups:
  - name: g
    rules:
      - record: up:sum
        expr: sum(up)
      - alert: Down
        expr: up == 0
        for: 20m
"""


def _manager(store: MemorySampleStore) -> RuleManager:
    return RuleManager(store, engine_query_func(Engine(store)), clock=lambda: 0.0)


def test_bad_reload_keeps_the_last_good_set(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(GOOD)
    store = MemorySampleStore()
    manager = _manager(store)
    assert manager.load(expand_rule_globs([str(tmp_path / "*.yml")])) == []
    rules.write_text(GOOD.replace("record: up:sum", "record: up-sum"))
    problems = manager.load([str(rules)])
    assert [p.line for p in problems] == [5]
    assert "invalid recording rule name" in problems[0].reason
    assert [r.name for g in manager.groups for r in g.rules] == ["up:sum", "Down"]


def test_groups_run_on_their_slots_and_restore_after_the_second_evaluation(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(GOOD)
    store = MemorySampleStore()
    store.append(Sample({"__name__": "up"}, t * MIN, 0.0) for t in range(40))
    # a previous process had the alert pending since 0 and wrote ALERTS_FOR_STATE until 5m
    store.append(
        Sample({"__name__": "ALERTS_FOR_STATE", "alertname": "Down"}, t * MIN, 0.0)
        for t in range(6)
    )
    manager = _manager(store)
    assert manager.load([str(rules)]) == []
    assert manager.evaluate_due(6 * MIN) == 0  # the first call only places the slots
    first = manager.next_due_ms()
    assert first is not None
    assert 6 * MIN < first <= 7 * MIN
    assert manager.evaluate_due(first - 1) == 0
    assert manager.evaluate_due(first) == 1
    assert manager.evaluate_due(first + 3 * MIN + 5) == 1  # missed slots are skipped
    assert manager.next_due_ms() == first + 4 * MIN
    [rule] = [r for r in manager.groups[0].rules if isinstance(r, AlertingRule)]
    assert rule.restored
    [alert] = rule.active.values()
    # 5m of the 20m were spent before the outage; the outage is added to activeAt
    assert alert.active_at_ms == first + 3 * MIN + 5 - 5 * MIN


def test_reload_keeps_alerts_and_removed_groups_go_stale(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(GOOD)
    store = MemorySampleStore()
    store.append(Sample({"__name__": "up"}, t * MIN, 0.0) for t in range(40))
    manager = _manager(store)
    manager.load([str(rules)])
    manager.evaluate_due(0)
    due = manager.next_due_ms()
    assert due is not None
    manager.evaluate_due(due)
    before = manager.groups[0].rules[1]
    assert isinstance(before, AlertingRule)
    assert len(before.active) == 1
    assert manager.load([str(rules)]) == []  # the same file again: alert state carries over
    after = manager.groups[0].rules[1]
    assert isinstance(after, AlertingRule)
    assert after is not before
    assert after.active.keys() == before.active.keys()
    other = tmp_path / "other.yml"
    other.write_text(GOOD.replace("      - record: up:sum\n        expr: sum(up)\n", ""))
    # group g now comes from other.yml without its recording rule: up:sum goes stale
    assert manager.load([str(other)]) == []
    manager.evaluate_due(due + MIN)
    [series] = store.select([Matcher("__name__", "=", "up:sum")], 0, 10**9)
    assert np.float64(series.values[-1]).view(np.uint64) == STALE_NAN_BITS


def test_run_returns_when_stopped() -> None:
    store = MemorySampleStore()
    manager = _manager(store)
    stop = threading.Event()
    stop.set()
    manager.run(stop)
    assert manager.next_due_ms() is None


def test_self_metrics_are_named_as_prometheus_names_them(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(GOOD.replace("expr: sum(up)", "expr: sum(up"))
    store = MemorySampleStore()
    manager = _manager(store)
    assert manager.load([str(rules)]) != []
    rules.write_text(GOOD.replace("up == 0", "'\"a string\"'"))
    assert manager.load([str(rules)]) == []
    manager.evaluate_due(0)
    due = manager.next_due_ms()
    assert due is not None
    manager.evaluate_due(due)
    registry = CollectorRegistry()
    rule_metrics(registry, manager)
    metrics = {
        (s.name, s.labels.get("rule_group", "")): s.value
        for family in registry.collect()
        for s in family.samples
    }
    key = f"{rules};g"
    assert metrics[("prometheus_rule_evaluations_total", key)] == 2
    assert metrics[("prometheus_rule_evaluation_failures_total", key)] == 1
    assert metrics[("prometheus_rule_group_interval_seconds", key)] == 60
    assert metrics[("prometheus_rule_group_rules", key)] == 2
    assert metrics[("prometheus_rule_group_iterations_total", key)] == 1
    assert metrics[("prometheus_rule_group_iterations_missed_total", key)] == 0
    assert metrics[("prometheus_rule_group_last_evaluation_timestamp_seconds", key)] == 0
    assert metrics[("prometheus_rule_evaluation_duration_seconds_count", "")] == 2
    assert metrics[("prometheus_rule_group_duration_seconds_count", "")] == 1
    [group] = manager.rules_body()["data"]["groups"]
    assert [r["health"] for r in group["rules"]] == ["ok", "err"]
    assert group["rules"][1]["lastError"] == "rule result is not a vector or scalar"
    assert manager.alerts_body() == {"status": "success", "data": {"alerts": []}}
