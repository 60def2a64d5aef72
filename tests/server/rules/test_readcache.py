"""The rules' read cache answers exactly as the store does: the same series in the same order,
the same samples (staleness markers included), for selectors with every kind of matcher,
``offset`` and ``@``, and a group whose rules read earlier rules' output sees that output."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tripod.server.promql import Engine
from tripod.server.rules import engine_query_func
from tripod.server.rules.manager import RuleManager
from tripod.server.rules.readcache import ReadCache
from tripod.server.store import Database, DuckSampleStore
from tripod.server.store.model import STALE_NAN, Matcher, Sample

MIN = 60_000
T = 50 * MIN  # reqs runs from 0 to 60m, one sample every 30s


def _data() -> list[Sample]:
    rng = np.random.default_rng(7)
    out: list[Sample] = []
    for job in ("api", "web", "db"):
        for status in ("200", "500", ""):
            labels = {"__name__": "reqs", "job": job, **({"status": status} if status else {})}
            total = 0.0
            for t in range(0, 120):
                if job == "db" and 40 <= t < 60:
                    continue  # a gap
                total += float(rng.integers(0, 5))
                value = STALE_NAN if (job == "web" and t == 95 and status == "500") else total
                out.append(Sample(labels, t * MIN // 2 + 7, value))
        out.append(Sample({"__name__": "up", "job": job}, T - 30_000, 1.0 if job != "db" else 0.0))
    out.append(Sample({"__name__": "up", "job": "web"}, T - 10_000, STALE_NAN))
    return out


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[DuckSampleStore, DuckSampleStore]]:
    dbs = [Database(tmp_path / "a"), Database(tmp_path / "b")]
    pair = DuckSampleStore(dbs[0]), DuckSampleStore(dbs[1])
    for store in pair:
        store.append(_data())
    try:
        yield pair
    finally:
        for db in dbs:
            db.close()


MATCHERS = [
    [Matcher("__name__", "=", "reqs")],
    [Matcher("__name__", "=", "reqs"), Matcher("job", "=", "api")],
    [Matcher("__name__", "=", "reqs"), Matcher("status", "=", "")],
    [Matcher("__name__", "=", "reqs"), Matcher("status", "!=", "")],
    [Matcher("__name__", "=", "reqs"), Matcher("status", "=~", "5.."), Matcher("job", "!~", "db")],
    [Matcher("__name__", "=", "reqs"), Matcher("nope", "=~", ".*")],
    [Matcher("__name__", "=", "reqs"), Matcher("__name__", "!=", "reqs")],
    [Matcher("__name__", "=~", "re.*|up")],
    [Matcher("__name__", "=", "up")],
    [Matcher("__name__", "=", "absent")],
]
WINDOWS = [(T - 5 * MIN, T), (T - 2 * MIN, T - MIN), (T - 6 * MIN, T), (0, 10 * MIN), (T, T - 1)]


def test_select_flat_is_the_stores_own(stores: tuple[DuckSampleStore, DuckSampleStore]) -> None:
    store, _ = stores
    cache = ReadCache(store)
    for lo, hi in WINDOWS:  # one cache over every window: widened, reused, or passed through
        for matchers in MATCHERS:
            want = store.select_flat(matchers, lo, hi)
            got = cache.select_flat(matchers, lo, hi)
            assert got[0] == want[0], (matchers, lo, hi)
            for g, w in zip(got[1:], want[1:], strict=True):
                assert np.asarray(g).tobytes() == np.asarray(w).tobytes(), (matchers, lo, hi)
    assert cache.hits > 0


QUERIES = [
    "reqs",
    'rate(reqs{job="api"}[5m])',
    'sum by (job) (rate(reqs{status=~"5.."}[5m]))',
    'reqs{status=""} offset 10m',
    "reqs @ 1800 ",
    'increase(reqs{job="db"}[30m] offset 20m)',
    "max_over_time(reqs[10m:1m])",
    'up == 0 or up{job!="db"}',
    '{__name__=~"up|reqs", job="web"}',
    "timestamp(up)",
    "absent(nothing)",
]


@pytest.mark.parametrize("step", [0, 7, 31])
def test_queries_answer_the_same(
    stores: tuple[DuckSampleStore, DuckSampleStore], step: int
) -> None:
    store, _ = stores
    plain, cached = Engine(store), Engine(ReadCache(store))
    at = T - step * 13_000
    for expr in QUERIES:
        want, got = plain.instant(expr, at), cached.instant(expr, at)
        assert got.kind == want.kind, expr
        assert repr(got) == repr(want), expr


RULES = """
groups:
  - name: chain
    interval: 30s
    rules:
      - record: before
        expr: sum(job:reqs:rate1m)
      - record: job:reqs:rate1m
        expr: sum by (job) (rate(reqs[1m]))
      - record: job:reqs:rate1m_x2
        expr: job:reqs:rate1m * 2
      - record: reqs_copy
        expr: reqs{job!="web"}
      - record: reqs_copy_sum
        expr: sum(reqs_copy) + sum(reqs_copy offset 1m)
      - alert: Down
        expr: up == 0
        for: 1m
      - record: alerts_seen
        expr: count(ALERTS) or vector(0)
"""


def test_a_group_reads_the_same_through_the_cache(
    stores: tuple[DuckSampleStore, DuckSampleStore], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    managers = []
    for store, use_cache in zip(stores, (False, True), strict=True):
        cache = ReadCache(store) if use_cache else None
        reader = cache or store
        manager = RuleManager(
            reader,
            engine_query_func(Engine(reader)),
            clock=lambda: 0.0,
            before_group=cache.clear if cache else None,
        )
        assert manager.load([str(rules)]) == []
        manager.evaluate_due(T - 3 * MIN)
        managers.append(manager)
    due = managers[0].next_due_ms()
    assert due is not None
    for i in range(8):  # through the `for`, the staleness of web's up, the gap's end
        for manager in managers:
            assert manager.evaluate_due(due + i * 30_000) == 1
    everything = [Matcher("__name__", "=~", ".+")]
    plain, cached = (s.select_flat(everything, 0, 10**13) for s in stores)
    assert [d["__name__"] for d in cached[0]].count("job:reqs:rate1m_x2") == 3
    assert [d["__name__"] for d in cached[0]].count("before") == 1
    assert cached[0] == plain[0]
    for g, w in zip(cached[1:], plain[1:], strict=True):
        assert np.asarray(g).tobytes() == np.asarray(w).tobytes()
    bodies = [m.rules_body() for m in managers]
    assert [r["health"] for r in bodies[1]["data"]["groups"][0]["rules"]] == ["ok"] * 7
