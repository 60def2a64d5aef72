"""Range functions over windows that hold only staleness markers.

Prometheus drops staleness markers when it builds a range (``matrixIterSlice``), so such a window
is an empty window: no output (``absent_over_time``: 1). These once raised IndexError (a 500 in
the server) whenever every selected sample was a marker; checked on the test double and on the
real DuckDB store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.promql.memstore import MemStore
from tests.server.promql.util import instant
from tripod.server.promql.engine import Engine
from tripod.server.store import STALE_NAN, Database, DuckSampleStore, Sample

_FUNCS = ("rate", "increase", "delta", "irate", "idelta", "deriv", "resets", "changes",
          "count_over_time", "sum_over_time", "avg_over_time", "min_over_time",
          "max_over_time", "stddev_over_time", "stdvar_over_time", "last_over_time",
          "present_over_time")  # fmt: skip
CALLS = [
    *(f"{fn}(g[1m])" for fn in _FUNCS),
    "predict_linear(g[1m], 60)",
    "holt_winters(g[1m], 0.5, 0.5)",
    "quantile_over_time(0.5, g[1m])",
]


@pytest.fixture(params=["memory", "duckdb"])
def any_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[MemStore | DuckSampleStore]:
    if request.param == "memory":
        yield MemStore()
        return
    db = Database(tmp_path / "data")
    try:
        yield DuckSampleStore(db)
    finally:
        db.close()


def _add(
    store: MemStore | DuckSampleStore, labels: dict[str, str], points: list[tuple[int, float]]
) -> None:
    store.append(Sample({"__name__": "g", **labels}, t * 1000, v) for t, v in points)


@pytest.mark.parametrize("query", CALLS)
def test_a_window_of_only_stale_markers_gives_no_sample(
    any_store: MemStore | DuckSampleStore, query: str
) -> None:
    _add(any_store, {}, [(0, 1.0), (60, STALE_NAN), (120, STALE_NAN)])
    engine = Engine(any_store)
    assert instant(engine, query, 120) == {}
    # A range query whose steps see the live sample, then only markers.
    result = engine.range(query, 0, 180_000, 30_000)
    assert result.value.present[:, 3:].sum() == 0  # type: ignore[union-attr]


@pytest.mark.parametrize("query", CALLS)
def test_stale_only_series_beside_a_live_one(
    any_store: MemStore | DuckSampleStore, query: str
) -> None:
    _add(any_store, {"s": "gone"}, [(0, 1.0), (60, STALE_NAN), (120, STALE_NAN)])
    _add(any_store, {"s": "live"}, [(0, 1.0), (60, 2.0), (90, 5.0), (120, 9.0)])
    got = instant(Engine(any_store), query, 120)
    assert all("gone" not in key for key in got), got
    assert len(got) == 1


def test_absent_over_time_of_only_stale_markers_is_one(
    any_store: MemStore | DuckSampleStore,
) -> None:
    _add(any_store, {}, [(0, 1.0), (60, STALE_NAN), (120, STALE_NAN)])
    engine = Engine(any_store)
    assert instant(engine, "absent_over_time(g[1m])", 120) == {"": 1.0}
    assert instant(engine, "absent_over_time(g[2m])", 120) == {}
