"""``histogram_quantile`` over classic (``le``-labelled) buckets, as Prometheus's
``bucketQuantile``: sort by upper bound, merge equal bounds, force monotonic counts, require a
``+Inf`` bucket, interpolate linearly inside the bucket holding the rank."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tripod.server.promql.values import F64, METRIC_NAME, Labels, Mask, Vector

__all__ = ["bucket_quantile", "histogram_quantile"]


def _parse_le(text: str) -> float | None:
    """Go's strconv.ParseFloat for the bound (Python accepts "1_0"; Go does not)."""
    if "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    buckets = sorted(buckets, key=lambda b: b[0])
    if not math.isinf(buckets[-1][0]) or buckets[-1][0] < 0:
        return math.nan
    merged: list[list[float]] = []
    for bound, count in buckets:
        if merged and merged[-1][0] == bound:
            merged[-1][1] += count
        else:
            merged.append([bound, count])
    high = -math.inf
    for bucket in merged:
        if bucket[1] > high:
            high = bucket[1]
        elif bucket[1] < high:
            bucket[1] = high
    if len(merged) < 2:
        return math.nan
    observations = merged[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    # Go's sort.Search (a binary search, so a NaN count steers it as in Prometheus) over all
    # but the +Inf bucket: the first index with count >= rank.
    lo, hi = 0, len(merged) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if not merged[mid][1] >= rank:
            lo = mid + 1
        else:
            hi = mid
    b = lo
    if b == len(merged) - 1:
        return merged[-2][0]
    if b == 0 and merged[0][0] <= 0:
        return merged[0][0]
    start = 0.0
    end = merged[b][0]
    count = merged[b][1]
    if b > 0:
        start = merged[b - 1][0]
        count -= merged[b - 1][1]
        rank -= merged[b - 1][1]
    return start + (end - start) * _div(rank, count)


def _div(a: float, b: float) -> float:
    """Go float division: x/0 is ±Inf, 0/0 and NaN/0 are NaN."""
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def histogram_quantile(qs: F64, vec: Vector, check: Callable[[], None]) -> Vector:
    """Per step, the ``qs`` quantile of each group of ``le`` buckets (``check`` raises when
    the query's deadline has passed)."""
    groups: dict[Labels, list[tuple[float, int]]] = {}
    out_labels: dict[Labels, Labels] = {}
    for i, lab in enumerate(vec.labels):
        le_text = dict(lab).get("le")
        bound = _parse_le(le_text) if le_text is not None else None
        if bound is None:
            continue
        key = tuple(p for p in lab if p[0] != "le")
        groups.setdefault(key, []).append((bound, i))
        out_labels.setdefault(key, tuple(p for p in key if p[0] != METRIC_NAME))
    steps = vec.values.shape[1]
    labels: list[Labels] = []
    values = np.zeros((len(groups), steps))
    present = np.zeros((len(groups), steps), dtype=bool)
    for g, (key, members) in enumerate(groups.items()):
        check()
        labels.append(out_labels[key])
        rows = [i for _, i in members]
        bounds = [b for b, _ in members]
        sub_p = vec.present[rows]
        sub_v = vec.values[rows]
        todo = sub_p.any(axis=0)
        fast = _fast_steps(qs, bounds, sub_p, sub_v) & todo
        if fast.any():
            values[g, fast] = _quantiles(qs[fast], bounds, sub_v[:, fast])
            present[g, fast] = True
            todo &= ~fast
        for t in np.flatnonzero(todo):
            col = sub_p[:, t]
            buckets = [(bounds[j], float(sub_v[j, t])) for j in np.flatnonzero(col)]
            values[g, t] = bucket_quantile(float(qs[t]), buckets)
            present[g, t] = True
    return Vector(labels, values, present).merge_same_labels()


def _fast_steps(qs: F64, bounds: list[float], sub_p: Mask, sub_v: F64) -> Mask:
    """Steps that :func:`_quantiles` answers exactly as :func:`bucket_quantile` would: every
    bucket present, distinct bounds ending in +Inf, no NaN count, ``0 <= q <= 1``."""
    ok_bounds = (
        len(bounds) >= 2
        and not any(math.isnan(x) for x in bounds)
        and len(set(bounds)) == len(bounds)
        and max(bounds) == math.inf
    )
    if not ok_bounds:
        return np.zeros(sub_p.shape[1], dtype=bool)
    with np.errstate(invalid="ignore"):
        return sub_p.all(axis=0) & ~np.isnan(sub_v).any(axis=0) & (qs >= 0) & (qs <= 1)


def _quantiles(qs: F64, bounds: list[float], sub_v: F64) -> F64:
    """:func:`bucket_quantile` for many steps at once (``sub_v``: buckets x steps): the same
    operations in the same order, so the same floats."""
    order = sorted(range(len(bounds)), key=bounds.__getitem__)
    upper = np.array([bounds[k] for k in order])
    counts = np.maximum.accumulate(sub_v[order], axis=0)  # monotonic, as the loop makes them
    n_b, n_t = counts.shape
    observations = counts[-1]
    with np.errstate(all="ignore"):
        rank = qs * observations
    hit = counts[:-1] >= rank[None, :]
    b = np.where(hit.any(axis=0), hit.argmax(axis=0), n_b - 1)
    cols = np.arange(n_t)
    below = np.where(b > 0, counts[np.maximum(b - 1, 0), cols], 0.0)
    start = np.where(b > 0, upper[np.maximum(b - 1, 0)], 0.0)
    end = upper[b]
    with np.errstate(all="ignore"):
        count = np.where(b > 0, counts[b, cols] - below, counts[b, cols])
        rank_in = np.where(b > 0, rank - below, rank)
        out = start + (end - start) * (rank_in / count)
    out = np.where((b == 0) & (upper[0] <= 0), upper[0], out)
    out = np.where(b == n_b - 1, upper[n_b - 2], out)
    return np.where(observations == 0, np.nan, out)
