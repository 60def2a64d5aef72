"""The store's read cache (``DuckSampleStore.read_cache``) never changes an answer: every
selection after appends, out-of-order refusals, retention and narrower/wider ranges equals the
same selection read straight from DuckDB (a store with the cache disabled)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tripod.server.config import StorageConfig
from tripod.server.store import samples as samples_module
from tripod.server.store.db import Database
from tripod.server.store.model import STALE_NAN, Matcher, Sample
from tripod.server.store.retention import apply_retention
from tripod.server.store.samples import DuckSampleStore


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[DuckSampleStore, DuckSampleStore]]:
    dbs = [Database(tmp_path / "cached"), Database(tmp_path / "plain")]
    try:
        cached, plain = DuckSampleStore(dbs[0]), DuckSampleStore(dbs[1])
        plain.read_cache.max_samples = 0  # nothing is ever kept: every read goes to DuckDB
        yield cached, plain
    finally:
        for db in dbs:
            db.close()


def _append(stores: tuple[DuckSampleStore, ...], points: list[tuple[str, int, float]]) -> None:
    for store in stores:
        store.append(Sample({"__name__": "c", "i": i}, t, v) for i, t, v in points)


def _same(stores: tuple[DuckSampleStore, DuckSampleStore], lo: int, hi: int, op: str = "=~") -> int:
    matchers = [Matcher("__name__", "=", "c"), Matcher("i", op, "a|b|d" if op == "=~" else "b")]
    got, want = (s.select_flat(matchers, lo, hi) for s in stores)
    assert got[0] == want[0]
    for g, w in zip(got[1:], want[1:], strict=True):
        assert g.dtype == w.dtype
        assert np.array_equal(g.view(np.int64), w.view(np.int64))  # bit for bit (NaN, stale)
    return len(got[1])


def test_cached_reads_equal_duckdb_reads(pair: tuple[DuckSampleStore, DuckSampleStore]) -> None:
    _append(pair, [(i, t * 1000, float(t)) for t in range(0, 100) for i in "abcd"])
    _append(pair, [("a", 100_000, math.nan), ("b", 100_000, STALE_NAN)])
    assert _same(pair, 10_000, 50_000) == 3 * 41
    assert _same(pair, 10_000, 50_000) == 3 * 41  # the same range, from the cache
    assert pair[0].read_cache.hits == 3
    assert _same(pair, 20_000, 30_000) == 3 * 11  # narrower: a slice of the entries
    assert pair[0].read_cache.hits == 6
    assert _same(pair, 0, 200_000) == 3 * 100 + 2  # wider: read again
    assert _same(pair, -(10**9), 10**9) == 3 * 100 + 2  # whole series held: a hit
    assert pair[0].read_cache.hits == 9
    _append(pair, [("a", 101_000, 7.0), ("d", 99_000, 1.0)])  # "d" out of order: refused
    assert _same(pair, 0, 200_000) == 3 * 100 + 3
    assert _same(pair, 0, 200_000, op="!=") == 3 * 100 + 2  # "i" != "b": a, c, d
    cached = pair[0]
    assert cached.read_cache.hits > 9


def test_retention_invalidates(pair: tuple[DuckSampleStore, DuckSampleStore]) -> None:
    now_s = 1_000.0
    _append(pair, [(i, t * 1000, float(t)) for t in range(0, 1000, 10) for i in "ab"])
    assert _same(pair, 0, 10**7) == 2 * 100
    for store in pair:
        apply_retention(store.db, store, StorageConfig(retention_time_s=500.0), now_s=now_s)
    assert _same(pair, 0, 10**7) == 2 * 50


def test_new_samples_are_read_alone(pair: tuple[DuckSampleStore, DuckSampleStore]) -> None:
    _append(pair, [(i, t * 1000, float(t)) for t in range(0, 100) for i in "abd"])
    assert _same(pair, 0, 10**6) == 3 * 100
    cached = pair[0]
    reads: list[int] = []
    plain_read = cached._read_columns

    def recording(
        sids: np.ndarray, start_ms: int, end_ms: int
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        reads.append(start_ms)
        return plain_read(sids, start_ms, end_ms)

    cached._read_columns = recording  # type: ignore[method-assign]
    _append(pair, [("a", 100_000, 1.0), ("b", 100_000, STALE_NAN), ("b", 101_000, 3.0)])
    assert _same(pair, 0, 10**6) == 3 * 100 + 3
    assert reads == [99_001]  # only what came after the cached samples, "d" from the cache
    assert _same(pair, 50_000, 100_500) == 3 * 50 + 2
    assert reads == [99_001]
    _append(pair, [("d", 100_000, 2.0)])
    assert _same(pair, 0, 99_000) == 3 * 100  # the new sample is out of range: still equal
    assert _same(pair, 0, 10**6) == 3 * 100 + 4


def test_wide_selections_bypass_the_cache(
    pair: tuple[DuckSampleStore, DuckSampleStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(samples_module, "_CACHED_SERIES_MAX", 2)
    _append(pair, [(i, t * 1000, float(t)) for t in range(0, 50) for i in "abcd"])
    _append(pair, [("a", 50_000, STALE_NAN), ("d", 50_000, math.nan)])
    assert _same(pair, 10_000, 60_000) == 3 * 40 + 2
    assert _same(pair, 10_000, 60_000, op="!=") == 3 * 40 + 2
    assert pair[0].read_cache.hits == 0
    assert pair[0].read_cache.misses == 0
