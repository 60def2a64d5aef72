"""The circular exemplar storage: Prometheus's semantics (tsdb/exemplar.go) in memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tripod.server.config import ConfigError, ServerConfig, load_server_config
from tripod.server.store import Exemplar, Matcher, MemoryExemplarStore

ALL = [[Matcher("__name__", "=~", ".+")]]


def _ex(ts: int, value: float = 1.0, trace: str = "t") -> Exemplar:
    return Exemplar({"trace_id": trace}, value, ts)


def test_per_series_order_duplicates_and_out_of_order() -> None:
    store = MemoryExemplarStore(10)
    series = {"__name__": "req_total", "job": "a"}
    assert store.add(series, _ex(1000)) is None
    assert store.add(series, _ex(1000)) == "duplicate"
    assert store.add(series, _ex(1000, value=2.0)) == "out_of_order"
    assert store.add(series, _ex(500)) == "out_of_order"
    assert store.add(series, _ex(2000, trace="u")) is None
    found = store.select(0, 10_000, ALL)
    assert len(found) == 1
    assert found[0].series == series
    assert [e.ts_ms for e in found[0].exemplars] == [1000, 2000]
    # The same timestamp on another series is fine: order is per series.
    assert store.add({"__name__": "req_total", "job": "b"}, _ex(1000)) is None


def test_ring_buffer_evicts_the_oldest_whatever_the_series() -> None:
    store = MemoryExemplarStore(3)
    a = {"__name__": "m", "s": "a"}
    b = {"__name__": "m", "s": "b"}
    store.add(a, _ex(1))
    store.add(b, _ex(2))
    store.add(a, _ex(3))
    store.add(b, _ex(4))  # overwrites a@1
    store.add(b, _ex(5))  # overwrites b@2
    found = {tuple(sorted(s.series.items())): [e.ts_ms for e in s.exemplars]
             for s in store.select(0, 10, ALL)}  # fmt: skip
    assert found == {(("__name__", "m"), ("s", "a")): [3], (("__name__", "m"), ("s", "b")): [4, 5]}
    store.add(b, _ex(6))  # overwrites a@3: series a leaves the index
    assert [s.series["s"] for s in store.select(0, 10, ALL)] == ["b"]
    assert store.series_count() == 1
    assert len(store) == 3


def test_select_by_time_and_matchers_sorted_by_labels() -> None:
    store = MemoryExemplarStore(100)
    for job in ("z", "a", "m"):
        for ts in (10, 20, 30):
            store.add({"__name__": "m", "job": job}, _ex(ts))
    found = store.select(15, 25, [[Matcher("job", "!=", "m")]])
    assert [s.series["job"] for s in found] == ["a", "z"]
    assert all([e.ts_ms for e in s.exemplars] == [20] for s in found)
    assert store.select(31, 40, ALL) == []
    # Several matcher sets: a series matching any of them, once.
    two = [[Matcher("job", "=", "a")], [Matcher("job", "=~", "a|m")]]
    assert [s.series["job"] for s in store.select(0, 100, two)] == ["a", "m"]


def test_label_length_limit_and_disabled() -> None:
    store = MemoryExemplarStore(10)
    # 128 characters of names plus values are allowed ("trace_id" is 8), 129 are not.
    assert store.add({"__name__": "m"}, Exemplar({"trace_id": "x" * 121}, 1, 1)) == "label_length"
    assert store.add({"__name__": "m"}, Exemplar({"trace_id": "x" * 120}, 1, 1)) is None
    assert MemoryExemplarStore(0).add({"__name__": "m"}, _ex(1)) == "disabled"


def test_storage_max_exemplars_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "tripod.yaml"
    config.write_text("storage:\n  max_exemplars: 2\n")
    loaded = load_server_config(ServerConfig(data_dir=tmp_path), config)
    assert loaded.storage.max_exemplars == 2
    assert ServerConfig(data_dir=tmp_path).storage.max_exemplars == 100_000
    config.write_text("storage:\n  max_exemplars: -1\n")
    with pytest.raises(ConfigError, match="max_exemplars"):
        load_server_config(ServerConfig(data_dir=tmp_path), config)
