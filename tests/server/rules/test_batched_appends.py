"""A group's appends held by the read cache and written in one store transaction (``defer`` /
``flush``, ``append_many``) leave the store and every rule's health exactly as Prometheus's
per-rule appends do: chained rules see earlier rules' output in the same round, vanished
series get staleness markers, and an append error fails only its own rule."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from tripod.server.promql import Engine
from tripod.server.rules import RuleGroup, engine_query_func, parse_rules
from tripod.server.rules.readcache import ReadCache
from tripod.server.store import (
    STALE_NAN,
    Database,
    DuckSampleStore,
    Matcher,
    Sample,
    is_stale,
)
from tripod.server.store.model import AppendResult

MIN = 60_000
T0 = 100 * MIN
RULES = """
groups:
- name: g
  rules:
  - record: job:up:sum
    expr: sum by (job) (up)
  - record: job:up:double
    expr: job:up:sum * 2
  - record: rec:count
    expr: count({__name__=~"job:up:.*"})
  - alert: Doubled
    expr: job:up:double > 2
    labels: {severity: page}
  - alert: Held
    expr: job:up:double > 2
    for: 2m
  - alert: FromAlerts
    expr: count(ALERTS{alertname="Doubled"}) > 0
  - record: clash
    expr: vector(1)
  - record: clash
    expr: vector(2)
"""


class CountingStore(DuckSampleStore):
    """The real store, counting the writes it is asked for."""

    appends = 0
    transactions = 0

    def append(self, samples: Iterable[Sample]) -> AppendResult:
        self.appends += 1
        return super().append(samples)

    def append_many(self, batches: Sequence[Iterable[Sample]]) -> list[AppendResult]:
        self.transactions += 1
        return super().append_many(batches)


def _inputs(round_: int) -> list[Sample]:
    ts = T0 + round_ * MIN - 1000
    up = {"a": 1.0, "b": 2.0, "c": 3.0}
    out = [Sample({"__name__": "up", "job": j}, ts, v) for j, v in up.items() if j != "c"]
    if round_ < 2:
        out.append(Sample({"__name__": "up", "job": "c"}, ts, 3.0))
    elif round_ == 2:  # job c goes away: its recorded series and its alerts must go stale
        out.append(Sample({"__name__": "up", "job": "c"}, ts, STALE_NAN))
    return out


def _dump(store: DuckSampleStore) -> list[tuple[dict[str, str], list[int], bytes]]:
    found = store.select([Matcher("__name__", "=~", ".+")], 0, T0 + 100 * MIN)
    return [(x.labels, x.timestamps.tolist(), x.values.tobytes()) for x in found]


def test_batched_group_writes_equal_per_rule_appends(tmp_path: Path) -> None:
    (spec,), problems = parse_rules(RULES, "g.yml")
    assert problems == []
    dbs = [Database(tmp_path / "per-rule"), Database(tmp_path / "batched")]
    try:
        plain, counted = DuckSampleStore(dbs[0]), CountingStore(dbs[1])
        cache = ReadCache(counted)
        per_rule = RuleGroup(spec, plain, engine_query_func(Engine(plain)), restored=True)
        batched = RuleGroup(spec, cache, engine_query_func(Engine(cache)), restored=True)
        for round_ in range(5):
            for store in (plain, counted):
                store.append(_inputs(round_))
            counted.appends = counted.transactions = 0
            ts = T0 + round_ * MIN
            assert per_rule.eval(ts)
            cache.clear()
            assert batched.eval(ts)
            assert counted.appends == 0
            assert 1 <= counted.transactions < len(spec.rules)
            health = [(s.health, s.last_error) for s in batched.status]
            assert health == [(s.health, s.last_error) for s in per_rule.status]
            assert [h for h, _ in health] == ["ok"] * 7 + ["err"]
            assert "duplicate sample for clash" in health[-1][1]
            assert _dump(counted) == _dump(plain), round_
            assert batched.previous_series() == per_rule.previous_series()
            doubled = {
                x.labels["job"]: x.values[-1]
                for x in counted.select([Matcher("__name__", "=", "job:up:double")], ts, ts)
                if not is_stale(x.values[-1])
            }
            want = {"a": 2.0, "b": 4.0} if round_ >= 2 else {"a": 2.0, "b": 4.0, "c": 6.0}
            assert doubled == want, round_  # the chained rule read this round's job:up:sum
        first = counted.select([Matcher("alertname", "=", "FromAlerts")], T0, T0)
        names = sorted(x.labels["__name__"] for x in first)  # it read ALERTS of this round
        assert names == ["ALERTS", "ALERTS_FOR_STATE"]
        stale = [
            x.labels
            for x in counted.select([Matcher("job", "=", "c")], T0 + 2 * MIN, T0 + 2 * MIN)
            if x.labels["__name__"] != "up"
        ]
        assert {x["__name__"] for x in stale} == {
            "job:up:sum",
            "job:up:double",
            "ALERTS",
            "ALERTS_FOR_STATE",
        }
    finally:
        for db in dbs:
            db.close()
