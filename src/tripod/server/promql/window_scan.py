"""Range functions whose Prometheus definition is a sequential loop over a window's samples
(Kahan sums, Welford's variance, Holt-Winters smoothing), computed for every window at once.

Instead of a Python loop per window, the loop runs over *positions inside the window*: step j
reads the j-th sample of every (series, step) window as one array, so the arithmetic is the
same, in the same order, as Prometheus's per-window loop, yet costs a few numpy operations per
position.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from tripod.server.promql.errors import ExecutionError
from tripod.server.promql.evalhelper import RangeArgs
from tripod.server.promql.values import F64, I64, Mask

__all__ = ["average", "deriv", "holt_winters", "predict_linear", "variance"]

#: A step of the position loop costs about as much as this many samples of a plain Python loop
#: over one window (≈ 30 µs against ≈ 0.3 µs): with fewer samples in all windows together than
#: this times the longest window, the windows are looped one by one instead (an instant query
#: over a few series). Both loops do the same IEEE operations in the same order.
SCALAR_LOOP_FACTOR = 64
#: The scalar loop checks the query's deadline after this many samples.
_CHECK_EVERY = 4096


def _few_windows(a: RangeArgs) -> bool:
    """Whether looping window by window in Python is cheaper than the position loop."""
    if a.n.size == 0:
        return False
    return int(a.n.sum()) <= SCALAR_LOOP_FACTOR * int(a.n.max())


def _positions(a: RangeArgs, start: int = 0) -> Iterator[tuple[int, F64, I64, Mask]]:
    """For j = start.., the j-th sample (value, timestamp) of every window and where it exists."""
    longest = int(a.n.max()) if a.n.size else 0
    for j in range(start, longest):
        valid = a.n > j
        idx = np.where(valid, a.lo + j, 0)
        if j % 64 == 63:
            a.check()
        yield j, a.vs[idx], a.ts[idx], valid


def _kahan_inc(inc: F64, total: F64, c: F64, valid: Mask) -> tuple[F64, F64]:
    """Prometheus's kahanSumInc (Neumaier), applied where ``valid``."""
    t = total + inc
    big = np.abs(total) >= np.abs(inc)
    c_new = c + np.where(big, (total - t) + inc, (inc - t) + total)
    c_new = np.where(np.isinf(t), 0.0, c_new)
    return np.where(valid, t, total), np.where(valid, c_new, c)


def _regression(a: RangeArgs, intercept_ms: I64) -> tuple[F64, F64]:
    """linearRegression for every window: Kahan sums of x, y, xy, x² (x in seconds from
    ``intercept_ms``); a window of equal values has slope 0 (NaN if they are infinite)."""
    shape = a.lo.shape
    zeros = np.zeros(shape)
    sum_x, c_x, sum_y, c_y = zeros, zeros, zeros, zeros
    sum_xy, c_xy, sum_x2, c_x2 = zeros, zeros, zeros, zeros
    first = a.vs[np.where(a.n > 0, a.lo, 0)] if len(a.vs) else zeros
    const_y = np.ones(shape, dtype=bool)
    for j, y, t, valid in _positions(a):
        if j > 0:
            const_y &= ~valid | (y == first)
        x = (t - intercept_ms) / 1e3
        sum_x, c_x = _kahan_inc(x, sum_x, c_x, valid)
        sum_y, c_y = _kahan_inc(y, sum_y, c_y, valid)
        sum_xy, c_xy = _kahan_inc(x * y, sum_xy, c_xy, valid)
        sum_x2, c_x2 = _kahan_inc(x * x, sum_x2, c_x2, valid)
    n = a.n.astype(np.float64)
    sum_x, sum_y, sum_xy, sum_x2 = sum_x + c_x, sum_y + c_y, sum_xy + c_xy, sum_x2 + c_x2
    cov = sum_xy - sum_x * sum_y / n
    var = sum_x2 - sum_x * sum_x / n
    slope = cov / var
    intercept = sum_y / n - slope * sum_x / n
    inf_const = const_y & np.isinf(first)
    slope = np.where(const_y, np.where(inf_const, np.nan, 0.0), slope)
    intercept = np.where(const_y, np.where(inf_const, np.nan, first), intercept)
    return slope, intercept


def average(a: RangeArgs) -> tuple[F64, Mask]:
    """avg_over_time as Prometheus 2.42 computes it: the incremental mean ``v/n - mean/n``
    Kahan-added to the mean (not sum/count, which rounds differently: 4.5 against
    4.499999999999999), an infinite mean kept unless the opposite infinity or NaN comes."""
    return average_scalar(a) if _few_windows(a) else average_vectorised(a)


