"""SQLAlchemy sync and async engines on real SQLite files: spans, metrics, errors."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

import tripod
from tripod.sdk import metrics, tracing
from tripod.sdk.integrations import instrument_engine
from tripod.testing import Capture

COUNT = "db_client_operation_duration_seconds_count"


def _db_spans(cap: Capture) -> list[dict[str, object]]:
    return [s for s in cap.spans_as_dicts() if s["attributes"].get("db.system") == "sqlite"]


def test_sync_engine_spans_and_metrics(tmp_path: Path, tripod_capture: Capture) -> None:
    engine = instrument_engine(create_engine(f"sqlite:///{tmp_path / 'shop.db'}"))
    assert instrument_engine(engine) is engine  # twice: still one span per statement
    with tripod.span("checkout"), engine.begin() as conn:
        conn.execute(text("CREATE TABLE orders (id INTEGER PRIMARY KEY, email TEXT)"))
        conn.execute(text("INSERT INTO orders (id, email) VALUES (7, 'bob@example.com')"))
        conn.execute(text("SELECT email FROM orders WHERE id = :id"), {"id": 7})
    spans = _db_spans(tripod_capture)
    [parent] = [s for s in tripod_capture.spans_as_dicts() if s["name"] == "checkout"]
    assert [s["name"] for s in spans] == ["CREATE", "INSERT orders", "SELECT orders"]
    for span in spans:
        assert span["kind"] == "CLIENT"
        assert span["parent"] == parent["context"]
        assert span["status"] == "UNSET"
    assert spans[1]["attributes"] == {
        "db.system": "sqlite",
        "db.operation.name": "INSERT",
        "db.query.text": "INSERT INTO orders (id, email) VALUES (?, ?)",
        "db.collection.name": "orders",
        "db.driver.name": "pysqlite",
    }
    # SQLAlchemy renders :id as the driver's own placeholder, which is kept
    assert spans[2]["attributes"]["db.query.text"] == "SELECT email FROM orders WHERE id = ?"
    for op in ("CREATE", "INSERT", "SELECT"):
        assert tripod_capture.sample(COUNT, db_system="sqlite", db_operation_name=op) == 1
    engine.dispose()


def test_failing_statement_sets_error_status(tmp_path: Path, tripod_capture: Capture) -> None:
    engine = instrument_engine(create_engine(f"sqlite:///{tmp_path / 'e.db'}"))
    with pytest.raises(OperationalError), engine.connect() as conn:
        conn.execute(text("SELECT * FROM missing WHERE a = 'x'"))
    [span] = _db_spans(tripod_capture)
    assert span["name"] == "SELECT missing"
    assert span["status"] == "ERROR"
    assert span["attributes"]["error.type"] == "OperationalError"
    assert [e["name"] for e in span["events"]] == ["exception"]
    assert tripod_capture.sample(COUNT, db_system="sqlite", db_operation_name="SELECT") == 1
    # the engine still works afterwards, and still records
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    assert tripod_capture.sample(COUNT, db_system="sqlite", db_operation_name="SELECT") == 2
    engine.dispose()


def test_async_engine(tmp_path: Path, tripod_capture: Capture) -> None:
    async def run() -> list[tuple[int, str]]:
        engine = instrument_engine(create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"))
        try:
            with tripod.span("async job"):
                async with engine.begin() as conn:
                    await conn.execute(text("CREATE TABLE t (id INTEGER, name TEXT)"))
                    await conn.execute(text("INSERT INTO t VALUES (1, 'ann'), (2, 'bo')"))
                    result = await conn.execute(text("SELECT id, name FROM t WHERE id IN (1, 2)"))
                    return [(row[0], row[1]) for row in result]
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == [(1, "ann"), (2, "bo")]
    spans = _db_spans(tripod_capture)
    [parent] = [s for s in tripod_capture.spans_as_dicts() if s["name"] == "async job"]
    assert [s["attributes"]["db.query.text"] for s in spans] == [
        "CREATE TABLE t (id INTEGER, name TEXT)",
        "INSERT INTO t VALUES (?, ?), (?, ?)",
        "SELECT id, name FROM t WHERE id IN (?)",
    ]
    assert {s["attributes"]["db.driver.name"] for s in spans} == {"aiosqlite"}
    assert all(s["parent"] == parent["context"] for s in spans)
    assert tripod_capture.sample(COUNT, db_system="sqlite", db_operation_name="INSERT") == 1


def test_nothing_recorded_before_init(tmp_path: Path) -> None:
    tripod.shutdown()
    engine = instrument_engine(create_engine(f"sqlite:///{tmp_path / 'n.db'}"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 2")).scalar() == 2
    with Capture() as cap:
        assert cap.samples(COUNT) == []
        with engine.connect() as conn:
            conn.execute(text("SELECT 3"))
        assert cap.sample(COUNT, db_system="sqlite", db_operation_name="SELECT") == 1
    engine.dispose()


def test_importing_tripod_loads_neither_sqlalchemy_nor_django() -> None:
    code = (
        "import sys, tripod, tripod.sdk.integrations\n"
        "print(sorted(m for m in ('django', 'sqlalchemy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_exemplar_points_at_the_query_span(tmp_path: Path, tripod_capture: Capture) -> None:
    engine = instrument_engine(create_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    [span] = _db_spans(tripod_capture)
    trace_hex = format(span["context"]["trace_id"], "032x")
    exposition = metrics.render("application/openmetrics-text")[0].decode()
    [bucket] = [
        line
        for line in exposition.splitlines()
        if line.startswith("db_client_operation_duration_seconds_bucket") and "#" in line
    ]
    assert f'trace_id="{trace_hex}"' in bucket
    engine.dispose()


def test_tripod_failures_never_reach_the_query(
    tmp_path: Path, tripod_capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    class BrokenTracer:
        def start_span(self, *args: object, **kwargs: object) -> None:
            raise RuntimeError("tracer bug")

    monkeypatch.setattr(tracing, "current_tracer", BrokenTracer)
    engine = instrument_engine(create_engine(f"sqlite:///{tmp_path / 'b.db'}"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 41 + 1")).scalar() == 42
        assert conn.execute(text("SELECT 2")).scalar() == 2
    assert tripod_capture.sample("tripod_telemetry_dropped_total", signal="spans") == 2
    engine.dispose()
