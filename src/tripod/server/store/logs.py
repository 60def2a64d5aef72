"""Log records in DuckDB: one row per record, attributes as JSON text.

``seq`` numbers records in arrival order so pagination is stable among records of equal time.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import numpy as np

from tripod.server.config import Limits
from tripod.server.store.db import Database
from tripod.server.store.model import LogQuery
from tripod.server.store.spans import attr_filter, decode_cursor

__all__ = ["LEVELS", "LOG_COLUMNS", "DuckLogStore", "level_of"]

LOG_COLUMNS = (
    "seq", "time_ns", "observed_ns", "service", "severity_number", "severity_text", "level",
    "body", "body_json", "trace_id", "span_id", "attributes", "resource", "scope",
)  # fmt: skip
_INT_COLUMNS = {"seq": np.int64, "time_ns": np.int64, "observed_ns": np.int64,
                "severity_number": np.int32, "body_json": np.bool_}  # fmt: skip

#: OpenTelemetry severity number ranges (1-4 TRACE ... 21-24 FATAL) by level name.
LEVELS = ("trace", "debug", "info", "warn", "error", "fatal")


def level_of(severity_number: int, severity_text: str) -> str:
    """The level name of a record: from its severity number, else its text, else "unspecified"."""
    if 1 <= severity_number <= 24:
        return LEVELS[(severity_number - 1) // 4]
    text = severity_text.strip().lower()
    aliases = {"warning": "warn", "critical": "fatal", "err": "error", "information": "info"}
    text = aliases.get(text, text)
    return text if text in LEVELS else "unspecified"


class DuckLogStore:
    """The DuckDB :class:`~tripod.server.store.model.LogStore`: append log records, search them
    newest first."""

    def __init__(self, db: Database, limits: Limits) -> None:
        self.db = db
        self.limits = limits
        self._seq_lock = threading.Lock()
        row = db.con.execute("SELECT coalesce(max(seq), 0) FROM logs").fetchone()
        self._next_seq = int(row[0] if row else 0) + 1

    def append(self, columns: dict[str, list[Any]]) -> int:
        """Store a batch given as columns (:data:`LOG_COLUMNS` but ``seq``); committed on return."""
        n = len(columns["time_ns"])
        if n == 0:
            return 0
        with self.db.write_lock:
            first = self._next_seq
            batch = {  # noqa: F841  (scanned by DuckDB by name)
                name: (
                    np.arange(first, first + n, dtype=np.int64)
                    if name == "seq"
                    else np.array(columns[name], dtype=_INT_COLUMNS.get(name, object))
                )
                for name in LOG_COLUMNS
            }
            with self.db.transaction() as con:
                con.execute(f"INSERT INTO logs SELECT {', '.join(LOG_COLUMNS)} FROM batch")  # noqa: S608  (fixed column names; values are parameters)
            self._next_seq = first + n
        return n

    def search(self, q: LogQuery) -> tuple[list[dict[str, Any]], str | None]:
        """Records matching every filter, newest first, and a cursor for the next page."""
        where = ["time_ns >= ?", "time_ns <= ?"]
        params: list[Any] = [q.start_ns, q.end_ns]
        if q.service is not None:
            where.append("service = ?")
            params.append(q.service)
        if q.levels:
            where.append(f"level IN ({', '.join('?' for _ in q.levels)})")
            params += list(q.levels)
        if q.contains:
            where.append("body ILIKE ? ESCAPE '\\'")
            escaped = q.contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(f"%{escaped}%")
        if q.trace_id is not None:
            where.append("trace_id = ?")
            params.append(q.trace_id)
        for key, value in q.attributes:
            clause, args = attr_filter(key, value)
            where.append(clause)
            params += args
        if q.cursor:
            c_time, c_seq = decode_cursor(q.cursor)
            where.append("(time_ns < ? OR (time_ns = ? AND seq < ?))")
            params += [c_time, c_time, int(c_seq)]
        limit = max(1, min(q.limit, self.limits.max_rows))
        # the newest matching rows first by key only, then their columns (late materialisation)
        rows = self.db.query(
            f"SELECT {', '.join(LOG_COLUMNS)} FROM logs WHERE rowid IN ("  # noqa: S608
            f"SELECT rowid FROM logs WHERE {' AND '.join(where)} "
            f"ORDER BY time_ns DESC, seq DESC LIMIT {limit + 1}) ORDER BY time_ns DESC, seq DESC",
            params,
            self.limits.query_timeout_s,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        out = [_log_json(dict(zip(LOG_COLUMNS, row, strict=True))) for row in rows]
        next_cursor = None
        if more and rows:
            from tripod.server.store.spans import _encode_cursor

            next_cursor = _encode_cursor(rows[-1][1], str(rows[-1][0]))
        return out, next_cursor


def _log_json(row: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(row["body"]) if row["body_json"] else row["body"]
    return {
        "time_unix_nano": str(row["time_ns"]),
        "observed_time_unix_nano": str(row["observed_ns"]),
        "service": row["service"],
        "severity_number": row["severity_number"],
        "severity_text": row["severity_text"],
        "level": row["level"],
        "body": body,
        "trace_id": row["trace_id"],
        "span_id": row["span_id"],
        "attributes": json.loads(row["attributes"]),
        "resource": json.loads(row["resource"]),
        "scope": json.loads(row["scope"]),
    }
