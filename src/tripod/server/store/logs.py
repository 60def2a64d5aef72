"""Log records in DuckDB: one row per record, attributes as JSON text.

``seq`` numbers records in arrival order so pagination is stable among records of equal time.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
from typing import Any

import numpy as np

from tripod.server.config import Limits
from tripod.server.store.db import Database
from tripod.server.store.model import LogQuery
from tripod.server.store.paging import decode_cursor, page
from tripod.server.store.spans import attr_filter

__all__ = ["LEVELS", "LOG_COLUMNS", "DuckLogStore", "decode_tail", "encode_tail", "level_of"]

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
        where, params = _filters(q)
        limit = max(1, min(q.limit, self.limits.max_rows))
        # the newest matching rows first by key only, then their columns (late materialisation)
        rows = self.db.query(
            f"SELECT {', '.join(LOG_COLUMNS)} FROM logs WHERE rowid IN ("  # noqa: S608
            f"SELECT rowid FROM logs WHERE {' AND '.join(where)} "
            f"ORDER BY time_ns DESC, seq DESC LIMIT {limit + 1}) ORDER BY time_ns DESC, seq DESC",
            params,
            self.limits.query_timeout_s,
        )
        rows, next_cursor = page(rows, limit, lambda r: (r[1], str(r[0])))
        return [_log_json(dict(zip(LOG_COLUMNS, row, strict=True))) for row in rows], next_cursor

    def tail_cursor(self) -> str:
        """A cursor standing for every record stored so far (for :meth:`tail`)."""
        row = self.db.query("SELECT coalesce(max(seq), 0) FROM logs", [], 10.0)
        return encode_tail(int(row[0][0]) if row else 0)

    def tail(self, q: LogQuery, after: str) -> tuple[list[dict[str, Any]], str, bool]:
        """Records matching ``q`` that arrived after ``after``, in arrival order (at most
        ``q.limit``), the cursor to pass next, and whether more are waiting."""
        cut = decode_tail(after)
        where, params = _filters(dataclasses.replace(q, cursor=None, tail=None))
        limit = max(1, min(q.limit, self.limits.max_rows))
        rows = self.db.query(
            f"SELECT {', '.join(LOG_COLUMNS)} FROM logs "  # noqa: S608  (fixed clauses)
            f"WHERE seq > ? AND {' AND '.join(where)} ORDER BY seq LIMIT {limit + 1}",
            [cut, *params],
            self.limits.query_timeout_s,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = encode_tail(rows[-1][0]) if rows else after
        return [_log_json(dict(zip(LOG_COLUMNS, r, strict=True))) for r in rows], nxt, more

    def services(self, start_ns: int, end_ns: int, limit: int) -> list[str]:
        """Service names of records in the range, sorted, at most ``limit``."""
        rows = self.db.query(
            "SELECT DISTINCT service FROM logs WHERE time_ns >= ? AND time_ns <= ? "
            "ORDER BY service LIMIT ?",
            [start_ns, end_ns, limit],
            self.limits.query_timeout_s,
        )
        return [row[0] for row in rows]


def _filters(q: LogQuery) -> tuple[list[str], list[Any]]:
    """WHERE clauses (joined by AND) and their parameters for every filter of ``q``."""
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
    if q.span_id is not None:
        where.append("span_id = ?")
        params.append(q.span_id)
    for key, value in q.attributes:
        clause, args = attr_filter(key, value)
        where.append(clause)
        params += args
    if q.tail:
        where.append("seq <= ?")
        params.append(decode_tail(q.tail))
    if q.cursor:
        c_time, c_seq = decode_cursor(q.cursor)
        where.append("(time_ns < ? OR (time_ns = ? AND seq < ?))")
        params += [c_time, c_time, int(c_seq)]
    return where, params


def encode_tail(seq: int) -> str:
    """The tail cursor of arrival number ``seq``."""
    return base64.urlsafe_b64encode(f"tail:{seq}".encode()).decode()


def decode_tail(cursor: str) -> int:
    """The arrival number a tail cursor stands for; ValueError when it is not one of ours."""
    try:
        kind, _, seq = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind == "tail":
            return int(seq)
    except (ValueError, UnicodeDecodeError):
        pass
    msg = f"tail cursor {cursor[:40]!r} is not a 'tail' value this server returned"
    raise ValueError(msg)


def _log_json(row: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(row["body"]) if row["body_json"] else row["body"]
    return {
        "id": str(row["seq"]),
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
