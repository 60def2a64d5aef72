"""The DuckDB-backed :class:`~tripod.server.store.model.SampleStore`, fast paths included.

Series label sets live in memory (loaded at start) with each series' first/last timestamp and last
value, so appends check Prometheus's out-of-order and duplicate rules without a query, and
``series``/``labels`` answer from memory. Samples go to DuckDB in one transaction per append,
sorted by series so they compress well, into the ``samples`` table (the head); closed time
windows move from there into encoded per-series chunks (:mod:`~tripod.server.store.chunks`) by
:meth:`DuckSampleStore.compact` (or on a background thread with ``auto_compact``), and reads put
both together.
"""

from __future__ import annotations

import itertools
import json
import logging
import struct
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from tripod.server.config import Limits
from tripod.server.store import chunks
from tripod.server.store.db import Database
from tripod.server.store.labels import validate_labels
from tripod.server.store.model import (
    STALE_NAN,
    STALE_NAN_BITS,
    AppendResult,
    FlatSelection,
    LabelError,
    Matcher,
    Sample,
    SeriesData,
)
from tripod.server.store.sample_cache import SampleCache

__all__ = ["DuckSampleStore"]

_NONE = np.iinfo(np.int64).min
_NAN_BITS = struct.unpack("<Q", struct.pack("<d", float("nan")))[0]

LabelKey = tuple[tuple[str, str], ...]
#: Selections of more series than this bypass the read cache (one flat read, no per-series
#: Python objects): such wide selections are few samples per series, cheap to read again.
_CACHED_SERIES_MAX = 20_000
#: head rows compacted in one go at most (one read, one transaction; ≈ 100 bytes each while
#: encoding): a window holding more is compacted a range of series at a time
_COMPACT_ROWS = 1_000_000
#: late samples (into windows already compacted) that make a compaction due before the next
#: window closes
_LATE_ROWS = 65_536

log = logging.getLogger("tripod.server.store")


I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def _head_columns(cols: Mapping[str, Any]) -> tuple[I64, I64, F64]:
    """``(sid, ts, value)`` of ``samples`` rows as ``fetchnumpy`` gives them (NaN and
    staleness markers back from ``kind``)."""
    got_sid = np.asarray(cols["sid"], dtype=np.int64)
    stamps = np.asarray(cols["ts"], dtype=np.int64)
    values = np.ma.getdata(cols["v"]).astype(np.float64, copy=True)
    kinds = np.asarray(cols["kind"], dtype=np.uint8)
    values[kinds == 1] = np.nan
    values[kinds == 2] = STALE_NAN
    return got_sid, stamps, values


def _in_order(sids: I64, stamps: I64, values: F64) -> tuple[I64, I64, F64]:
    """The rows in (sid, ts) order, each (sid, ts) once; cheap when they already are."""
    if len(sids) < 2:
        return sids, stamps, values
    d_sid, d_ts = np.diff(sids), np.diff(stamps)
    if bool(((d_sid > 0) | ((d_sid == 0) & (d_ts > 0))).all()):
        return sids, stamps, values
    order = np.argsort(sids, kind="stable")  # chunks came first: usually enough
    sids, stamps, values = sids[order], stamps[order], values[order]
    d_sid, d_ts = np.diff(sids), np.diff(stamps)
    if bool(((d_sid > 0) | ((d_sid == 0) & (d_ts > 0))).all()):
        return sids, stamps, values
    order = np.lexsort((stamps, sids))
    sids, stamps, values = sids[order], stamps[order], values[order]
    keep = np.ones(len(sids), dtype=np.bool_)
    keep[1:] = (sids[1:] != sids[:-1]) | (stamps[1:] != stamps[:-1])
    return sids[keep], stamps[keep], values[keep]


_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0, dtype=np.float64)


class _Runs(NamedTuple):
    """A read's samples from the chunks (``c_``, older) and the head (``h_``, newer), each in
    (series, time) order; series ``i``'s samples are ``c_ts[c_lo[i]:c_hi[i]]`` followed by
    ``h_ts[h_lo[i]:h_hi[i]]`` (the values alike)."""

    c_ts: I64
    c_vs: F64
    c_lo: I64
    c_hi: I64
    h_sid: I64
    h_ts: I64
    h_vs: F64
    h_lo: I64
    h_hi: I64


def _kinds(values: npt.NDArray[np.float64]) -> npt.NDArray[np.uint8]:
    bits = values.view(np.uint64)
    kinds = np.isnan(values).astype(np.uint8)
    kinds[bits == STALE_NAN_BITS] = 2
    return kinds


