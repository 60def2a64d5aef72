"""What an operator receives besides its evaluated operands: the per-call helper structs.

As in Prometheus (``EvalNodeHelper`` in ``promql/engine.go``), operators are a leaf library:
``engine.py`` evaluates the child nodes and hands functions, aggregations and binary operators
their values plus one of these small structs, never the evaluator itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tripod.server.promql.values import F64, I64, Idx, Mask, SeriesSet, Value

__all__ = ["EvalNodeHelper", "FunctionCall", "Grouping", "RangeArgs", "no_deadline"]


def no_deadline() -> None:
    """A ``check`` that never stops a computation (for direct calls outside a query)."""


@dataclasses.dataclass(frozen=True)
class EvalNodeHelper:
    """One call's context: the step timestamps, the call's argument expressions (read by the
    few functions that look at an expression rather than its value, such as ``absent``'s
    matchers) and the query's deadline check."""

    steps: I64  # evaluation times, ms
    check: Callable[[], None] = no_deadline  # raises when the query's deadline has passed
    args: Sequence[Any] = ()
    #: ``timestamp(<selector>)``: the engine put each sample's own time (s) in the vector.
    sample_times: bool = False


#: A function of the ``FUNCTIONS`` table: evaluated arguments in, one value out.
FunctionCall = Callable[[list[Value], EvalNodeHelper], Value]


@dataclasses.dataclass(frozen=True)
class Grouping:
    """An aggregation's ``by (names)`` (``by=True``) or ``without (names)``; no clause is
    ``by ()``."""

    by: bool = True
    names: frozenset[str] = frozenset()


class RangeArgs:
    """All series' samples, their ``(S, T)`` windows, and the call's scalar arguments."""

    def __init__(
        self,
        series: SeriesSet,
        *,
        lo: Idx,
        hi: Idx,
        eval_ms: I64,
        range_ms: int,
        scalars: list[F64],
        steps: I64,
        check: Callable[[], None] = no_deadline,
    ) -> None:
        self.ts = series.ts
        self.vs = series.vs
        self.lo = lo
        self.hi = hi
        self.n = hi - lo
        self.eval_ms = eval_ms[None, :]
        self.range_ms = range_ms
        self.scalars = scalars
        self.steps = steps  # the evaluation times themselves (predict_linear's intercept)
        self.check = check  # raises when the query's deadline has passed

    def loop(
        self, fn: Callable[[I64, F64, int], float | None], min_points: int = 1
    ) -> tuple[F64, Mask]:
        """Call ``fn(ts, vs, step)`` per window holding at least ``min_points`` samples."""
        out = np.zeros(self.lo.shape)
        ok = np.zeros(self.lo.shape, dtype=bool)
        for k, (s, t) in enumerate(np.argwhere(self.n >= min_points).tolist()):
            if k % 1024 == 1023:
                self.check()
            lo, hi = int(self.lo[s, t]), int(self.hi[s, t])
            value = fn(self.ts[lo:hi], self.vs[lo:hi], t)
            if value is not None:
                out[s, t] = value
                ok[s, t] = True
        return out, ok
