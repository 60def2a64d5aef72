"""Binary operators: arithmetic, comparison (with and without ``bool``), set operators, and
vector matching (``on``/``ignoring``, ``group_left``/``group_right``) as Prometheus 2.42 does."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import promql_parser as pp

from tripod.server.promql.errors import BadDataError, ExecutionError
from tripod.server.promql.evalhelper import EvalNodeHelper
from tripod.server.promql.values import (
    F64,
    METRIC_NAME,
    Labels,
    Mask,
    Scalar,
    Value,
    Vector,
    drop_name,
    format_labels,
)

__all__ = ["binary"]

ARITHMETIC = {"+", "-", "*", "/", "%", "^", "atan2"}
DROPS_NAME = {"+", "-", "*", "/", "%", "^"}  # 2.42 keeps the metric name for atan2
COMPARISON = {"==", "!=", ">", "<", ">=", "<="}
SET_OPS = {"and", "or", "unless"}


def _arith(op: str, lhs: F64, rhs: F64) -> F64:
    with np.errstate(all="ignore"):
        if op == "+":
            return lhs + rhs
        if op == "-":
            return lhs - rhs
        if op == "*":
            return lhs * rhs
        if op == "/":
            return np.true_divide(lhs, rhs)
        if op == "%":
            return np.fmod(lhs, rhs)
        if op == "^":
            return _go_pow(lhs, rhs)
        return np.arctan2(lhs, rhs)


def _pow_neg_zero(z: float) -> float:
    """Go's math.Pow(-0, z), which defines Pow(-Inf, y) as Pow(-0, -y)."""
    if z == 0:
        return 1.0
    if math.isnan(z):
        return math.nan
    odd = math.isfinite(z) and z == math.floor(z) and math.fmod(z, 2) != 0
    if z < 0:
        return -math.inf if odd else math.inf
    return -0.0 if odd else 0.0


def _go_pow(lhs: F64, rhs: F64) -> F64:
    """numpy's power with Go's math.Pow special cases where C's pow answers otherwise."""
    x, y = np.broadcast_arrays(np.asarray(lhs, dtype=np.float64), np.asarray(rhs, dtype=np.float64))
    out = np.power(x, y)
    odd = np.isfinite(y) & (np.floor(y) == y) & (np.fmod(y, 2) != 0)
    out = np.where((x == 0) & np.isfinite(y) & (y > 0) & ~odd, 0.0, out)  # Pow(±0, y) = +0
    for idx in zip(*np.nonzero(x == -np.inf), strict=True):
        out[idx] = _pow_neg_zero(-float(y[idx]))
    return np.asarray(out, dtype=np.float64)


def _compare(op: str, lhs: F64, rhs: F64) -> Mask:
    with np.errstate(all="ignore"):
        if op == "==":
            return np.equal(lhs, rhs)
        if op == "!=":
            return np.not_equal(lhs, rhs)
        if op == ">":
            return lhs > rhs
        if op == "<":
            return lhs < rhs
        if op == ">=":
            return lhs >= rhs
        return lhs <= rhs


def binary(op: str, lhs: Value, rhs: Value, mod: Any, enh: EvalNodeHelper) -> Value:
    """``lhs op rhs``; ``mod`` is the parser's modifier (``bool``, ``on``/``ignoring``,
    ``group_left``/``group_right``) or None, as Prometheus hands its ``VectorMatching`` on."""
    return_bool = bool(mod is not None and mod.return_bool)
    if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
        if op in COMPARISON:
            return Scalar(_compare(op, lhs.values, rhs.values).astype(np.float64))
        return Scalar(_arith(op, lhs.values, rhs.values))
    if isinstance(lhs, Vector) and isinstance(rhs, Scalar):
        return _vector_scalar(op, lhs, rhs.values, swap=False, return_bool=return_bool)
    if isinstance(lhs, Scalar) and isinstance(rhs, Vector):
        return _vector_scalar(op, rhs, lhs.values, swap=True, return_bool=return_bool)
    if isinstance(lhs, Vector) and isinstance(rhs, Vector):
        enh.check()
        if op in SET_OPS:
            return _set_op(op, lhs, rhs, mod)
        return _vector_vector(op, lhs, rhs, mod, return_bool)
    msg = f"binary operator {op!r} needs scalar or instant vector operands"
    raise BadDataError(msg)


def _vector_scalar(op: str, vec: Vector, scalar: F64, *, swap: bool, return_bool: bool) -> Vector:
    left, right = (scalar[None, :], vec.values) if swap else (vec.values, scalar[None, :])
    if op in COMPARISON:
        keep = _compare(
            op, np.broadcast_to(left, vec.values.shape), np.broadcast_to(right, vec.values.shape)
        )
        if return_bool:
            out = Vector(
                [drop_name(lab) for lab in vec.labels], keep.astype(np.float64), vec.present.copy()
            )
            return out.merge_same_labels()
        return Vector(list(vec.labels), vec.values, vec.present & keep)
    values = np.asarray(_arith(op, left, right))
    if op not in DROPS_NAME:
        return Vector(list(vec.labels), values, vec.present)
    out = Vector([drop_name(lab) for lab in vec.labels], values, vec.present)
    return out.merge_same_labels()


def _signature_fn(mod: Any) -> Callable[[Labels], Labels]:
    matching = mod.matching if mod is not None else None
    if matching is None:
        return drop_name
    names = frozenset(matching.labels)
    if matching.type == pp.LabelModifierType.Include:
        return lambda labels: tuple(p for p in labels if p[0] in names)
    return lambda labels: tuple(p for p in labels if p[0] not in names and p[0] != METRIC_NAME)