class DuckSampleStore:
    """Series and samples in DuckDB; safe to call from several threads."""

    def __init__(
        self,
        db: Database,
        limits: Limits | None = None,
        retention_time_s: float = 0.0,
        *,
        auto_compact: bool = False,
    ) -> None:
        self.db = db
        #: compact closed windows in the background as appends close them (``tripod serve``:
        #: ``storage: compress_samples:``, on by default; off here so that a bare store does
        #: only what its caller asks); :meth:`compact` works either way
        self.auto_compact = auto_compact
        self.limits = limits or Limits()
        self.retention_time_s = retention_time_s
        self._labels: list[dict[str, str]] = []
        self._ids: dict[LabelKey, int] = {}
        self._by_name: dict[str, list[int]] = {}
        self._persisted = 0  # series rows [0, _persisted) are in the database
        self._first = np.full(1024, _NONE, dtype=np.int64)
        self._last = np.full(1024, _NONE, dtype=np.int64)
        self._last_bits = np.zeros(1024, dtype=np.uint64)
        #: per series, the newest ``t1`` of its chunks (raised before a compaction commits)
        self._chunk_last = np.full(1024, _NONE, dtype=np.int64)
        self._compacted_to = _NONE  # windows before this were compacted
        self._late = 0  # rows appended before _compacted_to since
        self._newest = _NONE  # the newest timestamp stored
        self._compact_lock = threading.Lock()
        self._compactor: threading.Thread | None = None
        self._meta: dict[str, dict[str, str]] = {}
        #: decoded samples of series read before (``select_flat``); exact, bounded
        self.read_cache = SampleCache()
        self._load()

    # --- start-up -------------------------------------------------------------------------

    def _load(self) -> None:
        con = self.db.con
        for sid, text in con.execute("SELECT sid, labels FROM series ORDER BY sid").fetchall():
            labels = json.loads(text)
            if sid != len(self._labels):
                msg = f"series table of {self.db.path} has a gap at id {sid}; restore a backup"
                raise RuntimeError(msg)
            self._register(labels)
        self._persisted = len(self._labels)
        self._grow(len(self._labels))
        rows = con.execute(
            "SELECT sid, min(ts), max(ts), arg_max(v, ts), arg_max(kind, ts) "
            "FROM samples GROUP BY sid"
        ).fetchall()
        for sid, first, last, value, kind in rows:
            self._first[sid] = first
            self._last[sid] = last
            self._last_bits[sid] = self._bits(value, kind)
        rows = con.execute("SELECT sid, min(t0), max(t1) FROM chunks GROUP BY sid").fetchall()
        only_chunks: list[int] = []
        for sid, first, last in rows:
            if self._first[sid] == _NONE:
                only_chunks.append(sid)
                self._last[sid] = last
            self._first[sid] = min(first, self._first[sid]) if self._first[sid] != _NONE else first
            self._chunk_last[sid] = last
        if only_chunks:  # the newest value of series whose samples are all compacted
            newest = con.execute(
                f"SELECT {chunks.READ_COLUMNS} FROM chunks "  # noqa: S608
                "JOIN (SELECT sid, max(t1) AS t1 FROM chunks GROUP BY sid) USING (sid, t1)"
            ).fetchnumpy()
            got_sid, _, values = chunks.decode(chunks.sorted_rows(dict(newest)))
            is_last = np.ones(len(got_sid), dtype=np.bool_)
            is_last[:-1] = got_sid[1:] != got_sid[:-1]
            for sid, bits in zip(
                got_sid[is_last].tolist(), values.view(np.uint64)[is_last].tolist(), strict=True
            ):
                if sid in only_chunks:
                    self._last_bits[sid] = bits
        row = con.execute("SELECT max(t1) FROM chunks").fetchone()
        if row and row[0] is not None:
            self._compacted_to = chunks.window_start(int(row[0])) + chunks.WINDOW_MS
        if len(self._last):
            self._newest = int(self._last.max())
        for metric, type_, help_, unit in con.execute(
            "SELECT metric, type, help, unit FROM metadata"
        ).fetchall():
            self._meta[metric] = {"type": type_, "help": help_, "unit": unit}

    @staticmethod
    def _bits(value: float | None, kind: int) -> int:
        if kind == 2:
            return STALE_NAN_BITS
        if kind == 1 or value is None:
            return int(_NAN_BITS)
        return int(struct.unpack("<Q", struct.pack("<d", value))[0])

    def _grow(self, n: int) -> None:
        size = len(self._first)
        if n <= size:
            return
        new = max(n, size * 2)
        for attr, fill in (("_first", _NONE), ("_last", _NONE), ("_chunk_last", _NONE)):
            arr = np.full(new, fill, dtype=np.int64)
            arr[:size] = getattr(self, attr)
            setattr(self, attr, arr)
        bits = np.zeros(new, dtype=np.uint64)
        bits[:size] = self._last_bits
        self._last_bits = bits

    def _register(self, labels: dict[str, str]) -> int:
        sid = len(self._labels)
        self._labels.append(labels)
        self._ids[tuple(sorted(labels.items()))] = sid
        self._by_name.setdefault(labels.get("__name__", ""), []).append(sid)
        return sid

    # --- writing --------------------------------------------------------------------------

    def ref(self, labels: Mapping[str, str]) -> int:
        """The series id for ``labels``, creating the series (persisted with the next append).

        Raises :class:`LabelError` when the label set breaks a naming rule or a limit.
        """
        clean = {k: v for k, v in labels.items() if v != ""}
        key = tuple(sorted(clean.items()))
        sid = self._ids.get(key)
        if sid is not None:
            return sid
        with self.db.write_lock:
            sid = self._ids.get(key)
            if sid is not None:
                return sid
            validate_labels(clean, self.limits)
            name = clean["__name__"]
            count = len(self._by_name.get(name, ()))
            if count >= self.limits.max_series_per_metric:
                msg = (
                    f"metric {name} already has {count} series, the limit "
                    "limits.max_series_per_metric; check for a high-cardinality label"
                )
                raise LabelError("too_many_series", msg)
            sid = self._register(clean)
            self._grow(sid + 1)
            return sid

    def append(self, samples: Iterable[Sample]) -> AppendResult:
        return self.append_many([samples])[0]

    def append_many(self, batches: Sequence[Iterable[Sample]]) -> list[AppendResult]:
        """Each batch as :meth:`append` would take it, one after another, in one transaction."""
        results = [AppendResult() for _ in batches]
        sids: list[int] = []
        stamps: list[int] = []
        values: list[float] = []
        owner: list[int] = []
        for k, samples in enumerate(batches):
            for sample in samples:
                try:
                    sid = self.ref(sample.labels)
                except LabelError as exc:
                    results[k].reject(exc.reason, str(exc))
                    continue
                sids.append(sid)
                stamps.append(sample.timestamp_ms)
                values.append(sample.value)
                owner.append(k)
        self._write(
            np.array(sids, dtype=np.int64),
            np.array(stamps, dtype=np.int64),
            np.array(values, dtype=np.float64),
            results,
            np.array(owner, dtype=np.int64),
        )
        return results

    def append_refs(
        self,
        sids: npt.NDArray[np.int64],
        stamps: npt.NDArray[np.int64],
        values: npt.NDArray[np.float64],
        result: AppendResult | None = None,
    ) -> AppendResult:
        """Append samples of series already made with :meth:`ref`, in the given order."""
        result = result or AppendResult()
        self._write(sids, stamps, values, [result], np.zeros(len(sids), dtype=np.int64))
        return result

    def _write(
        self,
        sids: npt.NDArray[np.int64],
        stamps: npt.NDArray[np.int64],
        values: npt.NDArray[np.float64],
        results: list[AppendResult],
        owner: npt.NDArray[np.int64],
    ) -> None:
        """Store samples in one transaction, counting sample ``i`` into ``results[owner[i]]``;
        checked in arrival order, so batches behave as appends made one after another."""
        if len(sids) == 0:
            with self.db.write_lock:
                self._persist_series_only()
            return
        with self.db.write_lock:
            keep = self._check_order(sids, stamps, values, results, owner)
            kept = np.bincount(owner[keep], minlength=len(results))
            sids, stamps, values = sids[keep], stamps[keep], values[keep]
            order = np.lexsort((stamps, sids))
            sids, stamps, values = sids[order], stamps[order], values[order]
            kinds = _kinds(values)
            batch = {  # noqa: F841  (scanned by DuckDB by name)
                "sid": sids.astype(np.int32),
                "ts": stamps,
                "v": np.where(kinds == 0, values, 0.0),
                "kind": kinds,
            }
            with self.db.transaction() as con:
                self._insert_new_series()
                if len(sids):
                    con.execute("INSERT INTO samples SELECT * FROM batch")
            self._persisted = len(self._labels)
            if len(sids):
                self._advance(sids, stamps, values)
                self._late += int(np.count_nonzero(stamps < self._compacted_to))
            for result, count in zip(results, kept.tolist(), strict=True):
                result.accepted += count
            if len(sids):
                self._compact_if_due(int(stamps.max()))

    def _persist_series_only(self) -> None:
        if self._insert_new_series():
            self._persisted = len(self._labels)

    def _insert_new_series(self) -> bool:
        """INSERT the series made since the last append (inside the caller's transaction)."""
        start, end = self._persisted, len(self._labels)
        if start == end:
            return False
        rows = {  # noqa: F841  (scanned by DuckDB by name)
            "sid": np.arange(start, end, dtype=np.int32),
            "labels": np.array(
                [json.dumps(self._labels[i], separators=(",", ":")) for i in range(start, end)],
                dtype=object,
            ),
        }
        self.db.con.execute("INSERT INTO series SELECT * FROM rows")
        return True

    def _check_order(
        self,
        sids: npt.NDArray[np.int64],
        stamps: npt.NDArray[np.int64],
        values: npt.NDArray[np.float64],
        results: list[AppendResult],
        owner: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.bool_]:
        """Which samples to store, counting the rest by Prometheus's reasons into the result
        of each sample's batch (``results[owner[i]]``)."""
        keep = np.ones(len(sids), dtype=np.bool_)
        if self.retention_time_s > 0:
            oldest = int((time.time() - self.retention_time_s) * 1000)
            too_old = stamps < oldest
            if too_old.any():
                keep &= ~too_old
                for k, result in enumerate(results):
                    mine = np.flatnonzero(too_old & (owner == k))
                    for i in mine[:10]:
                        result.reject(
                            "out_of_bounds",
                            f"sample at {int(stamps[i])} ms is older than the retention time "
                            f"({self.retention_time_s:g}s); start with --retention-time 0 to "
                            "accept any timestamp",
                        )
                    if len(mine) > 10:
                        result.rejected["out_of_bounds"] += len(mine) - 10
        order = np.argsort(sids, kind="stable")
        s_sid, s_ts = sids[order], stamps[order]
        prev = np.empty_like(s_ts)
        prev[0] = self._last[s_sid[0]]
        same = s_sid[1:] == s_sid[:-1]
        prev[1:] = np.where(same, s_ts[:-1], self._last[s_sid[1:]])
        if bool((s_ts > prev).all()):
            return keep  # the common case: every series moves forward
        # Slow path: replay in arrival order, exactly as Prometheus's head appender would.
        last: dict[int, tuple[int, int]] = {}
        bits = values.view(np.uint64)
        for i in range(len(sids)):
            if not keep[i]:
                continue
            sid = int(sids[i])
            ts = int(stamps[i])
            prev_ts, prev_bits = last.get(sid, (int(self._last[sid]), int(self._last_bits[sid])))
            name = self._labels[sid].get("__name__", "")
            result = results[int(owner[i])]
            if ts < prev_ts:
                keep[i] = False
                result.reject(
                    "out_of_order",
                    f"out-of-order sample for {name} at {ts} ms: the series already has "
                    f"{prev_ts} ms; send samples of a series in time order",
                )
            elif ts == prev_ts:
                keep[i] = False
                if int(bits[i]) != prev_bits:
                    result.reject(
                        "duplicate_timestamp",
                        f"duplicate sample for {name} at {ts} ms with a different value",
                    )
            else:
                last[sid] = (ts, int(bits[i]))
        return keep

    def _advance(
        self,
        sids: npt.NDArray[np.int64],
        stamps: npt.NDArray[np.int64],
        values: npt.NDArray[np.float64],
    ) -> None:
        # Input is sorted by (sid, ts): the last row of each sid is its newest sample.
        is_last = np.ones(len(sids), dtype=np.bool_)
        is_last[:-1] = sids[1:] != sids[:-1]
        is_first = np.ones(len(sids), dtype=np.bool_)
        is_first[1:] = sids[1:] != sids[:-1]
        ls = sids[is_last]
        self._last[ls] = stamps[is_last]
        self._last_bits[ls] = values.view(np.uint64)[is_last]
        fs = sids[is_first]
        unset = self._first[fs] == _NONE
        self._first[fs[unset]] = stamps[is_first][unset]

    # --- compaction -----------------------------------------------------------------------

    def _compact_if_due(self, newest_ms: int) -> None:
        """(Under the write lock.) Start a background compaction when a window has closed or
        enough late samples went into compacted windows."""
        self._newest = max(self._newest, newest_ms)
        if not self.auto_compact:
            return
        cutoff = chunks.window_start(self._newest - chunks.GRACE_MS)
        if cutoff <= self._compacted_to and self._late < _LATE_ROWS:
            return
        if self._compactor is not None and self._compactor.is_alive():
            return
        self._compactor = threading.Thread(
            target=self._compact_quietly,
            args=(max(cutoff, self._compacted_to),),
            name="tripod-compact",
            daemon=True,
        )
        self._compactor.start()

    def _compact_quietly(self, before_ms: int) -> None:
        try:
            self.compact(before_ms)
        except Exception as exc:  # e.g. the database was closed meanwhile: the next one retries
            log.warning("compacting samples before %d ms failed: %s", before_ms, exc)

    def compact(self, before_ms: int | None = None) -> int:
        """Move the head's samples older than ``before_ms`` (default: the windows the newest
        sample has closed) into chunks, a window at a time, each in one transaction (insert the
        chunks, delete the rows): crash-safe, invisible to readers. Returns the samples moved."""
        with self._compact_lock:
            if before_ms is None:
                before_ms = chunks.window_start(self._newest - chunks.GRACE_MS)
            moved = 0
            while True:
                with self.db.write_lock:
                    sql = "SELECT min(ts) FROM samples WHERE ts < ?"
                    row = self.db.con.execute(sql, [before_ms]).fetchone()
                if not row or row[0] is None:
                    break
                lo = chunks.window_start(int(row[0]))
                hi = min(lo + chunks.WINDOW_MS, before_ms)
                for part in self._series_parts(lo, hi):
                    got = self._compact_rows(lo, hi, part, locked=False)
                    if got is None:  # rows came or went meanwhile: again, holding off writers
                        with self.db.write_lock:
                            got = self._compact_rows(lo, hi, part, locked=True)
                    moved += got or 0
            with self.db.write_lock:
                self._compacted_to = max(self._compacted_to, before_ms)
                self._late = 0
            return moved

    def _series_parts(self, lo: int, hi: int) -> list[tuple[int | None, int | None]]:
        """Ranges of series ``[first, end)`` (None: unbounded) whose head rows in ``[lo, hi)``
        are compacted together: all of them when they are at most :data:`_COMPACT_ROWS`, else
        consecutive ranges under that each (a series' rows are never split), so that a window
        of a busy server is not read into memory at once."""
        with self.db.write_lock:
            sql = "SELECT count(*) FROM samples WHERE ts >= ? AND ts < ?"
            row = self.db.con.execute(sql, [lo, hi]).fetchone()
            if not row or int(row[0]) <= _COMPACT_ROWS:
                return [(None, None)]
            cols = self.db.con.execute(
                "SELECT sid, count(*) AS k FROM samples WHERE ts >= ? AND ts < ? "
                "GROUP BY sid ORDER BY sid",
                [lo, hi],
            ).fetchnumpy()
        sids = np.asarray(cols["sid"], dtype=np.int64)
        total = np.cumsum(np.asarray(cols["k"], dtype=np.int64))
        firsts = [0]
        while True:  # each part as many whole series as fit, at least one
            base = int(total[firsts[-1] - 1]) if firsts[-1] else 0
            nxt = int(np.searchsorted(total, base + _COMPACT_ROWS, "right"))
            nxt = max(nxt, firsts[-1] + 1)
            if nxt >= len(sids):
                break
            firsts.append(nxt)
        bounds: list[int | None] = [None, *(int(sids[i]) for i in firsts[1:]), None]
        return list(itertools.pairwise(bounds))

    def _compact_rows(
        self, lo: int, hi: int, part: tuple[int | None, int | None], *, locked: bool
    ) -> int | None:
        """Compact the head's rows in ``[lo, hi)`` of the series ``part`` (``[first, end)``),
        encoded without the write lock unless ``locked``; None when the rows changed before
        the write lock was taken again. (Read on the writer's connection under the lock:
        ``Database.close`` waits for it.)"""
        cond, args = "ts >= ? AND ts < ?", [lo, hi]
        if part[0] is not None:
            cond, args = f"{cond} AND sid >= ?", [*args, part[0]]
        if part[1] is not None:
            cond, args = f"{cond} AND sid < ?", [*args, part[1]]
        with self.db.write_lock:
            cols = self.db.con.execute(
                f"SELECT sid, ts, v, kind FROM samples WHERE {cond}",  # noqa: S608
                args,
            ).fetchnumpy()
        sid, ts, values = _head_columns(cols)
        if len(sid) == 0:
            return 0
        order = np.lexsort((ts, sid))
        sid, ts, values = sid[order], ts[order], values[order]
        batch = chunks.encode_runs(sid, ts, values)  # scanned by DuckDB by name
        expect = (len(sid), int((ts - lo).sum()), int(sid.sum()))
        with self.db.write_lock:
            con = self.db.con
            if not locked:
                row = con.execute(
                    f"SELECT count(*), sum(ts - ?), sum(sid) FROM samples WHERE {cond}",  # noqa: S608
                    [lo, *args],
                ).fetchone()
                if row is None or tuple(int(x or 0) for x in row) != expect:
                    return None
            # raised before the commit: a reader may look for chunks not there yet, but never
            # misses ones that are
            np.maximum.at(self._chunk_last, batch["sid"].astype(np.int64), batch["t1"])
            with self.db.transaction() as con:
                con.execute("INSERT INTO chunks SELECT * FROM batch")
                con.execute(f"DELETE FROM samples WHERE {cond}", args)  # noqa: S608
        return len(sid)

    def set_metadata(self, metric: str, type_: str, help_: str, unit: str = "") -> None:
        entry = {"type": type_, "help": help_, "unit": unit}
        if self._meta.get(metric) == entry:
            return
        with self.db.transaction() as con:
            con.execute("DELETE FROM metadata WHERE metric = ?", [metric])
            con.execute("INSERT INTO metadata VALUES (?, ?, ?, ?)", [metric, type_, help_, unit])
            self._meta[metric] = entry

    # --- reading --------------------------------------------------------------------------

    def _candidates(self, matchers: Sequence[Matcher]) -> list[int]:
        """Series ids matching every matcher, with at least one committed sample."""
        count = self._persisted
        name_matchers = [m for m in matchers if m.name == "__name__"]
        exact = [m.value for m in name_matchers if m.op == "="]
        names = exact[:1] if exact else list(self._by_name)
        names = [n for n in names if all(m.matches(n) for m in name_matchers)]
        out: list[int] = []
        rest = [m for m in matchers if m.name != "__name__"]
        first = self._first
        for name in names:
            for sid in self._by_name.get(name, ()):
                if sid >= count or first[sid] == _NONE:
                    continue
                labels = self._labels[sid]
                if all(m.matches(labels.get(m.name, "")) for m in rest):
                    out.append(sid)
        return sorted(out)

    def _in_range(self, sids: list[int], start_ms: int, end_ms: int) -> list[int]:
        if not sids:
            return []
        arr = np.array(sids, dtype=np.int64)
        ok = (self._first[arr] <= end_ms) & (self._last[arr] >= start_ms)
        return [int(s) for s in arr[ok]]

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[SeriesData]:
        labels, stamps, values, starts, ends = self.select_flat(matchers, start_ms, end_ms)
        return [
            SeriesData(dict(lbls), stamps[a:b].copy(), values[a:b].copy())
            for lbls, a, b in zip(labels, starts.tolist(), ends.tolist(), strict=True)
        ]

    def select_flat(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> FlatSelection:
        """:meth:`select` without a Python object per series, for the PromQL engine's wide
        selections: ``(labels, ts, values, starts, ends)``, series ``i`` being
        ``ts[starts[i]:ends[i]]``. The label dicts are the store's own: read, never mutate.
        Series read before come from :attr:`read_cache` while their bounds are unchanged."""
        return self.select_flat_ids(
            self._in_range(self._candidates(matchers), start_ms, end_ms), start_ms, end_ms
        )

    def select_ids(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> tuple[list[int], list[dict[str, str]]]:
        """The series :meth:`select_flat` reads for these arguments, without reading them: their
        ids (ascending) and label dicts (the store's own: read, never mutate). Some may have no
        sample inside the range (a gap): :meth:`select_flat_ids` leaves those out. The PromQL
        engine reads a wide selection through these two in batches of series."""
        sids = self._in_range(self._candidates(matchers), start_ms, end_ms)
        return sids, [self._labels[sid] for sid in sids]

    def select_flat_ids(
        self, sids: list[int], start_ms: int, end_ms: int, *, of: int | None = None
    ) -> FlatSelection:
        """:meth:`select_flat` for the series ``sids`` (ascending, from :meth:`select_ids`).
        ``of``: the number of series in the whole selection when ``sids`` is one batch of it;
        the read cache then treats the batch as the whole would be treated (a selection too
        wide or with more samples than the cache holds is not kept: its batches would only
        push each other out)."""
        empty_i = np.zeros(0, dtype=np.int64)
        if not sids:
            return [], empty_i, np.zeros(0), empty_i, empty_i
        arr = np.array(sids, dtype=np.int64)
        whole = len(sids) if of is None else max(of, len(sids))
        if whole > _CACHED_SERIES_MAX:  # wide: no Python object per series at all
            got_sid, stamps, values = self._read_flat(arr, start_ms, end_ms)
            if len(got_sid) == 0:
                return [], empty_i, np.zeros(0), empty_i, empty_i
            bounds = np.flatnonzero(np.diff(got_sid)) + 1
            starts = np.concatenate(([0], bounds))
            ends = np.concatenate((bounds, [len(got_sid)]))
            labels = [self._labels[int(sid)] for sid in got_sid[starts].tolist()]
            return labels, stamps, values, starts, ends
        first, last = self._first[arr].tolist(), self._last[arr].tolist()  # before the read
        parts = self.read_cache.lookup(sids, start_ms, end_ms, first, last)
        miss = [k for k, p in enumerate(parts) if p is None]
        if miss:
            miss = self._extend(
                sids, start_ms, end_ms, first=first, last=last, miss=miss, parts=parts
            )
        if miss:
            read = self._read_columns(arr[miss], start_ms, end_ms)
            rows = sum(len(ts) for ts, _ in read)
            if rows * whole <= self.read_cache.max_samples * len(sids):  # the whole would fit
                self.read_cache.store(
                    [sids[k] for k in miss],
                    start_ms,
                    end_ms,
                    first=[first[k] for k in miss],
                    last=[last[k] for k in miss],
                    parts=read,
                )
            for k, part in zip(miss, read, strict=True):
                parts[k] = part
        kept = [(sids[k], p) for k, p in enumerate(parts) if p is not None and len(p[0])]
        if not kept:
            return [], empty_i, np.zeros(0), empty_i, empty_i
        lengths = np.array([len(p[0]) for _, p in kept], dtype=np.int64)
        ends = np.cumsum(lengths)
        stamps = np.concatenate([p[0] for _, p in kept])
        values = np.concatenate([p[1] for _, p in kept])
        labels = [self._labels[sid] for sid, _ in kept]
        return labels, stamps, values, ends - lengths, ends

    def _extend(
        self,
        sids: list[int],
        start_ms: int,
        end_ms: int,
        *,
        first: list[int],
        last: list[int],
        miss: list[int],
        parts: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]] | None],
    ) -> list[int]:
        """Fill ``parts[k]`` for the misses whose cache entry only lacks the samples appended
        since (read just those from DuckDB); returns the misses left."""
        heads = self.read_cache.heads([sids[k] for k in miss], start_ms, [first[k] for k in miss])
        grow = [(k, h) for k, h in zip(miss, heads, strict=True) if h is not None]
        if not grow:
            return miss
        since = min(h[1] for _, h in grow)
        arr = np.array([sids[k] for k, _ in grow], dtype=np.int64)
        tails = self._read_columns(arr, since + 1, end_ms)
        whole: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]] = []
        for (k, (_, old_last, ts, vs)), (t_ts, t_vs) in zip(grow, tails, strict=True):
            new = t_ts > old_last
            all_ts, all_vs = np.concatenate((ts, t_ts[new])), np.concatenate((vs, t_vs[new]))
            whole.append((all_ts, all_vs))
            i = int(np.searchsorted(all_ts, start_ms, "left"))
            j = int(np.searchsorted(all_ts, end_ms, "right"))
            parts[k] = (all_ts[i:j], all_vs[i:j])
        self.read_cache.store(
            [sids[k] for k, _ in grow],
            [h[0] for _, h in grow],
            end_ms,
            first=[first[k] for k, _ in grow],
            last=[last[k] for k, _ in grow],
            parts=whole,
        )
        return [k for k, h in zip(miss, heads, strict=True) if h is None]

    def _read_columns(
        self, sids: npt.NDArray[np.int64], start_ms: int, end_ms: int
    ) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]:
        """Per series of ``sids`` (ascending), its samples in ``[start_ms, end_ms]``: views of
        the head's or the chunks' decoded columns, one copy for a series that has both."""
        r = self._read_runs(sids, start_ms, end_ms)
        out: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]] = []
        c_ts, c_vs, h_ts, h_vs = r.c_ts, r.c_vs, r.h_ts, r.h_vs
        for ca, cb, ha, hb in zip(
            r.c_lo.tolist(), r.c_hi.tolist(), r.h_lo.tolist(), r.h_hi.tolist(), strict=True
        ):
            if ca == cb:
                out.append((h_ts[ha:hb], h_vs[ha:hb]))
            elif ha == hb:
                out.append((c_ts[ca:cb], c_vs[ca:cb]))
            else:
                ts = np.concatenate((c_ts[ca:cb], h_ts[ha:hb]))
                out.append((ts, np.concatenate((c_vs[ca:cb], h_vs[ha:hb]))))
        return out

    def _where(
        self, sids: npt.NDArray[np.int64]
    ) -> tuple[str, list[int], dict[str, dict[str, npt.NDArray[np.int32]]] | None, bool]:
        """A WHERE condition for rows of ``sids`` (ascending): a range when they are dense
        (the caller drops the others), else a join on a scanned array."""
        lo, hi = int(sids[0]), int(sids[-1])
        if len(sids) * 4 >= hi - lo + 1:
            return "sid BETWEEN ? AND ?", [lo, hi], None, len(sids) < hi - lo + 1
        scans = {"wanted": {"sid": sids.astype(np.int32)}}
        return "sid IN (SELECT sid FROM wanted)", [], scans, False

    def _rows_of(
        self, sql: str, sids: npt.NDArray[np.int64], start_ms: int, end_ms: int
    ) -> tuple[dict[str, Any], bool]:
        """Columns of ``sql`` (its ``{where}`` filled with :meth:`_where`'s condition for
        ``sids``, then two ``?`` for ``start_ms`` and ``end_ms``), and whether rows of other
        series may be among them."""
        where, params, scans, extra = self._where(sids)
        rows = self.db.query_numpy(
            sql.format(where=where),
            [*params, start_ms, end_ms],
            self.limits.query_timeout_s,
            scans=scans,
        )
        return rows, extra

    def _read_flat(
        self, sids: npt.NDArray[np.int64], start_ms: int, end_ms: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """``(sid, ts, value)`` rows of ``sids`` (ascending) in ``[start_ms, end_ms]`` from
        DuckDB, head and chunks, in (series, time) order."""
        head = self._read_head(sids, start_ms, end_ms)
        if not head[3] and not bool((self._chunk_last[sids] >= start_ms).any()):
            return head[0], head[1], head[2]  # the head's rows are all there is, all wanted
        r = self._read_runs(sids, start_ms, end_ms, head)
        c_n, h_n = r.c_hi - r.c_lo, r.h_hi - r.h_lo
        got_sid = np.repeat(sids, c_n + h_n)
        if not len(r.c_ts) and int(h_n.sum()) == len(r.h_ts):
            return got_sid, r.h_ts, r.h_vs
        if not len(r.h_ts) and int(c_n.sum()) == len(r.c_ts):
            return got_sid, r.c_ts, r.c_vs
        # each series' chunk run, then its head run, gathered from both columns end to end
        lengths = np.stack((c_n, h_n), axis=1).ravel()
        src = np.stack((r.c_lo, r.h_lo + len(r.c_ts)), axis=1).ravel()
        out_start = np.cumsum(lengths) - lengths
        idx = np.repeat(src - out_start, lengths) + np.arange(int(lengths.sum()))
        ts = np.concatenate((r.c_ts, r.h_ts))[idx]
        return got_sid, ts, np.concatenate((r.c_vs, r.h_vs))[idx]

    def _read_head(
        self, sids: npt.NDArray[np.int64], start_ms: int, end_ms: int
    ) -> tuple[I64, I64, F64, bool]:
        """The head's rows of ``sids`` (ascending) in ``[start_ms, end_ms]`` in (series, time)
        order, and whether rows of other series may be among them. The rows come in insertion
        order, which is that order for data appended a series at a time; they are sorted here
        only when they are not."""
        cols, extra = self._rows_of(
            "SELECT sid, ts, v, kind FROM samples WHERE {where} AND ts BETWEEN ? AND ?",
            sids,
            start_ms,
            end_ms,
        )
        h_sid, h_ts, h_vs = _in_order(*_head_columns(cols))
        return h_sid, h_ts, h_vs, extra

    def _read_runs(
        self,
        sids: npt.NDArray[np.int64],
        start_ms: int,
        end_ms: int,
        head: tuple[I64, I64, F64, bool] | None = None,
    ) -> _Runs:
        """The samples of ``sids`` (ascending) in ``[start_ms, end_ms]`` as two sources, the
        chunks (older) and the head (newer, ``head`` if read already), each in (series, time)
        order, with per series its run in each."""
        h_sid, h_ts, h_vs, _ = head or self._read_head(sids, start_ms, end_ms)
        h_lo, h_hi = np.searchsorted(h_sid, sids, "left"), np.searchsorted(h_sid, sids, "right")
        no_chunks = np.zeros(len(sids), dtype=np.int64)
        empty = _Runs(_EMPTY_I, _EMPTY_F, no_chunks, no_chunks, h_sid, h_ts, h_vs, h_lo, h_hi)
        # Chunks after the head: a compaction committing in between shows its samples in both
        # (duplicates, dropped below), never in neither; _chunk_last is raised before it commits.
        has_chunks = sids[self._chunk_last[sids] >= start_ms]
        if not len(has_chunks):
            return empty
        rows, c_extra = self._rows_of(
            f"SELECT {chunks.READ_COLUMNS} FROM chunks "  # noqa: S608
            "WHERE {where} AND t1 >= ? AND t0 <= ?",
            has_chunks,
            start_ms,
            end_ms,
        )
        if c_extra and len(rows["sid"]):  # chunks of series in the range but not wanted
            lo = int(has_chunks[0])
            wanted = np.zeros(int(has_chunks[-1]) - lo + 1, dtype=np.bool_)
            wanted[has_chunks - lo] = True
            keep = wanted[np.asarray(rows["sid"], dtype=np.int64) - lo]
            if not keep.all():  # not decoded at all
                rows = {k: np.asarray(v)[keep] for k, v in rows.items()}
        rows = chunks.sorted_rows(rows)
        r_sid = np.asarray(rows["sid"], dtype=np.int64)
        if not len(r_sid):
            return empty
        t0 = np.asarray(rows["t0"], dtype=np.int64)
        t1 = np.asarray(rows["t1"], dtype=np.int64)
        c_ts, c_vs = chunks.decode_columns(rows)
        ends = np.cumsum(np.asarray(rows["n"], dtype=np.int64))
        bounds = np.concatenate(([0], ends))
        c_lo = bounds[np.searchsorted(r_sid, sids, "left")]
        c_hi = bounds[np.searchsorted(r_sid, sids, "right")]
        if bool((t0 < start_ms).any()) or bool((t1 > end_ms).any()):
            # a series' samples in range are one stretch of its chunk run: cut its ends off
            for cut, at_lo in ((c_ts < start_ms, True), (c_ts > end_ms, False)):
                before = np.concatenate(([0], np.cumsum(cut)))
                outside = before[c_hi] - before[c_lo]
                if at_lo:
                    c_lo = c_lo + outside
                else:
                    c_hi = c_hi - outside
        # One series' chunks in time order and not overlapping, all before its head rows:
        # otherwise (a compaction committed between the two reads) dedupe the slow way.
        same = r_sid[1:] == r_sid[:-1]
        both = (c_hi > c_lo) & (h_hi > h_lo)
        if bool((same & (t0[1:] <= t1[:-1])).any()) or bool(
            (c_ts[c_hi[both] - 1] >= h_ts[h_lo[both]]).any()
        ):
            keep = (c_ts >= start_ms) & (c_ts <= end_ms)
            g_sid, g_ts, g_vs = _in_order(
                np.concatenate((np.repeat(r_sid, np.diff(bounds))[keep], h_sid)),
                np.concatenate((c_ts[keep], h_ts)),
                np.concatenate((c_vs[keep], h_vs)),
            )
            g_lo = np.searchsorted(g_sid, sids, "left")
            g_hi = np.searchsorted(g_sid, sids, "right")
            return _Runs(_EMPTY_I, _EMPTY_F, no_chunks, no_chunks, g_sid, g_ts, g_vs, g_lo, g_hi)
        return _Runs(c_ts, c_vs, c_lo, c_hi, h_sid, h_ts, h_vs, h_lo, h_hi)

    def _matching(
        self, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int, end_ms: int
    ) -> list[int]:
        found: set[int] = set()
        sets = matcher_sets or [[]]
        for matchers in sets:
            found.update(self._in_range(self._candidates(matchers), start_ms, end_ms))
        return sorted(found)

    def series(
        self, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]:
        return [dict(self._labels[s]) for s in self._matching(matcher_sets, start_ms, end_ms)]

    def label_names(
        self, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int, end_ms: int
    ) -> list[str]:
        names: set[str] = set()
        for sid in self._matching(matcher_sets, start_ms, end_ms):
            names.update(self._labels[sid])
        return sorted(names)

    def label_values(
        self, name: str, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int, end_ms: int
    ) -> list[str]:
        values: set[str] = set()
        for sid in self._matching(matcher_sets, start_ms, end_ms):
            value = self._labels[sid].get(name)
            if value is not None:
                values.add(value)
        return sorted(values)

    def metadata(self) -> dict[str, list[dict[str, str]]]:
        return {metric: [dict(entry)] for metric, entry in sorted(self._meta.items())}

    def refresh_bounds(self) -> None:
        """Re-read each series' first timestamp after retention deleted old samples."""
        with self.db.write_lock:
            con = self.db.con
            rows = con.execute(
                "SELECT sid, min(ts) FROM (SELECT sid, ts FROM samples UNION ALL "
                "SELECT sid, t0 FROM chunks) GROUP BY sid"
            ).fetchall()
            first = np.full(len(self._first), _NONE, dtype=np.int64)
            for sid, ts in rows:
                first[sid] = ts
            self._first = first
            rows = con.execute("SELECT sid, max(t1) FROM chunks GROUP BY sid").fetchall()
            chunk_last = np.full(len(self._chunk_last), _NONE, dtype=np.int64)
            for sid, ts in rows:
                chunk_last[sid] = ts
            self._chunk_last = chunk_last

    @property
    def series_count(self) -> int:
        return self._persisted
