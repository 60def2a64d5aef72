"""The DuckDB sample store against the SampleStore contract (store/model.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tripod.server.config import Limits
from tripod.server.store import (
    STALE_NAN,
    STALE_NAN_BITS,
    Database,
    DuckSampleStore,
    Matcher,
    Sample,
    is_stale,
)


def s(name: str, ts: int, value: float, **labels: str) -> Sample:
    return Sample({"__name__": name, **labels}, ts, value)


def test_append_then_select_round_trips(store: DuckSampleStore) -> None:
    result = store.append([s("up", 1000, 1.0, job="a"), s("up", 2000, 0.0, job="a"),
                           s("up", 1000, 1.0, job="b")])  # fmt: skip
    assert result.accepted == 3
    assert result.rejected == {}
    got = store.select([Matcher("__name__", "=", "up"), Matcher("job", "=", "a")], 0, 5000)
    assert len(got) == 1
    assert got[0].labels == {"__name__": "up", "job": "a"}
    assert got[0].timestamps.tolist() == [1000, 2000]
    assert got[0].values.tolist() == [1.0, 0.0]
    # range bounds are inclusive
    assert store.select([Matcher("job", "=", "a")], 2000, 2000)[0].timestamps.tolist() == [2000]


def test_out_of_order_and_duplicates_follow_prometheus(store: DuckSampleStore) -> None:
    store.append([s("m", 2000, 1.0)])
    result = store.append([s("m", 1000, 5.0), s("m", 2000, 1.0), s("m", 2000, 2.0),
                           s("m", 3000, 3.0), s("m", 2500, 9.0)])  # fmt: skip
    assert result.accepted == 1
    assert result.rejected == {"out_of_order": 2, "duplicate_timestamp": 1}
    assert any("out-of-order" in e for e in result.errors)
    [series] = store.select([Matcher("__name__", "=", "m")], 0, 10_000)
    assert series.timestamps.tolist() == [2000, 3000]
    assert series.values.tolist() == [1.0, 3.0]


def test_all_four_matcher_ops_with_anchored_regex(store: DuckSampleStore) -> None:
    store.append([s("http", 1, 1.0, code="200"), s("http", 1, 1.0, code="500"),
                  s("http", 1, 1.0, code="2000"), s("http", 1, 1.0)])  # fmt: skip

    def codes(*ms: Matcher) -> list[str]:
        found = store.select([Matcher("__name__", "=", "http"), *ms], 0, 10)
        return sorted(x.labels.get("code", "") for x in found)

    assert codes(Matcher("code", "=", "200")) == ["200"]
    assert codes(Matcher("code", "!=", "200")) == ["", "2000", "500"]
    assert codes(Matcher("code", "=~", "2..")) == ["200"]  # anchored: not 2000
    assert codes(Matcher("code", "!~", "2.*")) == ["", "500"]
    assert codes(Matcher("code", "=", "")) == [""]  # missing label matches the empty string
    assert codes(Matcher("code", "=~", "5.*|")) == ["", "500"]
    assert len(store.select([Matcher("__name__", "=~", "htt.")], 0, 10)) == 4
    assert store.select([Matcher("__name__", "=~", "htt")], 0, 10) == []


def test_staleness_marker_and_nan_survive_storage_bit_exactly(tmp_path: Path) -> None:
    db = Database(tmp_path / "d")
    store = DuckSampleStore(db)
    store.append([s("g", 1, 1.5), s("g", 2, STALE_NAN), s("g", 3, math.nan), s("g", 4, -0.0),
                  s("g", 5, math.inf)])  # fmt: skip
    db.close()
    db = Database(tmp_path / "d")  # reopened: what was stored is read back from disk
    try:
        [series] = DuckSampleStore(db).select([Matcher("__name__", "=", "g")], 0, 10)
        bits = series.values.view(np.uint64)
        assert bits[1] == STALE_NAN_BITS
        assert is_stale(float(series.values[1]))
        assert math.isnan(series.values[2])
        assert not is_stale(float(series.values[2]))
        assert series.values[0] == 1.5
        assert series.values[4] == math.inf
        assert math.copysign(1.0, float(series.values[3])) == -1.0
    finally:
        db.close()


def test_state_is_reloaded_so_order_rules_hold_after_restart(tmp_path: Path) -> None:
    db = Database(tmp_path / "d")
    DuckSampleStore(db).append([s("c", 100, 1.0, a="x"), s("c", 200, 2.0, a="x")])
    db.close()
    db = Database(tmp_path / "d")
    try:
        store = DuckSampleStore(db)
        result = store.append([s("c", 150, 1.0, a="x"), s("c", 200, 2.0, a="x"),
                               s("c", 300, 3.0, a="x")])  # fmt: skip
        assert result.accepted == 1
        assert result.rejected == {"out_of_order": 1}
        assert store.series([[Matcher("a", "=", "x")]], 0, 1000) == [{"__name__": "c", "a": "x"}]
    finally:
        db.close()


def test_series_labels_and_values_respect_range_and_matchers(store: DuckSampleStore) -> None:
    store.append([s("a", 1000, 1, job="j1", env="p"), s("b", 5000, 1, job="j2")])
    assert store.series([[Matcher("__name__", "=~", ".+")]], 0, 10_000) == [
        {"__name__": "a", "job": "j1", "env": "p"},
        {"__name__": "b", "job": "j2"},
    ]
    assert store.series([[Matcher("__name__", "=~", ".+")]], 4000, 6000) == [
        {"__name__": "b", "job": "j2"}
    ]
    assert store.label_names([], 0, 10_000) == ["__name__", "env", "job"]
    assert store.label_names([[Matcher("job", "=", "j2")]], 0, 10_000) == ["__name__", "job"]
    assert store.label_values("job", [], 0, 10_000) == ["j1", "j2"]
    assert store.label_values("job", [[Matcher("__name__", "=", "a")]], 0, 10_000) == ["j1"]


def test_metadata_is_kept_and_replaced(tmp_path: Path) -> None:
    db = Database(tmp_path / "d")
    store = DuckSampleStore(db)
    store.set_metadata("up", "gauge", "Whether the target is up.")
    store.set_metadata("req_total", "counter", "Requests.", "")
    store.set_metadata("up", "gauge", "1 when up.")
    db.close()
    db = Database(tmp_path / "d")
    try:
        assert DuckSampleStore(db).metadata() == {
            "req_total": [{"type": "counter", "help": "Requests.", "unit": ""}],
            "up": [{"type": "gauge", "help": "1 when up.", "unit": ""}],
        }
    finally:
        db.close()


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        ({"job": "x"}, "missing_metric_name"),
        ({"__name__": "1bad"}, "invalid_metric_name"),
        ({"__name__": "m", "bad-name": "v"}, "invalid_label_name"),
        ({"__name__": "m", "v": "x" * 5000}, "label_value_too_long"),
        ({"__name__": "m", **{f"l{i}": "v" for i in range(70)}}, "too_many_labels"),
    ],
)
def test_bad_label_sets_are_counted_rejections(
    store: DuckSampleStore, labels: dict[str, str], reason: str
) -> None:
    result = store.append([Sample(labels, 1, 1.0), s("ok", 1, 1.0)])
    assert result.accepted == 1
    assert result.rejected == {reason: 1}


def test_series_per_metric_limit(store: DuckSampleStore) -> None:
    result = store.append([s("bomb", 1, 1.0, id=str(i)) for i in range(80)])
    assert result.accepted == 50
    assert result.rejected == {"too_many_series": 30}


def test_retention_time_refuses_old_samples(db: Database) -> None:
    store = DuckSampleStore(db, Limits(), retention_time_s=3600)
    result = store.append([s("old", 1000, 1.0)])
    assert result.rejected == {"out_of_bounds": 1}
    store0 = DuckSampleStore(db, Limits(), retention_time_s=0)
    assert store0.append([s("old1970", 0, 1.0)]).accepted == 1


def test_readers_see_committed_data_from_other_threads(store: DuckSampleStore) -> None:
    import threading

    store.append([s("t", i, float(i)) for i in range(1, 101)])
    out: list[int] = []

    def read() -> None:
        out.append(len(store.select([Matcher("__name__", "=", "t")], 0, 1000)[0].timestamps))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    store.append([s("t", 200, 1.0)])
    for t in threads:
        t.join()
    assert all(n in (100, 101) for n in out)
    assert len(out) == 4


def test_a_query_past_its_time_bound_is_interrupted(db: Database) -> None:
    from tripod.server.store import QueryTimeoutError

    with pytest.raises(QueryTimeoutError, match="narrow the time range"):
        db.query("SELECT count(*) FROM range(1000000) a, range(1000000) b", [], 0.05)
    assert db.query("SELECT 1", [], 5) == [(1,)]  # the database is still usable


def test_a_query_is_interrupted_even_when_its_bound_passes_before_it_starts(
    db: Database,
) -> None:
    # Regression: one interrupt landing before DuckDB started the query was lost, and the
    # query then ran unbounded (seen under load with a 50 ms bound).
    from tripod.server.store import QueryTimeoutError

    for _ in range(5):
        with pytest.raises(QueryTimeoutError):
            db.query("SELECT count(*) FROM range(1000000) a, range(1000000) b", [], 0.0)


def test_readers_do_not_block_writers(db: Database) -> None:
    """A query still running does not hold up an append (separate cursors, MVCC)."""
    import threading

    from tripod.server.store import QueryTimeoutError

    store = DuckSampleStore(db)
    store.append([s("w", 1, 1.0)])
    outcome: list[str] = []

    def long_query() -> None:
        try:
            db.query("SELECT count(*) FROM range(1000000) a, range(1000000) b", [], 1.5)
            outcome.append("finished")
        except QueryTimeoutError:
            outcome.append("interrupted")

    reader = threading.Thread(target=long_query)
    reader.start()
    while not db.gate._readers:  # wait until the query holds its cursor
        pass
    result = store.append([s("w", 2, 2.0)])
    still_running = reader.is_alive()
    reader.join()
    assert result.accepted == 1
    assert still_running, "the append waited for the reader"
    assert outcome == ["interrupted"]
    assert store.select([Matcher("__name__", "=", "w")], 0, 10)[0].timestamps.tolist() == [1, 2]


def test_log_and_trace_pages_are_bounded_by_max_rows(db: Database) -> None:
    from tripod.server.store import DuckLogStore, LogQuery

    logs = DuckLogStore(db, Limits(max_rows=2))
    n = 5
    logs.append({
        "time_ns": list(range(n)), "observed_ns": [0] * n, "service": ["s"] * n,
        "severity_number": [9] * n, "severity_text": [""] * n, "level": ["info"] * n,
        "body": [f"b{i}" for i in range(n)], "body_json": [False] * n, "trace_id": [""] * n,
        "span_id": [""] * n, "attributes": ["{}"] * n, "resource": ["{}"] * n, "scope": ["{}"] * n,
    })  # fmt: skip
    page, cursor = logs.search(LogQuery(0, 10, limit=1000))
    assert [x["body"] for x in page] == ["b4", "b3"]
    assert cursor is not None
    page, cursor = logs.search(LogQuery(0, 10, limit=1000, cursor=cursor))
    assert [x["body"] for x in page] == ["b2", "b1"]
