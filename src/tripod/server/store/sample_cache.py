"""A bounded, exact read cache of decoded sample columns, per series (for ``select_flat``).

Dashboards send the same range queries again and again; decoding the same 10⁶ rows out of
DuckDB each time is most of such a query's cost. An entry holds one series' samples for the
time range it was read with, plus the series' first and last sample time *as the store's memory
had them before that read*. It answers a later read only while both are unchanged: samples are
only ever appended after the last one (older ones are refused as out of order) and retention
moves the first one (``refresh_bounds``), so unchanged bounds mean unchanged samples. An entry
read over ``[lo, hi]`` also covers a wider range when ``lo`` reached back to the first sample or
``hi`` up to the last. Least recently used entries go first once ``max_samples`` is exceeded.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["DEFAULT_MAX_SAMPLES", "SampleCache"]

#: 4 Mi samples: 64 MiB of timestamps and values.
DEFAULT_MAX_SAMPLES = 4 << 20

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


class _Entry(NamedTuple):
    lo_ms: int  # the range the samples were read for
    hi_ms: int
    first_ms: int  # the series' bounds before that read
    last_ms: int
    ts: I64
    vs: F64


class SampleCache:
    """Series id → decoded samples; safe to call from several threads."""

    def __init__(self, max_samples: int = DEFAULT_MAX_SAMPLES) -> None:
        self.max_samples = max_samples
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def lookup(
        self, sids: list[int], start_ms: int, end_ms: int, first: list[int], last: list[int]
    ) -> list[tuple[I64, F64] | None]:
        """Per series, its samples in ``[start_ms, end_ms]`` if an entry still holds them
        (``first``/``last``: each series' current bounds), else None."""
        out: list[tuple[I64, F64] | None] = []
        with self._lock:
            entries = self._entries
            for sid, f, la in zip(sids, first, last, strict=True):
                e = entries.get(sid)
                if (
                    e is None
                    or e.first_ms != f
                    or e.last_ms != la
                    or (e.lo_ms > start_ms and e.lo_ms > f)
                    or (e.hi_ms < end_ms and e.hi_ms < la)
                ):
                    out.append(None)
                    continue
                entries.move_to_end(sid)
                if e.lo_ms == start_ms and e.hi_ms == end_ms:  # the same range: all of it
                    out.append((e.ts, e.vs))
                    continue
                i = int(np.searchsorted(e.ts, start_ms, "left"))
                j = int(np.searchsorted(e.ts, end_ms, "right"))
                out.append((e.ts[i:j], e.vs[i:j]))
            found = sum(p is not None for p in out)
            self.hits += found
            self.misses += len(out) - found
        return out

    def heads(
        self, sids: list[int], start_ms: int, first: list[int]
    ) -> list[tuple[int, int, I64, F64] | None]:
        """For series that got new samples since their entry was made: ``(lo_ms, last_ms, ts,
        vs)``, the entry's samples up to its last time, which still cover ``start_ms``; the
        samples after ``last_ms`` are all that is missing. None where there is no such entry."""
        out: list[tuple[int, int, I64, F64] | None] = []
        with self._lock:
            for sid, f in zip(sids, first, strict=True):
                e = self._entries.get(sid)
                if (
                    e is None
                    or e.first_ms != f
                    or (e.lo_ms > start_ms and e.lo_ms > f)
                    or e.hi_ms < e.last_ms
                ):
                    out.append(None)
                    continue
                j = int(np.searchsorted(e.ts, e.last_ms, "right"))
                out.append((e.lo_ms, e.last_ms, e.ts[:j], e.vs[:j]))
        return out

    def store(
        self,
        sids: list[int],
        start_ms: int | list[int],
        end_ms: int,
        *,
        first: list[int],
        last: list[int],
        parts: list[tuple[I64, F64]],
    ) -> None:
        """Keep what one read returned for ``sids`` (``first``/``last`` as read before it;
        ``start_ms``: the range's start, or one per series)."""
        total = sum(len(ts) for ts, _ in parts)
        if total > self.max_samples:
            return
        starts = start_ms if isinstance(start_ms, list) else [start_ms] * len(sids)
        with self._lock:
            for sid, lo, f, la, (ts, vs) in zip(sids, starts, first, last, parts, strict=True):
                old = self._entries.pop(sid, None)
                if old is not None:
                    self._size -= len(old.ts)
                self._entries[sid] = _Entry(lo, end_ms, f, la, ts, vs)
                self._size += len(ts)
            while self._size > self.max_samples and self._entries:
                _, gone = self._entries.popitem(last=False)
                self._size -= len(gone.ts)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0
