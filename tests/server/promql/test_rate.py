"""rate/increase/delta/irate against values computed by hand from Prometheus's algorithm
(extrapolatedRate in promql/functions.go)."""

from __future__ import annotations

import math

import pytest

from tests.server.promql.memstore import MemStore
from tests.server.promql.util import close, instant, one
from tripod.server.promql.engine import Engine


def test_extrapolates_to_the_start_within_threshold_and_half_interval_at_the_end(
    store: MemStore, engine: Engine
) -> None:
    store.add("c", {}, [(10, 1), (20, 2), (30, 3), (40, 4)])
    # window [0, 60]: to_start 10 < 1.1*10 -> +10; to_end 20 -> +5; 3 * 45/30
    assert close(one(engine, "increase(c[1m])", 60), 4.5)
    assert close(one(engine, "rate(c[1m])", 60), 4.5 / 60)


def test_counter_zero_point_clamps_extrapolation(store: MemStore, engine: Engine) -> None:
    store.add("c", {}, [(20, 1), (30, 2), (40, 3), (50, 4)])
    # to_start 20 but the counter would reach zero after 30*(1/3) = 10 s -> +10; to_end 10 -> +10
    assert close(one(engine, "increase(c[1m])", 60), 5.0)
    # delta() has no zero clamp: to_start 20 >= 11 -> +5
    assert close(one(engine, "delta(c[1m])", 60), 3 * 45 / 30)


def test_counter_reset_is_added_back(store: MemStore, engine: Engine) -> None:
    store.add("c", {}, [(10, 5), (20, 10), (30, 2), (40, 4)])
    # raw 4-5 = -1, reset adds 10 -> 9; zero point 30*5/9 = 16.7 < 25 but >= 11 -> +5; end +5
    assert close(one(engine, "increase(c[1m])", 45), 9 * 40 / 30)
    assert close(one(engine, "delta(c[1m])", 45), -1 * 40 / 30)
    assert one(engine, "resets(c[1m])", 45) == 1
    assert one(engine, "changes(c[1m])", 45) == 3


def test_fewer_than_two_samples_give_nothing(store: MemStore, engine: Engine) -> None:
    store.add("c", {}, [(10, 1), (100, 2)])
    assert instant(engine, "rate(c[1m])", 60) == {}
    assert instant(engine, "irate(c[1m])", 60) == {}


def test_irate_and_idelta_use_the_last_two_samples(store: MemStore, engine: Engine) -> None:
    store.add("c", {}, [(10, 1), (20, 5), (30, 2)])
    assert close(one(engine, "irate(c[1m])", 30), 2 / 10)  # reset: last value over the gap
    assert close(one(engine, "idelta(c[1m])", 30), -3.0)


def test_range_window_is_closed_at_both_ends(store: MemStore, engine: Engine) -> None:
    store.add("g", {}, [(0, 1), (30, 2), (60, 3)])
    assert one(engine, "count_over_time(g[1m])", 60) == 3  # includes t-60s exactly
    assert one(engine, "count_over_time(g[1m])", 60.001) == 2


def test_range_query_is_evaluated_at_every_step(store: MemStore, engine: Engine) -> None:
    store.add("c", {"job": "a"}, [(t, t) for t in range(0, 600, 15)])
    store.add("c", {"job": "b"}, [(t, 2 * t) for t in range(0, 600, 15)])
    result = engine.range("sum(rate(c[1m]))", 120_000, 300_000, 60_000)
    assert result.value.values.shape == (1, 4)
    assert [round(v, 9) for v in result.value.values[0]] == [3.0, 3.0, 3.0, 3.0]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sum_over_time(g[1m])", 6.0),
        ("avg_over_time(g[1m])", 2.0),
        ("min_over_time(g[1m])", 1.0),
        ("max_over_time(g[1m])", 3.0),
        ("last_over_time(g[1m])", 3.0),
        ("present_over_time(g[1m])", 1.0),
        ("stdvar_over_time(g[1m])", 2 / 3),
        ("quantile_over_time(0.5, g[1m])", 2.0),
        ("deriv(g[1m])", 1 / 30),
        ("predict_linear(g[1m], 30)", 4.0),
    ],
)
def test_over_time_functions(store: MemStore, engine: Engine, query: str, expected: float) -> None:
    store.add("g", {}, [(0, 1), (30, 2), (60, 3)])
    assert close(one(engine, query, 60), expected)


def test_max_over_time_ignores_nan_unless_all_nan(store: MemStore, engine: Engine) -> None:
    store.add("g", {}, [(0, math.nan), (30, 2), (60, math.nan)])
    assert one(engine, "max_over_time(g[1m])", 60) == 2
    assert math.isnan(one(engine, "max_over_time(g[1s])", 60))


def test_holt_winters_by_hand(store: MemStore, engine: Engine) -> None:
    store.add("g", {}, [(0, 1), (30, 3), (60, 4)])
    # s1=1, b=2 | i=1: 0.5*3 + 0.5*(1+2) = 3 | i=2: b=0.5*(3-1)+0.5*2=2, 0.5*4 + 0.5*(3+2) = 4.5
    assert close(one(engine, "holt_winters(g[1m], 0.5, 0.5)", 60), 4.5)


def test_holt_winters_refuses_bad_factors(store: MemStore, engine: Engine) -> None:
    from tripod.server.promql.errors import ExecutionError

    store.add("g", {}, [(0, 1), (30, 3)])
    with pytest.raises(ExecutionError, match="invalid smoothing factor"):
        engine.instant("holt_winters(g[1m], 1, 0.5)", 60_000)


def test_deriv_of_a_constant_is_exactly_zero(store: MemStore, engine: Engine) -> None:
    store.add("g", {}, [(0, 0.1), (17, 0.1), (31, 0.1), (60, 0.1)])
    assert one(engine, "deriv(g[1m])", 60) == 0.0
    assert one(engine, "predict_linear(g[1m], 100)", 60) == 0.1


def test_range_functions_over_a_subquery(store: MemStore, engine: Engine) -> None:
    store.add("c", {}, [(t, 2 * t) for t in range(0, 600, 10)])
    assert close(one(engine, "rate(c[2m:30s])", 300), 2.0)
    assert close(one(engine, "max_over_time(rate(c[1m])[5m:1m])", 300), 2.0)
