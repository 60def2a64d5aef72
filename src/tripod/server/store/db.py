"""The one DuckDB database file behind all three stores, and its schema.

One file (``<data-dir>/tripod.duckdb``) holds series, samples, spans and log records. Writers
commit before they return, so whatever an ingest endpoint acknowledged is in DuckDB's write-ahead
log and survives ``kill -9``. Readers use their own cursors (DuckDB's MVCC): a long query never
holds the writers' lock.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from tripod.server.store.memory import tune_allocator

__all__ = ["SCHEMA", "Database", "QueryTimeoutError", "StoreError"]

DB_FILENAME = "tripod.duckdb"

SCHEMA = """
CREATE TABLE IF NOT EXISTS series (sid INTEGER, labels VARCHAR);
-- v is NULL for NaN payloads; kind says which: 0 number, 1 NaN, 2 staleness marker.
CREATE TABLE IF NOT EXISTS samples (sid INTEGER, ts BIGINT, v DOUBLE, kind UTINYINT);
-- Closed time windows of the samples, one row per series and window (store/chunks.py).
CREATE TABLE IF NOT EXISTS chunks (
    sid INTEGER, t0 BIGINT, t1 BIGINT, n INTEGER, tw UTINYINT, vmode UTINYINT, vw UTINYINT,
    vscale UTINYINT, v0 BIGINT, b BLOB
);
CREATE TABLE IF NOT EXISTS metadata (metric VARCHAR, type VARCHAR, help VARCHAR, unit VARCHAR);
-- Each distinct (resource, scope) of spans once; spans.rid refers to it (store/spans.py).
CREATE TABLE IF NOT EXISTS span_resources (rid INTEGER, resource VARCHAR, scope VARCHAR);
-- events/links: NULL when empty. A table of the earlier schema (resource, scope VARCHAR
-- instead of rid) is converted at open (store/spans.py).
CREATE TABLE IF NOT EXISTS spans (
    trace_id VARCHAR, tid BIGINT, span_id VARCHAR, parent_span_id VARCHAR, name VARCHAR,
    kind VARCHAR, service VARCHAR, start_ns BIGINT, end_ns BIGINT, duration_ns BIGINT,
    status_code VARCHAR, status_message VARCHAR, attributes VARCHAR, events VARCHAR,
    links VARCHAR, rid INTEGER
);
CREATE TABLE IF NOT EXISTS logs (
    seq BIGINT, time_ns BIGINT, observed_ns BIGINT, service VARCHAR, severity_number INTEGER,
    severity_text VARCHAR, level VARCHAR, body VARCHAR, body_json BOOLEAN, trace_id VARCHAR,
    span_id VARCHAR,
    attributes VARCHAR, resource VARCHAR, scope VARCHAR
);
"""


class StoreError(RuntimeError):
    """The database could not be opened or written; the message says which file and why."""


class QueryTimeoutError(RuntimeError):
    """A read query hit its time bound and was interrupted."""


class _Gate:
    """Many readers at once, or one exclusive holder (compaction swaps the database file)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._exclusive = False

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._exclusive = True
            while self._readers:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


def _interrupt_after(
    cur: duckdb.DuckDBPyConnection, timeout_s: float, done: threading.Event
) -> None:
    """Interrupt ``cur`` once ``timeout_s`` has passed, and again every 50 ms until its query
    is over: a single interrupt is lost if it lands before the query has started (a loaded
    machine can delay the start past a short bound), and the query would then run unbounded."""
    if done.wait(timeout_s):
        return
    while not done.is_set():
        with contextlib.suppress(duckdb.Error):
            cur.interrupt()
        done.wait(0.05)


