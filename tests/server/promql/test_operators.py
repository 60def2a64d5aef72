"""The operators are a leaf library: they take evaluated values and a small helper struct, so
they can be called without an engine, a store or a parsed query."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tripod.server.promql.aggregations import aggregate
from tripod.server.promql.binops import binary
from tripod.server.promql.errors import BadDataError, QueryTimeoutError
from tripod.server.promql.evalhelper import EvalNodeHelper, Grouping
from tripod.server.promql.functions import FUNCTIONS
from tripod.server.promql.gosort import go_sort
from tripod.server.promql.parse import FUNCTIONS_242
from tripod.server.promql.quantile import quantile, quantile_last_axis
from tripod.server.promql.values import Matrix, Scalar, SeriesSet, String, Vector

STEPS = np.array([0, 60_000], dtype=np.int64)


def _vec(*rows: tuple[dict[str, str], list[float]]) -> Vector:
    labels = [tuple(sorted(d.items())) for d, _ in rows]
    values = np.array([v for _, v in rows], dtype=np.float64)
    return Vector(labels, values, np.ones(values.shape, dtype=bool))


def test_the_table_holds_every_function_of_prometheus_242() -> None:
    assert set(FUNCTIONS) == set(FUNCTIONS_242)


def test_a_function_takes_values() -> None:
    vec = _vec(({"__name__": "x", "a": "1"}, [-1.0, 5.0]))
    out = FUNCTIONS["clamp"](
        [vec, Scalar(np.zeros(2)), Scalar(np.full(2, 2.0))], EvalNodeHelper(STEPS)
    )
    assert isinstance(out, Vector)
    assert out.labels == [(("a", "1"),)]
    assert out.values.tolist() == [[0.0, 2.0]]
    t = FUNCTIONS["time"]([], EvalNodeHelper(STEPS))
    assert isinstance(t, Scalar)
    assert t.values.tolist() == [0.0, 60.0]


def test_a_function_refuses_a_value_of_the_wrong_type() -> None:
    with pytest.raises(BadDataError, match="expected a scalar, got string"):
        FUNCTIONS["vector"]([String("x")], EvalNodeHelper(STEPS))


def test_a_range_function_takes_a_matrix_and_scalars() -> None:
    series = SeriesSet.build(
        [(("__name__", "c"), ("i", "1"))],
        [np.array([0, 15_000, 30_000, 45_000, 60_000], dtype=np.int64)],
        [np.array([0.0, 15.0, 30.0, 45.0, 60.0])],
    )
    matrix = Matrix(series, STEPS, 60_000)
    out = FUNCTIONS["delta"]([matrix], EvalNodeHelper(STEPS))
    assert isinstance(out, Vector)
    assert out.labels == [(("i", "1"),)]
    assert out.present.tolist() == [[False, True]]
    assert out.values[0, 1] == 60.0
    q = FUNCTIONS["quantile_over_time"]([Scalar(np.full(2, 0.5)), matrix], EvalNodeHelper(STEPS))
    assert isinstance(q, Vector)
    assert q.values[0].tolist() == [0.0, 30.0]


def test_the_deadline_check_reaches_the_operator() -> None:
    def expired() -> None:
        raise QueryTimeoutError

    vec = _vec(({"a": "1"}, [1.0, 2.0]), ({"a": "2"}, [3.0, 4.0]))
    with pytest.raises(QueryTimeoutError):
        aggregate("stddev", Grouping(), None, vec, EvalNodeHelper(STEPS, expired))


def test_aggregation_and_binary_operator_take_values() -> None:
    vec = _vec(({"job": "a", "i": "1"}, [1.0, 2.0]), ({"job": "a", "i": "2"}, [3.0, 4.0]),
               ({"job": "b", "i": "3"}, [5.0, math.nan]))  # fmt: skip
    total = aggregate("sum", Grouping(by=True, names=frozenset({"job"})), None, vec,
                      EvalNodeHelper(STEPS))  # fmt: skip
    assert total.labels == [(("job", "a"),), (("job", "b"),)]
    assert total.values[0].tolist() == [4.0, 6.0]
    doubled = binary("*", total, Scalar(np.full(2, 2.0)), None, EvalNodeHelper(STEPS))
    assert isinstance(doubled, Vector)
    assert doubled.values[0].tolist() == [8.0, 12.0]
    top = aggregate("topk", Grouping(), Scalar(np.ones(2)), vec, EvalNodeHelper(STEPS))
    assert top.present[:, 0].tolist() == [False, False, True]


def test_shared_quantile_math_agrees_with_itself() -> None:
    values = [3.0, math.nan, 1.0, 2.0]
    assert math.isnan(quantile(0.0, values))  # NaN sorts first, as in Prometheus
    assert quantile(0.5, values) == 1.5
    arr = np.array([values])
    fast = quantile_last_axis(arr, np.ones(arr.shape, dtype=bool), np.array([0.5]))
    assert fast.tolist() == [1.5]
    items = [(1, "a"), (0, "b"), (1, "c"), (0, "d")]
    go_sort(items, lambda x, y: x[0] < y[0])
    assert items == [(0, "b"), (0, "d"), (1, "a"), (1, "c")]  # stable, as Go's insertion sort
