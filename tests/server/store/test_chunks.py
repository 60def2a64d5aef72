"""Compacted sample chunks (store/chunks.py): bit-exact encoding, and a store whose closed windows
were compacted answering exactly as before (reads, restarts, late samples, retention)."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from tripod.server.app import open_context
from tripod.server.config import ServerConfig, StorageConfig
from tripod.server.store import (  # chunks, retention: modules
    STALE_NAN,
    STALE_NAN_BITS,
    Database,
    DuckSampleStore,
    Matcher,
    SeriesData,
    apply_retention,
    chunks,
    retention,
)
from tripod.server.store import samples as samples_module

HOUR = 3_600_000
T0 = 1_700_000_000_000  # not window-aligned
KEYS = ("sid", *chunks.COLUMNS[1:])


def _round_trip(runs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    encoded = [chunks.encode(ts, vs) for ts, vs in runs]
    rows = {
        name: np.array([e[k] for e in encoded], dtype=object if name == "b" else np.int64)
        for k, name in enumerate(chunks.COLUMNS[1:])
    }
    rows["sid"] = np.arange(len(runs))
    sid, ts, vs = chunks.decode(rows)
    assert sid.tolist() == np.repeat(np.arange(len(runs)), [len(t) for t, _ in runs]).tolist()
    return ts, vs


def test_encoding_is_bit_exact_for_every_kind_of_value() -> None:
    rng = np.random.default_rng(1)
    odd = np.array([1.0, np.nan, STALE_NAN, -0.0, 0.1 + 0.2, 1e300, -np.inf, 5e-324, 2.0**60])
    runs = [
        (np.arange(len(odd), dtype=np.int64) * 1000 - 4000, odd),  # raw (XOR) mode
        (T0 + np.cumsum(rng.integers(14_990, 15_010, 500)), np.round(rng.normal(50, 10, 500), 2)),
        (T0 + np.arange(300) * 60_000, np.cumsum(rng.integers(0, 1000, 300)).astype(float)),
        (np.array([T0], dtype=np.int64), np.array([STALE_NAN])),
        (np.array([0, 2**40, 2**62], dtype=np.int64), np.array([2.0**52 - 1, 0.5, -3.0])),
        (T0 + np.arange(200), rng.normal(0, 1, 200)),  # noise: raw mode
    ]
    modes = [chunks.encode(ts, vs).vmode for ts, vs in runs]
    assert modes == [0, 1, 1, 0, 1, 0]
    ts, vs = _round_trip(runs)
    assert ts.tolist() == np.concatenate([t for t, _ in runs]).tolist()
    want = np.concatenate([v for _, v in runs])
    assert vs.view(np.uint64).tolist() == want.view(np.uint64).tolist()
    # the staleness marker keeps its exact bits (not just any NaN)
    assert int(vs[2].view(np.uint64)) == STALE_NAN_BITS


def test_evenly_spaced_timestamps_store_no_bytes_and_jitter_fits_one_byte() -> None:
    even = chunks.encode(T0 + np.arange(480, dtype=np.int64) * 15_000, np.zeros(480))
    assert even.tw == chunks.STEP_FLAG  # width 0: nothing stored for the timestamps
    jitter = np.random.default_rng(3).integers(0, 5, 480)
    scraped = chunks.encode(T0 + np.arange(480, dtype=np.int64) * 15_000 + jitter, np.zeros(480))
    assert scraped.tw == chunks.STEP_FLAG | 1
    runs = [
        (T0 + np.arange(480, dtype=np.int64) * 15_000, np.arange(480.0)),
        (T0 + np.arange(480, dtype=np.int64) * 15_000 + jitter, np.arange(480.0)),
        (np.array([T0, T0 + 1, T0 + 2**40]), np.ones(3)),  # the mean step far from each delta
        (np.array([-(2**62), 0, 2**62]), np.ones(3)),
    ]
    ts, _ = _round_trip(runs)
    assert ts.tolist() == np.concatenate([t for t, _ in runs]).tolist()


def _first_format_row(sid: int) -> dict[str, object]:
    """A chunk as the first version of chunks.py wrote it (the first delta stored as it is,
    no flag in ``tw``): timestamps T0, +15 s, +30 s, +45.01 s; values 5, 7, 7, 9."""
    dod = np.array([0, 15_000, 0, 10], dtype="<i2")
    deltas = np.array([0, 2, 0, 2], dtype="<i1")
    blob = zlib.compress(dod.tobytes() + deltas.tobytes())
    return {"sid": sid, "t0": T0, "t1": T0 + 45_010, "n": 4, "tw": 2, "vmode": 1, "vw": 1,
            "vscale": 0, "v0": 5, "b": blob}  # fmt: skip


def test_chunks_of_the_first_format_still_read_exactly(db: Database) -> None:
    """Stores compacted before the step flag existed read as they did, alone and mixed with
    chunks of the current format in one decode, also after a restart."""
    old_ts = [T0, T0 + 15_000, T0 + 30_000, T0 + 45_010]
    new = chunks.encode(T0 + 60_000 + np.arange(3, dtype=np.int64) * 15_000, np.ones(3) * 0.5)
    rows = {k: np.array([_first_format_row(0)[k], ([1, *new])[i]], dtype=object)
            for i, k in enumerate(KEYS)}  # fmt: skip
    sid, ts, vs = chunks.decode(rows)
    assert sid.tolist() == [0] * 4 + [1] * 3
    assert ts.tolist() == [*old_ts, T0 + 60_000, T0 + 75_000, T0 + 90_000]
    assert vs.tolist() == [5.0, 7.0, 7.0, 9.0, 0.5, 0.5, 0.5]
    store = DuckSampleStore(db)
    ref = store.ref({"__name__": "m", "i": "old"})
    store.append_refs(np.array([ref]), np.array([T0 + 60_000]), np.array([11.0]))
    with db.transaction() as con:
        row = _first_format_row(ref)
        con.execute(f"INSERT INTO chunks VALUES ({', '.join('?' * len(row))})", list(row.values()))
    again = DuckSampleStore(db)  # a restart: bounds from the chunk
    want = ([*old_ts, T0 + 60_000], [5.0, 7.0, 7.0, 9.0, 11.0])
    got = again.select([Matcher("__name__", "=", "m")], 0, 2**62)
    assert [(s.timestamps.tolist(), s.values.tolist()) for s in got] == [want]
    assert int(again._first[ref]) == T0


def _fill(store: DuckSampleStore, hours: float, series: int = 30) -> dict[int, list[float]]:
    """Scrape-shaped appends every 60 s (one append per scrape, as a scrape loop does; 120
    samples per series and 2 h window, Prometheus's chunk size); series 0 ends with a staleness
    marker, series 1 has a NaN; returns each series' values by sid order."""
    refs = [store.ref({"__name__": "m", "i": str(i)}) for i in range(series)]
    rng = np.random.default_rng(2)
    points = int(hours * 60)
    out: dict[int, list[float]] = {r: [] for r in refs}
    for p in range(points):
        vals = np.where(np.arange(series) % 2 == 0, p * 3.0, np.round(rng.normal(9, 2, series), 3))
        if p == 7:
            vals[1] = np.nan
        if p == points - 1:
            vals[0] = STALE_NAN
        ts = np.full(series, T0 + p * 60_000, dtype=np.int64) + np.arange(series) % 3
        store.append_refs(np.array(refs, dtype=np.int64), ts, vals)
        for r, v in zip(refs, vals.tolist(), strict=True):
            out[r].append(v)
    return out


def _all(
    store: DuckSampleStore, lo: int = 0, hi: int = 2**62
) -> dict[str, tuple[list[int], list[int]]]:
    return _got(store.select([Matcher("__name__", "=", "m")], lo, hi))


def _got(got: list[SeriesData]) -> dict[str, tuple[list[int], list[int]]]:
    return {s.labels["i"]: (s.timestamps.tolist(), s.values.view(np.uint64).tolist()) for s in got}


def _chunk_samples(db: Database) -> int:
    return int(db.query("SELECT coalesce(sum(n), 0) FROM chunks", [], 10)[0][0])


def test_compaction_keeps_every_read_exact_and_survives_a_restart(db: Database) -> None:
    store = DuckSampleStore(db, auto_compact=True)
    _fill(store, 5)
    before = _all(store)
    window = _all(store, T0 + HOUR, T0 + 3 * HOUR)  # fills the read cache too
    moved = store.compact(T0 + 5 * HOUR)
    assert moved > 0
    assert _chunk_samples(db) >= moved
    assert _all(store) == before
    assert _all(store, T0 + HOUR, T0 + 3 * HOUR) == window
    store.read_cache.clear()
    assert _all(store) == before
    assert _all(store, T0 + HOUR, T0 + 3 * HOUR) == window
    assert _all(store, T0 + HOUR + 5, T0 + HOUR + 5) == {}  # between two scrapes
    # a restart reads bounds and newest values from the chunks
    again = DuckSampleStore(db)
    assert _all(again) == before
    sid = again.ref({"__name__": "m", "i": "0"})
    last = int(again._last[sid])
    assert int(again._last_bits[sid]) == STALE_NAN_BITS
    same = again.append_refs(np.array([sid]), np.array([last]), np.array([STALE_NAN]))
    assert (same.accepted, same.rejected) == (0, {})  # an exact duplicate, not an error
    other = again.append_refs(np.array([sid]), np.array([last]), np.array([1.0]))
    assert other.rejected == {"duplicate_timestamp": 1}


def test_late_samples_into_a_compacted_window_stay_correct(db: Database) -> None:
    store = DuckSampleStore(db, auto_compact=True)
    fast = store.ref({"__name__": "m", "i": "fast"})
    slow = store.ref({"__name__": "m", "i": "slow"})
    ts = T0 + np.arange(0, 4 * HOUR, 15_000)
    store.append_refs(np.full(len(ts), fast), ts, np.arange(len(ts), dtype=np.float64))
    store.append_refs(np.array([slow]), np.array([T0]), np.array([1.0]))
    store.compact(T0 + 4 * HOUR)
    # the slow series now catches up inside windows already compacted
    late = T0 + np.arange(15_000, 3 * HOUR, 15_000)
    got = store.append_refs(np.full(len(late), slow), late, np.full(len(late), 2.5))
    assert got.accepted == len(late)
    want_slow = [T0, *late.tolist()]
    assert _all(store)["slow"][0] == want_slow
    store.compact(T0 + 4 * HOUR)  # the late ones get chunks of their own
    n = db.query("SELECT count(*) FROM chunks WHERE sid = ?", [slow], 10)[0][0]
    assert n >= 2
    store.read_cache.clear()
    assert _all(store)["slow"][0] == want_slow
    assert _all(store)["fast"][0] == ts.tolist()
    assert db.query("SELECT count(*) FROM samples WHERE ts < ?", [T0 + 4 * HOUR], 10)[0][0] == 0


@pytest.mark.parametrize("wide", [False, True])
def test_reads_merge_chunks_and_head_and_drop_what_a_commit_shows_twice(
    db: Database, wide: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both read paths (per series through the read cache, and wide selections read flat)
    put each series' chunks and head rows together exactly, also over ranges that cut chunks,
    and while a compaction's chunks are committed but its head rows not yet deleted."""
    if wide:  # every selection takes the flat path
        monkeypatch.setattr(samples_module, "_CACHED_SERIES_MAX", 0)
    store = DuckSampleStore(db)
    _fill(store, 5, series=9)
    want = {lo_hi: _all(store, *lo_hi) for lo_hi in _RANGES}
    some = [Matcher("__name__", "=", "m"), Matcher("i", "=~", "1|2|4|5")]  # with gaps
    want_some = _got(store.select(some, 0, 2**62))
    store.compact(T0 + 4 * HOUR)
    assert _chunk_samples(db) > 0
    for lo_hi, expected in want.items():
        store.read_cache.clear()
        assert _all(store, *lo_hi) == expected
    store.read_cache.clear()
    assert _got(store.select(some, 0, 2**62)) == want_some
    assert len(want_some) == 4
    # what a reader sees between a compaction's two statements: the window in both tables
    with db.write_lock:
        cols = db.con.execute(
            "SELECT sid, ts, v, kind FROM samples WHERE ts < ? ORDER BY sid, ts",
            [T0 + 5 * HOUR],
        ).fetchnumpy()
    sid, ts, values = samples_module._head_columns(cols)
    batch = chunks.encode_runs(sid, ts, values)
    np.maximum.at(store._chunk_last, batch["sid"].astype(np.int64), batch["t1"])
    with db.transaction() as con:
        con.execute("INSERT INTO chunks SELECT * FROM batch")
    for lo_hi, expected in want.items():
        store.read_cache.clear()
        assert _all(store, *lo_hi) == expected


def test_a_window_over_the_row_budget_is_compacted_a_range_of_series_at_a_time(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(samples_module, "_COMPACT_ROWS", 250)  # 120 rows per series and window
    store = DuckSampleStore(db)
    _fill(store, 5, series=9)
    before = _all(store)
    lo = chunks.window_start(T0) + chunks.WINDOW_MS  # a whole window: 120 rows per series
    assert store._series_parts(lo, lo + chunks.WINDOW_MS) == [
        (None, 2),
        (2, 4),
        (4, 6),
        (6, 8),
        (8, None),
    ]
    store.compact(T0 + 5 * HOUR)
    # still one chunk per series and window, every sample in one place
    per = db.query("SELECT sid, t0 // ?, count(*) FROM chunks GROUP BY ALL", [2 * HOUR], 10)
    assert {n for _, _, n in per} == {1}
    assert db.query("SELECT count(*) FROM samples WHERE ts < ?", [T0 + 4 * HOUR], 10)[0][0] == 0
    store.read_cache.clear()
    assert _all(store) == before


_RANGES = [
    (0, 2**62),
    (T0 + HOUR + 5, T0 + 3 * HOUR + 1),
    (T0 + 2 * HOUR, T0 + 5 * HOUR),
    (T0 + 3 * HOUR, T0 + 2 * HOUR),  # end before start: nothing
]


@pytest.mark.parametrize("inclusive_share", [False, True])
def test_retention_cuts_through_chunks_exactly(db: Database, inclusive_share: bool) -> None:
    store = DuckSampleStore(db, auto_compact=True)
    _fill(store, 5, series=6)
    store.compact(T0 + 5 * HOUR)
    before = _all(store)
    total = sum(len(ts) for ts, _ in before.values())
    if inclusive_share:  # by size: the oldest share goes
        cfg = StorageConfig(retention_time_s=0, retention_size_bytes=1)
        report = apply_retention(db, store, cfg)
        assert report.deleted.get("samples", 0) > 0
        store = DuckSampleStore(db, auto_compact=True)
        left = _all(store)
        assert sum(len(ts) for ts, _ in left.values()) == total - report.deleted["samples"]
        for key, (ts, bits) in left.items():  # what is left is the newest part, unchanged
            assert before[key][0][-len(ts) :] == ts if ts else True
            assert before[key][1][-len(bits) :] == bits if bits else True
        return
    cutoff = T0 + 90 * 60_000 + 7  # inside the first chunk window
    deleted = retention._delete(db, "samples", "ts", cutoff)
    store.refresh_bounds()
    left = _all(store)
    kept = {k: [t for t in ts if t >= cutoff] for k, (ts, _) in before.items()}
    assert {k: ts for k, (ts, _) in left.items()} == kept
    assert deleted == total - sum(len(v) for v in kept.values())
    for key, (ts, bits) in left.items():
        assert bits == before[key][1][-len(ts) :]
    assert store._first[store.ref({"__name__": "m", "i": "3"})] == min(kept["3"])


def test_the_server_setting_turns_background_compaction_on(tmp_path: Path) -> None:
    """``storage: compress_samples: true`` in --config reaches the sample store."""
    for flag in (False, True):
        config = ServerConfig(
            data_dir=tmp_path / str(flag), storage=StorageConfig(compress_samples=flag)
        )
        ctx = open_context(config)
        try:
            assert isinstance(ctx.samples, DuckSampleStore)
            assert ctx.samples.auto_compact is flag
        finally:
            ctx.db.close()
