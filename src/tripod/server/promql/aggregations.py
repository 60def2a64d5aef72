"""Aggregation operators (``sum avg count min max group stddev stdvar topk bottomk quantile
count_values``) with ``by``/``without``, computed per group across all steps at once.

Arithmetic follows Prometheus 2.42's order of operations (sequential sums, incremental mean,
Welford variance) so results agree to the last bits wherever possible.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np

from tripod.server.promql.errors import BadDataError, ExecutionError
from tripod.server.promql.evalhelper import EvalNodeHelper, Grouping
from tripod.server.promql.gosort import go_sort
from tripod.server.promql.quantile import quantile_last_axis
from tripod.server.promql.values import (
    F64,
    METRIC_NAME,
    Labels,
    Mask,
    Scalar,
    String,
    Value,
    Vector,
    format_value,
)

__all__ = ["aggregate"]

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _key_fn(grouping: Grouping) -> Callable[[Labels], Labels]:
    names = grouping.names
    if grouping.by:
        return lambda labels: tuple([p for p in labels if p[0] in names])
    dropped = names | {METRIC_NAME}
    return lambda labels: tuple([p for p in labels if p[0] not in dropped])


def aggregate(
    op: str, grouping: Grouping, param: Value | None, vec: Vector, enh: EvalNodeHelper
) -> Vector:
    """``op`` (``sum``, ``topk``...) over ``vec`` per group; ``param`` is the evaluated
    parameter of ``topk``/``bottomk``/``quantile``/``count_values`` (else None)."""
    if param is not None and not isinstance(param, Scalar | String):
        msg = f"the parameter of {op} must be a scalar or a string"
        raise BadDataError(msg)
    if op == "count_values":
        assert isinstance(param, String)
        return _count_values(vec, param.value, grouping, enh)
    key_of = _key_fn(grouping)
    groups: dict[Labels, list[int]] = {}
    for i, lab in enumerate(vec.labels):
        groups.setdefault(key_of(lab), []).append(i)
    if op in {"topk", "bottomk"}:
        assert isinstance(param, Scalar)
        return _topk(vec, groups, param.values, enh, bottom=op == "bottomk")
    if op == "quantile":
        assert isinstance(param, Scalar)
        return _quantile(vec, groups, param.values, enh)
    if op in _GROUPED and (op != "avg" or len(vec.labels) > _EXACT_AVG_ROWS):
        fast = _grouped(op, vec, groups)
        if fast is not None:
            return fast
    reduce = _REDUCERS[op]
    labels: list[Labels] = []
    values: list[F64] = []
    present: list[Mask] = []
    for key, rows in groups.items():
        enh.check()
        val, mask = reduce(vec.values[rows], vec.present[rows])
        labels.append(key)
        values.append(val)
        present.append(mask)
    if not labels:
        return Vector.empty(len(enh.steps))
    return Vector(labels, np.vstack(values), np.vstack(present))


_GROUPED = {"sum", "count", "group", "min", "max", "avg"}
# Up to this many input series, avg follows Prometheus's incremental mean step by step; above
# it, sum/count (equal to ~1e-15 relative unless the values cancel out).
_EXACT_AVG_ROWS = 2000


def _grouped(op: str, vec: Vector, groups: dict[Labels, list[int]]) -> Vector | None:
    """sum/count/group/min/max (and avg of many series) for all groups in a few ufunc.at calls;
    ufunc.at applies rows in order, so sums add up in the same order as Prometheus's loop."""
    n_groups, steps = len(groups), vec.values.shape[1]
    if n_groups == 0:
        return Vector.empty(steps)
    gid = np.empty(len(vec.labels), dtype=np.intp)
    for g, rows in enumerate(groups.values()):
        gid[rows] = g
    counts = np.zeros((n_groups, steps))
    np.add.at(counts, gid, vec.present.astype(np.float64))
    seen = counts > 0
    labels = list(groups)
    if op == "count":
        return Vector(labels, counts, seen)
    if op == "group":
        return Vector(labels, np.ones((n_groups, steps)), seen)
    if op in {"min", "max"}:
        acc = np.full((n_groups, steps), np.nan)
        masked = np.where(vec.present, vec.values, np.nan)
        (np.fmax if op == "max" else np.fmin).at(acc, gid, masked)
        return Vector(labels, acc, seen)
    masked = np.where(vec.present, vec.values, 0.0)
    if op == "avg" and not np.isfinite(masked).all():
        return None
    total = np.zeros((n_groups, steps))
    np.add.at(total, gid, masked)
    if op == "avg":
        if not np.isfinite(total).all():
            return None
        with np.errstate(all="ignore"):
            return Vector(labels, total / np.where(seen, counts, 1.0), seen)
    return Vector(labels, total, seen)