def average_scalar(a: RangeArgs) -> tuple[F64, Mask]:
    """:func:`average` one window at a time with Python floats: the same operations in the
    same order as :func:`average_vectorised`, so the same bits."""
    isinf, isnan = math.isinf, math.isnan
    vs = a.vs.tolist()
    out = []
    for lo, hi in zip(a.lo.ravel().tolist(), a.hi.ravel().tolist(), strict=True):
        mean = c = count = 0.0
        for start in range(lo, hi, _CHECK_EVERY):
            if start > lo:
                a.check()
            for v in vs[start : min(hi, start + _CHECK_EVERY)]:
                count += 1.0
                if isinf(mean) and (
                    (isinf(v) and (mean > 0) == (v > 0)) or not (isinf(v) or isnan(v))
                ):
                    continue
                inc = v / count - mean / count
                t = mean + inc
                if isinf(t):
                    c = 0.0
                elif abs(mean) >= abs(inc):
                    c += (mean - t) + inc
                else:
                    c += (inc - t) + mean
                mean = t
        out.append(mean if isinf(mean) else mean + c)
    return np.array(out, dtype=np.float64).reshape(a.lo.shape), a.n > 0


def average_vectorised(a: RangeArgs) -> tuple[F64, Mask]:
    """:func:`average` for every window at once, one sample position at a time."""
    shape = a.lo.shape
    mean, c, count = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for _, v, _, valid in _positions(a):
        count = count + valid
        keep_inf = np.isinf(mean) & (
            (np.isinf(v) & ((mean > 0) == (v > 0))) | (~np.isinf(v) & ~np.isnan(v))
        )
        n = np.where(valid, count, 1.0)
        with np.errstate(all="ignore"):
            mean, c = _kahan_inc(v / n - mean / n, mean, c, valid & ~keep_inf)
    with np.errstate(all="ignore"):
        return np.where(np.isinf(mean), mean, mean + c), a.n > 0


def deriv(a: RangeArgs) -> tuple[F64, Mask]:
    ok = a.n >= 2
    if not ok.any():
        return np.zeros(a.lo.shape), ok
    intercept = a.ts[np.where(ok, a.lo, 0)]  # the window's first sample
    slope, _ = _regression(a, intercept)
    return slope, ok


def predict_linear(a: RangeArgs) -> tuple[F64, Mask]:
    ok = a.n >= 2
    if not ok.any():
        return np.zeros(a.lo.shape), ok
    # Prometheus regresses around the evaluation time itself (not the offset window end).
    slope, intercept = _regression(a, np.broadcast_to(a.steps[None, :], a.lo.shape))
    return slope * a.scalars[0][None, :] + intercept, ok


def holt_winters(a: RangeArgs) -> tuple[F64, Mask]:
    sf_all, tf_all = a.scalars
    ok = a.n >= 2
    live = a.n > 0  # Prometheus checks the factors whenever a series has a window
    for values, name in ((sf_all, "smoothing"), (tf_all, "trend")):
        bad = live.any(axis=0) & ~((values > 0) & (values < 1))
        if bad.any():
            factor = float(values[np.flatnonzero(bad)[0]])
            short = "sf" if name == "smoothing" else "tf"
            msg = f"invalid {name} factor. Expected: 0 < {short} < 1, got: {factor:f}"
            raise ExecutionError(msg)
    if not ok.any():
        return np.zeros(a.lo.shape), ok
    sf, tf = sf_all[None, :], tf_all[None, :]
    y0 = a.vs[np.where(ok, a.lo, 0)]
    y1 = a.vs[np.where(ok, a.lo + 1, 0)]
    s0, s1, b = np.zeros(a.lo.shape), y0, y1 - y0
    for j, y, _, valid in _positions(a, start=1):
        x = sf * y
        if j > 1:
            b = np.where(valid, tf * (s1 - s0) + (1 - tf) * b, b)
        smoothed = (1 - sf) * (s1 + b)
        s0, s1 = np.where(valid, s1, s0), np.where(valid, x + smoothed, s1)
    return s1, ok


def variance(a: RangeArgs, *, sqrt: bool) -> tuple[F64, Mask]:
    """stdvar/stddev_over_time: Welford's update with Kahan-compensated mean and sum."""
    shape = a.lo.shape
    count = np.zeros(shape)
    mean, c_mean = np.zeros(shape), np.zeros(shape)
    aux, c_aux = np.zeros(shape), np.zeros(shape)
    for _, v, _, valid in _positions(a):
        count = count + valid
        delta = v - (mean + c_mean)
        mean, c_mean = _kahan_inc(delta / np.where(valid, count, 1.0), mean, c_mean, valid)
        aux, c_aux = _kahan_inc(delta * (v - (mean + c_mean)), aux, c_aux, valid)
    out = (aux + c_aux) / np.where(count > 0, count, 1.0)
    return (np.sqrt(out) if sqrt else out), a.n > 0
