"""PromQL functions as a dispatch table, :data:`FUNCTIONS` (Prometheus's ``FunctionCalls``):
each entry takes the call's evaluated arguments and an :class:`EvalNodeHelper`, never the
evaluator. Instant-vector functions (math, dates, labels, clamps, ``histogram_quantile``,
``absent``, ``sort``...) live here; range functions come from :mod:`range_functions`."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import promql_parser as pp

from tripod.server.promql.errors import ExecutionError
from tripod.server.promql.evalhelper import EvalNodeHelper, FunctionCall, RangeArgs
from tripod.server.promql.gosort import go_sort
from tripod.server.promql.histograms import histogram_quantile
from tripod.server.promql.parse import unwrap_parens
from tripod.server.promql.range_functions import RANGE_FUNCTIONS
from tripod.server.promql.regex import go_regex
from tripod.server.promql.values import (
    F64,
    METRIC_NAME,
    Labels,
    Matrix,
    Scalar,
    Value,
    Vector,
    as_matrix,
    as_scalar,
    as_string,
    as_vector,
    drop_name,
)

__all__ = ["FUNCTIONS", "check_distinct", "range_vector"]

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _sgn(v: F64) -> F64:
    return np.where(np.isnan(v), v, np.sign(v))


_MATH: dict[str, Callable[[F64], F64]] = {
    "abs": np.abs,
    "ceil": np.ceil,
    "floor": np.floor,
    "exp": np.exp,
    "ln": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "sqrt": np.sqrt,
    "sgn": _sgn,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "asinh": np.arcsinh,
    "acosh": np.arccosh,
    "atanh": np.arctanh,
    "deg": lambda v: v * 180 / math.pi,  # Go's order of operations, to the last bit
    "rad": lambda v: v * math.pi / 180,
}


def _map(vec: Vector, values: F64, *, keep_name: bool = False) -> Vector:
    labels = list(vec.labels) if keep_name else [drop_name(lab) for lab in vec.labels]
    return Vector(labels, np.asarray(values, dtype=np.float64), vec.present).merge_same_labels()


def _math(fn: Callable[[F64], F64]) -> FunctionCall:
    def call(vals: list[Value], enh: EvalNodeHelper) -> Value:
        vec = as_vector(vals[0])
        with np.errstate(all="ignore"):
            return _map(vec, fn(vec.values))

    return call


def _time(vals: list[Value], enh: EvalNodeHelper) -> Value:
    return Scalar(enh.steps / 1000.0)


def _pi(vals: list[Value], enh: EvalNodeHelper) -> Value:
    return Scalar(np.full(len(enh.steps), math.pi))


def _vector(vals: list[Value], enh: EvalNodeHelper) -> Value:
    values = as_scalar(vals[0]).values
    return Vector([()], values[None, :].copy(), np.ones((1, len(enh.steps)), dtype=bool))


def _scalar(vals: list[Value], enh: EvalNodeHelper) -> Value:
    vec = as_vector(vals[0])
    count = vec.present.sum(axis=0)
    one = np.where(vec.present, vec.values, 0).sum(axis=0) if len(vec.labels) else count * 0.0
    return Scalar(np.where(count == 1, one, math.nan))


def _absent(vals: list[Value], enh: EvalNodeHelper) -> Value:
    vec = as_vector(vals[0])
    return _absent_result(unwrap_parens(enh.args[0]), ~vec.present.any(axis=0))


def _absent_over_time(vals: list[Value], enh: EvalNodeHelper) -> Value:
    matrix = as_matrix(vals[0])
    any_present = np.zeros(len(enh.steps), dtype=bool)
    if matrix.series.labels:
        lo, hi = matrix.windows()
        any_present = np.asarray((hi > lo).any(axis=0))
    return _absent_result(unwrap_parens(enh.args[0]), ~any_present)


def _timestamp(vals: list[Value], enh: EvalNodeHelper) -> Value:
    vec = as_vector(vals[0])
    if enh.sample_times:  # the engine read each sample's own time into the vector
        return _map(vec, vec.values)
    return _map(vec, np.broadcast_to(enh.steps / 1000.0, vec.values.shape).copy())


def _round(vals: list[Value], enh: EvalNodeHelper) -> Value:
    vec = as_vector(vals[0])
    nearest = as_scalar(vals[1]).values if len(vals) > 1 else np.ones(len(enh.steps))
    with np.errstate(all="ignore"):
        inverse = 1.0 / nearest
        return _map(vec, np.floor(vec.values * inverse + 0.5) / inverse)


def _clamp(vals: list[Value], enh: EvalNodeHelper) -> Value:
    vec = as_vector(vals[0])
    lo, hi = as_scalar(vals[1]).values, as_scalar(vals[2]).values
    result = _map(vec, np.maximum(lo, np.minimum(hi, vec.values)))
    result.present = result.present & ~(hi < lo)[None, :]
    return result


def _clamp_min(vals: list[Value], enh: EvalNodeHelper) -> Value:
    vec = as_vector(vals[0])
    return _map(vec, np.maximum(as_scalar(vals[1]).values, vec.values))


def _clamp_max(vals: list[Value], enh: EvalNodeHelper) -> Value:
    vec = as_vector(vals[0])
    return _map(vec, np.minimum(as_scalar(vals[1]).values, vec.values))


def _date(name: str) -> FunctionCall:
    def call(vals: list[Value], enh: EvalNodeHelper) -> Value:
        if vals:
            vec = as_vector(vals[0])
        else:
            ones = np.ones((1, len(enh.steps)), dtype=bool)
            vec = Vector([()], (enh.steps / 1000.0)[None, :], ones)
        return _map(vec, _date_part(name, vec.values))

    return call


def _sort(*, descending: bool) -> FunctionCall:
    def call(vals: list[Value], enh: EvalNodeHelper) -> Value:
        return _sorted(as_vector(vals[0]), descending=descending)

    return call


def _histogram_quantile(vals: list[Value], enh: EvalNodeHelper) -> Value:
    return histogram_quantile(as_scalar(vals[0]).values, as_vector(vals[1]), enh.check)


def _native_histograms_only(vals: list[Value], enh: EvalNodeHelper) -> Value:
    """histogram_count/sum/fraction read native histograms only; float samples produce
    nothing (as in Prometheus)."""
    return Vector.empty(len(enh.steps))


def range_vector(name: str, vals: list[Value], enh: EvalNodeHelper) -> Vector:
    """The range function ``name`` of :data:`RANGE_FUNCTIONS` over its arguments (one range
    vector, the others per-step scalars), series without any point left out, *without* the
    check that no label set is there twice (:func:`check_distinct`): the engine evaluates a
    wide selection in batches of series and checks once over all of them."""
    fn = RANGE_FUNCTIONS[name]
    pos = next(i for i, v in enumerate(vals) if isinstance(v, Matrix))
    scalars = [as_scalar(v).values for i, v in enumerate(vals) if i != pos]
    matrix = as_matrix(vals[pos])
    series = matrix.series
    if not series.labels:
        return Vector.empty(len(enh.steps))
    enh.check()
    lo, hi = matrix.windows()
    args = RangeArgs(
        series,
        lo=lo,
        hi=hi,
        eval_ms=matrix.eval_ms,
        range_ms=matrix.range_ms,
        scalars=scalars,
        steps=enh.steps,
        check=enh.check,
    )
    values, present = fn(args)
    keep = np.flatnonzero(present.any(axis=1))
    keep_name = name == "last_over_time"
    labels = [series.labels[i] if keep_name else drop_name(series.labels[i]) for i in keep]
    return Vector(labels, np.asarray(values, dtype=np.float64)[keep], present[keep])


def check_distinct(vec: Vector) -> Vector:
    """``vec`` if no label set is in it twice, else Prometheus's error for a range function
    whose series differ only in the metric name it drops."""
    if len(set(vec.labels)) != len(vec.labels):
        msg = "vector cannot contain metrics with the same labelset"
        raise ExecutionError(msg)
    return vec


def _over_range(name: str) -> FunctionCall:
    """A range function of :data:`RANGE_FUNCTIONS` as a table entry."""

    def call(vals: list[Value], enh: EvalNodeHelper) -> Value:
        return check_distinct(range_vector(name, vals, enh))

    return call


def _absent_result(arg: Any, absent: Any) -> Vector:
    selector = arg.vector_selector if isinstance(arg, pp.MatrixSelector) else arg
    labels: dict[str, str] = {}
    if isinstance(selector, pp.VectorSelector):
        dropped: list[str] = []
        for m in selector.matchers.matchers:
            if m.name == METRIC_NAME:
                continue
            if m.op == pp.MatchOp.Equal and m.name not in labels:
                labels[m.name] = m.value
            else:
                dropped.append(m.name)
        for name in dropped:
            labels.pop(name, None)
    lab = tuple(sorted((k, v) for k, v in labels.items() if v != ""))
    return Vector([lab], np.ones((1, len(absent))), np.asarray(absent, dtype=bool)[None, :])


_DATE_PARTS = {
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "days_in_month",
    "hour",
    "minute",
    "month",
    "year",
}


def _date_part(name: str, values: F64) -> F64:
    finite = np.isfinite(values) & (np.abs(values) < 1e15)
    secs = np.where(finite, np.trunc(values), 0).astype(np.int64)
    dt = secs.astype("datetime64[s]")
    days = dt.astype("datetime64[D]")
    months = dt.astype("datetime64[M]")
    years = dt.astype("datetime64[Y]")
    if name == "year":
        out = years.astype(np.int64) + 1970
    elif name == "month":
        out = months.astype(np.int64) % 12 + 1
    elif name == "day_of_month":
        out = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    elif name == "day_of_year":
        out = (days - years.astype("datetime64[D]")).astype(np.int64) + 1
    elif name == "day_of_week":
        out = (days.astype(np.int64) + 4) % 7
    elif name == "days_in_month":
        out = ((months + 1).astype("datetime64[D]") - months.astype("datetime64[D]")).astype(
            np.int64
        )
    elif name == "hour":
        out = (dt - days).astype(np.int64) // 3600
    else:
        out = (dt - days).astype(np.int64) % 3600 // 60
    return np.where(finite, out.astype(np.float64), math.nan)


def _go_expand(template: str, match: re.Match[str]) -> str:
    """Go's regexp.Expand: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``; unknown → empty."""
    out: list[str] = []
    i = 0
    while True:
        j = template.find("$", i)
        if j < 0:
            out.append(template[i:])
            break
        out.append(template[i:j])
        rest = template[j + 1 :]
        if rest.startswith("$"):
            out.append("$")
            i = j + 2
            continue
        brace = rest.startswith("{")
        body = rest[1:] if brace else rest
        k = 0
        while k < len(body) and (body[k].isalnum() or body[k] == "_") and body[k].isascii():
            k += 1
        name = body[:k]
        if not name or (brace and (k >= len(body) or body[k] != "}")):
            out.append("$")
            i = j + 1
            continue
        i = j + 1 + k + (2 if brace else 0)
        group: str | None = None
        if name.isdigit():
            num = int(name)
            if num <= (match.re.groups if match.re else 0):
                group = match.group(num)
        elif name in match.re.groupindex:
            group = match.group(name)
        out.append(group or "")
    return "".join(out)