def _sum(values: F64, present: Mask) -> tuple[F64, Mask]:
    acc = np.zeros(values.shape[1])
    seen = np.zeros(values.shape[1], dtype=bool)
    for v, p in zip(values, present, strict=True):
        acc = np.where(p, np.where(seen, acc + v, v), acc)
        seen |= p
    return acc, seen


def _avg(values: F64, present: Mask) -> tuple[F64, Mask]:
    mean = np.zeros(values.shape[1])
    count = np.zeros(values.shape[1])
    seen = np.zeros(values.shape[1], dtype=bool)
    with np.errstate(all="ignore"):
        for v, p in zip(values, present, strict=True):
            first = p & ~seen
            later = p & seen
            count = count + p
            mean_inf = np.isinf(mean)
            skip = mean_inf & (
                (np.isinf(v) & ((mean > 0) == (v > 0))) | (~np.isinf(v) & ~np.isnan(v))
            )
            upd = mean + (v / count - mean / count)
            mean = np.where(first, v, np.where(later & ~skip, upd, mean))
            seen |= p
    return mean, seen


def _count(values: F64, present: Mask) -> tuple[F64, Mask]:
    return present.sum(axis=0).astype(np.float64), np.asarray(present.any(axis=0))


def _group(values: F64, present: Mask) -> tuple[F64, Mask]:
    return np.ones(values.shape[1]), np.asarray(present.any(axis=0))


def _extreme(bigger: bool) -> Callable[[F64, Mask], tuple[F64, Mask]]:
    def reduce(values: F64, present: Mask) -> tuple[F64, Mask]:
        acc = np.zeros(values.shape[1])
        seen = np.zeros(values.shape[1], dtype=bool)
        for v, p in zip(values, present, strict=True):
            better = (acc < v) if bigger else (acc > v)
            take = p & (~seen | better | np.isnan(acc))
            acc = np.where(take, v, acc)
            seen |= p
        return acc, seen

    return reduce


def _variance(sqrt: bool) -> Callable[[F64, Mask], tuple[F64, Mask]]:
    def reduce(values: F64, present: Mask) -> tuple[F64, Mask]:
        n = values.shape[1]
        mean, m2, count = np.zeros(n), np.zeros(n), np.zeros(n)
        seen = np.zeros(n, dtype=bool)
        with np.errstate(all="ignore"):
            for v, p in zip(values, present, strict=True):
                first = p & ~seen
                later = p & seen
                count = count + p
                delta = v - mean
                new_mean = mean + delta / count
                new_m2 = m2 + delta * (v - new_mean)
                mean = np.where(first, v, np.where(later, new_mean, mean))
                m2 = np.where(first, 0.0, np.where(later, new_m2, m2))
                seen |= p
            out = m2 / np.where(count == 0, 1, count)
        return (np.sqrt(out) if sqrt else out), seen

    return reduce


_REDUCERS: dict[str, Callable[[F64, Mask], tuple[F64, Mask]]] = {
    "sum": _sum,
    "avg": _avg,
    "count": _count,
    "group": _group,
    "min": _extreme(bigger=False),
    "max": _extreme(bigger=True),
    "stddev": _variance(sqrt=True),
    "stdvar": _variance(sqrt=False),
}


# --- topk / bottomk: Go's container/heap, so ties resolve as in Prometheus -------------------


