"""A range function over many series is read and evaluated a batch of series at a time
(``Engine(batch_series=...)``) so that a query's memory is one batch's samples. The answers must
be those of the one-piece path bit for bit: the same series in the same order, the same values
(NaN payloads included), the same errors — for every range function, under aggregations, with
``offset``/``@``, staleness markers, gaps, resets, and selections where two series differ only
in the metric name that the function drops."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from tripod.server.promql.engine import Engine, QueryResult
from tripod.server.promql.errors import ExecutionError, TooManySamplesError
from tripod.server.promql.values import Matrix, Scalar, Vector
from tripod.server.store.db import Database
from tripod.server.store.model import STALE_NAN, FlatSelection, Matcher, Sample
from tripod.server.store.samples import DuckSampleStore

T0 = 1_700_000_000_000
STEP = 15_000
POINTS = 240  # an hour at 15 s


class OnePiece:
    """The store with only ``select_flat``: the engine reads every selection in one piece."""

    def __init__(self, store: DuckSampleStore) -> None:
        self._store = store

    def select_flat(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> FlatSelection:
        return self._store.select_flat(matchers, start_ms, end_ms)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckSampleStore]:
    db = Database(Path(tmp_path_factory.mktemp("batches")) / "data")
    try:
        store = DuckSampleStore(db)
        store.read_cache.max_samples = 0  # each read from DuckDB: the cache has its own tests
        rng = random.Random(7)
        samples: list[Sample] = []
        for i in range(57):
            job = f"job{i % 4}"
            labels = {"__name__": "reqs", "job": job, "instance": f"i{i:02d}", "z": str(i % 3)}
            value = float(rng.randrange(100))
            for k in range(POINTS):
                if i % 5 == 1 and 100 <= k < 140:  # a gap longer than a [5m] window
                    continue
                value += rng.choice((0.0, 1.0, 2.5, 7.0))
                if k == 170 and i % 4 == 0:
                    value = 3.0  # a counter reset
                v = value
                if i == 9 and k == 60:
                    v = math.nan
                samples.append(Sample(labels, T0 + k * STEP + rng.randrange(3000), v))
            if i % 6 == 2:  # the target went away: a staleness marker, then nothing
                samples.append(Sample(labels, T0 + POINTS * STEP + 1_000, STALE_NAN))
        # same labels as some "reqs" series apart from the name: rate() drops it -> clash
        for i in (3, 40):
            labels = {"__name__": "reqs_b", "job": f"job{i % 4}", "instance": f"i{i:02d}"}
            labels["z"] = str(i % 3)
            samples.extend(Sample(labels, T0 + k * STEP, float(k)) for k in range(0, 60))
        samples.sort(key=lambda s: s.timestamp_ms)
        store.append(samples)
        yield store
    finally:
        db.close()


QUERIES = [
    "rate(reqs[5m])",
    "increase(reqs[1m])",
    "delta(reqs[2m])",
    "irate(reqs[5m])",
    "idelta(reqs[90s])",
    "resets(reqs[10m])",
    "changes(reqs[10m])",
    "deriv(reqs[5m])",
    "predict_linear(reqs[10m], 600)",
    "holt_winters(reqs[10m], 0.3, 0.6)",
    "quantile_over_time(0.9, reqs[10m])",
    "quantile_over_time(scalar(count(reqs)) / 100, reqs[10m])",
    "count_over_time(reqs[3m])",
    "sum_over_time(reqs[5m])",
    "avg_over_time(reqs[5m])",
    "min_over_time(reqs[5m])",
    "max_over_time(reqs[5m])",
    "stddev_over_time(reqs[5m])",
    "stdvar_over_time(reqs[5m])",
    "last_over_time(reqs[5m])",
    "present_over_time(reqs[5m])",
    "sum by (job) (rate(reqs[5m]))",
    "avg without (instance) (irate(reqs[1m] offset 10m))",
    "topk(3, rate(reqs{z!='1'}[5m]))",
    "rate(reqs[5m] @ 1700001800)",
    "rate(((reqs{job=~'job[12]'}[5m])))",
    "histogram_quantile(0.9, sum by (le) (label_replace(rate(reqs[5m]), 'le', '$1', 'z', '(.*)')))",
    "rate(reqs[5m]) / on (instance, job, z) group_left rate(reqs[10m])",
    "rate(nothing_here[5m])",
    "last_over_time({__name__=~'reqs|reqs_b'}[5m])",  # keeps the name: no clash
]


def _run(engine: Engine, query: str, *, instant_at: int | None = None) -> QueryResult:
    if instant_at is not None:
        return engine.instant(query, instant_at)
    return engine.range(query, T0, T0 + (POINTS + 20) * STEP, STEP)


def _same(got: QueryResult, want: QueryResult) -> None:
    assert got.kind == want.kind
    a, b = got.value, want.value
    assert type(a) is type(b)
    if isinstance(a, Vector):
        assert isinstance(b, Vector)
        assert a.labels == b.labels
        assert np.array_equal(a.present, b.present)
        bits_a = np.where(a.present, a.values.view(np.int64), 0)  # absent cells hold anything
        bits_b = np.where(b.present, b.values.view(np.int64), 0)
        assert np.array_equal(bits_a, bits_b)
    elif isinstance(a, Scalar):
        assert isinstance(b, Scalar)
        assert np.array_equal(a.values.view(np.int64), b.values.view(np.int64))
    else:
        assert isinstance(a, Matrix)


INSTANTS = (T0 + 100 * STEP + 7_000, T0 + (POINTS + 5) * STEP)
#: A batch per series costs 57 reads per evaluation: for one query of each shape (a function,
#: aggregation over batches, a binary operation, topk, ``@``, a clash-free name-keeping one).
ONE_PER_BATCH = [
    "rate(reqs[5m])",
    "holt_winters(reqs[10m], 0.3, 0.6)",
    "sum by (job) (rate(reqs[5m]))",
    "topk(3, rate(reqs{z!='1'}[5m]))",
    "rate(reqs[5m] @ 1700001800)",
    "rate(reqs[5m]) / on (instance, job, z) group_left rate(reqs[10m])",
    "last_over_time({__name__=~'reqs|reqs_b'}[5m])",
]
assert set(ONE_PER_BATCH) <= set(QUERIES)
_ONE_PIECE: dict[str, list[QueryResult]] = {}


def _one_piece(store: DuckSampleStore, query: str) -> list[QueryResult]:
    """The one-piece answers (range, then each instant), computed once per query."""
    if query not in _ONE_PIECE:
        one = Engine(OnePiece(store))  # type: ignore[arg-type]
        answers = [_run(one, query)]
        answers += [_run(one, query, instant_at=at) for at in INSTANTS]
        _ONE_PIECE[query] = answers
    return _ONE_PIECE[query]


# 57 series: batches of 4 leave one of 1 at the end, of 56 one series alone, 1000 one batch.
@pytest.mark.parametrize(
    ("size", "query"),
    [(size, q) for size in (4, 56, 1000) for q in QUERIES] + [(1, q) for q in ONE_PER_BATCH],
)
def test_batches_answer_as_one_piece(store: DuckSampleStore, query: str, size: int) -> None:
    want = _one_piece(store, query)
    batched = Engine(store, batch_series=size)
    got = [_run(batched, query)] + [_run(batched, query, instant_at=at) for at in INSTANTS]
    for answer, expected in zip(got, want, strict=True):
        _same(answer, expected)


@pytest.mark.parametrize("size", [1, 5, 1000])
def test_a_name_clash_across_batches_is_the_same_error(store: DuckSampleStore, size: int) -> None:
    # reqs{i03} and reqs_b{i03} sort far apart (by name), so they land in different batches
    query = "rate({__name__=~'reqs|reqs_b'}[5m])"
    for engine in (Engine(OnePiece(store)), Engine(store, batch_series=size)):  # type: ignore[arg-type]
        with pytest.raises(ExecutionError, match="same labelset"):
            _run(engine, query)


@pytest.mark.parametrize("size", [3, 1000])
def test_the_sample_limit_counts_over_all_batches(store: DuckSampleStore, size: int) -> None:
    query = "sum(rate(reqs[5m]))"
    one = Engine(OnePiece(store))  # type: ignore[arg-type]
    total = one.range(query, T0, T0 + POINTS * STEP, STEP)
    assert isinstance(total.value, Vector)
    # 57 series x 241 steps = 13,737 cells: 10,000 is under what the whole selection needs and
    # over what any batch of 3 does; 20,000 is enough
    for limit in (10_000, 20_000):
        outcomes = []
        for engine in (
            Engine(OnePiece(store), max_samples=limit),  # type: ignore[arg-type]
            Engine(store, max_samples=limit, batch_series=size),
        ):
            try:
                engine.range(query, T0, T0 + POINTS * STEP, STEP)
                outcomes.append("ok")
            except TooManySamplesError:
                outcomes.append("too many")
        assert outcomes[0] == outcomes[1], (limit, outcomes)
    with pytest.raises(TooManySamplesError):
        Engine(store, max_samples=10_000, batch_series=size).range(
            query, T0, T0 + POINTS * STEP, STEP
        )


def test_batches_read_a_batch_at_a_time(store: DuckSampleStore) -> None:
    """The batched path really reads in pieces (else this file would test nothing)."""
    reads: list[int] = []
    real = store.select_flat_ids

    def counting(
        sids: list[int], start_ms: int, end_ms: int, of: int | None = None
    ) -> FlatSelection:
        reads.append(len(sids))
        assert of == 57
        return real(sids, start_ms, end_ms, of=of)

    store.select_flat_ids = counting  # type: ignore[method-assign]
    try:
        Engine(store, batch_series=10).range("rate(reqs[5m])", T0, T0 + POINTS * STEP, STEP)
    finally:
        del store.select_flat_ids
    assert reads == [10, 10, 10, 10, 10, 7]


def test_the_read_cache_keeps_batches_only_when_the_whole_selection_fits(
    store: DuckSampleStore,
) -> None:
    """As a one-piece read too large for the read cache is not kept, neither are its batches
    (they would only push each other out, every query reading everything again)."""
    end = T0 + POINTS * STEP
    whole = len(store.select_flat([Matcher("__name__", "=", "reqs")], end - 300_000, end)[1])
    cache = store.read_cache
    engine = Engine(store, batch_series=10)
    try:
        for limit, kept in ((whole // 2, False), (whole * 2, True)):
            cache.clear()
            cache.max_samples = limit  # a batch of 10 series fits either way
            engine.instant("rate(reqs[5m])", end)
            hits = cache.hits
            # the last batch read (in label order): still in the cache if batches were kept
            engine.instant("rate(reqs{instance='i56'}[5m])", end)
            assert cache.hits - hits == (1 if kept else 0), limit
            hits = cache.hits
            engine.instant("rate(reqs[5m])", end)
            assert cache.hits - hits == (57 if kept else 1), limit  # else: just i56, kept alone
    finally:
        cache.max_samples = 0
        cache.clear()


def test_batches_after_the_first_hold_about_batch_samples(
    store: DuckSampleStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Series with many samples each come in smaller batches (a batch's memory is its samples)."""
    from tripod.server.promql import engine as engine_module

    monkeypatch.setattr(engine_module, "BATCH_SAMPLES", 1_000)
    reads: list[tuple[int, int]] = []
    real = store.select_flat_ids

    def counting(
        sids: list[int], start_ms: int, end_ms: int, of: int | None = None
    ) -> FlatSelection:
        got = real(sids, start_ms, end_ms, of=of)
        reads.append((len(sids), len(got[1])))
        return got

    query = "sum by (job) (rate(reqs[5m]))"
    want = _run(Engine(OnePiece(store)), query)  # type: ignore[arg-type]
    monkeypatch.setattr(store, "select_flat_ids", counting)
    got = _run(Engine(store, batch_series=10), query)
    _same(got, want)
    assert reads[0][0] == 10
    assert sum(n for n, _ in reads) == 57
    # ~250 samples per series here: 1,000 samples make batches of 3-5 series
    assert all(1 <= n <= 5 for n, _ in reads[1:-1]), reads
