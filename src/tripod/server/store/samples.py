"""The DuckDB-backed :class:`~tripod.server.store.model.SampleStore`, fast paths included.

Series label sets live in memory (loaded at start) with each series' first/last timestamp and last
value, so appends check Prometheus's out-of-order and duplicate rules without a query, and
``series``/``labels`` answer from memory. Samples go to DuckDB in one transaction per append,
sorted by series so they compress well.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from tripod.server.config import Limits
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
    ) -> None:
        self.db = db
        self.limits = limits or Limits()
        self.retention_time_s = retention_time_s
        self._labels: list[dict[str, str]] = []
        self._ids: dict[LabelKey, int] = {}
        self._by_name: dict[str, list[int]] = {}
        self._persisted = 0  # series rows [0, _persisted) are in the database
        self._first = np.full(1024, _NONE, dtype=np.int64)
        self._last = np.full(1024, _NONE, dtype=np.int64)
        self._last_bits = np.zeros(1024, dtype=np.uint64)
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
        for attr, fill in (("_first", _NONE), ("_last", _NONE)):
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
            for result, count in zip(results, kept.tolist(), strict=True):
                result.accepted += count

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
        sids = self._in_range(self._candidates(matchers), start_ms, end_ms)
        empty_i = np.zeros(0, dtype=np.int64)
        if not sids:
            return [], empty_i, np.zeros(0), empty_i, empty_i
        arr = np.array(sids, dtype=np.int64)
        if len(sids) > _CACHED_SERIES_MAX:  # wide: no Python object per series at all
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
        """Per series of ``sids`` (ascending), its samples in ``[start_ms, end_ms]``."""
        got_sid, stamps, values = self._read_flat(sids, start_ms, end_ms)
        cut = np.searchsorted(got_sid, sids, "left"), np.searchsorted(got_sid, sids, "right")
        return [
            (stamps[a:b], values[a:b])
            for a, b in zip(cut[0].tolist(), cut[1].tolist(), strict=True)
        ]

    def _read_flat(
        self, sids: npt.NDArray[np.int64], start_ms: int, end_ms: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """``(sid, ts, value)`` rows of ``sids`` (ascending) in ``[start_ms, end_ms]`` from
        DuckDB, in (series, time) order. The rows come in insertion order, which is that order
        for data appended in time order; they are sorted here only when they are not."""
        lo, hi = int(sids[0]), int(sids[-1])
        dense = len(sids) * 4 >= hi - lo + 1
        where = "s.sid BETWEEN ? AND ?" if dense else "s.sid IN (SELECT sid FROM wanted)"
        params: list[int] = [lo, hi] if dense else []
        cols = self.db.query_numpy(
            f"SELECT s.sid, s.ts, s.v, s.kind FROM samples s WHERE {where} "  # noqa: S608
            "AND s.ts BETWEEN ? AND ?",
            [*params, start_ms, end_ms],
            self.limits.query_timeout_s,
            scans=None if dense else {"wanted": {"sid": sids.astype(np.int32)}},
        )
        got_sid = np.asarray(cols["sid"], dtype=np.int64)
        stamps = np.asarray(cols["ts"], dtype=np.int64)
        values = np.ma.getdata(cols["v"]).astype(np.float64, copy=True)
        kinds = np.asarray(cols["kind"], dtype=np.uint8)
        values[kinds == 1] = np.nan
        values[kinds == 2] = STALE_NAN
        if dense and len(sids) < hi - lo + 1:
            wanted = np.zeros(hi - lo + 1, dtype=np.bool_)
            wanted[sids - lo] = True
            keep = wanted[got_sid - lo]
            if not keep.all():
                got_sid, stamps, values = got_sid[keep], stamps[keep], values[keep]
        if len(got_sid) > 1:
            d_sid, d_ts = np.diff(got_sid), np.diff(stamps)
            if not bool(((d_sid > 0) | ((d_sid == 0) & (d_ts > 0))).all()):
                order = np.lexsort((stamps, got_sid))
                got_sid, stamps, values = got_sid[order], stamps[order], values[order]
        return got_sid, stamps, values

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
            rows = self.db.con.execute("SELECT sid, min(ts) FROM samples GROUP BY sid").fetchall()
            first = np.full(len(self._first), _NONE, dtype=np.int64)
            for sid, ts in rows:
                first[sid] = ts
            self._first = first

    @property
    def series_count(self) -> int:
        return self._persisted
