"""Exemplars in memory, bounded: Prometheus's circular exemplar storage (tsdb/exemplar.go).

One ring buffer of ``max_exemplars`` slots is shared by every series; each series keeps the
slots of its exemplars as a linked list (oldest -> newest) through the buffer. A new exemplar
takes the next slot; the exemplar it overwrites leaves its own series' list (and a series
whose last exemplar goes leaves the index). So the newest ``max_exemplars`` exemplars are kept
whatever series they belong to, and memory is fixed.

As Prometheus 2.42 does, per series: an exemplar equal to the series' newest (labels, value,
timestamp) is a duplicate and skipped; one not newer than the newest is out of order and
refused; exemplar labels longer than 128 characters in total (names plus values) are refused.

Exemplars live in memory only: Prometheus keeps them in its WAL and replays them on restart;
tripod starts with an empty buffer after a restart (documented in docs/server.md).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from tripod.server.store.model import Exemplar, ExemplarSeries, Matcher

__all__ = ["DEFAULT_MAX_EXEMPLARS", "MAX_LABEL_SET_LENGTH", "MemoryExemplarStore"]

#: Prometheus's ``storage.exemplars.max_exemplars`` default.
DEFAULT_MAX_EXEMPLARS = 100_000
#: Prometheus's ``exemplar.ExemplarMaxLabelSetLength``: runes of names plus values.
MAX_LABEL_SET_LENGTH = 128

_NONE = -1
SeriesKey = tuple[tuple[str, str], ...]


class _Entry:
    """A series in the index: its labels and the slots of its oldest and newest exemplars."""

    __slots__ = ("labels", "newest", "oldest")

    def __init__(self, labels: dict[str, str], slot: int) -> None:
        self.labels = labels
        self.oldest = slot
        self.newest = slot


class MemoryExemplarStore:
    """The :class:`~tripod.server.store.model.ExemplarStore` contract over one ring buffer;
    thread-safe (ingest runs in worker threads). ``max_exemplars`` 0 disables storage."""

    def __init__(self, max_exemplars: int = DEFAULT_MAX_EXEMPLARS) -> None:
        self.max_exemplars = max_exemplars
        self._exemplars: list[Exemplar | None] = [None] * max_exemplars
        self._owner: list[SeriesKey | None] = [None] * max_exemplars
        self._next: list[int] = [_NONE] * max_exemplars
        self._index: dict[SeriesKey, _Entry] = {}
        self._cursor = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return sum(1 for e in self._exemplars if e is not None)

    def series_count(self) -> int:
        """Series that hold at least one exemplar."""
        return len(self._index)

    def add(self, series: Mapping[str, str], exemplar: Exemplar) -> str | None:
        if self.max_exemplars <= 0:
            return "disabled"
        length = sum(len(k) + len(v) for k, v in exemplar.labels.items())
        if length > MAX_LABEL_SET_LENGTH:
            return "label_length"
        key: SeriesKey = tuple(sorted(series.items()))
        with self._lock:
            entry = self._index.get(key)
            if entry is not None:
                newest = self._exemplars[entry.newest]
                assert newest is not None
                if newest == exemplar:
                    return "duplicate"
                if exemplar.ts_ms <= newest.ts_ms:
                    return "out_of_order"
            slot = self._cursor
            self._evict(slot)
            self._exemplars[slot] = exemplar
            self._owner[slot] = key
            self._next[slot] = _NONE
            entry = self._index.get(key)  # the eviction may have emptied this very series
            if entry is None:
                self._index[key] = _Entry(dict(series), slot)
            else:
                self._next[entry.newest] = slot
                entry.newest = slot
            self._cursor = (slot + 1) % self.max_exemplars
        return None

    def _evict(self, slot: int) -> None:
        owner = self._owner[slot]
        if owner is None:
            return
        entry = self._index[owner]
        # The cursor always overwrites the oldest exemplar in the buffer, so it is the oldest
        # of its series too.
        if self._next[slot] == _NONE:
            del self._index[owner]
        else:
            entry.oldest = self._next[slot]
        self._exemplars[slot] = None
        self._owner[slot] = None

    def select(
        self, start_ms: int, end_ms: int, matcher_sets: Sequence[Sequence[Matcher]]
    ) -> list[ExemplarSeries]:
        found: list[tuple[SeriesKey, ExemplarSeries]] = []
        with self._lock:
            for key, entry in self._index.items():
                oldest = self._exemplars[entry.oldest]
                newest = self._exemplars[entry.newest]
                assert oldest is not None
                assert newest is not None
                if oldest.ts_ms > end_ms or newest.ts_ms < start_ms:
                    continue
                if not _matches_some(entry.labels, matcher_sets):
                    continue
                picked: list[Exemplar] = []
                slot = entry.oldest
                while slot != _NONE:
                    item = self._exemplars[slot]
                    assert item is not None
                    if item.ts_ms > end_ms:
                        break
                    if item.ts_ms >= start_ms:
                        picked.append(item)
                    slot = self._next[slot]
                if picked:
                    found.append((key, ExemplarSeries(dict(entry.labels), picked)))
        found.sort(key=lambda pair: pair[0])
        return [series for _, series in found]


def _matches_some(labels: Mapping[str, str], matcher_sets: Sequence[Sequence[Matcher]]) -> bool:
    return any(all(m.matches(labels.get(m.name, "")) for m in ms) for ms in matcher_sets)