def _heap_up(h: list[tuple[float, int]], j: int, less: Callable[[float, float], bool]) -> None:
    while j > 0:
        i = (j - 1) // 2
        if not less(h[j][0], h[i][0]):
            break
        h[i], h[j] = h[j], h[i]
        j = i


def _heap_down(
    h: list[tuple[float, int]], i0: int, n: int, less: Callable[[float, float], bool]
) -> bool:
    i = i0
    while True:
        j1 = 2 * i + 1
        if j1 >= n:
            break
        j = j1
        j2 = j1 + 1
        if j2 < n and less(h[j2][0], h[j1][0]):
            j = j2
        if not less(h[j][0], h[i][0]):
            break
        h[i], h[j] = h[j], h[i]
        i = j
    return i > i0


def _topk(
    vec: Vector, groups: dict[Labels, list[int]], ks: F64, enh: EvalNodeHelper, *, bottom: bool
) -> Vector:
    steps = vec.values.shape[1]
    if bottom:

        def less(a: float, b: float) -> bool:
            return math.isnan(a) or a > b
    else:

        def less(a: float, b: float) -> bool:
            return math.isnan(a) or a < b

    chosen = np.zeros(vec.present.shape, dtype=bool)
    order: list[int] = []
    for kf in ks.tolist():
        if not (-(2.0**63) <= kf < 2.0**63):
            msg = f"Scalar value {format_value(kf)} overflows int64"
            raise ExecutionError(msg)
    k_all = np.trunc(ks)
    settled = _topk_settled(vec, groups, k_all, chosen, bottom=bottom) if steps > 1 else None
    for t in range(steps):
        enh.check()
        k = int(k_all[t])
        if k < 1:
            continue
        for g, rows in enumerate(groups.values()):
            if settled is not None and settled[g, t]:
                continue
            heap: list[tuple[float, int]] = []
            for i in rows:
                if not vec.present[i, t]:
                    continue
                v = float(vec.values[i, t])
                if not heap:
                    heap.append((v, i))
                    continue
                top = heap[0][0]
                beats = top > v if bottom else top < v
                if len(heap) < k or beats or math.isnan(top):
                    if len(heap) == k:
                        n = len(heap) - 1
                        heap[0], heap[n] = heap[n], heap[0]
                        _heap_down(heap, 0, n, less)
                        heap.pop()
                    heap.append((v, i))
                    _heap_up(heap, len(heap) - 1, less)
            for _, i in heap:
                chosen[i, t] = True
            if steps == 1:
                # Prometheus emits each group's heap through sort.Sort(sort.Reverse(heap)).
                go_sort(heap, lambda x, y: less(y[0], x[0]))
                order.extend(i for _, i in heap)
    if steps == 1:
        return Vector(list(vec.labels), vec.values, chosen).select(order)
    return Vector(list(vec.labels), vec.values, chosen)


def _topk_settled(
    vec: Vector, groups: dict[Labels, list[int]], ks: F64, chosen: Mask, *, bottom: bool
) -> Mask:
    """Vectorised topk/bottomk for the (group, step) cells where the choice is unambiguous
    (no tie at the k-th place): marks them in ``chosen`` and returns which cells it settled;
    the rest go through the Go-heap emulation, which decides ties as Prometheus does."""
    steps = vec.values.shape[1]
    settled = np.zeros((len(groups), steps), dtype=bool)
    k = np.maximum(ks, 0).astype(np.int64)
    for g, rows in enumerate(groups.values()):
        values, present = vec.values[rows], vec.present[rows]
        nan = np.isnan(values)
        rank_class = np.where(present, np.where(nan, 1, 0), 2)  # real, then NaN, then absent
        secondary = np.where(rank_class == 0, values if bottom else -values, 0.0)
        order = np.lexsort((secondary, rank_class), axis=0)  # (rows, steps)
        count = present.sum(axis=0)
        take = np.minimum(k, count)
        sorted_class = np.take_along_axis(rank_class, order, axis=0)
        sorted_key = np.take_along_axis(secondary, order, axis=0)
        cols = np.arange(steps)
        last = np.clip(take - 1, 0, len(rows) - 1)
        after = np.clip(take, 0, len(rows) - 1)
        same_class = sorted_class[last, cols] == sorted_class[after, cols]
        same_key = sorted_key[last, cols] == sorted_key[after, cols]
        tie = (take < count) & same_class & ((sorted_class[last, cols] == 1) | same_key)
        ok = ~tie
        settled[g] = ok
        position = np.empty_like(order)
        np.put_along_axis(position, order, np.arange(len(rows))[:, None], axis=0)
        pick = (position < take[None, :]) & ok[None, :] & (k[None, :] >= 1)
        chosen[rows] |= pick
    return settled


