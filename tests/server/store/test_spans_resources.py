"""Span resources stored once: each distinct (resource, scope) is one ``span_resources`` row that
spans refer to by ``rid``; reads give every span its resource and scope as before, a store of
the earlier schema (resource/scope text in every span row) is converted at open, and retention
keeps the resources of the spans it keeps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tripod.server.config import Limits, StorageConfig
from tripod.server.store import spans as spans_mod
from tripod.server.store.db import DB_FILENAME, Database
from tripod.server.store.model import TraceQuery
from tripod.server.store.retention import apply_retention
from tripod.server.store.samples import DuckSampleStore
from tripod.server.store.spans import SPAN_COLUMNS, DuckSpanStore, trace_tid

_OLD_SPANS = """
CREATE TABLE spans (
    trace_id VARCHAR, tid BIGINT, span_id VARCHAR, parent_span_id VARCHAR, name VARCHAR,
    kind VARCHAR, service VARCHAR, start_ns BIGINT, end_ns BIGINT, duration_ns BIGINT,
    status_code VARCHAR, status_message VARCHAR, attributes VARCHAR, events VARCHAR,
    links VARCHAR, resource VARCHAR, scope VARCHAR
)"""


def _resource(service: str, pod: str) -> str:
    return json.dumps({"service.name": service, "k8s.pod.name": pod}, separators=(",", ":"))


def _rows(
    base: int, n: int, resource: str, scope: str, events: Any = None
) -> list[tuple[Any, ...]]:
    service = json.loads(resource)["service.name"]
    rows = []
    for i in range(n):
        trace_id = f"{base:016x}{i // 4:016x}"
        attrs = json.dumps({"http.route": f"/r{i % 3}", "n": i}, separators=(",", ":"))
        rows.append((trace_id, trace_tid(trace_id), f"{base + i:016x}",
                     "" if i % 4 == 0 else f"{base + i - i % 4:016x}", f"op{i % 2}", "server",
                     service, 1000 + base + i, 1010 + base + i * 2, 10 + i, "unset", "",
                     attrs, events, None, resource, scope))  # fmt: skip
    return rows


def _columns(rows: list[tuple[Any, ...]]) -> dict[str, list[Any]]:
    return {name: [r[k] for r in rows] for k, name in enumerate(SPAN_COLUMNS)}


_SCOPE = '{"name":"lib","version":"1.0"}'
_EVENTS = '[{"name":"boom","time_unix_nano":"5","attributes":{}}]'


def _expected(row: tuple[Any, ...]) -> dict[str, Any]:
    r = dict(zip(SPAN_COLUMNS, row, strict=True))
    return {
        "trace_id": r["trace_id"], "span_id": r["span_id"], "parent_span_id": r["parent_span_id"],
        "name": r["name"], "kind": r["kind"], "service": r["service"],
        "start_time_unix_nano": str(r["start_ns"]), "end_time_unix_nano": str(r["end_ns"]),
        "duration_ms": r["duration_ns"] / 1e6, "attributes": json.loads(r["attributes"]),
        "status": {"code": r["status_code"], "message": r["status_message"]},
        "events": json.loads(r["events"] or "[]"), "links": json.loads(r["links"] or "[]"),
        "resource": json.loads(r["resource"]), "scope": json.loads(r["scope"]),
    }  # fmt: skip


def test_each_resource_is_stored_once_and_read_back_with_every_span(tmp_path: Path) -> None:
    db = Database(tmp_path)
    store = DuckSpanStore(db, Limits())
    a, b = _resource("api", "pod-1"), _resource("db", "pod-2")
    rows = _rows(0, 8, a, _SCOPE) + _rows(100, 8, b, _SCOPE, _EVENTS)
    store.append(_columns(rows[:8]))
    store.append(_columns(rows[8:]))
    store.append(_columns(_rows(200, 8, a, _SCOPE)))  # same resource again: same row
    assert db.query("SELECT count(*) FROM span_resources", [], 10) == [(2,)]
    assert db.query("SELECT count(DISTINCT rid) FROM spans", [], 10) == [(2,)]
    for base, block in ((0, rows[:8]), (100, rows[8:])):
        for t in range(2):
            trace_id = f"{base:016x}{t:016x}"
            want = [_expected(r) for r in block if r[0] == trace_id]
            assert store.trace(trace_id) == want
            assert store.span(trace_id, want[1]["span_id"]) == want[1]
            cols = store.trace_columns(trace_id, 100, with_attributes=True)
            assert cols["event_count"] == [len(w["events"]) for w in want]
            assert [json.loads(e) for e in cols["events"]] == [w["events"] for w in want]
    # the empty events are stored as NULL, not as text
    assert db.query("SELECT count(*) FROM spans WHERE events IS NULL", [], 10) == [(16,)]


def test_a_reopened_store_reuses_the_stored_resources(tmp_path: Path) -> None:
    a = _resource("api", "pod-1")
    db = Database(tmp_path)
    DuckSpanStore(db, Limits()).append(_columns(_rows(0, 4, a, _SCOPE)))
    db.close()
    db = Database(tmp_path)
    store = DuckSpanStore(db, Limits())
    store.append(_columns(_rows(10, 4, a, _SCOPE) + _rows(20, 4, _resource("x", "y"), _SCOPE)))
    assert db.query("SELECT rid, resource FROM span_resources ORDER BY rid", [], 10) == [
        (0, a),
        (1, _resource("x", "y")),
    ]
    assert store.trace(f"{10:016x}{0:016x}")[0]["resource"] == json.loads(a)


def test_past_the_memo_size_new_and_known_resources_still_get_one_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spans_mod, "_MAX_RIDS", 3)
    db = Database(tmp_path)
    store = DuckSpanStore(db, Limits())
    for _ in range(2):
        for k in range(10):
            store.append(_columns(_rows(k * 10, 2, _resource("svc", f"pod-{k}"), _SCOPE)))
    assert db.query("SELECT count(*), count(DISTINCT resource) FROM span_resources", [], 10) == [
        (10, 10)
    ]
    for k in range(10):
        got = store.trace(f"{k * 10:016x}{0:016x}")
        assert len(got) == 4
        assert {s["resource"]["k8s.pod.name"] for s in got} == {f"pod-{k}"}


def test_search_filters_on_resource_and_span_attributes(tmp_path: Path) -> None:
    db = Database(tmp_path)
    store = DuckSpanStore(db, Limits())
    odd = json.dumps({"service.name": "api", "quote": 'a"b'}, separators=(",", ":"))
    store.append(_columns(_rows(0, 8, _resource("api", "pod-1"), _SCOPE)))
    store.append(_columns(_rows(100, 8, _resource("api", "pod-2"), _SCOPE)))
    store.append(_columns(_rows(200, 4, odd, _SCOPE)))

    def found(*attrs: tuple[str, str]) -> list[str]:
        got, _ = store.search(TraceQuery(0, 10**6, attributes=attrs, limit=50))
        return sorted(t["trace_id"] for t in got)

    assert found(("k8s.pod.name", "pod-2")) == [f"{100:016x}{t:016x}" for t in range(2)]
    assert found(("quote", 'a"b')) == [f"{200:016x}{0:016x}"]
    assert found(("http.route", "/r2"), ("k8s.pod.name", "pod-1")) == [
        f"{0:016x}{t:016x}" for t in range(2)
    ]
    assert found(("k8s.pod.name", "pod-3")) == []


def test_a_store_of_the_earlier_schema_is_converted_at_open(tmp_path: Path) -> None:
    a, b = _resource("api", "pod-1"), _resource("db", "pod-2")
    rows = _rows(0, 8, a, _SCOPE, "[]") + _rows(100, 8, b, _SCOPE, _EVENTS)
    rows = [(*r[:14], "[]", *r[15:]) for r in rows]  # the earlier writer stored '[]' text
    con = duckdb.connect(str(tmp_path / DB_FILENAME))
    con.execute(_OLD_SPANS)
    con.executemany(f"INSERT INTO spans VALUES ({', '.join('?' * len(SPAN_COLUMNS))})", rows)
    con.close()

    db = Database(tmp_path)
    store = DuckSpanStore(db, Limits())
    names = [r[0] for r in db.query("SELECT column_name FROM duckdb_columns() "
                                    "WHERE table_name = 'spans'", [], 10)]  # fmt: skip
    assert "rid" in names
    assert "resource" not in names
    assert db.query("SELECT count(*) FROM span_resources", [], 10) == [(2,)]
    for base, block in ((0, rows[:8]), (100, rows[8:])):
        trace_id = f"{base:016x}{1:016x}"
        assert store.trace(trace_id) == [_expected(r) for r in block if r[0] == trace_id]
    got, _ = store.search(TraceQuery(0, 10**6, attributes=(("k8s.pod.name", "pod-2"),)))
    assert sorted(t["trace_id"] for t in got) == [f"{100:016x}{t:016x}" for t in range(2)]
    store.append(_columns(_rows(300, 4, a, _SCOPE)))  # the converted resource is reused
    assert db.query("SELECT count(*) FROM span_resources", [], 10) == [(2,)]
    db.close()
    db = Database(tmp_path)  # a second open leaves the converted store as it is
    store = DuckSpanStore(db, Limits())
    assert db.query("SELECT count(*) FROM spans", [], 10) == [(20,)]
    assert store.trace(f"{300:016x}{0:016x}")[0]["resource"] == json.loads(a)


def test_retention_keeps_the_resources_of_the_spans_it_keeps(tmp_path: Path) -> None:
    db = Database(tmp_path)
    store = DuckSpanStore(db, Limits())
    now_s = 10_000.0
    old, new = _resource("api", "old-pod"), _resource("api", "new-pod")
    old_rows = [
        (*r[:7], 1_000 + k, 1_010 + k, *r[9:]) for k, r in enumerate(_rows(0, 4, old, _SCOPE))
    ]
    new_rows = _rows(100, 4, new, _SCOPE)
    new_rows = [(*r[:7], int(now_s * 1e9) + k, int(now_s * 1e9) + k + 10, *r[9:])
                for k, r in enumerate(new_rows)]  # fmt: skip
    store.append(_columns(old_rows + new_rows))
    cfg = StorageConfig(retention_time_s=3600)
    report = apply_retention(db, DuckSampleStore(db, Limits()), cfg, now_s=now_s)
    assert report.deleted["spans"] == 4
    kept = store.trace(f"{100:016x}{0:016x}")
    assert [s["resource"]["k8s.pod.name"] for s in kept] == ["new-pod"] * 4
    assert store.trace(f"{0:016x}{0:016x}") == []
