"""The Prometheus HTTP API v1 on `tripod serve`: query, query_range, series, labels, label
values, metadata, buildinfo, format_query and query_exemplars (Grafana's exemplar dots).

Response shapes, status codes and ``errorType`` values are Prometheus's. Queries run in a
worker thread so ingest on the event loop is never stalled by a long evaluation.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import anyio
import anyio.to_thread
import promql_parser as pp
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tripod import __version__
from tripod.server._http import HttpError, prometheus_error, prometheus_json, read_body
from tripod.server.deps import ServerContext
from tripod.server.promql.engine import Engine, selector_matchers
from tripod.server.promql.errors import BadDataError, ParseError, PromQLError
from tripod.server.promql.params import (
    MAX_TIME_MS,
    MIN_TIME_MS,
    parse_duration_ms,
    parse_range,
    parse_time_ms,
)
from tripod.server.promql.parse import parse_expr, walk_nodes
from tripod.server.promql.render import render_data, render_exemplars
from tripod.server.selfmetrics import time_query
from tripod.server.store.model import Matcher

__all__ = ["Params", "routes"]

log = logging.getLogger("tripod.server.promql")

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
PROMETHEUS_COMPAT_VERSION = "2.42.0"


class Params:
    """Query-string and form parameters, multi-valued (``match[]``) as Prometheus reads them."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    @classmethod
    async def read(cls, request: Request, max_body_bytes: int) -> Params:
        pairs = list(request.query_params.multi_items())
        if request.method == "POST":
            ctype = request.headers.get("content-type", "")
            if ctype.startswith("application/x-www-form-urlencoded"):
                raw = await read_body(request, max_body_bytes)
                body = raw.decode("utf-8", errors="replace")
                pairs = parse_qsl(body, keep_blank_values=True) + pairs
        return cls(pairs)

    def get(self, name: str) -> str:
        for key, value in self.pairs:
            if key == name:
                return value
        return ""

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]


def _success(data: Any) -> Response:
    return prometheus_json({"status": "success", "data": data})


def _success_raw(data_json: str) -> Response:
    """A success answer whose ``data`` is already JSON text (query results)."""
    body = '{"status":"success","data":' + data_json + "}"
    return Response(body, media_type="application/json")


Handler = Callable[[Request], Awaitable[Response]]


def _guarded(fn: Callable[[Request, Params], Awaitable[Response]], max_body_bytes: int) -> Handler:
    async def handler(request: Request) -> Response:
        try:
            params = await Params.read(request, max_body_bytes)
            return await fn(request, params)
        except PromQLError as exc:
            return prometheus_error(exc.status, exc.error_type, exc.message)
        except HttpError as exc:
            return prometheus_error(exc.status, exc.error_type, str(exc))
        except Exception:
            log.exception("PromQL API request failed: %s", request.url.path)
            msg = "internal error while evaluating the request; see the server log"
            return prometheus_error(500, "internal", msg)

    return handler


#: Queries evaluated at once, each in its own worker thread (Prometheus's
#: --query.max-concurrency): heavy queries wait for a slot instead of taking every thread of the
#: pool that ingest also uses.
MAX_CONCURRENT_QUERIES = 4
_limiter: anyio.CapacityLimiter | None = None

T = TypeVar("T")


async def _in_query_thread(fn: Callable[..., T], *args: Any) -> T:
    global _limiter
    if _limiter is None:
        _limiter = anyio.CapacityLimiter(MAX_CONCURRENT_QUERIES)
    result: T = await anyio.to_thread.run_sync(functools.partial(fn, *args), limiter=_limiter)
    return result


def _query_param(params: Params) -> str:
    query = params.get("query")
    if not query.strip():
        msg = 'invalid parameter "query": 1:1: parse error: no expression found in input'
        raise BadDataError(msg)
    return query


def _with_query_prefix(exc: ParseError) -> BadDataError:
    return BadDataError(f'invalid parameter "query": {exc.message}')


def _timeout(params: Params) -> float | None:
    text = params.get("timeout")
    if not text:
        return None
    return parse_duration_ms("timeout", text) / 1000.0


def _selector_sets(params: Params, *, required: bool) -> list[list[Matcher]]:
    texts = params.all("match[]")
    if not texts and required:
        msg = "no match[] parameter provided"
        raise BadDataError(msg)
    sets: list[list[Matcher]] = []
    for text in texts:
        try:
            expr = parse_expr(text)
        except ParseError as exc:
            msg = f'invalid parameter "match[]": {exc.message}'
            raise BadDataError(msg) from None
        if not isinstance(expr, pp.VectorSelector):
            msg = (
                f'invalid parameter "match[]": 1:1: parse error: expected a series selector '
                f'such as up{{job="api"}}, got {text!r}'
            )
            raise BadDataError(msg)
        sets.append(selector_matchers(expr))
    return sets


def _range(params: Params) -> tuple[int, int]:
    start = params.get("start")
    end = params.get("end")
    start_ms = parse_time_ms("start", start) if start else MIN_TIME_MS
    end_ms = parse_time_ms("end", end) if end else MAX_TIME_MS
    return start_ms, end_ms


