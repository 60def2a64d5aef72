"""A read cache for rule evaluation: the sample reader the rule engine queries through.

A rule group's selectors mostly name one metric with a few label matchers
(``rate(http_requests_total{route="/r3",status="200"}[5m])``), and a group of a thousand rules
reads the same few metrics a thousand times at one evaluation time. Each read of the store costs
a scan of the metric's series in Python and a DuckDB select; here the first selector naming a
metric fetches *all* its series for the window asked (by ``__name__`` only, one select), and
later selectors of that metric whose window lies inside are answered from memory: the other
matchers are applied once per distinct label value (a metric has far fewer values than series)
and each series is cut to the window asked. The answer is the store's own, bit for bit: the
same series in the same order, the same samples, staleness markers kept.

The cache also batches a group's writes (:meth:`ReadCache.defer`, :meth:`ReadCache.flush`): the
rules' appends wait and go to the store in one transaction (``append_many``) when the group
ends, each with its own result, or earlier when a read could see them (a selector naming a
metric written, or one without an exact name), so a later rule reads an earlier rule's output
as Prometheus's per-rule commit shows it.

The cache lives for one group evaluation (:meth:`ReadCache.clear` before each), so samples that
arrive while a group evaluates are read from its next evaluation on; the group's own
appends (recording rules, ``ALERTS``) drop the entries of the metrics they write, so a later rule
reading an earlier rule's output sees it. Selectors without an exact metric name, and windows far
from the cached one (an ``@`` or ``offset`` far away), go to the store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from tripod.server.store.model import (
    AppendResult,
    FlatSelection,
    Matcher,
    Sample,
    SampleReader,
    SeriesData,
)

__all__ = ["CachedStore", "Done", "ReadCache"]

_SHIFT = 41  # series index above, milliseconds into the window below (< 69 years)
_I64 = npt.NDArray[np.int64]


class CachedStore(SampleReader, Protocol):
    """What the cache wraps: a sample reader that also takes the rules' appends."""

    def append(self, samples: Iterable[Sample]) -> AppendResult: ...

    def append_many(self, batches: Sequence[Iterable[Sample]]) -> list[AppendResult]: ...


#: Told a deferred batch's outcome: its result, or the exception the write raised.
Done = Callable[[AppendResult | None, Exception | None], None]


@dataclass
class _Entry:
    lo: int
    hi: int
    labels: list[dict[str, str]]
    ts: _I64
    vs: npt.NDArray[np.float64]
    keys: _I64  # (series index << _SHIFT) + (ts - lo): ordered, for cutting every series at once
    columns: dict[str, tuple[list[str], _I64]] = field(default_factory=dict)

    def column(self, name: str) -> tuple[list[str], _I64]:
        """Label ``name``'s distinct values (missing is ``""``) and each series' value index."""
        found = self.columns.get(name)
        if found is None:
            index: dict[str, int] = {}
            codes = [index.setdefault(d.get(name, ""), len(index)) for d in self.labels]
            found = self.columns[name] = (list(index), np.array(codes, dtype=np.int64))
        return found


def _entry(lo: int, hi: int, flat: FlatSelection) -> _Entry:
    labels, ts, vs, starts, ends = flat
    series = np.repeat(np.arange(len(labels), dtype=np.int64), ends - starts)
    keys = (series << _SHIFT) + (np.asarray(ts, dtype=np.int64) - lo)
    return _Entry(lo, hi, list(labels), np.asarray(ts, dtype=np.int64), np.asarray(vs), keys)


def _empty() -> FlatSelection:
    none = np.zeros(0, dtype=np.int64)
    return [], none, np.zeros(0), none, none


