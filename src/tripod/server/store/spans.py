"""Spans in DuckDB: one row per span, attributes/events/links as JSON text.

``tid`` (the first 8 bytes of the trace id as a signed integer) makes trace-by-id a scan of one
compressed integer column instead of a string column.

Each distinct (resource, scope) pair is stored once, in ``span_resources``; a span row holds its
integer ``rid`` (the resource JSON alone was ~190 bytes repeated in every row, written to the
write-ahead log per span). The service name stays a span column (queries filter on it). Empty
events/links are stored as NULL and read back as ``[]``. A store written with the earlier
schema (``resource``/``scope`` text in every span row) is converted when it is opened.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from typing import Any

import numpy as np

from tripod.server.config import Limits
from tripod.server.store.db import Database, StoreError
from tripod.server.store.model import TraceQuery
from tripod.server.store.paging import decode_cursor, page

__all__ = [
    "SPAN_COLUMNS",
    "DuckSpanStore",
    "attr_filter",
    "attr_path",
    "decode_cursor",
    "trace_tid",
]

SPAN_COLUMNS = (
    "trace_id", "tid", "span_id", "parent_span_id", "name", "kind", "service", "start_ns",
    "end_ns", "duration_ns", "status_code", "status_message", "attributes", "events", "links",
    "resource", "scope",
)  # fmt: skip
_INT_COLUMNS = frozenset({"tid", "start_ns", "end_ns", "duration_ns"})
#: the columns of the ``spans`` table: SPAN_COLUMNS with ``rid`` for ``resource`` and ``scope``
_STORED = (*SPAN_COLUMNS[:-2], "rid")
#: SPAN_COLUMNS read back from ``spans s`` joined with ``span_resources r``
_SELECT_SPAN = ", ".join(
    [f"s.{name}" for name in SPAN_COLUMNS[:-4]]
    + ["coalesce(s.events, '[]')", "coalesce(s.links, '[]')", "r.resource", "r.scope"]
)
_FROM_SPAN = "spans s LEFT JOIN span_resources r ON s.rid = r.rid"
#: the (resource, scope) -> rid memo holds at most this many pairs; past it, misses ask the table
_MAX_RIDS = 65_536
_VIEW_COLUMNS = (
    "span_id", "parent_span_id", "name", "kind", "service", "start_ns", "duration_ns",
    "status_code", "status_message", "event_count",
)  # fmt: skip


def trace_tid(trace_id_hex: str) -> int:
    """The signed 64-bit integer of a trace id's first 16 hex digits (the ``tid`` column)."""
    value = int(trace_id_hex[:16] or "0", 16)
    return value - (1 << 64) if value >= 1 << 63 else value


def attr_filter(key: str, value: str) -> tuple[str, list[Any]]:
    """SQL (and its parameters) for "attribute or resource attribute ``key`` equals ``value``".

    A plain substring test on the JSON text runs first: it is ~10x cheaper than extracting the
    key and rules out most rows (skipped when JSON escaping could hide the value).
    """
    path = attr_path(key)
    exact = "(json_extract_string(attributes, ?) = ? OR json_extract_string(resource, ?) = ?)"
    if any(ch in value for ch in '"\\') or any(ord(ch) < 32 for ch in value) or not value:
        return exact, [path, value, path, value]
    return (
        f"((contains(attributes, ?) OR contains(resource, ?)) AND {exact})",
        [value, value, path, value, path, value],
    )


def _span_attr_filter(key: str, value: str) -> tuple[str, list[Any]]:
    """:func:`attr_filter` for spans, whose resource is in ``span_resources``.

    Same rows: (contains(a) OR contains(r)) AND (a = v OR r = v) is (a = v) OR (r = v), as a
    match implies the substring.
    """
    path = attr_path(key)
    if any(ch in value for ch in '"\\') or any(ord(ch) < 32 for ch in value) or not value:
        pre, pre_args = "", []
    else:
        pre, pre_args = "contains({}, ?) AND ", [value]
    a_pre, r_pre = pre.format("attributes"), pre.format("resource")
    sub = f"SELECT rid FROM span_resources WHERE {r_pre}json_extract_string(resource, ?) = ?"  # noqa: S608  (fixed SQL; values are parameters)
    sql = f"(({a_pre}json_extract_string(attributes, ?) = ?) OR rid IN ({sub}))"
    return sql, [*pre_args, path, value, *pre_args, path, value]