def _quantile(vec: Vector, groups: dict[Labels, list[int]], qs: F64, enh: EvalNodeHelper) -> Vector:
    steps = vec.values.shape[1]
    labels = list(groups)
    values = np.zeros((len(labels), steps))
    present = np.zeros((len(labels), steps), dtype=bool)
    for g, rows in enumerate(groups.values()):
        enh.check()
        sub_v, sub_p = vec.values[rows].T, vec.present[rows].T  # (steps, series)
        values[g] = quantile_last_axis(sub_v, sub_p, qs)
        present[g] = sub_p.any(axis=1)
    return Vector(labels, values, present)


def _count_values(vec: Vector, label: str, grouping: Grouping, enh: EvalNodeHelper) -> Vector:
    """Per step, how many series hold each value; the value (Go-formatted) becomes a label.

    Vectorised: the distinct (series group, value bits) pairs are found with ``np.unique``
    and counted with ``np.add.at``; only distinct values are formatted.
    """
    if not _LABEL_NAME.match(label):
        msg = f'invalid label name "{label}"'
        raise ExecutionError(msg)
    by, names = grouping.by, grouping.names
    steps = vec.values.shape[1]
    rows, cols = np.nonzero(vec.present)
    if len(rows) == 0:
        return Vector.empty(steps)
    # The group a series falls in, apart from the value label.
    base_of: dict[Labels, int] = {}
    bases: list[Labels] = []
    gid = np.empty(len(vec.labels), dtype=np.int64)
    for i, lab in enumerate(vec.labels):
        if by:
            key = tuple([p for p in lab if p[0] in names and p[0] != label])
        else:
            key = tuple([p for p in lab if p[0] not in names and p[0] not in {METRIC_NAME, label}])
        if key not in base_of:
            base_of[key] = len(bases)
            bases.append(key)
        gid[i] = base_of[key]
    values = vec.values[rows, cols]
    bits = np.where(np.isnan(values), np.nan, values).view(np.uint64)  # one NaN, keep -0
    uniq_bits, value_id = np.unique(bits, return_inverse=True)
    texts = [format_value(float(v)) for v in uniq_bits.view(np.float64).tolist()]
    drop_value_label = not by and label in names  # `without (<the value label>)`
    pair = gid[rows] * len(uniq_bits) + (0 if drop_value_label else value_id.reshape(-1))
    uniq_pairs, out_row = np.unique(pair, return_inverse=True)
    out_row = out_row.reshape(-1)
    # Prometheus emits groups in the order their first sample comes in the input vector (what
    # a later topk/bottomk sees first among ties): rows by first (series, step) occurrence.
    first = np.full(len(uniq_pairs), len(rows), dtype=np.intp)
    np.minimum.at(first, out_row, np.arange(len(rows), dtype=np.intp))
    order = np.argsort(first, kind="stable")
    uniq_pairs = uniq_pairs[order]
    out_row = np.argsort(order)[out_row]
    counts = np.zeros((len(uniq_pairs), steps))
    np.add.at(counts, (out_row, cols), 1.0)
    labels: list[Labels] = []
    for p in uniq_pairs.tolist():
        base = bases[p // len(uniq_bits)]
        if drop_value_label:
            labels.append(base)
        else:
            labels.append(tuple(sorted((*base, (label, texts[p % len(uniq_bits)])))))
    enh.check()
    return Vector(labels, counts, counts > 0)