class ReadCache:
    """A :class:`SampleReader` (and the rules' appender) over ``store`` that reads each metric
    once per group evaluation. Use from the rule thread; :meth:`clear` between groups."""

    def __init__(self, store: CachedStore, *, max_widen: float = 2.0) -> None:
        self.store = store
        self.max_widen = max_widen  # a window is widened to cover a new one up to this factor
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._pending: list[tuple[list[Sample], Done]] = []
        self._pending_names: set[str] = set()
        self.hits = self.misses = 0

    def clear(self) -> None:
        """Forget everything read (call before each group evaluation: new data may have come)."""
        with self._lock:
            self._entries.clear()

    # --- the cached read --------------------------------------------------------------------

    def select_flat(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> FlatSelection:
        names = [m for m in matchers if m.name == "__name__"]
        exact = next((m.value for m in names if m.op == "="), None)
        if self._pending and (exact is None or exact in self._pending_names):
            self.flush()
        if exact is None or start_ms > end_ms:
            return self.store.select_flat(matchers, start_ms, end_ms)
        if not all(m.matches(exact) for m in names):
            return _empty()
        entry = self._get(exact, start_ms, end_ms)
        if entry is None:
            return self.store.select_flat(matchers, start_ms, end_ms)
        mask = np.ones(len(entry.labels), dtype=bool)
        for m in matchers:
            if m.name != "__name__":
                values, codes = entry.column(m.name)
                mask &= np.array([m.matches(v) for v in values], dtype=bool)[codes]
        pos = np.flatnonzero(mask).astype(np.int64)
        base = pos << _SHIFT
        a = np.searchsorted(entry.keys, base + (start_ms - entry.lo), "left")
        b = np.searchsorted(entry.keys, base + (end_ms - entry.lo), "right")
        keep = b > a
        pos, a, b = pos[keep], a[keep], b[keep]
        lengths = (b - a).astype(np.int64)
        ends = np.cumsum(lengths)
        starts = ends - lengths
        idx = np.repeat(a - starts, lengths) + np.arange(int(ends[-1]) if len(ends) else 0)
        labels = [entry.labels[p] for p in pos.tolist()]
        return labels, entry.ts[idx], entry.vs[idx], starts, ends

    def _get(self, name: str, lo: int, hi: int) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(name)
        if entry is not None and entry.lo <= lo and hi <= entry.hi:
            self.hits += 1
            return entry
        if entry is not None:  # widen to cover both, unless they are far apart
            new_lo, new_hi = min(lo, entry.lo), max(hi, entry.hi)
            widest = max(hi - lo, entry.hi - entry.lo, 1)
            if new_hi - new_lo > self.max_widen * widest:
                return None
            lo, hi = new_lo, new_hi
        if hi - lo >= 1 << (_SHIFT - 1):
            return None
        self.misses += 1
        fetched = _entry(lo, hi, self.store.select_flat([Matcher("__name__", "=", name)], lo, hi))
        with self._lock:
            self._entries[name] = fetched
        return fetched

    # --- the rest of the reader, and the appends --------------------------------------------

    def _forget(self, batch: Sequence[Sample]) -> set[str]:
        written = {s.labels.get("__name__", "") for s in batch}
        with self._lock:
            for name in written:
                self._entries.pop(name, None)
        return written

    def append(self, samples: Iterable[Sample]) -> AppendResult:
        """Append through to the store (after any deferred batches), dropping the cached
        metrics written."""
        batch = list(samples)
        self._forget(batch)
        self.flush()
        return self.store.append(batch)

    def defer(self, samples: Iterable[Sample], done: Done) -> None:
        """Queue a batch for the next :meth:`flush`; ``done`` is told its outcome then."""
        batch = list(samples)
        names = self._forget(batch)
        with self._lock:
            self._pending_names |= names
            self._pending.append((batch, done))

    def flush(self) -> None:
        """Write the queued batches in one store transaction and tell each its outcome (a
        write that raises fails them all, each told the exception)."""
        if not self._pending:
            return
        with self._lock:
            pending, self._pending, self._pending_names = self._pending, [], set()
        try:
            results = self.store.append_many([batch for batch, _ in pending])
        except Exception as exc:  # reported to every batch's rule, as its own append would be
            for _, done in pending:
                done(None, exc)
            return
        for (_, done), result in zip(pending, results, strict=True):
            done(result, None)

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[SeriesData]:
        self.flush()
        return self.store.select(matchers, start_ms, end_ms)

    def series(
        self, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]:
        self.flush()
        return self.store.series(matcher_sets, start_ms, end_ms)

    def label_names(
        self, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int, end_ms: int
    ) -> list[str]:
        self.flush()
        return self.store.label_names(matcher_sets, start_ms, end_ms)

    def label_values(
        self, name: str, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int, end_ms: int
    ) -> list[str]:
        self.flush()
        return self.store.label_values(name, matcher_sets, start_ms, end_ms)

    def metadata(self) -> dict[str, list[dict[str, str]]]:
        return self.store.metadata()