def attr_path(key: str) -> str:
    """A DuckDB JSON path selecting the top-level key ``key`` (dots are part of OTel keys)."""
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclasses.dataclass
class _Pending:
    """A batch waiting to be committed (``done``), and the error of its commit if it failed."""

    columns: dict[str, Any]
    resources: list[str]
    scopes: list[str]
    done: bool = False
    error: Exception | None = None


class DuckSpanStore:
    """The DuckDB :class:`~tripod.server.store.model.SpanStore`: append spans, fetch a trace,
    search trace summaries."""

    def __init__(self, db: Database, limits: Limits) -> None:
        self.db = db
        self.limits = limits
        self._pending: list[_Pending] = []  # batches waiting for the next commit
        self._pending_lock = threading.Lock()
        with db.write_lock:
            _migrate(db)
            rows = db.con.execute(
                "SELECT count(*), coalesce(max(rid) + 1, 0) FROM span_resources"
            ).fetchone()
            count, self._next_rid = (int(rows[0]), int(rows[1])) if rows else (0, 0)
            # (resource, scope) -> rid; complete (every stored pair) unless it outgrew _MAX_RIDS
            self._rids: dict[tuple[str, str], int] = {}
            self._rids_complete = count <= _MAX_RIDS
            if self._rids_complete:
                for rid, resource, scope in db.con.execute(
                    "SELECT rid, resource, scope FROM span_resources"
                ).fetchall():
                    self._rids[(resource, scope)] = rid

    def append(self, columns: dict[str, list[Any]]) -> int:
        """Store a batch given as columns (:data:`SPAN_COLUMNS`); committed on return.

        Group commit: batches that arrive while another is being committed wait for the writers'
        lock and then go into the database together, in one ``INSERT`` and one ``COMMIT``. A
        caller returns only once the commit holding its batch is done (or raises its error).
        """
        n = len(columns["trace_id"])
        if n == 0:
            return 0
        mine = _Pending(
            {
                name: np.array(columns[name], dtype=np.int64 if name in _INT_COLUMNS else object)
                for name in SPAN_COLUMNS[:-2]
            },
            columns["resource"],
            columns["scope"],
        )
        with self._pending_lock:
            self._pending.append(mine)
        with self.db.write_lock:
            if not mine.done:  # no one took it: commit it with whatever else is waiting
                with self._pending_lock:
                    group, self._pending = self._pending, []
                self._commit(group)
        if mine.error is not None:
            msg = f"storing {n} spans failed: {mine.error}"
            raise StoreError(msg) from mine.error
        return n

    def _rid_column(
        self, resources: list[str], scopes: list[str], new: dict[tuple[str, str], int]
    ) -> np.ndarray[Any, np.dtype[np.int32]]:
        """The rid of each span's (resource, scope); pairs not stored yet get one in ``new``.

        Spans of one resource and scope come in a run holding the same string objects, so the
        memo is consulted once per run. Called with the writers' lock held.
        """
        out = np.empty(len(resources), dtype=np.int32)
        last_r: str | None = None
        last_s: str | None = None
        rid = 0
        for i, (r, s) in enumerate(zip(resources, scopes, strict=True)):
            if r is not last_r or s is not last_s:
                last_r, last_s = r, s
                rid = self._rid_of((r, s), new)
            out[i] = rid
        return out

    def _rid_of(self, key: tuple[str, str], new: dict[tuple[str, str], int]) -> int:
        rid = self._rids.get(key)
        if rid is None:
            rid = new.get(key)
        if rid is None and not self._rids_complete:
            row = self.db.con.execute(
                "SELECT min(rid) FROM span_resources WHERE resource = ? AND scope = ?", list(key)
            ).fetchone()
            rid = row[0] if row else None
            if rid is not None:
                self._remember(key, rid)
        if rid is None:
            rid = new[key] = self._next_rid + len(new)
        return int(rid)

    def _remember(self, key: tuple[str, str], rid: int) -> None:
        if len(self._rids) >= _MAX_RIDS:  # pathological: a new resource per request
            self._rids.clear()
            self._rids_complete = False
        self._rids[key] = rid

    def _commit(self, group: list[_Pending]) -> None:
        new: dict[tuple[str, str], int] = {}
        try:
            rids = [self._rid_column(p.resources, p.scopes, new) for p in group]
            batch = (  # noqa: F841  (scanned by DuckDB by name)
                {**group[0].columns, "rid": rids[0]}
                if len(group) == 1
                else {
                    **{
                        name: np.concatenate([p.columns[name] for p in group])
                        for name in SPAN_COLUMNS[:-2]
                    },
                    "rid": np.concatenate(rids),
                }
            )
            added = {  # noqa: F841  (scanned by DuckDB by name)
                "rid": np.array(list(new.values()), dtype=np.int32),
                "resource": np.array([k[0] for k in new], dtype=object),
                "scope": np.array([k[1] for k in new], dtype=object),
            }
            with self.db.transaction() as con:
                if new:
                    con.execute("INSERT INTO span_resources SELECT rid, resource, scope FROM added")
                names = ", ".join(_STORED)
                con.execute(f"INSERT INTO spans ({names}) SELECT {names} FROM batch")  # noqa: S608  (fixed column names)
        except Exception as exc:  # every waiting caller gets it
            for p in group:
                p.error, p.done = exc, True
            return
        self._next_rid += len(new)
        for key, rid in new.items():
            self._remember(key, rid)
        for p in group:
            p.done = True

    def trace(self, trace_id: str) -> list[dict[str, Any]]:
        """Every span of ``trace_id`` ordered by start time (at most ``limits.max_rows`` * 10)."""
        rows = self.db.query(
            f"SELECT {_SELECT_SPAN} FROM {_FROM_SPAN} WHERE s.tid = ? AND s.trace_id = ? "  # noqa: S608
            "ORDER BY s.start_ns, s.span_id LIMIT ?",
            [trace_tid(trace_id), trace_id, self.limits.max_rows * 10],
            self.limits.query_timeout_s,
        )
        return [_span_json(dict(zip(SPAN_COLUMNS, row, strict=True))) for row in rows]

    def trace_columns(
        self, trace_id: str, max_spans: int, with_attributes: bool = False
    ) -> dict[str, list[Any]]:
        """The spans of ``trace_id`` as columns in :meth:`trace`'s order, at most ``max_spans``."""
        names = _VIEW_COLUMNS + (("attributes", "events") if with_attributes else ())
        select = (
            ", ".join(names)
            .replace("event_count", "CAST(coalesce(json_array_length(events), 0) AS INTEGER)")
            .replace(", events", ", coalesce(events, '[]')")
        )
        cols = self.db.query_numpy(  # numpy columns: about 2x faster than rows for 10^4 spans
            f"SELECT {select} FROM spans WHERE tid = ? AND trace_id = ? "  # noqa: S608
            "ORDER BY start_ns, span_id LIMIT ?",
            [trace_tid(trace_id), trace_id, max(0, max_spans)],
            self.limits.query_timeout_s,
        )
        return {name: col.tolist() for name, col in zip(names, cols.values(), strict=True)}

    def span(self, trace_id: str, span_id: str) -> dict[str, Any] | None:
        """One span as :meth:`trace` gives it, or None."""
        rows = self.db.query(
            f"SELECT {_SELECT_SPAN} FROM {_FROM_SPAN} "  # noqa: S608
            "WHERE s.tid = ? AND s.trace_id = ? AND s.span_id = ? ORDER BY s.start_ns LIMIT 1",
            [trace_tid(trace_id), trace_id, span_id],
            self.limits.query_timeout_s,
        )
        return _span_json(dict(zip(SPAN_COLUMNS, rows[0], strict=True))) if rows else None

    def services(self, start_ns: int, end_ns: int, limit: int) -> list[str]:
        """Service names of spans started in the range, sorted, at most ``limit``."""
        rows = self.db.query(
            "SELECT DISTINCT service FROM spans WHERE start_ns >= ? AND start_ns <= ? "
            "ORDER BY service LIMIT ?",
            [start_ns, end_ns, limit],
            self.limits.query_timeout_s,
        )
        return [row[0] for row in rows]

    def operations(self, service: str | None, start_ns: int, end_ns: int, limit: int) -> list[str]:
        """Span names (of ``service``, or all) started in the range, sorted, at most ``limit``."""
        extra, params = ("AND service = ? ", [service]) if service is not None else ("", [])
        rows = self.db.query(
            f"SELECT DISTINCT name FROM spans WHERE start_ns >= ? AND start_ns <= ? {extra}"  # noqa: S608
            "ORDER BY name LIMIT ?",
            [start_ns, end_ns, *params, limit],
            self.limits.query_timeout_s,
        )
        return [row[0] for row in rows]

    def search(self, q: TraceQuery) -> tuple[list[dict[str, Any]], str | None]:
        """Summaries of traces with a span matching every filter, newest first, and a cursor."""
        where = ["start_ns >= ?", "start_ns <= ?"]
        params: list[Any] = [q.start_ns, q.end_ns]
        for column, value in (("service", q.service), ("name", q.operation),
                              ("status_code", q.status)):  # fmt: skip
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if q.min_duration_ns is not None:
            where.append("duration_ns >= ?")
            params.append(q.min_duration_ns)
        if q.max_duration_ns is not None:
            where.append("duration_ns <= ?")
            params.append(q.max_duration_ns)
        for key, value in q.attributes:
            clause, args = _span_attr_filter(key, value)
            where.append(clause)
            params += args
        having = ""
        if q.cursor:
            c_start, c_trace = decode_cursor(q.cursor)
            having = "HAVING (min(start_ns) < ?) OR (min(start_ns) = ? AND trace_id < ?)"
            params += [c_start, c_start, c_trace]
        limit = max(1, min(q.limit, self.limits.max_rows))
        sql = f"""
            WITH hits AS (
                SELECT trace_id, any_value(tid) AS tid, min(start_ns) AS first_ns
                FROM spans WHERE {" AND ".join(where)}
                GROUP BY trace_id {having}
                ORDER BY first_ns DESC, trace_id DESC LIMIT {limit + 1}
            )
            SELECT s.trace_id, min(s.start_ns), max(s.end_ns), count(*),
                   count_if(s.status_code = 'error'),
                   list(DISTINCT s.service ORDER BY s.service),
                   arg_min(s.name, (s.parent_span_id <> '', s.start_ns)),
                   arg_min(s.service, (s.parent_span_id <> '', s.start_ns)),
                   any_value(h.first_ns)
            FROM spans s JOIN hits h ON s.tid = h.tid AND s.trace_id = h.trace_id
            GROUP BY s.trace_id
            ORDER BY any_value(h.first_ns) DESC, s.trace_id DESC
        """  # noqa: S608  (fixed clauses; values are parameters)
        rows, next_cursor = page(
            self.db.query(sql, params, self.limits.query_timeout_s), limit, lambda r: (r[8], r[0])
        )
        out = [
            {
                "trace_id": trace_id,
                "root_service": root_service,
                "root_name": root_name,
                "start_time_unix_nano": str(start),
                "end_time_unix_nano": str(end),
                "duration_ms": (end - start) / 1e6,
                "span_count": count,
                "error_count": errors,
                "services": services,
            }
            for trace_id, start, end, count, errors, services, root_name, root_service, _ in rows
        ]
        return out, next_cursor


