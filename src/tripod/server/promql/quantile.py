"""Shared quantile and sort math, as Prometheus's ``promql/quantile.go`` and Go's ``sort``:
used by the ``quantile`` aggregation, ``quantile_over_time``, ``topk``/``bottomk`` and
``sort``/``sort_desc``, so the same arithmetic and the same tie order hold everywhere."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tripod.server.promql.values import F64, Mask

__all__ = ["go_insertion_sort", "quantile", "quantile_last_axis"]


def go_insertion_sort(items: list[Any], less: Callable[[Any, Any], bool]) -> None:
    """Go's sort.Sort on short slices (insertion sort, hence stable); longer: a stable sort."""
    if len(items) > 12:
        items.sort(
            key=functools.cmp_to_key(lambda a, b: -1 if less(a, b) else (1 if less(b, a) else 0))
        )
        return
    for i in range(1, len(items)):
        j = i
        while j > 0 and less(items[j], items[j - 1]):
            items[j], items[j - 1] = items[j - 1], items[j]
            j -= 1


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