class Database:
    """The DuckDB connection, the writers' lock, and per-query cursors for readers.

    Writers hold :attr:`write_lock` and use :attr:`con`; readers call :meth:`query` /
    :meth:`query_numpy`, which run on their own cursor (DuckDB MVCC: no waiting on writers).
    """

    def __init__(self, data_dir: Path, memory_limit: str = "1GB") -> None:
        tune_allocator()  # glibc arenas (store/memory.py): flatter RSS
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DB_FILENAME
        compacted = self.path.with_name(self.path.name + ".compact")
        compacted.unlink(missing_ok=True)  # a compaction cut short: the original is intact
        self.memory_limit = memory_limit
        self.con = self._connect()
        self.write_lock = threading.RLock()
        self.gate = _Gate()
        with self.write_lock:
            self.con.execute(SCHEMA)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            # DuckDB caches blocks up to its memory limit (default: 80% of RAM): keep it bounded
            return duckdb.connect(str(self.path), config={"memory_limit": self.memory_limit})
        except duckdb.Error as exc:
            reason = str(exc).replace("\n", " ")
            if "lock" in reason.lower():
                hint = "is another tripod serve using this --data-dir?"
            elif "memory" in reason.lower():
                hint = "fix storage.memory_limit in --config (e.g. 1GB)"
            else:
                hint = "check the file, or move it away to start an empty store"
            msg = f"cannot open the store {self.path}: {reason}; {hint}"
            raise StoreError(msg) from exc

    @contextlib.contextmanager
    def _cursor(
        self, timeout_s: float, scans: Mapping[str, Any] | None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.gate.shared():
            cur = self.con.cursor()
            for name, value in (scans or {}).items():
                cur.register(name, value)
            done = threading.Event()
            watchdog = threading.Thread(
                target=_interrupt_after, args=(cur, timeout_s, done), daemon=True
            )
            watchdog.start()
            try:
                yield cur
            except duckdb.InterruptException as exc:
                msg = f"query ran longer than {timeout_s:g}s and was stopped; narrow the time range"
                raise QueryTimeoutError(msg) from exc
            finally:
                done.set()
                watchdog.join()
                cur.close()

    def query(
        self,
        sql: str,
        params: Sequence[Any],
        timeout_s: float,
        scans: Mapping[str, Any] | None = None,
    ) -> list[tuple[Any, ...]]:
        """Rows of a read query on its own cursor, interrupted after ``timeout_s`` seconds.

        ``scans`` maps table names used in ``sql`` to numpy column dicts DuckDB reads directly.
        """
        with self._cursor(timeout_s, scans) as cur:
            return cur.execute(sql, list(params)).fetchall()

    def query_numpy(
        self,
        sql: str,
        params: Sequence[Any],
        timeout_s: float,
        scans: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Like :meth:`query`, as numpy columns."""
        with self._cursor(timeout_s, scans) as cur:
            return dict(cur.execute(sql, list(params)).fetchnumpy())

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The writer connection inside one transaction: committed when the block ends (before
        the caller acknowledges anything), rolled back if it raises. Takes :attr:`write_lock`."""
        with self.write_lock:
            con = self.con
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def free_fraction(self) -> float:
        """The share of the file's blocks that are free (reused by DuckDB, never returned)."""
        with self.write_lock:
            row = self.con.execute(
                "SELECT total_blocks, free_blocks FROM pragma_database_size()"
            ).fetchone()
        if not row or not row[0]:
            return 0.0
        return float(row[1]) / float(row[0])

    def compact(self) -> None:
        """Rewrite the database into a new file and swap it in, giving free space back.

        DuckDB reuses the blocks of deleted rows but never shrinks its file; a rewrite does.
        Writers and readers wait while it runs; a crash midway leaves the original file.
        """
        tmp = self.path.with_name(self.path.name + ".compact")
        with self.write_lock, self.gate.exclusive():
            tmp.unlink(missing_ok=True)
            quoted = str(tmp).replace("'", "''")
            self.con.execute(f"ATTACH '{quoted}' AS compacted")
            try:
                self.con.execute("COPY FROM DATABASE tripod TO compacted")
            finally:
                self.con.execute("DETACH compacted")
            self.con.close()
            os.replace(tmp, self.path)
            self.path.with_name(self.path.name + ".wal").unlink(missing_ok=True)
            self.con = self._connect()

    def size_bytes(self) -> int:
        """Bytes on disk: the database file plus its write-ahead log."""
        total = 0
        for path in (self.path, self.path.with_name(self.path.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                total += path.stat().st_size
        return total

    def close(self) -> None:
        with self.write_lock:
            self.con.close()
