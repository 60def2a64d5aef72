"""``/api/v1/traces...`` and ``/api/v1/logs...``: trace detail (JSON or column-wise), one span,
trace search, the service and operation lists, log search and the log tail.

Answers use the Prometheus API envelope: ``{"status": "success", "data": ...}`` or, with 400,
``{"status": "error", "errorType": "bad_data", "error": ...}``. Every list is bounded: searches
by ``limit`` (400 above ``limits.max_rows``), newest first and paginated (pass a page's
``data.next`` back as ``cursor``), each query by ``limits.query_timeout_s``. Queries run on their
own DuckDB cursors, so they never wait for ingest and ingest never waits for them.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tripod.server import selfmetrics
from tripod.server._http import HttpError, prometheus_error, prometheus_json
from tripod.server.deps import ServerContext
from tripod.server.query import _params as qp
from tripod.server.query.traceview import columns_json
from tripod.server.store.db import QueryTimeoutError
from tripod.server.store.logs import LEVELS
from tripod.server.store.model import LogQuery, TraceQuery

__all__ = ["routes"]

_STATUSES = ("unset", "ok", "error")
_BOOLS = {"true": True, "1": True, "false": False, "0": False}
#: a column-wise trace may hold this many times ``limits.max_rows`` spans (the JSON form 10x)
COLUMNS_FACTOR = 50


def _bool(params: Any, name: str) -> bool:
    raw = params.get(name, "false").lower()
    if raw not in _BOOLS:
        msg = f"{name}={raw[:20]!r} is not true or false"
        raise HttpError(400, msg)
    return _BOOLS[raw]


def _trace_id(raw: str) -> str:
    trace_id = raw.lower()
    if not qp.TRACE_ID.match(trace_id):
        msg = f"trace id {trace_id[:64]!r} is not 32 hex digits"
        raise HttpError(400, msg)
    return trace_id


def _log_query(p: Any, most: int) -> LogQuery:
    start, end = qp.time_range(p)
    levels = tuple(x.strip().lower() for x in p["level"].split(",")) if "level" in p else ()
    for level in levels:
        if level not in (*LEVELS, "unspecified"):
            msg = f"level={level[:20]!r} is not one of {', '.join(LEVELS)}, unspecified"
            raise HttpError(400, msg)
    return LogQuery(
        start_ns=start,
        end_ns=end,
        service=p.get("service"),
        levels=levels,
        contains=p.get("contains") or None,
        attributes=qp.attributes(p),
        trace_id=qp.hex_id(p, "trace_id", qp.TRACE_ID, 32),
        span_id=qp.hex_id(p, "span_id", qp.SPAN_ID, 16),
        limit=qp.limit(p.get("limit"), 100, most),
        cursor=qp.cursor(p),
        tail=qp.tail(p, "tail"),
    )


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
        def work() -> dict[str, Any]:
            trace_id = _trace_id(request.path_params["trace_id"])
            p = request.query_params
            form = p.get("format", "json")
            if form not in ("json", "columns"):
                msg = f"format={form[:20]!r} is not json or columns"
                raise HttpError(400, msg)
            if form == "columns":
                most = limits.max_rows * COLUMNS_FACTOR
                attributes = _bool(p, "attributes")
                cols = ctx.spans.trace_columns(trace_id, most + 1, attributes)
                if not cols["span_id"]:
                    raise HttpError(404, f"trace {trace_id} not found", "not_found")
                truncated = len(cols["span_id"]) > most
                cols = {k: v[:most] for k, v in cols.items()}
                return columns_json(trace_id, cols, truncated, attributes)
            spans = ctx.spans.trace(trace_id)
            if not spans:
                raise HttpError(404, f"trace {trace_id} not found", "not_found")
            return {"trace_id": trace_id, "spans": spans}

        return await run("trace", work)

    async def span_by_id(request: Request) -> Response:
        def work() -> dict[str, Any]:
            trace_id = _trace_id(request.path_params["trace_id"])
            span_id = request.path_params["span_id"].lower()
            if not qp.SPAN_ID.match(span_id):
                msg = f"span id {span_id[:64]!r} is not 16 hex digits"
                raise HttpError(400, msg)
            span = ctx.spans.span(trace_id, span_id)
            if span is None:
                raise HttpError(404, f"span {span_id} of trace {trace_id} not found", "not_found")
            return span

        return await run("trace", work)

    async def trace_search(request: Request) -> Response:
        def work() -> dict[str, Any]:
            p = request.query_params
            start, end = qp.time_range(p)
            status = p.get("status")
            if status is not None and status not in _STATUSES:
                msg = f"status={status[:20]!r} is not one of {', '.join(_STATUSES)}"
                raise HttpError(400, msg)
            query = TraceQuery(
                start_ns=start,
                end_ns=end,
                service=p.get("service"),
                operation=p.get("operation"),
                status=status,
                min_duration_ns=(
                    qp.duration_ns("min_duration", p["min_duration"])
                    if "min_duration" in p
                    else None
                ),
                max_duration_ns=(
                    qp.duration_ns("max_duration", p["max_duration"])
                    if "max_duration" in p
                    else None
                ),
                attributes=qp.attributes(p),
                limit=qp.limit(p.get("limit"), 20, limits.max_rows),
                cursor=qp.cursor(p),
            )
            traces, nxt = ctx.spans.search(query)
            return {"traces": traces, "next": nxt}

        return await run("traces", work)

    def names(kind: str) -> Any:
        async def endpoint(request: Request) -> Response:
            def work() -> list[str]:
                p = request.query_params
                start, end = qp.time_range(p)
                most = qp.limit(p.get("limit"), limits.max_rows, limits.max_rows)
                if kind == "operations":
                    return ctx.spans.operations(p.get("service"), start, end, most)
                store = ctx.logs if kind == "log_services" else ctx.spans
                return store.services(start, end, most)

            return await run("traces" if kind != "log_services" else "logs", work)

        return endpoint

    async def log_search(request: Request) -> Response:
        def work() -> dict[str, Any]:
            p = request.query_params
            query = _log_query(p, limits.max_rows)
            after = qp.tail(p, "after")
            if after is not None:
                if query.cursor or query.tail:
                    msg = "after= (the tail) cannot be combined with cursor= or tail="
                    raise HttpError(400, msg)
                logs, tail, more = ctx.logs.tail(query, after)
                return {"logs": logs, "tail": tail, "more": more}
            if query.tail is None:
                query = dataclasses.replace(query, tail=ctx.logs.tail_cursor())
            logs, nxt = ctx.logs.search(query)
            return {"logs": logs, "next": nxt, "tail": query.tail}

        return await run("logs", work)

    return [
        Route("/api/v1/traces/services", names("services"), methods=["GET"]),
        Route("/api/v1/traces/operations", names("operations"), methods=["GET"]),
        Route("/api/v1/traces/{trace_id}", trace_by_id, methods=["GET"]),
        Route("/api/v1/traces/{trace_id}/spans/{span_id}", span_by_id, methods=["GET"]),
        Route("/api/v1/traces", trace_search, methods=["GET"]),
        Route("/api/v1/logs/services", names("log_services"), methods=["GET"]),
        Route("/api/v1/logs", log_search, methods=["GET"]),
    ]
