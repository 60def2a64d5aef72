"""Retention by age and by size, and the file actually shrinking."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.helpers.procs import start_tripod_serve
from tripod.server.app import open_context
from tripod.server.config import ServerConfig, StorageConfig
from tripod.server.deps import ServerContext
from tripod.server.store import Matcher, apply_retention

DAY_MS = 86_400_000


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ServerContext]:
    context = open_context(
        ServerConfig(data_dir=tmp_path / "data", storage=StorageConfig(retention_time_s=0))
    )
    yield context
    context.db.close()


def fill(ctx: ServerContext, now_ms: int, days: int = 6) -> None:
    for day in range(days, 0, -1):
        fill_day(ctx, now_ms - day * DAY_MS)


def fill_day(ctx: ServerContext, start: int) -> None:
    """100,000 samples of 500 series, 2,000 spans and 2,000 log records from ``start`` on."""
    store = ctx.samples
    sids = np.array([store.ref({"__name__": "m", "i": str(i)}) for i in range(500)])  # type: ignore[attr-defined]
    rng = np.random.default_rng(start)
    sid = np.repeat(sids, 200).astype(np.int64)
    ts = (start + np.tile(np.arange(200) * 15_000, len(sids))).astype(np.int64)
    store.append_refs(sid, ts, rng.random(len(sid)))  # type: ignore[attr-defined]
    ctx.spans.append(_spans(start * 1_000_000, 2000))
    ctx.logs.append(_logs(start * 1_000_000, 2000))


def _spans(start_ns: int, n: int) -> dict[str, list[Any]]:
    ids = [f"{start_ns:016x}{i:016x}" for i in range(n)]
    return {
        "trace_id": ids, "tid": [0] * n, "span_id": [f"{i:016x}" for i in range(n)],
        "parent_span_id": [""] * n, "name": ["op"] * n, "kind": ["server"] * n,
        "service": ["svc"] * n, "start_ns": [start_ns + i for i in range(n)],
        "end_ns": [start_ns + i + 10 for i in range(n)], "duration_ns": [10] * n,
        "status_code": ["ok"] * n, "status_message": [""] * n, "attributes": ["{}"] * n,
        "events": ["[]"] * n, "links": ["[]"] * n, "resource": ["{}"] * n, "scope": ["{}"] * n,
    }  # fmt: skip


def _logs(start_ns: int, n: int) -> dict[str, list[Any]]:
    return {
        "time_ns": [start_ns + i for i in range(n)], "observed_ns": [start_ns] * n,
        "service": ["svc"] * n, "severity_number": [9] * n, "severity_text": ["INFO"] * n,
        "level": ["info"] * n, "body": [f"line {i} " + "x" * 80 for i in range(n)],
        "body_json": [False] * n, "trace_id": [""] * n, "span_id": [""] * n,
        "attributes": ["{}"] * n, "resource": ["{}"] * n, "scope": ["{}"] * n,
    }  # fmt: skip


def counts(ctx: ServerContext) -> tuple[int, int, int]:
    db = ctx.db
    found = [
        db.query(f"SELECT count(*) FROM {t}", [], 10)[0][0] for t in ("samples", "spans", "logs")
    ]
    # head rows and compacted ones in one statement (one snapshot): the background compaction
    # (on by default) may commit a window between two statements, counting it twice
    found[0] = db.query(
        "SELECT (SELECT count(*) FROM samples) + (SELECT coalesce(sum(n), 0) FROM chunks)", [], 10
    )[0][0]
    return found[0], found[1], found[2]


def test_age_retention_deletes_old_data_of_every_signal_and_shrinks_the_file(
    ctx: ServerContext,
) -> None:
    now_ms = int(time.time() * 1000)
    fill(ctx, now_ms)
    before = ctx.db.size_bytes()
    assert counts(ctx) == (600_000, 12_000, 12_000)
    ctx.config = dataclasses.replace(
        ctx.config, storage=StorageConfig(retention_time_s=2.5 * 86400)
    )
    report = apply_retention(ctx.db, ctx.samples, ctx.config.storage, now_s=now_ms / 1000)
    assert counts(ctx) == (200_000, 4000, 4000)
    assert report.compacted
    assert report.size_after < before * 0.75
    assert ctx.db.size_bytes() == report.size_after
    [series] = ctx.samples.select([Matcher("i", "=", "7")], 0, now_ms)
    assert series.timestamps[0] >= now_ms - 2.5 * DAY_MS
    # the in-memory bounds follow: the series has no samples in the deleted range any more
    assert ctx.samples.series([[Matcher("i", "=", "7")]], 0, now_ms - 3 * DAY_MS) == []


@pytest.fixture
def ctx_no_chunks(tmp_path: Path) -> Iterator[ServerContext]:
    """Background compaction into chunks off: it would free the head's blocks at a moment of
    its own."""
    storage = StorageConfig(retention_time_s=0, compress_samples=False)
    context = open_context(ServerConfig(data_dir=tmp_path / "data", storage=storage))
    yield context
    context.db.close()


def test_steady_state_reuses_freed_blocks_instead_of_rewriting_the_file(
    ctx_no_chunks: ServerContext,
) -> None:
    """Each pass deletes a third of the rows, but as many were written since the last one:
    DuckDB reuses the freed blocks, so the file is not rewritten (a rewrite reads and writes
    every row and drops DuckDB's cache); once deletes are not offset by writes, it is."""
    ctx = ctx_no_chunks
    now_ms = int(time.time() * 1000) - 10 * DAY_MS
    fill(ctx, now_ms, days=3)
    cfg = StorageConfig(retention_time_s=2.5 * 86400)
    report = apply_retention(ctx.db, ctx.samples, cfg, now_s=now_ms / 1000)
    assert report.compacted  # the first pass: a third deleted, nothing written before it
    assert counts(ctx) == (200_000, 4000, 4000)
    sizes = []
    for _ in range(4):
        fill_day(ctx, now_ms)
        now_ms += DAY_MS
        report = apply_retention(ctx.db, ctx.samples, cfg, now_s=now_ms / 1000, previous=report)
        assert report.deleted == {"samples": 100_000, "spans": 2000, "logs": 2000}
        assert not report.compacted
        assert counts(ctx) == (200_000, 4000, 4000)
        sizes.append(report.size_after)
    assert max(sizes) <= sizes[0] * 1.2  # the freed blocks were reused: no growth
    # the samples moved into chunks (5x smaller) free most of the head's blocks, and a day of
    # writes does not fill them again: the space left free before the pass is given back
    assert ctx.samples.compact(now_ms) == 200_000  # type: ignore[attr-defined]
    fill_day(ctx, now_ms)
    now_ms += DAY_MS
    report = apply_retention(ctx.db, ctx.samples, cfg, now_s=now_ms / 1000, previous=report)
    assert report.deleted["samples"] == 100_000
    assert report.compacted
    assert report.size_after < sizes[-1] * 0.75
    now_ms += DAY_MS  # a day with nothing written: the store shrinks by half
    report = apply_retention(ctx.db, ctx.samples, cfg, now_s=now_ms / 1000, previous=report)
    assert report.compacted
    assert counts(ctx) == (100_000, 2000, 2000)


def test_size_retention_drops_oldest_data_until_under_the_limit(ctx: ServerContext) -> None:
    now_ms = int(time.time() * 1000)
    fill(ctx, now_ms)
    with ctx.db.write_lock:
        ctx.db.con.execute("CHECKPOINT")
    size = ctx.db.size_bytes()
    ctx.config = dataclasses.replace(
        ctx.config, storage=StorageConfig(retention_time_s=0, retention_size_bytes=size // 2)
    )
    report = apply_retention(ctx.db, ctx.samples, ctx.config.storage, now_s=now_ms / 1000)
    assert report.size_after <= size // 2
    samples, spans, _ = counts(ctx)
    assert 0 < samples < 600_000
    assert 0 < spans < 12_000
    newest = ctx.samples.select([Matcher("i", "=", "7")], 0, now_ms)[0].timestamps[-1]
    assert newest == now_ms - DAY_MS + 199 * 15_000  # the newest data is what stays


def test_retention_loop_runs_in_the_server(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("storage:\n  retention_check_interval: 200ms\n")
    old_ns = time.time_ns() - 3 * DAY_MS * 1_000_000
    trace_id = "ab" * 16
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": trace_id, "spanId": "cd" * 8, "name": "old",
        "startTimeUnixNano": str(old_ns), "endTimeUnixNano": str(old_ns + 1000)}]}]}]}  # fmt: skip
    with start_tripod_serve(tmp_path / "d", "--retention-time", "1d",
                            "--config", str(config)) as proc:  # fmt: skip
        r = httpx.post(proc.url + "/v1/traces", content=json.dumps(body),
                       headers={"Content-Type": "application/json"})  # fmt: skip
        assert r.status_code == 200
        status = 200
        for _ in range(200):  # the loop deletes it within a few check intervals
            status = httpx.get(f"{proc.url}/api/v1/traces/{trace_id}").status_code
            if status == 404:
                break
            time.sleep(0.1)
        assert status == 404
