"""Bytes on disk per stored sample, span and log record (DuckDB file after a checkpoint).

Run: ``.venv/bin/python benchmarks/store_bytes.py``. Each figure writes into a fresh store in a
temporary directory (removed at the end) through the store API the ingest paths use, then
divides the growth of the used database blocks by the number of rows.

Samples are realistic rather than random: counters growing by small integers, gauges with two
decimals, 15 s scrape interval, one timestamp per scrape of a target (100 targets). Two write
patterns: "scrape" (each append is one timestamp of every series, as scraping and remote write
produce) and "bulk" (each append is a run of timestamps per series, as a backfill import does).
Each is measured twice: as written (the store's background compaction has moved the closed
2-hour windows into chunks, the rest is still head rows) and after compacting everything
(``compact`` up to the last sample: all of it in chunks, as Prometheus's compacted blocks).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from tripod.server.app import open_context  # noqa: E402
from tripod.server.config import ServerConfig, StorageConfig  # noqa: E402

SERIES = 2_000
POINTS = 720  # 3 hours at 15 s
T0 = 1_700_000_000_000


def _file_size(ctx: object) -> int:
    """Bytes of used blocks after a checkpoint (free blocks are reused, and a compaction by
    retention returns them to the disk: benchmarks count what the data occupies)."""
    db = ctx.db
    with db.write_lock:
        db.con.execute("CHECKPOINT")
        row = db.con.execute(
            "SELECT block_size, total_blocks, free_blocks FROM pragma_database_size()"
        ).fetchone()
    return int((row[1] - row[2]) * row[0])


def _values(rng: np.random.Generator) -> np.ndarray:
    """POINTS x SERIES values: half counters, half gauges."""
    counters = np.cumsum(rng.integers(0, 20, size=(POINTS, SERIES // 2)), axis=0).astype(float)
    gauges = np.round(rng.normal(50, 10, size=(POINTS, SERIES // 2)), 2)
    return np.concatenate([counters, gauges], axis=1)


def samples(pattern: str, tmp: Path) -> tuple[float, float]:
    ctx = open_context(
        ServerConfig(data_dir=tmp / pattern, storage=StorageConfig(retention_time_s=0))
    )
    store = ctx.samples
    store.auto_compact = True  # type: ignore[attr-defined]  (what tripod serve does: compress_samples, on by default)
    ref = store.ref  # type: ignore[attr-defined]
    names = [
        {"__name__": "bench_metric", "job": "api", "instance": f"host-{i // 20}", "series": str(i)}
        for i in range(SERIES)
    ]
    sids = np.array([ref(labels) for labels in names], dtype=np.int64)
    base = _file_size(ctx)
    values = _values(np.random.default_rng(7))
    # one timestamp per scrape of a target (100 targets, a few ms of jitter), as Prometheus stamps
    target_jitter = np.random.default_rng(8).integers(0, 5, size=(POINTS, 100))
    jitter = target_jitter[:, np.arange(SERIES) // 20]  # a target's series were made together
    if pattern == "scrape":
        for p in range(POINTS):
            ts = T0 + p * 15_000 + jitter[p]
            store.append_refs(sids, ts.astype(np.int64), values[p])  # type: ignore[attr-defined]
    else:
        for chunk in range(0, SERIES, 500):
            cols = slice(chunk, chunk + 500)
            sid = np.repeat(sids[cols], POINTS)
            ts = (T0 + np.arange(POINTS)[:, None] * 15_000 + jitter[:, cols]).T.ravel()
            store.append_refs(sid, ts.astype(np.int64), values[:, cols].T.ravel())  # type: ignore[attr-defined]
    store.compact()  # type: ignore[attr-defined]  (what the background compaction does)
    size = _file_size(ctx) - base
    store.compact(T0 + POINTS * 15_000)  # type: ignore[attr-defined]
    compacted = _file_size(ctx) - base
    store.db.close()  # type: ignore[attr-defined]
    return size / (SERIES * POINTS), compacted / (SERIES * POINTS)


def spans_and_logs(tmp: Path, n: int = 200_000) -> tuple[float, float]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from ingest import log_request, span_request
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb

    from tripod.server.ingest.otlp_convert import logs_to_columns, spans_to_columns
    from tripod.server.store import AppendResult

    ctx = open_context(
        ServerConfig(data_dir=tmp / "otlp", storage=StorageConfig(retention_time_s=0))
    )
    base = _file_size(ctx)
    for i in range(n // 1000):
        req = trace_pb.ExportTraceServiceRequest.FromString(span_request(i))
        ctx.spans.append(spans_to_columns(req, ctx.config.limits, AppendResult()))
    mid = _file_size(ctx)
    for i in range(n // 1000):
        logs_req = logs_pb.ExportLogsServiceRequest.FromString(log_request(i))
        ctx.logs.append(
            logs_to_columns(logs_req, ctx.config.limits, AppendResult(), time.time_ns())
        )
    end = _file_size(ctx)
    ctx.db.close()
    return (mid - base) / n, (end - mid) / n


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="tripod-bytes-"))
    try:
        for pattern in ("scrape", "bulk"):
            written, compacted = samples(pattern, tmp)
            print(
                f"bytes/sample ({pattern} appends, {SERIES} series x {POINTS} points): "
                f"{written:.2f} as written, {compacted:.2f} all compacted"
            )
        span, log = spans_and_logs(tmp)
        print("bytes/span (benchmarks/ingest.py spans: 4 attributes, 25% roots): " + f"{span:.0f}")
        print("bytes/log record (benchmarks/ingest.py logs: body, trace ids, 1 attribute): "
              f"{log:.0f}")  # fmt: skip
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
