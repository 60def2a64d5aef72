"""An in-memory :class:`~tripod.server.store.model.SampleStore` for ``tripod test rules``.

Nothing is durable: a unit test loads its input series, evaluates rules and throws the store
away. Append follows the contract (and Prometheus's head): per series, an older sample is
``out_of_order``, the same timestamp with another value ``duplicate_timestamp``, an identical
duplicate is accepted silently. Labels with empty values are dropped, as Prometheus drops them.
"""

from __future__ import annotations

import bisect
import struct
import threading
from collections.abc import Iterable, Sequence

import numpy as np

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


def _bits(value: float) -> bytes:
    return struct.pack("<d", value)


class _Series:
    __slots__ = ("key", "labels", "times", "values")

    def __init__(self, key: _Key) -> None:
        self.key = key
        self.labels = dict(key)
        self.times: list[int] = []
        self.values: list[float] = []


class MemorySampleStore:
    """Series held in lists, selected by matcher; safe to call from several threads."""

    def __init__(self) -> None:
        self._series: dict[_Key, _Series] = {}
        self._by_name: dict[str, list[_Series]] = {}  # in label order, as select returns them
        self._meta: dict[str, list[dict[str, str]]] = {}
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
                if series.times and s.timestamp_ms <= series.times[-1]:
                    if s.timestamp_ms < series.times[-1]:
                        result.reject("out_of_order", "out of order sample")
                    elif _bits(s.value) != _bits(series.values[-1]):
                        result.reject("duplicate_timestamp", "duplicate sample for timestamp")
                    continue
                series.times.append(s.timestamp_ms)
                series.values.append(float(s.value))
                result.accepted += 1
        return result

    def _matching(self, matchers: Sequence[Matcher]) -> list[_Series]:
        name = next((m.value for m in matchers if m.name == "__name__" and m.op == "="), None)
        if name is not None:
            pool = self._by_name.get(name, [])
        else:
            pool = sorted(self._series.values(), key=lambda s: s.key)
        return [s for s in pool if all(m.matches(s.labels.get(m.name, "")) for m in matchers)]

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
        times: list[int] = []
        values: list[float] = []
        sizes: list[int] = []
        with self._lock:
            for s in self._matching(matchers):
                lo = bisect.bisect_left(s.times, start_ms)
                hi = bisect.bisect_right(s.times, end_ms)
                if lo >= hi:
                    continue
                labels.append(dict(s.labels))
                times += s.times[lo:hi]
                values += s.values[lo:hi]
                sizes.append(hi - lo)
        ts = np.array(times, dtype=np.int64)
        vs = np.array(values, dtype=np.float64)
        counts = np.array(sizes, dtype=np.int64)
        ends = np.cumsum(counts, dtype=np.int64)
        starts = ends - counts
        if labels:
            all_stale = np.logical_and.reduceat(vs.view(np.uint64) == STALE_NAN_BITS, starts)
            if all_stale.any():  # as select: a series of only staleness markers is left out
                keep = ~all_stale
                ts, vs = ts[np.repeat(keep, counts)], vs[np.repeat(keep, counts)]
                labels = [d for d, k in zip(labels, keep.tolist(), strict=True) if k]
                counts = counts[keep]
                ends = np.cumsum(counts, dtype=np.int64)
                starts = ends - counts
        return labels, ts, vs, starts, ends

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
