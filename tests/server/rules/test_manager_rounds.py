"""A round of evaluation does not hold the manager: a reload waits for the group being
evaluated only (then the round goes on with the reloaded groups and their carried state), and
closing the manager ends a round between rules. Gates (events), never timings, order things."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry

from tripod.server.promql import Engine
from tripod.server.rules import MemorySampleStore, engine_query_func
from tripod.server.rules.alerting import AlertingRule
from tripod.server.rules.manager import RuleManager
from tripod.server.rules.metrics import rule_metrics
from tripod.server.store.model import Sample

MIN = 60_000
WAIT = 30.0  # liveness only: a broken lock order would hang here, not fail a timing


def _rules(name: str) -> str:
    return f"""
groups:
  - name: {name}
    rules:
      - alert: Down
        expr: up == 0
        for: 20m
      - record: {name}:up:sum
        expr: sum(up)
"""


class Gate:
    """A query function that stops at chosen expressions until released, and logs calls."""

    def __init__(self, inner: Callable[[str, int], list[tuple[dict[str, str], float]]]) -> None:
        self.inner = inner
        self.calls: list[str] = []
        self.hold: dict[int, tuple[threading.Event, threading.Event]] = {}

    def at(self, call: int) -> tuple[threading.Event, threading.Event]:
        """Events (reached, release) for the ``call``-th query (counting from 0)."""
        return self.hold.setdefault(call, (threading.Event(), threading.Event()))

    def __call__(self, expr: str, ts: int) -> list[tuple[dict[str, str], float]]:
        n = len(self.calls)
        self.calls.append(expr)
        if n in self.hold:
            reached, release = self.hold[n]
            reached.set()
            assert release.wait(WAIT)
        return self.inner(expr, ts)


class SignallingLock:
    """A group's lock that tells when a thread other than the first one asks for it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.contended = threading.Event()

    def __enter__(self) -> None:
        if not self.lock.acquire(blocking=False):
            self.contended.set()
            self.lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def _setup(tmp_path: Path) -> tuple[RuleManager, Gate, list[Path]]:
    store = MemorySampleStore()
    store.append(Sample({"__name__": "up"}, t * MIN, 0.0) for t in range(40))
    gate = Gate(engine_query_func(Engine(store)))
    manager = RuleManager(store, gate, clock=lambda: 0.0)
    files = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.yml"
        path.write_text(_rules(name))
        files.append(path)
    assert manager.load([str(f) for f in files]) == []
    manager.evaluate_due(0)  # place the slots
    return manager, gate, files


def _due_all(manager: RuleManager) -> int:
    slots = [manager._next_ms[k] for k in manager._next_ms]
    return max(slots)


def test_reload_waits_for_one_group_not_the_round(tmp_path: Path) -> None:
    manager, gate, files = _setup(tmp_path)
    now = _due_all(manager)
    [group_a] = [g for g in manager.groups if g.name == "a"]
    lock = SignallingLock()
    group_a.lock = lock  # type: ignore[assignment]
    first_reached, first_release = gate.at(0)  # group a (evaluated first), rule 1
    second_reached, second_release = gate.at(2)  # the next group, rule 1
    round_ = threading.Thread(target=manager.evaluate_due, args=(now,))
    round_.start()
    assert first_reached.wait(WAIT)
    old_groups = {g.name: g for g in manager.groups}
    reloaded = threading.Event()

    def reload() -> None:
        assert manager.load([str(f) for f in files]) == []
        reloaded.set()

    reloader = threading.Thread(target=reload)
    reloader.start()
    assert lock.contended.wait(WAIT)  # the reload waits for group a's evaluation...
    assert not reloaded.is_set()
    first_release.set()  # the first group ends; the reload now goes through
    assert second_reached.wait(WAIT)
    assert reloaded.wait(WAIT)  # ...but not for group b's, which runs in its reloaded form
    assert not second_release.is_set()
    second_release.set()
    round_.join(WAIT)
    reloader.join(WAIT)
    assert not round_.is_alive()
    assert not reloader.is_alive()
    new_groups = {g.name: g for g in manager.groups}
    assert all(new_groups[n] is not old_groups[n] for n in new_groups)
    # both groups ran once; the alert state of the first was carried to its reloaded form
    assert len(gate.calls) == 4
    for group in new_groups.values():
        [rule] = [r for r in group.rules if isinstance(r, AlertingRule)]
        assert len(rule.active) == 1
    registry = CollectorRegistry()
    rule_metrics(registry, manager)
    for name in ("a", "b"):
        labels = {"rule_group": f"{tmp_path / name}.yml;{name}"}
        value = registry.get_sample_value("prometheus_rule_group_iterations_total", labels)
        assert value == 1
        assert registry.get_sample_value("prometheus_rule_evaluations_total", labels) == 2


def test_close_ends_a_round_between_rules(tmp_path: Path) -> None:
    manager, gate, _ = _setup(tmp_path)
    now = _due_all(manager)
    reached, release = gate.at(0)
    ran: list[int] = []
    round_ = threading.Thread(target=lambda: ran.append(manager.evaluate_due(now)))
    round_.start()
    assert reached.wait(WAIT)
    manager.close()
    release.set()
    round_.join(WAIT)
    assert not round_.is_alive()
    assert gate.calls == ["up == 0"]  # the rule running finished; nothing after it ran
    assert ran == [0]
    assert manager.evaluate_due(now + MIN) == 0
    assert len(gate.calls) == 1
