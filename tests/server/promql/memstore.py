"""A list-based :class:`SampleStore` for unit tests of the engine: a test double of the storage
contract (no durability), small and obviously correct.

Not replaced by ``tripod.server.rules.memstore.MemorySampleStore`` on purpose: that one leaves
out series holding only staleness markers and refuses a same-timestamp sample with another value,
as ``tripod test rules`` needs; this one returns what the disk store returns (all-stale series
included), so the engine's own handling of them stays under test, and it stays independent of
the product code it checks."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

import numpy as np

from tripod.server.store.model import AppendResult, FlatSelection, Matcher, Sample, SeriesData


class MemStore:
    def __init__(self) -> None:
        self._series: dict[tuple[tuple[str, str], ...], list[tuple[int, float]]] = {}
        self._meta: dict[str, list[dict[str, str]]] = {}
        self._lock = threading.Lock()

    def append(self, samples: Iterable[Sample]) -> AppendResult:
        result = AppendResult()
        with self._lock:
            for s in samples:
                key = tuple(sorted((k, v) for k, v in s.labels.items() if v != ""))
                points = self._series.setdefault(key, [])
                if points and s.timestamp_ms < points[-1][0]:
                    result.reject("out_of_order", f"out of order sample for {key}")
                    continue
                if points and s.timestamp_ms == points[-1][0]:
                    continue
                points.append((s.timestamp_ms, s.value))
                result.accepted += 1
        return result

    def add(self, name: str, labels: dict[str, str], points: Sequence[tuple[float, float]]) -> None:
        """Test helper: ``points`` as (seconds, value)."""
        self.append(Sample({"__name__": name, **labels}, round(t * 1000), v) for t, v in points)

    def _matching(self, matchers: Sequence[Matcher]) -> list[tuple[tuple[str, str], ...]]:
        out = []
        for key in self._series:
            d = dict(key)
            if all(m.matches(d.get(m.name, "")) for m in matchers):
                out.append(key)
        return sorted(out)

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[SeriesData]:
        out = []
        for key in self._matching(matchers):
            pts = [(t, v) for t, v in self._series[key] if start_ms <= t <= end_ms]
            if not pts:
                continue
            out.append(
                SeriesData(
                    dict(key),
                    np.array([t for t, _ in pts], dtype=np.int64),
                    np.array([v for _, v in pts], dtype=np.float64),
                )
            )
        return out

    def select_flat(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> FlatSelection:
        """:meth:`select` as flat arrays: series ``i`` is ``ts[starts[i]:ends[i]]``."""
        data = self.select(matchers, start_ms, end_ms)
        lengths = np.array([len(d.timestamps) for d in data], dtype=np.int64)
        ends = np.cumsum(lengths)
        empty_ts, empty_vs = np.zeros(0, dtype=np.int64), np.zeros(0)
        ts = np.concatenate([d.timestamps for d in data]) if data else empty_ts
        values = np.concatenate([d.values for d in data]) if data else empty_vs
        return [d.labels for d in data], ts, values, ends - lengths, ends

    def series(self, matcher_sets, start_ms, end_ms):  # type: ignore[no-untyped-def]
        seen = {}
        for ms in matcher_sets:
            for s in self.select(ms, start_ms, end_ms):
                seen[tuple(sorted(s.labels.items()))] = s.labels
        return [seen[k] for k in sorted(seen)]

    def label_names(self, matcher_sets, start_ms, end_ms):  # type: ignore[no-untyped-def]
        sets = matcher_sets or [[Matcher("__name__", "=~", ".+")]]
        return sorted({k for s in self.series(sets, start_ms, end_ms) for k in s})

    def label_values(self, name, matcher_sets, start_ms, end_ms):  # type: ignore[no-untyped-def]
        sets = matcher_sets or [[Matcher("__name__", "=~", ".+")]]
        return sorted({s[name] for s in self.series(sets, start_ms, end_ms) if name in s})

    def set_metadata(self, metric: str, type_: str, help_: str, unit: str = "") -> None:
        self._meta[metric] = [{"type": type_, "help": help_, "unit": unit}]

    def metadata(self) -> dict[str, list[dict[str, str]]]:
        return dict(self._meta)
