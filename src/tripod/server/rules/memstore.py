"""An in-memory :class:`~tripod.server.store.model.SampleStore` for ``tripod test rules``.

Nothing is durable: a unit test loads its input series, evaluates rules and throws the store
away. Append follows the contract (and Prometheus's head): per series, an older sample is
``out_of_order``, the same timestamp with another value ``duplicate_timestamp``, an identical
duplicate is accepted silently. Labels with empty values are dropped, as Prometheus drops them.
"""

from __future__ import annotations

import bisect
import math
import struct
import threading
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from tripod.server.store.model import (
    STALE_NAN_BITS,
    AppendResult,
    FlatSelection,
    Matcher,
    Sample,
    SeriesData,
)

__all__ = ["MemorySampleStore"]

_Key = tuple[tuple[str, str], ...]
_I64 = npt.NDArray[np.int64]
_F64 = npt.NDArray[np.float64]


def _bits(value: float) -> bytes:
    return struct.pack("<d", value)


_STALE = struct.pack("<Q", STALE_NAN_BITS)
_MATCHED_MAX = 4096


class _Series:
    """One series' samples in lists (appended one at a time, searched with bisect), mirrored
    in numpy arrays of spare capacity that catch up when the series is read: a selection is
    then a slice of them, not a conversion of Python numbers."""

    __slots__ = ("_synced", "_ts", "_vs", "key", "labels", "stale", "times", "values")

    def __init__(self, key: _Key) -> None:
        self.key = key
        self.labels = dict(key)
        self.times: list[int] = []
        self.values: list[float] = []
        self.stale: list[int] = []  # the positions of staleness markers, ascending
        self._ts = np.zeros(0, dtype=np.int64)
        self._vs = np.zeros(0, dtype=np.float64)
        self._synced = 0

    def arrays(self) -> tuple[_I64, _F64]:
        """``times`` and ``values`` as arrays (views of the mirrors: not to be written)."""
        n = len(self.times)
        if self._synced < n:
            if n > len(self._ts):
                size = max(n, 2 * len(self._ts), 16)
                ts, vs = np.zeros(size, dtype=np.int64), np.zeros(size, dtype=np.float64)
                ts[: self._synced] = self._ts[: self._synced]
                vs[: self._synced] = self._vs[: self._synced]
                self._ts, self._vs = ts, vs
            self._ts[self._synced : n] = self.times[self._synced :]
            self._vs[self._synced : n] = self.values[self._synced :]
            self._synced = n
        return self._ts[:n], self._vs[:n]


