"""Engine semantics on the in-memory store: lookback, staleness, offset/@, subqueries, vector
matching and its errors, aggregations, histogram_quantile, limits."""

from __future__ import annotations

import math

import pytest

from tests.server.promql.memstore import MemStore
from tests.server.promql.util import close, instant, one
from tripod.server.promql.engine import Engine
from tripod.server.promql.errors import ExecutionError, QueryTimeoutError, TooManySamplesError
from tripod.server.store.model import STALE_NAN


def test_lookback_is_five_minutes_inclusive(store: MemStore, engine: Engine) -> None:
    store.add("g", {}, [(0, 7)])
    assert one(engine, "g", 300) == 7
    assert instant(engine, "g", 300.001) == {}


def test_staleness_marker_ends_the_series(store: MemStore, engine: Engine) -> None:
    store.add("g", {}, [(0, 1), (15, 2), (30, STALE_NAN), (60, 3)])
    assert one(engine, "g", 29) == 2
    assert instant(engine, "g", 30) == {}
    assert instant(engine, "g", 59) == {}
    assert one(engine, "g", 60) == 3
    # range functions skip the marker itself
    assert one(engine, "count_over_time(g[1m])", 60) == 3


def test_offset_and_at_modifiers(store: MemStore, engine: Engine) -> None:
    store.add("g", {}, [(t, t) for t in range(0, 1000, 10)])
    assert one(engine, "g offset 1m", 500) == 440
    assert one(engine, "g @ 100", 900) == 100
    assert one(engine, "g @ 100 offset 30s", 900) == 70
    assert one(engine, "g offset -1m", 500) == 560
    result = engine.range("g @ start()", 200_000, 400_000, 100_000)
    assert result.value.values.tolist() == [[200.0, 200.0, 200.0]]
    result = engine.range("g @ end()", 200_000, 400_000, 100_000)
    assert result.value.values.tolist() == [[400.0, 400.0, 400.0]]


def test_subquery_steps_align_to_absolute_multiples(store: MemStore, engine: Engine) -> None:
    store.add("g", {}, [(t, t) for t in range(0, 1000, 10)])
    # [1m:20s] at 95: inner steps 40, 60, 80 (multiples of 20s within [35, 95])
    assert one(engine, "count_over_time(g[1m:20s])", 95) == 3
    assert one(engine, "min_over_time(g[1m:20s])", 95) == 40
    assert one(engine, "max_over_time(g[1m:20s] offset 10s)", 95) == 80


def test_subquery_without_step_uses_the_default_evaluation_interval(store: MemStore) -> None:
    store.add("g", {}, [(t, t) for t in range(0, 1000, 10)])
    # [2m:] at 600: inner steps at multiples of the interval within [480, 600]
    assert one(Engine(store), "count_over_time(g[2m:])", 600) == 3  # 1m: 480, 540, 600
    fifteen = Engine(store, default_eval_interval_ms=15_000)
    assert one(fifteen, "count_over_time(g[2m:])", 600) == 9  # 480, 495, ..., 600
    assert one(fifteen, "min_over_time(g[1m:] offset 7s)", 600) == 540  # 540..585 -> g at 540
    assert one(fifteen, "count_over_time(g[2m:30s])", 600) == 5  # an explicit step wins
    ranged = fifteen.range("count_over_time(g[1m:])", 300_000, 330_000, 30_000)
    assert ranged.value.values.tolist() == [[5.0, 5.0]]  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="default_eval_interval_ms"):
        Engine(store, default_eval_interval_ms=0)


def test_arithmetic_drops_the_name_comparison_keeps_it(store: MemStore, engine: Engine) -> None:
    store.add("g", {"a": "1"}, [(0, 5)])
    assert instant(engine, "g * 2", 10) == {"a=1": 10}
    assert instant(engine, "g > 1", 10) == {"__name__=g,a=1": 5}
    assert instant(engine, "g > bool 9", 10) == {"a=1": 0}
    assert instant(engine, "2 < g", 10) == {"__name__=g,a=1": 5}
    assert instant(engine, "-g", 10) == {"a=1": -5}
    assert instant(engine, "last_over_time(g[1m])", 10) == {"__name__=g,a=1": 5}
    assert instant(engine, "abs(g)", 10) == {"a=1": 5}


def test_one_to_one_and_group_left(store: MemStore, engine: Engine) -> None:
    store.add("req", {"job": "a", "code": "200"}, [(0, 8)])
    store.add("req", {"job": "a", "code": "500"}, [(0, 2)])
    store.add("info", {"job": "a", "team": "x"}, [(0, 1)])
    got = instant(engine, "req / on(job) group_left(team) info", 10)
    assert got == {"code=200,job=a,team=x": 8, "code=500,job=a,team=x": 2}
    got = instant(engine, "req / ignoring(code) group_left sum without(code) (req)", 10)
    assert got == {"code=200,job=a": 0.8, "code=500,job=a": 0.2}


