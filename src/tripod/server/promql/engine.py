"""Evaluate a parsed PromQL expression over a :class:`SampleReader`, Prometheus 2.42 semantics.

Instant and range queries share one path: every node is evaluated at all steps at once
(numpy arrays of shape ``(series, steps)``), an instant query being a range query of one step.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

import numpy as np
import promql_parser as pp

from tripod.server.promql.aggregations import aggregate
from tripod.server.promql.binops import binary
from tripod.server.promql.errors import BadDataError, QueryTimeoutError, TooManySamplesError
from tripod.server.promql.evalhelper import EvalNodeHelper, Grouping
from tripod.server.promql.functions import FUNCTIONS, check_distinct, range_vector
from tripod.server.promql.params import MAX_POINTS, check_range, duration_ms
from tripod.server.promql.parse import parse_expr, unwrap_parens
from tripod.server.promql.range_functions import RANGE_FUNCTIONS
from tripod.server.promql.regex import go_regex
from tripod.server.promql.values import (
    I64,
    METRIC_NAME,
    Matrix,
    Scalar,
    SeriesSet,
    String,
    Value,
    Vector,
    as_vector,
    drop_name,
)
from tripod.server.store.model import (
    STALE_NAN_BITS,
    FlatSelection,
    Matcher,
    MatchOp,
    SampleReader,
)

__all__ = ["Engine", "QueryResult", "selector_matchers"]

DEFAULT_LOOKBACK_MS = 300_000
#: Prometheus's default ``global.evaluation_interval``: the step of a subquery written without one.
DEFAULT_EVAL_INTERVAL_MS = 60_000
# Series of a selector are put in label order (as Prometheus's block index yields them) unless
# there are more than this many: then the store's order is kept, which only changes the order of
# additions inside an aggregation (~1e-16 relative) and of an unsorted instant vector.
_SORT_LIMIT = 20_000
#: A range function over a selector of more series than FIRST_BATCH reads and evaluates them a
#: batch at a time (when the store can: :class:`BatchReader`), so that a query's memory is about
#: one batch's samples instead of every selected sample: first FIRST_BATCH series, then as many
#: as hold about BATCH_SAMPLES samples at the samples per series seen so far, at most
#: BATCH_SERIES (``Engine(batch_series=...)``; fewer in tests).
FIRST_BATCH = 512
BATCH_SAMPLES = 250_000
BATCH_SERIES = 20_000


class BatchReader(Protocol):
    """What a store offers for reading a selection in batches of series (the DuckDB store)."""

    def select_ids(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> tuple[list[int], list[dict[str, str]]]: ...

    def select_flat_ids(
        self, sids: list[int], start_ms: int, end_ms: int, *, of: int | None = None
    ) -> FlatSelection: ...


_MATCH_OPS: dict[str, MatchOp] = {
    "MatchOp.Equal": "=",
    "MatchOp.NotEqual": "!=",
    "MatchOp.Re": "=~",
    "MatchOp.NotRe": "!~",
}
_AT_RE = re.compile(r"at: Some\(\s*At\(\s*SystemTime \{\s*tv_sec: (-?\d+),\s*tv_nsec: (\d+)")


def selector_matchers(vs: Any) -> list[Matcher]:
    """The store's matchers for a parsed vector selector (its name becomes ``__name__=``)."""
    matchers = []
    for m in vs.matchers.matchers:
        op = _MATCH_OPS[str(m.op)]
        value = go_regex(m.value) if op in {"=~", "!~"} else m.value
        matchers.append(Matcher(m.name, op, value))
    if vs.name:
        matchers.insert(0, Matcher(METRIC_NAME, "=", vs.name))
    return matchers


#: :func:`selector_matchers` of the selector nodes of recently evaluated trees. ``parse_expr``
#: keeps the trees of recent queries and a node is immutable, so a rule evaluated again and again
#: hands the same node objects back; they hash and compare by identity, and being held here
#: they cannot be freed and their ids reused. Emptied when full.
_SELECTOR_MATCHERS: dict[Any, tuple[Matcher, ...]] = {}
_SELECTOR_MATCHERS_MAX = 4096


def _matchers_of(vs: Any) -> tuple[Matcher, ...]:
    found = _SELECTOR_MATCHERS.get(vs)
    if found is None:
        if len(_SELECTOR_MATCHERS) >= _SELECTOR_MATCHERS_MAX:
            _SELECTOR_MATCHERS.clear()
        found = _SELECTOR_MATCHERS[vs] = tuple(selector_matchers(vs))
    return found


