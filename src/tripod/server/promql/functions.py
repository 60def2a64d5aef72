"""PromQL function calls: dispatch, instant-vector functions (math, dates, labels, clamps,
``histogram_quantile``, ``absent``, ``sort``...) and the wrapper around range functions."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import promql_parser as pp

from tripod.server.promql.aggregations import go_insertion_sort
from tripod.server.promql.errors import BadDataError, ExecutionError
from tripod.server.promql.range_functions import RANGE_FUNCTIONS, RangeArgs
from tripod.server.promql.regex import go_regex
from tripod.server.promql.values import (
    F64,
    I64,
    METRIC_NAME,
    Labels,
    Matrix,
    Scalar,
    String,
    Value,
    Vector,
    drop_name,
)

if TYPE_CHECKING:
    from tripod.server.promql.engine import Evaluator

__all__ = ["call"]

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


def _unwrap(node: Any) -> Any:
    while isinstance(node, pp.ParenExpr):
        node = node.expr
    return node


def _scalar_arg(ev: Evaluator, node: Any, steps: I64) -> F64:
    return ev.eval_scalar(node, steps).values


def _string_arg(ev: Evaluator, node: Any, steps: I64) -> str:
    value = ev.eval(node, steps)
    if not isinstance(value, String):
        msg = "expected a string argument"
        raise BadDataError(msg)
    return value.value


def _map(vec: Vector, values: F64, *, keep_name: bool = False) -> Vector:
    labels = list(vec.labels) if keep_name else [drop_name(lab) for lab in vec.labels]
    return Vector(labels, np.asarray(values, dtype=np.float64), vec.present).merge_same_labels()


def call(ev: Evaluator, node: Any, steps: I64) -> Value:
    name = node.func.name
    args = list(node.args)
    if name in RANGE_FUNCTIONS:
        return _range_call(ev, name, args, steps)
    if name == "absent_over_time":
        matrix = ev.eval(args[0], steps)
        assert isinstance(matrix, Matrix)
        any_present = np.zeros(len(steps), dtype=bool)
        if matrix.series.labels:
            lo, hi = matrix.windows()
            any_present = np.asarray((hi > lo).any(axis=0))
        return _absent_result(_unwrap(args[0]), ~any_present)
    if name == "time":
        return Scalar(steps / 1000.0)
    if name == "pi":
        return Scalar(np.full(len(steps), math.pi))
    if name == "vector":
        values = _scalar_arg(ev, args[0], steps)
        return Vector([()], values[None, :].copy(), np.ones((1, len(steps)), dtype=bool))
    if name == "scalar":
        vec = ev.eval_vector(args[0], steps)
        count = vec.present.sum(axis=0)
        one = np.where(vec.present, vec.values, 0).sum(axis=0) if len(vec.labels) else count * 0.0
        return Scalar(np.where(count == 1, one, math.nan))
    if name == "absent":
        vec = ev.eval_vector(args[0], steps)
        return _absent_result(_unwrap(args[0]), ~vec.present.any(axis=0))
    if name == "timestamp":
        inner = _unwrap(args[0])
        if isinstance(inner, pp.VectorSelector):
            vec = ev.vector_selector(inner, steps, sample_times=True)
        else:
            vec = ev.eval_vector(args[0], steps)
            vec = Vector(
                vec.labels, np.broadcast_to(steps / 1000.0, vec.values.shape).copy(), vec.present
            )
        return _map(vec, vec.values)
    if name in _MATH:
        vec = ev.eval_vector(args[0], steps)
        with np.errstate(all="ignore"):
            return _map(vec, _MATH[name](vec.values))
    if name == "round":
        vec = ev.eval_vector(args[0], steps)
        nearest = _scalar_arg(ev, args[1], steps) if len(args) > 1 else np.ones(len(steps))
        with np.errstate(all="ignore"):
            inverse = 1.0 / nearest
            return _map(vec, np.floor(vec.values * inverse + 0.5) / inverse)
    if name in {"clamp", "clamp_min", "clamp_max"}:
        return _clamp(ev, name, args, steps)
    if name in _DATE_PARTS:
        if args:
            vec = ev.eval_vector(args[0], steps)
        else:
            vec = Vector([()], (steps / 1000.0)[None, :], np.ones((1, len(steps)), dtype=bool))
        return _map(vec, _date_part(name, vec.values))
    if name == "label_replace":
        return _label_replace(ev, args, steps)
    if name == "label_join":
        return _label_join(ev, args, steps)
    if name in {"sort", "sort_desc"}:
        vec = ev.eval_vector(args[0], steps)
        return _sort(vec, descending=name == "sort_desc")
    if name == "histogram_quantile":
        from tripod.server.promql.histograms import histogram_quantile

        q = _scalar_arg(ev, args[0], steps)
        return histogram_quantile(ev, q, ev.eval_vector(args[1], steps))
    if name in {"histogram_count", "histogram_sum", "histogram_fraction"}:
        # These read native histograms only; float samples produce nothing (as in Prometheus).
        for arg in args:
            ev.eval(arg, steps)
        return Vector.empty(len(steps))
    msg = f'unknown function with name "{name}"'
    raise BadDataError(msg)


def _range_call(ev: Evaluator, name: str, args: list[Any], steps: I64) -> Vector:
    matrix_pos = next(
        i for i, a in enumerate(args) if isinstance(_unwrap(a), pp.MatrixSelector | pp.SubqueryExpr)
    )
    scalars = [_scalar_arg(ev, a, steps) for i, a in enumerate(args) if i != matrix_pos]
    matrix = ev.eval(args[matrix_pos], steps)
    assert isinstance(matrix, Matrix)
    fn = RANGE_FUNCTIONS[name]
    series = matrix.series
    if not series.labels:
        return Vector.empty(len(steps))
    ev.check()
    lo, hi = matrix.windows()
    args_ = RangeArgs(
        series,
        lo=lo,
        hi=hi,
        eval_ms=matrix.eval_ms,
        range_ms=matrix.range_ms,
        scalars=scalars,
        steps=steps,
        check=ev.check,
    )
    values, present = fn(args_)
    keep = np.flatnonzero(present.any(axis=1))
    keep_name = name == "last_over_time"
    labels = [series.labels[i] if keep_name else drop_name(series.labels[i]) for i in keep]
    if len(set(labels)) != len(labels):
        msg = "vector cannot contain metrics with the same labelset"
        raise ExecutionError(msg)
    return Vector(labels, np.asarray(values, dtype=np.float64)[keep], present[keep])


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


def _clamp(ev: Evaluator, name: str, args: list[Any], steps: I64) -> Vector:
    vec = ev.eval_vector(args[0], steps)
    if name == "clamp":
        lo, hi = _scalar_arg(ev, args[1], steps), _scalar_arg(ev, args[2], steps)
        result = _map(vec, np.maximum(lo, np.minimum(hi, vec.values)))
        result.present = result.present & ~(hi < lo)[None, :]
        return result
    bound = _scalar_arg(ev, args[1], steps)
    if name == "clamp_min":
        return _map(vec, np.maximum(bound, vec.values))
    return _map(vec, np.minimum(bound, vec.values))


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


def _label_replace(ev: Evaluator, args: list[Any], steps: I64) -> Vector:
    vec = ev.eval_vector(args[0], steps)
    dst, repl, src, regex = (_string_arg(ev, a, steps) for a in args[1:5])
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


def _label_join(ev: Evaluator, args: list[Any], steps: I64) -> Vector:
    vec = ev.eval_vector(args[0], steps)
    dst, sep = _string_arg(ev, args[1], steps), _string_arg(ev, args[2], steps)
    srcs = [_string_arg(ev, a, steps) for a in args[3:]]
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


def _sort(vec: Vector, *, descending: bool) -> Vector:
    if vec.values.shape[1] != 1:
        return vec  # a range query's result is ordered by labels; sort() has no effect there
    rows = [i for i in range(len(vec.labels)) if vec.present[i, 0]]
    vals = vec.values[:, 0]
    # Prometheus: sort.Sort(sort.Reverse(heap)); Reverse swaps the arguments of Less.
    go_insertion_sort(rows, lambda a, b: _rev_less(vals, a, b, descending))
    return vec.select(rows)


def _rev_less(vals: F64, i: int, j: int, descending: bool) -> bool:
    """``sort.Reverse(h).Less(i, j) == h.Less(j, i)``: NaN goes last either way."""
    vi, vj = float(vals[i]), float(vals[j])
    if math.isnan(vj):
        return True
    return vj < vi if descending else vj > vi
