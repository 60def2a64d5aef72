"""The paths taken for small shapes, where numpy's per-call cost dominates, against the general
paths: the window-by-window Python loops of ``avg_over_time`` and ``rate``/``increase``/``delta``
against the vectorised ones, bit for bit (any NaN for any NaN), on random windows with NaN, ±Inf,
staleness markers (NaNs to these functions), single samples, equal values and counter resets;
the per-series search of a few series against the composite-key search; and whole queries
through the engine with each path forced."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tripod.server.promql.range_functions as rf
import tripod.server.promql.values as pv
import tripod.server.promql.window_scan as ws
from tests.server.promql.memstore import MemStore
from tripod.server.promql.engine import Engine
from tripod.server.promql.evalhelper import RangeArgs
from tripod.server.promql.values import F64, Mask, Matrix, SeriesSet, Vector
from tripod.server.store import STALE_NAN, Sample

_SPECIAL = [math.nan, math.inf, -math.inf, STALE_NAN, 0.0, -0.0, 1.0, 1e308, -1e308, 5e-324]
_VALUE = st.one_of(
    st.sampled_from(_SPECIAL),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e6, 1e6),
    st.integers(-1000, 1000).map(float),
)


_GAP_MS = st.one_of(st.sampled_from([15_000, 30_000, 60_000]), st.integers(1, 90_000))


@st.composite
def _series(draw: st.DrawFn, min_samples: int) -> tuple[list[int], list[float]]:
    """One series: strictly increasing times (ms), values random, equal, or a counter."""
    n = draw(st.integers(min_samples, 12))
    times = np.cumsum(draw(st.lists(_GAP_MS, min_size=n, max_size=n))).tolist()
    kind = draw(st.sampled_from(["random", "equal", "counter"]))
    if kind == "equal":
        values = [draw(_VALUE)] * n
    elif kind == "counter":
        start = draw(st.one_of(st.just(0.0), st.floats(-10, 1e4)))
        incs = draw(st.lists(st.floats(0, 1e3), min_size=n, max_size=n))
        values = np.cumsum([start, *incs[1:]]).tolist()
        if draw(st.booleans()):  # a reset somewhere
            at = draw(st.integers(0, n - 1))
            values[at] = draw(st.floats(-5, 5))
    else:
        values = draw(st.lists(_VALUE, min_size=n, max_size=n))
    return times, values


def _range_args(
    series: list[tuple[list[int], list[float]]], steps: list[int], range_ms: int
) -> RangeArgs:
    """Series evaluated at ``steps`` (ms) over ``range_ms``, as the engine builds them."""
    built = SeriesSet.build(
        [(("i", str(i)),) for i in range(len(series))],
        [np.array(t, dtype=np.int64) for t, _ in series],
        [np.array(v, dtype=np.float64) for _, v in series],
    )
    eval_ms = np.array(steps, dtype=np.int64)
    lo, hi = Matrix(built, eval_ms, range_ms).windows()
    return RangeArgs(
        built, lo=lo, hi=hi, eval_ms=eval_ms, range_ms=range_ms, scalars=[], steps=eval_ms
    )


@st.composite
def _args(draw: st.DrawFn, *, full: bool = False) -> RangeArgs:
    """A range vector of 1-4 series evaluated at 1-3 steps; ``full``: series of two samples
    or more, evaluated after their ends over long ranges (windows rate can answer)."""
    series = draw(st.lists(_series(2 if full else 1), min_size=1, max_size=4))
    last = max(t[-1] for t, _ in series)
    times = st.integers(last if full else 0, last + 100_000)
    steps = sorted(draw(st.lists(times, min_size=1, max_size=3, unique=True)))
    minutes = [5, 17, 60, 1000] if full else [1, 5, 17, 60, 1000]
    range_ms = draw(
        st.one_of(st.sampled_from(minutes).map(lambda m: m * 60_000), st.integers(1, 10**6))
    )
    return _range_args(series, steps, range_ms)


#: Windows at the edges of rate's comparisons: the gap to the start and to the end exactly 1.1
#: average intervals (0.132 s = 1.1 * 0.12 s), a counter starting at zero, one that does not
#: move, two steps; and windows whose gaps (to the start, to the end, between the first and the
#: last sample) give another answer as ``ms * 0.001`` than as ``ms / 1000.0``.
_EDGES = [
    _range_args([([132, 252], [1.0, 2.0])], [384], 384),
    _range_args([([132, 252], [0.0, 5.0]), ([10, 20, 30], [3.0, 3.0, 3.0])], [384], 384),
    _range_args([([10_000, 20_000], [1.0, 2.0])], [30_000], 30_000),
    _range_args([([10_000, 20_000], [1.0, 2.0])], [30_000, 31_000], 21_000),
    _range_args([([52_286, 97_837], [1.0, 2.0])], [131_692], 108_952),
    _range_args([([22_989, 60_195], [100.0, 101.0])], [107_766], 121_318),
    _range_args([([29_921, 61_812], [0.0, 1.0])], [104_992], 89_607),
]


def _bits_equal(one: F64, other: F64) -> bool:
    """Equal bits (the sign of zero included), any NaN equal to any NaN: which operand's NaN an
    operation passes on is the compiler's choice (x86 keeps the first operand's, and an addition
    may be emitted either way round: CPython's specialised float add and its generic one differ),
    every NaN prints as NaN, and none can be a staleness marker (arithmetic quiets NaNs)."""
    same = one.view(np.uint64) == other.view(np.uint64)
    return bool((same | (np.isnan(one) & np.isnan(other))).all())


def _same(one: tuple[F64, Mask], other: tuple[F64, Mask]) -> None:
    """Equal masks and, where present, equal values bit for bit (see :func:`_bits_equal`)."""
    assert one[0].shape == other[0].shape
    assert (one[1] == other[1]).all()
    present = one[1]
    assert _bits_equal(one[0][present], other[0][present]), (one[0][present], other[0][present])


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(_args())
def test_average_scalar_is_the_vectorised_average_bit_for_bit(a: RangeArgs) -> None:
    with np.errstate(all="ignore"):  # as the engine runs them
        got, want = ws.average_scalar(a), ws.average_vectorised(a)
    _same(got, want)
    # the empty windows give the same value too (0.0), so the whole arrays are equal
    assert _bits_equal(got[0], want[0])


_KINDS = [(True, True), (True, False), (False, False)]  # rate, increase, delta


def _check_rate(a: RangeArgs, kind: tuple[bool, bool]) -> None:
    counter, rate = kind
    with np.errstate(all="ignore"):  # as the engine runs them
        got = rf.extrapolated_scalar(a, counter=counter, rate=rate)
        want = rf.extrapolated_vectorised(a, counter=counter, rate=rate)
    if got is None:  # a window of fewer than two samples, or a reset inside a window
        assert (a.n < 2).any() or counter
        return
    _same(got, want)


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(_args(), _args(full=True)), st.sampled_from(_KINDS))
def test_extrapolated_scalar_is_the_vectorised_rate_bit_for_bit(
    a: RangeArgs, kind: tuple[bool, bool]
) -> None:
    _check_rate(a, kind)


@pytest.mark.parametrize("kind", _KINDS)
@pytest.mark.parametrize("a", _EDGES)
def test_extrapolated_scalar_at_the_edges_of_the_comparisons(
    a: RangeArgs, kind: tuple[bool, bool]
) -> None:
    assert rf.extrapolated_scalar(a, counter=kind[0], rate=kind[1]) is not None
    _check_rate(a, kind)


def _one_window(times_s: list[int], values: list[float], at_s: int, range_s: int) -> RangeArgs:
    return _range_args([([t * 1000 for t in times_s], values)], [at_s * 1000], range_s * 1000)


def test_the_scalar_rate_answers_the_common_windows_and_declines_the_rest() -> None:
    counter = _one_window([10, 20, 30, 40], [1.0, 2.0, 3.0, 4.0], 60, 60)
    assert rf.extrapolated_scalar(counter, counter=True, rate=True) is not None
    reset = _one_window([10, 20, 30, 40], [5.0, 10.0, 2.0, 4.0], 45, 60)
    assert rf.extrapolated_scalar(reset, counter=True, rate=False) is None
    assert rf.extrapolated_scalar(reset, counter=False, rate=False) is not None  # delta
    single = _one_window([10, 100], [1.0, 2.0], 60, 60)
    assert rf.extrapolated_scalar(single, counter=True, rate=True) is None


def test_the_paths_are_chosen_by_the_number_of_windows() -> None:
    few = _one_window(list(range(1, 400)), [float(i % 7) for i in range(399)], 400, 400)
    assert ws._few_windows(few)
    wide = SeriesSet.build(
        [(("i", str(i)),) for i in range(200)],
        [np.arange(1, 4, dtype=np.int64) * 1000] * 200,
        [np.ones(3)] * 200,
    )
    eval_ms = np.array([5000], dtype=np.int64)
    lo, hi = Matrix(wide, eval_ms, 10_000).windows()
    many = RangeArgs(
        wide, lo=lo, hi=hi, eval_ms=eval_ms, range_ms=10_000, scalars=[], steps=eval_ms
    )
    assert not ws._few_windows(many)


_QUERIES = [
    "avg_over_time(g[5m])",
    "avg_over_time(g[30m])",
    "rate(c[5m])",
    "increase(c[10m])",
    "delta(g[5m])",
    "sum(rate(c[5m]))",
]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(st.lists(_VALUE, min_size=1, max_size=40), min_size=1, max_size=3),
    st.lists(st.lists(st.floats(0, 100), min_size=1, max_size=40), min_size=1, max_size=3),
    st.integers(0, 45),
    st.booleans(),
)
def test_queries_give_the_same_answer_on_either_path(
    gauges: list[list[float]],
    counters: list[list[float]],
    at_min: int,
    stale_end: bool,
) -> None:
    store = MemStore()
    for i, values in enumerate(gauges):
        points = [
            Sample({"__name__": "g", "i": str(i)}, j * 60_000, v) for j, v in enumerate(values)
        ]
        if stale_end:
            points.append(Sample({"__name__": "g", "i": str(i)}, len(values) * 60_000, STALE_NAN))
        store.append(points)
    for i, incs in enumerate(counters):
        total = np.cumsum(incs).tolist()
        store.append(
            Sample({"__name__": "c", "i": str(i)}, j * 30_000, v) for j, v in enumerate(total)
        )
    engine = Engine(store)

    def answers() -> list[tuple[object, ...]]:
        out: list[tuple[object, ...]] = []
        for query in _QUERIES:
            instant = engine.instant(query, at_min * 60_000).value
            ranged = engine.range(query, 0, at_min * 60_000, 60_000).value
            for value in (instant, ranged):
                assert isinstance(value, Vector)
                shown = np.where(value.present, value.values, 0.0)
                bits = np.where(np.isnan(shown), 0x7FF8000000000000, shown.view(np.uint64))
                out.append((query, value.labels, value.present.tolist(), bits.tolist()))
        return out

    fast = answers()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ws, "SCALAR_LOOP_FACTOR", 0)
        mp.setattr(rf, "SCALAR_WINDOWS", -1)
        slow = answers()
    assert fast == slow


@st.composite
def _series_set(draw: st.DrawFn) -> SeriesSet:
    """1-8 series of 0-12 samples, times (ms) anywhere from far below zero to far above."""
    base = draw(st.sampled_from([0, -(10**12), 10**12, 2**40]))
    series = draw(st.lists(_series(1), min_size=1, max_size=8))
    empty = draw(st.lists(st.booleans(), min_size=len(series), max_size=len(series)))
    series = [([], []) if e else s for s, e in zip(series, empty, strict=True)]
    return SeriesSet.build(
        [(("i", str(i)),) for i in range(len(series))],
        [np.array(t, dtype=np.int64) + base for t, _ in series],
        [np.array(v, dtype=np.float64) for _, v in series],
    )


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(_series_set(), st.lists(st.integers(-(10**6), 10**6), min_size=1, max_size=4), st.data())
def test_searching_each_series_finds_what_the_composite_keys_find(
    series: SeriesSet, offsets: list[int], data: st.DataObject
) -> None:
    first = int(series.ts[0]) if len(series.ts) else 0
    targets = np.array(sorted(first + o for o in offsets), dtype=np.int64)
    width = data.draw(st.integers(0, 10**6))
    few = series.search_pair(targets - width, targets)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pv, "_SEARCH_EACH", 0)
        many = series.search_pair(targets - width, targets)
        for side in ("left", "right"):
            assert (series.search(targets, side) == series._search_each(targets, side)).all()
    assert few[0].shape == many[0].shape == (len(series.labels), len(targets))
    assert (few[0] == many[0]).all()
    assert (few[1] == many[1]).all()
