"""Compacted samples: one row per series and time window, timestamps and values encoded.

The ``samples`` table is the head (one row per sample, what appends write). Closed time windows
(:data:`WINDOW_MS`, epoch-aligned, once the newest sample is :data:`GRACE_MS` past a window's
end) move into the ``chunks`` table, one row per (series, window) in one transaction (insert the
chunks, delete the rows): ``sid``, first/last timestamp ``t0``/``t1``, sample count ``n`` and one
zlib-compressed BLOB ``b``, the timestamps' bytes then the values'.

* timestamps as delta-of-delta (``[0, d0 - step, d1 - d0, ...]``, ``step`` the chunk's
  mean step ``(t1 - t0) // (n - 1)``) in the narrowest integer type that holds them (``tw``'s low
  bits: bytes each; scraped timestamps a few ms off the interval fit one), none at all when they
  are all 0 (evenly spaced samples: width 0). ``tw`` has :data:`STEP_FLAG` set; chunks written
  before it existed store ``d0`` itself and decode as they did.
* values. ``vmode`` 1: every value is an integer divided by ``10**vscale`` (checked
  bit-for-bit on encode), stored as the deltas of those integers after ``v0`` (``vw`` bytes
  each): counters and fixed-decimal gauges. ``vmode`` 0: the float64 bits XOR the previous
  value's bits (``vw`` 8): anything else, NaN and staleness markers included, bit-exact.

Decoding is vectorised over all chunks of a read (segmented cumulative sums / XORs); only the
zlib calls (and two zero-copy views of their output) are per chunk. A series' chunks never
overlap one another nor its head rows, since appends refuse samples older than a series' newest
one: a late sample into a compacted window stays in the head until the next compaction gives it
a chunk of its own.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = [
    "GRACE_MS",
    "STEP_FLAG",
    "WINDOW_MS",
    "Encoded",
    "decode",
    "decode_columns",
    "encode",
    "window_start",
]

#: chunk windows: 2 h like Prometheus's blocks (120+ samples per chunk for scrape intervals ≤ 1 m)
WINDOW_MS = 2 * 3600 * 1000
#: a window is compacted once the store's newest sample is this far past its end
GRACE_MS = 15 * 60 * 1000
#: ``tw``: the timestamps' byte width (0: evenly spaced, no bytes stored) ...
_WIDTH = 0x0F
#: ... and this flag: the first delta is stored relative to the chunk's mean step, rounded
#: down, ``(t1 - t0) // (n - 1)``. Chunks written before it (widths 1-8, no flag) stored it
#: as it is, and decode as they are.
STEP_FLAG = 0x10
_MAX_SCALE = 6
_ZLIB_LEVEL = 6

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
_INT_TYPES = (np.int8, np.int16, np.int32, np.int64)
_DTYPES: dict[int, np.dtype[Any]] = {
    1: np.dtype("<i1"),
    2: np.dtype("<i2"),
    4: np.dtype("<i4"),
    8: np.dtype("<i8"),
}


class Encoded(NamedTuple):
    t0: int
    t1: int
    n: int
    tw: int
    vmode: int
    vw: int
    vscale: int
    v0: int
    b: bytes


def window_start(ts_ms: int) -> int:
    return ts_ms - ts_ms % WINDOW_MS


def _narrow(x: I64) -> tuple[int, bytes]:
    lo, hi = (int(x.min()), int(x.max())) if len(x) else (0, 0)
    for t in _INT_TYPES:
        info = np.iinfo(t)
        if info.min <= lo and hi <= info.max:
            return np.dtype(t).itemsize, x.astype(np.dtype(t).newbyteorder("<")).tobytes()
    raise AssertionError("unreachable")


def _scaled(values: F64) -> tuple[int, I64] | None:
    """``(k, ints)`` with ``ints / 10**k`` equal to ``values`` bit for bit, or None."""
    if not bool(np.isfinite(values).all()) or bool((np.abs(values) >= 2.0**52).any()):
        return None
    bits = values.view(np.uint64)
    for k in range(_MAX_SCALE + 1):
        scale = float(10**k)
        ints = np.rint(values * scale)
        if bool(((ints / scale).view(np.uint64) == bits).all()):
            return k, ints.astype(np.int64)
    return None


def _step(t0: I64, t1: I64, n: I64) -> I64:
    """Each chunk's mean step, rounded down (0 for a chunk of one sample)."""
    return (t1 - t0) // np.maximum(n - 1, 1)