class MemorySampleStore:
    """Series held in lists, selected by matcher; safe to call from several threads."""

    def __init__(self) -> None:
        self._series: dict[_Key, _Series] = {}
        self._by_name: dict[str, list[_Series]] = {}  # in label order, as select returns them
        self._meta: dict[str, list[dict[str, str]]] = {}
        # the series each matcher list selects, until a series is added
        self._matched: dict[tuple[Matcher, ...], list[_Series]] = {}
        self._lock = threading.Lock()

    def append(self, samples: Iterable[Sample]) -> AppendResult:
        result = AppendResult()
        with self._lock:
            for s in samples:
                key = tuple(sorted((k, v) for k, v in s.labels.items() if v != ""))
                series = self._series.get(key)
                if series is None:
                    series = self._series[key] = _Series(key)
                    same_name = self._by_name.setdefault(series.labels.get("__name__", ""), [])
                    bisect.insort(same_name, series, key=lambda s: s.key)
                    self._matched.clear()
                if series.times and s.timestamp_ms <= series.times[-1]:
                    if s.timestamp_ms < series.times[-1]:
                        result.reject("out_of_order", "out of order sample")
                    elif _bits(s.value) != _bits(series.values[-1]):
                        result.reject("duplicate_timestamp", "duplicate sample for timestamp")
                    continue
                value = float(s.value)
                if math.isnan(value) and _bits(value) == _STALE:
                    series.stale.append(len(series.values))
                series.times.append(s.timestamp_ms)
                series.values.append(value)
                result.accepted += 1
        return result

    def _matching(self, matchers: Sequence[Matcher]) -> list[_Series]:
        key = tuple(matchers)
        found = self._matched.get(key)
        if found is not None:
            return found
        name = next((m.value for m in matchers if m.name == "__name__" and m.op == "="), None)
        if name is not None:
            pool = self._by_name.get(name, [])
        else:
            pool = sorted(self._series.values(), key=lambda s: s.key)
        found = [s for s in pool if all(m.matches(s.labels.get(m.name, "")) for m in matchers)]
        if len(self._matched) >= _MATCHED_MAX:
            self._matched.clear()
        self._matched[key] = found
        return found

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[SeriesData]:
        """The matching series in the range, one per series (:meth:`select_flat`, split): a series
        with only staleness markers there is left out — for PromQL the same as not selecting it
        (and it spares the engine an all-stale selection)."""
        labels, ts, vs, starts, ends = self.select_flat(matchers, start_ms, end_ms)
        return [
            SeriesData(lab, ts[a:b], vs[a:b])
            for lab, a, b in zip(labels, starts.tolist(), ends.tolist(), strict=True)
        ]

    def select_flat(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> FlatSelection:
        """:meth:`select` as flat arrays, built in one pass (the engine's path: a rule unit test
        selects a few hundred thousand times, mostly a handful of samples each)."""
        labels: list[dict[str, str]] = []
        times: list[_I64] = []
        values: list[_F64] = []
        ends: list[int] = []
        end = 0
        with self._lock:
            for s in self._matching(matchers):
                lo = bisect.bisect_left(s.times, start_ms)
                hi = bisect.bisect_right(s.times, end_ms)
                if lo >= hi:
                    continue
                stale = s.stale
                if (
                    stale
                    and bisect.bisect_left(stale, hi) - bisect.bisect_left(stale, lo) == hi - lo
                ):
                    continue  # as select: a series of only staleness markers is left out
                ts, vs = s.arrays()
                labels.append(dict(s.labels))
                times.append(ts[lo:hi])
                values.append(vs[lo:hi])
                end += hi - lo
                ends.append(end)
            # copies, made under the lock: the mirrors change as samples come
            if labels:
                flat_ts, flat_vs = np.concatenate(times), np.concatenate(values)
            else:
                flat_ts, flat_vs = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        return (
            labels,
            flat_ts,
            flat_vs,
            np.array([0, *ends[:-1]] if ends else [], dtype=np.int64),
            np.array(ends, dtype=np.int64),
        )

    def series(
        self, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]:
        seen: dict[_Key, dict[str, str]] = {}
        for matchers in matcher_sets:
            for s in self.select(matchers, start_ms, end_ms):
                seen[tuple(sorted(s.labels.items()))] = s.labels
        return [seen[k] for k in sorted(seen)]

    def _sets(self, matcher_sets: Sequence[Sequence[Matcher]]) -> Sequence[Sequence[Matcher]]:
        return matcher_sets or [[Matcher("__name__", "=~", ".+")]]

    def label_names(
        self, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int, end_ms: int
    ) -> list[str]:
        found = self.series(self._sets(matcher_sets), start_ms, end_ms)
        return sorted({k for labels in found for k in labels})

    def label_values(
        self, name: str, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int, end_ms: int
    ) -> list[str]:
        found = self.series(self._sets(matcher_sets), start_ms, end_ms)
        return sorted({labels[name] for labels in found if name in labels})

    def set_metadata(self, metric: str, type_: str, help_: str, unit: str = "") -> None:
        self._meta[metric] = [{"type": type_, "help": help_, "unit": unit}]

    def metadata(self) -> dict[str, list[dict[str, str]]]:
        return dict(self._meta)