def _presence_by_sig(vec: Vector, sig: Callable[[Labels], Labels]) -> dict[Labels, Mask]:
    found: dict[Labels, Mask] = {}
    for i, lab in enumerate(vec.labels):
        key = sig(lab)
        if key in found:
            found[key] = found[key] | vec.present[i]
        else:
            found[key] = vec.present[i]
    return found


def _set_op(op: str, lhs: Vector, rhs: Vector, mod: Any) -> Vector:
    sig = _signature_fn(mod)
    steps = lhs.values.shape[1]
    none = np.zeros(steps, dtype=bool)
    if op in {"and", "unless"}:
        right = _presence_by_sig(rhs, sig)
        present = lhs.present.copy()
        for i, lab in enumerate(lhs.labels):
            hit = right.get(sig(lab), none)
            present[i] &= hit if op == "and" else ~hit
        return Vector(list(lhs.labels), lhs.values, present)
    left = _presence_by_sig(lhs, sig)
    rpresent = rhs.present.copy()
    for i, lab in enumerate(rhs.labels):
        rpresent[i] &= ~left.get(sig(lab), none)
    out = Vector(
        [*lhs.labels, *rhs.labels],
        np.concatenate([lhs.values, rhs.values]),
        np.concatenate([lhs.present, rpresent]),
    )
    return out.compact().merge_same_labels()


def _result_labels(
    many: Labels, one: Labels, op: str, mod: Any, *, card: Any, return_bool: bool
) -> Labels:
    out = dict(many)
    if op in DROPS_NAME or return_bool:
        out.pop(METRIC_NAME, None)
    matching = mod.matching if mod is not None else None
    if card == pp.VectorMatchCardinality.OneToOne and matching is not None:
        names = set(matching.labels)
        if matching.type == pp.LabelModifierType.Include:
            out = {k: v for k, v in out.items() if k in names}
        else:
            out = {k: v for k, v in out.items() if k not in names}
    if mod is not None and mod.group_labels:
        one_map = dict(one)
        for name in mod.group_labels:
            if one_map.get(name, ""):
                out[name] = one_map[name]
            else:
                out.pop(name, None)
    return tuple(sorted(out.items()))


def _vector_vector(op: str, lhs: Vector, rhs: Vector, mod: Any, return_bool: bool) -> Vector:
    card = mod.card if mod is not None else pp.VectorMatchCardinality.OneToOne
    sig = _signature_fn(mod)
    many, one = (rhs, lhs) if card == pp.VectorMatchCardinality.OneToMany else (lhs, rhs)
    one_side = "left" if card == pp.VectorMatchCardinality.OneToMany else "right"
    # The "one" side must not hold two series of a match group at the same step.
    groups: dict[Labels, list[int]] = {}
    for j, lab in enumerate(one.labels):
        groups.setdefault(sig(lab), []).append(j)
    # Prometheus short-circuits a step where either side is empty, before any matching check.
    both_sides = lhs.present.any(axis=0) & rhs.present.any(axis=0)
    for key, rows in groups.items():
        if len(rows) > 1:
            counts = one.present[rows].sum(axis=0) * both_sides
            if (counts > 1).any():
                both = [r for r in rows if one.present[r][counts > 1].any()][:2]
                match = format_labels(key)
                msg = (
                    f"found duplicate series for the match group {match} on the {one_side} "
                    f"hand-side of the operation: [{format_labels(one.labels[both[1]])}, "
                    f"{format_labels(one.labels[both[0]])}];many-to-many matching not allowed: "
                    "matching labels must be unique on one side"
                )
                raise ExecutionError(msg)
    out_labels: list[Labels] = []
    out_values: list[F64] = []
    out_present: list[Mask] = []
    matched: dict[Any, Mask] = {}
    one_to_one = card == pp.VectorMatchCardinality.OneToOne
    for i, lab in enumerate(many.labels):
        key = sig(lab)
        for j in groups.get(key, ()):
            both = many.present[i] & one.present[j]
            if not both.any():
                continue
            if card == pp.VectorMatchCardinality.OneToMany:
                vl, vr = one.values[j], many.values[i]
            else:
                vl, vr = many.values[i], one.values[j]
            if op in COMPARISON:
                keep = _compare(op, vl, vr)
                if return_bool:
                    values, mask = keep.astype(np.float64), both
                else:
                    values, mask = vl, both & keep
            else:
                values, mask = _arith(op, vl, vr), both
            result = _result_labels(lab, one.labels[j], op, mod, card=card, return_bool=return_bool)
            seen_key = key if one_to_one else (key, result)
            if seen_key in matched:
                if (matched[seen_key] & mask).any():
                    msg = (
                        "multiple matches for labels: many-to-one matching must be explicit "
                        "(group_left/group_right)"
                        if one_to_one
                        else "multiple matches for labels: grouping labels must ensure unique "
                        "results"
                    )
                    raise ExecutionError(msg)
                matched[seen_key] = matched[seen_key] | mask
            else:
                matched[seen_key] = mask
            out_labels.append(result)
            out_values.append(np.asarray(values, dtype=np.float64))
            out_present.append(mask)
    steps = lhs.values.shape[1]
    if not out_labels:
        return Vector.empty(steps)
    out = Vector(out_labels, np.vstack(out_values), np.vstack(out_present))
    return out.merge_same_labels()