def encode(ts: I64, values: F64) -> Encoded:
    """One chunk of a series' samples (``ts`` ascending, at least one)."""
    n = len(ts)
    d = np.diff(ts, prepend=ts[0])  # [0, d0, d1, ...]
    dod = np.diff(d, prepend=0)  # [0, d0, d1 - d0, ...]
    if n > 1:  # [0, d0 - step, d1 - d0, ...]: all 0 for evenly spaced samples
        dod[1:2] -= _step(ts[:1], ts[-1:], np.array([n]))  # (int64 wraps alike both ways)
    if dod.any():
        tw, traw = _narrow(dod)
    else:
        tw, traw = 0, b""
    tw |= STEP_FLAG
    scaled = _scaled(values)
    if scaled is not None:
        k, ints = scaled
        vw, vraw = _narrow(np.diff(ints, prepend=ints[0]))
        vmode, v0 = 1, int(ints[0])
    else:
        bits = values.view(np.uint64)
        x = bits.copy()
        x[1:] ^= bits[:-1]
        vmode, vw, k, v0, vraw = 0, 8, 0, 0, x.astype("<u8").tobytes()
    return Encoded(
        int(ts[0]),
        int(ts[-1]),
        n,
        tw,
        vmode,
        vw,
        k,
        v0,
        zlib.compress(traw + vraw, _ZLIB_LEVEL),
    )


def _restarted(x: I64, starts: I64, firsts: I64) -> I64:
    """``firsts[k]`` plus the cumulative sums of ``x`` after its first element, in segments
    beginning at ``starts`` (ascending, the first 0): one cumulative sum, each segment's first
    element set to what cancels the running total so far. In place."""
    x[starts] = 0
    if len(starts) > 1:
        sums = np.add.reduceat(x, starts)  # each segment's own total
        x[starts[1:]] = firsts[1:] - (firsts[:-1] + sums[:-1])
    x[0] = firsts[0]
    return np.cumsum(x, out=x)


def _columns(rows: Mapping[str, Any], n: I64) -> tuple[I64, I64]:
    """Every chunk's timestamp and value integers, concatenated in chunk order as int64: one
    zlib call and two zero-copy views per chunk, then one widening copy per column."""
    t_parts: list[npt.NDArray[Any]] = []
    v_parts: list[npt.NDArray[Any]] = []
    dz, view = zlib.decompress, np.frombuffer
    tws, vws = np.asarray(rows["tw"]).tolist(), np.asarray(rows["vw"]).tolist()
    zeros = np.zeros(int(n.max()), dtype=np.int8)
    for blob, k, tw, vw in zip(rows["b"], n.tolist(), tws, vws, strict=True):
        plain = dz(blob)
        w = tw & _WIDTH
        t_parts.append(view(plain, _DTYPES[w], k) if w else zeros[:k])
        v_parts.append(view(plain, _DTYPES[vw], k, k * w))
    return _wide(t_parts), _wide(v_parts)


def _wide(parts: list[npt.NDArray[Any]]) -> I64:
    if len(parts) == 1:
        return parts[0].astype(np.int64)
    return np.concatenate(parts, dtype=np.int64, casting="safe")


def decode(rows: Mapping[str, Any]) -> tuple[I64, I64, F64]:
    """``(sid, ts, values)`` of chunk rows (numpy columns as DuckDB's ``fetchnumpy`` gives
    them for :data:`READ_COLUMNS`, in the order to concatenate: sorted by (sid, t0) for
    (series, time) order)."""
    n = np.asarray(rows["n"], dtype=np.int64)
    ts, values = decode_columns(rows)
    return np.repeat(np.asarray(rows["sid"], dtype=np.int64), n), ts, values