def _exemplar_range(params: Params) -> tuple[int, int]:
    """``start``/``end`` of query_exemplars, whose errors Prometheus words differently."""
    try:
        return _range(params)
    except BadDataError as exc:
        name = "start" if '"start"' in exc.message else "end"
        prefix = f'invalid parameter "{name}": '
        detail = exc.message.removeprefix(prefix)
        raise BadDataError(f"{prefix}Invalid time value for '{name}': {detail}") from None


def _limit(params: Params) -> int:
    text = params.get("limit")
    if not text:
        return 0
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        msg = f'invalid parameter "limit": cannot parse "{text}" to a non-negative integer'
        raise BadDataError(msg)
    return value


def routes(ctx: ServerContext) -> list[BaseRoute]:
    limits = ctx.config.limits
    engine = Engine(
        ctx.samples,
        timeout_s=limits.query_timeout_s,
        max_samples=limits.query_max_samples,
        # As Prometheus: subqueries without a step use global.evaluation_interval.
        default_eval_interval_ms=round(ctx.config.global_config.evaluation_interval_s * 1000),
    )

    async def query(request: Request, params: Params) -> Response:
        text = _query_param(params)
        t = params.get("time")
        time_ms = parse_time_ms("time", t) if t else int(time.time() * 1000)
        timeout = _timeout(params)
        with time_query(ctx, "query"):
            try:
                result = await _in_query_thread(engine.instant, text, time_ms, timeout)
            except ParseError as exc:
                raise _with_query_prefix(exc) from None
            return _success_raw(await _in_query_thread(render_data, result))

    async def query_range(request: Request, params: Params) -> Response:
        start_ms, end_ms, step_ms = parse_range(
            params.get("start"), params.get("end"), params.get("step"), engine.max_points
        )
        timeout = _timeout(params)
        text = _query_param(params)
        with time_query(ctx, "query_range"):
            try:
                result = await _in_query_thread(
                    engine.range, text, start_ms, end_ms, step_ms, timeout
                )
            except ParseError as exc:
                raise _with_query_prefix(exc) from None
            return _success_raw(await _in_query_thread(render_data, result))

    async def series(request: Request, params: Params) -> Response:
        sets = _selector_sets(params, required=True)
        start_ms, end_ms = _range(params)
        limit = _limit(params)
        found = await run_in_threadpool(ctx.samples.series, sets, start_ms, end_ms)
        return _success(found[:limit] if limit else found)

    async def labels(request: Request, params: Params) -> Response:
        sets = _selector_sets(params, required=False)
        start_ms, end_ms = _range(params)
        limit = _limit(params)
        names = await run_in_threadpool(ctx.samples.label_names, sets, start_ms, end_ms)
        return _success(names[:limit] if limit else names)

    async def label_values(request: Request, params: Params) -> Response:
        name = request.path_params["name"]
        if not _LABEL_NAME.match(name):
            msg = f'invalid label name: "{name}"'
            raise BadDataError(msg)
        sets = _selector_sets(params, required=False)
        start_ms, end_ms = _range(params)
        limit = _limit(params)
        values = await run_in_threadpool(ctx.samples.label_values, name, sets, start_ms, end_ms)
        return _success(values[:limit] if limit else values)

    async def metadata(request: Request, params: Params) -> Response:
        found = await run_in_threadpool(ctx.samples.metadata)
        metric = params.get("metric")
        if metric:
            found = {k: v for k, v in found.items() if k == metric}
        limit = _limit(params)
        if limit:
            found = dict(list(found.items())[:limit])
        return _success(found)

    async def buildinfo(request: Request, params: Params) -> Response:
        return _success(
            {
                "version": PROMETHEUS_COMPAT_VERSION,
                "revision": f"tripod-{__version__}",
                "branch": "tripod",
                "buildUser": "tripod",
                "buildDate": "",
                "goVersion": "",
                "application": "tripod",
            }
        )

    async def format_query(request: Request, params: Params) -> Response:
        text = _query_param(params)
        try:
            expr = parse_expr(text)
        except ParseError as exc:
            raise _with_query_prefix(exc) from None
        return _success(expr.prettify())

    async def exemplars(request: Request, params: Params) -> Response:
        # Prometheus's order: times first, then the query; no selectors: 204 and no body.
        start_ms, end_ms = _exemplar_range(params)
        if end_ms < start_ms:
            raise BadDataError("end timestamp must not be before start timestamp")
        try:  # Prometheus answers the parser's error here without 'invalid parameter "query"'
            expr = parse_expr(params.get("query"))
        except ParseError as exc:
            raise BadDataError(exc.message) from None
        sets = [selector_matchers(node) for node in walk_nodes(expr)
                if isinstance(node, pp.VectorSelector)]  # fmt: skip
        if not sets:
            return Response(status_code=204)
        found = await run_in_threadpool(ctx.exemplars.select, start_ms, end_ms, sets)
        return _success_raw(render_exemplars(found))

    def route(path: str, fn: Callable[[Request, Params], Awaitable[Response]]) -> Route:
        return Route(path, _guarded(fn, limits.max_body_bytes), methods=["GET", "POST"])

    return [
        route("/api/v1/query", query),
        route("/api/v1/query_range", query_range),
        route("/api/v1/series", series),
        route("/api/v1/labels", labels),
        route("/api/v1/label/{name}/values", label_values),
        route("/api/v1/metadata", metadata),
        route("/api/v1/status/buildinfo", buildinfo),
        route("/api/v1/format_query", format_query),
        route("/api/v1/query_exemplars", exemplars),
    ]