def _compile_go_regex(regex: str) -> re.Pattern[str]:
    return re.compile(go_regex(regex))


def _label_replace(vals: list[Value], enh: EvalNodeHelper) -> Value:
    vec = as_vector(vals[0])
    dst, repl, src, regex = (as_string(v) for v in vals[1:5])
    try:
        pattern = _compile_go_regex(regex)
    except re.error:
        msg = f"invalid regular expression in label_replace(): {regex}"
        raise ExecutionError(msg) from None
    if not _LABEL_NAME.match(dst):
        msg = f"invalid destination label name in label_replace(): {dst}"
        raise ExecutionError(msg)
    labels: list[Labels] = []
    for lab in vec.labels:
        current = dict(lab)
        found = pattern.fullmatch(current.get(src, ""))
        if found is None:
            labels.append(lab)
            continue
        res = _go_expand(repl, found)
        current.pop(dst, None)
        if res:
            current[dst] = res
        labels.append(tuple(sorted(current.items())))
    return Vector(labels, vec.values, vec.present).merge_same_labels()


def _label_join(vals: list[Value], enh: EvalNodeHelper) -> Value:
    vec = as_vector(vals[0])
    dst, sep = as_string(vals[1]), as_string(vals[2])
    srcs = [as_string(v) for v in vals[3:]]
    for src in srcs:
        if not _LABEL_NAME.match(src):
            msg = f"invalid source label name in label_join(): {src}"
            raise ExecutionError(msg)
    if not _LABEL_NAME.match(dst):
        msg = f"invalid destination label name in label_join(): {dst}"
        raise ExecutionError(msg)
    labels: list[Labels] = []
    for lab in vec.labels:
        current = dict(lab)
        joined = sep.join(current.get(s, "") for s in srcs)
        current.pop(dst, None)
        if joined:
            current[dst] = joined
        labels.append(tuple(sorted(current.items())))
    return Vector(labels, vec.values, vec.present).merge_same_labels()


