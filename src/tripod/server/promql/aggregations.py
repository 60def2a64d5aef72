"""Aggregation operators (``sum avg count min max group stddev stdvar topk bottomk quantile
count_values``) with ``by``/``without``, computed per group across all steps at once.

Arithmetic follows Prometheus 2.42's order of operations (sequential sums, incremental mean,
Welford variance) so results agree to the last bits wherever possible.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import promql_parser as pp

from tripod.server.promql.errors import BadDataError, ExecutionError
from tripod.server.promql.values import (
    F64,
    I64,
    METRIC_NAME,
    Labels,
    Mask,
    Scalar,
    String,
    Vector,
    format_value,
)

if TYPE_CHECKING:
    from tripod.server.promql.engine import Evaluator

__all__ = ["aggregate", "go_insertion_sort", "quantile", "quantile_last_axis"]

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _grouping(node: Any) -> Callable[[Labels], Labels]:
    mod = node.modifier
    if mod is None:
        return lambda labels: ()
    names = frozenset(mod.labels)
    if mod.type == pp.AggModifierType.By:
        return lambda labels: tuple([p for p in labels if p[0] in names])
    dropped = names | {METRIC_NAME}
    return lambda labels: tuple([p for p in labels if p[0] not in dropped])


def aggregate(ev: Evaluator, node: Any, steps: I64) -> Vector:
    op = str(node.op)
    param: Scalar | String | None = None
    if node.param is not None:
        value = ev.eval(node.param, steps)
        if not isinstance(value, Scalar | String):
            msg = f"the parameter of {op} must be a scalar or a string"
            raise BadDataError(msg)
        param = value
    vec = ev.eval_vector(node.expr, steps)
    key_of = _grouping(node)
    if op == "count_values":
        assert isinstance(param, String)
        return _count_values(ev, vec, param.value, node)
    groups: dict[Labels, list[int]] = {}
    for i, lab in enumerate(vec.labels):
        groups.setdefault(key_of(lab), []).append(i)
    if op in {"topk", "bottomk"}:
        assert isinstance(param, Scalar)
        return _topk(ev, vec, groups, param.values, bottom=op == "bottomk")
    if op == "quantile":
        assert isinstance(param, Scalar)
        return _quantile(ev, vec, groups, param.values)
    if op in _GROUPED and (op != "avg" or len(vec.labels) > _EXACT_AVG_ROWS):
        fast = _grouped(op, vec, groups)
        if fast is not None:
            return fast
    reduce = _REDUCERS[op]
    labels: list[Labels] = []
    values: list[F64] = []
    present: list[Mask] = []
    for key, rows in groups.items():
        ev.check()
        val, mask = reduce(vec.values[rows], vec.present[rows])
        labels.append(key)
        values.append(val)
        present.append(mask)
    if not labels:
        return Vector.empty(len(steps))
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


def go_insertion_sort(items: list[Any], less: Callable[[Any, Any], bool]) -> None:
    """Go's sort.Sort on short slices (insertion sort, hence stable); longer: a stable sort."""
    if len(items) > 12:
        import functools

        items.sort(
            key=functools.cmp_to_key(lambda a, b: -1 if less(a, b) else (1 if less(b, a) else 0))
        )
        return
    for i in range(1, len(items)):
        j = i
        while j > 0 and less(items[j], items[j - 1]):
            items[j], items[j - 1] = items[j - 1], items[j]
            j -= 1


def _topk(
    ev: Evaluator, vec: Vector, groups: dict[Labels, list[int]], ks: F64, *, bottom: bool
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
        ev.check()
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
                go_insertion_sort(heap, lambda x, y: less(y[0], x[0]))
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


def _quantile(ev: Evaluator, vec: Vector, groups: dict[Labels, list[int]], qs: F64) -> Vector:
    steps = vec.values.shape[1]
    labels = list(groups)
    values = np.zeros((len(labels), steps))
    present = np.zeros((len(labels), steps), dtype=bool)
    for g, rows in enumerate(groups.values()):
        ev.check()
        sub_v, sub_p = vec.values[rows].T, vec.present[rows].T  # (steps, series)
        values[g] = quantile_last_axis(sub_v, sub_p, qs)
        present[g] = sub_p.any(axis=1)
    return Vector(labels, values, present)


def _count_values(ev: Evaluator, vec: Vector, label: str, node: Any) -> Vector:
    """Per step, how many series hold each value; the value (Go-formatted) becomes a label.

    Vectorised: the distinct (series group, value bits) pairs are found with ``np.unique``
    and counted with ``np.add.at``; only distinct values are formatted.
    """
    if not _LABEL_NAME.match(label):
        msg = f'invalid label name "{label}"'
        raise ExecutionError(msg)
    mod = node.modifier
    by = mod is None or mod.type == pp.AggModifierType.By
    names = frozenset(mod.labels) if mod is not None else frozenset()
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
    counts = np.zeros((len(uniq_pairs), steps))
    np.add.at(counts, (out_row.reshape(-1), cols), 1.0)
    labels: list[Labels] = []
    for p in uniq_pairs.tolist():
        base = bases[p // len(uniq_bits)]
        if drop_value_label:
            labels.append(base)
        else:
            labels.append(tuple(sorted((*base, (label, texts[p % len(uniq_bits)])))))
    ev.check()
    return Vector(labels, counts, counts > 0)
