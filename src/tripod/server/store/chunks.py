"""Compacted samples: one row per series and time window, timestamps and values encoded.

The ``samples`` table is the head (one row per sample, what appends write). Closed time windows
(:data:`WINDOW_MS`, epoch-aligned, once the newest sample is :data:`GRACE_MS` past a window's
end) move into the ``chunks`` table, one row per (series, window) in one transaction (insert the
chunks, delete the rows): ``sid``, first/last timestamp ``t0``/``t1``, sample count ``n`` and two
zlib-compressed BLOBs.

* ``tb``: timestamps as delta-of-delta (``[0, d0, d1 - d0, ...]``) in the narrowest integer type
  that holds them (``tw`` bytes).
* ``vb``: values. ``vmode`` 1: every value is an integer divided by ``10**vscale`` (checked
  bit-for-bit on encode), stored as the deltas of those integers after ``v0`` (``vw`` bytes
  each): counters and fixed-decimal gauges. ``vmode`` 0: the float64 bits XOR the previous
  value's bits (``vw`` 8): anything else, NaN and staleness markers included, bit-exact.

Decoding is vectorised over all chunks of a read (segmented cumulative sums / XORs); only the
zlib calls are per chunk. A series' chunks never overlap one another nor its head rows, since
appends refuse samples older than a series' newest one: a late sample into a compacted window
stays in the head until the next compaction gives it a chunk of its own.
"""

from __future__ import annotations

import itertools
import zlib
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = [
    "GRACE_MS",
    "WINDOW_MS",
    "Encoded",
    "decode",
    "encode",
    "window_start",
]

#: chunk windows: 2 h like Prometheus's blocks (120+ samples per chunk for scrape intervals ≤ 1 m)
WINDOW_MS = 2 * 3600 * 1000
#: a window is compacted once the store's newest sample is this far past its end
GRACE_MS = 15 * 60 * 1000
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


def encode(ts: I64, values: F64) -> Encoded:
    """One chunk of a series' samples (``ts`` ascending, at least one)."""
    n = len(ts)
    d = np.diff(ts, prepend=ts[0])  # [0, d0, d1, ...]
    dod = np.diff(d, prepend=0)  # [0, d0, d1 - d0, ...]
    tw, traw = _narrow(dod)
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


def _seg_cumsum(x: I64, starts: I64) -> I64:
    """Cumulative sums restarting at each of ``starts`` (ascending, the first 0); in place."""
    if len(starts) > 1:
        sums = np.add.reduceat(x, starts)
        x[starts[1:]] -= sums[:-1]
    return np.cumsum(x, out=x)


def _seg_arange(offsets: I64, lengths: I64) -> I64:
    """``concatenate([arange(o, o + k) for o, k in zip(offsets, lengths)])``, vectorised."""
    total = int(lengths.sum())
    steps = np.ones(total, dtype=np.int64)
    if total:
        firsts = np.cumsum(lengths) - lengths
        keep = lengths > 0
        f, o = firsts[keep], offsets[keep]
        prev_end = np.empty_like(o)
        prev_end[0] = 0
        prev_end[1:] = o[:-1] + lengths[keep][:-1] - 1
        steps[f] = o - prev_end
    return np.cumsum(steps)


def _gather(buf: npt.NDArray[np.uint8], offsets: I64, n: I64, width: I64) -> I64:
    """The integers at ``buf[offsets[i]:]``, ``n[i]`` of ``width[i]`` bytes each, concatenated
    in chunk order as int64."""
    out = np.empty(int(n.sum()), dtype=np.int64)
    pos0 = np.cumsum(n) - n
    for w in np.unique(width).tolist():
        sel = width == w
        idx = _seg_arange(offsets[sel], n[sel] * w)
        out[_seg_arange(pos0[sel], n[sel])] = buf[idx].view(_DTYPES[w])
    return out


def decode(rows: dict[str, Any]) -> tuple[I64, I64, F64]:
    """``(sid, ts, values)`` of chunk rows (numpy columns as DuckDB's ``fetchnumpy`` gives
    them, in the order to concatenate: sorted by (sid, t0) for (series, time) order)."""
    n = np.asarray(rows["n"], dtype=np.int64)
    total = int(n.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    dz = zlib.decompress
    joined = b"".join([dz(b) for b in rows["b"]])
    buf = np.frombuffer(joined, dtype=np.uint8)
    tw = np.asarray(rows["tw"], dtype=np.int64)
    vw = np.asarray(rows["vw"], dtype=np.int64)
    size = n * (tw + vw)
    offsets = np.cumsum(size) - size
    starts = np.cumsum(n) - n
    ts = _seg_cumsum(_seg_cumsum(_gather(buf, offsets, n, tw), starts), starts)
    ts += np.repeat(np.asarray(rows["t0"], dtype=np.int64), n)
    raw = _gather(buf, offsets + n * tw, n, vw)
    vmode = np.asarray(rows["vmode"], dtype=np.int64)
    scaled = np.repeat(vmode == 1, n)
    if scaled.all():
        ints = _seg_cumsum(raw, starts) + np.repeat(np.asarray(rows["v0"], np.int64), n)
        scale = np.repeat(10.0 ** np.asarray(rows["vscale"], dtype=np.float64), n)
        values = ints.astype(np.float64) / scale
    else:
        values = np.empty(total, dtype=np.float64)
        x = raw.view(np.uint64)
        acc = np.bitwise_xor.accumulate(np.where(scaled, np.uint64(0), x))
        # segment value = acc[i] ^ acc[start - 1]: XOR undoes the earlier segments' prefix
        before = np.zeros(len(n), dtype=np.uint64)
        before[1:] = acc[starts[1:] - 1]
        bits = acc ^ np.repeat(before, n)
        values[~scaled] = bits[~scaled].view(np.float64)
        if scaled.any():
            ints = _seg_cumsum(raw, starts) + np.repeat(np.asarray(rows["v0"], np.int64), n)
            scale = np.repeat(10.0 ** np.asarray(rows["vscale"], dtype=np.float64), n)
            values[scaled] = ints[scaled].astype(np.float64) / scale[scaled]
    sid = np.repeat(np.asarray(rows["sid"], dtype=np.int64), n)
    return sid, ts, values


# --- the chunks table ----------------------------------------------------------------------

#: columns of the chunks table, in its order
COLUMNS = ("sid", "t0", "t1", "n", "tw", "vmode", "vw", "vscale", "v0", "b")
#: what a read selects (``decode``'s input)
READ_COLUMNS = "sid, t0, n, tw, vmode, vw, vscale, v0, b"


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