def test_many_to_many_is_refused_with_prometheus_wording(store: MemStore, engine: Engine) -> None:
    store.add("req", {"job": "a", "code": "200"}, [(0, 8)])
    store.add("req", {"job": "a", "code": "500"}, [(0, 2)])
    with pytest.raises(ExecutionError, match="found duplicate series for the match group"):
        engine.instant("req + on(job) req", 10_000)
    with pytest.raises(ExecutionError, match="many-to-one matching must be explicit"):
        engine.instant('req * on(job) label_replace(vector(1), "job", "a", "", "")', 10_000)


def test_set_operators(store: MemStore, engine: Engine) -> None:
    store.add("a", {"i": "1"}, [(0, 1)])
    store.add("a", {"i": "2"}, [(0, 2)])
    store.add("b", {"i": "2"}, [(0, 20)])
    store.add("b", {"i": "3"}, [(0, 30)])
    assert instant(engine, "a and b", 10) == {"__name__=a,i=2": 2}
    assert instant(engine, "a unless b", 10) == {"__name__=a,i=1": 1}
    assert instant(engine, "a or b", 10) == {
        "__name__=a,i=1": 1,
        "__name__=a,i=2": 2,
        "__name__=b,i=3": 30,
    }


def test_aggregations(store: MemStore, engine: Engine) -> None:
    for i, v in enumerate([1.0, 2.0, 3.0, 10.0]):
        store.add("g", {"i": str(i), "job": "a" if i < 2 else "b"}, [(0, v)])
    assert instant(engine, "sum by (job) (g)", 10) == {"job=a": 3, "job=b": 13}
    assert instant(engine, "avg(g)", 10) == {"": 4}
    assert instant(engine, "count without (i) (g)", 10) == {"job=a": 2, "job=b": 2}
    assert instant(engine, "max(g)", 10) == {"": 10}
    assert instant(engine, "group by (job) (g)", 10) == {"job=a": 1, "job=b": 1}
    assert close(one(engine, "stddev(g)", 10), math.sqrt(12.5))
    assert one(engine, "quantile(0.5, g)", 10) == 2.5
    assert instant(engine, "topk(1, g)", 10) == {"__name__=g,i=3,job=b": 10}
    assert instant(engine, "bottomk(1, g)", 10) == {"__name__=g,i=0,job=a": 1}
    assert instant(engine, 'count_values("v", g)', 10) == {"v=1": 1, "v=2": 1, "v=3": 1, "v=10": 1}


def test_topk_output_is_ordered_by_value(store: MemStore, engine: Engine) -> None:
    for i, v in enumerate([5.0, 9.0, 1.0, 7.0]):
        store.add("g", {"i": str(i)}, [(0, v)])
    result = engine.instant("topk(3, g)", 10_000).value
    assert result.values[:, 0].tolist() == [9.0, 7.0, 5.0]
    result = engine.instant("sort(g)", 10_000).value
    assert result.values[:, 0].tolist() == [1.0, 5.0, 7.0, 9.0]


def _buckets(store: MemStore, counts: dict[str, float]) -> None:
    for le, count in counts.items():
        store.add("h_bucket", {"le": le}, [(0, count)])


@pytest.mark.parametrize(
    ("q", "expected"),
    [(0.5, 1.0), (0.75, 1.5), (1.0, 2.0), (-0.1, -math.inf), (1.1, math.inf)],
)
def test_histogram_quantile_interpolates(
    store: MemStore, engine: Engine, q: float, expected: float
) -> None:
    _buckets(store, {"1": 10, "2": 20, "+Inf": 20})
    assert one(engine, f"histogram_quantile({q}, h_bucket)", 10) == expected


def test_histogram_quantile_edge_cases(store: MemStore, engine: Engine) -> None:
    _buckets(store, {"1": 10, "2": 8, "+Inf": 20})  # not monotonic: 2 is raised to 10
    assert one(engine, "histogram_quantile(0.5, h_bucket)", 10) == 1.0
    assert one(engine, "histogram_quantile(0.75, h_bucket)", 10) == 2.0  # rank in +Inf bucket


def test_histogram_quantile_nan_cases(store: MemStore, engine: Engine) -> None:
    _buckets(store, {"1": 10, "2": 20})  # no +Inf bucket
    assert math.isnan(one(engine, "histogram_quantile(0.5, h_bucket)", 10))
    store2 = MemStore()
    _buckets(store2, {"1": 0, "+Inf": 0})  # no observations
    assert math.isnan(one(Engine(store2), "histogram_quantile(0.5, h_bucket)", 10))