def _sorted(vec: Vector, *, descending: bool) -> Vector:
    if vec.values.shape[1] != 1:
        return vec  # a range query's result is ordered by labels; sort() has no effect there
    rows = [i for i in range(len(vec.labels)) if vec.present[i, 0]]
    vals = vec.values[:, 0]
    # Prometheus: sort.Sort(sort.Reverse(heap)); Reverse swaps the arguments of Less.
    go_sort(rows, lambda a, b: _rev_less(vals, a, b, descending))
    return vec.select(rows)


def _rev_less(vals: F64, i: int, j: int, descending: bool) -> bool:
    """``sort.Reverse(h).Less(i, j) == h.Less(j, i)``: NaN goes last either way."""
    vi, vj = float(vals[i]), float(vals[j])
    if math.isnan(vj):
        return True
    return vj < vi if descending else vj > vi


FUNCTIONS: dict[str, FunctionCall] = {
    **{name: _math(fn) for name, fn in _MATH.items()},
    **{name: _date(name) for name in sorted(_DATE_PARTS)},
    **{name: _over_range(name) for name in RANGE_FUNCTIONS},
    "absent": _absent,
    "absent_over_time": _absent_over_time,
    "clamp": _clamp,
    "clamp_max": _clamp_max,
    "clamp_min": _clamp_min,
    "histogram_count": _native_histograms_only,
    "histogram_fraction": _native_histograms_only,
    "histogram_quantile": _histogram_quantile,
    "histogram_sum": _native_histograms_only,
    "label_join": _label_join,
    "label_replace": _label_replace,
    "pi": _pi,
    "round": _round,
    "scalar": _scalar,
    "sort": _sort(descending=False),
    "sort_desc": _sort(descending=True),
    "time": _time,
    "timestamp": _timestamp,
    "vector": _vector,
}
"""Every function tripod evaluates, by name: ``FUNCTIONS[name](args, helper)``."""
