"""Query parameters are validated in one place (``params.py``) for the API and the engine."""

from __future__ import annotations

import pytest

from tests.server.promql.memstore import MemStore
from tripod.server.promql import BadDataError, Engine
from tripod.server.promql.params import MAX_POINTS, check_range, parse_range


def test_parse_range_reads_times_and_durations() -> None:
    start, end, step = parse_range("1704067100", "2024-01-01T00:00:00Z", "1m30s")
    assert (start, end, step) == (1_704_067_100_000, 1_704_067_200_000, 90_000)
    assert parse_range("1.5", "3", "0.25") == (1_500, 3_000, 250)


@pytest.mark.parametrize(
    ("start", "end", "step", "message"),
    [
        ("x", "10", "1", 'invalid parameter "start"'),
        ("10", "x", "1", 'invalid parameter "end"'),
        # Prometheus checks the order of start and end before it reads the step.
        ("10", "5", "x", "end timestamp must not be before start time"),
        ("0", "10", "x", 'invalid parameter "step"'),
        ("0", "10", "0", "zero or negative query resolution step"),
        ("0", "10", "-1", "zero or negative query resolution step"),
        ("0", "11001", "1", "exceeded maximum resolution of 11,000 points"),
    ],
)
def test_parse_range_errors_in_prometheus_order(
    start: str, end: str, step: str, message: str
) -> None:
    with pytest.raises(BadDataError, match=message):
        parse_range(start, end, step)


def test_points_limit_is_one_constant() -> None:
    assert MAX_POINTS == 11_000
    check_range(0, MAX_POINTS * 1000, 1000)  # exactly at the limit: allowed
    with pytest.raises(BadDataError, match="11,000 points"):
        check_range(0, MAX_POINTS * 1000 + 1000, 1000)
    with pytest.raises(BadDataError, match="maximum resolution of 50 points"):
        check_range(0, 51_000, 1000, max_points=50)


def test_engine_validates_with_the_same_check() -> None:
    store = MemStore()
    store.add("g", {}, [(0, 1.0)])
    engine = Engine(store, max_points=50)
    with pytest.raises(BadDataError, match="maximum resolution of 50 points"):
        engine.range("g", 0, 51_000, 1000)
    with pytest.raises(BadDataError, match="end timestamp must not be before start time"):
        engine.range("g", 10_000, 0, 1000)
    with pytest.raises(BadDataError, match="zero or negative"):
        engine.range("g", 0, 10_000, 0)
    assert len(engine.range("g", 0, 50_000, 1000).steps) == 51