def test_absent_takes_labels_from_equality_matchers(store: MemStore, engine: Engine) -> None:
    assert instant(engine, 'absent(nope{job="a", x=~"y"})', 10) == {"job=a": 1}
    store.add("g", {}, [(0, 1)])
    assert instant(engine, "absent(g)", 10) == {}


def test_label_replace_and_join(store: MemStore, engine: Engine) -> None:
    store.add("g", {"src": "a-b"}, [(0, 1)])
    got = instant(engine, 'label_replace(g, "dst", "$2/$1", "src", "(.*)-(.*)")', 10)
    assert got == {"__name__=g,dst=b/a,src=a-b": 1}
    got = instant(engine, 'label_join(g, "dst", ",", "src", "__name__")', 10)
    assert got == {"__name__=g,dst=a-b,g,src=a-b": 1}
    with pytest.raises(ExecutionError, match="invalid destination label name"):
        engine.instant('label_replace(g, "1x", "", "src", ".*")', 10_000)


def test_max_samples_limit(store: MemStore) -> None:
    store.add("g", {}, [(t, t) for t in range(0, 600, 15)])
    with pytest.raises(TooManySamplesError, match="too many samples"):
        Engine(store, max_samples=5).instant("sum_over_time(g[5m])", 590_000)


def test_timeout(store: MemStore) -> None:
    store.add("g", {}, [(0, 1)])
    with pytest.raises(QueryTimeoutError, match="query timed out in expression evaluation"):
        Engine(store).instant("g", 10_000, timeout_s=-1.0)


def test_duplicate_labelsets_after_dropping_the_name(store: MemStore, engine: Engine) -> None:
    store.add("a", {"i": "1"}, [(0, 1)])
    store.add("b", {"i": "1"}, [(0, 2)])
    with pytest.raises(ExecutionError, match="same labelset"):
        engine.instant('abs({__name__=~"a|b"})', 10_000)


def test_regex_matchers_follow_re2_semantics(store: MemStore, engine: Engine) -> None:
    store.add("g", {"path": "/API/v1"}, [(0, 1)])
    store.add("g", {"path": "a\nb"}, [(0, 2)])
    assert instant(engine, 'g{path=~"(?i)/api.*"}', 10) == {"__name__=g,path=/API/v1": 1}
    assert instant(engine, 'g{path=~"a.b"}', 10) == {}  # RE2's "." does not match a newline
    assert instant(engine, 'g{path=~"(?s)a.b"}', 10) == {"__name__=g,path=a\nb": 2}
    got = instant(engine, 'label_replace(g{path=~"/.*"}, "p", "$1", "path", "(?i)/(api)/.*")', 10)
    assert got == {"__name__=g,p=API,path=/API/v1": 1}


def test_nan_quantiles_give_nan(store: MemStore, engine: Engine) -> None:
    store.add("g", {}, [(0, 1), (30, 2)])
    _buckets(store, {"1": 10, "+Inf": 20})
    assert math.isnan(one(engine, "quantile(NaN, g)", 30))
    assert math.isnan(one(engine, "quantile_over_time(NaN, g[1m])", 30))
    assert math.isnan(one(engine, "histogram_quantile(NaN, h_bucket)", 30))


def test_histogram_quantile_nan_bucket_follows_go_binary_search(
    store: MemStore, engine: Engine
) -> None:
    # rank 0.4: a linear scan stops at le=1 (0.4); sort.Search probes le=2 first, NaN >= 0.4 is
    # false, so it settles on le=3 and interpolates from the NaN count below it: NaN.
    _buckets(store, {"1": 1, "2": math.nan, "3": 3, "+Inf": 4})
    assert math.isnan(one(engine, "histogram_quantile(0.1, h_bucket)", 10))


def test_power_follows_go_math_pow(store: MemStore, engine: Engine) -> None:
    store.add("g", {}, [(0, -math.inf)])
    assert one(engine, "g ^ 0.5", 10) == math.inf  # C's pow says NaN; Go's Pow(-Inf, y>0) = +Inf
    assert one(engine, "g ^ 3", 10) == -math.inf
    assert one(engine, "g ^ 0", 10) == 1.0


def test_query_result_samples_for_rule_evaluation(store: MemStore, engine: Engine) -> None:
    store.add("g", {"a": "1"}, [(0, 5)])
    assert engine.instant("g > 1", 10_000).samples() == [({"__name__": "g", "a": "1"}, 5.0)]
    assert engine.instant("2 * 3", 10_000).samples() == [({}, 6.0)]
