"""Retention by age and by size, and giving the freed space back to the disk.

Every ``storage.retention_check_interval`` of the ``--config`` file (default 1m) the loop deletes
samples, spans and log records older than ``--retention-time``; when the store is larger than
``--retention-size`` it deletes the oldest share of each table that brings it to 80% of the
limit. DuckDB reuses the blocks of deleted rows but never shrinks its file, so the database is
rewritten into a new file (:meth:`Database.compact`), which does shrink it, when the store
shrank: when a pass deletes a quarter or more of the rows net of what was written since the
previous pass, when a quarter or more of the file was still free before the pass's deletes (space
a whole interval of writes did not reuse), or when the size limit is still exceeded. In steady
state (deletes balanced by writes) the freed blocks are reused and the file is never rewritten:
a rewrite reads and writes every row and drops DuckDB's cached blocks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

import numpy as np
from starlette.concurrency import run_in_threadpool

from tripod.server.config import StorageConfig
from tripod.server.store import chunks
from tripod.server.store.db import Database
from tripod.server.store.memory import release_memory
from tripod.server.store.model import SampleStore

__all__ = ["RetentionReport", "apply_retention", "retention_loop"]

log = logging.getLogger("tripod.server.retention")

#: (table, time column, how many of its units make one millisecond)
_TABLES = (("samples", "ts", 1), ("spans", "start_ns", 1_000_000), ("logs", "time_ns", 1_000_000))
_COMPACT_FREE_FRACTION = 0.25


@dataclasses.dataclass
class RetentionReport:
    deleted: dict[str, int] = dataclasses.field(default_factory=dict)
    compacted: bool = False
    size_before: int = 0
    size_after: int = 0
    #: rows (samples, spans, log records) left after the pass: the next pass's baseline
    rows_after: int = 0


def _delete(db: Database, table: str, column: str, cutoff: int, inclusive: bool = False) -> int:
    op = "<=" if inclusive else "<"
    if table == "samples":
        return _delete_samples(db, cutoff, op)
    with db.write_lock:
        row = db.con.execute(
            f"DELETE FROM {table} WHERE {column} {op} ?",  # noqa: S608  (fixed names)
            [cutoff],
        ).fetchone()
    return int(row[0]) if row else 0


def _delete_samples(db: Database, cutoff: int, op: str) -> int:
    """Delete samples ``ts {op} cutoff`` from the head and the chunks in one transaction; a
    chunk holding samples on both sides is re-encoded with the newer ones."""
    with db.transaction() as con:
        row = con.execute(f"DELETE FROM samples WHERE ts {op} ?", [cutoff]).fetchone()  # noqa: S608
        deleted = int(row[0]) if row else 0
        row = con.execute(
            f"SELECT coalesce(sum(n), 0) FROM chunks WHERE t1 {op} ?",  # noqa: S608
            [cutoff],
        ).fetchone()
        deleted += int(row[0]) if row else 0
        con.execute(f"DELETE FROM chunks WHERE t1 {op} ?", [cutoff])  # noqa: S608
        cols = con.execute(
            f"SELECT {chunks.READ_COLUMNS} FROM chunks WHERE t0 {op} ?",  # noqa: S608
            [cutoff],
        ).fetchnumpy()
        sid, ts, values = chunks.decode(chunks.sorted_rows(dict(cols)))
        if len(sid):
            keep = ts > cutoff if op == "<=" else ts >= cutoff
            deleted += int(np.count_nonzero(~keep))
            con.execute(f"DELETE FROM chunks WHERE t0 {op} ?", [cutoff])  # noqa: S608
            if keep.any():
                batch = chunks.encode_runs(sid[keep], ts[keep], values[keep])  # noqa: F841
                con.execute("INSERT INTO chunks SELECT * FROM batch")
    return deleted


def _oldest_share_cutoff(db: Database, table: str, column: str, share: float) -> int | None:
    if table == "samples":  # chunks count as their n samples at their last timestamp
        with db.write_lock:
            row = db.con.execute(
                "SELECT min(t) FROM (SELECT t, sum(c) OVER (ORDER BY t) AS below, "
                "sum(c) OVER () AS total FROM (SELECT ts AS t, 1 AS c FROM samples "
                "UNION ALL SELECT t1, n FROM chunks)) WHERE below >= ? * total",
                [share],
            ).fetchone()
        return None if row is None or row[0] is None else int(row[0])
    with db.write_lock:
        row = db.con.execute(
            f"SELECT quantile_disc({column}, ?) FROM {table}",  # noqa: S608  (fixed names)
            [share],
        ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _row_count(db: Database) -> int:
    total = 0
    with db.write_lock:
        for table, _, _ in _TABLES:
            row = db.con.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
            total += int(row[0]) if row else 0
        row = db.con.execute("SELECT coalesce(sum(n), 0) FROM chunks").fetchone()
        total += int(row[0]) if row else 0
    return total


def _finish(
    db: Database, samples: SampleStore, limit: int, report: RetentionReport, *, shrank: bool
) -> None:
    """Checkpoint after deletes; rewrite the file when the store ``shrank`` or is still over
    the size limit."""
    with db.write_lock:
        db.con.execute("CHECKPOINT")
    if "samples" in report.deleted:
        samples.refresh_bounds()
    if shrank or (limit and db.size_bytes() > limit):
        db.compact()
        report.compacted = True


def apply_retention(
    db: Database,
    samples: SampleStore,
    cfg: StorageConfig,
    now_s: float | None = None,
    *,
    previous: RetentionReport | None = None,
) -> RetentionReport:
    """One retention pass over ``db`` by ``cfg``'s time and size limits (blocking: run it off
    the event loop); ``samples`` re-reads its series bounds when samples were deleted.
    ``previous`` is the last pass's report: the rows written since it offset this pass's
    deletes when deciding whether the file is rewritten (none: nothing was written)."""
    limit = cfg.retention_size_bytes
    now_s = time.time() if now_s is None else now_s
    report = RetentionReport(size_before=db.size_bytes())
    rows_before = _row_count(db)
    written = max(rows_before - previous.rows_after, 0) if previous else 0
    with db.write_lock:  # rows still in the write-ahead log take their blocks first
        db.con.execute("CHECKPOINT")
    free_before = db.free_fraction()
    if cfg.retention_time_s > 0:
        cutoff_ms = int((now_s - cfg.retention_time_s) * 1000)
        for table, column, per_ms in _TABLES:
            n = _delete(db, table, column, cutoff_ms * per_ms)
            if n:
                report.deleted[table] = report.deleted.get(table, 0) + n
        if report.deleted:
            deleted = sum(report.deleted.values())
            shrank = (
                deleted - written >= _COMPACT_FREE_FRACTION * max(rows_before, 1)
                or free_before >= _COMPACT_FREE_FRACTION
            )
            _finish(db, samples, limit, report, shrank=shrank)
    if limit and db.size_bytes() > limit and db.free_fraction() > 0.05:
        db.compact()  # returning the space of deleted rows may be enough
        report.compacted = True
    for _ in range(8):  # each round drops the oldest share that should reach 80% of the limit
        size = db.size_bytes()
        if not limit or size <= limit:
            break
        share = min(0.9, 1.0 - 0.8 * limit / size)
        for table, column, _ in _TABLES:
            cutoff = _oldest_share_cutoff(db, table, column, share)
            if cutoff is not None:
                n = _delete(db, table, column, cutoff, inclusive=True)
                report.deleted[table] = report.deleted.get(table, 0) + n
        _finish(db, samples, limit, report, shrank=False)
    report.size_after = db.size_bytes()
    report.rows_after = _row_count(db)
    return report


async def retention_loop(db: Database, samples: SampleStore, cfg: StorageConfig) -> None:
    """Apply retention forever, every ``cfg.retention_check_interval_s``, first giving glibc's
    free memory back (:func:`~tripod.server.store.memory.release_memory`); errors are logged,
    never fatal."""
    interval = cfg.retention_check_interval_s
    previous: RetentionReport | None = None
    while True:
        await asyncio.sleep(interval)
        await run_in_threadpool(release_memory)  # glibc's free memory back to the system
        if not cfg.retention_time_s and not cfg.retention_size_bytes:
            continue
        try:
            report = await run_in_threadpool(apply_retention, db, samples, cfg, previous=previous)
        except Exception:
            log.exception("retention pass failed; will retry in %.0fs", interval)
            continue
        previous = report
        if report.deleted or report.compacted:
            log.info("retention: deleted %s, compacted=%s, %d -> %d bytes", report.deleted,
                     report.compacted, report.size_before, report.size_after)  # fmt: skip
