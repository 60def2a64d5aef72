"""``GET /api/v1/traces/<trace_id>``, ``GET /api/v1/traces`` and ``GET /api/v1/logs``.

Answers use the Prometheus API envelope: ``{"status": "success", "data": ...}`` or, with 400,
``{"status": "error", "errorType": "bad_data", "error": ...}``. Searches are newest first, bounded
by ``limits.max_rows`` per page and ``limits.query_timeout_s`` per query, and paginated: pass a
page's ``data.next`` back as ``cursor``. Queries run on their own DuckDB cursors, so they never
wait for ingest and ingest never waits for them.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tripod.server import selfmetrics
from tripod.server.deps import ServerContext
from tripod.server.store.db import QueryTimeoutError
from tripod.server.store.logs import LEVELS
from tripod.server.store.model import LogQuery, TraceQuery
from tripod.server.store.spans import decode_cursor

__all__ = ["BadQueryError", "parse_duration_ns", "parse_time_ns", "routes"]

_TRACE_ID = re.compile(r"[0-9a-f]{32}\Z")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)\Z")
_DURATION_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                "m": 60_000_000_000, "h": 3_600_000_000_000}  # fmt: skip
_MAX_NS = 2**63 - 1
_STATUSES = ("unset", "ok", "error")


class BadQueryError(ValueError):
    """A query parameter this API cannot use; the message names it and what is expected."""


def parse_time_ns(name: str, raw: str) -> int:
    """Prometheus API time (unix seconds, fractional allowed, or RFC 3339) in ns."""
    try:
        seconds = float(raw)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            msg = f"{name}={raw!r} is not a time: expected unix seconds or RFC 3339"
            raise BadQueryError(msg) from None
        if parsed.tzinfo is None:
            msg = f"{name}={raw!r} has no time zone: add Z or an offset"
            raise BadQueryError(msg) from None
        seconds = parsed.timestamp()
    if not math.isfinite(seconds):
        msg = f"{name}={raw!r} is not a finite time"
        raise BadQueryError(msg)
    return max(0, min(_MAX_NS, round(seconds * 1e9)))


def parse_duration_ns(name: str, raw: str) -> int:
    """A duration as ``250ms``/``1.5s``/``2m`` or plain seconds, in ns."""
    raw = raw.strip()
    m = _DURATION.match(raw)
    if m:
        return round(float(m.group(1)) * _DURATION_NS[m.group(2)])
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        msg = f"{name}={raw!r} is not a duration: expected e.g. 250ms, 1.5s, 2m or seconds"
        raise BadQueryError(msg)
    return round(seconds * 1e9)


def _limit(raw: str | None, default: int, most: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        msg = f"limit={raw!r} is not a positive integer"
        raise BadQueryError(msg)
    return min(int(raw), most)


def _attributes(params: Any) -> tuple[tuple[str, str], ...]:
    out = []
    for key, value in params.multi_items():
        if key.startswith("attr."):
            name = key[5:]
            if not name:
                msg = "attr.<key>=<value> needs a key after 'attr.'"
                raise BadQueryError(msg)
            out.append((name, value))
    return tuple(out)


def _range(params: Any) -> tuple[int, int]:
    start = parse_time_ns("start", params["start"]) if "start" in params else 0
    end = parse_time_ns("end", params["end"]) if "end" in params else _MAX_NS
    if end < start:
        msg = "end is before start: swap them"
        raise BadQueryError(msg)
    return start, end


def _cursor(params: Any) -> str | None:
    cursor = params.get("cursor")
    if cursor:
        try:
            decode_cursor(cursor)
        except ValueError as exc:
            raise BadQueryError(str(exc)) from None
    return cursor or None


def _ok(data: Any) -> Response:
    return JSONResponse({"status": "success", "data": data})


def _bad(message: str, status: int = 400, error_type: str = "bad_data") -> Response:
    body = {"status": "error", "errorType": error_type, "error": message}
    return JSONResponse(body, status_code=status)


def routes(ctx: ServerContext) -> list[BaseRoute]:
    limits = ctx.config.limits

    async def run(api: str, work: Any) -> Response:
        start = time.perf_counter()
        try:
            return _ok(await run_in_threadpool(work))
        except BadQueryError as exc:
            return _bad(str(exc))
        except QueryTimeoutError as exc:
            return _bad(str(exc), 503, "timeout")
        finally:
            selfmetrics.instruments(ctx.registry).query_duration.labels(api).observe(
                time.perf_counter() - start
            )

    async def trace_by_id(request: Request) -> Response:
        trace_id = request.path_params["trace_id"].lower()
        if not _TRACE_ID.match(trace_id):
            return _bad(f"trace id {trace_id[:64]!r} is not 32 hex digits")

        def work() -> dict[str, Any]:
            spans = ctx.spans.trace(trace_id)
            if not spans:
                msg = f"trace {trace_id} not found"
                raise _NotFoundError(msg)
            return {"trace_id": trace_id, "spans": spans}

        try:
            return await run("trace", work)
        except _NotFoundError as exc:
            return _bad(str(exc), 404, "not_found")

    async def trace_search(request: Request) -> Response:
        def work() -> dict[str, Any]:
            p = request.query_params
            start, end = _range(p)
            status = p.get("status")
            if status is not None and status not in _STATUSES:
                msg = f"status={status!r} is not one of {', '.join(_STATUSES)}"
                raise BadQueryError(msg)
            query = TraceQuery(
                start_ns=start,
                end_ns=end,
                service=p.get("service"),
                operation=p.get("operation"),
                status=status,
                min_duration_ns=(
                    parse_duration_ns("min_duration", p["min_duration"])
                    if "min_duration" in p
                    else None
                ),
                max_duration_ns=(
                    parse_duration_ns("max_duration", p["max_duration"])
                    if "max_duration" in p
                    else None
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
                    raise BadQueryError(msg)
            trace_id = p.get("trace_id")
            if trace_id is not None and not _TRACE_ID.match(trace_id.lower()):
                msg = f"trace_id={trace_id[:64]!r} is not 32 hex digits"
                raise BadQueryError(msg)
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


class _NotFoundError(LookupError):
    pass