@dataclasses.dataclass
class QueryResult:
    """What the API serialises: ``kind`` is Prometheus's resultType."""

    kind: str  # "vector" | "matrix" | "scalar" | "string"
    value: Value
    steps: I64

    def samples(self) -> list[tuple[dict[str, str], float]]:
        """An instant query's answer as ``(labels, value)`` pairs (a scalar: one pair with no
        labels), e.g. for rule evaluation; empty for strings and range vectors."""
        if isinstance(self.value, Scalar):
            return [({}, float(self.value.values[0]))]
        if not isinstance(self.value, Vector):
            return []
        vec = self.value
        return [
            (dict(labels), float(vec.values[i, 0]))
            for i, labels in enumerate(vec.labels)
            if vec.present[i, 0]
        ]


@dataclasses.dataclass
class _Query:
    store: SampleReader
    start_ms: int
    end_ms: int
    lookback_ms: int
    deadline: float
    max_samples: int
    default_eval_interval_ms: int = DEFAULT_EVAL_INTERVAL_MS
    batch_series: int = BATCH_SERIES
    samples: int = 0


class Evaluator:
    """Walks the AST; one instance per query (it holds the query's limits and counters).

    All recursion is here: a call, an aggregation or a binary operator gets its operands
    evaluated first, then the operator (a leaf function) gets their values."""

    def __init__(self, query: _Query) -> None:
        self.q = query

    # --- limits -------------------------------------------------------------------------

    def check(self) -> None:
        if time.monotonic() > self.q.deadline:
            raise QueryTimeoutError

    def guard_cells(self, cells: int) -> None:
        """Refuse before allocating (series x steps) arrays larger than the sample limit."""
        if cells > self.q.max_samples:
            raise TooManySamplesError

    def count(self, n: int) -> None:
        self.q.samples += int(n)
        if self.q.samples > self.q.max_samples:
            raise TooManySamplesError

    # --- dispatch -----------------------------------------------------------------------

    def eval(self, node: Any, steps: I64) -> Value:
        self.check()
        method = _EVAL_METHODS.get(type(node))
        if method is None:
            method = next((m for t, m in _EVAL_METHODS.items() if isinstance(node, t)), None)
            if method is None:
                msg = f"unsupported expression {type(node).__name__}: not implemented by tripod"
                raise BadDataError(msg)
        return method(self, node, steps)

    def _number(self, node: Any, steps: I64) -> Value:
        return Scalar(np.full(len(steps), float(node.val)))

    def _string(self, node: Any, steps: I64) -> Value:
        return String(node.val)

    def _paren(self, node: Any, steps: I64) -> Value:
        return self.eval(node.expr, steps)

    def _unary(self, node: Any, steps: I64) -> Value:
        return self._negate(self.eval(node.expr, steps))

    def _binary(self, node: Any, steps: I64) -> Value:
        lhs = self.eval(node.lhs, steps)
        rhs = self.eval(node.rhs, steps)
        return binary(str(node.op), lhs, rhs, node.modifier, self.helper(steps))

    def helper(self, steps: I64, args: list[Any] | None = None) -> EvalNodeHelper:
        return EvalNodeHelper(steps, self.check, args or [])

    def call(self, node: Any, steps: I64) -> Value:
        name = node.func.name
        fn = FUNCTIONS.get(name)
        if fn is None:
            msg = f'unknown function with name "{name}"'
            raise BadDataError(msg)
        args = list(node.args)
        first = unwrap_parens(args[0]) if args else None
        if name == "timestamp" and isinstance(first, pp.VectorSelector):
            # As Prometheus: the selector yields each sample's own timestamp, not the step's.
            vec = self.vector_selector(first, steps, sample_times=True)
            return fn([vec], EvalNodeHelper(steps, self.check, args, sample_times=True))
        if name in RANGE_FUNCTIONS:
            batched = self._range_call_in_batches(name, args, steps)
            if batched is not None:
                return batched
        return fn([self.eval(arg, steps) for arg in args], self.helper(steps, args))

    def _range_call_in_batches(self, name: str, args: list[Any], steps: I64) -> Vector | None:
        """``rate(x[5m])`` and the other range functions over a selector, read and evaluated
        a batch of series at a time: a range function's answer for a series depends on
        that series' samples only, so the batches' answers, put one after the other in the
        order the whole selection would have, are the whole answer; the sample limit and the
        same-labelset check count over all batches, as over one. None (the one-piece path)
        when the store cannot read by series id or an argument after the range vector is not
        a number literal (its evaluation would come before the range vector's limits)."""
        store = self.q.store
        if not (hasattr(store, "select_ids") and hasattr(store, "select_flat_ids")):
            return None
        nodes = [unwrap_parens(a) for a in args]
        pos = next((i for i, a in enumerate(nodes) if isinstance(a, pp.MatrixSelector)), None)
        if pos is None or not all(isinstance(a, pp.NumberLiteral) for a in nodes[pos + 1 :]):
            return None
        reader = cast(BatchReader, store)
        before = [self.eval(a, steps) for a in args[:pos]]
        after = [self.eval(a, steps) for a in args[pos + 1 :]]
        node = nodes[pos]
        vs = node.vector_selector
        times = self.eval_times(vs, steps)
        range_ms = duration_ms(node.range)
        lo_ms, hi_ms = int(times.min()) - range_ms, int(times.max())
        sids, label_dicts = reader.select_ids(_matchers_of(vs), lo_ms, hi_ms)
        size = max(1, min(FIRST_BATCH, self.q.batch_series))
        order: Sequence[int] = range(len(sids))
        # as fetch(): label order unless more than _SORT_LIMIT series have samples in the
        # window; with batches that is decided before reading, on the series the index holds
        # for the window (they differ only for series whose samples all lie in a gap)
        sort_each: bool | None = None
        if len(sids) > size:
            sort_each = len(sids) <= _SORT_LIMIT
            if sort_each:
                keys = [tuple(sorted(d.items())) for d in label_dicts]
                order = sorted(order, key=keys.__getitem__)
        helper = self.helper(steps, args)
        parts: list[Vector] = []
        selected = done = seen_series = seen_samples = 0
        while done < len(sids):
            group = sorted(sids[i] for i in order[done : done + size])
            done += len(group)
            label_set, ts, values, starts, ends = reader.select_flat_ids(
                group, lo_ms, hi_ms, of=len(sids)
            )
            # the next batch: about BATCH_SAMPLES samples at the samples per series so far
            seen_series += len(group)
            seen_samples += len(ts)
            size = BATCH_SAMPLES * seen_series // max(1, seen_samples)
            size = max(1, min(self.q.batch_series, size))
            labels = [tuple(sorted(d.items())) for d in label_set]
            series = SeriesSet(labels, ts, values, starts, ends)
            self.check()
            sort = sort_each if sort_each is not None else len(labels) <= _SORT_LIMIT
            if sort:
                series = series.sorted()
            selected += len(series.labels)
            self.guard_cells(selected * len(steps))
            matrix = self._range_vector(series, times, range_ms)
            parts.append(range_vector(name, [*before, matrix, *after], helper))
        if len(parts) <= 1:
            return check_distinct(parts[0]) if parts else Vector.empty(len(steps))
        return check_distinct(
            Vector(
                [lab for p in parts for lab in p.labels],
                np.concatenate([p.values for p in parts]),
                np.concatenate([p.present for p in parts]),
            )
        )

    def aggregation(self, node: Any, steps: I64) -> Value:
        param = None if node.param is None else self.eval(node.param, steps)
        vec = as_vector(self.eval(node.expr, steps))
        mod = node.modifier
        grouping = (
            Grouping()
            if mod is None
            else Grouping(mod.type == pp.AggModifierType.By, frozenset(mod.labels))
        )
        return aggregate(str(node.op), grouping, param, vec, self.helper(steps))

    def _negate(self, value: Value) -> Value:
        if isinstance(value, Scalar):
            return Scalar(-value.values)
        if isinstance(value, Vector):
            out = Vector([drop_name(lab) for lab in value.labels], -value.values, value.present)
            return out.merge_same_labels()
        msg = "unary minus needs a scalar or an instant vector"
        raise BadDataError(msg)

    # --- selectors ----------------------------------------------------------------------

    def _at_ms(self, node: Any) -> int | None:
        at = node.at
        if at is None:
            return None
        if at.type == pp.AtModifierType.Start:
            return self.q.start_ms
        if at.type == pp.AtModifierType.End:
            return self.q.end_ms
        # Reading ``at.at`` panics for times before 1970, so read the node's debug form.
        found = _AT_RE.findall(repr(node))
        sec, nsec = found[-1]
        at_ms = int(sec) * 1000 + int(nsec) // 1_000_000
        if abs(at_ms) >= 2**62:
            msg = f"timestamp out of bounds for @ modifier: {sec}; use a unix time in seconds"
            raise BadDataError(msg)
        return at_ms

    def eval_times(self, node: Any, steps: I64) -> I64:
        """The times a selector or subquery looks at: ``@`` pins them, ``offset`` shifts them."""
        at = self._at_ms(node)
        base = np.full(len(steps), at, dtype=np.int64) if at is not None else steps
        return base - duration_ms(node.offset)

    def fetch(self, vs: Any, lo_ms: int, hi_ms: int) -> SeriesSet:
        """Matching series with samples in ``[lo_ms, hi_ms]``, ordered by label set."""
        label_dicts, ts, values, starts, ends = self.q.store.select_flat(
            _matchers_of(vs), lo_ms, hi_ms
        )
        labels = [tuple(sorted(d.items())) for d in label_dicts]
        series = SeriesSet(labels, ts, values, starts, ends)
        self.check()
        if len(series.labels) <= _SORT_LIMIT:
            series = series.sorted()
        return series

    def vector_selector(self, node: Any, steps: I64, *, sample_times: bool = False) -> Vector:
        """The newest sample in ``[t - lookback, t]`` per step, unless it is a staleness marker
        (``sample_times``: that sample's timestamp in seconds instead, for ``timestamp()``)."""
        times = self.eval_times(node, steps)
        lookback = self.q.lookback_ms
        series = self.fetch(node, int(times.min()) - lookback, int(times.max()))
        n = len(steps)
        if not series.labels:
            return Vector.empty(n)
        self.guard_cells(len(series.labels) * n)
        idx = series.search(times, "right") - 1
        ok = idx >= series.starts[:, None]
        safe = np.where(ok, idx, 0)
        if len(series.ts) == 0:
            return Vector(series.labels, np.zeros(idx.shape), np.zeros(idx.shape, dtype=bool))
        ok &= series.ts[safe] >= (times - lookback)[None, :]
        ok &= series.vs[safe].view(np.uint64) != STALE_NAN_BITS
        values = series.ts[safe] / 1000.0 if sample_times else series.vs[safe]
        self.count(int(ok.sum()))
        return Vector(series.labels, values, ok)

    def matrix_selector(self, node: Any, steps: I64) -> Matrix:
        vs = node.vector_selector
        times = self.eval_times(vs, steps)
        range_ms = duration_ms(node.range)
        series = self.fetch(vs, int(times.min()) - range_ms, int(times.max()))
        self.guard_cells(len(series.labels) * len(steps))
        return self._range_vector(series, times, range_ms)

    def _range_vector(self, series: SeriesSet, times: I64, range_ms: int) -> Matrix:
        """Selected series as a range vector: staleness markers dropped, samples counted."""
        fresh = series.vs.view(np.uint64) != STALE_NAN_BITS
        if not fresh.all():
            series = series.keep(fresh)
        matrix = Matrix(series, times, range_ms)
        if series.labels:
            lo, hi = matrix.windows()
            self.count(int((hi - lo).max(axis=1).sum()))
        return matrix

    def subquery(self, node: Any, steps: I64) -> Matrix:
        # As Prometheus's ev.noStepSubqueryIntervalFn: no step means the evaluation interval.
        step_ms = duration_ms(node.step) or self.q.default_eval_interval_ms
        range_ms = duration_ms(node.range)
        times = self.eval_times(node, steps)
        first = -((-(int(times.min()) - range_ms)) // step_ms) * step_ms  # ceil to the step grid
        inner_steps = np.arange(first, int(times.max()) + 1, step_ms, dtype=np.int64)
        if len(inner_steps) == 0:
            return Matrix(SeriesSet.build([], [], []), times, range_ms)
        inner = self.eval(node.expr, inner_steps)
        if not isinstance(inner, Vector):
            msg = "subquery is only allowed on instant vector"
            raise BadDataError(msg)
        rows = [i for i in range(len(inner.labels)) if inner.present[i].any()]
        series = SeriesSet.build(
            [inner.labels[i] for i in rows],
            [inner_steps[inner.present[i]] for i in rows],
            [inner.values[i][inner.present[i]] for i in rows],
        )
        return Matrix(series, times, range_ms)


#: What :meth:`Evaluator.eval` does with each node type (one lookup instead of a chain of
#: ``isinstance``: a rule unit test evaluates about a million nodes).
_EVAL_METHODS: dict[type, Callable[[Evaluator, Any, I64], Value]] = {
    pp.NumberLiteral: Evaluator._number,
    pp.StringLiteral: Evaluator._string,
    pp.ParenExpr: Evaluator._paren,
    pp.UnaryExpr: Evaluator._unary,
    pp.VectorSelector: Evaluator.vector_selector,
    pp.MatrixSelector: Evaluator.matrix_selector,
    pp.SubqueryExpr: Evaluator.subquery,
    pp.Call: Evaluator.call,
    pp.AggregateExpr: Evaluator.aggregation,
    pp.BinaryExpr: Evaluator._binary,
}


class Engine:
    """Runs queries against a store with a timeout and a max-samples limit.

    ``default_eval_interval_ms`` is Prometheus's ``global.evaluation_interval``: the step of
    subqueries written without one (``rate(x[5m])[30m:]``)."""

    def __init__(
        self,
        store: SampleReader,
        *,
        timeout_s: float = 120.0,
        max_samples: int = 50_000_000,
        lookback_ms: int = DEFAULT_LOOKBACK_MS,
        max_points: int = MAX_POINTS,
        default_eval_interval_ms: int = DEFAULT_EVAL_INTERVAL_MS,
        batch_series: int = BATCH_SERIES,
    ) -> None:
        if default_eval_interval_ms <= 0:
            msg = (
                f"default_eval_interval_ms must be a positive number of milliseconds, "
                f"got {default_eval_interval_ms}"
            )
            raise ValueError(msg)
        self.store = store
        self.timeout_s = timeout_s
        self.max_samples = max_samples
        self.lookback_ms = lookback_ms
        self.max_points = max_points
        self.default_eval_interval_ms = default_eval_interval_ms
        self.batch_series = batch_series

    def _query(self, start_ms: int, end_ms: int, timeout_s: float | None) -> _Query:
        timeout = self.timeout_s if timeout_s is None else min(timeout_s, self.timeout_s)
        return _Query(
            store=self.store,
            start_ms=start_ms,
            end_ms=end_ms,
            lookback_ms=self.lookback_ms,
            deadline=time.monotonic() + timeout,
            max_samples=self.max_samples,
            default_eval_interval_ms=self.default_eval_interval_ms,
            batch_series=self.batch_series,
        )

    def instant(self, query: str, time_ms: int, timeout_s: float | None = None) -> QueryResult:
        expr = parse_expr(query)
        ev = Evaluator(self._query(time_ms, time_ms, timeout_s))
        steps = np.array([time_ms], dtype=np.int64)
        with np.errstate(all="ignore"):  # IEEE results (NaN, ±Inf) are PromQL's too
            value = ev.eval(expr, steps)
        if isinstance(value, Vector):
            return QueryResult("vector", value.compact(), steps)
        if isinstance(value, Matrix):
            return QueryResult("matrix", value, steps)
        if isinstance(value, Scalar):
            return QueryResult("scalar", value, steps)
        return QueryResult("string", value, steps)

    def range(
        self, query: str, start_ms: int, end_ms: int, step_ms: int, timeout_s: float | None = None
    ) -> QueryResult:
        check_range(start_ms, end_ms, step_ms, self.max_points)
        expr = parse_expr(query)
        ev = Evaluator(self._query(start_ms, end_ms, timeout_s))
        steps = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        with np.errstate(all="ignore"):  # IEEE results (NaN, ±Inf) are PromQL's too
            value = ev.eval(expr, steps)
        if isinstance(value, Matrix | String):
            kind = "range vector" if isinstance(value, Matrix) else "string"
            msg = (
                f'invalid expression type "{kind}" for range query, '
                "must be Scalar or instant Vector"
            )
            raise BadDataError(msg)
        if isinstance(value, Scalar):
            value = Vector([()], value.values[None, :], np.ones((1, len(steps)), dtype=bool))
        out = value.compact()
        order = sorted(range(len(out.labels)), key=lambda i: out.labels[i])
        return QueryResult("matrix", out.select(order), steps)