def _migrate(db: Database) -> None:
    """Convert a ``spans`` table of the earlier schema (``resource`` and ``scope`` text in every
    row) to ``rid`` references into ``span_resources``, in one transaction (a crash midway
    leaves the earlier table, converted at the next open)."""
    cols = {
        row[0]
        for row in db.con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND table_name = 'spans'"
        ).fetchall()
    }
    if "rid" in cols or "resource" not in cols:
        return
    kept = ", ".join(
        f"nullif(s.{n}, '[]') AS {n}" if n in ("events", "links") else f"s.{n}"
        for n in SPAN_COLUMNS[:-2]
    )
    with db.transaction() as con:
        con.execute(
            "INSERT INTO span_resources SELECT "
            "(SELECT coalesce(max(rid) + 1, 0) FROM span_resources) + row_number() OVER () - 1, "
            "resource, scope FROM (SELECT DISTINCT resource, scope FROM spans)"
        )
        con.execute(
            f"CREATE TABLE spans_v2 AS SELECT {kept}, CAST(r.rid AS INTEGER) AS rid "  # noqa: S608
            "FROM spans s LEFT JOIN span_resources r "
            "ON s.resource IS NOT DISTINCT FROM r.resource "
            "AND s.scope IS NOT DISTINCT FROM r.scope "
            "ORDER BY s.rowid"
        )
        con.execute("DROP TABLE spans")
        con.execute("ALTER TABLE spans_v2 RENAME TO spans")


def _span_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "trace_id": row["trace_id"],
        "span_id": row["span_id"],
        "parent_span_id": row["parent_span_id"],
        "name": row["name"],
        "kind": row["kind"],
        "service": row["service"],
        "start_time_unix_nano": str(row["start_ns"]),
        "end_time_unix_nano": str(row["end_ns"]),
        "duration_ms": row["duration_ns"] / 1e6,
        "attributes": json.loads(row["attributes"]),
        "status": {"code": row["status_code"], "message": row["status_message"]},
        "events": json.loads(row["events"]),
        "links": json.loads(row["links"]),
        "resource": json.loads(row["resource"]),
        "scope": json.loads(row["scope"]),
    }
