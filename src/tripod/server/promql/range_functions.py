"""Functions over range vectors (``rate``, ``*_over_time``, ``deriv``, ``holt_winters``...).

Each entry of :data:`RANGE_FUNCTIONS` takes a :class:`RangeArgs`: all series' samples and the
``(series, steps)`` window bounds ``[lo, hi)`` (sample indices of the closed window
``[t - range, t]``), and returns ``(values, present)`` of the same shape; ``functions.py`` wraps
each as an entry of its ``FUNCTIONS`` table. Windows are vectorised with prefix sums where that
is exact enough, else looped per window.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from tripod.server.promql.evalhelper import RangeArgs
from tripod.server.promql.quantile import quantile, quantile_last_axis
from tripod.server.promql.values import F64, Mask
from tripod.server.promql.window_scan import average, deriv, holt_winters, predict_linear, variance

__all__ = ["RANGE_FUNCTIONS"]


def _prefix(values: F64) -> npt.NDArray[np.longdouble]:
    """Cumulative sums with a leading zero, in extended precision."""
    out = np.zeros(len(values) + 1, dtype=np.longdouble)
    np.cumsum(values.astype(np.longdouble), out=out[1:])
    return out


def _window_sum(a: RangeArgs, values: F64) -> F64:
    if np.isfinite(values).all():
        p = _prefix(values)
        return np.asarray(p[a.hi] - p[a.lo], dtype=np.float64)
    out = np.zeros(a.lo.shape)
    for s, t in np.argwhere(a.n > 0).tolist():
        window = values[a.lo[s, t] : a.hi[s, t]]
        out[s, t] = math.fsum(window) if np.isfinite(window).all() else float(np.sum(window))
    return out


def _extrapolated(a: RangeArgs, *, counter: bool, rate: bool) -> tuple[F64, Mask]:
    """Prometheus's extrapolatedRate (functions.go): counter resets, extrapolation to the
    window edges unless the gap exceeds 1.1x the average interval, and the zero-point clamp."""
    if a.n.size <= SCALAR_WINDOWS:
        few = extrapolated_scalar(a, counter=counter, rate=rate)
        if few is not None:
            return few
    return extrapolated_vectorised(a, counter=counter, rate=rate)


#: Up to this many windows (an instant query over a few series), :func:`_extrapolated` computes
#: window by window with Python floats: numpy's per-call cost is most of the time there.
SCALAR_WINDOWS = 16


def extrapolated_scalar(a: RangeArgs, *, counter: bool, rate: bool) -> tuple[F64, Mask] | None:
    """:func:`extrapolated_vectorised` window by window, the same IEEE operations in the same
    order; None (take the vectorised path) unless every window holds two samples or more, the
    range is not empty, the times are far from int64's limits and no counter reset lies inside
    a window (the vectorised path adds resets up in extended precision)."""
    n = a.n.ravel().tolist()
    if not n or min(n) < 2 or a.range_ms <= 0:
        return None
    ends = a.eval_ms.ravel().tolist()
    if max(abs(e) for e in ends) + a.range_ms >= 2**62:  # numpy's int64 would wrap
        return None
    firsts, lasts = a.lo.ravel(), a.hi.ravel() - 1
    if counter:
        drops = a.vs[1:] < a.vs[:-1]  # drops[j]: a drop from sample j to j + 1
        if drops.any():
            for first, last in zip(firsts.tolist(), lasts.tolist(), strict=True):
                if drops[first:last].any():
                    return None  # a reset
    v_firsts, v_lasts = a.vs[firsts].tolist(), a.vs[lasts].tolist()
    ts_firsts, ts_lasts = a.ts[firsts].tolist(), a.ts[lasts].tolist()
    steps = a.lo.shape[1]
    range_s = a.range_ms / 1000.0
    out = []
    for k, count in enumerate(n):
        v_first, ts_first, ts_last = v_firsts[k], ts_firsts[k], ts_lasts[k]
        if ts_last == ts_first:
            return None
        end = ends[k % steps]
        result = v_lasts[k] - v_first
        to_start = (ts_first - (end - a.range_ms)) / 1000.0
        to_end = (end - ts_last) / 1000.0
        sampled = (ts_last - ts_first) / 1000.0
        avg_gap = sampled / (count - 1)
        if counter and result > 0 and v_first >= 0:
            to_zero = sampled * (v_first / result)
            to_start = min(to_start, to_zero)  # to_zero only if smaller, as np.where
        threshold = avg_gap * 1.1
        interval = sampled
        interval += to_start if to_start < threshold else avg_gap / 2
        interval += to_end if to_end < threshold else avg_gap / 2
        factor = interval / sampled
        if rate:
            factor = factor / range_s
        out.append(result * factor)
    return np.array(out, dtype=np.float64).reshape(a.lo.shape), np.ones(a.lo.shape, dtype=bool)


def extrapolated_vectorised(a: RangeArgs, *, counter: bool, rate: bool) -> tuple[F64, Mask]:
    """:func:`_extrapolated` for all windows at once."""
    ok = a.n >= 2
    if not ok.any():  # also when every selected sample was a staleness marker (none left)
        return np.zeros(ok.shape), ok
    last = np.where(ok, a.hi - 1, 0)
    first = np.where(ok, a.lo, 0)
    v, ts = a.vs, a.ts
    v_first, ts_first, ts_last = v[first], ts[first], ts[last]
    result = v[last] - v_first
    if counter and len(v) > 1:
        # Resets are rare: prefix sums over the reset positions only. A window adds the drops
        # at positions (first, last]; the sum is the one dense prefix sums give (zeros add
        # exactly), and a window without a reset keeps v[last] - v[first] as is, as Prometheus.
        at = np.flatnonzero(v[1:] < v[:-1]) + 1
        drops = v[at - 1]
        if not len(at):
            pass
        elif np.isfinite(drops).all():
            p = _prefix(drops)
            below_last = np.searchsorted(at, last, "right")
            below_first = np.searchsorted(at, first, "right")
            any_reset = below_last > below_first
            added = np.asarray(p[below_last] - p[below_first], dtype=np.float64)
            result = np.where(any_reset, result + added, result)
        else:
            result = result.copy()
            for s, t in np.argwhere(ok).tolist():
                acc = float(result[s, t])
                for j in range(int(first[s, t]) + 1, int(last[s, t]) + 1):
                    if v[j] < v[j - 1]:
                        acc += float(v[j - 1])
                result[s, t] = acc
    range_start = a.eval_ms - a.range_ms
    to_start = (ts_first - range_start) / 1000.0
    to_end = (a.eval_ms - ts_last) / 1000.0
    sampled = (ts_last - ts_first) / 1000.0
    with np.errstate(all="ignore"):
        avg_gap = sampled / np.maximum(a.n - 1, 1)
        if counter:
            clamp = (result > 0) & (v_first >= 0)
            to_zero = sampled * (v_first / result)
            to_start = np.where(clamp & (to_zero < to_start), to_zero, to_start)
        threshold = avg_gap * 1.1
        interval = sampled.copy()
        interval += np.where(to_start < threshold, to_start, avg_gap / 2)
        interval += np.where(to_end < threshold, to_end, avg_gap / 2)
        # As 2.42 (which scales native histograms the same way): one factor, applied once.
        factor = interval / sampled
        if rate:
            factor = factor / (a.range_ms / 1000.0)
        result = result * factor
    return result, ok


def _instant(a: RangeArgs, *, rate: bool) -> tuple[F64, Mask]:
    ok = a.n >= 2
    if len(a.vs) < 2:
        return np.zeros(ok.shape), np.zeros(ok.shape, dtype=bool)
    last = np.where(ok, a.hi - 1, 1)
    prev = last - 1
    lv, pv = a.vs[last], a.vs[prev]
    result = np.where(lv < pv, lv, lv - pv) if rate else lv - pv
    gap = a.ts[last] - a.ts[prev]
    ok &= gap != 0
    if rate:
        with np.errstate(all="ignore"):
            result = result / (gap / 1000.0)
    return result, ok


def _count(a: RangeArgs) -> tuple[F64, Mask]:
    return a.n.astype(np.float64), a.n > 0


def _sum(a: RangeArgs) -> tuple[F64, Mask]:
    return _window_sum(a, a.vs), a.n > 0


def _sparse_reduce(a: RangeArgs, fn: Callable[[F64, F64], F64]) -> tuple[F64, Mask]:
    """Range min/max over arbitrary windows with a sparse table (NaN-ignoring fmin/fmax, which
    matches Prometheus: NaN only when every sample is NaN)."""
    ok = a.n > 0
    out = np.zeros(a.lo.shape)
    if not ok.any():
        return out, ok
    levels = [a.vs]
    width = 1
    while width * 2 <= int(a.n.max()):
        prev = levels[-1]
        levels.append(fn(prev[:-width], prev[width:]))
        width *= 2
    n = np.maximum(a.n, 1)
    k = np.floor(np.log2(n)).astype(np.intp)
    for level in np.unique(k[ok]):
        sel = ok & (k == level)
        table = levels[level]
        lo = a.lo[sel]
        hi = a.hi[sel] - (1 << int(level))
        out[sel] = fn(table[lo], table[hi])
    return out, ok


def _min(a: RangeArgs) -> tuple[F64, Mask]:
    return _sparse_reduce(a, np.fmin)


def _max(a: RangeArgs) -> tuple[F64, Mask]:
    return _sparse_reduce(a, np.fmax)


_GATHER_BUDGET = 4_000_000  # padded window elements materialised at once


def _gather(a: RangeArgs) -> list[tuple[int, F64, Mask]] | None:
    """Windows as padded blocks ``(first_row, X[s, T, L], valid[s, T, L])`` (L = longest
    window), chunked by series to bound memory; None when one series alone is too big."""
    longest = int(a.n.max()) if a.n.size else 0
    if longest == 0 or len(a.vs) == 0:
        return []
    per_row = a.lo.shape[1] * longest
    if per_row > _GATHER_BUDGET:
        return None
    rows = max(1, _GATHER_BUDGET // per_row)
    offsets = np.arange(longest)
    blocks = []
    for r0 in range(0, a.lo.shape[0], rows):
        lo, n = a.lo[r0 : r0 + rows], a.n[r0 : r0 + rows]
        valid = offsets < n[..., None]
        idx = np.where(valid, lo[..., None] + offsets, 0)
        blocks.append((r0, a.vs[idx], valid))
        a.check()
    return blocks


def _quantile_blocks(a: RangeArgs) -> tuple[F64, Mask] | None:
    blocks = _gather(a)
    if blocks is None:
        return None
    out = np.zeros(a.lo.shape)
    for r0, x, valid in blocks:
        out[r0 : r0 + len(x)] = quantile_last_axis(x, valid, a.scalars[0][None, :])
    return out, a.n > 0


def _quantile_over_time(a: RangeArgs) -> tuple[F64, Mask]:
    fast = _quantile_blocks(a)
    if fast is not None:
        return fast
    qs = a.scalars[0]
    return a.loop(lambda ts, vs, t: quantile(float(qs[t]), vs.tolist()))


def _last(a: RangeArgs) -> tuple[F64, Mask]:
    ok = a.n > 0
    idx = np.where(ok, a.hi - 1, 0)
    return (a.vs[idx] if len(a.vs) else np.zeros(ok.shape)), ok


def _present(a: RangeArgs) -> tuple[F64, Mask]:
    return np.ones(a.lo.shape), a.n > 0


def _transitions(a: RangeArgs, marks: F64) -> tuple[F64, Mask]:
    ok = a.n > 0
    if not ok.any():
        return np.zeros(ok.shape), ok
    p = _prefix(marks)
    first = np.where(ok, a.lo, 0)
    last = np.where(ok, a.hi - 1, 0)
    return np.asarray(p[last + 1] - p[first + 1], dtype=np.float64), ok


def _changes(a: RangeArgs) -> tuple[F64, Mask]:
    v = a.vs
    marks = np.zeros(len(v))
    if len(v) > 1:
        cur, prev = v[1:], v[:-1]
        marks[1:] = (cur != prev) & ~(np.isnan(cur) & np.isnan(prev))
    return _transitions(a, marks)


def _resets(a: RangeArgs) -> tuple[F64, Mask]:
    v = a.vs
    marks = np.zeros(len(v))
    if len(v) > 1:
        marks[1:] = v[1:] < v[:-1]
    return _transitions(a, marks)


RANGE_FUNCTIONS: dict[str, Callable[[RangeArgs], tuple[F64, Mask]]] = {
    "rate": lambda a: _extrapolated(a, counter=True, rate=True),
    "increase": lambda a: _extrapolated(a, counter=True, rate=False),
    "delta": lambda a: _extrapolated(a, counter=False, rate=False),
    "irate": lambda a: _instant(a, rate=True),
    "idelta": lambda a: _instant(a, rate=False),
    "deriv": deriv,
    "predict_linear": predict_linear,
    "holt_winters": holt_winters,
    "count_over_time": _count,
    "sum_over_time": _sum,
    "avg_over_time": average,
    "min_over_time": _min,
    "max_over_time": _max,
    "stddev_over_time": lambda a: variance(a, sqrt=True),
    "stdvar_over_time": lambda a: variance(a, sqrt=False),
    "quantile_over_time": _quantile_over_time,
    "last_over_time": _last,
    "present_over_time": _present,
    "changes": _changes,
    "resets": _resets,
}
