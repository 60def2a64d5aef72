"""``append_many`` (store/model.py): several appends in one transaction, each batch with the
result and the stored outcome ``append`` would have given it, made after the earlier ones."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tripod.server.config import Limits
from tripod.server.store import STALE_NAN, Database, DuckSampleStore, Matcher, Sample


def s(name: str, ts: int, value: float, **labels: str) -> Sample:
    return Sample({"__name__": name, **labels}, ts, value)


NOW = int(time.time() * 1000)
BATCHES = [
    [s("a", NOW, 1.0, k="x"), s("a", NOW, 1.0, k="y"), s("b", NOW, 2.0)],
    [s("a", NOW, 1.0, k="x"), s("a", NOW, 5.0, k="y")],  # identical (kept quiet), then a clash
    [s("a", NOW - 1, 1.0, k="x"), s("c", NOW, 1.0, **{"bad-name": "v"})],  # out of order, label
    [],
    [s("a", NOW + 1, STALE_NAN, k="y"), s("b", NOW + 1, 3.0), s("b", NOW + 1, 3.0)],
    [s("old", 1000, 1.0), s("d", NOW, 4.0)],  # older than the retention time
    [s("bomb", NOW, 1.0, id=str(i)) for i in range(4)],  # the series limit is 3
]


def _dump(store: DuckSampleStore) -> list[tuple[dict[str, str], list[int], bytes]]:
    found = store.select([Matcher("__name__", "=~", ".+")], 0, NOW + 10)
    return [(x.labels, x.timestamps.tolist(), x.values.tobytes()) for x in found]


def test_append_many_equals_appends_one_after_another(tmp_path: Path) -> None:
    limits = Limits(max_series_per_metric=3)
    one_db, many_db = Database(tmp_path / "one"), Database(tmp_path / "many")
    try:
        one = DuckSampleStore(one_db, limits, retention_time_s=3600)
        many = DuckSampleStore(many_db, limits, retention_time_s=3600)
        want = [one.append(batch) for batch in BATCHES]
        got = many.append_many(BATCHES)
        assert got == want
        assert [r.accepted for r in got] == [3, 0, 0, 0, 2, 1, 3]
        assert [sorted(r.rejected) for r in got] == [
            [],
            ["duplicate_timestamp"],
            ["invalid_label_name", "out_of_order"],
            [],
            [],
            ["out_of_bounds"],
            ["too_many_series"],
        ]
        assert _dump(many) == _dump(one)
        again = [s("a", NOW + 1, 7.0, k="x"), s("a", NOW, 7.0, k="y")]  # newest state was kept
        assert many.append_many([again]) == [one.append(again)]
    finally:
        one_db.close()
        many_db.close()


def test_append_many_survives_a_restart(tmp_path: Path) -> None:
    db = Database(tmp_path / "data")
    store = DuckSampleStore(db)
    results = store.append_many([[s("r", NOW, 1.0)], [s("r", NOW + 5, 2.0), s("q", NOW, 3.0)]])
    assert [r.accepted for r in results] == [1, 2]
    db.close()
    db = Database(tmp_path / "data")
    try:
        reopened = DuckSampleStore(db)
        (r,) = reopened.select([Matcher("__name__", "=", "r")], 0, NOW + 10)
        assert r.timestamps.tolist() == [NOW, NOW + 5]
        assert np.array_equal(r.values, [1.0, 2.0])
        late = reopened.append_many([[s("r", NOW + 1, 9.0)]])
        assert late[0].rejected == {"out_of_order": 1}
    finally:
        db.close()
