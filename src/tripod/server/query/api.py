"""``GET /api/v1/traces/<trace_id>``, ``GET /api/v1/traces`` and ``GET /api/v1/logs``.

Answers use the Prometheus API envelope: ``{"status": "success", "data": ...}`` or, with 400,
``{"status": "error", "errorType": "bad_data", "error": ...}``. Searches are newest first, bounded
by ``limits.max_rows`` per page and ``limits.query_timeout_s`` per query, and paginated: pass a
page's ``data.next`` back as ``cursor``. Queries run on their own DuckDB cursors, so they never
wait for ingest and ingest never waits for them.
"""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tripod.server import selfmetrics
from tripod.server._http import (
    HttpError,
    parse_duration_ms,
    parse_time_ms,
    prometheus_error,
    prometheus_json,
)
from tripod.server.deps import ServerContext
from tripod.server.store.db import QueryTimeoutError
from tripod.server.store.logs import LEVELS
from tripod.server.store.model import LogQuery, TraceQuery
from tripod.server.store.spans import decode_cursor

__all__ = ["routes"]

_TRACE_ID = re.compile(r"[0-9a-f]{32}\Z")
_MAX_NS = 2**63 - 1
_STATUSES = ("unset", "ok", "error")


def _time_ns(name: str, raw: str) -> int:
    return max(0, min(_MAX_NS, parse_time_ms(name, raw) * 1_000_000))


def _duration_ns(name: str, raw: str) -> int:
    ms = parse_duration_ms(name, raw)
    if ms < 0:
        msg = f'invalid parameter "{name}": "{raw}" is negative; expected a duration such as 250ms'
        raise HttpError(400, msg)
    return ms * 1_000_000


def _limit(raw: str | None, default: int, most: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        msg = f"limit={raw!r} is not a positive integer"
        raise HttpError(400, msg)
    return min(int(raw), most)


def _attributes(params: Any) -> tuple[tuple[str, str], ...]:
    out = []
    for key, value in params.multi_items():
        if key.startswith("attr."):
            name = key[5:]
            if not name:
                msg = "attr.<key>=<value> needs a key after 'attr.'"
                raise HttpError(400, msg)
            out.append((name, value))
    return tuple(out)


def _range(params: Any) -> tuple[int, int]:
    start = _time_ns("start", params["start"]) if "start" in params else 0
    end = _time_ns("end", params["end"]) if "end" in params else _MAX_NS
    if end < start:
        msg = "end is before start: swap them"
        raise HttpError(400, msg)
    return start, end


def _cursor(params: Any) -> str | None:
    cursor = params.get("cursor")
    if cursor:
        try:
            decode_cursor(cursor)
        except ValueError as exc:
            raise HttpError(400, str(exc)) from None
    return cursor or None


def routes(ctx: ServerContext) -> list[BaseRoute]:
    limits = ctx.config.limits

    async def run(api: str, work: Any) -> Response:
        start = time.perf_counter()
        try:
            data = await run_in_threadpool(work)
            return prometheus_json({"status": "success", "data": data})
        except HttpError as exc:
            return prometheus_error(exc.status, exc.error_type, str(exc))
        except QueryTimeoutError as exc:
            return prometheus_error(503, "timeout", str(exc))
        finally:
            selfmetrics.instruments(ctx.registry).query_duration.labels(api).observe(
                time.perf_counter() - start
            )

    async def trace_by_id(request: Request) -> Response:
        trace_id = request.path_params["trace_id"].lower()
        if not _TRACE_ID.match(trace_id):
            msg = f"trace id {trace_id[:64]!r} is not 32 hex digits"
            return prometheus_error(400, "bad_data", msg)

        def work() -> dict[str, Any]:
            spans = ctx.spans.trace(trace_id)
            if not spans:
                msg = f"trace {trace_id} not found"
                raise HttpError(404, msg, "not_found")
            return {"trace_id": trace_id, "spans": spans}

        return await run("trace", work)

    async def trace_search(request: Request) -> Response:
        def work() -> dict[str, Any]:
            p = request.query_params
            start, end = _range(p)
            status = p.get("status")
            if status is not None and status not in _STATUSES:
                msg = f"status={status!r} is not one of {', '.join(_STATUSES)}"
                raise HttpError(400, msg)
            query = TraceQuery(
                start_ns=start,
                end_ns=end,
                service=p.get("service"),
                operation=p.get("operation"),
                status=status,
                min_duration_ns=(
                    _duration_ns("min_duration", p["min_duration"]) if "min_duration" in p else None
                ),
                max_duration_ns=(
                    _duration_ns("max_duration", p["max_duration"]) if "max_duration" in p else None
                ),
                attributes=_attributes(p),
                limit=_limit(p.get("limit"), 20, limits.max_rows),
                cursor=_cursor(p),
            )
            traces, nxt = ctx.spans.search(query)
            return {"traces": traces, "next": nxt}

        return await run("traces", work)

    async def log_search(request: Request) -> Response:
        def work() -> dict[str, Any]:
            p = request.query_params
            start, end = _range(p)
            levels = tuple(x.strip().lower() for x in p["level"].split(",")) if "level" in p else ()
            for level in levels:
                if level not in (*LEVELS, "unspecified"):
                    msg = f"level={level!r} is not one of {', '.join(LEVELS)}, unspecified"
                    raise HttpError(400, msg)
            trace_id = p.get("trace_id")
            if trace_id is not None and not _TRACE_ID.match(trace_id.lower()):
                msg = f"trace_id={trace_id[:64]!r} is not 32 hex digits"
                raise HttpError(400, msg)
            query = LogQuery(
                start_ns=start,
                end_ns=end,
                service=p.get("service"),
                levels=levels,
                contains=p.get("contains") or None,
                attributes=_attributes(p),
                trace_id=trace_id.lower() if trace_id else None,
                limit=_limit(p.get("limit"), 100, limits.max_rows),
                cursor=_cursor(p),
            )
            logs, nxt = ctx.logs.search(query)
            return {"logs": logs, "next": nxt}

        return await run("logs", work)

    return [
        Route("/api/v1/traces/{trace_id}", trace_by_id, methods=["GET"]),
        Route("/api/v1/traces", trace_search, methods=["GET"]),
        Route("/api/v1/logs", log_search, methods=["GET"]),
    ]