def decode_columns(rows: Mapping[str, Any]) -> tuple[I64, F64]:
    """:func:`decode` without the series ids: ``(ts, values)``, row ``i``'s samples being the
    ``rows["n"][i]`` after those of the rows before it."""
    n = np.asarray(rows["n"], dtype=np.int64)
    if len(n) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    dod, raw = _columns(rows, n)
    starts = np.cumsum(n) - n
    t0 = np.asarray(rows["t0"], dtype=np.int64)
    t1 = np.asarray(rows["t1"], dtype=np.int64)
    stepped = ((np.asarray(rows["tw"], dtype=np.int64) & STEP_FLAG) != 0) & (n > 1)
    if stepped.any():  # the first delta was stored relative to the chunk's mean step
        dod[starts[stepped] + 1] += _step(t0[stepped], t1[stepped], n[stepped])
    # dod -> deltas (each chunk's first delta 0) -> timestamps from each chunk's t0
    d = _restarted(dod, starts, np.zeros(len(n), dtype=np.int64))
    firsts = np.empty(len(n), dtype=np.int64)
    firsts[0] = t0[0]
    firsts[1:] = t0[1:] - t1[:-1]  # the previous chunk ends at its t1
    d[starts] = firsts
    ts = np.cumsum(d, out=d)
    vmode = np.asarray(rows["vmode"], dtype=np.int64)
    if bool((vmode == 1).all()):
        ints = _restarted(raw, starts, np.asarray(rows["v0"], dtype=np.int64))
        scale = 10.0 ** np.asarray(rows["vscale"], dtype=np.float64)
        if bool((scale == 1.0).all()):
            values = ints.astype(np.float64)
        else:
            values = ints.astype(np.float64) / np.repeat(scale, n)
    else:
        values = np.empty(len(raw), dtype=np.float64)
        scaled = np.repeat(vmode == 1, n)
        x = raw.view(np.uint64)
        acc = np.bitwise_xor.accumulate(np.where(scaled, np.uint64(0), x))
        # segment value = acc[i] ^ acc[start - 1]: XOR undoes the earlier segments' prefix
        before = np.zeros(len(n), dtype=np.uint64)
        before[1:] = acc[starts[1:] - 1]
        bits = acc ^ np.repeat(before, n)
        values[~scaled] = bits[~scaled].view(np.float64)
        if scaled.any():
            ints = _restarted(raw, starts, np.asarray(rows["v0"], dtype=np.int64))
            scale_e = np.repeat(10.0 ** np.asarray(rows["vscale"], dtype=np.float64), n)
            values[scaled] = ints[scaled].astype(np.float64) / scale_e[scaled]
    return ts, values


# --- the chunks table ----------------------------------------------------------------------

#: columns of the chunks table, in its order
COLUMNS = ("sid", "t0", "t1", "n", "tw", "vmode", "vw", "vscale", "v0", "b")
#: what a read selects (``decode``'s input)
READ_COLUMNS = "sid, t0, t1, n, tw, vmode, vw, vscale, v0, b"


def encode_runs(sids: I64, ts: I64, values: F64) -> dict[str, Any]:
    """Chunk rows (numpy columns for ``INSERT INTO chunks``) of samples sorted by (sid, ts),
    one chunk per series and window."""
    cut = np.flatnonzero((np.diff(sids) != 0) | (np.diff(ts // WINDOW_MS) != 0)) + 1
    bounds = np.concatenate(([0], cut, [len(sids)])).tolist()
    encoded = [encode(ts[a:b], values[a:b]) for a, b in itertools.pairwise(bounds)]
    cols: dict[str, Any] = {"sid": sids[bounds[:-1]].astype(np.int32)}
    for k, name in enumerate(COLUMNS[1:]):
        if name == "b":
            cols[name] = np.array([e[k] for e in encoded], dtype=object)
        else:
            cols[name] = np.array([e[k] for e in encoded], dtype=np.int64)
    return cols


def sorted_rows(rows: dict[str, Any]) -> dict[str, Any]:
    """``rows`` (fetchnumpy columns) in (sid, t0) order."""
    sid = np.asarray(rows["sid"], dtype=np.int64)
    t0 = np.asarray(rows["t0"], dtype=np.int64)
    if len(sid) < 2:
        return rows
    ds, dt = np.diff(sid), np.diff(t0)
    if bool(((ds > 0) | ((ds == 0) & (dt > 0))).all()):
        return rows
    order = np.lexsort((t0, sid))
    return {k: np.asarray(v)[order] for k, v in rows.items()}
