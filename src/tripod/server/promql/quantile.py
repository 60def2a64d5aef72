"""Shared quantile math, as Prometheus's ``promql/quantile.go``: used by the ``quantile``
aggregation and ``quantile_over_time``, so the same arithmetic holds in both."""

from __future__ import annotations

import math

import numpy as np

from tripod.server.promql.values import F64, Mask

__all__ = ["quantile", "quantile_last_axis"]


def quantile(q: float, values: list[float]) -> float:
    """Prometheus's ``quantile``: NaN sorts first; linear interpolation between ranks."""
    if not values or math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(values, key=lambda v: (not math.isnan(v), 0.0 if math.isnan(v) else v))
    n = float(len(ordered))
    rank = q * (n - 1)
    lower = max(0.0, math.floor(rank))
    upper = min(n - 1, lower + 1)
    weight = rank - math.floor(rank)
    return ordered[int(lower)] * (1 - weight) + ordered[int(upper)] * weight


def quantile_last_axis(values: F64, valid: Mask, qs: F64) -> F64:
    """:func:`quantile` of every row of ``values[..., L]`` (entries where ``valid``), with
    ``qs`` broadcast against the leading axes; vectorised, same arithmetic and NaN order."""
    n = valid.sum(axis=-1)
    nan = np.isnan(values) & valid
    key = np.where(valid, np.where(nan, -np.inf, values), np.inf)
    ordered = np.sort(key, axis=-1)
    # NaN sorts first in Prometheus (its Less says NaN < anything): put them back in front.
    positions = np.arange(values.shape[-1])
    ordered = np.where(positions < nan.sum(axis=-1)[..., None], np.nan, ordered)
    q = np.broadcast_to(qs, n.shape)
    with np.errstate(all="ignore"):
        rank = q * (n - 1)
        floor = np.floor(rank)
        top = np.maximum(n - 1, 0)
        lower = np.clip(np.nan_to_num(floor, nan=0.0, posinf=0.0, neginf=0.0), 0, top)
        upper = np.minimum(top, lower + 1)
        weight = rank - floor
        lo_v = np.take_along_axis(ordered, lower.astype(np.intp)[..., None], axis=-1)[..., 0]
        hi_v = np.take_along_axis(ordered, upper.astype(np.intp)[..., None], axis=-1)[..., 0]
        out = lo_v * (1 - weight) + hi_v * weight
    out = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, out))
    return np.where(np.isnan(q) | (n == 0), np.nan, out)
